//! The GraphQL API: the only module that knows async-graphql.
//!
//! Object types wrap domain values (`types`), links resolve through a
//! per-request batching loader (`loaders`), lists are Relay connections
//! (`connection`), and errors get stable codes in one place (`errors`).
//! [`build_schema`] is the single place context data is registered.

mod auth;
mod budget;
mod connection;
pub mod errors;
mod ids;
mod lexer;
mod limits;
mod loaders;
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

/// The schema tradegraph serves.
pub type TradeSchema = Schema<Query, Mutation, subscription::Subscription>;

pub use auth::PresentedToken;
pub use budget::{ClientAddress, CostBudget};
pub use errors::{coded, has_code, RequestId};
pub use limits::QueryLimits;
pub use persisted::{PersistedQueries, PersistedQuerySettings};

/// Every `extensions.code` tradegraph's own checks give, beside the
/// domain's (`errors::code`).
pub mod codes {
    pub use super::limits::code::*;
    pub use super::persisted::code::*;
}

/// Builds the schema over a store: registers the store, the write tokens and
/// the event channel, and the extensions that resolve persisted queries,
/// remember parsed documents, apply the abuse limits, give every error a code and every request its
/// own batching loader.
pub fn build_schema(
    store: Store,
    tokens: WriteTokens,
    events: Events,
    options: SchemaOptions,
) -> TradeSchema {
    let mut builder = schema_builder()
        .extension(persisted::Persisted(options.persisted))
        .extension(parse_cache::ParseCache::new())
        .extension(limits::Limits {
            limits: options.limits,
            introspection: options.introspection,
            budget: options.budget,
        })
        .extension(errors::ErrorCodes)
        .extension(loaders::PerRequestLoaders(store.clone()))
        .data(store)
        .data(tokens)
        .data(events);
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    if !options.suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
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

/// Whether a response was refused only for want of a valid write token, so
/// HTTP can answer 401.
pub fn is_unauthenticated(response: &async_graphql::Response) -> bool {
    !response.errors.is_empty()
        && response
            .errors
            .iter()
            .all(|error| errors::has_code(error, errors::code::UNAUTHENTICATED))
}

/// The operation a request would run, read from the document's top-level
/// tokens without parsing it: the one `operationName` names, else the
/// document's only one. `None` when there is no such operation (execution
/// reports why).
pub fn operation_of(request: &async_graphql::Request) -> Option<Operation> {
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
