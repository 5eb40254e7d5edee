//! Differential test against the original: each configuration below is given to Debian's
//! heartbeat 3.0.6 (`heartbeat -R`, which reads and checks the configuration, then stops
//! with `heartbeat is not running` when it is valid) and to [`ha_config::load_dir_on`];
//! both must agree, except in the listed cases where we refuse nonsense the original
//! accepts silently.
//!
//! The original runs in fresh mount, network and UTS namespaces (`unshare`), with the
//! test directory bind-mounted on /etc/ha.d, host name `a`, and two veth interfaces
//! `eth0` (198.51.100.1/24) and `eth1` (192.0.2.1/24) so that bcast and mcast lines can be
//! checked; it never gets as far as sending a packet. `#[ignore]`d: it needs root, the
//! original, /etc/ha.d, `unshare` and `ip`; compat-tests/test-all.sh runs it as root
//! (`--include-ignored`), and without them it fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use ha_config::{load_dir_on, Machine, SystemMachine, SystemResolver};

const ORIGINALS: &[&str] = &[
    "/usr/libexec/heartbeat/heartbeat",
    "/usr/lib/heartbeat/heartbeat",
];

/// The original daemon. This test is `#[ignore]`d (it needs root and the original); asked for
/// without them, it fails and says what is missing.
fn original() -> &'static str {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the oracle test needs root (namespaces)"
    );
    let hb = ORIGINALS
        .iter()
        .copied()
        .find(|p| Path::new(p).exists())
        .expect("the original heartbeat is not installed (apt-get install heartbeat)");
    for tool in ["unshare", "ip", "timeout", "mount"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()))
            .unwrap_or(false);
        assert!(found, "the oracle test needs {tool}");
    }
    assert!(
        Path::new("/etc/ha.d").is_dir(),
        "the oracle test needs /etc/ha.d (the original's package)"
    );
    hb
}

/// The machine the original sees in its namespace: eth0, eth1 and lo exist; users,
/// groups and programs are this host's.
struct Namespace;

impl Machine for Namespace {
    fn interface_exists(&self, name: &str) -> bool {
        ["lo", "eth0", "eth1"].contains(&name)
    }
    fn user_exists(&self, name: &str) -> bool {
        SystemMachine.user_exists(name)
    }
    fn group_exists(&self, name: &str) -> bool {
        SystemMachine.group_exists(name)
    }
    fn is_executable(&self, path: &Path) -> bool {
        SystemMachine.is_executable(path)
    }
    fn char_device(&self, path: &Path) -> Option<bool> {
        SystemMachine.char_device(path)
    }
    fn resource_script(&self, ha_dir: &Path, name: &str) -> Option<ha_config::Located> {
        SystemMachine.resource_script(ha_dir, name)
    }
}

struct Case {
    hacf: String,
    haresources: &'static str,
    authkeys: &'static str,
    mode: u32,
}

fn dir_for(i: usize, c: &Case, log: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ha-config-oracle-{}-{i}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("ha.cf"),
        format!("logfile {}\n{}", log.display(), c.hacf),
    )
    .unwrap();
    std::fs::write(dir.join("haresources"), c.haresources).unwrap();
    std::fs::write(dir.join("authkeys"), c.authkeys).unwrap();
    std::fs::set_permissions(
        dir.join("authkeys"),
        std::fs::Permissions::from_mode(c.mode),
    )
    .unwrap();
    dir
}

/// Whether the original accepts the configuration in `dir`, and what it said.
fn original_accepts(hb: &str, dir: &Path, log: &Path) -> (bool, String) {
    let _ = std::fs::remove_file(log);
    let script = format!(
        "ip link set lo up && \
         ip link add eth0 type veth peer name p0 && ip link add eth1 type veth peer name p1 && \
         ip addr add 198.51.100.1/24 dev eth0 && ip addr add 192.0.2.1/24 dev eth1 && \
         ip link set eth0 up && ip link set eth1 up && ip link set p0 up && ip link set p1 up && \
         mount --bind '{}' /etc/ha.d && hostname a && exec timeout 10 '{hb}' -R",
        dir.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "-n", "--uts", "sh", "-c", &script])
        .output()
        .expect("run unshare");
    let text = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(log).unwrap_or_default()
    );
    let accepted = out.status.code() == Some(6) && text.contains("is not running");
    let refused = out.status.code() == Some(1) || text.contains("configuration error");
    assert!(
        accepted || refused,
        "the original neither accepted nor refused (status {:?}):\n{text}",
        out.status
    );
    (accepted, text)
}

const BASE: &str =
    "keepalive 200ms\ndeadtime 2\nwarntime 1\ninitdead 12\nucast eth1 192.0.2.2\nnode a b\n";
const RES: &str = "a IPaddr::198.51.100.254/24/eth0\n";
const KEYS: &str = "auth 1\n1 crc\n";

fn hacf(extra: &str) -> Case {
    Case {
        hacf: format!("{BASE}{extra}\n"),
        haresources: RES,
        authkeys: KEYS,
        mode: 0o600,
    }
}

fn keys(k: &'static str) -> Case {
    Case {
        hacf: BASE.to_string(),
        haresources: RES,
        authkeys: k,
        mode: 0o600,
    }
}

fn res(r: &'static str) -> Case {
    Case {
        hacf: format!("{BASE}ping 198.51.100.100\n"),
        haresources: r,
        authkeys: KEYS,
        mode: 0o600,
    }
}

#[test]
#[ignore = "needs root and the original heartbeat: compat-tests/test-all.sh runs it as root with --include-ignored"]
fn we_judge_configurations_as_the_original() {
    let hb = original();
    let ipfail = ["/usr/libexec/heartbeat/ipfail", "/usr/lib/heartbeat/ipfail"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/bin/true");
    let respawn_ok = format!("respawn hacluster {ipfail}");
    let mut agree: Vec<Case> = [
        "",
        "keepalive 1.5\ndeadtime 30",
        "keepalive 200MS",
        "keepalive .5\ndeadtime 30",
        "keepalive 1e3",
        "keepalive -1",
        "keepalive 0",
        "keepalive 2us",
        "keepalive 1s",
        "keepalive 1sec",
        "keepalive 0x10",
        "keepalive abc",
        "keepalive +1",
        "keepalive 1\ndeadtime 2",
        "keepalive 1\ndeadtime 2.001",
        "deadtime 10\ninitdead 5",
        "deadping 400ms",
        "deadtime 0",
        "warntime 0",
        "warntime abc",
        "udpport 0",
        "udpport abc",
        "auto_failback yes",
        "auto_failback maybe",
        "auto_failback LEGACY",
        "auto_failback Y",
        "node C,d",
        "ucast eth1",
        "ucast eth9 192.0.2.9",
        "ucast lo nosuchhost.invalid",
        "ucast lo localhost",
        "bcast eth0 eth1",
        "bcast eth0,eth1",
        "bcast eth9",
        "udp eth0",
        "mcast eth0 239.0.0.1 694 1 0",
        "mcast eth0 239.0.0.1 694 5 0",
        "mcast eth0 239.0.0.1 694 1 2",
        "mcast eth0 10.0.0.1 694 1 0",
        "mcast eth0 239.0.0.1 0 1 0",
        "mcast eth0 239.0.0.1 694 0 0",
        "mcast eth0 239.0.0.1",
        "mcast eth9 239.0.0.1 694 1 0",
        "serial /dev/null",
        "serial dev/ttyS0",
        "ping 198.51.100.50",
        "ping nosuch.invalid",
        "ping_group g1 198.51.100.50 198.51.100.51",
        "ping_group g1",
        "ping6 2001:db8::1",
        "ucast6 eth1 ::1",
        "mcast6 eth1 ff02::1 694 1 0",
        "hbaping x",
        "normalpoll true",
        "frobnicate 1",
        "Keepalive 2",
        "nice_failback on",
        "nice_failback maybe",
        "respawn nosuchuser /bin/true",
        "respawn hacluster bin/true",
        "respawn hacluster /nonexistent",
        "respawn hacluster",
        "apiauth ipfail uid=hacluster\napiauth ipfail gid=haclient",
        "apiauth foo",
        "apiauth foo bar=1",
        "apiauth foo uid=nosuchuser",
        "apiauth foo uid=0,root gid=haclient",
        "hopfudge 300",
        "hopfudge 255",
        "crm off",
        "crm off\ncrm off",
        "pacemaker off",
        "watchdog /dev/watchdog",
        "watchdog /dev/watchdog\nwatchdog /dev/w2",
        "msgfmt netstring",
        "msgfmt NETSTRING",
        "env FOO=bar",
        "env =x",
        "env A=1 B=2",
        "logfacility daemon",
        "logfacility bogus",
        "logfacility LOCAL0",
        "logfacility mark",
        "logfacility none",
        "baud 9600",
        "baud 1234",
        "baud 9600\nbaud 9600",
        "rtprio 50",
        "rtprio 0",
        "rtprio 100",
        "hbgenmethod time",
        "hbgenmethod x",
        "hbgenmethod FILE",
        "realtime maybe",
        "debug 300",
        "debug 3",
        "conn_logd_time 0",
        "conn_logd_time 60",
        "log_badpack no",
        "coredumps off",
        "coreroot /tmp",
        "coreroot tmp",
        "autojoin any",
        "autojoin other",
        "autojoin bogus",
        "autojoin NONE",
        "uuidfrom nodename",
        "uuidfrom x",
        "compression bz2",
        "compression xz",
        "compression_threshold 0",
        "traditional_compression yes",
        "max_rexmit_delay 0",
        "max_rexmit_delay 100ms",
        "record_config_changes maybe",
        "memreserve 0",
        "quorum_server q",
        "cluster mycl",
        "use_apphbd yes",
        "use_apphbd maybe",
        "syslogmsgfmt false",
        "crmd_spawns_pengine yes",
        "failfast hacluster /bin/true",
        "stonith_host a",
        "use_logd off",
    ]
    .iter()
    .map(|e| hacf(e))
    .collect();
    agree.push(hacf(&respawn_ok));
    agree.push(hacf(&format!("{respawn_ok} -x")));
    agree.push(Case {
        hacf: "node a\n".into(),
        haresources: RES,
        authkeys: KEYS,
        mode: 0o600,
    });
    for k in [
        "1 crc # x",
        "1 crc\nauth 1",
        "auth 1\n1 CRC",
        "auth 16\n16 crc",
        "auth 15\n15 crc",
        "auth1\n1 crc",
        "auth 1\n1crc",
        "auth 1\n01 crc",
        "auth 1\n1 md5",
        "auth 1\n1 md5 my secret",
        "auth 1\n1 sha1 k\n1 crc",
        "auth 1\n1 crc\nauth 2\n2 md5 k",
        "auth 1\n1 crc\nauth 2",
        "auth 1\n1 crc\nbogus",
        "auth 1\n1 crc\nab",
        "auth 1\n1 crc\n1",
        "auth 1 2\n1 crc",
        "auth x\n1 crc",
        " # c\n\tauth 1\n  1 crc",
        "auth 1\n1 crc\n2 foo",
        "auth 1\n-1 crc",
        "auth 1\n1 crc\r",
    ] {
        agree.push(keys(k));
    }
    for m in [0o600, 0o400, 0o700, 0o640, 0o644, 0o604] {
        agree.push(Case {
            mode: m,
            ..keys(KEYS)
        });
    }
    for r in [
        "c IPaddr::198.51.100.254",
        "A IPaddr::198.51.100.254",
        "",
        "# only comment",
        "a 198.51.100.1 \\\n c foo",
        "a 198.51.100.1 \\\nc foo\nc bar",
        "  a x",
        "a x # c",
        "a#x",
        "198.51.100.100 foo",
    ] {
        agree.push(res(r));
    }
    // Nonsense the original accepts silently, which we refuse on purpose.
    let deviations: Vec<Case> = vec![
        hacf("udpport 99999"),
        hacf("udpport 7000x"),
        hacf("keepalive 200msxyz"),
        hacf("keepalive 1.2.3\ndeadtime 30\ninitdead 60"),
        hacf("keepalive 1,5\ndeadtime 30\ninitdead 60"),
        hacf("hopfudge abc"),
        hacf("keepalive"),
        hacf("env FOO"),
        hacf("memreserve 1x"),
        hacf("max_rexmit_delay 1s"),
        hacf("ucast eth1 192.0.2.3 192.0.2.4"),
        hacf("mcast eth0 239.0.0.1 694 1 0 extra"),
        hacf("mcast eth0 239.0.0.1 99999 1 0"),
        hacf("cluster a b"),
        res("a x\nb x"),
        Case {
            mode: 0o620,
            ..keys(KEYS)
        },
        Case {
            mode: 0o602,
            ..keys(KEYS)
        },
    ];
    let log = std::env::temp_dir().join(format!("ha-config-oracle-{}.log", std::process::id()));
    let mut failures = Vec::new();
    let total = agree.len() + deviations.len();
    for (i, (c, same)) in agree
        .iter()
        .map(|c| (c, true))
        .chain(deviations.iter().map(|c| (c, false)))
        .enumerate()
    {
        let dir = dir_for(i, c, &log);
        let (theirs, said) = original_accepts(hb, &dir, &log);
        let ours = load_dir_on(&dir, &Namespace, &SystemResolver::new());
        let ours_ok = ours.is_ok();
        let expected = if same { theirs } else { false };
        if !same && !theirs {
            failures.push(format!(
                "deviation case now refused by the original too (move it to the agreeing cases): {:?} {:?} {:?} {:o}",
                c.hacf, c.haresources, c.authkeys, c.mode
            ));
        } else if ours_ok != expected {
            failures.push(format!(
                "ha.cf {:?}\nharesources {:?}\nauthkeys {:?} mode {:o}\n  original: {}\n  ours: {}\n  original said: {}",
                c.hacf,
                c.haresources,
                c.authkeys,
                c.mode,
                if theirs { "accepts" } else { "refuses" },
                match &ours {
                    Ok(_) => "accepts".to_string(),
                    Err(e) => format!("refuses: {e}"),
                },
                said.lines()
                    .filter(|l| l.contains("ERROR") || l.contains("rror") || l.contains("invalid"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_file(&log);
    assert!(
        failures.is_empty(),
        "{} of {total} cases disagree with the original:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!("oracle: {total} configurations judged as the original judges them");
}
