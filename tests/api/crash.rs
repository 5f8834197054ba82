//! Crash test: the server binary is killed with SIGKILL at a random moment
//! while clients create and update shipments; after a restart every
//! acknowledged write is there, nothing appears that was never sent, and
//! `tradegraph check` finds the database consistent. A server started with
//! `--unsafe-ack-before-flush` must fail the same test: that proves the
//! test can see lost writes.
//!
//! `TRADEGRAPH_CRASH_CYCLES` sets the number of kill cycles (default 20);
//! `TRADEGRAPH_CRASH_SEED` replays a run (the seed is printed).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{sled_only, WRITE_TOKEN, WRITE_TOKEN_HASH};

/// Concurrent writers per cycle.
const WRITERS: usize = 4;

/// What the writers sent and what the server acknowledged.
#[derive(Default)]
struct Ledger {
    /// Every reference a create was sent for.
    sent: HashSet<String>,
    /// References whose create was acknowledged.
    created: HashSet<String>,
    /// For each shipment, the notes sent by updates in order, and how many
    /// of them were acknowledged (the acknowledged ones come first: each
    /// writer waits for an answer before it sends the next).
    notes: HashMap<String, (Vec<String>, usize)>,
}

/// A server process on a port.
struct Server {
    child: Child,
    port: u16,
}

fn start(data_dir: &Path, unsafe_acks: bool) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tradegraph"));
    command
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--write-token-hash",
            WRITE_TOKEN_HASH,
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if unsafe_acks {
        command.arg("--unsafe-ack-before-flush");
    }
    let child = command.spawn().expect("the server starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while post(port, "{ __typename }", json!({})).is_none() {
        assert!(
            Instant::now() < deadline,
            "the server did not answer within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, port }
}

fn kill(mut server: Server) {
    let status = Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    server.child.wait().expect("the server is gone");
}

/// One GraphQL request over a fresh HTTP/1.1 connection; `None` when the
/// server did not answer with a complete 200 response (it was killed).
fn post(port: u16, query: &str, variables: Value) -> Option<Value> {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {WRITE_TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

const CREATE: &str = "mutation ($input: CreateShipmentInput!, $key: String) { createShipment(input: $input, idempotencyKey: $key) { shipment { id } } }";
const UPDATE: &str = "mutation ($id: ID!, $note: String!) { updateShipment(id: $id, input: {note: $note}) { shipment { version } } }";

/// One writer: creates shipments and updates each once, until stopped or
/// the server stops answering.
fn write_until_stopped(
    port: u16,
    cycle: usize,
    writer: usize,
    stop: &AtomicBool,
    ledger: &Mutex<Ledger>,
) {
    let lock = || {
        ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let reference = format!("CRASH-{cycle}-{writer}-{n}");
        lock().sent.insert(reference.clone());
        let input = json!({ "reference": reference, "cargo": "crash test cargo", "originProvince": "CN-JS" });
        let Some(created) = post(port, CREATE, json!({ "input": input, "key": reference })) else {
            return;
        };
        let Some(id) = created["data"]["createShipment"]["shipment"]["id"]
            .as_str()
            .map(str::to_owned)
        else {
            panic!("create refused: {created}");
        };
        lock().created.insert(reference.clone());
        let note = format!("note {n}");
        lock()
            .notes
            .entry(reference.clone())
            .or_default()
            .0
            .push(note.clone());
        if post(port, UPDATE, json!({ "id": id, "note": note })).is_none() {
            return;
        }
        lock().notes.entry(reference).or_default().1 += 1;
    }
}

/// Runs the writers against a server and kills it after `delay`.
fn cycle(server: Server, cycle: usize, delay: Duration, ledger: &Arc<Mutex<Ledger>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (stop, ledger, port) = (stop.clone(), ledger.clone(), server.port);
            std::thread::spawn(move || write_until_stopped(port, cycle, writer, &stop, &ledger))
        })
        .collect();
    std::thread::sleep(delay);
    kill(server);
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().expect("a writer finished");
    }
}

/// Every shipment of the crash test the server holds: reference -> note.
fn stored(port: u16) -> HashMap<String, Option<String>> {
    let query = "query ($after: String) { shipments(first: 100, after: $after, filter: {originProvince: \"CN-JS\"}) {
        pageInfo { hasNextPage endCursor } nodes { reference note } } }";
    let mut found = HashMap::new();
    let mut after = Value::Null;
    loop {
        let page =
            post(port, query, json!({ "after": after })).expect("the restarted server answers");
        let shipments = &page["data"]["shipments"];
        for node in shipments["nodes"].as_array().expect("nodes") {
            let reference = node["reference"].as_str().unwrap_or_default();
            if reference.starts_with("CRASH-") {
                found.insert(
                    reference.to_owned(),
                    node["note"].as_str().map(str::to_owned),
                );
            }
        }
        if shipments["pageInfo"]["hasNextPage"] != true {
            return found;
        }
        after = shipments["pageInfo"]["endCursor"].clone();
    }
}

/// What a restarted server lost or invented, as lines.
fn losses(ledger: &Ledger, stored: &HashMap<String, Option<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for reference in &ledger.created {
        if !stored.contains_key(reference) {
            problems.push(format!("acknowledged create {reference} is missing"));
        }
    }
    for (reference, note) in stored {
        if !ledger.sent.contains(reference) {
            problems.push(format!("{reference} was never sent"));
        }
        let Some((notes, acknowledged)) = ledger.notes.get(reference) else {
            continue;
        };
        // The note must be the last acknowledged one, or one sent later.
        let allowed = &notes[acknowledged.saturating_sub(1)..];
        let fine = match note {
            Some(note) => allowed.contains(note),
            None => *acknowledged == 0,
        };
        if !fine {
            problems.push(format!(
                "{reference} has note {note:?}; acknowledged {:?}",
                &notes[..*acknowledged]
            ));
        }
    }
    problems.sort();
    problems
}

/// Runs `cycles` kill cycles and returns the problems found after each
/// restart, and the output of `tradegraph check` at the end.
fn run(cycles: usize, unsafe_acks: bool) -> (Vec<String>, bool, String) {
    let seed = std::env::var("TRADEGRAPH_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("crash test: {cycles} cycles, seed {seed} (replay with TRADEGRAPH_CRASH_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut problems = Vec::new();
    for number in 0..cycles {
        let server = start(&data_dir, unsafe_acks);
        cycle(
            server,
            number,
            Duration::from_millis(rng.u64(100..600)),
            &ledger,
        );
        let restarted = start(&data_dir, false);
        let ledger = ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        problems.extend(losses(&ledger, &stored(restarted.port)));
        kill(restarted);
        if !problems.is_empty() {
            break;
        }
    }
    let check = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .args(["check", "--data-dir"])
        .arg(&data_dir)
        .output()
        .expect("check runs");
    let output = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    let acknowledged = ledger
        .lock()
        .map(|ledger| ledger.created.len())
        .unwrap_or_default();
    println!("crash test: {acknowledged} acknowledged creates");
    (problems, check.status.success(), output)
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if sled_only("it kills a server on the embedded database and reopens its data directory; on etcd the fault script kills members and servers") {
        return;
    }
    let cycles = std::env::var("TRADEGRAPH_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);

    let (problems, consistent, check) = run(cycles, false);

    assert_eq!(problems, Vec::<String>::new());
    assert!(consistent, "tradegraph check failed:\n{check}");
}

#[test]
fn acknowledging_before_the_flush_is_caught() {
    if sled_only("it kills a server on the embedded database and reopens its data directory; on etcd the fault script kills members and servers") {
        return;
    }
    // Whether a kill finds acknowledged writes still in sled's buffers is a
    // matter of timing: usually in the first cycle, but seen not in three
    // (seed 9583765297524089320). The run stops at the first loss, so more
    // cycles cost time only when the losses are slow to show.
    let (problems, _, _) = run(10, true);

    assert!(
        !problems.is_empty(),
        "with acknowledgements before the flush, a crash must lose writes, and the test must see it"
    );
}

#[test]
fn a_retry_after_a_crash_returns_the_shipment_the_first_request_created() {
    if sled_only("it kills a server on the embedded database and reopens its data directory; on etcd the fault script kills members and servers") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let input =
        json!({ "input": { "reference": "RETRIED", "cargo": "retried cargo" }, "key": "retry-1" });
    let server = start(&data_dir, false);
    let first = post(server.port, CREATE, input.clone()).expect("an answer");
    kill(server);

    let restarted = start(&data_dir, false);
    let retried = post(restarted.port, CREATE, input).expect("an answer");
    let count = post(restarted.port, "{ shipments { totalCount } }", json!({})).expect("an answer");
    kill(restarted);

    assert_eq!(retried, first);
    assert_eq!(
        count["data"]["shipments"]["totalCount"], 5,
        "four seeded shipments and one created once"
    );
}
