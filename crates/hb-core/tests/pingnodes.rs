//! Ping and ping_group nodes in virtual time: the echo schedule, reply matching, the states
//! `init` -> `ping` -> `dead` -> `ping`, the log lines and the messages for the API clients.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hb_core::pingnodes::{PingEvent, PingNodeSpec, PingNodes, PingStatus, PingTiming};
use hb_core::Level;

const KEEPALIVE: u64 = 200;
const DEADPING: u64 = 1000;
const INITDEAD: u64 = 3000;
const WARNTIME: u64 = 500;
const RTT: u64 = 10;

const H1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
const G1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const G2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn timing() -> PingTiming {
    PingTiming {
        keepalive: ms(KEEPALIVE),
        deadping: ms(DEADPING),
        initdead: ms(INITDEAD),
        warntime: ms(WARNTIME),
    }
}

fn specs() -> Vec<PingNodeSpec> {
    vec![
        PingNodeSpec::single("198.51.100.100", H1),
        PingNodeSpec::group("Routers", vec![G1, G2]),
    ]
}

/// A virtual network: which hosts answer, with a fixed round-trip time.
struct Sim {
    t0: Instant,
    now: Instant,
    p: PingNodes,
    answering: Vec<Ipv4Addr>,
    in_flight: Vec<(Instant, Ipv4Addr, u16)>,
    /// Every event, with its time in ms since start.
    events: Vec<(u64, PingEvent)>,
    sent: Vec<(u64, Ipv4Addr, u16)>,
}

impl Sim {
    fn new(answering: &[Ipv4Addr]) -> Sim {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            p: PingNodes::new(timing(), specs(), t0),
            answering: answering.to_vec(),
            in_flight: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn at(&self) -> u64 {
        (self.now - self.t0).as_millis() as u64
    }

    fn step(&mut self) {
        let now = self.now;
        let mut due: Vec<_> = self
            .in_flight
            .iter()
            .copied()
            .filter(|f| f.0 <= now)
            .collect();
        self.in_flight.retain(|f| f.0 > now);
        due.sort();
        for (_, host, seq) in due {
            self.p.reply(now, host, seq);
        }
        self.p.handle_timeout(now);
        while let Some((host, seq)) = self.p.poll_send(now) {
            self.sent.push((self.at(), host, seq));
            if self.answering.contains(&host) {
                self.in_flight.push((now + ms(RTT), host, seq));
            }
        }
        while let Some(e) = self.p.poll_event() {
            self.events.push((self.at(), e));
        }
    }

    /// Run until `until_ms` since start, waking at every deadline and reply.
    fn run_to(&mut self, until_ms: u64) {
        let end = self.t0 + ms(until_ms);
        loop {
            self.step();
            let next = self
                .p
                .poll_timeout()
                .into_iter()
                .chain(self.in_flight.iter().map(|f| f.0))
                .min();
            match next {
                Some(t) if t <= end => {
                    assert!(t >= self.now, "deadline in the past");
                    // A deadline equal to now was just served; move on by at least 1 ms.
                    self.now = if t == self.now { t + ms(1) } else { t };
                    if self.now > end {
                        self.now = end;
                        self.step();
                        return;
                    }
                }
                _ => {
                    self.now = end;
                    self.step();
                    return;
                }
            }
        }
    }

    fn logs(&self) -> Vec<(u64, Level, String)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                PingEvent::Log(l, s) => Some((*t, *l, s.clone())),
                _ => None,
            })
            .collect()
    }

    fn log_texts(&self) -> Vec<String> {
        self.logs().into_iter().map(|l| l.2).collect()
    }

    fn status(&self, name: &str) -> PingStatus {
        self.p.node(name).expect("node").status
    }
}

#[test]
fn nodes_start_init_with_their_link_dead() {
    let s = Sim::new(&[]);
    let v: Vec<_> = s.p.nodes().collect();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].name, "198.51.100.100");
    assert_eq!(v[1].name, "routers", "node names are lowercased");
    assert_eq!(v[1].hosts, &[G1, G2]);
    for n in &v {
        assert_eq!(n.status, PingStatus::Init);
        assert_eq!(n.status.as_str(), "init");
        assert!(!n.link_up);
        assert_eq!(n.link(), n.name);
        assert_eq!(n.link_status(), "dead");
    }
    assert_eq!(v[0].start_log_line(), "ping heartbeat started.");
    assert_eq!(v[1].start_log_line(), "ping group heartbeat started.");
    assert!(s.p.node("ROUTERS").is_some(), "lookup ignores case");
    assert!(!s.p.all_heard_or_dead());
    assert_eq!(s.p.alive_count(), 0);
}

#[test]
fn one_round_of_echoes_per_keepalive_from_the_start() {
    let mut s = Sim::new(&[]);
    s.run_to(1000);
    // Rounds at 0, 200, ..., 1000: six rounds of three echoes (one per host).
    let mut rounds: BTreeMap<u64, Vec<Ipv4Addr>> = BTreeMap::new();
    for (t, h, _) in &s.sent {
        rounds.entry(*t).or_default().push(*h);
    }
    assert_eq!(
        rounds.keys().copied().collect::<Vec<_>>(),
        vec![0, 200, 400, 600, 800, 1000]
    );
    for hosts in rounds.values() {
        assert_eq!(hosts, &vec![H1, G1, G2]);
    }
    // Every request has its own sequence number.
    let seqs: Vec<u16> = s.sent.iter().map(|x| x.2).collect();
    assert_eq!(seqs, (0..18).collect::<Vec<u16>>());
    // Nothing more is due before the next round.
    let mut p = PingNodes::new(timing(), specs(), s.t0);
    let t = s.t0;
    assert_eq!(p.poll_send(t), Some((H1, 0)));
    assert_eq!(p.poll_send(t), Some((G1, 1)));
    assert_eq!(p.poll_send(t), Some((G2, 2)));
    assert_eq!(p.poll_send(t), None);
    assert_eq!(p.poll_send(t + ms(199)), None);
    assert_eq!(p.poll_timeout(), Some(t + ms(200)));
    assert_eq!(p.poll_send(t + ms(200)), Some((H1, 3)));
}

#[test]
fn a_late_loop_does_not_send_a_burst_of_rounds() {
    let t0 = Instant::now();
    let mut p = PingNodes::new(timing(), specs(), t0);
    while p.poll_send(t0).is_some() {}
    // The loop was stalled for ten keepalives: one round, then the next a keepalive later.
    let late = t0 + ms(2050);
    let n = std::iter::from_fn(|| p.poll_send(late)).count();
    assert_eq!(n, 3);
    assert_eq!(p.poll_send(late), None);
    assert_eq!(
        p.poll_timeout(),
        Some(late + ms(200)),
        "next round before initdead"
    );
    assert_eq!(p.poll_send(late + ms(199)), None);
    assert!(p.poll_send(late + ms(200)).is_some());
}

#[test]
fn first_reply_brings_link_up_then_status_ping_with_client_messages() {
    let mut s = Sim::new(&[H1]);
    s.run_to(RTT);
    let got: Vec<_> = s.events.iter().map(|e| e.1.clone()).collect();
    assert_eq!(
        got,
        vec![
            PingEvent::Log(Level::Info, "Link 198.51.100.100:198.51.100.100 up.".into()),
            PingEvent::Link {
                node: "198.51.100.100".into(),
                link: "198.51.100.100".into(),
                up: true
            },
            PingEvent::Log(
                Level::Info,
                "Status update for node 198.51.100.100: status ping".into()
            ),
            PingEvent::Status {
                node: "198.51.100.100".into(),
                status: PingStatus::Ping,
                group: false
            },
        ]
    );
    assert_eq!(s.status("198.51.100.100"), PingStatus::Ping);
    assert!(s.p.node("198.51.100.100").expect("node").link_up);
    assert_eq!(s.p.alive_count(), 1);

    let ts = 0x6b06db0e;
    let link = got[1].client_message(ts).expect("ifstat");
    assert_eq!(link.get("t"), Some("ifstat"));
    assert_eq!(link.get("node"), Some("198.51.100.100"));
    assert_eq!(link.get("ifname"), Some("198.51.100.100"));
    assert_eq!(link.get("st"), Some("up"));
    let st = got[3].client_message(ts).expect("NS_st");
    let fields: Vec<(String, String)> = st
        .fields
        .iter()
        .map(|f| {
            (
                String::from_utf8_lossy(&f.name).into_owned(),
                st.get(&String::from_utf8_lossy(&f.name))
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("t", "NS_st"),
            ("st", "ping"),
            ("info", "ping"),
            ("src", "198.51.100.100"),
            ("ts", "6b06db0e")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .to_vec()
    );
    assert!(
        got[0].client_message(ts).is_none(),
        "log lines go to no client"
    );

    // Further replies change nothing: no more events about it while it keeps answering
    // (the silent group dies at initdead meanwhile).
    let before = s.events.len();
    s.run_to(5000);
    let about_h1: Vec<_> = s.events[before..]
        .iter()
        .filter(|(_, e)| format!("{e:?}").contains("198.51.100.100"))
        .collect();
    assert!(about_h1.is_empty(), "{about_h1:?}");
    assert_eq!(s.status("routers"), PingStatus::Dead);
}

#[test]
fn replies_count_once_and_only_for_our_requests() {
    let t0 = Instant::now();
    let mut p = PingNodes::new(timing(), specs(), t0);
    let sent: Vec<_> = std::iter::from_fn(|| p.poll_send(t0)).collect();
    assert_eq!(sent, vec![(H1, 0), (G1, 1), (G2, 2)]);
    let t = t0 + ms(5);
    assert!(!p.reply(t, H1, 7), "a sequence number we did not send");
    assert!(!p.reply(t, G1, 0), "sent to another host");
    assert!(!p.reply(t, Ipv4Addr::new(192, 0, 2, 99), 1), "a stranger");
    assert!(p.poll_event().is_none(), "nothing counted");
    assert_eq!(p.node("routers").expect("g").status, PingStatus::Init);
    assert!(p.reply(t, G2, 2));
    assert!(!p.reply(t, G2, 2), "a duplicate");
    assert!(p.reply(t, G1, 1), "the other host of the group, same round");
    let ev: Vec<_> = std::iter::from_fn(|| p.poll_event()).collect();
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, PingEvent::Status { .. }))
            .count(),
        1,
        "one status change for the group: {ev:?}"
    );
    assert_eq!(p.node("routers").expect("g").status, PingStatus::Ping);
    assert_eq!(
        p.node("198.51.100.100").expect("h").status,
        PingStatus::Init
    );
}

#[test]
fn silent_node_dies_at_initdead_before_comm_up() {
    let mut s = Sim::new(&[G1]);
    s.run_to(INITDEAD - 1);
    assert_eq!(s.status("198.51.100.100"), PingStatus::Init);
    assert!(
        !s.p.all_heard_or_dead(),
        "the silent node holds comm-up back"
    );
    s.run_to(INITDEAD + 500);
    assert_eq!(s.status("198.51.100.100"), PingStatus::Dead);
    assert!(s.p.all_heard_or_dead());
    let dead: Vec<_> = s
        .logs()
        .into_iter()
        .filter(|l| l.2.contains("is dead"))
        .collect();
    assert_eq!(
        dead,
        vec![(INITDEAD, Level::Warn, "node 198.51.100.100: is dead".into())]
    );
    // Its link was never up: no link line.
    assert!(!s
        .log_texts()
        .iter()
        .any(|l| l.contains("198.51.100.100 dead.")));
    let st = s
        .events
        .iter()
        .find_map(|(_, e)| match e {
            PingEvent::Status {
                status: PingStatus::Dead,
                ..
            } => Some(e.clone()),
            _ => None,
        })
        .expect("dead status event");
    let m = st.client_message(0x6b06db0f).expect("status msg");
    assert_eq!(m.get("t"), Some("status"));
    assert_eq!(m.get("seq"), Some("1"));
    assert_eq!(m.get("ts"), Some("6b06db0f"));
    assert_eq!(m.get("src"), Some("198.51.100.100"));
    assert_eq!(m.get("st"), Some("dead"));
    assert_eq!(m.get("info"), Some("ping"));
    // The group kept answering through G1.
    assert_eq!(s.status("routers"), PingStatus::Ping);
}

#[test]
fn after_comm_up_a_node_dies_deadping_after_its_last_reply_node_then_link() {
    let mut s = Sim::new(&[H1, G1, G2]);
    s.run_to(1000);
    s.p.comm_up(s.now);
    assert_eq!(s.p.dead_time(), ms(DEADPING));
    // H1 stops answering after the round at 1000 ms: last reply at 1010 ms.
    s.answering = vec![G1, G2];
    s.run_to(1010 + DEADPING - 1);
    assert_eq!(s.status("198.51.100.100"), PingStatus::Ping);
    let n = s.events.len();
    s.run_to(1010 + DEADPING + 100);
    assert_eq!(s.status("198.51.100.100"), PingStatus::Dead);
    let got: Vec<_> = s.events[n..].to_vec();
    assert_eq!(
        got,
        vec![
            (
                1010 + DEADPING,
                PingEvent::Log(Level::Warn, "node 198.51.100.100: is dead".into())
            ),
            (
                1010 + DEADPING,
                PingEvent::Status {
                    node: "198.51.100.100".into(),
                    status: PingStatus::Dead,
                    group: false
                }
            ),
            (
                1010 + DEADPING,
                PingEvent::Log(
                    Level::Info,
                    "Link 198.51.100.100:198.51.100.100 dead.".into()
                )
            ),
            (
                1010 + DEADPING,
                PingEvent::Link {
                    node: "198.51.100.100".into(),
                    link: "198.51.100.100".into(),
                    up: false
                }
            ),
        ]
    );
    let ifstat = got[3].1.client_message(1).expect("ifstat");
    assert_eq!(ifstat.get("st"), Some("dead"));
    assert_eq!(s.p.alive_count(), 1);
    assert!(!s.p.node("198.51.100.100").expect("n").link_up);
}

#[test]
fn a_group_lives_while_any_host_answers() {
    let mut s = Sim::new(&[G1, G2]);
    s.run_to(500);
    s.p.comm_up(s.now);
    // Hosts take turns going silent; the group never dies.
    s.answering = vec![G2];
    s.run_to(3000);
    s.answering = vec![G1];
    s.run_to(6000);
    assert_eq!(s.status("routers"), PingStatus::Ping);
    assert!(!s.log_texts().iter().any(|l| l.contains("routers: is dead")));
    // Then both: dead deadping after the last reply (round at 6000, reply at 6010).
    s.answering = vec![];
    s.run_to(6010 + DEADPING + 50);
    assert_eq!(s.status("routers"), PingStatus::Dead);
    let dead_at: Vec<_> = s
        .logs()
        .into_iter()
        .filter(|l| l.2 == "node routers: is dead")
        .map(|l| l.0)
        .collect();
    assert_eq!(dead_at, vec![6010 + DEADPING]);
    let group_status = s
        .events
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            PingEvent::Status { node, group, .. } if node == "routers" => Some(*group),
            _ => None,
        })
        .expect("group status event");
    assert!(group_status);
    assert_eq!(
        PingEvent::Status {
            node: "routers".into(),
            status: PingStatus::Ping,
            group: true
        }
        .client_message(2)
        .expect("m")
        .get("info"),
        Some("ping_group")
    );
}

#[test]
fn a_node_that_answers_again_comes_back_with_a_late_heartbeat_warning() {
    let mut s = Sim::new(&[H1, G1]);
    s.run_to(400);
    s.p.comm_up(s.now);
    s.answering = vec![G1];
    s.run_to(2500);
    assert_eq!(s.status("198.51.100.100"), PingStatus::Dead);
    let n = s.events.len();
    s.answering = vec![H1, G1];
    s.run_to(3500);
    // Last reply at 410 ms; the next round after 2500 is at 2600, its reply at 2610.
    let got: Vec<_> = s.events[n..]
        .iter()
        .filter(|(_, e)| match e {
            PingEvent::Log(_, t) => t.contains("198.51.100.100"),
            PingEvent::Link { node, .. } | PingEvent::Status { node, .. } => {
                node == "198.51.100.100"
            }
        })
        .cloned()
        .collect();
    assert_eq!(
        got,
        vec![
            (
                2610,
                PingEvent::Log(Level::Info, "Link 198.51.100.100:198.51.100.100 up.".into())
            ),
            (
                2610,
                PingEvent::Link {
                    node: "198.51.100.100".into(),
                    link: "198.51.100.100".into(),
                    up: true
                }
            ),
            (
                2610,
                PingEvent::Log(
                    Level::Warn,
                    "Late heartbeat: Node 198.51.100.100: interval 2200 ms".into()
                )
            ),
            (
                2610,
                PingEvent::Log(
                    Level::Info,
                    "Status update for node 198.51.100.100: status ping".into()
                )
            ),
            (
                2610,
                PingEvent::Status {
                    node: "198.51.100.100".into(),
                    status: PingStatus::Ping,
                    group: false
                }
            ),
        ]
    );
}

#[test]
fn late_heartbeat_is_logged_only_beyond_warntime() {
    let t0 = Instant::now();
    let mut p = PingNodes::new(timing(), vec![PingNodeSpec::single("h", H1)], t0);
    let seq_at = |p: &mut PingNodes, t: Instant| {
        let mut last = None;
        while let Some((_, s)) = p.poll_send(t) {
            last = Some(s);
        }
        last
    };
    // The first reply comes 400 ms after start (the original measures from start): no warning.
    let s0 = seq_at(&mut p, t0).expect("round");
    assert!(p.reply(t0 + ms(400), H1, s0));
    // Then exactly warntime later: still no warning (it must be exceeded).
    let s1 = seq_at(&mut p, t0 + ms(400)).expect("round");
    assert!(p.reply(t0 + ms(400 + WARNTIME), H1, s1));
    // Then 1 ms more than warntime later: a warning, the node stays `ping` (no status line).
    let s2 = seq_at(&mut p, t0 + ms(900)).expect("round");
    assert!(p.reply(t0 + ms(900 + WARNTIME + 1), H1, s2));
    let logs: Vec<_> = std::iter::from_fn(|| p.poll_event())
        .filter_map(|e| match e {
            PingEvent::Log(l, t) => Some((l, t)),
            _ => None,
        })
        .collect();
    assert_eq!(
        logs,
        vec![
            (Level::Info, "Link h:h up.".to_string()),
            (
                Level::Info,
                "Status update for node h: status ping".to_string()
            ),
            (
                Level::Warn,
                "Late heartbeat: Node h: interval 501 ms".to_string()
            ),
        ]
    );

    // A first reply more than warntime after start is late too.
    let mut q = PingNodes::new(timing(), vec![PingNodeSpec::single("h", H1)], t0);
    let mut last = 0;
    for k in 0..4 {
        while let Some((_, s)) = q.poll_send(t0 + ms(200 * k)) {
            last = s;
        }
    }
    assert!(q.reply(t0 + ms(610), H1, last));
    let late: Vec<_> = std::iter::from_fn(|| q.poll_event())
        .filter(|e| matches!(e, PingEvent::Log(Level::Warn, _)))
        .collect();
    assert_eq!(
        late,
        vec![PingEvent::Log(
            Level::Warn,
            "Late heartbeat: Node h: interval 610 ms".into()
        )]
    );
}

#[test]
fn comm_up_switches_a_never_heard_node_to_deadping() {
    let t0 = Instant::now();
    let mut p = PingNodes::new(timing(), vec![PingNodeSpec::single("h", H1)], t0);
    while p.poll_send(t0).is_some() {}
    assert_eq!(p.dead_time(), ms(INITDEAD));
    p.handle_timeout(t0 + ms(DEADPING + 1));
    assert_eq!(p.node("h").expect("h").status, PingStatus::Init);
    p.comm_up(t0 + ms(DEADPING + 1));
    assert_eq!(p.dead_time(), ms(DEADPING));
    p.handle_timeout(t0 + ms(DEADPING + 1));
    assert_eq!(p.node("h").expect("h").status, PingStatus::Dead);
    // A dead node with its link down has no deadline left; only the rounds remain.
    assert_eq!(p.poll_timeout(), Some(t0 + ms(KEEPALIVE)));
    while p.poll_send(t0 + ms(KEEPALIVE)).is_some() {}
    assert_eq!(p.poll_timeout(), Some(t0 + ms(2 * KEEPALIVE)));
}

#[test]
fn stop_ends_sending_and_judging() {
    let mut s = Sim::new(&[H1]);
    s.run_to(300);
    s.p.stop();
    let t = s.now + ms(10_000);
    assert_eq!(s.p.poll_send(t), None);
    assert_eq!(s.p.poll_timeout(), None);
    s.p.handle_timeout(t);
    assert_eq!(s.status("198.51.100.100"), PingStatus::Ping);
    assert!(!s.p.reply(t, H1, 0));
}

#[test]
fn no_nodes_no_work() {
    let t0 = Instant::now();
    let mut p = PingNodes::new(timing(), vec![], t0);
    assert_eq!(p.poll_send(t0), None);
    assert_eq!(p.poll_timeout(), None);
    assert!(p.all_heard_or_dead());
}
