//! Backup, restore and checking through the real binaries: `seed` fills a
//! database, `tradegraph check`, `export` and `import` work on it.
//! (A database broken on purpose is checked by the unit tests in
//! `store::check`, where the trees can be reached.)

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a run printed: (success, stdout, stderr).
type Outcome = (bool, String, String);

/// Runs a binary with `args`, feeding it `stdin`.
fn run(program: &str, args: &[&OsStr], stdin: &[u8]) -> Outcome {
    let mut child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "error")
        .env_remove("TRADEGRAPH_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(stdin)
        .expect("stdin is written");
    let output = child.wait_with_output().expect("the binary finishes");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `tradegraph` with `args` and no input.
fn tradegraph(args: &[&OsStr]) -> Outcome {
    run(env!("CARGO_BIN_EXE_tradegraph"), args, b"")
}

/// Fills a new database in `data_dir` with the seed data and `synthetic`
/// synthetic shipments.
fn seed(data_dir: &Path, synthetic: u64) {
    let synthetic = synthetic.to_string();
    let (ok, _, stderr) = run(
        env!("CARGO_BIN_EXE_seed"),
        &[
            "--data-dir".as_ref(),
            data_dir.as_ref(),
            "--synthetic-shipments".as_ref(),
            synthetic.as_ref(),
        ],
        b"",
    );
    assert!(ok, "seeding failed: {stderr}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the backup is readable")
}

/// The kinds of the lines of a backup, each with how many lines have it.
fn kinds(backup: &str) -> Vec<(String, usize)> {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for line in backup.lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let kind = value["kind"].as_str().expect("a kind").to_owned();
        match kinds.last_mut() {
            Some((last, n)) if *last == kind => *n += 1,
            _ => kinds.push((kind, 1)),
        }
    }
    kinds
}

#[test]
fn an_export_imported_and_exported_again_is_byte_identical() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let (first_file, second_file) = (
        dir.path().join("first.jsonl"),
        dir.path().join("second.jsonl"),
    );
    seed(&first, 500);

    let checked = tradegraph(&["check".as_ref(), "--data-dir".as_ref(), first.as_ref()]);
    let exported = tradegraph(&[
        "export".as_ref(),
        "--data-dir".as_ref(),
        first.as_ref(),
        "--output".as_ref(),
        first_file.as_ref(),
    ]);
    let imported = tradegraph(&[
        "import".as_ref(),
        "--data-dir".as_ref(),
        second.as_ref(),
        "--input".as_ref(),
        first_file.as_ref(),
    ]);
    let exported_again = tradegraph(&[
        "export".as_ref(),
        "--data-dir".as_ref(),
        second.as_ref(),
        "--output".as_ref(),
        second_file.as_ref(),
    ]);
    let to_stdout = tradegraph(&["export".as_ref(), "--data-dir".as_ref(), second.as_ref()]);
    let checked_again = tradegraph(&["check".as_ref(), "--data-dir".as_ref(), second.as_ref()]);

    let ok = |stdout: String| (true, stdout, String::new());
    let exported_from = |dir: &Path| {
        (
            true,
            String::new(),
            format!("exported 560 records from {}\n", dir.display()),
        )
    };
    assert_eq!(checked, ok("ok: 560 records checked\n".into()));
    assert_eq!(exported, exported_from(&first));
    assert_eq!(
        imported,
        ok(format!("imported 560 records into {}\n", second.display()))
    );
    assert_eq!(exported_again, exported_from(&second));
    assert_eq!(checked_again, ok("ok: 560 records checked\n".into()));
    let backup = read(&first_file);
    assert!(read(&second_file) == backup, "the second export differs");
    assert!(to_stdout.1 == backup, "the export to stdout differs");
    assert_eq!(backup.lines().count(), 561);
    assert_eq!(
        backup.lines().next(),
        Some(r#"{"kind":"header","formatVersion":1,"seeded":true,"nextShipmentId":505}"#)
    );
    let expected_kinds = [
        ("header", 1),
        ("national", 1),
        ("province", 31),
        ("partner", 7),
        ("hub", 10),
        ("company", 3),
        ("route", 2),
        ("tradeFlow", 2),
        ("shipment", 504),
    ];
    assert_eq!(
        kinds(&backup),
        expected_kinds.map(|(kind, n)| (kind.to_owned(), n))
    );
}

#[test]
fn import_refuses_a_database_that_holds_records() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (data_dir, backup) = (dir.path().join("data"), dir.path().join("backup.jsonl"));
    seed(&data_dir, 0);
    let exported = tradegraph(&[
        "export".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_ref(),
        "--output".as_ref(),
        backup.as_ref(),
    ]);
    assert!(exported.0, "{exported:?}");

    let (ok, stdout, stderr) = tradegraph(&[
        "import".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_ref(),
        "--input".as_ref(),
        backup.as_ref(),
    ]);

    assert!(!ok);
    assert_eq!(stdout, "");
    assert!(
        stderr.ends_with(" ERROR tradegraph: the database is not empty: import restores into an empty database only; use a new data directory\n"),
        "{stderr}"
    );
    let checked = tradegraph(&["check".as_ref(), "--data-dir".as_ref(), data_dir.as_ref()]);
    assert_eq!(
        checked,
        (true, "ok: 60 records checked\n".into(), String::new()),
        "the database is left as it was"
    );
}

#[test]
fn import_reads_standard_input_and_names_a_bad_line() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (source, good, bad) = (
        dir.path().join("source"),
        dir.path().join("good"),
        dir.path().join("bad"),
    );
    seed(&source, 0);
    let (_, backup, _) = tradegraph(&["export".as_ref(), "--data-dir".as_ref(), source.as_ref()]);
    let mut broken: Vec<&str> = backup.lines().collect();
    broken[2] = r#"{"kind":"province","record":{"code":"Guangdong"}}"#;
    let broken = broken.join("\n");
    let import = |data_dir: &Path, input: &str| {
        run(
            env!("CARGO_BIN_EXE_tradegraph"),
            &["import".as_ref(), "--data-dir".as_ref(), data_dir.as_ref()],
            input.as_bytes(),
        )
    };

    let imported = import(&good, &backup);
    let (ok, _, stderr) = import(&bad, &broken);

    assert_eq!(
        imported,
        (
            true,
            format!("imported 60 records into {}\n", good.display()),
            String::new()
        )
    );
    assert!(!ok);
    assert!(
        stderr.ends_with(" ERROR tradegraph: line 3: province code must be an ISO 3166-2 code such as \"CN-GD\" or \"GD\", got \"Guangdong\"\n"),
        "{stderr}"
    );
}

#[test]
fn check_and_export_refuse_a_missing_database_and_read_the_data_dir_from_the_environment() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (missing, data_dir) = (dir.path().join("missing"), dir.path().join("data"));
    seed(&data_dir, 0);

    let (checked, _, stderr) =
        tradegraph(&["check".as_ref(), "--data-dir".as_ref(), missing.as_ref()]);
    let (exported, _, _) =
        tradegraph(&["export".as_ref(), "--data-dir".as_ref(), missing.as_ref()]);
    let from_environment = Command::new(env!("CARGO_BIN_EXE_tradegraph"))
        .arg("check")
        .env("TRADEGRAPH_DATA_DIR", &data_dir)
        .env("RUST_LOG", "error")
        .output()
        .expect("the binary runs");

    assert!(!checked && !exported);
    assert!(
        stderr.ends_with(&format!(
            " ERROR tradegraph: no database at {}: the directory does not exist\n",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(!missing.exists(), "no database is created");
    assert!(from_environment.status.success());
    assert_eq!(from_environment.stdout, b"ok: 60 records checked\n");
}
