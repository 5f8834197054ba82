//! Live shipment events, read from the store's change feed: every server
//! publishes every server's changes, in commit order, each once it is
//! durable, numbered by the sequence its commit counted, so a subscriber
//! sees no gap and no repeat wherever it is connected and whoever wrote.
//!
//! Each subscriber has a bounded buffer; one that falls too far behind
//! misses events and is told so, instead of slowing writers or growing
//! memory. When the feed itself no longer reaches back to the next events
//! (an etcd compaction passed them), every subscriber is told that events
//! were missed, and the stream goes on from the store's current state.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::ShipmentEvent;
use crate::store::Store;

/// How many events a subscriber may fall behind before it is cut off.
pub const SUBSCRIBER_BUFFER: usize = 1024;

/// What subscribers receive.
#[derive(Debug, Clone)]
pub enum Published {
    /// A change to a shipment, shared by every subscriber's copy.
    Event(Arc<ShipmentEvent>),
    /// The change feed no longer reached back to the next events: some
    /// were missed, and subscriptions end.
    Missed,
}

/// The channel events travel on. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<Published>,
}

impl Default for Events {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        Self { sender }
    }
}

impl Events {
    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.sender.subscribe()
    }

    /// Publishes the shipment events of every commit to `store` from its
    /// current revision on, for as long as the server runs: the one task
    /// of each server that does. While nobody subscribes it only keeps its
    /// place; a failing store is retried.
    pub async fn follow(self, store: Store) {
        let mut reached = store.follow_changes();
        let mut after = *reached.borrow_and_update();
        loop {
            if reached
                .wait_for(|revision| *revision > after)
                .await
                .is_err()
            {
                return;
            }
            if self.sender.receiver_count() == 0 {
                after = *reached.borrow_and_update();
                continue;
            }
            match self.publish_after(&store, after).await {
                Ok(next) => after = next,
                Err(error) => {
                    tracing::warn!(%error, after, "cannot read shipment events; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Publishes the events of the commits after `after`, once they are
    /// durable, and returns the revision they reach.
    async fn publish_after(&self, store: &Store, after: u64) -> crate::error::Result<u64> {
        let Some((events, reached)) = store.shipment_events_after(after).await? else {
            tracing::warn!(
                after,
                "the change feed no longer reaches back to the next shipment events; subscribers are told they missed some"
            );
            let _ = self.sender.send(Published::Missed);
            return Ok(*store.follow_changes().borrow());
        };
        if !events.is_empty() {
            store.make_durable().await?;
        }
        for event in events {
            // No subscriber is not an error: the event simply has no
            // audience.
            let _ = self.sender.send(Published::Event(Arc::new(event)));
        }
        Ok(reached)
    }
}

#[cfg(all(test, feature = "etcd"))]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::watch;

    use super::{Events, Published};
    use crate::store::backend::etcd::test_options;
    use crate::store::backend::{EtcdBackend, EtcdOptions};
    use crate::store::Store;

    /// A TCP proxy to one etcd member that can cut the network: every
    /// connection through it closes, and new ones close at once, until it
    /// is restored.
    struct Proxy {
        url: String,
        cut: watch::Sender<bool>,
    }

    impl Proxy {
        async fn start(to: &str) -> Self {
            let target = to.trim_start_matches("http://").to_owned();
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let (cut, _) = watch::channel(false);
            let cuts = cut.clone();
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let mut cut = cuts.subscribe();
                    if *cut.borrow() {
                        continue;
                    }
                    let target = target.clone();
                    tokio::spawn(async move {
                        let Ok(mut member) = TcpStream::connect(target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut member) => {}
                            _ = cut.wait_for(|cut| *cut) => {}
                        }
                    });
                }
            });
            Self { url, cut }
        }

        fn cut(&self) {
            self.cut.send_replace(true);
        }

        fn restore(&self) {
            self.cut.send_replace(false);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscribers_are_told_they_missed_events_when_a_compaction_passed_the_feed() {
        // Arrange: a server reaching the member through the proxy, with a
        // subscriber, and a second client that reaches it directly.
        let direct = test_options();
        let proxy = Proxy::start(&direct.endpoints[0]).await;
        let through_proxy = EtcdOptions {
            endpoints: vec![proxy.url.clone()],
            ..direct.clone()
        };
        let server = Store::over(
            Arc::new(EtcdBackend::open(through_proxy).await.unwrap()),
            "etcd",
        )
        .await
        .unwrap();
        let other = Store::over(
            Arc::new(EtcdBackend::open(direct.clone()).await.unwrap()),
            "etcd",
        )
        .await
        .unwrap();
        let events = Events::default();
        let mut subscriber = events.subscribe();
        tokio::spawn(events.follow(server.clone()));

        // Act: while the network is cut, another server commits twice and
        // the cluster is compacted up to the second commit, past the first
        // one's place; then the network is back.
        proxy.cut();
        other.mark_seeded().await.unwrap();
        let first = other.revision().await.unwrap();
        other.mark_seeded().await.unwrap();
        let revision = other.revision().await.unwrap();
        assert!(revision > first);
        let mut client = etcd_client::Client::connect(&direct.endpoints, None)
            .await
            .unwrap();
        client
            .compact(
                revision as i64,
                Some(etcd_client::CompactionOptions::new().with_physical()),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.restore();
        let told = tokio::time::timeout(Duration::from_secs(20), subscriber.recv()).await;

        // Assert: told, and the server reads the current state again.
        assert!(matches!(told, Ok(Ok(Published::Missed))), "{told:?}");
        assert!(server.is_seeded().await.unwrap());
    }
}
