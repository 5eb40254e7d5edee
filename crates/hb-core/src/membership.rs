//! Membership: heartbeats, node and link states, sequencing, acknowledgements and
//! retransmission (PROTOCOL.md sections 3 to 5), as a sans-IO state machine.
//!
//! Inputs: [`Membership::handle_datagram`] (bytes from a medium, with the medium's
//! device name), [`Membership::handle_timeout`], [`Membership::send`] (a message of an
//! upper layer). Outputs: [`Membership::poll_transmit`] (datagrams for every medium),
//! [`Membership::poll_event`] (log lines, state changes, messages for upper layers) and
//! [`Membership::poll_timeout`] (when to call `handle_timeout` next).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hb_wire::{KeyRing, Message, SendForm, Value};

use crate::history::{History, Lookup, MAX_REXMIT_PER_REQUEST};
use crate::rng::Rng;
use crate::seqtrack::{SeqTracker, Verdict};
use crate::timers::{self, Timing, REQNODES_RETRY, REXMIT_MIN_DELAY};
use crate::{Event, Level};

/// Everything the membership layer needs to know at start.
#[derive(Clone)]
pub struct MembershipConfig {
    /// Our node name, as in ha.cf (lowercase).
    pub name: String,
    /// Every configured normal node, ours included, in ha.cf order.
    pub nodes: Vec<String>,
    /// Number of ping nodes (they count in `ttl`).
    pub ping_nodes: usize,
    pub timing: Timing,
    pub hopfudge: u32,
    pub keys: KeyRing,
    pub send_form: SendForm,
    /// Our persistent UUID (hb_uuid).
    pub uuid: [u8; 16],
    /// Our generation for this run (hb_generation, already raised).
    pub generation: u64,
    /// Unix seconds at the `now` given to [`Membership::new`] (for `ts`).
    pub wall_clock_at_start: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// `log_badpack`: log packets that cannot be decoded or fail authentication (at most
    /// one line per 10 s). Off, they are only counted, as 2.0.8 keeps quiet about them.
    pub log_bad_packets: bool,
}

/// A node's status as we see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// Not heard from yet.
    Init,
    Up,
    Active,
    Dead,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Init => "init",
            NodeStatus::Up => "up",
            NodeStatus::Active => "active",
            NodeStatus::Dead => "dead",
        }
    }

    fn from_wire(s: &str) -> Option<NodeStatus> {
        match s {
            "init" => Some(NodeStatus::Init),
            "up" => Some(NodeStatus::Up),
            "active" => Some(NodeStatus::Active),
            _ => None,
        }
    }
}

/// One link: a peer seen on one of our media's devices.
#[derive(Clone, Debug)]
pub struct Link {
    pub dev: String,
    pub up: bool,
    last_rx: Instant,
}

/// What we know of one configured node.
#[derive(Debug)]
pub struct Peer {
    pub name: String,
    pub uuid: Option<[u8; 16]>,
    pub status: NodeStatus,
    /// The `st` text of its last status (kept even when it is not one we know).
    pub wire_status: String,
    pub links: Vec<Link>,
    last_status_rx: Option<Instant>,
    announced_dt: Option<Duration>,
    generation: Option<u64>,
    rx: SeqTracker,
    ack_digit: u64,
    last_ack_sent: Option<u64>,
    their_ack: Option<u64>,
    last_status_seq: Option<u64>,
}

impl Peer {
    fn new(name: &str, ack_digit: u64) -> Peer {
        Peer {
            name: name.to_string(),
            uuid: None,
            status: NodeStatus::Init,
            wire_status: String::new(),
            links: Vec::new(),
            last_status_rx: None,
            announced_dt: None,
            generation: None,
            rx: SeqTracker::default(),
            ack_digit,
            last_ack_sent: None,
            their_ack: None,
            last_status_seq: None,
        }
    }

    /// The generation this node announced last.
    pub fn generation(&self) -> Option<u64> {
        self.generation
    }

    /// The dead time this node asked for.
    pub fn announced_dt(&self) -> Option<Duration> {
        self.announced_dt
    }
}

/// Counters of what was received and dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub received: u64,
    pub dropped_decode: u64,
    pub dropped_unknown_node: u64,
    pub dropped_bad_fields: u64,
    pub dropped_replay: u64,
    pub dropped_old: u64,
    pub duplicates: u64,
    pub retransmitted: u64,
    pub rexmit_requested: u64,
}

const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The membership state machine of one node.
pub struct Membership {
    cfg: MembershipConfig,
    started: Instant,
    rng: Rng,
    me: usize,
    peers: Vec<Peer>,
    own: NodeStatus,
    seq: u64,
    history: History,
    comm_up: bool,
    next_reqnodes: Option<Instant>,
    next_keepalive: Instant,
    bump_pending: bool,
    loadavg: String,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    counters: Counters,
    drop_log: hb_log::LogLimiter,
    stopped: bool,
    /// The last input's time (to see our own timers overrun: a stopped process).
    last_input: Instant,
    /// When we last woke from such a stall: no peer or link is judged from before it.
    resumed_at: Option<Instant>,
}

fn hex(n: u64) -> String {
    format!("{n:x}")
}

impl Membership {
    /// Starts the node at `now`: its first two heartbeats (`st=init`, then `st=up`) are
    /// queued at once.
    pub fn new(cfg: MembershipConfig, now: Instant) -> Membership {
        let mut rng = Rng::new(cfg.seed);
        let mut nodes: Vec<String> = cfg.nodes.iter().map(|n| n.to_lowercase()).collect();
        if !nodes.iter().any(|n| *n == cfg.name) {
            nodes.push(cfg.name.clone());
        }
        let peers: Vec<Peer> = nodes.iter().map(|n| Peer::new(n, rng.below(10))).collect();
        let me = peers.iter().position(|p| p.name == cfg.name).unwrap_or(0);
        let mut m = Membership {
            started: now,
            rng,
            me,
            peers,
            own: NodeStatus::Init,
            seq: 0,
            history: History::default(),
            comm_up: false,
            next_reqnodes: None,
            next_keepalive: now + cfg.timing.keepalive,
            bump_pending: true,
            loadavg: "n/a".to_string(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
            drop_log: hb_log::LogLimiter::new(DROP_LOG_INTERVAL),
            stopped: false,
            last_input: now,
            resumed_at: None,
            cfg,
        };
        m.peers[me].uuid = Some(m.cfg.uuid);
        m.send_status(now);
        m.own = NodeStatus::Up;
        m.log(Level::Info, "Local status now set to: 'up'".to_string());
        m.send_status(now);
        m.check_comm(now);
        m
    }

    // ----- queries -----

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn own_status(&self) -> NodeStatus {
        self.own
    }

    pub fn comm_up(&self) -> bool {
        self.comm_up
    }

    pub fn peers(&self) -> &[Peer] {
        &self.peers
    }

    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == name)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn config(&self) -> &MembershipConfig {
        &self.cfg
    }

    /// Our last sequence number sent.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// The load average text sent in `ld` (read by the I/O layer from /proc/loadavg).
    pub fn set_loadavg(&mut self, ld: String) {
        self.loadavg = ld;
    }

    /// Uses a new key ring from now on (authkeys reread on SIGHUP).
    pub fn set_keys(&mut self, keys: KeyRing) {
        self.cfg.keys = keys;
    }

    /// Stops all sending (the process is about to exit).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    // ----- outputs -----

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let mut ds: Vec<Option<Instant>> = vec![Some(self.next_keepalive), self.next_reqnodes];
        if self.bump_pending {
            ds.push(Some(self.cfg.timing.bump_ends(self.started)));
        }
        for (i, p) in self.peers.iter().enumerate() {
            // Retransmissions are asked only of live peers (see request_missing).
            if i != self.me && p.status != NodeStatus::Dead {
                ds.push(p.rx.next_request());
            }
            let dead = self.dead_time(p);
            if i != self.me && p.status != NodeStatus::Dead {
                ds.push(Some(
                    self.heard_at(p.last_status_rx.unwrap_or(self.started)) + dead,
                ));
            }
            for l in p.links.iter().filter(|l| l.up) {
                ds.push(Some(self.heard_at(l.last_rx) + dead));
            }
        }
        timers::earliest(ds)
    }

    fn dead_time(&self, p: &Peer) -> Duration {
        self.cfg.timing.dead_time_for(self.comm_up, p.announced_dt)
    }

    /// When a node or link last heard at `t` counts as heard for its dead time: not
    /// before we woke from a stall (see [`Membership::note_input`]).
    fn heard_at(&self, t: Instant) -> Instant {
        self.resumed_at.map_or(t, |r| r.max(t))
    }

    /// Every input passes here first. Our keepalive timer brings an input at least every
    /// keepalive; a gap longer than a dead time less a keepalive (and than two
    /// keepalives) means our timers overran: the process was stopped (SIGSTOP) or the
    /// machine paused. The peers' heartbeats of that time may still wait in our
    /// sockets, so nobody is judged dead from the stale timers: every peer and link gets
    /// a full dead time from now ([`Event::Resumed`]).
    fn note_input(&mut self, now: Instant) {
        let gap = now.saturating_duration_since(self.last_input);
        self.last_input = self.last_input.max(now);
        let t = &self.cfg.timing;
        let limit = t.deadtime.saturating_sub(t.keepalive).max(t.keepalive * 2);
        if self.stopped || gap <= limit {
            return;
        }
        self.resumed_at = Some(now);
        self.log(
            Level::Warn,
            format!(
                "Our timers ran {} ms late (this process was stopped or the machine paused): no node is declared dead before a full dead time from now.",
                gap.as_millis()
            ),
        );
        self.events.push_back(Event::Resumed { late: gap });
    }

    fn log(&mut self, level: Level, text: String) {
        self.events.push_back(Event::Log(level, text));
    }

    // ----- sending -----

    /// Sends `msg` to the cluster (every medium) and processes it locally, as the
    /// original's master process does with its own messages. The control fields
    /// (`destuuid`, `src`, `srcuuid`, `seq`, `hg`, `ts`, `ld`, `ttl`) are added here.
    pub fn send(&mut self, now: Instant, mut msg: Message) {
        if self.stopped {
            return;
        }
        self.note_input(now);
        let t = msg.msg_type().unwrap_or("").to_string();
        let sequenced = !t.starts_with("NS_");
        if let Some(dest) = msg.get("dest").map(str::to_string) {
            if let Some(uuid) = self.peer(&dest).and_then(|p| p.uuid) {
                msg.set("destuuid", Value::Bin(uuid.to_vec()));
            }
        }
        msg.set_str("src", &self.cfg.name);
        msg.set("srcuuid", Value::Bin(self.cfg.uuid.to_vec()));
        if sequenced {
            self.seq += 1;
            msg.set_str("seq", hex(self.seq));
        }
        msg.set_str("hg", hex(self.cfg.generation));
        let ts =
            self.cfg.wall_clock_at_start + now.saturating_duration_since(self.started).as_secs();
        msg.set_str("ts", hex(ts.max(1)));
        if sequenced {
            let ld = self.loadavg.clone();
            msg.set_str("ld", ld);
        }
        let ttl = self.cfg.hopfudge as usize + self.peers.len() + self.cfg.ping_nodes;
        msg.set_str("ttl", ttl.to_string());
        let bytes = match hb_wire::encode(&msg, &self.cfg.keys, self.cfg.send_form) {
            Ok(b) => b,
            Err(e) => {
                self.log(
                    Level::Error,
                    format!("cannot send message of type {t}: {e}"),
                );
                return;
            }
        };
        if sequenced {
            self.history.push(self.seq, bytes.clone(), now);
        }
        self.transmit.push_back(bytes);
        self.receive(now, None, msg);
    }

    fn send_status(&mut self, now: Instant) {
        let dt = self.cfg.timing.announced_dt(self.started, now);
        let mut m = Message::with_type("status");
        m.push_str("st", self.own.as_str())
            .push_str("dt", hex(dt.as_millis() as u64))
            .push_str("protocol", "1");
        self.send(now, m);
    }

    // ----- receiving -----

    /// A datagram arrived on the medium of device `dev`.
    pub fn handle_datagram(&mut self, now: Instant, dev: &str, bytes: &[u8]) {
        if self.stopped {
            return;
        }
        self.note_input(now);
        self.counters.received += 1;
        match hb_wire::decode(bytes, &self.cfg.keys) {
            Ok(d) => self.receive(now, Some(dev), d.msg),
            Err(e) => {
                self.counters.dropped_decode += 1;
                if self.cfg.log_bad_packets {
                    self.drop_log(now, format!("dropped packet from {dev}: {e}"));
                }
            }
        }
    }

    /// A rate-limited warning about a dropped packet: at most one line per 10 s, with
    /// the number of drops not logged since.
    fn drop_log(&mut self, now: Instant, text: String) {
        if let Some(unlogged) = self.drop_log.hit(now) {
            let extra = if unlogged > 0 {
                format!(" ({unlogged} more dropped since the last report)")
            } else {
                String::new()
            };
            self.log(Level::Warn, format!("{text}{extra}"));
        }
    }

    fn peer_index(&self, name: &str) -> Option<usize> {
        self.peers.iter().position(|p| p.name == name)
    }

    /// Marks the link of peer `i` on `dev` alive.
    fn refresh_link(&mut self, i: usize, dev: Option<&str>, now: Instant) {
        let Some(dev) = dev else { return };
        let p = &mut self.peers[i];
        let newly_up = match p.links.iter_mut().find(|l| l.dev == dev) {
            Some(l) => {
                l.last_rx = now;
                !std::mem::replace(&mut l.up, true)
            }
            None => {
                p.links.push(Link {
                    dev: dev.to_string(),
                    up: true,
                    last_rx: now,
                });
                true
            }
        };
        if newly_up {
            let (node, link) = (p.name.clone(), dev.to_string());
            self.log(Level::Info, format!("Link {node}:{link} up."));
            self.events.push_back(Event::LinkStatus {
                node,
                link,
                up: true,
            });
        }
    }

    fn for_us(&self, msg: &Message) -> bool {
        if let Some(u) = msg.get_bytes("destuuid") {
            if u.iter().any(|b| *b != 0) {
                return u == self.cfg.uuid;
            }
        }
        match msg.get("dest") {
            None => true,
            Some(d) => d.eq_ignore_ascii_case(&self.cfg.name),
        }
    }

    /// A decoded message, from the network (`dev` set) or our own (`dev` None).
    fn receive(&mut self, now: Instant, dev: Option<&str>, msg: Message) {
        let (Some(t), Some(src)) = (msg.msg_type(), msg.get("src")) else {
            self.counters.dropped_bad_fields += 1;
            self.drop_log(now, "process_clustermsg: missing from/ts/type".to_string());
            return;
        };
        let (t, src) = (t.to_string(), src.to_lowercase());
        if msg.get_hex("ts").unwrap_or(0) == 0 {
            self.counters.dropped_bad_fields += 1;
            self.drop_log(
                now,
                format!("process_clustermsg: node [{src}]: missing from/ts/type"),
            );
            return;
        }
        let Some(i) = self.peer_index(&src) else {
            self.counters.dropped_unknown_node += 1;
            self.drop_log(
                now,
                format!("process_status_message: bad node [{src}] in message"),
            );
            return;
        };
        if let Some(u) = msg.get_bytes("srcuuid") {
            if let Ok(u) = <[u8; 16]>::try_from(u) {
                if i != self.me {
                    self.peers[i].uuid = Some(u);
                }
            }
        }
        if t.starts_with("NS_") {
            self.refresh_link(i, dev, now);
            if self.for_us(&msg) {
                self.handle_control(now, i, &t, &msg);
            }
            return;
        }
        let Some(seq) = msg.get_hex("seq").filter(|s| *s >= 1) else {
            self.counters.dropped_bad_fields += 1;
            self.drop_log(
                now,
                format!("should_drop_message: bad sequence number from [{src}]"),
            );
            return;
        };
        let hg = msg.get_hex("hg").unwrap_or(0);
        let is_status = t == "status";
        let known_gen = self.peers[i].generation;
        if let Some(g) = known_gen {
            if hg < g {
                self.counters.dropped_replay += 1;
                self.drop_log(
                    now,
                    format!(
                        "should_drop_message: attempted replay attack [{src}]? [gen = {hg}, curgen = {g}]"
                    ),
                );
                return;
            }
        }
        if is_status && i != self.me {
            let p = &mut self.peers[i];
            if known_gen.is_none_or(|g| hg > g) {
                let restarted = known_gen.is_some();
                p.generation = Some(hg);
                p.rx.reset();
                p.last_status_seq = None;
                p.last_ack_sent = None;
                p.their_ack = None;
                if restarted {
                    self.log(Level::Info, format!("Heartbeat restart on node {src}"));
                    self.events
                        .push_back(Event::NodeRestarted { node: src.clone() });
                }
            } else if p.status == NodeStatus::Dead {
                if p.last_status_seq.is_some_and(|l| seq <= l) {
                    self.counters.dropped_old += 1;
                    return;
                }
                p.rx.reset();
                self.log(
                    Level::Crit,
                    format!("Cluster node {src} returning after partition."),
                );
                self.log(Level::Warn, "Deadtime value may be too small.".to_string());
                self.events
                    .push_back(Event::PartitionReturn { node: src.clone() });
            }
        } else if i == self.me && self.peers[i].generation.is_none() {
            self.peers[i].generation = Some(hg);
        }
        let first_ask = {
            let span = self
                .cfg
                .timing
                .max_rexmit_delay
                .saturating_sub(REXMIT_MIN_DELAY);
            let jitter = self.rng.below(span.as_millis() as u64 + 1);
            now + REXMIT_MIN_DELAY + Duration::from_millis(jitter)
        };
        let verdict = self.peers[i].rx.accept(seq, || first_ask);
        match verdict {
            Verdict::Old => {
                self.counters.dropped_old += 1;
                return;
            }
            Verdict::Duplicate => {
                self.counters.duplicates += 1;
                self.refresh_link(i, dev, now);
                return;
            }
            Verdict::Gap { last, lost } => {
                self.log(
                    Level::Warn,
                    format!("{lost} lost packet(s) for [{src}] [{last}:{seq}]"),
                );
            }
            Verdict::GapTooLarge { last, lost } => {
                self.log(
                    Level::Warn,
                    format!("{lost} lost packet(s) for [{src}] [{last}:{seq}]"),
                );
                self.log(Level::Error, "lost a lot of packets!".to_string());
            }
            Verdict::Filled { now_complete } => {
                if now_complete {
                    self.log(Level::Info, format!("No pkts missing from {src}!"));
                }
            }
            Verdict::InOrder => {}
        }
        self.refresh_link(i, dev, now);
        self.maybe_ack(
            now,
            i,
            seq,
            matches!(verdict, Verdict::Filled { now_complete: true }),
        );
        if is_status {
            // A status older than the last one processed (a retransmission or a late
            // copy) would set the node's state back: skip it. The original skips it only
            // when its `ts` is older too, which its one-second resolution rarely shows.
            if self.peers[i].last_status_seq.is_some_and(|oseq| seq < oseq) {
                return;
            }
        }
        if !self.for_us(&msg) {
            return;
        }
        match t.as_str() {
            "status" => self.on_status(now, i, seq, &msg),
            "reqnodes" => {
                if i != self.me {
                    let mut r = Message::new();
                    r.push_str("dest", &src).push_str("t", "repnodes");
                    let mut list = String::new();
                    for p in &self.peers {
                        list.push_str(&p.name);
                        list.push(' ');
                    }
                    r.push_str("nodelist", list).push_str("delnodelist", " ");
                    self.send(now, r);
                }
            }
            "repnodes" => {
                if i != self.me && !self.comm_up {
                    if let Some(list) = msg.get("nodelist") {
                        let theirs: Vec<&str> = list.split_whitespace().collect();
                        let ours: Vec<String> = self.peers.iter().map(|p| p.name.clone()).collect();
                        if theirs.len() != ours.len()
                            || ours.iter().any(|n| !theirs.contains(&n.as_str()))
                        {
                            self.log(
                                Level::Warn,
                                format!(
                                    "node list of {src} [{list}] differs from ours [{}]; keeping ours",
                                    ours.join(" ")
                                ),
                            );
                        }
                    }
                    self.comm_now_up(now);
                }
            }
            _ => self.events.push_back(Event::Message { from: src, msg }),
        }
    }

    /// Acknowledges about every 10th in-order message of each node (our own included).
    fn maybe_ack(&mut self, now: Instant, i: usize, seq: u64, gap_filled: bool) {
        let p = &self.peers[i];
        if p.rx.has_missing() {
            return;
        }
        let Some(last) = p.rx.last() else { return };
        let target = if gap_filled {
            // The highest complete number of the node's form.
            let d = p.ack_digit;
            if last % 10 >= d {
                last - (last % 10 - d)
            } else if last >= 10 {
                last - (last % 10) - 10 + d
            } else {
                return;
            }
        } else if seq % 10 == p.ack_digit {
            seq
        } else {
            return;
        };
        if target == 0 || p.last_ack_sent.is_some_and(|a| a >= target) {
            return;
        }
        let name = p.name.clone();
        self.peers[i].last_ack_sent = Some(target);
        let mut m = Message::with_type("NS_ackmsg");
        m.push_str("dest", &name).push_str("ackseq", hex(target));
        self.send(now, m);
    }

    fn handle_control(&mut self, now: Instant, i: usize, t: &str, msg: &Message) {
        let src = self.peers[i].name.clone();
        match t {
            "NS_ackmsg" => {
                let Some(ack) = msg.get_hex("ackseq") else {
                    return;
                };
                if ack > self.seq {
                    self.log(
                        Level::Error,
                        format!(
                            "HBDoMsg_T_ACK: corrupted ackseq current hiseq = {} ackseq = {ack} in this message",
                            self.seq
                        ),
                    );
                    return;
                }
                let p = &mut self.peers[i];
                if p.their_ack.is_none_or(|a| ack > a) {
                    p.their_ack = Some(ack);
                }
            }
            "NS_rexmit" => {
                if i == self.me {
                    return;
                }
                let (Some(first), Some(last)) = (msg.get_dec("firstseq"), msg.get_dec("lastseq"))
                else {
                    self.log(Level::Error, format!("Invalid rexmit seqnos from {src}"));
                    return;
                };
                self.serve_rexmit(now, i, first, last);
            }
            "NS_nak_rexmit" => {
                let Some(s) = msg.get_hex("firstseq") else {
                    return;
                };
                // The NAK comes from the node whose message we miss.
                if self.peers[i].rx.give_up(s) {
                    self.log(
                        Level::Error,
                        format!("Irretrievably lost packet: node {src} seq {s}"),
                    );
                }
            }
            _ => self.events.push_back(Event::Message {
                from: src,
                msg: msg.clone(),
            }),
        }
    }

    fn serve_rexmit(&mut self, now: Instant, i: usize, first: u64, last: u64) {
        let name = self.peers[i].name.clone();
        let their_ack = self.peers[i].their_ack;
        let last = last.min(first.saturating_add(MAX_REXMIT_PER_REQUEST - 1));
        let min_gap = self
            .cfg
            .timing
            .max_rexmit_delay
            .saturating_sub(Duration::from_millis(10));
        for s in first..=last {
            if their_ack.is_some_and(|a| s <= a) {
                continue;
            }
            let reason = match self.history.lookup(s, now, min_gap) {
                Lookup::Resend(bytes) => {
                    let b = bytes.to_vec();
                    self.transmit.push_back(b);
                    self.counters.retransmitted += 1;
                    continue;
                }
                Lookup::TooSoon => continue,
                Lookup::AboveMax { max } => {
                    self.log(
                        Level::Warn,
                        format!("Rexmit of seq {s} requested. {max} is max."),
                    );
                    continue;
                }
                Lookup::TooLow => "seqno too low",
                Lookup::NotFound => "seqno not found",
            };
            self.log(
                Level::Error,
                format!("Cannot rexmit pkt {s} for {name}: {reason}"),
            );
            let mut m = Message::with_type("NS_nak_rexmit");
            m.push_str("firstseq", hex(s))
                .push_str("dest", &name)
                .push_str("info", reason);
            self.send(now, m);
        }
    }

    fn on_status(&mut self, now: Instant, i: usize, seq: u64, msg: &Message) {
        let warntime_late = {
            let p = &self.peers[i];
            p.last_status_rx
                .filter(|t| self.resumed_at.is_none_or(|r| *t >= r))
                .map(|t| now.saturating_duration_since(t))
                .filter(|iv| p.status != NodeStatus::Dead && self.cfg.timing.is_late(*iv))
        };
        let st = msg.get("st").unwrap_or("").to_string();
        let p = &mut self.peers[i];
        p.last_status_rx = Some(now);
        p.last_status_seq = Some(seq);
        if let Some(dt) = msg.get_hex("dt") {
            p.announced_dt = Some(Duration::from_millis(dt));
        }
        if i == self.me {
            self.events.push_back(Event::OwnHeartbeat);
            return;
        }
        if let Some(iv) = warntime_late {
            let name = self.peers[i].name.clone();
            self.log(
                Level::Warn,
                format!(
                    "Late heartbeat: Node {name}: interval {} ms",
                    iv.as_millis()
                ),
            );
        }
        let p = &mut self.peers[i];
        let new = NodeStatus::from_wire(&st).unwrap_or(NodeStatus::Up);
        if p.wire_status != st || p.status != new {
            p.wire_status = st.clone();
            p.status = new;
            let node = p.name.clone();
            self.log(
                Level::Info,
                format!("Status update for node {node}: status {st}"),
            );
            self.events
                .push_back(Event::NodeStatus { node, status: st });
        }
        self.check_comm(now);
    }

    // ----- time -----

    /// Runs every timer that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        self.note_input(now);
        if self.bump_pending && now >= self.cfg.timing.bump_ends(self.started) {
            self.bump_pending = false;
            self.send_status(now);
            self.next_keepalive = now + self.cfg.timing.keepalive;
        }
        if now >= self.next_keepalive {
            self.send_status(now);
            let next = self.next_keepalive + self.cfg.timing.keepalive;
            self.next_keepalive = if next <= now {
                now + self.cfg.timing.keepalive
            } else {
                next
            };
        }
        self.check_deaths(now);
        self.request_missing(now);
        if self.next_reqnodes.is_some_and(|t| now >= t) {
            self.next_reqnodes = None;
            self.ask_nodes(now);
        }
        self.check_comm(now);
    }

    fn check_deaths(&mut self, now: Instant) {
        for i in 0..self.peers.len() {
            let dead = self.dead_time(&self.peers[i]);
            let p = &mut self.peers[i];
            let mut gone = Vec::new();
            let resumed = self.resumed_at;
            let heard = |t: Instant| resumed.map_or(t, |r| r.max(t));
            for l in p.links.iter_mut().filter(|l| l.up) {
                if now >= heard(l.last_rx) + dead {
                    l.up = false;
                    gone.push(l.dev.clone());
                }
            }
            let node = p.name.clone();
            for link in gone {
                self.log(Level::Info, format!("Link {node}:{link} dead."));
                self.events.push_back(Event::LinkStatus {
                    node: node.clone(),
                    link,
                    up: false,
                });
            }
            let p = &mut self.peers[i];
            if i != self.me
                && p.status != NodeStatus::Dead
                && now >= heard(p.last_status_rx.unwrap_or(self.started)) + dead
            {
                p.status = NodeStatus::Dead;
                p.rx.reset();
                p.last_ack_sent = None;
                self.log(Level::Warn, format!("node {node}: is dead"));
                self.events.push_back(Event::NodeStatus {
                    node: node.clone(),
                    status: "dead".to_string(),
                });
                self.events.push_back(Event::NodeDead { node });
            }
        }
    }

    fn request_missing(&mut self, now: Instant) {
        let again = now + self.cfg.timing.max_rexmit_delay;
        for i in 0..self.peers.len() {
            if i == self.me || self.peers[i].status == NodeStatus::Dead {
                continue;
            }
            let due = self.peers[i].rx.due_requests(now, again);
            let name = self.peers[i].name.clone();
            for s in due {
                self.counters.rexmit_requested += 1;
                let mut m = Message::with_type("NS_rexmit");
                m.push_str("dest", &name)
                    .push_str("firstseq", s.to_string())
                    .push_str("lastseq", s.to_string());
                self.send(now, m);
            }
        }
    }

    /// Communication comes up once every configured node was heard from or declared
    /// dead; we then ask one live peer for its node list (`reqnodes`), or go active at
    /// once when nobody is there to ask.
    fn check_comm(&mut self, now: Instant) {
        if self.comm_up || self.next_reqnodes.is_some() {
            return;
        }
        let all_known = self
            .peers
            .iter()
            .enumerate()
            .all(|(i, p)| i == self.me || p.status != NodeStatus::Init);
        if all_known {
            self.ask_nodes(now);
        }
    }

    fn ask_nodes(&mut self, now: Instant) {
        if self.comm_up {
            return;
        }
        let target = self
            .peers
            .iter()
            .enumerate()
            .find(|(i, p)| *i != self.me && matches!(p.status, NodeStatus::Up | NodeStatus::Active))
            .map(|(_, p)| p.name.clone());
        match target {
            None => self.comm_now_up(now),
            Some(dest) => {
                let mut m = Message::with_type("reqnodes");
                m.push_str("dest", dest);
                self.send(now, m);
                self.next_reqnodes = Some(now + REQNODES_RETRY);
            }
        }
    }

    fn comm_now_up(&mut self, now: Instant) {
        if self.comm_up {
            return;
        }
        self.comm_up = true;
        self.next_reqnodes = None;
        self.log(
            Level::Info,
            "Comm_now_up(): updating status to active".to_string(),
        );
        self.own = NodeStatus::Active;
        self.log(Level::Info, "Local status now set to: 'active'".to_string());
        self.send_status(now);
        self.events.push_back(Event::CommUp);
    }
}
