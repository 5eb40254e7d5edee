//! After the last line: the defaults the original computes, its checks of the whole file
//! in its order, the recorded parameters, and the [`HaCf`].

use std::path::PathBuf;
use std::time::Duration;

use super::parser::Parser;
use super::table::DIRECTIVES;
use super::values::{baud_rate, fmt_ms, max_rexmit_ms, parse_bool, parse_time, DEFAULT_BAUD};
use super::{GenMethod, HaCf, MsgFmt, UuidFrom};
use crate::diag::Diagnostic;
use crate::lines::unsigned;

/// The timing directives, defaulted as the original defaults them, with the line of each
/// one ha.cf sets.
struct Timing {
    keepalive: Duration,
    deadtime: Duration,
    warntime: Duration,
    initdead: Duration,
    deadping: Duration,
    deadtime_line: Option<usize>,
    warntime_line: Option<usize>,
    initdead_line: Option<usize>,
    deadping_line: Option<usize>,
}

fn timing(p: &Parser<'_>) -> Timing {
    let time = |k: &str| p.last(k).and_then(|(v, l)| parse_time(v).map(|t| (t, l)));
    let keepalive = time("keepalive").map_or(Duration::from_secs(1), |x| x.0);
    let deadtime_l = time("deadtime");
    let deadtime = deadtime_l.map_or(Duration::from_secs(30), |x| x.0);
    let warntime_l = time("warntime");
    let initdead_l = time("initdead");
    let initdead_default = if deadtime > Duration::from_secs(10) {
        deadtime
    } else if deadtime < Duration::from_secs(6) {
        Duration::from_secs(12)
    } else {
        deadtime * 2
    };
    let deadping_l = time("deadping");
    Timing {
        keepalive,
        deadtime,
        warntime: warntime_l.map_or(deadtime / 2, |x| x.0),
        initdead: initdead_l.map_or(initdead_default, |x| x.0),
        deadping: deadping_l.map_or(deadtime, |x| x.0),
        deadtime_line: deadtime_l.map(|x| x.1),
        warntime_line: warntime_l.map(|x| x.1),
        initdead_line: initdead_l.map(|x| x.1),
        deadping_line: deadping_l.map(|x| x.1),
    }
}

/// Some media and some nodes.
fn check_media_and_nodes(p: &mut Parser<'_>) {
    let file = p.file;
    if p.media.is_empty() && p.ping.is_empty() && p.ping_groups.is_empty() && p.ping6.is_empty() {
        p.d.push(Diagnostic::error(
            file,
            None,
            "No heartbeat media defined (add a ucast, bcast, mcast or serial line)",
        ));
    } else if p.media.is_empty() && p.nodes.len() > 1 {
        p.d.push(Diagnostic::warning(
            file,
            None,
            "only ping media: the nodes have no heartbeat path to each other",
        ));
    }
    if p.nodes.is_empty() {
        p.d.push(Diagnostic::error(
            file,
            None,
            "no nodes defined (add 'node NAME' lines, one name per host as `uname -n` says)",
        ));
    }
}

/// The times against each other.
fn check_timing(p: &mut Parser<'_>, t: &Timing) {
    let file = p.file;
    let ms = |d: Duration| d.as_millis();
    if t.deadtime <= t.keepalive * 2 {
        let line = t.deadtime_line.or(p.last("keepalive").map(|x| x.1));
        p.d.push(Diagnostic::error(file, line, format!(
            "Dead time [{}] is too small compared to keeplive [{}]: deadtime must exceed 2 x keepalive",
            ms(t.deadtime),
            ms(t.keepalive)
        )));
    }
    if t.initdead < t.deadtime {
        p.d.push(Diagnostic::error(
            file,
            t.initdead_line,
            format!(
                "Initial dead time [{}] is smaller than deadtime [{}]",
                ms(t.initdead),
                ms(t.deadtime)
            ),
        ));
    } else {
        if t.initdead < Duration::from_secs(10) {
            p.d.push(Diagnostic::warning(file, t.initdead_line, format!(
                "Initial dead time [{} ms] may be too small! It accounts for slow network startup and should be >= deadtime and >= 10 seconds",
                ms(t.initdead)
            )));
        }
        if let (Some(l), true) = (t.initdead_line, t.initdead < t.deadtime * 2) {
            p.d.push(Diagnostic::warning(file, Some(l), format!(
                "initdead [{} ms] is below twice deadtime [{} ms]: it should be at least twice the dead time",
                ms(t.initdead),
                ms(t.deadtime)
            )));
        }
    }
    if let (Some(l), true) = (t.deadping_line, t.deadping <= t.keepalive * 2) {
        p.d.push(Diagnostic::error(
            file,
            Some(l),
            format!(
                "Ping dead time [{}] is too small compared to keeplive [{}]",
                ms(t.deadping),
                ms(t.keepalive)
            ),
        ));
    }
    if let (Some(l), true) = (t.warntime_line, t.warntime >= t.deadtime) {
        p.d.push(Diagnostic::warning(file, Some(l), format!(
            "warntime [{} ms] is not below deadtime [{} ms]: late heartbeats will never be reported",
            ms(t.warntime),
            ms(t.deadtime)
        )));
    }
}

/// Where the daemon logs: the syslog facility (`none` is none), whether ha.cf names any
/// log at all, and `use_logd`. Refuses a file that logs nowhere.
struct Logging {
    logfacility: Option<String>,
    any_log: bool,
    use_logd: Option<bool>,
}

fn logging(p: &mut Parser<'_>) -> Logging {
    let logfacility = p
        .last("logfacility")
        .map(|(v, _)| v.to_string())
        .filter(|v| v != "none");
    let any_log =
        p.last("logfile").is_some() || p.last("debugfile").is_some() || logfacility.is_some();
    let use_logd = p.last("use_logd").and_then(|(v, _)| parse_bool(v));
    if !any_log && use_logd == Some(false) {
        let l = p.last("use_logd").map(|x| x.1);
        p.d.push(Diagnostic::error(p.file, l, "No log entry found in ha.cf and use_logd is set to off: add a logfile, debugfile or logfacility"));
    }
    Logging {
        logfacility,
        any_log,
        use_logd,
    }
}

/// Recorded parameters, in table order: as written, else the default or the computed value.
fn recorded(p: &Parser<'_>, t: &Timing, udpport: u16, any_log: bool) -> Vec<(String, String)> {
    let mut recorded = Vec::new();
    for spec in DIRECTIVES.iter().filter(|s| s.recorded) {
        let k = spec.name;
        let v = match (p.last(k), k) {
            (Some((v, _)), _) => v.to_string(),
            (None, "warntime") => fmt_ms(t.warntime),
            (None, "initdead") => fmt_ms(t.initdead),
            (None, "deadping") => fmt_ms(t.deadping),
            (None, "udpport") => udpport.to_string(),
            (None, "debug") => "0".to_string(),
            (None, "use_logd") if !any_log => "yes".to_string(),
            (None, _) if spec.only_306 => continue,
            (None, _) => match spec.default {
                Some(def) => def.to_string(),
                None => continue,
            },
        };
        recorded.push((k.to_string(), v));
    }
    recorded
}

/// The whole file's checks, then the configuration when there is no error.
pub(super) fn finish(mut p: Parser<'_>) -> (Option<HaCf>, Vec<Diagnostic>) {
    let t = timing(&p);
    check_media_and_nodes(&mut p);
    check_timing(&mut p, &t);
    let log = logging(&mut p);
    let udpport = match p.last("udpport").and_then(|(v, _)| unsigned(v)) {
        Some(v) => v as u16,
        None => p.default_port(),
    };
    let recorded = recorded(&p, &t, udpport, log.any_log);
    if p.d.iter().any(Diagnostic::is_error) {
        return (None, p.d);
    }
    let cfg = build(&mut p, t, log, udpport, recorded);
    (Some(cfg), p.d)
}

fn build(
    p: &mut Parser<'_>,
    t: Timing,
    log: Logging,
    udpport: u16,
    recorded: Vec<(String, String)>,
) -> HaCf {
    let s = |p: &Parser<'_>, k: &str| p.last(k).map(|(v, _)| v.to_string());
    let b = |p: &Parser<'_>, k: &str, def: bool| {
        p.last(k).and_then(|(v, _)| parse_bool(v)).unwrap_or(def)
    };
    let n =
        |p: &Parser<'_>, k: &str, def: u64| p.last(k).and_then(|(v, _)| unsigned(v)).unwrap_or(def);
    let byte = |p: &Parser<'_>, k: &str| p.last(k).and_then(|(v, _)| unsigned(v)).map(|v| v as u8);
    HaCf {
        keepalive: t.keepalive,
        deadtime: t.deadtime,
        warntime: t.warntime,
        initdead: t.initdead,
        deadping: t.deadping,
        udpport,
        nodes: std::mem::take(&mut p.nodes),
        auto_failback: p.auto_failback,
        logfile: s(p, "logfile").map(PathBuf::from),
        debugfile: s(p, "debugfile").map(PathBuf::from),
        logfacility: log.logfacility,
        watchdog: s(p, "watchdog").map(PathBuf::from),
        msgfmt: if s(p, "msgfmt").as_deref() == Some("netstring") {
            MsgFmt::Netstring
        } else {
            MsgFmt::Classic
        },
        hopfudge: n(p, "hopfudge", 1) as u32,
        max_rexmit_delay: Duration::from_millis(
            p.last("max_rexmit_delay")
                .and_then(|(v, _)| max_rexmit_ms(v))
                .unwrap_or(250),
        ),
        cluster: s(p, "cluster").unwrap_or_else(|| "linux-ha".into()),
        baud: p
            .last("baud")
            .and_then(|(b, _)| baud_rate(b))
            .unwrap_or(DEFAULT_BAUD),
        serial_baud: p.serial_baud.map_or(DEFAULT_BAUD, |(b, _)| b),
        rtprio: byte(p, "rtprio"),
        hbgenmethod: if s(p, "hbgenmethod").as_deref() == Some("time") {
            GenMethod::Time
        } else {
            GenMethod::File
        },
        realtime: b(p, "realtime", true),
        debug: byte(p, "debug"),
        use_logd: log.use_logd,
        conn_logd_time: p
            .last("conn_logd_time")
            .and_then(|(v, _)| parse_time(v))
            .unwrap_or(Duration::from_secs(60)),
        use_apphbd: p.last("use_apphbd").and_then(|(v, _)| parse_bool(v)),
        log_badpack: b(p, "log_badpack", true),
        coredumps: b(p, "coredumps", true),
        coreroot: s(p, "coreroot").map(PathBuf::from),
        uuidfrom: if s(p, "uuidfrom").as_deref() == Some("nodename") {
            UuidFrom::NodeName
        } else {
            UuidFrom::File
        },
        compression: s(p, "compression").unwrap_or_else(|| "zlib".into()),
        compression_threshold: n(p, "compression_threshold", 2) as u32,
        traditional_compression: b(p, "traditional_compression", false),
        memreserve: n(p, "memreserve", 6500) as u32,
        quorum_server: s(p, "quorum_server"),
        media: std::mem::take(&mut p.media),
        ping: std::mem::take(&mut p.ping),
        ping_groups: std::mem::take(&mut p.ping_groups),
        ping6: std::mem::take(&mut p.ping6),
        respawn: std::mem::take(&mut p.respawn),
        failfast: std::mem::take(&mut p.failfast),
        apiauth: std::mem::take(&mut p.apiauth)
            .into_iter()
            .map(|(a, _)| a)
            .collect(),
        stonith_host: std::mem::take(&mut p.stonith),
        env: std::mem::take(&mut p.env),
        recorded,
        not_acted_on: std::mem::take(&mut p.not_acted_on),
    }
}
