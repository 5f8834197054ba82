//! The blocks against a model, and each way a block can be corrupt.
use std::collections::BTreeSet;
use std::ops::RangeBounds;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;
use crate::store::backend::{Commit, CommitRecord, Outcome};
use crate::store::txn::transact;
use crate::store::{Store, StoreOptions};

/// A space no other test of this module's callers writes blocks to.
const SPACE: Space = Space::ShipmentIndex;
/// Two neighbouring scopes in the layout's shape: tag, value, 0, order.
const SCOPE_A: &[u8] = b"\x13R1\x00d";
const SCOPE_B: &[u8] = b"\x13R1\x00q";

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::new(1 << 20))
        .await
        .unwrap();
    (dir, store)
}

/// A suffix in the layout's shape: a sort key (1, then two bytes) and
/// an 8-byte id.
fn suffix(sort: u16, id: u64) -> Vec<u8> {
    [&[1][..], &sort.to_be_bytes(), &id.to_be_bytes()].concat()
}

/// The scopes of the tests end after the first 0 and the order byte.
fn scope_len(key: &[u8]) -> Option<usize> {
    key.iter().position(|byte| *byte == 0).map(|at| at + 2)
}

/// Every problem `Verifier` finds in the space, and every entry.
async fn verify_space(store: &Store) -> (Vec<String>, Vec<Vec<u8>>) {
    let mut verifier = Verifier::new(SPACE, scope_len);
    let (mut problems, mut entries) = (Vec::new(), Vec::new());
    for (key, value) in store.raw_entries(SPACE).await {
        let verified = verifier.verify_block(&key, &value);
        problems.extend(verified.problems);
        entries.extend(verified.entries);
    }
    (problems, entries)
}

/// What `scan` must return, from the model.
fn model_scan(
    model: &BTreeSet<Vec<u8>>,
    scope: &[u8],
    range: &KeyRange,
    direction: Direction,
    n: usize,
) -> Vec<Vec<u8>> {
    let bounds = (range.lower.clone(), range.upper.clone());
    let within = model
        .iter()
        .filter(|key| key.starts_with(scope) && bounds.contains(*key))
        .cloned();
    match direction {
        Direction::Ascending => within.take(n).collect(),
        Direction::Descending => within.rev().take(n).collect(),
    }
}

fn model_count(model: &BTreeSet<Vec<u8>>, scope: &[u8], range: &KeyRange) -> u64 {
    model_scan(model, scope, range, Direction::Ascending, usize::MAX).len() as u64
}

/// A bound for a random query: often a stored key, sometimes a key
/// between entries, the scope's own ends or a key of the other scope.
fn random_bound(
    rng: &mut fastrand::Rng,
    scope: &[u8],
    model: &BTreeSet<Vec<u8>>,
) -> Bound<Vec<u8>> {
    let key = match rng.u8(..10) {
        0 => scope.to_vec(),
        1 => open_end(scope),
        2 => [SCOPE_A, SCOPE_B][rng.usize(..2)].to_vec(),
        3..=5 if !model.is_empty() => model.iter().nth(rng.usize(..model.len())).unwrap().clone(),
        _ => [scope, &suffix(rng.u16(..40), rng.u64(..60))].concat(),
    };
    match rng.u8(..5) {
        0 => Unbounded,
        1 | 2 => Included(key),
        _ => Excluded(key),
    }
}

/// Random scans and counts over both scopes equal the model's.
async fn check_queries(
    store: &Store,
    model: &BTreeSet<Vec<u8>>,
    rng: &mut fastrand::Rng,
    n_queries: usize,
) -> Result<()> {
    for _ in 0..n_queries {
        let scope = [SCOPE_A, SCOPE_B][rng.usize(..2)];
        let range = KeyRange::new(
            random_bound(rng, scope, model),
            random_bound(rng, scope, model),
        );
        let n = [0, 1, 2, 20, 63, 64, 65, 200, usize::MAX][rng.usize(..9)];
        for direction in [Direction::Ascending, Direction::Descending] {
            let found = scan(store.backend.as_ref(), SPACE, scope, &range, direction, n).await?;
            let expected = model_scan(model, scope, &range, direction, n);
            assert_eq!(found, expected, "{range:?} {direction:?} {n}");
        }
        let counted = count(
            store.backend.as_ref(),
            SPACE,
            scope,
            &range,
            &ScanBudget::unlimited(),
        )
        .await?;
        assert_eq!(counted, model_count(model, scope, &range), "{range:?}");
    }
    Ok(())
}

async fn insert_all(store: &Store, scope: &[u8], suffixes: &[Vec<u8>]) -> Result<()> {
    transact!(store, |txn| {
        for suffix in suffixes {
            insert(&mut txn, SPACE, scope, suffix).await?;
        }
    })?;
    Ok(())
}

/// Writes what `bulk_merge` returns, or only its blocks when
/// `interrupted` (a run that stopped before removing old blocks).
async fn apply_bulk_merge(
    store: &Store,
    scope: &[u8],
    new: Vec<Vec<u8>>,
    interrupted: bool,
) -> Result<()> {
    let backend = store.backend.as_ref();
    let (blocks, old) = bulk_merge(backend, SPACE, scope, new).await?;
    backend.bulk_load(vec![(SPACE, blocks)]).await?;
    if !interrupted {
        backend.bulk_remove(vec![(SPACE, old)]).await?;
    }
    Ok(())
}

#[tokio::test]
async fn scans_and_counts_equal_a_model_through_random_inserts_and_removes() -> Result<()> {
    for seed in [7, 2024] {
        let (_dir, store) = store().await;
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut model = BTreeSet::<Vec<u8>>::new();
        for step in 0..420 {
            // Mostly inserts first, so blocks split; mostly removes
            // after, so blocks empty and move.
            let removing = if step < 240 { 2 } else { 7 };
            let mut ops = Vec::new();
            for _ in 0..rng.usize(1..=8) {
                let scope = [SCOPE_A, SCOPE_B][rng.usize(..2)];
                let present: Vec<&Vec<u8>> =
                    model.iter().filter(|key| key.starts_with(scope)).collect();
                if rng.u8(..10) < removing && !present.is_empty() {
                    let key = present[rng.usize(..present.len())].clone();
                    model.remove(&key);
                    ops.push((scope, key[scope.len()..].to_vec(), false));
                } else {
                    let suffix = suffix(rng.u16(..40), rng.u64(..60));
                    model.insert([scope, &suffix].concat());
                    ops.push((scope, suffix, true));
                }
            }
            transact!(&store, |txn| {
                for (scope, suffix, inserting) in &ops {
                    if *inserting {
                        insert(&mut txn, SPACE, scope, suffix).await?;
                    } else {
                        remove(&mut txn, SPACE, scope, suffix).await?;
                    }
                }
            })?;
            if step % 10 == 9 {
                check_queries(&store, &model, &mut rng, 8).await?;
            }
            if step % 50 == 49 {
                let (problems, entries) = verify_space(&store).await;
                assert_eq!(problems, Vec::<String>::new());
                assert_eq!(entries, model.iter().cloned().collect::<Vec<_>>());
            }
            if step == 239 {
                // The inserts split blocks many times over (about 570
                // entries in 13 blocks with these seeds).
                let n_blocks = store.raw_entries(SPACE).await.len();
                assert!(n_blocks >= 12, "{n_blocks} blocks");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn several_entries_go_into_one_block_in_one_transaction() -> Result<()> {
    let (_dir, store) = store().await;
    let suffixes: Vec<Vec<u8>> = (0..5).map(|id| suffix(3, id)).collect();

    // In reverse, so each insert lands before the last one's.
    insert_all(
        &store,
        SCOPE_A,
        &suffixes.iter().rev().cloned().collect::<Vec<_>>(),
    )
    .await?;

    let stored = store.raw_entries(SPACE).await;
    assert_eq!(stored, vec![(open_end(SCOPE_A), encode_block(&suffixes))]);
    Ok(())
}

#[tokio::test]
async fn a_split_in_a_transaction_is_seen_by_its_later_inserts() -> Result<()> {
    let (_dir, store) = store().await;
    let suffixes: Vec<Vec<u8>> = (0..200).map(|id| suffix(0, id)).collect();

    insert_all(&store, SCOPE_A, &suffixes).await?;

    let (problems, entries) = verify_space(&store).await;
    assert_eq!(problems, Vec::<String>::new());
    let expected: Vec<Vec<u8>> = suffixes
        .iter()
        .map(|each| [SCOPE_A, each].concat())
        .collect();
    assert_eq!(entries, expected);
    // Appends split the open end in halves: 32, 32, 32, 32, 32, 40.
    let sizes: Vec<usize> = store
        .raw_entries(SPACE)
        .await
        .iter()
        .map(|(key, value)| decode_block(SPACE, key, value).map(|each| each.len()))
        .collect::<Result<_>>()?;
    assert_eq!(sizes, [32, 32, 32, 32, 32, 40]);
    Ok(())
}

#[tokio::test]
async fn inserting_a_present_entry_changes_nothing() -> Result<()> {
    let (_dir, store) = store().await;
    insert_all(&store, SCOPE_A, &[suffix(1, 1), suffix(1, 2)]).await?;
    let before = store.raw_entries(SPACE).await;

    insert_all(&store, SCOPE_A, &[suffix(1, 2)]).await?;

    assert_eq!(store.raw_entries(SPACE).await, before);
    Ok(())
}

/// Inserts `mine` in a transaction that, on its first run only, lets
/// another writer insert `theirs` between its read and its commit.
async fn race(store: &Store, mine: &[u8], theirs: &[u8]) -> Result<u32> {
    let mut attempts = 0;
    transact!(store, |txn| {
        attempts += 1;
        insert(&mut txn, SPACE, SCOPE_A, mine).await?;
        if attempts == 1 {
            insert_all(store, SCOPE_A, &[theirs.to_vec()]).await?;
        }
    })?;
    Ok(attempts)
}

#[tokio::test]
async fn a_conflicting_transaction_runs_again_and_both_writes_land() -> Result<()> {
    let (_dir, store) = store().await;

    // Both create the open end: its checked absence conflicts.
    let attempts = race(&store, &suffix(1, 1), &suffix(1, 2)).await?;
    assert_eq!(attempts, 2);
    // Both change the block they found.
    let attempts = race(&store, &suffix(1, 3), &suffix(1, 4)).await?;
    assert_eq!(attempts, 2);

    let all = KeyRange::all();
    let found = scan(
        store.backend.as_ref(),
        SPACE,
        SCOPE_A,
        &all,
        Direction::Ascending,
        10,
    )
    .await?;
    let expected: Vec<Vec<u8>> = (1..=4)
        .map(|id| [SCOPE_A, &suffix(1, id)].concat())
        .collect();
    assert_eq!(found, expected);
    Ok(())
}

#[tokio::test]
async fn a_split_by_another_writer_makes_a_transaction_run_again() -> Result<()> {
    let (_dir, store) = store().await;
    let full: Vec<Vec<u8>> = (0..MAX_ENTRIES as u64)
        .map(|id| suffix(1, id * 2))
        .collect();
    insert_all(&store, SCOPE_A, &full).await?;

    // Theirs splits the block that holds mine.
    let attempts = race(&store, &suffix(1, 3), &suffix(1, 5)).await?;

    assert_eq!(attempts, 2);
    let (problems, entries) = verify_space(&store).await;
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(entries.len(), MAX_ENTRIES + 2);
    Ok(())
}

#[tokio::test]
async fn removing_every_entry_leaves_no_key() -> Result<()> {
    let (_dir, store) = store().await;
    let mut suffixes: Vec<Vec<u8>> = (0..300).map(|id| suffix((id % 7) as u16, id)).collect();
    insert_all(&store, SCOPE_A, &suffixes).await?;
    insert_all(&store, SCOPE_B, &suffixes).await?;
    fastrand::Rng::with_seed(3).shuffle(&mut suffixes);

    for chunk in suffixes.chunks(25) {
        transact!(&store, |txn| {
            for suffix in chunk {
                remove(&mut txn, SPACE, SCOPE_A, suffix).await?;
                remove(&mut txn, SPACE, SCOPE_B, suffix).await?;
            }
        })?;
        let (problems, _) = verify_space(&store).await;
        assert_eq!(problems, Vec::<String>::new());
    }

    assert_eq!(store.raw_entries(SPACE).await, Vec::new());
    Ok(())
}

#[tokio::test]
async fn removing_an_absent_entry_is_corrupt() -> Result<()> {
    let (_dir, store) = store().await;
    insert_all(&store, SCOPE_A, &[suffix(1, 1)]).await?;

    async fn remove_one(store: &Store, scope: &[u8], suffix: &[u8]) -> Result<()> {
        transact!(store, |txn| {
            remove(&mut txn, SPACE, scope, suffix).await?;
        })?;
        Ok(())
    }

    // Absent from a block that exists, and from a scope with none.
    for (scope, absent) in [(SCOPE_A, suffix(1, 2)), (SCOPE_B, suffix(1, 1))] {
        let error = remove_one(&store, scope, &absent).await.err().unwrap();
        assert!(
            matches!(&error, Error::Corrupt(message) if message.contains("no block holds the entry")),
            "{error}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn bulk_merge_into_an_empty_scope_equals_the_model() -> Result<()> {
    let (_dir, store) = store().await;
    insert_all(&store, SCOPE_B, &[suffix(0, 0)]).await?;
    let new: Vec<Vec<u8>> = (0..100).map(|id| suffix(2, id)).collect();

    apply_bulk_merge(&store, SCOPE_A, new.clone(), false).await?;

    let (problems, entries) = verify_space(&store).await;
    assert_eq!(problems, Vec::<String>::new());
    let mut expected: Vec<Vec<u8>> = new.iter().map(|each| [SCOPE_A, each].concat()).collect();
    expected.push([SCOPE_B, &suffix(0, 0)].concat());
    assert_eq!(entries, expected);
    let keys: Vec<Vec<u8>> = store
        .raw_entries(SPACE)
        .await
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(
        keys,
        [
            [SCOPE_A, &new[47]].concat(),
            [SCOPE_A, &new[95]].concat(),
            open_end(SCOPE_A),
            open_end(SCOPE_B)
        ]
    );
    Ok(())
}

#[tokio::test]
async fn bulk_merge_into_stored_blocks_with_duplicates_equals_the_model() -> Result<()> {
    let (_dir, store) = store().await;
    let mut rng = fastrand::Rng::with_seed(11);
    let mut model = BTreeSet::<Vec<u8>>::new();
    let stored: Vec<Vec<u8>> = (0..150)
        .map(|_| suffix(rng.u16(..30), rng.u64(..50)))
        .collect();
    insert_all(&store, SCOPE_A, &stored).await?;
    insert_all(&store, SCOPE_B, &stored).await?;
    model.extend(stored.iter().map(|each| [SCOPE_A, each].concat()));
    model.extend(stored.iter().map(|each| [SCOPE_B, each].concat()));
    // Half of these are stored already, and they repeat.
    let mut new: Vec<Vec<u8>> = (0..300)
        .map(|_| suffix(rng.u16(..30), rng.u64(..50)))
        .collect();
    new.extend(stored.iter().step_by(2).cloned());
    new.sort();
    model.extend(new.iter().map(|each| [SCOPE_A, each].concat()));

    apply_bulk_merge(&store, SCOPE_A, new, false).await?;

    let (problems, entries) = verify_space(&store).await;
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(entries, model.iter().cloned().collect::<Vec<_>>());
    check_queries(&store, &model, &mut rng, 40).await?;
    // Transactions go on working on merged blocks.
    insert_all(&store, SCOPE_A, &[suffix(40, 1)]).await?;
    model.insert([SCOPE_A, &suffix(40, 1)].concat());
    check_queries(&store, &model, &mut rng, 10).await?;
    Ok(())
}

#[tokio::test]
async fn an_interrupted_bulk_merge_is_repaired_by_the_next() -> Result<()> {
    let (_dir, store) = store().await;
    let mut rng = fastrand::Rng::with_seed(5);
    let stored: Vec<Vec<u8>> = (0..200).map(|id| suffix(1, id * 3)).collect();
    insert_all(&store, SCOPE_A, &stored).await?;
    let new: Vec<Vec<u8>> = (0..400).map(|id| suffix(1, id)).collect();
    let model: BTreeSet<Vec<u8>> = stored
        .iter()
        .chain(&new)
        .map(|each| [SCOPE_A, each].concat())
        .collect();

    apply_bulk_merge(&store, SCOPE_A, new.clone(), true).await?;
    let (problems, _) = verify_space(&store).await;
    assert!(!problems.is_empty(), "the old and new blocks overlap");
    apply_bulk_merge(&store, SCOPE_A, new, false).await?;

    let (problems, entries) = verify_space(&store).await;
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(entries, model.iter().cloned().collect::<Vec<_>>());
    check_queries(&store, &model, &mut rng, 30).await?;
    assert_eq!(
        store.raw_entries(SPACE).await.len(),
        model.len().div_ceil(BULK_FILL)
    );
    Ok(())
}

/// A backend that counts the blocks it hands out.
struct Counting {
    inner: Arc<dyn Backend>,
    read: AtomicUsize,
}

#[async_trait::async_trait]
impl Backend for Counting {
    async fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.read.fetch_add(1, Ordering::Relaxed);
        self.inner.get(space, key).await
    }
    async fn get_many(&self, space: Space, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        self.read.fetch_add(keys.len(), Ordering::Relaxed);
        self.inner.get_many(space, keys).await
    }
    async fn scan(
        &self,
        space: Space,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let entries = self.inner.scan(space, range, direction, limit).await?;
        self.read.fetch_add(entries.len(), Ordering::Relaxed);
        Ok(entries)
    }
    async fn commit(&self, commit: Commit) -> Result<Outcome> {
        self.inner.commit(commit).await
    }
    async fn allocate(&self, space: Space, key: &[u8], n: u64) -> Result<u64> {
        self.inner.allocate(space, key, n).await
    }
    async fn revision(&self) -> Result<u64> {
        self.inner.revision().await
    }
    async fn changes(&self, after: u64) -> Result<Option<Vec<Arc<CommitRecord>>>> {
        self.inner.changes(after).await
    }
    fn follow_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.follow_changes()
    }
    async fn bulk_load(&self, entries: Vec<(Space, Vec<Entry>)>) -> Result<()> {
        self.inner.bulk_load(entries).await
    }
    async fn bulk_remove(&self, keys: Vec<(Space, Vec<Vec<u8>>)>) -> Result<()> {
        self.inner.bulk_remove(keys).await
    }
    async fn clear(&self, space: Space) -> Result<()> {
        self.inner.clear(space).await
    }
    async fn make_durable(&self) -> Result<()> {
        self.inner.make_durable().await
    }
    async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }
    fn size_on_disk(&self) -> Result<Option<u64>> {
        self.inner.size_on_disk()
    }
    async fn exclusive(&self, name: &str) -> Result<crate::store::backend::Exclusive> {
        self.inner.exclusive(name).await
    }
}

#[tokio::test]
async fn a_scan_of_20_from_the_middle_of_10000_reads_at_most_2_blocks() -> Result<()> {
    let (_dir, store) = store().await;
    let new: Vec<Vec<u8>> = (0..10_000).map(|id| suffix((id / 7) as u16, id)).collect();
    let model: BTreeSet<Vec<u8>> = new.iter().map(|each| [SCOPE_A, each].concat()).collect();
    apply_bulk_merge(&store, SCOPE_A, new.clone(), false).await?;
    assert_eq!(
        store.raw_entries(SPACE).await.len(),
        10_000usize.div_ceil(BULK_FILL)
    );
    let counting = Counting {
        inner: store.backend.clone(),
        read: AtomicUsize::new(0),
    };

    // Bounds at the start, the middle and the end of a block.
    for at in [4992, 5000, 5020, 5039, 5040] {
        let key = [SCOPE_A, &new[at]].concat();
        for range in [
            KeyRange::new(Included(key.clone()), Unbounded),
            KeyRange::new(Excluded(key.clone()), Unbounded),
            KeyRange::new(Unbounded, Included(key.clone())),
            KeyRange::new(Unbounded, Excluded(key.clone())),
        ] {
            let direction = match range.lower {
                Unbounded => Direction::Descending,
                _ => Direction::Ascending,
            };
            counting.read.store(0, Ordering::Relaxed);
            let found = scan(&counting, SPACE, SCOPE_A, &range, direction, 20).await?;
            assert_eq!(found, model_scan(&model, SCOPE_A, &range, direction, 20));
            let read = counting.read.load(Ordering::Relaxed);
            assert!(read <= 2, "{read} blocks for {range:?}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_block_is_stored_as_these_bytes() {
    let entries = vec![vec![1, 2, 3], vec![1, 2, 4], vec![1, 9]];

    let bytes = encode_block(&entries);

    assert_eq!(bytes, [1, 3, 0, 3, 1, 2, 3, 2, 1, 4, 1, 1, 9]);
    assert_eq!(decode_block(SPACE, b"k", &bytes).unwrap(), entries);
}

proptest::proptest! {
    /// Adding an entry to a block's bytes in place gives the bytes of the
    /// block encoded afresh with the entry, and nothing when it is there.
    #[test]
    fn an_entry_added_in_place_encodes_as_the_block_made_afresh(
        block in proptest::collection::btree_set(
            proptest::collection::vec(0u8..4, 1..6),
            0..24,
        ),
        added in proptest::collection::vec(0u8..4, 1..6),
    ) {
        let entries: Vec<Vec<u8>> = block.iter().cloned().collect();
        let mut expected = block.clone();
        let is_new = expected.insert(added.clone());
        let expected: Vec<Vec<u8>> = expected.into_iter().collect();

        let in_place = with_entry(&encode_block(&entries), &added).unwrap();

        let expected = is_new.then(|| encode_block(&expected));
        proptest::prop_assert_eq!(in_place, expected);
    }
}

#[test]
fn an_entry_is_not_added_in_place_to_a_block_out_of_order() {
    let bytes = encode_block(&[vec![1, 5], vec![1, 2]]);

    let refused = with_entry(&bytes, &[1, 9]);

    assert_eq!(refused, Err("entry 1 is out of order".to_string()));
}

#[tokio::test]
async fn a_block_that_does_not_decode_is_corrupt_and_named() -> Result<()> {
    let (_dir, store) = store().await;
    insert_all(&store, SCOPE_A, &[suffix(1, 1)]).await?;
    store
        .poke(SPACE, &open_end(SCOPE_A), Some(&[1, 2, 0, 1, 7]))
        .await;

    let all = KeyRange::all();
    let error = scan(
        store.backend.as_ref(),
        SPACE,
        SCOPE_A,
        &all,
        Direction::Ascending,
        5,
    )
    .await
    .err()
    .unwrap();

    assert_eq!(
        error.to_string(),
        format!(
            "corrupt database: shipment_index: block {} does not decode: 2 entries in 3 bytes",
            show_key(&open_end(SCOPE_A))
        )
    );
    Ok(())
}

#[tokio::test]
async fn verify_names_each_kind_of_corruption() -> Result<()> {
    let (_dir, store) = store().await;
    let scope = |value: u8| vec![0x13, value, 0, b'd'];
    let key = |value: u8, suffix: &[u8]| [&scope(value)[..], suffix].concat();
    let (a, b, c) = (suffix(1, 1), suffix(1, 2), suffix(1, 3));
    let many: Vec<Vec<u8>> = (0..70).map(|id| suffix(2, id)).collect();
    let corrupt = [
        (key(b'a', &[OPEN_END]), vec![1, 5]),
        (key(b'b', &[OPEN_END]), encode_block(&[])),
        (key(b'c', &b), encode_block(&[b.clone(), a.clone()])),
        (key(b'd', &many[69]), encode_block(&many)),
        (key(b'e', &c), encode_block(&[a.clone(), b.clone()])),
        (key(b'f', &b), encode_block(&[a.clone(), b.clone()])),
        (
            key(b'f', &[OPEN_END]),
            encode_block(&[a.clone(), c.clone()]),
        ),
        (key(b'g', &[OPEN_END]), encode_block(&[vec![OPEN_END, 1]])),
        (b"no scope".to_vec(), encode_block(std::slice::from_ref(&a))),
        (
            key(b'h', &[OPEN_END]),
            encode_block(std::slice::from_ref(&a)),
        ),
    ];
    for (key, value) in &corrupt {
        store.poke(SPACE, key, Some(value)).await;
    }

    let (problems, entries) = verify_space(&store).await;

    let name = |key: &[u8]| format!("shipment_index: block {}", show_key(key));
    let [bad_bytes, empty, unsorted, too_many, misnamed, _, overlapping, open, no_scope, _] =
        corrupt.map(|(key, _)| name(&key));
    assert_eq!(
        problems,
        [
            format!("{bad_bytes} does not decode: 5 entries in 0 bytes"),
            format!("{empty} holds no entries"),
            format!("{unsorted} holds entries out of order: entry 1 is not above entry 0"),
            format!("{too_many} holds 70 entries, more than 64"),
            format!(
                "{misnamed} is neither under its largest entry {} nor the open end",
                show_key(&key(b'e', &b))
            ),
            format!(
                "{overlapping} holds the entry {}, not above the previous block {}",
                show_key(&key(b'f', &a)),
                show_key(&key(b'f', &b))
            ),
            format!("{open} holds the entry 0xff01, which is empty or starts with 0xff"),
            format!("{no_scope} is not a block key of any scope"),
        ]
    );
    // The entries of every block that decodes are handed back.
    assert_eq!(entries.len(), 2 + 70 + 2 + 2 + 2 + 1 + 1);
    Ok(())
}
