//! Group commit: a write is acknowledged only once it is on disk, and
//! concurrent writers share one `flush()`. Each write is counted when its
//! transaction commits; a flush started after that covers it.
//! `flush()` blocks, so it runs on a blocking thread (sled's `flush_async`
//! can deadlock in 0.34: sled #1308, #1412).

use std::sync::atomic::{AtomicU64, Ordering};

use super::Store;
use crate::error::{Error, Result};

/// The bookkeeping of group commit.
pub(super) struct GroupCommit {
    /// Held by the one caller flushing; others wait, then usually find
    /// their write already covered.
    flushing: tokio::sync::Mutex<()>,
    /// Writes committed so far.
    written: AtomicU64,
    /// Writes known to be on disk.
    flushed: AtomicU64,
    /// False only for the crash test's proof that the test can fail:
    /// acknowledge without flushing.
    enabled: bool,
}

impl GroupCommit {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            flushing: tokio::sync::Mutex::new(()),
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            enabled,
        }
    }

    /// Counts a write that has just committed.
    pub(super) fn committed(&self) {
        self.written.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store {
    /// The write generation: how many writes have committed since the store
    /// was opened. Anything read after it was taken is at least as new.
    pub fn generation(&self) -> u64 {
        self.commit.written.load(Ordering::SeqCst)
    }

    /// Returns once every write that committed before this call is on
    /// disk, flushing unless a flush that started later already covered it.
    pub async fn make_durable(&self) -> Result<()> {
        let commit = &self.commit;
        let mine = commit.written.load(Ordering::SeqCst);
        if !commit.enabled {
            return Ok(());
        }
        let _turn = commit.flushing.lock().await;
        if commit.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        // Every write counted up to here has committed, so this flush covers
        // all of them, not just the caller's.
        let covered = commit.written.load(Ordering::SeqCst);
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|error| Error::Storage(Box::new(error)))??;
        commit.flushed.fetch_max(covered, Ordering::SeqCst);
        Ok(())
    }
}
