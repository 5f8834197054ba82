//! Keyset pagination over anything that scans keys in order: a backend's
//! key space or a small sorted map. A position is the list's tag byte
//! followed by the key of the item, so a page costs a bounded scan from
//! that key, however many items precede it.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use super::backend::KeyRange;
use super::keys::prefix_end;
use crate::domain::{Direction, Limit, Page, PageRequest, Position, Stop};
use crate::error::{Error, Result};

/// One list the store can page through.
pub(super) struct Listing {
    /// The first byte of every position of this list, so that a cursor of one
    /// list is refused by another (the tags are in `keys::tag`).
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

/// What one `take` found: items with their keys, in the order taken, and,
/// when it ran out of the request's scan budget first, the key it stopped
/// at (every key before it in that order was looked at).
pub(super) struct Taken<T> {
    pub items: Vec<(Vec<u8>, T)>,
    pub stopped_at: Option<Vec<u8>>,
}

impl<T> Taken<T> {
    /// Everything the take was asked for, or all there was.
    pub fn all(items: Vec<(Vec<u8>, T)>) -> Self {
        Self {
            items,
            stopped_at: None,
        }
    }
}

/// Reads one page of `listing`. `take(range, direction, n)` returns up to
/// `n` items whose keys lie in `range`, from its low end (ascending) or its
/// high end (descending), in that order; it may skip items (a filter), and
/// the page and its flags stay consistent with what it returns. A take
/// that stopped early makes a short page that says where it stopped
/// (`Page::stopped_at`) and that more may follow in the direction read;
/// asked whether anything lies behind a cursor, a take that stopped early
/// answers yes.
pub(super) async fn paginate<T, Take, Taking>(
    listing: &Listing,
    request: &PageRequest,
    take: Take,
) -> Result<Page<T>>
where
    Take: Fn(KeyRange, Direction, usize) -> Taking,
    Taking: Future<Output = Result<Taken<T>>>,
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
    let range = KeyRange::new(lower, upper);
    let exists = |lower, upper| {
        let taking = take(KeyRange::new(lower, upper), Direction::Ascending, 1);
        async move {
            let taken = taking.await?;
            Ok::<_, Error>(!taken.items.is_empty() || taken.stopped_at.is_some())
        }
    };
    let forward = listing.direction;
    let backward = match forward {
        Direction::Ascending => Direction::Descending,
        Direction::Descending => Direction::Ascending,
    };

    let stop = |key: Vec<u8>, forwards: bool| {
        let position = listing.position(&key);
        if forwards {
            Stop::After(position)
        } else {
            Stop::Before(position)
        }
    };
    let (mut items, has_next_page, has_previous_page, stopped_at) = match request.limit() {
        Limit::First(n) => {
            let Taken {
                mut items,
                stopped_at,
            } = take(range, forward, n + 1).await?;
            let has_next = items.len() > n || stopped_at.is_some();
            items.truncate(n);
            let has_previous = match after {
                Some(after) if ascending => exists(list_lower, Included(after)).await?,
                Some(after) => exists(Included(after), list_upper).await?,
                None => false,
            };
            (
                items,
                has_next,
                has_previous,
                stopped_at.map(|key| stop(key, true)),
            )
        }
        Limit::Last(n) => {
            let Taken {
                mut items,
                stopped_at,
            } = take(range, backward, n + 1).await?;
            let has_previous = items.len() > n || stopped_at.is_some();
            items.truncate(n);
            items.reverse();
            let has_next = match before {
                Some(before) if ascending => exists(Included(before), list_upper).await?,
                Some(before) => exists(list_lower, Included(before)).await?,
                None => false,
            };
            (
                items,
                has_next,
                has_previous,
                stopped_at.map(|key| stop(key, false)),
            )
        }
    };
    Ok(Page {
        items: items
            .drain(..)
            .map(|(key, item)| (listing.position(&key), item))
            .collect(),
        has_next_page,
        has_previous_page,
        stopped_at,
    })
}

/// `paginate`'s `take` over a sorted map in memory.
pub(super) async fn take_sorted<T: Clone>(
    sorted: &BTreeMap<Vec<u8>, T>,
    range: KeyRange,
    direction: Direction,
    n: usize,
) -> Result<Taken<T>> {
    if range.is_empty() {
        return Ok(Taken::all(Vec::new()));
    }
    let items = sorted
        .range((range.lower, range.upper))
        .map(|(key, item)| (key.clone(), item.clone()));
    Ok(Taken::all(match direction {
        Direction::Ascending => items.take(n).collect(),
        Direction::Descending => items.rev().take(n).collect(),
    }))
}

/// The tighter of two lower bounds.
pub(super) fn tighter_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
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
pub(super) fn tighter_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
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
    use super::*;

    /// Pages through the keys 1..=7 under prefix 9, in the given direction,
    /// following cursors, and returns the pages.
    async fn walk(direction: Direction, forward: bool, size: i32) -> Vec<(Vec<u8>, bool, bool)> {
        let map: BTreeMap<Vec<u8>, u8> = (1..=7)
            .map(|n| (vec![9, n], n))
            .chain([(vec![8, 1], 0)])
            .collect();
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
            let page = paginate(&listing, &request, |range, direction, n| {
                take_sorted(&map, range, direction, n)
            })
            .await
            .unwrap();
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

    #[tokio::test]
    async fn forward_and_backward_walks_cover_the_list_once() {
        assert_eq!(
            walk(Direction::Ascending, true, 3).await,
            vec![
                (vec![1, 2, 3], false, true),
                (vec![4, 5, 6], true, true),
                (vec![7], true, false)
            ]
        );
        assert_eq!(
            walk(Direction::Ascending, false, 3).await,
            vec![
                (vec![5, 6, 7], true, false),
                (vec![2, 3, 4], true, true),
                (vec![1], false, true)
            ]
        );
        assert_eq!(
            walk(Direction::Descending, true, 4).await,
            vec![
                (vec![7, 6, 5, 4], false, true),
                (vec![3, 2, 1], true, false)
            ]
        );
        assert_eq!(
            walk(Direction::Descending, false, 4).await,
            vec![
                (vec![4, 3, 2, 1], true, false),
                (vec![7, 6, 5], false, true)
            ]
        );
    }

    #[tokio::test]
    async fn foreign_cursors_are_refused() {
        let map: BTreeMap<Vec<u8>, u8> = BTreeMap::new();
        let listing = Listing::new(3, vec![9], Direction::Ascending);
        for foreign in [vec![4, 9, 1], vec![3, 8, 1], vec![]] {
            let request = PageRequest::new(Some(1), Some(Position(foreign)), None, None).unwrap();
            let page = paginate(&listing, &request, |range, direction, n| {
                take_sorted(&map, range, direction, n)
            })
            .await;
            assert!(matches!(page, Err(Error::BadInput(_))));
        }
    }
}
