//! The stored encoding of records: what a record's bytes on disk are,
//! versioned and kept apart from the domain structs, so that the model can
//! grow without turning old data into "corrupt database".
//!
//! The stored bytes of a record are one version byte, then bincode 2
//! (`bincode::config::standard()`, over serde) of that version's struct:
//! `ShipmentV1` for version 1 of a shipment, and so on. The version structs
//! live in `format::v1` (one file per version) and belong to this module
//! only: nothing outside the store sees them, and the domain structs derive
//! serde for other reasons (seed files, tests), not for the disk. Codes are
//! stored as text and parsed back with the domain's `parse` constructors;
//! amounts and dates are stored as the text `rust_decimal` and `chrono`
//! write, so that neither crate's serde features decide the format. A stored
//! value that does not convert back is [`Error::Corrupt`] naming the record
//! and the field.
//!
//! [`Stored`] is the one way in: `encode` writes the newest version of a
//! kind, `decode` reads every version this build knows, and
//! `decode_format1` reads a record as database format 1 stored it, with no
//! version byte, for the upgrade. Format 1 wrote bincode of the domain
//! structs themselves; every `XV1` has exactly their fields, in their order
//! and with their encodings, so that those bytes are the body of a version 1
//! record (a test proves it on every seed record).
//!
//! What this module does not do: choose keys, index records, or know
//! which tree a record lives in. That is the store's layout (`keys`,
//! `backend::Space`).
//!
//! # Adding a field later
//!
//! Say `domain::Shipment` gains `insured: bool`:
//!
//! 1. Add `format/v2.rs` with `ShipmentV2`: `ShipmentV1`'s fields and the
//!    new one, with `From<&domain::Shipment>` and `TryFrom<ShipmentV2>`.
//!    Only the kinds whose shape changes get a new struct; the others stay
//!    at their version.
//! 2. Raise that kind's entry in [`LATEST`] (`shipment: 2`) and make
//!    `encode` write `ShipmentV2`.
//! 3. Keep `ShipmentV1`, its fixture and its arm in `decode`: version 1
//!    bytes still decode, to the domain value with the new field at its
//!    default (`TryFrom<ShipmentV1>` sets `insured: false`). Change nothing
//!    else in `v1.rs`: its bytes are on disks already.
//! 4. Write the new golden fixture (below). The old `shipment.v1.hex` stays
//!    as it is and becomes decode-only: list it in
//!    `golden_fixtures_decode_to_the_samples` with the value it decodes to
//!    now.
//!
//! A new variant of a stored enum (`TransportMode`, `HubKind`, ...) is
//! added at the end of its `V1` enum: bincode stores the variant's index,
//! so the order of the variants is the format.
//!
//! # Golden fixtures
//!
//! `tests/fixtures/records/<kind>.v<version>.hex` hold the stored bytes of a
//! fixed, fully populated sample of each kind (`format::tests::samples`), in
//! hex, 32 bytes a line. The tests compare each sample's encoding with its
//! fixture and decode every fixture back to its sample; a mismatch means
//! the stored encoding changed. To write the fixtures of the newest
//! versions on purpose (a new version, a new kind), run
//!
//! ```text
//! TRADEGRAPH_WRITE_GOLDEN=1 cargo test --lib store::format
//! ```
//!
//! and commit the files. Never rewrite a fixture of a version that has been
//! released: databases hold those bytes.

mod v1;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use self::v1::{
    CompanyV1, FreightRouteV1, HubV1, NationalSummaryV1, ProvinceV1, ShipmentV1, TradeFlowV1,
    TradePartnerV1,
};
use crate::domain::{
    Company, FreightRoute, Hub, NationalSummary, Province, Shipment, TradeFlow, TradePartner,
};
use crate::error::{Error, Result};

/// A record with a stored encoding of its own.
pub trait Stored: Sized {
    /// What the record is called in errors ("shipment").
    const KIND: &'static str;
    /// The record's bytes, in the latest version.
    fn encode(&self) -> Result<Vec<u8>>;
    /// A record of any version this build reads.
    fn decode(bytes: &[u8]) -> Result<Self>;
    /// A record as format 1 stored it (no version byte): for the upgrade.
    fn decode_format1(bytes: &[u8]) -> Result<Self>;
}

/// The newest record version of each kind: the version `encode` writes and
/// the highest `decode` reads. Each kind has its own, raised only when its
/// stored shape changes.
pub(in crate::store) const LATEST: Latest = Latest {
    national_summary: 1,
    province: 1,
    trade_partner: 1,
    hub: 1,
    company: 1,
    freight_route: 1,
    trade_flow: 1,
    shipment: 1,
};

/// The newest record version, by kind (see [`LATEST`]).
pub(in crate::store) struct Latest {
    pub(in crate::store) national_summary: u8,
    pub(in crate::store) province: u8,
    pub(in crate::store) trade_partner: u8,
    pub(in crate::store) hub: u8,
    pub(in crate::store) company: u8,
    pub(in crate::store) freight_route: u8,
    pub(in crate::store) trade_flow: u8,
    pub(in crate::store) shipment: u8,
}

// The eight records. Each impl is written out
// rather than made by a macro: when one kind gets a version 2, its impl is
// the one that changes, and it should read like the others.

impl Stored for NationalSummary {
    const KIND: &'static str = "national summary";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(
            Self::KIND,
            LATEST.national_summary,
            &NationalSummaryV1::from(self),
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.national_summary)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<NationalSummaryV1, _>(Self::KIND, bytes)
    }
}

impl Stored for Province {
    const KIND: &'static str = "province";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(Self::KIND, LATEST.province, &ProvinceV1::from(self))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.province)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<ProvinceV1, _>(Self::KIND, bytes)
    }
}

impl Stored for TradePartner {
    const KIND: &'static str = "trade partner";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(
            Self::KIND,
            LATEST.trade_partner,
            &TradePartnerV1::from(self),
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.trade_partner)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<TradePartnerV1, _>(Self::KIND, bytes)
    }
}

impl Stored for Hub {
    const KIND: &'static str = "hub";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(Self::KIND, LATEST.hub, &HubV1::from(self))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.hub)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<HubV1, _>(Self::KIND, bytes)
    }
}

impl Stored for Company {
    const KIND: &'static str = "company";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(Self::KIND, LATEST.company, &CompanyV1::from(self))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.company)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<CompanyV1, _>(Self::KIND, bytes)
    }
}

impl Stored for FreightRoute {
    const KIND: &'static str = "freight route";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(
            Self::KIND,
            LATEST.freight_route,
            &FreightRouteV1::from(self),
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.freight_route)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<FreightRouteV1, _>(Self::KIND, bytes)
    }
}

impl Stored for TradeFlow {
    const KIND: &'static str = "trade flow";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(Self::KIND, LATEST.trade_flow, &TradeFlowV1::from(self))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.trade_flow)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<TradeFlowV1, _>(Self::KIND, bytes)
    }
}

impl Stored for Shipment {
    const KIND: &'static str = "shipment";

    fn encode(&self) -> Result<Vec<u8>> {
        encode_version(Self::KIND, LATEST.shipment, &ShipmentV1::from(self))
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        match split_version(Self::KIND, bytes)? {
            (1, body) => Self::decode_format1(body),
            (found, _) => Err(unknown_version(Self::KIND, found, LATEST.shipment)),
        }
    }

    fn decode_format1(bytes: &[u8]) -> Result<Self> {
        decode_body::<ShipmentV1, _>(Self::KIND, bytes)
    }
}

/// A stored field whose value does not convert back to the domain's type:
/// where it is in the record (`indicators[2].provinces[0]`) and what is
/// wrong with it.
#[derive(Debug)]
pub(in crate::store) struct Invalid {
    field: String,
    message: String,
}

impl Invalid {
    /// `field` holds a value the domain refuses, for the reason `error` gives.
    fn new(field: &str, error: impl fmt::Display) -> Self {
        Self {
            field: field.to_owned(),
            message: error.to_string(),
        }
    }

    /// The same fault, seen from the struct that holds the field in `parent`.
    fn within(self, parent: &str) -> Self {
        Self {
            field: format!("{parent}.{}", self.field),
            ..self
        }
    }

    /// The fault as the error of a stored `kind` record.
    fn into_corrupt(self, kind: &str) -> Error {
        Error::Corrupt(format!(
            "{kind} has an invalid {}: {}",
            self.field, self.message
        ))
    }
}

/// The bincode configuration of every version.
fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The stored bytes of `body` as record version `version`.
fn encode_version<V: Serialize>(kind: &str, version: u8, body: &V) -> Result<Vec<u8>> {
    let mut bytes = vec![version];
    bincode::serde::encode_into_std_write(body, &mut bytes, config())
        .map_err(|error| Error::Corrupt(format!("{kind} does not encode: {error}")))?;
    Ok(bytes)
}

/// Splits stored bytes into their record version and the body.
///
/// An empty value fails as bincode fails on a value too short for its first
/// byte, so that an empty value reads the same as it did in format 1, where
/// the first byte was the body's: `"{kind} does not decode: UnexpectedEnd
/// { additional: 1 }"`.
fn split_version<'a>(kind: &str, bytes: &'a [u8]) -> Result<(u8, &'a [u8])> {
    match bytes.split_first() {
        Some((&version, body)) => Ok((version, body)),
        None => Err(does_not_decode(
            kind,
            bincode::error::DecodeError::UnexpectedEnd { additional: 1 },
        )),
    }
}

/// The error of a record of a version this build does not read, e.g. one
/// written by a newer build.
fn unknown_version(kind: &str, found: u8, latest: u8) -> Error {
    Error::Corrupt(format!(
        "{kind} has record version {found}; this build reads versions up to {latest}"
    ))
}

/// Decodes the body of one version of a record (struct `V`) and converts it
/// to the domain's `R`. Trailing bytes are an error: a body that does not
/// fill its value is not the record it seems to be.
fn decode_body<V, R>(kind: &str, body: &[u8]) -> Result<R>
where
    V: DeserializeOwned + TryInto<R, Error = Invalid>,
{
    let (stored, read) = bincode::serde::decode_from_slice::<V, _>(body, config())
        .map_err(|error| does_not_decode(kind, error))?;
    if read != body.len() {
        return Err(Error::Corrupt(format!(
            "{kind} has {} trailing bytes",
            body.len() - read
        )));
    }
    stored
        .try_into()
        .map_err(|invalid| invalid.into_corrupt(kind))
}

/// The error of a body bincode does not decode; the message is format 1's.
fn does_not_decode(kind: &str, error: bincode::error::DecodeError) -> Error {
    Error::Corrupt(format!("{kind} does not decode: {error}"))
}
