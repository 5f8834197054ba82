//! Provinces: the `Province` type and its root fields.

use async_graphql::{Context, Enum, InputObject, Object, ID};

use super::figures::{Indicator, Money, TransportMode};
use super::flow::{trade_flow_connection, TradeFlow};
use super::route::FreightRoute;
use super::shipment::{
    shipment_connection, OrderDirection, Pinned, Shipment, ShipmentFilterInput, ShipmentOrderInput,
};
use super::Hub;
use crate::domain::{self, REPORT_YEAR};
use crate::graphql::connection::{page_request, Connection, Total};
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::{load, HubsIn};
use crate::store::{RouteQuery, Store, TradeFlowQuery};

/// A mainland provincial-level division.
#[derive(Clone)]
pub struct Province(pub domain::Province);

/// One of China's 31 mainland provincial-level divisions. Figures are those
/// the source text states; the rest are null.
#[Object]
impl Province {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::Province(self.0.code.clone()).encode()
    }

    /// The ISO 3166-2 code, e.g. "CN-GD".
    async fn code(&self) -> &str {
        self.0.code.as_str()
    }

    /// The English name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The Chinese name.
    async fn name_zh(&self) -> &str {
        &self.0.name_zh
    }

    /// Total foreign trade in the year, when stated.
    async fn total_trade(
        &self,
        #[graphql(default_with = "REPORT_YEAR")] year: i32,
    ) -> Option<Money> {
        self.0
            .year(year)
            .and_then(|figures| figures.total_trade.clone())
            .map(Money)
    }

    /// Year-on-year growth of total trade in percent, when stated.
    async fn growth_percent(
        &self,
        #[graphql(default_with = "REPORT_YEAR")] year: i32,
    ) -> Option<f64> {
        self.0.year(year).and_then(|figures| figures.growth_percent)
    }

    /// Rank among provinces by total trade in the year, when stated.
    async fn national_rank(
        &self,
        #[graphql(default_with = "REPORT_YEAR")] year: i32,
    ) -> Option<u32> {
        self.0.year(year).and_then(|figures| figures.national_rank)
    }

    /// Other stated figures about the province.
    async fn indicators(&self) -> Vec<Indicator> {
        self.0.indicators.iter().cloned().map(Indicator).collect()
    }

    /// The hubs in the province, by code.
    async fn hubs(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Hub>> {
        let hubs = load(ctx, HubsIn(self.0.code.clone()))
            .await?
            .unwrap_or_default();
        Ok(hubs.into_iter().map(Hub).collect())
    }

    /// The province's trade with each partner, by partner code and year.
    async fn trade_flows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<TradeFlow>> {
        let request = page_request(first, after, last, before).api()?;
        trade_flow_connection(
            ctx,
            TradeFlowQuery::OfProvince(self.0.code.clone(), request),
        )
        .await
    }

    /// Shipments leaving the province.
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
        let pinned = Pinned::OriginProvince(self.0.code.clone());
        shipment_connection(ctx, pinned, filter, order_by, first, after, last, before).await
    }

    /// Freight routes serving the province, by code.
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
            province: Some(self.0.code.clone()),
            partner: None,
            mode: mode.map(Into::into),
            request: page_request(first, after, last, before).api()?,
        };
        super::route::route_connection(ctx, query).await
    }

    /// Raised by every change to the record.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// What provinces are sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::ProvinceOrderField")]
pub enum ProvinceOrderField {
    /// The English name.
    Name,
    /// Total trade in 2025; provinces with no stated figure come last in
    /// either direction.
    TotalTrade,
}

/// The order of a province list. The default is by name, ascending.
#[derive(InputObject)]
pub struct ProvinceOrder {
    /// The sort key.
    pub field: ProvinceOrderField,
    /// The direction.
    pub direction: OrderDirection,
}

/// Root fields for provinces and the national summary.
#[derive(Default)]
pub struct ProvinceRoot;

#[Object]
impl ProvinceRoot {
    /// The province a code or name names: "CN-GD", "GD", "guangdong" or
    /// "广东". Null when there is none.
    async fn province(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<Option<Province>> {
        Ok(ctx
            .data_unchecked::<Store>()
            .find_province(&code)
            .await
            .api()?
            .map(Province))
    }

    /// All provinces, in the order asked for.
    async fn provinces(
        &self,
        ctx: &Context<'_>,
        order_by: Option<ProvinceOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Province>> {
        let request = page_request(first, after, last, before).api()?;
        let (field, direction) = order_by.map_or(
            (
                domain::ProvinceOrderField::Name,
                domain::Direction::Ascending,
            ),
            |order| (order.field.into(), order.direction.into()),
        );
        let (page, total) = ctx
            .data_unchecked::<Store>()
            .province_page(field, direction, &request)
            .await
            .api()?;
        Ok(Connection::new(page.map(Province), Total::Known(total)))
    }

    /// China's national totals for the year, or null when the text gives none.
    async fn national_summary(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "REPORT_YEAR")] year: i32,
    ) -> async_graphql::Result<Option<super::figures::NationalSummary>> {
        Ok(ctx
            .data_unchecked::<Store>()
            .get::<domain::NationalSummary>(&year)
            .await
            .api()?
            .map(super::figures::NationalSummary))
    }
}
