//! Work bounded before and while it runs: what filtered lists cost, the
//! scan limit on counts and pages, and the deadline that stops a scan.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tradegraph::domain::{ShipmentFilter, TransportMode};
use tradegraph::store::ScanBudget;

use crate::helpers::{on_etcd, spawn_app_with, spawn_configured, TestApp};

/// The exact number of shipments that meet a one-condition filter, from
/// its counter.
async fn counted(app: &TestApp, filter: &str) -> u64 {
    let body = app
        .graphql(
            &format!("{{ shipments(filter: {filter}) {{ totalCount }} }}"),
            json!({}),
        )
        .await;
    body["data"]["shipments"]["totalCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("a count: {body}"))
}

/// The cost a request reports.
async fn cost(app: &TestApp, query: &str) -> Value {
    let body = app.graphql(query, json!({})).await;
    assert_eq!(body.get("errors"), None, "{body}");
    body["extensions"]["cost"]["requested"].clone()
}

#[actix_web::test]
async fn plain_lists_cost_by_their_type_and_combined_filters_by_the_index_they_scan() {
    // Arrange
    let app = spawn_app_with(400).await;
    let sea = counted(&app, "{mode: SEA}").await;
    let synthetic = counted(&app, "{synthetic: true}").await;
    let narrowest = sea.min(synthetic);
    assert!(narrowest > 20, "{sea} {synthetic}");

    // Act and assert. Plain lists are multiplied by the catalog they list
    // (10 hubs, 31 provinces), not by a connection's 20.
    // province + hubs + 10 × code = 12.
    assert_eq!(
        cost(&app, r#"{ province(code: "CN-GD") { hubs { code } } }"#).await,
        json!(12)
    );
    // A new hub counts at once.
    app.write(
        "mutation ($input: CreateHubInput!) { createHub(input: $input) { hub { code } } }",
        json!({ "input": { "code": "PORT-NINGBO", "name": "Ningbo-Zhoushan Port", "kind": "SEAPORT", "province": "Zhejiang" } }),
    )
    .await;
    assert_eq!(
        cost(&app, r#"{ province(code: "CN-GD") { hubs { code } } }"#).await,
        json!(13)
    );
    // freightRoutes + nodes + 1 × (provinces + 31 × code) = 34.
    assert_eq!(
        cost(
            &app,
            "{ freightRoutes(first: 1) { nodes { provinces { code } } } }"
        )
        .await,
        json!(34)
    );
    // One condition: a counter, 2 (shipments, totalCount).
    assert_eq!(
        cost(&app, "{ shipments(filter: {mode: SEA}) { totalCount } }").await,
        json!(2)
    );
    // Two conditions: the page (read whatever is selected) and the count
    // each read the narrower index.
    assert_eq!(
        cost(
            &app,
            "{ shipments(filter: {mode: SEA, synthetic: true}) { totalCount } }"
        )
        .await,
        json!(2 + 2 * narrowest)
    );
    // shipments + totalCount + nodes + 20 × id.
    assert_eq!(
        cost(
            &app,
            "{ shipments(filter: {mode: SEA, synthetic: true}) { totalCount nodes { id } } }"
        )
        .await,
        json!(23 + 2 * narrowest)
    );
    // A province's shipments add the province as a condition: two
    // provinces each page and count over the SEA index.
    // provinces + nodes + 2 × (shipments + totalCount) = 6.
    assert_eq!(
        cost(
            &app,
            "{ provinces(first: 2) { nodes { shipments(filter: {mode: SEA}) { totalCount } } } }"
        )
        .await,
        json!(6 + 4 * sea)
    );
}

#[actix_web::test]
async fn a_count_past_the_scan_limit_is_refused_with_the_limit_and_advice() {
    // Arrange
    let app = spawn_configured(|args| {
        args.database.synthetic_shipments = 400;
        args.limits.max_scan = 50;
    })
    .await;
    let synthetic = counted(&app, "{synthetic: true}").await;
    let sea = counted(&app, "{mode: SEA}").await;

    // Act
    let refused = app
        .graphql(
            "{ shipments(filter: {mode: SEA, synthetic: true}) { totalCount } }",
            json!({}),
        )
        .await;
    let dated = counted(&app, r#"{synthetic: true, departedFrom: "1900-01-01"}"#).await;

    // Assert: the count refused before it read anything, with the cost of
    // the request's scans capped at the limit.
    assert_eq!(
        refused,
        json!({
            "data": { "shipments": null },
            "errors": [{
                "message": "counting the shipments that meet this filter would read more than 50 records, the scan limit of a request: narrow the query (a filter of one condition, with or without a date range, is counted from counters; a rarer condition such as shipper or route, or a date range, reads fewer)",
                "locations": [{ "line": 1, "column": 53 }],
                "path": ["shipments", "totalCount"],
                "extensions": { "code": "SCAN_LIMIT", "limit": 50 },
            }],
            "extensions": { "cost": { "requested": 52, "limit": 50_000 } },
        })
    );
    // Only the page read: a batch of 21 within the limit, then one of 64,
    // after which it stopped.
    let read = sea.min(synthetic).min(21 + 64);
    assert_eq!(app.store.scanned_records(), read);
    let metrics = app.get_with("/metrics", &[]).await.body;
    assert!(
        metrics
            .lines()
            .any(|line| line == format!("tradegraph_scanned_records_total {read}")),
        "{metrics}"
    );
    // One condition and a date range counts index entries, a unit per 64:
    // within the limit, and exact (every synthetic shipment has a date).
    assert_eq!((synthetic, dated), (400, 400));
}

/// Which way a walk pages.
#[derive(Clone, Copy)]
enum Paging {
    /// `first: 20, after: endCursor`.
    Forwards,
    /// `last: 20, before: startCursor`.
    Backwards,
}

/// Follows a filtered list to its end, returning every reference in list
/// order and how many pages carried a `SCAN_LIMIT` notice.
async fn walk(app: &TestApp, filter: &str, paging: Paging) -> (Vec<String>, usize) {
    let (window, more, cursor) = match paging {
        Paging::Forwards => ("first: 20, after: $c", "hasNextPage", "endCursor"),
        Paging::Backwards => ("last: 20, before: $c", "hasPreviousPage", "startCursor"),
    };
    let mut pages = Vec::new();
    let mut limited = 0;
    let mut at = Value::Null;
    loop {
        let body = app
            .graphql(
                &format!(
                    "query ($c: String) {{ shipments(filter: {filter}, {window}) {{ nodes {{ reference }} pageInfo {{ {more} {cursor} }} }} }}"
                ),
                json!({ "c": at }),
            )
            .await;
        let connection = &body["data"]["shipments"];
        let nodes = connection["nodes"].as_array().expect("nodes");
        let references: Vec<String> = nodes
            .iter()
            .map(|node| node["reference"].as_str().unwrap().to_owned())
            .collect();
        pages.push(references);
        if let Some(notices) = body["extensions"].get("notices") {
            assert_eq!(notices[0]["code"], "SCAN_LIMIT", "{body}");
            assert_eq!(notices[0]["path"], json!(["shipments"]), "{body}");
            assert_eq!(connection["pageInfo"][more], true, "{body}");
            assert!(nodes.len() < 20, "{body}");
            limited += 1;
        }
        if connection["pageInfo"][more] != true {
            if let Paging::Backwards = paging {
                pages.reverse();
            }
            return (pages.concat(), limited);
        }
        at = connection["pageInfo"][cursor].clone();
        assert_ne!(at, Value::Null, "{body}");
    }
}

#[actix_web::test]
async fn a_page_past_the_scan_limit_returns_what_it_found_and_goes_on_where_it_stopped() {
    // Arrange: each request may read one batch of records past what it
    // returns, so a rare match takes many pages.
    let limited = spawn_configured(|args| {
        args.database.synthetic_shipments = 2_000;
        args.limits.max_scan = 1;
    })
    .await;
    let unlimited = spawn_app_with(2_000).await;

    // Act: the same walks with and without the limit.
    let filter = r#"{destinationPartner: "AR", mode: SEA}"#;
    let (with_limit, pages_limited) = walk(&limited, filter, Paging::Forwards).await;
    let (backwards, pages_limited_backwards) = walk(&limited, filter, Paging::Backwards).await;
    let (without_limit, unlimited_pages) = walk(&unlimited, filter, Paging::Forwards).await;

    // Assert: the same shipments in the same order, none missed or
    // repeated, the limited walks in short pages that said so.
    assert!(without_limit.len() > 20, "{}", without_limit.len());
    assert_eq!(with_limit, without_limit);
    assert_eq!(backwards, without_limit);
    assert_eq!(unlimited_pages, 0);
    assert!(pages_limited > 1, "{pages_limited}");
    assert!(pages_limited_backwards > 1, "{pages_limited_backwards}");
    let body = limited
        .graphql(
            r#"{ shipments(filter: {destinationPartner: "AR", mode: SEA}, first: 20) { nodes { reference } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["extensions"]["notices"],
        json!([{
            "code": "SCAN_LIMIT",
            "message": "this page stopped after its request read 1 records, the scan limit: it holds what was found so far, and its endCursor (startCursor paging backwards) is where the scan stopped; follow it to go on, or narrow the filter",
            "path": ["shipments"],
        }])
    );
}

#[actix_web::test]
async fn the_deadline_stops_a_long_scan() {
    // Arrange: a deadline sized to the backend: past the first batch of
    // reads of a networked store, far shorter than the whole scan (which
    // is measured below).
    let timeout_ms = if on_etcd() { 100 } else { 30 };
    let app = spawn_configured(|args| {
        args.database.synthetic_shipments = 40_000;
        args.limits.max_scan = 1_000_000;
        args.limits.timeout_ms = Some(timeout_ms);
    })
    .await;
    let filter = ShipmentFilter {
        mode: Some(TransportMode::Sea),
        synthetic: Some(true),
        departed_from: Some("1900-01-01".parse().unwrap()),
        ..ShipmentFilter::default()
    };

    // Act: the count over HTTP, then the same count with no deadline,
    // through the store.
    let body = app
        .graphql(
            r#"{ shipments(filter: {mode: SEA, synthetic: true, departedFrom: "1900-01-01"}) { totalCount } }"#,
            json!({}),
        )
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let scanned = app.store.scanned_records();
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let scanned_later = app.store.scanned_records();
    let started = std::time::Instant::now();
    let count = app
        .store
        .shipment_counts(&[filter], &Arc::new(ScanBudget::unlimited()))
        .await
        .unwrap()[0];
    let whole_scan = started.elapsed();
    let scanned_by_whole = app.store.scanned_records() - scanned_later;

    // Assert: refused as timed out, and its work stopped part way and
    // for good; the whole scan takes more than twice the deadline.
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        format!("the query ran longer than {timeout_ms} ms and was stopped")
    );
    assert!(scanned > 0);
    assert!(
        scanned < scanned_by_whole,
        "{scanned} of {scanned_by_whole}"
    );
    assert_eq!(scanned_later, scanned);
    assert!(count > 0);
    assert!(
        whole_scan > Duration::from_millis(2 * timeout_ms),
        "{whole_scan:?}"
    );
}
