//! Starting the real server for a test and talking to it over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use serde_json::{json, Value};
use tempfile::TempDir;
use tradegraph::app::Application;
use tradegraph::config::{Cli, DatabaseArgs, EtcdArgs, ServeArgs};
use tradegraph::store::Store;

/// The write token every test server accepts.
pub const WRITE_TOKEN: &str = "tg_test_token";
/// Its SHA-256 hash, as the server is configured.
pub const WRITE_TOKEN_HASH: &str =
    "1b5afc8b4a9682ac75c7d15d25eafa4f045413bf2eaeaeeb11e2c616653c1a5d";

/// A running server with its own temporary database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The server's store, to count store calls.
    pub store: Store,
    /// The database directory.
    pub data_dir: PathBuf,
    /// On the etcd pass, the cluster and key prefix it keeps its data in.
    etcd: Option<EtcdArgs>,
    client: awc::Client,
    _dir: TempDir,
}

/// With `TRADEGRAPH_TEST_BACKEND=etcd`, the cluster `TRADEGRAPH_TEST_ETCD`
/// names (`tests/etcd.sh` starts one), under a key prefix of the test's
/// own; `None` for the embedded database.
pub fn test_etcd() -> Option<EtcdArgs> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    match std::env::var("TRADEGRAPH_TEST_BACKEND").as_deref() {
        Ok("etcd") => {}
        Ok("sled") | Err(_) => return None,
        Ok(other) => panic!("TRADEGRAPH_TEST_BACKEND is sled or etcd, not {other}"),
    }
    let urls = std::env::var("TRADEGRAPH_TEST_ETCD")
        .expect("TRADEGRAPH_TEST_BACKEND=etcd needs TRADEGRAPH_TEST_ETCD: run tests/etcd.sh");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    Some(EtcdArgs {
        urls: urls.split(',').map(str::to_owned).collect(),
        etcd_prefix: format!(
            "api/{}-{nanos}-{}/",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
        ..EtcdArgs::default()
    })
}

/// Whether this pass runs on etcd (`TRADEGRAPH_TEST_BACKEND=etcd`).
pub fn on_etcd() -> bool {
    test_etcd().is_some()
}

/// Whether a test that needs the embedded database (its data directory's
/// files, or sled's crash behaviour) should not run: on the etcd pass it
/// says why it is skipped and returns true.
pub fn sled_only(why: &str) -> bool {
    let skipped = on_etcd();
    if skipped {
        eprintln!("skipped on etcd, as it needs the embedded database: {why}");
    }
    skipped
}

/// Whether a test that needs two servers on one store (the etcd backend)
/// should not run: on the sled pass it says why it is skipped and returns
/// true.
pub fn etcd_only(why: &str) -> bool {
    let skipped = !on_etcd();
    if skipped {
        eprintln!("skipped on sled, as it needs two servers on one store: {why}");
    }
    skipped
}

/// Starts the server on a free port over a fresh, seeded database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(0).await
}

/// Starts the server with `synthetic` synthetic shipments.
pub async fn spawn_app_with(synthetic: u64) -> TestApp {
    spawn_configured(|args| args.database.synthetic_shipments = synthetic).await
}

/// Starts the server with no write token configured.
pub async fn spawn_app_without_tokens() -> TestApp {
    spawn_configured(|args| args.write_token_hashes.clear()).await
}

/// Starts the server with the test settings changed by `edit`.
pub async fn spawn_configured(edit: impl FnOnce(&mut ServeArgs)) -> TestApp {
    spawn_on(test_etcd(), edit).await
}

/// Starts another server on the store of `app`, as a second server of a
/// deployment: the same etcd cluster and key prefix. Only on the etcd pass
/// (see [`etcd_only`]): the embedded database holds one server.
pub async fn spawn_beside(app: &TestApp) -> TestApp {
    let etcd = app
        .etcd
        .clone()
        .expect("a second server needs the etcd pass");
    spawn_on(Some(etcd), |_| {}).await
}

/// Two servers on one store; `None` on the sled pass, which says why the
/// test is skipped (see [`etcd_only`]).
pub async fn two_servers(why: &str) -> Option<(TestApp, TestApp)> {
    if etcd_only(why) {
        return None;
    }
    let first = spawn_app().await;
    let second = spawn_beside(&first).await;
    Some((first, second))
}

/// Starts `n` servers at the same moment on one empty store (the etcd
/// pass only, see [`etcd_only`]), each with the settings `edit` makes.
pub async fn spawn_together(n: usize, edit: impl Fn(&mut ServeArgs)) -> Vec<TestApp> {
    let etcd = test_etcd().expect("servers on one store need the etcd pass");
    let starts = (0..n).map(|_| spawn_on(Some(etcd.clone()), &edit));
    futures_util::future::join_all(starts).await
}

async fn spawn_on(etcd: Option<EtcdArgs>, edit: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The command line's defaults, then the test settings.
    let mut args = Cli::parse_from(["tradegraph"]).serve;
    args.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    args.database = DatabaseArgs {
        cache_mb: 16,
        ..DatabaseArgs::at(dir.path().join("data"))
    };
    if let Some(etcd) = &etcd {
        args.database.store.etcd = etcd.clone();
    }
    args.write_token_hashes = vec![WRITE_TOKEN_HASH.to_owned()];
    args.cors_origins = vec!["https://allowed.example".to_owned()];
    args.max_websockets = 4;
    edit(&mut args);
    let application = Application::build(&args).await.expect("the server starts");
    let app = TestApp {
        address: format!("http://127.0.0.1:{}", application.port()),
        store: application.store().clone(),
        data_dir: args.database.store.data_dir.clone(),
        etcd,
        client: awc::Client::default(),
        _dir: dir,
    };
    actix_web::rt::spawn(application.run_until_stopped());
    app
}

impl TestApp {
    /// Sends a GraphQL request as JSON over POST and returns the response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let mut response = self
            .client
            .post(format!("{}/graphql", self.address))
            .send_json(&json!({ "query": query, "variables": variables }))
            .await
            .expect("the request is sent");
        assert_eq!(response.status().as_u16(), 200, "POST /graphql status");
        response
            .json::<Value>()
            .limit(16 << 20)
            .await
            .expect("a JSON body")
    }

    /// Sends a GraphQL request with a bearer token (or none) and returns the
    /// status and the body.
    pub async fn post(&self, query: &str, variables: Value, token: Option<&str>) -> (u16, Value) {
        let mut request = self.client.post(format!("{}/graphql", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send_json(&json!({ "query": query, "variables": variables }))
            .await
            .expect("the request is sent");
        let body = response
            .json::<Value>()
            .limit(16 << 20)
            .await
            .expect("a JSON body");
        (response.status().as_u16(), body)
    }

    /// Sends a mutation with the test write token; it must succeed. Returns
    /// its `data`.
    pub async fn write(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(query, variables, Some(WRITE_TOKEN)).await;
        assert_eq!(status, 200, "{body:#}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Sends a mutation with the test write token that must fail; returns
    /// its errors' codes and messages.
    pub async fn write_errors(&self, query: &str, variables: Value) -> Vec<(String, String)> {
        let (_, body) = self.post(query, variables, Some(WRITE_TOKEN)).await;
        codes_and_messages(&body)
    }

    /// Sends a query that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.graphql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Sends a query that must fail and returns its errors' codes and messages.
    pub async fn errors(&self, query: &str, variables: Value) -> Vec<(String, String)> {
        codes_and_messages(&self.graphql(query, variables).await)
    }

    /// Sends a POST to `/graphql` with the given headers and raw body;
    /// returns the status, the content type and the body.
    pub async fn post_raw(
        &self,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> (u16, String, String) {
        let mut request = self.client.post(format!("{}/graphql", self.address));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = request
            .send_body(body.into())
            .await
            .expect("the request is sent");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.body().limit(16 << 20).await.expect("a body");
        (
            response.status().as_u16(),
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    /// Sends a GraphQL query over POST from the local address `from` (any
    /// of 127/8: Linux loopback answers them all), with the given headers,
    /// and returns the whole reply. Each address is another client to the
    /// server.
    pub async fn post_from(&self, from: [u8; 4], query: &str, headers: &[(&str, &str)]) -> Reply {
        let client = awc::Client::builder()
            .local_address(std::net::IpAddr::from(from))
            .finish();
        let mut request = client.post(format!("{}/graphql", self.address));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = request
            .send_json(&json!({ "query": query }))
            .await
            .expect("the request is sent");
        let body = response.body().limit(16 << 20).await.expect("a body");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Sends a GET request with the given headers and returns the whole
    /// response: status, headers and the body's bytes.
    pub async fn get_response(&self, path: &str, headers: &[(&str, &str)]) -> Fetched {
        let mut request = self.client.get(format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = request.send().await.expect("the request is sent");
        let body = response.body().limit(16 << 20).await.expect("a body");
        Fetched {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: body.to_vec(),
        }
    }

    /// Sends a GET request and returns the status and body.
    pub async fn get(&self, path_and_query: &str) -> (u16, String) {
        let reply = self.get_with(path_and_query, &[]).await;
        (reply.status, reply.body)
    }

    /// Sends a GET request with the given headers and returns the whole
    /// reply.
    pub async fn get_with(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(format!("{}{path_and_query}", self.address));
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = request.send().await.expect("the request is sent");
        let body = response.body().limit(16 << 20).await.expect("a body");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// An HTTP reply.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: awc::http::header::HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("JSON: {}", self.body))
    }
}

/// A query `2 * hops + 2` fields deep: Guangdong, then `hops` times
/// `hubs { province { ... } }`, then `code` (7 hops: depth 16, one past the
/// default limit).
pub fn deep_query(hops: usize) -> String {
    format!(
        "{{ province(code: \"GD\") {{ {}code{} }} }}",
        "hubs { province { ".repeat(hops),
        " } }".repeat(hops)
    )
}

/// A query of `n` aliased `__typename` fields.
pub fn aliased_query(n: usize) -> String {
    let fields: Vec<String> = (0..n).map(|n| format!("a{n}: __typename")).collect();
    format!("{{ {} }}", fields.join(" "))
}

/// A query string parameter, percent-encoded.
pub fn encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A response to [`TestApp::get_response`].
pub struct Fetched {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: awc::http::header::HeaderMap,
    /// The body, as received.
    pub body: Vec<u8>,
}

impl Fetched {
    /// Asserts that this is the asset `name`: 200, its content type and
    /// bytes, cached for good and not to be sniffed.
    pub fn assert_immutable_asset(&self, name: &str, content_type: &str, bytes: &[u8]) {
        assert_eq!(self.status, 200, "{name}");
        assert_eq!(self.header("content-type"), content_type, "{name}");
        assert_eq!(self.body, bytes, "{name}");
        assert_eq!(
            self.header("cache-control"),
            "public, max-age=31536000, immutable",
            "{name}"
        );
        assert_eq!(self.header("x-content-type-options"), "nosniff", "{name}");
    }

    /// The value of header `name`, or `""` when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

/// The `nodes` of a connection at `path` in `data`, each reduced to `field`.
pub fn field_of_nodes(connection: &Value, field: &str) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|edge| edge["node"][field].clone())
                .collect()
        })
        .or_else(|| {
            connection["nodes"]
                .as_array()
                .map(|nodes| nodes.iter().map(|node| node[field].clone()).collect())
        })
        .unwrap_or_default()
}

/// The code and message of each error in a response body.
pub fn codes_and_messages(body: &Value) -> Vec<(String, String)> {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("expected errors: {body:#}"));
    errors
        .iter()
        .map(|error| {
            let code = error["extensions"]["code"]
                .as_str()
                .unwrap_or("(none)")
                .to_owned();
            (
                code,
                error["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Where a page says its assets are: `/<mount>/` and a 16-digit hex digest.
#[track_caller]
pub fn asset_prefix(html: &str, mount: &str) -> String {
    let marker = format!("/{mount}/");
    let start = html.find(&marker).expect("an asset path");
    let digest = &html[start + marker.len()..][..16];
    assert!(
        digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "digest {digest:?}"
    );
    format!("/{mount}/{digest}")
}

/// Every `src` and `href` attribute value in `html`, in order.
pub fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(['s', 'h']) {
        rest = &rest[at..];
        let attribute = ["src=\"", "href=\""]
            .into_iter()
            .find(|attribute| rest.starts_with(attribute));
        match attribute {
            Some(attribute) => {
                rest = &rest[attribute.len()..];
                let end = rest.find('"').expect("a closing quote");
                found.push(rest[..end].to_owned());
                rest = &rest[end..];
            }
            None => rest = &rest[1..],
        }
    }
    found
}
