//! Response bodies of successful queries, remembered with the database's
//! revision they were computed at: any write makes every entry
//! stale, so a cached answer is always one the database would give now.
//! Bounded by bytes, least recently used dropped first. Off by default.
//! Each answer keeps its query's cost, so that serving it again is charged
//! to the client's budget like running it.

use std::sync::Mutex;

use actix_web::web::Bytes;
use lru::LruCache;

/// A digest of everything a query's answer depends on besides the
/// database: the request (its document, operation name and variables, or
/// the body that carries them) and the response type.
pub(super) type RequestDigest = [u8; 32];

/// A remembered answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Answer {
    /// The response body.
    pub body: Bytes,
    /// The operation it answers, for the access log and the metrics.
    pub operation: String,
    /// The cost its query was charged, charged again to each client it is
    /// served to.
    pub cost: u64,
}

/// Remembered answers.
pub(super) struct ResponseCache {
    max_bytes: usize,
    entries: Mutex<Entries>,
}

struct Entries {
    answers: LruCache<RequestDigest, Entry>,
    bytes: usize,
}

struct Entry {
    revision: u64,
    answer: Answer,
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

    /// The answer remembered for `digest`, if it was computed at
    /// `revision` (a stale one is dropped).
    pub(super) fn get(&self, digest: &RequestDigest, revision: u64) -> Option<Answer> {
        if !self.is_enabled() {
            return None;
        }
        let mut entries = self.lock();
        match entries.answers.get(digest) {
            Some(entry) if entry.revision == revision => Some(entry.answer.clone()),
            Some(_) => {
                if let Some(stale) = entries.answers.pop(digest) {
                    entries.bytes -= stale.answer.body.len();
                }
                None
            }
            None => None,
        }
    }

    /// Remembers an answer computed at `revision`.
    pub(super) fn put(&self, digest: RequestDigest, revision: u64, answer: Answer) {
        let size = answer.body.len();
        if size > self.max_bytes {
            return;
        }
        let mut entries = self.lock();
        entries.bytes += size;
        if let Some(replaced) = entries.answers.put(digest, Entry { revision, answer }) {
            entries.bytes -= replaced.answer.body.len();
        }
        while entries.bytes > self.max_bytes {
            match entries.answers.pop_lru() {
                Some((_, dropped)) => entries.bytes -= dropped.answer.body.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &[u8]) -> Answer {
        Answer {
            body: Bytes::copy_from_slice(body),
            operation: "Q".into(),
            cost: 5,
        }
    }

    #[test]
    fn a_write_makes_an_answer_stale() {
        let cache = ResponseCache::new(1024);
        cache.put([1; 32], 7, answer(b"{\"data\":1}"));
        assert_eq!(cache.get(&[1; 32], 7), Some(answer(b"{\"data\":1}")));
        assert_eq!(cache.get(&[1; 32], 8), None);
        assert_eq!(cache.get(&[1; 32], 7), None, "a stale answer is dropped");
    }

    #[test]
    fn the_cache_keeps_to_its_byte_budget() {
        let cache = ResponseCache::new(20);
        for n in 0..5u8 {
            cache.put([n; 32], 0, answer(&[b'x'; 8]));
        }
        let kept: Vec<u8> = (0..5u8)
            .filter(|n| cache.get(&[*n; 32], 0).is_some())
            .collect();
        assert_eq!(kept, vec![3, 4]);
        assert_eq!(ResponseCache::new(0).get(&[3; 32], 0), None);
    }
}
