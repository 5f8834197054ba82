//! The API's writes of shipments taking turns, where the backend asks for
//! it (`WritePolicy::take_turns`, etcd). There every attempt at a write
//! costs round trips, and concurrent writers through one handle race for
//! the same keys: every insert adds to the last block of the `All` index,
//! so of each round of attempts all but one are lost. Instead, writes
//! queue, and the writer whose turn it is commits every write waiting
//! (up to [`MAX_GROUP`], at most one per shipment), together, each kept
//! whole and each with its own outcome (`Store::apply_api_writes`); the
//! others wait for its answer. Writers on other servers still race, one
//! group against another.
//!
//! The turns run in a task of their own, so that a client that hangs up
//! cannot stop a group others wait on. A write waits for its turn at most
//! the backend's write timeout; after that it is refused as unavailable
//! without ever having been tried, and the group's own attempts are
//! bounded by the same timeout (`txn::bounded`). So a write is answered
//! within about twice the timeout, whatever the cluster does.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::domain::{Shipment, ShipmentId};
use crate::error::{Error, Result};
use crate::store::{ShipmentWrite, Store};

/// The most writes one turn commits. A turn whose commit would not fit
/// one of the backend's transactions splits it (`txn::Batches`).
const MAX_GROUP: usize = 16;

/// The writes waiting for their turn on one store handle.
#[derive(Default)]
pub(in crate::store) struct Turns {
    /// A std mutex: held only to queue a write or take a group.
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    /// Whether a task is taking turns: it takes the next group until
    /// none is left.
    taking: bool,
}

/// A write waiting for its turn, and where its outcome goes.
struct Waiting {
    write: ShipmentWrite,
    since: Instant,
    outcome: oneshot::Sender<Result<Shipment>>,
}

impl Store {
    /// Queues `write` for its turn and waits for its outcome.
    pub(super) async fn take_turn(&self, write: ShipmentWrite) -> Result<Shipment> {
        let (outcome, answered) = oneshot::channel();
        let start = {
            let mut queue = lock(&self.turns.queue);
            queue.waiting.push_back(Waiting {
                write,
                since: Instant::now(),
                outcome,
            });
            !std::mem::replace(&mut queue.taking, true)
        };
        if start {
            tokio::spawn(self.clone().take_turns());
        }
        answered.await.unwrap_or_else(|_| {
            Err(Error::Storage(
                "the writes' turn ended without an outcome for this one".into(),
            ))
        })
    }

    /// Commits the waiting writes, a group at a time, until none is left.
    async fn take_turns(self) {
        let _taking = Taking(&self.turns);
        let wait = self.backend.write_policy().timeout.unwrap_or(Duration::MAX);
        loop {
            let group = {
                let mut queue = lock(&self.turns.queue);
                let group = next_group(&mut queue.waiting);
                if group.is_empty() {
                    queue.taking = false;
                    return;
                }
                group
            };
            let (late, group): (Vec<Waiting>, Vec<Waiting>) = group
                .into_iter()
                .partition(|waiting| waiting.since.elapsed() > wait);
            for waiting in late {
                let _ = waiting.outcome.send(Err(Error::Unavailable(format!(
                    "a write waited {} ms for its turn, longer than a write may take; it was not applied",
                    wait.as_millis()
                ))));
            }
            let (writes, answers): (Vec<ShipmentWrite>, Vec<_>) = group
                .into_iter()
                .map(|waiting| (waiting.write, waiting.outcome))
                .unzip();
            let mut ids = vec![None; writes.len()];
            match self.apply_api_writes(&writes, &mut ids).await {
                Ok(outcomes) => {
                    for (answer, outcome) in answers.into_iter().zip(outcomes) {
                        let _ = answer.send(outcome);
                    }
                }
                Err(error) => {
                    for answer in answers {
                        let _ = answer.send(Err(error.for_another_caller()));
                    }
                }
            }
        }
    }
}

/// Takes the next group from the front of the queue: up to [`MAX_GROUP`]
/// writes in the order they came, passing over (for a later turn) a write
/// to a shipment another write of the group already changes, since the
/// change feed tells one change per shipment and commit.
fn next_group(waiting: &mut VecDeque<Waiting>) -> Vec<Waiting> {
    let mut group = Vec::new();
    let mut changed: HashSet<ShipmentId> = HashSet::new();
    let mut passed = VecDeque::new();
    while group.len() < MAX_GROUP {
        let Some(next) = waiting.pop_front() else {
            break;
        };
        match changed_shipment(&next.write) {
            Some(id) if !changed.insert(id) => passed.push_back(next),
            _ => group.push(next),
        }
    }
    while let Some(passed) = passed.pop_back() {
        waiting.push_front(passed);
    }
    group
}

/// The existing shipment a write changes; `None` for an insert, whose id
/// is new.
fn changed_shipment(write: &ShipmentWrite) -> Option<ShipmentId> {
    match write {
        ShipmentWrite::Insert { .. } => None,
        ShipmentWrite::Replace { shipment, .. } | ShipmentWrite::Restore(shipment) => {
            Some(shipment.id)
        }
        ShipmentWrite::Delete { id, .. } => Some(*id),
    }
}

/// Marks the turns as no longer taken if the task taking them panics, so
/// that the next write starts a new one instead of waiting for ever.
struct Taking<'a>(&'a Turns);

impl Drop for Taking<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(&self.0.queue).taking = false;
        }
    }
}

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(all(test, feature = "etcd"))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::ShipmentEventKind;
    use crate::seed;
    use crate::store::backend::{etcd::test_options, EtcdBackend};
    use crate::store::ScanBudget;

    /// Writes sent at once through one handle on etcd commit in a few
    /// groups, each with its own outcome: a repeated idempotency key gets
    /// the first shipment, a taken reference fails alone, and the rest
    /// are stored, counted and told as events exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_etcd_writes_sent_at_once_commit_in_groups_each_with_its_own_outcome() {
        let backend = Arc::new(EtcdBackend::open(test_options()).await.unwrap());
        let store = Store::over(backend, "etcd").await.unwrap();
        let data = seed::load(None).unwrap();
        seed::apply(&store, &data).await.unwrap();
        let template = data.shipments[0].clone();
        let taken = template.reference.clone();
        let before = store.revision().await.unwrap();
        let insert = |reference: String, key: Option<String>| ShipmentWrite::Insert {
            shipment: Shipment {
                reference,
                ..template.clone()
            },
            idempotency_key: key,
        };
        // 30 new shipments under keys 0 to 29, 6 repeats of keys 0 to 5,
        // and 4 with the reference of a seeded shipment.
        let writes = (0..30)
            .map(|n| insert(format!("TURN-{n:02}"), Some(format!("key-{n:02}"))))
            .chain((0..6).map(|n| insert(format!("TURN-{n:02}"), Some(format!("key-{n:02}")))))
            .chain((0..4).map(|_| insert(taken.clone(), None)));
        let sent: Vec<_> = writes
            .map(|write| {
                let store = store.clone();
                tokio::spawn(async move { store.change_shipment(write).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for each in sent {
            outcomes.push(each.await.unwrap());
        }

        let created: Vec<&Shipment> = outcomes[..30]
            .iter()
            .map(|outcome| outcome.as_ref().unwrap())
            .collect();
        let references: Vec<String> = created
            .iter()
            .map(|shipment| shipment.reference.clone())
            .collect();
        assert_eq!(
            references,
            (0..30).map(|n| format!("TURN-{n:02}")).collect::<Vec<_>>()
        );
        for (n, repeat) in outcomes[30..36].iter().enumerate() {
            assert_eq!(repeat.as_ref().unwrap().id, created[n].id);
        }
        for refused in &outcomes[36..] {
            assert_eq!(
                refused.as_ref().unwrap_err().to_string(),
                format!(
                    "reference: a shipment with reference {taken:?} already exists; references are unique"
                )
            );
        }
        let counted = store
            .shipment_counts(&[Default::default()], &Arc::new(ScanBudget::unlimited()))
            .await
            .unwrap()[0];
        assert_eq!(counted, data.shipments.len() as u64 + 30);
        assert_eq!(store.check().await.unwrap().problems, Vec::<String>::new());
        let (events, _) = store.shipment_events_after(before).await.unwrap().unwrap();
        assert_eq!(events.len(), 30);
        assert!(events
            .iter()
            .all(|event| event.kind == ShipmentEventKind::Created));
        let first = events[0].sequence;
        let sequences: Vec<u64> = events.iter().map(|event| event.sequence).collect();
        assert_eq!(sequences, (first..first + 30).collect::<Vec<_>>());
        // One commit per write would be 40; a take of ids is one more.
        let commits = store.revision().await.unwrap() - before;
        assert!(commits <= 8, "{commits} commits for 40 writes");
    }
}
