//! The HTTP face: the only module that knows actix-web. `POST /graphql`
//! and `GET /graphql` run GraphQL, a WebSocket upgrade of `GET /graphql`
//! serves subscriptions (`graphql-transport-ws`), `GET /` serves GraphiQL
//! and `GET /health` answers while the process is up. It uses
//! async-graphql's actix-web integration, the one place outside `graphql`
//! that names async-graphql types.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{guard, web, App, HttpRequest, HttpResponse, HttpServer};
use async_graphql_actix_web::{GraphQLRequest, GraphQLSubscription};

use crate::error::{Error, Result};
use crate::graphql::{
    is_mutation, is_unauthenticated, playground_html, PresentedToken, TradeSchema,
};

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

/// Who may open WebSocket connections, and how many at once.
#[derive(Debug, Clone)]
pub struct WebSocketPolicy {
    /// Origins (`https://app.example.com`) browsers may connect from,
    /// besides the server's own. Clients that send no `Origin` (not
    /// browsers) may always connect.
    pub allowed_origins: Vec<String>,
    /// The most connections open at once; more are refused with 503.
    pub max_connections: usize,
}

/// The WebSocket policy and the number of connections open.
struct Sockets {
    policy: WebSocketPolicy,
    open: Arc<AtomicUsize>,
}

/// One of the open connections; gives its place back when the connection
/// ends and its data is dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Sockets {
    /// Takes a place for a new connection, if one is free.
    fn take_place(&self) -> Option<Place> {
        let taken = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.policy.max_connections).then_some(open + 1)
            });
        taken.ok().map(|_| Place(self.open.clone()))
    }

    /// Whether a browser on the request's `Origin` may connect: no origin
    /// (not a browser), the server's own, or an allowed one.
    fn origin_allowed(&self, request: &HttpRequest) -> bool {
        let Some(origin) = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok())
        else {
            return true;
        };
        let own = request.connection_info().host().to_owned();
        let same_site = origin
            .split_once("://")
            .is_some_and(|(_, host)| host.eq_ignore_ascii_case(&own));
        same_site
            || self
                .policy
                .allowed_origins
                .iter()
                .any(|allowed| allowed == origin)
    }
}

/// Binds the routes to a listener.
pub fn server(
    listener: TcpListener,
    schema: TradeSchema,
    policy: WebSocketPolicy,
) -> Result<Server> {
    let schema = web::Data::new(schema);
    let sockets = web::Data::new(Sockets {
        policy,
        open: Arc::new(AtomicUsize::new(0)),
    });
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms"))
            .app_data(schema.clone())
            .app_data(sockets.clone())
            .route(
                "/graphql",
                web::get()
                    .guard(guard::Header("upgrade", "websocket"))
                    .to(subscriptions),
            )
            .route("/graphql", web::post().to(graphql))
            .route("/graphql", web::get().to(graphql))
            .route("/", web::get().to(graphiql))
            .route("/health", web::get().to(health))
    })
    .listen(listener)
    .map_err(|source| Error::Io {
        context: "cannot serve on the listener".into(),
        source,
    })?
    .run();
    Ok(Server(server))
}

/// Runs one GraphQL request with the write token the request presents.
/// A request refused only for its token answers 401; a mutation over GET
/// answers 405, since GET must never change anything.
async fn graphql(
    schema: web::Data<TradeSchema>,
    http: HttpRequest,
    request: GraphQLRequest,
) -> HttpResponse {
    let authorization = http
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let token = PresentedToken::from_authorization(authorization);
    let request = request.into_inner();
    if http.method() == actix_web::http::Method::GET && is_mutation(&request) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .json(serde_json::json!({ "errors": [{
                "message": "mutations are not allowed over GET: send them with POST",
                "extensions": { "code": "BAD_REQUEST" }
            }] }));
    }
    let response = schema.execute(request.data(token)).await;
    let mut builder = if is_unauthenticated(&response) {
        let mut builder = HttpResponse::Unauthorized();
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        builder
    } else {
        HttpResponse::Ok()
    };
    builder.json(response)
}

/// Upgrades to a `graphql-transport-ws` connection, if the origin is
/// allowed and a place is free. The write token comes in the
/// `connection_init` payload.
async fn subscriptions(
    schema: web::Data<TradeSchema>,
    sockets: web::Data<Sockets>,
    request: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    if !sockets.origin_allowed(&request) {
        return Ok(HttpResponse::Forbidden().json(serde_json::json!({
            "error": "this origin may not open WebSocket connections; allow it with --cors-origin"
        })));
    }
    let Some(place) = sockets.take_place() else {
        return Ok(HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "error": format!("too many WebSocket connections (at most {}); try again later", sockets.policy.max_connections)
        })));
    };
    let mut data = async_graphql::Data::default();
    data.insert(place);
    GraphQLSubscription::new(TradeSchema::clone(&schema))
        .with_data(data)
        .on_connection_init(|payload| async move {
            let mut data = async_graphql::Data::default();
            data.insert(PresentedToken::from_init_payload(&payload));
            Ok(data)
        })
        .start(&request, payload)
}

/// The GraphiQL playground.
async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(playground_html())
}

/// Liveness.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
