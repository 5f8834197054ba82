//! The store's own threads for work that may be long: filtered scans and
//! counts, which read up to a request's scan budget. They run here rather
//! than on the thread that asked, so that an HTTP worker's event loop stays
//! free for cheap requests while a few expensive ones read; and the pool is
//! small, so that expensive requests share its threads while the rest of
//! the machine serves everyone else.

use std::future::Future;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// A small multi-threaded runtime, started on first use and shared by all
/// clones of a store. Work queued on it waits its turn; its deadline (the
/// request's `ScanBudget`) keeps queued work from running on for a client
/// that has stopped waiting.
pub(super) struct WorkPool {
    threads: usize,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

impl WorkPool {
    /// A pool of `threads` threads (at least one).
    pub(super) fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
            runtime: OnceLock::new(),
        }
    }

    /// Half the cores, at least one: the other half is the HTTP workers'.
    pub(super) fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
    }

    /// Runs `work` on the pool and waits for it.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let runtime = match self.runtime.get() {
            Some(runtime) => runtime,
            None => {
                let built = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(self.threads)
                    .thread_name("tradegraph-scan")
                    // A network backend's calls have deadlines.
                    .enable_time()
                    .build()
                    .map_err(|source| Error::Io {
                        context: "cannot start the store's scan threads".into(),
                        source,
                    })?;
                // Two first uses at once: one runtime is kept, the other
                // shut down without blocking (this may run inside another
                // runtime, where dropping one would panic).
                if let Err(unused) = self.runtime.set(built) {
                    unused.shutdown_background();
                }
                self.runtime.get().ok_or_else(|| {
                    Error::Corrupt("the store's scan threads did not start".into())
                })?
            }
        };
        runtime.spawn(work).await.map_err(|error| {
            Error::Storage(format!("store work on the scan threads failed: {error}").into())
        })?
    }
}

impl Drop for WorkPool {
    /// A runtime may not be dropped where blocking is not allowed (inside
    /// another runtime, as the last store handle can be): let its threads
    /// wind down on their own.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
