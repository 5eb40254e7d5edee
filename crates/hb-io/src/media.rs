//! Heartbeat media: UDP (`ucast DEV ADDR`, `bcast DEV`, `mcast DEV GROUP PORT TTL LOOP`) and
//! serial lines (`serial DEV`, in [`crate::serial`]), behind one [`Medium`].
//!
//! Every medium has two non-blocking sockets, as the original plugins have (2.0.8
//! `lib/plugins/HBcomm/{ucast,bcast,mcast}.c`, read for facts):
//!
//! | medium | send socket | receive socket |
//! |---|---|---|
//! | ucast | unbound (ephemeral port), `IP_TOS` = `IPTOS_LOWDELAY`, `SO_BINDTODEVICE` dev | `SO_REUSEADDR`, `SO_BINDTODEVICE` dev, bound to `0.0.0.0:udpport` |
//! | bcast | unbound, `SO_BROADCAST`, `SO_DONTROUTE`, `SO_BINDTODEVICE` dev | `SO_REUSEADDR`, `SO_BINDTODEVICE` dev, bound to `0.0.0.0:udpport` |
//! | mcast | unbound, `IP_MULTICAST_IF` = dev's address, `IP_MULTICAST_LOOP`, `IP_MULTICAST_TTL` | `SO_REUSEADDR`, bound to `GROUP:PORT`, `IP_ADD_MEMBERSHIP` GROUP on dev's address |
//!
//! The unicast destination is `ADDR:udpport` (ADDR may be a host name, resolved once at open, first
//! IPv4 address), the broadcast destination is the device's IPv4 broadcast address and `udpport`, the
//! multicast destination `GROUP:PORT`.
//!
//! Deliberate differences from the original:
//! - the mcast receive socket is also bound to its device (`SO_BINDTODEVICE`). The original's is not,
//!   so with two mcast media on the same group and port each socket also sees the other
//!   interface's packets and the link is misattributed; binding keeps `node:DEV` links exact. Our
//!   own looped-back multicast is still received (the kernel loops it back on the sending device).
//! - the original retries a failing `bind` 10 times (mcast: 50 times on `EADDRINUSE`), one second
//!   apart; [`Medium::open`] tries once and returns the error, so the caller decides about retries.
//! - the original looks the device's address up with `SIOCGIFADDR`/`SIOCGIFBRDADDR`; we use
//!   `getifaddrs`, which gives the same primary IPv4 address and broadcast address.
//!
//! Received datagrams are passed on as they are: the wire layer accepts them with or without a
//! trailing NUL. A buffer of [`MAX_DATAGRAM`] bytes never truncates a UDP datagram.
//!
//! A serial medium carries the same messages, one per `>>>`...`<<<` block, in the classic form
//! (see [`crate::serial`]); its link name is the device path.

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hb_wire::KeyRing;
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, Socket, Type};

use crate::serial::SerialPort;
use hb_log::Level;

/// A receive buffer of this size holds any UDP datagram (max IPv4 UDP payload is 65507 bytes).
pub const MAX_DATAGRAM: usize = 65536;

/// `IPTOS_LOWDELAY`, set on the ucast send socket by the original.
const IPTOS_LOWDELAY: u32 = 0x10;

/// The kind of a medium, as named in ha.cf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediumKind {
    Ucast,
    Bcast,
    Mcast,
    Serial,
}

impl MediumKind {
    /// The ha.cf keyword: `ucast`, `bcast`, `mcast` or `serial`.
    pub fn name(self) -> &'static str {
        match self {
            MediumKind::Ucast => "ucast",
            MediumKind::Bcast => "bcast",
            MediumKind::Mcast => "mcast",
            MediumKind::Serial => "serial",
        }
    }
}

impl fmt::Display for MediumKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to open: one medium line of ha.cf, already parsed (`bcast eth0 eth1` is two specs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediumSpec {
    /// `ucast DEV HOST`: send to HOST (address or name) on `port`, or on `udpport` when `port` is
    /// `None` (ha.cf has no syntax for `port`; it lets tests run several nodes on one host).
    Ucast {
        dev: String,
        host: String,
        port: Option<u16>,
    },
    /// `bcast DEV`: send to DEV's IPv4 broadcast address on `udpport`.
    Bcast { dev: String },
    /// `mcast DEV GROUP PORT TTL LOOP`.
    Mcast {
        dev: String,
        group: Ipv4Addr,
        port: u16,
        ttl: u8,
        loop_back: bool,
    },
    /// `serial DEV` at `baud`; the line is locked in `lock_dir` while it is opened
    /// ([`crate::serial::LOCK_DIR`]).
    Serial {
        dev: String,
        baud: u32,
        lock_dir: PathBuf,
    },
}

impl MediumSpec {
    /// The device (interface name or serial device path), which is also the link name
    /// (`node:DEV`).
    pub fn dev(&self) -> &str {
        match self {
            MediumSpec::Ucast { dev, .. }
            | MediumSpec::Bcast { dev }
            | MediumSpec::Mcast { dev, .. }
            | MediumSpec::Serial { dev, .. } => dev,
        }
    }

    pub fn kind(&self) -> MediumKind {
        match self {
            MediumSpec::Ucast { .. } => MediumKind::Ucast,
            MediumSpec::Bcast { .. } => MediumKind::Bcast,
            MediumSpec::Mcast { .. } => MediumKind::Mcast,
            MediumSpec::Serial { .. } => MediumKind::Serial,
        }
    }
}

/// An opened medium: UDP sockets, or a serial line.
#[derive(Debug)]
pub struct Medium {
    pub kind: MediumKind,
    /// Device name; the link name of packets received here.
    pub dev: String,
    io: Io,
}

#[derive(Debug)]
enum Io {
    Udp(Udp),
    Serial(SerialPort),
}

/// A UDP medium: a send socket, a receive socket and the destinations of every datagram.
#[derive(Debug)]
struct Udp {
    rx: UdpSocket,
    tx: UdpSocket,
    dests: Vec<SocketAddr>,
    rx_port: u16,
    /// Sends dropped because the socket buffer was full (EAGAIN).
    dropped: AtomicU64,
    /// For mcast: (group, ttl, loop) for the start-up log line.
    mcast: Option<(Ipv4Addr, u8, bool)>,
}

/// IPv4 configuration of one interface, from `getifaddrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfaceV4 {
    pub addr: Ipv4Addr,
    pub netmask: Ipv4Addr,
    /// The broadcast address, for interfaces with `IFF_BROADCAST`.
    pub broadcast: Option<Ipv4Addr>,
}

fn sockaddr_v4(sa: *const libc::sockaddr) -> Option<Ipv4Addr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: `sa` is non-null and points to a sockaddr filled by getifaddrs; we read the family
    // first and only reinterpret it as sockaddr_in when it is AF_INET.
    unsafe {
        if i32::from((*sa).sa_family) != libc::AF_INET {
            return None;
        }
        let sin = &*(sa as *const libc::sockaddr_in);
        Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
    }
}

/// The first (primary) IPv4 address of interface `dev`, its netmask and broadcast address.
pub fn iface_v4(dev: &str) -> io::Result<IfaceV4> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = None;
    let mut exists = false;
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list returned by getifaddrs, valid until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) };
        if name.to_bytes() != dev.as_bytes() {
            continue;
        }
        exists = true;
        let Some(addr) = sockaddr_v4(ifa.ifa_addr) else {
            continue;
        };
        let netmask = sockaddr_v4(ifa.ifa_netmask).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let broadcast = if ifa.ifa_flags & (libc::IFF_BROADCAST as libc::c_uint) != 0 {
            sockaddr_v4(ifa.ifa_ifu)
                .or_else(|| Some(Ipv4Addr::from(u32::from(addr) | !u32::from(netmask))))
        } else {
            None
        };
        found = Some(IfaceV4 {
            addr,
            netmask,
            broadcast,
        });
        break;
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    match found {
        Some(v) => Ok(v),
        None if exists => Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("interface {dev} has no IPv4 address"),
        )),
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("interface {dev} does not exist"),
        )),
    }
}

fn with_context(e: io::Error, what: &str, dev: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what} on {dev}: {e}"))
}

fn new_udp_socket() -> io::Result<Socket> {
    // socket2 sets close-on-exec on Unix, as the original does with fcntl(FD_CLOEXEC).
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

fn set_dontroute(s: &Socket) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: valid socket fd, option value is a c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_DONTROUTE,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn into_mio(s: Socket) -> UdpSocket {
    UdpSocket::from_std(std::net::UdpSocket::from(s))
}

/// Receive socket of ucast and bcast: SO_REUSEADDR, bound to the device, `0.0.0.0:port`.
fn any_port_receiver(dev: &str, port: u16) -> io::Result<Socket> {
    let s = new_udp_socket()?;
    s.set_reuse_address(true)?;
    s.bind_device(Some(dev.as_bytes()))
        .map_err(|e| with_context(e, "SO_BINDTODEVICE(r)", dev))?;
    let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    s.bind(&addr.into())
        .map_err(|e| with_context(e, &format!("bind to port {port}"), dev))?;
    Ok(s)
}

fn resolve_v4(host: &str, port: u16) -> io::Result<SocketAddr> {
    let addrs = (host, port).to_socket_addrs()?;
    for a in addrs {
        if a.is_ipv4() {
            return Ok(a);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("cannot resolve {host} to an IPv4 address"),
    ))
}

impl Medium {
    /// Open the sockets of one medium, or its serial line. `udpport` is ha.cf's `udpport`
    /// (default 694), used by ucast and bcast; mcast uses its own port.
    pub fn open(spec: &MediumSpec, udpport: u16) -> io::Result<Medium> {
        match spec {
            MediumSpec::Serial {
                dev,
                baud,
                lock_dir,
            } => Ok(Medium {
                kind: MediumKind::Serial,
                dev: dev.clone(),
                io: Io::Serial(SerialPort::open(dev, *baud, lock_dir)?),
            }),
            MediumSpec::Ucast { dev, host, port } => {
                let dest = resolve_v4(host, port.unwrap_or(udpport))?;
                let tx = new_udp_socket()?;
                tx.set_tos(IPTOS_LOWDELAY)?;
                tx.bind_device(Some(dev.as_bytes()))
                    .map_err(|e| with_context(e, "SO_BINDTODEVICE(w)", dev))?;
                let rx = any_port_receiver(dev, udpport)?;
                Ok(Medium::new(
                    MediumKind::Ucast,
                    dev,
                    rx,
                    tx,
                    vec![dest],
                    udpport,
                    None,
                ))
            }
            MediumSpec::Bcast { dev } => {
                let ifc = iface_v4(dev)?;
                let bcast = ifc.broadcast.ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("interface {dev} has no IPv4 broadcast address"),
                    )
                })?;
                let tx = new_udp_socket()?;
                tx.set_broadcast(true)?;
                set_dontroute(&tx)?;
                tx.bind_device(Some(dev.as_bytes()))
                    .map_err(|e| with_context(e, "SO_BINDTODEVICE(w)", dev))?;
                let rx = any_port_receiver(dev, udpport)?;
                let dest = SocketAddr::V4(SocketAddrV4::new(bcast, udpport));
                Ok(Medium::new(
                    MediumKind::Bcast,
                    dev,
                    rx,
                    tx,
                    vec![dest],
                    udpport,
                    None,
                ))
            }
            MediumSpec::Mcast {
                dev,
                group,
                port,
                ttl,
                loop_back,
            } => {
                if !group.is_multicast() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("mcast [{dev}] bad addr [{group}]"),
                    ));
                }
                let ifc = iface_v4(dev)?;
                let tx = new_udp_socket()?;
                tx.set_multicast_if_v4(&ifc.addr)?;
                tx.set_multicast_loop_v4(*loop_back)?;
                tx.set_multicast_ttl_v4(u32::from(*ttl))?;
                let rx = new_udp_socket()?;
                rx.set_reuse_address(true)?;
                rx.bind_device(Some(dev.as_bytes()))
                    .map_err(|e| with_context(e, "SO_BINDTODEVICE(r)", dev))?;
                let gaddr = SocketAddrV4::new(*group, *port);
                rx.bind(&gaddr.into())
                    .map_err(|e| with_context(e, &format!("bind to {gaddr}"), dev))?;
                rx.join_multicast_v4(group, &ifc.addr)
                    .map_err(|e| with_context(e, &format!("joining group {group}"), dev))?;
                Ok(Medium::new(
                    MediumKind::Mcast,
                    dev,
                    rx,
                    tx,
                    vec![SocketAddr::V4(gaddr)],
                    *port,
                    Some((*group, *ttl, *loop_back)),
                ))
            }
        }
    }

    fn new(
        kind: MediumKind,
        dev: &str,
        rx: Socket,
        tx: Socket,
        dests: Vec<SocketAddr>,
        rx_port: u16,
        mcast: Option<(Ipv4Addr, u8, bool)>,
    ) -> Medium {
        Medium {
            kind,
            dev: dev.to_string(),
            io: Io::Udp(Udp {
                rx: into_mio(rx),
                tx: into_mio(tx),
                dests,
                rx_port,
                dropped: AtomicU64::new(0),
                mcast,
            }),
        }
    }

    fn udp(&self) -> Option<&Udp> {
        match &self.io {
            Io::Udp(u) => Some(u),
            Io::Serial(_) => None,
        }
    }

    fn not_udp(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} is a serial line, not a socket", self.dev),
        )
    }

    /// The link name of packets received on this medium: the device name.
    pub fn link_name(&self) -> &str {
        &self.dev
    }

    /// Where every datagram is sent (none for a serial line).
    pub fn destinations(&self) -> &[SocketAddr] {
        self.udp().map_or(&[], |u| &u.dests)
    }

    /// Local address of the receive socket.
    pub fn rx_local_addr(&self) -> io::Result<SocketAddr> {
        self.udp().ok_or_else(|| self.not_udp())?.rx.local_addr()
    }

    /// Local address of the send socket (unbound until the first send: port 0).
    pub fn tx_local_addr(&self) -> io::Result<SocketAddr> {
        self.udp().ok_or_else(|| self.not_udp())?.tx.local_addr()
    }

    /// Number of datagrams dropped so far because the send buffer (a serial line's output
    /// queue) was full.
    pub fn dropped(&self) -> u64 {
        match &self.io {
            Io::Udp(u) => u.dropped.load(Ordering::Relaxed),
            Io::Serial(s) => s.dropped(),
        }
    }

    /// What the medium itself has to log (a serial line lost, stuck or back), in order.
    pub fn poll_notice(&mut self) -> Option<(Level, String)> {
        match &mut self.io {
            Io::Udp(_) => None,
            Io::Serial(s) => s.poll_notice(),
        }
    }

    /// Send one datagram (as the membership encoded it) on this medium. UDP: to every
    /// destination; a full send buffer (EAGAIN) drops the datagram for that destination and
    /// is counted in [`Medium::dropped`], as UDP may lose packets anyway; returns the number
    /// of destinations it was handed to; the first other error (including a short send) is
    /// returned after trying every destination. Serial: queued in the classic form (`keys`
    /// sign a netstring datagram again) and written as the line takes it; an error when the
    /// line is down (see [`crate::serial`]).
    pub fn send(&mut self, now: Instant, datagram: &[u8], keys: &KeyRing) -> io::Result<usize> {
        let u = match &mut self.io {
            Io::Udp(u) => u,
            Io::Serial(s) => return s.send(now, datagram, keys),
        };
        let (kind, dev) = (self.kind, &self.dev);
        let mut sent = 0;
        let mut first_err = None;
        for dest in &u.dests {
            let mut res = u.tx.send_to(datagram, *dest);
            if matches!(&res, Err(e) if e.kind() == io::ErrorKind::Interrupted) {
                res = u.tx.send_to(datagram, *dest);
            }
            match res {
                Ok(n) if n == datagram.len() => sent += 1,
                Ok(n) => {
                    first_err.get_or_insert_with(|| {
                        io::Error::new(
                            io::ErrorKind::WriteZero,
                            format!(
                                "short {} send on {} to {dest}: {n} of {} bytes",
                                kind,
                                dev,
                                datagram.len()
                            ),
                        )
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    u.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    first_err.get_or_insert_with(|| {
                        io::Error::new(
                            e.kind(),
                            format!("Unable to send {} packet on {} to {dest}: {e}", kind, dev),
                        )
                    });
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(sent),
        }
    }

    /// Read every pending datagram (mio is edge-triggered: this drains until WouldBlock), calling
    /// `f(datagram, source)` for each. `buf` should be [`MAX_DATAGRAM`] bytes; a smaller one
    /// truncates larger datagrams. Empty datagrams are skipped, as the original does. Returns how
    /// many datagrams were passed to `f`; an error other than WouldBlock/EINTR stops the loop and
    /// is returned (datagrams read before it have been delivered).
    ///
    /// A serial line (source `None`) also writes its queued output here (its events are
    /// readable and writable) and passes each complete message; a lost line is reported
    /// through [`Medium::poll_notice`], not as an error.
    pub fn recv_all(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        mut f: impl FnMut(&[u8], Option<SocketAddr>),
    ) -> io::Result<usize> {
        let u = match &mut self.io {
            Io::Udp(u) => u,
            Io::Serial(s) => return Ok(s.service(now, buf, |m| f(m, None))),
        };
        let mut count = 0;
        loop {
            match u.rx.recv_from(buf) {
                Ok((0, _)) => {}
                Ok((n, from)) => {
                    let data = buf.get(..n).unwrap_or(buf);
                    f(data, Some(from));
                    count += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Register the receive socket for READABLE events. The send socket needs no registration:
    /// a full send buffer drops the datagram (see [`Medium::send`]). A serial line is
    /// registered for READABLE and WRITABLE events.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        match &mut self.io {
            Io::Udp(u) => registry.register(&mut u.rx, token, Interest::READABLE),
            Io::Serial(s) => s.register(registry, token),
        }
    }

    /// Undo [`Medium::register`].
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match &mut self.io {
            Io::Udp(u) => registry.deregister(&mut u.rx),
            Io::Serial(s) => s.deregister(registry),
        }
    }

    /// The info line the original logs when the medium starts (admins grep for these), e.g.
    /// `ucast: started on port 694 interface eth1 to 10.0.0.2`.
    pub fn start_log_line(&self) -> String {
        let u = match &self.io {
            Io::Udp(u) => u,
            Io::Serial(s) => return s.start_log_line(),
        };
        let dest = u
            .dests
            .first()
            .map(|d| d.ip().to_string())
            .unwrap_or_default();
        match (self.kind, u.mcast) {
            (MediumKind::Mcast, Some((group, ttl, lp))) => format!(
                "UDP multicast heartbeat started for group {group} port {} interface {} (ttl={ttl} loop={})",
                u.rx_port,
                self.dev,
                u8::from(lp)
            ),
            (MediumKind::Bcast, _) => format!(
                "UDP Broadcast heartbeat started on port {} ({}) interface {}",
                u.rx_port, u.rx_port, self.dev
            ),
            _ => format!(
                "ucast: started on port {} interface {} to {dest}",
                u.rx_port, self.dev
            ),
        }
    }
}

/// Receive-buffer helper: a zeroed buffer of [`MAX_DATAGRAM`] bytes.
pub fn datagram_buffer() -> Vec<u8> {
    vec![0u8; MAX_DATAGRAM]
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Duration;

    /// The keys a UDP medium is given (it never uses them).
    fn crc() -> KeyRing {
        KeyRing::single(1, hb_wire::AuthMethod::Crc).expect("ring")
    }

    /// A port that was free a moment ago on 0.0.0.0 (the receive sockets bind there).
    fn free_port() -> u16 {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind an ephemeral port");
        s.local_addr().expect("local addr").port()
    }

    /// Open a medium. Kernels before 5.7 refuse SO_BINDTODEVICE to a non-root user: the test
    /// then fails and says so (run it as root there), it never passes without running.
    fn open_medium(spec: &MediumSpec, udpport: u16) -> Medium {
        match Medium::open(spec, udpport) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                panic!("open {spec:?}: {e} (SO_BINDTODEVICE: kernels before 5.7 allow it to root only; run as root)")
            }
            Err(e) => panic!("open {spec:?}: {e}"),
        }
    }

    /// Wait up to `timeout` for datagrams on `m`, returning what arrived.
    fn wait_recv(m: &mut Medium, timeout: Duration) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut poll = Poll::new().expect("poll");
        m.register(poll.registry(), Token(1)).expect("register");
        let mut events = Events::with_capacity(8);
        let mut got = Vec::new();
        let mut buf = datagram_buffer();
        let end = Instant::now() + timeout;
        // A datagram may already be queued before registration: drain once first.
        m.recv_all(Instant::now(), &mut buf, |d, a| {
            got.extend(a.map(|a| (d.to_vec(), a)))
        })
        .expect("recv");
        while got.is_empty() {
            let now = Instant::now();
            if now >= end {
                break;
            }
            poll.poll(&mut events, Some(end - now)).expect("poll");
            m.recv_all(Instant::now(), &mut buf, |d, a| {
                got.extend(a.map(|a| (d.to_vec(), a)))
            })
            .expect("recv");
        }
        m.deregister(poll.registry()).expect("deregister");
        got
    }

    #[test]
    fn loopback_interface_facts() {
        let lo = iface_v4("lo").expect("lo has 127.0.0.1");
        assert_eq!(lo.addr, Ipv4Addr::LOCALHOST);
        assert_eq!(lo.netmask, Ipv4Addr::new(255, 0, 0, 0));
        assert_eq!(lo.broadcast, None, "lo has no IFF_BROADCAST");
        let e = iface_v4("hbio-nosuch0").expect_err("no such interface");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn bcast_needs_a_broadcast_address() {
        let e = Medium::open(&MediumSpec::Bcast { dev: "lo".into() }, free_port())
            .expect_err("lo has no broadcast");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = Medium::open(
            &MediumSpec::Bcast {
                dev: "hbio-nosuch0".into(),
            },
            free_port(),
        )
        .expect_err("missing device");
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn mcast_group_must_be_multicast() {
        let spec = MediumSpec::Mcast {
            dev: "lo".into(),
            group: Ipv4Addr::new(192, 0, 2, 7),
            port: free_port(),
            ttl: 1,
            loop_back: true,
        };
        let e = Medium::open(&spec, 694).expect_err("not a multicast group");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn ucast_pair_on_loopback() {
        let (pa, pb) = (free_port(), free_port());
        let spec_a = MediumSpec::Ucast {
            dev: "lo".into(),
            host: "127.0.0.1".into(),
            port: Some(pb),
        };
        let spec_b = MediumSpec::Ucast {
            dev: "lo".into(),
            host: "localhost".into(),
            port: Some(pa),
        };
        let mut a = open_medium(&spec_a, pa);
        let mut b = open_medium(&spec_b, pb);
        assert_eq!(a.kind, MediumKind::Ucast);
        assert_eq!(a.link_name(), "lo");
        assert_eq!(a.destinations(), &[SocketAddr::from(([127, 0, 0, 1], pb))]);
        assert_eq!(
            b.destinations(),
            &[SocketAddr::from(([127, 0, 0, 1], pa))],
            "localhost resolved to IPv4"
        );
        assert_eq!(a.rx_local_addr().expect("addr").port(), pa);
        assert_eq!(
            a.start_log_line(),
            format!("ucast: started on port {pa} interface lo to 127.0.0.1")
        );

        assert_eq!(
            a.send(Instant::now(), b"t=status\nst=active\n", &crc())
                .expect("send"),
            1
        );
        let got = wait_recv(&mut b, Duration::from_secs(3));
        assert_eq!(got.len(), 1, "b receives a's datagram once");
        assert_eq!(got[0].0, b"t=status\nst=active\n");
        let a_src = a.tx_local_addr().expect("tx addr");
        assert_eq!(
            got[0].1.port(),
            a_src.port(),
            "sent from the send socket's ephemeral port"
        );
        assert_ne!(
            a_src.port(),
            pa,
            "the send socket is not the receive socket"
        );

        assert_eq!(b.send(Instant::now(), b"reply", &crc()).expect("send"), 1);
        let got = wait_recv(&mut a, Duration::from_secs(3));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, b"reply");
        assert_eq!(a.dropped(), 0);
        assert_eq!(b.dropped(), 0);
    }

    #[test]
    fn recv_all_drains_every_pending_datagram() {
        let (pa, pb) = (free_port(), free_port());
        let spec_a = MediumSpec::Ucast {
            dev: "lo".into(),
            host: "127.0.0.1".into(),
            port: Some(pb),
        };
        let spec_b = MediumSpec::Ucast {
            dev: "lo".into(),
            host: "127.0.0.1".into(),
            port: Some(pa),
        };
        let mut a = open_medium(&spec_a, pa);
        let mut b = open_medium(&spec_b, pb);
        let mut poll = Poll::new().expect("poll");
        b.register(poll.registry(), Token(7)).expect("register");
        for i in 0..5u8 {
            a.send(Instant::now(), &[b'm', b'0' + i], &crc())
                .expect("send");
        }
        let mut events = Events::with_capacity(4);
        let mut got = Vec::new();
        let mut buf = datagram_buffer();
        let end = Instant::now() + Duration::from_secs(3);
        while got.len() < 5 && Instant::now() < end {
            poll.poll(&mut events, Some(Duration::from_millis(200)))
                .expect("poll");
            for ev in events.iter() {
                assert_eq!(ev.token(), Token(7));
            }
            let n = b
                .recv_all(Instant::now(), &mut buf, |d, _| got.push(d.to_vec()))
                .expect("recv");
            assert!(n <= 5);
        }
        let want: Vec<Vec<u8>> = (0..5u8).map(|i| vec![b'm', b'0' + i]).collect();
        assert_eq!(got, want);
        // Drained: nothing more, and no error.
        assert_eq!(
            b.recv_all(Instant::now(), &mut buf, |_, _| {})
                .expect("recv"),
            0
        );
    }

    #[test]
    fn send_reports_errors_and_never_panics() {
        let (pa, pb) = (free_port(), free_port());
        let spec = MediumSpec::Ucast {
            dev: "lo".into(),
            host: "127.0.0.1".into(),
            port: Some(pb),
        };
        let mut a = open_medium(&spec, pa);
        // Larger than any UDP datagram: the kernel answers EMSGSIZE.
        let big = vec![b'x'; 70_000];
        let e = a
            .send(Instant::now(), &big, &crc())
            .expect_err("oversized datagram");
        assert!(
            e.to_string().contains("Unable to send ucast packet on lo"),
            "{e}"
        );
        assert_eq!(a.dropped(), 0, "an error is not a drop");
    }

    #[test]
    fn medium_spec_accessors() {
        let m = MediumSpec::Mcast {
            dev: "eth1".into(),
            group: Ipv4Addr::new(225, 0, 0, 1),
            port: 694,
            ttl: 1,
            loop_back: false,
        };
        assert_eq!(m.dev(), "eth1");
        assert_eq!(m.kind(), MediumKind::Mcast);
        assert_eq!(m.kind().to_string(), "mcast");
        assert_eq!(
            MediumSpec::Bcast { dev: "eth0".into() }.kind().name(),
            "bcast"
        );
    }
}
