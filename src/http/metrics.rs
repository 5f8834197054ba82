//! `GET /metrics` in the Prometheus (OpenMetrics) text format: GraphQL
//! requests by operation name, outcome and error code, their latency, the
//! refusals by limit, and the database's size on disk.
//!
//! Handlers put an [`Observation`] into the response's extensions; the
//! access-log middleware records it with the request's duration, so every
//! request is counted in one place.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::graphql::codes;
use crate::store::Store;

/// What became of a GraphQL request, for the metrics and the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Observation {
    /// The operation name the client gave (empty when none).
    pub operation: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The `extensions.code` of its first error (empty when none).
    pub code: String,
}

/// How a GraphQL request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Executed without errors.
    Ok,
    /// Executed, with errors in some fields.
    Error,
    /// Refused before execution (malformed, over a limit, not allowed).
    Refused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
        }
    }
}

/// The most distinct operation names labelled; later ones count as
/// `(other)`, so clients cannot grow the metrics without bound.
const MAX_OPERATIONS: usize = 200;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: String,
}

/// Latency buckets, in seconds: 100 µs to 10 s.
fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0,
    ])
}

/// The server's metrics.
pub(super) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
    refusals: Family<LimitLabels, Counter>,
    database_bytes: Gauge,
    /// Brought up to the store's own count when the metrics are read; the
    /// lock keeps two reads from adding the same records twice.
    scanned_records: Mutex<Counter>,
    operations: Mutex<HashSet<String>>,
    store: Store,
}

impl Metrics {
    /// Metrics for a server over `store`.
    pub(super) fn new(store: Store) -> Self {
        let mut registry = Registry::with_prefix("tradegraph");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation name, outcome and first error code",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "graphql_request_duration_seconds",
            "Time from receiving a GraphQL request to its response, by operation name",
            latency.clone(),
        );
        let refusals = Family::<LimitLabels, Counter>::default();
        registry.register(
            "limit_refusals",
            "Requests refused by a limit, by the limit's error code",
            refusals.clone(),
        );
        let database_bytes = Gauge::default();
        registry.register(
            "database_size_bytes",
            "Bytes the database takes on disk",
            database_bytes.clone(),
        );
        let scanned_records = Counter::default();
        registry.register(
            "scanned_records",
            "Shipment records read by filtered lists and counts (charged to requests' scan budgets)",
            scanned_records.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            refusals,
            database_bytes,
            scanned_records: Mutex::new(scanned_records),
            operations: Mutex::new(HashSet::new()),
            store,
        }
    }

    /// Records one GraphQL request.
    pub(super) fn observe(&self, observation: &Observation, elapsed: Duration) {
        let operation = self.operation_label(&observation.operation);
        self.requests
            .get_or_create(&RequestLabels {
                operation: operation.clone(),
                outcome: observation.outcome.as_str().to_owned(),
                code: observation.code.clone(),
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels { operation })
            .observe(elapsed.as_secs_f64());
        if codes::LIMITS.contains(&observation.code.as_str()) {
            self.refusals
                .get_or_create(&LimitLabels {
                    limit: observation.code.clone(),
                })
                .inc();
        }
    }

    /// The label of an operation name: the name when it is a GraphQL name
    /// of at most 64 characters among the first [`MAX_OPERATIONS`] seen,
    /// else `(anonymous)`, `(invalid)` or `(other)`.
    fn operation_label(&self, name: &str) -> String {
        if name.is_empty() {
            return "(anonymous)".into();
        }
        let valid = name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            return "(invalid)".into();
        }
        let mut known = self
            .operations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if known.contains(name) || known.len() < MAX_OPERATIONS {
            known.insert(name.to_owned());
            name.to_owned()
        } else {
            "(other)".into()
        }
    }

    /// The metrics in the text format, with the database size and the
    /// records scanned read now.
    pub(super) fn render(&self) -> String {
        {
            let scanned = self
                .scanned_records
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let total = self.store.scanned_records();
            scanned.inc_by(total.saturating_sub(scanned.get()));
        }
        match self.store.size_on_disk() {
            Ok(Some(bytes)) => {
                self.database_bytes
                    .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
            // A backend that does not know its size reports none.
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot read the database size"),
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        text
    }
}
