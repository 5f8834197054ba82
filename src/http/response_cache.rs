//! Response bodies of successful queries, remembered with the database's
//! write generation they were computed at: any write makes every entry
//! stale, so a cached answer is always one the database would give now.
//! Bounded by bytes, least recently used dropped first. Off by default.

use std::sync::Mutex;

use actix_web::web::Bytes;
use lru::LruCache;

/// A digest of everything a query's answer depends on besides the
/// database: the document, the operation name, the variables and the
/// response type.
pub(super) type RequestDigest = [u8; 32];

/// Remembered answers.
pub(super) struct ResponseCache {
    max_bytes: usize,
    entries: Mutex<Entries>,
}

struct Entries {
    answers: LruCache<RequestDigest, Answer>,
    bytes: usize,
}

struct Answer {
    generation: u64,
    body: Bytes,
}

impl ResponseCache {
    /// A cache of at most `max_bytes` of bodies; 0 remembers nothing.
    pub(super) fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            entries: Mutex::new(Entries {
                answers: LruCache::unbounded(),
                bytes: 0,
            }),
        }
    }

    /// Whether the cache remembers anything (when it does not, callers
    /// need not digest their requests).
    pub(super) fn is_enabled(&self) -> bool {
        self.max_bytes > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The body remembered for `digest`, if it was computed at
    /// `generation` (a stale one is dropped).
    pub(super) fn get(&self, digest: &RequestDigest, generation: u64) -> Option<Bytes> {
        if !self.is_enabled() {
            return None;
        }
        let mut entries = self.lock();
        match entries.answers.get(digest) {
            Some(answer) if answer.generation == generation => Some(answer.body.clone()),
            Some(_) => {
                if let Some(stale) = entries.answers.pop(digest) {
                    entries.bytes -= stale.body.len();
                }
                None
            }
            None => None,
        }
    }

    /// Remembers a body computed at `generation`.
    pub(super) fn put(&self, digest: RequestDigest, generation: u64, body: Bytes) {
        if body.len() > self.max_bytes {
            return;
        }
        let mut entries = self.lock();
        entries.bytes += body.len();
        if let Some(replaced) = entries.answers.put(digest, Answer { generation, body }) {
            entries.bytes -= replaced.body.len();
        }
        while entries.bytes > self.max_bytes {
            match entries.answers.pop_lru() {
                Some((_, dropped)) => entries.bytes -= dropped.body.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_makes_an_answer_stale() {
        let cache = ResponseCache::new(1024);
        cache.put([1; 32], 7, Bytes::from_static(b"{\"data\":1}"));
        assert_eq!(
            cache.get(&[1; 32], 7),
            Some(Bytes::from_static(b"{\"data\":1}"))
        );
        assert_eq!(cache.get(&[1; 32], 8), None);
        assert_eq!(cache.get(&[1; 32], 7), None, "a stale answer is dropped");
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget() {
        let cache = ResponseCache::new(20);
        for n in 0..5u8 {
            cache.put([n; 32], 0, Bytes::from(vec![b'x'; 8]));
        }
        let kept: Vec<u8> = (0..5u8)
            .filter(|n| cache.get(&[*n; 32], 0).is_some())
            .collect();
        assert_eq!(kept, vec![3, 4]);
        assert_eq!(ResponseCache::new(0).get(&[3; 32], 0), None);
    }
}
