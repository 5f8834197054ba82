//! Abuse limits, checked for every request on every transport before it
//! executes: tokens in the document (counted before the full parse), depth,
//! cost, aliases and directives. A refused request gets an error whose
//! `extensions.code` names the limit and whose message gives the limit and
//! the request's figure. Every executed request reports its cost in
//! `extensions.cost`.
//!
//! Cost is measured in `cost`, which holds its rules. Each request also
//! gets a scan budget and a deadline for its store work (`scan_budget`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Value};

use super::budget::{ClientKey, CostBudget};
use super::codes;
use super::errors::coded;
use super::lexer::count_tokens;
use crate::store::ScanBudget;

/// The limits; their defaults are the command line's (`config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Deepest field nesting (15 allows four levels of Relay connections).
    pub max_depth: usize,
    /// Highest cost (see the module docs).
    pub max_cost: u64,
    /// Most aliased fields in a document.
    pub max_aliases: usize,
    /// Most directives in a document.
    pub max_directives: usize,
    /// Most lexical tokens in a document.
    pub max_tokens: usize,
    /// Most records one request's filtered scans and counts may read.
    pub max_scan: u64,
    /// How long a query may run; its store work stops at the deadline.
    pub timeout: Duration,
}

/// What a document writes: aliases and directives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Written {
    aliases: usize,
    directives: usize,
}

/// Counts the aliases and directives of every operation and fragment, each
/// where it is written.
fn count_written(document: &ExecutableDocument) -> Written {
    let mut total = Written::default();
    for (_, operation) in document.operations.iter() {
        total.directives += operation.node.directives.len()
            + operation
                .node
                .variable_definitions
                .iter()
                .map(|v| v.node.directives.len())
                .sum::<usize>();
        count_aliases_and_directives(&operation.node.selection_set.node, &mut total);
    }
    for fragment in document.fragments.values() {
        total.directives += fragment.node.directives.len();
        count_aliases_and_directives(&fragment.node.selection_set.node, &mut total);
    }
    total
}

/// Adds the aliases and directives written in a selection set (fragments
/// are counted where they are defined, once).
fn count_aliases_and_directives(set: &SelectionSet, total: &mut Written) {
    for selection in &set.items {
        total.directives += selection.node.directives().len();
        match &selection.node {
            Selection::Field(field) => {
                total.aliases += usize::from(field.node.alias.is_some());
                count_aliases_and_directives(&field.node.selection_set.node, total);
            }
            Selection::InlineFragment(fragment) => {
                count_aliases_and_directives(&fragment.node.selection_set.node, total)
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Whether any selection of the document, in any operation or fragment,
/// is `__schema` or `__type`.
fn asks_for_introspection(document: &ExecutableDocument) -> bool {
    fn in_set(set: &SelectionSet) -> bool {
        set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type")
                    || in_set(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    document
        .operations
        .iter()
        .any(|(_, operation)| in_set(&operation.node.selection_set.node))
        || document
            .fragments
            .values()
            .any(|fragment| in_set(&fragment.node.selection_set.node))
}

/// The limits every request is held to, and the budget it is charged to.
pub(super) struct Limits {
    /// The limits.
    pub limits: QueryLimits,
    /// Whether introspection is allowed; when not, a document that asks for
    /// `__schema` or `__type` is refused with `INTROSPECTION_DISABLED`.
    pub introspection: bool,
    /// The per-client cost budget, when one is configured: each request's
    /// cost is charged to its client.
    pub budget: Option<Arc<CostBudget>>,
}

impl Limits {
    /// Refuses a document with more tokens than allowed, counting no further
    /// than the limit: run before the document is parsed.
    pub(super) fn check_tokens(&self, query: &str) -> ServerResult<()> {
        let max_tokens = self.limits.max_tokens;
        let tokens = count_tokens(query, max_tokens);
        if tokens > max_tokens {
            return Err(refuse(
                codes::TOO_MANY_TOKENS,
                "the document has more tokens than allowed: at least",
                tokens as u64,
                max_tokens as u64,
            ));
        }
        Ok(())
    }

    /// Checks a parsed document, with the depth and cost measured of it
    /// (`cost`), against the limits; returns the cost, for
    /// [`Limits::charge`].
    pub(super) fn check_document(
        &self,
        document: &ExecutableDocument,
        (depth, cost): (usize, u64),
    ) -> ServerResult<u64> {
        if !self.introspection && asks_for_introspection(document) {
            return Err(coded(
                codes::INTROSPECTION_DISABLED,
                "introspection is disabled on this server",
            ));
        }
        let limits = self.limits;
        let written = count_written(document);
        let checks = [
            (
                depth as u64,
                limits.max_depth as u64,
                codes::QUERY_TOO_DEEP,
                "query depth",
            ),
            (
                cost,
                limits.max_cost,
                codes::QUERY_TOO_COMPLEX,
                "query cost",
            ),
            (
                written.aliases as u64,
                limits.max_aliases as u64,
                codes::TOO_MANY_ALIASES,
                "number of aliases",
            ),
            (
                written.directives as u64,
                limits.max_directives as u64,
                codes::TOO_MANY_DIRECTIVES,
                "number of directives",
            ),
        ];
        for (value, limit, code, what) in checks {
            if value > limit {
                return Err(refuse(code, what, value, limit));
            }
        }
        Ok(cost)
    }

    /// Charges `cost` to the budget of the request's client (asked for only
    /// when a budget is configured; a request with no client, run in
    /// process, is not charged). Separate from [`Limits::check_document`]
    /// because an answer from the response cache is charged its cost too,
    /// without a document to check.
    pub(super) fn charge(
        &self,
        cost: u64,
        client: impl FnOnce() -> Option<ClientKey>,
    ) -> Result<(), RateLimited> {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        match client().map(|client| budget.charge(&client, cost, Instant::now())) {
            Some(Err(wait)) => Err(rate_limited(budget.per_minute(), cost, wait)),
            _ => Ok(()),
        }
    }

    /// The scan budget of a request for `document`: the scan limit, and a
    /// deadline unless it is a mutation (whose write may already be on
    /// disk when its answer's lists are read, so it is never cut short).
    pub(super) fn scan_budget(&self, document: &ExecutableDocument) -> ScanBudget {
        let mutation = document
            .operations
            .iter()
            .any(|(_, operation)| operation.node.ty == OperationType::Mutation);
        let deadline = (!mutation).then(|| Instant::now() + self.limits.timeout);
        ScanBudget::new(self.limits.max_scan, deadline)
    }

    /// Reports an executed request's cost in `extensions.cost`.
    pub(super) fn report_cost(&self, response: &mut Response, cost: u64) {
        let mut report = async_graphql::indexmap::IndexMap::new();
        report.insert(async_graphql::Name::new("requested"), Value::from(cost));
        report.insert(
            async_graphql::Name::new("limit"),
            Value::from(self.limits.max_cost),
        );
        response
            .extensions
            .insert("cost".to_owned(), Value::Object(report));
    }
}

/// A refusal naming the limit, with the limit and the request's figure.
fn refuse(code: &str, what: &str, value: u64, limit: u64) -> ServerError {
    let mut error = coded(code, format!("{what} {value} exceeds the limit of {limit}"));
    if let Some(extensions) = error.extensions.as_mut() {
        extensions.set("limit", limit);
        extensions.set("value", value);
    }
    error
}

/// A request its client's budget cannot pay for: the error the client
/// sees, and the whole seconds it asks the client to wait (as the error's
/// `retryAfterSeconds` says), for a transport's own retry hint.
pub(super) struct RateLimited {
    /// The `RATE_LIMITED` error (boxed: it is the rare path).
    pub error: Box<ServerError>,
    /// Seconds until the budget holds the cost (at least 1).
    pub retry_after_seconds: u64,
}

/// The refusal of a request its client's budget cannot pay for.
fn rate_limited(per_minute: u64, cost: u64, wait: std::time::Duration) -> RateLimited {
    let seconds = (wait.as_secs_f64().ceil() as u64).max(1);
    let mut error = coded(
        codes::RATE_LIMITED,
        format!("this client has spent its budget of {per_minute} query cost per minute (this query costs {cost}); retry in {seconds} s"),
    );
    if let Some(extensions) = error.extensions.as_mut() {
        extensions.set("retryAfterSeconds", seconds);
        extensions.set("limit", per_minute);
        extensions.set("value", cost);
    }
    RateLimited {
        error: Box::new(error),
        retry_after_seconds: seconds,
    }
}
