//! A network-namespace lab for running our agents and the original ones side by side.
//!
//! Each [`Lab`] is two namespaces of its own: the agent's node and a client, joined by
//! two veth pairs (`eth0`: 198.51.100.1/24 with broadcast, client .100; `eth1`:
//! 192.0.2.1/24 without broadcast, client .100), a default route via 198.51.100.254,
//! and its own `HA_RSCTMP`. Nothing is put in the root namespace; dropping the lab
//! deletes both namespaces (and so the veths) and its directory.
//!
//! The tests need root, `ip`, and the original agents (heartbeat's v1 wrappers and
//! resource-agents), so they are `#[ignore]`d: compat-tests/test-all.sh runs them as root
//! (`--include-ignored`); run that way without what they need, they fail.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const ORIG_DIR: &str = "/etc/ha.d/resource.d";
pub const ORIG_FINDIF: &str = "/usr/libexec/heartbeat/findif";
pub const ORIG_SEND_ARP: &str = "/usr/libexec/heartbeat/send_arp";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Our program, as cargo built it for the tests.
pub fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_hb-ipagent")
}

/// Why the lab cannot run here, if it cannot.
pub fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no memory effects.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    if !command_ok("ip", &["-V"]) {
        return Some("no ip command".into());
    }
    for a in ["IPaddr", "IPaddr2", "IPsrcaddr", "SendArp"] {
        if !Path::new(ORIG_DIR).join(a).exists() {
            return Some(format!("original {ORIG_DIR}/{a} not installed"));
        }
    }
    None
}

/// Fails the test when the lab cannot run here: these tests are `#[ignore]`d, so they only
/// run when asked for (`--include-ignored`, as root), and then a missing piece is a failure,
/// never a silent pass.
pub fn need_lab() {
    if let Some(why) = skip_reason() {
        panic!(
            "this test cannot run here: {why} (run it as root with the original agents installed)"
        );
    }
}

fn command_ok(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `ip` with these arguments; panics (test failure) if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip_out(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The result of one agent run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// Which implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Original,
    Ours,
}

pub struct Lab {
    pub ns: String,
    pub client: String,
    pub rsc: PathBuf,
}

impl Lab {
    pub fn new() -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let base = format!("hbag-{}-{n}", std::process::id());
        let lab = Lab {
            ns: format!("{base}-a"),
            client: format!("{base}-c"),
            rsc: std::env::temp_dir().join(format!("{base}-rsc")),
        };
        let _ = std::fs::remove_dir_all(&lab.rsc);
        std::fs::create_dir_all(&lab.rsc).expect("rsctmp");
        ip(&["netns", "add", &lab.ns]);
        ip(&["netns", "add", &lab.client]);
        for dev in ["eth0", "eth1"] {
            ip(&[
                "link",
                "add",
                dev,
                "netns",
                &lab.ns,
                "type",
                "veth",
                "peer",
                "name",
                dev,
                "netns",
                &lab.client,
            ]);
        }
        let (a, c) = (lab.ns.as_str(), lab.client.as_str());
        ip(&[
            "-n",
            a,
            "addr",
            "add",
            "198.51.100.1/24",
            "brd",
            "+",
            "dev",
            "eth0",
        ]);
        ip(&["-n", a, "addr", "add", "192.0.2.1/24", "dev", "eth1"]);
        ip(&["-n", c, "addr", "add", "198.51.100.100/24", "dev", "eth0"]);
        ip(&["-n", c, "addr", "add", "192.0.2.100/24", "dev", "eth1"]);
        for ns in [a, c] {
            for dev in ["lo", "eth0", "eth1"] {
                ip(&["-n", ns, "link", "set", dev, "up"]);
            }
        }
        ip(&["-n", a, "route", "add", "default", "via", "198.51.100.254"]);
        lab
    }

    /// Runs an agent in the node's namespace: `IMPL AGENT SPEC OP`.
    pub fn agent(&self, imp: Impl, agent: &str, spec: &str, op: &str) -> Run {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]);
        match imp {
            Impl::Original => cmd.arg(format!("{ORIG_DIR}/{agent}")),
            Impl::Ours => cmd.arg(ours()).arg(agent),
        };
        cmd.arg(spec).arg(op);
        self.run(cmd)
    }

    /// Runs `send_arp ARGS` (the original: resource-agents' program, the same as 2.0.8's).
    pub fn send_arp(&self, imp: Impl, args: &[&str]) -> Run {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]);
        match imp {
            Impl::Original => cmd.arg(ORIG_SEND_ARP),
            Impl::Ours => cmd.arg(ours()).arg("send_arp"),
        };
        cmd.args(args);
        self.run(cmd)
    }

    /// Runs findif (`-C` if `cidr`) with these OCF variables.
    pub fn findif(&self, imp: Impl, vars: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]);
        match imp {
            Impl::Original => cmd.arg(ORIG_FINDIF),
            Impl::Ours => cmd.arg(ours()).arg("findif"),
        };
        for (k, v) in vars {
            cmd.env(k, v);
        }
        self.run(cmd)
    }

    fn run(&self, mut cmd: Command) -> Run {
        for k in [
            "HA_LOGFILE",
            "HA_DEBUGLOG",
            "HA_LOGFACILITY",
            "HA_LOGD",
            "HA_LOGTAG",
            "OCF_RESKEY_ip",
            "OCF_RESKEY_nic",
            "OCF_RESKEY_cidr_netmask",
            "OCF_RESKEY_broadcast",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("HA_RSCTMP", &self.rsc).stdin(Stdio::null());
        let t = Instant::now();
        let out = cmd.output().expect("run agent");
        Run {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: t.elapsed(),
        }
    }

    /// `ip -o -4 addr` of the node, one line per address: `DEV inet A/P [brd B] scope S
    /// [secondary] LABEL`.
    pub fn addrs(&self) -> Vec<String> {
        ip_out(&["-n", &self.ns, "-o", "-4", "addr", "show"])
            .lines()
            .map(|l| {
                let l = l.split('\\').next().unwrap_or("");
                let l = l.split_once(": ").map_or(l, |(_, r)| r);
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect()
    }

    /// The node's main routing table, one line per route.
    pub fn routes(&self) -> Vec<String> {
        ip_out(&["-n", &self.ns, "-4", "route", "show"])
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// The MAC address of one of the node's interfaces.
    pub fn mac(&self, dev: &str) -> String {
        let out = ip_out(&["-n", &self.ns, "-o", "link", "show", dev]);
        let words: Vec<&str> = out.split_whitespace().collect();
        words
            .iter()
            .position(|w| *w == "link/ether")
            .and_then(|i| words.get(i + 1))
            .map(|s| s.to_string())
            .unwrap_or_default()
    }

    /// What the client's neighbour table says about `ip` (`lladdr ...` or empty).
    pub fn client_neigh(&self, ip_addr: &str) -> String {
        ip_out(&["-n", &self.client, "neigh", "show", ip_addr, "dev", "eth0"])
    }

    /// Lets the client learn addresses from gratuitous ARP.
    pub fn client_accepts_arp(&self) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.client, "sysctl", "-qw"])
            .arg("net.ipv4.conf.eth0.arp_accept=1")
            .output()
            .expect("sysctl");
        assert!(out.status.success(), "sysctl arp_accept");
    }

    /// Runs a shell-free command in the node's namespace.
    pub fn node(&self, args: &[&str]) {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        ip(&a);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Stop senders still running for this lab (their pid files are in our dir).
        if let Ok(rd) = std::fs::read_dir(&self.rsc) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("send_arp-") {
                    if let Ok(pid) = std::fs::read_to_string(e.path()) {
                        if let Ok(pid) = pid.trim().parse::<i32>() {
                            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                                .unwrap_or_default();
                            if comm.trim() == "send_arp" {
                                // SAFETY: a sender started by this lab's agents.
                                unsafe { libc::kill(pid, libc::SIGTERM) };
                            }
                        }
                    }
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.client])
            .status();
        let _ = std::fs::remove_dir_all(&self.rsc);
    }
}

/// The status word of a wrapper's stdout: its last line.
pub fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

/// A packet capture with tcpdump in the client namespace, if tcpdump is installed.
pub struct Capture {
    child: std::process::Child,
    file: PathBuf,
}

/// One captured ARP packet: time (s), operation, sender MAC.
#[derive(Clone, Debug, PartialEq)]
pub struct Arp {
    pub t: f64,
    pub reply: bool,
    pub ip: String,
    pub mac: String,
    /// A reply's announced hardware address (`is-at`).
    pub hw: Option<String>,
}

impl Capture {
    pub fn start(lab: &Lab) -> Option<Capture> {
        if !command_ok("tcpdump", &["--version"]) {
            println!("(tcpdump not installed: no packet capture)");
            return None;
        }
        let file = lab.rsc.with_extension("cap.txt");
        let out = std::fs::File::create(&file).ok()?;
        let child = Command::new("ip")
            .args(["netns", "exec", &lab.client])
            .args(["tcpdump", "-i", "eth0", "-n", "-l", "-e", "-tt", "arp"])
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // tcpdump needs a moment to open its socket.
        std::thread::sleep(Duration::from_millis(700));
        Some(Capture { child, file })
    }

    /// Stops the capture and returns the ARP packets seen.
    pub fn finish(mut self) -> Vec<Arp> {
        // SAFETY: the tcpdump we started (ip netns exec execs it in place).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        let _ = std::fs::remove_file(&self.file);
        text.lines().filter_map(parse_tcpdump).collect()
    }
}

fn parse_tcpdump(line: &str) -> Option<Arp> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let t = w.first()?.parse::<f64>().ok()?;
    let mac = w.get(1)?.to_string();
    if let Some(i) = w.iter().position(|x| *x == "who-has") {
        return Some(Arp {
            t,
            reply: false,
            ip: w.get(i + 1)?.to_string(),
            mac,
            hw: None,
        });
    }
    if let Some(i) = w.iter().position(|x| *x == "Reply") {
        let hw = w
            .iter()
            .position(|x| *x == "is-at")
            .and_then(|k| w.get(k + 1))
            .map(|m| m.trim_end_matches(',').to_string());
        return Some(Arp {
            t,
            reply: true,
            ip: w.get(i + 1)?.to_string(),
            mac,
            hw,
        });
    }
    None
}
