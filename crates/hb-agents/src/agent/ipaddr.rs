//! IPaddr: an IPv4 alias with an `ifconfig`-style label (`eth0:0`).
//!
//! - start: check the ARP parameters (`OCF_RESKEY_ARP_INTERVAL_MS`, default 500;
//!   `OCF_RESKEY_ARP_REPEAT`, default 10: positive integers, else status 2) and that the
//!   address looks like one (else 6); find interface, netmask and broadcast by the C
//!   findif's rules ([`crate::findif::classic`]; any failure: status 1). Already held (the
//!   address on an alias label of that interface): success, nothing done. Otherwise claim
//!   a label as the original does ([`crate::state::StateDir::claim_label`]), add
//!   `ADDR/BITS brd BROADCAST label IFACE:N`, and start the gratuitous ARP (10 x 500 ms)
//!   in the background.
//! - stop: end a running ARP sender; if the address is on an alias label, delete it (and
//!   a host route to it, as the original's `route del -host` does) and drop the label's
//!   claim. Not there: success.
//! - status: `Running OK` (0) if the address is on an alias label (of the given
//!   interface, when one is given: on another one it is an error, 1), else `Resource is
//!   stopped` (7). Addresses without an alias label do not count, as in the original.
//! - monitor (the v1 wrapper's own): 0 if the address answers a ping (3 tries, 1 s
//!   each), else 1; no output.
//!
//! Differences from resource-agents 4.12 under heartbeat's wrapper:
//! - No interface given: ours uses the one findif finds; the installed original defaults
//!   it to `eth0` and refuses (status 2) an address that findif puts elsewhere.
//! - A label in use by an address the agent did not add is skipped; the original takes
//!   it and overwrites that address.
//! - The address already on another interface's alias: start fails (1) and changes
//!   nothing; the original adds a second copy.
//! - The interface down: start fails (1) with a message; the original's ifconfig adds
//!   nothing and it reports `Resource is stopped` (7).
//! - A failed add leaves no label claim behind; the original leaks it.
//! - monitor pings; the installed wrapper's monitor always fails (1), calling a helper
//!   that no longer exists.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::{
    snapshot, Action, Ctx, Spec, OCF_ERR_ARGS, OCF_ERR_CONFIGURED, OCF_ERR_GENERIC,
    OCF_NOT_RUNNING, OCF_SUCCESS,
};
use crate::arp::{self, Announce};
use crate::findif::{self, Snapshot};
use crate::ipv4;
use crate::netlink::{Addr4, NewAddr4, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN};

/// Default ARP interval and count of IPaddr.
pub const ARP_INTERVAL_MS: u64 = 500;
pub const ARP_REPEAT: u64 = 10;

pub fn run(ctx: &mut Ctx<'_>, spec: &Spec) -> i32 {
    match ctx.action {
        Action::Start => start(ctx, spec),
        Action::Stop => stop(ctx, spec),
        Action::Status | Action::Monitor => status(ctx, spec),
    }
}

/// The interface part of a label (`eth0` of `eth0:0`).
fn base(label: &str) -> &str {
    label.split(':').next().unwrap_or(label)
}

/// The given interface without a `:label` part ("" if none).
fn given_nic(spec: &Spec) -> &str {
    base(&spec.nic)
}

/// The address's alias: the first address equal to `ip` whose label has a colon.
pub fn find_alias(snap: &Snapshot, ip: Ipv4Addr) -> Option<&Addr4> {
    snap.addrs
        .iter()
        .find(|a| a.local == ip && a.label.contains(':'))
}

fn status(ctx: &mut Ctx<'_>, spec: &Spec) -> i32 {
    let Some(ip) = ipv4::parse(&spec.ip) else {
        return OCF_NOT_RUNNING;
    };
    let snap = match snapshot() {
        Ok((_, s)) => s,
        Err(e) => {
            ctx.log.error(&format!("cannot read the addresses: {e}"));
            return OCF_ERR_GENERIC;
        }
    };
    held(ctx, &snap, ip, given_nic(spec))
}

fn held(ctx: &Ctx<'_>, snap: &Snapshot, ip: Ipv4Addr, nic: &str) -> i32 {
    match find_alias(snap, ip) {
        None => OCF_NOT_RUNNING,
        Some(a) if !nic.is_empty() && base(&a.label) != nic => {
            ctx.log.error(&format!(
                "{ip} is on interface {} instead of the configured one ({nic})",
                base(&a.label)
            ));
            OCF_ERR_GENERIC
        }
        Some(_) => OCF_SUCCESS,
    }
}

fn start(ctx: &mut Ctx<'_>, spec: &Spec) -> i32 {
    let interval = ctx.positive("OCF_RESKEY_ARP_INTERVAL_MS", ARP_INTERVAL_MS);
    let repeat = ctx.positive("OCF_RESKEY_ARP_REPEAT", ARP_REPEAT);
    let (interval, repeat) = match (interval, repeat) {
        (Ok(i), Ok(r)) => (i, r),
        (Err(e), _) | (_, Err(e)) => {
            ctx.log.error(&e);
            return OCF_ERR_ARGS;
        }
    };
    if spec.ip.is_empty() {
        ctx.log.error("no IP address given");
        return OCF_ERR_CONFIGURED;
    }
    if !super::glob("[0-9]*.[0-9]*.[0-9]*.*[0-9]", &spec.ip) {
        ctx.log
            .error(&format!("[{}] is not an IP address", spec.ip));
        return OCF_ERR_CONFIGURED;
    }
    let (mut nl, snap) = match snapshot() {
        Ok(x) => x,
        Err(e) => {
            ctx.log
                .error(&format!("cannot read the routing table: {e}"));
            return OCF_ERR_GENERIC;
        }
    };
    let nic = given_nic(spec);
    let req = findif::Request {
        ip: &spec.ip,
        netmask: &spec.netmask,
        broadcast: &spec.broadcast,
        nic,
    };
    let found = match findif::classic(&req, &snap) {
        Ok(f) => f,
        Err(e) => {
            ctx.log.error(&format!("findif: {e}"));
            return OCF_ERR_GENERIC;
        }
    };
    // findif accepted the address, broadcast and interface.
    let (Some(ip), Some(link)) = (ipv4::parse(&spec.ip), snap.link(base(&found.nic))) else {
        ctx.log.error(&format!("interface {} not found", found.nic));
        return OCF_ERR_GENERIC;
    };
    let brd = ipv4::parse(&found.broadcast);
    match held(ctx, &snap, ip, &link.name) {
        OCF_SUCCESS => return OCF_SUCCESS,
        OCF_NOT_RUNNING => {}
        _ => return OCF_ERR_GENERIC,
    }
    if !link.is_up() {
        ctx.log
            .error(&format!("interface {} is down: {ip} not added", link.name));
        return OCF_ERR_GENERIC;
    }
    let in_use = |l: &str| snap.addrs.iter().any(|a| a.label == l);
    let label = match ctx
        .state
        .ensure()
        .and_then(|_| ctx.state.claim_label(&link.name, &in_use))
    {
        Ok(Some(l)) => l,
        Ok(None) => {
            ctx.log
                .error(&format!("no free alias label on {} for {ip}", link.name));
            return OCF_ERR_GENERIC;
        }
        Err(e) => {
            ctx.log.error(&format!(
                "cannot claim an alias label in {}: {e}",
                ctx.state.dir.display()
            ));
            return OCF_ERR_GENERIC;
        }
    };
    let new = NewAddr4 {
        ifindex: link.index,
        local: ip,
        prefix: found.prefix,
        broadcast: brd,
        label: Some(label.clone()),
        scope: if ip.octets()[0] == 127 {
            RT_SCOPE_HOST
        } else {
            RT_SCOPE_UNIVERSE
        },
    };
    if let Err(e) = nl.add_addr(&new) {
        ctx.state.release_label(&label);
        let why = if e.errno() == Some(libc::EEXIST) {
            format!(
                "{ip}/{} is already on {} (without an alias label)",
                found.prefix, link.name
            )
        } else {
            e.to_string()
        };
        ctx.log
            .error(&format!("could not add {ip} to {}: {why}", link.name));
        return OCF_ERR_GENERIC;
    }
    ctx.log.info(&format!(
        "added {ip}/{} brd {} on {label}",
        found.prefix, found.broadcast
    ));
    drop(nl);
    announce(ctx, link, ip, repeat, interval);
    OCF_SUCCESS
}

/// Starts the gratuitous ARP for a freshly added address (errors are logged only, as the
/// original does).
pub fn announce(
    ctx: &Ctx<'_>,
    link: &crate::netlink::Link,
    ip: Ipv4Addr,
    count: u64,
    interval: u64,
) {
    let ips = ip.to_string();
    ctx.state.kill_announcer(&ips);
    let mac: Option<[u8; 6]> = link.mac.as_slice().try_into().ok();
    let Some(mac) = mac.filter(|_| !link.is_loopback() && !link.is_noarp()) else {
        ctx.log.info(&format!(
            "no gratuitous ARP for {ip}: {} has no Ethernet address",
            link.name
        ));
        return;
    };
    let a = Announce {
        ifindex: link.index,
        ifname: link.name.clone(),
        mac,
        ip,
        count: count.min(u64::from(u32::MAX)) as u32,
        interval_ms: interval,
    };
    if let Err(e) = arp::spawn(&a, &ctx.state, &ctx.log) {
        ctx.log
            .error(&format!("could not start the gratuitous ARP for {ip}: {e}"));
    }
}

fn stop(ctx: &mut Ctx<'_>, spec: &Spec) -> i32 {
    ctx.state.kill_announcer(&spec.ip);
    let Some(ip) = ipv4::parse(&spec.ip) else {
        return OCF_SUCCESS;
    };
    let (mut nl, snap) = match snapshot() {
        Ok(x) => x,
        Err(e) => {
            ctx.log.error(&format!("cannot read the addresses: {e}"));
            return OCF_ERR_GENERIC;
        }
    };
    let Some(alias) = find_alias(&snap, ip) else {
        return OCF_SUCCESS;
    };
    for r in snap
        .routes
        .iter()
        .filter(|r| r.table == RT_TABLE_MAIN && r.dst_len == 32 && r.dst == ip)
    {
        let _ = nl.del_route(r);
    }
    if let Err(e) = nl.del_addr(alias) {
        ctx.log.warn(&format!(
            "IP address {ip} NOT released from {}: {e}",
            alias.label
        ));
        return OCF_ERR_GENERIC;
    }
    ctx.log.info(&format!("removed {ip} from {}", alias.label));
    ctx.state.release_label(&alias.label);
    OCF_SUCCESS
}

/// The wrapper's monitor: 0 if `ip` answers a ping within three tries, else 1.
pub fn ping_monitor(ip: &str) -> i32 {
    let Some(ip) = ipv4::parse(ip) else {
        return 1;
    };
    for _ in 0..3 {
        if let Ok(true) = crate::ping::ping(ip, Duration::from_secs(1)) {
            return 0;
        }
    }
    1
}
