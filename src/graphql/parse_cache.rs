//! Parsed documents, remembered by their text: clients send the same few
//! documents again and again, and parsing is a large part of answering a
//! small query. A hit hands async-graphql the parsed document, so only
//! validation and execution run; the token limit still counts the text
//! first. Bounded by count and by document size.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::ServerResult;
use lru::LruCache;

use super::errors::parse_failed;

/// The most documents remembered.
const CAPACITY: usize = 512;

/// The longest document remembered, in bytes: long documents are rare and
/// would crowd out the common ones.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

/// The documents parsed so far, most recently used kept. A std mutex: it
/// is held only to look up or insert, never across an await.
pub(super) struct ParseCache(Mutex<LruCache<Box<str>, ExecutableDocument>>);

impl ParseCache {
    /// An empty cache.
    pub(super) fn new() -> Self {
        Self(Mutex::new(LruCache::new(
            NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
        )))
    }

    /// The parsed document of `query`: remembered, or parsed now (and
    /// remembered when short enough). A document that does not parse is
    /// refused with `GRAPHQL_PARSE_FAILED`.
    pub(super) fn parse(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if let Some(document) = self.lock().get(query) {
            return Ok(document.clone());
        }
        let document = async_graphql::parser::parse_query(query).map_err(parse_failed)?;
        if query.len() <= MAX_DOCUMENT_BYTES {
            self.lock().put(Box::from(query), document.clone());
        }
        Ok(document)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, ExecutableDocument>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
