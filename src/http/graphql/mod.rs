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
//!
//! The handlers here only put the steps in order; each concern has its own
//! module, because each changes for its own reasons:
//! - `negotiation`: media types, `Accept` and `Content-Type`;
//! - `request`: the GraphQL request a body or query string carries;
//! - `caching`: `ETag`s and the response cache (whose answers are charged);
//! - `respond`: running on the API under the timeout, and the outcome as a
//!   status, headers, a body and an observation.

mod caching;
mod negotiation;
mod request;
mod respond;

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::Request;

use self::negotiation::MediaType;
use self::request::Posted;
use self::respond::{refusal, respond, respond_with};
use super::client::TrustedProxies;
use super::metrics::{Observation, Outcome as Observed};
use super::response_cache::{Answer, RequestDigest, ResponseCache};
use crate::graphql::{codes, Api, Outcome};
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
    /// How GET responses may be cached.
    pub caching: Caching,
    /// The store, for its id and revision.
    pub store: Store,
    /// Answers of successful queries at the current revision.
    pub responses: ResponseCache,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

/// How GET responses may be cached.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caching {
    /// Seconds a shared cache may reuse a successful response.
    pub max_age: u32,
}

/// `POST /graphql`.
pub(super) async fn post(
    endpoint: web::Data<Endpoint>,
    http: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let media = match negotiation::response_type(&http) {
        Ok(media) => media,
        Err(refused) => return *refused,
    };
    let body = match request::readable_body(body, &endpoint.limits, media) {
        Ok(body) => body,
        Err(refused) => return *refused,
    };
    if let Err(refused) = negotiation::require_json_body(&http, media) {
        return *refused;
    }
    // A repeated query is answered from the response cache before its body
    // is parsed.
    let key = endpoint
        .responses
        .is_enabled()
        .then(|| caching::body_digest(&body, media));
    // Read only with the cache on: with another backend it is a round trip.
    let revision = match key {
        Some(_) => caching::current_revision(&endpoint.store).await,
        None => None,
    };
    let cached = key
        .zip(revision)
        .and_then(|(key, revision)| endpoint.responses.get(&key, revision));
    if let Some(answer) = cached {
        return caching::remembered(&endpoint, &http, media, answer);
    }
    match request::posted(&body, &endpoint.limits, media) {
        Ok(Posted::Single(request)) => {
            answer(&endpoint, *request, &http, media, Method::Post(key)).await
        }
        Ok(Posted::Batch(requests)) => respond::batch(&endpoint, requests, &http, media).await,
        Err(refused) => *refused,
    }
}

/// `GET /graphql?query=...`: queries only.
pub(super) async fn get(endpoint: web::Data<Endpoint>, http: HttpRequest) -> HttpResponse {
    let media = match negotiation::response_type(&http) {
        Ok(media) => media,
        Err(refused) => return *refused,
    };
    if let Err(refused) = request::require_preflight_header(&http, &endpoint.limits, media) {
        return *refused;
    }
    match request::of_query_string(&http, media) {
        Ok(request) => answer(&endpoint, request, &http, media, Method::Get).await,
        Err(refused) => *refused,
    }
}

/// Any other method on `/graphql`: 405 with the methods that work.
pub(super) async fn other_method(http: HttpRequest) -> HttpResponse {
    let mut response = refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        MediaType::Json,
        codes::METHOD_NOT_ALLOWED,
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
/// query remembered at the current revision from the response cache, and
/// runs anything else.
async fn answer(
    endpoint: &Endpoint,
    mut request: Request,
    http: &HttpRequest,
    media: MediaType,
    method: Method,
) -> HttpResponse {
    let operation = match endpoint.api.resolve(&mut request) {
        Ok(operation) => operation,
        Err(refused) => {
            let operation = request.operation_name.unwrap_or_default();
            return respond(media, &refused, operation);
        }
    };
    if operation.is_mutation {
        if method == Method::Get {
            return respond::mutation_over_get(media);
        }
        let outcome = respond::run_mutation(endpoint, request, http).await;
        return respond(media, &outcome, operation.name);
    }
    // A GET's `ETag` and cache entry use the request digested; a POST's
    // cache entry its body's.
    let digest = match method {
        Method::Get => Some(caching::request_digest(&request, media)),
        Method::Post(key) => key,
    };
    // Taken before the query runs, so what it reads is at least this new;
    // and only when a digest will use it.
    let revision = match digest {
        Some(_) => caching::current_revision(&endpoint.store).await,
        None => None,
    };
    let etag = digest
        .zip(revision)
        .filter(|_| method == Method::Get)
        .map(|(digest, revision)| caching::etag(&endpoint.store, revision, &digest));
    if let Some(etag) = etag
        .as_deref()
        .filter(|etag| caching::if_none_match(http, etag))
    {
        // Not charged: answering it reads nothing.
        let mut response = HttpResponse::NotModified().finish();
        caching::cacheable(&mut response, etag, endpoint.caching.max_age);
        response.extensions_mut().insert(Observation {
            operation: operation.name,
            outcome: Observed::Ok,
            code: String::new(),
        });
        return response;
    }
    let cached = digest
        .zip(revision)
        .and_then(|(digest, revision)| endpoint.responses.get(&digest, revision));
    let mut response = match cached {
        Some(answer) => caching::remembered(endpoint, http, media, answer),
        None => {
            let outcome = respond::run_query(endpoint, request, http).await;
            let body = respond::body_of(&outcome);
            let Outcome::Answered { response, cost } = &outcome else {
                return respond_with(media, &outcome, body, operation.name);
            };
            if !response.errors.is_empty() {
                return respond_with(media, &outcome, body, operation.name);
            }
            if let Some((digest, revision)) = digest.zip(revision) {
                let answer = Answer {
                    body: body.clone(),
                    operation: operation.name.clone(),
                    cost: *cost,
                };
                endpoint.responses.put(digest, revision, answer);
            }
            respond_with(media, &outcome, body, operation.name)
        }
    };
    // A refusal of a remembered answer (a spent budget) is not cacheable.
    if let Some(etag) = etag.filter(|_| response.status() == StatusCode::OK) {
        caching::cacheable(&mut response, &etag, endpoint.caching.max_age);
    }
    response
}
