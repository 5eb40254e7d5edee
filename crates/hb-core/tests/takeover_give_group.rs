//! A failing service check moves only its group (issue #16): `Takeover::give_group` and
//! `ask_group` on simulated nodes, in every auto_failback mode. The first version went
//! standby for the group's whole set (`local` or `foreign`), so every other group of that set
//! moved with it.

mod takeover_sim;

use std::time::Duration;

use hb_core::takeover::AutoFailback;
use takeover_sim::{group, Sim};

/// a's checked group.
const G1: &str = "IPaddr::198.51.100.254/24/eth0";
/// a's other group.
const G2: &str = "IPaddr::198.51.100.253/24/eth0";
/// b's group.
const GB: &str = "IPaddr::198.51.100.252/24/eth0";

fn three_groups(mode: AutoFailback, seed: u64) -> Sim {
    let mut s = Sim::new(
        &["a", "b"],
        vec![group("a", G1), group("a", G2), group("b", GB)],
        mode,
        seed,
    );
    s.start(0);
    s.run_for(Duration::from_millis(1));
    s.start(1);
    assert!(s.settle(), "{}", s.dump());
    assert_eq!(s.holders(G1), ["a"], "{}", s.dump());
    assert_eq!(s.holders(G2), ["a"], "{}", s.dump());
    assert_eq!(s.holders(GB), ["b"], "{}", s.dump());
    s
}

fn ok(s: &Sim) {
    let bad = s.check_exactly_one();
    assert!(bad.is_empty(), "{bad:?}\n{}", s.dump());
}

const MODES: [AutoFailback; 3] = [AutoFailback::On, AutoFailback::Off, AutoFailback::Legacy];

#[test]
fn only_the_failing_group_moves_and_comes_back() {
    for mode in MODES {
        let mut s = three_groups(mode, 3);
        s.run_for(Duration::from_secs(5));
        let since = s.elapsed();
        assert!(s.give_group(0, G1, "b"), "{mode:?}");
        assert!(s.settle(), "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(G1), ["b"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(G2), ["a"], "{mode:?}: G2 stays\n{}", s.dump());
        assert_eq!(s.holders(GB), ["b"], "{mode:?}\n{}", s.dump());
        assert!(s.stops_of(0, G2).is_empty(), "{mode:?}: G2 never stopped");
        assert!(s.stops_of(1, GB).is_empty(), "{mode:?}: GB never stopped");
        // On the wire: what an original node answering an ip-request sends, so an original
        // peer takes the group with its rc.d/ip-request-resp.
        let sent = s.sent_since(0, since);
        assert!(
            sent.iter()
                .any(|m| m == &format!("t=ip-request-resp dest=b ipaddr={G1} weown=yes ok=OK")),
            "{mode:?}: {sent:?}"
        );
        assert!(
            !sent.iter().any(|m| m.starts_with("t=ask_resources")),
            "{mode:?}: no standby: {sent:?}"
        );
        ok(&s);

        // The check passes again: a asks for it back; only G1 moves.
        s.run_for(Duration::from_secs(5));
        let since = s.elapsed();
        assert!(s.ask_group(0, G1), "{mode:?}");
        assert!(s.settle(), "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(G1), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(G2), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(GB), ["b"], "{mode:?}\n{}", s.dump());
        assert!(s.stops_of(0, G2).is_empty(), "{mode:?}");
        assert!(s.stops_of(1, GB).is_empty(), "{mode:?}");
        assert_eq!(
            s.sent_since(0, since).first().map(String::as_str),
            Some(format!("t=ip-request ipaddr={G1}").as_str()),
            "{mode:?}"
        );
        ok(&s);
    }
}

/// A foreign group (b's, run here after b's crash) given back: only it moves.
#[test]
fn a_foreign_group_goes_alone_too() {
    for mode in MODES {
        let mut s = three_groups(mode, 5);
        s.crash(1);
        assert!(s.settle_within(Duration::from_secs(60)), "{}", s.dump());
        assert_eq!(s.holders(GB), ["a"], "{mode:?}\n{}", s.dump());
        s.start(1);
        assert!(s.settle(), "{}", s.dump());
        // With auto_failback on and legacy, b got its group back by itself; give it
        // explicitly otherwise.
        if s.holders(GB) == ["a"] {
            assert!(s.give_group(0, GB, "b"), "{mode:?}");
            assert!(s.settle(), "{}", s.dump());
        }
        assert_eq!(s.holders(GB), ["b"], "{mode:?}\n{}", s.dump());
        assert!(s.give_group(0, G2, "b"), "{mode:?}");
        assert!(s.settle(), "{}", s.dump());
        assert_eq!(s.holders(G1), ["a"], "{mode:?}\n{}", s.dump());
        assert_eq!(s.holders(G2), ["b"], "{mode:?}\n{}", s.dump());
        ok(&s);
    }
}

/// After a give-away the peer that holds the group dies: it comes back here, with the rest.
/// Or this node dies: the peer takes the rest.
#[test]
fn deaths_after_a_give_away_leave_every_group_running() {
    for mode in MODES {
        let mut s = three_groups(mode, 7);
        s.run_for(Duration::from_secs(5));
        assert!(s.give_group(0, G1, "b"));
        assert!(s.settle(), "{}", s.dump());
        s.crash(1);
        assert!(s.settle_within(Duration::from_secs(60)), "{}", s.dump());
        for g in [G1, G2, GB] {
            assert_eq!(s.holders(g), ["a"], "{mode:?} {g}\n{}", s.dump());
        }

        let mut s = three_groups(mode, 9);
        s.run_for(Duration::from_secs(5));
        assert!(s.give_group(0, G1, "b"));
        assert!(s.settle(), "{}", s.dump());
        s.crash(0);
        assert!(s.settle_within(Duration::from_secs(60)), "{}", s.dump());
        for g in [G1, G2, GB] {
            assert_eq!(s.holders(g), ["b"], "{mode:?} {g}\n{}", s.dump());
        }
    }
}

/// What give_group and ask_group refuse: groups not run here (or already here), a dead or
/// unknown peer, ourselves, a shutdown.
#[test]
fn refusals() {
    let mut s = three_groups(AutoFailback::On, 11);
    assert!(!s.give_group(0, GB, "b"), "not run here");
    assert!(!s.give_group(0, "no-such-group", "b"));
    assert!(!s.give_group(0, G1, "a"), "to ourselves");
    assert!(!s.give_group(0, G1, "zed"), "unknown node");
    assert!(!s.ask_group(0, G1), "already here");
    assert!(!s.ask_group(0, "no-such-group"));
    s.crash(1);
    assert!(s.settle_within(Duration::from_secs(60)), "{}", s.dump());
    assert!(!s.give_group(0, G1, "b"), "dead peer");
    s.shutdown(0);
    assert!(!s.give_group(0, G1, "b"), "shutting down");
    assert!(!s.ask_group(0, GB), "shutting down");
}
