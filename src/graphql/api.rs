//! The GraphQL API as every transport runs it: a request passes
//! tradegraph's checks first (persisted query, token limit, parse through
//! the cache, limits and budget), gets its own batching loader, runs on the
//! schema, and comes back with a code on every error and its cost reported.
//!
//! What became of it is an [`Outcome`]: answered, refused before execution
//! (malformed or not), unauthenticated, or to be retried after so many
//! seconds. The HTTP layer maps the outcome to a status and headers, so it
//! never reads error extensions back; the WebSocket transport, which has no
//! statuses, takes the response alone through [`async_graphql::Executor`].
//!
//! These steps are plain calls here rather than async-graphql extensions on
//! purpose: with any extension registered, async-graphql wraps the
//! resolution of every field and every list item in each extension's hook,
//! which costs more than the resolvers themselves on in-memory data.

use std::any::{Any, TypeId};
use std::sync::Arc;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::{Data, Request, Response, ServerError};

use super::budget::{ClientAddress, ClientKey};
use super::codes;
use super::cost::{measure, CatalogSizes, CostModel};
use super::errors::{coded, give_codes, has_code, to_graphql, RequestId};
use super::limits::Limits;
use super::limits::RateLimited;
use super::loaders::loaders_for;
use super::notices::Notices;
use super::parse_cache::ParseCache;
use super::{
    is_unauthenticated, operation_of, refused_before_execution, Operation, PersistedQueries,
    PresentedToken, TradeSchema,
};
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
    /// The catalogs' sizes at the revision they were read (a std mutex:
    /// held only to copy them).
    catalog_sizes: std::sync::Mutex<Option<(u64, CatalogSizes)>>,
    persisted: Arc<PersistedQueries>,
    documents: ParseCache,
    limits: Limits,
    tokens: WriteTokens,
    store: Store,
}

/// What became of a request.
#[derive(Debug)]
pub enum Outcome {
    /// It ran: `data`, perhaps with errors in some fields, and its cost in
    /// `extensions.cost`. `cost` is what its client was charged, kept with
    /// a cached answer so that a repeat is charged the same.
    Answered {
        /// The response.
        response: Response,
        /// The request's cost.
        cost: u64,
    },
    /// Refused before execution as a malformed request (`BAD_REQUEST`):
    /// no document, or a `persistedQuery` extension that is malformed or
    /// does not match the document. No `data`.
    Malformed(Response),
    /// Refused before execution, or stopped with nothing to show: the
    /// document does not parse, does not fit the schema, breaks a limit, is
    /// not allowed here, or ran out of time. No `data`.
    Refused(Response),
    /// It ran, and every error says a write needed a valid write token.
    Unauthenticated(Response),
    /// The store was unavailable, before or while it ran (`UNAVAILABLE`):
    /// the client should retry later. Its `data`, if any, is not sent.
    Unavailable(Response),
    /// Refused before execution because the client's cost budget cannot
    /// pay for it now (`RATE_LIMITED`); it fits after `seconds`.
    RetryAfter {
        /// The response, whose error says the same in
        /// `extensions.retryAfterSeconds`.
        response: Response,
        /// Whole seconds to wait.
        seconds: u64,
    },
}

impl Outcome {
    /// A refusal that is no error of the schema's, made by a transport (the
    /// HTTP timeout): one error with a code, pointing at no field.
    pub fn refused(code: &str, message: &str) -> Self {
        Outcome::Refused(Response::from_errors(vec![coded(code, message)]))
    }

    /// The refusal of a malformed request (`BAD_REQUEST`).
    pub fn malformed(message: &str) -> Self {
        Outcome::Malformed(Response::from_errors(vec![coded(
            codes::BAD_REQUEST,
            message,
        )]))
    }

    /// The refusal of an error raised before the schema ran: malformed
    /// when it is `BAD_REQUEST`, else refused. Boxed, as every refusal
    /// returned in an `Err` is: an outcome holds a whole response, and the
    /// refusal is the rare path.
    fn before_execution(error: ServerError) -> Box<Self> {
        let response = Response::from_errors(vec![error]);
        let any = |code| response.errors.iter().any(|error| has_code(error, code));
        Box::new(if any(codes::BAD_REQUEST) {
            Outcome::Malformed(response)
        } else if any(codes::UNAVAILABLE) {
            Outcome::Unavailable(response)
        } else {
            Outcome::Refused(response)
        })
    }

    /// The GraphQL response.
    pub fn response(&self) -> &Response {
        match self {
            Outcome::Answered { response, .. }
            | Outcome::Malformed(response)
            | Outcome::Refused(response)
            | Outcome::Unauthenticated(response)
            | Outcome::Unavailable(response)
            | Outcome::RetryAfter { response, .. } => response,
        }
    }

    /// The GraphQL response, for a transport without statuses.
    pub fn into_response(self) -> Response {
        match self {
            Outcome::Answered { response, .. }
            | Outcome::Malformed(response)
            | Outcome::Refused(response)
            | Outcome::Unauthenticated(response)
            | Outcome::Unavailable(response)
            | Outcome::RetryAfter { response, .. } => response,
        }
    }

    /// Whether nothing ran, or what ran is not sent (then the response has
    /// no `data`, and the GraphQL-over-HTTP specification asks for none in
    /// the body).
    pub fn is_refused_before_execution(&self) -> bool {
        matches!(
            self,
            Outcome::Malformed(_)
                | Outcome::Refused(_)
                | Outcome::RetryAfter { .. }
                | Outcome::Unavailable(_)
        )
    }

    /// The `extensions.code` of the first error, for the metrics and the
    /// access log; `None` when there is no error (or it has no code).
    pub fn first_code(&self) -> Option<&str> {
        let error = self.response().errors.first()?;
        match error.extensions.as_ref()?.get("code") {
            Some(async_graphql::Value::String(code)) => Some(code),
            _ => None,
        }
    }
}

impl From<RateLimited> for Outcome {
    fn from(limited: RateLimited) -> Self {
        Outcome::RetryAfter {
            response: Response::from_errors(vec![*limited.error]),
            seconds: limited.retry_after_seconds,
        }
    }
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
            catalog_sizes: std::sync::Mutex::new(None),
            schema,
            persisted,
            documents: ParseCache::new(),
            limits,
            tokens,
            store,
        }))
    }

    /// Resolves a request's persisted query in place and says which
    /// operation it would run (by its name, or the name it asked for), so a
    /// transport can decide what it allows before anything runs: GET never
    /// runs a mutation, and a hash must not smuggle one in.
    pub fn resolve(&self, request: &mut Request) -> Result<Operation, Box<Outcome>> {
        self.0
            .persisted
            .resolve(request)
            .map_err(Outcome::before_execution)?;
        Ok(operation_of(request).unwrap_or_else(|| Operation {
            is_mutation: false,
            name: request.operation_name.clone().unwrap_or_default(),
        }))
    }

    /// Runs a query or a mutation. The transport puts the client's
    /// [`PresentedToken`], [`ClientAddress`] and [`RequestId`] in the
    /// request's data.
    pub async fn run(&self, request: Request) -> Outcome {
        match self.prepare(request, None).await {
            Ok(prepared) => {
                let mut response = self.0.schema.execute(prepared.request).await;
                prepared.notices.report(&mut response);
                self.finish(response, prepared.cost, prepared.request_id.as_deref())
            }
            Err(refused) => *refused,
        }
    }

    /// Runs a query or a mutation and gives its response alone, for callers
    /// without statuses (in-process benchmarks).
    pub async fn execute(&self, request: Request) -> Response {
        self.run(request).await.into_response()
    }

    /// Charges an answer the transport remembered (the response cache) to
    /// the client's budget, as if its request had run again: a cached
    /// answer costs the server little, but the budget is the client's share
    /// of the server, and answers it may not pay for would let it skip
    /// the queue. `Err` is the refusal to send instead.
    pub fn charge_remembered(
        &self,
        token: Option<&PresentedToken>,
        address: Option<&ClientAddress>,
        cost: u64,
    ) -> Result<(), Box<Outcome>> {
        let parts = &self.0;
        parts
            .limits
            .charge(cost, || ClientKey::of(token, &parts.tokens, address))
            .map_err(|limited| Box::new(Outcome::from(limited)))
    }

    /// Runs the checks and gives the request its document, its loader and
    /// its scan budget. Data the transport keeps for a whole connection
    /// comes in `session`. Measuring the cost reads the store's counters.
    async fn prepare(
        &self,
        mut request: Request,
        session: Option<&Data>,
    ) -> Result<Prepared, Box<Outcome>> {
        let parts = &self.0;
        parts
            .persisted
            .resolve(&mut request)
            .map_err(Outcome::before_execution)?;
        // An empty document (or a misspelt `query` key) is a malformed
        // request rather than a document that does not parse.
        if request.query.trim().is_empty() {
            return Err(Box::new(Outcome::malformed(
                "the request has no query: send a non-empty GraphQL document as `query`",
            )));
        }
        parts
            .limits
            .check_tokens(&request.query)
            .map_err(Outcome::before_execution)?;
        let document = parts
            .documents
            .parse(&request.query)
            .map_err(Outcome::before_execution)?;
        let internal = |error: crate::error::Error| {
            Outcome::before_execution(to_graphql(&error).into_server_error(Default::default()))
        };
        let sizes = CatalogSizes::current(&parts.store, &parts.catalog_sizes)
            .await
            .map_err(internal)?;
        let measured = measure(&parts.cost_model, &sizes, &document, &request.variables);
        let scans = measured
            .scan_cost(&parts.store, parts.limits.limits.max_scan)
            .await;
        let cost = parts
            .limits
            .check_document(
                &document,
                (measured.depth, measured.fields.saturating_add(scans)),
            )
            .map_err(Outcome::before_execution)?;
        parts
            .limits
            .charge(cost, || {
                ClientKey::of(
                    data_of::<PresentedToken>(&request.data, session),
                    &parts.tokens,
                    data_of::<ClientAddress>(&request.data, session),
                )
            })
            .map_err(|limited| Box::new(Outcome::from(limited)))?;
        let request_id = data_of::<RequestId>(&request.data, session).map(|id| id.0.clone());
        let budget = Arc::new(parts.limits.scan_budget(&document));
        request.set_parsed_query(document);
        let notices = Arc::new(Notices::default());
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

    /// Codes the errors of a response the schema gave, reports the cost of
    /// one it executed, and says what became of it.
    fn finish(&self, mut response: Response, cost: u64, request_id: Option<&str>) -> Outcome {
        let executed = !refused_before_execution(&response);
        give_codes(&mut response, request_id);
        if !executed {
            return Outcome::Refused(response);
        }
        self.0.limits.report_cost(&mut response, cost);
        if response
            .errors
            .iter()
            .any(|error| has_code(error, codes::UNAVAILABLE))
        {
            Outcome::Unavailable(response)
        } else if is_unauthenticated(&response) {
            Outcome::Unauthenticated(response)
        } else {
            Outcome::Answered { response, cost }
        }
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
/// through here, and takes each response alone.
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
                Ok(Prepared {
                    request,
                    notices,
                    cost,
                    request_id,
                }) => {
                    let finisher = api.clone();
                    api.0
                        .schema
                        .execute_stream_with_session_data(request, session_data.unwrap_or_default())
                        .map(move |mut response| {
                            notices.report(&mut response);
                            finisher
                                .finish(response, cost, request_id.as_deref())
                                .into_response()
                        })
                        .boxed()
                }
                Err(refused) => stream::once(async move { refused.into_response() }).boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}
