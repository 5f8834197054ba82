//! Who a request comes from: its write token and its address. The address
//! is the peer's, unless the peer is a trusted reverse proxy
//! (`--trusted-proxy`): then it is the rightmost address in
//! `X-Forwarded-For` that is not a trusted proxy. Every proxy appends the
//! address it was reached from, so entries right of the first untrusted
//! one were written by proxies we trust, and everything left of it by the
//! client, who may write anything there. From any other peer the header is
//! ignored, or a client could name itself anyone and get a fresh budget.
//!
//! The budget and the WebSocket cap count clients by this address (an IPv6
//! address by its /64, `graphql::ClientKey`).

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpRequest;

use crate::graphql::{ClientAddress, PresentedToken};

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    /// The proxies at these addresses (none: the header is always ignored).
    pub fn new(addresses: &[IpAddr]) -> Self {
        Self(addresses.iter().map(IpAddr::to_canonical).collect())
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }

    /// The client's address for a request from `peer` that carries these
    /// `X-Forwarded-For` values (in the order of the headers). Walking from
    /// the right, trusted proxies are passed over; an entry that is not an
    /// address (empty, `unknown`, garbled, or a header value that is not
    /// text) stops the walk, and the client is then the last address passed,
    /// since nothing left of a garbled entry can be believed. When every
    /// entry is a trusted proxy, the leftmost is the client.
    fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl Iterator<Item = &'a HeaderValue>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if self.0.is_empty() || !self.contains(client) {
            return client;
        }
        let entries: Vec<Option<IpAddr>> = forwarded
            .flat_map(|value| match value.to_str() {
                Ok(text) => text.split(',').map(parse_entry).collect(),
                Err(_) => vec![None],
            })
            .collect();
        for entry in entries.into_iter().rev() {
            let Some(address) = entry else {
                break;
            };
            client = address;
            if !self.contains(address) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, or an address with a port as
/// some proxies write it (`203.0.113.7:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .map(|address| address.to_canonical())
}

/// The address of the client behind a request (`None` when actix-web does
/// not know the peer, as in some in-process tests).
pub(super) fn client_address(
    http: &HttpRequest,
    trusted: &TrustedProxies,
) -> Option<ClientAddress> {
    let peer = http.peer_addr()?.ip();
    let forwarded = http.headers().get_all(header::X_FORWARDED_FOR);
    Some(ClientAddress(trusted.client_address(peer, forwarded)))
}

/// The write token a request presents in `Authorization`, if any.
pub(super) fn presented_token(http: &HttpRequest) -> PresentedToken {
    let authorization = http
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    PresentedToken::from_authorization(authorization)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client of a request from `peer` with these `X-Forwarded-For`
    /// headers, behind proxies 10.0.0.1 and 10.0.0.2.
    fn client(peer: &str, headers: &[&[u8]]) -> String {
        let trusted = TrustedProxies::new(&[
            "10.0.0.1".parse().unwrap(),
            "::ffff:10.0.0.2".parse().unwrap(),
        ]);
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|bytes| HeaderValue::from_bytes(bytes).unwrap())
            .collect();
        trusted
            .client_address(peer.parse().unwrap(), values.iter())
            .to_string()
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        assert_eq!(client("198.51.100.9", &[b"203.0.113.7"]), "198.51.100.9");
        assert_eq!(client("10.0.0.1", &[b"203.0.113.7"]), "203.0.113.7");
        assert_eq!(client("10.0.0.1", &[]), "10.0.0.1");
        assert_eq!(client("::ffff:10.0.0.1", &[b"203.0.113.7"]), "203.0.113.7");
        let none = TrustedProxies::default();
        let forwarded = HeaderValue::from_static("203.0.113.7");
        assert_eq!(
            none.client_address("10.0.0.1".parse().unwrap(), std::iter::once(&forwarded)),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() {
        // The client wrote 192.0.2.66 itself; 203.0.113.7 reached 10.0.0.2.
        assert_eq!(
            client("10.0.0.1", &[b"192.0.2.66, 203.0.113.7, 10.0.0.2"]),
            "203.0.113.7"
        );
        // Several headers read as one list, in order.
        assert_eq!(
            client("10.0.0.1", &[b"192.0.2.66", b"203.0.113.7", b"10.0.0.2"]),
            "203.0.113.7"
        );
        assert_eq!(client("10.0.0.1", &[b"10.0.0.1, 10.0.0.2"]), "10.0.0.1");
        assert_eq!(
            client("10.0.0.1", &[b"[2001:db8::7]:4711, 203.0.113.7:80"]),
            "203.0.113.7"
        );
        assert_eq!(client("10.0.0.1", &[b"2001:db8::7"]), "2001:db8::7");
    }

    #[test]
    fn an_entry_that_is_not_an_address_stops_the_walk() {
        assert_eq!(client("10.0.0.1", &[b"203.0.113.7, unknown"]), "10.0.0.1");
        assert_eq!(
            client("10.0.0.1", &[b"203.0.113.7, garbage, 10.0.0.2"]),
            "10.0.0.2"
        );
        assert_eq!(client("10.0.0.1", &[b"203.0.113.7,,"]), "10.0.0.1");
        assert_eq!(client("10.0.0.1", &[b"203.0.113.7", b"\xff"]), "10.0.0.1");
    }
}
