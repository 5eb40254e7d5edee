//! Where the daemon's lines go: ha.cf's `logfile`, `debugfile` and `logfacility`, or, with
//! `use_logd` on, where 2.0.8's logging daemon would have written them (logd.cf beside the
//! configuration directory, see [`hb_log::logd`]).
//!
//! 2.0.8 (`heartbeat/config.c`, read for facts): `use_logd` is on by default when ha.cf
//! names no `logfile`, `debugfile` or `logfacility` ("No log entry found in ha.cf -- use
//! logd"); `use_logd off` with none of them is refused; with `use_logd on` every line goes to
//! ha_logd, and ha.cf's own log directives serve only while ha_logd cannot be reached (here it
//! always can: it runs in the writing process).

use std::path::{Path, PathBuf};

use hb_log::logd::{self, LogdConfig, LogdIssue};

use crate::diag::Diagnostic;
use crate::hacf::HaCf;

impl HaCf {
    /// Whether lines go where logd would write them: `use_logd` as written, else on when
    /// ha.cf names no log at all.
    pub fn uses_logd(&self) -> bool {
        self.use_logd.unwrap_or(
            self.logfile.is_none() && self.debugfile.is_none() && self.logfacility.is_none(),
        )
    }

    /// ha.cf's own log directives that are set (`logfile`, `debugfile`, `logfacility`).
    pub fn log_directives(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.logfile.is_some() {
            v.push("logfile");
        }
        if self.debugfile.is_some() {
            v.push("debugfile");
        }
        if self.logfacility.is_some() {
            v.push("logfacility");
        }
        v
    }
}

/// logd as the configuration in `dir` sets it up, when `use_logd` is on.
#[derive(Clone, Debug)]
pub struct LogdSetup {
    /// The file read (or looked for).
    pub path: PathBuf,
    pub config: LogdConfig,
    pub issues: Vec<LogdIssue>,
}

/// Reads logd.cf for the configuration directory `dir`; `Err` names the file and why it
/// could not be read (not its absence: then the defaults apply).
pub fn logd_setup(dir: &Path) -> Result<LogdSetup, String> {
    let path = logd::logd_cf_path(dir);
    match logd::load(&path) {
        Ok((config, issues)) => Ok(LogdSetup {
            path,
            config,
            issues,
        }),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Where the lines go, in one sentence for the config test and the daemon's start.
pub fn logd_summary(s: &LogdSetup) -> String {
    let c = &s.config;
    let mut to = Vec::new();
    if let Some(f) = &c.logfile {
        to.push(format!("logfile {}", f.display()));
    }
    if let Some(f) = &c.debugfile {
        to.push(format!("debugfile {}", f.display()));
    }
    if let Some(f) = c.facility {
        to.push(format!("syslog facility {f}"));
    }
    let to = if to.is_empty() {
        "nowhere (no logfile, no debugfile, no syslog)".to_string()
    } else {
        to.join(", ")
    };
    match &c.source {
        Some(p) => format!("use_logd on: lines go where {} says: {to}", p.display()),
        None => format!(
            "use_logd on and no {}: lines go where 2.0.8's ha_logd sends them by default: {to}",
            s.path.display()
        ),
    }
}

/// The config test's findings about logging: logd.cf's problems (warnings: 2.0.8's ha_logd
/// refused to start on them, but heartbeat started), ha.cf log directives that logd makes
/// useless, and notes (where lines go; logd.cf lines that do nothing here).
pub fn logging_report(hacf: &HaCf, dir: &Path) -> (Vec<Diagnostic>, Vec<String>) {
    let mut d = Vec::new();
    let mut notes = Vec::new();
    if !hacf.uses_logd() {
        return (d, notes);
    }
    let names = hacf.log_directives();
    if !names.is_empty() {
        d.push(Diagnostic::warning(
            "ha.cf",
            None,
            format!(
                "use_logd is on: {} in ha.cf not used; lines go where logd.cf says (2.0.8 used them only while ha_logd could not be reached)",
                names.join("/")
            ),
        ));
    }
    let s = match logd_setup(dir) {
        Ok(s) => s,
        Err(e) => {
            d.push(Diagnostic::warning("logd.cf", None, e));
            return (d, notes);
        }
    };
    let file = s.path.display().to_string();
    for i in &s.issues {
        let text = if i.error {
            format!(
                "{} (2.0.8's ha_logd refuses the file and does not start; here the other lines are used)",
                i.text
            )
        } else {
            i.text.clone()
        };
        d.push(Diagnostic::warning(&file, Some(i.line), text));
    }
    notes.push(logd_summary(&s));
    let c = &s.config;
    if c.useapphbd {
        notes.push(format!(
            "{file}: useapphbd yes: accepted, not acted on: logd runs inside each program here, and nothing registers with apphbd"
        ));
    }
    for (name, v) in [("sendqlen", c.sendqlen), ("recvqlen", c.recvqlen)] {
        if let Some(n) = v {
            notes.push(format!(
                "{file}: {name} {n}: accepted, not acted on: there is no queue to a logging process here (each program writes its lines itself)"
            ));
        }
    }
    (d, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hacf::parse_hacf;

    fn hacf(text: &str) -> HaCf {
        let text = format!("{text}ucast eth1 192.0.2.2\nnode a\nnode b\n");
        let (c, d) = parse_hacf(&text, "ha.cf", &crate::NoResolver);
        c.unwrap_or_else(|| panic!("{d:?}"))
    }

    #[test]
    fn when_logd_is_used() {
        assert!(hacf("").uses_logd(), "no log directive: logd");
        assert!(!hacf("logfile /var/log/ha-log\n").uses_logd());
        assert!(!hacf("logfacility local0\n").uses_logd());
        assert!(hacf("logfacility none\n").uses_logd(), "none is no log");
        assert!(hacf("debugfile /d\nuse_logd yes\n").uses_logd());
        assert!(!hacf("debugfile /d\nuse_logd no\n").uses_logd());
        assert_eq!(
            hacf("debugfile /d\nlogfacility daemon\n").log_directives(),
            ["debugfile", "logfacility"]
        );
    }

    #[test]
    fn the_report() {
        let dir = std::env::temp_dir().join(format!("ha-config-logging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ha.d")).unwrap();
        let ha = dir.join("ha.d");
        // use_logd off: nothing about logd.
        assert_eq!(logging_report(&hacf("logfile /x\n"), &ha), (vec![], vec![]));
        // No logd.cf: 2.0.8's defaults.
        let (d, n) = logging_report(&hacf(""), &ha);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            n,
            [format!(
                "use_logd on and no {}: lines go where 2.0.8's ha_logd sends them by default: syslog facility local7",
                dir.join("logd.cf").display()
            )]
        );
        std::fs::write(
            dir.join("logd.cf"),
            "logfile /var/log/ha-log\nlogfacility daemon\nbogus 1\nsendqlen 256\nuseapphbd yes\n",
        )
        .unwrap();
        let (d, n) = logging_report(&hacf("logfile /x\nuse_logd on\n"), &ha);
        let d: Vec<String> = d.iter().map(ToString::to_string).collect();
        let f = dir.join("logd.cf").display().to_string();
        assert_eq!(
            d,
            [
                "ha.cf: use_logd is on: logfile in ha.cf not used; lines go where logd.cf says (2.0.8 used them only while ha_logd could not be reached)".to_string(),
                format!("{f}:3: Illegal directive [bogus] in {f} (2.0.8's ha_logd refuses the file and does not start; here the other lines are used)"),
            ]
        );
        assert_eq!(n[0], format!("use_logd on: lines go where {f} says: logfile /var/log/ha-log, syslog facility daemon"));
        assert_eq!(n.len(), 3, "{n:?}");
        assert!(
            n[1].contains("useapphbd yes: accepted, not acted on"),
            "{n:?}"
        );
        assert!(
            n[2].contains("sendqlen 256: accepted, not acted on"),
            "{n:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
