//! The GraphQL API: the only module that knows async-graphql.
//!
//! Object types wrap domain values (`types`), links resolve through a
//! per-request batching loader (`loaders`), lists are Relay connections
//! (`connection`), and errors get stable codes in one place (`errors`).
//! [`build_schema`] is the single place context data is registered.

mod auth;
mod connection;
pub mod errors;
mod ids;
mod limits;
mod loaders;
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
pub use errors::{coded, has_code, RequestId};
pub use limits::QueryLimits;

/// Builds the schema over a store: registers the store, the write tokens and
/// the event channel, and the extensions that apply the abuse limits, give
/// every error a code and every request its own batching loader.
pub fn build_schema(
    store: Store,
    tokens: WriteTokens,
    events: Events,
    options: SchemaOptions,
) -> TradeSchema {
    let mut builder = schema_builder()
        .extension(limits::Limits {
            limits: options.limits,
            introspection: options.introspection,
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
#[derive(Debug, Clone, Copy)]
pub struct SchemaOptions {
    /// The abuse limits.
    pub limits: QueryLimits,
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

/// Whether a request would run a mutation: the operation it names, or its
/// only operation. A document that does not parse is not one (execution
/// reports the parse error).
pub fn is_mutation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let is_mutation = |ty: OperationType| ty == OperationType::Mutation;
    match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => is_mutation(operation.node.ty),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.iter().any(|(operation_name, operation)| {
                operation_name.as_str() == name && is_mutation(operation.node.ty)
            })
        }
        (DocumentOperations::Multiple(operations), None) => operations
            .values()
            .any(|operation| is_mutation(operation.node.ty)),
    }
}
