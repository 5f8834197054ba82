//! A page of our own with the files it loads, all compiled into the binary:
//! what the playground (`GET /`) and the dashboard (`GET /dashboard`) share.
//! The assets are served under `/<name>/<digest>/`, where the digest is of
//! every asset, so a page always names the files it was made with and a
//! browser may keep them for good. The page itself is never cached without
//! asking, and carries the Content-Security-Policy its owner gives. What
//! each page contains lives beside its owner (`playground`, `dashboard`).

use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{middleware, web, HttpResponse};
use sha2::{Digest, Sha256};

/// A page and its assets, ready to be routed.
#[derive(Clone)]
pub struct StaticPage {
    /// Where the page is served, e.g. `/`.
    path: &'static str,
    /// Where the assets are served: `/<name>/<digest>`.
    prefix: String,
    /// The page, naming the assets under `prefix`.
    html: Arc<str>,
    /// Every file the page loads.
    assets: &'static [Asset],
    /// What the page may load and connect to.
    content_security_policy: &'static str,
}

/// A file a page loads.
pub struct Asset {
    /// Its file name under the page's asset prefix.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content, from `include_bytes!`.
    pub bytes: &'static [u8],
}

/// The `Content-Type` of a stylesheet.
pub const CSS: &str = "text/css; charset=utf-8";
/// The `Content-Type` of a script (classic or module).
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

impl StaticPage {
    /// Names the assets by their digest under `/<name>/` and writes the
    /// page, in which `{assets}` stands for where they are served.
    pub fn new(
        path: &'static str,
        name: &str,
        template: &str,
        assets: &'static [Asset],
        content_security_policy: &'static str,
    ) -> Self {
        let mut digest = Sha256::new();
        for asset in assets {
            digest.update(asset.name.as_bytes());
            digest.update([0]);
            digest.update(asset.bytes);
        }
        let prefix = format!("/{name}/{}", &hex::encode(digest.finalize())[..16]);
        let html = template.replace("{assets}", &prefix).into();
        StaticPage {
            path,
            prefix,
            html,
            assets,
            content_security_policy,
        }
    }

    /// Routes `GET` of the page's path to the page and each asset to its
    /// path, compressed when the browser accepts it.
    pub fn routes(&self, config: &mut web::ServiceConfig) {
        let html = Arc::clone(&self.html);
        let policy = self.content_security_policy;
        config.route(
            self.path,
            web::get().to(move || {
                let html = Arc::clone(&html);
                async move { page_response(&html, policy) }
            }),
        );
        let assets = self.assets.iter().fold(
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
fn page_response(html: &str, content_security_policy: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(content_security_policy),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(html.to_owned())
}

/// An asset: its path changes with its content, so it may be kept a year.
fn asset_response(asset: &'static Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(asset.bytes)
}
