//! IPaddr2: an IPv4 address added the `ip addr` way (no label unless one is given as
//! `IFACE:LABEL`).
//!
//! Every action first finds interface, netmask and broadcast by findif.sh's rules
//! ([`crate::findif::routed`], arguments checked on start only). When that fails: status
//! and monitor say stopped (7), stop succeeds, start fails with findif's status (6 for a
//! bad argument or a missing interface, 1 when no route helps). start and stop need root
//! (else 4). A label longer than 15 characters: 6. ARP parameters:
//! `OCF_RESKEY_arp_interval` (200) and `OCF_RESKEY_arp_count` (5), positive, else 6.
//!
//! - start: held (the address with that prefix on that interface): success, nothing
//!   done. Otherwise, as heartbeat's wrapper enables LVS support, a /32 copy of the
//!   address on a loopback device is moved out of the way (recorded in `$HA_RSCTMP/<ip>`
//!   and put back by stop); then `ADDR/BITS [brd B] dev IFACE [label L]`, the interface
//!   set up, and the gratuitous ARP (5 x 200 ms) in the background unless the interface
//!   is a loopback.
//! - stop: end a running ARP sender; delete the address if held; restore a moved
//!   loopback address.
//! - status/monitor: `Running OK` (0) if held, else `Resource is stopped` (7).

use std::net::Ipv4Addr;

use super::{
    snapshot, Action, Ctx, Spec, OCF_ERR_CONFIGURED, OCF_ERR_GENERIC, OCF_ERR_PERM,
    OCF_NOT_RUNNING, OCF_SUCCESS,
};
use crate::findif::{self, Snapshot};
use crate::ipv4;
use crate::netlink::{
    Addr4, Netlink, NewAddr4, Route4, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN,
};

pub const ARP_INTERVAL_MS: u64 = 200;
pub const ARP_COUNT: u64 = 5;

/// What every action works from.
struct Target {
    ip: Ipv4Addr,
    nic: String,
    prefix: u8,
    broadcast: Option<String>,
    label: Option<String>,
}

pub fn run(ctx: &mut Ctx<'_>, spec: &Spec) -> i32 {
    let action = ctx.action;
    if matches!(action, Action::Start | Action::Stop) {
        // SAFETY: geteuid has no memory effects.
        if unsafe { libc::geteuid() } != 0 {
            ctx.log.error(&format!(
                "you must be root for the {} operation",
                action.word()
            ));
            return OCF_ERR_PERM;
        }
    }
    if spec.ip.is_empty() && action != Action::Stop {
        ctx.log.error("IP address (the ip parameter) is mandatory");
        return OCF_ERR_CONFIGURED;
    }
    let (nic, label) = match spec.nic.split_once(':') {
        Some((n, l)) => (n.to_string(), Some(l.to_string())),
        None => (spec.nic.clone(), None),
    };
    let (mut nl, snap) = match snapshot() {
        Ok(x) => x,
        Err(e) => {
            ctx.log
                .error(&format!("cannot read the routing table: {e}"));
            return OCF_ERR_GENERIC;
        }
    };
    let req = findif::Request {
        ip: &spec.ip,
        netmask: &spec.netmask,
        broadcast: &spec.broadcast,
        nic: &nic,
    };
    let found = match findif::routed(&req, &snap, action == Action::Start) {
        Ok(f) => f,
        Err(e) => {
            return match action {
                Action::Status | Action::Monitor => {
                    ctx.log.info(&format!("findif: {e}"));
                    OCF_NOT_RUNNING
                }
                Action::Stop => {
                    ctx.log.warn(&format!("findif: {e}"));
                    OCF_SUCCESS
                }
                Action::Start => {
                    ctx.log.error(&format!("findif: {e}"));
                    e.status()
                }
            };
        }
    };
    let label = label.map(|l| format!("{}:{l}", found.nic));
    if let Some(l) = &label {
        if l.len() > 15 {
            ctx.log.error(&format!(
                "interface label [{l}] is longer than the 15 characters allowed"
            ));
            return OCF_ERR_CONFIGURED;
        }
    }
    let interval = ctx.positive("OCF_RESKEY_arp_interval", ARP_INTERVAL_MS);
    let count = ctx.positive("OCF_RESKEY_arp_count", ARP_COUNT);
    let (interval, count) = match (interval, count) {
        (Ok(i), Ok(c)) => (i, c),
        (Err(e), _) | (_, Err(e)) => {
            ctx.log.error(&e);
            return OCF_ERR_CONFIGURED;
        }
    };
    let Some(ip) = ipv4::parse(&spec.ip) else {
        // Only stop gets here with an empty or odd address: nothing of ours to remove.
        return OCF_SUCCESS;
    };
    let t = Target {
        ip,
        nic: found.nic,
        prefix: found.prefix,
        broadcast: found.broadcast,
        label,
    };
    match action {
        Action::Start => start(ctx, &mut nl, &snap, &t, count, interval),
        Action::Stop => stop(ctx, &mut nl, &snap, &t),
        Action::Status | Action::Monitor => {
            if served(&snap, &t).is_some() {
                OCF_SUCCESS
            } else {
                OCF_NOT_RUNNING
            }
        }
    }
}

/// The address as the target wants it, if it is there (same prefix, same interface).
fn served<'a>(snap: &'a Snapshot, t: &Target) -> Option<&'a Addr4> {
    snap.addrs
        .iter()
        .find(|a| a.local == t.ip && a.prefix == t.prefix && snap.name_of(a.ifindex) == t.nic)
}

fn brd_value(ip: Ipv4Addr, prefix: u8, b: &Option<String>) -> Option<Ipv4Addr> {
    match b.as_deref() {
        None => None,
        Some("+") => Some(ipv4::broadcast(ip, prefix)),
        Some("-") => Some(ipv4::network(ip, prefix)),
        Some(s) => ipv4::parse(s),
    }
}

fn start(
    ctx: &mut Ctx<'_>,
    nl: &mut Netlink,
    snap: &Snapshot,
    t: &Target,
    count: u64,
    interval: u64,
) -> i32 {
    if served(snap, t).is_some() {
        return OCF_SUCCESS;
    }
    let Some(link) = snap.link(&t.nic) else {
        ctx.log.error(&format!("interface {} not found", t.nic));
        return OCF_ERR_GENERIC;
    };
    move_loopback_copy(ctx, nl, snap, t.ip);
    let new = NewAddr4 {
        ifindex: link.index,
        local: t.ip,
        prefix: t.prefix,
        broadcast: brd_value(t.ip, t.prefix, &t.broadcast),
        label: t.label.clone(),
        scope: if t.ip.octets()[0] == 127 {
            RT_SCOPE_HOST
        } else {
            RT_SCOPE_UNIVERSE
        },
    };
    if let Err(e) = nl.add_addr(&new) {
        ctx.log.error(&format!(
            "failed to add {}/{} to {}: {e}",
            t.ip, t.prefix, t.nic
        ));
        return OCF_ERR_GENERIC;
    }
    let with = match (&new.broadcast, &t.label) {
        (Some(b), Some(l)) => format!(" brd {b} label {l}"),
        (Some(b), None) => format!(" brd {b}"),
        (None, Some(l)) => format!(" label {l}"),
        (None, None) => String::new(),
    };
    ctx.log
        .info(&format!("added {}/{}{with} to {}", t.ip, t.prefix, t.nic));
    if let Err(e) = nl.set_link_up(link.index) {
        ctx.log.error(&format!("could not set {} up: {e}", t.nic));
        return OCF_ERR_GENERIC;
    }
    if !t.nic.starts_with("lo") {
        let mut link = link.clone();
        link.flags |= libc::IFF_UP as u32;
        super::ipaddr::announce(ctx, &link, t.ip, count, interval);
    }
    OCF_SUCCESS
}

/// LVS support: a /32 copy of the address on a loopback device is removed before the
/// address is added, and recorded so stop puts it back.
fn move_loopback_copy(ctx: &Ctx<'_>, nl: &mut Netlink, snap: &Snapshot, ip: Ipv4Addr) {
    for a in snap
        .addrs
        .iter()
        .filter(|a| a.local == ip && a.prefix == 32 && snap.name_of(a.ifindex).starts_with("lo"))
    {
        let dev = snap.name_of(a.ifindex).to_string();
        ctx.log
            .info(&format!("removing conflicting loopback {dev}."));
        let record = format!("{ip} 32 255.255.255.255 {dev}\n");
        if ctx
            .state
            .ensure()
            .and_then(|_| std::fs::write(ctx.state.file(&ip.to_string()), record))
            .is_err()
        {
            ctx.log.error(&format!(
                "could not save conflicting loopback {dev}: it will not be restored"
            ));
        }
        let _ = nl.del_addr(a);
        let host = Route4 {
            table: RT_TABLE_MAIN,
            dst: ip,
            dst_len: 32,
            tos: 0,
            protocol: 0,
            scope: 0,
            kind: 0,
            flags: 0,
            oif: Some(a.ifindex),
            gateway: None,
            priority: None,
            prefsrc: None,
            metrics: None,
        };
        let _ = nl.del_route(&host);
    }
}

fn stop(ctx: &mut Ctx<'_>, nl: &mut Netlink, snap: &Snapshot, t: &Target) -> i32 {
    if let crate::state::Kill::Killed(_) = ctx.state.kill_announcer(&t.ip.to_string()) {
        ctx.log
            .info(&format!("killed previously running send_arp for {}", t.ip));
    }
    let Some(a) = served(snap, t) else {
        return OCF_SUCCESS;
    };
    if let Err(e) = nl.del_addr(a) {
        ctx.log.error(&format!(
            "unable to remove IP [{}] from interface [{}]: {e}",
            t.ip, t.nic
        ));
        return OCF_ERR_GENERIC;
    }
    ctx.log
        .info(&format!("removed {}/{} from {}", t.ip, t.prefix, t.nic));
    restore_loopback(ctx, nl, snap, t.ip);
    OCF_SUCCESS
}

fn restore_loopback(ctx: &Ctx<'_>, nl: &mut Netlink, snap: &Snapshot, ip: Ipv4Addr) {
    let path = ctx.state.file(&ip.to_string());
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if let [addr, bits, brd, dev] = words[..] {
        if let (Some(a), Ok(p), Some(link)) =
            (ipv4::parse(addr), bits.parse::<u8>(), snap.link(dev))
        {
            ctx.log
                .info(&format!("restoring loopback IP address {a} on {dev}."));
            let new = NewAddr4 {
                ifindex: link.index,
                local: a,
                prefix: p.min(32),
                broadcast: ipv4::parse(brd),
                label: None,
                scope: RT_SCOPE_UNIVERSE,
            };
            if let Err(e) = nl.add_addr(&new).and_then(|_| nl.set_link_up(link.index)) {
                ctx.log
                    .error(&format!("could not restore {a} on {dev}: {e}"));
            }
        }
    }
    let _ = std::fs::remove_file(path);
}
