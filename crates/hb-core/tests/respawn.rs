//! `respawn` clients in virtual time: start at comm-up, restarts, the 30 s / 10 short runs
//! rate limit, exit status 100, start failures, shutdown and the reverse-order stop, with the
//! original's log lines.

use std::time::{Duration, Instant};

use hb_core::respawn::{Action, ClientSpec, Exit, Respawn, SpawnFailure};
use hb_core::Level;

fn spec(n: usize) -> ClientSpec {
    ClientSpec {
        user: "hacluster".into(),
        uid: 100 + n as u32,
        gid: 200,
        command: format!("/usr/lib/heartbeat/c{n} -x"),
    }
}

fn cmd(n: usize) -> String {
    spec(n).command
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

struct T {
    t0: Instant,
    r: Respawn,
    next_pid: u32,
}

impl T {
    fn new(n: usize) -> T {
        T {
            t0: Instant::now(),
            r: Respawn::new((0..n).map(spec).collect()),
            next_pid: 1000,
        }
    }

    fn at(&self, s: f64) -> Instant {
        self.t0 + secs(s)
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.r.poll_action()).collect()
    }

    fn logs(&mut self) -> Vec<(Level, String)> {
        std::iter::from_fn(|| self.r.poll_log()).collect()
    }

    /// Serve every pending Start with a new pid; returns the (id, pid) started.
    fn spawn_all(&mut self, s: f64) -> Vec<(usize, u32)> {
        let mut out = Vec::new();
        for a in self.actions() {
            match a {
                Action::Start { id, .. } => {
                    self.next_pid += 1;
                    self.r.spawned(self.at(s), id, self.next_pid);
                    out.push((id, self.next_pid));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        out
    }

    fn pid(&self, id: usize) -> Option<u32> {
        self.r.clients().nth(id).and_then(|c| c.pid)
    }
}

fn info(s: &str) -> (Level, String) {
    (Level::Info, s.to_string())
}

fn err(s: &str) -> (Level, String) {
    (Level::Error, s.to_string())
}

fn warn(s: &str) -> (Level, String) {
    (Level::Warn, s.to_string())
}

#[test]
fn nothing_runs_before_comm_up_then_all_start_in_file_order_once() {
    let mut t = T::new(3);
    assert!(t.actions().is_empty());
    assert_eq!(t.r.poll_timeout(), None);
    t.r.comm_up(t.at(0.0));
    let a = t.actions();
    assert_eq!(
        a,
        (0..3)
            .map(|n| Action::Start {
                id: n,
                user: "hacluster".into(),
                uid: 100 + n as u32,
                gid: 200,
                command: cmd(n),
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(
        t.logs(),
        (0..3)
            .map(|n| info(&format!(
                "Starting child client \"{}\" ({},200)",
                cmd(n),
                100 + n
            )))
            .collect::<Vec<_>>()
    );
    t.r.comm_up(t.at(5.0));
    assert!(t.actions().is_empty(), "comm-up happens once");

    for (id, pid) in [(0, 501), (1, 502), (2, 503)] {
        t.r.spawned(t.at(0.0), id, pid);
    }
    assert_eq!(
        t.logs()[0],
        info(&format!(
            "Starting \"{}\" as uid 100  gid 200 (pid 501)",
            cmd(0)
        ))
    );
    assert_eq!(t.r.id_of_pid(502), Some(1));
    assert_eq!(t.r.id_of_pid(999), None);
    assert_eq!(t.pid(2), Some(503));
    let v: Vec<_> = t.r.clients().collect();
    assert_eq!(v[1].command, cmd(1));
    assert_eq!(v[1].user, "hacluster");
}

#[test]
fn a_long_run_that_ends_is_restarted_at_once() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    t.spawn_all(0.0);
    t.logs();
    let pid = t.pid(0).expect("running");
    assert!(t.r.exited(t.at(30.0), 0, Exit::Code(0)));
    assert_eq!(
        t.logs(),
        vec![
            info(&format!("Exiting {} process {pid} returned rc 0.", cmd(0))),
            err(&format!("Respawning client \"{}\":", cmd(0))),
            info(&format!("Starting child client \"{}\" (100,200)", cmd(0))),
        ]
    );
    assert!(
        matches!(t.actions()[..], [Action::Start { id: 0, .. }]),
        "restarted with no delay"
    );
    assert_eq!(t.r.poll_timeout(), None);
    let v = t.r.clients().next().expect("client");
    assert_eq!((v.respawns, v.short_runs), (1, 0));
    assert_eq!(v.pid, None, "no pid until spawned");
    assert!(!t.r.exited(t.at(31.0), 0, Exit::Code(0)), "not running");
}

#[test]
fn killed_by_a_signal_is_restarted_and_logged_as_such() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    t.spawn_all(0.0);
    t.logs();
    let pid = t.pid(0).expect("pid");
    t.r.exited(
        t.at(100.0),
        0,
        Exit::Signal {
            signo: 9,
            core: false,
        },
    );
    let logs = t.logs();
    assert_eq!(
        logs[0],
        warn(&format!(
            "Exiting {} process {pid} killed by signal 9.",
            cmd(0)
        ))
    );
    assert_eq!(logs[1], err(&format!("Respawning client \"{}\":", cmd(0))));

    // A core dump adds its own line.
    assert_eq!(t.spawn_all(100.0).len(), 1, "restarted");
    t.logs();
    let pid = t.pid(0).expect("pid");
    t.r.exited(
        t.at(200.0),
        0,
        Exit::Signal {
            signo: 11,
            core: true,
        },
    );
    let logs = t.logs();
    assert_eq!(
        logs[..2],
        [
            warn(&format!(
                "Exiting {} process {pid} killed by signal 11.",
                cmd(0)
            )),
            err(&format!("Exiting {} process {pid} dumped core", cmd(0))),
        ]
    );
}

#[test]
fn exit_status_100_is_not_restarted() {
    let mut t = T::new(2);
    t.r.comm_up(t.at(0.0));
    t.spawn_all(0.0);
    t.logs();
    let pid = t.pid(1).expect("pid");
    t.r.exited(t.at(1.0), 1, Exit::Code(100));
    assert_eq!(
        t.logs(),
        vec![warn(&format!(
            "Exiting {} process {pid} returned rc 100.",
            cmd(1)
        ))]
    );
    assert!(t.actions().is_empty());
    assert_eq!(t.r.poll_timeout(), None);
    // Any other status is restarted.
    t.r.exited(t.at(31.0), 0, Exit::Code(99));
    assert!(matches!(t.actions()[..], [Action::Start { id: 0, .. }]));
}

#[test]
fn a_short_run_restarts_after_one_second() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    t.spawn_all(0.0);
    t.logs();
    t.r.exited(t.at(29.999), 0, Exit::Code(1));
    assert_eq!(
        t.logs()[1..],
        [
            err(&format!("Respawning client \"{}\":", cmd(0))),
            info(&format!("Starting child client \"{}\" (100,200)", cmd(0))),
        ]
    );
    assert!(t.actions().is_empty(), "not yet");
    assert_eq!(t.r.poll_timeout(), Some(t.at(30.999)));
    t.r.handle_timeout(t.at(30.998));
    assert!(t.actions().is_empty());
    t.r.handle_timeout(t.at(30.999));
    assert!(matches!(t.actions()[..], [Action::Start { id: 0, .. }]));
    assert_eq!(t.r.poll_timeout(), None);
    assert_eq!(t.r.clients().next().expect("c").short_runs, 1);
}

#[test]
fn thirty_seconds_exactly_is_not_a_short_run() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    t.spawn_all(0.0);
    t.r.exited(t.at(30.0), 0, Exit::Code(1));
    assert_eq!(t.r.clients().next().expect("c").short_runs, 0);
    assert_eq!(t.actions().len(), 1, "started at once");
}

/// Let client 0 fail right after each start; returns the times of its exits until it stays
/// down (or `max` exits).
fn fail_fast(t: &mut T, start: f64, run: f64, max: usize) -> Vec<f64> {
    let mut now = start;
    let mut exits = Vec::new();
    for _ in 0..max {
        // Start whatever is due (a delayed start comes through the timer).
        if let Some(due) = t.r.poll_timeout() {
            now = (due - t.t0).as_secs_f64();
            t.r.handle_timeout(due);
        }
        let started = t.spawn_all(now);
        if started.is_empty() {
            break;
        }
        now += run;
        t.r.exited(t.at(now), 0, Exit::Code(1));
        exits.push(now);
    }
    exits
}

#[test]
fn the_eleventh_short_run_in_a_row_leaves_the_client_down() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    let exits = fail_fast(&mut t, 0.0, 0.5, 50);
    // First run from 0 to 0.5; then each restart waits 1 s and runs 0.5 s.
    assert_eq!(exits.len(), 11, "{exits:?}");
    assert!((exits[10] - 15.5).abs() < 1e-6, "{exits:?}");
    let logs = t.logs();
    let respawning = logs
        .iter()
        .filter(|l| l.1.starts_with("Respawning client"))
        .count();
    assert_eq!(respawning, 10);
    assert_eq!(
        logs.last(),
        Some(&err(&format!("Client {} \"respawning too fast\"", cmd(0))))
    );
    // It stays down: nothing to do, ever; the counter was reset.
    assert!(t.actions().is_empty());
    assert_eq!(t.r.poll_timeout(), None);
    let v = t.r.clients().next().expect("c");
    assert_eq!((v.pid, v.short_runs, v.respawns), (None, 0, 11));
    t.r.handle_timeout(t.at(10_000.0));
    assert!(t.actions().is_empty());
}

#[test]
fn a_long_run_resets_the_count_of_short_runs() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    // Ten short runs: still restarted.
    let exits = fail_fast(&mut t, 0.0, 0.5, 10);
    assert_eq!(exits.len(), 10);
    assert_eq!(t.r.clients().next().expect("c").short_runs, 10);
    // The 11th run lasts 40 s: the counter goes back to 0 and the restart is immediate.
    let more = fail_fast(&mut t, 0.0, 40.0, 1);
    assert_eq!(more.len(), 1);
    assert_eq!(t.r.clients().next().expect("c").short_runs, 0);
    assert_eq!(t.r.poll_timeout(), None, "no delay after a long run");
    // Ten more short runs are tolerated again.
    let again = fail_fast(&mut t, more[0], 0.5, 10);
    assert_eq!(again.len(), 10);
    assert!(!t.logs().iter().any(|l| l.1.contains("respawning too fast")));
    assert_eq!(t.r.clients().next().expect("c").short_runs, 10);
    // And the next short one is the 11th in a row.
    let last = fail_fast(&mut t, again[9], 0.5, 5);
    assert_eq!(last.len(), 1);
    assert!(t.logs().iter().any(|l| l.1.contains("respawning too fast")));
}

#[test]
fn a_start_that_cannot_exec_is_not_retried() {
    let mut t = T::new(2);
    t.r.comm_up(t.at(0.0));
    t.actions();
    t.logs();
    t.r.spawn_failed(
        t.at(0.0),
        0,
        SpawnFailure::NotExecutable("No such file or directory".into()),
    );
    t.r.spawn_failed(t.at(0.0), 1, SpawnFailure::Fork);
    assert_eq!(
        t.logs(),
        vec![
            err(&format!(
                "Cannot exec {}: No such file or directory",
                cmd(0)
            )),
            err("start_a_child_client: Cannot fork."),
        ]
    );
    assert!(t.actions().is_empty());
    assert_eq!(t.r.poll_timeout(), None);
    assert_eq!(t.pid(0), None);
    // A late report for it changes nothing.
    t.r.spawned(t.at(1.0), 0, 42);
    assert_eq!(t.pid(0), None);
}

#[test]
fn shutdown_stops_restarts_and_cancels_a_delayed_one() {
    let mut t = T::new(2);
    t.r.comm_up(t.at(0.0));
    t.spawn_all(0.0);
    t.logs();
    // Client 0 had a short run: its restart waits 1 s.
    t.r.exited(t.at(1.0), 0, Exit::Code(1));
    assert!(t.r.poll_timeout().is_some());
    t.r.shutdown(t.at(1.5));
    assert_eq!(t.r.poll_timeout(), None, "delayed restart cancelled");
    t.r.handle_timeout(t.at(3.0));
    assert!(t.actions().is_empty());
    t.logs();
    // A death during the shutdown (before the final stop) is logged but not restarted.
    let pid = t.pid(1).expect("pid");
    t.r.exited(t.at(4.0), 1, Exit::Code(0));
    assert_eq!(
        t.logs(),
        vec![info(&format!(
            "Exiting {} process {pid} returned rc 0.",
            cmd(1)
        ))]
    );
    assert!(t.actions().is_empty());
    assert!(!t.r.all_stopped(), "stop_all was not called");
}

#[test]
fn a_shutdown_before_comm_up_means_no_client_ever_starts() {
    let mut t = T::new(2);
    t.r.shutdown(t.at(0.0));
    t.r.comm_up(t.at(1.0));
    assert!(t.actions().is_empty());
    assert!(t.logs().is_empty());
    t.r.stop_all(t.at(2.0));
    assert_eq!(
        t.logs(),
        vec![
            info(&format!("client [{}] is not running.", cmd(1))),
            info(&format!("client [{}] is not running.", cmd(0))),
        ]
    );
    assert!(t.r.all_stopped());
}

#[test]
fn stop_all_goes_in_reverse_order_one_at_a_time() {
    let mut t = T::new(3);
    t.r.comm_up(t.at(0.0));
    let pids = t.spawn_all(0.0);
    t.logs();
    assert!(!t.r.all_stopped());
    t.r.stop_all(t.at(60.0));
    for k in (0..3).rev() {
        let pid = pids[k].1;
        assert_eq!(t.actions(), vec![Action::Stop { id: k, pid }]);
        assert_eq!(
            t.logs(),
            vec![info(&format!(
                "killing {} process group {pid} with signal 15",
                cmd(k)
            ))]
        );
        assert!(!t.r.all_stopped());
        // Nothing moves until that one died.
        t.r.handle_timeout(t.at(61.0));
        assert!(t.actions().is_empty());
        // Its death is not logged and it is not restarted: the next iteration sees only the
        // next "killing" line and the next Stop.
        t.r.exited(t.at(61.0), k, Exit::Code(0));
    }
    assert!(t.logs().is_empty());
    assert!(t.actions().is_empty());
    assert!(t.r.all_stopped());
    t.r.stop_all(t.at(62.0));
    assert!(t.actions().is_empty(), "stop_all runs once");
}

#[test]
fn stop_all_passes_over_clients_not_running_and_those_that_died_early() {
    let mut t = T::new(4);
    t.r.comm_up(t.at(0.0));
    let pids = t.spawn_all(0.0);
    // Client 2 exited with 100 earlier: it is down.
    t.r.exited(t.at(10.0), 2, Exit::Code(100));
    t.logs();
    t.r.stop_all(t.at(60.0));
    assert_eq!(
        t.actions(),
        vec![Action::Stop {
            id: 3,
            pid: pids[3].1
        }]
    );
    // Client 0 dies on its own meanwhile: ignored (no log, no restart).
    t.r.exited(t.at(60.5), 0, Exit::Code(0));
    assert!(t.actions().is_empty());
    t.logs();
    t.r.exited(t.at(61.0), 3, Exit::Code(0));
    assert_eq!(
        t.actions(),
        vec![Action::Stop {
            id: 1,
            pid: pids[1].1
        }]
    );
    assert_eq!(
        t.logs(),
        vec![
            info(&format!("client [{}] is not running.", cmd(2))),
            info(&format!(
                "killing {} process group {} with signal 15",
                cmd(1),
                pids[1].1
            )),
        ]
    );
    t.r.exited(
        t.at(62.0),
        1,
        Exit::Signal {
            signo: 15,
            core: false,
        },
    );
    assert_eq!(
        t.logs(),
        vec![info(&format!("client [{}] is not running.", cmd(0)))]
    );
    assert!(t.actions().is_empty());
    assert!(t.r.all_stopped());
}

#[test]
fn stop_all_waits_for_the_pid_of_a_client_being_started() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    let start = t.actions();
    assert_eq!(start.len(), 1);
    t.r.stop_all(t.at(0.1));
    assert!(t.actions().is_empty());
    assert!(!t.r.all_stopped());
    t.r.spawned(t.at(0.2), 0, 777);
    assert_eq!(t.actions(), vec![Action::Stop { id: 0, pid: 777 }]);
    t.r.exited(t.at(0.3), 0, Exit::Code(143));
    assert!(t.r.all_stopped());
    assert!(t.actions().is_empty(), "not restarted");
}

#[test]
fn a_core_dump_is_reported_even_during_the_stop() {
    let mut t = T::new(1);
    t.r.comm_up(t.at(0.0));
    let pids = t.spawn_all(0.0);
    t.r.stop_all(t.at(5.0));
    t.logs();
    t.actions();
    t.r.exited(
        t.at(5.1),
        0,
        Exit::Signal {
            signo: 6,
            core: true,
        },
    );
    let pid = pids[0].1;
    assert_eq!(
        t.logs(),
        vec![
            warn(&format!(
                "Exiting {} process {pid} killed by signal 6.",
                cmd(0)
            )),
            err(&format!("Exiting {} process {pid} dumped core", cmd(0))),
        ]
    );
    assert!(t.r.all_stopped());
}

#[test]
fn no_clients() {
    let mut t = T::new(0);
    t.r.comm_up(t.at(0.0));
    assert!(t.actions().is_empty());
    assert!(!t.r.all_stopped());
    t.r.stop_all(t.at(1.0));
    assert!(t.r.all_stopped());
    assert!(t.logs().is_empty());
}
