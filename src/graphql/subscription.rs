//! Live updates: `shipmentEvents`, served over WebSocket. An event reaches
//! a subscriber only after its write is durable, from whichever server
//! made it (`events`); a subscriber that falls more than
//! [`SUBSCRIBER_BUFFER`] events behind, or whose next events the store's
//! change feed no longer holds, is told so with `EVENTS_MISSED` and its
//! stream ends, instead of slowing writers or growing memory.

use async_graphql::futures_util::stream::{self, Stream};
use async_graphql::{Context, Enum, Object, Subscription};
use tokio::sync::broadcast::error::RecvError;

use super::errors::ApiResult;
use super::types::{Shipment, ShipmentFilterInput};
use crate::domain;
use crate::error::Error;
use crate::events::{Events, Published, SUBSCRIBER_BUFFER};

/// What happened to a shipment.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::ShipmentEventKind")]
pub enum ShipmentEventKind {
    /// It was created.
    Created,
    /// It was changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// A change to a shipment.
pub struct ShipmentEvent(std::sync::Arc<domain::ShipmentEvent>);

/// A durable change to a shipment.
#[Object]
impl ShipmentEvent {
    /// What happened.
    async fn kind(&self) -> ShipmentEventKind {
        self.0.kind.into()
    }

    /// The shipment after the change; for a deletion, as it was.
    async fn shipment(&self) -> Option<Shipment> {
        Some(Shipment(self.0.shipment.clone()))
    }

    /// Increases by one with every event the server publishes, so a client
    /// can tell whether it missed any.
    async fn sequence(&self) -> u64 {
        self.0.sequence
    }
}

/// The root subscription.
#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every durable change to a shipment that meets the filter, from now on.
    async fn shipment_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<ShipmentFilterInput>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ShipmentEvent>>> {
        let filter = filter.unwrap_or_default().resolve(ctx).await?;
        let receiver = ctx.data_unchecked::<Events>().subscribe();
        Ok(stream::unfold(Some(receiver), move |receiver| {
            let filter = filter.clone();
            async move {
                let mut receiver = receiver?;
                loop {
                    let missed = match receiver.recv().await {
                        Ok(Published::Event(event)) if filter.matches(&event.shipment) => {
                            return Some((Ok(ShipmentEvent(event)), Some(receiver)))
                        }
                        Ok(Published::Event(_)) => continue,
                        Ok(Published::Missed) => {
                            "the store's change feed no longer holds the next events (an etcd compaction passed them)".to_owned()
                        }
                        Err(RecvError::Lagged(missed)) => format!(
                            "this subscription fell more than {SUBSCRIBER_BUFFER} events behind and missed {missed}"
                        ),
                        Err(RecvError::Closed) => return None,
                    };
                    return Some((
                        Err::<ShipmentEvent, _>(Error::EventsMissed(missed)).api(),
                        None,
                    ));
                }
            }
        }))
    }
}
