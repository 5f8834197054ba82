//! A database written by the release that stored format 1
//! (`tests/fixtures/format1`, made by its `make.py`) is upgraded in place
//! when it is opened, holds the same records afterwards, and answers every
//! query as a database restored from the same records does, cursors
//! included; a cursor from format 1 is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::helpers::{codes_and_messages, spawn_configured, TestApp};

/// The fixture's directory.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1")
}

/// A copy of the format-1 database (opening it writes to it).
fn format1_copy() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = dir.path().join("data");
    std::fs::create_dir(&copy).expect("a data directory");
    for entry in std::fs::read_dir(fixture().join("db")).expect("the fixture") {
        let entry = entry.expect("a fixture file");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("a copy");
        }
    }
    std::fs::create_dir_all(copy.join("blobs")).expect("sled's blob directory");
    (dir, copy)
}

/// Runs `tradegraph` with `args`; returns (success, stdout, stderr).
fn tradegraph(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("tradegraph runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn serve(data_dir: &Path) -> TestApp {
    let data_dir = data_dir.to_owned();
    spawn_configured(|args| args.database.store = tradegraph::config::StoreArgs::at(data_dir)).await
}

/// Queries over every list the layout indexes, in both orders and
/// directions, with filters, date ranges, counts and cursors.
const QUERIES: &[&str] = &[
    "{ shipments(first: 100) { totalCount edges { cursor node { id reference version cargo } } pageInfo { hasNextPage endCursor } } }",
    "{ shipments(last: 5, orderBy: {field: QUANTITY, direction: DESC}) { edges { cursor node { reference quantity { value } } } pageInfo { hasPreviousPage startCursor } } }",
    "{ shipments(filter: {originProvince: \"CN-ZJ\"}, first: 3) { totalCount edges { cursor node { reference } } } }",
    "{ shipments(filter: {mode: SEA, synthetic: true}, orderBy: {field: DEPARTED_ON, direction: DESC}, first: 4) { totalCount edges { cursor node { reference departedOn } } } }",
    "{ shipments(filter: {departedFrom: \"2025-06-01\", departedTo: \"2026-03-31\"}, first: 50) { totalCount nodes { reference departedOn } } }",
    "{ shipments(filter: {synthetic: false}) { totalCount nodes { reference version note } } }",
    "{ shipments(filter: {destinationPartner: \"AR\"}, orderBy: {field: QUANTITY, direction: ASC}) { totalCount nodes { reference } } }",
    "{ shipment(reference: \"FIXTURE-IDEMPOTENT\") { id version note cargo quantity { display } originProvince { code } } }",
    "{ province(code: \"CN-ZJ\") { name tradeFlows { totalCount nodes { partner { code } year growthPercent version value { display } } } hubs { code } } }",
    "{ hubs(first: 50) { totalCount nodes { code name kind } } companies(first: 50) { totalCount nodes { code name } } freightRoutes(first: 50) { totalCount nodes { code name mode } } }",
    "{ provinces(orderBy: {field: TOTAL_TRADE, direction: DESC}, first: 5) { edges { cursor node { code } } } }",
];

#[actix_web::test]
async fn a_format_1_database_is_upgraded_on_open_and_keeps_its_records() {
    let (_dir, data_dir) = format1_copy();
    let data_dir = data_dir.to_str().expect("a UTF-8 path");

    let checked = tradegraph(&["check", "--data-dir", data_dir]);
    let exported = tradegraph(&["export", "--data-dir", data_dir]);

    assert_eq!(
        checked,
        (true, "ok: 78 records checked\n".to_owned(), String::new())
    );
    let expected = std::fs::read_to_string(fixture().join("expected.jsonl")).expect("the export");
    assert!(exported.0, "{}", exported.2);
    assert_eq!(exported.1, expected);
}

#[actix_web::test]
async fn an_upgraded_database_answers_as_a_restored_one_and_refuses_format_1_cursors() {
    let (_dir, upgraded_dir) = format1_copy();
    let restored_dir = tempfile::tempdir().expect("a temporary directory");
    let restored_path = restored_dir.path().join("data");
    let expected = fixture().join("expected.jsonl");
    let imported = tradegraph(&[
        "import",
        "--data-dir",
        restored_path.to_str().expect("a UTF-8 path"),
        "--input",
        expected.to_str().expect("a UTF-8 path"),
    ]);
    assert!(imported.0, "{}", imported.2);
    let (upgraded, restored) = (serve(&upgraded_dir).await, serve(&restored_path).await);

    for query in QUERIES {
        let (from_upgraded, from_restored) = (
            upgraded.graphql(query, json!({})).await,
            restored.graphql(query, json!({})).await,
        );
        assert!(
            from_upgraded.get("errors").is_none(),
            "{query}: {from_upgraded}"
        );
        assert_eq!(from_upgraded, from_restored, "{query}");
    }
    let cursors: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture().join("cursors.json")).expect("the cursors"),
    )
    .expect("JSON");
    let lists = [
        ("byOrigin", "filter: {originProvince: \"CN-ZJ\"}"),
        ("all", ""),
        ("byQuantity", "orderBy: {field: QUANTITY, direction: DESC}"),
    ];
    for (name, arguments) in lists {
        let query = format!(
            "query ($after: String) {{ shipments({arguments} first: 1, after: $after) {{ totalCount }} }}"
        );
        let body = upgraded
            .graphql(&query, json!({ "after": cursors[name] }))
            .await;
        assert_eq!(
            codes_and_messages(&body),
            [(
                "BAD_USER_INPUT".to_owned(),
                "cursor does not belong to this list: pass a cursor that this field returned for the same arguments".to_owned()
            )],
            "{name}"
        );
    }
}
