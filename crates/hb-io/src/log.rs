//! The daemon's logger: 2.0.8 log file lines, debug file, syslog and (in the foreground) stderr.
//!
//! File and stderr lines have the 2.0.8 format (`lib/clplumbing/cl_log.c`, read for facts):
//! `heartbeat[PID]: YYYY/MM/DD_HH:MM:SS LEVEL: text`, local time, LEVEL one of
//! `EMERG ALERT CRIT ERROR WARN notice info debug`.
//! - `logfile` gets every level but `debug`; `debugfile` gets every level; stderr every level.
//! - Like the original, each line opens the file in append mode, writes and closes it, so a
//!   logrotate that just renames the file (Debian's /etc/logrotate.d/heartbeat has no postrotate)
//!   is followed at the next line; [`Logger::reopen`] only reconnects syslog.
//! - syslog: facility from `logfacility`, ident `heartbeat` without LOG_PID, message
//!   `[PID]: LEVEL: text`, so syslog shows `heartbeat: [PID]: info: text` as with the original.
//!   The syslog socket is non-blocking: a stuck syslog daemon costs lost lines, never a stall.
//!
//! - A log or debug file we create is 0640 ([`LOG_FILE_MODE`]) and, as root, is given to
//!   hacluster:haclient as the original chowns its files (2.0.8 created them 0644: readable by
//!   every user). An existing file keeps its mode and owner.
//!
//! Writing never panics: a failure is reported once on stderr (and to syslog for file errors),
//! then ignored until that sink works again.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use syslog::Facility;
use syslog::{LogFormat, LoggerBackend, Severity};

/// The process name used in every line.
pub const ENTITY: &str = "heartbeat";

/// Log levels, most severe first (the syslog priorities).
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
    /// The word written in log lines (`EMERG` … `WARN`, `notice`, `info`, `debug`).
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

    /// The syslog severity number (0 = emerg … 7 = debug).
    pub fn severity(self) -> u8 {
        self as u8
    }

    fn syslog_severity(self) -> Severity {
        match self {
            Level::Emerg => Severity::LOG_EMERG,
            Level::Alert => Severity::LOG_ALERT,
            Level::Crit => Severity::LOG_CRIT,
            Level::Error => Severity::LOG_ERR,
            Level::Warn => Severity::LOG_WARNING,
            Level::Notice => Severity::LOG_NOTICE,
            Level::Info => Severity::LOG_INFO,
            Level::Debug => Severity::LOG_DEBUG,
        }
    }
}

/// `logfacility` named something unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFacility(pub String);

impl std::fmt::Display for UnknownFacility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The original's wording.
        write!(f, "Log facility({}) not valid", self.0)
    }
}

impl std::error::Error for UnknownFacility {}

/// Parse a `logfacility` value: the names 2.0.8 accepts (exact, lower case: `auth`, `security`,
/// `authpriv`, `cron`, `daemon`, `ftp`, `kern`, `lpr`, `mail`, `news`, `syslog`, `user`, `uucp`,
/// `local0`…`local7`), plus `none` = no syslog (`Ok(None)`; accepted by 3.0.x).
pub fn parse_facility(name: &str) -> Result<Option<Facility>, UnknownFacility> {
    let f = match name {
        "none" => return Ok(None),
        "auth" | "security" => Facility::LOG_AUTH,
        "authpriv" => Facility::LOG_AUTHPRIV,
        "cron" => Facility::LOG_CRON,
        "daemon" => Facility::LOG_DAEMON,
        "ftp" => Facility::LOG_FTP,
        "kern" => Facility::LOG_KERN,
        "lpr" => Facility::LOG_LPR,
        "mail" => Facility::LOG_MAIL,
        "news" => Facility::LOG_NEWS,
        "syslog" => Facility::LOG_SYSLOG,
        "user" => Facility::LOG_USER,
        "uucp" => Facility::LOG_UUCP,
        "local0" => Facility::LOG_LOCAL0,
        "local1" => Facility::LOG_LOCAL1,
        "local2" => Facility::LOG_LOCAL2,
        "local3" => Facility::LOG_LOCAL3,
        "local4" => Facility::LOG_LOCAL4,
        "local5" => Facility::LOG_LOCAL5,
        "local6" => Facility::LOG_LOCAL6,
        "local7" => Facility::LOG_LOCAL7,
        _ => return Err(UnknownFacility(name.to_string())),
    };
    Ok(Some(f))
}

/// Where the logger writes.
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    /// `logfile`: every level but debug.
    pub logfile: Option<PathBuf>,
    /// `debugfile`: every level.
    pub debugfile: Option<PathBuf>,
    /// `logfacility`; `None` = no syslog.
    pub facility: Option<Facility>,
    /// Also write to stderr (foreground, before daemonizing).
    pub stderr: bool,
    /// The debug level (`-d` count, `debug` directive, SIGUSR1/SIGUSR2).
    pub debug_level: u32,
    /// uid and gid to give the log files we create (the daemon, as root: hacluster and
    /// haclient, as the original chowns them); `None`: they stay ours.
    pub file_owner: Option<(u32, u32)>,
}

/// The mode of a log or debug file we create: read and write for its owner, read for its
/// group (haclient once the daemon gave it away), nothing for others (2.0.8 made them 0644:
/// anyone could read the cluster's log). Existing files keep their mode.
pub const LOG_FILE_MODE: u32 = 0o640;

/// Local time as `YYYY/MM/DD_HH:MM:SS` (2.0.8 `ha_timestamp`).
pub fn timestamp(t: SystemTime) -> String {
    strftime_local(t, b"%Y/%m/%d_%H:%M:%S\0").unwrap_or_else(|| "0000/00/00_00:00:00".to_string())
}

/// Local time as syslog wants it: `Mmm dd HH:MM:SS` (day space-padded).
fn syslog_timestamp(t: SystemTime) -> String {
    strftime_local(t, b"%b %e %H:%M:%S\0").unwrap_or_else(|| "Jan  1 00:00:00".to_string())
}

/// `fmt` must be NUL-terminated.
fn strftime_local(t: SystemTime, fmt: &[u8]) -> Option<String> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => libc::time_t::try_from(d.as_secs()).ok()?,
        Err(e) => -libc::time_t::try_from(e.duration().as_secs()).ok()?,
    };
    if fmt.last() != Some(&0) {
        return None;
    }
    // SAFETY: tm is plain data; localtime_r fills it or returns NULL; strftime writes at most
    // buf.len() bytes and returns the length written (0 on failure); fmt is NUL-terminated.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return None;
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            fmt.as_ptr() as *const libc::c_char,
            &tm,
        );
        if n == 0 {
            return None;
        }
        buf.get(..n)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// One 2.0.8 log line, with its newline.
pub fn format_line(pid: u32, t: SystemTime, level: Level, text: &str) -> String {
    format!(
        "{ENTITY}[{pid}]: {} {}: {text}\n",
        timestamp(t),
        level.as_str()
    )
}

/// Our syslog formatter: `<PRI>Mmm dd HH:MM:SS heartbeat: [PID]: LEVEL: text`, which is what glibc's
/// syslog() sends for the original (ident `heartbeat`, no LOG_PID).
#[derive(Clone)]
struct HbSyslogFormat {
    facility: Facility,
}

impl LogFormat<(u32, Level, &str)> for HbSyslogFormat {
    fn format<W: Write>(
        &self,
        w: &mut W,
        severity: Severity,
        msg: (u32, Level, &str),
    ) -> syslog::Result<()> {
        let (pid, level, text) = msg;
        let pri = self.facility as u32 | severity as u32;
        let line = format!(
            "<{pri}>{} {ENTITY}: [{pid}]: {}: {text}",
            syslog_timestamp(SystemTime::now()),
            level.as_str()
        );
        w.write_all(line.as_bytes()).map_err(syslog::Error::from)?;
        w.flush().map_err(syslog::Error::from)
    }
}

type SyslogConn = syslog::Logger<LoggerBackend, HbSyslogFormat>;

const SYSLOG_RETRY: Duration = Duration::from_secs(10);

struct State {
    debug_level: u32,
    stderr: bool,
    syslog: Option<SyslogConn>,
    last_connect: Option<Instant>,
    syslog_failed: bool,
    logfile_failed: bool,
    debugfile_failed: bool,
    write_errors: u64,
}

/// The daemon's logger. All methods take `&self` (state is behind a mutex), so it can be shared.
pub struct Logger {
    file_owner: Option<(u32, u32)>,
    logfile: Option<PathBuf>,
    debugfile: Option<PathBuf>,
    facility: Option<Facility>,
    syslog_socket: Option<PathBuf>,
    state: Mutex<State>,
}

/// Appends `line` to the log file `path` in one write. A file we create gets
/// [`LOG_FILE_MODE`] (less the umask) and, if given, the owner; an existing file is left as
/// it is (its mode is never widened).
pub fn append_line(path: &Path, line: &str, owner: Option<(u32, u32)>) -> io::Result<()> {
    let open = |create: bool| {
        let mut o = OpenOptions::new();
        o.append(true)
            .mode(LOG_FILE_MODE)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY);
        if create {
            o.create_new(true);
        }
        o.open(path)
    };
    let mut f = match open(false) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => match open(true) {
            Ok(f) => {
                if let Some((uid, gid)) = owner {
                    use std::os::fd::AsRawFd;
                    // SAFETY: fchown on a descriptor we own; a failure leaves the file ours.
                    let _ = unsafe { libc::fchown(f.as_raw_fd(), uid, gid) };
                }
                f
            }
            // Another writer created it meanwhile.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(false)?,
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    // One write call, so concurrent appenders do not interleave within a line.
    f.write_all(line.as_bytes())
}

fn make_nonblocking(conn: &SyslogConn) -> io::Result<()> {
    match &conn.backend {
        LoggerBackend::Unix(d) => d.set_nonblocking(true),
        LoggerBackend::UnixStream(s) => s.get_ref().set_nonblocking(true),
        LoggerBackend::Udp(s, _) => s.set_nonblocking(true),
        LoggerBackend::Tcp(s) => s.get_ref().set_nonblocking(true),
    }
}

impl Logger {
    /// A logger for `cfg`, syslog through /dev/log (connected at the first line that needs it).
    pub fn new(cfg: LogConfig) -> Logger {
        Logger::build(cfg, None)
    }

    /// Like [`Logger::new`] with another syslog socket path (tests, chroots).
    pub fn with_syslog_socket(cfg: LogConfig, socket: &Path) -> Logger {
        Logger::build(cfg, Some(socket.to_path_buf()))
    }

    fn build(cfg: LogConfig, syslog_socket: Option<PathBuf>) -> Logger {
        // SAFETY: tzset only reads TZ and /etc/localtime; localtime_r relies on it having run.
        unsafe { tzset() };
        Logger {
            file_owner: cfg.file_owner,
            logfile: cfg.logfile,
            debugfile: cfg.debugfile,
            facility: cfg.facility,
            syslog_socket,
            state: Mutex::new(State {
                debug_level: cfg.debug_level,
                stderr: cfg.stderr,
                syslog: None,
                last_connect: None,
                syslog_failed: false,
                logfile_failed: false,
                debugfile_failed: false,
                write_errors: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Log one line at `level` to every configured sink.
    pub fn log(&self, level: Level, text: &str) {
        let pid = std::process::id();
        let now = SystemTime::now();
        let line = format_line(pid, now, level, text);
        let mut st = self.state();
        if st.stderr {
            let _ = io::stderr().write_all(line.as_bytes());
        }
        self.to_syslog(&mut st, pid, level, text);
        if let Some(path) = &self.debugfile {
            let r = append_line(path, &line, self.file_owner);
            self.file_result(&mut st, path, r, true);
        }
        if level != Level::Debug {
            if let Some(path) = &self.logfile {
                let r = append_line(path, &line, self.file_owner);
                self.file_result(&mut st, path, r, false);
            }
        }
    }

    /// Log `text` at debug level if the debug level is at least `min_level`.
    pub fn debug(&self, min_level: u32, text: &str) {
        if self.debug_level() >= min_level {
            self.log(Level::Debug, text);
        }
    }

    pub fn debug_level(&self) -> u32 {
        self.state().debug_level
    }

    pub fn set_debug_level(&self, level: u32) {
        self.state().debug_level = level;
    }

    /// Turn stderr output on or off (off once daemonized).
    pub fn set_stderr(&self, on: bool) {
        self.state().stderr = on;
    }

    /// Drop and reconnect the syslog connection at the next line (e.g. on SIGHUP). Files need
    /// nothing: each line opens them anew.
    pub fn reopen(&self) {
        let mut st = self.state();
        st.syslog = None;
        st.last_connect = None;
    }

    /// The log and debug files that exist and that every user may read, with their mode
    /// (the daemon warns about them at start: 2.0.8 created its files 0644).
    pub fn readable_by_all(&self) -> Vec<(PathBuf, u32)> {
        use std::os::unix::fs::MetadataExt;
        let mut out: Vec<(PathBuf, u32)> = Vec::new();
        for p in [&self.logfile, &self.debugfile].into_iter().flatten() {
            if let Ok(m) = std::fs::metadata(p) {
                let mode = m.mode() & 0o7777;
                if mode & 0o004 != 0 && !out.iter().any(|(q, _)| q == p) {
                    out.push((p.clone(), mode));
                }
            }
        }
        out
    }

    /// How many writes failed so far (files and syslog).
    pub fn write_errors(&self) -> u64 {
        self.state().write_errors
    }

    fn file_result(&self, st: &mut State, path: &Path, r: io::Result<()>, debug: bool) {
        let failed = if debug {
            &mut st.debugfile_failed
        } else {
            &mut st.logfile_failed
        };
        match r {
            Ok(()) => *failed = false,
            Err(e) => {
                let first = !*failed;
                *failed = true;
                st.write_errors += 1;
                if first {
                    let msg = format!("Cannot open {}: {e}", path.display());
                    let _ = writeln!(io::stderr(), "{ENTITY}: {msg}");
                    self.to_syslog(st, std::process::id(), Level::Error, &msg);
                }
            }
        }
    }

    fn to_syslog(&self, st: &mut State, pid: u32, level: Level, text: &str) {
        let Some(facility) = self.facility else {
            return;
        };
        if st.syslog.is_none() {
            let due = !matches!(st.last_connect, Some(t) if t.elapsed() < SYSLOG_RETRY);
            if !due {
                return;
            }
            st.last_connect = Some(Instant::now());
            let fmt = HbSyslogFormat { facility };
            let conn = match &self.syslog_socket {
                Some(p) => syslog::unix_custom(fmt, p),
                None => syslog::unix(fmt),
            };
            match conn {
                Ok(c) => {
                    let _ = make_nonblocking(&c);
                    st.syslog = Some(c);
                    st.syslog_failed = false;
                }
                Err(e) => {
                    st.write_errors += 1;
                    if !st.syslog_failed {
                        st.syslog_failed = true;
                        let _ = writeln!(io::stderr(), "{ENTITY}: cannot connect to syslog: {e}");
                    }
                    return;
                }
            }
        }
        let Some(conn) = st.syslog.as_mut() else {
            return;
        };
        let sev = level.syslog_severity();
        let r = conn
            .formatter
            .format(&mut conn.backend, sev, (pid, level, text));
        if let Err(e) = r {
            st.write_errors += 1;
            let would_block = matches!(e.kind(), syslog::ErrorKind::Io(io) if io.kind() == io::ErrorKind::WouldBlock);
            if !would_block {
                // Broken connection (syslog daemon restarted): reconnect later.
                st.syslog = None;
            }
            if !st.syslog_failed {
                st.syslog_failed = true;
                let _ = writeln!(io::stderr(), "{ENTITY}: cannot write to syslog: {e}");
            }
        } else {
            st.syslog_failed = false;
        }
    }
}

extern "C" {
    fn tzset();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hb-io-log-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create temp dir");
        d
    }

    /// `heartbeat[PID]: YYYY/MM/DD_HH:MM:SS LEVEL: text`
    fn check_line(line: &str, level: &str, text: &str) {
        let prefix = format!("heartbeat[{}]: ", std::process::id());
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("prefix of {line:?}"));
        let (ts, rest) = rest.split_at(19);
        check_timestamp(ts);
        assert_eq!(rest, format!(" {level}: {text}"), "{line:?}");
    }

    fn check_timestamp(ts: &str) {
        assert_eq!(ts.len(), 19, "{ts:?}");
        for (i, c) in ts.chars().enumerate() {
            let want = match i {
                4 | 7 => Some('/'),
                10 => Some('_'),
                13 | 16 => Some(':'),
                _ => None,
            };
            match want {
                Some(w) => assert_eq!(c, w, "{ts:?} at {i}"),
                None => assert!(c.is_ascii_digit(), "{ts:?} at {i}"),
            }
        }
    }

    #[test]
    fn levels_and_facilities() {
        let names: Vec<&str> = [
            Level::Emerg,
            Level::Alert,
            Level::Crit,
            Level::Error,
            Level::Warn,
            Level::Notice,
            Level::Info,
            Level::Debug,
        ]
        .iter()
        .map(|l| l.as_str())
        .collect();
        assert_eq!(
            names,
            ["EMERG", "ALERT", "CRIT", "ERROR", "WARN", "notice", "info", "debug"]
        );
        assert_eq!(Level::Warn.severity(), 4);
        assert!(Level::Crit < Level::Info);
        assert!(matches!(parse_facility("none"), Ok(None)));
        assert!(matches!(
            parse_facility("local0"),
            Ok(Some(Facility::LOG_LOCAL0))
        ));
        assert!(matches!(
            parse_facility("daemon"),
            Ok(Some(Facility::LOG_DAEMON))
        ));
        assert!(matches!(
            parse_facility("security"),
            Ok(Some(Facility::LOG_AUTH))
        ));
        let e = parse_facility("Local0").expect_err("names are exact");
        assert_eq!(e.to_string(), "Log facility(Local0) not valid");
        assert!(parse_facility("local8").is_err());
    }

    #[test]
    fn timestamp_shape_and_line_format() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_610_848);
        let ts = timestamp(t);
        check_timestamp(&ts);
        assert!(ts.starts_with("2026/11/"), "{ts}");
        let line = format_line(6765, t, Level::Warn, "node b: is dead");
        assert_eq!(
            line,
            format!("heartbeat[6765]: {ts} WARN: node b: is dead\n")
        );
        let st = syslog_timestamp(t);
        assert!(st.starts_with("Nov "), "{st}");
        assert_eq!(st.len(), 15, "{st:?}");
    }

    #[test]
    fn files_get_their_levels_and_follow_rotation() {
        let d = temp_dir("files");
        let logfile = d.join("ha-log");
        let debugfile = d.join("ha-debug");
        let lg = Logger::new(LogConfig {
            logfile: Some(logfile.clone()),
            debugfile: Some(debugfile.clone()),
            facility: None,
            stderr: false,
            debug_level: 1,
            file_owner: None,
        });
        lg.log(Level::Info, "Link b:eth1 up.");
        lg.log(Level::Debug, "debug only");
        lg.debug(2, "not at debug level 1");
        lg.debug(1, "at debug level 1");
        lg.log(
            Level::Crit,
            "Late heartbeat: Node b: interval 5770 ms (> deadtime)",
        );

        let log = std::fs::read_to_string(&logfile).expect("logfile");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        check_line(lines[0], "info", "Link b:eth1 up.");
        check_line(
            lines[1],
            "CRIT",
            "Late heartbeat: Node b: interval 5770 ms (> deadtime)",
        );

        let dbg = std::fs::read_to_string(&debugfile).expect("debugfile");
        let lines: Vec<&str> = dbg.lines().collect();
        assert_eq!(lines.len(), 4, "{dbg}");
        check_line(lines[1], "debug", "debug only");
        check_line(lines[2], "debug", "at debug level 1");

        // logrotate renames the file: the next line creates a new one.
        std::fs::rename(&logfile, d.join("ha-log.1")).expect("rotate");
        lg.set_debug_level(0);
        assert_eq!(lg.debug_level(), 0);
        lg.log(Level::Notice, "after rotation");
        let log = std::fs::read_to_string(&logfile).expect("new logfile");
        assert_eq!(log.lines().count(), 1);
        check_line(log.trim_end(), "notice", "after rotation");
        let old = std::fs::read_to_string(d.join("ha-log.1")).expect("rotated");
        assert_eq!(old.lines().count(), 2, "the rotated file is left alone");
        assert_eq!(lg.write_errors(), 0);
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    fn mode_of(p: &Path) -> u32 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).expect("metadata").mode() & 0o7777
    }

    #[test]
    fn new_files_are_not_readable_by_all_and_old_modes_stay() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = temp_dir("modes");
        // SAFETY: umask only changes this process's file creation mask.
        let old_umask = unsafe { libc::umask(0o022) };
        let logfile = d.join("ha-log");
        let debugfile = d.join("ha-debug");
        let lg = Logger::new(LogConfig {
            logfile: Some(logfile.clone()),
            debugfile: Some(debugfile.clone()),
            ..LogConfig::default()
        });
        lg.log(Level::Info, "created");
        assert_eq!(
            mode_of(&logfile),
            0o640,
            "a new log file: rw for its owner, r for the group"
        );
        assert_eq!(mode_of(&debugfile), 0o640);
        // Files that exist keep their mode, whatever it is: never widened, and an admin's
        // choice is not undone either.
        let narrow = d.join("narrow");
        std::fs::write(&narrow, b"").unwrap();
        std::fs::set_permissions(&narrow, std::fs::Permissions::from_mode(0o600)).unwrap();
        let wide = d.join("wide");
        std::fs::write(&wide, b"").unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
        let lg = Logger::new(LogConfig {
            logfile: Some(narrow.clone()),
            debugfile: Some(wide.clone()),
            ..LogConfig::default()
        });
        lg.log(Level::Info, "appended");
        assert_eq!(mode_of(&narrow), 0o600);
        assert_eq!(mode_of(&wide), 0o644);
        assert_eq!(std::fs::read_to_string(&narrow).unwrap().lines().count(), 1);
        assert_eq!(
            lg.readable_by_all(),
            vec![(wide.clone(), 0o644)],
            "the daemon warns about the world-readable one"
        );
        // With an owner (the daemon, as root: hacluster:haclient, as the original), a new
        // file is given to it; an existing one is not.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let owned = d.join("owned");
            let lg = Logger::new(LogConfig {
                logfile: Some(owned.clone()),
                debugfile: Some(wide.clone()),
                file_owner: Some((4242, 4343)),
                ..LogConfig::default()
            });
            lg.log(Level::Info, "given away");
            let m = std::fs::metadata(&owned).unwrap();
            assert_eq!((m.uid(), m.gid()), (4242, 4343));
            assert_eq!(m.mode() & 0o7777, 0o640);
            let m = std::fs::metadata(&wide).unwrap();
            assert_eq!(
                (m.uid(), m.gid()),
                (0, 0),
                "an existing file keeps its owner"
            );
        }
        // SAFETY: as above.
        unsafe { libc::umask(old_umask) };
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn unwritable_file_is_counted_not_fatal() {
        let d = temp_dir("bad");
        let lg = Logger::new(LogConfig {
            logfile: Some(d.join("no-such-dir").join("ha-log")),
            debugfile: Some(d.join("ha-debug")),
            ..LogConfig::default()
        });
        lg.log(Level::Error, "one");
        lg.log(Level::Error, "two");
        assert_eq!(lg.write_errors(), 2);
        let dbg = std::fs::read_to_string(d.join("ha-debug")).expect("debugfile still written");
        assert_eq!(dbg.lines().count(), 2);
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn syslog_lines_look_like_the_originals() {
        let d = temp_dir("syslog");
        let sock_path = d.join("log.sock");
        let server = UnixDatagram::bind(&sock_path).expect("bind fake syslog");
        server
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let lg = Logger::with_syslog_socket(
            LogConfig {
                facility: Some(Facility::LOG_LOCAL0),
                ..LogConfig::default()
            },
            &sock_path,
        );
        lg.log(Level::Info, "Status update for node b: status active");
        lg.log(Level::Warn, "node b: is dead");
        let mut buf = [0u8; 1024];
        let n = server.recv(&mut buf).expect("first syslog datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        // local0 (16) * 8 + info (6) = 134
        assert!(msg.starts_with("<134>"), "{msg}");
        let want = format!(
            " heartbeat: [{}]: info: Status update for node b: status active",
            std::process::id()
        );
        assert!(msg.ends_with(&want), "{msg}");
        assert_eq!(
            msg.len(),
            5 + 15 + want.len(),
            "<PRI>Mmm dd HH:MM:SS then the text: {msg:?}"
        );
        let n = server.recv(&mut buf).expect("second datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(msg.starts_with("<132>"), "local0 warning: {msg}");
        assert!(msg.ends_with("]: WARN: node b: is dead"), "{msg}");

        // The syslog daemon goes away: lines are lost, counted, and nothing panics.
        drop(server);
        std::fs::remove_file(&sock_path).expect("remove socket");
        lg.log(Level::Info, "lost");
        assert!(lg.write_errors() >= 1);
        // It comes back: reopen() reconnects at the next line.
        let server = UnixDatagram::bind(&sock_path).expect("rebind");
        server
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        lg.reopen();
        lg.log(Level::Info, "back");
        let n = server.recv(&mut buf).expect("after reopen");
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("]: info: back"));
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
