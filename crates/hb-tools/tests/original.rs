//! Our ResourceManager, mach_down, req_resource and hb_addnode beside the installed
//! originals (Debian's heartbeat 3.0.6: 2.0.8's scripts with Debian's paths), on the same
//! haresources and the same recording resource scripts: exit statuses, stdout, the
//! scripts run (order, arguments, the HA_ variables they see), the FIFO messages and the
//! log texts must be the same.
//!
//! Each run happens in a mount namespace of its own where a scratch directory is bound
//! over /etc/ha.d (the originals read /etc/ha.d/haresources and shellfuncs by fixed
//! paths). They need root and the originals, so they are `#[ignore]`d: compat-tests/test-all.sh
//! runs them as root (`--include-ignored`); asked for without what they need, they fail.
//! Never provoked here: a stop that fails while the resource still runs (the original
//! then reboots the machine).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ORIG_DIR: &str = "/usr/share/heartbeat";

/// These tests are `#[ignore]`d (they need root and the original's HALIB scripts); asked for
/// without them, they fail and say what is missing.
fn need_lab() {
    // SAFETY: geteuid has no memory effects.
    let why = if unsafe { libc::geteuid() } != 0 {
        Some("not root".to_string())
    } else if !Path::new(ORIG_DIR).join("ResourceManager").exists() {
        Some(format!("{ORIG_DIR}/ResourceManager not installed"))
    } else if !Path::new("/etc/ha.d/shellfuncs").exists() {
        Some("/etc/ha.d/shellfuncs not installed".into())
    } else if Command::new("unshare").arg("--version").output().is_err() {
        Some("no unshare".into())
    } else {
        None
    };
    if let Some(w) = why {
        panic!("this test cannot run here: {w}");
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Orig,
    Ours,
}

/// A recording resource script: appends `NAME ARGS | HA_CURHOST HA_DIR HA_RESOURCEDIR`
/// to calls (not LC_ALL: 2.0.8's ResourceManager unsets it, as ours does, and Debian's
/// shellfuncs sets it again); status prints running/stopped from a state file; start fails with 3
/// when `fail.NAME` exists; stop fails with 1 (after stopping) when `stopfail.NAME`
/// exists.
const SCRIPT: &str = r#"#!/bin/sh
n=${0##*/}
d=$(dirname "$0")/../state
echo "$n $* | ${HA_CURHOST-} ${HA_DIR-} ${HA_RESOURCEDIR-}" >> "$d/calls"
for op; do :; done
case $op in
status) if [ -e "$d/run.$n" ]; then echo "$n is running"; else echo "$n is stopped"; fi ;;
start) [ -e "$d/fail.$n" ] && exit 3; touch "$d/run.$n" ;;
stop) rm -f "$d/run.$n"; [ -e "$d/stopfail.$n" ] && exit 1 ;;
esac
exit 0
"#;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn setup(tag: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("hb-tools-orig-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("resource.d")).unwrap();
    fs::create_dir_all(d.join("state")).unwrap();
    fs::copy("/etc/ha.d/shellfuncs", d.join("shellfuncs")).unwrap();
    fs::write(d.join("fifo"), "").unwrap();
    fs::write(
        d.join("haresources"),
        "# groups\nA  R1::x::y R2 \\\n   R3\nb 198.51.100.9 R4\nc Missing::z R5\n",
    )
    .unwrap();
    for s in ["R1", "R2", "R3", "R4", "R5", "IPaddr"] {
        let p = d.join("resource.d").join(s);
        fs::write(&p, SCRIPT).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    Scratch(d)
}

fn bin(imp: Impl, name: &str) -> String {
    match (imp, name) {
        (Impl::Orig, n) => format!("{ORIG_DIR}/{n}"),
        (Impl::Ours, "ResourceManager") => env!("CARGO_BIN_EXE_ResourceManager").into(),
        (Impl::Ours, "mach_down") => env!("CARGO_BIN_EXE_mach_down").into(),
        (Impl::Ours, "req_resource") => env!("CARGO_BIN_EXE_req_resource").into(),
        (Impl::Ours, "hb_addnode") => env!("CARGO_BIN_EXE_hb_addnode").into(),
        (Impl::Ours, n) => panic!("no program {n}"),
    }
}

/// Runs `name args` with /etc/ha.d bound to the scratch directory; returns the status,
/// stdout and stderr (program paths replaced by the name). The whole process group is
/// killed afterwards (the original leaves a `sleep 30; hb_standby` behind after a
/// failed start).
fn run(
    d: &Path,
    imp: Impl,
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let prog = bin(imp, name);
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount --bind \"$0\" /etc/ha.d && exec \"$@\"")
        .arg(d)
        .arg(&prog)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HA_CURHOST", "a")
        .env("HA_LOGFILE", d.join("log"))
        .env("HA_DEBUGLOG", d.join("debug"))
        .env("HA_LOGTAG", "T")
        .env("HA_FIFO", d.join("fifo"))
        .env("HA_NOARCHBIN", ORIG_DIR)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .process_group(0);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Files, not pipes: the original's background `sleep 30` would hold a pipe open.
    let (o, e) = (d.join("run.stdout"), d.join("run.stderr"));
    let mut child = cmd
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .spawn()
        .expect("run");
    let pgid = child.id() as i32;
    let status = child.wait().expect("wait");
    // SAFETY: the process group this test created for the run.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let (stdout, stderr) = (fs::read(&o).unwrap(), fs::read(&e).unwrap());
    // The original's shell complains when it runs a script it did not find.
    let clean = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(&prog, name)
            .lines()
            .filter(|l| !l.ends_with(": not found"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    (status.code().unwrap_or(-1), clean(&stdout), clean(&stderr))
}

/// The texts of the log lines (tag and date stripped: the two shellfuncs format them
/// differently).
fn log_texts(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            ["info:", "ERROR:", "CRIT", "WARN:", "debug:"]
                .iter()
                .filter_map(|w| l.find(w))
                .min()
                .map(|i| l[i..].to_string())
        })
        .collect()
}

/// The file's content; it is left empty (the FIFO stand-in must exist: ours never
/// creates one).
fn take(path: &Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let _ = fs::write(path, "");
    s
}

/// One implementation's transcript of the whole sequence.
fn transcript(imp: Impl) -> Vec<String> {
    let s = setup(match imp {
        Impl::Orig => "orig",
        Impl::Ours => "ours",
    });
    let d = s.0.as_path();
    let state = d.join("state");
    let mut t = Vec::new();
    let step = |t: &mut Vec<String>,
                name: &str,
                args: &[&str],
                env: &[(&str, &str)],
                with_stderr: bool| {
        let t0 = std::time::Instant::now();
        let (rc, out, err) = run(d, imp, name, args, env);
        let ms = t0.elapsed().as_millis();
        if ms > 500 {
            println!("{imp:?} {name} {}: {ms} ms", args.join(" "));
        }
        t.push(format!("$ {name} {}  -> {rc}", args.join(" ")));
        t.push(format!("stdout: {out:?}"));
        if with_stderr {
            t.push(format!("stderr: {err:?}"));
        }
        let calls = take(&state.join("calls"));
        t.extend(calls.lines().map(|l| format!("call: {l}")));
        t.push(format!("fifo: {:?}", take(&d.join("fifo"))));
        t.extend(log_texts(&d.join("log")).into_iter().map(|l| {
            let l = l.replace(&bin(imp, name), name);
            format!(
                "log: {}",
                l.replace(&bin(imp, "ResourceManager"), "ResourceManager")
            )
        }));
        let _ = fs::remove_file(d.join("log"));
    };
    let rm = "ResourceManager";
    for v in [
        &["listkeys", "a"][..],
        &["listkeys", ".*"],
        &["listkeys", "A|c"],
        &["allkeys"],
        &["ourkeys"],
        &["otherkeys"],
    ] {
        step(&mut t, rm, v, &[], false);
    }
    step(&mut t, rm, &["status", "R2"], &[], false);
    step(&mut t, rm, &["takegroup", "R1::x::y"], &[], false);
    step(&mut t, rm, &["status", "R2"], &[], false);
    step(&mut t, rm, &["statgroup", "R1::x::y"], &[], false);
    step(&mut t, rm, &["verifyallidle"], &[], true);
    // A start that fails: the whole group is released, the status is the start's.
    fs::write(state.join("fail.R4"), "").unwrap();
    step(&mut t, rm, &["takegroup", "198.51.100.9"], &[], false);
    fs::remove_file(state.join("fail.R4")).unwrap();
    // A stop that fails but leaves the resource stopped: retried, then only reported.
    fs::write(state.join("stopfail.R3"), "").unwrap();
    step(
        &mut t,
        rm,
        &["givegroup", "R1::x::y"],
        &[("HA_STOPRETRYMAX", "1")],
        false,
    );
    fs::remove_file(state.join("stopfail.R3")).unwrap();
    // A group with a script that does not exist; an unknown key.
    let once = [("HA_STOPRETRYMAX", "1")];
    step(&mut t, rm, &["takegroup", "Missing::z"], &once, false);
    step(&mut t, rm, &["givegroup", "Missing::z"], &once, false);
    step(&mut t, rm, &["takegroup", "nosuch"], &[], false);
    step(&mut t, rm, &[], &[], true);
    step(&mut t, rm, &["bogus"], &[], true);
    // mach_down: our own node and ping nodes are ignored; another node's groups are
    // taken, with nice_failback the FIFO is told.
    step(
        &mut t,
        "mach_down",
        &["A"],
        &[("HA_NICEFAILBACK", "yes")],
        false,
    );
    step(&mut t, "mach_down", &["b"], &[("HA_info", "ping")], false);
    step(
        &mut t,
        "mach_down",
        &["B"],
        &[("HA_NICEFAILBACK", "yes")],
        false,
    );
    step(&mut t, "mach_down", &["c"], &once, false);
    // req_resource: held: nothing; not held: ask the holder.
    step(&mut t, "req_resource", &["198.51.100.9"], &[], false);
    step(&mut t, "req_resource", &["R1::x::y"], &[], false);
    // hb_addnode's usage (its refusal is ours alone).
    step(&mut t, "hb_addnode", &[], &[], true);
    step(&mut t, "hb_addnode", &["--help"], &[], true);
    t
}

#[test]
#[ignore = "needs root and the original heartbeat: compat-tests/test-all.sh runs it as root with --include-ignored"]
fn halib_programs_are_the_originals() {
    need_lab();
    let orig = transcript(Impl::Orig);
    let ours = transcript(Impl::Ours);
    for (i, (o, u)) in orig.iter().zip(ours.iter()).enumerate() {
        assert_eq!(
            o,
            u,
            "line {i} differs; original so far:\n{}\nours:\n{}",
            orig[..=i].join("\n"),
            ours[..=i].join("\n")
        );
    }
    assert_eq!(
        orig.len(),
        ours.len(),
        "orig:\n{}\nours:\n{}",
        orig.join("\n"),
        ours.join("\n")
    );
    println!("{} transcript lines alike, e.g.:", orig.len());
    for l in orig
        .iter()
        .filter(|l| l.starts_with("call:") || l.starts_with("fifo: \">"))
        .take(6)
    {
        println!("  {l}");
    }
}

/// req_resource when nobody should be asked (nice_failback, or no other node up): it
/// answers itself in the FIFO as the original; the original's rc.d ip-request-resp then
/// took the group, which with our daemon req_resource does itself.
#[test]
#[ignore = "needs root and the original heartbeat: compat-tests/test-all.sh runs it as root with --include-ignored"]
fn req_resource_dont_ask() {
    need_lab();
    for imp in [Impl::Orig, Impl::Ours] {
        let s = setup(&format!("dontask-{imp:?}"));
        let d = s.0.as_path();
        let (rc, _, _) = run(
            d,
            imp,
            "req_resource",
            &["R1::x::y"],
            &[("HA_DONTASK", "yes")],
        );
        assert_eq!(rc, 0, "{imp:?}");
        assert_eq!(
            take(&d.join("fifo")),
            ">>>\nt=ip-request-resp\ndest=a\nipaddr=R1::x::y\nweown=yes\nok=OK\n<<<\n",
            "{imp:?}"
        );
        let calls = take(&d.join("state").join("calls"));
        let starts = calls.lines().filter(|l| l.contains(" start |")).count();
        match imp {
            Impl::Orig => assert_eq!(starts, 0, "{calls}"),
            Impl::Ours => assert_eq!(starts, 3, "{calls}"),
        }
    }
}
