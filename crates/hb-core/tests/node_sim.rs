//! Whole nodes (membership + takeover) in virtual time over a lossy simulated network,
//! with a fake resource runner: the group runs on exactly one node after every settle,
//! moves at once when its holder dies, comes back with auto_failback on, and is handed
//! over on a clean shutdown before the leaver's heartbeats stop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use hb_core::holder::ProbeResult;
use hb_core::rng::Rng;
use hb_core::takeover::{AutoFailback, GroupDef, JobId, TakeoverConfig};
use hb_core::timers::Timing;
use hb_core::{MembershipConfig, Node, Output};
use hb_wire::{AuthMethod, KeyRing, SendForm};

const KEY: &str = "IPaddr::198.51.100.254/24/eth0";
const START_TIME: Duration = Duration::from_millis(80);
const STOP_TIME: Duration = Duration::from_millis(40);

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum What {
    Packet {
        to: usize,
        bytes: Vec<u8>,
    },
    Job {
        node: usize,
        job: u64,
        take: bool,
    },
    /// The end of an address probe of `node`: `answered` by the other node.
    Probe {
        node: usize,
        job: u64,
        answered: bool,
    },
}

/// A probe nobody answers takes this long (the daemon's: 3 ARP requests, then a wait).
const PROBE_TIME: Duration = Duration::from_millis(45);

struct Sim {
    t0: Instant,
    now: Instant,
    nodes: Vec<Option<Node>>,
    gens: Vec<u64>,
    holds: Vec<bool>,
    exited: Vec<bool>,
    queue: BinaryHeap<Reverse<(Instant, u64, What)>>,
    order: u64,
    rng: Rng,
    loss: u64,
    max_delay: u64,
    logs: Vec<Vec<String>>,
    fb: AutoFailback,
    /// Packets to node `i` from the other node are all lost (a one-way partition).
    cut_to: [bool; 2],
    /// The service network is cut too: address probes reach nobody.
    service_cut: bool,
    /// Node `i`'s process is stopped (SIGSTOP): it gets no input; packets to it wait.
    frozen: [bool; 2],
    /// Packets that arrived for a frozen node, delivered when it wakes.
    waiting: [Vec<Vec<u8>>; 2],
    /// Names the run in a panic of `run_for`.
    label: String,
}

impl Sim {
    fn new(seed: u64, loss: u64, max_delay: u64, fb: AutoFailback) -> Sim {
        let t0 = Instant::now();
        let mut s = Sim {
            t0,
            now: t0,
            nodes: vec![None, None],
            gens: vec![10, 10],
            holds: vec![false, false],
            exited: vec![false, false],
            queue: BinaryHeap::new(),
            order: 0,
            rng: Rng::new(seed),
            loss,
            max_delay,
            logs: vec![Vec::new(), Vec::new()],
            fb,
            cut_to: [false, false],
            service_cut: false,
            frozen: [false, false],
            waiting: [Vec::new(), Vec::new()],
            label: format!("seed {seed} ({fb:?}, loss {loss}%, delay {max_delay} ms)"),
        };
        s.boot(0);
        s.boot(1);
        s
    }

    fn name(i: usize) -> String {
        ["a", "b"][i].to_string()
    }

    fn boot(&mut self, i: usize) {
        self.gens[i] += 1;
        let m = MembershipConfig {
            name: Self::name(i),
            nodes: vec!["a".into(), "b".into()],
            ping_nodes: 0,
            timing: Timing {
                keepalive: Duration::from_millis(200),
                deadtime: Duration::from_secs(1),
                warntime: Duration::from_millis(500),
                initdead: Duration::from_secs(2),
                max_rexmit_delay: Duration::from_millis(250),
            },
            hopfudge: 1,
            keys: KeyRing::single(1, AuthMethod::Crc).expect("ring"),
            send_form: SendForm::Classic,
            uuid: [i as u8 + 1; 16],
            generation: self.gens[i],
            wall_clock_at_start: 1_700_000_000 + self.now.duration_since(self.t0).as_secs(),
            seed: self.rng.next_u64(),
            log_bad_packets: true,
        };
        let t = TakeoverConfig {
            me: Self::name(i),
            nodes: vec!["a".into(), "b".into()],
            groups: vec![GroupDef {
                node: "a".into(),
                key: KEY.into(),
                resources: vec![KEY.into()],
            }],
            auto_failback: self.fb,
        };
        self.nodes[i] = Some(Node::new(m, Some(t), self.now));
        self.exited[i] = false;
        self.drain(i);
    }

    fn crash(&mut self, i: usize) {
        self.nodes[i] = None;
        self.holds[i] = false; // a crashed machine holds nothing (its address is gone)
    }

    fn push(&mut self, at: Instant, w: What) {
        self.order += 1;
        self.queue.push(Reverse((at, self.order, w)));
    }

    fn drain(&mut self, i: usize) {
        loop {
            let Some(n) = self.nodes[i].as_mut() else {
                return;
            };
            let mut packets = Vec::new();
            while let Some(d) = n.poll_transmit() {
                packets.push(d);
            }
            // The extra status copies of a lossy link are left out: this harness is about
            // the resource layer, and its seeded scenarios (cable cut, frozen node) were
            // set against the packet stream without them (a returning node's messages
            // coming before its status upset the audit; see issue #16's report).
            // membership_sim.rs and lossy_sim.rs send them.
            while n.poll_status_copy().is_some() {}
            let mut outs = Vec::new();
            while let Some(o) = n.poll_output() {
                outs.push(o);
            }
            if packets.is_empty() && outs.is_empty() {
                return;
            }
            for p in packets {
                for to in 0..2 {
                    if to != i && (self.cut_to[to] || self.rng.below(100) < self.loss) {
                        continue;
                    }
                    let delay = if to == i {
                        0
                    } else {
                        self.rng.below(self.max_delay + 1)
                    };
                    self.push(
                        self.now + Duration::from_millis(delay),
                        What::Packet {
                            to,
                            bytes: p.clone(),
                        },
                    );
                }
            }
            for o in outs {
                match o {
                    Output::Log(_, s) => {
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        self.logs[i].push(format!("{t:8.3} {s}"));
                    }
                    Output::StartGroup { job, key } => {
                        assert_eq!(key, KEY);
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        self.logs[i].push(format!("{t:8.3} [start job {}]", job.0));
                        self.push(
                            self.now + START_TIME,
                            What::Job {
                                node: i,
                                job: job.0,
                                take: true,
                            },
                        );
                    }
                    Output::StopGroup { job, key } => {
                        assert_eq!(key, KEY);
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        self.logs[i].push(format!("{t:8.3} [stop job {}]", job.0));
                        self.push(
                            self.now + STOP_TIME,
                            What::Job {
                                node: i,
                                job: job.0,
                                take: false,
                            },
                        )
                    }
                    Output::ProbeGroup { job, key } => {
                        assert_eq!(key, KEY);
                        // The other node's kernel answers ARP for the address it holds
                        // (even while its daemon is stopped).
                        let answered = self.holds[1 - i] && !self.service_cut;
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        self.logs[i].push(format!("{t:8.3} [probe job {}]", job.0));
                        let after = if answered {
                            Duration::from_millis(1)
                        } else {
                            PROBE_TIME
                        };
                        self.push(
                            self.now + after,
                            What::Probe {
                                node: i,
                                job: job.0,
                                answered,
                            },
                        );
                    }
                    Output::AnnounceGroup { key } => {
                        assert_eq!(key, KEY);
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        self.logs[i].push(format!("{t:8.3} [announce]"));
                    }
                    Output::Exit => self.exited[i] = true,
                    Output::Restart => {
                        // The daemon re-executes itself: a new node, a new generation.
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        self.logs[i].push(format!("{t:8.3} [restart in place]"));
                        self.boot(i);
                        return;
                    }
                    Output::Delivered { from, msg } if std::env::var("NODE_SIM_TRACE").is_ok() => {
                        let t = self.now.duration_since(self.t0).as_secs_f64();
                        let fields: Vec<String> = msg
                            .fields
                            .iter()
                            .filter(|f| {
                                !matches!(
                                    f.name.as_slice(),
                                    b"src"
                                        | b"srcuuid"
                                        | b"destuuid"
                                        | b"hg"
                                        | b"ts"
                                        | b"ld"
                                        | b"ttl"
                                        | b"auth"
                                )
                            })
                            .map(|f| match &f.value {
                                hb_wire::Value::Str(v) => format!(
                                    "{}={}",
                                    String::from_utf8_lossy(&f.name),
                                    String::from_utf8_lossy(v)
                                ),
                                _ => String::from_utf8_lossy(&f.name).into_owned(),
                            })
                            .collect();
                        if msg.msg_type() != Some("status") {
                            self.logs[i].push(format!("{t:8.3} <- {from}: {}", fields.join(" ")));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let limit = self.now + d;
        for _ in 0..5_000_000 {
            let next_q = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let next_t = self
                .nodes
                .iter()
                .zip(self.frozen)
                .filter(|(_, f)| !f)
                .filter_map(|(n, _)| n.as_ref().and_then(|n| n.poll_timeout()))
                .min();
            let Some(next) = [next_q, next_t]
                .into_iter()
                .flatten()
                .min()
                .filter(|t| *t <= limit)
            else {
                self.now = limit;
                return;
            };
            self.now = self.now.max(next);
            while self
                .queue
                .peek()
                .is_some_and(|Reverse((t, _, _))| *t <= self.now)
            {
                let Some(Reverse((_, _, w))) = self.queue.pop() else {
                    break;
                };
                match w {
                    What::Packet { to, bytes } if self.frozen[to] => {
                        self.waiting[to].push(bytes);
                    }
                    What::Packet { to, bytes } => {
                        if let Some(n) = self.nodes[to].as_mut() {
                            if !self.exited[to] {
                                n.handle_datagram(self.now, "eth1", &bytes);
                            }
                        }
                        self.drain(to);
                    }
                    What::Probe {
                        node,
                        job,
                        answered,
                    } => {
                        if let Some(n) = self.nodes[node].as_mut() {
                            let result = if answered {
                                ProbeResult::Answered {
                                    addr: "198.51.100.254".into(),
                                    by: "02:00:00:00:00:0a".into(),
                                }
                            } else {
                                ProbeResult::Silent
                            };
                            n.probe_done(self.now, JobId(job), result);
                        }
                        self.drain(node);
                    }
                    What::Job { node, job, take } => {
                        if let Some(n) = self.nodes[node].as_mut() {
                            self.holds[node] = take;
                            n.group_done(self.now, JobId(job), true);
                        }
                        self.drain(node);
                    }
                }
            }
            for i in 0..2 {
                if self.frozen[i] {
                    continue;
                }
                if let Some(n) = self.nodes[i].as_mut() {
                    if n.poll_timeout().is_some_and(|t| t <= self.now) {
                        n.handle_timeout(self.now);
                    }
                }
                self.drain(i);
            }
        }
        panic!(
            "{}: simulation does not progress at {:?}\n{}",
            self.label,
            self.now.duration_since(self.t0),
            self.dump()
        );
    }

    /// SIGCONT: the woken node first reads what waits in its socket (as the daemon's
    /// loop does: readable sockets before timers), then its timers run.
    fn wake(&mut self, i: usize) {
        self.frozen[i] = false;
        for bytes in std::mem::take(&mut self.waiting[i]) {
            if let Some(n) = self.nodes[i].as_mut() {
                n.handle_datagram(self.now, "eth1", &bytes);
            }
            self.drain(i);
        }
    }

    fn holder(&self) -> &'static str {
        match (self.holds[0], self.holds[1]) {
            (true, false) => "a",
            (false, true) => "b",
            (true, true) => "both",
            (false, false) => "none",
        }
    }

    fn dump(&self) -> String {
        format!(
            "a:\n{}\nb:\n{}",
            self.logs[0].join("\n"),
            self.logs[1].join("\n")
        )
    }

    /// Runs for `d` in 10 ms steps; panics if both nodes run the group at any step.
    fn run_never_both(&mut self, d: Duration, ctx: &str) {
        let end = self.now + d;
        while self.now < end {
            self.run_for(Duration::from_millis(10));
            assert_ne!(self.holder(), "both", "{ctx}\n{}", self.dump());
        }
    }

    /// Runs until `who` holds the group, at most `max`; returns the time it took.
    fn until_holder(&mut self, who: &str, max: Duration) -> Option<Duration> {
        let start = self.now;
        while self.now < start + max {
            self.run_for(Duration::from_millis(10));
            if self.holder() == who {
                return Some(self.now.duration_since(start));
            }
        }
        None
    }
}

#[test]
fn start_crash_failback_shutdown() {
    let mut s = Sim::new(1, 0, 5, AutoFailback::On);
    assert!(
        s.until_holder("a", Duration::from_secs(15)).is_some(),
        "{}",
        s.dump()
    );
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.holder(), "a");
    s.crash(0);
    let took = s
        .until_holder("b", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{}", s.dump()));
    // Declared dead after deadtime (1 s) of silence, the address probed (silent), the
    // group started at once.
    assert!(
        took <= Duration::from_millis(1000 + 200 + 45 + 80 + 20),
        "took {took:?}\n{}",
        s.dump()
    );
    s.boot(0);
    assert!(
        s.until_holder("a", Duration::from_secs(20)).is_some(),
        "failback\n{}",
        s.dump()
    );
    s.run_for(Duration::from_secs(3));
    assert_eq!(s.holder(), "a");
    // Clean shutdown of a: b takes the group long before a's heartbeats would time out.
    if let Some(n) = s.nodes[0].as_mut() {
        n.shutdown(s.now);
    }
    s.drain(0);
    let took = s
        .until_holder("b", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{}", s.dump()));
    assert!(
        took < Duration::from_millis(800),
        "handover took {took:?}\n{}",
        s.dump()
    );
    s.run_for(Duration::from_secs(3));
    assert!(s.exited[0], "a exits after its shutdown\n{}", s.dump());
    assert_eq!(s.holder(), "b");
}

#[test]
fn auto_failback_off_stays() {
    let mut s = Sim::new(2, 0, 5, AutoFailback::Off);
    assert!(s.until_holder("a", Duration::from_secs(15)).is_some());
    s.run_for(Duration::from_secs(4));
    s.crash(0);
    assert!(s.until_holder("b", Duration::from_secs(5)).is_some());
    s.boot(0);
    s.run_for(Duration::from_secs(15));
    assert_eq!(s.holder(), "b", "{}", s.dump());
}

/// On lossy networks a node can be declared dead falsely (its heartbeats lost for a
/// whole deadtime), so who holds the group after a settle depends on the run; that one
/// node, and only one, holds it does not.
#[test]
fn lossy_networks_keep_one_holder() {
    // NODE_SIM_RUNS=N runs more (or fewer) seeds.
    let runs = std::env::var("NODE_SIM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 20 } else { 200 });
    for seed in 1..=runs {
        let mut r = Rng::new(seed);
        let loss = r.below(15);
        let delay = r.below(60);
        let fb = [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy][r.below(3) as usize];
        let mut s = Sim::new(seed, loss, delay, fb);
        let ctx = format!("seed {seed} ({fb:?}, loss {loss}%, delay {delay} ms)");
        s.run_for(Duration::from_secs(20));
        let h = s.holder();
        assert!(
            h == "a" || h == "b",
            "{ctx}: after start-up {h}\n{}",
            s.dump()
        );
        let holder = usize::from(h == "b");
        s.crash(holder);
        s.run_for(Duration::from_secs(4));
        let want = if holder == 0 { "b" } else { "a" };
        assert_eq!(
            s.holder(),
            want,
            "{ctx}: after the crash of the holder\n{}",
            s.dump()
        );
        s.boot(holder);
        s.run_for(Duration::from_secs(25));
        // Settle: the network stops losing packets; whatever a late false death set in
        // motion (a restart after a partition, a takeover) must end with one holder.
        s.loss = 0;
        s.run_for(Duration::from_secs(15));
        let h = s.holder();
        assert!(
            h == "a" || h == "b",
            "{ctx}: after the restart {h}\n{}",
            s.dump()
        );
    }
}

/// auto_failback legacy: the group is taken over when a crashes, and a restarted a
/// asks for it (`ip-request`); b releases it before it answers, a takes it: never on
/// both nodes, not even during the handover.
#[test]
fn legacy_crash_restart_gets_group_back() {
    let mut s = Sim::new(3, 0, 5, AutoFailback::Legacy);
    assert!(
        s.until_holder("a", Duration::from_secs(15)).is_some(),
        "{}",
        s.dump()
    );
    s.run_never_both(Duration::from_secs(5), "after start-up");
    assert_eq!(s.holder(), "a");
    s.crash(0);
    let took = s
        .until_holder("b", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{}", s.dump()));
    assert!(
        took <= Duration::from_millis(1000 + 200 + 45 + 80 + 20),
        "took {took:?}\n{}",
        s.dump()
    );
    s.boot(0);
    let mut back = false;
    for _ in 0..1000 {
        s.run_never_both(Duration::from_millis(10), "during the failback");
        if s.holder() == "a" {
            back = true;
            break;
        }
    }
    assert!(back, "the group comes back to a\n{}", s.dump());
    s.run_never_both(Duration::from_secs(10), "after the failback");
    assert_eq!(s.holder(), "a", "{}", s.dump());
    // The exchange of the original: a asks, b answers that it held the group.
    assert!(
        s.logs[0]
            .iter()
            .any(|l| l.ends_with(&format!("received ip-request-resp {KEY} OK yes"))),
        "{}",
        s.dump()
    );
}

/// Sets up a legacy cluster whose group runs on a, then loses every packet to the nodes
/// in `cut` for `for_ms`: those nodes declare the other dead (a false death) and take
/// over; then the network heals.
fn legacy_partition(seed: u64, cut: [bool; 2], for_ms: u64) -> Sim {
    let mut s = Sim::new(seed, 0, 5, AutoFailback::Legacy);
    assert!(
        s.until_holder("a", Duration::from_secs(15)).is_some(),
        "{}",
        s.dump()
    );
    // Past the start-up period, in which the nodes announce a longer dead time.
    s.run_for(Duration::from_secs(8));
    assert_eq!(s.holder(), "a");
    s.cut_to = cut;
    s.run_for(Duration::from_millis(for_ms));
    s.cut_to = [false, false];
    s
}

/// b alone declares a dead (a's heartbeats lost, b's still arrive) and takes the group
/// over while a still runs it; when a is heard again ("returning after partition"), b
/// gives the group back to its home node.
#[test]
fn legacy_one_way_false_death_heals() {
    let mut s = legacy_partition(4, [false, true], 1500);
    assert!(
        s.logs[1].iter().any(|l| l.ends_with("node a: is dead")),
        "{}",
        s.dump()
    );
    assert!(
        !s.logs[0].iter().any(|l| l.ends_with("node b: is dead")),
        "{}",
        s.dump()
    );
    assert!(
        s.until_holder("a", Duration::from_secs(5)).is_some(),
        "{}",
        s.dump()
    );
    s.run_never_both(Duration::from_secs(10), "after the partition healed");
    assert_eq!(s.holder(), "a", "{}", s.dump());
}

/// Both declare each other dead; b takes the group, a keeps it; after the heal only a
/// (its home) runs it.
#[test]
fn legacy_two_way_false_death_heals() {
    let mut s = legacy_partition(5, [true, true], 1500);
    for (i, other) in [(0, "b"), (1, "a")] {
        assert!(
            s.logs[i]
                .iter()
                .any(|l| l.ends_with(&format!("node {other}: is dead"))),
            "{}",
            s.dump()
        );
    }
    assert!(
        s.until_holder("a", Duration::from_secs(5)).is_some(),
        "{}",
        s.dump()
    );
    s.run_never_both(Duration::from_secs(10), "after the partition healed");
    assert_eq!(s.holder(), "a", "{}", s.dump());
}

// ---------------------------------------------------------------------------------------
// One holder of the address when the heartbeat path is cut (issue #12).

/// A cluster whose group runs on a, past the start-up period (nodes announce a longer
/// dead time for their first seconds).
fn settled_on_a(seed: u64, fb: AutoFailback) -> Sim {
    let mut s = Sim::new(seed, 0, 5, fb);
    assert!(
        s.until_holder("a", Duration::from_secs(15)).is_some(),
        "{}",
        s.dump()
    );
    s.run_for(Duration::from_secs(8));
    assert_eq!(s.holder(), "a");
    s
}

fn logged(s: &Sim, i: usize, text: &str) -> bool {
    s.logs[i].iter().any(|l| l.contains(text))
}

/// Runs `d` in 10 ms steps; returns the time with two holders and the time with none.
fn holder_times(s: &mut Sim, d: Duration) -> (Duration, Duration) {
    let (mut both, mut none) = (Duration::ZERO, Duration::ZERO);
    let end = s.now + d;
    let step = Duration::from_millis(10);
    while s.now < end {
        s.run_for(step);
        match s.holder() {
            "both" => both += step,
            "none" => none += step,
            _ => {}
        }
    }
    (both, none)
}

/// The heartbeat cable is pulled for 6 s with the address on a, then plugged back: both
/// nodes declare each other dead, but b's probe of the address is answered by a, so b
/// does not take it (it logs that once); at the heal nothing restarts and nothing moves.
#[test]
fn cable_cut_keeps_one_holder_and_nothing_restarts() {
    for fb in [AutoFailback::On, AutoFailback::Off] {
        let mut s = settled_on_a(11, fb);
        s.cut_to = [true, true];
        let (both, none) = holder_times(&mut s, Duration::from_secs(6));
        assert_eq!(
            (both, none),
            (Duration::ZERO, Duration::ZERO),
            "{fb:?}\n{}",
            s.dump()
        );
        assert!(logged(&s, 1, "node a: is dead"), "{}", s.dump());
        assert!(logged(&s, 0, "node b: is dead"), "{}", s.dump());
        let refusals = s.logs[1]
            .iter()
            .filter(|l| l.contains("Not taking resource group"))
            .count();
        assert_eq!(refusals, 1, "logged once\n{}", s.dump());
        let probes = s.logs[1]
            .iter()
            .filter(|l| l.contains("[probe job"))
            .count();
        assert!(probes >= 20, "keeps probing ({probes})\n{}", s.dump());
        s.cut_to = [false, false];
        let (both, none) = holder_times(&mut s, Duration::from_secs(10));
        assert_eq!(
            (both, none),
            (Duration::ZERO, Duration::ZERO),
            "{fb:?}\n{}",
            s.dump()
        );
        assert_eq!(s.holder(), "a");
        for i in 0..2 {
            assert!(
                !logged(&s, i, "[restart in place]"),
                "{fb:?}: nothing restarts\n{}",
                s.dump()
            );
            assert!(logged(&s, i, "is back without a restart"), "{}", s.dump());
            assert!(!logged(&s, i, "Both machines own"), "{}", s.dump());
        }
        // The probing stopped at the heal.
        let n = s.logs[1].len();
        s.run_for(Duration::from_secs(2));
        assert!(
            !s.logs[1][n..].iter().any(|l| l.contains("[probe job")),
            "{}",
            s.dump()
        );
        // The cluster works as before: a crash of a moves the address to b.
        s.crash(0);
        let took = s
            .until_holder("b", Duration::from_secs(3))
            .unwrap_or_else(|| panic!("{fb:?}: no takeover after the heal\n{}", s.dump()));
        assert!(
            took <= Duration::from_millis(1000 + 200 + 45 + 80 + 20),
            "{took:?}"
        );
    }
}

/// During the cut the holder crashes for real: b's next probe finds the address silent
/// and b takes it at once.
#[test]
fn holder_crashing_during_a_cut_is_taken_over_when_its_address_goes_silent() {
    let mut s = settled_on_a(12, AutoFailback::On);
    s.cut_to = [true, true];
    s.run_never_both(Duration::from_secs(3), "during the cut");
    assert_eq!(s.holder(), "a");
    s.crash(0);
    let took = s
        .until_holder("b", Duration::from_secs(2))
        .unwrap_or_else(|| panic!("{}", s.dump()));
    // At most one retry interval, one silent probe, the start.
    assert!(
        took <= Duration::from_millis(200 + 45 + 80 + 20),
        "{took:?}\n{}",
        s.dump()
    );
    assert!(logged(&s, 1, "no longer answer: taking it"), "{}", s.dump());
}

/// The service network is cut too (nobody answers the probe): both nodes hold the
/// address during the cut; at the heal exactly one keeps it within 1 s, the one
/// auto_failback names, and it re-announces the address once the other released it.
#[test]
fn double_takeover_heals_to_the_node_auto_failback_names() {
    for fb in [AutoFailback::On, AutoFailback::Off] {
        let mut s = settled_on_a(13, fb);
        s.cut_to = [true, true];
        s.service_cut = true;
        s.run_for(Duration::from_secs(3));
        assert_eq!(s.holder(), "both", "{fb:?}\n{}", s.dump());
        s.cut_to = [false, false];
        s.service_cut = false;
        let healed = s.now;
        // a is the home node (on) and the node that ran it before the cut (off).
        let mut one_at = None;
        while s.now < healed + Duration::from_secs(1) {
            s.run_for(Duration::from_millis(10));
            if s.holder() == "a" && one_at.is_none() {
                one_at = Some(s.now - healed);
            }
            assert_ne!(s.holder(), "none", "{fb:?}\n{}", s.dump());
            assert_ne!(s.holder(), "b", "{fb:?}\n{}", s.dump());
        }
        assert!(
            one_at.is_some(),
            "{fb:?}: one holder within 1 s\n{}",
            s.dump()
        );
        s.run_never_both(Duration::from_secs(10), "after the heal");
        assert_eq!(s.holder(), "a");
        assert!(logged(&s, 1, "releasing it, a keeps it"), "{}", s.dump());
        assert!(logged(&s, 0, "a keeps it"), "{}", s.dump());
        assert!(logged(&s, 0, "[announce]"), "{}", s.dump());
        for i in 0..2 {
            assert!(!logged(&s, i, "[restart in place]"), "{}", s.dump());
        }
    }
}

/// auto_failback off, the address on b (a crashed, restarted and left it there). A full
/// cut: a takes its own group back by force (its probe silent). At the heal b, which ran
/// it before the cut, keeps it; with auto_failback on a (its home) would.
#[test]
fn double_takeover_with_auto_failback_off_stays_where_it_was() {
    let mut s = settled_on_a(14, AutoFailback::Off);
    s.crash(0);
    assert!(s.until_holder("b", Duration::from_secs(3)).is_some());
    s.boot(0);
    s.run_for(Duration::from_secs(20));
    assert_eq!(s.holder(), "b", "{}", s.dump());
    s.cut_to = [true, true];
    s.service_cut = true;
    s.run_for(Duration::from_secs(3));
    assert_eq!(s.holder(), "both", "{}", s.dump());
    s.cut_to = [false, false];
    s.service_cut = false;
    let healed = s.now;
    assert!(
        s.until_holder("b", Duration::from_secs(1)).is_some(),
        "{}",
        s.dump()
    );
    assert!(s.now - healed <= Duration::from_secs(1));
    s.run_never_both(Duration::from_secs(10), "after the heal");
    assert_eq!(s.holder(), "b", "{}", s.dump());
    assert!(
        logged(&s, 0, "releasing it, b keeps it (auto_failback off"),
        "{}",
        s.dump()
    );
}

/// The holder's daemon is stopped (SIGSTOP) for 3 s: b declares it dead but a's kernel
/// still answers for the address, so b does not take it. When a wakes it reads b's
/// heartbeats waiting in its socket before its timers run, sees its timers overran and
/// does not declare b dead; b sees a back: nothing restarts, a keeps the address.
#[test]
fn frozen_holder_wakes_without_declaring_its_peer_dead() {
    let mut s = settled_on_a(15, AutoFailback::On);
    s.frozen[0] = true;
    s.run_never_both(Duration::from_secs(3), "while a is frozen");
    assert!(logged(&s, 1, "node a: is dead"), "{}", s.dump());
    assert!(logged(&s, 1, "Not taking resource group"), "{}", s.dump());
    s.wake(0);
    s.run_never_both(Duration::from_secs(10), "after a woke");
    assert_eq!(s.holder(), "a", "{}", s.dump());
    assert!(!logged(&s, 0, "node b: is dead"), "{}", s.dump());
    assert!(logged(&s, 0, "Our timers ran"), "{}", s.dump());
    assert!(!logged(&s, 0, "Late heartbeat"), "{}", s.dump());
    for i in 0..2 {
        assert!(!logged(&s, i, "[restart in place]"), "{}", s.dump());
        // b's claim while it waited on its probe is old news to a: no false alarm.
        assert!(!logged(&s, i, "Both machines own"), "{}", s.dump());
    }
}

/// Without the socket's backlog (a paused VM: nothing waited in its socket), the woken
/// node gives b a full dead time before judging it, and b's next heartbeats arrive in
/// time.
#[test]
fn frozen_node_with_an_empty_socket_gives_its_peer_a_grace_period() {
    let mut s = settled_on_a(16, AutoFailback::On);
    s.frozen[0] = true;
    s.run_for(Duration::from_secs(3));
    s.waiting[0].clear();
    s.wake(0);
    s.run_never_both(Duration::from_secs(5), "after a woke");
    assert!(!logged(&s, 0, "node b: is dead"), "{}", s.dump());
    assert_eq!(s.holder(), "a", "{}", s.dump());
}

/// A paused VM: its kernel does not answer ARP either, so b takes the address during the
/// pause. When a resumes both hold it; within 1 s only a (its home, auto_failback on)
/// does, and it re-announces the address.
#[test]
fn paused_holder_and_its_taker_settle_on_one_holder() {
    let mut s = settled_on_a(17, AutoFailback::On);
    s.frozen[0] = true;
    s.service_cut = true;
    s.run_for(Duration::from_secs(3));
    assert_eq!(s.holder(), "both", "{}", s.dump());
    s.service_cut = false;
    s.wake(0);
    assert!(
        s.until_holder("a", Duration::from_secs(1)).is_some(),
        "{}",
        s.dump()
    );
    s.run_never_both(Duration::from_secs(10), "after a woke");
    assert_eq!(s.holder(), "a");
    assert!(!logged(&s, 0, "node b: is dead"), "{}", s.dump());
    assert!(logged(&s, 0, "[announce]"), "{}", s.dump());
}

/// A stop during a restart in place (SIGHUP with a changed configuration, then SIGTERM
/// while the groups are being released or during the linger): the stop wins. The node
/// exits instead of restarting, and the peer keeps the group. The first version logged
/// "Heartbeat shutdown already underway.", restarted and took its group back.
#[test]
fn a_stop_during_a_restart_wins() {
    for delay_ms in [0, 30, 300, 1500, 1900] {
        let mut s = Sim::new(7, 0, 5, AutoFailback::On);
        assert!(
            s.until_holder("a", Duration::from_secs(15)).is_some(),
            "{}",
            s.dump()
        );
        s.run_for(Duration::from_secs(2));
        if let Some(n) = s.nodes[0].as_mut() {
            n.restart(s.now);
        }
        s.drain(0);
        s.run_for(Duration::from_millis(delay_ms));
        assert!(
            !s.exited[0],
            "still lingering at {delay_ms} ms\n{}",
            s.dump()
        );
        if let Some(n) = s.nodes[0].as_mut() {
            n.shutdown(s.now);
        }
        s.drain(0);
        s.run_for(Duration::from_secs(5));
        let ctx = format!("stop {delay_ms} ms into the restart\n{}", s.dump());
        assert!(s.exited[0], "{ctx}");
        assert!(
            !s.logs[0].iter().any(|l| l.contains("[restart in place]")),
            "{ctx}"
        );
        assert!(
            s.logs[0].iter().any(|l| l.contains("restart cancelled")),
            "{ctx}"
        );
        assert_eq!(s.holder(), "b", "{ctx}");
    }
}
