//! The one place where tradegraph's [`Error`] becomes a GraphQL error with a
//! stable `extensions.code`. Internal causes are logged here and replaced by
//! a generic message, so no storage detail ever reaches a client.

use async_graphql::ErrorExtensions;

use crate::error::Error;

/// The `extensions.code` values clients can rely on.
pub mod code {
    /// The request asked for something not allowed; the message says what.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// Something failed on the server; details are in the server log only.
    pub const INTERNAL: &str = "INTERNAL";
}

/// Converts an error for a client.
pub fn to_graphql(error: &Error) -> async_graphql::Error {
    match error {
        Error::BadInput(message) => async_graphql::Error::new(message.clone())
            .extend_with(|_, e| e.set("code", code::BAD_USER_INPUT)),
        internal => {
            tracing::error!(error = %internal, "request failed");
            async_graphql::Error::new("internal error")
                .extend_with(|_, e| e.set("code", code::INTERNAL))
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
