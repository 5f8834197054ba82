//! Key encodings that sort: big-endian integers, sign-flipped where negative
//! values are possible, and `0`-terminated text parts, so that a prefix scan
//! comes out in order.

use std::ops::Bound;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::domain::ShipmentId;
use crate::error::{Error, Result};

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
