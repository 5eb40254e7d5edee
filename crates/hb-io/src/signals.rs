//! Signals as a file descriptor: TERM, HUP, INT, USR1, USR2 and CHLD are blocked and read from a
//! non-blocking signalfd, which registers with mio like a socket.
//!
//! The mask is per thread and inherited by threads and children: create the [`SignalFd`] before
//! spawning any thread or child, and call [`reset_mask_in_child`] in every child's `pre_exec`
//! (std's `Command` keeps the blocked mask, so a script would otherwise ignore our SIGTERM).
//! Signals of one kind coalesce while pending: after a [`Signal::Chld`], reap with
//! `waitpid(-1, WNOHANG)` until nothing is left.
//!
//! What the original does with them (LOCAL-INTERFACES.md 6.2): TERM = graceful shutdown, HUP =
//! reread the configuration, USR1/USR2 = debug level up/down, INT ignored; SIGPIPE, SIGTTOU and
//! SIGTTIN are ignored ([`ignore_pipe_and_tty_signals`]).

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// The signals the daemon handles through the signalfd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    Term,
    Hup,
    Int,
    Usr1,
    Usr2,
    Chld,
}

/// Every signal [`SignalFd::new`] blocks.
pub const HANDLED: [Signal; 6] = [
    Signal::Term,
    Signal::Hup,
    Signal::Int,
    Signal::Usr1,
    Signal::Usr2,
    Signal::Chld,
];

impl Signal {
    /// The signal number.
    pub fn number(self) -> libc::c_int {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Hup => libc::SIGHUP,
            Signal::Int => libc::SIGINT,
            Signal::Usr1 => libc::SIGUSR1,
            Signal::Usr2 => libc::SIGUSR2,
            Signal::Chld => libc::SIGCHLD,
        }
    }

    /// The handled signal with this number, if any.
    pub fn from_number(n: libc::c_int) -> Option<Signal> {
        HANDLED.iter().copied().find(|s| s.number() == n)
    }
}

fn handled_set() -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initializes the set; sigaddset only touches the initialized set.
    unsafe {
        if libc::sigemptyset(set.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        for s in HANDLED {
            if libc::sigaddset(set.as_mut_ptr(), s.number()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(set.assume_init())
    }
}

/// A signalfd for the [`HANDLED`] signals, blocked in the calling thread.
#[derive(Debug)]
pub struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Block the handled signals in the calling thread (threads spawned later inherit the mask)
    /// and open a non-blocking, close-on-exec signalfd for them.
    pub fn new() -> io::Result<SignalFd> {
        let set = handled_set()?;
        // SAFETY: `set` is an initialized sigset; the old mask is not requested.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: -1 asks for a new signalfd; flags are valid.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        Ok(SignalFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Every signal pending now, in arrival order (drains the fd until it would block).
    pub fn read_pending(&self) -> io::Result<Vec<Signal>> {
        let mut out = Vec::new();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
            // SAFETY: reading at most `size` bytes into a properly sized, zeroed struct.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    info.as_mut_ptr() as *mut libc::c_void,
                    size,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => return Ok(out),
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if n as usize != size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("short read from signalfd: {n} bytes"),
                ));
            }
            // SAFETY: the kernel filled the whole struct (n == size); it was zeroed before anyway.
            let info = unsafe { info.assume_init() };
            let signo = libc::c_int::try_from(info.ssi_signo).unwrap_or(-1);
            if let Some(s) = Signal::from_number(signo) {
                out.push(s);
            }
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Source for SignalFd {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).deregister(registry)
    }
}

/// Ignore SIGPIPE, SIGTTOU and SIGTTIN, as the original does.
pub fn ignore_pipe_and_tty_signals() -> io::Result<()> {
    for sig in [libc::SIGPIPE, libc::SIGTTOU, libc::SIGTTIN] {
        // SAFETY: setting a standard disposition for a valid, catchable signal.
        if unsafe { libc::signal(sig, libc::SIG_IGN) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// For `Command::pre_exec`: unblock every signal and set every disposition back to default, so
/// the child starts clean (ignored signals would otherwise stay ignored across exec).
/// Only async-signal-safe calls (sigemptyset, sigprocmask, signal), no allocation.
pub fn reset_mask_in_child() -> io::Result<()> {
    // SAFETY: all calls are async-signal-safe and act on this (child) process only; signal() on
    // SIGKILL/SIGSTOP or unused numbers fails harmlessly and is ignored.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        if libc::sigemptyset(set.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::sigprocmask(libc::SIG_SETMASK, set.as_ptr(), std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        for sig in 1..=libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::os::unix::process::CommandExt;
    use std::process::Command;
    use std::time::Duration;

    #[test]
    fn numbers_round_trip() {
        for s in HANDLED {
            assert_eq!(Signal::from_number(s.number()), Some(s));
        }
        assert_eq!(Signal::from_number(libc::SIGKILL), None);
        assert_eq!(Signal::Usr1.number(), 10);
    }

    #[test]
    fn raised_signal_is_read_from_the_fd() {
        // Each test runs in its own thread: the mask and the raised signals stay in this thread.
        let mut sfd = SignalFd::new().expect("signalfd");
        assert_eq!(
            sfd.read_pending().expect("read"),
            vec![],
            "nothing pending yet"
        );
        let mut poll = Poll::new().expect("poll");
        poll.registry()
            .register(&mut sfd, Token(3), Interest::READABLE)
            .expect("register");
        // SAFETY: raise sends to this thread, where the signal is blocked.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        assert_eq!(unsafe { libc::raise(libc::SIGHUP) }, 0);
        let mut events = Events::with_capacity(4);
        poll.poll(&mut events, Some(Duration::from_secs(3)))
            .expect("poll");
        assert_eq!(
            events.iter().map(|e| e.token()).collect::<Vec<_>>(),
            vec![Token(3)]
        );
        let mut got = sfd.read_pending().expect("read");
        got.sort_by_key(|s| s.number());
        assert_eq!(got, vec![Signal::Hup, Signal::Usr1]);
        assert_eq!(sfd.read_pending().expect("read"), vec![], "drained");
    }

    fn status_field(out: &[u8], field: &str) -> u64 {
        let text = String::from_utf8_lossy(out);
        let line = text
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("{field} in {text}"));
        let hex = line.split_whitespace().nth(1).expect("value");
        u64::from_str_radix(hex, 16).expect("hex mask")
    }

    #[test]
    fn children_start_with_a_clean_mask() {
        let _sfd = SignalFd::new().expect("signalfd");
        ignore_pipe_and_tty_signals().expect("ignore");
        let bit = |s: libc::c_int| 1u64 << (s - 1);

        let inherited = Command::new("cat")
            .arg("/proc/self/status")
            .output()
            .expect("run cat");
        let blk = status_field(&inherited.stdout, "SigBlk:");
        assert_ne!(
            blk & bit(libc::SIGTERM),
            0,
            "without reset the child inherits the blocked mask"
        );

        let mut cmd = Command::new("cat");
        cmd.arg("/proc/self/status");
        // SAFETY: reset_mask_in_child is async-signal-safe.
        unsafe {
            cmd.pre_exec(reset_mask_in_child);
        }
        let out = cmd.output().expect("run cat");
        assert_eq!(status_field(&out.stdout, "SigBlk:"), 0, "nothing blocked");
        let ign = status_field(&out.stdout, "SigIgn:");
        assert_eq!(
            ign & (bit(libc::SIGTTIN) | bit(libc::SIGTTOU) | bit(libc::SIGPIPE)),
            0
        );
    }
}
