//! In-process benchmarks: store reads and index scans, and the scenario
//! queries of `benches/scenarios.json` run by the schema and serialized to
//! JSON bytes, as the server does for each request, without HTTP.
//!
//! `cargo bench --bench inprocess` seeds a temporary database from the
//! built-in seed files and 10,000 synthetic shipments
//! (`TRADEGRAPH_BENCH_SHIPMENTS=1000000` for another size). The load
//! benchmark (`benches/load.py`) sends the same queries over HTTP.

use std::hint::black_box;

use async_graphql::{Request, Variables};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::runtime::Runtime;

use tradegraph::auth::WriteTokens;
use tradegraph::config::Cli;
use tradegraph::domain::{
    Direction, Hub, PageRequest, Province, ProvinceCode, ShipmentFilter, ShipmentOrder,
    ShipmentOrderField,
};
use tradegraph::events::Events;
use tradegraph::graphql::{build_api, Api};
use tradegraph::store::{ScanBudget, ShipmentQuery, Store, StoreOptions};

/// The server's allocator (`src/main.rs`), so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Synthetic shipments in the database unless `TRADEGRAPH_BENCH_SHIPMENTS`
/// says otherwise: enough for deep pages, seeded in a few seconds.
const DEFAULT_SHIPMENTS: u64 = 10_000;

/// How far into Q3's list its deep page starts.
const DEEP_FRACTION: f64 = 0.9;

/// The scenario queries, shared with `benches/load.py`.
const SCENARIOS: &str = include_str!("scenarios.json");

/// A seeded database and the schema over it, as the server builds them.
struct Fixture {
    /// Removed when the fixture is dropped.
    _dir: TempDir,
    store: Store,
    api: Api,
    runtime: Runtime,
    scenarios: Value,
}

impl Fixture {
    fn new() -> Self {
        let n_shipments = std::env::var("TRADEGRAPH_BENCH_SHIPMENTS")
            .ok()
            .map(|n| n.parse().expect("TRADEGRAPH_BENCH_SHIPMENTS is a number"))
            .unwrap_or(DEFAULT_SHIPMENTS);
        // The loaders spawn their batches on the runtime that executes.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = runtime
            .block_on(Store::open(dir.path(), StoreOptions::new(128 << 20)))
            .expect("open the store");
        let seed = tradegraph::seed::load(None).expect("the built-in seed files load");
        runtime
            .block_on(tradegraph::seed::apply(&store, &seed))
            .expect("seed the store");
        runtime
            .block_on(tradegraph::seed::add_synthetic_shipments(
                &store,
                n_shipments,
            ))
            .expect("add synthetic shipments");
        // The server's defaults, as `app` maps them from the command line.
        let args = <Cli as clap::Parser>::parse_from(["tradegraph"]).serve;
        let options = tradegraph::app::schema_options(&args).expect("the default settings");
        let tokens = WriteTokens::from_hex([]).expect("no write tokens");
        let api = build_api(store.clone(), tokens, Events::default(), options);
        Self {
            _dir: dir,
            store,
            api,
            runtime,
            scenarios: serde_json::from_str(SCENARIOS).expect("scenarios.json is JSON"),
        }
    }

    /// A scenario's request, with `extra` variables added to its own.
    fn request(&self, scenario: &str, extra: Value) -> Request {
        let mut variables = self.scenarios[scenario]["variables"].clone();
        if let (Some(variables), Value::Object(extra)) = (variables.as_object_mut(), extra) {
            variables.extend(extra);
        }
        Request::new(self.scenarios[scenario]["query"].as_str().expect("a query"))
            .variables(Variables::from_json(variables))
    }

    /// Executes a request and serializes the response, as the server does.
    fn execute(&self, request: Request) -> Vec<u8> {
        let response = self.runtime.block_on(self.api.execute(request));
        serde_json::to_vec(&response).expect("a response serializes")
    }

    /// Executes a request that must succeed, and returns its JSON.
    fn execute_checked(&self, request: Request) -> Value {
        let body: Value = serde_json::from_slice(&self.execute(request)).expect("JSON");
        assert!(
            body.get("errors").is_none() && !body["data"].is_null(),
            "a scenario query failed: {body}"
        );
        body
    }

    /// The cursor after which Q3's page starts `DEEP_FRACTION` of the way
    /// into its list, found as a client finds it: by paging with Q3.
    fn deep_cursor(&self) -> Value {
        let first = self.execute_checked(self.request("q3", json!({})));
        let total = first["data"]["shipments"]["totalCount"]
            .as_u64()
            .expect("a count");
        let target = (total as f64 * DEEP_FRACTION) as u64;
        let (mut seen, mut page) = (0, first);
        loop {
            let shipments = &page["data"]["shipments"];
            seen += shipments["edges"].as_array().map_or(0, Vec::len) as u64;
            let cursor = shipments["pageInfo"]["endCursor"].clone();
            if seen >= target || shipments["pageInfo"]["hasNextPage"] != true {
                return cursor;
            }
            page = self.execute_checked(self.request("q3", json!({ "after": cursor })));
        }
    }
}

/// Store calls the resolvers make, without GraphQL (each on the runtime:
/// the store is async, and sled answers inline).
fn store_reads(c: &mut Criterion, fixture: &Fixture) {
    let store = &fixture.store;
    let runtime = &fixture.runtime;
    let jiangsu = ProvinceCode::parse("CN-JS").expect("a province code");
    let hub_codes: Vec<_> = runtime
        .block_on(store.all::<Hub>())
        .expect("hubs")
        .into_iter()
        .map(|hub| hub.code)
        .collect();
    let filter = ShipmentFilter {
        origin_province: Some(ProvinceCode::parse("CN-GD").expect("a province code")),
        ..ShipmentFilter::default()
    };
    let first_page = ShipmentQuery {
        filter: filter.clone(),
        order: ShipmentOrder {
            field: ShipmentOrderField::DepartedOn,
            direction: Direction::Ascending,
        },
        request: PageRequest::first(20),
    };
    let budget = std::sync::Arc::new(ScanBudget::unlimited());
    let ids: Vec<_> = runtime
        .block_on(store.shipment_pages(std::slice::from_ref(&first_page), &budget))
        .expect("a page")
        .remove(0)
        .items
        .into_iter()
        .map(|(_, shipment)| shipment.id)
        .collect();

    let mut group = c.benchmark_group("store");
    group.bench_function("province by code", |b| {
        b.iter(|| runtime.block_on(store.get::<Province>(black_box(&jiangsu))))
    });
    group.bench_function("all hubs by code", |b| {
        b.iter(|| runtime.block_on(store.get_many::<Hub>(black_box(&hub_codes))))
    });
    group.bench_function("20 shipments by id", |b| {
        b.iter(|| runtime.block_on(store.shipments(black_box(&ids))))
    });
    group.bench_function("first page of an origin index", |b| {
        b.iter(|| {
            runtime.block_on(
                store.shipment_pages(std::slice::from_ref(black_box(&first_page)), &budget),
            )
        })
    });
    group.bench_function("count of an origin index", |b| {
        b.iter(|| {
            runtime
                .block_on(store.shipment_counts(std::slice::from_ref(black_box(&filter)), &budget))
        })
    });
    group.bench_function("search yiwu", |b| {
        b.iter(|| runtime.block_on(store.search(black_box("yiwu"), 10)))
    });
    group.finish();
}

/// The scenario queries: `Api::execute` and serialization.
fn scenario_queries(c: &mut Criterion, fixture: &Fixture) {
    let deep = json!({ "after": fixture.deep_cursor() });
    let cases = [
        ("q1 province card", "q1", json!({})),
        ("q2 nested fan-out", "q2", json!({})),
        ("q3 first page", "q3", json!({})),
        ("q3 page 90% deep", "q3", deep),
        ("q4 search", "q4", json!({})),
    ];
    let mut group = c.benchmark_group("execute and serialize");
    for (name, scenario, extra) in cases {
        // Time only answers that are right, not fast errors.
        fixture.execute_checked(fixture.request(scenario, extra.clone()));
        group.bench_function(name, |b| {
            b.iter(|| fixture.execute(fixture.request(scenario, extra.clone())))
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let fixture = Fixture::new();
    store_reads(c, &fixture);
    scenario_queries(c, &fixture);
}

criterion_group!(inprocess, benches);
criterion_main!(inprocess);
