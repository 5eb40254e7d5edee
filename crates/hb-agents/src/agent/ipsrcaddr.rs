//! IPsrcaddr: make an address the preferred source (`src`) of the default route and of
//! the route of its own network.
//!
//! Checks, as the original: an address is required and must be written as four dotted
//! numbers (else 6; stop then succeeds); a first number 127 is refused (6, stop too).
//! For start and stop the address must be on an interface (else start fails with 5 and
//! stop succeeds), not a loopback one (6). The interface is found by findif.sh's rules
//! (failure: findif's status); the network route is the first main-table route of
//! scope link on it that covers the address. The default route is the main table's
//! `0.0.0.0/0` on that interface (more than one: 1; none: start fails with 1).
//!
//! - start: `src` already ours: success. Otherwise the network route is replaced with
//!   `src ADDR` (same protocol and metric) and the default route changed to `src ADDR`
//!   (same gateway, protocol, metric and metrics). No network route: 2.
//! - stop: `src` not set: success. Ours: both routes get the interface's first primary
//!   address as `src` again (the network route as `proto kernel scope link`).
//! - status/monitor: prints `OK` (0) when the default route's `src` is ours, else `No
//!   preferred source address defined` (7).
//!
//! Difference: stop when the default route's `src` is another address succeeds (nothing
//! of ours to undo); the original fails (1), so it fails a second stop after its own.

use std::net::Ipv4Addr;

use super::{
    snapshot, Action, Ctx, OCF_ERR_ARGS, OCF_ERR_CONFIGURED, OCF_ERR_GENERIC, OCF_ERR_INSTALLED,
    OCF_NOT_RUNNING, OCF_SUCCESS,
};
use crate::findif::{self, Snapshot};
use crate::ipv4;
use crate::netlink::{
    Netlink, Route4, RouteMode, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL, RT_SCOPE_LINK,
    RT_TABLE_MAIN,
};

/// The original's CheckIP: digits and dots, exactly three dots, no empty part.
/// `Err(true)` means the loopback refusal (which ends even stop with 6).
fn check_ip(s: &str) -> Result<(), bool> {
    if s.is_empty()
        || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || s.starts_with('.')
        || s.ends_with('.')
        || s.contains("..")
        || s.matches('.').count() != 3
    {
        return Err(false);
    }
    let parts: Vec<u64> = s
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(u64::MAX))
        .collect();
    if parts.iter().all(|&p| p <= 254) && parts.first() == Some(&127) {
        return Err(true);
    }
    Ok(())
}

/// The state of the default route: `src` ours (0), unset (1), another (2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Ours,
    Unset,
    Other,
}

pub fn run(ctx: &mut Ctx<'_>, arg: &str) -> i32 {
    let action = ctx.action;
    let stop = action == Action::Stop;
    if arg.is_empty() {
        ctx.log
            .error("give the preferred source IP address as the argument");
        return if stop {
            OCF_SUCCESS
        } else {
            OCF_ERR_CONFIGURED
        };
    }
    match check_ip(arg) {
        Ok(()) => {}
        Err(true) => {
            ctx.log.error(&format!(
                "IP address [{arg}] is a loopback address, thus can not be preferred source address"
            ));
            return OCF_ERR_CONFIGURED;
        }
        Err(false) => {
            ctx.log.error(&format!("invalid IP address [{arg}]"));
            return if stop {
                OCF_SUCCESS
            } else {
                OCF_ERR_CONFIGURED
            };
        }
    }
    let (mut nl, snap) = match snapshot() {
        Ok(x) => x,
        Err(e) => {
            ctx.log
                .error(&format!("cannot read the routing table: {e}"));
            return OCF_ERR_GENERIC;
        }
    };
    // Four dotted numbers that do not parse (a part above 255) are served by nobody.
    let ip = ipv4::parse(arg);
    if !action.is_check() {
        let on = ip.and_then(|ip| snap.addrs.iter().find(|a| a.local == ip));
        match on {
            None => {
                if stop {
                    return OCF_SUCCESS;
                }
                ctx.log.error(&format!(
                    "we are not serving [{arg}], hence can not make it a preferred source address"
                ));
                return OCF_ERR_INSTALLED;
            }
            Some(a) if snap.name_of(a.ifindex).starts_with("lo") => {
                ctx.log.error(&format!(
                    "IP address [{arg}] is served by loopback, thus can not be preferred source address"
                ));
                return OCF_ERR_CONFIGURED;
            }
            Some(_) => {}
        }
    }
    let req = findif::Request {
        ip: arg,
        ..Default::default()
    };
    let found = match findif::routed(&req, &snap, action == Action::Start) {
        Ok(f) => f,
        Err(e) => {
            ctx.log.error(&format!("findif: {e}"));
            return e.status();
        }
    };
    let Some(ip) = ip else {
        return OCF_ERR_GENERIC;
    };
    let Some(link) = snap.link(&found.nic) else {
        return OCF_ERR_GENERIC;
    };
    let ifindex = link.index;
    let network = snap
        .routes
        .iter()
        .find(|r| {
            r.table == RT_TABLE_MAIN
                && r.kind == RTN_UNICAST
                && r.scope == RT_SCOPE_LINK
                && r.oif == Some(ifindex)
                && r.covers(ip)
        })
        .cloned();
    if network.is_none() {
        let msg = format!("no route of scope link on {} covers {ip}", found.nic);
        if action == Action::Start {
            ctx.log.error(&msg);
            return OCF_ERR_ARGS;
        }
        ctx.log.warn(&msg);
    }
    let defaults: Vec<&Route4> = snap
        .routes
        .iter()
        .filter(|r| r.table == RT_TABLE_MAIN && r.dst_len == 0 && r.oif == Some(ifindex))
        .collect();
    if defaults.len() > 1 {
        ctx.log.error("more than 1 matching route exists");
        return OCF_ERR_GENERIC;
    }
    let default = defaults.first().map(|r| (*r).clone());
    if default.is_none() && action == Action::Start {
        ctx.log.error("no matching route exists");
        return OCF_ERR_GENERIC;
    }
    let src = match default.as_ref().and_then(|r| r.prefsrc) {
        None => Src::Unset,
        Some(s) if s == ip => Src::Ours,
        Some(_) if action.is_check() => Src::Unset,
        Some(_) => Src::Other,
    };
    match action {
        Action::Status | Action::Monitor => match src {
            Src::Ours => {
                ctx.out.push("OK".into());
                OCF_SUCCESS
            }
            Src::Unset => {
                ctx.out.push("No preferred source address defined".into());
                OCF_NOT_RUNNING
            }
            Src::Other => {
                ctx.out
                    .push("Preferred source address has incorrect value".into());
                OCF_ERR_GENERIC
            }
        },
        Action::Start => {
            if src == Src::Ours {
                ctx.log.info("the preferred source address is already set");
                return OCF_SUCCESS;
            }
            let (Some(net), Some(def)) = (network, default) else {
                return OCF_ERR_GENERIC;
            };
            set_src(ctx, &mut nl, &net, def, ip, net.protocol, net.scope)
        }
        Action::Stop => match src {
            Src::Unset => {
                ctx.log
                    .info("no preferred source address defined, nothing to stop");
                OCF_SUCCESS
            }
            Src::Other => {
                ctx.log.info(&format!(
                    "the preferred source address is not {ip}: nothing to stop"
                ));
                OCF_SUCCESS
            }
            Src::Ours => {
                let Some(primary) = primary_of(&snap, ifindex) else {
                    ctx.log
                        .error(&format!("no primary address on {} to restore", found.nic));
                    return OCF_ERR_GENERIC;
                };
                let Some(def) = default else {
                    return OCF_ERR_GENERIC;
                };
                match network {
                    Some(net) => set_src(
                        ctx,
                        &mut nl,
                        &net,
                        def,
                        primary,
                        RTPROT_KERNEL,
                        RT_SCOPE_LINK,
                    ),
                    None => change_default(ctx, &mut nl, def, primary),
                }
            }
        },
    }
}

/// The first primary address on the interface.
fn primary_of(snap: &Snapshot, ifindex: u32) -> Option<Ipv4Addr> {
    snap.addrs
        .iter()
        .find(|a| a.ifindex == ifindex && !a.is_secondary())
        .map(|a| a.local)
}

fn set_src(
    ctx: &Ctx<'_>,
    nl: &mut Netlink,
    net: &Route4,
    def: Route4,
    src: Ipv4Addr,
    protocol: u8,
    scope: u8,
) -> i32 {
    let mut n = net.clone();
    n.prefsrc = Some(src);
    n.protocol = if protocol == 0 { RTPROT_BOOT } else { protocol };
    n.scope = scope;
    if let Err(e) = nl.set_route(&n, RouteMode::Replace) {
        ctx.log.error(&format!(
            "could not set src {src} on the route to {}/{}: {e}",
            net.dst, net.dst_len
        ));
        return OCF_ERR_GENERIC;
    }
    change_default(ctx, nl, def, src)
}

fn change_default(ctx: &Ctx<'_>, nl: &mut Netlink, mut def: Route4, src: Ipv4Addr) -> i32 {
    def.prefsrc = Some(src);
    if let Err(e) = nl.set_route(&def, RouteMode::Change) {
        ctx.log.error(&format!(
            "could not set src {src} on the default route: {e}"
        ));
        return OCF_ERR_GENERIC;
    }
    ctx.log
        .info(&format!("preferred source address is now {src}"));
    OCF_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ip_is_the_originals() {
        assert_eq!(check_ip("198.51.100.50"), Ok(()));
        assert_eq!(
            check_ip("198.51.100.255"),
            Ok(()),
            "above 254 is let through"
        );
        assert_eq!(check_ip("127.0.0.2"), Err(true));
        assert_eq!(
            check_ip("127.0.0.255"),
            Ok(()),
            "the loopback test needs all parts <= 254"
        );
        assert_eq!(check_ip("198.51.100"), Err(false));
        assert_eq!(check_ip("198.51.100.5.1"), Err(false));
        assert_eq!(check_ip(".198.51.100"), Err(false));
        assert_eq!(check_ip("198..51.100"), Err(false));
        assert_eq!(check_ip("198.51.100.x"), Err(false));
        assert_eq!(check_ip(""), Err(false));
    }
}
