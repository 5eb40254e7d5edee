//! takegroup/givegroup sequences in virtual time.

use std::time::{Duration, Instant};

use hb_runner::resource::{
    GroupConfig, GroupEvent, GroupOp, GroupOpError, GroupOutcome, GroupPoll, ScriptOp, Step,
    StepExit, StopRetries,
};

/// One script run as the test saw it: (operation, resource, attempt, offset from start).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    op: ScriptOp,
    resource: String,
    attempt: u32,
    at: Duration,
}

struct Run {
    seen: Vec<Seen>,
    steps: Vec<Step>,
    outcome: GroupOutcome,
    events: Vec<GroupEvent>,
}

/// Drives `op` to the end. Each script takes 10 ms of virtual time; a Wait jumps the clock.
fn drive(mut op: GroupOp, mut answer: impl FnMut(&Step) -> StepExit) -> Run {
    let start = Instant::now();
    let mut now = start;
    let mut seen = Vec::new();
    let mut steps = Vec::new();
    let mut events = Vec::new();
    for _ in 0..10_000 {
        match op.poll(now) {
            GroupPoll::Run(step) => {
                assert_eq!(op.poll(now), GroupPoll::Busy);
                assert_eq!(op.poll_timeout(), Some(step.deadline));
                seen.push(Seen {
                    op: step.op,
                    resource: step.resource.clone(),
                    attempt: step.attempt,
                    at: now - start,
                });
                let exit = answer(&step);
                steps.push(step);
                now += Duration::from_millis(10);
                op.handle_exit(now, exit).unwrap();
            }
            GroupPoll::Wait(at) => {
                assert!(at > now);
                assert_eq!(op.poll_timeout(), Some(at));
                now = at;
            }
            GroupPoll::Busy => panic!("busy without a running step"),
            GroupPoll::Finished(outcome) => {
                while let Some(e) = op.poll_event() {
                    events.push(e);
                }
                assert_eq!(op.outcome(), Some(&outcome));
                // Finished is sticky.
                assert_eq!(op.poll(now), GroupPoll::Finished(outcome.clone()));
                return Run {
                    seen,
                    steps,
                    outcome,
                    events,
                };
            }
        }
        while let Some(e) = op.poll_event() {
            events.push(e);
        }
    }
    panic!("group operation never finished");
}

fn ok() -> StepExit {
    StepExit::Exited {
        code: 0,
        stdout: Vec::new(),
    }
}

fn code(code: i32) -> StepExit {
    StepExit::Exited {
        code,
        stdout: Vec::new(),
    }
}

fn status(text: &str) -> StepExit {
    StepExit::Exited {
        code: 0,
        stdout: text.as_bytes().to_vec(),
    }
}

fn ops(run: &Run) -> Vec<(ScriptOp, &str)> {
    run.seen
        .iter()
        .map(|s| (s.op, s.resource.as_str()))
        .collect()
}

use ScriptOp::{Start, Status, Stop};

const GROUP: [&str; 3] = ["192.0.2.10", "Filesystem::/dev/sdb1::/data::ext3", "httpd"];

#[test]
fn take_checks_then_starts_each_resource_left_to_right() {
    let run = drive(
        GroupOp::take(&GROUP, GroupConfig::default()),
        |step| match step.op {
            Status => status("stopped\n"),
            _ => ok(),
        },
    );
    assert_eq!(
        ops(&run),
        vec![
            (Status, GROUP[0]),
            (Start, GROUP[0]),
            (Status, GROUP[1]),
            (Start, GROUP[1]),
            (Status, GROUP[2]),
            (Start, GROUP[2]),
        ]
    );
    assert_eq!(run.outcome, GroupOutcome::Done);
    assert!(run.events.is_empty());
    // The command lines are ResourceManager's.
    let first = &run.steps[1];
    assert_eq!(first.script, "IPaddr");
    assert_eq!(first.args, vec!["192.0.2.10", "start"]);
    let fs = &run.steps[2];
    assert_eq!(fs.script, "Filesystem");
    assert_eq!(fs.args, vec!["/dev/sdb1", "/data", "ext3", "status"]);
}

#[test]
fn take_skips_resources_already_held() {
    let run = drive(
        GroupOp::take(&GROUP, GroupConfig::default()),
        |step| match (step.op, step.index) {
            (Status, 1) => status("Filesystem is running\n"),
            (Status, _) => status("httpd is not running\n"),
            _ => ok(),
        },
    );
    assert_eq!(
        ops(&run),
        vec![
            (Status, GROUP[0]),
            (Start, GROUP[0]),
            (Status, GROUP[1]),
            (Status, GROUP[2]),
            (Start, GROUP[2]),
        ]
    );
    assert_eq!(run.outcome, GroupOutcome::Done);
    assert_eq!(
        run.events,
        vec![GroupEvent::AlreadyHeld {
            index: 1,
            resource: GROUP[1].to_string()
        }]
    );
}

#[test]
fn failed_start_releases_the_whole_group_right_to_left() {
    let run = drive(
        GroupOp::take(&GROUP, GroupConfig::default()),
        |step| match (step.op, step.index) {
            (Status, _) => status("stopped"),
            (Start, 1) => code(1),
            _ => ok(),
        },
    );
    assert_eq!(
        ops(&run),
        vec![
            (Status, GROUP[0]),
            (Start, GROUP[0]),
            (Status, GROUP[1]),
            (Start, GROUP[1]),
            (Stop, GROUP[2]),
            (Stop, GROUP[1]),
            (Stop, GROUP[0]),
        ]
    );
    assert_eq!(
        run.outcome,
        GroupOutcome::StartFailed {
            index: 1,
            resource: GROUP[1].to_string(),
            exit: code(1),
        }
    );
    assert_eq!(
        run.events,
        vec![GroupEvent::GivingUp {
            index: 1,
            resource: GROUP[1].to_string(),
            exit: code(1),
        }]
    );
}

#[test]
fn give_stops_right_to_left() {
    let run = drive(GroupOp::give(&GROUP, GroupConfig::default()), |_| ok());
    assert_eq!(
        ops(&run),
        vec![(Stop, GROUP[2]), (Stop, GROUP[1]), (Stop, GROUP[0])]
    );
    assert_eq!(run.outcome, GroupOutcome::Done);
    assert_eq!(run.steps[0].args, vec!["stop"]);
}

#[test]
fn failed_stop_is_retried_one_second_apart() {
    let mut failures = 3;
    let run = drive(GroupOp::give(&GROUP, GroupConfig::default()), |step| {
        if step.index == 1 && failures > 0 {
            failures -= 1;
            code(1)
        } else {
            ok()
        }
    });
    let middle: Vec<&Seen> = run.seen.iter().filter(|s| s.resource == GROUP[1]).collect();
    assert_eq!(
        middle.iter().map(|s| s.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    for pair in middle.windows(2) {
        // Previous run took 10 ms, then the one-second pause.
        assert_eq!(pair[1].at - pair[0].at, Duration::from_millis(1010));
    }
    assert_eq!(run.outcome, GroupOutcome::Done);
    assert_eq!(
        ops(&run),
        vec![
            (Stop, GROUP[2]),
            (Stop, GROUP[1]),
            (Stop, GROUP[1]),
            (Stop, GROUP[1]),
            (Stop, GROUP[1]),
            (Stop, GROUP[0]),
        ]
    );
    let retries: Vec<u32> = run
        .events
        .iter()
        .filter_map(|e| match e {
            GroupEvent::RetryingStop { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(retries, vec![2, 3, 4]);
}

#[test]
fn stop_that_never_succeeds_and_still_runs_ends_the_release() {
    let run = drive(
        GroupOp::give(&GROUP, GroupConfig::default()),
        |step| match (step.op, step.index) {
            (Stop, 1) => code(7),
            (Status, 1) => status("Filesystem is running"),
            _ => ok(),
        },
    );
    let stops = run
        .seen
        .iter()
        .filter(|s| s.op == Stop && s.resource == GROUP[1])
        .count();
    // The first try and HA_STOPRETRYMAX (10) retries.
    assert_eq!(stops, 11);
    assert_eq!(run.seen.last().map(|s| s.op), Some(Status));
    assert!(run.seen.iter().all(|s| s.resource != GROUP[0]));
    assert_eq!(
        run.outcome,
        GroupOutcome::StopFailed {
            index: 1,
            resource: GROUP[1].to_string(),
            exit: code(7),
        }
    );
    assert_eq!(
        run.events.last(),
        Some(&GroupEvent::StopFailedStillHeld {
            index: 1,
            resource: GROUP[1].to_string()
        })
    );
}

#[test]
fn stop_failure_of_a_stopped_resource_is_only_a_warning() {
    let config = GroupConfig {
        stop_retries: StopRetries::Limited(2),
        ..GroupConfig::default()
    };
    let run = drive(GroupOp::give(&GROUP, config), |step| {
        match (step.op, step.index) {
            (Stop, 2) => code(1),
            (Status, 2) => status("httpd is stopped"),
            _ => ok(),
        }
    });
    assert_eq!(
        ops(&run),
        vec![
            (Stop, GROUP[2]),
            (Stop, GROUP[2]),
            (Stop, GROUP[2]),
            (Status, GROUP[2]),
            (Stop, GROUP[1]),
            (Stop, GROUP[0]),
        ]
    );
    assert_eq!(run.outcome, GroupOutcome::Done);
    assert!(run.events.contains(&GroupEvent::StopFailedNotHeld {
        index: 2,
        resource: GROUP[2].to_string()
    }));
}

#[test]
fn unlimited_retries() {
    let config = GroupConfig {
        stop_retries: StopRetries::Forever,
        ..GroupConfig::default()
    };
    let mut failures = 40;
    let run = drive(GroupOp::give(&["only"], config), |_| {
        if failures > 0 {
            failures -= 1;
            code(1)
        } else {
            ok()
        }
    });
    assert_eq!(run.seen.len(), 41);
    assert_eq!(run.outcome, GroupOutcome::Done);
}

#[test]
fn no_retries_when_the_limit_is_not_a_number() {
    let config = GroupConfig {
        stop_retries: StopRetries::from_env(Some("")),
        ..GroupConfig::default()
    };
    let run = drive(GroupOp::give(&["only"], config), |step| match step.op {
        Stop => code(1),
        _ => status("stopped"),
    });
    assert_eq!(ops(&run), vec![(Stop, "only"), (Status, "only")]);
    assert_eq!(run.outcome, GroupOutcome::Done);
}

#[test]
fn stop_retry_limit_from_the_environment() {
    assert_eq!(StopRetries::from_env(None), StopRetries::Limited(10));
    assert_eq!(StopRetries::from_env(Some("3")), StopRetries::Limited(3));
    assert_eq!(StopRetries::from_env(Some(" 5 ")), StopRetries::Limited(5));
    assert_eq!(StopRetries::from_env(Some("0")), StopRetries::Forever);
    assert_eq!(StopRetries::from_env(Some("-1")), StopRetries::Forever);
    assert_eq!(StopRetries::from_env(Some("ten")), StopRetries::Limited(0));
    assert_eq!(StopRetries::from_env(Some("")), StopRetries::Limited(0));
}

#[test]
fn every_step_carries_its_deadline() {
    let config = GroupConfig {
        start_timeout: Duration::from_secs(90),
        stop_timeout: Duration::from_secs(45),
        status_timeout: Duration::from_secs(5),
        ..GroupConfig::default()
    };
    let now = Instant::now();
    let mut take = GroupOp::take(&["a"], config);
    let GroupPoll::Run(status_step) = take.poll(now) else {
        panic!("expected a step");
    };
    assert_eq!(status_step.op, Status);
    assert_eq!(status_step.deadline, now + Duration::from_secs(5));
    take.handle_exit(now, status("stopped")).unwrap();
    let GroupPoll::Run(start_step) = take.poll(now) else {
        panic!("expected a step");
    };
    assert_eq!(start_step.deadline, now + Duration::from_secs(90));

    let mut give = GroupOp::give(&["a"], config);
    let GroupPoll::Run(stop_step) = give.poll(now) else {
        panic!("expected a step");
    };
    assert_eq!(stop_step.deadline, now + Duration::from_secs(45));

    let defaults = GroupConfig::default();
    assert_eq!(defaults.start_timeout, Duration::from_secs(60));
    assert_eq!(defaults.stop_timeout, Duration::from_secs(60));
    assert_eq!(defaults.status_timeout, Duration::from_secs(20));
    assert_eq!(defaults.stop_retry_interval, Duration::from_secs(1));
}

#[test]
fn a_start_that_times_out_fails_the_group() {
    let run = drive(
        GroupOp::take(&["a", "b"], GroupConfig::default()),
        |step| match (step.op, step.index) {
            (Status, _) => status("stopped"),
            (Start, 1) => StepExit::TimedOut,
            _ => ok(),
        },
    );
    assert_eq!(
        run.outcome,
        GroupOutcome::StartFailed {
            index: 1,
            resource: "b".into(),
            exit: StepExit::TimedOut,
        }
    );
    assert_eq!(ops(&run)[4..].to_vec(), vec![(Stop, "b"), (Stop, "a")]);
}

#[test]
fn a_status_that_times_out_means_not_held_when_taking() {
    let run = drive(
        GroupOp::take(&["a"], GroupConfig::default()),
        |step| match step.op {
            Status => StepExit::TimedOut,
            _ => ok(),
        },
    );
    assert_eq!(ops(&run), vec![(Status, "a"), (Start, "a")]);
    assert_eq!(run.outcome, GroupOutcome::Done);
}

#[test]
fn a_status_that_times_out_means_held_after_a_failed_stop() {
    let config = GroupConfig {
        stop_retries: StopRetries::Limited(0),
        ..GroupConfig::default()
    };
    let run = drive(GroupOp::give(&["a", "b"], config), |step| match step.op {
        Stop => StepExit::TimedOut,
        _ => StepExit::TimedOut,
    });
    assert_eq!(ops(&run), vec![(Stop, "b"), (Status, "b")]);
    assert_eq!(
        run.outcome,
        GroupOutcome::StopFailed {
            index: 1,
            resource: "b".into(),
            exit: StepExit::TimedOut,
        }
    );
}

#[test]
fn a_missing_script_is_not_held_and_fails_to_start() {
    let run = drive(
        GroupOp::take(&["Nowhere::x"], GroupConfig::default()),
        |_| StepExit::NoScript,
    );
    assert_eq!(
        ops(&run)[..3].to_vec(),
        vec![
            (Status, "Nowhere::x"),
            (Start, "Nowhere::x"),
            (Stop, "Nowhere::x")
        ]
    );
    // The release's stop fails too (no script), is retried, then reads as not held.
    assert_eq!(run.seen.iter().filter(|s| s.op == Stop).count(), 11);
    assert_eq!(run.seen.last().map(|s| s.op), Some(Status));
    assert_eq!(
        run.outcome,
        GroupOutcome::StartFailed {
            index: 0,
            resource: "Nowhere::x".into(),
            exit: StepExit::NoScript,
        }
    );
    assert_eq!(StepExit::NoScript.code(), Some(1));
    assert_eq!(StepExit::TimedOut.code(), None);
    assert_eq!(
        StepExit::Signaled {
            signal: 9,
            stdout: Vec::new()
        }
        .code(),
        Some(137)
    );
}

#[test]
fn signaled_status_output_still_counts() {
    let run = drive(
        GroupOp::take(&["a"], GroupConfig::default()),
        |step| match step.op {
            Status => StepExit::Signaled {
                signal: 13,
                stdout: b"running".to_vec(),
            },
            _ => ok(),
        },
    );
    assert_eq!(ops(&run), vec![(Status, "a")]);
    assert_eq!(run.outcome, GroupOutcome::Done);
}

#[test]
fn empty_group_is_done_at_once() {
    let empty: [&str; 0] = [];
    let mut op = GroupOp::take(&empty, GroupConfig::default());
    assert_eq!(
        op.poll(Instant::now()),
        GroupPoll::Finished(GroupOutcome::Done)
    );
    let mut op = GroupOp::give(&empty, GroupConfig::default());
    assert_eq!(
        op.poll(Instant::now()),
        GroupPoll::Finished(GroupOutcome::Done)
    );
}

#[test]
fn exits_without_a_running_step_are_refused() {
    let mut op = GroupOp::give(&["a"], GroupConfig::default());
    assert_eq!(
        op.handle_exit(Instant::now(), ok()),
        Err(GroupOpError::NoStepRunning)
    );
    assert!(op.running().is_none());
    let GroupPoll::Run(_) = op.poll(Instant::now()) else {
        panic!("expected a step");
    };
    assert!(op.running().is_some());
    op.handle_exit(Instant::now(), ok()).unwrap();
    assert_eq!(
        op.handle_exit(Instant::now(), ok()),
        Err(GroupOpError::NoStepRunning)
    );
}
