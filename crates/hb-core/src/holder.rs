//! One holder of an address, even when the heartbeat path is cut (beyond the original).
//!
//! The original takes a dead peer's groups at once, and a node heard again after a
//! partition restarts itself in place. With one heartbeat path (a crossover cable) both
//! are wrong when the cable is pulled: the peer is alive, still answering ARP for its
//! addresses, and both nodes end up holding them; at the heal both restart and nobody
//! holds them for many seconds. The takeover machine ([`crate::takeover`]) adds three
//! rules, whose pieces live here:
//!
//! - **Probe before taking.** A group is started while some peer is declared dead only
//!   after the daemon checked that none of the group's IP addresses answers ARP on its
//!   interface ([`crate::takeover::Action::Probe`], answered with
//!   [`crate::takeover::Takeover::probe_done`] and a [`ProbeResult`]). When one answers,
//!   the group is not taken: the node logs it once and probes again every
//!   [`PROBE_RETRY`] until the address is silent, then takes it. A crashed node's
//!   address is silent at once, so the takeover is late by one probe (~50 ms).
//! - **No restart at the heal.** A peer heard again without having restarted (a
//!   partition healed, or our own process was stopped longer than the dead time) makes
//!   the node cancel takeovers still waiting on a probe, announce what it really runs
//!   (a full `resource` report and a [`HOLDING_MSG`] message listing its groups) and ask
//!   the peer for its own list. Groups that do not run on both nodes stay where they are.
//! - **One keeper per conflict.** A group that runs on both nodes is kept by the node
//!   [`keeper`] names and released by the other at once; the keeper re-announces the
//!   group's addresses (gratuitous ARP, [`crate::takeover::Action::Announce`]) as soon as
//!   the other reports it released them, so that clients' ARP caches point at the one
//!   holder. An original peer never sends [`HOLDING_MSG`] (it ignores ours) and restarts
//!   itself 2 s after the heal, releasing all its groups; ours then keeps or takes them
//!   by the usual rules (its `shutdone`) and re-announces what it runs.

use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::takeover::{AutoFailback, JobId};

/// After an answered probe, the next one for the same group comes this much later.
pub const PROBE_RETRY: Duration = Duration::from_millis(200);

/// The message type by which our nodes tell each other which groups they run after a
/// partition (an original heartbeat ignores it: it has no rc.d script for it).
pub const HOLDING_MSG: &str = "hb-holding";

/// What the daemon found when it probed a group's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// Every address of the group was probed and none answered.
    Silent,
    /// The group has no IP address resource: nothing to probe.
    NoAddress,
    /// `addr` answered, from hardware address `by`.
    Answered { addr: String, by: String },
    /// The addresses could not be probed (no interface found for one, no socket): the
    /// group is taken unprobed, as the original would.
    Unprobed { why: String },
}

/// Where a start op stands with its probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Not probed yet (or due for another probe).
    Unchecked,
    /// A probe is out.
    InFlight(JobId),
    /// Someone answered; probe again at this time.
    Answered(Instant),
    /// May start.
    Clear,
}

impl Guard {
    /// The op waits on a probe (blocked by a holder, or a probe out).
    pub(crate) fn blocked(self) -> bool {
        matches!(self, Guard::InFlight(_) | Guard::Answered(_))
    }
}

/// The content of a [`HOLDING_MSG`]: `held` (groups running or starting on the sender),
/// `took` (those of them it started while a peer was declared dead), `ask` (the receiver
/// should answer with its own). Keys are haresources words, so they contain no blank.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Holding {
    pub held: Vec<String>,
    pub took: Vec<String>,
    pub ask: bool,
}

impl Holding {
    pub(crate) fn to_message(&self) -> Message {
        let mut m = Message::with_type(HOLDING_MSG);
        m.push_str("held", self.held.join(" "))
            .push_str("took", self.took.join(" "))
            .push_str("ask", if self.ask { "1" } else { "0" });
        m
    }

    pub(crate) fn from_message(m: &Message) -> Holding {
        let words = |f: &str| -> Vec<String> {
            m.get(f)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        Holding {
            held: words("held"),
            took: words("took"),
            ask: m.get("ask") == Some("1"),
        }
    }
}

/// Which node keeps a group that runs on both `me` and `peer` after a partition, and why
/// (for the log): `(true, reason)` when `me` keeps it.
///
/// - `auto_failback on` (and `legacy`): the group's home node (its haresources line); a
///   group of neither node goes to the one first in ha.cf order.
/// - `auto_failback off`: groups do not move back; the node that had it before the
///   partition keeps it, i.e. the other one if exactly one of the two took it while the
///   other was declared dead; otherwise (both or neither took it) as with `on`.
pub(crate) fn keeper(
    mode: AutoFailback,
    home: &str,
    nodes: &[String],
    me: &str,
    peer: &str,
    i_took: bool,
    peer_took: bool,
) -> (bool, &'static str) {
    if mode == AutoFailback::Off && i_took != peer_took {
        return (
            peer_took,
            "auto_failback off: the node that ran it before the partition",
        );
    }
    if home == me {
        return (true, "its home node");
    }
    if home == peer {
        return (false, "its home node");
    }
    let first = nodes.iter().find(|n| *n == me || *n == peer);
    (
        first.is_some_and(|n| n == me),
        "the first of the two nodes in ha.cf",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_round_trips_and_reads_missing_fields_as_empty() {
        let h = Holding {
            held: vec!["IPaddr::198.51.100.254/24/eth0".into(), "httpd".into()],
            took: vec!["httpd".into()],
            ask: true,
        };
        let m = h.to_message();
        assert_eq!(m.msg_type(), Some(HOLDING_MSG));
        assert_eq!(Holding::from_message(&m), h);
        let bare = Message::with_type(HOLDING_MSG);
        assert_eq!(Holding::from_message(&bare), Holding::default());
    }

    #[test]
    fn keeper_follows_auto_failback() {
        let nodes = vec!["a".to_string(), "b".to_string()];
        let k = |mode, home, me, peer, it, pt| keeper(mode, home, &nodes, me, peer, it, pt).0;
        // on: the home node, whoever took it.
        assert!(k(AutoFailback::On, "a", "a", "b", false, true));
        assert!(!k(AutoFailback::On, "a", "b", "a", true, false));
        assert!(k(AutoFailback::On, "a", "a", "b", true, false));
        // off: the node that did not take it during the partition.
        assert!(k(AutoFailback::Off, "a", "a", "b", false, true));
        assert!(!k(AutoFailback::Off, "a", "b", "a", true, false));
        assert!(k(AutoFailback::Off, "a", "b", "a", false, true));
        assert!(!k(AutoFailback::Off, "a", "a", "b", true, false));
        // off, both or neither took it: the home node.
        assert!(k(AutoFailback::Off, "b", "b", "a", true, true));
        assert!(!k(AutoFailback::Off, "b", "a", "b", false, false));
        // A third node's group: the first in ha.cf order, seen alike from both sides.
        assert!(k(AutoFailback::On, "c", "a", "b", false, false));
        assert!(!k(AutoFailback::On, "c", "b", "a", false, false));
    }
}
