//! The model of the trade graph: records, figures, codes and list requests.
//!
//! Pure values and rules. Nothing here does I/O or knows sled, bincode,
//! async-graphql or actix-web.

mod codes;
mod entities;
mod figures;
mod listing;
mod search;

pub use codes::{
    parse_reference, CompanyCode, HubCode, PartnerCode, ProvinceCode, RouteCode, ShipmentId,
    TradeFlowKey,
};
pub use entities::{
    Company, FreightRoute, Hub, HubKind, Indicator, NationalSummary, Origin, PartnerKind, Province,
    ProvinceYear, Record, RecordMeta, Shipment, ShipmentEvent, ShipmentEventKind, TradeFlow,
    TradePartner, TransportMode, REPORT_YEAR,
};
pub use figures::{Currency, Money, Percent, Qualifier, Quantity, Source};
pub use listing::{
    Direction, Limit, Page, PageRequest, Position, ProvinceOrderField, ShipmentFilter,
    ShipmentOrder, ShipmentOrderField, Stop, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
pub use search::{rank, MatchRank};
