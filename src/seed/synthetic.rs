//! Synthetic shipments for load tests: generated only when asked for,
//! reproducible (each one from a fixed seed and its number), spread over the
//! real provinces, partners, hubs, companies and routes, and always marked
//! synthetic so clients can filter them out.

use chrono::{Days, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use crate::domain::{
    Company, FreightRoute, Hub, Origin, Province, Qualifier, Quantity, RecordMeta, Shipment,
    ShipmentId, TradePartner, TransportMode, REPORT_YEAR,
};
use crate::error::{Error, Result};
use crate::store::{ShipmentSource, Store};

/// The fixed seed every synthetic shipment is derived from.
const SEED: u64 = 0x7472_6164_6567_7261; // "tradegra"

/// What synthetic shipments carry, with the unit each is counted in.
const CARGO: &[(&str, &str)] = &[
    ("new energy vehicles", "vehicles"),
    ("wind turbine blades", "blades"),
    ("semiconductor display panels", "containers"),
    ("small commodities", "containers"),
    ("electrical equipment", "containers"),
    ("industrial drones", "units"),
];

const MODES: [TransportMode; 4] = [
    TransportMode::Sea,
    TransportMode::Rail,
    TransportMode::Road,
    TransportMode::Air,
];

/// The real records synthetic shipments refer to.
struct Catalogs {
    provinces: Vec<Province>,
    partners: Vec<TradePartner>,
    hubs: Vec<Hub>,
    companies: Vec<Company>,
    routes: Vec<FreightRoute>,
}

impl Catalogs {
    /// The catalogs as stored; synthetic shipments need provinces and
    /// partners at least.
    async fn read(store: &Store) -> Result<Self> {
        let catalogs = Catalogs {
            provinces: store.all().await?,
            partners: store.all().await?,
            hubs: store.all().await?,
            companies: store.all().await?,
            routes: store.all().await?,
        };
        if catalogs.provinces.is_empty() || catalogs.partners.is_empty() {
            return Err(Error::bad_input("synthetic shipments need the seed data first: the database has no provinces or partners"));
        }
        Ok(catalogs)
    }
}

impl ShipmentSource for Catalogs {
    fn reference(&self, n: u64) -> String {
        format!("SYN-{:08}", n + 1)
    }

    fn shipment(&self, n: u64) -> Shipment {
        generate(self, n)
    }
}

/// Makes sure the first `total` synthetic shipments exist, adding those that
/// do not yet with the store's bulk insert, with a progress bar on a
/// terminal. Returns how many it added. Asking again for the same total
/// adds nothing. Call it only while nothing else writes (see
/// [`Store::bulk_insert_shipments`]), after [`finish_synthetic_shipments`].
pub async fn add_synthetic_shipments(store: &Store, total: u64) -> Result<u64> {
    let existing = store.synthetic_count().await?;
    if existing >= total {
        return Ok(0);
    }
    let catalogs = Catalogs::read(store).await?;
    let progress = progress_bar(total - existing)?;
    store
        .bulk_insert_shipments(existing..total, &catalogs, |n| progress.inc(n))
        .await?;
    progress.finish_and_clear();
    Ok(total - existing)
}

/// Finishes a run of synthetic shipments that a crash or an error
/// interrupted, by writing it again; nothing else may write shipments
/// before. The catalogs it reads are those the run read: nothing writes
/// between the interruption and this. Returns how many shipments the run
/// adds, 0 when none was unfinished.
pub async fn finish_synthetic_shipments(store: &Store) -> Result<u64> {
    let Some(numbers) = store.unfinished_bulk_insert().await? else {
        return Ok(0);
    };
    tracing::warn!(
        from = numbers.start,
        to = numbers.end,
        "finishing an interrupted run of synthetic shipments"
    );
    let progress = progress_bar(numbers.end - numbers.start)?;
    let catalogs = Catalogs::read(store).await?;
    let added = store
        .finish_bulk_insert(&catalogs, |n| progress.inc(n))
        .await?;
    progress.finish_and_clear();
    Ok(added)
}

/// A progress bar of `len` shipments, drawn only on a terminal.
fn progress_bar(len: u64) -> Result<ProgressBar> {
    Ok(ProgressBar::new(len).with_style(
        ProgressStyle::with_template(
            "synthetic shipments {bar:40} {pos}/{len} ({per_sec}, {eta} left)",
        )
        .map_err(|error| Error::Corrupt(error.to_string()))?,
    ))
}

/// The synthetic shipment number `n` (from 0); the same `n` always gives
/// the same shipment.
fn generate(catalogs: &Catalogs, n: u64) -> Shipment {
    let mut rng = fastrand::Rng::with_seed(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let pick = |rng: &mut fastrand::Rng, len: usize| rng.usize(..len.max(1));

    let route = (!catalogs.routes.is_empty() && rng.u8(..4) == 0)
        .then(|| &catalogs.routes[pick(&mut rng, catalogs.routes.len())]);
    let (mode, origin, destination, origin_province, partner) = match route {
        Some(route) => (
            route.mode,
            route.origin.clone(),
            route.destination.clone(),
            route.provinces.first().cloned(),
            route
                .partners
                .get(pick(&mut rng, route.partners.len()))
                .cloned(),
        ),
        None => {
            let domestic: Vec<&Hub> = catalogs
                .hubs
                .iter()
                .filter(|hub| hub.province.is_some())
                .collect();
            let origin = (!domestic.is_empty() && rng.bool())
                .then(|| domestic[pick(&mut rng, domestic.len())]);
            let province = match origin {
                Some(hub) => hub.province.clone(),
                None => Some(
                    catalogs.provinces[pick(&mut rng, catalogs.provinces.len())]
                        .code
                        .clone(),
                ),
            };
            let partner = &catalogs.partners[pick(&mut rng, catalogs.partners.len())];
            let abroad: Vec<&Hub> = catalogs
                .hubs
                .iter()
                .filter(|hub| hub.country.as_ref() == Some(&partner.code))
                .collect();
            let destination = (!abroad.is_empty() && rng.bool())
                .then(|| abroad[pick(&mut rng, abroad.len())].code.clone());
            (
                MODES[pick(&mut rng, MODES.len())],
                origin.map(|hub| hub.code.clone()),
                destination,
                province,
                Some(partner.code.clone()),
            )
        }
    };
    let shipper = (!catalogs.companies.is_empty() && rng.bool()).then(|| {
        catalogs.companies[pick(&mut rng, catalogs.companies.len())]
            .code
            .clone()
    });
    let (cargo, unit) = CARGO[pick(&mut rng, CARGO.len())];
    let start = NaiveDate::from_ymd_opt(REPORT_YEAR, 1, 1).unwrap_or_default();
    let departed_on = start.checked_add_days(Days::new(rng.u64(..365)));
    let transit_days = rng.u32(3..=40);
    Shipment {
        id: ShipmentId(0),
        reference: catalogs.reference(n),
        shipper,
        cargo: cargo.to_owned(),
        quantity: Some(Quantity {
            value: Decimal::from(rng.u32(1..=10_000)),
            unit: unit.to_owned(),
            qualifier: Qualifier::Exact,
            forecast: false,
            source: None,
        }),
        mode: Some(mode),
        carrier_name: None,
        origin_province,
        origin,
        destination_partner: partner,
        destination,
        route: route.map(|route| route.code.clone()),
        departed_on,
        arrived_on: departed_on
            .and_then(|day| day.checked_add_days(Days::new(u64::from(transit_days)))),
        transit_days: Some(transit_days),
        note: None,
        source: None,
        meta: RecordMeta::new(Origin::Synthetic),
    }
}
