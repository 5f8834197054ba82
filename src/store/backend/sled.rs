//! The embedded backend: one sled tree per key space, commits as one
//! multi-tree transaction, the revision kept in `meta` by every commit,
//! and the change feed in memory (sled's lock on its directory keeps every
//! other process out, so every commit passes through this one value).
//!
//! Durability is group commit: a write is acknowledged only once it is on
//! disk, and concurrent writers share one `flush()`. `flush()` blocks, so
//! it runs on a blocking thread (sled's `flush_async` can deadlock in 0.34:
//! sled #1308, #1412).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::changes::ChangeLog;
use super::{
    add_to_counter, decode_counter, encode_counter, Backend, Change, Check, Commit, CommitRecord,
    Entry, Exclusive, KeyRange, Outcome, Space, Write,
};
use crate::domain::Direction;
use crate::error::{Error, Result};

/// The key in `meta` of the latest revision. The backend's own: the layout
/// never writes it.
const REVISION_KEY: &[u8] = b"revision";

/// How to open a sled database.
#[derive(Debug, Clone, Copy)]
pub struct SledOptions {
    /// The page cache size in bytes.
    pub cache_bytes: u64,
    /// Whether writes are acknowledged only once on disk. Turning this off
    /// also turns off sled's background flush, so unflushed writes are lost
    /// on a crash for certain: it exists to prove the crash test can fail.
    pub durable: bool,
}

impl SledOptions {
    /// Durable writes with a cache of `cache_bytes`.
    pub fn new(cache_bytes: u64) -> Self {
        Self {
            cache_bytes,
            durable: true,
        }
    }
}

/// A sled database as a [`Backend`].
pub struct SledBackend {
    db: sled::Db,
    /// One tree per space of the current layout, at its place in
    /// [`Space::ALL`]; an older format's spaces are opened when used.
    trees: Vec<sled::Tree>,
    changes: ChangeLog,
    group: GroupCommit,
}

impl SledBackend {
    /// Opens (or creates) the database in `path`. Fails with
    /// [`Error::DatabaseInUse`] when another handle holds it.
    pub fn open(path: &Path, options: SledOptions) -> Result<Self> {
        let background_flush = options.durable.then_some(500);
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_bytes)
            .flush_every_ms(background_flush)
            .open()
            .map_err(|error| match error {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    Error::DatabaseInUse {
                        path: path.display().to_string(),
                    }
                }
                other => other.into(),
            })?;
        let trees = Space::ALL
            .iter()
            .map(|space| db.open_tree(space.name()))
            .collect::<sled::Result<Vec<_>>>()?;
        let meta = db.open_tree(Space::Meta.name())?;
        let revision = decode_counter(meta.get(REVISION_KEY)?.as_deref())?;
        Ok(Self {
            db,
            trees,
            changes: ChangeLog::new(revision),
            group: GroupCommit::new(options.durable, revision),
        })
    }

    /// The tree of `space`: one of the current layout's, or an older
    /// format's, opened now (sled keeps it open) for the upgrade.
    fn tree(&self, space: Space) -> Result<std::borrow::Cow<'_, sled::Tree>> {
        match space.index() {
            Some(place) => Ok(std::borrow::Cow::Borrowed(&self.trees[place])),
            None => Ok(std::borrow::Cow::Owned(self.db.open_tree(space.name())?)),
        }
    }
}

impl From<sled::Error> for Error {
    fn from(error: sled::Error) -> Self {
        Error::Storage(Box::new(error))
    }
}

/// Why a commit's transaction stopped.
#[derive(Debug)]
enum Abort {
    Conflict,
    Failed(Error),
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Abort>>;

fn failed(error: Error) -> ConflictableTransactionError<Abort> {
    ConflictableTransactionError::Abort(Abort::Failed(error))
}

#[async_trait::async_trait]
impl Backend for SledBackend {
    async fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(space)?.get(key)?.map(|value| value.to_vec()))
    }

    async fn get_many(&self, space: Space, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let tree = self.tree(space)?;
        keys.iter()
            .map(|key| Ok(tree.get(key)?.map(|value| value.to_vec())))
            .collect()
    }

    async fn scan(
        &self,
        space: Space,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        if range.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let tree = self.tree(space)?;
        let entries = tree.range::<Vec<u8>, _>((range.lower.clone(), range.upper.clone()));
        let entry = |entry: sled::Result<(sled::IVec, sled::IVec)>| {
            entry
                .map(|(key, value)| (key.to_vec(), value.to_vec()))
                .map_err(Error::from)
        };
        match direction {
            Direction::Ascending => entries.take(limit).map(entry).collect(),
            Direction::Descending => entries.rev().take(limit).map(entry).collect(),
        }
    }

    async fn commit(&self, commit: Commit) -> Result<Outcome> {
        commit.validate()?;
        // The trees this commit touches, and where each sits among them.
        let mut spaces: Vec<Space> = std::iter::once(Space::Meta)
            .chain(commit.checks.iter().map(|check| match check {
                Check::Absent(space, _) | Check::Holds(space, _, _) => *space,
            }))
            .chain(commit.writes.iter().map(|write| match write {
                Write::Put(space, _, _) | Write::Delete(space, _) => *space,
            }))
            .chain(commit.increments.iter().map(|each| each.space))
            .collect();
        spaces.sort_unstable();
        spaces.dedup();
        let trees = spaces
            .iter()
            .map(|space| self.tree(*space))
            .collect::<Result<Vec<_>>>()?;
        let trees: Vec<&sled::Tree> = trees.iter().map(|tree| tree.as_ref()).collect();
        let place: HashMap<Space, usize> = spaces
            .iter()
            .enumerate()
            .map(|(place, space)| (*space, place))
            .collect();
        let applied = trees.as_slice().transaction(
            |tx| -> TxResult<(u64, Vec<u64>, Vec<Option<sled::IVec>>)> {
                for check in &commit.checks {
                    let holds = match check {
                        Check::Absent(space, key) => tx[place[space]].get(key)?.is_none(),
                        Check::Holds(space, key, value) => {
                            tx[place[space]].get(key)?.as_deref() == Some(value.as_slice())
                        }
                    };
                    if !holds {
                        return Err(ConflictableTransactionError::Abort(Abort::Conflict));
                    }
                }
                // What each delete removed, for the change feed.
                let mut removed = Vec::new();
                for write in &commit.writes {
                    match write {
                        Write::Put(space, key, value) => {
                            tx[place[space]].insert(key.as_slice(), value.as_slice())?;
                        }
                        Write::Delete(space, key) => {
                            removed.push(tx[place[space]].remove(key.as_slice())?);
                        }
                    }
                }
                let mut counters = Vec::with_capacity(commit.increments.len());
                for each in &commit.increments {
                    let tree = &tx[place[&each.space]];
                    let stored = decode_counter(tree.get(&each.key)?.as_deref()).map_err(failed)?;
                    let value = add_to_counter(stored, each.delta);
                    tree.insert(each.key.as_slice(), &encode_counter(value))?;
                    counters.push(value);
                }
                let meta = &tx[place[&Space::Meta]];
                let revision =
                    decode_counter(meta.get(REVISION_KEY)?.as_deref()).map_err(failed)? + 1;
                meta.insert(REVISION_KEY, &encode_counter(revision))?;
                Ok((revision, counters, removed))
            },
        );
        let (revision, counters, removed) = match applied {
            Ok(applied) => applied,
            Err(TransactionError::Abort(Abort::Conflict)) => return Ok(Outcome::Conflict),
            Err(TransactionError::Abort(Abort::Failed(error))) => return Err(error),
            Err(TransactionError::Storage(error)) => return Err(error.into()),
        };
        let mut removed = removed.into_iter();
        let changes = commit
            .writes
            .into_iter()
            .map(|write| match write {
                Write::Put(space, key, value) => Change {
                    space,
                    key,
                    value: Some(value),
                    previous: None,
                },
                Write::Delete(space, key) => Change {
                    space,
                    key,
                    value: None,
                    previous: removed.next().flatten().map(|old| old.to_vec()),
                },
            })
            .chain(
                commit
                    .increments
                    .into_iter()
                    .zip(&counters)
                    .map(|(each, value)| Change {
                        space: each.space,
                        key: each.key,
                        value: Some(encode_counter(*value).to_vec()),
                        previous: None,
                    }),
            )
            .collect();
        // Counted as written before it shows in the feed, so that a reader
        // of the feed who then asks for durability gets this commit's too.
        self.group.committed(revision);
        self.changes.record(CommitRecord { revision, changes });
        // The feed advances over unbroken revisions only: a commit with a
        // lower revision that applied first may not be recorded yet. It is
        // recorded right after its transaction, with no await between, so
        // this wait is short, and once it ends every read that starts sees
        // this commit in the revision it reports.
        while self.changes.revision() < revision {
            std::thread::yield_now();
        }
        Ok(Outcome::Committed { revision, counters })
    }

    async fn allocate(&self, space: Space, key: &[u8], n: u64) -> Result<u64> {
        self.tree(space)?
            .transaction(|tx| -> TxResult<u64> {
                let first = decode_counter(tx.get(key)?.as_deref())
                    .map_err(failed)?
                    .max(1);
                let next = first.checked_add(n).ok_or_else(|| {
                    failed(Error::Corrupt(format!(
                        "allocating {n} ids from {first} would pass the last id"
                    )))
                })?;
                tx.insert(key, &encode_counter(next))?;
                Ok(first)
            })
            .map_err(|error| match error {
                TransactionError::Abort(Abort::Failed(error)) => error,
                TransactionError::Abort(Abort::Conflict) => {
                    Error::Corrupt("an id allocation conflicted with itself".into())
                }
                TransactionError::Storage(error) => error.into(),
            })
    }

    async fn revision(&self) -> Result<u64> {
        Ok(self.changes.revision())
    }

    async fn changes(&self, after: u64) -> Result<Option<Vec<Arc<CommitRecord>>>> {
        Ok(self.changes.since(after))
    }

    fn follow_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.follow()
    }

    async fn bulk_load(&self, entries: Vec<(Space, Vec<Entry>)>) -> Result<()> {
        let jobs = entries
            .into_iter()
            .map(|(space, entries)| Ok((self.tree(space)?.into_owned(), entries)))
            .collect::<Result<Vec<(sled::Tree, Vec<Entry>)>>>()?;
        tokio::task::spawn_blocking(move || write_sorted(jobs))
            .await
            .map_err(|error| Error::Storage(Box::new(error)))?
    }

    async fn bulk_remove(&self, keys: Vec<(Space, Vec<Vec<u8>>)>) -> Result<()> {
        let trees = keys
            .into_iter()
            .map(|(space, keys)| Ok((self.tree(space)?.into_owned(), keys)))
            .collect::<Result<Vec<(sled::Tree, Vec<Vec<u8>>)>>>()?;
        tokio::task::spawn_blocking(move || {
            for (tree, keys) in trees {
                for key in keys {
                    tree.remove(key)?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|error| Error::Storage(Box::new(error)))?
    }

    async fn clear(&self, space: Space) -> Result<()> {
        match space.index() {
            // A tree of the current layout stays open in `trees`, so it is
            // emptied key by key rather than dropped.
            Some(_) => {
                let tree = self.tree(space)?.into_owned();
                tokio::task::spawn_blocking(move || tree.clear())
                    .await
                    .map_err(|error| Error::Storage(Box::new(error)))??;
            }
            // An older format's tree is opened only when used: dropping it
            // frees its pages at once, far faster than removing each key.
            None => {
                let db = self.db.clone();
                let name = space.name();
                tokio::task::spawn_blocking(move || db.drop_tree(name))
                    .await
                    .map_err(|error| Error::Storage(Box::new(error)))??;
            }
        }
        Ok(())
    }

    async fn make_durable(&self) -> Result<()> {
        self.group.make_durable(&self.db).await
    }

    async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| Error::Storage(Box::new(error)))??;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<Option<u64>> {
        Ok(Some(self.db.size_on_disk()?))
    }

    async fn exclusive(&self, _name: &str) -> Result<Exclusive> {
        // sled's lock on its directory keeps every other process out.
        Ok(Exclusive::held_already())
    }
}

/// Writes each tree's entries, sorted so that consecutive inserts land on
/// the same pages, one tree at a time per thread, the largest first. Plain
/// inserts, not `apply_batch`: a batch holds sled's global write lock,
/// which would let one thread write at a time.
fn write_sorted(mut jobs: Vec<(sled::Tree, Vec<Entry>)>) -> Result<()> {
    let n_threads = std::thread::available_parallelism().map_or(1, usize::from);
    // Longest first, each to the least loaded thread.
    jobs.sort_by_key(|(_, entries)| std::cmp::Reverse(entries.len()));
    let mut shares: Vec<(usize, Vec<_>)> = (0..n_threads).map(|_| (0, Vec::new())).collect();
    for job in jobs {
        if let Some(share) = shares.iter_mut().min_by_key(|(load, _)| *load) {
            share.0 += job.1.len();
            share.1.push(job);
        }
    }
    std::thread::scope(|scope| {
        let writers: Vec<_> = shares
            .into_iter()
            .map(|(_, jobs)| {
                scope.spawn(move || -> Result<()> {
                    for (tree, mut entries) in jobs {
                        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        for (key, value) in entries {
                            tree.insert(key, value)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        writers.into_iter().try_for_each(|writer| {
            writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

/// The bookkeeping of group commit.
struct GroupCommit {
    /// Held by the one caller flushing; others wait, then usually find
    /// their write already covered.
    flushing: tokio::sync::Mutex<()>,
    /// The latest revision committed.
    written: AtomicU64,
    /// The latest revision known to be on disk.
    flushed: AtomicU64,
    /// False only for the crash test's proof that the test can fail:
    /// acknowledge without flushing.
    enabled: bool,
}

impl GroupCommit {
    fn new(enabled: bool, revision: u64) -> Self {
        Self {
            flushing: tokio::sync::Mutex::new(()),
            written: AtomicU64::new(revision),
            flushed: AtomicU64::new(revision),
            enabled,
        }
    }

    /// Counts a commit that has just become visible.
    fn committed(&self, revision: u64) {
        self.written.fetch_max(revision, Ordering::SeqCst);
    }

    /// Returns once every commit counted before this call is on disk,
    /// flushing unless a flush that started later already covered it.
    async fn make_durable(&self, db: &sled::Db) -> Result<()> {
        let mine = self.written.load(Ordering::SeqCst);
        if !self.enabled {
            return Ok(());
        }
        let _turn = self.flushing.lock().await;
        if self.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        // A commit's revision is read and raised inside its transaction,
        // so every commit up to the revision counted here is applied and
        // this flush covers all of them, not just the caller's.
        let covered = self.written.load(Ordering::SeqCst);
        let db = db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|error| Error::Storage(Box::new(error)))??;
        self.flushed.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }
}
