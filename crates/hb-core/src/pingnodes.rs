//! `ping` and `ping_group` pseudo-nodes, as a sans-IO state machine.
//!
//! Each `ping HOST` address is a node named by the address (lowercased, as the original names
//! nodes); each `ping_group NAME HOST...` is one node named NAME, alive while any of its hosts
//! answers. Every ping node has one link, named like the node. Their type is `ping`.
//!
//! Inputs: [`PingNodes::poll_send`] (asked with the current time: the echo requests due),
//! [`PingNodes::reply`] (an echo reply came), [`PingNodes::handle_timeout`],
//! [`PingNodes::comm_up`]. Outputs: the echoes of `poll_send`, [`PingNodes::poll_event`]
//! (log lines, link and status changes for the API clients), [`PingNodes::poll_timeout`].
//! The daemon sends the echoes with `hb_io::icmp` and feeds the replies back.
//!
//! Rules of the original (2.0.8 `lib/plugins/HBcomm/ping.c`, `ping_group.c`,
//! `heartbeat/heartbeat.c` check_for_timeouts, mark_node_dead, change_link_status,
//! process_clustermsg, HBDoMsg_T_STATUS, check_comm_isup, `heartbeat/config.c` add_node,
//! init_node_link_info, `heartbeat/hb_resource.c` hb_rsc_recover_dead_resources; read for facts):
//! - a node starts with status `init` and its link `dead` (no log); its "last heard" time is the
//!   start time;
//! - echoes: one request per host for every status heartbeat the daemon sends, i.e. one round per
//!   `keepalive`, the first at start; here a round is scheduled every `keepalive` on its own.
//!   Each request carries a sequence number of ours; a reply counts only if it answers a request
//!   we sent (same host and sequence number) and was not counted yet (`ping_group` drops
//!   duplicates the same way, within its last 128 sequence numbers);
//! - a counted reply: if the link was not up, `Link X:X up.` (info) and an `ifstat` up; if the
//!   time since the node was last heard (or since start) exceeds `warntime`,
//!   `Late heartbeat: Node X: interval N ms` (warn); if the status was not `ping`,
//!   `Status update for node X: status ping` (info) and the status message goes to the clients;
//! - no counted reply for the dead time (`initdead` until communication is up, then `deadping`):
//!   `node X: is dead` (warn), status `dead`; clients get `t=status|seq=1|ts=..|src=X|st=dead|
//!   info=ping`. Then, on the same check, the link: `Link X:X dead.` (info) and an `ifstat` dead;
//! - communication comes up only once every node, ping nodes included, was heard from or declared
//!   dead ([`PingNodes::all_heard_or_dead`]);
//! - ping nodes hold no resources: their death causes no takeover (the daemon still passes the
//!   status messages to rc.d `status`, see LOCAL-INTERFACES.md 2.3).
//!
//! Differences: the original's link check uses the dead time of the last node of its node list
//! for every link (a quirk); here a ping node's link dies with the node, at the node's dead time.
//! The original checks for deaths every poll interval; here at the exact deadline.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::Level;

/// Replies are matched against this many recent requests per host (as `ping_group`'s window of
/// 128 sequence numbers).
pub const ROUNDS_REMEMBERED: usize = 128;

/// One configured ping node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingNodeSpec {
    /// The node name: the host as written for `ping`, NAME for `ping_group` (lowercased here).
    pub name: String,
    /// Its addresses (one for `ping`), resolved by the caller.
    pub hosts: Vec<Ipv4Addr>,
    /// Whether it comes from a `ping_group` line.
    pub group: bool,
}

impl PingNodeSpec {
    /// A `ping HOST` node: `name` is HOST as written in ha.cf, `addr` its address.
    pub fn single(name: &str, addr: Ipv4Addr) -> PingNodeSpec {
        PingNodeSpec {
            name: name.to_string(),
            hosts: vec![addr],
            group: false,
        }
    }

    /// A `ping_group NAME HOST...` node.
    pub fn group(name: &str, hosts: Vec<Ipv4Addr>) -> PingNodeSpec {
        PingNodeSpec {
            name: name.to_string(),
            hosts,
            group: true,
        }
    }
}

/// The timing parameters that apply to ping nodes (from ha.cf, already defaulted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingTiming {
    /// Interval between echo rounds.
    pub keepalive: Duration,
    /// Dead time once communication is up (`deadping`, default: deadtime).
    pub deadping: Duration,
    /// Dead time until communication is up.
    pub initdead: Duration,
    /// A reply later than this after the previous one is logged as late.
    pub warntime: Duration,
}

impl PingTiming {
    /// From the membership timing and `deadping`.
    pub fn new(t: &crate::timers::Timing, deadping: Duration) -> PingTiming {
        PingTiming {
            keepalive: t.keepalive,
            deadping,
            initdead: t.initdead,
            warntime: t.warntime,
        }
    }
}

/// A ping node's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingStatus {
    /// Not heard from yet.
    Init,
    /// Answering.
    Ping,
    /// Declared dead.
    Dead,
}

impl PingStatus {
    /// As the API shows it: `init`, `ping`, `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            PingStatus::Init => "init",
            PingStatus::Ping => "ping",
            PingStatus::Dead => "dead",
        }
    }
}

/// What the daemon must log or tell the API clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingEvent {
    /// A log line, with the original's wording.
    Log(Level, String),
    /// The node's link went up or down (clients get `t=ifstat`).
    Link {
        node: String,
        link: String,
        up: bool,
    },
    /// The node's status changed to `ping` or `dead`.
    Status {
        node: String,
        status: PingStatus,
        /// Whether the node is a `ping_group`.
        group: bool,
    },
}

impl PingEvent {
    /// The message the original delivers to API clients for this event (none for a log line).
    /// `ts` is the wall clock in Unix seconds (the `ts` field, lowercase hex).
    /// - link: `t=ifstat|node=X|ifname=X|st=up` (or `st=dead`);
    /// - dead: `t=status|seq=1|ts=..|src=X|st=dead|info=ping`;
    /// - alive: `t=NS_st|st=ping|info=ping|src=X|ts=..` (`info=ping_group` for a group): the
    ///   heartbeat the original put in its echo and got back (plus its `auth` field, which the
    ///   caller may add).
    pub fn client_message(&self, ts: u64) -> Option<Message> {
        match self {
            PingEvent::Log(..) => None,
            PingEvent::Link { node, link, up } => {
                let mut m = Message::with_type("ifstat");
                m.push_str("node", node)
                    .push_str("ifname", link)
                    .push_str("st", if *up { "up" } else { "dead" });
                Some(m)
            }
            PingEvent::Status {
                node,
                status: PingStatus::Dead,
                ..
            } => {
                let mut m = Message::with_type("status");
                m.push_str("seq", "1")
                    .push_str("ts", format!("{ts:x}"))
                    .push_str("src", node)
                    .push_str("st", "dead")
                    .push_str("info", "ping");
                Some(m)
            }
            PingEvent::Status {
                node,
                status,
                group,
            } => {
                let mut m = Message::with_type("NS_st");
                m.push_str("st", status.as_str())
                    .push_str("info", if *group { "ping_group" } else { "ping" })
                    .push_str("src", node)
                    .push_str("ts", format!("{ts:x}"));
                Some(m)
            }
        }
    }
}

/// A read-only view of one ping node, for the node list and the API's queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingNodeView<'a> {
    pub name: &'a str,
    pub hosts: &'a [Ipv4Addr],
    pub group: bool,
    pub status: PingStatus,
    /// The single link's status (its name is the node name).
    pub link_up: bool,
}

impl PingNodeView<'_> {
    /// The node type the API reports.
    pub const TYPE: &'static str = "ping";

    /// The link name (`iflist` answer): the node name.
    pub fn link(&self) -> &str {
        self.name
    }

    /// `up` or `dead`, as `ifstatus` answers.
    pub fn link_status(&self) -> &'static str {
        if self.link_up {
            "up"
        } else {
            "dead"
        }
    }

    /// The info line the original logs when the medium opens.
    pub fn start_log_line(&self) -> &'static str {
        if self.group {
            "ping group heartbeat started."
        } else {
            "ping heartbeat started."
        }
    }
}

#[derive(Debug)]
struct Node {
    spec: PingNodeSpec,
    status: PingStatus,
    link_up: bool,
    heard: bool,
    last_heard: Instant,
}

#[derive(Debug)]
struct Sent {
    seq: u16,
    host: Ipv4Addr,
    node: usize,
    answered: bool,
}

/// The ping nodes of one daemon.
#[derive(Debug)]
pub struct PingNodes {
    timing: PingTiming,
    nodes: Vec<Node>,
    comm_up: bool,
    stopped: bool,
    next_round: Instant,
    next_seq: u16,
    queue: VecDeque<(Ipv4Addr, u16)>,
    sent: VecDeque<Sent>,
    sent_cap: usize,
    events: VecDeque<PingEvent>,
}

impl PingNodes {
    /// The ping nodes of ha.cf, in order, at start time `now` (first echo round due at once).
    pub fn new(timing: PingTiming, specs: Vec<PingNodeSpec>, now: Instant) -> PingNodes {
        let nodes: Vec<Node> = specs
            .into_iter()
            .map(|mut spec| {
                spec.name = spec.name.to_ascii_lowercase();
                Node {
                    spec,
                    status: PingStatus::Init,
                    link_up: false,
                    heard: false,
                    last_heard: now,
                }
            })
            .collect();
        let hosts: usize = nodes.iter().map(|n| n.spec.hosts.len()).sum();
        PingNodes {
            timing,
            nodes,
            comm_up: false,
            stopped: false,
            next_round: now,
            next_seq: 0,
            queue: VecDeque::new(),
            sent: VecDeque::new(),
            // Stay well inside the 16-bit sequence space so that a number is never reused
            // while still remembered.
            sent_cap: (ROUNDS_REMEMBERED * hosts).clamp(ROUNDS_REMEMBERED, 32768),
            events: VecDeque::new(),
        }
    }

    /// Communication is up: the dead time becomes `deadping`.
    pub fn comm_up(&mut self, _now: Instant) {
        self.comm_up = true;
    }

    /// Uses new timers from now on (ha.cf reread on SIGHUP): the next echo round is due no
    /// later than the new keepalive from `now`; the dead and warn times apply at once.
    pub fn set_timing(&mut self, now: Instant, timing: PingTiming) {
        self.next_round = self.next_round.min(now + timing.keepalive);
        self.timing = timing;
    }

    /// Stop sending and judging (shutdown).
    pub fn stop(&mut self) {
        self.stopped = true;
        self.queue.clear();
    }

    /// The dead time in force.
    pub fn dead_time(&self) -> Duration {
        if self.comm_up {
            self.timing.deadping
        } else {
            self.timing.initdead
        }
    }

    /// The next echo request due at `now`: `(destination, sequence number)`. Call until `None`.
    pub fn poll_send(&mut self, now: Instant) -> Option<(Ipv4Addr, u16)> {
        if self.stopped {
            return None;
        }
        if self.queue.is_empty() && now >= self.next_round && !self.nodes.is_empty() {
            self.round();
            let next = self.next_round + self.timing.keepalive;
            self.next_round = if next <= now {
                now + self.timing.keepalive
            } else {
                next
            };
        }
        self.queue.pop_front()
    }

    fn round(&mut self) {
        for (i, n) in self.nodes.iter().enumerate() {
            for &host in &n.spec.hosts {
                let seq = self.next_seq;
                self.next_seq = self.next_seq.wrapping_add(1);
                self.queue.push_back((host, seq));
                if self.sent.len() >= self.sent_cap {
                    self.sent.pop_front();
                }
                self.sent.push_back(Sent {
                    seq,
                    host,
                    node: i,
                    answered: false,
                });
            }
        }
    }

    /// An echo reply from `host` with sequence number `seq` arrived. Returns whether it was
    /// counted (it answers a recent request of ours to that host, not counted before).
    pub fn reply(&mut self, now: Instant, host: Ipv4Addr, seq: u16) -> bool {
        if self.stopped {
            return false;
        }
        let Some(s) = self
            .sent
            .iter_mut()
            .rev()
            .find(|s| s.seq == seq && s.host == host)
        else {
            return false;
        };
        if s.answered {
            return false;
        }
        s.answered = true;
        let i = s.node;
        self.heard(now, i);
        true
    }

    fn heard(&mut self, now: Instant, i: usize) {
        let warntime = self.timing.warntime;
        let Some(n) = self.nodes.get_mut(i) else {
            return;
        };
        let name = n.spec.name.clone();
        let group = n.spec.group;
        let interval = now.saturating_duration_since(n.last_heard);
        let was_up = n.link_up;
        let old = n.status;
        n.link_up = true;
        n.heard = true;
        n.last_heard = now;
        n.status = PingStatus::Ping;
        if !was_up {
            self.log(Level::Info, format!("Link {name}:{name} up."));
            self.events.push_back(PingEvent::Link {
                node: name.clone(),
                link: name.clone(),
                up: true,
            });
        }
        if interval > warntime {
            self.log(
                Level::Warn,
                format!(
                    "Late heartbeat: Node {name}: interval {} ms",
                    interval.as_millis()
                ),
            );
        }
        if old != PingStatus::Ping {
            self.log(
                Level::Info,
                format!("Status update for node {name}: status ping"),
            );
            self.events.push_back(PingEvent::Status {
                node: name,
                status: PingStatus::Ping,
                group,
            });
        }
    }

    fn log(&mut self, level: Level, text: String) {
        self.events.push_back(PingEvent::Log(level, text));
    }

    /// Declares dead every node (then every link) not heard from for the dead time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        let dead = self.dead_time();
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            if n.status != PingStatus::Dead && now >= n.last_heard + dead {
                n.status = PingStatus::Dead;
                let (node, group) = (n.spec.name.clone(), n.spec.group);
                self.log(Level::Warn, format!("node {node}: is dead"));
                self.events.push_back(PingEvent::Status {
                    node,
                    status: PingStatus::Dead,
                    group,
                });
            }
        }
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            if n.link_up && now >= n.last_heard + dead {
                n.link_up = false;
                let node = n.spec.name.clone();
                self.log(Level::Info, format!("Link {node}:{node} dead."));
                self.events.push_back(PingEvent::Link {
                    link: node.clone(),
                    node,
                    up: false,
                });
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) or [`poll_send`](Self::poll_send) has
    /// something to do next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let dead = self.dead_time();
        let deaths = self
            .nodes
            .iter()
            .filter(|n| n.status != PingStatus::Dead || n.link_up)
            .map(|n| n.last_heard + dead);
        let round = (!self.nodes.is_empty()).then_some(self.next_round);
        deaths.chain(round).min()
    }

    /// The next event for the daemon.
    pub fn poll_event(&mut self) -> Option<PingEvent> {
        self.events.pop_front()
    }

    /// Whether every ping node was heard from or declared dead (a condition of comm-up).
    pub fn all_heard_or_dead(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| n.heard || n.status == PingStatus::Dead)
    }

    /// Every ping node, in configuration order.
    pub fn nodes(&self) -> impl Iterator<Item = PingNodeView<'_>> {
        self.nodes.iter().map(|n| PingNodeView {
            name: &n.spec.name,
            hosts: &n.spec.hosts,
            group: n.spec.group,
            status: n.status,
            link_up: n.link_up,
        })
    }

    /// The ping node named `name` (case-insensitive, as node names are).
    pub fn node(&self, name: &str) -> Option<PingNodeView<'_>> {
        self.nodes().find(|n| n.name.eq_ignore_ascii_case(name))
    }

    /// How many ping nodes are `ping` now (what ipfail counts).
    pub fn alive_count(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.status == PingStatus::Ping)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> PingTiming {
        PingTiming {
            keepalive: Duration::from_millis(200),
            deadping: Duration::from_millis(1000),
            initdead: Duration::from_millis(3000),
            warntime: Duration::from_millis(500),
        }
    }

    #[test]
    fn sequence_numbers_wrap_and_stay_unique_in_the_window() {
        let t0 = Instant::now();
        let h = Ipv4Addr::new(192, 0, 2, 1);
        let mut p = PingNodes::new(timing(), vec![PingNodeSpec::single("x", h)], t0);
        let mut seqs = Vec::new();
        for k in 0..70000u64 {
            let now = t0 + Duration::from_millis(200 * k);
            while let Some((_, s)) = p.poll_send(now) {
                seqs.push(s);
            }
        }
        assert_eq!(seqs.len(), 70000);
        assert_eq!(seqs[65535], 65535);
        assert_eq!(seqs[65536], 0, "wraps");
        assert!(p.sent.len() <= ROUNDS_REMEMBERED);
    }
}
