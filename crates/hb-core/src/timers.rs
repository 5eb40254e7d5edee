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
/// While the link is lossy, enough sends of our statuses that this many fall within one
/// dead time (ours only; see [`Timing::status_copies`]).
pub const LOSSY_SENDS_PER_DEADTIME: u64 = 30;
/// At most this many sends of one status.
pub const MAX_STATUS_SENDS: u64 = 8;
/// Closest spacing of two sends of one status.
pub const MIN_COPY_SPACING: Duration = Duration::from_millis(10);

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

    /// How long the link counts as lossy after the last sign of loss (a peer asking us to
    /// retransmit, a gap in a peer's numbers): ten dead times, 30 s at least.
    pub fn lossy_hold(&self) -> Duration {
        (self.deadtime * 10).max(Duration::from_secs(30))
    }

    /// While the link is lossy, how many times each status goes out (the first send
    /// included) and the spacing of the sends within one keepalive: enough that
    /// [`LOSSY_SENDS_PER_DEADTIME`] sends fall within one dead time. Only the first copy
    /// that arrives counts (the others are duplicates), so a peer is declared dead only
    /// when every copy of every status of a dead time is lost: with keepalive 200ms,
    /// deadtime 1 (6 sends of each status) and 40 % loss, about 0.4^24 ≈ 3e-10 per status.
    /// With the defaults (keepalive 1 s, deadtime 30 s) one send is already enough.
    pub fn status_copies(&self) -> (u64, Duration) {
        let ka = (self.keepalive.as_millis() as u64).max(1);
        let dt = (self.deadtime.as_millis() as u64).max(1);
        let wanted = (LOSSY_SENDS_PER_DEADTIME * ka).div_ceil(dt);
        let room = (ka / MIN_COPY_SPACING.as_millis() as u64).max(1);
        let n = wanted.clamp(1, MAX_STATUS_SENDS).min(room);
        (n, self.keepalive / n as u32)
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
    fn status_copies_fill_the_dead_time() {
        let t = lab();
        assert_eq!(t.status_copies(), (6, Duration::from_nanos(33_333_333)));
        assert_eq!(Timing::default().status_copies().0, 1);
        let fast = Timing {
            keepalive: Duration::from_millis(20),
            deadtime: Duration::from_millis(100),
            ..lab()
        };
        assert_eq!(fast.status_copies(), (2, Duration::from_millis(10)));
        assert_eq!(t.lossy_hold(), Duration::from_secs(30));
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
