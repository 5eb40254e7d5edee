//! Starting the real daemon (root only: it runs in a network namespace of its own, made with
//! `unshare -n`, and talks to itself over loopback): what reaches the terminal and the exit
//! status of `heartbeat`, and what it does with the node's state files.
//!
//! - A garbled, empty, negative or too big /var/lib/heartbeat/hb_generation does not stop the
//!   start (the original starts too); the daemon says so on stderr and in its log and goes on
//!   from the clock.
//! - What stops a start reaches the terminal and the exit status: before daemonizing (an
//!   hb_generation that cannot be read) and after it (a medium that cannot be opened), where the
//!   first version exited 0, printed nothing, and died in the background.
//! - With no log directive in ha.cf (`use_logd` on by default), the daemon logs where
//!   2.0.8's ha_logd would have: the files and facility of logd.cf beside the configuration
//!   directory; before, such a node logged nowhere.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_heartbeat");

/// These tests are `#[ignore]`d (they need root); asked for without root, they fail.
fn need_root() {
    // SAFETY: geteuid has no preconditions.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "starting the daemon needs root (network namespace)"
    );
}

struct Node {
    dir: PathBuf,
}

impl Node {
    fn new(tag: &str, medium: &str) -> Node {
        Node::with(tag, medium, "")
    }

    /// A node whose ha.cf has the lines `extra` too (after its log directives).
    fn with(tag: &str, medium: &str, extra: &str) -> Node {
        let dir = std::env::temp_dir().join(format!("hb-start-{tag}-{}", std::process::id()));
        let log = format!(
            "logfacility none\nlogfile {}\n{extra}",
            dir.join("lib/ha-log").display()
        );
        Node::with_log(tag, medium, &log)
    }

    /// A node whose ha.cf has `log` as its log directives.
    fn with_log(tag: &str, medium: &str, log: &str) -> Node {
        let dir = std::env::temp_dir().join(format!("hb-start-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for d in ["etc", "lib", "run"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        let etc = dir.join("etc");
        fs::write(
            etc.join("ha.cf"),
            format!(
                "{log}keepalive 200ms\ndeadtime 1\nwarntime 500ms\n\
                 initdead 2\nudpport 694\n{medium}\nauto_failback on\nnode alpha\nnode beta\ncrm off\n"
            ),
        )
        .unwrap();
        fs::write(etc.join("haresources"), "").unwrap();
        fs::write(etc.join("authkeys"), "auth 1\n1 crc\n").unwrap();
        fs::set_permissions(etc.join("authkeys"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(etc.join("nodeinfo"), "alpha\n").unwrap();
        Node { dir }
    }

    fn args(&self) -> Vec<String> {
        vec![
            "--config-dir".into(),
            self.dir.join("etc").display().to_string(),
            "--state-dir".into(),
            self.dir.join("lib").display().to_string(),
            "--pid-file".into(),
            self.dir.join("run/heartbeat.pid").display().to_string(),
        ]
    }

    fn generation_file(&self) -> PathBuf {
        self.dir.join("lib/hb_generation")
    }

    /// `heartbeat` (it daemonizes) in a network namespace of its own with loopback up.
    fn start(&self) -> Output {
        let t0 = Instant::now();
        let o = Command::new("unshare")
            .args([
                "-n",
                "sh",
                "-c",
                "ip link set lo up && exec \"$0\" \"$@\"",
                BIN,
            ])
            .args(self.args())
            .output()
            .expect("run unshare");
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "heartbeat returned after {:?}",
            t0.elapsed()
        );
        o
    }

    fn pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.dir.join("run/heartbeat.pid")).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        // SAFETY: kill with signal 0 only checks the process exists.
        (unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
    }

    /// The soft and hard core-size limits of the running daemon, as /proc shows them.
    fn core_limits(&self) -> (String, String) {
        let pid = self.pid().expect("a running daemon");
        let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let line = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .expect("core line");
        let w: Vec<&str> = line["Max core file size".len()..]
            .split_whitespace()
            .collect();
        (w[0].to_string(), w[1].to_string())
    }

    /// The running daemon's working directory.
    fn cwd(&self) -> PathBuf {
        let pid = self.pid().expect("a running daemon");
        fs::read_link(format!("/proc/{pid}/cwd")).unwrap()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("lib/ha-log")).unwrap_or_default()
    }

    fn stop(&self) {
        let pid = self.pid();
        let o = Command::new("timeout")
            .arg("30")
            .arg(BIN)
            .arg("-k")
            .args(self.args())
            .output()
            .expect("heartbeat -k");
        assert_eq!(o.status.code(), Some(0), "-k: {o:?}");
        if let Some(pid) = pid {
            let end = Instant::now() + Duration::from_secs(5);
            // SAFETY: as in pid().
            while unsafe { libc::kill(pid, 0) } == 0 && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            // SAFETY: the daemon this test started, named by its own pid file.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn starts_despite(tag: &str, content: &[u8]) {
    need_root();
    let n = Node::new(tag, "ucast lo 127.0.0.1");
    fs::write(n.generation_file(), content).unwrap();
    let before = unix_now();
    let o = n.start();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{content:?}: {stderr}");
    assert!(
        stderr.contains("WARN: BROKEN previous generation - starting at"),
        "{content:?}: the terminal is told: {stderr}"
    );
    let pid = n
        .pid()
        .unwrap_or_else(|| panic!("{content:?}: no daemon runs"));
    let g: u64 = fs::read_to_string(n.generation_file())
        .unwrap()
        .trim()
        .parse()
        .expect("a generation again");
    assert!(g > before && g <= unix_now() + 1, "{content:?}: {g}");
    let log = n.log();
    assert!(log.contains("BROKEN previous generation"), "{log}");
    assert!(log.contains(&format!("Heartbeat generation: {g}")), "{log}");
    n.stop();
    // SAFETY: as in Node::pid.
    assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "the daemon stopped");
}

#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn starts_with_an_empty_generation_file() {
    starts_despite("empty", b"");
}

#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn starts_with_a_garbled_generation_file() {
    starts_despite("garbled", b"garbage\n");
}

#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn starts_with_a_negative_generation() {
    starts_despite("negative", b"             -5\n");
}

#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn starts_with_a_huge_generation() {
    starts_despite("huge", b"99999999999999999999999\n");
}

#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn starts_with_a_generation_that_cannot_grow() {
    starts_despite("max", b"18446744073709551615\n");
}

#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn a_missing_generation_starts_at_one() {
    need_root();
    let n = Node::new("missing", "ucast lo 127.0.0.1");
    let o = n.start();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(n.pid().is_some());
    assert_eq!(
        fs::read_to_string(n.generation_file()).unwrap(),
        "              1\n"
    );
    assert!(n.log().contains("No Previous generation - starting at 1"));
    n.stop();
}

/// Before daemonizing: the message and the exit status reach the terminal.
#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn an_unreadable_generation_stops_the_start_loudly() {
    need_root();
    let n = Node::new("unreadable", "ucast lo 127.0.0.1");
    fs::create_dir(n.generation_file()).unwrap();
    let o = n.start();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Cannot get/increment generation number"),
        "{stderr}"
    );
    assert!(n.pid().is_none(), "no daemon");
}

/// After daemonizing: the daemon reports to the process that started it.
#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn a_medium_that_cannot_open_stops_the_start_loudly() {
    need_root();
    // The configuration accepts a ucast interface that does not exist (a warning, as the
    // original); opening the medium then fails in the daemon.
    let n = Node::new("nomedium", "ucast nosuch0 127.0.0.1");
    let o = n.start();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open ucast medium on nosuch0"),
        "{stderr}"
    );
    assert!(stderr.contains("heartbeat not started"), "{stderr}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(n.pid().is_none(), "no daemon left behind");
}

/// The directives 2.0.8 acts on at start beyond the heartbeat path, acted on here too:
/// `hbgenmethod time` (the clock's seconds; hb_generation neither read nor written),
/// `uuidfrom nodename` (the name's uuid, `seed is N` logged; no hb_uuid), `coredumps off`
/// (core size limit 0), `coreroot DIR` (the daemon works in DIR/root), `debug N` (the debug
/// level, which SIGUSR1 then raises).
#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn start_directives_act_as_in_2_0_8() {
    need_root();
    let tag = format!("directives-{}", std::process::id());
    let cores = std::env::temp_dir().join(format!("hb-start-cores-{tag}"));
    fs::create_dir_all(cores.join("root")).unwrap();
    let extra = format!(
        "hbgenmethod time\nuuidfrom nodename\ncoredumps off\ncoreroot {}\ndebug 3\n",
        cores.display()
    );
    let n = Node::with("directives", "ucast lo 127.0.0.1", &extra);
    let before = unix_now();
    let o = n.start();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let after = unix_now();
    let log = n.log();
    let g: u64 = log
        .lines()
        .find_map(|l| l.split("Heartbeat generation: ").nth(1))
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or_else(|| panic!("no generation line: {log}"));
    assert!(before <= g && g <= after, "{before} <= {g} <= {after}");
    assert!(!n.generation_file().exists(), "hb_generation untouched");
    // 2.0.8's uuid of `alpha` (hb-io's uuid_from_name test has the uuid itself).
    assert!(log.contains("seed is 92909918"), "{log}");
    assert!(!n.dir.join("lib/hb_uuid").exists(), "hb_uuid untouched");
    assert!(!log.contains("No uuid found"), "{log}");
    assert_eq!(n.core_limits().0, "0");
    assert_eq!(n.cwd(), cores.join("root"));
    let pid = n.pid().unwrap();
    // SAFETY: the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    let end = Instant::now() + Duration::from_secs(5);
    while !n.log().contains("debug now set to 4") && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(n.log().contains("debug now set to 4"), "{}", n.log());
    n.stop();
    let _ = fs::remove_dir_all(&cores);
}

/// Without those lines: hb_generation and hb_uuid, core dumps on (the soft limit raised to
/// the hard one, as 2.0.8's default `coredumps true`), the work directory cores/root.
#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn start_directives_default_as_in_2_0_8() {
    need_root();
    let n = Node::new("directive-defaults", "ucast lo 127.0.0.1");
    fs::create_dir_all(n.dir.join("lib/cores/root")).unwrap();
    let o = n.start();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(n.generation_file().exists() && n.dir.join("lib/hb_uuid").exists());
    let (soft, hard) = n.core_limits();
    assert_eq!(soft, hard);
    assert_eq!(n.cwd(), n.dir.join("lib/cores/root"));
    assert!(!n.log().contains("seed is"));
    n.stop();
}

/// No log directive in ha.cf: the daemon logs where 2.0.8's ha_logd would, from logd.cf.
#[test]
#[ignore = "needs root (the daemon in a network namespace): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn without_a_log_directive_it_logs_where_logd_would() {
    need_root();
    let n = Node::with_log("logd", "ucast lo 127.0.0.1", "");
    let (log, debug) = (n.dir.join("logd-log"), n.dir.join("logd-debug"));
    let cf = n.dir.join("logd.cf");
    fs::write(
        &cf,
        format!(
            "logfile {}\ndebugfile {}\nlogfacility none\nentity ourlogd\n",
            log.display(),
            debug.display()
        ),
    )
    .unwrap();
    let o = n.start();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let pid = n.pid().expect("the daemon runs");
    let end = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while Instant::now() < end && !text.contains("Heartbeat generation:") {
        std::thread::sleep(Duration::from_millis(100));
        text = fs::read_to_string(&log).unwrap_or_default();
    }
    let prefix = format!("heartbeat[{pid}]: ");
    for want in [
        format!("ourlogd[{pid}]: "),
        format!(" info: logd started with {}.", cf.display()),
        " info: No log entry found in ha.cf -- use logd".to_string(),
        " info: Heartbeat generation: ".to_string(),
    ] {
        assert!(text.contains(&want), "{want:?} in:\n{text}");
    }
    assert!(
        text.lines().filter(|l| l.starts_with(&prefix)).count() >= 3,
        "{text}"
    );
    let d = fs::read_to_string(&debug).unwrap_or_default();
    assert!(
        d.contains("Heartbeat generation: "),
        "the debug file too:\n{d}"
    );
    assert!(!n.dir.join("lib/ha-log").exists());
    n.stop();
}
