//! Responses a CDN can cache: `Cache-Control` and an `ETag` on successful
//! GET responses, 304 for a matching `If-None-Match` until something is
//! written, and automatic persisted queries (hashes instead of documents,
//! small enough for GET), with the allow-list mode that runs registered
//! operations only.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{codes_and_messages, encoded, spawn_app, spawn_configured, TestApp};

const QUERY: &str = "query Guangdong { province(code: \"GD\") { name } }";

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The `extensions` parameter naming a persisted query by hash.
fn persisted(hash: &str) -> String {
    encoded(&json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string())
}

async fn create_shipment(app: &TestApp) {
    let created = app
        .write(
            "mutation { createShipment(input: {cargo: \"wind turbine blades\", originProvince: \"Jiangsu\", quantity: {value: \"48\", unit: \"blades\"}}) { shipment { id } } }",
            json!({}),
        )
        .await;
    assert!(
        created["createShipment"]["shipment"]["id"].is_string(),
        "{created}"
    );
}

#[actix_web::test]
async fn get_answers_are_cacheable_and_revalidate_until_a_write() {
    let app = spawn_app().await;
    let path = format!("/graphql?query={}", encoded(QUERY));

    let first = app.get_with(&path, &[]).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.json(),
        json!({
            "data": { "province": { "name": "Guangdong" } },
            "extensions": { "cost": { "requested": 2, "limit": 50000 } }
        })
    );
    assert_eq!(first.header("cache-control"), "public, max-age=5");
    // The CORS layer adds what it varies on.
    assert_eq!(
        first.header("vary"),
        "Accept, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    );
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let again = app.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert_eq!(again.body, "");
    assert_eq!(again.header("etag"), etag);
    assert_eq!(again.header("cache-control"), "public, max-age=5");

    // Another response type is another representation, with its own tag.
    let other_type = app
        .get_with(&path, &[("accept", "application/graphql-response+json")])
        .await;
    assert_eq!(other_type.status, 200);
    assert_ne!(other_type.header("etag"), etag);

    create_shipment(&app).await;
    let after_write = app.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(after_write.status, 200, "a write changes the generation");
    assert_ne!(after_write.header("etag"), etag);
    assert_eq!(after_write.json()["data"], first.json()["data"]);
}

#[actix_web::test]
async fn errors_are_never_cached() {
    let app = spawn_app().await;
    let failing = app
        .get_with(&format!("/graphql?query={}", encoded("{ nope }")), &[])
        .await;
    assert_eq!(failing.status, 200);
    assert_eq!(failing.header("cache-control"), "no-store");
    assert_eq!(failing.header("etag"), "");
}

#[actix_web::test]
async fn the_cache_lifetime_is_a_setting() {
    let app = spawn_configured(|args| args.cache_max_age = 0).await;
    let reply = app
        .get_with(&format!("/graphql?query={}", encoded(QUERY)), &[])
        .await;
    assert_eq!(reply.header("cache-control"), "no-cache");
    assert!(!reply.header("etag").is_empty());
}

#[actix_web::test]
async fn get_picks_the_operation_by_operation_name() {
    let app = spawn_app().await;
    let document =
        "query A { province(code: \"GD\") { name } } query B { province(code: \"ZJ\") { name } }";
    let reply = app
        .get_with(
            &format!("/graphql?query={}&operationName=B", encoded(document)),
            &[],
        )
        .await;
    assert_eq!(
        reply.json()["data"],
        json!({ "province": { "name": "Zhejiang" } })
    );
}

#[actix_web::test]
async fn a_hash_alone_runs_once_the_document_was_sent_with_it() {
    let app = spawn_app().await;
    let hash = sha256(QUERY);
    let by_hash = format!("/graphql?extensions={}", persisted(&hash));

    let unknown = app.get_with(&by_hash, &[]).await;
    assert_eq!(unknown.status, 200);
    assert_eq!(
        codes_and_messages(&unknown.json()),
        vec![(
            "PERSISTED_QUERY_NOT_FOUND".to_owned(),
            "PersistedQueryNotFound: send the query text with its sha256Hash".to_owned()
        )]
    );

    let registered = app
        .get_with(
            &format!(
                "/graphql?query={}&extensions={}",
                encoded(QUERY),
                persisted(&hash)
            ),
            &[],
        )
        .await;
    assert_eq!(
        registered.json()["data"],
        json!({ "province": { "name": "Guangdong" } })
    );

    let known = app.get_with(&by_hash, &[]).await;
    assert_eq!(known.status, 200);
    assert_eq!(
        known.json()["data"],
        json!({ "province": { "name": "Guangdong" } })
    );
    assert_eq!(known.header("cache-control"), "public, max-age=5");

    // Over POST too.
    let (status, _, body) = app
        .post_raw(
            &[("content-type", "application/json")],
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
                .to_string(),
        )
        .await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"], json!({ "province": { "name": "Guangdong" } }));
}

#[actix_web::test]
async fn a_wrong_hash_is_refused_and_a_hashed_mutation_is_not_run_over_get() {
    let app = spawn_app().await;
    let wrong = app
        .get_with(
            &format!(
                "/graphql?query={}&extensions={}",
                encoded(QUERY),
                persisted(&"0".repeat(64))
            ),
            &[],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert_eq!(codes_and_messages(&wrong.json())[0].0, "BAD_REQUEST");

    let malformed = app
        .get_with(
            &format!(
                "/graphql?extensions={}",
                encoded("{\"persistedQuery\":{\"version\":2}}")
            ),
            &[],
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(codes_and_messages(&malformed.json())[0].0, "BAD_REQUEST");

    // A mutation registered over POST (it fails for want of a token, but
    // its document is remembered) cannot be run by its hash over GET.
    let mutation = "mutation { deleteShipment(id: \"U2hpcG1lbnQ6MQ==\") { deletedId } }";
    let hash = sha256(mutation);
    app.post_raw(
        &[("content-type", "application/json")],
        json!({ "query": mutation, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })
            .to_string(),
    )
    .await;
    let over_get = app
        .get_with(&format!("/graphql?extensions={}", persisted(&hash)), &[])
        .await;
    assert_eq!(over_get.status, 405);
    assert_eq!(over_get.header("allow"), "POST");
}

#[actix_web::test]
async fn allow_list_mode_runs_registered_operations_only() {
    let manifest_dir = tempfile::tempdir().unwrap();
    let manifest = manifest_dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": sha256(QUERY), "name": "Guangdong", "type": "query", "body": QUERY }]
        })
        .to_string(),
    )
    .unwrap();
    let app = spawn_configured(|args| {
        args.persisted.persisted_queries = Some(manifest.clone());
        args.persisted.allow_listed_only = true;
    })
    .await;

    let by_hash = app
        .get_with(
            &format!("/graphql?extensions={}", persisted(&sha256(QUERY))),
            &[],
        )
        .await;
    assert_eq!(
        by_hash.json()["data"],
        json!({ "province": { "name": "Guangdong" } })
    );
    let by_text = app.graphql(QUERY, json!({})).await;
    assert_eq!(
        by_text["data"],
        json!({ "province": { "name": "Guangdong" } })
    );

    let other = app
        .graphql("{ province(code: \"ZJ\") { name } }", json!({}))
        .await;
    assert_eq!(
        codes_and_messages(&other),
        vec![(
            "QUERY_NOT_IN_ALLOW_LIST".to_owned(),
            "this server executes only registered operations, and this document is not one"
                .to_owned()
        )]
    );
    let unknown_hash = app
        .get_with(
            &format!("/graphql?extensions={}", persisted(&"ab".repeat(32))),
            &[],
        )
        .await;
    assert_eq!(
        codes_and_messages(&unknown_hash.json())[0].0,
        "PERSISTED_QUERY_NOT_IN_LIST"
    );
}

#[actix_web::test]
async fn the_response_cache_answers_repeats_until_a_write() {
    let app = spawn_configured(|args| args.response_cache_mb = 1).await;
    let count = "{ shipments { totalCount } }";
    let first = app.graphql(count, json!({})).await;
    assert_eq!(first["data"], json!({ "shipments": { "totalCount": 4 } }));
    let calls = app.store.calls();
    let repeated = app.graphql(count, json!({})).await;
    assert_eq!(repeated, first);
    assert_eq!(app.store.calls(), calls, "answered without the store");

    create_shipment(&app).await;
    let after_write = app.graphql(count, json!({})).await;
    assert_eq!(
        after_write["data"],
        json!({ "shipments": { "totalCount": 5 } })
    );
    assert!(
        app.store.calls() > calls,
        "a write makes the cached answer stale"
    );
}

#[actix_web::test]
async fn without_the_response_cache_every_repeat_runs() {
    let app = spawn_app().await;
    let count = "{ shipments { totalCount } }";
    app.graphql(count, json!({})).await;
    let calls = app.store.calls();
    app.graphql(count, json!({})).await;
    assert!(app.store.calls() > calls);
}
