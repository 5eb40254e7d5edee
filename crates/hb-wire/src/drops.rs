//! The project's one rate limiter for log lines, with counters (sans-IO: the caller passes
//! the current time).
//!
//! A flood of bad packets (a misconfigured peer, a different cluster on the same port, an
//! attacker) must not flood the log. Per key (for drops: a [`DropKind`]), the first event
//! logs at once; further events within the interval are only counted, and the next line
//! that is due carries how many were suppressed in between. Every event is counted, logged
//! or not, so the totals can be shown (`heartbeat -s`).
//!
//! [`DropCounter`] is the limiter keyed by [`DropKind`], what every drop path of the
//! receive side uses; other parts of the daemon key it by whatever names their lines.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{DecodeError, DropKind};

/// Default minimum time between two log lines of the same key.
pub const DEFAULT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A log line that is due: the caller logs its text followed by this value's
/// [`Display`](fmt::Display) (empty when nothing was suppressed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogDue<K> {
    pub kind: K,
    /// Events of this key counted but not logged since the previous line.
    pub suppressed: u64,
}

impl<K> fmt::Display for LogDue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.suppressed > 0 {
            write!(f, " ({} more suppressed)", self.suppressed)
        } else {
            Ok(())
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct KeyState {
    total: u64,
    suppressed: u64,
    last_line: Option<Instant>,
}

/// Counters per key with a per-key log rate limit.
#[derive(Clone, Debug)]
pub struct RateLimiter<K: Ord + Copy> {
    interval: Duration,
    keys: BTreeMap<K, KeyState>,
}

/// The limiter of every drop path, keyed by [`DropKind`].
pub type DropCounter = RateLimiter<DropKind>;

impl<K: Ord + Copy> Default for RateLimiter<K> {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_LOG_INTERVAL)
    }
}

impl DropCounter {
    /// Counts one dropped datagram; returns `Some` when a log line for it is due now.
    pub fn record(&mut self, err: &DecodeError, now: Instant) -> Option<LogDue<DropKind>> {
        self.record_kind(err.kind(), now)
    }
}

impl<K: Ord + Copy> RateLimiter<K> {
    /// Counters allowing one log line per key per `interval`.
    pub fn new(interval: Duration) -> RateLimiter<K> {
        RateLimiter {
            interval,
            keys: BTreeMap::new(),
        }
    }

    /// Counts one event of `kind`; returns `Some` when a log line for it is due now.
    pub fn record_kind(&mut self, kind: K, now: Instant) -> Option<LogDue<K>> {
        let interval = self.interval;
        let st = self.keys.entry(kind).or_default();
        st.total = st.total.saturating_add(1);
        let due = match st.last_line {
            None => true,
            Some(t) => now.saturating_duration_since(t) >= interval,
        };
        if due {
            let suppressed = std::mem::take(&mut st.suppressed);
            st.last_line = Some(now);
            Some(LogDue { kind, suppressed })
        } else {
            st.suppressed = st.suppressed.saturating_add(1);
            None
        }
    }

    /// Summaries for keys that have suppressed events and whose interval has passed, so
    /// a quiet period after a burst still reports "N more suppressed" (call it from a
    /// timer). Each returned key starts a new interval.
    pub fn flush_due(&mut self, now: Instant) -> Vec<LogDue<K>> {
        let interval = self.interval;
        let mut out = Vec::new();
        for (kind, st) in self.keys.iter_mut() {
            let elapsed = match st.last_line {
                None => true,
                Some(t) => now.saturating_duration_since(t) >= interval,
            };
            if st.suppressed > 0 && elapsed {
                out.push(LogDue {
                    kind: *kind,
                    suppressed: std::mem::take(&mut st.suppressed),
                });
                st.last_line = Some(now);
            }
        }
        out
    }

    /// When [`flush_due`](Self::flush_due) will next have something to report.
    pub fn next_flush(&self) -> Option<Instant> {
        self.keys
            .values()
            .filter(|s| s.suppressed > 0)
            .filter_map(|s| s.last_line.map(|t| t + self.interval))
            .min()
    }

    /// Events of `kind` counted so far.
    pub fn count(&self, kind: K) -> u64 {
        self.keys.get(&kind).map_or(0, |s| s.total)
    }

    /// All events counted so far.
    pub fn total(&self) -> u64 {
        self.keys
            .values()
            .map(|s| s.total)
            .fold(0, u64::saturating_add)
    }

    /// Every key counted at least once, with its count, in key order.
    pub fn counts(&self) -> impl Iterator<Item = (K, u64)> + '_ {
        self.keys.iter().map(|(k, s)| (*k, s.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind_per_interval() {
        let t0 = Instant::now();
        let mut c = DropCounter::new(Duration::from_secs(10));
        let bad = DecodeError::BadMagic;
        assert_eq!(
            c.record(&bad, t0),
            Some(LogDue {
                kind: DropKind::BadMagic,
                suppressed: 0
            })
        );
        for i in 1..=5 {
            assert_eq!(c.record(&bad, t0 + Duration::from_secs(i)), None);
        }
        // Another kind is not affected by the first one's limit.
        assert!(c
            .record(&DecodeError::NoAuth, t0 + Duration::from_secs(2))
            .is_some());
        assert_eq!(c.next_flush(), Some(t0 + Duration::from_secs(10)));
        let due = c.record(&bad, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(due.suppressed, 5);
        assert_eq!(due.to_string(), " (5 more suppressed)");
        assert_eq!(c.record(&bad, t0 + Duration::from_secs(11)), None);
        assert_eq!(c.count(DropKind::BadMagic), 8);
        assert_eq!(c.count(DropKind::NoAuth), 1);
        assert_eq!(c.count(DropKind::BadDigest), 0);
        assert_eq!(c.total(), 9);
        assert_eq!(
            c.counts().collect::<Vec<_>>(),
            vec![(DropKind::BadMagic, 8), (DropKind::NoAuth, 1)]
        );
    }

    #[test]
    fn flush_reports_suppressed_after_quiet_period() {
        let t0 = Instant::now();
        let mut c = DropCounter::default();
        c.record(&DecodeError::Truncated, t0);
        c.record(&DecodeError::Truncated, t0 + Duration::from_secs(1));
        c.record(&DecodeError::Truncated, t0 + Duration::from_secs(2));
        assert!(c.flush_due(t0 + Duration::from_secs(5)).is_empty());
        let f = c.flush_due(t0 + Duration::from_secs(10));
        assert_eq!(
            f,
            vec![LogDue {
                kind: DropKind::Truncated,
                suppressed: 2
            }]
        );
        assert!(c.flush_due(t0 + Duration::from_secs(30)).is_empty());
        assert_eq!(c.next_flush(), None);
        // The flush started a new interval.
        assert_eq!(
            c.record(&DecodeError::Truncated, t0 + Duration::from_secs(15)),
            None
        );
        assert_eq!(c.total(), 4);
    }

    #[test]
    fn any_key_type() {
        let t0 = Instant::now();
        let mut c: RateLimiter<&'static str> = RateLimiter::new(Duration::from_secs(1));
        assert!(c.record_kind("send", t0).is_some());
        assert!(c.record_kind("send", t0).is_none());
        assert!(c.record_kind("accept", t0).is_some());
        assert_eq!(c.count("send"), 2);
    }

    #[test]
    fn time_going_backwards_does_not_panic() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut c = DropCounter::default();
        assert!(c.record(&DecodeError::BadMagic, t0).is_some());
        assert!(c
            .record(&DecodeError::BadMagic, t0 - Duration::from_secs(50))
            .is_none());
        assert!(c.flush_due(t0 - Duration::from_secs(60)).is_empty());
    }
}
