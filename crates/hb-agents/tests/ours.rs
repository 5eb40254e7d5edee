//! Behaviour of ours where it deliberately differs from the installed original, and
//! properties the comparison cannot show. They need root and the original agents, so they are
//! `#[ignore]`d: compat-tests/test-all.sh runs them as root (`--include-ignored`); asked for
//! without what they need, they fail.

mod common;

use common::{last_line, need_lab, Impl, Lab};
use std::time::Duration;

fn claims(lab: &Lab) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&lab.rsc)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("IPaddr-") && n.contains(':'))
        .collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_skips_a_label_someone_else_uses() {
    need_lab();
    let lab = Lab::new();
    lab.node(&[
        "addr",
        "add",
        "198.51.100.60/24",
        "dev",
        "eth0",
        "label",
        "eth0:0",
    ]);
    let r = lab.agent(Impl::Ours, "IPaddr", "198.51.100.62", "start");
    assert_eq!(r.status, 0, "{r:?}");
    let a = lab.addrs();
    assert!(
        a.iter()
            .any(|l| l.contains("198.51.100.60/24") && l.ends_with("eth0:0")),
        "{a:?}"
    );
    assert!(
        a.iter()
            .any(|l| l.contains("198.51.100.62/24") && l.ends_with("eth0:1")),
        "{a:?}"
    );
    assert_eq!(
        lab.agent(Impl::Ours, "IPaddr", "198.51.100.62", "stop")
            .status,
        0
    );
    assert!(lab.addrs().iter().any(|l| l.contains("198.51.100.60/24")));
    assert!(claims(&lab).is_empty());
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_without_interface_uses_the_one_findif_finds() {
    need_lab();
    let lab = Lab::new();
    let r = lab.agent(Impl::Ours, "IPaddr", "192.0.2.10", "start");
    assert_eq!(
        (r.status, last_line(&r.stdout)),
        (0, "INFO:  Success"),
        "{r:?}"
    );
    assert!(lab.addrs().contains(
        &"eth1 inet 192.0.2.10/24 brd 192.0.2.255 scope global secondary eth1:0".to_string()
    ));
    let r = lab.agent(Impl::Ours, "IPaddr", "192.0.2.10", "status");
    assert_eq!((r.status, last_line(&r.stdout)), (0, "INFO:  Running OK"));
    // The original (resource-agents 4.12) defaults the interface to eth0 and refuses.
    let o = lab.agent(Impl::Original, "IPaddr", "192.0.2.11", "start");
    println!(
        "original IPaddr 192.0.2.11 start: status {} {:?}",
        o.status, o.stdout
    );
    assert_eq!(
        lab.agent(Impl::Ours, "IPaddr", "192.0.2.10", "stop").status,
        0
    );
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_refuses_a_down_interface_or_a_duplicate_and_changes_nothing() {
    need_lab();
    let lab = Lab::new();
    lab.node(&["link", "set", "eth1", "down"]);
    lab.node(&["addr", "add", "198.51.100.63/24", "dev", "eth0"]);
    let before = lab.addrs();
    for spec in ["192.0.2.10/24/eth1", "198.51.100.63"] {
        let r = lab.agent(Impl::Ours, "IPaddr", spec, "start");
        assert_eq!(
            (r.status, last_line(&r.stdout)),
            (1, "ERROR:  Generic error"),
            "{spec}"
        );
        assert!(r.stderr.contains("ERROR: "), "{spec}: {:?}", r.stderr);
        assert_eq!(lab.addrs(), before, "{spec}");
        assert!(claims(&lab).is_empty(), "{spec}: {:?}", claims(&lab));
    }
    // Held on another interface's alias: start and status fail, nothing added.
    lab.node(&["link", "set", "eth1", "up"]);
    assert_eq!(
        lab.agent(Impl::Ours, "IPaddr", "198.51.100.61/24/eth1", "start")
            .status,
        0
    );
    let before = lab.addrs();
    let r = lab.agent(Impl::Ours, "IPaddr", "198.51.100.61/24/eth0", "start");
    assert_eq!(r.status, 1, "{r:?}");
    assert_eq!(lab.addrs(), before);
    assert_eq!(
        lab.agent(Impl::Ours, "IPaddr", "198.51.100.61/24/eth0", "status")
            .status,
        1
    );
    assert_eq!(
        lab.agent(Impl::Ours, "IPaddr", "198.51.100.61/24/eth1", "status")
            .status,
        0
    );
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipaddr_monitor_pings() {
    need_lab();
    let lab = Lab::new();
    assert_eq!(
        lab.agent(Impl::Ours, "IPaddr", "198.51.100.10", "start")
            .status,
        0
    );
    let r = lab.agent(Impl::Ours, "IPaddr", "198.51.100.10", "monitor");
    assert_eq!((r.status, r.stdout.as_str()), (0, ""));
    let r = lab.agent(Impl::Ours, "IPaddr", "198.51.100.11", "monitor");
    assert_eq!((r.status, r.stdout.as_str()), (1, ""));
    assert!(r.elapsed < Duration::from_secs(10));
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn start_returns_before_the_arp_is_done_even_with_piped_output() {
    need_lab();
    let lab = Lab::new();
    // 10 x 500 ms of ARP: start must not wait for it, nor hold our pipes open.
    let r = lab.agent(Impl::Ours, "IPaddr", "198.51.100.10", "start");
    assert_eq!(r.status, 0);
    assert!(r.elapsed < Duration::from_millis(500), "{:?}", r.elapsed);
    let pidfile = lab.rsc.join("send_arp-198.51.100.10");
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().parse().unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "send_arp");
    let r = lab.agent(Impl::Ours, "IPaddr", "198.51.100.10", "stop");
    assert_eq!(r.status, 0);
    assert!(!pidfile.exists());
    std::thread::sleep(Duration::from_millis(200));
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false);
    assert!(!alive, "the ARP sender was stopped");
}

#[test]
#[ignore = "needs root, ip and the original agents (resource-agents, heartbeat): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipsrcaddr_stop_is_idempotent() {
    need_lab();
    let lab = Lab::new();
    lab.node(&["addr", "add", "198.51.100.50/24", "dev", "eth0"]);
    assert_eq!(
        lab.agent(Impl::Ours, "IPsrcaddr", "198.51.100.50", "start")
            .status,
        0
    );
    assert!(lab
        .routes()
        .iter()
        .any(|r| r.starts_with("default") && r.contains("src 198.51.100.50")));
    for _ in 0..2 {
        let r = lab.agent(Impl::Ours, "IPsrcaddr", "198.51.100.50", "stop");
        assert_eq!((r.status, last_line(&r.stdout)), (0, "INFO:  Success"));
    }
    assert!(lab
        .routes()
        .iter()
        .any(|r| r.starts_with("default") && r.contains("src 198.51.100.1")));
}
