//! Gratuitous ARP, as the original's `send_arp` sends it, over an `AF_PACKET` socket.
//!
//! For each repeat: an ARP request (sender and target protocol address both the
//! address, target hardware address zero), half the interval, an ARP reply (target
//! hardware address our own), and half the interval again except after the last one.
//! Both go to the Ethernet broadcast address from the interface's own MAC address; the
//! count and interval are the calling agent's (IPaddr 10 x 500 ms, IPaddr2 and SendArp
//! 5 x 200 ms).
//!
//! [`spawn`] runs the sending in a child process, so that start returns at once: the
//! child is its own session, named `send_arp` (so stop can tell it from a recycled pid),
//! with stdin/stdout/stderr on /dev/null (a caller reading our output is not held up),
//! and it removes its pid file when done.
//!
//! The daemon also uses this module to ask, before taking an address, whether someone
//! still answers for it: [`probe_packet`] (an RFC 5227 probe, sender address 0.0.0.0,
//! which a host holding the address answers without learning anything from it), sent
//! and watched on a non-blocking [`Socket`] that its event loop polls, replies read with
//! [`parse`].

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::state::StateDir;

const ETH_P_ARP: u16 = 0x0806;
const ARPOP_REQUEST: u16 = 1;
const ARPOP_REPLY: u16 = 2;

/// What to announce, where, how often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announce {
    pub ifindex: u32,
    pub ifname: String,
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    /// Repeats (each one a request and a reply).
    pub count: u32,
    pub interval_ms: u64,
}

/// The 28-byte ARP payload of a gratuitous request or reply for `ip` from `mac`.
pub fn packet(mac: [u8; 6], ip: Ipv4Addr, reply: bool) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    p[4] = 6;
    p[5] = 4;
    let op = if reply { ARPOP_REPLY } else { ARPOP_REQUEST };
    p[6..8].copy_from_slice(&op.to_be_bytes());
    p[8..14].copy_from_slice(&mac);
    p[14..18].copy_from_slice(&ip.octets());
    if reply {
        p[18..24].copy_from_slice(&mac);
    }
    p[24..28].copy_from_slice(&ip.octets());
    p
}

/// The ARP request a host sends to learn whether an address is in use (RFC 5227's
/// probe): sender hardware address `mac`, sender protocol address 0.0.0.0, target `ip`.
/// A host holding `ip` answers it (Linux does, to the sender's hardware address).
pub fn probe_packet(mac: [u8; 6], ip: Ipv4Addr) -> [u8; 28] {
    let mut p = packet(mac, ip, false);
    p[14..18].copy_from_slice(&[0; 4]);
    p
}

/// The fields of an Ethernet/IPv4 ARP packet that matter to a prober.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

/// Reads an ARP payload (as an `AF_PACKET` datagram socket receives it); `None` for
/// anything but Ethernet/IPv4 ARP.
pub fn parse(p: &[u8]) -> Option<Seen> {
    let h = p.get(..28)?;
    if h[0..2] != [0, 1] || h[2..4] != [8, 0] || h[4] != 6 || h[5] != 4 {
        return None;
    }
    let ip = |r: &[u8]| Ipv4Addr::new(r[0], r[1], r[2], r[3]);
    let mut sender_mac = [0u8; 6];
    sender_mac.copy_from_slice(&h[8..14]);
    Some(Seen {
        op: u16::from_be_bytes([h[6], h[7]]),
        sender_mac,
        sender_ip: ip(&h[14..18]),
        target_ip: ip(&h[24..28]),
    })
}

/// An `AF_PACKET` datagram socket for ARP: sends to the Ethernet broadcast address of
/// an interface; unbound, it receives the ARP packets of every interface.
pub struct Socket {
    fd: OwnedFd,
}

/// One packet received on a [`Socket`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub ifindex: u32,
    /// `PACKET_HOST`, `PACKET_BROADCAST`, ..., `PACKET_OUTGOING` (our own).
    pub pkttype: u8,
    /// The payload's length.
    pub len: usize,
}

impl Socket {
    /// A blocking socket (the agents' senders) or a non-blocking one (an event loop's).
    pub fn open(nonblocking: bool) -> io::Result<Socket> {
        let flags = if nonblocking { libc::SOCK_NONBLOCK } else { 0 };
        // SAFETY: socket(2); checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | flags,
                i32::from(ETH_P_ARP.to_be()),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor we own.
        Ok(Socket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Sends `payload` to the broadcast address of interface `ifindex`.
    pub fn send_to(&self, ifindex: u32, payload: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; zero is a valid start.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ETH_P_ARP.to_be();
        to.sll_ifindex = ifindex as i32;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: payload and the address are valid for their lengths.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                payload.as_ptr() as *const libc::c_void,
                payload.len(),
                0,
                &to as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Receives one packet into `buf`; `Ok(None)` when nothing is waiting (non-blocking).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY: sockaddr_ll is plain data; zero is a valid start.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: buf and from are valid for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut from as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                _ => Err(e),
            };
        }
        Ok(Some(Received {
            ifindex: from.sll_ifindex as u32,
            pkttype: from.sll_pkttype,
            len: n as usize,
        }))
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// A [`Socket`] sending to the broadcast address of one interface.
pub struct Sender {
    sock: Socket,
    ifindex: u32,
}

impl Sender {
    pub fn open(ifindex: u32) -> io::Result<Sender> {
        Ok(Sender {
            sock: Socket::open(false)?,
            ifindex,
        })
    }

    pub fn send(&self, payload: &[u8]) -> io::Result<()> {
        self.sock.send_to(self.ifindex, payload)
    }
}

/// Sends the whole announcement in this process (blocking for about count x interval).
pub fn announce(a: &Announce) -> io::Result<()> {
    let s = Sender::open(a.ifindex)?;
    let half = Duration::from_millis(a.interval_ms / 2);
    for j in 0..a.count {
        s.send(&packet(a.mac, a.ip, false))?;
        std::thread::sleep(half);
        s.send(&packet(a.mac, a.ip, true))?;
        if j + 1 != a.count {
            std::thread::sleep(half);
        }
    }
    Ok(())
}

/// Starts the announcement in a detached child and records its pid in
/// `send_arp-<ip>` before returning; the child begins sending once the pid file is
/// written. Returns the child's pid.
///
/// Call it from a single-threaded process (the agents are), with stdout flushed.
pub fn spawn(a: &Announce, state: &StateDir, log: &crate::log::Logger) -> io::Result<u32> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two descriptors; checked.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors we own.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fork(2) in a single-threaded process; the child only calls
    // async-signal-safe functions and our own plain code, and ends with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(wr);
        child(a, state, log, rd);
    }
    drop(rd);
    let pid = pid as u32;
    let written = state.write_pidfile(&a.ip.to_string(), pid);
    drop(wr); // the child starts now
    written.map(|_| pid)
}

fn child(a: &Announce, state: &StateDir, log: &crate::log::Logger, go: OwnedFd) -> ! {
    // SAFETY: setsid/prctl/open/dup2/read on our own descriptors, no allocation needed.
    unsafe {
        libc::setsid();
        libc::prctl(
            libc::PR_SET_NAME,
            b"send_arp\0".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        );
        let null = libc::open(b"/dev/null\0".as_ptr() as *const libc::c_char, libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
        let mut b = [0u8; 1];
        // Waits until the parent has written the pid file and closed its end.
        while libc::read(go.as_raw_fd(), b.as_mut_ptr() as *mut libc::c_void, 1) < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
    }
    drop(go);
    let rc = match announce(a) {
        Ok(()) => 0,
        Err(e) => {
            log.error(&format!(
                "could not send gratuitous ARP for {} on {}: {e}",
                a.ip, a.ifname
            ));
            1
        }
    };
    let me = std::process::id();
    if state.read_pidfile(&a.ip.to_string()) == Some(me) {
        let _ = std::fs::remove_file(state.pidfile(&a.ip.to_string()));
    }
    // SAFETY: ends the child without running the parent's exit handlers twice.
    unsafe { libc::_exit(rc) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_those_send_arp_sends() {
        let mac = [0xaa, 0xf0, 0x58, 0x6d, 0x23, 0x2f];
        let ip = Ipv4Addr::new(198, 51, 100, 50);
        // Captured from the original: request then reply.
        let req = "0001 0800 0604 0001 aaf0 586d 232f c633 6432 0000 0000 0000 c633 6432";
        let rep = "0001 0800 0604 0002 aaf0 586d 232f c633 6432 aaf0 586d 232f c633 6432";
        let hex = |p: &[u8]| {
            p.chunks(2)
                .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(hex(&packet(mac, ip, false)), req);
        assert_eq!(hex(&packet(mac, ip, true)), rep);
        // arping -D's probe: sender address zero.
        let probe = "0001 0800 0604 0001 aaf0 586d 232f 0000 0000 0000 0000 0000 c633 6432";
        assert_eq!(hex(&probe_packet(mac, ip)), probe);
    }

    #[test]
    fn parse_reads_what_packet_writes_and_refuses_the_rest() {
        let mac = [2, 0, 0, 0, 0, 0x0a];
        let ip = Ipv4Addr::new(198, 51, 100, 254);
        let seen = parse(&packet(mac, ip, true)).expect("an ARP reply");
        assert_eq!(
            seen,
            Seen {
                op: 2,
                sender_mac: mac,
                sender_ip: ip,
                target_ip: ip
            }
        );
        assert_eq!(
            parse(&probe_packet(mac, ip)).map(|s| s.sender_ip),
            Some(Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(parse(&packet(mac, ip, true)[..27]), None);
        let mut other = packet(mac, ip, true);
        other[2] = 0x86; // not IPv4
        assert_eq!(parse(&other), None);
    }
}
