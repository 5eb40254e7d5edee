//! logd: 2.0.8's logging daemon, in-process.
//!
//! 2.0.8 shipped `ha_logd`, started by the init script before heartbeat. Programs that log
//! through it (heartbeat with `use_logd`, `ha_logger`, scripts' `ha_log` with `HA_LOGD=yes`)
//! send it their lines; it writes them where `/etc/logd.cf` says (`logd/ha_logd.c` and
//! `lib/clplumbing/cl_log.c`, read for facts). That program no longer exists: each writer
//! reads logd.cf itself and writes where logd would have, through [`Logd`].
//!
//! logd.cf, as ha_logd reads it ([`parse`]):
//! - One directive a line; blanks before it are skipped; `#` starts a comment anywhere.
//!   The directive's name ends at a blank; its case does not matter. Its value is the next
//!   word (blanks and commas separate words); the rest of the line is ignored.
//! - `logfile PATH` (every level but debug), `debugfile PATH` (every level), `logfacility
//!   NAME` (syslog), `entity NAME` (logd's own name), `logmode OCTAL` (the mode of the files
//!   it creates), `useapphbd yes|no`, `sendqlen N`, `recvqlen N`. The last line wins.
//! - Without the file: no log file, no debug file, syslog at `local7`, entity `logd`.
//! - An unknown directive or a bad value made ha_logd refuse to start; here the file's other
//!   lines are used and the problem is reported ([`LogdIssue`]).
//!
//! What logd wrote: each line under the *sender's* entity, pid and level (heartbeat's lines
//! stay `heartbeat[PID]: ... info: ...`; `ha_logger` lines have no level word), to the files
//! above by level, and to syslog at logd.cf's facility with the sender's entity as ident.
//!
//! Where logd.cf is: beside the configuration directory (`/etc/logd.cf` for `/etc/ha.d`),
//! see [`logd_cf_path`].

use std::io;
use std::path::{Path, PathBuf};

use crate::{Delivery, Facility, Level, LogConfig, Logger, LOG_FILE_MODE};

/// The file ha_logd reads.
pub const DEFAULT_PATH: &str = "/etc/logd.cf";
/// The configuration directory whose neighbour [`DEFAULT_PATH`] is.
pub const DEFAULT_HA_DIR: &str = "/etc/ha.d";
/// logd's own entity when logd.cf names none.
pub const DEFAULT_ENTITY: &str = "logd";
/// The entity of a line whose sender named none (`cl_log`'s default, `ha_logger` without `-t`).
pub const SENDER_ENTITY: &str = "cluster";
/// The directives ha_logd knows.
pub const DIRECTIVES: &[&str] = &[
    "debugfile",
    "logfile",
    "logfacility",
    "entity",
    "useapphbd",
    "sendqlen",
    "recvqlen",
    "logmode",
];

/// Where logd.cf is for the configuration directory `ha_dir`: in its parent directory
/// (`/etc/ha.d` → `/etc/logd.cf`).
pub fn logd_cf_path(ha_dir: &Path) -> PathBuf {
    match ha_dir.parent() {
        Some(p) => p.join("logd.cf"),
        None => PathBuf::from(DEFAULT_PATH),
    }
}

/// logd.cf, read (or its defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogdConfig {
    /// The file read; `None`: it does not exist and these are the defaults.
    pub source: Option<PathBuf>,
    pub logfile: Option<PathBuf>,
    pub debugfile: Option<PathBuf>,
    /// `None`: no syslog (`none`, or `kern`, which 2.0.8 takes for "no syslog").
    pub facility: Option<Facility>,
    pub entity: String,
    /// `logmode`, when given.
    pub logmode: Option<u32>,
    pub useapphbd: bool,
    pub sendqlen: Option<i64>,
    pub recvqlen: Option<i64>,
}

impl Default for LogdConfig {
    fn default() -> LogdConfig {
        LogdConfig {
            source: None,
            logfile: None,
            debugfile: None,
            facility: Some(Facility::LOCAL7),
            entity: DEFAULT_ENTITY.to_string(),
            logmode: None,
            useapphbd: false,
            sendqlen: None,
            recvqlen: None,
        }
    }
}

/// A problem in logd.cf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogdIssue {
    /// 1-based.
    pub line: usize,
    /// An error made 2.0.8's ha_logd refuse to start; a warning did not.
    pub error: bool,
    pub text: String,
}

impl std::fmt::Display for LogdIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.error { "ERROR" } else { "WARN" };
        write!(f, "{kind}: line {}: {}", self.line, self.text)
    }
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn is_delim(c: char) -> bool {
    is_blank(c) || c == ','
}

/// Parses logd.cf text as ha_logd does; `file` names it in the messages.
pub fn parse(text: &str, file: &str) -> (LogdConfig, Vec<LogdIssue>) {
    let mut cfg = LogdConfig::default();
    let mut issues = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let mut bp = raw.trim_start_matches(is_blank);
        if let Some(c) = bp.find('#') {
            bp = bp.get(..c).unwrap_or_default();
        }
        if bp.is_empty() {
            continue;
        }
        let name_len = bp.find(is_blank).unwrap_or(bp.len());
        let (name, rest) = bp.split_at(name_len);
        let rest = rest.trim_start_matches(is_delim);
        let value = rest.split(is_delim).next().unwrap_or("");
        let mut problem = |error: bool, text: String| issues.push(LogdIssue { line, error, text });
        let Some(directive) = DIRECTIVES.iter().find(|d| d.eq_ignore_ascii_case(name)) else {
            problem(true, format!("Illegal directive [{name}] in {file}"));
            continue;
        };
        let path = |v: &str| (!v.is_empty()).then(|| PathBuf::from(v));
        match *directive {
            "debugfile" => cfg.debugfile = path(value),
            "logfile" => cfg.logfile = path(value),
            "entity" => cfg.entity = value.to_string(),
            "logfacility" => match crate::parse_facility(value) {
                Ok(Some(f)) if f.code() == 0 => {
                    cfg.facility = None;
                    problem(
                        false,
                        format!("logfacility {value}: 2.0.8 takes facility 0 for \"no syslog\": nothing goes to syslog"),
                    );
                }
                Ok(f) => cfg.facility = f,
                Err(_) => problem(
                    true,
                    format!("logfacility [{value}] is not a syslog facility"),
                ),
            },
            "useapphbd" => match value {
                "yes" => cfg.useapphbd = true,
                "no" => cfg.useapphbd = false,
                _ => problem(
                    true,
                    format!("invalid useapphbd option [{value}]: yes or no"),
                ),
            },
            "sendqlen" | "recvqlen" => {
                let n = atoi(value);
                if n < 0 {
                    problem(true, format!("negative {directive} [{value}]"));
                } else if *directive == "sendqlen" {
                    cfg.sendqlen = Some(n);
                } else {
                    cfg.recvqlen = Some(n);
                }
            }
            "logmode" => match u32::from_str_radix(value, 8) {
                Ok(m) if !value.is_empty() && m <= 0o7777 => {
                    if !value.starts_with('0') {
                        problem(false, format!("Log mode [{value}] assumed to be octal"));
                    }
                    cfg.logmode = Some(m);
                }
                _ => problem(true, format!("Invalid log mode [{value}]")),
            },
            _ => {}
        }
    }
    (cfg, issues)
}

/// C's `atoi`: optional blanks and sign, then digits; 0 when there are none.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = digits
        .chars()
        .take_while(char::is_ascii_digit)
        .fold(0i64, |n, c| {
            n.saturating_mul(10)
                .saturating_add(i64::from(c as u8 - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// Reads logd.cf at `path`: its defaults when the file does not exist.
pub fn load(path: &Path) -> io::Result<(LogdConfig, Vec<LogdIssue>)> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let (mut cfg, issues) = parse(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            );
            cfg.source = Some(path.to_path_buf());
            Ok((cfg, issues))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((LogdConfig::default(), Vec::new())),
        Err(e) => Err(e),
    }
}

impl LogdConfig {
    /// A logger writing where logd would, for lines of `entity` (heartbeat's own, or any
    /// writer's through [`Logger::log_as`]).
    pub fn log_config(&self, entity: &str) -> LogConfig {
        LogConfig {
            entity: entity.to_string(),
            logfile: self.logfile.clone(),
            debugfile: self.debugfile.clone(),
            facility: self.facility,
            file_mode: self.logmode.unwrap_or(LOG_FILE_MODE),
            ..LogConfig::default()
        }
    }

    /// What ha_logd said at its start (`logd started with /etc/logd.cf.`).
    pub fn started_line(&self) -> String {
        match &self.source {
            Some(p) => format!("logd started with {}.", p.display()),
            None => "logd started with default configuration.".to_string(),
        }
    }
}

/// The logging daemon's writing side, in this process.
pub struct Logd {
    pub config: LogdConfig,
    pub issues: Vec<LogdIssue>,
    logger: Logger,
}

impl Logd {
    /// logd as configured by `path` (its defaults when the file does not exist); created files
    /// go to hacluster:haclient when we are root, as the daemon's.
    pub fn open(path: &Path) -> io::Result<Logd> {
        let (config, issues) = load(path)?;
        let mut lc = config.log_config(SENDER_ENTITY);
        lc.file_owner = hb_sys::cluster_file_owner();
        // logd writes every line it is given, debug ones included.
        lc.debug_needs_level = false;
        Ok(Logd {
            logger: Logger::new(lc),
            config,
            issues,
        })
    }

    /// logd for the configuration directory `ha_dir` (see [`logd_cf_path`]).
    pub fn for_config_dir(ha_dir: &Path) -> io::Result<Logd> {
        Logd::open(&logd_cf_path(ha_dir))
    }

    /// logd for scripts' programs: the configuration directory is `$HA_DIR` (set by the
    /// daemon and by shellfuncs), else /etc/ha.d.
    pub fn from_env() -> io::Result<Logd> {
        let dir = std::env::var_os("HA_DIR")
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(DEFAULT_HA_DIR), PathBuf::from);
        Logd::for_config_dir(&dir)
    }

    /// Logs one line as `ha_logger [-D ha-debug] -t entity text` does: at info (or debug),
    /// without a level word.
    pub fn log(&self, entity: &str, debug: bool, text: &str) -> Delivery {
        let level = if debug { Level::Debug } else { Level::Info };
        self.logger.log_as(entity, level, false, text)
    }

    /// Also copy lines to stderr.
    pub fn set_stderr(&self, on: bool) {
        self.logger.set_stderr(on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_the_file() {
        let dir = std::env::temp_dir().join(format!("hb-log-logd-none-{}", std::process::id()));
        let (cfg, issues) = load(&dir.join("logd.cf")).expect("absent is fine");
        assert!(issues.is_empty());
        assert_eq!(cfg, LogdConfig::default());
        assert_eq!(cfg.facility, Some(Facility::LOCAL7));
        assert_eq!((cfg.logfile, cfg.debugfile), (None, None));
        assert_eq!(cfg.entity, "logd");
        let lc = LogdConfig::default().log_config("heartbeat");
        assert_eq!(lc.entity, "heartbeat");
        assert_eq!(lc.file_mode, 0o640);
        assert_eq!(
            LogdConfig::default().started_line(),
            "logd started with default configuration."
        );
    }

    #[test]
    fn the_stock_file_is_all_comments() {
        // 2.0.8's doc/ha_logd.cf: every directive commented out.
        let stock = "#\tFile to write debug messages to\n#debugfile /var/log/ha-debug\n\n#logfile\t/var/log/ha-log\n#logfacility\tlocal7\n#entity logd\n#useapphbd no\n#sendqlen 256 \n#recvqlen 256\n";
        let (cfg, issues) = parse(stock, "logd.cf");
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg, LogdConfig::default());
    }

    #[test]
    fn directives_as_ha_logd_reads_them() {
        let text = "  LogFile /var/log/ha-log trailing words\n\
                    debugfile\t/var/log/ha-debug # a comment\n\
                    logfacility ,local0\n\
                    entity mylogd\n\
                    logmode 0600\n\
                    useapphbd yes\n\
                    sendqlen 512\n\
                    recvqlen abc\n";
        let (cfg, issues) = parse(text, "logd.cf");
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(cfg.logfile.as_deref(), Some(Path::new("/var/log/ha-log")));
        assert_eq!(
            cfg.debugfile.as_deref(),
            Some(Path::new("/var/log/ha-debug"))
        );
        assert_eq!(cfg.facility, Some(Facility::LOCAL0));
        assert_eq!(cfg.entity, "mylogd");
        assert_eq!(cfg.logmode, Some(0o600));
        assert!(cfg.useapphbd);
        assert_eq!((cfg.sendqlen, cfg.recvqlen), (Some(512), Some(0)));
        assert_eq!(cfg.log_config("heartbeat").file_mode, 0o600);
        // The last line wins; an empty value clears a file.
        let (cfg, _) = parse("logfile /a\nlogfile /b\ndebugfile /d\ndebugfile\n", "f");
        assert_eq!(cfg.logfile.as_deref(), Some(Path::new("/b")));
        assert_eq!(cfg.debugfile, None);
    }

    #[test]
    fn problems_are_reported_and_the_rest_is_used() {
        let text = "logfile /x\nlogfile,/y\nbogus 1\nlogfacility Local0\nuseapphbd maybe\nsendqlen -3\nlogmode 9\nlogmode 640\nlogfacility none\n";
        let (cfg, issues) = parse(text, "/etc/logd.cf");
        let shown: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "ERROR: line 2: Illegal directive [logfile,/y] in /etc/logd.cf",
                "ERROR: line 3: Illegal directive [bogus] in /etc/logd.cf",
                "ERROR: line 4: logfacility [Local0] is not a syslog facility",
                "ERROR: line 5: invalid useapphbd option [maybe]: yes or no",
                "ERROR: line 6: negative sendqlen [-3]",
                "ERROR: line 7: Invalid log mode [9]",
                "WARN: line 8: Log mode [640] assumed to be octal",
            ]
        );
        assert_eq!(cfg.logfile.as_deref(), Some(Path::new("/x")));
        assert_eq!(cfg.logmode, Some(0o640));
        assert_eq!(cfg.facility, None, "none: no syslog");
        let (cfg, issues) = parse("logfacility kern\n", "f");
        assert_eq!(cfg.facility, None);
        assert!(!issues[0].error, "{issues:?}");
    }

    #[test]
    fn where_logd_cf_is() {
        assert_eq!(
            logd_cf_path(Path::new("/etc/ha.d")),
            PathBuf::from("/etc/logd.cf")
        );
        assert_eq!(
            logd_cf_path(Path::new("/tmp/x/ha.d")),
            PathBuf::from("/tmp/x/logd.cf")
        );
        assert_eq!(logd_cf_path(Path::new("/")), PathBuf::from("/etc/logd.cf"));
        assert_eq!(atoi(" 12x"), 12);
        assert_eq!(atoi("-4"), -4);
        assert_eq!(atoi(""), 0);
    }

    #[test]
    fn logd_writes_where_logd_cf_says() {
        let d = std::env::temp_dir().join(format!("hb-log-logd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("ha.d")).unwrap();
        std::fs::write(
            d.join("logd.cf"),
            format!(
                "logfile {0}/ha-log\ndebugfile {0}/ha-debug\nlogfacility none\n",
                d.display()
            ),
        )
        .unwrap();
        let logd = Logd::for_config_dir(&d.join("ha.d")).expect("open");
        assert_eq!(
            logd.config.source.as_deref(),
            Some(d.join("logd.cf").as_path())
        );
        assert!(logd.log("tag", false, "one").ok());
        assert!(logd.log(SENDER_ENTITY, true, "two").ok());
        let log = std::fs::read_to_string(d.join("ha-log")).unwrap();
        let dbg = std::fs::read_to_string(d.join("ha-debug")).unwrap();
        let pid = std::process::id();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            log.starts_with(&format!("tag[{pid}]: ")) && log.ends_with(" one\n"),
            "{log}"
        );
        assert_eq!(dbg.lines().count(), 2, "{dbg}");
        let second = dbg.lines().nth(1).unwrap();
        assert!(
            second.starts_with(&format!("cluster[{pid}]: ")) && second.ends_with(" two"),
            "{dbg}"
        );
        // No level word in lines ha_logger sends.
        assert!(!log.contains("info:"), "{log}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
