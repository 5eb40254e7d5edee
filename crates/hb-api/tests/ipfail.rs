//! The ipfail binary against the test daemon (tests/common, node `a` of `a`, `b` and the
//! ping node 198.51.100.100): a scripted exchange as the peer's ipfail and the daemon would
//! make it, checked message by message and log line by log line.
//!
//! `ipfail_beside_the_original` (ignored; root, the original installed) plays the same
//! script to the original ipfail (Debian's 3.0.6, in a mount namespace where the test
//! daemon's socket directory is its /run/heartbeat) and to ours, and compares what both
//! send and log: `cargo test -p hb-api --test ipfail -- --ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{FakeView, Inject, TestServer};
use hb_api::proto::Config;
use hb_api::text::{msg, one_line};
use hb_wire::Message;

const PING: &str = "198.51.100.100";
const ORIGINAL: &str = "/usr/libexec/heartbeat/ipfail";

fn two_nodes() -> FakeView {
    let mut v = FakeView::new();
    v.nodes.retain(|n| n.name != "c");
    v
}

/// One ipfail run against a test daemon.
struct Run {
    server: TestServer,
    child: Child,
    debug: PathBuf,
    logfile: PathBuf,
    /// Log lines and sent messages already reported.
    seen_logs: usize,
    seen_sent: usize,
}

/// `level: text` from a line of ours (`ipfail[PID]: YYYY/MM/DD_HH:MM:SS level: text`) or of
/// the 3.0.6 original (`Mon DD HH:MM:SS host ipfail: [PID]: level: text`).
fn normalize(line: &str) -> String {
    let rest = line.split_once("]: ").map_or(line, |(_, r)| r);
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        rest.split_once(' ').map_or(rest, |(_, r)| r).to_string()
    } else {
        rest.to_string()
    }
}

/// What ipfail sent to the cluster, without what the daemon adds.
fn sent_line(m: &Message) -> String {
    let mut keep = m.clone();
    for f in ["from_id", "to_id", "client_gen"] {
        keep.remove(f);
    }
    one_line(&keep)
}

impl Run {
    fn start(tag: &str, original: bool) -> Run {
        let server = TestServer::start_with_view(
            tag,
            Config {
                auth: common::test_auth(),
                ..Config::default()
            },
            two_nodes(),
        );
        let debug = server.dir.join("ipfail-debug");
        let logfile = server.dir.join("ipfail-log");
        let mut cmd = if original {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(r#"mount --bind "$1" /run/heartbeat && exec "$2""#)
                .arg("sh")
                .arg(server.path().parent().unwrap())
                .arg(ORIGINAL);
            c
        } else {
            let mut c = Command::new(env!("CARGO_BIN_EXE_ipfail"));
            c.arg("--socket").arg(server.path());
            c
        };
        cmd.env("HA_debugfile", &debug)
            .env("HA_logfile", &logfile)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        Run {
            server,
            child,
            debug,
            logfile,
            seen_logs: 0,
            seen_sent: 0,
        }
    }

    fn logs(&self) -> Vec<String> {
        std::fs::read_to_string(&self.debug)
            .unwrap_or_default()
            .lines()
            .map(normalize)
            .collect()
    }

    /// Messages from ipfail (the daemon's own join/leave notices left out).
    fn sent(&self) -> Vec<String> {
        self.server
            .sent()
            .iter()
            .filter(|m| m.get("from_id") == Some("ipfail") && m.msg_type() != Some("hbapi-clstat"))
            .map(sent_line)
            .collect()
    }

    fn count_log(&self, text: &str) -> usize {
        self.logs().iter().filter(|l| l.ends_with(text)).count()
    }

    /// Waits until `text` was logged `n` times in all (at most `secs`).
    fn wait_log(&self, text: &str, n: usize, secs: u64) -> bool {
        self.server.wait_for(secs, |_| self.count_log(text) >= n)
    }

    /// New log lines and sent messages since the last call, after a short quiet time.
    fn step(&mut self, name: &str, out: &mut Vec<String>) {
        std::thread::sleep(Duration::from_millis(300));
        let logs = self.logs();
        let sent = self.sent();
        out.push(format!("== {name}"));
        for l in logs.iter().skip(self.seen_logs) {
            out.push(format!("log {l}"));
        }
        for s in sent.iter().skip(self.seen_sent) {
            out.push(format!("sent {s}"));
        }
        self.seen_logs = logs.len();
        self.seen_sent = sent.len();
    }

    fn deliver(&self, fields: &[(&str, &str)]) {
        let mut m = msg(fields);
        for (k, v) in [
            ("from_id", "ipfail"),
            ("to_id", "ipfail"),
            ("client_gen", "1"),
        ] {
            m.push_str(k, v);
        }
        self.server.inject(Inject::Deliver(m));
    }

    fn set_ping(&self, st: &str) {
        let mut v = self.server.view.lock().unwrap();
        for n in &mut v.nodes {
            if n.name == PING {
                n.status = st.into();
            }
        }
    }

    fn stop(mut self) -> (Option<i32>, Duration, String) {
        let t = Instant::now();
        // SAFETY: a signal to the child we started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = t + Duration::from_secs(5);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st.code();
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = t.elapsed();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        (status, took, err)
    }
}

/// Figures measured along the script.
#[derive(Debug, Default)]
struct Times {
    /// you_are_dead delivered → ask_resources sent.
    giveup_ms: u128,
    /// The peer's stability delivered (with a give-up waiting) → num_ping_nodes sent.
    stable_wait_ms: u128,
}

/// Plays the script; returns the transcript.
fn script(r: &mut Run, with_stable_wait: bool, times: &mut Times) -> Vec<String> {
    let mut out = Vec::new();
    assert!(
        r.wait_log("Waiting for messages...", 1, 10),
        "ipfail did not start: {:?}",
        r.logs()
    );
    r.step("start", &mut out);

    let asked = |r: &Run| r.count_log("Message [num_ping] sent.");
    r.deliver(&[
        ("t", "hbapi-clstat"),
        ("st", "join"),
        ("src", "b"),
        ("info", "signon"),
    ]);
    assert!(r.wait_log("Message [num_ping] sent.", 1, 5));
    r.step("the peer's ipfail joins", &mut out);

    r.deliver(&[
        ("t", "num_ping_nodes"),
        ("src", "b"),
        ("num_ping", "1"),
        ("dest", "a"),
    ]);
    assert!(r.wait_log("giveup timeout has been destroyed.", 1, 5));
    r.step("balanced count (auto_failback on)", &mut out);

    r.deliver(&[("t", "abort_giveup"), ("src", "b"), ("dest", "a")]);
    assert!(r.wait_log("No giveup timer to abort.", 1, 5));
    r.step("abort_giveup without a timer", &mut out);

    r.deliver(&[("t", "you_are_dead"), ("dest", "a")]);
    r.deliver(&[("t", "abort_giveup"), ("src", "b"), ("dest", "a")]);
    assert!(r.wait_log("giveup timeout has been destroyed.", 2, 5));
    r.step("you_are_dead then abort_giveup", &mut out);

    r.set_ping("dead");
    r.server
        .inject(Inject::NodeStatus(PING.into(), "dead".into()));
    r.server
        .inject(Inject::LinkStatus(PING.into(), PING.into(), false));
    let n = asked(r);
    assert!(r.wait_log("Message [num_ping] sent.", n + 1, 5));
    r.step("the ping node dies", &mut out);

    r.deliver(&[
        ("t", "num_ping_nodes"),
        ("src", "b"),
        ("num_ping", "1"),
        ("dest", "a"),
    ]);
    assert!(r.wait_log("giveup timeout has been destroyed.", 3, 5));
    r.step("the peer sees more", &mut out);

    r.set_ping("ping");
    r.server
        .inject(Inject::LinkStatus(PING.into(), PING.into(), true));
    r.server
        .inject(Inject::NodeStatus(PING.into(), "ping".into()));
    let n = asked(r);
    assert!(r.wait_log("Message [num_ping] sent.", n + 1, 5));
    r.step("the ping node is back", &mut out);

    let n = r.sent().len();
    let t = Instant::now();
    r.deliver(&[("t", "you_are_dead"), ("dest", "a")]);
    assert!(r.server.wait_for(5, |_| r.sent().len() > n));
    times.giveup_ms = t.elapsed().as_millis();
    r.step("you_are_dead: give up all", &mut out);

    if with_stable_wait {
        r.server.view.lock().unwrap().rsc = Some("transition".into());
        r.deliver(&[("t", "you_are_dead"), ("dest", "a")]);
        assert!(r.wait_log("giveup() called (timeout worked)", 4, 5));
        r.step("give-up while in transition", &mut out);
        r.server.view.lock().unwrap().rsc = Some("local".into());
        let n = r.sent().len();
        let t = Instant::now();
        r.deliver(&[
            ("t", "resource"),
            ("rsc_hold", "local"),
            ("src", "b"),
            ("isstable", "1"),
        ]);
        // waits during the sleep
        r.deliver(&[("t", "abort_giveup"), ("src", "b"), ("dest", "a")]);
        assert!(r.server.wait_for(15, |_| r.sent().len() > n));
        times.stable_wait_ms = t.elapsed().as_millis();
        assert!(r.wait_log("No giveup timer to abort.", 2, 5));
        r.step("the other side is stable: sleep, ask again", &mut out);
    }
    out
}

fn expected(with_stable_wait: bool) -> Vec<String> {
    let mut v: Vec<&str> = vec![
        "== start",
        "log debug: PID=",
        "log debug: Signing in with heartbeat",
        "log debug: [We are a]",
        "log debug: auto_failback -> 1 (on)",
        "log debug: Setting message filter mode",
        "log debug: Starting node walk",
        "log debug: Cluster node: 198.51.100.100: status: ping",
        "log debug: Cluster node: b: status: active",
        "log debug: [They are b]",
        "log debug: Cluster node: a: status: active",
        "log debug: Setting message signal",
        "log debug: Waiting for messages...",
        "== the peer's ipfail joins",
        "log debug: Got join message from another ipfail client. (b)",
        "log debug: Found ping node 198.51.100.100!",
        "log info: Asking other side for ping node count.",
        "log debug: Message [num_ping] sent.",
        "sent t=num_ping_nodes|src=a|num_ping=1|dest=b",
        "== balanced count (auto_failback on)",
        "log debug: Got asked for num_ping.",
        "log debug: Found ping node 198.51.100.100!",
        "log info: Ping node count is balanced.",
        "log debug: Abort message sent.",
        "log info: Giving up foreign resources (auto_failback).",
        "log info: Delayed giveup in 0 seconds.",
        "log info: giveup() called (timeout worked)",
        "log debug: Message [ask_resources] sent.",
        "log debug: giveup timeout has been destroyed.",
        "sent t=abort_giveup|src=a|dest=b",
        "sent t=ask_resources|rsc_hold=foreign|src=a|info=me",
        "== abort_giveup without a timer",
        "log info: No giveup timer to abort.",
        "== you_are_dead then abort_giveup",
        "log info: Giving up because we were told that we have less ping nodes.",
        "log info: Delayed giveup in 0 seconds.",
        "log info: Aborted delayed giveup (4)",
        "log debug: giveup timeout has been destroyed.",
        "== the ping node dies",
        "log info: Status update: Node 198.51.100.100 now has status dead",
        "log info: NS: We are dead. :<",
        "log info: Link Status update: Link 198.51.100.100/198.51.100.100 now has status dead",
        "log info: We are dead. :<",
        "log info: Asking other side for ping node count.",
        "log debug: Message [num_ping] sent.",
        "sent t=num_ping_nodes|src=a|num_ping=0|dest=b",
        "== the peer sees more",
        "log debug: Got asked for num_ping.",
        "log info: Giving up because we have less visible ping nodes.",
        "log info: Delayed giveup in 0 seconds.",
        "log info: giveup() called (timeout worked)",
        "log debug: Message [ask_resources] sent.",
        "log debug: giveup timeout has been destroyed.",
        "sent t=ask_resources|rsc_hold=all|src=a|info=me",
        "== the ping node is back",
        "log info: Link Status update: Link 198.51.100.100/198.51.100.100 now has status up",
        "log info: Status update: Node 198.51.100.100 now has status ping",
        "log info: A ping node just came up.",
        "log debug: Found ping node 198.51.100.100!",
        "log info: Asking other side for ping node count.",
        "log debug: Message [num_ping] sent.",
        "sent t=num_ping_nodes|src=a|num_ping=1|dest=b",
        "== you_are_dead: give up all",
        "log info: Giving up because we were told that we have less ping nodes.",
        "log info: Delayed giveup in 0 seconds.",
        "log info: giveup() called (timeout worked)",
        "log debug: Message [ask_resources] sent.",
        "log debug: giveup timeout has been destroyed.",
        "sent t=ask_resources|rsc_hold=all|src=a|info=me",
    ];
    if with_stable_wait {
        v.extend([
            "== give-up while in transition",
            "log info: Giving up because we were told that we have less ping nodes.",
            "log info: Delayed giveup in 0 seconds.",
            "log info: giveup() called (timeout worked)",
            "log debug: giveup timeout has been destroyed.",
            "== the other side is stable: sleep, ask again",
            "log debug: Other side is now stable.",
            "log debug: Found ping node 198.51.100.100!",
            "log info: Asking other side for ping node count.",
            "log debug: Message [num_ping] sent.",
            "log info: No giveup timer to abort.",
            "sent t=num_ping_nodes|src=a|num_ping=1|dest=b",
        ]);
    }
    v.into_iter().map(str::to_string).collect()
}

/// The PID line's number varies.
fn without_pid(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .map(|l| match l.strip_prefix("log debug: PID=") {
            Some(_) => "log debug: PID=".to_string(),
            None => l,
        })
        .collect()
}

#[test]
fn ipfail_plays_its_part() {
    let mut r = Run::start("ipfail", false);
    let mut times = Times::default();
    let got = without_pid(script(&mut r, false, &mut times));
    let want = expected(false);
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(g, w, "line {i}; all:\n{}", got.join("\n"));
    }
    assert_eq!(got.len(), want.len(), "all:\n{}", got.join("\n"));
    // 2 x keepalive (200 ms)
    assert!(
        (390..1500).contains(&times.giveup_ms),
        "give-up after {} ms",
        times.giveup_ms
    );
    // the log file has the same lines without the debug ones
    let file = std::fs::read_to_string(&r.logfile).unwrap();
    let file: Vec<String> = file.lines().map(normalize).collect();
    let info: Vec<String> = r
        .logs()
        .into_iter()
        .filter(|l| !l.starts_with("debug: "))
        .collect();
    assert_eq!(file, info);
    assert!(file.len() > 20);
    let pid = r.child.id();
    let (code, took, err) = r.stop();
    assert_eq!(code, Some(0), "stderr: {err}");
    // the original looks at its quit flag once a second
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    // stderr until it waits for messages, in the original's format
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 12, "{err}");
    let prefix = format!("ipfail[{pid}]: ");
    assert!(lines.iter().all(|l| l.starts_with(&prefix)), "{err}");
    assert!(
        lines[11].ends_with(" debug: Waiting for messages..."),
        "{err}"
    );
    let stamp = lines[0].strip_prefix(&prefix).unwrap();
    assert_eq!(stamp.as_bytes()[4], b'/');
    assert_eq!(stamp.as_bytes()[10], b'_');
}

#[test]
fn ipfail_signs_off_and_the_daemon_says_so() {
    let r = Run::start("ipfail-off", false);
    assert!(r.wait_log("Waiting for messages...", 1, 10));
    let joined = r.server.sent().iter().any(|m| {
        m.msg_type() == Some("hbapi-clstat")
            && m.get("st") == Some("join")
            && m.get("from_id") == Some("ipfail")
    });
    assert!(joined);
    let server_sent = {
        let s = &r.server;
        let sent = s.shared.clone();
        move || sent.lock().unwrap().sent.clone()
    };
    let (code, _, _) = r.stop();
    assert_eq!(code, Some(0));
    let left = server_sent().iter().any(|m| {
        m.msg_type() == Some("hbapi-clstat")
            && m.get("st") == Some("leave")
            && m.get("info") == Some("signoff")
    });
    assert!(left);
}

fn run_to_exit(view: FakeView, socket: Option<&Path>) -> (Option<i32>, String) {
    let server = TestServer::start_with_view(
        "ipfail-exit",
        Config {
            auth: common::test_auth(),
            ..Config::default()
        },
        view,
    );
    let path = socket.unwrap_or(server.path()).to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipfail"))
        .arg(format!("--socket={}", path.display()))
        .env_remove("HA_logfile")
        .env_remove("HA_debugfile")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let o = child.wait_with_output().unwrap();
    let err: Vec<String> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(" ERROR: "))
        .map(normalize)
        .collect();
    (o.status.code(), err.join("\n"))
}

#[test]
fn ipfail_start_up_failures() {
    let mut v = two_nodes();
    v.rsc = None;
    assert_eq!(
        run_to_exit(v, None),
        (Some(100), "ERROR: No managed resources".into())
    );
    let mut v = two_nodes();
    v.params.insert("auto_failback".into(), "legacy".into());
    assert_eq!(
        run_to_exit(v, None),
        (
            Some(100),
            "ERROR: auto_failback set to incompatible legacy option.".into()
        )
    );
    let (code, err) = run_to_exit(two_nodes(), Some(Path::new("/nonexistent/hb/register")));
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("ERROR: Cannot sign on with heartbeat\nERROR: REASON: "),
        "{err}"
    );
}

#[test]
fn ipfail_exits_when_the_daemon_goes_away() {
    let server = TestServer::start_with_view(
        "ipfail-lost",
        Config {
            auth: common::test_auth(),
            ..Config::default()
        },
        two_nodes(),
    );
    let debug = server.dir.join("debug");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipfail"))
        .arg("--socket")
        .arg(server.path())
        .env("HA_debugfile", &debug)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = server.wait_for(10, |_| {
        std::fs::read_to_string(&debug)
            .unwrap_or_default()
            .contains("Waiting for messages...")
    });
    assert!(started);
    drop(server);
    let t = Instant::now();
    let end = t + Duration::from_secs(5);
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(code, Some(1));
    assert!(t.elapsed() < Duration::from_millis(1500));
}

/// The comparison is `#[ignore]`d (it needs root and the original); asked for without them,
/// it fails and says what is missing.
fn need_the_original() {
    // SAFETY: no memory effects.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the comparison with the original needs root (mount namespace)"
    );
    assert!(
        Path::new(ORIGINAL).exists(),
        "{ORIGINAL} is not installed (apt-get install heartbeat)"
    );
}

#[test]
#[ignore = "needs root and the original ipfail: compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipfail_beside_the_original() {
    need_the_original();
    let mut transcripts = Vec::new();
    for original in [true, false] {
        let mut r = Run::start(if original { "ipf-orig" } else { "ipf-ours" }, original);
        let mut times = Times::default();
        let t = without_pid(script(&mut r, true, &mut times));
        let (code, took, _) = r.stop();
        eprintln!(
            "{}: give-up {} ms after you_are_dead; asked again {} ms after the peer's stability; \
             exit {code:?} {} ms after SIGTERM",
            if original { "original" } else { "ours" },
            times.giveup_ms,
            times.stable_wait_ms,
            took.as_millis()
        );
        assert_eq!(code, Some(0));
        assert!((9_900..12_000).contains(&times.stable_wait_ms));
        transcripts.push(t);
    }
    let (orig, ours) = (&transcripts[0], &transcripts[1]);
    for (i, (o, u)) in orig.iter().zip(ours.iter()).enumerate() {
        assert_eq!(
            o,
            u,
            "line {i}\noriginal:\n{}\nours:\n{}",
            orig.join("\n"),
            ours.join("\n")
        );
    }
    assert_eq!(orig.len(), ours.len(), "original:\n{}", orig.join("\n"));
    assert_eq!(ours, &expected(true));
}
