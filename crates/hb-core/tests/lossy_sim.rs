//! Issue #16: a lossy heartbeat link (40 % of the datagrams lost in each direction, for
//! 60 s, keepalive 200ms, deadtime 1) must not get a live node declared dead, and a real
//! crash on that link must still be detected within deadtime + keepalive.
//!
//! The default test runs a representative number of seeded runs (`SIM_LOSSY_RUNS`
//! overrides it); `ten_thousand_lossy_runs` (ignored by default, run by
//! compat-tests/test-all.sh with `--include-ignored`) runs the full 10 000.

mod sim;

use std::time::Duration;

use sim::{Cluster, Net};

const DEADTIME: Duration = Duration::from_secs(1);
const KEEPALIVE: Duration = Duration::from_millis(200);

fn lossy() -> Net {
    Net {
        loss: 40,
        dup: 0,
        max_delay: Duration::from_millis(10),
    }
}

/// One run: 60 s at 40 % loss, then a crash of a random node. Returns the number of
/// false deaths (any death before the crash), and panics if the crash is not detected
/// within deadtime + keepalive.
fn run(seed: u64) -> usize {
    let mut c = Cluster::new(2, lossy(), seed);
    c.run_for(Duration::from_secs(60));
    let false_deaths = c.deaths(0, 1).len() + c.deaths(1, 0).len();
    let victim = (seed % 2) as usize;
    let obs = 1 - victim;
    let crash_at = c.now;
    c.crash(victim);
    c.run_for(Duration::from_secs(3));
    let d: Vec<_> = c
        .deaths(obs, victim)
        .into_iter()
        .filter(|t| *t >= crash_at)
        .collect();
    assert!(
        d.len() == 1 || (d.is_empty() && false_deaths > 0),
        "seed {seed}: {} declared {} dead {} times after the crash",
        c.names[obs],
        c.names[victim],
        d.len()
    );
    if let Some(t) = d.first() {
        let took = t.duration_since(crash_at);
        assert!(
            took <= DEADTIME + KEEPALIVE,
            "seed {seed}: crash detected only after {took:?}"
        );
    }
    false_deaths
}

/// Runs seeds 1..=runs on every core; fails with the first seeds that saw a false death.
fn run_many(runs: u64) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let results: Vec<(u64, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    (1..=runs)
                        .filter(|seed| seed % threads == k)
                        .map(|seed| (seed, run(seed)))
                        .filter(|(_, n)| *n > 0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a run panicked"))
            .collect()
    });
    let total: usize = results.iter().map(|(_, n)| n).sum();
    let mut seeds: Vec<u64> = results.iter().map(|(s, _)| *s).collect();
    seeds.sort_unstable();
    seeds.truncate(20);
    eprintln!("{runs} runs of 60 s at 40 % loss: {total} false deaths");
    assert!(
        seeds.is_empty(),
        "{total} false deaths in {runs} runs at 40 % loss; first seeds: {seeds:?} (replay one with SIM_SEED=N)"
    );
}

#[test]
fn lossy_link_gives_no_false_death() {
    if let Ok(s) = std::env::var("SIM_SEED") {
        let seed = s.parse().expect("SIM_SEED must be a number");
        assert_eq!(run(seed), 0, "seed {seed}");
        return;
    }
    let runs = match std::env::var("SIM_LOSSY_RUNS") {
        Ok(n) => n.parse().expect("SIM_LOSSY_RUNS must be a number"),
        Err(_) if cfg!(debug_assertions) => 10,
        Err(_) => 200,
    };
    run_many(runs);
}

#[test]
#[ignore = "10 000 runs of 60 s; compat-tests/test-all.sh runs it with --include-ignored"]
fn ten_thousand_lossy_runs() {
    run_many(10_000);
}
