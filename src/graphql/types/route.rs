//! Freight routes: the `FreightRoute` type and its root fields.

use async_graphql::{Context, Object, ID};

use super::figures::{source, Source, TransportMode};
use super::shipment::{
    shipment_connection, Pinned, Shipment, ShipmentFilterInput, ShipmentOrderInput,
};
use super::{Hub, Province, TradePartner};
use crate::domain::{self, RouteCode};
use crate::graphql::connection::{page_request, Connection, Total};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::{load, load_all, load_optional};
use crate::store::RouteQuery;

/// A named, regular freight service.
#[derive(Clone)]
pub struct FreightRoute(pub domain::FreightRoute);

/// A named, regular freight service, such as the Yiwu-Xinjiang-Europe
/// freight train. Only routes the text names exist; none is invented.
#[Object]
impl FreightRoute {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::FreightRoute(self.0.code.clone()).encode()
    }

    /// The route's code, e.g. "YIWU-XINJIANG-EUROPE".
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    /// The name as the text gives it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// How goods travel on it.
    async fn mode(&self) -> TransportMode {
        self.0.mode.into()
    }

    /// Where it starts, when stated.
    async fn origin(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Hub>> {
        Ok(load_optional(ctx, self.0.origin.clone()).await?.map(Hub))
    }

    /// Where it ends, when stated.
    async fn destination(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Hub>> {
        Ok(load_optional(ctx, self.0.destination.clone())
            .await?
            .map(Hub))
    }

    /// Hubs it passes through, in order.
    async fn via(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Hub>> {
        Ok(load_all(ctx, self.0.via.clone())
            .await?
            .into_iter()
            .map(Hub)
            .collect())
    }

    /// How many days a journey usually takes, when stated.
    async fn typical_transit_days(&self) -> Option<u32> {
        self.0.typical_transit_days
    }

    /// The Chinese provinces it serves.
    async fn provinces(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Province>> {
        Ok(load_all(ctx, self.0.provinces.clone())
            .await?
            .into_iter()
            .map(Province)
            .collect())
    }

    /// The partners it reaches.
    async fn partners(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TradePartner>> {
        Ok(load_all(ctx, self.0.partners.clone())
            .await?
            .into_iter()
            .map(TradePartner)
            .collect())
    }

    /// Shipments that travelled the route.
    #[allow(clippy::too_many_arguments)]
    async fn shipments(
        &self,
        ctx: &Context<'_>,
        filter: Option<ShipmentFilterInput>,
        order_by: Option<ShipmentOrderInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Shipment>> {
        let pinned = Pinned::Route(self.0.code.clone());
        shipment_connection(ctx, pinned, filter, order_by, first, after, last, before).await
    }

    /// What else the text says about it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Where the route is named.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source)
    }

    /// Raised by every change to the record.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// Every `freightRoutes` connection: one page through the request's loader.
pub async fn route_connection(
    ctx: &Context<'_>,
    query: RouteQuery,
) -> async_graphql::Result<Connection<FreightRoute>> {
    let (page, total) = load(ctx, query).await?.unwrap_or_default();
    Ok(Connection::new(page.map(FreightRoute), Total::Known(total)))
}

/// Root fields for freight routes.
#[derive(Default)]
pub struct RouteRoot;

#[Object]
impl RouteRoot {
    /// The route with this code (any case), or null.
    async fn freight_route(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<FreightRoute>> {
        Ok(load(ctx, RouteCode::parse(&code).api()?)
            .await?
            .map(FreightRoute))
    }

    /// Freight routes, optionally of one mode, by code.
    async fn freight_routes(
        &self,
        ctx: &Context<'_>,
        mode: Option<TransportMode>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<FreightRoute>> {
        let query = RouteQuery {
            province: None,
            partner: None,
            mode: mode.map(Into::into),
            request: page_request(first, after, last, before).api()?,
        };
        route_connection(ctx, query).await
    }
}
