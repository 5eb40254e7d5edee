//! The service-check machine in virtual time: every transition, the defaults, restarts,
//! holding or not, peers fit or not, deadlines, status lines.

use std::time::{Duration, Instant};

use hb_core::checks::{CheckAction, CheckId, CheckSpec, CheckState, Checks};
use hb_core::Level;

const KEY: &str = "IPaddr::192.168.0.254/24/eth0";
const PROBE: Duration = Duration::from_millis(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A check with the defaults of the checks file (interval 2 s, timeout 1 s, fall 3,
/// rise 2, restarts 0).
fn spec(id: usize, key: &str) -> CheckSpec {
    CheckSpec {
        id: CheckId(id),
        group_key: key.into(),
        label: if id == 0 {
            "tcp 127.0.0.1:12345".into()
        } else {
            format!("tcp 127.0.0.1:{}", 12345 + id)
        },
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        fall: 3,
        rise: 2,
        restarts: 0,
    }
}

struct T {
    c: Checks,
    t0: Instant,
    now: Instant,
    seen: Vec<CheckAction>,
}

impl T {
    fn new(specs: Vec<CheckSpec>) -> T {
        let t0 = Instant::now();
        T {
            c: Checks::new(specs, t0),
            t0,
            now: t0,
            seen: Vec::new(),
        }
    }

    fn holding(specs: Vec<CheckSpec>) -> T {
        let mut t = T::new(specs);
        t.c.set_holding(KEY, true);
        t.c.set_peer_fit(t.now, KEY, true);
        assert!(t.drain().is_empty());
        t
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    /// Jumps to the next due probe(s), starts every due one, and completes them PROBE
    /// later with `result(id)`. Returns the ids probed.
    fn step(&mut self, result: impl Fn(CheckId) -> bool) -> Vec<CheckId> {
        let at = self.c.poll_timeout().expect("nothing scheduled");
        assert!(at >= self.now, "deadline in the past");
        self.now = at;
        let mut started = Vec::new();
        while let Some((id, deadline)) = self.c.poll_probe(self.now) {
            assert!(deadline > self.now);
            started.push(id);
        }
        assert!(!started.is_empty(), "no probe due at {:?}", self.elapsed());
        self.now += PROBE;
        for id in &started {
            self.c.probe_done(self.now, *id, result(*id));
        }
        started
    }

    fn probe(&mut self, ok: bool) {
        self.step(|_| ok);
    }

    fn probes(&mut self, ok: bool, n: usize) {
        for _ in 0..n {
            self.probe(ok);
        }
    }

    fn drain(&mut self) -> Vec<CheckAction> {
        let mut v = Vec::new();
        while let Some(a) = self.c.poll_action() {
            v.push(a);
        }
        self.seen.extend(v.iter().cloned());
        v
    }

    fn count(&self, f: impl Fn(&CheckAction) -> bool) -> usize {
        self.seen.iter().filter(|a| f(a)).count()
    }
}

fn give_away() -> CheckAction {
    CheckAction::GiveAway(KEY.into())
}

fn restart() -> CheckAction {
    CheckAction::RestartGroup(KEY.into())
}

fn health(healthy: bool) -> CheckAction {
    CheckAction::HealthChanged {
        key: KEY.into(),
        healthy,
    }
}

fn log(level: Level, s: &str) -> CheckAction {
    CheckAction::Log(level, s.into())
}

#[test]
fn the_users_case_with_defaults() {
    let mut t = T::holding(vec![spec(0, KEY)]);
    // First probe at once, then every 2 s.
    assert_eq!(t.c.poll_timeout(), Some(t.t0));
    t.probe(true);
    assert_eq!(
        t.drain(),
        vec![log(
            Level::Info,
            "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: ok"
        )]
    );
    assert_eq!(t.c.poll_timeout(), Some(t.t0 + ms(2000)));
    t.probes(false, 2);
    assert!(t.drain().is_empty(), "two failures change nothing");
    assert!(t.c.healthy(KEY));
    assert_eq!(
        t.c.status_lines(),
        vec!["check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: ok, failed 2/3"]
    );
    t.probe(false);
    assert_eq!(t.elapsed(), ms(6010));
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Warn,
                "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: failing (3/3)"
            ),
            log(
                Level::Warn,
                "IPaddr::192.168.0.254/24/eth0: check failing: giving the group to the peer"
            ),
            give_away(),
            health(false),
        ]
    );
    assert!(!t.c.healthy(KEY));
    assert_eq!(t.c.state(CheckId(0)), Some(CheckState::Failing));
    // The next probe starts one interval after the give-away.
    assert_eq!(t.c.poll_timeout(), Some(t.now + ms(2000)));
    t.c.set_holding(KEY, false);
    assert!(t.drain().is_empty());
    t.probe(true);
    assert!(t.drain().is_empty());
    assert!(!t.c.healthy(KEY), "one success of rise 2 is not enough");
    assert_eq!(
        t.c.status_lines(),
        vec!["check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: failing, ok 1/2; given away until ok (1/2)"]
    );
    t.probe(true);
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Info,
                "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: ok again (2/2)"
            ),
            log(
                Level::Info,
                "IPaddr::192.168.0.254/24/eth0: checks ok again: fit to hold the group again"
            ),
            health(true),
        ]
    );
    assert!(t.c.healthy(KEY));
    assert_eq!(
        t.c.status_lines(),
        vec!["check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: ok"]
    );
}

#[test]
fn unknown_until_the_first_result_and_counted_healthy() {
    let mut t = T::new(vec![spec(0, KEY)]);
    assert_eq!(t.c.state(CheckId(0)), Some(CheckState::Unknown));
    assert!(t.c.healthy(KEY));
    assert_eq!(
        t.c.status_lines(),
        vec![
            "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: unknown (no result yet)"
        ]
    );
    // Failures from unknown: failing after fall.
    t.probes(false, 2);
    assert_eq!(t.c.state(CheckId(0)), Some(CheckState::Unknown));
    assert!(t.drain().is_empty());
    t.probe(false);
    assert_eq!(t.c.state(CheckId(0)), Some(CheckState::Failing));
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Warn,
                "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: failing (3/3)"
            ),
            health(false)
        ]
    );
    // Many more failures: no more logs (not at every probe).
    t.probes(false, 10);
    assert!(t.drain().is_empty());
    assert_eq!(
        t.c.status_lines(),
        vec!["check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: failing (3/3)"]
    );
    // A success then a failure: the rise count starts again.
    t.probe(true);
    t.probe(false);
    t.probe(true);
    assert!(t.drain().is_empty());
    t.probe(true);
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Info,
                "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: ok again (2/2)"
            ),
            health(true)
        ]
    );
    // Repeated successes log nothing.
    t.probes(true, 5);
    assert!(t.drain().is_empty());
}

#[test]
fn failing_while_not_holding_only_makes_the_node_unfit() {
    let mut t = T::new(vec![spec(0, KEY)]);
    t.c.set_peer_fit(t.now, KEY, true);
    t.probes(false, 8);
    assert!(!t.c.healthy(KEY));
    assert_eq!(t.count(|a| matches!(a, CheckAction::GiveAway(_))), 0);
    t.drain();
    assert_eq!(t.count(|a| matches!(a, CheckAction::GiveAway(_))), 0);
    assert_eq!(t.count(|a| matches!(a, CheckAction::RestartGroup(_))), 0);
    assert_eq!(t.count(|a| *a == health(false)), 1);
    t.probes(true, 2);
    t.drain();
    assert!(t.c.healthy(KEY));
    assert_eq!(t.count(|a| *a == health(true)), 1);
    // No "fit again" line: nothing was given away.
    assert_eq!(
        t.count(|a| matches!(a, CheckAction::Log(_, s) if s.contains("fit to hold"))),
        0
    );
}

#[test]
fn restarts_then_give_away() {
    let mut s = spec(0, KEY);
    s.restarts = 2;
    let mut t = T::holding(vec![s]);
    t.probes(false, 3);
    let a = t.drain();
    assert_eq!(
        a,
        vec![
            log(
                Level::Warn,
                "check tcp 127.0.0.1:12345 for IPaddr::192.168.0.254/24/eth0: failing (3/3)"
            ),
            log(
                Level::Warn,
                "IPaddr::192.168.0.254/24/eth0: check failing: restarting the group here (1/2)"
            ),
            restart(),
            health(false),
        ]
    );
    // Probes pause during the restart.
    assert_eq!(t.c.poll_timeout(), None);
    assert_eq!(t.c.poll_probe(t.now + ms(60_000)), None);
    assert!(t
        .c
        .status_lines()
        .first()
        .unwrap()
        .ends_with("failing (3/3); restarting the group (1/2)"));
    t.now += ms(5000);
    t.c.group_restarted(t.now, KEY, true);
    assert_eq!(
        t.drain(),
        vec![log(
            Level::Info,
            "IPaddr::192.168.0.254/24/eth0: restarted locally (1/2): checking it again"
        )]
    );
    // Probing resumes one interval later, with fresh counts: fall new failures.
    assert_eq!(t.c.poll_timeout(), Some(t.now + ms(2000)));
    let restarted_at = t.now;
    t.probes(false, 2);
    assert!(t.drain().is_empty());
    t.probe(false);
    assert_eq!(t.now - restarted_at, ms(6010));
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Warn,
                "IPaddr::192.168.0.254/24/eth0: check failing: restarting the group here (2/2)"
            ),
            restart()
        ]
    );
    t.c.group_restarted(t.now, KEY, true);
    t.drain();
    t.probes(false, 3);
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Warn,
                "IPaddr::192.168.0.254/24/eth0: check failing after 2 local restart(s): giving the group to the peer"
            ),
            give_away()
        ]
    );
    // Still failing and still holding: no second give-away, no more restarts.
    t.probes(false, 9);
    assert!(t.drain().is_empty());
    assert_eq!(t.count(|a| *a == restart()), 2);
    assert_eq!(t.count(|a| *a == give_away()), 1);
}

#[test]
fn a_restart_that_helps_ends_the_episode() {
    let mut s = spec(0, KEY);
    s.restarts = 1;
    let mut t = T::holding(vec![s]);
    for round in 1..=3 {
        t.probes(false, 3);
        assert!(t.drain().contains(&restart()), "round {round}");
        t.c.group_restarted(t.now, KEY, true);
        t.probes(true, 2);
        let a = t.drain();
        assert!(a.contains(&health(true)), "round {round}: {a:?}");
        assert!(t.c.healthy(KEY));
    }
    assert_eq!(t.count(|a| *a == restart()), 3);
    assert_eq!(t.count(|a| *a == give_away()), 0);
}

#[test]
fn a_failed_restart_gives_the_group_away_at_once() {
    let mut s = spec(0, KEY);
    s.restarts = 3;
    let mut t = T::holding(vec![s]);
    t.probes(false, 3);
    t.drain();
    t.c.group_restarted(t.now, KEY, false);
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Error,
                "IPaddr::192.168.0.254/24/eth0: local restart failed (1/3): no more restarts"
            ),
            log(
                Level::Warn,
                "IPaddr::192.168.0.254/24/eth0: check failing after 1 local restart(s): giving the group to the peer"
            ),
            give_away()
        ]
    );
    // A second report of the same restart is ignored.
    t.c.group_restarted(t.now, KEY, true);
    assert!(t.drain().is_empty());
}

#[test]
fn results_of_probes_running_at_a_restart_are_ignored() {
    let mut a = spec(0, KEY);
    a.restarts = 1;
    let mut b = spec(1, KEY);
    b.interval = ms(2000);
    let t0 = Instant::now();
    let mut c = Checks::new(vec![a, b], t0);
    c.set_holding(KEY, true);
    c.set_peer_fit(t0, KEY, true);
    let mut now = t0;
    for _ in 0..3 {
        let x = c.poll_probe(now).unwrap();
        let y = c.poll_probe(now).unwrap();
        assert_eq!(c.poll_probe(now), None, "one probe per check at a time");
        c.probe_done(now + ms(10), x.0, x.0 != CheckId(0));
        // Check 1 is still running when check 0 fails its third time.
        if now == t0 + ms(4000) {
            let acts: Vec<_> = std::iter::from_fn(|| c.poll_action()).collect();
            assert!(acts.contains(&CheckAction::RestartGroup(KEY.into())));
            c.probe_done(now + ms(20), y.0, false);
        } else {
            c.probe_done(now + ms(20), y.0, true);
        }
        now += ms(2000);
    }
    // Its failure was not counted.
    assert_eq!(c.state(CheckId(1)), Some(CheckState::Ok));
    assert!(
        c.status_lines()[1].ends_with(": ok; restarting the group (1/1)"),
        "{:?}",
        c.status_lines()
    );
}

#[test]
fn without_a_fit_peer_the_holder_keeps_the_group_and_says_so_at_each_change() {
    let mut t = T::new(vec![spec(0, KEY)]);
    t.c.set_holding(KEY, true);
    t.probes(false, 3);
    let keep = log(
        Level::Warn,
        "IPaddr::192.168.0.254/24/eth0: check failing, but no peer is fit to take the group: keeping it",
    );
    assert!(t.drain().contains(&keep));
    assert!(t.c.status_lines()[0].ends_with("; kept here: no peer is fit to take it"));
    // Not at every probe.
    t.probes(false, 20);
    assert!(t.drain().is_empty());
    // A peer that becomes fit gets the group.
    t.c.set_peer_fit(t.now, KEY, true);
    assert_eq!(
        t.drain(),
        vec![
            log(
                Level::Warn,
                "IPaddr::192.168.0.254/24/eth0: check failing: giving the group to the peer"
            ),
            give_away()
        ]
    );
    // The peer died before taking it: we still hold it; the peer's fitness changes.
    t.c.set_peer_fit(t.now, KEY, false);
    assert!(
        t.drain().is_empty(),
        "already given away in this holding episode"
    );
    // We lost it and took it back (the peer died): counts start afresh.
    t.c.set_holding(KEY, false);
    t.c.set_holding(KEY, true);
    assert_eq!(
        t.drain(),
        vec![log(
            Level::Warn,
            "IPaddr::192.168.0.254/24/eth0: held here while its check is failing: acting after new failures"
        )]
    );
    t.probes(false, 2);
    assert!(t.drain().is_empty());
    t.probe(false);
    assert_eq!(t.drain(), vec![keep.clone()]);
    // Fit, unfit, fit: the first change gives it away.
    t.c.set_peer_fit(t.now, KEY, true);
    assert!(t.drain().contains(&give_away()));
    assert_eq!(t.count(|a| *a == give_away()), 2);
    assert_eq!(t.count(|a| *a == keep), 2);
}

#[test]
fn recovery_ends_the_episode_and_a_new_failure_starts_over() {
    let mut t = T::new(vec![spec(0, KEY)]);
    t.c.set_holding(KEY, true);
    t.probes(false, 3);
    t.drain();
    // A second unfit report is no change.
    t.c.set_peer_fit(t.now, KEY, false);
    assert!(t.drain().is_empty());
    // Recovery ends the episode: a later failure starts again from the first step.
    t.probes(true, 2);
    assert!(t.drain().contains(&health(true)));
    t.probes(false, 3);
    let a = t.drain();
    assert!(
        a.iter()
            .any(|x| matches!(x, CheckAction::Log(_, s) if s.ends_with("keeping it"))),
        "{a:?}"
    );
}

#[test]
fn deadlines_non_overlap_and_late_results() {
    let mut s = spec(0, KEY);
    s.fall = 1;
    let t0 = Instant::now();
    let mut c = Checks::new(vec![s], t0);
    let (id, deadline) = c.poll_probe(t0).unwrap();
    assert_eq!((id, deadline), (CheckId(0), t0 + ms(1000)));
    // Still running: nothing new even long after the interval, and the deadline is the timeout.
    assert_eq!(c.poll_probe(t0 + ms(999)), None);
    assert_eq!(c.poll_timeout(), Some(deadline));
    assert_eq!(c.poll_expired(t0 + ms(999)), None);
    assert_eq!(c.poll_expired(deadline), Some(CheckId(0)));
    assert_eq!(c.state(id), Some(CheckState::Failing));
    // A result for the expired probe is ignored.
    c.probe_done(deadline + ms(1), id, true);
    assert_eq!(c.state(id), Some(CheckState::Failing));
    // An unknown id is ignored.
    c.probe_done(deadline, CheckId(77), true);
    // Next probe: interval after the start of the previous one.
    assert_eq!(c.poll_timeout(), Some(t0 + ms(2000)));
    let (_, d2) = c.poll_probe(t0 + ms(2000)).unwrap();
    // A success reported after the deadline is a failure.
    c.probe_done(d2 + ms(1), id, true);
    assert_eq!(c.state(id), Some(CheckState::Failing));
    // A probe that ran longer than the interval: the next starts when it ended.
    let mut s = spec(0, KEY);
    s.timeout = ms(5000);
    let mut c = Checks::new(vec![s], t0);
    c.poll_probe(t0).unwrap();
    c.probe_done(t0 + ms(3000), CheckId(0), true);
    assert_eq!(c.poll_timeout(), Some(t0 + ms(3000)));
    assert_eq!(c.state(CheckId(0)), Some(CheckState::Ok));
}

#[test]
fn several_checks_of_one_group() {
    let mut a = spec(0, KEY);
    a.restarts = 0;
    let mut b = spec(1, KEY);
    b.restarts = 1;
    b.fall = 1;
    let other = spec(2, "other");
    let mut t = T::holding(vec![a, b, other]);
    assert_eq!(t.c.group_keys().collect::<Vec<_>>(), vec![KEY, "other"]);
    // Only check 1 fails: the group is bad; the largest restarts applies.
    t.step(|id| id != CheckId(1));
    let acts = t.drain();
    assert!(acts.contains(&restart()), "{acts:?}");
    assert!(!t.c.healthy(KEY));
    assert!(t.c.healthy("other"));
    t.c.group_restarted(t.now, KEY, true);
    t.drain();
    let restarted = t.now;
    // Probing of the group resumes an interval later; "other" goes on meanwhile.
    let mut gave = None;
    for _ in 0..4 {
        let ids = t.step(|id| id != CheckId(1));
        if ids.contains(&CheckId(1)) {
            assert!(t.now - restarted >= ms(2000));
        }
        if t.drain().contains(&give_away()) {
            gave = Some(t.now);
            break;
        }
    }
    let gave = gave.expect("no give-away");
    // Rise again: every check of the group must rise, from probes after the give-away.
    let mut fit = None;
    for _ in 0..6 {
        t.step(|_| true);
        if t.drain().contains(&health(true)) {
            fit = Some(t.now);
            break;
        }
    }
    let fit = fit.expect("never fit again");
    assert!(fit - gave >= ms(4000), "{:?}", fit - gave);
    // A group without checks is always fit.
    assert!(t.c.healthy("no-such-group"));
    // Unknown keys are ignored.
    t.c.set_holding("no-such-group", true);
    t.c.set_peer_fit(t.now, "no-such-group", true);
    t.c.group_restarted(t.now, "no-such-group", true);
    assert!(t.drain().is_empty());
}

#[test]
fn zero_settings_are_read_as_the_smallest() {
    let mut s = spec(0, KEY);
    s.fall = 0;
    s.rise = 0;
    s.interval = Duration::ZERO;
    s.timeout = Duration::ZERO;
    let t0 = Instant::now();
    let mut c = Checks::new(vec![s], t0);
    let (_, d) = c.poll_probe(t0).unwrap();
    assert_eq!(d, t0 + ms(1));
    c.probe_done(t0, CheckId(0), false);
    assert_eq!(c.state(CheckId(0)), Some(CheckState::Failing));
    assert_eq!(c.poll_timeout(), Some(t0 + ms(1)));
    c.poll_probe(t0 + ms(1)).unwrap();
    c.probe_done(t0 + ms(1), CheckId(0), true);
    assert_eq!(c.state(CheckId(0)), Some(CheckState::Ok));
    assert!(Checks::new(vec![], t0).is_empty());
    assert_eq!(Checks::new(vec![], t0).poll_timeout(), None);
}

#[test]
fn after_a_failed_restart_no_more_restarts_even_without_a_fit_peer() {
    let mut s = spec(0, KEY);
    s.restarts = 3;
    let mut t = T::new(vec![s]);
    t.c.set_holding(KEY, true);
    t.probes(false, 3);
    assert!(t.drain().contains(&restart()));
    t.c.group_restarted(t.now, KEY, false);
    let keep = log(
        Level::Warn,
        "IPaddr::192.168.0.254/24/eth0: check failing, but no peer is fit to take the group: keeping it",
    );
    assert!(t.drain().contains(&keep));
    // Fresh failures: no second restart, the group is kept (logged again: a new step).
    t.probes(false, 3);
    assert_eq!(t.drain(), vec![keep.clone()]);
    assert_eq!(t.count(|a| *a == restart()), 1);
    t.c.set_peer_fit(t.now, KEY, true);
    assert!(t.drain().contains(&give_away()));
}

#[test]
fn given_away_until_every_check_of_the_group_rises_after_it() {
    let a = spec(0, KEY);
    let mut b = spec(1, KEY);
    b.rise = 3;
    let mut t = T::holding(vec![a, b]);
    // Check 0 fails, check 1 stays ok.
    for _ in 0..3 {
        t.step(|id| id == CheckId(1));
    }
    assert!(t.drain().contains(&give_away()));
    t.c.set_holding(KEY, false);
    // Check 0 rises after 2, but check 1 must count 3 successes again.
    t.step(|_| true);
    t.step(|_| true);
    let a = t.drain();
    assert!(a
        .iter()
        .any(|x| matches!(x, CheckAction::Log(_, s) if s.ends_with("ok again (2/2)"))));
    assert!(!a.contains(&health(true)), "{a:?}");
    assert!(!t.c.healthy(KEY));
    assert!(
        t.c.status_lines()[1].ends_with(": ok; given away until ok (2/3)"),
        "{:?}",
        t.c.status_lines()
    );
    t.step(|_| true);
    assert!(t.drain().contains(&health(true)));
    assert!(t.c.healthy(KEY));
}
