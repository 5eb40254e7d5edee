//! The directives of ha.cf: their shapes, defaults and descriptions in the original's table
//! order (what `heartbeat -D` prints and docs/CONFIG.md documents), and whether this daemon
//! acts on each, with the reason when it does not.

use super::values::parse_bool;

/// Whether this daemon acts on a directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Acts on it as 2.0.8 does (for some directives 2.0.8 only records the value, and so
    /// does this daemon: `HA_<name>` for scripts, `getparm` for clients).
    ActedOn,
    /// Accepted and recorded, but it does nothing here where 2.0.8 would act on some values
    /// ([`not_acted_on_reason`] says which and why).
    NotActedOn,
}

/// Why the line `NAME VALUE` of ha.cf does nothing in this daemon, or `None` when the daemon
/// already behaves as the line asks (`use_logd no`, `use_apphbd off`, ...) or acts on the
/// directive. Each reason says what 2.0.8 (or 3.0.6, for its own directives) would have done
/// and why nothing is done here; the config test prints it beside every such line.
pub fn not_acted_on_reason(name: &str, value: &str) -> Option<&'static str> {
    let v = value.trim();
    let truth = parse_bool(v);
    const CRM: &str = "2.0.8 uses it only with crm on (release 2 resource management, the CRM); with crm off, the only mode here, 2.0.8 ignores it too";
    const COMPRESS: &str = "2.0.8 compresses messages larger than compression_threshold KiB; here messages are never compressed: a v1 cluster's messages stay far below that size, and 2.0.8 reads uncompressed ones";
    const V6: &str = "heartbeat 3 sends heartbeats over IPv6 on it; IPv6 media are not opened here (2.0.8 refuses the directive): use ucast, bcast or mcast";
    const PCMK: &str = "heartbeat 3 uses it only to run Pacemaker (pacemaker on); this daemon runs v1 haresources only, and 2.0.8 refuses the directive";
    match name {
        "conn_logd_time" => Some(
            "2.0.8 connects to ha_logd again at this interval after losing it; logd runs inside \
             each program here (ha_logd is gone), so there is never a connection to it to make \
             again",
        ),
        "use_apphbd" => match truth {
            Some(false) => None,
            _ => Some(
                "2.0.8 registers with apphbd, which reports a heartbeat that stops answering; apphbd is not part of this package (a watchdog line covers a hung daemon)",
            ),
        },
        "compression" | "compression_threshold" | "traditional_compression" => Some(COMPRESS),
        "record_config_changes"
        | "record_pengine_inputs"
        | "enable_config_writes"
        | "quorum_server" => Some(CRM),
        "memreserve" => Some(
            "2.0.8 preallocates this much memory before it locks itself in memory, so that it never waits for memory later; nothing is preallocated here: the daemon is small (about 5.5 MB) and realtime locks all of it",
        ),
        "syslogmsgfmt" => match truth {
            Some(false) => None,
            _ => Some(
                "heartbeat 3 then writes logfile and debugfile lines in syslog's format; they keep 2.0.8's format here (2.0.8 refuses the directive)",
            ),
        },
        "crm_daemon_dir" | "crmd_spawns_pengine" => Some(PCMK),
        "failfast" => Some(
            "heartbeat 3 starts the program like respawn and reboots the node when it exits; it is not started here (2.0.8 refuses the directive)",
        ),
        "ucast6" | "mcast6" => Some(V6),
        "ping6" => Some(
            "heartbeat 3 pings this IPv6 host as a ping node; it is not pinged here (2.0.8 refuses the directive): use ping with an IPv4 address",
        ),
        _ => None,
    }
}

/// How a directive takes its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One value (blanks or commas separate values; a second one is an error here).
    Value,
    /// A list of values, each applied in turn (`node a b`, `bcast eth0,eth1`).
    Values,
    /// The whole rest of the line.
    Line,
}

/// One directive of ha.cf: the reference table behind the parser, `heartbeat -D` and
/// docs/CONFIG.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectiveSpec {
    pub name: &'static str,
    pub shape: Shape,
    /// The default as the original records it (`None`: none, or computed).
    pub default: Option<&'static str>,
    /// Recorded (an `HA_<name>` variable and a `getparm` answer).
    pub recorded: bool,
    pub support: Support,
    /// Only in Debian's 3.0.6 (2.0.8 does not know it).
    pub only_306: bool,
    pub description: &'static str,
}

const fn d(
    name: &'static str,
    shape: Shape,
    default: Option<&'static str>,
    recorded: bool,
    support: Support,
    description: &'static str,
) -> DirectiveSpec {
    DirectiveSpec {
        name,
        shape,
        default,
        recorded,
        support,
        only_306: false,
        description,
    }
}

const fn d306(name: &'static str, shape: Shape, description: &'static str) -> DirectiveSpec {
    DirectiveSpec {
        name,
        shape,
        default: None,
        recorded: true,
        support: Support::NotActedOn,
        only_306: true,
        description,
    }
}

use Shape::{Line as L, Value as V, Values as VS};
use Support::{ActedOn as A, NotActedOn as N};

/// Every directive, in the original's table order (option directives, then whole-line
/// directives, then media, then what Debian's 3.0.6 adds).
pub const DIRECTIVES: &[DirectiveSpec] = &[
    d(
        "cluster",
        V,
        Some("linux-ha"),
        true,
        A,
        "the name of cluster",
    ),
    d(
        "node",
        VS,
        None,
        false,
        A,
        "a cluster node (as `uname -n` names it)",
    ),
    d(
        "hopfudge",
        V,
        Some("1"),
        true,
        A,
        "# of hops above cluster size",
    ),
    d("keepalive", V, Some("1000ms"), true, A, "keepalive time"),
    d("deadtime", V, Some("30000ms"), true, A, "node deadtime"),
    d("deadping", V, None, true, A, "ping deadtime"),
    d("initdead", V, None, true, A, "initial deadtime"),
    d("warntime", V, None, true, A, "warning time"),
    d("watchdog", V, None, true, A, "watchdog device"),
    d("baud", V, Some("19200"), true, A, "baud rate"),
    d("udpport", V, None, true, A, "UDP port number"),
    d("logfacility", V, None, true, A, "syslog log facility"),
    d("logfile", V, None, true, A, "log file"),
    d("debugfile", V, None, true, A, "debug file"),
    d(
        "nice_failback",
        V,
        None,
        false,
        A,
        "obsolete spelling of auto_failback",
    ),
    d("auto_failback", V, Some("legacy"), true, A, "auto failback"),
    d("rtprio", V, None, true, A, "realtime priority"),
    d(
        "hbgenmethod",
        V,
        Some("file"),
        true,
        A,
        "protocol generation computation method",
    ),
    d(
        "realtime",
        V,
        Some("true"),
        true,
        A,
        "enable realtime behavior?",
    ),
    d("debug", V, None, true, A, "debug level"),
    d(
        "msgfmt",
        V,
        Some("classic"),
        true,
        A,
        "message format in the wire",
    ),
    d("use_logd", V, None, true, A, "use logging daemon"),
    d(
        "conn_logd_time",
        V,
        Some("60"),
        true,
        N,
        "the interval to reconnect to logd",
    ),
    d("use_apphbd", V, None, false, N, "register with apphbd"),
    d(
        "log_badpack",
        V,
        Some("true"),
        true,
        A,
        "warn about bad packets",
    ),
    d(
        "coredumps",
        V,
        Some("true"),
        true,
        A,
        "enable Linux-HA core dumps",
    ),
    d(
        "coreroot",
        V,
        None,
        true,
        A,
        "set root directory of core dump area",
    ),
    d(
        "crm",
        V,
        Some("false"),
        true,
        A,
        "enable release 2 style resource management",
    ),
    d(
        "autojoin",
        V,
        Some("none"),
        true,
        A,
        "set automatic join mode/style",
    ),
    d(
        "uuidfrom",
        V,
        Some("file"),
        true,
        A,
        "set the source for uuid",
    ),
    d(
        "compression",
        V,
        Some("zlib"),
        true,
        N,
        "set compression module",
    ),
    d(
        "compression_threshold",
        V,
        Some("2"),
        true,
        N,
        "set compression threshold",
    ),
    d(
        "traditional_compression",
        V,
        Some("no"),
        true,
        N,
        "set traditional_compression",
    ),
    d(
        "env",
        VS,
        None,
        false,
        A,
        "set environment variable for respawn clients",
    ),
    d(
        "max_rexmit_delay",
        V,
        Some("250"),
        true,
        A,
        "set the maximum rexmit delay time",
    ),
    d(
        "record_config_changes",
        V,
        Some("on"),
        true,
        N,
        "record changes to the cib (valid only with: crm on)",
    ),
    d(
        "record_pengine_inputs",
        V,
        Some("on"),
        true,
        N,
        "record the input used by the policy engine (valid only with: crm on)",
    ),
    d(
        "enable_config_writes",
        V,
        Some("on"),
        true,
        N,
        "write configuration changes to disk (valid only with: crm on)",
    ),
    d(
        "memreserve",
        V,
        Some("6500"),
        true,
        N,
        "number of kbytes to preallocate in heartbeat",
    ),
    d(
        "quorum_server",
        V,
        None,
        true,
        N,
        "the name or ip of quorum server",
    ),
    d(
        "stonith",
        L,
        None,
        false,
        A,
        "a STONITH device: TYPE CONFIGFILE",
    ),
    d(
        "stonith_host",
        L,
        None,
        false,
        A,
        "a STONITH device for a host: HOST TYPE PARAMS",
    ),
    d("apiauth", L, None, false, A, "who may use the client API"),
    d(
        "respawn",
        L,
        None,
        false,
        A,
        "a client program started and restarted with heartbeat",
    ),
    d(
        "ucast",
        L,
        None,
        false,
        A,
        "unicast heartbeat medium: DEV HOST",
    ),
    d(
        "bcast",
        VS,
        None,
        false,
        A,
        "broadcast heartbeat medium: DEV...",
    ),
    d(
        "mcast",
        L,
        None,
        false,
        A,
        "multicast heartbeat medium: DEV GROUP PORT TTL LOOP",
    ),
    d(
        "serial",
        VS,
        None,
        false,
        A,
        "serial heartbeat medium: DEVICE...",
    ),
    d("ping", VS, None, false, A, "ping nodes: HOST..."),
    d(
        "ping_group",
        L,
        None,
        false,
        A,
        "a ping node made of several hosts: NAME HOST...",
    ),
    d306("syslogmsgfmt", V, "log to files in syslog format"),
    d306("crm_daemon_dir", V, "location for Pacemaker daemons"),
    d306(
        "crmd_spawns_pengine",
        V,
        "should pengine be spawned directly by heartbeat",
    ),
    // `pacemaker` is `crm` under another name: off (v1 mode, acted on) or refused.
    DirectiveSpec {
        support: A,
        ..d306("pacemaker", V, "enable Pacemaker resource management")
    },
    d306(
        "failfast",
        L,
        "like respawn, but reboot when the program dies",
    ),
    d306("ucast6", L, "IPv6 unicast heartbeat medium: DEV ADDR"),
    d306(
        "mcast6",
        L,
        "IPv6 multicast heartbeat medium: DEV GROUP PORT HOPS LOOP",
    ),
    d306("ping6", VS, "IPv6 ping nodes: HOST..."),
];

/// The spec of a directive by name.
pub fn directive(name: &str) -> Option<&'static DirectiveSpec> {
    DIRECTIVES.iter().find(|s| s.name == name)
}

/// Directives that have a default, in the original's table order: (name, default,
/// meaning) — what `heartbeat -D` prints.
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    ("cluster", "linux-ha", "the name of cluster"),
    ("hopfudge", "1", "# of hops above cluster size"),
    ("keepalive", "1000ms", "keepalive time"),
    ("deadtime", "30000ms", "node deadtime"),
    ("baud", "19200", "baud rate"),
    ("auto_failback", "legacy", "auto failback"),
    (
        "hbgenmethod",
        "file",
        "protocol generation computation method",
    ),
    ("realtime", "true", "enable realtime behavior?"),
    ("msgfmt", "classic", "message format in the wire"),
    ("conn_logd_time", "60", "the interval to reconnect to logd"),
    ("log_badpack", "true", "warn about bad packets"),
    ("coredumps", "true", "enable Linux-HA core dumps"),
    ("crm", "false", "enable release 2 style resource management"),
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
    (
        "record_config_changes",
        "on",
        "record changes to the cib (valid only with: crm on)",
    ),
    (
        "record_pengine_inputs",
        "on",
        "record the input used by the policy engine (valid only with: crm on)",
    ),
    (
        "enable_config_writes",
        "on",
        "write configuration changes to disk (valid only with: crm on)",
    ),
    (
        "memreserve",
        "6500",
        "number of kbytes to preallocate in heartbeat",
    ),
];

/// Directives without a default (kept for callers of the first version).
pub const OTHER_DIRECTIVES: &[&str] = &[
    "node",
    "deadping",
    "initdead",
    "warntime",
    "watchdog",
    "udpport",
    "logfacility",
    "logfile",
    "debugfile",
    "nice_failback",
    "rtprio",
    "debug",
    "use_logd",
    "use_apphbd",
    "coreroot",
    "env",
    "quorum_server",
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
    "syslogmsgfmt",
    "crm_daemon_dir",
    "crmd_spawns_pengine",
    "pacemaker",
    "failfast",
    "ucast6",
    "mcast6",
    "ping6",
];

/// Directives this daemon acts on (as 2.0.8 does).
pub const ACTED_ON: &[&str] = &[
    "cluster",
    "apiauth",
    "respawn",
    "ping",
    "ping_group",
    "logfile",
    "debugfile",
    "logfacility",
    "use_logd",
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
    "msgfmt",
    "hopfudge",
    "max_rexmit_delay",
    "deadping",
    "env",
    "crm",
    "autojoin",
    "realtime",
    "rtprio",
    "watchdog",
    "serial",
    "baud",
    "pacemaker",
    "hbgenmethod",
    "debug",
    "log_badpack",
    "coredumps",
    "coreroot",
    "uuidfrom",
    "stonith",
    "stonith_host",
];
