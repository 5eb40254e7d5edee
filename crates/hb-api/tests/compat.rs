//! Differential test against the original heartbeat (Debian's 3.0.6), run by hand as root:
//! `cargo test -p hb-api --test compat -- --ignored --test-threads=1`.
//!
//! It runs tests/compat-cl_status.sh, which builds a two-node lab with the original daemon
//! (compat-tests/lib.sh), compares our cl_status with the original's command by command,
//! and records the original daemon's raw replies to every request ([`probe_dump`], run
//! inside the lab). Those replies are then compared with what our server answers for the
//! same cluster state (a test daemon whose view mirrors the lab), after removing what
//! 3.0.6 adds to 2.0.8's replies.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{FakeView, TestServer};
use hb_api::client::HbApi;
use hb_api::frame::{frame, Decoder};
use hb_api::proto::{Config, LinkInfo, NodeInfo, NodeKind};
use hb_api::text::{self, msg, one_line};
use hb_wire::Message;

/// A request of the probe: reqtype, fields, whether a reply is expected.
type Probe = (&'static str, &'static [(&'static str, &'static str)], bool);

const REQUESTS: &[Probe] = &[
    ("nodelist", &[], true),
    ("nodestatus", &[("node", "b")], true),
    ("nodestatus", &[("node", "198.51.100.100")], true),
    ("nodestatus", &[("node", "zz")], true),
    ("nodestatus", &[], true),
    ("nodeweight", &[("node", "a")], true),
    ("nodeweight", &[("node", "zz")], true),
    ("nodesite", &[("node", "a")], true),
    ("nodetype", &[("node", "b")], true),
    ("nodetype", &[("node", "198.51.100.100")], true),
    ("nodetype", &[("node", "zz")], true),
    ("numnodes", &[], true),
    ("iflist", &[("node", "b")], true),
    ("iflist", &[("node", "198.51.100.100")], true),
    ("iflist", &[("node", "zz")], true),
    ("ifstatus", &[("node", "b"), ("ifname", "eth1")], true),
    (
        "ifstatus",
        &[("node", "198.51.100.100"), ("ifname", "198.51.100.100")],
        true,
    ),
    ("ifstatus", &[("node", "b"), ("ifname", "eth9")], true),
    ("clientstatus", &[("node", "a"), ("cn", "ipfail")], true),
    ("clientstatus", &[("node", "a"), ("cn", "nosuch")], true),
    ("clientstatus", &[("node", "zz"), ("cn", "ipfail")], true),
    ("getparm", &[("pname", "keepalive")], true),
    ("getparm", &[("pname", "deadtime")], true),
    ("getparm", &[("pname", "auto_failback")], true),
    ("getparm", &[("pname", "udpport")], true),
    ("getparm", &[("pname", "hbversion")], true),
    ("getparm", &[("pname", "nosuch")], true),
    ("getparm", &[], true),
    ("getrsc", &[], true),
    ("getuuid", &[("queryname", "zz")], true),
    ("getuuid", &[], true),
    ("setfilter", &[("fmask", "1")], true),
    ("setfilter", &[("fmask", "0")], true),
    ("setsignal", &[("signal", "0")], true),
    ("setsignal", &[("signal", "9")], true),
    ("setsignal", &[("signal", "x")], true),
    ("set_sendqlen", &[("sendqlen", "100")], false),
    ("bogus", &[], true),
];

struct Conn {
    s: UnixStream,
    d: Decoder,
}

impl Conn {
    fn open(path: &Path) -> Conn {
        Conn {
            s: UnixStream::connect(path).expect("connect"),
            d: Decoder::new(1 << 20),
        }
    }

    fn send(&mut self, m: &Message) {
        self.s.write_all(&frame(&text::encode(m).unwrap())).unwrap();
    }

    /// The next message; `Err(true)` at EOF, `Err(false)` after `wait` without one.
    fn next(&mut self, wait: Duration) -> Result<Message, bool> {
        let end = Instant::now() + wait;
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(Some(b)) = self.d.next_body() {
                return Ok(text::parse(&b).unwrap());
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(false);
            }
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut buf) {
                Ok(0) => return Err(true),
                Ok(n) => self.d.push(&buf[..n]),
                Err(_) => return Err(false),
            }
        }
    }
}

fn request(pid: &str, reqtype: &str, fields: &[(&str, &str)]) -> Message {
    let mut m = msg(&[
        ("t", "hbapi-req"),
        ("reqtype", reqtype),
        ("dest", "a"),
        ("pid", pid),
        ("from_id", pid),
    ]);
    for (k, v) in fields {
        m.push_str(k, v);
    }
    m
}

/// Every request of [`REQUESTS`] against the daemon at `path`: one line per reply
/// (`hbapi-resp` and `hbapi-clstat` only), `(no reply)`, `(EOF)`.
fn probe(path: &Path) -> Vec<String> {
    let pid = std::process::id().to_string();
    // SAFETY: no memory effects.
    let (uid, gid) = unsafe { (libc::geteuid().to_string(), libc::getegid().to_string()) };
    let mut lines = Vec::new();
    let mut c = Conn::open(path);
    let mut signon = request(&pid, "signon", &[]);
    signon.push_str("uid", &uid).push_str("gid", &gid);
    c.send(&signon);
    let collect = |c: &mut Conn, lines: &mut Vec<String>, label: &str, want: bool| {
        lines.push(format!("-> {label}"));
        loop {
            match c.next(Duration::from_millis(if want { 3000 } else { 700 })) {
                Ok(m) => {
                    let t = m.msg_type().unwrap_or("").to_string();
                    if t != "hbapi-resp" && t != "hbapi-clstat" {
                        continue;
                    }
                    let last = m.get("result") != Some("ok/more");
                    lines.push(one_line(&m));
                    if t == "hbapi-resp" && last {
                        return;
                    }
                }
                Err(true) => {
                    lines.push("(EOF)".into());
                    return;
                }
                Err(false) => {
                    lines.push("(no reply)".into());
                    return;
                }
            }
        }
    };
    collect(&mut c, &mut lines, "signon", true);
    for (reqtype, fields, want) in REQUESTS {
        c.send(&request(&pid, reqtype, fields));
        let label = std::iter::once(reqtype.to_string())
            .chain(fields.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ");
        collect(&mut c, &mut lines, &label, *want);
    }
    // A second sign-on of the same casual client: a duplicate.
    let mut d = Conn::open(path);
    d.send(&signon);
    lines.push("-> duplicate signon".into());
    loop {
        match d.next(Duration::from_secs(3)) {
            Ok(m) => lines.push(one_line(&m)),
            Err(true) => {
                lines.push("(EOF)".into());
                break;
            }
            Err(false) => {
                lines.push("(no EOF)".into());
                break;
            }
        }
    }
    c.send(&request(&pid, "signoff", &[]));
    lines.push("-> signoff".into());
    match c.next(Duration::from_secs(3)) {
        Err(true) => lines.push("(EOF)".into()),
        Ok(m) => lines.push(one_line(&m)),
        Err(false) => lines.push("(no EOF)".into()),
    }
    lines
}

/// Run inside the lab by compat-cl_status.sh: the probe against the original daemon. A helper,
/// not a test: test-all.sh leaves it out (`--skip probe_dump`).
#[test]
#[ignore = "helper run as a child by compat_against_the_original (compat-cl_status.sh)"]
fn probe_dump() {
    let (Some(sock), Some(out)) = (
        std::env::var_os("HB_API_PROBE_SOCKET"),
        std::env::var_os("HB_API_PROBE_OUT"),
    ) else {
        return;
    };
    let lines = probe(Path::new(&sock));
    std::fs::write(out, lines.join("\n") + "\n").unwrap();
}

/// What 3.0.6 adds to or changes in 2.0.8's replies, and what differs between any two runs.
fn normalize(line: &str) -> String {
    let mut fields: Vec<String> = line.split('|').map(str::to_string).collect();
    let reqtype = fields
        .iter()
        .find_map(|f| f.strip_prefix("reqtype="))
        .unwrap_or("")
        .to_string();
    fields.retain(|f| {
        !(f.starts_with("hbversion=")
            || f.starts_with("pacemaker=")
            || f.starts_with("logfacility=")
            || (reqtype == "nodelist" && (f.starts_with("nodetype=") || f.starts_with("st=")))
            || (reqtype == "iflist" && f.starts_with("st=")))
    });
    for f in fields.iter_mut() {
        if f.starts_with("client_gen=") {
            *f = "client_gen=N".into();
        }
        if reqtype == "getparm" && f.starts_with("pvalue=") && line.contains("pvalue=3.0.6") {
            *f = "pvalue=VERSION".into();
        }
        if reqtype == "getparm" && f == "pvalue=2.0.8" {
            *f = "pvalue=VERSION".into();
        }
    }
    fields.join("|")
}

/// The lab's cluster as the original shows it from node a.
fn lab_view() -> FakeView {
    let mut v = FakeView::new();
    let node = |name: &str, kind, status: &str| NodeInfo {
        name: name.into(),
        kind,
        status: status.into(),
        weight: 100,
        site: String::new(),
    };
    v.nodes = vec![
        node("a", NodeKind::Normal, "active"),
        node("b", NodeKind::Normal, "active"),
        node("198.51.100.100", NodeKind::Ping, "ping"),
    ];
    let up = |n: &str| LinkInfo {
        name: n.into(),
        status: "up".into(),
    };
    v.links.clear();
    v.links.insert("a".into(), vec![up("eth1"), up("eth1")]);
    v.links.insert("b".into(), vec![up("eth1"), up("eth1")]);
    v.links
        .insert("198.51.100.100".into(), vec![up("198.51.100.100")]);
    v.params.clear();
    for (k, val) in [
        ("keepalive", "200ms"),
        ("deadtime", "1"),
        ("auto_failback", "on"),
        ("udpport", "694"),
    ] {
        v.params.insert(k.into(), val.into());
    }
    v.rsc = Some("local".into());
    v
}

#[test]
#[ignore = "needs root and the original heartbeat (a lab in network namespaces): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn compat_against_the_original() {
    // SAFETY: no memory effects.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the comparison with the original needs root (network namespaces)"
    );
    let out_dir = common::temp_dir("compat");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat-cl_status.sh");
    let st = Command::new("bash")
        .arg(&script)
        .env("OURS_CL_STATUS", env!("CARGO_BIN_EXE_cl_status"))
        .env("PROBE_BIN", std::env::current_exe().unwrap())
        .env("OUT_DIR", &out_dir)
        .status()
        .unwrap();
    assert!(st.success(), "{} failed", script.display());
    let orig = std::fs::read_to_string(out_dir.join("orig-replies.txt")).unwrap();

    // Our server in the same state: the lab's view, ipfail signed on.
    let s = TestServer::start_with_view(
        "compat-ours",
        Config {
            auth: common::test_auth(),
            ..Config::default()
        },
        lab_view(),
    );
    let mut ipfail = HbApi::new();
    ipfail.set_timeout(Some(Duration::from_secs(5)));
    assert!(ipfail.signon(s.path(), Some("ipfail")));
    // The probe's client is in this process too, signed on after ipfail: requests (matched
    // by pid first, newest client first, as the original does) go to it.
    let ours = probe(s.path());
    let orig: Vec<String> = orig.lines().map(normalize).collect();
    let ours: Vec<String> = ours.iter().map(|l| normalize(l)).collect();
    let mut diffs = Vec::new();
    for i in 0..orig.len().max(ours.len()) {
        let (o, u) = (orig.get(i), ours.get(i));
        if o != u {
            diffs.push(format!("  original: {o:?}\n  ours:     {u:?}"));
        }
    }
    for (o, u) in orig.iter().zip(&ours) {
        println!(
            "{}",
            if o == u {
                format!("same  {o}")
            } else {
                format!("DIFF  {o}\n      {u}")
            }
        );
    }
    assert!(
        diffs.is_empty(),
        "{} difference(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    let _ = std::fs::remove_dir_all(&out_dir);
}
