//! The GraphiQL playground at `GET /`: a page that loads only files the
//! server itself serves, each exactly the vendored file, and none of it in
//! production. The browser suite (`tests/browser/`) runs the page itself.

use std::path::Path;

use tradegraph::config::Environment;

use crate::helpers::{asset_prefix, references, spawn_app, spawn_configured, TestApp};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the page loads, in order: its name in the page, the file in
/// the repository and its content type.
const ASSETS: [(&str, &str, &str); 6] = [
    ("graphiql.min.css", "assets/graphiql/graphiql.min.css", CSS),
    ("playground.css", "assets/playground/playground.css", CSS),
    (
        "react.production.min.js",
        "assets/graphiql/react.production.min.js",
        JAVASCRIPT,
    ),
    (
        "react-dom.production.min.js",
        "assets/graphiql/react-dom.production.min.js",
        JAVASCRIPT,
    ),
    (
        "graphiql.min.js",
        "assets/graphiql/graphiql.min.js",
        JAVASCRIPT,
    ),
    (
        "playground.js",
        "assets/playground/playground.js",
        JAVASCRIPT,
    ),
];

#[actix_web::test]
async fn the_page_loads_only_files_the_server_serves() {
    let app = spawn_app().await;

    let page = app.get_response("/", &[]).await;
    let html = String::from_utf8(page.body.clone()).expect("UTF-8");
    let references = references(&html);

    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-cache");
    assert_eq!(
        page.header("content-security-policy"),
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         font-src 'self' data:; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let prefix = asset_prefix(&html, "playground");
    let mut expected = vec!["data:,".to_owned()];
    expected.extend(ASSETS.iter().map(|(name, _, _)| format!("{prefix}/{name}")));
    assert_eq!(references, expected);
    assert!(!html.contains("<script>"), "no inline script: {html}");
}

#[actix_web::test]
async fn the_page_script_points_graphiql_at_this_server() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/").await.1, "playground");

    let (status, script) = app.get(&format!("{prefix}/playground.js")).await;

    assert_eq!(status, 200);
    assert!(
        script.contains("const endpoint = new URL('/graphql', window.location.href);"),
        "{script}"
    );
    assert!(
        script.contains("subscriptionUrl: subscriptions.href,"),
        "{script}"
    );
    assert!(
        script.contains("visiblePlugin: 'Documentation Explorer',"),
        "{script}"
    );
}

#[actix_web::test]
async fn each_asset_is_the_vendored_file_with_its_type_and_cached_for_good() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/").await.1, "playground");

    for (name, file, content_type) in ASSETS {
        let asset = app.get_response(&format!("{prefix}/{name}"), &[]).await;
        let vendored = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .expect("the vendored file");

        asset.assert_immutable_asset(name, content_type, &vendored);
        assert_eq!(
            asset.header("content-length"),
            vendored.len().to_string(),
            "{name}"
        );
    }
}

#[actix_web::test]
async fn assets_are_compressed_for_browsers_that_accept_it() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/").await.1, "playground");

    let script = app
        .get_response(
            &format!("{prefix}/graphiql.min.js"),
            &[("accept-encoding", "gzip")],
        )
        .await;

    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-encoding"), "gzip");
    // gzip's magic number, and far fewer bytes than the 1 MB file.
    assert_eq!(script.body[..2], [0x1f, 0x8b]);
    assert!(script.body.len() < 600_000, "{} bytes", script.body.len());
}

#[actix_web::test]
async fn only_the_current_digest_and_the_listed_files_are_served() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/").await.1, "playground");

    let stale = app
        .get("/playground/0123456789abcdef/graphiql.min.js")
        .await;
    let unlisted = app.get(&format!("{prefix}/graphiql.js")).await;
    let outside = app.get(&format!("{prefix}/../../Cargo.toml")).await;
    let bare = app.get("/playground/graphiql.min.js").await;

    assert_eq!(stale.0, 404);
    assert_eq!(unlisted.0, 404);
    assert_eq!(outside.0, 404);
    assert_eq!(bare.0, 404);
}

#[actix_web::test]
async fn with_the_playground_off_neither_the_page_nor_its_assets_are_served() {
    let development = spawn_app().await;
    let prefix = asset_prefix(&development.get("/").await.1, "playground");
    let production = spawn_configured(|args| args.environment = Environment::Production).await;

    let page = production.get("/").await;
    let assets = served(&production, &prefix).await;

    assert_eq!(page.0, 404);
    assert_eq!(assets, vec![404; ASSETS.len()]);
}

/// The status of each asset under `prefix` on `app`.
async fn served(app: &TestApp, prefix: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for (name, _, _) in ASSETS {
        statuses.push(app.get(&format!("{prefix}/{name}")).await.0);
    }
    statuses
}
