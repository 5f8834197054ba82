//! The one table of `extensions.code` values: every code the server puts on
//! an error, on every transport, is a constant here, and nothing else in
//! the crate spells a code out. Each constant says what the client sees and
//! what it can do about it; the README's table of codes says the same and a
//! test keeps the two in step.
//!
//! Codes are a contract with clients: a code is added freely, never renamed.

// Errors of the data and the schema.

/// A value the schema allows but tradegraph does not (a page size out of
/// range, a foreign cursor, a malformed id, an unknown province); the
/// message says what was wrong and what is allowed. Fix the value.
pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
/// A mutation names a record that does not exist (any more). Read the
/// record again before writing it.
pub const NOT_FOUND: &str = "NOT_FOUND";
/// The record changed since the client read it: `extensions.currentVersion`
/// says what it is now. Read it again and resend with that version.
pub const CONFLICT: &str = "CONFLICT";
/// A write came without a valid write token (HTTP 401 with
/// `WWW-Authenticate: Bearer`). Send `Authorization: Bearer <token>`.
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
/// Something failed on the server; the details are in the server log only,
/// under the `extensions.requestId` the error carries. Quote that id.
pub const INTERNAL: &str = "INTERNAL";
/// The store is unreachable or did not answer in time (an etcd cluster
/// that lost its quorum), with HTTP 503 and `Retry-After`. Retry with
/// backoff; the server recovers by itself when the store is back. A
/// mutation that failed so may or may not have applied: retry it with the
/// same idempotency key, or read before writing again.
pub const UNAVAILABLE: &str = "UNAVAILABLE";
/// The document is not valid GraphQL syntax. Fix the document.
pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// The document does not fit the schema (an unknown field, a value of the
/// wrong type; the message names it). Check it against `schema.graphql`.
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

// Limits, checked before anything runs (`limits`), and the budget.

/// The document has more lexical tokens than `--max-tokens`; `limit` and
/// `value` give the figures. Send a shorter document.
pub const TOO_MANY_TOKENS: &str = "TOO_MANY_TOKENS";
/// Fields are nested deeper than `--max-depth`. Ask for fewer levels.
pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
/// The query's cost is over `--max-cost`: it could read too much. Ask for
/// smaller pages or fewer nested lists.
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
/// More aliased fields than `--max-aliases`.
pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
/// More directives than `--max-directives`.
pub const TOO_MANY_DIRECTIVES: &str = "TOO_MANY_DIRECTIVES";
/// Introspection was asked for where it is turned off (production mode).
/// Use the committed `schema.graphql` instead.
pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
/// The client has spent its cost budget (HTTP 429 with `Retry-After`);
/// `extensions.retryAfterSeconds` says when the query fits again. Wait that
/// long, or spend less per minute.
pub const RATE_LIMITED: &str = "RATE_LIMITED";
/// A scan hit the request's scan budget: a count is refused with this code,
/// saying the limit and how to narrow the query; a page cut short carries
/// it as a notice in `extensions.notices`.
pub const SCAN_LIMIT: &str = "SCAN_LIMIT";
/// The query ran longer than `--timeout-secs` and was stopped. Ask for
/// less, or narrow its filters.
pub const TIMEOUT: &str = "TIMEOUT";
/// A subscription missed events: it fell too far behind, or the store's
/// change feed no longer holds them (an etcd compaction). Its stream ends;
/// subscribe again and read the current state with a query.
pub const EVENTS_MISSED: &str = "EVENTS_MISSED";

// Persisted queries (`persisted`).

/// The hash is unknown: send the document with it once, then the hash
/// alone works.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// This server does not remember documents (its cache is off). Send the
/// document.
pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
/// In allow-list mode: the hash is not a registered operation.
pub const PERSISTED_QUERY_NOT_IN_LIST: &str = "PERSISTED_QUERY_NOT_IN_LIST";
/// In allow-list mode: the document is not a registered operation.
pub const QUERY_NOT_IN_ALLOW_LIST: &str = "QUERY_NOT_IN_ALLOW_LIST";

// The HTTP request itself (`http`).

/// The request is malformed (HTTP 400 whatever the response type): a body
/// or query string that is not a GraphQL request, no document, a
/// `persistedQuery` extension that is malformed or whose hash is not the
/// document's, a mutation over GET (405). The message says which.
pub const BAD_REQUEST: &str = "BAD_REQUEST";
/// The body is larger than `--max-body-kb` (HTTP 413).
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
/// The body is not `application/json` in UTF-8 (HTTP 415).
pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
/// `Accept` allows neither `application/graphql-response+json` nor
/// `application/json` (HTTP 406).
pub const NOT_ACCEPTABLE: &str = "NOT_ACCEPTABLE";
/// A method other than GET and POST on `/graphql` (HTTP 405 with `Allow`).
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
/// A batch (a JSON array) where `--max-batch` is 0. Send one request per
/// HTTP request.
pub const BATCHING_DISABLED: &str = "BATCHING_DISABLED";
/// A batch of more requests than `--max-batch`, or of none.
pub const BATCH_TOO_LARGE: &str = "BATCH_TOO_LARGE";
/// With `--csrf-strict-get`: a GET without a non-empty
/// `apollo-require-preflight` or `x-apollo-operation-name` header.
pub const CSRF_PREVENTED: &str = "CSRF_PREVENTED";

/// Every code above, in the order of the table.
pub const ALL: &[&str] = &[
    BAD_USER_INPUT,
    NOT_FOUND,
    CONFLICT,
    UNAUTHENTICATED,
    INTERNAL,
    UNAVAILABLE,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    TOO_MANY_TOKENS,
    QUERY_TOO_DEEP,
    QUERY_TOO_COMPLEX,
    TOO_MANY_ALIASES,
    TOO_MANY_DIRECTIVES,
    INTROSPECTION_DISABLED,
    RATE_LIMITED,
    SCAN_LIMIT,
    TIMEOUT,
    EVENTS_MISSED,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_SUPPORTED,
    PERSISTED_QUERY_NOT_IN_LIST,
    QUERY_NOT_IN_ALLOW_LIST,
    BAD_REQUEST,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    NOT_ACCEPTABLE,
    METHOD_NOT_ALLOWED,
    BATCHING_DISABLED,
    BATCH_TOO_LARGE,
    CSRF_PREVENTED,
];

/// The codes that mean a limit refused the request, as the metrics count
/// them (`tradegraph_limit_refusals_total{limit}`).
pub const LIMITS: &[&str] = &[
    TOO_MANY_TOKENS,
    QUERY_TOO_DEEP,
    QUERY_TOO_COMPLEX,
    TOO_MANY_ALIASES,
    TOO_MANY_DIRECTIVES,
    RATE_LIMITED,
    SCAN_LIMIT,
    PAYLOAD_TOO_LARGE,
    BATCH_TOO_LARGE,
    BATCHING_DISABLED,
    TIMEOUT,
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_codes_are_distinct_and_shouting_snake_case() {
        let distinct: HashSet<&str> = ALL.iter().copied().collect();
        assert_eq!(distinct.len(), ALL.len(), "a code is listed twice");
        for code in ALL {
            assert!(
                code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{code}"
            );
        }
        for code in LIMITS {
            assert!(distinct.contains(code), "{code} is not in the table");
        }
    }

    #[test]
    fn every_code_defined_here_is_in_the_table() {
        let defined: HashSet<&str> = include_str!("codes.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("pub const "))
            .filter_map(|rest| rest.split_once(": &str = \""))
            .map(|(name, _)| name)
            .collect();
        let listed: HashSet<&str> = ALL.iter().copied().collect();
        assert_eq!(defined, listed);
    }
}
