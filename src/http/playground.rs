//! The GraphiQL playground, served whole by tradegraph: nothing comes from
//! another origin. `GET /` is a small page of our own
//! (`assets/playground/`); the scripts and styles it loads, the pinned
//! browser builds of GraphiQL 4 and React 18 (`assets/graphiql/`, refreshed
//! by `tools/graphiql/update.sh`) and the page's own script, are compiled
//! into the binary and served under `/playground/<digest>/`. The digest is
//! of every asset, so a page always names the files it was made with and a
//! browser may keep them for good. What GraphiQL runs (endpoint, example
//! query, docs explorer) is in `assets/playground/playground.js`.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{middleware, web, HttpResponse};
use sha2::{Digest, Sha256};

/// The playground's page and assets, ready to be routed.
#[derive(Clone)]
pub struct Playground {
    /// Where the assets are served: `/playground/<digest>`.
    prefix: String,
    /// The page, naming the assets under `prefix`.
    page: Arc<str>,
}

/// A file the page loads.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// Every file the page loads, in the order the page loads them.
const ASSETS: [Asset; 6] = [
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "playground.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/playground/playground.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "playground.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/playground/playground.js"),
    },
];

/// The page, with `{assets}` standing for where the assets are served.
const PAGE: &str = include_str!("../../assets/playground/index.html");

/// What the page may load: only its own origin's scripts, styles and
/// connections (which include its WebSocket). Styles may also be inline and
/// fonts and images `data:` URLs, because GraphiQL's stylesheet embeds its
/// fonts and its components set styles.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

impl Playground {
    /// Names the assets by their digest and writes the page that loads them.
    pub fn new() -> Self {
        let mut digest = Sha256::new();
        for asset in &ASSETS {
            digest.update(asset.name.as_bytes());
            digest.update([0]);
            digest.update(asset.bytes);
        }
        let prefix = format!("/playground/{}", &hex::encode(digest.finalize())[..16]);
        let page = PAGE.replace("{assets}", &prefix).into();
        Playground { prefix, page }
    }

    /// Routes `GET /` to the page and each asset to its path, compressed
    /// when the browser accepts it.
    pub fn routes(&self, config: &mut web::ServiceConfig) {
        let page = Arc::clone(&self.page);
        config.route(
            "/",
            web::get().to(move || {
                let page = Arc::clone(&page);
                async move { page_response(&page) }
            }),
        );
        let assets = ASSETS.iter().fold(
            web::scope(&self.prefix).wrap(middleware::Compress::default()),
            |scope, asset| {
                scope.route(
                    asset.name,
                    web::get().to(move || async move { asset_response(asset) }),
                )
            },
        );
        config.service(assets);
    }
}

/// The page: never cached without asking, since it names the assets of the
/// running build.
fn page_response(page: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(page.to_owned())
}

/// An asset: its path changes with its content, so it may be kept a year.
fn asset_response(asset: &'static Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(asset.bytes)
}
