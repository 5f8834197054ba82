//! The response path: a request runs on the [`Api`](crate::graphql::Api)
//! with its client's token and address and its request id, a query under
//! the timeout (a mutation never: it may already be on disk), and the
//! [`Outcome`] becomes the HTTP response. The status and headers come from
//! the outcome's kind alone, so no error extension is read back here; the
//! body is written once, straight from the response; an [`Observation`]
//! goes to the metrics and the access log.

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use async_graphql::{Request, Response};
use serde_json::json;
use tracing::Instrument;

use super::negotiation::MediaType;
use super::Endpoint;
use crate::graphql::{codes, Outcome, RequestId};
use crate::http::client::{client_address, presented_token};
use crate::http::metrics::{Observation, Outcome as Observed};

/// Runs a query, stopped when it runs past the timeout.
pub(super) async fn run_query(
    endpoint: &Endpoint,
    request: Request,
    http: &HttpRequest,
) -> Outcome {
    let timeout = endpoint.limits.timeout;
    let run = run_mutation(endpoint, request, http);
    match actix_web::rt::time::timeout(timeout, run).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::refused(
            codes::TIMEOUT,
            &format!(
                "the query ran longer than {} and was stopped",
                timeout_text(timeout)
            ),
        ),
    }
}

/// A timeout as the message gives it: whole seconds, or milliseconds below
/// one second (a test's).
fn timeout_text(timeout: std::time::Duration) -> String {
    if timeout.as_millis() % 1000 == 0 {
        format!("{} s", timeout.as_secs())
    } else {
        format!("{} ms", timeout.as_millis())
    }
}

/// Runs a request to its end, whatever it takes: mutations, which may
/// already be on disk when a timeout would strike.
pub(super) async fn run_mutation(
    endpoint: &Endpoint,
    request: Request,
    http: &HttpRequest,
) -> Outcome {
    let request_id = http
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(String::new()));
    let span = tracing::info_span!("request", request_id = %request_id.0);
    let mut request = request.data(presented_token(http)).data(request_id);
    if let Some(address) = client_address(http, &endpoint.trusted_proxies) {
        request = request.data(address);
    }
    endpoint.api.run(request).instrument(span).await
}

/// The JSON body of an outcome, written straight from the response (no
/// intermediate JSON tree); a request refused before execution has no
/// `data` entry, as the specification asks.
pub(super) fn body_of(outcome: &Outcome) -> Bytes {
    #[derive(serde::Serialize)]
    struct Refused<'a> {
        errors: &'a [async_graphql::ServerError],
    }
    let response = outcome.response();
    let written = if outcome.is_refused_before_execution() {
        serde_json::to_vec(&Refused {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(response)
    };
    let body = written.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialize a response");
        json!({ "errors": [{ "message": "internal error", "extensions": { "code": codes::INTERNAL } }] })
            .to_string()
            .into_bytes()
    });
    Bytes::from(body)
}

/// What became of a request, for the metrics and the access log.
fn observe(outcome: &Outcome, operation: String) -> Observation {
    let response: &Response = outcome.response();
    let observed = if response.errors.is_empty() {
        Observed::Ok
    } else if outcome.is_refused_before_execution() {
        Observed::Refused
    } else {
        Observed::Error
    };
    Observation {
        operation,
        outcome: observed,
        code: outcome.first_code().unwrap_or_default().to_owned(),
    }
}

/// The HTTP response for an outcome.
pub(super) fn respond(media: MediaType, outcome: &Outcome, operation: String) -> HttpResponse {
    respond_with(media, outcome, body_of(outcome), operation)
}

/// The HTTP response for an outcome whose body is written: 401 with
/// `WWW-Authenticate` for a write without a valid token, 429 with
/// `Retry-After` for a spent budget, 503 with `Retry-After` while the store
/// is unavailable, 400 for a malformed request, and for a
/// refused one under `application/graphql-response+json` (under
/// `application/json` a GraphQL response is always 200).
pub(super) fn respond_with(
    media: MediaType,
    outcome: &Outcome,
    body: Bytes,
    operation: String,
) -> HttpResponse {
    let status = match outcome {
        Outcome::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Outcome::RetryAfter { .. } => StatusCode::TOO_MANY_REQUESTS,
        Outcome::Malformed(_) => StatusCode::BAD_REQUEST,
        Outcome::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Outcome::Refused(_) if media == MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        Outcome::Refused(_) | Outcome::Answered { .. } => StatusCode::OK,
    };
    let mut builder = HttpResponse::build(status);
    match outcome {
        Outcome::Unauthenticated(_) => {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        Outcome::RetryAfter { seconds, .. } => {
            builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        Outcome::Unavailable(_) => {
            builder.insert_header((header::RETRY_AFTER, "1"));
        }
        _ => {}
    }
    let mut http = builder
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body);
    http.extensions_mut().insert(observe(outcome, operation));
    http
}

/// A response that is not a GraphQL execution result, refusing the HTTP
/// request itself: one error with a code.
pub(super) fn refusal(
    status: StatusCode,
    media: MediaType,
    code: &str,
    message: &str,
) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(
            json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string(),
        );
    response.extensions_mut().insert(Observation {
        operation: String::new(),
        outcome: Observed::Refused,
        code: code.to_owned(),
    });
    response
}

/// A [`refusal`] to return in an `Err`, boxed: a response is large, and a
/// refusal the rare path.
pub(super) fn boxed_refusal(
    status: StatusCode,
    media: MediaType,
    code: &str,
    message: &str,
) -> Box<HttpResponse> {
    Box::new(refusal(status, media, code, message))
}

/// 405 for a mutation over GET, with `Allow: POST`.
pub(super) fn mutation_over_get(media: MediaType) -> HttpResponse {
    let mut response = refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        media,
        codes::BAD_REQUEST,
        "mutations are not allowed over GET: send them with POST",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    response
}

/// Runs a batch, one request after another, and answers 200 with a JSON
/// array of their responses. The batch is observed as its first failed
/// request, if any.
pub(super) async fn batch(
    endpoint: &Endpoint,
    requests: Vec<Request>,
    http: &HttpRequest,
    media: MediaType,
) -> HttpResponse {
    let mut bodies = Vec::with_capacity(requests.len());
    let mut summary: Option<Observation> = None;
    for mut request in requests {
        let outcome = match endpoint.api.resolve(&mut request) {
            Ok(operation) if operation.is_mutation => run_mutation(endpoint, request, http).await,
            Ok(_) => run_query(endpoint, request, http).await,
            Err(refused) => *refused,
        };
        let observation = observe(&outcome, "(batch)".into());
        summary = Some(match summary {
            Some(failed) if failed.outcome != Observed::Ok => failed,
            _ => observation,
        });
        bodies.push(body_of(&outcome));
    }
    let mut response = HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body([&b"["[..], &bodies.join(&b","[..]), b"]"].concat());
    if let Some(summary) = summary {
        response.extensions_mut().insert(summary);
    }
    response
}
