//! Counting dropped datagrams and rate-limiting their log lines (sans-IO: the caller passes
//! the current time).
//!
//! A flood of bad packets (a misconfigured peer, a different cluster on the same port) must
//! not flood the log. Per [`DropKind`], the first drop logs at once; further drops within
//! the interval are only counted, and the next line that is due carries how many were
//! suppressed in between.

use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{DecodeError, DropKind};

/// Default minimum time between two log lines of the same kind.
pub const DEFAULT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A log line that is due: the caller logs the error text followed by this value's
/// [`Display`](fmt::Display) (empty when nothing was suppressed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogDue {
    pub kind: DropKind,
    /// Drops of this kind counted but not logged since the previous line.
    pub suppressed: u64,
}

impl fmt::Display for LogDue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.suppressed > 0 {
            write!(f, " ({} more suppressed)", self.suppressed)
        } else {
            Ok(())
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct KindState {
    total: u64,
    suppressed: u64,
    last_line: Option<Instant>,
}

/// Drop counters per [`DropKind`] with a per-kind log rate limit.
#[derive(Clone, Debug)]
pub struct DropCounter {
    interval: Duration,
    kinds: [KindState; DropKind::ALL.len()],
}

/// The same type under the name that says what it is for in the daemon's log code.
pub type RateLimitedLog = DropCounter;

impl Default for DropCounter {
    fn default() -> Self {
        DropCounter::new(DEFAULT_LOG_INTERVAL)
    }
}

impl DropCounter {
    /// Counters allowing one log line per kind per `interval`.
    pub fn new(interval: Duration) -> DropCounter {
        DropCounter {
            interval,
            kinds: [KindState::default(); DropKind::ALL.len()],
        }
    }

    /// Counts one dropped datagram; returns `Some` when a log line for it is due now.
    pub fn record(&mut self, err: &DecodeError, now: Instant) -> Option<LogDue> {
        self.record_kind(err.kind(), now)
    }

    /// As [`record`](Self::record), by kind.
    pub fn record_kind(&mut self, kind: DropKind, now: Instant) -> Option<LogDue> {
        let interval = self.interval;
        let st = self.kinds.get_mut(kind.index())?;
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

    /// Summaries for kinds that have suppressed drops and whose interval has passed, so
    /// a quiet period after a burst still reports "N more suppressed" (call it from a timer).
    /// Each returned kind starts a new interval.
    pub fn flush_due(&mut self, now: Instant) -> Vec<LogDue> {
        let interval = self.interval;
        let mut out = Vec::new();
        for (kind, st) in DropKind::ALL.iter().zip(self.kinds.iter_mut()) {
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

    /// Drops of `kind` counted so far.
    pub fn count(&self, kind: DropKind) -> u64 {
        self.kinds.get(kind.index()).map_or(0, |s| s.total)
    }

    /// All drops counted so far.
    pub fn total(&self) -> u64 {
        self.kinds
            .iter()
            .map(|s| s.total)
            .fold(0, u64::saturating_add)
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
        let due = c.record(&bad, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(due.suppressed, 5);
        assert_eq!(due.to_string(), " (5 more suppressed)");
        assert_eq!(c.record(&bad, t0 + Duration::from_secs(11)), None);
        assert_eq!(c.count(DropKind::BadMagic), 8);
        assert_eq!(c.count(DropKind::NoAuth), 1);
        assert_eq!(c.count(DropKind::BadDigest), 0);
        assert_eq!(c.total(), 9);
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
        // The flush started a new interval.
        assert_eq!(
            c.record(&DecodeError::Truncated, t0 + Duration::from_secs(15)),
            None
        );
        assert_eq!(c.total(), 4);
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
