//! The flapping bound: a service that dies and recovers every second (or at random)
//! must not move the group back and forth more than once per `rise × interval + failback`.
//!
//! One node's [`Checks`] runs against a simulated service and a simulated daemon in
//! virtual time: probes take a random time (some hang past the timeout), a give-away
//! releases the group after a random delay (the standby exchange), and the group comes
//! back by failback `failback` after the node reports itself healthy again, as the daemon
//! does with auto_failback on (it never takes back a group it is unfit for).

use std::time::{Duration, Instant};

use hb_core::checks::{CheckAction, CheckId, CheckSpec, Checks};
use hb_core::rng::Rng;

const KEY: &str = "IPaddr::192.168.0.254/24/eth0";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Clone, Copy, Debug)]
struct Params {
    interval: Duration,
    timeout: Duration,
    fall: u32,
    rise: u32,
    restarts: u32,
    failback: Duration,
    /// Whether some probes hang past their timeout.
    hangs: bool,
}

/// Whether the service answers at `t` (since the start).
type Service = dyn Fn(Duration) -> bool;

struct Outcome {
    give_aways: Vec<Instant>,
    /// Times the group changed hands (away or back).
    moves: usize,
    restarts: usize,
}

fn run(p: Params, service: &Service, seed: u64, length: Duration) -> Outcome {
    let mut rng = Rng::new(seed);
    let t0 = Instant::now();
    let end = t0 + length;
    let spec = CheckSpec {
        id: CheckId(0),
        group_key: KEY.into(),
        label: "tcp 127.0.0.1:12345".into(),
        interval: p.interval,
        timeout: p.timeout,
        fall: p.fall,
        rise: p.rise,
        restarts: p.restarts,
    };
    let mut c = Checks::new(vec![spec], t0);
    c.set_holding(KEY, true);
    c.set_peer_fit(t0, KEY, true);
    let mut holding = true;
    let mut now = t0;
    let mut pending: Vec<(Instant, CheckId, bool)> = Vec::new();
    let mut release_at: Option<Instant> = None;
    let mut back_at: Option<Instant> = None;
    let mut restart_done_at: Option<Instant> = None;
    let mut out = Outcome {
        give_aways: Vec::new(),
        moves: 0,
        restarts: 0,
    };
    for _ in 0..10_000_000 {
        // Inputs due now, in a fixed order.
        pending.sort_by_key(|x| x.0);
        while pending.first().is_some_and(|x| x.0 <= now) {
            let (_, id, ok) = pending.remove(0);
            c.probe_done(now, id, ok);
        }
        while let Some(id) = c.poll_expired(now) {
            pending.retain(|x| x.1 != id);
        }
        if restart_done_at.is_some_and(|t| t <= now) {
            restart_done_at = None;
            c.group_restarted(now, KEY, true);
        }
        if release_at.is_some_and(|t| t <= now) {
            release_at = None;
            holding = false;
            out.moves += 1;
            c.set_holding(KEY, false);
            if c.healthy(KEY) {
                back_at = Some(now + p.failback);
            }
        }
        if back_at.is_some_and(|t| t <= now) {
            back_at = None;
            assert!(c.healthy(KEY), "failback scheduled while unfit");
            holding = true;
            out.moves += 1;
            c.set_holding(KEY, true);
        }
        while let Some((id, deadline)) = c.poll_probe(now) {
            // A probe takes 0..1.5 × timeout (some hang past their deadline), or
            // 0..0.9 × timeout.
            let most = p.timeout.as_millis() as u64 * if p.hangs { 15 } else { 9 } / 10;
            let took = ms(rng.below(most + 1));
            let ok = service(now - t0);
            if now + took < deadline {
                pending.push((now + took, id, ok));
            }
        }
        while let Some(a) = c.poll_action() {
            match a {
                CheckAction::GiveAway(_) => {
                    assert!(holding, "give-away while not holding");
                    assert!(release_at.is_none());
                    out.give_aways.push(now);
                    // The standby exchange takes up to 2 s.
                    release_at = Some(now + ms(rng.below(2000)));
                }
                CheckAction::RestartGroup(_) => {
                    out.restarts += 1;
                    restart_done_at = Some(now + ms(300 + rng.below(1000)));
                }
                CheckAction::HealthChanged { healthy, .. } => {
                    if !healthy {
                        back_at = None;
                    } else if !holding && release_at.is_none() {
                        back_at = Some(now + p.failback);
                    }
                }
                CheckAction::Log(..) => {}
            }
        }
        let next = pending
            .iter()
            .map(|x| x.0)
            .chain(c.poll_timeout())
            .chain(release_at)
            .chain(back_at)
            .chain(restart_done_at)
            .min();
        match next {
            Some(t) if t <= end => {
                assert!(t >= now, "time went back");
                now = t;
            }
            _ => return out,
        }
    }
    panic!("simulation did not end");
}

/// Checks the bound on one run; returns the number of give-aways.
fn check_bound(p: Params, service: &Service, seed: u64, length: Duration) -> usize {
    let o = run(p, service, seed, length);
    let min_gap = p.interval * p.rise + p.failback;
    for w in o.give_aways.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= min_gap,
            "seed {seed} {p:?}: give-aways {gap:?} apart, bound {min_gap:?}"
        );
    }
    let most = (length.as_nanos() / min_gap.as_nanos()) as usize + 1;
    assert!(
        o.give_aways.len() <= most,
        "seed {seed} {p:?}: {} give-aways in {length:?}, at most {most}",
        o.give_aways.len()
    );
    // Each give-away moves the group away once, and back at most once.
    assert!(o.moves <= 2 * o.give_aways.len(), "seed {seed} {p:?}");
    if p.restarts == 0 {
        assert_eq!(o.restarts, 0);
    }
    o.give_aways.len()
}

fn every_second(t: Duration) -> bool {
    (t.as_millis() / 1000) & 1 == 0
}

/// Dead for about a second, alive for about a second, and so on (each phase 700 to
/// 1300 ms, from `seed`), for `length`.
fn about_every_second(seed: u64, length: Duration) -> impl Fn(Duration) -> bool {
    let mut rng = Rng::new(seed);
    let mut edges = Vec::new();
    let mut t = 0u64;
    while t < length.as_millis() as u64 {
        t += 700 + rng.below(601);
        edges.push(t);
    }
    move |at: Duration| {
        let at = at.as_millis() as u64;
        // Alive in even phases.
        edges.partition_point(|e| *e <= at) % 2 == 0
    }
}

const DEFAULTS: Params = Params {
    interval: Duration::from_secs(2),
    timeout: Duration::from_secs(1),
    fall: 3,
    rise: 2,
    restarts: 0,
    failback: Duration::from_secs(3),
    hangs: true,
};

#[test]
fn dead_and_alive_every_second_with_the_defaults() {
    let hour = Duration::from_secs(3600);
    let mut total = 0;
    for seed in 0..20 {
        // Exactly every second: probes every 2 s see the same phase (one give-away, then
        // the node never looks healthy again).
        total += check_bound(DEFAULTS, &every_second, seed, hour);
        // About every second: the phases drift, the group moves again and again.
        let s = about_every_second(seed + 100, hour);
        total += check_bound(DEFAULTS, &s, seed, hour);
    }
    // The service does flap the group: the bound is reached, not vacuous.
    println!("{total} give-aways in 40 simulated hours");
    assert!(
        total >= 200,
        "only {total} give-aways in 40 hours of flapping"
    );
}

#[test]
fn the_bound_holds_for_other_settings_and_services() {
    let settings = [
        Params {
            interval: ms(500),
            timeout: ms(300),
            fall: 1,
            rise: 1,
            restarts: 0,
            hangs: true,
            failback: ms(0),
        },
        Params {
            interval: ms(1000),
            timeout: ms(900),
            fall: 2,
            rise: 3,
            restarts: 1,
            hangs: true,
            failback: ms(1500),
        },
        Params {
            interval: ms(2000),
            timeout: ms(3000),
            fall: 1,
            rise: 2,
            restarts: 2,
            hangs: true,
            failback: ms(10_000),
        },
        Params {
            interval: ms(700),
            timeout: ms(100),
            fall: 3,
            rise: 5,
            restarts: 0,
            hangs: true,
            failback: ms(200),
        },
    ];
    let half_second = |t: Duration| (t.as_millis() / 500) & 1 == 0;
    let mostly_dead = |t: Duration| (t.as_millis() / 100) % 10 < 1;
    let services: [&Service; 3] = [&every_second, &half_second, &mostly_dead];
    let ten_minutes = Duration::from_secs(600);
    for p in settings {
        let mut total = 0;
        for (n, s) in services.iter().enumerate() {
            for seed in 0..8 {
                total += check_bound(p, *s, seed * 10 + n as u64, ten_minutes);
            }
        }
        assert!(total > 0, "{p:?}: never flapped");
    }
}

#[test]
fn a_service_at_random_every_probe() {
    // Worst case for counting: each probe's answer independent, half of them failing.
    for seed in 0..10 {
        let mut rng = Rng::new(1000 + seed);
        let coin: Vec<bool> = (0..20_000).map(|_| rng.below(2) == 0).collect();
        let service = move |t: Duration| {
            coin.get((t.as_millis() / 100) as usize)
                .copied()
                .unwrap_or(true)
        };
        let mut p = DEFAULTS;
        p.fall = 1;
        p.rise = 1;
        p.failback = ms(0);
        check_bound(p, &service, seed, Duration::from_secs(1800));
    }
}

#[test]
fn a_dead_service_moves_the_group_once() {
    let steady = Params {
        hangs: false,
        ..DEFAULTS
    };
    let o = run(steady, &|_| false, 1, Duration::from_secs(3600));
    assert_eq!(o.give_aways.len(), 1);
    assert_eq!(o.moves, 1);
    let o = run(steady, &|_| true, 1, Duration::from_secs(3600));
    assert!(o.give_aways.is_empty());
}
