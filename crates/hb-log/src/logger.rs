//! The logger of the daemon and of the programs that log like it (ipfail, ha_logger): 2.0.8
//! lines to a log file, a debug file, syslog and (in the foreground) stderr.
//!
//! - `logfile` gets every level but `debug`; `debugfile` gets every level; stderr every level;
//!   syslog every level, under the line's entity as ident.
//! - Files: see [`crate::sink`] (opened for each line, so a rotation by renaming is followed;
//!   created with [`LogConfig::file_mode`] and given to [`LogConfig::file_owner`]).
//! - Writing never panics: a failure is reported once on stderr (and to syslog for file
//!   errors), then ignored until that sink works again.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::format::{format_line, syslog_text};
use crate::sink::{append_line, Sent, Syslog, LOG_FILE_MODE};
use crate::{Facility, Level};

/// The daemon's entity: the name at the start of its lines and its syslog ident.
pub const ENTITY: &str = "heartbeat";

/// Where a logger writes.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The name lines start with and the syslog ident (`heartbeat`, `ipfail`).
    pub entity: String,
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
    /// The mode of the files we create ([`LOG_FILE_MODE`]; logd.cf's `logmode`).
    pub file_mode: u32,
    /// Say on stderr when syslog cannot be reached (once, until it works again); off for
    /// programs whose original used `syslog(3)`, which says nothing.
    pub report_syslog_errors: bool,
    /// The least severe level sent to syslog (`Debug`: every line).
    pub syslog_max: Level,
    /// Drop `Debug` lines while the debug level is 0 (the daemon: the original's callers
    /// write theirs under `ANYDEBUG` only, so no `-d`, no SIGUSR1, no debug line); off for
    /// writers whose callers choose their debug lines themselves (ipfail, logd).
    pub debug_needs_level: bool,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            entity: ENTITY.to_string(),
            logfile: None,
            debugfile: None,
            facility: None,
            stderr: false,
            debug_level: 0,
            file_owner: None,
            file_mode: LOG_FILE_MODE,
            report_syslog_errors: true,
            syslog_max: Level::Debug,
            debug_needs_level: true,
        }
    }
}

/// What became of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Files and syslog the line was for (stderr not counted).
    pub sinks: u32,
    /// Of those, the ones that failed.
    pub failed: u32,
}

impl Delivery {
    /// Written somewhere, or there was nowhere to write it.
    pub fn ok(&self) -> bool {
        self.sinks == 0 || self.failed < self.sinks
    }
}

struct State {
    debug_level: u32,
    stderr: bool,
    facility: Option<Facility>,
    syslog: Syslog,
    logfile_failed: bool,
    debugfile_failed: bool,
    write_errors: u64,
}

/// A logger. All methods take `&self` (state is behind a mutex), so it can be shared.
pub struct Logger {
    entity: String,
    report_syslog_errors: bool,
    syslog_max: Level,
    debug_needs_level: bool,
    file_owner: Option<(u32, u32)>,
    file_mode: u32,
    logfile: Option<PathBuf>,
    debugfile: Option<PathBuf>,
    state: Mutex<State>,
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
        Logger {
            entity: cfg.entity,
            report_syslog_errors: cfg.report_syslog_errors,
            syslog_max: cfg.syslog_max,
            debug_needs_level: cfg.debug_needs_level,
            file_owner: cfg.file_owner,
            file_mode: cfg.file_mode,
            logfile: cfg.logfile,
            debugfile: cfg.debugfile,
            state: Mutex::new(State {
                debug_level: cfg.debug_level,
                stderr: cfg.stderr,
                facility: cfg.facility,
                syslog: Syslog::at(syslog_socket),
                logfile_failed: false,
                debugfile_failed: false,
                write_errors: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Log one line at `level` to every configured sink, under the logger's entity. A
    /// `Debug` line is dropped while the debug level is 0 when
    /// [`LogConfig::debug_needs_level`] says so.
    pub fn log(&self, level: Level, text: &str) {
        if level == Level::Debug && self.debug_needs_level && self.debug_level() == 0 {
            return;
        }
        self.log_as(&self.entity, level, true, text);
    }

    /// Log one line under another entity; without its level word when `with_level` is
    /// false (the lines `ha_logger` gives logd). `level` still chooses the files and the
    /// syslog priority.
    pub fn log_as(&self, entity: &str, level: Level, with_level: bool, text: &str) -> Delivery {
        let pid = std::process::id();
        let shown = with_level.then_some(level);
        let line = format_line(entity, pid, SystemTime::now(), shown, text);
        let mut st = self.state();
        let mut d = Delivery::default();
        if st.stderr {
            let _ = io::stderr().write_all(line.as_bytes());
        }
        if st.facility.is_some() && level <= self.syslog_max {
            d.sinks += 1;
            if !self.to_syslog(&mut st, entity, level, &syslog_text(pid, shown, text)) {
                d.failed += 1;
            }
        }
        if let Some(path) = &self.debugfile {
            d.sinks += 1;
            let r = append_line(path, &line, self.file_mode, self.file_owner);
            if !self.file_result(&mut st, path, r, true) {
                d.failed += 1;
            }
        }
        if level != Level::Debug {
            if let Some(path) = &self.logfile {
                d.sinks += 1;
                let r = append_line(path, &line, self.file_mode, self.file_owner);
                if !self.file_result(&mut st, path, r, false) {
                    d.failed += 1;
                }
            }
        }
        d
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

    /// Log to syslog with `facility` from now on (`None`: no syslog).
    pub fn set_facility(&self, facility: Option<Facility>) {
        self.state().facility = facility;
    }

    /// The entity lines start with.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// Drop and reconnect the syslog connection at the next line (e.g. on SIGHUP). Files need
    /// nothing: each line opens them anew.
    pub fn reopen(&self) {
        self.state().syslog.reopen();
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

    fn file_result(&self, st: &mut State, path: &Path, r: io::Result<()>, debug: bool) -> bool {
        let failed = if debug {
            &mut st.debugfile_failed
        } else {
            &mut st.logfile_failed
        };
        match r {
            Ok(()) => {
                *failed = false;
                true
            }
            Err(e) => {
                let first = !std::mem::replace(failed, true);
                st.write_errors += 1;
                if first {
                    // The original's wording.
                    let msg = format!("Cannot open {}: {e}", path.display());
                    let _ = writeln!(io::stderr(), "{}: {msg}", self.entity);
                    let pid = std::process::id();
                    let text = syslog_text(pid, Some(Level::Error), &msg);
                    self.to_syslog(st, &self.entity, Level::Error, &text);
                }
                false
            }
        }
    }

    fn to_syslog(&self, st: &mut State, ident: &str, level: Level, message: &str) -> bool {
        let Some(facility) = st.facility else {
            return true;
        };
        match st.syslog.send(facility, ident, level, message) {
            Sent::Ok => true,
            Sent::NotConnected => {
                st.write_errors += 1;
                false
            }
            Sent::Failed { why, first } => {
                st.write_errors += 1;
                if first && self.report_syslog_errors {
                    let _ = writeln!(io::stderr(), "{}: {why}", self.entity);
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::check_timestamp;
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hb-log-logger-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create temp dir");
        d
    }

    /// `ENTITY[PID]: YYYY/MM/DD_HH:MM:SS LEVEL: text`
    fn check_line(line: &str, entity: &str, level: Option<&str>, text: &str) {
        let prefix = format!("{entity}[{}]: ", std::process::id());
        let rest = line
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("prefix of {line:?}"));
        let (ts, rest) = rest.split_at(19);
        check_timestamp(ts);
        match level {
            Some(level) => assert_eq!(rest, format!(" {level}: {text}"), "{line:?}"),
            None => assert_eq!(rest, format!(" {text}"), "{line:?}"),
        }
    }

    #[test]
    fn files_get_their_levels_and_follow_rotation() {
        let d = temp_dir("files");
        let logfile = d.join("ha-log");
        let debugfile = d.join("ha-debug");
        let lg = Logger::new(LogConfig {
            logfile: Some(logfile.clone()),
            debugfile: Some(debugfile.clone()),
            debug_level: 1,
            ..LogConfig::default()
        });
        lg.log(Level::Info, "Link b:eth1 up.");
        lg.log(Level::Debug, "debug only");
        lg.debug(2, "not at debug level 1");
        lg.debug(1, "at debug level 1");
        lg.log(
            Level::Crit,
            "Late heartbeat: Node b: interval 5770 ms (> deadtime)",
        );
        let d2 = lg.log_as("cluster", Level::Info, false, "from ha_logger");
        assert_eq!(
            d2,
            Delivery {
                sinks: 2,
                failed: 0
            }
        );
        assert!(d2.ok());

        let log = std::fs::read_to_string(&logfile).expect("logfile");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 3, "{log}");
        check_line(lines[0], "heartbeat", Some("info"), "Link b:eth1 up.");
        check_line(
            lines[1],
            "heartbeat",
            Some("CRIT"),
            "Late heartbeat: Node b: interval 5770 ms (> deadtime)",
        );
        check_line(lines[2], "cluster", None, "from ha_logger");

        let dbg = std::fs::read_to_string(&debugfile).expect("debugfile");
        let lines: Vec<&str> = dbg.lines().collect();
        assert_eq!(lines.len(), 5, "{dbg}");
        check_line(lines[1], "heartbeat", Some("debug"), "debug only");
        check_line(lines[2], "heartbeat", Some("debug"), "at debug level 1");

        // logrotate renames the file: the next line creates a new one.
        std::fs::rename(&logfile, d.join("ha-log.1")).expect("rotate");
        lg.set_debug_level(0);
        assert_eq!(lg.debug_level(), 0);
        lg.log(Level::Notice, "after rotation");
        let log = std::fs::read_to_string(&logfile).expect("new logfile");
        assert_eq!(log.lines().count(), 1);
        check_line(
            log.trim_end(),
            "heartbeat",
            Some("notice"),
            "after rotation",
        );
        let old = std::fs::read_to_string(d.join("ha-log.1")).expect("rotated");
        assert_eq!(old.lines().count(), 3, "the rotated file is left alone");
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
            "rw for its owner, r for the group"
        );
        assert_eq!(mode_of(&debugfile), 0o640);
        // Another mode asked for (logd.cf's logmode).
        let narrow_new = d.join("narrow-new");
        let lg = Logger::new(LogConfig {
            logfile: Some(narrow_new.clone()),
            file_mode: 0o600,
            ..LogConfig::default()
        });
        lg.log(Level::Info, "created");
        assert_eq!(mode_of(&narrow_new), 0o600);
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
    fn debug_lines_need_a_debug_level() {
        let d = temp_dir("nodebug");
        let debugfile = d.join("ha-debug");
        let lg = Logger::new(LogConfig {
            logfile: Some(d.join("ha-log")),
            debugfile: Some(debugfile.clone()),
            ..LogConfig::default()
        });
        lg.log(Level::Debug, "Signing on API client 42 ('casual')");
        lg.log(Level::Info, "an info line");
        let dbg = std::fs::read_to_string(&debugfile).expect("debugfile");
        assert_eq!(dbg.lines().count(), 1, "no debug line at level 0: {dbg}");
        check_line(dbg.trim_end(), "heartbeat", Some("info"), "an info line");
        // SIGUSR1 turns debugging on: debug lines are written from then on.
        lg.set_debug_level(1);
        lg.log(Level::Debug, "now written");
        let dbg = std::fs::read_to_string(&debugfile).expect("debugfile");
        assert_eq!(dbg.lines().count(), 2, "{dbg}");
        // A writer whose callers choose their debug lines (ipfail, logd) writes them.
        let free = Logger::new(LogConfig {
            debugfile: Some(debugfile.clone()),
            debug_needs_level: false,
            ..LogConfig::default()
        });
        free.log(Level::Debug, "ipfail's");
        assert_eq!(
            std::fs::read_to_string(&debugfile).unwrap().lines().count(),
            3
        );
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
        let r = lg.log_as("x", Level::Error, false, "two");
        assert_eq!(
            r,
            Delivery {
                sinks: 2,
                failed: 1
            }
        );
        assert!(r.ok(), "the debug file got it");
        assert_eq!(lg.write_errors(), 2);
        let dbg = std::fs::read_to_string(d.join("ha-debug")).expect("debugfile still written");
        assert_eq!(dbg.lines().count(), 2);
        let only_bad = Logger::new(LogConfig {
            logfile: Some(d.join("no-such-dir").join("ha-log")),
            ..LogConfig::default()
        });
        assert!(!only_bad.log_as("x", Level::Info, false, "lost").ok());
        assert!(Logger::new(LogConfig::default())
            .log_as("x", Level::Info, false, "nowhere")
            .ok());
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
                facility: Some(Facility::LOCAL0),
                ..LogConfig::default()
            },
            &sock_path,
        );
        lg.log(Level::Info, "Status update for node b: status active");
        lg.log(Level::Warn, "node b: is dead");
        lg.log_as("tag", Level::Debug, false, "a script's line");
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
        let n = server.recv(&mut buf).expect("third datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(msg.starts_with("<135>"), "local0 debug: {msg}");
        let want = format!(" tag: [{}]: a script's line", std::process::id());
        assert!(msg.ends_with(&want), "{msg}");

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
        // No facility: no syslog.
        lg.set_facility(None);
        lg.log(Level::Info, "not sent");
        server
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert!(server.recv(&mut buf).is_err());
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
