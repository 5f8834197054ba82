//! Command-line and environment configuration, parsed by clap. Every flag
//! has an environment variable of the same name in upper case with a
//! `TRADEGRAPH_` prefix.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The `tradegraph` command: serves the API unless a subcommand says otherwise.
#[derive(Debug, Parser)]
#[command(
    name = "tradegraph",
    version,
    about = "A GraphQL server for the graph of China's foreign trade",
    // `tradegraph --data-dir X check` would otherwise check ./data.
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands beside serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the GraphQL schema (SDL) that `schema.graphql` holds.
    Schema,
    /// Print a new random write token and the SHA-256 hash to configure
    /// with `--write-token-hash`.
    Token,
    /// Read the whole database and verify that every record decodes and
    /// that indexes and counters agree with the records. Prints each
    /// inconsistency and exits with 1 if there is any. The database must not
    /// be in use (an etcd cluster may: the check reads one revision at a
    /// time, so a write while it runs can show as an inconsistency).
    Check {
        /// The database to check (it must exist).
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the whole database as JSON lines, the first a header. The
    /// database must not be in use.
    Export {
        /// The database to export (it must exist).
        #[command(flatten)]
        store: StoreArgs,
        /// The file to write (replaced if it exists); standard output if
        /// absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Restore a backup written by `export` into an empty database.
    Import {
        /// The database to restore into (created when missing; it must
        /// hold no records).
        #[command(flatten)]
        store: StoreArgs,
        /// The backup to read; standard input if absent.
        #[arg(long)]
        input: Option<PathBuf>,
    },
}

/// How to serve.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "TRADEGRAPH_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,
    /// The database and its seeding.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The SHA-256 hash (64 hex digits) of a token allowed to write;
    /// repeat for several (`tradegraph token` makes one). The environment
    /// variable takes a comma-separated list.
    #[arg(
        long = "write-token-hash",
        env = "TRADEGRAPH_WRITE_TOKEN_HASHES",
        value_delimiter = ','
    )]
    pub write_token_hashes: Vec<String>,
    /// A file of write token hashes, one per line (`#` starts a comment).
    #[arg(long, env = "TRADEGRAPH_WRITE_TOKEN_FILE")]
    pub write_token_file: Option<PathBuf>,
    /// An origin (`https://app.example.com`) whose pages may use the API
    /// from a browser; repeat for several. The server's own origin is always
    /// allowed. The environment variable takes a comma-separated list.
    #[arg(
        long = "cors-origin",
        env = "TRADEGRAPH_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// The most WebSocket (subscription) connections open at once.
    #[arg(long, env = "TRADEGRAPH_MAX_WEBSOCKETS", default_value_t = 256)]
    pub max_websockets: usize,
    /// The most WebSocket connections one client (an IPv4 address or an
    /// IPv6 /64) may have open at once, so that one client cannot take
    /// every place of `--max-websockets`.
    #[arg(
        long,
        env = "TRADEGRAPH_MAX_WEBSOCKETS_PER_CLIENT",
        default_value_t = 16
    )]
    pub max_websockets_per_client: usize,
    /// The address of a reverse proxy in front of tradegraph; repeat for
    /// several. A request from one is counted as the client that the
    /// rightmost address in `X-Forwarded-For` not of a trusted proxy names
    /// (an entry that is not an address stops the search there); from any
    /// other peer the header is ignored. The environment variable takes a
    /// comma-separated list.
    #[arg(
        long = "trusted-proxy",
        env = "TRADEGRAPH_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,
    /// Limits every query must keep.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Development (the default) or production: in production,
    /// introspection, field suggestions and the GraphiQL page are off
    /// unless turned back on below.
    #[arg(long = "env", env = "TRADEGRAPH_ENV", value_enum, default_value_t = Environment::Development)]
    pub environment: Environment,
    /// Short for `--env production`.
    #[arg(long)]
    pub production: bool,
    /// Whether introspection answers (default: on, off in production).
    #[arg(long, env = "TRADEGRAPH_INTROSPECTION")]
    pub introspection: Option<bool>,
    /// Whether errors suggest field names (default: on, off in production).
    #[arg(long, env = "TRADEGRAPH_SUGGESTIONS")]
    pub suggestions: Option<bool>,
    /// Whether `GET /` serves GraphiQL (default: on, off in production).
    #[arg(long, env = "TRADEGRAPH_PLAYGROUND")]
    pub playground: Option<bool>,
    /// Whether `GET /dashboard` serves the read-only dashboard (default:
    /// on in every mode, since it shows only what any query may ask).
    #[arg(long, env = "TRADEGRAPH_DASHBOARD", default_value_t = true, action = clap::ArgAction::Set)]
    pub dashboard: bool,
    /// Persisted queries and the allow-list.
    #[command(flatten)]
    pub persisted: PersistedArgs,
    /// Seconds a shared cache (a CDN) may reuse a successful GET response
    /// (`Cache-Control: public, max-age=N`); 0 makes it revalidate every
    /// time. Every GET response has an `ETag` from the database's id and
    /// revision either way.
    #[arg(long, env = "TRADEGRAPH_CACHE_MAX_AGE", default_value_t = 5)]
    pub cache_max_age: u32,
    /// MiB of answers to successful queries kept in memory and served again
    /// until anything is written; 0 (the default) turns the response cache
    /// off. A cached answer is charged its cost to the client's budget like
    /// a query that runs.
    #[arg(long, env = "TRADEGRAPH_RESPONSE_CACHE_MB", default_value_t = 0)]
    pub response_cache_mb: usize,
    /// Seconds that requests in flight may take to finish after SIGTERM or
    /// Ctrl-C, before the database is flushed and closed.
    #[arg(long, env = "TRADEGRAPH_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// How log lines are written to standard error: `text` (readable) or
    /// `json` (one object per line, for log collectors).
    #[arg(long, env = "TRADEGRAPH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable text, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Persisted queries: automatic ones (Apollo's `persistedQuery` extension)
/// and registered ones, which allow-list mode restricts execution to.
#[derive(Debug, Clone, Args)]
pub struct PersistedArgs {
    /// KiB of documents remembered for automatic persisted queries (least
    /// recently used dropped first); 0 turns them off.
    #[arg(
        long,
        env = "TRADEGRAPH_PERSISTED_QUERIES_CACHE_KB",
        default_value_t = 4096
    )]
    pub persisted_queries_cache_kb: usize,
    /// An Apollo persisted query manifest (JSON,
    /// `apollo-persisted-query-manifest` version 1) of operations to
    /// register, so clients can send their hash alone.
    #[arg(long, env = "TRADEGRAPH_PERSISTED_QUERIES")]
    pub persisted_queries: Option<PathBuf>,
    /// Execute only the operations registered by `--persisted-queries`,
    /// on every transport.
    #[arg(
        long,
        env = "TRADEGRAPH_ALLOW_LISTED_ONLY",
        requires = "persisted_queries"
    )]
    pub allow_listed_only: bool,
}

/// Where the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    /// Everything on for exploring.
    Development,
    /// Introspection, suggestions and GraphiQL off by default.
    Production,
}

impl ServeArgs {
    /// Whether the server runs in production mode.
    pub fn is_production(&self) -> bool {
        self.production || self.environment == Environment::Production
    }

    /// A development default that production turns off, unless set.
    pub fn feature(&self, setting: Option<bool>) -> bool {
        setting.unwrap_or(!self.is_production())
    }
}

/// Limits every query must keep, on every transport.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Deepest field nesting (15 allows four levels of Relay connections).
    #[arg(long, env = "TRADEGRAPH_MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,
    /// Highest query cost: each field costs 1, what a list selects is
    /// multiplied by how many items it can return, and filtered shipment
    /// lists by the records they may read (README, "Limits").
    #[arg(long, env = "TRADEGRAPH_MAX_COST", default_value_t = 50_000)]
    pub max_cost: u64,
    /// Most aliases in a document.
    #[arg(long, env = "TRADEGRAPH_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most directives in a document.
    #[arg(long, env = "TRADEGRAPH_MAX_DIRECTIVES", default_value_t = 50)]
    pub max_directives: usize,
    /// Most lexical tokens in a document (checked before parsing).
    #[arg(long, env = "TRADEGRAPH_MAX_TOKENS", default_value_t = 5_000)]
    pub max_tokens: usize,
    /// The largest request body, in KiB (413 past it).
    #[arg(long, env = "TRADEGRAPH_MAX_BODY_KB", default_value_t = 256)]
    pub max_body_kb: usize,
    /// The most requests in one batched POST (a JSON array); 0 refuses
    /// batches.
    #[arg(long, env = "TRADEGRAPH_MAX_BATCH", default_value_t = 0)]
    pub max_batch: usize,
    /// Seconds a query may run before it is stopped, its store work with it.
    #[arg(long, env = "TRADEGRAPH_TIMEOUT_SECS", default_value_t = 10)]
    pub timeout_secs: u64,
    /// TESTING ONLY: the timeout in milliseconds, in place of
    /// `--timeout-secs`, so that a test can stop a scan it can make long.
    #[arg(long, env = "TRADEGRAPH_TIMEOUT_MS", hide = true)]
    pub timeout_ms: Option<u64>,
    /// Most shipment records one request's filtered lists and counts may
    /// read (those whose filter turns records away: more than one
    /// condition). A page that reaches it ends early with a `SCAN_LIMIT`
    /// notice and a cursor where it stopped; a count that would is refused
    /// with `SCAN_LIMIT`.
    #[arg(long, env = "TRADEGRAPH_MAX_SCAN", default_value_t = 10_000)]
    pub max_scan: u64,
    /// Query cost each client (a valid write token, else an IPv4 address
    /// or an IPv6 /64) may spend per minute, refilled continuously. Unset,
    /// ten times `--max-cost` (500000 at the defaults); when set, at least
    /// `--max-cost`; 0 turns the budget off.
    #[arg(long, env = "TRADEGRAPH_COST_BUDGET_PER_MINUTE")]
    pub cost_budget_per_minute: Option<u64>,
    /// Refuse GET requests without a non-empty `apollo-require-preflight`
    /// or `x-apollo-operation-name` header (for deployments that put
    /// cookies in front of tradegraph).
    #[arg(long, env = "TRADEGRAPH_CSRF_STRICT_GET")]
    pub csrf_strict_get: bool,
}

impl LimitArgs {
    /// How long a query may run.
    pub fn timeout(&self) -> std::time::Duration {
        match self.timeout_ms {
            Some(millis) => std::time::Duration::from_millis(millis),
            None => std::time::Duration::from_secs(self.timeout_secs),
        }
    }
}

/// Where the data lives: the embedded database in a directory, or an etcd
/// cluster (`--etcd`), which several servers can share.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The directory of the embedded database (created when missing);
    /// unused with `--etcd`.
    #[arg(long, env = "TRADEGRAPH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The cluster, when the data lives in etcd.
    #[command(flatten)]
    pub etcd: EtcdArgs,
}

impl StoreArgs {
    /// The embedded database in `data_dir`.
    pub fn at(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            etcd: EtcdArgs::default(),
        }
    }

    /// Where the data lives, for messages: the directory or the cluster.
    pub fn describe(&self) -> String {
        match self.etcd.urls.is_empty() {
            true => self.data_dir.display().to_string(),
            false => format!(
                "etcd {} under {}",
                self.etcd.urls.join(","),
                self.etcd.etcd_prefix
            ),
        }
    }
}

/// The etcd cluster the data lives in (needs a build with `--features
/// etcd`).
#[derive(Debug, Clone, Args)]
pub struct EtcdArgs {
    /// Keep all data in this etcd cluster: its members' client URLs,
    /// comma-separated (`http://10.0.0.1:2379,http://10.0.0.2:2379`;
    /// `https://` with TLS). `--data-dir` is then unused.
    #[arg(long = "etcd", env = "TRADEGRAPH_ETCD", value_delimiter = ',')]
    pub urls: Vec<String>,
    /// The key prefix of this deployment's data: several deployments (or
    /// tests) can share one cluster under different prefixes.
    #[arg(long, env = "TRADEGRAPH_ETCD_PREFIX", default_value = "tradegraph/")]
    pub etcd_prefix: String,
    /// The CA certificate (PEM) that signed the members' certificates:
    /// turns TLS on.
    #[arg(long, env = "TRADEGRAPH_ETCD_CA_FILE")]
    pub etcd_ca_file: Option<PathBuf>,
    /// This server's client certificate (PEM), for members that ask for one.
    #[arg(long, env = "TRADEGRAPH_ETCD_CERT_FILE", requires = "etcd_key_file")]
    pub etcd_cert_file: Option<PathBuf>,
    /// The key (PEM) of `--etcd-cert-file`.
    #[arg(long, env = "TRADEGRAPH_ETCD_KEY_FILE", requires = "etcd_cert_file")]
    pub etcd_key_file: Option<PathBuf>,
    /// The etcd user to authenticate as (with `--etcd-password`).
    #[arg(long, env = "TRADEGRAPH_ETCD_USER", requires = "etcd_password")]
    pub etcd_user: Option<String>,
    /// That user's password; prefer the environment variable, which other
    /// users of the machine cannot read from the process list.
    #[arg(
        long,
        env = "TRADEGRAPH_ETCD_PASSWORD",
        hide_env_values = true,
        requires = "etcd_user"
    )]
    pub etcd_password: Option<String>,
    /// How long one store call may take, retries across members included,
    /// before the request fails with `UNAVAILABLE`.
    #[arg(long, env = "TRADEGRAPH_ETCD_TIMEOUT_MS", default_value_t = 2000)]
    pub etcd_timeout_ms: u64,
}

impl Default for EtcdArgs {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            etcd_prefix: "tradegraph/".into(),
            etcd_ca_file: None,
            etcd_cert_file: None,
            etcd_key_file: None,
            etcd_user: None,
            etcd_password: None,
            etcd_timeout_ms: 2000,
        }
    }
}

/// Where the database lives and what seeds it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Where the data lives.
    #[command(flatten)]
    pub store: StoreArgs,
    /// A directory of seed files to use instead of those compiled in.
    #[arg(long, env = "TRADEGRAPH_SEED_DIR")]
    pub seed_dir: Option<PathBuf>,
    /// Make sure this many synthetic shipments exist (for load tests; they
    /// are marked synthetic).
    #[arg(long, env = "TRADEGRAPH_SYNTHETIC_SHIPMENTS", default_value_t = 0)]
    pub synthetic_shipments: u64,
    /// The database page cache, in MiB. With index entries packed into
    /// blocks this cache, not sled's page table, is most of the memory a
    /// large database takes; the operating system's page cache still holds
    /// what it leaves out.
    #[arg(long, env = "TRADEGRAPH_CACHE_MB", default_value_t = 32)]
    pub cache_mb: u64,
    /// TESTING ONLY: acknowledge writes before they are on disk and turn
    /// off the background flush, so a crash loses them. Proves that the
    /// crash test can fail.
    #[arg(long, env = "TRADEGRAPH_UNSAFE_ACK_BEFORE_FLUSH", hide = true)]
    pub unsafe_ack_before_flush: bool,
}

impl DatabaseArgs {
    /// The database directory with every other setting at its default.
    pub fn at(data_dir: std::path::PathBuf) -> Self {
        Self {
            store: StoreArgs::at(data_dir),
            seed_dir: None,
            synthetic_shipments: 0,
            cache_mb: 32,
            unsafe_ack_before_flush: false,
        }
    }
}

/// The `seed` command: fills or refreshes a database, then exits.
#[derive(Debug, Parser)]
#[command(
    name = "seed",
    version,
    about = "Fill or refresh a tradegraph database from the seed files"
)]
pub struct SeedCli {
    /// The database and its seeding.
    #[command(flatten)]
    pub database: DatabaseArgs,
}
