//! The ceiling of the load benchmark (`benches/load.py`): an actix-web
//! server that answers `POST /graphql` with the response bytes tradegraph
//! gave for the same request, captured beforehand. It reads the whole
//! request body, as tradegraph does, and does nothing else, so a scenario's
//! throughput divided by the ceiling's is the share of HTTP-only speed that
//! tradegraph keeps on this machine.
//!
//! `ceiling --bind 127.0.0.1:8001 --bodies DIR` serves every `DIR/NAME.json`
//! to requests whose `x-bench-scenario` header is `NAME`; other requests get
//! 404. It is an example target, not part of the server: it shares the
//! crate's locked actix-web and its build, and lives beside the script that
//! runs it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use actix_web::http::header::ContentType;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;

/// The header that names a request's scenario.
const SCENARIO_HEADER: &str = "x-bench-scenario";

/// Serves precomputed GraphQL responses.
#[derive(Debug, Parser)]
struct Cli {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8001")]
    bind: SocketAddr,
    /// A directory of `<scenario>.json` response bodies.
    #[arg(long)]
    bodies: PathBuf,
}

/// The response body of each scenario, by name.
struct Bodies(HashMap<String, web::Bytes>);

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let bodies = web::Data::new(read_bodies(&cli.bodies)?);
    let mut names: Vec<&String> = bodies.0.keys().collect();
    names.sort();
    eprintln!("ceiling: serving {names:?} on {}", cli.bind);
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            App::new()
                .app_data(bodies.clone())
                .route("/graphql", web::post().to(answer))
        })
        .bind(cli.bind)?
        .run(),
    )
}

/// Reads every `*.json` file of `dir`, named by its stem.
fn read_bodies(dir: &Path) -> std::io::Result<Bodies> {
    let mut bodies = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_json = path
            .extension()
            .is_some_and(|extension| extension == "json");
        if let (true, Some(stem)) = (is_json, path.file_stem().and_then(|stem| stem.to_str())) {
            bodies.insert(stem.to_owned(), web::Bytes::from(std::fs::read(&path)?));
        }
    }
    Ok(Bodies(bodies))
}

/// `POST /graphql`: the scenario's body, once the request's is read.
async fn answer(
    bodies: web::Data<Bodies>,
    request: HttpRequest,
    _body: web::Bytes,
) -> HttpResponse {
    let body = request
        .headers()
        .get(SCENARIO_HEADER)
        .and_then(|name| name.to_str().ok())
        .and_then(|name| bodies.0.get(name));
    match body {
        Some(body) => HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(body.clone()),
        None => HttpResponse::NotFound().body("no such scenario: set x-bench-scenario\n"),
    }
}
