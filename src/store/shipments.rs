//! Shipments: the one list that grows to millions. Each shipment is stored
//! under its id and found by its reference. Each filter a list offers, in
//! each order, is a sorted list of index entries `sort key, id` under a
//! scope `facet, value, 0, order`, packed many to a key in one index space
//! (`blocks`), and written in the same commit as the record together with
//! per-value counters. A page with one filter and one order is a bounded
//! scan of one scope from the cursor's key. Seeding writes generated
//! shipments in bulk instead (`bulk`); `check` holds the consistency check
//! of this layout.

mod blocks;
mod bulk;
mod check;

use std::collections::HashMap;
use std::ops::Bound::{self, Excluded, Included};
use std::ops::Range;
use std::sync::Arc;

use chrono::NaiveDate;

use super::backend::{decode_counter, Change, CommitRecord, KeyRange, Space};
use super::codec::decode;
use super::format::Stored;
use super::keys::{date_key, decimal_key, id_from_suffix, id_key, prefix_end, tag, TEXT_END};
use super::pages::{paginate, Listing, Taken};
use super::scan_budget::ScanBudget;
use super::txn::{self, transact, Txn};
use super::Store;
use crate::domain::{
    Direction, Page, PageRequest, Position, Shipment, ShipmentEvent, ShipmentEventKind,
    ShipmentFilter, ShipmentId, ShipmentOrder, ShipmentOrderField,
};
use crate::error::{Error, Result};
pub use bulk::ShipmentSource;

/// A page of shipments: those that meet a filter, in an order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShipmentQuery {
    /// The conditions.
    pub filter: ShipmentFilter,
    /// The order.
    pub order: ShipmentOrder,
    /// The window.
    pub request: PageRequest,
}

/// An index of shipments: one per filter a list offers, plus `All`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    All,
    Origin,
    Partner,
    Route,
    Shipper,
    Hub,
    Mode,
    Synthetic,
}

const FACETS: [Facet; 8] = [
    Facet::All,
    Facet::Origin,
    Facet::Partner,
    Facet::Route,
    Facet::Shipper,
    Facet::Hub,
    Facet::Mode,
    Facet::Synthetic,
];

/// The order byte of index keys sorted by departure date.
const BY_DEPARTURE: u8 = b'd';
/// The order byte of index keys sorted by quantity.
const BY_QUANTITY: u8 = b'q';

/// The key of the next shipment id in `meta`.
const NEXT_ID_KEY: &[u8] = b"next_shipment_id";

/// The key in `meta` of the sequence number of the latest shipment event,
/// raised in the commit of the change the event tells of.
const EVENT_SEQUENCE_KEY: &[u8] = b"shipment_event_sequence";

/// How many index entries a filtered scan reads at a time: enough that a
/// selective filter needs few round trips, few enough that a page of 20
/// reads little past its end.
const SCAN_BATCH: usize = 64;

impl Facet {
    /// The facet's byte in stored keys: the first byte of its scopes and
    /// of its counters. Format 1 used the same bytes for its counters,
    /// which the upgrade keeps.
    fn id(self) -> u8 {
        0x10 + self as u8
    }

    /// The facet's name in check reports, as format 1 named its index.
    fn name(self) -> &'static str {
        match self {
            Facet::All => "shipments_by_order",
            Facet::Origin => "shipments_by_origin",
            Facet::Partner => "shipments_by_partner",
            Facet::Route => "shipments_by_route",
            Facet::Shipper => "shipments_by_shipper",
            Facet::Hub => "shipments_by_hub",
            Facet::Mode => "shipments_by_mode",
            Facet::Synthetic => "shipments_by_synthetic",
        }
    }

    /// The first byte of positions in this index's lists.
    fn tag(self) -> u8 {
        match self {
            Facet::All => tag::SHIPMENTS,
            Facet::Origin => tag::SHIPMENTS_BY_ORIGIN,
            Facet::Partner => tag::SHIPMENTS_BY_PARTNER,
            Facet::Route => tag::SHIPMENTS_BY_ROUTE,
            Facet::Shipper => tag::SHIPMENTS_BY_SHIPPER,
            Facet::Hub => tag::SHIPMENTS_BY_HUB,
            Facet::Mode => tag::SHIPMENTS_BY_MODE,
            Facet::Synthetic => tag::SHIPMENTS_BY_SYNTHETIC,
        }
    }

    /// The values a shipment is indexed under (none when the field is null).
    fn values(self, shipment: &Shipment) -> Vec<Vec<u8>> {
        let code = |code: Option<&str>| code.map(|c| c.as_bytes().to_vec()).into_iter().collect();
        match self {
            Facet::All => vec![Vec::new()],
            Facet::Origin => code(shipment.origin_province.as_ref().map(|c| c.as_str())),
            Facet::Partner => code(shipment.destination_partner.as_ref().map(|c| c.as_str())),
            Facet::Route => code(shipment.route.as_ref().map(|c| c.as_str())),
            Facet::Shipper => code(shipment.shipper.as_ref().map(|c| c.as_str())),
            Facet::Hub => shipment
                .hubs()
                .iter()
                .map(|c| c.as_str().as_bytes().to_vec())
                .collect(),
            Facet::Mode => code(shipment.mode.map(mode_name)),
            Facet::Synthetic => vec![synthetic_value(shipment.is_synthetic())],
        }
    }

    /// The value a filter asks this index for, if it asks for one.
    fn wanted(self, filter: &ShipmentFilter) -> Option<Vec<u8>> {
        let code = |code: Option<&str>| code.map(|c| c.as_bytes().to_vec());
        match self {
            Facet::All => None,
            Facet::Origin => code(filter.origin_province.as_ref().map(|c| c.as_str())),
            Facet::Partner => code(filter.destination_partner.as_ref().map(|c| c.as_str())),
            Facet::Route => code(filter.route.as_ref().map(|c| c.as_str())),
            Facet::Shipper => code(filter.shipper.as_ref().map(|c| c.as_str())),
            Facet::Hub => code(filter.hub.as_ref().map(|c| c.as_str())),
            Facet::Mode => code(filter.mode.map(mode_name)),
            Facet::Synthetic => filter.synthetic.map(synthetic_value),
        }
    }
}

fn mode_name(mode: crate::domain::TransportMode) -> &'static str {
    use crate::domain::TransportMode::*;
    match mode {
        Sea => "SEA",
        Rail => "RAIL",
        Road => "ROAD",
        Air => "AIR",
    }
}

fn synthetic_value(synthetic: bool) -> Vec<u8> {
    if synthetic {
        b"true".to_vec()
    } else {
        b"false".to_vec()
    }
}

/// The scope of one value of an index in one order: the start of every
/// logical key of that sorted list.
fn scope(facet: Facet, value: &[u8], order: u8) -> Vec<u8> {
    let mut key = Vec::with_capacity(value.len() + 3);
    key.push(facet.id());
    key.extend_from_slice(value);
    key.push(TEXT_END);
    key.push(order);
    key
}

/// The length of the scope a logical key or block key starts with.
fn scope_len(key: &[u8]) -> Option<usize> {
    let end = 1 + key.get(1..)?.iter().position(|&byte| byte == TEXT_END)?;
    FACETS
        .iter()
        .any(|facet| facet.id() == key[0])
        .then_some(end + 2)
        .filter(|&len| len <= key.len())
}

/// A shipment's entry in a list in one order: its sort key, then its id.
fn suffix(order: u8, shipment: &Shipment) -> Vec<u8> {
    let mut suffix = match order {
        BY_QUANTITY => decimal_key(shipment.quantity.as_ref().map(|q| q.value)),
        _ => date_key(shipment.departed_on),
    };
    suffix.extend_from_slice(&id_key(shipment.id));
    suffix
}

/// The counter key of one value of an index.
fn counter_key(facet: Facet, value: &[u8]) -> Vec<u8> {
    let mut key = vec![facet.id()];
    key.extend_from_slice(value);
    key
}

/// A change to shipments.
pub enum ShipmentWrite {
    /// A shipment not yet stored; its `id` is ignored and assigned. With an
    /// idempotency key that an earlier insert used, nothing is written and
    /// the shipment that insert created is returned.
    Insert {
        /// The new shipment.
        shipment: Shipment,
        /// Makes retries of the same request safe.
        idempotency_key: Option<String>,
    },
    /// A new state of the stored shipment with the same id; its version is
    /// set to the stored one plus one.
    Replace {
        /// The new state.
        shipment: Shipment,
        /// Refuse with [`Error::Conflict`] unless the stored version is this.
        expected_version: Option<u32>,
    },
    /// A shipment from a backup, stored as it was: with its id and
    /// bookkeeping. The id must be free.
    Restore(Shipment),
    /// Removes a shipment and its index entries.
    Delete {
        /// The shipment.
        id: ShipmentId,
        /// Refuse with [`Error::Conflict`] unless the stored version is this.
        expected_version: Option<u32>,
    },
}

impl ShipmentWrite {
    /// Inserting a new shipment with no idempotency key.
    pub fn insert(shipment: Shipment) -> Self {
        ShipmentWrite::Insert {
            shipment,
            idempotency_key: None,
        }
    }
}

/// What a list or a count of shipments reads, which decides what it
/// costs and whether it charges the request's scan budget. The one place
/// of that rule: the store's reads and the estimates the limits charge
/// before a request runs both follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A count of one condition: one counter.
    Counter,
    /// A page of one condition in an order its index keeps (a date range
    /// bounds the departure order's keys): every entry read is returned,
    /// so its page size bounds it.
    Bounded,
    /// A count of one condition and a date range: index entries alone,
    /// charged one unit per block's worth.
    Entries,
    /// More conditions (or a date range in quantity order): the records of
    /// the narrowest index, each checked; charged one unit per record.
    Records,
}

impl Shape {
    /// The shape of a page (`order` given) or a count over `filter`; a
    /// `nested` list has one more condition than the filter names.
    fn of(filter: &ShipmentFilter, nested: bool, order: Option<ShipmentOrderField>) -> Self {
        let conditions = FACETS
            .iter()
            .filter(|facet| facet.wanted(filter).is_some())
            .count()
            + usize::from(nested);
        let dated = filter.is_dated();
        match order {
            _ if conditions > 1 => Shape::Records,
            Some(ShipmentOrderField::Quantity) if dated => Shape::Records,
            Some(_) => Shape::Bounded,
            None if dated => Shape::Entries,
            None => Shape::Counter,
        }
    }
}

/// One scan of a page: the scope it reads, the filter each record must
/// meet, and the budget it charges (none for a bounded scan).
struct Scan<'a> {
    facet: Facet,
    scope: &'a [u8],
    filter: &'a ShipmentFilter,
    budget: Option<&'a ScanBudget>,
}

/// How many index entries a count reads at a time.
const COUNT_BATCH: usize = 1024;

/// How many shipment ids a handle takes from the database at a time.
const ID_BLOCK: u64 = 32;

impl Store {
    /// The shipments with these ids; unknown ids are left out.
    pub async fn shipments(&self, ids: &[ShipmentId]) -> Result<HashMap<ShipmentId, Shipment>> {
        self.count_call();
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| id_key(*id).to_vec()).collect();
        let values = self.backend.get_many(Space::Shipments, &keys).await?;
        let mut found = HashMap::with_capacity(ids.len());
        for (id, value) in ids.iter().zip(values) {
            if let Some(bytes) = value {
                found.insert(*id, Shipment::decode(&bytes)?);
            }
        }
        Ok(found)
    }

    async fn read_shipment(&self, id: ShipmentId) -> Result<Option<Shipment>> {
        self.backend
            .get(Space::Shipments, &id_key(id))
            .await?
            .map(|bytes| Shipment::decode(&bytes))
            .transpose()
    }

    /// The shipment with this reference (any case), if any.
    pub async fn shipment_by_reference(&self, reference: &str) -> Result<Option<Shipment>> {
        self.count_call();
        let reference = reference.trim().to_uppercase();
        let stored = self
            .backend
            .get(Space::ShipmentsByReference, reference.as_bytes())
            .await?;
        match stored {
            Some(id) => self.read_shipment(id_from_suffix(&id)?).await,
            None => Ok(None),
        }
    }

    /// Follows the revision up to which the change feed holds every
    /// commit: what a reader of [`Store::shipment_events_after`] waits on.
    pub fn follow_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.backend.follow_changes()
    }

    /// The shipment events of the commits after revision `after`, in
    /// commit order, and the revision they reach: the same events for
    /// every server of a shared store, whoever wrote them. `None` when the
    /// change feed no longer reaches back to `after`.
    pub async fn shipment_events_after(
        &self,
        after: u64,
    ) -> Result<Option<(Vec<ShipmentEvent>, u64)>> {
        let Some(records) = self.backend.changes(after).await? else {
            return Ok(None);
        };
        let reached = records.last().map_or(after, |record| record.revision);
        let mut events = Vec::new();
        for record in &records {
            events.extend(events_of(record)?);
        }
        Ok(Some((events, reached)))
    }

    /// How many shipments were generated for load tests.
    pub async fn synthetic_count(&self) -> Result<u64> {
        self.counter(Facet::Synthetic, &synthetic_value(true)).await
    }

    async fn counter(&self, facet: Facet, value: &[u8]) -> Result<u64> {
        let key = counter_key(facet, value);
        decode_counter(
            self.backend
                .get(Space::ShipmentCounts, &key)
                .await?
                .as_deref(),
        )
    }

    /// Writes shipments and all their index entries and counters in as
    /// few commits as the backend's transactions hold: on sled one, on
    /// etcd batches within its 128 operations, each shipment's writes
    /// whole in one of them. Returns the shipments as stored (for a
    /// delete, as they were), with their ids. Makes no events: for seeding
    /// and restoring, which mark their end themselves (the seeded marker),
    /// so that the batches a failure leaves behind are never taken for the
    /// whole. Call [`Store::make_durable`] before acknowledging.
    pub async fn write_shipments(&self, writes: Vec<ShipmentWrite>) -> Result<Vec<Shipment>> {
        // A batch takes exactly the ids its inserts need, in one step, so
        // that seeding hands out ids without gaps; not while a bulk insert
        // is unfinished, which its commit refuses anyway.
        if let Some(run) = self.bulk_insert_marker().await? {
            return Err(bulk::unfinished_error(&run));
        }
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let n_inserts = writes
            .iter()
            .filter(|write| matches!(write, ShipmentWrite::Insert { .. }))
            .count() as u64;
        let mut next = match n_inserts {
            0 => 0,
            n => self.backend.allocate(Space::Meta, NEXT_ID_KEY, n).await?,
        };
        let ids = writes
            .iter()
            .map(|write| {
                matches!(write, ShipmentWrite::Insert { .. }).then(|| {
                    next += 1;
                    ShipmentId(next - 1)
                })
            })
            .collect::<Vec<_>>();
        let mut stored = Vec::with_capacity(writes.len());
        txn::in_batches(writes.len(), async |batch: Range<usize>| {
            let ids = ids[batch.clone()].to_vec();
            stored.extend(
                self.apply_shipment_writes(&writes[batch], ids, false)
                    .await?,
            );
            Ok(())
        })
        .await?;
        Ok(stored)
    }

    /// Makes one change to a shipment through the API, as
    /// [`Store::write_shipments`] does, and counts its event in the same
    /// commit, where the change feed finds it
    /// ([`Store::shipment_events_after`]); an insert retried under its
    /// idempotency key changes nothing and counts none. Returns the
    /// shipment as stored (for a delete, as it was). Call
    /// [`Store::make_durable`] before acknowledging it.
    pub async fn change_shipment(&self, write: ShipmentWrite) -> Result<Shipment> {
        let mut changed = self
            .apply_shipment_writes(std::slice::from_ref(&write), vec![None], true)
            .await?;
        changed
            .pop()
            .ok_or_else(|| Error::Corrupt("a write returned no shipment".into()))
    }

    /// The one write path of shipments: reads what the writes depend on,
    /// builds their entries and commits them, again from fresh reads when
    /// another writer changed what was read. `ids` holds, for each insert,
    /// its id if one was taken already; the others take one from this
    /// handle's block when they need it. A retry reuses them.
    async fn apply_shipment_writes(
        &self,
        writes: &[ShipmentWrite],
        mut ids: Vec<Option<ShipmentId>>,
        with_events: bool,
    ) -> Result<Vec<Shipment>> {
        let (changes, _) = transact!(self, |txn| {
            if let Some(marker) = txn.get(Space::Meta, bulk::MARKER_KEY).await? {
                let run = decode(&marker, "bulk insert marker")?;
                return Err(bulk::unfinished_error(&run));
            }
            let mut changes = Vec::with_capacity(writes.len());
            for (write, id) in writes.iter().zip(ids.iter_mut()) {
                changes.push(self.apply_shipment_write(&mut txn, write, id).await?);
            }
            let n_events = changes.iter().filter(|(_, changed)| *changed).count();
            if with_events && n_events > 0 {
                txn.increment(Space::Meta, EVENT_SEQUENCE_KEY, n_events as i64);
            }
            changes
        })?;
        Ok(changes.into_iter().map(|(shipment, _)| shipment).collect())
    }

    /// Reads and buffers one write in `txn`. Returns the shipment as
    /// stored (as it was, for a delete) and whether anything changed.
    async fn apply_shipment_write(
        &self,
        txn: &mut Txn<'_>,
        write: &ShipmentWrite,
        id: &mut Option<ShipmentId>,
    ) -> Result<(Shipment, bool)> {
        let (old, new) = match write {
            ShipmentWrite::Insert {
                shipment,
                idempotency_key,
            } => {
                if let Some(key) = idempotency_key {
                    let created = txn
                        .get(Space::ShipmentIdempotencyKeys, key.as_bytes())
                        .await?;
                    if let Some(created) = created {
                        let stored = stored_in(txn, id_from_suffix(&created)?).await?;
                        return Ok((stored, false));
                    }
                }
                let id = match id {
                    Some(id) => *id,
                    None => *id.insert(self.new_shipment_id().await?),
                };
                if let Some(key) = idempotency_key {
                    txn.put(Space::ShipmentIdempotencyKeys, key.as_bytes(), id_key(id));
                }
                let mut shipment = Shipment {
                    id,
                    ..shipment.clone()
                };
                if shipment.reference.is_empty() {
                    shipment.reference = format!("SHP-{:08}", shipment.id.0);
                }
                if reference_is_taken(txn, &shipment.reference).await? {
                    return Err(reference_taken(&shipment.reference));
                }
                (None, Some(shipment))
            }
            ShipmentWrite::Replace {
                shipment,
                expected_version,
            } => {
                let old = stored_in(txn, shipment.id).await?;
                check_version(&old, *expected_version)?;
                let mut new = shipment.clone();
                new.meta.version = old.meta.version + 1;
                if new.reference != old.reference && reference_is_taken(txn, &new.reference).await?
                {
                    return Err(reference_taken(&new.reference));
                }
                (Some(old), Some(new))
            }
            ShipmentWrite::Restore(shipment) => {
                let id_taken = txn.get(Space::Shipments, &id_key(shipment.id)).await?;
                if id_taken.is_some() || reference_is_taken(txn, &shipment.reference).await? {
                    return Err(Error::bad_input(format!(
                        "cannot restore shipment {} ({}): its id or reference is taken",
                        shipment.id, shipment.reference
                    )));
                }
                raise_next_id(txn, shipment.id.0 + 1).await?;
                (None, Some(shipment.clone()))
            }
            ShipmentWrite::Delete {
                id,
                expected_version,
            } => {
                let old = stored_in(txn, *id).await?;
                check_version(&old, *expected_version)?;
                (Some(old), None)
            }
        };
        let (removed, added) = (
            old.as_ref().map(entries_of).unwrap_or_default(),
            new.as_ref().map(entries_of).unwrap_or_default(),
        );
        if let Some(old) = &old {
            txn.delete(Space::Shipments, id_key(old.id));
            txn.delete(Space::ShipmentsByReference, old.reference.as_bytes());
        }
        for entry in removed.iter().filter(|entry| !added.contains(entry)) {
            blocks::remove(txn, Space::ShipmentIndex, &entry.scope, &entry.suffix).await?;
            if entry.counted {
                txn.increment(Space::ShipmentCounts, entry.counter.clone(), -1);
            }
        }
        if let Some(new) = &new {
            txn.put(Space::Shipments, id_key(new.id), new.encode()?);
            txn.put(
                Space::ShipmentsByReference,
                new.reference.as_bytes(),
                id_key(new.id),
            );
        }
        for entry in added.iter().filter(|entry| !removed.contains(entry)) {
            blocks::insert(txn, Space::ShipmentIndex, &entry.scope, &entry.suffix).await?;
            if entry.counted {
                txn.increment(Space::ShipmentCounts, entry.counter.clone(), 1);
            }
        }
        let shipment = new
            .or(old)
            .ok_or_else(|| Error::Corrupt("a shipment write with no shipment".into()))?;
        Ok((shipment, true))
    }

    /// An id no other shipment has or will get. Ids are taken from the
    /// database [`ID_BLOCK`] at a time and handed out from memory, so that
    /// an insert needs no commit of its own for its id; the ids of a block
    /// this handle does not use (it closes first, or two inserts took a
    /// block at once) are never handed out.
    async fn new_shipment_id(&self) -> Result<ShipmentId> {
        if let Some(id) = self.lock_ids().next() {
            return Ok(ShipmentId(id));
        }
        let first = self
            .backend
            .allocate(Space::Meta, NEXT_ID_KEY, ID_BLOCK)
            .await?;
        *self.lock_ids() = first + 1..first + ID_BLOCK;
        Ok(ShipmentId(first))
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, std::ops::Range<u64>> {
        self.ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Several pages of shipments in one call. Pages whose filter turns
    /// records away read them on the store's pool, off the caller's thread,
    /// and charge what they read to `budget`.
    pub async fn shipment_pages(
        &self,
        queries: &[ShipmentQuery],
        budget: &Arc<ScanBudget>,
    ) -> Result<Vec<Page<Shipment>>> {
        self.count_call();
        let filtered = queries.iter().any(|query| {
            let order = query.order.field;
            Shape::of(&query.filter, false, Some(order)) == Shape::Records
        });
        if filtered {
            let (store, queries, budget) = (self.clone(), queries.to_vec(), budget.clone());
            return self
                .off_loop(async move { store.read_shipment_pages(&queries, &budget).await })
                .await;
        }
        self.read_shipment_pages(queries, budget).await
    }

    async fn read_shipment_pages(
        &self,
        queries: &[ShipmentQuery],
        budget: &ScanBudget,
    ) -> Result<Vec<Page<Shipment>>> {
        let mut pages = Vec::with_capacity(queries.len());
        for query in queries {
            pages.push(self.shipment_page(query, budget).await?);
        }
        Ok(pages)
    }

    async fn shipment_page(
        &self,
        query: &ShipmentQuery,
        budget: &ScanBudget,
    ) -> Result<Page<Shipment>> {
        query.filter.validate()?;
        let (facet, value) = self
            .choose_index(
                &query.filter,
                [query.request.after(), query.request.before()],
            )
            .await?;
        let order = match query.order.field {
            ShipmentOrderField::DepartedOn => BY_DEPARTURE,
            ShipmentOrderField::Quantity => BY_QUANTITY,
        };
        let mut listing = Listing::new(
            facet.tag(),
            scope(facet, &value, order),
            query.order.direction,
        );
        if order == BY_DEPARTURE {
            (listing.lower, listing.upper) = date_bounds(&listing.prefix, &query.filter);
        }
        let scope = listing.prefix.clone();
        let charged = Shape::of(&query.filter, false, Some(query.order.field)) == Shape::Records;
        let scan = Scan {
            facet,
            scope: &scope,
            filter: &query.filter,
            budget: charged.then_some(budget),
        };
        paginate(&listing, &query.request, |range, direction, n| {
            self.take_shipments(&scan, range, direction, n)
        })
        .await
    }

    /// Up to `n` shipments that meet the scan's filter, from one end of
    /// `range` of its scope: a batch of entries, their records in one read,
    /// and more batches while the filter leaves the page short. A charged
    /// scan reads at least one batch, so that it always gets further, and
    /// then stops where its budget ran out.
    async fn take_shipments(
        &self,
        scan: &Scan<'_>,
        mut range: KeyRange,
        direction: Direction,
        n: usize,
    ) -> Result<Taken<Shipment>> {
        let mut found = Vec::with_capacity(n);
        let mut batch = n;
        loop {
            if let Some(budget) = scan.budget {
                budget.check_deadline()?;
            }
            let entries = blocks::scan(
                self.backend.as_ref(),
                Space::ShipmentIndex,
                scan.scope,
                &range,
                direction,
                batch,
            )
            .await?;
            let within = match scan.budget {
                Some(budget) => self.charge_scan(budget, entries.len()),
                None => true,
            };
            let records = self.records_of_entries(&entries).await?;
            for (key, record) in entries.iter().zip(records) {
                let bytes = record.ok_or_else(|| missing_record(scan.facet, key))?;
                let shipment = Shipment::decode(&bytes)?;
                if found.len() < n && scan.filter.matches(&shipment) {
                    found.push((key.clone(), shipment));
                }
            }
            let (Some(last), true) = (entries.last(), entries.len() == batch) else {
                return Ok(Taken::all(found));
            };
            if found.len() >= n {
                return Ok(Taken::all(found));
            }
            if !within {
                return Ok(Taken {
                    items: found,
                    stopped_at: Some(last.clone()),
                });
            }
            match direction {
                Direction::Ascending => range.lower = Excluded(last.clone()),
                Direction::Descending => range.upper = Excluded(last.clone()),
            }
            batch = SCAN_BATCH.max(n);
        }
    }

    /// The stored records the index entries (logical keys) name, in their
    /// order: one read for a batch.
    async fn records_of_entries(&self, entries: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let ids = entries
            .iter()
            .map(|key| id_from_suffix(key).map(|id| id_key(id).to_vec()))
            .collect::<Result<Vec<_>>>()?;
        self.backend.get_many(Space::Shipments, &ids).await
    }

    /// How many shipments meet each filter, in one call. One condition is
    /// read from a counter; one condition and a date range is counted from
    /// index entries alone; more conditions read the records of the
    /// narrowest index and check each. Counts that read run on the store's
    /// pool and charge `budget`; one the budget cannot pay for is refused
    /// with [`Error::ScanLimit`] (before it reads anything when the size of
    /// what it would read is known).
    pub async fn shipment_counts(
        &self,
        filters: &[ShipmentFilter],
        budget: &Arc<ScanBudget>,
    ) -> Result<Vec<u64>> {
        self.count_call();
        if filters
            .iter()
            .any(|filter| Shape::of(filter, false, None) != Shape::Counter)
        {
            let (store, filters, budget) = (self.clone(), filters.to_vec(), budget.clone());
            return self
                .off_loop(async move { store.count_shipments(&filters, &budget).await })
                .await;
        }
        self.count_shipments(filters, budget).await
    }

    async fn count_shipments(
        &self,
        filters: &[ShipmentFilter],
        budget: &ScanBudget,
    ) -> Result<Vec<u64>> {
        let mut counts = Vec::with_capacity(filters.len());
        for filter in filters {
            counts.push(self.shipment_count(filter, budget).await?);
        }
        Ok(counts)
    }

    async fn shipment_count(&self, filter: &ShipmentFilter, budget: &ScanBudget) -> Result<u64> {
        filter.validate()?;
        let narrowest = self.narrowest(filter).await?;
        let (facet, value) = (narrowest.facet, &narrowest.value);
        let prefix = scope(facet, value, BY_DEPARTURE);
        let (lower, upper) = date_bounds(&prefix, filter);
        let mut range = KeyRange::new(lower, upper);
        let (backend, index) = (self.backend.as_ref(), Space::ShipmentIndex);
        let over_budget = || Error::ScanLimit {
            limit: budget.limit(),
        };
        match Shape::of(filter, false, None) {
            Shape::Counter => return narrowest.size(self).await,
            Shape::Entries => return blocks::count(backend, index, &prefix, &range, budget).await,
            Shape::Records if !filter.is_dated() => {
                if narrowest.size(self).await? > budget.remaining() {
                    return Err(over_budget());
                }
            }
            Shape::Records | Shape::Bounded => {}
        }
        let mut count = 0;
        loop {
            budget.check_deadline()?;
            let entries = blocks::scan(
                backend,
                index,
                &prefix,
                &range,
                Direction::Ascending,
                COUNT_BATCH,
            )
            .await?;
            let last_batch = entries.len() < COUNT_BATCH;
            if !self.charge_scan(budget, entries.len()) && !last_batch {
                return Err(over_budget());
            }
            for record in self.records_of_entries(&entries).await? {
                let Some(bytes) = record else { continue };
                if filter.matches(&Shipment::decode(&bytes)?) {
                    count += 1;
                }
            }
            match entries.last() {
                Some(last) if !last_batch => range.lower = Excluded(last.clone()),
                _ => return Ok(count),
            }
        }
    }

    /// Charges `n` records read to `budget`, and counts them for
    /// [`Store::scanned_records`]; whether the budget had them.
    fn charge_scan(&self, budget: &ScanBudget, n: usize) -> bool {
        self.scanned
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        budget.charge(n as u64)
    }

    /// Whether a page (`order` given) or a count over `filter` is bounded
    /// without the scan budget: by one counter, or by its page size. Only
    /// which conditions the filter sets matters.
    pub fn shipment_scan_is_bounded(
        filter: &ShipmentFilter,
        nested: bool,
        order: Option<ShipmentOrderField>,
    ) -> bool {
        matches!(
            Shape::of(filter, nested, order),
            Shape::Counter | Shape::Bounded
        )
    }

    /// The most a page (`order` given) or a count (`order` none) over
    /// `filter` may charge a request's scan budget: the size of the index
    /// it would read, from the counters, when it reads records its filter
    /// may turn away or counts index entries; nothing when a counter or its
    /// page size bounds it. `nested` says the list belongs to an object
    /// (a province's shipments), which adds one condition the caller does
    /// not know: then only the filter's own conditions bound the scan.
    pub async fn shipment_scan_estimate(
        &self,
        filter: &ShipmentFilter,
        nested: bool,
        order: Option<ShipmentOrderField>,
    ) -> Result<u64> {
        if Self::shipment_scan_is_bounded(filter, nested, order) {
            return Ok(0);
        }
        let size = self.narrowest(filter).await?.size(self).await?;
        Ok(match Shape::of(filter, nested, order) {
            Shape::Entries => size.div_ceil(blocks::MAX_ENTRIES as u64),
            _ => size,
        })
    }

    /// The index a filtered list scans, and the value within it: the index
    /// a cursor was made for, if the filter still asks for it, else the
    /// narrowest one by its counters.
    async fn choose_index(
        &self,
        filter: &ShipmentFilter,
        cursors: [Option<&Position>; 2],
    ) -> Result<(Facet, Vec<u8>)> {
        let pinned = FACETS.iter().find_map(|facet| {
            let value = facet.wanted(filter)?;
            let owned = cursors
                .iter()
                .flatten()
                .any(|position| Listing::owns(position, facet.tag()));
            owned.then_some((*facet, value))
        });
        if let Some(chosen) = pinned {
            return Ok(chosen);
        }
        let Narrowest { facet, value, .. } = self.narrowest(filter).await?;
        Ok((facet, value))
    }

    /// The index of the filter's conditions that holds the fewest entries
    /// by its counter, with that size; the list of every shipment, its size
    /// not read, when the filter has no condition.
    async fn narrowest(&self, filter: &ShipmentFilter) -> Result<Narrowest> {
        let mut narrowest = Narrowest {
            facet: Facet::All,
            value: Vec::new(),
            size: None,
        };
        for facet in FACETS {
            let Some(value) = facet.wanted(filter) else {
                continue;
            };
            let size = self.counter(facet, &value).await?;
            if narrowest.size.is_none_or(|smallest| size < smallest) {
                narrowest = Narrowest {
                    facet,
                    value,
                    size: Some(size),
                };
            }
        }
        Ok(narrowest)
    }
}

/// The index and value a filter scans, and how many entries it holds when
/// choosing it read that (`None` for the list of every shipment).
struct Narrowest {
    facet: Facet,
    value: Vec<u8>,
    size: Option<u64>,
}

impl Narrowest {
    /// How many entries the index holds: the size read when it was chosen,
    /// else its counter now.
    async fn size(&self, store: &Store) -> Result<u64> {
        match self.size {
            Some(size) => Ok(size),
            None => store.counter(self.facet, &self.value).await,
        }
    }
}

/// The key bounds of a departure-ordered scope that a date range allows:
/// the whole scope without a range. Any date condition leaves out shipments
/// with no date.
fn date_bounds(prefix: &[u8], filter: &ShipmentFilter) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    if filter.departed_from.is_none() && filter.departed_to.is_none() {
        return (Included(prefix.to_vec()), prefix_end(prefix));
    }
    // Every dated key starts with 1 (see `date_key`), so `[1]` alone is the
    // lowest dated key.
    let dated = |day: Option<NaiveDate>| {
        let mut key = prefix.to_vec();
        key.extend(day.map_or(vec![1], |day| date_key(Some(day))));
        key
    };
    let lower = Included(dated(filter.departed_from));
    let upper = match filter.departed_to.and_then(|to| to.succ_opt()) {
        Some(next) => Excluded(dated(Some(next))),
        None => prefix_end(prefix),
    };
    (lower, upper)
}

/// The error of an index entry whose record is gone.
fn missing_record(facet: Facet, key: &[u8]) -> Error {
    let id = id_from_suffix(key).map_or_else(|_| "?".to_owned(), |id| id.to_string());
    Error::Corrupt(format!(
        "{} entry points to missing shipment {id}",
        facet.name()
    ))
}

/// The error of a new shipment whose reference another one has.
fn reference_taken(reference: &str) -> Error {
    Error::bad_input(format!(
        "reference: a shipment with reference {reference:?} already exists; references are unique"
    ))
}

/// Whether a shipment has this reference, as `txn` sees it.
async fn reference_is_taken(txn: &mut Txn<'_>, reference: &str) -> Result<bool> {
    Ok(txn
        .get(Space::ShipmentsByReference, reference.as_bytes())
        .await?
        .is_some())
}

/// The stored shipment with this id, read in `txn`.
async fn stored_in(txn: &mut Txn<'_>, id: ShipmentId) -> Result<Shipment> {
    let bytes = txn
        .get(Space::Shipments, &id_key(id))
        .await?
        .ok_or_else(|| Error::NotFound(format!("no shipment with id {id}")))?;
    Shipment::decode(&bytes)
}

/// Raises the next shipment id to at least `next`, in `txn`.
async fn raise_next_id(txn: &mut Txn<'_>, next: u64) -> Result<()> {
    let stored = decode_counter(txn.get(Space::Meta, NEXT_ID_KEY).await?.as_deref())?;
    if next > stored {
        txn.put(Space::Meta, NEXT_ID_KEY, next.to_be_bytes());
    }
    Ok(())
}

/// The events of one commit: none unless it counted events (a change
/// through the API does, seeding and restoring do not), then one for each
/// shipment it wrote, numbered up to the sequence it counted. A new
/// shipment's version is 1; a deleted one is the value the feed says the
/// commit removed.
fn events_of(record: &CommitRecord) -> Result<Vec<ShipmentEvent>> {
    let Some(counted) = record
        .changes
        .iter()
        .find(|change| change.space == Space::Meta && change.key == EVENT_SEQUENCE_KEY)
    else {
        return Ok(Vec::new());
    };
    let last = decode_counter(counted.value.as_deref())?;
    let written: Vec<&Change> = record
        .changes
        .iter()
        .filter(|change| change.space == Space::Shipments)
        .collect();
    let first = (last + 1)
        .checked_sub(written.len() as u64)
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "commit {} wrote {} shipments but counted events only up to {last}",
                record.revision,
                written.len()
            ))
        })?;
    written
        .into_iter()
        .zip(first..)
        .map(|(change, sequence)| {
            let (stored, deleted) = match (&change.value, &change.previous) {
                (Some(value), _) => (value, false),
                (None, Some(previous)) => (previous, true),
                (None, None) => {
                    return Err(Error::Corrupt(format!(
                        "commit {} deleted a shipment the change feed does not hold",
                        record.revision
                    )))
                }
            };
            let shipment = Shipment::decode(stored)?;
            let kind = if deleted {
                ShipmentEventKind::Deleted
            } else if shipment.meta.version == 1 {
                ShipmentEventKind::Created
            } else {
                ShipmentEventKind::Updated
            };
            Ok(ShipmentEvent {
                kind,
                shipment,
                sequence,
            })
        })
        .collect()
}

/// Refuses a change made against a version that is no longer current.
fn check_version(stored: &Shipment, expected: Option<u32>) -> Result<()> {
    match expected {
        Some(expected) if expected != stored.meta.version => Err(Error::Conflict {
            current_version: stored.meta.version,
            expected_version: expected,
        }),
        _ => Ok(()),
    }
}

/// One index entry of a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexEntry {
    facet: Facet,
    scope: Vec<u8>,
    suffix: Vec<u8>,
    /// The counter of the entry's value.
    counter: Vec<u8>,
    /// Whether the entry is the one of its value that the counter counts
    /// (the departure-ordered one: a shipment counts once per value).
    counted: bool,
}

/// Every index entry of a shipment: under each value it is indexed by, in
/// both orders.
fn entries_of(shipment: &Shipment) -> Vec<IndexEntry> {
    let mut entries = Vec::with_capacity(18);
    for facet in FACETS {
        for value in facet.values(shipment) {
            for order in [BY_DEPARTURE, BY_QUANTITY] {
                entries.push(IndexEntry {
                    facet,
                    scope: scope(facet, &value, order),
                    suffix: suffix(order, shipment),
                    counter: counter_key(facet, &value),
                    counted: order == BY_DEPARTURE,
                });
            }
        }
    }
    entries
}

/// Whole-database reads and restores, for `export` and `import`.
impl Store {
    /// Every shipment, in id order, a batch at a time.
    pub(super) fn shipment_batches(&self) -> ShipmentBatches<'_> {
        ShipmentBatches(self.batches(Space::Shipments))
    }

    /// The id the next inserted shipment gets.
    pub(super) async fn next_shipment_id(&self) -> Result<u64> {
        let stored = self.backend.get(Space::Meta, NEXT_ID_KEY).await?;
        Ok(decode_counter(stored.as_deref())?.max(1))
    }

    /// Builds the index entries of every stored shipment into the index,
    /// for the upgrade from a format whose index was laid out otherwise,
    /// while nothing else writes. Counters are not touched: they count the
    /// same shipments in either layout. A record that does not decode is
    /// left for `check` to name.
    pub(super) async fn rebuild_shipment_index(&self) -> Result<()> {
        let mut index = bulk::IndexEntries::new();
        let mut records = self.batches(Space::Shipments);
        while let Some(batch) = records.next().await? {
            for shipment in batch
                .iter()
                .filter_map(|(_, value)| Shipment::decode(value).ok())
            {
                for entry in entries_of(&shipment) {
                    index.entry(entry.scope).or_default().push(entry.suffix);
                }
            }
        }
        self.merge_into_index(index).await
    }

    /// Raises the id the next inserted shipment gets to at least `next`, so
    /// that a restored database never hands out again the id of a shipment
    /// deleted before the backup was made.
    pub(super) async fn raise_next_shipment_id(&self, next: u64) -> Result<()> {
        transact!(self, |txn| {
            raise_next_id(&mut txn, next).await?;
        })?;
        Ok(())
    }
}

/// Every shipment, in id order, a batch at a time.
pub(super) struct ShipmentBatches<'a>(super::Batches<'a>);

impl ShipmentBatches<'_> {
    /// The next shipments, or `None` after the last.
    pub(super) async fn next(&mut self) -> Result<Option<Vec<Shipment>>> {
        let Some(entries) = self.0.next().await? else {
            return Ok(None);
        };
        entries
            .iter()
            .map(|(_, value)| Shipment::decode(value))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}
