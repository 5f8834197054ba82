//! tradegraph: a GraphQL server for the graph of China's foreign trade.
//!
//! Seed files (figures quoted from a news report) are checked and written
//! into the store (an embedded sled database by default), which a GraphQL
//! API serves over HTTP.
//!
//! # Layout
//! - `error`: the one error type, `Error`, and `Result`.
//! - `auth`: write tokens, stored as hashes and compared in constant time.
//! - `domain`: records, figures, codes and list requests; no I/O.
//! - `store`: the key layout (records, packed indexes, counters, pagination,
//!   checks, backups, the upgrade) over a storage seam whose default backend
//!   is sled.
//! - `seed`: the seed files and synthetic data, written into the store.
//! - `events`: live shipment events for subscribers.
//! - `graphql`: the schema: object types, loaders, connections, error codes.
//! - `http`: the actix-web routes.
//! - `config`: command-line and environment configuration.
//! - `app`: start-up wiring used by the binaries and the tests.

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod seed;
pub mod store;
