//! One parse function per directive (directives that take the same kind of value share
//! one: every boolean, every free text). Each checks its value as the original does,
//! refuses the nonsense it accepts silently, and keeps what it read in the [`Parser`].
//! A one-value directive's value is recorded by the caller when its function accepts it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::parser::Parser;
use super::values::{
    baud_rate, malformed_time, max_rexmit_ms, parse_bool, parse_time, DEFAULT_BAUD,
};
use super::{ApiAuth, AutoFailback, Medium, PingGroup, Respawn, Stonith};
use crate::lines::{is_blank, split_blanks, unsigned};

/// A parse function: the parser, the directive's name, the value (one value, one value
/// of a list, or the rest of the line, as the directive's shape says) and the line number.
pub(super) type ParseFn = fn(&mut Parser<'_>, &'static str, &str, usize) -> Result<(), String>;

/// Every directive of [`super::DIRECTIVES`] and its parse function.
pub(super) const PARSERS: &[(&str, ParseFn)] = &[
    ("cluster", text),
    ("node", node),
    ("hopfudge", byte),
    ("keepalive", positive_time),
    ("deadtime", time),
    ("deadping", time),
    ("initdead", time),
    ("warntime", positive_time),
    ("watchdog", watchdog),
    ("baud", baud),
    ("udpport", udpport),
    ("logfacility", logfacility),
    ("logfile", text),
    ("debugfile", text),
    ("nice_failback", nice_failback),
    ("auto_failback", auto_failback),
    ("rtprio", rtprio),
    ("hbgenmethod", hbgenmethod),
    ("realtime", boolean),
    ("debug", byte),
    ("msgfmt", msgfmt),
    ("use_logd", boolean),
    ("conn_logd_time", positive_time),
    ("use_apphbd", boolean),
    ("log_badpack", boolean),
    ("coredumps", boolean),
    ("coreroot", coreroot),
    ("crm", crm),
    ("autojoin", autojoin),
    ("uuidfrom", uuidfrom),
    ("compression", compression),
    ("compression_threshold", positive_count),
    ("traditional_compression", boolean),
    ("env", env),
    ("max_rexmit_delay", max_rexmit_delay),
    ("record_config_changes", boolean),
    ("record_pengine_inputs", boolean),
    ("enable_config_writes", boolean),
    ("memreserve", positive_count),
    ("quorum_server", text),
    ("stonith", stonith),
    ("stonith_host", stonith_host),
    ("apiauth", apiauth),
    ("respawn", respawn),
    ("ucast", ucast),
    ("bcast", bcast),
    ("mcast", mcast),
    ("serial", serial),
    ("ping", ping),
    ("ping_group", ping_group),
    ("syslogmsgfmt", boolean),
    ("crm_daemon_dir", text),
    ("crmd_spawns_pengine", boolean),
    ("pacemaker", crm),
    ("failfast", respawn),
    ("ucast6", ucast6),
    ("mcast6", mcast6),
    ("ping6", ping6),
];

/// The parse function of a directive of the table.
pub(super) fn parse_fn(name: &str) -> ParseFn {
    PARSERS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(no_parser, |(_, f)| *f)
}

fn no_parser(_: &mut Parser<'_>, name: &'static str, _: &str, _: usize) -> Result<(), String> {
    Err(format!("{name}: no parser for this directive (a bug)"))
}

type Res = Result<(), String>;

/// Any text (a name, a path).
fn text(_: &mut Parser<'_>, _: &'static str, _: &str, _: usize) -> Res {
    Ok(())
}

/// A number 0-255.
fn byte(_: &mut Parser<'_>, name: &'static str, v: &str, _: usize) -> Res {
    match unsigned(v) {
        Some(n) if n <= 255 => Ok(()),
        _ => Err(format!("{name} '{v}': expected a number 0-255")),
    }
}

/// A number above 0.
fn positive_count(_: &mut Parser<'_>, name: &'static str, v: &str, _: usize) -> Res {
    match unsigned(v) {
        Some(n) if n > 0 && n <= u64::from(u32::MAX) => Ok(()),
        _ => Err(format!("{name} '{v}': expected a number above 0")),
    }
}

/// One of the original's boolean words.
fn boolean(_: &mut Parser<'_>, name: &'static str, v: &str, _: usize) -> Res {
    match parse_bool(v) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{name} '{v}': expected on or off (yes/no, true/false, y/n, 1/0)"
        )),
    }
}

/// A time, 0 allowed.
fn time(_: &mut Parser<'_>, name: &'static str, v: &str, _: usize) -> Res {
    match parse_time(v) {
        Some(_) => Ok(()),
        None => Err(malformed_time(name, v)),
    }
}

/// A time above 0.
fn positive_time(_: &mut Parser<'_>, name: &'static str, v: &str, _: usize) -> Res {
    match parse_time(v) {
        Some(t) if !t.is_zero() => Ok(()),
        Some(_) => Err(format!("{name} [{v}] is invalid: must be above 0 ms")),
        None => Err(malformed_time(name, v)),
    }
}

/// An absolute path (2.0.8 refuses any other: `Invalid core directory`).
fn coreroot(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    if v.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "Invalid core directory [{v}]: an absolute path, e.g. /var/lib/heartbeat/cores"
        ))
    }
}

fn watchdog(p: &mut Parser<'_>, _: &'static str, _: &str, _: usize) -> Res {
    if p.last("watchdog").is_some() {
        Err("watchdog device multiply specified".into())
    } else {
        Ok(())
    }
}

fn baud(p: &mut Parser<'_>, _: &'static str, v: &str, line: usize) -> Res {
    if p.last("baud").is_some() {
        return Err("baudrate multiply specified".into());
    }
    let Some(b) = baud_rate(v) else {
        return Err(format!(
            "invalid baudrate [{v}] (9600, 19200, 38400, 57600, 115200, 230400 or 460800)"
        ));
    };
    if let Some((first, l)) = p.serial_baud {
        if first != b {
            p.warn(line, format!(
                "baud {b} comes after the first serial line (line {l}): the serial lines run at {first} baud, as 2.0.8's do (it reads baud once, at the first serial line); put baud above the serial lines"
            ));
        }
    }
    Ok(())
}

fn rtprio(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match unsigned(v) {
        Some(n) if (1..=99).contains(&n) => Ok(()),
        _ => Err(format!("Illegal realtime priority [{v}] (1-99)")),
    }
}

fn max_rexmit_delay(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match max_rexmit_ms(v) {
        Some(_) => Ok(()),
        None => Err(format!(
            "Invalid max_rexmit_delay time({v}): expected milliseconds above 0, e.g. 250"
        )),
    }
}

/// `udpport`: in force for the media lines that follow; the ucast and bcast media keep
/// the port of their first line, as the original's plugins do.
fn udpport(p: &mut Parser<'_>, _: &'static str, v: &str, line: usize) -> Res {
    let port = match unsigned(v) {
        Some(n) if (1..=65535).contains(&n) => n as u16,
        _ => {
            return Err(format!(
                "invalid port [{v}]: udpport must be 1-65535 (the original silently wraps larger numbers)"
            ))
        }
    };
    p.udpport_now = Some(port);
    for (used, medium) in [(p.ucast_port, "ucast"), (p.bcast_port, "bcast")] {
        if let Some((first, l)) = used {
            if first != port {
                p.warn(line, format!(
                    "udpport {port} comes after the first {medium} line (line {l}): the {medium} media use port {first}, as the original does; put udpport above the media lines"
                ));
            }
        }
    }
    Ok(())
}

fn logfacility(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    if hb_log::parse_facility(v).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "Log facility({v}) not valid (daemon, local0-local7, ..., or none)"
        ))
    }
}

fn auto_failback(p: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    let a = match parse_bool(v) {
        Some(true) => AutoFailback::On,
        Some(false) => AutoFailback::Off,
        None if v.eq_ignore_ascii_case("legacy") => AutoFailback::Legacy,
        None => return Err(format!("auto_failback '{v}': must be on, off or legacy")),
    };
    p.auto_failback = a;
    p.auto_failback_set = true;
    Ok(())
}

fn nice_failback(p: &mut Parser<'_>, _: &'static str, v: &str, line: usize) -> Res {
    if parse_bool(v).is_none() {
        return Err(format!(
            "nice_failback '{v}': expected on or off (better: auto_failback)"
        ));
    }
    // The original looks at its current nice_failback flag, which only an earlier
    // `auto_failback on|off` has set: then `off`, else `legacy`.
    let now = match p.auto_failback {
        AutoFailback::On | AutoFailback::Off if p.auto_failback_set => AutoFailback::Off,
        _ => AutoFailback::Legacy,
    };
    p.auto_failback = now;
    p.auto_failback_set = true;
    p.warn(line, format!(
        "nice_failback is obsolete: 'nice_failback {v}' is read as 'auto_failback {}', as the original does; write auto_failback on, off or legacy",
        now.as_str()
    ));
    Ok(())
}

fn hbgenmethod(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match v {
        "file" | "time" => Ok(()),
        _ => Err(format!("Illegal hb generation method [{v}] (file or time)")),
    }
}

fn msgfmt(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match v {
        "classic" | "netstring" => Ok(()),
        _ => Err(format!("msgfmt '{v}': must be classic or netstring")),
    }
}

fn uuidfrom(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match v {
        "file" | "nodename" => Ok(()),
        _ => Err(format!(
            "Invalid uuidfrom directive [{v}] (file or nodename)"
        )),
    }
}

fn autojoin(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match v.to_ascii_lowercase().as_str() {
        "none" => Ok(()),
        "other" | "any" => Err(format!(
            "autojoin {v}: R1 style resource management (haresources) conflicts with autojoin; the original refuses it too"
        )),
        _ => Err(format!(
            "Invalid autojoin directive [{v}] (none, other or any)"
        )),
    }
}

fn compression(_: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match v {
        "zlib" | "bz2" => Ok(()),
        _ => Err(format!("Compression module({v}) not found (zlib or bz2)")),
    }
}

/// `crm` and 3.0.6's `pacemaker`: only off (v1 mode) is run here.
fn crm(p: &mut Parser<'_>, name: &'static str, v: &str, line: usize) -> Res {
    p.crm_lines.push(line);
    let off = parse_bool(v) == Some(false);
    let known = parse_bool(v).is_some()
        || ["manual", "minimal", "respawn", "ccm-only", "valgrind"]
            .iter()
            .any(|w| v.eq_ignore_ascii_case(w))
            && (name == "pacemaker" || v.eq_ignore_ascii_case("manual"));
    if p.crm_lines.len() > 1 {
        Err("pacemaker/crm directive used multiple times (the original refuses it)".into())
    } else if !known {
        Err(format!("{name} '{v}': expected on or off"))
    } else if off {
        Ok(())
    } else {
        Err(format!(
            "{name} {v} is v2 mode (CRM/Pacemaker); this daemon implements v1 haresources only (the original would accept it): use '{name} off' or remove the line"
        ))
    }
}

/// One name of a `node` line.
fn node(p: &mut Parser<'_>, _: &'static str, v: &str, line: usize) -> Res {
    let n = v.to_lowercase();
    if p.nodes.contains(&n) {
        p.warn(line, format!("node '{n}' listed twice; kept once"));
    } else {
        p.nodes.push(n);
    }
    Ok(())
}

/// One `NAME=VALUE` of an `env` line.
fn env(p: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    match v.split_once('=') {
        Some((k, val)) if !k.is_empty() => {
            p.env.push((k.to_string(), val.to_string()));
            Ok(())
        }
        _ => Err(format!(
            "env '{v}': expected NAME=VALUE (values cannot contain blanks or commas)"
        )),
    }
}

/// One host of a `ping` line: an address, or a name the resolver knows.
fn ping(p: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    if p.ipv4(v).is_none() {
        return Err(format!("ping: unknown host '{v}'"));
    }
    p.ping.push(v.to_string());
    Ok(())
}

/// One host of a `ping6` line (3.0.6; kept, not acted on).
fn ping6(p: &mut Parser<'_>, _: &'static str, v: &str, _: usize) -> Res {
    p.ping6.push(v.to_string());
    Ok(())
}

/// One device of a `serial` line; the first serial line fixes the speed.
fn serial(p: &mut Parser<'_>, _: &'static str, v: &str, line: usize) -> Res {
    if p.serial_baud.is_none() {
        let b = p
            .last("baud")
            .and_then(|(b, _)| baud_rate(b))
            .unwrap_or(DEFAULT_BAUD);
        p.serial_baud = Some((b, line));
    }
    if !v.starts_with('/') {
        return Err(format!(
            "Serial port not full pathname [{v}]: write e.g. /dev/ttyS0"
        ));
    }
    match p.media.last_mut() {
        Some(Medium::Serial { devs, line: l }) if *l == line => devs.push(v.to_string()),
        _ => p.media.push(Medium::Serial {
            devs: vec![v.to_string()],
            line,
        }),
    }
    Ok(())
}

/// One device of a `bcast` line.
fn bcast(p: &mut Parser<'_>, _: &'static str, v: &str, line: usize) -> Res {
    let port = match p.bcast_port {
        Some((port, _)) => port,
        None => {
            let port = p.udpport_now.unwrap_or_else(|| p.default_port());
            p.bcast_port = Some((port, line));
            port
        }
    };
    match p.media.last_mut() {
        Some(Medium::Bcast { devs, line: l, .. }) if *l == line => devs.push(v.to_string()),
        _ => p.media.push(Medium::Bcast {
            devs: vec![v.to_string()],
            port,
            line,
        }),
    }
    Ok(())
}

/// `ucast DEV HOST`: HOST an address or a name the resolver knows.
fn ucast(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let (dev, host) = match w.as_slice() {
        [] => return Err("ucast: missing device and address: 'ucast DEV ADDRESS'".into()),
        [dev] => return Err(format!("ucast: [{dev}] missing target IP address/hostname")),
        [dev, host] => (*dev, *host),
        [dev, _, extra @ ..] => {
            return Err(format!(
                "ucast {dev}: one address per line (the original ignores '{}'): write one ucast line per address",
                extra.join(" ")
            ))
        }
    };
    let name = host.parse::<Ipv4Addr>().is_err().then(|| host.to_string());
    let Some(addr) = p.ipv4(host) else {
        return Err(format!("ucast: cannot resolve hostname '{host}'"));
    };
    let port = match p.ucast_port {
        Some((port, _)) => port,
        None => {
            let port = p.udpport_now.unwrap_or_else(|| p.default_port());
            p.ucast_port = Some((port, line));
            port
        }
    };
    p.media.push(Medium::Ucast {
        dev: dev.to_string(),
        addr: IpAddr::V4(addr),
        host: name,
        port,
        line,
    });
    Ok(())
}

/// `mcast DEV GROUP PORT TTL LOOP`.
fn mcast(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let Some(dev) = w.first() else {
        return Err("mcast: missing device: 'mcast DEV GROUP PORT TTL LOOP'".into());
    };
    let field = |i: usize, what: &str| -> Result<&str, String> {
        w.get(i)
            .copied()
            .ok_or_else(|| format!("mcast [{dev}] missing {what}"))
    };
    let g = field(1, "mcast address")?;
    let group = g
        .parse::<Ipv4Addr>()
        .ok()
        .filter(Ipv4Addr::is_multicast)
        .ok_or_else(|| {
            format!("mcast [{dev}] bad addr [{g}]: a multicast address 224.0.0.0-239.255.255.255")
        })?;
    let pt = field(2, "port")?;
    let port = unsigned(pt)
        .filter(|n| (1..=65535).contains(n))
        .ok_or_else(|| format!("mcast [{dev}] bad port [{pt}]: 1-65535"))? as u16;
    let t = field(3, "ttl")?;
    let ttl = unsigned(t)
        .filter(|n| *n <= 4)
        .ok_or_else(|| format!("mcast [{dev}] bad ttl [{t}]: 0-4"))? as u8;
    let lp = field(4, "loop")?;
    let loop_ = match lp {
        "0" => false,
        "1" => true,
        _ => return Err(format!("mcast [{dev}] bad loop [{lp}]: 0 or 1")),
    };
    if w.len() > 5 {
        return Err(format!(
            "mcast [{dev}]: unexpected '{}' after LOOP (the original ignores it)",
            w[5..].join(" ")
        ));
    }
    p.media.push(Medium::Mcast {
        dev: dev.to_string(),
        group,
        port,
        ttl,
        loop_,
        line,
    });
    Ok(())
}

/// `ucast6 DEV ADDR` (3.0.6; kept, not acted on).
fn ucast6(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let (dev, a) = match w.as_slice() {
        [] => return Err("ucast6 statement without device".into()),
        [dev] => return Err(format!("ucast6 [{dev}] missing ucast6 address")),
        [dev, a, ..] => (*dev, *a),
    };
    let bare = a.split('%').next().unwrap_or("");
    match bare.parse::<Ipv6Addr>() {
        Ok(ip) if !ip.is_multicast() && !ip.is_unspecified() && !ip.is_loopback() => {
            p.media.push(Medium::Ucast6 {
                dev: dev.to_string(),
                addr: a.to_string(),
                line,
            });
            Ok(())
        }
        _ => Err(format!("ucast6 [{dev}] bad addr [{a}]")),
    }
}

/// `mcast6 DEV GROUP PORT HOPS LOOP` (3.0.6; kept, not acted on).
fn mcast6(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let Some(dev) = w.first() else {
        return Err("mcast6 statement without device".into());
    };
    let group = w
        .get(1)
        .and_then(|g| g.parse::<Ipv6Addr>().ok())
        .filter(Ipv6Addr::is_multicast);
    let port = w.get(2);
    let hops = w.get(3).and_then(|h| unsigned(h)).filter(|h| *h <= 4);
    let lp = match w.get(4).copied() {
        Some("0") => Some(false),
        Some("1") => Some(true),
        _ => None,
    };
    match (group, port, hops, lp) {
        (Some(group), Some(port), Some(hops), Some(loop_)) => {
            p.media.push(Medium::Mcast6 {
                dev: dev.to_string(),
                group,
                port: port.to_string(),
                hops: hops as u8,
                loop_,
                line,
            });
            Ok(())
        }
        _ => Err(format!(
            "mcast6 [{dev}]: expected 'mcast6 DEV GROUP PORT HOPS LOOP' with an IPv6 multicast GROUP, HOPS 0-4 and LOOP 0 or 1"
        )),
    }
}

/// `ping_group NAME HOST...`: every host an address or a name the resolver knows.
fn ping_group(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let (name, hosts) = match w.split_first() {
        None => return Err("ping_group: missing name and hosts: 'ping_group NAME HOST...'".into()),
        Some((_, [])) => return Err("ping_group: no hosts: 'ping_group NAME HOST...'".into()),
        Some((name, hosts)) => (*name, hosts),
    };
    let bad: Vec<&str> = hosts
        .iter()
        .copied()
        .filter(|h| p.ipv4(h).is_none())
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "ping_group {name}: unknown host(s) {}",
            bad.join(" ")
        ));
    }
    p.ping_groups.push(PingGroup {
        name: name.to_string(),
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        line,
    });
    Ok(())
}

/// The rest of `rest` after its first word `word` and the blanks around it.
fn after_word<'t>(rest: &'t str, word: &str) -> &'t str {
    rest.trim_start_matches(is_blank)
        .get(word.len()..)
        .unwrap_or("")
}

/// `respawn USER COMMAND [ARGS]` and 3.0.6's `failfast`, same syntax.
fn respawn(p: &mut Parser<'_>, name: &'static str, rest: &str, line: usize) -> Res {
    let Some(user) = split_blanks(rest).first().copied() else {
        return Err(format!(
            "{name}: missing user and command: '{name} USER /path/to/program [ARGS]'"
        ));
    };
    let command = after_word(rest, user).trim_matches(is_blank).to_string();
    if command.is_empty() {
        return Err(format!("{name} {user}: missing command (a full path)"));
    }
    if !command.starts_with('/') {
        return Err(format!(
            "Client child command [{command}] is not full pathname"
        ));
    }
    let r = Respawn {
        user: user.to_string(),
        command,
        line,
    };
    if name == "respawn" {
        p.respawn.push(r);
    } else {
        p.failfast.push(r);
    }
    Ok(())
}

/// `apiauth CLIENT [uid=U[,U...]] [gid=G[,G...]]`.
fn apiauth(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let Some((client, specs)) = w.split_first() else {
        return Err("Invalid apiauth directive: 'apiauth CLIENT uid=U,... gid=G,...'".into());
    };
    let mut a = ApiAuth {
        client: client.to_string(),
        uids: vec![],
        gids: vec![],
    };
    for s in specs {
        let (list, key) = if let Some(l) = s.strip_prefix("uid=") {
            (l, "uid")
        } else if let Some(l) = s.strip_prefix("gid=") {
            (l, "gid")
        } else {
            return Err(format!(
                "Missing uid or gid in apiauth: '{s}' (expected uid=LIST or gid=LIST)"
            ));
        };
        let items: Vec<String> = list
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect();
        let slot = if key == "uid" {
            &mut a.uids
        } else {
            &mut a.gids
        };
        if !slot.is_empty() {
            return Err(format!("Duplicate {key} list in apiauth"));
        }
        if items.is_empty() {
            return Err(format!("apiauth {client}: empty {key} list"));
        }
        *slot = items;
    }
    if a.uids.is_empty() && a.gids.is_empty() {
        return Err(format!(
            "Invalid apiauth directive [{rest}]: give uid=LIST and/or gid=LIST"
        ));
    }
    if let Some((_, pl)) = p.apiauth.iter().find(|(x, _)| x.client == a.client) {
        return Err(format!(
            "Duplicate apiauth directive for API client {client} (first on line {pl})"
        ));
    }
    p.apiauth.push((a, line));
    Ok(())
}

/// `stonith TYPE CONFIGFILE`.
fn stonith(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let Some(kind) = split_blanks(rest).first().copied() else {
        return Err("No Stonith type given: 'stonith TYPE CONFIGFILE'".into());
    };
    let params = after_word(rest, kind).trim_matches(is_blank);
    if params.is_empty() {
        return Err(format!("stonith {kind}: missing configuration file"));
    }
    p.stonith.push(Stonith {
        host: None,
        kind: kind.to_string(),
        params: params.to_string(),
        line,
    });
    Ok(())
}

/// `stonith_host HOST TYPE PARAMS...`.
fn stonith_host(p: &mut Parser<'_>, _: &'static str, rest: &str, line: usize) -> Res {
    let w = split_blanks(rest);
    let (host, kind) = match w.as_slice() {
        [] => {
            return Err(
                "No Stonith hostname argument given: 'stonith_host HOST TYPE PARAMS'".into(),
            )
        }
        [_] => return Err("No Stonith type given: 'stonith_host HOST TYPE PARAMS'".into()),
        [host, kind, ..] => (*host, *kind),
    };
    let params = after_word(after_word(rest, host), kind).trim_matches(is_blank);
    p.stonith.push(Stonith {
        host: Some(host.to_lowercase()),
        kind: kind.to_string(),
        params: params.to_string(),
        line,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hacf::DIRECTIVES;

    #[test]
    fn every_directive_has_its_parse_function() {
        let table: Vec<&str> = DIRECTIVES.iter().map(|s| s.name).collect();
        let parsers: Vec<&str> = PARSERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(table, parsers);
    }
}
