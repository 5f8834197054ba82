//! The HTTP face: the only module that knows actix-web. `POST /graphql`
//! and `GET /graphql` run GraphQL, `GET /` serves GraphiQL and
//! `GET /health` answers while the process is up.

use std::net::TcpListener;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use async_graphql_actix_web::GraphQLRequest;

use crate::error::{Error, Result};
use crate::graphql::{is_unauthenticated, playground_html, PresentedToken, TradeSchema};

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
pub fn server(listener: TcpListener, schema: TradeSchema) -> Result<Server> {
    let schema = web::Data::new(schema);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::Logger::new("%r %s %Dms"))
            .app_data(schema.clone())
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
/// A request refused only for its token answers 401.
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
    let response = schema.execute(request.into_inner().data(token)).await;
    let mut builder = if is_unauthenticated(&response) {
        let mut builder = HttpResponse::Unauthorized();
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        builder
    } else {
        HttpResponse::Ok()
    };
    builder.json(response)
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
