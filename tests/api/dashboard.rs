//! The dashboard at `GET /dashboard`: a page that loads only files the
//! server itself serves, each exactly the file in `assets/dashboard/`,
//! served in production too and off only when asked. The browser suite
//! (`tests/browser/dashboard.test.mjs`) runs the page itself.

use std::path::Path;

use tradegraph::config::Environment;

use crate::helpers::{asset_prefix, references, spawn_app, spawn_configured, TestApp};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the page loads, directly or by `import`: its name under the
/// asset prefix and its content type (the file is `assets/dashboard/<name>`).
const ASSETS: [(&str, &str); 5] = [
    ("dashboard.css", CSS),
    ("dashboard.js", JAVASCRIPT),
    ("graphql.js", JAVASCRIPT),
    ("subscription.js", JAVASCRIPT),
    ("views.js", JAVASCRIPT),
];

#[actix_web::test]
async fn the_page_loads_only_files_the_server_serves() {
    let app = spawn_app().await;

    let page = app.get_response("/dashboard", &[]).await;
    let html = String::from_utf8(page.body.clone()).expect("UTF-8");

    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-cache");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(
        page.header("content-security-policy"),
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    );
    let prefix = asset_prefix(&html, "dashboard");
    assert_eq!(
        references(&html),
        [
            "data:,".to_owned(),
            format!("{prefix}/dashboard.css"),
            format!("{prefix}/dashboard.js"),
        ]
    );
    assert!(html.contains("<script type=\"module\" src="), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    assert!(!html.contains("style="), "no inline style: {html}");
}

#[actix_web::test]
async fn each_asset_is_the_file_with_its_type_and_cached_for_good() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/dashboard").await.1, "dashboard");

    for (name, content_type) in ASSETS {
        let asset = app.get_response(&format!("{prefix}/{name}"), &[]).await;

        asset.assert_immutable_asset(name, content_type, &file(name));
    }
}

#[actix_web::test]
async fn every_module_imported_is_served_beside_the_importer() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/dashboard").await.1, "dashboard");
    let scripts = ASSETS.iter().filter(|(_, kind)| *kind == JAVASCRIPT);

    let mut imported = Vec::new();
    for (name, _) in scripts {
        let source = String::from_utf8(file(name)).expect("UTF-8");
        imported.extend(imports(&source));
    }
    imported.sort();
    imported.dedup();
    let mut statuses = Vec::new();
    for name in &imported {
        statuses.push(app.get(&format!("{prefix}/{name}")).await.0);
    }

    assert_eq!(imported, ["graphql.js", "subscription.js", "views.js"]);
    assert_eq!(statuses, [200; 3]);
}

#[actix_web::test]
async fn the_dashboard_stays_on_in_production_and_the_playground_does_not() {
    let production = spawn_configured(|args| args.environment = Environment::Production).await;

    let dashboard = production.get("/dashboard").await;
    let playground = production.get("/").await;

    assert_eq!(dashboard.0, 200);
    assert_eq!(playground.0, 404);
}

#[actix_web::test]
async fn with_the_dashboard_off_neither_the_page_nor_its_assets_are_served() {
    let on = spawn_app().await;
    let prefix = asset_prefix(&on.get("/dashboard").await.1, "dashboard");
    let off = spawn_configured(|args| args.dashboard = false).await;

    let page = off.get("/dashboard").await;
    let assets = served(&off, &prefix).await;
    let playground = off.get("/").await;

    assert_eq!(page.0, 404);
    assert_eq!(assets, vec![404; ASSETS.len()]);
    assert_eq!(playground.0, 200);
}

#[actix_web::test]
async fn only_the_current_digest_and_the_listed_files_are_served() {
    let app = spawn_app().await;
    let prefix = asset_prefix(&app.get("/dashboard").await.1, "dashboard");

    let stale = app.get("/dashboard/0123456789abcdef/dashboard.js").await;
    let unlisted = app.get(&format!("{prefix}/index.html")).await;
    let other_page = app.get(&format!("{prefix}/playground.js")).await;
    let bare = app.get("/dashboard/dashboard.js").await;

    assert_eq!(stale.0, 404);
    assert_eq!(unlisted.0, 404);
    assert_eq!(other_page.0, 404);
    assert_eq!(bare.0, 404);
}

/// The status of each asset under `prefix` on `app`.
async fn served(app: &TestApp, prefix: &str) -> Vec<u16> {
    let mut statuses = Vec::new();
    for (name, _) in ASSETS {
        statuses.push(app.get(&format!("{prefix}/{name}")).await.0);
    }
    statuses
}

/// The file `assets/dashboard/<name>` in the repository.
fn file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/dashboard")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The sibling modules a script imports: `from './<name>'`.
fn imports(source: &str) -> Vec<String> {
    source
        .split("from './")
        .skip(1)
        .map(|rest| rest.split('\'').next().unwrap_or_default().to_owned())
        .collect()
}
