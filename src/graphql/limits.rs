//! Abuse limits, checked for every request on every transport before it
//! executes: tokens in the document (counted before the full parse), depth,
//! cost, aliases and directives. A refused request gets an error whose
//! `extensions.code` names the limit and whose message gives the limit and
//! the request's figure. Every executed request reports its cost in
//! `extensions.cost`.
//!
//! Cost: every field costs 1, and the cost of what a list field selects is
//! multiplied by how many items it can return: `first`/`last` (default 20)
//! for connections, `first` (default 10) for `search`, the number of ids for
//! `nodes`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Value, Variables};

use super::budget::{ClientKey, CostBudget};
use super::codes;
use super::errors::coded;
use super::lexer::count_tokens;
use crate::domain::DEFAULT_PAGE_SIZE;

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
}

/// The fields that return connections.
const CONNECTIONS: &[&str] = &[
    "provinces",
    "tradePartners",
    "hubs",
    "companies",
    "shipments",
    "freightRoutes",
    "tradeFlows",
];

/// What a document asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Measure {
    depth: usize,
    cost: u64,
    aliases: usize,
    directives: usize,
}

/// Measures every operation of a document; fragments are expanded where
/// they are spread (a cycle, which validation refuses, counts once).
fn measure(document: &ExecutableDocument, variables: &Variables) -> Measure {
    let mut total = Measure::default();
    for (_, operation) in document.operations.iter() {
        let mut walker = Walker {
            document,
            variables,
            visiting: HashSet::new(),
        };
        let (depth, cost) = walker.selection_set(&operation.node.selection_set.node);
        total.depth = total.depth.max(depth);
        total.cost = total.cost.saturating_add(cost);
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
fn count_aliases_and_directives(set: &SelectionSet, total: &mut Measure) {
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

/// Walks selections, expanding fragments, for depth and cost.
struct Walker<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    visiting: HashSet<&'a str>,
}

impl<'a> Walker<'a> {
    /// The depth and cost of a selection set.
    fn selection_set(&mut self, set: &'a SelectionSet) -> (usize, u64) {
        let mut depth = 0;
        let mut cost: u64 = 0;
        for selection in &set.items {
            let (d, c) = match &selection.node {
                Selection::Field(field) => self.field(&field.node),
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.document.fragments.get(name) {
                        Some(fragment) if self.visiting.insert(name) => {
                            let measured = self.selection_set(&fragment.node.selection_set.node);
                            self.visiting.remove(name);
                            measured
                        }
                        _ => (0, 0),
                    }
                }
            };
            depth = depth.max(d);
            cost = cost.saturating_add(c);
        }
        (depth, cost)
    }

    fn field(&mut self, field: &'a Field) -> (usize, u64) {
        let (depth, cost) = self.selection_set(&field.selection_set.node);
        let items = self.items(field);
        (depth + 1, cost.saturating_mul(items).saturating_add(1))
    }

    /// How many items a field can return.
    fn items(&self, field: &Field) -> u64 {
        let number = |name: &str| match self.argument(field, name) {
            Some(Value::Number(number)) => number.as_u64(),
            _ => None,
        };
        match field.name.node.as_str() {
            name if CONNECTIONS.contains(&name) => number("first")
                .or_else(|| number("last"))
                .unwrap_or(DEFAULT_PAGE_SIZE as u64),
            "search" => number("first").unwrap_or(10),
            "nodes" => match self.argument(field, "ids") {
                Some(Value::List(ids)) => ids.len() as u64,
                _ => 1,
            },
            _ => 1,
        }
    }

    /// An argument's value, with variables replaced by their values.
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        field
            .get_argument(name)?
            .node
            .clone()
            .into_const_with(|variable| self.variables.get(&variable).cloned().ok_or(()))
            .ok()
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

    /// Checks a parsed document against the limits; returns its cost, for
    /// [`Limits::charge`].
    pub(super) fn check_document(
        &self,
        document: &ExecutableDocument,
        variables: &Variables,
    ) -> ServerResult<u64> {
        if !self.introspection && asks_for_introspection(document) {
            return Err(coded(
                codes::INTROSPECTION_DISABLED,
                "introspection is disabled on this server",
            ));
        }
        let limits = self.limits;
        let measured = measure(document, variables);
        let checks = [
            (
                measured.depth as u64,
                limits.max_depth as u64,
                codes::QUERY_TOO_DEEP,
                "query depth",
            ),
            (
                measured.cost,
                limits.max_cost,
                codes::QUERY_TOO_COMPLEX,
                "query cost",
            ),
            (
                measured.aliases as u64,
                limits.max_aliases as u64,
                codes::TOO_MANY_ALIASES,
                "number of aliases",
            ),
            (
                measured.directives as u64,
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
        Ok(measured.cost)
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
