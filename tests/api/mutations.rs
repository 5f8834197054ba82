//! Writes: creating, updating and deleting shipments with a write token;
//! refusals that change nothing; versions, conflicts and idempotency keys.

use serde_json::{json, Value};
use tradegraph::seed;

use crate::helpers::{
    codes_and_messages, spawn_app, spawn_app_without_tokens, TestApp, WRITE_TOKEN,
};

const CREATE: &str = "mutation ($input: CreateShipmentInput!, $key: String) {
    createShipment(input: $input, idempotencyKey: $key) { shipment {
        id reference version synthetic cargo mode transitDays departedOn arrivedOn
        quantity { display } shipper { code } originProvince { code } origin { code }
        destinationPartner { code } destination { code } route { code } } } }";

const UPDATE: &str = "mutation ($id: ID!, $input: UpdateShipmentInput!, $expected: Int) {
    updateShipment(id: $id, input: $input, expectedVersion: $expected) { shipment {
        id reference version mode cargo route { code } note quantity { display } } } }";

const DELETE: &str = "mutation ($id: ID!, $expected: Int) { deleteShipment(id: $id, expectedVersion: $expected) { deletedId } }";

/// How many shipments the server lists, and how many leave Jiangsu.
async fn counts(app: &TestApp) -> (u64, u64) {
    let data = app
        .data("{ all: shipments { totalCount } js: province(code: \"JS\") { shipments { totalCount } } }", json!({}))
        .await;
    (
        data["all"]["totalCount"].as_u64().unwrap_or(0),
        data["js"]["shipments"]["totalCount"].as_u64().unwrap_or(0),
    )
}

fn wind_blades() -> Value {
    json!({
        "reference": "envision-jiangyin-blades-2",
        "shipper": "envision",
        "cargo": "wind turbine blades",
        "quantity": { "value": "48", "unit": "wind turbine blades" },
        "mode": "SEA",
        "originProvince": "Jiangsu",
        "origin": "JIANGYIN-CBZ",
        "destinationPartner": "PL",
        "departedOn": "2026-03-01",
        "arrivedOn": "2026-04-02",
        "transitDays": 32
    })
}

#[actix_web::test]
async fn a_created_shipment_is_stored_indexed_and_counted() {
    let app = spawn_app().await;
    let before = counts(&app).await;

    let data = app.write(CREATE, json!({ "input": wind_blades() })).await;

    let shipment = &data["createShipment"]["shipment"];
    assert_eq!(
        shipment,
        &json!({
            "id": shipment["id"], "reference": "ENVISION-JIANGYIN-BLADES-2", "version": 1, "synthetic": false,
            "cargo": "wind turbine blades", "mode": "SEA", "transitDays": 32, "departedOn": "2026-03-01", "arrivedOn": "2026-04-02",
            "quantity": { "display": "48 wind turbine blades" }, "shipper": { "code": "ENVISION" },
            "originProvince": { "code": "CN-JS" }, "origin": { "code": "JIANGYIN-CBZ" },
            "destinationPartner": { "code": "PL" }, "destination": null, "route": null
        })
    );
    assert_eq!(counts(&app).await, (before.0 + 1, before.1 + 1));
    let found = app.data("{ company(code: \"ENVISION\") { shipments(orderBy: {field: DEPARTED_ON, direction: DESC}, first: 1) { nodes { reference } } } }", json!({})).await;
    assert_eq!(
        found["company"]["shipments"]["nodes"],
        json!([{ "reference": "ENVISION-JIANGYIN-BLADES-2" }])
    );
}

#[actix_web::test]
async fn writes_without_a_valid_token_are_refused_with_401_and_change_nothing() {
    let app = spawn_app().await;
    let before = counts(&app).await;

    let (missing_status, missing) = app
        .post(CREATE, json!({ "input": wind_blades() }), None)
        .await;
    let (wrong_status, wrong) = app
        .post(
            CREATE,
            json!({ "input": wind_blades() }),
            Some("tg_not_the_token"),
        )
        .await;

    assert_eq!(missing_status, 401);
    assert_eq!(
        codes_and_messages(&missing),
        vec![("UNAUTHENTICATED".to_owned(), "a write token is required: send the header Authorization: Bearer <token> (over WebSocket, put it in the connection_init payload)".to_owned())]
    );
    assert_eq!(wrong_status, 401);
    assert_eq!(
        codes_and_messages(&wrong),
        vec![(
            "UNAUTHENTICATED".to_owned(),
            "the write token is not valid".to_owned()
        )]
    );
    assert_eq!(counts(&app).await, before);
}

#[actix_web::test]
async fn a_server_with_no_token_configured_says_how_to_configure_one() {
    let app = spawn_app_without_tokens().await;

    let (status, body) = app
        .post(CREATE, json!({ "input": wind_blades() }), Some(WRITE_TOKEN))
        .await;

    assert_eq!(status, 401);
    assert_eq!(
        codes_and_messages(&body),
        vec![("UNAUTHENTICATED".to_owned(), "writes are disabled: no write token is configured; start the server with --write-token-hash <hash> (`tradegraph token` makes a token and its hash)".to_owned())]
    );
}

#[actix_web::test]
async fn invalid_input_is_refused_by_field_and_writes_nothing() {
    let app = spawn_app().await;
    let before = counts(&app).await;
    let with = |change: Value| {
        let mut input = wind_blades();
        for (key, value) in change.as_object().expect("an object") {
            input[key] = value.clone();
        }
        json!({ "input": input })
    };
    let cases = [
        (with(json!({ "shipper": "ACME" })), "shipper: unknown company ACME"),
        (with(json!({ "origin": "port of nowhere" })), "origin: hub code must be 1 to 48 letters and digits in words joined by hyphens, got \"port of nowhere\""),
        (with(json!({ "originProvince": "Atlantis" })), "originProvince: unknown province \"Atlantis\"; use a code such as \"CN-GD\" or a name such as \"Guangdong\""),
        (with(json!({ "route": "SILK-ROAD" })), "route: unknown freight route SILK-ROAD"),
        (with(json!({ "quantity": { "value": "-3", "unit": "blades" } })), "quantity.value must be greater than 0, got -3"),
        (with(json!({ "quantity": { "value": "3", "unit": " " } })), "quantity.unit must be 1 to 500 characters"),
        (with(json!({ "cargo": "  " })), "cargo must be 1 to 500 characters"),
        (with(json!({ "arrivedOn": "2026-02-01" })), "arrivedOn (2026-02-01) must not be before departedOn (2026-03-01)"),
        (with(json!({ "transitDays": 400 })), "transitDays must be between 0 and 365, got 400"),
        (with(json!({ "reference": "BYD-CHANGZHOU-ZARATE" })), "reference: a shipment with reference \"BYD-CHANGZHOU-ZARATE\" already exists; references are unique"),
    ];

    for (variables, message) in cases {
        let errors = app.write_errors(CREATE, variables).await;

        assert_eq!(
            errors,
            vec![("BAD_USER_INPUT".to_owned(), message.to_owned())]
        );
    }
    assert_eq!(counts(&app).await, before);
}

#[actix_web::test]
async fn updates_raise_the_version_and_stale_versions_conflict() {
    let app = spawn_app().await;
    let created = app.write(CREATE, json!({ "input": wind_blades() })).await;
    let id = created["createShipment"]["shipment"]["id"].clone();

    let updated = app.write(UPDATE, json!({ "id": id, "input": { "mode": "RAIL", "note": "rerouted", "quantity": null }, "expected": 1 })).await;
    let stale = app
        .write_errors(
            UPDATE,
            json!({ "id": id, "input": { "cargo": "blades" }, "expected": 1 }),
        )
        .await;
    let (_, stale_body) = app
        .post(
            UPDATE,
            json!({ "id": id, "input": { "cargo": "blades" }, "expected": 1 }),
            Some(WRITE_TOKEN),
        )
        .await;
    let unversioned = app
        .write(UPDATE, json!({ "id": id, "input": { "cargo": "blades" } }))
        .await;

    assert_eq!(
        updated["updateShipment"]["shipment"],
        json!({ "id": id, "reference": "ENVISION-JIANGYIN-BLADES-2", "version": 2, "mode": "RAIL", "cargo": "wind turbine blades", "route": null, "note": "rerouted", "quantity": null })
    );
    assert_eq!(
        stale,
        vec![("CONFLICT".to_owned(), "version conflict: expectedVersion is 1 but the current version is 2; read the record again and retry".to_owned())]
    );
    assert_eq!(stale_body["errors"][0]["extensions"]["currentVersion"], 2);
    assert_eq!(unversioned["updateShipment"]["shipment"]["version"], 3);
    assert_eq!(unversioned["updateShipment"]["shipment"]["cargo"], "blades");
    assert_eq!(
        unversioned["updateShipment"]["shipment"]["note"], "rerouted",
        "fields left out stay as they are"
    );
}

#[actix_web::test]
async fn a_deleted_shipment_is_gone_from_every_list() {
    let app = spawn_app().await;
    let before = counts(&app).await;
    let created = app.write(CREATE, json!({ "input": wind_blades() })).await;
    let id = created["createShipment"]["shipment"]["id"].clone();

    let conflict = app
        .write_errors(DELETE, json!({ "id": id, "expected": 7 }))
        .await;
    let deleted = app.write(DELETE, json!({ "id": id, "expected": 1 })).await;
    let again = app.write_errors(DELETE, json!({ "id": id })).await;

    assert_eq!(conflict[0].0, "CONFLICT");
    assert_eq!(deleted, json!({ "deleteShipment": { "deletedId": id } }));
    assert_eq!(again[0].0, "NOT_FOUND");
    assert_eq!(counts(&app).await, before);
    let node = app
        .data(
            "query ($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(node, json!({ "node": null }));
}

#[actix_web::test]
async fn a_retried_create_with_the_same_key_creates_nothing_new() {
    let app = spawn_app().await;
    let before = counts(&app).await;
    let mut second_input = wind_blades();
    second_input["reference"] = json!("OTHER-REFERENCE");

    let first = app
        .write(
            CREATE,
            json!({ "input": wind_blades(), "key": "request-1" }),
        )
        .await;
    let retried = app
        .write(CREATE, json!({ "input": second_input, "key": "request-1" }))
        .await;

    assert_eq!(first, retried);
    assert_eq!(counts(&app).await, (before.0 + 1, before.1 + 1));
}

#[actix_web::test]
async fn a_seed_refresh_leaves_shipments_changed_through_the_api_alone() {
    let app = spawn_app().await;
    let byd = app
        .data(
            "{ shipment(reference: \"BYD-CHANGZHOU-ZARATE\") { id } }",
            json!({}),
        )
        .await;
    let id = byd["shipment"]["id"].clone();
    app.write(
        UPDATE,
        json!({ "id": id, "input": { "note": "checked at the port" } }),
    )
    .await;

    let report = seed::apply(&app.store, &seed::load(None).expect("the seed loads"))
        .await
        .expect("a refresh");

    assert_eq!((report.kept, report.updated), (1, 0));
    let after = app
        .data(
            "{ shipment(reference: \"BYD-CHANGZHOU-ZARATE\") { note version } }",
            json!({}),
        )
        .await;
    assert_eq!(
        after,
        json!({ "shipment": { "note": "checked at the port", "version": 2 } })
    );
}

#[actix_web::test]
async fn hubs_companies_and_routes_are_created_once_and_linked() {
    let app = spawn_app().await;
    let hub = "mutation ($input: CreateHubInput!) { createHub(input: $input) { hub { code name kind city province { code } country { code } version } } }";
    let company = "mutation ($input: CreateCompanyInput!) { createCompany(input: $input) { company { code name province { name } } } }";
    let route = "mutation ($input: CreateFreightRouteInput!) { createFreightRoute(input: $input) { freightRoute { code mode origin { code } destination { code } via { code } provinces { code } partners { code } } } }";

    let created_hub = app.write(hub, json!({ "input": { "code": "port-ningbo", "name": "Ningbo-Zhoushan Port", "kind": "SEAPORT", "city": "Ningbo", "province": "Zhejiang" } })).await;
    let duplicate = app
        .write_errors(
            hub,
            json!({ "input": { "code": "PORT-NINGBO", "name": "Again", "kind": "SEAPORT" } }),
        )
        .await;
    let unknown = app.write_errors(hub, json!({ "input": { "code": "PORT-X", "name": "X", "kind": "SEAPORT", "country": "ZZ" } })).await;
    let created_company = app
        .write(
            company,
            json!({ "input": { "code": "GEELY", "name": "Geely", "province": "ZJ" } }),
        )
        .await;
    let created_route = app
        .write(route, json!({ "input": { "code": "NINGBO-ZARATE", "name": "Ningbo to Zarate", "mode": "SEA", "origin": "PORT-NINGBO", "destination": "PORT-ZARATE", "provinces": ["Zhejiang"], "partners": ["AR"] } }))
        .await;
    let linked = app.data("{ province(code: \"ZJ\") { hubs { code } freightRoutes { nodes { code } } } tradePartner(code: \"AR\") { freightRoutes { totalCount } } }", json!({})).await;

    assert_eq!(
        created_hub["createHub"]["hub"],
        json!({ "code": "PORT-NINGBO", "name": "Ningbo-Zhoushan Port", "kind": "SEAPORT", "city": "Ningbo", "province": { "code": "CN-ZJ" }, "country": null, "version": 1 })
    );
    assert_eq!(
        duplicate,
        vec![(
            "BAD_USER_INPUT".to_owned(),
            "code: a hub with code PORT-NINGBO already exists; codes are unique".to_owned()
        )]
    );
    assert_eq!(
        unknown,
        vec![(
            "BAD_USER_INPUT".to_owned(),
            "country: unknown trade partner ZZ".to_owned()
        )]
    );
    assert_eq!(
        created_company["createCompany"]["company"],
        json!({ "code": "GEELY", "name": "Geely", "province": { "name": "Zhejiang" } })
    );
    assert_eq!(
        created_route["createFreightRoute"]["freightRoute"],
        json!({ "code": "NINGBO-ZARATE", "mode": "SEA", "origin": { "code": "PORT-NINGBO" }, "destination": { "code": "PORT-ZARATE" }, "via": [], "provinces": [{ "code": "CN-ZJ" }], "partners": [{ "code": "AR" }] })
    );
    assert_eq!(
        linked,
        json!({
            "province": { "hubs": [{ "code": "PORT-NINGBO" }, { "code": "YIWU-GDTC" }, { "code": "YIWU-MARKET" }], "freightRoutes": { "nodes": [{ "code": "NINGBO-ZARATE" }, { "code": "YIWU-XINJIANG-EUROPE" }] } },
            "tradePartner": { "freightRoutes": { "totalCount": 1 } }
        })
    );
}

#[actix_web::test]
async fn recording_a_trade_flow_again_replaces_it_and_raises_its_version() {
    let app = spawn_app().await;
    let record = "mutation ($input: RecordTradeFlowInput!) { recordTradeFlow(input: $input) { tradeFlow { province { code } partner { code } year value { display } growthPercent version source { quote } } } }";
    let flow = |amount: &str| json!({ "input": { "province": "Guangdong", "partner": "ASEAN", "year": 2025, "value": { "amount": amount, "currency": "CNY" }, "growthPercent": 5.5 } });

    let first = app.write(record, flow("100000000000")).await;
    let second = app.write(record, flow("120000000000")).await;
    let refused = app
        .write_errors(
            record,
            json!({ "input": { "province": "GD", "partner": "ASEAN", "year": 1800 } }),
        )
        .await;
    let listed = app.data("{ province(code: \"GD\") { tradeFlows { totalCount nodes { value { display } version } } } }", json!({})).await;

    assert_eq!(first["recordTradeFlow"]["tradeFlow"]["version"], 1);
    assert_eq!(
        second["recordTradeFlow"]["tradeFlow"],
        json!({ "province": { "code": "CN-GD" }, "partner": { "code": "ASEAN" }, "year": 2025, "value": { "display": "120 billion yuan" }, "growthPercent": 5.5, "version": 2, "source": null })
    );
    assert_eq!(
        refused,
        vec![(
            "BAD_USER_INPUT".to_owned(),
            "year must be between 1950 and 2100, got 1800".to_owned()
        )]
    );
    assert_eq!(
        listed["province"]["tradeFlows"],
        json!({ "totalCount": 1, "nodes": [{ "value": { "display": "120 billion yuan" }, "version": 2 }] })
    );
}

#[actix_web::test]
async fn a_mutation_over_get_is_refused_with_405_and_writes_nothing() {
    let app = spawn_app().await;
    let before = counts(&app).await;

    let (status, body) = app.get("/graphql?query=mutation%20%7B%20deleteShipment(id%3A%20%22U2hpcG1lbnQ6MQ%3D%3D%22)%20%7B%20deletedId%20%7D%20%7D").await;

    assert_eq!(status, 405);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({ "errors": [{ "message": "mutations are not allowed over GET: send them with POST", "extensions": { "code": "BAD_REQUEST" } }] })
    );
    assert_eq!(counts(&app).await, before);
}
