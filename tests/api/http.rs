//! GraphQL over HTTP: content types, body size, Accept negotiation, status
//! codes and batches, as the GraphQL-over-HTTP specification has them.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

const JSON: (&str, &str) = ("content-type", "application/json");
const GRAPHQL_RESPONSE: (&str, &str) = ("accept", "application/graphql-response+json");

fn parsed(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {body}"))
}

#[actix_web::test]
async fn only_json_bodies_are_accepted() {
    let app = spawn_app().await;
    let query = r#"{"query":"{ __typename }"}"#;

    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
    ] {
        let (status, _, body) = app.post_raw(&[("content-type", content_type)], query).await;

        assert_eq!(status, 415, "{content_type}");
        assert_eq!(
            parsed(&body)["errors"][0]["extensions"]["code"],
            "UNSUPPORTED_MEDIA_TYPE"
        );
    }
    let (status, _, _) = app.post_raw(&[], query).await;
    assert_eq!(status, 415, "no content type");
}

#[actix_web::test]
async fn bodies_past_the_limit_and_malformed_bodies_are_refused() {
    let app = spawn_app().await;
    let huge = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"pad":"{}"}}}}"#,
        "x".repeat(300 * 1024)
    );

    let (too_large, _, too_large_body) = app.post_raw(&[JSON], huge).await;
    let (broken, _, broken_body) = app.post_raw(&[JSON], "{\"query\": ").await;
    let (wrong_type, _, _) = app.post_raw(&[JSON], r#"{"query": 7}"#).await;
    let (bad_variables, _, _) = app
        .post_raw(&[JSON], r#"{"query": "{ __typename }", "variables": [1]}"#)
        .await;

    assert_eq!(too_large, 413);
    assert_eq!(
        parsed(&too_large_body),
        json!({ "errors": [{ "message": "the body is larger than the limit of 256 KiB", "extensions": { "code": "PAYLOAD_TOO_LARGE" } }] })
    );
    assert_eq!(broken, 400);
    assert_eq!(
        parsed(&broken_body)["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
    assert_eq!(wrong_type, 400);
    assert_eq!(bad_variables, 400);
}

#[actix_web::test]
async fn request_errors_are_400_without_data_under_graphql_response_json() {
    let app = spawn_app().await;
    let invalid = r#"{"query":"{ provinces { nope } }"}"#;

    let (strict_status, strict_type, strict_body) =
        app.post_raw(&[JSON, GRAPHQL_RESPONSE], invalid).await;
    let (legacy_status, legacy_type, legacy_body) = app
        .post_raw(&[JSON, ("accept", "application/json")], invalid)
        .await;
    let (ok_status, ok_type, _) = app
        .post_raw(&[JSON, GRAPHQL_RESPONSE], r#"{"query":"{ __typename }"}"#)
        .await;

    assert_eq!(
        (strict_status, strict_type.as_str()),
        (400, "application/graphql-response+json; charset=utf-8")
    );
    assert_eq!(parsed(&strict_body).get("data"), None);
    assert_eq!(
        parsed(&strict_body)["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert_eq!(
        (legacy_status, legacy_type.as_str()),
        (200, "application/json; charset=utf-8")
    );
    assert_eq!(parsed(&legacy_body).get("data"), None);
    assert_eq!(
        (ok_status, ok_type.as_str()),
        (200, "application/graphql-response+json; charset=utf-8")
    );
}

#[actix_web::test]
async fn an_unacceptable_accept_is_406_and_batches_are_refused() {
    let app = spawn_app().await;

    let (unacceptable, _, _) = app
        .post_raw(
            &[JSON, ("accept", "text/html")],
            r#"{"query":"{ __typename }"}"#,
        )
        .await;
    let (batch, _, batch_body) = app
        .post_raw(
            &[JSON],
            r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#,
        )
        .await;

    assert_eq!(unacceptable, 406);
    assert_eq!(batch, 400);
    assert_eq!(
        parsed(&batch_body),
        json!({ "errors": [{ "message": "batched requests (a JSON array) are not enabled on this server; send one request per HTTP request", "extensions": { "code": "BATCHING_DISABLED" } }] })
    );
}

#[actix_web::test]
async fn readiness_and_cors_preflights_answer() {
    let app = spawn_app().await;
    let client = awc::Client::default();
    let preflight = |origin: &'static str| {
        client
            .request(
                awc::http::Method::OPTIONS,
                format!("{}/graphql", app.address),
            )
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header((
                "access-control-request-headers",
                "content-type, authorization",
            ))
            .send()
    };

    let (ready, ready_body) = app.get("/ready").await;
    let allowed = preflight("https://allowed.example")
        .await
        .expect("a response");
    let foreign = preflight("https://evil.example").await.expect("a response");

    assert_eq!(
        (ready, parsed(&ready_body)),
        (200, json!({ "status": "ready" }))
    );
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://allowed.example")
    );
    assert_eq!(foreign.headers().get("access-control-allow-origin"), None);
}

#[actix_web::test]
async fn strict_get_needs_a_preflight_header() {
    let app = crate::helpers::spawn_configured(|args| args.limits.csrf_strict_get = true).await;
    let url = format!("{}/graphql?query=%7B%20__typename%20%7D", app.address);
    let client = awc::Client::default();

    let mut bare = client.get(url.as_str()).send().await.expect("a response");
    let headed = client
        .get(url.as_str())
        .insert_header(("apollo-require-preflight", "true"))
        .send()
        .await
        .expect("a response");

    assert_eq!(bare.status().as_u16(), 400);
    let body: Value = bare.json().await.expect("JSON");
    assert_eq!(body["errors"][0]["extensions"]["code"], "CSRF_PREVENTED");
    assert_eq!(headed.status().as_u16(), 200);
}
