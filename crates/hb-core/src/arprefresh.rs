//! ARP refresh (our addition, `GROUP arp-refresh INTERVAL` in /etc/ha.d/checks): while this
//! node holds a group, its addresses are announced again (gratuitous ARP) at the group's
//! interval, so a switch or router with a stale entry recovers without a failover.
//!
//! Sans-IO: the daemon says which groups this node holds ([`ArpRefresh::set_holding`],
//! every turn is fine: only a change does anything), calls
//! [`ArpRefresh::handle_timeout`] at [`ArpRefresh::poll_timeout`], and announces each
//! group [`ArpRefresh::poll_announce`] gives. The first refresh comes one interval after
//! the group is held (the start itself announces); none while the group is not held.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
struct Group {
    interval: Duration,
    /// The next refresh, while the group is held here.
    next: Option<Instant>,
}

/// The refresh timers of the groups that have an interval.
#[derive(Clone, Debug, Default)]
pub struct ArpRefresh {
    groups: BTreeMap<String, Group>,
    due: VecDeque<String>,
}

impl ArpRefresh {
    /// `(group key, interval)` for each group with an `arp-refresh` line (an interval
    /// of 0 is read as 1 s).
    pub fn new(groups: impl IntoIterator<Item = (String, Duration)>) -> ArpRefresh {
        ArpRefresh {
            groups: groups
                .into_iter()
                .map(|(k, i)| {
                    let interval = if i.is_zero() {
                        Duration::from_secs(1)
                    } else {
                        i
                    };
                    (
                        k,
                        Group {
                            interval,
                            next: None,
                        },
                    )
                })
                .collect(),
            due: VecDeque::new(),
        }
    }

    /// Whether any group has a refresh interval.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The keys of the groups with an interval.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Whether this node holds group `key` now. Starting to hold it schedules the first
    /// refresh one interval later; releasing it cancels the refreshes.
    pub fn set_holding(&mut self, now: Instant, key: &str, holding: bool) {
        let Some(g) = self.groups.get_mut(key) else {
            return;
        };
        match (holding, g.next) {
            (true, None) => g.next = Some(now + g.interval),
            (false, Some(_)) => {
                g.next = None;
                self.due.retain(|k| k != key);
            }
            _ => {}
        }
    }

    /// The next refresh due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.groups.values().filter_map(|g| g.next).min()
    }

    /// Queues the refreshes due at `now`; the next of each is one interval after the one
    /// due (or after `now`, when the loop fell more than an interval behind).
    pub fn handle_timeout(&mut self, now: Instant) {
        for (k, g) in self.groups.iter_mut() {
            if let Some(t) = g.next.filter(|t| *t <= now) {
                let mut next = t + g.interval;
                if next <= now {
                    next = now + g.interval;
                }
                g.next = Some(next);
                if !self.due.contains(k) {
                    self.due.push_back(k.clone());
                }
            }
        }
    }

    /// A group whose addresses to announce now.
    pub fn poll_announce(&mut self) -> Option<String> {
        self.due.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `r` in virtual time from `t0` to `t0 + secs`, with `holding(t)` telling whether
    /// group "g" is held at each step (every 100 ms); returns the announce times (ms).
    fn run(r: &mut ArpRefresh, t0: Instant, secs: u64, holding: impl Fn(u64) -> bool) -> Vec<u64> {
        let mut out = Vec::new();
        let mut now = t0;
        let end = t0 + Duration::from_secs(secs);
        while now <= end {
            let ms = now.duration_since(t0).as_millis() as u64;
            r.set_holding(now, "g", holding(ms));
            if r.poll_timeout().is_some_and(|t| t <= now) {
                r.handle_timeout(now);
            }
            while let Some(k) = r.poll_announce() {
                assert_eq!(k, "g");
                out.push(ms);
            }
            // Jump to the next event: the next timer, or the next 100 ms step.
            let step = now + Duration::from_millis(100);
            now = r.poll_timeout().map_or(step, |t| t.min(step));
        }
        out
    }

    #[test]
    fn announces_at_the_interval_only_while_holding() {
        let t0 = Instant::now();
        let mut r = ArpRefresh::new([("g".to_string(), Duration::from_secs(5))]);
        // Held from 2 s to 23 s, then not, then again from 40 s.
        let times = run(&mut r, t0, 60, |ms| {
            (2000..23000).contains(&ms) || ms >= 40000
        });
        assert_eq!(
            times,
            vec![7000, 12000, 17000, 22000, 45000, 50000, 55000, 60000]
        );
    }

    #[test]
    fn off_without_a_line_and_for_other_groups() {
        let t0 = Instant::now();
        let mut r = ArpRefresh::new([("other".to_string(), Duration::from_secs(1))]);
        assert!(run(&mut r, t0, 30, |_| true).is_empty());
        assert_eq!(r.poll_timeout(), None);
        let mut none = ArpRefresh::new([]);
        assert!(none.is_empty());
        none.set_holding(t0, "g", true);
        assert_eq!(none.poll_timeout(), None);
    }

    #[test]
    fn a_late_loop_does_not_burst() {
        let t0 = Instant::now();
        let mut r = ArpRefresh::new([("g".to_string(), Duration::from_secs(1))]);
        r.set_holding(t0, "g", true);
        // The loop wakes 10 s late: one announcement, the next a full interval later.
        let late = t0 + Duration::from_secs(11);
        r.handle_timeout(late);
        assert_eq!(r.poll_announce().as_deref(), Some("g"));
        assert_eq!(r.poll_announce(), None);
        assert_eq!(r.poll_timeout(), Some(late + Duration::from_secs(1)));
    }

    #[test]
    fn a_release_cancels_a_queued_refresh() {
        let t0 = Instant::now();
        let mut r = ArpRefresh::new([("g".to_string(), Duration::from_secs(2))]);
        r.set_holding(t0, "g", true);
        r.handle_timeout(t0 + Duration::from_secs(2));
        r.set_holding(t0 + Duration::from_secs(2), "g", false);
        assert_eq!(r.poll_announce(), None);
        assert_eq!(r.poll_timeout(), None);
    }
}
