//! The one error type of tradegraph and its `Result` alias.
//!
//! Every layer returns [`Error`]; the GraphQL layer maps it to a client-facing
//! error with a stable `extensions.code` in exactly one place
//! (`graphql::errors`). Internal causes are logged there and never shown.

/// Everything that can go wrong in tradegraph.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client sent a value that is not allowed. The message says what was
    /// wrong and what is allowed; clients see it with code `BAD_USER_INPUT`.
    #[error("{0}")]
    BadInput(String),

    /// The record asked for does not exist (any more). Clients see `NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),

    /// The record changed since the client read it. Clients see `CONFLICT`
    /// with the current version in `extensions.currentVersion`.
    #[error("version conflict: expectedVersion is {expected_version} but the current version is {current_version}; read the record again and retry")]
    Conflict {
        /// The version stored now.
        current_version: u32,
        /// The version the client expected.
        expected_version: u32,
    },

    /// A write came without a valid write token. Clients see `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(String),

    /// Counting what a filter asks for would read more than a request may:
    /// the scan limit per request. Clients see `SCAN_LIMIT`, with the limit
    /// in `extensions.limit` and the message saying how to narrow the query.
    #[error("counting the shipments that meet this filter would read more than {limit} records, the scan limit of a request: narrow the query (a filter of one condition, with or without a date range, is counted from counters; a rarer condition such as shipper or route, or a date range, reads fewer)")]
    ScanLimit {
        /// The most records a request's filtered scans may read.
        limit: u64,
    },

    /// The request ran past its time limit and its store work stopped.
    /// Clients see `TIMEOUT`.
    #[error("the request ran past its time limit and was stopped")]
    DeadlineExceeded,

    /// The store cannot be reached, or did not answer in time (a cluster
    /// that lost its quorum). Clients see `UNAVAILABLE`, with HTTP status
    /// 503, and may retry; the server recovers by itself.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),

    /// A commit holds more than one transaction of the store may (etcd's
    /// operations or request bytes). Writers of many records split them
    /// into commits that fit (`Store::write_shipments`); one record always
    /// fits, so clients see only `INTERNAL`.
    #[error("a commit of {used} {measure} is more than the {allowed} one transaction of the store may hold")]
    CommitTooLarge {
        /// What it counts: operations, or request bytes.
        measure: &'static str,
        /// How many the commit needed.
        used: usize,
        /// How many one transaction may hold.
        allowed: usize,
    },

    /// A subscription missed events, for the reason given: it fell too
    /// far behind, or the change feed no longer holds them. Clients see
    /// `EVENTS_MISSED`, and its stream ends.
    #[error("{0}; subscribe again and read the current state with a query")]
    EventsMissed(String),

    /// Another process holds the database. Only the command line sees this.
    #[error("database in use: another tradegraph process holds {path} (stop it, or use another --data-dir)")]
    DatabaseInUse {
        /// The database directory that is locked.
        path: String,
    },

    /// The database was written in a format this build does not read.
    #[error("unsupported database format version {found} in {path}: this build reads version {expected}")]
    FormatVersion {
        /// The database directory.
        path: String,
        /// The version stored in the database.
        found: u32,
        /// The version this build writes and reads.
        expected: u32,
    },

    /// A seed file is malformed or breaks a rule; names the file, the record
    /// and the field. Only the command line sees this.
    #[error("seed file {file}: {record}: {field}: {message}")]
    Seed {
        /// The seed file, e.g. `provinces.json`.
        file: String,
        /// The record, by its code or position.
        record: String,
        /// The field at fault.
        field: String,
        /// What was wrong and what is allowed.
        message: String,
    },

    /// The embedded database failed. Clients see only `INTERNAL`.
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A stored value did not decode or an index points nowhere. Clients see
    /// only `INTERNAL`.
    #[error("corrupt database: {0}")]
    Corrupt(String),

    /// Reading a file or socket failed. Only the command line sees this.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}

/// The result type used throughout tradegraph.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::BadInput`] from anything that prints.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::BadInput(message.into())
    }
}
