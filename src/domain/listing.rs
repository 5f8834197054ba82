//! What a client asks of a list: filters, an order and a window (keyset
//! pagination), and the page it gets back. Positions are opaque bytes the
//! store produces; this module never looks inside them.

use chrono::NaiveDate;

use super::codes::{CompanyCode, HubCode, PartnerCode, ProvinceCode, RouteCode};
use super::entities::TransportMode;
use crate::error::{Error, Result};

/// The page size when a client gives neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 100;

/// A position in an ordered list, as the store encodes it. Opaque outside the
/// store; clients see it as a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position(pub Vec<u8>);

/// Which end of a list a page is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// The first n items after `after`.
    First(usize),
    /// The last n items before `before`.
    Last(usize),
}

/// A validated Relay window: where to start, where to stop, how many.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    after: Option<Position>,
    before: Option<Position>,
    limit: Limit,
}

impl PageRequest {
    /// Checks the Relay arguments: `first` and `last` are not both given and
    /// each is between 1 and [`MAX_PAGE_SIZE`].
    pub fn new(
        first: Option<i32>,
        after: Option<Position>,
        last: Option<i32>,
        before: Option<Position>,
    ) -> Result<Self> {
        let limit = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_input("give either first or last, not both"))
            }
            (Some(first), None) => Limit::First(page_size("first", first)?),
            (None, Some(last)) => Limit::Last(page_size("last", last)?),
            (None, None) => Limit::First(DEFAULT_PAGE_SIZE),
        };
        Ok(Self {
            after,
            before,
            limit,
        })
    }

    /// The first `n` items of a list.
    pub fn first(n: usize) -> Self {
        Self {
            after: None,
            before: None,
            limit: Limit::First(n),
        }
    }

    /// Items must come after this position.
    pub fn after(&self) -> Option<&Position> {
        self.after.as_ref()
    }

    /// Items must come before this position.
    pub fn before(&self) -> Option<&Position> {
        self.before.as_ref()
    }

    /// How many items, from which end.
    pub fn limit(&self) -> Limit {
        self.limit
    }
}

/// Checks one of `first`/`last`.
fn page_size(argument: &str, value: i32) -> Result<usize> {
    match usize::try_from(value) {
        Ok(size @ 1..=MAX_PAGE_SIZE) => Ok(size),
        _ => Err(Error::bad_input(format!(
            "{argument} must be between 1 and {MAX_PAGE_SIZE}, got {value}"
        ))),
    }
}

/// One page of a list, each item with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items in list order, each with the position a cursor names.
    pub items: Vec<(Position, T)>,
    /// Whether items follow the last one on this page.
    pub has_next_page: bool,
    /// Whether items precede the first one on this page.
    pub has_previous_page: bool,
    /// Where the scan stopped, when it ran out of the request's scan budget
    /// before the page was full: the page holds what was found up to there.
    pub stopped_at: Option<Stop>,
}

/// Where a page's scan stopped early; every item between the page's
/// cursor and this position was looked at, so a client that continues from
/// it misses nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Paging forwards: the list continues after this position.
    After(Position),
    /// Paging backwards: the list continues before this position.
    Before(Position),
}

impl<T> Default for Page<T> {
    /// An empty page of an empty list.
    fn default() -> Self {
        Self {
            items: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
            stopped_at: None,
        }
    }
}

impl<T> Page<T> {
    /// The same page with each item transformed.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|(position, item)| (position, f(item)))
                .collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            stopped_at: self.stopped_at,
        }
    }
}

/// Which way a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Ascending,
    /// Largest first.
    Descending,
}

/// What provinces are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProvinceOrderField {
    /// The English name.
    #[default]
    Name,
    /// Total trade in the latest year; provinces with no figure come last.
    TotalTrade,
}

/// What shipments are sorted by; ties are broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ShipmentOrderField {
    /// Departure date; shipments with no date sort before every dated one.
    #[default]
    DepartedOn,
    /// Quantity; shipments with no quantity sort before every counted one.
    Quantity,
}

/// The order of a shipment list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ShipmentOrder {
    /// The sort key.
    pub field: ShipmentOrderField,
    /// The direction.
    pub direction: Direction,
}

/// Conditions on shipments; all given conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ShipmentFilter {
    /// Leaves from this province.
    pub origin_province: Option<ProvinceCode>,
    /// Is bound for this partner.
    pub destination_partner: Option<PartnerCode>,
    /// Travels this route.
    pub route: Option<RouteCode>,
    /// Is shipped by this company.
    pub shipper: Option<CompanyCode>,
    /// Leaves from or reaches this hub.
    pub hub: Option<HubCode>,
    /// Travels this way.
    pub mode: Option<TransportMode>,
    /// Departed on or after this day.
    pub departed_from: Option<NaiveDate>,
    /// Departed on or before this day.
    pub departed_to: Option<NaiveDate>,
    /// Is (or is not) synthetic.
    pub synthetic: Option<bool>,
}

impl ShipmentFilter {
    /// Whether a shipment meets every condition.
    pub fn matches(&self, shipment: &super::Shipment) -> bool {
        fn holds<T: PartialEq>(wanted: &Option<T>, actual: Option<&T>) -> bool {
            wanted.as_ref().is_none_or(|wanted| actual == Some(wanted))
        }
        holds(&self.origin_province, shipment.origin_province.as_ref())
            && holds(
                &self.destination_partner,
                shipment.destination_partner.as_ref(),
            )
            && holds(&self.route, shipment.route.as_ref())
            && holds(&self.shipper, shipment.shipper.as_ref())
            && holds(&self.mode, shipment.mode.as_ref())
            && holds(&self.synthetic, Some(&shipment.is_synthetic()))
            && self
                .hub
                .as_ref()
                .is_none_or(|hub| shipment.hubs().contains(&hub))
            && self
                .departed_from
                .is_none_or(|from| shipment.departed_on.is_some_and(|day| day >= from))
            && self
                .departed_to
                .is_none_or(|to| shipment.departed_on.is_some_and(|day| day <= to))
    }

    /// Whether the filter asks for a date range.
    pub fn is_dated(&self) -> bool {
        self.departed_from.is_some() || self.departed_to.is_some()
    }

    /// Checks the date range: `departedFrom` must not be after `departedTo`.
    pub fn validate(&self) -> Result<()> {
        match (self.departed_from, self.departed_to) {
            (Some(from), Some(to)) if from > to => Err(Error::bad_input(format!(
                "departedFrom ({from}) must not be after departedTo ({to})"
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests_check_their_arguments() {
        assert_eq!(
            PageRequest::new(None, None, None, None).unwrap().limit(),
            Limit::First(20)
        );
        assert_eq!(
            PageRequest::new(None, None, Some(100), None)
                .unwrap()
                .limit(),
            Limit::Last(100)
        );
        let too_many = PageRequest::new(Some(500), None, None, None).unwrap_err();
        assert_eq!(
            too_many.to_string(),
            "first must be between 1 and 100, got 500"
        );
        let zero = PageRequest::new(None, None, Some(0), None).unwrap_err();
        assert_eq!(zero.to_string(), "last must be between 1 and 100, got 0");
        let both = PageRequest::new(Some(1), None, Some(1), None).unwrap_err();
        assert_eq!(both.to_string(), "give either first or last, not both");
    }
}
