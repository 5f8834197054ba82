//! The server binary itself: it seeds, serves, and on SIGTERM finishes the
//! requests in flight within the grace period, flushes its database and
//! exits 0, leaving a database the next start opens without seeding again.
//! Its logs can be JSON lines.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `tradegraph` on a free port over `data_dir`, waits until it
/// answers HTTP (by then its signal handlers are installed), and returns the
/// child and its port.
fn start(data_dir: &std::path::Path) -> (std::process::Child, u16) {
    start_with(data_dir, &[])
}

/// [`start`] with more command-line arguments.
fn start_with(data_dir: &std::path::Path, arguments: &[&str]) -> (std::process::Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .args(["--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .args(arguments)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !healthy(port) {
        assert!(
            Instant::now() < deadline,
            "the server did not answer within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// Whether `GET /health` answers 200.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    stream.write_all(b"GET /health HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.0 200")
}

/// Sends SIGTERM and returns the exit status and everything it logged.
fn terminate(child: std::process::Child) -> (bool, String) {
    signal_term(&child);
    terminate_wait(child)
}

/// Waits for the exit of a server that was sent SIGTERM; returns the exit
/// status and everything it logged.
fn terminate_wait(mut child: std::process::Child) -> (bool, String) {
    let exit = child.wait().expect("the server exits");
    let mut log = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.push_str(&line);
            log.push('\n');
        }
    }
    (exit.success(), log)
}

#[test]
fn sigterm_flushes_the_database_and_exits_zero() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");

    let (first, _) = start(&data_dir);
    let (first_ok, first_log) = terminate(first);
    let (second, _) = start(&data_dir);
    let (second_ok, second_log) = terminate(second);

    assert!(first_ok, "{first_log}");
    assert!(first_log.contains("seeded the database"), "{first_log}");
    assert!(
        first_log.contains("database flushed and closed"),
        "{first_log}"
    );
    assert!(second_ok, "{second_log}");
    assert!(
        !second_log.contains("seeded the database"),
        "a seeded database is not seeded again: {second_log}"
    );
}

/// Sends SIGTERM without waiting for the exit.
fn signal_term(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Starts a POST whose body arrives in two halves, `pause` apart; returns
/// the connection after the first half and the second half to send.
fn half_sent_request(port: u16) -> (std::net::TcpStream, Vec<u8>) {
    let body = r#"{"query":"{ province(code: \"GD\") { name } }"}"#;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    let (first, second) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).expect("sends the head");
    stream.write_all(first).expect("sends half the body");
    (stream, second.to_vec())
}

#[test]
fn a_request_in_flight_at_sigterm_is_answered_before_the_exit() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (child, port) = start(&dir.path().join("data"));
    let (mut stream, rest) = half_sent_request(port);
    // Let the server start on the request, then ask it to stop.
    std::thread::sleep(Duration::from_millis(300));
    signal_term(&child);
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&rest).expect("sends the rest of the body");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reads the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).ok(),
        Some(serde_json::json!({
            "data": { "province": { "name": "Guangdong" } },
            "extensions": { "cost": { "requested": 2, "limit": 50000 } }
        })),
        "{answer}"
    );
    let (exited_zero, log) = terminate_wait(child);
    assert!(exited_zero, "{log}");
    assert!(log.contains("database flushed and closed"), "{log}");
}

#[test]
fn past_the_grace_period_a_stalled_request_is_dropped_and_the_server_still_exits_zero() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (child, port) = start_with(&dir.path().join("data"), &["--shutdown-grace-secs", "1"]);
    // The client never sends the rest of its body.
    let (_stream, _rest) = half_sent_request(port);
    std::thread::sleep(Duration::from_millis(300));
    signal_term(&child);
    let (exited_zero, log) = terminate_wait(child);
    assert!(exited_zero, "{log}");
    assert!(log.contains("database flushed and closed"), "{log}");
}

#[test]
fn json_logs_are_one_object_per_line_with_the_request_id() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (child, port) = start_with(&dir.path().join("data"), &["--log-format", "json"]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream
        .write_all(b"GET /health HTTP/1.0\r\nx-request-id: json-log-test\r\n\r\n")
        .expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads");
    assert!(answer.contains("x-request-id: json-log-test"), "{answer}");
    let (exited_zero, log) = terminate(child);
    assert!(exited_zero, "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access = lines
        .iter()
        .find(|line| line["fields"]["request_id"] == "json-log-test")
        .unwrap_or_else(|| panic!("no access line in {log}"));
    assert_eq!(access["target"], "tradegraph::access");
    assert_eq!(access["fields"]["path"], "/health");
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["level"], "INFO");
}
