//! Log lines as the agents' `ha_log` (resource-agents' ocf-shellfuncs) writes them: the log
//! layer's [`hb_log::script`] in its [`Style::Ocf`], with `INFO:`/`WARNING:`/`ERROR:` in
//! front as `ocf_log` puts them. With `HA_LOGD=yes` a line goes where logd would write it
//! (as `ha_logger` sends it), else to `HA_LOGFACILITY`, `HA_LOGFILE`, `HA_DEBUGLOG` or stderr.
//! Debug lines are not written.

use std::ffi::OsString;

use hb_log::script::{ha_log, LogEnv, Style};
use hb_log::Level;

/// The logging settings of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logger(pub LogEnv);

impl Logger {
    /// Reads the settings; `tag` is used when `HA_LOGTAG` is not set.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>, tag: String) -> Logger {
        Logger(LogEnv::from_env(
            Style::Ocf,
            |k| get(k).map(OsString::from),
            tag,
        ))
    }

    /// A logger that writes nothing (tests).
    pub fn quiet() -> Logger {
        Logger(LogEnv::quiet(Style::Ocf))
    }

    pub fn info(&self, text: &str) {
        self.line(Level::Info, &format!("INFO: {text}"));
    }

    pub fn warn(&self, text: &str) {
        self.line(Level::Warn, &format!("WARNING: {text}"));
    }

    pub fn error(&self, text: &str) {
        self.line(Level::Error, &format!("ERROR: {text}"));
    }

    /// Logs an already prefixed line (`INFO:  Success`, as the wrappers print them).
    pub fn raw(&self, text: &str) {
        let level = if text.contains("ERROR") {
            Level::Error
        } else if text.contains("WARN") {
            Level::Warn
        } else {
            Level::Info
        };
        self.line(level, text);
    }

    fn line(&self, level: Level, text: &str) {
        ha_log(&self.0, level, text, "", &mut std::io::stderr());
    }
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
        let l = Logger::from_env(&env, "IPaddr(IPaddr_192.0.2.1)[1]".into()).0;
        assert_eq!(l.facility.as_deref(), Some("local0"));
        assert_eq!(
            l.logfile.as_deref(),
            Some(std::path::Path::new("/var/log/ha-log"))
        );
        assert_eq!(l.debuglog, None, "same file as the log file: written once");
        assert_eq!(l.tag, "IPaddr(IPaddr_192.0.2.1)[1]");
        assert_eq!(l.datefmt, "%b %d %T ");
        assert!(!l.logd);
    }
}
