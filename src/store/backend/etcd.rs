//! The cluster backend: every key space is a key prefix under the
//! deployment's prefix in an etcd cluster, a commit is one etcd
//! transaction, and the change feed is an etcd watch on the prefix.
//!
//! What etcd does not have, this module builds on compare-and-swap:
//! - **Counters.** A commit reads its counters, and its transaction
//!   compares each counter's `mod_revision` with what it read. When only a
//!   counter moved (another writer's increment), the failure branch has
//!   already returned the counters' new values, and the commit is tried
//!   again from them; when one of the caller's checks failed, the commit
//!   is a [`Outcome::Conflict`].
//! - **A revision of this prefix alone.** etcd's revision counts the whole
//!   cluster's writes, other deployments' included. Every commit also puts
//!   the prefix's `revision` key, so its `mod_revision` is the revision of
//!   the latest commit under the prefix: [`Backend::revision`] reads it
//!   (linearizably), and the watch knows it has delivered every commit up
//!   to a revision once it has delivered that key's change.
//! - **Reverse scans.** etcd sorts a range in reverse only by reading all
//!   of it; a descending scan first narrows the range with counts, which
//!   etcd answers from its in-memory index (`reverse_scan`).
//!
//! Every call has a deadline. Reads are retried with backoff until it,
//! across endpoints (the client balances over every URL given); then the
//! call fails with [`Error::Unavailable`], which clients see as
//! `UNAVAILABLE` (HTTP 503), instead of waiting for a cluster that has
//! lost its quorum. A transaction whose outcome is unknown (the member
//! died mid-request) is retried only when a retry cannot apply it twice
//! (`retry_is_safe`).

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, KeyValue, TxnOp,
    TxnOpResponse, WatchOptions,
};

use super::changes::ChangeLog;
use super::{
    add_to_counter, decode_counter, encode_counter, Backend, Change, Check, Commit, CommitRecord,
    Entry, Exclusive, KeyRange, Outcome, Space, Write,
};
use crate::domain::Direction;
use crate::error::{Error, Result};

/// etcd's default `--max-txn-ops`: the most compares, and the most
/// operations of either branch, one transaction may hold.
pub const MAX_TXN_OPS: usize = 128;

/// etcd's default `--max-request-bytes` (1.5 MiB), less room for the
/// request's framing: the most key and value bytes one request may carry.
pub const MAX_REQUEST_BYTES: usize = 1_500_000;

/// The key, under the prefix, that every commit puts (see the module's
/// doc). Outside every space: no space's name is `revision`.
const REVISION_KEY: &[u8] = b"revision";

/// How many entries one range request returns at most, so that a response
/// of large values stays well under the client's message size limit.
const SCAN_PAGE: usize = 1024;

/// The client's limit on one response's size.
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// How many counts a descending scan makes at most to narrow its range.
const MAX_PROBES: usize = 48;

/// How long the lease of a lock lasts unless kept alive: how long a lock
/// outlives a process that died holding it.
const LOCK_LEASE_SECONDS: i64 = 10;

/// How many bulk-load transactions are in flight at once.
const BULK_IN_FLIGHT: usize = 8;

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// The client URLs of the cluster's members.
    pub endpoints: Vec<String>,
    /// Every key this deployment keeps starts with it.
    pub prefix: String,
    /// TLS: the CA that signed the members' certificates, and optionally
    /// this client's certificate and key (all PEM).
    pub tls: Option<EtcdTls>,
    /// etcd user name and password.
    pub user: Option<(String, String)>,
    /// How long one store call may take, retries included, before it fails
    /// as unavailable.
    pub timeout: Duration,
}

/// TLS settings, as PEM bytes.
#[derive(Debug, Clone)]
pub struct EtcdTls {
    /// The CA certificate the members' certificates are checked against.
    pub ca: Vec<u8>,
    /// This client's certificate and key, for members that require them.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// An etcd cluster, under one key prefix, as a [`Backend`].
pub struct EtcdBackend {
    inner: Arc<Inner>,
    watcher: tokio::task::JoinHandle<()>,
}

/// What the backend and its watch task share.
struct Inner {
    client: Client,
    prefix: Vec<u8>,
    timeout: Duration,
    /// What the watch has delivered.
    feed: ChangeLog,
    /// The highest revision of this prefix that this handle has seen
    /// committed or read: the feed must reach it before it is read.
    seen: AtomicU64,
    /// Linearizable reads of the revision, shared by concurrent callers.
    confirmations: Mutex<Confirmations>,
    /// The most operations of any commit this handle sent.
    largest: AtomicUsize,
    /// The runtime the client was made on, which drives its connections
    /// and where the shared reads run, whichever runtime calls.
    runtime: tokio::runtime::Handle,
}

/// Callers waiting for the next linearizable read of the revision.
#[derive(Default)]
struct Confirmations {
    running: bool,
    waiting: Vec<tokio::sync::oneshot::Sender<std::result::Result<u64, String>>>,
}

impl Drop for EtcdBackend {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl EtcdBackend {
    /// Connects to the cluster and starts following its changes under the
    /// prefix. Fails with [`Error::Unavailable`] when no member answers
    /// within the timeout.
    pub async fn open(options: EtcdOptions) -> Result<Self> {
        let mut connect = ConnectOptions::new()
            .with_connect_timeout(options.timeout)
            .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2))
            .with_keep_alive_while_idle(true)
            .with_require_leader(true);
        if let Some((name, password)) = &options.user {
            connect = connect
                .with_user(name, password)
                .with_auto_token_refresh(true);
        }
        if let Some(tls) = &options.tls {
            let mut config = etcd_client::TlsOptions::new()
                .ca_certificate(etcd_client::Certificate::from_pem(&tls.ca));
            if let Some((certificate, key)) = &tls.identity {
                config = config.identity(etcd_client::Identity::from_pem(certificate, key));
            }
            connect = connect.with_tls(config);
        }
        let client = tokio::time::timeout(
            options.timeout,
            Client::connect(&options.endpoints, Some(connect)),
        )
        .await
        .map_err(|_| unreachable_cluster(&options, "no member answered in time"))?
        .map_err(|error| match is_refusal(&error) {
            true => refused(
                "this client's user and password (--etcd-user, TRADEGRAPH_ETCD_PASSWORD)",
                error,
            ),
            false => unreachable_cluster(&options, &error.to_string()),
        })?;
        let mut inner = Inner {
            client,
            prefix: options.prefix.into_bytes(),
            timeout: options.timeout,
            feed: ChangeLog::new(0),
            seen: AtomicU64::new(0),
            confirmations: Mutex::default(),
            largest: AtomicUsize::new(0),
            runtime: tokio::runtime::Handle::current(),
        };
        let (revision, cluster) = inner.read_revisions().await?;
        inner.feed = ChangeLog::new(revision);
        inner.seen.store(revision, Ordering::SeqCst);
        let inner = Arc::new(inner);
        let watcher = inner.runtime.spawn(follow(inner.clone(), cluster));
        Ok(Self { inner, watcher })
    }
}

impl EtcdBackend {
    /// The most operations of any commit this handle sent: what the tests
    /// hold against [`MAX_TXN_OPS`].
    pub fn largest_commit(&self) -> usize {
        self.inner.largest.load(Ordering::Relaxed)
    }
}

/// The error of a cluster that did not answer a new client; with TLS,
/// what else to look at, since a refused handshake looks the same.
fn unreachable_cluster(options: &EtcdOptions, why: &str) -> Error {
    let tls = match &options.tls {
        Some(_) => " (with TLS, check that the members' certificates are signed by --etcd-ca-file and, if they ask for one, that --etcd-cert-file and --etcd-key-file are given)",
        None => "",
    };
    Error::Unavailable(format!(
        "cannot reach the etcd cluster at {}: {why}{tls}",
        options.endpoints.join(",")
    ))
}

/// What became of a transaction.
enum Sent {
    /// The cluster answered.
    Answered(etcd_client::TxnResponse),
    /// The cluster refused it for what it is (too large, not permitted):
    /// sending it again would not help.
    Refused(etcd_client::Error),
    /// No answer came: it may or may not have applied.
    Unknown(String),
}

impl Inner {
    /// The key of `key` in `space`.
    fn key(&self, space: Space, key: &[u8]) -> Vec<u8> {
        let mut full = self.space_start(space);
        full.extend_from_slice(key);
        full
    }

    /// Where `space`'s keys start: the prefix, the space's name and `/`.
    fn space_start(&self, space: Space) -> Vec<u8> {
        let mut start = Vec::with_capacity(self.prefix.len() + space.name().len() + 1);
        start.extend_from_slice(&self.prefix);
        start.extend_from_slice(space.name().as_bytes());
        start.push(b'/');
        start
    }

    /// Where `space`'s keys end (exclusive): its name followed by the byte
    /// after `/`.
    fn space_end(&self, space: Space) -> Vec<u8> {
        let mut end = self.space_start(space);
        *end.last_mut().expect("a space's start is not empty") = b'/' + 1;
        end
    }

    fn revision_key(&self) -> Vec<u8> {
        [self.prefix.as_slice(), REVISION_KEY].concat()
    }

    /// The etcd keys of `range` in `space`: a start (inclusive) and an end
    /// (exclusive).
    fn etcd_range(&self, space: Space, range: &KeyRange) -> (Vec<u8>, Vec<u8>) {
        let after = |key: &[u8]| {
            let mut next = self.key(space, key);
            next.push(0);
            next
        };
        let start = match &range.lower {
            Bound::Included(key) => self.key(space, key),
            Bound::Excluded(key) => after(key),
            Bound::Unbounded => self.space_start(space),
        };
        let end = match &range.upper {
            Bound::Included(key) => after(key),
            Bound::Excluded(key) => self.key(space, key),
            Bound::Unbounded => self.space_end(space),
        };
        (start, end)
    }

    /// The space and key an etcd key under the prefix names; `None` for the
    /// revision key and for keys of no space this build knows.
    fn split_key<'k>(&self, key: &'k [u8]) -> Option<(Space, &'k [u8])> {
        let rest = key.strip_prefix(self.prefix.as_slice())?;
        let slash = rest.iter().position(|byte| *byte == b'/')?;
        let name = std::str::from_utf8(&rest[..slash]).ok()?;
        let space = Space::ALL
            .into_iter()
            .chain(Space::FORMAT1_INDEXES)
            .find(|space| space.name() == name)?;
        Some((space, &rest[slash + 1..]))
    }

    /// Runs `call` until it succeeds, retrying what may be passing (no
    /// leader, a member gone, a connection reset) with backoff until the
    /// deadline. Only for calls that can safely run twice: reads.
    async fn retrying<T, F, Fut>(&self, what: &str, call: F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, etcd_client::Error>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut pause = Duration::from_millis(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let failure = match tokio::time::timeout(left, call(self.client.clone())).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(error)) if is_refusal(&error) => return Err(refused(what, error)),
                Ok(Err(error)) => error.to_string(),
                Err(_) => "no answer in time".to_owned(),
            };
            if Instant::now() + pause >= deadline {
                return Err(self.unavailable(what, &failure));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    fn unavailable(&self, what: &str, why: &str) -> Error {
        Error::Unavailable(format!(
            "the etcd cluster did not answer {what} within {} ms: {why}",
            self.timeout.as_millis()
        ))
    }

    /// Sends one transaction once.
    async fn send(&self, txn: etcd_client::Txn, left: Duration) -> Sent {
        let mut kv = self.client.kv_client();
        match tokio::time::timeout(left, kv.txn(txn)).await {
            Ok(Ok(answer)) => Sent::Answered(answer),
            Ok(Err(error)) if is_refusal(&error) => Sent::Refused(error),
            Ok(Err(error)) => Sent::Unknown(error.to_string()),
            Err(_) => Sent::Unknown("no answer in time".to_owned()),
        }
    }

    /// The revision of the latest commit under the prefix, read
    /// linearizably (through the leader, after every acknowledged write).
    async fn read_revision(&self) -> Result<u64> {
        Ok(self.read_revisions().await?.0)
    }

    /// The revision of this prefix and the cluster's, read together: a
    /// watch of the prefix starts after the cluster's, which etcd keeps
    /// even when the prefix's last commit was compacted away long ago.
    async fn read_revisions(&self) -> Result<(u64, u64)> {
        let key = self.revision_key();
        let answer = self
            .retrying("a read of the revision", |client| {
                let key = key.clone();
                async move { client.kv_client().get(key, None).await }
            })
            .await?;
        let prefix = answer
            .kvs()
            .first()
            .map_or(0, |kv| to_revision(kv.mod_revision()));
        let cluster = to_revision(answer.header().map_or(0, |header| header.revision()));
        Ok((prefix, cluster.max(prefix)))
    }

    /// Notes a revision this handle has seen committed or read.
    fn saw(&self, revision: u64) {
        self.seen.fetch_max(revision, Ordering::SeqCst);
    }

    /// Reads the revision for every caller waiting when the read starts,
    /// then again for those who came during it, until none is left.
    async fn confirm(self: Arc<Self>) {
        loop {
            let waiting = {
                let mut confirmations = lock(&self.confirmations);
                if confirmations.waiting.is_empty() {
                    confirmations.running = false;
                    return;
                }
                std::mem::take(&mut confirmations.waiting)
            };
            let read = self
                .read_revision()
                .await
                .map_err(|error| error.to_string());
            if let Ok(revision) = read {
                self.saw(revision);
            }
            for waiter in waiting {
                let _ = waiter.send(read.clone());
            }
        }
    }

    /// Reads each counter of `keys`: its value and `mod_revision`.
    async fn read_counters(&self, keys: &[Vec<u8>]) -> Result<Vec<(u64, i64)>> {
        let answers = self.get_all(keys).await?;
        answers.iter().map(|kv| counter_of(kv.as_ref())).collect()
    }

    /// Sends a transaction of no compares until it is answered, retrying as
    /// [`Inner::retrying`] does: only for operations that can safely apply
    /// twice (reads, and puts and deletes that need no check).
    async fn unconditional(&self, what: &str, ops: &[TxnOp]) -> Result<etcd_client::TxnResponse> {
        self.retrying(what, |client| {
            let ops = ops.to_vec();
            async move {
                client
                    .kv_client()
                    .txn(etcd_client::Txn::new().and_then(ops))
                    .await
            }
        })
        .await
    }

    /// The key-values at `keys` (full etcd keys), read at one revision per
    /// transaction of at most [`MAX_TXN_OPS`] reads.
    async fn get_all(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<KeyValue>>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(MAX_TXN_OPS) {
            let reads: Vec<TxnOp> = chunk
                .iter()
                .map(|key| TxnOp::get(key.clone(), None))
                .collect();
            let answer = self.unconditional("a read", &reads).await?;
            for response in answer.op_responses() {
                found.push(read_of(response)?);
            }
        }
        Ok(found)
    }

    /// Up to `limit` entries of `[start, end)`, ascending.
    async fn scan_up(&self, start: Vec<u8>, end: &[u8], limit: usize) -> Result<Vec<KeyValue>> {
        let mut found = Vec::new();
        let mut start = start;
        while found.len() < limit && start.as_slice() < end {
            let page = (limit - found.len()).min(SCAN_PAGE);
            let mut answer = self
                .retrying("a scan", |client| {
                    let (start, end) = (start.clone(), end.to_vec());
                    async move {
                        client
                            .kv_client()
                            .max_decoding_message_size(MAX_RESPONSE_BYTES)
                            .get(
                                start,
                                Some(GetOptions::new().with_range(end).with_limit(page as i64)),
                            )
                            .await
                    }
                })
                .await?;
            let more = answer.more();
            let kvs = answer.take_kvs();
            let Some(last) = kvs.last() else { break };
            start = [last.key(), &[0]].concat();
            found.extend(kvs);
            if !more {
                break;
            }
        }
        Ok(found)
    }

    /// How many keys `[start, end)` holds, from etcd's index alone.
    async fn count(&self, start: &[u8], end: &[u8]) -> Result<u64> {
        let answer = self
            .retrying("a count", |client| {
                let (start, end) = (start.to_vec(), end.to_vec());
                async move {
                    client
                        .kv_client()
                        .get(
                            start,
                            Some(GetOptions::new().with_range(end).with_count_only()),
                        )
                        .await
                }
            })
            .await?;
        Ok(answer.count().max(0) as u64)
    }

    /// The last `limit` entries of `[start, end)`, highest first. etcd
    /// answers a descending range by reading and sorting all of it, so the
    /// range is first narrowed, by counts of its upper part, to one whose
    /// tail holds at least `limit` keys and not many more; only that part
    /// is read, ascending.
    async fn reverse_scan(
        &self,
        start: Vec<u8>,
        end: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<KeyValue>> {
        // A part of up to this many keys is read whole.
        let enough = (limit.saturating_mul(4)).max(256);
        let (mut low, mut high) = (start.clone(), end.clone());
        // The range's lowest start known to hold at least `limit` keys
        // up to `end` (`start` itself, if the whole range has fewer).
        let mut from = start;
        if self.count(&low, &end).await? as usize > enough {
            // Bisect the key space between `low` and `high` for a start
            // whose tail holds between `limit` and `enough` keys; keys
            // far apart in a long key space stop the search early, and the
            // larger part found so far is read.
            for _ in 0..MAX_PROBES {
                let Some(middle) = midpoint(&low, &high) else {
                    break;
                };
                let n = self.count(&middle, &end).await? as usize;
                if n < limit {
                    high = middle;
                } else {
                    from = middle.clone();
                    if n <= enough {
                        break;
                    }
                    low = middle;
                }
            }
        }
        let mut part = self.scan_up(from.clone(), &end, usize::MAX).await?;
        let keep = part.len().saturating_sub(limit);
        part.drain(..keep);
        part.reverse();
        Ok(part)
    }

    /// Applies `commit`: see the module's doc for counters and retries.
    async fn commit(&self, commit: &Commit) -> Result<Outcome> {
        let deadline = Instant::now() + self.timeout;
        let counter_keys: Vec<Vec<u8>> = commit
            .increments
            .iter()
            .map(|each| self.key(each.space, &each.key))
            .collect();
        let mut counters = self.read_counters(&counter_keys).await?;
        let mut pause = Duration::from_millis(1);
        loop {
            let txn = self.transaction(commit, &counter_keys, &counters);
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = match self.send(txn, left).await {
                Sent::Answered(answer) => answer,
                Sent::Refused(error) => return Err(refused("a commit", error)),
                Sent::Unknown(why) => {
                    if !retry_is_safe(commit) || Instant::now() + pause >= deadline {
                        return Err(self.unavailable("a commit (its outcome is unknown)", &why));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(250));
                    counters = self.read_counters(&counter_keys).await?;
                    continue;
                }
            };
            if answer.succeeded() {
                let revision = revision_of(&answer);
                self.saw(revision);
                let values = commit
                    .increments
                    .iter()
                    .zip(&counters)
                    .map(|(each, (value, _))| add_to_counter(*value, each.delta))
                    .collect();
                return Ok(Outcome::Committed {
                    revision,
                    counters: values,
                });
            }
            // The failure branch read every checked key, then every counter.
            let mut reads = answer.op_responses().into_iter().map(read_of);
            for check in &commit.checks {
                let found = reads.next().transpose()?.flatten();
                let holds = match check {
                    Check::Absent(..) => found.is_none(),
                    Check::Holds(_, _, value) => found.is_some_and(|kv| kv.value() == value),
                };
                if !holds {
                    return Ok(Outcome::Conflict);
                }
            }
            // Only counters moved: try again from their new values.
            counters = reads
                .map(|read| counter_of(read?.as_ref()))
                .collect::<Result<_>>()?;
            if Instant::now() >= deadline {
                return Err(self.unavailable("a commit", "its counters kept changing"));
            }
        }
    }

    /// How many operations the transaction of `commit` holds in its
    /// largest part (its compares and failure branch: one per check and
    /// per counter; its success branch: one per write and per counter, and
    /// the revision key), and about how many bytes its request carries.
    fn size_of(&self, commit: &Commit) -> (usize, usize) {
        // The length of `space_start(space)` and the key, without making it.
        let full =
            |space: Space, key: &[u8]| self.prefix.len() + space.name().len() + 1 + key.len();
        let checks: usize = commit
            .checks
            .iter()
            .map(|check| match check {
                // Compared, and read again by the failure branch.
                Check::Absent(space, key) => 2 * full(*space, key),
                Check::Holds(space, key, value) => 2 * full(*space, key) + value.len(),
            })
            .sum();
        let writes: usize = commit
            .writes
            .iter()
            .map(|write| match write {
                Write::Put(space, key, value) => full(*space, key) + value.len(),
                Write::Delete(space, key) => full(*space, key),
            })
            .sum();
        // Compared, put and read again, each with its framing.
        let counters: usize = commit
            .increments
            .iter()
            .map(|each| 3 * full(each.space, &each.key) + 8)
            .sum();
        let n_ops = 2 * commit.checks.len() + commit.writes.len() + 3 * commit.increments.len() + 1;
        let operations = (commit.checks.len() + commit.increments.len())
            .max(commit.writes.len() + commit.increments.len() + 1);
        let bytes = checks + writes + counters + self.revision_key().len() + 16 * n_ops;
        (operations, bytes)
    }

    /// The transaction of `commit` with its counters at `counters`.
    fn transaction(
        &self,
        commit: &Commit,
        counter_keys: &[Vec<u8>],
        counters: &[(u64, i64)],
    ) -> etcd_client::Txn {
        let mut compares = Vec::with_capacity(commit.checks.len() + counters.len());
        let mut failure = Vec::with_capacity(compares.capacity());
        for check in &commit.checks {
            let (Check::Absent(space, key) | Check::Holds(space, key, _)) = check;
            let key = self.key(*space, key);
            compares.push(match check {
                Check::Absent(..) => Compare::version(key.clone(), CompareOp::Equal, 0),
                Check::Holds(_, _, value) => {
                    Compare::value(key.clone(), CompareOp::Equal, value.clone())
                }
            });
            failure.push(TxnOp::get(key, None));
        }
        for (key, (_, revision)) in counter_keys.iter().zip(counters) {
            compares.push(Compare::mod_revision(
                key.clone(),
                CompareOp::Equal,
                *revision,
            ));
            failure.push(TxnOp::get(key.clone(), None));
        }
        let mut success: Vec<TxnOp> = commit
            .writes
            .iter()
            .map(|write| match write {
                Write::Put(space, key, value) => {
                    TxnOp::put(self.key(*space, key), value.clone(), None)
                }
                Write::Delete(space, key) => TxnOp::delete(self.key(*space, key), None),
            })
            .collect();
        for ((each, key), (value, _)) in commit.increments.iter().zip(counter_keys).zip(counters) {
            let value = add_to_counter(*value, each.delta);
            success.push(TxnOp::put(
                key.clone(),
                encode_counter(value).to_vec(),
                None,
            ));
        }
        success.push(TxnOp::put(self.revision_key(), Vec::new(), None));
        etcd_client::Txn::new()
            .when(compares)
            .and_then(success)
            .or_else(failure)
    }

    /// Puts or deletes many keys in transactions that fit etcd's limits,
    /// several in flight at once. Each is safe to send twice. Like sled's
    /// bulk writes, they are no commits: they leave the revision as it is
    /// (but the watch sees them).
    async fn bulk(&self, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};

        let mut batches: Vec<Vec<TxnOp>> = Vec::new();
        let (mut batch, mut bytes) = (Vec::new(), 0);
        for (key, value) in ops {
            let size = key.len() + value.as_ref().map_or(0, Vec::len) + 16;
            if batch.len() == MAX_TXN_OPS || bytes + size > MAX_REQUEST_BYTES / 2 {
                batches.push(std::mem::take(&mut batch));
                bytes = 0;
            }
            bytes += size;
            batch.push(match value {
                Some(value) => TxnOp::put(key, value, None),
                None => TxnOp::delete(key, None),
            });
        }
        batches.push(batch);
        stream::iter(batches)
            .map(|batch| async move {
                let answer = self.unconditional("a bulk write", &batch).await?;
                self.saw(revision_of(&answer));
                Ok::<_, Error>(())
            })
            .buffer_unordered(BULK_IN_FLIGHT)
            .try_collect()
            .await
    }
}

/// Whether sending `commit` again, after an attempt whose outcome is
/// unknown, cannot apply it twice. Puts and deletes alone can: applying
/// them again leaves the same keys. Increments cannot, unless a check
/// fails once the commit has applied (a key checked absent that it puts,
/// or checked to hold bytes that it changes): then an applied first
/// attempt makes the retry a conflict, and the caller reads what it did.
fn retry_is_safe(commit: &Commit) -> bool {
    commit.increments.is_empty()
        || commit.checks.iter().any(|check| {
            commit.writes.iter().any(|write| match (check, write) {
                (Check::Absent(space, key), Write::Put(put_space, put_key, _)) => {
                    space == put_space && key == put_key
                }
                (Check::Holds(space, key, held), Write::Put(put_space, put_key, value)) => {
                    space == put_space && key == put_key && held != value
                }
                (Check::Holds(space, key, _), Write::Delete(deleted_space, deleted_key)) => {
                    space == deleted_space && key == deleted_key
                }
                (Check::Absent(..), Write::Delete(..)) => false,
            })
        })
}

/// Whether etcd refused a request for what it is, so that sending it again
/// would not help.
fn is_refusal(error: &etcd_client::Error) -> bool {
    use tonic::Code;
    match error {
        etcd_client::Error::GRpcStatus(status) => matches!(
            status.code(),
            Code::InvalidArgument
                | Code::PermissionDenied
                | Code::Unauthenticated
                | Code::FailedPrecondition
                | Code::OutOfRange
                | Code::ResourceExhausted
        ),
        etcd_client::Error::InvalidArgs(_) | etcd_client::Error::InvalidUri(_) => true,
        _ => false,
    }
}

/// An error for a request etcd refused. Running out of space (etcd's
/// quota) makes the store unavailable for writes until an operator acts,
/// so it is reported as such; the rest are this build's mistakes, or its
/// configuration's (a wrong user or password).
fn refused(what: &str, error: etcd_client::Error) -> Error {
    if let etcd_client::Error::GRpcStatus(status) = &error {
        if status.code() == tonic::Code::ResourceExhausted {
            return Error::Unavailable(format!(
                "the etcd cluster refused {what}: {} (raise its --quota-backend-bytes, or compact and defragment it)",
                status.message()
            ));
        }
    }
    Error::Storage(format!("etcd refused {what}: {error}").into())
}

/// etcd's revisions are positive `i64`s.
fn to_revision(revision: i64) -> u64 {
    revision.max(0) as u64
}

/// The revision a transaction was answered at: a write's own revision.
fn revision_of(answer: &etcd_client::TxnResponse) -> u64 {
    to_revision(answer.header().map_or(0, |header| header.revision()))
}

/// The key-value one read of a transaction found, if any.
fn read_of(response: TxnOpResponse) -> Result<Option<KeyValue>> {
    match response {
        TxnOpResponse::Get(mut got) => Ok(got.take_kvs().into_iter().next()),
        _ => Err(Error::Storage("etcd answered a read with a write".into())),
    }
}

/// A counter as read: its value and its `mod_revision` (0 for both when
/// absent, which a compare of `mod_revision` with 0 also finds).
fn counter_of(kv: Option<&KeyValue>) -> Result<(u64, i64)> {
    match kv {
        None => Ok((0, 0)),
        Some(kv) => Ok((decode_counter(Some(kv.value()))?, kv.mod_revision())),
    }
}

/// A key strictly between `low` and `high` (`low < high`), or `None` when
/// there is none worth probing. Both are read as fractions in base 256.
fn midpoint(low: &[u8], high: &[u8]) -> Option<Vec<u8>> {
    let length = low.len().max(high.len()) + 1;
    let digits = |key: &[u8]| {
        let mut digits = key.to_vec();
        digits.resize(length, 0);
        digits
    };
    let (low_digits, high_digits) = (digits(low), digits(high));
    // (low + high) / 2, digit by digit from the most significant.
    let mut sum = vec![0u16; length];
    let mut carry = 0u16;
    for place in (0..length).rev() {
        let total = u16::from(low_digits[place]) + u16::from(high_digits[place]) + carry;
        sum[place] = total & 0xff;
        carry = total >> 8;
    }
    let mut middle = Vec::with_capacity(length);
    let mut rest = carry;
    for digit in sum {
        let value = (rest << 8) | digit;
        middle.push((value / 2) as u8);
        rest = value % 2;
    }
    while middle.last() == Some(&0) {
        middle.pop();
    }
    (middle.as_slice() > low && middle.as_slice() < high).then_some(middle)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Follows every change under the prefix from `revision` on, into the
/// feed: one record per etcd revision. Reconnects after a failure from
/// where it stopped; when that revision has been compacted away, the feed
/// starts again at the current revision, and readers further behind
/// derive what they hold again (`changes` answers `None`).
async fn follow(inner: Arc<Inner>, mut revision: u64) {
    let mut pause = Duration::from_millis(50);
    loop {
        match watch_from(&inner, revision).await {
            Ok(Followed::Compacted) => match inner.read_revisions().await {
                Ok((current, cluster)) => {
                    tracing::warn!(
                        after = revision,
                        current,
                        "the etcd change feed was compacted past this server's place; caches are rebuilt"
                    );
                    inner.feed.reset(current);
                    revision = cluster;
                }
                Err(error) => tracing::warn!(%error, "cannot read the revision after a compaction"),
            },
            Ok(Followed::Ended(reached)) => {
                revision = reached;
                pause = Duration::from_millis(50);
            }
            Err((reached, error)) => {
                if reached > revision {
                    pause = Duration::from_millis(50);
                }
                revision = reached;
                tracing::warn!(%error, revision, "the etcd watch failed; resuming");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// How a watch ended.
enum Followed {
    /// Its start had been compacted away.
    Compacted,
    /// The cluster closed it, after `revision`.
    Ended(u64),
}

/// Watches from after `revision`, recording each revision's changes.
async fn watch_from(
    inner: &Inner,
    mut revision: u64,
) -> std::result::Result<Followed, (u64, String)> {
    let options = WatchOptions::new()
        .with_prefix()
        .with_prev_key()
        .with_start_revision(revision as i64 + 1);
    let mut stream = inner
        .client
        .watch_client()
        .max_decoding_message_size(MAX_RESPONSE_BYTES)
        .watch(inner.prefix.clone(), Some(options))
        .await
        .map_err(|error| (revision, error.to_string()))?;
    loop {
        let message = stream
            .message()
            .await
            .map_err(|error| (revision, error.to_string()))?;
        let Some(response) = message else {
            return Ok(Followed::Ended(revision));
        };
        if response.compact_revision() > 0 {
            return Ok(Followed::Compacted);
        }
        if response.canceled() {
            return Err((
                revision,
                format!("watch canceled: {}", response.cancel_reason()),
            ));
        }
        let mut record: Option<CommitRecord> = None;
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let at = to_revision(kv.mod_revision());
            if record.as_ref().is_some_and(|record| record.revision != at) {
                inner.feed.append(record.take().expect("checked"));
            }
            let record = record.get_or_insert_with(|| CommitRecord {
                revision: at,
                changes: Vec::new(),
            });
            if let Some((space, key)) = inner.split_key(kv.key()) {
                let put = event.event_type() == EventType::Put;
                record.changes.push(Change {
                    space,
                    key: key.to_vec(),
                    value: put.then(|| kv.value().to_vec()),
                    previous: event
                        .prev_kv()
                        .filter(|_| !put)
                        .map(|old| old.value().to_vec()),
                });
            }
        }
        if let Some(record) = record {
            revision = record.revision;
            inner.feed.append(record);
        }
    }
}

#[async_trait::async_trait]
impl Backend for EtcdBackend {
    async fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = self.inner.key(space, key);
        let answer = self
            .inner
            .retrying("a read", |client| {
                let key = key.clone();
                async move { client.kv_client().get(key, None).await }
            })
            .await?;
        Ok(answer.kvs().first().map(|kv| kv.value().to_vec()))
    }

    async fn get_many(&self, space: Space, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|key| self.inner.key(space, key)).collect();
        let found = self.inner.get_all(&keys).await?;
        Ok(found
            .into_iter()
            .map(|kv| kv.map(|kv| kv.value().to_vec()))
            .collect())
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
        let (start, end) = self.inner.etcd_range(space, range);
        if start >= end {
            return Ok(Vec::new());
        }
        let found = match direction {
            Direction::Ascending => self.inner.scan_up(start, &end, limit).await?,
            Direction::Descending => self.inner.reverse_scan(start, end, limit).await?,
        };
        let skip = self.inner.space_start(space).len();
        Ok(found
            .into_iter()
            .map(|kv| {
                let (key, value) = kv.into_key_value();
                (key[skip..].to_vec(), value)
            })
            .collect())
    }

    async fn commit(&self, commit: Commit) -> Result<Outcome> {
        commit.validate()?;
        let (operations, bytes) = self.inner.size_of(&commit);
        let too_large = |measure, used, allowed| {
            Err(Error::CommitTooLarge {
                measure,
                used,
                allowed,
            })
        };
        if operations > MAX_TXN_OPS {
            return too_large("operations", operations, MAX_TXN_OPS);
        }
        if bytes > MAX_REQUEST_BYTES {
            return too_large("request bytes", bytes, MAX_REQUEST_BYTES);
        }
        self.inner.largest.fetch_max(operations, Ordering::Relaxed);
        self.inner.commit(&commit).await
    }

    async fn allocate(&self, space: Space, key: &[u8], n: u64) -> Result<u64> {
        let key = self.inner.key(space, key);
        loop {
            let (stored, revision) = self.inner.read_counters(std::slice::from_ref(&key)).await?[0];
            let first = stored.max(1);
            let next = first.checked_add(n).ok_or_else(|| {
                Error::Corrupt(format!(
                    "allocating {n} ids from {first} would pass the last id"
                ))
            })?;
            let txn = etcd_client::Txn::new()
                .when([Compare::mod_revision(
                    key.clone(),
                    CompareOp::Equal,
                    revision,
                )])
                .and_then([TxnOp::put(key.clone(), encode_counter(next).to_vec(), None)]);
            // An unknown outcome is read again: an allocation that applied
            // only skips its ids, which ids may.
            match self.inner.send(txn, self.inner.timeout).await {
                Sent::Answered(answer) if answer.succeeded() => {
                    self.inner.saw(revision_of(&answer));
                    return Ok(first);
                }
                Sent::Answered(_) => {}
                Sent::Refused(error) => return Err(refused("an id allocation", error)),
                Sent::Unknown(why) => {
                    tracing::debug!(
                        why,
                        "an id allocation's outcome is unknown; allocating again"
                    )
                }
            }
        }
    }

    async fn revision(&self) -> Result<u64> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let start = {
            let mut confirmations = lock(&self.inner.confirmations);
            confirmations.waiting.push(sender);
            !std::mem::replace(&mut confirmations.running, true)
        };
        if start {
            self.inner.runtime.spawn(self.inner.clone().confirm());
        }
        match receiver.await {
            Ok(read) => read.map_err(Error::Unavailable),
            Err(_) => Err(Error::Unavailable("the revision read was dropped".into())),
        }
    }

    async fn changes(&self, after: u64) -> Result<Option<Vec<Arc<CommitRecord>>>> {
        let target = self.inner.seen.load(Ordering::SeqCst);
        let mut reached = self.inner.feed.follow();
        let waited = tokio::time::timeout(
            self.inner.timeout,
            reached.wait_for(|reached| *reached >= target),
        )
        .await;
        if !matches!(waited, Ok(Ok(_))) {
            return Err(Error::Unavailable(format!(
                "the etcd change feed did not reach revision {target} within {} ms",
                self.inner.timeout.as_millis()
            )));
        }
        Ok(self.inner.feed.since(after))
    }

    fn follow_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.feed.follow()
    }

    async fn bulk_load(&self, entries: Vec<(Space, Vec<Entry>)>) -> Result<()> {
        let ops = entries
            .into_iter()
            .flat_map(|(space, entries)| {
                entries
                    .into_iter()
                    .map(move |(key, value)| (self.inner.key(space, &key), Some(value)))
            })
            .collect();
        self.inner.bulk(ops).await
    }

    async fn bulk_remove(&self, keys: Vec<(Space, Vec<Vec<u8>>)>) -> Result<()> {
        let ops = keys
            .into_iter()
            .flat_map(|(space, keys)| {
                keys.into_iter()
                    .map(move |key| (self.inner.key(space, &key), None))
            })
            .collect();
        self.inner.bulk(ops).await
    }

    async fn clear(&self, space: Space) -> Result<()> {
        let (start, end) = (self.inner.space_start(space), self.inner.space_end(space));
        let ops = [
            TxnOp::delete(
                start,
                Some(etcd_client::DeleteOptions::new().with_range(end)),
            ),
            TxnOp::put(self.inner.revision_key(), Vec::new(), None),
        ];
        let answer = self.inner.unconditional("clearing a space", &ops).await?;
        self.inner.saw(revision_of(&answer));
        Ok(())
    }

    async fn make_durable(&self) -> Result<()> {
        // etcd answers a write once a quorum of members has it on disk.
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn size_on_disk(&self) -> Result<Option<u64>> {
        // The cluster's size is every deployment's, not this prefix's.
        Ok(None)
    }

    async fn exclusive(&self, name: &str) -> Result<Exclusive> {
        // An etcd lock on a lease this process keeps alive: if it dies, the
        // lease expires and the lock with it.
        let inner = &self.inner;
        let lease = inner
            .retrying("a lease", |client| async move {
                client.lease_client().grant(LOCK_LEASE_SECONDS, None).await
            })
            .await?
            .id();
        let (mut keeper, mut answers) = inner
            .retrying("a lease keep-alive", |client| async move {
                client.lease_client().keep_alive(lease).await
            })
            .await?;
        let keep_alive = inner.runtime.spawn(async move {
            let period = Duration::from_secs(LOCK_LEASE_SECONDS as u64 / 3);
            loop {
                if keeper.keep_alive().await.is_err() || answers.message().await.is_err() {
                    tracing::warn!("cannot keep the lock's lease alive; retrying");
                }
                tokio::time::sleep(period).await;
            }
        });
        let name = [inner.prefix.as_slice(), b"locks/", name.as_bytes()].concat();
        // No deadline: the holder may be seeding a large store.
        let key = loop {
            let options = etcd_client::LockOptions::new().with_lease(lease);
            match inner
                .client
                .lock_client()
                .lock(name.clone(), Some(options))
                .await
            {
                Ok(locked) => break locked.key().to_vec(),
                Err(error) if is_refusal(&error) => {
                    keep_alive.abort();
                    return Err(refused("a lock", error));
                }
                Err(error) => {
                    tracing::warn!(%error, "waiting for an etcd lock; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
        let client = inner.client.clone();
        Ok(Exclusive::released_by(async move {
            keep_alive.abort();
            let unlocked = client.lock_client().unlock(key).await;
            // Revoking the lease releases the lock too, should unlocking fail.
            let revoked = client.lease_client().revoke(lease).await;
            unlocked.and(revoked).map(|_| ()).map_err(|error| {
                Error::Unavailable(format!("cannot release an etcd lock: {error}"))
            })
        }))
    }
}

/// Options for a test's own key prefix in the cluster that
/// `TRADEGRAPH_TEST_ETCD` names (`tests/etcd.sh` starts one and sets it).
#[cfg(test)]
pub(crate) fn test_options() -> EtcdOptions {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let endpoints = std::env::var("TRADEGRAPH_TEST_ETCD").expect(
        "the etcd tests need a cluster: run them with tests/etcd.sh, or set TRADEGRAPH_TEST_ETCD to its client URLs",
    );
    let mut nonce = [0u8; 4];
    getrandom::fill(&mut nonce).expect("random bytes");
    EtcdOptions {
        endpoints: endpoints.split(',').map(str::to_owned).collect(),
        prefix: format!(
            "test/{}-{}-{}/",
            std::process::id(),
            hex::encode(nonce),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ),
        tls: None,
        user: None,
        timeout: Duration::from_secs(5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_midpoint_lies_strictly_between() {
        assert_eq!(midpoint(b"a", b"c"), Some(b"b".to_vec()));
        let middle = midpoint(b"a", b"b").unwrap();
        assert!(middle.as_slice() > b"a".as_slice() && middle.as_slice() < b"b".as_slice());
        assert_eq!(middle, vec![b'a', 0x80]);
        assert_eq!(midpoint(b"a", b"a\0"), None);
        let wide = midpoint(&[0x00], &[0xff, 0xff]).unwrap();
        assert_eq!(wide, vec![0x7f, 0xff, 0x80]);
    }

    #[test]
    fn only_commits_a_second_attempt_cannot_apply_twice_are_retried() {
        let mut blind = Commit::default();
        blind.put(Space::Meta, b"seeded", b"");
        assert!(retry_is_safe(&blind));

        let mut counted = Commit::default();
        counted.put(Space::Shipments, b"1", b"v1");
        counted.increment(Space::ShipmentCounts, b"all", 1);
        assert!(!retry_is_safe(&counted));

        let mut guarded = counted.clone();
        guarded.check_absent(Space::Shipments, b"1");
        assert!(retry_is_safe(&guarded));

        let mut unchanged = counted.clone();
        unchanged.check_holds(Space::Shipments, b"1", Some(b"v1".to_vec()));
        assert!(!retry_is_safe(&unchanged));

        let mut deleted = Commit::default();
        deleted.check_holds(Space::Shipments, b"1", Some(b"v1".to_vec()));
        deleted.delete(Space::Shipments, b"1");
        deleted.increment(Space::ShipmentCounts, b"all", -1);
        assert!(retry_is_safe(&deleted));
    }

    /// Options for the member on TLS, with client certificates and users,
    /// that tests/etcd.sh starts (`etcd_start_secure`): its CA, the client
    /// certificate and the root user, under a prefix of the test's own.
    fn secure_options() -> EtcdOptions {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is unset: run the etcd tests with tests/etcd.sh, which starts the secure member")
            })
        };
        let dir = std::path::PathBuf::from(var("TRADEGRAPH_TEST_ETCD_SECURE_DIR"));
        let read = |file: &str| std::fs::read(dir.join(file)).unwrap();
        EtcdOptions {
            endpoints: vec![var("TRADEGRAPH_TEST_ETCD_SECURE")],
            tls: Some(EtcdTls {
                ca: read("ca.pem"),
                identity: Some((read("client.pem"), read("client-key.pem"))),
            }),
            user: Some((
                "root".to_owned(),
                var("TRADEGRAPH_TEST_ETCD_SECURE_PASSWORD"),
            )),
            ..test_options()
        }
    }

    #[tokio::test]
    async fn a_member_on_tls_with_client_certificates_and_users_takes_all_three() {
        let backend = EtcdBackend::open(secure_options()).await.unwrap();
        let mut commit = Commit::default();
        commit.put(Space::Routes, b"k", b"v");

        let outcome = backend.commit(commit).await.unwrap();

        let Outcome::Committed { revision, .. } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            backend.get(Space::Routes, b"k").await.unwrap(),
            Some(b"v".to_vec())
        );
        assert_eq!(backend.revision().await.unwrap(), revision);
    }

    #[tokio::test]
    async fn a_wrong_password_no_user_or_no_client_certificate_is_refused() {
        let secure = secure_options();
        let tls = secure.tls.clone().unwrap();
        let cases = [
            EtcdOptions {
                user: Some(("root".to_owned(), "not-the-password".to_owned())),
                ..secure.clone()
            },
            EtcdOptions {
                user: None,
                ..secure.clone()
            },
            EtcdOptions {
                tls: Some(EtcdTls {
                    identity: None,
                    ..tls
                }),
                ..secure.clone()
            },
        ];
        let mut refusals = Vec::new();
        for options in cases {
            refusals.push(EtcdBackend::open(options).await.err().unwrap().to_string());
        }

        assert_eq!(
            refusals[0],
            r#"storage error: etcd refused this client's user and password (--etcd-user, TRADEGRAPH_ETCD_PASSWORD): grpc request error: code: 'Client specified an invalid argument', message: "etcdserver: authentication failed, invalid user ID or password""#
        );
        assert_eq!(
            refusals[1],
            r#"storage error: etcd refused a read of the revision: grpc request error: code: 'The caller does not have permission to execute the specified operation', message: "etcdserver: permission denied""#
        );
        // How the refused handshake shows varies (an alert, or the
        // connection closed); what the message says around it does not.
        let unreachable = format!(
            "the store is unavailable: cannot reach the etcd cluster at {}: ",
            secure.endpoints[0]
        );
        assert!(refusals[2].starts_with(&unreachable), "{}", refusals[2]);
        assert!(
            refusals[2].ends_with(" (with TLS, check that the members' certificates are signed by --etcd-ca-file and, if they ask for one, that --etcd-cert-file and --etcd-key-file are given)"),
            "{}",
            refusals[2]
        );
    }
}
