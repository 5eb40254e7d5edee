//! Membership: heartbeats, node and link states, sequencing, acknowledgements and
//! retransmission (PROTOCOL.md sections 3 to 5), as a sans-IO state machine.
//!
//! Inputs: [`Membership::handle_datagram`] (bytes from a medium, with the medium's
//! device name), [`Membership::handle_timeout`], [`Membership::send`] (a message of an
//! upper layer). Outputs: [`Membership::poll_transmit`] (datagrams for every medium),
//! [`Membership::poll_event`] (log lines, state changes, messages for upper layers) and
//! [`Membership::poll_timeout`] (when to call `handle_timeout` next).

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hb_wire::{DropKind, EncodeError, KeyRing, Message, SendForm, Value};

use crate::history::{History, Lookup, MAX_REXMIT_PER_REQUEST};
use crate::rng::Rng;
use crate::seqtrack::{ReplayWindow, SeqTracker, Verdict, REPLAY_WINDOW};
use crate::timers::{self, Timing, REQNODES_RETRY, REXMIT_MIN_DELAY};
use crate::{Event, Level};

/// Everything the membership layer needs to know at start.
#[derive(Clone)]
pub struct MembershipConfig {
    /// Our node name, as in ha.cf (lowercase).
    pub name: String,
    /// Every configured normal node, ours included, in ha.cf order.
    pub nodes: Vec<String>,
    /// Number of ping nodes, `ping` and `ping_group` alike (they count in `ttl`, and
    /// communication waits for them: see [`Membership::ping_nodes_known`]).
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

/// One link: a peer seen on one of our media's devices. Only a packet whose number is
/// new on this link (see [`ReplayWindow`]) refreshes it.
#[derive(Clone, Debug)]
pub struct Link {
    pub dev: String,
    pub up: bool,
    last_rx: Instant,
    seen: ReplayWindow,
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
    /// When its last status was processed (for "Late heartbeat").
    last_status_rx: Option<Instant>,
    /// Its last sign of life: a fresh (replay-checked) sequenced message. Its dead time
    /// runs from here.
    last_alive: Option<Instant>,
    announced_dt: Option<Duration>,
    generation: Option<u64>,
    rx: SeqTracker,
    ack_digit: u64,
    last_ack_sent: Option<u64>,
    their_ack: Option<u64>,
    last_status_seq: Option<u64>,
    /// The number of its latest status and how many copies of it arrived.
    copies_of: (u64, u64),
    /// While it is declared dead: the highest number seen before its death. Older
    /// numbers are replays; a newer status is its return.
    dead_floor: Option<u64>,
    /// The fields of ours (see [`Membership::set_status_field`]) in its last status.
    status_fields: Vec<(String, String)>,
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
            last_alive: None,
            announced_dt: None,
            generation: None,
            rx: SeqTracker::default(),
            ack_digit,
            last_ack_sent: None,
            their_ack: None,
            last_status_seq: None,
            copies_of: (0, 0),
            dead_floor: None,
            status_fields: Vec::new(),
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

    /// The value of a field of ours (one we send too, see
    /// [`Membership::set_status_field`]) in its last status; None when it sent none (an
    /// original node).
    pub fn status_field(&self, name: &str) -> Option<&str> {
        self.status_fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What was received, dropped and sent again: for `heartbeat -s`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams handed in from the media.
    pub received: u64,
    /// Messages from the media that passed authentication and the replay check.
    pub accepted: u64,
    /// Copies of messages already seen: from a second medium, our own looped back, a
    /// peer's extra status copies. Not processed; they refresh a link when new on it.
    pub duplicates: u64,
    /// Refused as replays: an older generation, or old numbers of a node declared dead
    /// (also counted in `dropped`, by kind).
    pub replays: u64,
    /// Our messages sent again on a peer's request.
    pub retransmitted: u64,
    /// Retransmission requests we sent.
    pub rexmit_requested: u64,
    /// Extra copies of our statuses sent while the link was lossy.
    pub status_copies: u64,
    /// Drops and refusals by kind (only the kinds seen), in [`DropKind`] order.
    pub dropped: Vec<(DropKind, u64)>,
}

impl Counters {
    /// Drops of `kind` so far.
    pub fn dropped(&self, kind: DropKind) -> u64 {
        self.dropped
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// The counters as the lines `heartbeat -s` prints.
    pub fn status_lines(&self) -> Vec<String> {
        let mut dropped: Vec<String> = self
            .dropped
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        if dropped.is_empty() {
            dropped.push("none".into());
        }
        vec![
            format!(
                "packets: received {}, accepted {}, duplicates {}, replays {}",
                self.received, self.accepted, self.duplicates, self.replays
            ),
            format!(
                "packets: retransmitted {}, retransmissions asked {}, extra status copies {}",
                self.retransmitted, self.rexmit_requested, self.status_copies
            ),
            format!("packets dropped: {}", dropped.join(", ")),
        ]
    }
}

/// Why [`Membership::send`] did not send a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The node is stopping: nothing is sent any more.
    Stopped,
    /// The message cannot be put in a datagram (too big, a field the form cannot carry).
    /// It was not numbered: the peers miss nothing.
    Encode {
        msg_type: String,
        error: EncodeError,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Stopped => f.write_str("heartbeat is stopping: message not sent"),
            SendError::Encode { msg_type, error } => {
                write!(f, "cannot send message of type {msg_type}: {error}")
            }
        }
    }
}

impl std::error::Error for SendError {}

/// Every drop path's counts and log lines: one [`hb_log::LogLimiter`] per [`DropKind`] (a
/// flood of one kind does not hide another).
#[derive(Clone, Debug, Default)]
struct Drops {
    kinds: [hb_log::LogLimiter; DropKind::ALL.len()],
}

impl Drops {
    /// The kinds whose held-back lines are due now, with how many were held back.
    fn flush_due(&mut self, now: Instant) -> Vec<(DropKind, u64)> {
        DropKind::ALL
            .iter()
            .zip(self.kinds.iter_mut())
            .filter_map(|(k, l)| l.flush_due(now).map(|n| (*k, n)))
            .collect()
    }

    /// When [`Drops::flush_due`] will next have something to report.
    fn next_flush(&self) -> Option<Instant> {
        self.kinds
            .iter()
            .filter_map(hb_log::LogLimiter::next_flush)
            .min()
    }

    /// Every kind dropped at least once, with its count, in [`DropKind`] order.
    fn counts(&self) -> Vec<(DropKind, u64)> {
        DropKind::ALL
            .iter()
            .zip(self.kinds.iter())
            .map(|(k, l)| (*k, l.total()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

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
    /// Ping nodes are configured and not all of them answered or were declared dead yet.
    ping_pending: bool,
    next_reqnodes: Option<Instant>,
    next_keepalive: Instant,
    bump_pending: bool,
    loadavg: String,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    counters: Counters,
    /// Every drop path's counts and log lines (one limiter per kind).
    drops: Drops,
    /// Until when the link counts as lossy (extra status copies are sent).
    lossy_until: Option<Instant>,
    /// Copies of our last status still to send: (bytes, when the next is due, how many).
    copies: Option<(Vec<u8>, Instant, u64)>,
    /// Copies due, for [`Membership::poll_status_copy`].
    copies_out: VecDeque<Vec<u8>>,
    stopped: bool,
    /// The last input's time (to see our own timers overrun: a stopped process).
    last_input: Instant,
    /// When we last woke from such a stall: no peer or link is judged from before it.
    resumed_at: Option<Instant>,
    /// Fields of ours added to every status (an original node reads only the fields it
    /// knows: `st`, `dt`, `protocol`...).
    status_extra: Vec<(String, String)>,
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
            ping_pending: cfg.ping_nodes > 0,
            next_reqnodes: None,
            next_keepalive: now + cfg.timing.keepalive,
            bump_pending: true,
            loadavg: "n/a".to_string(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
            drops: Drops::default(),
            lossy_until: None,
            copies: None,
            copies_out: VecDeque::new(),
            stopped: false,
            last_input: now,
            resumed_at: None,
            status_extra: Vec::new(),
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

    /// The counters so far, the drops by kind included.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.dropped = self.drops.counts();
        c
    }

    /// Whether the link counts as lossy now (we send extra status copies).
    pub fn lossy(&self, now: Instant) -> bool {
        self.lossy_until.is_some_and(|t| now < t)
    }

    pub fn config(&self) -> &MembershipConfig {
        &self.cfg
    }

    /// Our last sequence number sent.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Adds (or replaces) a field of ours in every status from now on.
    pub fn set_status_field(&mut self, name: &str, value: &str) {
        match self.status_extra.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_string(),
            None => self
                .status_extra
                .push((name.to_string(), value.to_string())),
        }
    }

    /// The load average text sent in `ld` (read by the I/O layer from /proc/loadavg).
    pub fn set_loadavg(&mut self, ld: String) {
        self.loadavg = ld;
    }

    /// Uses a new key ring from now on (authkeys reread on SIGHUP).
    pub fn set_keys(&mut self, keys: KeyRing) {
        self.cfg.keys = keys;
    }

    /// Uses new timers from now on (ha.cf reread on SIGHUP with only timers changed): the
    /// next heartbeat is due no later than the new keepalive from `now`, our next status
    /// announces the new deadtime in `dt` (peers apply it from then on), late heartbeats
    /// are judged against the new warntime, and `initdead` counts while communication is
    /// not yet up. The start-up bump of `dt` (if still running) ends when it always does.
    pub fn set_timing(&mut self, now: Instant, timing: Timing) {
        self.cfg.timing = timing;
        self.next_keepalive = self.next_keepalive.min(now + self.cfg.timing.keepalive);
    }

    /// Stops all sending (the process is about to exit).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    // ----- outputs -----

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// An extra copy of our last status, sent while the link is lossy (see
    /// [`Timing::status_copies`]): for the network media only. A slow line (serial) must
    /// not carry them: its queue would delay the statuses themselves.
    pub fn poll_status_copy(&mut self) -> Option<Vec<u8>> {
        self.copies_out.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        let fixed = [
            Some(self.next_keepalive),
            self.next_reqnodes,
            self.copies.as_ref().map(|c| c.1),
            self.drops.next_flush(),
            Some(self.cfg.timing.bump_ends(self.started)).filter(|_| self.bump_pending),
        ];
        let per_peer = self.peers.iter().enumerate().flat_map(|(i, p)| {
            let dead = self.dead_time(p);
            // Retransmissions are asked only of live peers (see request_missing).
            let live = i != self.me && p.status != NodeStatus::Dead;
            let node = [
                p.rx.next_request().filter(|_| live),
                Some(self.heard_at(p.last_alive.unwrap_or(self.started)) + dead).filter(|_| live),
            ];
            let links = p
                .links
                .iter()
                .filter(|l| l.up)
                .map(move |l| Some(self.heard_at(l.last_rx) + dead));
            node.into_iter().chain(links)
        });
        timers::earliest(fixed.into_iter().chain(per_peer))
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
    ///
    /// A message that cannot be encoded (too big for a datagram, say) is refused before
    /// it takes a sequence number, so the peers miss nothing; the refusal is logged
    /// (rate-limited) and returned for the caller to report (to an API client, say).
    pub fn send(&mut self, now: Instant, mut msg: Message) -> Result<(), SendError> {
        if self.stopped {
            return Err(SendError::Stopped);
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
        let seq = self.seq + 1;
        if sequenced {
            msg.set_str("seq", hex(seq));
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
            Err(error) => {
                let e = SendError::Encode { msg_type: t, error };
                self.drop_log(now, DropKind::Unsendable, Level::Error, e.to_string());
                return Err(e);
            }
        };
        if sequenced {
            self.seq = seq;
            self.history.push(seq, bytes.clone(), now);
        }
        self.transmit.push_back(bytes);
        self.receive(now, None, None, msg);
        Ok(())
    }

    /// Sends one of our own protocol messages (a refusal is already logged by `send`).
    fn send_own(&mut self, now: Instant, msg: Message) {
        let _ = self.send(now, msg);
    }

    fn send_status(&mut self, now: Instant) {
        let dt = self.cfg.timing.announced_dt(self.started, now);
        let mut m = Message::with_type("status");
        m.push_str("st", self.own.as_str())
            .push_str("dt", hex(dt.as_millis() as u64))
            .push_str("protocol", "1");
        for (k, v) in &self.status_extra {
            m.push_str(k, v);
        }
        let before = self.seq;
        self.send_own(now, m);
        // While the link is lossy, the same datagram goes out again a few times within
        // the keepalive: a peer takes the first copy that arrives and drops the others
        // as duplicates (the original too, silently).
        // Only while some peer is alive: they keep a peer that hears us from declaring us
        // dead, and one we declared dead is not listening (after a cut, the first
        // packets across are then the nodes' own statuses, as without copies).
        self.copies = None;
        let (sends, spacing) = self.cfg.timing.status_copies();
        if self.seq != before && sends > 1 && self.lossy(now) && self.some_peer_alive() {
            if let Some((_, bytes)) = self.history.last() {
                self.copies = Some((bytes.to_vec(), now + spacing, sends - 1));
            }
        }
    }

    fn some_peer_alive(&self) -> bool {
        self.peers
            .iter()
            .enumerate()
            .any(|(i, p)| i != self.me && p.status != NodeStatus::Dead)
    }

    /// Sends the copies of our last status that are due.
    fn send_copies(&mut self, now: Instant) {
        if !self.some_peer_alive() {
            self.copies = None;
        }
        let spacing = self.cfg.timing.status_copies().1;
        while let Some((bytes, at, left)) = self.copies.as_mut() {
            if *at > now {
                return;
            }
            self.copies_out.push_back(bytes.clone());
            self.counters.status_copies += 1;
            *left -= 1;
            *at += spacing;
            if *left == 0 {
                self.copies = None;
            }
        }
    }

    /// A sign that the link loses packets: a peer asked us to retransmit, we ask a peer
    /// (a number still missing after the first delay, not merely late), or fewer copies
    /// of a peer's status arrived than it sends. Our statuses go out several times for a
    /// while.
    fn note_loss(&mut self, now: Instant) {
        self.lossy_until = Some(now + self.cfg.timing.lossy_hold());
    }

    // ----- receiving -----

    /// A datagram arrived on the medium of device `dev`.
    pub fn handle_datagram(&mut self, now: Instant, dev: &str, bytes: &[u8]) {
        self.handle_datagram_from(now, dev, None, bytes);
    }

    /// A datagram arrived on the medium of device `dev`, from address `from` (named in
    /// the log line when it is dropped).
    pub fn handle_datagram_from(
        &mut self,
        now: Instant,
        dev: &str,
        from: Option<SocketAddr>,
        bytes: &[u8],
    ) {
        if self.stopped {
            return;
        }
        self.note_input(now);
        self.counters.received += 1;
        match hb_wire::decode(bytes, &self.cfg.keys) {
            Ok(d) => self.receive(now, Some(dev), from, d.msg),
            Err(e) => {
                let peer = match from {
                    Some(a) => format!("{dev} ({})", a.ip()),
                    None => dev.to_string(),
                };
                if self.cfg.log_bad_packets {
                    self.drop_log(
                        now,
                        e.kind(),
                        Level::Warn,
                        format!("dropped packet from {peer}: {e}"),
                    );
                } else {
                    // log_badpack off: counted only, as 2.0.8 keeps quiet about them.
                    self.drops.kinds[e.kind().index()].count();
                }
            }
        }
    }

    /// Counts a drop of `kind` and logs `text` when the limiter lets it through (one line
    /// per kind per 10 s; the next line says how many were held back).
    fn drop_log(&mut self, now: Instant, kind: DropKind, level: Level, text: String) {
        if let Some(held_back) = self.drops.kinds[kind.index()].hit(now) {
            self.log(
                level,
                format!("{text}{}", hb_log::suppressed_note(held_back)),
            );
        }
    }

    /// Reports the drops held back by the limiter once their interval is over.
    fn flush_drop_logs(&mut self, now: Instant) {
        for (kind, held_back) in self.drops.flush_due(now) {
            self.log(
                Level::Warn,
                format!(
                    "{held_back} more packet(s) dropped ({}) not logged in the last {} s",
                    kind.name(),
                    hb_log::DEFAULT_LOG_INTERVAL.as_secs()
                ),
            );
        }
    }

    fn peer_index(&self, name: &str) -> Option<usize> {
        self.peers.iter().position(|p| p.name == name)
    }

    /// Whether (`hg`, `seq`) is new on the link of peer `i` on `dev` (recorded either way).
    fn new_on_link(&mut self, i: usize, dev: &str, hg: u64, seq: u64, now: Instant) -> bool {
        let p = &mut self.peers[i];
        match p.links.iter_mut().find(|l| l.dev == dev) {
            Some(l) => l.seen.check(hg, seq),
            None => {
                let mut seen = ReplayWindow::default();
                seen.check(hg, seq);
                p.links.push(Link {
                    dev: dev.to_string(),
                    up: false,
                    last_rx: now,
                    seen,
                });
                true
            }
        }
    }

    /// Marks the link of peer `i` on `dev` alive (after the replay check).
    fn refresh_link(&mut self, i: usize, dev: &str, now: Instant) {
        let p = &mut self.peers[i];
        let Some(l) = p.links.iter_mut().find(|l| l.dev == dev) else {
            return;
        };
        l.last_rx = now;
        if !std::mem::replace(&mut l.up, true) {
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
    ///
    /// Nothing a packet does to liveness (a link up, a node alive, a status change)
    /// happens before its replay check: a sequenced message must be of the sender's
    /// current generation (or a newer one) and carry a number not seen yet. Messages
    /// without a number (`NS_*`) never count as a sign of life.
    fn receive(&mut self, now: Instant, dev: Option<&str>, from: Option<SocketAddr>, msg: Message) {
        // Where a dropped message came from, for its log line.
        let peer = || match (dev, from) {
            (Some(d), Some(a)) => format!(" on {d} ({})", a.ip()),
            (Some(d), None) => format!(" on {d}"),
            _ => String::new(),
        };
        let (Some(t), Some(src)) = (msg.msg_type(), msg.get("src")) else {
            self.drop_log(
                now,
                DropKind::MissingFields,
                Level::Warn,
                format!("process_clustermsg: missing from/ts/type{}", peer()),
            );
            return;
        };
        let (t, src) = (t.to_string(), src.to_lowercase());
        if msg.get_hex("ts").unwrap_or(0) == 0 {
            self.drop_log(
                now,
                DropKind::MissingFields,
                Level::Warn,
                format!(
                    "process_clustermsg: node [{}]: missing from/ts/type{}",
                    hb_wire::printable(src.as_bytes()),
                    peer()
                ),
            );
            return;
        }
        let Some(i) = self.peer_index(&src) else {
            self.drop_log(
                now,
                DropKind::UnknownNode,
                Level::Warn,
                format!(
                    "process_status_message: bad node [{}] in message{}",
                    hb_wire::printable(src.as_bytes()),
                    peer()
                ),
            );
            return;
        };
        let hg = msg.get_hex("hg").unwrap_or(0);
        let known_gen = self.peers[i].generation;
        if let Some(g) = known_gen.filter(|g| hg < *g) {
            self.counters.replays += 1;
            self.drop_log(
                now,
                DropKind::OldGeneration,
                Level::Error,
                format!(
                    "should_drop_message: attempted replay attack [{src}]? [gen = {hg}, curgen = {g}]{}",
                    peer()
                ),
            );
            return;
        }
        if let Some(u) = msg.get_bytes("srcuuid") {
            if let Ok(u) = <[u8; 16]>::try_from(u) {
                if i != self.me {
                    self.peers[i].uuid = Some(u);
                }
            }
        }
        if t.starts_with("NS_") {
            if dev.is_some() {
                self.counters.accepted += 1;
            }
            if self.for_us(&msg) {
                self.handle_control(now, i, &t, &msg);
            }
            return;
        }
        let Some(seq) = msg.get_hex("seq").filter(|s| *s >= 1) else {
            self.drop_log(
                now,
                DropKind::BadSeq,
                Level::Error,
                format!(
                    "should_drop_message: bad sequence number from [{src}]{}",
                    peer()
                ),
            );
            return;
        };
        let is_status = t == "status";
        let dead = i != self.me && self.peers[i].status == NodeStatus::Dead;
        if dead && known_gen.is_none_or(|g| hg == g) {
            if let Some(last) = self.peers[i].dead_floor.filter(|l| seq <= *l) {
                // Recorded packets of a node declared dead: they must not revive it, nor
                // its link.
                self.counters.replays += 1;
                self.drop_log(
                    now,
                    DropKind::Replay,
                    Level::Warn,
                    format!(
                        "should_drop_message: replayed packet of dead node [{src}]? [gen = {hg}, seq = {seq}, last seen = {last}]{}",
                        peer()
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
                p.copies_of = (0, 0);
                if restarted {
                    self.log(Level::Info, format!("Heartbeat restart on node {src}"));
                    self.events
                        .push_back(Event::NodeRestarted { node: src.clone() });
                }
            } else if dead {
                // Same generation, a number never seen: back without a restart.
                p.rx.reset();
                self.partition_return(&src);
            }
        } else if dead {
            // A newer number (or a newer generation) from a node declared dead: start its
            // numbering afresh there, as after its death.
            self.peers[i].rx.reset();
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
        let fresh = !matches!(verdict, Verdict::Old | Verdict::Duplicate);
        if is_status && i != self.me && dev.is_some() {
            self.count_status_copies(now, i, seq, fresh);
        }
        if let Some(dev) = dev {
            // A copy of a message already seen (a second medium, our own looped back, a
            // peer's extra status copy) still refreshes a link on which it is new, while
            // the node is alive and the number recent.
            let recent = self.peers[i]
                .rx
                .last()
                .is_some_and(|l| seq.saturating_add(REPLAY_WINDOW) > l);
            let on_link = self.new_on_link(i, dev, hg, seq, now);
            let alive = self.peers[i].status != NodeStatus::Dead || i == self.me;
            if on_link && (fresh || (alive && recent)) {
                self.refresh_link(i, dev, now);
            }
        }
        match verdict {
            Verdict::Old | Verdict::Duplicate => {
                self.counters.duplicates += 1;
                return;
            }
            Verdict::Gap { last, lost } => {
                self.log(
                    Level::Warn,
                    format!("{lost} lost packet(s) for [{src}] [{last}:{seq}]"),
                );
            }
            Verdict::GapTooLarge { last, lost } => {
                if i != self.me {
                    self.note_loss(now);
                }
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
        if dev.is_some() {
            self.counters.accepted += 1;
        }
        // A fresh message is a sign of life (of a node not declared dead; a dead one
        // comes back only through a status).
        if i != self.me && (!dead || is_status) {
            self.peers[i].last_alive = Some(now);
        }
        self.maybe_ack(
            now,
            i,
            seq,
            matches!(verdict, Verdict::Filled { now_complete: true }),
        );
        self.deliver(now, i, seq, &t, src, &msg);
    }

    /// A fresh message: to the layer above (statuses and node lists handled here).
    fn deliver(&mut self, now: Instant, i: usize, seq: u64, t: &str, src: String, msg: &Message) {
        let is_status = t == "status";
        if is_status {
            // A status older than the last one processed (a retransmission or a late
            // copy) would set the node's state back: skip it. The original skips it only
            // when its `ts` is older too, which its one-second resolution rarely shows.
            if self.peers[i].last_status_seq.is_some_and(|oseq| seq < oseq) {
                return;
            }
        }
        if !self.for_us(msg) {
            return;
        }
        match t {
            "status" => self.on_status(now, i, seq, msg),
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
                    self.send_own(now, r);
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
                                    "node list of {src} [{}] differs from ours [{}]; keeping ours",
                                    hb_wire::printable(list.as_bytes()),
                                    ours.join(" ")
                                ),
                            );
                        }
                    }
                    self.comm_now_up(now);
                }
            }
            _ => self.events.push_back(Event::Message {
                from: src,
                msg: msg.clone(),
            }),
        }
    }

    /// A node declared dead is back with the same generation (a partition healed).
    fn partition_return(&mut self, src: &str) {
        self.log(
            Level::Crit,
            format!("Cluster node {src} returning after partition."),
        );
        self.log(Level::Warn, "Deadtime value may be too small.".to_string());
        self.events.push_back(Event::PartitionReturn {
            node: src.to_string(),
        });
    }

    /// Counts the copies of a peer's statuses: a peer that sends several (it finds the
    /// link lossy) but of which fewer arrive than it sends shows that the link still loses
    /// packets, though no status was lost whole. That keeps our own copies going too
    /// (without it, each side's copies would hide the loss from the other, and both would
    /// stop sending them while the loss goes on). The count sent is taken to be ours (the
    /// same ha.cf timing); the original never sends copies, so it never counts here.
    fn count_status_copies(&mut self, now: Instant, i: usize, seq: u64, fresh: bool) {
        let sends = self.cfg.timing.status_copies().0;
        let p = &mut self.peers[i];
        let (cseq, count) = p.copies_of;
        if fresh && seq > cseq {
            p.copies_of = (seq, 1);
            if (2..sends).contains(&count) {
                self.note_loss(now);
            }
        } else if seq == cseq {
            p.copies_of.1 += 1;
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
        self.send_own(now, m);
    }

    fn handle_control(&mut self, now: Instant, i: usize, t: &str, msg: &Message) {
        let src = self.peers[i].name.clone();
        match t {
            "NS_ackmsg" => {
                let Some(ack) = msg.get_hex("ackseq") else {
                    return;
                };
                if ack > self.seq {
                    let text = format!(
                        "HBDoMsg_T_ACK: corrupted ackseq current hiseq = {} ackseq = {ack} in this message",
                        self.seq
                    );
                    self.drop_log(now, DropKind::BadSeq, Level::Error, text);
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
                    let text = format!("Invalid rexmit seqnos from {src}");
                    self.drop_log(now, DropKind::BadSeq, Level::Error, text);
                    return;
                };
                // The peer misses some of ours: the link is lossy.
                self.note_loss(now);
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
                    // Every number after this one is above too: one refusal per request,
                    // and its line through the limiter (a flood of such requests wrote
                    // 50 lines per packet).
                    let text = format!("Rexmit of seq {s} requested. {max} is max.");
                    self.drop_log(now, DropKind::RexmitAboveMax, Level::Warn, text);
                    break;
                }
                Lookup::TooLow => "seqno too low",
                Lookup::NotFound => "seqno not found",
            };
            let text = format!("Cannot rexmit pkt {s} for {name}: {reason}");
            self.drop_log(now, DropKind::RexmitRefused, Level::Error, text);
            let mut m = Message::with_type("NS_nak_rexmit");
            m.push_str("firstseq", hex(s))
                .push_str("dest", &name)
                .push_str("info", reason);
            self.send_own(now, m);
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
        p.last_alive = Some(now);
        p.last_status_seq = Some(seq);
        if let Some(dt) = msg.get_hex("dt") {
            p.announced_dt = Some(Duration::from_millis(dt));
        }
        if i == self.me {
            self.events.push_back(Event::OwnHeartbeat);
            return;
        }
        let fields: Vec<(String, String)> = self
            .status_extra
            .iter()
            .filter_map(|(k, _)| msg.get(k).map(|v| (k.clone(), v.to_string())))
            .collect();
        self.peers[i].status_fields = fields;
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
        self.send_copies(now);
        self.flush_drop_logs(now);
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
                && now >= heard(p.last_alive.unwrap_or(self.started)) + dead
            {
                p.status = NodeStatus::Dead;
                // Its highest number is kept: replays of older ones stay refused.
                p.dead_floor = p.rx.last();
                p.rx.forget_missing();
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
            if !due.is_empty() {
                // Still missing after the first delay: lost, not just late.
                self.note_loss(now);
            }
            let name = self.peers[i].name.clone();
            for s in due {
                self.counters.rexmit_requested += 1;
                let mut m = Message::with_type("NS_rexmit");
                m.push_str("dest", &name)
                    .push_str("firstseq", s.to_string())
                    .push_str("lastseq", s.to_string());
                self.send_own(now, m);
            }
        }
    }

    /// Every ping node has answered or was declared dead (the daemon's ping machine,
    /// [`crate::pingnodes::PingNodes::all_heard_or_dead`], says so). Until then, with ping
    /// nodes configured, communication does not come up: the original counts ping nodes
    /// among the nodes it must have heard from or declared dead (check_comm_isup), so a
    /// node whose ping nodes do not answer stays `up` until `initdead` has passed.
    pub fn ping_nodes_known(&mut self, now: Instant) {
        if !self.ping_pending {
            return;
        }
        self.ping_pending = false;
        self.check_comm(now);
    }

    /// Communication comes up once every configured node, ping nodes included, was heard
    /// from or declared dead; we then ask one live peer for its node list (`reqnodes`),
    /// or go active at once when nobody is there to ask.
    fn check_comm(&mut self, now: Instant) {
        if self.comm_up || self.next_reqnodes.is_some() || self.ping_pending {
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
                self.send_own(now, m);
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
