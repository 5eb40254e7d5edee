//! `ha_log` as the shell libraries of scripts write it, for our programs that stand in for
//! scripts: the HALIB programs (2.0.8's `shellfuncs`, [`Style::Shellfuncs`]) and the IP
//! agents (resource-agents' `ocf-shellfuncs`, [`Style::Ocf`]).
//!
//! The destinations come from the environment the daemon gives its children (an admin's
//! shell usually has none of them):
//! 1. `HA_LOGD=yes`: the line goes to logd as `ha_logger -t "$HA_LOGTAG" text` sends it
//!    ([`crate::logd`], in-process); written, that is all.
//! 2. `HA_LOGFACILITY` not empty: syslog with that facility, tag `$HA_LOGTAG`, as `logger -t
//!    -p` does. Shellfuncs picks the level from the words `ERROR`/`WARN`/`INFO` in the text
//!    (notice otherwise) and reports a facility `logger` would refuse; ocf-shellfuncs takes
//!    the level it is given and skips `none`.
//! 3. `HA_LOGFILE` not empty: the line is appended to it, `<tag>:\t<date><text>` (shellfuncs)
//!    or `<date> <tag>:    <text>` (ocf-shellfuncs); otherwise `<date><text>` on stderr
//!    (ocf-shellfuncs: only when there is no syslog either).
//! 4. `HA_DEBUGLOG`: appended, `<tag>:\t<date><text>` (shellfuncs: default /dev/null;
//!    ocf-shellfuncs: only when it is not the log file).
//!
//! `<date>` is the local time formatted with `$HA_DATEFMT` (shellfuncs' default
//! `%Y/%m/%d_%T `, ocf-shellfuncs' `%b %d %T `), trailing newlines removed as the shell's
//! `` `date` `` does. ocf-shellfuncs run at a terminal writes the text alone on stderr.
//! An empty variable counts as unset, as `${VAR:=default}` does.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::format::shell_date;
use crate::logd::{Logd, DEFAULT_HA_DIR};
use crate::sink::{append_line, syslog_once, LOG_FILE_MODE};
use crate::{Facility, Level};

/// `HA_DATEFMT` of shellfuncs when unset.
pub const DEFAULT_DATEFMT: &str = "%Y/%m/%d_%T ";
/// `HA_DATEFMT` of ocf-shellfuncs when unset.
pub const OCF_DATEFMT: &str = "%b %d %T ";
/// `HA_DEBUGLOG` of shellfuncs when unset.
pub const DEFAULT_DEBUGLOG: &str = "/dev/null";

/// Which shell library's `ha_log` to write like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// heartbeat 2.0.8's `shellfuncs` (the HALIB programs).
    Shellfuncs,
    /// resource-agents' `ocf-shellfuncs` (the IP agents).
    Ocf,
}

/// The logging settings read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEnv {
    pub style: Style,
    /// `HA_LOGD` is exactly `yes`.
    pub logd: bool,
    /// `HA_DIR` (logd.cf is beside it), default /etc/ha.d.
    pub ha_dir: PathBuf,
    pub tag: String,
    /// `HA_LOGFACILITY`, not empty (ocf-shellfuncs: not `none` either).
    pub facility: Option<String>,
    pub logfile: Option<PathBuf>,
    pub debuglog: Option<PathBuf>,
    pub datefmt: String,
    /// ocf-shellfuncs at a terminal (stdin a tty): the text alone on stderr.
    pub tty: bool,
}

impl LogEnv {
    /// Reads the settings through `get` (normally `std::env::var_os`); `tag` is used when
    /// `HA_LOGTAG` is not set.
    pub fn from_env(style: Style, get: impl Fn(&str) -> Option<OsString>, tag: String) -> LogEnv {
        let set = |name: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        };
        let logfile = set("HA_LOGFILE").map(PathBuf::from);
        let (facility, debuglog, datefmt, tty) = match style {
            Style::Shellfuncs => (
                set("HA_LOGFACILITY"),
                Some(PathBuf::from(
                    set("HA_DEBUGLOG").unwrap_or_else(|| DEFAULT_DEBUGLOG.to_string()),
                )),
                set("HA_DATEFMT").unwrap_or_else(|| DEFAULT_DATEFMT.to_string()),
                false,
            ),
            Style::Ocf => (
                set("HA_LOGFACILITY").filter(|f| f != crate::facility::NONE),
                set("HA_DEBUGLOG")
                    .map(PathBuf::from)
                    .filter(|d| Some(d) != logfile.as_ref()),
                set("HA_DATEFMT").unwrap_or_else(|| OCF_DATEFMT.to_string()),
                // SAFETY: isatty on fd 0 has no memory effects.
                unsafe { libc::isatty(0) } == 1,
            ),
        };
        LogEnv {
            style,
            logd: get("HA_LOGD").is_some_and(|v| v == "yes"),
            ha_dir: PathBuf::from(set("HA_DIR").unwrap_or_else(|| DEFAULT_HA_DIR.to_string())),
            tag: set("HA_LOGTAG").unwrap_or(tag),
            facility,
            logfile,
            debuglog,
            datefmt,
            tty,
        }
    }

    /// Settings that write nothing (tests).
    pub fn quiet(style: Style) -> LogEnv {
        LogEnv {
            style,
            logd: false,
            ha_dir: PathBuf::from(DEFAULT_HA_DIR),
            tag: String::new(),
            facility: None,
            logfile: Some(PathBuf::from("/dev/null")),
            debuglog: None,
            datefmt: String::new(),
            tty: false,
        }
    }
}

/// The default tag of shellfuncs: `<program basename>[<pid>]`.
pub fn default_tag(argv0: &str, pid: u32) -> String {
    let base = argv0.rsplit('/').find(|s| !s.is_empty()).unwrap_or(argv0);
    format!("{base}[{pid}]")
}

/// One thing to do to log a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Syslog {
        facility: Facility,
        level: Level,
        tag: String,
        text: String,
    },
    /// A facility name `logger` would refuse.
    BadFacility(String),
    Append {
        path: PathBuf,
        line: String,
    },
    Stderr(String),
}

/// The syslog level shellfuncs picks from the text.
pub fn level_for(text: &str) -> Level {
    if text.contains("ERROR") {
        Level::Error
    } else if text.contains("WARN") {
        Level::Warn
    } else if text.contains("INFO") || text == "info" {
        Level::Info
    } else {
        Level::Notice
    }
}

/// What logging `text` does after logd (the destinations 2 to 4 above), with `date`
/// already formatted; `level` is ocf-shellfuncs' (shellfuncs picks its own).
pub fn plan(env: &LogEnv, date: &str, level: Level, text: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    if env.style == Style::Ocf && env.tty {
        actions.push(Action::Stderr(format!("{text}\n")));
        return actions;
    }
    if let Some(f) = &env.facility {
        let level = match env.style {
            Style::Shellfuncs => level_for(text),
            Style::Ocf => level,
        };
        match (Facility::from_name(f), env.style) {
            (Some(facility), _) => actions.push(Action::Syslog {
                facility,
                level,
                tag: env.tag.clone(),
                text: text.to_string(),
            }),
            (None, Style::Shellfuncs) => actions.push(Action::BadFacility(f.clone())),
            (None, Style::Ocf) => {}
        }
    }
    let tagged = format!("{}:\t{date}{text}\n", env.tag);
    match (&env.logfile, env.style) {
        (Some(p), Style::Shellfuncs) => actions.push(Action::Append {
            path: p.clone(),
            line: tagged.clone(),
        }),
        (Some(p), Style::Ocf) => actions.push(Action::Append {
            path: p.clone(),
            line: format!("{date} {}:    {text}\n", env.tag),
        }),
        (None, Style::Ocf) if env.facility.is_some() => {}
        (None, _) => actions.push(Action::Stderr(format!("{date}{text}\n"))),
    }
    if let Some(d) = &env.debuglog {
        actions.push(Action::Append {
            path: d.clone(),
            line: tagged,
        });
    }
    actions
}

/// Logs `text` as the style's `ha_log` does; `level` is ocf-shellfuncs' (shellfuncs picks
/// its own). Problems with a destination are reported on `err` (named `prog`) and do not
/// stop the others, as in the shell.
pub fn ha_log(env: &LogEnv, level: Level, text: &str, prog: &str, err: &mut dyn Write) {
    if env.logd && !(env.style == Style::Ocf && env.tty) {
        if let Ok(logd) = Logd::for_config_dir(&env.ha_dir) {
            if logd.log(&env.tag, level == Level::Debug, text).ok() {
                return;
            }
        }
    }
    let date = shell_date(&env.datefmt, SystemTime::now());
    run(plan(env, &date, level, text), prog, err);
}

/// Logs `text` as shellfuncs' `ha_debug` does: through logd at debug level (`ha_logger -D
/// ha-debug`) when `HA_LOGD=yes`; else to syslog at debug level when a facility is set, and
/// to `HA_DEBUGLOG` (`<tag>:\t<date><text>`), or without one to stderr with the facility
/// after a TAB.
pub fn ha_debug(env: &LogEnv, text: &str, prog: &str, err: &mut dyn Write) {
    if env.logd {
        if let Ok(logd) = Logd::for_config_dir(&env.ha_dir) {
            if logd.log(&env.tag, true, text).ok() {
                return;
            }
        }
    }
    let date = shell_date(&env.datefmt, SystemTime::now());
    let mut actions = Vec::new();
    if let Some(f) = &env.facility {
        actions.push(match Facility::from_name(f) {
            Some(facility) => Action::Syslog {
                facility,
                level: Level::Debug,
                tag: env.tag.clone(),
                text: text.to_string(),
            },
            None => Action::BadFacility(f.clone()),
        });
    }
    let line = format!("{}:\t{date}{text}", env.tag);
    actions.push(match &env.debuglog {
        Some(path) => Action::Append {
            path: path.clone(),
            line: format!("{line}\n"),
        },
        None => Action::Stderr(format!(
            "{line}:\t{}\n",
            env.facility.as_deref().unwrap_or_default()
        )),
    });
    run(actions, prog, err);
}

/// Does what [`plan`] said.
pub fn run(actions: Vec<Action>, prog: &str, err: &mut dyn Write) {
    for a in actions {
        match a {
            Action::Syslog {
                facility,
                level,
                tag,
                text,
            } => {
                syslog_once(facility, &tag, level, &text);
            }
            Action::BadFacility(f) => {
                let _ = writeln!(err, "{prog}: unknown log facility name: {f}");
            }
            Action::Append { path, line } => {
                if let Err(e) = append_line(&path, &line, LOG_FILE_MODE, None) {
                    let _ = writeln!(err, "{prog}: cannot write to {}: {e}", path.display());
                }
            }
            Action::Stderr(line) => {
                let _ = err.write_all(line.as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(style: Style, vars: &[(&str, &str)]) -> LogEnv {
        let m: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let mut e = LogEnv::from_env(
            style,
            |k| m.get(k).cloned(),
            default_tag("/usr/lib/heartbeat/hb_standby", 42),
        );
        e.tty = false;
        e
    }

    /// `ha_log` at info as hb_standby; what it wrote on its stderr.
    fn log(e: &LogEnv, text: &str) -> String {
        let mut err = Vec::new();
        ha_log(e, Level::Info, text, "hb_standby", &mut err);
        String::from_utf8(err).unwrap()
    }

    #[test]
    fn shellfuncs_defaults() {
        let e = env_of(Style::Shellfuncs, &[]);
        assert_eq!(
            e,
            LogEnv {
                style: Style::Shellfuncs,
                logd: false,
                ha_dir: PathBuf::from("/etc/ha.d"),
                tag: "hb_standby[42]".into(),
                facility: None,
                logfile: None,
                debuglog: Some(PathBuf::from("/dev/null")),
                datefmt: "%Y/%m/%d_%T ".into(),
                tty: false,
            }
        );
        // Empty means unset where shellfuncs uses ${VAR:=default}.
        let e2 = env_of(
            Style::Shellfuncs,
            &[
                ("HA_DIR", ""),
                ("HA_LOGTAG", ""),
                ("HA_DEBUGLOG", ""),
                ("HA_DATEFMT", ""),
                ("HA_LOGFILE", ""),
                ("HA_LOGFACILITY", ""),
                ("HA_LOGD", "YES"),
            ],
        );
        assert_eq!(e2, e);
    }

    #[test]
    fn shellfuncs_plans() {
        let e = env_of(Style::Shellfuncs, &[]);
        assert_eq!(
            plan(&e, "D ", Level::Info, "Going standby [all]."),
            vec![
                Action::Stderr("D Going standby [all].\n".into()),
                Action::Append {
                    path: PathBuf::from("/dev/null"),
                    line: "hb_standby[42]:\tD Going standby [all].\n".into()
                }
            ]
        );
        let e = env_of(
            Style::Shellfuncs,
            &[
                ("HA_LOGD", "yes"),
                ("HA_LOGTAG", "tag"),
                ("HA_LOGFACILITY", "local7"),
                ("HA_LOGFILE", "/var/log/ha-log"),
                ("HA_DEBUGLOG", "/var/log/ha-debug"),
            ],
        );
        assert!(e.logd);
        assert_eq!(
            plan(&e, "D\t", Level::Info, "Going standby [local]."),
            vec![
                Action::Syslog {
                    facility: Facility::LOCAL7,
                    level: Level::Notice,
                    tag: "tag".into(),
                    text: "Going standby [local].".into()
                },
                Action::Append {
                    path: PathBuf::from("/var/log/ha-log"),
                    line: "tag:\tD\tGoing standby [local].\n".into()
                },
                Action::Append {
                    path: PathBuf::from("/var/log/ha-debug"),
                    line: "tag:\tD\tGoing standby [local].\n".into()
                }
            ]
        );
        let e = env_of(Style::Shellfuncs, &[("HA_LOGFACILITY", "nonsense")]);
        assert_eq!(
            plan(&e, "", Level::Info, "x")[0],
            Action::BadFacility("nonsense".into())
        );
    }

    #[test]
    fn ocf_plans() {
        let e = env_of(
            Style::Ocf,
            &[
                ("HA_LOGFACILITY", "local0"),
                ("HA_LOGFILE", "/var/log/ha-log"),
                ("HA_DEBUGLOG", "/var/log/ha-log"),
            ],
        );
        assert_eq!(e.debuglog, None, "same file as the log file: written once");
        assert_eq!(e.datefmt, "%b %d %T ");
        assert_eq!(
            plan(&e, "D", Level::Warn, "WARNING: x"),
            vec![
                Action::Syslog {
                    facility: Facility::LOCAL0,
                    level: Level::Warn,
                    tag: "hb_standby[42]".into(),
                    text: "WARNING: x".into()
                },
                Action::Append {
                    path: PathBuf::from("/var/log/ha-log"),
                    line: "D hb_standby[42]:    WARNING: x\n".into()
                },
            ]
        );
        // Syslog alone: nothing on stderr; neither: the date and text on stderr.
        let e = env_of(Style::Ocf, &[("HA_LOGFACILITY", "daemon")]);
        assert_eq!(plan(&e, "D", Level::Info, "x").len(), 1);
        let e = env_of(
            Style::Ocf,
            &[("HA_LOGFACILITY", "none"), ("HA_DEBUGLOG", "/d")],
        );
        assert_eq!(
            plan(&e, "D ", Level::Info, "x"),
            vec![
                Action::Stderr("D x\n".into()),
                Action::Append {
                    path: PathBuf::from("/d"),
                    line: "hb_standby[42]:\tD x\n".into()
                }
            ]
        );
        let mut e = env_of(Style::Ocf, &[("HA_LOGFILE", "/f")]);
        e.tty = true;
        assert_eq!(
            plan(&e, "D ", Level::Info, "x"),
            vec![Action::Stderr("x\n".into())]
        );
    }

    #[test]
    fn levels() {
        assert_eq!(level_for("Going standby [all]."), Level::Notice);
        assert_eq!(level_for("ERROR: x"), Level::Error);
        assert_eq!(level_for("WARN: x"), Level::Warn);
        assert_eq!(level_for("INFO: x"), Level::Info);
        assert_eq!(level_for("info"), Level::Info);
        assert_eq!(level_for("information"), Level::Notice);
    }

    #[test]
    fn ha_log_writes_files_and_stderr() {
        let dir = std::env::temp_dir().join(format!("hb-log-script-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let logfile = dir.join("ha-log");
        let debug = dir.join("ha-debug");
        let mut e = env_of(Style::Shellfuncs, &[("HA_DATEFMT", "DATE ")]);
        e.debuglog = Some(debug.clone());
        let err = log(&e, "Going standby [all].");
        assert_eq!(err, "DATE Going standby [all].\n");
        assert_eq!(
            std::fs::read_to_string(&debug).unwrap(),
            "hb_standby[42]:\tDATE Going standby [all].\n"
        );
        e.logfile = Some(logfile.clone());
        let err = log(&e, "Going standby [local].");
        assert!(err.is_empty());
        assert_eq!(
            std::fs::read_to_string(&logfile).unwrap(),
            "hb_standby[42]:\tDATE Going standby [local].\n"
        );
        // An unwritable destination is reported and the others still get the line.
        e.logfile = Some(dir.join("no/such/dir/log"));
        let err = log(&e, "third");
        assert!(err.starts_with("hb_standby: cannot write to "), "{err}");
        assert!(std::fs::read_to_string(&debug)
            .unwrap()
            .ends_with("DATE third\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_lines() {
        let dir = std::env::temp_dir().join(format!("hb-log-script-debug-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let debug = dir.join("ha-debug");
        let mut e = env_of(Style::Shellfuncs, &[("HA_DATEFMT", "D ")]);
        e.debuglog = Some(debug.clone());
        let mut err = Vec::new();
        ha_debug(&e, "debug: Starting x", "ResourceManager", &mut err);
        assert!(err.is_empty());
        assert_eq!(
            std::fs::read_to_string(&debug).unwrap(),
            "hb_standby[42]:\tD debug: Starting x\n"
        );
        e.debuglog = None;
        e.facility = Some("bogus".into());
        ha_debug(&e, "y", "ResourceManager", &mut err);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "ResourceManager: unknown log facility name: bogus\nhb_standby[42]:\tD y:\tbogus\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn with_logd_the_line_goes_where_logd_cf_says_and_nowhere_else() {
        let dir = std::env::temp_dir().join(format!("hb-log-script-logd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ha.d")).unwrap();
        let logdfile = dir.join("logd-log");
        std::fs::write(
            dir.join("logd.cf"),
            format!("logfile {}\nlogfacility none\n", logdfile.display()),
        )
        .unwrap();
        let debug = dir.join("debug");
        let ha_dir = dir.join("ha.d").display().to_string();
        for style in [Style::Shellfuncs, Style::Ocf] {
            let mut e = env_of(
                style,
                &[
                    ("HA_LOGD", "yes"),
                    ("HA_DATEFMT", "D "),
                    ("HA_DIR", &ha_dir),
                    ("HA_LOGTAG", "IPaddr[7]"),
                ],
            );
            e.debuglog = Some(debug.clone());
            let err = log(&e, "Going standby [all].");
            assert!(err.is_empty(), "{err}");
        }
        let written = std::fs::read_to_string(&logdfile).unwrap();
        let pid = std::process::id();
        assert_eq!(written.lines().count(), 2, "{written}");
        for l in written.lines() {
            assert!(l.starts_with(&format!("IPaddr[7][{pid}]: ")), "{l}");
            assert!(l.ends_with(" Going standby [all]."), "{l}");
        }
        assert!(
            !debug.exists(),
            "logd took the line: nothing else is written"
        );
        // logd cannot write it anywhere: the shell's other destinations are used.
        std::fs::write(
            dir.join("logd.cf"),
            "logfile /no/such/dir/x\nlogfacility none\n",
        )
        .unwrap();
        let mut e = env_of(
            Style::Shellfuncs,
            &[
                ("HA_LOGD", "yes"),
                ("HA_DATEFMT", "D "),
                ("HA_DIR", &ha_dir),
            ],
        );
        e.debuglog = Some(debug.clone());
        let err = log(&e, "fallback");
        assert!(err.ends_with("D fallback\n"), "{err}");
        assert!(std::fs::read_to_string(&debug)
            .unwrap()
            .ends_with("\tD fallback\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
