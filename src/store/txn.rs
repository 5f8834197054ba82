//! Optimistic transactions over the seam. What a body reads is remembered
//! and becomes its commit's checks ("still absent", "still these bytes");
//! what it writes is buffered, and its own later reads see it. When a
//! check fails, another writer got there first: the body runs again from
//! fresh reads ([`transact!`]). This is the one way the layout writes, so
//! every write is atomic on every backend.

use std::collections::BTreeMap;
use std::ops::{Bound, Range};

use super::backend::{Backend, Commit, Entry, KeyRange, Outcome, Space};
use super::Store;
use crate::domain::Direction;
use crate::error::{Error, Result};

/// How often a body runs before its writer gives up: only writers racing
/// for the same keys conflict, and each round one of them wins.
pub(super) const MAX_ATTEMPTS: u32 = 64;

/// One attempt at a transaction.
pub(super) struct Txn<'a> {
    backend: &'a dyn Backend,
    /// What each key held when first read (the checks). Ordered, so that
    /// [`Txn::first_in`] can find what was read within a range.
    reads: BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>,
    /// What each written key will hold.
    writes: BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>,
    commit: Commit,
}

/// A transaction that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Committed {
    /// Its revision.
    pub revision: u64,
}

impl<'a> Txn<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self {
            backend: store.backend.as_ref(),
            reads: BTreeMap::new(),
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

    /// The first entry within `range` as this transaction sees it: the
    /// backend's keys, overlaid with what the transaction read (a key read
    /// as absent stays absent, one read with bytes keeps them) and with its
    /// buffered writes (a put is there, a delete is not). A key it finds in
    /// the backend becomes a read, and so a check of the commit, exactly as
    /// [`Txn::get`] would make it.
    ///
    /// Only the found key is checked, not the range before it: the commit
    /// model checks keys, not ranges. That suffices for a layout where
    /// every change to the set of keys in a range rewrites or removes a key
    /// at or after the change, the next one up (packed index blocks, see
    /// `shipments::blocks`): a split writes its new lower block below the
    /// block it splits and rewrites that block, a block is removed only
    /// when its own key is deleted, and a new last block is created under a
    /// key the creator has checked absent. So a writer that put a key
    /// between `range`'s start and the found key also changed the found
    /// key, and this commit's check of it fails. When nothing is found, no
    /// key is checked: the caller must [`Txn::get`] the key it then
    /// creates, so that its absence is checked.
    pub(super) async fn first_in(
        &mut self,
        space: Space,
        range: &KeyRange,
    ) -> Result<Option<Entry>> {
        if range.is_empty() {
            return Ok(None);
        }
        let place = |bound: &Bound<Vec<u8>>, unbounded: Bound<(Space, Vec<u8>)>| match bound {
            Bound::Included(key) => Bound::Included((space, key.clone())),
            Bound::Excluded(key) => Bound::Excluded((space, key.clone())),
            Bound::Unbounded => unbounded,
        };
        // The space's own ends, since `(space, key)` pairs of other spaces
        // share the maps.
        let places = (
            place(&range.lower, Bound::Included((space, Vec::new()))),
            place(&range.upper, Bound::Unbounded),
        );
        let in_space = |(each, _): &&(Space, Vec<u8>)| *each == space;
        // The first key the transaction itself knows to be there.
        let written = self
            .writes
            .range(places.clone())
            .take_while(|(place, _)| in_space(place))
            .find_map(|((_, key), value)| Some((key.clone(), value.clone()?)));
        let read = self
            .reads
            .range(places)
            .take_while(|(place, _)| in_space(place))
            .filter(|(place, _)| !self.writes.contains_key(place))
            .find_map(|((_, key), value)| Some((key.clone(), value.clone()?)));
        let known = match (written, read) {
            (Some(written), Some(read)) => Some(written.min(read)),
            (written, read) => written.or(read),
        };
        // The backend's first key before that one which the transaction
        // has neither read nor written: those it has are decided above.
        let mut backend_range = range.clone();
        if let Some((key, _)) = &known {
            backend_range.upper = Bound::Excluded(key.clone());
        }
        let mut limit = 1;
        while !backend_range.is_empty() {
            let entries = self
                .backend
                .scan(space, &backend_range, Direction::Ascending, limit)
                .await?;
            let n_entries = entries.len();
            for (key, value) in entries {
                let place = (space, key);
                if self.writes.contains_key(&place) || self.reads.contains_key(&place) {
                    backend_range.lower = Bound::Excluded(place.1);
                    continue;
                }
                self.reads.insert(place.clone(), Some(value.clone()));
                return Ok(Some((place.1, value)));
            }
            if n_entries < limit {
                break;
            }
            // Many keys the transaction already knows in a row: a batch
            // that deletes or reads many neighbours. Read more at a time.
            limit = (limit * 2).min(64);
        }
        Ok(known)
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
        match self.backend.commit(commit).await? {
            Outcome::Committed { revision, .. } => Ok(Some(Committed { revision })),
            Outcome::Conflict => Ok(None),
        }
    }
}

/// Commits `n` records in consecutive batches, as many at a time as one
/// of the backend's transactions holds: `commit` gets the range of each
/// batch, the first of them everything (on sled the only one), and runs
/// once with an empty range when `n` is 0. A batch refused as
/// [`Error::CommitTooLarge`] is tried again smaller, in proportion, with a
/// tenth to spare for records that touch more keys than these did. For the
/// writers of many records: seeding, restoring, a bulk insert's counters.
pub(super) async fn in_batches(
    n: usize,
    mut commit: impl AsyncFnMut(Range<usize>) -> Result<()>,
) -> Result<()> {
    let (mut start, mut batch) = (0, n);
    loop {
        let end = n.min(start + batch);
        match commit(start..end).await {
            Ok(()) if end == n => return Ok(()),
            Ok(()) => start = end,
            Err(Error::CommitTooLarge { used, allowed, .. }) if end - start > 1 => {
                let tried = end - start;
                batch = (tried * allowed / used * 9 / 10).clamp(1, tried - 1);
            }
            Err(error) => return Err(error),
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

#[cfg(test)]
mod tests {
    use std::ops::Bound::{Excluded, Included, Unbounded};

    use super::*;
    use crate::store::StoreOptions;

    const SPACE: Space = Space::ShipmentIndex;

    fn from(key: &[u8]) -> KeyRange {
        KeyRange::new(Included(key.to_vec()), Unbounded)
    }

    async fn first_key(txn: &mut Txn<'_>, range: &KeyRange) -> Option<Vec<u8>> {
        txn.first_in(SPACE, range)
            .await
            .unwrap()
            .map(|(key, _)| key)
    }

    #[tokio::test]
    async fn first_in_sees_the_transactions_own_writes_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        for key in [b"a", b"c", b"e", b"g"] {
            store.poke(SPACE, key, Some(b"stored")).await;
        }
        let mut txn = Txn::new(&store);

        assert_eq!(first_key(&mut txn, &from(b"a")).await, Some(b"a".to_vec()));
        txn.delete(SPACE, b"a".to_vec());
        assert_eq!(first_key(&mut txn, &from(b"a")).await, Some(b"c".to_vec()));
        txn.put(SPACE, b"b".to_vec(), b"buffered".to_vec());
        assert_eq!(
            txn.first_in(SPACE, &from(b"a")).await.unwrap(),
            Some((b"b".to_vec(), b"buffered".to_vec()))
        );
        let after_b = KeyRange::new(Excluded(b"b".to_vec()), Included(b"z".to_vec()));
        assert_eq!(first_key(&mut txn, &after_b).await, Some(b"c".to_vec()));
        // What the transaction read stays as it read it.
        assert_eq!(txn.get(SPACE, b"d").await.unwrap(), None);
        assert_eq!(
            txn.get(SPACE, b"e").await.unwrap(),
            Some(b"stored".to_vec())
        );
        store.poke(SPACE, b"d", Some(b"theirs")).await;
        store.poke(SPACE, b"e", None).await;
        assert_eq!(first_key(&mut txn, &from(b"d")).await, Some(b"e".to_vec()));
        txn.delete(SPACE, b"e".to_vec());
        assert_eq!(first_key(&mut txn, &from(b"d")).await, Some(b"g".to_vec()));
        // Nothing in an empty range, past the last key or in another space.
        let empty = KeyRange::new(Included(b"c".to_vec()), Excluded(b"c".to_vec()));
        assert_eq!(first_key(&mut txn, &empty).await, None);
        assert_eq!(first_key(&mut txn, &from(b"h")).await, None);
        let elsewhere = txn.first_in(Space::Hubs, &from(b"a")).await;
        assert_eq!(elsewhere.unwrap(), None);
    }

    #[tokio::test]
    async fn first_in_checks_the_key_it_finds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        store.poke(SPACE, b"a", Some(b"stored")).await;
        store.poke(SPACE, b"c", Some(b"stored")).await;

        // Unchanged, the commit applies.
        let mut txn = Txn::new(&store);
        assert_eq!(first_key(&mut txn, &from(b"b")).await, Some(b"c".to_vec()));
        txn.put(SPACE, b"c".to_vec(), b"mine".to_vec());
        assert!(txn.commit().await.unwrap().is_some());

        // Changed by another writer before the commit, it conflicts.
        let mut txn = Txn::new(&store);
        assert_eq!(first_key(&mut txn, &from(b"b")).await, Some(b"c".to_vec()));
        store.poke(SPACE, b"c", Some(b"theirs")).await;
        txn.put(SPACE, b"b".to_vec(), b"mine".to_vec());
        assert!(txn.commit().await.unwrap().is_none());
        assert_eq!(store.backend.get(SPACE, b"b").await.unwrap(), None);
    }
}
