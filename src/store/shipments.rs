//! Shipments: the one list that grows to millions. Each shipment is stored
//! under its id, and each filter a list offers has an index tree whose keys
//! are `value, 0, order, sort key, id`, written in the same transaction as
//! the record, together with per-value counters. A page with one filter and
//! one order is a range scan of one index from the cursor's key. Seeding
//! writes generated shipments in bulk instead (`bulk`).

mod bulk;

use std::collections::HashMap;
use std::ops::Bound::{self, Excluded, Included};

use chrono::NaiveDate;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use sled::Transactional;

use super::codec::{decode, encode};
use super::keys::{date_key, decimal_key, id_from_suffix, id_key, prefix_end, TEXT_END};
use super::pages::{paginate, Listing};
use super::Store;
use crate::domain::{
    Page, PageRequest, Position, Shipment, ShipmentFilter, ShipmentId, ShipmentOrder,
    ShipmentOrderField,
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

/// The key of the next shipment id in the `meta` tree.
const NEXT_ID_KEY: &[u8] = b"next_shipment_id";

impl Facet {
    fn index(self) -> usize {
        self as usize
    }

    fn tree_name(self) -> &'static str {
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
        0x10 + self.index() as u8
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

/// The start of every key of one value of an index in one order.
fn scope(value: &[u8], order: u8) -> Vec<u8> {
    let mut key = Vec::with_capacity(value.len() + 2);
    key.extend_from_slice(value);
    key.push(TEXT_END);
    key.push(order);
    key
}

/// A shipment's key in one value of an index in one order.
fn index_key(value: &[u8], order: u8, shipment: &Shipment) -> Vec<u8> {
    let mut key = scope(value, order);
    match order {
        BY_QUANTITY => key.extend(decimal_key(shipment.quantity.as_ref().map(|q| q.value))),
        _ => key.extend(date_key(shipment.departed_on)),
    }
    key.extend_from_slice(&id_key(shipment.id));
    key
}

/// The counter key of one value of an index.
fn counter_key(facet: Facet, value: &[u8]) -> Vec<u8> {
    let mut key = vec![facet.tag()];
    key.extend_from_slice(value);
    key
}

/// The trees of shipments.
pub(super) struct ShipmentTrees {
    /// id -> shipment.
    records: sled::Tree,
    /// reference -> id.
    by_reference: sled::Tree,
    /// index tag and value -> number of shipments.
    counts: sled::Tree,
    /// idempotency key -> id of the shipment its insert created.
    idempotency: sled::Tree,
    /// One tree per facet, in the order of `FACETS`.
    indexes: Vec<sled::Tree>,
}

/// Where each tree sits in the slice a transaction runs over.
const RECORDS: usize = 0;
const BY_REFERENCE: usize = 1;
const COUNTS: usize = 2;
const META: usize = 3;
const IDEMPOTENCY: usize = 4;
const FIRST_INDEX: usize = 5;

impl ShipmentTrees {
    pub(super) fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            records: db.open_tree("shipments")?,
            by_reference: db.open_tree("shipments_by_reference")?,
            counts: db.open_tree("shipment_counts")?,
            idempotency: db.open_tree("shipment_idempotency_keys")?,
            indexes: FACETS
                .iter()
                .map(|facet| db.open_tree(facet.tree_name()))
                .collect::<sled::Result<_>>()?,
        })
    }

    fn index(&self, facet: Facet) -> &sled::Tree {
        &self.indexes[facet.index()]
    }
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

impl Store {
    /// The shipments with these ids; unknown ids are left out.
    pub fn shipments(&self, ids: &[ShipmentId]) -> Result<HashMap<ShipmentId, Shipment>> {
        self.count_call();
        let mut found = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(shipment) = self.read_shipment(*id)? {
                found.insert(*id, shipment);
            }
        }
        Ok(found)
    }

    fn read_shipment(&self, id: ShipmentId) -> Result<Option<Shipment>> {
        self.trees
            .shipments
            .records
            .get(id_key(id))?
            .map(|bytes| decode(&bytes, "shipment"))
            .transpose()
    }

    /// The shipment with this reference (any case), if any.
    pub fn shipment_by_reference(&self, reference: &str) -> Result<Option<Shipment>> {
        self.count_call();
        let reference = reference.trim().to_uppercase();
        match self
            .trees
            .shipments
            .by_reference
            .get(reference.as_bytes())?
        {
            Some(id) => self.read_shipment(id_from_suffix(&id)?),
            None => Ok(None),
        }
    }

    /// How many shipments were generated for load tests.
    pub fn synthetic_count(&self) -> Result<u64> {
        self.counter(Facet::Synthetic, &synthetic_value(true))
    }

    fn counter(&self, facet: Facet, value: &[u8]) -> Result<u64> {
        let bytes = self.trees.shipments.counts.get(counter_key(facet, value))?;
        decode_counter(bytes.as_deref())
    }

    /// Writes shipments and all their index entries and counters in one
    /// transaction: either all of them are stored or none. Returns the
    /// shipments as stored (for a delete, as they were), with their ids.
    /// Call [`Store::make_durable`] before acknowledging.
    pub fn write_shipments(&self, writes: Vec<ShipmentWrite>) -> Result<Vec<Shipment>> {
        let trees = &self.trees.shipments;
        let mut all: Vec<&sled::Tree> = vec![
            &trees.records,
            &trees.by_reference,
            &trees.counts,
            &self.trees.meta,
            &trees.idempotency,
        ];
        all.extend(trees.indexes.iter());
        let stored = all
            .as_slice()
            .transaction(|tx| write_in(tx, &writes))
            .map_err(super::from_transaction)?;
        self.commit.committed();
        Ok(stored)
    }

    /// Several pages of shipments in one call.
    pub fn shipment_pages(&self, queries: &[ShipmentQuery]) -> Result<Vec<Page<Shipment>>> {
        self.count_call();
        queries
            .iter()
            .map(|query| self.shipment_page(query))
            .collect()
    }

    fn shipment_page(&self, query: &ShipmentQuery) -> Result<Page<Shipment>> {
        query.filter.validate()?;
        let (facet, value) = self.choose_index(
            &query.filter,
            [query.request.after(), query.request.before()],
        )?;
        let order = match query.order.field {
            ShipmentOrderField::DepartedOn => BY_DEPARTURE,
            ShipmentOrderField::Quantity => BY_QUANTITY,
        };
        let mut listing = Listing::new(facet.tag(), scope(&value, order), query.order.direction);
        if order == BY_DEPARTURE {
            (listing.lower, listing.upper) = date_bounds(&listing.prefix, &query.filter);
        }
        let tree = self.trees.shipments.index(facet);
        let scan = |lower, upper| {
            tree.range::<Vec<u8>, _>((lower, upper))
                .filter_map(|entry| {
                    let loaded = entry.map_err(Error::from).and_then(|(key, _)| {
                        let id = id_from_suffix(&key)?;
                        let shipment = self.read_shipment(id)?.ok_or_else(|| {
                            Error::Corrupt(format!(
                                "{} entry points to missing shipment {id}",
                                facet.tree_name()
                            ))
                        })?;
                        Ok((key.to_vec(), shipment))
                    });
                    match loaded {
                        Ok((_, ref shipment)) if !query.filter.matches(shipment) => None,
                        other => Some(other),
                    }
                })
        };
        paginate(&listing, &query.request, scan)
    }

    /// How many shipments meet each filter, in one call. One condition (with
    /// or without a date range) is read from a counter or counted from index
    /// keys alone; more conditions scan the narrowest index and check each.
    pub fn shipment_counts(&self, filters: &[ShipmentFilter]) -> Result<Vec<u64>> {
        self.count_call();
        filters
            .iter()
            .map(|filter| self.shipment_count(filter))
            .collect()
    }

    fn shipment_count(&self, filter: &ShipmentFilter) -> Result<u64> {
        filter.validate()?;
        let conditions = FACETS
            .iter()
            .filter(|facet| facet.wanted(filter).is_some())
            .count();
        let dated = filter.departed_from.is_some() || filter.departed_to.is_some();
        let (facet, value) = self.choose_index(filter, [None, None])?;
        if conditions <= 1 && !dated {
            return self.counter(facet, &value);
        }
        let prefix = scope(&value, BY_DEPARTURE);
        let (lower, upper) = date_bounds(&prefix, filter);
        let entries = self
            .trees
            .shipments
            .index(facet)
            .range::<Vec<u8>, _>((lower, upper));
        if conditions <= 1 {
            return Ok(entries.count() as u64);
        }
        let mut count = 0;
        for entry in entries {
            let id = id_from_suffix(&entry?.0)?;
            if self
                .read_shipment(id)?
                .is_some_and(|shipment| filter.matches(&shipment))
            {
                count += 1;
            }
        }
        Ok(count)
    }

    /// The index a filtered list scans, and the value within it: the index
    /// a cursor was made for, if the filter still asks for it, else the
    /// narrowest one by its counters.
    fn choose_index(
        &self,
        filter: &ShipmentFilter,
        cursors: [Option<&Position>; 2],
    ) -> Result<(Facet, Vec<u8>)> {
        let candidates: Vec<(Facet, Vec<u8>)> = FACETS
            .iter()
            .filter_map(|facet| facet.wanted(filter).map(|value| (*facet, value)))
            .collect();
        if candidates.is_empty() {
            return Ok((Facet::All, Vec::new()));
        }
        let pinned = candidates.iter().find(|(facet, _)| {
            cursors
                .iter()
                .flatten()
                .any(|position| Listing::owns(position, facet.tag()))
        });
        if let Some(chosen) = pinned {
            return Ok(chosen.clone());
        }
        let mut narrowest = None;
        for (facet, value) in candidates {
            let size = self.counter(facet, &value)?;
            if narrowest
                .as_ref()
                .is_none_or(|(smallest, _, _)| size < *smallest)
            {
                narrowest = Some((size, facet, value));
            }
        }
        Ok(narrowest
            .map(|(_, facet, value)| (facet, value))
            .unwrap_or((Facet::All, Vec::new())))
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

fn decode_counter(bytes: Option<&[u8]>) -> Result<u64> {
    match bytes {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes)
            .map(u64::from_be_bytes)
            .map_err(|_| Error::Corrupt("shipment counter is not 8 bytes".into())),
    }
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<Error>>;

fn abort(error: Error) -> ConflictableTransactionError<Error> {
    ConflictableTransactionError::Abort(error)
}

/// The body of the write transaction. sled may run it more than once, so it
/// only reads and writes through `tx`.
fn write_in(tx: &[TransactionalTree], writes: &[ShipmentWrite]) -> TxResult<Vec<Shipment>> {
    if let Some(marker) = tx[META].get(bulk::MARKER_KEY)? {
        let run = decode(&marker, "bulk insert marker").map_err(abort)?;
        return Err(abort(bulk::unfinished_error(&run)));
    }
    let mut next_id = decode_counter(tx[META].get(NEXT_ID_KEY)?.as_deref())
        .map_err(abort)?
        .max(1);
    let mut deltas: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut results = Vec::with_capacity(writes.len());
    for write in writes {
        let (old, new) = match write {
            ShipmentWrite::Insert {
                shipment,
                idempotency_key,
            } => {
                if let Some(key) = idempotency_key {
                    if let Some(id) = tx[IDEMPOTENCY].get(key.as_bytes())? {
                        let id = id_from_suffix(&id).map_err(abort)?;
                        results.push(stored_in(tx, id)?);
                        continue;
                    }
                    tx[IDEMPOTENCY].insert(key.as_bytes(), &id_key(ShipmentId(next_id)))?;
                }
                let mut shipment = Shipment {
                    id: ShipmentId(next_id),
                    ..shipment.clone()
                };
                next_id += 1;
                if shipment.reference.is_empty() {
                    shipment.reference = format!("SHP-{:08}", shipment.id.0);
                }
                if tx[BY_REFERENCE]
                    .get(shipment.reference.as_bytes())?
                    .is_some()
                {
                    return Err(abort(reference_taken(&shipment.reference)));
                }
                (None, Some(shipment))
            }
            ShipmentWrite::Replace {
                shipment,
                expected_version,
            } => {
                let old = stored_in(tx, shipment.id)?;
                check_version(&old, *expected_version)?;
                let mut new = shipment.clone();
                new.meta.version = old.meta.version + 1;
                if new.reference != old.reference
                    && tx[BY_REFERENCE].get(new.reference.as_bytes())?.is_some()
                {
                    return Err(abort(reference_taken(&new.reference)));
                }
                (Some(old), Some(new))
            }
            ShipmentWrite::Restore(shipment) => {
                if tx[RECORDS].get(id_key(shipment.id))?.is_some()
                    || tx[BY_REFERENCE]
                        .get(shipment.reference.as_bytes())?
                        .is_some()
                {
                    return Err(abort(Error::bad_input(format!(
                        "cannot restore shipment {} ({}): its id or reference is taken",
                        shipment.id, shipment.reference
                    ))));
                }
                next_id = next_id.max(shipment.id.0 + 1);
                (None, Some(shipment.clone()))
            }
            ShipmentWrite::Delete {
                id,
                expected_version,
            } => {
                let old = stored_in(tx, *id)?;
                check_version(&old, *expected_version)?;
                (Some(old), None)
            }
        };
        if let Some(old) = &old {
            tx[RECORDS].remove(&id_key(old.id))?;
            tx[BY_REFERENCE].remove(old.reference.as_bytes())?;
            for_each_entry(old, |facet, value, keys| {
                for key in keys {
                    tx[FIRST_INDEX + facet.index()].remove(key)?;
                }
                *deltas.entry(counter_key(facet, value)).or_default() -= 1;
                Ok(())
            })?;
        }
        if let Some(new) = &new {
            tx[RECORDS].insert(&id_key(new.id), encode(new).map_err(abort)?)?;
            tx[BY_REFERENCE].insert(new.reference.as_bytes(), &id_key(new.id))?;
            for_each_entry(new, |facet, value, keys| {
                for key in keys {
                    tx[FIRST_INDEX + facet.index()].insert(key, &[])?;
                }
                *deltas.entry(counter_key(facet, value)).or_default() += 1;
                Ok(())
            })?;
        }
        results.extend(new.or(old));
    }
    for (key, delta) in deltas {
        let count = decode_counter(tx[COUNTS].get(&key)?.as_deref()).map_err(abort)?;
        let count = count.saturating_add_signed(delta);
        tx[COUNTS].insert(key, &count.to_be_bytes())?;
    }
    tx[META].insert(NEXT_ID_KEY, &next_id.to_be_bytes())?;
    Ok(results)
}

/// The error of a new shipment whose reference another one has.
fn reference_taken(reference: &str) -> Error {
    Error::bad_input(format!(
        "reference: a shipment with reference {reference:?} already exists; references are unique"
    ))
}

/// The stored shipment with this id, read inside the transaction.
fn stored_in(tx: &[TransactionalTree], id: ShipmentId) -> TxResult<Shipment> {
    let bytes = tx[RECORDS]
        .get(id_key(id))?
        .ok_or_else(|| abort(Error::NotFound(format!("no shipment with id {id}"))))?;
    decode(&bytes, "shipment").map_err(abort)
}

/// Refuses a change made against a version that is no longer current.
fn check_version(stored: &Shipment, expected: Option<u32>) -> TxResult<()> {
    match expected {
        Some(expected) if expected != stored.meta.version => Err(abort(Error::Conflict {
            current_version: stored.meta.version,
            expected_version: expected,
        })),
        _ => Ok(()),
    }
}

/// Calls `each(facet, value, keys)` for every value a shipment is indexed
/// under, with its keys in both orders.
fn for_each_entry(
    shipment: &Shipment,
    mut each: impl FnMut(Facet, &[u8], [Vec<u8>; 2]) -> TxResult<()>,
) -> TxResult<()> {
    for facet in FACETS {
        for value in facet.values(shipment) {
            let keys = [BY_DEPARTURE, BY_QUANTITY].map(|order| index_key(&value, order, shipment));
            each(facet, &value, keys)?;
        }
    }
    Ok(())
}

/// Whole-database reads, checks and restores, for `tradegraph check`,
/// `export` and `import`. They reuse the key helpers above, so the check
/// derives every expected entry exactly as a write does.
impl Store {
    /// Every shipment, in id order.
    pub(super) fn scan_shipments(&self) -> impl Iterator<Item = Result<Shipment>> + '_ {
        self.trees
            .shipments
            .records
            .iter()
            .values()
            .map(|value| decode(&value?, "shipment"))
    }

    /// Whether any shipment, index entry, counter or idempotency key is stored.
    pub(super) fn has_shipments(&self) -> bool {
        let trees = &self.trees.shipments;
        [
            &trees.records,
            &trees.by_reference,
            &trees.counts,
            &trees.idempotency,
        ]
        .into_iter()
        .chain(&trees.indexes)
        .any(|tree| !tree.is_empty())
    }

    /// The id the next inserted shipment gets.
    pub(super) fn next_shipment_id(&self) -> Result<u64> {
        Ok(decode_counter(self.trees.meta.get(NEXT_ID_KEY)?.as_deref())?.max(1))
    }

    /// Raises the id the next inserted shipment gets to at least `next`, so
    /// that a restored database never hands out again the id of a shipment
    /// deleted before the backup was made.
    pub(super) fn raise_next_shipment_id(&self, next: u64) -> Result<()> {
        self.trees
            .meta
            .transaction(|meta| {
                let stored = decode_counter(meta.get(NEXT_ID_KEY)?.as_deref()).map_err(abort)?;
                if next > stored {
                    meta.insert(NEXT_ID_KEY, &next.to_be_bytes())?;
                }
                Ok(())
            })
            .map_err(super::from_transaction)?;
        self.commit.committed();
        Ok(())
    }

    /// Checks every shipment, its reference, its index entries and the
    /// counters (see [`Store::check`]): each record decodes under its own
    /// id; the reference index maps its reference to it and every entry of
    /// that index to a shipment with that reference; every facet index has
    /// exactly the entries the shipments' fields call for; every counter
    /// equals the departure-ordered entries under its value; the next id is
    /// greater than every id; idempotency keys name ids that were
    /// assigned; and no bulk insert is unfinished.
    ///
    /// An idempotency key may name a shipment that no longer exists: a
    /// delete leaves the key, so that a retried insert is told the shipment
    /// is gone rather than creating it again. That is not an inconsistency.
    pub(super) fn check_shipments(&self, report: &mut super::check::CheckReport) -> Result<()> {
        if let Some(run) = self.bulk_insert_marker()? {
            report.found(format!(
                "meta: a bulk insert of shipments {}..{} (ids from {}) is unfinished; its counters and the next id are not written yet",
                run.numbers.start, run.numbers.end, run.first_id
            ));
        }
        let largest_id = self.check_shipment_records(report)?;
        self.check_references(report)?;
        for facet in FACETS {
            self.check_facet(facet, report)?;
        }
        self.check_counter_tags(report)?;
        let next_id = self.check_next_id(largest_id, report)?;
        self.check_idempotency_keys(next_id, report)?;
        Ok(())
    }

    /// Checks that each record decodes under its own id and is found by its
    /// reference. Returns the largest id.
    fn check_shipment_records(
        &self,
        report: &mut super::check::CheckReport,
    ) -> Result<Option<ShipmentId>> {
        use super::check::{reason, tree_name};
        let trees = &self.trees.shipments;
        let mut largest_id = None;
        for entry in trees.records.iter() {
            let (key, value) = entry?;
            report.records += 1;
            let shipment: Shipment = match decode(&value, "shipment") {
                Ok(shipment) => shipment,
                Err(error) => {
                    report.found(format!(
                        "{}: {}: {}",
                        tree_name(&trees.records),
                        show_id(&key),
                        reason(error)
                    ));
                    continue;
                }
            };
            let (id, reference) = (shipment.id, &shipment.reference);
            if key.as_ref() != id_key(id) {
                report.found(format!(
                    "{}: the record under {} is shipment {id} ({reference})",
                    tree_name(&trees.records),
                    show_id(&key)
                ));
            }
            largest_id = largest_id.max(Some(id));
            if trees.by_reference.get(reference.as_bytes())?.as_deref() != Some(&id_key(id)[..]) {
                report.found(format!(
                    "shipment {id} ({reference}) is missing from {}",
                    tree_name(&trees.by_reference)
                ));
            }
        }
        Ok(largest_id)
    }

    /// Checks that every entry of the reference index names a shipment
    /// with that reference.
    fn check_references(&self, report: &mut super::check::CheckReport) -> Result<()> {
        use super::check::{show_key, tree_name};
        let tree = &self.trees.shipments.by_reference;
        for entry in tree.iter() {
            let (reference, id) = entry?;
            let (name, shown) = (tree_name(tree), show_key(&reference));
            let Some(id) = id_value(&id) else {
                report.found(format!("{name}: entry {shown} does not hold an id"));
                continue;
            };
            match self.stored_for_check(id)? {
                Stored::Missing => report.found(format!(
                    "{name}: entry {shown} points to missing shipment {id}"
                )),
                Stored::Found(shipment) if shipment.reference.as_bytes() != reference.as_ref() => {
                    report.found(format!(
                        "{name}: entry {shown} points to shipment {id} ({})",
                        shipment.reference
                    ))
                }
                // An undecodable record was reported with the records.
                Stored::Found(_) | Stored::Undecodable => {}
            }
        }
        Ok(())
    }

    /// Checks one facet index against the shipments, and its counters
    /// against the index. The entries every shipment calls for are derived
    /// with [`for_each_entry`], as a write derives them, sorted, and merged
    /// with one scan of the index: a sequential pass instead of a read per
    /// entry, at the cost of holding one index's keys in memory.
    fn check_facet(&self, facet: Facet, report: &mut super::check::CheckReport) -> Result<()> {
        use super::check::show_key;
        let mut expected: Vec<Vec<u8>> = Vec::new();
        for value in self.trees.shipments.records.iter().values() {
            // An undecodable record was reported with the records.
            let Ok(shipment) = decode::<Shipment>(&value?, "shipment") else {
                continue;
            };
            for_each_entry(&shipment, |each, _, keys| {
                if each == facet {
                    expected.extend(keys);
                }
                Ok(())
            })
            .map_err(outside_transaction)?;
        }
        expected.sort_unstable();
        let mut expected = expected.into_iter().peekable();
        // Departure-ordered entries by value, for the counters.
        let mut entries: std::collections::BTreeMap<Vec<u8>, u64> = Default::default();
        for key in self.trees.shipments.index(facet).iter().keys() {
            let key = key?;
            while let Some(missing) = expected.next_if(|next| next[..] < key[..]) {
                self.report_missing_entry(facet, &missing, report)?;
            }
            if expected.next_if(|next| next[..] == key[..]).is_none() {
                self.report_stray_entry(facet, &key, report)?;
            }
            match split_entry(&key) {
                Some((value, BY_DEPARTURE)) => *entries.entry(value.to_vec()).or_default() += 1,
                Some(_) => {}
                None => report.found(format!(
                    "{}: entry {} is not an index key",
                    facet.tree_name(),
                    show_key(&key)
                )),
            }
        }
        for missing in expected {
            self.report_missing_entry(facet, &missing, report)?;
        }

        let counts = &self.trees.shipments.counts;
        for (value, n_entries) in &entries {
            let name = counter_name(facet, value);
            match counts.get(counter_key(facet, value))? {
                None => report.found(format!("counter {name} is missing, index has {n_entries}")),
                Some(bytes) => match decode_counter(Some(&bytes)) {
                    Ok(count) if count == *n_entries => {}
                    Ok(count) => report.found(format!(
                        "counter {name} says {count}, index has {n_entries}"
                    )),
                    Err(_) => report.found(format!("counter {name} is not 8 bytes")),
                },
            }
        }
        // A value whose shipments are all gone keeps its counter at zero.
        let tag = [facet.tag()];
        for entry in counts.scan_prefix(tag) {
            let (key, bytes) = entry?;
            let value = &key[tag.len()..];
            if entries.contains_key(value) {
                continue;
            }
            let name = counter_name(facet, value);
            match decode_counter(Some(&bytes)) {
                Ok(0) => {}
                Ok(count) => report.found(format!("counter {name} says {count}, index has 0")),
                Err(_) => report.found(format!("counter {name} is not 8 bytes")),
            }
        }
        Ok(())
    }

    /// Reports an entry a shipment calls for that its index lacks.
    fn report_missing_entry(
        &self,
        facet: Facet,
        key: &[u8],
        report: &mut super::check::CheckReport,
    ) -> Result<()> {
        let id = id_from_suffix(key)?;
        let reference = match self.stored_for_check(id)? {
            Stored::Found(shipment) => shipment.reference,
            Stored::Missing | Stored::Undecodable => "?".to_owned(),
        };
        report.found(format!(
            "shipment {id} ({reference}) is missing from {}: {}",
            facet.tree_name(),
            show_entry(key)
        ));
        Ok(())
    }

    /// Reports an index entry no shipment calls for.
    fn report_stray_entry(
        &self,
        facet: Facet,
        key: &[u8],
        report: &mut super::check::CheckReport,
    ) -> Result<()> {
        let Ok(id) = id_from_suffix(key) else {
            report.found(format!(
                "{}: entry {} is not an index key",
                facet.tree_name(),
                super::check::show_key(key)
            ));
            return Ok(());
        };
        match self.stored_for_check(id)? {
            Stored::Missing => report.found(format!(
                "{}: entry {} points to missing shipment {id}",
                facet.tree_name(),
                show_entry(key)
            )),
            Stored::Found(shipment) => report.found(format!(
                "{}: entry {} does not match shipment {id} ({})",
                facet.tree_name(),
                show_entry(key),
                shipment.reference
            )),
            // An undecodable record was reported with the records.
            Stored::Undecodable => {}
        }
        Ok(())
    }

    /// Reports counters whose tag names no index.
    fn check_counter_tags(&self, report: &mut super::check::CheckReport) -> Result<()> {
        let counts = &self.trees.shipments.counts;
        for key in counts.iter().keys() {
            let key = key?;
            if !FACETS.iter().any(|facet| key.first() == Some(&facet.tag())) {
                report.found(format!(
                    "{}: counter {} names no index",
                    super::check::tree_name(counts),
                    super::check::show_key(&key)
                ));
            }
        }
        Ok(())
    }

    /// Checks that the next id is greater than every id; returns it, or
    /// `None` when it does not decode.
    fn check_next_id(
        &self,
        largest_id: Option<ShipmentId>,
        report: &mut super::check::CheckReport,
    ) -> Result<Option<u64>> {
        let stored = self.trees.meta.get(NEXT_ID_KEY)?;
        let Ok(next_id) = decode_counter(stored.as_deref()) else {
            report.found("next_shipment_id is not 8 bytes".to_owned());
            return Ok(None);
        };
        if let Some(largest) = largest_id {
            if stored.is_none() {
                report.found(format!(
                    "next_shipment_id is missing, but shipment {largest} exists"
                ));
            } else if next_id <= largest.0 {
                report.found(format!(
                    "next_shipment_id is {next_id}, but shipment {largest} exists; it must be greater than every id"
                ));
            }
        }
        Ok(Some(next_id))
    }

    /// Checks that every idempotency key names an id that was assigned.
    fn check_idempotency_keys(
        &self,
        next_id: Option<u64>,
        report: &mut super::check::CheckReport,
    ) -> Result<()> {
        let tree = &self.trees.shipments.idempotency;
        for entry in tree.iter() {
            let (key, id) = entry?;
            let (name, shown) = (super::check::tree_name(tree), super::check::show_key(&key));
            match id_value(&id) {
                None => report.found(format!("{name}: key {shown} does not hold an id")),
                Some(id) if next_id.is_some_and(|next_id| id.0 >= next_id) => report.found(
                    format!("{name}: key {shown} points to shipment {id}, an id never assigned"),
                ),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The shipment with this id as a check sees it.
    fn stored_for_check(&self, id: ShipmentId) -> Result<Stored> {
        Ok(match self.trees.shipments.records.get(id_key(id))? {
            None => Stored::Missing,
            Some(bytes) => decode(&bytes, "shipment").map_or(Stored::Undecodable, |shipment| {
                Stored::Found(Box::new(shipment))
            }),
        })
    }
}

/// A stored shipment as a check sees it.
enum Stored {
    Missing,
    Undecodable,
    Found(Box<Shipment>),
}

/// The error of a [`for_each_entry`] callback run outside a transaction,
/// where only storage errors can happen.
fn outside_transaction(error: ConflictableTransactionError<Error>) -> Error {
    match error {
        ConflictableTransactionError::Abort(error) => error,
        ConflictableTransactionError::Storage(error) => error.into(),
        ConflictableTransactionError::Conflict => {
            Error::Corrupt("a transaction conflict outside a transaction".into())
        }
    }
}

/// A value that must be exactly one id.
fn id_value(bytes: &[u8]) -> Option<ShipmentId> {
    (bytes.len() == super::keys::ID_LEN)
        .then(|| id_from_suffix(bytes).ok())
        .flatten()
}

/// The value and order byte of an index key (see [`index_key`]).
fn split_entry(key: &[u8]) -> Option<(&[u8], u8)> {
    let end = key.iter().position(|&byte| byte == TEXT_END)?;
    Some((&key[..end], *key.get(end + 1)?))
}

/// An index key as a person reads it: `CN-JS/departure/42`.
fn show_entry(key: &[u8]) -> String {
    let Some((value, order)) = split_entry(key) else {
        return super::check::show_key(key);
    };
    let order = match order {
        BY_DEPARTURE => "departure",
        BY_QUANTITY => "quantity",
        _ => "unknown order",
    };
    let id = id_from_suffix(key).map_or_else(|_| "?".to_owned(), |id| id.to_string());
    if value.is_empty() {
        format!("{order}/{id}")
    } else {
        format!("{}/{order}/{id}", super::check::show_key(value))
    }
}

/// A shipment record key as a person reads it: the id, or hex.
fn show_id(key: &[u8]) -> String {
    id_value(key).map_or_else(|| super::check::show_key(key), |id| id.to_string())
}

/// A counter as a person reads it: `shipments_by_mode/SEA`.
fn counter_name(facet: Facet, value: &[u8]) -> String {
    if value.is_empty() {
        facet.tree_name().to_owned()
    } else {
        format!("{}/{}", facet.tree_name(), super::check::show_key(value))
    }
}
