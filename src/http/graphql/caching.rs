//! Caching of query answers: `ETag`s and `Cache-Control` on GET answers,
//! for browsers and CDNs, and the in-memory response cache, for repeats of
//! any query. Both are keyed by a digest of the request and the database's
//! revision, so a write makes every earlier answer stale.
//!
//! An answer from the response cache is charged its cost to the client's
//! budget, as if the query had run: the budget is a client's share of the
//! server, and free answers would let one client take the rest.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use async_graphql::Request;
use sha2::{Digest, Sha256};

use super::negotiation::MediaType;
use super::respond::respond;
use super::Endpoint;
use crate::http::client::{client_address, presented_token};
use crate::http::metrics::{Observation, Outcome as Observed};
use crate::http::response_cache::{Answer, RequestDigest};
use crate::store::Store;

/// The database's revision, or `None` when it cannot be read: then
/// nothing is answered from the cache or given an `ETag`, and the query
/// itself reports what is wrong with the store.
pub(super) async fn current_revision(store: &Store) -> Option<u64> {
    match store.revision().await {
        Ok(revision) => Some(revision),
        Err(error) => {
            tracing::warn!(%error, "cannot read the database revision");
            None
        }
    }
}

/// The digest a POST's answer is cached under: its raw body and the
/// response type, so a repeat is answered before its body is parsed (the
/// token and the address matter only to mutations and the budget, and
/// neither a mutation nor a refusal is ever cached).
pub(super) fn body_digest(body: &[u8], media: MediaType) -> RequestDigest {
    digest_of([body, media.as_str().as_bytes()])
}

/// A digest of everything an answer depends on besides the database: the
/// document, the operation name, the variables and the response type.
pub(super) fn request_digest(request: &Request, media: MediaType) -> RequestDigest {
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

/// The `ETag` of a GET answer: the database's id, its revision and the
/// request's digest.
pub(super) fn etag(store: &Store, revision: u64, digest: &RequestDigest) -> String {
    format!(
        "\"{}-{revision}-{}\"",
        store.database_id(),
        hex::encode(&digest[..12])
    )
}

/// Whether `If-None-Match` names the current `ETag` (or is `*`).
pub(super) fn if_none_match(http: &HttpRequest, etag: &str) -> bool {
    http.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// Marks a GET response as cacheable: its `ETag`, `Cache-Control` (a
/// shared cache may reuse it for `max_age` seconds; 0 makes caches
/// revalidate each time) and `Vary: Accept`.
pub(super) fn cacheable(response: &mut HttpResponse, etag: &str, max_age: u32) {
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

/// The response of a remembered answer, once its cost is charged to the
/// client; the refusal when the client's budget cannot pay for it.
pub(super) fn remembered(
    endpoint: &Endpoint,
    http: &HttpRequest,
    media: MediaType,
    answer: Answer,
) -> HttpResponse {
    let token = presented_token(http);
    let address = client_address(http, &endpoint.trusted_proxies);
    let charged = endpoint
        .api
        .charge_remembered(Some(&token), address.as_ref(), answer.cost);
    if let Err(refused) = charged {
        return respond(media, &refused, answer.operation);
    }
    let mut response = HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(answer.body);
    response.extensions_mut().insert(Observation {
        operation: answer.operation,
        outcome: Observed::Ok,
        code: String::new(),
    });
    response
}
