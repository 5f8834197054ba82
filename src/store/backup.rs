//! `tradegraph export` and `import`: the whole database as JSON lines.
//!
//! A backup is one JSON object per line. The first line is the header,
//! `{"kind":"header","formatVersion":1,"seeded":true,"nextShipmentId":61}`;
//! then come the records, `{"kind":"province","record":{...}}`, kind by
//! kind in a fixed order (national, province, partner, hub, company, route,
//! tradeFlow, shipment) and each kind in key order, so that the same
//! database always exports to the same bytes. A record is the domain value
//! serialized with serde as it is stored, bookkeeping (`meta`) and shipment
//! ids included.
//!
//! Index entries and counters are not exported: an import writes records
//! through the ordinary write paths, which rebuild them. Idempotency keys
//! are not exported either: they protect retries of a request in flight,
//! and no request is in flight across a restore.
//!
//! Floating-point figures (growth percents) come back bit for bit because
//! serde_json is built with its `float_roundtrip` feature (without it about
//! one random `f64` in ten comes back one unit in the last place off).

use std::io::{BufRead, Write};
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::backend::Space;
use super::{Catalog, ShipmentWrite, Store};
use crate::domain::{
    Company, FreightRoute, Hub, NationalSummary, Province, Shipment, TradeFlow, TradeFlowKey,
    TradePartner,
};
use crate::error::{Error, Result};

/// The version of the backup format this build writes and reads.
const BACKUP_FORMAT_VERSION: u32 = 1;

/// How many shipments are read from a backup before they are written: in
/// one transaction on sled, in as many as etcd's limits need
/// ([`Store::write_shipments`]).
const RESTORE_BATCH: usize = 2_000;

/// One line of a backup.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum Line {
    /// The first line: what follows and how to finish the restore.
    Header {
        /// [`BACKUP_FORMAT_VERSION`] when written.
        #[serde(rename = "formatVersion")]
        format_version: u32,
        /// Whether a seeding run had completed on the database.
        seeded: bool,
        /// The id the next inserted shipment gets, which may exceed every
        /// exported id when the last shipments were deleted.
        #[serde(rename = "nextShipmentId")]
        next_shipment_id: u64,
    },
    National {
        record: NationalSummary,
    },
    Province {
        record: Province,
    },
    Partner {
        record: TradePartner,
    },
    Hub {
        record: Hub,
    },
    Company {
        record: Company,
    },
    Route {
        record: FreightRoute,
    },
    TradeFlow {
        record: TradeFlow,
    },
    Shipment {
        record: Shipment,
    },
}

/// Just enough of the first line to refuse another format version before
/// reading fields that version may not have.
#[derive(Deserialize)]
struct HeaderVersion {
    kind: String,
    #[serde(rename = "formatVersion")]
    format_version: Option<u32>,
}

impl Store {
    /// Writes the whole database to `out` as JSON lines (see the module
    /// docs for the format) and returns how many records it wrote, the
    /// header not counted. Run it on a database no one is writing to.
    /// Refuses a database with an unfinished bulk insert, whose backup
    /// would restore as a whole database with part of the run.
    pub async fn export(&self, out: &mut impl Write) -> Result<u64> {
        if let Some(numbers) = self.unfinished_bulk_insert().await? {
            return Err(Error::bad_input(format!(
                "a bulk insert of shipments {}..{} is unfinished: start the server or run `seed` on the database to finish it, then export",
                numbers.start, numbers.end
            )));
        }
        write_line(
            out,
            &Line::Header {
                format_version: BACKUP_FORMAT_VERSION,
                seeded: self.is_seeded().await?,
                next_shipment_id: self.next_shipment_id().await?,
            },
        )?;
        let mut n_records = 0;
        n_records += self
            .export_catalog(out, |record| Line::National { record })
            .await?;
        n_records += self
            .export_catalog(out, |record| Line::Province { record })
            .await?;
        n_records += self
            .export_catalog(out, |record| Line::Partner { record })
            .await?;
        n_records += self
            .export_catalog(out, |record| Line::Hub { record })
            .await?;
        n_records += self
            .export_catalog(out, |record| Line::Company { record })
            .await?;
        n_records += self
            .export_catalog(out, |record| Line::Route { record })
            .await?;
        for flow in self.all_trade_flows().await? {
            write_line(out, &Line::TradeFlow { record: flow })?;
            n_records += 1;
        }
        let mut shipments = self.shipment_batches();
        while let Some(batch) = shipments.next().await? {
            for shipment in batch {
                write_line(out, &Line::Shipment { record: shipment })?;
                n_records += 1;
            }
        }
        out.flush().map_err(write_error)?;
        Ok(n_records)
    }

    async fn export_catalog<R: Catalog>(
        &self,
        out: &mut impl Write,
        line: impl Fn(R) -> Line,
    ) -> Result<u64> {
        let records = self.all::<R>().await?;
        let n_records = records.len() as u64;
        for record in records {
            write_line(out, &line(record))?;
        }
        Ok(n_records)
    }

    /// Restores a backup written by [`Store::export`] into this database,
    /// which must be empty, and returns how many records it wrote. Every
    /// line is checked; errors name the line. Shipments keep their ids and
    /// bookkeeping and are written in batches, each in transactions with
    /// their index entries and counters. A failed import leaves the records
    /// written so far: start again in a new, empty database.
    pub async fn import(&self, input: impl BufRead) -> Result<u64> {
        self.refuse_unless_empty().await?;
        let mut header: Option<(bool, u64)> = None;
        let mut batch: Vec<ShipmentWrite> = Vec::with_capacity(RESTORE_BATCH);
        let mut batch_lines = 0..=0;
        let mut n_records = 0;
        for (index, line) in input.lines().enumerate() {
            let number = index + 1;
            let line = line.map_err(|source| Error::Io {
                context: format!("cannot read line {number} of the backup"),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            if header.is_none() {
                header = Some(read_header(&line, number)?);
                continue;
            }
            let parsed: Line =
                serde_json::from_str(&line).map_err(|error| json_error(number, &error))?;
            match parsed {
                Line::Header { .. } => {
                    return Err(line_error(number, "a second header line"));
                }
                Line::National { record } => self.restore_catalog(record, number).await?,
                Line::Province { record } => self.restore_catalog(record, number).await?,
                Line::Partner { record } => self.restore_catalog(record, number).await?,
                Line::Hub { record } => self.restore_catalog(record, number).await?,
                Line::Company { record } => self.restore_catalog(record, number).await?,
                Line::Route { record } => self.restore_catalog(record, number).await?,
                Line::TradeFlow { record } => self.restore_trade_flow(&record, number).await?,
                Line::Shipment { record } => {
                    check_restored_shipment(&record, number)?;
                    if batch.is_empty() {
                        batch_lines = number..=number;
                    }
                    batch_lines = *batch_lines.start()..=number;
                    batch.push(ShipmentWrite::Restore(record));
                    if batch.len() == RESTORE_BATCH {
                        self.restore_shipments(std::mem::take(&mut batch), &batch_lines)
                            .await?;
                    }
                }
            }
            n_records += 1;
        }
        let Some((seeded, next_shipment_id)) = header else {
            return Err(Error::bad_input(
                "the backup is empty: its first line must be the header",
            ));
        };
        if !batch.is_empty() {
            self.restore_shipments(batch, &batch_lines).await?;
        }
        self.raise_next_shipment_id(next_shipment_id).await?;
        if seeded {
            self.mark_seeded().await?;
        }
        self.flush().await?;
        Ok(n_records)
    }

    /// Whether the database holds records, or has been seeded.
    pub async fn holds_records(&self) -> Result<bool> {
        // `meta` holds the format version and the database id from the
        // first open on; anything in another space is data.
        for space in Space::ALL.into_iter().filter(|space| *space != Space::Meta) {
            if self.batches(space).next().await?.is_some() {
                return Ok(true);
            }
        }
        self.is_seeded().await
    }

    /// Refuses to import over records: a restore must not mix with them.
    async fn refuse_unless_empty(&self) -> Result<()> {
        if !self.holds_records().await? {
            Ok(())
        } else {
            Err(Error::bad_input(
                "the database is not empty: import restores into an empty database only; use a new data directory",
            ))
        }
    }

    async fn restore_catalog<R: Catalog>(&self, record: R, number: usize) -> Result<()> {
        let code = record.code();
        if self.get::<R>(&code).await?.is_some() {
            return Err(line_error(
                number,
                format!("a second {} with code {code}", R::KIND),
            ));
        }
        self.put(&record).await
    }

    async fn restore_trade_flow(&self, flow: &TradeFlow, number: usize) -> Result<()> {
        let key = TradeFlowKey {
            province: flow.province.clone(),
            partner: flow.partner.clone(),
            year: flow.year,
        };
        if self.trade_flow(&key).await?.is_some() {
            return Err(line_error(
                number,
                "a second trade flow with the same province, partner and year",
            ));
        }
        self.put_trade_flow(flow).await
    }

    /// Writes a batch of restored shipments; a refusal names its lines.
    async fn restore_shipments(
        &self,
        batch: Vec<ShipmentWrite>,
        lines: &RangeInclusive<usize>,
    ) -> Result<()> {
        match self.write_shipments(batch).await {
            Ok(_) => Ok(()),
            Err(Error::BadInput(message)) => Err(Error::bad_input(format!(
                "lines {} to {}: {message}",
                lines.start(),
                lines.end()
            ))),
            Err(other) => Err(other),
        }
    }
}

/// Reads the header line: it must come first and be of this format version.
fn read_header(line: &str, number: usize) -> Result<(bool, u64)> {
    let version: HeaderVersion =
        serde_json::from_str(line).map_err(|error| json_error(number, &error))?;
    if version.kind != "header" {
        return Err(line_error(
            number,
            format!(
                "the first line must be the header, got kind {:?}",
                version.kind
            ),
        ));
    }
    match version.format_version {
        Some(BACKUP_FORMAT_VERSION) => {}
        Some(other) => {
            return Err(line_error(
                number,
                format!("backup format version {other} is not supported; this build reads version {BACKUP_FORMAT_VERSION}"),
            ))
        }
        None => return Err(line_error(number, "the header has no formatVersion")),
    }
    match serde_json::from_str(line).map_err(|error| json_error(number, &error))? {
        Line::Header {
            seeded,
            next_shipment_id,
            ..
        } => Ok((seeded, next_shipment_id)),
        _ => Err(line_error(number, "the first line must be the header")),
    }
}

/// Refuses a shipment no write could have stored: one without an id or a
/// reference, which its indexes need. Its fields are otherwise restored as
/// they were, even if today's input rules would refuse them, since a
/// restore must not lose what the database held.
fn check_restored_shipment(shipment: &Shipment, number: usize) -> Result<()> {
    if shipment.id.0 == 0 {
        return Err(line_error(number, "shipment id must be at least 1, got 0"));
    }
    if shipment.reference.is_empty() {
        return Err(line_error(
            number,
            format!("shipment {}: reference must not be empty", shipment.id),
        ));
    }
    Ok(())
}

fn write_line(out: &mut impl Write, line: &Line) -> Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(|error| write_error(error.into()))?;
    out.write_all(b"\n").map_err(write_error)
}

fn write_error(source: std::io::Error) -> Error {
    Error::Io {
        context: "cannot write the backup".into(),
        source,
    }
}

/// A refused line of a backup.
fn line_error(number: usize, message: impl std::fmt::Display) -> Error {
    Error::bad_input(format!("line {number}: {message}"))
}

/// A line that is not the JSON expected, with serde_json's position within
/// the line (when it knows one) as a column rather than as a line of its own.
fn json_error(number: usize, error: &serde_json::Error) -> Error {
    let message = error.to_string();
    if error.line() == 0 {
        return line_error(number, message);
    }
    let position = format!(" at line {} column {}", error.line(), error.column());
    let message = message.strip_suffix(&position).unwrap_or(&message);
    Error::bad_input(format!(
        "line {number}, column {}: {message}",
        error.column()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;
    use crate::store::StoreOptions;

    async fn open(dir: &tempfile::TempDir) -> Store {
        Store::open(dir.path(), StoreOptions::new(1 << 20))
            .await
            .unwrap()
    }

    async fn export(store: &Store) -> String {
        let mut out = Vec::new();
        store.export(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn an_export_restores_to_the_same_bytes_and_the_same_next_id() {
        let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = open(&first_dir).await;
        seed::apply(&first, &seed::load(None).unwrap())
            .await
            .unwrap();
        seed::add_synthetic_shipments(&first, 3).await.unwrap();
        let last = first
            .shipment_by_reference("SYN-00000003")
            .await
            .unwrap()
            .unwrap();
        let changed = first
            .shipment_by_reference("SYN-00000001")
            .await
            .unwrap()
            .unwrap();
        first
            .write_shipments(vec![
                ShipmentWrite::Delete {
                    id: last.id,
                    expected_version: None,
                },
                ShipmentWrite::Replace {
                    shipment: Shipment {
                        cargo: "drones".into(),
                        ..changed
                    },
                    expected_version: Some(1),
                },
            ])
            .await
            .unwrap();
        let mut flow = first.all_trade_flows().await.unwrap().remove(0);
        flow.growth_percent = Some(12.5);
        first.record_trade_flow(flow).await.unwrap();
        let exported = export(&first).await;

        let second = open(&second_dir).await;
        let n_records = second.import(exported.as_bytes()).await.unwrap();

        assert_eq!(export(&second).await, exported);
        assert_eq!(n_records, exported.lines().count() as u64 - 1);
        assert_eq!(
            exported.lines().next().unwrap(),
            format!(
                r#"{{"kind":"header","formatVersion":1,"seeded":true,"nextShipmentId":{}}}"#,
                last.id.0 + 1
            )
        );
        assert_eq!(second.next_shipment_id().await.unwrap(), last.id.0 + 1);
        assert!(second.is_seeded().await.unwrap());
        assert!(second.check().await.unwrap().is_consistent());
        assert!(exported.contains(r#""cargo":"drones","#));
        assert!(exported.contains(r#""meta":{"version":2,"origin":"Api"}"#));
    }

    /// On etcd, seeding (the seed data, then synthetic shipments in bulk)
    /// and importing a backup of 200 shipments commit in transactions
    /// within etcd's operations, and the import's fill them more than half.
    #[cfg(feature = "etcd")]
    #[tokio::test]
    async fn on_etcd_seeding_and_importing_commit_within_its_transactions() {
        use crate::store::backend::{etcd::test_options, EtcdBackend, MAX_TXN_OPS};
        use std::sync::Arc;
        let on_etcd = || async {
            let backend = Arc::new(EtcdBackend::open(test_options()).await.unwrap());
            (backend.clone(), Store::over(backend, "etcd").await.unwrap())
        };
        let (seeded_backend, seeded) = on_etcd().await;
        let (restored_backend, restored) = on_etcd().await;

        seed::apply(&seeded, &seed::load(None).unwrap())
            .await
            .unwrap();
        seed::add_synthetic_shipments(&seeded, 200).await.unwrap();
        let exported = export(&seeded).await;
        restored.import(exported.as_bytes()).await.unwrap();

        assert_eq!(export(&restored).await, exported);
        assert_eq!(restored.synthetic_count().await.unwrap(), 200);
        assert!(restored.check().await.unwrap().is_consistent());
        let largest = seeded_backend.largest_commit();
        assert!(largest <= MAX_TXN_OPS, "{largest}");
        let largest = restored_backend.largest_commit();
        assert!(
            largest <= MAX_TXN_OPS && largest > MAX_TXN_OPS / 2,
            "{largest}"
        );
    }

    #[tokio::test]
    async fn bad_backups_are_refused_with_the_line() {
        let header = r#"{"kind":"header","formatVersion":1,"seeded":false,"nextShipmentId":1}"#;
        let cases = [
            ("", "the backup is empty: its first line must be the header"),
            (
                r#"{"kind":"header","formatVersion":2}"#,
                "line 1: backup format version 2 is not supported; this build reads version 1",
            ),
            (
                r#"{"kind":"province"}"#,
                r#"line 1: the first line must be the header, got kind "province""#,
            ),
            (
                &format!("{header}\n\n{{\"kind\":\"planet\",\"record\":{{}}}}"),
                "line 3, column 16: unknown variant `planet`, expected one of `header`, `national`, `province`, `partner`, `hub`, `company`, `route`, `tradeFlow`, `shipment`",
            ),
            (
                &format!("{header}\n{header}"),
                "line 2: a second header line",
            ),
            (
                &format!("{header}\nnot json"),
                "line 2, column 2: expected ident",
            ),
        ];
        for (backup, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let error = open(&dir)
                .await
                .import(backup.as_bytes())
                .await
                .err()
                .unwrap();
            assert_eq!(error.to_string(), expected, "{backup}");
        }
    }

    #[tokio::test]
    async fn a_database_with_records_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        seed::apply(&store, &seed::load(None).unwrap())
            .await
            .unwrap();
        let backup = export(&store).await;

        let error = store.import(backup.as_bytes()).await.err().unwrap();

        assert_eq!(
            error.to_string(),
            "the database is not empty: import restores into an empty database only; use a new data directory"
        );
    }
}
