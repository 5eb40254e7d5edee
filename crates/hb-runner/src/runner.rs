//! The mechanics of running children without ever blocking the daemon.
//!
//! [`Runner`] starts a program ([`JobSpec`]) and gives back a [`JobId`]; it kills a job's whole
//! process group when told to; and [`Runner::reap`] reports the jobs that have ended, with the
//! output they produced. It keeps no clock and makes no decision: which job runs when, and how
//! long one may take, belong to the caller (the sans-IO core), which enforces a timeout by
//! calling [`Runner::kill`] and then treating the exit as a timeout.
//!
//! # Fitting into the daemon's mio loop
//!
//! Every child's stderr (and its stdout when captured) is a pipe. A child that writes more than
//! a pipe holds would stall until someone reads, so the runner reads its pipes whenever they are
//! readable, not only when the child ends. It watches them through a private [`mio::Poll`]
//! whose descriptor the daemon registers once, readable, in its own poll
//! ([`Runner::register`]); when that token fires the daemon calls [`Runner::on_readable`].
//! [`Runner::reap`] also reads every pipe, so a caller that never registers still gets all the
//! output, only with more delay for chatty children.
//!
//! The daemon learns that children ended from SIGCHLD (its signalfd) and then calls
//! [`Runner::reap`]. SIGCHLD coalesces, so one call checks every running job.
//!
//! # Reaping only our own children
//!
//! [`Runner::reap`] asks about each running job's pid with `waitpid(pid, WNOHANG)` (through
//! [`std::process::Child::try_wait`]) rather than `waitpid(-1)`, so it never collects the exit
//! status of a child that some other part of the process started and is waiting for. The cost
//! is one system call per running job per call, which is nothing for the handful of jobs a
//! heartbeat node runs. If something else does collect one of our children (for instance a
//! `waitpid(-1)` elsewhere, or SIGCHLD set to SIG_IGN), that job is reported as
//! [`JobStatus::Lost`] instead of being waited for forever.
//!
//! # The child's starting state
//!
//! Between fork and exec each child: becomes the leader of a new process group (so that
//! [`Runner::kill`] reaches whatever it starts); resets every signal disposition to the default
//! and empties its signal mask (the daemon blocks the signals it reads through a signalfd, and
//! a blocked mask survives exec: without the reset, a script would ignore the SIGTERM sent on a
//! timeout); drops realtime scheduling if the daemon runs with it; marks every descriptor above
//! 2 close-on-exec (where the kernel has `close_range`), so sockets the daemon opened without
//! that flag do not leak; and, for a job with a user, sets the supplementary groups, the group
//! and the user. Its stdin is `/dev/null`, its stdout is `/dev/null` or the capture pipe, its
//! stderr is the log pipe.
//!
//! # Output left behind
//!
//! A start script may leave a background process that inherited its stdout or stderr. The
//! runner reports the job's end as soon as the script itself has exited, without waiting for
//! the pipes to close, and keeps reading (and discarding) whatever such processes write until
//! they close the pipe, so they never get SIGPIPE because the script ended.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

/// Default number of stdout bytes kept per job (the rest is read and thrown away).
pub const DEFAULT_STDOUT_CAP: usize = 64 * 1024;
/// Default number of stderr bytes kept per job: the last ones written.
pub const DEFAULT_STDERR_CAP: usize = 8 * 1024;

/// Identifies one spawned job for the life of a [`Runner`]; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSpec {
    /// The program to execute (a path; it is not looked up in `PATH` when it has a slash).
    pub program: PathBuf,
    /// `argv[0]` when it should differ from `program` (harc is run as `harc`).
    pub arg0: Option<String>,
    /// The arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Variables added to the runner's base environment for this job (they win over it).
    pub env: Vec<(String, String)>,
    /// Working directory; the daemon's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Capture stdout (needed for the ownership test of `status`); `/dev/null` otherwise.
    pub capture_stdout: bool,
    /// Run as this `(uid, gid)` (respawn clients); as the daemon's user when `None`.
    pub user: Option<(u32, u32)>,
    /// Supplementary groups to set when `user` is given (see `hb_sys::group_list`); when
    /// empty, the only group is the one in `user`.
    pub groups: Vec<u32>,
}

impl JobSpec {
    /// A job running `program` with no arguments, nothing captured, as the daemon's user.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        JobSpec {
            program: program.into(),
            arg0: None,
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            capture_stdout: false,
            user: None,
            groups: Vec::new(),
        }
    }
}

/// How a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// It called exit with this status.
    Exited(i32),
    /// It was killed by this signal.
    Signaled(i32),
    /// Its exit status was collected by someone else; the process is gone.
    Lost,
}

impl JobStatus {
    /// Exit status 0.
    pub fn success(&self) -> bool {
        matches!(self, JobStatus::Exited(0))
    }

    /// The status a shell would report in `$?`: the exit status, or 128 + the signal number.
    /// [`JobStatus::Lost`] gives 255.
    pub fn shell_code(&self) -> i32 {
        match *self {
            JobStatus::Exited(code) => code,
            JobStatus::Signaled(signal) => 128 + signal,
            JobStatus::Lost => 255,
        }
    }
}

/// One ended job, as reported by [`Runner::reap`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobExit {
    pub id: JobId,
    /// The pid it had (also its process group id).
    pub pid: u32,
    pub status: JobStatus,
    /// The first bytes of its stdout (empty unless it was captured).
    pub stdout: Vec<u8>,
    /// Stdout bytes read beyond the cap and thrown away.
    pub stdout_dropped: u64,
    /// The last lines of its stderr, for the log (invalid UTF-8 replaced; no line ends).
    pub stderr_tail: Vec<String>,
    /// Stderr bytes thrown away before the kept tail.
    pub stderr_dropped: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keep {
    /// Keep the first `cap` bytes.
    Head,
    /// Keep the last `cap` bytes.
    Tail,
}

/// One pipe being read (always non-blocking).
struct Pipe {
    file: File,
    keep: Keep,
    cap: usize,
    buf: Vec<u8>,
    dropped: u64,
    /// Registered with the private poll (a failed registration only costs latency: reap()
    /// reads every pipe anyway).
    registered: bool,
    /// End of file seen.
    eof: bool,
    /// The job it belongs to; `None` once the job has been reported (then data is discarded).
    owner: Option<JobId>,
}

impl Pipe {
    fn take_in(&mut self, data: &[u8]) {
        if self.owner.is_none() {
            return;
        }
        match self.keep {
            Keep::Head => {
                let room = self.cap.saturating_sub(self.buf.len());
                let n = room.min(data.len());
                self.buf
                    .extend_from_slice(data.get(..n).unwrap_or_default());
                self.dropped += (data.len() - n) as u64;
            }
            Keep::Tail => {
                self.buf.extend_from_slice(data);
                if self.buf.len() > self.cap {
                    let excess = self.buf.len() - self.cap;
                    self.buf.drain(..excess);
                    self.dropped += excess as u64;
                }
            }
        }
    }

    /// Reads until the pipe is empty; sets `eof` at end of file (or on an error that makes
    /// further reads pointless).
    fn drain(&mut self) {
        if self.eof {
            return;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.take_in(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        self.eof = true;
    }
}

struct Job {
    child: Child,
    pid: u32,
    stdout: Option<usize>,
    stderr: Option<usize>,
}

/// Spawns, kills and reaps children; see the module documentation.
///
/// Dropping a runner closes its pipes but neither kills nor reaps the jobs still running.
pub struct Runner {
    base_env: Vec<(String, String)>,
    poll: Poll,
    events: Events,
    jobs: BTreeMap<JobId, Job>,
    /// Pipes by the token they are registered with (the key is the token's value).
    pipes: HashMap<usize, Pipe>,
    next_job: u64,
    next_token: usize,
    stdout_cap: usize,
    stderr_cap: usize,
}

impl Runner {
    /// A runner whose children get the daemon's environment plus `base_env` (see
    /// [`crate::env::base_env`]) plus each job's own variables, later ones winning.
    pub fn new(base_env: Vec<(String, String)>) -> io::Result<Runner> {
        Ok(Runner {
            base_env,
            poll: Poll::new()?,
            events: Events::with_capacity(64),
            jobs: BTreeMap::new(),
            pipes: HashMap::new(),
            next_job: 1,
            next_token: 0,
            stdout_cap: DEFAULT_STDOUT_CAP,
            stderr_cap: DEFAULT_STDERR_CAP,
        })
    }

    /// Replaces the base environment for jobs spawned from now on (after SIGHUP, or when the
    /// debug level changes).
    pub fn set_base_env(&mut self, base_env: Vec<(String, String)>) {
        self.base_env = base_env;
    }

    /// The base environment currently in use.
    pub fn base_env(&self) -> &[(String, String)] {
        &self.base_env
    }

    /// Sets how many stdout bytes (the first ones) and stderr bytes (the last ones) are kept per
    /// job spawned from now on.
    pub fn set_capture_limits(&mut self, stdout_cap: usize, stderr_cap: usize) {
        self.stdout_cap = stdout_cap;
        self.stderr_cap = stderr_cap;
    }

    /// Registers the runner's private poll, readable, in the daemon's poll under `token`. When
    /// that token fires, call [`Runner::on_readable`].
    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.poll.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    /// Undoes [`Runner::register`].
    pub fn deregister(&self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut SourceFd(&self.poll.as_raw_fd()))
    }

    /// Starts a job. Errors are those of fork/exec (program missing, not executable, cannot
    /// change user, ...); nothing is left running on error.
    pub fn spawn(&mut self, job: JobSpec) -> io::Result<JobId> {
        let mut cmd = Command::new(&job.program);
        if let Some(arg0) = &job.arg0 {
            cmd.arg0(arg0);
        }
        cmd.args(&job.args);
        for (name, value) in self.base_env.iter().chain(job.env.iter()) {
            if crate::env::is_valid_env_pair(name, value) {
                cmd.env(name, value);
            }
        }
        if let Some(dir) = &job.cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null());
        // Our own pipes: the read end is non-blocking from the start, the write end (blocking,
        // as children expect) goes to the child and is closed here when `cmd` is dropped.
        let stdout_pipe = if job.capture_stdout {
            let (read, write) = pipe_for_child()?;
            cmd.stdout(Stdio::from(write));
            Some(read)
        } else {
            cmd.stdout(Stdio::null());
            None
        };
        let (stderr_read, stderr_write) = pipe_for_child()?;
        cmd.stderr(Stdio::from(stderr_write));
        cmd.process_group(0);

        let creds = match job.user {
            Some((uid, gid)) => {
                let groups: Vec<libc::gid_t> = if job.groups.is_empty() {
                    vec![gid]
                } else {
                    job.groups.clone()
                };
                Some((uid, gid, groups))
            }
            None => None,
        };
        // SAFETY: the closure runs in the child between fork and exec. It only makes
        // async-signal-safe system calls through libc, touches no lock and allocates nothing
        // (the group list was built before the fork and is only read).
        unsafe {
            cmd.pre_exec(move || child_setup(creds.as_ref()));
        }

        let spawned = cmd.spawn();
        // Close our copies of the write ends now, or the pipes would never reach end of file.
        drop(cmd);
        let child = spawned?;
        let pid = child.id();
        let id = JobId(self.next_job);
        self.next_job += 1;

        let stdout = stdout_pipe.map(|fd| self.add_pipe(fd, Keep::Head, self.stdout_cap, id));
        let stderr = Some(self.add_pipe(stderr_read, Keep::Tail, self.stderr_cap, id));
        self.jobs.insert(
            id,
            Job {
                child,
                pid,
                stdout,
                stderr,
            },
        );
        Ok(id)
    }

    fn add_pipe(&mut self, fd: OwnedFd, keep: Keep, cap: usize, owner: JobId) -> usize {
        let raw = fd.as_raw_fd();
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        let registered = self
            .poll
            .registry()
            .register(&mut SourceFd(&raw), Token(token), Interest::READABLE)
            .is_ok();
        self.pipes.insert(
            token,
            Pipe {
                file: File::from(fd),
                keep,
                cap,
                buf: Vec::new(),
                dropped: 0,
                registered,
                eof: false,
                owner: Some(owner),
            },
        );
        token
    }

    /// Sends `signal` to the job's whole process group. A job that has already ended (even if
    /// not yet reaped) is not an error. Unknown ids are [`io::ErrorKind::NotFound`].
    pub fn kill(&mut self, job: JobId, signal: i32) -> io::Result<()> {
        let pid = match self.jobs.get(&job) {
            Some(j) => j.pid,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{job} is not running"),
                ))
            }
        };
        let pgid = libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        // SAFETY: plain system call on a group we created (the job is not reaped yet, so its
        // pid, which is the group id, cannot have been reused).
        let rc = unsafe { libc::kill(-pgid, signal) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return Ok(());
        }
        Err(err)
    }

    /// The pid (also the process group id) of a running job.
    pub fn pid(&self, job: JobId) -> Option<u32> {
        self.jobs.get(&job).map(|j| j.pid)
    }

    /// Whether the job has been spawned and not yet reported by [`Runner::reap`].
    pub fn is_running(&self, job: JobId) -> bool {
        self.jobs.contains_key(&job)
    }

    /// The jobs not yet reported by [`Runner::reap`], oldest first.
    pub fn running(&self) -> Vec<JobId> {
        self.jobs.keys().copied().collect()
    }

    /// Reads whatever the readable pipes hold. Call it when the token given to
    /// [`Runner::register`] fires; it never blocks.
    pub fn on_readable(&mut self) {
        // Each round drains every pipe that was reported. A short round means the private
        // poll had nothing more ready; the bound keeps a child that writes without pause from
        // holding the daemon here (what it writes next makes the descriptor fire again).
        for _ in 0..16 {
            if self
                .poll
                .poll(&mut self.events, Some(Duration::ZERO))
                .is_err()
            {
                // EINTR or similar: reading every pipe is always correct, just slower.
                self.drain_all();
                return;
            }
            let tokens: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
            for &token in &tokens {
                self.drain_pipe(token);
            }
            if tokens.len() < self.events.capacity() {
                return;
            }
        }
    }

    /// Reports every job that has ended since the last call, oldest first, with its output.
    /// Never blocks. Call it after SIGCHLD (and at any other time; extra calls are harmless).
    pub fn reap(&mut self) -> Vec<JobExit> {
        // Reading first lets a child blocked on a full pipe move on.
        self.drain_all();
        let mut ended = Vec::new();
        for (id, job) in self.jobs.iter_mut() {
            match job.child.try_wait() {
                Ok(Some(status)) => {
                    let status = if let Some(code) = status.code() {
                        JobStatus::Exited(code)
                    } else if let Some(sig) = status.signal() {
                        JobStatus::Signaled(sig)
                    } else {
                        JobStatus::Lost
                    };
                    ended.push((*id, status));
                }
                Ok(None) => {}
                Err(_) => ended.push((*id, JobStatus::Lost)),
            }
        }
        let mut exits = Vec::with_capacity(ended.len());
        for (id, status) in ended {
            let Some(job) = self.jobs.remove(&id) else {
                continue;
            };
            // What the child wrote before exiting is in the pipe now; take it.
            let (stdout, stdout_dropped) = match job.stdout {
                Some(t) => self.finish_pipe(t),
                None => (Vec::new(), 0),
            };
            let (stderr, stderr_dropped) = match job.stderr {
                Some(t) => self.finish_pipe(t),
                None => (Vec::new(), 0),
            };
            let (stderr_tail, stderr_dropped) = tail_lines(&stderr, stderr_dropped);
            exits.push(JobExit {
                id,
                pid: job.pid,
                status,
                stdout,
                stdout_dropped,
                stderr_tail,
                stderr_dropped,
            });
        }
        exits
    }

    /// Number of pipes still open, including those kept open for processes a finished job
    /// left behind.
    pub fn open_pipes(&self) -> usize {
        self.pipes.len()
    }

    fn drain_all(&mut self) {
        let tokens: Vec<usize> = self.pipes.keys().copied().collect();
        for token in tokens {
            self.drain_pipe(token);
        }
    }

    /// Reads one pipe; closes it at end of file once its job has been reported.
    fn drain_pipe(&mut self, token: usize) {
        let Some(pipe) = self.pipes.get_mut(&token) else {
            return;
        };
        if pipe.eof {
            return;
        }
        pipe.drain();
        if pipe.eof {
            if pipe.owner.is_none() {
                self.close_pipe(token);
            } else {
                // Keep the data until the job is reported; stop watching the descriptor.
                unregister(&self.poll, pipe);
            }
        }
    }

    /// Takes a job's pipe contents. The pipe stays open, its data discarded, while some other
    /// process still holds its write end.
    fn finish_pipe(&mut self, token: usize) -> (Vec<u8>, u64) {
        let Some(pipe) = self.pipes.get_mut(&token) else {
            return (Vec::new(), 0);
        };
        pipe.drain();
        let data = std::mem::take(&mut pipe.buf);
        let dropped = pipe.dropped;
        pipe.owner = None;
        if pipe.eof {
            self.close_pipe(token);
        }
        (data, dropped)
    }

    fn close_pipe(&mut self, token: usize) {
        if let Some(mut pipe) = self.pipes.remove(&token) {
            unregister(&self.poll, &mut pipe);
        }
    }
}

fn unregister(poll: &Poll, pipe: &mut Pipe) {
    if pipe.registered {
        let raw = pipe.file.as_raw_fd();
        let _ = poll.registry().deregister(&mut SourceFd(&raw));
        pipe.registered = false;
    }
}

impl AsRawFd for Runner {
    /// The descriptor of the private poll: readable when some pipe has data.
    fn as_raw_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("running", &self.jobs.keys().collect::<Vec<_>>())
            .field("open_pipes", &self.pipes.len())
            .finish()
    }
}

/// Linux `CLOSE_RANGE_CLOEXEC`: mark the range close-on-exec instead of closing it.
const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
/// One past the highest signal number on Linux.
const NSIG: libc::c_int = 65;

/// Runs in the child between fork and exec; async-signal-safe calls only.
fn child_setup(creds: Option<&(u32, u32, Vec<libc::gid_t>)>) -> io::Result<()> {
    // SAFETY: every call below is a plain system call wrapper, valid in a child after fork;
    // the structures passed live on this stack frame or in memory the parent prepared.
    unsafe {
        // Default dispositions first (a handler inherited from the daemon must never run
        // here), then the empty mask.
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        for sig in 1..NSIG {
            // SIGKILL and SIGSTOP refuse; that is fine. The C library's wrapper also refuses its
            // internal signals (32, 33), which may still be ignored by inheritance, so the
            // kernel is asked directly where its structure layout is known.
            if !kernel_default_action(sig) {
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
        // The raw system call: the C library's wrapper refuses to touch its internal signals
        // (32 and 33), and those may be blocked here too (seen with Rust 1.95's spawn).
        let empty: u64 = 0;
        if libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }

        // The daemon may run with realtime priority; its scripts must not.
        let policy = libc::sched_getscheduler(0);
        if policy == libc::SCHED_FIFO || policy == libc::SCHED_RR {
            // Zeroed rather than built field by field: musl's sched_param has more fields.
            // SAFETY: sched_param is plain data; all zeros is priority 0.
            let param: libc::sched_param = std::mem::zeroed();
            libc::sched_setscheduler(0, libc::SCHED_OTHER, &param);
        }

        // Descriptors the daemon opened without close-on-exec must not reach the program.
        // std's own exec-status pipe is already close-on-exec, so marking is safe where closing
        // would not be. Kernels before 5.11 lack close_range: nothing to do then.
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        );

        if let Some((uid, gid, groups)) = creds {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setgid(*gid) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setuid(*uid) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// The kernel's `struct sigaction` on architectures that have `sa_restorer`.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Sets `sig` to its default action with the raw system call; false if not done.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn kernel_default_action(sig: libc::c_int) -> bool {
    let action = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with a fully initialised kernel structure and no old-action output.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &action as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            std::mem::size_of::<u64>(),
        )
    };
    rc == 0
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn kernel_default_action(_sig: libc::c_int) -> bool {
    false
}

/// A pipe whose read end (first) is non-blocking and whose write end (second) is blocking; both
/// close-on-exec (the child gets the write end through dup2, which clears the flag).
fn pipe_for_child() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two descriptors into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    set_nonblocking(read.as_raw_fd())?;
    Ok((read, write))
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Splits a stderr tail into lines. When bytes were dropped before it, the first (partial)
/// line is dropped too and counted.
fn tail_lines(bytes: &[u8], dropped: u64) -> (Vec<String>, u64) {
    let mut rest = bytes;
    let mut dropped = dropped;
    if dropped > 0 {
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                dropped += (nl + 1) as u64;
                rest = rest.get(nl + 1..).unwrap_or_default();
            }
            None => {
                return (Vec::new(), dropped + rest.len() as u64);
            }
        }
    }
    let mut lines: Vec<String> = rest
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect();
    if rest.last() == Some(&b'\n') || rest.is_empty() {
        lines.pop();
    }
    (lines, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_lines_splits_and_drops_partial_first_line() {
        assert_eq!(tail_lines(b"", 0), (Vec::<String>::new(), 0));
        assert_eq!(
            tail_lines(b"one\ntwo\n", 0),
            (vec!["one".to_string(), "two".to_string()], 0)
        );
        assert_eq!(
            tail_lines(b"one\r\ntwo", 0),
            (vec!["one".to_string(), "two".to_string()], 0)
        );
        assert_eq!(
            tail_lines(b"tial\nwhole\n", 10),
            (vec!["whole".to_string()], 15)
        );
        assert_eq!(tail_lines(b"nonewline", 3), (Vec::<String>::new(), 12));
    }

    #[test]
    fn pipe_for_child_read_end_does_not_block() {
        let (read, _write) = pipe_for_child().unwrap();
        let mut file = File::from(read);
        let mut buf = [0u8; 8];
        let err = file.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn job_status_codes() {
        assert!(JobStatus::Exited(0).success());
        assert!(!JobStatus::Exited(1).success());
        assert!(!JobStatus::Signaled(9).success());
        assert_eq!(JobStatus::Signaled(15).shell_code(), 143);
        assert_eq!(JobStatus::Exited(3).shell_code(), 3);
        assert_eq!(JobStatus::Lost.shell_code(), 255);
    }
}
