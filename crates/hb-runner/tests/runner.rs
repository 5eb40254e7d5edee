//! The runner against real /bin/sh scripts. Every wait is bounded.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use hb_runner::{JobExit, JobId, JobSpec, JobStatus, Runner};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "hb-runner-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Polls until every id in `ids` has been reaped, or panics after `limit`.
fn wait_all(runner: &mut Runner, ids: &[JobId], limit: Duration) -> HashMap<JobId, JobExit> {
    let start = Instant::now();
    let mut done = HashMap::new();
    while done.len() < ids.len() {
        runner.on_readable();
        for exit in runner.reap() {
            done.insert(exit.id, exit);
        }
        if done.len() == ids.len() {
            break;
        }
        assert!(
            start.elapsed() < limit,
            "jobs still running after {limit:?}: {:?}",
            runner.running()
        );
        sleep(Duration::from_millis(5));
    }
    done
}

fn wait_one(runner: &mut Runner, id: JobId, limit: Duration) -> JobExit {
    let mut all = wait_all(runner, &[id], limit);
    all.remove(&id).unwrap()
}

fn wait_for_file(path: &Path, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text;
            }
        }
        assert!(start.elapsed() < limit, "{} never appeared", path.display());
        sleep(Duration::from_millis(5));
    }
}

/// True when the process is gone or a zombie (dead, only waiting for its parent).
fn is_dead(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state == "Z" || state == "X"
        }
    }
}

fn proc_status_field(pid: u32, field: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_string()))
}

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn exit_codes_and_signals() {
    let dir = TempDir::new("codes");
    let ok = dir.script("ok", "exit 0");
    let three = dir.script("three", "exit 3");
    let killed = dir.script("killed", "kill -TERM $$; sleep 5");
    let mut runner = Runner::new(Vec::new()).unwrap();
    let a = runner.spawn(JobSpec::new(&ok)).unwrap();
    let b = runner.spawn(JobSpec::new(&three)).unwrap();
    let c = runner.spawn(JobSpec::new(&killed)).unwrap();
    assert_ne!(a, b);
    let exits = wait_all(&mut runner, &[a, b, c], LIMIT);
    assert_eq!(exits[&a].status, JobStatus::Exited(0));
    assert_eq!(exits[&b].status, JobStatus::Exited(3));
    assert_eq!(exits[&c].status, JobStatus::Signaled(libc::SIGTERM));
    assert!(runner.running().is_empty());
    assert!(runner.reap().is_empty());
}

#[test]
fn stdout_is_captured_only_when_asked() {
    let dir = TempDir::new("stdout");
    let script = dir.script("status", "echo \"resource is running\"\necho second line");
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut spec = JobSpec::new(&script);
    spec.capture_stdout = true;
    let captured = runner.spawn(spec).unwrap();
    let not_captured = runner.spawn(JobSpec::new(&script)).unwrap();
    let exits = wait_all(&mut runner, &[captured, not_captured], LIMIT);
    assert_eq!(
        exits[&captured].stdout,
        b"resource is running\nsecond line\n".to_vec()
    );
    assert_eq!(exits[&captured].stdout_dropped, 0);
    assert!(exits[&not_captured].stdout.is_empty());
}

#[test]
fn arguments_environment_and_cwd_reach_the_child() {
    let dir = TempDir::new("env");
    let script = dir.script(
        "dump",
        "echo \"args=$*\"\necho \"dir=$HA_DIR\"\necho \"t=$HA_t\"\necho \"over=$HA_over\"\npwd",
    );
    let base = vec![
        ("HA_DIR".to_string(), "/etc/ha.d".to_string()),
        ("HA_over".to_string(), "base".to_string()),
    ];
    let mut runner = Runner::new(base).unwrap();
    let mut spec = JobSpec::new(&script);
    spec.args = vec!["198.51.100.254/24/eth0".into(), "start".into()];
    spec.env = vec![
        ("HA_t".into(), "ip-request-resp".into()),
        ("HA_over".into(), "job".into()),
    ];
    spec.cwd = Some(dir.0.clone());
    spec.capture_stdout = true;
    let id = runner.spawn(spec).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    let text = String::from_utf8(exit.stdout).unwrap();
    let canonical = fs::canonicalize(&dir.0).unwrap();
    assert_eq!(
        text,
        format!(
            "args=198.51.100.254/24/eth0 start\ndir=/etc/ha.d\nt=ip-request-resp\nover=job\n{}\n",
            canonical.display()
        )
    );
}

#[test]
fn arg0_is_passed() {
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut spec = JobSpec::new("/bin/sh");
    spec.arg0 = Some("harc".into());
    spec.args = vec!["-c".into(), "tr '\\0' ' ' < /proc/$$/cmdline".into()];
    spec.capture_stdout = true;
    let id = runner.spawn(spec).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    let text = String::from_utf8(exit.stdout).unwrap();
    assert!(text.starts_with("harc -c "), "{text:?}");
}

#[test]
fn stderr_lines_are_returned_and_capped() {
    let dir = TempDir::new("stderr");
    let script = dir.script(
        "noisy",
        "echo 'ERROR: first' >&2\necho 'second' >&2\necho out\nexit 1",
    );
    let many = dir.script(
        "many",
        "i=0\nwhile [ $i -lt 500 ]; do echo \"line $i\" >&2; i=$((i+1)); done",
    );
    let mut runner = Runner::new(Vec::new()).unwrap();
    let a = runner.spawn(JobSpec::new(&script)).unwrap();
    runner.set_capture_limits(1024, 100);
    let b = runner.spawn(JobSpec::new(&many)).unwrap();
    let exits = wait_all(&mut runner, &[a, b], LIMIT);
    assert_eq!(exits[&a].status, JobStatus::Exited(1));
    assert_eq!(exits[&a].stderr_tail, vec!["ERROR: first", "second"]);
    assert_eq!(exits[&a].stderr_dropped, 0);
    let tail = &exits[&b].stderr_tail;
    assert!(exits[&b].stderr_dropped > 0);
    assert_eq!(tail.last().map(String::as_str), Some("line 499"));
    assert!(tail.len() < 20 && tail.len() > 5, "{tail:?}");
    assert!(tail.iter().all(|l| l.starts_with("line ")), "{tail:?}");
}

#[test]
fn kill_reaches_the_whole_process_group() {
    let dir = TempDir::new("pgkill");
    let pidfile = dir.0.join("grandchild.pid");
    let script = dir.script(
        "parent",
        &format!("sleep 1000 &\necho $! > {}\nwait", pidfile.display()),
    );
    let mut runner = Runner::new(Vec::new()).unwrap();
    let id = runner.spawn(JobSpec::new(&script)).unwrap();
    let grandchild: i32 = wait_for_file(&pidfile, LIMIT).trim().parse().unwrap();
    assert!(!is_dead(grandchild));
    let pid = runner.pid(id).unwrap();
    assert_eq!(
        proc_status_field(pid, "NSpgid:").as_deref(),
        Some(pid.to_string().as_str()),
        "the job leads its own process group"
    );
    runner.kill(id, libc::SIGTERM).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    assert_eq!(exit.status, JobStatus::Signaled(libc::SIGTERM));
    let start = Instant::now();
    while !is_dead(grandchild) {
        assert!(start.elapsed() < LIMIT, "grandchild {grandchild} survived");
        sleep(Duration::from_millis(10));
    }
    // Killing a job that is no longer known is an error the caller can see.
    let err = runner.kill(id, libc::SIGTERM).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn blocked_and_ignored_signals_are_reset_in_the_child() {
    // Block SIGTERM in this thread (as the daemon does for its signalfd) and ignore SIGUSR2 in
    // the process; a child spawned from here must start with neither.
    let mut runner = Runner::new(Vec::new()).unwrap();
    let (id, pid);
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        assert_eq!(libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old), 0);
        libc::signal(libc::SIGUSR2, libc::SIG_IGN);
        let mut spec = JobSpec::new("/bin/sleep");
        spec.args = vec!["1000".into()];
        let spawned = runner.spawn(spec);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        libc::signal(libc::SIGUSR2, libc::SIG_DFL);
        id = spawned.unwrap();
        pid = runner.pid(id).unwrap();
    }
    assert_eq!(
        proc_status_field(pid, "SigBlk:").as_deref(),
        Some("0000000000000000"),
        "{:?}",
        fs::read_to_string(format!("/proc/{pid}/status"))
    );
    assert_eq!(
        proc_status_field(pid, "SigIgn:").as_deref(),
        Some("0000000000000000"),
        "{:?}",
        fs::read_to_string(format!("/proc/{pid}/status"))
    );
    runner.kill(id, libc::SIGTERM).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    assert_eq!(exit.status, JobStatus::Signaled(libc::SIGTERM));
}

#[test]
fn a_megabyte_of_output_does_not_hang_without_registration() {
    let dir = TempDir::new("mega");
    let script = dir.script(
        "chatty",
        "head -c 1048576 /dev/zero\nhead -c 1048576 /dev/zero >&2\necho >&2\necho done >&2",
    );
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut spec = JobSpec::new(&script);
    spec.capture_stdout = true;
    let id = runner.spawn(spec).unwrap();
    let exit = wait_one(&mut runner, id, Duration::from_secs(30));
    assert_eq!(exit.status, JobStatus::Exited(0));
    assert_eq!(exit.stdout.len(), hb_runner::DEFAULT_STDOUT_CAP);
    assert_eq!(exit.stdout.len() as u64 + exit.stdout_dropped, 1024 * 1024);
    assert_eq!(exit.stderr_tail.last().map(String::as_str), Some("done"));
    assert_eq!(runner.open_pipes(), 0);
}

#[test]
fn a_megabyte_of_output_through_a_mio_loop() {
    let dir = TempDir::new("mio");
    let script = dir.script("chatty", "head -c 1048576 /dev/zero");
    let mut poll = mio::Poll::new().unwrap();
    let mut events = mio::Events::with_capacity(8);
    let mut runner = Runner::new(Vec::new()).unwrap();
    runner.register(poll.registry(), mio::Token(7)).unwrap();
    let mut spec = JobSpec::new(&script);
    spec.capture_stdout = true;
    let id = runner.spawn(spec).unwrap();
    let start = Instant::now();
    let mut wakeups = 0;
    let exit = loop {
        // A real daemon would also wake on SIGCHLD; here the short timeout stands in for it.
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        for event in events.iter() {
            assert_eq!(event.token(), mio::Token(7));
            wakeups += 1;
            runner.on_readable();
        }
        if let Some(exit) = runner.reap().into_iter().next() {
            break exit;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no exit");
    };
    assert_eq!(exit.id, id);
    assert_eq!(exit.status, JobStatus::Exited(0));
    assert_eq!(exit.stdout.len() as u64 + exit.stdout_dropped, 1024 * 1024);
    assert!(wakeups > 0, "the runner's descriptor never became readable");
    runner.deregister(poll.registry()).unwrap();
}

#[test]
fn many_concurrent_children_are_reaped_with_their_own_status() {
    let dir = TempDir::new("many");
    let script = dir.script("code", "sleep 0.0$(($1 % 7))\necho \"$1\"\nexit $1");
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut expected = HashMap::new();
    for n in 0..60 {
        let mut spec = JobSpec::new(&script);
        spec.args = vec![n.to_string()];
        spec.capture_stdout = true;
        let id = runner.spawn(spec).unwrap();
        expected.insert(id, n);
    }
    let ids: Vec<JobId> = expected.keys().copied().collect();
    let exits = wait_all(&mut runner, &ids, Duration::from_secs(30));
    for (id, n) in expected {
        let exit = &exits[&id];
        assert_eq!(exit.status, JobStatus::Exited(n));
        assert_eq!(exit.stdout, format!("{n}\n").into_bytes());
    }
    assert_eq!(runner.open_pipes(), 0);
}

#[test]
fn a_leftover_background_process_does_not_delay_the_exit() {
    let dir = TempDir::new("leftover");
    let script = dir.script(
        "starter",
        "(sleep 3; echo late >&2; echo late) &\necho started",
    );
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut spec = JobSpec::new(&script);
    spec.capture_stdout = true;
    let start = Instant::now();
    let id = runner.spawn(spec).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "exit waited for the pipes"
    );
    assert_eq!(exit.status, JobStatus::Exited(0));
    assert_eq!(exit.stdout, b"started\n".to_vec());
    // The pipes stay open (and are read) until the leftover process closes them.
    assert_eq!(runner.open_pipes(), 2);
    let start = Instant::now();
    while runner.open_pipes() > 0 {
        assert!(start.elapsed() < LIMIT, "leftover pipes never closed");
        runner.on_readable();
        assert!(runner.reap().is_empty());
        sleep(Duration::from_millis(10));
    }
}

#[test]
fn spawn_errors_leave_nothing_behind() {
    let dir = TempDir::new("spawnerr");
    let mut runner = Runner::new(Vec::new()).unwrap();
    let err = runner
        .spawn(JobSpec::new(dir.0.join("missing")))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    let not_exec = dir.0.join("plain");
    fs::write(&not_exec, "#!/bin/sh\nexit 0\n").unwrap();
    let err = runner.spawn(JobSpec::new(&not_exec)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(runner.running().is_empty());
    assert_eq!(runner.open_pipes(), 0);
}

#[test]
fn jobs_can_run_as_another_user() {
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut spec = JobSpec::new("/bin/sh");
    spec.args = vec!["-c".into(), "id -u; id -g; id -G".into()];
    spec.capture_stdout = true;
    spec.user = Some((65534, 65534));
    spec.groups = vec![65534, 4242];
    let spawned = runner.spawn(spec);
    if unsafe { libc::geteuid() } != 0 {
        let err = spawned.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        return;
    }
    let id = spawned.unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    let text = String::from_utf8(exit.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("65534"));
    assert_eq!(lines.next(), Some("65534"));
    let mut groups: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    groups.sort_unstable();
    assert_eq!(groups, vec!["4242", "65534"]);
}

#[test]
fn inherited_descriptors_do_not_leak_into_children() {
    // A descriptor opened without close-on-exec, as a careless library might.
    let path = std::ffi::CString::new("/dev/null").unwrap();
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    assert!(fd > 2);
    let mut runner = Runner::new(Vec::new()).unwrap();
    let mut spec = JobSpec::new("/bin/sh");
    spec.args = vec![
        "-c".into(),
        format!("if [ -e /proc/$$/fd/{fd} ]; then echo leaked; else echo closed; fi"),
    ];
    spec.capture_stdout = true;
    let id = runner.spawn(spec).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    unsafe { libc::close(fd) };
    let text = String::from_utf8(exit.stdout).unwrap();
    // close_range(CLOEXEC) needs Linux 5.11; older kernels cannot promise this.
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(['.', '-']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if (major, minor) >= (5, 11) {
        assert_eq!(text, "closed\n");
    } else {
        assert!(text == "closed\n" || text == "leaked\n", "{text:?}");
    }
}

#[test]
fn killing_a_job_that_exited_but_is_not_reaped_is_fine() {
    let mut runner = Runner::new(Vec::new()).unwrap();
    let id = runner.spawn(JobSpec::new("/bin/true")).unwrap();
    let pid = runner.pid(id).unwrap() as i32;
    let start = Instant::now();
    // Wait until it is a zombie, without reaping it.
    while !is_dead(pid) {
        assert!(start.elapsed() < LIMIT, "/bin/true did not end");
        sleep(Duration::from_millis(5));
    }
    assert!(runner.is_running(id));
    runner.kill(id, libc::SIGTERM).unwrap();
    let exit = wait_one(&mut runner, id, LIMIT);
    assert_eq!(exit.status, JobStatus::Exited(0));
    assert!(!runner.is_running(id));
}
