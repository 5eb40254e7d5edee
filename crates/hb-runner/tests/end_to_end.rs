//! GroupOp driven through the real Runner with real resource scripts, the way the daemon
//! does: locate the script, spawn it, kill it at the step's deadline, feed the exit back.
//! (A group with a systemd unit runs through the daemon's own code in hb-daemon's
//! `jobs::tests::a_unit_in_a_group_runs_through_systemctl`.)

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use hb_runner::resource::{
    GroupConfig, GroupOp, GroupOutcome, GroupPoll, Invocation, StepExit, StopRetries, SYSTEMCTL,
};
use hb_runner::{JobSpec, Runner};

struct Lab {
    dir: PathBuf,
    resource_d: PathBuf,
    init_d: PathBuf,
    log: PathBuf,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!("hb-runner-e2e-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let resource_d = dir.join("resource.d");
        let init_d = dir.join("init.d");
        fs::create_dir_all(&resource_d).unwrap();
        fs::create_dir_all(&init_d).unwrap();
        let log = dir.join("calls.log");
        Lab {
            dir,
            resource_d,
            init_d,
            log,
        }
    }

    /// A script that logs "<name> <args>" and keeps its state in a file: status prints
    /// "running" or "stopped"; start and stop change the state. `start_body` runs before a
    /// start succeeds (it may exit or hang).
    fn script(&self, dir: &Path, name: &str, start_body: &str) {
        let state = self.dir.join(format!("{name}.state"));
        let body = format!(
            "#!/bin/sh\n\
             echo \"{name} $*\" >> {log}\n\
             for last; do :; done\n\
             case $last in\n\
               status) if [ -f {state} ]; then echo running; else echo stopped; fi;;\n\
               start) {start_body}\n        touch {state};;\n\
               stop) rm -f {state};;\n\
             esac\n\
             exit 0\n",
            log = self.log.display(),
            state = state.display(),
        );
        let path = dir.join(name);
        fs::write(&path, body).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn calls(&self) -> Vec<String> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn is_running(&self, name: &str) -> bool {
        self.dir.join(format!("{name}.state")).exists()
    }

    /// Runs `op` to the end with a real Runner; real time, bounded.
    fn run(&self, mut op: GroupOp) -> GroupOutcome {
        let mut runner =
            Runner::new(vec![("HA_DIR".into(), self.dir.display().to_string())]).unwrap();
        let limit = Instant::now() + Duration::from_secs(30);
        let mut current = None;
        loop {
            let now = Instant::now();
            assert!(now < limit, "group operation did not finish in time");
            match op.poll(now) {
                GroupPoll::Finished(outcome) => return outcome,
                GroupPoll::Wait(_) => sleep(Duration::from_millis(5)),
                GroupPoll::Run(step) => {
                    let lookup = ha_config::Lookup {
                        resource_dir: self.resource_d.clone(),
                        init_dirs: vec![self.init_d.clone()],
                        unit_dirs: Vec::new(),
                    };
                    let found = lookup.locate(&step.script);
                    match found.and_then(|f| Invocation::new(&f, &step, Path::new(SYSTEMCTL)).ok())
                    {
                        None => op.handle_exit(now, StepExit::NoScript).unwrap(),
                        Some(inv) => {
                            let mut spec = JobSpec::new(&inv.program);
                            spec.args = inv.args.clone();
                            spec.capture_stdout = true;
                            match runner.spawn(spec) {
                                Ok(id) => current = Some((id, step.deadline, false)),
                                Err(_) => op.handle_exit(now, StepExit::SpawnFailed).unwrap(),
                            }
                        }
                    }
                }
                GroupPoll::Busy => {
                    let Some((id, deadline, mut killed)) = current else {
                        panic!("busy without a job");
                    };
                    if !killed && now >= deadline {
                        runner.kill(id, libc::SIGKILL).unwrap();
                        killed = true;
                        current = Some((id, deadline, killed));
                    }
                    runner.on_readable();
                    if let Some(exit) = runner.reap().into_iter().find(|e| e.id == id) {
                        let step_exit = if killed {
                            StepExit::TimedOut
                        } else {
                            StepExit::from_job(&exit)
                        };
                        current = None;
                        op.handle_exit(Instant::now(), step_exit).unwrap();
                    } else {
                        sleep(Duration::from_millis(5));
                    }
                }
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn take_and_give_with_real_scripts() {
    let lab = Lab::new("takegive");
    lab.script(&lab.resource_d, "IPaddr", "");
    lab.script(&lab.init_d, "httpd", "");
    let group = ["198.51.100.254/24/eth0", "httpd"];

    let outcome = lab.run(GroupOp::take(&group, GroupConfig::default()));
    assert_eq!(outcome, GroupOutcome::Done);
    assert!(lab.is_running("IPaddr") && lab.is_running("httpd"));
    assert_eq!(
        lab.calls(),
        vec![
            "IPaddr 198.51.100.254/24/eth0 status",
            "IPaddr 198.51.100.254/24/eth0 start",
            "httpd status",
            "httpd start",
        ]
    );

    // Taking again finds both held and starts nothing.
    fs::remove_file(&lab.log).unwrap();
    let outcome = lab.run(GroupOp::take(&group, GroupConfig::default()));
    assert_eq!(outcome, GroupOutcome::Done);
    assert_eq!(
        lab.calls(),
        vec!["IPaddr 198.51.100.254/24/eth0 status", "httpd status"]
    );

    fs::remove_file(&lab.log).unwrap();
    let outcome = lab.run(GroupOp::give(&group, GroupConfig::default()));
    assert_eq!(outcome, GroupOutcome::Done);
    assert!(!lab.is_running("IPaddr") && !lab.is_running("httpd"));
    assert_eq!(
        lab.calls(),
        vec!["httpd stop", "IPaddr 198.51.100.254/24/eth0 stop"]
    );
}

#[test]
fn failed_start_releases_what_was_started() {
    let lab = Lab::new("startfail");
    lab.script(&lab.resource_d, "IPaddr", "");
    lab.script(&lab.resource_d, "Broken", "exit 1");
    lab.script(&lab.resource_d, "Last", "");
    let group = ["IPaddr::192.0.2.10", "Broken::x", "Last"];
    let outcome = lab.run(GroupOp::take(&group, GroupConfig::default()));
    match outcome {
        GroupOutcome::StartFailed {
            index, resource, ..
        } => {
            assert_eq!(index, 1);
            assert_eq!(resource, "Broken::x");
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    assert!(!lab.is_running("IPaddr"));
    assert_eq!(
        lab.calls(),
        vec![
            "IPaddr 192.0.2.10 status",
            "IPaddr 192.0.2.10 start",
            "Broken x status",
            "Broken x start",
            "Last stop",
            "Broken x stop",
            "IPaddr 192.0.2.10 stop",
        ]
    );
}

#[test]
fn a_hanging_start_is_killed_at_its_deadline() {
    let lab = Lab::new("hang");
    lab.script(&lab.resource_d, "Slow", "sleep 1000 & wait");
    let config = GroupConfig {
        start_timeout: Duration::from_millis(300),
        stop_retries: StopRetries::Limited(0),
        ..GroupConfig::default()
    };
    let started = Instant::now();
    let outcome = lab.run(GroupOp::take(&["Slow"], config));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        outcome,
        GroupOutcome::StartFailed {
            index: 0,
            resource: "Slow".into(),
            exit: StepExit::TimedOut,
        }
    );
    assert_eq!(lab.calls(), vec!["Slow status", "Slow start", "Slow stop"]);
}

#[test]
fn a_missing_script_fails_the_start() {
    let lab = Lab::new("missing");
    let outcome = lab.run(GroupOp::take(
        &["Nowhere"],
        GroupConfig {
            stop_retries: StopRetries::Limited(0),
            ..GroupConfig::default()
        },
    ));
    assert_eq!(
        outcome,
        GroupOutcome::StartFailed {
            index: 0,
            resource: "Nowhere".into(),
            exit: StepExit::NoScript,
        }
    );
    assert!(lab.calls().is_empty());
}
