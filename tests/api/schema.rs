//! The committed schema, and the HTTP routes beside `POST /graphql`.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

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
