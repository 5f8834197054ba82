//! Writing shipments: `createShipment`, `updateShipment`, `deleteShipment`.
//! Each checks its input before anything is written, writes the record and
//! its index entries in one transaction, answers only once the change is on
//! disk, and then tells subscribers.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject, ID};

use super::figures::{Qualifier, TransportMode};
use super::shipment::{resolve_province, Shipment};
use crate::domain::{
    self, parse_reference, CompanyCode, HubCode, Origin, PartnerCode, RecordMeta, RouteCode,
    ShipmentId,
};
use crate::error::Error;
use crate::graphql::auth::WriteGuard;
use crate::graphql::errors::{to_graphql, ApiResult};
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::load;
use crate::graphql::scalars::{Date, Decimal};
use crate::store::{ShipmentWrite, Store};

/// How many times an update without `expectedVersion` retries when another
/// write changed the shipment between its read and its write.
const UPDATE_ATTEMPTS: usize = 5;

/// A counted quantity as a client states it.
#[derive(InputObject, Clone)]
pub struct QuantityInput {
    /// The number; greater than 0.
    pub value: Decimal,
    /// What is counted, plural, e.g. "containers".
    pub unit: String,
    /// How the number is qualified.
    #[graphql(default_with = "Qualifier::Exact")]
    pub qualifier: Qualifier,
    /// Whether it is an expectation rather than a result.
    #[graphql(default)]
    pub forecast: bool,
}

impl From<QuantityInput> for domain::Quantity {
    fn from(input: QuantityInput) -> Self {
        domain::Quantity {
            value: input.value.0,
            unit: input.unit.trim().to_owned(),
            qualifier: input.qualifier.into(),
            forecast: input.forecast,
            source: None,
        }
    }
}

/// A new shipment. Records are referred to by code; a province also by name.
#[derive(InputObject)]
pub struct CreateShipmentInput {
    /// A unique reference (letters and digits in words joined by hyphens);
    /// "SHP-" and the id when absent.
    pub reference: Option<String>,
    /// The shipping company's code.
    pub shipper: Option<String>,
    /// What is shipped.
    pub cargo: String,
    /// How much is shipped.
    pub quantity: Option<QuantityInput>,
    /// How it travels.
    pub mode: Option<TransportMode>,
    /// The ship's or train's name.
    pub carrier_name: Option<String>,
    /// The province it leaves from: "CN-JS", "JS" or "Jiangsu".
    pub origin_province: Option<String>,
    /// The hub it leaves from.
    pub origin: Option<String>,
    /// The partner it is bound for.
    pub destination_partner: Option<String>,
    /// The hub it reaches.
    pub destination: Option<String>,
    /// The freight route it travels.
    pub route: Option<String>,
    /// The day it left.
    pub departed_on: Option<Date>,
    /// The day it arrived; not before `departedOn`.
    pub arrived_on: Option<Date>,
    /// Days the journey took, 0 to 365.
    pub transit_days: Option<u32>,
    /// Anything else worth saying.
    pub note: Option<String>,
}

/// Changes to a shipment: fields left out stay as they are; a nullable
/// field set to null is cleared.
#[derive(InputObject, Default)]
pub struct UpdateShipmentInput {
    /// A new unique reference.
    pub reference: Option<String>,
    /// The shipping company's code.
    pub shipper: MaybeUndefined<String>,
    /// What is shipped.
    pub cargo: Option<String>,
    /// How much is shipped.
    pub quantity: MaybeUndefined<QuantityInput>,
    /// How it travels.
    pub mode: MaybeUndefined<TransportMode>,
    /// The ship's or train's name.
    pub carrier_name: MaybeUndefined<String>,
    /// The province it leaves from: a code or a name.
    pub origin_province: MaybeUndefined<String>,
    /// The hub it leaves from.
    pub origin: MaybeUndefined<String>,
    /// The partner it is bound for.
    pub destination_partner: MaybeUndefined<String>,
    /// The hub it reaches.
    pub destination: MaybeUndefined<String>,
    /// The freight route it travels.
    pub route: MaybeUndefined<String>,
    /// The day it left.
    pub departed_on: MaybeUndefined<Date>,
    /// The day it arrived; not before `departedOn`.
    pub arrived_on: MaybeUndefined<Date>,
    /// Days the journey took, 0 to 365.
    pub transit_days: MaybeUndefined<u32>,
    /// Anything else worth saying.
    pub note: MaybeUndefined<String>,
}

/// What `createShipment` answers.
#[derive(SimpleObject)]
pub struct CreateShipmentPayload {
    /// The shipment as stored (the first one, for a retried idempotency key).
    pub shipment: Shipment,
}

/// What `updateShipment` answers.
#[derive(SimpleObject)]
pub struct UpdateShipmentPayload {
    /// The shipment as stored now.
    pub shipment: Shipment,
}

/// What `deleteShipment` answers.
#[derive(SimpleObject)]
pub struct DeleteShipmentPayload {
    /// The global id of the deleted shipment.
    pub deleted_id: ID,
}

/// Mutations on shipments.
#[derive(Default)]
pub struct ShipmentMutation;

#[Object]
impl ShipmentMutation {
    /// Records a new shipment. With an `idempotencyKey` a retried request
    /// returns the shipment the first one created, and creates nothing.
    /// Needs a write token.
    #[graphql(guard = "WriteGuard")]
    async fn create_shipment(
        &self,
        ctx: &Context<'_>,
        input: CreateShipmentInput,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<CreateShipmentPayload> {
        if idempotency_key
            .as_ref()
            .is_some_and(|key| key.is_empty() || key.len() > 200)
        {
            return Err(Error::bad_input(
                "idempotencyKey must be 1 to 200 characters",
            ))
            .api();
        }
        let shipment = new_shipment(ctx, input).await?;
        let write = ShipmentWrite::Insert {
            shipment,
            idempotency_key,
        };
        let stored = write_one(ctx, write).await?;
        Ok(CreateShipmentPayload {
            shipment: Shipment(stored),
        })
    }

    /// Changes a shipment. With `expectedVersion`, refuses with CONFLICT
    /// (and the current version) if the shipment changed since. Needs a
    /// write token.
    #[graphql(guard = "WriteGuard")]
    async fn update_shipment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateShipmentInput,
        expected_version: Option<u32>,
    ) -> async_graphql::Result<UpdateShipmentPayload> {
        let id = shipment_id(&id)?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = current_shipment(ctx, id).await?;
            let read_version = current.meta.version;
            let changed = apply_update(ctx, current, &input).await?;
            let write = ShipmentWrite::Replace {
                shipment: changed,
                // Without the client's version, guard against a write that
                // lands between this read and the write, and retry.
                expected_version: Some(expected_version.unwrap_or(read_version)),
            };
            match write_one(ctx, write).await {
                Ok(stored) => {
                    return Ok(UpdateShipmentPayload {
                        shipment: Shipment(stored),
                    })
                }
                Err(WriteError::Conflict(_))
                    if expected_version.is_none() && attempts < UPDATE_ATTEMPTS => {}
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Deletes a shipment. With `expectedVersion`, refuses with CONFLICT if
    /// it changed since. Needs a write token.
    #[graphql(guard = "WriteGuard")]
    async fn delete_shipment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<u32>,
    ) -> async_graphql::Result<DeleteShipmentPayload> {
        let shipment = shipment_id(&id)?;
        let write = ShipmentWrite::Delete {
            id: shipment,
            expected_version,
        };
        write_one(ctx, write).await?;
        Ok(DeleteShipmentPayload {
            deleted_id: NodeId::Shipment(shipment).encode(),
        })
    }
}

/// Why a write failed: a version conflict (which an update may retry) or
/// anything else.
enum WriteError {
    Conflict(async_graphql::Error),
    Other(async_graphql::Error),
}

impl From<WriteError> for async_graphql::Error {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Conflict(error) | WriteError::Other(error) => error,
        }
    }
}

/// Writes one change and waits until it is durable. Its event, counted in
/// its commit, reaches subscribers on every server from the change feed
/// (`events`); an insert retried under its idempotency key changes nothing
/// and makes none.
async fn write_one(
    ctx: &Context<'_>,
    write: ShipmentWrite,
) -> Result<domain::Shipment, WriteError> {
    let store = ctx.data_unchecked::<Store>();
    let shipment = store
        .change_shipment(write)
        .await
        .map_err(|error| match error {
            Error::Conflict { .. } => WriteError::Conflict(to_graphql(&error)),
            other => WriteError::Other(to_graphql(&other)),
        })?;
    store
        .make_durable()
        .await
        .map_err(|error| WriteError::Other(to_graphql(&error)))?;
    Ok(shipment)
}

/// The shipment id a global id names; another type's id is a BAD_USER_INPUT.
fn shipment_id(id: &ID) -> async_graphql::Result<ShipmentId> {
    match NodeId::decode(id).api()? {
        NodeId::Shipment(id) => Ok(id),
        _ => Err(Error::bad_input(format!(
            "id {:?} does not name a shipment",
            id.as_str()
        )))
        .api(),
    }
}

async fn current_shipment(
    ctx: &Context<'_>,
    id: ShipmentId,
) -> async_graphql::Result<domain::Shipment> {
    // Read the store directly: the request's loader may hold an older copy.
    let mut found = ctx.data_unchecked::<Store>().shipments(&[id]).await.api()?;
    found
        .remove(&id)
        .ok_or_else(|| to_graphql(&Error::NotFound(format!("no shipment with id {}", id))))
}

/// Checks that an optional code names a stored record, naming the field.
pub(super) async fn known<K, V>(
    ctx: &Context<'_>,
    field: &str,
    kind: &str,
    text: Option<&str>,
    parse: fn(&str) -> crate::error::Result<K>,
) -> async_graphql::Result<Option<K>>
where
    K: Send + Sync + Clone + Eq + std::hash::Hash + std::fmt::Display + 'static,
    V: Send + Sync + Clone + 'static,
    crate::graphql::loaders::StoreLoader:
        async_graphql::dataloader::Loader<K, Value = V, Error = std::sync::Arc<Error>>,
{
    let Some(text) = text else {
        return Ok(None);
    };
    let code = parse(text)
        .map_err(|error| Error::bad_input(format!("{field}: {error}")))
        .api()?;
    match load::<K, V>(ctx, code.clone()).await? {
        Some(_) => Ok(Some(code)),
        None => Err(Error::bad_input(format!("{field}: unknown {kind} {code}"))).api(),
    }
}

/// The references a shipment input names, resolved and checked.
struct References {
    shipper: Option<CompanyCode>,
    origin_province: Option<domain::ProvinceCode>,
    origin: Option<HubCode>,
    destination_partner: Option<PartnerCode>,
    destination: Option<HubCode>,
    route: Option<RouteCode>,
}

impl References {
    async fn resolve(
        ctx: &Context<'_>,
        shipper: Option<&str>,
        origin_province: Option<String>,
        origin: Option<&str>,
        destination_partner: Option<&str>,
        destination: Option<&str>,
        route: Option<&str>,
    ) -> async_graphql::Result<Self> {
        let origin_province = match origin_province {
            Some(spelling) => Some(resolve_province(ctx, "originProvince", spelling).await?),
            None => None,
        };
        Ok(Self {
            shipper: known::<_, domain::Company>(
                ctx,
                "shipper",
                "company",
                shipper,
                CompanyCode::parse,
            )
            .await?,
            origin_province,
            origin: known::<_, domain::Hub>(ctx, "origin", "hub", origin, HubCode::parse).await?,
            destination_partner: known::<_, domain::TradePartner>(
                ctx,
                "destinationPartner",
                "trade partner",
                destination_partner,
                PartnerCode::parse,
            )
            .await?,
            destination: known::<_, domain::Hub>(
                ctx,
                "destination",
                "hub",
                destination,
                HubCode::parse,
            )
            .await?,
            route: known::<_, domain::FreightRoute>(
                ctx,
                "route",
                "freight route",
                route,
                RouteCode::parse,
            )
            .await?,
        })
    }
}

/// Builds and checks a new shipment from its input.
async fn new_shipment(
    ctx: &Context<'_>,
    input: CreateShipmentInput,
) -> async_graphql::Result<domain::Shipment> {
    let references = References::resolve(
        ctx,
        input.shipper.as_deref(),
        input.origin_province,
        input.origin.as_deref(),
        input.destination_partner.as_deref(),
        input.destination.as_deref(),
        input.route.as_deref(),
    )
    .await?;
    let reference = input
        .reference
        .as_deref()
        .map(parse_reference)
        .transpose()
        .api()?;
    let shipment = domain::Shipment {
        id: ShipmentId(0),
        reference: reference.unwrap_or_default(),
        shipper: references.shipper,
        cargo: input.cargo.trim().to_owned(),
        quantity: input.quantity.map(Into::into),
        mode: input.mode.map(Into::into),
        carrier_name: input.carrier_name,
        origin_province: references.origin_province,
        origin: references.origin,
        destination_partner: references.destination_partner,
        destination: references.destination,
        route: references.route,
        departed_on: input.departed_on.map(|date| date.0),
        arrived_on: input.arrived_on.map(|date| date.0),
        transit_days: input.transit_days,
        note: input.note,
        source: None,
        meta: RecordMeta::new(Origin::Api),
    };
    shipment.check().api()?;
    Ok(shipment)
}

/// Applies an update to the current state and checks the result.
async fn apply_update(
    ctx: &Context<'_>,
    current: domain::Shipment,
    input: &UpdateShipmentInput,
) -> async_graphql::Result<domain::Shipment> {
    /// The value after an update of a nullable field.
    fn patched<T: Clone>(input: &MaybeUndefined<T>, current: Option<T>) -> Option<T> {
        match input {
            MaybeUndefined::Undefined => current,
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(value) => Some(value.clone()),
        }
    }
    let references = References::resolve(
        ctx,
        patched(
            &input.shipper,
            current.shipper.as_ref().map(|c| c.to_string()),
        )
        .as_deref(),
        patched(
            &input.origin_province,
            current.origin_province.as_ref().map(|c| c.to_string()),
        ),
        patched(
            &input.origin,
            current.origin.as_ref().map(|c| c.to_string()),
        )
        .as_deref(),
        patched(
            &input.destination_partner,
            current.destination_partner.as_ref().map(|c| c.to_string()),
        )
        .as_deref(),
        patched(
            &input.destination,
            current.destination.as_ref().map(|c| c.to_string()),
        )
        .as_deref(),
        patched(&input.route, current.route.as_ref().map(|c| c.to_string())).as_deref(),
    )
    .await?;
    let reference = match &input.reference {
        Some(reference) => parse_reference(reference).api()?,
        None => current.reference.clone(),
    };
    let shipment = domain::Shipment {
        id: current.id,
        reference,
        shipper: references.shipper,
        cargo: input
            .cargo
            .as_deref()
            .map_or(current.cargo.clone(), |cargo| cargo.trim().to_owned()),
        quantity: match &input.quantity {
            MaybeUndefined::Undefined => current.quantity.clone(),
            MaybeUndefined::Null => None,
            MaybeUndefined::Value(quantity) => Some(quantity.clone().into()),
        },
        mode: patched(&input.mode, current.mode.map(Into::into)).map(Into::into),
        carrier_name: patched(&input.carrier_name, current.carrier_name.clone()),
        origin_province: references.origin_province,
        origin: references.origin,
        destination_partner: references.destination_partner,
        destination: references.destination,
        route: references.route,
        departed_on: patched(&input.departed_on, current.departed_on.map(Date)).map(|date| date.0),
        arrived_on: patched(&input.arrived_on, current.arrived_on.map(Date)).map(|date| date.0),
        transit_days: patched(&input.transit_days, current.transit_days),
        note: patched(&input.note, current.note.clone()),
        source: current.source.clone(),
        meta: RecordMeta {
            version: current.meta.version,
            origin: Origin::Api,
        },
    };
    shipment.check().api()?;
    Ok(shipment)
}
