//! Live shipment events: every durable change to a shipment is published to
//! the subscribers of the moment, with the sequence number its commit
//! counted. A writer publishes once its own change is durable, so two
//! changes made at the same moment may reach subscribers in the other
//! order than their numbers.
//! Each subscriber has a bounded buffer; one that falls too far behind
//! misses events and is told so, instead of slowing writers or growing
//! memory.

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
    /// One more than the event before it in the database: counted in the
    /// commit of the change, so it survives restarts and is the same for
    /// every process sharing the database.
    pub sequence: u64,
}

/// The channel events travel on. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<ShipmentEvent>,
}

impl Default for Events {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        Self { sender }
    }
}

impl Events {
    /// Publishes a change with its sequence number to every current
    /// subscriber.
    pub fn publish(&self, kind: ShipmentEventKind, shipment: Shipment, sequence: u64) {
        let event = ShipmentEvent {
            kind,
            shipment,
            sequence,
        };
        // No subscriber is not an error: the event simply has no audience.
        let _ = self.sender.send(event);
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ShipmentEvent> {
        self.sender.subscribe()
    }
}
