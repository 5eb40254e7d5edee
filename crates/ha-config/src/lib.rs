//! The configuration of heartbeat in /etc/ha.d: `ha.cf`, `haresources`, `authkeys`.
//!
//! Parsed and checked as heartbeat 2.0.8 (and Debian's 3.0.6) do: a configuration the
//! original refuses is refused, every error reported with its file and line
//! (`ha.cf:12: unknown directive 'frobnicate'`); one it accepts is accepted, except
//! nonsense it accepts silently (`udpport 99999`, `keepalive 1,5`), which is refused with a
//! clear message. docs/CONFIG.md is the reference of every directive.
//!
//! - [`parse_hacf`], [`parse_haresources`], [`parse_authkeys`]: pure parsers of text, and
//!   [`render_hacf`], [`render_haresources`], [`render_authkeys`] back to text. ha.cf names
//!   hosts: its parser asks a [`Resolver`] it is given ([`SystemResolver`] in the daemon,
//!   a fake in tests, [`NoResolver`] where nothing may be looked up) and reads nothing from
//!   the host itself.
//! - [`load_dir`]: the three files of a directory, the authkeys permissions, the
//!   cross-file checks and the facts about this machine the original checks when it reads
//!   its configuration (interfaces of bcast/mcast, respawn users and programs, apiauth
//!   users and groups, serial devices): what the daemon uses to start.
//! - [`config_test`]: the same, with the machine facts as warnings, plus this host among
//!   the nodes, resource scripts present, and the `accepted, not acted on` lines.
//! - [`Lookup`]: where a resource's script is (resource.d, the init directories, then a
//!   systemd unit), for the daemon, ResourceManager, the config test and the CIB export.
//! - [`checks`]: our own optional `checks` file (native service checks), its parser
//!   [`parse_checks`] and loader [`load_checks`]; the config test reports its errors.

mod authkeys;
pub mod checks;
mod diag;
mod hacf;
mod haresources;
pub mod lines;
pub mod logging;
mod lookup;
mod machine;
mod resolver;

use std::path::{Path, PathBuf};

pub use authkeys::{parse_authkeys, render_authkeys, AuthKey, AuthKeys, MAX_AUTH};
pub use checks::{
    load_checks, load_checks_file, parse_checks, parse_checks_file, ArpRefresh, Check, CheckKind,
    ChecksFile,
};
pub use diag::{ConfigErrors, Diagnostic, Severity};
pub use hacf::{
    auto_failback_of, directive, not_acted_on_reason, parse_bool, parse_hacf, parse_time,
    render_hacf, ApiAuth, AutoFailback, DirectiveSpec, GenMethod, HaCf, Medium, MsgFmt, NotActedOn,
    PingGroup, Respawn, Shape, Stonith, Support, UuidFrom, ACTED_ON, DEFAULTS, DEFAULT_APIAUTH,
    DIRECTIVES, OTHER_DIRECTIVES,
};
pub use haresources::{
    daemon_node_tokens, is_bare_ip, is_executable_file, locate_script, parse_haresources,
    render_haresources, Group, Haresources, Resource,
};
pub use lookup::{locate_unit, unit_name, Located, Lookup, UNIT_DIRS};
pub use machine::{
    machine_checks, resource_notes, shortdesc, stonith_command, stonith_device_id, stonith_types,
    AnyMachine, Machine, SystemMachine, STONITH_COMMANDS,
};
pub use resolver::{services_udp_port, NoResolver, Resolver, SystemResolver};

/// The three files, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub hacf: HaCf,
    pub haresources: Haresources,
    pub authkeys: AuthKeys,
}

/// A configuration that loaded, with its warnings.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// The directories where the original looks for a resource script after resource.d.
pub const INIT_DIRS: &[&str] = &["/etc/init.d", "/etc/rc.d/init.d"];

/// Reads a file as text; invalid UTF-8 is an error naming the line (a key or a name
/// must not be altered silently).
fn read(dir: &Path, name: &str, d: &mut Vec<Diagnostic>) -> Option<String> {
    let p = dir.join(name);
    match std::fs::read(&p) {
        Ok(b) => match String::from_utf8(b) {
            Ok(s) => Some(s),
            Err(e) => {
                let bytes = e.as_bytes();
                let at = e.utf8_error().valid_up_to();
                let line = 1 + bytes
                    .get(..at)
                    .map_or(0, |b| b.iter().filter(|c| **c == b'\n').count());
                d.push(Diagnostic::error(
                    name,
                    Some(line),
                    "not valid UTF-8 text (write names and keys in ASCII or UTF-8)",
                ));
                None
            }
        },
        Err(e) => {
            d.push(Diagnostic::error(
                name,
                None,
                format!("cannot read {}: {e}", p.display()),
            ));
            None
        }
    }
}

/// What [`load_dir`] and [`config_test`] share: parse, permissions, cross-file checks.
struct Parsed {
    config: Option<Config>,
    diags: Vec<Diagnostic>,
}

fn parse_dir(dir: &Path, resolver: &dyn Resolver) -> Parsed {
    let mut d = Vec::new();
    let hacf_t = read(dir, "ha.cf", &mut d);
    let hares_t = read(dir, "haresources", &mut d);
    let keys_t = read(dir, "authkeys", &mut d);
    let mut hacf = None;
    if let Some(t) = hacf_t.as_deref() {
        let (c, mut dd) = parse_hacf(t, "ha.cf", resolver);
        d.append(&mut dd);
        hacf = c;
    }
    let mut hares = None;
    if let Some(t) = hares_t.as_deref() {
        let (c, mut dd) = parse_haresources(t, "haresources");
        d.append(&mut dd);
        hares = c;
    }
    let mut keys = None;
    if let Some(t) = keys_t.as_deref() {
        let (c, mut dd) = parse_authkeys(t, "authkeys");
        d.append(&mut dd);
        keys = c;
    }
    if let Ok(m) = std::fs::metadata(dir.join("authkeys")) {
        use std::os::unix::fs::MetadataExt;
        let mode = m.mode() & 0o7777;
        if mode & 0o066 != 0 {
            d.push(Diagnostic::error(
                "authkeys",
                None,
                format!(
                    "mode {mode:04o}, must be 0600 (not readable or writable by group or others: chmod 600 {})",
                    dir.join("authkeys").display()
                ),
            ));
        }
    }
    // haresources names nodes of ha.cf (the original: `Bad nodename in haresources`),
    // checked on the words the original daemon reads.
    if let (Some(h), Some(t)) = (&hacf, hares_t.as_deref()) {
        for (line, token) in haresources::daemon_node_tokens(t) {
            let node = token.to_lowercase();
            let is_ping = h.ping.iter().any(|p| p.to_lowercase() == node)
                || h.ping_groups.iter().any(|p| p.name.to_lowercase() == node);
            if is_ping {
                d.push(Diagnostic::warning(
                    "haresources",
                    Some(line),
                    format!("'{node}' is a ping node: ping nodes never hold resources"),
                ));
            } else if !h.nodes.contains(&node) {
                d.push(Diagnostic::error(
                    "haresources",
                    Some(line),
                    format!(
                        "Bad nodename [{token}]: not a node of ha.cf (nodes: {})",
                        h.nodes.join(" ")
                    ),
                ));
            }
        }
    }
    let config = match (hacf, hares, keys) {
        (Some(hacf), Some(haresources), Some(authkeys)) if !d.iter().any(Diagnostic::is_error) => {
            Some(Config {
                hacf,
                haresources,
                authkeys,
            })
        }
        _ => None,
    };
    Parsed { config, diags: d }
}

/// Reads and checks `ha.cf`, `haresources` and `authkeys` in `dir` as the original does
/// when it starts: the files, authkeys' permissions (not readable or writable by group or
/// others), haresources' nodes, and the facts about this machine the original checks while
/// reading (see [`machine_checks`]). Whether this host is one of the nodes is left to the
/// caller, which knows its name. Host names and the default port are asked of `resolver`
/// (the daemon passes [`SystemResolver`]; it may block: never call this in the loop).
pub fn load_dir(dir: &Path, resolver: &dyn Resolver) -> Result<Loaded, ConfigErrors> {
    load_dir_on(dir, &SystemMachine, resolver)
}

/// [`load_dir`] with the machine facts taken from `machine`.
pub fn load_dir_on(
    dir: &Path,
    machine: &dyn Machine,
    resolver: &dyn Resolver,
) -> Result<Loaded, ConfigErrors> {
    let p = parse_dir(dir, resolver);
    let mut d = p.diags;
    if let Some(c) = &p.config {
        d.extend(
            machine_checks(c, dir, None, machine)
                .into_iter()
                .filter(|x| x.is_error()),
        );
    }
    diag::sort(&mut d);
    match p.config {
        Some(config) if !d.iter().any(Diagnostic::is_error) => Ok(Loaded {
            config,
            warnings: d,
        }),
        _ => Err(ConfigErrors(
            d.into_iter().filter(Diagnostic::is_error).collect(),
        )),
    }
}

/// The result of `heartbeat -t`.
#[derive(Clone, Debug)]
pub struct ConfigTestReport {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// `accepted, not acted on` lines.
    pub not_acted_on: Vec<String>,
    /// Other facts the admin should know (where the lines go with logd, a resource that
    /// runs through systemctl).
    pub notes: Vec<String>,
}

impl ConfigTestReport {
    /// 0, or 6 (the original's status for a configuration it refuses).
    pub fn exit_code(&self) -> i32 {
        if self.errors.is_empty() {
            0
        } else {
            6
        }
    }

    /// Every line of the report, then a summary line.
    pub fn lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        for e in &self.errors {
            v.push(format!("ERROR: {e}"));
        }
        for w in &self.warnings {
            v.push(format!("WARNING: {w}"));
        }
        for n in self.not_acted_on.iter().chain(&self.notes) {
            v.push(format!("NOTE: {n}"));
        }
        if self.errors.is_empty() {
            v.push(format!(
                "Configuration OK ({} warning(s)).",
                self.warnings.len()
            ));
        } else {
            v.push(format!(
                "Configuration refused: {} error(s).",
                self.errors.len()
            ));
        }
        v
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in self.lines() {
            s.push_str(&l);
            s.push('\n');
        }
        s
    }
}

/// Checks the configuration in `dir` as `heartbeat -t` does. Fails (exit code 6) only
/// where the original refuses to start; the facts about this machine (this host among
/// the nodes, interfaces, scripts under resource.d or init.d, respawn programs and users)
/// are warnings, since the test may run elsewhere than on a node. Lists the directives
/// accepted but not acted on. Names are resolved by `resolver`, as for [`load_dir`].
pub fn config_test(
    dir: &Path,
    this_host: Option<&str>,
    resolver: &dyn Resolver,
) -> ConfigTestReport {
    config_test_on(dir, this_host, &SystemMachine, resolver)
}

/// [`config_test`] with the machine facts taken from `machine`.
pub fn config_test_on(
    dir: &Path,
    this_host: Option<&str>,
    machine: &dyn Machine,
    resolver: &dyn Resolver,
) -> ConfigTestReport {
    let p = parse_dir(dir, resolver);
    let mut d = p.diags;
    let mut not_acted_on = Vec::new();
    let mut notes = Vec::new();
    if let Some(c) = &p.config {
        let (ld, ln) = logging::logging_report(&c.hacf, dir);
        d.extend(ld);
        notes = ln;
        notes.extend(resource_notes(c, dir, machine));
        d.extend(
            machine_checks(c, dir, this_host, machine)
                .into_iter()
                .map(|x| x.with_severity(Severity::Warning)),
        );
        // Our own checks file (absent: no checks).
        d.extend(checks::check_file_diagnostics(dir, &c.haresources));
        for n in &c.hacf.not_acted_on {
            not_acted_on.push(format!(
                "ha.cf:{}: {} {}: accepted, not acted on: {}",
                n.line, n.directive, n.value, n.reason
            ));
        }
    }
    diag::sort(&mut d);
    let (errors, warnings) = d.into_iter().partition(Diagnostic::is_error);
    ConfigTestReport {
        errors,
        warnings,
        not_acted_on,
        notes,
    }
}

/// The table `heartbeat -D` prints (`-DW`: wiki markup), laid out as 2.0.8 lays it out.
pub fn defaults_table(wiki: bool) -> String {
    let mut s = String::new();
    let (lh, ch, rh) = ("Directive", "Default", "Description");
    if wiki {
        s.push_str("##Put this output in the ha.cf/DefaultValues page\n");
        s.push_str("The [wiki:ha.cf ha.cf] directives with default values are shown below - along with a brief description.\n");
        s.push_str("This was produced by {{{heartbeat -DW}}} ''# (version 2.0.8)''\n\n");
        s.push_str(&format!("||''{lh}''||''{ch}''||''{rh}''||\n"));
        for (k, def, what) in DEFAULTS {
            let mut wiki_name = String::new();
            let mut up = true;
            for c in k.chars() {
                if c == '_' {
                    up = true;
                } else if up {
                    wiki_name.extend(c.to_uppercase());
                    up = false;
                } else {
                    wiki_name.push(c);
                }
            }
            s.push_str(&format!(
                "||[wiki:ha.cf/{wiki_name}Directive {k}]||{def}||{what}||\n"
            ));
        }
        return s;
    }
    let lw = DEFAULTS
        .iter()
        .map(|x| x.0.len())
        .chain([lh.len()])
        .max()
        .unwrap_or(0);
    let cw = DEFAULTS
        .iter()
        .map(|x| x.1.len())
        .chain([ch.len()])
        .max()
        .unwrap_or(0);
    let rw = DEFAULTS
        .iter()
        .map(|x| x.2.len())
        .chain([rh.len()])
        .max()
        .unwrap_or(0);
    s.push_str(&format!("{lh:<lw$}  {ch:<cw$}  {rh}\n"));
    s.push_str(&"-".repeat((lw + cw + rw + 4).min(80)));
    s.push('\n');
    for (k, def, what) in DEFAULTS {
        s.push_str(&format!("{k:<lw$}  {def:<cw$}  {what}\n"));
    }
    s
}

/// The local node name as the original determines it: the first line of
/// `HA_DIR/nodeinfo` when that file exists, else `uname -n`; lowercased.
pub fn local_node_name(ha_dir: &Path) -> Option<String> {
    if let Ok(t) = std::fs::read_to_string(ha_dir.join("nodeinfo")) {
        if let Some(l) = t.split('\n').next().filter(|l| !l.is_empty()) {
            if t.contains('\n') {
                return Some(l.to_ascii_lowercase());
            }
        }
    }
    hb_sys::nodename().ok().map(|n| n.to_ascii_lowercase())
}

/// Paths of the three files in `dir`.
pub fn files(dir: &Path) -> [PathBuf; 3] {
    [
        dir.join("ha.cf"),
        dir.join("haresources"),
        dir.join("authkeys"),
    ]
}
