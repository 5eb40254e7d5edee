//! Parsing ha.cf asks the resolver it is given, and nothing else on the host: host names
//! of `ucast`, `ping` and `ping_group`, and the `ha-cluster` port when no `udpport` line
//! names one. The configurations below name hosts and a port only the fake knows; were the
//! parser to ask the system (getaddrinfo, /etc/services), they would be refused or get
//! another port.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};

use ha_config::*;

/// Knows a few names under `.invalid` (a domain no real resolver answers for) and the
/// `ha-cluster` service on port 7000; records every question.
#[derive(Default)]
struct Fake {
    asked: RefCell<Vec<String>>,
}

impl Resolver for Fake {
    fn ipv4(&self, name: &str) -> Option<Ipv4Addr> {
        self.asked.borrow_mut().push(format!("host {name}"));
        match name {
            "peer-b.invalid" => Some(Ipv4Addr::new(198, 51, 100, 2)),
            "router.invalid" => Some(Ipv4Addr::new(198, 51, 100, 254)),
            "sw1.invalid" => Some(Ipv4Addr::new(192, 0, 2, 11)),
            _ => None,
        }
    }

    fn udp_service(&self, name: &str) -> Option<u16> {
        self.asked.borrow_mut().push(format!("service {name}"));
        (name == "ha-cluster").then_some(7000)
    }
}

const TEXT: &str = "\
keepalive 1
deadtime 10
node a b
ucast eth1 peer-b.invalid
ucast eth1 192.0.2.2
bcast eth0
ping router.invalid 198.51.100.9
ping_group sw sw1.invalid 192.0.2.12
";

#[test]
fn names_and_the_port_come_from_the_resolver_given() {
    let fake = Fake::default();
    let (c, d) = parse_hacf(TEXT, "ha.cf", &fake);
    let c = c.unwrap_or_else(|| panic!("refused: {d:?}"));
    assert!(
        matches!(&c.media[0], Medium::Ucast { addr, host: Some(h), port: 7000, .. }
            if *addr == IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)) && h == "peer-b.invalid"),
        "{:?}",
        c.media[0]
    );
    assert!(matches!(
        &c.media[1],
        Medium::Ucast {
            host: None,
            port: 7000,
            ..
        }
    ));
    assert!(matches!(&c.media[2], Medium::Bcast { port: 7000, .. }));
    assert_eq!(c.udpport, 7000);
    assert_eq!(c.parameter("udpport"), Some("7000"));
    assert_eq!(c.ping, vec!["router.invalid", "198.51.100.9"]);
    assert_eq!(c.ping_groups[0].hosts, vec!["sw1.invalid", "192.0.2.12"]);
    // Each name asked once, addresses never, the service once per read.
    assert_eq!(
        *fake.asked.borrow(),
        vec![
            "host peer-b.invalid",
            "service ha-cluster",
            "host router.invalid",
            "host sw1.invalid",
        ]
    );
}

#[test]
fn a_udpport_line_means_no_service_lookup() {
    let fake = Fake::default();
    let text = "udpport 694\nkeepalive 1\ndeadtime 10\nnode a\nucast eth1 192.0.2.2\n";
    let (c, d) = parse_hacf(text, "ha.cf", &fake);
    assert_eq!(c.map(|c| c.udpport), Some(694), "{d:?}");
    assert!(fake.asked.borrow().is_empty(), "{:?}", fake.asked.borrow());
}

#[test]
fn names_the_resolver_does_not_know_are_refused_as_the_original_refuses_them() {
    let text = TEXT.replace("router.invalid", "nosuch.invalid");
    let (c, d) = parse_hacf(&text, "ha.cf", &Fake::default());
    assert!(c.is_none());
    let d: Vec<String> = d.iter().map(|x| x.to_string()).collect();
    assert!(
        d.contains(&"ha.cf:7: ping: unknown host 'nosuch.invalid'".to_string()),
        "{d:?}"
    );
    // The resolver that knows nothing: every name refused, the port the original's
    // default.
    let (c, d) = parse_hacf(TEXT, "ha.cf", &NoResolver);
    assert!(c.is_none());
    let errors: Vec<String> = d
        .iter()
        .filter(|x| x.is_error())
        .map(|x| x.to_string())
        .collect();
    assert_eq!(
        errors,
        vec![
            "ha.cf:4: ucast: cannot resolve hostname 'peer-b.invalid'",
            "ha.cf:7: ping: unknown host 'router.invalid'",
            "ha.cf:8: ping_group sw: unknown host(s) sw1.invalid",
        ]
    );
    let (c, _) = parse_hacf(
        "keepalive 1\ndeadtime 10\nnode a\nbcast eth0\n",
        "ha.cf",
        &NoResolver,
    );
    assert_eq!(c.map(|c| c.udpport), Some(694));
}

#[test]
fn load_dir_passes_the_resolver_to_the_parser() {
    let dir = std::env::temp_dir().join(format!("ha-config-resolver-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ha.cf"), TEXT).unwrap();
    std::fs::write(dir.join("haresources"), "a 198.51.100.254\n").unwrap();
    std::fs::write(dir.join("authkeys"), "auth 1\n1 crc\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("authkeys"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let fake = Fake::default();
    let l = load_dir_on(&dir, &AnyMachine, &fake).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.hacf.udpport, 7000);
    assert_eq!(fake.asked.borrow().len(), 4);
    let r = config_test_on(&dir, Some("a"), &AnyMachine, &Fake::default());
    assert!(r.errors.is_empty(), "{}", r.text());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_system_resolver_reads_the_services_file_it_is_given() {
    let dir = std::env::temp_dir().join(format!("ha-config-services-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let services = dir.join("services");
    std::fs::write(&services, "ha-cluster 694/tcp\nha-cluster 6940/udp # x\n").unwrap();
    let r = SystemResolver::with_services(&services);
    assert_eq!(r.udp_service("ha-cluster"), Some(6940));
    let (c, _) = parse_hacf(
        "keepalive 1\ndeadtime 10\nnode a\nucast eth1 192.0.2.2\n",
        "ha.cf",
        &r,
    );
    assert_eq!(c.map(|c| c.udpport), Some(6940));
    // No file: no service, the default port.
    let r = SystemResolver::with_services(&dir.join("absent"));
    assert_eq!(r.udp_service("ha-cluster"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hb_standby_reads_auto_failback_without_resolving() {
    // A name no resolver knows does not matter: auto_failback_of asks none.
    assert_eq!(
        auto_failback_of("ucast eth1 peer-b.invalid\nauto_failback on\n"),
        AutoFailback::On
    );
    assert_eq!(
        auto_failback_of("ping nosuch.invalid\n"),
        AutoFailback::Legacy
    );
}
