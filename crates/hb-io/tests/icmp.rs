//! ICMP echo between two network namespaces joined by a veth pair.
//!
//! Needs root (ip netns, raw sockets), so the tests are `#[ignore]`d: compat-tests/test-all.sh runs
//! them as root (`--include-ignored`); asked for without root they fail. Addresses are
//! 198.51.100.1/24 and 198.51.100.2/24, only inside the namespaces each test creates;
//! 198.51.100.3 is in the subnet but nobody has it. The namespaces (and with them the veth pair)
//! are deleted by a Drop guard.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hb_io::icmp::{packet_buffer, IcmpKind, IcmpMode, IcmpSocket};
use mio::{Events, Poll, Token};

const A_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const B_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const NOBODY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 3);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// These tests are `#[ignore]`d (they need root); asked for without root, they fail.
fn need_root() {
    assert!(
        is_root(),
        "this test needs root (network namespaces, raw ICMP sockets)"
    );
}

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd} {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

struct NetnsPair {
    a: String,
    b: String,
}

impl NetnsPair {
    fn create() -> NetnsPair {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let pair = NetnsPair {
            a: format!("hbicmp-a-{pid}-{n}"),
            b: format!("hbicmp-b-{pid}-{n}"),
        };
        let (dev_a, dev_b) = (format!("hbi{pid}{n}a"), format!("hbi{pid}{n}b"));
        let setup = || -> Result<(), String> {
            run("ip", &["netns", "add", &pair.a])?;
            run("ip", &["netns", "add", &pair.b])?;
            // Both ends are created inside their namespaces: nothing touches the root one.
            run(
                "ip",
                &[
                    "link", "add", &dev_a, "netns", &pair.a, "type", "veth", "peer", "name",
                    &dev_b, "netns", &pair.b,
                ],
            )?;
            for (ns, dev, addr) in [
                (&pair.a, &dev_a, "198.51.100.1/24"),
                (&pair.b, &dev_b, "198.51.100.2/24"),
            ] {
                run("ip", &["-n", ns, "addr", "add", addr, "dev", dev])?;
                run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
                run("ip", &["-n", ns, "link", "set", dev, "up"])?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            panic!("network namespace setup: {e}");
        }
        pair
    }

    /// Let ping sockets be opened by group 0 (root) in namespace A.
    fn allow_ping_sockets_in_a(&self) {
        let path = "/proc/sys/net/ipv4/ping_group_range";
        run(
            "ip",
            &[
                "netns",
                "exec",
                &self.a,
                "sh",
                "-c",
                &format!("echo '0 0' > {path}"),
            ],
        )
        .expect("set ping_group_range in the namespace");
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.a]);
        let _ = run("ip", &["netns", "del", &self.b]);
    }
}

/// Open a socket inside namespace `ns`: a fresh thread enters it (setns changes only the calling
/// thread), creates the socket (it stays in that namespace) and hands it back.
fn open_in(ns: &str, mode: IcmpMode, ident: u16) -> std::io::Result<IcmpSocket> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: valid namespace fd; affects this short-lived thread only.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        IcmpSocket::open_with_ident(mode, ident)
    })
    .join()
    .expect("namespace thread")
}

/// Collect the replies arriving on `s` until `want` of them came or `wait` passed.
fn collect(s: &IcmpSocket, want: usize, wait: Duration) -> Vec<(Ipv4Addr, u16, Vec<u8>)> {
    let mut poll = Poll::new().expect("poll");
    s.register(poll.registry(), Token(3)).expect("register");
    let mut events = Events::with_capacity(8);
    let mut buf = packet_buffer();
    let mut got = Vec::new();
    let end = Instant::now() + wait;
    loop {
        s.recv_all(&mut buf, |r| got.push((r.from, r.seq, r.payload.to_vec())))
            .expect("recv");
        let now = Instant::now();
        if got.len() >= want || now >= end {
            break;
        }
        poll.poll(&mut events, Some(end - now)).expect("poll");
    }
    s.deregister(poll.registry()).expect("deregister");
    got
}

fn ping_and_check(s: &IcmpSocket) {
    for seq in [1u16, 2, 0xffff] {
        s.send_echo(B_ADDR, seq, format!("hb seq {seq}").as_bytes())
            .expect("send");
    }
    let got = collect(s, 3, Duration::from_secs(3));
    let seqs: BTreeSet<u16> = got.iter().map(|g| g.1).collect();
    assert_eq!(seqs, BTreeSet::from([1, 2, 0xffff]), "replies: {got:?}");
    for (from, seq, payload) in &got {
        assert_eq!(*from, B_ADDR);
        assert_eq!(
            payload,
            format!("hb seq {seq}").as_bytes(),
            "payload echoed"
        );
    }

    // Nobody answers for an address of the subnet that no one holds (ARP fails).
    s.send_echo(NOBODY, 7, b"anyone?").expect("send to nobody");
    let none = collect(s, 1, Duration::from_millis(1500));
    assert!(none.is_empty(), "no reply expected: {none:?}");
}

#[test]
#[ignore = "needs root (network namespaces, raw ICMP sockets): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn raw_socket_pings_a_namespace_address() {
    need_root();
    let ns = NetnsPair::create();
    let s = open_in(&ns.a, IcmpMode::Raw, 0x4242).expect("raw socket");
    assert_eq!(s.kind(), IcmpKind::Raw);
    assert_eq!(s.ident(), 0x4242);
    ping_and_check(&s);
    // Our own address answers too.
    s.send_echo(A_ADDR, 9, b"self").expect("send to self");
    let got = collect(&s, 1, Duration::from_secs(2));
    assert_eq!(got, vec![(A_ADDR, 9, b"self".to_vec())]);
}

#[test]
#[ignore = "needs root (network namespaces, raw ICMP sockets): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn raw_sockets_keep_only_their_identifier() {
    need_root();
    let ns = NetnsPair::create();
    let mine = open_in(&ns.a, IcmpMode::Raw, 1000).expect("raw socket");
    let other = open_in(&ns.a, IcmpMode::Raw, 1001).expect("raw socket");
    mine.send_echo(B_ADDR, 5, b"x").expect("send");
    let got = collect(&mine, 1, Duration::from_secs(2));
    assert_eq!(got, vec![(B_ADDR, 5, b"x".to_vec())]);
    // The other socket saw the same reply (raw sockets see every ICMP packet) and dropped it.
    let none = collect(&other, 1, Duration::from_millis(300));
    assert!(none.is_empty(), "{none:?}");
    assert!(other.ignored() >= 1, "the reply was read and passed over");
}

#[test]
#[ignore = "needs root (network namespaces, raw ICMP sockets): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn auto_prefers_the_ping_socket_when_allowed() {
    need_root();
    let ns = NetnsPair::create();
    // A new namespace starts with ping_group_range "1 0": nobody may open a ping socket.
    assert!(open_in(&ns.a, IcmpMode::Dgram, 0).is_err());
    let s = open_in(&ns.a, IcmpMode::Auto, 0x0777).expect("auto");
    assert_eq!(s.kind(), IcmpKind::Raw, "falls back to a raw socket");
    drop(s);

    ns.allow_ping_sockets_in_a();
    let s = open_in(&ns.a, IcmpMode::Auto, 0x0778).expect("auto");
    assert_eq!(s.kind(), IcmpKind::Dgram);
    ping_and_check(&s);

    // A second ping socket gets another identifier, chosen by the kernel.
    let t = open_in(&ns.a, IcmpMode::Dgram, s.ident()).expect("dgram");
    assert_ne!(t.ident(), s.ident());
    t.send_echo(B_ADDR, 11, b"second").expect("send");
    let got = collect(&t, 1, Duration::from_secs(2));
    assert_eq!(got, vec![(B_ADDR, 11, b"second".to_vec())]);
    let none = collect(&s, 1, Duration::from_millis(300));
    assert!(
        none.is_empty(),
        "the first socket does not see the second's reply"
    );
}
