//! What any local user can make the server do, bounded (issue #16): which cluster messages
//! a client may send, how fast the API as a whole sends to the cluster, and the
//! rate-limited log lines of every drop path.
//!
//! The socket is mode 0777 (as the original's), so everything here assumes a hostile
//! client: it must not forge the daemon's own protocol messages, flood the cluster (the
//! peers would lose real messages), fill the log, or hold the connection table.

use std::time::{Duration, Instant};

use hb_log::LogLimiter;

/// Message types only a daemon originates: refused from clients (the original sends what a
/// signed-on client gives it; a client of group haclient signing on as the built-in `ping`
/// could so send `shutdone` and make the peer take the resources while this node keeps
/// them). Membership (`status`, `reqnodes`, `repnodes`, every `NS_` type), v1 resources
/// (`starting`, `resource`, `shutdone`, `ip-request`, `ip-request-resp`, `stonith`), the
/// API's own notices and answers (`hbapi-clstat`, `hbapi-resp`, `query-cstatus`,
/// `respond-cstatus`, `ifstat`), the FIFO's admin messages (`addnode`, `delnode`,
/// `setweight`, `setsite`), our service checks (`hb-check`) and our after-partition list
/// of the groups a node runs (`hb-holding`).
///
/// Clients keep sending anything else: ipfail's `num_ping_nodes`, `you_are_dead`,
/// `abort_giveup` and `ask_resources`, `hb_takeover` (what the tool of that name sends),
/// their own types.
pub const DAEMON_ONLY: &[&str] = &[
    "status",
    "reqnodes",
    "repnodes",
    "starting",
    "resource",
    "shutdone",
    "ip-request",
    "ip-request-resp",
    "stonith",
    "hbapi-clstat",
    "hbapi-resp",
    "query-cstatus",
    "respond-cstatus",
    "ifstat",
    "addnode",
    "delnode",
    "setweight",
    "setsite",
    "hb-check",
    "hb-holding",
    "hb-cfggroups",
];

/// Whether a message of type `t` may only come from a daemon: membership (`status`,
/// `reqnodes`, `repnodes`, every `NS_` type), v1 resources (`starting`, `resource`,
/// `shutdone`, `ip-request`, `ip-request-resp`, `stonith`), the API's own notices and
/// answers (`hbapi-clstat`, `hbapi-resp`, `query-cstatus`, `respond-cstatus`, `ifstat`),
/// the FIFO's admin messages (`addnode`, `delnode`, `setweight`, `setsite`), our service
/// checks (`hb-check`), our list of held groups (`hb-holding`) and our per-group
/// configuration digests (`hb-cfggroups`, hb-core's cfgsync). Compared exactly, as
/// the daemons dispatch on the exact type.
pub fn daemon_only(t: &str) -> bool {
    t.starts_with("NS_") || DAEMON_ONLY.contains(&t)
}

/// The kinds of rate-limited lines (one [`LogLimiter`] each) and their counters' names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Limit {
    /// A connection refused: table full, or its uid holds its share.
    Refused,
    /// An idle connection closed to make room.
    Evicted,
    /// No sign-on within the time.
    SignonTimeout,
    /// A broken frame, an unparsable body, a disconnection in the middle of a message.
    BadStream,
    /// A first message that is no sign-on, or a sign-on refused.
    BadSignon,
    /// A bad or unknown request, a request naming another client.
    BadRequest,
    /// A cluster message from a casual client.
    CasualSend,
    /// A message type only the daemon sends.
    DaemonOnly,
    /// A message the cluster cannot carry (too big for a datagram).
    TooBig,
    /// A client that does not read its messages.
    SlowReader,
    /// A client removed (died, sent garbage, ...).
    Removed,
    /// `set_sendqlen` lines.
    SendQLen,
    /// Other API errors (accept failing, ...).
    Other,
}

impl Limit {
    pub(super) const ALL: [Limit; 13] = [
        Limit::Refused,
        Limit::Evicted,
        Limit::SignonTimeout,
        Limit::BadStream,
        Limit::BadSignon,
        Limit::BadRequest,
        Limit::CasualSend,
        Limit::DaemonOnly,
        Limit::TooBig,
        Limit::SlowReader,
        Limit::Removed,
        Limit::SendQLen,
        Limit::Other,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Limit::Refused => "refused",
            Limit::Evicted => "evicted",
            Limit::SignonTimeout => "signon-timeout",
            Limit::BadStream => "bad-stream",
            Limit::BadSignon => "bad-signon",
            Limit::BadRequest => "bad-request",
            Limit::CasualSend => "casual-send",
            Limit::DaemonOnly => "daemon-only",
            Limit::TooBig => "too-big",
            Limit::SlowReader => "slow-reader",
            Limit::Removed => "removed",
            Limit::SendQLen => "sendqlen",
            Limit::Other => "other",
        }
    }

    fn index(self) -> usize {
        Limit::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// One [`LogLimiter`] per [`Limit`].
#[derive(Debug)]
pub(super) struct Limiters {
    each: [LogLimiter; Limit::ALL.len()],
}

impl Limiters {
    pub(super) fn new(interval: Duration) -> Limiters {
        Limiters {
            each: [LogLimiter::new(interval); Limit::ALL.len()],
        }
    }

    /// Counts one event of `kind`; `Some(suppressed)` when its line is due.
    pub(super) fn hit(&mut self, kind: Limit, now: Instant) -> Option<u64> {
        self.each.get_mut(kind.index()).and_then(|l| l.hit(now))
    }

    pub(super) fn counts(&self) -> Vec<(&'static str, u64)> {
        Limit::ALL
            .iter()
            .zip(self.each.iter())
            .map(|(k, l)| (k.name(), l.total()))
            .collect()
    }
}

/// Paces the messages the API sends to the cluster: at most `burst` at once, then `rate`
/// a second (a generic cell rate algorithm: one "theoretical arrival time" to compare with).
#[derive(Debug)]
pub(super) struct Pacer {
    interval: Duration,
    slack: Duration,
    tat: Option<Instant>,
}

impl Pacer {
    pub(super) fn new(rate: usize, burst: usize) -> Pacer {
        let interval = Duration::from_secs(1) / u32::try_from(rate.max(1)).unwrap_or(u32::MAX);
        let slack = interval * u32::try_from(burst.max(1) - 1).unwrap_or(u32::MAX);
        Pacer {
            interval,
            slack,
            tat: None,
        }
    }

    /// When the next message may go (`now` or earlier: at once).
    pub(super) fn next_at(&self, now: Instant) -> Instant {
        match self.tat {
            Some(t) => t.checked_sub(self.slack).map_or(now, |x| x.max(now)),
            None => now,
        }
    }

    /// Takes one message's turn if it is due at `now`.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        let tat = self.tat.unwrap_or(now).max(now);
        if tat.saturating_duration_since(now) > self.slack {
            return false;
        }
        self.tat = Some(tat + self.interval);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list() {
        for t in [
            "status",
            "NS_ackmsg",
            "NS_st",
            "shutdone",
            "hb-check",
            "delnode",
        ] {
            assert!(daemon_only(t), "{t}");
        }
        for t in [
            "ask_resources",
            "hb_takeover",
            "num_ping_nodes",
            "you_are_dead",
            "abort_giveup",
            "Status",
            "",
        ] {
            assert!(!daemon_only(t), "{t}");
        }
    }

    #[test]
    fn pacer_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::new(50, 10);
        let mut n = 0;
        while p.take(t0) {
            n += 1;
        }
        assert_eq!(n, 10);
        let next = p.next_at(t0);
        assert!(
            next > t0 && next <= t0 + Duration::from_millis(20),
            "{next:?}"
        );
        assert!(p.take(next));
        assert!(!p.take(next));
        // A second later: 50 more at most.
        let t1 = t0 + Duration::from_secs(1);
        let mut m = 0;
        while p.take(t1) {
            m += 1;
        }
        assert!(m <= 50, "{m}");
        // Idle for long: the burst again, not more.
        let t2 = t1 + Duration::from_secs(60);
        let mut k = 0;
        while p.take(t2) {
            k += 1;
        }
        assert_eq!(k, 10);
        assert_eq!(Pacer::new(50, 10).next_at(t2), t2);
    }
}
