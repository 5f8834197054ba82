//! Bulk inserts: many generated shipments written straight into their trees,
//! for seeding synthetic shipments while nothing else writes.
//!
//! The transactional path costs a multi-tree transaction per few thousand
//! shipments, each with about nineteen key writes that the transaction
//! reads back and checks. Here each chunk of shipments is turned into its
//! entries in memory (with the same key functions a transaction uses),
//! every tree's entries are sorted so that consecutive inserts land on the
//! same pages, and the trees are written by one thread per core. Only the
//! counters and the next id go through a transaction, the last one.
//!
//! Crash safety comes from a marker instead of atomicity. The marker (the
//! run's numbers and first id) is written to `meta` and flushed before the
//! first entry, and removed by the final transaction, the one that raises
//! the counters and the next id. Until then the counters and the next id do
//! not count the run, and every start finishes an unfinished run before
//! anything else by writing all of it again: a source makes the same
//! shipment from the same number, and ids follow from the marker, so
//! writing again puts the same values under the same keys. While the
//! marker is present, transactional shipment writes are refused, since they
//! would hand out ids the run has used.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::{
    abort, counter_key, decode_counter, for_each_entry, outside_transaction, reference_taken,
    NEXT_ID_KEY,
};
use crate::domain::{Shipment, ShipmentId};
use crate::error::{Error, Result};
use crate::store::codec::{decode, encode};
use crate::store::keys::id_key;
use crate::store::Store;

/// The key in `meta` of the marker of an unfinished bulk insert.
pub(super) const MARKER_KEY: &[u8] = b"bulk_insert";

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
pub(super) struct BulkInsert {
    /// The numbers of the shipments it writes.
    pub(super) numbers: Range<u64>,
    /// The id of its first shipment.
    pub(super) first_id: u64,
}

impl BulkInsert {
    fn id(&self, number: u64) -> ShipmentId {
        ShipmentId(self.first_id + (number - self.numbers.start))
    }

    fn end_id(&self) -> u64 {
        self.first_id + (self.numbers.end - self.numbers.start)
    }
}

/// Where each tree's entries sit in a [`Chunk`]: the records, the
/// references, then one slot per facet in the order of `FACETS`.
const RECORD_SLOT: usize = 0;
const REFERENCE_SLOT: usize = 1;
const FIRST_INDEX_SLOT: usize = 2;
const N_SLOTS: usize = FIRST_INDEX_SLOT + super::FACETS.len();

/// Keys and values to insert into one tree.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The entries of some shipments, by tree, and how much they raise each
/// counter.
struct Chunk {
    entries: Vec<Entries>,
    deltas: HashMap<Vec<u8>, u64>,
}

impl Chunk {
    fn new() -> Self {
        Self {
            entries: vec![Vec::new(); N_SLOTS],
            deltas: HashMap::new(),
        }
    }

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
            self.entries[RECORD_SLOT].push((id.clone(), encode(&shipment)?));
            self.entries[REFERENCE_SLOT].push((shipment.reference.clone().into_bytes(), id));
            for_each_entry(&shipment, |facet, value, keys| {
                let slot = &mut self.entries[FIRST_INDEX_SLOT + facet.index()];
                slot.extend(keys.map(|key| (key, Vec::new())));
                *self.deltas.entry(counter_key(facet, value)).or_default() += 1;
                Ok(())
            })
            .map_err(outside_transaction)?;
        }
        Ok(())
    }

    /// Takes in the entries and counts of another chunk.
    fn merge(&mut self, other: Chunk) {
        for (mine, theirs) in self.entries.iter_mut().zip(other.entries) {
            mine.extend(theirs);
        }
        merge_deltas(&mut self.deltas, other.deltas);
    }
}

/// Adds the counter rises of `from` to those of `into`.
fn merge_deltas(into: &mut HashMap<Vec<u8>, u64>, from: HashMap<Vec<u8>, u64>) {
    for (key, delta) in from {
        *into.entry(key).or_default() += delta;
    }
}

/// How many threads share the work: one per core.
fn n_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
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
    /// [`Store::finish_bulk_insert`] completes the run, counters and the
    /// next id do not count it and shipment writes are refused.
    pub fn bulk_insert_shipments(
        &self,
        numbers: Range<u64>,
        source: &impl ShipmentSource,
        progress: impl FnMut(u64),
    ) -> Result<u64> {
        let run = self.begin_bulk_insert(numbers, source)?;
        self.run_bulk_insert(&run, source, progress)
    }

    /// Checks that a run can start and writes its marker, on disk before
    /// any of its entries.
    fn begin_bulk_insert(
        &self,
        numbers: Range<u64>,
        source: &impl ShipmentSource,
    ) -> Result<BulkInsert> {
        if let Some(unfinished) = self.bulk_insert_marker()? {
            return Err(unfinished_error(&unfinished));
        }
        self.refuse_taken_references(numbers.clone(), source)?;
        let run = BulkInsert {
            numbers,
            first_id: self.next_shipment_id()?,
        };
        self.trees.meta.insert(MARKER_KEY, encode(&run)?)?;
        self.flush()?;
        Ok(run)
    }

    /// The numbers of the shipments of a bulk insert that has not finished,
    /// if any: a crash or an error interrupted it.
    pub fn unfinished_bulk_insert(&self) -> Result<Option<Range<u64>>> {
        Ok(self.bulk_insert_marker()?.map(|run| run.numbers))
    }

    /// Finishes a bulk insert a crash or error interrupted, by writing all
    /// of it again from `source`, which must be the source it was started
    /// with. Call it before anything else writes shipments. Returns how many
    /// shipments the run adds, 0 when no run was unfinished.
    pub fn finish_bulk_insert(
        &self,
        source: &impl ShipmentSource,
        progress: impl FnMut(u64),
    ) -> Result<u64> {
        match self.bulk_insert_marker()? {
            Some(run) => self.run_bulk_insert(&run, source, progress),
            None => Ok(0),
        }
    }

    /// The marker of an unfinished bulk insert.
    pub(super) fn bulk_insert_marker(&self) -> Result<Option<BulkInsert>> {
        self.trees
            .meta
            .get(MARKER_KEY)?
            .map(|bytes| decode(&bytes, "bulk insert marker"))
            .transpose()
    }

    /// Refuses a run whose references are stored already or repeat: found
    /// before anything is written, so that such a run leaves no marker
    /// behind that every start would fail to finish.
    fn refuse_taken_references(
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
        let stored = &self.trees.shipments.by_reference;
        for key in stored.range(first.as_bytes()..=last.as_bytes()).keys() {
            let key = key?;
            if let Ok(found) =
                references.binary_search_by(|reference| reference.as_bytes().cmp(&key))
            {
                return Err(reference_taken(&references[found]));
            }
        }
        Ok(())
    }

    /// Writes every entry of `run`, chunk by chunk, then its counters and
    /// the next id in one transaction that also removes its marker.
    fn run_bulk_insert(
        &self,
        run: &BulkInsert,
        source: &impl ShipmentSource,
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        let mut deltas = HashMap::new();
        let mut start = run.numbers.start;
        while start < run.numbers.end {
            let end = run.numbers.end.min(start.saturating_add(CHUNK));
            let chunk = build_chunk(run, start..end, source)?;
            merge_deltas(&mut deltas, chunk.deltas);
            self.write_entries(chunk.entries)?;
            progress(end - start);
            start = end;
        }
        self.end_bulk_insert(run, &deltas)?;
        Ok(run.numbers.end - run.numbers.start)
    }

    /// Writes each tree's entries, sorted, one tree at a time per thread,
    /// the largest first. Plain inserts, not `apply_batch`: a batch holds
    /// sled's global write lock, which would let one thread write at a time.
    fn write_entries(&self, entries: Vec<Entries>) -> Result<()> {
        let trees = &self.trees.shipments;
        let mut jobs: Vec<(&sled::Tree, Entries)> = entries
            .into_iter()
            .enumerate()
            .map(|(slot, entries)| {
                let tree = match slot {
                    RECORD_SLOT => &trees.records,
                    REFERENCE_SLOT => &trees.by_reference,
                    index => &trees.indexes[index - FIRST_INDEX_SLOT],
                };
                (tree, entries)
            })
            .collect();
        // Longest first, each to the least loaded thread.
        jobs.sort_by_key(|(_, entries)| std::cmp::Reverse(entries.len()));
        let mut shares: Vec<(usize, Vec<_>)> = (0..n_threads()).map(|_| (0, Vec::new())).collect();
        for job in jobs {
            if let Some(share) = shares.iter_mut().min_by_key(|(load, _)| *load) {
                share.0 += job.1.len();
                share.1.push(job);
            }
        }
        std::thread::scope(|scope| {
            let writers: Vec<_> = shares
                .into_iter()
                .map(|(_, jobs)| {
                    scope.spawn(move || -> Result<()> {
                        for (tree, mut entries) in jobs {
                            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                            for (key, value) in entries {
                                tree.insert(key, value)?;
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            writers.into_iter().try_for_each(join)
        })
    }

    /// The one transaction that finishes a run: adds its counts to the
    /// stored counters, sets the next id past its shipments and removes its
    /// marker. Returns once it is on disk.
    fn end_bulk_insert(&self, run: &BulkInsert, deltas: &HashMap<Vec<u8>, u64>) -> Result<()> {
        let trees = &self.trees.shipments;
        (&trees.counts, &self.trees.meta)
            .transaction(|(counts, meta)| {
                let next_id = decode_counter(meta.get(NEXT_ID_KEY)?.as_deref())
                    .map_err(abort)?
                    .max(1);
                if next_id != run.first_id {
                    return Err(abort(Error::Corrupt(format!(
                        "next_shipment_id is {next_id}, but the unfinished bulk insert starts at id {}",
                        run.first_id
                    ))));
                }
                for (key, delta) in deltas {
                    let count = decode_counter(counts.get(key)?.as_deref()).map_err(abort)?;
                    counts.insert(key.as_slice(), &(count + delta).to_be_bytes())?;
                }
                meta.insert(NEXT_ID_KEY, &run.end_id().to_be_bytes())?;
                meta.remove(MARKER_KEY)?;
                Ok(())
            })
            .map_err(crate::store::from_transaction)?;
        self.commit.committed();
        self.flush()
    }
}

/// The entries of the shipments numbered `numbers` of `run`, made by one
/// thread per core, each from its share of the numbers.
fn build_chunk(
    run: &BulkInsert,
    numbers: Range<u64>,
    source: &impl ShipmentSource,
) -> Result<Chunk> {
    let n_threads = n_threads() as u64;
    let share = (numbers.end - numbers.start).div_ceil(n_threads).max(1);
    std::thread::scope(|scope| {
        let builders: Vec<_> = (numbers.start..numbers.end)
            .step_by(share as usize)
            .map(|start| {
                let end = numbers.end.min(start + share);
                scope.spawn(move || {
                    let mut chunk = Chunk::new();
                    chunk.add(run, start..end, source).map(|()| chunk)
                })
            })
            .collect();
        let mut chunk = Chunk::new();
        for builder in builders {
            chunk.merge(join(builder)?);
        }
        Ok(chunk)
    })
}

/// The result of a thread; its panic, a bug, goes on in the caller.
fn join<T>(thread: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
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
    use crate::store::{ShipmentWrite, StoreOptions};

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
    fn seeded() -> (tempfile::TempDir, Store, Cycled) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), options()).unwrap();
        let data = seed::load(None).unwrap();
        seed::apply(&store, &data).unwrap();
        (dir, store, Cycled(data.shipments))
    }

    /// Every key and value of every tree, by tree name (sled lists the
    /// names in no fixed order).
    fn contents(store: &Store) -> Vec<(Vec<u8>, Entries)> {
        let mut names = store.db.tree_names();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let tree = store.db.open_tree(&name).unwrap();
                let entries = tree
                    .iter()
                    .map(|entry| {
                        let (key, value) = entry.unwrap();
                        (key.to_vec(), value.to_vec())
                    })
                    .collect();
                (name.to_vec(), entries)
            })
            .collect()
    }

    fn n_shipments(store: &Store) -> u64 {
        store.shipment_counts(&[Default::default()]).unwrap()[0]
    }

    #[test]
    fn a_bulk_insert_stores_what_transactions_store() {
        let (_bulk_dir, bulk, source) = seeded();
        let (_dir, transactional, _) = seeded();

        let mut reported = 0;
        let added = bulk
            .bulk_insert_shipments(0..N, &source, |n| reported += n)
            .unwrap();
        let writes = (0..N)
            .map(|number| {
                ShipmentWrite::insert(Shipment {
                    reference: source.reference(number),
                    ..source.shipment(number)
                })
            })
            .collect();
        transactional.write_shipments(writes).unwrap();

        assert_eq!((added, reported), (N, N));
        assert!(contents(&bulk) == contents(&transactional));
        assert_eq!(bulk.check().unwrap().problems, Vec::<String>::new());
        assert_eq!(n_shipments(&bulk), N_SEEDED + N);
        assert_eq!(bulk.unfinished_bulk_insert().unwrap(), None);
    }

    #[test]
    fn an_interrupted_bulk_insert_is_refused_reported_and_finished_on_the_next_open() {
        let (dir, store, source) = seeded();
        let (_done_dir, done, _) = seeded();
        done.bulk_insert_shipments(0..N, &source, |_| {}).unwrap();
        // A crash after part of the entries, before the final transaction.
        let run = store.begin_bulk_insert(0..N, &source).unwrap();
        let half = build_chunk(&run, 0..N / 2, &source).unwrap();
        store.write_entries(half.entries).unwrap();
        store.flush().unwrap();
        let first_id = run.first_id;

        let report = store.check().unwrap();
        let refused = store
            .write_shipments(vec![ShipmentWrite::insert(source.shipment(0))])
            .unwrap_err();
        let store = store.reopen(dir.path(), options()).unwrap();
        let unfinished = store.unfinished_bulk_insert().unwrap();
        let added = store.finish_bulk_insert(&source, |_| {}).unwrap();

        assert_eq!(
            report.problems[0],
            format!("meta: a bulk insert of shipments 0..{N} (ids from {first_id}) is unfinished; its counters and the next id are not written yet")
        );
        assert_eq!(
            refused.to_string(),
            Error::Corrupt(format!("a bulk insert of shipments 0..{N} (ids from {first_id}) is unfinished; restart the server or run `seed` to finish it")).to_string()
        );
        assert_eq!((unfinished, added), (Some(0..N), N));
        assert_eq!(store.check().unwrap().problems, Vec::<String>::new());
        assert_eq!(n_shipments(&store), N_SEEDED + N);
        assert!(contents(&store) == contents(&done));
    }

    #[test]
    fn a_bulk_insert_with_a_taken_reference_writes_nothing() {
        let (_dir, store, source) = seeded();
        store.bulk_insert_shipments(0..10, &source, |_| {}).unwrap();
        let before = contents(&store);

        let error = store
            .bulk_insert_shipments(5..15, &source, |_| {})
            .unwrap_err();

        assert_eq!(error.to_string(), reference_taken("BULK-00005").to_string());
        assert!(contents(&store) == before);
    }
}
