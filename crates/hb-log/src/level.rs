//! Log levels: the eight syslog priorities with the words 2.0.8 writes for them. Pure (the
//! sans-IO core uses this type).

/// Severity of a log line, most severe first (the syslog priorities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 8] = [
        Level::Emerg,
        Level::Alert,
        Level::Crit,
        Level::Error,
        Level::Warn,
        Level::Notice,
        Level::Info,
        Level::Debug,
    ];

    /// The word written in log lines (`EMERG` … `WARN`, `notice`, `info`, `debug`), as
    /// 2.0.8's `cl_log` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Emerg => "EMERG",
            Level::Alert => "ALERT",
            Level::Crit => "CRIT",
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// The syslog severity number (0 = emerg … 7 = debug), `LOG_EMERG` … `LOG_DEBUG`.
    pub fn severity(self) -> u8 {
        self as u8
    }

    /// The syslog priority (`LOG_ERR`, `LOG_INFO`, ...) as `syslog(3)` takes it.
    pub fn priority(self) -> i32 {
        i32::from(self.severity())
    }

    /// The level of a syslog priority (its facility bits are ignored).
    pub fn from_priority(priority: i32) -> Level {
        match priority & 7 {
            0 => Level::Emerg,
            1 => Level::Alert,
            2 => Level::Crit,
            3 => Level::Error,
            4 => Level::Warn,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_numbers() {
        let names: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(
            names,
            ["EMERG", "ALERT", "CRIT", "ERROR", "WARN", "notice", "info", "debug"]
        );
        assert_eq!(Level::Warn.severity(), 4);
        assert_eq!(Level::Error.priority(), libc::LOG_ERR);
        assert_eq!(Level::Debug.priority(), libc::LOG_DEBUG);
        assert!(Level::Crit < Level::Info);
        for l in Level::ALL {
            assert_eq!(Level::from_priority(l.priority()), l);
            assert_eq!(Level::from_priority(l.priority() | libc::LOG_LOCAL7), l);
        }
    }
}
