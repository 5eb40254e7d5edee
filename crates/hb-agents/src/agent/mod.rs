//! The four agents and what they share: the v1 wrapper's argument forms, its action
//! dispatch and the status lines it prints, OCF exit statuses, and the run context.
//!
//! heartbeat's v1 scripts in /etc/ha.d/resource.d are wrappers: they split the
//! haresources argument into OCF parameters, run the OCF agent (mapping `status` to the
//! agent's `monitor`) and print one line on stdout for the outcome, which is what
//! ResourceManager reads to decide whether a resource is held:
//!
//! | status | line |
//! |---|---|
//! | 0 | `INFO:  Success` (`INFO:  Running OK` for status/monitor) |
//! | 1 | `ERROR:  Generic error` |
//! | 2 | `ERROR:  Illegal argument` |
//! | 3 | `ERROR:  Function unimplemented` |
//! | 4 | `ERROR:  User had insufficient privilege` |
//! | 5 | `ERROR:  Program is not installed` |
//! | 6 | `ERROR:  Program is not configured` |
//! | 7 | `INFO:  Resource is stopped` |
//!
//! (two blanks: the wrapper's resource-type variable is empty). The same line is logged.
//! SendArp's wrapper stops at the first failing command, so it prints only on success.
//! Wrong argument count: a usage line and status 1; an unknown action: `ERROR: Unknown
//! operation: X`, the usage line, status 1.

pub mod ipaddr;
pub mod ipaddr2;
pub mod ipsrcaddr;
pub mod sendarp;

use crate::findif::Snapshot;
use crate::log::Logger;
use crate::netlink::{Netlink, NlError};
use crate::state::StateDir;

/// OCF exit statuses.
pub const OCF_SUCCESS: i32 = 0;
pub const OCF_ERR_GENERIC: i32 = 1;
pub const OCF_ERR_ARGS: i32 = 2;
pub const OCF_ERR_UNIMPLEMENTED: i32 = 3;
pub const OCF_ERR_PERM: i32 = 4;
pub const OCF_ERR_INSTALLED: i32 = 5;
pub const OCF_ERR_CONFIGURED: i32 = 6;
pub const OCF_NOT_RUNNING: i32 = 7;

/// The agents of the multi-call program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    IPaddr,
    IPaddr2,
    IPsrcaddr,
    SendArp,
}

impl Agent {
    pub fn from_name(name: &str) -> Option<Agent> {
        Some(match name {
            "IPaddr" => Agent::IPaddr,
            "IPaddr2" => Agent::IPaddr2,
            "IPsrcaddr" => Agent::IPsrcaddr,
            "SendArp" => Agent::SendArp,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Agent::IPaddr => "IPaddr",
            Agent::IPaddr2 => "IPaddr2",
            Agent::IPsrcaddr => "IPsrcaddr",
            Agent::SendArp => "SendArp",
        }
    }

    /// The argument form, for the usage line.
    fn form(self) -> &'static str {
        match self {
            Agent::IPaddr => "ADDR[/BITS[/IFACE[/BROADCAST]]]",
            Agent::IPaddr2 => "ADDR[/BITS[/IFACE[:LABEL][/BROADCAST]]]",
            Agent::IPsrcaddr => "ADDR",
            Agent::SendArp => "ADDR/IFACE",
        }
    }
}

/// The action asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    /// `status` (the wrapper runs the agent's monitor).
    Status,
    Monitor,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Status => "status",
            Action::Monitor => "monitor",
        }
    }

    /// status and monitor are the same check for every agent but IPaddr's monitor.
    pub fn is_check(self) -> bool {
        matches!(self, Action::Status | Action::Monitor)
    }
}

/// What one run has: the environment, the state directory, the logger, and the lines
/// for stdout.
pub struct Ctx<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub state: StateDir,
    pub log: Logger,
    pub out: Vec<String>,
    pub action: Action,
}

impl Ctx<'_> {
    /// An environment value, empty when unset.
    pub fn var(&self, k: &str) -> String {
        (self.env)(k).unwrap_or_default()
    }

    /// A positive integer parameter from the environment (`default` when unset).
    pub fn positive(&self, k: &str, default: u64) -> Result<u64, String> {
        match (self.env)(k) {
            None => Ok(default),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!("invalid value for {k}: [{v}] (a positive integer)")),
            },
        }
    }
}

/// Opens netlink and reads the tables, as one error type for the agents.
pub fn snapshot() -> Result<(Netlink, Snapshot), NlError> {
    let mut nl = Netlink::open()?;
    let snap = Snapshot::read(&mut nl)?;
    Ok((nl, snap))
}

/// The IPaddr/IPaddr2 argument `ADDR[/BITS[/IFACE[/BROADCAST]]]`, split as the
/// wrappers split it: a third part starting with a digit is the broadcast (no
/// interface); runs of slashes count as one; empty means not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    pub ip: String,
    pub netmask: String,
    pub nic: String,
    pub broadcast: String,
}

fn before_slash(s: &str) -> &str {
    s.split('/').next().unwrap_or("")
}

fn after_prefix_and_slashes<'a>(s: &'a str, prefix: &str) -> &'a str {
    s.get(prefix.len()..).unwrap_or("").trim_start_matches('/')
}

impl Spec {
    pub fn parse(arg: &str) -> Spec {
        let ip = before_slash(arg).to_string();
        let mut spec = Spec {
            ip: ip.clone(),
            ..Spec::default()
        };
        let rest = after_prefix_and_slashes(arg, &ip);
        if rest.is_empty() {
            return spec;
        }
        spec.netmask = before_slash(rest).to_string();
        let rest = after_prefix_and_slashes(rest, &spec.netmask);
        let third = before_slash(rest);
        if third.starts_with(|c: char| c.is_ascii_digit()) {
            spec.broadcast = third.to_string();
        } else if !third.is_empty() {
            spec.nic = third.to_string();
            spec.broadcast = before_slash(after_prefix_and_slashes(rest, third)).to_string();
        }
        spec
    }
}

/// Where an address resource puts its address: for `IPaddr` and `IPaddr2` (`script`,
/// as haresources names it) with the argument `arg`, the address and the link it goes
/// on, found by that agent's own findif rules. `Ok(None)` for other scripts (they hold
/// no address); an error when no interface can be found for it.
pub fn address_link<'s>(
    script: &str,
    arg: &str,
    snap: &'s Snapshot,
) -> Result<Option<(std::net::Ipv4Addr, &'s crate::netlink::Link)>, String> {
    let agent = match Agent::from_name(script) {
        Some(a @ (Agent::IPaddr | Agent::IPaddr2)) => a,
        _ => return Ok(None),
    };
    let spec = Spec::parse(arg);
    let ip = crate::ipv4::parse(&spec.ip)
        .ok_or_else(|| format!("[{}] is not an IPv4 address", spec.ip))?;
    let nic = spec.nic.split(':').next().unwrap_or("");
    let req = crate::findif::Request {
        ip: &spec.ip,
        netmask: &spec.netmask,
        broadcast: &spec.broadcast,
        nic,
    };
    let found = match agent {
        Agent::IPaddr => crate::findif::classic(&req, snap).map(|f| f.nic),
        _ => crate::findif::routed(&req, snap, false).map(|f| f.nic),
    }
    .map_err(|e| format!("findif: {e}"))?;
    let name = found.split(':').next().unwrap_or("");
    let link = snap
        .link(name)
        .ok_or_else(|| format!("interface {name} not found"))?;
    Ok(Some((ip, link)))
}

/// The wrapper's status line for `rc` after `action` (`None` for an unknown status).
pub fn status_line(rc: i32, check: bool) -> Option<&'static str> {
    Some(match rc {
        OCF_SUCCESS if check => "INFO:  Running OK",
        OCF_SUCCESS => "INFO:  Success",
        OCF_ERR_GENERIC => "ERROR:  Generic error",
        OCF_ERR_ARGS => "ERROR:  Illegal argument",
        OCF_ERR_UNIMPLEMENTED => "ERROR:  Function unimplemented",
        OCF_ERR_PERM => "ERROR:  User had insufficient privilege",
        OCF_ERR_INSTALLED => "ERROR:  Program is not installed",
        OCF_ERR_CONFIGURED => "ERROR:  Program is not configured",
        OCF_NOT_RUNNING => "INFO:  Resource is stopped",
        _ => return None,
    })
}

/// What a run produced: its exit status and stdout/stderr text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub status: i32,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

fn usage(agent: Agent, prog: &str) -> String {
    format!(
        "usage: {prog} {} {{start|stop|status|monitor}}",
        agent.form()
    )
}

/// Runs `agent` with the wrapper's two arguments (`SPEC ACTION`). `prog` is the name it
/// was called by (for the usage line).
pub fn run(
    agent: Agent,
    prog: &str,
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Outcome {
    let mut o = Outcome::default();
    let usage_to = |o: &mut Outcome| {
        // IPsrcaddr's wrapper prints its usage on stderr, the others on stdout.
        if agent == Agent::IPsrcaddr {
            o.stderr.push(usage(agent, prog));
        } else {
            o.stdout.push(usage(agent, prog));
        }
    };
    let [spec, action] = args else {
        usage_to(&mut o);
        o.status = 1;
        return o;
    };
    let ip_for_tag = match agent {
        Agent::IPsrcaddr => String::new(),
        _ => before_slash(spec).to_string(),
    };
    let tag = if ip_for_tag.is_empty() {
        format!("{0}({0})[{1}]", agent.name(), std::process::id())
    } else {
        format!(
            "{0}({0}_{ip_for_tag})[{1}]",
            agent.name(),
            std::process::id()
        )
    };
    let log = Logger::from_env(env, tag);
    let action = match action.as_str() {
        "start" => Action::Start,
        "stop" => Action::Stop,
        "status" => Action::Status,
        "monitor" => Action::Monitor,
        "usage" | "help" => {
            usage_to(&mut o);
            // IPaddr2's and SendArp's usage returns, then the wrapper reports success.
            if matches!(agent, Agent::IPaddr2 | Agent::SendArp) {
                o.stdout.push("INFO:  Success".into());
                log.raw("INFO:  Success");
                o.status = 0;
            } else {
                o.status = 1;
            }
            return o;
        }
        other => {
            let line = format!("ERROR: Unknown operation: {other}");
            log.raw(&line);
            o.stdout.push(line);
            usage_to(&mut o);
            o.status = 1;
            return o;
        }
    };
    if agent == Agent::IPaddr && action == Action::Monitor {
        // The IPaddr wrapper's own monitor: does the address answer a ping?
        o.status = ipaddr::ping_monitor(&Spec::parse(spec).ip);
        return o;
    }
    let mut ctx = Ctx {
        env,
        state: StateDir::from_env(env),
        log,
        out: Vec::new(),
        action,
    };
    let rc = match agent {
        Agent::IPaddr => ipaddr::run(&mut ctx, &Spec::parse(spec)),
        Agent::IPaddr2 => ipaddr2::run(&mut ctx, &Spec::parse(spec)),
        Agent::IPsrcaddr => ipsrcaddr::run(&mut ctx, spec),
        Agent::SendArp => sendarp::run(&mut ctx, spec),
    };
    o.stdout.append(&mut ctx.out);
    if agent == Agent::SendArp && rc != OCF_SUCCESS {
        o.status = rc;
        return o;
    }
    match status_line(rc, action.is_check()) {
        Some(line) => {
            ctx.log.raw(line);
            o.stdout.push(line.to_string());
            o.status = rc;
        }
        None => {
            let line = format!("ERROR:  Unknown error: {rc}");
            ctx.log.raw(&line);
            o.stdout.push(line);
            o.status = 1;
        }
    }
    o
}

/// A shell glob of the original (`[0-9]`, `*`, other characters literal) matched
/// against the whole of `s`.
pub fn glob(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((b'[', _)) if p.starts_with(b"[0-9]") => match s.split_first() {
                Some((c, srest)) if c.is_ascii_digit() => go(&p[5..], srest),
                _ => false,
            },
            Some((c, rest)) => match s.split_first() {
                Some((d, srest)) if d == c => go(rest, srest),
                _ => false,
            },
        }
    }
    // Bound the backtracking: agents' arguments are short.
    s.len() <= 64 && go(pattern.as_bytes(), s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(ip: &str, nm: &str, nic: &str, brd: &str) -> Spec {
        Spec {
            ip: ip.into(),
            netmask: nm.into(),
            nic: nic.into(),
            broadcast: brd.into(),
        }
    }

    #[test]
    fn argument_forms_split_like_the_wrappers() {
        assert_eq!(
            Spec::parse("198.51.100.10"),
            spec("198.51.100.10", "", "", "")
        );
        assert_eq!(
            Spec::parse("198.51.100.10/24"),
            spec("198.51.100.10", "24", "", "")
        );
        assert_eq!(
            Spec::parse("198.51.100.10/24/eth0"),
            spec("198.51.100.10", "24", "eth0", "")
        );
        assert_eq!(
            Spec::parse("198.51.100.10/24/eth0/198.51.100.127"),
            spec("198.51.100.10", "24", "eth0", "198.51.100.127")
        );
        assert_eq!(
            Spec::parse("198.51.100.10/24/198.51.100.255"),
            spec("198.51.100.10", "24", "", "198.51.100.255")
        );
        assert_eq!(
            Spec::parse("198.51.100.10/24/eth0:web"),
            spec("198.51.100.10", "24", "eth0:web", "")
        );
        // Runs of slashes are one separator: the interface becomes the netmask.
        assert_eq!(
            Spec::parse("198.51.100.10//eth0"),
            spec("198.51.100.10", "eth0", "", "")
        );
        assert_eq!(
            Spec::parse("198.51.100.10/"),
            spec("198.51.100.10", "", "", "")
        );
        assert_eq!(Spec::parse(""), spec("", "", "", ""));
    }

    #[test]
    fn globs() {
        let p = "[0-9]*.[0-9]*.[0-9]*.*[0-9]";
        assert!(glob(p, "198.51.100.10"));
        assert!(glob(p, "198.51.100.300"));
        assert!(!glob(p, "foo"));
        assert!(!glob(p, "198.51.100"));
        assert!(!glob(p, "198.51.100.x"));
        assert!(!glob(p, &"1.".repeat(200)));
        // The worst case for backtracking stays quick.
        let t = std::time::Instant::now();
        assert!(!glob(p, &format!("{}x", "1.".repeat(31))));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn wrapper_usage_and_unknown_actions() {
        let env = |_: &str| None;
        let o = run(Agent::IPaddr, "IPaddr", &["198.51.100.10".into()], &env);
        assert_eq!(o.status, 1);
        assert!(o.stdout[0].starts_with("usage: IPaddr "));
        let o = run(Agent::IPsrcaddr, "IPsrcaddr", &[], &env);
        assert_eq!(o.status, 1);
        assert!(o.stdout.is_empty() && o.stderr.len() == 1);
        let o = run(
            Agent::IPaddr2,
            "IPaddr2",
            &["198.51.100.10".into(), "bogus".into()],
            &|k: &str| (k == "HA_LOGFILE").then(|| "/dev/null".to_string()),
        );
        assert_eq!(o.status, 1);
        assert_eq!(o.stdout[0], "ERROR: Unknown operation: bogus");
        assert_eq!(status_line(7, true), Some("INFO:  Resource is stopped"));
        assert_eq!(status_line(0, true), Some("INFO:  Running OK"));
        assert_eq!(status_line(0, false), Some("INFO:  Success"));
        assert_eq!(status_line(9, false), None);
    }

    #[test]
    fn address_link_uses_each_agents_findif_rules() {
        let snap = crate::findif::tests::lab();
        let at = |script: &str, arg: &str| {
            address_link(script, arg, &snap)
                .map(|o| o.map(|(ip, l)| (ip.to_string(), l.name.clone())))
        };
        let on = |ip: &str, nic: &str| Ok(Some((ip.to_string(), nic.to_string())));
        assert_eq!(
            at("IPaddr", "198.51.100.254/24/eth0"),
            on("198.51.100.254", "eth0")
        );
        // No interface given: the route covering it.
        assert_eq!(at("IPaddr", "198.51.100.254"), on("198.51.100.254", "eth0"));
        assert_eq!(at("IPaddr2", "192.0.2.10/24"), on("192.0.2.10", "eth1"));
        assert_eq!(
            at("IPaddr2", "192.0.2.10/24/eth1:vip"),
            on("192.0.2.10", "eth1")
        );
        // Scripts that hold no address.
        assert_eq!(at("httpd", "198.51.100.254"), Ok(None));
        assert_eq!(at("IPsrcaddr", "198.51.100.254"), Ok(None));
        // No interface found, or no address.
        assert!(at("IPaddr2", "203.0.113.9").is_err());
        assert!(at("IPaddr", "198.51.100.254/24/eth7").is_err());
        assert!(at("IPaddr", "vip/24/eth0").is_err());
    }
}
