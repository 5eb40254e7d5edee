//! `takegroup` and `givegroup` as a sans-IO state machine.
//!
//! [`GroupOp`] decides which script runs next for one resource group and what each result
//! means; the caller runs the scripts (with [`crate::Runner`] or anything else), enforces the
//! deadline of each step, and feeds every exit back. Time is passed in, never read.
//!
//! The driving loop:
//!
//! ```text
//! loop {
//!     match op.poll(now) {
//!         GroupPoll::Run(step)      => locate step.script, spawn it with step.args;
//!                                      kill it if step.deadline passes and feed TimedOut,
//!                                      else feed its exit: op.handle_exit(now, exit)
//!         GroupPoll::Wait(instant)  => come back at that instant (a stop retry is pending)
//!         GroupPoll::Busy           => a step is still running; wait for its exit
//!         GroupPoll::Finished(done) => report `done`
//!     }
//!     while let Some(event) = op.poll_event() { log it }
//! }
//! ```
//!
//! What it reproduces from ResourceManager (LOCAL-INTERFACES 5.3):
//! - take: for each resource left to right, run `status`; if the ownership test says held, go
//!   on; otherwise run `start`. A failed start ends the acquisition: the **whole** group is then
//!   released as by give (every resource, right to left, including those never started), and
//!   the operation ends with [`GroupOutcome::StartFailed`]. (ResourceManager also schedules
//!   `hb_standby` 30 seconds later; that policy is the caller's.)
//! - give: for each resource right to left, run `stop`; a failed stop is retried, one
//!   interval apart (1 s), up to the `HA_STOPRETRYMAX` limit (10 retries by default; zero or
//!   less means forever). If it still fails, run `status`: if the resource reads as held, the
//!   operation ends at once with [`GroupOutcome::StopFailed`] (2.0.8 kills heartbeat and
//!   reboots the machine here; what to do is the caller's decision); otherwise the script is
//!   merely not LSB-compliant, which is reported as an event, and the release goes on.
//!
//! What it adds: every step has a deadline (ResourceManager has none, so a hung script blocks
//! it forever). A step that times out counts as failed; a `status` that times out counts as
//! not held while acquiring (so `start` runs) and as held when checking a failed stop (the
//! cautious answer when a resource would not stop).

use std::time::{Duration, Instant};

use ha_config::Resource;

use super::{ownership_from_status_stdout, ScriptOp};
use crate::runner::{JobExit, JobStatus};

/// Which of ResourceManager's two group operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// `takegroup`: acquire, left to right.
    Take,
    /// `givegroup`: release, right to left.
    Give,
}

/// How often a failed stop is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopRetries {
    /// At most this many retries after the first attempt.
    Limited(u32),
    /// Until it succeeds.
    Forever,
}

impl StopRetries {
    /// The limit ResourceManager derives from `HA_STOPRETRYMAX`: unset means 10; a number of
    /// zero or less means forever; a value the shell's `test` cannot compare (empty, not a
    /// number) makes the retry condition fail, so no retries.
    pub fn from_env(value: Option<&str>) -> StopRetries {
        match value {
            None => StopRetries::Limited(10),
            Some(text) => match text.trim().parse::<i64>() {
                Ok(n) if n <= 0 => StopRetries::Forever,
                Ok(n) => StopRetries::Limited(u32::try_from(n).unwrap_or(u32::MAX)),
                Err(_) => StopRetries::Limited(0),
            },
        }
    }
}

/// Limits for one group operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupConfig {
    /// Time allowed to a `start`.
    pub start_timeout: Duration,
    /// Time allowed to a `stop`.
    pub stop_timeout: Duration,
    /// Time allowed to a `status`.
    pub status_timeout: Duration,
    /// Retries of a failed stop.
    pub stop_retries: StopRetries,
    /// Pause before each retry of a failed stop.
    pub stop_retry_interval: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            start_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(60),
            status_timeout: Duration::from_secs(20),
            stop_retries: StopRetries::Limited(10),
            stop_retry_interval: Duration::from_secs(1),
        }
    }
}

impl GroupConfig {
    fn timeout(&self, op: ScriptOp) -> Duration {
        match op {
            ScriptOp::Start => self.start_timeout,
            ScriptOp::Stop => self.stop_timeout,
            ScriptOp::Status => self.status_timeout,
        }
    }
}

/// One script run the caller must perform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Position of the resource in the group (0 = the group key).
    pub index: usize,
    /// The resource as written in haresources.
    pub resource: String,
    /// The script name, to locate with [`ha_config::locate_script`].
    pub script: String,
    /// Its arguments, the operation word last.
    pub args: Vec<String>,
    pub op: ScriptOp,
    /// 1 for the first run of this operation on this resource, 2 for the first retry, ...
    pub attempt: u32,
    /// When the caller must kill the script and feed [`StepExit::TimedOut`].
    pub deadline: Instant,
}

/// How a step ended, as fed to [`GroupOp::handle_exit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepExit {
    /// The script exited with this status; `stdout` is what it printed (only `status`
    /// output is looked at).
    Exited { code: i32, stdout: Vec<u8> },
    /// The script was killed by this signal (not by the caller's timeout).
    Signaled { signal: i32, stdout: Vec<u8> },
    /// The caller killed it at the step's deadline.
    TimedOut,
    /// No script of that name was found (ResourceManager: `Cannot locate resource script`;
    /// `status` then reads as not held, `start` and `stop` as return code 1).
    NoScript,
    /// The script exists but could not be executed.
    SpawnFailed,
}

impl StepExit {
    /// The exit of a job run by [`crate::Runner`] (a job whose status was lost counts as
    /// exit 255).
    pub fn from_job(exit: &JobExit) -> StepExit {
        match exit.status {
            JobStatus::Exited(code) => StepExit::Exited {
                code,
                stdout: exit.stdout.clone(),
            },
            JobStatus::Signaled(signal) => StepExit::Signaled {
                signal,
                stdout: exit.stdout.clone(),
            },
            JobStatus::Lost => StepExit::Exited {
                code: 255,
                stdout: exit.stdout.clone(),
            },
        }
    }

    /// Exit status 0.
    pub fn success(&self) -> bool {
        matches!(self, StepExit::Exited { code: 0, .. })
    }

    /// The return code ResourceManager would log (`ERROR: Return code N from ...`): the exit
    /// status, 128 + signal, 1 for a missing script, 126 for one that cannot run; `None` for a
    /// timeout, which ResourceManager does not have.
    pub fn code(&self) -> Option<i32> {
        match self {
            StepExit::Exited { code, .. } => Some(*code),
            StepExit::Signaled { signal, .. } => Some(128 + signal),
            StepExit::TimedOut => None,
            StepExit::NoScript => Some(1),
            StepExit::SpawnFailed => Some(126),
        }
    }

    /// Ownership test on a `status` exit; `timed_out` is the answer for a timeout.
    fn held(&self, timed_out: bool) -> bool {
        match self {
            StepExit::Exited { stdout, .. } | StepExit::Signaled { stdout, .. } => {
                ownership_from_status_stdout(stdout)
            }
            StepExit::TimedOut => timed_out,
            StepExit::NoScript | StepExit::SpawnFailed => false,
        }
    }
}

/// What [`GroupOp::poll`] asks of the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupPoll {
    /// Run this step now and feed its exit back.
    Run(Step),
    /// Nothing to run before this instant (a stop retry is waiting).
    Wait(Instant),
    /// A step is running; wait for its exit.
    Busy,
    /// The operation is over.
    Finished(GroupOutcome),
}

/// How a group operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupOutcome {
    /// Take: every resource is held. Give: every resource was stopped (or its script's
    /// failed stop was found harmless).
    Done,
    /// Take: this resource failed to start; the whole group has since been released.
    StartFailed {
        index: usize,
        resource: String,
        exit: StepExit,
    },
    /// This resource would not stop and still reads as held: 2.0.8 reboots here. The
    /// resources to its left were not stopped.
    StopFailed {
        index: usize,
        resource: String,
        exit: StepExit,
    },
}

/// Things worth a log line, in the order they happen (see [`GroupOp::poll_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// Take: `status` said held, so `start` is skipped.
    AlreadyHeld { index: usize, resource: String },
    /// Take: `start` failed; the whole group is being released
    /// (ResourceManager: `CRIT: Giving up resources due to failure of <resource>`).
    GivingUp {
        index: usize,
        resource: String,
        exit: StepExit,
    },
    /// A failed stop will be retried; `attempt` is the number of the coming try
    /// (ResourceManager: `info: Retrying failed stop operation [<resource>]`).
    RetryingStop {
        index: usize,
        resource: String,
        attempt: u32,
    },
    /// Stop kept failing but the resource reads as not held: its script is not LSB-compliant
    /// (it must succeed when stopping something already stopped); the release goes on.
    StopFailedNotHeld { index: usize, resource: String },
    /// Stop kept failing and the resource still reads as held (ResourceManager:
    /// `CRIT: Resource STOP failure. Reboot required!`).
    StopFailedStillHeld { index: usize, resource: String },
}

/// Feeding an exit when no step is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupOpError {
    NoStepRunning,
}

impl std::fmt::Display for GroupOpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupOpError::NoStepRunning => f.write_str("no step of this group is running"),
        }
    }
}

impl std::error::Error for GroupOpError {}

#[derive(Clone, Debug)]
enum Phase {
    /// Take: resource `index` needs its status (`checked == false`) or its start.
    Acquire {
        index: usize,
        checked: bool,
    },
    /// Stopping right to left: `remaining` resources (indices `0..remaining`) are left.
    Release {
        remaining: usize,
        attempt: u32,
        not_before: Option<Instant>,
    },
    /// Stop of `index` failed for good; its status decides. `exit` is the last stop's.
    Verify {
        index: usize,
        exit: StepExit,
    },
    Finished(GroupOutcome),
}

/// One `takegroup` or `givegroup` in progress; see the module documentation.
#[derive(Clone, Debug)]
pub struct GroupOp {
    kind: GroupKind,
    resources: Vec<Resource>,
    config: GroupConfig,
    phase: Phase,
    running: Option<Step>,
    start_failure: Option<(usize, StepExit)>,
    events: std::collections::VecDeque<GroupEvent>,
}

impl GroupOp {
    /// `takegroup` over `resources` (the haresources line without the node name).
    pub fn take<S: AsRef<str>>(resources: &[S], config: GroupConfig) -> GroupOp {
        GroupOp::new(GroupKind::Take, resources, config)
    }

    /// `givegroup` over `resources` (the haresources line without the node name).
    pub fn give<S: AsRef<str>>(resources: &[S], config: GroupConfig) -> GroupOp {
        GroupOp::new(GroupKind::Give, resources, config)
    }

    /// A group operation of either kind.
    pub fn new<S: AsRef<str>>(kind: GroupKind, resources: &[S], config: GroupConfig) -> GroupOp {
        let resources: Vec<Resource> = resources
            .iter()
            .map(|r| Resource::parse(r.as_ref()))
            .collect();
        let phase = match kind {
            GroupKind::Take => Phase::Acquire {
                index: 0,
                checked: false,
            },
            GroupKind::Give => Phase::Release {
                remaining: resources.len(),
                attempt: 1,
                not_before: None,
            },
        };
        GroupOp {
            kind,
            resources,
            config,
            phase,
            running: None,
            start_failure: None,
            events: std::collections::VecDeque::new(),
        }
    }

    pub fn kind(&self) -> GroupKind {
        self.kind
    }

    /// The group's resources, parsed.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The step handed out by [`GroupOp::poll`] and not yet answered.
    pub fn running(&self) -> Option<&Step> {
        self.running.as_ref()
    }

    /// The outcome once finished.
    pub fn outcome(&self) -> Option<&GroupOutcome> {
        match &self.phase {
            Phase::Finished(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// When the caller must act next without being woken by an exit: the running step's
    /// deadline, or the time of a pending stop retry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(step) = &self.running {
            return Some(step.deadline);
        }
        match &self.phase {
            Phase::Release { not_before, .. } => *not_before,
            _ => None,
        }
    }

    /// The next event to log, if any.
    pub fn poll_event(&mut self) -> Option<GroupEvent> {
        self.events.pop_front()
    }

    /// What to do now. Handing out a step marks it running until [`GroupOp::handle_exit`].
    pub fn poll(&mut self, now: Instant) -> GroupPoll {
        if self.running.is_some() {
            return GroupPoll::Busy;
        }
        match self.phase.clone() {
            Phase::Finished(outcome) => GroupPoll::Finished(outcome),
            Phase::Acquire { index, checked } => {
                if index >= self.resources.len() {
                    return self.finish(GroupOutcome::Done);
                }
                let op = if checked {
                    ScriptOp::Start
                } else {
                    ScriptOp::Status
                };
                self.issue(now, index, op, 1)
            }
            Phase::Release {
                remaining,
                attempt,
                not_before,
            } => {
                if remaining == 0 {
                    let outcome = match self.start_failure.take() {
                        Some((index, exit)) => GroupOutcome::StartFailed {
                            index,
                            resource: self.resource_name(index),
                            exit,
                        },
                        None => GroupOutcome::Done,
                    };
                    return self.finish(outcome);
                }
                if let Some(at) = not_before {
                    if now < at {
                        return GroupPoll::Wait(at);
                    }
                }
                self.issue(now, remaining - 1, ScriptOp::Stop, attempt)
            }
            Phase::Verify { index, .. } => self.issue(now, index, ScriptOp::Status, 1),
        }
    }

    /// Feeds the exit of the running step.
    pub fn handle_exit(&mut self, now: Instant, exit: StepExit) -> Result<(), GroupOpError> {
        let step = self.running.take().ok_or(GroupOpError::NoStepRunning)?;
        let index = step.index;
        match (self.phase.clone(), step.op) {
            (Phase::Acquire { .. }, ScriptOp::Status) => {
                if exit.held(false) {
                    self.events.push_back(GroupEvent::AlreadyHeld {
                        index,
                        resource: step.resource,
                    });
                    self.phase = Phase::Acquire {
                        index: index + 1,
                        checked: false,
                    };
                } else {
                    self.phase = Phase::Acquire {
                        index,
                        checked: true,
                    };
                }
            }
            (Phase::Acquire { .. }, ScriptOp::Start) => {
                if exit.success() {
                    self.phase = Phase::Acquire {
                        index: index + 1,
                        checked: false,
                    };
                } else {
                    self.events.push_back(GroupEvent::GivingUp {
                        index,
                        resource: step.resource,
                        exit: exit.clone(),
                    });
                    self.start_failure = Some((index, exit));
                    self.phase = Phase::Release {
                        remaining: self.resources.len(),
                        attempt: 1,
                        not_before: None,
                    };
                }
            }
            (Phase::Release { .. }, ScriptOp::Stop) => {
                if exit.success() {
                    self.phase = Phase::Release {
                        remaining: index,
                        attempt: 1,
                        not_before: None,
                    };
                } else if self.may_retry(step.attempt) {
                    let attempt = step.attempt.saturating_add(1);
                    self.events.push_back(GroupEvent::RetryingStop {
                        index,
                        resource: step.resource,
                        attempt,
                    });
                    self.phase = Phase::Release {
                        remaining: index + 1,
                        attempt,
                        not_before: Some(now + self.config.stop_retry_interval),
                    };
                } else {
                    self.phase = Phase::Verify { index, exit };
                }
            }
            (
                Phase::Verify {
                    exit: stop_exit, ..
                },
                ScriptOp::Status,
            ) => {
                if exit.held(true) {
                    self.events.push_back(GroupEvent::StopFailedStillHeld {
                        index,
                        resource: step.resource.clone(),
                    });
                    self.phase = Phase::Finished(GroupOutcome::StopFailed {
                        index,
                        resource: step.resource,
                        exit: stop_exit,
                    });
                } else {
                    self.events.push_back(GroupEvent::StopFailedNotHeld {
                        index,
                        resource: step.resource,
                    });
                    self.phase = Phase::Release {
                        remaining: index,
                        attempt: 1,
                        not_before: None,
                    };
                }
            }
            // `running` is only set by issue(), which matches the phase; nothing else can
            // pair up. Put the step back rather than lose track of it.
            _ => {
                self.running = Some(step);
                return Err(GroupOpError::NoStepRunning);
            }
        }
        Ok(())
    }

    fn may_retry(&self, attempt: u32) -> bool {
        match self.config.stop_retries {
            StopRetries::Forever => true,
            StopRetries::Limited(max) => attempt.saturating_sub(1) < max,
        }
    }

    fn resource_name(&self, index: usize) -> String {
        self.resources
            .get(index)
            .map(|r| r.spec.clone())
            .unwrap_or_default()
    }

    fn issue(&mut self, now: Instant, index: usize, op: ScriptOp, attempt: u32) -> GroupPoll {
        let Some(resource) = self.resources.get(index) else {
            return self.finish(GroupOutcome::Done);
        };
        let step = Step {
            index,
            resource: resource.spec.clone(),
            script: resource.script.clone(),
            args: resource.argv(op.as_str()),
            op,
            attempt,
            deadline: now + self.config.timeout(op),
        };
        self.running = Some(step.clone());
        GroupPoll::Run(step)
    }

    fn finish(&mut self, outcome: GroupOutcome) -> GroupPoll {
        self.phase = Phase::Finished(outcome.clone());
        GroupPoll::Finished(outcome)
    }
}
