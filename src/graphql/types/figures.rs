//! Value types: stated figures, their sources, indicators and the national
//! summary, and the enums they use. None of these has an id.

use async_graphql::{Context, Enum, Object};

use super::Province;
use crate::domain;
use crate::graphql::loaders::{load_all, load_optional};
use crate::graphql::scalars::Decimal;

/// A currency an amount is stated in.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::Currency")]
pub enum Currency {
    /// Chinese yuan (renminbi).
    Cny,
    /// United States dollars.
    Usd,
}

/// How a figure relates to the true value, as the text words it.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::Qualifier")]
pub enum Qualifier {
    /// Stated as the value ("recorded 9.49 trillion yuan").
    Exact,
    /// Stated as an approximation ("about $6.59 trillion").
    About,
    /// Stated as a lower bound ("over 5,800", "exceeded 900 billion").
    MoreThan,
}

/// How goods travel.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::TransportMode")]
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

/// Where a figure comes from.
pub struct Source(pub domain::Source);

/// Where a figure comes from: the document and the verbatim sentence.
#[Object]
impl Source {
    /// The document's headline.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Who published the document.
    async fn publisher(&self) -> &str {
        &self.0.publisher
    }

    /// The day the document was published.
    async fn published_on(&self) -> crate::graphql::scalars::Date {
        crate::graphql::scalars::Date(self.0.published_on)
    }

    /// The sentence the figure comes from, verbatim, so a reader can find it.
    async fn quote(&self) -> &str {
        &self.0.quote
    }
}

/// Wraps an optional domain source.
pub fn source(source: &Option<domain::Source>) -> Option<Source> {
    source.clone().map(Source)
}

/// An amount of money as stated.
pub struct Money(pub domain::Money);

/// An amount of money as the text states it.
#[Object]
impl Money {
    /// The amount in whole units of the currency, exactly.
    async fn amount(&self) -> Decimal {
        Decimal(self.0.amount)
    }

    /// The currency.
    async fn currency(&self) -> Currency {
        self.0.currency.into()
    }

    /// How the text qualifies the amount.
    async fn qualifier(&self) -> Qualifier {
        self.0.qualifier.into()
    }

    /// Whether the text gives it as an expectation rather than a result.
    async fn forecast(&self) -> bool {
        self.0.forecast
    }

    /// The amount as the text would read it, e.g. "about 6.59 trillion US dollars".
    async fn display(&self) -> String {
        self.0.display()
    }

    /// Where the amount is stated.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source)
    }
}

/// A counted quantity as stated.
pub struct Quantity(pub domain::Quantity);

/// A counted quantity as the text states it.
#[Object]
impl Quantity {
    /// The number, exactly.
    async fn value(&self) -> Decimal {
        Decimal(self.0.value)
    }

    /// What is counted, e.g. "new energy vehicles".
    async fn unit(&self) -> &str {
        &self.0.unit
    }

    /// How the text qualifies the number.
    async fn qualifier(&self) -> Qualifier {
        self.0.qualifier.into()
    }

    /// Whether the text gives it as an expectation rather than a result.
    async fn forecast(&self) -> bool {
        self.0.forecast
    }

    /// The quantity as the text would read it, e.g. "over 5,800 new energy vehicles".
    async fn display(&self) -> String {
        self.0.display()
    }

    /// Where the quantity is stated, when not in its record's source.
    async fn source(&self) -> Option<Source> {
        source(&self.0.source)
    }
}

/// A named figure.
pub struct Indicator(pub domain::Indicator);

/// A named figure about a province or the country: one of an amount, a
/// quantity, a share or a change, with its source.
#[Object]
impl Indicator {
    /// A stable machine name, e.g. "high_tech_exports".
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// A human label.
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// The calendar year the figure is for, when stated.
    async fn year(&self) -> Option<i32> {
        self.0.year
    }

    /// An amount of money, when the figure is one.
    async fn money(&self) -> Option<Money> {
        self.0.money.clone().map(Money)
    }

    /// A counted quantity, when the figure is one.
    async fn quantity(&self) -> Option<Quantity> {
        self.0.quantity.clone().map(Quantity)
    }

    /// A share in percent, when the figure is one ("over 70 percent" is 70).
    async fn percent(&self) -> Option<f64> {
        self.0.percent.map(|percent| percent.value)
    }

    /// How the text qualifies `percent`.
    async fn percent_qualifier(&self) -> Option<Qualifier> {
        self.0.percent.map(|percent| percent.qualifier.into())
    }

    /// A change in percent, when the figure is one ("a 35 percent increase" is 35).
    async fn change_percent(&self) -> Option<f64> {
        self.0.change_percent
    }

    /// The provinces the figure covers, when it covers several.
    async fn provinces(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Province>> {
        Ok(load_all(ctx, self.0.provinces.clone())
            .await?
            .into_iter()
            .map(Province)
            .collect())
    }

    /// The hub the figure is about, when there is one.
    async fn hub(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::Hub>> {
        Ok(load_optional(ctx, self.0.hub.clone())
            .await?
            .map(super::Hub))
    }

    /// What else the sentence says about the figure.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// The figure read out: its label and its value.
    async fn display(&self) -> String {
        let value = self
            .0
            .money
            .as_ref()
            .map(domain::Money::display)
            .or_else(|| self.0.quantity.as_ref().map(domain::Quantity::display))
            .or_else(|| self.0.percent.as_ref().map(domain::Percent::display))
            .or_else(|| {
                self.0
                    .change_percent
                    .map(|change| format!("{change:+} percent"))
            })
            .unwrap_or_default();
        format!("{}: {value}", self.0.label)
    }

    /// Where the figure is stated.
    async fn source(&self) -> Source {
        Source(self.0.source.clone())
    }
}

/// The national totals for one year.
pub struct NationalSummary(pub domain::NationalSummary);

/// China's national foreign trade totals for one year.
#[Object]
impl NationalSummary {
    /// The calendar year.
    async fn year(&self) -> i32 {
        self.0.year
    }

    /// Total goods imports and exports, in yuan.
    async fn total_trade(&self) -> Money {
        Money(self.0.total_trade.clone())
    }

    /// The same total in US dollars, as the text converts it.
    async fn total_trade_usd(&self) -> Option<Money> {
        self.0.total_trade_usd.clone().map(Money)
    }

    /// Year-on-year growth in percent.
    async fn growth_percent(&self) -> Option<f64> {
        self.0.growth_percent
    }

    /// Further national figures, such as the seven leading regions' total.
    async fn indicators(&self) -> Vec<Indicator> {
        self.0.indicators.iter().cloned().map(Indicator).collect()
    }

    /// Where the totals are stated.
    async fn source(&self) -> Source {
        Source(self.0.source.clone())
    }
}
