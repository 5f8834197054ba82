//! Subscriptions over WebSocket (`graphql-transport-ws`): the origin check,
//! the connection cap, and the write token from `connection_init`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql_actix_web::GraphQLSubscription;

use super::graphql::Endpoint;
use crate::graphql::{ClientAddress, PresentedToken};

/// Who may open WebSocket connections, and how many at once.
#[derive(Debug, Clone)]
pub struct WebSocketPolicy {
    /// Origins (`https://app.example.com`) browsers may connect from,
    /// besides the server's own. Clients that send no `Origin` (not
    /// browsers) may always connect.
    pub allowed_origins: Vec<String>,
    /// The most connections open at once; more are refused with 503.
    pub max_connections: usize,
}

/// The WebSocket policy and the number of connections open.
pub(super) struct Sockets {
    policy: WebSocketPolicy,
    open: Arc<AtomicUsize>,
}

/// One of the open connections; gives its place back when the connection
/// ends and its data is dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Sockets {
    /// Takes a place for a new connection, if one is free.
    fn take_place(&self) -> Option<Place> {
        let taken = self
            .open
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |open| {
                (open < self.policy.max_connections).then_some(open + 1)
            });
        taken.ok().map(|_| Place(self.open.clone()))
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
            open: Arc::new(AtomicUsize::new(0)),
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
    let Some(place) = sockets.take_place() else {
        return Ok(HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "error": format!("too many WebSocket connections (at most {}); try again later", sockets.policy.max_connections)
        })));
    };
    let mut data = async_graphql::Data::default();
    data.insert(place);
    if let Some(address) = request.peer_addr() {
        data.insert(ClientAddress(address.ip()));
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
