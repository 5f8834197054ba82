//! What operators see: `GET /metrics` in the Prometheus text format, and
//! the request id on every response.

use serde_json::json;

use crate::helpers::{deep_query, spawn_app, test_etcd};

#[actix_web::test]
async fn metrics_count_requests_by_operation_outcome_and_code() {
    let app = spawn_app().await;
    let named = "query Guangdong { province(code: \"GD\") { name } }";
    app.graphql(named, json!({})).await;
    app.graphql(named, json!({})).await;
    app.graphql("{ province(code: \"GD\") { nope } }", json!({}))
        .await;
    let deep = deep_query(7);
    app.graphql(&deep, json!({})).await;
    app.post_raw(&[("content-type", "text/plain")], "{}").await;

    let reply = app.get_with("/metrics", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let lines: Vec<&str> = reply.body.lines().collect();
    for expected in [
        "tradegraph_graphql_requests_total{operation=\"Guangdong\",outcome=\"ok\",code=\"\"} 2",
        "tradegraph_graphql_requests_total{operation=\"(anonymous)\",outcome=\"refused\",code=\"GRAPHQL_VALIDATION_FAILED\"} 1",
        "tradegraph_graphql_requests_total{operation=\"(anonymous)\",outcome=\"refused\",code=\"QUERY_TOO_DEEP\"} 1",
        "tradegraph_graphql_requests_total{operation=\"(anonymous)\",outcome=\"refused\",code=\"UNSUPPORTED_MEDIA_TYPE\"} 1",
        "tradegraph_limit_refusals_total{limit=\"QUERY_TOO_DEEP\"} 1",
        "tradegraph_graphql_request_duration_seconds_count{operation=\"Guangdong\"} 2",
    ] {
        assert!(lines.contains(&expected), "missing {expected} in\n{}", reply.body);
    }
    let size: u64 = lines
        .iter()
        .find_map(|line| line.strip_prefix("tradegraph_database_size_bytes "))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no database size in\n{}", reply.body));
    // A cluster's size is every deployment's, not this one's, so on etcd
    // the gauge stays at 0.
    assert_eq!(size > 0, test_etcd().is_none(), "size {size}");
}
