//! The ARP probes and announcements of `hb_daemon::arpwatch` on real interfaces: two
//! network namespaces joined by a veth pair, the test's thread moved into one of them
//! (setns changes only the calling thread), the other holding an address.
//!
//! Needs root and `ip`, so it is `#[ignore]`d: compat-tests/test-all.sh runs it as root
//! (`--include-ignored`); run that way without root, it fails.

use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use hb_core::holder::ProbeResult;
use hb_core::takeover::JobId;
use hb_daemon::arpwatch::{ArpWatch, PROBE_WAIT};
use mio::{Events, Poll, Token};

const VIP: &str = "IPaddr::198.51.100.254/24/eth0";
const FREE: &str = "IPaddr2::198.51.100.253/24";
const TOKEN: Token = Token(7);

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The two namespaces: `us` (eth0 198.51.100.2/24) and `them` (eth0 198.51.100.1/24 and
/// the VIP). Deleted on drop.
struct Lab {
    us: String,
    them: String,
}

impl Lab {
    fn new() -> Lab {
        let tag = format!("hbaw{}", std::process::id() % 100_000);
        let lab = Lab {
            us: format!("{tag}u"),
            them: format!("{tag}t"),
        };
        ip(&["netns", "add", &lab.us]);
        ip(&["netns", "add", &lab.them]);
        ip(&[
            "-n", &lab.us, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
            &lab.them,
        ]);
        for (ns, addr) in [(&lab.us, "198.51.100.2/24"), (&lab.them, "198.51.100.1/24")] {
            ip(&["-n", ns, "addr", "add", addr, "brd", "+", "dev", "eth0"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        ip(&[
            "-n",
            &lab.them,
            "addr",
            "add",
            "198.51.100.254/24",
            "dev",
            "eth0",
            "label",
            "eth0:0",
        ]);
        lab
    }

    fn mac_of_them(&self) -> String {
        let out = ip(&["-n", &self.them, "-o", "link", "show", "eth0"]);
        let at = out.find("link/ether ").expect("an Ethernet address") + 11;
        out[at..at + 17].to_string()
    }

    /// Moves the calling thread into `us`.
    fn enter(&self) {
        let f = std::fs::File::open(format!("/run/netns/{}", self.us)).expect("netns file");
        // SAFETY: setns on a namespace file we hold open; affects this thread only.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.us, &self.them] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs the watch until `job` ends or `limit` passes; returns its result and when.
fn wait_for(
    poll: &mut Poll,
    w: &mut ArpWatch,
    job: JobId,
    limit: Duration,
) -> Option<(ProbeResult, Instant)> {
    let end = Instant::now() + limit;
    let mut events = Events::with_capacity(8);
    while Instant::now() < end {
        let timeout = w
            .poll_timeout()
            .map_or(Duration::from_millis(10), |t| {
                t.saturating_duration_since(Instant::now())
            })
            .min(end.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, Some(timeout)).expect("poll");
        let now = Instant::now();
        let mut done = Vec::new();
        if events.iter().any(|e| e.token() == TOKEN) {
            done.extend(w.readable());
        }
        if w.poll_timeout().is_some_and(|t| t <= now) {
            done.extend(w.handle_timeout(now));
        }
        if let Some((_, r)) = done.into_iter().find(|(j, _)| *j == job) {
            return Some((r, Instant::now()));
        }
    }
    None
}

#[test]
#[ignore = "needs root and ip (network namespaces): compat-tests/test-all.sh runs it"]
fn probes_see_a_held_address_and_silence_and_announcements_reach_the_wire() {
    // SAFETY: geteuid has no memory effects.
    assert_eq!(unsafe { libc::geteuid() }, 0, "run as root");
    let lab = Lab::new();
    let their_mac = lab.mac_of_them();
    lab.enter();
    let text = format!("a {VIP} httpd\nb {FREE}\nc httpd\n");
    let (hr, diags) = ha_config::parse_haresources(&text, "haresources");
    let hr = hr.unwrap_or_else(|| panic!("{diags:?}"));
    let mut poll = Poll::new().expect("poll");
    let mut w = ArpWatch::new(&hr, poll.registry().try_clone().expect("registry"), TOKEN);

    // The address another host holds answers at once.
    let t0 = Instant::now();
    assert_eq!(w.probe(t0, JobId(1), VIP), None);
    let (r, at) = wait_for(&mut poll, &mut w, JobId(1), Duration::from_secs(2)).expect("an end");
    assert_eq!(
        r,
        ProbeResult::Answered {
            addr: "198.51.100.254".into(),
            by: their_mac.clone()
        }
    );
    assert!(at - t0 < PROBE_WAIT, "answered after {:?}", at - t0);

    // An address nobody holds: silent once the probes had their time, and not much later.
    let t0 = Instant::now();
    assert_eq!(w.probe(t0, JobId(2), FREE), None);
    let (r, at) = wait_for(&mut poll, &mut w, JobId(2), Duration::from_secs(2)).expect("an end");
    assert_eq!(r, ProbeResult::Silent);
    let took = at - t0;
    assert!(
        took >= PROBE_WAIT && took < PROBE_WAIT + Duration::from_millis(500),
        "silent after {took:?}"
    );

    // A group without an address: nothing to probe.
    assert_eq!(
        w.probe(Instant::now(), JobId(3), "httpd"),
        Some(ProbeResult::NoAddress)
    );

    // An announcement updates the neighbour table of the other host (an entry it had
    // for the address, pointing elsewhere).
    ip(&[
        "-n",
        &lab.them,
        "neigh",
        "replace",
        "198.51.100.253",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "eth0",
        "nud",
        "stale",
    ]);
    w.announce(Instant::now(), FREE).expect("announce");
    let our_mac = {
        let out = ip(&["-o", "link", "show", "eth0"]);
        let at = out.find("link/ether ").expect("an Ethernet address") + 11;
        out[at..at + 17].to_string()
    };
    let end = Instant::now() + Duration::from_secs(2);
    let mut seen = String::new();
    while Instant::now() < end {
        if let Some(t) = w.poll_timeout() {
            std::thread::sleep(t.saturating_duration_since(Instant::now()));
            w.handle_timeout(Instant::now());
        }
        seen = ip(&["-n", &lab.them, "neigh", "show", "198.51.100.253"]);
        if seen.contains(&our_mac) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        seen.contains(&our_mac),
        "their entry: {seen:?}, our MAC {our_mac}"
    );
}
