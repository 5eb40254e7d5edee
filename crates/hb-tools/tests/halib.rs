//! Our HALIB programs on their own (no original needed): what only ours does, or what
//! the original cannot be asked to do here (a reboot after a failed stop).

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hb_tools::halib::{node_list, NodeTool};
use hb_tools::resource_manager::{Recovery, Rm, Sink, Verb};

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A scratch HA_DIR with haresources `a R1 R2` and recording scripts: status prints
/// running/stopped from a state file; start fails with 4 when `fail.NAME` exists and
/// sleeps when `slow.NAME` exists; stop fails (leaving it running) when `stuck.NAME`
/// exists.
fn scratch(tag: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("hb-tools-halib-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("resource.d")).unwrap();
    fs::write(d.join("haresources"), "a R1 R2\nb R3\n").unwrap();
    fs::write(d.join("fifo"), "").unwrap();
    for s in ["R1", "R2", "R3"] {
        let p = d.join("resource.d").join(s);
        fs::write(
            &p,
            r#"#!/bin/sh
n=${0##*/}; d=$(dirname "$0")/..
for op; do :; done
echo "$n $op" >> "$d/calls"
case $op in
status) [ -e "$d/run.$n" ] && echo running || echo stopped ;;
start) [ -e "$d/slow.$n" ] && sleep 5; [ -e "$d/fail.$n" ] && exit 4; touch "$d/run.$n" ;;
stop) [ -e "$d/stuck.$n" ] && exit 1; rm -f "$d/run.$n" ;;
esac
exit 0
"#,
        )
        .unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    Dir(d)
}

fn rm_for(d: &Path, extra: &[(&str, &str)]) -> Rm {
    let mut vars: Vec<(String, OsString)> = vec![
        ("HA_CURHOST".into(), "a".into()),
        ("HA_LOGFILE".into(), d.join("log").into()),
        ("HA_DEBUGLOG".into(), d.join("debug").into()),
        ("HA_FIFO".into(), d.join("fifo").into()),
    ];
    for (k, v) in extra {
        vars.push((k.to_string(), v.into()));
    }
    let get = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Rm::from_env(
        "ResourceManager",
        "ResourceManager",
        d,
        &get,
        1,
        Path::new("/nonexistent"),
    )
}

fn calls(d: &Path) -> String {
    let s = fs::read_to_string(d.join("calls")).unwrap_or_default();
    let _ = fs::remove_file(d.join("calls"));
    s
}

struct Recorder(Mutex<u32>);
impl Recovery for Recorder {
    fn recover(&self, _: &Rm, _: &mut dyn Write) {
        *self.0.lock().unwrap() += 1;
    }
}

#[test]
fn failed_start_releases_and_asks_for_standby_later() {
    let s = scratch("standby");
    let d = s.0.as_path();
    let mut rm = rm_for(d, &[]);
    // hb_standby stand-in: records its argument.
    let standby = d.join("hb_standby");
    fs::write(
        &standby,
        format!("#!/bin/sh\necho \"$@\" > {}/standby\n", d.display()),
    )
    .unwrap();
    fs::set_permissions(&standby, fs::Permissions::from_mode(0o755)).unwrap();
    rm.standby = standby;
    rm.standby_delay = Duration::from_millis(300);
    fs::write(d.join("fail.R2"), "").unwrap();
    let rec = Recorder(Mutex::new(0));
    let rc = rm.takegroup("R1", &Sink::Inherit, &mut std::io::sink(), &rec);
    assert_eq!(rc, 0, "2.0.8's status after a failed start");
    assert_eq!(
        calls(d),
        "R1 status\nR1 start\nR2 status\nR2 start\nR2 stop\nR1 stop\n"
    );
    assert!(!d.join("standby").exists(), "not before the delay");
    let t = Instant::now();
    // The stand-in's shell creates the file before it writes the line: wait for the line.
    let written = || fs::read_to_string(d.join("standby")).unwrap_or_default();
    while !written().ends_with('\n') && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(written(), "foreign\n");
    let log = fs::read_to_string(d.join("log")).unwrap();
    assert!(log.contains("ERROR: Return code 4 from "), "{log}");
    assert!(
        log.contains("CRIT: Giving up resources due to failure of R2"),
        "{log}"
    );
    assert_eq!(*rec.0.lock().unwrap(), 0);
}

#[test]
fn stop_that_fails_while_running_calls_for_the_reboot() {
    let s = scratch("stuck");
    let d = s.0.as_path();
    let rm = rm_for(d, &[("HA_STOPRETRYMAX", "2")]);
    fs::write(d.join("run.R2"), "").unwrap();
    fs::write(d.join("stuck.R2"), "").unwrap();
    let rec = Recorder(Mutex::new(0));
    let t = Instant::now();
    let rc = rm.givegroup("R1", &Sink::Inherit, &mut std::io::sink(), &rec);
    // 1 try + 2 retries a second apart, then the status check.
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(rc, 1);
    assert_eq!(calls(d), "R2 stop\nR2 stop\nR2 stop\nR2 status\n");
    assert_eq!(
        *rec.0.lock().unwrap(),
        1,
        "the recovery (kill and reboot) is asked for once"
    );
    let log = fs::read_to_string(d.join("log")).unwrap();
    assert_eq!(
        log.matches("info: Retrying failed stop operation [R2]")
            .count(),
        2,
        "{log}"
    );
    assert!(
        log.contains("CRIT: Resource STOP failure. Reboot required!"),
        "{log}"
    );
    assert!(
        log.contains("CRIT: Killing heartbeat ungracefully!"),
        "{log}"
    );
}

#[test]
fn no_reboot_when_the_status_after_failed_stops_hangs() {
    let s = scratch("stuckslow");
    let d = s.0.as_path();
    let mut rm = rm_for(d, &[("HA_STOPRETRYMAX", "0x")]);
    rm.group_config.status_timeout = Duration::from_millis(300);
    fs::write(d.join("stuck.R2"), "").unwrap();
    // A status that hangs: the script sleeps on status when slow.R2 exists.
    let p = d.join("resource.d").join("R2");
    let text = fs::read_to_string(&p).unwrap().replace(
        "status) [",
        "status) [ -e \"$d/slowstatus.$n\" ] && sleep 5; [",
    );
    fs::write(&p, text).unwrap();
    fs::write(d.join("slowstatus.R2"), "").unwrap();
    let rec = Recorder(Mutex::new(0));
    let rc = rm.givegroup("R1", &Sink::Inherit, &mut std::io::sink(), &rec);
    assert_eq!(rc, 1);
    assert_eq!(
        *rec.0.lock().unwrap(),
        0,
        "no reboot on a status that did not answer"
    );
    let log = fs::read_to_string(d.join("log")).unwrap();
    assert!(
        log.contains("did not answer in time: not rebooting"),
        "{log}"
    );
}

#[test]
fn a_script_that_hangs_is_killed_at_its_deadline() {
    let s = scratch("slow");
    let d = s.0.as_path();
    let mut rm = rm_for(d, &[]);
    rm.group_config.start_timeout = Duration::from_millis(500);
    fs::write(d.join("slow.R1"), "").unwrap();
    let t = Instant::now();
    let rc = rm.takegroup(
        "R1",
        &Sink::Inherit,
        &mut std::io::sink(),
        &Recorder(Mutex::new(0)),
    );
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(rc, 0);
    let log = fs::read_to_string(d.join("log")).unwrap();
    assert!(log.contains("start did not end in 0.5 s: killed"), "{log}");
    assert!(calls(d).ends_with("R2 stop\nR1 stop\n"));
}

#[test]
fn curhost_defaults_to_this_node_and_output_without_debuglog() {
    let s = scratch("host");
    let d = s.0.as_path();
    let node = ha_config::local_node_name(d).unwrap();
    fs::write(d.join("haresources"), format!("{node} R1\nother R3\n")).unwrap();
    let get = |k: &str| match k {
        "HA_LOGFILE" => Some(OsString::from(d.join("log"))),
        _ => None,
    };
    let rm = Rm::from_env("RM", "RM", d, &get, 1, Path::new("/x"));
    assert_eq!(rm.curhost, node);
    assert!(rm.debuglog.is_none());
    assert!(matches!(rm.sink(), Sink::Inherit));
    let mut out = Vec::new();
    let rc = rm.run_verb(
        &Verb::OurKeys,
        &mut out,
        &mut std::io::sink(),
        &Recorder(Mutex::new(0)),
    );
    assert_eq!(
        (rc, String::from_utf8(out).unwrap()),
        (0, "R1 \n".to_string())
    );
    let mut out = Vec::new();
    rm.run_verb(
        &Verb::StatGroup("R3".into()),
        &mut out,
        &mut std::io::sink(),
        &Recorder(Mutex::new(0)),
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "NONE\n",
        "statgroup answers on stdout"
    );
    // The environment the scripts get.
    for k in [
        "HA_DIR",
        "HA_FUNCS",
        "HA_RCDIR",
        "HA_FIFO",
        "HA_BIN",
        "HA_DEBUGLOG",
        "HA_DATEFMT",
        "HA_RESOURCEDIR",
    ] {
        assert!(rm.child_env.iter().any(|(n, _)| n == k), "{k}");
    }
    assert!(rm.child_env.contains(&("HA_BIN".into(), "/x".into())));
}

#[test]
fn the_daemon_fifo_reader_reads_mach_down_and_req_resource() {
    let s = scratch("fifo");
    let d = s.0.as_path();
    let run = |prog: &str, args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(prog);
        c.args(["--config-dir", d.to_str().unwrap()]).args(args);
        c.env("HA_CURHOST", "a")
            .env("HA_LOGFILE", d.join("log"))
            .env("HA_FIFO", d.join("fifo"))
            .env("HA_DEBUGLOG", d.join("debug"));
        for (k, v) in env {
            c.env(k, v);
        }
        c.status().unwrap().code().unwrap()
    };
    assert_eq!(
        run(
            env!("CARGO_BIN_EXE_mach_down"),
            &["B"],
            &[("HA_NICEFAILBACK", "yes")]
        ),
        0
    );
    assert_eq!(calls(d), "R3 status\nR3 start\n");
    assert_eq!(run(env!("CARGO_BIN_EXE_req_resource"), &["R1"], &[]), 0);
    let bytes = fs::read(d.join("fifo")).unwrap();
    let items = hb_io::fifo::FifoParser::new().push(&bytes);
    let msgs: Vec<_> = items
        .iter()
        .map(|i| match i {
            hb_io::fifo::FifoItem::Message(m) => m.clone(),
            hb_io::fifo::FifoItem::Bad(w) => panic!("{w}"),
        })
        .collect();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].msg_type(), Some("resource"));
    assert_eq!(msgs[0].get("rsc_hold"), Some("foreign"));
    assert_eq!(msgs[0].get("info"), Some("mach_down"));
    assert_eq!(msgs[1].msg_type(), Some("ip-request"));
    assert_eq!(msgs[1].get("ipaddr"), Some("R1"));
    // No FIFO: status 2 and nothing created.
    fs::remove_file(d.join("fifo")).unwrap();
    assert_eq!(run(env!("CARGO_BIN_EXE_req_resource"), &["R1"], &[]), 2);
    assert!(!d.join("fifo").exists());
    // Usage.
    assert_eq!(run(env!("CARGO_BIN_EXE_mach_down"), &[], &[]), 1);
    assert_eq!(run(env!("CARGO_BIN_EXE_req_resource"), &[], &[]), 1);
}

#[test]
fn node_list_changes_are_refused_plainly() {
    for tool in [NodeTool::Add, NodeTool::Del] {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(node_list(tool, &[], &mut out, &mut err), 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("usage: {} <node> <node> ...\n", tool.name())
        );
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            node_list(tool, &["c".into(), "d".into()], &mut out, &mut err),
            1
        );
        assert!(out.is_empty());
        let e = String::from_utf8(err).unwrap();
        assert!(
            e.contains("not supported") && e.contains("nothing was sent"),
            "{e}"
        );
        assert!(e.contains("(c d)"), "{e}");
    }
}

/// ResourceManager runs a resource found as a systemd unit as the daemon does: through
/// `systemctl` (a stand-in first in the scripts' PATH: no systemd runs here), with
/// `is-active` read as an init script's status; the lookup is the daemon's, unit
/// directories given.
#[test]
fn a_unit_runs_through_systemctl() {
    let s = scratch("unit");
    let d = s.0.as_path();
    fs::write(d.join("haresources"), "a R1 hbtest-db\nb hbtest-db::x\n").unwrap();
    fs::create_dir_all(d.join("units")).unwrap();
    fs::create_dir_all(d.join("bin")).unwrap();
    fs::write(
        d.join("units/hbtest-db.service"),
        "[Service]\nExecStart=/bin/true\n",
    )
    .unwrap();
    let sc = d.join("bin/systemctl");
    fs::write(
        &sc,
        r#"#!/bin/sh
d=$(dirname "$0")/..
echo "systemctl $*" >> "$d/calls"
case $1 in
is-active) if [ -e "$d/run.$2" ]; then echo active; else echo failed; exit 3; fi ;;
start) touch "$d/run.$2" ;;
stop) rm -f "$d/run.$2" ;;
esac
exit 0
"#,
    )
    .unwrap();
    fs::set_permissions(&sc, fs::Permissions::from_mode(0o755)).unwrap();
    let mut rm = rm_for(d, &[]);
    rm.lookup.init_dirs.clear();
    rm.lookup.unit_dirs = vec![d.join("units")];
    rm.child_env.push((
        "PATH".into(),
        format!("{}:/usr/bin:/bin", d.join("bin").display()),
    ));
    let rec = Recorder(Mutex::new(0));
    let status = |rm: &Rm, r: &str| {
        rm.run_verb(
            &Verb::Status(r.into()),
            &mut std::io::sink(),
            &mut std::io::sink(),
            &rec,
        )
    };

    assert_eq!(status(&rm, "hbtest-db"), 3, "failed reads as stopped");
    assert_eq!(calls(d), "systemctl is-active hbtest-db.service\n");
    assert_eq!(
        rm.takegroup("R1", &Sink::Inherit, &mut std::io::sink(), &rec),
        0
    );
    assert_eq!(
        calls(d),
        "R1 status\nR1 start\nsystemctl is-active hbtest-db.service\nsystemctl start hbtest-db.service\n"
    );
    assert_eq!(status(&rm, "hbtest-db"), 0, "active reads as running");
    calls(d);
    assert_eq!(
        rm.statgroup("R1", &Sink::Inherit, &mut std::io::sink()),
        "ALL"
    );
    calls(d);
    assert_eq!(
        rm.givegroup("R1", &Sink::Inherit, &mut std::io::sink(), &rec),
        0
    );
    assert_eq!(calls(d), "systemctl stop hbtest-db.service\nR1 stop\n");
    assert!(!d.join("run.hbtest-db.service").exists());
    let log = fs::read_to_string(d.join("log")).unwrap();
    assert!(
        log.contains("info: Running systemctl start hbtest-db.service"),
        "{log}"
    );
    assert!(
        log.contains("info: Running systemctl stop hbtest-db.service"),
        "{log}"
    );
    // Arguments: systemctl is not run, the status reads as stopped, and the log says why.
    assert_eq!(status(&rm, "hbtest-db::x"), 3);
    assert_eq!(calls(d), "");
    let log = fs::read_to_string(d.join("log")).unwrap();
    assert!(
        log.contains("ERROR: hbtest-db::x: hbtest-db.service is a systemd unit, run through systemctl, which takes no arguments (x): not run"),
        "{log}"
    );
    assert_eq!(*rec.0.lock().unwrap(), 0);
}
