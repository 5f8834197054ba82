//! Hubs and companies: the `Hub` and `Company` types and their root fields.

use async_graphql::{Context, Enum, Object, ID};

use super::figures::{source, Source};
use super::shipment::{
    shipment_connection, Pinned, Shipment, ShipmentFilterInput, ShipmentOrderInput,
};
use super::{Province, TradePartner};
use crate::domain::{self, CompanyCode, HubCode};
use crate::graphql::connection::{page_request, Connection, Total};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::{load, load_optional};
use crate::store::Store;

/// What kind of place a hub is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::HubKind")]
pub enum HubKind {
    /// A seaport or port terminal.
    Seaport,
    /// A rail hub or border station.
    RailHub,
    /// A bonded or free-trade zone.
    BondedZone,
    /// A wholesale or trade market.
    Market,
    /// A factory.
    Factory,
    /// A trade service platform.
    Platform,
    /// An economic region.
    Region,
}

/// A place goods leave from, pass through or reach.
#[derive(Clone)]
pub struct Hub(pub domain::Hub);

/// A place goods leave from, pass through or reach: a port, rail hub,
/// bonded zone, market, factory, platform or region.
#[Object]
impl Hub {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::Hub(self.0.code.clone()).encode()
    }

    /// The hub's code, e.g. "PORT-ZARATE".
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    /// The name as the text gives it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What kind of place it is.
    async fn kind(&self) -> HubKind {
        self.0.kind.into()
    }

    /// The city it is in.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }

    /// The Chinese province it is in; null abroad and for regions that span
    /// several (the Greater Bay Area).
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(load_optional(ctx, self.0.province.clone())
            .await?
            .map(Province))
    }

    /// The partner country it is in, for hubs abroad.
    async fn country(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TradePartner>> {
        Ok(load_optional(ctx, self.0.country.clone())
            .await?
            .map(TradePartner))
    }

    /// What else the text says about it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Where the hub is named.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source)
    }

    /// Shipments leaving or reaching the hub.
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
        let pinned = Pinned::Hub(self.0.code.clone());
        shipment_connection(ctx, pinned, filter, order_by, first, after, last, before).await
    }

    /// Raised by every change to the record.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// A company that ships goods.
#[derive(Clone)]
pub struct Company(pub domain::Company);

/// A company that ships goods.
#[Object]
impl Company {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::Company(self.0.code.clone()).encode()
    }

    /// The company's code, e.g. "BYD".
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    /// The name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The province it is based in, when the text says.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(load_optional(ctx, self.0.province.clone())
            .await?
            .map(Province))
    }

    /// What the text says about it.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Where the company is named.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source)
    }

    /// The company's shipments.
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
        let pinned = Pinned::Shipper(self.0.code.clone());
        shipment_connection(ctx, pinned, filter, order_by, first, after, last, before).await
    }

    /// Raised by every change to the record.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// Root fields for hubs and companies.
#[derive(Default)]
pub struct HubRoot;

#[Object]
impl HubRoot {
    /// The hub with this code (any case), or null.
    async fn hub(&self, ctx: &Context<'_>, code: String) -> async_graphql::Result<Option<Hub>> {
        Ok(load(ctx, HubCode::parse(&code).api()?).await?.map(Hub))
    }

    /// Hubs, optionally of one kind, by code.
    async fn hubs(
        &self,
        ctx: &Context<'_>,
        kind: Option<HubKind>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Hub>> {
        let request = page_request(first, after, last, before).api()?;
        let (page, total) = ctx
            .data_unchecked::<Store>()
            .hub_page(kind.map(Into::into), &request)
            .await
            .api()?;
        Ok(Connection::new(page.map(Hub), Total::Known(total)))
    }

    /// The company with this code (any case), or null.
    async fn company(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<Company>> {
        Ok(load(ctx, CompanyCode::parse(&code).api()?)
            .await?
            .map(Company))
    }

    /// Companies, by code.
    async fn companies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Company>> {
        let request = page_request(first, after, last, before).api()?;
        let (page, total) = ctx
            .data_unchecked::<Store>()
            .company_page(&request)
            .await
            .api()?;
        Ok(Connection::new(page.map(Company), Total::Known(total)))
    }
}
