//! Where lines go: appended to a file, or sent to syslog.
//!
//! - Files: each line opens the file in append mode, writes it in one call and closes it, as
//!   the original does, so a logrotate that only renames the file is followed at the next line.
//!   A file we create gets a mode (normally [`LOG_FILE_MODE`]) and, if given, an owner; an
//!   existing file keeps both.
//! - Syslog: `<PRI>Mmm dd HH:MM:SS IDENT: message` on /dev/log (what glibc's `syslog()` sends
//!   with `openlog(IDENT, 0, facility)`), through a non-blocking socket: a stuck syslog daemon
//!   costs lost lines, never a stall. A broken connection is made again at most every 10 s.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use syslog::LoggerBackend;

use crate::format::syslog_timestamp;
use crate::{Facility, Level};

/// The mode of a log or debug file we create: read and write for its owner, read for its
/// group (haclient once the daemon gave it away), nothing for others (2.0.8 made them 0644:
/// anyone could read the cluster's log). Existing files keep their mode.
pub const LOG_FILE_MODE: u32 = 0o640;

/// Appends `line` to the file `path` in one write. A file we create gets `mode` (less the
/// umask) and, if given, the owner; an existing file is left as it is (its mode is never
/// widened).
pub fn append_line(
    path: &Path,
    line: &str,
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let open = |create: bool| {
        let mut o = OpenOptions::new();
        o.append(true)
            .mode(mode)
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

/// How long a failed syslog connection waits before it is tried again.
const SYSLOG_RETRY: Duration = Duration::from_secs(10);

/// What became of one syslog message.
#[derive(Debug)]
pub enum Sent {
    Ok,
    /// Not connected, and the next attempt is not due yet: the message is lost.
    NotConnected,
    /// Lost; `first` when the previous message went through (report it once).
    Failed {
        why: String,
        first: bool,
    },
}

/// A connection to the syslog daemon (made at the first message).
pub struct Syslog {
    socket: Option<PathBuf>,
    conn: Option<syslog::Logger<LoggerBackend, ()>>,
    last_connect: Option<Instant>,
    failing: bool,
}

impl Syslog {
    /// Through /dev/log (or the other paths glibc would try).
    pub fn new() -> Syslog {
        Syslog::at(None)
    }

    /// Through the Unix socket `socket` (tests, chroots); `None`: /dev/log.
    pub fn at(socket: Option<PathBuf>) -> Syslog {
        Syslog {
            socket,
            conn: None,
            last_connect: None,
            failing: false,
        }
    }

    /// Drops the connection: the next message connects again at once (SIGHUP, a syslog
    /// daemon restarted).
    pub fn reopen(&mut self) {
        self.conn = None;
        self.last_connect = None;
    }

    /// Sends `message` under `ident` at `facility` and `level`.
    pub fn send(&mut self, facility: Facility, ident: &str, level: Level, message: &str) -> Sent {
        if self.conn.is_none() {
            if matches!(self.last_connect, Some(t) if t.elapsed() < SYSLOG_RETRY) {
                return Sent::NotConnected;
            }
            self.last_connect = Some(Instant::now());
            let conn = match &self.socket {
                Some(p) => syslog::unix_custom((), p),
                None => syslog::unix(()),
            };
            match conn {
                Ok(c) => {
                    let _ = set_nonblocking(&c.backend);
                    self.conn = Some(c);
                }
                Err(e) => return self.failed(format!("cannot connect to syslog: {e}")),
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Sent::NotConnected;
        };
        let pri = facility.code() | level.priority();
        let datagram = format!(
            "<{pri}>{} {ident}: {message}",
            syslog_timestamp(SystemTime::now())
        );
        match conn
            .backend
            .write(datagram.as_bytes())
            .and_then(|_| conn.backend.flush())
        {
            Ok(()) => {
                self.failing = false;
                Sent::Ok
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    // Broken connection (syslog daemon restarted): connect again later.
                    self.conn = None;
                }
                self.failed(format!("cannot write to syslog: {e}"))
            }
        }
    }

    fn failed(&mut self, why: String) -> Sent {
        let first = !std::mem::replace(&mut self.failing, true);
        Sent::Failed { why, first }
    }
}

impl Default for Syslog {
    fn default() -> Self {
        Syslog::new()
    }
}

fn set_nonblocking(backend: &LoggerBackend) -> io::Result<()> {
    match backend {
        LoggerBackend::Unix(d) => d.set_nonblocking(true),
        LoggerBackend::UnixStream(s) => s.get_ref().set_nonblocking(true),
        LoggerBackend::Udp(s, _) => s.set_nonblocking(true),
        LoggerBackend::Tcp(s) => s.get_ref().set_nonblocking(true),
    }
}

/// One message to syslog through a connection of its own (programs that log a line or two).
pub fn syslog_once(facility: Facility, ident: &str, level: Level, message: &str) -> Sent {
    Syslog::new().send(facility, ident, level, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hb-log-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create temp dir");
        d
    }

    #[test]
    fn syslog_datagrams_and_reconnection() {
        let d = temp_dir("sink-syslog");
        let path = d.join("log.sock");
        let server = UnixDatagram::bind(&path).expect("bind");
        server
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let mut s = Syslog::at(Some(path.clone()));
        assert!(matches!(
            s.send(Facility::LOCAL7, "ha_logger", Level::Debug, "[9]: x"),
            Sent::Ok
        ));
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).expect("datagram");
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        // local7 (23) * 8 + debug (7) = 191
        assert!(m.starts_with("<191>"), "{m}");
        assert!(m.ends_with(" ha_logger: [9]: x"), "{m}");
        drop(server);
        std::fs::remove_file(&path).expect("rm");
        assert!(matches!(
            s.send(Facility::LOCAL7, "x", Level::Info, "lost"),
            Sent::Failed { first: true, .. }
        ));
        // Not due for another connection yet.
        assert!(matches!(
            s.send(Facility::LOCAL7, "x", Level::Info, "lost"),
            Sent::NotConnected
        ));
        let server = UnixDatagram::bind(&path).expect("rebind");
        s.reopen();
        assert!(matches!(
            s.send(Facility::USER, "x", Level::Error, "back"),
            Sent::Ok
        ));
        let n = server.recv(&mut buf).expect("after reopen");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("<11>"));
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
