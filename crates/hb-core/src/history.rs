//! The sent-message history that serves retransmission requests (PROTOCOL.md 4.4).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many sequenced messages we keep (3.0.6 keeps 500, 2.0.8 200).
pub const HISTORY_LEN: usize = 500;
/// At most this many messages are resent for one request.
pub const MAX_REXMIT_PER_REQUEST: u64 = 50;

struct Sent {
    seq: u64,
    bytes: Vec<u8>,
    last_sent: Instant,
}

/// A ring of our last sequenced datagrams, byte for byte as first sent.
#[derive(Default)]
pub struct History {
    ring: VecDeque<Sent>,
}

/// The answer to a request for one sequence number.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Send these bytes again.
    Resend(&'a [u8]),
    /// Sent again too recently: skip.
    TooSoon,
    /// Older than anything kept.
    TooLow,
    /// Never sent (above our highest number).
    AboveMax { max: u64 },
    /// Inside the kept range but missing (cannot happen with a contiguous ring).
    NotFound,
}

impl History {
    pub fn push(&mut self, seq: u64, bytes: Vec<u8>, now: Instant) {
        if self.ring.len() == HISTORY_LEN {
            self.ring.pop_front();
        }
        self.ring.push_back(Sent {
            seq,
            bytes,
            last_sent: now,
        });
    }

    /// The last message pushed, as sent.
    pub fn last(&self) -> Option<(u64, &[u8])> {
        self.ring.back().map(|s| (s.seq, s.bytes.as_slice()))
    }

    pub fn lowest(&self) -> Option<u64> {
        self.ring.front().map(|s| s.seq)
    }

    pub fn highest(&self) -> Option<u64> {
        self.ring.back().map(|s| s.seq)
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Looks `seq` up for a retransmission at `now`; a resend is remembered so that a
    /// second request within `min_gap` is skipped.
    pub fn lookup(&mut self, seq: u64, now: Instant, min_gap: Duration) -> Lookup<'_> {
        let max = self.highest().unwrap_or(0);
        if seq > max {
            return Lookup::AboveMax { max };
        }
        match self.lowest() {
            Some(low) if seq >= low => {}
            _ => return Lookup::TooLow,
        }
        match self.ring.iter_mut().find(|s| s.seq == seq) {
            None => Lookup::NotFound,
            Some(s) => {
                if now < s.last_sent + min_gap {
                    Lookup::TooSoon
                } else {
                    s.last_sent = now;
                    Lookup::Resend(&s.bytes)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_rules() {
        let t0 = Instant::now();
        let gap = Duration::from_millis(240);
        let mut h = History::default();
        for s in 1..=(HISTORY_LEN as u64 + 10) {
            h.push(s, vec![s as u8], t0);
        }
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h.lowest(), Some(11));
        assert_eq!(h.lookup(5, t0, gap), Lookup::TooLow);
        assert_eq!(h.lookup(600, t0, gap), Lookup::AboveMax { max: 510 });
        assert_eq!(h.lookup(20, t0, gap), Lookup::TooSoon);
        let later = t0 + gap;
        assert_eq!(h.lookup(20, later, gap), Lookup::Resend(&[20]));
        assert_eq!(h.lookup(20, later, gap), Lookup::TooSoon);
    }
}
