//! Codes and ids that name records: validated newtypes, so a string that
//! passed through a constructor is known to be well-formed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest code accepted anywhere, in bytes.
const MAX_CODE_LEN: usize = 48;

/// Checks the shape every code shares: upper-case ASCII letters and digits in
/// words joined by single hyphens. Returns the code upper-cased.
fn normalize_code(kind: &str, text: &str) -> Result<String> {
    let code = text.trim().to_ascii_uppercase();
    let well_formed = !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code
            .split('-')
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_alphanumeric()));
    if well_formed {
        Ok(code)
    } else {
        Err(Error::bad_input(format!(
            "{kind} code must be 1 to {MAX_CODE_LEN} letters and digits in words joined by hyphens, got {text:?}"
        )))
    }
}

/// Parses a shipment reference: a code, case-insensitively; the result is
/// upper-case.
pub fn parse_reference(text: &str) -> Result<String> {
    normalize_code("shipment reference", text)
}

macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a code case-insensitively; the result is upper-case.
            pub fn parse(text: &str) -> Result<Self> {
                normalize_code($kind, text).map(Self)
            }

            /// The code as text, e.g. for keys and display.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(text: String) -> Result<Self> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(code: $name) -> String {
                code.0
            }
        }
    };
}

code_type!(
    /// A trade partner's code: `AR`, `PL`, `ASEAN`, `EU`, `BRI`, ...
    PartnerCode,
    "trade partner"
);
code_type!(
    /// A hub's code, e.g. `PORT-ZARATE`.
    HubCode,
    "hub"
);
code_type!(
    /// A company's code: `BYD`, `ENVISION`, `TCL`.
    CompanyCode,
    "company"
);
code_type!(
    /// A freight route's code, e.g. `CER-GBA-MALASZEWICZE`.
    RouteCode,
    "freight route"
);

/// A province-level division's ISO 3166-2 code, always `CN-` and two letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProvinceCode(String);

impl ProvinceCode {
    /// Parses `CN-GD` or the bare subdivision part `GD`, case-insensitively.
    pub fn parse(text: &str) -> Result<Self> {
        let upper = text.trim().to_ascii_uppercase();
        let part = upper.strip_prefix("CN-").unwrap_or(&upper);
        if part.len() == 2 && part.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(format!("CN-{part}")))
        } else {
            Err(Error::bad_input(format!(
                "province code must be an ISO 3166-2 code such as \"CN-GD\" or \"GD\", got {text:?}"
            )))
        }
    }

    /// The code as text, e.g. `CN-GD`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ProvinceCode {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<ProvinceCode> for String {
    fn from(code: ProvinceCode) -> String {
        code.0
    }
}

/// A shipment's numeric id, assigned by the store in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShipmentId(pub u64);

impl fmt::Display for ShipmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The key of a trade flow: one province's trade with one partner in a year.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TradeFlowKey {
    /// The Chinese side of the flow.
    pub province: ProvinceCode,
    /// The foreign side of the flow.
    pub partner: PartnerCode,
    /// The calendar year the figures are for.
    pub year: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn province_codes_accept_both_spellings() {
        assert_eq!(ProvinceCode::parse("gd").unwrap().as_str(), "CN-GD");
        assert_eq!(ProvinceCode::parse(" CN-zj ").unwrap().as_str(), "CN-ZJ");
        assert!(ProvinceCode::parse("CN-G1").is_err());
        assert!(ProvinceCode::parse("guangdong").is_err());
    }

    #[test]
    fn codes_are_upper_case_words_joined_by_hyphens() {
        assert_eq!(
            HubCode::parse("port-zarate").unwrap().as_str(),
            "PORT-ZARATE"
        );
        for bad in ["", "-A", "A-", "A--B", "A B", "Ä"] {
            assert!(HubCode::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
