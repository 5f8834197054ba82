//! The GraphiQL playground, served whole by tradegraph: nothing comes from
//! another origin. `GET /` is a small page of our own
//! (`assets/playground/`); the scripts and styles it loads, the pinned
//! browser builds of GraphiQL 4 and React 18 (`assets/graphiql/`, refreshed
//! by `tools/graphiql/update.sh`) and the page's own script, are compiled
//! into the binary and served under `/playground/<digest>/` (`StaticPage`).
//! What GraphiQL runs (endpoint, example query, docs explorer) is in
//! `assets/playground/playground.js`.

use super::static_page::{Asset, StaticPage, CSS, JAVASCRIPT};

/// Every file the page loads, in the order the page loads them.
static ASSETS: [Asset; 6] = [
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "playground.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/playground/playground.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "playground.js",
        content_type: JAVASCRIPT,
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

/// GraphiQL at `GET /`, its files under `/playground/<digest>/`.
pub fn playground() -> StaticPage {
    StaticPage::new("/", "playground", PAGE, &ASSETS, CONTENT_SECURITY_POLICY)
}
