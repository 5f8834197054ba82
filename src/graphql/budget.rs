//! Per-client cost budgets over time: each client (by valid write token,
//! else by IPv4 address or IPv6 /64; an invalid token counts as none, so
//! made-up tokens do not buy fresh budgets) may spend so much query cost per
//! minute, refilled continuously (a token bucket). A request whose cost the
//! bucket cannot pay is refused with `RATE_LIMITED` and
//! `extensions.retryAfterSeconds`. On by default (`config`).

use std::net::{IpAddr, Ipv6Addr};
use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

use super::auth::PresentedToken;
use crate::auth::WriteTokens;

/// The address a request comes from, put in its data by the transport
/// (behind a trusted proxy, the address the proxy forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// Who a request comes from, for the budget and the WebSocket cap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    /// The client of a request: its valid write token, else its address;
    /// `None` when it has neither (an in-process request).
    pub(super) fn of(
        presented: Option<&PresentedToken>,
        tokens: &WriteTokens,
        address: Option<&ClientAddress>,
    ) -> Option<Self> {
        match presented.and_then(|presented| presented.valid(tokens)) {
            Some(token) => Some(Self::token(token)),
            None => address.map(|address| Self::address(address.0)),
        }
    }

    /// A client known by the write token it presents (a digest of it is
    /// kept, never the token).
    fn token(token: &str) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(token.as_bytes());
        Self(format!("token:{}", hex::encode(&digest[..12])))
    }

    /// A client known by its address: an IPv4 address, or the /64 of an
    /// IPv6 one. One IPv6 host is usually given a whole /64 (a home or a
    /// cloud instance gets at least that), so counting full IPv6 addresses
    /// would give one machine 2^64 fresh budgets. An IPv4 address mapped
    /// into IPv6 (`::ffff:a.b.c.d`, as a dual-stack listener sees IPv4
    /// peers) is that IPv4 address.
    pub fn address(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self(format!("ip:{v4}")),
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                Self(format!("ip:{}/64", Ipv6Addr::from(network)))
            }
        }
    }
}

/// The most clients whose spending is remembered; the least recently seen
/// beyond it are forgotten, which gives them a full budget again.
const MAX_CLIENTS: usize = 100_000;

/// The budgets of every client.
pub struct CostBudget {
    /// What a full bucket holds: the cost a client may spend per minute.
    per_minute: u64,
    clients: Mutex<LruCache<ClientKey, Bucket>>,
}

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    available: f64,
    updated: Instant,
}

impl CostBudget {
    /// A budget of `per_minute` cost per client (more than zero).
    pub fn new(per_minute: NonZeroU64) -> Self {
        Self {
            per_minute: per_minute.get(),
            clients: Mutex::new(LruCache::new(
                NonZeroUsize::new(MAX_CLIENTS).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The cost a client may spend per minute.
    pub(super) fn per_minute(&self) -> u64 {
        self.per_minute
    }

    /// Takes `cost` from the client's bucket at `now`, or says how long to
    /// wait until the bucket holds it (a cost above the whole budget waits
    /// for a full bucket and is then still too much; the limits keep the
    /// budget at least the highest allowed query cost).
    pub(super) fn charge(
        &self,
        client: &ClientKey,
        cost: u64,
        now: Instant,
    ) -> Result<(), Duration> {
        let per_second = self.per_minute as f64 / 60.0;
        let full = self.per_minute as f64;
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = clients.get_or_insert_mut(client.clone(), || Bucket {
            available: full,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.available = (bucket.available + elapsed * per_second).min(full);
        bucket.updated = now;
        let cost = cost as f64;
        if bucket.available >= cost {
            bucket.available -= cost;
            Ok(())
        } else {
            let missing = cost.min(full) - bucket.available;
            Err(Duration::from_secs_f64(missing / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_budget_refills_over_time() {
        let budget = CostBudget::new(NonZeroU64::new(600).unwrap());
        let client = ClientKey::address([10, 0, 0, 1].into());
        let start = Instant::now();
        assert_eq!(budget.charge(&client, 400, start), Ok(()));
        assert_eq!(budget.charge(&client, 200, start), Ok(()));
        // Empty: 600 per minute is 10 per second, so 50 takes 5 s.
        assert_eq!(
            budget.charge(&client, 50, start),
            Err(Duration::from_secs(5))
        );
        assert_eq!(
            budget.charge(&client, 50, start + Duration::from_secs(5)),
            Ok(())
        );
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_an_ipv4_client_its_address() {
        let key = |address: &str| ClientKey::address(address.parse().unwrap());
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_eq!(key("2001:db8:1:2:abcd::7").0, "ip:2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7").0, "ip:203.0.113.7");
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
    }

    #[test]
    fn clients_have_separate_budgets() {
        let budget = CostBudget::new(NonZeroU64::new(100).unwrap());
        let now = Instant::now();
        let alice = ClientKey::token("tg_alice");
        let bob = ClientKey::token("tg_bob");
        assert_eq!(budget.charge(&alice, 100, now), Ok(()));
        assert!(budget.charge(&alice, 1, now).is_err());
        assert_eq!(budget.charge(&bob, 100, now), Ok(()));
    }
}
