//! ha.cf: every directive heartbeat 2.0.8 accepts (plus the few Debian's 3.0.6 adds), with
//! the original's syntax, defaults, units and checks.
//!
//! How the original reads a line (2.0.8 `config.c`, verified against 3.0.6): the comment
//! starts at `#`, a carriage return ends the line, the directive name ends at the first
//! blank. Most directives take a list of values separated by blanks **or commas**, each
//! value applied in turn (`node a,b c`); a few take the whole rest of the line (`ucast`,
//! `mcast`, `ping_group`, `respawn`, `apiauth`, `stonith`, `stonith_host`). Directive
//! names are case-sensitive.
//!
//! Where the original accepts nonsense silently we refuse it with a clear message: a
//! second value for a one-value directive (`keepalive 1,5` is 5 s for the original), a
//! port above 65535 (`udpport 99999` wraps), trailing garbage (`keepalive 2msx`,
//! `hopfudge abc`), extra words after a `ucast` address (ignored by the original).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::diag::{Diagnostic, Severity};
use crate::lines::{
    hacf_lines, is_blank, scan_int, split_blanks, split_delims, time_parts, unsigned,
};

/// `auto_failback`: on, off or legacy (the original's default).
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

/// `msgfmt`: the form of the messages this node sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsgFmt {
    Classic,
    Netstring,
}

/// `hbgenmethod`: how the generation number is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenMethod {
    /// Read, incremented and written back in /var/lib/heartbeat/hb_generation.
    File,
    /// The current time.
    Time,
}

/// `uuidfrom`: where the node's uuid comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UuidFrom {
    File,
    NodeName,
}

/// A heartbeat medium.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Medium {
    /// `ucast DEV HOST`: unicast UDP to HOST (an IPv4 address, or a name resolved when
    /// the file is read, as the original does).
    Ucast {
        dev: String,
        addr: IpAddr,
        /// The name as written, when HOST was not an address.
        host: Option<String>,
        /// The UDP port: the `udpport` in force when the first `ucast` line was read
        /// (the original fixes it then), else 694.
        port: u16,
        line: usize,
    },
    /// `bcast DEV [DEV...]`: broadcast UDP on each device.
    Bcast {
        devs: Vec<String>,
        /// As for ucast: the `udpport` in force at the first `bcast` line, else 694.
        port: u16,
        line: usize,
    },
    /// `mcast DEV GROUP PORT TTL LOOP`.
    Mcast {
        dev: String,
        group: Ipv4Addr,
        port: u16,
        /// 0-4, as the original allows.
        ttl: u8,
        loop_: bool,
        line: usize,
    },
    /// `serial DEV [DEV...]`: one serial line per device, at [`HaCf::serial_baud`].
    Serial { devs: Vec<String>, line: usize },
    /// `ucast6 DEV ADDR` (3.0.6; accepted, not acted on).
    Ucast6 {
        dev: String,
        addr: String,
        line: usize,
    },
    /// `mcast6 DEV GROUP PORT HOPS LOOP` (3.0.6; accepted, not acted on).
    Mcast6 {
        dev: String,
        group: Ipv6Addr,
        port: String,
        hops: u8,
        loop_: bool,
        line: usize,
    },
}

impl Medium {
    /// The ha.cf line this medium came from.
    pub fn line(&self) -> usize {
        match self {
            Medium::Ucast { line, .. }
            | Medium::Bcast { line, .. }
            | Medium::Mcast { line, .. }
            | Medium::Serial { line, .. }
            | Medium::Ucast6 { line, .. }
            | Medium::Mcast6 { line, .. } => *line,
        }
    }

    /// The network interfaces this medium needs.
    pub fn devices(&self) -> Vec<&str> {
        match self {
            Medium::Ucast { dev, .. }
            | Medium::Mcast { dev, .. }
            | Medium::Ucast6 { dev, .. }
            | Medium::Mcast6 { dev, .. } => vec![dev.as_str()],
            Medium::Bcast { devs, .. } => devs.iter().map(String::as_str).collect(),
            Medium::Serial { .. } => vec![],
        }
    }
}

/// `ping_group NAME HOST...`: one ping node, alive while any of its hosts answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingGroup {
    pub name: String,
    pub hosts: Vec<String>,
    pub line: usize,
}

/// `respawn USER COMMAND [ARGS]` (and 3.0.6's `failfast`, same syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Respawn {
    pub user: String,
    /// The command line as written (run with `/bin/sh -c`).
    pub command: String,
    pub line: usize,
}

impl Respawn {
    /// The program: the first word of the command, an absolute path.
    pub fn program(&self) -> &str {
        split_blanks(&self.command).into_iter().next().unwrap_or("")
    }
}

/// `apiauth CLIENT [uid=U[,U...]] [gid=G[,G...]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiAuth {
    pub client: String,
    /// User names or numbers.
    pub uids: Vec<String>,
    /// Group names or numbers.
    pub gids: Vec<String>,
}

/// The entries 2.0.8 adds for clients that ha.cf does not name.
pub const DEFAULT_APIAUTH: &[(&str, &str, &str)] = &[
    ("ipfail", "hacluster", ""),
    ("ccm", "hacluster", ""),
    ("ping", "", "haclient"),
    ("lha-snmpagent", "root", ""),
    ("anon", "", "haclient"),
];

/// `stonith TYPE CONFIGFILE` (host `None`) or `stonith_host HOST TYPE PARAMS...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stonith {
    /// `*`, or the (lowercased) node the line is for; `None` for a `stonith` line.
    pub host: Option<String>,
    pub kind: String,
    /// The configuration file (`stonith`) or the parameters (`stonith_host`).
    pub params: String,
    pub line: usize,
}

/// A line of ha.cf we parse and keep but that does nothing here, and why
/// ([`not_acted_on_reason`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotActedOn {
    pub directive: String,
    pub value: String,
    pub line: usize,
    /// Why it does nothing (what the daemon does instead).
    pub reason: &'static str,
}

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
/// already behaves as the line asks (`hbgenmethod file`, `use_logd no`, ...) or acts on the
/// directive. The config test prints the reason beside every such line.
pub fn not_acted_on_reason(name: &str, value: &str) -> Option<&'static str> {
    let v = value.trim();
    let truth = parse_bool(v);
    const CRM: &str = "used only with crm on (release 2 resource management), which this daemon \
                       does not run; with crm off 2.0.8 ignores it too";
    const LOGD: &str =
        "ha_logd is not used: the daemon writes logfile, debugfile and syslog itself";
    const COMPRESS: &str = "messages are never compressed here; a v1 cluster's messages stay far \
                            below the size at which 2.0.8 compresses, and it reads them uncompressed";
    const V3: &str = "a heartbeat 3 directive (2.0.8 refuses it); heartbeat 3 features are not \
                      implemented";
    match name {
        "stonith" | "stonith_host" => Some(
            "no STONITH device is used: a dead peer is not fenced before its resources are taken",
        ),
        "hbgenmethod" => match v {
            "file" => None,
            _ => Some(
                "the generation always comes from /var/lib/heartbeat/hb_generation (method file)",
            ),
        },
        "uuidfrom" => match v {
            "file" => None,
            _ => {
                Some("the node's uuid always comes from /var/lib/heartbeat/hb_uuid (uuidfrom file)")
            }
        },
        "debug" => match v {
            "0" => None,
            _ => Some("the debug level is set with -d and changed with SIGUSR1/SIGUSR2 only"),
        },
        "use_logd" => match truth {
            Some(false) => None,
            _ => Some(LOGD),
        },
        "conn_logd_time" => Some(LOGD),
        "use_apphbd" => match truth {
            Some(false) => None,
            _ => Some("apphbd is not used: the daemon does not register with it"),
        },
        "log_badpack" => match truth {
            Some(false) => Some("bad packets are always logged (at most one line every 10 s)"),
            _ => None,
        },
        "coredumps" | "coreroot" => Some(
            "core dumps follow the system's settings (ulimit -c, kernel.core_pattern); the daemon \
             changes neither",
        ),
        "compression" | "compression_threshold" | "traditional_compression" => Some(COMPRESS),
        "record_config_changes"
        | "record_pengine_inputs"
        | "enable_config_writes"
        | "quorum_server" => Some(CRM),
        "memreserve" => {
            Some("no memory is preallocated; the daemon's memory use is small and bounded")
        }
        "syslogmsgfmt"
        | "crm_daemon_dir"
        | "crmd_spawns_pengine"
        | "pacemaker"
        | "failfast"
        | "ucast6"
        | "mcast6"
        | "ping6" => Some(V3),
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
        N,
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
    d("debug", V, None, true, N, "debug level"),
    d(
        "msgfmt",
        V,
        Some("classic"),
        true,
        A,
        "message format in the wire",
    ),
    d("use_logd", V, None, true, N, "use logging daemon"),
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
        N,
        "warn about bad packets",
    ),
    d(
        "coredumps",
        V,
        Some("true"),
        true,
        N,
        "enable Linux-HA core dumps",
    ),
    d(
        "coreroot",
        V,
        None,
        true,
        N,
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
        N,
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
        N,
        "a STONITH device: TYPE CONFIGFILE",
    ),
    d(
        "stonith_host",
        L,
        None,
        false,
        N,
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
    d306("pacemaker", V, "enable Pacemaker resource management"),
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
];

/// The syslog facility names the original knows (`none`: no syslog, 3.0.6).
pub const FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "mark", "news", "security",
    "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7", "none",
];

/// ha.cf, parsed, defaulted and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaCf {
    pub keepalive: Duration,
    pub deadtime: Duration,
    pub warntime: Duration,
    pub initdead: Duration,
    pub deadping: Duration,
    /// The `udpport` line, else 694 (or /etc/services' `ha-cluster`).
    pub udpport: u16,
    pub media: Vec<Medium>,
    /// Normal nodes, lowercased, in ha.cf order, each once.
    pub nodes: Vec<String>,
    pub auto_failback: AutoFailback,
    pub logfile: Option<PathBuf>,
    pub debugfile: Option<PathBuf>,
    /// A syslog facility name (never `none`).
    pub logfacility: Option<String>,
    pub watchdog: Option<PathBuf>,
    /// Ping nodes, as written, in order.
    pub ping: Vec<String>,
    pub ping_groups: Vec<PingGroup>,
    /// 3.0.6's IPv6 ping nodes (not acted on).
    pub ping6: Vec<String>,
    pub respawn: Vec<Respawn>,
    /// 3.0.6's `failfast` clients (not acted on).
    pub failfast: Vec<Respawn>,
    /// The `apiauth` lines (see [`HaCf::effective_apiauth`] for the built-in entries).
    pub apiauth: Vec<ApiAuth>,
    /// `stonith` and `stonith_host` lines (not acted on).
    pub stonith_host: Vec<Stonith>,
    pub msgfmt: MsgFmt,
    /// 0-255.
    pub hopfudge: u32,
    pub max_rexmit_delay: Duration,
    /// `env NAME=VALUE`: exported as `HA_NAME=VALUE`.
    pub env: Vec<(String, String)>,
    pub cluster: String,
    /// The `baud` line (else 19200), as recorded for `getparm` and scripts' `HA_baud`.
    pub baud: u32,
    /// The speed the serial lines run at: the `baud` in force at the first `serial` line
    /// (2.0.8's serial plugin reads it once, when that line loads it; a later `baud` line
    /// is recorded but does not change the speed), else 19200.
    pub serial_baud: u32,
    pub rtprio: Option<u8>,
    pub hbgenmethod: GenMethod,
    pub realtime: bool,
    /// The `debug` line (the daemon adds its `-d` count).
    pub debug: Option<u8>,
    pub use_logd: Option<bool>,
    pub conn_logd_time: Duration,
    pub use_apphbd: Option<bool>,
    pub log_badpack: bool,
    pub coredumps: bool,
    pub coreroot: Option<PathBuf>,
    pub uuidfrom: UuidFrom,
    pub compression: String,
    pub compression_threshold: u32,
    pub traditional_compression: bool,
    pub memreserve: u32,
    pub quorum_server: Option<String>,
    /// Directive -> value as written, or its default or computed value, in the original's
    /// table order: the `HA_<directive>` variables and the answers to `getparm`.
    pub recorded: Vec<(String, String)>,
    /// Lines we keep but do not act on, in file order.
    pub not_acted_on: Vec<NotActedOn>,
}

impl HaCf {
    /// The `apiauth` entries including the built-in ones 2.0.8 adds for `ipfail`, `ccm`,
    /// `ping`, `lha-snmpagent` and `anon` when ha.cf does not name them.
    pub fn effective_apiauth(&self) -> Vec<ApiAuth> {
        let mut v = self.apiauth.clone();
        for (client, uid, gid) in DEFAULT_APIAUTH {
            if !v.iter().any(|a| a.client == *client) {
                v.push(ApiAuth {
                    client: client.to_string(),
                    uids: if uid.is_empty() {
                        vec![]
                    } else {
                        vec![uid.to_string()]
                    },
                    gids: if gid.is_empty() {
                        vec![]
                    } else {
                        vec![gid.to_string()]
                    },
                });
            }
        }
        v
    }

    /// The recorded value of a directive (what `cl_status hbparameter -p NAME` answers).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.recorded
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Options of [`parse_hacf_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Resolve host names of `ucast` and `ping`/`ping_group` lines (as the original does
    /// when it reads the file). Off: only addresses are accepted there (for fuzzing and
    /// for tests that must not depend on the resolver).
    pub resolve_names: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            resolve_names: true,
        }
    }
}

/// Parses a time: a decimal number (fractions allowed) with an optional unit, none =
/// seconds, `ms`/`msec` = milliseconds, `us`/`usec` = microseconds (any case); rounded to
/// the nearest millisecond (half up). `1s` is refused, as by the original.
pub fn parse_time(s: &str) -> Option<Duration> {
    let (int, frac, scale) = time_parts(s)?;
    // Value in units of 1e-9 of the written unit, kept exact in u128.
    let int_v: u128 = if int.is_empty() {
        0
    } else {
        int.parse::<u128>().ok()?
    };
    if int.len() > 20 {
        return None;
    }
    let mut frac_v: u128 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        let digit = c.to_digit(10)? as u128;
        frac_v += digit * 10u128.pow(8 - i as u32);
    }
    let nanos_of_unit = int_v * 1_000_000_000 + frac_v;
    // milliseconds = value * 1000 / scale; rounded half up.
    let num = nanos_of_unit * 1000;
    let den = 1_000_000_000u128 * scale as u128;
    let ms = (num + den / 2) / den;
    if ms > u128::from(u32::MAX) {
        return None;
    }
    Some(Duration::from_millis(ms as u64))
}

fn fmt_ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The original's boolean words (any case): true/on/yes/y/1, false/off/no/n/0.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "y" | "1" => Some(true),
        "off" | "no" | "false" | "n" | "0" => Some(false),
        _ => None,
    }
}

fn bool_word(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn resolve_v4(name: &str) -> Option<Ipv4Addr> {
    let addrs = (name, 0u16).to_socket_addrs().ok()?;
    for a in addrs {
        if let IpAddr::V4(v4) = a.ip() {
            return Some(v4);
        }
    }
    None
}

/// Parses ha.cf text, resolving host names as the original does. Returns the
/// configuration (when there is no error) and every diagnostic, errors and warnings.
pub fn parse_hacf(text: &str, file: &str) -> (Option<HaCf>, Vec<Diagnostic>) {
    parse_hacf_with(text, file, ParseOptions::default())
}

struct Parser<'a> {
    file: &'a str,
    opts: ParseOptions,
    d: Vec<Diagnostic>,
    /// Every valid occurrence of a one-value directive: (name, value, line).
    values: Vec<(&'static str, String, usize)>,
    media: Vec<Medium>,
    nodes: Vec<String>,
    ping: Vec<String>,
    ping6: Vec<String>,
    ping_groups: Vec<PingGroup>,
    respawn: Vec<Respawn>,
    failfast: Vec<Respawn>,
    apiauth: Vec<(ApiAuth, usize)>,
    stonith: Vec<Stonith>,
    env: Vec<(String, String)>,
    not_acted_on: Vec<NotActedOn>,
    auto_failback: AutoFailback,
    auto_failback_set: bool,
    /// `udpport` in force while reading (the plugins read it at their first medium).
    udpport_now: Option<u16>,
    ucast_port: Option<(u16, usize)>,
    bcast_port: Option<(u16, usize)>,
    /// The baud rate in force at the first `serial` line, and that line.
    serial_baud: Option<(u32, usize)>,
    crm_lines: Vec<usize>,
}

impl<'a> Parser<'a> {
    fn err(&mut self, line: usize, msg: impl Into<String>) {
        self.d.push(Diagnostic::error(self.file, Some(line), msg));
    }

    fn warn(&mut self, line: usize, msg: impl Into<String>) {
        self.d.push(Diagnostic::warning(self.file, Some(line), msg));
    }

    fn last(&self, name: &str) -> Option<(&str, usize)> {
        self.values
            .iter()
            .rev()
            .find(|(k, _, _)| *k == name)
            .map(|(_, v, l)| (v.as_str(), *l))
    }

    fn resolvable(&self, host: &str) -> bool {
        host.parse::<Ipv4Addr>().is_ok() || (self.opts.resolve_names && resolve_v4(host).is_some())
    }

    fn default_port() -> u16 {
        services_udpport().unwrap_or(694)
    }

    /// Checks one value of a one-value directive; on success records it.
    fn value(&mut self, spec: &'static DirectiveSpec, v: &str, line: usize) {
        let name = spec.name;
        let checked: Result<(), String> = match name {
            "cluster" | "logfile" | "debugfile" | "coreroot" | "quorum_server"
            | "crm_daemon_dir" => Ok(()),
            "watchdog" => {
                if self.last("watchdog").is_some() {
                    Err("watchdog device multiply specified".into())
                } else {
                    Ok(())
                }
            }
            "baud" => {
                if self.last("baud").is_some() {
                    Err("baudrate multiply specified".into())
                } else {
                    match baud_rate(v) {
                        Some(b) => {
                            if let Some((first, l)) = self.serial_baud {
                                if first != b {
                                    self.warn(line, format!(
                                        "baud {b} comes after the first serial line (line {l}): the serial lines run at {first} baud, as 2.0.8's do (it reads baud once, at the first serial line); put baud above the serial lines"
                                    ));
                                }
                            }
                            Ok(())
                        }
                        None => Err(format!("invalid baudrate [{v}] (9600, 19200, 38400, 57600, 115200, 230400 or 460800)")),
                    }
                }
            }
            "hopfudge" | "debug" => match unsigned(v) {
                Some(n) if n <= 255 => Ok(()),
                _ => Err(format!("{name} '{v}': expected a number 0-255")),
            },
            "rtprio" => match unsigned(v) {
                Some(n) if (1..=99).contains(&n) => Ok(()),
                _ => Err(format!("Illegal realtime priority [{v}] (1-99)")),
            },
            "memreserve" | "compression_threshold" => match unsigned(v) {
                Some(n) if n > 0 && n <= u64::from(u32::MAX) => Ok(()),
                _ => Err(format!("{name} '{v}': expected a number above 0")),
            },
            "max_rexmit_delay" => match max_rexmit_ms(v) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "Invalid max_rexmit_delay time({v}): expected milliseconds above 0, e.g. 250"
                )),
            },
            "udpport" => match unsigned(v) {
                Some(p) if (1..=65535).contains(&p) => {
                    let p = p as u16;
                    self.udpport_now = Some(p);
                    for (used, first, medium) in [
                        (self.ucast_port, "ucast", "ucast"),
                        (self.bcast_port, "bcast", "bcast"),
                    ] {
                        if let Some((port, l)) = used {
                            if port != p {
                                self.warn(line, format!(
                                    "udpport {p} comes after the first {first} line (line {l}): the {medium} media use port {port}, as the original does; put udpport above the media lines"
                                ));
                            }
                        }
                    }
                    Ok(())
                }
                _ => Err(format!(
                    "invalid port [{v}]: udpport must be 1-65535 (the original silently wraps larger numbers)"
                )),
            },
            "keepalive" | "warntime" | "conn_logd_time" => match parse_time(v) {
                Some(t) if !t.is_zero() => Ok(()),
                Some(_) => Err(format!("{name} [{v}] is invalid: must be above 0 ms")),
                None => Err(malformed_time(name, v)),
            },
            "deadtime" | "deadping" | "initdead" => match parse_time(v) {
                Some(_) => Ok(()),
                None => Err(malformed_time(name, v)),
            },
            "logfacility" => {
                if FACILITIES.contains(&v) {
                    Ok(())
                } else {
                    Err(format!("Log facility({v}) not valid (daemon, local0-local7, ..., or none)"))
                }
            }
            "auto_failback" => {
                let a = match parse_bool(v) {
                    Some(true) => Some(AutoFailback::On),
                    Some(false) => Some(AutoFailback::Off),
                    None if v.eq_ignore_ascii_case("legacy") => Some(AutoFailback::Legacy),
                    None => None,
                };
                match a {
                    Some(a) => {
                        self.auto_failback = a;
                        self.auto_failback_set = true;
                        Ok(())
                    }
                    None => Err(format!("auto_failback '{v}': must be on, off or legacy")),
                }
            }
            "nice_failback" => match parse_bool(v) {
                Some(_) => {
                    // The original looks at its current nice_failback flag, which only an
                    // earlier `auto_failback on|off` has set: then `off`, else `legacy`.
                    let now = match self.auto_failback {
                        AutoFailback::On | AutoFailback::Off if self.auto_failback_set => {
                            AutoFailback::Off
                        }
                        _ => AutoFailback::Legacy,
                    };
                    self.auto_failback = now;
                    self.auto_failback_set = true;
                    self.warn(line, format!(
                        "nice_failback is obsolete: 'nice_failback {v}' is read as 'auto_failback {}', as the original does; write auto_failback on, off or legacy",
                        now.as_str()
                    ));
                    Ok(())
                }
                None => Err(format!("nice_failback '{v}': expected on or off (better: auto_failback)")),
            },
            "realtime" | "log_badpack" | "coredumps" | "traditional_compression"
            | "record_config_changes" | "record_pengine_inputs" | "enable_config_writes"
            | "use_logd" | "use_apphbd" | "syslogmsgfmt" | "crmd_spawns_pengine" => {
                match parse_bool(v) {
                    Some(_) => Ok(()),
                    None => Err(format!("{name} '{v}': expected on or off (yes/no, true/false, y/n, 1/0)")),
                }
            }
            "hbgenmethod" => match v {
                "file" | "time" => Ok(()),
                _ => Err(format!("Illegal hb generation method [{v}] (file or time)")),
            },
            "msgfmt" => match v {
                "classic" | "netstring" => Ok(()),
                _ => Err(format!("msgfmt '{v}': must be classic or netstring")),
            },
            "uuidfrom" => match v {
                "file" | "nodename" => Ok(()),
                _ => Err(format!("Invalid uuidfrom directive [{v}] (file or nodename)")),
            },
            "autojoin" => match v.to_ascii_lowercase().as_str() {
                "none" => Ok(()),
                "other" | "any" => Err(format!(
                    "autojoin {v}: R1 style resource management (haresources) conflicts with autojoin; the original refuses it too"
                )),
                _ => Err(format!("Invalid autojoin directive [{v}] (none, other or any)")),
            },
            "compression" => match v {
                "zlib" | "bz2" => Ok(()),
                _ => Err(format!("Compression module({v}) not found (zlib or bz2)")),
            },
            "crm" | "pacemaker" => {
                self.crm_lines.push(line);
                let off = parse_bool(v) == Some(false);
                let known = parse_bool(v).is_some()
                    || ["manual", "minimal", "respawn", "ccm-only", "valgrind"]
                        .iter()
                        .any(|w| v.eq_ignore_ascii_case(w))
                        && (name == "pacemaker" || v.eq_ignore_ascii_case("manual"));
                if self.crm_lines.len() > 1 {
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
            _ => Ok(()),
        };
        match checked {
            Ok(()) => {
                if let Some((prev, pl)) = self.last(name) {
                    if prev != v && !["nice_failback", "auto_failback"].contains(&name) {
                        let prev = prev.to_string();
                        self.warn(line, format!(
                            "{name} set again (first '{prev}' on line {pl}): the last value, '{v}', counts"
                        ));
                    }
                }
                self.values.push((name, v.to_string(), line));
            }
            Err(m) => self.err(line, m),
        }
    }

    fn list_value(&mut self, name: &'static str, v: &str, line: usize) {
        match name {
            "node" => {
                let n = v.to_lowercase();
                if self.nodes.contains(&n) {
                    self.warn(line, format!("node '{n}' listed twice; kept once"));
                } else {
                    self.nodes.push(n);
                }
            }
            "env" => match v.split_once('=') {
                Some((k, val)) if !k.is_empty() => self.env.push((k.to_string(), val.to_string())),
                _ => self.err(
                    line,
                    format!(
                        "env '{v}': expected NAME=VALUE (values cannot contain blanks or commas)"
                    ),
                ),
            },
            "ping" => {
                if self.resolvable(v) {
                    self.ping.push(v.to_string());
                } else {
                    self.err(line, format!("ping: unknown host '{v}'"));
                }
            }
            "ping6" => self.ping6.push(v.to_string()),
            "serial" => {
                if self.serial_baud.is_none() {
                    let b = self
                        .last("baud")
                        .and_then(|(b, _)| baud_rate(b))
                        .unwrap_or(DEFAULT_BAUD);
                    self.serial_baud = Some((b, line));
                }
                if !v.starts_with('/') {
                    self.err(
                        line,
                        format!("Serial port not full pathname [{v}]: write e.g. /dev/ttyS0"),
                    );
                } else if let Some(Medium::Serial { devs, line: l }) = self.media.last_mut() {
                    if *l == line {
                        devs.push(v.to_string());
                        return;
                    }
                    self.media.push(Medium::Serial {
                        devs: vec![v.to_string()],
                        line,
                    });
                } else {
                    self.media.push(Medium::Serial {
                        devs: vec![v.to_string()],
                        line,
                    });
                }
            }
            "bcast" => {
                let port = match self.bcast_port {
                    Some((p, _)) => p,
                    None => {
                        let p = self.udpport_now.unwrap_or_else(Self::default_port);
                        self.bcast_port = Some((p, line));
                        p
                    }
                };
                if let Some(Medium::Bcast { devs, line: l, .. }) = self.media.last_mut() {
                    if *l == line {
                        devs.push(v.to_string());
                        return;
                    }
                }
                self.media.push(Medium::Bcast {
                    devs: vec![v.to_string()],
                    port,
                    line,
                });
            }
            _ => {}
        }
    }

    fn whole_line(&mut self, name: &'static str, rest: &str, line: usize) {
        let w = split_blanks(rest);
        match name {
            "ucast" => match (w.first(), w.get(1), w.len()) {
                (None, _, _) => self.err(
                    line,
                    "ucast: missing device and address: 'ucast DEV ADDRESS'",
                ),
                (Some(dev), None, _) => self.err(
                    line,
                    format!("ucast: [{dev}] missing target IP address/hostname"),
                ),
                (Some(dev), Some(host), n) => {
                    if n > 2 {
                        self.err(line, format!(
                            "ucast {dev}: one address per line (the original ignores '{}'): write one ucast line per address",
                            w[2..].join(" ")
                        ));
                        return;
                    }
                    let (addr, name) = match host.parse::<Ipv4Addr>() {
                        Ok(a) => (Some(a), None),
                        Err(_) => (
                            if self.opts.resolve_names {
                                resolve_v4(host)
                            } else {
                                None
                            },
                            Some(host.to_string()),
                        ),
                    };
                    let Some(addr) = addr else {
                        self.err(line, format!("ucast: cannot resolve hostname '{host}'"));
                        return;
                    };
                    let port = match self.ucast_port {
                        Some((p, _)) => p,
                        None => {
                            let p = self.udpport_now.unwrap_or_else(Self::default_port);
                            self.ucast_port = Some((p, line));
                            p
                        }
                    };
                    self.media.push(Medium::Ucast {
                        dev: dev.to_string(),
                        addr: IpAddr::V4(addr),
                        host: name,
                        port,
                        line,
                    });
                }
            },
            "mcast" => {
                let Some(dev) = w.first() else {
                    self.err(
                        line,
                        "mcast: missing device: 'mcast DEV GROUP PORT TTL LOOP'",
                    );
                    return;
                };
                let field = |i: usize, what: &str| -> Result<&str, String> {
                    w.get(i)
                        .copied()
                        .ok_or_else(|| format!("mcast [{dev}] missing {what}"))
                };
                let r = (|| -> Result<Medium, String> {
                    let g = field(1, "mcast address")?;
                    let group = g
                        .parse::<Ipv4Addr>()
                        .ok()
                        .filter(Ipv4Addr::is_multicast)
                        .ok_or_else(|| format!("mcast [{dev}] bad addr [{g}]: a multicast address 224.0.0.0-239.255.255.255"))?;
                    let p = field(2, "port")?;
                    let port = unsigned(p)
                        .filter(|p| (1..=65535).contains(p))
                        .ok_or_else(|| format!("mcast [{dev}] bad port [{p}]: 1-65535"))?
                        as u16;
                    let t = field(3, "ttl")?;
                    let ttl = unsigned(t)
                        .filter(|t| *t <= 4)
                        .ok_or_else(|| format!("mcast [{dev}] bad ttl [{t}]: 0-4"))?
                        as u8;
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
                    Ok(Medium::Mcast {
                        dev: dev.to_string(),
                        group,
                        port,
                        ttl,
                        loop_,
                        line,
                    })
                })();
                match r {
                    Ok(m) => self.media.push(m),
                    Err(e) => self.err(line, e),
                }
            }
            "ucast6" => match (w.first(), w.get(1)) {
                (None, _) => self.err(line, "ucast6 statement without device"),
                (Some(dev), None) => {
                    self.err(line, format!("ucast6 [{dev}] missing ucast6 address"))
                }
                (Some(dev), Some(a)) => {
                    let bare = a.split('%').next().unwrap_or("");
                    match bare.parse::<Ipv6Addr>() {
                        Ok(ip)
                            if !ip.is_multicast() && !ip.is_unspecified() && !ip.is_loopback() =>
                        {
                            self.media.push(Medium::Ucast6 {
                                dev: dev.to_string(),
                                addr: a.to_string(),
                                line,
                            })
                        }
                        _ => self.err(line, format!("ucast6 [{dev}] bad addr [{a}]")),
                    }
                }
            },
            "mcast6" => {
                let Some(dev) = w.first() else {
                    self.err(line, "mcast6 statement without device");
                    return;
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
                    (Some(group), Some(port), Some(hops), Some(loop_)) => self.media.push(Medium::Mcast6 {
                        dev: dev.to_string(),
                        group,
                        port: port.to_string(),
                        hops: hops as u8,
                        loop_,
                        line,
                    }),
                    _ => self.err(line, format!(
                        "mcast6 [{dev}]: expected 'mcast6 DEV GROUP PORT HOPS LOOP' with an IPv6 multicast GROUP, HOPS 0-4 and LOOP 0 or 1"
                    )),
                }
            }
            "ping_group" => match w.split_first() {
                None => self.err(
                    line,
                    "ping_group: missing name and hosts: 'ping_group NAME HOST...'",
                ),
                Some((_, [])) => self.err(line, "ping_group: no hosts: 'ping_group NAME HOST...'"),
                Some((name, hosts)) => {
                    let bad: Vec<&str> = hosts
                        .iter()
                        .copied()
                        .filter(|h| !self.resolvable(h))
                        .collect();
                    if bad.is_empty() {
                        self.ping_groups.push(PingGroup {
                            name: name.to_string(),
                            hosts: hosts.iter().map(|h| h.to_string()).collect(),
                            line,
                        });
                    } else {
                        self.err(
                            line,
                            format!("ping_group {name}: unknown host(s) {}", bad.join(" ")),
                        );
                    }
                }
            },
            "respawn" | "failfast" => {
                let Some(user) = w.first() else {
                    self.err(line, format!("{name}: missing user and command: '{name} USER /path/to/program [ARGS]'"));
                    return;
                };
                let command = rest
                    .trim_start_matches(is_blank)
                    .get(user.len()..)
                    .unwrap_or("")
                    .trim_matches(is_blank)
                    .to_string();
                if command.is_empty() {
                    self.err(
                        line,
                        format!("{name} {user}: missing command (a full path)"),
                    );
                } else if !command.starts_with('/') {
                    self.err(
                        line,
                        format!("Client child command [{command}] is not full pathname"),
                    );
                } else {
                    let r = Respawn {
                        user: user.to_string(),
                        command,
                        line,
                    };
                    if name == "respawn" {
                        self.respawn.push(r);
                    } else {
                        self.failfast.push(r);
                    }
                }
            }
            "apiauth" => {
                let Some((client, specs)) = w.split_first() else {
                    self.err(
                        line,
                        "Invalid apiauth directive: 'apiauth CLIENT uid=U,... gid=G,...'",
                    );
                    return;
                };
                let mut a = ApiAuth {
                    client: client.to_string(),
                    uids: vec![],
                    gids: vec![],
                };
                let (mut seen_uid, mut seen_gid) = (false, false);
                for s in specs {
                    let (list, seen, key) = if let Some(l) = s.strip_prefix("uid=") {
                        (l, &mut seen_uid, "uid")
                    } else if let Some(l) = s.strip_prefix("gid=") {
                        (l, &mut seen_gid, "gid")
                    } else {
                        self.err(line, format!("Missing uid or gid in apiauth: '{s}' (expected uid=LIST or gid=LIST)"));
                        return;
                    };
                    if *seen {
                        self.err(line, format!("Duplicate {key} list in apiauth"));
                        return;
                    }
                    *seen = true;
                    let items: Vec<String> = list
                        .split(',')
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect();
                    if items.is_empty() {
                        self.err(line, format!("apiauth {client}: empty {key} list"));
                        return;
                    }
                    if key == "uid" {
                        a.uids = items;
                    } else {
                        a.gids = items;
                    }
                }
                if !seen_uid && !seen_gid {
                    self.err(
                        line,
                        format!(
                            "Invalid apiauth directive [{}]: give uid=LIST and/or gid=LIST",
                            rest
                        ),
                    );
                    return;
                }
                if let Some((_, pl)) = self.apiauth.iter().find(|(x, _)| x.client == a.client) {
                    let pl = *pl;
                    self.err(line, format!("Duplicate apiauth directive for API client {client} (first on line {pl})"));
                    return;
                }
                self.apiauth.push((a, line));
            }
            "stonith" => match w.first() {
                None => self.err(line, "No Stonith type given: 'stonith TYPE CONFIGFILE'"),
                Some(kind) => {
                    let params = rest
                        .trim_start_matches(is_blank)
                        .get(kind.len()..)
                        .unwrap_or("")
                        .trim_matches(is_blank);
                    if params.is_empty() {
                        self.err(line, format!("stonith {kind}: missing configuration file"));
                    } else {
                        self.stonith.push(Stonith {
                            host: None,
                            kind: kind.to_string(),
                            params: params.to_string(),
                            line,
                        });
                    }
                }
            },
            "stonith_host" => match (w.first(), w.get(1)) {
                (None, _) => self.err(
                    line,
                    "No Stonith hostname argument given: 'stonith_host HOST TYPE PARAMS'",
                ),
                (Some(_), None) => self.err(
                    line,
                    "No Stonith type given: 'stonith_host HOST TYPE PARAMS'",
                ),
                (Some(host), Some(kind)) => {
                    let after_host = rest
                        .trim_start_matches(is_blank)
                        .get(host.len()..)
                        .unwrap_or("");
                    let after_type = after_host
                        .trim_start_matches(is_blank)
                        .get(kind.len()..)
                        .unwrap_or("");
                    self.stonith.push(Stonith {
                        host: Some(host.to_lowercase()),
                        kind: kind.to_string(),
                        params: after_type.trim_matches(is_blank).to_string(),
                        line,
                    });
                }
            },
            _ => {}
        }
    }
}

fn malformed_time(name: &str, v: &str) -> String {
    format!("{name}: malformed time '{v}' (seconds, or a number with ms or us: 30, 1.5, 200ms)")
}

/// `max_rexmit_delay`: milliseconds as a plain number (the original reads it with atoi, so
/// `250ms` is 250 too).
/// The serial speed when `baud` names none.
pub const DEFAULT_BAUD: u32 = 19200;

/// A `baud` value as 2.0.8 reads it (C's `atoi`: the leading number, the rest ignored),
/// if it is one of the speeds it accepts.
pub fn baud_rate(v: &str) -> Option<u32> {
    match scan_int(v)?.0 {
        b @ (9600 | 19200 | 38400 | 57600 | 115200 | 230400 | 460800) => Some(b as u32),
        _ => None,
    }
}

fn max_rexmit_ms(v: &str) -> Option<u64> {
    let digits = v.strip_suffix("ms").unwrap_or(v);
    unsigned(digits).filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
}

/// [`parse_hacf`] with options.
pub fn parse_hacf_with(
    text: &str,
    file: &str,
    opts: ParseOptions,
) -> (Option<HaCf>, Vec<Diagnostic>) {
    finish(read_lines(text, file, opts))
}

/// The `auto_failback` mode ha.cf sets (`legacy` when it sets none), read without resolving
/// any name and whatever errors the file has: for hb_standby's warning, which must never
/// wait for a name service.
pub fn auto_failback_of(text: &str) -> AutoFailback {
    read_lines(
        text,
        "ha.cf",
        ParseOptions {
            resolve_names: false,
        },
    )
    .auto_failback
}

/// Reads every line of ha.cf into the parser's state.
fn read_lines<'a>(text: &str, file: &'a str, opts: ParseOptions) -> Parser<'a> {
    let mut p = Parser {
        file,
        opts,
        d: Vec::new(),
        values: Vec::new(),
        media: Vec::new(),
        nodes: Vec::new(),
        ping: Vec::new(),
        ping6: Vec::new(),
        ping_groups: Vec::new(),
        respawn: Vec::new(),
        failfast: Vec::new(),
        apiauth: Vec::new(),
        stonith: Vec::new(),
        env: Vec::new(),
        not_acted_on: Vec::new(),
        auto_failback: AutoFailback::Legacy,
        auto_failback_set: false,
        udpport_now: None,
        serial_baud: None,
        ucast_port: None,
        bcast_port: None,
        crm_lines: Vec::new(),
    };
    for l in hacf_lines(text) {
        let mut name = l.directive;
        if name == "udp" {
            p.warn(
                l.number,
                "directive 'udp' is the old name of 'bcast'; read as bcast",
            );
            name = "bcast";
        }
        let Some(spec) = directive(name) else {
            p.err(l.number, format!("unknown directive '{name}'"));
            continue;
        };
        let errors_before = p.d.iter().filter(|x| x.is_error()).count();
        match spec.shape {
            Shape::Value => {
                let vals = split_delims(l.rest);
                match vals.as_slice() {
                    [] => p.err(l.number, format!("{name}: missing value")),
                    [v] => p.value(spec, v, l.number),
                    many => p.err(l.number, format!(
                        "{name} takes one value, got {}: {} (blanks and commas separate values; the original would keep only '{}')",
                        many.len(),
                        many.join(" "),
                        many.last().copied().unwrap_or("")
                    )),
                }
            }
            Shape::Values => {
                let vals = split_delims(l.rest);
                if vals.is_empty() {
                    p.err(l.number, format!("{name}: missing value"));
                }
                for v in vals {
                    p.list_value(spec.name, v, l.number);
                }
            }
            Shape::Line => p.whole_line(spec.name, l.rest, l.number),
        }
        let errors_after = p.d.iter().filter(|x| x.is_error()).count();
        let reason = match spec.support {
            Support::ActedOn => None,
            Support::NotActedOn => not_acted_on_reason(spec.name, l.rest),
        };
        if let (Some(reason), true) = (reason, errors_after == errors_before) {
            p.not_acted_on.push(NotActedOn {
                directive: spec.name.to_string(),
                value: l.rest.to_string(),
                line: l.number,
                reason,
            });
        }
    }
    p
}

fn finish(mut p: Parser<'_>) -> (Option<HaCf>, Vec<Diagnostic>) {
    let file = p.file;
    let time = |p: &Parser<'_>, k: &str| p.last(k).and_then(|(v, l)| parse_time(v).map(|t| (t, l)));
    let keepalive = time(&p, "keepalive")
        .map(|x| x.0)
        .unwrap_or(Duration::from_secs(1));
    let deadtime_l = time(&p, "deadtime");
    let deadtime = deadtime_l.map(|x| x.0).unwrap_or(Duration::from_secs(30));
    let warntime_l = time(&p, "warntime");
    let warntime = warntime_l.map(|x| x.0).unwrap_or(deadtime / 2);
    let initdead_l = time(&p, "initdead");
    let initdead = initdead_l
        .map(|x| x.0)
        .unwrap_or(if deadtime > Duration::from_secs(10) {
            deadtime
        } else if deadtime < Duration::from_secs(6) {
            Duration::from_secs(12)
        } else {
            deadtime * 2
        });
    let deadping_l = time(&p, "deadping");
    let deadping = deadping_l.map(|x| x.0).unwrap_or(deadtime);

    // The original's checks, in its order.
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
    if deadtime <= keepalive * 2 {
        p.d.push(Diagnostic::error(
            file,
            deadtime_l.map(|x| x.1).or(p.last("keepalive").map(|x| x.1)),
            format!(
                "Dead time [{}] is too small compared to keeplive [{}]: deadtime must exceed 2 x keepalive",
                deadtime.as_millis(),
                keepalive.as_millis()
            ),
        ));
    }
    if initdead < deadtime {
        p.d.push(Diagnostic::error(
            file,
            initdead_l.map(|x| x.1),
            format!(
                "Initial dead time [{}] is smaller than deadtime [{}]",
                initdead.as_millis(),
                deadtime.as_millis()
            ),
        ));
    } else {
        if initdead < Duration::from_secs(10) {
            p.d.push(Diagnostic::warning(
                file,
                initdead_l.map(|x| x.1),
                format!(
                    "Initial dead time [{} ms] may be too small! It accounts for slow network startup and should be >= deadtime and >= 10 seconds",
                    initdead.as_millis()
                ),
            ));
        }
        if let Some((_, l)) = initdead_l {
            if initdead < deadtime * 2 {
                p.d.push(Diagnostic::warning(
                    file,
                    Some(l),
                    format!(
                        "initdead [{} ms] is below twice deadtime [{} ms]: it should be at least twice the dead time",
                        initdead.as_millis(),
                        deadtime.as_millis()
                    ),
                ));
            }
        }
    }
    if let Some((dp, l)) = deadping_l {
        if dp <= keepalive * 2 {
            p.d.push(Diagnostic::error(
                file,
                Some(l),
                format!(
                    "Ping dead time [{}] is too small compared to keeplive [{}]",
                    dp.as_millis(),
                    keepalive.as_millis()
                ),
            ));
        }
    }
    if let Some((_, l)) = warntime_l {
        if warntime >= deadtime {
            p.d.push(Diagnostic::warning(
                file,
                Some(l),
                format!(
                    "warntime [{} ms] is not below deadtime [{} ms]: late heartbeats will never be reported",
                    warntime.as_millis(),
                    deadtime.as_millis()
                ),
            ));
        }
    }
    let logfacility = p
        .last("logfacility")
        .map(|(v, _)| v.to_string())
        .filter(|v| v != "none");
    let any_log =
        p.last("logfile").is_some() || p.last("debugfile").is_some() || logfacility.is_some();
    let use_logd = p.last("use_logd").and_then(|(v, _)| parse_bool(v));
    if !any_log && use_logd == Some(false) {
        let l = p.last("use_logd").map(|x| x.1);
        p.d.push(Diagnostic::error(file, l, "No log entry found in ha.cf and use_logd is set to off: add a logfile, debugfile or logfacility"));
    }
    let udpport = p
        .last("udpport")
        .and_then(|(v, _)| unsigned(v))
        .map(|v| v as u16)
        .unwrap_or_else(Parser::default_port);

    // Recorded parameters: as written, else the default or the computed value.
    let mut recorded = Vec::new();
    for spec in DIRECTIVES.iter().filter(|s| s.recorded) {
        let k = spec.name;
        let v = match (p.last(k), k) {
            (Some((v, _)), _) => v.to_string(),
            (None, "warntime") => fmt_ms(warntime),
            (None, "initdead") => fmt_ms(initdead),
            (None, "deadping") => fmt_ms(deadping),
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

    if p.d.iter().any(|x| x.severity == Severity::Error) {
        return (None, p.d);
    }
    let s = |p: &Parser<'_>, k: &str| p.last(k).map(|(v, _)| v.to_string());
    let b = |p: &Parser<'_>, k: &str, def: bool| {
        p.last(k).and_then(|(v, _)| parse_bool(v)).unwrap_or(def)
    };
    let n =
        |p: &Parser<'_>, k: &str, def: u64| p.last(k).and_then(|(v, _)| unsigned(v)).unwrap_or(def);
    let cfg = HaCf {
        keepalive,
        deadtime,
        warntime,
        initdead,
        deadping,
        udpport,
        nodes: std::mem::take(&mut p.nodes),
        auto_failback: p.auto_failback,
        logfile: s(&p, "logfile").map(PathBuf::from),
        debugfile: s(&p, "debugfile").map(PathBuf::from),
        logfacility,
        watchdog: s(&p, "watchdog").map(PathBuf::from),
        msgfmt: if s(&p, "msgfmt").as_deref() == Some("netstring") {
            MsgFmt::Netstring
        } else {
            MsgFmt::Classic
        },
        hopfudge: n(&p, "hopfudge", 1) as u32,
        max_rexmit_delay: Duration::from_millis(
            p.last("max_rexmit_delay")
                .and_then(|(v, _)| max_rexmit_ms(v))
                .unwrap_or(250),
        ),
        cluster: s(&p, "cluster").unwrap_or_else(|| "linux-ha".into()),
        baud: p
            .last("baud")
            .and_then(|(b, _)| baud_rate(b))
            .unwrap_or(DEFAULT_BAUD),
        serial_baud: p.serial_baud.map_or(DEFAULT_BAUD, |(b, _)| b),
        rtprio: p
            .last("rtprio")
            .and_then(|(v, _)| unsigned(v))
            .map(|v| v as u8),
        hbgenmethod: if s(&p, "hbgenmethod").as_deref() == Some("time") {
            GenMethod::Time
        } else {
            GenMethod::File
        },
        realtime: b(&p, "realtime", true),
        debug: p
            .last("debug")
            .and_then(|(v, _)| unsigned(v))
            .map(|v| v as u8),
        use_logd,
        conn_logd_time: p
            .last("conn_logd_time")
            .and_then(|(v, _)| parse_time(v))
            .unwrap_or(Duration::from_secs(60)),
        use_apphbd: p.last("use_apphbd").and_then(|(v, _)| parse_bool(v)),
        log_badpack: b(&p, "log_badpack", true),
        coredumps: b(&p, "coredumps", true),
        coreroot: s(&p, "coreroot").map(PathBuf::from),
        uuidfrom: if s(&p, "uuidfrom").as_deref() == Some("nodename") {
            UuidFrom::NodeName
        } else {
            UuidFrom::File
        },
        compression: s(&p, "compression").unwrap_or_else(|| "zlib".into()),
        compression_threshold: n(&p, "compression_threshold", 2) as u32,
        traditional_compression: b(&p, "traditional_compression", false),
        memreserve: n(&p, "memreserve", 6500) as u32,
        quorum_server: s(&p, "quorum_server"),
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
    };
    (Some(cfg), p.d)
}

/// The `ha-cluster` udp port of /etc/services, which the original uses when ha.cf has no
/// udpport.
fn services_udpport() -> Option<u16> {
    static PORT: std::sync::OnceLock<Option<u16>> = std::sync::OnceLock::new();
    *PORT.get_or_init(read_services_udpport)
}

fn read_services_udpport() -> Option<u16> {
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

/// Writes `cfg` back as ha.cf text: parsing it gives the same configuration (the
/// round-trip property the tests check).
pub fn render_hacf(cfg: &HaCf) -> String {
    let mut s = String::new();
    let computed = |k: &str, v: &str| match k {
        "warntime" => v == fmt_ms(cfg.deadtime / 2),
        "deadping" => v == fmt_ms(cfg.deadtime),
        "debug" => v == "0" && cfg.debug.is_none(),
        "use_logd" => v == "yes" && cfg.use_logd.is_none(),
        _ => false,
    };
    let push = |s: &mut String, k: &str, v: &str| {
        s.push_str(k);
        s.push(' ');
        s.push_str(v);
        s.push('\n');
    };
    // A baud line that came after the first serial line does not set the serial speed:
    // it is written after the media so that it still does not.
    let has_serial = cfg.media.iter().any(|m| matches!(m, Medium::Serial { .. }));
    let late_baud = has_serial && cfg.serial_baud != cfg.baud;
    for (k, v) in &cfg.recorded {
        // A default value is written out only for a line kept as not acted on.
        let kept = cfg.not_acted_on.iter().any(|n| &n.directive == k);
        let is_default = directive(k).and_then(|sp| sp.default) == Some(v.as_str());
        if (is_default || computed(k, v)) && !kept || k == "udpport" || k == "baud" && late_baud {
            continue;
        }
        push(&mut s, k, v);
    }
    // nice_failback after `auto_failback on|off` turns it off without being recorded.
    let implied = match cfg.parameter("auto_failback").map(parse_bool) {
        Some(Some(true)) => AutoFailback::On,
        Some(Some(false)) => AutoFailback::Off,
        _ => AutoFailback::Legacy,
    };
    if implied != cfg.auto_failback {
        if cfg.parameter("auto_failback").is_none() {
            push(&mut s, "auto_failback", cfg.auto_failback.as_str());
        } else {
            push(&mut s, "nice_failback", "on");
        }
    }
    if let Some(b) = cfg.use_apphbd {
        push(&mut s, "use_apphbd", bool_word(b));
    }
    for n in &cfg.nodes {
        push(&mut s, "node", n);
    }
    // The ucast and bcast media take the udpport in force at their first line.
    let port_text = |p: u16| match cfg.parameter("udpport") {
        Some(v) if unsigned(v) == Some(u64::from(p)) => v.to_string(),
        _ => p.to_string(),
    };
    let mut port_now: Option<u16> = None;
    let (mut ucast_seen, mut bcast_seen) = (false, false);
    for m in &cfg.media {
        let first_port = match m {
            Medium::Ucast { port, .. } if !ucast_seen => {
                ucast_seen = true;
                Some(*port)
            }
            Medium::Bcast { port, .. } if !bcast_seen => {
                bcast_seen = true;
                Some(*port)
            }
            _ => None,
        };
        if let Some(p) = first_port {
            if port_now != Some(p) {
                push(&mut s, "udpport", &port_text(p));
                port_now = Some(p);
            }
        }
        match m {
            Medium::Ucast {
                dev, addr, host, ..
            } => {
                let h = host.clone().unwrap_or_else(|| addr.to_string());
                s.push_str(&format!("ucast {dev} {h}\n"));
            }
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
            Medium::Ucast6 { dev, addr, .. } => s.push_str(&format!("ucast6 {dev} {addr}\n")),
            Medium::Mcast6 {
                dev,
                group,
                port,
                hops,
                loop_,
                ..
            } => s.push_str(&format!(
                "mcast6 {dev} {group} {port} {hops} {}\n",
                u8::from(*loop_)
            )),
        }
    }
    if let (true, Some(v)) = (late_baud, cfg.parameter("baud")) {
        push(&mut s, "baud", v);
    }
    let explicit_port = cfg
        .parameter("udpport")
        .map(|v| v != "694")
        .unwrap_or(false)
        || port_now.is_some();
    if port_now != Some(cfg.udpport) && explicit_port {
        push(&mut s, "udpport", &port_text(cfg.udpport));
    }
    for p in &cfg.ping {
        push(&mut s, "ping", p);
    }
    for p in &cfg.ping6 {
        push(&mut s, "ping6", p);
    }
    for g in &cfg.ping_groups {
        s.push_str(&format!("ping_group {} {}\n", g.name, g.hosts.join(" ")));
    }
    for r in &cfg.respawn {
        s.push_str(&format!("respawn {} {}\n", r.user, r.command));
    }
    for r in &cfg.failfast {
        s.push_str(&format!("failfast {} {}\n", r.user, r.command));
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
    for st in &cfg.stonith_host {
        match &st.host {
            None => s.push_str(&format!("stonith {} {}\n", st.kind, st.params)),
            Some(h) => s.push_str(&format!("stonith_host {h} {} {}\n", st.kind, st.params)),
        }
    }
    for (k, v) in &cfg.env {
        s.push_str(&format!("env {k}={v}\n"));
    }
    s
}
