//! Stated figures: amounts of money and quantities with the qualifier the
//! text gives them ("about", "over"), whether they are forecasts, and the
//! sentence they come from. Also how a figure reads back as text.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a figure relates to the true value, as the text words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Qualifier {
    /// Stated as the value ("recorded 9.49 trillion yuan").
    Exact,
    /// Stated as an approximation ("about $6.59 trillion").
    About,
    /// Stated as a lower bound ("over 5,800", "exceeded 900 billion").
    MoreThan,
}

impl Qualifier {
    /// The word that precedes the number when the figure is read out.
    fn prefix(self) -> &'static str {
        match self {
            Qualifier::Exact => "",
            Qualifier::About => "about ",
            Qualifier::MoreThan => "over ",
        }
    }
}

/// A currency an amount is stated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    /// Chinese yuan (renminbi).
    Cny,
    /// United States dollars.
    Usd,
}

impl Currency {
    /// The unit as the text spells it.
    fn unit(self) -> &'static str {
        match self {
            Currency::Cny => "yuan",
            Currency::Usd => "US dollars",
        }
    }
}

/// Where a figure comes from: the document and the verbatim sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The document's headline.
    pub title: String,
    /// Who published it.
    pub publisher: String,
    /// The day it was published.
    pub published_on: NaiveDate,
    /// The sentence the figure comes from, verbatim.
    pub quote: String,
}

/// An amount of money as stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// The amount in whole units of the currency.
    pub amount: Decimal,
    /// The currency.
    pub currency: Currency,
    /// How the text qualifies the amount.
    pub qualifier: Qualifier,
    /// Whether the text gives it as an expectation rather than a result.
    pub forecast: bool,
    /// Where the amount is stated.
    pub source: Option<Source>,
}

impl Money {
    /// The amount as the text would read it: "about 6.59 trillion US dollars".
    pub fn display(&self) -> String {
        read_out(
            self.qualifier,
            self.forecast,
            self.amount,
            self.currency.unit(),
        )
    }
}

/// A counted or measured quantity as stated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// The number.
    pub value: Decimal,
    /// What is counted, plural: "new energy vehicles", "standard containers".
    pub unit: String,
    /// How the text qualifies the number.
    pub qualifier: Qualifier,
    /// Whether the text gives it as an expectation rather than a result.
    pub forecast: bool,
    /// Where the quantity is stated, when it is not the enclosing record's source.
    pub source: Option<Source>,
}

impl Quantity {
    /// The quantity as the text would read it: "over 5,800 new energy vehicles".
    pub fn display(&self) -> String {
        read_out(self.qualifier, self.forecast, self.value, &self.unit)
    }
}

/// A percentage as stated, with its qualifier ("over 70 percent").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percent {
    /// The percentage, e.g. `16.5` for 16.5 percent.
    pub value: f64,
    /// How the text qualifies it.
    pub qualifier: Qualifier,
}

impl Percent {
    /// The percentage as the text would read it: "over 70 percent".
    pub fn display(&self) -> String {
        format!("{}{} percent", self.qualifier.prefix(), self.value)
    }
}

/// Reads a figure out: qualifier word, number, unit, and a forecast marker.
fn read_out(qualifier: Qualifier, forecast: bool, number: Decimal, unit: &str) -> String {
    let marker = if forecast { " (forecast)" } else { "" };
    format!(
        "{}{} {unit}{marker}",
        qualifier.prefix(),
        format_number(number)
    )
}

/// Formats a number as a news text does: in trillions or billions with up to
/// two decimals from a billion up, with thousands separators below.
fn format_number(number: Decimal) -> String {
    let trillion = Decimal::from(1_000_000_000_000_i64);
    let billion = Decimal::from(1_000_000_000_i64);
    let magnitude = number.abs();
    if magnitude >= trillion {
        format!("{} trillion", (number / trillion).round_dp(2).normalize())
    } else if magnitude >= billion {
        format!("{} billion", (number / billion).round_dp(2).normalize())
    } else {
        group_thousands(number.normalize())
    }
}

/// Inserts a comma between each group of three integer digits.
fn group_thousands(number: Decimal) -> String {
    let text = number.to_string();
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let mut grouped = String::with_capacity(integer.len() + integer.len() / 3);
    for (index, digit) in integer.chars().enumerate() {
        if index > 0 && (integer.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn money(amount: &str, currency: Currency, qualifier: Qualifier) -> Money {
        Money {
            amount: Decimal::from_str(amount).unwrap(),
            currency,
            qualifier,
            forecast: false,
            source: None,
        }
    }

    #[test]
    fn money_reads_as_the_text_does() {
        let cases = [
            (
                "9490000000000",
                Currency::Cny,
                Qualifier::Exact,
                "9.49 trillion yuan",
            ),
            (
                "6590000000000",
                Currency::Usd,
                Qualifier::About,
                "about 6.59 trillion US dollars",
            ),
            (
                "869070000000",
                Currency::Cny,
                Qualifier::Exact,
                "869.07 billion yuan",
            ),
            (
                "900000000000",
                Currency::Cny,
                Qualifier::MoreThan,
                "over 900 billion yuan",
            ),
            (
                "1000000000000",
                Currency::Cny,
                Qualifier::Exact,
                "1 trillion yuan",
            ),
            (
                "1234567.5",
                Currency::Cny,
                Qualifier::Exact,
                "1,234,567.5 yuan",
            ),
        ];
        for (amount, currency, qualifier, expected) in cases {
            assert_eq!(money(amount, currency, qualifier).display(), expected);
        }
    }

    #[test]
    fn quantities_and_percentages_read_as_the_text_does() {
        let quantity = Quantity {
            value: Decimal::from(5800),
            unit: "new energy vehicles".into(),
            qualifier: Qualifier::MoreThan,
            forecast: false,
            source: None,
        };
        assert_eq!(quantity.display(), "over 5,800 new energy vehicles");
        let forecast = Money {
            forecast: true,
            ..money("320000000000", Currency::Cny, Qualifier::MoreThan)
        };
        assert_eq!(forecast.display(), "over 320 billion yuan (forecast)");
        let percent = Percent {
            value: 70.0,
            qualifier: Qualifier::MoreThan,
        };
        assert_eq!(percent.display(), "over 70 percent");
        assert_eq!(group_thousands(Decimal::from(-1000)), "-1,000");
        assert_eq!(group_thousands(Decimal::from(999)), "999");
    }
}
