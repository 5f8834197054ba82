//! The dashboard at `GET /dashboard`: a read-only view of the report's
//! figures, in plain HTML, CSS and JavaScript modules with no build step
//! (`assets/dashboard/`), compiled into the binary and served under
//! `/dashboard/<digest>/` (`StaticPage`). The page asks the API one query per
//! view and follows `shipmentEvents` over the WebSocket at `/graphql`; what it
//! asks and how it draws it is in the scripts, not here.

use super::static_page::{Asset, StaticPage, CSS, JAVASCRIPT};

/// Every file the page loads: the stylesheet, the entry module and the
/// modules it imports (by relative URL, so under the same digest).
static ASSETS: [Asset; 5] = [
    Asset {
        name: "dashboard.css",
        content_type: CSS,
        bytes: include_bytes!("../../assets/dashboard/dashboard.css"),
    },
    Asset {
        name: "dashboard.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/dashboard/dashboard.js"),
    },
    Asset {
        name: "graphql.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/dashboard/graphql.js"),
    },
    Asset {
        name: "subscription.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/dashboard/subscription.js"),
    },
    Asset {
        name: "views.js",
        content_type: JAVASCRIPT,
        bytes: include_bytes!("../../assets/dashboard/views.js"),
    },
];

/// The page, with `{assets}` standing for where the assets are served.
const PAGE: &str = include_str!("../../assets/dashboard/index.html");

/// Stricter than the playground's: our own scripts and styles only, no
/// inline styles (the scripts build elements and SVG attributes, never
/// `style` text), and connections only to this origin, which includes its
/// WebSocket. `data:` images for the empty favicon.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard at `GET /dashboard`, its files under `/dashboard/<digest>/`.
pub fn dashboard() -> StaticPage {
    StaticPage::new(
        "/dashboard",
        "dashboard",
        PAGE,
        &ASSETS,
        CONTENT_SECURITY_POLICY,
    )
}
