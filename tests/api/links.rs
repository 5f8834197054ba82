//! Every link between objects, and what a nested query costs: one store
//! call per kind of entity per level, whatever the page size.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[actix_web::test]
async fn a_shipment_links_to_its_shipper_places_partner_and_route() {
    let app = spawn_app().await;
    let query = "{ shipment(reference: \"CER-2026-FIRST-GBA-MALASZEWICZE\") {
        shipper { code name province { code } }
        origin { code kind city province { code } country { code } }
        destinationPartner { code name kind memberOf { code } }
        destination { code kind country { name } }
        route { code name mode origin { code } destination { code } via { code } typicalTransitDays provinces { code } partners { code } }
    } }";

    let data = app.data(query, json!({})).await;

    assert_eq!(
        data["shipment"],
        json!({
            "shipper": null,
            "origin": { "code": "GBA", "kind": "REGION", "city": null, "province": null, "country": null },
            "destinationPartner": { "code": "PL", "name": "Poland", "kind": "COUNTRY", "memberOf": [{ "code": "EU" }, { "code": "EUROPE" }] },
            "destination": { "code": "MALASZEWICZE", "kind": "RAIL_HUB", "country": { "name": "Poland" } },
            "route": {
                "code": "CER-GBA-MALASZEWICZE",
                "name": "China-Europe freight train service from the Greater Bay Area to Malaszewicze",
                "mode": "RAIL", "origin": { "code": "GBA" }, "destination": { "code": "MALASZEWICZE" }, "via": [],
                "typicalTransitDays": null, "provinces": [{ "code": "CN-GD" }], "partners": [{ "code": "PL" }]
            }
        })
    );
}

#[actix_web::test]
async fn partners_link_to_members_groups_hubs_and_routes() {
    let app = spawn_app().await;
    let query = "{ eu: tradePartner(code: \"eu\") { name kind members { code } memberOf { code } }
                  pl: tradePartner(code: \"PL\") { hubs { code } freightRoutes { nodes { code } } shipments { nodes { reference } } }
                  asean: tradePartner(code: \"ASEAN\") { tradeFlows { nodes { province { code } } } } }";

    let data = app.data(query, json!({})).await;

    assert_eq!(
        data,
        json!({
            "eu": { "name": "European Union", "kind": "BLOC", "members": [{ "code": "PL" }], "memberOf": [] },
            "pl": {
                "hubs": [{ "code": "MALASZEWICZE" }, { "code": "TCL-ZYRARDOW" }],
                "freightRoutes": { "nodes": [{ "code": "CER-GBA-MALASZEWICZE" }] },
                "shipments": { "nodes": [{ "reference": "CER-2026-FIRST-GBA-MALASZEWICZE" }] }
            },
            "asean": { "tradeFlows": { "nodes": [{ "province": { "code": "CN-ZJ" } }] } }
        })
    );
}

#[actix_web::test]
async fn provinces_hubs_and_companies_link_back() {
    let app = spawn_app().await;
    let query = "{ js: province(code: \"JS\") { hubs { code kind } freightRoutes { totalCount } shipments { nodes { reference } } }
                  zj: province(code: \"ZJ\") { freightRoutes { nodes { code provinces { code } partners { code } } } }
                  hub(code: \"jiangyin-cbz\") { name province { name } shipments { nodes { reference shipper { code } } } }
                  company(code: \"byd\") { name note shipments { totalCount nodes { reference destination { name } } } } }";

    let data = app.data(query, json!({})).await;

    assert_eq!(
        data,
        json!({
            "js": {
                "hubs": [
                    { "code": "JIANGYIN-CBZ", "kind": "BONDED_ZONE" },
                    { "code": "PORT-LIANYUNGANG", "kind": "SEAPORT" },
                    { "code": "SUZHOU-CBEC-PLATFORM", "kind": "PLATFORM" }
                ],
                "freightRoutes": { "totalCount": 0 },
                "shipments": { "nodes": [{ "reference": "ENVISION-JIANGYIN-BLADES" }, { "reference": "LIANYUNGANG-WIND-TURBINES" }] }
            },
            "zj": {
                "freightRoutes": { "nodes": [{
                    "code": "YIWU-XINJIANG-EUROPE",
                    "provinces": [{ "code": "CN-ZJ" }, { "code": "CN-XJ" }],
                    "partners": [{ "code": "CENTRAL-ASIA" }, { "code": "EUROPE" }]
                }] }
            },
            "hub": {
                "name": "Jiangyin Comprehensive Bonded Zone", "province": { "name": "Jiangsu" },
                "shipments": { "nodes": [{ "reference": "ENVISION-JIANGYIN-BLADES", "shipper": { "code": "ENVISION" } }] }
            },
            "company": {
                "name": "BYD",
                "note": "entered the Argentine market with a self-operated fleet, direct sales model and full product lineup",
                "shipments": { "totalCount": 1, "nodes": [{ "reference": "BYD-CHANGZHOU-ZARATE", "destination": { "name": "Port of Zarate" } }] }
            }
        })
    );
}

/// A four-level fan-out where every level asks for several kinds:
/// 1. shipments;
/// 2. their shippers (companies), partners, routes and origin hubs;
/// 3. the partners' groups, the routes' partners, the hubs' provinces;
/// 4. the provinces' hubs.
const FAN_OUT: &str = "query ($n: Int!) { shipments(first: $n) { nodes {
    shipper { name }
    destinationPartner { memberOf { code } }
    route { partners { code } }
    origin { province { hubs { code } } }
} } }";

#[actix_web::test]
async fn a_nested_query_costs_one_store_call_per_kind_per_level() {
    let app = spawn_app_with(300).await;
    let mut costs = Vec::new();

    for n in [5, 20, 100] {
        let before = app.store.calls();
        let data = app.data(FAN_OUT, json!({ "n": n })).await;
        costs.push(app.store.calls() - before);
        assert_eq!(data["shipments"]["nodes"].as_array().map(Vec::len), Some(n));
    }

    assert_eq!(
        costs,
        vec![1 + 4 + 3 + 1; 3],
        "one call per kind per level, whatever the page size"
    );
}

#[actix_web::test]
async fn connections_nested_in_lists_are_batched_too() {
    let app = spawn_app().await;
    let query = "{ provinces(first: 31) { nodes { shipments(first: 2) { totalCount nodes { reference } } tradeFlows { totalCount } freightRoutes { totalCount } hubs { code } } } }";

    let before = app.store.calls();
    let data = app.data(query, json!({})).await;
    let cost = app.store.calls() - before;

    let provinces = data["provinces"]["nodes"].as_array().expect("a list");
    let shipped: u64 = provinces
        .iter()
        .map(|p| p["shipments"]["totalCount"].as_u64().unwrap_or(99))
        .sum();
    assert_eq!(provinces.len(), 31);
    assert_eq!(shipped, 2, "two real shipments state their origin province");
    // provinces; then shipment pages, shipment counts, flow pages, route pages, hubs.
    assert_eq!(cost, 6);
}
