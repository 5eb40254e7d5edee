//! The I/O half of "one holder of an address" ([`hb_core::holder`]): before the node takes
//! a group while a peer is declared dead, probe the group's IP addresses with ARP; after
//! a partition, announce the addresses of a group the other node released.
//!
//! A group's addresses are its `IPaddr` and `IPaddr2` resources (a bare address is
//! `IPaddr`), each on the interface that agent would put it on (given, or found by its
//! findif rules over a netlink snapshot: [`hb_agents::agent::address_link`]). A probe is
//! [`PROBE_COUNT`] RFC 5227 probes per address, [`PROBE_INTERVAL`] apart; any ARP packet
//! from another hardware address claiming one of the addresses answers it, and silence
//! until [`PROBE_WAIT`] after the first one means nobody holds them. An announcement is
//! [`ANNOUNCE_COUNT`] gratuitous request/reply pairs, [`ANNOUNCE_INTERVAL`] apart (as
//! IPaddr2 sends them).
//!
//! Nothing here blocks: the packets go out and come in on one non-blocking `AF_PACKET`
//! socket that the loop's poll watches (open only while a probe or an announcement is
//! under way), and the waits are deadlines the loop sleeps until.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use hb_agents::arp;
use hb_core::holder::ProbeResult;
use hb_core::takeover::JobId;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// Probes sent per address.
pub const PROBE_COUNT: u32 = 3;
/// Between two probes of an address.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(15);
/// From the first probe to the verdict "silent".
pub const PROBE_WAIT: Duration = Duration::from_millis(50);
/// Gratuitous ARP pairs of an announcement.
pub const ANNOUNCE_COUNT: u32 = 5;
pub const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(200);

/// `sll_pkttype` of a packet we sent ourselves.
const PACKET_OUTGOING: u8 = 4;

#[derive(Clone, Debug)]
struct Target {
    ifindex: u32,
    mac: [u8; 6],
    ip: Ipv4Addr,
}

struct Probe {
    job: JobId,
    targets: Vec<Target>,
    sent: u32,
    next_send: Instant,
    deadline: Instant,
}

struct Announce {
    key: String,
    targets: Vec<Target>,
    left: u32,
    next: Instant,
}

/// Probes and announcements in flight.
pub struct ArpWatch {
    /// Group key -> its address resources: (script, first argument).
    groups: HashMap<String, Vec<(String, String)>>,
    registry: Registry,
    token: Token,
    sock: Option<arp::Socket>,
    probes: Vec<Probe>,
    announces: Vec<Announce>,
    /// Probes that ended, for the next [`ArpWatch::readable`] or
    /// [`ArpWatch::handle_timeout`].
    ended: Vec<(JobId, ProbeResult)>,
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl ArpWatch {
    /// For the groups of haresources; the socket is registered with `registry` under
    /// `token` while it is open.
    pub fn new(haresources: &ha_config::Haresources, registry: Registry, token: Token) -> ArpWatch {
        let groups = haresources
            .groups
            .iter()
            .map(|g| {
                let addrs = g
                    .resources
                    .iter()
                    .filter(|r| r.script == "IPaddr" || r.script == "IPaddr2")
                    .map(|r| {
                        (
                            r.script.clone(),
                            r.args.first().cloned().unwrap_or_default(),
                        )
                    })
                    .collect();
                (g.key().to_string(), addrs)
            })
            .collect();
        ArpWatch {
            groups,
            registry,
            token,
            sock: None,
            probes: Vec::new(),
            announces: Vec::new(),
            ended: Vec::new(),
        }
    }

    /// The addresses of a group and their interfaces (empty: it has none).
    fn targets(&self, key: &str) -> Result<Vec<Target>, String> {
        let Some(addrs) = self.groups.get(key) else {
            return Ok(Vec::new());
        };
        if addrs.is_empty() {
            return Ok(Vec::new());
        }
        let (_, snap) =
            hb_agents::agent::snapshot().map_err(|e| format!("cannot read the interfaces: {e}"))?;
        let mut out = Vec::new();
        for (script, arg) in addrs {
            let Some((ip, link)) = hb_agents::agent::address_link(script, arg, &snap)? else {
                continue;
            };
            let mac: [u8; 6] = link
                .mac
                .as_slice()
                .try_into()
                .ok()
                .filter(|_| !link.is_loopback() && !link.is_noarp())
                .ok_or_else(|| format!("{} has no ARP", link.name))?;
            out.push(Target {
                ifindex: link.index,
                mac,
                ip,
            });
        }
        Ok(out)
    }

    fn open(&mut self) -> io::Result<&arp::Socket> {
        if self.sock.is_none() {
            let s = arp::Socket::open(true)?;
            self.registry.register(
                &mut SourceFd(&s.as_raw_fd()),
                self.token,
                Interest::READABLE,
            )?;
            self.sock = Some(s);
        }
        self.sock
            .as_ref()
            .ok_or_else(|| io::Error::other("ARP socket not open"))
    }

    /// Closes the socket when nothing needs it any more.
    fn close_if_idle(&mut self) {
        if self.probes.is_empty() && self.announces.is_empty() {
            if let Some(s) = self.sock.take() {
                let _ = self.registry.deregister(&mut SourceFd(&s.as_raw_fd()));
            }
        }
    }

    /// Starts probing the addresses of group `key`. Returns the result at once when
    /// there is nothing to wait for (no address, or no way to probe).
    pub fn probe(&mut self, now: Instant, job: JobId, key: &str) -> Option<ProbeResult> {
        let targets = match self.targets(key) {
            Ok(t) if t.is_empty() => return Some(ProbeResult::NoAddress),
            Ok(t) => t,
            Err(why) => return Some(ProbeResult::Unprobed { why }),
        };
        if let Err(e) = self.open() {
            self.close_if_idle();
            return Some(ProbeResult::Unprobed {
                why: format!("cannot open an ARP socket: {e}"),
            });
        }
        self.probes.push(Probe {
            job,
            targets,
            sent: 0,
            next_send: now,
            deadline: now + PROBE_WAIT,
        });
        self.send_due(now);
        None
    }

    /// Starts announcing the addresses of group `key`. Errors are returned for the log.
    pub fn announce(&mut self, now: Instant, key: &str) -> Result<(), String> {
        let targets = self.targets(key)?;
        if targets.is_empty() {
            return Ok(());
        }
        self.open()
            .map_err(|e| format!("cannot open an ARP socket: {e}"))?;
        self.announces.retain(|a| a.key != key);
        self.announces.push(Announce {
            key: key.to_string(),
            targets,
            left: ANNOUNCE_COUNT,
            next: now,
        });
        self.send_due(now);
        Ok(())
    }

    /// Sends what is due; probes that ended silent go to `ended`.
    fn send_due(&mut self, now: Instant) {
        let Some(sock) = self.sock.as_ref() else {
            return;
        };
        let done = &mut self.ended;
        self.probes.retain_mut(|p| {
            while p.sent < PROBE_COUNT && p.next_send <= now {
                for t in &p.targets {
                    // A lost probe is covered by the next ones.
                    let _ = sock.send_to(t.ifindex, &arp::probe_packet(t.mac, t.ip));
                }
                p.sent += 1;
                p.next_send += PROBE_INTERVAL;
            }
            if now >= p.deadline {
                done.push((p.job, ProbeResult::Silent));
                return false;
            }
            true
        });
        self.announces.retain_mut(|a| {
            if a.next <= now && a.left > 0 {
                for t in &a.targets {
                    let _ = sock.send_to(t.ifindex, &arp::packet(t.mac, t.ip, false));
                    let _ = sock.send_to(t.ifindex, &arp::packet(t.mac, t.ip, true));
                }
                a.left -= 1;
                a.next = now + ANNOUNCE_INTERVAL;
            }
            a.left > 0
        });
    }

    /// The socket is readable: probes that ended (answered, or silent meanwhile).
    pub fn readable(&mut self) -> Vec<(JobId, ProbeResult)> {
        let mut done = std::mem::take(&mut self.ended);
        let mut buf = [0u8; 256];
        while let Some(sock) = self.sock.as_ref() {
            let r = match sock.recv(&mut buf) {
                Ok(Some(r)) => r,
                Ok(None) | Err(_) => break,
            };
            if r.pkttype == PACKET_OUTGOING {
                continue;
            }
            let Some(seen) = arp::parse(&buf[..r.len.min(buf.len())]) else {
                continue;
            };
            self.probes.retain(|p| {
                let hit = p.targets.iter().find(|t| {
                    t.ifindex == r.ifindex && t.ip == seen.sender_ip && t.mac != seen.sender_mac
                });
                match hit {
                    Some(t) => {
                        done.push((
                            p.job,
                            ProbeResult::Answered {
                                addr: t.ip.to_string(),
                                by: mac_text(&seen.sender_mac),
                            },
                        ));
                        false
                    }
                    None => true,
                }
            });
        }
        self.close_if_idle();
        done
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.ended.is_empty() {
            return Some(Instant::now());
        }
        let probes = self.probes.iter().map(|p| {
            if p.sent < PROBE_COUNT {
                p.next_send.min(p.deadline)
            } else {
                p.deadline
            }
        });
        let announces = self.announces.iter().map(|a| a.next);
        probes.chain(announces).min()
    }

    /// Sends what is due; returns probes that ended.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<(JobId, ProbeResult)> {
        self.send_due(now);
        self.close_if_idle();
        std::mem::take(&mut self.ended)
    }
}
