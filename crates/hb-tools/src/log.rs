//! `ha_log` of the 2.0.8 shellfuncs, for hb_standby's one log line.
//!
//! The destinations come from the environment (the daemon exports them to its children
//! from ha.cf; an admin's shell usually has none of them):
//! 1. `HA_LOGD=yes`: run `$HA_BIN/ha_logger -t "$HA_LOGTAG" <text>`; if it exits 0, done.
//! 2. `HA_LOGFACILITY` not empty: syslog with that facility, tag `$HA_LOGTAG`, level
//!    err/warning/info/notice by the words `ERROR`/`WARN`/`INFO` in the text (notice
//!    otherwise: "Going standby" is logged at notice), as `logger -t -p` does.
//! 3. `HA_LOGFILE` not empty: append `<tag>:\t<date><text>\n` to it; otherwise write
//!    `<date><text>\n` to stderr.
//! 4. `HA_DEBUGLOG` (default `/dev/null`): append `<tag>:\t<date><text>\n` to it.
//!
//! `<date>` is the local time formatted with `$HA_DATEFMT` (default `%Y/%m/%d_%T `; the
//! daemon exports `%Y/%m/%d_%T` and a TAB), trailing newlines removed as the shell's
//! `` `date` `` does. `HA_LOGTAG` defaults to `<program basename>[<pid>]`; `HA_BIN` to
//! `/usr/lib/heartbeat`. Like shellfuncs' `${VAR:=default}`, an empty value counts as unset
//! for `HA_LOGTAG`, `HA_BIN`, `HA_DEBUGLOG` and `HA_DATEFMT`.

use std::ffi::{CString, OsStr, OsString};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `HA_BIN` when unset: the 2.0.8 HALIB.
pub const DEFAULT_HA_BIN: &str = "/usr/lib/heartbeat";
/// `HA_DATEFMT` when unset (shellfuncs' default).
pub const DEFAULT_DATEFMT: &str = "%Y/%m/%d_%T ";
/// `HA_DEBUGLOG` when unset.
pub const DEFAULT_DEBUGLOG: &str = "/dev/null";

/// The logging settings read from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEnv {
    /// `HA_LOGD` is exactly `yes`.
    pub logd: bool,
    pub bin: PathBuf,
    pub tag: String,
    pub facility: Option<String>,
    pub logfile: Option<PathBuf>,
    pub debuglog: PathBuf,
    pub datefmt: String,
}

impl LogEnv {
    /// Reads the settings through `get` (normally `std::env::var_os`). `argv0` and `pid`
    /// make the default tag.
    pub fn from_env(get: impl Fn(&str) -> Option<OsString>, argv0: &str, pid: u32) -> LogEnv {
        let non_empty = |name: &str| get(name).filter(|v| !v.is_empty());
        let base = argv0.rsplit('/').find(|s| !s.is_empty()).unwrap_or(argv0);
        LogEnv {
            logd: get("HA_LOGD").is_some_and(|v| v == "yes"),
            bin: non_empty("HA_BIN").map_or_else(|| PathBuf::from(DEFAULT_HA_BIN), PathBuf::from),
            tag: non_empty("HA_LOGTAG").map_or_else(|| format!("{base}[{pid}]"), |v| lossy(&v)),
            facility: non_empty("HA_LOGFACILITY").map(|v| lossy(&v)),
            logfile: non_empty("HA_LOGFILE").map(PathBuf::from),
            debuglog: non_empty("HA_DEBUGLOG")
                .map_or_else(|| PathBuf::from(DEFAULT_DEBUGLOG), PathBuf::from),
            datefmt: non_empty("HA_DATEFMT")
                .map_or_else(|| DEFAULT_DATEFMT.to_string(), |v| lossy(&v)),
        }
    }
}

fn lossy(v: &OsStr) -> String {
    v.to_string_lossy().into_owned()
}

/// One thing to do to log a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Syslog {
        facility: libc::c_int,
        level: libc::c_int,
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

/// What [`ha_log`] does, without doing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// `ha_logger` program and its arguments, tried first; on success nothing else is done.
    pub logd: Option<(PathBuf, Vec<String>)>,
    pub actions: Vec<Action>,
}

/// Plans logging `text` at `date` (already formatted).
pub fn plan(env: &LogEnv, date: &str, text: &str) -> Plan {
    let logd = env.logd.then(|| {
        (
            env.bin.join("ha_logger"),
            vec!["-t".to_string(), env.tag.clone(), text.to_string()],
        )
    });
    let mut actions = Vec::new();
    if let Some(f) = &env.facility {
        match facility_code(f) {
            Some(facility) => actions.push(Action::Syslog {
                facility,
                level: level_for(text),
                tag: env.tag.clone(),
                text: text.to_string(),
            }),
            None => actions.push(Action::BadFacility(f.clone())),
        }
    }
    let tagged = format!("{}:\t{date}{text}\n", env.tag);
    match &env.logfile {
        Some(p) => actions.push(Action::Append {
            path: p.clone(),
            line: tagged.clone(),
        }),
        None => actions.push(Action::Stderr(format!("{date}{text}\n"))),
    }
    actions.push(Action::Append {
        path: env.debuglog.clone(),
        line: tagged,
    });
    Plan { logd, actions }
}

/// The syslog level shellfuncs picks from the text.
pub fn level_for(text: &str) -> libc::c_int {
    if text.contains("ERROR") {
        libc::LOG_ERR
    } else if text.contains("WARN") {
        libc::LOG_WARNING
    } else if text.contains("INFO") || text == "info" {
        libc::LOG_INFO
    } else {
        libc::LOG_NOTICE
    }
}

/// A facility name as `logger -p` takes it.
pub fn facility_code(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "auth" | "security" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "daemon" => libc::LOG_DAEMON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "user" => libc::LOG_USER,
        "uucp" => libc::LOG_UUCP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// The local time `t` (seconds since the epoch) formatted with strftime `fmt`, trailing
/// newlines removed. A format strftime cannot expand within 4 KiB gives "".
pub fn format_date(fmt: &str, t: libc::time_t) -> String {
    let Ok(cfmt) = CString::new(fmt) else {
        return String::new();
    };
    // SAFETY: a zeroed tm is a valid value; localtime_r fills it from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return String::new();
    }
    let mut size = 64;
    while size <= 4096 {
        let mut buf = vec![0u8; size];
        // SAFETY: buf holds `size` bytes; cfmt is NUL-terminated; tm is initialised.
        let n = unsafe {
            libc::strftime(
                buf.as_mut_ptr().cast::<libc::c_char>(),
                size,
                cfmt.as_ptr(),
                &tm,
            )
        };
        if n > 0 || fmt.is_empty() {
            buf.truncate(n);
            let mut s = String::from_utf8_lossy(&buf).into_owned();
            while s.ends_with('\n') {
                s.pop();
            }
            return s;
        }
        size *= 4;
    }
    String::new()
}

/// The current time for [`format_date`].
pub fn now() -> libc::time_t {
    // SAFETY: time(NULL) only returns a value.
    unsafe { libc::time(std::ptr::null_mut()) }
}

/// Logs `text` as shellfuncs' `ha_log` does. Problems with a destination are reported on
/// `err` and do not stop the others (as in the shell).
pub fn ha_log(env: &LogEnv, text: &str, prog: &str, err: &mut dyn Write) {
    let date = format_date(&env.datefmt, now());
    let p = plan(env, &date, text);
    if let Some((program, args)) = &p.logd {
        let ok = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return;
        }
    }
    for a in p.actions {
        match a {
            Action::Syslog {
                facility,
                level,
                tag,
                text,
            } => syslog(facility, level, &tag, &text),
            Action::BadFacility(f) => {
                let _ = writeln!(err, "{prog}: unknown log facility name: {f}");
            }
            Action::Append { path, line } => {
                // A log file we create is not readable by all (the daemon's 0640).
                let r = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o640)
                    .open(&path)
                    .and_then(|mut f| f.write_all(line.as_bytes()));
                if let Err(e) = r {
                    let _ = writeln!(err, "{prog}: cannot write to {}: {e}", path.display());
                }
            }
            Action::Stderr(line) => {
                let _ = err.write_all(line.as_bytes());
            }
        }
    }
}

fn syslog(facility: libc::c_int, level: libc::c_int, tag: &str, text: &str) {
    let cstr = |s: &str| {
        CString::new(
            s.as_bytes()
                .iter()
                .copied()
                .filter(|&b| b != 0)
                .collect::<Vec<u8>>(),
        )
    };
    let (Ok(ident), Ok(msg)) = (cstr(tag), cstr(text)) else {
        return;
    };
    // SAFETY: ident outlives the openlog..closelog span; "%s" with one C string argument.
    unsafe {
        libc::openlog(ident.as_ptr(), 0, facility);
        libc::syslog(
            facility | level,
            b"%s\0".as_ptr().cast::<libc::c_char>(),
            msg.as_ptr(),
        );
        libc::closelog();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)]) -> LogEnv {
        let m: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        LogEnv::from_env(|k| m.get(k).cloned(), "/usr/lib/heartbeat/hb_standby", 42)
    }

    #[test]
    fn defaults() {
        let e = env_of(&[]);
        assert_eq!(
            e,
            LogEnv {
                logd: false,
                bin: PathBuf::from("/usr/lib/heartbeat"),
                tag: "hb_standby[42]".into(),
                facility: None,
                logfile: None,
                debuglog: PathBuf::from("/dev/null"),
                datefmt: "%Y/%m/%d_%T ".into(),
            }
        );
        // Empty means unset where shellfuncs uses ${VAR:=default}.
        let e2 = env_of(&[
            ("HA_BIN", ""),
            ("HA_LOGTAG", ""),
            ("HA_DEBUGLOG", ""),
            ("HA_DATEFMT", ""),
            ("HA_LOGFILE", ""),
            ("HA_LOGFACILITY", ""),
            ("HA_LOGD", "YES"),
        ]);
        assert_eq!(e2, e);
    }

    #[test]
    fn shell_user_gets_stderr_and_debuglog() {
        let e = env_of(&[]);
        let p = plan(&e, "D ", "Going standby [all].");
        assert_eq!(p.logd, None);
        assert_eq!(
            p.actions,
            vec![
                Action::Stderr("D Going standby [all].\n".into()),
                Action::Append {
                    path: PathBuf::from("/dev/null"),
                    line: "hb_standby[42]:\tD Going standby [all].\n".into()
                }
            ]
        );
    }

    #[test]
    fn daemon_child_gets_everything() {
        let e = env_of(&[
            ("HA_LOGD", "yes"),
            ("HA_BIN", "/opt/hb"),
            ("HA_LOGTAG", "tag"),
            ("HA_LOGFACILITY", "local7"),
            ("HA_LOGFILE", "/var/log/ha-log"),
            ("HA_DEBUGLOG", "/var/log/ha-debug"),
        ]);
        let p = plan(&e, "D\t", "Going standby [local].");
        assert_eq!(
            p.logd,
            Some((
                PathBuf::from("/opt/hb/ha_logger"),
                vec!["-t".into(), "tag".into(), "Going standby [local].".into()]
            ))
        );
        assert_eq!(
            p.actions,
            vec![
                Action::Syslog {
                    facility: libc::LOG_LOCAL7,
                    level: libc::LOG_NOTICE,
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
    }

    #[test]
    fn bad_facility_is_reported() {
        let e = env_of(&[("HA_LOGFACILITY", "nonsense")]);
        let p = plan(&e, "", "x");
        assert_eq!(p.actions[0], Action::BadFacility("nonsense".into()));
    }

    #[test]
    fn levels() {
        assert_eq!(level_for("Going standby [all]."), libc::LOG_NOTICE);
        assert_eq!(level_for("ERROR: x"), libc::LOG_ERR);
        assert_eq!(level_for("WARN: x"), libc::LOG_WARNING);
        assert_eq!(level_for("INFO: x"), libc::LOG_INFO);
        assert_eq!(level_for("info"), libc::LOG_INFO);
        assert_eq!(level_for("information"), libc::LOG_NOTICE);
    }

    #[test]
    fn facilities() {
        assert_eq!(facility_code("daemon"), Some(libc::LOG_DAEMON));
        assert_eq!(facility_code("local0"), Some(libc::LOG_LOCAL0));
        assert_eq!(facility_code("none"), None);
        assert_eq!(facility_code("Local0"), None);
    }

    #[test]
    fn dates() {
        // A format without conversions comes out as is; trailing newlines go.
        assert_eq!(format_date("plain ", 0), "plain ");
        assert_eq!(format_date("x\n\n", 0), "x");
        assert_eq!(format_date("", 0), "");
        // The shape of the default format: YYYY/MM/DD_HH:MM:SS and a space.
        let d = format_date(DEFAULT_DATEFMT, 86_400 * 365);
        let b = d.as_bytes();
        assert_eq!(b.len(), 20, "{d:?}");
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[16], b[19]),
            (b'/', b'/', b'_', b':', b':', b' ')
        );
        assert!(
            d.starts_with("1970/12/3") || d.starts_with("1971/01/01"),
            "{d:?}"
        );
        // Longer than the first buffer.
        let long = "%Y".repeat(100);
        assert_eq!(format_date(&long, 86_400 * 365).len(), 400);
    }

    #[test]
    fn ha_log_writes_files_and_stderr() {
        let dir = std::env::temp_dir().join(format!("hb-tools-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let logfile = dir.join("ha-log");
        let debug = dir.join("ha-debug");
        let mut e = env_of(&[("HA_DATEFMT", "DATE ")]);
        e.debuglog = debug.clone();
        let mut err = Vec::new();
        ha_log(&e, "Going standby [all].", "hb_standby", &mut err);
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "DATE Going standby [all].\n"
        );
        assert_eq!(
            std::fs::read_to_string(&debug).unwrap(),
            "hb_standby[42]:\tDATE Going standby [all].\n"
        );
        e.logfile = Some(logfile.clone());
        let mut err = Vec::new();
        ha_log(&e, "Going standby [local].", "hb_standby", &mut err);
        assert!(err.is_empty());
        assert_eq!(
            std::fs::read_to_string(&logfile).unwrap(),
            "hb_standby[42]:\tDATE Going standby [local].\n"
        );
        assert_eq!(
            std::fs::read_to_string(&debug).unwrap(),
            "hb_standby[42]:\tDATE Going standby [all].\nhb_standby[42]:\tDATE Going standby [local].\n"
        );
        // An unwritable destination is reported and the others still get the line.
        e.logfile = Some(dir.join("no/such/dir/log"));
        let mut err = Vec::new();
        ha_log(&e, "third", "hb_standby", &mut err);
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with("hb_standby: cannot write to "), "{err}");
        assert!(std::fs::read_to_string(&debug)
            .unwrap()
            .ends_with("DATE third\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ha_logger_success_ends_logging() {
        let dir = std::env::temp_dir().join(format!("hb-tools-logd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("args");
        let script = dir.join("ha_logger");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\nexit 0\n",
                out.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let debug = dir.join("debug");
        let mut e = env_of(&[("HA_LOGD", "yes"), ("HA_DATEFMT", "D ")]);
        e.bin = dir.clone();
        e.debuglog = debug.clone();
        let mut err = Vec::new();
        ha_log(&e, "Going standby [all].", "hb_standby", &mut err);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "-t|hb_standby[42]|Going standby [all].|"
        );
        assert!(err.is_empty());
        assert!(
            !debug.exists(),
            "ha_logger succeeded: nothing else is written"
        );
        // A failing ha_logger: the other destinations are used.
        std::fs::write(&script, "#!/bin/sh\nexit 1\n").unwrap();
        ha_log(&e, "Going standby [all].", "hb_standby", &mut err);
        assert_eq!(String::from_utf8(err).unwrap(), "D Going standby [all].\n");
        assert!(debug.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
