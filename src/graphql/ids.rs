//! The wire forms of identities: global object ids (`id: ID!`, base64 of
//! `Type:key`) and cursors (base64url of a store position).

use async_graphql::ID;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::domain::{
    CompanyCode, HubCode, PartnerCode, Position, ProvinceCode, RouteCode, ShipmentId, TradeFlowKey,
};
use crate::error::{Error, Result};

/// What a global id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeId {
    /// A province.
    Province(ProvinceCode),
    /// A trade partner.
    TradePartner(PartnerCode),
    /// A hub.
    Hub(HubCode),
    /// A company.
    Company(CompanyCode),
    /// A shipment.
    Shipment(ShipmentId),
    /// A freight route.
    FreightRoute(RouteCode),
    /// A trade flow.
    TradeFlow(TradeFlowKey),
}

impl NodeId {
    /// The opaque id clients see.
    pub fn encode(&self) -> ID {
        let plain = match self {
            NodeId::Province(code) => format!("Province:{code}"),
            NodeId::TradePartner(code) => format!("TradePartner:{code}"),
            NodeId::Hub(code) => format!("Hub:{code}"),
            NodeId::Company(code) => format!("Company:{code}"),
            NodeId::Shipment(id) => format!("Shipment:{id}"),
            NodeId::FreightRoute(code) => format!("FreightRoute:{code}"),
            NodeId::TradeFlow(key) => {
                format!("TradeFlow:{}:{}:{}", key.province, key.partner, key.year)
            }
        };
        ID(STANDARD.encode(plain))
    }

    /// Reads an id a client sent. Anything that is not an id tradegraph
    /// could have made is [`Error::BadInput`].
    pub fn decode(id: &str) -> Result<Self> {
        let malformed = || {
            Error::bad_input(format!(
                "malformed id {id:?}: pass an id that tradegraph returned"
            ))
        };
        let bytes = STANDARD.decode(id).map_err(|_| malformed())?;
        let plain = String::from_utf8(bytes).map_err(|_| malformed())?;
        let (kind, key) = plain.split_once(':').ok_or_else(malformed)?;
        let node = match kind {
            "Province" => NodeId::Province(ProvinceCode::parse(key).map_err(|_| malformed())?),
            "TradePartner" => {
                NodeId::TradePartner(PartnerCode::parse(key).map_err(|_| malformed())?)
            }
            "Hub" => NodeId::Hub(HubCode::parse(key).map_err(|_| malformed())?),
            "Company" => NodeId::Company(CompanyCode::parse(key).map_err(|_| malformed())?),
            "Shipment" => NodeId::Shipment(ShipmentId(key.parse().map_err(|_| malformed())?)),
            "FreightRoute" => NodeId::FreightRoute(RouteCode::parse(key).map_err(|_| malformed())?),
            "TradeFlow" => {
                let mut parts = key.splitn(3, ':');
                let (Some(province), Some(partner), Some(year)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(malformed());
                };
                NodeId::TradeFlow(TradeFlowKey {
                    province: ProvinceCode::parse(province).map_err(|_| malformed())?,
                    partner: PartnerCode::parse(partner).map_err(|_| malformed())?,
                    year: year.parse().map_err(|_| malformed())?,
                })
            }
            _ => return Err(malformed()),
        };
        // Only the canonical spelling is an id; "Province:cn-gd" is not.
        if node.encode().0 == id {
            Ok(node)
        } else {
            Err(malformed())
        }
    }
}

/// The cursor clients see for a position.
pub fn encode_cursor(position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(&position.0)
}

/// Reads a cursor a client sent; whether it belongs to the list asked for is
/// the store's check.
pub fn decode_cursor(argument: &str, cursor: &str) -> Result<Position> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .filter(|bytes| !bytes.is_empty())
        .map(Position)
        .ok_or_else(|| {
            Error::bad_input(format!(
                "{argument} is not a cursor: pass a cursor that this field returned"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_only_canonical_ids_are_accepted() {
        let flow = NodeId::TradeFlow(TradeFlowKey {
            province: ProvinceCode::parse("CN-ZJ").unwrap(),
            partner: PartnerCode::parse("ASEAN").unwrap(),
            year: 2025,
        });
        for node in [
            NodeId::Province(ProvinceCode::parse("GD").unwrap()),
            NodeId::Shipment(ShipmentId(7)),
            flow,
        ] {
            assert_eq!(NodeId::decode(&node.encode()).unwrap(), node);
        }
        assert_eq!(
            NodeId::Province(ProvinceCode::parse("GD").unwrap())
                .encode()
                .0,
            "UHJvdmluY2U6Q04tR0Q="
        );
        let lower = STANDARD.encode("Province:cn-gd");
        for bad in [
            "",
            "!!",
            "UHJvdmluY2U=",
            lower.as_str(),
            &STANDARD.encode("Planet:X"),
        ] {
            assert!(NodeId::decode(bad).is_err(), "{bad:?} should be malformed");
        }
    }
}
