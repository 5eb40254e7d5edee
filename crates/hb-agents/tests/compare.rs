//! Our agents beside the originals (heartbeat's v1 wrappers over resource-agents), in
//! network namespaces of their own: the same steps on two identical labs, compared step
//! by step (exit status, stdout, and the node's addresses or routes afterwards).
//! They need root and the original agents, so they are `#[ignore]`d: compat-tests/test-all.sh
//! runs them as root (`--include-ignored`); asked for without what they need, they fail.

mod common;

use common::{last_line, need_lab, ours, Capture, Impl, Lab, ORIG_SEND_ARP};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One step: agent, argument, action.
type Step<'a> = (&'a str, &'a str, &'a str);

/// What a step left: the transcript line compared between implementations.
fn transcript(lab: &Lab, imp: Impl, steps: &[Step<'_>], routes: bool) -> Vec<String> {
    steps
        .iter()
        .map(|(agent, spec, op)| {
            let r = lab.agent(imp, agent, spec, op);
            let state = if routes { lab.routes() } else { lab.addrs() };
            format!(
                "{agent} {spec} {op} -> status {} stdout {:?} state {:?}",
                r.status, r.stdout, state
            )
        })
        .collect()
}

/// Runs `steps` on a lab of the original and a lab of ours (each prepared by `setup`)
/// and asserts the transcripts are equal.
fn compare(steps: &[Step<'_>], routes: bool, setup: impl Fn(&Lab)) {
    let (lo, lu) = (Lab::new(), Lab::new());
    setup(&lo);
    setup(&lu);
    let orig = transcript(&lo, Impl::Original, steps, routes);
    let ours = transcript(&lu, Impl::Ours, steps, routes);
    for (i, (o, u)) in orig.iter().zip(&ours).enumerate() {
        assert_eq!(o, u, "step {i} differs\noriginal: {o}\nours:     {u}");
    }
    assert_eq!(orig.len(), ours.len());
}

fn lifecycle(agent: &str, spec: &'static str) -> Vec<(String, &'static str, &'static str)> {
    [
        "status", "start", "status", "start", "stop", "stop", "status",
    ]
    .iter()
    .map(|op| (agent.to_string(), spec, *op))
    .collect()
}

fn steps_of<'a>(v: &'a [(String, &'static str, &'static str)]) -> Vec<Step<'a>> {
    v.iter().map(|(a, s, o)| (a.as_str(), *s, *o)).collect()
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_lifecycle_is_the_originals() {
    need_lab();
    let l = lifecycle("IPaddr", "198.51.100.10");
    compare(&steps_of(&l), false, |_| {});
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_forms_labels_and_broadcasts_are_the_originals() {
    need_lab();
    let specs = [
        "198.51.100.11/24/eth0",
        "198.51.100.12/25",
        "198.51.100.13/24/eth0/198.51.100.127",
        "198.51.100.14/24/198.51.100.255",
        "192.0.2.15/24/eth1",
        "198.51.100.16/255.255.255.0",
    ];
    let mut steps: Vec<Step<'_>> = specs.iter().map(|s| ("IPaddr", *s, "start")).collect();
    steps.extend(specs.iter().map(|s| ("IPaddr", *s, "status")));
    // Free a label in the middle, then add more: which labels get reused.
    steps.push(("IPaddr", specs[1], "stop"));
    steps.push(("IPaddr", "198.51.100.17", "start"));
    steps.push(("IPaddr", "198.51.100.18/24/eth0", "start"));
    steps.push(("IPaddr", specs[0], "stop"));
    steps.push(("IPaddr", "198.51.100.19/24/eth0", "start"));
    // Claims 0..5 on eth0; free 1, 3 and 5: the original starts looking at the number
    // of claims (3), not at the first free one (1).
    steps.push(("IPaddr", "198.51.100.17", "stop"));
    steps.push(("IPaddr", specs[3], "stop"));
    steps.push(("IPaddr", "198.51.100.18/24/eth0", "stop"));
    steps.push(("IPaddr", "198.51.100.20", "start"));
    steps.push(("IPaddr", "198.51.100.21", "start"));
    steps.extend(specs.iter().map(|s| ("IPaddr", *s, "stop")));
    compare(&steps, false, |_| {});
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_bad_arguments_fail_like_the_original_and_change_nothing() {
    need_lab();
    let bad = [
        "198.51.100.20/33",
        "198.51.100.20/abc",
        "198.51.100.20/0",
        "198.51.100.20/24/eth9",
        "198.51.100.300",
        "foo",
        // eth1 is down in this lab: only the default route covers it.
        "192.0.2.21",
        "192.0.2.21/24/eth9",
    ];
    let mut steps: Vec<Step<'_>> = Vec::new();
    for s in bad {
        steps.push(("IPaddr", s, "start"));
        steps.push(("IPaddr", s, "status"));
        steps.push(("IPaddr", s, "stop"));
    }
    let setup = |l: &Lab| l.node(&["link", "set", "eth1", "down"]);
    compare(&steps, false, setup);
    // And nothing changed: the transcript's states are all the starting one.
    let lab = Lab::new();
    setup(&lab);
    let before = lab.addrs();
    for (agent, spec, op) in &steps {
        let r = lab.agent(Impl::Ours, agent, spec, op);
        if *op == "start" {
            assert_ne!(r.status, 0, "{spec} start should fail");
            assert!(
                r.stderr.contains("ERROR"),
                "{spec}: a clear message on stderr, got {:?}",
                r.stderr
            );
        }
        assert_eq!(lab.addrs(), before, "{spec} {op} changed the addresses");
    }
    let claims: Vec<String> = std::fs::read_dir(&lab.rsc)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(':'))
        .collect();
    assert!(claims.is_empty(), "label claims left behind: {claims:?}");
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr2_lifecycle_is_the_originals() {
    need_lab();
    let l = lifecycle("IPaddr2", "198.51.100.30");
    compare(&steps_of(&l), false, |_| {});
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr2_forms_labels_and_broadcasts_are_the_originals() {
    need_lab();
    let specs = [
        "198.51.100.31/24/eth0:web",
        "192.0.2.32/24/eth1/192.0.2.255",
        "192.0.2.33",
        "198.51.100.34",
        "198.51.100.35/26",
        "198.51.100.36/24/eth0/+",
        "198.51.100.37/255.255.255.0/eth0",
    ];
    let mut steps: Vec<Step<'_>> = specs.iter().map(|s| ("IPaddr2", *s, "start")).collect();
    steps.extend(specs.iter().map(|s| ("IPaddr2", *s, "status")));
    steps.extend(specs.iter().map(|s| ("IPaddr2", *s, "monitor")));
    steps.extend(specs.iter().map(|s| ("IPaddr2", *s, "stop")));
    steps.extend(specs.iter().map(|s| ("IPaddr2", *s, "status")));
    compare(&steps, false, |_| {});
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr2_bad_arguments_fail_like_the_original() {
    need_lab();
    let bad = [
        "198.51.100.40/33",
        "198.51.100.40/255.255.0.255",
        "198.51.100.40/24/eth9",
        "198.51.100.300",
        "198.51.100.40/24/eth0:abcdefghijklmno",
        "192.0.2.41",
    ];
    let mut steps: Vec<Step<'_>> = Vec::new();
    for s in bad {
        steps.push(("IPaddr2", s, "start"));
        steps.push(("IPaddr2", s, "status"));
        steps.push(("IPaddr2", s, "stop"));
    }
    compare(&steps, false, |l| l.node(&["link", "set", "eth1", "down"]));
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipsrcaddr_is_the_originals() {
    need_lab();
    let steps: Vec<Step<'_>> = vec![
        ("IPsrcaddr", "198.51.100.50", "status"),
        ("IPsrcaddr", "198.51.100.60", "start"),
        ("IPsrcaddr", "198.51.100.50", "start"),
        ("IPsrcaddr", "198.51.100.50", "start"),
        ("IPsrcaddr", "198.51.100.50", "status"),
        ("IPsrcaddr", "198.51.100.1", "status"),
        ("IPsrcaddr", "198.51.100.50", "stop"),
        ("IPsrcaddr", "198.51.100.50", "status"),
        ("IPsrcaddr", "127.0.0.1", "start"),
        ("IPsrcaddr", "198.51.100", "start"),
        ("IPsrcaddr", "198.51.100", "stop"),
    ];
    let setup = |l: &Lab| l.node(&["addr", "add", "198.51.100.50/24", "dev", "eth0"]);
    compare(&steps, true, setup);
    // Without a default route start fails.
    let steps: Vec<Step<'_>> = vec![
        ("IPsrcaddr", "198.51.100.50", "start"),
        ("IPsrcaddr", "198.51.100.50", "status"),
    ];
    compare(&steps, true, |l| {
        setup(l);
        l.node(&["route", "del", "default"]);
    });
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn sendarp_is_the_originals() {
    need_lab();
    let mut l = lifecycle("SendArp", "198.51.100.70/eth0");
    l.push(("SendArp".into(), "198.51.100.71/", "start"));
    l.push(("SendArp".into(), "198.51.100.72/eth9", "start"));
    l.push(("SendArp".into(), "198.51.100.72/eth9", "status"));
    l.push(("SendArp".into(), "198.51.100.72/eth9", "stop"));
    l.push(("SendArp".into(), "198.51.100.72/eth9", "status"));
    compare(&steps_of(&l), false, |_| {});
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn findif_is_the_originals() {
    need_lab();
    let lab = Lab::new();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("OCF_RESKEY_ip", "198.51.100.10")],
        vec![("OCF_RESKEY_ip", "192.0.2.10")],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "25"),
        ],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "255.255.0.0"),
        ],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "255.255.0.255"),
        ],
        vec![
            ("OCF_RESKEY_ip", "198.51.100.10"),
            ("OCF_RESKEY_netmask", "16"),
        ],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "24"),
            ("OCF_RESKEY_nic", "eth0"),
            ("OCF_RESKEY_broadcast", "192.0.2.127"),
        ],
        vec![("OCF_RESKEY_ip", "127.0.0.5")],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "24"),
            ("OCF_RESKEY_nic", "eth9"),
        ],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "33"),
        ],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "0"),
        ],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_broadcast", "1.2.3"),
        ],
        vec![("OCF_RESKEY_ip", "192.0.2.300")],
        vec![],
    ];
    for vars in &cases {
        let o = lab.findif(Impl::Original, vars);
        let u = lab.findif(Impl::Ours, vars);
        assert_eq!(
            (o.status, &o.stdout),
            (u.status, &u.stdout),
            "findif {vars:?}"
        );
        if u.status != 0 {
            assert!(u.stderr.contains("findif: "), "a message for {vars:?}");
        }
    }
    // Only the default route covers it (eth1 down): a netmask is needed.
    lab.node(&["link", "set", "eth1", "down"]);
    for vars in [
        vec![("OCF_RESKEY_ip", "192.0.2.10")],
        vec![
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_cidr_netmask", "24"),
        ],
    ] {
        let o = lab.findif(Impl::Original, &vars);
        let u = lab.findif(Impl::Ours, &vars);
        assert_eq!(
            (o.status, &o.stdout),
            (u.status, &u.stdout),
            "findif {vars:?}"
        );
    }
}

/// Ours and the original share their state files: each stops what the other started.
#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ours_and_the_original_stop_each_others_addresses() {
    need_lab();
    let lab = Lab::new();
    let base = lab.addrs();
    for agent in ["IPaddr", "IPaddr2"] {
        for (a, b) in [(Impl::Original, Impl::Ours), (Impl::Ours, Impl::Original)] {
            assert_eq!(lab.agent(a, agent, "198.51.100.80", "start").status, 0);
            let st = lab.agent(b, agent, "198.51.100.80", "status");
            assert_eq!((st.status, last_line(&st.stdout)), (0, "INFO:  Running OK"));
            assert_eq!(lab.agent(b, agent, "198.51.100.80", "stop").status, 0);
            assert_eq!(lab.addrs(), base, "{agent}: {a:?} start, {b:?} stop");
            assert!(
                !lab.rsc.join("send_arp-198.51.100.80").exists(),
                "{agent}: the ARP sender of {a:?} is stopped by {b:?}"
            );
        }
    }
    let claims: Vec<String> = std::fs::read_dir(&lab.rsc)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(claims, vec!["IPaddr-eth0".to_string()]);
}

/// The gratuitous ARP as the client sees it: same packets, count and spacing as the
/// original's, and the client's neighbour table learns our MAC.
fn arp_compare(agent: &str, spec: &str, ip: &str, packets: usize, gap_ms: f64) {
    let mut seen = Vec::new();
    for imp in [Impl::Original, Impl::Ours] {
        let lab = Lab::new();
        lab.client_accepts_arp();
        let cap = Capture::start(&lab);
        let t0 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let r = lab.agent(imp, agent, spec, "start");
        assert_eq!(r.status, 0, "{imp:?} {agent} start: {r:?}");
        if imp == Impl::Ours {
            assert!(
                r.elapsed.as_millis() < 1000,
                "start returns at once, before the ARPs are all sent ({:?})",
                r.elapsed
            );
        }
        let wait = gap_ms * packets as f64 / 1000.0 + 0.8;
        std::thread::sleep(std::time::Duration::from_secs_f64(wait));
        let mac = lab.mac("eth0");
        let neigh = lab.client_neigh(ip);
        assert!(
            neigh.contains(&mac),
            "{imp:?}: the client learned {ip} at {mac}: {neigh:?}"
        );
        let Some(cap) = cap else { continue };
        let pk = cap.finish();
        assert_eq!(pk.len(), packets, "{imp:?} {agent}: {pk:?}");
        for (i, p) in pk.iter().enumerate() {
            assert_eq!(p.reply, i % 2 == 1, "{imp:?}: request and reply alternate");
            assert_eq!(p.ip, ip);
            assert_eq!(p.mac, mac);
        }
        let gaps: Vec<f64> = pk.windows(2).map(|w| (w[1].t - w[0].t) * 1000.0).collect();
        // The original's send_arp is a shell-started background process whose pace
        // slips on a loaded machine: its gaps are printed, ours are checked.
        if matches!(imp, Impl::Ours) {
            for g in &gaps {
                assert!(
                    (g - gap_ms).abs() < 60.0,
                    "{imp:?}: gap {g:.0} ms, want {gap_ms}"
                );
            }
        }
        let first = (pk[0].t - t0) * 1000.0;
        println!(
            "{agent} {imp:?}: {} packets, first {first:.1} ms after the start command began, gaps {:.0}-{:.0} ms",
            pk.len(),
            gaps.iter().cloned().fold(f64::MAX, f64::min),
            gaps.iter().cloned().fold(0.0, f64::max)
        );
        seen.push(pk.len());
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1]);
    }
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_arp_is_the_originals() {
    need_lab();
    arp_compare("IPaddr", "198.51.100.90", "198.51.100.90", 20, 250.0);
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr2_arp_is_the_originals() {
    need_lab();
    arp_compare("IPaddr2", "198.51.100.91", "198.51.100.91", 10, 100.0);
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn sendarp_arp_is_the_originals() {
    need_lab();
    arp_compare("SendArp", "198.51.100.1/eth0", "198.51.100.1", 10, 100.0);
}

/// heartbeat's IPaddr2 wrapper turns on LVS support: a /32 copy of the address on the
/// loopback device is moved away on start and put back on stop.
#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr2_moves_a_loopback_copy_like_the_original() {
    need_lab();
    let l = lifecycle("IPaddr2", "198.51.100.64");
    compare(&steps_of(&l), false, |lab| {
        lab.node(&["addr", "add", "198.51.100.64/32", "dev", "lo"])
    });
}

/// The `send_arp` program with 2.0.8's command line: the same packets (request then
/// reply, the given or the device's hardware address), exit statuses, and pid file
/// handling as the original (resource-agents' send_arp, 2.0.8's program).
#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn send_arp_program_is_the_originals() {
    need_lab();
    assert!(
        Path::new(ORIG_SEND_ARP).exists(),
        "the original {ORIG_SEND_ARP} is not installed (resource-agents)"
    );
    for imp in [Impl::Original, Impl::Ours] {
        let lab = Lab::new();
        let pid = lab.rsc.join("sa").join("send_arp-198.51.100.1");
        let pids = pid.display().to_string();
        let cap = Capture::start(&lab);
        let r = lab.send_arp(
            imp,
            &[
                "-i",
                "200",
                "-r",
                "3",
                "-p",
                &pids,
                "eth0",
                "198.51.100.1",
                "auto",
                "198.51.100.1",
                "ffffffffffff",
            ],
        );
        assert_eq!(r.status, 0, "{imp:?}: {r:?}");
        assert!(
            r.elapsed.as_millis() >= 450,
            "{imp:?}: 3 pairs 200 ms apart take 500 ms: {:?}",
            r.elapsed
        );
        assert!(!pid.exists(), "{imp:?}: the pid file is removed at the end");
        let r = lab.send_arp(
            imp,
            &[
                "-i",
                "100",
                "-r",
                "1",
                "-p",
                &pids,
                "eth0",
                "198.51.100.1",
                "02:00:00:00:00:09",
                "x",
                "y",
            ],
        );
        assert_eq!(r.status, 0, "{imp:?}: {r:?}");
        let mac = lab.mac("eth0");
        if let Some(cap) = cap {
            std::thread::sleep(Duration::from_millis(300));
            let pk = cap.finish();
            assert_eq!(pk.len(), 8, "{imp:?}: {pk:?}");
            for (i, p) in pk.iter().enumerate() {
                assert_eq!(p.reply, i % 2 == 1, "{imp:?}: request and reply alternate");
                assert_eq!(p.ip, "198.51.100.1");
                assert_eq!(p.mac, mac, "{imp:?}: sent from the device's address");
            }
            assert_eq!(pk[1].hw.as_deref(), Some(mac.as_str()), "{imp:?}: auto");
            // 2.0.8's parser skips a colon only when the address starts with one, so
            // the original announces 02:00:00:00:00:00 here; ours the address given.
            println!(
                "send_arp {imp:?}: 02:00:00:00:00:09 announced as {:?}",
                pk[7].hw
            );
            if imp == Impl::Ours {
                assert_eq!(pk[7].hw.as_deref(), Some("02:00:00:00:00:09"));
            }
            let gaps: Vec<f64> = pk[..6]
                .windows(2)
                .map(|w| (w[1].t - w[0].t) * 1000.0)
                .collect();
            println!("send_arp {imp:?}: gaps {gaps:.0?} ms");
            if imp == Impl::Ours {
                assert!(gaps.iter().all(|g| (g - 100.0).abs() < 60.0), "{gaps:?}");
            }
        }
        // Failures: usage, no such device, no pairs, a relative pid file.
        for (args, what) in [
            (
                vec!["-p", pids.as_str(), "eth0", "198.51.100.1", "auto", "x"],
                "four operands",
            ),
            (
                vec!["-z", "eth0", "198.51.100.1", "auto", "x", "y"],
                "unknown option",
            ),
            (
                vec![
                    "-p",
                    pids.as_str(),
                    "nosuch0",
                    "198.51.100.1",
                    "auto",
                    "x",
                    "y",
                ],
                "no device",
            ),
            (
                vec![
                    "-r",
                    "0",
                    "-p",
                    pids.as_str(),
                    "eth0",
                    "198.51.100.1",
                    "auto",
                    "x",
                    "y",
                ],
                "-r 0",
            ),
            (
                vec!["-p", "relative", "eth0", "198.51.100.1", "auto", "x", "y"],
                "relative pid file",
            ),
        ] {
            let r = lab.send_arp(imp, &args);
            assert_eq!(r.status, 1, "{imp:?} {what}: {r:?}");
            assert!(!pid.exists(), "{imp:?} {what}: no pid file left");
        }
        // A previous sender named in the pid file is stopped.
        let mut long = Command::new("ip");
        long.args(["netns", "exec", &lab.ns]);
        match imp {
            Impl::Original => long.arg(ORIG_SEND_ARP),
            Impl::Ours => long.arg(ours()).arg("send_arp"),
        };
        let mut old = long
            .args([
                "-i",
                "1000",
                "-r",
                "30",
                "-p",
                &pids,
                "eth0",
                "198.51.100.1",
                "auto",
                "x",
                "y",
            ])
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let t = Instant::now();
        while !pid.exists() && t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let r = lab.send_arp(
            imp,
            &[
                "-i",
                "10",
                "-r",
                "1",
                "-p",
                &pids,
                "eth0",
                "198.51.100.1",
                "auto",
                "x",
                "y",
            ],
        );
        assert_eq!(r.status, 0, "{imp:?}: {r:?}");
        let t = Instant::now();
        let ended = loop {
            if let Ok(Some(_)) = old.try_wait() {
                break true;
            }
            if t.elapsed() > Duration::from_secs(3) {
                let _ = old.kill();
                let _ = old.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(ended, "{imp:?}: the older sender was stopped");
    }
}
