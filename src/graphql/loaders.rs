//! Batching loaders: every link between objects resolves through one
//! [`DataLoader`] created per request, so a nested query costs one store call
//! per kind of entity per level, whatever the page size.
//!
//! The loader runs with no delay: async-graphql resolves the fields of a
//! list's items together before it yields, so every key of a level is queued
//! before the batch runs, and a timer would only add latency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Context;

use super::errors::to_graphql;
use crate::domain::{
    Company, CompanyCode, FreightRoute, Hub, HubCode, Page, PartnerCode, Province, ProvinceCode,
    RouteCode, Shipment, ShipmentFilter, ShipmentId, TradeFlow, TradeFlowKey, TradePartner,
};
use crate::error::Error;
use crate::store::{Counted, RouteQuery, ScanBudget, ShipmentQuery, Store, TradeFlowQuery};

/// Loads batches of keys from the store, charging filtered scans to the
/// request's scan budget.
pub struct StoreLoader {
    store: Store,
    budget: Arc<ScanBudget>,
}

/// The loader of one request.
pub type Loaders = DataLoader<StoreLoader>;

/// The hubs in a province.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HubsIn(pub ProvinceCode);

/// The hubs in a partner country.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HubsAbroad(pub PartnerCode);

/// The partners a partner is a member of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberOf(pub PartnerCode);

/// A province as a client spells it: a code or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProvinceSpelling(pub String);

/// The number of shipments that meet a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShipmentCount(pub ShipmentFilter);

type Loaded<K, V> = Result<HashMap<K, V>, Arc<Error>>;

macro_rules! catalog_loader {
    ($($code:ty => $record:ty),+ $(,)?) => {$(
        impl Loader<$code> for StoreLoader {
            type Value = $record;
            type Error = Arc<Error>;

            async fn load(&self, codes: &[$code]) -> Loaded<$code, $record> {
                self.store.get_many::<$record>(codes).await.map_err(Arc::new)
            }
        }
    )+};
}

catalog_loader!(
    ProvinceCode => Province,
    PartnerCode => TradePartner,
    HubCode => Hub,
    CompanyCode => Company,
    RouteCode => FreightRoute,
);

/// Pairs each key with the answer at the same position.
fn zip<K: Clone + Eq + std::hash::Hash, V>(keys: &[K], values: Vec<V>) -> HashMap<K, V> {
    keys.iter().cloned().zip(values).collect()
}

/// Unwraps keyed wrappers for a store call that takes the inner codes.
fn by_inner<K: Clone + Eq + std::hash::Hash, C: Clone + Eq + std::hash::Hash, V>(
    keys: &[K],
    inner: impl Fn(&K) -> &C,
    mut found: HashMap<C, V>,
) -> HashMap<K, V> {
    keys.iter()
        .filter_map(|key| found.remove(inner(key)).map(|value| (key.clone(), value)))
        .collect()
}

impl Loader<ShipmentId> for StoreLoader {
    type Value = Shipment;
    type Error = Arc<Error>;

    async fn load(&self, ids: &[ShipmentId]) -> Loaded<ShipmentId, Shipment> {
        self.store.shipments(ids).await.map_err(Arc::new)
    }
}

impl Loader<TradeFlowKey> for StoreLoader {
    type Value = TradeFlow;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[TradeFlowKey]) -> Loaded<TradeFlowKey, TradeFlow> {
        self.store.trade_flows(keys).await.map_err(Arc::new)
    }
}

impl Loader<ShipmentQuery> for StoreLoader {
    type Value = Page<Shipment>;
    type Error = Arc<Error>;

    async fn load(&self, queries: &[ShipmentQuery]) -> Loaded<ShipmentQuery, Page<Shipment>> {
        Ok(zip(
            queries,
            self.store
                .shipment_pages(queries, &self.budget)
                .await
                .map_err(Arc::new)?,
        ))
    }
}

impl Loader<ShipmentCount> for StoreLoader {
    type Value = u64;
    type Error = Arc<Error>;

    async fn load(&self, counts: &[ShipmentCount]) -> Loaded<ShipmentCount, u64> {
        let filters: Vec<ShipmentFilter> = counts.iter().map(|count| count.0.clone()).collect();
        Ok(zip(
            counts,
            self.store
                .shipment_counts(&filters, &self.budget)
                .await
                .map_err(Arc::new)?,
        ))
    }
}

impl Loader<TradeFlowQuery> for StoreLoader {
    type Value = Counted<TradeFlow>;
    type Error = Arc<Error>;

    async fn load(&self, queries: &[TradeFlowQuery]) -> Loaded<TradeFlowQuery, Counted<TradeFlow>> {
        Ok(zip(
            queries,
            self.store
                .trade_flow_pages(queries)
                .await
                .map_err(Arc::new)?,
        ))
    }
}

impl Loader<RouteQuery> for StoreLoader {
    type Value = Counted<FreightRoute>;
    type Error = Arc<Error>;

    async fn load(&self, queries: &[RouteQuery]) -> Loaded<RouteQuery, Counted<FreightRoute>> {
        Ok(zip(
            queries,
            self.store.route_pages(queries).await.map_err(Arc::new)?,
        ))
    }
}

impl Loader<HubsIn> for StoreLoader {
    type Value = Vec<Hub>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[HubsIn]) -> Loaded<HubsIn, Vec<Hub>> {
        let codes: Vec<ProvinceCode> = keys.iter().map(|key| key.0.clone()).collect();
        Ok(by_inner(
            keys,
            |key| &key.0,
            self.store
                .hubs_in_provinces(&codes)
                .await
                .map_err(Arc::new)?,
        ))
    }
}

impl Loader<ProvinceSpelling> for StoreLoader {
    type Value = Province;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[ProvinceSpelling]) -> Loaded<ProvinceSpelling, Province> {
        let spellings: Vec<String> = keys.iter().map(|key| key.0.clone()).collect();
        let found = self
            .store
            .find_provinces(&spellings)
            .await
            .map_err(Arc::new)?;
        Ok(by_inner(keys, |key| &key.0, found))
    }
}

impl Loader<HubsAbroad> for StoreLoader {
    type Value = Vec<Hub>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[HubsAbroad]) -> Loaded<HubsAbroad, Vec<Hub>> {
        let codes: Vec<PartnerCode> = keys.iter().map(|key| key.0.clone()).collect();
        Ok(by_inner(
            keys,
            |key| &key.0,
            self.store
                .hubs_in_partners(&codes)
                .await
                .map_err(Arc::new)?,
        ))
    }
}

impl Loader<MemberOf> for StoreLoader {
    type Value = Vec<TradePartner>;
    type Error = Arc<Error>;

    async fn load(&self, keys: &[MemberOf]) -> Loaded<MemberOf, Vec<TradePartner>> {
        let codes: Vec<PartnerCode> = keys.iter().map(|key| key.0.clone()).collect();
        Ok(by_inner(
            keys,
            |key| &key.0,
            self.store.memberships(&codes).await.map_err(Arc::new)?,
        ))
    }
}

/// Loads one key through the request's loader.
pub async fn load<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<Option<V>>
where
    K: Send + Sync + Clone + Eq + std::hash::Hash + 'static,
    V: Send + Sync + Clone + 'static,
    StoreLoader: Loader<K, Value = V, Error = Arc<Error>>,
{
    ctx.data_unchecked::<Loaders>()
        .load_one(key)
        .await
        .map_err(|error| to_graphql(&error))
}

/// Loads an optional key: `None` stays `None`.
pub async fn load_optional<K, V>(
    ctx: &Context<'_>,
    key: Option<K>,
) -> async_graphql::Result<Option<V>>
where
    K: Send + Sync + Clone + Eq + std::hash::Hash + 'static,
    V: Send + Sync + Clone + 'static,
    StoreLoader: Loader<K, Value = V, Error = Arc<Error>>,
{
    match key {
        Some(key) => load(ctx, key).await,
        None => Ok(None),
    }
}

/// Loads several keys, in order, leaving out those not found.
pub async fn load_all<K, V>(ctx: &Context<'_>, keys: Vec<K>) -> async_graphql::Result<Vec<V>>
where
    K: Send + Sync + Clone + Eq + std::hash::Hash + 'static,
    V: Send + Sync + Clone + 'static,
    StoreLoader: Loader<K, Value = V, Error = Arc<Error>>,
{
    let mut found = ctx
        .data_unchecked::<Loaders>()
        .load_many(keys.iter().cloned())
        .await
        .map_err(|error| to_graphql(&error))?;
    Ok(keys.iter().filter_map(|key| found.remove(key)).collect())
}

/// A fresh loader for one request and its scan budget, with no delay (see
/// the module docs).
pub(super) fn loaders_for(store: &Store, budget: Arc<ScanBudget>) -> Loaders {
    let loader = StoreLoader {
        store: store.clone(),
        budget,
    };
    DataLoader::new(loader, tokio::spawn).delay(Duration::ZERO)
}
