//! Several servers on one store (the etcd pass): a write one acknowledges
//! is read at once by another, past its caches and `ETag`s; idempotency
//! keys and `expectedVersion` hold across servers; counters stay exact with
//! writers on both; and the store then passes its check. The command line
//! reaches a member on TLS with a client certificate and a password.

use serde_json::{json, Value};

use crate::helpers::{etcd_only, spawn_together, two_servers, TestApp, WRITE_TOKEN};

const CREATE: &str = "mutation ($input: CreateShipmentInput!, $key: String) {
    createShipment(input: $input, idempotencyKey: $key) { shipment { id reference version } } }";

const UPDATE: &str = "mutation ($id: ID!, $input: UpdateShipmentInput!, $expected: Int) {
    updateShipment(id: $id, input: $input, expectedVersion: $expected) { shipment { version cargo } } }";

const COUNTS: &str =
    r#"{ all: shipments { totalCount } js: province(code: "JS") { shipments { totalCount } } }"#;

/// How many shipments a server lists, and how many leave Jiangsu.
async fn counts(app: &TestApp) -> (u64, u64) {
    let data = app.data(COUNTS, json!({})).await;
    (
        data["all"]["totalCount"].as_u64().expect("a count"),
        data["js"]["shipments"]["totalCount"]
            .as_u64()
            .expect("a count"),
    )
}

/// Creates a shipment leaving Jiangsu; returns what the server answered.
async fn create(app: &TestApp, reference: &str, key: Option<&str>) -> Value {
    let input = json!({ "reference": reference, "cargo": "wind turbines", "originProvince": "JS" });
    app.write(CREATE, json!({ "input": input, "key": key }))
        .await["createShipment"]["shipment"]
        .clone()
}

#[actix_web::test]
async fn servers_started_at_the_same_moment_on_an_empty_store_seed_it_once() {
    if etcd_only("three servers starting on one store") {
        return;
    }
    // Act: three servers start at once, each asked for the same synthetic
    // shipments; one seeds under the lock, the others wait and find it done.
    let servers = spawn_together(3, |args| args.database.synthetic_shipments = 300).await;

    // Assert: every server ready, each record once.
    for server in &servers {
        let (status, body) = server.get("/ready").await;
        assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
        let data = server
            .data(
                "{ all: shipments { totalCount } synthetic: shipments(filter: {synthetic: true}) { totalCount } provinces { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(
            data,
            json!({ "all": { "totalCount": 304 }, "synthetic": { "totalCount": 300 }, "provinces": { "totalCount": 31 } })
        );
    }
    let report = servers[0].store.check().await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

#[actix_web::test]
async fn a_write_one_server_acknowledges_is_read_at_once_by_another_past_its_caches() {
    // Arrange: the second server has answered, and tagged, the count.
    let Some((first, second)) = two_servers("a write on one server, read on the other").await
    else {
        return;
    };
    let path = format!("/graphql?query={}", crate::helpers::encoded(COUNTS));
    let before = second.get_with(&path, &[]).await;
    let (all, js) = counts(&second).await;

    for round in 0..4_u64 {
        // Act: a write on one server, then at once a read on the other,
        // by turns.
        let (writer, reader) = if round % 2 == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let reference = format!("CLUSTER-READ-{round}");
        create(writer, &reference, None).await;
        let found = reader
            .data(
                "query ($reference: String!) { shipment(reference: $reference) { reference cargo } }",
                json!({ "reference": reference }),
            )
            .await;
        let (all_now, js_now) = counts(reader).await;

        // Assert
        assert_eq!(
            found["shipment"],
            json!({ "reference": reference, "cargo": "wind turbines" })
        );
        assert_eq!((all_now, js_now), (all + round + 1, js + round + 1));
    }
    let after = second
        .get_with(&path, &[("if-none-match", before.header("etag"))])
        .await;
    assert_eq!(after.status, 200, "the tag is not current after writes");
    assert_eq!(after.json()["data"]["all"]["totalCount"], all + 4);
}

#[actix_web::test]
async fn a_create_retried_on_another_server_under_its_key_returns_the_first_shipment() {
    // Arrange
    let Some((first, second)) = two_servers("a retry sent to the other server").await else {
        return;
    };
    let (all, _) = counts(&first).await;

    // Act
    let created = create(&first, "CLUSTER-KEYED", Some("cluster-key-1")).await;
    let retried = create(&second, "CLUSTER-KEYED-AGAIN", Some("cluster-key-1")).await;

    // Assert: the same shipment, made once.
    assert_eq!(retried, created);
    assert_eq!(created["reference"], "CLUSTER-KEYED");
    assert_eq!(counts(&first).await.0, all + 1);
    assert_eq!(counts(&second).await.0, all + 1);
}

#[actix_web::test]
async fn an_expected_version_holds_across_servers() {
    // Arrange
    let Some((first, second)) = two_servers("versions checked on two servers").await else {
        return;
    };
    let id = create(&first, "CLUSTER-VERSIONED", None).await["id"].clone();

    // Act: both servers change version 1; the second to try is refused.
    let updated = second
        .write(
            UPDATE,
            json!({ "id": id, "input": { "cargo": "blades" }, "expected": 1 }),
        )
        .await;
    let (_, stale) = first
        .post(
            UPDATE,
            json!({ "id": id, "input": { "cargo": "towers" }, "expected": 1 }),
            Some(WRITE_TOKEN),
        )
        .await;

    // Assert
    assert_eq!(
        updated["updateShipment"]["shipment"],
        json!({ "version": 2, "cargo": "blades" })
    );
    assert_eq!(stale["errors"][0]["extensions"]["code"], "CONFLICT");
    assert_eq!(stale["errors"][0]["extensions"]["currentVersion"], 2);
    let found = first
        .data(
            r#"{ shipment(reference: "CLUSTER-VERSIONED") { version cargo } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        found["shipment"],
        json!({ "version": 2, "cargo": "blades" })
    );
}

#[actix_web::test]
async fn counters_stay_exact_with_writers_on_two_servers_at_once() {
    // Arrange
    let Some((first, second)) = two_servers("writers on two servers").await else {
        return;
    };
    let (all, js) = counts(&first).await;
    const EACH: u64 = 12;

    // Act: both servers take the same counters' writes at once.
    let writes = (0..2 * EACH).map(|n| {
        let server = if n % 2 == 0 { &first } else { &second };
        async move { create(server, &format!("CLUSTER-RACE-{n}"), None).await }
    });
    let created = futures_util::future::join_all(writes).await;

    // Assert: every write counted once, as both servers see it, and the
    // store's records, indexes and counters agree.
    assert!(created.iter().all(|shipment| shipment["version"] == 1));
    assert_eq!(counts(&first).await, (all + 2 * EACH, js + 2 * EACH));
    assert_eq!(counts(&second).await, (all + 2 * EACH, js + 2 * EACH));
    let report = second.store.check().await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

#[test]
fn seed_and_check_reach_a_member_on_tls_with_a_client_certificate_and_a_password() {
    if etcd_only("the member on TLS that tests/etcd.sh starts") {
        return;
    }
    // Arrange: the flags of the member etcd_start_secure started.
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name}: run tests/etcd.sh"));
    let dir = std::path::PathBuf::from(var("TRADEGRAPH_TEST_ETCD_SECURE_DIR"));
    let file = |name: &str| dir.join(name).display().to_string();
    let prefix = format!("secure-cli-{}/", std::process::id());
    let run = |command: &[&str], password: &str| {
        std::process::Command::new(command[0])
            .args(&command[1..])
            .args(["--etcd", &var("TRADEGRAPH_TEST_ETCD_SECURE")])
            .args(["--etcd-prefix", &prefix, "--etcd-user", "root"])
            .args(["--etcd-ca-file", &file("ca.pem")])
            .args(["--etcd-cert-file", &file("client.pem")])
            .args(["--etcd-key-file", &file("client-key.pem")])
            .env("TRADEGRAPH_ETCD_PASSWORD", password)
            .output()
            .expect("the binary runs")
    };
    let password = var("TRADEGRAPH_TEST_ETCD_SECURE_PASSWORD");

    // Act
    let seed = [env!("CARGO_BIN_EXE_seed")];
    let check = [env!("CARGO_BIN_EXE_tradegraph"), "check"];
    let seeded = run(&seed, &password);
    let checked = run(&check, &password);
    let refused = run(&check, "not-the-password");

    // Assert
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    assert!(
        text(&checked.stdout).starts_with("ok: "),
        "{}",
        text(&checked.stdout)
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains(
            "etcd refused this client's user and password (--etcd-user, TRADEGRAPH_ETCD_PASSWORD)"
        ),
        "{}",
        text(&refused.stderr)
    );
}
