use std::path::Path;

use super::*;
use ha_config::{parse_authkeys, parse_checks, parse_hacf, parse_haresources, Config};

fn config(hacf: &str, hares: &str) -> Config {
    let (h, d) = parse_hacf(hacf, "ha.cf", &ha_config::NoResolver);
    let h = h.unwrap_or_else(|| panic!("ha.cf: {d:?}"));
    let (r, d) = parse_haresources(hares, "haresources");
    let r = r.unwrap_or_else(|| panic!("haresources: {d:?}"));
    let (k, _) = parse_authkeys("auth 1\n1 crc\n", "authkeys");
    Config {
        hacf: h,
        haresources: r,
        authkeys: k.unwrap(),
    }
}

fn env() -> Env {
    let none = Path::new("/nonexistent-hb-cib");
    Env {
        ha_dir: none.join("ha.d"),
        lookup: ha_config::Lookup {
            resource_dir: none.join("ha.d/resource.d"),
            init_dirs: vec![none.join("init.d")],
            unit_dirs: vec![],
        },
        ocf_dir: none.join("ocf"),
        stonith_cmd: None,
    }
}

const TWO: &str = "ucast eth1 192.0.2.2\nnode alpha\nnode beta\nauto_failback on\n";

fn by_name<'a>(cib: &'a El, name: &str) -> Vec<&'a El> {
    cib.descendants()
        .into_iter()
        .filter(|e| e.name == name)
        .collect()
}

fn option<'a>(cib: &'a El, name: &str) -> Option<&'a str> {
    by_name(cib, "cluster_property_set")
        .first()?
        .elements()
        .find(|e| e.get("name") == Some(name))
        .and_then(|e| e.get("value"))
}

fn locations(cib: &El, rsc: &str) -> Vec<(String, String)> {
    by_name(cib, "rsc_location")
        .into_iter()
        .filter(|e| e.get("rsc") == Some(rsc) && e.get("node").is_some())
        .map(|e| {
            (
                e.get("node").unwrap().to_string(),
                e.get("score").unwrap().to_string(),
            )
        })
        .collect()
}

fn params_of(p: &El) -> Vec<(String, String)> {
    p.descendants()
        .into_iter()
        .filter(|e| e.name == "nvpair")
        .map(|e| {
            (
                e.get("name").unwrap().to_string(),
                e.get("value").unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn two_nodes_one_group() {
    let cfg = config(
        TWO,
        "alpha IPaddr::198.51.100.254/24/eth0 Filesystem::/dev/sdb1::/data::ext3\n",
    );
    let e = export(&cfg, &[], &env(), Target::Pacemaker2);
    let cib = &e.cib;
    assert_eq!(cib.get("validate-with"), Some("pacemaker-3.0"));
    assert_eq!(cib.get("admin_epoch"), Some("1"));
    let nodes: Vec<(&str, &str)> = by_name(cib, "node")
        .iter()
        .map(|n| (n.get("id").unwrap(), n.get("uname").unwrap()))
        .collect();
    assert_eq!(nodes, [("1", "alpha"), ("2", "beta")]);
    let groups = by_name(cib, "group");
    assert_eq!(groups.len(), 1);
    let g = groups[0];
    assert_eq!(g.get("id"), Some("grp_IPaddr_198.51.100.254"));
    let prims: Vec<&El> = g.elements().filter(|e| e.name == "primitive").collect();
    assert_eq!(prims.len(), 2);
    assert_eq!(prims[0].get("type"), Some("IPaddr"));
    assert_eq!(prims[0].get("provider"), Some("heartbeat"));
    assert_eq!(
        params_of(prims[0]),
        [
            ("ip".to_string(), "198.51.100.254".to_string()),
            ("cidr_netmask".into(), "24".into()),
            ("nic".into(), "eth0".into())
        ]
    );
    assert_eq!(prims[1].get("type"), Some("Filesystem"));
    // No checks: no monitor, as heartbeat watched nothing.
    assert!(by_name(g, "op").is_empty());
    // auto_failback on: home 100 * (2 + 1), stickiness 100; no score for the only other node.
    assert_eq!(
        locations(cib, "grp_IPaddr_198.51.100.254"),
        [("alpha".to_string(), "300".to_string())]
    );
    let stick = by_name(cib, "rsc_defaults")[0].descendants();
    assert!(stick
        .iter()
        .any(|e| e.get("name") == Some("resource-stickiness") && e.get("value") == Some("100")));
    // No fencing: off, loudly.
    assert_eq!(option(cib, "stonith-enabled"), Some("false"));
    assert!(e
        .warnings
        .iter()
        .any(|w| w.contains("stonith-enabled=false")));
    // Pacemaker 2: quorum through corosync.
    assert_eq!(option(cib, "no-quorum-policy"), None);
    assert!(e.corosync.contains("two_node: 1"));
    assert!(e.corosync.contains("nodeid: 2"));
    assert!(e.notes.iter().any(|n| n.contains("two_node: 1")));
    assert_eq!((e.groups, e.primitives, e.devices), (1, 2, 0));

    let e = export(&cfg, &[], &env(), Target::Pacemaker1_1);
    assert_eq!(e.cib.get("validate-with"), Some("pacemaker-1.2"));
    assert_eq!(option(&e.cib, "no-quorum-policy"), Some("ignore"));
}

#[test]
fn auto_failback_modes() {
    let hares = "alpha 10.0.0.1 httpd\nbeta 10.0.0.2\n";
    let off = config(&TWO.replace(" on", " off"), hares);
    let e = export(&off, &[], &env(), Target::Pacemaker2);
    assert_eq!(
        locations(&e.cib, "grp_IPaddr_10.0.0.1"),
        [("alpha".to_string(), "50".to_string())]
    );
    assert_eq!(
        locations(&e.cib, "grp_IPaddr_10.0.0.2"),
        [("beta".to_string(), "50".to_string())]
    );
    let legacy = config(&TWO.replace(" on", " legacy"), hares);
    let e = export(&legacy, &[], &env(), Target::Pacemaker2);
    assert_eq!(
        locations(&e.cib, "grp_IPaddr_10.0.0.1"),
        [("alpha".to_string(), "300".to_string())]
    );
    assert!(e
        .notes
        .iter()
        .any(|n| n.starts_with("auto_failback legacy")));
}

#[test]
fn placement_inequalities() {
    // For any group size and node count, the scores keep heartbeat's placement.
    let names: Vec<String> = (0..60).map(|i| format!("n{i}")).collect();
    for n in [2usize, 3, 5, 49, 50, 60] {
        let nodes = &names[..n];
        let u = stickiness_unit(n);
        for members in 1..6usize {
            for home in 0..n.min(4) {
                let on = placement(nodes, home, members, AutoFailback::On);
                let off = placement(nodes, home, members, AutoFailback::Off);
                let others_max = on.scores.iter().skip(1).map(|s| s.1).max().unwrap_or(0);
                let others_min = on.scores.iter().skip(1).map(|s| s.1).min().unwrap_or(0);
                // on: the home node beats any other node holding the whole group.
                assert!(
                    on.scores[0].1 > others_max + u * members as u32,
                    "{n} {members}"
                );
                // Never a move between two other nodes: their gap is below one resource's stickiness.
                assert!(others_max - others_min < u);
                // off: the node holding the group, even with one resource, beats the home node.
                assert!(off.scores[0].1 < u);
                assert!(off.scores[0].1 > others_max, "{n}");
                assert_eq!(on.stickiness, u);
            }
        }
    }
}

#[test]
fn three_nodes_follow_ha_cf_order() {
    let cfg = config(
        "ucast eth1 192.0.2.2\nnode a\nnode b\nnode c\nauto_failback on\n",
        "b 10.0.0.1\n",
    );
    let e = export(&cfg, &[], &env(), Target::Pacemaker2);
    assert_eq!(
        locations(&e.cib, "grp_IPaddr_10.0.0.1"),
        [
            ("b".to_string(), "200".to_string()),
            ("c".into(), "2".into()),
            ("a".into(), "1".into())
        ]
    );
    assert!(!e.corosync.contains("two_node"));
    assert_eq!(option(&e.cib, "no-quorum-policy"), None);
    let e = export(&cfg, &[], &env(), Target::Pacemaker1_1);
    assert_eq!(option(&e.cib, "no-quorum-policy"), None);
    assert!(e
        .notes
        .iter()
        .any(|n| n.contains("3 nodes: no-quorum-policy")));
}

#[test]
fn checks_become_monitors() {
    let cfg = config(
        TWO,
        "alpha IPaddr2::198.51.100.254/24/eth0 httpd\nbeta 10.0.0.9\n",
    );
    let (c, d) = parse_checks(
        "198.51.100.254 tcp 127.0.0.1:12345 interval=500ms timeout=300ms fall=2 restarts=2\n\
         httpd interval=5 exec /bin/true\n",
        "checks",
        &cfg.haresources,
    );
    let checks = c.unwrap_or_else(|| panic!("{d:?}"));
    let e = export(&cfg, &checks, &env(), Target::Pacemaker2);
    let g = by_name(&e.cib, "group")
        .into_iter()
        .find(|g| g.get("id") == Some("grp_IPaddr2_198.51.100.254"))
        .unwrap();
    let ops = by_name(g, "op");
    assert_eq!(ops.len(), 2, "one monitor per resource");
    for op in &ops {
        assert_eq!(op.get("name"), Some("monitor"));
        // The shortest interval; the timeout at least the agent's advice (20 s).
        assert_eq!(op.get("interval"), Some("500ms"));
        assert_eq!(op.get("timeout"), Some("20s"));
    }
    let meta = by_name(g, "nvpair")
        .into_iter()
        .find(|n| n.get("name") == Some("migration-threshold"))
        .unwrap();
    assert_eq!(meta.get("value"), Some("3"));
    // Each check is said not to be carried over as a probe.
    assert_eq!(
        e.warnings
            .iter()
            .filter(|w| w.contains("no Pacemaker agent makes this probe"))
            .count(),
        2
    );
    // The other group has no check: no monitor, no threshold.
    let other = by_name(&e.cib, "group")
        .into_iter()
        .find(|g| g.get("id") == Some("grp_IPaddr_10.0.0.9"))
        .unwrap();
    assert!(by_name(other, "op").is_empty());
    assert!(by_name(other, "meta_attributes").is_empty());
}

#[test]
fn fencing_devices() {
    let hacf = format!(
        "{TWO}stonith_host alpha external/ipmi beta 10.0.0.12 admin s3cret lanplus\nstonith_host * external/ssh alpha beta\n"
    );
    let cfg = config(&hacf, "alpha 10.0.0.1\n");
    let e = export(&cfg, &[], &env(), Target::Pacemaker2);
    assert_eq!(option(&e.cib, "stonith-enabled"), Some("true"));
    assert_eq!(e.devices, 2);
    let st: Vec<&El> = by_name(&e.cib, "primitive")
        .into_iter()
        .filter(|p| p.get("class") == Some("stonith"))
        .collect();
    assert_eq!(st.len(), 2);
    assert_eq!(st[0].get("type"), Some("external/ipmi"));
    assert_eq!(st[0].get("provider"), None);
    assert_eq!(
        params_of(st[0]),
        [
            ("hostname".to_string(), "beta".to_string()),
            ("ipaddr".into(), "10.0.0.12".into()),
            ("userid".into(), "admin".into()),
            ("passwd".into(), "s3cret".into()),
            ("interface".into(), "lanplus".into())
        ]
    );
    assert_eq!(
        params_of(st[1]),
        [("hostlist".to_string(), "alpha beta".to_string())]
    );
    // The alpha-only device is kept off every other node; the other is free.
    let rules = by_name(&e.cib, "expression");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].get("operation"), Some("ne"));
    assert_eq!(rules[0].get("value"), Some("alpha"));
    assert!(!e
        .warnings
        .iter()
        .any(|w| w.contains("stonith-enabled=false")));

    // A device that cannot be carried over: fencing off, said twice.
    let cfg = config(
        &format!("{TWO}stonith_host alpha external/ipmi beta\n"),
        "alpha 10.0.0.1\n",
    );
    let e = export(&cfg, &[], &env(), Target::Pacemaker2);
    assert_eq!(option(&e.cib, "stonith-enabled"), Some("false"));
    assert!(e
        .warnings
        .iter()
        .any(|w| w.contains("NOT MAPPED") && w.contains("needs 5")));
    assert!(e
        .warnings
        .iter()
        .any(|w| w.contains("could be carried over")));
}

#[test]
fn unmapped_resources_are_said_and_left_out() {
    let cfg = config(
        TWO,
        "alpha 10.0.0.1 drbddisk::r0 httpd::x\nbeta drbddisk::r1\n",
    );
    let e = export(&cfg, &[], &env(), Target::Pacemaker2);
    assert_eq!(e.groups, 1);
    assert_eq!(e.primitives, 1);
    let g = by_name(&e.cib, "group")[0];
    assert_eq!(g.elements().count(), 1);
    let xml = e.xml();
    assert!(xml.contains("<!-- NOT MAPPED: drbddisk::r0:"));
    assert!(xml.contains("<!-- NOT MAPPED: the whole group (drbddisk::r1) -->"));
    assert!(e
        .warnings
        .iter()
        .any(|w| w.starts_with("haresources:1: NOT MAPPED: 'httpd::x'")));
    assert!(e
        .warnings
        .iter()
        .any(|w| w.starts_with("haresources:2: group 'drbddisk::r1' left out")));
    assert!(by_name(&e.cib, "rsc_location").len() == 1);
}

#[test]
fn ids_are_unique_and_valid() {
    let cfg = config(
        TWO,
        "alpha 10.0.0.1 MailTo::root\nbeta 10.0.0.2 MailTo::root\nalpha IPaddr::10.0.0.1/32 MailTo::root::x\n",
    );
    let e = export(&cfg, &[], &env(), Target::Pacemaker2);
    let mut seen = std::collections::HashSet::new();
    for el in e.cib.descendants() {
        if let Some(id) = el.get("id") {
            if el.name == "node" {
                continue;
            }
            assert!(seen.insert(id.to_string()), "duplicate id {id}");
            assert!(
                id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
                "{id}"
            );
        }
    }
    assert!(seen.contains("MailTo_root-2"));
    assert!(seen.contains("grp_IPaddr_10.0.0.1-2"));
}

#[test]
fn targets_parse() {
    assert_eq!(Target::parse("1.1"), Some(Target::Pacemaker1_1));
    assert_eq!(Target::parse("2"), Some(Target::Pacemaker2));
    assert_eq!(Target::parse("2.1"), Some(Target::Pacemaker2));
    assert_eq!(Target::parse("1.0"), None);
    assert_eq!(Target::parse("2."), None);
    assert_eq!(Target::parse("3"), Some(Target::Pacemaker2));
    assert_eq!(Target::parse("3.0"), Some(Target::Pacemaker2));
    assert_eq!(Target::parse("4"), None);
    assert_eq!(Target::parse("1"), None);
}

/// Every parameter the mapping writes is one the installed agent declares in its
/// metadata (resource-agents must be installed: CI installs it).
#[test]
#[ignore = "needs resource-agents installed: compat-tests/test-all.sh runs it with --include-ignored"]
fn parameters_exist_in_the_agents_metadata() {
    let root = Path::new("/usr/lib/ocf/resource.d/heartbeat");
    assert!(
        root.join("IPaddr2").exists(),
        "resource-agents is not installed ({})",
        root.display()
    );
    // The fullest form of each wrapper.
    let specs = [
        "IPaddr::10.0.0.1/24/eth0:1/10.0.0.255",
        "IPaddr2::10.0.0.1/24/eth0:lbl/10.0.0.255",
        "IPsrcaddr::10.0.0.1",
        "IPv6addr::2001:db8:0:0:0:0:0:1/64/eth0",
        "SendArp::10.0.0.1/eth0",
        "Filesystem::/dev/sda1::/data::ext3::noatime",
        "LVM::vg0",
        "LinuxSCSI::0:0:1:0",
        "MailTo::root::subject",
        "Raid1::/etc/raidtab::/dev/md0",
        "ServeRAID::1::2",
        "WAS::9080",
        "WAS::/etc/was.conf",
        "WinPopup::hosts",
        "Xinetd::tftp",
        "apache::/etc/apache2/apache2.conf",
        "db2::db2inst1",
        "ids::/opt/informix::srv::onconfig",
        "portblock::tcp::80::block",
        "AudibleAlarm::a::b",
        "Delay::1::2",
        "ICP::c0h0u0::/dev/sda",
    ];
    let e = env();
    let mut checked = 0;
    for w in agents::WRAPPERS {
        let ours: Vec<&&str> = specs
            .iter()
            .filter(|s| s.starts_with(&format!("{}::", w.name)))
            .collect();
        assert!(!ours.is_empty(), "no spec for {}", w.name);
        let out = std::process::Command::new(root.join(w.name))
            .arg("meta-data")
            .env("OCF_ROOT", "/usr/lib/ocf")
            .output()
            .unwrap();
        let meta = String::from_utf8_lossy(&out.stdout);
        assert!(meta.contains("<resource-agent"), "{}: no metadata", w.name);
        for spec in ours {
            let m = match agents::map_resource(&ha_config::Resource::parse(spec), &e) {
                Mapping::Mapped(m) => m,
                Mapping::NotMapped(why) => panic!("{spec}: {why}"),
            };
            assert_eq!(m.kind, w.name);
            for (p, _) in &m.params {
                assert!(
                    meta.contains(&format!("<parameter name=\"{p}\"")),
                    "{spec}: the {} agent has no parameter '{p}'",
                    w.name
                );
                checked += 1;
            }
        }
        // The monitor timeout we use is the metadata's.
        let advised = meta
            .split("<action name=\"monitor\"")
            .nth(1)
            .and_then(|a| a.split("timeout=\"").nth(1))
            .and_then(|t| t.split('s').next())
            .and_then(|t| t.parse::<u32>().ok());
        assert_eq!(
            advised,
            Some(w.monitor_timeout),
            "{} monitor timeout",
            w.name
        );
    }
    assert!(checked > 40, "{checked}");
}

/// An `arp-refresh` line of the checks file has no Pacemaker equivalent generated: the
/// export says so, naming the line (and still writes the CIB).
#[test]
fn arp_refresh_is_said_not_mapped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("hb-cib-arp-refresh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ha.cf"), TWO).unwrap();
    std::fs::write(
        dir.join("haresources"),
        "alpha IPaddr::198.51.100.254/24/eth0\n",
    )
    .unwrap();
    std::fs::write(dir.join("authkeys"), "auth 1\n1 crc\n").unwrap();
    std::fs::set_permissions(dir.join("authkeys"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(
        dir.join("checks"),
        "# refresh\n198.51.100.254 arp-refresh 30\n",
    )
    .unwrap();
    let e = export_dir(&dir, Target::Pacemaker2).expect("exports");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        e.warnings.iter().any(|w| w.starts_with(
            "checks:2: NOT MAPPED: 'arp-refresh' of IPaddr::198.51.100.254/24/eth0 every 30000 ms"
        )),
        "{:?}",
        e.warnings
    );
    assert!(e.xml().contains("198.51.100.254"));
}
