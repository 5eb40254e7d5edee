//! The serial heartbeat medium: `serial DEV` at `baud`, a null-modem line between two nodes.
//!
//! Facts from 2.0.8's `lib/plugins/HBcomm/serial.c`, `heartbeat/config.c` and
//! `lib/stonith/st_ttylock.c` (read for facts), checked against the original on a pty pair:
//!
//! - **Line settings** (termios): input `INPCK ISTRIP IGNCR BRKINT` on and `IGNBRK IUCLC IXANY
//!   IXOFF IXON ICRNL PARMRK` off (no flow control by characters, carriage returns dropped,
//!   the eighth bit stripped); output post-processing off; `CS8 CREAD CLOCAL CRTSCTS` at the
//!   speed, no parity; no canonical mode, echo or signals; `VMIN` 1, `VTIME` 1. The device is
//!   opened `O_RDWR|O_NOCTTY`, both queues flushed, and a break is sent (the peer, with
//!   `BRKINT`, flushes its queues).
//! - **Speeds**: 9600, 19200 (the default), 38400, 57600, 115200, 230400, 460800 (ha-config
//!   checks the `baud` line).
//! - **Lock**: UUCP style, `/var/lock/LCK..NAME`, NAME being the device path without its first
//!   five characters (`/dev/`), alphanumerics only (`/dev/ttyS0` → `LCK..ttyS0`, `/dev/pts/3`
//!   → `LCK..pts3`); the file holds the pid as `%10d\n`; a lock naming a live process other than
//!   ours refuses the open, a stale one is removed; written through a temporary file and a hard
//!   link. The original takes the lock only while it opens the line: its master process
//!   locks, opens, forks the line's reader and writer and then closes its own descriptor,
//!   which removes the lock. So does this medium: the lock guards the open, not the run.
//! - **Framing**: every message is sent in the classic text form (`>>>\n`, `name=value\n`
//!   lines, `auth=IDX DIGEST\n`, `<<<\n`, no NUL), whatever `msgfmt` says: a netstring message is
//!   decoded and re-signed in the classic form, as the original's serial writer does. The
//!   reader takes lines (up to `\n`), skips lines until one starting with `>>>`, then collects
//!   lines up to one starting with `<<<`: that is one message.
//! - **No relaying**: messages read from a serial line are not copied to the other serial lines
//!   (`ttl` is set on every message, but 2.0.8's ring relay, `should_ring_copy_msg`, is never
//!   called): a serial line joins the two nodes at its ends.
//! - **Link name**: the device path, so the link of node b is `b:/dev/ttyS0` in the log lines
//!   and `/dev/ttyS0` in `cl_status listhblinks`. A node never hears itself on a serial line,
//!   so its own serial link stays `dead`, as the original's.
//!
//! Deliberate differences (the original's reader and writer are processes that block; this
//! medium lives in the daemon's one non-blocking loop):
//! - Writes are queued and written as the line takes them (the kernel paces a real line); the
//!   original writes 512-byte fragments and sleeps between them for the time the line needs.
//!   Queued output that makes no progress for [`WRITE_TIMEOUT`] (a line held by flow
//!   control: no cable, or a cable without RTS/CTS) is flushed with the original's warning
//!   `TTY write timeout on [DEV] (no connection or bad cable? [see documentation])`, at most
//!   once an hour as the original; its writer gives up after 500 ms the same way.
//! - End of file or an I/O error on the line (a pty whose other side closed, a USB adapter
//!   pulled): the original's reader logs `EOF in ttygets` thousands of times a second and spins
//!   for as long as the daemon runs, its writer logs a write failure for every message. Here
//!   the line is closed with one line in the log, sending reports a down line (rate-limited by
//!   the daemon), and the device is opened again every [`REOPEN_INTERVAL`] until it works.
//! - A `>>>` line inside a message starts a new message (the original appends it to the
//!   broken one and loses both).
//! - The break is sent at start only, not when a lost line is opened again (it takes 0.25 s
//!   on a real line, and the loop never waits).

use std::collections::VecDeque;
use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hb_wire::KeyRing;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use hb_log::Level;

/// Where the UUCP lock files are (2.0.8's `HA_VARLOCKDIR`).
pub const LOCK_DIR: &str = "/var/lock";

/// The speed when ha.cf names none.
pub const DEFAULT_BAUD: u32 = 19200;

/// Queued output that makes no progress for this long is flushed (the original's writer
/// interrupts a blocked write after 500 ms).
pub const WRITE_TIMEOUT: Duration = Duration::from_millis(500);

/// A write timeout is logged at most this often (the original's `RTS_WARNTIME`).
pub const WRITE_TIMEOUT_WARN_INTERVAL: Duration = Duration::from_secs(3600);

/// A line that went away (end of file, I/O error) is opened again this often.
pub const REOPEN_INTERVAL: Duration = Duration::from_secs(10);

/// The longest message read from a line; longer ones are dropped (a UDP datagram's limit,
/// which every medium shares).
pub const MAX_FRAME: usize = hb_wire::MAX_DATAGRAM;

/// At most this much output is queued; a message that does not fit is dropped.
const MAX_QUEUED: usize = 2 * MAX_FRAME;

/// The termios speed constant of a baud rate 2.0.8 accepts.
pub fn speed(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        230400 => libc::B230400,
        460800 => libc::B460800,
        _ => return None,
    })
}

/// The lock name of a device: its path without the first five characters (`/dev/`), keeping
/// only letters and digits, as 2.0.8 derives it (at most 63 characters).
pub fn lock_name(dev: &str) -> String {
    dev.chars()
        .skip(5)
        .filter(char::is_ascii_alphanumeric)
        .take(63)
        .collect()
}

/// A held UUCP lock file (`LCK..NAME` in the lock directory), removed when dropped.
#[derive(Debug)]
pub struct TtyLock {
    path: PathBuf,
}

/// Whether process `pid` exists (as the original asks: `kill(pid, 0)` fails only with ESRCH
/// for a process that is gone).
fn process_exists(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for the process; it sends nothing.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The pid in a lock file's text, read as `sscanf("%ld")` reads it.
fn lock_pid(text: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(text).ok()?;
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s.get(..end)?.parse().ok()
}

impl TtyLock {
    /// Takes the lock of device `dev` in `dir`. Fails when another live process holds it
    /// (the error names its pid) or when the lock file cannot be written.
    pub fn acquire(dir: &Path, dev: &str) -> io::Result<TtyLock> {
        let name = lock_name(dev);
        let path = dir.join(format!("LCK..{name}"));
        let me = i64::from(std::process::id());
        match fs::read(&path) {
            Ok(text) => {
                if let Some(pid) = lock_pid(&text) {
                    if pid > 1 && pid != me && process_exists(pid) {
                        return Err(io::Error::new(
                            io::ErrorKind::WouldBlock,
                            format!("{} is held by process {pid}", path.display()),
                        ));
                    }
                }
                // Empty, unreadable, ours or of a process that is gone: stale.
                let _ = fs::remove_file(&path);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading {}: {e}", path.display()),
                ))
            }
        }
        let tmp = dir.join(format!("tmp{me}-{name}"));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .and_then(|mut f| f.write_all(format!("{me:>10}\n").as_bytes()));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io::Error::new(
                e.kind(),
                format!("writing {}: {e}", tmp.display()),
            ));
        }
        let linked = fs::hard_link(&tmp, &path).and_then(|()| fs::metadata(&tmp));
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(m) if m.nlink() >= 2 => Ok(TtyLock { path }),
            Ok(_) => Err(io::Error::other(format!(
                "{}: the link did not take",
                path.display()
            ))),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("linking {}: {e}", path.display()),
            )),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TtyLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn cvt(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The original's line settings on `t`, at `speed`.
pub fn line_settings(t: &mut libc::termios, speed: libc::speed_t) {
    t.c_iflag &= !(libc::IGNBRK
        | libc::IUCLC
        | libc::IXANY
        | libc::IXOFF
        | libc::IXON
        | libc::ICRNL
        | libc::PARMRK);
    t.c_iflag |= libc::INPCK | libc::ISTRIP | libc::IGNCR | libc::BRKINT;
    t.c_oflag &= !libc::OPOST;
    t.c_cflag &= !(libc::CBAUD | libc::CSIZE | libc::PARENB);
    t.c_cflag |= speed | libc::CS8 | libc::CREAD | libc::CLOCAL | libc::CRTSCTS;
    t.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
    t.c_line = 0;
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 1;
}

/// Opens `dev` non-blocking with the original's line settings at `baud`; `send_break` sends a
/// break after the setup, as the original does when it opens the line.
pub fn open_line(dev: &str, baud: u32, send_break: bool) -> io::Result<OwnedFd> {
    let speed = speed(baud).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid baud rate {baud}"),
        )
    })?;
    let path = CString::new(dev)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in device name"))?;
    // SAFETY: a valid NUL-terminated path; the returned descriptor is owned below.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor and termios pointer.
    cvt(unsafe { libc::tcgetattr(raw, &mut t) })
        .map_err(|e| io::Error::new(e.kind(), format!("cannot get tty attributes: {e}")))?;
    line_settings(&mut t, speed);
    // SAFETY: `t` is a valid termios.
    unsafe {
        libc::cfsetospeed(&mut t, speed);
        libc::cfsetispeed(&mut t, speed);
    }
    // The original sets the attributes with TCSAFLUSH, which waits for pending output; a
    // flush first and TCSANOW give the same result without ever waiting.
    // SAFETY: valid descriptor and termios.
    unsafe {
        libc::tcflush(raw, libc::TCIOFLUSH);
    }
    // SAFETY: valid descriptor and termios.
    cvt(unsafe { libc::tcsetattr(raw, libc::TCSANOW, &t) })
        .map_err(|e| io::Error::new(e.kind(), format!("cannot set tty attributes: {e}")))?;
    // SAFETY: valid descriptor.
    unsafe {
        libc::tcflush(raw, libc::TCIOFLUSH);
    }
    if send_break {
        // SAFETY: valid descriptor. On a real line this takes 0.25-0.5 s (at start only).
        unsafe {
            libc::tcsendbreak(raw, 0);
        }
    }
    Ok(fd)
}

/// The bytes one message takes on a serial line: the classic form without its NUL. A
/// netstring message (ours with `msgfmt netstring`) is decoded and signed again in the classic
/// form, as the original's serial writer does.
pub fn line_form(datagram: &[u8], keys: &KeyRing) -> Result<Vec<u8>, String> {
    if datagram.starts_with(hb_wire::classic::START) {
        // The original writes strlen() bytes: up to the first NUL.
        let end = datagram
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(datagram.len());
        return Ok(datagram.get(..end).unwrap_or(datagram).to_vec());
    }
    let d = hb_wire::decode(datagram, keys).map_err(|e| e.to_string())?;
    let mut text = hb_wire::classic::encode(&d.msg, keys).map_err(|e| e.to_string())?;
    if text.last() == Some(&0) {
        text.pop();
    }
    Ok(text)
}

/// Cuts the byte stream of a line into messages: lines up to `\n`; lines before one starting
/// with `>>>` are skipped; from there to a line starting with `<<<` is one message (each line
/// with its `\n`).
#[derive(Debug, Default)]
pub struct Framer {
    line: Vec<u8>,
    frame: Vec<u8>,
    in_frame: bool,
    /// The current line is too long: its rest is skipped.
    skipping: bool,
}

/// A message too long to be read (it is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLong;

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Forgets a partly read line and message (the line was lost or flushed).
    pub fn reset(&mut self) {
        *self = Framer::default();
    }

    /// Feeds bytes read from the line; `f` gets each complete message, or [`FrameTooLong`]
    /// for each message dropped because it exceeds [`MAX_FRAME`].
    pub fn push(&mut self, bytes: &[u8], mut f: impl FnMut(Result<&[u8], FrameTooLong>)) {
        for &b in bytes {
            if b != b'\n' {
                if !self.skipping {
                    self.line.push(b);
                    if self.line.len() > MAX_FRAME {
                        self.line.clear();
                        self.skipping = true;
                        if std::mem::take(&mut self.in_frame) {
                            self.frame.clear();
                            f(Err(FrameTooLong));
                        }
                    }
                }
                continue;
            }
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if line.starts_with(b">>>") {
                // A new message; one left open before it was cut off and is dropped.
                self.frame.clear();
                self.in_frame = true;
            } else if !self.in_frame {
                continue;
            }
            if self.frame.len() + line.len() + 1 > MAX_FRAME {
                self.frame.clear();
                self.in_frame = false;
                f(Err(FrameTooLong));
                continue;
            }
            self.frame.extend_from_slice(&line);
            self.frame.push(b'\n');
            if line.starts_with(b"<<<") {
                self.in_frame = false;
                f(Ok(&self.frame));
                self.frame.clear();
            }
        }
    }
}

/// An open serial line (or one waiting to be opened again).
#[derive(Debug)]
pub struct SerialPort {
    dev: String,
    baud: u32,
    lock_dir: PathBuf,
    fd: Option<OwnedFd>,
    framer: Framer,
    /// Output not yet taken by the line.
    queued: Vec<u8>,
    /// Since when the queued output has made no progress.
    stalled_since: Option<Instant>,
    timeout_warnings: hb_log::LogLimiter,
    /// When a lost line is tried again.
    reopen_at: Option<Instant>,
    reopen_failure_logged: bool,
    registration: Option<(Registry, Token)>,
    notices: VecDeque<(Level, String)>,
    dropped: u64,
}

impl SerialPort {
    /// Locks, opens and sets up the line (the lock is released once it is open, as the
    /// original does). Errors say which step failed, in the original's words.
    pub fn open(dev: &str, baud: u32, lock_dir: &Path) -> io::Result<SerialPort> {
        let fd = Self::lock_and_open(dev, baud, lock_dir, true)?;
        Ok(SerialPort {
            dev: dev.to_string(),
            baud,
            lock_dir: lock_dir.to_path_buf(),
            fd: Some(fd),
            framer: Framer::new(),
            queued: Vec::new(),
            stalled_since: None,
            timeout_warnings: hb_log::LogLimiter::new(WRITE_TIMEOUT_WARN_INTERVAL),
            reopen_at: None,
            reopen_failure_logged: false,
            registration: None,
            notices: VecDeque::new(),
            dropped: 0,
        })
    }

    fn lock_and_open(
        dev: &str,
        baud: u32,
        lock_dir: &Path,
        send_break: bool,
    ) -> io::Result<OwnedFd> {
        let lock = TtyLock::acquire(lock_dir, dev)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot lock line {dev}: {e}")))?;
        let fd = open_line(dev, baud, send_break)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {dev}: {e}")))?;
        drop(lock);
        Ok(fd)
    }

    /// The device path: the link name.
    pub fn dev(&self) -> &str {
        &self.dev
    }

    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// Whether the line is open (false while a lost line waits to be opened again).
    pub fn is_open(&self) -> bool {
        self.fd.is_some()
    }

    /// Messages dropped because the output queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes waiting for the line.
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// The original's start line.
    pub fn start_log_line(&self) -> String {
        format!(
            "Starting serial heartbeat on tty {} ({} baud)",
            self.dev, self.baud
        )
    }

    /// What happened on the line that the log should say (a lost line, a write timeout, a
    /// message too long, the line back).
    pub fn poll_notice(&mut self) -> Option<(Level, String)> {
        self.notices.pop_front()
    }

    fn notice(&mut self, level: Level, text: String) {
        self.notices.push_back((level, text));
    }

    /// Registers the line for readable and writable events under `token` (kept, with a clone
    /// of the registry, to register the line again when it is reopened).
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        if let Some(fd) = &self.fd {
            registry.register(
                &mut SourceFd(&fd.as_raw_fd()),
                token,
                Interest::READABLE | Interest::WRITABLE,
            )?;
        }
        self.registration = Some((registry.try_clone()?, token));
        Ok(())
    }

    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.registration = None;
        match &self.fd {
            Some(fd) => registry.deregister(&mut SourceFd(&fd.as_raw_fd())),
            None => Ok(()),
        }
    }

    /// Queues one message (a datagram of the membership, in either form) and writes what the
    /// line takes now. Returns 1 when the message was queued, 0 when it was dropped because
    /// the queue is full; an error when the line is down or failed.
    pub fn send(&mut self, now: Instant, datagram: &[u8], keys: &KeyRing) -> io::Result<usize> {
        self.maybe_reopen(now);
        if self.fd.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!(
                    "TTY write failure on [{}]: the line is down; trying to open it again every {} s",
                    self.dev,
                    REOPEN_INTERVAL.as_secs()
                ),
            ));
        }
        let text = line_form(datagram, keys).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "cannot write a message on {} in classic form: {e}",
                    self.dev
                ),
            )
        })?;
        self.check_stall(now);
        if self.queued.len() + text.len() > MAX_QUEUED {
            self.dropped += 1;
            return Ok(0);
        }
        self.queued.extend_from_slice(&text);
        match self.flush(now) {
            Ok(()) => Ok(1),
            Err(e) => {
                let err = io::Error::new(
                    e.kind(),
                    format!("TTY write failure on [{}]: {e}", self.dev),
                );
                self.line_lost(now, &format!("write failed: {e}"));
                Err(err)
            }
        }
    }

    /// Output queued for longer than [`WRITE_TIMEOUT`] without progress: flush the line and
    /// the queue, with the original's warning (at most once an hour).
    fn check_stall(&mut self, now: Instant) {
        let Some(since) = self.stalled_since else {
            return;
        };
        if self.queued.is_empty() || now.saturating_duration_since(since) < WRITE_TIMEOUT {
            return;
        }
        if let Some(fd) = &self.fd {
            // SAFETY: valid descriptor.
            unsafe {
                libc::tcflush(fd.as_raw_fd(), libc::TCIOFLUSH);
            }
        }
        self.queued.clear();
        self.stalled_since = None;
        // The flush may have cut a message being read.
        self.framer.reset();
        // The original's line has no count of those not logged.
        if self.timeout_warnings.hit(now).is_some() {
            let text = format!(
                "TTY write timeout on [{}] (no connection or bad cable? [see documentation])",
                self.dev
            );
            self.notice(Level::Warn, text);
        }
    }

    /// Writes queued output until the line takes no more.
    fn flush(&mut self, now: Instant) -> io::Result<()> {
        let Some(fd) = &self.fd else {
            return Ok(());
        };
        let mut written = 0;
        let mut result = Ok(());
        while written < self.queued.len() {
            let rest = self.queued.get(written..).unwrap_or_default();
            match write_fd(fd.as_raw_fd(), rest) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.queued.drain(..written);
        if self.queued.is_empty() {
            self.stalled_since = None;
        } else if written > 0 || self.stalled_since.is_none() {
            self.stalled_since = Some(now);
        }
        result
    }

    /// Handles a readiness event: writes queued output, then reads everything the line has,
    /// calling `f` with each complete message. End of file or an error closes the line (see
    /// the module notes); returns the number of messages passed to `f`.
    pub fn service(&mut self, now: Instant, buf: &mut [u8], mut f: impl FnMut(&[u8])) -> usize {
        if let Err(e) = self.flush(now) {
            self.line_lost(now, &format!("write failed: {e}"));
            return 0;
        }
        self.check_stall(now);
        let mut count = 0;
        let mut too_long = 0;
        let mut lost = None;
        while let Some(fd) = &self.fd {
            match read_fd(fd.as_raw_fd(), buf) {
                Ok(0) => {
                    lost = Some("end of file (the other end is gone)".to_string());
                    break;
                }
                Ok(n) => {
                    let data = buf.get(..n).unwrap_or_default();
                    self.framer.push(data, |r| match r {
                        Ok(frame) => {
                            count += 1;
                            f(frame);
                        }
                        Err(FrameTooLong) => too_long += 1,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    lost = Some(format!("read failed: {e}"));
                    break;
                }
            }
        }
        for _ in 0..too_long {
            let text = format!(
                "serial read on {}: message longer than {MAX_FRAME} bytes dropped",
                self.dev
            );
            self.notice(Level::Crit, text);
        }
        if let Some(why) = lost {
            self.line_lost(now, &why);
        }
        count
    }

    /// The line failed: close it, drop what was queued and partly read, try again later.
    fn line_lost(&mut self, now: Instant, why: &str) {
        if let Some(fd) = self.fd.take() {
            if let Some((registry, _)) = &self.registration {
                let _ = registry.deregister(&mut SourceFd(&fd.as_raw_fd()));
            }
            // Dropping `fd` closes the line.
        }
        self.queued.clear();
        self.stalled_since = None;
        self.framer.reset();
        self.reopen_at = Some(now + REOPEN_INTERVAL);
        self.reopen_failure_logged = false;
        let text = format!(
            "serial line {} lost: {why}; its links are down until it opens again (tried every {} s)",
            self.dev,
            REOPEN_INTERVAL.as_secs()
        );
        self.notice(Level::Error, text);
    }

    /// A lost line whose retry is due: lock and open it again (no break).
    fn maybe_reopen(&mut self, now: Instant) {
        if self.fd.is_some() || self.reopen_at.is_some_and(|t| now < t) {
            return;
        }
        self.reopen_at = Some(now + REOPEN_INTERVAL);
        match Self::lock_and_open(&self.dev, self.baud, &self.lock_dir, false) {
            Ok(fd) => {
                if let Some((registry, token)) = &self.registration {
                    let r = registry.register(
                        &mut SourceFd(&fd.as_raw_fd()),
                        *token,
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    if let Err(e) = r {
                        let text = format!("serial line {}: cannot watch it: {e}", self.dev);
                        self.notice(Level::Error, text);
                        return;
                    }
                }
                self.fd = Some(fd);
                self.reopen_at = None;
                let text = format!(
                    "serial line {} open again. {}",
                    self.dev,
                    self.start_log_line()
                );
                self.notice(Level::Info, text);
            }
            Err(e) => {
                if !std::mem::replace(&mut self.reopen_failure_logged, true) {
                    let text = format!(
                        "serial line {} still down: {e} (trying again every {} s)",
                        self.dev,
                        REOPEN_INTERVAL.as_secs()
                    );
                    self.notice(Level::Warn, text);
                }
            }
        }
    }
}

fn write_fd(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `fd` is an open descriptor (borrowed, not closed here); ManuallyDrop keeps the
    // File from closing it.
    let mut f = std::mem::ManuallyDrop::new(unsafe { fs::File::from_raw_fd(fd) });
    f.write(data)
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: as in write_fd.
    let mut f = std::mem::ManuallyDrop::new(unsafe { fs::File::from_raw_fd(fd) });
    f.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_wire::{AuthMethod, Message, SendForm};

    fn frames(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, usize) {
        let mut fr = Framer::new();
        let mut out = Vec::new();
        let mut long = 0;
        for c in chunks {
            fr.push(c, |r| match r {
                Ok(m) => out.push(m.to_vec()),
                Err(FrameTooLong) => long += 1,
            });
        }
        (out, long)
    }

    #[test]
    fn lock_names_as_the_original() {
        assert_eq!(lock_name("/dev/ttyS0"), "ttyS0");
        assert_eq!(lock_name("/dev/pts/3"), "pts3");
        assert_eq!(lock_name("/dev/ttyHBa"), "ttyHBa");
        assert_eq!(lock_name("/dev/tty.usb-serial_1"), "ttyusbserial1");
        // The first five characters go whatever they are.
        assert_eq!(lock_name("/tmp/ttyX"), "ttyX");
        assert_eq!(lock_name("/dev"), "");
    }

    #[test]
    fn speeds_are_the_originals() {
        for b in [9600, 19200, 38400, 57600, 115200, 230400, 460800] {
            assert!(speed(b).is_some(), "{b}");
        }
        for b in [0, 300, 1200, 2400, 4800, 14400, 921600] {
            assert!(speed(b).is_none(), "{b}");
        }
    }

    #[test]
    fn framer_cuts_messages_at_the_markers() {
        let a = b">>>\nt=status\nst=active\nauth=1 abc\n<<<\n";
        // Noise before, a message split anywhere, another glued to it.
        let mut stream = b"garbage\n<<<\nsrc=x\n".to_vec();
        stream.extend_from_slice(a);
        stream.extend_from_slice(a);
        for cut in [1, 5, 17, 40, stream.len() - 1] {
            let (head, tail) = stream.split_at(cut);
            let (got, long) = frames(&[head, tail]);
            assert_eq!(got, vec![a.to_vec(), a.to_vec()], "cut at {cut}");
            assert_eq!(long, 0);
        }
        // Byte by byte.
        let chunks: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(&chunks).0.len(), 2);
        // A partial message stays pending.
        let (got, _) = frames(&[b">>>\nt=status\n"]);
        assert!(got.is_empty());
    }

    #[test]
    fn framer_takes_lines_starting_with_the_markers() {
        // The original compares the first three characters only.
        let (got, _) = frames(&[b">>>x\nt=a\n<<<y\n"]);
        assert_eq!(got, vec![b">>>x\nt=a\n<<<y\n".to_vec()]);
    }

    #[test]
    fn framer_restarts_at_a_new_start_marker() {
        // The end of the first message was lost: the second one still arrives whole.
        let (got, _) = frames(&[b">>>\nt=cut\n>>>\nt=whole\n<<<\n"]);
        assert_eq!(got, vec![b">>>\nt=whole\n<<<\n".to_vec()]);
    }

    #[test]
    fn framer_drops_messages_that_are_too_long() {
        let mut big = b">>>\n".to_vec();
        let line = vec![b'x'; 1000];
        while big.len() <= MAX_FRAME {
            big.extend_from_slice(&line);
            big.push(b'\n');
        }
        big.extend_from_slice(b"<<<\n>>>\nt=next\n<<<\n");
        let (got, long) = frames(&[&big]);
        assert_eq!(long, 1);
        assert_eq!(got, vec![b">>>\nt=next\n<<<\n".to_vec()]);
        // One endless line inside a message, then a good message.
        let mut endless = b">>>\nt=".to_vec();
        endless.extend(std::iter::repeat_n(b'y', MAX_FRAME + 10));
        endless.extend_from_slice(b"\n<<<\n>>>\nt=ok\n<<<\n");
        let (got, long) = frames(&[&endless]);
        assert_eq!(long, 1);
        assert_eq!(got, vec![b">>>\nt=ok\n<<<\n".to_vec()]);
        // Endless noise outside a message is skipped quietly.
        let mut noise = vec![b'z'; MAX_FRAME * 2];
        noise.extend_from_slice(b"\n>>>\nt=ok\n<<<\n");
        let (got, long) = frames(&[&noise]);
        assert_eq!((got.len(), long), (1, 0));
    }

    fn keys() -> KeyRing {
        KeyRing::single(1, AuthMethod::Md5(b"secret".to_vec())).expect("ring")
    }

    fn status() -> Message {
        let mut m = Message::with_type("status");
        m.push_str("st", "active")
            .push_str("src", "a")
            .push_str("seq", "1f");
        m
    }

    #[test]
    fn line_form_is_classic_without_nul() {
        let k = keys();
        let classic = hb_wire::encode(&status(), &k, SendForm::Classic).expect("encode");
        assert_eq!(classic.last(), Some(&0));
        let line = line_form(&classic, &k).expect("line form");
        assert_eq!(line, classic[..classic.len() - 1].to_vec());
        assert!(line.starts_with(b">>>\n") && line.ends_with(b"<<<\n"));
        // Netstring (msgfmt netstring, and 3.0.6's form) becomes classic, signed: the peer
        // checks the inner auth field.
        for form in [SendForm::Netstring, SendForm::Netstring306] {
            let ns = hb_wire::encode(&status(), &k, form).expect("encode");
            assert!(ns.starts_with(b"###\n"));
            let line = line_form(&ns, &k).expect("line form");
            assert!(
                line.starts_with(b">>>\n") && line.ends_with(b"<<<\n"),
                "{form:?}"
            );
            assert!(!line.contains(&0));
            let d = hb_wire::decode(&line, &k).expect("the line form verifies");
            assert_eq!(d.msg.get("st"), Some("active"));
            assert_eq!(d.msg.get("seq"), Some("1f"));
            // What the framer gives back decodes the same.
            let (got, _) = frames(&[&line]);
            assert_eq!(got, vec![line.clone()]);
        }
        // A datagram that verifies with no key of ours is refused, not sent.
        let other = KeyRing::single(1, AuthMethod::Md5(b"other".to_vec())).expect("ring");
        let ns = hb_wire::encode(&status(), &other, SendForm::Netstring).expect("encode");
        assert!(line_form(&ns, &k).is_err());
        assert!(line_form(b"junk", &k).is_err());
    }

    #[test]
    fn lock_file_as_uucp() {
        let dir = std::env::temp_dir().join(format!("hbio-lock-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        let me = std::process::id();
        {
            let l = TtyLock::acquire(&dir, "/dev/ttyS7").expect("free line");
            assert_eq!(l.path(), dir.join("LCK..ttyS7"));
            let text = fs::read_to_string(l.path()).expect("read");
            assert_eq!(text, format!("{me:>10}\n"));
            assert_eq!(text.len(), 11);
            // Ours: taken again (the original treats its own pid as stale).
            let again = TtyLock::acquire(&dir, "/dev/ttyS7").expect("our own lock");
            std::mem::forget(again);
        }
        // Dropped: removed.
        assert!(!dir.join("LCK..ttyS7").exists());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).expect("ls").count(), 0);
        // Held by a live process (pid 1 counts as no owner; use our parent).
        let parent = std::os::unix::process::parent_id();
        fs::write(dir.join("LCK..ttyS8"), format!("{parent:>10}\n")).expect("write");
        let e = TtyLock::acquire(&dir, "/dev/ttyS8").expect_err("held");
        assert!(
            e.to_string().contains(&format!("held by process {parent}")),
            "{e}"
        );
        assert!(dir.join("LCK..ttyS8").exists(), "a live lock is left alone");
        // Stale (no such process), empty or garbage: removed and taken.
        for stale in ["2147483646\n".to_string(), String::new(), "junk".into()] {
            fs::write(dir.join("LCK..ttyS9"), &stale).expect("write");
            let l = TtyLock::acquire(&dir, "/dev/ttyS9").expect("stale lock");
            assert_eq!(
                fs::read_to_string(l.path()).expect("read"),
                format!("{me:>10}\n")
            );
        }
        // A lock directory that does not exist: an error naming the file.
        let e = TtyLock::acquire(&dir.join("nope"), "/dev/ttyS0").expect_err("no dir");
        assert!(e.to_string().contains("nope"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }

    /// A pty pair: (master fd, slave path).
    fn pty() -> (OwnedFd, String) {
        // SAFETY: posix_openpt/grantpt/unlockpt/ptsname_r on a descriptor we own.
        unsafe {
            let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK);
            assert!(m >= 0, "posix_openpt: {}", io::Error::last_os_error());
            let m = OwnedFd::from_raw_fd(m);
            assert_eq!(libc::grantpt(m.as_raw_fd()), 0);
            assert_eq!(libc::unlockpt(m.as_raw_fd()), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(
                libc::ptsname_r(m.as_raw_fd(), name.as_mut_ptr(), name.len()),
                0
            );
            let s = std::ffi::CStr::from_ptr(name.as_ptr())
                .to_string_lossy()
                .into_owned();
            (m, s)
        }
    }

    fn lock_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "hbio-serial-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        fs::create_dir_all(&d).expect("mkdir");
        d
    }

    fn read_master(m: &OwnedFd, until: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let end = Instant::now() + Duration::from_secs(3);
        while !until(&got) && Instant::now() < end {
            match read_fd(m.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        got
    }

    #[test]
    fn settings_on_the_line() {
        let (_m, slave) = pty();
        let fd = open_line(&slave, 38400, true).expect("open");
        // SAFETY: plain data filled by tcgetattr.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and pointer.
        assert_eq!(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) }, 0);
        for (flag, on) in [
            (libc::INPCK, true),
            (libc::ISTRIP, true),
            (libc::IGNCR, true),
            (libc::BRKINT, true),
            (libc::IGNBRK, false),
            (libc::IXON, false),
            (libc::IXOFF, false),
            (libc::IXANY, false),
            (libc::ICRNL, false),
            (libc::PARMRK, false),
        ] {
            assert_eq!(t.c_iflag & flag != 0, on, "iflag {flag:#o}");
        }
        assert_eq!(t.c_oflag & libc::OPOST, 0);
        assert_eq!(t.c_cflag & libc::CSIZE, libc::CS8);
        assert_eq!(t.c_cflag & libc::PARENB, 0);
        assert_ne!(t.c_cflag & libc::CREAD, 0);
        assert_ne!(t.c_cflag & libc::CLOCAL, 0);
        assert_eq!(t.c_lflag & (libc::ICANON | libc::ECHO | libc::ISIG), 0);
        assert_eq!((t.c_cc[libc::VMIN], t.c_cc[libc::VTIME]), (1, 1));
        // SAFETY: valid termios.
        assert_eq!(unsafe { libc::cfgetospeed(&t) }, libc::B38400);
        // SAFETY: fcntl on a valid fd.
        let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(fl & libc::O_NONBLOCK, 0, "never blocks the loop");
        // SAFETY: fcntl on a valid fd.
        let fdfl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(fdfl & libc::FD_CLOEXEC, 0, "not inherited by scripts");
        assert!(open_line("/nonexistent/tty", 19200, false).is_err());
        assert!(open_line(&slave, 1234, false).is_err());
    }

    #[test]
    fn a_message_each_way_over_a_pty() {
        let (m, slave) = pty();
        let dir = lock_dir();
        let mut port = SerialPort::open(&slave, 19200, &dir).expect("open");
        assert!(port.is_open());
        assert_eq!(
            port.start_log_line(),
            format!("Starting serial heartbeat on tty {slave} (19200 baud)")
        );
        // The lock is gone once the line is open (as the original's).
        assert_eq!(fs::read_dir(&dir).expect("ls").count(), 0);
        let k = keys();
        let now = Instant::now();
        let d = hb_wire::encode(&status(), &k, SendForm::Netstring306).expect("encode");
        assert_eq!(port.send(now, &d, &k).expect("send"), 1);
        let out = read_master(&m, |g| g.ends_with(b"<<<\n"));
        assert!(out.starts_with(b">>>\nt=status\n"), "{out:?}");
        assert!(out.ends_with(b"<<<\n") && !out.contains(&0));
        // The other way, with carriage returns (the line drops them) and noise.
        let mut incoming = b"noise\r\n".to_vec();
        incoming.extend(out.iter().flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        }));
        write_fd(m.as_raw_fd(), &incoming).expect("write master");
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        let end = Instant::now() + Duration::from_secs(3);
        while got.is_empty() && Instant::now() < end {
            port.service(Instant::now(), &mut buf, |f| got.push(f.to_vec()));
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(got, vec![out.clone()]);
        let dm = hb_wire::decode(&got[0], &k).expect("decodes");
        assert_eq!(dm.msg.get("st"), Some("active"));
        assert!(port.poll_notice().is_none());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stuck_line_times_out_and_a_lost_line_is_reported_once() {
        let (m, slave) = pty();
        let dir = lock_dir();
        let mut port = SerialPort::open(&slave, 19200, &dir).expect("open");
        let k = keys();
        let d = hb_wire::encode(&status(), &k, SendForm::Classic).expect("encode");
        // Nobody reads the master: the pty's buffer fills, output queues.
        let t0 = Instant::now();
        let mut n = 0;
        while port.queued() == 0 && n < 100_000 {
            port.send(t0, &d, &k).expect("send");
            n += 1;
        }
        assert!(port.queued() > 0, "the line stopped taking output");
        assert!(port.poll_notice().is_none());
        // Not yet: less than the write timeout.
        port.send(t0 + WRITE_TIMEOUT / 2, &d, &k).expect("send");
        assert!(port.poll_notice().is_none());
        // Stuck for longer: flushed, with the original's warning.
        port.send(t0 + WRITE_TIMEOUT * 2, &d, &k).expect("send");
        let (lv, text) = port.poll_notice().expect("a warning");
        assert_eq!(lv, Level::Warn);
        assert_eq!(
            text,
            format!(
                "TTY write timeout on [{slave}] (no connection or bad cable? [see documentation])"
            )
        );
        // Only once an hour.
        let mut later = t0 + WRITE_TIMEOUT * 2;
        for _ in 0..100_000 {
            if port.queued() > 0 {
                break;
            }
            port.send(later, &d, &k).expect("send");
        }
        later += WRITE_TIMEOUT * 2;
        port.send(later, &d, &k).expect("send");
        assert!(
            port.poll_notice().is_none(),
            "no second warning within the hour"
        );
        // The other end goes away: reading sees it, one line says so, sending fails.
        drop(m);
        let mut buf = vec![0u8; 4096];
        let now = later + Duration::from_millis(1);
        assert_eq!(port.service(now, &mut buf, |_| {}), 0);
        let (lv, text) = port.poll_notice().expect("lost");
        assert_eq!(lv, Level::Error);
        assert!(
            text.starts_with(&format!("serial line {slave} lost: ")),
            "{text}"
        );
        assert!(!port.is_open());
        assert!(port.poll_notice().is_none());
        let e = port.send(now, &d, &k).expect_err("down");
        assert_eq!(e.kind(), io::ErrorKind::NotConnected);
        assert!(port.poll_notice().is_none(), "no retry before the interval");
        // The retry is due: the pty is gone, one warning, then quiet retries.
        let e = port
            .send(now + REOPEN_INTERVAL, &d, &k)
            .expect_err("still down");
        assert_eq!(e.kind(), io::ErrorKind::NotConnected);
        let (lv, text) = port.poll_notice().expect("still down");
        assert_eq!(lv, Level::Warn);
        assert!(text.contains("still down"), "{text}");
        let _ = port.send(now + REOPEN_INTERVAL * 2, &d, &k);
        assert!(port.poll_notice().is_none());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_locked_line_is_refused() {
        let (_m, slave) = pty();
        let dir = lock_dir();
        let parent = std::os::unix::process::parent_id();
        let lf = dir.join(format!("LCK..{}", lock_name(&slave)));
        fs::write(&lf, format!("{parent:>10}\n")).expect("write");
        let e = SerialPort::open(&slave, 19200, &dir).expect_err("locked");
        assert!(
            e.to_string()
                .starts_with(&format!("cannot lock line {slave}: ")),
            "{e}"
        );
        fs::remove_file(&lf).expect("rm");
        let e = SerialPort::open("/nonexistent/ttyQ", 19200, &dir).expect_err("missing");
        assert!(
            e.to_string().starts_with("cannot open /nonexistent/ttyQ: "),
            "{e}"
        );
        // A failed open leaves no lock behind.
        assert_eq!(fs::read_dir(&dir).expect("ls").count(), 0);
        let _ = fs::remove_dir_all(&dir);
    }
}
