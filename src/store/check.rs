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
    pub async fn check(&self) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        self.check_catalog::<NationalSummary>(&mut report).await?;
        self.check_catalog::<Province>(&mut report).await?;
        self.check_catalog::<TradePartner>(&mut report).await?;
        self.check_catalog::<Hub>(&mut report).await?;
        self.check_catalog::<Company>(&mut report).await?;
        self.check_catalog::<FreightRoute>(&mut report).await?;
        self.check_trade_flows(&mut report).await?;
        self.check_shipments(&mut report).await?;
        Ok(report)
    }
}

pub(crate) use super::backend::show_key;

/// Why a stored value was refused, without the "corrupt database" prefix
/// that every line of a check report would otherwise repeat.
pub(super) fn reason(error: Error) -> String {
    match error {
        Error::Corrupt(message) => message,
        other => other.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{Shipment, ShipmentFilter, TransportMode};
    use crate::seed;
    use crate::store::backend::Space;
    use crate::store::keys::i32_key;
    use crate::store::{ScanBudget, ShipmentWrite, StoreOptions};
    use std::sync::Arc;

    /// A seeded store with a few synthetic shipments.
    pub(crate) async fn seeded() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        seed::apply(&store, &seed::load(None).unwrap())
            .await
            .unwrap();
        seed::add_synthetic_shipments(&store, 20).await.unwrap();
        (dir, store)
    }

    pub(crate) async fn every_shipment(store: &Store) -> Vec<Shipment> {
        let mut all = Vec::new();
        let mut batches = store.shipment_batches();
        while let Some(batch) = batches.next().await.unwrap() {
            all.extend(batch);
        }
        all
    }

    pub(crate) async fn by_reference(store: &Store, reference: &str) -> Shipment {
        store
            .shipment_by_reference(reference)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_seeded_database_is_consistent() {
        let (_dir, store) = seeded().await;

        let report = store.check().await.unwrap();

        assert_eq!(report.problems, Vec::<String>::new());
        assert_eq!(report.records, 80);
        assert!(report.is_consistent());
    }

    #[tokio::test]
    async fn an_empty_database_is_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();

        let report = store.check().await.unwrap();

        assert_eq!(report, CheckReport::default());
    }

    #[tokio::test]
    async fn wrong_missing_and_stray_counters_are_named() {
        let (_dir, store) = seeded().await;
        let counted = async |mode| {
            let filter = ShipmentFilter {
                mode: Some(mode),
                ..Default::default()
            };
            store
                .shipment_counts(&[filter], &Arc::new(ScanBudget::unlimited()))
                .await
                .unwrap()[0]
        };
        let (n_sea, n_rail) = (
            counted(TransportMode::Sea).await,
            counted(TransportMode::Rail).await,
        );
        // The counters of the mode index: its tag, then the value.
        let counts = Space::ShipmentCounts;
        store
            .poke(counts, b"\x16SEA", Some(&999u64.to_be_bytes()))
            .await;
        store.poke(counts, b"\x16RAIL", None).await;
        store.poke(counts, &[0x7f], Some(&1u64.to_be_bytes())).await;

        let report = store.check().await.unwrap();

        assert_eq!(
            report.problems,
            [
                format!("counter shipments_by_mode/RAIL is missing, index has {n_rail}"),
                format!("counter shipments_by_mode/SEA says 999, index has {n_sea}"),
                "shipment_counts: counter 0x7f names no index".to_owned(),
            ]
        );
    }

    #[tokio::test]
    async fn an_undecodable_shipment_is_named_once() {
        let (_dir, store) = seeded().await;
        let shipment = by_reference(&store, "SYN-00000004").await;
        store
            .poke(Space::Shipments, &shipment.id.0.to_be_bytes(), Some(&[]))
            .await;

        let report = store.check().await.unwrap();

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

    #[tokio::test]
    async fn the_idempotency_key_of_a_deleted_shipment_is_no_inconsistency() {
        let (_dir, store) = seeded().await;
        let shipment = by_reference(&store, "SYN-00000001").await;
        let inserted = store
            .write_shipments(vec![ShipmentWrite::Insert {
                shipment: Shipment {
                    reference: String::new(),
                    ..shipment
                },
                idempotency_key: Some("retry-1".into()),
            }])
            .await
            .unwrap();
        store
            .write_shipments(vec![ShipmentWrite::Delete {
                id: inserted[0].id,
                expected_version: None,
            }])
            .await
            .unwrap();

        let report = store.check().await.unwrap();

        assert_eq!(report.problems, Vec::<String>::new());
    }

    #[tokio::test]
    async fn flows_idempotency_keys_and_the_next_id_are_checked() {
        let (_dir, store) = seeded().await;
        let flow = store.all_trade_flows().await.unwrap().remove(0);
        let partner_key = [
            flow.partner.as_str().as_bytes(),
            &[0],
            flow.province.as_str().as_bytes(),
            &[0],
            &i32_key(flow.year),
        ]
        .concat();
        let by_partner = Space::TradeFlowsByPartner;
        store.poke(by_partner, &partner_key, None).await;
        let stray = [&b"ZZ\0CN-GD\0"[..], &i32_key(1999)].concat();
        store.poke(by_partner, &stray, Some(&[])).await;
        store
            .poke(Space::Meta, b"next_shipment_id", Some(&3u64.to_be_bytes()))
            .await;
        store
            .poke(
                Space::ShipmentIdempotencyKeys,
                b"retry-1",
                Some(&9999u64.to_be_bytes()),
            )
            .await;

        let report = store.check().await.unwrap();

        let largest_id = every_shipment(&store)
            .await
            .iter()
            .map(|shipment| shipment.id)
            .max()
            .unwrap();
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
