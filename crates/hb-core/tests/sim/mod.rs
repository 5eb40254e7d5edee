//! A cluster of membership state machines in virtual time, over a seeded random network
//! (loss, duplication, delay and so reordering, partitions, crashes).
//!
//! Shaped after quinn-proto's test `Pair`: the harness owns a clock and every node; a
//! step delivers what is due, runs what timers are due, and jumps the clock straight to
//! the next thing that will happen.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use hb_core::rng::Rng;
use hb_core::timers::Timing;
use hb_core::{Event, Membership, MembershipConfig};
use hb_wire::{AuthMethod, KeyRing, SendForm};

pub const DEV: &str = "eth1";

#[derive(Clone, Debug)]
pub struct Net {
    /// Percent of datagrams lost.
    pub loss: u64,
    /// Percent of datagrams delivered twice.
    pub dup: u64,
    /// Highest one-way delay (uniform from 0).
    pub max_delay: Duration,
}

impl Net {
    /// No loss, no duplicates, a delay of at most `max_delay_ms`.
    pub fn clean(max_delay_ms: u64) -> Net {
        Net {
            loss: 0,
            dup: 0,
            max_delay: Duration::from_millis(max_delay_ms),
        }
    }
}

pub struct SimNode {
    pub m: Membership,
    pub alive: bool,
    /// Every event, with its virtual time.
    pub events: Vec<(Instant, Event)>,
    /// Per source node: (arrival time of the first copy, seq) of every status that arrived.
    pub statuses_in: Vec<Vec<(Instant, u64)>>,
    /// Every datagram this node sent, with its time (only when `Cluster::record` is set).
    pub sent: Vec<(Instant, Vec<u8>)>,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Reverse<Instant>,
    order: Reverse<u64>,
    to: usize,
    from: usize,
    bytes: Vec<u8>,
    /// The `seq` of a status message (read once when it is sent).
    status_seq: Option<u64>,
}

/// The `seq` of a status datagram, read without checking its digest (the harness's own
/// bookkeeping; the nodes authenticate every datagram themselves).
fn status_seq(bytes: &[u8]) -> Option<u64> {
    let (m, _) = hb_wire::parse_unauthenticated(bytes).ok()?;
    (m.msg_type() == Some("status")).then(|| m.get_hex("seq").unwrap_or(0))
}

pub struct Cluster {
    pub t0: Instant,
    pub now: Instant,
    pub nodes: Vec<SimNode>,
    pub names: Vec<String>,
    pub net: Net,
    pub rng: Rng,
    queue: BinaryHeap<InFlight>,
    order: u64,
    /// Pairs (a, b), a < b, that cannot talk.
    pub cut: BTreeSet<(usize, usize)>,
    pub keys: KeyRing,
    /// Keep every datagram sent in `SimNode::sent`.
    pub record: bool,
}

pub fn lab_timing() -> Timing {
    Timing {
        keepalive: Duration::from_millis(200),
        deadtime: Duration::from_secs(1),
        warntime: Duration::from_millis(500),
        initdead: Duration::from_secs(2),
        max_rexmit_delay: Duration::from_millis(250),
    }
}

/// One node of ours fed by hand, in virtual time (a two-node cluster `a`, `b`).
pub struct One {
    pub m: Membership,
    pub t0: Instant,
    pub now: Instant,
    pub events: Vec<(Instant, Event)>,
    /// Datagrams sent and not yet taken.
    pub out: Vec<Vec<u8>>,
}

impl One {
    pub fn new(name: &str, keys: KeyRing) -> One {
        Self::with_form(name, keys, SendForm::Netstring306)
    }

    pub fn with_form(name: &str, keys: KeyRing, send_form: SendForm) -> One {
        let t0 = Instant::now();
        let cfg = MembershipConfig {
            name: name.into(),
            nodes: vec!["a".into(), "b".into()],
            ping_nodes: 0,
            timing: lab_timing(),
            hopfudge: 1,
            keys,
            send_form,
            uuid: [name.as_bytes()[0]; 16],
            generation: 7,
            wall_clock_at_start: 1_795_561_537,
            seed: 11,
            log_bad_packets: true,
        };
        let mut o = One {
            m: Membership::new(cfg, t0),
            t0,
            now: t0,
            events: Vec::new(),
            out: Vec::new(),
        };
        o.drain();
        o
    }

    pub fn drain(&mut self) {
        while let Some(d) = self.m.poll_transmit() {
            self.out.push(d);
        }
        while let Some(d) = self.m.poll_status_copy() {
            self.out.push(d);
        }
        while let Some(e) = self.m.poll_event() {
            self.events.push((self.now, e));
        }
    }

    /// Runs the timers up to `t`.
    pub fn advance(&mut self, t: Instant) {
        while let Some(d) = self.m.poll_timeout().filter(|d| *d <= t) {
            self.now = self.now.max(d);
            self.m.handle_timeout(self.now);
            self.drain();
        }
        self.now = self.now.max(t);
    }

    pub fn deliver(&mut self, t: Instant, dev: &str, bytes: &[u8]) {
        self.advance(t);
        self.m.handle_datagram(self.now, dev, bytes);
        self.drain();
    }
}

impl Cluster {
    pub fn new(n: usize, net: Net, seed: u64) -> Cluster {
        Self::with_timing(n, net, seed, lab_timing())
    }

    pub fn with_timing(n: usize, net: Net, seed: u64, timing: Timing) -> Cluster {
        let t0 = Instant::now();
        let names: Vec<String> = (0..n)
            .map(|i| ((b'a' + i as u8) as char).to_string())
            .collect();
        let keys = KeyRing::single(1, AuthMethod::Crc).expect("crc ring");
        let mut rng = Rng::new(seed);
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let cfg = MembershipConfig {
                name: name.clone(),
                nodes: names.clone(),
                ping_nodes: 0,
                timing: timing.clone(),
                hopfudge: 1,
                keys: keys.clone(),
                send_form: if i % 2 == 0 {
                    SendForm::Classic
                } else {
                    SendForm::Netstring306
                },
                uuid: [i as u8 + 1; 16],
                generation: 100,
                wall_clock_at_start: 1_700_000_000,
                seed: rng.next_u64(),
                log_bad_packets: true,
            };
            nodes.push(SimNode {
                m: Membership::new(cfg, t0),
                alive: true,
                events: Vec::new(),
                statuses_in: vec![Vec::new(); n],
                sent: Vec::new(),
            });
        }
        let mut c = Cluster {
            t0,
            now: t0,
            nodes,
            names,
            net,
            rng,
            queue: BinaryHeap::new(),
            order: 0,
            cut: BTreeSet::new(),
            keys,
            record: false,
        };
        c.drain_all();
        c
    }

    pub fn idx(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .expect("node name")
    }

    fn blocked(&self, a: usize, b: usize) -> bool {
        self.cut.contains(&(a.min(b), a.max(b)))
    }

    pub fn partition(&mut self, a: usize, b: usize) {
        self.cut.insert((a.min(b), a.max(b)));
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Kills node `i` at the current time: it neither sends nor receives any more.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].alive = false;
    }

    /// Restarts node `i` with a higher generation (a new process, same uuid).
    pub fn restart(&mut self, i: usize, generation: u64) {
        let mut cfg = self.nodes[i].m.config().clone();
        cfg.generation = generation;
        cfg.seed = self.rng.next_u64();
        cfg.wall_clock_at_start += self.now.duration_since(self.t0).as_secs();
        self.nodes[i].m = Membership::new(cfg, self.now);
        self.nodes[i].alive = true;
        self.drain(i);
    }

    pub fn drain(&mut self, i: usize) {
        while let Some(ev) = self.nodes[i].m.poll_event() {
            self.nodes[i].events.push((self.now, ev));
        }
        let mut out = Vec::new();
        while let Some(d) = self.nodes[i].m.poll_transmit() {
            out.push(d);
        }
        // (one network medium: the extra status copies go out on it too)
        while let Some(d) = self.nodes[i].m.poll_status_copy() {
            out.push(d);
        }
        if !self.nodes[i].alive {
            return;
        }
        if self.record {
            let now = self.now;
            self.nodes[i]
                .sent
                .extend(out.iter().map(|d| (now, d.clone())));
        }
        let mut last: Option<(Vec<u8>, Option<u64>)> = None;
        for d in out {
            // Copies of a status are the same bytes: read them once.
            let seq = match &last {
                Some((b, s)) if *b == d => *s,
                _ => status_seq(&d),
            };
            last = Some((d.clone(), seq));
            for to in 0..self.nodes.len() {
                if to == i {
                    // The medium loops our own datagrams back (ucast to our own address).
                    self.push(self.now, i, i, d.clone(), None);
                    continue;
                }
                if self.blocked(i, to) || self.rng.below(100) < self.net.loss {
                    continue;
                }
                let copies = if self.rng.below(100) < self.net.dup {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let delay_ms = self.rng.below(self.net.max_delay.as_millis() as u64 + 1);
                    let at = self.now + Duration::from_millis(delay_ms);
                    self.push(at, i, to, d.clone(), seq);
                }
            }
        }
    }

    /// Delivers `bytes` to node `to` at time `at` as if node `from` had sent them (a replay
    /// by an attacker on the link when `from` is a dead node).
    pub fn inject(&mut self, at: Instant, from: usize, to: usize, bytes: Vec<u8>) {
        self.push(at, from, to, bytes, None);
    }

    fn push(
        &mut self,
        at: Instant,
        from: usize,
        to: usize,
        bytes: Vec<u8>,
        status_seq: Option<u64>,
    ) {
        self.order += 1;
        self.queue.push(InFlight {
            at: Reverse(at),
            order: Reverse(self.order),
            to,
            from,
            bytes,
            status_seq,
        });
    }

    fn drain_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
    }

    /// Advances to the next delivery or timer, but not past `limit`. Returns false when
    /// nothing is left before `limit`.
    pub fn step(&mut self, limit: Instant) -> bool {
        let next_packet = self.queue.peek().map(|p| p.at.0);
        let next_timer = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.m.poll_timeout())
            .min();
        let Some(next) = [next_packet, next_timer].into_iter().flatten().min() else {
            self.now = limit;
            return false;
        };
        if next > limit {
            self.now = limit;
            return false;
        }
        self.now = self.now.max(next);
        while self.queue.peek().is_some_and(|p| p.at.0 <= self.now) {
            let p = self.queue.pop().expect("peeked");
            // Datagrams already in flight when their sender crashed still arrive.
            if !self.nodes[p.to].alive {
                continue;
            }
            if let Some(seq) = p.status_seq {
                let log = &mut self.nodes[p.to].statuses_in[p.from];
                // Numbers only grow but for retransmissions: look at the recent end.
                if !log.iter().rev().take(64).any(|(_, s)| *s == seq) {
                    log.push((self.now, seq));
                }
            }
            self.nodes[p.to].m.handle_datagram(self.now, DEV, &p.bytes);
            self.drain(p.to);
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].alive
                && self.nodes[i]
                    .m
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now)
            {
                self.nodes[i].m.handle_timeout(self.now);
                self.drain(i);
            }
        }
        true
    }

    /// Runs until `d` of virtual time has passed.
    pub fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        let mut steps = 0u64;
        while self.step(limit) {
            steps += 1;
            assert!(steps < 10_000_000, "simulation does not progress");
        }
    }

    /// Times at which node `obs` declared node `subj` dead.
    pub fn deaths(&self, obs: usize, subj: usize) -> Vec<Instant> {
        let name = &self.names[subj];
        self.nodes[obs]
            .events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::NodeDead { node } if node == name => Some(*t),
                _ => None,
            })
            .collect()
    }

    pub fn status_of(&self, obs: usize, subj: usize) -> &'static str {
        self.nodes[obs]
            .m
            .peer(&self.names[subj])
            .map(|p| p.status.as_str())
            .unwrap_or("?")
    }

    /// The times that refreshed `subj` at `obs`: the first arrival of each status whose
    /// number is higher than every earlier one.
    pub fn refreshes(&self, obs: usize, subj: usize) -> Vec<Instant> {
        let mut best = 0;
        let mut out = Vec::new();
        for (t, s) in &self.nodes[obs].statuses_in[subj] {
            if *s > best {
                best = *s;
                out.push(*t);
            }
        }
        out
    }

    pub fn logs(&self, i: usize) -> Vec<String> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Log(l, s) => Some(format!(
                    "{:>8.3} {:?} {s}",
                    t.duration_since(self.t0).as_secs_f64(),
                    l
                )),
                _ => None,
            })
            .collect()
    }
}
