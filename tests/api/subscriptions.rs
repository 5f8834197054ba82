//! Live updates over WebSocket with the `graphql-transport-ws` protocol,
//! spoken by a real WebSocket client: events after writes, the write token
//! over WebSocket, the origin check and the connection cap.

use std::time::Duration;

use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};

use crate::helpers::{
    aliased_query, deep_query, spawn_app, spawn_configured, two_servers, TestApp, WRITE_TOKEN,
};

type Connection = actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>;

/// Opens a `graphql-transport-ws` connection, optionally from a browser
/// origin, and returns the HTTP status of the upgrade and the connection.
async fn open(app: &TestApp, origin: Option<&str>) -> Result<Connection, u16> {
    open_from(app, [127, 0, 0, 1], origin).await
}

/// Opens a connection from the local address `from` (any of 127/8).
async fn open_from(app: &TestApp, from: [u8; 4], origin: Option<&str>) -> Result<Connection, u16> {
    let mut request = awc::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .finish()
        .ws(format!("{}/graphql", app.address.replacen("http", "ws", 1)))
        .protocols(["graphql-transport-ws"]);
    if let Some(origin) = origin {
        request = request.origin(origin);
    }
    match request.connect().await {
        Ok((_, connection)) => Ok(connection),
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => Err(status.as_u16()),
        Err(other) => panic!("the upgrade failed: {other}"),
    }
}

async fn send(connection: &mut Connection, message: Value) {
    connection
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("sent");
}

/// The next text message, skipping pings; fails after five seconds.
async fn receive(connection: &mut Connection) -> Value {
    loop {
        let frame = actix_web::rt::time::timeout(Duration::from_secs(5), connection.next())
            .await
            .expect("a message within 5 s")
            .expect("the connection is open")
            .expect("a valid frame");
        match frame {
            Frame::Text(text) => return serde_json::from_slice(&text).expect("JSON"),
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Opens a connection and completes `connection_init`.
async fn connect(app: &TestApp, payload: Value) -> Connection {
    let mut connection = open(app, None).await.expect("the upgrade succeeds");
    send(
        &mut connection,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(
        receive(&mut connection).await,
        json!({ "type": "connection_ack" })
    );
    connection
}

#[actix_web::test]
async fn a_created_shipment_reaches_a_subscriber() {
    let app = spawn_app().await;
    let mut connection = connect(&app, json!({})).await;
    send(
        &mut connection,
        json!({ "id": "1", "type": "subscribe", "payload": { "query":
            "subscription { shipmentEvents(filter: {originProvince: \"JS\"}) { kind sequence shipment { reference cargo originProvince { name } } } }" } }),
    )
    .await;
    // Give the server a moment to register the subscription.
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;

    let create = "mutation ($input: CreateShipmentInput!) { createShipment(input: $input) { shipment { reference } } }";
    app.write(create, json!({ "input": { "reference": "ZJ-1", "cargo": "small commodities", "originProvince": "ZJ" } })).await;
    app.write(create, json!({ "input": { "reference": "JS-1", "cargo": "wind turbines", "originProvince": "Jiangsu" } })).await;
    let event = receive(&mut connection).await;

    assert_eq!(
        event,
        json!({ "id": "1", "type": "next", "payload": { "data": { "shipmentEvents": {
            "kind": "CREATED", "sequence": 2,
            "shipment": { "reference": "JS-1", "cargo": "wind turbines", "originProvince": { "name": "Jiangsu" } }
        } }, "extensions": { "cost": { "requested": 8, "limit": 50_000 } } } })
    );
}

/// Subscribes to every shipment event, with each event's kind, sequence
/// and reference.
async fn subscribe_to_all(app: &TestApp) -> Connection {
    let mut connection = connect(app, json!({})).await;
    send(
        &mut connection,
        json!({ "id": "all", "type": "subscribe", "payload": { "query":
            "subscription { shipmentEvents { kind sequence shipment { reference } } }" } }),
    )
    .await;
    connection
}

/// The kind, sequence and reference of the next `count` events.
async fn next_events(connection: &mut Connection, count: usize) -> Vec<(String, u64, String)> {
    let mut events = Vec::new();
    for _ in 0..count {
        let message = receive(connection).await;
        let event = &message["payload"]["data"]["shipmentEvents"];
        events.push((
            event["kind"].as_str().expect("a kind").to_owned(),
            event["sequence"].as_u64().expect("a sequence"),
            event["shipment"]["reference"]
                .as_str()
                .expect("a reference")
                .to_owned(),
        ));
    }
    events
}

#[actix_web::test]
async fn subscribers_on_every_server_receive_every_servers_events_once_in_commit_order() {
    // Arrange: a subscriber on each of two servers.
    let Some((first, second)) =
        two_servers("events written on one server, received on another").await
    else {
        return;
    };
    let mut on_first = subscribe_to_all(&first).await;
    let mut on_second = subscribe_to_all(&second).await;
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;

    // Act: creates, updates and deletes, by turns on either server.
    let create = "mutation ($reference: String!) { createShipment(input: {reference: $reference, cargo: \"drones\"}) { shipment { id } } }";
    let update = "mutation ($id: ID!) { updateShipment(id: $id, input: {cargo: \"rotors\"}) { shipment { id } } }";
    let delete = "mutation ($id: ID!) { deleteShipment(id: $id) { deletedId } }";
    let mut expected = Vec::new();
    for n in 0..4 {
        let (writer, other) = if n % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let reference = format!("EVENTS-{n}");
        let created = writer
            .write(create, json!({ "reference": reference }))
            .await;
        let id = created["createShipment"]["shipment"]["id"].clone();
        other.write(update, json!({ "id": id })).await;
        expected.push(("CREATED", reference.clone()));
        expected.push(("UPDATED", reference.clone()));
        if n % 2 == 1 {
            writer.write(delete, json!({ "id": id })).await;
            expected.push(("DELETED", reference));
        }
    }
    let seen_first = next_events(&mut on_first, expected.len()).await;
    let seen_second = next_events(&mut on_second, expected.len()).await;

    // Assert: the same events on both, in the order they were made,
    // numbered one after another.
    let start = seen_first[0].1;
    let numbered: Vec<(String, u64, String)> = expected
        .into_iter()
        .zip(start..)
        .map(|((kind, reference), sequence)| (kind.to_owned(), sequence, reference))
        .collect();
    assert_eq!(seen_first, numbered);
    assert_eq!(seen_second, numbered);
    for connection in [&mut on_first, &mut on_second] {
        let extra = actix_web::rt::time::timeout(Duration::from_millis(300), connection.next())
            .await
            .ok()
            .flatten()
            .map(|frame| format!("{frame:?}"));
        assert!(
            extra.is_none_or(|frame| frame.contains("Ping")),
            "no event twice"
        );
    }
}

const MUTATION: &str =
    "mutation { createShipment(input: {cargo: \"drones\"}) { shipment { reference } } }";

#[actix_web::test]
async fn a_mutation_over_websocket_needs_the_token_too() {
    let app = spawn_app().await;
    let mut anonymous = connect(&app, json!({})).await;
    let mut trusted = connect(
        &app,
        json!({ "Authorization": format!("Bearer {WRITE_TOKEN}") }),
    )
    .await;

    send(
        &mut anonymous,
        json!({ "id": "a", "type": "subscribe", "payload": { "query": MUTATION } }),
    )
    .await;
    let refused = receive(&mut anonymous).await;
    send(
        &mut trusted,
        json!({ "id": "t", "type": "subscribe", "payload": { "query": MUTATION } }),
    )
    .await;
    let accepted = receive(&mut trusted).await;

    assert_eq!(refused["type"], "next");
    assert_eq!(refused["payload"]["data"], Value::Null);
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        accepted["payload"]["data"]["createShipment"]["shipment"]["reference"],
        "SHP-00000005"
    );
    let count = app.data("{ shipments { totalCount } }", json!({})).await;
    assert_eq!(
        count["shipments"]["totalCount"], 5,
        "only the trusted mutation wrote"
    );
}

#[actix_web::test]
async fn only_allowed_origins_may_connect_and_connections_are_capped() {
    let app = spawn_app().await;

    let foreign = open(&app, Some("https://evil.example")).await.err();
    let allowed = open(&app, Some("https://allowed.example")).await;
    let own = open(&app, Some(&app.address)).await;
    // The test server allows four connections at once: these two, and two
    // more without an origin (not a browser).
    let third = open(&app, None).await;
    let fourth = open(&app, None).await;
    let over = open(&app, None).await.err();

    assert_eq!(foreign, Some(403));
    assert!(allowed.is_ok() && own.is_ok() && third.is_ok() && fourth.is_ok());
    assert_eq!(over, Some(503));
}

#[actix_web::test]
async fn one_client_cannot_take_every_websocket_place() {
    let app = spawn_configured(|args| args.max_websockets_per_client = 2).await;

    let first = open_from(&app, [127, 0, 0, 1], None).await;
    let second = open_from(&app, [127, 0, 0, 1], None).await;
    let over = open_from(&app, [127, 0, 0, 1], None).await.err();
    let other = open_from(&app, [127, 0, 0, 2], None).await;

    assert!(first.is_ok() && second.is_ok());
    assert_eq!(over, Some(429), "past the places of one client");
    assert!(other.is_ok(), "another client still gets a place");
}

/// Subscribes with `query`, which must be refused: returns its one error's
/// code, once the server has completed the subscription.
async fn refused_code(connection: &mut Connection, id: &str, query: &str) -> String {
    send(
        connection,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    let message = receive(connection).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id);
    assert_eq!(message["payload"]["data"], Value::Null, "{message}");
    assert_eq!(
        receive(connection).await,
        json!({ "id": id, "type": "complete" })
    );
    message["payload"]["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn the_limits_hold_over_websocket_for_queries_and_subscriptions() {
    let app = spawn_app().await;
    let mut connection = connect(&app, json!({})).await;
    let deep = deep_query(7);
    let costly = "subscription { shipmentEvents { shipment { shipper { shipments(first: 100) { nodes { shipper { shipments(first: 100) { nodes { shipper { shipments(first: 100) { nodes { reference } } } } } } } } } } } }";
    let aliases = aliased_query(31);
    assert_eq!(
        refused_code(&mut connection, "deep", &deep).await,
        "QUERY_TOO_DEEP"
    );
    assert_eq!(
        refused_code(&mut connection, "costly", costly).await,
        "QUERY_TOO_COMPLEX"
    );
    assert_eq!(
        refused_code(&mut connection, "aliases", &aliases).await,
        "TOO_MANY_ALIASES"
    );
}

#[actix_web::test]
async fn allow_list_mode_holds_over_websocket() {
    use sha2::Digest;
    let subscription = "subscription { shipmentEvents { kind } }";
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                { "id": hex::encode(sha2::Sha256::digest(subscription)), "body": subscription },
                { "id": hex::encode(sha2::Sha256::digest(MUTATION)), "body": MUTATION }
            ]
        })
        .to_string(),
    )
    .unwrap();
    let app = crate::helpers::spawn_configured(|args| {
        args.persisted.persisted_queries = Some(manifest.clone());
        args.persisted.allow_listed_only = true;
    })
    .await;
    let mut connection = connect(&app, json!({})).await;
    assert_eq!(
        refused_code(
            &mut connection,
            "other",
            "subscription { shipmentEvents { sequence } }"
        )
        .await,
        "QUERY_NOT_IN_ALLOW_LIST"
    );
    send(
        &mut connection,
        json!({ "id": "ok", "type": "subscribe", "payload": { "query": subscription } }),
    )
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    app.write(MUTATION, json!({})).await;
    let event = receive(&mut connection).await;
    assert_eq!(event["id"], "ok");
    assert_eq!(
        event["payload"]["data"],
        json!({ "shipmentEvents": { "kind": "CREATED" } })
    );
}
