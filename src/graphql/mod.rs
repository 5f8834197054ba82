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

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, SDLExportOptions, Schema};

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
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .extension(errors::ErrorCodes)
        .extension(loaders::PerRequestLoaders(store.clone()))
        .data(store)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}
