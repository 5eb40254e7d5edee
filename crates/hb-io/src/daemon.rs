//! Daemonizing, and the command-line verbs that talk to a running daemon: `-k` (stop), `-s`
//! (status), `-r` (reload = SIGHUP after the caller validated the configuration).
//!
//! Semantics from LOCAL-INTERFACES.md 6.1/6.2 and 2.0.8 `heartbeat.c` (main, make_daemon):
//! - start: the original's parent exits 0 as soon as the daemon is forked, so a daemon that dies
//!   while it starts says nothing to the terminal. Ours waits for the daemon's [`StartReport`]:
//!   ready (exit 0), or the error that stopped the start (printed on stderr, with its exit status),
//!   or the daemon's end before either (exit 1). The daemon has umask 022,
//!   stdin/stdout/stderr on /dev/null, its own session, and works in
//!   `/var/lib/heartbeat/cores/root` (a missing directory is reported, not fatal, as
//!   the original only logs a failed chdir).
//! - `-k`: no live pid → `INFO: Heartbeat already stopped.` on stderr, exit 0; otherwise SIGTERM and
//!   poll once a second until the pid is gone, exit 0; a failed kill → `ERROR: Could not kill pid
//!   N : <error text>`, exit 4 (EPERM/EACCES) or 1.
//! - `-s`: `heartbeat OK [pid N et al] is running on <uname -n, lower case> [<node>]...`, exit 0;
//!   else `heartbeat is stopped. No process`, exit 1 with a stale pid file, 3 without one.
//!
//! Daemonizing uses the `daemonize` crate, which forks twice (fork, setsid, fork) where the
//! original forks once and calls setsid: the daemon is then not a session leader, so it can never
//! acquire a controlling terminal. We call `setpgid(0, 0)` afterwards so that the daemon leads its
//! own process group (pgid = pid), as the original's master did: its shutdown signals its whole
//! process group. The crate's own pid file (a different format, flock) is not used: create ours
//! with [`crate::state::create_pidfile`] in the daemon.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use daemonize::{Daemonize, Outcome};

use crate::state::{self, PidStatus};

/// The daemon's working directory (core dumps land there).
pub const CORE_ROOT_DIR: &str = "/var/lib/heartbeat/cores/root";

/// Exit statuses (LSB, as the original uses them).
pub const EXIT_OK: i32 = 0;
pub const EXIT_GENERIC: i32 = 1;
pub const EXIT_EPERM: i32 = 4;
pub const STATUS_DEAD_PIDFILE: i32 = 1;
pub const STATUS_STOPPED: i32 = 3;

/// Daemonizing failed (only in the process that saw the failure; see [`daemonize`]).
#[derive(Debug)]
pub struct DaemonizeError(pub String);

impl fmt::Display for DaemonizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not start daemon: {}", self.0)
    }
}

impl std::error::Error for DaemonizeError {}

/// What the daemon should know after [`daemonize`].
#[derive(Debug)]
pub struct Daemonized {
    /// `workdir` was not usable, the daemon works in `/` instead; the caller should log
    /// `Cannot chdir to [<dir>]: <error>`.
    pub chdir_failed: Option<(PathBuf, io::Error)>,
}

fn exit_code_of_wait_status(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        EXIT_GENERIC
    }
}

/// The daemon's half of the start-up report: the process that ran `heartbeat` waits for it
/// (see [`daemonize`]). Report once: [`StartReport::ready`] when the daemon runs, or
/// [`StartReport::failed`] with the reason and exit status that stop it. Dropped without a
/// report (the daemon died), the waiting process says so and exits 1.
#[derive(Debug, Default)]
pub struct StartReport {
    fd: Option<std::os::fd::OwnedFd>,
}

/// The first byte of a report: the daemon runs.
const REPORT_READY: u8 = b'R';
/// The first byte of a report: the start failed; then the exit status (one byte) and the text.
const REPORT_FAILED: u8 = b'F';

impl StartReport {
    /// A report nobody waits for (foreground, restart in place).
    pub fn none() -> StartReport {
        StartReport { fd: None }
    }

    /// Whether someone still waits for the report.
    pub fn pending(&self) -> bool {
        self.fd.is_some()
    }

    fn send(&mut self, bytes: &[u8]) {
        if let Some(fd) = self.fd.take() {
            let mut f = std::fs::File::from(fd);
            let _ = f.write_all(bytes);
        }
    }

    /// The daemon is up: the waiting process exits 0.
    pub fn ready(&mut self) {
        self.send(&[REPORT_READY]);
    }

    /// The start failed: the waiting process prints `text` on stderr and exits with `code`.
    pub fn failed(&mut self, code: i32, text: &str) {
        let mut b = vec![REPORT_FAILED, u8::try_from(code).unwrap_or(1)];
        b.extend_from_slice(text.as_bytes());
        self.send(&b);
    }
}

/// What the waiting process does with a report: the text for stderr and the exit status.
pub fn report_outcome(report: &[u8]) -> (String, i32) {
    match report {
        [REPORT_READY, ..] => (String::new(), EXIT_OK),
        [REPORT_FAILED, code, text @ ..] => {
            let mut t = String::from_utf8_lossy(text).into_owned();
            if !t.is_empty() && !t.ends_with('\n') {
                t.push('\n');
            }
            (t, i32::from(*code))
        }
        _ => (
            "heartbeat: the daemon ended while it was starting (see its log)\n".to_string(),
            EXIT_GENERIC,
        ),
    }
}

fn cloexec_pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and ours.
    Ok(unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    })
}

/// Become a daemon. Returns only in the daemon, with the [`StartReport`] to send once it runs
/// or fails. The calling process waits for that report, prints the reason of a failure on
/// stderr and exits with its status (or with the intermediate child's status if that failed).
/// Call it before creating threads, signalfds or sockets that the daemon should not share.
pub fn daemonize(workdir: &Path) -> Result<(Daemonized, StartReport), DaemonizeError> {
    // Anything still buffered would otherwise be written by several processes.
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    let (dir, chdir_failed) = match std::fs::metadata(workdir) {
        Ok(m) if m.is_dir() => (workdir.to_path_buf(), None),
        Ok(_) => (
            PathBuf::from("/"),
            Some((
                workdir.to_path_buf(),
                io::Error::from_raw_os_error(libc::ENOTDIR),
            )),
        ),
        Err(e) => (PathBuf::from("/"), Some((workdir.to_path_buf(), e))),
    };
    let (rx, tx) = cloexec_pipe().map_err(|e| DaemonizeError(format!("pipe: {e}")))?;
    let d = Daemonize::new().working_directory(&dir).umask(0o022u32);
    match d.execute() {
        Outcome::Parent(Ok(p)) => {
            drop(tx);
            let code = exit_code_of_wait_status(p.first_child_exit_code);
            if code != EXIT_OK {
                std::process::exit(code);
            }
            let mut report = Vec::new();
            let _ = io::Read::read_to_end(&mut std::fs::File::from(rx), &mut report);
            let (text, code) = report_outcome(&report);
            let _ = io::stderr().write_all(text.as_bytes());
            std::process::exit(code);
        }
        Outcome::Parent(Err(e)) => Err(DaemonizeError(e.to_string())),
        Outcome::Child(Err(e)) => Err(DaemonizeError(e.to_string())),
        Outcome::Child(Ok(_)) => {
            drop(rx);
            // SAFETY: setpgid on ourselves; failure only means we stay in the crate's group.
            unsafe {
                libc::setpgid(0, 0);
            }
            Ok((Daemonized { chdir_failed }, StartReport { fd: Some(tx) }))
        }
    }
}

/// `coredumps` as 2.0.8 applies it when it reads ha.cf (cluster-glue's `cl_enable_coredumps`):
/// on, the soft core-size limit is raised to the hard one (a hard limit of 0 is lifted to
/// unlimited first when running as root); off, it is set to 0. The daemon and every child it
/// starts inherit it. Returns the line to log when that is not possible (2.0.8 refused to
/// start then; the daemon runs on).
pub fn set_core_dumps(enable: bool) -> Option<String> {
    let mut rlim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut rlim) } < 0 {
        return Some(format!(
            "Cannot get current core limit value: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: geteuid has no preconditions.
    if rlim.rlim_max == 0 && unsafe { libc::geteuid() } == 0 {
        rlim.rlim_max = libc::RLIM_INFINITY;
    }
    rlim.rlim_cur = if enable { rlim.rlim_max } else { 0 };
    // SAFETY: setrlimit with a struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &rlim) } < 0 {
        return Some(format!(
            "Unable to {} core dumps: {}",
            if enable { "enable" } else { "disable" },
            io::Error::last_os_error()
        ));
    }
    (enable && rlim.rlim_max == 0)
        .then(|| "Not possible to enable core dumps (rlim_max is 0)".to_string())
}

/// `strerror(errno)` without Rust's " (os error N)" suffix, as perror() prints it.
pub fn strerror(errno: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: libc's strerror_r on Linux is the XSI version: it writes a NUL-terminated message
    // of at most buf.len() bytes and returns 0 on success.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned()
}

/// The `-k` error line for a failed kill and its exit status.
pub fn kill_failure(pid: i32, errno: i32) -> (String, i32) {
    let code = if errno == libc::EPERM || errno == libc::EACCES {
        EXIT_EPERM
    } else {
        EXIT_GENERIC
    };
    (
        format!("ERROR: Could not kill pid {pid} : {}\n", strerror(errno)),
        code,
    )
}

fn kill(pid: i32, sig: i32) -> Result<(), i32> {
    if pid <= 0 {
        return Err(libc::ESRCH);
    }
    // SAFETY: pid > 0 names a single process.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ESRCH))
    }
}

/// `heartbeat -k`: stop the daemon named by `pidfile`, writing messages to `err` (stderr), and
/// return the exit status. Polls once a second until the process is gone; the original has no
/// limit, `limit` adds one (then `ERROR: Heartbeat pid N did not stop within S seconds`, exit 1).
pub fn stop_running_to(pidfile: &Path, limit: Option<Duration>, err: &mut dyn Write) -> i32 {
    let pid = match state::read_pidfile(pidfile) {
        PidStatus::Running(pid) => pid,
        PidStatus::NoFile | PidStatus::Stale(_) => {
            let _ = err.write_all(b"INFO: Heartbeat already stopped.\n");
            return EXIT_OK;
        }
    };
    if let Err(errno) = kill(pid, libc::SIGTERM) {
        let (msg, code) = kill_failure(pid, errno);
        let _ = err.write_all(msg.as_bytes());
        return code;
    }
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if kill(pid, 0).is_err() {
            return EXIT_OK;
        }
        if let Some(l) = limit {
            if start.elapsed() >= l {
                let _ = writeln!(
                    err,
                    "ERROR: Heartbeat pid {pid} did not stop within {} seconds",
                    l.as_secs()
                );
                return EXIT_GENERIC;
            }
        }
    }
}

/// [`stop_running_to`] with stderr.
pub fn stop_running(pidfile: &Path, limit: Option<Duration>) -> i32 {
    stop_running_to(pidfile, limit, &mut io::stderr())
}

/// `heartbeat -s`: the exit status and the line to print on stdout. `cmdname` is the basename of
/// argv[0] (`heartbeat`), `local_node` the node name (uname or /etc/ha.d/nodeinfo).
pub fn status_text(pidfile: &Path, cmdname: &str, local_node: &str) -> (i32, String) {
    match state::read_pidfile(pidfile) {
        PidStatus::Running(pid) => {
            let uname = hb_sys::nodename()
                .map(|n| n.to_lowercase())
                .unwrap_or_else(|_| local_node.to_string());
            (
                EXIT_OK,
                format!("{cmdname} OK [pid {pid} et al] is running on {uname} [{local_node}]...\n"),
            )
        }
        PidStatus::Stale(_) => (
            STATUS_DEAD_PIDFILE,
            format!("{cmdname} is stopped. No process\n"),
        ),
        PidStatus::NoFile => (
            STATUS_STOPPED,
            format!("{cmdname} is stopped. No process\n"),
        ),
    }
}

/// Why [`signal_running`] did not signal.
#[derive(Debug, PartialEq, Eq)]
pub enum SignalError {
    /// No live daemon (`-r` then starts one).
    NotRunning,
    /// kill() failed with this errno.
    Kill { pid: i32, errno: i32 },
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::NotRunning => f.write_str("heartbeat is not running"),
            SignalError::Kill { pid, errno } => write!(
                f,
                "Unable to send signal to pid {pid}: {}",
                strerror(*errno)
            ),
        }
    }
}

impl std::error::Error for SignalError {}

/// Send `sig` (e.g. `libc::SIGHUP` for `-r`) to the daemon named by `pidfile`; returns its pid.
pub fn signal_running(pidfile: &Path, sig: i32) -> Result<i32, SignalError> {
    match state::read_pidfile(pidfile) {
        PidStatus::Running(pid) => kill(pid, sig)
            .map(|()| pid)
            .map_err(|errno| SignalError::Kill { pid, errno }),
        PidStatus::NoFile | PidStatus::Stale(_) => Err(SignalError::NotRunning),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, Command};

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let d = std::env::temp_dir().join(format!("hb-io-daemon-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).expect("create temp dir");
            TempDir(d)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Kills the child on drop, so a failing test leaves nothing behind.
    struct Guard(Option<Child>);

    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(c) = self.0.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }

    fn write_pidfile(path: &Path, pid: u32) {
        fs::write(path, state::format_pid(pid)).expect("write pid file");
    }

    #[test]
    fn messages_and_codes() {
        assert_eq!(strerror(libc::EPERM), "Operation not permitted");
        assert_eq!(
            kill_failure(6765, libc::EPERM),
            (
                "ERROR: Could not kill pid 6765 : Operation not permitted\n".to_string(),
                4
            )
        );
        assert_eq!(kill_failure(6765, libc::EACCES).1, 4);
        assert_eq!(kill_failure(6765, libc::ESRCH).1, 1);
        assert_eq!(exit_code_of_wait_status(0), 0);
        assert_eq!(exit_code_of_wait_status(6 << 8), 6);
        assert_eq!(exit_code_of_wait_status(libc::SIGKILL), EXIT_GENERIC);
    }

    #[test]
    fn stop_when_nothing_runs() {
        let d = TempDir::new("stopnone");
        let pf = d.0.join("heartbeat.pid");
        let mut err = Vec::new();
        assert_eq!(stop_running_to(&pf, None, &mut err), 0);
        assert_eq!(err, b"INFO: Heartbeat already stopped.\n");

        // Stale pid file: a process that has been reaped.
        let mut c = Command::new("true").spawn().expect("true");
        let pid = c.id();
        c.wait().expect("reap");
        write_pidfile(&pf, pid);
        let mut err = Vec::new();
        assert_eq!(stop_running_to(&pf, None, &mut err), 0);
        assert_eq!(err, b"INFO: Heartbeat already stopped.\n");
    }

    #[test]
    fn stop_waits_until_the_process_is_gone() {
        let d = TempDir::new("stoplive");
        let pf = d.0.join("heartbeat.pid");
        let child = Command::new("sleep").arg("30").spawn().expect("sleep");
        write_pidfile(&pf, child.id());
        // Reap in the background, as init would for the real daemon (a zombie still "exists").
        let reaper = std::thread::spawn(move || {
            let mut c = child;
            c.wait().expect("wait")
        });
        let start = Instant::now();
        let mut err = Vec::new();
        assert_eq!(
            stop_running_to(&pf, Some(Duration::from_secs(20)), &mut err),
            0
        );
        assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "polls once a second"
        );
        let status = reaper.join().expect("reaper");
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn stop_gives_up_at_the_optional_limit() {
        let d = TempDir::new("stoplimit");
        let pf = d.0.join("heartbeat.pid");
        let child = Command::new("sh")
            .args(["-c", "trap '' TERM; exec sleep 30"])
            .spawn()
            .expect("sh");
        let mut guard = Guard(Some(child));
        let pid = guard.0.as_ref().map(|c| c.id()).expect("pid");
        // Let the shell install the trap and exec.
        std::thread::sleep(Duration::from_millis(300));
        write_pidfile(&pf, pid);
        let mut err = Vec::new();
        assert_eq!(
            stop_running_to(&pf, Some(Duration::from_secs(2)), &mut err),
            1
        );
        assert_eq!(
            String::from_utf8_lossy(&err),
            format!("ERROR: Heartbeat pid {pid} did not stop within 2 seconds\n")
        );
        if let Some(c) = guard.0.as_mut() {
            c.kill().expect("kill -9");
            assert_eq!(c.wait().expect("wait").signal(), Some(libc::SIGKILL));
        }
        guard.0 = None;
    }

    #[test]
    fn status_texts() {
        let d = TempDir::new("status");
        let pf = d.0.join("heartbeat.pid");
        assert_eq!(
            status_text(&pf, "heartbeat", "node-a"),
            (3, "heartbeat is stopped. No process\n".to_string())
        );
        let mut c = Command::new("true").spawn().expect("true");
        let dead = c.id();
        c.wait().expect("reap");
        write_pidfile(&pf, dead);
        assert_eq!(
            status_text(&pf, "heartbeat", "node-a"),
            (1, "heartbeat is stopped. No process\n".to_string())
        );
        let me = std::process::id();
        write_pidfile(&pf, me);
        let uname = hb_sys::nodename().expect("uname").to_lowercase();
        assert_eq!(
            status_text(&pf, "heartbeat", "node-a"),
            (
                0,
                format!("heartbeat OK [pid {me} et al] is running on {uname} [node-a]...\n")
            )
        );
    }

    #[test]
    fn signal_running_sends_the_signal() {
        let d = TempDir::new("signal");
        let pf = d.0.join("heartbeat.pid");
        assert_eq!(
            signal_running(&pf, libc::SIGHUP),
            Err(SignalError::NotRunning)
        );
        let child = Command::new("sleep").arg("30").spawn().expect("sleep");
        let mut guard = Guard(Some(child));
        let pid = guard.0.as_ref().map(|c| c.id()).expect("pid");
        write_pidfile(&pf, pid);
        assert_eq!(signal_running(&pf, libc::SIGHUP), Ok(pid as i32));
        let status = guard
            .0
            .as_mut()
            .map(|c| c.wait().expect("wait"))
            .expect("status");
        assert_eq!(status.signal(), Some(libc::SIGHUP));
        guard.0 = None;
    }
}
