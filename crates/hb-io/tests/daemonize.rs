//! `daemon::daemonize` in a real process: this test binary re-runs itself as the program to
//! daemonize (no test harness, so no threads exist when it forks), and the daemon writes a report
//! of its state for the parent to check.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hb_io::daemon::daemonize;

const OUT: &str = "HBIO_DZ_OUT";
const DIR: &str = "HBIO_DZ_DIR";
/// How the daemon side ends its start: `ready` (default), `fail` or `die`.
const HOW: &str = "HBIO_DZ_HOW";

fn daemon_side(out: &Path, dir: &Path) -> i32 {
    let (d, mut start) = match daemonize(dir) {
        Ok(d) => d,
        Err(_) => return 3,
    };
    match std::env::var(HOW).as_deref() {
        Ok("fail") => {
            start.failed(6, "ERROR: stopped while starting: the reason");
            return 6;
        }
        Ok("die") => return 7,
        _ => {}
    }
    // SAFETY: plain process queries; umask is restored right away.
    let (pid, sid, pgid, mask) = unsafe {
        let m = libc::umask(0);
        libc::umask(m);
        (libc::getpid(), libc::getsid(0), libc::getpgid(0), m)
    };
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let fds: Vec<String> = (0..3)
        .map(|fd| {
            fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    let report = format!(
        "pid={pid}\nsid={sid}\npgid={pgid}\numask={mask:o}\ncwd={cwd}\nfd0={}\nfd1={}\nfd2={}\nchdir_failed={}\n",
        fds[0],
        fds[1],
        fds[2],
        d.chdir_failed.is_some()
    );
    let tmp = out.with_extension("tmp");
    if fs::write(&tmp, report)
        .and_then(|()| fs::rename(&tmp, out))
        .is_err()
    {
        return 4;
    }
    start.ready();
    0
}

fn field<'a>(report: &'a str, key: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{key} in {report}"))
}

fn run_case(base: &Path, workdir: &Path, tag: &str) -> String {
    let out = base.join(format!("report-{tag}"));
    let start = Instant::now();
    let status = Command::new(std::env::current_exe().expect("current exe"))
        .env(OUT, &out)
        .env(DIR, workdir)
        .status()
        .expect("run myself");
    assert_eq!(
        status.code(),
        Some(0),
        "the starting process exits 0 once the daemon reports it runs"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the parent waits only for the daemon's start"
    );
    assert!(
        out.exists(),
        "the report came before the daemon said it runs"
    );
    fs::read_to_string(&out).expect("report")
}

/// A daemon that fails or dies while starting: the starting process tells the terminal and
/// exits non-zero.
fn failing_case(workdir: &Path, how: &str) -> (Option<i32>, String) {
    let o = Command::new(std::env::current_exe().expect("current exe"))
        .env(OUT, workdir.join("unused"))
        .env(DIR, workdir)
        .env(HOW, how)
        .output()
        .expect("run myself");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn main() {
    if let (Some(out), Some(dir)) = (std::env::var_os(OUT), std::env::var_os(DIR)) {
        std::process::exit(daemon_side(Path::new(&out), Path::new(&dir)));
    }
    let base: PathBuf =
        std::env::temp_dir().join(format!("hb-io-daemonize-{}", std::process::id()));
    let _ = fs::remove_dir_all(&base);
    let workdir = base.join("cores").join("root");
    fs::create_dir_all(&workdir).expect("mkdir");
    // SAFETY: getsid has no preconditions.
    let my_sid = unsafe { libc::getsid(0) };

    let r = run_case(&base, &workdir, "ok");
    let pid: i32 = field(&r, "pid").parse().expect("pid");
    assert_eq!(
        field(&r, "pgid").parse::<i32>().expect("pgid"),
        pid,
        "leads its own process group"
    );
    let sid: i32 = field(&r, "sid").parse().expect("sid");
    assert_ne!(sid, my_sid, "in a new session");
    assert_eq!(field(&r, "umask"), "22");
    assert_eq!(Path::new(field(&r, "cwd")), workdir.as_path());
    for fd in ["fd0", "fd1", "fd2"] {
        assert_eq!(field(&r, fd), "/dev/null", "{fd}");
    }
    assert_eq!(field(&r, "chdir_failed"), "false");

    let r = run_case(&base, &base.join("missing"), "missing");
    assert_eq!(
        field(&r, "cwd"),
        "/",
        "falls back to / when the directory is missing"
    );
    assert_eq!(field(&r, "chdir_failed"), "true");

    assert_eq!(
        failing_case(&workdir, "fail"),
        (
            Some(6),
            "ERROR: stopped while starting: the reason\n".to_string()
        )
    );
    let (code, err) = failing_case(&workdir, "die");
    assert_eq!(code, Some(1));
    assert!(err.contains("ended while it was starting"), "{err}");

    fs::remove_dir_all(&base).expect("cleanup");
    println!("test daemonize ... ok");
}
