//! The figures the report states, exactly as it states them: amount,
//! qualifier, forecast flag, reading and the verbatim sentence; and null
//! where it states nothing.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

/// The report the seed data quotes.
const REPORT: &str = include_str!("../../seed/sources/peoples-daily-2026-02-25.txt");

const MONEY: &str =
    "amount currency qualifier forecast display source { title publisher publishedOn quote }";

fn money(
    amount: &str,
    currency: &str,
    qualifier: &str,
    forecast: bool,
    display: &str,
    quote: &str,
) -> Value {
    json!({
        "amount": amount,
        "currency": currency,
        "qualifier": qualifier,
        "forecast": forecast,
        "display": display,
        "source": {
            "title": "China's major trading provinces showcase economic resilience and vitality",
            "publisher": "People's Daily",
            "publishedOn": "2026-02-25",
            "quote": quote,
        }
    })
}

const NATIONAL: &str = "In 2025, the country's total goods imports and exports reached 45.47 trillion yuan (about $6.59 trillion), up 3.8 percent year on year, consolidating the country's position as the world's largest trader in goods.";
const GUANGDONG: &str = "Guangdong, China's leading province in foreign trade, recorded 9.49 trillion yuan in total foreign trade in 2025, ranking first nationwide for the 40th consecutive year.";
const YIWU: &str = "In 2025, the sampled transaction value at the Yiwu International Trade market is expected to exceed 320 billion yuan, with a daily average of over 4,000 international buyers, the highest level in a decade.";

#[actix_web::test]
async fn the_national_summary_is_as_stated() {
    let app = spawn_app().await;
    let query = format!("{{ nationalSummary {{ year totalTrade {{ {MONEY} }} totalTradeUsd {{ {MONEY} }} growthPercent source {{ quote }} indicators {{ key money {{ display amount }} provinces {{ code }} note }} }} }}");

    let data = app.data(&query, json!({})).await;

    let summary = &data["nationalSummary"];
    assert_eq!(summary["year"], 2025);
    assert_eq!(
        summary["totalTrade"],
        money(
            "45470000000000",
            "CNY",
            "EXACT",
            false,
            "45.47 trillion yuan",
            NATIONAL
        )
    );
    assert_eq!(
        summary["totalTradeUsd"],
        money(
            "6590000000000",
            "USD",
            "ABOUT",
            false,
            "about 6.59 trillion US dollars",
            NATIONAL
        )
    );
    assert_eq!(summary["growthPercent"], 3.8);
    assert_eq!(summary["source"]["quote"], NATIONAL);
    assert_eq!(
        summary["indicators"],
        json!([{
            "key": "leading_seven_total_trade",
            "money": { "display": "34.11 trillion yuan", "amount": "34110000000000" },
            "provinces": [
                { "code": "CN-GD" }, { "code": "CN-JS" }, { "code": "CN-ZJ" }, { "code": "CN-SH" },
                { "code": "CN-SD" }, { "code": "CN-BJ" }, { "code": "CN-FJ" }
            ],
            "note": "contributing more than half of the country's total trade growth",
        }])
    );
}

#[actix_web::test]
async fn a_year_the_text_does_not_cover_has_no_summary() {
    let app = spawn_app().await;

    let data = app
        .data("{ nationalSummary(year: 2024) { year } }", json!({}))
        .await;

    assert_eq!(data, json!({ "nationalSummary": null }));
}

#[actix_web::test]
async fn guangdong_is_first_with_its_stated_figures() {
    let app = spawn_app().await;
    let query = format!("{{ province(code: \"GD\") {{ code name nameZh totalTrade {{ {MONEY} }} growthPercent nationalRank indicators {{ key label year money {{ amount qualifier display }} quantity {{ value unit display }} display source {{ quote }} }} }} }}");

    let data = app.data(&query, json!({})).await;

    let guangdong = &data["province"];
    assert_eq!(guangdong["code"], "CN-GD");
    assert_eq!(guangdong["name"], "Guangdong");
    assert_eq!(guangdong["nameZh"], "广东");
    assert_eq!(
        guangdong["totalTrade"],
        money(
            "9490000000000",
            "CNY",
            "EXACT",
            false,
            "9.49 trillion yuan",
            GUANGDONG
        )
    );
    assert_eq!(
        guangdong["growthPercent"],
        Value::Null,
        "the text states no growth for Guangdong"
    );
    assert_eq!(guangdong["nationalRank"], 1);
    assert_eq!(guangdong["indicators"][0]["key"], "high_tech_exports");
    assert_eq!(
        guangdong["indicators"][0]["money"],
        json!({ "amount": "1140000000000", "qualifier": "EXACT", "display": "1.14 trillion yuan" })
    );
    assert_eq!(
        guangdong["indicators"][0]["display"],
        "High-tech product exports: 1.14 trillion yuan"
    );
    assert_eq!(
        guangdong["indicators"][1]["quantity"],
        json!({ "value": "40", "unit": "consecutive years", "display": "40 consecutive years" })
    );
    assert_eq!(guangdong["indicators"][1]["source"]["quote"], GUANGDONG);
}

#[actix_web::test]
async fn zhejiang_figures_keep_their_qualifiers_and_forecasts() {
    let app = spawn_app().await;
    let query = "{ province(code: \"zhejiang\") { totalTrade { display } nationalRank indicators { key year hub { code } note money { amount qualifier forecast display } quantity { value qualifier forecast display } source { quote } } } }";

    let data = app.data(query, json!({})).await;

    let zhejiang = &data["province"];
    assert_eq!(zhejiang["totalTrade"]["display"], "5.55 trillion yuan");
    assert_eq!(
        zhejiang["nationalRank"],
        Value::Null,
        "only Guangdong's rank is stated"
    );
    assert_eq!(
        zhejiang["indicators"],
        json!([
            {
                "key": "new_trade_format_exports", "year": 2025, "hub": null, "note": "ranking first nationwide",
                "money": { "amount": "900000000000", "qualifier": "MORE_THAN", "forecast": false, "display": "over 900 billion yuan" },
                "quantity": null,
                "source": { "quote": "In 2025, exports through market procurement, cross-border e-commerce and bonded maintenance exceeded 900 billion yuan, ranking first nationwide." }
            },
            {
                "key": "yiwu_sampled_transaction_value", "year": 2025, "hub": { "code": "YIWU-MARKET" }, "note": null,
                "money": { "amount": "320000000000", "qualifier": "MORE_THAN", "forecast": true, "display": "over 320 billion yuan (forecast)" },
                "quantity": null,
                "source": { "quote": YIWU }
            },
            {
                "key": "yiwu_daily_international_buyers", "year": 2025, "hub": { "code": "YIWU-MARKET" }, "note": "the highest level in a decade",
                "money": null,
                "quantity": { "value": "4000", "qualifier": "MORE_THAN", "forecast": false, "display": "over 4,000 international buyers" },
                "source": { "quote": YIWU }
            }
        ])
    );
}

#[actix_web::test]
async fn jiangsu_shares_and_changes_are_percentages() {
    let app = spawn_app().await;
    let query = "{ province(code: \"CN-JS\") { totalTrade { display } indicators { key percent percentQualifier changePercent display hub { name } } } }";

    let data = app.data(query, json!({})).await;

    assert_eq!(
        data["province"],
        json!({
            "totalTrade": null,
            "indicators": [
                {
                    "key": "mechanical_electrical_export_share", "percent": 70.0, "percentQualifier": "MORE_THAN", "changePercent": null,
                    "display": "Mechanical and electrical products' share of exports: over 70 percent", "hub": null
                },
                {
                    "key": "sme_cross_border_ecommerce_export_growth", "percent": null, "percentQualifier": null, "changePercent": 35.0,
                    "display": "Increase in cross-border e-commerce exports among small and medium-sized enterprises, driven by the platform in Suzhou: +35 percent",
                    "hub": { "name": "Suzhou comprehensive cross-border e-commerce service platform" }
                }
            ]
        })
    );
}

#[actix_web::test]
async fn trade_flows_state_value_and_growth_or_null() {
    let app = spawn_app().await;
    let query = "{ zj: province(code: \"CN-ZJ\") { tradeFlows { totalCount nodes { partner { code } year value { amount qualifier display } growthPercent note } } }
                  sh: province(code: \"CN-SH\") { tradeFlows { nodes { partner { code name kind } value { amount } growthPercent source { quote } } } } }";

    let data = app.data(query, json!({})).await;

    assert_eq!(
        data["zj"]["tradeFlows"],
        json!({
            "totalCount": 1,
            "nodes": [{
                "partner": { "code": "ASEAN" }, "year": 2025,
                "value": { "amount": "869070000000", "qualifier": "EXACT", "display": "869.07 billion yuan" },
                "growthPercent": 16.5,
                "note": "ASEAN surpassed the European Union for the first time to become Zhejiang's largest trading partner"
            }]
        })
    );
    assert_eq!(
        data["sh"]["tradeFlows"]["nodes"],
        json!([{
            "partner": { "code": "BRI", "name": "Belt and Road partner countries", "kind": "GROUPING" },
            "value": null,
            "growthPercent": 12.1,
            "source": { "quote": "As an international shipping hub, Shanghai has strengthened its role in linking domestic and global markets. In 2025, its trade with Belt and Road partner countries grew 12.1 percent year on year, supported by coordinated China-Europe freight train service and ocean shipping routes." }
        }])
    );
}

#[actix_web::test]
async fn the_named_shipments_are_as_reported() {
    let app = spawn_app().await;
    let query = "{ byd: shipment(reference: \"BYD-CHANGZHOU-ZARATE\") { cargo carrierName mode quantity { value unit qualifier forecast display } originProvince { code } route { code } departedOn arrivedOn transitDays synthetic }
                  train: shipment(reference: \"CER-2026-FIRST-GBA-MALASZEWICZE\") { mode transitDays quantity { display } origin { code province { code } } destination { name country { code } } route { code } }
                  blades: shipment(reference: \"ENVISION-JIANGYIN-BLADES\") { mode quantity { display qualifier } destinationPartner { code } } }";

    let data = app.data(query, json!({})).await;

    assert_eq!(
        data["byd"],
        json!({
            "cargo": "new energy vehicles", "carrierName": "Changzhou", "mode": "SEA",
            "quantity": { "value": "5800", "unit": "new energy vehicles", "qualifier": "MORE_THAN", "forecast": false, "display": "over 5,800 new energy vehicles" },
            "originProvince": null, "route": null, "departedOn": null, "arrivedOn": null, "transitDays": null, "synthetic": false
        })
    );
    assert_eq!(
        data["train"],
        json!({
            "mode": "RAIL", "transitDays": 14, "quantity": { "display": "110 standard containers" },
            "origin": { "code": "GBA", "province": null },
            "destination": { "name": "Malaszewicze", "country": { "code": "PL" } },
            "route": { "code": "CER-GBA-MALASZEWICZE" }
        })
    );
    assert_eq!(
        data["blades"],
        json!({ "mode": null, "quantity": { "display": "36 wind turbine blades", "qualifier": "EXACT" }, "destinationPartner": null })
    );
}

#[actix_web::test]
async fn every_quote_stands_verbatim_in_the_report() {
    let app = spawn_app().await;
    let query = "{ provinces(first: 100) { nodes { totalTrade { source { quote } } indicators { source { quote } } tradeFlows { nodes { source { quote } } } } }
                  shipments(first: 100) { nodes { source { quote } } }
                  hubs(first: 100) { nodes { source { quote } } }
                  companies { nodes { source { quote } } }
                  freightRoutes { nodes { source { quote } } } }";

    let data = app.data(query, json!({})).await;

    let mut quotes = Vec::new();
    collect_quotes(&data, &mut quotes);
    assert_eq!(quotes.len(), 30, "quotes found: {quotes:#?}");
    for quote in quotes {
        assert!(
            REPORT.contains(&quote),
            "not verbatim in the report: {quote}"
        );
    }
}

fn collect_quotes(value: &Value, quotes: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                match (name.as_str(), field) {
                    ("quote", Value::String(quote)) => quotes.push(quote.clone()),
                    _ => collect_quotes(field, quotes),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_quotes(item, quotes)),
        _ => {}
    }
}
