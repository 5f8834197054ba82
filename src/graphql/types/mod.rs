//! The GraphQL object types: thin wrappers over domain values, one module
//! per entity with its root fields, plus the `Node` interface, the
//! `SearchResult` union and the root fields that span entities.

mod catalog_mutation;
mod figures;
mod flow;
mod hub;
mod partner;
mod province;
mod route;
mod shipment;
mod shipment_mutation;

use async_graphql::{Context, Interface, Object, Union, ID};

pub use self::catalog_mutation::CatalogMutation;
pub use self::flow::TradeFlow;
pub use self::hub::{Company, Hub, HubRoot};
pub use self::partner::{PartnerRoot, TradePartner};
pub use self::province::{Province, ProvinceRoot};
pub use self::route::{FreightRoute, RouteRoot};
pub use self::shipment::{Shipment, ShipmentFilterInput, ShipmentRoot};
pub use self::shipment_mutation::ShipmentMutation;
use crate::domain::MAX_PAGE_SIZE;
use crate::error::Error;
use crate::graphql::errors::ApiResult;
use crate::graphql::ids::NodeId;
use crate::graphql::loaders::load;
use crate::store::{SearchHit, Store};

/// An object with a global id that `node(id:)` fetches again.
#[derive(Interface, Clone)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "The global id: opaque, stable, unique across types."
))]
pub enum Node {
    /// A province.
    Province(Province),
    /// A trade partner.
    TradePartner(TradePartner),
    /// A hub.
    Hub(Hub),
    /// A company.
    Company(Company),
    /// A shipment.
    Shipment(Shipment),
    /// A freight route.
    FreightRoute(FreightRoute),
    /// A trade flow.
    TradeFlow(TradeFlow),
}

/// A record that matched a search.
#[derive(Union, Clone)]
pub enum SearchResult {
    /// A province.
    Province(Province),
    /// A trade partner.
    TradePartner(TradePartner),
    /// A hub.
    Hub(Hub),
    /// A company.
    Company(Company),
    /// A shipment.
    Shipment(Shipment),
    /// A freight route.
    FreightRoute(FreightRoute),
    /// A trade flow.
    TradeFlow(TradeFlow),
}

/// Fetches what a global id names, through the request's loader.
async fn fetch(ctx: &Context<'_>, id: NodeId) -> async_graphql::Result<Option<Node>> {
    Ok(match id {
        NodeId::Province(code) => load(ctx, code).await?.map(|p| Node::Province(Province(p))),
        NodeId::TradePartner(code) => load(ctx, code)
            .await?
            .map(|p| Node::TradePartner(TradePartner(p))),
        NodeId::Hub(code) => load(ctx, code).await?.map(|h| Node::Hub(Hub(h))),
        NodeId::Company(code) => load(ctx, code).await?.map(|c| Node::Company(Company(c))),
        NodeId::Shipment(id) => load(ctx, id).await?.map(|s| Node::Shipment(Shipment(s))),
        NodeId::FreightRoute(code) => load(ctx, code)
            .await?
            .map(|r| Node::FreightRoute(FreightRoute(r))),
        NodeId::TradeFlow(key) => load(ctx, key).await?.map(|f| Node::TradeFlow(TradeFlow(f))),
    })
}

/// Root fields that span entities: `node`, `nodes` and `search`.
#[derive(Default)]
pub struct NodeRoot;

#[Object]
impl NodeRoot {
    /// The object with this global id, or null when it no longer exists. A
    /// malformed id is a BAD_USER_INPUT error.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        fetch(ctx, NodeId::decode(&id).api()?).await
    }

    /// The objects with these global ids, in order, null for those that no
    /// longer exist; at most 100 ids.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Node>>> {
        if ids.len() > MAX_PAGE_SIZE {
            return Err(Error::bad_input(format!(
                "ids may hold at most {MAX_PAGE_SIZE} ids, got {}",
                ids.len()
            )))
            .api();
        }
        let ids = ids
            .iter()
            .map(|id| NodeId::decode(id))
            .collect::<Result<Vec<_>, _>>()
            .api()?;
        let fetches = ids.into_iter().map(|id| fetch(ctx, id));
        async_graphql::futures_util::future::try_join_all(fetches).await
    }

    /// Provinces, partners, hubs, companies and routes whose code or name
    /// matches `text` (any case), and the shipment whose reference is `text`:
    /// exact codes first, then name prefixes, then other matches,
    /// alphabetical within each. `first` is from 1 to 100.
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<SearchResult>> {
        let limit = usize::try_from(first)
            .ok()
            .filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit))
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "first must be between 1 and {MAX_PAGE_SIZE}, got {first}"
                ))
            })
            .api()?;
        if text.trim().is_empty() {
            return Err(Error::bad_input("text must not be empty")).api();
        }
        let store = ctx.data_unchecked::<Store>();
        let shipment = store.shipment_by_reference(&text).await.api()?;
        let hits = store.search(&text, limit).await.api()?;
        let results = shipment
            .map(|s| SearchResult::Shipment(Shipment(s)))
            .into_iter()
            .chain(hits.into_iter().map(|hit| match hit {
                SearchHit::Province(p) => SearchResult::Province(Province(p)),
                SearchHit::TradePartner(p) => SearchResult::TradePartner(TradePartner(p)),
                SearchHit::Hub(h) => SearchResult::Hub(Hub(h)),
                SearchHit::Company(c) => SearchResult::Company(Company(c)),
                SearchHit::FreightRoute(r) => SearchResult::FreightRoute(FreightRoute(r)),
            }));
        Ok(results.take(limit).collect())
    }
}
