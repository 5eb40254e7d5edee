//! The configuration of heartbeat in /etc/ha.d: `ha.cf`, `haresources`, `authkeys`.
//!
//! Parsed and checked as heartbeat 2.0.8 does: a configuration the original refuses is
//! refused (every error is reported, each with its file and line), one it accepts is
//! accepted. Facts about the machine (this host among the nodes, scripts present,
//! interfaces existing) are warnings of the config test, never errors of the parse.
//! docs/CONFIG.md is the reference of every directive.

mod authkeys;
mod diag;
mod hacf;
mod haresources;
pub mod lines;

use std::path::{Path, PathBuf};

pub use authkeys::{parse_authkeys, render_authkeys, AuthKey, AuthKeys};
pub use diag::{ConfigErrors, Diagnostic, Severity};
pub use hacf::{
    parse_hacf, parse_time, render_hacf, ApiAuth, AutoFailback, HaCf, Medium, MsgFmt, NotActedOn,
    PingGroup, Respawn, ACTED_ON, DEFAULTS, OTHER_DIRECTIVES,
};
pub use haresources::{
    is_bare_ip, parse_haresources, render_haresources, resolve_script, Group, Haresources, Resource,
};

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

fn read(dir: &Path, name: &str, d: &mut Vec<Diagnostic>) -> Option<String> {
    let p = dir.join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            d.push(Diagnostic::error(
                &p.display().to_string(),
                None,
                format!("cannot read: {e}"),
            ));
            None
        }
    }
}

/// Reads and checks `ha.cf`, `haresources` and `authkeys` in `dir` (authkeys must not be
/// readable or writable by group or others).
pub fn load_dir(dir: &Path) -> Result<Loaded, ConfigErrors> {
    let mut d = Vec::new();
    let hacf_t = read(dir, "ha.cf", &mut d);
    let hares_t = read(dir, "haresources", &mut d);
    let keys_t = read(dir, "authkeys", &mut d);
    let (hacf, mut dd) = hacf_t
        .as_deref()
        .map(|t| parse_hacf(t, "ha.cf"))
        .unwrap_or((None, vec![]));
    d.append(&mut dd);
    let (hares, mut dd) = hares_t
        .as_deref()
        .map(|t| parse_haresources(t, "haresources"))
        .unwrap_or((None, vec![]));
    d.append(&mut dd);
    let (keys, mut dd) = keys_t
        .as_deref()
        .map(|t| parse_authkeys(t, "authkeys"))
        .unwrap_or((None, vec![]));
    d.append(&mut dd);
    if keys_t.is_some() {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(dir.join("authkeys")) {
            let mode = m.mode() & 0o777;
            if mode & 0o077 != 0 {
                d.push(Diagnostic::error(
                    "authkeys",
                    None,
                    format!("mode {mode:04o}, must be 0600 (not readable or writable by group or others)"),
                ));
            }
        }
    }
    let errors: Vec<Diagnostic> = d
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .cloned()
        .collect();
    match (hacf, hares, keys) {
        (Some(hacf), Some(haresources), Some(authkeys)) if errors.is_empty() => {
            let mut warnings = d;
            for g in &haresources.groups {
                if !hacf.nodes.contains(&g.node) {
                    warnings.push(Diagnostic::warning(
                        "haresources",
                        Some(g.line),
                        format!("node '{}' is not a node of ha.cf", g.node),
                    ));
                }
            }
            Ok(Loaded {
                config: Config {
                    hacf,
                    haresources,
                    authkeys,
                },
                warnings,
            })
        }
        _ => Err(ConfigErrors(errors)),
    }
}

/// The result of `heartbeat -t`.
#[derive(Clone, Debug)]
pub struct ConfigTestReport {
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// `accepted, not acted on` lines.
    pub not_acted_on: Vec<String>,
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

    pub fn text(&self) -> String {
        let mut s = String::new();
        for e in &self.errors {
            s.push_str(&format!("ERROR: {e}\n"));
        }
        for w in &self.warnings {
            s.push_str(&format!("WARNING: {w}\n"));
        }
        for n in &self.not_acted_on {
            s.push_str(&format!("NOTE: {n}\n"));
        }
        if self.errors.is_empty() {
            s.push_str("Configuration OK.\n");
        } else {
            s.push_str(&format!(
                "Configuration refused: {} error(s).\n",
                self.errors.len()
            ));
        }
        s
    }
}

/// The directories where the original looks for a resource script after resource.d.
pub const INIT_DIRS: &[&str] = &["/etc/init.d", "/etc/rc.d/init.d"];

/// Checks the configuration in `dir` as `heartbeat -t` does, adding the machine facts as
/// warnings (this host among the nodes, scripts, respawn programs, interfaces).
pub fn config_test(dir: &Path, this_host: Option<&str>) -> ConfigTestReport {
    match load_dir(dir) {
        Err(e) => ConfigTestReport {
            errors: e.0,
            warnings: vec![],
            not_acted_on: vec![],
        },
        Ok(l) => {
            let mut warnings = l.warnings;
            let c = &l.config;
            if let Some(h) = this_host {
                if !c.hacf.nodes.iter().any(|n| n == &h.to_lowercase()) {
                    warnings.push(Diagnostic::warning(
                        "ha.cf",
                        None,
                        format!(
                            "this host '{h}' is not a node: the daemon will refuse to start here"
                        ),
                    ));
                }
            }
            let init: Vec<PathBuf> = INIT_DIRS.iter().map(PathBuf::from).collect();
            let init: Vec<&Path> = init.iter().map(PathBuf::as_path).collect();
            for g in &c.haresources.groups {
                for r in &g.resources {
                    if resolve_script(dir, &init, &r.script).is_none() {
                        warnings.push(Diagnostic::warning(
                            "haresources",
                            Some(g.line),
                            format!(
                                "resource script '{}' found neither in {}/resource.d nor in /etc/init.d (the group will fail to start)",
                                r.script,
                                dir.display()
                            ),
                        ));
                    }
                }
            }
            for r in &c.hacf.respawn {
                let prog = r.command.split_whitespace().next().unwrap_or("");
                if !Path::new(prog).exists() {
                    warnings.push(Diagnostic::warning(
                        "ha.cf",
                        Some(r.line),
                        format!("respawn program '{prog}' not found"),
                    ));
                }
            }
            for m in &c.hacf.media {
                let devs: Vec<&String> = match m {
                    Medium::Ucast { dev, .. } | Medium::Mcast { dev, .. } => vec![dev],
                    Medium::Bcast { devs, .. } => devs.iter().collect(),
                    Medium::Serial { .. } => vec![],
                };
                for dev in devs {
                    if !Path::new("/sys/class/net").join(dev).exists() {
                        warnings.push(Diagnostic::warning(
                            "ha.cf",
                            None,
                            format!("interface '{dev}' does not exist on this host"),
                        ));
                    }
                }
            }
            let not_acted_on = c
                .hacf
                .not_acted_on
                .iter()
                .map(|n| {
                    if n.line > 0 {
                        format!(
                            "ha.cf:{}: {} {}: accepted, not acted on",
                            n.line, n.directive, n.value
                        )
                    } else {
                        format!("ha.cf: {}: accepted, not acted on yet", n.directive)
                    }
                })
                .collect();
            ConfigTestReport {
                errors: vec![],
                warnings,
                not_acted_on,
            }
        }
    }
}

/// The table `heartbeat -D` prints (`-DW`: wiki markup).
pub fn defaults_table(wiki: bool) -> String {
    let mut s = String::new();
    if wiki {
        s.push_str("||'''Directive'''||'''Default'''||'''Description'''||\n");
    } else {
        s.push_str(&format!(
            "{:<24} {:<10} {}\n",
            "Directive", "Default", "Description"
        ));
        s.push_str(&format!(
            "{:<24} {:<10} {}\n",
            "---------", "-------", "-----------"
        ));
    }
    for (k, def, what) in DEFAULTS {
        if wiki {
            s.push_str(&format!("||{k}||{def}||{what}||\n"));
        } else {
            s.push_str(&format!("{k:<24} {def:<10} {what}\n"));
        }
    }
    s
}
