//! Errors over real HTTP: what a client that sends a wrong window, a wrong
//! cursor, a wrong id, a wrong search or a wrong filter gets back. Our own
//! errors carry `extensions.code` `BAD_USER_INPUT` and a message that says
//! what was wrong and what is allowed; values the schema refuses before
//! execution carry `GRAPHQL_VALIDATION_FAILED` and a message that names the
//! argument.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const BAD_USER_INPUT: &str = "BAD_USER_INPUT";

/// The message of a foreign cursor starts with this; the rest is a hint.
const FOREIGN_CURSOR: &str = "cursor does not belong to this list";

/// The one error a query should fail with.
fn bad_input(message: &str) -> Vec<(String, String)> {
    vec![(BAD_USER_INPUT.to_owned(), message.to_owned())]
}

/// Sends each query and compares the whole table of errors with the
/// expected one, so one run names every query that went wrong.
async fn check_errors(app: &TestApp, cases: &[(&str, &str)]) {
    let mut actual = Vec::new();
    let mut expected = Vec::new();
    for (query, message) in cases {
        actual.push((query.to_string(), app.errors(query, json!({})).await));
        expected.push((query.to_string(), bad_input(message)));
    }
    assert_eq!(actual, expected);
}

/// Sends a query with variables and returns its single error, checking that
/// there is exactly one.
async fn single_error(app: &TestApp, query: &str, variables: Value) -> (String, String) {
    let mut errors = app.errors(query, variables.clone()).await;
    assert_eq!(errors.len(), 1, "{query} with {variables}: {errors:?}");
    errors.remove(0)
}

/// The cursor of the first item of a list, from `data` at the JSON pointer.
async fn first_cursor(app: &TestApp, query: &str, at: &str) -> String {
    let data = app.data(query, json!({})).await;
    data.pointer(at)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("a cursor at {at} in {data:#}"))
        .to_owned()
}

// ---------------------------------------------------------------------------
// The window: first, last, both.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn page_sizes_outside_one_to_a_hundred_are_refused_on_every_list() {
    // Arrange
    let app = spawn_app().await;
    let cases = [
        (
            "{ provinces(first: 500) { totalCount } }",
            "first must be between 1 and 100, got 500",
        ),
        (
            "{ shipments(first: 500) { totalCount } }",
            "first must be between 1 and 100, got 500",
        ),
        (
            "{ shipments(last: 0) { totalCount } }",
            "last must be between 1 and 100, got 0",
        ),
        (
            "{ tradePartners(last: 0) { totalCount } }",
            "last must be between 1 and 100, got 0",
        ),
        (
            "{ hubs(first: -1) { totalCount } }",
            "first must be between 1 and 100, got -1",
        ),
        (
            "{ companies(last: 101) { totalCount } }",
            "last must be between 1 and 100, got 101",
        ),
        (
            "{ freightRoutes(first: 0) { totalCount } }",
            "first must be between 1 and 100, got 0",
        ),
        (
            r#"{ province(code: "JS") { shipments(first: 500) { totalCount } } }"#,
            "first must be between 1 and 100, got 500",
        ),
        (
            r#"{ province(code: "ZJ") { tradeFlows(last: 0) { totalCount } } }"#,
            "last must be between 1 and 100, got 0",
        ),
        (
            r#"{ tradePartner(code: "PL") { freightRoutes(first: 101) { totalCount } } }"#,
            "first must be between 1 and 100, got 101",
        ),
        (
            r#"{ hub(code: "GBA") { shipments(last: 0) { totalCount } } }"#,
            "last must be between 1 and 100, got 0",
        ),
    ];

    // Act and assert
    check_errors(&app, &cases).await;
}

#[actix_web::test]
async fn first_and_last_together_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let both = "give either first or last, not both";
    let cases = [
        ("{ provinces(first: 1, last: 1) { totalCount } }", both),
        ("{ shipments(first: 10, last: 10) { totalCount } }", both),
        ("{ tradePartners(first: 1, last: 1) { totalCount } }", both),
        (
            r#"{ company(code: "BYD") { shipments(first: 1, last: 1) { totalCount } } }"#,
            both,
        ),
        (
            r#"{ province(code: "GD") { freightRoutes(first: 1, last: 1) { totalCount } } }"#,
            both,
        ),
    ];

    // Act and assert
    check_errors(&app, &cases).await;
}

#[actix_web::test]
async fn a_window_given_through_variables_is_checked_the_same_way() {
    // Arrange
    let app = spawn_app().await;
    let query =
        "query ($first: Int, $last: Int) { shipments(first: $first, last: $last) { totalCount } }";

    // Act
    let too_many = app.errors(query, json!({ "first": 500 })).await;
    let none = app.errors(query, json!({ "last": 0 })).await;
    let both = app.errors(query, json!({ "first": 1, "last": 1 })).await;

    // Assert
    assert_eq!(
        too_many,
        bad_input("first must be between 1 and 100, got 500")
    );
    assert_eq!(none, bad_input("last must be between 1 and 100, got 0"));
    assert_eq!(both, bad_input("give either first or last, not both"));
}

// ---------------------------------------------------------------------------
// Cursors: malformed, and from another list.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn malformed_cursors_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let after = "after is not a cursor: pass a cursor that this field returned";
    let before = "before is not a cursor: pass a cursor that this field returned";
    let cases = [
        (r#"{ provinces(after: "!!!") { totalCount } }"#, after),
        (r#"{ shipments(after: "!!!") { totalCount } }"#, after),
        (
            r#"{ shipments(last: 5, before: "!!!") { totalCount } }"#,
            before,
        ),
        (r#"{ tradePartners(after: "") { totalCount } }"#, after),
        (r#"{ hubs(before: "a b") { totalCount } }"#, before),
        (
            r#"{ province(code: "JS") { shipments(after: "!!!") { totalCount } } }"#,
            after,
        ),
        (
            r#"{ tradePartner(code: "ASEAN") { tradeFlows(before: "%%") { totalCount } } }"#,
            before,
        ),
    ];

    // Act and assert
    check_errors(&app, &cases).await;
}

#[actix_web::test]
async fn a_province_cursor_is_refused_by_other_lists() {
    // Arrange
    let app = spawn_app().await;
    let cursor = first_cursor(
        &app,
        "{ provinces(first: 1) { edges { cursor } } }",
        "/provinces/edges/0/cursor",
    )
    .await;
    let lists = [
        "query ($c: String) { shipments(after: $c) { totalCount } }",
        "query ($c: String) { shipments(last: 3, before: $c) { totalCount } }",
        "query ($c: String) { tradePartners(after: $c) { totalCount } }",
        "query ($c: String) { hubs(after: $c) { totalCount } }",
        "query ($c: String) { companies(before: $c) { totalCount } }",
        "query ($c: String) { freightRoutes(after: $c) { totalCount } }",
        "query ($c: String) { provinces(orderBy: {field: TOTAL_TRADE, direction: DESC}, after: $c) { totalCount } }",
        r#"query ($c: String) { province(code: "ZJ") { tradeFlows(after: $c) { totalCount } } }"#,
        r#"query ($c: String) { province(code: "JS") { shipments(after: $c) { totalCount } } }"#,
    ];

    for query in lists {
        // Act
        let (code, message) = single_error(&app, query, json!({ "c": cursor })).await;

        // Assert
        assert_eq!(code, BAD_USER_INPUT, "{query}");
        assert!(
            message.starts_with(FOREIGN_CURSOR),
            "{query}: {message:?} should start with {FOREIGN_CURSOR:?}"
        );
    }
}

#[actix_web::test]
async fn a_shipment_cursor_is_refused_by_a_list_in_another_order_or_of_another_parent() {
    // Arrange
    let app = spawn_app().await;
    let by_departure = first_cursor(
        &app,
        "{ shipments(first: 1) { edges { cursor } } }",
        "/shipments/edges/0/cursor",
    )
    .await;
    let from_jiangsu = first_cursor(
        &app,
        r#"{ province(code: "JS") { shipments(first: 1) { edges { cursor } } } }"#,
        "/province/shipments/edges/0/cursor",
    )
    .await;
    let by_trade_descending = first_cursor(
        &app,
        "{ provinces(first: 1, orderBy: {field: TOTAL_TRADE, direction: DESC}) { edges { cursor } } }",
        "/provinces/edges/0/cursor",
    )
    .await;
    let cases = [
        (
            "query ($c: String) { shipments(orderBy: {field: QUANTITY, direction: ASC}, after: $c) { totalCount } }",
            &by_departure,
        ),
        (
            "query ($c: String) { shipments(filter: {synthetic: false}, after: $c) { totalCount } }",
            &by_departure,
        ),
        (
            "query ($c: String) { provinces(after: $c) { totalCount } }",
            &by_departure,
        ),
        (
            r#"query ($c: String) { province(code: "GD") { shipments(after: $c) { totalCount } } }"#,
            &from_jiangsu,
        ),
        (
            r#"query ($c: String) { shipments(filter: {originProvince: "ZJ"}, after: $c) { totalCount } }"#,
            &from_jiangsu,
        ),
        (
            "query ($c: String) { shipments(after: $c) { totalCount } }",
            &from_jiangsu,
        ),
        (
            "query ($c: String) { provinces(orderBy: {field: TOTAL_TRADE, direction: ASC}, after: $c) { totalCount } }",
            &by_trade_descending,
        ),
        (
            "query ($c: String) { provinces(after: $c) { totalCount } }",
            &by_trade_descending,
        ),
    ];

    for (query, cursor) in cases {
        // Act
        let (code, message) = single_error(&app, query, json!({ "c": cursor })).await;

        // Assert
        assert_eq!(code, BAD_USER_INPUT, "{query}");
        assert!(
            message.starts_with(FOREIGN_CURSOR),
            "{query}: {message:?} should start with {FOREIGN_CURSOR:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Global ids.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn malformed_ids_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let ids = [
        "nope",
        "",
        // base64 of "Province:cn-gd": only the canonical spelling is an id.
        "UHJvdmluY2U6Y24tZ2Q=",
        // base64 of "Planet:X".
        "UGxhbmV0Olg=",
    ];

    for id in ids {
        // Act
        let (code, message) = single_error(
            &app,
            "query ($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;

        // Assert
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                BAD_USER_INPUT,
                format!("malformed id {id:?}: pass an id that tradegraph returned").as_str()
            )
        );
    }
}

#[actix_web::test]
async fn well_formed_unknown_ids_give_null_without_errors() {
    // Arrange
    let app = spawn_app().await;
    let query = "query ($id: ID!) { node(id: $id) { id } }";

    for id in [
        // base64 of "Province:CN-QQ": a well-formed code no province has.
        "UHJvdmluY2U6Q04tUVE=",
        // base64 of "Shipment:999999".
        "U2hpcG1lbnQ6OTk5OTk5",
        // base64 of "TradePartner:ZZ".
        "VHJhZGVQYXJ0bmVyOlpa",
    ] {
        // Act
        let body = app.graphql(query, json!({ "id": id })).await;

        // Assert
        assert_eq!(body["data"], json!({ "node": null }), "{id}");
        assert_eq!(body.get("errors"), None, "{id}");
    }
}

#[actix_web::test]
async fn nodes_refuses_more_than_a_hundred_ids_or_a_malformed_one() {
    // Arrange: base64 of "Province:CN-GD", a real id.
    let app = spawn_app().await;
    let query = "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }";
    let too_many = vec!["UHJvdmluY2U6Q04tR0Q="; 101];
    let one_malformed = ["UHJvdmluY2U6Q04tR0Q=", "nope"];

    // Act
    let too_many = app.errors(query, json!({ "ids": too_many })).await;
    let one_malformed = app.errors(query, json!({ "ids": one_malformed })).await;

    // Assert
    assert_eq!(too_many, bad_input("ids may hold at most 100 ids, got 101"));
    assert_eq!(
        one_malformed,
        bad_input(r#"malformed id "nope": pass an id that tradegraph returned"#)
    );
}

// ---------------------------------------------------------------------------
// Search.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn search_needs_text_and_a_page_size_from_one_to_a_hundred() {
    // Arrange
    let app = spawn_app().await;
    let cases = [
        (
            r#"{ search(text: "") { __typename } }"#,
            "text must not be empty",
        ),
        (
            r#"{ search(text: "   ") { __typename } }"#,
            "text must not be empty",
        ),
        (
            r#"{ search(text: "a", first: 0) { __typename } }"#,
            "first must be between 1 and 100, got 0",
        ),
        (
            r#"{ search(text: "a", first: 101) { __typename } }"#,
            "first must be between 1 and 100, got 101",
        ),
    ];

    // Act and assert
    check_errors(&app, &cases).await;
}

// ---------------------------------------------------------------------------
// Shipment filters.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn shipment_filters_with_unknown_provinces_malformed_codes_or_reversed_dates_are_refused() {
    // Arrange
    let app = spawn_app().await;
    let cases = [
        (
            r#"{ shipments(filter: {originProvince: "Atlantis"}) { totalCount } }"#,
            r#"originProvince: unknown province "Atlantis"; use a code such as "CN-GD" or a name such as "Guangdong""#,
        ),
        (
            // Well-formed, but no province has the code.
            r#"{ shipments(filter: {originProvince: "CN-QQ"}) { totalCount } }"#,
            r#"originProvince: unknown province "CN-QQ"; use a code such as "CN-GD" or a name such as "Guangdong""#,
        ),
        (
            r#"{ tradePartner(code: "AR") { shipments(filter: {originProvince: "Atlantis"}) { totalCount } } }"#,
            r#"originProvince: unknown province "Atlantis"; use a code such as "CN-GD" or a name such as "Guangdong""#,
        ),
        (
            r#"{ shipments(filter: {destinationPartner: "a b"}) { totalCount } }"#,
            r#"trade partner code must be 1 to 48 letters and digits in words joined by hyphens, got "a b""#,
        ),
        (
            r#"{ shipments(filter: {hub: "PORT--ZARATE"}) { totalCount } }"#,
            r#"hub code must be 1 to 48 letters and digits in words joined by hyphens, got "PORT--ZARATE""#,
        ),
        (
            r#"{ shipments(filter: {departedFrom: "2025-06-01", departedTo: "2025-01-01"}) { totalCount } }"#,
            "departedFrom (2025-06-01) must not be after departedTo (2025-01-01)",
        ),
        (
            r#"{ province(code: "JS") { shipments(filter: {departedFrom: "2025-01-02", departedTo: "2025-01-01"}) { totalCount } } }"#,
            "departedFrom (2025-01-02) must not be after departedTo (2025-01-01)",
        ),
    ];

    // Act and assert
    check_errors(&app, &cases).await;
}

/// A departure range with a malformed date, inline and through a variable.
const MALFORMED_DATES: [(&str, &str); 2] = [
    (
        r#"{ shipments(filter: {departedFrom: "2025-13-01"}) { totalCount } }"#,
        "{}",
    ),
    (
        "query ($to: Date) { shipments(filter: {departedTo: $to}) { totalCount } }",
        r#"{ "to": "2025-13-01" }"#,
    ),
];

#[actix_web::test]
async fn a_malformed_date_is_refused_and_nothing_is_listed() {
    // Arrange
    let app = spawn_app().await;

    for (query, variables) in MALFORMED_DATES {
        // Act
        let body = app
            .graphql(query, serde_json::from_str(variables).expect("JSON"))
            .await;

        // Assert: the schema refuses the value before execution; the list is
        // not answered.
        assert_eq!(body["data"], Value::Null, "{query}");
        let errors = body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{query}: {errors:#?}");
        assert_eq!(
            errors[0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{query}"
        );
        let message = errors[0]["message"].as_str().expect("a message");
        assert!(
            message.contains(r#""Date""#),
            "{query}: the message should name the type: {message:?}"
        );
    }
}

#[actix_web::test]
async fn a_malformed_date_error_names_the_filter_field() {
    // Arrange
    let app = spawn_app().await;

    for ((query, variables), field) in MALFORMED_DATES
        .into_iter()
        .zip(["departedFrom", "departedTo"])
    {
        // Act
        let (_, message) =
            single_error(&app, query, serde_json::from_str(variables).expect("JSON")).await;

        // Assert: with two dates in a filter, the client must learn which
        // one is wrong, as it does for an unknown enum value ("filter.mode").
        assert!(
            message.contains(field),
            "the message should name the argument {field}: {message:?}"
        );
    }
}

#[actix_web::test]
async fn unknown_enum_values_are_refused_and_the_message_names_the_argument() {
    // Arrange
    let app = spawn_app().await;
    let cases = [
        (
            "{ shipments(orderBy: {field: PRICE, direction: ASC}) { totalCount } }",
            r#"Invalid value for argument "orderBy.field", enumeration type "ShipmentOrderField" does not contain the value "PRICE""#,
        ),
        (
            "{ shipments(orderBy: {field: QUANTITY, direction: UP}) { totalCount } }",
            r#"Invalid value for argument "orderBy.direction", enumeration type "OrderDirection" does not contain the value "UP""#,
        ),
        (
            "{ shipments(filter: {mode: BOAT}) { totalCount } }",
            r#"Invalid value for argument "filter.mode", enumeration type "TransportMode" does not contain the value "BOAT""#,
        ),
        (
            "{ hubs(kind: AIRPORT) { totalCount } }",
            r#"Invalid value for argument "kind", enumeration type "HubKind" does not contain the value "AIRPORT""#,
        ),
        (
            "{ tradePartners(kind: CITY) { totalCount } }",
            r#"Invalid value for argument "kind", enumeration type "PartnerKind" does not contain the value "CITY""#,
        ),
        (
            "{ provinces(orderBy: {field: POPULATION, direction: DESC}) { totalCount } }",
            r#"Invalid value for argument "orderBy.field", enumeration type "ProvinceOrderField" does not contain the value "POPULATION""#,
        ),
        (
            "{ freightRoutes(mode: TELEPORT) { totalCount } }",
            r#"Invalid value for argument "mode", enumeration type "TransportMode" does not contain the value "TELEPORT""#,
        ),
    ];

    for (query, message) in cases {
        // Act
        let errors = app.errors(query, json!({})).await;

        // Assert
        assert_eq!(
            errors,
            vec![("GRAPHQL_VALIDATION_FAILED".to_owned(), message.to_owned())],
            "{query}"
        );
    }
}

// ---------------------------------------------------------------------------
// What an error response holds, and that the server carries on.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_failing_list_has_no_data_and_says_where_it_failed() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let body = app
        .graphql("{ shipments(first: 500) { totalCount } }", json!({}))
        .await;

    // Assert: the list is non-null, so its failure nulls the whole `data`.
    assert_eq!(
        body,
        json!({
            "data": null,
            "errors": [{
                "message": "first must be between 1 and 100, got 500",
                "locations": [{ "line": 1, "column": 3 }],
                "path": ["shipments"],
                "extensions": { "code": "BAD_USER_INPUT" },
            }],
            "extensions": { "cost": { "requested": 2, "limit": 50_000 } },
        })
    );
}

#[actix_web::test]
async fn a_failing_field_is_null_and_its_siblings_still_answer() {
    // Arrange
    let app = spawn_app().await;
    let query = r#"{
  node(id: "nope") { id }
  province(code: "GD") { code }
  failing: province(code: "JS") { shipments(last: 0) { totalCount } }
}"#;

    // Act
    let body = app.graphql(query, json!({})).await;

    // Assert
    // async-graphql leaves out a nullable field whose own resolver failed
    // (`node`) and nulls a nullable parent whose non-null child failed
    // (`failing`); either way no data is given for what failed.
    assert_eq!(body["data"]["node"], Value::Null);
    assert_eq!(body["data"]["province"], json!({ "code": "CN-GD" }));
    assert_eq!(body["data"]["failing"], Value::Null);
    let errors: Vec<(Value, Value, Value)> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| {
            (
                error["path"].clone(),
                error["extensions"]["code"].clone(),
                error["message"].clone(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                json!(["node"]),
                json!(BAD_USER_INPUT),
                json!(r#"malformed id "nope": pass an id that tradegraph returned"#)
            ),
            (
                json!(["failing", "shipments"]),
                json!(BAD_USER_INPUT),
                json!("last must be between 1 and 100, got 0")
            ),
        ]
    );
}

#[actix_web::test]
async fn the_server_answers_normally_after_errors() {
    // Arrange: a run of failing requests of every kind.
    let app = spawn_app().await;
    for query in [
        "{ shipments(first: 500) { totalCount } }",
        r#"{ shipments(after: "!!!") { totalCount } }"#,
        r#"{ node(id: "nope") { id } }"#,
        r#"{ search(text: "") { __typename } }"#,
        r#"{ shipments(filter: {originProvince: "Atlantis"}) { totalCount } }"#,
        r#"{ shipments(filter: {departedFrom: "2025-13-01"}) { totalCount } }"#,
        "{ hubs(kind: AIRPORT) { totalCount } }",
        "{ provinces { ",
    ] {
        let body = app.graphql(query, json!({})).await;
        assert!(body["errors"].is_array(), "{query} should fail: {body:#}");
    }

    // Act
    let data = app
        .data(
            r#"{ provinces(first: 2) { totalCount nodes { code } }
                 shipments(filter: {originProvince: "Jiangsu"}) { totalCount nodes { reference } } }"#,
            json!({}),
        )
        .await;

    // Assert
    assert_eq!(
        data,
        json!({
            "provinces": { "totalCount": 31, "nodes": [{ "code": "CN-AH" }, { "code": "CN-BJ" }] },
            "shipments": {
                "totalCount": 2,
                "nodes": [
                    { "reference": "ENVISION-JIANGYIN-BLADES" },
                    { "reference": "LIANYUNGANG-WIND-TURBINES" },
                ],
            },
        })
    );
}
