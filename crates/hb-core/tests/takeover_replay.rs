//! Replays node b's side of the real capture (crc.jsonl, 0-22 s: start-up of both nodes,
//! then b's clean shutdown, then a's) into a `Takeover` playing node a, and compares what
//! it sends with what the original node a sent.
//!
//! The data file holds the capture's lines as they are (the first status message, every
//! resource-layer message of both nodes up to 22 s, and b's last heartbeat before it
//! stopped). In that lab run the IPaddr start failed on a each time (a's ResourceManager
//! went standby 30 s after each failure), so the fake runner fails starts too: that is why
//! a asks for its group again on b's `shutdone`.

mod capture;

use std::time::{Duration, Instant};

use hb_core::takeover::{Action, AutoFailback, GroupDef, JobId, Takeover, TakeoverConfig};
use hb_wire::{AuthMethod, KeyRing, Message};

const VIP: &str = "IPaddr::198.51.100.254/24/eth0";
const DATA: &str = include_str!("data/takeover_crc_0-22s.jsonl");

struct Rec {
    t: f64,
    msg: Message,
}

fn capture() -> Vec<Rec> {
    let keys = KeyRing::single(1, AuthMethod::Crc).expect("key ring");
    capture::datagrams(DATA)
        .into_iter()
        .map(|(t, bytes)| Rec {
            t,
            msg: hb_wire::decode(&bytes, &keys)
                .expect("captured datagram decodes")
                .msg,
        })
        .collect()
}

/// The fields that matter for the comparison, in the capture's order.
fn key(m: &Message) -> String {
    let mut s = m.get("t").unwrap_or("?").to_string();
    for f in [
        "rsc_hold", "isstable", "info", "dest", "ipaddr", "weown", "node", "result", "st",
    ] {
        if let Some(v) = m.get(f) {
            s.push_str(&format!(" {f}={v}"));
        }
    }
    s
}

enum Input {
    Msg(Message),
    CommUp,
    Dead,
    Shutdown,
}

#[test]
fn node_a_answers_b_as_the_original_did() {
    let recs = capture();
    let from = |r: &Rec| r.msg.get("src").unwrap_or("").to_string();
    // a's communication came up when it sent `starting` (1.20 s); it still answered b's
    // `starting` of 1.03 s, so b's messages of that gap reached its resource layer just
    // after: they are given right after comm_up.
    let comm_up = recs
        .iter()
        .find(|r| from(r) == "a" && r.msg.get("t") == Some("starting"))
        .map(|r| r.t)
        .expect("a's starting");
    let mut inputs: Vec<(f64, Input)> = vec![(comm_up, Input::CommUp)];
    for r in &recs {
        let t = r.msg.get("t").unwrap_or("");
        match (from(r).as_str(), t) {
            ("b", "repnodes") => {}
            // b stopped heartbeating: declared dead 1 s (its dt) after the last one.
            ("b", "status") => inputs.push((r.t + 1.0, Input::Dead)),
            ("b", "reqnodes") => {}
            ("b", _) => inputs.push((r.t.max(comm_up), Input::Msg(r.msg.clone()))),
            // heartbeat -k on a, just before its `resource ... info=shutdown`.
            ("a", "resource") if r.msg.get("info") == Some("shutdown") => {
                inputs.push((r.t - 0.02, Input::Shutdown))
            }
            _ => {}
        }
    }
    // (stable sort: comm_up stays before the messages given at the same instant)
    inputs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let expected: Vec<(f64, String)> = recs
        .iter()
        .filter(|r| from(r) == "a")
        .filter(|r| {
            !matches!(
                r.msg.get("t"),
                Some("status" | "reqnodes" | "repnodes" | "NS_ackmsg")
            )
        })
        .map(|r| (r.t, key(&r.msg)))
        .collect();

    let base = Instant::now();
    let at = |t: f64| base + Duration::from_secs_f64(t);
    let cfg = TakeoverConfig {
        me: "a".into(),
        nodes: vec!["a".into(), "b".into()],
        groups: vec![GroupDef {
            node: "a".into(),
            key: VIP.into(),
            resources: vec![VIP.into()],
        }],
        auto_failback: AutoFailback::On,
    };
    let mut tk = Takeover::new(cfg, base);
    // (time, job, ok): the runner's answers; starts fail after 1.4 s as in the lab.
    let mut jobs: Vec<(f64, JobId, bool)> = Vec::new();
    let mut produced: Vec<(f64, String)> = Vec::new();
    let mut logs: Vec<String> = Vec::new();
    let mut done = false;
    let mut drain = |tk: &mut Takeover, t: f64, jobs: &mut Vec<(f64, JobId, bool)>| {
        while let Some(a) = tk.poll_action() {
            match a {
                Action::Send(m) => {
                    produced.push((t, key(&m)));
                    let mut m = m;
                    m.push_str("src", "a");
                    tk.message(at(t), "a", &m);
                }
                Action::StartGroup { job, .. } => jobs.push((t + 1.4, job, false)),
                Action::StopGroup { job, .. } => jobs.push((t + 0.1, job, true)),
                Action::Log(_, s) => logs.push(s),
                Action::ShutdownComplete => done = true,
                // The capture's VIP never answered a probe (nobody else held it).
                Action::Probe { job, .. } => {
                    tk.probe_done(at(t), job, hb_core::holder::ProbeResult::Silent)
                }
                Action::Announce { .. } => {}
                // No STONITH device in the captured cluster.
                Action::Fence { .. } | Action::FenceStatus => {
                    panic!("a reset asked for without a STONITH device")
                }
            }
        }
    };
    let mut next_input = 0;
    let mut now = 0.0f64;
    loop {
        let t_in = inputs.get(next_input).map(|x| x.0);
        let t_job = jobs.iter().map(|j| j.0).reduce(f64::min);
        let t_timer = tk
            .poll_timeout()
            .map(|i| i.duration_since(base).as_secs_f64())
            .filter(|t| *t <= 22.0);
        let Some(t) = [t_in, t_job, t_timer]
            .into_iter()
            .flatten()
            .reduce(f64::min)
        else {
            break;
        };
        now = now.max(t);
        if t_timer == Some(t) {
            tk.handle_timeout(at(now));
        } else if t_job == Some(t) {
            let k = jobs.iter().position(|j| j.0 == t).unwrap();
            let (_, job, ok) = jobs.remove(k);
            tk.group_done(at(now), job, ok);
        } else {
            let (_, input) = &inputs[next_input];
            next_input += 1;
            match input {
                Input::Msg(m) => tk.message(at(now), "b", m),
                Input::CommUp => tk.comm_up(at(now), &["b".to_string()]),
                Input::Dead => {
                    tk.node_status(at(now), "b", "dead");
                    tk.node_dead(at(now), "b");
                }
                Input::Shutdown => tk.shutdown(at(now)),
            }
        }
        drain(&mut tk, now, &mut jobs);
    }
    assert!(done, "a finished its shutdown\n{logs:#?}");

    let show = |v: &[(f64, String)]| {
        v.iter()
            .map(|(t, k)| format!("{t:7.2} {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let report = format!(
        "produced:\n{}\ncaptured:\n{}",
        show(&produced),
        show(&expected)
    );
    // Every message the original a sent, we send too, within 1.5 s, and nothing else.
    assert_eq!(produced.len(), expected.len(), "{report}");
    let mut unmatched: Vec<(f64, String)> = produced.clone();
    for (t, k) in &expected {
        let pos = unmatched
            .iter()
            .position(|(u, uk)| uk == k && (u - t).abs() <= 1.5);
        match pos {
            Some(p) => {
                unmatched.remove(p);
            }
            None => panic!("captured {t:.2} {k} not produced\n{report}"),
        }
    }
    // Order where it does not depend on child-process timing: the start-up exchange,
    // the 10 s timer, and the shutdown pair.
    let order: Vec<&str> = produced.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        &order[..3],
        [
            "starting",
            "resource rsc_hold=none isstable=0",
            "resource rsc_hold=local isstable=1"
        ],
        "{report}"
    );
    // The 10 s timer runs from a's own answer (1.20 s); the original noticed it at its
    // next poll (11.25 s).
    assert!(produced[2].0 >= 11.19 && produced[2].0 <= 11.25, "{report}");
    assert_eq!(
        &order[order.len() - 2..],
        [
            "resource rsc_hold=none isstable=0 info=shutdown",
            "shutdone st=dead"
        ],
        "{report}"
    );
    for line in [
        "local resource transition completed.",
        "Received shutdown notice from 'b'.",
        "Resources being acquired from b.",
        "mach_down takeover complete.",
        "Dead node b gave up resources.",
        "Giving up all HA resources.",
        "All HA resources relinquished.",
    ] {
        assert!(logs.iter().any(|l| l == line), "no log '{line}'\n{logs:#?}");
    }
}
