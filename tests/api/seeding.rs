//! Seeding: idempotent refreshes, records the API changed left alone, seed
//! files checked with errors that name file, record and field, and the
//! database lock.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use tradegraph::domain::{Origin, Province, ProvinceCode, RecordMeta};
use tradegraph::seed;
use tradegraph::store::{Store, StoreOptions};

use crate::helpers::{sled_only, spawn_app};

/// Runs the `seed` binary on a database and returns (success, stdout, stderr).
fn run_seed(data_dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_seed"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "error")
        .output()
        .expect("the seed binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn seeding_twice_leaves_the_same_database() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");

    let first = run_seed(&data_dir, &[]);
    let second = run_seed(&data_dir, &[]);

    let report = |added, unchanged| {
        format!("seeded {}: {added} added, 0 updated, {unchanged} unchanged, 0 kept (changed through the API)\n", data_dir.display())
    };
    assert_eq!(first, (true, report(60, 0), String::new()));
    assert_eq!(second, (true, report(0, 60), String::new()));
}

#[actix_web::test]
async fn a_refresh_leaves_records_changed_through_the_api_alone() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
        .await
        .expect("the store opens");
    let data = seed::load(None).expect("the seed loads");
    seed::apply(&store, &data).await.expect("seeding works");
    let code = ProvinceCode::parse("CN-AH").expect("a code");
    let mut edited: Province = store.get(&code).await.expect("a read").expect("Anhui");
    edited.name = "Anhui (edited)".into();
    edited.meta = RecordMeta {
        version: 2,
        origin: Origin::Api,
    };
    store.put(&edited).await.expect("a write");

    let report = seed::apply(&store, &data).await.expect("seeding works");

    assert_eq!(
        (report.added, report.updated, report.kept, report.unchanged),
        (0, 0, 1, 59)
    );
    assert_eq!(
        store.get::<Province>(&code).await.expect("a read"),
        Some(edited)
    );
}

#[actix_web::test]
async fn a_changed_seed_file_updates_the_seeded_record_and_raises_its_version() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
        .await
        .expect("the store opens");
    let mut data = seed::load(None).expect("the seed loads");
    seed::apply(&store, &data).await.expect("seeding works");
    data.provinces[0].name_zh = "安徽省".into();

    let report = seed::apply(&store, &data).await.expect("seeding works");

    let code = data.provinces[0].code.clone();
    let stored: Province = store
        .get(&code)
        .await
        .expect("a read")
        .expect("the province");
    assert_eq!((report.updated, report.unchanged), (1, 59));
    assert_eq!(
        (stored.name_zh.as_str(), stored.meta.version),
        ("安徽省", 2)
    );
}

/// Copies the seed directory so a test can break one file.
fn seed_copy(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("seed");
    std::fs::create_dir(dir.path().join("sources")).expect("a folder");
    for name in [
        "sources.json",
        "national.json",
        "provinces.json",
        "partners.json",
        "hubs.json",
        "companies.json",
        "routes.json",
        "shipments.json",
        "trade_flows.json",
        "sources/peoples-daily-2026-02-25.txt",
    ] {
        std::fs::copy(source.join(name), dir.path().join(name)).expect("a copy");
    }
    edit(dir.path());
    dir
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("a seed file");
    assert!(text.contains(from), "{from} is in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("written");
}

#[test]
fn broken_seed_files_are_refused_with_file_record_and_field() {
    let cases: [(&str, &str, &str, &str); 4] = [
        ("hubs.json", "\"province\": \"CN-JS\"", "\"province\": \"CN-QQ\"", "seed file hubs.json: PORT-LIANYUNGANG: province: unknown province CN-QQ"),
        ("provinces.json", "recorded 9.49 trillion yuan", "recorded 9.5 trillion yuan", "seed file provinces.json: CN-GD: years[0].totalTrade.source: quote is not found verbatim"),
        ("shipments.json", "\"value\": \"36\"", "\"value\": \"-36\"", "seed file shipments.json: ENVISION-JIANGYIN-BLADES: quantity.value: must be greater than zero, got -36"),
        ("partners.json", "\"kind\": \"BLOC\"", "\"kind\": \"UNION\"", "seed file partners.json: line "),
    ];
    for (file, from, to, expected) in cases {
        let seeds = seed_copy(|dir| replace_in(&dir.join(file), from, to));
        let data = tempfile::tempdir().expect("a temporary directory");

        let (ok, _, stderr) = run_seed(
            data.path(),
            &["--seed-dir", &seeds.path().display().to_string()],
        );

        assert!(!ok, "{file} must be refused");
        assert!(
            stderr.contains(expected),
            "{file}: expected {expected:?} in {stderr:?}"
        );
    }
}

#[actix_web::test]
async fn a_database_the_server_holds_is_in_use() {
    if sled_only("it is sled's lock on the data directory that keeps a second process out") {
        return;
    }
    let app = spawn_app().await;

    let (ok, _, stderr) = run_seed(&app.data_dir, &[]);

    assert!(!ok);
    assert!(
        stderr.contains("database in use: another tradegraph process holds"),
        "{stderr}"
    );
    let data = app
        .data("{ province(code: \"GD\") { code } }", json!({}))
        .await;
    assert_eq!(
        data["province"]["code"], "CN-GD",
        "the server still answers"
    );
}

#[actix_web::test]
async fn synthetic_shipments_are_marked_and_filtered_out() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let (ok, stdout, _) = run_seed(&data_dir, &["--synthetic-shipments", "1000"]);
    assert!(ok, "{stdout}");
    let store = Store::open(&data_dir, StoreOptions::new(1 << 20))
        .await
        .expect("the store opens");

    assert_eq!(store.synthetic_count().await.expect("a count"), 1000);
    let first = store
        .shipment_by_reference("SYN-00000001")
        .await
        .expect("a read")
        .expect("the first synthetic shipment");
    assert_eq!(first.meta.origin, Origin::Synthetic);
    assert_eq!((first.source, first.note), (None, None));
}
