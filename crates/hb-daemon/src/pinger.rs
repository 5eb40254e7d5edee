//! Ping nodes (`ping`, `ping_group`) in the loop: ICMP echoes through one socket, the
//! policy in [`hb_core::pingnodes::PingNodes`].

use std::net::Ipv4Addr;
use std::time::Instant;

use hb_core::pingnodes::{PingEvent, PingNodeSpec, PingNodes, PingTiming};
use hb_core::timers::Timing;
use hb_io::icmp::{packet_buffer, IcmpMode, IcmpSocket};
use hb_log::{Level, Logger};
use mio::{Registry, Token};

pub struct Pinger {
    pub nodes: PingNodes,
    sock: IcmpSocket,
    buf: Vec<u8>,
}

fn addr(h: &str, log: &Logger) -> Option<Ipv4Addr> {
    match h.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            log.log(
                Level::Error,
                &format!("ping node {h}: not an IPv4 address; ignored"),
            );
            None
        }
    }
}

impl Pinger {
    /// None when ha.cf names no ping node.
    pub fn new(
        cfg: &ha_config::Config,
        timing: &Timing,
        now: Instant,
        log: &Logger,
    ) -> std::io::Result<Option<Pinger>> {
        let mut specs = Vec::new();
        for h in &cfg.hacf.ping {
            if let Some(a) = addr(h, log) {
                specs.push(PingNodeSpec::single(h, a));
            }
        }
        for g in &cfg.hacf.ping_groups {
            let hosts: Vec<Ipv4Addr> = g.hosts.iter().filter_map(|h| addr(h, log)).collect();
            specs.push(PingNodeSpec::group(&g.name, hosts));
        }
        if specs.is_empty() {
            return Ok(None);
        }
        let sock = IcmpSocket::open(IcmpMode::Auto)?;
        let nodes = PingNodes::new(PingTiming::new(timing, cfg.hacf.deadping), specs, now);
        for n in nodes.nodes() {
            log.log(Level::Info, n.start_log_line());
        }
        Ok(Some(Pinger {
            nodes,
            sock,
            buf: packet_buffer(),
        }))
    }

    pub fn register(&self, registry: &Registry, token: Token) -> std::io::Result<()> {
        self.sock.register(registry, token)
    }

    /// Sends the echoes due now.
    pub fn send_due(&mut self, now: Instant) {
        while let Some((host, seq)) = self.nodes.poll_send(now) {
            let _ = self.sock.send_echo(host, seq, b"heartbeat");
        }
    }

    /// Reads every reply.
    pub fn readable(&mut self, now: Instant) {
        let nodes = &mut self.nodes;
        let _ = self.sock.recv_all(&mut self.buf, |r| {
            nodes.reply(now, r.from, r.seq);
        });
    }

    pub fn poll_event(&mut self) -> Option<PingEvent> {
        self.nodes.poll_event()
    }
}
