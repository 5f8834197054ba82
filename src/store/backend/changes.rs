//! The change feed of a backend that has none of its own: what each commit
//! wrote, kept in memory in revision order for a bounded while.
//!
//! On an embedded store commits finish in any order, but the feed and the revision it reports
//! advance only over an unbroken run of revisions, so that a reader that
//! sees revision `r` sees every commit up to `r`, and a feed read never
//! skips a commit that is about to be recorded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Space;

/// One key a commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where.
    pub space: Space,
    /// The key.
    pub key: Vec<u8>,
    /// What it holds now; `None` when it was removed.
    pub value: Option<Vec<u8>>,
    /// For a removed key, what it held: what readers of the feed need to
    /// tell others what was deleted (shipment events). `None` otherwise.
    pub previous: Option<Vec<u8>>,
}

/// Everything one commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRecord {
    /// The commit's revision.
    pub revision: u64,
    /// Its writes, counters with their new values included.
    pub changes: Vec<Change>,
}

impl CommitRecord {
    /// Whether the commit wrote anything in `space`.
    pub fn touches(&self, space: Space) -> bool {
        self.changes.iter().any(|change| change.space == space)
    }

    fn size(&self) -> usize {
        self.changes
            .iter()
            .map(|change| {
                let held = |value: &Option<Vec<u8>>| value.as_ref().map_or(0, Vec::len);
                change.key.len() + held(&change.value) + held(&change.previous) + 32
            })
            .sum()
    }
}

/// How much of the past the feed keeps: a reader further behind derives
/// what it holds again, which is always correct, only slower.
const MAX_RECORDS: usize = 100_000;
const MAX_BYTES: usize = 32 << 20;

/// The recent commits of one backend.
pub(super) struct ChangeLog {
    /// The latest revision up to which every commit is recorded.
    revision: AtomicU64,
    /// The same, for those who wait for it to move.
    reached: tokio::sync::watch::Sender<u64>,
    /// A std mutex: held only to insert or copy out `Arc`s.
    inner: Mutex<Inner>,
}

struct Inner {
    /// Recorded commits, in revision order, each one more than the last.
    records: VecDeque<Arc<CommitRecord>>,
    /// Commits that finished before one with a lower revision.
    waiting: BTreeMap<u64, Arc<CommitRecord>>,
    /// The feed holds every commit after this revision.
    reaches_back_to: u64,
    bytes: usize,
}

impl ChangeLog {
    /// A feed at `revision`, with nothing before it.
    pub(super) fn new(revision: u64) -> Self {
        Self {
            revision: AtomicU64::new(revision),
            reached: tokio::sync::watch::Sender::new(revision),
            inner: Mutex::new(Inner {
                records: VecDeque::new(),
                waiting: BTreeMap::new(),
                reaches_back_to: revision,
                bytes: 0,
            }),
        }
    }

    /// The latest revision every commit up to which is recorded.
    pub(super) fn revision(&self) -> u64 {
        self.revision.load(Ordering::SeqCst)
    }

    /// Follows [`ChangeLog::revision`]: what a reader waits on for the
    /// next commits.
    pub(super) fn follow(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reached.subscribe()
    }

    /// Moves the revision every commit up to which is recorded.
    fn reach(&self, revision: u64) {
        self.revision.store(revision, Ordering::SeqCst);
        self.reached.send_replace(revision);
    }

    /// Records a commit that has just become visible.
    pub(super) fn record(&self, record: CommitRecord) {
        let mut inner = self.lock();
        inner.waiting.insert(record.revision, Arc::new(record));
        let mut revision = self.revision();
        while let Some(next) = inner.waiting.remove(&(revision + 1)) {
            revision += 1;
            inner.bytes += next.size();
            inner.records.push_back(next);
        }
        Self::trim(&mut inner);
        self.reach(revision);
    }

    /// Records a commit that arrives after every commit before it (a
    /// watch delivers them so): its revision is above the last one's, by
    /// any amount, since a shared store's revisions also count other
    /// deployments' writes.
    #[cfg(feature = "etcd")]
    pub(super) fn append(&self, record: CommitRecord) {
        let mut inner = self.lock();
        let revision = record.revision;
        if revision <= self.revision() {
            return;
        }
        inner.bytes += record.size();
        inner.records.push_back(Arc::new(record));
        Self::trim(&mut inner);
        self.reach(revision);
    }

    /// Forgets every commit and starts again at `revision`: the feed no
    /// longer reaches back before it.
    #[cfg(feature = "etcd")]
    pub(super) fn reset(&self, revision: u64) {
        let mut inner = self.lock();
        inner.records.clear();
        inner.waiting.clear();
        inner.bytes = 0;
        inner.reaches_back_to = revision;
        self.reach(revision);
    }

    fn trim(inner: &mut Inner) {
        while inner.records.len() > MAX_RECORDS || inner.bytes > MAX_BYTES {
            let Some(oldest) = inner.records.pop_front() else {
                break;
            };
            inner.bytes -= oldest.size();
            inner.reaches_back_to = oldest.revision;
        }
    }

    /// The commits after `after`, or `None` when they are no longer kept.
    pub(super) fn since(&self, after: u64) -> Option<Vec<Arc<CommitRecord>>> {
        let inner = self.lock();
        if after < inner.reaches_back_to {
            return None;
        }
        let start = inner
            .records
            .partition_point(|record| record.revision <= after);
        Some(inner.records.range(start..).cloned().collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(revision: u64) -> CommitRecord {
        CommitRecord {
            revision,
            changes: vec![Change {
                space: Space::Meta,
                key: revision.to_be_bytes().to_vec(),
                value: None,
                previous: None,
            }],
        }
    }

    #[test]
    fn the_feed_advances_over_unbroken_revisions_only() {
        let log = ChangeLog::new(10);
        log.record(record(12));
        assert_eq!(log.revision(), 10);
        assert_eq!(log.since(10), Some(vec![]));

        log.record(record(11));

        assert_eq!(log.revision(), 12);
        let revisions = |after| {
            log.since(after)
                .map(|records| records.iter().map(|r| r.revision).collect::<Vec<_>>())
        };
        assert_eq!(revisions(10), Some(vec![11, 12]));
        assert_eq!(revisions(11), Some(vec![12]));
        assert_eq!(revisions(12), Some(vec![]));
        assert_eq!(revisions(9), None);
    }
}
