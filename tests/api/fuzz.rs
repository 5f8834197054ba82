//! Bad input, thousands of times: random and mutated requests (broken JSON,
//! wrong types for every request field, random and invalid UTF-8 bytes,
//! deep and huge documents, wrong methods and content types) against the
//! server binary. None may crash it or get a 5xx; afterwards it still
//! answers a normal query and `tradegraph check` finds the database sound.
//! `PROPTEST_CASES` sets the number of requests (default 2,000).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use crate::helpers::WRITE_TOKEN_HASH;

/// Sends raw bytes as one HTTP/1.1 request and returns the status code;
/// `None` when no status line came back.
fn send(
    port: u16,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    // The server may answer and close before it has read a body it does
    // not want (a GET's, one past the size limit): read the answer anyway.
    let _ = stream.write_all(body);
    // The status line is all the test needs; waiting for the close would
    // only wait out the server's linger on unread bodies.
    let mut response = Vec::new();
    let mut chunk = [0u8; 256];
    while response.len() < 12 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
    }
    let status_line = String::from_utf8_lossy(&response[..response.len().min(12)]).into_owned();
    status_line.get(9..12)?.parse().ok()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::hash_map("[a-z]{1,8}", inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Valid queries to mutate.
const QUERIES: &[&str] = &[
    "{ province(code: \"GD\") { name totalTrade { display } } }",
    "query ($n: Int) { shipments(first: $n) { nodes { reference } pageInfo { endCursor } } }",
    "mutation { createShipment(input: {cargo: \"x\"}) { shipment { id } } }",
    "{ search(text: \"yiwu\") { __typename } }",
];

/// A request body: any of the shapes a careless or hostile client sends.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (json_value(), json_value(), json_value(), json_value()).prop_map(|(query, variables, name, extensions)| {
            json!({ "query": query, "variables": variables, "operationName": name, "extensions": extensions }).to_string().into_bytes()
        }),
        (0..QUERIES.len(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(which, at, byte)| {
            let mut query = QUERIES[which].as_bytes().to_vec();
            let index = at.index(query.len());
            query[index] = byte;
            let text = String::from_utf8_lossy(&query).into_owned();
            json!({ "query": text }).to_string().into_bytes()
        }),
        (1usize..3000).prop_map(|depth| json!({ "query": format!("{}{}", "{ a ".repeat(depth), "}".repeat(depth)) }).to_string().into_bytes()),
        (1usize..20_000).prop_map(|n| json!({ "query": format!("{{ {} }}", "__typename ".repeat(n)) }).to_string().into_bytes()),
        json_value().prop_map(|value| value.to_string().into_bytes()),
    ]
}

fn request() -> impl Strategy<Value = (&'static str, String, Option<&'static str>, Vec<u8>)> {
    let method = prop::sample::select(vec![
        "GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD",
    ]);
    let content_type = prop::sample::select(vec![
        Some("application/json"),
        Some("application/json"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/graphql-response+json"),
        Some("garbage/\u{7f}"),
        None,
    ]);
    let target = prop_oneof![
        Just("/graphql".to_owned()),
        "[a-zA-Z0-9%=&_.{}-]{0,60}".prop_map(|query| format!("/graphql?{query}")),
        "[a-zA-Z0-9]{0,12}".prop_map(|query| format!("/graphql?query=%7B%20{query}%20%7D")),
        Just("/graphql?query=%ZZ".to_owned()),
    ];
    (method, target, content_type, body())
}

#[test]
fn random_and_mutated_requests_never_break_the_server() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--write-token-hash",
            WRITE_TOKEN_HASH,
            "--data-dir",
        ])
        .arg(&data_dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while send(port, "GET", "/health", None, b"") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the server did not answer within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });

    let outcome = runner.run(&request(), |(method, target, content_type, body)| {
        let status = send(port, method, &target, content_type, &body);
        prop_assert!(status.is_some(), "no answer to {method} {target}");
        prop_assert!(
            status < Some(500),
            "{method} {target} {content_type:?} got {status:?}"
        );
        Ok(())
    });
    let normal = send(
        port,
        "POST",
        "/graphql",
        Some("application/json"),
        br#"{"query":"{ province(code: \"GD\") { code } }"}"#,
    );
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let stopped = server.wait().expect("the server stops");
    let check = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .args(["check", "--data-dir"])
        .arg(&data_dir)
        .output()
        .expect("check runs");

    outcome.expect("every request answered without a server error");
    assert_eq!(normal, Some(200));
    assert!(
        stopped.success(),
        "the server exits cleanly after the barrage"
    );
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
