//! Keyset pagination over anything that scans keys in order: a sled index
//! tree or a small sorted map. A position is the list's tag byte followed by
//! the key of the item, so a page costs a range scan from that key, however
//! many items precede it.

use std::ops::Bound::{self, Excluded, Included, Unbounded};

use super::keys::prefix_end;
use crate::domain::{Direction, Limit, Page, PageRequest, Position};
use crate::error::{Error, Result};

/// One list the store can page through.
pub(super) struct Listing {
    /// The first byte of every position of this list, so that a cursor of one
    /// list is refused by another.
    pub tag: u8,
    /// Every key of the list starts with this.
    pub prefix: Vec<u8>,
    /// Narrower bounds inside the prefix (a date range), or unbounded.
    pub lower: Bound<Vec<u8>>,
    /// See `lower`.
    pub upper: Bound<Vec<u8>>,
    /// The list's order: ascending keys, or descending.
    pub direction: Direction,
}

impl Listing {
    /// A whole prefix, in one direction.
    pub fn new(tag: u8, prefix: Vec<u8>, direction: Direction) -> Self {
        Self {
            tag,
            prefix,
            lower: Unbounded,
            upper: Unbounded,
            direction,
        }
    }

    /// The position of the item stored under `key`.
    pub fn position(&self, key: &[u8]) -> Position {
        let mut bytes = Vec::with_capacity(key.len() + 1);
        bytes.push(self.tag);
        bytes.extend_from_slice(key);
        Position(bytes)
    }

    /// The key a position names, if the position belongs to this list.
    fn key_of(&self, position: &Position) -> Result<Vec<u8>> {
        match position.0.split_first() {
            Some((&tag, key)) if tag == self.tag && key.starts_with(&self.prefix) => Ok(key.to_vec()),
            _ => Err(Error::bad_input(
                "cursor does not belong to this list: pass a cursor that this field returned for the same arguments",
            )),
        }
    }

    /// Whether this list's positions start with `tag`.
    pub fn owns(position: &Position, tag: u8) -> bool {
        position.0.first() == Some(&tag)
    }

    fn bounds(&self) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        (
            tighter_lower(Included(self.prefix.clone()), self.lower.clone()),
            tighter_upper(prefix_end(&self.prefix), self.upper.clone()),
        )
    }
}

/// Reads one page of `listing`. `scan(lower, upper)` yields the items whose
/// keys lie within the bounds, in ascending key order; it may skip items (a
/// filter), and the page and its flags stay consistent with what it yields.
pub(super) fn paginate<T, I>(
    listing: &Listing,
    request: &PageRequest,
    scan: impl Fn(Bound<Vec<u8>>, Bound<Vec<u8>>) -> I,
) -> Result<Page<T>>
where
    I: DoubleEndedIterator<Item = Result<(Vec<u8>, T)>>,
{
    let after = request.after().map(|p| listing.key_of(p)).transpose()?;
    let before = request.before().map(|p| listing.key_of(p)).transpose()?;
    let ascending = listing.direction == Direction::Ascending;
    let (list_lower, list_upper) = listing.bounds();

    // In key space, `after` bounds the low end of an ascending list and the
    // high end of a descending one; `before` the other way round.
    let (low_cursor, high_cursor) = if ascending {
        (after.clone(), before.clone())
    } else {
        (before.clone(), after.clone())
    };
    let lower = tighter_lower(list_lower.clone(), low_cursor.map_or(Unbounded, Excluded));
    let upper = tighter_upper(list_upper.clone(), high_cursor.map_or(Unbounded, Excluded));

    // Items in list order are ascending keys for an ascending list.
    let (mut items, has_next_page, has_previous_page) = match request.limit() {
        Limit::First(n) => {
            let mut items = take(&scan, lower, upper, ascending, n + 1)?;
            let has_next = items.len() > n;
            items.truncate(n);
            let has_previous = match after {
                Some(after) if ascending => exists(&scan, list_lower, Included(after))?,
                Some(after) => exists(&scan, Included(after), list_upper)?,
                None => false,
            };
            (items, has_next, has_previous)
        }
        Limit::Last(n) => {
            let mut items = take(&scan, lower, upper, !ascending, n + 1)?;
            let has_previous = items.len() > n;
            items.truncate(n);
            items.reverse();
            let has_next = match before {
                Some(before) if ascending => exists(&scan, Included(before), list_upper)?,
                Some(before) => exists(&scan, list_lower, Included(before))?,
                None => false,
            };
            (items, has_next, has_previous)
        }
    };
    Ok(Page {
        items: items
            .drain(..)
            .map(|(key, item)| (listing.position(&key), item))
            .collect(),
        has_next_page,
        has_previous_page,
    })
}

/// Up to `n` items within the bounds, from the low end or the high end.
fn take<T, I>(
    scan: &impl Fn(Bound<Vec<u8>>, Bound<Vec<u8>>) -> I,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    from_low_end: bool,
    n: usize,
) -> Result<Vec<(Vec<u8>, T)>>
where
    I: DoubleEndedIterator<Item = Result<(Vec<u8>, T)>>,
{
    if is_empty(&lower, &upper) {
        return Ok(Vec::new());
    }
    let items = scan(lower, upper);
    if from_low_end {
        items.take(n).collect()
    } else {
        items.rev().take(n).collect()
    }
}

/// Whether any item lies within the bounds.
fn exists<T, I>(
    scan: &impl Fn(Bound<Vec<u8>>, Bound<Vec<u8>>) -> I,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
) -> Result<bool>
where
    I: DoubleEndedIterator<Item = Result<(Vec<u8>, T)>>,
{
    Ok(!take(scan, lower, upper, true, 1)?.is_empty())
}

/// Whether no key can lie between the bounds (scanning such a range would
/// panic in a `BTreeMap`).
fn is_empty(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Included(low), Included(high)) => low > high,
        (Included(low) | Excluded(low), Included(high) | Excluded(high)) => low >= high,
        _ => false,
    }
}

/// The tighter of two lower bounds.
fn tighter_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x > y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// The tighter of two upper bounds.
fn tighter_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Unbounded, _) => b,
        (_, Unbounded) => a,
        (Included(x) | Excluded(x), Included(y) | Excluded(y)) => {
            if x < y || (x == y && matches!(a, Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Pages through the keys 1..=7 under prefix 9, in the given direction,
    /// following cursors, and returns the pages.
    fn walk(direction: Direction, forward: bool, size: i32) -> Vec<(Vec<u8>, bool, bool)> {
        let map: BTreeMap<Vec<u8>, u8> = (1..=7)
            .map(|n| (vec![9, n], n))
            .chain([(vec![8, 1], 0)])
            .collect();
        let scan = |lower, upper| map.range((lower, upper)).map(|(k, v)| Ok((k.clone(), *v)));
        let listing = Listing::new(3, vec![9], direction);
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let request = if forward {
                PageRequest::new(Some(size), cursor.clone(), None, None)
            } else {
                PageRequest::new(None, None, Some(size), cursor.clone())
            }
            .unwrap();
            let page = paginate(&listing, &request, scan).unwrap();
            let values: Vec<u8> = page.items.iter().map(|(_, v)| *v).collect();
            pages.push((values, page.has_previous_page, page.has_next_page));
            let more = if forward {
                page.has_next_page
            } else {
                page.has_previous_page
            };
            if !more {
                return pages;
            }
            cursor = Some(
                if forward {
                    page.items.last()
                } else {
                    page.items.first()
                }
                .unwrap()
                .0
                .clone(),
            );
        }
    }

    #[test]
    fn forward_and_backward_walks_cover_the_list_once() {
        assert_eq!(
            walk(Direction::Ascending, true, 3),
            vec![
                (vec![1, 2, 3], false, true),
                (vec![4, 5, 6], true, true),
                (vec![7], true, false)
            ]
        );
        assert_eq!(
            walk(Direction::Ascending, false, 3),
            vec![
                (vec![5, 6, 7], true, false),
                (vec![2, 3, 4], true, true),
                (vec![1], false, true)
            ]
        );
        assert_eq!(
            walk(Direction::Descending, true, 4),
            vec![
                (vec![7, 6, 5, 4], false, true),
                (vec![3, 2, 1], true, false)
            ]
        );
        assert_eq!(
            walk(Direction::Descending, false, 4),
            vec![
                (vec![4, 3, 2, 1], true, false),
                (vec![7, 6, 5], false, true)
            ]
        );
    }

    #[test]
    fn foreign_cursors_are_refused() {
        let map: BTreeMap<Vec<u8>, u8> = BTreeMap::new();
        let scan = |lower, upper| map.range((lower, upper)).map(|(k, v)| Ok((k.clone(), *v)));
        let listing = Listing::new(3, vec![9], Direction::Ascending);
        for foreign in [vec![4, 9, 1], vec![3, 8, 1], vec![]] {
            let request = PageRequest::new(Some(1), Some(Position(foreign)), None, None).unwrap();
            assert!(matches!(
                paginate(&listing, &request, scan),
                Err(Error::BadInput(_))
            ));
        }
    }
}
