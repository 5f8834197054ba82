//! The consistency check of the shipment layout (see [`Store::check`]):
//! every expected entry is derived with the function a write uses.

use std::collections::BTreeMap;

use std::ops::Bound::Included;

use super::blocks::Verifier;
use super::{
    bulk, counter_key, entries_of, id_from_suffix, id_key, scope_len, Facet, BY_DEPARTURE,
    BY_QUANTITY, FACETS, NEXT_ID_KEY,
};
use crate::domain::{Shipment, ShipmentId};
use crate::error::Result;
use crate::store::backend::{decode_counter, KeyRange, Space};
use crate::store::check::{reason, show_key, CheckReport};
use crate::store::codec::decode;
use crate::store::format::Stored as _;
use crate::store::Store;

impl Store {
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
    pub(in crate::store) async fn check_shipments(&self, report: &mut CheckReport) -> Result<()> {
        if let Some(run) = self.bulk_insert_marker().await? {
            report.found(format!(
                "meta: a bulk insert of shipments {}..{} (ids from {}) is unfinished; its counters are not written yet",
                run.numbers.start, run.numbers.end, run.first_id
            ));
        }
        let largest_id = self.check_shipment_records(report).await?;
        self.check_references(report).await?;
        for facet in FACETS {
            self.check_facet(facet, report).await?;
        }
        self.check_counter_tags(report).await?;
        let next_id = self.check_next_id(largest_id, report).await?;
        self.check_idempotency_keys(next_id, report).await?;
        Ok(())
    }

    /// Checks that each record decodes under its own id and is found by its
    /// reference. Returns the largest id.
    async fn check_shipment_records(&self, report: &mut CheckReport) -> Result<Option<ShipmentId>> {
        let (records, by_reference) = (Space::Shipments, Space::ShipmentsByReference);
        let mut largest_id = None;
        let mut batches = self.batches(records);
        while let Some(batch) = batches.next().await? {
            let mut found = Vec::with_capacity(batch.len());
            for (key, value) in batch {
                report.records += 1;
                let shipment = match Shipment::decode(&value) {
                    Ok(shipment) => shipment,
                    Err(error) => {
                        report.found(format!(
                            "{}: {}: {}",
                            records.name(),
                            show_id(&key),
                            reason(error)
                        ));
                        continue;
                    }
                };
                let (id, reference) = (shipment.id, &shipment.reference);
                if key != id_key(id) {
                    report.found(format!(
                        "{}: the record under {} is shipment {id} ({reference})",
                        records.name(),
                        show_id(&key)
                    ));
                }
                largest_id = largest_id.max(Some(id));
                found.push(shipment);
            }
            let references: Vec<Vec<u8>> = found
                .iter()
                .map(|shipment| shipment.reference.as_bytes().to_vec())
                .collect();
            let indexed = self.backend.get_many(by_reference, &references).await?;
            for (shipment, indexed) in found.iter().zip(indexed) {
                if indexed.as_deref() != Some(&id_key(shipment.id)[..]) {
                    report.found(format!(
                        "shipment {} ({}) is missing from {}",
                        shipment.id,
                        shipment.reference,
                        by_reference.name()
                    ));
                }
            }
        }
        Ok(largest_id)
    }

    /// Checks that every entry of the reference index names a shipment
    /// with that reference.
    async fn check_references(&self, report: &mut CheckReport) -> Result<()> {
        let name = Space::ShipmentsByReference.name();
        let mut batches = self.batches(Space::ShipmentsByReference);
        while let Some(batch) = batches.next().await? {
            for (reference, id) in batch {
                let shown = show_key(&reference);
                let Some(id) = id_value(&id) else {
                    report.found(format!("{name}: entry {shown} does not hold an id"));
                    continue;
                };
                match self.stored_for_check(id).await? {
                    Stored::Missing => report.found(format!(
                        "{name}: entry {shown} points to missing shipment {id}"
                    )),
                    Stored::Found(shipment) if shipment.reference.as_bytes() != reference => report
                        .found(format!(
                            "{name}: entry {shown} points to shipment {id} ({})",
                            shipment.reference
                        )),
                    // An undecodable record was reported with the records.
                    Stored::Found(_) | Stored::Undecodable => {}
                }
            }
        }
        Ok(())
    }

    /// Checks one facet's part of the index against the shipments, and its
    /// counters against the index. Every block is verified (see
    /// `blocks::Verifier`); the entries every shipment calls for are derived
    /// with [`entries_of`], as a write derives them, sorted, and merged with
    /// one scan of the facet's blocks: a sequential pass instead of a read
    /// per entry, at the cost of holding one facet's entries in memory.
    async fn check_facet(&self, facet: Facet, report: &mut CheckReport) -> Result<()> {
        let mut expected: Vec<Vec<u8>> = Vec::new();
        let mut records = self.batches(Space::Shipments);
        while let Some(batch) = records.next().await? {
            for (_, value) in batch {
                // An undecodable record was reported with the records.
                let Ok(shipment) = Shipment::decode(&value) else {
                    continue;
                };
                expected.extend(
                    entries_of(&shipment)
                        .into_iter()
                        .filter(|entry| entry.facet == facet)
                        .map(|entry| [entry.scope, entry.suffix].concat()),
                );
            }
        }
        expected.sort_unstable();
        let mut expected = expected.into_iter().peekable();
        // Departure-ordered entries by value, for the counters.
        let mut entries: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut verifier = Verifier::new(Space::ShipmentIndex, scope_len);
        let facet_keys = KeyRange::new(
            Included(vec![facet.id()]),
            crate::store::keys::prefix_end(&[facet.id()]),
        );
        let mut index = self.batches_in(Space::ShipmentIndex, facet_keys);
        let mut found = Vec::new();
        while let Some(batch) = index.next().await? {
            for (block, value) in batch {
                let verified = verifier.verify_block(&block, &value);
                for problem in verified.problems {
                    report.found(problem);
                }
                found.extend(verified.entries);
            }
            for key in found.drain(..) {
                while let Some(missing) = expected.next_if(|next| next[..] < key[..]) {
                    self.report_missing_entry(facet, &missing, report).await?;
                }
                if expected.next_if(|next| next[..] == key[..]).is_none() {
                    self.report_stray_entry(facet, &key, report).await?;
                }
                match split_entry(&key) {
                    Some((value, BY_DEPARTURE)) => *entries.entry(value.to_vec()).or_default() += 1,
                    Some(_) => {}
                    None => report.found(format!(
                        "{}: entry {} is not an index key",
                        facet.name(),
                        show_key(&key)
                    )),
                }
            }
        }
        for missing in expected {
            self.report_missing_entry(facet, &missing, report).await?;
        }

        let counts = Space::ShipmentCounts;
        for (value, n_entries) in &entries {
            let name = counter_name(facet, value);
            match self.backend.get(counts, &counter_key(facet, value)).await? {
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
        let mut counters = self.batches(counts);
        while let Some(batch) = counters.next().await? {
            for (key, bytes) in batch {
                let Some(value) = key.strip_prefix(&[facet.id()]) else {
                    continue;
                };
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
        }
        Ok(())
    }

    /// Reports an entry a shipment calls for that its index lacks.
    async fn report_missing_entry(
        &self,
        facet: Facet,
        key: &[u8],
        report: &mut CheckReport,
    ) -> Result<()> {
        let id = id_from_suffix(key)?;
        let reference = match self.stored_for_check(id).await? {
            Stored::Found(shipment) => shipment.reference,
            Stored::Missing | Stored::Undecodable => "?".to_owned(),
        };
        report.found(format!(
            "shipment {id} ({reference}) is missing from {}: {}",
            facet.name(),
            show_entry(key)
        ));
        Ok(())
    }

    /// Reports an index entry no shipment calls for.
    async fn report_stray_entry(
        &self,
        facet: Facet,
        key: &[u8],
        report: &mut CheckReport,
    ) -> Result<()> {
        let Ok(id) = id_from_suffix(key) else {
            report.found(format!(
                "{}: entry {} is not an index key",
                facet.name(),
                show_key(key)
            ));
            return Ok(());
        };
        match self.stored_for_check(id).await? {
            Stored::Missing => report.found(format!(
                "{}: entry {} points to missing shipment {id}",
                facet.name(),
                show_entry(key)
            )),
            Stored::Found(shipment) => report.found(format!(
                "{}: entry {} does not match shipment {id} ({})",
                facet.name(),
                show_entry(key),
                shipment.reference
            )),
            // An undecodable record was reported with the records.
            Stored::Undecodable => {}
        }
        Ok(())
    }

    /// Reports counters whose tag names no index.
    async fn check_counter_tags(&self, report: &mut CheckReport) -> Result<()> {
        let counts = Space::ShipmentCounts;
        let mut counters = self.batches(counts);
        while let Some(batch) = counters.next().await? {
            for (key, _) in batch {
                if !FACETS.iter().any(|facet| key.first() == Some(&facet.id())) {
                    report.found(format!(
                        "{}: counter {} names no index",
                        counts.name(),
                        show_key(&key)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that the next id is greater than every id; returns it, or
    /// `None` when it does not decode.
    async fn check_next_id(
        &self,
        largest_id: Option<ShipmentId>,
        report: &mut CheckReport,
    ) -> Result<Option<u64>> {
        let stored = self.backend.get(Space::Meta, NEXT_ID_KEY).await?;
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
    async fn check_idempotency_keys(
        &self,
        next_id: Option<u64>,
        report: &mut CheckReport,
    ) -> Result<()> {
        let name = Space::ShipmentIdempotencyKeys.name();
        let mut keys = self.batches(Space::ShipmentIdempotencyKeys);
        while let Some(batch) = keys.next().await? {
            for (key, id) in batch {
                let shown = show_key(&key);
                match id_value(&id) {
                    None => report.found(format!("{name}: key {shown} does not hold an id")),
                    Some(id) if next_id.is_some_and(|next_id| id.0 >= next_id) => {
                        report.found(format!(
                            "{name}: key {shown} points to shipment {id}, an id never assigned"
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// The shipment with this id as a check sees it.
    async fn stored_for_check(&self, id: ShipmentId) -> Result<Stored> {
        Ok(
            match self.backend.get(Space::Shipments, &id_key(id)).await? {
                None => Stored::Missing,
                Some(bytes) => Shipment::decode(&bytes).map_or(Stored::Undecodable, |shipment| {
                    Stored::Found(Box::new(shipment))
                }),
            },
        )
    }

    /// The marker of an unfinished bulk insert.
    pub(in crate::store) async fn bulk_insert_marker(&self) -> Result<Option<bulk::BulkInsert>> {
        self.backend
            .get(Space::Meta, bulk::MARKER_KEY)
            .await?
            .map(|bytes| decode(&bytes, "bulk insert marker"))
            .transpose()
    }
}

/// A stored shipment as a check sees it.
enum Stored {
    Missing,
    Undecodable,
    Found(Box<Shipment>),
}

/// A value that must be exactly one id.
fn id_value(bytes: &[u8]) -> Option<ShipmentId> {
    (bytes.len() == crate::store::keys::ID_LEN)
        .then(|| id_from_suffix(bytes).ok())
        .flatten()
}

/// The value and order byte of a logical index key (see `scope`).
fn split_entry(key: &[u8]) -> Option<(&[u8], u8)> {
    let end = scope_len(key)?;
    Some((&key[1..end - 2], key[end - 1]))
}

/// An index key as a person reads it: `CN-JS/departure/42`.
fn show_entry(key: &[u8]) -> String {
    let Some((value, order)) = split_entry(key) else {
        return show_key(key);
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
        format!("{}/{order}/{id}", show_key(value))
    }
}

/// A shipment record key as a person reads it: the id, or hex.
fn show_id(key: &[u8]) -> String {
    id_value(key).map_or_else(|| show_key(key), |id| id.to_string())
}

/// A counter as a person reads it: `shipments_by_mode/SEA`.
fn counter_name(facet: Facet, value: &[u8]) -> String {
    if value.is_empty() {
        facet.name().to_owned()
    } else {
        format!("{}/{}", facet.name(), show_key(value))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{blocks, scope, suffix};
    use super::*;
    use crate::store::check::tests::{by_reference, every_shipment, seeded};
    use crate::store::txn::transact;
    use crate::store::ScanBudget;
    use std::sync::Arc;

    /// Adds or removes one index entry as a write would, leaving records
    /// and counters alone: the inconsistency a bug would leave.
    async fn change_entry(store: &Store, scope: &[u8], suffix: &[u8], add: bool) {
        let changed: Result<_> = async {
            transact!(store, |txn| {
                if add {
                    blocks::insert(&mut txn, Space::ShipmentIndex, scope, suffix).await?;
                } else {
                    blocks::remove(&mut txn, Space::ShipmentIndex, scope, suffix).await?;
                }
            })
        }
        .await;
        changed.unwrap();
    }

    #[tokio::test]
    async fn a_missing_index_entry_and_its_counter_are_named() {
        let (_dir, store) = seeded().await;
        let shipment = every_shipment(&store)
            .await
            .into_iter()
            .find(|shipment| !shipment.hubs().is_empty())
            .unwrap();
        let hub = shipment.hubs()[0].as_str().to_owned();
        let filter = crate::domain::ShipmentFilter {
            hub: Some(shipment.hubs()[0].clone()),
            ..Default::default()
        };
        let before = store
            .shipment_counts(&[filter], &Arc::new(ScanBudget::unlimited()))
            .await
            .unwrap()[0];
        let departures = scope(Facet::Hub, hub.as_bytes(), BY_DEPARTURE);
        change_entry(&store, &departures, &suffix(BY_DEPARTURE, &shipment), false).await;

        let report = store.check().await.unwrap();

        assert_eq!(
            report.problems,
            [
                format!(
                    "shipment {} ({}) is missing from shipments_by_hub: {hub}/departure/{}",
                    shipment.id, shipment.reference, shipment.id
                ),
                format!(
                    "counter shipments_by_hub/{hub} says {before}, index has {}",
                    before - 1
                ),
            ]
        );
    }

    #[tokio::test]
    async fn stray_entries_and_broken_blocks_are_named() {
        let (_dir, store) = seeded().await;
        let other = by_reference(&store, "SYN-00000002").await;
        // Entries in the quantity order, so that no counter changes.
        let tibet = scope(Facet::Origin, b"CN-XZ", BY_QUANTITY);
        let ghost = [&[0][..], &9999u64.to_be_bytes()].concat();
        change_entry(&store, &tibet, &ghost, true).await;
        change_entry(&store, &tibet, &suffix(BY_QUANTITY, &other), true).await;
        // A block of the mode index whose bytes are not a block.
        let sea = [scope(Facet::Mode, b"SEA", BY_QUANTITY), vec![0xFF]].concat();
        store.poke(Space::ShipmentIndex, &sea, Some(&[7])).await;

        let report = store.check().await.unwrap();

        let sea_shown = show_key(&sea);
        let problems: Vec<&str> = report.problems.iter().map(String::as_str).collect();
        assert_eq!(
            problems[..2],
            [
                // The entry of no quantity sorts first.
                "shipments_by_origin: entry CN-XZ/quantity/9999 points to missing shipment 9999"
                    .to_owned(),
                format!(
                    "shipments_by_origin: entry CN-XZ/quantity/{} does not match shipment {} (SYN-00000002)",
                    other.id, other.id
                ),
            ]
        );
        assert!(
            problems[2].starts_with(&format!(
                "shipment_index: block {sea_shown} does not decode"
            )),
            "{problems:?}"
        );
    }
}
