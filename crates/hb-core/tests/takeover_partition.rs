//! auto_failback legacy: a peer declared dead that is heard again without having
//! restarted (a healed partition, or heartbeats lost for a whole dead time) still runs its
//! groups; the node that took them over gives them back the way it answers an
//! `ip-request`: release first, then `ip-request-resp dest=PEER ... ok=OK`.

use std::time::{Duration, Instant};

use hb_core::takeover::{Action, AutoFailback, GroupDef, JobId, Takeover, TakeoverConfig};

const A: &str = "IPaddr::198.51.100.254/24/eth0";
const B: &str = "IPaddr::198.51.100.253/24/eth0";

/// Node b of a two-node cluster, a group homed at each node.
fn node_b(mode: AutoFailback, now: Instant) -> Takeover {
    let cfg = TakeoverConfig {
        me: "b".into(),
        nodes: vec!["a".into(), "b".into()],
        groups: vec![
            GroupDef {
                node: "a".into(),
                key: A.into(),
                resources: vec![A.into()],
            },
            GroupDef {
                node: "b".into(),
                key: B.into(),
                resources: vec![B.into()],
            },
        ],
        auto_failback: mode,
    };
    Takeover::new(cfg, now)
}

/// What the machine asks for, our own messages given back as the daemon does, address
/// probes answered silent at once (nobody else holds them).
fn drain(tk: &mut Takeover, now: Instant) -> Vec<Action> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let mut sent = Vec::new();
        let mut probes = Vec::new();
        while let Some(a) = tk.poll_action() {
            match &a {
                Action::Send(m) => sent.push(m.clone()),
                Action::Probe { job, .. } => probes.push(*job),
                _ => {}
            }
            all.push(a);
        }
        if sent.is_empty() && probes.is_empty() {
            return all;
        }
        for m in sent {
            tk.message(now, "b", &m);
        }
        for job in probes {
            tk.probe_done(now, job, hb_core::holder::ProbeResult::Silent);
        }
    }
    panic!("our own messages do not settle: {all:?}");
}

/// The wire text of the messages sent (producer fields only).
fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(
                m.fields
                    .iter()
                    .map(|f| match &f.value {
                        hb_wire::Value::Str(v) => format!(
                            "{}={}",
                            String::from_utf8_lossy(&f.name),
                            String::from_utf8_lossy(v)
                        ),
                        _ => String::from_utf8_lossy(&f.name).into_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => None,
        })
        .collect()
}

fn starts(actions: &[Action]) -> Vec<(JobId, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartGroup { job, key } => Some((*job, key.clone())),
            _ => None,
        })
        .collect()
}

fn stops(actions: &[Action]) -> Vec<(JobId, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StopGroup { job, key } => Some((*job, key.clone())),
            _ => None,
        })
        .collect()
}

/// b, settled with a active: b runs its own group B, a runs A.
fn settled_b(mode: AutoFailback, t0: Instant) -> Takeover {
    let mut tk = node_b(mode, t0);
    tk.node_status(t0, "a", "up");
    tk.node_status(t0, "a", "active");
    tk.comm_up(t0, &["a".to_string()]);
    let acts = drain(&mut tk, t0);
    if mode == AutoFailback::Legacy {
        // a is active: b asks for its group; a (not holding it) answers.
        assert_eq!(sent(&acts), [format!("t=ip-request ipaddr={B}")]);
        let mut resp = hb_wire::Message::with_type("ip-request-resp");
        resp.push_str("dest", "b")
            .push_str("ipaddr", B)
            .push_str("weown", "no")
            .push_str("ok", "OK");
        tk.message(t0, "a", &resp);
        let acts = drain(&mut tk, t0);
        let s = starts(&acts);
        assert_eq!(s.len(), 1, "{acts:?}");
        tk.group_done(t0, s[0].0, true);
        drain(&mut tk, t0);
    }
    tk
}

/// a is declared dead: b takes A over (mach_down). Returns the start job of A.
fn a_dies(tk: &mut Takeover, now: Instant) -> JobId {
    tk.node_status(now, "a", "dead");
    tk.node_dead(now, "a");
    let acts = drain(tk, now);
    let s = starts(&acts);
    assert_eq!(s.len(), 1, "{acts:?}");
    assert_eq!(s[0].1, A);
    s[0].0
}

#[test]
fn legacy_gives_a_returning_peer_its_group_back() {
    let t0 = Instant::now();
    let mut tk = settled_b(AutoFailback::Legacy, t0);
    assert_eq!(tk.running_groups(), [B]);
    let t1 = t0 + Duration::from_secs(10);
    let job = a_dies(&mut tk, t1);
    tk.group_done(t1, job, true);
    drain(&mut tk, t1);
    assert_eq!(tk.running_groups(), [A, B]);

    // a is heard again, still active, same generation.
    let t2 = t1 + Duration::from_secs(1);
    tk.node_status(t2, "a", "active");
    let acts = drain(&mut tk, t2);
    // Release first; nothing is answered before the stop ended.
    let s = stops(&acts);
    assert_eq!(s.len(), 1, "{acts:?}");
    assert_eq!(s[0].1, A);
    assert!(sent(&acts).is_empty(), "{acts:?}");
    assert!(starts(&acts).is_empty(), "{acts:?}");
    tk.group_done(t2, s[0].0, true);
    let acts = drain(&mut tk, t2);
    assert_eq!(
        sent(&acts),
        [format!(
            "t=ip-request-resp dest=a ipaddr={A} weown=yes ok=OK"
        )]
    );
    assert_eq!(tk.running_groups(), [B]);
    assert!(!tk.busy());
}

#[test]
fn legacy_return_during_mach_down_waits_for_the_start() {
    let t0 = Instant::now();
    let mut tk = settled_b(AutoFailback::Legacy, t0);
    let t1 = t0 + Duration::from_secs(10);
    let job = a_dies(&mut tk, t1);
    // a is back while A is still starting here (seed 37 of node_sim: 12 ms later).
    let t2 = t1 + Duration::from_millis(12);
    tk.node_status(t2, "a", "active");
    let acts = drain(&mut tk, t2);
    assert!(stops(&acts).is_empty(), "{acts:?}");
    assert!(sent(&acts).is_empty(), "{acts:?}");
    tk.group_done(t2, job, true);
    let acts = drain(&mut tk, t2);
    let s = stops(&acts);
    assert_eq!(s.len(), 1, "{acts:?}");
    assert_eq!(s[0].1, A);
    tk.group_done(t2, s[0].0, true);
    let acts = drain(&mut tk, t2);
    assert_eq!(
        sent(&acts),
        [format!(
            "t=ip-request-resp dest=a ipaddr={A} weown=yes ok=OK"
        )]
    );
    assert_eq!(tk.running_groups(), [B]);
}

#[test]
fn legacy_restart_is_not_a_return() {
    // A restarted peer comes back as `init`: it asks for its groups itself.
    let t0 = Instant::now();
    let mut tk = settled_b(AutoFailback::Legacy, t0);
    let t1 = t0 + Duration::from_secs(10);
    let job = a_dies(&mut tk, t1);
    tk.group_done(t1, job, true);
    drain(&mut tk, t1);
    let t2 = t1 + Duration::from_secs(3);
    tk.node_restarted(t2, "a");
    tk.node_status(t2, "a", "up");
    tk.node_status(t2, "a", "active");
    let acts = drain(&mut tk, t2);
    assert!(stops(&acts).is_empty(), "{acts:?}");
    assert!(sent(&acts).is_empty(), "{acts:?}");
    assert_eq!(tk.running_groups(), [A, B]);
    // Its request: released, then answered.
    let mut req = hb_wire::Message::with_type("ip-request");
    req.push_str("ipaddr", A);
    tk.message(t2, "a", &req);
    let acts = drain(&mut tk, t2);
    let s = stops(&acts);
    assert_eq!(s.len(), 1, "{acts:?}");
    assert!(sent(&acts).is_empty(), "{acts:?}");
    tk.group_done(t2, s[0].0, true);
    let acts = drain(&mut tk, t2);
    assert_eq!(
        sent(&acts),
        [format!(
            "t=ip-request-resp dest=a ipaddr={A} weown=yes ok=OK"
        )]
    );
}

#[test]
fn legacy_return_without_its_groups_here_only_answers() {
    // b did not take A (it was not declared dead long enough for that to matter):
    // the answer says so and nothing is stopped.
    let t0 = Instant::now();
    let mut tk = settled_b(AutoFailback::Legacy, t0);
    let t1 = t0 + Duration::from_secs(10);
    let job = a_dies(&mut tk, t1);
    tk.group_done(t1, job, false);
    drain(&mut tk, t1);
    assert_eq!(tk.running_groups(), [B]);
    tk.node_status(t1, "a", "active");
    let acts = drain(&mut tk, t1);
    assert!(stops(&acts).is_empty(), "{acts:?}");
    assert_eq!(
        sent(&acts),
        [format!(
            "t=ip-request-resp dest=a ipaddr={A} weown=no ok=OK"
        )]
    );
    assert_eq!(tk.running_groups(), [B]);
}

#[test]
fn nice_modes_do_not_answer_a_return() {
    for mode in [AutoFailback::On, AutoFailback::Off] {
        let t0 = Instant::now();
        let mut tk = node_b(mode, t0);
        tk.node_status(t0, "a", "active");
        tk.comm_up(t0, &["a".to_string()]);
        drain(&mut tk, t0);
        let t1 = t0 + Duration::from_secs(30);
        tk.node_status(t1, "a", "dead");
        tk.node_dead(t1, "a");
        let acts = drain(&mut tk, t1);
        for (job, _) in starts(&acts) {
            tk.group_done(t1, job, true);
        }
        drain(&mut tk, t1);
        tk.node_status(t1, "a", "active");
        let acts = drain(&mut tk, t1);
        assert!(
            !sent(&acts)
                .iter()
                .any(|m| m.starts_with("t=ip-request-resp")),
            "{mode:?}: {acts:?}"
        );
        assert!(stops(&acts).is_empty(), "{mode:?}: {acts:?}");
    }
}
