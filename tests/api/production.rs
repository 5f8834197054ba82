//! Production mode and request ids.

use serde_json::json;
use tradegraph::config::Environment;

use crate::helpers::{codes_and_messages, spawn_app, spawn_configured};

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";
const MISSPELT: &str = "{ provinse(code: \"GD\") { code } }";

#[actix_web::test]
async fn production_turns_off_introspection_suggestions_and_the_playground() {
    let app = spawn_configured(|args| args.environment = Environment::Production).await;

    let introspection = app.graphql(INTROSPECTION, json!({})).await;
    let misspelt = codes_and_messages(&app.graphql(MISSPELT, json!({})).await);
    let (playground, _) = app.get("/").await;

    assert_eq!(introspection.get("data"), None);
    assert_eq!(
        codes_and_messages(&introspection),
        vec![(
            "INTROSPECTION_DISABLED".to_owned(),
            "introspection is disabled on this server".to_owned()
        )]
    );
    assert_eq!(
        misspelt,
        vec![(
            "GRAPHQL_VALIDATION_FAILED".to_owned(),
            "Unknown field \"provinse\" on type \"Query\".".to_owned()
        )]
    );
    assert_eq!(playground, 404);
}

#[actix_web::test]
async fn each_production_default_can_be_turned_back_on() {
    let app = spawn_configured(|args| {
        args.production = true;
        args.introspection = Some(true);
        args.playground = Some(true);
    })
    .await;

    let introspection = app.data(INTROSPECTION, json!({})).await;
    let (playground, _) = app.get("/").await;

    assert_eq!(
        introspection,
        json!({ "__schema": { "queryType": { "name": "Query" } } })
    );
    assert_eq!(playground, 200);
}

#[actix_web::test]
async fn development_suggests_fields_and_serves_the_playground() {
    let app = spawn_app().await;

    let misspelt = codes_and_messages(&app.graphql(MISSPELT, json!({})).await);

    assert_eq!(
        misspelt[0].1,
        "Unknown field \"provinse\" on type \"Query\". Did you mean \"province\", \"provinces\"?"
    );
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;

    let given = awc::Client::default()
        .get(format!("{}/health", app.address))
        .insert_header(("x-request-id", "trace-42"))
        .send()
        .await
        .expect("a response");
    let made = awc::Client::default()
        .get(format!("{}/health", app.address))
        .send()
        .await
        .expect("a response");
    let refused = awc::Client::default()
        .get(format!("{}/health", app.address))
        .insert_header(("x-request-id", "no spaces allowed"))
        .send()
        .await
        .expect("a response");

    let id = |response: &awc::ClientResponse<_>| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(id(&given), "trace-42");
    assert_eq!(id(&made).len(), 16);
    assert!(id(&made).bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(id(&refused), "no spaces allowed");
    assert_eq!(id(&refused).len(), 16);
}
