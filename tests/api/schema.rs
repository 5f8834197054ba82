//! The committed schema, and the HTTP routes beside `POST /graphql`.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_configured};

/// `schema.graphql` is generated from the code; when it drifts this test
/// rewrites it and fails, so the fix is to commit the rewritten file.
#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = tradegraph::graphql::sdl();
    if committed != generated {
        std::fs::write(path, &generated).expect("schema.graphql is writable");
        panic!("schema.graphql was out of date and has been regenerated (same as `cargo run -- schema > schema.graphql`): review and commit it");
    }
}

#[actix_web::test]
async fn queries_run_over_get_too() {
    let app = spawn_app().await;

    let (status, body) = app
        .get("/graphql?query=%7B%20province(code%3A%20%22GD%22)%20%7B%20name%20%7D%20%7D")
        .await;

    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        body,
        json!({
            "data": { "province": { "name": "Guangdong" } },
            "extensions": { "cost": { "requested": 2, "limit": 50_000 } }
        })
    );
}

#[actix_web::test]
async fn health_and_playground_answer() {
    let app = spawn_app().await;

    let (health_status, health) = app.get("/health").await;
    let (page_status, page) = app.get("/").await;

    assert_eq!(
        (health_status, health.as_str()),
        (200, r#"{"status":"ok"}"#)
    );
    assert_eq!(page_status, 200);
    assert!(page.contains("<title>tradegraph</title>"), "{page}");
}

/// The SDL at `GET /schema.graphql` is the committed file, byte for byte,
/// so tools pointed at a running server see what codegen sees in the repo.
#[actix_web::test]
async fn the_schema_is_served_as_sdl_where_introspection_is_on() {
    let app = spawn_app().await;
    let committed = include_str!("../../schema.graphql");

    let reply = app.get_with("/schema.graphql", &[]).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(reply.body, committed);
}

#[actix_web::test]
async fn production_hides_the_schema_unless_introspection_is_turned_on() {
    let production = spawn_configured(|args| args.production = true).await;
    let with_introspection = spawn_configured(|args| {
        args.production = true;
        args.introspection = Some(true);
    })
    .await;
    let without_introspection = spawn_configured(|args| args.introspection = Some(false)).await;

    let (hidden, _) = production.get("/schema.graphql").await;
    let (shown, body) = with_introspection.get("/schema.graphql").await;
    let (turned_off, _) = without_introspection.get("/schema.graphql").await;

    assert_eq!(hidden, 404);
    assert_eq!(
        (shown, body.as_str()),
        (200, tradegraph::graphql::sdl().as_str())
    );
    assert_eq!(turned_off, 404);
}
