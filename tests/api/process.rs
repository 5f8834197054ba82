//! The server binary itself: it seeds, serves, and on SIGTERM finishes,
//! flushes its database and exits 0, leaving a database the next start
//! opens without seeding again.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `tradegraph` on a free port over `data_dir`, waits until it
/// answers HTTP (by then its signal handlers are installed), and returns the
/// child and its port.
fn start(data_dir: &std::path::Path) -> (std::process::Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .args(["--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
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
fn terminate(mut child: std::process::Child) -> (bool, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
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
