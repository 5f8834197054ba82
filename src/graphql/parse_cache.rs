//! Parsed documents, remembered by their text: clients send the same few
//! documents again and again, and parsing is a large part of answering a
//! small query. A hit hands async-graphql the parsed document, so only
//! validation and execution run; the token limit still counts the text
//! first. Bounded by count and by document size.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerResult, Variables};
use lru::LruCache;

/// The most documents remembered.
const CAPACITY: usize = 512;

/// The longest document remembered, in bytes: long documents are rare and
/// would crowd out the common ones.
const MAX_DOCUMENT_BYTES: usize = 16 * 1024;

/// The documents parsed so far, most recently used kept.
#[derive(Clone)]
pub(super) struct ParseCache(Arc<Mutex<LruCache<Arc<str>, ExecutableDocument>>>);

impl ParseCache {
    /// An empty cache.
    pub(super) fn new() -> Self {
        Self(Arc::new(Mutex::new(LruCache::new(
            NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
        ))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Arc<str>, ExecutableDocument>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ExtensionFactory for ParseCache {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ParseOfRequest {
            cache: self.clone(),
            hit: AtomicBool::new(false),
        })
    }
}

struct ParseOfRequest {
    cache: ParseCache,
    /// Whether the request's document came from the cache.
    hit: AtomicBool,
}

#[async_graphql::async_trait::async_trait]
impl Extension for ParseOfRequest {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let cached = self.cache.lock().get(request.query.as_str()).cloned();
        if let Some(document) = cached {
            request.set_parsed_query(document);
            self.hit.store(true, Ordering::Relaxed);
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if !self.hit.load(Ordering::Relaxed) && query.len() <= MAX_DOCUMENT_BYTES {
            self.cache.lock().put(Arc::from(query), document.clone());
        }
        Ok(document)
    }
}
