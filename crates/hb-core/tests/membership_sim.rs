//! Whole clusters in virtual time: thousands of seeded runs with loss, duplication,
//! delay, reordering, partitions and crashes. A failing run prints its seed; replay one
//! seed with `SIM_SEED=N cargo test -p hb-core --test membership_sim`.

mod sim;

use std::time::Duration;

use sim::{Cluster, Net};

fn runs() -> u64 {
    if let Ok(n) = std::env::var("SIM_RUNS") {
        return n.parse().unwrap_or(100);
    }
    if cfg!(debug_assertions) {
        150
    } else {
        1500
    }
}

fn seeds() -> Vec<u64> {
    match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED must be a number")],
        Err(_) => (1..=runs()).collect(),
    }
}

/// Runs `f` for every seed; on a failure reports the seed and re-raises.
fn for_seeds(name: &str, f: impl Fn(u64) + std::panic::RefUnwindSafe) {
    for seed in seeds() {
        if let Err(e) = std::panic::catch_unwind(|| f(seed)) {
            eprintln!("{name}: FAILED with seed {seed} (replay: SIM_SEED={seed})");
            std::panic::resume_unwind(e);
        }
    }
}

#[test]
fn two_nodes_come_up_active_on_a_clean_network() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 1);
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.status_of(0, 1), "active");
    assert_eq!(c.status_of(1, 0), "active");
    assert!(c.nodes[0].m.comm_up() && c.nodes[1].m.comm_up());
    let logs = c.logs(0).join("\n");
    assert!(logs.contains("Link b:eth1 up."), "{logs}");
    assert!(
        logs.contains("Link a:eth1 up."),
        "own link from looped-back datagrams: {logs}"
    );
    assert!(
        logs.contains("Status update for node b: status active"),
        "{logs}"
    );
    assert!(
        logs.contains("Comm_now_up(): updating status to active"),
        "{logs}"
    );
    assert!(c.deaths(0, 1).is_empty() && c.deaths(1, 0).is_empty());
}

#[test]
fn lone_node_goes_active_after_initdead() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 2);
    c.crash(1);
    c.run_for(Duration::from_millis(1900));
    assert!(!c.nodes[0].m.comm_up(), "must wait initdead (2 s)");
    c.run_for(Duration::from_millis(200));
    assert!(c.nodes[0].m.comm_up());
    assert_eq!(c.status_of(0, 1), "dead");
    assert_eq!(c.deaths(0, 1).len(), 1);
}

#[test]
fn crash_is_detected_within_deadtime_plus_keepalive() {
    let net = Net::clean(20);
    let mut c = Cluster::new(2, net, 3);
    c.run_for(Duration::from_secs(8));
    let crash_at = c.now;
    c.crash(0);
    c.run_for(Duration::from_secs(3));
    let d = c.deaths(1, 0);
    assert_eq!(d.len(), 1);
    let took = d[0].duration_since(crash_at);
    assert!(took <= Duration::from_millis(1200), "took {took:?}");
    assert!(took >= Duration::from_millis(800), "took {took:?}");
    assert!(c.logs(1).iter().any(|l| l.ends_with("node a: is dead")));
    assert!(c.logs(1).iter().any(|l| l.ends_with("Link a:eth1 dead.")));
}

#[test]
fn announced_dt_is_honoured_during_startup() {
    // A node crashing 3 s after its start still announces dt = deadtime + 2 s.
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 4);
    c.run_for(Duration::from_secs(3));
    let took = death_seen_after_crash(&mut c);
    assert!(
        took >= Duration::from_millis(2800) && took <= Duration::from_millis(3250),
        "took {took:?}"
    );
}

/// Crashes node a now; how long b takes to declare it dead (5 s at most).
fn death_seen_after_crash(c: &mut Cluster) -> Duration {
    let crash_at = c.now;
    c.crash(0);
    c.run_for(Duration::from_secs(5));
    c.deaths(1, 0)[0].duration_since(crash_at)
}

/// A reload that changes only the timers (the daemon's SIGHUP, `set_timing`): the node
/// goes on without a restart, its heartbeats come at the new keepalive, and its peer applies
/// the new deadtime it announces in `dt`.
#[test]
fn new_timers_apply_without_a_restart() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 7);
    c.run_for(Duration::from_secs(8));
    let mut t = sim::lab_timing();
    t.keepalive = Duration::from_millis(100);
    t.deadtime = Duration::from_secs(3);
    t.warntime = Duration::from_millis(1500);
    let changed_at = c.now;
    c.nodes[0].m.set_timing(changed_at, t);
    let before = c.nodes[1].statuses_in[0].len();
    c.run_for(Duration::from_secs(2));
    let arrived: Vec<_> = c.nodes[1].statuses_in[0][before..]
        .iter()
        .map(|(at, _)| *at)
        .filter(|at| at.duration_since(changed_at) >= Duration::from_millis(500))
        .collect();
    // 1.5 s at 100 ms: about 15 statuses (at the old 200 ms: about 7).
    assert!(
        (13..=17).contains(&arrived.len()),
        "{} statuses in the 1.5 s after the change",
        arrived.len()
    );
    assert_eq!(c.status_of(1, 0), "active");
    assert!(c.deaths(1, 0).is_empty() && c.deaths(0, 1).is_empty());
    assert!(
        !c.logs(1)
            .iter()
            .any(|l| l.contains("Heartbeat restart on node a")),
        "{:#?}",
        c.logs(1)
    );
    let took = death_seen_after_crash(&mut c);
    assert!(
        took >= Duration::from_millis(2800) && took <= Duration::from_millis(3250),
        "b declared a dead after {took:?}: a announced a deadtime of 3 s"
    );
}

#[test]
fn restart_is_seen_with_the_higher_generation() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 5);
    c.run_for(Duration::from_secs(8));
    c.crash(0);
    c.run_for(Duration::from_secs(3));
    c.restart(0, 101);
    c.run_for(Duration::from_secs(4));
    assert_eq!(c.status_of(1, 0), "active");
    assert_eq!(
        c.nodes[1].m.peer("a").and_then(|p| p.generation()),
        Some(101)
    );
    assert!(
        c.logs(1)
            .iter()
            .any(|l| l.ends_with("Heartbeat restart on node a")),
        "{:#?}",
        c.logs(1)
    );
}

#[test]
fn replayed_old_generation_is_dropped() {
    let net = Net::clean(5);
    let mut c = Cluster::new(2, net, 6);
    c.run_for(Duration::from_secs(6));
    // Node a restarts with a lower generation: b must refuse it as a replay.
    c.crash(0);
    c.restart(0, 99);
    c.run_for(Duration::from_secs(4));
    assert!(c
        .logs(1)
        .iter()
        .any(|l| l.contains("attempted replay attack [a]? [gen = 99, curgen = 100]")));
    assert_eq!(c.status_of(1, 0), "dead");
    assert!(c.nodes[1].m.counters().replays > 0);
}

#[test]
fn lost_packets_are_retransmitted() {
    let net = Net {
        loss: 30,
        dup: 0,
        max_delay: Duration::from_millis(10),
    };
    let mut c = Cluster::new(2, net, 7);
    c.run_for(Duration::from_secs(20));
    let logs = c.logs(1).join("\n");
    assert!(logs.contains("lost packet(s) for [a]"), "{logs}");
    assert!(logs.contains("No pkts missing from a!"), "{logs}");
    assert!(c.nodes[0].m.counters().retransmitted > 0);
    assert!(c.nodes[1].m.counters().rexmit_requested > 0);
}

#[test]
fn partition_and_heal() {
    let net = Net::clean(5);
    let mut c = Cluster::new(3, net, 8);
    c.run_for(Duration::from_secs(8));
    c.partition(0, 1);
    c.partition(0, 2);
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.status_of(1, 0), "dead");
    assert_eq!(c.status_of(2, 0), "dead");
    assert_eq!(c.status_of(1, 2), "active");
    c.heal();
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.status_of(1, 0), "active");
    assert!(c
        .logs(1)
        .iter()
        .any(|l| l.ends_with("Cluster node a returning after partition.")));
}

/// The core property, on random networks and cluster sizes: no node is declared dead
/// while its heartbeats arrive within deadtime, and a crashed node is declared dead
/// by every live node within deadtime + keepalive.
#[test]
fn random_clusters_keep_the_membership_properties() {
    for_seeds("random_clusters", |seed| {
        let mut r = hb_core::rng::Rng::new(seed);
        let n = 2 + r.below(7) as usize;
        let net = Net {
            loss: r.below(25),
            dup: r.below(20),
            max_delay: Duration::from_millis(r.below(90)),
        };
        let mut c = Cluster::new(n, net.clone(), seed);
        let deadtime = Duration::from_secs(1);
        let keepalive = Duration::from_millis(200);
        // Steady state, with maybe a partition in the middle.
        c.run_for(Duration::from_secs(6 + r.below(3)));
        if r.below(3) == 0 && n > 2 {
            let a = r.below(n as u64) as usize;
            let b = (a + 1 + r.below(n as u64 - 1) as usize) % n;
            c.partition(a, b);
            c.run_for(Duration::from_millis(500 + r.below(2500)));
            c.heal();
            c.run_for(Duration::from_secs(4));
        }
        let victim = r.below(n as u64) as usize;
        let crash_at = c.now;
        c.crash(victim);
        c.run_for(Duration::from_secs(3));

        for obs in 0..n {
            for subj in 0..n {
                if obs == subj || obs == victim {
                    continue;
                }
                // Safety: every declaration of death came at least deadtime after the
                // last heartbeat that refreshed the node.
                let refreshes = c.refreshes(obs, subj);
                for d in c.deaths(obs, subj) {
                    let last = refreshes
                        .iter()
                        .filter(|t| **t < d)
                        .max()
                        .copied()
                        .unwrap_or(c.t0);
                    let quiet = d.duration_since(last);
                    assert!(
                        quiet >= deadtime,
                        "seed {seed}: {} declared {} dead after only {quiet:?} of silence (net {net:?})",
                        c.names[obs],
                        c.names[subj]
                    );
                }
            }
            if obs == victim {
                continue;
            }
            // Liveness: the victim is declared dead within deadtime + keepalive of its crash.
            let d = c.deaths(obs, victim);
            let last = d.last().copied();
            assert!(
                last.is_some_and(|t| t >= crash_at || c.status_of(obs, victim) == "dead"),
                "seed {seed}: {} never declared {} dead (net {net:?})",
                c.names[obs],
                c.names[victim]
            );
            if let Some(t) = last.filter(|t| *t >= crash_at) {
                assert!(
                    t.duration_since(crash_at) <= deadtime + keepalive,
                    "seed {seed}: {} declared {} dead {:?} after the crash",
                    c.names[obs],
                    c.names[victim],
                    t.duration_since(crash_at)
                );
            }
            assert_eq!(c.status_of(obs, victim), "dead", "seed {seed}");
        }
    });
}

/// `log_badpack` (2.0.8's quiet format errors): a datagram that does not decode is logged
/// with it on (the default), counted and not logged with it off.
#[test]
fn log_badpack_off_keeps_undecodable_packets_out_of_the_log() {
    for on in [true, false] {
        let net = Net {
            loss: 0,
            dup: 0,
            max_delay: Duration::from_millis(5),
        };
        let mut c = Cluster::new(2, net, 7);
        let cfg = hb_core::MembershipConfig {
            log_bad_packets: on,
            ..c.nodes[0].m.config().clone()
        };
        c.nodes[0].m = hb_core::Membership::new(cfg, c.now);
        c.run_for(Duration::from_secs(3));
        let now = c.now;
        c.nodes[0]
            .m
            .handle_datagram(now, sim::DEV, b"not a heartbeat message");
        c.run_for(Duration::from_secs(1));
        let logged = c
            .logs(0)
            .iter()
            .any(|l| l.contains("dropped packet from eth1"));
        assert_eq!(logged, on, "log_badpack {on}: {:?}", c.logs(0));
        let dropped: u64 = c.nodes[0].m.counters().dropped.iter().map(|(_, n)| n).sum();
        assert_eq!(dropped, 1, "log_badpack {on}");
        assert_eq!(c.status_of(0, 1), "active", "log_badpack {on}");
    }
}

/// `hopfudge`: every message's `ttl` is the number of nodes (ping nodes included) plus
/// hopfudge, as 2.0.8 sets it.
#[test]
fn hopfudge_and_the_nodes_make_the_ttl() {
    let c = Cluster::new(
        2,
        Net {
            loss: 0,
            dup: 0,
            max_delay: Duration::ZERO,
        },
        3,
    );
    for (hopfudge, ping_nodes, ttl) in [(1, 0, "3"), (5, 0, "7"), (0, 2, "4")] {
        let cfg = hb_core::MembershipConfig {
            hopfudge,
            ping_nodes,
            ..c.nodes[0].m.config().clone()
        };
        let mut m = hb_core::Membership::new(cfg, c.now);
        m.handle_timeout(c.now);
        let bytes = m.poll_transmit().expect("a first heartbeat");
        let d = hb_wire::decode(&bytes, &c.keys).expect("decodes");
        assert_eq!(
            d.msg.get("ttl"),
            Some(ttl),
            "hopfudge {hopfudge}, {ping_nodes} ping nodes"
        );
    }
}

/// A status field of ours (the configuration digests) goes out in every status made
/// after it is set, after the original's fields, and the peer still sees the node active.
#[test]
fn a_status_field_of_ours_is_in_every_status() {
    let mut c = Cluster::new(
        2,
        sim::Net {
            loss: 0,
            dup: 0,
            max_delay: Duration::ZERO,
        },
        3,
    );
    let cfg = c.nodes[0].m.config().clone();
    let mut m = hb_core::Membership::new(cfg, c.now);
    m.set_status_field("hbrs_cfg", "haresources:0123,checks:4567");
    m.set_status_field("hbrs_cfg", "haresources:89ab,checks:cdef");
    // The first two statuses were queued when the node was made; the next ones carry it.
    while m.poll_transmit().is_some() {}
    let later = c.now + Duration::from_secs(1);
    m.handle_timeout(later);
    let bytes = m.poll_transmit().expect("a heartbeat");
    let d = hb_wire::decode(&bytes, &c.keys).expect("decodes");
    assert_eq!(d.msg.get("t"), Some("status"));
    assert_eq!(d.msg.get("protocol"), Some("1"));
    assert_eq!(d.msg.get("hbrs_cfg"), Some("haresources:89ab,checks:cdef"));
    c.nodes[0].m = m;
    c.nodes[1]
        .m
        .set_status_field("hbrs_cfg", "haresources:1111,checks:2222");
    c.run_for(Duration::from_secs(3));
    assert_eq!(c.status_of(1, 0), "active");
    // Each side reads the other's field from its statuses (only fields it sends too).
    let name0 = c.nodes[0].m.name().to_string();
    let name1 = c.nodes[1].m.name().to_string();
    let p0 = c.nodes[1].m.peer(&name0).expect("peer");
    assert_eq!(
        p0.status_field("hbrs_cfg"),
        Some("haresources:89ab,checks:cdef")
    );
    assert_eq!(p0.status_field("st"), None);
    let p1 = c.nodes[0].m.peer(&name1).expect("peer");
    assert_eq!(
        p1.status_field("hbrs_cfg"),
        Some("haresources:1111,checks:2222")
    );
}

/// Ping nodes at start-up (2.0.8 check_comm_isup counts them among the nodes): a node
/// with a ping node goes active only once that ping node answered or was declared dead
/// at `initdead`; its peer without ping nodes goes active as soon as it heard from it.
#[test]
fn comm_up_waits_for_the_ping_nodes() {
    use hb_core::pingnodes::{PingNodeSpec, PingNodes, PingTiming};
    use std::net::Ipv4Addr;
    use std::time::Instant;
    const HOST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
    let comm_up_at = |c: &Cluster, i: usize| -> Option<Duration> {
        c.nodes[i]
            .events
            .iter()
            .find_map(|(t, e)| matches!(e, hb_core::Event::CommUp).then(|| t.duration_since(c.t0)))
    };
    for answers in [true, false] {
        let mut c = Cluster::new(2, Net::clean(5), 21);
        let timing = sim::lab_timing();
        let cfg = hb_core::MembershipConfig {
            ping_nodes: 1,
            ..c.nodes[0].m.config().clone()
        };
        let t0 = c.now;
        c.nodes[0].m = hb_core::Membership::new(cfg, t0);
        c.drain(0);
        let mut p = PingNodes::new(
            PingTiming::new(&timing, timing.deadtime),
            vec![PingNodeSpec::single("198.51.100.100", HOST)],
            t0,
        );
        let mut replies: Vec<(Instant, u16)> = Vec::new();
        let end = t0 + Duration::from_secs(5);
        while c.now < end {
            let now = c.now;
            while let Some((host, seq)) = p.poll_send(now) {
                assert_eq!(host, HOST);
                if answers {
                    replies.push((now + Duration::from_millis(10), seq));
                }
            }
            for &(_, seq) in replies.iter().filter(|(at, _)| *at <= now) {
                p.reply(now, HOST, seq);
            }
            replies.retain(|(at, _)| *at > now);
            if p.poll_timeout().is_some_and(|t| t <= now) {
                p.handle_timeout(now);
            }
            if p.all_heard_or_dead() {
                c.nodes[0].m.ping_nodes_known(now);
                c.drain(0);
            }
            let next_ping = [p.poll_timeout(), replies.iter().map(|r| r.0).min()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end);
            c.step(next_ping.min(end).max(now));
        }
        let ours = comm_up_at(&c, 0).expect("node 0 goes active");
        let peer = comm_up_at(&c, 1).expect("node 1 goes active");
        assert!(
            peer < Duration::from_secs(1),
            "peer without ping nodes: {peer:?}"
        );
        if answers {
            assert!(
                ours < Duration::from_secs(1),
                "the ping node answered: active at {ours:?}"
            );
        } else {
            // initdead is 2 s: the ping node is declared dead then, and only then the
            // node asks its peer for the node list and goes active.
            assert!(
                ours >= timing.initdead && ours < timing.initdead + Duration::from_millis(500),
                "silent ping node: active at {ours:?}, initdead {:?}",
                timing.initdead
            );
            assert_eq!(c.status_of(1, 0), "active");
        }
    }
}
