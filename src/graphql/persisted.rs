//! Persisted queries. Automatic persisted queries (Apollo's
//! `persistedQuery` request extension): a client sends the SHA-256 hash of
//! its document instead of the document; a hash the server has not seen is
//! answered with `PERSISTED_QUERY_NOT_FOUND`, and the client retries with
//! both, which the server remembers in a cache bounded by bytes. Hash-only
//! requests are small enough for GET, so a CDN can cache them.
//!
//! Operations can also be registered up front from an Apollo persisted
//! query manifest; in allow-list mode only those execute, on every
//! transport.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Request, ServerError, Value};
use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::codes;
use super::errors::coded;
use crate::error::{Error, Result};

/// A SHA-256 digest.
type Hash = [u8; 32];

/// The SHA-256 digest of a document.
fn digest(query: &str) -> Hash {
    Sha256::digest(query.as_bytes()).into()
}

/// How persisted queries behave.
#[derive(Debug, Clone, Default)]
pub struct PersistedQuerySettings {
    /// The most bytes of documents the automatic cache holds; 0 turns
    /// automatic persisted queries off.
    pub cache_bytes: usize,
    /// The text of an Apollo persisted query manifest
    /// (`apollo-persisted-query-manifest`, version 1) registering operations.
    pub manifest: Option<String>,
    /// Whether only registered operations execute.
    pub allow_listed_only: bool,
}

/// The operations a server knows by hash.
pub struct PersistedQueries {
    registered: HashMap<Hash, Arc<str>>,
    allow_listed_only: bool,
    cache: Option<Mutex<Cache>>,
}

/// Documents remembered automatically, least recently used dropped first
/// once their bytes pass the budget.
struct Cache {
    entries: LruCache<Hash, Arc<str>>,
    bytes: usize,
    max_bytes: usize,
}

/// An Apollo persisted query manifest.
#[derive(Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

/// One registered operation of a manifest.
#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

impl PersistedQueries {
    /// Builds the registry; a manifest that is not one, names an operation
    /// by a hash that is not its body's, or holds a document that does not
    /// parse is refused with a message saying which.
    pub fn new(settings: &PersistedQuerySettings) -> Result<Self> {
        let mut registered = HashMap::new();
        if let Some(text) = &settings.manifest {
            let manifest: Manifest = serde_json::from_str(text).map_err(|error| {
                Error::bad_input(format!(
                    "the persisted query manifest is not valid: {error}"
                ))
            })?;
            if manifest.format != "apollo-persisted-query-manifest" || manifest.version != 1 {
                return Err(Error::bad_input(format!(
                    "the persisted query manifest must have format \"apollo-persisted-query-manifest\" and version 1, got {:?} version {}",
                    manifest.format, manifest.version
                )));
            }
            for operation in manifest.operations {
                let hash = digest(&operation.body);
                if hex::encode(hash) != operation.id.to_ascii_lowercase() {
                    return Err(Error::bad_input(format!(
                        "persisted operation {} is not the SHA-256 hash of its body (that is {})",
                        operation.id,
                        hex::encode(hash)
                    )));
                }
                async_graphql::parser::parse_query(&operation.body).map_err(|error| {
                    Error::bad_input(format!(
                        "persisted operation {} does not parse: {error}",
                        operation.id
                    ))
                })?;
                registered.insert(hash, Arc::from(operation.body));
            }
        }
        if settings.allow_listed_only && registered.is_empty() {
            return Err(Error::bad_input(
                "allow-list mode needs registered operations: give a persisted query manifest",
            ));
        }
        // Allow-list mode never learns documents from clients.
        let cache = (settings.cache_bytes > 0 && !settings.allow_listed_only).then(|| {
            Mutex::new(Cache {
                entries: LruCache::unbounded(),
                bytes: 0,
                max_bytes: settings.cache_bytes,
            })
        });
        Ok(Self {
            registered,
            allow_listed_only: settings.allow_listed_only,
            cache,
        })
    }

    /// Resolves a request's `persistedQuery` extension into its document,
    /// remembering a document sent with its hash, and in allow-list mode
    /// refuses any other operation than a registered one. The extension is
    /// consumed, so resolving again only repeats the allow-list check.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ServerError> {
        let hash = match request.extensions.0.remove("persistedQuery") {
            Some(extension) => Some(hash_of(&extension)?),
            None => None,
        };
        match hash {
            Some(hash) if request.query.is_empty() => {
                request.query = self.lookup(&hash)?.to_string();
            }
            Some(hash) => {
                if digest(&request.query) != hash {
                    return Err(coded(
                        codes::BAD_REQUEST,
                        format!(
                            "the query's SHA-256 hash is {}, not the sha256Hash sent",
                            hex::encode(digest(&request.query))
                        ),
                    ));
                }
                self.remember(hash, &request.query);
            }
            None => {}
        }
        if self.allow_listed_only && !self.registered.contains_key(&digest(&request.query)) {
            return Err(coded(
                codes::QUERY_NOT_IN_ALLOW_LIST,
                "this server executes only registered operations, and this document is not one",
            ));
        }
        Ok(())
    }

    /// The document of a hash: registered, or remembered.
    fn lookup(&self, hash: &Hash) -> Result<Arc<str>, ServerError> {
        if let Some(query) = self.registered.get(hash) {
            return Ok(query.clone());
        }
        if self.allow_listed_only {
            return Err(coded(
                codes::PERSISTED_QUERY_NOT_IN_LIST,
                format!("no registered operation has the hash {}", hex::encode(hash)),
            ));
        }
        let Some(cache) = &self.cache else {
            return Err(coded(
                codes::PERSISTED_QUERY_NOT_SUPPORTED,
                "this server does not remember persisted queries: send the query text",
            ));
        };
        let mut cache = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.entries.get(hash).cloned().ok_or_else(|| {
            coded(
                codes::PERSISTED_QUERY_NOT_FOUND,
                "PersistedQueryNotFound: send the query text with its sha256Hash",
            )
        })
    }

    /// Remembers a document sent with its hash, dropping the least recently
    /// used ones past the byte budget (a document bigger than the whole
    /// budget is not kept).
    fn remember(&self, hash: Hash, query: &str) {
        let Some(cache) = &self.cache else {
            return;
        };
        let mut cache = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if query.len() > cache.max_bytes || cache.entries.get(&hash).is_some() {
            return;
        }
        cache.bytes += query.len();
        cache.entries.put(hash, Arc::from(query));
        while cache.bytes > cache.max_bytes {
            match cache.entries.pop_lru() {
                Some((_, dropped)) => cache.bytes -= dropped.len(),
                None => break,
            }
        }
    }

    /// How many documents the automatic cache holds.
    pub fn remembered(&self) -> usize {
        self.cache.as_ref().map_or(0, |cache| {
            cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entries
                .len()
        })
    }
}

/// The hash of a `persistedQuery` extension: `{ "version": 1,
/// "sha256Hash": "<64 hex digits>" }`.
fn hash_of(extension: &Value) -> Result<Hash, ServerError> {
    let malformed = || {
        coded(
            codes::BAD_REQUEST,
            "extensions.persistedQuery must be { \"version\": 1, \"sha256Hash\": \"<64 hex digits>\" }",
        )
    };
    let Value::Object(fields) = extension else {
        return Err(malformed());
    };
    match fields.get("version") {
        Some(Value::Number(version)) if version.as_u64() == Some(1) => {}
        _ => return Err(malformed()),
    }
    let Some(Value::String(text)) = fields.get("sha256Hash") else {
        return Err(malformed());
    };
    let mut hash = Hash::default();
    hex::decode_to_slice(text, &mut hash).map_err(|_| malformed())?;
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "{ provinces { totalCount } }";

    fn with_hash(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        request.extensions.0.insert(
            "persistedQuery".into(),
            async_graphql::value!({ "version": 1, "sha256Hash": hash }),
        );
        request
    }

    fn code_of(error: ServerError) -> String {
        error
            .extensions
            .and_then(|extensions| match extensions.get("code") {
                Some(Value::String(code)) => Some(code.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_hash_is_unknown_until_sent_with_its_document() {
        let queries = PersistedQueries::new(&PersistedQuerySettings {
            cache_bytes: 1024,
            ..Default::default()
        })
        .unwrap();
        let hash = hex::encode(digest(QUERY));
        let error = queries.resolve(&mut with_hash("", &hash)).unwrap_err();
        assert_eq!(code_of(error), codes::PERSISTED_QUERY_NOT_FOUND);
        queries.resolve(&mut with_hash(QUERY, &hash)).unwrap();
        let mut request = with_hash("", &hash);
        queries.resolve(&mut request).unwrap();
        assert_eq!(request.query, QUERY);
        assert!(request.extensions.0.is_empty());
    }

    #[test]
    fn a_wrong_hash_or_version_is_refused() {
        let queries = PersistedQueries::new(&PersistedQuerySettings {
            cache_bytes: 1024,
            ..Default::default()
        })
        .unwrap();
        let error = queries
            .resolve(&mut with_hash(QUERY, &"0".repeat(64)))
            .unwrap_err();
        assert_eq!(code_of(error), codes::BAD_REQUEST);
        let error = queries.resolve(&mut with_hash("", "xyz")).unwrap_err();
        assert_eq!(code_of(error), codes::BAD_REQUEST);
        assert_eq!(queries.remembered(), 0);
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget() {
        let query_of = |n: u8| format!("{{ provinces(first: {n}) {{ totalCount }} }}");
        let queries = PersistedQueries::new(&PersistedQuerySettings {
            cache_bytes: 2 * query_of(0).len(),
            ..Default::default()
        })
        .unwrap();
        for n in 0..5 {
            let query = query_of(n);
            let hash = hex::encode(digest(&query));
            queries.resolve(&mut with_hash(&query, &hash)).unwrap();
        }
        assert_eq!(queries.remembered(), 2);
    }

    #[test]
    fn allow_list_mode_runs_only_registered_operations() {
        let manifest = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": hex::encode(digest(QUERY)), "body": QUERY, "name": "Count", "type": "query" }]
        })
        .to_string();
        let queries = PersistedQueries::new(&PersistedQuerySettings {
            cache_bytes: 1024,
            manifest: Some(manifest),
            allow_listed_only: true,
        })
        .unwrap();
        queries.resolve(&mut Request::new(QUERY)).unwrap();
        let mut by_hash = with_hash("", &hex::encode(digest(QUERY)));
        queries.resolve(&mut by_hash).unwrap();
        assert_eq!(by_hash.query, QUERY);
        let other = "{ hubs { totalCount } }";
        let error = queries.resolve(&mut Request::new(other)).unwrap_err();
        assert_eq!(code_of(error), codes::QUERY_NOT_IN_ALLOW_LIST);
        let error = queries
            .resolve(&mut with_hash(other, &hex::encode(digest(other))))
            .unwrap_err();
        assert_eq!(code_of(error), codes::QUERY_NOT_IN_ALLOW_LIST);
        let error = queries
            .resolve(&mut with_hash("", &hex::encode(digest(other))))
            .unwrap_err();
        assert_eq!(code_of(error), codes::PERSISTED_QUERY_NOT_IN_LIST);
    }

    #[test]
    fn a_manifest_with_a_wrong_id_is_refused() {
        let manifest = serde_json::json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": "0".repeat(64), "body": QUERY }]
        })
        .to_string();
        let error = PersistedQueries::new(&PersistedQuerySettings {
            manifest: Some(manifest),
            ..Default::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(
            error.contains("is not the SHA-256 hash of its body"),
            "{error}"
        );
    }
}
