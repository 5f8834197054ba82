//! Relay connections: one generic type with a concrete GraphQL name per
//! entity (`ShipmentConnection`, ...), built from a store page.

use async_graphql::{Context, Object, OutputType, SimpleObject};

use super::ids::{decode_cursor, encode_cursor};
use super::loaders::{load, ShipmentCount};
use super::types::{Company, FreightRoute, Hub, Province, Shipment, TradeFlow, TradePartner};
use crate::domain::{Page, PageRequest, ShipmentFilter, Stop};
use crate::error::Result;

/// Reads the Relay arguments of a connection field.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageRequest> {
    let after = after
        .map(|cursor| decode_cursor("after", &cursor))
        .transpose()?;
    let before = before
        .map(|cursor| decode_cursor("before", &cursor))
        .transpose()?;
    PageRequest::new(first, after, last, before)
}

/// How a connection learns the size of its whole list.
#[derive(Clone)]
pub enum Total {
    /// Known when the page was read.
    Known(u64),
    /// Counted only when asked for, through the request's loader.
    Shipments(ShipmentFilter),
}

/// A page of a list, with cursors, page info and the list's size.
pub struct Connection<N: OutputType> {
    edges: Vec<Edge<N>>,
    page_info: PageInfo,
    total: Total,
}

impl<N: OutputType> Connection<N> {
    /// A connection over a store page whose items are already wrapped.
    pub fn new(page: Page<N>, total: Total) -> Self {
        let edges: Vec<Edge<N>> = page
            .items
            .into_iter()
            .map(|(position, node)| Edge {
                cursor: encode_cursor(&position),
                node,
            })
            .collect();
        // A page whose scan stopped early ends where it stopped, so that a
        // client following the cursor goes on from there.
        let (start_cursor, end_cursor) = match &page.stopped_at {
            Some(Stop::After(position)) => (
                edges.first().map(|edge| edge.cursor.clone()),
                Some(encode_cursor(position)),
            ),
            Some(Stop::Before(position)) => (
                Some(encode_cursor(position)),
                edges.last().map(|edge| edge.cursor.clone()),
            ),
            None => (
                edges.first().map(|edge| edge.cursor.clone()),
                edges.last().map(|edge| edge.cursor.clone()),
            ),
        };
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor,
            end_cursor,
        };
        Self {
            edges,
            page_info,
            total,
        }
    }

    /// A connection with nothing in it (a filter that cannot match).
    pub fn empty() -> Self {
        Self::new(Page::default(), Total::Known(0))
    }
}

/// A page of a list, with cursors, page info and the list's size.
#[Object(
    concrete(name = "ProvinceConnection", params(Province)),
    concrete(name = "TradePartnerConnection", params(TradePartner)),
    concrete(name = "HubConnection", params(Hub)),
    concrete(name = "CompanyConnection", params(Company)),
    concrete(name = "ShipmentConnection", params(Shipment)),
    concrete(name = "FreightRouteConnection", params(FreightRoute)),
    concrete(name = "TradeFlowConnection", params(TradeFlow))
)]
impl<N: OutputType + Clone> Connection<N>
where
    Edge<N>: OutputType,
{
    /// The items of this page, each with its cursor.
    async fn edges(&self) -> Vec<Edge<N>> {
        self.edges.clone()
    }

    /// The items of this page, without cursors.
    async fn nodes(&self) -> Vec<N> {
        self.edges.iter().map(|edge| edge.node.clone()).collect()
    }

    /// Where this page lies in the list.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many items the whole list holds, on every page.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        match &self.total {
            Total::Known(count) => Ok(*count),
            Total::Shipments(filter) => Ok(load(ctx, ShipmentCount(filter.clone()))
                .await?
                .unwrap_or_default()),
        }
    }
}

/// An item of a list and the cursor that names its position.
#[derive(SimpleObject, Clone)]
#[graphql(
    concrete(name = "ProvinceEdge", params(Province)),
    concrete(name = "TradePartnerEdge", params(TradePartner)),
    concrete(name = "HubEdge", params(Hub)),
    concrete(name = "CompanyEdge", params(Company)),
    concrete(name = "ShipmentEdge", params(Shipment)),
    concrete(name = "FreightRouteEdge", params(FreightRoute)),
    concrete(name = "TradeFlowEdge", params(TradeFlow))
)]
pub struct Edge<N: OutputType> {
    /// Pass as `after` (or `before`) to continue from this item.
    pub cursor: String,
    /// The item.
    pub node: N,
}

/// Where a page lies in its list.
#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    /// Whether items follow this page.
    pub has_next_page: bool,
    /// Whether items precede this page.
    pub has_previous_page: bool,
    /// The cursor of the first item of this page; paging backwards, a
    /// page cut short by the scan limit (a `SCAN_LIMIT` notice) starts
    /// where its scan stopped instead.
    pub start_cursor: Option<String>,
    /// The cursor of the last item of this page; a page cut short by the
    /// scan limit (a `SCAN_LIMIT` notice) ends where its scan stopped
    /// instead, so that `after: endCursor` goes on from there.
    pub end_cursor: Option<String>,
}
