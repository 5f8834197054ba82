//! The GraphQL API as every transport runs it: a request passes
//! tradegraph's checks first (persisted query, token limit, parse through
//! the cache, limits and budget), gets its own batching loader, runs on the
//! schema, and comes back with a code on every error and its cost reported.
//!
//! These steps are plain calls here rather than async-graphql extensions on
//! purpose: with any extension registered, async-graphql wraps the
//! resolution of every field and every list item in each extension's hook,
//! which costs more than the resolvers themselves on in-memory data.

use std::any::{Any, TypeId};
use std::sync::Arc;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::{Data, Request, Response, ServerResult};

use super::budget::{ClientAddress, ClientKey};
use super::cost::{measure, CatalogSizes, CostModel};
use super::errors::{give_codes, to_graphql, RequestId};
use super::limits::Limits;
use super::loaders::loaders_for;
use super::notices::Notices;
use super::parse_cache::ParseCache;
use super::{refused_before_execution, PersistedQueries, PresentedToken, TradeSchema};
use crate::auth::WriteTokens;
use crate::store::Store;

/// The schema behind the checks every request passes. Cheap to clone; all
/// clones share it.
#[derive(Clone)]
pub struct Api(Arc<Parts>);

/// What the API is made of.
struct Parts {
    schema: TradeSchema,
    cost_model: CostModel,
    persisted: Arc<PersistedQueries>,
    documents: ParseCache,
    limits: Limits,
    tokens: WriteTokens,
    store: Store,
}

/// A request ready for the schema, and what its answer needs.
struct Prepared {
    request: Request,
    notices: Arc<Notices>,
    cost: u64,
    request_id: Option<String>,
}

impl Api {
    /// The API over a schema.
    pub(super) fn new(
        schema: TradeSchema,
        persisted: Arc<PersistedQueries>,
        limits: Limits,
        tokens: WriteTokens,
        store: Store,
    ) -> Self {
        Self(Arc::new(Parts {
            cost_model: CostModel::of_sdl(&schema.sdl()),
            schema,
            persisted,
            documents: ParseCache::new(),
            limits,
            tokens,
            store,
        }))
    }

    /// Runs a query or a mutation. The transport puts the client's
    /// [`PresentedToken`], [`ClientAddress`] and [`RequestId`] in the
    /// request's data.
    pub async fn execute(&self, request: Request) -> Response {
        match self.prepare(request, None).await {
            Ok(prepared) => {
                let mut response = self.0.schema.execute(prepared.request).await;
                prepared.notices.report(&mut response);
                self.finish(response, prepared.cost, prepared.request_id.as_deref())
            }
            Err(error) => Response::from_errors(vec![error]),
        }
    }

    /// Runs the checks and gives the request its document, its loader and
    /// its scan budget. Data the transport keeps for a whole connection
    /// comes in `session`.
    async fn prepare(
        &self,
        mut request: Request,
        session: Option<&Data>,
    ) -> ServerResult<Prepared> {
        let parts = &self.0;
        parts.persisted.resolve(&mut request)?;
        parts.limits.check_tokens(&request.query)?;
        let document = parts.documents.parse(&request.query)?;
        let internal =
            |error: crate::error::Error| to_graphql(&error).into_server_error(Default::default());
        let sizes = CatalogSizes::of(&parts.store).await.map_err(internal)?;
        let measured = measure(&parts.cost_model, &sizes, &document, &request.variables);
        let scans = measured
            .scan_cost(&parts.store, parts.limits.limits.max_scan)
            .await;
        let budget = Arc::new(parts.limits.scan_budget(&document));
        let notices = Arc::new(Notices::default());
        let client = || {
            ClientKey::of(
                data_of::<PresentedToken>(&request.data, session),
                &parts.tokens,
                data_of::<ClientAddress>(&request.data, session),
            )
        };
        let cost = measured.fields.saturating_add(scans);
        let cost = parts
            .limits
            .check_document(&document, (measured.depth, cost), client)?;
        let request_id = data_of::<RequestId>(&request.data, session).map(|id| id.0.clone());
        request.set_parsed_query(document);
        Ok(Prepared {
            request: request
                .data(loaders_for(&parts.store, budget.clone()))
                .data(budget)
                .data(notices.clone()),
            notices,
            cost,
            request_id,
        })
    }

    /// Codes the errors of a response the schema gave and reports the
    /// cost of one it executed.
    fn finish(&self, mut response: Response, cost: u64, request_id: Option<&str>) -> Response {
        let executed = !refused_before_execution(&response);
        give_codes(&mut response, request_id);
        if executed {
            self.0.limits.report_cost(&mut response, cost);
        }
        response
    }
}

/// A value of type `T` in a request's data, else in its connection's.
fn data_of<'a, T: Any>(request: &'a Data, session: Option<&'a Data>) -> Option<&'a T> {
    let id = TypeId::of::<T>();
    request
        .get(&id)
        .or_else(|| session.and_then(|session| session.get(&id)))
        .and_then(|value| value.downcast_ref::<T>())
}

/// The WebSocket transport runs subscriptions, queries and mutations
/// through here.
impl async_graphql::Executor for Api {
    async fn execute(&self, request: Request) -> Response {
        Api::execute(self, request).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let api = self.clone();
        stream::once(async move {
            match api.prepare(request, session_data.as_deref()).await {
                Ok(prepared) => {
                    let Prepared {
                        request,
                        notices,
                        cost,
                        request_id,
                    } = prepared;
                    let schema = api.0.schema.clone();
                    schema
                        .execute_stream_with_session_data(request, session_data.unwrap_or_default())
                        .map(move |mut response| {
                            notices.report(&mut response);
                            api.finish(response, cost, request_id.as_deref())
                        })
                        .boxed()
                }
                Err(error) => {
                    stream::once(async move { Response::from_errors(vec![error]) }).boxed()
                }
            }
        })
        .flatten()
        .boxed()
    }
}
