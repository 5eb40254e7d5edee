//! Send errors of the media, rate-limited: one line per medium per interval, with the count
//! of those suppressed since the previous line; never silenced for good.

use std::io;
use std::time::{Duration, Instant};

/// How often a medium's send errors are logged at most (the rest are counted).
pub const SEND_ERROR_LOG_INTERVAL: Duration = hb_log::DEFAULT_LOG_INTERVAL;

/// The send errors of each medium, rate-limited (never silenced for good).
pub struct SendErrors {
    limits: Vec<(String, hb_log::LogLimiter)>,
}

impl SendErrors {
    /// One limiter per medium, by device name (index = the medium's index).
    pub fn new<'a>(devs: impl IntoIterator<Item = &'a str>) -> SendErrors {
        SendErrors {
            limits: devs
                .into_iter()
                .map(|d| {
                    (
                        d.to_string(),
                        hb_log::LogLimiter::new(SEND_ERROR_LOG_INTERVAL),
                    )
                })
                .collect(),
        }
    }

    /// A send on medium `i` failed: the line to log, if one is due.
    pub fn failed(&mut self, i: usize, now: Instant, err: &io::Error) -> Option<String> {
        let (_, l) = self.limits.get_mut(i)?;
        l.hit(now)
            .map(|n| format!("{err}{}", hb_log::suppressed_note(n)))
    }

    /// Lines for the errors suppressed since the last line, once their interval is over.
    pub fn flush(&mut self, now: Instant) -> Vec<String> {
        self.limits
            .iter_mut()
            .filter_map(|(dev, l)| {
                l.flush_due(now)
                    .map(|n| format!("{n} more send errors on {dev} suppressed"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_medium_is_reported_every_interval_with_counts() {
        let t0 = Instant::now();
        let mut s = SendErrors::new(["eth1", "eth2"]);
        let err = io::Error::new(
            io::ErrorKind::NetworkUnreachable,
            "ucast send on eth1 to 192.0.2.2:694: Network is unreachable",
        );
        // One failed send every 200 ms (keepalive) for two minutes: the first version
        // logged 20 lines and then nothing at all.
        let mut lines = Vec::new();
        for k in 0..600u64 {
            let now = t0 + Duration::from_millis(200 * k);
            if let Some(l) = s.failed(0, now, &err) {
                lines.push((k, l));
            }
            lines.extend(s.flush(now).into_iter().map(|l| (k, l)));
        }
        assert_eq!(lines.len(), 12, "{lines:?}");
        assert_eq!(lines[0], (0, err.to_string()));
        for (k, (at, l)) in lines.iter().enumerate().skip(1) {
            assert_eq!(*at, 50 * k as u64);
            assert!(l.ends_with(" (49 more suppressed)"), "{l}");
        }
        // The errors stop after the last line (at 110 s): what was suppressed since is
        // still reported once its interval is over.
        assert!(s.flush(t0 + Duration::from_millis(119_900)).is_empty());
        assert_eq!(
            s.flush(t0 + Duration::from_secs(120)),
            vec!["49 more send errors on eth1 suppressed".to_string()]
        );
        assert!(s.flush(t0 + Duration::from_secs(300)).is_empty());
        let last = t0 + Duration::from_secs(300);
        // Another medium has its own limit.
        assert!(s.failed(1, last, &err).is_some());
        assert!(s.failed(7, last, &err).is_none(), "no such medium");
    }
}
