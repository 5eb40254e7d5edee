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

/// The one log rate limiter: for one stream of like events (a kind of dropped datagram, the
/// send errors of one medium...), the first event is logged at once; further events within
/// `interval` of the last line are only counted, and the next line that is due carries how
/// many were suppressed in between. Nothing is ever silenced for good.
#[derive(Clone, Copy, Debug)]
pub struct LogLimit {
    interval: Duration,
    total: u64,
    suppressed: u64,
    last_line: Option<Instant>,
}

impl LogLimit {
    /// At most one line per `interval`.
    pub fn new(interval: Duration) -> LogLimit {
        LogLimit {
            interval,
            total: 0,
            suppressed: 0,
            last_line: None,
        }
    }

    fn elapsed(&self, now: Instant) -> bool {
        match self.last_line {
            None => true,
            Some(t) => now.saturating_duration_since(t) >= self.interval,
        }
    }

    /// Counts one event; `Some(suppressed)` when a line is due now (`suppressed`: events
    /// counted but not logged since the previous line).
    pub fn record(&mut self, now: Instant) -> Option<u64> {
        self.total = self.total.saturating_add(1);
        if self.elapsed(now) {
            self.last_line = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }

    /// After a burst: `Some(suppressed)` once the interval has passed with suppressed events
    /// not reported yet (call it from a timer or every turn); starts a new interval.
    pub fn flush_due(&mut self, now: Instant) -> Option<u64> {
        if self.suppressed > 0 && self.elapsed(now) {
            self.last_line = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            None
        }
    }

    /// When [`LogLimit::flush_due`] will have something to report, if ever.
    pub fn flush_at(&self) -> Option<Instant> {
        if self.suppressed == 0 {
            return None;
        }
        self.last_line.map(|t| t + self.interval)
    }

    /// Events counted so far.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Drop counters per [`DropKind`] with a per-kind log rate limit ([`LogLimit`]).
#[derive(Clone, Debug)]
pub struct DropCounter {
    kinds: [LogLimit; DropKind::ALL.len()],
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
            kinds: [LogLimit::new(interval); DropKind::ALL.len()],
        }
    }

    /// Counts one dropped datagram; returns `Some` when a log line for it is due now.
    pub fn record(&mut self, err: &DecodeError, now: Instant) -> Option<LogDue> {
        self.record_kind(err.kind(), now)
    }

    /// As [`record`](Self::record), by kind.
    pub fn record_kind(&mut self, kind: DropKind, now: Instant) -> Option<LogDue> {
        let st = self.kinds.get_mut(kind.index())?;
        st.record(now).map(|suppressed| LogDue { kind, suppressed })
    }

    /// Summaries for kinds that have suppressed drops and whose interval has passed, so
    /// a quiet period after a burst still reports "N more suppressed" (call it from a timer).
    /// Each returned kind starts a new interval.
    pub fn flush_due(&mut self, now: Instant) -> Vec<LogDue> {
        DropKind::ALL
            .iter()
            .zip(self.kinds.iter_mut())
            .filter_map(|(kind, st)| {
                st.flush_due(now).map(|suppressed| LogDue {
                    kind: *kind,
                    suppressed,
                })
            })
            .collect()
    }

    /// Drops of `kind` counted so far.
    pub fn count(&self, kind: DropKind) -> u64 {
        self.kinds.get(kind.index()).map_or(0, LogLimit::total)
    }

    /// All drops counted so far.
    pub fn total(&self) -> u64 {
        self.kinds
            .iter()
            .map(LogLimit::total)
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
    fn log_limit_never_silences_for_good() {
        let t0 = Instant::now();
        let mut l = LogLimit::new(Duration::from_secs(10));
        assert_eq!(l.record(t0), Some(0));
        assert_eq!(l.flush_at(), None);
        // A long burst: one line per interval, each with the count it stood for.
        let mut lines = Vec::new();
        for ms in (100..=60_000).step_by(100) {
            if let Some(n) = l.record(t0 + Duration::from_millis(ms)) {
                lines.push((ms, n));
            }
        }
        assert_eq!(
            lines,
            vec![
                (10_000, 99),
                (20_000, 99),
                (30_000, 99),
                (40_000, 99),
                (50_000, 99),
                (60_000, 99)
            ]
        );
        assert_eq!(l.total(), 601);
        l.record(t0 + Duration::from_millis(60_500));
        assert_eq!(l.flush_at(), Some(t0 + Duration::from_secs(70)));
        assert_eq!(l.flush_due(t0 + Duration::from_secs(65)), None);
        assert_eq!(l.flush_due(t0 + Duration::from_secs(70)), Some(1));
        assert_eq!(l.flush_at(), None);
        assert_eq!(l.flush_due(t0 + Duration::from_secs(200)), None);
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
