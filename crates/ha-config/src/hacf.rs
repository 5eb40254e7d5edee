//! ha.cf: every directive heartbeat 2.0.8 accepts, its syntax, defaults and checks.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::lines::lines;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoFailback {
    On,
    Off,
    Legacy,
}

impl AutoFailback {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoFailback::On => "on",
            AutoFailback::Off => "off",
            AutoFailback::Legacy => "legacy",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgFmt {
    Classic,
    Netstring,
}

/// A heartbeat medium line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Medium {
    /// `ucast DEV ADDR`
    Ucast {
        dev: String,
        addr: IpAddr,
        line: usize,
    },
    /// `bcast DEV [DEV...]`
    Bcast { devs: Vec<String>, line: usize },
    /// `mcast DEV GROUP PORT TTL LOOP`
    Mcast {
        dev: String,
        group: Ipv4Addr,
        port: u16,
        ttl: u8,
        loop_: bool,
        line: usize,
    },
    /// `serial DEV [DEV...]` (accepted, not acted on)
    Serial { devs: Vec<String>, line: usize },
}

/// `ping_group NAME HOST...`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingGroup {
    pub name: String,
    pub hosts: Vec<String>,
}

/// `respawn USER COMMAND [ARGS]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Respawn {
    pub user: String,
    pub command: String,
    pub line: usize,
}

/// `apiauth CLIENT uid=U[,U] gid=G[,G]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiAuth {
    pub client: String,
    pub uids: Vec<String>,
    pub gids: Vec<String>,
}

/// A directive we parse and keep but do not act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotActedOn {
    pub directive: String,
    pub value: String,
    pub line: usize,
}

/// ha.cf, parsed, defaulted and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaCf {
    pub keepalive: Duration,
    pub deadtime: Duration,
    pub warntime: Duration,
    pub initdead: Duration,
    pub deadping: Duration,
    pub udpport: u16,
    pub media: Vec<Medium>,
    /// Normal nodes, lowercased, in ha.cf order.
    pub nodes: Vec<String>,
    pub auto_failback: AutoFailback,
    pub logfile: Option<PathBuf>,
    pub debugfile: Option<PathBuf>,
    pub logfacility: Option<String>,
    pub watchdog: Option<PathBuf>,
    pub ping: Vec<String>,
    pub ping_groups: Vec<PingGroup>,
    pub respawn: Vec<Respawn>,
    pub apiauth: Vec<ApiAuth>,
    pub stonith_host: Vec<String>,
    pub msgfmt: MsgFmt,
    pub hopfudge: u32,
    pub max_rexmit_delay: Duration,
    pub env: Vec<(String, String)>,
    /// Directive -> value as written, or its default (the `HA_<directive>` variables and
    /// the answers to `cl_status hbparameter`).
    pub recorded: Vec<(String, String)>,
    pub not_acted_on: Vec<NotActedOn>,
}

/// Directives with a default, in the original's table order: (name, default, meaning).
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    ("cluster", "linux-ha", "the name of cluster"),
    ("hopfudge", "1", "# of hops above cluster size"),
    ("keepalive", "1000ms", "keepalive time"),
    ("deadtime", "30000ms", "node deadtime"),
    ("deadping", "", "ping deadtime"),
    ("initdead", "", "initial deadtime"),
    ("warntime", "", "warning time"),
    ("watchdog", "", "watchdog device"),
    ("baud", "19200", "baud rate"),
    ("udpport", "", "UDP port number"),
    ("logfacility", "", "syslog log facility"),
    ("logfile", "", "log file"),
    ("debugfile", "", "debug file"),
    ("auto_failback", "legacy", "auto failback"),
    ("rtprio", "", "realtime priority"),
    (
        "hbgenmethod",
        "file",
        "protocol generation computation method",
    ),
    ("realtime", "true", "enable realtime behavior?"),
    ("debug", "", "debug level"),
    ("normalpoll", "true", "Use system poll(2) function?"),
    ("msgfmt", "classic", "message format in the wire"),
    ("use_logd", "", "use logging daemon"),
    ("conn_logd_time", "60", "the interval to reconnect to logd"),
    ("log_badpack", "true", "warn about bad packets"),
    ("coredumps", "true", "enable Linux-HA core dumps"),
    ("coreroot", "", "set root directory of core dump area"),
    ("crm", "false", "enables release 2 (CRM) mode"),
    ("autojoin", "none", "set automatic join mode/style"),
    ("uuidfrom", "file", "set the source for uuid"),
    ("compression", "zlib", "set compression module"),
    ("compression_threshold", "2", "set compression threshold"),
    (
        "traditional_compression",
        "no",
        "set traditional_compression",
    ),
    (
        "max_rexmit_delay",
        "250",
        "set the maximum rexmit delay time",
    ),
    ("record_config_changes", "on", "record changes to the cib"),
    (
        "record_pengine_inputs",
        "on",
        "record the input used by the policy engine",
    ),
    (
        "enable_config_writes",
        "on",
        "write configuration changes to disk",
    ),
    (
        "memreserve",
        "6500",
        "number of kbytes to preallocate in heartbeat",
    ),
    ("quorum_server", "", "the name or ip of quorum server"),
];

/// Directives without a default (repeatable or special).
pub const OTHER_DIRECTIVES: &[&str] = &[
    "node",
    "nice_failback",
    "use_apphbd",
    "env",
    "stonith",
    "stonith_host",
    "apiauth",
    "respawn",
    "ucast",
    "bcast",
    "mcast",
    "serial",
    "ping",
    "ping_group",
    "hbaping",
];

/// Directives this daemon acts on (the rest are accepted and reported as not acted on).
pub const ACTED_ON: &[&str] = &[
    "keepalive",
    "deadtime",
    "warntime",
    "initdead",
    "udpport",
    "ucast",
    "bcast",
    "mcast",
    "node",
    "auto_failback",
    "nice_failback",
    "logfile",
    "debugfile",
    "logfacility",
    "msgfmt",
    "hopfudge",
    "max_rexmit_delay",
    "debug",
    "crm",
    "cluster",
];

/// Parses a time: a decimal number (fractions allowed) with an optional unit: none or
/// `s` = seconds, `ms`/`msec` = milliseconds, `us`/`usec` = microseconds. Rounded to the
/// nearest millisecond.
pub fn parse_time(s: &str) -> Option<Duration> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let ms = match unit {
        "" | "s" => v * 1000.0,
        "ms" | "msec" => v,
        "us" | "usec" => v / 1000.0,
        _ => return None,
    };
    if !ms.is_finite() || ms > 1e12 {
        return None;
    }
    Some(Duration::from_millis(ms.round() as u64))
}

fn fmt_ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

fn yes_no(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "y" | "1" => Some(true),
        "off" | "no" | "false" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Parses ha.cf text. Returns the configuration (when there is no error) and every
/// diagnostic.
pub fn parse_hacf(text: &str, file: &str) -> (Option<HaCf>, Vec<Diagnostic>) {
    let mut d: Vec<Diagnostic> = Vec::new();
    let mut values: Vec<(String, String, usize)> = Vec::new();
    let mut media = Vec::new();
    let mut nodes: Vec<String> = Vec::new();
    let mut ping = Vec::new();
    let mut ping_groups = Vec::new();
    let mut respawn = Vec::new();
    let mut apiauth = Vec::new();
    let mut stonith_host = Vec::new();
    let mut env = Vec::new();
    let mut not_acted_on = Vec::new();
    let mut nice_failback: Option<(bool, usize)> = None;
    let mut udpport_after_media = None;
    for l in lines(text, false) {
        let n = Some(l.number);
        let dir = l.words[0].as_str();
        let args = &l.words[1..];
        let rest = args.join(" ");
        let need = |k: usize, d: &mut Vec<Diagnostic>| -> bool {
            if args.len() < k {
                d.push(Diagnostic::error(
                    file,
                    n,
                    format!("'{dir}' needs {k} argument(s), got {}", args.len()),
                ));
                false
            } else {
                true
            }
        };
        match dir {
            "node" => {
                if need(1, &mut d) {
                    for a in args {
                        let a = a.to_lowercase();
                        if nodes.contains(&a) {
                            d.push(Diagnostic::warning(
                                file,
                                n,
                                format!("node '{a}' listed twice"),
                            ));
                        } else {
                            nodes.push(a);
                        }
                    }
                }
            }
            "ucast" => {
                if need(2, &mut d) {
                    match args[1].parse::<IpAddr>() {
                        Ok(addr) => media.push(Medium::Ucast {
                            dev: args[0].clone(),
                            addr,
                            line: l.number,
                        }),
                        Err(_) => d.push(Diagnostic::error(
                            file,
                            n,
                            format!(
                                "ucast: '{}' is not an IP address (host names are not supported)",
                                args[1]
                            ),
                        )),
                    }
                }
            }
            "bcast" => {
                if need(1, &mut d) {
                    media.push(Medium::Bcast {
                        devs: args.to_vec(),
                        line: l.number,
                    });
                }
            }
            "serial" => {
                if need(1, &mut d) {
                    media.push(Medium::Serial {
                        devs: args.to_vec(),
                        line: l.number,
                    });
                    not_acted_on.push(NotActedOn {
                        directive: dir.into(),
                        value: rest.clone(),
                        line: l.number,
                    });
                }
            }
            "mcast" => {
                if need(5, &mut d) {
                    let group = args[1]
                        .parse::<Ipv4Addr>()
                        .ok()
                        .filter(|g| g.is_multicast());
                    let port = args[2].parse::<u16>().ok().filter(|p| *p > 0);
                    let ttl = args[3].parse::<u8>().ok().filter(|t| *t >= 1);
                    let lp = match args[4].as_str() {
                        "0" => Some(false),
                        "1" => Some(true),
                        _ => None,
                    };
                    match (group, port, ttl, lp) {
                        (Some(group), Some(port), Some(ttl), Some(loop_)) => media.push(Medium::Mcast {
                            dev: args[0].clone(),
                            group,
                            port,
                            ttl,
                            loop_,
                            line: l.number,
                        }),
                        _ => d.push(Diagnostic::error(
                            file,
                            n,
                            "mcast: expected 'mcast DEV GROUP PORT TTL LOOP' with a multicast GROUP, PORT 1-65535, TTL 1-255, LOOP 0 or 1",
                        )),
                    }
                }
            }
            "ping" => {
                if need(1, &mut d) {
                    ping.extend(args.iter().cloned());
                }
            }
            "ping_group" => {
                if need(2, &mut d) {
                    ping_groups.push(PingGroup {
                        name: args[0].clone(),
                        hosts: args[1..].to_vec(),
                    });
                }
            }
            "hbaping" => not_acted_on.push(NotActedOn {
                directive: dir.into(),
                value: rest,
                line: l.number,
            }),
            "respawn" => {
                if need(2, &mut d) {
                    respawn.push(Respawn {
                        user: args[0].clone(),
                        command: args[1..].join(" "),
                        line: l.number,
                    });
                }
            }
            "apiauth" => {
                if need(2, &mut d) {
                    let mut a = ApiAuth {
                        client: args[0].clone(),
                        uids: vec![],
                        gids: vec![],
                    };
                    for kv in &args[1..] {
                        match kv.split_once('=') {
                            Some(("uid", v)) => a.uids.extend(v.split(',').map(str::to_string)),
                            Some(("gid", v)) => a.gids.extend(v.split(',').map(str::to_string)),
                            _ => d.push(Diagnostic::error(
                                file,
                                n,
                                format!("Invalid apiauth directive [{rest}]"),
                            )),
                        }
                    }
                    if a.uids.is_empty() && a.gids.is_empty() {
                        d.push(Diagnostic::error(file, n, "Missing uid or gid in apiauth"));
                    }
                    apiauth.push(a);
                }
            }
            "stonith" | "stonith_host" => {
                if need(1, &mut d) {
                    stonith_host.push(rest.clone());
                    not_acted_on.push(NotActedOn {
                        directive: dir.into(),
                        value: rest,
                        line: l.number,
                    });
                }
            }
            "env" => match rest.split_once('=') {
                Some((k, v)) if !k.is_empty() => env.push((k.to_string(), v.to_string())),
                _ => d.push(Diagnostic::error(
                    file,
                    n,
                    format!("env: expected NAME=VALUE, got '{rest}'"),
                )),
            },
            "nice_failback" => match args.first().and_then(|a| yes_no(a)) {
                Some(b) => nice_failback = Some((b, l.number)),
                None => d.push(Diagnostic::error(
                    file,
                    n,
                    "nice_failback: expected on or off",
                )),
            },
            "use_apphbd" => not_acted_on.push(NotActedOn {
                directive: dir.into(),
                value: rest,
                line: l.number,
            }),
            _ => {
                if DEFAULTS.iter().any(|(k, _, _)| *k == dir) {
                    if args.is_empty() {
                        d.push(Diagnostic::error(file, n, format!("'{dir}' needs a value")));
                    } else {
                        if dir == "udpport" && !media.is_empty() {
                            udpport_after_media = Some(l.number);
                        }
                        values.retain(|(k, _, _)| k != dir);
                        values.push((dir.to_string(), rest, l.number));
                    }
                } else {
                    d.push(Diagnostic::error(
                        file,
                        n,
                        format!("unknown directive '{dir}'"),
                    ));
                }
            }
        }
    }
    let get = |k: &str| {
        values
            .iter()
            .find(|(n, _, _)| n == k)
            .map(|(_, v, l)| (v.clone(), *l))
    };
    let time = |k: &str, d: &mut Vec<Diagnostic>| -> Option<Duration> {
        let (v, l) = get(k)?;
        match parse_time(&v) {
            Some(t) => Some(t),
            None => {
                d.push(Diagnostic::error(
                    file,
                    Some(l),
                    format!("{k}: malformed time '{v}' (use seconds, or a number with ms)"),
                ));
                None
            }
        }
    };
    let keepalive = time("keepalive", &mut d).unwrap_or(Duration::from_secs(1));
    let deadtime = time("deadtime", &mut d).unwrap_or(Duration::from_secs(30));
    let warntime = time("warntime", &mut d).unwrap_or(deadtime / 2);
    let initdead = time("initdead", &mut d).unwrap_or(if deadtime > Duration::from_secs(10) {
        deadtime
    } else if deadtime < Duration::from_secs(6) {
        Duration::from_secs(12)
    } else {
        deadtime * 2
    });
    let deadping = time("deadping", &mut d).unwrap_or(deadtime);
    let max_rexmit_delay = match get("max_rexmit_delay") {
        Some((v, l)) => match v.parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                d.push(Diagnostic::error(
                    file,
                    Some(l),
                    format!("max_rexmit_delay: expected milliseconds, got '{v}'"),
                ));
                Duration::from_millis(250)
            }
        },
        None => Duration::from_millis(250),
    };
    let udpport = match get("udpport") {
        Some((v, l)) => {
            match v.parse::<u32>() {
                Ok(p) if (1..=65535).contains(&p) => p as u16,
                _ => {
                    d.push(Diagnostic::error(
                    file,
                    Some(l),
                    format!("udpport {v}: not a port number 1-65535 (the original silently wraps it)"),
                ));
                    694
                }
            }
        }
        None => services_udpport().unwrap_or(694),
    };
    if let Some(l) = udpport_after_media {
        d.push(Diagnostic::warning(file, Some(l), "udpport should precede the media lines (the original applies it to later media only; we apply it to all)"));
    }
    let hopfudge = match get("hopfudge") {
        Some((v, l)) => v.parse::<u32>().unwrap_or_else(|_| {
            d.push(Diagnostic::error(
                file,
                Some(l),
                format!("hopfudge: expected a number, got '{v}'"),
            ));
            1
        }),
        None => 1,
    };
    let auto_failback = match get("auto_failback") {
        Some((v, l)) => match v.to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" => AutoFailback::On,
            "off" | "no" | "false" => AutoFailback::Off,
            "legacy" => AutoFailback::Legacy,
            _ => {
                d.push(Diagnostic::error(
                    file,
                    Some(l),
                    format!("auto_failback '{v}': must be on, off or legacy"),
                ));
                AutoFailback::Legacy
            }
        },
        None => match nice_failback {
            Some((true, _)) => AutoFailback::Off,
            _ => AutoFailback::Legacy,
        },
    };
    if let (Some((_, nl)), Some(_)) = (nice_failback, get("auto_failback")) {
        d.push(Diagnostic::error(
            file,
            Some(nl),
            "nice_failback and auto_failback both set: keep auto_failback only",
        ));
    }
    let msgfmt = match get("msgfmt") {
        Some((v, l)) => match v.as_str() {
            "classic" => MsgFmt::Classic,
            "netstring" => MsgFmt::Netstring,
            _ => {
                d.push(Diagnostic::error(
                    file,
                    Some(l),
                    format!("msgfmt '{v}': must be classic or netstring"),
                ));
                MsgFmt::Classic
            }
        },
        None => MsgFmt::Classic,
    };
    if let Some((v, l)) = get("crm") {
        if yes_no(&v) != Some(false) {
            d.push(Diagnostic::error(
                file,
                Some(l),
                format!("crm {v}: v2 (CRM) mode is not supported; this daemon implements v1 (haresources) only"),
            ));
        }
    }
    if let Some((v, l)) = get("logfacility") {
        const FAC: &[&str] = &[
            "none", "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news",
            "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5",
            "local6", "local7",
        ];
        if !FAC.contains(&v.as_str()) {
            d.push(Diagnostic::error(
                file,
                Some(l),
                format!("logfacility '{v}': unknown syslog facility"),
            ));
        }
    }
    for k in [
        "realtime",
        "normalpoll",
        "log_badpack",
        "coredumps",
        "record_config_changes",
        "record_pengine_inputs",
        "enable_config_writes",
        "traditional_compression",
    ] {
        if let Some((v, l)) = get(k) {
            if yes_no(&v).is_none() {
                d.push(Diagnostic::error(
                    file,
                    Some(l),
                    format!("{k} '{v}': expected on/off (or yes/no, true/false)"),
                ));
            }
        }
    }
    if let Some((v, l)) = get("autojoin") {
        if !["none", "other", "any"].contains(&v.as_str()) {
            d.push(Diagnostic::error(
                file,
                Some(l),
                format!("Invalid autojoin directive [{v}]"),
            ));
        }
    }
    if let Some((v, l)) = get("uuidfrom") {
        if !["file", "nodename"].contains(&v.as_str()) {
            d.push(Diagnostic::error(
                file,
                Some(l),
                format!("Invalid uuidfrom directive [{v}]"),
            ));
        }
    }
    // The original's checks.
    if media.is_empty() {
        d.push(Diagnostic::error(
            file,
            None,
            "No heartbeat media defined (ucast, bcast or mcast)",
        ));
    }
    if nodes.is_empty() {
        d.push(Diagnostic::error(file, None, "no nodes defined"));
    }
    if deadtime <= keepalive * 2 {
        d.push(Diagnostic::error(
            file,
            get("deadtime").map(|(_, l)| l),
            format!(
                "Dead time [{}] is too small compared to keeplive [{}]",
                deadtime.as_millis(),
                keepalive.as_millis()
            ),
        ));
    }
    if initdead < deadtime {
        d.push(Diagnostic::error(
            file,
            get("initdead").map(|(_, l)| l),
            format!(
                "Initial dead time [{}] is smaller than deadtime [{}]",
                initdead.as_millis(),
                deadtime.as_millis()
            ),
        ));
    } else if initdead < deadtime * 2 || initdead < Duration::from_secs(10) {
        d.push(Diagnostic::warning(
            file,
            get("initdead").map(|(_, l)| l),
            format!(
                "Initial dead time [{} ms] may be too small! It should be >= 2 x deadtime and >= 10 seconds",
                initdead.as_millis()
            ),
        ));
    }
    if warntime >= deadtime {
        d.push(Diagnostic::warning(
            file,
            get("warntime").map(|(_, l)| l),
            format!(
                "warntime [{} ms] should be below deadtime [{} ms]",
                warntime.as_millis(),
                deadtime.as_millis()
            ),
        ));
    }
    // Recorded parameters: as written, else the default or the computed value.
    let mut recorded = Vec::new();
    for (k, def, _) in DEFAULTS {
        let v = match (get(k), *k) {
            (Some((v, _)), _) => v,
            (None, "warntime") => fmt_ms(warntime),
            (None, "initdead") => fmt_ms(initdead),
            (None, "deadping") => fmt_ms(deadping),
            (None, "udpport") => udpport.to_string(),
            (None, "debug") => "0".to_string(),
            (None, _) if def.is_empty() => continue,
            (None, _) => def.to_string(),
        };
        recorded.push((k.to_string(), v));
    }
    for (k, v, l) in &values {
        if !ACTED_ON.contains(&k.as_str()) {
            not_acted_on.push(NotActedOn {
                directive: k.clone(),
                value: v.clone(),
                line: *l,
            });
        }
    }
    for (dir, list) in [
        ("ping", !ping.is_empty()),
        ("ping_group", !ping_groups.is_empty()),
        ("respawn", !respawn.is_empty()),
        ("apiauth", !apiauth.is_empty()),
    ] {
        if list {
            not_acted_on.push(NotActedOn {
                directive: dir.into(),
                value: "(see ha.cf)".into(),
                line: 0,
            });
        }
    }
    not_acted_on.sort_by_key(|n| n.line);
    if d.iter().any(|x| x.severity == crate::Severity::Error) {
        return (None, d);
    }
    let path = |k: &str| get(k).map(|(v, _)| PathBuf::from(v));
    let cfg = HaCf {
        keepalive,
        deadtime,
        warntime,
        initdead,
        deadping,
        udpport,
        media,
        nodes,
        auto_failback,
        logfile: path("logfile"),
        debugfile: path("debugfile"),
        logfacility: get("logfacility").map(|(v, _)| v).filter(|v| v != "none"),
        watchdog: path("watchdog"),
        ping,
        ping_groups,
        respawn,
        apiauth,
        stonith_host,
        msgfmt,
        hopfudge,
        max_rexmit_delay,
        env,
        recorded,
        not_acted_on,
    };
    (Some(cfg), d)
}

/// The `ha-cluster` udp port of /etc/services, which the original uses when ha.cf has no
/// udpport.
fn services_udpport() -> Option<u16> {
    let t = std::fs::read_to_string("/etc/services").ok()?;
    t.lines().find_map(|l| {
        let w = crate::lines::words(l);
        if w.first().map(String::as_str) == Some("ha-cluster") {
            w.get(1)?.strip_suffix("/udp")?.parse().ok()
        } else {
            None
        }
    })
}

/// Writes `cfg` back as ha.cf text (used by the round-trip tests and `-v`).
pub fn render_hacf(cfg: &HaCf) -> String {
    let mut s = String::new();
    for (k, v) in &cfg.recorded {
        s.push_str(&format!("{k} {v}\n"));
    }
    for n in &cfg.nodes {
        s.push_str(&format!("node {n}\n"));
    }
    for m in &cfg.media {
        match m {
            Medium::Ucast { dev, addr, .. } => s.push_str(&format!("ucast {dev} {addr}\n")),
            Medium::Bcast { devs, .. } => s.push_str(&format!("bcast {}\n", devs.join(" "))),
            Medium::Serial { devs, .. } => s.push_str(&format!("serial {}\n", devs.join(" "))),
            Medium::Mcast {
                dev,
                group,
                port,
                ttl,
                loop_,
                ..
            } => s.push_str(&format!(
                "mcast {dev} {group} {port} {ttl} {}\n",
                u8::from(*loop_)
            )),
        }
    }
    for p in &cfg.ping {
        s.push_str(&format!("ping {p}\n"));
    }
    for g in &cfg.ping_groups {
        s.push_str(&format!("ping_group {} {}\n", g.name, g.hosts.join(" ")));
    }
    for r in &cfg.respawn {
        s.push_str(&format!("respawn {} {}\n", r.user, r.command));
    }
    for a in &cfg.apiauth {
        let mut parts = vec![a.client.clone()];
        if !a.uids.is_empty() {
            parts.push(format!("uid={}", a.uids.join(",")));
        }
        if !a.gids.is_empty() {
            parts.push(format!("gid={}", a.gids.join(",")));
        }
        s.push_str(&format!("apiauth {}\n", parts.join(" ")));
    }
    for (k, v) in &cfg.env {
        s.push_str(&format!("env {k}={v}\n"));
    }
    s
}
