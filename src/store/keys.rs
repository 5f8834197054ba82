//! Key encodings that sort: big-endian integers, sign-flipped where negative
//! values are possible, and `0`-terminated text parts, so that a prefix scan
//! comes out in order.

use std::ops::Bound;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::domain::ShipmentId;
use crate::error::{Error, Result};

/// The first byte of every position (cursor) of each list, so that a
/// cursor of one list is refused by every other. One table, so that no two
/// lists can share a tag unnoticed (a test checks).
pub(super) mod tag {
    pub const PROVINCES_BY_NAME: u8 = 0x01;
    pub const PROVINCES_BY_TRADE_ASC: u8 = 0x02;
    pub const PROVINCES_BY_TRADE_DESC: u8 = 0x03;
    pub const PARTNERS: u8 = 0x04;
    pub const HUBS: u8 = 0x05;
    pub const COMPANIES: u8 = 0x06;
    pub const ROUTES: u8 = 0x07;
    pub const FLOWS_OF_PROVINCE: u8 = 0x08;
    pub const FLOWS_OF_PARTNER: u8 = 0x09;
    // Format 1's shipment lists had 0x10 to 0x17: their cursors name keys
    // of a layout that is gone, so they are refused.
    pub const SHIPMENTS: u8 = 0x20;
    pub const SHIPMENTS_BY_ORIGIN: u8 = 0x21;
    pub const SHIPMENTS_BY_PARTNER: u8 = 0x22;
    pub const SHIPMENTS_BY_ROUTE: u8 = 0x23;
    pub const SHIPMENTS_BY_SHIPPER: u8 = 0x24;
    pub const SHIPMENTS_BY_HUB: u8 = 0x25;
    pub const SHIPMENTS_BY_MODE: u8 = 0x26;
    pub const SHIPMENTS_BY_SYNTHETIC: u8 = 0x27;

    /// Every tag.
    #[cfg(test)]
    pub const ALL: [u8; 17] = [
        PROVINCES_BY_NAME,
        PROVINCES_BY_TRADE_ASC,
        PROVINCES_BY_TRADE_DESC,
        PARTNERS,
        HUBS,
        COMPANIES,
        ROUTES,
        FLOWS_OF_PROVINCE,
        FLOWS_OF_PARTNER,
        SHIPMENTS,
        SHIPMENTS_BY_ORIGIN,
        SHIPMENTS_BY_PARTNER,
        SHIPMENTS_BY_ROUTE,
        SHIPMENTS_BY_SHIPPER,
        SHIPMENTS_BY_HUB,
        SHIPMENTS_BY_MODE,
        SHIPMENTS_BY_SYNTHETIC,
    ];
}

/// Ends a text part of a composite key; codes never contain a zero byte.
pub(super) const TEXT_END: u8 = 0;

/// The fixed width of an id suffix.
pub(super) const ID_LEN: usize = 8;

/// A shipment id as a key: 8 bytes, big-endian.
pub(super) fn id_key(id: ShipmentId) -> [u8; ID_LEN] {
    id.0.to_be_bytes()
}

/// Reads the id suffix of an index key.
pub(super) fn id_from_suffix(key: &[u8]) -> Result<ShipmentId> {
    key.len()
        .checked_sub(ID_LEN)
        .and_then(|start| key[start..].try_into().ok())
        .map(|bytes| ShipmentId(u64::from_be_bytes(bytes)))
        .ok_or_else(|| Error::Corrupt(format!("index key of {} bytes has no id", key.len())))
}

/// A signed integer that sorts as bytes: the sign bit flipped, big-endian.
pub(super) fn i32_key(value: i32) -> [u8; 4] {
    ((value as u32) ^ 0x8000_0000).to_be_bytes()
}

/// Appends a text part and its terminator.
pub(super) fn push_text(key: &mut Vec<u8>, text: &str) {
    key.extend_from_slice(text.as_bytes());
    key.push(TEXT_END);
}

/// An optional date that sorts: absent before every date.
pub(super) fn date_key(date: Option<NaiveDate>) -> Vec<u8> {
    match date {
        None => vec![0],
        Some(date) => {
            let mut key = vec![1];
            key.extend_from_slice(&i32_key(date.num_days_from_ce()));
            key
        }
    }
}

/// An optional non-negative decimal that sorts: absent before every number,
/// then by value to four decimal places (negative values sort as zero, and
/// values too large to scale sort after every other).
pub(super) fn decimal_key(value: Option<Decimal>) -> Vec<u8> {
    match value {
        None => vec![0],
        Some(value) => {
            let scaled = value
                .checked_mul(Decimal::from(10_000))
                .map_or(u128::MAX, |scaled| scaled.trunc().to_u128().unwrap_or(0));
            let mut key = vec![1];
            key.extend_from_slice(&scaled.to_be_bytes());
            key
        }
    }
}

/// The exclusive upper bound of all keys that start with `prefix`.
pub(super) fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_like_their_values() {
        assert!(i32_key(-1) < i32_key(0));
        assert!(i32_key(2024) < i32_key(2025));
        let day = |d| NaiveDate::from_ymd_opt(2025, 1, d);
        assert!(date_key(None) < date_key(day(1)));
        assert!(date_key(day(1)) < date_key(day(2)));
        assert!(decimal_key(None) < decimal_key(Some(Decimal::ZERO)));
        assert!(decimal_key(Some(Decimal::new(15, 1))) < decimal_key(Some(Decimal::from(2))));
        assert!(decimal_key(Some(Decimal::from(5800))) < decimal_key(Some(Decimal::from(10_000))));
        assert!(decimal_key(Some(Decimal::from(10_000))) < decimal_key(Some(Decimal::MAX)));
    }

    #[test]
    fn every_list_has_its_own_cursor_tag() {
        let distinct: std::collections::HashSet<u8> = tag::ALL.into_iter().collect();
        assert_eq!(distinct.len(), tag::ALL.len());
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Bound::Excluded(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 255]), Bound::Excluded(vec![2]));
        assert_eq!(prefix_end(&[255]), Bound::Unbounded);
        assert_eq!(prefix_end(b""), Bound::Unbounded);
        assert_eq!(
            id_from_suffix(&[9, 0, 0, 0, 0, 0, 0, 0, 7]).unwrap(),
            ShipmentId(7)
        );
        assert!(id_from_suffix(&[1, 2]).is_err());
    }
}
