//! The v1 takeover flows of PROTOCOL.md section 6 on two and three simulated nodes.

mod takeover_sim;

use std::time::Duration;

use hb_core::takeover::{rsc, Action, AutoFailback, ResourceState};
use takeover_sim::{group, Sim};

const VIP: &str = "IPaddr::198.51.100.254/24/eth0";
const A: &str = "IPaddr::198.51.100.254/24/eth0";
const B: &str = "IPaddr::198.51.100.253/24/eth0";
const C: &str = "IPaddr::198.51.100.252/24/eth0";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Two nodes, a group each, both started together and settled.
fn pair(mode: AutoFailback) -> Sim {
    let mut s = Sim::new(&["a", "b"], vec![group("a", A), group("b", B)], mode, 1);
    s.start(0);
    s.run_for(ms(1));
    s.start(1);
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(A), ["a"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"], "{}", s.dump());
    assert!(
        s.check_exactly_one().is_empty(),
        "{:?}",
        s.check_exactly_one()
    );
    s
}

fn ok(s: &Sim) {
    let bad = s.check_exactly_one();
    assert!(bad.is_empty(), "{bad:?}\n{}", s.dump());
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn startup_resembles_the_capture() {
    // crc.jsonl: haresources `a IPaddr::198.51.100.254/24/eth0`, auto_failback on. b's
    // communication comes up first; a's exactly when b's `starting` reaches it, so each
    // sees the other's `starting` and a answers (and enters RSCRCVD) first.
    let mut s = Sim::new(&["a", "b"], vec![group("a", VIP)], AutoFailback::On, 1);
    s.start_after(1, ms(1000));
    s.start_after(0, ms(1001));
    assert!(s.settle(), "{}", s.dump());

    let a: Vec<String> = s.sent(0).into_iter().map(|(_, m)| m).collect();
    let b: Vec<String> = s.sent(1).into_iter().map(|(_, m)| m).collect();
    // b's side is message for message the capture's (1.03-11.27).
    assert_eq!(
        b,
        strs(&[
            "t=starting",
            "t=resource rsc_hold=none rtype=full isstable=0",
            "t=resource rsc_hold=none rtype=full isstable=0",
            "t=resource rsc_hold=local rtype=full isstable=1",
            "t=resource rsc_hold=local rtype=full isstable=1 info=req_our_resources()",
        ]),
        "{}",
        s.dump()
    );
    // a's: the same messages as the capture (1.20-11.33); the original's
    // req_our_resources child answers later than our work item, so the last
    // `isstable=1` answer comes after, not before, the child's messages.
    assert_eq!(
        a,
        strs(&[
            "t=starting",
            "t=resource rsc_hold=none rtype=full isstable=0",
            "t=resource rsc_hold=local rtype=full isstable=1",
            &format!("t=ip-request-resp dest=a ipaddr={VIP} weown=yes ok=OK"),
            "t=resource rsc_hold=local rtype=full isstable=1 info=req_our_resources()",
            "t=resource rsc_hold=local rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    // The 10 s timer: a's `local` report comes 10 s after its first `resource` arrived.
    let sent = s.sent(0);
    let first_local = sent
        .iter()
        .find(|(_, m)| m.contains("rsc_hold=local"))
        .map(|(t, _)| *t)
        .unwrap();
    assert!(
        first_local >= ms(11_000) && first_local < ms(11_010),
        "{first_local:?}"
    );
    assert!(s.logged(0, "local resource transition completed."));
    assert!(s.logged(1, "remote resource transition completed."));
    assert!(s.logged(0, "Initial resource acquisition complete"));
    assert!(s.logged(1, "Initial resource acquisition complete"));
    // a holds its group, b nothing.
    assert_eq!(s.holders(VIP), ["a"]);
    assert_eq!(s.starts_of(0, VIP).len(), 1);
    assert_eq!(s.tk(0).state(), ResourceState::Stable);
    assert_eq!(s.tk(1).state(), ResourceState::Stable);
    assert_eq!(s.tk(0).resource_status(), "local");
    ok(&s);
}

#[test]
fn startup_alone_takes_everything() {
    for mode in [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy] {
        let mut s = Sim::new(&["a", "b"], vec![group("a", A), group("b", B)], mode, 2);
        s.start(0);
        assert!(s.settle(), "{}", s.dump());
        assert_eq!(s.holders(A), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(B), ["a"], "{mode:?}\n{}", s.dump());
        let sent = s.sent_since(0, Duration::ZERO);
        assert!(
            sent.contains(&"t=stonith node=b result=n_stnth".to_string()),
            "{sent:?}"
        );
        assert!(s.logged(0, "No STONITH device configured."));
        assert!(s.logged(0, "Shared disks are not protected."));
        assert!(s.logged(0, "Resources being acquired from b."));
        if mode == AutoFailback::Legacy {
            assert!(sent
                .iter()
                .all(|m| !m.starts_with("t=resource") && m != "t=starting"));
        } else {
            assert!(s.logged(0, "mach_down takeover complete."));
        }
        ok(&s);
    }
}

#[test]
fn both_start_together_each_takes_its_own() {
    for mode in [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy] {
        let s = pair(mode);
        ok(&s);
    }
}

#[test]
fn crash_of_holder_peer_takes_over_at_once() {
    for mode in [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy] {
        let mut s = pair(mode);
        s.run_for(Duration::from_secs(5));
        let t_crash = s.elapsed();
        s.crash(0);
        assert!(s.settle(), "{}", s.dump());
        // b learns of the death `deadtime` later, probes a's address (silent: a crashed
        // with it) and starts a's group as soon as the probe ends: within deadtime +
        // 100 ms.
        let starts = s.starts_of(1, A);
        assert_eq!(
            starts,
            [t_crash + s.deadtime + s.probe_time],
            "{mode:?}\n{}",
            s.dump()
        );
        assert!(starts[0] <= t_crash + s.deadtime + Duration::from_millis(100));
        assert_eq!(s.holders(A), ["b"]);
        assert_eq!(s.holders(B), ["b"]);
        let sent = s.sent_since(1, t_crash);
        if mode == AutoFailback::Legacy {
            assert_eq!(
                sent,
                strs(&["t=stonith node=a result=n_stnth"]),
                "{}",
                s.dump()
            );
        } else {
            // crc.jsonl @ 99.83.
            assert_eq!(
                sent,
                strs(&[
                    "t=stonith node=a result=n_stnth",
                    "t=resource rsc_hold=all rtype=full isstable=1 info=req_our_resources()",
                    "t=resource rsc_hold=foreign info=mach_down",
                ]),
                "{}",
                s.dump()
            );
            assert!(s.logged(1, "mach_down takeover complete."));
            assert_eq!(s.tk(1).i_hold(), rsc::ALL);
        }
        ok(&s);
    }
}

#[test]
fn restart_with_auto_failback_on_fails_back() {
    let mut s = pair(AutoFailback::On);
    s.run_for(Duration::from_secs(5));
    s.crash(0);
    assert!(s.settle());
    assert_eq!(s.holders(A), ["b"]);
    s.run_for(Duration::from_secs(5));
    let t = s.elapsed();
    s.start(0);
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(A), ["a"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    // crc.jsonl @ 61.16-61.96 (b is the holder there too).
    assert_eq!(
        s.sent_since(1, t),
        strs(&[
            "t=resource rsc_hold=all rtype=full isstable=1",
            "t=resource rsc_hold=all rtype=full isstable=1",
            "t=ask_resources rsc_hold=foreign info=me",
            "t=resource rsc_hold=local rtype=full isstable=0 info=standby",
            "t=ask_resources rsc_hold=foreign info=done",
            "t=resource rsc_hold=local rtype=full isstable=1",
            "t=resource rsc_hold=local rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    assert_eq!(
        s.sent_since(0, t),
        strs(&[
            "t=starting",
            "t=resource rsc_hold=none rtype=full isstable=0",
            "t=resource rsc_hold=none rtype=full isstable=1",
            "t=ask_resources rsc_hold=foreign info=other",
            "t=ask_resources rsc_hold=foreign info=done",
            "t=resource rsc_hold=local rtype=full isstable=1",
            "t=resource rsc_hold=local rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    assert_eq!(s.tk(0).i_hold(), rsc::LOCAL);
    assert_eq!(s.tk(1).i_hold(), rsc::LOCAL);
    ok(&s);
}

#[test]
fn restart_with_auto_failback_off_stays() {
    let mut s = pair(AutoFailback::Off);
    s.run_for(Duration::from_secs(5));
    s.crash(0);
    assert!(s.settle());
    s.start(0);
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(A), ["b"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    assert_eq!(s.tk(0).i_hold(), rsc::NONE);
    assert!(s.logged(0, "Local Resource acquisition completed. (none)"));
    ok(&s);
    // `hb_standby foreign` on the holder brings it home (r3 lab).
    s.standby(1, "foreign");
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(A), ["a"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    ok(&s);
}

#[test]
fn legacy_restart_gets_its_group_back_with_ip_request() {
    let mut s = pair(AutoFailback::Legacy);
    s.run_for(Duration::from_secs(5));
    s.crash(0);
    assert!(s.settle());
    assert_eq!(s.holders(A), ["b"]);
    let t = s.elapsed();
    s.start(0);
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(A), ["a"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    assert_eq!(
        s.sent_since(0, t),
        strs(&[&format!("t=ip-request ipaddr={A}")])
    );
    assert_eq!(
        s.sent_since(1, t),
        strs(&[&format!(
            "t=ip-request-resp dest=a ipaddr={A} weown=yes ok=OK"
        )])
    );
    ok(&s);
}

#[test]
fn legacy_refuses_standby() {
    let mut s = pair(AutoFailback::Legacy);
    s.standby(0, "all");
    assert!(s.settle());
    assert!(s.logged(0, "Standby mode only implemented when nice_failback on"));
    assert!(s.logged(1, "Standby mode only implemented when nice_failback on"));
    assert_eq!(s.holders(A), ["a"]);
    ok(&s);
}

/// Where each group ends after `hb_standby SET` on `node` from the steady state.
fn standby_case(mode: AutoFailback, node: usize, set: &str, want_a: &str, want_b: &str) {
    let mut s = pair(mode);
    s.run_for(Duration::from_secs(5));
    s.standby(node, set);
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(
        s.holders(A),
        [want_a],
        "{mode:?} standby {set} on {node}\n{}",
        s.dump()
    );
    assert_eq!(
        s.holders(B),
        [want_b],
        "{mode:?} standby {set} on {node}\n{}",
        s.dump()
    );
    for i in 0..2 {
        assert_eq!(
            s.tk(i).standby_state(),
            hb_core::takeover::StandbyState::Not
        );
        assert!(s.tk(i).is_stable(), "{}", s.dump());
    }
    ok(&s);
}

#[test]
fn standby_all_local_foreign_failback_on_either_node() {
    for mode in [AutoFailback::On, AutoFailback::Off] {
        standby_case(mode, 0, "all", "b", "b");
        standby_case(mode, 1, "all", "a", "a");
        standby_case(mode, 0, "local", "b", "b");
        standby_case(mode, 1, "local", "a", "a");
        // Foreign of a node holding only its own groups: nothing moves.
        standby_case(mode, 0, "foreign", "a", "b");
        standby_case(mode, 1, "failback", "a", "b");
    }
}

#[test]
fn standby_wire_matches_md5_capture() {
    // md5.jsonl @ 14.03-14.52: b (holding nothing) goes standby all; a holds a's group.
    let mut s = Sim::new(&["a", "b"], vec![group("a", VIP)], AutoFailback::On, 1);
    s.start_after(1, ms(1000));
    s.start_after(0, ms(1001));
    assert!(s.settle());
    let t = s.elapsed();
    s.standby(1, "all");
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(
        s.sent_since(1, t),
        strs(&[
            "t=ask_resources rsc_hold=all info=me",
            "t=resource rsc_hold=none rtype=full isstable=0 info=standby",
            "t=ask_resources rsc_hold=all info=done",
            "t=resource rsc_hold=none rtype=full isstable=1",
            "t=resource rsc_hold=none rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    // The capture has a's `resource` before its `done` (its own `done` looped back
    // before the datagram left); here it follows.
    assert_eq!(
        s.sent_since(0, t),
        strs(&[
            "t=ask_resources rsc_hold=all info=other",
            "t=ask_resources rsc_hold=all info=done",
            "t=resource rsc_hold=all rtype=full isstable=1",
            "t=resource rsc_hold=all rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    assert!(s.logged(0, "b wants to go standby [all]"));
    assert!(s.logged(1, "b wants to go standby [all]"));
    assert!(s.logged(1, "standby: a can take our all resources"));
    assert!(s.logged(1, "Local standby process completed [all]."));
    assert!(s.logged(0, "standby: acquire [all] resources from b"));
    assert!(s.logged(0, "Standby resource acquisition done [all]."));
    assert!(s.logged(1, "Other node completed standby takeover of all resources."));
    assert_eq!(s.tk(0).i_hold(), rsc::ALL);
    assert_eq!(s.tk(1).i_hold(), rsc::NONE);
    ok(&s);
    // md5.jsonl @ 20.21-20.83: `hb_takeover all` on b; a goes standby all, b takes all.
    s.run_for(Duration::from_secs(5));
    let t = s.elapsed();
    s.takeover(1, "all");
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(
        s.sent_since(1, t),
        strs(&[
            "t=hb_takeover rsc_hold=all",
            "t=ask_resources rsc_hold=all info=other",
            "t=ask_resources rsc_hold=all info=done",
            "t=resource rsc_hold=all rtype=full isstable=1",
            "t=resource rsc_hold=all rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    assert_eq!(
        s.sent_since(0, t),
        strs(&[
            "t=ask_resources rsc_hold=all info=me",
            "t=resource rsc_hold=none rtype=full isstable=0 info=standby",
            "t=ask_resources rsc_hold=all info=done",
            "t=resource rsc_hold=none rtype=full isstable=1",
            "t=resource rsc_hold=none rtype=full isstable=1",
        ]),
        "{}",
        s.dump()
    );
    assert_eq!(s.holders(VIP), ["b"]);
    ok(&s);
}

#[test]
fn hb_takeover_from_either_node() {
    for mode in [AutoFailback::On, AutoFailback::Off] {
        for (node, set, want_a, want_b) in [
            (0, "all", "a", "a"),
            (1, "all", "b", "b"),
            (0, "failback", "a", "a"),
            (1, "failback", "b", "b"),
            (0, "local", "a", "b"),
            (0, "foreign", "a", "a"),
            (1, "foreign", "b", "b"),
        ] {
            let mut s = pair(mode);
            s.run_for(Duration::from_secs(5));
            let t = s.elapsed();
            s.takeover(node, set);
            assert!(s.settle(), "{}", s.dump());
            assert_eq!(
                s.holders(A),
                [want_a],
                "{mode:?} takeover {set} on {node}\n{}",
                s.dump()
            );
            assert_eq!(
                s.holders(B),
                [want_b],
                "{mode:?} takeover {set} on {node}\n{}",
                s.dump()
            );
            assert_eq!(
                s.sent_since(node, t).first().map(String::as_str),
                Some(format!("t=hb_takeover rsc_hold={set}").as_str())
            );
            ok(&s);
        }
    }
}

#[test]
fn hb_takeover_local_brings_groups_home_with_auto_failback_off() {
    let mut s = pair(AutoFailback::Off);
    s.run_for(Duration::from_secs(5));
    s.crash(0);
    assert!(s.settle());
    s.start(0);
    assert!(s.settle());
    assert_eq!(s.holders(A), ["b"]);
    s.takeover(0, "local");
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(A), ["a"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    ok(&s);
}

#[test]
fn clean_shutdown_hands_over_before_heartbeats_stop() {
    for mode in [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy] {
        let mut s = pair(mode);
        s.run_for(Duration::from_secs(5));
        let t = s.elapsed();
        s.shutdown(1);
        assert!(s.settle(), "{}", s.dump());
        assert_eq!(s.holders(A), ["a"]);
        assert_eq!(s.holders(B), ["a"], "{mode:?}\n{}", s.dump());
        let exit = s
            .trace
            .iter()
            .find(|r| r.node == 1 && matches!(r.action, Action::ShutdownComplete))
            .map(|r| r.at)
            .expect("b finished its shutdown");
        let taken = s.starts_of(0, B);
        assert_eq!(taken.len(), 1, "{}", s.dump());
        // a starts b's group as soon as `shutdone` arrives, long before b is declared
        // dead (deadtime after b's last heartbeat).
        assert!(
            taken[0] <= exit + s.latency,
            "{taken:?} {exit:?}\n{}",
            s.dump()
        );
        let b_sent = s.sent_since(1, t);
        if mode == AutoFailback::Legacy {
            assert_eq!(b_sent, strs(&["t=shutdone st=dead"]));
        } else {
            assert_eq!(
                b_sent,
                strs(&[
                    "t=resource rsc_hold=none rtype=full isstable=0 info=shutdown",
                    "t=shutdone st=dead",
                ])
            );
            // crc.jsonl @ 17.91-21.01 (a already held its group there).
            assert_eq!(
                s.sent_since(0, t),
                strs(&[
                    "t=resource rsc_hold=all rtype=full isstable=1 info=req_our_resources()",
                    "t=ask_resources rsc_hold=all info=done",
                    "t=resource rsc_hold=all rtype=full isstable=1",
                    "t=resource rsc_hold=foreign info=mach_down",
                    "t=stonith node=b result=unneeded",
                ]),
                "{}",
                s.dump()
            );
        }
        assert!(s.logged(1, "Giving up all HA resources."));
        assert!(s.logged(1, "All HA resources relinquished."));
        assert!(s.logged(0, "Received shutdown notice from 'b'."));
        assert!(s.logged(0, "Dead node b gave up resources."));
        ok(&s);
    }
}

#[test]
fn start_failure_goes_standby_after_30_s() {
    let mut s = Sim::new(
        &["a", "b"],
        vec![group("a", A), group("b", B)],
        AutoFailback::On,
        1,
    );
    s.fail_starts.insert((0, A.to_string()), 1);
    s.start(0);
    s.run_for(ms(1));
    s.start(1);
    assert!(s.settle(), "{}", s.dump());
    // a's start failed; 30 s later a goes standby for its local set and b takes it.
    assert!(s.logged(0, "Giving up resources due to failure of group"));
    assert!(s.logged(0, "Going standby [local]."));
    assert_eq!(s.holders(A), ["b"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    let failed = s.starts_of(0, A)[0];
    let taken = s.starts_of(1, A)[0];
    assert!(
        taken >= failed + Duration::from_secs(30),
        "{failed:?} {taken:?}"
    );
    ok(&s);
}

#[test]
fn shutdown_waits_for_running_work() {
    let mut s = Sim::new(
        &["a", "b"],
        vec![group("a", A), group("b", B)],
        AutoFailback::On,
        1,
    );
    s.start(0);
    s.run_for(ms(1));
    s.start(1);
    // During the start-up negotiation (before the 10 s timer).
    s.run_for(Duration::from_secs(3));
    s.shutdown(0);
    assert!(s.logged(
        0,
        "Shutdown delayed until current resource activity finishes."
    ));
    assert!(s.settle(), "{}", s.dump());
    assert!(!s.nodes[0].up);
    assert_eq!(s.holders(A), ["b"], "{}", s.dump());
    assert_eq!(s.holders(B), ["b"]);
    ok(&s);
}

#[test]
fn three_nodes_startup_crash_restart() {
    for mode in [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy] {
        let mut s = Sim::new(
            &["a", "b", "c"],
            vec![group("a", A), group("b", B), group("c", C)],
            mode,
            3,
        );
        for i in 0..3 {
            s.start(i);
            s.run_for(ms(1));
        }
        assert!(s.settle(), "{}", s.dump());
        assert_eq!(s.holders(A), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(B), ["b"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(C), ["c"], "{mode:?}\n{}", s.dump());
        ok(&s);
        // c dies: exactly one survivor (the next in ha.cf order, a) takes its group.
        s.run_for(Duration::from_secs(5));
        s.crash(2);
        assert!(s.settle(), "{}", s.dump());
        assert_eq!(s.holders(C), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(B), ["b"], "{mode:?}\n{}", s.dump());
        ok(&s);
        s.start(2);
        assert!(s.settle(), "{}", s.dump());
        let want = if mode == AutoFailback::Off { "a" } else { "c" };
        assert_eq!(s.holders(C), [want], "{mode:?}\n{}", s.dump());
        ok(&s);
        // b stops cleanly: exactly one node takes its group.
        s.shutdown(1);
        assert!(s.settle(), "{}", s.dump());
        assert_eq!(s.holders(B).len(), 1, "{mode:?}\n{}", s.dump());
        ok(&s);
    }
}

#[test]
fn odd_messages_are_logged_and_ignored() {
    use hb_wire::Message;
    let mut s = pair(AutoFailback::On);
    let now = s.now;
    let tk = s.nodes[0].tk.as_mut().unwrap();
    let mut msgs = Vec::new();
    let mut m = Message::with_type("resource");
    m.push_str("rsc_hold", "everything");
    msgs.push(("b", m));
    msgs.push(("b", Message::with_type("resource")));
    msgs.push(("b", Message::with_type("ask_resources")));
    let mut m = Message::with_type("ask_resources");
    m.push_str("rsc_hold", "bogus").push_str("info", "me");
    msgs.push(("b", m));
    let mut m = Message::with_type("ask_resources");
    m.push_str("info", "sideways");
    msgs.push(("b", m));
    msgs.push(("zed", Message::with_type("starting")));
    msgs.push(("b", Message::new()));
    msgs.push(("b", Message::with_type("ip-request")));
    let mut m = Message::with_type("ip-request-resp");
    m.push_str("dest", "a").push_str("ok", "OK");
    msgs.push(("b", m));
    let mut m = Message::with_type("ip-request-resp");
    m.push_str("dest", "a")
        .push_str("ipaddr", "nosuchgroup")
        .push_str("ok", "OK");
    msgs.push(("b", m));
    msgs.push(("b", Message::with_type("shutdown-of-the-universe")));
    let mut m = Message::with_type("hb_takeover");
    m.push_str("rsc_hold", "nonsense");
    msgs.push(("a", m));
    for (from, m) in &msgs {
        tk.message(now, from, m);
    }
    tk.group_done(now, hb_core::takeover::JobId(9999), true);
    let mut logs = Vec::new();
    while let Some(a) = tk.poll_action() {
        match a {
            Action::Log(_, t) => logs.push(t),
            Action::StartGroup { key, .. } | Action::StopGroup { key, .. } => {
                panic!("odd input made a job for {key}")
            }
            _ => {}
        }
    }
    assert!(
        logs.iter()
            .any(|l| l.contains("bad resource type [everything]")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("without rsc_hold")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("without info/from")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("unknown node zed")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("unknown resource group nosuchgroup")),
        "{logs:?}"
    );
    // Nothing changed.
    assert_eq!(s.tk(0).i_hold(), rsc::LOCAL);
    assert_eq!(s.tk(0).other_holds(), rsc::LOCAL);
    assert_eq!(s.tk(0).running_groups(), [A]);
}

/// One `Takeover` driven by hand: every Send is looped back, every job succeeds at once.
struct Solo {
    tk: hb_core::takeover::Takeover,
    t0: std::time::Instant,
    sent: Vec<String>,
    logs: Vec<String>,
}

impl Solo {
    fn new(mode: AutoFailback) -> Solo {
        use hb_core::takeover::{Takeover, TakeoverConfig};
        let t0 = std::time::Instant::now();
        let cfg = TakeoverConfig {
            me: "a".into(),
            nodes: vec!["a".into(), "b".into()],
            groups: vec![group("a", A), group("b", B)],
            auto_failback: mode,
        };
        Solo {
            tk: Takeover::new(cfg, t0),
            t0,
            sent: Vec::new(),
            logs: Vec::new(),
        }
    }
    fn at(&self, s: f64) -> std::time::Instant {
        self.t0 + Duration::from_secs_f64(s)
    }
    fn drain(&mut self, s: f64) {
        while let Some(a) = self.tk.poll_action() {
            match a {
                Action::Send(m) => {
                    self.sent.push(takeover_sim::summary(&m));
                    let now = self.at(s);
                    self.tk.message(now, "a", &m);
                }
                Action::StartGroup { job, .. } | Action::StopGroup { job, .. } => {
                    let now = self.at(s);
                    self.tk.group_done(now, job, true);
                }
                Action::Log(_, t) => self.logs.push(t),
                Action::ShutdownComplete => {}
                Action::Probe { job, .. } => {
                    let now = self.at(s);
                    self.tk
                        .probe_done(now, job, hb_core::holder::ProbeResult::Silent);
                }
                Action::Announce { .. } => {}
                Action::Fence { .. } | Action::FenceStatus => {
                    panic!("a reset asked for without a STONITH device")
                }
            }
        }
    }
    fn recv_b(&mut self, s: f64, fields: &[(&str, &str)]) {
        let mut m = hb_wire::Message::new();
        for (k, v) in fields {
            m.push_str(k, v);
        }
        let now = self.at(s);
        self.tk.message(now, "b", &m);
        self.drain(s);
    }
    fn logged(&self, text: &str) -> bool {
        self.logs.iter().any(|l| l.contains(text))
    }
}

#[test]
fn standby_refusals_and_timeouts() {
    let mut a = Solo::new(AutoFailback::On);
    let now = a.at(1.0);
    a.tk.comm_up(now, &["b".to_string()]);
    a.drain(1.0);
    a.recv_b(1.0, &[("t", "starting")]);
    // b is in flux: a standby request is refused by a itself.
    a.recv_b(
        1.1,
        &[
            ("t", "resource"),
            ("rsc_hold", "none"),
            ("rtype", "full"),
            ("isstable", "0"),
        ],
    );
    let now = a.at(2.0);
    a.tk.standby(now, "all");
    a.drain(2.0);
    assert!(a.logged("standby message [me] from a ignored.  Other side is in flux."));
    assert_eq!(a.tk.standby_state(), hb_core::takeover::StandbyState::Not);
    // b becomes stable: a acquires its own group and is stable.
    a.recv_b(
        3.0,
        &[
            ("t", "resource"),
            ("rsc_hold", "local"),
            ("rtype", "full"),
            ("isstable", "1"),
        ],
    );
    assert_eq!(a.tk.state(), ResourceState::Stable);
    assert_eq!(a.tk.running_groups(), [A]);
    assert!(a.tk.is_stable());
    // Now a's request is taken, but b never answers `other`: 10 s later it is cancelled.
    let now = a.at(4.0);
    a.tk.standby(now, "all");
    a.drain(4.0);
    assert_eq!(a.tk.standby_state(), hb_core::takeover::StandbyState::Me);
    assert!(a.logged("a wants to go standby [all]"));
    // A second request meanwhile is refused.
    a.recv_b(
        5.0,
        &[("t", "ask_resources"), ("rsc_hold", "all"), ("info", "me")],
    );
    assert!(a.logged("Standby in progress- new request from b ignored [9 seconds left]"));
    assert_eq!(a.tk.poll_timeout(), Some(a.at(14.0)));
    let now = a.at(14.0);
    a.tk.handle_timeout(now);
    a.drain(14.0);
    assert!(a.logged("No reply to standby request.  Standby request cancelled."));
    assert_eq!(a.tk.standby_state(), hb_core::takeover::StandbyState::Not);
    assert_eq!(a.tk.running_groups(), [A], "nothing was given up");
    // The other side refusing: an `other` that comes while we are not in ME is ignored.
    a.recv_b(
        15.0,
        &[
            ("t", "ask_resources"),
            ("rsc_hold", "all"),
            ("info", "other"),
        ],
    );
    assert!(a.logged("Ignored standby message 'other' from b in state 0"));
}

#[test]
fn hb_standby_and_hb_takeover_arguments() {
    let mut a = Solo::new(AutoFailback::On);
    let now = a.at(1.0);
    a.tk.standby(now, "failback");
    a.tk.standby(now, "");
    a.tk.standby(now, "sideways");
    a.tk.takeover(now, "");
    a.tk.takeover(now, "failback");
    a.tk.takeover(now, "everything");
    a.drain(1.0);
    assert_eq!(
        a.sent,
        [
            "t=ask_resources rsc_hold=foreign info=me",
            "t=ask_resources rsc_hold=all info=me",
            "t=hb_takeover rsc_hold=all",
            "t=hb_takeover rsc_hold=failback",
        ]
    );
    assert!(a.logged("hb_standby: wrong resources(sideways)."));
    assert!(a.logged("hb_takeover: wrong resources(everything)."));
}
