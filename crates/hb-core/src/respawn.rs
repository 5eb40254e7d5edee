//! `respawn USER COMMAND [ARGS]` clients, as a sans-IO state machine.
//!
//! The daemon does the process work: on [`Action::Start`] it runs `/bin/sh -c "<command>"` as
//! the user (own process group, `initgroups`/`setgid`/`setuid`, stdio on /dev/null, the daemon's
//! environment and working directory) and reports [`Respawn::spawned`] or
//! [`Respawn::spawn_failed`]; on [`Action::Stop`] it sends SIGTERM to the process group; it
//! reports every death with [`Respawn::exited`]. This module decides when, in which order, and
//! what is logged.
//!
//! Rules of the original (2.0.8 `heartbeat/heartbeat.c` comm_now_up, start_a_child_client,
//! ManagedChildDied, shutdown_last_client_child, hb_kill_tracked_process, hb_mcp_final_shutdown;
//! `lib/clplumbing/proctrack.c` ReportProcHasDied; `heartbeat/config.c` add_client_child; read
//! for facts):
//! - all clients are started in file order when communication comes up, unless a shutdown is in
//!   progress (then never). Start: `Starting child client "<cmd>" (U,G)` (info); if the program
//!   is not executable, `Cannot exec <cmd>: <error>` (error) and it is not started (nor retried);
//!   the child logs `Starting "<cmd>" as uid U  gid G (pid N)` (info);
//! - a death is logged by the process tracker: `Exiting <cmd> process N returned rc R.` (info
//!   when R is 0, warn otherwise), `Exiting <cmd> process N killed by signal S.` (warn), plus
//!   `Exiting <cmd> process N dumped core` (error) when it dumped core (logged even when the
//!   tracker's logging is off);
//! - unless a shutdown is in progress or it exited with status 100, a client is restarted at once:
//!   a run shorter than 30 s is "short" and increments a counter, a longer one resets it; when
//!   the counter exceeds 10 (the 11th short run in a row), `Client <cmd> "respawning too fast"`
//!   (error), the counter is reset and the client is not restarted (it stays down); otherwise
//!   `Respawning client "<cmd>":` (error) and it starts again. When the counter is not zero the
//!   child first sleeps 1 s (here: [`Action::Start`] comes 1 s later, see [`Respawn::poll_timeout`]);
//!   runs are timed from the fork;
//! - at the end of a shutdown (after the resources are released and our `shutdone` came back),
//!   the clients are stopped one by one in reverse file order: respawning is disabled, SIGTERM
//!   to the process group (`killing <cmd> process group N with signal 15`, info), and the next
//!   one only after that one died; a client not running is passed over with
//!   `client [<cmd>] is not running.` (info). The tracker logs no deaths from then on.
//!
//! Differences: a delayed restart (the 1 s sleep) is not a process yet here, so a shutdown
//! cancels it instead of killing a sleeping child. The original's own lines `Client <cmd> exited
//! with return code N.` / `Client <cmd>(pid=N) killed by signal S.` are only logged when the
//! tracker did not log the death, which does not happen outside shutdown with its settings, and
//! are not produced here.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Level;

/// A run shorter than this counts as short.
pub const SHORT_RUN: Duration = Duration::from_secs(30);
/// More short runs in a row than this and the client is left down.
pub const MAX_SHORT_RUNS: u32 = 10;
/// Delay before a restart that follows a short run.
pub const FAST_RESPAWN_DELAY: Duration = Duration::from_secs(1);
/// A client exiting with this status is not restarted.
pub const NO_RESPAWN_EXIT: i32 = 100;
/// The signal sent at shutdown (SIGTERM).
pub const STOP_SIGNAL: i32 = 15;

/// One `respawn` line, with its user resolved by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSpec {
    pub user: String,
    pub uid: u32,
    /// The user's primary group.
    pub gid: u32,
    /// The command line as written (run with `/bin/sh -c`).
    pub command: String,
}

/// How a client ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal { signo: i32, core: bool },
}

impl Exit {
    /// From a raw `waitpid` status (as `ExitStatusExt::into_raw` gives it).
    pub fn from_wait_status(status: i32) -> Exit {
        let sig = status & 0x7f;
        if sig == 0 {
            Exit::Code((status >> 8) & 0xff)
        } else {
            Exit::Signal {
                signo: sig,
                core: status & 0x80 != 0,
            }
        }
    }
}

/// Why a start did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpawnFailure {
    /// The program cannot be executed (`access(path, X_OK)` failed): the error text.
    NotExecutable(String),
    /// fork failed.
    Fork,
}

/// What the daemon must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run `/bin/sh -c "<command>"` as `user` (uid, gid) in a new process group, then call
    /// [`Respawn::spawned`] or [`Respawn::spawn_failed`].
    Start {
        id: usize,
        user: String,
        uid: u32,
        gid: u32,
        command: String,
    },
    /// Send SIGTERM to process group `pid` (`kill(-pid, SIGTERM)`); its death comes back
    /// through [`Respawn::exited`].
    Stop { id: usize, pid: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not running (never started, stopped, left down, or failed to start).
    Idle,
    /// A restart waiting for its delay.
    Pending {
        at: Instant,
    },
    /// Start asked; no pid yet.
    Starting,
    Running {
        pid: u32,
        stop_sent: bool,
    },
}

#[derive(Debug)]
struct Client {
    spec: ClientSpec,
    state: State,
    /// When the current run was decided (the original's fork time).
    run_started: Option<Instant>,
    respawn: bool,
    short_runs: u32,
    respawns: u32,
}

/// A read-only view of one client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientView<'a> {
    pub id: usize,
    pub user: &'a str,
    pub command: &'a str,
    pub pid: Option<u32>,
    /// How many times it was restarted.
    pub respawns: u32,
    /// The current count of short runs in a row.
    pub short_runs: u32,
}

/// The respawn clients of one daemon, in ha.cf order.
#[derive(Debug)]
pub struct Respawn {
    clients: Vec<Client>,
    comm_up: bool,
    shutdown: bool,
    /// Stopping in reverse order: the client being stopped now, `None` when done.
    stopping: Option<Option<usize>>,
    actions: VecDeque<Action>,
    logs: VecDeque<(Level, String)>,
}

impl Respawn {
    pub fn new(specs: Vec<ClientSpec>) -> Respawn {
        Respawn {
            clients: specs
                .into_iter()
                .map(|spec| Client {
                    spec,
                    state: State::Idle,
                    run_started: None,
                    respawn: true,
                    short_runs: 0,
                    respawns: 0,
                })
                .collect(),
            comm_up: false,
            shutdown: false,
            stopping: None,
            actions: VecDeque::new(),
            logs: VecDeque::new(),
        }
    }

    fn log(&mut self, level: Level, text: String) {
        self.logs.push_back((level, text));
    }

    /// Communication is up: start every client in file order (once; not during a shutdown).
    pub fn comm_up(&mut self, now: Instant) {
        if self.comm_up {
            return;
        }
        self.comm_up = true;
        if self.shutdown {
            return;
        }
        for id in 0..self.clients.len() {
            self.begin_start(now, id, false);
        }
    }

    /// Logs the parent's line and either asks for the start now or after the fast-respawn
    /// delay.
    fn begin_start(&mut self, now: Instant, id: usize, delayed: bool) {
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        c.run_started = Some(now);
        let line = format!(
            "Starting child client \"{}\" ({},{})",
            c.spec.command, c.spec.uid, c.spec.gid
        );
        if delayed {
            c.state = State::Pending {
                at: now + FAST_RESPAWN_DELAY,
            };
        } else {
            c.state = State::Starting;
            let a = start_action(id, &c.spec);
            self.actions.push_back(a);
        }
        self.log(Level::Info, line);
    }

    /// The daemon started client `id` as process (and process group) `pid`.
    pub fn spawned(&mut self, _now: Instant, id: usize, pid: u32) {
        let stopping_this = self.stopping == Some(Some(id));
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.state != State::Starting {
            return;
        }
        c.state = State::Running {
            pid,
            stop_sent: false,
        };
        let line = format!(
            "Starting \"{}\" as uid {}  gid {} (pid {pid})",
            c.spec.command, c.spec.uid, c.spec.gid
        );
        self.log(Level::Info, line);
        if stopping_this {
            self.advance_stop();
        }
    }

    /// The daemon could not start client `id`. It is not retried.
    pub fn spawn_failed(&mut self, _now: Instant, id: usize, why: SpawnFailure) {
        let stopping_this = self.stopping == Some(Some(id));
        let Some(c) = self.clients.get_mut(id) else {
            return;
        };
        if c.state != State::Starting {
            return;
        }
        c.state = State::Idle;
        let line = match why {
            SpawnFailure::NotExecutable(err) => format!("Cannot exec {}: {err}", c.spec.command),
            SpawnFailure::Fork => "start_a_child_client: Cannot fork.".to_string(),
        };
        let level = Level::Error;
        self.log(level, line);
        if stopping_this {
            self.advance_stop();
        }
    }

    /// The client whose process (group leader) is `pid`, if any.
    pub fn id_of_pid(&self, pid: u32) -> Option<usize> {
        self.clients
            .iter()
            .position(|c| matches!(c.state, State::Running { pid: p, .. } if p == pid))
    }

    /// Client `id` died. Returns whether it was one of ours running (else nothing happens).
    pub fn exited(&mut self, now: Instant, id: usize, how: Exit) -> bool {
        let stopping = self.stopping.is_some();
        let shutdown = self.shutdown;
        let Some(c) = self.clients.get_mut(id) else {
            return false;
        };
        let State::Running { pid, stop_sent } = c.state else {
            return false;
        };
        c.state = State::Idle;
        let cmd = c.spec.command.clone();
        // The tracker logs the death unless we killed it or the final shutdown began; a core
        // dump is always reported.
        let report = !stop_sent && !stopping;
        match how {
            Exit::Code(rc) if report => {
                let level = if rc == 0 { Level::Info } else { Level::Warn };
                self.log(
                    level,
                    format!("Exiting {cmd} process {pid} returned rc {rc}."),
                );
            }
            Exit::Signal { signo, core } if report || core => {
                self.log(
                    Level::Warn,
                    format!("Exiting {cmd} process {pid} killed by signal {signo}."),
                );
            }
            _ => {}
        }
        if let Exit::Signal { core: true, .. } = how {
            self.log(
                Level::Error,
                format!("Exiting {cmd} process {pid} dumped core"),
            );
        }

        let c = &mut self.clients[id];
        let code = match how {
            Exit::Code(rc) => rc,
            Exit::Signal { .. } => 0,
        };
        if c.respawn && !shutdown && code != NO_RESPAWN_EXIT {
            c.respawns += 1;
            let short = c.run_started.is_some_and(|t| now < t + SHORT_RUN);
            if short {
                c.short_runs += 1;
            } else {
                c.short_runs = 0;
            }
            if c.short_runs > MAX_SHORT_RUNS {
                c.short_runs = 0;
                self.log(
                    Level::Error,
                    format!("Client {cmd} \"respawning too fast\""),
                );
            } else {
                let delayed = c.short_runs > 0;
                self.log(Level::Error, format!("Respawning client \"{cmd}\":"));
                self.begin_start(now, id, delayed);
            }
        }
        if self.stopping == Some(Some(id)) {
            self.stopping = Some(id.checked_sub(1));
            self.advance_stop();
        }
        true
    }

    /// A shutdown began: no more restarts, and delayed restarts are cancelled.
    pub fn shutdown(&mut self, _now: Instant) {
        self.shutdown = true;
        for c in &mut self.clients {
            if let State::Pending { .. } = c.state {
                c.state = State::Idle;
            }
        }
    }

    /// Stop every client, last one first, each after the previous one died (the final
    /// shutdown phase; implies [`Respawn::shutdown`]).
    pub fn stop_all(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        self.shutdown(now);
        self.stopping = Some(self.clients.len().checked_sub(1));
        self.advance_stop();
    }

    fn advance_stop(&mut self) {
        while let Some(Some(id)) = self.stopping {
            let Some(c) = self.clients.get_mut(id) else {
                self.stopping = Some(None);
                return;
            };
            c.respawn = false;
            match c.state {
                State::Running { pid, stop_sent } => {
                    if !stop_sent {
                        c.state = State::Running {
                            pid,
                            stop_sent: true,
                        };
                        let line = format!(
                            "killing {} process group {pid} with signal {STOP_SIGNAL}",
                            c.spec.command
                        );
                        self.actions.push_back(Action::Stop { id, pid });
                        self.log(Level::Info, line);
                    }
                    return;
                }
                // Its pid is on the way: wait for spawned / spawn_failed.
                State::Starting => return,
                State::Idle | State::Pending { .. } => {
                    c.state = State::Idle;
                    let line = format!("client [{}] is not running.", c.spec.command);
                    self.log(Level::Info, line);
                    self.stopping = Some(id.checked_sub(1));
                }
            }
        }
    }

    /// Whether [`Respawn::stop_all`] ran and every client is down.
    pub fn all_stopped(&self) -> bool {
        self.stopping == Some(None)
    }

    /// Starts whose delay is over.
    pub fn handle_timeout(&mut self, now: Instant) {
        for id in 0..self.clients.len() {
            let c = &mut self.clients[id];
            if let State::Pending { at } = c.state {
                if now >= at {
                    c.state = State::Starting;
                    let a = start_action(id, &c.spec);
                    self.actions.push_back(a);
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.clients
            .iter()
            .filter_map(|c| match c.state {
                State::Pending { at } => Some(at),
                _ => None,
            })
            .min()
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next log line.
    pub fn poll_log(&mut self) -> Option<(Level, String)> {
        self.logs.pop_front()
    }

    /// Every client, in file order.
    pub fn clients(&self) -> impl Iterator<Item = ClientView<'_>> {
        self.clients.iter().enumerate().map(|(id, c)| ClientView {
            id,
            user: &c.spec.user,
            command: &c.spec.command,
            pid: match c.state {
                State::Running { pid, .. } => Some(pid),
                _ => None,
            },
            respawns: c.respawns,
            short_runs: c.short_runs,
        })
    }
}

fn start_action(id: usize, s: &ClientSpec) -> Action {
    Action::Start {
        id,
        user: s.user.clone(),
        uid: s.uid,
        gid: s.gid,
        command: s.command.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_decode() {
        assert_eq!(Exit::from_wait_status(0), Exit::Code(0));
        assert_eq!(Exit::from_wait_status(100 << 8), Exit::Code(100));
        assert_eq!(
            Exit::from_wait_status(9),
            Exit::Signal {
                signo: 9,
                core: false
            }
        );
        assert_eq!(
            Exit::from_wait_status(11 | 0x80),
            Exit::Signal {
                signo: 11,
                core: true
            }
        );
    }
}
