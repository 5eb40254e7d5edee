//! The event loop: one thread, one `mio::Poll`, the sans-IO [`Node`] in the middle.

use std::io;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_core::{Node, Output};
use hb_io::fifo::{Fifo, FifoItem};
use hb_io::media::{datagram_buffer, Medium, MediumKind};
use hb_io::signals::{Signal, SignalFd};
use hb_log::{Level, Logger};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::api::View;
use crate::arpwatch::ArpWatch;
use crate::jobs::Jobs;
use crate::pinger::Pinger;
use crate::probes::{Probes, PROBE_BASE};
use crate::reload::Reloader;
use crate::respawner::Respawner;
use crate::send_errors::SendErrors;
use hb_api::socket::ApiSocket;
use hb_core::checks::CheckAction;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Tokens of the poll: media are `0..n`.
const SIGNALS: Token = Token(usize::MAX - 1);
const FIFO: Token = Token(usize::MAX - 2);
const CHILDREN: Token = Token(usize::MAX - 3);
const CHECK_CHILDREN: Token = Token(usize::MAX - 4);
/// The client API's tokens: the listener, then one per connection.
const API_BASE: usize = 1 << 22;
const PING: Token = Token(usize::MAX - 5);
const RESPAWN_CHILDREN: Token = Token(usize::MAX - 6);
/// The configuration reread on SIGHUP is done (its helper thread wakes the loop).
const RELOAD: Token = Token(usize::MAX - 7);
const ARP: Token = Token(usize::MAX - 8);
/// The STONITH commands' output.
const FENCE_CHILDREN: Token = Token(usize::MAX - 9);
/// How long the exit waits for respawned clients to end after SIGTERM.
const CLIENT_STOP_WAIT: Duration = Duration::from_secs(10);

/// Group jobs of local restarts (service checks) use ids from here up, apart from the
/// takeover's own.
const RESTART_JOB_BASE: u64 = 1 << 60;

/// The message type by which our nodes tell each other the health of a group's service
/// (an original heartbeat ignores it).
pub const CHECK_MSG: &str = "hb-check";

/// How often the status (with the packet counters) is written for `heartbeat -s`.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(5);
/// How soon after a change (a node, a link, a group, a check) the status is written again.
pub const STATUS_CHANGE_DELAY: Duration = Duration::from_millis(500);

/// Everything the loop needs, prepared by the caller (config loaded, daemonized).
pub struct LoopSetup {
    pub node: Node,
    /// The media, opened (their start lines logged).
    pub media: Vec<Medium>,
    pub jobs: Option<Jobs>,
    pub fifo: Option<Fifo>,
    /// Whether nice_failback is in effect (for `HA_NICEFAILBACK` of rc.d scripts).
    pub nice_failback: bool,
    /// Whether auto_failback is on (a group given away for its health is asked back).
    pub auto_failback: bool,
    /// Service checks (the `checks` file), if any.
    pub probes: Option<Probes>,
    /// Where the status for `heartbeat -s` is written (the state directory; see
    /// [`crate::status`]): every few seconds, and soon after a change.
    pub status_dir: Option<std::path::PathBuf>,
    /// Our haresources and checks digests, compared with the peers'.
    pub cfgsync: hb_core::cfgsync::ConfigSync,
    /// The groups whose addresses are announced again while they run here.
    pub arp_refresh: hb_core::arprefresh::ArpRefresh,
    /// The configuration (for the client API's answers).
    pub cfg: ha_config::Config,
    /// The client API socket to create when communication comes up (None: no API).
    pub api_path: Option<std::path::PathBuf>,
    /// apiauth with its users and groups looked up at start (never in the loop), and the
    /// warnings about names that do not exist (logged when the API is created).
    pub api_auth: (hb_api::proto::AuthTable, Vec<String>),
    pub pinger: Option<Pinger>,
    pub respawner: Option<Respawner>,
    /// The `watchdog` device, opened: a byte per heartbeat, `V` at a clean stop.
    pub watchdog: Option<hb_io::watchdog::Watchdog>,
    /// The STONITH device's commands (resets, checks), when one is configured.
    pub fencer: Option<crate::fencer::Fencer>,
    /// SIGHUP: rereads the files on a helper thread (see [`crate::reload`]).
    pub reload: Reloader,
}

/// What a SIGHUP leads to.
pub enum HupAction {
    /// Nothing changed, or the new configuration is refused (already logged).
    Keep,
    /// authkeys changed: use these keys from now on.
    NewKeys(hb_wire::KeyRing),
    /// Only ha.cf's timers changed ([`crate::reload::live_changes`]), perhaps authkeys too:
    /// apply them in place; the groups stay where they are.
    Apply {
        cfg: Box<ha_config::Config>,
        /// The directives that changed.
        changed: Vec<&'static str>,
        keys: Option<hb_wire::KeyRing>,
    },
    /// ha.cf or haresources changed: restart the daemon in place.
    Restart,
}

/// How the loop ended.
pub enum LoopEnd {
    Exit(i32),
    /// SIGHUP with a changed configuration: the caller re-executes the daemon.
    Restart,
}

/// Unix seconds now.
pub fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1)
}

struct Loop {
    node: Node,
    media: Vec<Medium>,
    jobs: Option<Jobs>,
    fifo: Option<Fifo>,
    nice_failback: bool,
    auto_failback: bool,
    probes: Option<Probes>,
    status_dir: Option<std::path::PathBuf>,
    status_written: Option<Instant>,
    /// Something `heartbeat -s` shows changed (a node, a link, a group, a check).
    status_dirty: bool,
    cfgsync: hb_core::cfgsync::ConfigSync,
    arp_refresh: hb_core::arprefresh::ArpRefresh,
    /// Local restarts in progress: job -> (group key, whether this job is the start).
    restarts: HashMap<hb_core::takeover::JobId, (String, bool)>,
    next_restart_job: u64,
    /// Restarted groups whose stop ended: to start again.
    restart_starts: Vec<String>,
    /// Groups we gave away because their check failed here.
    given_away: BTreeSet<String>,
    /// (peer, group key) -> the peer's check for that group fails.
    peer_unhealthy: HashMap<(String, String), bool>,
    cfg: ha_config::Config,
    api_path: Option<std::path::PathBuf>,
    api_auth: Option<(hb_api::proto::AuthTable, Vec<String>)>,
    api: Option<ApiSocket>,
    /// Ping nodes' statuses (`ping`, `dead`), for the API.
    ping: HashMap<String, String>,
    pinger: Option<Pinger>,
    respawner: Option<Respawner>,
    watchdog: Option<hb_io::watchdog::Watchdog>,
    fencer: Option<crate::fencer::Fencer>,
    /// Address probes and announcements (with resources only).
    arp: Option<ArpWatch>,
    comm_seen: bool,
    /// The loop ends once the respawned clients have stopped (or the wait is over).
    exit_pending: Option<(LoopEnd, Instant)>,
    /// A restart in place does not happen before this (the peer must see us dead first).
    restart_not_before: Option<Instant>,
    /// Send errors, per medium: logged at most once per interval, with the count suppressed.
    send_errors: SendErrors,
    exit: Option<LoopEnd>,
}

/// Runs the node until it has shut down; returns how it ended.
pub fn run_loop(setup: LoopSetup, log: &Logger, signals: &SignalFd) -> io::Result<LoopEnd> {
    let mut poll = Poll::new()?;
    let mut media = setup.media;
    for (i, m) in media.iter_mut().enumerate() {
        m.register(poll.registry(), Token(i))?;
    }
    let send_errors = SendErrors::new(media.iter().map(|m| m.dev.as_str()));
    let sfd = signals.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&sfd), SIGNALS, Interest::READABLE)?;
    if let Some(f) = &setup.fifo {
        f.register(poll.registry(), FIFO)?;
    }
    if let Some(j) = &setup.jobs {
        j.runner.register(poll.registry(), CHILDREN)?;
    }
    if let Some(p) = &setup.probes {
        p.runner.register(poll.registry(), CHECK_CHILDREN)?;
    }
    if let Some(p) = &setup.pinger {
        p.register(poll.registry(), PING)?;
    }
    if let Some(r) = &setup.respawner {
        r.runner.register(poll.registry(), RESPAWN_CHILDREN)?;
    }
    if let Some(f) = &setup.fencer {
        f.runner.register(poll.registry(), FENCE_CHILDREN)?;
    }
    let mut reload = setup.reload;
    reload.set_waker(Arc::new(mio::Waker::new(poll.registry(), RELOAD)?));
    let arp = match (&setup.jobs, poll.registry().try_clone()) {
        (Some(_), Ok(r)) => Some(ArpWatch::new(&setup.cfg.haresources, r, ARP)),
        (Some(_), Err(e)) => {
            log.log(
                Level::Warn,
                &format!("no address probes (they guard takeovers): {e}"),
            );
            None
        }
        (None, _) => None,
    };
    let mut l = Loop {
        node: setup.node,
        media,
        jobs: setup.jobs,
        fifo: setup.fifo,
        nice_failback: setup.nice_failback,
        auto_failback: setup.auto_failback,
        probes: setup.probes.filter(|p| !p.is_empty()),
        status_dir: setup.status_dir,
        status_written: None,
        status_dirty: true,
        cfgsync: setup.cfgsync,
        arp_refresh: setup.arp_refresh,
        restarts: HashMap::new(),
        next_restart_job: RESTART_JOB_BASE,
        restart_starts: Vec::new(),
        given_away: BTreeSet::new(),
        peer_unhealthy: HashMap::new(),
        cfg: setup.cfg,
        api_path: setup.api_path,
        api_auth: Some(setup.api_auth),
        api: None,
        ping: setup
            .pinger
            .as_ref()
            .map(|p| {
                p.nodes
                    .nodes()
                    .map(|n| (n.name.to_string(), "init".to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        pinger: setup.pinger,
        respawner: setup.respawner,
        watchdog: setup.watchdog,
        fencer: setup.fencer,
        arp,
        comm_seen: false,
        exit_pending: None,
        restart_not_before: None,
        send_errors,
        exit: None,
    };
    l.node.membership.set_loadavg(hb_io::state::loadavg());
    l.node
        .membership
        .set_status_field(hb_core::cfgsync::STATUS_FIELD, l.cfgsync.status_field());
    let mut events = Events::with_capacity(64);
    let mut buf = datagram_buffer();
    if let Some(d) = l.status_dir.as_ref() {
        crate::status::remove_all(d);
    }
    loop {
        l.drain(log);
        l.checks_turn(Instant::now(), poll.registry(), log);
        l.drain(log);
        l.api_turn(Instant::now(), poll.registry(), log);
        l.side_turn(Instant::now(), log);
        l.arp_refresh_turn(Instant::now(), log);
        l.drain(log);
        l.write_status(Instant::now());
        if let Some((how, deadline)) = &l.exit_pending {
            let done = l.respawner.as_ref().is_none_or(|r| r.policy.all_stopped())
                && !(matches!(how, LoopEnd::Restart)
                    && l.restart_not_before.is_some_and(|t| Instant::now() < t));
            if done || Instant::now() >= *deadline {
                l.exit = l.exit_pending.take().map(|(e, _)| e);
            }
        }
        if let Some(end) = l.exit.take() {
            // Every exit the loop decides on (also one for an error) ends the watchdog
            // cleanly, as the original's cleanexit; only a crash or a freeze leaves it armed.
            l.close_watchdog(log);
            return Ok(end);
        }
        let now = Instant::now();
        let next = hb_core::timers::earliest([
            l.node.poll_timeout(),
            l.jobs.as_ref().and_then(Jobs::poll_timeout),
            l.probes.as_ref().and_then(|p| p.checks.poll_timeout()),
            l.api.as_ref().and_then(|a| a.server().poll_timeout()),
            l.pinger.as_ref().and_then(|p| p.nodes.poll_timeout()),
            l.respawner.as_ref().and_then(|r| r.policy.poll_timeout()),
            l.arp.as_ref().and_then(ArpWatch::poll_timeout),
            l.arp_refresh.poll_timeout(),
            l.exit_pending
                .as_ref()
                .map(|(_, d)| (*d).min(Instant::now() + Duration::from_millis(100))),
        ]);
        let timeout = next
            .map(|t| t.saturating_duration_since(now))
            .unwrap_or(Duration::from_secs(1));
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                l.close_watchdog(log);
                return Err(e);
            }
        }
        let now = Instant::now();
        for ev in events.iter() {
            match ev.token() {
                SIGNALS => {
                    let pending = match signals.read_pending() {
                        Ok(p) => p,
                        Err(e) => {
                            l.close_watchdog(log);
                            return Err(e);
                        }
                    };
                    for s in pending {
                        match s {
                            Signal::Term | Signal::Int => {
                                l.stop_wins();
                                l.node.shutdown(now);
                                if let Some(r) = l.respawner.as_mut() {
                                    r.policy.shutdown(now);
                                }
                            }
                            Signal::Hup => {
                                log.reopen();
                                reload.hup(log);
                            }
                            Signal::Usr1 | Signal::Usr2 => {
                                let d = log.debug_level();
                                let lv = if s == Signal::Usr1 {
                                    d + 1
                                } else {
                                    d.saturating_sub(1)
                                };
                                log.set_debug_level(lv);
                                log.log(
                                    Level::Info,
                                    &format!("debug now set to {lv} [pid {}]", std::process::id()),
                                );
                            }
                            Signal::Chld => {
                                l.reap(now, log);
                                l.reap_clients(now, log);
                                l.reap_fences(now, log);
                                if let Some(p) = l.probes.as_mut() {
                                    p.reap(now);
                                }
                            }
                        }
                    }
                }
                RELOAD => {
                    if let Some(action) = reload.poll(log) {
                        l.hup_action(now, action, log);
                    }
                }
                FIFO => {
                    let items = match l.fifo.as_mut().map(Fifo::read_all) {
                        Some(Ok(items)) => items,
                        Some(Err(e)) => {
                            log.log(Level::Error, &format!("reading the FIFO: {e}"));
                            Vec::new()
                        }
                        None => Vec::new(),
                    };
                    for it in items {
                        match it {
                            // A refusal (too big) is logged by the membership.
                            FifoItem::Message(m) => {
                                let _ = l.node.handle_local_message(now, m);
                            }
                            FifoItem::Bad(why) => log.log(Level::Warn, &why),
                        }
                        l.drain(log);
                    }
                }
                PING => {
                    if let Some(p) = l.pinger.as_mut() {
                        p.readable(now);
                    }
                }
                ARP => {
                    let done = l.arp.as_mut().map(ArpWatch::readable).unwrap_or_default();
                    for (job, result) in done {
                        l.node.probe_done(now, job, result);
                    }
                }
                FENCE_CHILDREN => {
                    if let Some(f) = l.fencer.as_mut() {
                        f.runner.on_readable();
                    }
                    l.reap_fences(now, log);
                }
                RESPAWN_CHILDREN => {
                    if let Some(r) = l.respawner.as_mut() {
                        r.runner.on_readable();
                    }
                    l.reap_clients(now, log);
                }
                CHECK_CHILDREN => {
                    if let Some(p) = l.probes.as_mut() {
                        p.runner.on_readable();
                        p.reap(now);
                    }
                }
                t if l.api.as_ref().is_some_and(|a| a.owns(t)) => {
                    if let Some(api) = l.api.as_mut() {
                        let view = View {
                            node: &l.node,
                            cfg: &l.cfg,
                            ping: &l.ping,
                        };
                        api.on_event(poll.registry(), &view, ev, now);
                    }
                }
                Token(t) if t >= PROBE_BASE && t < PROBE_BASE + (1 << 16) => {
                    if let Some(p) = l.probes.as_mut() {
                        p.on_socket(now, Token(t), poll.registry());
                    }
                }
                CHILDREN => {
                    if let Some(j) = l.jobs.as_mut() {
                        j.runner.on_readable();
                    }
                    l.reap(now, log);
                }
                Token(i) => {
                    if let Some(m) = l.media.get_mut(i) {
                        let dev = m.dev.clone();
                        let node = &mut l.node;
                        if let Err(e) = m.recv_all(now, &mut buf, |data, from| {
                            node.handle_datagram_from(now, &dev, from, data)
                        }) {
                            log.log(Level::Error, &format!("receive error on {dev}: {e}"));
                        }
                        log_notices(m, log);
                    }
                }
            }
        }
        let now = Instant::now();
        if l.node.poll_timeout().is_some_and(|t| t <= now) {
            l.node.membership.set_loadavg(hb_io::state::loadavg());
            l.node.handle_timeout(now);
        }
        if let Some(j) = l.jobs.as_mut() {
            if j.poll_timeout().is_some_and(|t| t <= now) {
                let done = j.handle_timeout(now, log);
                l.finish_groups(now, done);
            }
        }
        if let Some(a) = l.arp.as_mut() {
            if a.poll_timeout().is_some_and(|t| t <= now) {
                for (job, result) in a.handle_timeout(now) {
                    l.node.probe_done(now, job, result);
                }
            }
        }
    }
}

/// The keys of the groups running here.
fn held_groups(node: &Node) -> Vec<String> {
    node.takeover
        .as_ref()
        .map(|t| t.running_groups().into_iter().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Logs what a medium itself reports (a serial line lost, stuck or back).
fn log_notices(m: &mut Medium, log: &Logger) {
    while let Some((level, text)) = m.poll_notice() {
        log.log(level, &text);
    }
}

impl Loop {
    fn reap(&mut self, now: Instant, log: &Logger) {
        if let Some(j) = self.jobs.as_mut() {
            let done = j.reap(now, log);
            self.finish_groups(now, done);
        }
    }

    fn finish_groups(&mut self, now: Instant, done: Vec<(hb_core::takeover::JobId, bool)>) {
        if !done.is_empty() {
            self.status_dirty = true;
        }
        for (job, ok) in done {
            match self.restarts.remove(&job) {
                None => self.node.group_done(now, job, ok),
                Some((key, false)) => {
                    // Stopped: started again at the next checks turn.
                    self.restart_starts.push(key);
                }
                Some((key, true)) => {
                    if let Some(p) = self.probes.as_mut() {
                        p.checks.group_restarted(now, &key, ok);
                    }
                }
            }
        }
    }

    /// One turn of the service checks: tell them which groups we hold and whether a peer
    /// could take each, run due probes, act on what they decide.
    fn checks_turn(&mut self, now: Instant, registry: &mio::Registry, log: &Logger) {
        for key in std::mem::take(&mut self.restart_starts) {
            let j = hb_core::takeover::JobId(self.next_restart_job);
            self.next_restart_job += 1;
            self.restarts.insert(j, (key.clone(), true));
            let done = match self.jobs.as_mut() {
                Some(js) => js.group(now, j, &key, true, log),
                None => vec![(j, false)],
            };
            self.finish_groups(now, done);
        }
        let Some(p) = self.probes.as_mut() else {
            return;
        };
        let held = held_groups(&self.node);
        let me = self.node.membership.name().to_string();
        let live_peers: Vec<String> = self
            .node
            .membership
            .peers()
            .iter()
            .filter(|x| x.name != me && x.status == hb_core::NodeStatus::Active)
            .map(|x| x.name.clone())
            .collect();
        let keys: Vec<String> = p.checks.group_keys().map(str::to_string).collect();
        for k in &keys {
            p.checks.set_holding(k, held.contains(k));
            let fit = live_peers.iter().any(|n| {
                !self
                    .peer_unhealthy
                    .get(&(n.clone(), k.clone()))
                    .copied()
                    .unwrap_or(false)
            });
            p.checks.set_peer_fit(now, k, fit);
        }
        p.advance(now, registry, log);
        let mut actions = Vec::new();
        while let Some(a) = p.checks.poll_action() {
            actions.push(a);
        }
        let mut changed = false;
        for a in actions {
            match a {
                CheckAction::Log(l, s) => {
                    changed = true;
                    log.log(l, &s);
                }
                CheckAction::RestartGroup(key) => {
                    log.log(
                        Level::Warn,
                        &format!("Restarting resource group {key} (service check failing)"),
                    );
                    let j = hb_core::takeover::JobId(self.next_restart_job);
                    self.next_restart_job += 1;
                    self.restarts.insert(j, (key.clone(), false));
                    let done = match self.jobs.as_mut() {
                        Some(js) => js.group(now, j, &key, false, log),
                        None => vec![(j, false)],
                    };
                    self.finish_groups(now, done);
                }
                CheckAction::GiveAway(key) => {
                    // Only this group moves: to a live peer whose check of it does not fail.
                    let to = live_peers.iter().find(|n| {
                        !self
                            .peer_unhealthy
                            .get(&((*n).clone(), key.clone()))
                            .copied()
                            .unwrap_or(false)
                    });
                    match to {
                        Some(to) => {
                            log.log(
                                Level::Warn,
                                &format!("Service check of {key} fails here: handing the group over to {to}"),
                            );
                            if self.node.give_group(now, &key, to) {
                                self.given_away.insert(key);
                            }
                        }
                        None => log.log(
                            Level::Warn,
                            &format!("Resource group {key} stays here: no live node can take it"),
                        ),
                    }
                }
                CheckAction::HealthChanged { key, healthy } => {
                    changed = true;
                    if let Some(t) = self.node.takeover.as_mut() {
                        t.set_unfit(&key, !healthy);
                    }
                    let mut m = hb_wire::Message::with_type(CHECK_MSG);
                    m.push_str("group", &key)
                        .push_str("healthy", if healthy { "yes" } else { "no" });
                    let _ = self.node.handle_local_message(now, m);
                    let local = self
                        .node
                        .takeover
                        .as_ref()
                        .is_some_and(|t| t.is_local_group(&key));
                    if healthy
                        && self.given_away.remove(&key)
                        && self.auto_failback
                        && local
                        && !held.contains(&key)
                    {
                        log.log(Level::Info, &format!("Service check of {key} is ok again: asking for the group back (auto_failback on)"));
                        self.node.ask_group(now, &key);
                    }
                }
            }
        }
        if changed {
            self.status_dirty = true;
        }
    }

    /// What a reread configuration leads to.
    fn hup_action(&mut self, now: Instant, action: HupAction, log: &Logger) {
        match action {
            HupAction::Keep => {}
            HupAction::NewKeys(k) => self.node.membership.set_keys(k),
            HupAction::Apply { cfg, changed, keys } => {
                let timing = crate::setup::timing(&cfg);
                if let Some(p) = self.pinger.as_mut() {
                    p.nodes.set_timing(
                        now,
                        hb_core::pingnodes::PingTiming::new(&timing, cfg.hacf.deadping),
                    );
                }
                self.node.membership.set_timing(now, timing);
                if let Some(k) = keys {
                    self.node.membership.set_keys(k);
                }
                // The scripts' HA_<directive> variables follow.
                let refresh = |env: &[(String, String)]| -> Vec<(String, String)> {
                    env.iter()
                        .map(|(k, v)| {
                            let name = k.strip_prefix("HA_").unwrap_or("");
                            match cfg.hacf.parameter(name) {
                                Some(new) if changed.contains(&name) => {
                                    (k.clone(), new.to_string())
                                }
                                _ => (k.clone(), v.clone()),
                            }
                        })
                        .collect()
                };
                let runners = [
                    self.jobs.as_mut().map(|j| &mut j.runner),
                    self.probes.as_mut().map(|p| &mut p.runner),
                    self.respawner.as_mut().map(|r| &mut r.runner),
                    self.fencer.as_mut().map(|f| &mut f.runner),
                ];
                for r in runners.into_iter().flatten() {
                    let env = refresh(r.base_env());
                    r.set_base_env(env);
                }
                self.cfg = *cfg;
            }
            HupAction::Restart => {
                if self.node.shutting_down() {
                    log.log(
                        Level::Info,
                        "Heartbeat shutdown already underway: no restart.",
                    );
                } else if self.node.takeover.is_some() {
                    log.log(
                        Level::Info,
                        "Heartbeat restart triggered: releasing resources first.",
                    );
                    self.node.restart(now);
                } else {
                    self.exit = Some(LoopEnd::Restart);
                }
            }
        }
    }

    /// A stop (TERM, INT) always wins over a restart in place that is about to end the loop.
    fn stop_wins(&mut self) {
        if let Some((end @ LoopEnd::Restart, _)) = self.exit_pending.as_mut() {
            *end = LoopEnd::Exit(crate::exit::OK);
        }
        if matches!(self.exit, Some(LoopEnd::Restart)) {
            self.exit = Some(LoopEnd::Exit(crate::exit::OK));
        }
    }

    /// The end of a shutdown: stop the respawned clients (last first), then let the loop
    /// end once they are gone.
    /// A restart in place waits, silent, for the dead time plus a second (rounded up to whole
    /// seconds, as the original's restart does: "make sure they notice we're dead"), so that the
    /// peer declares this node dead before it comes back: an original peer fails back to a node
    /// it saw die and come back, not always to one that restarted under its eyes while it was
    /// still taking the groups over.
    fn end(&mut self, now: Instant, how: LoopEnd) {
        if let Some(r) = self.respawner.as_mut() {
            r.policy.stop_all(now);
        }
        let mut deadline = now + CLIENT_STOP_WAIT;
        if matches!(how, LoopEnd::Restart) {
            let dead = self.cfg.hacf.deadtime;
            let secs = dead.as_secs() + u64::from(dead.subsec_nanos() > 0) + 1;
            let t = now + Duration::from_secs(secs);
            self.restart_not_before = Some(t);
            deadline = deadline.max(t);
        }
        self.exit_pending = Some((how, deadline));
    }

    /// STONITH commands that ended: their results to the core.
    fn reap_fences(&mut self, now: Instant, log: &Logger) {
        let done = match self.fencer.as_mut() {
            Some(f) => f.reap(log),
            None => return,
        };
        for d in done {
            self.fence_result(now, d);
        }
        self.drain(log);
    }

    fn fence_result(&mut self, now: Instant, d: crate::fencer::Done) {
        match d {
            crate::fencer::Done::Reset { node, result } => self.node.fence_done(now, &node, result),
            crate::fencer::Done::Status { ok } => self.node.fence_status_done(now, ok),
        }
    }

    /// Respawned clients that ended: the policy decides; the API forgets their sign-ons.
    fn reap_clients(&mut self, now: Instant, log: &Logger) {
        let Some(r) = self.respawner.as_mut() else {
            return;
        };
        let pids = r.reap(now, log);
        if let Some(api) = self.api.as_mut() {
            let view = View {
                node: &self.node,
                cfg: &self.cfg,
                ping: &self.ping,
            };
            for pid in pids {
                api.server_mut().process_exited(&view, pid);
            }
        }
    }

    /// Ping nodes and respawned clients: started at comm up, driven every turn.
    fn side_turn(&mut self, now: Instant, log: &Logger) {
        if !self.comm_seen && crate::api::comm_up(&self.node) {
            self.comm_seen = true;
            if let Some(p) = self.pinger.as_mut() {
                p.nodes.comm_up(now);
            }
            if let Some(r) = self.respawner.as_mut() {
                if !self.node.shutting_down() {
                    r.policy.comm_up(now);
                }
            }
        }
        if let Some(r) = self.respawner.as_mut() {
            if r.policy.poll_timeout().is_some_and(|t| t <= now) {
                r.policy.handle_timeout(now);
            }
            r.act(now, log);
        }
        let Some(p) = self.pinger.as_mut() else {
            // No ping node (or none usable): nothing to wait for.
            if !self.comm_seen {
                self.node.ping_nodes_known(now);
            }
            return;
        };
        if p.nodes.poll_timeout().is_some_and(|t| t <= now) {
            p.nodes.handle_timeout(now);
        }
        p.send_due(now);
        let mut events = Vec::new();
        while let Some(e) = p.poll_event() {
            events.push(e);
        }
        for e in events {
            match e {
                hb_core::pingnodes::PingEvent::Log(l, text) => log.log(l, &text),
                hb_core::pingnodes::PingEvent::Link { node, link, up } => {
                    if let Some(api) = self.api.as_mut() {
                        let view = View {
                            node: &self.node,
                            cfg: &self.cfg,
                            ping: &self.ping,
                        };
                        api.server_mut()
                            .link_status_changed(&view, &node, &link, up);
                    }
                }
                hb_core::pingnodes::PingEvent::Status { node, status, .. } => {
                    self.ping.insert(node.clone(), status.as_str().to_string());
                    if let Some(api) = self.api.as_mut() {
                        let view = View {
                            node: &self.node,
                            cfg: &self.cfg,
                            ping: &self.ping,
                        };
                        api.server_mut().node_status_changed(
                            &view,
                            &node,
                            status.as_str(),
                            wall_clock(),
                        );
                    }
                }
            }
        }
        // Communication comes up only once every ping node answered or was declared dead.
        if !self.comm_seen
            && self
                .pinger
                .as_ref()
                .is_some_and(|p| p.nodes.all_heard_or_dead())
        {
            self.node.ping_nodes_known(now);
        }
    }

    /// The client API: created when communication comes up (as the original), flushed
    /// every turn; what clients send goes to the cluster as our own messages.
    fn api_turn(&mut self, now: Instant, registry: &mio::Registry, log: &Logger) {
        if self.api.is_none() && crate::api::comm_up(&self.node) {
            if let Some(path) = self.api_path.clone() {
                let (auth, warnings) = self.api_auth.take().unwrap_or_default();
                for w in warnings {
                    log.log(Level::Warn, &w);
                }
                // SAFETY: geteuid has no preconditions.
                let uid = unsafe { libc::geteuid() };
                let cfg = hb_api::proto::Config {
                    auth,
                    daemon_uid: uid,
                    ..Default::default()
                };
                match ApiSocket::bind(&path, Token(API_BASE), cfg)
                    .and_then(|mut a| a.register(registry).map(|()| a))
                {
                    Ok(a) => self.api = Some(a),
                    Err(e) => {
                        log.log(
                            Level::Error,
                            &format!("Cannot create API socket {}: {e}", path.display()),
                        );
                        self.exit = Some(LoopEnd::Exit(crate::exit::PERMISSION));
                        self.api_path = None;
                    }
                }
            }
        }
        for _ in 0..100 {
            let Some(api) = self.api.as_mut() else { return };
            {
                let view = View {
                    node: &self.node,
                    cfg: &self.cfg,
                    ping: &self.ping,
                };
                if api.server().poll_timeout().is_some_and(|t| t <= now) {
                    api.server_mut().handle_timeout(&view, now);
                }
                api.flush(registry, &view);
            }
            while let Some((level, text)) = api.server_mut().poll_log() {
                log.log(level, &text);
            }
            let mut sends = Vec::new();
            while let Some(out) = api.server_mut().poll_send(now) {
                sends.push(out);
            }
            if sends.is_empty() {
                return;
            }
            for out in sends {
                // One check before the message is numbered. (Once the membership's send
                // reports such a failure itself, its error can go to send_failed instead.)
                match crate::api::check_sendable(&self.node, &out.msg) {
                    Ok(()) => {
                        let _ = self.node.handle_local_message(now, out.msg);
                    }
                    Err(why) => {
                        if let Some(api) = self.api.as_mut() {
                            let view = View {
                                node: &self.node,
                                cfg: &self.cfg,
                                ping: &self.ping,
                            };
                            api.server_mut().send_failed(&view, &out, &why);
                        }
                    }
                }
            }
            self.drain(log);
        }
    }

    /// Writes the status for `heartbeat -s`: every [`STATUS_INTERVAL`] (the packet
    /// counters), and at most every [`STATUS_CHANGE_DELAY`] after a change.
    fn write_status(&mut self, now: Instant) {
        let Some(dir) = self.status_dir.as_ref() else {
            return;
        };
        let due = match self.status_written {
            None => true,
            Some(t) if self.status_dirty => now >= t + STATUS_CHANGE_DELAY,
            Some(t) => now >= t + STATUS_INTERVAL,
        };
        if !due {
            return;
        }
        self.status_written = Some(now);
        self.status_dirty = false;
        let view = View {
            node: &self.node,
            cfg: &self.cfg,
            ping: &self.ping,
        };
        let snap = crate::status::collect(
            &view,
            self.probes.as_ref().map(|p| &p.checks),
            &self.cfgsync,
            self.api
                .as_ref()
                .map(|a| a.server().drop_counts())
                .unwrap_or_default(),
            wall_clock(),
        );
        crate::status::write_all(dir, &snap);
    }

    /// ARP refresh: the groups running here are announced again at their interval.
    fn arp_refresh_turn(&mut self, now: Instant, log: &Logger) {
        if self.arp_refresh.is_empty() {
            return;
        }
        let held = held_groups(&self.node);
        let keys: Vec<String> = self.arp_refresh.keys().map(str::to_string).collect();
        for k in &keys {
            let holding = held.contains(k) && !self.node.shutting_down();
            self.arp_refresh.set_holding(now, k, holding);
        }
        if self.arp_refresh.poll_timeout().is_some_and(|t| t <= now) {
            self.arp_refresh.handle_timeout(now);
        }
        while let Some(key) = self.arp_refresh.poll_announce() {
            if let Some(Err(e)) = self.arp.as_mut().map(|a| a.announce(now, &key)) {
                log.log(
                    Level::Warn,
                    &format!("cannot refresh the addresses of {key}: {e}"),
                );
            }
        }
    }

    /// The peers' digests, as their last statuses carried them (the membership keeps our
    /// fields of each peer's status), to the configuration comparison.
    fn cfgsync_peers(&mut self) {
        let now = Instant::now();
        let me = self.node.membership.name().to_string();
        for p in self.node.membership.peers() {
            if p.name != me && p.status != hb_core::NodeStatus::Dead {
                self.cfgsync.handle_status(
                    now,
                    &p.name,
                    p.status_field(hb_core::cfgsync::STATUS_FIELD),
                );
            }
        }
    }

    /// The configuration comparison's log lines, and its group lists sent as our own.
    fn cfgsync_out(&mut self, log: &Logger) {
        while let Some(o) = self.cfgsync.poll_output() {
            match o {
                hb_core::cfgsync::CfgOutput::Log(l, text) => {
                    self.status_dirty = true;
                    log.log(l, &text);
                }
                hb_core::cfgsync::CfgOutput::Send(m) => {
                    let _ = self.node.handle_local_message(Instant::now(), m);
                }
            }
        }
    }

    /// Sends what the node wants sent and acts on its outputs, until it is quiet.
    fn drain(&mut self, log: &Logger) {
        self.cfgsync_peers();
        for _ in 0..1000 {
            self.cfgsync_out(log);
            // Extra status copies (a lossy link) go on the network media only: a serial
            // line's queue would hold up the statuses themselves.
            while let Some((d, network_only)) = self
                .node
                .poll_transmit()
                .map(|d| (d, false))
                .or_else(|| self.node.poll_status_copy().map(|d| (d, true)))
            {
                let now = Instant::now();
                let keys = &self.node.membership.config().keys;
                for (i, m) in self.media.iter_mut().enumerate() {
                    if network_only && m.kind == MediumKind::Serial {
                        continue;
                    }
                    if let Err(e) = m.send(now, &d, keys) {
                        if let Some(line) = self.send_errors.failed(i, now, &e) {
                            log.log(Level::Error, &line);
                        }
                    }
                    log_notices(m, log);
                }
            }
            for line in self.send_errors.flush(Instant::now()) {
                log.log(Level::Error, &line);
            }
            let Some(out) = self.node.poll_output() else {
                return;
            };
            let now = Instant::now();
            match out {
                Output::Log(l, text) => log.log(l, &text),
                Output::StartGroup { job, key } => self.group(now, job, &key, true, log),
                Output::StopGroup { job, key } => self.group(now, job, &key, false, log),
                Output::ProbeGroup { job, key } => {
                    let result = match self.arp.as_mut() {
                        Some(a) => a.probe(now, job, &key),
                        None => Some(hb_core::holder::ProbeResult::Unprobed {
                            why: "no address probes in this daemon".into(),
                        }),
                    };
                    if let Some(r) = result {
                        self.node.probe_done(now, job, r);
                    }
                }
                Output::AnnounceGroup { key } => {
                    if let Some(Err(e)) = self.arp.as_mut().map(|a| a.announce(now, &key)) {
                        log.log(
                            Level::Warn,
                            &format!("cannot announce the addresses of {key}: {e}"),
                        );
                    }
                }
                Output::Delivered { msg, from } => {
                    self.cfgsync.handle_message(now, &from, &msg);
                    if msg.msg_type() != Some("status") {
                        if let Some(api) = self.api.as_mut() {
                            let view = View {
                                node: &self.node,
                                cfg: &self.cfg,
                                ping: &self.ping,
                            };
                            api.server_mut().deliver(&view, &msg);
                        }
                    }
                    if msg.msg_type() == Some(CHECK_MSG) && from != self.node.membership.name() {
                        if let (Some(k), Some(h)) = (msg.get("group"), msg.get("healthy")) {
                            self.peer_unhealthy
                                .insert((from.clone(), k.to_string()), h == "no");
                        }
                    }
                    if let Some(j) = self.jobs.as_mut() {
                        let ostatus = self.node.membership.own_status().as_str();
                        j.dispatch_rc(&msg, ostatus, self.nice_failback);
                        let done = j.advance(now, log);
                        self.finish_groups(now, done);
                    }
                }
                Output::NodeStatus { node, status } => {
                    self.status_dirty = true;
                    if status == "dead" {
                        self.cfgsync.peer_gone(&node);
                    }
                    if let Some(api) = self.api.as_mut() {
                        let view = View {
                            node: &self.node,
                            cfg: &self.cfg,
                            ping: &self.ping,
                        };
                        api.server_mut()
                            .node_status_changed(&view, &node, &status, wall_clock());
                    }
                }
                Output::LinkStatus { node, link, up } => {
                    self.status_dirty = true;
                    if let Some(api) = self.api.as_mut() {
                        let view = View {
                            node: &self.node,
                            cfg: &self.cfg,
                            ping: &self.ping,
                        };
                        api.server_mut()
                            .link_status_changed(&view, &node, &link, up);
                    }
                }
                Output::Fence { node } => {
                    let done = match self.fencer.as_mut() {
                        Some(f) => f.reset(&node, log),
                        // Not asked for without a device (set_fencing follows the fencer).
                        None => Some(crate::fencer::Done::Reset {
                            node,
                            result: hb_core::fence::FenceResult::Failed,
                        }),
                    };
                    if let Some(d) = done {
                        self.fence_result(now, d);
                    }
                }
                Output::FenceStatus => {
                    let done = match self.fencer.as_mut() {
                        Some(f) => f.status(log),
                        None => Some(crate::fencer::Done::Status { ok: false }),
                    };
                    if let Some(d) = done {
                        self.fence_result(now, d);
                    }
                }
                Output::Heartbeat => {
                    if let Some(w) = self.watchdog.as_mut() {
                        for (l, text) in w.tickle() {
                            log.log(l, &text);
                        }
                    }
                }
                Output::Exit => {
                    self.close_watchdog(log);
                    log.log(
                        Level::Info,
                        &format!(
                            "{} Heartbeat shutdown complete.",
                            self.node.membership.name()
                        ),
                    );
                    self.end(now, LoopEnd::Exit(crate::exit::OK));
                }
                Output::Restart => {
                    // The new image opens the device again.
                    self.close_watchdog(log);
                    self.end(now, LoopEnd::Restart)
                }
            }
        }
    }

    /// A planned stop: the magic `V`, then close, so that the device does not reboot the
    /// machine.
    fn close_watchdog(&mut self, log: &Logger) {
        if let Some(mut w) = self.watchdog.take() {
            for (l, text) in w.close() {
                log.log(l, &text);
            }
        }
    }

    fn group(
        &mut self,
        now: Instant,
        job: hb_core::takeover::JobId,
        key: &str,
        take: bool,
        log: &Logger,
    ) {
        let done = match self.jobs.as_mut() {
            Some(j) => j.group(now, job, key, take, log),
            None => vec![(job, false)],
        };
        self.finish_groups(now, done);
    }
}
