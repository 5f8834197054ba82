//! The HTTP face: the only module that knows actix-web. `POST /graphql`
//! and `GET /graphql` run GraphQL, a WebSocket upgrade of `GET /graphql`
//! serves subscriptions (`graphql-transport-ws`), `GET /` serves GraphiQL
//! with its assets (`playground`) and `GET /health` answers while the
//! process is up. It uses async-graphql's actix-web integration, the one
//! place outside `graphql` that names async-graphql types.

mod graphql;
mod playground;
mod websocket;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{guard, web, App, HttpMessage, HttpResponse, HttpServer};

pub use self::graphql::HttpLimits;
use self::playground::Playground;
use self::websocket::Sockets;
pub use self::websocket::WebSocketPolicy;
use crate::error::{Error, Result};
use crate::graphql::{RequestId, TradeSchema};

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
    /// Whether the database is open and seeded, for `GET /ready`.
    pub ready: Readiness,
}

/// Tells whether the server can answer queries.
pub type Readiness = Arc<dyn Fn() -> bool + Send + Sync>;

/// Binds the routes to a listener.
pub fn server(
    listener: TcpListener,
    schema: TradeSchema,
    settings: HttpSettings,
) -> Result<Server> {
    let schema = web::Data::new(schema);
    let limits = settings.limits;
    let http_limits = web::Data::new(limits);
    let origins = settings.websocket.allowed_origins.clone();
    let sockets = web::Data::new(Sockets::new(settings.websocket));
    let playground = settings.playground.then(Playground::new);
    let ready = web::Data::new(settings.ready);
    let server = HttpServer::new(move || {
        App::new()
            .wrap_fn(|request, service| {
                let id = request_id(request.headers());
                request.extensions_mut().insert(RequestId(id.clone()));
                let response = service.call(request);
                async move {
                    let mut response = response.await?;
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), value);
                    }
                    Ok(response)
                }
            })
            .wrap(cors(origins.clone()))
            .app_data(ready.clone())
            .wrap(actix_web::middleware::Logger::new(
                "%r %s %Dms request_id=%{x-request-id}o",
            ))
            .app_data(schema.clone())
            .app_data(sockets.clone())
            .app_data(http_limits.clone())
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
                if let Some(playground) = &playground {
                    playground.routes(config);
                }
            })
            .route("/health", web::get().to(health))
            .route("/ready", web::get().to(readiness))
            .route("/ready", web::get().to(readiness))
    })
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
async fn readiness(ready: web::Data<Readiness>) -> HttpResponse {
    if (ready.get_ref())() {
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

/// Liveness.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
