//! tradegraph: a GraphQL server for the graph of China's foreign trade.
//!
//! # Layout
//! - `error`: the one error type.
//! - `domain`: records, figures, codes and list requests; no I/O.
//! - `store`: the sled database: trees, indexes, pagination.
//! - `seed`: the seed files and synthetic data, written into the store.

pub mod domain;
pub mod error;
pub mod seed;
pub mod store;
