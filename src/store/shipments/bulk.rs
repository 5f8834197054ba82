//! Bulk inserts: many generated shipments written straight into their key
//! spaces, for seeding synthetic shipments while nothing else writes.
//!
//! The transactional path reads and rewrites the blocks of about eighteen
//! index entries per shipment and commits them with checks. Here each chunk
//! of shipments is turned into its records and references in memory (with
//! the same functions a write uses) and loaded in bulk; the index entries
//! of the whole run are merged into each scope's blocks once, at the end,
//! and only the counters go through commits, the last ones.
//!
//! Crash safety comes from a marker instead of atomicity. The run's ids
//! are taken first, and the marker (its numbers and first id) is written to
//! `meta` and flushed before the first entry, and removed by the last of
//! the commits that raise the counters. Until the first of them the
//! counters do not count the run (each notes how far they got, so none is
//! raised twice), and every start finishes an unfinished run before
//! anything else by writing all of it again: a source makes the same
//! shipment from the same number, ids follow from the marker, and merging
//! entries into blocks keeps each entry once, so writing again puts the
//! same values under the same keys. While the marker is present,
//! transactional shipment writes are refused.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::{blocks, entries_of, reference_taken};
use crate::domain::{Direction, Shipment, ShipmentId};
use crate::error::{Error, Result};
use crate::store::backend::{Entry, KeyRange, Space};
use crate::store::codec::{decode, encode};
use crate::store::format::Stored;
use crate::store::keys::id_key;
use crate::store::txn::{self, transact};
use crate::store::Store;

/// The key in `meta` of the marker of an unfinished bulk insert.
pub(super) const MARKER_KEY: &[u8] = b"bulk_insert";

/// The key in `meta` of the last counter (in key order) that the end of an
/// unfinished bulk insert has raised: its counters are raised in as many
/// commits as the backend's transactions need, and a run finished again
/// skips the ones raised already.
const COUNTED_KEY: &[u8] = b"bulk_insert_counted";

/// Shipments per chunk: the entries of one chunk (about 1.5 million for
/// synthetic shipments) are held in memory and sorted before they are
/// written. Larger chunks write with better locality and hold more memory.
const CHUNK: u64 = 100_000;

/// Shipments made from their number, for [`Store::bulk_insert_shipments`].
/// The same number must always give the same shipment: that is what lets
/// an interrupted bulk insert be finished by writing it again.
pub trait ShipmentSource: Sync {
    /// The reference of shipment `number`, without making the rest of it.
    fn reference(&self, number: u64) -> String;

    /// Shipment `number`. Its id and reference are set when it is written.
    fn shipment(&self, number: u64) -> Shipment;
}

/// A bulk insert, as its marker records it: shipment `number` gets the id
/// `first_id + (number - numbers.start)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(in crate::store) struct BulkInsert {
    /// The numbers of the shipments it writes.
    pub(in crate::store) numbers: Range<u64>,
    /// The id of its first shipment.
    pub(in crate::store) first_id: u64,
}

impl BulkInsert {
    fn id(&self, number: u64) -> ShipmentId {
        ShipmentId(self.first_id + (number - self.numbers.start))
    }

    fn end_id(&self) -> u64 {
        self.first_id + (self.numbers.end - self.numbers.start)
    }
}

/// The entries of some shipments: records and references, the index
/// entries of each scope, and how much they raise each counter.
#[derive(Default)]
struct Chunk {
    records: Vec<Entry>,
    references: Vec<Entry>,
    index: IndexEntries,
    deltas: HashMap<Vec<u8>, u64>,
}

impl Chunk {
    /// Adds the entries of the shipments numbered `numbers` of `run`.
    fn add(
        &mut self,
        run: &BulkInsert,
        numbers: Range<u64>,
        source: &impl ShipmentSource,
    ) -> Result<()> {
        for number in numbers {
            let shipment = Shipment {
                id: run.id(number),
                reference: source.reference(number),
                ..source.shipment(number)
            };
            let id = id_key(shipment.id).to_vec();
            self.records.push((id.clone(), shipment.encode()?));
            self.references
                .push((shipment.reference.clone().into_bytes(), id));
            for entry in entries_of(&shipment) {
                if entry.counted {
                    *self.deltas.entry(entry.counter).or_default() += 1;
                }
                self.index
                    .entry(entry.scope)
                    .or_default()
                    .push(entry.suffix);
            }
        }
        Ok(())
    }

    /// Takes in the entries and counts of another chunk.
    fn merge(&mut self, other: Chunk) {
        self.records.extend(other.records);
        self.references.extend(other.references);
        merge_index(&mut self.index, other.index);
        merge_deltas(&mut self.deltas, other.deltas);
    }
}

/// Index entries by scope, in no order.
pub(super) type IndexEntries = HashMap<Vec<u8>, Vec<Vec<u8>>>;

/// Adds the index entries of `from` to those of `into`.
fn merge_index(into: &mut IndexEntries, from: IndexEntries) {
    for (scope, suffixes) in from {
        into.entry(scope).or_default().extend(suffixes);
    }
}

/// Adds the counter rises of `from` to those of `into`.
fn merge_deltas(into: &mut HashMap<Vec<u8>, u64>, from: HashMap<Vec<u8>, u64>) {
    for (key, delta) in from {
        *into.entry(key).or_default() += delta;
    }
}

impl Store {
    /// Inserts the shipments `source` makes for `numbers`, with ids from the
    /// next one, and all their index entries and counters, much faster than
    /// [`Store::write_shipments`] but only while nothing else writes
    /// shipments (seeding, before the server listens, or the `seed` command,
    /// which holds the database). Fails before writing anything when a
    /// reference is taken. Calls `progress` with the number of shipments
    /// written after each chunk. Returns once everything is on disk.
    ///
    /// A crash or error part way leaves a marker, and until
    /// [`Store::finish_bulk_insert`] completes the run, counters do not
    /// count it and shipment writes are refused.
    pub async fn bulk_insert_shipments(
        &self,
        numbers: Range<u64>,
        source: &impl ShipmentSource,
        progress: impl FnMut(u64),
    ) -> Result<u64> {
        let run = self.begin_bulk_insert(numbers, source).await?;
        self.run_bulk_insert(&run, source, progress).await
    }

    /// Checks that a run can start, takes its ids and writes its marker,
    /// on disk before any of its entries.
    async fn begin_bulk_insert(
        &self,
        numbers: Range<u64>,
        source: &impl ShipmentSource,
    ) -> Result<BulkInsert> {
        if let Some(unfinished) = self.bulk_insert_marker().await? {
            return Err(unfinished_error(&unfinished));
        }
        self.refuse_taken_references(numbers.clone(), source)
            .await?;
        let n_shipments = numbers.end - numbers.start;
        let first_id = self
            .backend
            .allocate(Space::Meta, super::NEXT_ID_KEY, n_shipments)
            .await?;
        let run = BulkInsert { numbers, first_id };
        let marker = encode(&run)?;
        transact!(self, |txn| {
            if let Some(other) = txn.get(Space::Meta, MARKER_KEY).await? {
                return Err(unfinished_error(&decode(&other, "bulk insert marker")?));
            }
            txn.put(Space::Meta, MARKER_KEY, marker.clone());
        })?;
        self.backend.flush().await?;
        Ok(run)
    }

    /// The numbers of the shipments of a bulk insert that has not finished,
    /// if any: a crash or an error interrupted it.
    pub async fn unfinished_bulk_insert(&self) -> Result<Option<Range<u64>>> {
        Ok(self.bulk_insert_marker().await?.map(|run| run.numbers))
    }

    /// Finishes a bulk insert a crash or error interrupted, by writing all
    /// of it again from `source`, which must be the source it was started
    /// with. Call it before anything else writes shipments. Returns how many
    /// shipments the run adds, 0 when no run was unfinished.
    pub async fn finish_bulk_insert(
        &self,
        source: &impl ShipmentSource,
        progress: impl FnMut(u64),
    ) -> Result<u64> {
        match self.bulk_insert_marker().await? {
            Some(run) => self.run_bulk_insert(&run, source, progress).await,
            None => Ok(0),
        }
    }

    /// Refuses a run whose references are stored already or repeat: found
    /// before anything is written, so that such a run leaves no marker
    /// behind that every start would fail to finish.
    async fn refuse_taken_references(
        &self,
        numbers: Range<u64>,
        source: &impl ShipmentSource,
    ) -> Result<()> {
        let mut references: Vec<String> = numbers.map(|number| source.reference(number)).collect();
        references.sort_unstable();
        if let Some(pair) = references.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(reference_taken(&pair[0]));
        }
        let (Some(first), Some(last)) = (references.first(), references.last()) else {
            return Ok(());
        };
        // One scan over the span of the run's references finds every stored
        // one among them; for a run of new references the span is empty.
        let mut range = KeyRange::new(
            std::ops::Bound::Included(first.as_bytes().to_vec()),
            std::ops::Bound::Included(last.as_bytes().to_vec()),
        );
        loop {
            let stored = self
                .backend
                .scan(
                    Space::ShipmentsByReference,
                    &range,
                    Direction::Ascending,
                    1024,
                )
                .await?;
            for (key, _) in &stored {
                if let Ok(found) =
                    references.binary_search_by(|reference| reference.as_bytes().cmp(key))
                {
                    return Err(reference_taken(&references[found]));
                }
            }
            match stored.last() {
                Some((last, _)) if stored.len() == 1024 => {
                    range.lower = std::ops::Bound::Excluded(last.clone())
                }
                _ => return Ok(()),
            }
        }
    }

    /// Writes the records and references of `run` chunk by chunk, then
    /// its index entries merged into the index, then its counters in one
    /// commit that also removes its marker. The index entries of the whole
    /// run are held until the end (about 60 bytes each, 18 a shipment), so
    /// that each scope's blocks are written once.
    async fn run_bulk_insert(
        &self,
        run: &BulkInsert,
        source: &impl ShipmentSource,
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        let mut deltas = HashMap::new();
        let mut index = IndexEntries::new();
        let mut start = run.numbers.start;
        while start < run.numbers.end {
            let end = run.numbers.end.min(start.saturating_add(CHUNK));
            let chunk = build_chunk(run, start..end, source)?;
            merge_deltas(&mut deltas, chunk.deltas);
            merge_index(&mut index, chunk.index);
            self.backend
                .bulk_load(vec![
                    (Space::Shipments, chunk.records),
                    (Space::ShipmentsByReference, chunk.references),
                ])
                .await?;
            progress(end - start);
            start = end;
        }
        self.merge_into_index(index).await?;
        self.end_bulk_insert(run, &deltas).await?;
        Ok(run.numbers.end - run.numbers.start)
    }

    /// Merges index entries into the index, scope by scope, while nothing
    /// else writes: each scope's blocks are rewritten with its new entries
    /// (see `blocks::bulk_merge`), the new blocks written before the old
    /// keys are removed, so that a run interrupted here is repaired by
    /// merging the same entries again.
    pub(super) async fn merge_into_index(&self, index: IndexEntries) -> Result<()> {
        let (mut written, mut removed) = (Vec::new(), Vec::new());
        for (scope, suffixes) in index {
            let (blocks, old) = blocks::bulk_merge(
                self.backend.as_ref(),
                Space::ShipmentIndex,
                &scope,
                suffixes,
            )
            .await?;
            written.extend(blocks);
            removed.extend(old);
        }
        self.backend
            .bulk_load(vec![(Space::ShipmentIndex, written)])
            .await?;
        self.backend
            .bulk_remove(vec![(Space::ShipmentIndex, removed)])
            .await
    }

    /// The commits that finish a run: they add its counts to the stored
    /// counters, in key order and as many at a time as a transaction holds
    /// (on sled all at once), each noting the last counter it raised. The
    /// last also makes sure the next id is past the run's shipments (a run
    /// begun by an older release took no ids ahead) and removes the
    /// marker. Returns once it is on disk.
    async fn end_bulk_insert(
        &self,
        run: &BulkInsert,
        deltas: &HashMap<Vec<u8>, u64>,
    ) -> Result<()> {
        let marker = encode(run)?;
        let mut deltas: Vec<(&Vec<u8>, &u64)> = deltas.iter().collect();
        deltas.sort_unstable();
        // A run finished again skips the counters an earlier try raised.
        let mut counted = self.backend.get(Space::Meta, COUNTED_KEY).await?;
        let from = counted.as_ref().map_or(0, |last| {
            deltas.partition_point(|(key, _)| key.as_slice() <= last.as_slice())
        });
        let rest = &deltas[from..];
        txn::in_batches(rest.len(), async |batch: Range<usize>| {
            let last = batch.end == rest.len();
            let now = &rest[batch];
            transact!(self, |txn| {
                if txn.get(Space::Meta, MARKER_KEY).await?.as_deref() != Some(marker.as_slice())
                    || txn.get(Space::Meta, COUNTED_KEY).await? != counted
                {
                    return Err(Error::Corrupt(
                        "the marker of a bulk insert changed while it ran".into(),
                    ));
                }
                for (key, delta) in now {
                    txn.increment(Space::ShipmentCounts, (*key).clone(), **delta as i64);
                }
                if last {
                    super::raise_next_id(&mut txn, run.end_id()).await?;
                    txn.delete(Space::Meta, MARKER_KEY);
                    txn.delete(Space::Meta, COUNTED_KEY);
                } else if let Some((key, _)) = now.last() {
                    txn.put(Space::Meta, COUNTED_KEY, (*key).clone());
                }
            })?;
            if let Some((key, _)) = now.last() {
                counted = Some((*key).clone());
            }
            Ok(())
        })
        .await?;
        self.backend.flush().await
    }
}

/// The entries of the shipments numbered `numbers` of `run`, made by one
/// thread per core, each from its share of the numbers.
fn build_chunk(
    run: &BulkInsert,
    numbers: Range<u64>,
    source: &impl ShipmentSource,
) -> Result<Chunk> {
    let n_threads = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let share = (numbers.end - numbers.start).div_ceil(n_threads).max(1);
    std::thread::scope(|scope| {
        let builders: Vec<_> = (numbers.start..numbers.end)
            .step_by(share as usize)
            .map(|start| {
                let end = numbers.end.min(start + share);
                scope.spawn(move || {
                    let mut chunk = Chunk::default();
                    chunk.add(run, start..end, source).map(|()| chunk)
                })
            })
            .collect();
        let mut chunk = Chunk::default();
        for builder in builders {
            let built = builder
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            chunk.merge(built);
        }
        Ok(chunk)
    })
}

/// The error of a write while a bulk insert is unfinished.
pub(super) fn unfinished_error(run: &BulkInsert) -> Error {
    Error::Corrupt(format!(
        "a bulk insert of shipments {}..{} (ids from {}) is unfinished; restart the server or run `seed` to finish it",
        run.numbers.start, run.numbers.end, run.first_id
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed;
    use crate::store::{ScanBudget, ShipmentWrite, StoreOptions};
    use std::sync::Arc;

    /// The seed file's shipments over and over, each under its own
    /// reference: every facet and both orders get entries.
    struct Cycled(Vec<Shipment>);

    impl ShipmentSource for Cycled {
        fn reference(&self, number: u64) -> String {
            format!("BULK-{number:05}")
        }

        fn shipment(&self, number: u64) -> Shipment {
            self.0[number as usize % self.0.len()].clone()
        }
    }

    const N: u64 = 250;
    /// The shipments of the seed files.
    const N_SEEDED: u64 = 4;

    fn options() -> StoreOptions {
        StoreOptions::new(1 << 20)
    }

    /// A store with the seed data, and a source of shipments.
    async fn seeded() -> (tempfile::TempDir, Store, Cycled) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), options()).await.unwrap();
        let data = seed::load(None).unwrap();
        seed::apply(&store, &data).await.unwrap();
        (dir, store, Cycled(data.shipments))
    }

    /// Every key and value of every space but `meta`, whose revision and
    /// database id differ between any two databases, and the next id; the
    /// index as
    /// the entries its blocks hold, since how they are packed depends on
    /// the order they came in (a bulk merge fills blocks, splits halve them).
    async fn contents(store: &Store) -> Vec<(Space, Vec<Entry>)> {
        let mut contents = Vec::new();
        for space in Space::ALL {
            let raw = store.raw_entries(space).await;
            let entries = match space {
                Space::Meta => raw
                    .into_iter()
                    .filter(|(key, _)| key == super::super::NEXT_ID_KEY)
                    .collect(),
                Space::ShipmentIndex => {
                    let mut verifier = blocks::Verifier::new(space, super::super::scope_len);
                    let mut entries = Vec::new();
                    for (key, value) in raw {
                        let verified = verifier.verify_block(&key, &value);
                        assert_eq!(verified.problems, Vec::<String>::new());
                        entries.extend(
                            verified
                                .entries
                                .into_iter()
                                .map(|entry| (entry, Vec::new())),
                        );
                    }
                    entries
                }
                _ => raw,
            };
            contents.push((space, entries));
        }
        contents
    }

    async fn n_shipments(store: &Store) -> u64 {
        store
            .shipment_counts(&[Default::default()], &Arc::new(ScanBudget::unlimited()))
            .await
            .unwrap()[0]
    }

    #[tokio::test]
    async fn a_bulk_insert_stores_what_transactions_store() {
        let (_bulk_dir, bulk, source) = seeded().await;
        let (_dir, transactional, _) = seeded().await;

        let mut reported = 0;
        let added = bulk
            .bulk_insert_shipments(0..N, &source, |n| reported += n)
            .await
            .unwrap();
        let writes = (0..N)
            .map(|number| {
                ShipmentWrite::insert(Shipment {
                    reference: source.reference(number),
                    ..source.shipment(number)
                })
            })
            .collect();
        transactional.write_shipments(writes).await.unwrap();

        assert_eq!((added, reported), (N, N));
        assert!(contents(&bulk).await == contents(&transactional).await);
        assert_eq!(bulk.check().await.unwrap().problems, Vec::<String>::new());
        assert_eq!(n_shipments(&bulk).await, N_SEEDED + N);
        assert_eq!(bulk.unfinished_bulk_insert().await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_interrupted_bulk_insert_is_refused_reported_and_finished_on_the_next_open() {
        let (dir, store, source) = seeded().await;
        let (_done_dir, done, _) = seeded().await;
        done.bulk_insert_shipments(0..N, &source, |_| {})
            .await
            .unwrap();
        // A crash after part of the entries, before the final commit.
        let run = store.begin_bulk_insert(0..N, &source).await.unwrap();
        let half = build_chunk(&run, 0..N / 2, &source).unwrap();
        store
            .backend
            .bulk_load(vec![
                (Space::Shipments, half.records),
                (Space::ShipmentsByReference, half.references),
            ])
            .await
            .unwrap();
        store.flush().await.unwrap();
        let first_id = run.first_id;

        let report = store.check().await.unwrap();
        let refused = store
            .write_shipments(vec![ShipmentWrite::insert(source.shipment(0))])
            .await
            .unwrap_err();
        let store = store.reopen(dir.path(), options()).await.unwrap();
        let unfinished = store.unfinished_bulk_insert().await.unwrap();
        let added = store.finish_bulk_insert(&source, |_| {}).await.unwrap();

        assert_eq!(
            report.problems[0],
            format!("meta: a bulk insert of shipments 0..{N} (ids from {first_id}) is unfinished; its counters are not written yet")
        );
        assert_eq!(
            refused.to_string(),
            Error::Corrupt(format!("a bulk insert of shipments 0..{N} (ids from {first_id}) is unfinished; restart the server or run `seed` to finish it")).to_string()
        );
        assert_eq!((unfinished, added), (Some(0..N), N));
        assert_eq!(store.check().await.unwrap().problems, Vec::<String>::new());
        assert_eq!(n_shipments(&store).await, N_SEEDED + N);
        assert!(contents(&store).await == contents(&done).await);
    }

    /// The seed file's shipments, each from a shipper of its own: a run
    /// with more counters than one etcd transaction holds.
    #[cfg(feature = "etcd")]
    struct Shippers(Cycled);

    #[cfg(feature = "etcd")]
    impl ShipmentSource for Shippers {
        fn reference(&self, number: u64) -> String {
            self.0.reference(number)
        }

        fn shipment(&self, number: u64) -> Shipment {
            Shipment {
                shipper: Some(
                    crate::domain::CompanyCode::parse(&format!("SHIPPER-{number:04}")).unwrap(),
                ),
                ..self.0.shipment(number)
            }
        }
    }

    /// On etcd, a run whose counters do not fit one transaction raises
    /// them in several; one interrupted after the first of them raises
    /// each of the rest once when it is finished.
    #[cfg(feature = "etcd")]
    #[tokio::test]
    async fn on_etcd_a_run_raises_more_counters_than_a_transaction_holds_once_each() {
        use crate::store::backend::{etcd::test_options, EtcdBackend, MAX_TXN_OPS};
        const WIDE: u64 = 300;
        let on_etcd = || async {
            let backend = Arc::new(EtcdBackend::open(test_options()).await.unwrap());
            let store = Store::over(backend.clone(), "etcd").await.unwrap();
            let data = seed::load(None).unwrap();
            seed::apply(&store, &data).await.unwrap();
            (backend, store, Shippers(Cycled(data.shipments)))
        };
        let (whole_backend, whole, source) = on_etcd().await;
        let (_, interrupted, _) = on_etcd().await;
        // The state a crash after the first commit of counters leaves: all
        // entries written, the counters up to one raised and noted.
        let run = interrupted
            .begin_bulk_insert(0..WIDE, &source)
            .await
            .unwrap();
        let chunk = build_chunk(&run, 0..WIDE, &source).unwrap();
        let mut deltas: Vec<_> = chunk.deltas.into_iter().collect();
        deltas.sort_unstable();
        let (first, _) = deltas.split_at(60);
        let raised: Result<_> = async {
            transact!(&interrupted, |txn| {
                for (key, delta) in first {
                    txn.increment(Space::ShipmentCounts, key.clone(), *delta as i64);
                }
                txn.put(Space::Meta, COUNTED_KEY, first.last().unwrap().0.clone());
            })
        }
        .await;
        raised.unwrap();

        whole
            .bulk_insert_shipments(0..WIDE, &source, |_| {})
            .await
            .unwrap();
        let finished = interrupted
            .finish_bulk_insert(&source, |_| {})
            .await
            .unwrap();

        assert!(deltas.len() > MAX_TXN_OPS, "{} counters", deltas.len());
        let largest = whole_backend.largest_commit();
        assert!(largest <= MAX_TXN_OPS, "{largest}");
        assert_eq!(finished, WIDE);
        for store in [&whole, &interrupted] {
            assert_eq!(store.check().await.unwrap().problems, Vec::<String>::new());
            assert_eq!(n_shipments(store).await, N_SEEDED + WIDE);
            assert_eq!(store.unfinished_bulk_insert().await.unwrap(), None);
        }
        assert!(contents(&interrupted).await == contents(&whole).await);
    }

    #[tokio::test]
    async fn a_bulk_insert_with_a_taken_reference_writes_nothing() {
        let (_dir, store, source) = seeded().await;
        store
            .bulk_insert_shipments(0..10, &source, |_| {})
            .await
            .unwrap();
        let before = contents(&store).await;

        let error = store
            .bulk_insert_shipments(5..15, &source, |_| {})
            .await
            .unwrap_err();

        assert_eq!(error.to_string(), reference_taken("BULK-00005").to_string());
        assert!(contents(&store).await == before);
    }
}
