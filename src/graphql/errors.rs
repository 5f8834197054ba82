//! The one place where errors get a stable `extensions.code`: tradegraph's
//! own [`Error`] (internal causes are logged here and replaced by a generic
//! message, so no storage detail ever reaches a client), and async-graphql's
//! parse, validation and argument errors, coded as the [`Api`](super::Api)
//! parses a request and once it has run.

use async_graphql::{ErrorExtensions, Response, ServerError};

use super::codes;
use crate::error::Error;

/// Converts an error for a client.
pub fn to_graphql(error: &Error) -> async_graphql::Error {
    let with_code = |code: &'static str| {
        async_graphql::Error::new(error.to_string()).extend_with(move |_, e| e.set("code", code))
    };
    match error {
        Error::BadInput(_) => with_code(codes::BAD_USER_INPUT),
        Error::NotFound(_) => with_code(codes::NOT_FOUND),
        Error::Unauthenticated(_) => with_code(codes::UNAUTHENTICATED),
        Error::Conflict {
            current_version,
            expected_version,
        } => with_code(codes::CONFLICT).extend_with(|_, e| {
            e.set("currentVersion", *current_version);
            e.set("expectedVersion", *expected_version);
        }),
        Error::ScanLimit { limit } => {
            let limit = *limit;
            with_code(super::codes::SCAN_LIMIT).extend_with(move |_, e| e.set("limit", limit))
        }
        Error::DeadlineExceeded => with_code(super::codes::TIMEOUT),
        Error::EventsMissed(_) => with_code(codes::EVENTS_MISSED),
        Error::Unavailable(cause) => {
            tracing::warn!(%cause, "the store is unavailable");
            async_graphql::Error::new("the store is unavailable for the moment: retry with backoff")
                .extend_with(|_, e| e.set("code", codes::UNAVAILABLE))
        }
        internal => {
            tracing::error!(error = %internal, "request failed");
            async_graphql::Error::new("internal error")
                .extend_with(|_, e| e.set("code", codes::INTERNAL))
        }
    }
}

/// Converts tradegraph results for resolvers. async-graphql would convert
/// any error through its `Display` with no code, so every resolver passes
/// tradegraph errors through [`ApiResult::api`] instead of a bare `?`.
pub trait ApiResult<T> {
    /// The result with the error converted for a client.
    fn api(self) -> async_graphql::Result<T>;
}

impl<T> ApiResult<T> for crate::error::Result<T> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|error| to_graphql(&error))
    }
}

/// A document that does not parse, refused with `GRAPHQL_PARSE_FAILED`.
pub(super) fn parse_failed(error: async_graphql::parser::Error) -> ServerError {
    with_code(ServerError::from(error), codes::GRAPHQL_PARSE_FAILED)
}

/// Gives every error of a request the schema ran a code. async-graphql
/// refuses a document that does not fit the schema (and argument values
/// that do not coerce) before anything runs, with errors that point at no
/// field: those are `GRAPHQL_VALIDATION_FAILED`. An error that points at a
/// field and has no code is a defect, shown as `INTERNAL` with the request
/// id.
pub(super) fn give_codes(response: &mut Response, request_id: Option<&str>) {
    response.errors = std::mem::take(&mut response.errors)
        .into_iter()
        .map(|error| {
            if error.path.is_empty() {
                with_code(error, codes::GRAPHQL_VALIDATION_FAILED)
            } else {
                with_request_id(without_code_is_internal(error), request_id)
            }
        })
        .collect();
}

/// Every error tradegraph raises has a code, and argument values that do
/// not coerce are refused during validation, so an execution error without
/// a code is a defect: it is logged and reaches the client only as
/// `INTERNAL`.
fn without_code_is_internal(error: ServerError) -> ServerError {
    if error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
    {
        return error;
    }
    tracing::error!(error = %error.message, path = ?error.path, "an error without a code");
    ServerError {
        message: "internal error".into(),
        ..with_code(error, codes::INTERNAL)
    }
}

/// The id of the request being served, shown with internal errors so that
/// a client can quote it and an operator find the log line.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Adds the request id to an `INTERNAL` error.
fn with_request_id(mut error: ServerError, request_id: Option<&str>) -> ServerError {
    let internal = has_code(&error, codes::INTERNAL);
    if let (true, Some(id), Some(extensions)) = (internal, request_id, error.extensions.as_mut()) {
        extensions.set("requestId", id);
    }
    error
}

/// A new error with a code and no location: the one way errors raised
/// outside resolvers (limits, HTTP refusals) get their code.
pub fn coded(code: &str, message: impl Into<String>) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

/// Whether an error carries `extensions.code` = `code`.
pub fn has_code(error: &ServerError, code: &str) -> bool {
    error.extensions.as_ref().and_then(|e| e.get("code")) == Some(&async_graphql::Value::from(code))
}

/// Sets `extensions.code` unless the error already has one.
fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}
