//! A small rtnetlink client over a raw `AF_NETLINK` socket: just what the IP agents need.
//!
//! Reads: the links (index, name, flags, hardware address), the IPv4 addresses (with their
//! labels and broadcast addresses) and the IPv4 routes of every table. Writes: add and
//! delete an IPv4 address, set a link up, add/replace/change and delete an IPv4 route.
//!
//! Every request carries its own sequence number; a write asks for an acknowledgement and
//! returns the kernel's error as [`NlError::Kernel`]. Replies are parsed with checked
//! slicing only: a short or odd message is [`NlError::Malformed`], never a panic.

use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

// Message types and flags (linux/netlink.h, linux/rtnetlink.h).
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTA_TABLE: u16 = 15;

/// `IFA_F_SECONDARY`: the address is a secondary one of its subnet on that link.
pub const IFA_F_SECONDARY: u32 = 0x01;
/// The main routing table.
pub const RT_TABLE_MAIN: u32 = 254;
/// The local routing table.
pub const RT_TABLE_LOCAL: u32 = 255;
/// Route scopes.
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;
/// `RTN_UNICAST`: an ordinary route.
pub const RTN_UNICAST: u8 = 1;
/// Route protocols: `boot` (the default of `ip route`) and `kernel`.
pub const RTPROT_BOOT: u8 = 3;
pub const RTPROT_KERNEL: u8 = 2;

/// An error of a netlink exchange.
#[derive(Debug)]
pub enum NlError {
    /// The socket could not be made, or a send/receive failed.
    Io(io::Error),
    /// The kernel refused the request with this errno.
    Kernel(i32),
    /// A reply we could not read.
    Malformed(&'static str),
}

impl NlError {
    /// The errno of a kernel refusal, if that is what this is.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NlError::Kernel(e) => Some(*e),
            NlError::Io(e) => e.raw_os_error(),
            NlError::Malformed(_) => None,
        }
    }
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NlError::Io(e) => write!(f, "netlink: {e}"),
            NlError::Kernel(e) => write!(f, "{}", io::Error::from_raw_os_error(*e)),
            NlError::Malformed(what) => write!(f, "netlink: malformed reply ({what})"),
        }
    }
}

impl std::error::Error for NlError {}

impl From<io::Error> for NlError {
    fn from(e: io::Error) -> Self {
        NlError::Io(e)
    }
}

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `IFF_*` flags (`IFF_UP`, `IFF_LOOPBACK`, `IFF_NOARP`, ...).
    pub flags: u32,
    /// The hardware address (6 bytes on Ethernet), empty if none.
    pub mac: Vec<u8>,
}

impl Link {
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }
    pub fn is_loopback(&self) -> bool {
        self.flags & libc::IFF_LOOPBACK as u32 != 0
    }
    pub fn is_noarp(&self) -> bool {
        self.flags & libc::IFF_NOARP as u32 != 0
    }
}

/// An IPv4 address on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr4 {
    pub ifindex: u32,
    pub prefix: u8,
    /// `IFA_F_*` flags (the 32-bit attribute when present).
    pub flags: u32,
    pub scope: u8,
    /// The address itself (`IFA_LOCAL`).
    pub local: Ipv4Addr,
    /// The peer or prefix address (`IFA_ADDRESS`): equal to `local` unless point-to-point.
    pub address: Ipv4Addr,
    pub broadcast: Option<Ipv4Addr>,
    /// The label (`eth0`, `eth0:0`).
    pub label: String,
}

impl Addr4 {
    pub fn is_secondary(&self) -> bool {
        self.flags & IFA_F_SECONDARY != 0
    }
}

/// An IPv4 route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route4 {
    pub table: u32,
    pub dst: Ipv4Addr,
    pub dst_len: u8,
    pub tos: u8,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    /// `RTM_F_*`/`RTNH_F_*` flags (`onlink` is 4).
    pub flags: u32,
    pub oif: Option<u32>,
    pub gateway: Option<Ipv4Addr>,
    pub priority: Option<u32>,
    pub prefsrc: Option<Ipv4Addr>,
    /// The nested `RTA_METRICS` attribute as received (mtu, advmss, ...), kept so that a
    /// replaced route keeps them.
    pub metrics: Option<Vec<u8>>,
}

impl Route4 {
    /// Whether `ip` is inside this route's destination prefix.
    pub fn covers(&self, ip: Ipv4Addr) -> bool {
        crate::ipv4::same_net(ip, self.dst, self.dst_len)
    }
}

/// A new IPv4 address to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAddr4 {
    pub ifindex: u32,
    pub local: Ipv4Addr,
    pub prefix: u8,
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    pub scope: u8,
}

/// How [`Netlink::set_route`] treats an existing route with the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteMode {
    /// `ip route replace`: replace it, or create the route.
    Replace,
    /// `ip route change`: replace it; fail if there is none.
    Change,
}

/// A request being built: header, family header, attributes.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16, seq: u32) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        Msg { buf }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.pad();
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn attr_u32(&mut self, kind: u16, v: u32) {
        self.attr(kind, &v.to_ne_bytes());
    }

    fn attr_str(&mut self, kind: u16, s: &str) {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data);
    }

    fn finish(mut self) -> Vec<u8> {
        let len = (self.buf.len() as u32).to_ne_bytes();
        self.buf[..4].copy_from_slice(&len);
        self.buf
    }
}

fn ifaddrmsg(family: u8, prefix: u8, flags: u8, scope: u8, index: u32) -> [u8; 8] {
    let i = index.to_ne_bytes();
    [family, prefix, flags, scope, i[0], i[1], i[2], i[3]]
}

fn rtmsg(r: &Route4) -> [u8; 12] {
    let table = if r.table < 256 { r.table as u8 } else { 0 };
    let f = r.flags.to_ne_bytes();
    [
        libc::AF_INET as u8,
        r.dst_len,
        0,
        r.tos,
        table,
        r.protocol,
        r.scope,
        r.kind,
        f[0],
        f[1],
        f[2],
        f[3],
    ]
}

/// One netlink message of a reply: its type, flags and payload after the header.
struct Reply<'a> {
    kind: u16,
    flags: u16,
    seq: u32,
    payload: &'a [u8],
}

fn split_messages(mut buf: &[u8]) -> Result<Vec<Reply<'_>>, NlError> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = read_u32(buf, 0).ok_or(NlError::Malformed("header"))? as usize;
        if len < 16 || len > buf.len() {
            return Err(NlError::Malformed("message length"));
        }
        let kind = read_u16(buf, 4).ok_or(NlError::Malformed("header"))?;
        let flags = read_u16(buf, 6).ok_or(NlError::Malformed("header"))?;
        let seq = read_u32(buf, 8).ok_or(NlError::Malformed("header"))?;
        let payload = buf.get(16..len).ok_or(NlError::Malformed("payload"))?;
        out.push(Reply {
            kind,
            flags,
            seq,
            payload,
        });
        let next = align4(len);
        buf = buf.get(next..).unwrap_or(&[]);
    }
    Ok(out)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn read_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn read_i32(b: &[u8], at: usize) -> Option<i32> {
    read_u32(b, at).map(|v| v as i32)
}

/// The attributes of a payload after its family header of `hdr` bytes: (type, data).
fn attributes(payload: &[u8], hdr: usize) -> Result<Vec<(u16, &[u8])>, NlError> {
    let mut out = Vec::new();
    let mut rest = payload
        .get(hdr..)
        .ok_or(NlError::Malformed("family header"))?;
    while rest.len() >= 4 {
        let len = read_u16(rest, 0).ok_or(NlError::Malformed("attribute"))? as usize;
        let kind = read_u16(rest, 2).ok_or(NlError::Malformed("attribute"))? & 0x3fff;
        if len < 4 || len > rest.len() {
            return Err(NlError::Malformed("attribute length"));
        }
        let data = rest.get(4..len).ok_or(NlError::Malformed("attribute"))?;
        out.push((kind, data));
        rest = rest.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

fn ipv4(data: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

fn c_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// Parses one `RTM_NEWLINK` payload.
fn parse_link(p: &[u8]) -> Result<Link, NlError> {
    let index = read_i32(p, 4).ok_or(NlError::Malformed("ifinfomsg"))? as u32;
    let flags = read_u32(p, 8).ok_or(NlError::Malformed("ifinfomsg"))?;
    let mut link = Link {
        index,
        name: String::new(),
        flags,
        mac: Vec::new(),
    };
    for (kind, data) in attributes(p, 16)? {
        match kind {
            IFLA_IFNAME => link.name = c_string(data),
            IFLA_ADDRESS => link.mac = data.to_vec(),
            _ => {}
        }
    }
    Ok(link)
}

/// Parses one `RTM_NEWADDR` payload; `None` for another family.
fn parse_addr(p: &[u8]) -> Result<Option<Addr4>, NlError> {
    let hdr = p.get(..8).ok_or(NlError::Malformed("ifaddrmsg"))?;
    if hdr[0] != libc::AF_INET as u8 {
        return Ok(None);
    }
    let mut a = Addr4 {
        ifindex: read_u32(hdr, 4).ok_or(NlError::Malformed("ifaddrmsg"))?,
        prefix: hdr[1],
        flags: u32::from(hdr[2]),
        scope: hdr[3],
        local: Ipv4Addr::UNSPECIFIED,
        address: Ipv4Addr::UNSPECIFIED,
        broadcast: None,
        label: String::new(),
    };
    let mut have_local = false;
    for (kind, data) in attributes(p, 8)? {
        match kind {
            IFA_LOCAL => {
                a.local = ipv4(data).ok_or(NlError::Malformed("IFA_LOCAL"))?;
                have_local = true;
            }
            IFA_ADDRESS => a.address = ipv4(data).ok_or(NlError::Malformed("IFA_ADDRESS"))?,
            IFA_BROADCAST => a.broadcast = ipv4(data),
            IFA_LABEL => a.label = c_string(data),
            IFA_FLAGS => {
                if let Some(v) = read_u32(data, 0) {
                    a.flags = v;
                }
            }
            _ => {}
        }
    }
    if !have_local {
        a.local = a.address;
    }
    Ok(Some(a))
}

/// Parses one `RTM_NEWROUTE` payload; `None` for another family.
fn parse_route(p: &[u8]) -> Result<Option<Route4>, NlError> {
    let h = p.get(..12).ok_or(NlError::Malformed("rtmsg"))?;
    if h[0] != libc::AF_INET as u8 {
        return Ok(None);
    }
    let mut r = Route4 {
        table: u32::from(h[4]),
        dst: Ipv4Addr::UNSPECIFIED,
        dst_len: h[1],
        tos: h[3],
        protocol: h[5],
        scope: h[6],
        kind: h[7],
        flags: read_u32(h, 8).ok_or(NlError::Malformed("rtmsg"))?,
        oif: None,
        gateway: None,
        priority: None,
        prefsrc: None,
        metrics: None,
    };
    for (kind, data) in attributes(p, 12)? {
        match kind {
            RTA_DST => r.dst = ipv4(data).ok_or(NlError::Malformed("RTA_DST"))?,
            RTA_OIF => r.oif = read_u32(data, 0),
            RTA_GATEWAY => r.gateway = ipv4(data),
            RTA_PRIORITY => r.priority = read_u32(data, 0),
            RTA_PREFSRC => r.prefsrc = ipv4(data),
            RTA_METRICS => r.metrics = Some(data.to_vec()),
            RTA_TABLE => {
                if let Some(t) = read_u32(data, 0) {
                    r.table = t;
                }
            }
            _ => {}
        }
    }
    Ok(Some(r))
}

/// An open rtnetlink socket.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket in the caller's network namespace.
    pub fn open() -> Result<Netlink, NlError> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(NlError::Io(io::Error::last_os_error()));
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a zeroed sockaddr_nl is valid; we set the family.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: sa is a properly sized sockaddr_nl.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if rc < 0 {
            return Err(NlError::Io(io::Error::last_os_error()));
        }
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(1);
        Ok(Netlink {
            fd,
            seq,
            buf: vec![0u8; 65536],
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(&self, msg: &[u8]) -> Result<(), NlError> {
        // SAFETY: a zeroed sockaddr_nl (pid 0) addresses the kernel.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        loop {
            // SAFETY: msg is a valid buffer, sa a valid address of the right size.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    msg.as_ptr() as *const libc::c_void,
                    msg.len(),
                    0,
                    &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_nl>() as u32,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(NlError::Io(e));
            }
            return Ok(());
        }
    }

    /// Receives one datagram into the internal buffer and returns its length.
    fn recv(&mut self) -> Result<usize, NlError> {
        loop {
            // SAFETY: buf is a valid writable buffer of its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr() as *mut libc::c_void,
                    self.buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(NlError::Io(e));
            }
            return Ok(n as usize);
        }
    }

    /// Sends a dump request and hands every reply payload of type `want` to `each`.
    fn dump(
        &mut self,
        kind: u16,
        family_hdr: &[u8],
        want: u16,
        mut each: impl FnMut(&[u8]) -> Result<(), NlError>,
    ) -> Result<(), NlError> {
        let seq = self.next_seq();
        let mut m = Msg::new(kind, NLM_F_REQUEST | NLM_F_DUMP, seq);
        m.raw(family_hdr);
        self.send(&m.finish())?;
        // A dump ends with NLMSG_DONE; bound the number of datagrams anyway.
        for _ in 0..100_000 {
            let n = self.recv()?;
            let data = self.buf.get(..n).ok_or(NlError::Malformed("length"))?;
            for r in split_messages(data)? {
                if r.seq != seq {
                    continue;
                }
                match r.kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let e = read_i32(r.payload, 0).ok_or(NlError::Malformed("error"))?;
                        return Err(NlError::Kernel(-e));
                    }
                    k if k == want => each(r.payload)?,
                    _ => {}
                }
                if r.flags & NLM_F_MULTI == 0 && r.kind == want {
                    // A single-part answer (not expected for dumps): done.
                    return Ok(());
                }
            }
        }
        Err(NlError::Malformed("dump without end"))
    }

    /// Sends a request that asks for an acknowledgement and waits for it.
    fn transact(&mut self, msg: Msg, seq: u32) -> Result<(), NlError> {
        self.send(&msg.finish())?;
        for _ in 0..1000 {
            let n = self.recv()?;
            let data = self.buf.get(..n).ok_or(NlError::Malformed("length"))?;
            for r in split_messages(data)? {
                if r.seq != seq || r.kind != NLMSG_ERROR {
                    continue;
                }
                let e = read_i32(r.payload, 0).ok_or(NlError::Malformed("ack"))?;
                return if e == 0 {
                    Ok(())
                } else {
                    Err(NlError::Kernel(-e))
                };
            }
        }
        Err(NlError::Malformed("no acknowledgement"))
    }

    /// All links.
    pub fn links(&mut self) -> Result<Vec<Link>, NlError> {
        let mut out = Vec::new();
        let hdr = [0u8; 16]; // ifinfomsg, AF_UNSPEC
        self.dump(RTM_GETLINK, &hdr, RTM_NEWLINK, |p| {
            out.push(parse_link(p)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// All IPv4 addresses, in the kernel's order (by link, primaries before secondaries).
    pub fn addrs(&mut self) -> Result<Vec<Addr4>, NlError> {
        let mut out = Vec::new();
        let hdr = ifaddrmsg(libc::AF_INET as u8, 0, 0, 0, 0);
        self.dump(RTM_GETADDR, &hdr, RTM_NEWADDR, |p| {
            if let Some(a) = parse_addr(p)? {
                out.push(a);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// All IPv4 routes of every table, in the kernel's order.
    pub fn routes(&mut self) -> Result<Vec<Route4>, NlError> {
        let mut out = Vec::new();
        let mut hdr = [0u8; 12];
        hdr[0] = libc::AF_INET as u8;
        self.dump(RTM_GETROUTE, &hdr, RTM_NEWROUTE, |p| {
            if let Some(r) = parse_route(p)? {
                out.push(r);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Adds an address; fails with `EEXIST` if it is already on that link.
    pub fn add_addr(&mut self, a: &NewAddr4) -> Result<(), NlError> {
        let seq = self.next_seq();
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        let mut m = Msg::new(RTM_NEWADDR, flags, seq);
        m.raw(&ifaddrmsg(
            libc::AF_INET as u8,
            a.prefix,
            0,
            a.scope,
            a.ifindex,
        ));
        m.attr(IFA_LOCAL, &a.local.octets());
        m.attr(IFA_ADDRESS, &a.local.octets());
        if let Some(b) = a.broadcast {
            m.attr(IFA_BROADCAST, &b.octets());
        }
        if let Some(l) = &a.label {
            m.attr_str(IFA_LABEL, l);
        }
        self.transact(m, seq)
    }

    /// Deletes exactly this address (matched by local address, prefix and label).
    pub fn del_addr(&mut self, a: &Addr4) -> Result<(), NlError> {
        let seq = self.next_seq();
        let mut m = Msg::new(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.raw(&ifaddrmsg(libc::AF_INET as u8, a.prefix, 0, 0, a.ifindex));
        m.attr(IFA_LOCAL, &a.local.octets());
        m.attr(IFA_ADDRESS, &a.address.octets());
        if !a.label.is_empty() {
            m.attr_str(IFA_LABEL, &a.label);
        }
        self.transact(m, seq)
    }

    /// Sets a link administratively up (`ip link set IF up`).
    pub fn set_link_up(&mut self, index: u32) -> Result<(), NlError> {
        let seq = self.next_seq();
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
        let mut hdr = [0u8; 16];
        hdr[4..8].copy_from_slice(&(index as i32).to_ne_bytes());
        let up = libc::IFF_UP as u32;
        hdr[8..12].copy_from_slice(&up.to_ne_bytes());
        hdr[12..16].copy_from_slice(&up.to_ne_bytes());
        m.raw(&hdr);
        self.transact(m, seq)
    }

    /// Adds or replaces (`Replace`), or changes (`Change`) a route.
    pub fn set_route(&mut self, r: &Route4, mode: RouteMode) -> Result<(), NlError> {
        let seq = self.next_seq();
        let flags = match mode {
            RouteMode::Replace => NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE | NLM_F_CREATE,
            RouteMode::Change => NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE,
        };
        let mut m = Msg::new(RTM_NEWROUTE, flags, seq);
        m.raw(&rtmsg(r));
        self.route_attrs(&mut m, r);
        self.transact(m, seq)
    }

    /// Deletes a route (matched by table, destination, and the given attributes).
    pub fn del_route(&mut self, r: &Route4) -> Result<(), NlError> {
        let seq = self.next_seq();
        let mut m = Msg::new(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq);
        m.raw(&rtmsg(r));
        self.route_attrs(&mut m, r);
        self.transact(m, seq)
    }

    fn route_attrs(&self, m: &mut Msg, r: &Route4) {
        if r.table >= 256 {
            m.attr_u32(RTA_TABLE, r.table);
        }
        if r.dst_len > 0 {
            m.attr(RTA_DST, &r.dst.octets());
        }
        if let Some(o) = r.oif {
            m.attr_u32(RTA_OIF, o);
        }
        if let Some(g) = r.gateway {
            m.attr(RTA_GATEWAY, &g.octets());
        }
        if let Some(p) = r.priority {
            m.attr_u32(RTA_PRIORITY, p);
        }
        if let Some(s) = r.prefsrc {
            m.attr(RTA_PREFSRC, &s.octets());
        }
        if let Some(x) = &r.metrics {
            m.attr(RTA_METRICS, x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout_is_aligned_and_sized() {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_REQUEST, 7);
        m.raw(&ifaddrmsg(2, 24, 0, 0, 5));
        m.attr_str(IFA_LABEL, "eth0:0"); // 4 + 7 bytes -> padded to 12
        let b = m.finish();
        assert_eq!(b.len(), 16 + 8 + 12);
        assert_eq!(read_u32(&b, 0), Some(36));
        assert_eq!(read_u16(&b, 4), Some(RTM_NEWADDR));
        assert_eq!(read_u32(&b, 8), Some(7));
        assert_eq!(read_u16(&b, 24), Some(11));
        assert_eq!(&b[28..35], b"eth0:0\0");
    }

    #[test]
    fn parses_an_address_message() {
        let mut m = Msg::new(RTM_NEWADDR, 0, 1);
        m.raw(&ifaddrmsg(2, 24, 0x80, 0, 6));
        m.attr(IFA_ADDRESS, &[198, 51, 100, 10]);
        m.attr(IFA_LOCAL, &[198, 51, 100, 10]);
        m.attr(IFA_BROADCAST, &[198, 51, 100, 255]);
        m.attr_str(IFA_LABEL, "eth0:0");
        m.attr_u32(IFA_FLAGS, 0x81);
        let b = m.finish();
        let msgs = split_messages(&b).unwrap();
        assert_eq!(msgs.len(), 1);
        let a = parse_addr(msgs[0].payload).unwrap().unwrap();
        assert_eq!(a.local, Ipv4Addr::new(198, 51, 100, 10));
        assert_eq!(a.broadcast, Some(Ipv4Addr::new(198, 51, 100, 255)));
        assert_eq!(a.label, "eth0:0");
        assert_eq!(a.prefix, 24);
        assert_eq!(a.ifindex, 6);
        assert!(a.is_secondary());
    }

    #[test]
    fn truncated_replies_are_errors_not_panics() {
        let mut m = Msg::new(RTM_NEWROUTE, 0, 1);
        let mut h = [0u8; 12];
        h[0] = 2;
        m.raw(&h);
        m.attr(RTA_DST, &[192, 0, 2, 0]);
        let b = m.finish();
        for cut in 0..b.len() {
            let part = &b[..cut];
            if let Ok(msgs) = split_messages(part) {
                for r in msgs {
                    let _ = parse_route(r.payload);
                    let _ = parse_addr(r.payload);
                    let _ = parse_link(r.payload);
                }
            }
        }
        // A bad attribute length inside an otherwise whole message.
        let mut bad = b.clone();
        bad[16 + 12] = 200;
        let msgs = split_messages(&bad).unwrap();
        assert!(parse_route(msgs[0].payload).is_err());
    }
}
