//! Trade partners: the `TradePartner` type and its root fields.

use async_graphql::{Context, Enum, Object, ID};

use super::figures::TransportMode;
use super::flow::{trade_flow_connection, TradeFlow};
use super::route::{route_connection, FreightRoute};
use super::shipment::{
    shipment_connection, Pinned, Shipment, ShipmentFilterInput, ShipmentOrderInput,
};
use super::Hub;
use crate::domain::{self, PartnerCode};
use crate::graphql::connection::{page_request, Connection, Total};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::{load, load_all, HubsAbroad, MemberOf};
use crate::store::{RouteQuery, Store, TradeFlowQuery};

/// What kind of trade partner a partner is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::PartnerKind")]
pub enum PartnerKind {
    /// A sovereign country.
    Country,
    /// A treaty bloc such as ASEAN or the EU.
    Bloc,
    /// A geographic region such as Central Asia.
    Region,
    /// A looser grouping such as the Belt and Road partner countries.
    Grouping,
}

/// A country, bloc, region or grouping China trades with.
#[derive(Clone)]
pub struct TradePartner(pub domain::TradePartner);

/// A country, bloc, region or grouping China trades with.
#[Object]
impl TradePartner {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::TradePartner(self.0.code.clone()).encode()
    }

    /// The partner's code, e.g. "AR", "ASEAN", "EU".
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    /// The English name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What kind of partner it is.
    async fn kind(&self) -> PartnerKind {
        self.0.kind.into()
    }

    /// The world region it lies in, when that is a useful label.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }

    /// The partners that belong to this one (a bloc's or region's members).
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TradePartner>> {
        Ok(load_all(ctx, self.0.members.clone())
            .await?
            .into_iter()
            .map(TradePartner)
            .collect())
    }

    /// The partners this one belongs to, by code.
    async fn member_of(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TradePartner>> {
        let groups = load(ctx, MemberOf(self.0.code.clone()))
            .await?
            .unwrap_or_default();
        Ok(groups.into_iter().map(TradePartner).collect())
    }

    /// Provinces' trade with this partner, by province code and year.
    async fn trade_flows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<TradeFlow>> {
        let request = page_request(first, after, last, before).api()?;
        trade_flow_connection(ctx, TradeFlowQuery::OfPartner(self.0.code.clone(), request)).await
    }

    /// Shipments bound for this partner.
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
        let pinned = Pinned::DestinationPartner(self.0.code.clone());
        shipment_connection(ctx, pinned, filter, order_by, first, after, last, before).await
    }

    /// Freight routes reaching this partner, by code.
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
            partner: Some(self.0.code.clone()),
            mode: mode.map(Into::into),
            request: page_request(first, after, last, before).api()?,
        };
        route_connection(ctx, query).await
    }

    /// The hubs in this partner country, by code.
    async fn hubs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Hub>> {
        let hubs = load(ctx, HubsAbroad(self.0.code.clone()))
            .await?
            .unwrap_or_default();
        Ok(hubs.into_iter().map(Hub).collect())
    }

    /// Raised by every change to the record.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// Root fields for trade partners.
#[derive(Default)]
pub struct PartnerRoot;

#[Object]
impl PartnerRoot {
    /// The partner with this code (any case), or null.
    async fn trade_partner(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<TradePartner>> {
        let code = PartnerCode::parse(&code).api()?;
        Ok(load(ctx, code).await?.map(TradePartner))
    }

    /// Trade partners, optionally of one kind, by code.
    async fn trade_partners(
        &self,
        ctx: &Context<'_>,
        kind: Option<PartnerKind>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<TradePartner>> {
        let request = page_request(first, after, last, before).api()?;
        let (page, total) = ctx
            .data_unchecked::<Store>()
            .partner_page(kind.map(Into::into), &request)
            .await
            .api()?;
        Ok(Connection::new(page.map(TradePartner), Total::Known(total)))
    }
}
