//! The HTTP face: the only module that knows actix-web. `POST /graphql`
//! and `GET /graphql` run GraphQL, a WebSocket upgrade of `GET /graphql`
//! serves subscriptions (`graphql-transport-ws`), `GET /` serves GraphiQL
//! and `GET /health` answers while the process is up. It uses
//! async-graphql's actix-web integration, the one place outside `graphql`
//! that names async-graphql types.

mod graphql;
mod websocket;

use std::net::TcpListener;

use actix_web::{guard, web, App, HttpResponse, HttpServer};

pub use self::graphql::HttpLimits;
use self::websocket::Sockets;
pub use self::websocket::WebSocketPolicy;
use crate::error::{Error, Result};
use crate::graphql::{playground_html, TradeSchema};

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

/// Binds the routes to a listener.
pub fn server(
    listener: TcpListener,
    schema: TradeSchema,
    policy: WebSocketPolicy,
    limits: HttpLimits,
) -> Result<Server> {
    let schema = web::Data::new(schema);
    let http_limits = web::Data::new(limits);
    let sockets = web::Data::new(Sockets::new(policy));
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms"))
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
