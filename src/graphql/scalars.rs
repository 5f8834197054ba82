//! The scalars tradegraph defines itself, so they carry its names:
//! `Decimal` (exact, as a string) and `Date` (ISO 8601 calendar date).

use std::str::FromStr;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// An exact decimal number as a JSON string in canonical form: no exponent
/// and no trailing zeros, e.g. "9490000000000" or "16.5".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decimal(pub rust_decimal::Decimal);

/// An exact decimal number as a JSON string in canonical form: no exponent
/// and no trailing zeros, e.g. "9490000000000" or "16.5".
#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => rust_decimal::Decimal::from_str(text)
                .map(|number| Decimal(number.normalize()))
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "Decimal must be a plain decimal number such as \"16.5\", got {text:?}"
                    ))
                }),
            Value::Number(number) => rust_decimal::Decimal::from_str(&number.to_string())
                .map(|number| Decimal(number.normalize()))
                .map_err(|_| InputValueError::custom(format!("Decimal out of range: {number}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Refusing a malformed number during validation makes the error name
    /// the argument.
    fn is_valid(value: &Value) -> bool {
        <Self as ScalarType>::parse(value.clone()).is_ok()
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.normalize().to_string())
    }
}

/// A calendar date in ISO 8601 form, e.g. "2025-03-14".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar date in ISO 8601 form, e.g. "2025-03-14".
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    InputValueError::custom(format!(
                        "Date must be a calendar date as YYYY-MM-DD, got {text:?}"
                    ))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    /// Refusing a malformed date during validation makes the error name the
    /// argument ("filter.departedFrom").
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}
