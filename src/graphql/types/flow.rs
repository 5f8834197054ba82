//! Trade flows: the `TradeFlow` type.

use async_graphql::{Context, Object, ID};

use super::figures::{Money, Source};
use super::{Province, TradePartner};
use crate::domain::{self, TradeFlowKey};
use crate::graphql::connection::{Connection, Total};
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::load;
use crate::store::TradeFlowQuery;

/// One province's trade with one partner in one year.
#[derive(Clone)]
pub struct TradeFlow(pub domain::TradeFlow);

impl TradeFlow {
    fn key(&self) -> TradeFlowKey {
        TradeFlowKey {
            province: self.0.province.clone(),
            partner: self.0.partner.clone(),
            year: self.0.year,
        }
    }
}

/// One province's trade with one partner in one year.
#[Object]
impl TradeFlow {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::TradeFlow(self.key()).encode()
    }

    /// The Chinese side.
    async fn province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(load(ctx, self.0.province.clone()).await?.map(Province))
    }

    /// The foreign side.
    async fn partner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TradePartner>> {
        Ok(load(ctx, self.0.partner.clone()).await?.map(TradePartner))
    }

    /// The calendar year.
    async fn year(&self) -> i32 {
        self.0.year
    }

    /// The value of the trade, when stated.
    async fn value(&self) -> Option<Money> {
        self.0.value.clone().map(Money)
    }

    /// Year-on-year growth in percent, when stated.
    async fn growth_percent(&self) -> Option<f64> {
        self.0.growth_percent
    }

    /// What else the text says, e.g. that the partner is the largest.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Where the flow is stated; null for flows recorded through the API.
    async fn source(&self) -> Option<Source> {
        self.0.source.clone().map(Source)
    }

    /// Raised by every change to the record.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// Every `tradeFlows` connection: one page through the request's loader.
pub async fn trade_flow_connection(
    ctx: &Context<'_>,
    query: TradeFlowQuery,
) -> async_graphql::Result<Connection<TradeFlow>> {
    let (page, total) = load(ctx, query).await?.unwrap_or_default();
    Ok(Connection::new(page.map(TradeFlow), Total::Known(total)))
}
