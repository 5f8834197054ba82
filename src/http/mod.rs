//! The HTTP face: the only module that knows actix-web. `POST /graphql`
//! and `GET /graphql` run GraphQL, a WebSocket upgrade of `GET /graphql`
//! serves subscriptions (`graphql-transport-ws`), `GET /` serves GraphiQL
//! with its assets (`playground`), `GET /dashboard` a read-only view of the
//! data with its own (`dashboard`), both through `static_page`,
//! `GET /health` answers while the process
//! is up, `GET /ready` once the database is seeded, `GET /metrics` gives
//! Prometheus metrics and `GET /schema.graphql` the schema (SDL) where
//! introspection is on. It uses async-graphql's actix-web integration, the
//! one place outside `graphql` that names async-graphql types.

mod client;
mod dashboard;
mod graphql;
mod metrics;
mod playground;
mod response_cache;
mod static_page;
mod websocket;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{guard, web, App, HttpMessage, HttpResponse, HttpServer};

pub use self::client::TrustedProxies;
pub use self::graphql::HttpLimits;
use self::graphql::{Caching, Endpoint};
use self::metrics::{Metrics, Observation};
use self::websocket::Sockets;
pub use self::websocket::WebSocketPolicy;
use crate::error::{Error, Result};
use crate::graphql::{Api, RequestId};
use crate::store::Store;

/// A bound HTTP server, not yet running.
pub struct Server(actix_web::dev::Server);

impl Server {
    /// Serves until Ctrl-C or SIGTERM, after the requests in flight finish.
    pub async fn run(self) -> Result<()> {
        self.0.await.map_err(|source| Error::Io {
            context: "server failed".into(),
            source,
        })
    }
}

/// Runs a future on the runtime actix-web needs, from synchronous code.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    actix_web::rt::System::new().block_on(future)
}

/// How the HTTP face behaves.
#[derive(Clone)]
pub struct HttpSettings {
    /// Who may open WebSocket connections.
    pub websocket: WebSocketPolicy,
    /// What a request may ask of the HTTP layer.
    pub limits: HttpLimits,
    /// Whether `GET /` serves GraphiQL (and `/playground/` its assets).
    pub playground: bool,
    /// Whether `GET /dashboard` serves the dashboard (and `/dashboard/` its
    /// assets).
    pub dashboard: bool,
    /// Whether `GET /schema.graphql` serves the SDL: it tells what
    /// introspection tells, so it follows the same setting.
    pub introspection: bool,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Seconds a shared cache may reuse a successful GET response.
    pub cache_max_age: u32,
    /// How long requests in flight may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// The most bytes of answers the response cache keeps; 0 turns it off.
    pub response_cache_bytes: usize,
}

/// Binds the routes to a listener. The store answers readiness, gives the
/// revision behind `ETag`s and the database size for the metrics.
pub fn server(
    listener: TcpListener,
    api: Api,
    store: Store,
    settings: HttpSettings,
) -> Result<Server> {
    let limits = settings.limits;
    let endpoint = web::Data::new(Endpoint {
        api,
        limits,
        caching: Caching {
            max_age: settings.cache_max_age,
        },
        store: store.clone(),
        responses: response_cache::ResponseCache::new(settings.response_cache_bytes),
        trusted_proxies: settings.trusted_proxies,
    });
    let metrics = web::Data::new(Metrics::new(store));
    let origins = settings.websocket.allowed_origins.clone();
    let sockets = web::Data::new(Sockets::new(settings.websocket));
    let pages: Vec<_> = [
        settings.playground.then(playground::playground),
        settings.dashboard.then(dashboard::dashboard),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Rendered once: the schema's types cannot change while it runs.
    let sdl = settings
        .introspection
        .then(|| web::Data::new(SchemaText(web::Bytes::from(crate::graphql::sdl()))));
    let server = HttpServer::new(move || {
        let observed = metrics.clone();
        App::new()
            .wrap_fn(move |request, service| {
                let started = Instant::now();
                let id = request_id(request.headers());
                request.extensions_mut().insert(RequestId(id.clone()));
                let method = request.method().clone();
                let path = request.path().to_owned();
                let response = service.call(request);
                let metrics = observed.clone();
                async move {
                    let mut response = response.await?;
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), value);
                    }
                    let elapsed = started.elapsed();
                    let observation = response
                        .response()
                        .extensions()
                        .get::<Observation>()
                        .cloned();
                    if let Some(observation) = &observation {
                        metrics.observe(observation, elapsed);
                    }
                    let (operation, code) = observation
                        .map(|observation| (observation.operation, observation.code))
                        .unwrap_or_default();
                    tracing::info!(
                        target: "tradegraph::access",
                        request_id = %id,
                        method = %method,
                        path = %path,
                        status = response.status().as_u16(),
                        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                        operation = %operation,
                        code = %code,
                        "request"
                    );
                    Ok(response)
                }
            })
            .wrap(cors(origins.clone()))
            .app_data(endpoint.clone())
            .app_data(metrics.clone())
            .app_data(sockets.clone())
            // Bodies past the limit are refused with 413 before they are read.
            .app_data(web::PayloadConfig::new(limits.max_body_bytes))
            .route(
                "/graphql",
                web::get()
                    .guard(guard::Header("upgrade", "websocket"))
                    .to(websocket::subscriptions),
            )
            .route("/graphql", web::post().to(graphql::post))
            .route("/graphql", web::get().to(graphql::get))
            .route("/graphql", web::route().to(graphql::other_method))
            .configure(|config| {
                for page in &pages {
                    page.routes(config);
                }
            })
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(readiness))
            .route("/metrics", web::get().to(prometheus))
            .configure(|config| {
                if let Some(sdl) = &sdl {
                    config
                        .app_data(sdl.clone())
                        .route("/schema.graphql", web::get().to(schema_sdl));
                }
            })
    })
    .shutdown_timeout(settings.shutdown_grace.as_secs())
    .listen(listener)
    .map_err(|source| Error::Io {
        context: "cannot serve on the listener".into(),
        source,
    })?
    .run();
    Ok(Server(server))
}

/// CORS for browsers on the allowed origins (and the server's own): the
/// methods, headers and preflight answers a GraphQL client needs.
fn cors(allowed: Vec<String>) -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin_fn(move |origin, request| {
            let own = request
                .headers
                .get("host")
                .and_then(|host| host.to_str().ok());
            origin_allowed(origin.to_str().unwrap_or_default(), own, &allowed)
        })
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            "content-type",
            "authorization",
            "accept",
            "apollo-require-preflight",
            "x-apollo-operation-name",
            "x-request-id",
        ])
        .expose_headers(["x-request-id"])
        .max_age(600)
}

/// Whether a browser page on `origin` may use the API: the server's own
/// origin (same host as `own_host`) or one of the allowed ones. The one rule
/// behind CORS and the WebSocket origin check.
fn origin_allowed(origin: &str, own_host: Option<&str>, allowed: &[String]) -> bool {
    let same_site = own_host.is_some_and(|own| {
        origin
            .split_once("://")
            .is_some_and(|(_, host)| host.eq_ignore_ascii_case(own))
    });
    same_site || allowed.iter().any(|allowed| allowed == origin)
}

/// Readiness: 200 once the database is open and seeded, else 503.
async fn readiness(endpoint: web::Data<Endpoint>) -> HttpResponse {
    if endpoint.store.is_seeded().await.unwrap_or(false) {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "starting" }))
    }
}

/// The request's id: the client's `x-request-id` when it is a sensible one
/// (1 to 128 letters, digits, `-`, `_`, `.`), else a new random one.
fn request_id(headers: &actix_web::http::header::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map_or_else(|| format!("{:016x}", fastrand::u64(..)), str::to_owned)
}

/// The metrics, in the Prometheus (OpenMetrics) text format.
async fn prometheus(metrics: web::Data<Metrics>) -> HttpResponse {
    // Reading the database size walks its files: off the async threads.
    match web::block(move || metrics.render()).await {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(error) => {
            tracing::error!(%error, "cannot render the metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The schema in SDL, the same text as the committed `schema.graphql`.
struct SchemaText(web::Bytes);

/// `GET /schema.graphql`, for tools (codegen, linters) pointed at a running
/// server. Plain text, since SDL has no registered media type of its own.
async fn schema_sdl(sdl: web::Data<SchemaText>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(sdl.0.clone())
}

/// Liveness.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
