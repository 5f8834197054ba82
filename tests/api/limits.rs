//! Abuse limits: each refusal names its limit with a code and gives the
//! limit and the query's figure; every answer reports its cost.

use serde_json::{json, Value};

use crate::helpers::{aliased_query, deep_query, spawn_app};

/// Sends a query and returns (code, message, limit, value) of its one error.
async fn refusal(app: &crate::helpers::TestApp, query: &str) -> (String, String, Value, Value) {
    let body = app.graphql(query, json!({})).await;
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected an error: {body:#}"));
    assert_eq!(errors.len(), 1, "{body:#}");
    assert_eq!(body["data"], Value::Null, "nothing is executed");
    let error = &errors[0];
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
        error["extensions"]["limit"].clone(),
        error["extensions"]["value"].clone(),
    )
}

#[actix_web::test]
async fn each_limit_refuses_with_its_code_and_figures() {
    let app = spawn_app().await;
    // province, then seven times hubs { province }, then code: 16 levels.
    let deep = deep_query(7);
    let four_levels = "{ provinces(first: 100) { nodes { shipments(first: 100) { nodes { shipper { shipments(first: 100) { nodes { destinationPartner { shipments(first: 100) { nodes { reference } } } } } } } } } } }";
    let aliases = aliased_query(31);
    let directives = format!("{{ {} }}", "__typename @include(if: true) ".repeat(51));
    let tokens = format!("{{ {} }}", "__typename ".repeat(5_000));

    assert_eq!(
        refusal(&app, &deep).await,
        (
            "QUERY_TOO_DEEP".into(),
            "query depth 16 exceeds the limit of 15".into(),
            json!(15),
            json!(16)
        )
    );
    let (code, message, limit, _) = refusal(&app, four_levels).await;
    assert_eq!((code.as_str(), limit), ("QUERY_TOO_COMPLEX", json!(50_000)));
    assert!(
        message.starts_with("query cost ") && message.ends_with(" exceeds the limit of 50000"),
        "{message}"
    );
    assert_eq!(
        refusal(&app, &aliases).await,
        (
            "TOO_MANY_ALIASES".into(),
            "number of aliases 31 exceeds the limit of 30".into(),
            json!(30),
            json!(31)
        )
    );
    assert_eq!(refusal(&app, &directives).await.0, "TOO_MANY_DIRECTIVES");
    assert_eq!(refusal(&app, &directives).await.3, json!(51));
    let (code, _, limit, value) = refusal(&app, &tokens).await;
    assert_eq!(
        (code.as_str(), limit, value),
        ("TOO_MANY_TOKENS", json!(5_000), json!(5_001))
    );
}

#[actix_web::test]
async fn every_answer_reports_its_cost() {
    let app = spawn_app().await;

    let body = app
        .graphql(
            "query ($n: Int) { shipments(first: $n) { nodes { reference } } }",
            json!({ "n": 2 }),
        )
        .await;

    // shipments: 1 + (nodes: 1 + 2 x (reference: 1)) = 4.
    assert_eq!(
        body["extensions"],
        json!({ "cost": { "requested": 4, "limit": 50_000 } })
    );
}

#[actix_web::test]
async fn a_client_past_its_cost_budget_is_rate_limited_with_a_retry_hint() {
    use crate::helpers::{encoded, spawn_configured, WRITE_TOKEN};
    let app = spawn_configured(|args| {
        args.limits.max_cost = 60;
        args.limits.cost_budget_per_minute = Some(60);
    })
    .await;
    // provinces + nodes + 20 provinces × (code + name): 42 of the 60 a
    // minute.
    let query = "{ provinces(first: 20) { nodes { code name } } }";
    let (status, first) = app.post(query, json!({}), None).await;
    assert_eq!(status, 200);
    assert_eq!(first["extensions"]["cost"]["requested"], 42);

    let refused = app
        .get_with(&format!("/graphql?query={}", encoded(query)), &[])
        .await;
    assert_eq!(refused.status, 429);
    let body = refused.json();
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "RATE_LIMITED");
    // 18 left, 42 needed, 1 a second: 24 s, or 23 if a second passed
    // between the two requests on a slow machine.
    let retry = error["extensions"]["retryAfterSeconds"].as_u64().unwrap();
    assert!((23..=24).contains(&retry), "{body}");
    assert_eq!(refused.header("retry-after"), retry.to_string());
    assert_eq!(
        error["message"],
        format!("this client has spent its budget of 60 query cost per minute (this query costs 42); retry in {retry} s")
    );
    assert_eq!(error["extensions"]["limit"], 60);
    assert_eq!(body.get("data"), None);

    // A made-up token is no way round it; a valid one is its own client.
    let (status, _) = app.post(query, json!({}), Some("tg_made_up")).await;
    assert_eq!(status, 429);
    let (status, body) = app.post(query, json!({}), Some(WRITE_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["provinces"]["nodes"].as_array().unwrap().len(),
        20
    );
}

#[actix_web::test]
async fn a_budget_below_the_highest_query_cost_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = <tradegraph::config::Cli as clap::Parser>::parse_from([
        "tradegraph",
        "--bind",
        "127.0.0.1:0",
        "--cost-budget-per-minute",
        "100",
    ])
    .serve;
    args.database = tradegraph::config::DatabaseArgs::at(dir.path().join("data"));
    let error = tradegraph::app::Application::build(&args)
        .await
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "--cost-budget-per-minute must be at least --max-cost (50000), got 100"
    );
}
