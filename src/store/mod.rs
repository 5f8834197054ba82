//! The embedded database: the only module that knows sled and bincode.
//!
//! One tree per kind of record, an index tree for every relationship and
//! filter a list offers, and counters kept in the same transaction as the
//! records they count. Every read method returns domain values and counts
//! as one store call (see [`Store::calls`]), which is how tests prove that
//! a nested query costs one call per kind of entity per level.

mod backend;
mod backup;
mod catalog;
mod check;
mod codec;
mod durability;
mod flows;
mod keys;
mod pages;
mod shipments;
mod snapshots;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use catalog::{Catalog, CatalogTree, Counted, RouteQuery, SearchHit};
pub use check::CheckReport;
pub use flows::TradeFlowQuery;
pub use shipments::{ShipmentQuery, ShipmentSource, ShipmentWrite};

use crate::error::{Error, Result};

/// The version of the on-disk layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The key of the stored format version in the `meta` tree.
const FORMAT_VERSION_KEY: &[u8] = b"format_version";

/// The key in the `meta` tree present once a seeding run has completed.
const SEEDED_KEY: &[u8] = b"seeded";

/// A handle to the open database. Cheap to clone; all clones share it.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    trees: Arc<Trees>,
    calls: Arc<AtomicU64>,
    commit: Arc<durability::GroupCommit>,
    snapshots: Arc<snapshots::Snapshots>,
}

/// How to open the database.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// The page cache size in bytes.
    pub cache_bytes: u64,
    /// Whether writes are acknowledged only once on disk. Turning this off
    /// also turns off sled's background flush, so unflushed writes are lost
    /// on a crash for certain: it exists to prove the crash test can fail.
    pub durable: bool,
}

impl StoreOptions {
    /// Durable writes with a cache of `cache_bytes`.
    pub fn new(cache_bytes: u64) -> Self {
        Self {
            cache_bytes,
            durable: true,
        }
    }
}

/// The trees of the database, opened once.
struct Trees {
    meta: sled::Tree,
    national: sled::Tree,
    provinces: sled::Tree,
    partners: sled::Tree,
    hubs: sled::Tree,
    companies: sled::Tree,
    routes: sled::Tree,
    flows: flows::FlowTrees,
    shipments: shipments::ShipmentTrees,
}

/// The error of a transaction: the one its body aborted with, or sled's.
fn from_transaction(error: sled::transaction::TransactionError<Error>) -> Error {
    match error {
        sled::transaction::TransactionError::Abort(error) => error,
        sled::transaction::TransactionError::Storage(error) => error.into(),
    }
}

impl Store {
    /// Opens (or creates) the database in `path`. Fails with
    /// [`Error::DatabaseInUse`] when another process holds it and
    /// [`Error::FormatVersion`] when it was written in another format.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self> {
        let display = path.display().to_string();
        let background_flush = options.durable.then_some(500);
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_bytes)
            .flush_every_ms(background_flush)
            .open()
            .map_err(|error| match error {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    Error::DatabaseInUse {
                        path: display.clone(),
                    }
                }
                other => other.into(),
            })?;
        let open = |name: &str| db.open_tree(name);
        let trees = Trees {
            meta: open("meta")?,
            national: open("national")?,
            provinces: open("provinces")?,
            partners: open("partners")?,
            hubs: open("hubs")?,
            companies: open("companies")?,
            routes: open("routes")?,
            flows: flows::FlowTrees::open(&db)?,
            shipments: shipments::ShipmentTrees::open(&db)?,
        };
        check_format_version(&trees.meta, &display)?;
        Ok(Self {
            db,
            trees: Arc::new(trees),
            calls: Arc::new(AtomicU64::new(0)),
            commit: Arc::new(durability::GroupCommit::new(options.durable)),
            snapshots: Arc::default(),
        })
    }

    /// Closes the database and opens it again, waiting up to ten seconds
    /// for sled's background threads to let go of it. Opening is when sled
    /// 0.34 writes a snapshot of its page table; until the next one, every
    /// open reads the whole log written since the last (a bulk insert of a
    /// million shipments writes about 3 GB of it). Call it on the only
    /// handle: a clone elsewhere keeps the database open.
    pub fn reopen(self, path: &Path, options: StoreOptions) -> Result<Self> {
        drop(self);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open(path, options) {
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

    /// Counts one read call.
    fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a seeding run has completed on this database. A run that
    /// was interrupted leaves this false, so the next start seeds again.
    pub fn is_seeded(&self) -> Result<bool> {
        Ok(self.trees.meta.contains_key(SEEDED_KEY)?)
    }

    /// Records that a seeding run has completed.
    pub fn mark_seeded(&self) -> Result<()> {
        self.trees.meta.insert(SEEDED_KEY, &[])?;
        Ok(())
    }

    /// The bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    /// Writes everything to disk. Blocking: call it from a blocking task.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

/// Stores the format version in a new database, or checks it in an old one.
fn check_format_version(meta: &sled::Tree, path: &str) -> Result<()> {
    match meta.get(FORMAT_VERSION_KEY)? {
        None => {
            meta.insert(FORMAT_VERSION_KEY, &FORMAT_VERSION.to_be_bytes())?;
            Ok(())
        }
        Some(bytes) => {
            let found = <[u8; 4]>::try_from(bytes.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|_| Error::Corrupt(format!("format version in {path} is not 4 bytes")))?;
            if found == FORMAT_VERSION {
                Ok(())
            } else {
                Err(Error::FormatVersion {
                    path: path.to_owned(),
                    found,
                    expected: FORMAT_VERSION,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_of_another_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20)).unwrap();
        store
            .trees
            .meta
            .insert(FORMAT_VERSION_KEY, &7u32.to_be_bytes())
            .unwrap();
        store.flush().unwrap();

        let error = store
            .reopen(dir.path(), StoreOptions::new(1 << 20))
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

    #[test]
    fn a_database_held_by_another_handle_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Store::open(dir.path(), StoreOptions::new(1 << 20)).unwrap();
        // sled takes an flock on its own file descriptor, so a second open
        // is refused even from the same process.
        let error = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .err()
            .unwrap();
        assert!(matches!(error, Error::DatabaseInUse { .. }), "{error}");
    }
}
