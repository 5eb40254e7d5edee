//! Issue #16, "replays never revive": after a node is declared dead, replaying its
//! recorded datagrams (same generation, old sequence numbers) must leave it dead and its
//! link dead, with one rate-limited log line; the link must not flap while its packets
//! are refused as replays (finding 9). Recorded packets of an original node (crc.jsonl,
//! node a's first 10 s) and of ours (a simulated node a).

mod capture;
mod sim;

use std::time::{Duration, Instant};

use hb_core::Event;
use hb_wire::{AuthMethod, KeyRing};

use sim::{Cluster, Net, One};

const ORIGINAL_A: &str = include_str!("data/crc_a_0-10s.jsonl");

fn logs_since(events: &[(Instant, Event)], since: Instant) -> Vec<String> {
    events
        .iter()
        .filter(|(t, _)| *t >= since)
        .filter_map(|(_, e)| match e {
            Event::Log(_, s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn link_changes(events: &[(Instant, Event)], node: &str, since: Instant) -> Vec<bool> {
    events
        .iter()
        .filter(|(t, _)| *t >= since)
        .filter_map(|(_, e)| match e {
            Event::LinkStatus { node: n, up, .. } if n == node => Some(*up),
            _ => None,
        })
        .collect()
}

fn status_changes(events: &[(Instant, Event)], node: &str, since: Instant) -> Vec<String> {
    events
        .iter()
        .filter(|(t, _)| *t >= since)
        .filter_map(|(_, e)| match e {
            Event::NodeStatus { node: n, status } if n == node => Some(status.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn replayed_packets_of_a_dead_original_node_do_not_revive_it() {
    let recorded = capture::datagrams(ORIGINAL_A);
    let keys = KeyRing::single(1, AuthMethod::Crc).unwrap();
    let mut b = One::new("b", keys);
    let at = |base: Instant, t: f64| base + Duration::from_secs_f64(t);
    // The original node a, live for 10 s.
    for (t, d) in &recorded {
        b.deliver(at(b.t0, *t), "eth1", d);
    }
    assert_eq!(b.m.peer("a").unwrap().status.as_str(), "active");
    assert!(b.m.peer("a").unwrap().links.iter().any(|l| l.up));
    // a falls silent: dead 1 s (its dt) after its last status.
    b.advance(at(b.t0, 12.0));
    assert_eq!(b.m.peer("a").unwrap().status.as_str(), "dead");
    let dead_at = b.now;
    // Its 10 s of packets replayed twice over, at their own pace.
    for round in 0..2 {
        let base = at(dead_at, 0.5 + 10.5 * round as f64);
        for (t, d) in &recorded {
            b.deliver(at(base, *t), "eth1", d);
        }
    }
    b.advance(at(dead_at, 25.0));
    let p = b.m.peer("a").unwrap();
    assert_eq!(p.status.as_str(), "dead");
    assert!(p.links.iter().all(|l| !l.up), "{:?}", p.links);
    assert_eq!(link_changes(&b.events, "a", dead_at), Vec::<bool>::new());
    assert_eq!(
        status_changes(&b.events, "a", dead_at),
        Vec::<String>::new()
    );
    let logs = logs_since(&b.events, dead_at);
    assert!(
        !logs.iter().any(|l| l.contains("Link a:eth1 up.")),
        "{logs:#?}"
    );
    // One line per 10 s for the whole stream (three at most in 25 s), naming the node.
    let replay_lines: Vec<_> = logs.iter().filter(|l| l.contains("replay")).collect();
    assert!(
        !replay_lines.is_empty() && replay_lines.len() <= 3,
        "{logs:#?}"
    );
    assert!(replay_lines[0].contains("[a]"), "{replay_lines:?}");
    assert!(b.m.counters().replays >= 100, "{:?}", b.m.counters());
    // Nothing of the replay reached the upper layers.
    assert!(!b.events.iter().any(|(t, e)| *t >= dead_at
        && matches!(
            e,
            Event::Message { .. } | Event::PartitionReturn { .. } | Event::NodeRestarted { .. }
        )));
}

#[test]
fn replayed_packets_of_our_dead_node_do_not_revive_it() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 21);
    c.record = true;
    c.run_for(Duration::from_secs(10));
    let recorded: Vec<(Duration, Vec<u8>)> = c.nodes[0]
        .sent
        .iter()
        .filter(|(t, _)| t.duration_since(c.t0) >= Duration::from_secs(2))
        .map(|(t, d)| (t.duration_since(c.t0), d.clone()))
        .collect();
    assert!(recorded.len() > 40);
    c.crash(0);
    c.run_for(Duration::from_secs(2));
    assert_eq!(c.status_of(1, 0), "dead");
    let dead_at = c.now;
    for round in 0..2u32 {
        let base = dead_at + Duration::from_millis(500) + Duration::from_secs(9) * round;
        for (t, d) in &recorded {
            c.inject(base + *t - Duration::from_secs(2), 0, 1, d.clone());
        }
    }
    c.run_for(Duration::from_secs(20));
    assert_eq!(c.status_of(1, 0), "dead");
    let ev = &c.nodes[1].events;
    assert_eq!(link_changes(ev, "a", dead_at), Vec::<bool>::new());
    assert_eq!(status_changes(ev, "a", dead_at), Vec::<String>::new());
    let logs = logs_since(ev, dead_at);
    let replay_lines = logs.iter().filter(|l| l.contains("replay")).count();
    assert!((1..=2).contains(&replay_lines), "{logs:#?}");
    assert!(c.nodes[1].m.counters().replays >= 80);
}

/// Finding 9: a node restarted with a lower generation (its packets all refused as
/// replays) must not make its link go up and down about once a second.
#[test]
fn refused_packets_do_not_flap_the_link() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 6);
    c.run_for(Duration::from_secs(6));
    c.crash(0);
    c.restart(0, 99);
    let since = c.now;
    c.run_for(Duration::from_secs(20));
    assert_eq!(c.status_of(1, 0), "dead");
    let changes = link_changes(&c.nodes[1].events, "a", since);
    assert!(changes.len() <= 1, "link of a went {changes:?}");
    let logs = logs_since(&c.nodes[1].events, since);
    let replay_lines = logs
        .iter()
        .filter(|l| l.contains("attempted replay attack"))
        .count();
    assert!((1..=2).contains(&replay_lines), "{logs:#?}");
}

/// Copies of the same message on a second medium still keep that medium's link up (they
/// are new on that link), and our own looped-back datagrams still mark our own link up.
#[test]
fn a_second_medium_keeps_its_link_up() {
    let keys = KeyRing::single(1, AuthMethod::Crc).unwrap();
    let mut a = One::new("a", keys.clone());
    let mut b = One::new("b", keys);
    // Pairs a's output to b on both media, b's to a on eth1 only, for 10 s.
    let step = Duration::from_millis(10);
    let end = a.t0 + Duration::from_secs(10);
    let mut cut_eth1 = false;
    let mut t = a.t0;
    let cut_at = a.t0 + Duration::from_secs(8);
    while t < end {
        t += step;
        a.advance(t);
        b.advance(t);
        let from_a = std::mem::take(&mut a.out);
        let from_b = std::mem::take(&mut b.out);
        if t >= cut_at {
            cut_eth1 = true;
        }
        for d in &from_a {
            if !cut_eth1 {
                b.deliver(t, "eth1", d);
            }
            b.deliver(t, "eth2", d);
            a.deliver(t, "eth1", d); // looped back
        }
        for d in &from_b {
            a.deliver(t, "eth1", d);
            b.deliver(t, "eth1", d);
        }
    }
    let p = b.m.peer("a").unwrap();
    assert_eq!(
        p.status.as_str(),
        "active",
        "{:#?}",
        logs_since(&b.events, b.t0)
    );
    let up: Vec<(&str, bool)> = p.links.iter().map(|l| (l.dev.as_str(), l.up)).collect();
    assert!(up.contains(&("eth2", true)), "{up:?}");
    assert!(up.contains(&("eth1", false)), "{up:?}");
    let logs = logs_since(&b.events, b.t0);
    assert_eq!(
        logs.iter()
            .filter(|l| l.as_str() == "Link a:eth2 up.")
            .count(),
        1,
        "{logs:#?}"
    );
    assert!(logs.iter().any(|l| l == "Link a:eth1 dead."));
    assert!(!logs.iter().any(|l| l == "Link a:eth2 dead."));
    assert!(logs_since(&a.events, a.t0)
        .iter()
        .any(|l| l == "Link a:eth1 up."));
}
