//! Shipments: the `Shipment` type, the `ShipmentFilter` and `ShipmentOrder`
//! inputs, the root fields, and the one function every `shipments`
//! connection goes through.

use async_graphql::{Context, Enum, InputObject, Object, ID};

use super::figures::{source, Quantity, TransportMode};
use super::{Company, FreightRoute, Hub, Province, TradePartner};
use crate::domain::{self, CompanyCode, Direction, HubCode, PartnerCode, RouteCode};
use crate::error::Error;
use crate::graphql::connection::{page_request, Connection, Total};
use crate::graphql::errors::to_graphql;
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::{load, load_optional, ProvinceSpelling};
use crate::graphql::notices;
use crate::graphql::scalars::Date;
use crate::store::{ShipmentQuery as PageQuery, Store};

/// A consignment of goods moving from China to a partner.
#[derive(Clone)]
pub struct Shipment(pub domain::Shipment);

/// A consignment of goods moving from China to a partner. Fields the text
/// does not state are null.
#[Object]
impl Shipment {
    /// The global id.
    pub async fn id(&self) -> ID {
        NodeId::Shipment(self.0.id).encode()
    }

    /// A unique human reference, e.g. "BYD-CHANGZHOU-ZARATE".
    async fn reference(&self) -> &str {
        &self.0.reference
    }

    /// The company that ships the goods.
    async fn shipper(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Company>> {
        Ok(load_optional(ctx, self.0.shipper.clone())
            .await?
            .map(Company))
    }

    /// What is shipped.
    async fn cargo(&self) -> &str {
        &self.0.cargo
    }

    /// How much is shipped.
    async fn quantity(&self) -> Option<Quantity> {
        self.0.quantity.clone().map(Quantity)
    }

    /// How the goods travel.
    async fn mode(&self) -> Option<TransportMode> {
        self.0.mode.map(Into::into)
    }

    /// The ship's or train's name (a name, not a place).
    async fn carrier_name(&self) -> Option<&str> {
        self.0.carrier_name.as_deref()
    }

    /// The Chinese province the goods leave from.
    async fn origin_province(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Province>> {
        Ok(load_optional(ctx, self.0.origin_province.clone())
            .await?
            .map(Province))
    }

    /// The hub the goods leave from.
    async fn origin(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Hub>> {
        Ok(load_optional(ctx, self.0.origin.clone()).await?.map(Hub))
    }

    /// The partner the goods are bound for.
    async fn destination_partner(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<TradePartner>> {
        Ok(load_optional(ctx, self.0.destination_partner.clone())
            .await?
            .map(TradePartner))
    }

    /// The hub the goods reach.
    async fn destination(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Hub>> {
        Ok(load_optional(ctx, self.0.destination.clone())
            .await?
            .map(Hub))
    }

    /// The named freight route, when the text names one; never guessed.
    async fn route(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<FreightRoute>> {
        Ok(load_optional(ctx, self.0.route.clone())
            .await?
            .map(FreightRoute))
    }

    /// The day the goods left.
    async fn departed_on(&self) -> Option<Date> {
        self.0.departed_on.map(Date)
    }

    /// The day the goods arrived.
    async fn arrived_on(&self) -> Option<Date> {
        self.0.arrived_on.map(Date)
    }

    /// How many days the journey took.
    async fn transit_days(&self) -> Option<u32> {
        self.0.transit_days
    }

    /// Whether the shipment was generated for load tests (never a stated fact).
    async fn synthetic(&self) -> bool {
        self.0.is_synthetic()
    }

    /// What else the text says about the shipment.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Where the shipment is reported.
    async fn source(&self) -> Option<super::figures::Source> {
        source(&self.0.source)
    }

    /// Raised by every change to the shipment.
    async fn version(&self) -> u32 {
        self.0.meta.version
    }
}

/// Conditions on shipments; all given conditions must hold. Codes are
/// matched case-insensitively; a province may also be named ("guangdong").
#[derive(InputObject, Default, Clone)]
#[graphql(name = "ShipmentFilter")]
pub struct ShipmentFilterInput {
    /// Leaves from this province: "CN-GD", "GD" or "Guangdong".
    pub origin_province: Option<String>,
    /// Is bound for this partner, e.g. "AR".
    pub destination_partner: Option<String>,
    /// Travels this freight route.
    pub route: Option<String>,
    /// Is shipped by this company, e.g. "BYD".
    pub shipper: Option<String>,
    /// Leaves from or reaches this hub.
    pub hub: Option<String>,
    /// Travels this way.
    pub mode: Option<TransportMode>,
    /// Departed on or after this day.
    pub departed_from: Option<Date>,
    /// Departed on or before this day.
    pub departed_to: Option<Date>,
    /// true: only synthetic shipments; false: only real ones.
    pub synthetic: Option<bool>,
}

impl ShipmentFilterInput {
    /// Resolves the codes; an unknown province is a `BAD_USER_INPUT` error,
    /// other well-formed but unknown codes simply match nothing.
    pub async fn resolve(self, ctx: &Context<'_>) -> async_graphql::Result<domain::ShipmentFilter> {
        let origin_province = match self.origin_province.clone() {
            Some(spelling) => Some(resolve_province(ctx, "originProvince", spelling).await?),
            None => None,
        };
        self.resolve_codes(origin_province).api()
    }

    /// Which conditions the filter sets, for deciding whether its cost needs
    /// the store at all: the codes resolved, a province standing in for the
    /// one spelt (looking it up costs more than the rest of measuring).
    pub fn conditions(&self) -> Result<domain::ShipmentFilter, Error> {
        let stand_in = match &self.origin_province {
            Some(_) => Some(domain::ProvinceCode::parse("CN-GD")?),
            None => None,
        };
        self.clone().resolve_codes(stand_in)
    }

    /// Resolves the codes as [`ShipmentFilterInput::resolve`] does, a
    /// province by name looked up in `store` directly: for measuring a
    /// request's cost before it runs, when it has no loader yet.
    pub async fn resolve_with(self, store: &Store) -> Result<domain::ShipmentFilter, Error> {
        let origin_province = match &self.origin_province {
            Some(spelling) => match store.find_province(spelling).await? {
                Some(province) => Some(province.code),
                None => return Err(Error::bad_input("originProvince: unknown province")),
            },
            None => None,
        };
        self.resolve_codes(origin_province)
    }

    fn resolve_codes(
        self,
        origin_province: Option<domain::ProvinceCode>,
    ) -> Result<domain::ShipmentFilter, Error> {
        let filter = domain::ShipmentFilter {
            origin_province,
            destination_partner: self
                .destination_partner
                .as_deref()
                .map(PartnerCode::parse)
                .transpose()?,
            route: self.route.as_deref().map(RouteCode::parse).transpose()?,
            shipper: self
                .shipper
                .as_deref()
                .map(CompanyCode::parse)
                .transpose()?,
            hub: self.hub.as_deref().map(HubCode::parse).transpose()?,
            mode: self.mode.map(Into::into),
            departed_from: self.departed_from.map(|date| date.0),
            departed_to: self.departed_to.map(|date| date.0),
            synthetic: self.synthetic,
        };
        filter.validate()?;
        Ok(filter)
    }
}

/// The province a client names by code or name, through the request's
/// loader; an unknown one is a `BAD_USER_INPUT` error naming `field`.
pub async fn resolve_province(
    ctx: &Context<'_>,
    field: &str,
    spelling: String,
) -> async_graphql::Result<domain::ProvinceCode> {
    let found: Option<domain::Province> = load(ctx, ProvinceSpelling(spelling.clone())).await?;
    found.map(|province| province.code).ok_or_else(|| {
        to_graphql(&Error::bad_input(format!(
            "{field}: unknown province {spelling:?}; use a code such as \"CN-GD\" or a name such as \"Guangdong\""
        )))
    })
}

/// Which way a list is sorted.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl From<OrderDirection> for Direction {
    fn from(direction: OrderDirection) -> Self {
        match direction {
            OrderDirection::Asc => Direction::Ascending,
            OrderDirection::Desc => Direction::Descending,
        }
    }
}

/// What shipments are sorted by; ties are broken by id.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "domain::ShipmentOrderField")]
pub enum ShipmentOrderField {
    /// Departure date; shipments with no date come before every dated one
    /// in ascending order.
    DepartedOn,
    /// Quantity; shipments with no quantity come before every counted one
    /// in ascending order.
    Quantity,
}

/// The order of a shipment list. The default is by departure date, ascending.
#[derive(InputObject)]
#[graphql(name = "ShipmentOrder")]
pub struct ShipmentOrderInput {
    /// The sort key.
    pub field: ShipmentOrderField,
    /// The direction.
    pub direction: OrderDirection,
}

/// A condition a parent object puts on its `shipments` list.
pub enum Pinned {
    /// The root list: no condition.
    Nothing,
    /// Shipments leaving a province.
    OriginProvince(domain::ProvinceCode),
    /// Shipments bound for a partner.
    DestinationPartner(PartnerCode),
    /// Shipments leaving or reaching a hub.
    Hub(HubCode),
    /// Shipments of a company.
    Shipper(CompanyCode),
    /// Shipments on a route.
    Route(RouteCode),
}

/// Sets a condition unless the client asked for another value, in which case
/// nothing can match.
fn pin<T: PartialEq>(slot: &mut Option<T>, value: T) -> bool {
    match slot {
        Some(asked) => *asked == value,
        None => {
            *slot = Some(value);
            true
        }
    }
}

/// Every `shipments` connection: resolves the client's filter, adds the
/// parent's condition and reads the page through the request's loader.
#[allow(clippy::too_many_arguments)]
pub async fn shipment_connection(
    ctx: &Context<'_>,
    pinned: Pinned,
    filter: Option<ShipmentFilterInput>,
    order_by: Option<ShipmentOrderInput>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<Connection<Shipment>> {
    let request = page_request(first, after, last, before).api()?;
    let mut filter = filter.unwrap_or_default().resolve(ctx).await?;
    let consistent = match pinned {
        Pinned::Nothing => true,
        Pinned::OriginProvince(code) => pin(&mut filter.origin_province, code),
        Pinned::DestinationPartner(code) => pin(&mut filter.destination_partner, code),
        Pinned::Hub(code) => pin(&mut filter.hub, code),
        Pinned::Shipper(code) => pin(&mut filter.shipper, code),
        Pinned::Route(code) => pin(&mut filter.route, code),
    };
    if !consistent {
        return Ok(Connection::empty());
    }
    let order = order_by.map_or_else(domain::ShipmentOrder::default, |order| {
        domain::ShipmentOrder {
            field: order.field.into(),
            direction: order.direction.into(),
        }
    });
    let query = PageQuery {
        filter: filter.clone(),
        order,
        request,
    };
    let page: domain::Page<domain::Shipment> = load(ctx, query).await?.unwrap_or_default();
    if page.stopped_at.is_some() {
        notices::scan_limit(ctx);
    }
    Ok(Connection::new(
        page.map(Shipment),
        Total::Shipments(filter),
    ))
}

/// Root fields for shipments.
#[derive(Default)]
pub struct ShipmentRoot;

#[Object]
impl ShipmentRoot {
    /// Shipments that meet the filter, in the order asked for (by default by
    /// departure date, ascending). Pass `filter: {synthetic: false}` to leave
    /// out load-test data.
    #[allow(clippy::too_many_arguments)]
    async fn shipments(
        &self,
        ctx: &Context<'_>,
        filter: Option<ShipmentFilterInput>,
        order_by: Option<ShipmentOrderInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<Shipment>> {
        shipment_connection(
            ctx,
            Pinned::Nothing,
            filter,
            order_by,
            first,
            after,
            last,
            before,
        )
        .await
    }

    /// The shipment with this reference, or null.
    async fn shipment(
        &self,
        ctx: &Context<'_>,
        reference: String,
    ) -> async_graphql::Result<Option<Shipment>> {
        Ok(ctx
            .data_unchecked::<Store>()
            .shipment_by_reference(&reference)
            .await
            .api()?
            .map(Shipment))
    }
}
