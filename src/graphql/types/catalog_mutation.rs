//! Writing the catalogs: `createHub`, `createCompany`, `createFreightRoute`
//! and `recordTradeFlow`. Inputs are checked before anything is written,
//! and each mutation answers once its change is on disk.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::figures::{Currency, Qualifier, TransportMode};
use super::flow::TradeFlow;
use super::hub::{Company, Hub, HubKind};
use super::route::FreightRoute;
use super::shipment::resolve_province;
use super::shipment_mutation::known;
use crate::domain::{self, CompanyCode, HubCode, Origin, PartnerCode, RecordMeta, RouteCode};
use crate::error::Error;
use crate::graphql::auth::WriteGuard;
use crate::graphql::errors::ApiResult;
use crate::graphql::scalars::Decimal;
use crate::store::{Catalog, Store};

/// The longest name or note accepted, in bytes.
const MAX_TEXT: usize = 500;

/// An amount of money as a client states it.
#[derive(InputObject)]
pub struct MoneyInput {
    /// The amount; greater than 0.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
    /// How the amount is qualified.
    #[graphql(default_with = "Qualifier::Exact")]
    pub qualifier: Qualifier,
    /// Whether it is an expectation rather than a result.
    #[graphql(default)]
    pub forecast: bool,
}

/// A new hub.
#[derive(InputObject)]
pub struct CreateHubInput {
    /// A unique code: letters and digits in words joined by hyphens.
    pub code: String,
    /// The name.
    pub name: String,
    /// What kind of place it is.
    pub kind: HubKind,
    /// The city it is in.
    pub city: Option<String>,
    /// The Chinese province it is in: a code or a name.
    pub province: Option<String>,
    /// The partner country it is in, for hubs abroad.
    pub country: Option<String>,
    /// Anything else worth saying.
    pub note: Option<String>,
}

/// A new company.
#[derive(InputObject)]
pub struct CreateCompanyInput {
    /// A unique code.
    pub code: String,
    /// The name.
    pub name: String,
    /// The province it is based in: a code or a name.
    pub province: Option<String>,
    /// Anything else worth saying.
    pub note: Option<String>,
}

/// A new freight route.
#[derive(InputObject)]
pub struct CreateFreightRouteInput {
    /// A unique code.
    pub code: String,
    /// The name.
    pub name: String,
    /// How goods travel on it.
    pub mode: TransportMode,
    /// The hub it starts at.
    pub origin: Option<String>,
    /// The hub it ends at.
    pub destination: Option<String>,
    /// Hubs it passes through, in order.
    #[graphql(default)]
    pub via: Vec<String>,
    /// Days a journey usually takes, 0 to 365.
    pub typical_transit_days: Option<u32>,
    /// The provinces it serves: codes or names.
    #[graphql(default)]
    pub provinces: Vec<String>,
    /// The partners it reaches.
    #[graphql(default)]
    pub partners: Vec<String>,
    /// Anything else worth saying.
    pub note: Option<String>,
}

/// One province's trade with one partner in one year.
#[derive(InputObject)]
pub struct RecordTradeFlowInput {
    /// The province: a code or a name.
    pub province: String,
    /// The partner's code.
    pub partner: String,
    /// The calendar year, 1950 to 2100.
    pub year: i32,
    /// The value of the trade.
    pub value: Option<MoneyInput>,
    /// Year-on-year growth in percent, -100 to 10000.
    pub growth_percent: Option<f64>,
    /// Anything else worth saying.
    pub note: Option<String>,
}

/// What `createHub` answers.
#[derive(SimpleObject)]
pub struct CreateHubPayload {
    /// The hub as stored.
    pub hub: Hub,
}

/// What `createCompany` answers.
#[derive(SimpleObject)]
pub struct CreateCompanyPayload {
    /// The company as stored.
    pub company: Company,
}

/// What `createFreightRoute` answers.
#[derive(SimpleObject)]
pub struct CreateFreightRoutePayload {
    /// The route as stored.
    pub freight_route: FreightRoute,
}

/// What `recordTradeFlow` answers.
#[derive(SimpleObject)]
pub struct RecordTradeFlowPayload {
    /// The flow as stored now.
    pub trade_flow: TradeFlow,
}

/// Mutations on hubs, companies, routes and trade flows.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Adds a hub with a new code. Needs a write token.
    #[graphql(guard = "WriteGuard")]
    async fn create_hub(
        &self,
        ctx: &Context<'_>,
        input: CreateHubInput,
    ) -> async_graphql::Result<CreateHubPayload> {
        let hub = domain::Hub {
            code: HubCode::parse(&input.code).api()?,
            name: text("name", &input.name)?,
            kind: input.kind.into(),
            city: optional_text("city", input.city)?,
            province: province(ctx, "province", input.province).await?,
            country: known::<_, domain::TradePartner>(
                ctx,
                "country",
                "trade partner",
                input.country.as_deref(),
                PartnerCode::parse,
            )
            .await?,
            note: optional_text("note", input.note)?,
            source: None,
            meta: RecordMeta::new(Origin::Api),
        };
        insert(ctx, &hub).await?;
        Ok(CreateHubPayload { hub: Hub(hub) })
    }

    /// Adds a company with a new code. Needs a write token.
    #[graphql(guard = "WriteGuard")]
    async fn create_company(
        &self,
        ctx: &Context<'_>,
        input: CreateCompanyInput,
    ) -> async_graphql::Result<CreateCompanyPayload> {
        let company = domain::Company {
            code: CompanyCode::parse(&input.code).api()?,
            name: text("name", &input.name)?,
            province: province(ctx, "province", input.province).await?,
            note: optional_text("note", input.note)?,
            source: None,
            meta: RecordMeta::new(Origin::Api),
        };
        insert(ctx, &company).await?;
        Ok(CreateCompanyPayload {
            company: Company(company),
        })
    }

    /// Adds a freight route with a new code. Needs a write token.
    #[graphql(guard = "WriteGuard")]
    async fn create_freight_route(
        &self,
        ctx: &Context<'_>,
        input: CreateFreightRouteInput,
    ) -> async_graphql::Result<CreateFreightRoutePayload> {
        let hub = |field: &'static str, code: Option<String>| async move {
            known::<_, domain::Hub>(ctx, field, "hub", code.as_deref(), HubCode::parse).await
        };
        let mut via = Vec::with_capacity(input.via.len());
        for code in input.via {
            via.extend(hub("via", Some(code)).await?);
        }
        let mut provinces = Vec::with_capacity(input.provinces.len());
        for spelling in input.provinces {
            provinces.push(resolve_province(ctx, "provinces", spelling).await?);
        }
        let mut partners = Vec::with_capacity(input.partners.len());
        for code in input.partners {
            partners.extend(
                known::<_, domain::TradePartner>(
                    ctx,
                    "partners",
                    "trade partner",
                    Some(&code),
                    PartnerCode::parse,
                )
                .await?,
            );
        }
        if input.typical_transit_days.is_some_and(|days| days > 365) {
            return Err(Error::bad_input(
                "typicalTransitDays must be between 0 and 365",
            ))
            .api();
        }
        let route = domain::FreightRoute {
            code: RouteCode::parse(&input.code).api()?,
            name: text("name", &input.name)?,
            mode: input.mode.into(),
            origin: hub("origin", input.origin).await?,
            destination: hub("destination", input.destination).await?,
            via,
            typical_transit_days: input.typical_transit_days,
            provinces,
            partners,
            note: optional_text("note", input.note)?,
            source: None,
            meta: RecordMeta::new(Origin::Api),
        };
        insert(ctx, &route).await?;
        Ok(CreateFreightRoutePayload {
            freight_route: FreightRoute(route),
        })
    }

    /// Records one province's trade with one partner in a year: creates the
    /// flow, or replaces the one for the same province, partner and year
    /// and raises its version. Needs a write token.
    #[graphql(guard = "WriteGuard")]
    async fn record_trade_flow(
        &self,
        ctx: &Context<'_>,
        input: RecordTradeFlowInput,
    ) -> async_graphql::Result<RecordTradeFlowPayload> {
        if !(1950..=2100).contains(&input.year) {
            return Err(Error::bad_input(format!(
                "year must be between 1950 and 2100, got {}",
                input.year
            )))
            .api();
        }
        if input
            .growth_percent
            .is_some_and(|growth| !(-100.0..=10_000.0).contains(&growth))
        {
            return Err(Error::bad_input(
                "growthPercent must be between -100 and 10000",
            ))
            .api();
        }
        if input
            .value
            .as_ref()
            .is_some_and(|money| money.amount.0 <= rust_decimal::Decimal::ZERO)
        {
            return Err(Error::bad_input("value.amount must be greater than 0")).api();
        }
        let province_code = resolve_province(ctx, "province", input.province).await?;
        let partner = known::<_, domain::TradePartner>(
            ctx,
            "partner",
            "trade partner",
            Some(&input.partner),
            PartnerCode::parse,
        )
        .await?
        .ok_or_else(|| Error::bad_input("partner is required"))
        .api()?;
        let flow = domain::TradeFlow {
            province: province_code,
            partner,
            year: input.year,
            value: input.value.map(|money| domain::Money {
                amount: money.amount.0,
                currency: money.currency.into(),
                qualifier: money.qualifier.into(),
                forecast: money.forecast,
                source: None,
            }),
            growth_percent: input.growth_percent,
            note: optional_text("note", input.note)?,
            source: None,
            meta: RecordMeta::new(Origin::Api),
        };
        let store = ctx.data_unchecked::<Store>();
        let stored = store.record_trade_flow(flow).await.api()?;
        store.make_durable().await.api()?;
        Ok(RecordTradeFlowPayload {
            trade_flow: TradeFlow(stored),
        })
    }
}

/// Writes a new catalog record and waits until it is on disk.
async fn insert<R: Catalog>(ctx: &Context<'_>, record: &R) -> async_graphql::Result<()> {
    let store = ctx.data_unchecked::<Store>();
    store.insert_new(record).await.api()?;
    store.make_durable().await.api()
}

/// An optional province, by code or name.
async fn province(
    ctx: &Context<'_>,
    field: &str,
    spelling: Option<String>,
) -> async_graphql::Result<Option<domain::ProvinceCode>> {
    match spelling {
        Some(spelling) => Ok(Some(resolve_province(ctx, field, spelling).await?)),
        None => Ok(None),
    }
}

/// A required text of 1 to [`MAX_TEXT`] bytes, trimmed.
fn text(field: &str, text: &str) -> async_graphql::Result<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.len() > MAX_TEXT {
        return Err(Error::bad_input(format!(
            "{field} must be 1 to {MAX_TEXT} characters"
        )))
        .api();
    }
    Ok(trimmed.to_owned())
}

/// An optional text of 1 to [`MAX_TEXT`] bytes when given.
fn optional_text(field: &str, value: Option<String>) -> async_graphql::Result<Option<String>> {
    value.map(|value| text(field, &value)).transpose()
}
