//! The v1 (haresources) resource takeover protocol of one node, as a sans-IO state machine.
//!
//! This is the resource layer only: the membership layer (heartbeats, node liveness,
//! sequencing) feeds it `comm_up`, `node_dead`, `node_status` and every resource message
//! (our own included, when they loop back), and sends the messages it produces. It runs
//! no process either: it asks the daemon to start or stop a resource group
//! ([`Action::StartGroup`], [`Action::StopGroup`]) and is told when that job ended
//! ([`Takeover::group_done`]).
//!
//! The protocol is the one of heartbeat 2.0.8's `hb_resource.c` and its shell helpers
//! (`req_resource`, `mach_down`, `hb_standby`, rc.d `ip-request`, `ip-request-resp`,
//! `hb_takeover`), reproduced so that our node and an original node interoperate:
//! the same messages with the same fields in the same order, the same state variables
//! (what I hold, what the other holds, whether it is stable, the resource state and the
//! standby state), the same timers (10 s after the first `resource` message, 10 s and 1 h
//! for standby, 1 s auto-failback retries, 30 s standby after a failed start) and the same
//! log lines. Where the original forks a child that runs scripts (req_our_resources,
//! go_standby, the shutdown child, mach_down, rc.d scripts), we queue a *work item* whose
//! group jobs the daemon runs directly; work items that stand for forked children start at
//! once, those that stand for rc.d runs wait until no other work runs, as in the original.
//!
//! The protocol itself is described in PROTOCOL.md section 6 (reference material of the
//! project).
//!
//! # Driving it
//! Feed every input with the current time; after each, drain [`Takeover::poll_action`]
//! and call [`Takeover::handle_timeout`] at [`Takeover::poll_timeout`]. Give every message
//! we send back to [`Takeover::message`] once it is sent (the original processes its own
//! messages too: our own `resource` and `ask_resources ... done` messages drive the state
//! machine). Before [`Action::ShutdownComplete`] is acted upon, the daemon should go on
//! sending heartbeats for a moment so the `shutdone` can be retransmitted if lost (the
//! original keeps going about 2 s).
//!
//! # Where we differ from the original
//! - Groups are started and stopped directly ([`Action::StartGroup`]) instead of through
//!   `req_resource` → `ip-request-resp` → harc → ResourceManager; the messages the
//!   original sends on the way are still sent. Starts of a work item run in parallel;
//!   stops one after the other, in reverse haresources order (the original gives groups
//!   up in file order).
//! - The original answers a finished standby child's `done` with a `resource` message
//!   that leaves before the `done` (its own `done` is processed before it is sent); ours
//!   leaves after it. Receivers treat both orders alike.
//! - `resource`/`ask_resources` messages with an unknown `rsc_hold` are ignored (the
//!   original read them as `none`).
//! - The `ask_resources ... done` the original sends after a peer's `shutdone` comes
//!   from a child that re-takes what it holds; ours takes nothing itself, the takeover
//!   from the leaving node (which both do) does the work.
//! - Repairs of states the original leaves broken: when the other node reports, stable
//!   and complete, that it holds none of our groups while we hold none either, we take
//!   them (the original logs `No one owns our local resources!`); a peer that restarts
//!   before its death is noticed cancels a pending standby (the original stayed in it for
//!   up to an hour); a shutdown waiting for a peer that then dies goes on.
//! - A peer declared dead that is heard again still `active` (a healed partition, or its
//!   heartbeats lost for a whole dead time) makes the original restart itself. We do not
//!   restart. With `auto_failback legacy` we give that peer its groups back, as if it had
//!   sent `ip-request` for each (release, then `ip-request-resp dest=PEER`); with
//!   nice_failback the two nodes compare what they run ([`Takeover::partition_return`],
//!   `hb-holding` messages) and a group that runs on both is released by the node
//!   auto_failback does not name (see [`crate::holder`]).
//! - A group is started while a peer is declared dead only once its IP addresses are
//!   silent ([`Action::Probe`]): a peer alive behind a cut heartbeat path keeps them.
//! - One group can be handed to a peer alone ([`Takeover::give_group`], for a failing service
//!   check): released here, then `ip-request-resp dest=PEER`, the answer to an `ip-request`,
//!   which an original peer acts on with its rc.d/ip-request-resp although nobody asked; and
//!   asked back alone with `ip-request` ([`Takeover::ask_group`]). The standby messages move
//!   whole sets. The `rsc_hold` announcements do not change (the original's do not either
//!   when rc.d scripts move a group).
//! - STONITH: with a device configured ([`Takeover::set_fencing`]) a peer that may hold
//!   resources is reset first ([`Action::Fence`], [`Takeover::fence_done`]) and its groups
//!   taken only after the reset succeeded, as the original does; a failed reset is retried
//!   every 5 s, but not once the peer is heard again (see [`crate::fence`]). Without a
//!   device it is reported `stonith result=n_stnth` with the original's warnings.
//! - More than two nodes, which the original does not support (every other node is
//!   "the other"): a dead or leaving node's groups are taken by one node only (its
//!   successor in ha.cf order, or the groups' own node when alive); a node that joins
//!   after a death does not take over when other nodes are active; with more than two
//!   nodes we also announce the groups we really run, and a group asked back with
//!   `ip-request` is taken on the holder's `weown=yes` or once every peer active at the
//!   request answered `weown=no` (the original takes it on the first answer). Safe with
//!   one failure at a time (`auto_failback on`, `legacy`), but not a complete protocol:
//!   other sequences (`off`, standby, overlapping failures) can leave a group unrun.

use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::fence::{FenceResult, Fencing, Reset};
use crate::holder::{self, Guard, Holding, ProbeResult, PROBE_RETRY};
use crate::Level;

/// After the first `resource` message of the start-up negotiation, how long to wait for
/// the other node to become stable before taking our own groups anyway (RQSTDELAY).
pub const RSCRCVD_DELAY: Duration = Duration::from_secs(10);
/// How long the node going standby waits for the `other` answer.
pub const STANDBY_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a standby exchange may take once both sides agreed.
pub const STANDBY_RESOURCE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Auto failback is retried this often while its conditions are not met.
pub const FAILBACK_RETRY: Duration = Duration::from_secs(1);
/// After a group failed to start, the node goes standby for that group's set this much
/// later (ResourceManager's `(sleep 30; hb_standby ...) &`).
pub const START_FAILURE_STANDBY: Duration = Duration::from_secs(30);

/// `auto_failback` of ha.cf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoFailback {
    /// nice_failback with automatic failback.
    On,
    /// nice_failback, never automatic.
    Off,
    /// The pre-nice_failback protocol (`ip-request`), heartbeat 1.x.
    Legacy,
}

/// One haresources line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDef {
    /// The preferred node (lowercase).
    pub node: String,
    /// The group key: the first resource as written.
    pub key: String,
    /// Every resource of the line, the key first.
    pub resources: Vec<String>,
}

/// What the machine needs to know of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakeoverConfig {
    /// This node's name (lowercase).
    pub me: String,
    /// The normal nodes in ha.cf order (lowercase), this node included.
    pub nodes: Vec<String>,
    /// The haresources lines in file order.
    pub groups: Vec<GroupDef>,
    pub auto_failback: AutoFailback,
}

/// Identifies one group job handed to the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// What the machine asks the daemon to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send this message to the cluster. It holds the producer fields only (`t` first);
    /// the membership layer adds the control fields. Our own messages must be given back
    /// to [`Takeover::message`] once sent.
    Send(Message),
    /// Take a group: its resources left to right, `status` first, `start` for those not
    /// held; on a failed start, release the group right to left and report `ok = false`.
    StartGroup { job: JobId, key: String },
    /// Give a group: `stop` its resources right to left.
    StopGroup { job: JobId, key: String },
    /// A log line, in the original's words where it has one.
    Log(Level, String),
    /// Shutdown: every group is released and `shutdone` was sent. The daemon may stop
    /// sending heartbeats and exit.
    ShutdownComplete,
    /// Before starting a group while a peer is declared dead: probe the group's IP
    /// addresses (ARP on their interfaces) and report with [`Takeover::probe_done`]
    /// (see [`crate::holder`]).
    Probe { job: JobId, key: String },
    /// Announce the group's IP addresses (gratuitous ARP): another node that held them
    /// too has released them.
    Announce { key: String },
    /// Reset `node` through the STONITH device (its groups are taken only once the reset
    /// succeeded); report with [`Takeover::fence_done`] (see [`crate::fence`]).
    Fence { node: String },
    /// Check the STONITH device's status; report with [`Takeover::fence_status_done`].
    FenceStatus,
}

/// The resource state of the original (`hb_rsc_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceState {
    /// Communication not up yet.
    Init,
    /// `starting` sent.
    Starting,
    /// `starting` sent and received.
    BothStarting,
    /// A `resource` message received; the 10 s timer runs.
    RscRcvd,
    /// Our local groups acquired (or found unneeded).
    Stable,
    /// Shutting down.
    Shutdown,
}

impl ResourceState {
    /// The number the original logs for this state.
    pub fn number(self) -> u8 {
        match self {
            ResourceState::Init => 0,
            ResourceState::Starting => 1,
            ResourceState::BothStarting => 2,
            ResourceState::RscRcvd => 3,
            ResourceState::Stable => 4,
            ResourceState::Shutdown => 5,
        }
    }
}

/// The standby state of the original (`enum standby`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandbyState {
    Not,
    /// We asked to go standby.
    Me,
    /// The other node asked; we take its resources.
    Other,
    /// Our part is done; waiting for the other's `done`.
    Done,
}

impl StandbyState {
    fn number(self) -> u8 {
        match self {
            StandbyState::Not => 0,
            StandbyState::Me => 1,
            StandbyState::Other => 2,
            StandbyState::Done => 3,
        }
    }
    fn word(self) -> &'static str {
        match self {
            StandbyState::Not => "not",
            StandbyState::Me => "me",
            StandbyState::Other => "other",
            StandbyState::Done => "done",
        }
    }
}

/// Resource sets as the original's bits: `none` 0, `local` 1, `foreign` 2, `all` 3.
pub mod rsc {
    pub const NONE: u8 = 0;
    pub const LOCAL: u8 = 1;
    pub const FOREIGN: u8 = 2;
    pub const ALL: u8 = 3;

    /// The wire word of a set.
    pub fn name(bits: u8) -> &'static str {
        match bits & ALL {
            NONE => "none",
            LOCAL => "local",
            FOREIGN => "foreign",
            _ => "all",
        }
    }

    /// The set named by a wire word (exact spelling, as the original compares).
    pub fn parse(word: &str) -> Option<u8> {
        match word {
            "none" => Some(NONE),
            "local" => Some(LOCAL),
            "foreign" => Some(FOREIGN),
            "all" => Some(ALL),
            _ => None,
        }
    }

    /// `rtype=full` replaces; otherwise the update is OR-ed in, except that `none` clears.
    pub fn update(full: bool, current: u8, update: u8) -> u8 {
        if full || update == NONE {
            update
        } else {
            update | current
        }
    }
}

#[derive(Clone, Debug)]
struct Peer {
    name: String,
    /// Last status we were told (`init`, `up`, `active`, `dead`).
    status: String,
    /// Any packet heard since it was last declared dead (`anypacketsyet`).
    heard: bool,
    /// Cleared by its `shutdone`, set again when it (re)starts.
    has_resources: bool,
    /// What it last announced it holds (its point of view), for more than two nodes.
    holds: u8,
}

impl Peer {
    /// Any packet from it: the first since it was declared dead means a new start.
    fn hear(&mut self) {
        if !self.heard {
            self.heard = true;
            self.has_resources = true;
        }
    }
}

#[derive(Clone, Debug, Default)]
struct GroupRt {
    /// Our last knowledge: the group runs here.
    running: bool,
    /// The job in flight for this group, and whether it is a start.
    job: Option<(JobId, bool)>,
    /// Started while a peer was declared dead (cleared when it stops, or when a peer
    /// restarts): who keeps it after a partition depends on it.
    took: bool,
}

/// What a work item does. The first four stand for children the original forks
/// directly; the others for rc.d scripts, run one at a time when nothing else runs.
#[derive(Clone, Debug)]
enum Work {
    /// req_our_resources(): ask for / take our local groups.
    ReqOur { dontask: bool },
    /// The standby child giving a set up.
    StandbyGive { act: u8, done_set: u8 },
    /// The standby child taking a set (`set` named from `from`'s point of view, `act`
    /// from ours, for the log). `quirk`: the child the original starts on a
    /// peer's `shutdone`; the takeover that follows does the real work, so it takes
    /// nothing itself.
    StandbyTake {
        set: u8,
        act: u8,
        done_set: u8,
        from: String,
        quirk: bool,
    },
    /// The shutdown child.
    Giveup,
    /// rc.d/status → mach_down NODE.
    MachDown { node: String },
    /// rc.d/ip-request: release a group for `to` and answer.
    IpRequest { key: String, to: String },
    /// rc.d/ip-request-resp: take a group.
    TakeGroup { key: String },
    /// After a partition: release a group that `to` keeps (see [`crate::holder`]).
    GiveBack { key: String, to: String },
}

impl Work {
    /// Runs only when no other work runs (rc.d scripts through the original's queue).
    fn queued(&self) -> bool {
        matches!(
            self,
            Work::MachDown { .. } | Work::IpRequest { .. } | Work::TakeGroup { .. }
        )
    }
}

#[derive(Clone, Debug)]
struct Op {
    group: usize,
    start: bool,
    /// The job this op started.
    issued: Option<JobId>,
    /// Another job on the same group this op waits for.
    waiting: Option<JobId>,
    /// A start while a peer is declared dead waits for a silent probe.
    guard: Guard,
    /// An answered probe of this op was logged.
    logged: bool,
}

#[derive(Clone, Debug)]
struct Item {
    work: Work,
    started: bool,
    /// Ops run one after the other (stops) rather than all at once (starts).
    sequential: bool,
    ops: Vec<Op>,
    /// For `IpRequest`: whether we held the group when the request ran.
    weown: bool,
    /// Starts of this item waiting on a probe were dropped (the peer is back).
    cancelled: bool,
}

/// One node's v1 resource layer.
#[derive(Debug)]
pub struct Takeover {
    cfg: TakeoverConfig,
    peers: Vec<Peer>,
    groups: Vec<GroupRt>,
    actions: std::collections::VecDeque<Action>,
    items: Vec<Item>,
    next_job: u64,

    comm_up: bool,
    state: ResourceState,
    i_hold: u8,
    other_holds: u8,
    other_stable: bool,
    takeover_in_progress: bool,
    going_standby: StandbyState,
    standby_running: Option<Instant>,
    standby_rsctype: u8,
    local_takeover_time: Option<Instant>,
    local_done: bool,
    foreign_done: bool,
    announced: bool,
    rsc_needs_failback: bool,
    failback_timer: Option<Instant>,
    rsc_needs_shutdown: bool,
    /// The other node's last resource-layer message was a stable full `resource` report
    /// (so `other_holds` is what it holds now).
    other_fresh: bool,
    /// In standby state ME, whether the give-up child was started (an `other` answer
    /// is acted upon once, even when several nodes answer).
    standby_given: bool,
    shutdown_in_progress: bool,
    giveup_started: bool,
    shutdown_complete: bool,
    resources_requested: bool,
    /// Standby requests due after failed starts: (when, set word).
    standby_later: Vec<(Instant, &'static str)>,
    /// Groups whose service check fails here: we do not take them on a peer's request.
    unfit: std::collections::BTreeSet<String>,
    /// Peers heard again after a partition that have not told us yet what they run (an
    /// original peer never does: it restarts): when one releases everything (its
    /// `shutdone`, its restart) we announce the addresses we run.
    partitioned: std::collections::BTreeSet<String>,
    /// Groups that ran on both nodes after a partition and that we keep: announced
    /// once the other node reports it released them.
    conflicts: std::collections::BTreeSet<usize>,
    /// When this node woke from a stall ([`Takeover::resumed`]): the messages processed
    /// at that same instant are the backlog of the stall.
    resumed_at: Option<Instant>,
    /// The message being processed is from that backlog: older than what we know, so
    /// the audit of what both sides hold is not run on it.
    in_backlog: bool,
    /// STONITH: resets in progress and the device's status checks.
    fencing: Fencing,
    /// More than two nodes: the groups we asked for with `ip-request`, and the peers whose
    /// answer we still wait for (those active when we asked: a peer whose communication is
    /// not up ignores the request, and holds nothing). Such a group is taken once its holder
    /// answered `weown=yes` (it released it), or once every one of them answered `no` or
    /// died, not on the first `no` (which, with two nodes, comes from the only possible
    /// holder).
    ip_asked: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Takeover {
    /// A node whose communication is not up yet, holding nothing.
    pub fn new(cfg: TakeoverConfig, _now: Instant) -> Self {
        let mut cfg = cfg;
        cfg.me = cfg.me.to_ascii_lowercase();
        for n in cfg.nodes.iter_mut() {
            *n = n.to_ascii_lowercase();
        }
        if !cfg.nodes.contains(&cfg.me) {
            cfg.nodes.push(cfg.me.clone());
        }
        for g in cfg.groups.iter_mut() {
            g.node = g.node.to_ascii_lowercase();
        }
        let peers = cfg
            .nodes
            .iter()
            .filter(|n| **n != cfg.me)
            .map(|n| Peer {
                name: n.clone(),
                status: "init".to_string(),
                heard: false,
                has_resources: false,
                holds: rsc::NONE,
            })
            .collect();
        let groups = vec![GroupRt::default(); cfg.groups.len()];
        Takeover {
            cfg,
            peers,
            groups,
            actions: Default::default(),
            items: Vec::new(),
            next_job: 1,
            comm_up: false,
            state: ResourceState::Init,
            i_hold: rsc::NONE,
            other_holds: rsc::NONE,
            other_stable: false,
            takeover_in_progress: false,
            going_standby: StandbyState::Not,
            standby_running: None,
            standby_rsctype: rsc::ALL,
            local_takeover_time: None,
            local_done: false,
            foreign_done: false,
            announced: false,
            rsc_needs_failback: false,
            failback_timer: None,
            rsc_needs_shutdown: false,
            standby_given: false,
            other_fresh: false,
            shutdown_in_progress: false,
            giveup_started: false,
            shutdown_complete: false,
            resources_requested: false,
            standby_later: Vec::new(),
            unfit: std::collections::BTreeSet::new(),
            partitioned: Default::default(),
            conflicts: Default::default(),
            resumed_at: None,
            in_backlog: false,
            fencing: Fencing::default(),
            ip_asked: Default::default(),
        }
    }

    /// Whether a STONITH device is configured for this node: a node declared dead that may
    /// hold resources is then reset before its groups are taken.
    pub fn set_fencing(&mut self, configured: bool) {
        self.fencing.configured = configured;
    }

    /// Whether `node`'s reset runs or waits for a retry.
    pub fn fencing(&self, node: &str) -> bool {
        self.fencing.resets.contains_key(&node.to_ascii_lowercase())
    }

    // ------------------------------------------------------------------ queries

    /// The configuration (names lowercased, this node added to `nodes` if missing).
    pub fn config(&self) -> &TakeoverConfig {
        &self.cfg
    }

    /// The resource state.
    pub fn state(&self) -> ResourceState {
        self.state
    }

    /// The standby state.
    pub fn standby_state(&self) -> StandbyState {
        self.going_standby
    }

    /// What we announce we hold (`i_hold_resources`), as bits of [`rsc`].
    pub fn i_hold(&self) -> u8 {
        self.i_hold
    }

    /// What the other node last announced it holds, as bits of [`rsc`].
    pub fn other_holds(&self) -> u8 {
        self.other_holds
    }

    /// The keys of the groups running here (started and not stopped since).
    pub fn running_groups(&self) -> Vec<&str> {
        self.groups
            .iter()
            .zip(&self.cfg.groups)
            .filter(|(rt, _)| rt.running)
            .map(|(_, d)| d.key.as_str())
            .collect()
    }

    /// Marks a group as unfit to be taken here (its service check fails on this node):
    /// a peer's request to hand it to us (its standby, its failback) is then ignored,
    /// and the peer keeps it. A peer's death still makes us take it.
    pub fn set_unfit(&mut self, key: &str, unfit: bool) {
        if unfit {
            self.unfit.insert(key.to_string());
        } else {
            self.unfit.remove(key);
        }
    }

    /// Whether this node's haresources line for `key` names this node.
    pub fn is_local_group(&self, key: &str) -> bool {
        self.cfg
            .groups
            .iter()
            .any(|d| d.key == key && d.node == self.cfg.me)
    }

    /// Whether any group job or resource work is pending.
    pub fn busy(&self) -> bool {
        !self.items.is_empty() || self.groups.iter().any(|g| g.job.is_some())
    }

    /// The original's `hb_rsc_isstable()`.
    pub fn is_stable(&self) -> bool {
        if !self.nice() {
            return !self.busy();
        }
        if self.shutdown_in_progress && self.state == ResourceState::Init {
            return true;
        }
        self.other_stable
            && !self.takeover_in_progress
            && self.going_standby == StandbyState::Not
            && self.standby_running.is_none()
            && !self.busy()
            && matches!(
                self.state,
                ResourceState::Stable | ResourceState::Shutdown | ResourceState::Init
            )
    }

    /// The answer to an API `rsc_status` query: `none`/`local`/`foreign`/`all` when
    /// stable, else `transition`.
    pub fn resource_status(&self) -> &'static str {
        if self.is_stable() {
            rsc::name(self.i_hold)
        } else {
            "transition"
        }
    }

    /// Whether shutdown finished ([`Action::ShutdownComplete`] was produced).
    pub fn shutdown_complete(&self) -> bool {
        self.shutdown_complete
    }

    // ------------------------------------------------------------------ outputs

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next instant [`Takeover::handle_timeout`] wants to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.state == ResourceState::RscRcvd && self.nice() {
            consider(self.local_takeover_time);
        }
        consider(self.standby_running);
        consider(self.failback_timer);
        for (when, _) in &self.standby_later {
            consider(Some(*when));
        }
        consider(self.fencing.poll_timeout());
        for op in self.items.iter().flat_map(|i| &i.ops) {
            if let Guard::Answered(at) = op.guard {
                consider(Some(at));
            }
        }
        t
    }

    // ------------------------------------------------------------------ inputs

    /// Runs what is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
        self.after(now);
    }

    /// Our communication came up. `alive_peers`: the other nodes that are up or active
    /// now; every other node is taken as dead (the membership layer declared them dead
    /// before, see [`Takeover::node_dead`]). A peer's status is the last one given to
    /// [`Takeover::node_status`], `active` if none was.
    pub fn comm_up(&mut self, now: Instant, alive_peers: &[String]) {
        self.expire(now);
        if self.comm_up {
            self.after(now);
            return;
        }
        self.comm_up = true;
        for p in self.peers.iter_mut() {
            if alive_peers.iter().any(|a| a.eq_ignore_ascii_case(&p.name)) {
                if p.status == "dead" || p.status == "init" {
                    p.status = "active".to_string();
                }
                p.hear();
            } else {
                p.status = "dead".to_string();
            }
        }
        if self.shutdown_in_progress {
            // Shutdown was asked for before communication came up: nothing to negotiate.
            self.after(now);
            return;
        }
        let deadcount = self.peers.iter().filter(|p| p.status == "dead").count();
        if deadcount == 0 {
            self.foreign_done = true;
        }
        if self.nice() {
            self.send(Message::with_type("starting"));
            self.state = ResourceState::Starting;
        } else if !self.resources_requested {
            self.resources_requested = true;
            self.req_our_resources(false);
        }
        if self.fencing.configured && !self.fencing.status_running {
            // As the original at comm up: check the device now, then every hour.
            self.fencing.status_running = true;
            self.actions.push_back(Action::FenceStatus);
        }
        self.after(now);
    }

    /// A peer's status changed (`init`, `up`, `active`; `dead` is only recorded, the
    /// death itself comes through [`Takeover::node_dead`]).
    pub fn node_status(&mut self, now: Instant, node: &str, status: &str) {
        self.expire(now);
        let node = node.to_ascii_lowercase();
        let Some(p) = self.peers.iter_mut().find(|p| p.name == node) else {
            if node != self.cfg.me {
                self.log(
                    Level::Debug,
                    format!("takeover: status of unknown node {node} ignored"),
                );
            }
            self.after(now);
            return;
        };
        let prev = std::mem::replace(&mut p.status, status.to_string());
        if status != "dead" {
            p.hear();
            if status == "init" || status == "up" {
                // A (re)started node: a new generation.
                p.has_resources = true;
            }
        }
        let restarted = (status == "init" && (prev == "up" || prev == "active"))
            || (status == "up" && prev == "active");
        if restarted {
            self.restarted(&node);
        }
        if prev == "dead" && status != "dead" {
            // Heard again: what we wait to take from it is its own business again.
            self.cancel_blocked();
        }
        if status == "init" && self.partitioned.remove(&node) {
            // A peer back from a partition restarted (as the original does): whatever
            // it held is released.
            self.announce_running();
        }
        if status == "init" {
            for g in self.groups.iter_mut() {
                g.took = false;
            }
        }
        // Back from the dead without a restart (a restart comes as `init` first, see
        // `node_restarted`): a partition healed, or its heartbeats were lost for a whole
        // dead time.
        if prev == "dead" && status == "active" {
            self.returned_without_restart(&node);
        }
        self.after(now);
    }

    /// Legacy: `node` is heard again, still active, after we declared it dead. It still
    /// runs its groups, which we may have taken over meanwhile (or are taking over):
    /// give them back as if it had asked for them with `ip-request` (release each, then
    /// answer `ip-request-resp dest=NODE`, which makes it take the group if it does not
    /// run it). The rc.d work is queued, so it runs after a mach_down still in progress.
    /// The original restarts itself instead (giving up every group and asking for its
    /// own again), which has the same outcome with an outage of all its groups.
    /// When both sides declared each other dead, both do this for the other's groups.
    fn returned_without_restart(&mut self, node: &str) {
        if self.nice() || !self.comm_up || self.shutdown_in_progress {
            return;
        }
        let keys: Vec<String> = self
            .cfg
            .groups
            .iter()
            .filter(|d| d.node == node)
            .map(|d| d.key.clone())
            .collect();
        if keys.is_empty() {
            return;
        }
        self.log(
            Level::Warn,
            format!("{node} is back without a restart: giving its resource groups back."),
        );
        for key in keys {
            self.items.push(Item::new(Work::IpRequest {
                key,
                to: node.to_string(),
            }));
        }
    }

    /// The membership layer saw `node` start again (a higher generation) without
    /// declaring it dead first. Same as a status change to `init`.
    pub fn node_restarted(&mut self, now: Instant, node: &str) {
        self.node_status(now, node, "init");
    }

    /// A peer restarted before its death was noticed: whatever it held or was doing
    /// for a standby exchange is gone. The original ignored this and could stay in a
    /// standby state for an hour, or leave groups nobody runs.
    fn restarted(&mut self, node: &str) {
        self.log(
            Level::Info,
            format!("{node} restarted: forgetting its resource state."),
        );
        if let Some(p) = self.peers.iter_mut().find(|p| p.name == node) {
            p.holds = rsc::NONE;
        }
        if self.going_standby != StandbyState::Not {
            self.log(Level::Info, "Cancelling pending standby operation".into());
            self.going_standby = StandbyState::Not;
            self.standby_running = None;
        }
        self.other_stable = false;
        self.other_fresh = false;
    }

    /// The membership layer declared `node` dead.
    pub fn node_dead(&mut self, now: Instant, node: &str) {
        self.expire(now);
        let node = node.to_ascii_lowercase();
        let Some(i) = self.peers.iter().position(|p| p.name == node) else {
            if node != self.cfg.me {
                self.log(
                    Level::Warn,
                    format!("takeover: death of unknown node {node} ignored"),
                );
            }
            self.after(now);
            return;
        };
        self.peers[i].status = "dead".to_string();
        self.other_fresh = false;
        self.recover_dead_resources(&node);
        if let Some(p) = self.peers.get_mut(i) {
            p.heard = false;
            p.holds = rsc::NONE;
        }
        if !self.shutdown_in_progress {
            self.ip_answers_complete();
        }
        self.after(now);
    }

    /// A resource-layer message (`starting`, `resource`, `ask_resources`, `hb_takeover`,
    /// `ip-request`, `ip-request-resp`, `shutdone`, `stonith`) from `from`, our own
    /// included. Other types are ignored.
    pub fn message(&mut self, now: Instant, from: &str, msg: &Message) {
        self.expire(now);
        self.in_backlog = self.resumed_at == Some(now);
        self.message_inner(now, from, msg);
        self.in_backlog = false;
        self.after(now);
    }

    fn message_inner(&mut self, now: Instant, from: &str, msg: &Message) {
        let from = from.to_ascii_lowercase();
        let from_me = from == self.cfg.me;
        let Some(t) = msg.msg_type() else {
            self.log(
                Level::Error,
                format!("message from {from} without type ignored"),
            );
            return;
        };
        let t = t.to_string();
        if !from_me {
            let Some(p) = self.peers.iter_mut().find(|p| p.name == from) else {
                self.log(
                    Level::Warn,
                    format!("takeover: '{t}' message from unknown node {from} ignored"),
                );
                return;
            };
            p.hear();
        }
        if !self.comm_up {
            self.log(
                Level::Debug,
                format!("takeover: '{t}' from {from} before communication is up: ignored"),
            );
            return;
        }
        if !from_me && t != "resource" && t != "stonith" {
            self.other_fresh = false;
        }
        match t.as_str() {
            "starting" | "resource" => self.process_resources(now, &t, msg, &from),
            "ask_resources" => self.ask_for_resources(now, msg, &from),
            "shutdone" => self.shutdone(&from),
            "hb_takeover" => {
                if !from_me {
                    // rc.d/hb_takeover runs hb_standby with the mirrored set;
                    // `failback` and anything else mean all.
                    let set = match msg.get("rsc_hold") {
                        Some("local") => "foreign",
                        Some("foreign") => "local",
                        _ => "all",
                    };
                    self.standby_inner(set);
                }
            }
            "ip-request" => {
                if !from_me {
                    match msg.get("ipaddr") {
                        Some(key) if !key.is_empty() => {
                            let key = key.to_string();
                            self.items
                                .push(Item::new(Work::IpRequest { key, to: from }));
                        }
                        _ => self.log(
                            Level::Error,
                            format!("ip-request from {from} without ipaddr ignored"),
                        ),
                    }
                }
            }
            "ip-request-resp" => self.ip_request_resp(msg, &from),
            holder::HOLDING_MSG => self.holding(msg, &from),
            "stonith" => {}
            _ => self.log(
                Level::Debug,
                format!("takeover: message type '{t}' is not ours"),
            ),
        }
    }

    /// A group job ended. `ok = false` for a start: the group failed and the daemon
    /// already released it.
    pub fn group_done(&mut self, now: Instant, job: JobId, ok: bool) {
        self.expire(now);
        let Some(g) = self
            .groups
            .iter()
            .position(|rt| rt.job.is_some_and(|(j, _)| j == job))
        else {
            self.log(
                Level::Debug,
                format!("takeover: unknown job {} done", job.0),
            );
            self.after(now);
            return;
        };
        let start = self.groups[g].job.is_some_and(|(_, s)| s);
        self.groups[g].job = None;
        let key = self.cfg.groups[g].key.clone();
        if start {
            self.groups[g].running = ok;
            if !ok {
                let set = if self.cfg.groups[g].node == self.cfg.me {
                    "local"
                } else {
                    "foreign"
                };
                self.log(
                    Level::Crit,
                    format!("Giving up resources due to failure of group {key}"),
                );
                self.standby_later.push((now + START_FAILURE_STANDBY, set));
            }
        } else {
            if !ok {
                self.log(
                    Level::Crit,
                    format!("Resource group {key} did not stop cleanly"),
                );
            }
            self.groups[g].running = false;
            self.groups[g].took = false;
        }
        for item in self.items.iter_mut().filter(|i| i.started) {
            let mut k = 0;
            while k < item.ops.len() {
                let op = &mut item.ops[k];
                if op.issued == Some(job) || (op.waiting == Some(job) && op.start == start) {
                    item.ops.remove(k);
                    continue;
                }
                if op.waiting == Some(job) {
                    op.waiting = None;
                }
                k += 1;
            }
        }
        self.after(now);
    }

    /// hb_standby [all|local|foreign|failback] on this node: sends
    /// `ask_resources rsc_hold=SET info=me` (the daemon gives it back to us like any of
    /// our messages). An empty set means `all`.
    pub fn standby(&mut self, now: Instant, set: &str) {
        self.expire(now);
        self.standby_inner(set);
        self.after(now);
    }

    fn standby_inner(&mut self, set: &str) {
        let set = match set {
            "" | "all" => "all",
            "local" => "local",
            "foreign" | "failback" => "foreign",
            other => {
                self.log(
                    Level::Error,
                    format!("hb_standby: wrong resources({other})."),
                );
                return;
            }
        };
        self.log(Level::Info, format!("Going standby [{set}]."));
        let mut m = Message::with_type("ask_resources");
        m.push_str("rsc_hold", set).push_str("info", "me");
        self.send(m);
    }

    /// Gives one group to `to` and nothing else (its service check fails here): the group
    /// is released here, then `ip-request-resp dest=TO ipaddr=KEY weown=yes ok=OK` tells
    /// `to` to take it. That is what a node answering an `ip-request` sends, and every
    /// original node acts on it whatever its auto_failback mode: its rc.d/ip-request-resp runs
    /// `ResourceManager takegroup KEY` (our node takes the group directly). The standby
    /// messages could not do it: they move whole sets (local, foreign, all).
    /// Nothing happens (false) for an unknown group, one not running or starting here, an
    /// unknown or dead `to`, or during a shutdown.
    pub fn give_group(&mut self, now: Instant, key: &str, to: &str) -> bool {
        self.expire(now);
        let to = to.to_ascii_lowercase();
        let ok = !self.shutdown_in_progress
            && to != self.cfg.me
            && self.peer(&to).is_some_and(|p| p.status != "dead")
            && self.group_index(key).is_some_and(|g| {
                self.groups[g].running || self.groups[g].job.is_some_and(|(_, start)| start)
            });
        if ok {
            self.log(Level::Info, format!("Giving resource group {key} to {to}."));
            self.items.push(Item::new(Work::IpRequest {
                key: key.to_string(),
                to,
            }));
        }
        self.after(now);
        ok
    }

    /// Asks for one group back (its service check passes here again): `ip-request
    /// ipaddr=KEY`. The node that runs it releases it and answers `ip-request-resp
    /// dest=US`, which makes us take it (an original node does this with its
    /// rc.d/ip-request; a node that does not run it answers `weown=no`, and we take it too,
    /// as the original's rc.d/ip-request-resp does). Nothing happens (false) for an unknown
    /// group, one running or starting here, or during a shutdown.
    pub fn ask_group(&mut self, now: Instant, key: &str) -> bool {
        self.expire(now);
        let ok = !self.shutdown_in_progress
            && self.comm_up
            && self.group_index(key).is_some_and(|g| {
                !self.groups[g].running && !self.groups[g].job.is_some_and(|(_, start)| start)
            });
        if ok {
            self.log(
                Level::Info,
                format!("Asking for resource group {key} back."),
            );
            let mut m = Message::with_type("ip-request");
            m.push_str("ipaddr", key);
            self.send(m);
            self.note_ip_request(key);
        }
        self.after(now);
        ok
    }

    /// hb_takeover [all|local|foreign|failback] on this node: sends
    /// `hb_takeover rsc_hold=SET`; the other node then goes standby for the mirrored set.
    pub fn takeover(&mut self, now: Instant, set: &str) {
        self.expire(now);
        let set = match set {
            "" => "all",
            s @ ("all" | "local" | "foreign" | "failback") => s,
            other => {
                self.log(
                    Level::Error,
                    format!("hb_takeover: wrong resources({other})."),
                );
                self.after(now);
                return;
            }
        };
        let mut m = Message::with_type("hb_takeover");
        m.push_str("rsc_hold", set);
        self.send(m);
        self.after(now);
    }

    /// Clean shutdown (`heartbeat -k`, SIGTERM): once the current resource activity is
    /// over, announce `rsc_hold=none`, release every group, send `shutdone` and report
    /// [`Action::ShutdownComplete`].
    pub fn shutdown(&mut self, now: Instant) {
        self.expire(now);
        if self.shutdown_in_progress {
            self.log(Level::Info, "Heartbeat shutdown already underway.".into());
            return;
        }
        self.shutdown_in_progress = true;
        if self.cancel_blocked() {
            // Takeovers waiting for a silent address are not taken up any more.
            self.run_work();
        }
        self.giveup_resources();
        self.after(now);
    }

    /// The daemon probed the addresses of a group ([`Action::Probe`]).
    pub fn probe_done(&mut self, now: Instant, job: JobId, result: ProbeResult) {
        self.expire(now);
        let found = self.items.iter().enumerate().find_map(|(k, it)| {
            it.ops
                .iter()
                .position(|o| o.guard == Guard::InFlight(job))
                .map(|i| (k, i))
        });
        let Some((k, i)) = found else {
            // Its op was dropped meanwhile (the peer is back, shutdown, a newer intent).
            self.after(now);
            return;
        };
        let (group, logged) = {
            let op = &self.items[k].ops[i];
            (op.group, op.logged)
        };
        let key = self.cfg.groups[group].key.clone();
        let (guard, logged) = match result {
            ProbeResult::Silent | ProbeResult::NoAddress => {
                if logged {
                    self.log(
                        Level::Info,
                        format!(
                            "The addresses of resource group {key} no longer answer: taking it."
                        ),
                    );
                }
                (Guard::Clear, logged)
            }
            ProbeResult::Unprobed { why } => {
                self.log(
                    Level::Warn,
                    format!("Cannot probe the addresses of resource group {key} ({why}): taking it unprobed."),
                );
                (Guard::Clear, logged)
            }
            ProbeResult::Answered { addr, by } => {
                if !logged {
                    // What we announce must not claim the group while we do not take it.
                    self.rebase_i_hold();
                    self.log(
                        Level::Warn,
                        format!(
                            "Not taking resource group {key}: its address {addr} still answers ARP (from {by}). \
                             The other node may be alive behind a cut heartbeat path; probing until the address is silent."
                        ),
                    );
                }
                (Guard::Answered(now + PROBE_RETRY), true)
            }
        };
        if let Some(op) = self.items.get_mut(k).and_then(|it| it.ops.get_mut(i)) {
            op.guard = guard;
            op.logged = logged;
        }
        self.after(now);
    }

    /// This node's process was stopped longer than a dead time (the membership saw its
    /// own timers overrun): towards each of `peers` it behaves as a node back from a
    /// partition ([`Takeover::partition_return`]). The messages that waited in our
    /// sockets meanwhile, processed at this same `now`, are not audited.
    pub fn resumed(&mut self, now: Instant, peers: &[String]) {
        self.resumed_at = Some(now);
        for p in peers {
            self.partition_return(now, p);
        }
    }

    /// `node`, declared dead, is heard again without having restarted (a partition
    /// healed), or this node was stopped longer than a dead time and may have been
    /// declared dead itself. The original restarts itself here; we do not (see
    /// [`crate::holder`]): takeovers still waiting for a silent address are dropped,
    /// what we run is announced (a full `resource` report and our list of groups, asking
    /// for the peer's), and groups that turn out to run on both nodes are sorted out when
    /// the peer's list comes.
    pub fn partition_return(&mut self, now: Instant, node: &str) {
        self.expire(now);
        let node = node.to_ascii_lowercase();
        if self.peer(&node).is_none() {
            self.after(now);
            return;
        }
        self.cancel_blocked();
        if !self.nice() || !self.comm_up || self.shutdown_in_progress {
            // Legacy mode gives the peer its groups back when its status comes
            // (`returned_without_restart`).
            self.after(now);
            return;
        }
        self.log(
            Level::Warn,
            format!("{node} is back without a restart: nothing restarts here; checking which resource groups run on both nodes."),
        );
        if self.going_standby != StandbyState::Not {
            self.log(Level::Info, "Cancelling pending standby operation".into());
            self.going_standby = StandbyState::Not;
            self.standby_running = None;
        }
        // Nothing moves back by itself after a partition: conflicts are settled one by one.
        self.rsc_needs_failback = false;
        self.rebase_i_hold();
        // Until its report comes, the peer is taken to hold what we do not (its view).
        self.other_holds = (if self.i_hold & rsc::FOREIGN == 0 {
            rsc::LOCAL
        } else {
            rsc::NONE
        }) | (if self.i_hold & rsc::LOCAL == 0 {
            rsc::FOREIGN
        } else {
            rsc::NONE
        });
        self.other_fresh = false;
        self.partitioned.insert(node);
        let h = self.holding_now(true);
        self.send(h.to_message());
        self.send_resources_held(self.state == ResourceState::Stable, None);
        self.after(now);
    }

    /// The reset of `node` asked for with [`Action::Fence`] ended. The `stonith` message
    /// with its result goes to the cluster (as the original's reset child sends it); a
    /// successful reset lets the node's groups be taken, a failed one is tried again
    /// [`crate::fence::RETRY`] later.
    pub fn fence_done(&mut self, now: Instant, node: &str, result: FenceResult) {
        self.expire(now);
        let node = node.to_ascii_lowercase();
        if self.fencing.resets.get(&node) != Some(&Reset::Running) {
            self.log(
                Level::Debug,
                format!("takeover: result of a reset of {node} nobody waits for ignored"),
            );
            self.after(now);
            return;
        }
        self.send_stonith_msg(&node, result.word());
        if result == FenceResult::Ok {
            self.fencing.resets.remove(&node);
            // Whatever it held is gone with the reset (when it is then declared dead again,
            // after it was heard meanwhile, it is not reset a second time).
            if let Some(p) = self.peers.iter_mut().find(|p| p.name == node) {
                p.has_resources = false;
            }
            // The original takes over even when the node was heard again meanwhile: it was
            // reset, whatever it held is gone.
            self.takeover_from_node(&node);
        } else {
            self.log(
                Level::Error,
                format!("STONITH of {node} failed.  Retrying..."),
            );
            self.fencing
                .resets
                .insert(node, Reset::RetryAt(now + crate::fence::RETRY));
        }
        self.after(now);
    }

    /// The device's status check ([`Action::FenceStatus`]) ended; the next one is due an
    /// hour later.
    pub fn fence_status_done(&mut self, now: Instant, ok: bool) {
        self.expire(now);
        self.fencing.status_running = false;
        if !ok {
            self.log(Level::Error, "STONITH status operation failed.".into());
            self.log(
                Level::Info,
                "This may mean that the STONITH device has failed!".into(),
            );
        }
        self.fencing.status_at = Some(now + crate::fence::STATUS_INTERVAL);
        self.after(now);
    }

    // ------------------------------------------------------------------ internals

    /// Asks for a reset of `node`, unless one runs or waits for its retry.
    fn fence(&mut self, node: &str) {
        if self.fencing.resets.contains_key(node) {
            self.log(
                Level::Debug,
                format!("takeover: a reset of {node} is already under way"),
            );
            return;
        }
        self.fencing.resets.insert(node.to_string(), Reset::Running);
        self.actions.push_back(Action::Fence {
            node: node.to_string(),
        });
    }

    /// A peer's list of the groups it runs ([`holder::HOLDING_MSG`]): answer it when
    /// asked, release the groups that run on both nodes and that the peer keeps, and
    /// announce those we keep once the peer no longer runs them.
    fn holding(&mut self, msg: &Message, from: &str) {
        if from == self.cfg.me || !self.nice() || self.shutdown_in_progress {
            return;
        }
        let h = Holding::from_message(msg);
        self.partitioned.remove(from);
        if h.ask {
            // Our list, and our report (its guess of what we hold is to be replaced).
            let mine = self.holding_now(false);
            self.send(mine.to_message());
            self.send_resources_held(self.state == ResourceState::Stable, None);
        }
        for g in 0..self.groups.len() {
            let key = self.cfg.groups[g].key.clone();
            let here = self.groups[g].running || self.groups[g].job.is_some_and(|(_, s)| s);
            let there = h.held.contains(&key);
            if !(here && there) {
                if here && self.conflicts.remove(&g) {
                    self.log(
                        Level::Info,
                        format!("{from} released resource group {key}: announcing its addresses."),
                    );
                    self.actions.push_back(Action::Announce { key });
                }
                continue;
            }
            let giving = self
                .items
                .iter()
                .any(|i| matches!(&i.work, Work::GiveBack { key: k, .. } if *k == key));
            if giving || self.groups[g].job.is_some_and(|(_, s)| !s) {
                continue;
            }
            let (keep, why) = holder::keeper(
                self.cfg.auto_failback,
                &self.cfg.groups[g].node,
                &self.cfg.nodes,
                &self.cfg.me,
                from,
                self.groups[g].took,
                h.took.contains(&key),
            );
            let me = self.cfg.me.clone();
            if keep {
                if self.conflicts.insert(g) {
                    self.log(
                        Level::Warn,
                        format!("Resource group {key} runs on both {me} and {from} after the partition: {me} keeps it ({why})."),
                    );
                }
            } else {
                self.log(
                    Level::Warn,
                    format!("Resource group {key} runs on both {me} and {from} after the partition: releasing it, {from} keeps it ({why})."),
                );
                self.items.push(Item::new(Work::GiveBack {
                    key,
                    to: from.to_string(),
                }));
            }
        }
    }

    /// What we run (or are starting), for [`holder::HOLDING_MSG`].
    fn holding_now(&self, ask: bool) -> Holding {
        let mut h = Holding {
            ask,
            ..Holding::default()
        };
        for (rt, def) in self.groups.iter().zip(&self.cfg.groups) {
            if rt.running || rt.job.is_some_and(|(_, s)| s) {
                h.held.push(def.key.clone());
                if rt.took {
                    h.took.push(def.key.clone());
                }
            }
        }
        h
    }

    /// Drops the starts that wait for a silent address. Returns whether there were any.
    /// Without nice_failback (legacy) a node's own groups are its own whoever comes back:
    /// their starts keep waiting for the address to fall silent (nobody else would start
    /// them).
    fn cancel_blocked(&mut self) -> bool {
        let mut any = false;
        let keep_local: Vec<bool> = (0..self.groups.len())
            .map(|g| !self.nice() && self.is_local(g))
            .collect();
        for item in self.items.iter_mut().filter(|i| i.started) {
            let before = item.ops.len();
            item.ops.retain(|o| {
                !(o.start && o.issued.is_none() && o.guard.blocked())
                    || keep_local.get(o.group).copied().unwrap_or(false)
            });
            if item.ops.len() != before {
                item.cancelled = true;
                any = true;
            }
        }
        if any {
            self.log(
                Level::Info,
                "Takeover of resource groups whose addresses still answer cancelled.".into(),
            );
            self.rebase_i_hold();
        }
        any
    }

    /// `i_hold` from what really runs (or starts) here. A set without groups counts as
    /// held by its home node (each node holds its own empty set, as after a start).
    fn rebase_i_hold(&mut self) {
        if !self.nice() {
            return;
        }
        for (bit, local) in [(rsc::LOCAL, true), (rsc::FOREIGN, false)] {
            let of_set: Vec<usize> = (0..self.groups.len())
                .filter(|g| self.is_local(*g) == local)
                .collect();
            let runs = if of_set.is_empty() {
                local
            } else {
                of_set.iter().any(|g| {
                    let rt = &self.groups[*g];
                    rt.running || rt.job.is_some_and(|(_, s)| s)
                })
            };
            if runs {
                self.i_hold |= bit;
            } else {
                self.i_hold &= !bit;
            }
        }
    }

    /// Gratuitous ARP for every group running here.
    fn announce_running(&mut self) {
        for g in 0..self.groups.len() {
            if self.groups[g].running {
                let key = self.cfg.groups[g].key.clone();
                self.actions.push_back(Action::Announce { key });
            }
        }
    }

    fn nice(&self) -> bool {
        self.cfg.auto_failback != AutoFailback::Legacy
    }

    fn auto_failback(&self) -> bool {
        self.cfg.auto_failback == AutoFailback::On
    }

    fn log(&mut self, level: Level, text: String) {
        self.actions.push_back(Action::Log(level, text));
    }

    fn send(&mut self, m: Message) {
        self.actions.push_back(Action::Send(m));
    }

    fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.name == name)
    }

    fn alive(&self, node: &str) -> bool {
        node == self.cfg.me || self.peer(node).is_some_and(|p| p.status != "dead")
    }

    /// The node that takes what `of` leaves when no home node claims it: the first live
    /// node after `of` in ha.cf order (with two nodes: the other one).
    fn successor(&self, of: &str) -> Option<&str> {
        let n = self.cfg.nodes.len();
        let start = self
            .cfg
            .nodes
            .iter()
            .position(|x| x == of)
            .map_or(0, |i| i + 1);
        (0..n)
            .filter_map(|k| self.cfg.nodes.get((start + k) % n))
            .find(|x| x.as_str() != of && self.alive(x))
            .map(|s| s.as_str())
    }

    /// Whether this node should take group `g` released (or left) by `by`: its home node
    /// if that one is alive and is not `by`, else `by`'s successor.
    fn we_take(&self, g: usize, by: &str) -> bool {
        let Some(def) = self.cfg.groups.get(g) else {
            return false;
        };
        let home = def.node.as_str();
        if home != by && self.cfg.nodes.iter().any(|n| n == home) && self.alive(home) {
            home == self.cfg.me
        } else {
            self.successor(by) == Some(self.cfg.me.as_str())
        }
    }

    /// Whether we may take our local groups back by force when `gone` left: with two
    /// nodes always (as the original); with more, only if no other live peer announces
    /// holding foreign groups (it may hold ours).
    fn may_force_local(&self, gone: &str) -> bool {
        !self
            .peers
            .iter()
            .any(|p| p.name != gone && p.status != "dead" && p.holds & rsc::FOREIGN != 0)
    }

    /// The sets of the groups running or starting here.
    fn running_bits(&self) -> u8 {
        let mut bits = rsc::NONE;
        for (g, rt) in self.groups.iter().enumerate() {
            if rt.running || rt.job.is_some_and(|(_, start)| start) {
                bits |= if self.is_local(g) {
                    rsc::LOCAL
                } else {
                    rsc::FOREIGN
                };
            }
        }
        bits
    }

    /// Whether some foreign group running here has its home node alive.
    fn failback_has_a_home(&self) -> bool {
        (0..self.groups.len()).any(|g| {
            !self.is_local(g)
                && (self.groups[g].running || self.groups[g].job.is_some())
                && self
                    .cfg
                    .groups
                    .get(g)
                    .is_some_and(|d| self.cfg.nodes.contains(&d.node) && self.alive(&d.node))
        })
    }

    fn is_local(&self, g: usize) -> bool {
        self.cfg
            .groups
            .get(g)
            .is_some_and(|d| d.node == self.cfg.me)
    }

    fn in_set(&self, g: usize, set: u8) -> bool {
        let bit = if self.is_local(g) {
            rsc::LOCAL
        } else {
            rsc::FOREIGN
        };
        set & bit != 0
    }

    fn group_index(&self, key: &str) -> Option<usize> {
        self.cfg.groups.iter().position(|d| d.key == key)
    }

    fn announce(&mut self, reason: &str) {
        if self.announced || !self.local_done || !self.foreign_done {
            return;
        }
        self.announced = true;
        self.log(
            Level::Info,
            format!("Initial resource acquisition complete ({reason})"),
        );
    }

    /// `resource rsc_hold=<i_hold> rtype=full isstable=<0|1>[ info=COMMENT]`.
    fn send_resources_held(&mut self, stable: bool, comment: Option<&str>) {
        if !self.nice() {
            return;
        }
        // More than two nodes: also announce what we really run, so that a node never
        // takes a group of ours or of a third node while we run it.
        let bits = if self.cfg.nodes.len() > 2 {
            self.i_hold | self.running_bits()
        } else {
            self.i_hold
        };
        let mut m = Message::with_type("resource");
        m.push_str("rsc_hold", rsc::name(bits))
            .push_str("rtype", "full")
            .push_str("isstable", if stable { "1" } else { "0" });
        if let Some(c) = comment {
            m.push_str("info", c);
        }
        self.send(m);
    }

    fn send_standby_msg(&mut self, state: StandbyState) {
        let mut m = Message::with_type("ask_resources");
        m.push_str("rsc_hold", rsc::name(self.standby_rsctype))
            .push_str("info", state.word());
        self.send(m);
    }

    fn send_stonith_msg(&mut self, node: &str, result: &str) {
        let mut m = Message::with_type("stonith");
        m.push_str("node", node).push_str("result", result);
        self.send(m);
    }

    /// Timers that the original checks before it processes a message.
    fn expire(&mut self, now: Instant) {
        for node in self.fencing.due_retries(now) {
            if self.shutdown_in_progress {
                self.log(
                    Level::Info,
                    format!("STONITH of {node} not retried: shutdown in progress."),
                );
            } else if self.alive(&node) {
                // The original would retry, and reset a node that is back and running its
                // groups (which we never took).
                self.log(
                    Level::Warn,
                    format!("STONITH of {node} not retried: {node} is alive again; its resource groups stay with it."),
                );
            } else {
                self.fence(&node);
            }
        }
        if self.fencing.status_due(now) {
            self.actions.push_back(Action::FenceStatus);
        }
        for op in self.items.iter_mut().flat_map(|i| i.ops.iter_mut()) {
            if matches!(op.guard, Guard::Answered(at) if now >= at) {
                op.guard = Guard::Unchecked;
            }
        }
        if self.standby_running.is_some_and(|t| now >= t) {
            self.standby_running = None;
            self.other_stable = true;
            self.going_standby = StandbyState::Not;
            self.log(
                Level::Warn,
                "No reply to standby request.  Standby request cancelled.".into(),
            );
        }
        if self.failback_timer.is_some_and(|t| now >= t) {
            self.failback_timer = None;
            self.perform_auto_failback(now);
        }
        let mut due = Vec::new();
        self.standby_later.retain(|(t, set)| {
            if now >= *t {
                due.push(*set);
                false
            } else {
                true
            }
        });
        for set in due {
            if !self.shutdown_in_progress {
                self.log(Level::Info, format!("Going standby [{set}]."));
                let mut m = Message::with_type("ask_resources");
                m.push_str("rsc_hold", set).push_str("info", "me");
                self.send(m);
            }
        }
    }

    /// End of every input: start the work that may start, finish what is done, and go on
    /// with a delayed shutdown when things became stable.
    fn after(&mut self, now: Instant) {
        self.heal_orphaned_local();
        // The original checks this timer after the input of a poll round was processed.
        if self.nice()
            && self.state == ResourceState::RscRcvd
            && self.local_takeover_time.is_some_and(|t| now >= t)
        {
            self.state = ResourceState::Stable;
            self.req_our_resources(false);
            self.log(Level::Info, "local resource transition completed.".into());
            self.send_resources_held(true, None);
            self.audit_resources();
        }
        for _ in 0..16 {
            let progressed = self.run_work();
            let before = self.items.len();
            self.shutdown_if_needed();
            if !progressed && self.items.len() == before {
                break;
            }
        }
    }

    fn shutdown_if_needed(&mut self) {
        if self.rsc_needs_shutdown {
            self.giveup_resources();
        }
    }

    // ------------------------------------------------------------------ work items

    /// Starts startable items, issues jobs, finishes items whose ops are all done.
    /// Returns whether anything changed.
    fn run_work(&mut self) -> bool {
        let mut changed = false;
        loop {
            let mut step = false;
            // Start: forked work at once, queued work (in order) only when nothing else runs.
            for k in 0..self.items.len() {
                if !self.items[k].started && !self.items[k].work.queued() {
                    self.start_item(k);
                    step = true;
                }
            }
            if self.items.iter().all(|i| !i.started) {
                if let Some(k) = self.items.iter().position(|i| i.work.queued()) {
                    self.start_item(k);
                    step = true;
                }
            }
            // Issue jobs.
            for k in 0..self.items.len() {
                if self.items[k].started && self.issue(k) {
                    step = true;
                }
            }
            // Finish.
            if let Some(k) = self
                .items
                .iter()
                .position(|i| i.started && i.ops.is_empty())
            {
                let item = self.items.remove(k);
                self.finish_item(item);
                step = true;
            }
            if !step {
                break;
            }
            changed = true;
        }
        changed
    }

    /// Issues the jobs an item may issue now. Returns whether a job was issued or an op
    /// found already satisfied.
    fn issue(&mut self, k: usize) -> bool {
        let mut step = false;
        let mut idx = 0;
        loop {
            let Some(item) = self.items.get(k) else {
                return step;
            };
            if idx >= item.ops.len() || (item.sequential && idx > 0) {
                return step;
            }
            let op = item.ops[idx].clone();
            if op.issued.is_some() || op.waiting.is_some() {
                idx += 1;
                continue;
            }
            let rt = self.groups.get(op.group).cloned().unwrap_or_default();
            if let Some((job, _)) = rt.job {
                if let Some(o) = self.items.get_mut(k).and_then(|i| i.ops.get_mut(idx)) {
                    o.waiting = Some(job);
                }
                idx += 1;
                continue;
            }
            if rt.running == op.start {
                if let Some(i) = self.items.get_mut(k) {
                    i.ops.remove(idx);
                }
                step = true;
                continue;
            }
            let key = self
                .cfg
                .groups
                .get(op.group)
                .map(|d| d.key.clone())
                .unwrap_or_default();
            // A start while a peer is declared dead: only once the group's addresses
            // are silent (the peer may be alive behind a cut heartbeat path).
            let guarded = op.start && self.peers.iter().any(|p| p.status == "dead");
            if guarded && op.guard != Guard::Clear {
                if op.guard == Guard::Unchecked {
                    let job = JobId(self.next_job);
                    self.next_job += 1;
                    if let Some(o) = self.items.get_mut(k).and_then(|i| i.ops.get_mut(idx)) {
                        o.guard = Guard::InFlight(job);
                    }
                    self.actions.push_back(Action::Probe { job, key });
                    step = true;
                }
                idx += 1;
                continue;
            }
            let job = JobId(self.next_job);
            self.next_job += 1;
            if let Some(g) = self.groups.get_mut(op.group) {
                g.job = Some((job, op.start));
                g.took |= guarded;
            }
            if let Some(o) = self.items.get_mut(k).and_then(|i| i.ops.get_mut(idx)) {
                o.issued = Some(job);
            }
            self.actions.push_back(if op.start {
                Action::StartGroup { job, key }
            } else {
                Action::StopGroup { job, key }
            });
            step = true;
            idx += 1;
        }
    }

    fn start_item(&mut self, k: usize) {
        let Some(work) = self.items.get(k).map(|i| i.work.clone()) else {
            return;
        };
        let mut ops: Vec<(usize, bool)> = Vec::new();
        let mut sequential = false;
        let mut weown = false;
        let n = self.cfg.groups.len();
        match &work {
            Work::ReqOur { dontask } => {
                let me = self.cfg.me.clone();
                let mut count = 0;
                for g in 0..n {
                    if !self.is_local(g) {
                        continue;
                    }
                    count += 1;
                    if self.groups[g].running {
                        continue;
                    }
                    let key = self.cfg.groups[g].key.clone();
                    if *dontask {
                        let mut m = Message::with_type("ip-request-resp");
                        m.push_str("dest", &me)
                            .push_str("ipaddr", &key)
                            .push_str("weown", "yes")
                            .push_str("ok", "OK");
                        self.send(m);
                        ops.push((g, true));
                    } else {
                        let mut m = Message::with_type("ip-request");
                        m.push_str("ipaddr", &key);
                        self.send(m);
                        self.note_ip_request(&key);
                    }
                }
                if count == 0 {
                    self.log(
                        Level::Info,
                        format!("No local resources [ResourceManager listkeys {me}] to acquire."),
                    );
                } else {
                    self.log(Level::Info, "Local Resource acquisition completed.".into());
                }
                self.send_resources_held(true, Some("req_our_resources()"));
            }
            Work::StandbyGive { act, .. } => {
                self.log(
                    Level::Info,
                    format!("give up {} HA resources (standby).", rsc::name(*act)),
                );
                sequential = true;
                ops = (0..n)
                    .rev()
                    .filter(|g| self.in_set(*g, *act))
                    .map(|g| (g, false))
                    .collect();
            }
            Work::StandbyTake {
                set,
                act,
                from,
                quirk,
                ..
            } => {
                self.log(
                    Level::Info,
                    format!("acquire {} HA resources (standby).", rsc::name(*act)),
                );
                if !quirk {
                    // What `from` gives up (its set, from its point of view), of which
                    // we take our share (with two nodes: all of it, our mirrored set).
                    ops = (0..n)
                        .filter(|g| {
                            let bit = if self.cfg.groups[*g].node == *from {
                                rsc::LOCAL
                            } else {
                                rsc::FOREIGN
                            };
                            bit & *set != 0 && self.we_take(*g, from)
                        })
                        .map(|g| (g, true))
                        .collect();
                }
            }
            Work::Giveup => {
                self.log(Level::Info, "Giving up all HA resources.".into());
                sequential = true;
                ops = (0..n).rev().map(|g| (g, false)).collect();
            }
            Work::MachDown { node } => {
                if *node != self.cfg.me && self.successor(node) == Some(self.cfg.me.as_str()) {
                    for g in 0..n {
                        let home = self.cfg.groups[g].node.clone();
                        if home == self.cfg.me {
                            continue;
                        }
                        let orphan = self.cfg.nodes.contains(&home) && !self.alive(&home);
                        if home == *node || orphan {
                            let key = self.cfg.groups[g].key.clone();
                            self.log(Level::Info, format!("Taking over resource group {key}"));
                            ops.push((g, true));
                        }
                    }
                }
            }
            Work::IpRequest { key, .. } => {
                if let Some(g) = self.group_index(key) {
                    weown = self.groups[g].running || self.groups[g].job.is_some_and(|(_, s)| s);
                    ops.push((g, false));
                }
            }
            Work::TakeGroup { key } => {
                if let Some(g) = self.group_index(key) {
                    ops.push((g, true));
                }
            }
            Work::GiveBack { key, .. } => {
                if let Some(g) = self.group_index(key) {
                    ops.push((g, false));
                }
            }
        }
        // A newer intent on a group replaces older ones not yet acted upon.
        for (g, _) in &ops {
            for (j, other) in self.items.iter_mut().enumerate() {
                if j == k || !other.started {
                    continue;
                }
                other.ops.retain(|o| !(o.group == *g && o.issued.is_none()));
            }
        }
        if let Some(item) = self.items.get_mut(k) {
            item.started = true;
            item.sequential = sequential;
            item.weown = weown;
            item.ops = ops
                .into_iter()
                .map(|(group, start)| Op {
                    group,
                    start,
                    issued: None,
                    waiting: None,
                    guard: Guard::Unchecked,
                    logged: false,
                })
                .collect();
        }
    }

    fn finish_item(&mut self, item: Item) {
        match item.work {
            Work::ReqOur { .. } => {
                self.local_done = true;
                self.announce("req_our_resources");
            }
            Work::StandbyGive { act, done_set } => {
                self.log(
                    Level::Info,
                    format!(
                        "{} HA resource release completed (standby).",
                        rsc::name(act)
                    ),
                );
                let mut m = Message::with_type("ask_resources");
                m.push_str("rsc_hold", rsc::name(done_set))
                    .push_str("info", "done");
                self.send(m);
            }
            Work::StandbyTake { act, done_set, .. } => {
                self.log(
                    Level::Info,
                    format!(
                        "{} HA resource acquisition completed (standby).",
                        rsc::name(act)
                    ),
                );
                let mut m = Message::with_type("ask_resources");
                m.push_str("rsc_hold", rsc::name(done_set))
                    .push_str("info", "done");
                self.send(m);
            }
            Work::Giveup => {
                self.log(Level::Info, "All HA resources relinquished.".into());
                let mut m = Message::with_type("shutdone");
                m.push_str("st", "dead");
                self.send(m);
                self.shutdown_complete = true;
                self.actions.push_back(Action::ShutdownComplete);
            }
            Work::MachDown { node } if item.cancelled => {
                // Its starts waited for addresses still answered, and the node is back.
                self.takeover_in_progress = false;
                self.rebase_i_hold();
                self.log(
                    Level::Info,
                    format!("mach_down takeover for node {node} cancelled: it is back."),
                );
            }
            Work::MachDown { node } => {
                if self.nice() {
                    self.log(
                        Level::Info,
                        "mach_down: nice_failback: foreign resources acquired".into(),
                    );
                    let mut m = Message::with_type("resource");
                    m.push_str("rsc_hold", "foreign")
                        .push_str("info", "mach_down");
                    self.send(m);
                } else if self.peers.iter().any(|p| p.status == "dead") {
                    self.foreign_done = true;
                    self.announce("status");
                }
                self.log(
                    Level::Info,
                    format!("mach_down takeover complete for node {node}."),
                );
            }
            Work::IpRequest { key, to } => {
                let mut m = Message::with_type("ip-request-resp");
                m.push_str("dest", &to)
                    .push_str("ipaddr", &key)
                    .push_str("weown", if item.weown { "yes" } else { "no" })
                    .push_str("ok", "OK");
                self.send(m);
            }
            Work::TakeGroup { .. } => {
                self.local_done = true;
                self.announce("ip-request-resp");
            }
            Work::GiveBack { key, to } => {
                self.rebase_i_hold();
                self.log(
                    Level::Info,
                    format!("Resource group {key} released: {to} runs it."),
                );
                let h = self.holding_now(false);
                self.send(h.to_message());
                self.send_resources_held(self.state == ResourceState::Stable, None);
            }
        }
    }

    // ------------------------------------------------------------------ protocol

    fn req_our_resources(&mut self, force: bool) {
        if self.shutdown_in_progress {
            return;
        }
        if self.nice() {
            if (self.other_holds & rsc::FOREIGN != 0 || self.i_hold & rsc::LOCAL != 0)
                && !force
                && self.going_standby == StandbyState::Not
            {
                self.log(
                    Level::Info,
                    "Local Resource acquisition completed. (none)".into(),
                );
                return;
            }
            self.i_hold |= rsc::LOCAL;
        }
        let upcount = 1 + self.peers.iter().filter(|p| p.status == "active").count();
        let dontask = self.nice() || upcount < 2;
        self.items.push(Item::new(Work::ReqOur { dontask }));
    }

    fn takeover_from_node(&mut self, node: &str) {
        if self.peer(node).is_none() {
            return;
        }
        if self.shutdown_in_progress {
            self.log(
                Level::Info,
                "Resource takeover cancelled - shutdown in progress.".into(),
            );
            return;
        }
        if !self.comm_up
            && self
                .peers
                .iter()
                .any(|p| p.name != node && p.status == "active")
        {
            // More than two nodes: `node` was gone before we came up and other nodes
            // are active; they took (or will take) what it had.
            self.log(
                Level::Info,
                format!("{node} was dead before we joined; its resources are left to the running nodes."),
            );
            return;
        }
        self.log(
            Level::Info,
            format!("Resources being acquired from {node}."),
        );
        self.items.push(Item::new(Work::MachDown {
            node: node.to_string(),
        }));
        if self.nice() {
            self.i_hold |= rsc::FOREIGN;
            self.other_holds = rsc::NONE;
            self.other_stable = true;
            self.takeover_in_progress = true;
        }
        if self.may_force_local(node) {
            self.req_our_resources(true);
        }
        if let Some(p) = self.peers.iter_mut().find(|p| p.name == node) {
            p.heard = true;
        }
    }

    fn recover_dead_resources(&mut self, node: &str) {
        if self.going_standby != StandbyState::Not {
            self.log(Level::Info, "Cancelling pending standby operation".into());
            self.going_standby = StandbyState::Not;
            self.standby_running = None;
            if !self.other_stable && self.i_hold & rsc::ALL == rsc::ALL {
                self.other_stable = true;
            }
        }
        if self.shutdown_in_progress {
            // A dead node is in no flux: a shutdown that waits for the other side to
            // become stable may go on (the original waited for its emergency timer).
            self.other_stable = true;
            match self.state {
                ResourceState::Shutdown | ResourceState::Stable => return,
                _ => {
                    self.giveup_resources();
                    return;
                }
            }
        }
        self.rsc_needs_failback = true;
        let (heard, has_resources) = self
            .peer(node)
            .map_or((false, true), |p| (p.heard, p.has_resources));
        let mut need_stonith = true;
        if heard {
            if self.nice() {
                if self.other_holds == rsc::NONE {
                    need_stonith = false;
                }
            } else if !has_resources {
                need_stonith = false;
            }
        }
        if need_stonith && self.fencing.configured {
            // Reset it before anything of it is taken: takeover_from_node comes with a
            // successful reset (fence_done).
            self.fence(node);
        } else if need_stonith {
            self.send_stonith_msg(node, "n_stnth");
            self.log(Level::Warn, "No STONITH device configured.".into());
            self.log(Level::Warn, "Shared disks are not protected.".into());
            self.takeover_from_node(node);
        } else {
            self.log(Level::Info, format!("Dead node {node} gave up resources."));
            self.send_stonith_msg(node, "unneeded");
            if self.nice() {
                if self.i_hold & rsc::ALL == rsc::ALL {
                    self.other_stable = true;
                    return;
                }
                if self.i_hold & rsc::LOCAL == 0 && self.may_force_local(node) {
                    self.req_our_resources(true);
                }
                if self.i_hold & rsc::FOREIGN == 0 {
                    self.takeover_from_node(node);
                }
            } else {
                self.takeover_from_node(node);
            }
        }
    }

    fn perform_auto_failback(&mut self, now: Instant) {
        if self.shutdown_in_progress
            || self.i_hold & rsc::FOREIGN == 0
            || !self.rsc_needs_failback
            || !self.auto_failback()
        {
            self.rsc_needs_failback = false;
            return;
        }
        if self.cfg.nodes.len() > 2 && !self.failback_has_a_home() {
            // More than two nodes: none of the foreign groups we run has its home node
            // back yet; try again when some node's resources settle.
            return;
        }
        if self.going_standby != StandbyState::Not
            || !self.other_stable
            || self.state != ResourceState::Stable
        {
            self.log(Level::Debug, "Auto failback delayed.".into());
            if self.failback_timer.is_none() {
                self.failback_timer = Some(now + FAILBACK_RETRY);
            }
            return;
        }
        self.log(Level::Debug, "Auto failback triggered.".into());
        self.standby_rsctype = rsc::FOREIGN;
        self.send_standby_msg(StandbyState::Me);
        self.rsc_needs_failback = false;
    }

    fn process_resources(&mut self, now: Instant, t: &str, msg: &Message, from: &str) {
        if !self.nice() {
            return;
        }
        let from_me = from == self.cfg.me;
        let mut newstate = self.state;

        if t == "starting" && !from_me {
            match self.state {
                ResourceState::RscRcvd | ResourceState::Stable | ResourceState::Shutdown => {}
                ResourceState::Starting => {
                    newstate = ResourceState::BothStarting;
                    self.foreign_done = true;
                    self.announce("HB_R_BOTHSTARTING");
                }
                s => {
                    self.log(
                        Level::Error,
                        format!("Received 'starting' message in state {}", s.number()),
                    );
                    return;
                }
            }
            self.other_stable = false;
            if self.takeover_in_progress {
                self.log(Level::Warn, "T_STARTING received during takeover.".into());
            }
            self.send_resources_held(self.state == ResourceState::Stable, None);
        }

        if t == "resource" {
            let Some(p) = msg.get("rsc_hold") else {
                self.log(
                    Level::Error,
                    "resource message without rsc_hold field.".into(),
                );
                return;
            };
            let Some(n) = rsc::parse(p) else {
                self.log(
                    Level::Error,
                    format!("encode_resources: bad resource type [{p}]"),
                );
                return;
            };
            let full = msg.get("rtype") == Some("full");
            match self.state {
                ResourceState::BothStarting | ResourceState::Starting => {
                    newstate = ResourceState::RscRcvd;
                    if !self.auto_failback() {
                        self.foreign_done = true;
                        self.announce("T_RESOURCES");
                    }
                }
                ResourceState::RscRcvd | ResourceState::Stable | ResourceState::Shutdown => {}
                s => {
                    self.log(
                        Level::Error,
                        format!("resource message received in state {}", s.number()),
                    );
                    return;
                }
            }
            if !from_me {
                self.other_holds = rsc::update(full, self.other_holds, n);
                if let Some(p) = self.peers.iter_mut().find(|p| p.name == from) {
                    p.holds = rsc::update(full, p.holds, n);
                }
                self.other_fresh = full && msg.get("isstable") == Some("1");
                if let Some(st) = msg.get("isstable") {
                    if st == "1" {
                        if !self.other_stable {
                            self.log(Level::Info, "remote resource transition completed.".into());
                            self.other_stable = true;
                            self.send_resources_held(self.state == ResourceState::Stable, None);
                            self.perform_auto_failback(now);
                        }
                    } else {
                        self.other_stable = false;
                    }
                }
                if self.state != ResourceState::Stable
                    && self.state != ResourceState::Shutdown
                    && self.other_stable
                {
                    self.log(Level::Info, "remote resource transition completed.".into());
                    self.req_our_resources(false);
                    newstate = ResourceState::Stable;
                    self.send_resources_held(true, None);
                    self.perform_auto_failback(now);
                    self.foreign_done = true;
                    if !self.auto_failback() && self.other_holds & rsc::FOREIGN != 0 {
                        self.local_done = true;
                    }
                    self.announce("T_RESOURCES(them)");
                }
            } else {
                // Our own report, looped back. In the original it comes from a child
                // process and tells the master what the child acquired; here the state
                // was set before the report was sent, and a report queued before a later
                // change (`none`, then `local` a moment after) must not set it back.
                let _ = (full, n);
                if self.i_hold & rsc::LOCAL != 0 {
                    self.local_done = true;
                    self.announce("T_RESOURCES(us)");
                }
                match msg.get("info") {
                    Some("mach_down") => {
                        self.log(Level::Info, "mach_down takeover complete.".into());
                        self.takeover_in_progress = false;
                        self.i_hold |= rsc::FOREIGN;
                        self.rsc_needs_failback = true;
                        self.other_stable = true;
                        self.foreign_done = true;
                        self.announce("mach_down");
                    }
                    Some("shutdown") => {
                        self.state = ResourceState::Shutdown;
                        newstate = ResourceState::Shutdown;
                    }
                    _ => {}
                }
            }
        }

        self.state = newstate;
        if self.state == ResourceState::RscRcvd && self.local_takeover_time.is_none() {
            self.local_takeover_time = Some(now + RSCRCVD_DELAY);
        }
        self.audit_resources();
    }

    /// The other node's last word was a stable, full report in which it holds none of
    /// our groups, we hold none either, and we are stable (e.g. it restarted faster than
    /// its dead time and lost what it held, or a standby request timed out after we gave
    /// our groups away): take them. The original only logs
    /// `No one owns our local resources!` and leaves them down.
    fn heal_orphaned_local(&mut self) {
        if self.other_fresh
            && self.nice()
            && self.is_stable()
            && !self.shutdown_in_progress
            && self.state == ResourceState::Stable
            && self.i_hold & rsc::LOCAL == 0
            && self.other_holds & rsc::FOREIGN == 0
            && (0..self.groups.len()).any(|g| self.is_local(g))
        {
            self.log(
                Level::Warn,
                "Nobody holds our local resources: acquiring them.".into(),
            );
            self.req_our_resources(true);
        }
    }

    fn shutdone(&mut self, from: &str) {
        if from == self.cfg.me {
            if self.nice() {
                self.state = ResourceState::Shutdown;
                self.i_hold = rsc::NONE;
            }
            return;
        }
        let mut quirk = None;
        if self.nice() {
            self.other_stable = true;
            self.other_holds = rsc::NONE;
            if self.i_hold != rsc::ALL && !self.shutdown_in_progress {
                let rtype = match self.i_hold {
                    rsc::FOREIGN => rsc::LOCAL,
                    rsc::LOCAL => rsc::FOREIGN,
                    _ => rsc::ALL,
                };
                // The original starts the acquisition child of the standby "other"
                // side for that set; its `done` comes after the takeover's messages.
                self.going_standby = StandbyState::Done;
                quirk = Some(rtype);
            }
            self.audit_resources();
        }
        if let Some(p) = self.peers.iter_mut().find(|p| p.name == from) {
            p.has_resources = false;
            p.holds = rsc::NONE;
        }
        self.other_stable = false;
        self.other_holds = rsc::NONE;
        self.log(
            Level::Info,
            format!("Received shutdown notice from '{from}'."),
        );
        if self.partitioned.remove(from) {
            // An original peer restarting after a partition: it released every group,
            // some of which may have been ours too (clients' ARP caches point at it).
            self.announce_running();
        }
        self.takeover_from_node(from);
        if let Some(rtype) = quirk {
            self.go_standby(StandbyState::Other, rtype, from, true);
        }
    }

    fn ip_request_resp(&mut self, msg: &Message, from: &str) {
        if self.shutdown_in_progress {
            return;
        }
        if msg.get("dest") != Some(self.cfg.me.as_str()) {
            return;
        }
        let key = msg.get("ipaddr").unwrap_or("").to_string();
        let ok = msg.get("ok").unwrap_or("");
        let weown = msg.get("weown").unwrap_or("");
        if key.is_empty() {
            self.log(
                Level::Error,
                format!("ip-request-resp from {from} without ipaddr ignored"),
            );
            return;
        }
        self.log(
            Level::Info,
            format!("received ip-request-resp {key} {ok} {weown}"),
        );
        if ok != "OK" || from == self.cfg.me {
            // Our own answers to ourselves: the group was started directly.
            return;
        }
        if self.group_index(&key).is_none() {
            self.log(
                Level::Error,
                format!("ip-request-resp for unknown resource group {key} ignored"),
            );
            return;
        }
        if self.cfg.nodes.len() > 2 {
            if weown == "yes" {
                self.ip_asked.remove(&key);
            } else {
                // Not asked by us (an answer to another node's request), or the holder
                // has not answered yet: nothing to take now.
                let Some(waiting) = self.ip_asked.get_mut(&key) else {
                    return;
                };
                waiting.remove(from);
                self.ip_answers_complete();
                return;
            }
        }
        self.items.push(Item::new(Work::TakeGroup { key }));
    }

    /// More than two nodes: remember an `ip-request` we sent (see `ip_asked`).
    fn note_ip_request(&mut self, key: &str) {
        if self.cfg.nodes.len() > 2 {
            let waiting = self
                .peers
                .iter()
                .filter(|p| p.status == "active")
                .map(|p| p.name.clone())
                .collect();
            self.ip_asked.insert(key.to_string(), waiting);
        }
    }

    /// Takes every group asked for with `ip-request` that every peer we wait for answered
    /// `weown=no` for (nobody runs it). Also run when a peer dies (it answers no more).
    fn ip_answers_complete(&mut self) {
        let done: Vec<String> = self
            .ip_asked
            .iter()
            .filter(|(_, waiting)| {
                waiting
                    .iter()
                    .all(|n| self.peer(n).is_none_or(|p| p.status == "dead"))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            self.ip_asked.remove(&key);
            self.items.push(Item::new(Work::TakeGroup { key }));
        }
    }

    fn go_standby(&mut self, who: StandbyState, set: u8, from: &str, quirk: bool) {
        let giving = who == StandbyState::Me;
        if giving {
            self.other_stable = false;
            self.i_hold &= !set;
            self.send_resources_held(false, Some("standby"));
        }
        let act = match set {
            rsc::FOREIGN if giving => rsc::FOREIGN,
            rsc::FOREIGN => rsc::LOCAL,
            rsc::LOCAL if giving => rsc::LOCAL,
            rsc::LOCAL => rsc::FOREIGN,
            rsc::ALL => rsc::ALL,
            _ => {
                self.log(
                    Level::Error,
                    format!(
                        "no resources to {}",
                        if giving { "give up" } else { "acquire" }
                    ),
                );
                return;
            }
        };
        let done_set = self.standby_rsctype;
        let work = if giving {
            Work::StandbyGive { act, done_set }
        } else {
            Work::StandbyTake {
                set,
                act,
                done_set,
                from: from.to_string(),
                quirk,
            }
        };
        self.items.push(Item::new(work));
    }

    fn ask_for_resources(&mut self, now: Instant, msg: &Message, from: &str) {
        if !self.nice() {
            self.log(
                Level::Info,
                "Standby mode only implemented when nice_failback on".into(),
            );
            return;
        }
        if self.state == ResourceState::Shutdown {
            self.log(
                Level::Debug,
                "standby message ignored during shutdown".into(),
            );
            return;
        }
        let Some(info) = msg.get("info").map(str::to_string) else {
            self.log(
                Level::Error,
                "Received standby message without info/from".into(),
            );
            return;
        };
        let rtype = match msg.get("rsc_hold") {
            None => rsc::ALL,
            Some(w) => match rsc::parse(w) {
                Some(r) => r,
                None => {
                    self.log(
                        Level::Error,
                        format!("encode_resources: bad resource type [{w}]"),
                    );
                    return;
                }
            },
        };
        let from_me = from == self.cfg.me;
        let orig = self.going_standby;
        let is = |w: &str| info.eq_ignore_ascii_case(w);

        if let Some(until) = self.standby_running {
            if now < until && is("me") {
                let left = until.duration_since(now).as_millis().div_ceil(1000);
                self.log(
                    Level::Warn,
                    format!(
                        "Standby in progress- new request from {from} ignored [{left} seconds left]"
                    ),
                );
                return;
            }
        }

        let mut ignored = false;
        match self.going_standby {
            StandbyState::Not => {
                if !self.other_stable {
                    self.log(
                        Level::Warn,
                        format!(
                            "standby message [{info}] from {from} ignored.  Other side is in flux."
                        ),
                    );
                    return;
                }
                if self.state != ResourceState::Stable {
                    self.log(
                        Level::Warn,
                        format!(
                            "standby message [{info}] from {from} ignored.  local resources in flux."
                        ),
                    );
                    return;
                }
                if is("me") && !from_me {
                    // The groups we would take: the initiator's set, seen from our side.
                    let ours = match rtype {
                        rsc::LOCAL => rsc::FOREIGN,
                        rsc::FOREIGN => rsc::LOCAL,
                        r => r,
                    };
                    let refused: Vec<String> = (0..self.cfg.groups.len())
                        .filter(|g| {
                            let bit = if self.is_local(*g) {
                                rsc::LOCAL
                            } else {
                                rsc::FOREIGN
                            };
                            ours & bit != 0 && self.unfit.contains(&self.cfg.groups[*g].key)
                        })
                        .map(|g| self.cfg.groups[g].key.clone())
                        .collect();
                    if !refused.is_empty() {
                        self.log(
                            Level::Warn,
                            format!(
                                "standby message [{info}] from {from} ignored: the service check of {} fails here",
                                refused.join(", ")
                            ),
                        );
                        return;
                    }
                }
                self.standby_rsctype = rtype;
                if is("me") {
                    self.other_stable = false;
                    self.log(
                        Level::Info,
                        format!("{from} wants to go standby [{}]", rsc::name(rtype)),
                    );
                    if from_me {
                        self.standby_running = Some(now + STANDBY_REPLY_TIMEOUT);
                        self.going_standby = StandbyState::Me;
                        self.standby_given = false;
                    } else {
                        self.going_standby = StandbyState::Other;
                        self.send_standby_msg(StandbyState::Other);
                        self.standby_running = Some(now + STANDBY_RESOURCE_TIMEOUT);
                    }
                } else {
                    ignored = true;
                }
            }
            StandbyState::Me => {
                if !from_me {
                    self.standby_rsctype = rtype;
                    self.standby_running = Some(now + STANDBY_RESOURCE_TIMEOUT);
                    if is("other") {
                        self.log(
                            Level::Info,
                            format!(
                                "standby: {from} can take our {} resources",
                                rsc::name(rtype)
                            ),
                        );
                        if !self.standby_given {
                            self.standby_given = true;
                            self.go_standby(StandbyState::Me, rtype, from, false);
                        }
                    } else {
                        ignored = true;
                    }
                } else if is("done") {
                    self.log(
                        Level::Info,
                        format!("Local standby process completed [{}].", rsc::name(rtype)),
                    );
                    self.going_standby = StandbyState::Done;
                    self.i_hold &= !self.standby_rsctype;
                    self.standby_running = Some(now + STANDBY_RESOURCE_TIMEOUT);
                } else {
                    ignored = true;
                }
            }
            StandbyState::Other => {
                self.standby_rsctype = rtype;
                if is("done") {
                    self.standby_running = Some(now + STANDBY_RESOURCE_TIMEOUT);
                    if !from_me {
                        self.log(
                            Level::Info,
                            format!(
                                "standby: acquire [{}] resources from {from}",
                                rsc::name(rtype)
                            ),
                        );
                        self.go_standby(StandbyState::Other, rtype, from, false);
                        self.going_standby = StandbyState::Done;
                    } else {
                        ignored = true;
                    }
                } else if !from_me || !is("other") {
                    ignored = true;
                }
            }
            StandbyState::Done => {
                self.standby_rsctype = rtype;
                if info == "done" {
                    self.standby_running = None;
                    self.going_standby = StandbyState::Not;
                    if from_me {
                        self.log(
                            Level::Info,
                            format!("Standby resource acquisition done [{}].", rsc::name(rtype)),
                        );
                        if self.auto_failback() {
                            self.local_done = true;
                            self.announce("auto_failback");
                        }
                        let rup = match rtype {
                            rsc::LOCAL => rsc::FOREIGN,
                            rsc::FOREIGN => rsc::LOCAL,
                            rsc::ALL => rsc::ALL,
                            _ => rsc::NONE,
                        };
                        self.i_hold |= rup;
                    } else {
                        self.log(
                            Level::Info,
                            format!(
                                "Other node completed standby takeover of {} resources.",
                                rsc::name(rtype)
                            ),
                        );
                    }
                    self.send_resources_held(true, None);
                    self.going_standby = StandbyState::Not;
                } else {
                    ignored = true;
                }
            }
        }
        if ignored {
            self.log(
                Level::Error,
                format!(
                    "Ignored standby message '{info}' from {from} in state {}",
                    orig.number()
                ),
            );
        }
    }

    fn giveup_resources(&mut self) {
        if !self.is_stable() {
            if !self.rsc_needs_shutdown {
                self.log(
                    Level::Warn,
                    "Shutdown delayed until current resource activity finishes.".into(),
                );
                self.rsc_needs_shutdown = true;
            }
            return;
        }
        self.rsc_needs_shutdown = false;
        self.shutdown_in_progress = true;
        if self.giveup_started {
            self.log(Level::Info, "Heartbeat shutdown already underway.".into());
            return;
        }
        self.giveup_started = true;
        self.i_hold = rsc::NONE;
        self.state = ResourceState::Shutdown;
        if self.nice() {
            self.send_resources_held(false, Some("shutdown"));
        }
        self.log(
            Level::Info,
            format!("Heartbeat shutdown in progress. ({})", std::process::id()),
        );
        self.items.push(Item::new(Work::Giveup));
    }

    /// The original's cross-checks of what both sides announce.
    fn audit_resources(&mut self) {
        if !self.nice() || self.in_backlog {
            return;
        }
        if self.i_hold & rsc::LOCAL != 0 && self.other_holds & rsc::FOREIGN != 0 {
            self.log(Level::Error, "Both machines own our resources!".into());
        }
        if self.other_holds & rsc::LOCAL != 0 && self.i_hold & rsc::FOREIGN != 0 {
            self.log(Level::Error, "Both machines own foreign resources!".into());
        }
        if self.is_stable() && !self.shutdown_in_progress && self.state != ResourceState::Shutdown {
            if self.i_hold & rsc::LOCAL == 0 && self.other_holds & rsc::FOREIGN == 0 {
                self.log(Level::Error, "No one owns our local resources!".into());
            }
            if self.other_holds & rsc::LOCAL == 0 && self.i_hold & rsc::FOREIGN == 0 {
                self.log(Level::Error, "No one owns foreign resources!".into());
            }
        }
    }
}

impl Item {
    fn new(work: Work) -> Self {
        Item {
            work,
            started: false,
            sequential: false,
            ops: Vec::new(),
            weown: false,
            cancelled: false,
        }
    }
}
