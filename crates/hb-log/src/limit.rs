//! The one rate limiter for "this happened again" log lines (sans-IO: the caller passes the
//! time). A flood (bad packets, refused clients, send errors) must not flood the log: the first
//! event logs at once; further events within the interval are only counted, and the next line
//! that is due carries how many were suppressed in between.

use std::time::{Duration, Instant};

/// Default minimum time between two lines of one limiter.
pub const DEFAULT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One rate-limited log line.
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

    /// Counts one event that is never to be logged (not reported as suppressed either).
    pub fn count(&mut self) {
        self.total = self.total.saturating_add(1);
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

    /// Events not logged since the last line.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    /// When [`flush_due`](Self::flush_due) will have something to report (None: nothing
    /// is held back), for a caller that sleeps until its next deadline.
    pub fn next_flush(&self) -> Option<Instant> {
        match (self.suppressed, self.last_line) {
            (0, _) | (_, None) => None,
            (_, Some(t)) => Some(t + self.interval),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_limiter() {
        let t0 = Instant::now();
        let mut l = LogLimiter::new(Duration::from_secs(1));
        assert_eq!(l.hit(t0), Some(0));
        assert_eq!(l.hit(t0 + Duration::from_millis(500)), None);
        assert_eq!(l.hit(t0 + Duration::from_millis(900)), None);
        assert_eq!(l.suppressed(), 2);
        assert_eq!(l.next_flush(), Some(t0 + Duration::from_secs(1)));
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
        let mut l = LogLimiter::default();
        assert_eq!(l.hit(t0), Some(0));
        assert_eq!(l.hit(t0 - Duration::from_secs(50)), None);
        assert_eq!(l.flush_due(t0 - Duration::from_secs(60)), None);
    }
}
