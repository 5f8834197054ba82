//! The shapes of the seed files, exactly as people edit them (camelCase JSON,
//! unknown fields refused), and their conversion into domain records with
//! checks that name the file, the record and the field at fault.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::{
    Company, CompanyCode, Currency, FreightRoute, Hub, HubCode, HubKind, Indicator, Money,
    NationalSummary, Origin, PartnerCode, PartnerKind, Percent, Province, ProvinceCode,
    ProvinceYear, Qualifier, Quantity, RecordMeta, RouteCode, Shipment, ShipmentId, Source,
    TradeFlow, TradePartner, TransportMode,
};
use crate::error::{Error, Result};

/// A document figures are quoted from (`sources.json`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DocumentFile {
    /// The id figures cite it by.
    pub id: String,
    /// The headline.
    pub title: String,
    /// Who published it.
    pub publisher: String,
    /// The day it was published.
    pub published_on: NaiveDate,
    /// The document's text, relative to the seed directory.
    pub file: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SourceRef {
    document: String,
    quote: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct MoneyFile {
    amount: Decimal,
    currency: Currency,
    qualifier: Qualifier,
    #[serde(default)]
    forecast: bool,
    source: SourceRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct QuantityFile {
    value: Decimal,
    unit: String,
    qualifier: Qualifier,
    #[serde(default)]
    forecast: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct IndicatorFile {
    key: String,
    label: String,
    year: Option<i32>,
    money: Option<MoneyFile>,
    quantity: Option<QuantityFile>,
    percent: Option<f64>,
    percent_qualifier: Option<Qualifier>,
    change_percent: Option<f64>,
    #[serde(default)]
    provinces: Vec<String>,
    hub: Option<String>,
    note: Option<String>,
    source: SourceRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct NationalFile {
    year: i32,
    total_trade: MoneyFile,
    total_trade_usd: Option<MoneyFile>,
    growth_percent: Option<f64>,
    source: SourceRef,
    #[serde(default)]
    indicators: Vec<IndicatorFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ProvinceYearFile {
    year: i32,
    total_trade: Option<MoneyFile>,
    growth_percent: Option<f64>,
    national_rank: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ProvinceFile {
    code: String,
    name: String,
    name_zh: String,
    #[serde(default)]
    years: Vec<ProvinceYearFile>,
    #[serde(default)]
    indicators: Vec<IndicatorFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PartnerFile {
    code: String,
    name: String,
    kind: PartnerKind,
    region: Option<String>,
    #[serde(default)]
    members: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct HubFile {
    code: String,
    name: String,
    kind: HubKind,
    city: Option<String>,
    province: Option<String>,
    country: Option<String>,
    note: Option<String>,
    source: SourceRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct CompanyFile {
    code: String,
    name: String,
    province: Option<String>,
    note: Option<String>,
    source: SourceRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RouteFile {
    code: String,
    name: String,
    mode: TransportMode,
    origin: Option<String>,
    destination: Option<String>,
    #[serde(default)]
    via: Vec<String>,
    typical_transit_days: Option<u32>,
    #[serde(default)]
    provinces: Vec<String>,
    #[serde(default)]
    partners: Vec<String>,
    note: Option<String>,
    source: SourceRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ShipmentFile {
    reference: String,
    shipper: Option<String>,
    cargo: String,
    quantity: Option<QuantityFile>,
    mode: Option<TransportMode>,
    carrier_name: Option<String>,
    origin_province: Option<String>,
    origin: Option<String>,
    destination_partner: Option<String>,
    destination: Option<String>,
    route: Option<String>,
    departed_on: Option<NaiveDate>,
    arrived_on: Option<NaiveDate>,
    transit_days: Option<u32>,
    note: Option<String>,
    source: SourceRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct TradeFlowFile {
    province: String,
    partner: String,
    year: i32,
    value: Option<MoneyFile>,
    growth_percent: Option<f64>,
    note: Option<String>,
    source: SourceRef,
}

/// The codes every record may refer to, and the documents quotes come from.
pub(super) struct Context {
    /// Document id -> (metadata, text).
    pub documents: HashMap<String, (DocumentFile, String)>,
    /// Province codes in `provinces.json`.
    pub provinces: HashSet<ProvinceCode>,
    /// Partner codes in `partners.json`.
    pub partners: HashSet<PartnerCode>,
    /// Hub codes in `hubs.json`.
    pub hubs: HashSet<HubCode>,
    /// Company codes in `companies.json`.
    pub companies: HashSet<CompanyCode>,
    /// Route codes in `routes.json`.
    pub routes: HashSet<RouteCode>,
}

/// Checks within one record of one file; every error names both.
pub(super) struct Checker<'a> {
    /// What records may refer to.
    pub context: &'a Context,
    /// The file being checked.
    pub file: &'static str,
    /// The record being checked, by code or position.
    pub record: String,
}

impl Checker<'_> {
    /// An error about `field` of this record.
    pub fn fail(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Seed {
            file: self.file.to_owned(),
            record: self.record.clone(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn parse<T>(&self, field: &str, text: &str, parse: impl Fn(&str) -> Result<T>) -> Result<T> {
        parse(text).map_err(|error| self.fail(field, error.to_string()))
    }

    fn known<T: std::hash::Hash + Eq + std::fmt::Display>(
        &self,
        field: &str,
        code: T,
        known: &HashSet<T>,
        kind: &str,
    ) -> Result<T> {
        if known.contains(&code) {
            Ok(code)
        } else {
            Err(self.fail(field, format!("unknown {kind} {code}")))
        }
    }

    /// A province code that `provinces.json` defines.
    pub fn province(&self, field: &str, text: &str) -> Result<ProvinceCode> {
        let code = self.parse(field, text, ProvinceCode::parse)?;
        self.known(field, code, &self.context.provinces, "province")
    }

    /// A partner code that `partners.json` defines.
    pub fn partner(&self, field: &str, text: &str) -> Result<PartnerCode> {
        let code = self.parse(field, text, PartnerCode::parse)?;
        self.known(field, code, &self.context.partners, "trade partner")
    }

    /// A hub code that `hubs.json` defines.
    pub fn hub(&self, field: &str, text: &str) -> Result<HubCode> {
        let code = self.parse(field, text, HubCode::parse)?;
        self.known(field, code, &self.context.hubs, "hub")
    }

    fn company(&self, field: &str, text: &str) -> Result<CompanyCode> {
        let code = self.parse(field, text, CompanyCode::parse)?;
        self.known(field, code, &self.context.companies, "company")
    }

    fn route(&self, field: &str, text: &str) -> Result<RouteCode> {
        let code = self.parse(field, text, RouteCode::parse)?;
        self.known(field, code, &self.context.routes, "freight route")
    }

    fn optional<T>(
        &self,
        field: &str,
        text: Option<&String>,
        check: impl Fn(&Self, &str, &str) -> Result<T>,
    ) -> Result<Option<T>> {
        text.map(|text| check(self, field, text)).transpose()
    }

    fn all<T>(
        &self,
        field: &str,
        texts: &[String],
        check: impl Fn(&Self, &str, &str) -> Result<T>,
    ) -> Result<Vec<T>> {
        texts.iter().map(|text| check(self, field, text)).collect()
    }

    fn text(&self, field: &str, text: &str) -> Result<String> {
        if text.trim().is_empty() {
            Err(self.fail(field, "must not be empty"))
        } else {
            Ok(text.to_owned())
        }
    }

    fn year(&self, field: &str, year: i32) -> Result<i32> {
        if (1950..=2100).contains(&year) {
            Ok(year)
        } else {
            Err(self.fail(
                field,
                format!("year must be between 1950 and 2100, got {year}"),
            ))
        }
    }

    /// Resolves a quote: the document must exist and contain it verbatim.
    pub fn source(&self, field: &str, source: &SourceRef) -> Result<Source> {
        let (document, text) = self
            .context
            .documents
            .get(&source.document)
            .ok_or_else(|| {
                self.fail(
                    field,
                    format!("unknown document {:?} (see sources.json)", source.document),
                )
            })?;
        if source.quote.trim().is_empty() || !text.contains(&source.quote) {
            return Err(self.fail(
                field,
                format!(
                    "quote is not found verbatim in {}: {:?}",
                    document.file, source.quote
                ),
            ));
        }
        Ok(Source {
            title: document.title.clone(),
            publisher: document.publisher.clone(),
            published_on: document.published_on,
            quote: source.quote.clone(),
        })
    }

    fn positive(&self, field: &str, value: Decimal) -> Result<Decimal> {
        if value > Decimal::ZERO {
            Ok(value.normalize())
        } else {
            Err(self.fail(field, format!("must be greater than zero, got {value}")))
        }
    }

    fn money(&self, field: &str, money: &MoneyFile) -> Result<Money> {
        Ok(Money {
            amount: self.positive(&format!("{field}.amount"), money.amount)?,
            currency: money.currency,
            qualifier: money.qualifier,
            forecast: money.forecast,
            source: Some(self.source(&format!("{field}.source"), &money.source)?),
        })
    }

    fn quantity(&self, field: &str, quantity: &QuantityFile) -> Result<Quantity> {
        Ok(Quantity {
            value: self.positive(&format!("{field}.value"), quantity.value)?,
            unit: self.text(&format!("{field}.unit"), &quantity.unit)?,
            qualifier: quantity.qualifier,
            forecast: quantity.forecast,
            source: None,
        })
    }

    fn indicator(&self, field: &str, indicator: &IndicatorFile) -> Result<Indicator> {
        let field = |name: &str| format!("{field}.{name}");
        let percent = match (indicator.percent, indicator.percent_qualifier) {
            (Some(value), Some(qualifier)) if (0.0..=100.0).contains(&value) => {
                Some(Percent { value, qualifier })
            }
            (Some(value), Some(_)) => {
                return Err(self.fail(
                    &field("percent"),
                    format!("must be between 0 and 100, got {value}"),
                ))
            }
            (None, None) => None,
            _ => {
                return Err(self.fail(
                    &field("percentQualifier"),
                    "percent and percentQualifier go together",
                ))
            }
        };
        let figures = [
            indicator.money.is_some(),
            indicator.quantity.is_some(),
            percent.is_some(),
            indicator.change_percent.is_some(),
        ];
        if !figures.contains(&true) {
            return Err(self.fail(
                &field("money"),
                "an indicator needs one of money, quantity, percent or changePercent",
            ));
        }
        Ok(Indicator {
            key: self.text(&field("key"), &indicator.key)?,
            label: self.text(&field("label"), &indicator.label)?,
            year: indicator
                .year
                .map(|year| self.year(&field("year"), year))
                .transpose()?,
            money: indicator
                .money
                .as_ref()
                .map(|m| self.money(&field("money"), m))
                .transpose()?,
            quantity: indicator
                .quantity
                .as_ref()
                .map(|q| self.quantity(&field("quantity"), q))
                .transpose()?,
            percent,
            change_percent: indicator.change_percent,
            provinces: self.all(&field("provinces"), &indicator.provinces, Self::province)?,
            hub: self.optional(&field("hub"), indicator.hub.as_ref(), Self::hub)?,
            note: indicator.note.clone(),
            source: self.source(&field("source"), &indicator.source)?,
        })
    }

    fn indicators(&self, indicators: &[IndicatorFile]) -> Result<Vec<Indicator>> {
        let mut keys = HashSet::new();
        indicators
            .iter()
            .enumerate()
            .map(|(index, indicator)| {
                let field = format!("indicators[{index}]");
                if !keys.insert(indicator.key.as_str()) {
                    return Err(self.fail(
                        &format!("{field}.key"),
                        format!("duplicate indicator key {:?}", indicator.key),
                    ));
                }
                self.indicator(&field, indicator)
            })
            .collect()
    }
}

fn seeded() -> RecordMeta {
    RecordMeta::new(Origin::Seed)
}

impl NationalFile {
    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<NationalSummary> {
        Ok(NationalSummary {
            year: checker.year("year", self.year)?,
            total_trade: checker.money("totalTrade", &self.total_trade)?,
            total_trade_usd: self
                .total_trade_usd
                .as_ref()
                .map(|m| checker.money("totalTradeUsd", m))
                .transpose()?,
            growth_percent: self.growth_percent,
            indicators: checker.indicators(&self.indicators)?,
            source: checker.source("source", &self.source)?,
            meta: seeded(),
        })
    }
}

impl ProvinceFile {
    /// The record's code as written, for error messages.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<Province> {
        let years = self
            .years
            .iter()
            .enumerate()
            .map(|(index, year)| {
                let field = |name: &str| format!("years[{index}].{name}");
                Ok(ProvinceYear {
                    year: checker.year(&field("year"), year.year)?,
                    total_trade: year
                        .total_trade
                        .as_ref()
                        .map(|m| checker.money(&field("totalTrade"), m))
                        .transpose()?,
                    growth_percent: year.growth_percent,
                    national_rank: year.national_rank,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Province {
            code: checker.province("code", &self.code)?,
            name: checker.text("name", &self.name)?,
            name_zh: checker.text("nameZh", &self.name_zh)?,
            years,
            indicators: checker.indicators(&self.indicators)?,
            meta: seeded(),
        })
    }
}

impl PartnerFile {
    /// The record's code as written, for error messages.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<TradePartner> {
        Ok(TradePartner {
            code: checker.partner("code", &self.code)?,
            name: checker.text("name", &self.name)?,
            kind: self.kind,
            region: self.region.clone(),
            members: checker.all("members", &self.members, Checker::partner)?,
            meta: seeded(),
        })
    }
}

impl HubFile {
    /// The record's code as written, for error messages.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<Hub> {
        Ok(Hub {
            code: checker.hub("code", &self.code)?,
            name: checker.text("name", &self.name)?,
            kind: self.kind,
            city: self.city.clone(),
            province: checker.optional("province", self.province.as_ref(), Checker::province)?,
            country: checker.optional("country", self.country.as_ref(), Checker::partner)?,
            note: self.note.clone(),
            source: Some(checker.source("source", &self.source)?),
            meta: seeded(),
        })
    }
}

impl CompanyFile {
    /// The record's code as written, for error messages.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<Company> {
        Ok(Company {
            code: checker.company("code", &self.code)?,
            name: checker.text("name", &self.name)?,
            province: checker.optional("province", self.province.as_ref(), Checker::province)?,
            note: self.note.clone(),
            source: Some(checker.source("source", &self.source)?),
            meta: seeded(),
        })
    }
}

impl RouteFile {
    /// The record's code as written, for error messages.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<FreightRoute> {
        Ok(FreightRoute {
            code: checker.route("code", &self.code)?,
            name: checker.text("name", &self.name)?,
            mode: self.mode,
            origin: checker.optional("origin", self.origin.as_ref(), Checker::hub)?,
            destination: checker.optional(
                "destination",
                self.destination.as_ref(),
                Checker::hub,
            )?,
            via: checker.all("via", &self.via, Checker::hub)?,
            typical_transit_days: self.typical_transit_days,
            provinces: checker.all("provinces", &self.provinces, Checker::province)?,
            partners: checker.all("partners", &self.partners, Checker::partner)?,
            note: self.note.clone(),
            source: Some(checker.source("source", &self.source)?),
            meta: seeded(),
        })
    }
}

impl ShipmentFile {
    /// The shipment's reference as written, for error messages.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<Shipment> {
        if let (Some(departed), Some(arrived)) = (self.departed_on, self.arrived_on) {
            if arrived < departed {
                return Err(checker.fail(
                    "arrivedOn",
                    format!("must not be before departedOn ({departed}), got {arrived}"),
                ));
            }
        }
        Ok(Shipment {
            id: ShipmentId(0),
            reference: checker.text("reference", &self.reference)?,
            shipper: checker.optional("shipper", self.shipper.as_ref(), Checker::company)?,
            cargo: checker.text("cargo", &self.cargo)?,
            quantity: self
                .quantity
                .as_ref()
                .map(|q| checker.quantity("quantity", q))
                .transpose()?,
            mode: self.mode,
            carrier_name: self.carrier_name.clone(),
            origin_province: checker.optional(
                "originProvince",
                self.origin_province.as_ref(),
                Checker::province,
            )?,
            origin: checker.optional("origin", self.origin.as_ref(), Checker::hub)?,
            destination_partner: checker.optional(
                "destinationPartner",
                self.destination_partner.as_ref(),
                Checker::partner,
            )?,
            destination: checker.optional(
                "destination",
                self.destination.as_ref(),
                Checker::hub,
            )?,
            route: checker.optional("route", self.route.as_ref(), Checker::route)?,
            departed_on: self.departed_on,
            arrived_on: self.arrived_on,
            transit_days: self.transit_days,
            note: self.note.clone(),
            source: Some(checker.source("source", &self.source)?),
            meta: RecordMeta::new(Origin::Seed),
        })
    }
}

impl TradeFlowFile {
    /// The flow's key as written, for error messages.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.province, self.partner, self.year)
    }

    /// Checks the record and converts it to its domain value.
    pub fn check(&self, checker: &Checker) -> Result<TradeFlow> {
        Ok(TradeFlow {
            province: checker.province("province", &self.province)?,
            partner: checker.partner("partner", &self.partner)?,
            year: checker.year("year", self.year)?,
            value: self
                .value
                .as_ref()
                .map(|m| checker.money("value", m))
                .transpose()?,
            growth_percent: self.growth_percent,
            note: self.note.clone(),
            source: Some(checker.source("source", &self.source)?),
            meta: seeded(),
        })
    }
}
