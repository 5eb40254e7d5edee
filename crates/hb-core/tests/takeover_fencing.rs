//! Fencing (issue #12) in virtual time: with a STONITH device, a node declared dead that
//! may hold resources is reset before its groups are taken, and its groups are taken only
//! once the reset succeeded (2.0.8's `hb_rsc_recover_dead_resources`, `Initiate_Reset`,
//! `StonithProcessDied`). The holder of a's group is frozen (SIGSTOP): it still runs the
//! group, so the group must never be started elsewhere before a's reset.

mod takeover_sim;

use std::time::Duration;

use hb_core::fence::{FenceResult, RETRY, STATUS_INTERVAL};
use hb_core::takeover::{Action, AutoFailback, GroupDef, Takeover, TakeoverConfig};
use takeover_sim::{group, summary, Sim};

/// a's group.
const GA: &str = "IPaddr::198.51.100.254/24/eth0";
/// b's group.
const GB: &str = "IPaddr::198.51.100.253/24/eth0";

const MODES: [AutoFailback; 3] = [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy];

/// Two nodes with a STONITH device, each running its own group, settled.
fn cluster(mode: AutoFailback, seed: u64) -> Sim {
    let mut s = Sim::new(
        &["a", "b"],
        vec![group("a", GA), group("b", GB)],
        mode,
        seed,
    );
    s.fencing = true;
    s.start(0);
    s.run_for(Duration::from_millis(1));
    s.start(1);
    // The device's hourly status check keeps a timer pending: run rather than settle.
    s.run_for(Duration::from_secs(20));
    assert_eq!(s.holders(GA), ["a"], "{}", s.dump());
    assert_eq!(s.holders(GB), ["b"], "{}", s.dump());
    s
}

/// Freezes a; returns when (since the start) b declares it dead: the dead time later.
fn freeze_a(s: &mut Sim) -> Duration {
    s.freeze(0);
    s.run_for(s.deadtime + Duration::from_millis(1));
    let t = s
        .fences_of(1, "a")
        .first()
        .copied()
        .unwrap_or_else(|| panic!("b never asked for a reset of a\n{}", s.dump()));
    t
}

/// The group never ran on two nodes at once, and b never took it unfenced.
fn safe(s: &Sim) {
    assert!(s.violations.is_empty(), "{:?}\n{}", s.violations, s.dump());
    assert!(
        !s.logged(1, "No STONITH device configured."),
        "{}",
        s.dump()
    );
}

#[test]
fn a_frozen_holder_is_reset_before_its_group_is_taken() {
    for mode in MODES {
        let mut s = cluster(mode, 1);
        let t_fence = freeze_a(&mut s);
        // While the reset runs (2 s), a still holds its group and b does not start it.
        s.run_for(s.fence_time - Duration::from_millis(10));
        assert_eq!(s.holders(GA), ["a"], "{mode:?}\n{}", s.dump());
        assert!(s.starts_of(1, GA).is_empty(), "{mode:?}\n{}", s.dump());
        s.run_for(Duration::from_secs(5));
        assert_eq!(s.holders(GA), ["b"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(GB), ["b"], "{mode:?}\n{}", s.dump());
        let start = s.starts_of(1, GA)[0];
        assert!(
            start >= t_fence + s.fence_time,
            "{mode:?}: started at {start:?}, reset asked at {t_fence:?}\n{}",
            s.dump()
        );
        // The original's message after the reset, before anything is taken.
        let sent = s.sent_since(1, t_fence);
        assert_eq!(
            sent.iter()
                .filter(|m| m.starts_with("t=stonith"))
                .collect::<Vec<_>>(),
            ["t=stonith node=a result=OK"],
            "{mode:?}"
        );
        assert_eq!(s.fences_of(1, "a").len(), 1, "{mode:?}");
        assert!(s.logged(1, "Resources being acquired from a."), "{mode:?}");
        safe(&s);
    }
}

#[test]
fn a_failing_reset_is_retried_every_5_s_and_nothing_is_taken() {
    for mode in MODES {
        let mut s = cluster(mode, 2);
        s.fence_failures = 3;
        let t0 = freeze_a(&mut s);
        // Attempts at +0, +7 and +14 s (2 s each, 5 s between), the fourth due at +21 s.
        s.run_for(Duration::from_millis(20_800));
        // Three attempts so far, each failed, each after the previous one's end + 5 s.
        let f = s.fences_of(1, "a");
        assert_eq!(f.len(), 3, "{mode:?}\n{}", s.dump());
        for w in f.windows(2) {
            assert_eq!(w[1] - w[0], s.fence_time + RETRY, "{mode:?}: {f:?}");
        }
        assert!(
            s.starts_of(1, GA).is_empty(),
            "{mode:?}: taken unfenced\n{}",
            s.dump()
        );
        assert_eq!(s.holders(GA), ["a"], "{mode:?}");
        let fails = s
            .logs(1)
            .iter()
            .filter(|(_, _, l)| l == "STONITH of a failed.  Retrying...")
            .count();
        assert_eq!(fails, 3, "{mode:?}");
        let sent = s.sent_since(1, t0);
        assert_eq!(
            sent.iter()
                .filter(|m| *m == "t=stonith node=a result=bad")
                .count(),
            3,
            "{mode:?}: {sent:?}"
        );
        // The fourth attempt succeeds: then, and only then, the group moves.
        s.run_for(Duration::from_secs(10));
        assert_eq!(s.fences_of(1, "a").len(), 4, "{mode:?}");
        assert_eq!(s.holders(GA), ["b"], "{mode:?}\n{}", s.dump());
        assert!(s.starts_of(1, GA)[0] >= s.fences_of(1, "a")[3] + s.fence_time);
        safe(&s);
    }
}

#[test]
fn a_reset_that_always_fails_never_lets_the_group_be_taken() {
    let mut s = cluster(AutoFailback::On, 3);
    s.fence_failures = u32::MAX;
    freeze_a(&mut s);
    s.run_for(Duration::from_secs(120));
    // 2 s per attempt + 5 s between: 18 attempts in 2 minutes.
    let n = s.fences_of(1, "a").len();
    assert!((17..=18).contains(&n), "{n} attempts\n{}", s.dump());
    assert!(s.starts_of(1, GA).is_empty(), "{}", s.dump());
    assert_eq!(s.holders(GA), ["a"]);
    assert!(s.tk(1).fencing("a"));
    safe(&s);
}

#[test]
fn a_slow_reset_is_waited_for() {
    for mode in MODES {
        let mut s = cluster(mode, 4);
        s.fence_time = Duration::from_secs(40);
        let t0 = freeze_a(&mut s);
        s.run_for(Duration::from_secs(39));
        assert!(s.starts_of(1, GA).is_empty(), "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(GA), ["a"], "{mode:?}");
        s.run_for(Duration::from_secs(2));
        assert_eq!(s.holders(GA), ["b"], "{mode:?}\n{}", s.dump());
        assert!(s.starts_of(1, GA)[0] >= t0 + Duration::from_secs(40));
        assert_eq!(
            s.fences_of(1, "a").len(),
            1,
            "{mode:?}: one reset, no second on top"
        );
        safe(&s);
    }
}

#[test]
fn a_peer_back_during_a_failing_reset_is_not_reset_again_and_keeps_its_group() {
    for mode in MODES {
        let mut s = cluster(mode, 5);
        s.fence_failures = u32::MAX;
        freeze_a(&mut s);
        // The first attempt fails at +2 s; a is back at +4 s, before the retry at +7 s.
        s.run_for(Duration::from_secs(4));
        s.thaw(0);
        s.run_for(Duration::from_secs(30));
        assert_eq!(
            s.fences_of(1, "a").len(),
            1,
            "{mode:?}: retried\n{}",
            s.dump()
        );
        assert!(
            s.logged(1, "STONITH of a not retried: a is alive again"),
            "{mode:?}\n{}",
            s.dump()
        );
        assert!(!s.tk(1).fencing("a"), "{mode:?}");
        assert!(s.starts_of(1, GA).is_empty(), "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(GA), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(GB), ["b"], "{mode:?}\n{}", s.dump());
        safe(&s);
    }
}

#[test]
fn a_peer_back_while_its_reset_runs_is_reset_and_its_group_taken() {
    for mode in MODES {
        let mut s = cluster(mode, 6);
        s.fence_time = Duration::from_secs(3);
        freeze_a(&mut s);
        // Heard again 1.5 s into the reset: the reset goes on (a device cannot be called
        // back); once it succeeded a is gone and b takes its group, as the original does.
        s.run_for(Duration::from_millis(1500));
        s.thaw(0);
        s.run_for(Duration::from_secs(10));
        assert!(!s.nodes[0].up, "{mode:?}: a was reset");
        assert_eq!(s.holders(GA), ["b"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(GB), ["b"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.fences_of(1, "a").len(), 1, "{mode:?}");
        safe(&s);
    }
}

#[test]
fn a_crashed_node_is_reset_too_and_one_holding_nothing_is_not() {
    let mut s = cluster(AutoFailback::On, 7);
    s.crash(0);
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.fences_of(1, "a").len(), 1, "{}", s.dump());
    assert_eq!(s.holders(GA), ["b"]);
    // a restarts without its group (auto_failback off keeps it on b), then dies holding
    // nothing: no reset, the original's `unneeded`.
    let mut s = cluster(AutoFailback::Off, 8);
    s.crash(0);
    s.run_for(Duration::from_secs(5));
    s.start(0);
    s.run_for(Duration::from_secs(20));
    assert_eq!(s.holders(GA), ["b"], "{}", s.dump());
    let since = s.elapsed();
    s.crash(0);
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.fences_of(1, "a").len(), 1, "{}", s.dump());
    assert!(s
        .sent_since(1, since)
        .contains(&"t=stonith node=a result=unneeded".to_string()));
    assert!(s.logged(1, "Dead node a gave up resources."));
    safe(&s);
}

#[test]
fn the_device_is_checked_at_comm_up_and_every_hour() {
    let mut s = cluster(AutoFailback::On, 9);
    s.fence_status_ok = false;
    let checks = |s: &Sim| s.times_of(1, |a| matches!(a, Action::FenceStatus));
    assert_eq!(checks(&s).len(), 1, "{}", s.dump());
    s.run_for(STATUS_INTERVAL * 2 + Duration::from_secs(10));
    let c = checks(&s);
    assert_eq!(c.len(), 3, "{c:?}");
    // Each check ends 1 s after it began (the simulated device), the next one an hour later.
    assert_eq!(c[2] - c[1], STATUS_INTERVAL + Duration::from_secs(1));
    assert!(s.logged(1, "STONITH status operation failed."));
    assert!(s.logged(1, "This may mean that the STONITH device has failed!"));
    // Without a device, never.
    let mut s = Sim::new(&["a", "b"], vec![group("a", GA)], AutoFailback::On, 10);
    s.start(0);
    s.start(1);
    s.run_for(Duration::from_secs(30));
    assert!(checks(&s).is_empty());
}

/// b of a three-node cluster (a, b, c) with a STONITH device, c's group running on c.
fn node_b_of_three() -> (Takeover, std::time::Instant) {
    let now = std::time::Instant::now();
    let cfg = TakeoverConfig {
        me: "b".into(),
        nodes: vec!["a".into(), "b".into(), "c".into()],
        groups: vec![GroupDef {
            node: "c".into(),
            key: GA.into(),
            resources: vec![GA.into()],
        }],
        auto_failback: AutoFailback::On,
    };
    let mut tk = Takeover::new(cfg, now);
    tk.set_fencing(true);
    tk.comm_up(now, &["a".into(), "c".into()]);
    (tk, now)
}

fn actions(tk: &mut Takeover) -> Vec<Action> {
    let mut v = Vec::new();
    while let Some(a) = tk.poll_action() {
        v.push(a);
    }
    v
}

#[test]
fn a_peers_stonith_message_changes_nothing() {
    // 2.0.8 hands a received `stonith` message to clients and rc.d scripts only: a node
    // that resets the dead node itself goes on with its own reset, whatever another node
    // says it did; so do we.
    let (mut tk, now) = node_b_of_three();
    let mut m = hb_wire::Message::with_type("resource");
    m.push_str("rsc_hold", "local")
        .push_str("rtype", "full")
        .push_str("isstable", "1");
    tk.message(now, "c", &m);
    actions(&mut tk);
    tk.node_status(now, "c", "dead");
    tk.node_dead(now, "c");
    let a = actions(&mut tk);
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::Fence { node } if node == "c")),
        "{a:?}"
    );
    for result in ["OK", "bad", "unneeded", "n_stnth"] {
        let mut st = hb_wire::Message::with_type("stonith");
        st.push_str("node", "c").push_str("result", result);
        tk.message(now, "a", &st);
        let a = actions(&mut tk);
        assert!(
            !a.iter().any(|x| matches!(
                x,
                Action::StartGroup { .. } | Action::Fence { .. } | Action::Send(_)
            )),
            "{result}: {a:?}"
        );
        assert!(tk.fencing("c"));
    }
    // Our own reset's end decides.
    tk.fence_done(now, "c", FenceResult::Ok);
    let a = actions(&mut tk);
    let sent: Vec<String> = a
        .iter()
        .filter_map(|x| match x {
            Action::Send(m) => Some(summary(m)),
            _ => None,
        })
        .collect();
    assert_eq!(sent[0], "t=stonith node=c result=OK", "{sent:?}");
    assert!(!tk.fencing("c"));
}

#[test]
fn results_are_read_from_the_stonith_commands_exit_status() {
    assert_eq!(FenceResult::from_exit(Some(0)), FenceResult::Ok);
    assert_eq!(FenceResult::from_exit(Some(4)), FenceResult::BadHost);
    for c in [Some(1), Some(5), Some(8), Some(127), None] {
        assert_eq!(FenceResult::from_exit(c), FenceResult::Failed);
    }
    assert_eq!(
        [FenceResult::Ok, FenceResult::BadHost, FenceResult::Failed].map(FenceResult::word),
        ["OK", "badhost", "bad"]
    );
}
