//! Upgrading a database of an older format in place, when it is opened.
//!
//! Format 1 (every release up to 56b278f) stored records as bincode of the
//! domain structs and one index space per filter with a key per entry.
//! Format 2 stores each record with its version (`format`) and packs index
//! entries into blocks (`shipments::blocks`). The upgrade carries over
//! records, counters, versions, the next id and idempotency keys, and
//! rebuilds the index for the new layout.
//!
//! It is resumable. A marker in `meta` is on disk before anything changes
//! and says how far the upgrade got: records are converted a batch at a
//! time, each batch committed together with the marker's new position, so
//! that after a crash every record up to the marker is in the new encoding
//! and every one after it in the old. The index is rebuilt from the records
//! by a merge that repairs what an interrupted rebuild left (see
//! `blocks::bulk_merge`), and the old index spaces are emptied last. The
//! format version is raised, and the marker removed, by the last commit.
//! Until then every open resumes the upgrade before anything else, so
//! nothing ever reads a half-converted database.

use serde::{Deserialize, Serialize};

use super::backend::Space;
use super::codec;
use super::format::Stored;
use super::txn::transact;
use super::{Store, FORMAT_VERSION, FORMAT_VERSION_KEY};
use crate::domain::{
    Company, Direction, FreightRoute, Hub, NationalSummary, Province, Shipment, TradeFlow,
    TradePartner,
};
use crate::error::{Error, Result};

/// The key in `meta` of the marker of an upgrade under way.
const MARKER_KEY: &[u8] = b"upgrade";

/// The spaces of records, converted in this order.
const RECORD_SPACES: [Space; 8] = [
    Space::National,
    Space::Provinces,
    Space::Partners,
    Space::Hubs,
    Space::Companies,
    Space::Routes,
    Space::TradeFlows,
    Space::Shipments,
];

/// Records converted per commit.
const BATCH: usize = 1000;

/// How far an upgrade got, as its marker records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Progress {
    /// Records of `RECORD_SPACES[space]` after `after` are not converted yet.
    Records {
        space: usize,
        after: Option<Vec<u8>>,
    },
    /// Every record is converted; the index is to be built.
    Index,
    /// The index is built; format 1's index spaces are to be emptied.
    DropFormat1,
}

/// Where an upgrade stops early: a fault injected by the tests of an
/// interrupted upgrade. In use it is always [`Until::Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Until {
    /// Run to the end.
    Done,
    /// Stop with [`Error::Storage`] after this many steps (one step is a
    /// batch of records or a phase).
    Steps(usize),
}

/// Upgrades the database behind `store` from format `from` to
/// [`FORMAT_VERSION`], or finishes the upgrade a crash interrupted.
pub(super) async fn upgrade(store: &Store, from: u32, until: Until) -> Result<()> {
    if from != 1 {
        return Err(Error::Corrupt(format!(
            "no upgrade from format {from}: this build upgrades format 1"
        )));
    }
    let mut progress = match store.backend.get(Space::Meta, MARKER_KEY).await? {
        Some(bytes) => codec::decode(&bytes, "upgrade marker")?,
        None => {
            tracing::warn!("upgrading the database from format 1 to format {FORMAT_VERSION}");
            let start = Progress::Records {
                space: 0,
                after: None,
            };
            save(store, &start).await?;
            store.backend.flush().await?;
            start
        }
    };
    let mut steps = 0;
    loop {
        if until == Until::Steps(steps) {
            return Err(Error::Storage("upgrade interrupted on purpose".into()));
        }
        steps += 1;
        progress = match progress {
            Progress::Records { space, after } => convert_batch(store, space, after).await?,
            Progress::Index => {
                store.rebuild_shipment_index().await?;
                let next = Progress::DropFormat1;
                save(store, &next).await?;
                store.backend.flush().await?;
                next
            }
            Progress::DropFormat1 => {
                for space in Space::FORMAT1_INDEXES {
                    store.backend.clear(space).await?;
                }
                transact!(store, |txn| {
                    txn.put(
                        Space::Meta,
                        FORMAT_VERSION_KEY,
                        FORMAT_VERSION.to_be_bytes(),
                    );
                    txn.delete(Space::Meta, MARKER_KEY);
                })?;
                store.backend.flush().await?;
                tracing::info!("upgraded the database to format {FORMAT_VERSION}");
                return Ok(());
            }
        };
    }
}

/// Converts the next batch of records of `RECORD_SPACES[space]` and
/// commits it with the marker's new position; returns that position.
async fn convert_batch(store: &Store, space: usize, after: Option<Vec<u8>>) -> Result<Progress> {
    let Some(&records) = RECORD_SPACES.get(space) else {
        let next = Progress::Index;
        save(store, &next).await?;
        return Ok(next);
    };
    let range = super::backend::KeyRange::new(
        after
            .clone()
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
        std::ops::Bound::Unbounded,
    );
    let batch = store
        .backend
        .scan(records, &range, Direction::Ascending, BATCH)
        .await?;
    let next = match batch.last() {
        Some((last, _)) => Progress::Records {
            space,
            after: Some(last.clone()),
        },
        None => Progress::Records {
            space: space + 1,
            after: None,
        },
    };
    let converted: Vec<(Vec<u8>, Vec<u8>)> = batch
        .into_iter()
        .map(|(key, bytes)| {
            let again = reencode(records, &bytes).unwrap_or_else(|error| {
                // A record format 1 could not read either: left as it is,
                // for `check` to name.
                tracing::warn!(space = records.name(), %error, "a record that does not decode is left as it was");
                bytes
            });
            (key, again)
        })
        .collect();
    let marker = codec::encode(&next)?;
    transact!(store, |txn| {
        for (key, bytes) in &converted {
            txn.put(records, key.clone(), bytes.clone());
        }
        txn.put(Space::Meta, MARKER_KEY, marker.clone());
    })?;
    Ok(next)
}

/// A record of `space` as format 1 stored it, in the latest encoding.
fn reencode(space: Space, bytes: &[u8]) -> Result<Vec<u8>> {
    fn again<R: Stored>(bytes: &[u8]) -> Result<Vec<u8>> {
        R::decode_format1(bytes)?.encode()
    }
    match space {
        Space::National => again::<NationalSummary>(bytes),
        Space::Provinces => again::<Province>(bytes),
        Space::Partners => again::<TradePartner>(bytes),
        Space::Hubs => again::<Hub>(bytes),
        Space::Companies => again::<Company>(bytes),
        Space::Routes => again::<FreightRoute>(bytes),
        Space::TradeFlows => again::<TradeFlow>(bytes),
        Space::Shipments => again::<Shipment>(bytes),
        other => Err(Error::Corrupt(format!(
            "{} holds no records to upgrade",
            other.name()
        ))),
    }
}

/// Records how far the upgrade got.
async fn save(store: &Store, progress: &Progress) -> Result<()> {
    let marker = codec::encode(progress)?;
    transact!(store, |txn| {
        txn.put(Space::Meta, MARKER_KEY, marker.clone());
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::*;
    use crate::store::backend::{Backend, SledBackend, SledOptions};

    const OPTIONS: SledOptions = SledOptions {
        cache_bytes: 1 << 20,
        durable: true,
    };

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1")
    }

    /// A copy of the format-1 database made by the release that wrote it.
    fn format1_copy() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(fixture().join("db")).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
            }
        }
        std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
        dir
    }

    async fn export(store: &Store) -> String {
        let mut out = Vec::new();
        store.export(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Opens the copy and stops its upgrade after `steps` steps, as a crash
    /// there would; `None` when the upgrade ended before that.
    async fn interrupt_after(dir: &Path, steps: usize) -> Option<Error> {
        let backend = Arc::new(SledBackend::open(dir, OPTIONS).unwrap());
        let opened = Store::over_until(backend.clone(), "fixture", Until::Steps(steps)).await;
        let error = opened.err();
        backend.flush().await.unwrap();
        error
    }

    #[tokio::test]
    async fn an_upgrade_interrupted_at_every_step_finishes_on_the_next_open() {
        let expected = std::fs::read_to_string(fixture().join("expected.jsonl")).unwrap();
        let mut interrupted = 0;
        for steps in 0.. {
            let dir = format1_copy();
            let Some(error) = interrupt_after(dir.path(), steps).await else {
                break;
            };
            assert_eq!(
                error.to_string(),
                "storage error: upgrade interrupted on purpose"
            );
            interrupted += 1;

            let store = Store::open_once_released(dir.path(), OPTIONS)
                .await
                .unwrap();

            assert_eq!(store.check().await.unwrap().problems, Vec::<String>::new());
            assert_eq!(
                export(&store).await,
                expected,
                "interrupted after {steps} steps"
            );
            assert_eq!(
                store.backend.get(Space::Meta, MARKER_KEY).await.unwrap(),
                None
            );
            let version = store
                .backend
                .get(Space::Meta, FORMAT_VERSION_KEY)
                .await
                .unwrap();
            assert_eq!(version, Some(FORMAT_VERSION.to_be_bytes().to_vec()));
        }
        // Each of the eight record spaces takes a batch and a step to the
        // next, then the index and the removal of format 1's indexes.
        assert_eq!(interrupted, 8 * 2 + 3);
    }

    #[tokio::test]
    async fn an_upgrade_empties_format_1_indexes_and_keeps_every_counter_and_key() {
        let dir = format1_copy();
        let before = SledBackend::open(dir.path(), OPTIONS).unwrap();
        let mut kept = Vec::new();
        for space in [
            Space::ShipmentCounts,
            Space::ShipmentIdempotencyKeys,
            Space::ShipmentsByReference,
        ] {
            let entries = before
                .scan(
                    space,
                    &super::super::backend::KeyRange::all(),
                    Direction::Ascending,
                    usize::MAX,
                )
                .await
                .unwrap();
            assert!(!entries.is_empty(), "{space:?}");
            kept.push((space, entries));
        }
        drop(before);

        let store = Store::open_once_released(dir.path(), OPTIONS)
            .await
            .unwrap();

        for (space, entries) in kept {
            assert_eq!(store.raw_entries(space).await, entries, "{space:?}");
        }
        for space in Space::FORMAT1_INDEXES {
            assert_eq!(store.raw_entries(space).await, Vec::new(), "{space:?}");
        }
        assert!(!store.raw_entries(Space::ShipmentIndex).await.is_empty());
    }
}
