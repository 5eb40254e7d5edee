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
        f.write_str(&suppressed_note(self.suppressed))
    }
}

/// One rate-limited log line (the project's one limiter for "this happened again" lines):
/// the first event logs at once; further events within `interval` are only counted; the
/// next line that is due carries how many were suppressed in between. Sans-IO: the caller
/// passes the time.
#[derive(Clone, Copy, Debug)]
pub struct LogLimiter {
    interval: Duration,
    total: u64,
    suppressed: u64,
    last_line: Option<Instant>,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(DEFAULT_LOG_INTERVAL)
    }
}

impl LogLimiter {
    /// A limiter allowing one line per `interval`.
    pub const fn new(interval: Duration) -> LogLimiter {
        LogLimiter {
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
    pub fn hit(&mut self, now: Instant) -> Option<u64> {
        self.total = self.total.saturating_add(1);
        if self.elapsed(now) {
            self.last_line = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }

    /// After a quiet period: `Some(n)` when `n` > 0 events were suppressed and the interval
    /// has passed (call it from a timer); a new interval starts.
    pub fn flush_due(&mut self, now: Instant) -> Option<u64> {
        if self.suppressed > 0 && self.elapsed(now) {
            self.last_line = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            None
        }
    }

    /// Events counted so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// When [`flush_due`](Self::flush_due) will have something to report (None: nothing
    /// is held back).
    pub fn next_flush(&self) -> Option<Instant> {
        match (self.suppressed, self.last_line) {
            (0, _) | (_, None) => None,
            (_, Some(t)) => Some(t + self.interval),
        }
    }

    /// Events not logged since the last line.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

/// `" (N more suppressed)"`, or nothing when `n` is 0: the tail of a rate-limited line.
pub fn suppressed_note(n: u64) -> String {
    if n > 0 {
        format!(" ({n} more suppressed)")
    } else {
        String::new()
    }
}

/// Drop counters per [`DropKind`] with a per-kind log rate limit.
#[derive(Clone, Debug)]
pub struct DropCounter {
    kinds: [LogLimiter; DropKind::ALL.len()],
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
            kinds: [LogLimiter::new(interval); DropKind::ALL.len()],
        }
    }

    /// Counts one dropped datagram; returns `Some` when a log line for it is due now.
    pub fn record(&mut self, err: &DecodeError, now: Instant) -> Option<LogDue> {
        self.record_kind(err.kind(), now)
    }

    /// As [`record`](Self::record), by kind.
    pub fn record_kind(&mut self, kind: DropKind, now: Instant) -> Option<LogDue> {
        let st = self.kinds.get_mut(kind.index())?;
        st.hit(now).map(|suppressed| LogDue { kind, suppressed })
    }

    /// Summaries for kinds that have suppressed drops and whose interval has passed, so
    /// a quiet period after a burst still reports "N more suppressed" (call it from a timer).
    /// Each returned kind starts a new interval.
    pub fn flush_due(&mut self, now: Instant) -> Vec<LogDue> {
        let mut out = Vec::new();
        for (kind, st) in DropKind::ALL.iter().zip(self.kinds.iter_mut()) {
            if let Some(suppressed) = st.flush_due(now) {
                out.push(LogDue {
                    kind: *kind,
                    suppressed,
                });
            }
        }
        out
    }

    /// Drops of `kind` counted so far.
    pub fn count(&self, kind: DropKind) -> u64 {
        self.kinds.get(kind.index()).map_or(0, LogLimiter::total)
    }

    /// All drops counted so far.
    pub fn total(&self) -> u64 {
        self.kinds
            .iter()
            .map(LogLimiter::total)
            .fold(0, u64::saturating_add)
    }

    /// Every kind dropped at least once, with its count, in [`DropKind`] order (for
    /// status output).
    pub fn counts(&self) -> impl Iterator<Item = (DropKind, u64)> + '_ {
        DropKind::ALL
            .iter()
            .zip(self.kinds.iter())
            .map(|(k, l)| (*k, l.total()))
            .filter(|(_, n)| *n > 0)
    }

    /// When [`flush_due`](Self::flush_due) will next have something to report.
    pub fn next_flush(&self) -> Option<Instant> {
        self.kinds.iter().filter_map(LogLimiter::next_flush).min()
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
        assert_eq!(
            c.counts().collect::<Vec<_>>(),
            vec![(DropKind::BadMagic, 8), (DropKind::NoAuth, 1)]
        );
        // BadMagic holds one back since its line at 10 s.
        assert_eq!(c.next_flush(), Some(t0 + Duration::from_secs(20)));
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
    fn a_single_limiter() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(Duration::from_secs(1));
        assert_eq!(l.hit(t0), Some(0));
        assert_eq!(l.hit(t0 + Duration::from_millis(500)), None);
        assert_eq!(l.hit(t0 + Duration::from_millis(900)), None);
        assert_eq!(l.flush_due(t0 + Duration::from_millis(950)), None);
        assert_eq!(l.hit(t0 + Duration::from_secs(1)), Some(2));
        assert_eq!(l.hit(t0 + Duration::from_millis(1100)), None);
        assert_eq!(l.flush_due(t0 + Duration::from_secs(3)), Some(1));
        assert_eq!(l.flush_due(t0 + Duration::from_secs(9)), None);
        assert_eq!(l.total(), 5);
        assert_eq!(suppressed_note(0), "");
        assert_eq!(suppressed_note(3), " (3 more suppressed)");
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
