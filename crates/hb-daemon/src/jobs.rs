//! Child processes of the daemon: resource-group jobs (the work ResourceManager's
//! takegroup/givegroup does in the original) and rc.d dispatch through harc.
//!
//! The policy is sans-IO ([`hb_runner::resource::group::GroupOp`] says which script to run
//! next and when a step is overdue); this module only spawns, kills and reaps through
//! [`hb_runner::Runner`], and never blocks.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ha_config::Lookup;
use hb_core::takeover::JobId as CoreJob;
use hb_log::{Level, Logger};
use hb_runner::resource::group::{
    GroupConfig, GroupEvent, GroupOp, GroupOutcome, GroupPoll, Step, StepExit,
};
use hb_runner::resource::{Invocation, ScriptOp, SYSTEMCTL};
use hb_runner::{JobId as RunJob, JobSpec, Runner};
use hb_wire::{Message, Value};

/// Message types whose stock rc.d scripts do the takeover work that this daemon does
/// itself (through ResourceManager, mach_down, req_resource, hb_standby); running them as
/// well would start and stop groups twice. Every other type with an rc.d script runs it.
pub const NATIVE_TYPES: &[&str] = &[
    "status",
    "ip-request",
    "ip-request-resp",
    "ask_resources",
    "hb_takeover",
];

/// Time allowed to one harc run.
pub const HARC_TIMEOUT: Duration = Duration::from_secs(120);

struct GroupJob {
    job: CoreJob,
    line: String,
    op: GroupOp,
    step: Option<(RunJob, Step, bool)>,
    /// What the running step runs (a script, or systemctl for a unit).
    invocation: Option<Invocation>,
}

/// The daemon's children.
pub struct Jobs {
    pub runner: Runner,
    groups: HashMap<String, (String, Vec<String>)>,
    ha_dir: PathBuf,
    /// Where resources are found: resource.d, the init directories, the systemd units.
    pub lookup: Lookup,
    /// The program that runs a unit's steps (looked up in PATH unless a path).
    pub systemctl: PathBuf,
    group_config: GroupConfig,
    active: Vec<GroupJob>,
    rc_queue: VecDeque<(String, Vec<(String, String)>)>,
    rc_running: Option<(RunJob, Instant, bool)>,
}

impl Jobs {
    /// `groups`: key -> (node, resources) from haresources.
    pub fn new(
        runner: Runner,
        groups: HashMap<String, (String, Vec<String>)>,
        ha_dir: &Path,
    ) -> Jobs {
        let stop_retries = hb_runner::resource::group::StopRetries::from_env(
            std::env::var("HA_STOPRETRYMAX").ok().as_deref(),
        );
        Jobs {
            runner,
            groups,
            ha_dir: ha_dir.to_path_buf(),
            lookup: Lookup::system(ha_dir.join("resource.d")),
            systemctl: PathBuf::from(SYSTEMCTL),
            group_config: GroupConfig {
                stop_retries,
                ..GroupConfig::default()
            },
            active: Vec::new(),
            rc_queue: VecDeque::new(),
            rc_running: None,
        }
    }

    pub fn busy(&self) -> bool {
        !self.active.is_empty() || self.rc_running.is_some()
    }

    /// Starts a take (`take`) or give of the group `key`.
    pub fn group(
        &mut self,
        now: Instant,
        job: CoreJob,
        key: &str,
        take: bool,
        log: &Logger,
    ) -> Vec<(CoreJob, bool)> {
        let Some((node, resources)) = self.groups.get(key).cloned() else {
            log.log(
                Level::Error,
                &format!("no resource group with key {key} in haresources"),
            );
            return vec![(job, false)];
        };
        let line = format!("{node} {}", resources.join(" "));
        let op = if take {
            log.log(Level::Info, &format!("Acquiring resource group: {line}"));
            GroupOp::take(&resources, self.group_config)
        } else {
            log.log(Level::Info, &format!("Releasing resource group: {line}"));
            GroupOp::give(&resources, self.group_config)
        };
        self.active.push(GroupJob {
            job,
            line,
            op,
            step: None,
            invocation: None,
        });
        self.advance(now, log)
    }

    /// Runs what can run now; returns the group jobs that finished (ok or not).
    pub fn advance(&mut self, now: Instant, log: &Logger) -> Vec<(CoreJob, bool)> {
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.active.len() {
            let mut finished = None;
            for _ in 0..64 {
                let g = &mut self.active[i];
                while let Some(ev) = g.op.poll_event() {
                    log_group_event(log, &ev);
                }
                if g.step.is_some() {
                    break;
                }
                match g.op.poll(now) {
                    GroupPoll::Run(step) => {
                        let Some(found) = self.lookup.locate(&step.script) else {
                            log.log(
                                Level::Error,
                                &format!("Cannot locate resource script {}", step.script),
                            );
                            let _ = g.op.handle_exit(now, StepExit::NoScript);
                            continue;
                        };
                        let inv = match Invocation::new(&found, &step, &self.systemctl) {
                            Ok(inv) => inv,
                            Err(e) => {
                                log.log(Level::Error, &format!("{}: {e}", step.resource));
                                let _ = g.op.handle_exit(now, StepExit::SpawnFailed);
                                continue;
                            }
                        };
                        if step.op != ScriptOp::Status {
                            log.log(Level::Info, &format!("Running {}", inv.line()));
                        }
                        let mut spec = JobSpec::new(&inv.program);
                        spec.args = inv.args.clone();
                        spec.capture_stdout = step.op == ScriptOp::Status;
                        match self.runner.spawn(spec) {
                            Ok(id) => {
                                g.step = Some((id, step, false));
                                g.invocation = Some(inv);
                            }
                            Err(e) => {
                                log.log(
                                    Level::Error,
                                    &format!("cannot run {}: {e}", inv.program.display()),
                                );
                                let _ = g.op.handle_exit(now, StepExit::SpawnFailed);
                            }
                        }
                    }
                    GroupPoll::Wait(_) | GroupPoll::Busy => break,
                    GroupPoll::Finished(outcome) => {
                        finished = Some(outcome);
                        break;
                    }
                }
            }
            if let Some(outcome) = finished {
                let g = self.active.remove(i);
                let ok = match &outcome {
                    GroupOutcome::Done => true,
                    GroupOutcome::StartFailed { resource, .. } => {
                        log.log(
                            Level::Error,
                            &format!(
                                "Resource group failed to start: {} (failed: {resource})",
                                g.line
                            ),
                        );
                        false
                    }
                    GroupOutcome::StopFailed { resource, .. } => {
                        // The CRIT "Reboot required!" line came with the group's event.
                        log.log(
                            Level::Error,
                            &format!(
                                "Resource group failed to stop: {} (failed: {resource})",
                                g.line
                            ),
                        );
                        false
                    }
                };
                done.push((g.job, ok));
            } else {
                i += 1;
            }
        }
        self.advance_rc(now, log);
        done
    }

    /// Reaps ended children and feeds them back; returns finished group jobs.
    pub fn reap(&mut self, now: Instant, log: &Logger) -> Vec<(CoreJob, bool)> {
        for exit in self.runner.reap() {
            for line in &exit.stderr_tail {
                log.log(Level::Debug, &format!("child {}: {line}", exit.pid));
            }
            if let Some((id, _, timed_out)) = self.rc_running {
                if id == exit.id {
                    self.rc_running = None;
                    if timed_out {
                        log.log(Level::Error, "harc timed out and was killed");
                    } else if !exit.status.success() {
                        log.log(
                            Level::Warn,
                            &format!("harc exited with return code {}", exit.status.shell_code()),
                        );
                    }
                    continue;
                }
            }
            for g in self.active.iter_mut() {
                if g.step.as_ref().is_some_and(|(id, _, _)| *id == exit.id) {
                    let Some((_, step, timed_out)) = g.step.take() else {
                        continue;
                    };
                    let se = if timed_out {
                        StepExit::TimedOut
                    } else {
                        StepExit::from_job(&exit)
                    };
                    let se = match g.invocation.take() {
                        Some(inv) => inv.exit(se),
                        None => se,
                    };
                    if step.op != ScriptOp::Status && !se.success() {
                        match se.code() {
                            Some(c) => log.log(
                                Level::Error,
                                &format!(
                                    "Return code {c} from {} {}",
                                    step.script,
                                    step.args.join(" ")
                                ),
                            ),
                            None => log.log(
                                Level::Error,
                                &format!("{} {} timed out", step.script, step.args.join(" ")),
                            ),
                        }
                    }
                    let _ = g.op.handle_exit(now, se);
                }
            }
        }
        self.advance(now, log)
    }

    /// The next deadline: a step to kill, a stop retry to run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut ds: Vec<Option<Instant>> = Vec::new();
        for g in &self.active {
            ds.push(g.op.poll_timeout());
            if let Some((_, s, false)) = &g.step {
                ds.push(Some(s.deadline));
            }
        }
        if let Some((_, d, false)) = self.rc_running {
            ds.push(Some(d));
        }
        hb_core::timers::earliest(ds)
    }

    /// Kills overdue steps (their exit is then fed as a timeout) and runs due retries.
    pub fn handle_timeout(&mut self, now: Instant, log: &Logger) -> Vec<(CoreJob, bool)> {
        for g in self.active.iter_mut() {
            if let Some((id, s, timed_out)) = g.step.as_mut() {
                if !*timed_out && now >= s.deadline {
                    *timed_out = true;
                    log.log(
                        Level::Error,
                        &format!(
                            "{} {} did not end in time: killing it",
                            s.script,
                            s.args.join(" ")
                        ),
                    );
                    let _ = self.runner.kill(*id, libc::SIGKILL);
                }
            }
        }
        if let Some((id, d, timed_out)) = self.rc_running.as_mut() {
            if !*timed_out && now >= *d {
                *timed_out = true;
                let _ = self.runner.kill(*id, libc::SIGKILL);
            }
        }
        self.advance(now, log)
    }

    /// Runs rc.d/TYPE through harc for a received message, when such a script exists and
    /// the type is not one whose work this daemon does itself. One harc at a time, in
    /// arrival order, as the original.
    pub fn dispatch_rc(&mut self, msg: &Message, ostatus: &str, nice_failback: bool) {
        let Some(t) = msg.msg_type() else { return };
        if t.is_empty() || t.contains('/') || t.starts_with('.') || NATIVE_TYPES.contains(&t) {
            return;
        }
        if !self.ha_dir.join("rc.d").join(t).is_file() || !self.ha_dir.join("harc").is_file() {
            return;
        }
        let fields: Vec<(String, String)> = msg
            .fields
            .iter()
            .filter_map(|f| match &f.value {
                Value::Str(v) => Some((
                    String::from_utf8_lossy(&f.name).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )),
                _ => None,
            })
            .collect();
        // HA_LOGD as every script sees it (the base environment: use_logd).
        let use_logd = self
            .runner
            .base_env()
            .iter()
            .any(|(k, v)| k == "HA_LOGD" && v == "yes");
        let env = hb_runner::env::harc_env(&fields, Some(ostatus), nice_failback, use_logd);
        if self.rc_queue.len() < 1000 {
            self.rc_queue.push_back((t.to_string(), env));
        }
    }

    fn advance_rc(&mut self, now: Instant, log: &Logger) {
        if self.rc_running.is_some() {
            return;
        }
        let Some((t, env)) = self.rc_queue.pop_front() else {
            return;
        };
        let mut spec = JobSpec::new(self.ha_dir.join("harc"));
        spec.arg0 = Some("harc".into());
        spec.args = vec![t.clone()];
        spec.env = env;
        match self.runner.spawn(spec) {
            Ok(id) => self.rc_running = Some((id, now + HARC_TIMEOUT, false)),
            Err(e) => log.log(Level::Error, &format!("cannot run harc {t}: {e}")),
        }
    }
}

fn log_group_event(log: &Logger, ev: &GroupEvent) {
    match ev {
        GroupEvent::AlreadyHeld { resource, .. } => log.log(Level::Info, &format!("Resource is already running: {resource}")),
        GroupEvent::GivingUp { resource, .. } => log.log(Level::Crit, &format!("Giving up resources due to failure of {resource}")),
        GroupEvent::RetryingStop { resource, .. } => log.log(Level::Info, &format!("Retrying failed stop operation [{resource}]")),
        GroupEvent::StopFailedNotHeld { resource, .. } => log.log(Level::Warn, &format!("Resource {resource} is not LSB compliant: its stop failed while it was not running")),
        GroupEvent::StopFailedStillHeld { resource, .. } => log.log(Level::Crit, &format!("Resource STOP failure. Reboot required! ({resource})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_log::LogConfig;
    use std::os::unix::fs::PermissionsExt;

    /// Takes or gives the group `key` and runs the loop's part until it ends (20 s at most).
    fn run_group(
        jobs: &mut Jobs,
        job: CoreJob,
        key: &str,
        take: bool,
        log: &Logger,
    ) -> Vec<(CoreJob, bool)> {
        let mut done = jobs.group(Instant::now(), job, key, take, log);
        let deadline = Instant::now() + Duration::from_secs(20);
        while done.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            jobs.runner.on_readable();
            done = jobs.reap(Instant::now(), log);
            if done.is_empty() && jobs.poll_timeout().is_some_and(|t| t <= Instant::now()) {
                done = jobs.handle_timeout(Instant::now(), log);
            }
        }
        done
    }

    /// A group with a systemd unit, through the daemon's own job code and the real runner:
    /// `systemctl` is a stand-in first in the scripts' PATH that records its arguments and
    /// answers `is-active` from a state file (no systemd runs here).
    #[test]
    fn a_unit_in_a_group_runs_through_systemctl() {
        let d = std::env::temp_dir().join(format!("hb-daemon-jobs-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for sub in ["resource.d", "units", "bin"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let calls = d.join("calls");
        let exe = |path: &Path, text: &str| {
            std::fs::write(path, text).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        exe(
            &d.join("resource.d/Addr"),
            &format!(
                "#!/bin/sh\necho \"Addr $*\" >> {c}\nfor op; do :; done\ncase \"$op\" in status) [ -e {d}/addr.on ] && echo running || echo stopped;; start) touch {d}/addr.on;; stop) rm -f {d}/addr.on;; esac\nexit 0\n",
                c = calls.display(),
                d = d.display()
            ),
        );
        exe(
            &d.join("bin/systemctl"),
            &format!(
                "#!/bin/sh\necho \"systemctl $*\" >> {c}\ncase \"$1\" in\n is-active) if [ -e {d}/$2.on ]; then echo active; else echo inactive; exit 3; fi;;\n start) [ -e {d}/$2.broken ] && exit 1; touch {d}/$2.on;;\n stop) rm -f {d}/$2.on;;\nesac\nexit 0\n",
                c = calls.display(),
                d = d.display()
            ),
        );
        std::fs::write(
            d.join("units/hbtest-web.service"),
            "[Service]\nExecStart=/bin/true\n",
        )
        .unwrap();
        let logfile = d.join("ha-log");
        let log = Logger::new(LogConfig {
            logfile: Some(logfile.clone()),
            ..LogConfig::default()
        });
        let path = format!("{}:/usr/bin:/bin", d.join("bin").display());
        let runner = Runner::new(vec![("PATH".into(), path)]).unwrap();
        let groups = HashMap::from([
            (
                "Addr::x".to_string(),
                (
                    "a".to_string(),
                    vec!["Addr::x".to_string(), "hbtest-web".to_string()],
                ),
            ),
            (
                "hbtest-web::opt".to_string(),
                ("a".to_string(), vec!["hbtest-web::opt".to_string()]),
            ),
        ]);
        let mut jobs = Jobs::new(runner, groups, &d);
        jobs.lookup.init_dirs.clear();
        jobs.lookup.unit_dirs = vec![d.join("units")];
        // The unit given arguments fails its stops too (as a missing script): retry fast.
        jobs.group_config.stop_retries = hb_runner::resource::group::StopRetries::Limited(1);
        jobs.group_config.stop_retry_interval = Duration::from_millis(10);
        let take = |jobs: &mut Jobs, key: &str, take: bool| {
            let _ = std::fs::remove_file(&calls);
            let done = run_group(jobs, CoreJob(1), key, take, &log);
            (done, std::fs::read_to_string(&calls).unwrap_or_default())
        };

        let (done, seen) = take(&mut jobs, "Addr::x", true);
        assert_eq!(done, vec![(CoreJob(1), true)]);
        assert_eq!(
            seen,
            "Addr x status\nAddr x start\nsystemctl is-active hbtest-web.service\nsystemctl start hbtest-web.service\n"
        );
        assert!(d.join("hbtest-web.service.on").exists());
        // Taken again: is-active says active, which reads as running: nothing starts.
        let (done, seen) = take(&mut jobs, "Addr::x", true);
        assert_eq!(done, vec![(CoreJob(1), true)]);
        assert_eq!(
            seen,
            "Addr x status\nsystemctl is-active hbtest-web.service\n"
        );
        // Given: right to left.
        let (done, seen) = take(&mut jobs, "Addr::x", false);
        assert_eq!(done, vec![(CoreJob(1), true)]);
        assert_eq!(seen, "systemctl stop hbtest-web.service\nAddr x stop\n");
        assert!(!d.join("hbtest-web.service.on").exists());
        // A unit that fails to start: the group is released, as for a script.
        std::fs::write(d.join("hbtest-web.service.broken"), "").unwrap();
        let (done, seen) = take(&mut jobs, "Addr::x", true);
        assert_eq!(done, vec![(CoreJob(1), false)]);
        assert_eq!(
            seen,
            "Addr x status\nAddr x start\nsystemctl is-active hbtest-web.service\nsystemctl start hbtest-web.service\nsystemctl stop hbtest-web.service\nAddr x stop\n"
        );
        // A unit given arguments never runs: its start fails, and so does the group.
        let (done, seen) = take(&mut jobs, "hbtest-web::opt", true);
        assert_eq!(done, vec![(CoreJob(1), false)]);
        assert_eq!(seen, "", "systemctl must not run");

        let text = std::fs::read_to_string(&logfile).unwrap();
        for want in [
            "Running systemctl start hbtest-web.service",
            "Running systemctl stop hbtest-web.service",
            "Return code 1 from hbtest-web start",
            "hbtest-web::opt: hbtest-web.service is a systemd unit, run through systemctl, which takes no arguments (opt): not run",
        ] {
            assert!(text.contains(want), "want {want:?} in:\n{text}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_stop_that_fails_for_good_says_reboot_required_once() {
        let d = std::env::temp_dir().join(format!("hb-daemon-jobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("resource.d")).unwrap();
        // A resource whose stop always fails and whose status says it still runs.
        let script = d.join("resource.d/stuck");
        std::fs::write(
            &script,
            "#!/bin/sh\ncase \"$1\" in status) echo running; exit 0;; stop) exit 1;; *) exit 0;; esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let logfile = d.join("ha-log");
        let log = Logger::new(LogConfig {
            logfile: Some(logfile.clone()),
            ..LogConfig::default()
        });
        let runner = Runner::new(Vec::new()).unwrap();
        let groups = HashMap::from([(
            "stuck".to_string(),
            ("a".to_string(), vec!["stuck".to_string()]),
        )]);
        let mut jobs = Jobs::new(runner, groups, &d);
        jobs.group_config.stop_retries = hb_runner::resource::group::StopRetries::Limited(1);
        jobs.group_config.stop_retry_interval = Duration::from_millis(10);
        let job = CoreJob(1);
        let done = run_group(&mut jobs, job, "stuck", false, &log);
        assert_eq!(done, vec![(job, false)]);
        let text = std::fs::read_to_string(&logfile).unwrap();
        assert_eq!(
            text.matches("Reboot required!").count(),
            1,
            "the CRIT line once:\n{text}"
        );
        assert!(
            text.contains("Resource group failed to stop: a stuck"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
