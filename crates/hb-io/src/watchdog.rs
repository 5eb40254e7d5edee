//! The `watchdog DEV` device, as 2.0.8 feeds it (`hb_init_watchdog`, `hb_tickle_watchdog`,
//! `hb_close_watchdog` in heartbeat.c, read for facts):
//!
//! - opened write-only at start, close-on-exec; `Using watchdog device: DEV` (notice). The
//!   timeout is set to deadtime + 10 ms rounded up to whole seconds (`WDIOC_SETTIMEOUT`; a
//!   device that refuses, or a FIFO, gets the original's error line and is used anyway); one
//!   byte is written at once.
//! - one byte (NUL) at every heartbeat of ours (the original writes when it processes its own
//!   status message);
//! - on a clean stop, the magic `V` and close, so that a planned stop never reboots the
//!   machine. A daemon that crashes or freezes writes nothing more: the device reboots the
//!   machine once its timeout passes.
//!
//! Differences: the device is opened non-blocking, and writes never block the loop. A FIFO
//! with no reader cannot be opened then (the original would wait for a reader): that is
//! logged like any device that cannot be opened, and the daemon runs on without a watchdog, as
//! the original does when the open fails. A write that would block is skipped (logged once);
//! a write that fails otherwise closes the device with the original's line.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hb_log::Level;

/// `_IOWR('W', 6, int)` of linux/watchdog.h.
const WDIOC_SETTIMEOUT: libc::c_ulong = 0xC004_5706;

/// An open watchdog device.
#[derive(Debug)]
pub struct Watchdog {
    path: PathBuf,
    fd: Option<OwnedFd>,
    /// Writes skipped because the device would block, since the last one logged.
    skipped: u64,
}

/// Log lines produced by the watchdog, for the caller's logger.
pub type Lines = Vec<(Level, String)>;

impl Watchdog {
    /// Opens `path`, sets its timeout from `deadtime` and writes the first byte. `None` when
    /// it cannot be opened (the lines say why).
    pub fn open(path: &Path, deadtime: Duration) -> (Option<Watchdog>, Lines) {
        let mut lines = Vec::new();
        let fd = match open_nonblocking(path) {
            Ok(fd) => fd,
            Err(e) => {
                let why = if e.raw_os_error() == Some(libc::ENXIO) {
                    format!("{e}; a FIFO needs its reader first")
                } else {
                    e.to_string()
                };
                lines.push((
                    Level::Error,
                    format!(
                        "Cannot open watchdog device: {} ({why}); running without a watchdog",
                        path.display()
                    ),
                ));
                return (None, lines);
            }
        };
        lines.push((
            Level::Notice,
            format!("Using watchdog device: {}", path.display()),
        ));
        let secs = timeout_secs(deadtime);
        let arg: libc::c_int = secs;
        // SAFETY: ioctl on a descriptor we own with a pointer to an int on this stack frame.
        if unsafe { libc::ioctl(fd.as_raw_fd(), WDIOC_SETTIMEOUT as _, &arg) } < 0 {
            let e = io::Error::last_os_error();
            lines.push((
                Level::Error,
                format!("WDIOC_SETTIMEOUT: Failed to set watchdog timer to {secs} seconds.: {e}"),
            ));
        }
        let mut w = Watchdog {
            path: path.to_path_buf(),
            fd: Some(fd),
            skipped: 0,
        };
        lines.extend(w.tickle());
        (Some(w), lines)
    }

    /// The device's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the device is still open.
    pub fn is_open(&self) -> bool {
        self.fd.is_some()
    }

    /// One byte for one heartbeat.
    pub fn tickle(&mut self) -> Lines {
        let Some(fd) = &self.fd else {
            return Vec::new();
        };
        match write_byte(fd, b'\0') {
            Ok(()) => {
                if self.skipped > 0 {
                    let n = std::mem::take(&mut self.skipped);
                    return vec![(
                        Level::Warn,
                        format!(
                            "Watchdog {} takes writes again ({n} heartbeat(s) not written)",
                            self.path.display()
                        ),
                    )];
                }
                Vec::new()
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.skipped += 1;
                if self.skipped == 1 {
                    vec![(
                        Level::Warn,
                        format!(
                            "Watchdog {} would block: heartbeat not written (not waiting for it)",
                            self.path.display()
                        ),
                    )]
                } else {
                    Vec::new()
                }
            }
            Err(e) => {
                let mut lines = vec![(
                    Level::Error,
                    format!(
                        "Watchdog write failure: closing {}!: {e}",
                        self.path.display()
                    ),
                )];
                lines.extend(self.close());
                lines
            }
        }
    }

    /// The magic `V` and close: a planned stop, the device must not reboot the machine.
    pub fn close(&mut self) -> Lines {
        let Some(fd) = self.fd.take() else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        match write_byte(&fd, b'V') {
            Ok(()) => lines.push((Level::Debug, "Successful watchdog 'V' write".to_string())),
            Err(e) => lines.push((
                Level::Error,
                format!(
                    "Watchdog write magic character failure: closing {}!: {e}",
                    self.path.display()
                ),
            )),
        }
        let raw = {
            use std::os::fd::IntoRawFd;
            fd.into_raw_fd()
        };
        // SAFETY: we own `raw` (taken out of the OwnedFd above) and close it once.
        if unsafe { libc::close(raw) } != 0 {
            let e = io::Error::last_os_error();
            lines.push((Level::Error, format!("Watchdog close(2) failed.: {e}")));
        } else {
            lines.push((Level::Debug, "Successful watchdog close".to_string()));
        }
        lines
    }
}

/// deadtime + 10 ms, rounded up to whole seconds (the original's watchdog timeout).
pub fn timeout_secs(deadtime: Duration) -> libc::c_int {
    let ms = deadtime.as_millis().saturating_add(10);
    libc::c_int::try_from(ms.div_ceil(1000)).unwrap_or(libc::c_int::MAX)
}

fn open_nonblocking(path: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in the path"))?;
    // SAFETY: open(2) on a valid C string; the descriptor is owned at once.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn write_byte(fd: &OwnedFd, b: u8) -> io::Result<()> {
    loop {
        // SAFETY: write(2) of one byte from this stack frame to a descriptor we own. A FIFO
        // whose reader left gives EPIPE: the daemon ignores SIGPIPE (hb_io::signals).
        let n = unsafe { libc::write(fd.as_raw_fd(), (&b as *const u8).cast(), 1) };
        if n == 1 {
            return Ok(());
        }
        let e = if n < 0 {
            io::Error::last_os_error()
        } else {
            io::Error::new(io::ErrorKind::WriteZero, "nothing written")
        };
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn fifo(dir: &Path) -> PathBuf {
        let p = dir.join("wd");
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: mkfifo on a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        p
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hb-wd-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_original_timeout() {
        assert_eq!(timeout_secs(Duration::from_secs(1)), 2);
        assert_eq!(timeout_secs(Duration::from_millis(990)), 1);
        assert_eq!(timeout_secs(Duration::from_secs(30)), 31);
        assert_eq!(timeout_secs(Duration::from_millis(250)), 1);
    }

    #[test]
    fn a_byte_per_tickle_and_v_at_close() {
        let d = tmpdir("bytes");
        let p = fifo(&d);
        // The reader first (a FIFO's non-blocking writer needs one).
        let reader = reader(&p);
        let (w, lines) = Watchdog::open(&p, Duration::from_secs(1));
        let mut w = w.expect("opened");
        assert!(
            lines
                .iter()
                .any(|(_, l)| l.starts_with("Using watchdog device:")),
            "{lines:?}"
        );
        // A FIFO refuses the timeout ioctl: the original's error line.
        assert!(lines.iter().any(|(l, t)| *l == Level::Error
            && t.starts_with("WDIOC_SETTIMEOUT: Failed to set watchdog timer to 2 seconds.")));
        assert!(w.tickle().is_empty());
        assert!(w.tickle().is_empty());
        let lines = w.close();
        assert!(!lines.iter().any(|(l, _)| *l <= Level::Warn), "{lines:?}");
        assert!(!w.is_open());
        assert!(w.tickle().is_empty() && w.close().is_empty());
        let mut got = Vec::new();
        let mut r = reader;
        let _ = r.read_to_end(&mut got);
        assert_eq!(got, b"\0\0\0V");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn no_reader_no_watchdog_and_no_wait() {
        let d = tmpdir("noreader");
        let p = fifo(&d);
        let (w, lines) = Watchdog::open(&p, Duration::from_secs(1));
        assert!(w.is_none());
        assert!(
            lines[0].1.starts_with("Cannot open watchdog device:"),
            "{lines:?}"
        );
        let (w, lines) = Watchdog::open(&d.join("missing"), Duration::from_secs(1));
        assert!(w.is_none() && lines[0].0 == Level::Error);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_full_device_skips_and_a_gone_reader_closes() {
        let d = tmpdir("full");
        let p = fifo(&d);
        let reader = reader(&p);
        let (w, _) = Watchdog::open(&p, Duration::from_secs(1));
        let mut w = w.unwrap();
        // Fill the pipe: writes are skipped, never waited for, and logged once.
        let mut warned = 0;
        for _ in 0..70_000 {
            warned += w.tickle().len();
        }
        assert_eq!(warned, 1);
        assert!(w.is_open());
        // The reader goes away: the next write fails (EPIPE; SIGPIPE ignored here) and the
        // device is closed with the original's line.
        drop(reader);
        // SAFETY: ignoring SIGPIPE for this test process (the Rust runtime already does).
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let lines = w.tickle();
        assert!(
            lines
                .iter()
                .any(|(_, t)| t.starts_with("Watchdog write failure: closing")),
            "{lines:?}"
        );
        assert!(!w.is_open());
        let _ = std::fs::remove_dir_all(&d);
    }

    /// The FIFO's reader, non-blocking.
    fn reader(p: &Path) -> std::fs::File {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p)
            .unwrap()
    }
}
