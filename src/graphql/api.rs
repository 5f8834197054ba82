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
use super::errors::{give_codes, RequestId};
use super::limits::Limits;
use super::loaders::loaders_for;
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
    persisted: Arc<PersistedQueries>,
    documents: ParseCache,
    limits: Limits,
    tokens: WriteTokens,
    store: Store,
}

/// A request ready for the schema, and what its answer needs.
struct Prepared {
    request: Request,
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
        match self.prepare(request, None) {
            Ok(prepared) => {
                let response = self.0.schema.execute(prepared.request).await;
                self.finish(response, prepared.cost, prepared.request_id.as_deref())
            }
            Err(error) => Response::from_errors(vec![error]),
        }
    }

    /// Runs the checks and gives the request its document and loader.
    /// Data the transport keeps for a whole connection comes in `session`.
    fn prepare(&self, mut request: Request, session: Option<&Data>) -> ServerResult<Prepared> {
        let parts = &self.0;
        parts.persisted.resolve(&mut request)?;
        parts.limits.check_tokens(&request.query)?;
        let document = parts.documents.parse(&request.query)?;
        let client = || {
            ClientKey::of(
                data_of::<PresentedToken>(&request.data, session),
                &parts.tokens,
                data_of::<ClientAddress>(&request.data, session),
            )
        };
        let cost = parts
            .limits
            .check_document(&document, &request.variables, client)?;
        let request_id = data_of::<RequestId>(&request.data, session).map(|id| id.0.clone());
        request.set_parsed_query(document);
        Ok(Prepared {
            request: request.data(loaders_for(&parts.store)),
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
        match self.prepare(request, session_data.as_deref()) {
            Ok(prepared) => {
                let api = self.clone();
                let Prepared {
                    request,
                    cost,
                    request_id,
                } = prepared;
                self.0
                    .schema
                    .execute_stream_with_session_data(request, session_data.unwrap_or_default())
                    .map(move |response| api.finish(response, cost, request_id.as_deref()))
                    .boxed()
            }
            Err(error) => stream::once(async move { Response::from_errors(vec![error]) }).boxed(),
        }
    }
}
