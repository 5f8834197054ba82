//! The contract every [`Backend`] keeps, written once against `dyn Backend`
//! and run on each backend through a [`Harness`] that opens it.
//!
//! Each property is one `async fn` taking the harness; [`contract_tests!`]
//! turns the whole list into one `#[tokio::test]` per property, so a new
//! backend gets every property by one macro call and cannot skip one. The
//! sled instantiation is at the end of this file. What is not here: how the
//! key layout above uses a backend (records, indexes, pagination), which is
//! tested with the store.
//!
//! Every assertion is of exact values. Revisions are asserted against the
//! revisions commits return, because the contract promises that each
//! commit's revision is above every earlier one and is the revision the
//! backend then reports, not where a fresh database starts nor by how much
//! it rises: a store shared with other deployments (etcd) counts their
//! commits too.

use std::collections::HashSet;
use std::future::Future;
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::sync::{Arc, Barrier};

use super::{decode_counter, encode_counter, Backend, Change, CommitRecord, Entry, KeyRange};
use super::{Commit, Outcome, Space};
use crate::domain::Direction;
use crate::error::Error;

/// Opens the one database a test runs on. Made afresh for every test, so
/// that no test sees another's writes.
pub(crate) trait Harness {
    /// The harness's database, empty on the first call.
    async fn open(&self) -> Arc<dyn Backend>;

    /// Drops `old`, the only handle to the database, and opens the same
    /// database again: what a restart keeps is what is durable.
    async fn reopen(&self, old: Arc<dyn Backend>) -> Arc<dyn Backend>;
}

/// One `#[tokio::test]` per property of the contract, each running it on a
/// harness made by `$harness` (an expression evaluated once per test).
macro_rules! contract_tests {
    ($harness:expr) => {
        $crate::store::backend::contract::contract_tests!(
            @each $harness;
            puts_gets_and_deletes_through_commits,
            scans_within_bounds_in_both_directions_up_to_the_limit,
            a_failed_check_applies_nothing,
            a_commit_whose_checks_hold_applies_everything,
            increments_return_the_counters_after_them_and_stop_at_zero,
            concurrent_increments_are_serialized,
            each_commit_advances_the_revision,
            the_change_feed_holds_every_commit_after_a_revision,
            allocations_are_consecutive_blocks_from_one,
            concurrent_allocations_never_overlap,
            a_commit_naming_a_key_twice_is_refused,
            a_bulk_load_of_unsorted_entries_scans_sorted,
            what_is_made_durable_survives_a_reopen,
            spaces_are_separate,
            an_allocation_past_the_last_id_is_refused,
            clearing_a_space_empties_it_alone,
            a_descending_scan_of_a_large_range_returns_its_last_keys,
        );
    };
    (@each $harness:expr; $($property:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $property() {
                $crate::store::backend::contract::$property(&$harness).await;
            }
        )*
    };
}
pub(crate) use contract_tests;

/// Puts, reads and deletes through commits, one key and many at a time.
pub(crate) async fn puts_gets_and_deletes_through_commits(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    commit.put(Space::Provinces, b"a", b"1");
    commit.put(Space::Provinces, b"b", b"2");
    commit.put(Space::Provinces, b"c", b"3");
    commit_ok(&*backend, commit).await;

    // Act
    let mut commit = Commit::default();
    commit.delete(Space::Provinces, b"a");
    commit.put(Space::Provinces, b"b", b"22");
    commit.delete(Space::Provinces, b"never");
    commit_ok(&*backend, commit).await;

    // Assert
    assert_eq!(get(&*backend, Space::Provinces, b"a").await, None);
    assert_eq!(
        get(&*backend, Space::Provinces, b"b").await,
        Some(b"22".to_vec())
    );
    assert_eq!(
        get(&*backend, Space::Provinces, b"c").await,
        Some(b"3".to_vec())
    );
    assert_eq!(get(&*backend, Space::Provinces, b"never").await, None);
    let keys = [&b"c"[..], b"missing", b"b", b"a", b"c"].map(<[u8]>::to_vec);
    assert_eq!(
        backend.get_many(Space::Provinces, &keys).await.unwrap(),
        vec![
            Some(b"3".to_vec()),
            None,
            Some(b"22".to_vec()),
            None,
            Some(b"3".to_vec())
        ]
    );
    assert_eq!(
        backend.get_many(Space::Provinces, &[]).await.unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
}

/// One scan of the keys 1 to 5 and what it must return.
struct ScanCase {
    lower: Bound<u8>,
    upper: Bound<u8>,
    direction: Direction,
    limit: usize,
    keys: &'static [u8],
}

/// Scans every kind of bound in both directions, limits, and ranges that
/// hold nothing: empty ranges must return nothing rather than panic, as
/// sled and `BTreeMap` do when handed one.
pub(crate) async fn scans_within_bounds_in_both_directions_up_to_the_limit(harness: &impl Harness) {
    use Direction::{Ascending as Up, Descending as Down};
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    for key in 1..=5u8 {
        commit.put(Space::Hubs, vec![key], scanned_value(key));
    }
    // A key in a neighbouring space, which no scan of `Hubs` may return.
    commit.put(Space::Companies, vec![3], b"other space".to_vec());
    commit_ok(&*backend, commit).await;
    let case = |lower, upper, direction, limit, keys| ScanCase {
        lower,
        upper,
        direction,
        limit,
        keys,
    };
    let cases = [
        case(Unbounded, Unbounded, Up, 10, &[1, 2, 3, 4, 5]),
        case(Unbounded, Unbounded, Down, 10, &[5, 4, 3, 2, 1]),
        case(Unbounded, Unbounded, Up, 2, &[1, 2]),
        case(Unbounded, Unbounded, Down, 2, &[5, 4]),
        case(Unbounded, Unbounded, Up, usize::MAX, &[1, 2, 3, 4, 5]),
        case(Included(2), Included(4), Up, 10, &[2, 3, 4]),
        case(Included(2), Included(4), Down, 10, &[4, 3, 2]),
        case(Excluded(2), Excluded(4), Up, 10, &[3]),
        case(Excluded(2), Excluded(4), Down, 10, &[3]),
        case(Included(2), Excluded(4), Up, 10, &[2, 3]),
        case(Included(2), Excluded(4), Down, 10, &[3, 2]),
        case(Excluded(2), Included(4), Up, 10, &[3, 4]),
        case(Excluded(2), Included(4), Down, 10, &[4, 3]),
        case(Unbounded, Included(3), Up, 10, &[1, 2, 3]),
        case(Unbounded, Included(3), Down, 10, &[3, 2, 1]),
        case(Unbounded, Excluded(3), Down, 10, &[2, 1]),
        case(Included(3), Unbounded, Up, 10, &[3, 4, 5]),
        case(Excluded(3), Unbounded, Up, 10, &[4, 5]),
        case(Excluded(3), Unbounded, Down, 10, &[5, 4]),
        case(Included(2), Included(5), Up, 2, &[2, 3]),
        case(Included(2), Included(5), Down, 2, &[5, 4]),
        case(Excluded(1), Excluded(5), Down, 1, &[4]),
        // Bounds on keys that are not stored.
        case(Included(0), Included(9), Up, 10, &[1, 2, 3, 4, 5]),
        case(Excluded(6), Unbounded, Up, 10, &[]),
        case(Unbounded, Excluded(1), Down, 10, &[]),
        // A range of one key.
        case(Included(3), Included(3), Up, 10, &[3]),
        case(Included(3), Included(3), Down, 10, &[3]),
        // Ranges that hold nothing.
        case(Included(4), Included(2), Up, 10, &[]),
        case(Included(4), Included(2), Down, 10, &[]),
        case(Excluded(4), Excluded(2), Up, 10, &[]),
        case(Included(3), Excluded(3), Up, 10, &[]),
        case(Excluded(3), Included(3), Down, 10, &[]),
        case(Excluded(3), Excluded(3), Up, 10, &[]),
        case(Excluded(3), Excluded(3), Down, 10, &[]),
        // Limit 0.
        case(Unbounded, Unbounded, Up, 0, &[]),
        case(Unbounded, Unbounded, Down, 0, &[]),
        case(Included(2), Included(4), Down, 0, &[]),
    ];

    for (number, case) in cases.iter().enumerate() {
        // Act
        let range = KeyRange::new(
            case.lower.map(|key| vec![key]),
            case.upper.map(|key| vec![key]),
        );
        let scanned = backend
            .scan(Space::Hubs, &range, case.direction, case.limit)
            .await
            .unwrap();

        // Assert
        let expected: Vec<Entry> = case
            .keys
            .iter()
            .map(|key| (vec![*key], scanned_value(*key)))
            .collect();
        assert_eq!(
            scanned, expected,
            "case {number}: {range:?} {:?} limit {}",
            case.direction, case.limit
        );
    }
    // Between two adjacent keys ([3] and [3, 0]) nothing can lie, though the
    // range is not empty by comparison of its ends alone.
    let between = KeyRange::new(Excluded(vec![3]), Excluded(vec![3, 0]));
    for direction in [Up, Down] {
        assert_eq!(
            backend
                .scan(Space::Hubs, &between, direction, 10)
                .await
                .unwrap(),
            Vec::<Entry>::new(),
            "{direction:?}"
        );
    }
    assert_eq!(
        backend
            .scan(Space::Routes, &KeyRange::all(), Up, 10)
            .await
            .unwrap(),
        Vec::<Entry>::new()
    );
}

/// The value stored under `key` in the scan test, unlike the key so that a
/// scan returning keys as values fails.
fn scanned_value(key: u8) -> Vec<u8> {
    vec![key, 0xff, key]
}

/// Adds operations to a commit: one case of a table of commits.
type AddOperations = fn(&mut Commit);

/// Checks that no longer hold each stop the whole commit: none of its
/// writes, deletes or increments is applied and the revision stays.
pub(crate) async fn a_failed_check_applies_nothing(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    commit.put(Space::Partners, b"present", b"old");
    commit.put(Space::Partners, b"doomed", b"kept");
    commit_ok(&*backend, commit).await;
    let revision = revision(&*backend).await;
    // One commit per way a check fails; each also writes, deletes and
    // increments, and in one the failing check follows one that holds.
    let failing_checks: [AddOperations; 5] = [
        |commit| commit.check_absent(Space::Partners, b"present"),
        |commit| commit.check_holds(Space::Partners, b"present", None),
        |commit| {
            commit.check_holds(Space::Partners, b"present", Some(b"other".to_vec()));
        },
        |commit| {
            commit.check_holds(Space::Partners, b"missing", Some(b"old".to_vec()));
        },
        |commit| {
            commit.check_absent(Space::Partners, b"missing");
            commit.check_holds(Space::Partners, b"present", Some(b"ol".to_vec()));
        },
    ];

    for (number, add_checks) in failing_checks.iter().enumerate() {
        let mut commit = Commit::default();
        add_checks(&mut commit);
        commit.put(Space::Partners, b"present", b"new");
        commit.put(Space::Partners, b"fresh", b"new");
        commit.delete(Space::Partners, b"doomed");
        commit.increment(Space::ShipmentCounts, b"n", 5);

        // Act
        let outcome = backend.commit(commit).await.unwrap();

        // Assert
        assert_eq!(outcome, Outcome::Conflict, "commit {number}");
        assert_eq!(
            get(&*backend, Space::Partners, b"present").await,
            Some(b"old".to_vec()),
            "commit {number}"
        );
        assert_eq!(
            get(&*backend, Space::Partners, b"fresh").await,
            None,
            "commit {number}"
        );
        assert_eq!(
            get(&*backend, Space::Partners, b"doomed").await,
            Some(b"kept".to_vec()),
            "commit {number}"
        );
        assert_eq!(
            get(&*backend, Space::ShipmentCounts, b"n").await,
            None,
            "commit {number}"
        );
        assert_eq!(
            backend.revision().await.unwrap(),
            revision,
            "commit {number}"
        );
    }
}

/// A commit whose checks all hold applies every write, delete and
/// increment, including writes to the keys it checked.
pub(crate) async fn a_commit_whose_checks_hold_applies_everything(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    commit.put(Space::Partners, b"present", b"old");
    commit.put(Space::Partners, b"doomed", b"kept");
    commit_ok(&*backend, commit).await;
    let revision = revision(&*backend).await;
    let mut commit = Commit::default();
    commit.check_holds(Space::Partners, b"present", Some(b"old".to_vec()));
    commit.check_absent(Space::Partners, b"fresh");
    commit.check_holds(Space::Partners, b"missing", None);
    commit.put(Space::Partners, b"present", b"new");
    commit.put(Space::Partners, b"fresh", b"new");
    commit.delete(Space::Partners, b"doomed");
    commit.increment(Space::ShipmentCounts, b"n", 5);

    // Act
    let outcome = backend.commit(commit).await.unwrap();

    // Assert
    let Outcome::Committed {
        revision: committed,
        counters,
    } = outcome
    else {
        panic!("the commit conflicted")
    };
    assert!(committed > revision);
    assert_eq!(counters, vec![5]);
    assert_eq!(backend.revision().await.unwrap(), committed);
    assert_eq!(
        get(&*backend, Space::Partners, b"present").await,
        Some(b"new".to_vec())
    );
    assert_eq!(
        get(&*backend, Space::Partners, b"fresh").await,
        Some(b"new".to_vec())
    );
    assert_eq!(get(&*backend, Space::Partners, b"doomed").await, None);
    assert_eq!(counter(&*backend, Space::ShipmentCounts, b"n").await, 5);
}

/// Counters come back as they are after the commit, in the order of its
/// increments; they stop at 0; two increments of one key in one commit
/// merge into one.
pub(crate) async fn increments_return_the_counters_after_them_and_stop_at_zero(
    harness: &impl Harness,
) {
    // Arrange
    let backend = harness.open().await;
    let increments = |deltas: &[(&[u8], i64)]| {
        let mut commit = Commit::default();
        for (key, delta) in deltas {
            commit.increment(Space::ShipmentCounts, key.to_vec(), *delta);
        }
        commit
    };

    // Act and Assert, one commit at a time.
    let (_, counters) = commit_ok(&*backend, increments(&[(b"a", 3), (b"b", 7)])).await;
    assert_eq!(counters, vec![3, 7]);
    assert_eq!(
        get(&*backend, Space::ShipmentCounts, b"a").await,
        Some(encode_counter(3).to_vec())
    );

    let (_, counters) = commit_ok(&*backend, increments(&[(b"b", -2), (b"a", 1)])).await;
    assert_eq!(counters, vec![5, 4]);

    let (_, counters) = commit_ok(&*backend, increments(&[(b"a", -100), (b"c", -1)])).await;
    assert_eq!(counters, vec![0, 0]);
    assert_eq!(counter(&*backend, Space::ShipmentCounts, b"a").await, 0);
    assert_eq!(counter(&*backend, Space::ShipmentCounts, b"c").await, 0);

    let (_, counters) = commit_ok(&*backend, increments(&[(b"a", 1)])).await;
    assert_eq!(counters, vec![1], "a counter stopped at 0 counts on from 0");

    let merged = increments(&[(b"b", 2), (b"d", 1), (b"b", 3)]);
    assert_eq!(merged.increments.len(), 2);
    let (_, counters) = commit_ok(&*backend, merged).await;
    assert_eq!(counters, vec![10, 1]);
    assert_eq!(counter(&*backend, Space::ShipmentCounts, b"b").await, 10);

    let (_, counters) = commit_ok(&*backend, increments(&[(b"b", 0)])).await;
    assert_eq!(counters, vec![10]);
}

/// How many threads write at once in the concurrency properties.
const N_THREADS: usize = 8;
/// How many commits or allocations each of them makes.
const N_PER_THREAD: usize = 50;

/// Commits from many threads at once, each raising one counter by 1: no
/// increment is lost, each commit sees its own counter value and a
/// revision of its own, and the feed holds them in revision order with the
/// counter rising by one per commit (the counter and the revision change
/// in one atomic step).
pub(crate) async fn concurrent_increments_are_serialized(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let start = revision(&*backend).await;

    // Act
    let per_thread = on_threads(&backend, |backend| async move {
        let mut seen = Vec::with_capacity(N_PER_THREAD);
        for _ in 0..N_PER_THREAD {
            let mut commit = Commit::default();
            commit.increment(Space::ShipmentCounts, b"n", 1);
            seen.push(commit_ok(&*backend, commit).await);
        }
        seen
    })
    .await;

    // Assert
    let n_commits = (N_THREADS * N_PER_THREAD) as u64;
    assert_eq!(n_commits, 400);
    assert_eq!(
        counter(&*backend, Space::ShipmentCounts, b"n").await,
        n_commits
    );
    let mut seen: Vec<(u64, u64)> = per_thread
        .iter()
        .flatten()
        .map(|(revision, counters)| (*revision, counters[0]))
        .collect();
    seen.sort_unstable();
    assert!(seen[0].0 > start);
    assert!(
        seen.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "two commits share a revision"
    );
    // In revision order, the counter rises by one per commit.
    assert_eq!(
        seen.iter().map(|(_, counter)| *counter).collect::<Vec<_>>(),
        (1..=n_commits).collect::<Vec<_>>()
    );
    assert_eq!(revision(&*backend).await, seen[seen.len() - 1].0);
    let feed = backend.changes(start).await.unwrap().unwrap();
    let expected: Vec<CommitRecord> = seen
        .iter()
        .map(|(revision, counter)| CommitRecord {
            revision: *revision,
            changes: vec![counter_change(Space::ShipmentCounts, b"n", *counter)],
        })
        .collect();
    assert_eq!(
        feed.iter()
            .map(|record| (**record).clone())
            .collect::<Vec<_>>(),
        expected
    );
}

/// Every successful commit advances the revision and returns it, and the
/// backend then reports it; a conflicting or refused commit does not; the
/// revision survives a reopen and counts on from there.
pub(crate) async fn each_commit_advances_the_revision(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let start = revision(&*backend).await;
    let mut put = Commit::default();
    put.put(Space::National, b"2024", b"summary");
    let mut increment = Commit::default();
    increment.increment(Space::ShipmentCounts, b"n", 2);
    let mut conflicting = Commit::default();
    conflicting.check_absent(Space::National, b"2024");
    conflicting.put(Space::National, b"2025", b"summary");
    let mut refused = Commit::default();
    refused.put(Space::National, b"2026", b"one");
    refused.put(Space::National, b"2026", b"two");

    // Act and Assert
    let (first, counters) = commit_ok(&*backend, put).await;
    assert!(first > start);
    assert_eq!(counters, Vec::<u64>::new());
    assert_eq!(revision(&*backend).await, first);
    let (second, counters) = commit_ok(&*backend, increment).await;
    assert!(second > first);
    assert_eq!(counters, vec![2]);
    assert_eq!(revision(&*backend).await, second);
    assert_eq!(
        backend.commit(conflicting).await.unwrap(),
        Outcome::Conflict
    );
    assert_eq!(revision(&*backend).await, second);
    assert!(backend.commit(refused).await.is_err());
    assert_eq!(revision(&*backend).await, second);

    backend.make_durable().await.unwrap();
    let backend = harness.reopen(backend).await;
    assert_eq!(revision(&*backend).await, second);
    let mut after_reopen = Commit::default();
    after_reopen.delete(Space::National, b"2024");
    let (third, counters) = commit_ok(&*backend, after_reopen).await;
    assert!(third > second);
    assert_eq!(counters, Vec::<u64>::new());
    assert_eq!(revision(&*backend).await, third);
}

/// The feed after a revision holds exactly the commits after it, in
/// order, each with what it wrote: its writes in order (`None` for a
/// delete), then its counters with their new 8-byte values. Conflicting
/// and refused commits leave no trace.
pub(crate) async fn the_change_feed_holds_every_commit_after_a_revision(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let start = revision(&*backend).await;
    let mut first = Commit::default();
    first.put(Space::Routes, b"a", b"1");
    first.put(Space::Hubs, b"b", b"2");
    let (first_revision, _) = commit_ok(&*backend, first).await;
    let mut conflicting = Commit::default();
    conflicting.check_absent(Space::Routes, b"a");
    conflicting.put(Space::Routes, b"c", b"3");
    assert_eq!(
        backend.commit(conflicting).await.unwrap(),
        Outcome::Conflict
    );
    let mut refused = Commit::default();
    refused.put(Space::Routes, b"d", b"4");
    refused.delete(Space::Routes, b"d");
    assert!(backend.commit(refused).await.is_err());
    let mut second = Commit::default();
    second.check_holds(Space::Routes, b"a", Some(b"1".to_vec()));
    second.delete(Space::Routes, b"a");
    second.put(Space::Routes, b"e", b"5");
    second.increment(Space::ShipmentCounts, b"n", 4);
    second.increment(Space::ShipmentCounts, b"m", -1);
    let (second_revision, _) = commit_ok(&*backend, second).await;
    let first_record = Arc::new(CommitRecord {
        revision: first_revision,
        changes: vec![
            put_change(Space::Routes, b"a", b"1"),
            put_change(Space::Hubs, b"b", b"2"),
        ],
    });
    let second_record = Arc::new(CommitRecord {
        revision: second_revision,
        changes: vec![
            Change {
                space: Space::Routes,
                key: b"a".to_vec(),
                value: None,
                previous: Some(b"1".to_vec()),
            },
            put_change(Space::Routes, b"e", b"5"),
            counter_change(Space::ShipmentCounts, b"n", 4),
            counter_change(Space::ShipmentCounts, b"m", 0),
        ],
    });

    // Act
    let from_start = backend.changes(start).await.unwrap();
    let from_first = backend.changes(first_revision).await.unwrap();
    let from_now = backend.changes(second_revision).await.unwrap();

    // Assert
    assert_eq!(from_start, Some(vec![first_record, second_record.clone()]));
    assert_eq!(from_first, Some(vec![second_record]));
    assert_eq!(from_now, Some(vec![]));
    assert_eq!(revision(&*backend).await, second_revision);
    assert_eq!(*backend.follow_changes().borrow(), second_revision);
}

/// Ids start at 1 and come in consecutive blocks of the size asked for,
/// one counter per key.
pub(crate) async fn allocations_are_consecutive_blocks_from_one(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;

    // Act
    let mut firsts = Vec::new();
    for n in [1, 1, 10, 3, 1] {
        firsts.push(
            backend
                .allocate(Space::Meta, b"next_shipment", n)
                .await
                .unwrap(),
        );
    }
    let other = backend
        .allocate(Space::Meta, b"next_event", 5)
        .await
        .unwrap();

    // Assert
    assert_eq!(firsts, vec![1, 2, 3, 13, 16]);
    assert_eq!(other, 1);
    assert_eq!(
        backend
            .allocate(Space::Meta, b"next_event", 1)
            .await
            .unwrap(),
        6
    );
}

/// Allocations from many threads at once never hand out an id twice.
pub(crate) async fn concurrent_allocations_never_overlap(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    // Blocks of 1 to 4 ids, so that blocks of different sizes interleave.
    let block_size = |turn: usize| 1 + (turn % 4) as u64;

    // Act
    let per_thread = on_threads(&backend, move |backend| async move {
        let mut ids = Vec::new();
        for turn in 0..N_PER_THREAD {
            let n = block_size(turn);
            let first = backend.allocate(Space::Meta, b"next_id", n).await.unwrap();
            ids.extend(first..first + n);
        }
        ids
    })
    .await;

    // Assert
    let ids: Vec<u64> = per_thread.into_iter().flatten().collect();
    // 8 threads of 50 blocks: 123 ids each.
    let n_ids = N_THREADS as u64 * (0..N_PER_THREAD).map(block_size).sum::<u64>();
    assert_eq!(n_ids, 984);
    let distinct: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(distinct.len() as u64, n_ids, "an id was handed out twice");
    assert_eq!(ids.iter().min(), Some(&1));
    let next = backend.allocate(Space::Meta, b"next_id", 1).await.unwrap();
    assert!(
        ids.iter().all(|id| *id < next),
        "{next} was handed out before"
    );
}

/// An allocation that would run the counter past `u64::MAX` is refused and
/// hands out nothing: wrapping around would hand out ids again.
pub(crate) async fn an_allocation_past_the_last_id_is_refused(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    assert_eq!(
        backend.allocate(Space::Meta, b"next_id", 5).await.unwrap(),
        1
    );

    // Act
    let refusal = backend
        .allocate(Space::Meta, b"next_id", u64::MAX - 2)
        .await;

    // Assert
    assert!(refusal.is_err(), "{refusal:?}");
    assert_eq!(
        backend.allocate(Space::Meta, b"next_id", 1).await.unwrap(),
        6
    );
}

/// Clearing a space of the current layout, or one of an older format's,
/// removes every key in it and nothing in any other space.
pub(crate) async fn clearing_a_space_empties_it_alone(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    for space in [Space::Hubs, Space::Companies, Space::Format1ShipmentsByHub] {
        commit.put(space, b"a", b"1");
        commit.put(space, b"b", b"2");
    }
    commit_ok(&*backend, commit).await;

    // Act
    backend.clear(Space::Hubs).await.unwrap();
    backend.clear(Space::Format1ShipmentsByHub).await.unwrap();

    // Assert
    for space in [Space::Hubs, Space::Format1ShipmentsByHub] {
        assert_eq!(
            scan_all(&*backend, space, Direction::Ascending).await,
            Vec::<Entry>::new()
        );
    }
    assert_eq!(
        scan_all(&*backend, Space::Companies, Direction::Ascending).await,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec())
        ]
    );
}

/// A commit that names a key twice among its writes and increments, or
/// checks a key twice, is a bug in the layout: it is refused with an error
/// and writes nothing.
pub(crate) async fn a_commit_naming_a_key_twice_is_refused(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    commit.put(Space::Shipments, b"present", b"old");
    commit_ok(&*backend, commit).await;
    let start = revision(&*backend).await;
    let refused: [(AddOperations, &str); 6] = [
        (
            |commit| {
                commit.put(Space::Shipments, b"k", b"1");
                commit.put(Space::Shipments, b"k", b"2");
            },
            "a commit writes shipments/k twice",
        ),
        (
            |commit| {
                commit.put(Space::Shipments, b"k", b"1");
                commit.delete(Space::Shipments, b"k");
            },
            "a commit writes shipments/k twice",
        ),
        (
            |commit| {
                commit.put(Space::Shipments, b"k", encode_counter(1).to_vec());
                commit.increment(Space::Shipments, b"k", 1);
            },
            "a commit writes shipments/k twice",
        ),
        (
            |commit| {
                commit.delete(Space::Shipments, b"present");
                commit.increment(Space::Shipments, b"present", 1);
            },
            "a commit writes shipments/present twice",
        ),
        (
            |commit| {
                commit.check_absent(Space::Shipments, b"k");
                commit.check_absent(Space::Shipments, b"k");
                commit.put(Space::Shipments, b"k", b"1");
            },
            "a commit checks shipments/k twice",
        ),
        (
            |commit| {
                commit.check_absent(Space::Shipments, b"k");
                commit.check_holds(Space::Shipments, b"present", Some(b"old".to_vec()));
                commit.check_holds(Space::Shipments, b"present", Some(b"old".to_vec()));
                commit.put(Space::Shipments, b"k", b"1");
            },
            "a commit checks shipments/present twice",
        ),
    ];

    for (number, (build, message)) in refused.iter().enumerate() {
        let mut commit = Commit::default();
        build(&mut commit);
        // Writes the commit would make besides the doubled key.
        commit.put(Space::Shipments, b"bystander", b"1");

        // Act
        let refusal = backend.commit(commit).await;

        // Assert
        match refusal {
            Err(Error::Corrupt(refusal)) => assert_eq!(refusal, *message, "commit {number}"),
            other => panic!("commit {number}: {other:?}, not a refusal"),
        }
        assert_eq!(get(&*backend, Space::Shipments, b"k").await, None);
        assert_eq!(get(&*backend, Space::Shipments, b"bystander").await, None);
        assert_eq!(
            get(&*backend, Space::Shipments, b"present").await,
            Some(b"old".to_vec())
        );
        assert_eq!(revision(&*backend).await, start, "commit {number}");
        assert_eq!(backend.changes(start).await.unwrap(), Some(vec![]));
    }
}

/// Entries loaded unsorted, into two spaces at once, scan sorted and
/// complete in both directions; keys removed in bulk are gone from one
/// space and the other is untouched.
pub(crate) async fn a_bulk_load_of_unsorted_entries_scans_sorted(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let sorted = |tag: u8| -> Vec<Entry> {
        (0..300u32)
            .map(|number| {
                let key = (number * 7).to_be_bytes().to_vec();
                let mut value = vec![tag];
                value.extend_from_slice(&key);
                (key, value)
            })
            .collect()
    };
    let (companies, flows) = (sorted(b'c'), sorted(b'f'));
    let mut random = fastrand::Rng::with_seed(7);
    let (mut shuffled_companies, mut shuffled_flows) = (companies.clone(), flows.clone());
    random.shuffle(&mut shuffled_companies);
    random.shuffle(&mut shuffled_flows);
    assert_ne!(shuffled_companies, companies);

    // Act
    backend
        .bulk_load(vec![
            (Space::Companies, shuffled_companies),
            (Space::TradeFlows, shuffled_flows),
        ])
        .await
        .unwrap();

    // Assert
    for (space, expected) in [(Space::Companies, &companies), (Space::TradeFlows, &flows)] {
        let ascending = scan_all(&*backend, space, Direction::Ascending).await;
        assert_eq!(&ascending, expected, "{space:?}");
        let descending = scan_all(&*backend, space, Direction::Descending).await;
        let reversed: Vec<Entry> = expected.iter().rev().cloned().collect();
        assert_eq!(descending, reversed, "{space:?}");
    }
    let from_the_middle = backend
        .scan(
            Space::TradeFlows,
            &KeyRange::new(Excluded(700u32.to_be_bytes().to_vec()), Unbounded),
            Direction::Ascending,
            3,
        )
        .await
        .unwrap();
    assert_eq!(from_the_middle, flows[101..104].to_vec());
    assert_eq!(
        get(&*backend, Space::Companies, &14u32.to_be_bytes()).await,
        Some(companies[2].1.clone())
    );

    // Act: remove every other company in bulk, and a key that is absent.
    let removed: Vec<Vec<u8>> = companies
        .iter()
        .step_by(2)
        .map(|(key, _)| key.clone())
        .chain([b"absent".to_vec()])
        .collect();
    backend
        .bulk_remove(vec![(Space::Companies, removed)])
        .await
        .unwrap();

    // Assert
    let kept: Vec<Entry> = companies.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(
        scan_all(&*backend, Space::Companies, Direction::Ascending).await,
        kept
    );
    assert_eq!(
        scan_all(&*backend, Space::TradeFlows, Direction::Ascending).await,
        flows
    );
}

/// What was committed (puts, deletes, counters), allocated or bulk-loaded
/// and then made durable is all there after a reopen.
pub(crate) async fn what_is_made_durable_survives_a_reopen(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    backend
        .bulk_load(vec![(
            Space::TradeFlows,
            vec![
                (b"y".to_vec(), b"2".to_vec()),
                (b"x".to_vec(), b"1".to_vec()),
            ],
        )])
        .await
        .unwrap();
    let mut commit = Commit::default();
    commit.put(Space::Provinces, b"GD", b"Guangdong");
    commit.put(Space::Provinces, b"XX", b"gone");
    commit.put(Space::ShipmentIndex, b"GD/1", Vec::new());
    commit_ok(&*backend, commit).await;
    let mut commit = Commit::default();
    commit.delete(Space::Provinces, b"XX");
    commit.increment(Space::ShipmentCounts, b"n", 3);
    commit_ok(&*backend, commit).await;
    let first_id = backend.allocate(Space::Meta, b"next_id", 10).await.unwrap();
    let revision_before = revision(&*backend).await;

    // Act
    backend.make_durable().await.unwrap();
    let backend = harness.reopen(backend).await;

    // Assert
    assert_eq!(
        scan_all(&*backend, Space::Provinces, Direction::Ascending).await,
        vec![(b"GD".to_vec(), b"Guangdong".to_vec())]
    );
    assert_eq!(
        get(&*backend, Space::ShipmentIndex, b"GD/1").await,
        Some(Vec::new())
    );
    assert_eq!(counter(&*backend, Space::ShipmentCounts, b"n").await, 3);
    assert_eq!(
        scan_all(&*backend, Space::TradeFlows, Direction::Ascending).await,
        vec![
            (b"x".to_vec(), b"1".to_vec()),
            (b"y".to_vec(), b"2".to_vec())
        ]
    );
    assert_eq!(revision(&*backend).await, revision_before);
    assert_eq!(
        backend.changes(revision_before).await.unwrap(),
        Some(vec![])
    );
    assert!(
        backend.allocate(Space::Meta, b"next_id", 1).await.unwrap() >= first_id + 10,
        "an id was handed out again after the reopen"
    );
}

/// The same key in two spaces is two keys: two values, two counters, two
/// checks in one commit, and neither a delete nor a scan of one space
/// reaches the other.
pub(crate) async fn spaces_are_separate(harness: &impl Harness) {
    // Arrange
    let backend = harness.open().await;
    let mut commit = Commit::default();
    commit.check_absent(Space::Provinces, b"k");
    commit.check_absent(Space::Partners, b"k");
    commit.put(Space::Provinces, b"k", b"province");
    commit.put(Space::Partners, b"k", b"partner");
    commit.increment(Space::ShipmentCounts, b"k", 2);
    commit.increment(Space::Meta, b"k", 5);

    // Act
    let (_, counters) = commit_ok(&*backend, commit).await;
    let mut delete = Commit::default();
    delete.delete(Space::Partners, b"k");
    delete.put(Space::Hubs, b"k", b"hub");
    commit_ok(&*backend, delete).await;

    // Assert
    assert_eq!(counters, vec![2, 5]);
    assert_eq!(
        get(&*backend, Space::Provinces, b"k").await,
        Some(b"province".to_vec())
    );
    assert_eq!(get(&*backend, Space::Partners, b"k").await, None);
    assert_eq!(
        get(&*backend, Space::Hubs, b"k").await,
        Some(b"hub".to_vec())
    );
    assert_eq!(counter(&*backend, Space::ShipmentCounts, b"k").await, 2);
    assert_eq!(counter(&*backend, Space::Meta, b"k").await, 5);
    assert_eq!(
        scan_all(&*backend, Space::Provinces, Direction::Descending).await,
        vec![(b"k".to_vec(), b"province".to_vec())]
    );
    assert_eq!(
        scan_all(&*backend, Space::Partners, Direction::Ascending).await,
        Vec::<Entry>::new()
    );
    assert_eq!(
        scan_all(&*backend, Space::National, Direction::Ascending).await,
        Vec::<Entry>::new()
    );
}

/// Commits `commit`, which must apply, and returns its revision and
/// counters.
async fn commit_ok(backend: &dyn Backend, commit: Commit) -> (u64, Vec<u64>) {
    match backend.commit(commit).await.unwrap() {
        Outcome::Committed { revision, counters } => (revision, counters),
        Outcome::Conflict => panic!("a commit without failing checks conflicted"),
    }
}

async fn get(backend: &dyn Backend, space: Space, key: &[u8]) -> Option<Vec<u8>> {
    backend.get(space, key).await.unwrap()
}

async fn counter(backend: &dyn Backend, space: Space, key: &[u8]) -> u64 {
    decode_counter(get(backend, space, key).await.as_deref()).unwrap()
}

async fn revision(backend: &dyn Backend) -> u64 {
    backend.revision().await.unwrap()
}

async fn scan_all(backend: &dyn Backend, space: Space, direction: Direction) -> Vec<Entry> {
    backend
        .scan(space, &KeyRange::all(), direction, usize::MAX)
        .await
        .unwrap()
}

fn put_change(space: Space, key: &[u8], value: &[u8]) -> Change {
    Change {
        space,
        key: key.to_vec(),
        value: Some(value.to_vec()),
        previous: None,
    }
}

fn counter_change(space: Space, key: &[u8], value: u64) -> Change {
    Change {
        space,
        key: key.to_vec(),
        value: Some(encode_counter(value).to_vec()),
        previous: None,
    }
}

/// Runs `work` on [`N_THREADS`] threads at once, each with a current-thread
/// runtime of its own and a handle to `backend`, and returns what each
/// returned. Threads, not tasks: the tests' runtime has one thread, and
/// tasks on it would take turns instead of racing. The threads are started
/// from a blocking task so the test's runtime is not blocked meanwhile.
async fn on_threads<T, Work, Run>(backend: &Arc<dyn Backend>, work: Work) -> Vec<T>
where
    T: Send + 'static,
    Work: Fn(Arc<dyn Backend>) -> Run + Send + Sync + 'static,
    Run: Future<Output = T>,
{
    let backend = Arc::clone(backend);
    tokio::task::spawn_blocking(move || {
        // Every thread starts writing only once all are ready, so that they
        // overlap rather than run one after another.
        let ready = Barrier::new(N_THREADS);
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..N_THREADS)
                .map(|_| {
                    let (backend, ready, work) = (Arc::clone(&backend), &ready, &work);
                    scope.spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap();
                        ready.wait();
                        runtime.block_on(work(backend))
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|thread| {
                    thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    })
    .await
    .unwrap()
}

/// Every space is in [`Space::ALL`] once, at its own index, under a name of
/// its own: the sled backend finds a space's tree by that index and names
/// it by that name.
#[test]
fn every_space_is_listed_once_at_its_index_under_its_own_name() {
    // A match without a wildcard, so that adding a variant fails to compile
    // here until it is added to this list, to `Space::ALL` and to the count
    // below. With the count right, each variant at its own index proves
    // that `ALL` holds every variant once.
    let every_variant = |space: Space| match space {
        Space::Meta
        | Space::National
        | Space::Provinces
        | Space::Partners
        | Space::Hubs
        | Space::Companies
        | Space::Routes
        | Space::TradeFlows
        | Space::TradeFlowsByPartner
        | Space::Shipments
        | Space::ShipmentsByReference
        | Space::ShipmentCounts
        | Space::ShipmentIdempotencyKeys
        | Space::ShipmentIndex => true,
        Space::Format1ShipmentsByOrder
        | Space::Format1ShipmentsByOrigin
        | Space::Format1ShipmentsByPartner
        | Space::Format1ShipmentsByRoute
        | Space::Format1ShipmentsByShipper
        | Space::Format1ShipmentsByHub
        | Space::Format1ShipmentsByMode
        | Space::Format1ShipmentsBySynthetic => false,
    };

    let every: Vec<Space> = Space::ALL
        .iter()
        .chain(&Space::FORMAT1_INDEXES)
        .copied()
        .collect();
    let names: HashSet<&str> = every.iter().map(|space| space.name()).collect();

    assert_eq!(Space::ALL.len(), 14);
    assert_eq!(Space::FORMAT1_INDEXES.len(), 8);
    assert_eq!(names.len(), every.len());
    for (place, space) in Space::ALL.iter().enumerate() {
        assert_eq!(space.index(), Some(place), "{space:?}");
        assert!(every_variant(*space), "{space:?}");
    }
    for space in Space::FORMAT1_INDEXES {
        assert_eq!(space.index(), None, "{space:?}");
        assert!(!every_variant(space), "{space:?}");
    }
}

/// A descending scan with a limit returns the last keys of a range far
/// larger than the limit, in reverse order, whatever its bounds: a
/// backend may not answer it by reading the whole range's values, but it
/// must answer it exactly.
pub(crate) async fn a_descending_scan_of_a_large_range_returns_its_last_keys(
    harness: &impl Harness,
) {
    // Arrange: 3,000 keys of two lengths, and keys in the spaces around.
    let backend = harness.open().await;
    let key = |n: u32| -> Vec<u8> {
        match n % 3 {
            0 => n.to_be_bytes().to_vec(),
            _ => [&n.to_be_bytes()[..], b"-long"].concat(),
        }
    };
    let entries: Vec<Entry> = (0..3000u32)
        .map(|n| (key(n), n.to_string().into_bytes()))
        .collect();
    backend
        .bulk_load(vec![
            (Space::ShipmentIndex, entries),
            (
                Space::ShipmentCounts,
                vec![(b"z".to_vec(), b"after".to_vec())],
            ),
            (
                Space::ShipmentIdempotencyKeys,
                vec![(b"a".to_vec(), b"b".to_vec())],
            ),
        ])
        .await
        .unwrap();
    let values = |found: Vec<Entry>| -> Vec<u32> {
        found
            .into_iter()
            .map(|(_, value)| String::from_utf8(value).unwrap().parse().unwrap())
            .collect()
    };
    let cases: [(KeyRange, usize, Vec<u32>); 5] = [
        (KeyRange::all(), 1, vec![2999]),
        (KeyRange::all(), 5, vec![2999, 2998, 2997, 2996, 2995]),
        (
            KeyRange::new(Unbounded, Excluded(key(1000))),
            3,
            vec![999, 998, 997],
        ),
        (
            KeyRange::new(Included(key(10)), Included(key(2000))),
            700,
            (1301..=2000).rev().collect(),
        ),
        (
            KeyRange::new(Excluded(key(2990)), Unbounded),
            100,
            (2991..=2999).rev().collect(),
        ),
    ];

    for (number, (range, limit, expected)) in cases.into_iter().enumerate() {
        // Act
        let found = backend
            .scan(Space::ShipmentIndex, &range, Direction::Descending, limit)
            .await
            .unwrap();

        // Assert
        assert_eq!(values(found), expected, "case {number}");
    }
}

/// The contract on sled, each test on a database in a directory of its own.
mod sled_contract {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::Harness;
    use crate::error::Error;
    use crate::store::backend::{Backend, SledBackend, SledOptions};

    /// A small cache, and durable as in production.
    const OPTIONS: SledOptions = SledOptions {
        cache_bytes: 1 << 20,
        durable: true,
    };

    /// How long a reopen waits for sled to let go of its directory lock,
    /// which its background threads release a moment after the last handle
    /// is dropped.
    const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

    /// One sled database in a temporary directory, removed with the harness.
    struct SledHarness {
        dir: tempfile::TempDir,
    }

    impl SledHarness {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }
    }

    impl Harness for SledHarness {
        async fn open(&self) -> Arc<dyn Backend> {
            Arc::new(SledBackend::open(self.dir.path(), OPTIONS).unwrap())
        }

        async fn reopen(&self, old: Arc<dyn Backend>) -> Arc<dyn Backend> {
            // Another handle would keep the lock for good, and the retries
            // below would only turn that into a timeout.
            assert_eq!(Arc::strong_count(&old), 1, "the old backend is shared");
            drop(old);
            let path = self.dir.path().to_owned();
            tokio::task::spawn_blocking(move || open_once_released(&path))
                .await
                .unwrap()
        }
    }

    /// Opens the database in `path`, retrying while sled still holds it.
    fn open_once_released(path: &Path) -> Arc<dyn Backend> {
        let deadline = Instant::now() + RELEASE_TIMEOUT;
        loop {
            match SledBackend::open(path, OPTIONS) {
                Ok(backend) => return Arc::new(backend),
                Err(Error::DatabaseInUse { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("reopening {}: {error}", path.display()),
            }
        }
    }

    contract_tests!(SledHarness::new());
}

/// The contract on etcd, each test under a key prefix of its own in the
/// cluster `TRADEGRAPH_TEST_ETCD` names (`tests/etcd.sh` starts one).
#[cfg(feature = "etcd")]
mod etcd_contract {
    use std::sync::Arc;

    use super::Harness;
    use crate::store::backend::{Backend, EtcdBackend};

    /// One key prefix, new for every harness.
    struct EtcdHarness {
        options: crate::store::backend::EtcdOptions,
    }

    impl EtcdHarness {
        fn new() -> Self {
            Self {
                options: crate::store::backend::etcd::test_options(),
            }
        }
    }

    impl Harness for EtcdHarness {
        async fn open(&self) -> Arc<dyn Backend> {
            Arc::new(EtcdBackend::open(self.options.clone()).await.unwrap())
        }

        async fn reopen(&self, old: Arc<dyn Backend>) -> Arc<dyn Backend> {
            assert_eq!(Arc::strong_count(&old), 1, "the old backend is shared");
            drop(old);
            self.open().await
        }
    }

    contract_tests!(EtcdHarness::new());
}
