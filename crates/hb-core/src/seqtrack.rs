//! Receive-side sequence tracking for one sending node (PROTOCOL.md 4.2, step 4).
//!
//! There is no reordering buffer: a message is processed when it arrives, and numbers
//! skipped on the way are remembered as missing so that retransmissions can be asked
//! for and accepted later.

use std::collections::BTreeMap;
use std::time::Instant;

/// The most missing numbers remembered for one node; a bigger gap is forgotten whole
/// (3.0.6 uses half of its 500-message history).
pub const MAX_MISSING: u64 = 250;

/// What to do with a sequenced message, by its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next number (or the first one seen): process it.
    InOrder,
    /// Same number as the last one: a copy from another medium. Refreshes the link only.
    Duplicate,
    /// Numbers `last+1 .. seq-1` are missing; process this one.
    Gap { last: u64, lost: u64 },
    /// Like `Gap`, but too many were lost to ask for them all.
    GapTooLarge { last: u64, lost: u64 },
    /// A missing number arrived (a retransmission or a late copy): process it.
    Filled { now_complete: bool },
    /// Older than the last and not missing: drop silently.
    Old,
}

/// Sequence state for one peer.
#[derive(Clone, Debug, Default)]
pub struct SeqTracker {
    last: Option<u64>,
    /// Missing number -> when to ask for it next.
    missing: BTreeMap<u64, Instant>,
}

impl SeqTracker {
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Forgets everything (the node was declared dead or restarted).
    pub fn reset(&mut self) {
        self.last = None;
        self.missing.clear();
    }

    pub fn has_missing(&self) -> bool {
        !self.missing.is_empty()
    }

    /// Classifies `seq` and updates the state. `first_ask` gives, for each newly
    /// missing number, when to ask for it first.
    pub fn accept(&mut self, seq: u64, mut first_ask: impl FnMut() -> Instant) -> Verdict {
        let Some(last) = self.last else {
            self.last = Some(seq);
            return Verdict::InOrder;
        };
        if seq == last.wrapping_add(1) {
            self.last = Some(seq);
            Verdict::InOrder
        } else if seq == last {
            Verdict::Duplicate
        } else if seq > last {
            let lost = seq - last - 1;
            self.last = Some(seq);
            if lost > MAX_MISSING {
                self.missing.clear();
                Verdict::GapTooLarge { last, lost }
            } else {
                for s in last + 1..seq {
                    self.missing.insert(s, first_ask());
                }
                Verdict::Gap { last, lost }
            }
        } else if self.missing.remove(&seq).is_some() {
            Verdict::Filled {
                now_complete: self.missing.is_empty(),
            }
        } else {
            Verdict::Old
        }
    }

    /// Stops waiting for `seq` (the sender said it cannot retransmit it).
    pub fn give_up(&mut self, seq: u64) -> bool {
        self.missing.remove(&seq).is_some()
    }

    /// The earliest time a retransmission request is due.
    pub fn next_request(&self) -> Option<Instant> {
        self.missing.values().min().copied()
    }

    /// The numbers whose request is due at `now`; each is rescheduled at `again`.
    pub fn due_requests(&mut self, now: Instant, again: Instant) -> Vec<u64> {
        let mut due = Vec::new();
        for (seq, at) in self.missing.iter_mut() {
            if *at <= now {
                due.push(*seq);
                *at = again;
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_duplicate_gap_fill_old() {
        let t0 = Instant::now();
        let mut s = SeqTracker::default();
        assert_eq!(s.accept(5, || t0), Verdict::InOrder);
        assert_eq!(s.accept(6, || t0), Verdict::InOrder);
        assert_eq!(s.accept(6, || t0), Verdict::Duplicate);
        assert_eq!(s.accept(9, || t0), Verdict::Gap { last: 6, lost: 2 });
        assert!(s.has_missing());
        assert_eq!(
            s.accept(7, || t0),
            Verdict::Filled {
                now_complete: false
            }
        );
        assert_eq!(s.accept(7, || t0), Verdict::Old);
        assert_eq!(s.accept(8, || t0), Verdict::Filled { now_complete: true });
        assert_eq!(s.accept(3, || t0), Verdict::Old);
        assert_eq!(s.last(), Some(9));
    }

    #[test]
    fn huge_gap_is_forgotten() {
        let t0 = Instant::now();
        let mut s = SeqTracker::default();
        s.accept(1, || t0);
        assert_eq!(
            s.accept(1000, || t0),
            Verdict::GapTooLarge { last: 1, lost: 998 }
        );
        assert!(!s.has_missing());
    }

    #[test]
    fn requests_are_rescheduled() {
        let t0 = Instant::now();
        let later = t0 + std::time::Duration::from_millis(250);
        let mut s = SeqTracker::default();
        s.accept(1, || t0);
        s.accept(4, || t0);
        assert_eq!(s.next_request(), Some(t0));
        assert_eq!(s.due_requests(t0, later), vec![2, 3]);
        assert_eq!(s.next_request(), Some(later));
        assert!(s.due_requests(t0, later).is_empty());
        assert!(s.give_up(2));
        assert!(!s.give_up(2));
    }
}
