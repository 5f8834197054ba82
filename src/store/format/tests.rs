//! The stored encoding pinned down: version 1 is format 1's bytes, every
//! kind has golden bytes, and the errors say what is wrong.

use std::fmt::Debug;
use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use super::v1::{
    CompanyV1, FreightRouteV1, HubV1, NationalSummaryV1, ProvinceV1, ShipmentV1, TradeFlowV1,
    TradePartnerV1,
};
use super::{encode_version, Stored, LATEST};
use crate::domain::{NationalSummary, Province, Shipment, ShipmentId, TradeFlow};
use crate::error::Error;
use crate::store::codec;

/// Set to `1` to write the golden fixtures of the newest versions instead of
/// only comparing with them.
const WRITE_GOLDEN: &str = "TRADEGRAPH_WRITE_GOLDEN";

#[test]
fn v1_mirrors_encode_as_format_1_encoded_the_domain_structs() {
    let seed = crate::seed::load(None).unwrap();
    for record in seed.national.iter().chain([&samples::national_summary()]) {
        assert_mirrors::<_, NationalSummaryV1>(record);
    }
    for record in seed.provinces.iter().chain([&samples::province()]) {
        assert_mirrors::<_, ProvinceV1>(record);
    }
    for record in seed.partners.iter().chain([&samples::trade_partner()]) {
        assert_mirrors::<_, TradePartnerV1>(record);
    }
    for record in seed.hubs.iter().chain([&samples::hub()]) {
        assert_mirrors::<_, HubV1>(record);
    }
    for record in seed.companies.iter().chain([&samples::company()]) {
        assert_mirrors::<_, CompanyV1>(record);
    }
    for record in seed.routes.iter().chain([&samples::freight_route()]) {
        assert_mirrors::<_, FreightRouteV1>(record);
    }
    for record in seed.trade_flows.iter().chain([&samples::trade_flow()]) {
        assert_mirrors::<_, TradeFlowV1>(record);
    }
    for record in seed.shipments.iter().chain([&samples::shipment()]) {
        assert_mirrors::<_, ShipmentV1>(record);
    }
}

/// Bincode of `record`'s version 1 mirror is bincode of `record` itself,
/// byte for byte, as format 1 stored it.
#[track_caller]
fn assert_mirrors<R, V>(record: &R)
where
    R: Serialize + Debug,
    V: Serialize + for<'a> From<&'a R>,
{
    let format1 = codec::encode(record).unwrap();
    let mirror = codec::encode(&V::from(record)).unwrap();
    assert_eq!(
        hex::encode(&mirror),
        hex::encode(&format1),
        "the version 1 mirror encodes differently from format 1: {record:?}"
    );
}

#[test]
fn format1_records_decode_as_version_1_and_every_record_round_trips() {
    let seed = crate::seed::load(None).unwrap();
    seed.national.iter().for_each(assert_upgrades);
    seed.provinces.iter().for_each(assert_upgrades);
    seed.partners.iter().for_each(assert_upgrades);
    seed.hubs.iter().for_each(assert_upgrades);
    seed.companies.iter().for_each(assert_upgrades);
    seed.routes.iter().for_each(assert_upgrades);
    seed.trade_flows.iter().for_each(assert_upgrades);
    seed.shipments.iter().for_each(assert_upgrades);
}

/// Format 1's bytes of `record` decode to it with `decode_format1` and, after
/// a version byte 1, with `decode`; its own encoding decodes to it too.
#[track_caller]
fn assert_upgrades<R: Stored + Serialize + PartialEq + Debug>(record: &R) {
    let format1 = codec::encode(record).unwrap();
    assert_eq!(&R::decode_format1(&format1).unwrap(), record);
    let version1 = [&[1][..], &format1].concat();
    assert_eq!(&R::decode(&version1).unwrap(), record);
    assert_eq!(&R::decode(&record.encode().unwrap()).unwrap(), record);
}

#[test]
fn records_encode_to_their_golden_bytes() {
    let failures = [
        encodes_as_golden(&samples::national_summary()),
        encodes_as_golden(&samples::province()),
        encodes_as_golden(&samples::trade_partner()),
        encodes_as_golden(&samples::hub()),
        encodes_as_golden(&samples::company()),
        encodes_as_golden(&samples::freight_route()),
        encodes_as_golden(&samples::trade_flow()),
        encodes_as_golden(&samples::shipment()),
    ];
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn golden_fixtures_decode_to_the_samples() {
    // Every fixture of every version, the older ones decode-only: each
    // decodes to its sample as this build sees it, with any field added
    // since at its default.
    let failures = [
        decodes_as_sample("national_summary.v1.hex", &samples::national_summary()),
        decodes_as_sample("province.v1.hex", &samples::province()),
        decodes_as_sample("trade_partner.v1.hex", &samples::trade_partner()),
        decodes_as_sample("hub.v1.hex", &samples::hub()),
        decodes_as_sample("company.v1.hex", &samples::company()),
        decodes_as_sample("freight_route.v1.hex", &samples::freight_route()),
        decodes_as_sample("trade_flow.v1.hex", &samples::trade_flow()),
        decodes_as_sample("shipment.v1.hex", &samples::shipment()),
    ];
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Compares `sample`'s stored bytes with the fixture of its kind at the
/// version it is written in, or writes the fixture when asked to. Returns
/// what is wrong, if anything.
fn encodes_as_golden<R: Stored>(sample: &R) -> Option<String> {
    let bytes = sample.encode().unwrap();
    let file = format!("{}.v{}.hex", R::KIND.replace(' ', "_"), bytes[0]);
    let path = fixtures().join(&file);
    if std::env::var(WRITE_GOLDEN).is_ok_and(|value| value == "1") {
        fs::create_dir_all(fixtures()).unwrap();
        fs::write(&path, to_fixture(&bytes)).unwrap();
        return None;
    }
    let golden = match read_fixture(&file) {
        Ok(golden) => golden,
        Err(error) => return Some(error),
    };
    (golden != bytes).then(|| {
        let at = golden
            .iter()
            .zip(&bytes)
            .position(|(golden, byte)| golden != byte)
            .unwrap_or(golden.len().min(bytes.len()));
        format!(
            "the stored encoding of a {kind} changed (first at byte {at}; {file} has {} bytes, the \
             sample encodes to {}). If that is on purpose, add a new record version with new \
             fixtures and keep the old fixtures as decode-only (see the module doc of \
             store::format); databases hold the old bytes.\n  {file}: {}\n  now: {}",
            golden.len(),
            bytes.len(),
            hex::encode(&golden),
            hex::encode(&bytes),
            kind = R::KIND,
        )
    })
}

/// Decodes the fixture `file` and compares it with `sample`. Returns what
/// is wrong, if anything.
fn decodes_as_sample<R: Stored + PartialEq + Debug>(file: &str, sample: &R) -> Option<String> {
    let golden = match read_fixture(file) {
        Ok(golden) => golden,
        Err(error) => return Some(error),
    };
    match R::decode(&golden) {
        Ok(decoded) if &decoded == sample => None,
        Ok(decoded) => Some(format!(
            "{file} decodes to another {}: {decoded:#?}\nthe sample is {sample:#?}",
            R::KIND
        )),
        Err(error) => Some(format!("{file} does not decode: {error}")),
    }
}

/// Where the golden fixtures live.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/records")
}

/// The bytes of fixture `file`: hex, whitespace ignored.
fn read_fixture(file: &str) -> Result<Vec<u8>, String> {
    let text = fs::read_to_string(fixtures().join(file)).map_err(|error| {
        format!("cannot read the golden fixture {file}: {error} (write it with {WRITE_GOLDEN}=1)")
    })?;
    let digits: String = text.split_whitespace().collect();
    hex::decode(digits).map_err(|error| format!("{file} is not hex: {error}"))
}

/// Bytes as a fixture: hex, 32 bytes a line, so a diff shows where they changed.
fn to_fixture(bytes: &[u8]) -> String {
    bytes
        .chunks(32)
        .map(|line| hex::encode(line) + "\n")
        .collect()
}

#[test]
fn an_empty_value_fails_as_it_did_in_format_1() {
    let expected = "province does not decode: UnexpectedEnd { additional: 1 }";
    assert_eq!(corrupt(Province::decode(&[])), expected);
    assert_eq!(
        corrupt(codec::decode::<Province>(&[], "province")),
        expected
    );
    assert_eq!(
        corrupt(Shipment::decode(&[])),
        "shipment does not decode: UnexpectedEnd { additional: 1 }"
    );
}

#[test]
fn a_body_that_does_not_decode_keeps_format_1s_messages() {
    let body = codec::encode(&samples::shipment()).unwrap();
    let short = &body[..body.len() - 1];
    assert_eq!(
        corrupt(Shipment::decode(&[&[1][..], short].concat())),
        corrupt(codec::decode::<Shipment>(short, "shipment"))
    );
    assert_eq!(
        corrupt(Shipment::decode(&[&[1][..], &body, &[0, 0]].concat())),
        "shipment has 2 trailing bytes"
    );
    assert_eq!(
        corrupt(Shipment::decode_format1(&[&body[..], &[0]].concat())),
        "shipment has 1 trailing bytes"
    );
}

#[test]
fn an_unknown_version_is_refused_naming_the_versions_this_build_reads() {
    let mut bytes = samples::trade_flow().encode().unwrap();
    assert_eq!(bytes[0], LATEST.trade_flow);
    bytes[0] = LATEST.trade_flow + 1;
    assert_eq!(
        corrupt(TradeFlow::decode(&bytes)),
        "trade flow has record version 2; this build reads versions up to 1"
    );
    bytes[0] = 0;
    assert_eq!(
        corrupt(TradeFlow::decode(&bytes)),
        "trade flow has record version 0; this build reads versions up to 1"
    );
}

#[test]
fn a_stored_value_the_domain_refuses_names_the_record_and_the_field() {
    let mut province = ProvinceV1::from(&samples::province());
    province.indicators[0].provinces[1] = "guangdong".into();
    assert_eq!(
        corrupt(Province::decode(
            &encode_version("province", 1, &province).unwrap()
        )),
        "province has an invalid indicators[0].provinces[1]: province code must be an ISO \
         3166-2 code such as \"CN-GD\" or \"GD\", got \"guangdong\""
    );

    let mut summary = NationalSummaryV1::from(&samples::national_summary());
    summary.total_trade.amount = "a lot".into();
    assert_eq!(
        corrupt(NationalSummary::decode(
            &encode_version("national summary", 1, &summary).unwrap()
        )),
        "national summary has an invalid total_trade.amount: Invalid decimal: unknown \
         character, got \"a lot\""
    );

    let mut shipment = ShipmentV1::from(&samples::shipment());
    shipment.shipper = Some("B Y D".into());
    assert!(corrupt(Shipment::decode(
        &encode_version("shipment", 1, &shipment).unwrap()
    ))
    .starts_with("shipment has an invalid shipper: company code must be"));

    let mut shipment = ShipmentV1::from(&samples::shipment());
    shipment.source.as_mut().unwrap().published_on = "25.02.2026".into();
    assert!(corrupt(Shipment::decode(
        &encode_version("shipment", 1, &shipment).unwrap()
    ))
    .starts_with("shipment has an invalid source.published_on: date must be ISO 8601"));
}

/// The message of a `Corrupt` error; panics on anything else.
#[track_caller]
fn corrupt<T: Debug>(result: crate::error::Result<T>) -> String {
    match result {
        Err(Error::Corrupt(message)) => message,
        other => panic!("expected a corrupt database error, got {other:?}"),
    }
}

/// One fixed, fully populated record of each kind: every `Option` is
/// `Some`, every list has entries, every figure has a source. Their stored
/// bytes are the golden fixtures; change a sample only together with a new
/// version's fixtures.
mod samples {
    use std::str::FromStr;

    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use super::ShipmentId;
    use crate::domain::{
        Company, CompanyCode, Currency, FreightRoute, Hub, HubCode, HubKind, Indicator, Money,
        NationalSummary, Origin, PartnerCode, PartnerKind, Percent, Province, ProvinceCode,
        ProvinceYear, Qualifier, Quantity, RecordMeta, RouteCode, Shipment, Source, TradeFlow,
        TradePartner, TransportMode,
    };

    fn source(quote: &str) -> Source {
        Source {
            title: "Chinese foreign trade sets records in 2025".into(),
            publisher: "People's Daily".into(),
            published_on: NaiveDate::from_ymd_opt(2026, 2, 25).unwrap(),
            quote: quote.into(),
        }
    }

    fn money(amount: &str, currency: Currency, qualifier: Qualifier) -> Money {
        Money {
            amount: Decimal::from_str(amount).unwrap(),
            currency,
            qualifier,
            forecast: true,
            source: Some(source("worth about 6.590 trillion US dollars")),
        }
    }

    fn quantity() -> Quantity {
        Quantity {
            value: Decimal::from_str("5800.5").unwrap(),
            unit: "new energy vehicles".into(),
            qualifier: Qualifier::MoreThan,
            forecast: false,
            source: Some(source("over 5,800 new energy vehicles")),
        }
    }

    fn meta(version: u32, origin: Origin) -> RecordMeta {
        RecordMeta { version, origin }
    }

    fn indicator() -> Indicator {
        Indicator {
            key: "high_tech_exports".into(),
            label: "High-tech product exports".into(),
            year: Some(2025),
            money: Some(money("869070000000", Currency::Cny, Qualifier::Exact)),
            quantity: Some(quantity()),
            percent: Some(Percent {
                value: 70.25,
                qualifier: Qualifier::MoreThan,
            }),
            change_percent: Some(-3.5),
            provinces: vec![province_code("CN-GD"), province_code("CN-ZJ")],
            hub: Some(hub_code("PORT-ZARATE")),
            note: Some("over 70 percent of exports".into()),
            source: source("High-tech product exports rose"),
        }
    }

    fn province_code(text: &str) -> ProvinceCode {
        ProvinceCode::parse(text).unwrap()
    }

    fn partner_code(text: &str) -> PartnerCode {
        PartnerCode::parse(text).unwrap()
    }

    fn hub_code(text: &str) -> HubCode {
        HubCode::parse(text).unwrap()
    }

    pub(super) fn national_summary() -> NationalSummary {
        NationalSummary {
            year: 2025,
            total_trade: money("45470000000000", Currency::Cny, Qualifier::Exact),
            total_trade_usd: Some(money("6.590", Currency::Usd, Qualifier::About)),
            growth_percent: Some(3.8),
            indicators: vec![indicator()],
            source: source("China's total goods trade reached 45.47 trillion yuan"),
            meta: meta(3, Origin::Seed),
        }
    }

    pub(super) fn province() -> Province {
        Province {
            code: province_code("CN-GD"),
            name: "Guangdong".into(),
            name_zh: "广东".into(),
            years: vec![
                ProvinceYear {
                    year: 2024,
                    total_trade: Some(money("9110000000000", Currency::Cny, Qualifier::About)),
                    growth_percent: Some(-0.5),
                    national_rank: Some(1),
                },
                ProvinceYear {
                    year: 2025,
                    total_trade: Some(money("9490000000000", Currency::Cny, Qualifier::Exact)),
                    growth_percent: Some(4.4),
                    national_rank: Some(1),
                },
            ],
            indicators: vec![indicator()],
            meta: meta(2, Origin::Api),
        }
    }

    pub(super) fn trade_partner() -> TradePartner {
        TradePartner {
            code: partner_code("ASEAN"),
            name: "Association of Southeast Asian Nations".into(),
            kind: PartnerKind::Bloc,
            region: Some("Southeast Asia".into()),
            members: vec![partner_code("VN"), partner_code("MY")],
            meta: meta(1, Origin::Seed),
        }
    }

    pub(super) fn hub() -> Hub {
        Hub {
            code: hub_code("PORT-ZARATE"),
            name: "Port of Zarate".into(),
            kind: HubKind::Seaport,
            city: Some("Zarate".into()),
            province: Some(province_code("CN-JS")),
            country: Some(partner_code("AR")),
            note: Some("Argentina's vehicle port".into()),
            source: Some(source("to Argentina's Port of Zarate")),
            meta: meta(4, Origin::Api),
        }
    }

    pub(super) fn company() -> Company {
        Company {
            code: CompanyCode::parse("BYD").unwrap(),
            name: "BYD".into(),
            province: Some(province_code("CN-GD")),
            note: Some("maker of new energy vehicles".into()),
            source: Some(source("BYD's vehicle carrier Changzhou")),
            meta: meta(1, Origin::Seed),
        }
    }

    pub(super) fn freight_route() -> FreightRoute {
        FreightRoute {
            code: RouteCode::parse("CER-GBA-MALASZEWICZE").unwrap(),
            name: "China-Europe Railway Express (Greater Bay Area)".into(),
            mode: TransportMode::Rail,
            origin: Some(hub_code("DONGGUAN-SHILONG")),
            destination: Some(hub_code("MALASZEWICZE")),
            via: vec![hub_code("HORGOS"), hub_code("BREST")],
            typical_transit_days: Some(18),
            provinces: vec![province_code("CN-GD")],
            partners: vec![partner_code("PL"), partner_code("EU")],
            note: Some("weekly departures".into()),
            source: Some(source("China-Europe freight trains")),
            meta: meta(1, Origin::Seed),
        }
    }

    pub(super) fn trade_flow() -> TradeFlow {
        TradeFlow {
            province: province_code("CN-ZJ"),
            partner: partner_code("ASEAN"),
            year: 2025,
            value: Some(money("1020000000000", Currency::Cny, Qualifier::MoreThan)),
            growth_percent: Some(12.25),
            note: Some("largest trading partner".into()),
            source: Some(source("ASEAN remained Zhejiang's largest trading partner")),
            meta: meta(7, Origin::Api),
        }
    }

    pub(super) fn shipment() -> Shipment {
        Shipment {
            id: ShipmentId(300_000),
            reference: "BYD-CHANGZHOU-ZARATE".into(),
            shipper: Some(CompanyCode::parse("BYD").unwrap()),
            cargo: "new energy vehicles".into(),
            quantity: Some(quantity()),
            mode: Some(TransportMode::Sea),
            carrier_name: Some("Changzhou".into()),
            origin_province: Some(province_code("CN-GD")),
            origin: Some(hub_code("SHENZHEN-XIAOMO")),
            destination_partner: Some(partner_code("AR")),
            destination: Some(hub_code("PORT-ZARATE")),
            route: Some(RouteCode::parse("BYD-SEA-SOUTH-AMERICA").unwrap()),
            departed_on: NaiveDate::from_ymd_opt(2025, 11, 2),
            arrived_on: NaiveDate::from_ymd_opt(2025, 12, 20),
            transit_days: Some(48),
            note: Some("the largest single import of Chinese-branded electric vehicles".into()),
            source: Some(source("BYD's vehicle carrier Changzhou recently delivered")),
            meta: meta(2, Origin::Synthetic),
        }
    }
}
