//! Reading the GraphQL request an HTTP request carries: a POST's body (one
//! request, or a batch within `--max-batch`), a GET's query string, and the
//! GET header a deployment with cookies may require against cross-site
//! forgery. Every refusal here is of the HTTP request itself, before the
//! API sees anything.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::{BatchRequest, Request, Variables};
use serde::Deserialize;
use serde_json::Value;

use super::negotiation::MediaType;
use super::respond::boxed_refusal;
use super::HttpLimits;
use crate::graphql::codes;

/// What a POST body holds.
pub(super) enum Posted {
    /// One request (boxed: a request is large beside a batch's vector).
    Single(Box<Request>),
    /// A batch, within the limit.
    Batch(Vec<Request>),
}

/// The body of a POST, or the refusal of a body that could not be read:
/// 413 past the size limit, 400 otherwise.
pub(super) fn readable_body(
    body: Result<web::Bytes, actix_web::Error>,
    limits: &HttpLimits,
    media: MediaType,
) -> Result<web::Bytes, Box<HttpResponse>> {
    body.map_err(|error| {
        let status = error.as_response_error().status_code();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            let message = format!(
                "the body is larger than the limit of {} KiB",
                limits.max_body_bytes / 1024
            );
            boxed_refusal(status, media, codes::PAYLOAD_TOO_LARGE, &message)
        } else {
            let message = format!("the body could not be read: {error}");
            boxed_refusal(status, media, codes::BAD_REQUEST, &message)
        }
    })
}

/// The request or batch a POST body holds.
pub(super) fn posted(
    body: &[u8],
    limits: &HttpLimits,
    media: MediaType,
) -> Result<Posted, Box<HttpResponse>> {
    let batch: BatchRequest = serde_json::from_slice(body).map_err(|error| {
        boxed_refusal(
            StatusCode::BAD_REQUEST,
            media,
            codes::BAD_REQUEST,
            &format!("the body is not a GraphQL request: {error}"),
        )
    })?;
    let requests = match batch {
        BatchRequest::Single(request) => return Ok(Posted::Single(Box::new(request))),
        BatchRequest::Batch(requests) => requests,
    };
    if limits.max_batch == 0 {
        return Err(boxed_refusal(
            StatusCode::BAD_REQUEST,
            media,
            codes::BATCHING_DISABLED,
            "batched requests (a JSON array) are not enabled on this server; send one request per HTTP request",
        ));
    }
    if requests.is_empty() || requests.len() > limits.max_batch {
        let message = format!(
            "a batch must hold 1 to {} requests, got {}",
            limits.max_batch,
            requests.len()
        );
        return Err(boxed_refusal(
            StatusCode::BAD_REQUEST,
            media,
            codes::BATCH_TOO_LARGE,
            &message,
        ));
    }
    Ok(Posted::Batch(requests))
}

/// Refuses a GET without a non-empty `apollo-require-preflight` or
/// `x-apollo-operation-name` header when `--csrf-strict-get` asks for one:
/// a browser cannot add either across sites without a preflight.
pub(super) fn require_preflight_header(
    http: &HttpRequest,
    limits: &HttpLimits,
    media: MediaType,
) -> Result<(), Box<HttpResponse>> {
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| {
            http.headers()
                .get(*name)
                .is_some_and(|value| !value.is_empty())
        });
    if !limits.csrf_strict_get || preflighted {
        return Ok(());
    }
    Err(boxed_refusal(
        StatusCode::BAD_REQUEST,
        media,
        codes::CSRF_PREVENTED,
        "this server requires a non-empty apollo-require-preflight or x-apollo-operation-name header on GET requests",
    ))
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

/// The request a GET query string carries, or its 400 refusal.
pub(super) fn of_query_string(
    http: &HttpRequest,
    media: MediaType,
) -> Result<Request, Box<HttpResponse>> {
    request_of_query_string(http.query_string()).map_err(|error| {
        boxed_refusal(
            StatusCode::BAD_REQUEST,
            media,
            codes::BAD_REQUEST,
            &format!("the query string is not a GraphQL request: {error}"),
        )
    })
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
