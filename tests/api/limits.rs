//! Abuse limits: each refusal names its limit with a code and gives the
//! limit and the query's figure; every answer reports its cost.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

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
    let deep = format!(
        "{{ province(code: \"GD\") {{ {}code{} }} }}",
        "hubs { province { ".repeat(7),
        " } }".repeat(7)
    );
    let four_levels = "{ provinces(first: 100) { nodes { shipments(first: 100) { nodes { shipper { shipments(first: 100) { nodes { destinationPartner { shipments(first: 100) { nodes { reference } } } } } } } } } } }";
    let aliases = format!(
        "{{ {} }}",
        (0..31)
            .map(|n| format!("a{n}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
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

    // shipments: 1 + 2 x (nodes: 1 + 1 x (reference: 1)) = 5.
    assert_eq!(
        body["extensions"],
        json!({ "cost": { "requested": 5, "limit": 50_000 } })
    );
}
