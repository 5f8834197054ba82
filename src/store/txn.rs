//! Optimistic transactions over the seam. What a body reads is remembered
//! and becomes its commit's checks ("still absent", "still these bytes");
//! what it writes is buffered, and its own later reads see it. When a
//! check fails, another writer got there first: the body runs again from
//! fresh reads ([`transact!`]). This is the one way the layout writes, so
//! every write is atomic on every backend.

use std::collections::{BTreeMap, HashMap};

use super::backend::{Backend, Commit, Outcome, Space};
use super::Store;
use crate::error::{Error, Result};

/// How often a body runs before its writer gives up: only writers racing
/// for the same keys conflict, and each round one of them wins.
pub(super) const MAX_ATTEMPTS: u32 = 64;

/// One attempt at a transaction.
pub(super) struct Txn<'a> {
    backend: &'a dyn Backend,
    /// What each key held when first read (the checks).
    reads: HashMap<(Space, Vec<u8>), Option<Vec<u8>>>,
    /// What each written key will hold.
    writes: BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>,
    commit: Commit,
}

/// A transaction that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Committed {
    /// Its revision.
    pub revision: u64,
    /// Each counter it changed, with its value after the change.
    pub counters: Vec<((Space, Vec<u8>), u64)>,
}

impl Committed {
    /// The value of the counter at `key` after the commit, if it changed it.
    pub(super) fn counter(&self, space: Space, key: &[u8]) -> Option<u64> {
        self.counters
            .iter()
            .find(|((each, each_key), _)| *each == space && each_key == key)
            .map(|(_, value)| *value)
    }
}

impl<'a> Txn<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self {
            backend: store.backend.as_ref(),
            reads: HashMap::new(),
            writes: BTreeMap::new(),
            commit: Commit::default(),
        }
    }

    /// What `key` holds, as this transaction sees it.
    pub(super) async fn get(&mut self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let place = (space, key.to_vec());
        if let Some(written) = self.writes.get(&place) {
            return Ok(written.clone());
        }
        if let Some(read) = self.reads.get(&place) {
            return Ok(read.clone());
        }
        let value = self.backend.get(space, key).await?;
        self.reads.insert(place, value.clone());
        Ok(value)
    }

    /// Sets `key` to `value` when the transaction commits.
    pub(super) fn put(&mut self, space: Space, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.insert((space, key.into()), Some(value.into()));
    }

    /// Removes `key` when the transaction commits. Removing a key that was
    /// never read needs no check: the result is the same either way.
    pub(super) fn delete(&mut self, space: Space, key: impl Into<Vec<u8>>) {
        self.writes.insert((space, key.into()), None);
    }

    /// Adds `delta` to the counter at `key` when the transaction commits,
    /// whatever it holds then: counters need no check.
    pub(super) fn increment(&mut self, space: Space, key: impl Into<Vec<u8>>, delta: i64) {
        self.commit.increment(space, key, delta);
    }

    /// Commits: `None` when a read no longer holds and the body must run
    /// again.
    pub(super) async fn commit(self) -> Result<Option<Committed>> {
        let mut commit = self.commit;
        // A change that moves a shipment within a counter's value raises
        // and lowers it: nothing to write.
        commit.increments.retain(|each| each.delta != 0);
        for ((space, key), value) in self.reads {
            commit.check_holds(space, key, value);
        }
        for ((space, key), value) in self.writes {
            match value {
                Some(value) => commit.put(space, key, value),
                None => commit.delete(space, key),
            }
        }
        let places: Vec<(Space, Vec<u8>)> = commit
            .increments
            .iter()
            .map(|each| (each.space, each.key.clone()))
            .collect();
        match self.backend.commit(commit).await? {
            Outcome::Committed { revision, counters } => Ok(Some(Committed {
                revision,
                counters: places.into_iter().zip(counters).collect(),
            })),
            Outcome::Conflict => Ok(None),
        }
    }
}

/// The error of a writer that lost [`MAX_ATTEMPTS`] races in a row.
pub(super) fn contended() -> Error {
    Error::Storage(
        format!("a write lost {MAX_ATTEMPTS} races for the same keys in a row; try again").into(),
    )
}

/// Runs `$body` in a fresh [`Txn`] named `$txn` until its commit applies,
/// and evaluates to `Ok((body's value, Committed))`. The body may return
/// early with `?`, which abandons the transaction; it must not have side
/// effects beyond the transaction, since it may run more than once.
macro_rules! transact {
    ($store:expr, |$txn:ident| $body:block) => {{
        let mut outcome = Err($crate::store::txn::contended());
        for _ in 0..$crate::store::txn::MAX_ATTEMPTS {
            let mut $txn = $crate::store::txn::Txn::new($store);
            let value = $body;
            if let Some(committed) = $txn.commit().await? {
                outcome = Ok((value, committed));
                break;
            }
        }
        outcome
    }};
}

pub(super) use transact;
