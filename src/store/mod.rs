//! The store: the one key layout of tradegraph's records, indexes and
//! counters, written once against the storage seam (`backend`).
//!
//! One key space per kind of record, each record in its own versioned
//! encoding (`format`); index entries for every relationship and for every
//! filter and order a list offers, shipments' packed many to a key
//! (`shipments::blocks`); and counters kept in the same commit as the
//! records they count. Every read method returns domain values and counts
//! as one store call (see [`Store::calls`]), which is how tests prove that
//! a nested query costs one call per kind of entity per level. Only this
//! module knows the layout, and only `backend` knows sled.

pub mod backend;
mod backup;
mod catalog;
pub(crate) mod check;
mod codec;
mod flows;
mod format;
mod keys;
mod pages;
mod scan_budget;
mod shipments;
mod snapshots;
mod txn;
mod upgrade;
mod work_pool;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use catalog::{Catalog, Counted, RouteQuery, SearchHit};
pub use check::CheckReport;
pub use flows::TradeFlowQuery;
pub use scan_budget::ScanBudget;
pub use shipments::{ShipmentQuery, ShipmentSource, ShipmentWrite};

use self::backend::{Backend, SledBackend, SledOptions, Space};
use self::txn::transact;
use crate::error::{Error, Result};

/// The version of the stored layout this build reads and writes. Format 1
/// is upgraded when it is opened (`upgrade`).
pub const FORMAT_VERSION: u32 = 2;

/// The key of the stored format version in `meta`.
const FORMAT_VERSION_KEY: &[u8] = b"format_version";

/// The key in `meta` of the id made when the database was created.
const DATABASE_ID_KEY: &[u8] = b"database_id";

/// The key in `meta` present once a seeding run has completed.
const SEEDED_KEY: &[u8] = b"seeded";

/// A handle to the database. Cheap to clone; all clones share it. It
/// keeps nothing another handle's writes could make stale without the
/// backend's revision saying so.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    /// Made when the database was created; part of every `ETag`.
    database_id: Arc<str>,
    calls: Arc<AtomicU64>,
    snapshots: Arc<snapshots::Snapshots>,
    /// Shipment ids taken from the database and not yet handed out. A
    /// std mutex: held only to take one.
    ids: Arc<std::sync::Mutex<std::ops::Range<u64>>>,
    /// Where filtered scans and counts run (`work_pool`).
    pool: Arc<work_pool::WorkPool>,
    /// Records read by filtered scans and counts, since the handle was made.
    scanned: Arc<AtomicU64>,
}

/// How to open the embedded database.
pub type StoreOptions = SledOptions;

/// Where a store's data lives.
#[derive(Debug, Clone)]
pub enum Location {
    /// The embedded database in a directory, which one process holds.
    Embedded {
        /// The directory.
        path: std::path::PathBuf,
        /// How to open it.
        options: StoreOptions,
    },
    /// An etcd cluster, under a key prefix, which several servers share.
    #[cfg(feature = "etcd")]
    Etcd(backend::EtcdOptions),
}

impl Location {
    /// The embedded database's directory and options; `None` for a
    /// cluster.
    pub fn embedded(&self) -> Option<(&Path, StoreOptions)> {
        match self {
            Location::Embedded { path, options } => Some((path, *options)),
            #[cfg(feature = "etcd")]
            Location::Etcd(_) => None,
        }
    }

    /// The place, as errors name it.
    pub fn describe(&self) -> String {
        match self {
            Location::Embedded { path, .. } => path.display().to_string(),
            #[cfg(feature = "etcd")]
            Location::Etcd(options) => format!(
                "etcd {} under {}",
                options.endpoints.join(","),
                options.prefix
            ),
        }
    }
}

impl Store {
    /// Opens the store at `location` (see [`Store::open`] and
    /// [`Store::over`]).
    pub async fn connect(location: &Location) -> Result<Self> {
        match location {
            Location::Embedded { path, options } => Self::open(path, *options).await,
            #[cfg(feature = "etcd")]
            Location::Etcd(options) => {
                let backend = backend::EtcdBackend::open(options.clone()).await?;
                Self::over(Arc::new(backend), &location.describe()).await
            }
        }
    }

    /// Holds `name` on the store until the hold is released: one process
    /// at a time among all that share the store ([`Backend::exclusive`]).
    pub async fn exclusive(&self, name: &str) -> Result<backend::Exclusive> {
        self.backend.exclusive(name).await
    }

    /// Opens (or creates) the embedded database in `path`. Fails with
    /// [`Error::DatabaseInUse`] when another process holds it and
    /// [`Error::FormatVersion`] when it was written in another format.
    pub async fn open(path: &Path, options: StoreOptions) -> Result<Self> {
        let backend = SledBackend::open(path, options)?;
        Self::over(Arc::new(backend), &path.display().to_string()).await
    }

    /// A store over `backend`, which `place` names in errors: gives a new
    /// database its format version and id, upgrades one of an older
    /// format (or finishes an interrupted upgrade), and refuses one of a
    /// newer format.
    pub async fn over(backend: Arc<dyn Backend>, place: &str) -> Result<Self> {
        Self::over_until(backend, place, upgrade::Until::Done).await
    }

    /// [`Store::over`], with an upgrade that may be stopped early (tests).
    async fn over_until(
        backend: Arc<dyn Backend>,
        place: &str,
        until: upgrade::Until,
    ) -> Result<Self> {
        let stored = stored_format_version(backend.as_ref(), place).await?;
        // Refused before anything is written to it, the id included.
        if let Some(found) = stored.filter(|found| *found > FORMAT_VERSION) {
            return Err(Error::FormatVersion {
                path: place.to_owned(),
                found,
                expected: FORMAT_VERSION,
            });
        }
        let database_id = database_id(backend.as_ref()).await?;
        let store = Self {
            backend,
            database_id: database_id.into(),
            calls: Arc::new(AtomicU64::new(0)),
            snapshots: Arc::default(),
            ids: Arc::new(std::sync::Mutex::new(0..0)),
            pool: Arc::new(work_pool::WorkPool::new(
                work_pool::WorkPool::default_threads(),
            )),
            scanned: Arc::new(AtomicU64::new(0)),
        };
        match stored {
            None => {
                transact!(&store, |txn| {
                    if txn.get(Space::Meta, FORMAT_VERSION_KEY).await?.is_none() {
                        txn.put(
                            Space::Meta,
                            FORMAT_VERSION_KEY,
                            FORMAT_VERSION.to_be_bytes(),
                        );
                    }
                })?;
            }
            Some(older) if older < FORMAT_VERSION => upgrade::upgrade(&store, older, until).await?,
            Some(_) => {}
        }
        Ok(store)
    }

    /// Closes the embedded database and opens it again, waiting up to ten
    /// seconds for sled's background threads to let go of it. Opening is
    /// when sled 0.34 writes a snapshot of its page table; until the next
    /// one, every open reads the whole log written since the last (a bulk
    /// insert of a million shipments writes about 3 GB of it). Call it on
    /// the only handle: a clone elsewhere keeps the database open.
    pub async fn reopen(self, path: &Path, options: StoreOptions) -> Result<Self> {
        drop(self);
        Self::open_once_released(path, options).await
    }

    /// Opens the embedded database that a handle of this process has just
    /// dropped, waiting up to ten seconds for sled's background threads
    /// (its flusher holds the directory lock a moment longer) to let go.
    pub async fn open_once_released(path: &Path, options: StoreOptions) -> Result<Self> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open(path, options).await {
                Err(Error::DatabaseInUse { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                opened => return opened,
            }
        }
    }

    /// How many read calls this store has answered since it was opened.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// How many records filtered scans and counts have read through this
    /// handle and its clones: how much work requests made the store do
    /// beyond what they returned.
    pub fn scanned_records(&self) -> u64 {
        self.scanned.load(Ordering::Relaxed)
    }

    /// Runs work that may be long on the store's pool, off the calling
    /// thread (`work_pool`).
    async fn off_loop<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.pool.run(work).await
    }

    /// Counts one read call.
    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The id made when the database was created: with [`Store::revision`]
    /// it names one state of one database.
    pub fn database_id(&self) -> &str {
        &self.database_id
    }

    /// The database's latest revision: every write acknowledged before
    /// this is read is at or below it, whichever handle made it.
    pub async fn revision(&self) -> Result<u64> {
        self.backend.revision().await
    }

    /// Whether a seeding run has completed on this database. A run that
    /// was interrupted leaves this false, so the next start seeds again.
    pub async fn is_seeded(&self) -> Result<bool> {
        Ok(self.backend.get(Space::Meta, SEEDED_KEY).await?.is_some())
    }

    /// Records that a seeding run has completed.
    pub async fn mark_seeded(&self) -> Result<()> {
        transact!(self, |txn| {
            txn.put(Space::Meta, SEEDED_KEY, Vec::<u8>::new());
        })?;
        Ok(())
    }

    /// The bytes the database takes on disk, where the backend knows it.
    pub fn size_on_disk(&self) -> Result<Option<u64>> {
        self.backend.size_on_disk()
    }

    /// Writes everything to disk, before the process exits.
    pub async fn flush(&self) -> Result<()> {
        self.backend.flush().await
    }

    /// Returns once every write that returned before this call is on disk
    /// (group commit: concurrent writers share one flush).
    pub async fn make_durable(&self) -> Result<()> {
        self.backend.make_durable().await
    }
}

#[cfg(test)]
impl Store {
    /// Sets or removes one key's raw bytes, as a corrupted database would
    /// hold them: for tests of what reads and `check` make of them.
    pub(crate) async fn poke(&self, space: Space, key: &[u8], value: Option<&[u8]>) {
        let mut commit = backend::Commit::default();
        match value {
            Some(value) => commit.put(space, key, value),
            None => commit.delete(space, key),
        }
        let outcome = self.backend.commit(commit).await.unwrap();
        assert!(matches!(outcome, backend::Outcome::Committed { .. }));
    }

    /// Every key and value of a space, in key order.
    pub(crate) async fn raw_entries(&self, space: Space) -> Vec<backend::Entry> {
        self.backend
            .scan(
                space,
                &backend::KeyRange::all(),
                crate::domain::Direction::Ascending,
                usize::MAX,
            )
            .await
            .unwrap()
    }
}

/// How many entries a whole-space read (`check`, `export`) takes at a time.
const BATCH: usize = 4096;

/// Every entry of one key space, in key order, a batch at a time.
pub(crate) struct Batches<'a> {
    backend: &'a dyn Backend,
    space: Space,
    range: backend::KeyRange,
    done: bool,
}

impl Batches<'_> {
    /// The next entries, or `None` after the last.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<backend::Entry>>> {
        if self.done {
            return Ok(None);
        }
        let entries = self
            .backend
            .scan(
                self.space,
                &self.range,
                crate::domain::Direction::Ascending,
                BATCH,
            )
            .await?;
        match entries.last() {
            Some((last, _)) if entries.len() == BATCH => {
                self.range.lower = std::ops::Bound::Excluded(last.clone())
            }
            _ => self.done = true,
        }
        Ok((!entries.is_empty()).then_some(entries))
    }
}

impl Store {
    /// Every entry of `space`, a batch at a time.
    pub(crate) fn batches(&self, space: Space) -> Batches<'_> {
        self.batches_in(space, backend::KeyRange::all())
    }

    /// Every entry of `space` within `range`, a batch at a time.
    pub(crate) fn batches_in(&self, space: Space, range: backend::KeyRange) -> Batches<'_> {
        Batches {
            backend: self.backend.as_ref(),
            space,
            range,
            done: false,
        }
    }
}

/// The format version a database was written in; `None` for a new one.
async fn stored_format_version(backend: &dyn Backend, place: &str) -> Result<Option<u32>> {
    let Some(bytes) = backend.get(Space::Meta, FORMAT_VERSION_KEY).await? else {
        return Ok(None);
    };
    <[u8; 4]>::try_from(bytes.as_slice())
        .map(|bytes| Some(u32::from_be_bytes(bytes)))
        .map_err(|_| Error::Corrupt(format!("format version in {place} is not 4 bytes")))
}

/// The id of the database, made now (16 random bytes, in hex) if it has
/// none: a database written before ids existed gets one on its next open.
async fn database_id(backend: &dyn Backend) -> Result<String> {
    if let Some(id) = backend.get(Space::Meta, DATABASE_ID_KEY).await? {
        return String::from_utf8(id)
            .map_err(|_| Error::Corrupt("the database id is not text".into()));
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| Error::Storage(format!("cannot make a database id: {error}").into()))?;
    let id = hex::encode(bytes);
    let mut commit = backend::Commit::default();
    commit.check_absent(Space::Meta, DATABASE_ID_KEY);
    commit.put(Space::Meta, DATABASE_ID_KEY, id.clone());
    match backend.commit(commit).await? {
        backend::Outcome::Committed { .. } => Ok(id),
        backend::Outcome::Conflict => Box::pin(database_id(backend)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_of_another_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        store
            .poke(Space::Meta, FORMAT_VERSION_KEY, Some(&7u32.to_be_bytes()))
            .await;
        store.flush().await.unwrap();

        let error = store
            .reopen(dir.path(), StoreOptions::new(1 << 20))
            .await
            .err()
            .unwrap();

        assert!(matches!(
            error,
            Error::FormatVersion {
                found: 7,
                expected: FORMAT_VERSION,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_database_held_by_another_handle_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        // sled takes an flock on its own file descriptor, so a second open
        // is refused even from the same process.
        let error = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .err()
            .unwrap();
        assert!(matches!(error, Error::DatabaseInUse { .. }), "{error}");
    }

    #[tokio::test]
    async fn the_database_id_is_kept_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        let id = store.database_id().to_owned();
        store.flush().await.unwrap();

        let store = store
            .reopen(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();

        assert_eq!(store.database_id(), id);
        assert_eq!(id.len(), 32);
    }
}
