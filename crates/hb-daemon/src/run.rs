//! The event loop: one thread, one `mio::Poll`, the sans-IO [`Node`] in the middle.

use std::io;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_core::{Level as CoreLevel, Node, Output};
use hb_io::fifo::{Fifo, FifoItem};
use hb_io::log::{Level, Logger};
use hb_io::media::{datagram_buffer, Medium};
use hb_io::signals::{Signal, SignalFd};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::api::View;
use crate::jobs::Jobs;
use crate::pinger::Pinger;
use crate::probes::{Probes, PROBE_BASE};
use crate::respawner::Respawner;
use crate::send_errors::SendErrors;
use hb_api::socket::ApiSocket;
use hb_core::checks::CheckAction;
use std::collections::{BTreeSet, HashMap};

/// Tokens of the poll: media are `0..n`.
const SIGNALS: Token = Token(usize::MAX - 1);
const FIFO: Token = Token(usize::MAX - 2);
const CHILDREN: Token = Token(usize::MAX - 3);
const CHECK_CHILDREN: Token = Token(usize::MAX - 4);
/// The client API's tokens: the listener, then one per connection.
const API_BASE: usize = 1 << 22;
const PING: Token = Token(usize::MAX - 5);
const RESPAWN_CHILDREN: Token = Token(usize::MAX - 6);
/// How long the exit waits for respawned clients to end after SIGTERM.
const CLIENT_STOP_WAIT: Duration = Duration::from_secs(10);

/// Group jobs of local restarts (service checks) use ids from here up, apart from the
/// takeover's own.
const RESTART_JOB_BASE: u64 = 1 << 60;

/// The message type by which our nodes tell each other the health of a group's service
/// (an original heartbeat ignores it).
pub const CHECK_MSG: &str = "hb-check";

/// How often the packet counters are written for `heartbeat -s`.
pub const COUNTERS_INTERVAL: Duration = Duration::from_secs(5);

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
    /// Where the check states are written for `heartbeat -s`.
    pub status_file: Option<std::path::PathBuf>,
    /// Where the packet counters (received, dropped by kind...) are written for
    /// `heartbeat -s`, every few seconds.
    pub counters_file: Option<std::path::PathBuf>,
    /// The configuration (for the client API's answers).
    pub cfg: ha_config::Config,
    /// The client API socket to create when communication comes up (None: no API).
    pub api_path: Option<std::path::PathBuf>,
    pub pinger: Option<Pinger>,
    pub respawner: Option<Respawner>,
    /// Called on SIGHUP: what to do (see [`crate::start`]).
    pub on_hup: Box<dyn FnMut(&Logger) -> HupAction>,
}

/// What a SIGHUP leads to.
pub enum HupAction {
    /// Nothing changed, or the new configuration is refused (already logged).
    Keep,
    /// authkeys changed: use these keys from now on.
    NewKeys(hb_wire::KeyRing),
    /// ha.cf or haresources changed: restart the daemon in place.
    Restart,
}

/// How the loop ended.
pub enum LoopEnd {
    Exit(i32),
    /// SIGHUP with a changed configuration: the caller re-executes the daemon.
    Restart,
}

pub fn core_level(l: CoreLevel) -> Level {
    match l {
        CoreLevel::Emerg => Level::Emerg,
        CoreLevel::Alert => Level::Alert,
        CoreLevel::Crit => Level::Crit,
        CoreLevel::Error => Level::Error,
        CoreLevel::Warn => Level::Warn,
        CoreLevel::Notice => Level::Notice,
        CoreLevel::Info => Level::Info,
        CoreLevel::Debug => Level::Debug,
    }
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
    status_file: Option<std::path::PathBuf>,
    counters_file: Option<std::path::PathBuf>,
    counters_written: Option<Instant>,
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
    api: Option<ApiSocket>,
    /// Ping nodes' statuses (`ping`, `dead`), for the API.
    ping: HashMap<String, String>,
    pinger: Option<Pinger>,
    respawner: Option<Respawner>,
    comm_seen: bool,
    /// The loop ends once the respawned clients have stopped (or the wait is over).
    exit_pending: Option<(LoopEnd, Instant)>,
    /// Send errors, per medium: logged at most once per interval, with the count suppressed.
    send_errors: SendErrors,
    exit: Option<LoopEnd>,
}

/// Runs the node until it has shut down; returns how it ended.
pub fn run_loop(setup: LoopSetup, log: &Logger, signals: SignalFd) -> io::Result<LoopEnd> {
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
    let mut on_hup = setup.on_hup;
    let mut l = Loop {
        node: setup.node,
        media,
        jobs: setup.jobs,
        fifo: setup.fifo,
        nice_failback: setup.nice_failback,
        auto_failback: setup.auto_failback,
        probes: setup.probes.filter(|p| !p.is_empty()),
        status_file: setup.status_file,
        counters_file: setup.counters_file,
        counters_written: None,
        restarts: HashMap::new(),
        next_restart_job: RESTART_JOB_BASE,
        restart_starts: Vec::new(),
        given_away: BTreeSet::new(),
        peer_unhealthy: HashMap::new(),
        cfg: setup.cfg,
        api_path: setup.api_path,
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
        comm_seen: false,
        exit_pending: None,
        send_errors,
        exit: None,
    };
    l.node.membership.set_loadavg(hb_io::state::loadavg());
    let mut events = Events::with_capacity(64);
    let mut buf = datagram_buffer();
    l.write_check_status();
    loop {
        l.drain(log);
        l.checks_turn(Instant::now(), poll.registry(), log);
        l.drain(log);
        l.api_turn(Instant::now(), poll.registry(), log);
        l.side_turn(Instant::now(), log);
        l.drain(log);
        l.write_counters(Instant::now());
        if let Some((_, deadline)) = &l.exit_pending {
            let done = l.respawner.as_ref().is_none_or(|r| r.policy.all_stopped());
            if done || Instant::now() >= *deadline {
                l.exit = l.exit_pending.take().map(|(e, _)| e);
            }
        }
        if let Some(end) = l.exit.take() {
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
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        for ev in events.iter() {
            match ev.token() {
                SIGNALS => {
                    for s in signals.read_pending()? {
                        match s {
                            Signal::Term | Signal::Int => {
                                l.node.shutdown(now);
                                if let Some(r) = l.respawner.as_mut() {
                                    r.policy.shutdown(now);
                                }
                            }
                            Signal::Hup => {
                                log.reopen();
                                match on_hup(log) {
                                    HupAction::Keep => {}
                                    HupAction::NewKeys(k) => l.node.membership.set_keys(k),
                                    HupAction::Restart => {
                                        if l.node.takeover.is_some() {
                                            log.log(Level::Info, "Heartbeat restart triggered: releasing resources first.");
                                            l.node.restart(now);
                                        } else {
                                            l.exit = Some(LoopEnd::Restart);
                                        }
                                    }
                                }
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
                                if let Some(p) = l.probes.as_mut() {
                                    p.reap(now);
                                }
                            }
                        }
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
                    if let Some(m) = l.media.get(i) {
                        let dev = m.dev.clone();
                        let node = &mut l.node;
                        if let Err(e) = m.recv_all(&mut buf, |data, from| {
                            node.handle_datagram_from(now, &dev, Some(from), data)
                        }) {
                            log.log(Level::Error, &format!("receive error on {dev}: {e}"));
                        }
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
        let held: Vec<String> = self
            .node
            .takeover
            .as_ref()
            .map(|t| t.running_groups().into_iter().map(str::to_string).collect())
            .unwrap_or_default();
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
                    log.log(core_level(l), &s);
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
                    let set = match self.node.takeover.as_ref() {
                        Some(t) if t.is_local_group(&key) => "local",
                        _ => "foreign",
                    };
                    log.log(
                        Level::Warn,
                        &format!("Giving resource group {key} to the peer: its service check fails here (standby [{set}])"),
                    );
                    self.given_away.insert(key);
                    self.node.standby(now, set);
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
                        self.node.takeover(now, "local");
                    }
                }
            }
        }
        if changed {
            self.write_check_status();
        }
    }

    /// The end of a shutdown: stop the respawned clients (last first), then let the loop
    /// end once they are gone.
    fn end(&mut self, now: Instant, how: LoopEnd) {
        if let Some(r) = self.respawner.as_mut() {
            r.policy.stop_all(now);
        }
        self.exit_pending = Some((how, now + CLIENT_STOP_WAIT));
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
                hb_core::pingnodes::PingEvent::Log(l, text) => log.log(core_level(l), &text),
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
    }

    /// The client API: created when communication comes up (as the original), flushed
    /// every turn; what clients send goes to the cluster as our own messages.
    fn api_turn(&mut self, now: Instant, registry: &mio::Registry, log: &Logger) {
        if self.api.is_none() && crate::api::comm_up(&self.node) {
            if let Some(path) = self.api_path.clone() {
                let (auth, warnings) = hb_api::sys::auth_table(&self.cfg.hacf.effective_apiauth());
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
            while let Some((l, text)) = api.server_mut().poll_log() {
                let level = match l {
                    hb_api::proto::Level::Error => Level::Error,
                    hb_api::proto::Level::Warn => Level::Warn,
                    hb_api::proto::Level::Info => Level::Info,
                    hb_api::proto::Level::Debug => Level::Debug,
                };
                log.log(level, &text);
            }
            let mut sends = Vec::new();
            while let Some(m) = api.server_mut().poll_send() {
                sends.push(m);
            }
            if sends.is_empty() {
                return;
            }
            for m in sends {
                // A refusal (too big for a datagram) is logged by the membership.
                let _ = self.node.handle_local_message(now, m);
            }
            self.drain(log);
        }
    }

    /// Writes the packet counters for `heartbeat -s`, at most every
    /// [`COUNTERS_INTERVAL`] (the loop turns at least every keepalive).
    fn write_counters(&mut self, now: Instant) {
        let Some(f) = self.counters_file.as_ref() else {
            return;
        };
        if self
            .counters_written
            .is_some_and(|t| now < t + COUNTERS_INTERVAL)
        {
            return;
        }
        self.counters_written = Some(now);
        let mut text = String::new();
        for line in self.node.membership.counters().status_lines() {
            text.push_str(&line);
            text.push('\n');
        }
        let tmp = f.with_extension("tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, f);
        }
    }

    /// Writes the check states for `heartbeat -s` (one line per check).
    fn write_check_status(&self) {
        let (Some(p), Some(f)) = (self.probes.as_ref(), self.status_file.as_ref()) else {
            return;
        };
        let mut text = p.checks.status_lines().join("\n");
        text.push('\n');
        let tmp = f.with_extension("tmp");
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, f);
        }
    }

    /// Sends what the node wants sent and acts on its outputs, until it is quiet.
    fn drain(&mut self, log: &Logger) {
        for _ in 0..1000 {
            while let Some(d) = self.node.poll_transmit() {
                for (i, m) in self.media.iter().enumerate() {
                    if let Err(e) = m.send(&d) {
                        if let Some(line) = self.send_errors.failed(i, Instant::now(), &e) {
                            log.log(Level::Error, &line);
                        }
                    }
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
                Output::Log(l, text) => log.log(core_level(l), &text),
                Output::StartGroup { job, key } => self.group(now, job, &key, true, log),
                Output::StopGroup { job, key } => self.group(now, job, &key, false, log),
                Output::Delivered { msg, from } => {
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
                Output::Exit => {
                    log.log(
                        Level::Info,
                        &format!(
                            "{} Heartbeat shutdown complete.",
                            self.node.membership.name()
                        ),
                    );
                    self.end(now, LoopEnd::Exit(crate::exit::OK));
                }
                Output::Restart => self.end(now, LoopEnd::Restart),
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
