//! Which interface, netmask and broadcast address to give an IPv4 address.
//!
//! The original has two rule sets, and the agents use both:
//!
//! - [`classic`]: the C program `findif` (used by IPaddr). When no interface is given it
//!   walks the main routing table in order and keeps the route that covers the address
//!   with a metric no higher and a prefix no shorter than the best so far (so later
//!   routes win ties). The interface is that route's; the netmask the given one, else
//!   the route's. A default route alone gives no netmask: an error unless one is given
//!   (addresses in 127/8 fall back to the loopback device with /8). The broadcast is the
//!   given one, else the address with all host bits set. Netmasks may be bits (`24`, at
//!   most two digits, 1 to 32) or dotted (`255.255.255.0`; bits are counted up to the
//!   lowest set bit, as the original does).
//! - [`routed`]: the shell function `findif` of resource-agents' findif.sh (used by
//!   IPaddr2 and IPsrcaddr). It looks only at main-table routes of scope link that cover
//!   the address (or the address/netmask), on the given interface if one is given, and
//!   keeps the longest prefix (later routes win ties); host routes are never chosen. With
//!   both an interface and a netmask given no route is needed. The broadcast is the given
//!   one (`+` and `-` allowed), else the broadcast of the address that the shell's text
//!   search finds from the chosen route's seventh word (in practice the route's `src`
//!   address, so the primary address's broadcast), else none. On start the arguments
//!   are checked first (interface exists, address, netmask 1-32, broadcast).
//!
//! Both are pure functions over a [`Snapshot`] of the kernel's tables.

use std::fmt;
use std::net::Ipv4Addr;

use crate::ipv4;
use crate::netlink::{
    Addr4, Link, Netlink, NlError, Route4, RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_LINK, RT_TABLE_MAIN,
};

/// The links, IPv4 addresses and IPv4 routes read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub links: Vec<Link>,
    pub addrs: Vec<Addr4>,
    pub routes: Vec<Route4>,
}

impl Snapshot {
    /// Reads all three tables.
    pub fn read(nl: &mut Netlink) -> Result<Snapshot, NlError> {
        Ok(Snapshot {
            links: nl.links()?,
            addrs: nl.addrs()?,
            routes: nl.routes()?,
        })
    }

    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn link_at(&self, index: u32) -> Option<&Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// The name of the link with this index ("" if unknown).
    pub fn name_of(&self, index: u32) -> &str {
        self.link_at(index).map_or("", |l| l.name.as_str())
    }

    /// The main-table unicast routes.
    fn main_routes(&self) -> impl Iterator<Item = &Route4> {
        self.routes
            .iter()
            .filter(|r| r.table == RT_TABLE_MAIN && r.kind == RTN_UNICAST)
    }
}

/// Why no interface could be found; [`FindifError::status`] is the original's exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindifError {
    /// No address given.
    NoAddress,
    BadAddress(String),
    BadNetmask(String),
    BadBroadcast(String),
    UnknownInterface(String),
    /// No route covers the address.
    NoRoute(String),
    /// Only a default route covers the address and no netmask was given.
    DefaultRouteNeedsNetmask(String),
    /// An address in 127/8 without a route, and no loopback device.
    NoLoopback,
    /// findif.sh: no route of scope link gives the missing interface or netmask.
    NoNicOrNetmask(String),
}

impl FindifError {
    /// The exit status of the original for this failure: 6 (not configured) for bad
    /// arguments, 1 (generic error) when the routing table has no answer.
    pub fn status(&self) -> i32 {
        match self {
            FindifError::NoAddress
            | FindifError::BadAddress(_)
            | FindifError::BadNetmask(_)
            | FindifError::BadBroadcast(_)
            | FindifError::UnknownInterface(_) => 6,
            FindifError::NoRoute(_)
            | FindifError::DefaultRouteNeedsNetmask(_)
            | FindifError::NoLoopback
            | FindifError::NoNicOrNetmask(_) => 1,
        }
    }
}

impl fmt::Display for FindifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FindifError::NoAddress => write!(f, "no IP address given"),
            FindifError::BadAddress(a) => write!(f, "IP address [{a}] is not a valid IPv4 address"),
            FindifError::BadNetmask(m) => write!(
                f,
                "netmask [{m}] is not valid (give 1 to 32 bits or a dotted netmask)"
            ),
            FindifError::BadBroadcast(b) => write!(f, "broadcast address [{b}] is not valid"),
            FindifError::UnknownInterface(i) => write!(f, "interface [{i}] does not exist"),
            FindifError::NoRoute(a) => {
                write!(f, "no route to {a}: no interface found for it")
            }
            FindifError::DefaultRouteNeedsNetmask(a) => write!(
                f,
                "only the default route leads to {a}: give a netmask (and interface)"
            ),
            FindifError::NoLoopback => write!(f, "no loopback interface found"),
            FindifError::NoNicOrNetmask(a) => write!(
                f,
                "no interface or netmask found for {a}: no route of scope link covers it"
            ),
        }
    }
}

impl std::error::Error for FindifError {}

/// What the caller gave; empty strings mean "not given", as for the environment
/// variables the originals read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    pub ip: &'a str,
    pub netmask: &'a str,
    pub broadcast: &'a str,
    pub nic: &'a str,
}

/// The answer of [`classic`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classic {
    pub nic: String,
    pub prefix: u8,
    /// The given broadcast text, or the computed one.
    pub broadcast: String,
}

impl Classic {
    /// The line the C program prints: `IF<TAB>netmask M<TAB>broadcast B`.
    pub fn line(&self, cidr: bool) -> String {
        if cidr {
            format!(
                "{}\tnetmask {}\tbroadcast {}",
                self.nic, self.prefix, self.broadcast
            )
        } else {
            format!(
                "{}\tnetmask {}\tbroadcast {}",
                self.nic,
                ipv4::mask_addr(self.prefix),
                self.broadcast
            )
        }
    }
}

/// The C findif's netmask rules: dotted (bits up to the lowest set bit) or at most two
/// digits; 1 to 32.
pub fn classic_netmask(s: &str) -> Result<u8, FindifError> {
    let bad = || FindifError::BadNetmask(s.to_string());
    let bits = if s.contains('.') {
        let m = ipv4::parse(s).ok_or_else(bad)?;
        ipv4::bits_from_lowest_set(m).ok_or_else(bad)?
    } else {
        if s.len() > 2 || !ipv4::all_digits(s) {
            return Err(bad());
        }
        s.parse::<u8>().map_err(|_| bad())?
    };
    if !(1..=32).contains(&bits) {
        return Err(bad());
    }
    Ok(bits)
}

/// Whether an interface name is known: a link, or (for `eth0:0`) an address label.
fn interface_exists(snap: &Snapshot, name: &str) -> bool {
    snap.link(name).is_some() || (name.contains(':') && snap.addrs.iter().any(|a| a.label == name))
}

/// The C findif's route search: the route kept, or `None`.
fn classic_best_route(snap: &Snapshot, ip: Ipv4Addr) -> Option<&Route4> {
    let mut best: Option<&Route4> = None;
    let mut best_metric = u64::MAX;
    let mut best_len = 0u8;
    for r in snap.main_routes().filter(|r| r.oif.is_some()) {
        let metric = u64::from(r.priority.unwrap_or(0));
        if r.covers(ip) && metric <= best_metric && r.dst_len >= best_len {
            best = Some(r);
            best_metric = metric;
            best_len = r.dst_len;
        }
    }
    best
}

/// The C `findif`'s answer (see the module documentation).
///
/// One difference: with an interface but no netmask, the original computes garbage from
/// an uninitialised mask; we take the netmask from the route search instead.
pub fn classic(req: &Request<'_>, snap: &Snapshot) -> Result<Classic, FindifError> {
    if req.ip.is_empty() {
        return Err(FindifError::NoAddress);
    }
    let ip = ipv4::parse(req.ip).ok_or_else(|| FindifError::BadAddress(req.ip.to_string()))?;
    let given_prefix = if req.netmask.is_empty() {
        None
    } else {
        Some(classic_netmask(req.netmask)?)
    };
    let given_nic = if req.nic.is_empty() {
        None
    } else {
        if !interface_exists(snap, req.nic) {
            return Err(FindifError::UnknownInterface(req.nic.to_string()));
        }
        Some(req.nic.to_string())
    };
    let (nic, prefix) = match (given_nic, given_prefix) {
        (Some(n), Some(p)) => (n, p),
        (nic, prefix) => {
            let route = classic_best_route(snap, ip)
                .ok_or_else(|| FindifError::NoRoute(req.ip.to_string()))?;
            let route_nic = snap.name_of(route.oif.unwrap_or(0)).to_string();
            match prefix {
                Some(p) => (nic.unwrap_or(route_nic), p),
                None if route.dst_len > 0 => (nic.unwrap_or(route_nic), route.dst_len),
                None if req.ip.starts_with("127") => {
                    let lo = snap
                        .links
                        .iter()
                        .find(|l| l.is_loopback())
                        .ok_or(FindifError::NoLoopback)?;
                    (lo.name.clone(), 8)
                }
                None => return Err(FindifError::DefaultRouteNeedsNetmask(req.ip.to_string())),
            }
        }
    };
    let broadcast = if req.broadcast.is_empty() {
        ipv4::broadcast(ip, prefix).to_string()
    } else {
        if ipv4::parse(req.broadcast).is_none() {
            return Err(FindifError::BadBroadcast(req.broadcast.to_string()));
        }
        req.broadcast.to_string()
    };
    Ok(Classic {
        nic,
        prefix,
        broadcast,
    })
}

/// The answer of [`routed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    pub nic: String,
    pub prefix: u8,
    /// The broadcast to set: an address, `+` or `-` (as `ip addr add ... brd` takes
    /// them), or none.
    pub broadcast: Option<String>,
}

/// findif.sh's netmask handling: a contiguous dotted netmask becomes its bit count;
/// anything else is kept as text (and then refused unless it is 1 to 32 bits).
pub fn routed_netmask(s: &str) -> Result<u8, FindifError> {
    let bad = || FindifError::BadNetmask(s.to_string());
    if s.contains('.') {
        let m = ipv4::parse(s).ok_or_else(bad)?;
        let p = ipv4::contiguous_prefix(m).ok_or_else(bad)?;
        if p == 0 {
            return Err(bad());
        }
        return Ok(p);
    }
    if s.len() > 3 || !ipv4::all_digits(s) {
        return Err(bad());
    }
    match s.parse::<u8>() {
        Ok(p) if (1..=32).contains(&p) => Ok(p),
        _ => Err(bad()),
    }
}

/// `ip -o route` words of a scope-link route, as the shell splits them.
fn route_words(r: &Route4, snap: &Snapshot) -> Vec<String> {
    let mut w = Vec::new();
    if r.dst_len == 0 {
        w.push("default".to_string());
    } else if r.dst_len == 32 {
        w.push(r.dst.to_string());
    } else {
        w.push(format!("{}/{}", r.dst, r.dst_len));
    }
    if let Some(o) = r.oif {
        w.push("dev".into());
        w.push(snap.name_of(o).to_string());
    }
    if r.protocol != RTPROT_BOOT {
        w.push("proto".into());
        w.push(match r.protocol {
            2 => "kernel".to_string(),
            4 => "static".to_string(),
            16 => "dhcp".to_string(),
            p => p.to_string(),
        });
    }
    if let Some(s) = r.prefsrc {
        w.push("src".into());
        w.push(s.to_string());
    }
    if let Some(m) = r.priority {
        w.push("metric".into());
        w.push(m.to_string());
    }
    w
}

/// An `ip -o -f inet addr show` line, close enough for the shell's text search.
fn addr_line(a: &Addr4, snap: &Snapshot) -> String {
    let peer = if a.address != a.local {
        format!(" peer {}", a.address)
    } else {
        String::new()
    };
    let brd = match a.broadcast {
        Some(b) => format!(" brd {b}"),
        None => String::new(),
    };
    let scope = match a.scope {
        0 => "global".to_string(),
        200 => "site".to_string(),
        253 => "link".to_string(),
        254 => "host".to_string(),
        s => s.to_string(),
    };
    let sec = if a.is_secondary() { " secondary" } else { "" };
    format!(
        "{}: {}    inet {}{}/{}{} scope {}{} {}",
        a.ifindex,
        snap.name_of(a.ifindex),
        a.local,
        peer,
        a.prefix,
        brd,
        scope,
        sec,
        a.label
    )
}

/// Routes findif.sh considers for `ip[/prefix]` (on `nic` if given), in table order.
fn routed_candidates<'a>(
    snap: &'a Snapshot,
    ip: Ipv4Addr,
    match_len: u8,
    nic: Option<&'a str>,
) -> impl Iterator<Item = &'a Route4> + 'a {
    snap.main_routes().filter(move |r| {
        r.scope == RT_SCOPE_LINK
            && r.dst_len < 32
            && r.dst_len <= match_len
            && r.covers(ip)
            && match nic {
                Some(n) => r.oif.map(|o| snap.name_of(o)) == Some(n),
                None => true,
            }
    })
}

/// The findif.sh answer (see the module documentation). `check` is true for start (and
/// validate-all): only then are the interface, netmask and broadcast checked first.
pub fn routed(req: &Request<'_>, snap: &Snapshot, check: bool) -> Result<Routed, FindifError> {
    if req.ip.is_empty() {
        return Err(FindifError::NoAddress);
    }
    let nic = (!req.nic.is_empty()).then_some(req.nic);
    if check {
        if let Some(n) = nic {
            if snap.link(n).is_none() {
                return Err(FindifError::UnknownInterface(n.to_string()));
            }
        }
    }
    // Without the check, what `ip route` cannot parse simply finds no route.
    let unchecked = |e: FindifError| {
        if check {
            e
        } else {
            FindifError::NoNicOrNetmask(req.ip.to_string())
        }
    };
    let ip = match ipv4::parse(req.ip) {
        Some(ip) if ip.octets()[0] != 0 => ip,
        _ => return Err(unchecked(FindifError::BadAddress(req.ip.to_string()))),
    };
    let given_prefix = if req.netmask.is_empty() {
        None
    } else {
        Some(routed_netmask(req.netmask).map_err(unchecked)?)
    };
    let given_brd = if req.broadcast.is_empty() {
        None
    } else {
        if check
            && req.broadcast != "+"
            && req.broadcast != "-"
            && ipv4::parse(req.broadcast).is_none()
        {
            return Err(FindifError::BadBroadcast(req.broadcast.to_string()));
        }
        Some(req.broadcast.to_string())
    };
    let mut best: Option<&Route4> = None;
    for r in routed_candidates(snap, ip, given_prefix.unwrap_or(32), nic) {
        if best.map_or(true, |b| r.dst_len >= b.dst_len) {
            best = Some(r);
        }
    }
    let (nic, prefix) = match (nic, given_prefix, best) {
        (Some(n), Some(p), _) => (n.to_string(), p),
        (n, p, Some(r)) => (
            n.map_or_else(
                || snap.name_of(r.oif.unwrap_or(0)).to_string(),
                str::to_string,
            ),
            p.unwrap_or(r.dst_len),
        ),
        _ => return Err(FindifError::NoNicOrNetmask(req.ip.to_string())),
    };
    let broadcast = given_brd.or_else(|| {
        let r = best?;
        let word = route_words(r, snap).into_iter().nth(6)?;
        let a = snap
            .addrs
            .iter()
            .find(|a| addr_line(a, snap).contains(&word))?;
        if a.address != a.local {
            return None;
        }
        a.broadcast.map(|b| b.to_string())
    });
    Ok(Routed {
        nic,
        prefix,
        broadcast,
    })
}

/// The findif program (`argv[0]` = findif): reads `OCF_RESKEY_ip`, `OCF_RESKEY_cidr_netmask`
/// (or `OCF_RESKEY_netmask`), `OCF_RESKEY_broadcast`, `OCF_RESKEY_nic`; prints the
/// classic answer line (`-C`: netmask as bits). Exit statuses as the original: 2 for bad
/// usage, 6 for bad parameters, 1 when no route gives an answer.
pub fn run_cli(args: &[String], env: &dyn Fn(&str) -> Option<String>) -> i32 {
    let cidr = match args {
        [] => false,
        [a] if a == "-C" => true,
        _ => {
            eprintln!("usage: findif [-C]   (parameters in OCF_RESKEY_ip, OCF_RESKEY_cidr_netmask, OCF_RESKEY_broadcast, OCF_RESKEY_nic)");
            return 2;
        }
    };
    let get = |k: &str| env(k).unwrap_or_default();
    let ip = get("OCF_RESKEY_ip");
    let mut netmask = get("OCF_RESKEY_cidr_netmask");
    if netmask.is_empty() {
        netmask = get("OCF_RESKEY_netmask");
    }
    let broadcast = get("OCF_RESKEY_broadcast");
    let nic = get("OCF_RESKEY_nic");
    let req = Request {
        ip: &ip,
        netmask: &netmask,
        broadcast: &broadcast,
        nic: &nic,
    };
    let snap = match Netlink::open().and_then(|mut nl| Snapshot::read(&mut nl)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("findif: cannot read the routing table: {e}");
            return 1;
        }
    };
    match classic(&req, &snap) {
        Ok(ans) => {
            println!("{}", ans.line(cidr));
            0
        }
        Err(e) => {
            eprintln!("findif: {e}");
            e.status()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::netlink::{RTPROT_KERNEL, RT_SCOPE_UNIVERSE};

    pub(crate) fn link(index: u32, name: &str) -> Link {
        Link {
            index,
            name: name.into(),
            flags: (libc::IFF_UP | libc::IFF_BROADCAST) as u32,
            mac: vec![2, 0, 0, 0, 0, index as u8],
        }
    }

    pub(crate) fn addr(
        ifindex: u32,
        ip: [u8; 4],
        prefix: u8,
        brd: Option<[u8; 4]>,
        label: &str,
    ) -> Addr4 {
        Addr4 {
            ifindex,
            prefix,
            flags: 0,
            scope: 0,
            local: Ipv4Addr::from(ip),
            address: Ipv4Addr::from(ip),
            broadcast: brd.map(Ipv4Addr::from),
            label: label.into(),
        }
    }

    pub(crate) fn net_route(oif: u32, dst: [u8; 4], len: u8, src: Option<[u8; 4]>) -> Route4 {
        Route4 {
            table: RT_TABLE_MAIN,
            dst: Ipv4Addr::from(dst),
            dst_len: len,
            tos: 0,
            protocol: RTPROT_KERNEL,
            scope: RT_SCOPE_LINK,
            kind: RTN_UNICAST,
            flags: 0,
            oif: Some(oif),
            gateway: None,
            priority: None,
            prefsrc: src.map(Ipv4Addr::from),
            metrics: None,
        }
    }

    pub(crate) fn default_route(oif: u32, gw: [u8; 4]) -> Route4 {
        Route4 {
            table: RT_TABLE_MAIN,
            dst: Ipv4Addr::UNSPECIFIED,
            dst_len: 0,
            tos: 0,
            protocol: RTPROT_BOOT,
            scope: RT_SCOPE_UNIVERSE,
            kind: RTN_UNICAST,
            flags: 0,
            oif: Some(oif),
            gateway: Some(Ipv4Addr::from(gw)),
            priority: None,
            prefsrc: None,
            metrics: None,
        }
    }

    /// lo, eth0 198.51.100.1/24 (no brd), eth1 192.0.2.1/24 brd .255, default via eth0.
    pub(crate) fn lab() -> Snapshot {
        let mut lo = link(1, "lo");
        lo.flags |= libc::IFF_LOOPBACK as u32;
        Snapshot {
            links: vec![lo, link(6, "eth0"), link(8, "eth1")],
            addrs: vec![
                addr(1, [127, 0, 0, 1], 8, None, "lo"),
                addr(6, [198, 51, 100, 1], 24, None, "eth0"),
                addr(8, [192, 0, 2, 1], 24, Some([192, 0, 2, 255]), "eth1"),
            ],
            routes: vec![
                default_route(6, [198, 51, 100, 254]),
                net_route(8, [192, 0, 2, 0], 24, Some([192, 0, 2, 1])),
                net_route(6, [198, 51, 100, 0], 24, Some([198, 51, 100, 1])),
            ],
        }
    }

    fn req<'a>(ip: &'a str, nm: &'a str, brd: &'a str, nic: &'a str) -> Request<'a> {
        Request {
            ip,
            netmask: nm,
            broadcast: brd,
            nic,
        }
    }

    #[test]
    fn classic_finds_interface_netmask_and_broadcast_from_routes() {
        let s = lab();
        let a = classic(&req("198.51.100.10", "", "", ""), &s).unwrap();
        assert_eq!(
            a.line(false),
            "eth0\tnetmask 255.255.255.0\tbroadcast 198.51.100.255"
        );
        assert_eq!(a.line(true), "eth0\tnetmask 24\tbroadcast 198.51.100.255");
        let a = classic(&req("192.0.2.10", "25", "", ""), &s).unwrap();
        assert_eq!(
            (a.nic.as_str(), a.prefix, a.broadcast.as_str()),
            ("eth1", 25, "192.0.2.127")
        );
        let a = classic(&req("198.51.100.10", "255.255.0.255", "", ""), &s).unwrap();
        assert_eq!(a.prefix, 32);
        let a = classic(&req("198.51.100.10", "24", "198.51.100.127", "eth1"), &s).unwrap();
        assert_eq!(
            (a.nic.as_str(), a.broadcast.as_str()),
            ("eth1", "198.51.100.127")
        );
    }

    #[test]
    fn classic_refuses_what_the_original_refuses() {
        let s = lab();
        let st = |r: Request<'_>| classic(&r, &s).unwrap_err().status();
        assert_eq!(st(req("", "", "", "")), 6);
        assert_eq!(st(req("198.51.100.300", "", "", "")), 6);
        assert_eq!(st(req("198.51.100.10", "33", "", "")), 6);
        assert_eq!(st(req("198.51.100.10", "0", "", "")), 6);
        assert_eq!(st(req("198.51.100.10", "024", "", "")), 6);
        assert_eq!(st(req("198.51.100.10", "abc", "", "")), 6);
        assert_eq!(st(req("198.51.100.10", "0.0.0.0", "", "")), 6);
        assert_eq!(st(req("198.51.100.10", "24", "", "eth9")), 6);
        assert_eq!(st(req("198.51.100.10", "24", "x", "eth0")), 6);
        // Only the default route covers it: needs a netmask.
        let e = classic(&req("203.0.113.5", "", "", ""), &s).unwrap_err();
        assert!(matches!(e, FindifError::DefaultRouteNeedsNetmask(_)));
        assert_eq!(e.status(), 1);
        // With a netmask the default route's interface is used.
        let a = classic(&req("203.0.113.5", "24", "", ""), &s).unwrap();
        assert_eq!(a.nic, "eth0");
        // No route at all.
        let mut s2 = lab();
        s2.routes.retain(|r| r.dst_len > 0);
        let e = classic(&req("203.0.113.5", "", "", ""), &s2).unwrap_err();
        assert!(matches!(e, FindifError::NoRoute(_)));
    }

    #[test]
    fn classic_route_choice_prefers_longer_prefix_and_later_ties_and_respects_metric() {
        let mut s = lab();
        s.routes.push(net_route(8, [198, 51, 100, 0], 24, None));
        assert_eq!(
            classic(&req("198.51.100.10", "", "", ""), &s).unwrap().nic,
            "eth1"
        );
        let mut s = lab();
        s.routes.push(net_route(8, [198, 51, 100, 0], 25, None));
        let a = classic(&req("198.51.100.10", "", "", ""), &s).unwrap();
        assert_eq!((a.nic.as_str(), a.prefix), ("eth1", 25));
        // A longer prefix with a higher metric than the best so far is not taken.
        let mut s = lab();
        let mut r = net_route(8, [198, 51, 100, 0], 25, None);
        r.priority = Some(100);
        s.routes.push(r);
        assert_eq!(
            classic(&req("198.51.100.10", "", "", ""), &s).unwrap().nic,
            "eth0"
        );
    }

    #[test]
    fn classic_loopback_fallback() {
        let s = lab();
        let a = classic(&req("127.0.0.2", "", "", ""), &s).unwrap();
        assert_eq!((a.nic.as_str(), a.prefix), ("lo", 8));
    }

    #[test]
    fn routed_finds_nic_prefix_and_the_primary_broadcast() {
        let s = lab();
        let a = routed(&req("192.0.2.23", "", "", ""), &s, true).unwrap();
        assert_eq!(
            a,
            Routed {
                nic: "eth1".into(),
                prefix: 24,
                broadcast: Some("192.0.2.255".into())
            }
        );
        // eth0's primary has no broadcast: none.
        let a = routed(&req("198.51.100.20", "", "", ""), &s, true).unwrap();
        assert_eq!(
            a,
            Routed {
                nic: "eth0".into(),
                prefix: 24,
                broadcast: None
            }
        );
        // A netmask longer than the route's is kept; one shorter excludes the route.
        assert_eq!(
            routed(&req("198.51.100.20", "28", "", ""), &s, true)
                .unwrap()
                .prefix,
            28
        );
        assert!(matches!(
            routed(&req("198.51.100.20", "16", "", ""), &s, true),
            Err(FindifError::NoNicOrNetmask(_))
        ));
        // Interface and netmask given: no route needed.
        let a = routed(&req("203.0.113.9", "24", "+", "eth1"), &s, true).unwrap();
        assert_eq!(
            a,
            Routed {
                nic: "eth1".into(),
                prefix: 24,
                broadcast: Some("+".into())
            }
        );
        // The default route is not of scope link.
        assert!(matches!(
            routed(&req("203.0.113.9", "", "", ""), &s, true),
            Err(FindifError::NoNicOrNetmask(_))
        ));
        // On the named interface only.
        assert!(routed(&req("198.51.100.20", "", "", "eth1"), &s, true).is_err());
        // Dotted netmasks.
        assert_eq!(
            routed(&req("198.51.100.20", "255.255.255.0", "", ""), &s, true)
                .unwrap()
                .prefix,
            24
        );
    }

    #[test]
    fn routed_checks_arguments_on_start_only() {
        let s = lab();
        let st = |r: Request<'_>, c| routed(&r, &s, c).unwrap_err().status();
        assert_eq!(st(req("198.51.100.30", "33", "", ""), true), 6);
        assert_eq!(st(req("198.51.100.30", "255.255.0.255", "", ""), true), 6);
        assert_eq!(st(req("198.51.100.30", "24", "", "eth9"), true), 6);
        assert_eq!(st(req("198.51.100.300", "", "", ""), true), 6);
        assert_eq!(st(req("198.51.100.30", "24", "1.2.3", "eth0"), true), 6);
        assert_eq!(st(req("192.0.2.40", "", "", "eth0"), true), 1);
        // Without the check, a missing interface just finds no route.
        assert!(routed(&req("198.51.100.30", "", "", "eth9"), &s, false).is_err());
        assert!(routed(&req("198.51.100.30", "24", "", "eth9"), &s, false).is_ok());
    }
}
