//! What one request's store work may spend, and until when. A filtered
//! scan (one that reads index entries whose records its filter may turn
//! away) charges every record it reads to the request's [`ScanBudget`], and
//! a count from index entries alone one unit per block of entries; both
//! check the deadline between batches. A page whose scan runs out of budget
//! ends where the scan stopped, and a count that would run out is refused
//! (`Error::ScanLimit`), so no request reads the whole database. Scans that
//! return every entry they read (one condition, in an order the index
//! keeps) are bounded by their page size instead and charge nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::{Error, Result};

/// One request's allowance for scans that read past what they return, and
/// the deadline its store work stops at. Shared by every store call the
/// request makes (its loaders run them concurrently), hence atomic.
#[derive(Debug)]
pub struct ScanBudget {
    limit: u64,
    spent: AtomicU64,
    deadline: Option<Instant>,
}

impl ScanBudget {
    /// A budget of `limit` records read by filtered scans, and a deadline
    /// (none: the work runs to its end).
    pub fn new(limit: u64, deadline: Option<Instant>) -> Self {
        Self {
            limit,
            spent: AtomicU64::new(0),
            deadline,
        }
    }

    /// No limit and no deadline, for in-process callers that must see
    /// everything: seeding, `check`, tests of the layout.
    pub fn unlimited() -> Self {
        Self::new(u64::MAX, None)
    }

    /// The most a request may spend.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// What is left.
    pub fn remaining(&self) -> u64 {
        self.limit
            .saturating_sub(self.spent.load(Ordering::Relaxed))
    }

    /// What has been spent (more than the limit when a scan's last batch
    /// went past it).
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// Charges `n` units; whether the budget still had them.
    pub(super) fn charge(&self, n: u64) -> bool {
        let before = self.spent.fetch_add(n, Ordering::Relaxed);
        before.saturating_add(n) <= self.limit
    }

    /// Fails with [`Error::DeadlineExceeded`] once the deadline has passed:
    /// called between batches, so the request's timeout stops its work and
    /// not only its answer.
    pub(super) fn check_deadline(&self) -> Result<()> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(Error::DeadlineExceeded),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_spent_by_its_charges_and_says_so() {
        let budget = ScanBudget::new(100, None);
        assert!(budget.charge(60));
        assert_eq!(budget.remaining(), 40);
        assert!(budget.charge(40));
        assert_eq!(budget.remaining(), 0);
        assert!(!budget.charge(1));
        assert_eq!(budget.spent(), 101);
        assert!(budget.check_deadline().is_ok());
    }

    #[test]
    fn a_passed_deadline_stops_the_work() {
        let budget = ScanBudget::new(10, Some(Instant::now()));
        assert!(matches!(
            budget.check_deadline(),
            Err(Error::DeadlineExceeded)
        ));
    }
}
