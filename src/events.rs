//! Live shipment events: every durable change to a shipment is published to
//! the subscribers of the moment, in order, each with a sequence number.
//! Each subscriber has a bounded buffer; one that falls too far behind
//! misses events and is told so, instead of slowing writers or growing
//! memory.

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::domain::Shipment;

/// How many events a subscriber may fall behind before it is cut off.
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// What happened to a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentEventKind {
    /// It was created.
    Created,
    /// It was changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// A change to a shipment, published after it is on disk.
#[derive(Debug, Clone)]
pub struct ShipmentEvent {
    /// What happened.
    pub kind: ShipmentEventKind,
    /// The shipment after the change (before it, for a deletion).
    pub shipment: Shipment,
    /// Increases by one with every event this process publishes.
    pub sequence: u64,
}

/// The channel events travel on. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    /// The next sequence number and the sender, under one lock so that
    /// sequence numbers reach subscribers in order. A std Mutex, not a tokio
    /// one: nothing async happens while it is held.
    sender: Arc<Mutex<(u64, broadcast::Sender<ShipmentEvent>)>>,
}

impl Default for Events {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        Self {
            sender: Arc::new(Mutex::new((1, sender))),
        }
    }
}

impl Events {
    /// Publishes a change to every current subscriber.
    pub fn publish(&self, kind: ShipmentEventKind, shipment: Shipment) {
        let mut guard = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (sequence, sender) = &mut *guard;
        let event = ShipmentEvent {
            kind,
            shipment,
            sequence: *sequence,
        };
        *sequence += 1;
        // No subscriber is not an error: the event simply has no audience.
        let _ = sender.send(event);
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ShipmentEvent> {
        let guard = self
            .sender
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.1.subscribe()
    }
}
