//! Who may write: the guard every mutation carries. It lives here, in the
//! GraphQL layer, because async-graphql's WebSocket transport executes
//! queries and mutations too: no transport can bypass a guard on the field.

use async_graphql::{Context, Guard};

use super::errors::to_graphql;
use crate::auth::WriteTokens;
use crate::error::Error;

/// The write token a request presented, if any: from the `Authorization`
/// header over HTTP, from the `connection_init` payload over WebSocket.
#[derive(Clone, Default)]
pub struct PresentedToken(Option<String>);

impl PresentedToken {
    /// Reads an `Authorization` header value: `Bearer <token>`.
    pub fn from_authorization(header: Option<&str>) -> Self {
        let token = header.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        });
        Self(token)
    }

    /// The token, if it is one of `tokens`.
    pub(super) fn valid(&self, tokens: &WriteTokens) -> Option<&str> {
        self.0.as_deref().filter(|token| tokens.allows(token))
    }

    /// Reads a `connection_init` payload: `{"Authorization": "Bearer <token>"}`
    /// (any case of the key), or `{"token": "<token>"}`.
    pub fn from_init_payload(payload: &serde_json::Value) -> Self {
        let Some(fields) = payload.as_object() else {
            return Self::default();
        };
        let header = fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, value)| value.as_str());
        match (header, fields.get("token").and_then(|token| token.as_str())) {
            (Some(header), _) => Self::from_authorization(Some(header)),
            (None, token) => Self(token.map(str::to_owned)),
        }
    }
}

/// Lets a mutation run only for a request with a valid write token.
pub struct WriteGuard;

impl Guard for WriteGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let tokens = ctx.data_unchecked::<WriteTokens>();
        let presented = ctx
            .data_opt::<PresentedToken>()
            .cloned()
            .unwrap_or_default();
        let refusal = if !tokens.any() {
            "writes are disabled: no write token is configured; start the server with --write-token-hash <hash> (`tradegraph token` makes a token and its hash)"
        } else if presented.valid(tokens).is_some() {
            return Ok(());
        } else {
            match presented.0 {
                Some(_) => "the write token is not valid",
                None => "a write token is required: send the header Authorization: Bearer <token> (over WebSocket, put it in the connection_init payload)",
            }
        };
        Err(to_graphql(&Error::Unauthenticated(refusal.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_are_read_from_headers_and_init_payloads() {
        let token = |presented: PresentedToken| presented.0;
        assert_eq!(
            token(PresentedToken::from_authorization(Some("Bearer abc"))),
            Some("abc".into())
        );
        assert_eq!(
            token(PresentedToken::from_authorization(Some("bearer  abc "))),
            Some("abc".into())
        );
        assert_eq!(
            token(PresentedToken::from_authorization(Some("Basic abc"))),
            None
        );
        assert_eq!(token(PresentedToken::from_authorization(None)), None);
        assert_eq!(
            token(PresentedToken::from_init_payload(
                &json!({ "authorization": "Bearer x" })
            )),
            Some("x".into())
        );
        assert_eq!(
            token(PresentedToken::from_init_payload(&json!({ "token": "y" }))),
            Some("y".into())
        );
        assert_eq!(token(PresentedToken::from_init_payload(&json!(null))), None);
    }
}
