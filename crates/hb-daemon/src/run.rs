//! The event loop.

use std::io;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_core::{Event, Level as CoreLevel, Membership, MembershipConfig};
use hb_io::log::{Level, Logger};
use hb_io::media::{datagram_buffer, Medium, MediumSpec};
use hb_io::signals::{Signal, SignalFd};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

/// Tokens of the poll: media are `0..n`.
const SIGNALS: Token = Token(usize::MAX - 1);

/// Everything the loop needs, prepared by the caller (config loaded, daemonized).
pub struct LoopSetup {
    pub membership: MembershipConfig,
    /// Each medium with the UDP port it uses.
    pub media: Vec<(MediumSpec, u16)>,
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

/// Runs the node until SIGTERM/SIGINT; returns the exit status.
pub fn run_loop(setup: LoopSetup, log: &Logger, signals: SignalFd) -> io::Result<i32> {
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

    let now = Instant::now();
    let mut node = Membership::new(setup.membership, now);
    node.set_loadavg(hb_io::state::loadavg());
    let mut events = Events::with_capacity(64);
    let mut buf = datagram_buffer();
    let mut send_errors_logged = 0u32;
    loop {
        drain(&mut node, &media, log, &mut send_errors_logged);
        let now = Instant::now();
        let timeout = node
            .poll_timeout()
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
                                log.log(
                                    Level::Info,
                                    &format!(
                                        "Heartbeat shutdown in progress. ({})",
                                        std::process::id()
                                    ),
                                );
                                node.stop();
                                log.log(
                                    Level::Info,
                                    &format!("{} Heartbeat shutdown complete.", node.name()),
                                );
                                return Ok(crate::exit::OK);
                            }
                            Signal::Hup => {
                                log.reopen();
                                log.log(Level::Info, "Configuration unchanged.");
                            }
                            Signal::Usr1 => {
                                let l = log.debug_level() + 1;
                                log.set_debug_level(l);
                                log.log(
                                    Level::Info,
                                    &format!("debug now set to {l} [pid {}]", std::process::id()),
                                );
                            }
                            Signal::Usr2 => {
                                let l = log.debug_level().saturating_sub(1);
                                log.set_debug_level(l);
                                log.log(
                                    Level::Info,
                                    &format!("debug now set to {l} [pid {}]", std::process::id()),
                                );
                            }
                            Signal::Chld => {}
                        }
                    }
                }
                Token(i) => {
                    if let Some(m) = media.get(i) {
                        let dev = m.dev.clone();
                        let res = m.recv_all(&mut buf, |data, _from| {
                            node.handle_datagram(now, &dev, data);
                        });
                        if let Err(e) = res {
                            log.log(Level::Error, &format!("receive error on {dev}: {e}"));
                        }
                    }
                }
            }
        }
        if node.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            node.set_loadavg(hb_io::state::loadavg());
            node.handle_timeout(Instant::now());
        }
    }
}

fn drain(node: &mut Membership, media: &[Medium], log: &Logger, send_errors_logged: &mut u32) {
    while let Some(d) = node.poll_transmit() {
        for m in media {
            if let Err(e) = m.send(&d) {
                if *send_errors_logged < 20 {
                    *send_errors_logged += 1;
                    log.log(Level::Error, &e.to_string());
                }
            }
        }
    }
    while let Some(ev) = node.poll_event() {
        match ev {
            Event::Log(l, text) => log.log(core_level(l), &text),
            _ => {}
        }
    }
}
