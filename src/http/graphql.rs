//! GraphQL over HTTP, per the GraphQL-over-HTTP specification: `POST` with
//! a JSON body (415 for other content types, 413 past the size limit, 400
//! for a body that is not a request), `GET` with the request in the query
//! string (405 for a mutation), the response type negotiated from `Accept`
//! (406 when none fits), and under `application/graphql-response+json`
//! status 400 and no `data` for requests that are refused before
//! execution. Batches (a JSON array) are refused unless enabled.

use std::time::Duration;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use async_graphql::{BatchRequest, Request, Response};
use serde_json::{json, Value};

use tracing::Instrument;

use crate::graphql::{
    coded, has_code, is_mutation, is_unauthenticated, PresentedToken, RequestId, TradeSchema,
};

/// How much a request may ask of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// The largest request body, in bytes (413 past it).
    pub max_body_bytes: usize,
    /// The most requests in a batch; 0 refuses batches.
    pub max_batch: usize,
    /// How long a query may run before it is stopped (mutations are never
    /// stopped halfway: they may already be on disk).
    pub timeout: Duration,
    /// Whether a GET must carry a non-empty `apollo-require-preflight` or
    /// `x-apollo-operation-name` header, which a browser cannot add
    /// across sites without a preflight (for deployments with cookies).
    pub csrf_strict_get: bool,
}

/// The response types tradegraph produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/graphql-response+json`: status codes tell request errors.
    GraphqlResponseJson,
    /// `application/json`: always 200 for a GraphQL response.
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept`: the acceptable type with the
/// highest quality, `application/graphql-response+json` on a tie. No
/// `Accept`, or only wildcards, gets `application/json`, as older clients
/// expect. `None` when nothing acceptable can be produced.
fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|accept| !accept.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, u8, MediaType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|parameter| parameter.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let (preference, media) = match essence.as_str() {
            "application/graphql-response+json" => (2, MediaType::GraphqlResponseJson),
            "application/json" => (1, MediaType::Json),
            "*/*" | "application/*" => (0, MediaType::Json),
            _ => continue,
        };
        if quality > 0.0 && best.is_none_or(|(q, p, _)| (quality, preference) > (q, p)) {
            best = Some((quality, preference, media));
        }
    }
    best.map(|(_, _, media)| media)
}

/// A response that is not a GraphQL execution result: one error with a code.
fn refusal(status: StatusCode, media: MediaType, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .body(
            json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string(),
        )
}

/// `POST /graphql`.
pub(super) async fn post(
    schema: web::Data<TradeSchema>,
    limits: web::Data<HttpLimits>,
    http: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(media) = negotiate(accept(&http)) else {
        return not_acceptable();
    };
    let content_type = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let mut parameters = content_type.split(';');
    let essence = parameters
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let utf8 = parameters
        .filter_map(|parameter| {
            parameter
                .trim()
                .to_ascii_lowercase()
                .strip_prefix("charset=")
                .map(str::to_owned)
        })
        .all(|charset| charset.trim_matches('"') == "utf-8");
    if essence != "application/json" || !utf8 {
        // Browsers send text/plain, form and multipart bodies across sites
        // without a preflight; refusing every type but JSON also stops
        // cross-site request forgery.
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "UNSUPPORTED_MEDIA_TYPE",
            &format!(
                "the body must be application/json (UTF-8), got {:?}",
                content_type
            ),
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                &format!("the body is not a GraphQL request: {error}"),
            )
        }
    };
    let token = PresentedToken::from_authorization(authorization(&http));
    match batch {
        BatchRequest::Single(request) => respond(
            media,
            execute(&schema, &limits, request, token, request_id_of(&http)).await,
        ),
        BatchRequest::Batch(requests) => {
            if limits.max_batch == 0 {
                return refusal(StatusCode::BAD_REQUEST, media, "BATCHING_DISABLED", "batched requests (a JSON array) are not enabled on this server; send one request per HTTP request");
            }
            if requests.is_empty() || requests.len() > limits.max_batch {
                let message = format!(
                    "a batch must hold 1 to {} requests, got {}",
                    limits.max_batch,
                    requests.len()
                );
                return refusal(StatusCode::BAD_REQUEST, media, "BATCH_TOO_LARGE", &message);
            }
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(body_of(
                    &execute(
                        &schema,
                        &limits,
                        request,
                        token.clone(),
                        request_id_of(&http),
                    )
                    .await,
                ));
            }
            HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, media.as_str()))
                .body(Value::Array(responses).to_string())
        }
    }
}

/// `GET /graphql?query=...`: queries only.
pub(super) async fn get(
    schema: web::Data<TradeSchema>,
    limits: web::Data<HttpLimits>,
    http: HttpRequest,
) -> HttpResponse {
    let Some(media) = negotiate(accept(&http)) else {
        return not_acceptable();
    };
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| {
            http.headers()
                .get(*name)
                .is_some_and(|value| !value.is_empty())
        });
    if limits.csrf_strict_get && !preflighted {
        return refusal(
            StatusCode::BAD_REQUEST,
            media,
            "CSRF_PREVENTED",
            "this server requires a non-empty apollo-require-preflight or x-apollo-operation-name header on GET requests",
        );
    }
    let request = match async_graphql::http::parse_query_string(http.query_string()) {
        Ok(request) => request,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                &format!("the query string is not a GraphQL request: {error}"),
            )
        }
    };
    if http.method() == Method::GET && is_mutation(&request) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .insert_header((header::CONTENT_TYPE, media.as_str()))
            .body(json!({ "errors": [{ "message": "mutations are not allowed over GET: send them with POST", "extensions": { "code": "BAD_REQUEST" } }] }).to_string());
    }
    let token = PresentedToken::from_authorization(authorization(&http));
    respond(
        media,
        execute(&schema, &limits, request, token, request_id_of(&http)).await,
    )
}

/// The id the request-id middleware gave the request.
fn request_id_of(http: &HttpRequest) -> RequestId {
    http.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId(String::new()))
}

/// Any other method on `/graphql`: 405 with the methods that work.
pub(super) async fn other_method(http: HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, POST"))
        .insert_header((header::CONTENT_TYPE, MediaType::Json.as_str()))
        .body(json!({ "errors": [{ "message": format!("{} is not allowed on /graphql: use GET for queries, POST for anything", http.method()), "extensions": { "code": "METHOD_NOT_ALLOWED" } }] }).to_string())
}

fn accept(http: &HttpRequest) -> Option<&str> {
    http.headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
}

fn authorization(http: &HttpRequest) -> Option<&str> {
    http.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

fn not_acceptable() -> HttpResponse {
    refusal(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "NOT_ACCEPTABLE",
        "tradegraph answers application/graphql-response+json or application/json; the Accept header allows neither",
    )
}

/// Runs a request with the presented token; a query that runs past the
/// timeout is stopped. An empty document (or a misspelt `query` key) is
/// refused before it reaches the schema, as a malformed request.
async fn execute(
    schema: &TradeSchema,
    limits: &HttpLimits,
    request: Request,
    token: PresentedToken,
    request_id: RequestId,
) -> Response {
    if request.query.trim().is_empty() {
        return coded_error(
            "BAD_REQUEST",
            "the request has no query: send a non-empty GraphQL document as `query`",
        );
    }
    let mutation = is_mutation(&request);
    let span = tracing::info_span!("request", request_id = %request_id.0);
    let run = schema
        .execute(request.data(token).data(request_id))
        .instrument(span);
    if mutation {
        return run.await;
    }
    match actix_web::rt::time::timeout(limits.timeout, run).await {
        Ok(response) => response,
        Err(_) => coded_error(
            "TIMEOUT",
            &format!(
                "the query ran longer than {} s and was stopped",
                limits.timeout.as_secs()
            ),
        ),
    }
}

/// A response of one error with a code, pointing at no field.
fn coded_error(code: &str, message: &str) -> Response {
    Response::from_errors(vec![coded(code, message)])
}

/// Whether a response was refused before execution: errors that point at
/// no field, and no data.
fn refused_before_execution(response: &Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// Whether a response refuses a malformed request (code `BAD_REQUEST`),
/// which is 400 whatever the response type.
fn is_bad_request(response: &Response) -> bool {
    response
        .errors
        .iter()
        .any(|error| has_code(error, "BAD_REQUEST"))
}

/// The JSON body of a response; a request refused before execution has no
/// `data` entry, as the specification asks.
fn body_of(response: &Response) -> Value {
    let mut body = serde_json::to_value(response).unwrap_or_else(|_| json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] }));
    if refused_before_execution(response) {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("data");
        }
    }
    body
}

/// The HTTP response for a GraphQL response.
fn respond(media: MediaType, response: Response) -> HttpResponse {
    let status = if is_unauthenticated(&response) {
        StatusCode::UNAUTHORIZED
    } else if is_bad_request(&response)
        || (media == MediaType::GraphqlResponseJson && refused_before_execution(&response))
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    builder
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .body(body_of(&response).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_type_follows_accept() {
        let cases = [
            (None, Some(MediaType::Json)),
            (Some("*/*"), Some(MediaType::Json)),
            (
                Some("application/graphql-response+json"),
                Some(MediaType::GraphqlResponseJson),
            ),
            (
                Some("application/json, application/graphql-response+json"),
                Some(MediaType::GraphqlResponseJson),
            ),
            (
                Some("application/graphql-response+json;q=0.5, application/json"),
                Some(MediaType::Json),
            ),
            (
                Some("application/json; charset=utf-8"),
                Some(MediaType::Json),
            ),
            (Some("text/html"), None),
            (Some("application/json;q=0"), None),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }
}
