//! Subscriptions over WebSocket (`graphql-transport-ws`): the origin check,
//! the connection caps (all clients together, and each client), and the
//! write token from `connection_init`.
//!
//! A client here is its address (an IPv6 one by its /64, behind a trusted
//! proxy the forwarded one): its token comes only in `connection_init`,
//! after the connection is open and its place taken.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql_actix_web::GraphQLSubscription;

use super::client::client_address;
use super::graphql::Endpoint;
use crate::graphql::{ClientKey, PresentedToken};

/// Who may open WebSocket connections, and how many at once.
#[derive(Debug, Clone)]
pub struct WebSocketPolicy {
    /// Origins (`https://app.example.com`) browsers may connect from,
    /// besides the server's own. Clients that send no `Origin` (not
    /// browsers) may always connect.
    pub allowed_origins: Vec<String>,
    /// The most connections open at once; more are refused with 503.
    pub max_connections: usize,
    /// The most connections one client may have open; more are refused
    /// with 429, so one client cannot take every place.
    pub max_connections_per_client: usize,
}

/// The WebSocket policy and the connections open.
pub(super) struct Sockets {
    policy: WebSocketPolicy,
    open: Arc<Mutex<Open>>,
}

/// The connections open: how many, and how many each client has. A std
/// mutex, not a tokio one: nothing waits while it is held.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_client: HashMap<ClientKey, usize>,
}

/// One of the open connections; gives its place back when the connection
/// ends and its data is dropped.
struct Place {
    open: Arc<Mutex<Open>>,
    client: Option<ClientKey>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        open.total -= 1;
        if let Some(client) = &self.client {
            if let Some(count) = open.by_client.get_mut(client) {
                *count -= 1;
                if *count == 0 {
                    open.by_client.remove(client);
                }
            }
        }
    }
}

fn lock(open: &Mutex<Open>) -> std::sync::MutexGuard<'_, Open> {
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why no place was free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Full {
    /// Every place is taken.
    Server,
    /// The client has all the places one client may have.
    Client,
}

impl Sockets {
    /// Takes a place for a new connection of `client`, if one is free.
    fn take_place(&self, client: Option<ClientKey>) -> Result<Place, Full> {
        let mut open = lock(&self.open);
        if open.total >= self.policy.max_connections {
            return Err(Full::Server);
        }
        if let Some(client) = &client {
            let count = open.by_client.get(client).copied().unwrap_or(0);
            if count >= self.policy.max_connections_per_client {
                return Err(Full::Client);
            }
            open.by_client.insert(client.clone(), count + 1);
        }
        open.total += 1;
        Ok(Place {
            open: self.open.clone(),
            client,
        })
    }

    /// Whether a browser on the request's `Origin` may connect: no origin
    /// (not a browser), the server's own, or an allowed one.
    fn origin_allowed(&self, request: &HttpRequest) -> bool {
        let Some(origin) = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok())
        else {
            return true;
        };
        let own = request.connection_info().host().to_owned();
        super::origin_allowed(origin, Some(&own), &self.policy.allowed_origins)
    }
}

impl Sockets {
    /// No connection open yet.
    pub(super) fn new(policy: WebSocketPolicy) -> Self {
        Self {
            policy,
            open: Arc::default(),
        }
    }
}

/// Upgrades to a `graphql-transport-ws` connection, if the origin is
/// allowed and a place is free. The write token comes in the
/// `connection_init` payload.
pub(super) async fn subscriptions(
    endpoint: web::Data<Endpoint>,
    sockets: web::Data<Sockets>,
    request: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    if !sockets.origin_allowed(&request) {
        return Ok(HttpResponse::Forbidden().json(serde_json::json!({
            "error": "this origin may not open WebSocket connections; allow it with --cors-origin"
        })));
    }
    let address = client_address(&request, &endpoint.trusted_proxies);
    let client = address.map(|address| ClientKey::address(address.0));
    let place = match sockets.take_place(client) {
        Ok(place) => place,
        Err(Full::Server) => {
            return Ok(HttpResponse::ServiceUnavailable().json(serde_json::json!({
                "error": format!("too many WebSocket connections (at most {}); try again later", sockets.policy.max_connections)
            })))
        }
        Err(Full::Client) => {
            return Ok(HttpResponse::TooManyRequests().json(serde_json::json!({
                "error": format!("this client has {} WebSocket connections open, the most one client may have; close one first", sockets.policy.max_connections_per_client)
            })))
        }
    };
    let mut data = async_graphql::Data::default();
    data.insert(place);
    if let Some(address) = address {
        data.insert(address);
    }
    GraphQLSubscription::new(endpoint.api.clone())
        .with_data(data)
        .on_connection_init(|payload| async move {
            let mut data = async_graphql::Data::default();
            data.insert(PresentedToken::from_init_payload(&payload));
            Ok(data)
        })
        .start(&request, payload)
}
