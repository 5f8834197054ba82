//! Version 1 of every stored record: database format 1's bytes.
//!
//! Each struct has the fields of the domain struct it mirrors as format 1
//! stored it, in the same order, with the same bincode encoding: codes are
//! the text serde wrote for them, `Decimal`s the text `rust_decimal` writes,
//! dates ISO 8601 text as `chrono` writes it, a `ShipmentId` its number,
//! enums the index of their variant. Nothing here may change: databases
//! hold these bytes. A new shape is a new version (see the module doc of
//! `format`).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Invalid;
use crate::domain;

/// A national summary, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct NationalSummaryV1 {
    pub(super) year: i32,
    pub(super) total_trade: MoneyV1,
    pub(super) total_trade_usd: Option<MoneyV1>,
    pub(super) growth_percent: Option<f64>,
    pub(super) indicators: Vec<IndicatorV1>,
    pub(super) source: SourceV1,
    pub(super) meta: RecordMetaV1,
}

/// A province, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ProvinceV1 {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) name_zh: String,
    pub(super) years: Vec<ProvinceYearV1>,
    pub(super) indicators: Vec<IndicatorV1>,
    pub(super) meta: RecordMetaV1,
}

/// A trade partner, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TradePartnerV1 {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) kind: PartnerKindV1,
    pub(super) region: Option<String>,
    pub(super) members: Vec<String>,
    pub(super) meta: RecordMetaV1,
}

/// A hub, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct HubV1 {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) kind: HubKindV1,
    pub(super) city: Option<String>,
    pub(super) province: Option<String>,
    pub(super) country: Option<String>,
    pub(super) note: Option<String>,
    pub(super) source: Option<SourceV1>,
    pub(super) meta: RecordMetaV1,
}

/// A company, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct CompanyV1 {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) province: Option<String>,
    pub(super) note: Option<String>,
    pub(super) source: Option<SourceV1>,
    pub(super) meta: RecordMetaV1,
}

/// A freight route, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FreightRouteV1 {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) mode: TransportModeV1,
    pub(super) origin: Option<String>,
    pub(super) destination: Option<String>,
    pub(super) via: Vec<String>,
    pub(super) typical_transit_days: Option<u32>,
    pub(super) provinces: Vec<String>,
    pub(super) partners: Vec<String>,
    pub(super) note: Option<String>,
    pub(super) source: Option<SourceV1>,
    pub(super) meta: RecordMetaV1,
}

/// A trade flow, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TradeFlowV1 {
    pub(super) province: String,
    pub(super) partner: String,
    pub(super) year: i32,
    pub(super) value: Option<MoneyV1>,
    pub(super) growth_percent: Option<f64>,
    pub(super) note: Option<String>,
    pub(super) source: Option<SourceV1>,
    pub(super) meta: RecordMetaV1,
}

/// A shipment, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ShipmentV1 {
    /// The `ShipmentId`'s number: bincode writes a newtype as what it wraps.
    pub(super) id: u64,
    /// Not a code type in the domain either: stored as given, not parsed.
    pub(super) reference: String,
    pub(super) shipper: Option<String>,
    pub(super) cargo: String,
    pub(super) quantity: Option<QuantityV1>,
    pub(super) mode: Option<TransportModeV1>,
    pub(super) carrier_name: Option<String>,
    pub(super) origin_province: Option<String>,
    pub(super) origin: Option<String>,
    pub(super) destination_partner: Option<String>,
    pub(super) destination: Option<String>,
    pub(super) route: Option<String>,
    pub(super) departed_on: Option<String>,
    pub(super) arrived_on: Option<String>,
    pub(super) transit_days: Option<u32>,
    pub(super) note: Option<String>,
    pub(super) source: Option<SourceV1>,
    pub(super) meta: RecordMetaV1,
}

/// A record's bookkeeping, version 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RecordMetaV1 {
    pub(super) version: u32,
    pub(super) origin: OriginV1,
}

/// Where a record came from, version 1. The order of the variants is the
/// format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum OriginV1 {
    Seed,
    Synthetic,
    Api,
}

/// A named figure, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct IndicatorV1 {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) year: Option<i32>,
    pub(super) money: Option<MoneyV1>,
    pub(super) quantity: Option<QuantityV1>,
    pub(super) percent: Option<PercentV1>,
    pub(super) change_percent: Option<f64>,
    pub(super) provinces: Vec<String>,
    pub(super) hub: Option<String>,
    pub(super) note: Option<String>,
    pub(super) source: SourceV1,
}

/// A province's figures for one year, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ProvinceYearV1 {
    pub(super) year: i32,
    pub(super) total_trade: Option<MoneyV1>,
    pub(super) growth_percent: Option<f64>,
    pub(super) national_rank: Option<u32>,
}

/// What kind of trade partner a partner is, version 1. The order of the
/// variants is the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum PartnerKindV1 {
    Country,
    Bloc,
    Region,
    Grouping,
}

/// What kind of place a hub is, version 1. The order of the variants is the
/// format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum HubKindV1 {
    Seaport,
    RailHub,
    BondedZone,
    Market,
    Factory,
    Platform,
    Region,
}

/// How goods travel, version 1. The order of the variants is the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum TransportModeV1 {
    Sea,
    Rail,
    Road,
    Air,
}

/// Where a figure comes from, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SourceV1 {
    pub(super) title: String,
    pub(super) publisher: String,
    /// ISO 8601, `2026-02-25`.
    pub(super) published_on: String,
    pub(super) quote: String,
}

/// An amount of money, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct MoneyV1 {
    /// The decimal as text, with its scale: `9490000000000`, `6.590`.
    pub(super) amount: String,
    pub(super) currency: CurrencyV1,
    pub(super) qualifier: QualifierV1,
    pub(super) forecast: bool,
    pub(super) source: Option<SourceV1>,
}

/// A quantity, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct QuantityV1 {
    /// The decimal as text, with its scale.
    pub(super) value: String,
    pub(super) unit: String,
    pub(super) qualifier: QualifierV1,
    pub(super) forecast: bool,
    pub(super) source: Option<SourceV1>,
}

/// A percentage, version 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct PercentV1 {
    pub(super) value: f64,
    pub(super) qualifier: QualifierV1,
}

/// How a figure relates to the true value, version 1. The order of the
/// variants is the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum QualifierV1 {
    Exact,
    About,
    MoreThan,
}

/// A currency, version 1. The order of the variants is the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum CurrencyV1 {
    Cny,
    Usd,
}

// From the domain: infallible, every domain value has a version 1 form.

impl From<&domain::NationalSummary> for NationalSummaryV1 {
    fn from(summary: &domain::NationalSummary) -> Self {
        Self {
            year: summary.year,
            total_trade: MoneyV1::from(&summary.total_trade),
            total_trade_usd: summary.total_trade_usd.as_ref().map(MoneyV1::from),
            growth_percent: summary.growth_percent,
            indicators: summary.indicators.iter().map(IndicatorV1::from).collect(),
            source: SourceV1::from(&summary.source),
            meta: RecordMetaV1::from(summary.meta),
        }
    }
}

impl From<&domain::Province> for ProvinceV1 {
    fn from(province: &domain::Province) -> Self {
        Self {
            code: province.code.to_string(),
            name: province.name.clone(),
            name_zh: province.name_zh.clone(),
            years: province.years.iter().map(ProvinceYearV1::from).collect(),
            indicators: province.indicators.iter().map(IndicatorV1::from).collect(),
            meta: RecordMetaV1::from(province.meta),
        }
    }
}

impl From<&domain::TradePartner> for TradePartnerV1 {
    fn from(partner: &domain::TradePartner) -> Self {
        Self {
            code: partner.code.to_string(),
            name: partner.name.clone(),
            kind: PartnerKindV1::from(partner.kind),
            region: partner.region.clone(),
            members: texts(&partner.members),
            meta: RecordMetaV1::from(partner.meta),
        }
    }
}

impl From<&domain::Hub> for HubV1 {
    fn from(hub: &domain::Hub) -> Self {
        Self {
            code: hub.code.to_string(),
            name: hub.name.clone(),
            kind: HubKindV1::from(hub.kind),
            city: hub.city.clone(),
            province: optional_text(hub.province.as_ref()),
            country: optional_text(hub.country.as_ref()),
            note: hub.note.clone(),
            source: hub.source.as_ref().map(SourceV1::from),
            meta: RecordMetaV1::from(hub.meta),
        }
    }
}

impl From<&domain::Company> for CompanyV1 {
    fn from(company: &domain::Company) -> Self {
        Self {
            code: company.code.to_string(),
            name: company.name.clone(),
            province: optional_text(company.province.as_ref()),
            note: company.note.clone(),
            source: company.source.as_ref().map(SourceV1::from),
            meta: RecordMetaV1::from(company.meta),
        }
    }
}

impl From<&domain::FreightRoute> for FreightRouteV1 {
    fn from(route: &domain::FreightRoute) -> Self {
        Self {
            code: route.code.to_string(),
            name: route.name.clone(),
            mode: TransportModeV1::from(route.mode),
            origin: optional_text(route.origin.as_ref()),
            destination: optional_text(route.destination.as_ref()),
            via: texts(&route.via),
            typical_transit_days: route.typical_transit_days,
            provinces: texts(&route.provinces),
            partners: texts(&route.partners),
            note: route.note.clone(),
            source: route.source.as_ref().map(SourceV1::from),
            meta: RecordMetaV1::from(route.meta),
        }
    }
}

impl From<&domain::TradeFlow> for TradeFlowV1 {
    fn from(flow: &domain::TradeFlow) -> Self {
        Self {
            province: flow.province.to_string(),
            partner: flow.partner.to_string(),
            year: flow.year,
            value: flow.value.as_ref().map(MoneyV1::from),
            growth_percent: flow.growth_percent,
            note: flow.note.clone(),
            source: flow.source.as_ref().map(SourceV1::from),
            meta: RecordMetaV1::from(flow.meta),
        }
    }
}

impl From<&domain::Shipment> for ShipmentV1 {
    fn from(shipment: &domain::Shipment) -> Self {
        Self {
            id: shipment.id.0,
            reference: shipment.reference.clone(),
            shipper: optional_text(shipment.shipper.as_ref()),
            cargo: shipment.cargo.clone(),
            quantity: shipment.quantity.as_ref().map(QuantityV1::from),
            mode: shipment.mode.map(TransportModeV1::from),
            carrier_name: shipment.carrier_name.clone(),
            origin_province: optional_text(shipment.origin_province.as_ref()),
            origin: optional_text(shipment.origin.as_ref()),
            destination_partner: optional_text(shipment.destination_partner.as_ref()),
            destination: optional_text(shipment.destination.as_ref()),
            route: optional_text(shipment.route.as_ref()),
            departed_on: optional_text(shipment.departed_on.as_ref()),
            arrived_on: optional_text(shipment.arrived_on.as_ref()),
            transit_days: shipment.transit_days,
            note: shipment.note.clone(),
            source: shipment.source.as_ref().map(SourceV1::from),
            meta: RecordMetaV1::from(shipment.meta),
        }
    }
}

impl From<domain::RecordMeta> for RecordMetaV1 {
    fn from(meta: domain::RecordMeta) -> Self {
        Self {
            version: meta.version,
            origin: OriginV1::from(meta.origin),
        }
    }
}

impl From<domain::Origin> for OriginV1 {
    fn from(origin: domain::Origin) -> Self {
        match origin {
            domain::Origin::Seed => Self::Seed,
            domain::Origin::Synthetic => Self::Synthetic,
            domain::Origin::Api => Self::Api,
        }
    }
}

impl From<&domain::Indicator> for IndicatorV1 {
    fn from(indicator: &domain::Indicator) -> Self {
        Self {
            key: indicator.key.clone(),
            label: indicator.label.clone(),
            year: indicator.year,
            money: indicator.money.as_ref().map(MoneyV1::from),
            quantity: indicator.quantity.as_ref().map(QuantityV1::from),
            percent: indicator.percent.map(PercentV1::from),
            change_percent: indicator.change_percent,
            provinces: texts(&indicator.provinces),
            hub: optional_text(indicator.hub.as_ref()),
            note: indicator.note.clone(),
            source: SourceV1::from(&indicator.source),
        }
    }
}

impl From<&domain::ProvinceYear> for ProvinceYearV1 {
    fn from(figures: &domain::ProvinceYear) -> Self {
        Self {
            year: figures.year,
            total_trade: figures.total_trade.as_ref().map(MoneyV1::from),
            growth_percent: figures.growth_percent,
            national_rank: figures.national_rank,
        }
    }
}

impl From<domain::PartnerKind> for PartnerKindV1 {
    fn from(kind: domain::PartnerKind) -> Self {
        match kind {
            domain::PartnerKind::Country => Self::Country,
            domain::PartnerKind::Bloc => Self::Bloc,
            domain::PartnerKind::Region => Self::Region,
            domain::PartnerKind::Grouping => Self::Grouping,
        }
    }
}

impl From<domain::HubKind> for HubKindV1 {
    fn from(kind: domain::HubKind) -> Self {
        match kind {
            domain::HubKind::Seaport => Self::Seaport,
            domain::HubKind::RailHub => Self::RailHub,
            domain::HubKind::BondedZone => Self::BondedZone,
            domain::HubKind::Market => Self::Market,
            domain::HubKind::Factory => Self::Factory,
            domain::HubKind::Platform => Self::Platform,
            domain::HubKind::Region => Self::Region,
        }
    }
}

impl From<domain::TransportMode> for TransportModeV1 {
    fn from(mode: domain::TransportMode) -> Self {
        match mode {
            domain::TransportMode::Sea => Self::Sea,
            domain::TransportMode::Rail => Self::Rail,
            domain::TransportMode::Road => Self::Road,
            domain::TransportMode::Air => Self::Air,
        }
    }
}

impl From<&domain::Source> for SourceV1 {
    fn from(source: &domain::Source) -> Self {
        Self {
            title: source.title.clone(),
            publisher: source.publisher.clone(),
            published_on: source.published_on.to_string(),
            quote: source.quote.clone(),
        }
    }
}

impl From<&domain::Money> for MoneyV1 {
    fn from(money: &domain::Money) -> Self {
        Self {
            amount: money.amount.to_string(),
            currency: CurrencyV1::from(money.currency),
            qualifier: QualifierV1::from(money.qualifier),
            forecast: money.forecast,
            source: money.source.as_ref().map(SourceV1::from),
        }
    }
}

impl From<&domain::Quantity> for QuantityV1 {
    fn from(quantity: &domain::Quantity) -> Self {
        Self {
            value: quantity.value.to_string(),
            unit: quantity.unit.clone(),
            qualifier: QualifierV1::from(quantity.qualifier),
            forecast: quantity.forecast,
            source: quantity.source.as_ref().map(SourceV1::from),
        }
    }
}

impl From<domain::Percent> for PercentV1 {
    fn from(percent: domain::Percent) -> Self {
        Self {
            value: percent.value,
            qualifier: QualifierV1::from(percent.qualifier),
        }
    }
}

impl From<domain::Qualifier> for QualifierV1 {
    fn from(qualifier: domain::Qualifier) -> Self {
        match qualifier {
            domain::Qualifier::Exact => Self::Exact,
            domain::Qualifier::About => Self::About,
            domain::Qualifier::MoreThan => Self::MoreThan,
        }
    }
}

impl From<domain::Currency> for CurrencyV1 {
    fn from(currency: domain::Currency) -> Self {
        match currency {
            domain::Currency::Cny => Self::Cny,
            domain::Currency::Usd => Self::Usd,
        }
    }
}

/// Codes (or any displayed value) as the text they are stored as.
fn texts<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

/// An optional code (or date) as the text it is stored as.
fn optional_text<T: ToString>(value: Option<&T>) -> Option<String> {
    value.map(ToString::to_string)
}

// Back to the domain: fallible, stored text must parse. Each error names
// the field by its path in the record.

impl TryFrom<NationalSummaryV1> for domain::NationalSummary {
    type Error = Invalid;

    fn try_from(stored: NationalSummaryV1) -> Result<Self, Invalid> {
        Ok(Self {
            year: stored.year,
            total_trade: required("total_trade", stored.total_trade)?,
            total_trade_usd: optional("total_trade_usd", stored.total_trade_usd)?,
            growth_percent: stored.growth_percent,
            indicators: list("indicators", stored.indicators)?,
            source: required("source", stored.source)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<ProvinceV1> for domain::Province {
    type Error = Invalid;

    fn try_from(stored: ProvinceV1) -> Result<Self, Invalid> {
        Ok(Self {
            code: parsed("code", &stored.code, domain::ProvinceCode::parse)?,
            name: stored.name,
            name_zh: stored.name_zh,
            years: list("years", stored.years)?,
            indicators: list("indicators", stored.indicators)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<TradePartnerV1> for domain::TradePartner {
    type Error = Invalid;

    fn try_from(stored: TradePartnerV1) -> Result<Self, Invalid> {
        Ok(Self {
            code: parsed("code", &stored.code, domain::PartnerCode::parse)?,
            name: stored.name,
            kind: stored.kind.into(),
            region: stored.region,
            members: all_parsed("members", &stored.members, domain::PartnerCode::parse)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<HubV1> for domain::Hub {
    type Error = Invalid;

    fn try_from(stored: HubV1) -> Result<Self, Invalid> {
        Ok(Self {
            code: parsed("code", &stored.code, domain::HubCode::parse)?,
            name: stored.name,
            kind: stored.kind.into(),
            city: stored.city,
            province: optional_parsed("province", stored.province, domain::ProvinceCode::parse)?,
            country: optional_parsed("country", stored.country, domain::PartnerCode::parse)?,
            note: stored.note,
            source: optional("source", stored.source)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<CompanyV1> for domain::Company {
    type Error = Invalid;

    fn try_from(stored: CompanyV1) -> Result<Self, Invalid> {
        Ok(Self {
            code: parsed("code", &stored.code, domain::CompanyCode::parse)?,
            name: stored.name,
            province: optional_parsed("province", stored.province, domain::ProvinceCode::parse)?,
            note: stored.note,
            source: optional("source", stored.source)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<FreightRouteV1> for domain::FreightRoute {
    type Error = Invalid;

    fn try_from(stored: FreightRouteV1) -> Result<Self, Invalid> {
        Ok(Self {
            code: parsed("code", &stored.code, domain::RouteCode::parse)?,
            name: stored.name,
            mode: stored.mode.into(),
            origin: optional_parsed("origin", stored.origin, domain::HubCode::parse)?,
            destination: optional_parsed(
                "destination",
                stored.destination,
                domain::HubCode::parse,
            )?,
            via: all_parsed("via", &stored.via, domain::HubCode::parse)?,
            typical_transit_days: stored.typical_transit_days,
            provinces: all_parsed("provinces", &stored.provinces, domain::ProvinceCode::parse)?,
            partners: all_parsed("partners", &stored.partners, domain::PartnerCode::parse)?,
            note: stored.note,
            source: optional("source", stored.source)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<TradeFlowV1> for domain::TradeFlow {
    type Error = Invalid;

    fn try_from(stored: TradeFlowV1) -> Result<Self, Invalid> {
        Ok(Self {
            province: parsed("province", &stored.province, domain::ProvinceCode::parse)?,
            partner: parsed("partner", &stored.partner, domain::PartnerCode::parse)?,
            year: stored.year,
            value: optional("value", stored.value)?,
            growth_percent: stored.growth_percent,
            note: stored.note,
            source: optional("source", stored.source)?,
            meta: stored.meta.into(),
        })
    }
}

impl TryFrom<ShipmentV1> for domain::Shipment {
    type Error = Invalid;

    fn try_from(stored: ShipmentV1) -> Result<Self, Invalid> {
        Ok(Self {
            id: domain::ShipmentId(stored.id),
            reference: stored.reference,
            shipper: optional_parsed("shipper", stored.shipper, domain::CompanyCode::parse)?,
            cargo: stored.cargo,
            quantity: optional("quantity", stored.quantity)?,
            mode: stored.mode.map(domain::TransportMode::from),
            carrier_name: stored.carrier_name,
            origin_province: optional_parsed(
                "origin_province",
                stored.origin_province,
                domain::ProvinceCode::parse,
            )?,
            origin: optional_parsed("origin", stored.origin, domain::HubCode::parse)?,
            destination_partner: optional_parsed(
                "destination_partner",
                stored.destination_partner,
                domain::PartnerCode::parse,
            )?,
            destination: optional_parsed(
                "destination",
                stored.destination,
                domain::HubCode::parse,
            )?,
            route: optional_parsed("route", stored.route, domain::RouteCode::parse)?,
            departed_on: optional_parsed("departed_on", stored.departed_on, date)?,
            arrived_on: optional_parsed("arrived_on", stored.arrived_on, date)?,
            transit_days: stored.transit_days,
            note: stored.note,
            source: optional("source", stored.source)?,
            meta: stored.meta.into(),
        })
    }
}

impl From<RecordMetaV1> for domain::RecordMeta {
    fn from(stored: RecordMetaV1) -> Self {
        Self {
            version: stored.version,
            origin: stored.origin.into(),
        }
    }
}

impl From<OriginV1> for domain::Origin {
    fn from(stored: OriginV1) -> Self {
        match stored {
            OriginV1::Seed => Self::Seed,
            OriginV1::Synthetic => Self::Synthetic,
            OriginV1::Api => Self::Api,
        }
    }
}

impl TryFrom<IndicatorV1> for domain::Indicator {
    type Error = Invalid;

    fn try_from(stored: IndicatorV1) -> Result<Self, Invalid> {
        Ok(Self {
            key: stored.key,
            label: stored.label,
            year: stored.year,
            money: optional("money", stored.money)?,
            quantity: optional("quantity", stored.quantity)?,
            percent: stored.percent.map(domain::Percent::from),
            change_percent: stored.change_percent,
            provinces: all_parsed("provinces", &stored.provinces, domain::ProvinceCode::parse)?,
            hub: optional_parsed("hub", stored.hub, domain::HubCode::parse)?,
            note: stored.note,
            source: required("source", stored.source)?,
        })
    }
}

impl TryFrom<ProvinceYearV1> for domain::ProvinceYear {
    type Error = Invalid;

    fn try_from(stored: ProvinceYearV1) -> Result<Self, Invalid> {
        Ok(Self {
            year: stored.year,
            total_trade: optional("total_trade", stored.total_trade)?,
            growth_percent: stored.growth_percent,
            national_rank: stored.national_rank,
        })
    }
}

impl From<PartnerKindV1> for domain::PartnerKind {
    fn from(stored: PartnerKindV1) -> Self {
        match stored {
            PartnerKindV1::Country => Self::Country,
            PartnerKindV1::Bloc => Self::Bloc,
            PartnerKindV1::Region => Self::Region,
            PartnerKindV1::Grouping => Self::Grouping,
        }
    }
}

impl From<HubKindV1> for domain::HubKind {
    fn from(stored: HubKindV1) -> Self {
        match stored {
            HubKindV1::Seaport => Self::Seaport,
            HubKindV1::RailHub => Self::RailHub,
            HubKindV1::BondedZone => Self::BondedZone,
            HubKindV1::Market => Self::Market,
            HubKindV1::Factory => Self::Factory,
            HubKindV1::Platform => Self::Platform,
            HubKindV1::Region => Self::Region,
        }
    }
}

impl From<TransportModeV1> for domain::TransportMode {
    fn from(stored: TransportModeV1) -> Self {
        match stored {
            TransportModeV1::Sea => Self::Sea,
            TransportModeV1::Rail => Self::Rail,
            TransportModeV1::Road => Self::Road,
            TransportModeV1::Air => Self::Air,
        }
    }
}

impl TryFrom<SourceV1> for domain::Source {
    type Error = Invalid;

    fn try_from(stored: SourceV1) -> Result<Self, Invalid> {
        Ok(Self {
            title: stored.title,
            publisher: stored.publisher,
            published_on: parsed("published_on", &stored.published_on, date)?,
            quote: stored.quote,
        })
    }
}

impl TryFrom<MoneyV1> for domain::Money {
    type Error = Invalid;

    fn try_from(stored: MoneyV1) -> Result<Self, Invalid> {
        Ok(Self {
            amount: parsed("amount", &stored.amount, decimal)?,
            currency: stored.currency.into(),
            qualifier: stored.qualifier.into(),
            forecast: stored.forecast,
            source: optional("source", stored.source)?,
        })
    }
}

impl TryFrom<QuantityV1> for domain::Quantity {
    type Error = Invalid;

    fn try_from(stored: QuantityV1) -> Result<Self, Invalid> {
        Ok(Self {
            value: parsed("value", &stored.value, decimal)?,
            unit: stored.unit,
            qualifier: stored.qualifier.into(),
            forecast: stored.forecast,
            source: optional("source", stored.source)?,
        })
    }
}

impl From<PercentV1> for domain::Percent {
    fn from(stored: PercentV1) -> Self {
        Self {
            value: stored.value,
            qualifier: stored.qualifier.into(),
        }
    }
}

impl From<QualifierV1> for domain::Qualifier {
    fn from(stored: QualifierV1) -> Self {
        match stored {
            QualifierV1::Exact => Self::Exact,
            QualifierV1::About => Self::About,
            QualifierV1::MoreThan => Self::MoreThan,
        }
    }
}

impl From<CurrencyV1> for domain::Currency {
    fn from(stored: CurrencyV1) -> Self {
        match stored {
            CurrencyV1::Cny => Self::Cny,
            CurrencyV1::Usd => Self::Usd,
        }
    }
}

/// A stored text (a code, a date), parsed back with the domain's
/// constructor.
fn parsed<T, E: fmt::Display>(
    field: &str,
    text: &str,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, Invalid> {
    parse(text).map_err(|error| Invalid::new(field, error))
}

/// An optional stored text, parsed back when present.
fn optional_parsed<T, E: fmt::Display>(
    field: &str,
    text: Option<String>,
    parse: fn(&str) -> Result<T, E>,
) -> Result<Option<T>, Invalid> {
    text.map(|text| parsed(field, &text, parse)).transpose()
}

/// A list of stored texts; an error names the entry (`members[3]`).
fn all_parsed<T, E: fmt::Display>(
    field: &str,
    texts: &[String],
    parse: fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, Invalid> {
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| parsed(&format!("{field}[{index}]"), text, parse))
        .collect()
}

/// A stored struct, converted back.
fn required<V, T>(field: &str, stored: V) -> Result<T, Invalid>
where
    V: TryInto<T, Error = Invalid>,
{
    stored.try_into().map_err(|invalid| invalid.within(field))
}

/// An optional stored struct, converted back when present.
fn optional<V, T>(field: &str, stored: Option<V>) -> Result<Option<T>, Invalid>
where
    V: TryInto<T, Error = Invalid>,
{
    stored
        .map(|stored| stored.try_into().map_err(|invalid| invalid.within(field)))
        .transpose()
}

/// A list of stored structs; an error names the entry (`indicators[2]`).
fn list<V, T>(field: &str, stored: Vec<V>) -> Result<Vec<T>, Invalid>
where
    V: TryInto<T, Error = Invalid>,
{
    stored
        .into_iter()
        .enumerate()
        .map(|(index, stored)| {
            stored
                .try_into()
                .map_err(|invalid| invalid.within(&format!("{field}[{index}]")))
        })
        .collect()
}

/// A stored decimal, as `rust_decimal` reads the text it writes.
fn decimal(text: &str) -> Result<Decimal, String> {
    Decimal::from_str(text).map_err(|error| format!("{error}, got {text:?}"))
}

/// A stored date, ISO 8601 as `chrono` reads the text it writes.
fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::from_str(text).map_err(|error| {
        format!("date must be ISO 8601 such as 2026-02-25 ({error}), got {text:?}")
    })
}
