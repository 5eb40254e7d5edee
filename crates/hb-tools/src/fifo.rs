//! Writing one message into heartbeat's FIFO without ever blocking for good.
//!
//! The original appends with the shell (`... | cat - >> $HA_FIFO`). With no daemon reading
//! the FIFO that open blocks until one starts, possibly forever; with no file at the path
//! it creates a regular file, where the message is lost (the daemon replaces it with a
//! FIFO at its next start); a failed open is a shell error with status 2.
//!
//! We open with `O_WRONLY | O_NONBLOCK | O_APPEND` and without `O_CREAT`:
//! - no reader (`ENXIO`): [`SendError::NoReader`] at once;
//! - nothing at the path: [`SendError::Missing`], nothing created;
//! - an existing regular file is appended to, as the original does (handy for tests);
//! - the message (well under `PIPE_BUF`) goes in one `write(2)`, so it arrives whole;
//!   if the pipe is full we wait for room up to a deadline, then give up.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The FIFO's place when neither `--fifo` nor `HA_FIFO` says otherwise.
pub const DEFAULT_FIFO: &str = "/var/lib/heartbeat/fifo";

/// How long [`FifoWriter::send`] waits for room in a full FIFO.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Exit status when the message could not be written (the status the original's shell
/// gives a failed redirection).
pub const EXIT_SEND: i32 = 2;

/// The FIFO path: `--fifo`, else `HA_FIFO` if set and not empty (shellfuncs'
/// `${HA_FIFO:=...}`), else [`DEFAULT_FIFO`].
pub fn fifo_path(option: Option<&Path>, ha_fifo: Option<&std::ffi::OsStr>) -> PathBuf {
    if let Some(p) = option {
        return p.to_path_buf();
    }
    match ha_fifo {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_FIFO),
    }
}

/// Why the message was not sent.
#[derive(Debug)]
pub enum SendError {
    /// Nothing at the path.
    Missing(PathBuf),
    /// A FIFO nobody reads: heartbeat is not running.
    NoReader(PathBuf),
    /// Any other failure to open (permissions, a directory...).
    Open(PathBuf, io::Error),
    /// The write failed (e.g. `EPIPE`: the reader went away).
    Write(PathBuf, io::Error),
    /// Fewer bytes written than the message holds (possible only on a regular file).
    Short {
        path: PathBuf,
        written: usize,
        len: usize,
    },
    /// The FIFO stayed full for the whole timeout.
    Full(PathBuf, Duration),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Missing(p) => write!(
                f,
                "{}: no such file: heartbeat has never run here, or its FIFO is elsewhere \
                 (HA_FIFO, --fifo); nothing sent",
                p.display()
            ),
            SendError::NoReader(p) => write!(
                f,
                "{}: no process reads this FIFO: heartbeat is not running; nothing sent",
                p.display()
            ),
            SendError::Open(p, e) => write!(f, "{}: cannot open: {e}; nothing sent", p.display()),
            SendError::Write(p, e) => {
                write!(f, "{}: cannot write: {e}; nothing sent", p.display())
            }
            SendError::Short { path, written, len } => write!(
                f,
                "{}: short write ({written} of {len} bytes)",
                path.display()
            ),
            SendError::Full(p, d) => write!(
                f,
                "{}: the FIFO stayed full for {} s (heartbeat is not reading it); nothing sent",
                p.display(),
                d.as_secs()
            ),
        }
    }
}

impl std::error::Error for SendError {}

/// The FIFO, opened for writing.
#[derive(Debug)]
pub struct FifoWriter {
    file: File,
    path: PathBuf,
    is_fifo: bool,
}

impl FifoWriter {
    /// Opens `path` for writing without blocking and without creating it.
    pub fn open(path: &Path) -> Result<FifoWriter, SendError> {
        let file = OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ENXIO) => SendError::NoReader(path.to_path_buf()),
                Some(libc::ENOENT) => SendError::Missing(path.to_path_buf()),
                _ => SendError::Open(path.to_path_buf(), e),
            })?;
        let is_fifo = file
            .metadata()
            .map(|m| m.file_type().is_fifo())
            .unwrap_or(false);
        Ok(FifoWriter {
            file,
            path: path.to_path_buf(),
            is_fifo,
        })
    }

    /// Whether the path is a FIFO (else a regular file or a device, written all the same).
    pub fn is_fifo(&self) -> bool {
        self.is_fifo
    }

    /// Writes `msg` with one `write(2)`; while the FIFO is full, waits for room up to
    /// `timeout`.
    pub fn send(&mut self, msg: &[u8], timeout: Duration) -> Result<(), SendError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.file.write(msg) {
                Ok(n) if n == msg.len() => return Ok(()),
                Ok(n) => {
                    return Err(SendError::Short {
                        path: self.path.clone(),
                        written: n,
                        len: msg.len(),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(SendError::Full(self.path.clone(), timeout));
                    }
                    self.wait_writable(deadline - now)?;
                }
                Err(e) => return Err(SendError::Write(self.path.clone(), e)),
            }
        }
    }

    /// Waits until the FIFO has room, an error shows, or `left` has passed.
    fn wait_writable(&self, left: Duration) -> Result<(), SendError> {
        let mut pfd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd, owned by this frame, for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(SendError::Write(self.path.clone(), e));
            }
        }
        // On readiness, timeout or POLLERR the caller's next write tells what happened.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CString, OsStr};
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p =
                std::env::temp_dir().join(format!("hb-tools-unit-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mkfifo(p: &Path) {
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    fn open_reader(p: &Path) -> File {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p)
            .unwrap()
    }

    /// Writes into the FIFO until it is full; returns the bytes written.
    fn fill(w: &mut FifoWriter) -> usize {
        let mut total = 0;
        for size in [4096usize, 1] {
            let chunk = vec![b'x'; size];
            for _ in 0..1_000_000 {
                match w.file.write(&chunk) {
                    Ok(n) => total += n,
                    Err(_) => break,
                }
            }
        }
        total
    }

    #[test]
    fn path_precedence() {
        let opt = Path::new("/opt/f");
        assert_eq!(fifo_path(Some(opt), Some(OsStr::new("/env/f"))), opt);
        assert_eq!(
            fifo_path(None, Some(OsStr::new("/env/f"))),
            PathBuf::from("/env/f")
        );
        assert_eq!(
            fifo_path(None, Some(OsStr::new(""))),
            PathBuf::from(DEFAULT_FIFO)
        );
        assert_eq!(fifo_path(None, None), PathBuf::from(DEFAULT_FIFO));
    }

    #[test]
    fn no_reader_missing_and_directory() {
        let d = TempDir::new("noreader");
        let f = d.0.join("fifo");
        mkfifo(&f);
        assert!(matches!(FifoWriter::open(&f), Err(SendError::NoReader(_))));
        let missing = d.0.join("none");
        assert!(matches!(
            FifoWriter::open(&missing),
            Err(SendError::Missing(_))
        ));
        assert!(!missing.exists(), "open must not create the file");
        assert!(matches!(FifoWriter::open(&d.0), Err(SendError::Open(..))));
    }

    #[test]
    fn one_write_reaches_the_reader() {
        let d = TempDir::new("write");
        let f = d.0.join("fifo");
        mkfifo(&f);
        let mut r = open_reader(&f);
        let mut w = FifoWriter::open(&f).unwrap();
        assert!(w.is_fifo());
        w.send(b">>>\nt=x\n<<<\n", WRITE_TIMEOUT).unwrap();
        let mut buf = [0u8; 64];
        let n = r.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b">>>\nt=x\n<<<\n");
    }

    #[test]
    fn full_fifo_times_out() {
        let d = TempDir::new("full");
        let f = d.0.join("fifo");
        mkfifo(&f);
        let _r = open_reader(&f);
        let mut filler = FifoWriter::open(&f).unwrap();
        let total = fill(&mut filler);
        assert!(total >= 4096, "the pipe never filled");
        let mut w = FifoWriter::open(&f).unwrap();
        let t0 = Instant::now();
        let r = w.send(b">>>\nt=x\n<<<\n", Duration::from_millis(200));
        assert!(matches!(r, Err(SendError::Full(..))), "{r:?}");
        assert!(t0.elapsed() >= Duration::from_millis(200));
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn full_fifo_drained_in_time() {
        let d = TempDir::new("drain");
        let f = d.0.join("fifo");
        mkfifo(&f);
        let mut r = open_reader(&f);
        let mut filler = FifoWriter::open(&f).unwrap();
        let total = fill(&mut filler);
        let drainer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let mut got = Vec::new();
            let mut buf = [0u8; 65536];
            let t0 = Instant::now();
            while got.len() < total + 12 && t0.elapsed() < Duration::from_secs(5) {
                match r.read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            got
        });
        let mut w = FifoWriter::open(&f).unwrap();
        w.send(b">>>\nt=x\n<<<\n", Duration::from_secs(5)).unwrap();
        let got = drainer.join().unwrap();
        assert!(got.ends_with(b">>>\nt=x\n<<<\n"));
        assert_eq!(got.len(), total + 12);
    }

    #[test]
    fn regular_file_is_appended() {
        let d = TempDir::new("regular");
        let f = d.0.join("file");
        std::fs::write(&f, b"before\n").unwrap();
        let mut w = FifoWriter::open(&f).unwrap();
        assert!(!w.is_fifo());
        w.send(b"msg\n", WRITE_TIMEOUT).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"before\nmsg\n");
    }
}
