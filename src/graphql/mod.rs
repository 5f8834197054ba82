//! The GraphQL API: the only module that knows async-graphql.
//!
//! Object types wrap domain values (`types`), links resolve through a
//! per-request batching loader (`loaders`), lists are Relay connections
//! (`connection`), and errors get stable codes in one place (`errors`),
//! from the one table of codes (`codes`).
//! Transports run requests through [`Api`] (`api`), which applies the
//! checks every request passes. [`build_api`] is the single place context
//! data is registered.

mod api;
mod auth;
mod budget;
pub mod codes;
mod connection;
mod cost;
pub mod errors;
mod ids;
mod lexer;
mod limits;
mod loaders;
mod notices;
mod parse_cache;
mod persisted;
mod scalars;
mod subscription;
mod types;

use async_graphql::{MergedObject, SDLExportOptions, Schema, SchemaBuilder};

use crate::auth::WriteTokens;
use crate::events::Events;
use crate::store::Store;

/// The root query: one part per entity, merged.
#[derive(MergedObject, Default)]
pub struct Query(
    types::ProvinceRoot,
    types::PartnerRoot,
    types::HubRoot,
    types::ShipmentRoot,
    types::RouteRoot,
    types::NodeRoot,
);

/// The root mutation: one part per entity, merged. Every field needs a
/// write token.
#[derive(MergedObject, Default)]
pub struct Mutation(types::ShipmentMutation, types::CatalogMutation);

/// The schema tradegraph serves, without the checks [`Api`] adds.
type TradeSchema = Schema<Query, Mutation, subscription::Subscription>;

pub use api::{Api, Outcome};
pub use auth::PresentedToken;
pub use budget::{ClientAddress, ClientKey, CostBudget};
pub use errors::RequestId;
pub use limits::QueryLimits;
pub use persisted::{PersistedQueries, PersistedQuerySettings};

/// Builds the API over a store: registers the store, the write tokens and
/// the event channel with the schema, and the persisted queries, limits
/// and budget its checks apply.
pub fn build_api(store: Store, tokens: WriteTokens, events: Events, options: SchemaOptions) -> Api {
    let mut builder = schema_builder()
        .data(store.clone())
        .data(tokens.clone())
        .data(events);
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    if !options.suggestions {
        builder = builder.disable_suggestions();
    }
    let limits = limits::Limits {
        limits: options.limits,
        introspection: options.introspection,
        budget: options.budget,
    };
    Api::new(builder.finish(), options.persisted, limits, tokens, store)
}

/// How the schema behaves beyond its types.
#[derive(Clone)]
pub struct SchemaOptions {
    /// The abuse limits.
    pub limits: QueryLimits,
    /// The per-client cost budget, if any.
    pub budget: Option<std::sync::Arc<CostBudget>>,
    /// The operations known by hash (shared with the HTTP layer, which
    /// resolves hashes before it decides what a GET may run).
    pub persisted: std::sync::Arc<PersistedQueries>,
    /// Whether `__schema` and `__type` answer (off in production).
    pub introspection: bool,
    /// Whether errors suggest field names ("Did you mean ...?"; off in
    /// production).
    pub suggestions: bool,
}

/// The schema's types and fields, before any context data.
fn schema_builder() -> SchemaBuilder<Query, Mutation, subscription::Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        subscription::Subscription,
    )
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}

/// Whether a response was refused only for want of a valid write token
/// ([`Outcome::Unauthenticated`], which HTTP answers with 401).
fn is_unauthenticated(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|error| errors::has_code(error, codes::UNAUTHENTICATED))
}

/// Whether a response was refused before execution: errors that point at
/// no field, and no data.
fn refused_before_execution(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// The operation a request would run, read from the document's top-level
/// tokens without parsing it: the one `operationName` names, else the
/// document's only one. `None` when there is no such operation (execution
/// reports why).
fn operation_of(request: &async_graphql::Request) -> Option<Operation> {
    let operations = lexer::operations(&request.query);
    let head = match request.operation_name.as_deref() {
        Some(name) => operations
            .into_iter()
            .find(|operation| operation.name == Some(name)),
        None if operations.len() == 1 => operations.into_iter().next(),
        None => None,
    }?;
    Some(Operation {
        is_mutation: head.kind == async_graphql::parser::types::OperationType::Mutation,
        name: head.name.unwrap_or_default().to_owned(),
    })
}

/// What the HTTP layer needs to know of an operation before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Whether it is a mutation (refused over GET, never cut by a timeout).
    pub is_mutation: bool,
    /// Its name ("" for an anonymous one).
    pub name: String,
}
