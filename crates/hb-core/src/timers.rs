//! Every timing rule of the membership protocol, in one place.
//!
//! Values come from ha.cf through [`Timing`]; the functions here say which dead time
//! applies to a node, what a node announces in its `dt` field, and how long the
//! start-up bump lasts. The state machine only asks these questions; it never reads a
//! clock (time is passed in as `now`).

use std::time::{Duration, Instant};

/// The timing parameters of ha.cf (already defaulted and validated by the config crate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub keepalive: Duration,
    pub deadtime: Duration,
    pub warntime: Duration,
    pub initdead: Duration,
    pub max_rexmit_delay: Duration,
}

impl Default for Timing {
    /// The original's defaults: keepalive 1 s, deadtime 30 s, warntime deadtime/2,
    /// initdead = deadtime (deadtime > 10 s), max_rexmit_delay 250 ms.
    fn default() -> Self {
        Timing {
            keepalive: Duration::from_secs(1),
            deadtime: Duration::from_secs(30),
            warntime: Duration::from_secs(15),
            initdead: Duration::from_secs(30),
            max_rexmit_delay: Duration::from_millis(250),
        }
    }
}

/// How long after start a node announces a longer dead time (`dt`), so that its peers
/// survive the stalls of its start-up.
pub const STARTUP_BUMP_FOR: Duration = Duration::from_secs(5);
/// How much longer that announced dead time is.
pub const STARTUP_BUMP: Duration = Duration::from_secs(2);
/// Interval between `reqnodes` requests while no `repnodes` came back.
pub const REQNODES_RETRY: Duration = Duration::from_secs(1);
/// Lowest delay before a retransmission request (3.0.6 waits 50 ms at least).
pub const REXMIT_MIN_DELAY: Duration = Duration::from_millis(50);

impl Timing {
    /// The dead time this node announces in `dt` at `now`.
    pub fn announced_dt(&self, started: Instant, now: Instant) -> Duration {
        if now < started + STARTUP_BUMP_FOR {
            self.deadtime + STARTUP_BUMP
        } else {
            self.deadtime
        }
    }

    /// When the announced dead time drops back to `deadtime` (a status is sent then).
    pub fn bump_ends(&self, started: Instant) -> Instant {
        started + STARTUP_BUMP_FOR
    }

    /// The dead time we apply to a peer: `initdead` until communication is up, then the
    /// peer's announced `dt`, or our own deadtime while it announced none.
    pub fn dead_time_for(&self, comm_up: bool, announced: Option<Duration>) -> Duration {
        if !comm_up {
            self.initdead
        } else {
            announced.unwrap_or(self.deadtime)
        }
    }

    /// Whether the interval between two heartbeats of one node deserves a warning.
    pub fn is_late(&self, interval: Duration) -> bool {
        interval > self.warntime
    }
}

/// The earliest of a set of optional deadlines.
pub fn earliest(deadlines: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    deadlines.into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> Timing {
        Timing {
            keepalive: Duration::from_millis(200),
            deadtime: Duration::from_secs(1),
            warntime: Duration::from_millis(500),
            initdead: Duration::from_secs(2),
            max_rexmit_delay: Duration::from_millis(250),
        }
    }

    #[test]
    fn announced_dt_is_bumped_for_five_seconds() {
        let t = lab();
        let s = Instant::now();
        assert_eq!(t.announced_dt(s, s), Duration::from_millis(3000));
        assert_eq!(
            t.announced_dt(s, s + Duration::from_millis(4999)),
            Duration::from_millis(3000)
        );
        assert_eq!(
            t.announced_dt(s, s + Duration::from_secs(5)),
            Duration::from_millis(1000)
        );
    }

    #[test]
    fn dead_time_uses_initdead_before_comm_up() {
        let t = lab();
        assert_eq!(
            t.dead_time_for(false, Some(Duration::from_secs(3))),
            Duration::from_secs(2)
        );
        assert_eq!(
            t.dead_time_for(true, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(t.dead_time_for(true, None), Duration::from_secs(1));
    }

    #[test]
    fn late_and_earliest() {
        let t = lab();
        assert!(!t.is_late(Duration::from_millis(500)));
        assert!(t.is_late(Duration::from_millis(501)));
        let s = Instant::now();
        assert_eq!(
            earliest([None, Some(s + Duration::from_secs(2)), Some(s)]),
            Some(s)
        );
        assert_eq!(earliest([None, None]), None);
    }
}
