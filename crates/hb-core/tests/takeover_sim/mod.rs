//! A cluster of `Takeover` machines in virtual time, with a fake membership layer and a
//! fake resource runner.
//!
//! Each node's sent messages go to every other running node after `latency`, and to the
//! sender itself at once (as the daemon loops our own messages back). The fake runner
//! completes each StartGroup/StopGroup after a few milliseconds and tracks which node runs
//! which group. Membership is reduced to what the takeover layer sees: a node's peers
//! learn its start (statuses `init`, `up`, then `active`), its communication comes up one
//! second after its start, and a crashed or stopped node is declared dead `deadtime`
//! after its last heartbeat.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use hb_core::fence::FenceResult;
use hb_core::holder::ProbeResult;
use hb_core::rng::Rng;
use hb_core::takeover::{Action, AutoFailback, GroupDef, JobId, Takeover, TakeoverConfig};
use hb_core::Level;
use hb_wire::{Message, Value};

pub fn group(node: &str, key: &str) -> GroupDef {
    GroupDef {
        node: node.to_string(),
        key: key.to_string(),
        resources: vec![key.to_string()],
    }
}

/// The producer fields of a message as `name=value` words, e.g.
/// `t=resource rsc_hold=none rtype=full isstable=0`.
pub fn summary(m: &Message) -> String {
    m.fields
        .iter()
        .filter(|f| !matches!(f.name.as_slice(), b"src"))
        .map(|f| {
            let v = match &f.value {
                Value::Str(v) => String::from_utf8_lossy(v).into_owned(),
                other => format!("{other:?}"),
            };
            format!("{}={}", String::from_utf8_lossy(&f.name), v)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug)]
enum Ev {
    Deliver {
        to: usize,
        to_inc: u64,
        from: usize,
        msg: Message,
    },
    JobDone {
        node: usize,
        inc: u64,
        job: JobId,
        key: String,
        start: bool,
        ok: bool,
    },
    Status {
        to: usize,
        to_inc: u64,
        who: usize,
        st: &'static str,
    },
    Dead {
        to: usize,
        to_inc: u64,
        who: usize,
        who_inc: u64,
    },
    CommUp {
        node: usize,
        inc: u64,
    },
    ProbeDone {
        node: usize,
        inc: u64,
        job: JobId,
        result: ProbeResult,
    },
    /// A reset of `target` asked by `node` ends (the target is reset at that moment when
    /// it succeeds).
    FenceDone {
        node: usize,
        inc: u64,
        target: usize,
    },
    FenceStatusDone {
        node: usize,
        inc: u64,
    },
    /// `to` hears `who` again after having declared it dead (a partition healed).
    PartitionReturn {
        to: usize,
        to_inc: u64,
        who: usize,
    },
}

struct Queued {
    at: Reverse<Instant>,
    order: Reverse<u64>,
    ev: Ev,
}
impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.order == o.order
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(o.at, o.order))
    }
}

pub struct SimNode {
    pub tk: Option<Takeover>,
    /// The process runs (started, not crashed, not exited).
    pub up: bool,
    /// Bumped at every start; events for older incarnations are dropped.
    pub inc: u64,
    /// Groups the fake runner has running on this node.
    pub running: BTreeSet<String>,
    /// Jobs in flight: key -> job.
    pub jobs: BTreeMap<String, JobId>,
    pub comm_up: bool,
    /// Peers this node's membership declared dead (and not seen starting since).
    pub declared_dead: BTreeSet<usize>,
    /// The process is stopped (SIGSTOP): it handles nothing, its groups keep running.
    pub frozen: bool,
}

/// One recorded output.
#[derive(Clone, Debug)]
pub struct Rec {
    pub at: Duration,
    pub node: usize,
    pub action: Action,
}

pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub names: Vec<String>,
    pub groups: Vec<GroupDef>,
    pub mode: AutoFailback,
    pub nodes: Vec<SimNode>,
    pub rng: Rng,
    pub latency: Duration,
    /// Group jobs take a uniform time in [job_min, job_max].
    pub job_min: Duration,
    pub job_max: Duration,
    pub deadtime: Duration,
    /// (node, key) -> number of starts still to fail.
    pub fail_starts: BTreeMap<(usize, String), u32>,
    /// Every action of every node, in order.
    pub trace: Vec<Rec>,
    /// Broken rules seen on the way (a group started on two running nodes, a second job
    /// for a group with one in flight, a node exiting with groups running).
    pub violations: Vec<String>,
    /// The service network is cut too: address probes reach nobody.
    pub service_cut: bool,
    /// How long a probe nobody answers takes.
    pub probe_time: Duration,
    /// Every node has a STONITH device.
    pub fencing: bool,
    /// How long a reset takes.
    pub fence_time: Duration,
    /// How many resets fail before one succeeds (`u32::MAX`: every one fails).
    pub fence_failures: u32,
    /// Whether the device's status check succeeds.
    pub fence_status_ok: bool,
    /// Events for frozen nodes, handled when they are thawed.
    deferred: Vec<Ev>,
    queue: BinaryHeap<Queued>,
    order: u64,
}

impl Sim {
    pub fn new(names: &[&str], groups: Vec<GroupDef>, mode: AutoFailback, seed: u64) -> Sim {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            names: names.iter().map(|s| s.to_string()).collect(),
            groups,
            mode,
            nodes: names
                .iter()
                .map(|_| SimNode {
                    tk: None,
                    up: false,
                    inc: 0,
                    running: BTreeSet::new(),
                    jobs: BTreeMap::new(),
                    comm_up: false,
                    declared_dead: BTreeSet::new(),
                    frozen: false,
                })
                .collect(),
            rng: Rng::new(seed),
            latency: Duration::from_millis(1),
            job_min: Duration::from_millis(5),
            job_max: Duration::from_millis(5),
            deadtime: Duration::from_secs(1),
            fail_starts: BTreeMap::new(),
            trace: Vec::new(),
            violations: Vec::new(),
            service_cut: false,
            probe_time: Duration::from_millis(45),
            fencing: false,
            fence_time: Duration::from_secs(2),
            fence_failures: 0,
            fence_status_ok: true,
            deferred: Vec::new(),
            queue: BinaryHeap::new(),
            order: 0,
        }
    }

    pub fn secs(&self, s: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(s)
    }

    pub fn idx(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .expect("node name")
    }

    fn push(&mut self, at: Instant, ev: Ev) {
        self.order += 1;
        self.queue.push(Queued {
            at: Reverse(at),
            order: Reverse(self.order),
            ev,
        });
    }

    pub fn tk(&self, i: usize) -> &Takeover {
        self.nodes[i].tk.as_ref().expect("node was started")
    }

    // ------------------------------------------------------------- operations

    /// Starts node `i` now; its communication comes up after `comm_delay`.
    pub fn start_after(&mut self, i: usize, comm_delay: Duration) {
        assert!(!self.nodes[i].up, "node {i} already up");
        let cfg = TakeoverConfig {
            me: self.names[i].clone(),
            nodes: self.names.clone(),
            groups: self.groups.clone(),
            auto_failback: self.mode,
        };
        let n = &mut self.nodes[i];
        n.inc += 1;
        n.up = true;
        n.comm_up = false;
        n.running.clear();
        n.jobs.clear();
        n.declared_dead.clear();
        n.frozen = false;
        let mut tk = Takeover::new(cfg, self.now);
        tk.set_fencing(self.fencing);
        n.tk = Some(tk);
        let inc = n.inc;
        for other in self.nodes.iter_mut() {
            other.declared_dead.remove(&i);
        }
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].up {
                // The new node hears the running ones' heartbeats before its
                // communication comes up.
                let st = if self.nodes[j].comm_up {
                    "active"
                } else {
                    "up"
                };
                let now = self.now;
                self.push(
                    now,
                    Ev::Status {
                        to: i,
                        to_inc: inc,
                        who: j,
                        st,
                    },
                );
                let to_inc = self.nodes[j].inc;
                let now = self.now;
                self.push(
                    now,
                    Ev::Status {
                        to: j,
                        to_inc,
                        who: i,
                        st: "init",
                    },
                );
                self.push(
                    now,
                    Ev::Status {
                        to: j,
                        to_inc,
                        who: i,
                        st: "up",
                    },
                );
            }
        }
        let at = self.now + comm_delay;
        self.push(at, Ev::CommUp { node: i, inc });
    }

    pub fn start(&mut self, i: usize) {
        self.start_after(i, Duration::from_secs(1));
    }

    /// The process of node `i` is stopped (SIGSTOP): it does nothing, its groups keep
    /// running (their addresses answer), its peers declare it dead after the dead time.
    pub fn freeze(&mut self, i: usize) {
        assert!(self.nodes[i].up && !self.nodes[i].frozen);
        self.nodes[i].frozen = true;
        self.announce_death(i);
    }

    /// A frozen node goes on: what waited for it is handled now; the peers that declared
    /// it dead hear it again, still active (a partition return); itself behaves as a node
    /// back from a stall towards its peers.
    pub fn thaw(&mut self, i: usize) {
        assert!(self.nodes[i].frozen);
        self.nodes[i].frozen = false;
        let now = self.now;
        for ev in std::mem::take(&mut self.deferred) {
            self.push(now, ev);
        }
        let mut peers = Vec::new();
        for j in 0..self.nodes.len() {
            if j == i || !self.nodes[j].up {
                continue;
            }
            peers.push(self.names[j].clone());
            if self.nodes[j].declared_dead.remove(&i) {
                let to_inc = self.nodes[j].inc;
                self.push(
                    now,
                    Ev::Status {
                        to: j,
                        to_inc,
                        who: i,
                        st: "active",
                    },
                );
                self.push(
                    now,
                    Ev::PartitionReturn {
                        to: j,
                        to_inc,
                        who: i,
                    },
                );
            }
        }
        if let Some(tk) = self.nodes[i].tk.as_mut() {
            tk.resumed(now, &peers);
        }
        self.drain(i);
    }

    /// The process of node `i` dies with its resources (links down + kill).
    pub fn crash(&mut self, i: usize) {
        assert!(self.nodes[i].up);
        if self.nodes[i].frozen {
            // Killed while stopped: it was declared dead already (or will be).
            self.nodes[i].frozen = false;
            self.nodes[i].up = false;
            self.nodes[i].running.clear();
            self.nodes[i].jobs.clear();
            return;
        }
        self.nodes[i].up = false;
        self.nodes[i].running.clear();
        self.nodes[i].jobs.clear();
        self.announce_death(i);
    }

    fn announce_death(&mut self, i: usize) {
        let who_inc = self.nodes[i].inc;
        let at = self.now + self.deadtime;
        for j in 0..self.nodes.len() {
            if j != i && self.nodes[j].up {
                let to_inc = self.nodes[j].inc;
                self.push(
                    at,
                    Ev::Dead {
                        to: j,
                        to_inc,
                        who: i,
                        who_inc,
                    },
                );
            }
        }
    }

    pub fn shutdown(&mut self, i: usize) {
        let now = self.now;
        if let Some(tk) = self.nodes[i].tk.as_mut() {
            tk.shutdown(now);
        }
        self.drain(i);
    }

    pub fn standby(&mut self, i: usize, set: &str) {
        let now = self.now;
        if let Some(tk) = self.nodes[i].tk.as_mut() {
            tk.standby(now, set);
        }
        self.drain(i);
    }

    pub fn takeover(&mut self, i: usize, set: &str) {
        let now = self.now;
        if let Some(tk) = self.nodes[i].tk.as_mut() {
            tk.takeover(now, set);
        }
        self.drain(i);
    }

    /// Node `i` gives `key` to `to` (a failing service check); returns what the machine said.
    pub fn give_group(&mut self, i: usize, key: &str, to: &str) -> bool {
        let now = self.now;
        let done = self.nodes[i]
            .tk
            .as_mut()
            .is_some_and(|tk| tk.give_group(now, key, to));
        self.drain(i);
        done
    }

    /// Node `i` asks for `key` back.
    pub fn ask_group(&mut self, i: usize, key: &str) -> bool {
        let now = self.now;
        let done = self.nodes[i]
            .tk
            .as_mut()
            .is_some_and(|tk| tk.ask_group(now, key));
        self.drain(i);
        done
    }

    // ------------------------------------------------------------- engine

    /// Hands out node `i`'s actions: messages to the network (and back to itself at
    /// once), jobs to the fake runner.
    fn drain(&mut self, i: usize) {
        loop {
            if !self.nodes[i].up || self.nodes[i].frozen {
                return;
            }
            let Some(a) = self.nodes[i].tk.as_mut().and_then(|t| t.poll_action()) else {
                return;
            };
            self.trace.push(Rec {
                at: self.now - self.t0,
                node: i,
                action: a.clone(),
            });
            match a {
                Action::Send(m) => {
                    let mut m = m;
                    m.push_str("src", &self.names[i]);
                    for j in 0..self.nodes.len() {
                        if j != i && self.nodes[j].up {
                            let at = self.now + self.latency;
                            let to_inc = self.nodes[j].inc;
                            self.push(
                                at,
                                Ev::Deliver {
                                    to: j,
                                    to_inc,
                                    from: i,
                                    msg: m.clone(),
                                },
                            );
                        }
                    }
                    let now = self.now;
                    let me = self.names[i].clone();
                    if let Some(tk) = self.nodes[i].tk.as_mut() {
                        tk.message(now, &me, &m);
                    }
                }
                Action::StartGroup { job, key } => self.job(i, job, key, true),
                Action::StopGroup { job, key } => self.job(i, job, key, false),
                Action::Probe { job, key } => {
                    // Another running node that runs the group answers at once (unless
                    // the service network is cut); else the probe ends silent.
                    let holder = (0..self.nodes.len()).find(|&j| {
                        j != i && self.nodes[j].up && self.nodes[j].running.contains(&key)
                    });
                    let (after, result) = match holder {
                        Some(j) if !self.service_cut => (
                            Duration::from_millis(1),
                            ProbeResult::Answered {
                                addr: key.clone(),
                                by: self.names[j].clone(),
                            },
                        ),
                        _ => (self.probe_time, ProbeResult::Silent),
                    };
                    let at = self.now + after;
                    let inc = self.nodes[i].inc;
                    self.push(
                        at,
                        Ev::ProbeDone {
                            node: i,
                            inc,
                            job,
                            result,
                        },
                    );
                }
                Action::Announce { .. } => {}
                Action::Fence { node } => {
                    let target = self.idx(&node);
                    let at = self.now + self.fence_time;
                    let inc = self.nodes[i].inc;
                    self.push(
                        at,
                        Ev::FenceDone {
                            node: i,
                            inc,
                            target,
                        },
                    );
                }
                Action::FenceStatus => {
                    let at = self.now + Duration::from_secs(1);
                    let inc = self.nodes[i].inc;
                    self.push(at, Ev::FenceStatusDone { node: i, inc });
                }
                Action::Log(..) => {}
                Action::ShutdownComplete => {
                    if !self.nodes[i].running.is_empty() || !self.nodes[i].jobs.is_empty() {
                        self.violations.push(format!(
                            "{:?}: node {} exited with {:?} running, jobs {:?}",
                            self.now - self.t0,
                            self.names[i],
                            self.nodes[i].running,
                            self.nodes[i].jobs
                        ));
                    }
                    self.nodes[i].up = false;
                    self.nodes[i].running.clear();
                    self.announce_death(i);
                    return;
                }
            }
        }
    }

    fn job(&mut self, i: usize, job: JobId, key: String, start: bool) {
        if self.nodes[i].jobs.contains_key(&key) {
            self.violations.push(format!(
                "{:?}: node {} got a second job for {key}",
                self.now - self.t0,
                self.names[i]
            ));
        }
        self.nodes[i].jobs.insert(key.clone(), job);
        let span = self.job_max.saturating_sub(self.job_min).as_micros() as u64;
        let d = self.job_min + Duration::from_micros(self.rng.below(span + 1));
        let mut ok = true;
        if start {
            if let Some(n) = self.fail_starts.get_mut(&(i, key.clone())) {
                if *n > 0 {
                    *n -= 1;
                    ok = false;
                }
            }
        }
        let at = self.now + d;
        let inc = self.nodes[i].inc;
        self.push(
            at,
            Ev::JobDone {
                node: i,
                inc,
                job,
                key,
                start,
                ok,
            },
        );
    }

    fn process(&mut self, ev: Ev) {
        let now = self.now;
        let to = match &ev {
            Ev::Deliver { to, .. } | Ev::Status { to, .. } | Ev::Dead { to, .. } => *to,
            Ev::PartitionReturn { to, .. } => *to,
            Ev::JobDone { node, .. }
            | Ev::CommUp { node, .. }
            | Ev::ProbeDone { node, .. }
            | Ev::FenceDone { node, .. }
            | Ev::FenceStatusDone { node, .. } => *node,
        };
        if self.nodes[to].frozen {
            self.deferred.push(ev);
            return;
        }
        match ev {
            Ev::Deliver {
                to,
                to_inc,
                from,
                msg,
            } => {
                if !self.nodes[to].up || self.nodes[to].inc != to_inc {
                    return;
                }
                let name = self.names[from].clone();
                if let Some(tk) = self.nodes[to].tk.as_mut() {
                    tk.message(now, &name, &msg);
                }
                self.drain(to);
            }
            Ev::JobDone {
                node,
                inc,
                job,
                key,
                start,
                ok,
            } => {
                if !self.nodes[node].up || self.nodes[node].inc != inc {
                    return;
                }
                self.nodes[node].jobs.remove(&key);
                if start && ok {
                    for j in 0..self.nodes.len() {
                        if j != node && self.nodes[j].up && self.nodes[j].running.contains(&key) {
                            self.violations.push(format!(
                                "{:?}: {key} started on {} while running on {}",
                                now - self.t0,
                                self.names[node],
                                self.names[j]
                            ));
                        }
                    }
                    self.nodes[node].running.insert(key);
                } else {
                    self.nodes[node].running.remove(&key);
                }
                if let Some(tk) = self.nodes[node].tk.as_mut() {
                    tk.group_done(now, job, ok);
                }
                self.drain(node);
            }
            Ev::Status {
                to,
                to_inc,
                who,
                st,
            } => {
                if !self.nodes[to].up || self.nodes[to].inc != to_inc {
                    return;
                }
                let name = self.names[who].clone();
                if let Some(tk) = self.nodes[to].tk.as_mut() {
                    tk.node_status(now, &name, st);
                }
                self.drain(to);
            }
            Ev::Dead {
                to,
                to_inc,
                who,
                who_inc,
            } => {
                if !self.nodes[to].up || self.nodes[to].inc != to_inc {
                    return;
                }
                if self.nodes[who].inc != who_inc
                    || (self.nodes[who].up && !self.nodes[who].frozen)
                    || !self.nodes[to].declared_dead.insert(who)
                {
                    return;
                }
                let name = self.names[who].clone();
                if let Some(tk) = self.nodes[to].tk.as_mut() {
                    tk.node_status(now, &name, "dead");
                    tk.node_dead(now, &name);
                }
                self.drain(to);
            }
            Ev::ProbeDone {
                node,
                inc,
                job,
                result,
            } => {
                if !self.nodes[node].up || self.nodes[node].inc != inc {
                    return;
                }
                if let Some(tk) = self.nodes[node].tk.as_mut() {
                    tk.probe_done(now, job, result);
                }
                self.drain(node);
            }
            Ev::FenceDone { node, inc, target } => {
                if !self.nodes[node].up || self.nodes[node].inc != inc {
                    return;
                }
                let result = if self.fence_failures > 0 {
                    if self.fence_failures != u32::MAX {
                        self.fence_failures -= 1;
                    }
                    FenceResult::Failed
                } else {
                    if self.nodes[target].up {
                        // The reset: the node is gone, its groups with it.
                        self.crash(target);
                    }
                    FenceResult::Ok
                };
                let name = self.names[target].clone();
                if let Some(tk) = self.nodes[node].tk.as_mut() {
                    tk.fence_done(now, &name, result);
                }
                self.drain(node);
            }
            Ev::FenceStatusDone { node, inc } => {
                if !self.nodes[node].up || self.nodes[node].inc != inc {
                    return;
                }
                let ok = self.fence_status_ok;
                if let Some(tk) = self.nodes[node].tk.as_mut() {
                    tk.fence_status_done(now, ok);
                }
                self.drain(node);
            }
            Ev::PartitionReturn { to, to_inc, who } => {
                if !self.nodes[to].up || self.nodes[to].inc != to_inc || !self.nodes[who].up {
                    return;
                }
                let name = self.names[who].clone();
                if let Some(tk) = self.nodes[to].tk.as_mut() {
                    tk.partition_return(now, &name);
                }
                self.drain(to);
            }
            Ev::CommUp { node, inc } => {
                if !self.nodes[node].up || self.nodes[node].inc != inc {
                    return;
                }
                // Nodes not running are declared dead (initdead), then comm comes up.
                let mut alive = Vec::new();
                for j in 0..self.nodes.len() {
                    if j == node {
                        continue;
                    }
                    if self.nodes[j].up {
                        alive.push(self.names[j].clone());
                    } else if self.nodes[node].declared_dead.insert(j) {
                        let name = self.names[j].clone();
                        if let Some(tk) = self.nodes[node].tk.as_mut() {
                            tk.node_dead(now, &name);
                        }
                        self.drain(node);
                    }
                }
                self.nodes[node].comm_up = true;
                if let Some(tk) = self.nodes[node].tk.as_mut() {
                    tk.comm_up(now, &alive);
                }
                self.drain(node);
                for j in 0..self.nodes.len() {
                    if j != node && self.nodes[j].up {
                        let to_inc = self.nodes[j].inc;
                        self.push(
                            now,
                            Ev::Status {
                                to: j,
                                to_inc,
                                who: node,
                                st: "active",
                            },
                        );
                    }
                }
            }
        }
    }

    /// The next instant something happens, and whether it is a node's timer.
    fn next(&self) -> Option<(Instant, Option<usize>)> {
        let mut best: Option<(Instant, Option<usize>)> = self.queue.peek().map(|q| (q.at.0, None));
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.up || n.frozen {
                continue;
            }
            if let Some(t) = n.tk.as_ref().and_then(|t| t.poll_timeout()) {
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, Some(i)));
                }
            }
        }
        best
    }

    /// Does the next thing; false when nothing is left.
    pub fn step(&mut self) -> bool {
        let Some((t, timer)) = self.next() else {
            return false;
        };
        if t > self.now {
            self.now = t;
        }
        match timer {
            Some(i) => {
                let now = self.now;
                if let Some(tk) = self.nodes[i].tk.as_mut() {
                    tk.handle_timeout(now);
                }
                self.drain(i);
            }
            None => {
                if let Some(q) = self.queue.pop() {
                    self.process(q.ev);
                }
            }
        }
        true
    }

    /// Runs everything due up to `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while let Some((n, _)) = self.next() {
            if n > t {
                break;
            }
            self.step();
        }
        if t > self.now {
            self.now = t;
        }
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Runs until nothing is pending (timers included) or `limit` of virtual time has
    /// passed. Returns whether it settled.
    pub fn settle_within(&mut self, limit: Duration) -> bool {
        let end = self.now + limit;
        let mut steps = 0u32;
        while let Some((n, _)) = self.next() {
            if n > end || steps > 2_000_000 {
                return false;
            }
            self.step();
            steps += 1;
        }
        true
    }

    pub fn settle(&mut self) -> bool {
        self.settle_within(Duration::from_secs(3 * 3600))
    }

    // ------------------------------------------------------------- checks

    /// Which running nodes run `key`.
    pub fn holders(&self, key: &str) -> Vec<String> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up && self.nodes[i].running.contains(key))
            .map(|i| self.names[i].clone())
            .collect()
    }

    /// Every group runs on exactly one running node, and every node's own idea of what it
    /// runs matches the runner's. Returns the problems found.
    pub fn check_exactly_one(&self) -> Vec<String> {
        let mut bad = Vec::new();
        if !self.nodes.iter().any(|n| n.up) {
            return bad;
        }
        for g in &self.groups {
            let h = self.holders(&g.key);
            if h.len() != 1 {
                bad.push(format!("{} runs on {:?}", g.key, h));
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.up {
                continue;
            }
            let mine: BTreeSet<String> = self
                .tk(i)
                .running_groups()
                .into_iter()
                .map(|s| s.to_string())
                .collect();
            if mine != n.running {
                bad.push(format!(
                    "{} thinks it runs {:?}, runner has {:?}",
                    self.names[i], mine, n.running
                ));
            }
        }
        bad.extend(self.violations.iter().cloned());
        bad
    }

    /// Messages sent by node `i` (summaries), with their time.
    pub fn sent(&self, i: usize) -> Vec<(Duration, String)> {
        self.trace
            .iter()
            .filter(|r| r.node == i)
            .filter_map(|r| match &r.action {
                Action::Send(m) => Some((r.at, summary(m))),
                _ => None,
            })
            .collect()
    }

    pub fn sent_since(&self, i: usize, since: Duration) -> Vec<String> {
        self.sent(i)
            .into_iter()
            .filter(|(t, _)| *t >= since)
            .map(|(_, s)| s)
            .collect()
    }

    pub fn logs(&self, i: usize) -> Vec<(Duration, Level, String)> {
        self.trace
            .iter()
            .filter(|r| r.node == i)
            .filter_map(|r| match &r.action {
                Action::Log(l, s) => Some((r.at, *l, s.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn logged(&self, i: usize, text: &str) -> bool {
        self.logs(i).iter().any(|(_, _, s)| s.contains(text))
    }

    /// Times at which node `i` produced an action `pick` selects.
    pub fn times_of(&self, i: usize, pick: impl Fn(&Action) -> bool) -> Vec<Duration> {
        self.trace
            .iter()
            .filter(|r| r.node == i && pick(&r.action))
            .map(|r| r.at)
            .collect()
    }

    /// Times at which node `i` was asked to start `key`.
    pub fn starts_of(&self, i: usize, key: &str) -> Vec<Duration> {
        self.times_of(
            i,
            |a| matches!(a, Action::StartGroup { key: k, .. } if k == key),
        )
    }

    /// Times at which node `i` asked for a reset of `target`.
    pub fn fences_of(&self, i: usize, target: &str) -> Vec<Duration> {
        self.times_of(i, |a| matches!(a, Action::Fence { node } if node == target))
    }

    /// Times at which node `i` was asked to stop `key`.
    pub fn stops_of(&self, i: usize, key: &str) -> Vec<Duration> {
        self.times_of(
            i,
            |a| matches!(a, Action::StopGroup { key: k, .. } if k == key),
        )
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// A compact dump of the trace, for failure messages.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for r in &self.trace {
            let what = match &r.action {
                Action::Send(m) => format!("send {}", summary(m)),
                Action::StartGroup { job, key } => format!("START {key} job {}", job.0),
                Action::StopGroup { job, key } => format!("STOP {key} job {}", job.0),
                Action::Log(l, t) => format!("log {l:?} {t}"),
                Action::ShutdownComplete => "SHUTDOWN COMPLETE".to_string(),
                Action::Probe { job, key } => format!("PROBE {key} job {}", job.0),
                Action::Announce { key } => format!("ANNOUNCE {key}"),
                Action::Fence { node } => format!("FENCE {node}"),
                Action::FenceStatus => "FENCE STATUS".to_string(),
            };
            s.push_str(&format!(
                "{:>10.4} {} {}\n",
                r.at.as_secs_f64(),
                self.names[r.node],
                what
            ));
        }
        s
    }
}
