//! The records of the trade graph. Plain values with public fields: they carry
//! no invariant beyond the validated codes they are built from.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{CompanyCode, HubCode, PartnerCode, ProvinceCode, RouteCode, ShipmentId};
use super::figures::{Money, Percent, Quantity, Source};

/// Where a record came from, which decides what a seed refresh may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// Written from the seed files and not changed since.
    Seed,
    /// Generated for load tests; never a stated fact.
    Synthetic,
    /// Created or changed through the API; a seed refresh leaves it alone.
    Api,
}

/// Bookkeeping every stored record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// Raised by every change; starts at 1.
    pub version: u32,
    /// Where the record came from.
    pub origin: Origin,
}

impl RecordMeta {
    /// The bookkeeping of a record written for the first time.
    pub fn new(origin: Origin) -> Self {
        Self { version: 1, origin }
    }
}

/// A stored record: it carries [`RecordMeta`].
pub trait Record: Sized {
    /// The record's bookkeeping.
    fn meta(&self) -> RecordMeta;

    /// The same record with other bookkeeping.
    fn with_meta(self, meta: RecordMeta) -> Self;
}

macro_rules! record {
    ($($name:ident),+) => {$(
        impl Record for $name {
            fn meta(&self) -> RecordMeta {
                self.meta
            }

            fn with_meta(self, meta: RecordMeta) -> Self {
                Self { meta, ..self }
            }
        }
    )+};
}

record!(
    NationalSummary,
    Province,
    TradePartner,
    Hub,
    Company,
    Shipment,
    FreightRoute,
    TradeFlow
);

/// The year the seed data describes, and the default of every `year` argument.
pub const REPORT_YEAR: i32 = 2025;

/// The national totals for one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NationalSummary {
    /// The calendar year.
    pub year: i32,
    /// Total goods imports and exports in yuan.
    pub total_trade: Money,
    /// The same total in US dollars, as the text converts it.
    pub total_trade_usd: Option<Money>,
    /// Year-on-year growth in percent.
    pub growth_percent: Option<f64>,
    /// Further national figures, e.g. the seven leading regions' total.
    pub indicators: Vec<Indicator>,
    /// Where the totals are stated.
    pub source: Source,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

/// A named figure about a province or the country: a key, a label and one of
/// an amount, a quantity, a share or a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// A stable machine name, e.g. `high_tech_exports`.
    pub key: String,
    /// A human label, e.g. "High-tech product exports".
    pub label: String,
    /// The calendar year the figure is for, when stated.
    pub year: Option<i32>,
    /// An amount of money.
    pub money: Option<Money>,
    /// A counted quantity.
    pub quantity: Option<Quantity>,
    /// A share in percent ("over 70 percent of exports").
    pub percent: Option<Percent>,
    /// A change in percent ("a 35 percent increase").
    pub change_percent: Option<f64>,
    /// The provinces the figure covers, when it covers several.
    pub provinces: Vec<ProvinceCode>,
    /// The hub the figure is about, when there is one.
    pub hub: Option<HubCode>,
    /// What else the sentence says about the figure.
    pub note: Option<String>,
    /// Where the figure is stated.
    pub source: Source,
}

/// A province's figures for one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvinceYear {
    /// The calendar year.
    pub year: i32,
    /// Total foreign trade, when stated.
    pub total_trade: Option<Money>,
    /// Year-on-year growth in percent, when stated.
    pub growth_percent: Option<f64>,
    /// Rank among provinces by total trade, when stated.
    pub national_rank: Option<u32>,
}

/// A mainland provincial-level division.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Province {
    /// The ISO 3166-2 code.
    pub code: ProvinceCode,
    /// The English name.
    pub name: String,
    /// The Chinese name.
    pub name_zh: String,
    /// Figures by year; only years the text covers.
    pub years: Vec<ProvinceYear>,
    /// Other stated figures.
    pub indicators: Vec<Indicator>,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

impl Province {
    /// The province's figures for `year`, when any are stated.
    pub fn year(&self, year: i32) -> Option<&ProvinceYear> {
        self.years.iter().find(|figures| figures.year == year)
    }
}

/// What kind of trade partner a partner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradePartner {
    /// The partner's code.
    pub code: PartnerCode,
    /// The English name.
    pub name: String,
    /// What kind of partner it is.
    pub kind: PartnerKind,
    /// The world region it lies in, when that is a useful label.
    pub region: Option<String>,
    /// Partners that belong to this one (a bloc's members).
    pub members: Vec<PartnerCode>,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

/// What kind of place a hub is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hub {
    /// The hub's code.
    pub code: HubCode,
    /// The name as the text gives it.
    pub name: String,
    /// What kind of place it is.
    pub kind: HubKind,
    /// The city it is in, when it is in one.
    pub city: Option<String>,
    /// The Chinese province it is in; none abroad or where it spans several.
    pub province: Option<ProvinceCode>,
    /// The partner country it is in, for hubs abroad.
    pub country: Option<PartnerCode>,
    /// What else the text says about it.
    pub note: Option<String>,
    /// Where the hub is named.
    pub source: Option<Source>,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

/// A company that ships goods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// The company's code.
    pub code: CompanyCode,
    /// The name.
    pub name: String,
    /// The province it is based in, when stated.
    pub province: Option<ProvinceCode>,
    /// What the text says about it.
    pub note: Option<String>,
    /// Where the company is named.
    pub source: Option<Source>,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

/// How goods travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TransportMode {
    /// By ship.
    Sea,
    /// By train.
    Rail,
    /// By truck.
    Road,
    /// By aircraft.
    Air,
}

/// A consignment of goods moving from China to a partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// The store's id.
    pub id: ShipmentId,
    /// A human reference, unique, e.g. `BYD-CHANGZHOU-ZARATE`.
    pub reference: String,
    /// The company that ships the goods, when stated.
    pub shipper: Option<CompanyCode>,
    /// What is shipped.
    pub cargo: String,
    /// How much is shipped, when stated.
    pub quantity: Option<Quantity>,
    /// How it travels, when stated.
    pub mode: Option<TransportMode>,
    /// The ship or train's name, when stated (a name, not a place).
    pub carrier_name: Option<String>,
    /// The Chinese province it leaves from, when stated.
    pub origin_province: Option<ProvinceCode>,
    /// The hub it leaves from, when stated.
    pub origin: Option<HubCode>,
    /// The partner it is bound for, when stated.
    pub destination_partner: Option<PartnerCode>,
    /// The hub it reaches, when stated.
    pub destination: Option<HubCode>,
    /// The named freight route it travels, when the text names one.
    pub route: Option<RouteCode>,
    /// The day it left, when stated.
    pub departed_on: Option<NaiveDate>,
    /// The day it arrived, when stated.
    pub arrived_on: Option<NaiveDate>,
    /// How many days the journey took, when stated.
    pub transit_days: Option<u32>,
    /// What else the text says about it.
    pub note: Option<String>,
    /// Where the shipment is reported.
    pub source: Option<Source>,
    /// Bookkeeping; `origin` tells synthetic shipments apart.
    pub meta: RecordMeta,
}

impl Shipment {
    /// Whether the shipment was generated for load tests.
    pub fn is_synthetic(&self) -> bool {
        self.meta.origin == super::Origin::Synthetic
    }

    /// Checks the rules every stored shipment keeps, naming the input field
    /// at fault: a reference of code form, a cargo, a positive quantity with
    /// a unit, an arrival not before the departure, at most 365 transit days.
    pub fn check(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        const MAX_TEXT: usize = 500;
        if !self.reference.is_empty()
            && super::codes::parse_reference(&self.reference)? != self.reference
        {
            return Err(Error::bad_input(format!(
                "reference must be upper case, got {:?}",
                self.reference
            )));
        }
        if self.cargo.trim().is_empty() || self.cargo.len() > MAX_TEXT {
            return Err(Error::bad_input(format!(
                "cargo must be 1 to {MAX_TEXT} characters"
            )));
        }
        if let Some(quantity) = &self.quantity {
            if quantity.value <= rust_decimal::Decimal::ZERO {
                return Err(Error::bad_input(format!(
                    "quantity.value must be greater than 0, got {}",
                    quantity.value
                )));
            }
            if quantity.unit.trim().is_empty() || quantity.unit.len() > MAX_TEXT {
                return Err(Error::bad_input(format!(
                    "quantity.unit must be 1 to {MAX_TEXT} characters"
                )));
            }
        }
        if let (Some(departed), Some(arrived)) = (self.departed_on, self.arrived_on) {
            if arrived < departed {
                return Err(Error::bad_input(format!(
                    "arrivedOn ({arrived}) must not be before departedOn ({departed})"
                )));
            }
        }
        if let Some(days) = self.transit_days {
            if days > 365 {
                return Err(Error::bad_input(format!(
                    "transitDays must be between 0 and 365, got {days}"
                )));
            }
        }
        for (field, text) in [("carrierName", &self.carrier_name), ("note", &self.note)] {
            if text
                .as_ref()
                .is_some_and(|text| text.trim().is_empty() || text.len() > MAX_TEXT)
            {
                return Err(Error::bad_input(format!(
                    "{field} must be 1 to {MAX_TEXT} characters when given"
                )));
            }
        }
        Ok(())
    }

    /// The hubs the shipment leaves from or reaches, without repeats.
    pub fn hubs(&self) -> Vec<&HubCode> {
        let mut hubs: Vec<&HubCode> = self.origin.iter().chain(&self.destination).collect();
        hubs.dedup();
        hubs
    }
}

/// A named, regular freight service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreightRoute {
    /// The route's code.
    pub code: RouteCode,
    /// The name as the text gives it.
    pub name: String,
    /// How goods travel on it.
    pub mode: TransportMode,
    /// Where it starts, when stated.
    pub origin: Option<HubCode>,
    /// Where it ends, when stated.
    pub destination: Option<HubCode>,
    /// Hubs it passes through, in order.
    pub via: Vec<HubCode>,
    /// How many days a journey usually takes, when stated.
    pub typical_transit_days: Option<u32>,
    /// The Chinese provinces it serves.
    pub provinces: Vec<ProvinceCode>,
    /// The partners it reaches.
    pub partners: Vec<PartnerCode>,
    /// What else the text says about it.
    pub note: Option<String>,
    /// Where the route is named.
    pub source: Option<Source>,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

/// One province's trade with one partner in one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeFlow {
    /// The Chinese side.
    pub province: ProvinceCode,
    /// The foreign side.
    pub partner: PartnerCode,
    /// The calendar year.
    pub year: i32,
    /// The value of the trade, when stated.
    pub value: Option<Money>,
    /// Year-on-year growth in percent, when stated.
    pub growth_percent: Option<f64>,
    /// What else the text says, e.g. "largest trading partner".
    pub note: Option<String>,
    /// Where the flow is stated; none for flows recorded through the API.
    pub source: Option<Source>,
    /// Bookkeeping.
    pub meta: RecordMeta,
}

/// What happened to a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipmentEventKind {
    /// It was created.
    Created,
    /// It was changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// A committed change to a shipment, as subscribers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentEvent {
    /// What happened.
    pub kind: ShipmentEventKind,
    /// The shipment after the change (before it, for a deletion).
    pub shipment: Shipment,
    /// One more than the event before it in the database: counted in the
    /// commit of the change, so it survives restarts and is the same for
    /// every server sharing the store.
    pub sequence: u64,
}
