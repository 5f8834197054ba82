//! Lists over real HTTP: Relay pagination in both directions across page
//! boundaries, every shipment filter and order, the catalog lists and the
//! connections nested in objects.
//!
//! The four real shipments give exact answers. Synthetic shipments are
//! generated from a fixed seed, but their values are not spelled out here:
//! those tests walk the whole list and check properties exactly instead (each
//! node meets the filter, a filtered list is the unfiltered list with the
//! non-matching shipments left out, `totalCount` is what the walk collected).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{field_of_nodes, spawn_app, spawn_app_with, TestApp};

/// The 31 provinces in the default order: by English name.
const PROVINCES_BY_NAME: [&str; 31] = [
    "CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GS", "CN-GD", "CN-GX", "CN-GZ", "CN-HI", "CN-HE",
    "CN-HL", "CN-HA", "CN-HB", "CN-HN", "CN-NM", "CN-JS", "CN-JX", "CN-JL", "CN-LN", "CN-NX",
    "CN-QH", "CN-SN", "CN-SD", "CN-SH", "CN-SX", "CN-SC", "CN-TJ", "CN-XZ", "CN-XJ", "CN-YN",
    "CN-ZJ",
];

const BYD: &str = "BYD-CHANGZHOU-ZARATE";
const ENVISION: &str = "ENVISION-JIANGYIN-BLADES";
const CER: &str = "CER-2026-FIRST-GBA-MALASZEWICZE";
const LIANYUNGANG: &str = "LIANYUNGANG-WIND-TURBINES";

/// The real shipments in seed-file order, which is the order of their ids
/// (ties in every order are broken by id).
const REAL_SHIPMENTS: [&str; 4] = [BYD, ENVISION, CER, LIANYUNGANG];

/// How many synthetic shipments the synthetic-data tests ask for: enough for
/// three pages of 100 with a short last page.
const N_SYNTHETIC: u64 = 250;

/// Every field a shipment filter or order looks at.
const SHIPMENT_FIELDS: &str = "
fragment ShipmentFields on Shipment {
  reference
  synthetic
  mode
  departedOn
  quantity { value }
  originProvince { code }
  destinationPartner { code }
  route { code }
  shipper { code }
  origin { code }
  destination { code }
}";

const SHIPMENTS: &str = "
query ($filter: ShipmentFilter, $orderBy: ShipmentOrder,
       $first: Int, $after: String, $last: Int, $before: String) {
  shipments(filter: $filter, orderBy: $orderBy,
            first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...ShipmentFields } }
  }
}";

const PROVINCES: &str = "
query ($orderBy: ProvinceOrder, $first: Int, $after: String, $last: Int, $before: String) {
  provinces(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { code totalTrade { amount } } }
  }
}";

/// The query of the root `shipments` list with the fragment it uses.
fn shipments_query() -> String {
    format!("{SHIPMENTS}{SHIPMENT_FIELDS}")
}

/// One page of a connection as the server returned it.
#[derive(Debug)]
struct Page {
    nodes: Vec<Value>,
    cursors: Vec<String>,
    has_next_page: bool,
    has_previous_page: bool,
    total_count: u64,
}

impl Page {
    /// Reads a connection that asked for `totalCount`, `pageInfo` and
    /// `edges { cursor node }`, and checks that the page's start and end
    /// cursors are its first and last edges' cursors.
    #[track_caller]
    fn read(connection: &Value) -> Page {
        let edges = connection["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("a connection with edges: {connection:#}"));
        let cursors: Vec<String> = edges
            .iter()
            .map(|edge| edge["cursor"].as_str().expect("a cursor").to_owned())
            .collect();
        let page_info = &connection["pageInfo"];
        assert_eq!(
            page_info["startCursor"].as_str(),
            cursors.first().map(String::as_str),
            "startCursor is the first edge's cursor"
        );
        assert_eq!(
            page_info["endCursor"].as_str(),
            cursors.last().map(String::as_str),
            "endCursor is the last edge's cursor"
        );
        Page {
            nodes: edges.iter().map(|edge| edge["node"].clone()).collect(),
            cursors,
            has_next_page: page_info["hasNextPage"].as_bool().expect("hasNextPage"),
            has_previous_page: page_info["hasPreviousPage"]
                .as_bool()
                .expect("hasPreviousPage"),
            total_count: connection["totalCount"].as_u64().expect("totalCount"),
        }
    }

    /// A text field of every node, in order.
    fn texts(&self, field: &str) -> Vec<String> {
        texts(&self.nodes, field)
    }
}

/// A text field of every node, in order.
fn texts(nodes: &[Value], field: &str) -> Vec<String> {
    nodes
        .iter()
        .map(|node| {
            node[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} in {node:#}"))
                .to_owned()
        })
        .collect()
}

/// Which way a walk follows the cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// `first` and `after` the previous page's end cursor.
    Forward,
    /// `last` and `before` the previous page's start cursor.
    Backward,
}

/// Reads a whole list page by page and returns the pages in list order. The
/// connection is found in `data` at the JSON pointer `at`; `variables` hold
/// everything but the window. Checks on the way that every page but the one
/// at the far end is full, and that the flags say which pages have
/// neighbours.
async fn walk(
    app: &TestApp,
    query: &str,
    at: &str,
    variables: Value,
    way: Way,
    size: usize,
) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    let mut cursor: Option<String> = None;
    // A list of a few hundred items never needs this many pages; the bound
    // turns a server that never says "no more" into a failure, not a hang.
    for _ in 0..1_000 {
        let mut window = variables.clone();
        match way {
            Way::Forward => {
                window["first"] = json!(size);
                window["after"] = json!(cursor);
            }
            Way::Backward => {
                window["last"] = json!(size);
                window["before"] = json!(cursor);
            }
        }
        let data = app.data(query, window).await;
        let connection = data
            .pointer(at)
            .unwrap_or_else(|| panic!("{at} in {data:#}"));
        let page = Page::read(connection);
        let (more, came_from) = match way {
            Way::Forward => (page.has_next_page, page.has_previous_page),
            Way::Backward => (page.has_previous_page, page.has_next_page),
        };
        assert_eq!(
            came_from,
            cursor.is_some(),
            "page {} of a {way:?} walk: the flag towards the pages already read",
            pages.len() + 1
        );
        if more {
            assert_eq!(page.nodes.len(), size, "a page with more beyond is full");
        }
        cursor = match way {
            Way::Forward => page.cursors.last().cloned(),
            Way::Backward => page.cursors.first().cloned(),
        };
        pages.push(page);
        if !more {
            if way == Way::Backward {
                pages.reverse();
            }
            return pages;
        }
    }
    panic!("{at} did not end after 1000 pages");
}

/// The nodes of all pages, in list order.
fn all_nodes(pages: &[Page]) -> Vec<Value> {
    pages.iter().flat_map(|page| page.nodes.clone()).collect()
}

/// Checks that every page of a walk gives the same `totalCount` and that it
/// is the number of nodes the walk collected; returns that number.
#[track_caller]
fn consistent_total(pages: &[Page]) -> u64 {
    let collected = pages
        .iter()
        .map(|page| page.nodes.len() as u64)
        .sum::<u64>();
    for page in pages {
        assert_eq!(page.total_count, collected, "totalCount on every page");
    }
    collected
}

/// A shipment's place in id order: the real ones were seeded first, in file
/// order, then synthetic shipment n got reference `SYN-{n:08}`.
fn ordinal(reference: &str) -> u64 {
    match reference.strip_prefix("SYN-") {
        Some(number) => REAL_SHIPMENTS.len() as u64 + number.parse::<u64>().expect("SYN-n"),
        None => {
            REAL_SHIPMENTS
                .iter()
                .position(|real| *real == reference)
                .unwrap_or_else(|| panic!("unknown reference {reference}")) as u64
                + 1
        }
    }
}

/// A shipment's quantity; every stated quantity is a whole number.
fn quantity(node: &Value) -> Option<u64> {
    node["quantity"]["value"]
        .as_str()
        .map(|value| value.parse().expect("a whole quantity"))
}

/// A shipment's departure date as `YYYY-MM-DD`, which sorts like the date.
fn departed_on(node: &Value) -> Option<String> {
    node["departedOn"].as_str().map(str::to_owned)
}

/// The code of a linked object (`originProvince`, `route`, ...), if any.
fn code_of<'a>(node: &'a Value, link: &str) -> Option<&'a str> {
    node[link]["code"].as_str()
}

/// Sends the root `shipments` query with one page of up to 100 items.
async fn shipment_page(app: &TestApp, filter: Value, order_by: Value) -> Page {
    let variables = json!({ "filter": filter, "orderBy": order_by, "first": 100 });
    let data = app.data(&shipments_query(), variables).await;
    Page::read(&data["shipments"])
}

/// Walks the whole root `shipments` list forwards in pages of `size`.
async fn all_shipments(app: &TestApp, filter: Value, order_by: Value, size: usize) -> Vec<Page> {
    let variables = json!({ "filter": filter, "orderBy": order_by });
    walk(
        app,
        &shipments_query(),
        "/shipments",
        variables,
        Way::Forward,
        size,
    )
    .await
}

/// Owned strings from string slices, for comparing with what a page read.
fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

// ---------------------------------------------------------------------------
// Provinces: pages across boundaries in both directions.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn provinces_page_forwards_in_pages_of_ten() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let pages = walk(&app, PROVINCES, "/provinces", json!({}), Way::Forward, 10).await;

    // Assert
    let codes: Vec<Vec<String>> = pages.iter().map(|page| page.texts("code")).collect();
    let expected: Vec<Vec<String>> = PROVINCES_BY_NAME.chunks(10).map(owned).collect();
    assert_eq!(codes, expected);
    let flags: Vec<(bool, bool)> = pages
        .iter()
        .map(|page| (page.has_previous_page, page.has_next_page))
        .collect();
    assert_eq!(
        flags,
        vec![(false, true), (true, true), (true, true), (true, false)]
    );
    assert_eq!(consistent_total(&pages), 31);
}

#[actix_web::test]
async fn provinces_page_backwards_in_pages_of_ten() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let pages = walk(&app, PROVINCES, "/provinces", json!({}), Way::Backward, 10).await;

    // Assert: backwards, the short page is the first of the list.
    let codes: Vec<Vec<String>> = pages.iter().map(|page| page.texts("code")).collect();
    let expected = vec![
        owned(&PROVINCES_BY_NAME[..1]),
        owned(&PROVINCES_BY_NAME[1..11]),
        owned(&PROVINCES_BY_NAME[11..21]),
        owned(&PROVINCES_BY_NAME[21..]),
    ];
    assert_eq!(codes, expected);
    let flags: Vec<(bool, bool)> = pages
        .iter()
        .map(|page| (page.has_previous_page, page.has_next_page))
        .collect();
    assert_eq!(
        flags,
        vec![(false, true), (true, true), (true, true), (true, false)]
    );
    assert_eq!(consistent_total(&pages), 31);
}

#[actix_web::test]
async fn province_cursors_work_in_either_direction_and_between_two_cursors() {
    // Arrange: the cursors of every province, from one page.
    let app = spawn_app().await;
    let data = app.data(PROVINCES, json!({ "first": 31 })).await;
    let whole = Page::read(&data["provinces"]);
    assert_eq!(whole.texts("code"), owned(&PROVINCES_BY_NAME));
    assert_eq!(
        (
            whole.has_previous_page,
            whole.has_next_page,
            whole.total_count
        ),
        (false, false, 31)
    );
    let cursor = |index: usize| json!(whole.cursors[index]);

    // Act
    let before_a_forward_cursor = app
        .data(PROVINCES, json!({ "last": 3, "before": cursor(10) }))
        .await;
    let after_a_backward_cursor = app
        .data(PROVINCES, json!({ "first": 3, "after": cursor(20) }))
        .await;
    let between = app
        .data(
            PROVINCES,
            json!({ "first": 10, "after": cursor(4), "before": cursor(9) }),
        )
        .await;
    let past_the_end = app
        .data(PROVINCES, json!({ "first": 10, "after": cursor(30) }))
        .await;
    let before_the_start = app
        .data(PROVINCES, json!({ "last": 10, "before": cursor(0) }))
        .await;

    // Assert
    let page = Page::read(&before_a_forward_cursor["provinces"]);
    assert_eq!(page.texts("code"), owned(&PROVINCES_BY_NAME[7..10]));
    assert_eq!(page.cursors, whole.cursors[7..10].to_vec());
    assert_eq!((page.has_previous_page, page.has_next_page), (true, true));

    let page = Page::read(&after_a_backward_cursor["provinces"]);
    assert_eq!(page.texts("code"), owned(&PROVINCES_BY_NAME[21..24]));
    assert_eq!((page.has_previous_page, page.has_next_page), (true, true));

    // The window between two cursors holds four provinces: fewer than asked
    // for, so by the Relay algorithm no next page.
    let page = Page::read(&between["provinces"]);
    assert_eq!(page.texts("code"), owned(&PROVINCES_BY_NAME[5..9]));
    assert_eq!((page.has_previous_page, page.has_next_page), (true, false));
    assert_eq!(page.total_count, 31);

    let page = Page::read(&past_the_end["provinces"]);
    assert_eq!(page.nodes, Vec::<Value>::new());
    assert_eq!(
        past_the_end["provinces"]["pageInfo"],
        json!({ "hasNextPage": false, "hasPreviousPage": true, "startCursor": null, "endCursor": null })
    );
    assert_eq!(page.total_count, 31);

    let page = Page::read(&before_the_start["provinces"]);
    assert_eq!(page.nodes, Vec::<Value>::new());
    assert_eq!((page.has_previous_page, page.has_next_page), (false, true));
    assert_eq!(page.total_count, 31);
}

#[actix_web::test]
async fn provinces_default_to_twenty_by_name() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let data = app.data(PROVINCES, json!({})).await;

    // Assert
    let page = Page::read(&data["provinces"]);
    assert_eq!(page.texts("code"), owned(&PROVINCES_BY_NAME[..20]));
    assert_eq!(
        (page.has_previous_page, page.has_next_page, page.total_count),
        (false, true, 31)
    );
}

#[actix_web::test]
async fn provinces_by_total_trade_put_the_stated_figures_first_either_way() {
    // Arrange
    let app = spawn_app().await;
    let by_trade = |direction: &str| json!({ "orderBy": { "field": "TOTAL_TRADE", "direction": direction }, "first": 31 });
    let unstated: HashSet<&str> = PROVINCES_BY_NAME
        .iter()
        .copied()
        .filter(|code| !["CN-GD", "CN-ZJ"].contains(code))
        .collect();

    // Act
    let descending = app.data(PROVINCES, by_trade("DESC")).await;
    let ascending = app.data(PROVINCES, by_trade("ASC")).await;

    // Assert
    for (data, stated) in [
        (
            &descending,
            [("CN-GD", "9490000000000"), ("CN-ZJ", "5550000000000")],
        ),
        (
            &ascending,
            [("CN-ZJ", "5550000000000"), ("CN-GD", "9490000000000")],
        ),
    ] {
        let page = Page::read(&data["provinces"]);
        assert_eq!(page.total_count, 31);
        let figures: Vec<(String, Value)> = page
            .nodes
            .iter()
            .map(|node| {
                (
                    node["code"].as_str().unwrap_or_default().to_owned(),
                    node["totalTrade"]["amount"].clone(),
                )
            })
            .collect();
        assert_eq!(
            figures[..2].to_vec(),
            stated
                .iter()
                .map(|(code, amount)| ((*code).to_owned(), json!(amount)))
                .collect::<Vec<_>>()
        );
        let rest: HashSet<&str> = figures[2..].iter().map(|(code, _)| code.as_str()).collect();
        assert_eq!(rest, unstated);
        assert_eq!(figures[2..].len(), 29, "no province twice");
        assert!(
            figures[2..].iter().all(|(_, amount)| amount.is_null()),
            "provinces with no figure come after those with one: {figures:?}"
        );
    }
}

#[actix_web::test]
async fn provinces_by_total_trade_page_with_cursors() {
    // Arrange
    let app = spawn_app().await;
    let order = json!({ "field": "TOTAL_TRADE", "direction": "DESC" });

    // Act
    let pages = walk(
        &app,
        PROVINCES,
        "/provinces",
        json!({ "orderBy": order }),
        Way::Forward,
        1,
    )
    .await;
    let backwards = walk(
        &app,
        PROVINCES,
        "/provinces",
        json!({ "orderBy": order }),
        Way::Backward,
        7,
    )
    .await;

    // Assert
    let codes: Vec<String> = all_nodes(&pages)
        .iter()
        .map(|node| node["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes[..2], owned(&["CN-GD", "CN-ZJ"]));
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 31);
    assert_eq!(consistent_total(&pages), 31);
    assert_eq!(texts(&all_nodes(&backwards), "code"), codes);
    assert_eq!(consistent_total(&backwards), 31);
}

// ---------------------------------------------------------------------------
// Shipments: whole walks over synthetic data.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn shipments_walk_forwards_covers_every_shipment_once() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;

    // Act
    let pages = all_shipments(&app, Value::Null, Value::Null, 100).await;

    // Assert
    let references = texts(&all_nodes(&pages), "reference");
    assert_eq!(
        pages
            .iter()
            .map(|page| page.nodes.len())
            .collect::<Vec<_>>(),
        vec![100, 100, 54]
    );
    assert_eq!(consistent_total(&pages), 254);
    let unique: HashSet<&String> = references.iter().collect();
    assert_eq!(unique.len(), references.len(), "no shipment twice");
    let expected: HashSet<String> = REAL_SHIPMENTS
        .iter()
        .map(|reference| (*reference).to_owned())
        .chain((1..=N_SYNTHETIC).map(|n| format!("SYN-{n:08}")))
        .collect();
    assert_eq!(unique, expected.iter().collect());
    // The real shipments have no departure date, and undated shipments come
    // first in ascending order.
    assert_eq!(references[..4], owned(&REAL_SHIPMENTS));
}

#[actix_web::test]
async fn shipments_walk_backwards_gives_the_same_list() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let forwards = all_shipments(&app, Value::Null, Value::Null, 100).await;

    // Act
    let backwards = walk(
        &app,
        &shipments_query(),
        "/shipments",
        json!({}),
        Way::Backward,
        100,
    )
    .await;

    // Assert
    assert_eq!(
        backwards
            .iter()
            .map(|page| page.nodes.len())
            .collect::<Vec<_>>(),
        vec![54, 100, 100]
    );
    assert_eq!(consistent_total(&backwards), 254);
    assert_eq!(
        texts(&all_nodes(&backwards), "reference"),
        texts(&all_nodes(&forwards), "reference")
    );
}

#[actix_web::test]
async fn shipments_by_default_are_ordered_by_departure_then_id() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;

    // Act
    let nodes = all_nodes(&all_shipments(&app, Value::Null, Value::Null, 100).await);

    // Assert
    let mut expected = nodes.clone();
    expected.sort_by_key(|node| {
        (
            departed_on(node),
            ordinal(node["reference"].as_str().unwrap_or_default()),
        )
    });
    assert_eq!(texts(&nodes, "reference"), texts(&expected, "reference"));
    let dated = nodes
        .iter()
        .filter(|node| departed_on(node).is_some())
        .count();
    assert_eq!(
        dated, N_SYNTHETIC as usize,
        "every synthetic shipment has a date"
    );
}

// ---------------------------------------------------------------------------
// Shipment filters over the real shipments: exact answers.
// ---------------------------------------------------------------------------

/// One row of a filter table: the filter, the references on its first page
/// of up to 100 in the default order, `totalCount`, and the page's
/// `hasPreviousPage` and `hasNextPage`.
type FilterRow = (String, Vec<String>, u64, bool, bool);

/// Sends each filter and compares the whole table of answers with the
/// expected one (every list fits on one page), showing only the rows that
/// differ, so one run names every filter that went wrong.
async fn check_filters(app: &TestApp, cases: &[(Value, &[&str])]) {
    let mut actual: Vec<FilterRow> = Vec::new();
    let mut expected: Vec<FilterRow> = Vec::new();
    for (filter, references) in cases {
        let page = shipment_page(app, filter.clone(), Value::Null).await;
        actual.push((
            filter.to_string(),
            page.texts("reference"),
            page.total_count,
            page.has_previous_page,
            page.has_next_page,
        ));
        expected.push((
            filter.to_string(),
            owned(references),
            references.len() as u64,
            false,
            false,
        ));
    }
    assert_eq!(differences(&actual, &expected), Vec::new());
}

/// The rows of two equally long tables that differ, as (actual, expected).
#[track_caller]
fn differences<T: PartialEq + Clone>(actual: &[T], expected: &[T]) -> Vec<(T, T)> {
    assert_eq!(actual.len(), expected.len(), "tables of the same length");
    actual
        .iter()
        .zip(expected)
        .filter(|(actual, expected)| actual != expected)
        .map(|(actual, expected)| (actual.clone(), expected.clone()))
        .collect()
}

#[actix_web::test]
async fn shipments_filter_by_origin_province_in_every_spelling() {
    // Arrange
    let app = spawn_app().await;
    let jiangsu: &[&str] = &[ENVISION, LIANYUNGANG];
    let cases: [(Value, &[&str]); 9] = [
        (json!({ "originProvince": "CN-JS" }), jiangsu),
        (json!({ "originProvince": "cn-js" }), jiangsu),
        (json!({ "originProvince": "JS" }), jiangsu),
        (json!({ "originProvince": "js" }), jiangsu),
        (json!({ "originProvince": "Jiangsu" }), jiangsu),
        (json!({ "originProvince": "jiangsu" }), jiangsu),
        (json!({ "originProvince": "江苏" }), jiangsu),
        // The Greater Bay Area spans several provinces, so the train that
        // left it is not a Guangdong shipment.
        (json!({ "originProvince": "Guangdong" }), &[]),
        (json!({ "originProvince": "CN-ZJ" }), &[]),
    ];

    // Act and assert
    check_filters(&app, &cases).await;
}

#[actix_web::test]
async fn shipments_filter_by_each_field() {
    // Arrange
    let app = spawn_app().await;
    let cases: [(Value, &[&str]); 22] = [
        (json!({}), &REAL_SHIPMENTS),
        (json!({ "destinationPartner": "AR" }), &[BYD]),
        (json!({ "destinationPartner": "pl" }), &[CER]),
        // Membership does not widen a partner: Poland's train is not an EU shipment.
        (json!({ "destinationPartner": "EU" }), &[]),
        // A well-formed code nothing has matches nothing.
        (json!({ "destinationPartner": "ZZ" }), &[]),
        (json!({ "route": "CER-GBA-MALASZEWICZE" }), &[CER]),
        (json!({ "route": "cer-gba-malaszewicze" }), &[CER]),
        (json!({ "route": "YIWU-XINJIANG-EUROPE" }), &[]),
        (json!({ "shipper": "BYD" }), &[BYD]),
        (json!({ "shipper": "envision" }), &[ENVISION]),
        // The text names no shipper for the train that carried TCL's goods.
        (json!({ "shipper": "TCL" }), &[]),
        // A hub matches shipments that leave from it or reach it.
        (json!({ "hub": "PORT-ZARATE" }), &[BYD]),
        (json!({ "hub": "jiangyin-cbz" }), &[ENVISION]),
        (json!({ "hub": "GBA" }), &[CER]),
        (json!({ "hub": "MALASZEWICZE" }), &[CER]),
        (json!({ "hub": "PORT-LIANYUNGANG" }), &[LIANYUNGANG]),
        (json!({ "hub": "PORT-GUANGZHOU" }), &[]),
        (json!({ "mode": "SEA" }), &[BYD, LIANYUNGANG]),
        (json!({ "mode": "RAIL" }), &[CER]),
        (json!({ "mode": "AIR" }), &[]),
        (json!({ "synthetic": false }), &REAL_SHIPMENTS),
        (json!({ "synthetic": true }), &[]),
    ];

    // Act and assert
    check_filters(&app, &cases).await;
}

#[actix_web::test]
async fn shipments_with_no_departure_date_never_meet_a_date_range() {
    // Arrange: the real shipments state no dates.
    let app = spawn_app().await;
    let cases: [(Value, &[&str]); 5] = [
        (json!({ "departedFrom": "2025-01-01" }), &[]),
        (json!({ "departedTo": "2030-12-31" }), &[]),
        (
            json!({ "departedFrom": "2000-01-01", "departedTo": "2030-12-31" }),
            &[],
        ),
        (
            json!({ "departedFrom": "2025-06-01", "departedTo": "2025-06-01" }),
            &[],
        ),
        (json!({ "departedFrom": "2000-01-01", "mode": "SEA" }), &[]),
    ];

    // Act and assert
    check_filters(&app, &cases).await;
}

#[actix_web::test]
async fn shipments_combined_filters_must_all_hold() {
    // Arrange
    let app = spawn_app().await;
    let cases: [(Value, &[&str]); 8] = [
        (
            json!({ "originProvince": "js", "mode": "SEA" }),
            &[LIANYUNGANG],
        ),
        (
            json!({ "originProvince": "Jiangsu", "shipper": "ENVISION" }),
            &[ENVISION],
        ),
        (
            json!({ "originProvince": "CN-JS", "hub": "JIANGYIN-CBZ" }),
            &[ENVISION],
        ),
        (
            json!({ "hub": "GBA", "route": "CER-GBA-MALASZEWICZE", "mode": "RAIL" }),
            &[CER],
        ),
        (
            json!({ "destinationPartner": "AR", "shipper": "BYD", "mode": "SEA", "synthetic": false }),
            &[BYD],
        ),
        (json!({ "shipper": "BYD", "mode": "RAIL" }), &[]),
        (
            json!({ "originProvince": "JS", "destinationPartner": "AR" }),
            &[],
        ),
        (
            json!({ "mode": "SEA", "synthetic": false }),
            &[BYD, LIANYUNGANG],
        ),
    ];

    // Act and assert
    check_filters(&app, &cases).await;
}

#[actix_web::test]
async fn real_shipments_are_found_exactly_among_synthetic_ones() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let cases: [(Value, &[&str]); 7] = [
        (json!({ "synthetic": false }), &REAL_SHIPMENTS),
        (
            json!({ "synthetic": false, "originProvince": "Jiangsu" }),
            &[ENVISION, LIANYUNGANG],
        ),
        (
            json!({ "synthetic": false, "mode": "SEA" }),
            &[BYD, LIANYUNGANG],
        ),
        (json!({ "synthetic": false, "hub": "GBA" }), &[CER]),
        (json!({ "synthetic": false, "shipper": "TCL" }), &[]),
        (
            json!({ "synthetic": false, "destinationPartner": "AR" }),
            &[BYD],
        ),
        (
            json!({ "synthetic": false, "departedFrom": "2025-01-01" }),
            &[],
        ),
    ];

    // Act and assert
    check_filters(&app, &cases).await;
}

// ---------------------------------------------------------------------------
// Shipment filters over synthetic data: consistency, exactly.
// ---------------------------------------------------------------------------

/// A filter and the condition it states, checked on a node's fields.
type FilterCase = (Value, Box<dyn Fn(&Value) -> bool>);

/// Every filter field alone, a date range in each form, and filters that
/// combine fields (which read one index and check the rest on each record).
fn synthetic_filter_cases() -> Vec<FilterCase> {
    vec![
        (
            json!({ "originProvince": "js" }),
            Box::new(|node: &Value| code_of(node, "originProvince") == Some("CN-JS")),
        ),
        (
            json!({ "originProvince": "Zhejiang" }),
            Box::new(|node: &Value| code_of(node, "originProvince") == Some("CN-ZJ")),
        ),
        (
            json!({ "destinationPartner": "pl" }),
            Box::new(|node: &Value| code_of(node, "destinationPartner") == Some("PL")),
        ),
        (
            json!({ "route": "YIWU-XINJIANG-EUROPE" }),
            Box::new(|node: &Value| code_of(node, "route") == Some("YIWU-XINJIANG-EUROPE")),
        ),
        (
            json!({ "shipper": "BYD" }),
            Box::new(|node: &Value| code_of(node, "shipper") == Some("BYD")),
        ),
        (
            json!({ "hub": "PORT-ZARATE" }),
            Box::new(|node: &Value| {
                code_of(node, "origin") == Some("PORT-ZARATE")
                    || code_of(node, "destination") == Some("PORT-ZARATE")
            }),
        ),
        (
            json!({ "hub": "YIWU-MARKET" }),
            Box::new(|node: &Value| {
                code_of(node, "origin") == Some("YIWU-MARKET")
                    || code_of(node, "destination") == Some("YIWU-MARKET")
            }),
        ),
        (
            json!({ "mode": "AIR" }),
            Box::new(|node: &Value| node["mode"] == "AIR"),
        ),
        (
            json!({ "synthetic": true }),
            Box::new(|node: &Value| node["synthetic"] == true),
        ),
        (
            json!({ "synthetic": false }),
            Box::new(|node: &Value| node["synthetic"] == false),
        ),
        (
            json!({ "departedFrom": "2025-03-01", "departedTo": "2025-05-31" }),
            Box::new(|node: &Value| {
                departed_on(node)
                    .is_some_and(|day| ("2025-03-01"..="2025-05-31").contains(&day.as_str()))
            }),
        ),
        (
            json!({ "departedFrom": "2025-11-15" }),
            Box::new(|node: &Value| {
                departed_on(node).is_some_and(|day| day.as_str() >= "2025-11-15")
            }),
        ),
        (
            json!({ "departedTo": "2025-01-31" }),
            Box::new(|node: &Value| {
                departed_on(node).is_some_and(|day| day.as_str() <= "2025-01-31")
            }),
        ),
        (
            json!({ "originProvince": "CN-JS", "mode": "SEA" }),
            Box::new(|node: &Value| {
                code_of(node, "originProvince") == Some("CN-JS") && node["mode"] == "SEA"
            }),
        ),
        (
            json!({ "shipper": "TCL", "synthetic": true, "departedFrom": "2025-07-01" }),
            Box::new(|node: &Value| {
                code_of(node, "shipper") == Some("TCL")
                    && node["synthetic"] == true
                    && departed_on(node).is_some_and(|day| day.as_str() >= "2025-07-01")
            }),
        ),
        (
            json!({ "route": "CER-GBA-MALASZEWICZE", "hub": "GBA", "destinationPartner": "PL" }),
            Box::new(|node: &Value| {
                code_of(node, "route") == Some("CER-GBA-MALASZEWICZE")
                    && (code_of(node, "origin") == Some("GBA")
                        || code_of(node, "destination") == Some("GBA"))
                    && code_of(node, "destinationPartner") == Some("PL")
            }),
        ),
    ]
}

/// What a walk over a filtered list found, reduced to what a filter test
/// compares: the filter, how many shipments the walk collected, the
/// references of those that break the filter, whether the walk gave exactly
/// the expected references in order, and `totalCount` on each page.
type WalkRow = (String, usize, Vec<String>, bool, Vec<u64>);

#[actix_web::test]
async fn synthetic_shipment_filters_keep_exactly_the_matching_shipments() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let everything = all_nodes(&all_shipments(&app, Value::Null, Value::Null, 100).await);
    let mut actual: Vec<WalkRow> = Vec::new();
    let mut expected: Vec<WalkRow> = Vec::new();

    for (filter, holds) in synthetic_filter_cases() {
        // Act: pages of 7 put several page boundaries into every list.
        let pages = all_shipments(&app, filter.clone(), Value::Null, 7).await;

        // Assert (below, for all filters at once): the filtered list is the
        // unfiltered one less the shipments that do not match, and
        // `totalCount` is its length on every page.
        let nodes = all_nodes(&pages);
        let matching: Vec<Value> = everything
            .iter()
            .filter(|node| holds(node))
            .cloned()
            .collect();
        assert!(
            !matching.is_empty(),
            "filter {filter} should match some of the data"
        );
        let strays = nodes
            .iter()
            .filter(|node| !holds(node))
            .map(|node| node["reference"].as_str().unwrap_or_default().to_owned())
            .collect();
        actual.push((
            filter.to_string(),
            nodes.len(),
            strays,
            texts(&nodes, "reference") == texts(&matching, "reference"),
            pages.iter().map(|page| page.total_count).collect(),
        ));
        expected.push((
            filter.to_string(),
            matching.len(),
            Vec::new(),
            true,
            vec![matching.len() as u64; pages.len()],
        ));
    }
    assert_eq!(differences(&actual, &expected), Vec::new());
}

#[actix_web::test]
async fn synthetic_shipment_filters_walk_backwards_to_the_same_list() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let query = shipments_query();
    let mut actual: Vec<WalkRow> = Vec::new();
    let mut expected: Vec<WalkRow> = Vec::new();

    for (filter, holds) in synthetic_filter_cases() {
        let forwards = all_nodes(&all_shipments(&app, filter.clone(), Value::Null, 9).await);

        // Act
        let pages = walk(
            &app,
            &query,
            "/shipments",
            json!({ "filter": filter }),
            Way::Backward,
            9,
        )
        .await;

        // Assert (below, for all filters at once)
        let nodes = all_nodes(&pages);
        let strays = nodes
            .iter()
            .filter(|node| !holds(node))
            .map(|node| node["reference"].as_str().unwrap_or_default().to_owned())
            .collect();
        actual.push((
            filter.to_string(),
            nodes.len(),
            strays,
            texts(&nodes, "reference") == texts(&forwards, "reference"),
            pages.iter().map(|page| page.total_count).collect(),
        ));
        expected.push((
            filter.to_string(),
            forwards.len(),
            Vec::new(),
            true,
            vec![forwards.len() as u64; pages.len()],
        ));
    }
    assert_eq!(differences(&actual, &expected), Vec::new());
}

// ---------------------------------------------------------------------------
// Shipment orders.
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn real_shipments_by_quantity_put_the_uncounted_one_first_ascending() {
    // Arrange
    let app = spawn_app().await;
    let order = |direction: &str| json!({ "field": "QUANTITY", "direction": direction });

    // Act
    let ascending = shipment_page(&app, Value::Null, order("ASC")).await;
    let descending = shipment_page(&app, Value::Null, order("DESC")).await;

    // Assert
    assert_eq!(
        ascending.texts("reference"),
        owned(&[LIANYUNGANG, ENVISION, CER, BYD])
    );
    assert_eq!(
        field_of_nodes(&json!({ "nodes": ascending.nodes }), "quantity"),
        vec![
            Value::Null,
            json!({ "value": "36" }),
            json!({ "value": "110" }),
            json!({ "value": "5800" })
        ]
    );
    assert_eq!(
        descending.texts("reference"),
        owned(&[BYD, CER, ENVISION, LIANYUNGANG])
    );
    assert_eq!((ascending.total_count, descending.total_count), (4, 4));
}

#[actix_web::test]
async fn real_shipments_by_departure_fall_back_to_id_order() {
    // Arrange
    let app = spawn_app().await;
    let order = |direction: &str| json!({ "field": "DEPARTED_ON", "direction": direction });

    // Act
    let ascending = shipment_page(&app, Value::Null, order("ASC")).await;
    let descending = shipment_page(&app, Value::Null, order("DESC")).await;

    // Assert: no real shipment states a date, so the id decides, and a
    // descending list is the ascending one reversed.
    assert_eq!(ascending.texts("reference"), owned(&REAL_SHIPMENTS));
    assert_eq!(
        descending.texts("reference"),
        owned(&[LIANYUNGANG, CER, ENVISION, BYD])
    );
}

#[actix_web::test]
async fn real_shipments_by_quantity_page_across_boundaries() {
    // Arrange
    let app = spawn_app().await;
    let variables = json!({ "orderBy": { "field": "QUANTITY", "direction": "DESC" } });

    // Act
    let forwards = walk(
        &app,
        &shipments_query(),
        "/shipments",
        variables.clone(),
        Way::Forward,
        3,
    )
    .await;
    let backwards = walk(
        &app,
        &shipments_query(),
        "/shipments",
        variables,
        Way::Backward,
        3,
    )
    .await;

    // Assert
    let pages = |walked: &[Page]| {
        walked
            .iter()
            .map(|page| page.texts("reference"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pages(&forwards),
        vec![owned(&[BYD, CER, ENVISION]), owned(&[LIANYUNGANG])]
    );
    assert_eq!(
        pages(&backwards),
        vec![owned(&[BYD]), owned(&[CER, ENVISION, LIANYUNGANG])]
    );
    assert_eq!(
        (consistent_total(&forwards), consistent_total(&backwards)),
        (4, 4)
    );
}

#[actix_web::test]
async fn synthetic_shipments_sort_by_quantity_and_departure_in_both_directions() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let order = |field: &str, direction: &str| json!({ "field": field, "direction": direction });

    // Act
    let by_quantity =
        all_nodes(&all_shipments(&app, Value::Null, order("QUANTITY", "ASC"), 100).await);
    let by_quantity_desc =
        all_nodes(&all_shipments(&app, Value::Null, order("QUANTITY", "DESC"), 100).await);
    let by_departure =
        all_nodes(&all_shipments(&app, Value::Null, order("DEPARTED_ON", "ASC"), 100).await);
    let by_departure_desc =
        all_nodes(&all_shipments(&app, Value::Null, order("DEPARTED_ON", "DESC"), 100).await);

    // Assert: ascending is by the field, then by id; descending is the
    // exact reverse.
    let reference = |node: &Value| ordinal(node["reference"].as_str().unwrap_or_default());
    let mut expected = by_quantity.clone();
    expected.sort_by_key(|node| (quantity(node), reference(node)));
    assert_eq!(
        texts(&by_quantity, "reference"),
        texts(&expected, "reference")
    );
    assert_eq!(by_quantity.len(), 254);
    assert_eq!(
        by_quantity[0]["reference"], LIANYUNGANG,
        "the one shipment with no quantity comes first"
    );

    let mut reversed = texts(&by_quantity, "reference");
    reversed.reverse();
    assert_eq!(texts(&by_quantity_desc, "reference"), reversed);
    let quantities: Vec<Option<u64>> = by_quantity_desc.iter().map(quantity).collect();
    assert!(
        quantities.windows(2).all(|pair| pair[0] >= pair[1]),
        "descending quantities"
    );

    let mut expected = by_departure.clone();
    expected.sort_by_key(|node| (departed_on(node), reference(node)));
    assert_eq!(
        texts(&by_departure, "reference"),
        texts(&expected, "reference")
    );
    let mut reversed = texts(&by_departure, "reference");
    reversed.reverse();
    assert_eq!(texts(&by_departure_desc, "reference"), reversed);
    let days: Vec<Option<String>> = by_departure_desc.iter().map(departed_on).collect();
    assert!(
        days.windows(2).all(|pair| pair[0] >= pair[1]),
        "descending dates"
    );
}

#[actix_web::test]
async fn a_filtered_list_keeps_its_order() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let filter = json!({ "mode": "SEA", "departedFrom": "2025-04-01" });
    let order = json!({ "field": "QUANTITY", "direction": "DESC" });
    let everything = all_nodes(&all_shipments(&app, Value::Null, order.clone(), 100).await);

    // Act
    let pages = all_shipments(&app, filter, order, 10).await;

    // Assert
    let expected: Vec<Value> = everything
        .into_iter()
        .filter(|node| {
            node["mode"] == "SEA"
                && departed_on(node).is_some_and(|day| day.as_str() >= "2025-04-01")
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        texts(&all_nodes(&pages), "reference"),
        texts(&expected, "reference")
    );
    assert_eq!(consistent_total(&pages), expected.len() as u64);
}

// ---------------------------------------------------------------------------
// Catalog lists.
// ---------------------------------------------------------------------------

/// Checks the codes and `totalCount` of a catalog list's first page.
async fn check_codes(app: &TestApp, query: &str, at: &str, expected: &[&str]) {
    let data = app.data(query, json!({})).await;
    let connection = data
        .pointer(at)
        .unwrap_or_else(|| panic!("{at} in {data:#}"));
    assert_eq!(
        (
            field_of_nodes(connection, "code"),
            connection["totalCount"].clone()
        ),
        (
            expected.iter().map(|code| json!(code)).collect::<Vec<_>>(),
            json!(expected.len())
        ),
        "{query}"
    );
}

#[actix_web::test]
async fn catalog_lists_are_by_code_and_filter_by_kind() {
    // Arrange
    let app = spawn_app().await;
    let cases: [(&str, &str, &[&str]); 12] = [
        (
            "{ tradePartners { totalCount nodes { code } } }",
            "/tradePartners",
            &["AR", "ASEAN", "BRI", "CENTRAL-ASIA", "EU", "EUROPE", "PL"],
        ),
        (
            "{ tradePartners(kind: BLOC) { totalCount nodes { code } } }",
            "/tradePartners",
            &["ASEAN", "EU"],
        ),
        (
            "{ tradePartners(kind: COUNTRY) { totalCount nodes { code } } }",
            "/tradePartners",
            &["AR", "PL"],
        ),
        (
            "{ tradePartners(kind: REGION) { totalCount nodes { code } } }",
            "/tradePartners",
            &["CENTRAL-ASIA", "EUROPE"],
        ),
        (
            "{ tradePartners(kind: GROUPING) { totalCount nodes { code } } }",
            "/tradePartners",
            &["BRI"],
        ),
        (
            "{ hubs { totalCount nodes { code } } }",
            "/hubs",
            &[
                "GBA",
                "JIANGYIN-CBZ",
                "MALASZEWICZE",
                "PORT-GUANGZHOU",
                "PORT-LIANYUNGANG",
                "PORT-ZARATE",
                "SUZHOU-CBEC-PLATFORM",
                "TCL-ZYRARDOW",
                "YIWU-GDTC",
                "YIWU-MARKET",
            ],
        ),
        (
            "{ hubs(kind: SEAPORT) { totalCount nodes { code } } }",
            "/hubs",
            &["PORT-GUANGZHOU", "PORT-LIANYUNGANG", "PORT-ZARATE"],
        ),
        (
            "{ hubs(kind: MARKET) { totalCount nodes { code } } }",
            "/hubs",
            &["YIWU-GDTC", "YIWU-MARKET"],
        ),
        (
            "{ freightRoutes(mode: RAIL) { totalCount nodes { code } } }",
            "/freightRoutes",
            &["CER-GBA-MALASZEWICZE", "YIWU-XINJIANG-EUROPE"],
        ),
        (
            "{ freightRoutes(mode: SEA) { totalCount nodes { code } } }",
            "/freightRoutes",
            &[],
        ),
        (
            "{ freightRoutes { totalCount nodes { code } } }",
            "/freightRoutes",
            &["CER-GBA-MALASZEWICZE", "YIWU-XINJIANG-EUROPE"],
        ),
        (
            "{ companies { totalCount nodes { code } } }",
            "/companies",
            &["BYD", "ENVISION", "TCL"],
        ),
    ];

    // Act and assert
    for (query, at, expected) in cases {
        check_codes(&app, query, at, expected).await;
    }
}

#[actix_web::test]
async fn catalog_lists_page_with_cursors() {
    // Arrange
    let app = spawn_app().await;
    let lists = [
        (
            "query ($first: Int, $after: String, $last: Int, $before: String) {
               companies(first: $first, after: $after, last: $last, before: $before) {
                 totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
                 edges { cursor node { code } } } }",
            "/companies",
            vec!["BYD", "ENVISION", "TCL"],
        ),
        (
            "query ($first: Int, $after: String, $last: Int, $before: String) {
               tradePartners(first: $first, after: $after, last: $last, before: $before) {
                 totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
                 edges { cursor node { code } } } }",
            "/tradePartners",
            vec!["AR", "ASEAN", "BRI", "CENTRAL-ASIA", "EU", "EUROPE", "PL"],
        ),
        (
            "query ($first: Int, $after: String, $last: Int, $before: String) {
               hubs(kind: SEAPORT, first: $first, after: $after, last: $last, before: $before) {
                 totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
                 edges { cursor node { code } } } }",
            "/hubs",
            vec!["PORT-GUANGZHOU", "PORT-LIANYUNGANG", "PORT-ZARATE"],
        ),
        (
            "query ($first: Int, $after: String, $last: Int, $before: String) {
               freightRoutes(mode: RAIL, first: $first, after: $after, last: $last, before: $before) {
                 totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
                 edges { cursor node { code } } } }",
            "/freightRoutes",
            vec!["CER-GBA-MALASZEWICZE", "YIWU-XINJIANG-EUROPE"],
        ),
    ];

    for (query, at, expected) in lists {
        // Act
        let forwards = walk(&app, query, at, json!({}), Way::Forward, 2).await;
        let backwards = walk(&app, query, at, json!({}), Way::Backward, 2).await;

        // Assert
        let pages = |walked: &[Page]| {
            walked
                .iter()
                .map(|page| page.texts("code"))
                .collect::<Vec<_>>()
        };
        let forward_pages: Vec<Vec<String>> = expected.chunks(2).map(owned).collect();
        let mut backward_pages: Vec<Vec<String>> = expected.rchunks(2).map(owned).collect();
        backward_pages.reverse();
        assert_eq!(pages(&forwards), forward_pages, "{at} forwards");
        assert_eq!(pages(&backwards), backward_pages, "{at} backwards");
        assert_eq!(consistent_total(&forwards), expected.len() as u64);
        assert_eq!(consistent_total(&backwards), expected.len() as u64);
    }
}

// ---------------------------------------------------------------------------
// Connections nested in objects.
// ---------------------------------------------------------------------------

/// The references and `totalCount` of the `shipments` connection at `at`.
fn nested_references(data: &Value, at: &str) -> (Vec<String>, u64) {
    let connection = data
        .pointer(at)
        .unwrap_or_else(|| panic!("{at} in {data:#}"));
    let references = field_of_nodes(connection, "reference")
        .iter()
        .map(|reference| reference.as_str().unwrap_or_default().to_owned())
        .collect();
    (
        references,
        connection["totalCount"].as_u64().expect("totalCount"),
    )
}

#[actix_web::test]
async fn objects_list_their_shipments() {
    // Arrange
    let app = spawn_app().await;
    let shipments = "shipments { totalCount nodes { reference } }";
    let query = format!(
        "{{
          jiangsu: province(code: \"Jiangsu\") {{ {shipments} }}
          guangdong: province(code: \"CN-GD\") {{ {shipments} }}
          argentina: tradePartner(code: \"AR\") {{ {shipments} }}
          poland: tradePartner(code: \"PL\") {{ {shipments} }}
          eu: tradePartner(code: \"EU\") {{ {shipments} }}
          zarate: hub(code: \"PORT-ZARATE\") {{ {shipments} }}
          gba: hub(code: \"GBA\") {{ {shipments} }}
          malaszewicze: hub(code: \"MALASZEWICZE\") {{ {shipments} }}
          jiangyin: hub(code: \"JIANGYIN-CBZ\") {{ {shipments} }}
          guangzhou: hub(code: \"PORT-GUANGZHOU\") {{ {shipments} }}
          byd: company(code: \"BYD\") {{ {shipments} }}
          envision: company(code: \"ENVISION\") {{ {shipments} }}
          tcl: company(code: \"tcl\") {{ {shipments} }}
          train: freightRoute(code: \"CER-GBA-MALASZEWICZE\") {{ {shipments} }}
          yiwu: freightRoute(code: \"YIWU-XINJIANG-EUROPE\") {{ {shipments} }}
        }}"
    );

    // Act
    let data = app.data(&query, json!({})).await;

    // Assert
    let cases: [(&str, &[&str]); 15] = [
        ("/jiangsu/shipments", &[ENVISION, LIANYUNGANG]),
        ("/guangdong/shipments", &[]),
        ("/argentina/shipments", &[BYD]),
        ("/poland/shipments", &[CER]),
        ("/eu/shipments", &[]),
        ("/zarate/shipments", &[BYD]),
        ("/gba/shipments", &[CER]),
        ("/malaszewicze/shipments", &[CER]),
        ("/jiangyin/shipments", &[ENVISION]),
        ("/guangzhou/shipments", &[]),
        ("/byd/shipments", &[BYD]),
        ("/envision/shipments", &[ENVISION]),
        ("/tcl/shipments", &[]),
        ("/train/shipments", &[CER]),
        ("/yiwu/shipments", &[]),
    ];
    for (at, expected) in cases {
        assert_eq!(
            nested_references(&data, at),
            (owned(expected), expected.len() as u64),
            "{at}"
        );
    }
}

#[actix_web::test]
async fn nested_shipments_take_filters_orders_and_pages() {
    // Arrange
    let app = spawn_app().await;
    let query = r#"{
      sea: province(code: "JS") { shipments(filter: {mode: SEA}) { totalCount nodes { reference } } }
      same: province(code: "JS") { shipments(filter: {originProvince: "Jiangsu"}) { totalCount nodes { reference } } }
      other: province(code: "JS") { shipments(filter: {originProvince: "GD"}) { totalCount nodes { reference } } }
      otherPartner: tradePartner(code: "AR") { shipments(filter: {destinationPartner: "PL"}) { totalCount nodes { reference } } }
      byQuantity: province(code: "JS") {
        shipments(orderBy: {field: QUANTITY, direction: DESC}) { totalCount nodes { reference } }
      }
      firstOne: province(code: "JS") {
        shipments(first: 1) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { reference } }
      }
      lastOne: province(code: "JS") {
        shipments(last: 1) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { reference } }
      }
    }"#;

    // Act
    let data = app.data(query, json!({})).await;

    // Assert
    let cases: [(&str, &[&str]); 7] = [
        ("/sea/shipments", &[LIANYUNGANG]),
        ("/same/shipments", &[ENVISION, LIANYUNGANG]),
        // A filter that contradicts the parent matches nothing.
        ("/other/shipments", &[]),
        ("/otherPartner/shipments", &[]),
        ("/byQuantity/shipments", &[ENVISION, LIANYUNGANG]),
        ("/firstOne/shipments", &[ENVISION]),
        ("/lastOne/shipments", &[LIANYUNGANG]),
    ];
    for (at, expected) in cases {
        let (references, _) = nested_references(&data, at);
        assert_eq!(references, owned(expected), "{at}");
    }
    let counts: Vec<Value> = [
        "sea",
        "same",
        "other",
        "otherPartner",
        "byQuantity",
        "firstOne",
        "lastOne",
    ]
    .iter()
    .map(|alias| data[alias]["shipments"]["totalCount"].clone())
    .collect();
    assert_eq!(
        counts,
        vec![
            json!(1),
            json!(2),
            json!(0),
            json!(0),
            json!(2),
            json!(2),
            json!(2)
        ]
    );
    assert_eq!(
        data["firstOne"]["shipments"]["pageInfo"],
        json!({ "hasNextPage": true, "hasPreviousPage": false })
    );
    assert_eq!(
        data["lastOne"]["shipments"]["pageInfo"],
        json!({ "hasNextPage": false, "hasPreviousPage": true })
    );
}

#[actix_web::test]
async fn nested_shipments_in_a_list_belong_each_to_their_parent() {
    // Arrange
    let app = spawn_app().await;
    let query = "{
      provinces(first: 31) { nodes { code shipments { totalCount nodes { reference } } } }
      hubs(first: 100) { nodes { code shipments { totalCount nodes { reference } } } }
      tradePartners(first: 100) { nodes { code shipments { totalCount nodes { reference } } } }
      companies(first: 100) { nodes { code shipments { totalCount nodes { reference } } } }
    }";

    // Act
    let data = app.data(query, json!({})).await;

    // Assert
    let listed = |list: &str| -> Vec<(String, Vec<String>, u64)> {
        data[list]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|node| {
                let (references, total) = nested_references(node, "/shipments");
                (
                    node["code"].as_str().unwrap_or_default().to_owned(),
                    references,
                    total,
                )
            })
            .filter(|(_, references, total)| !references.is_empty() || *total != 0)
            .collect()
    };
    let entry = |code: &str, references: &[&str]| {
        (code.to_owned(), owned(references), references.len() as u64)
    };
    assert_eq!(
        data["provinces"]["nodes"].as_array().map(Vec::len),
        Some(31)
    );
    assert_eq!(
        listed("provinces"),
        vec![entry("CN-JS", &[ENVISION, LIANYUNGANG])]
    );
    assert_eq!(
        listed("hubs"),
        vec![
            entry("GBA", &[CER]),
            entry("JIANGYIN-CBZ", &[ENVISION]),
            entry("MALASZEWICZE", &[CER]),
            entry("PORT-LIANYUNGANG", &[LIANYUNGANG]),
            entry("PORT-ZARATE", &[BYD]),
        ]
    );
    assert_eq!(
        listed("tradePartners"),
        vec![entry("AR", &[BYD]), entry("PL", &[CER])]
    );
    assert_eq!(
        listed("companies"),
        vec![entry("BYD", &[BYD]), entry("ENVISION", &[ENVISION])]
    );
}

#[actix_web::test]
async fn nested_shipments_over_synthetic_data_equal_the_filtered_root_list() {
    // Arrange
    let app = spawn_app_with(N_SYNTHETIC).await;
    let nested = |parent: &str| {
        format!(
            "query ($code: String!, $first: Int, $after: String, $last: Int, $before: String) {{
               parent: {parent}(code: $code) {{
                 shipments(first: $first, after: $after, last: $last, before: $before) {{
                   totalCount
                   pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                   edges {{ cursor node {{ ...ShipmentFields }} }}
                 }}
               }}
             }}{SHIPMENT_FIELDS}"
        )
    };
    let cases = [
        ("province", "Jiangsu", json!({ "originProvince": "CN-JS" })),
        ("tradePartner", "PL", json!({ "destinationPartner": "PL" })),
        ("hub", "PORT-ZARATE", json!({ "hub": "PORT-ZARATE" })),
        ("company", "TCL", json!({ "shipper": "TCL" })),
        (
            "freightRoute",
            "YIWU-XINJIANG-EUROPE",
            json!({ "route": "YIWU-XINJIANG-EUROPE" }),
        ),
    ];

    for (parent, code, filter) in cases {
        let root = all_nodes(&all_shipments(&app, filter.clone(), Value::Null, 100).await);

        // Act
        let pages = walk(
            &app,
            &nested(parent),
            "/parent/shipments",
            json!({ "code": code }),
            Way::Forward,
            6,
        )
        .await;

        // Assert
        assert!(!root.is_empty(), "{parent} {code} has synthetic shipments");
        assert_eq!(
            texts(&all_nodes(&pages), "reference"),
            texts(&root, "reference"),
            "{parent} {code}"
        );
        assert_eq!(
            consistent_total(&pages),
            root.len() as u64,
            "{parent} {code}"
        );
    }
}

#[actix_web::test]
async fn provinces_and_partners_list_their_trade_flows() {
    // Arrange
    let app = spawn_app().await;
    let flows = "tradeFlows { totalCount nodes { province { code } partner { code } year value { amount currency } growthPercent } }";
    let query = format!(
        "{{
          zhejiang: province(code: \"ZJ\") {{ {flows} }}
          shanghai: province(code: \"Shanghai\") {{ {flows} }}
          guangdong: province(code: \"CN-GD\") {{ {flows} }}
          asean: tradePartner(code: \"ASEAN\") {{ {flows} }}
          bri: tradePartner(code: \"bri\") {{ {flows} }}
          eu: tradePartner(code: \"EU\") {{ {flows} }}
        }}"
    );

    // Act
    let data = app.data(&query, json!({})).await;

    // Assert
    let zhejiang_asean = json!({
        "province": { "code": "CN-ZJ" },
        "partner": { "code": "ASEAN" },
        "year": 2025,
        "value": { "amount": "869070000000", "currency": "CNY" },
        "growthPercent": 16.5,
    });
    let shanghai_bri = json!({
        "province": { "code": "CN-SH" },
        "partner": { "code": "BRI" },
        "year": 2025,
        "value": null,
        "growthPercent": 12.1,
    });
    let connection = |nodes: Vec<&Value>| json!({ "totalCount": nodes.len(), "nodes": nodes });
    assert_eq!(
        data["zhejiang"]["tradeFlows"],
        connection(vec![&zhejiang_asean])
    );
    assert_eq!(
        data["shanghai"]["tradeFlows"],
        connection(vec![&shanghai_bri])
    );
    assert_eq!(data["guangdong"]["tradeFlows"], connection(vec![]));
    assert_eq!(
        data["asean"]["tradeFlows"],
        connection(vec![&zhejiang_asean])
    );
    assert_eq!(data["bri"]["tradeFlows"], connection(vec![&shanghai_bri]));
    assert_eq!(data["eu"]["tradeFlows"], connection(vec![]));
}

#[actix_web::test]
async fn trade_flows_page_with_cursors() {
    // Arrange
    let app = spawn_app().await;
    let query = "query ($code: String!, $first: Int, $after: String, $last: Int, $before: String) {
      province(code: $code) {
        tradeFlows(first: $first, after: $after, last: $last, before: $before) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { partner { code } year } }
        }
      }
    }";

    // Act
    let forwards = walk(
        &app,
        query,
        "/province/tradeFlows",
        json!({ "code": "CN-ZJ" }),
        Way::Forward,
        1,
    )
    .await;
    let backwards = walk(
        &app,
        query,
        "/province/tradeFlows",
        json!({ "code": "CN-ZJ" }),
        Way::Backward,
        1,
    )
    .await;

    // Assert
    for pages in [&forwards, &backwards] {
        assert_eq!(pages.len(), 1);
        assert_eq!(
            pages[0].nodes,
            vec![json!({ "partner": { "code": "ASEAN" }, "year": 2025 })]
        );
        assert_eq!(
            (pages[0].has_previous_page, pages[0].has_next_page),
            (false, false)
        );
        assert_eq!(consistent_total(pages), 1);
    }
}

#[actix_web::test]
async fn provinces_and_partners_list_their_freight_routes() {
    // Arrange
    let app = spawn_app().await;
    let routes =
        |arguments: &str| format!("freightRoutes{arguments} {{ totalCount nodes {{ code }} }}");
    let query = format!(
        "{{
          guangdong: province(code: \"GD\") {{ {all} }}
          zhejiang: province(code: \"Zhejiang\") {{ {all} }}
          xinjiang: province(code: \"CN-XJ\") {{ {all} }}
          jiangsu: province(code: \"CN-JS\") {{ {all} }}
          guangdongBySea: province(code: \"GD\") {{ {sea} }}
          guangdongByRail: province(code: \"GD\") {{ {rail} }}
          poland: tradePartner(code: \"PL\") {{ {all} }}
          centralAsia: tradePartner(code: \"CENTRAL-ASIA\") {{ {all} }}
          europe: tradePartner(code: \"EUROPE\") {{ {all} }}
          argentina: tradePartner(code: \"AR\") {{ {all} }}
          polandBySea: tradePartner(code: \"PL\") {{ {sea} }}
        }}",
        all = routes(""),
        sea = routes("(mode: SEA)"),
        rail = routes("(mode: RAIL)"),
    );

    // Act
    let data = app.data(&query, json!({})).await;

    // Assert
    let cases: [(&str, &[&str]); 11] = [
        ("guangdong", &["CER-GBA-MALASZEWICZE"]),
        ("zhejiang", &["YIWU-XINJIANG-EUROPE"]),
        ("xinjiang", &["YIWU-XINJIANG-EUROPE"]),
        ("jiangsu", &[]),
        ("guangdongBySea", &[]),
        ("guangdongByRail", &["CER-GBA-MALASZEWICZE"]),
        ("poland", &["CER-GBA-MALASZEWICZE"]),
        ("centralAsia", &["YIWU-XINJIANG-EUROPE"]),
        ("europe", &["YIWU-XINJIANG-EUROPE"]),
        ("argentina", &[]),
        ("polandBySea", &[]),
    ];
    for (alias, expected) in cases {
        let codes: Vec<Value> = expected
            .iter()
            .map(|code| json!({ "code": code }))
            .collect();
        assert_eq!(
            data[alias]["freightRoutes"],
            json!({ "totalCount": expected.len(), "nodes": codes }),
            "{alias}"
        );
    }
}
