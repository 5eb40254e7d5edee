//! ICMP echo for `ping` and `ping_group` nodes: a non-blocking socket that sends echo requests
//! with an identifier and sequence number of our choosing and reads the echo replies, for a mio
//! loop (no external `ping` program).
//!
//! Two kinds of socket (see [`IcmpKind`]):
//! - an unprivileged "ping socket" (`SOCK_DGRAM`, `IPPROTO_ICMP`), allowed when the process's group
//!   is inside `net.ipv4.ping_group_range`. The kernel fills in the identifier (the socket's bound
//!   "port"), computes the checksum, and hands us only the echo replies that match it, without the
//!   IP header;
//! - a raw socket (`SOCK_RAW`, `IPPROTO_ICMP`, needs `CAP_NET_RAW`), as the original's ping
//!   plugins use (2.0.8 `lib/plugins/HBcomm/ping.c`, `ping_group.c`, read for facts: identifier =
//!   pid & 0xffff, one sequence counter per medium starting at 0, replies taken only when the type
//!   is echo reply and the identifier is theirs). Every raw ICMP socket of the host sees every
//!   ICMP packet, so we install an `ICMP_FILTER` that passes only echo replies, check the checksum,
//!   and keep only replies carrying our identifier.
//!
//! [`IcmpMode::Auto`] tries the ping socket first and falls back to the raw one.
//!
//! Differences from the original: its echo payload is an authenticated heartbeat message in the
//! ping node's name (`t=NS_st`, `st=ping`, `info=ping`/`ping_group`), which its reader parses and
//! checks; here the payload is whatever the caller passes, and replies are reported as
//! `(source address, sequence number, payload)` for the caller (`hb_core::pingnodes`) to match
//! against the echoes it sent.

use std::fmt;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// ICMP header length (type, code, checksum, identifier, sequence).
pub const ICMP_HEADER_LEN: usize = 8;

/// A receive buffer of this size holds any IPv4 packet.
pub const MAX_PACKET: usize = 65536;

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_ECHO_REQUEST: u8 = 8;
/// `SOL_RAW` / `ICMP_FILTER` from linux/icmp.h (not in every libc version).
const SOL_RAW: libc::c_int = 255;
const ICMP_FILTER: libc::c_int = 1;

/// Which socket to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpMode {
    /// The unprivileged ping socket if `net.ipv4.ping_group_range` allows it, else a raw socket.
    Auto,
    /// Only the unprivileged ping socket.
    Dgram,
    /// Only a raw socket.
    Raw,
}

/// The kind of an open socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IcmpKind {
    Dgram,
    Raw,
}

impl fmt::Display for IcmpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IcmpKind::Dgram => "SOCK_DGRAM",
            IcmpKind::Raw => "SOCK_RAW",
        })
    }
}

/// One echo reply for us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EchoReply<'a> {
    pub from: Ipv4Addr,
    pub seq: u16,
    /// The data after the ICMP header (our request's payload, echoed).
    pub payload: &'a [u8],
}

/// An open, non-blocking ICMP echo socket.
#[derive(Debug)]
pub struct IcmpSocket {
    sock: Socket,
    kind: IcmpKind,
    ident: u16,
    dropped: AtomicU64,
    ignored: AtomicU64,
}

/// The identifier the original uses: the low 16 bits of the process id.
pub fn default_ident() -> u16 {
    (std::process::id() & 0xffff) as u16
}

impl IcmpSocket {
    /// Open a socket of `mode` with the identifier [`default_ident`] (raw sockets, as the
    /// original) or one the kernel picks (ping sockets). With [`IcmpMode::Auto`], a refused ping socket falls back
    /// to a raw one; the error returned then is the raw socket's, naming both attempts.
    pub fn open(mode: IcmpMode) -> io::Result<IcmpSocket> {
        Self::open_with_ident(mode, default_ident())
    }

    /// As [`IcmpSocket::open`], with identifier `ident` for a raw socket. A ping socket always
    /// takes the identifier the kernel picks among the free ones (the kernel lets two ping
    /// sockets bind the same identifier, and then only one of them gets the replies), so
    /// `ident` is not used for it; [`IcmpSocket::ident`] tells which one it got.
    pub fn open_with_ident(mode: IcmpMode, ident: u16) -> io::Result<IcmpSocket> {
        match mode {
            IcmpMode::Dgram => Self::open_dgram(),
            IcmpMode::Raw => Self::open_raw(ident),
            IcmpMode::Auto => match Self::open_dgram() {
                Ok(s) => Ok(s),
                Err(dgram_err) => Self::open_raw(ident).map_err(|raw_err| {
                    io::Error::new(
                        raw_err.kind(),
                        format!(
                            "cannot open an ICMP socket: SOCK_DGRAM: {dgram_err}; SOCK_RAW: {raw_err}"
                        ),
                    )
                }),
            },
        }
    }

    fn open_dgram() -> io::Result<IcmpSocket> {
        let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4))?;
        sock.set_nonblocking(true)?;
        sock.set_cloexec(true)?;
        // Port 0: the kernel picks an identifier no other ping socket holds.
        sock.bind(&SockAddr::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)))?;
        let got = match sock.local_addr()?.as_socket() {
            Some(SocketAddr::V4(a)) => a.port(),
            _ => return Err(io::Error::other("ICMP socket has no IPv4 local address")),
        };
        Ok(IcmpSocket {
            sock,
            kind: IcmpKind::Dgram,
            ident: got,
            dropped: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
        })
    }

    fn open_raw(ident: u16) -> io::Result<IcmpSocket> {
        let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
        sock.set_nonblocking(true)?;
        sock.set_cloexec(true)?;
        // Pass echo replies only: the filter's bits are the ICMP types to drop.
        let filter: u32 = !(1u32 << ICMP_ECHO_REPLY);
        // Only an optimisation (replies are filtered by type below anyway), so a refusal is
        // ignored.
        // SAFETY: valid fd, pointer to a live u32 of the given length.
        let _ = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                SOL_RAW,
                ICMP_FILTER,
                (&filter as *const u32).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        };
        Ok(IcmpSocket {
            sock,
            kind: IcmpKind::Raw,
            ident,
            dropped: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
        })
    }

    pub fn kind(&self) -> IcmpKind {
        self.kind
    }

    /// The identifier of our echo requests (and of the replies we report).
    pub fn ident(&self) -> u16 {
        self.ident
    }

    /// Echo requests not sent because the socket's send buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Packets read and passed over: not an echo reply, not ours, too short, bad checksum.
    pub fn ignored(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    /// Send one echo request to `to` with sequence number `seq` and `payload`. A full send
    /// buffer drops it (counted in [`IcmpSocket::dropped`]); other errors (no route, ...) are
    /// returned, naming the destination.
    pub fn send_echo(&self, to: Ipv4Addr, seq: u16, payload: &[u8]) -> io::Result<()> {
        let pkt = echo_request(self.ident, seq, payload);
        let dest = SockAddr::from(SocketAddrV4::new(to, 0));
        let mut res = self.sock.send_to(&pkt, &dest);
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::Interrupted) {
            res = self.sock.send_to(&pkt, &dest);
        }
        match res {
            Ok(n) if n == pkt.len() => Ok(()),
            Ok(n) => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short ICMP send to {to}: {n} of {} bytes", pkt.len()),
            )),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("Error sending packet to {to}: {e}"),
            )),
        }
    }

    /// Read every pending packet (mio is edge-triggered: this drains until WouldBlock), calling
    /// `f` for each echo reply that is ours. `buf` should be [`MAX_PACKET`] bytes. Returns how many
    /// replies were passed to `f`; an error other than WouldBlock/EINTR stops the loop and is
    /// returned (replies read before it have been delivered).
    pub fn recv_all(&self, buf: &mut [u8], mut f: impl FnMut(EchoReply<'_>)) -> io::Result<usize> {
        let mut count = 0;
        loop {
            match self.recv_one(buf) {
                Ok((n, from)) => {
                    let data = buf.get(..n).unwrap_or(&[]);
                    match self.parse(data, from) {
                        Some(r) => {
                            f(r);
                            count += 1;
                        }
                        None => {
                            self.ignored.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn recv_one(&self, buf: &mut [u8]) -> io::Result<(usize, Ipv4Addr)> {
        // SAFETY: zeroed sockaddr_in is a valid value.
        let mut addr: libc::sockaddr_in = unsafe { zeroed() };
        let mut alen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: buf and addr are valid for the lengths given.
        let n = unsafe {
            libc::recvfrom(
                self.sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut addr as *mut libc::sockaddr_in).cast(),
                &mut alen,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let from = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
        Ok((n as usize, from))
    }

    fn parse<'a>(&self, data: &'a [u8], from: Ipv4Addr) -> Option<EchoReply<'a>> {
        let icmp = match self.kind {
            IcmpKind::Dgram => data,
            IcmpKind::Raw => {
                let first = *data.first()?;
                if first >> 4 != 4 || *data.get(9)? != libc::IPPROTO_ICMP as u8 {
                    return None;
                }
                let ihl = usize::from(first & 0x0f) * 4;
                if ihl < 20 {
                    return None;
                }
                let icmp = data.get(ihl..)?;
                if hb_sys::inet_checksum(icmp) != 0 {
                    return None;
                }
                icmp
            }
        };
        let hdr = icmp.get(..ICMP_HEADER_LEN)?;
        let (ty, code) = (hdr[0], hdr[1]);
        let ident = u16::from_be_bytes([hdr[4], hdr[5]]);
        let seq = u16::from_be_bytes([hdr[6], hdr[7]]);
        if ty != ICMP_ECHO_REPLY || code != 0 || ident != self.ident {
            return None;
        }
        Some(EchoReply {
            from,
            seq,
            payload: icmp.get(ICMP_HEADER_LEN..).unwrap_or(&[]),
        })
    }

    /// Register for READABLE events. Nothing needs WRITABLE: a full send buffer drops the echo.
    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.sock.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    /// Undo [`IcmpSocket::register`].
    pub fn deregister(&self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut SourceFd(&self.sock.as_raw_fd()))
    }
}

impl AsRawFd for IcmpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}

/// An echo request: header (checksum filled in) followed by `payload`.
pub fn echo_request(ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut pkt = Vec::with_capacity(ICMP_HEADER_LEN + payload.len());
    pkt.extend_from_slice(&[ICMP_ECHO_REQUEST, 0, 0, 0]);
    pkt.extend_from_slice(&ident.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(payload);
    let sum = hb_sys::inet_checksum(&pkt);
    pkt[2..4].copy_from_slice(&sum.to_be_bytes());
    pkt
}

/// Receive-buffer helper: a zeroed buffer of [`MAX_PACKET`] bytes.
pub fn packet_buffer() -> Vec<u8> {
    vec![0u8; MAX_PACKET]
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_sys::inet_checksum as checksum;

    #[test]
    fn request_layout_and_checksum() {
        let p = echo_request(0x1234, 0xabcd, b"hello");
        assert_eq!(&p[..2], &[8, 0]);
        assert_eq!(&p[4..8], &[0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(&p[8..], b"hello");
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
    }

    fn raw_reply(ident: u16, seq: u16, ty: u8, corrupt: bool) -> Vec<u8> {
        let mut icmp = echo_request(ident, seq, b"data");
        icmp[0] = ty;
        icmp[2] = 0;
        icmp[3] = 0;
        let s = checksum(&icmp);
        icmp[2..4].copy_from_slice(&s.to_be_bytes());
        if corrupt {
            icmp[9] ^= 0xff;
        }
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 9, 192, 0, 2, 1,
        ];
        ip.extend_from_slice(&icmp);
        ip
    }

    #[test]
    fn raw_parse_keeps_only_our_valid_echo_replies() {
        let s = IcmpSocket {
            // Any socket will do: parse does not touch it.
            sock: Socket::new(Domain::IPV4, Type::DGRAM, None).expect("udp socket"),
            kind: IcmpKind::Raw,
            ident: 77,
            dropped: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
        };
        let from = Ipv4Addr::new(192, 0, 2, 9);
        let ok = raw_reply(77, 5, 0, false);
        let r = s.parse(&ok, from).expect("our reply");
        assert_eq!((r.from, r.seq, r.payload), (from, 5, &b"data"[..]));
        assert!(
            s.parse(&raw_reply(78, 5, 0, false), from).is_none(),
            "other ident"
        );
        assert!(
            s.parse(&raw_reply(77, 5, 8, false), from).is_none(),
            "a request"
        );
        assert!(
            s.parse(&raw_reply(77, 5, 0, true), from).is_none(),
            "bad sum"
        );
        for cut in 0..28 {
            assert!(s.parse(&ok[..cut], from).is_none(), "truncated at {cut}");
        }
        let mut not_icmp = ok.clone();
        not_icmp[9] = 17;
        assert!(s.parse(&not_icmp, from).is_none());
    }
}
