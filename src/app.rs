//! Start-up wiring: opens the store, seeds it, builds the schema and binds
//! the HTTP server. Both binaries and the tests start here.

use std::net::TcpListener;

use std::sync::Arc;

use crate::auth::WriteTokens;
use crate::config::{DatabaseArgs, LogFormat, PersistedArgs, ServeArgs, StoreArgs};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::graphql::{
    CostBudget, PersistedQueries, PersistedQuerySettings, QueryLimits, SchemaOptions,
};
use crate::http::{HttpLimits, HttpSettings, TrustedProxies, WebSocketPolicy};
use crate::seed::{self, SeedReport};
use crate::store::{Location, Store, StoreOptions};

/// Starts logging to stderr: the level from `RUST_LOG` (default `info`);
/// text with colours only on a terminal, or one JSON object per line.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_current_span(true).init(),
    }
}

/// Where `args` say the data lives, with the embedded database opened
/// with `options`. Reads the TLS files named.
pub fn location(args: &StoreArgs, options: StoreOptions) -> Result<Location> {
    if args.etcd.urls.is_empty() {
        return Ok(Location::Embedded {
            path: args.data_dir.clone(),
            options,
        });
    }
    etcd_location(args)
}

#[cfg(not(feature = "etcd"))]
fn etcd_location(_: &StoreArgs) -> Result<Location> {
    Err(Error::bad_input(
        "--etcd needs a tradegraph built with the etcd backend: cargo build --release --features etcd",
    ))
}

#[cfg(feature = "etcd")]
fn etcd_location(args: &StoreArgs) -> Result<Location> {
    use crate::store::backend::{EtcdOptions, EtcdTls};
    let etcd = &args.etcd;
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).map_err(|source| Error::Io {
            context: format!("cannot read the etcd {what} {}", path.display()),
            source,
        })
    };
    if etcd.etcd_prefix.is_empty() {
        return Err(Error::bad_input(
            "--etcd-prefix must not be empty: every key of the deployment starts with it",
        ));
    }
    let tls =
        match &etcd.etcd_ca_file {
            Some(ca) => Some(EtcdTls {
                ca: read(ca, "CA certificate")?,
                identity: match (&etcd.etcd_cert_file, &etcd.etcd_key_file) {
                    (Some(cert), Some(key)) => {
                        Some((read(cert, "client certificate")?, read(key, "client key")?))
                    }
                    _ => None,
                },
            }),
            None if etcd.etcd_cert_file.is_some() => return Err(Error::bad_input(
                "--etcd-cert-file needs --etcd-ca-file: the client certificate is sent over TLS",
            )),
            None => None,
        };
    Ok(Location::Etcd(EtcdOptions {
        endpoints: etcd.urls.clone(),
        prefix: etcd.etcd_prefix.clone(),
        tls,
        user: etcd.etcd_user.clone().zip(etcd.etcd_password.clone()),
        timeout: std::time::Duration::from_millis(etcd.etcd_timeout_ms.max(1)),
    }))
}

/// The name held while a store is prepared: of several servers starting
/// at once on one cluster, one seeds and the others wait, then find it
/// seeded.
const PREPARING: &str = "preparing";

/// Opens the database, finishes a run of synthetic shipments a crash
/// interrupted, and seeds it: always when `refresh` is set (the `seed`
/// command), else only when no seeding run has completed on it (the
/// server). Then adds the synthetic shipments asked for. All of it while
/// holding the store's [`PREPARING`] name, so that on a shared store one
/// process does it at a time.
pub async fn prepare_database(
    args: &DatabaseArgs,
    refresh: bool,
) -> Result<(Store, Option<SeedReport>)> {
    let options = StoreOptions {
        cache_bytes: args.cache_mb.saturating_mul(1 << 20),
        durable: !args.unsafe_ack_before_flush,
    };
    if !options.durable {
        tracing::warn!("--unsafe-ack-before-flush: acknowledged writes are lost on a crash");
    }
    let location = location(&args.store, options)?;
    let store = Store::connect(&location).await?;
    let preparing = store.exclusive(PREPARING).await?;
    let prepared = prepare_held(args, &location, store, refresh).await;
    match prepared {
        Ok((store, report)) => {
            preparing.release().await?;
            Ok((store, report))
        }
        Err(error) => {
            // The error being reported matters more than a failed release,
            // which the lock's lease ends anyway.
            let _ = preparing.release().await;
            Err(error)
        }
    }
}

/// [`prepare_database`]'s work, while the name is held.
async fn prepare_held(
    args: &DatabaseArgs,
    location: &Location,
    mut store: Store,
    refresh: bool,
) -> Result<(Store, Option<SeedReport>)> {
    // Before anything else writes: shipment writes are refused while a run
    // is unfinished.
    let mut bulk_written = seed::finish_synthetic_shipments(&store).await?;
    let report = if refresh || !store.is_seeded().await? {
        let data = seed::load(args.seed_dir.as_deref())?;
        Some(seed::apply(&store, &data).await?)
    } else {
        None
    };
    if args.synthetic_shipments > 0 {
        let added = seed::add_synthetic_shipments(&store, args.synthetic_shipments).await?;
        tracing::info!(
            added,
            total = args.synthetic_shipments,
            "synthetic shipments ready"
        );
        bulk_written += added;
    }
    store.flush().await?;
    if let Some((path, options)) = location.embedded().filter(|_| bulk_written > 0) {
        // Now, while sled's log is fresh in the page cache: otherwise the
        // next start reads all of it from disk (46 s for a million
        // shipments).
        store = store.reopen(path, options).await?;
    }
    Ok((store, report))
}

/// The write tokens the server accepts: the hashes given by flag and those
/// in the token file.
fn write_tokens(args: &ServeArgs) -> Result<WriteTokens> {
    let from_file = match &args.write_token_file {
        Some(path) => std::fs::read_to_string(path).map_err(|source| Error::Io {
            context: format!("cannot read the write token file {}", path.display()),
            source,
        })?,
        None => String::new(),
    };
    let hashes = args
        .write_token_hashes
        .iter()
        .map(String::as_str)
        .chain(
            from_file
                .lines()
                .map(|line| line.split('#').next().unwrap_or_default()),
        )
        .filter(|hash| !hash.trim().is_empty());
    WriteTokens::from_hex(hashes)
}

/// The persisted query registry: the manifest file read, if any.
fn persisted_queries(args: &PersistedArgs) -> Result<PersistedQueries> {
    let manifest = match &args.persisted_queries {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|source| Error::Io {
            context: format!(
                "cannot read the persisted query manifest {}",
                path.display()
            ),
            source,
        })?),
        None => None,
    };
    PersistedQueries::new(&PersistedQuerySettings {
        cache_bytes: args.persisted_queries_cache_kb.saturating_mul(1024),
        manifest,
        allow_listed_only: args.allow_listed_only,
    })
}

/// How many of the costliest queries `--max-cost` allows a client may run
/// a minute under the default budget.
const DEFAULT_BUDGET_IN_COSTLIEST_QUERIES: u64 = 10;

/// The per-client cost budget: `--cost-budget-per-minute`, else ten of the
/// costliest queries the limits allow a minute; none when set to 0. A set
/// budget must cover the costliest query the limits allow, or that query
/// could never run.
fn cost_budget(args: &ServeArgs) -> Result<Option<Arc<CostBudget>>> {
    let max_cost = args.limits.max_cost;
    let per_minute = match args.limits.cost_budget_per_minute {
        Some(0) => return Ok(None),
        Some(per_minute) if per_minute < max_cost => {
            return Err(Error::bad_input(format!(
            "--cost-budget-per-minute must be at least --max-cost ({max_cost}), got {per_minute}"
        )))
        }
        Some(per_minute) => per_minute,
        None => max_cost.saturating_mul(DEFAULT_BUDGET_IN_COSTLIEST_QUERIES),
    };
    // A budget of no cost would refuse everything; a `--max-cost` of 0
    // refuses every query anyway.
    let per_minute = std::num::NonZeroU64::new(per_minute).unwrap_or(std::num::NonZeroU64::MIN);
    Ok(Some(Arc::new(CostBudget::new(per_minute))))
}

/// The response cache's size.
fn response_cache_bytes(args: &ServeArgs) -> usize {
    args.response_cache_mb.saturating_mul(1 << 20)
}

/// How the schema behaves under these settings: limits, cost budget,
/// persisted queries, introspection and suggestions.
pub fn schema_options(args: &ServeArgs) -> Result<SchemaOptions> {
    Ok(SchemaOptions {
        limits: QueryLimits {
            max_depth: args.limits.max_depth,
            max_cost: args.limits.max_cost,
            max_aliases: args.limits.max_aliases,
            max_directives: args.limits.max_directives,
            max_tokens: args.limits.max_tokens,
            max_scan: args.limits.max_scan,
            timeout: args.limits.timeout(),
        },
        budget: cost_budget(args)?,
        persisted: Arc::new(persisted_queries(&args.persisted)?),
        introspection: args.feature(args.introspection),
        suggestions: args.feature(args.suggestions),
    })
}

/// A bound, seeded server, ready to run.
pub struct Application {
    port: u16,
    store: Store,
    server: crate::http::Server,
}

impl Application {
    /// Prepares the database and binds the listener (port 0 picks a free one).
    pub async fn build(args: &ServeArgs) -> Result<Self> {
        let tokens = write_tokens(args)?;
        let options = schema_options(args)?;
        if !tokens.any() {
            tracing::warn!(
                "no write token configured: mutations are refused (see `tradegraph token`)"
            );
        }
        let (store, report) = prepare_database(&args.database, false).await?;
        if let Some(report) = report {
            tracing::info!(added = report.added, "seeded the database");
        }
        let listener = TcpListener::bind(args.bind).map_err(|source| Error::Io {
            context: format!("cannot listen on {}", args.bind),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| Error::Io {
                context: "cannot read the bound address".into(),
                source,
            })?
            .port();
        // The one task that publishes shipment events, every server's, from
        // the store's change feed.
        let events = Events::default();
        actix_web::rt::spawn(events.clone().follow(store.clone()));
        let api = crate::graphql::build_api(store.clone(), tokens, events, options);
        let policy = WebSocketPolicy {
            allowed_origins: args.cors_origins.clone(),
            max_connections: args.max_websockets,
            max_connections_per_client: args.max_websockets_per_client,
        };
        let http_limits = HttpLimits {
            max_body_bytes: args.limits.max_body_kb.saturating_mul(1024),
            max_batch: args.limits.max_batch,
            timeout: args.limits.timeout(),
            csrf_strict_get: args.limits.csrf_strict_get,
        };
        let settings = HttpSettings {
            websocket: policy,
            limits: http_limits,
            playground: args.feature(args.playground),
            dashboard: args.dashboard,
            introspection: args.feature(args.introspection),
            trusted_proxies: TrustedProxies::new(&args.trusted_proxies),
            cache_max_age: args.cache_max_age,
            shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_secs),
            response_cache_bytes: response_cache_bytes(args),
        };
        let server = crate::http::server(listener, api, store.clone(), settings)?;
        tracing::info!(address = %args.bind.ip(), port, "serving GraphiQL at / and the API at /graphql");
        Ok(Self {
            port,
            store,
            server,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The store the server reads.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until Ctrl-C or SIGTERM, lets requests in flight finish, then
    /// flushes the database before it closes.
    pub async fn run_until_stopped(self) -> Result<()> {
        self.server.run().await?;
        self.store.flush().await?;
        tracing::info!("database flushed and closed");
        Ok(())
    }
}

/// The page cache of the one-shot database commands (`check`, `export`,
/// `import`), which read each record about once.
const COMMAND_CACHE_BYTES: u64 = 64 << 20;

/// Where a one-shot command's data lives.
fn command_location(args: &StoreArgs) -> Result<Location> {
    location(args, StoreOptions::new(COMMAND_CACHE_BYTES))
}

/// Opens a database that must already exist: a command that only reads it
/// would otherwise create an empty one and report on that.
async fn open_existing(args: &StoreArgs) -> Result<Store> {
    let location = command_location(args)?;
    if let Some((path, _)) = location.embedded() {
        if !path.is_dir() {
            return Err(Error::bad_input(format!(
                "no database at {}: the directory does not exist",
                path.display()
            )));
        }
    }
    let store = Store::connect(&location).await?;
    // A cluster has no directory to look for: a prefix with nothing under
    // it is no database.
    if location.embedded().is_none() && !store.holds_records().await? {
        return Err(Error::bad_input(format!(
            "no database at {}: it holds no records",
            location.describe()
        )));
    }
    Ok(store)
}

/// `tradegraph check`: checks the database, writes each inconsistency to
/// `out` and then a summary line (`ok: N records checked`), and returns
/// whether the database is consistent.
pub async fn check_database(args: &StoreArgs, out: &mut impl std::io::Write) -> Result<bool> {
    let report = open_existing(args).await?.check().await?;
    let mut lines = report.problems.clone();
    lines.push(if report.is_consistent() {
        format!("ok: {} records checked", report.records)
    } else {
        format!(
            "{} inconsistencies in {} records checked",
            report.problems.len(),
            report.records
        )
    });
    for line in lines {
        writeln!(out, "{line}").map_err(|source| Error::Io {
            context: "cannot write the check report".into(),
            source,
        })?;
    }
    Ok(report.is_consistent())
}

/// `tradegraph export`: writes the database as JSON lines to the file
/// `output` (synced to disk), or to standard output when `None`. Returns
/// how many records it wrote. A failed export removes its file, so that no
/// partial backup is left looking like a whole one.
pub async fn export_database(args: &StoreArgs, output: Option<&std::path::Path>) -> Result<u64> {
    let store = open_existing(args).await?;
    let Some(path) = output else {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        return store.export(&mut out).await;
    };
    let file = std::fs::File::create(path).map_err(|source| Error::Io {
        context: format!("cannot create {}", path.display()),
        source,
    })?;
    let mut writer = std::io::BufWriter::new(file);
    let exported = store.export(&mut writer).await.and_then(|n_records| {
        writer.get_ref().sync_all().map_err(|source| Error::Io {
            context: format!("cannot sync {}", path.display()),
            source,
        })?;
        Ok(n_records)
    });
    if exported.is_err() {
        // The error being reported matters more than a failure to clean up.
        let _ = std::fs::remove_file(path);
    }
    exported
}

/// `tradegraph import`: restores the backup in the file `input`, or on
/// standard input when `None`, into an empty database (created when
/// missing). Returns how many records it wrote.
pub async fn import_database(args: &StoreArgs, input: Option<&std::path::Path>) -> Result<u64> {
    // Open the backup first, so that a wrong path creates no database.
    let file = input
        .map(|path| {
            std::fs::File::open(path).map_err(|source| Error::Io {
                context: format!("cannot open {}", path.display()),
                source,
            })
        })
        .transpose()?;
    let store = Store::connect(&command_location(args)?).await?;
    match file {
        Some(file) => store.import(std::io::BufReader::new(file)).await,
        None => {
            store
                .import(std::io::BufReader::new(std::io::stdin()))
                .await
        }
    }
}
