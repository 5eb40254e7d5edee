//! SendArp: announce an address (held by someone, typically us) with gratuitous ARP.
//!
//! The argument is `ADDR/IFACE` (without a slash the whole argument is taken for both,
//! as the wrapper does; an empty part: start fails with 6, silently).
//!
//! - start: already started (a sender running, or the "started" marker
//!   `$HA_RSCTMP/SendArp_SendArp_<ip>`): success. Otherwise start the sender in the
//!   background (`ARP_REPEAT` x `ARP_INTERVAL_MS` from the environment, default 5 x 200
//!   ms) and set the marker. As in the original, a sender that cannot start (no such
//!   interface) is logged, and start still succeeds.
//! - stop: end a running sender, remove the marker.
//! - status/monitor: running (0, `Running OK`) while a sender runs or the marker is
//!   there, else 7 with no output (the wrapper stops at the failure).
//!
//! Difference: a pid file naming no running sender is removed and stop succeeds; the
//! original's kill fails and so does its stop.

use super::{Action, Ctx, OCF_ERR_CONFIGURED, OCF_NOT_RUNNING, OCF_SUCCESS};
use crate::ipv4;

pub const ARP_INTERVAL_MS: u64 = 200;
pub const ARP_REPEAT: u64 = 5;

/// Splits `ADDR/IFACE` as the wrapper does.
pub fn split(arg: &str) -> (String, String) {
    let ip = arg.split('/').next().unwrap_or("").to_string();
    let with_slash = format!("{ip}/");
    let nic = match arg.find(&with_slash) {
        Some(at) => format!("{}{}", &arg[..at], &arg[at + with_slash.len()..]),
        None => arg.to_string(),
    };
    (ip, nic)
}

fn marker(ip: &str) -> String {
    format!("SendArp_SendArp_{ip}")
}

fn running(ctx: &Ctx<'_>, ip: &str) -> bool {
    ctx.state.pidfile(ip).exists() || ctx.state.exists(&marker(ip))
}

pub fn run(ctx: &mut Ctx<'_>, arg: &str) -> i32 {
    let (ip, nic) = split(arg);
    match ctx.action {
        Action::Start => start(ctx, &ip, &nic),
        Action::Stop => {
            if !running(ctx, &ip) {
                return OCF_SUCCESS;
            }
            if let crate::state::Kill::Killed(_) = ctx.state.kill_announcer(&ip) {
                ctx.log
                    .info(&format!("killed previously running send_arp for {ip}"));
            }
            ctx.log.info(&format!("SendArp for {ip}/{nic} released"));
            ctx.state.remove(&marker(&ip));
            OCF_SUCCESS
        }
        Action::Status | Action::Monitor => {
            if running(ctx, &ip) {
                OCF_SUCCESS
            } else {
                OCF_NOT_RUNNING
            }
        }
    }
}

fn start(ctx: &mut Ctx<'_>, ip: &str, nic: &str) -> i32 {
    if ip.is_empty() || nic.is_empty() {
        return OCF_ERR_CONFIGURED;
    }
    if running(ctx, ip) {
        return OCF_SUCCESS;
    }
    if let Err(e) = ctx.state.ensure() {
        ctx.log
            .error(&format!("cannot create {}: {e}", ctx.state.dir.display()));
    }
    let count = ctx.positive("ARP_REPEAT", ARP_REPEAT).unwrap_or(ARP_REPEAT);
    let interval = ctx
        .positive("ARP_INTERVAL_MS", ARP_INTERVAL_MS)
        .unwrap_or(ARP_INTERVAL_MS);
    let link = super::snapshot()
        .ok()
        .and_then(|(_, snap)| snap.link(nic).cloned());
    match (ipv4::parse(ip), link) {
        (Some(addr), Some(link)) => super::ipaddr::announce(ctx, &link, addr, count, interval),
        (None, _) => ctx.log.error(&format!(
            "could not send gratuitous arps: [{ip}] is not an IPv4 address"
        )),
        (_, None) => ctx.log.error(&format!(
            "could not send gratuitous arps: no interface {nic}"
        )),
    }
    if let Err(e) = ctx.state.touch(&marker(ip)) {
        ctx.log
            .error(&format!("cannot record SendArp {ip} as started: {e}"));
    }
    OCF_SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_split() {
        assert_eq!(
            split("198.51.100.50/eth0"),
            ("198.51.100.50".into(), "eth0".into())
        );
        assert_eq!(
            split("198.51.100.50"),
            ("198.51.100.50".into(), "198.51.100.50".into())
        );
        assert_eq!(split("198.51.100.50/"), ("198.51.100.50".into(), "".into()));
        assert_eq!(split("/eth0"), ("".into(), "eth0".into()));
    }
}
