//! The seed files and synthetic load-test data, and writing them into the
//! store.
//!
//! Seed files live in `seed/` and are compiled into the binary, so an
//! installed binary needs no files beside it; `--seed-dir` reads another
//! copy instead. Every record is checked on load: codes, references,
//! and that each quote stands verbatim in its source document. Seeding is a
//! refresh: it adds and updates seeded records only, never deletes, and
//! leaves alone any record created or changed through the API.

mod files;
mod synthetic;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use serde::de::DeserializeOwned;

use self::files::{
    Checker, CompanyFile, Context, DocumentFile, HubFile, NationalFile, PartnerFile, ProvinceFile,
    RouteFile, ShipmentFile, TradeFlowFile,
};
pub use self::synthetic::{add_synthetic_shipments, finish_synthetic_shipments};
use crate::domain::{
    Company, FreightRoute, Hub, NationalSummary, Origin, Province, Record, RecordMeta, Shipment,
    TradeFlow, TradeFlowKey, TradePartner,
};
use crate::error::{Error, Result};
use crate::store::{Catalog, ShipmentWrite, Store};

/// The seed files compiled into the binary, by their path in `seed/`.
const EMBEDDED: &[(&str, &str)] = &[
    ("sources.json", include_str!("../../seed/sources.json")),
    ("national.json", include_str!("../../seed/national.json")),
    ("provinces.json", include_str!("../../seed/provinces.json")),
    ("partners.json", include_str!("../../seed/partners.json")),
    ("hubs.json", include_str!("../../seed/hubs.json")),
    ("companies.json", include_str!("../../seed/companies.json")),
    ("routes.json", include_str!("../../seed/routes.json")),
    ("shipments.json", include_str!("../../seed/shipments.json")),
    (
        "trade_flows.json",
        include_str!("../../seed/trade_flows.json"),
    ),
    (
        "sources/peoples-daily-2026-02-25.txt",
        include_str!("../../seed/sources/peoples-daily-2026-02-25.txt"),
    ),
];

/// Every seed record, checked and converted to domain values.
#[derive(Debug, Clone)]
pub struct SeedData {
    /// National summaries.
    pub national: Vec<NationalSummary>,
    /// Provinces.
    pub provinces: Vec<Province>,
    /// Trade partners.
    pub partners: Vec<TradePartner>,
    /// Hubs.
    pub hubs: Vec<Hub>,
    /// Companies.
    pub companies: Vec<Company>,
    /// Freight routes.
    pub routes: Vec<FreightRoute>,
    /// Shipments (their ids are assigned when written).
    pub shipments: Vec<Shipment>,
    /// Trade flows.
    pub trade_flows: Vec<TradeFlow>,
}

/// What a seeding run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Records written for the first time.
    pub added: usize,
    /// Seeded records whose content changed in the seed files.
    pub updated: usize,
    /// Seeded records already as the files say.
    pub unchanged: usize,
    /// Records the API created or changed, which seeding leaves alone.
    pub kept: usize,
}

/// Reads the seed files from `dir`, or the compiled-in copy when `None`, and
/// checks every record. Errors name the file, the record and the field.
pub fn load(dir: Option<&Path>) -> Result<SeedData> {
    let read = |name: &str| -> Result<String> {
        match dir {
            None => EMBEDDED
                .iter()
                .find(|(path, _)| *path == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| {
                    seed_error(
                        name,
                        "-",
                        "file",
                        "is not compiled into this binary; use --seed-dir",
                    )
                }),
            Some(dir) => fs::read_to_string(dir.join(name)).map_err(|source| Error::Io {
                context: format!("cannot read seed file {}", dir.join(name).display()),
                source,
            }),
        }
    };

    let documents: Vec<DocumentFile> = parse("sources.json", &read("sources.json")?)?;
    let national: Vec<NationalFile> = parse("national.json", &read("national.json")?)?;
    let provinces: Vec<ProvinceFile> = parse("provinces.json", &read("provinces.json")?)?;
    let partners: Vec<PartnerFile> = parse("partners.json", &read("partners.json")?)?;
    let hubs: Vec<HubFile> = parse("hubs.json", &read("hubs.json")?)?;
    let companies: Vec<CompanyFile> = parse("companies.json", &read("companies.json")?)?;
    let routes: Vec<RouteFile> = parse("routes.json", &read("routes.json")?)?;
    let shipments: Vec<ShipmentFile> = parse("shipments.json", &read("shipments.json")?)?;
    let trade_flows: Vec<TradeFlowFile> = parse("trade_flows.json", &read("trade_flows.json")?)?;

    let mut texts = HashMap::new();
    for document in documents {
        let text = read(&document.file)?;
        if texts
            .insert(document.id.clone(), (document, text))
            .is_some()
        {
            return Err(seed_error(
                "sources.json",
                "-",
                "id",
                "duplicate document id",
            ));
        }
    }
    let context = Context {
        documents: texts,
        provinces: codes(
            "provinces.json",
            provinces.iter().map(ProvinceFile::code),
            crate::domain::ProvinceCode::parse,
        )?,
        partners: codes(
            "partners.json",
            partners.iter().map(PartnerFile::code),
            crate::domain::PartnerCode::parse,
        )?,
        hubs: codes(
            "hubs.json",
            hubs.iter().map(HubFile::code),
            crate::domain::HubCode::parse,
        )?,
        companies: codes(
            "companies.json",
            companies.iter().map(CompanyFile::code),
            crate::domain::CompanyCode::parse,
        )?,
        routes: codes(
            "routes.json",
            routes.iter().map(RouteFile::code),
            crate::domain::RouteCode::parse,
        )?,
    };
    let checker = |file: &'static str, record: String| Checker {
        context: &context,
        file,
        record,
    };

    let mut references = HashSet::new();
    let shipments = shipments
        .iter()
        .map(|file| {
            let checker = checker("shipments.json", file.reference().to_owned());
            if !references.insert(file.reference().to_owned()) {
                return Err(checker.fail("reference", "duplicate reference"));
            }
            file.check(&checker)
        })
        .collect::<Result<_>>()?;
    let mut flow_keys = HashSet::new();
    let trade_flows = trade_flows
        .iter()
        .map(|file| {
            let checker = checker("trade_flows.json", file.name());
            let flow = file.check(&checker)?;
            if !flow_keys.insert((flow.province.clone(), flow.partner.clone(), flow.year)) {
                return Err(
                    checker.fail("year", "duplicate flow for this province, partner and year")
                );
            }
            Ok(flow)
        })
        .collect::<Result<_>>()?;
    Ok(SeedData {
        national: national
            .iter()
            .enumerate()
            .map(|(index, file)| {
                file.check(&checker("national.json", format!("record {}", index + 1)))
            })
            .collect::<Result<_>>()?,
        provinces: provinces
            .iter()
            .map(|f| f.check(&checker("provinces.json", f.code().to_owned())))
            .collect::<Result<_>>()?,
        partners: partners
            .iter()
            .map(|f| f.check(&checker("partners.json", f.code().to_owned())))
            .collect::<Result<_>>()?,
        hubs: hubs
            .iter()
            .map(|f| f.check(&checker("hubs.json", f.code().to_owned())))
            .collect::<Result<_>>()?,
        companies: companies
            .iter()
            .map(|f| f.check(&checker("companies.json", f.code().to_owned())))
            .collect::<Result<_>>()?,
        routes: routes
            .iter()
            .map(|f| f.check(&checker("routes.json", f.code().to_owned())))
            .collect::<Result<_>>()?,
        shipments,
        trade_flows,
    })
}

fn seed_error(file: &str, record: &str, field: &str, message: impl Into<String>) -> Error {
    Error::Seed {
        file: file.to_owned(),
        record: record.to_owned(),
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Parses one seed file, a JSON array of records.
fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<Vec<T>> {
    serde_json::from_str(text).map_err(|error| {
        seed_error(
            file,
            &format!("line {} column {}", error.line(), error.column()),
            "json",
            error.to_string(),
        )
    })
}

/// Parses the codes of one file's records and refuses duplicates.
fn codes<'a, T: Eq + std::hash::Hash>(
    file: &str,
    texts: impl Iterator<Item = &'a str>,
    parse: impl Fn(&str) -> Result<T>,
) -> Result<HashSet<T>> {
    let mut codes = HashSet::new();
    for text in texts {
        let code =
            parse(text).map_err(|error| seed_error(file, text, "code", error.to_string()))?;
        if !codes.insert(code) {
            return Err(seed_error(file, text, "code", "duplicate code"));
        }
    }
    Ok(codes)
}

/// What a refresh does with one seed record, given what is stored.
enum Step<R> {
    Add(R),
    Update(R),
    Unchanged,
    Kept,
}

/// Decides the step for one record: API records are kept, unchanged seeded
/// records are left, changed ones are written with their version raised.
fn step<R: Record + PartialEq + Clone>(stored: Option<R>, seeded: &R) -> Step<R> {
    match stored {
        None => Step::Add(seeded.clone()),
        Some(stored) if stored.meta().origin != Origin::Seed => Step::Kept,
        Some(stored) => {
            let meta = stored.meta();
            if stored == seeded.clone().with_meta(meta) {
                Step::Unchanged
            } else {
                let raised = RecordMeta {
                    version: meta.version + 1,
                    origin: Origin::Seed,
                };
                Step::Update(seeded.clone().with_meta(raised))
            }
        }
    }
}

impl SeedReport {
    /// Counts a step and returns the record to write, if any.
    fn count<R>(&mut self, step: Step<R>) -> Option<R> {
        match step {
            Step::Add(record) => {
                self.added += 1;
                Some(record)
            }
            Step::Update(record) => {
                self.updated += 1;
                Some(record)
            }
            Step::Unchanged => {
                self.unchanged += 1;
                None
            }
            Step::Kept => {
                self.kept += 1;
                None
            }
        }
    }
}

/// Writes the seed data into the store as a refresh (see the module docs)
/// and marks the store seeded. Running it twice leaves the same database.
pub async fn apply(store: &Store, data: &SeedData) -> Result<SeedReport> {
    let mut report = SeedReport::default();
    refresh_catalog(store, &data.national, &mut report).await?;
    refresh_catalog(store, &data.provinces, &mut report).await?;
    refresh_catalog(store, &data.partners, &mut report).await?;
    refresh_catalog(store, &data.hubs, &mut report).await?;
    refresh_catalog(store, &data.companies, &mut report).await?;
    refresh_catalog(store, &data.routes, &mut report).await?;
    for flow in &data.trade_flows {
        let key = TradeFlowKey {
            province: flow.province.clone(),
            partner: flow.partner.clone(),
            year: flow.year,
        };
        if let Some(flow) = report.count(step(store.trade_flow(&key).await?, flow)) {
            store.put_trade_flow(&flow).await?;
        }
    }
    let mut writes = Vec::new();
    for shipment in &data.shipments {
        let stored = store.shipment_by_reference(&shipment.reference).await?;
        let id = stored.as_ref().map(|stored| stored.id);
        // The store assigns ids, so compare against the stored one.
        let seeded = Shipment {
            id: id.unwrap_or(shipment.id),
            ..shipment.clone()
        };
        match (report.count(step(stored, &seeded)), id) {
            (Some(new), None) => writes.push(ShipmentWrite::insert(new)),
            (Some(changed), Some(_)) => writes.push(ShipmentWrite::Replace {
                shipment: changed,
                expected_version: None,
            }),
            (None, _) => {}
        }
    }
    if !writes.is_empty() {
        store.write_shipments(writes).await?;
    }
    store.mark_seeded().await?;
    Ok(report)
}

async fn refresh_catalog<R: Catalog>(
    store: &Store,
    records: &[R],
    report: &mut SeedReport,
) -> Result<()> {
    for record in records {
        if let Some(record) = report.count(step(store.get::<R>(&record.code()).await?, record)) {
            store.put(&record).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PageRequest, ShipmentFilter, ShipmentOrder};
    use crate::store::{ScanBudget, ShipmentQuery, StoreOptions};
    use std::sync::Arc;

    #[tokio::test]
    async fn the_compiled_in_seed_loads_and_seeding_twice_changes_nothing() {
        let data = load(None).unwrap();
        assert_eq!(data.provinces.len(), 31);
        assert_eq!(data.shipments.len(), 4);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        assert!(!store.is_seeded().await.unwrap());
        let first = apply(&store, &data).await.unwrap();
        assert!(store.is_seeded().await.unwrap());
        assert_eq!(first.added, 1 + 31 + 7 + 10 + 3 + 2 + 2 + 4);
        let second = apply(&store, &data).await.unwrap();
        assert_eq!(
            second,
            SeedReport {
                unchanged: first.added,
                ..SeedReport::default()
            }
        );
    }

    #[tokio::test]
    async fn synthetic_shipments_are_reproducible_and_filtered_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        apply(&store, &load(None).unwrap()).await.unwrap();
        assert_eq!(
            add_synthetic_shipments(&store, 12_000).await.unwrap(),
            12_000
        );
        assert_eq!(add_synthetic_shipments(&store, 12_000).await.unwrap(), 0);
        let real = ShipmentFilter {
            synthetic: Some(false),
            ..ShipmentFilter::default()
        };
        assert_eq!(
            store
                .shipment_counts(
                    &[real.clone(), ShipmentFilter::default()],
                    &Arc::new(ScanBudget::unlimited())
                )
                .await
                .unwrap(),
            vec![4, 12_004]
        );
        let query = ShipmentQuery {
            filter: real,
            order: ShipmentOrder::default(),
            request: PageRequest::first(10),
        };
        let page = store
            .shipment_pages(&[query], &Arc::new(ScanBudget::unlimited()))
            .await
            .unwrap()
            .remove(0);
        assert_eq!(page.items.len(), 4);
        assert!(!page.has_next_page);
        let again = tempfile::tempdir().unwrap();
        let other = Store::open(again.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap();
        apply(&other, &load(None).unwrap()).await.unwrap();
        add_synthetic_shipments(&other, 3).await.unwrap();
        let by_reference = async |store: &Store| {
            store
                .shipment_by_reference("SYN-00000003")
                .await
                .unwrap()
                .unwrap()
        };
        assert_eq!(by_reference(&store).await, by_reference(&other).await);
    }
}
