//! `tradegraph check`: reads the whole database and reports every
//! inconsistency between records, index entries and counters.
//!
//! This module only orchestrates and words the report; each kind of record
//! checks its own trees where its private layout lives (`catalog`, `flows`,
//! `shipments`), so key layouts stay private to the code that writes them
//! and each expected entry is derived as a write derives it. A check reads
//! everything and writes nothing. Problems it finds are collected as lines
//! for a person; only failures to read at all (I/O) end it early.

use super::Store;
use crate::domain::{Company, FreightRoute, Hub, NationalSummary, Province, TradePartner};
use crate::error::{Error, Result};

/// What [`Store::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// How many records were read: catalog records, trade flows and
    /// shipments. Index entries and counters are checked but not counted.
    pub records: u64,
    /// Each inconsistency as one line a person can read, in the order found,
    /// e.g. `counter shipments_by_mode/SEA says 10, index has 9`.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// Whether the check found nothing wrong.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }

    /// Notes one inconsistency.
    pub(super) fn found(&mut self, problem: String) {
        self.problems.push(problem);
    }
}

impl Store {
    /// Reads the whole database and verifies that every record decodes and
    /// sits under its own key, that every index entry points to a record
    /// that matches it, that every record is in every index it belongs to,
    /// and that every counter agrees with its index. Inconsistencies are
    /// reported, not returned as errors; an error means the database could
    /// not be read at all. Reads everything, so it takes time in proportion
    /// to the size of the database; it does not count as a store call.
    pub fn check(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        self.check_catalog::<NationalSummary>(&mut report)?;
        self.check_catalog::<Province>(&mut report)?;
        self.check_catalog::<TradePartner>(&mut report)?;
        self.check_catalog::<Hub>(&mut report)?;
        self.check_catalog::<Company>(&mut report)?;
        self.check_catalog::<FreightRoute>(&mut report)?;
        self.check_trade_flows(&mut report)?;
        self.check_shipments(&mut report)?;
        Ok(report)
    }
}

/// A key as a person reads it: the text when it is printable, else hex.
pub(super) fn show_key(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if !text.is_empty() && !text.chars().any(char::is_control) => text.to_owned(),
        _ => format!("0x{}", hex::encode(key)),
    }
}

/// Why a stored value was refused, without the "corrupt database" prefix
/// that every line of a check report would otherwise repeat.
pub(super) fn reason(error: Error) -> String {
    match error {
        Error::Corrupt(message) => message,
        other => other.to_string(),
    }
}

/// The name of a tree, for report lines.
pub(super) fn tree_name(tree: &sled::Tree) -> String {
    String::from_utf8_lossy(&tree.name()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Shipment, ShipmentFilter, ShipmentId, TransportMode};
    use crate::seed;
    use crate::store::keys::i32_key;
    use crate::store::{ShipmentWrite, StoreOptions};

    /// A seeded store with a few synthetic shipments.
    fn seeded() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20)).unwrap();
        seed::apply(&store, &seed::load(None).unwrap()).unwrap();
        seed::add_synthetic_shipments(&store, 20).unwrap();
        (dir, store)
    }

    fn tree(store: &Store, name: &str) -> sled::Tree {
        store.db.open_tree(name).unwrap()
    }

    #[test]
    fn a_seeded_database_is_consistent() {
        let (_dir, store) = seeded();

        let report = store.check().unwrap();

        assert_eq!(report.problems, Vec::<String>::new());
        assert_eq!(report.records, 80);
        assert!(report.is_consistent());
    }

    #[test]
    fn an_empty_database_is_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20)).unwrap();

        let report = store.check().unwrap();

        assert_eq!(report, CheckReport::default());
    }

    #[test]
    fn a_missing_index_entry_and_its_counter_are_named() {
        let (_dir, store) = seeded();
        let shipment = store
            .scan_shipments()
            .map(Result::unwrap)
            .find(|shipment| !shipment.hubs().is_empty())
            .unwrap();
        let hub = shipment.hubs()[0].as_str().to_owned();
        let by_hub = tree(&store, "shipments_by_hub");
        let prefix = [hub.as_bytes(), &[0, b'd']].concat();
        let id_suffix = shipment.id.0.to_be_bytes();
        let entry = by_hub
            .scan_prefix(&prefix)
            .keys()
            .map(Result::unwrap)
            .find(|key| key.ends_with(&id_suffix))
            .unwrap();
        let before = by_hub.scan_prefix(&prefix).count();
        by_hub.remove(entry).unwrap();

        let report = store.check().unwrap();

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

    #[test]
    fn wrong_missing_and_stray_counters_are_named() {
        let (_dir, store) = seeded();
        let counted = |mode| {
            let filter = ShipmentFilter {
                mode: Some(mode),
                ..Default::default()
            };
            store.shipment_counts(&[filter]).unwrap()[0]
        };
        let (n_sea, n_rail) = (counted(TransportMode::Sea), counted(TransportMode::Rail));
        let counts = tree(&store, "shipment_counts");
        // The counters of the mode index: its tag (0x10 + 6), then the value.
        counts.insert(b"\x16SEA", &999u64.to_be_bytes()).unwrap();
        counts.remove(b"\x16RAIL").unwrap();
        counts.insert([0x7f], &1u64.to_be_bytes()).unwrap();

        let report = store.check().unwrap();

        assert_eq!(
            report.problems,
            [
                format!("counter shipments_by_mode/RAIL is missing, index has {n_rail}"),
                format!("counter shipments_by_mode/SEA says 999, index has {n_sea}"),
                "shipment_counts: counter 0x7f names no index".to_owned(),
            ]
        );
    }

    #[test]
    fn stray_entries_wrong_references_and_undecodable_records_are_named() {
        let (_dir, store) = seeded();
        let shipment = store
            .shipment_by_reference("SYN-00000001")
            .unwrap()
            .unwrap();
        let other = store
            .shipment_by_reference("SYN-00000002")
            .unwrap()
            .unwrap();
        // An entry in the quantity order, so that no counter changes.
        let by_origin = tree(&store, "shipments_by_origin");
        by_origin
            .insert([&b"CN-XZ\0q\0"[..], &9999u64.to_be_bytes()].concat(), &[])
            .unwrap();
        by_origin
            .insert(
                [&b"CN-XZ\0q\0"[..], &other.id.0.to_be_bytes()].concat(),
                &[],
            )
            .unwrap();
        let by_reference = tree(&store, "shipments_by_reference");
        by_reference
            .insert("SYN-00000001", &other.id.0.to_be_bytes())
            .unwrap();
        by_reference
            .insert("GHOST", &ShipmentId(9999).0.to_be_bytes())
            .unwrap();
        let provinces = tree(&store, "provinces");
        provinces.insert("CN-GD", &[]).unwrap();
        let jiangsu = provinces.get("CN-JS").unwrap().unwrap();
        provinces.insert("CN-ZZ", jiangsu).unwrap();

        let report = store.check().unwrap();

        assert_eq!(
            report.problems,
            [
                "provinces: CN-GD: province does not decode: UnexpectedEnd { additional: 1 }"
                    .to_owned(),
                "provinces: the record under CN-ZZ has the code CN-JS".to_owned(),
                format!(
                    "shipment {} (SYN-00000001) is missing from shipments_by_reference",
                    shipment.id
                ),
                "shipments_by_reference: entry GHOST points to missing shipment 9999".to_owned(),
                format!(
                    "shipments_by_reference: entry SYN-00000001 points to shipment {} (SYN-00000002)",
                    other.id
                ),
                format!(
                    "shipments_by_origin: entry CN-XZ/quantity/{} does not match shipment {} (SYN-00000002)",
                    other.id, other.id
                ),
                "shipments_by_origin: entry CN-XZ/quantity/9999 points to missing shipment 9999"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn an_undecodable_shipment_is_named_once() {
        let (_dir, store) = seeded();
        let shipment = store
            .shipment_by_reference("SYN-00000004")
            .unwrap()
            .unwrap();
        tree(&store, "shipments")
            .insert(shipment.id.0.to_be_bytes(), &[])
            .unwrap();

        let report = store.check().unwrap();

        // Its index entries and reference are left alone: nothing can be
        // said about them beyond that the record is unreadable.
        assert_eq!(
            report.problems,
            [format!(
                "shipments: {}: shipment does not decode: UnexpectedEnd {{ additional: 1 }}",
                shipment.id
            )]
        );
    }

    #[test]
    fn the_idempotency_key_of_a_deleted_shipment_is_no_inconsistency() {
        let (_dir, store) = seeded();
        let shipment = store
            .shipment_by_reference("SYN-00000001")
            .unwrap()
            .unwrap();
        let inserted = store
            .write_shipments(vec![ShipmentWrite::Insert {
                shipment: Shipment {
                    reference: String::new(),
                    ..shipment
                },
                idempotency_key: Some("retry-1".into()),
            }])
            .unwrap();
        store
            .write_shipments(vec![ShipmentWrite::Delete {
                id: inserted[0].id,
                expected_version: None,
            }])
            .unwrap();

        let report = store.check().unwrap();

        assert_eq!(report.problems, Vec::<String>::new());
    }

    #[test]
    fn flows_idempotency_keys_and_the_next_id_are_checked() {
        let (_dir, store) = seeded();
        let flow = store.scan_trade_flows().next().unwrap().unwrap();
        let partner_key = [
            flow.partner.as_str().as_bytes(),
            &[0],
            flow.province.as_str().as_bytes(),
            &[0],
            &i32_key(flow.year),
        ]
        .concat();
        let by_partner = tree(&store, "trade_flows_by_partner");
        by_partner.remove(&partner_key).unwrap();
        by_partner
            .insert([&b"ZZ\0CN-GD\0"[..], &i32_key(1999)].concat(), &[])
            .unwrap();
        tree(&store, "meta")
            .insert("next_shipment_id", &3u64.to_be_bytes())
            .unwrap();
        tree(&store, "shipment_idempotency_keys")
            .insert("retry-1", &9999u64.to_be_bytes())
            .unwrap();

        let report = store.check().unwrap();

        let largest_id = store.scan_shipments().map(|s| s.unwrap().id).max().unwrap();
        assert_eq!(
            report.problems,
            [
                format!(
                    "trade flow {}/{}/{} is missing from trade_flows_by_partner",
                    flow.province, flow.partner, flow.year
                ),
                "trade_flows_by_partner: entry ZZ/CN-GD/1999 has no flow".to_owned(),
                format!(
                    "next_shipment_id is 3, but shipment {largest_id} exists; it must be greater than every id"
                ),
                "shipment_idempotency_keys: key retry-1 points to shipment 9999, an id never assigned"
                    .to_owned(),
            ]
        );
    }
}
