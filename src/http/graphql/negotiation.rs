//! Media types: which response type a client accepts (`Accept`), and which
//! request bodies are taken (`Content-Type`). Kept apart from the response
//! path because the type is settled before anything runs, and a refusal
//! here is written in the type just negotiated.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};

use super::respond::boxed_refusal;
use crate::graphql::codes;

/// The response types tradegraph produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaType {
    /// `application/graphql-response+json`: status codes tell request errors.
    GraphqlResponseJson,
    /// `application/json`: always 200 for a GraphQL response.
    Json,
}

impl MediaType {
    /// The `Content-Type` of a response of this type.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// The response type a request accepts, or the 406 refusal when it accepts
/// none tradegraph produces.
pub(super) fn response_type(http: &HttpRequest) -> Result<MediaType, Box<HttpResponse>> {
    let accept = http
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    negotiate(accept).ok_or_else(|| {
        boxed_refusal(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            codes::NOT_ACCEPTABLE,
            "tradegraph answers application/graphql-response+json or application/json; the Accept header allows neither",
        )
    })
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

/// Refuses a POST body that is not `application/json` in UTF-8 with 415.
/// Browsers send text/plain, form and multipart bodies across sites without
/// a preflight; refusing every type but JSON also stops cross-site request
/// forgery.
pub(super) fn require_json_body(
    http: &HttpRequest,
    media: MediaType,
) -> Result<(), Box<HttpResponse>> {
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
    if essence == "application/json" && utf8 {
        return Ok(());
    }
    Err(boxed_refusal(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        media,
        codes::UNSUPPORTED_MEDIA_TYPE,
        &format!(
            "the body must be application/json (UTF-8), got {:?}",
            content_type
        ),
    ))
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
