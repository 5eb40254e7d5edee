//! Log lines as the agents' `ha_log` writes them.
//!
//! Destinations come from the environment heartbeat gives its scripts:
//! - stdin a terminal (an admin at a shell): the text alone on stderr;
//! - `HA_LOGFACILITY` set (and not `none`): syslog with that facility, tagged
//!   `<agent>(<agent>_<ip>)[<pid>]` (or `$HA_LOGTAG`);
//! - `HA_LOGFILE` set: appended as `<date> <tag>:    <text>`;
//! - neither: `<date><text>` on stderr;
//! - `HA_DEBUGLOG` set (and not the log file): appended as `<tag>:\t<date><text>`.
//!
//! `<date>` uses `$HA_DATEFMT` (default `%b %d %T `, resource-agents' default).
//! Differences: `HA_LOGD=yes` (log through ha_logd) is served by syslog directly, not by
//! running `ha_logger`; debug lines are not written.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// The logging settings of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logger {
    pub tag: String,
    pub facility: Option<libc::c_int>,
    pub logfile: Option<String>,
    pub debuglog: Option<String>,
    pub datefmt: String,
    pub tty: bool,
}

impl Logger {
    /// Reads the settings; `tag` is used when `HA_LOGTAG` is not set.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>, tag: String) -> Logger {
        let set = |k: &str| get(k).filter(|v| !v.is_empty());
        let facility = set("HA_LOGFACILITY")
            .filter(|f| f != "none")
            .and_then(|f| facility_code(&f));
        let logfile = set("HA_LOGFILE");
        let debuglog = set("HA_DEBUGLOG").filter(|d| Some(d) != logfile.as_ref());
        Logger {
            tag: set("HA_LOGTAG").unwrap_or(tag),
            facility,
            logfile,
            debuglog,
            datefmt: set("HA_DATEFMT").unwrap_or_else(|| "%b %d %T ".to_string()),
            // SAFETY: isatty on fd 0 has no memory effects.
            tty: unsafe { libc::isatty(0) } == 1,
        }
    }

    /// A logger that writes nothing (tests).
    pub fn quiet() -> Logger {
        Logger {
            tag: String::new(),
            facility: None,
            logfile: Some("/dev/null".into()),
            debuglog: None,
            datefmt: String::new(),
            tty: false,
        }
    }

    pub fn info(&self, text: &str) {
        self.line(&format!("INFO: {text}"), libc::LOG_INFO);
    }

    pub fn warn(&self, text: &str) {
        self.line(&format!("WARNING: {text}"), libc::LOG_WARNING);
    }

    pub fn error(&self, text: &str) {
        self.line(&format!("ERROR: {text}"), libc::LOG_ERR);
    }

    /// Logs an already prefixed line (`INFO:  Success`, as the wrappers print them).
    pub fn raw(&self, text: &str) {
        let level = if text.contains("ERROR") {
            libc::LOG_ERR
        } else if text.contains("WARN") {
            libc::LOG_WARNING
        } else {
            libc::LOG_INFO
        };
        self.line(text, level);
    }

    fn line(&self, text: &str, level: libc::c_int) {
        if self.tty {
            eprintln!("{text}");
            return;
        }
        let date = strftime(&self.datefmt);
        if let Some(fac) = self.facility {
            syslog(fac, level, &self.tag, text);
        }
        match &self.logfile {
            Some(f) => append(f, &format!("{date} {}:    {text}\n", self.tag)),
            None if self.facility.is_none() => eprintln!("{date}{text}"),
            None => {}
        }
        if let Some(d) = &self.debuglog {
            append(d, &format!("{}:\t{date}{text}\n", self.tag));
        }
    }
}

fn append(path: &str, line: &str) {
    // A log file we create is not readable by all (the daemon's LOG_FILE_MODE, 0640).
    if let Ok(mut f) = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

fn syslog(facility: libc::c_int, level: libc::c_int, tag: &str, text: &str) {
    let (Ok(tag), Ok(text)) = (CString::new(tag), CString::new(text)) else {
        return;
    };
    // SAFETY: valid C strings; openlog keeps the tag pointer, which lives until closelog.
    unsafe {
        libc::openlog(tag.as_ptr(), 0, facility);
        libc::syslog(
            level,
            b"%s\0".as_ptr() as *const libc::c_char,
            text.as_ptr(),
        );
        libc::closelog();
    }
}

/// The local time formatted with `fmt` (strftime), trailing newlines removed.
pub fn strftime(fmt: &str) -> String {
    let Ok(cfmt) = CString::new(fmt) else {
        return String::new();
    };
    let mut buf = [0u8; 256];
    // SAFETY: time/localtime_r/strftime with valid pointers and the buffer's length.
    let n = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            cfmt.as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n.min(buf.len())])
        .trim_end_matches('\n')
        .to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_environment() {
        let env = |k: &str| match k {
            "HA_LOGFACILITY" => Some("local0".to_string()),
            "HA_LOGFILE" => Some("/var/log/ha-log".to_string()),
            "HA_DEBUGLOG" => Some("/var/log/ha-log".to_string()),
            _ => None,
        };
        let l = Logger::from_env(&env, "IPaddr(IPaddr_192.0.2.1)[1]".into());
        assert_eq!(l.facility, Some(libc::LOG_LOCAL0));
        assert_eq!(l.logfile.as_deref(), Some("/var/log/ha-log"));
        assert_eq!(l.debuglog, None, "same file as the log file: written once");
        assert_eq!(l.tag, "IPaddr(IPaddr_192.0.2.1)[1]");
        assert_eq!(l.datefmt, "%b %d %T ");
        assert_eq!(facility_code("bogus"), None);
        assert!(!strftime("%Y").is_empty());
    }
}
