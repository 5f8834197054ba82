//! The GraphQL API: the only module that knows async-graphql.
//!
//! Object types wrap domain values (`types`), links resolve through a
//! per-request batching loader (`loaders`), lists are Relay connections
//! (`connection`), and errors get stable codes in one place (`errors`).
//! [`build_schema`] is the single place context data is registered.

mod connection;
pub mod errors;
mod ids;
mod loaders;
mod scalars;
mod types;

use async_graphql::http::GraphiQLSource;
use async_graphql::{
    EmptyMutation, EmptySubscription, MergedObject, SDLExportOptions, Schema, SchemaBuilder,
};

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

/// The schema tradegraph serves.
pub type TradeSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema over a store: registers the store, the extension that
/// gives every request its own batching loader, and the one that gives every
/// error a code.
pub fn build_schema(store: Store) -> TradeSchema {
    schema_builder()
        .extension(errors::ErrorCodes)
        .extension(loaders::PerRequestLoaders(store.clone()))
        .data(store)
        .finish()
}

/// The schema's types and fields, before any context data.
fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    schema_builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}

/// The GraphiQL page, pointed at `/graphql`.
pub fn playground_html() -> String {
    GraphiQLSource::build()
        .endpoint("/graphql")
        .title("tradegraph")
        .finish()
}
