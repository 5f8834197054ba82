//! Packed index blocks: many sorted index entries under one stored key.
//!
//! sled 0.34 splits a leaf page once it holds more than 16 keys and keeps
//! about 270 bytes of page table per page in memory whatever the cache
//! size, so an index costs memory by its number of keys, not their length.
//! Here one key holds up to [`MAX_ENTRIES`] entries of one sorted list.
//!
//! A *scope* is an opaque byte string naming one sorted list (the layout
//! uses `facet tag, value, 0, order byte`); an entry of a scope is a
//! *suffix* (a sort key, then an 8-byte id), and its *logical key* is
//! `scope ++ suffix`. Suffixes are non-empty and never start with `0xFF`,
//! and no scope's keys interleave with another's, so the keys of a scope
//! are one contiguous range and `scope ++ [0xFF]` lies above all of them.
//!
//! The blocks of a scope partition its entries by key:
//! - a block holds 1 to [`MAX_ENTRIES`] distinct suffixes, sorted;
//! - its key is `scope ++ its largest suffix`, or `scope ++ [0xFF]`, the
//!   *open end*, which only the last block of a scope can have (so that
//!   appending, the common case for ids and dates, never renames a block);
//! - it holds exactly the entries above the previous block's key, up to
//!   and including its own key.
//!
//! The last block need not be the open end: removing every entry of the
//! open end deletes it, and the block below stays under its largest
//! suffix until an entry above it creates the open end again.
//!
//! So the block that holds (or must hold) an entry is the first block whose
//! key is at or above the entry's logical key, and every change to the set
//! of blocks rewrites or deletes the block above the change: the argument
//! that lets a transaction check only the block it found (see
//! [`Txn::first_in`]). Transactional writes go through [`insert`] and
//! [`remove`]; seeding rewrites whole scopes with [`bulk_merge`]; reads are
//! [`scan`] and [`count`]; `check` uses [`Verifier`]. What the entries mean
//! is the caller's business: nothing here knows shipments.

use std::ops::Bound::{self, Excluded, Included, Unbounded};

use crate::domain::Direction;
use crate::error::{Error, Result};
use crate::store::backend::{Backend, Entry, KeyRange, Space};
use crate::store::check::show_key;
use crate::store::scan_budget::ScanBudget;
use crate::store::txn::Txn;

/// The most entries a block holds: a block over this splits in two
/// halves, so blocks written by transactions hold at least half of it.
/// 64 entries of about 13 bytes make a value of under 1 KB, and cut the
/// keys of an index (and sled's pages) by a factor of 32 to 64.
pub(super) const MAX_ENTRIES: usize = 64;

/// How full [`bulk_merge`] fills a block: room for 16 inserts before the
/// first split, since seeded scopes go on taking writes.
pub(super) const BULK_FILL: usize = 48;

/// The last byte of the key of a scope's open-end block: above the first
/// byte of every suffix.
const OPEN_END: u8 = 0xFF;

/// The first byte of a block's value: the version of the encoding below.
const BLOCK_FORMAT: u8 = 1;

/// The fewest entries a block holds after a split, for sizing reads: a
/// block may hold fewer after removals, and then reads ask for more.
const HALF_FULL: usize = MAX_ENTRIES / 2;

/// The most blocks one backend read asks for while scanning.
const MAX_SCAN_BATCH: usize = 32;

/// The most blocks one backend read asks for while counting.
const MAX_COUNT_BATCH: usize = 256;

/// Adds the entry `suffix` to `scope`: a no-op when it is there. The block
/// that must hold it is the first at or above its logical key, or a new
/// open-end block when there is none; a block that grows past
/// [`MAX_ENTRIES`] splits, its lower half under the key of its largest
/// suffix, its upper half under the old key.
pub(super) async fn insert(
    txn: &mut Txn<'_>,
    space: Space,
    scope: &[u8],
    suffix: &[u8],
) -> Result<()> {
    check_suffix(space, scope, suffix)?;
    let (key, value) = match holder(txn, space, scope, suffix).await? {
        Some((key, value)) => {
            let corrupt = |why: String| {
                Error::Corrupt(format!(
                    "{}: block {} does not decode: {why}",
                    space.name(),
                    show_key(&key)
                ))
            };
            match with_entry(&value, suffix).map_err(corrupt)? {
                Some(value) => (key, value),
                None => return Ok(()),
            }
        }
        None => (open_end(scope), encode_block(&[suffix.to_vec()])),
    };
    if entry_count(&value) <= MAX_ENTRIES {
        txn.put(space, key, value);
        return Ok(());
    }
    let mut lower = decode_block(space, &key, &value)?;
    let upper = lower.split_off(lower.len() / 2);
    // No block lies between the previous block's key and this one's, so
    // the lower half's key is free; and writing this block again is what
    // makes a concurrent writer who found it conflict.
    txn.put(space, block_key(scope, last(&lower)), encode_block(&lower));
    txn.put(space, key, encode_block(&upper));
    Ok(())
}

/// Removes the entry `suffix` from `scope`. The caller removes only what a
/// stored record calls for, so an absent entry is [`Error::Corrupt`]. A
/// block left empty is deleted; one that lost its largest suffix (and is
/// not the open end) moves to the key of its new largest suffix, which no
/// other block can hold.
pub(super) async fn remove(
    txn: &mut Txn<'_>,
    space: Space,
    scope: &[u8],
    suffix: &[u8],
) -> Result<()> {
    check_suffix(space, scope, suffix)?;
    let absent = || {
        Error::Corrupt(format!(
            "{}: no block holds the entry {} to remove",
            space.name(),
            show_key(&[scope, suffix].concat())
        ))
    };
    let (key, value) = holder(txn, space, scope, suffix)
        .await?
        .ok_or_else(absent)?;
    let mut entries = decode_block(space, &key, &value)?;
    let at = entries
        .binary_search_by(|each| each.as_slice().cmp(suffix))
        .map_err(|_| absent())?;
    entries.remove(at);
    if entries.is_empty() {
        txn.delete(space, key);
    } else if at == entries.len() && key != open_end(scope) {
        txn.delete(space, key);
        txn.put(
            space,
            block_key(scope, last(&entries)),
            encode_block(&entries),
        );
    } else {
        txn.put(space, key, encode_block(&entries));
    }
    Ok(())
}

/// The block that holds or must hold `suffix`, as the transaction sees it:
/// the first at or above its logical key. When there is none, the open
/// end's absence is read too, so that the commit checks it: that is what
/// makes two writers creating the same open end conflict. Should the open
/// end turn up there after all (another writer created it between the two
/// reads), the transaction now knows it, and looking again finds it.
async fn holder(
    txn: &mut Txn<'_>,
    space: Space,
    scope: &[u8],
    suffix: &[u8],
) -> Result<Option<Entry>> {
    let open_end = open_end(scope);
    let range = KeyRange::new(
        Included(block_key(scope, suffix)),
        Included(open_end.clone()),
    );
    loop {
        if let Some(found) = txn.first_in(space, &range).await? {
            return Ok(Some(found));
        }
        if txn.get(space, &open_end).await?.is_none() {
            return Ok(None);
        }
    }
}

/// Up to `n` logical keys of `scope` within `range`, from its low end
/// (ascending) or its high end (descending), in that order. Bounds are
/// logical keys; `Unbounded` means the scope's end, and a bound outside the
/// scope is cut to it. The blocks are read a few at a time from the
/// position on, so the cost follows `n`, not the size of the scope or how
/// deep the position lies: ascending reads the blocks from the first at or
/// above the lower bound; descending finds the first block at or above the
/// upper bound (one block), then reads the blocks below it downwards.
pub(super) async fn scan(
    backend: &dyn Backend,
    space: Space,
    scope: &[u8],
    range: &KeyRange,
    direction: Direction,
    n: usize,
) -> Result<Vec<Vec<u8>>> {
    let mut keys = Vec::new();
    let Some(within) = Within::new(scope, range) else {
        return Ok(keys);
    };
    if n == 0 {
        return Ok(keys);
    }
    let mut take = |suffix: &[u8]| {
        keys.push([scope, suffix].concat());
        keys.len() < n
    };
    match direction {
        // One more block than the entries need: the first is entered in
        // the middle.
        Direction::Ascending => {
            let batch = (blocks_for(n) + 1).min(MAX_SCAN_BATCH);
            walk_up(backend, space, &within, batch, MAX_SCAN_BATCH, &mut take).await?;
        }
        Direction::Descending => walk_down(backend, space, &within, n, &mut take).await?,
    }
    Ok(keys)
}

/// How many entries of `scope` lie within `range` (bounds as for
/// [`scan`]): reads every block of the range, in growing batches, charging
/// `budget` one unit for each [`MAX_ENTRIES`] entries counted (about what
/// reading one record costs) and checking its deadline as often; fails
/// with [`Error::ScanLimit`] when the budget runs out before the count is
/// done.
pub(super) async fn count(
    backend: &dyn Backend,
    space: Space,
    scope: &[u8],
    range: &KeyRange,
    budget: &ScanBudget,
) -> Result<u64> {
    let Some(within) = Within::new(scope, range) else {
        return Ok(0);
    };
    let mut n: u64 = 0;
    let mut stopped = Ok(());
    walk_up(
        backend,
        space,
        &within,
        2,
        MAX_COUNT_BATCH,
        &mut |_: &[u8]| {
            if n % MAX_ENTRIES as u64 == 0 {
                let charged = budget.check_deadline().and_then(|()| {
                    if budget.charge(1) {
                        Ok(())
                    } else {
                        Err(Error::ScanLimit {
                            limit: budget.limit(),
                        })
                    }
                });
                if let Err(error) = charged {
                    stopped = Err(error);
                    return false;
                }
            }
            n += 1;
            true
        },
    )
    .await?;
    stopped.map(|()| n)
}

/// Merges the suffixes `new` into the stored blocks of `scope`, for seeding
/// while nothing else writes. Returns the blocks to write, [`BULK_FILL`]
/// entries each and the last under the open end, and the keys of stored
/// blocks to remove (those not written again under the same key). `new`
/// may hold entries that are stored already, or repeat itself; a sorted
/// `new` merges fastest.
///
/// The caller writes the blocks ([`Backend::bulk_load`]) before it removes
/// the old ones ([`Backend::bulk_remove`]), so that no entry is ever
/// missing. A run interrupted between the two leaves old and new blocks
/// overlapping; readers must not run then (a seeding run that did not
/// finish is run again), and the next `bulk_merge` of the scope repairs it,
/// since it reads every stored block of the scope, merges all their
/// entries without duplicates and rewrites the scope. It holds the scope's
/// entries in memory, about 40 bytes each.
pub(super) async fn bulk_merge(
    backend: &dyn Backend,
    space: Space,
    scope: &[u8],
    new: Vec<Vec<u8>>,
) -> Result<(Vec<Entry>, Vec<Vec<u8>>)> {
    for suffix in &new {
        check_suffix(space, scope, suffix)?;
    }
    let mut entries = Vec::new();
    let mut old_keys = Vec::new();
    let mut range = KeyRange::new(Included(scope.to_vec()), Included(open_end(scope)));
    loop {
        let blocks = backend
            .scan(space, &range, Direction::Ascending, MAX_COUNT_BATCH)
            .await?;
        let done = blocks.len() < MAX_COUNT_BATCH;
        for (key, value) in blocks {
            entries.extend(decode_block(space, &key, &value)?);
            range.lower = Excluded(key.clone());
            old_keys.push(key);
        }
        if done {
            break;
        }
    }
    entries.extend(new);
    // A stable sort finds the sorted runs (the stored blocks, the new
    // entries) and merges them; overlapping blocks make a few more runs.
    entries.sort();
    entries.dedup();
    let n_blocks = entries.len().div_ceil(BULK_FILL);
    let mut blocks = Vec::with_capacity(n_blocks);
    for (number, chunk) in entries.chunks(BULK_FILL).enumerate() {
        let key = if number + 1 == n_blocks {
            open_end(scope)
        } else {
            block_key(scope, last(chunk))
        };
        blocks.push((key, encode_block(chunk)));
    }
    // Both lists are sorted by key, so one pass finds the old keys that
    // are not written again.
    let mut written = blocks.iter().map(|(key, _)| key).peekable();
    old_keys.retain(|old| {
        while written.next_if(|key| *key < old).is_some() {}
        written.peek() != Some(&old)
    });
    Ok((blocks, old_keys))
}

/// The consistency check of one space of blocks: fed the blocks in key
/// order, it names every block that breaks a rule of the layout and hands
/// back the logical keys of the entries it found, for the caller to
/// compare with what the records call for.
pub(super) struct Verifier<F> {
    space: Space,
    /// How long the scope of a block key is, or `None` for a key of no
    /// scope: the layout knows where its scopes end, this module does not.
    scope_len: F,
    /// The key of the previous block and the length of its scope.
    previous: Option<(Vec<u8>, usize)>,
}

/// What [`Verifier::verify_block`] made of one block.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Verified {
    /// The logical keys of the entries the block holds (none when it does
    /// not decode), in the order stored.
    pub entries: Vec<Vec<u8>>,
    /// Each rule the block breaks, as a line for a person.
    pub problems: Vec<String>,
}

impl<F: Fn(&[u8]) -> Option<usize>> Verifier<F> {
    /// A check of the blocks of `space`, whose scopes `scope_len` measures.
    pub(super) fn new(space: Space, scope_len: F) -> Self {
        Self {
            space,
            scope_len,
            previous: None,
        }
    }

    /// Checks the next block in key order.
    pub(super) fn verify_block(&mut self, key: &[u8], value: &[u8]) -> Verified {
        let mut verified = Verified::default();
        let space = self.space;
        let name = || format!("{}: block {}", space.name(), show_key(key));
        let Some(scope_len) = (self.scope_len)(key).filter(|len| *len < key.len()) else {
            verified
                .problems
                .push(format!("{} is not a block key of any scope", name()));
            return verified;
        };
        let scope = &key[..scope_len];
        let previous = self.previous.replace((key.to_vec(), scope_len));
        let entries = match decode_entries(value) {
            Ok(entries) => entries,
            Err(why) => {
                verified
                    .problems
                    .push(format!("{} does not decode: {why}", name()));
                return verified;
            }
        };
        let mut problem = |what: String| verified.problems.push(format!("{} {what}", name()));
        if entries.is_empty() {
            problem("holds no entries".into());
        }
        if entries.len() > MAX_ENTRIES {
            problem(format!(
                "holds {} entries, more than {MAX_ENTRIES}",
                entries.len()
            ));
        }
        if let Some(at) = entries.windows(2).position(|pair| pair[0] >= pair[1]) {
            problem(format!(
                "holds entries out of order: entry {} is not above entry {at}",
                at + 1
            ));
        }
        if let Some(bad) = entries
            .iter()
            .find(|each| each.first().is_none_or(|first| *first == OPEN_END))
        {
            problem(format!(
                "holds the entry {}, which is empty or starts with 0xff",
                show_key(bad)
            ));
        }
        let own_suffix = &key[scope_len..];
        if let Some(largest) = entries.iter().max() {
            if own_suffix != [OPEN_END] && largest.as_slice() != own_suffix {
                problem(format!(
                    "is neither under its largest entry {} nor the open end",
                    show_key(&[scope, largest].concat())
                ));
            }
        }
        let same_scope = previous
            .as_ref()
            .filter(|(previous, len)| previous[..*len] == *scope);
        if let (Some((previous, _)), Some(smallest)) = (same_scope, entries.iter().min()) {
            if [scope, smallest].concat() <= *previous {
                problem(format!(
                    "holds the entry {}, not above the previous block {}",
                    show_key(&[scope, smallest].concat()),
                    show_key(previous)
                ));
            }
        }
        verified.entries = entries.iter().map(|each| [scope, each].concat()).collect();
        verified
    }
}

/// A block's value: [`BLOCK_FORMAT`], the number of entries, then each
/// entry as the length of the prefix it shares with the previous one, the
/// length of the rest and the rest (all lengths LEB128 varints). Entries
/// of one scope share their sort key's leading bytes and their id's, so
/// the shared prefix saves about half of them.
fn encode_block(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = vec![BLOCK_FORMAT];
    push_varint(&mut bytes, entries.len());
    let mut previous: &[u8] = &[];
    for entry in entries {
        push_entry(&mut bytes, previous, entry);
        previous = entry;
    }
    bytes
}

/// Appends the encoding of `entry`, which follows `previous` in a block.
fn push_entry(bytes: &mut Vec<u8>, previous: &[u8], entry: &[u8]) {
    let shared = previous
        .iter()
        .zip(entry)
        .take_while(|(a, b)| a == b)
        .count();
    push_varint(bytes, shared);
    push_varint(bytes, entry.len() - shared);
    bytes.extend_from_slice(&entry[shared..]);
}

/// The encoding of the block `value` with `suffix` added in its place, or
/// `None` when the block holds it already. An entry's encoding depends
/// only on the entry before it, so only the entries up to the new one are
/// decoded (into one reused buffer, the most that an insert costs being a
/// walk over bytes), and those after it are copied as they are, except the
/// first, which now follows the new entry.
fn with_entry(value: &[u8], suffix: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut reader = Reader(value);
    let n_entries = reader.header()?;
    let entries_start = value.len() - reader.0.len();
    let header = |bytes: &mut Vec<u8>| {
        bytes.push(BLOCK_FORMAT);
        push_varint(bytes, n_entries + 1);
    };
    let mut previous = Vec::new();
    let mut current = Vec::new();
    for number in 0..n_entries {
        let entry_start = value.len() - reader.0.len();
        std::mem::swap(&mut previous, &mut current);
        reader.entry_after(&previous, &mut current, number)?;
        if number > 0 && previous >= current {
            return Err(format!("entry {number} is out of order"));
        }
        match current.as_slice().cmp(suffix) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Ok(None),
            std::cmp::Ordering::Greater => {
                let mut bytes = Vec::with_capacity(value.len() + suffix.len() + 4);
                header(&mut bytes);
                bytes.extend_from_slice(&value[entries_start..entry_start]);
                push_entry(&mut bytes, &previous, suffix);
                push_entry(&mut bytes, suffix, &current);
                bytes.extend_from_slice(reader.0);
                return Ok(Some(bytes));
            }
        }
    }
    if !reader.0.is_empty() {
        return Err(format!("{} trailing bytes", reader.0.len()));
    }
    let mut bytes = Vec::with_capacity(value.len() + suffix.len() + 4);
    header(&mut bytes);
    bytes.extend_from_slice(&value[entries_start..]);
    push_entry(&mut bytes, &current, suffix);
    Ok(Some(bytes))
}

/// The number of entries a block's encoding says it holds (0 for bytes
/// that are not a block, which the caller has made itself).
fn entry_count(value: &[u8]) -> usize {
    Reader(value).header().unwrap_or(0)
}

/// The entries of a block, refused as [`Error::Corrupt`], naming the block,
/// when the value does not decode or its entries are not sorted and
/// distinct (every read relies on the order).
fn decode_block(space: Space, key: &[u8], value: &[u8]) -> Result<Vec<Vec<u8>>> {
    let corrupt =
        |why: String| Error::Corrupt(format!("{}: block {} {why}", space.name(), show_key(key)));
    let entries =
        decode_entries(value).map_err(|why| corrupt(format!("does not decode: {why}")))?;
    if entries.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(corrupt("holds entries out of order".into()));
    }
    Ok(entries)
}

/// The entries of a block's value in the order stored, or why the bytes are
/// not a block.
fn decode_entries(value: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut reader = Reader(value);
    let n_entries = reader.header()?;
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(n_entries);
    for number in 0..n_entries {
        let mut entry = Vec::new();
        let previous = entries.last().map_or(&[][..], Vec::as_slice);
        reader.entry_after(previous, &mut entry, number)?;
        entries.push(entry);
    }
    if !reader.0.is_empty() {
        return Err(format!("{} trailing bytes", reader.0.len()));
    }
    Ok(entries)
}

/// The unread bytes of a value being decoded.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// Reads a block's format byte and number of entries.
    fn header(&mut self) -> Result<usize, String> {
        match self.byte() {
            Some(BLOCK_FORMAT) => {}
            Some(other) => return Err(format!("format {other}, not {BLOCK_FORMAT}")),
            None => return Err("no bytes".into()),
        }
        let n_entries = self.varint()?;
        // Every entry takes at least two bytes: refuse a count that the
        // bytes cannot hold before allocating for it.
        if n_entries > self.0.len() / 2 {
            return Err(format!("{n_entries} entries in {} bytes", self.0.len()));
        }
        Ok(n_entries)
    }

    /// Reads entry `number`, which follows `previous`, into `entry`.
    fn entry_after(
        &mut self,
        previous: &[u8],
        entry: &mut Vec<u8>,
        number: usize,
    ) -> Result<(), String> {
        let shared = self.varint()?;
        let rest = self.varint()?;
        let Some(prefix) = previous.get(..shared) else {
            return Err(format!(
                "entry {number} shares {shared} bytes with a previous entry of {}",
                previous.len()
            ));
        };
        let Some(rest) = self.take(rest) else {
            return Err(format!("entry {number} runs past the end"));
        };
        entry.clear();
        entry.extend_from_slice(prefix);
        entry.extend_from_slice(rest);
        Ok(())
    }

    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.0.get(..n)?;
        self.0 = &self.0[n..];
        Some(taken)
    }

    /// A LEB128 varint of at most 4 bytes: no length in a block needs more.
    fn varint(&mut self) -> Result<usize, String> {
        let mut value = 0usize;
        for shift in (0..28).step_by(7) {
            let byte = self.byte().ok_or("a length runs past the end")?;
            value |= usize::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a length of more than 4 bytes".into())
    }
}

fn push_varint(bytes: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        bytes.push((value & 0x7F) as u8 | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// The part of a scan's range inside one scope, as bounds on suffixes.
struct Within<'a> {
    scope: &'a [u8],
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
}

impl<'a> Within<'a> {
    /// `None` when no key of the scope lies within `range`. A bound inside
    /// the scope starts with the scope (every key between `scope` and
    /// `scope ++ [0xFF]` does); one outside is cut to the scope's end.
    fn new(scope: &'a [u8], range: &KeyRange) -> Option<Self> {
        let suffix = |key: &Vec<u8>| key.strip_prefix(scope).map(<[u8]>::to_vec);
        let lower = match &range.lower {
            Unbounded => Unbounded,
            Included(key) | Excluded(key) if key.as_slice() < scope => Unbounded,
            Included(key) => Included(suffix(key)?),
            Excluded(key) => Excluded(suffix(key)?),
        };
        let upper = match &range.upper {
            Unbounded => Unbounded,
            Included(key) | Excluded(key) if key.as_slice() < scope => return None,
            Included(key) => suffix(key).map_or(Unbounded, Included),
            Excluded(key) => suffix(key).map_or(Unbounded, Excluded),
        };
        let within = Self {
            scope,
            lower,
            upper,
        };
        let suffixes = KeyRange::new(within.lower.clone(), within.upper.clone());
        (!suffixes.is_empty()).then_some(within)
    }

    fn above_lower(&self, suffix: &[u8]) -> bool {
        match &self.lower {
            Unbounded => true,
            Included(lower) => suffix >= lower.as_slice(),
            Excluded(lower) => suffix > lower.as_slice(),
        }
    }

    fn below_upper(&self, suffix: &[u8]) -> bool {
        match &self.upper {
            Unbounded => true,
            Included(upper) => suffix <= upper.as_slice(),
            Excluded(upper) => suffix < upper.as_slice(),
        }
    }

    /// The block keys at or above which the range's first entry lies: a
    /// block below the lower bound holds only entries below it.
    fn lowest_block(&self) -> Bound<Vec<u8>> {
        match &self.lower {
            Unbounded => Included(self.scope.to_vec()),
            Included(lower) => Included(block_key(self.scope, lower)),
            Excluded(lower) => Excluded(block_key(self.scope, lower)),
        }
    }
}

/// Feeds `take` the entries within `within` from the low end until it
/// returns false, reading `batch` blocks first and twice as many each
/// time after, up to `max_batch`.
async fn walk_up(
    backend: &dyn Backend,
    space: Space,
    within: &Within<'_>,
    mut batch: usize,
    max_batch: usize,
    take: &mut impl FnMut(&[u8]) -> bool,
) -> Result<()> {
    let mut blocks = KeyRange::new(within.lowest_block(), Included(open_end(within.scope)));
    loop {
        let read = backend
            .scan(space, &blocks, Direction::Ascending, batch)
            .await?;
        let n_read = read.len();
        for (key, value) in read {
            let entries = decode_block(space, &key, &value)?;
            let from = entries.partition_point(|each| !within.above_lower(each));
            for entry in &entries[from..] {
                if !within.below_upper(entry) || !take(entry) {
                    return Ok(());
                }
            }
            // The next block holds only entries above this one's key.
            if !within.below_upper(&key[within.scope.len()..]) {
                return Ok(());
            }
            blocks.lower = Excluded(key);
        }
        if n_read < batch {
            return Ok(());
        }
        batch = (batch * 2).min(max_batch);
    }
}

/// Feeds `take` the entries within `within` from the high end until it
/// returns false; `n` is how many it wants, for sizing the reads.
async fn walk_down(
    backend: &dyn Backend,
    space: Space,
    within: &Within<'_>,
    n: usize,
    take: &mut impl FnMut(&[u8]) -> bool,
) -> Result<()> {
    let scope = within.scope;
    let mut fed = 0;
    let mut blocks = KeyRange::new(within.lowest_block(), Included(open_end(scope)));
    if let Included(upper) | Excluded(upper) = &within.upper {
        // The block holding the upper bound's place: the first at or above
        // it. Without one, every block lies below the bound.
        let top = KeyRange::new(Included(block_key(scope, upper)), Included(open_end(scope)));
        let found = backend.scan(space, &top, Direction::Ascending, 1).await?;
        if let Some((key, value)) = found.into_iter().next() {
            if !feed_down(within, &decode_block(space, &key, &value)?, take, &mut fed) {
                return Ok(());
            }
            blocks.upper = Excluded(key);
        }
    }
    // The blocks below hold only entries within the upper bound: no block
    // is entered in the middle, so no extra one.
    let mut batch = blocks_for(n.saturating_sub(fed));
    while !blocks.is_empty() {
        let read = backend
            .scan(space, &blocks, Direction::Descending, batch)
            .await?;
        let n_read = read.len();
        for (key, value) in read {
            if !feed_down(within, &decode_block(space, &key, &value)?, take, &mut fed) {
                return Ok(());
            }
            blocks.upper = Excluded(key);
        }
        if n_read < batch {
            break;
        }
        batch = (batch * 2).min(MAX_SCAN_BATCH);
    }
    Ok(())
}

/// Feeds `take` one block's entries within `within`, largest first,
/// counting them in `fed`: false once `take` or the lower bound says done.
fn feed_down(
    within: &Within<'_>,
    entries: &[Vec<u8>],
    take: &mut impl FnMut(&[u8]) -> bool,
    fed: &mut usize,
) -> bool {
    let to = entries.partition_point(|each| within.below_upper(each));
    for entry in entries[..to].iter().rev() {
        if !within.above_lower(entry) || !take(entry) {
            return false;
        }
        *fed += 1;
    }
    true
}

/// How many blocks hold `n` entries when they are at least half full.
fn blocks_for(n: usize) -> usize {
    n.div_ceil(HALF_FULL).clamp(1, MAX_SCAN_BATCH)
}

/// The key of the block whose largest entry is `suffix`.
fn block_key(scope: &[u8], suffix: &[u8]) -> Vec<u8> {
    [scope, suffix].concat()
}

/// The key of the open-end block of `scope`.
fn open_end(scope: &[u8]) -> Vec<u8> {
    [scope, &[OPEN_END][..]].concat()
}

/// The largest of a block's sorted, non-empty entries.
fn last(entries: &[Vec<u8>]) -> &[u8] {
    entries.last().map_or(&[], Vec::as_slice)
}

/// Refuses a suffix the layout cannot hold: a bug in the caller.
fn check_suffix(space: Space, scope: &[u8], suffix: &[u8]) -> Result<()> {
    match suffix.first() {
        Some(first) if *first != OPEN_END => Ok(()),
        _ => Err(Error::Corrupt(format!(
            "{}: the entry {} of scope {} is empty or starts with 0xff",
            space.name(),
            show_key(suffix),
            show_key(scope)
        ))),
    }
}

#[cfg(test)]
mod tests;
