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

mod directives;
mod finish;
mod parser;
mod render;
mod table;
mod values;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::diag::Diagnostic;
use crate::lines::split_blanks;
use crate::resolver::{NoResolver, Resolver};

pub use render::render_hacf;
pub use table::{
    directive, not_acted_on_reason, DirectiveSpec, Shape, Support, ACTED_ON, DEFAULTS, DIRECTIVES,
    OTHER_DIRECTIVES,
};
pub use values::{parse_bool, parse_time};

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
    /// `stonith` and `stonith_host` lines, in file order (see [`HaCf::stonith_for`]).
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
    /// The `debug` line: the daemon's debug level, in place of its `-d` count (as 2.0.8).
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

    /// The STONITH device this node resets its peers with: the last `stonith` line, or
    /// `stonith_host` line for `*` or `me`, as the original keeps the last one it reads
    /// (lines for other hosts it skips).
    pub fn stonith_for(&self, me: &str) -> Option<&Stonith> {
        self.stonith_host.iter().rev().find(|s| match &s.host {
            None => true,
            Some(h) => h == "*" || h.eq_ignore_ascii_case(me),
        })
    }

    /// The recorded value of a directive (what `cl_status hbparameter -p NAME` answers).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.recorded
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses ha.cf text. Host names (`ucast`, `ping`, `ping_group`) and the port when no
/// `udpport` line names one (the `ha-cluster` service) are asked of `resolver`, and of
/// nothing else: parsing reads nothing from the host. The daemon passes
/// [`crate::SystemResolver`], as the original asks the system. Returns the configuration
/// (when there is no error) and every diagnostic, errors and warnings.
pub fn parse_hacf(
    text: &str,
    file: &str,
    resolver: &dyn Resolver,
) -> (Option<HaCf>, Vec<Diagnostic>) {
    finish::finish(parser::read_lines(text, file, resolver))
}

/// The `auto_failback` mode ha.cf sets (`legacy` when it sets none), read without resolving
/// any name and whatever errors the file has: for hb_standby's warning, which must never
/// wait for a name service.
pub fn auto_failback_of(text: &str) -> AutoFailback {
    parser::read_lines(text, "ha.cf", &NoResolver).auto_failback
}
