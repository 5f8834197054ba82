//! The seam below the key layout: what the store needs of a database, and
//! nothing of how the layout uses it.
//!
//! A backend holds named key spaces of ordered byte keys. It answers point
//! and batched reads and bounded range scans in either direction, applies
//! a commit of checks, writes and counter increments atomically, hands out
//! ids, numbers every commit with a revision, keeps a feed of what each
//! commit wrote, and loads large sorted batches for seeding. Everything
//! above this module (records, indexes, counters, pagination, `check`,
//! backups) is written once against [`Backend`]; everything below it
//! (sled's trees and transactions, group commit) is one backend's concern.
//!
//! The caller's side of a write is always the same: read, build a
//! [`Commit`] whose checks say what the reads found, commit, and on
//! [`Outcome::Conflict`] read again and retry. That shape fits sled's
//! transactions and etcd's compare-and-swap transactions alike.

mod changes;
#[cfg(test)]
pub(super) mod contract;
#[cfg(feature = "etcd")]
pub(crate) mod etcd;
mod sled;

use std::ops::Bound;
use std::sync::Arc;

pub use self::changes::{Change, CommitRecord};
#[cfg(feature = "etcd")]
pub use self::etcd::{EtcdBackend, EtcdOptions, EtcdTls, MAX_REQUEST_BYTES, MAX_TXN_OPS};
pub use self::sled::{SledBackend, SledOptions};

use crate::domain::Direction;
use crate::error::{Error, Result};

/// A named key space: one sled tree, or one key prefix on a network store.
/// Named, not numbered, so that no table of positions can fall out of step
/// with the code that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    /// Bookkeeping: format version, database id, seeded marker, next ids,
    /// event sequence, markers of unfinished runs.
    Meta,
    /// National summaries by year.
    National,
    /// Provinces by code.
    Provinces,
    /// Trade partners by code.
    Partners,
    /// Hubs by code.
    Hubs,
    /// Companies by code.
    Companies,
    /// Freight routes by code.
    Routes,
    /// Trade flows by province, partner and year.
    TradeFlows,
    /// Trade flows by partner, province and year (empty values).
    TradeFlowsByPartner,
    /// Shipments by id.
    Shipments,
    /// Shipment ids by reference.
    ShipmentsByReference,
    /// Shipment counters by index and value.
    ShipmentCounts,
    /// The shipment id each idempotency key created.
    ShipmentIdempotencyKeys,
    /// The index entries of shipments, packed in blocks (see
    /// `store::shipments`).
    ShipmentIndex,
    /// Format 1's index of every shipment, read and emptied only by the
    /// upgrade from format 1 (`store::upgrade`); likewise the seven after it.
    Format1ShipmentsByOrder,
    /// Format 1's index by origin province.
    Format1ShipmentsByOrigin,
    /// Format 1's index by destination partner.
    Format1ShipmentsByPartner,
    /// Format 1's index by route.
    Format1ShipmentsByRoute,
    /// Format 1's index by shipper.
    Format1ShipmentsByShipper,
    /// Format 1's index by hub.
    Format1ShipmentsByHub,
    /// Format 1's index by transport mode.
    Format1ShipmentsByMode,
    /// Format 1's index by whether shipments are synthetic.
    Format1ShipmentsBySynthetic,
}

impl Space {
    /// Every key space of the current layout.
    pub const ALL: [Space; 14] = [
        Space::Meta,
        Space::National,
        Space::Provinces,
        Space::Partners,
        Space::Hubs,
        Space::Companies,
        Space::Routes,
        Space::TradeFlows,
        Space::TradeFlowsByPartner,
        Space::Shipments,
        Space::ShipmentsByReference,
        Space::ShipmentCounts,
        Space::ShipmentIdempotencyKeys,
        Space::ShipmentIndex,
    ];

    /// Format 1's index spaces, which only the upgrade reads.
    pub const FORMAT1_INDEXES: [Space; 8] = [
        Space::Format1ShipmentsByOrder,
        Space::Format1ShipmentsByOrigin,
        Space::Format1ShipmentsByPartner,
        Space::Format1ShipmentsByRoute,
        Space::Format1ShipmentsByShipper,
        Space::Format1ShipmentsByHub,
        Space::Format1ShipmentsByMode,
        Space::Format1ShipmentsBySynthetic,
    ];

    /// The space's name: its sled tree, or its key prefix.
    pub fn name(self) -> &'static str {
        match self {
            Space::Meta => "meta",
            Space::National => "national",
            Space::Provinces => "provinces",
            Space::Partners => "partners",
            Space::Hubs => "hubs",
            Space::Companies => "companies",
            Space::Routes => "routes",
            Space::TradeFlows => "trade_flows",
            Space::TradeFlowsByPartner => "trade_flows_by_partner",
            Space::Shipments => "shipments",
            Space::ShipmentsByReference => "shipments_by_reference",
            Space::ShipmentCounts => "shipment_counts",
            Space::ShipmentIdempotencyKeys => "shipment_idempotency_keys",
            Space::ShipmentIndex => "shipment_index",
            Space::Format1ShipmentsByOrder => "shipments_by_order",
            Space::Format1ShipmentsByOrigin => "shipments_by_origin",
            Space::Format1ShipmentsByPartner => "shipments_by_partner",
            Space::Format1ShipmentsByRoute => "shipments_by_route",
            Space::Format1ShipmentsByShipper => "shipments_by_shipper",
            Space::Format1ShipmentsByHub => "shipments_by_hub",
            Space::Format1ShipmentsByMode => "shipments_by_mode",
            Space::Format1ShipmentsBySynthetic => "shipments_by_synthetic",
        }
    }

    /// The space's place in [`Space::ALL`], if it is of the current layout.
    fn index(self) -> Option<usize> {
        let place = self as usize;
        (place < Space::ALL.len()).then_some(place)
    }
}

/// The keys of a scan: from `lower` to `upper`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// The low end.
    pub lower: Bound<Vec<u8>>,
    /// The high end.
    pub upper: Bound<Vec<u8>>,
}

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        Self {
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }

    /// The keys within these bounds.
    pub fn new(lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Self {
        Self { lower, upper }
    }

    /// Whether no key can lie within the range (sled and `BTreeMap` panic
    /// on such a range, and a network store would be asked for nothing).
    pub fn is_empty(&self) -> bool {
        use Bound::{Excluded, Included};
        match (&self.lower, &self.upper) {
            (Included(low), Included(high)) => low > high,
            (Included(low) | Excluded(low), Included(high) | Excluded(high)) => low >= high,
            _ => false,
        }
    }
}

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A condition a commit holds only if it still holds when it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The key holds nothing.
    Absent(Space, Vec<u8>),
    /// The key holds exactly these bytes.
    Holds(Space, Vec<u8>, Vec<u8>),
}

/// A write of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Sets the key to the value.
    Put(Space, Vec<u8>, Vec<u8>),
    /// Removes the key.
    Delete(Space, Vec<u8>),
}

/// A counter raised or lowered by a commit. Counters are 8-byte
/// big-endian numbers, absent meaning 0, and never go below 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    /// Where the counter is.
    pub space: Space,
    /// Its key.
    pub key: Vec<u8>,
    /// By how much.
    pub delta: i64,
}

/// Checks, writes and counter increments applied together or not at all.
/// A commit names each key at most once among its writes and increments,
/// and checks each key at most once (a network store's transaction allows
/// one operation per key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// What must still hold.
    pub checks: Vec<Check>,
    /// What to write.
    pub writes: Vec<Write>,
    /// Which counters to change.
    pub increments: Vec<Increment>,
}

impl Commit {
    /// Requires `key` to hold nothing.
    pub fn check_absent(&mut self, space: Space, key: impl Into<Vec<u8>>) {
        self.checks.push(Check::Absent(space, key.into()));
    }

    /// Requires `key` to hold exactly `value`, or nothing when `None`.
    pub fn check_holds(&mut self, space: Space, key: impl Into<Vec<u8>>, value: Option<Vec<u8>>) {
        self.checks.push(match value {
            Some(value) => Check::Holds(space, key.into(), value),
            None => Check::Absent(space, key.into()),
        });
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, space: Space, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes
            .push(Write::Put(space, key.into(), value.into()));
    }

    /// Removes `key`.
    pub fn delete(&mut self, space: Space, key: impl Into<Vec<u8>>) {
        self.writes.push(Write::Delete(space, key.into()));
    }

    /// Adds `delta` to the counter at `key`, adding to an increment of the
    /// same counter this commit already has.
    pub fn increment(&mut self, space: Space, key: impl Into<Vec<u8>>, delta: i64) {
        let key = key.into();
        match self
            .increments
            .iter_mut()
            .find(|each| each.space == space && each.key == key)
        {
            Some(each) => each.delta += delta,
            None => self.increments.push(Increment { space, key, delta }),
        }
    }

    /// Whether the commit does nothing at all.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.writes.is_empty() && self.increments.is_empty()
    }

    /// Refuses a commit that names a key twice: a bug in the layout, never
    /// a client's doing.
    pub(super) fn validate(&self) -> Result<()> {
        let mut written = std::collections::HashSet::new();
        let keys = self
            .writes
            .iter()
            .map(|write| match write {
                Write::Put(space, key, _) | Write::Delete(space, key) => (*space, key),
            })
            .chain(self.increments.iter().map(|each| (each.space, &each.key)));
        for (space, key) in keys {
            if !written.insert((space, key)) {
                return Err(Error::Corrupt(format!(
                    "a commit writes {}/{} twice",
                    space.name(),
                    show_key(key)
                )));
            }
        }
        let mut checked = std::collections::HashSet::new();
        for check in &self.checks {
            let (Check::Absent(space, key) | Check::Holds(space, key, _)) = check;
            if !checked.insert((*space, key)) {
                return Err(Error::Corrupt(format!(
                    "a commit checks {}/{} twice",
                    space.name(),
                    show_key(key)
                )));
            }
        }
        Ok(())
    }
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was applied.
    Committed {
        /// The revision of the commit.
        revision: u64,
        /// The value of each counter after its increment, in the order of
        /// the commit's increments.
        counters: Vec<u64>,
    },
    /// A check no longer held; nothing was applied. Read again and retry.
    Conflict,
}

/// What a database must do for the store.
///
/// Every method may do I/O. A backend whose work for a call is bounded
/// (sled, in memory or its page cache) may do it inline; one that blocks
/// longer does it off the calling thread.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The value at `key`, if any.
    async fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The values at `keys`, in their order.
    async fn get_many(&self, space: Space, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>>;

    /// Up to `limit` entries within `range`, from its low end (ascending)
    /// or its high end (descending).
    async fn scan(
        &self,
        space: Space,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>>;

    /// Applies `commit` atomically if every check holds. A commit larger
    /// than one of this backend's transactions may be is refused, before
    /// anything is sent, as [`Error::CommitTooLarge`]: what lets a writer
    /// of many records find the batch that fits. sled's transactions have
    /// no such limit.
    async fn commit(&self, commit: Commit) -> Result<Outcome>;

    /// Raises the id counter at `key` by `n` and returns the first of the
    /// `n` ids it hands out. The counter names the next free id; ids start
    /// at 1. Ids are never handed out twice, and may be skipped.
    async fn allocate(&self, space: Space, key: &[u8], n: u64) -> Result<u64>;

    /// The revision of the latest commit: every commit up to it is
    /// visible to every read that starts after this returns.
    async fn revision(&self) -> Result<u64>;

    /// What the commits after revision `after` wrote, in revision order,
    /// up to the current revision; `None` when the feed no longer reaches
    /// back to `after` (then what was derived from the data must be
    /// derived again).
    async fn changes(&self, after: u64) -> Result<Option<Vec<Arc<CommitRecord>>>>;

    /// Follows the revision up to which the change feed holds every
    /// commit: what a reader of [`Backend::changes`] waits on for the next
    /// ones.
    fn follow_changes(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Writes many entries without transactions, for seeding while nothing
    /// else writes: the caller makes such a run safe (a marker, then one
    /// commit for counters), and readers' caches are empty.
    async fn bulk_load(&self, entries: Vec<(Space, Vec<Entry>)>) -> Result<()>;

    /// Removes many keys without transactions, under the same terms as
    /// [`Backend::bulk_load`].
    async fn bulk_remove(&self, keys: Vec<(Space, Vec<Vec<u8>>)>) -> Result<()>;

    /// Removes every key of a space at once, under the same terms (the
    /// upgrade drops an old format's indexes with it).
    async fn clear(&self, space: Space) -> Result<()>;

    /// Returns once every commit that returned before this call is durable.
    async fn make_durable(&self) -> Result<()>;

    /// Writes everything to disk before the process exits.
    async fn flush(&self) -> Result<()>;

    /// The bytes the database takes on disk, where the backend knows it.
    fn size_on_disk(&self) -> Result<Option<u64>>;

    /// Waits until no other process holds `name` on this store, then holds
    /// it until the [`Exclusive`] is released or the process dies: what
    /// lets one of several servers starting at once seed the store while
    /// the others wait. A backend only one process can open is exclusive
    /// already.
    async fn exclusive(&self, name: &str) -> Result<Exclusive>;
}

/// A hold on a name ([`Backend::exclusive`]), released by
/// [`Exclusive::release`], or by the backend when the process dies.
#[must_use = "the hold is released at once when dropped"]
pub struct Exclusive {
    release: Option<std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>>,
}

impl Exclusive {
    /// A hold that needs no releasing.
    pub fn held_already() -> Self {
        Self { release: None }
    }

    /// A hold that `release` lets go of.
    pub fn released_by(
        release: impl std::future::Future<Output = Result<()>> + Send + 'static,
    ) -> Self {
        Self {
            release: Some(Box::pin(release)),
        }
    }

    /// Lets go of the name.
    pub async fn release(mut self) -> Result<()> {
        match self.release.take() {
            Some(release) => release.await,
            None => Ok(()),
        }
    }
}

/// A key as a person reads it: the text when it is printable, else hex.
pub fn show_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if !text.is_empty() && !text.chars().any(char::is_control) => text.to_owned(),
        _ => format!("0x{}", hex::encode(key)),
    }
}

/// Reads a counter: 8 big-endian bytes, absent meaning 0.
pub fn decode_counter(bytes: Option<&[u8]>) -> Result<u64> {
    match bytes {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes)
            .map(u64::from_be_bytes)
            .map_err(|_| Error::Corrupt(format!("a counter of {} bytes, not 8", bytes.len()))),
    }
}

/// A counter as stored.
pub fn encode_counter(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

/// A counter after adding `delta`: never below 0.
fn add_to_counter(value: u64, delta: i64) -> u64 {
    value.saturating_add_signed(delta)
}
