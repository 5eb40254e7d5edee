//! bcast and mcast delivery between two network namespaces joined by a veth pair.
//!
//! Needs root (ip netns, SO_BINDTODEVICE), so it is `#[ignore]`d: compat-tests/test-all.sh runs it
//! as root (`--include-ignored`); asked for without root it fails. Addresses
//! are 192.0.2.1/24 and 192.0.2.2/24, only inside the namespaces this test creates; the
//! namespaces (and with them the veth pair) are deleted by a Drop guard.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use hb_io::media::{datagram_buffer, iface_v4, Medium, MediumKind, MediumSpec};
use mio::{Events, Poll, Token};

/// The keys a UDP medium is given (it never uses them).
fn crc() -> hb_wire::KeyRing {
    hb_wire::KeyRing::single(1, hb_wire::AuthMethod::Crc).expect("ring")
}

struct NetnsPair {
    a: String,
    b: String,
    dev_a: String,
    dev_b: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetnsPair {
    fn create() -> Result<NetnsPair, String> {
        let pid = std::process::id();
        let pair = NetnsPair {
            a: format!("hbio-a-{pid}"),
            b: format!("hbio-b-{pid}"),
            dev_a: format!("hbio{pid}a"),
            dev_b: format!("hbio{pid}b"),
        };
        ip(&["netns", "add", &pair.a])?;
        ip(&["netns", "add", &pair.b])?;
        // Both ends are created directly inside their namespaces: nothing touches the root one.
        ip(&[
            "link",
            "add",
            &pair.dev_a,
            "netns",
            &pair.a,
            "type",
            "veth",
            "peer",
            "name",
            &pair.dev_b,
            "netns",
            &pair.b,
        ])?;
        for (ns, dev, addr) in [
            (&pair.a, &pair.dev_a, "192.0.2.1/24"),
            (&pair.b, &pair.dev_b, "192.0.2.2/24"),
        ] {
            ip(&["-n", ns, "addr", "add", addr, "broadcast", "+", "dev", dev])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(pair)
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// Open media inside namespace `ns`: a fresh thread enters it (setns changes only the calling
/// thread), creates the sockets (they stay in that namespace) and hands them back.
fn open_in(ns: &str, specs: Vec<MediumSpec>, udpport: u16) -> Vec<Medium> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: valid namespace fd; affects this short-lived thread only.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        specs
            .iter()
            .map(|s| Medium::open(s, udpport).unwrap_or_else(|e| panic!("open {s:?}: {e}")))
            .collect()
    })
    .join()
    .expect("namespace thread")
}

fn iface_in(ns: &str, dev: &str) -> hb_io::media::IfaceV4 {
    let path = format!("/run/netns/{ns}");
    let dev = dev.to_string();
    std::thread::spawn(move || {
        let f = File::open(&path).expect("open netns");
        // SAFETY: as above.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0);
        iface_v4(&dev).expect("iface")
    })
    .join()
    .expect("thread")
}

/// Collect what arrives on `m` within `wait`.
fn collect(m: &mut Medium, wait: Duration) -> Vec<(Vec<u8>, SocketAddr)> {
    let mut poll = Poll::new().expect("poll");
    m.register(poll.registry(), Token(0)).expect("register");
    let mut events = Events::with_capacity(8);
    let mut buf = datagram_buffer();
    let mut got = Vec::new();
    let end = Instant::now() + wait;
    m.recv_all(Instant::now(), &mut buf, |d, a| {
        got.extend(a.map(|a| (d.to_vec(), a)))
    })
    .expect("recv");
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        poll.poll(&mut events, Some(end - now)).expect("poll");
        m.recv_all(Instant::now(), &mut buf, |d, a| {
            got.extend(a.map(|a| (d.to_vec(), a)))
        })
        .expect("recv");
    }
    m.deregister(poll.registry()).expect("deregister");
    got
}

fn payloads(got: &[(Vec<u8>, SocketAddr)]) -> Vec<Vec<u8>> {
    got.iter().map(|(d, _)| d.clone()).collect()
}

#[test]
#[ignore = "needs root (network namespaces, SO_BINDTODEVICE): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn bcast_and_mcast_between_namespaces() {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test needs root (network namespaces, SO_BINDTODEVICE)"
    );
    let pair =
        NetnsPair::create().unwrap_or_else(|e| panic!("cannot create network namespaces: {e}"));
    let ifa = iface_in(&pair.a, &pair.dev_a);
    assert_eq!(ifa.addr, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(ifa.netmask, Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(ifa.broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));

    let group = Ipv4Addr::new(239, 192, 0, 94);
    let mport = 1694;
    let specs = |dev: &str, loop_back: bool| {
        vec![
            MediumSpec::Bcast {
                dev: dev.to_string(),
            },
            MediumSpec::Mcast {
                dev: dev.to_string(),
                group,
                port: mport,
                ttl: 1,
                loop_back,
            },
        ]
    };
    let mut a = open_in(&pair.a, specs(&pair.dev_a, true), 694);
    let mut b = open_in(&pair.b, specs(&pair.dev_b, false), 694);
    assert_eq!(a[0].kind, MediumKind::Bcast);
    assert_eq!(
        a[0].destinations(),
        &[SocketAddr::from(([192, 0, 2, 255], 694))]
    );
    assert_eq!(a[1].destinations(), &[SocketAddr::from((group, mport))]);
    assert_eq!(
        a[0].start_log_line(),
        format!(
            "UDP Broadcast heartbeat started on port 694 (694) interface {}",
            pair.dev_a
        )
    );
    assert_eq!(
        b[1].start_log_line(),
        format!(
            "UDP multicast heartbeat started for group {group} port {mport} interface {} (ttl=1 loop=0)",
            pair.dev_b
        )
    );

    // The link may take a moment to come up: resend a few times until b hears a.
    let mut heard = Vec::new();
    for _ in 0..10 {
        assert_eq!(
            a[0].send(Instant::now(), b"bcast from a", &crc())
                .expect("bcast send"),
            1
        );
        heard = collect(&mut b[0], Duration::from_millis(300));
        if !heard.is_empty() {
            break;
        }
    }
    assert!(!heard.is_empty(), "b received a's broadcast");
    assert!(payloads(&heard).iter().all(|p| p == b"bcast from a"));
    assert_eq!(heard[0].1.ip(), std::net::IpAddr::from([192, 0, 2, 1]));
    // A node hears its own broadcast (that is how its own links come up).
    let own = collect(&mut a[0], Duration::from_millis(300));
    assert!(
        payloads(&own).contains(&b"bcast from a".to_vec()),
        "a hears its own broadcast: {own:?}"
    );

    // mcast a -> b (a loops back), b -> a (b does not).
    assert_eq!(
        a[1].send(Instant::now(), b"mcast from a", &crc())
            .expect("mcast send"),
        1
    );
    let heard = collect(&mut b[1], Duration::from_millis(500));
    assert_eq!(
        payloads(&heard),
        vec![b"mcast from a".to_vec()],
        "b received a's multicast"
    );
    let own = collect(&mut a[1], Duration::from_millis(300));
    assert_eq!(
        payloads(&own),
        vec![b"mcast from a".to_vec()],
        "loop 1: a hears itself"
    );

    assert_eq!(
        b[1].send(Instant::now(), b"mcast from b", &crc())
            .expect("mcast send"),
        1
    );
    let heard = collect(&mut a[1], Duration::from_millis(500));
    assert_eq!(
        payloads(&heard),
        vec![b"mcast from b".to_vec()],
        "a received b's multicast"
    );
    assert_eq!(heard[0].1.ip(), std::net::IpAddr::from([192, 0, 2, 2]));
    let own = collect(&mut b[1], Duration::from_millis(300));
    assert!(own.is_empty(), "loop 0: b does not hear itself: {own:?}");

    // The bcast receive sockets did not pick up the multicast (other port).
    let stray = collect(&mut b[0], Duration::from_millis(100));
    assert!(
        payloads(&stray).iter().all(|p| p == b"bcast from a"),
        "{stray:?}"
    );
    drop(a);
    drop(b);
    drop(pair);
}
