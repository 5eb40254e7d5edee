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

    /// Forgets everything (the node restarted, or came back with newer numbers).
    pub fn reset(&mut self) {
        self.last = None;
        self.missing.clear();
    }

    /// Stops waiting for missing numbers but remembers the highest one seen, so that a
    /// replay of older numbers is still recognised (the node was declared dead).
    pub fn forget_missing(&mut self) {
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

/// How far below the highest number a [`ReplayWindow`] remembers.
pub const REPLAY_WINDOW: u64 = 64;

/// The sequence numbers of one sender seen on one link: the highest and a bitmap of the
/// [`REPLAY_WINDOW`] numbers below it (the anti-replay window of IPsec, RFC 4303 3.4.3).
/// A number is new when it is above the highest, or inside the window and not seen yet;
/// a newer generation starts afresh.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    generation: u64,
    /// 0 while nothing was seen (sequence numbers start at 1).
    top: u64,
    /// Bit `i`: `top - i` was seen.
    seen: u64,
}

impl ReplayWindow {
    /// Records (`generation`, `seq`); true when it was not seen before.
    pub fn check(&mut self, generation: u64, seq: u64) -> bool {
        if self.top == 0 || generation > self.generation {
            *self = ReplayWindow {
                generation,
                top: seq,
                seen: 1,
            };
            return true;
        }
        if generation < self.generation {
            return false;
        }
        if seq > self.top {
            let shift = seq - self.top;
            self.seen = if shift >= REPLAY_WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.top = seq;
            return true;
        }
        let below = self.top - seq;
        if below >= REPLAY_WINDOW {
            return false;
        }
        let bit = 1u64 << below;
        let new = self.seen & bit == 0;
        self.seen |= bit;
        new
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
    fn replay_window() {
        let mut w = ReplayWindow::default();
        assert!(w.check(5, 10));
        assert!(!w.check(5, 10));
        assert!(w.check(5, 12));
        assert!(w.check(5, 11), "inside the window, not seen yet");
        assert!(!w.check(5, 11));
        assert!(!w.check(5, 12));
        assert!(!w.check(4, 100), "older generation");
        assert!(w.check(5, 12 + REPLAY_WINDOW - 1));
        assert!(!w.check(5, 12), "seen, still inside the window");
        assert!(w.check(5, 13), "not seen, still inside");
        assert!(!w.check(5, 11), "below the window");
        assert!(w.check(5, 1000));
        assert!(!w.check(5, 1000 - REPLAY_WINDOW));
        assert!(w.check(6, 1), "a newer generation starts afresh");
        assert!(!w.check(6, 1));
    }

    #[test]
    fn forget_missing_keeps_the_highest() {
        let t0 = Instant::now();
        let mut s = SeqTracker::default();
        s.accept(1, || t0);
        s.accept(5, || t0);
        s.forget_missing();
        assert!(!s.has_missing());
        assert_eq!(s.last(), Some(5));
        assert_eq!(s.accept(3, || t0), Verdict::Old);
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
