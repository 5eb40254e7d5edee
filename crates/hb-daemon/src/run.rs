//! The event loop: one thread, one `mio::Poll`, the sans-IO [`Node`] in the middle.

use std::io;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_core::{Level as CoreLevel, Node, Output};
use hb_io::fifo::{Fifo, FifoItem};
use hb_io::log::{Level, Logger};
use hb_io::media::{datagram_buffer, Medium, MediumSpec};
use hb_io::signals::{Signal, SignalFd};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::jobs::Jobs;

/// Tokens of the poll: media are `0..n`.
const SIGNALS: Token = Token(usize::MAX - 1);
const FIFO: Token = Token(usize::MAX - 2);
const CHILDREN: Token = Token(usize::MAX - 3);

/// Everything the loop needs, prepared by the caller (config loaded, daemonized).
pub struct LoopSetup {
    pub node: Node,
    /// Each medium with the UDP port it uses.
    pub media: Vec<(MediumSpec, u16)>,
    pub jobs: Option<Jobs>,
    pub fifo: Option<Fifo>,
    /// Whether nice_failback is in effect (for `HA_NICEFAILBACK` of rc.d scripts).
    pub nice_failback: bool,
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
    send_errors_logged: u32,
    exit: Option<LoopEnd>,
}

/// Runs the node until it has shut down; returns how it ended.
pub fn run_loop(setup: LoopSetup, log: &Logger, signals: SignalFd) -> io::Result<LoopEnd> {
    let mut poll = Poll::new()?;
    let mut media = Vec::new();
    for (i, (spec, port)) in setup.media.iter().enumerate() {
        let mut m = Medium::open(spec, *port).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open {} medium on {}: {e}", spec.kind(), spec.dev()),
            )
        })?;
        m.register(poll.registry(), Token(i))?;
        log.log(Level::Info, &m.start_log_line());
        media.push(m);
    }
    let sfd = signals.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&sfd), SIGNALS, Interest::READABLE)?;
    if let Some(f) = &setup.fifo {
        f.register(poll.registry(), FIFO)?;
    }
    if let Some(j) = &setup.jobs {
        j.runner.register(poll.registry(), CHILDREN)?;
    }
    let mut on_hup = setup.on_hup;
    let mut l = Loop {
        node: setup.node,
        media,
        jobs: setup.jobs,
        fifo: setup.fifo,
        nice_failback: setup.nice_failback,
        send_errors_logged: 0,
        exit: None,
    };
    l.node.membership.set_loadavg(hb_io::state::loadavg());
    let mut events = Events::with_capacity(64);
    let mut buf = datagram_buffer();
    loop {
        l.drain(log);
        if let Some(end) = l.exit.take() {
            return Ok(end);
        }
        let now = Instant::now();
        let next = hb_core::timers::earliest([
            l.node.poll_timeout(),
            l.jobs.as_ref().and_then(Jobs::poll_timeout),
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
                            Signal::Term | Signal::Int => l.node.shutdown(now),
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
                            Signal::Chld => l.reap(now, log),
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
                            FifoItem::Message(m) => l.node.handle_local_message(now, m),
                            FifoItem::Bad(why) => log.log(Level::Warn, &why),
                        }
                        l.drain(log);
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
                        if let Err(e) = m.recv_all(&mut buf, |data, _from| {
                            node.handle_datagram(now, &dev, data)
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
            self.node.group_done(now, job, ok);
        }
    }

    /// Sends what the node wants sent and acts on its outputs, until it is quiet.
    fn drain(&mut self, log: &Logger) {
        for _ in 0..1000 {
            while let Some(d) = self.node.poll_transmit() {
                for m in &self.media {
                    if let Err(e) = m.send(&d) {
                        if self.send_errors_logged < 20 {
                            self.send_errors_logged += 1;
                            log.log(Level::Error, &e.to_string());
                        }
                    }
                }
            }
            let Some(out) = self.node.poll_output() else {
                return;
            };
            let now = Instant::now();
            match out {
                Output::Log(l, text) => log.log(core_level(l), &text),
                Output::StartGroup { job, key } => self.group(now, job, &key, true, log),
                Output::StopGroup { job, key } => self.group(now, job, &key, false, log),
                Output::Delivered { msg, .. } => {
                    if let Some(j) = self.jobs.as_mut() {
                        let ostatus = self.node.membership.own_status().as_str();
                        j.dispatch_rc(&msg, ostatus, self.nice_failback);
                        let done = j.advance(now, log);
                        self.finish_groups(now, done);
                    }
                }
                Output::NodeStatus { .. } | Output::LinkStatus { .. } => {}
                Output::Exit => {
                    log.log(
                        Level::Info,
                        &format!(
                            "{} Heartbeat shutdown complete.",
                            self.node.membership.name()
                        ),
                    );
                    self.exit = Some(LoopEnd::Exit(crate::exit::OK));
                }
                Output::Restart => self.exit = Some(LoopEnd::Restart),
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
