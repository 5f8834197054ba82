//! GraphQL over HTTP, per the GraphQL-over-HTTP specification: `POST` with
//! a JSON body (415 for other content types, 413 past the size limit, 400
//! for a body that is not a request), `GET` with the request in the query
//! string (405 for a mutation), the response type negotiated from `Accept`
//! (406 when none fits), and under `application/graphql-response+json`
//! status 400 and no `data` for requests that are refused before
//! execution. Batches (a JSON array) are refused unless enabled.
//!
//! Persisted-query hashes are resolved here first, so a hash cannot smuggle
//! a mutation into a GET. Successful GET responses carry `Cache-Control`
//! and an `ETag` from the database's id and revision; a matching
//! `If-None-Match` gets 304 without running the query.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use async_graphql::{BatchRequest, Request, Response, ServerError, Variables};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::metrics::{Observation, Outcome};
use super::response_cache::{Answer, RequestDigest, ResponseCache};
use crate::graphql::{
    coded, codes, has_code, is_unauthenticated, operation_of, refused_before_execution, Api,
    ClientAddress, PersistedQueries, PresentedToken, RequestId,
};
use crate::store::Store;

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

/// What `/graphql` needs to answer: the API and the settings of the HTTP
/// layer.
pub(super) struct Endpoint {
    /// The API requests run on.
    pub api: Api,
    /// What a request may ask of the HTTP layer.
    pub limits: HttpLimits,
    /// The operations known by hash.
    pub persisted: Arc<PersistedQueries>,
    /// How GET responses may be cached.
    pub caching: Caching,
    /// The store, for its id and revision.
    pub store: Store,
    /// Answers of successful queries at the current revision.
    pub responses: ResponseCache,
}

/// How GET responses may be cached.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caching {
    /// Seconds a shared cache may reuse a successful response.
    pub max_age: u32,
}

/// The database's revision, or `None` when it cannot be read: then
/// nothing is answered from the cache or given an `ETag`, and the query
/// itself reports what is wrong with the store.
async fn current_revision(store: &Store) -> Option<u64> {
    match store.revision().await {
        Ok(revision) => Some(revision),
        Err(error) => {
            tracing::warn!(%error, "cannot read the database revision");
            None
        }
    }
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
    let mut response = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(
            json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
                .to_string(),
        );
    response.extensions_mut().insert(Observation {
        operation: String::new(),
        outcome: Outcome::Refused,
        code: code.to_owned(),
    });
    response
}

/// `POST /graphql`.
pub(super) async fn post(
    endpoint: web::Data<Endpoint>,
    http: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let Some(media) = negotiate(accept(&http)) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            let status = error.as_response_error().status_code();
            let (code, message) = if status == StatusCode::PAYLOAD_TOO_LARGE {
                (
                    "PAYLOAD_TOO_LARGE",
                    format!(
                        "the body is larger than the limit of {} KiB",
                        endpoint.limits.max_body_bytes / 1024
                    ),
                )
            } else {
                (
                    "BAD_REQUEST",
                    format!("the body could not be read: {error}"),
                )
            };
            return refusal(status, media, code, &message);
        }
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
    // A repeated query is answered from the response cache before its body
    // is parsed: the answer depends only on the body, the response type and
    // the database (the token and the address matter to mutations and the
    // cost budget, and neither is ever cached).
    let key = endpoint
        .responses
        .is_enabled()
        .then(|| digest_of([body.as_ref(), media.as_str().as_bytes()]));
    // Read only with the cache on: with another backend it is a round trip.
    let revision = match key {
        Some(_) => current_revision(&endpoint.store).await,
        None => None,
    };
    let cached = key
        .zip(revision)
        .and_then(|(key, revision)| endpoint.responses.get(&key, revision));
    if let Some(answer) = cached {
        return remembered(media, answer);
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
    let limits = endpoint.limits;
    match batch {
        BatchRequest::Single(request) => {
            answer(&endpoint, request, &http, media, Method::Post(key)).await
        }
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
            let mut bodies = Vec::with_capacity(requests.len());
            // The batch is observed as its first failed request, if any.
            let mut summary: Option<Observation> = None;
            for request in requests {
                let response = run(&endpoint, request, &http).await;
                let observation = observe(&response, "(batch)".into());
                summary = Some(match summary {
                    Some(failed) if failed.outcome != Outcome::Ok => failed,
                    _ => observation,
                });
                bodies.push(body_of(&response));
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
    }
}

/// The parameters of a GET request, named as the GraphQL-over-HTTP
/// specification names them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParameters {
    #[serde(default)]
    query: String,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// The request a GET query string carries.
fn request_of_query_string(query_string: &str) -> Result<Request, String> {
    let parameters = web::Query::<GetParameters>::from_query(query_string)
        .map_err(|error| error.to_string())?
        .into_inner();
    let mut request = Request::new(parameters.query);
    request.operation_name = parameters.operation_name.filter(|name| !name.is_empty());
    if let Some(variables) = parameters.variables {
        let variables: Value = serde_json::from_str(&variables)
            .map_err(|error| format!("variables is not JSON: {error}"))?;
        if !variables.is_null() && !variables.is_object() {
            return Err("variables must be a JSON object".into());
        }
        request.variables = Variables::from_json(variables);
    }
    if let Some(extensions) = parameters.extensions {
        request.extensions = serde_json::from_str(&extensions)
            .map_err(|error| format!("extensions is not a JSON object: {error}"))?;
    }
    Ok(request)
}

/// `GET /graphql?query=...`: queries only.
pub(super) async fn get(endpoint: web::Data<Endpoint>, http: HttpRequest) -> HttpResponse {
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
    if endpoint.limits.csrf_strict_get && !preflighted {
        return refusal(
            StatusCode::BAD_REQUEST,
            media,
            "CSRF_PREVENTED",
            "this server requires a non-empty apollo-require-preflight or x-apollo-operation-name header on GET requests",
        );
    }
    let request = match request_of_query_string(http.query_string()) {
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
    answer(&endpoint, request, &http, media, Method::Get).await
}

/// How a request came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// `GET`: queries only; answers carry cache headers.
    Get,
    /// `POST`, with the digest of its body when the response cache is on.
    Post(Option<RequestDigest>),
}

/// Answers one request: resolves its persisted query, refuses a mutation
/// over GET, answers a GET whose `If-None-Match` is current with 304, a
/// query remembered at the current revision from the response
/// cache, and runs anything else.
async fn answer(
    endpoint: &Endpoint,
    mut request: Request,
    http: &HttpRequest,
    media: MediaType,
    method: Method,
) -> HttpResponse {
    let (operation, is_mutation) = match prepare(endpoint, &mut request) {
        Ok(prepared) => prepared,
        Err(error) => {
            let operation = request.operation_name.unwrap_or_default();
            return respond(media, &Response::from_errors(vec![error]), operation);
        }
    };
    if is_mutation {
        if method == Method::Get {
            let mut response = refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "BAD_REQUEST",
                "mutations are not allowed over GET: send them with POST",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            return response;
        }
        let response = execute(endpoint, request, http, true).await;
        return respond(media, &response, operation);
    }
    // A GET's `ETag` and cache entry use the request digested; a POST's
    // cache entry its body's.
    let digest = match method {
        Method::Get => Some(request_digest(&request, media)),
        Method::Post(key) => key,
    };
    // Taken before the query runs, so what it reads is at least this new;
    // and only when a digest will use it.
    let revision = match digest {
        Some(_) => current_revision(&endpoint.store).await,
        None => None,
    };
    let etag = digest
        .zip(revision)
        .filter(|_| method == Method::Get)
        .map(|(digest, revision)| {
            format!(
                "\"{}-{revision}-{}\"",
                endpoint.store.database_id(),
                hex::encode(&digest[..12])
            )
        });
    let ok = |operation: String| Observation {
        operation,
        outcome: Outcome::Ok,
        code: String::new(),
    };
    if let Some(etag) = etag.as_deref().filter(|etag| if_none_match(http, etag)) {
        let mut response = HttpResponse::NotModified().finish();
        cacheable(&mut response, etag, endpoint.caching.max_age);
        response.extensions_mut().insert(ok(operation));
        return response;
    }
    let cached = digest
        .zip(revision)
        .and_then(|(digest, revision)| endpoint.responses.get(&digest, revision));
    let mut response = match cached {
        Some(answer) => remembered(media, answer),
        None => {
            let response = execute(endpoint, request, http, false).await;
            let body = Bytes::from(body_of(&response));
            if !response.errors.is_empty() {
                return respond_with(media, &response, body, operation);
            }
            if let Some((digest, revision)) = digest.zip(revision) {
                let answer = Answer {
                    body: body.clone(),
                    operation: operation.clone(),
                };
                endpoint.responses.put(digest, revision, answer);
            }
            respond_with(media, &response, body, operation)
        }
    };
    if let Some(etag) = &etag {
        cacheable(&mut response, etag, endpoint.caching.max_age);
    }
    response
}

/// Marks a GET response as cacheable: its `ETag`, `Cache-Control` (a
/// shared cache may reuse it for `max_age` seconds; 0 makes caches
/// revalidate each time) and `Vary: Accept`.
fn cacheable(response: &mut HttpResponse, etag: &str, max_age: u32) {
    let cache_control = if max_age == 0 {
        "no-cache".to_owned()
    } else {
        format!("public, max-age={max_age}")
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ETAG, etag.to_owned()),
        (header::CACHE_CONTROL, cache_control),
        (header::VARY, "Accept".to_owned()),
    ] {
        // Both values are ASCII made here, so they are valid header values.
        if let Ok(value) = header::HeaderValue::try_from(value) {
            headers.insert(name, value);
        }
    }
}

/// A digest of everything an answer depends on besides the database: the
/// document, the operation name, the variables and the response type.
fn request_digest(request: &Request, media: MediaType) -> RequestDigest {
    digest_of([
        request.query.as_bytes(),
        request
            .operation_name
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
        serde_json::to_string(&request.variables)
            .unwrap_or_default()
            .as_bytes(),
        media.as_str().as_bytes(),
    ])
}

/// The SHA-256 of some parts, each followed by a zero byte so that no two
/// lists of parts run together into the same bytes.
fn digest_of<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> RequestDigest {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
        digest.update([0]);
    }
    digest.finalize().into()
}

/// The response of a remembered answer.
fn remembered(media: MediaType, answer: Answer) -> HttpResponse {
    let mut response = HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(answer.body);
    response.extensions_mut().insert(Observation {
        operation: answer.operation,
        outcome: Outcome::Ok,
        code: String::new(),
    });
    response
}

/// Whether `If-None-Match` names the current `ETag` (or is `*`).
fn if_none_match(http: &HttpRequest, etag: &str) -> bool {
    http.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
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
    let mut response = refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        MediaType::Json,
        "METHOD_NOT_ALLOWED",
        &format!(
            "{} is not allowed on /graphql: use GET for queries, POST for anything",
            http.method()
        ),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    response
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

/// The name of the operation a request would run (or the name it asked
/// for, or "") and whether it is a mutation.
fn operation_name_and_kind(request: &Request) -> (String, bool) {
    match operation_of(request) {
        Some(operation) => (operation.name, operation.is_mutation),
        None => (request.operation_name.clone().unwrap_or_default(), false),
    }
}

/// Resolves a request's persisted query; returns the name of the
/// operation it would run and whether that is a mutation.
fn prepare(endpoint: &Endpoint, request: &mut Request) -> Result<(String, bool), ServerError> {
    endpoint.persisted.resolve(request)?;
    Ok(operation_name_and_kind(request))
}

/// Resolves one request of a batch and runs it.
async fn run(endpoint: &Endpoint, mut request: Request, http: &HttpRequest) -> Response {
    match prepare(endpoint, &mut request) {
        Ok((_, is_mutation)) => execute(endpoint, request, http, is_mutation).await,
        Err(error) => Response::from_errors(vec![error]),
    }
}

/// Runs a request with the presented token and the client's address; a
/// query that runs past the timeout is stopped (a mutation never is: it
/// may already be on disk). An empty document (or a misspelt `query` key)
/// is refused before it reaches the schema, as a malformed request.
async fn execute(
    endpoint: &Endpoint,
    request: Request,
    http: &HttpRequest,
    mutation: bool,
) -> Response {
    if request.query.trim().is_empty() {
        return coded_error(
            "BAD_REQUEST",
            "the request has no query: send a non-empty GraphQL document as `query`",
        );
    }
    let request_id = request_id_of(http);
    let span = tracing::info_span!("request", request_id = %request_id.0);
    let mut request = request
        .data(PresentedToken::from_authorization(authorization(http)))
        .data(request_id);
    if let Some(address) = http.peer_addr() {
        request = request.data(ClientAddress(address.ip()));
    }
    let run = endpoint.api.execute(request).instrument(span);
    if mutation {
        return run.await;
    }
    let timeout = endpoint.limits.timeout;
    match actix_web::rt::time::timeout(timeout, run).await {
        Ok(response) => response,
        Err(_) => coded_error(
            "TIMEOUT",
            &format!(
                "the query ran longer than {} s and was stopped",
                timeout.as_secs()
            ),
        ),
    }
}

/// A response of one error with a code, pointing at no field.
fn coded_error(code: &str, message: &str) -> Response {
    Response::from_errors(vec![coded(code, message)])
}

/// Whether a response refuses a malformed request (code `BAD_REQUEST`),
/// which is 400 whatever the response type.
fn is_bad_request(response: &Response) -> bool {
    response
        .errors
        .iter()
        .any(|error| has_code(error, "BAD_REQUEST"))
}

/// The seconds a rate-limited response asks the client to wait.
fn retry_after(response: &Response) -> Option<u64> {
    response.errors.iter().find_map(|error| {
        if !has_code(error, codes::RATE_LIMITED) {
            return None;
        }
        match error.extensions.as_ref()?.get("retryAfterSeconds") {
            Some(async_graphql::Value::Number(seconds)) => seconds.as_u64(),
            _ => None,
        }
    })
}

/// The JSON body of a response, written straight from the response (no
/// intermediate JSON tree); a request refused before execution has no
/// `data` entry, as the specification asks.
fn body_of(response: &Response) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Refused<'a> {
        errors: &'a [async_graphql::ServerError],
    }
    let written = if refused_before_execution(response) {
        serde_json::to_vec(&Refused {
            errors: &response.errors,
        })
    } else {
        serde_json::to_vec(response)
    };
    written.unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialize a response");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    })
}

/// What became of a request, for the metrics and the access log.
fn observe(response: &Response, operation: String) -> Observation {
    let outcome = if response.errors.is_empty() {
        Outcome::Ok
    } else if refused_before_execution(response) {
        Outcome::Refused
    } else {
        Outcome::Error
    };
    let code = response
        .errors
        .first()
        .and_then(|error| match error.extensions.as_ref()?.get("code") {
            Some(async_graphql::Value::String(code)) => Some(code.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Observation {
        operation,
        outcome,
        code,
    }
}

/// The HTTP response for a GraphQL response.
fn respond(media: MediaType, response: &Response, operation: String) -> HttpResponse {
    respond_with(media, response, Bytes::from(body_of(response)), operation)
}

/// The HTTP response for a GraphQL response whose body is written.
fn respond_with(
    media: MediaType,
    response: &Response,
    body: Bytes,
    operation: String,
) -> HttpResponse {
    let retry = retry_after(response);
    let status = if is_unauthenticated(response) {
        StatusCode::UNAUTHORIZED
    } else if retry.is_some() {
        StatusCode::TOO_MANY_REQUESTS
    } else if is_bad_request(response)
        || (media == MediaType::GraphqlResponseJson && refused_before_execution(response))
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut builder = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    if let Some(seconds) = retry {
        builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    let mut http = builder
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body);
    http.extensions_mut().insert(observe(response, operation));
    http
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
