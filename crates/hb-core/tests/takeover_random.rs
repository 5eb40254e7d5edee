//! Seeded random sequences of crashes, restarts, clean stops, hb_standby and hb_takeover
//! on two simulated nodes, for each auto_failback mode: after every settle, each group runs
//! on exactly one running node, and never on two at once on the way. A failing run prints
//! its seed, its operations and the whole trace.

mod takeover_sim;

use std::time::Duration;

use hb_core::rng::Rng;
use hb_core::takeover::{Action, AutoFailback};
use takeover_sim::{group, Sim};

const SETS: [&str; 5] = ["all", "local", "foreign", "failback", ""];

/// One random run. `racing`: operations come 0-3 s apart instead of after a settle, and
/// the invariant is checked at the end only. Returns how many group starts it saw.
fn run(seed: u64, mode: AutoFailback, ops: usize, racing: bool) -> Result<usize, String> {
    let names = ["a", "b"];
    let groups = vec![
        group("a", "IPaddr::198.51.100.254/24/eth0"),
        group("b", "IPaddr::198.51.100.253/24/eth0"),
    ];
    // (Rng::new ignores a seed's lowest bit.)
    let mut rng = Rng::new(seed << 1);
    let mut s = Sim::new(&names, groups, mode, seed.wrapping_mul(62).wrapping_add(7));
    s.latency = Duration::from_micros(200 + rng.below(3000));
    s.job_min = Duration::from_millis(1);
    s.job_max = Duration::from_millis(1 + rng.below(80));
    let mut log = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if rng.below(5) > 0 {
            s.start_after(i, Duration::from_millis(1000 + rng.below(5)));
            log.push(format!("start {name}"));
        }
    }
    let fail = |s: &Sim, log: &[String], what: String| -> Result<usize, String> {
        Err(format!(
            "seed {seed} {mode:?} racing={racing}: {what}\nops: {log:?}\n{}",
            s.dump()
        ))
    };
    for _ in 0..ops {
        if racing {
            s.run_for(Duration::from_millis(rng.below(3000)));
        } else {
            if !s.settle() {
                return fail(&s, &log, "did not settle".into());
            }
            let bad = s.check_exactly_one();
            if !bad.is_empty() {
                return fail(&s, &log, format!("{bad:?}"));
            }
            // Some time in a steady state.
            s.run_for(Duration::from_millis(rng.below(20_000)));
        }
        let i = rng.below(2) as usize;
        let set = SETS[rng.below(SETS.len() as u64) as usize];
        let what = match (s.nodes[i].up, rng.below(10)) {
            (false, _) => {
                s.start_after(i, Duration::from_millis(1000));
                "start".to_string()
            }
            (true, 0 | 1) => {
                s.crash(i);
                "crash".to_string()
            }
            (true, 2) => {
                s.shutdown(i);
                "shutdown".to_string()
            }
            (true, 3..=5) => {
                s.standby(i, set);
                format!("standby {set}")
            }
            (true, 6..=8) => {
                s.takeover(i, set);
                format!("takeover {set}")
            }
            (true, _) => "wait".to_string(),
        };
        log.push(format!("{} {what}", names[i]));
    }
    if !s.settle() {
        return fail(&s, &log, "did not settle".into());
    }
    let bad = s.check_exactly_one();
    if !bad.is_empty() {
        return fail(&s, &log, format!("{bad:?}"));
    }
    Ok(s.trace
        .iter()
        .filter(|r| matches!(r.action, Action::StartGroup { .. }))
        .count())
}

fn many(seeds: std::ops::Range<u64>, ops: usize, racing: bool) {
    let mut failures = Vec::new();
    let mut starts = 0;
    let runs = seeds.end - seeds.start;
    for seed in seeds {
        for mode in [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy] {
            match run(seed, mode, ops, racing) {
                Ok(n) => starts += n,
                Err(e) => failures.push(e),
            }
        }
    }
    for f in &failures {
        eprintln!("failed: {}", f.lines().next().unwrap_or(""));
    }
    if let Some(first) = failures.first() {
        panic!("{} failing runs; the first:\n{first}", failures.len());
    }
    // The runs did move groups around.
    assert!(starts as u64 > runs * 3 * 5, "only {starts} group starts");
}

#[test]
fn two_nodes_random_operations_settled() {
    many(0..300, 25, false);
}

#[test]
fn two_nodes_random_operations_racing() {
    many(5000..5300, 25, true);
}

/// Three nodes with `auto_failback on` and `legacy`, one failure at a time: all three
/// start in a random order, then each round one random node crashes or stops cleanly, the
/// others settle, and it comes back. After every settle each group runs on exactly one
/// node, never on two on the way: the dead node's groups go to one survivor only (2.0.8
/// has every survivor take them), and a node asking for its group back (`ip-request`)
/// waits for the holder's answer, not the first answer (see docs/COMPATIBILITY.md). With
/// `off`, and with hb_standby, hb_takeover or overlapping failures, three nodes still
/// break this invariant (most runs leave a group on nobody or on two nodes): not yet
/// supported.
#[test]
fn three_nodes_one_failure_at_a_time() {
    let mut failures = Vec::new();
    for seed in 0..120u64 {
        for mode in [AutoFailback::On, AutoFailback::Legacy] {
            if let Err(e) = one_failure_at_a_time(seed, mode) {
                failures.push(e);
            }
        }
    }
    for f in &failures {
        eprintln!("failed: {}", f.lines().next().unwrap_or(""));
    }
    if let Some(first) = failures.first() {
        panic!("{} failing runs; the first:\n{first}", failures.len());
    }
}

fn one_failure_at_a_time(seed: u64, mode: AutoFailback) -> Result<(), String> {
    let names = ["a", "b", "c"];
    let groups = vec![
        group("a", "IPaddr::198.51.100.254/24/eth0"),
        group("b", "IPaddr::198.51.100.253/24/eth0"),
        group("c", "IPaddr::198.51.100.252/24/eth0"),
    ];
    let mut rng = Rng::new(seed << 1);
    let mut s = Sim::new(&names, groups, mode, seed.wrapping_mul(62).wrapping_add(7));
    s.latency = Duration::from_micros(200 + rng.below(3000));
    s.job_min = Duration::from_millis(1);
    s.job_max = Duration::from_millis(1 + rng.below(80));
    let mut log = Vec::new();
    for i in 0..3 {
        s.start_after(i, Duration::from_millis(1000 + rng.below(3000)));
        log.push(format!("start {}", names[i]));
    }
    let check = |s: &mut Sim, log: &[String]| -> Result<(), String> {
        let bad = if s.settle() {
            s.check_exactly_one()
        } else {
            vec!["did not settle".to_string()]
        };
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "3 nodes, seed {seed} {mode:?}: {bad:?}\nops: {log:?}\n{}",
                s.dump()
            ))
        }
    };
    check(&mut s, &log)?;
    for _ in 0..6 {
        s.run_for(Duration::from_millis(rng.below(20_000)));
        let i = rng.below(3) as usize;
        if rng.below(2) == 0 {
            s.crash(i);
            log.push(format!("{} crash", names[i]));
        } else {
            s.shutdown(i);
            log.push(format!("{} shutdown", names[i]));
        }
        check(&mut s, &log)?;
        s.run_for(Duration::from_millis(rng.below(20_000)));
        s.start_after(i, Duration::from_millis(1000));
        log.push(format!("{} start", names[i]));
        check(&mut s, &log)?;
    }
    Ok(())
}

/// Found by the long run: without nice_failback, a node starting while its peer is
/// declared dead probes its own group's address; the peer restarting meanwhile must not
/// cancel that start (the peer never starts a group of another home).
#[test]
fn legacy_own_group_is_started_when_the_peer_restarts_during_its_probe() {
    for seed in [200420, 200665, 201569, 201701] {
        if let Err(e) = run(seed, AutoFailback::Legacy, 40, true) {
            panic!("{e}");
        }
    }
}

/// A longer run: `cargo test -p hb-core --test takeover_random -- --ignored`; test-all.sh runs it
/// (`--include-ignored`).
#[test]
#[ignore = "long (thousands of seeded runs): compat-tests/test-all.sh runs it with --include-ignored"]
fn two_nodes_random_operations_long() {
    many(100_000..103_000, 40, false);
    many(200_000..203_000, 40, true);
}

/// A tool, not a test (test-all.sh leaves it out: `--skip replay`). Replays one run with its trace: `TAKEOVER_SEED=n TAKEOVER_MODE=on|off|legacy
/// TAKEOVER_RACING=1 TAKEOVER_OPS=40 cargo test -p hb-core --test takeover_random replay --
/// --ignored --nocapture`.
#[test]
#[ignore = "tool: replays one seeded run given in the environment"]
fn replay() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let seed = var("TAKEOVER_SEED").parse().unwrap_or(0);
    let mode = match var("TAKEOVER_MODE").as_str() {
        "off" => AutoFailback::Off,
        "legacy" => AutoFailback::Legacy,
        _ => AutoFailback::On,
    };
    let ops = var("TAKEOVER_OPS").parse().unwrap_or(25);
    match run(seed, mode, ops, var("TAKEOVER_RACING") == "1") {
        Ok(n) => println!("ok, {n} group starts"),
        Err(e) => panic!("{e}"),
    }
}
