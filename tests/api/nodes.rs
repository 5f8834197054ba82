//! Global ids (`node`, `nodes`) for every entity type, and search.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

/// One object of each entity type, with its `__typename` and a key field.
const EVERY_KIND: &str = "{
    province(code: \"GD\") { id code }
    tradePartner(code: \"AR\") { id code }
    hub(code: \"PORT-ZARATE\") { id code }
    company(code: \"TCL\") { id code }
    shipment(reference: \"BYD-CHANGZHOU-ZARATE\") { id reference }
    freightRoute(code: \"YIWU-XINJIANG-EUROPE\") { id code }
    flow: province(code: \"ZJ\") { tradeFlows { nodes { id year } } }
}";

const NODE: &str = "query ($id: ID!) { node(id: $id) { __typename id
    ... on Province { code } ... on TradePartner { code } ... on Hub { code } ... on Company { code }
    ... on Shipment { reference } ... on FreightRoute { code } ... on TradeFlow { year } } }";

#[actix_web::test]
async fn every_entity_type_round_trips_through_node() {
    let app = spawn_app().await;
    let data = app.data(EVERY_KIND, json!({})).await;
    let objects = [
        ("Province", data["province"].clone()),
        ("TradePartner", data["tradePartner"].clone()),
        ("Hub", data["hub"].clone()),
        ("Company", data["company"].clone()),
        ("Shipment", data["shipment"].clone()),
        ("FreightRoute", data["freightRoute"].clone()),
        ("TradeFlow", data["flow"]["tradeFlows"]["nodes"][0].clone()),
    ];

    for (typename, object) in objects {
        let fetched = app.data(NODE, json!({ "id": object["id"] })).await;

        let mut expected = object.clone();
        expected["__typename"] = json!(typename);
        assert_eq!(fetched["node"], expected, "{typename}");
    }
}

#[actix_web::test]
async fn nodes_keeps_order_and_gives_null_for_unknown_ids() {
    let app = spawn_app().await;
    let query = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Province { code } } }";
    // base64("Province:CN-QQ"): well-formed, but no such province.
    let ids = json!([
        "UHJvdmluY2U6Q04tWko=",
        "UHJvdmluY2U6Q04tUVE=",
        "UHJvdmluY2U6Q04tR0Q="
    ]);

    let data = app.data(query, json!({ "ids": ids })).await;

    assert_eq!(
        data["nodes"],
        json!([{ "__typename": "Province", "code": "CN-ZJ" }, null, { "__typename": "Province", "code": "CN-GD" }])
    );
}

fn hits(data: &Value) -> Vec<String> {
    data["search"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .map(|hit| {
                    format!(
                        "{}:{}",
                        hit["__typename"].as_str().unwrap_or("?"),
                        hit["key"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const SEARCH: &str = "query ($text: String!, $first: Int) { search(text: $text, first: $first) { __typename
    ... on Province { key: code } ... on TradePartner { key: code } ... on Hub { key: code }
    ... on Company { key: code } ... on FreightRoute { key: code } ... on Shipment { key: reference } } }";

#[actix_web::test]
async fn search_ranks_exact_codes_then_name_prefixes_then_other_matches() {
    let app = spawn_app().await;
    let cases: [(&str, Option<i32>, &[&str]); 7] = [
        (
            "ar",
            None,
            &[
                "TradePartner:AR",
                "TradePartner:BRI",
                "FreightRoute:CER-GBA-MALASZEWICZE",
                "Hub:GBA",
                "Hub:PORT-ZARATE",
                "Hub:TCL-ZYRARDOW",
                "Hub:YIWU-MARKET",
            ],
        ),
        ("ar", Some(2), &["TradePartner:AR", "TradePartner:BRI"]),
        (
            "guang",
            None,
            &[
                "Province:CN-GD",
                "Hub:GBA",
                "Province:CN-GX",
                "Hub:PORT-GUANGZHOU",
            ],
        ),
        (
            "YIWU",
            None,
            &[
                "Hub:YIWU-MARKET",
                "FreightRoute:YIWU-XINJIANG-EUROPE",
                "Hub:YIWU-GDTC",
            ],
        ),
        ("广东", None, &["Province:CN-GD"]),
        ("tcl", Some(1), &["Company:TCL"]),
        (
            "byd-changzhou-zarate",
            None,
            &["Shipment:BYD-CHANGZHOU-ZARATE"],
        ),
    ];

    for (text, first, expected) in cases {
        let data = app
            .data(
                SEARCH,
                json!({ "text": text, "first": first.unwrap_or(10) }),
            )
            .await;

        assert_eq!(hits(&data), expected, "search {text:?}");
    }
}
