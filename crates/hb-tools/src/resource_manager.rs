//! `ResourceManager`: 2.0.8's v1 resource manager (`HALIB/ResourceManager`), for the
//! administrators and scripts that call it.
//!
//! Our daemon runs resource groups itself ([`hb_runner::resource::GroupOp`]); this
//! program runs the same state machine, the same resource parser and script lookup, one
//! script at a time in the foreground, with 2.0.8's command line, output, log lines and
//! exit statuses. (The scripts are started with `std::process::Command`, not the
//! daemon's `hb_runner::Runner`: they must write straight into `$HA_DEBUGLOG` as
//! 2.0.8's did, and a daemon a start script leaves behind must not keep a pipe to a
//! program that is about to exit.)
//!
//! | verb | what it does | stdout | status |
//! |---|---|---|---|
//! | `listkeys NODE` | group keys of the lines whose node matches the extended regular expression `^NODE ` (any case; `'.*'` = all) | one key per line | 0 |
//! | `allkeys` | every group key | one per line | 0 |
//! | `ourkeys` / `otherkeys` | the resources of the lines of `$HA_CURHOST` / of the other nodes | each line's resources, a blank after each (as 2.0.8's `cut` leaves it) | 0 |
//! | `status RESOURCE` | runs `SCRIPT ARGS status`, reads its stdout with the ownership test | nothing | 0 held, 3 not |
//! | `takegroup KEY` | status then start for each resource, left to right; a failed start releases the whole group and, 30 s later, runs `hb_standby foreign` | nothing | 0, even when a start failed (2.0.8's release resets the status it kept) |
//! | `givegroup KEY` | stop for each resource, right to left, failed stops retried `HA_STOPRETRYMAX` times (10) a second apart | nothing | 0 |
//! | `statgroup KEY` | status of each resource | `NONE`, `SOME` or `ALL` (to the debug sink) | 0 |
//! | `verifyallidle` | status of every group key: each one running is reported | warnings on stderr | how many run |
//!
//! Anything else: the usage on stderr, status 1.
//!
//! Reading haresources: `$HA_DIR/haresources` (`--config-dir DIR` of ours; /etc/ha.d) read
//! as ResourceManager reads it ([`ha_config::lines::haresources_lines`]); a group is
//! found by its key, or else, as 2.0.8's `grep " KEY "` did, by the first line where the
//! key appears among the resources (a pattern: the dots of an address match any
//! character). Scripts: `$HA_RESOURCEDIR` (default `$HA_DIR/resource.d`), then the init
//! directories, then (beyond 2.0.8) a systemd unit `NAME.service`, run through `systemctl`
//! as the daemon runs it (`start`, `stop`, and `is-active` read as an init script's
//! `status`), all with 2.0.8's environment (`LC_ALL` and `LANGUAGE` removed, `HA_DIR`,
//! `HA_FUNCS` and the defaults of shellfuncs exported); start and stop output, and the
//! log lines, go where 2.0.8 sent them: `takegroup`, `givegroup` and `statgroup` write
//! everything to `$HA_DEBUGLOG`.
//!
//! Log lines (`info: Acquiring resource group: ...`, `info: Running PATH ARGS start`,
//! `ERROR: Return code N from PATH`, `CRIT: Giving up resources due to failure of R`,
//! `info: Releasing resource group: ...`, `info: Retrying failed stop operation [R]`, ...)
//! are written as shellfuncs' `ha_log` writes them ([`hb_log::script`]).
//!
//! A stop that keeps failing while the resource still reads as running: as 2.0.8,
//! `CRIT: Resource STOP failure. Reboot required!`, `CRIT: Killing heartbeat
//! ungracefully!`, the daemon is killed (SIGKILL to the pid in /var/run/heartbeat.pid)
//! and the machine rebooted (`reboot -nf`, else `init 6`).
//!
//! Differences from 2.0.8's script:
//! - Each script run has a deadline, as in our daemon (start and stop 60 s, status
//!   20 s); one that overruns is killed and counts as failed (2.0.8 waited for ever).
//! - `HA_CURHOST` unset (an admin's shell) means this node's name (`nodeinfo` or
//!   `uname -n`); 2.0.8's `ourkeys` then printed nothing.
//! - `HA_DEBUGLOG` unset or empty: what 2.0.8 sent to /dev/null (its default) comes to
//!   our stdout and stderr, so an admin at a terminal sees the log lines and the
//!   scripts' output.
//! - A key found on several lines takes the first line (2.0.8 ran the words of all of
//!   them as one group, node names included).
//! - The daemon is killed through its pid file, not by name (`pkill -9 heartbeat
//!   ipfail ccm`); the reboot is the same. When the status check after the failed stops
//!   is what timed out, nothing is killed or rebooted: a CRIT line says so (2.0.8 would
//!   still be waiting for that status).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ha_config::{Located, Lookup, Resource};
use hb_runner::resource::group::{
    GroupConfig, GroupEvent, GroupKind, GroupOp, GroupOutcome, GroupPoll, Step, StepExit,
    StopRetries,
};
use hb_runner::resource::{ownership_from_status_stdout, Invocation, ScriptOp, SYSTEMCTL};

use crate::ere::Ere;
use hb_log::script::{
    default_tag, ha_debug, ha_log, LogEnv, Style, DEFAULT_DATEFMT, DEFAULT_DEBUGLOG,
};
use hb_log::Level;

/// 2.0.8's usage line (after `usage: PROGRAM `).
pub const USAGE: &str = "listkeys machine | takegroup key | givegroup key|status resource";

/// How long after a failed start `hb_standby foreign` runs.
pub const STANDBY_DELAY: Duration = Duration::from_secs(30);

/// The daemon's pid file (killed when a stop fails for good).
pub const PIDFILE: &str = "/var/run/heartbeat.pid";

/// What the command line asks for (a missing argument is the empty string, as `$2`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    ListKeys(String),
    AllKeys,
    OurKeys,
    OtherKeys,
    Status(String),
    TakeGroup(String),
    GiveGroup(String),
    StatGroup(String),
    VerifyAllIdle,
}

impl Verb {
    /// Reads `VERB [ARG]` (further words are ignored, as by the script).
    pub fn parse(args: &[String]) -> Option<Verb> {
        let arg = || args.get(1).cloned().unwrap_or_default();
        Some(match args.first()?.as_str() {
            "listkeys" => Verb::ListKeys(arg()),
            "allkeys" => Verb::AllKeys,
            "ourkeys" => Verb::OurKeys,
            "otherkeys" => Verb::OtherKeys,
            "status" => Verb::Status(arg()),
            "takegroup" => Verb::TakeGroup(arg()),
            "givegroup" => Verb::GiveGroup(arg()),
            "statgroup" => Verb::StatGroup(arg()),
            "verifyallidle" => Verb::VerifyAllIdle,
            _ => return None,
        })
    }
}

/// Splits our option `--config-dir DIR` (or `--config-dir=DIR`, first on the command
/// line) from the rest.
pub fn config_dir_option(args: &[String]) -> (Option<PathBuf>, &[String]) {
    match args.first().map(String::as_str) {
        Some("--config-dir") if args.len() >= 2 => (Some(PathBuf::from(&args[1])), &args[2..]),
        Some(a) if a.starts_with("--config-dir=") => {
            (Some(PathBuf::from(&a["--config-dir=".len()..])), &args[1..])
        }
        _ => (None, args),
    }
}

/// Where the output of `takegroup`, `givegroup` and `statgroup` goes.
#[derive(Debug)]
pub enum Sink {
    /// Our own stdout and stderr.
    Inherit,
    /// A file opened for appending (`$HA_DEBUGLOG`).
    File(File),
}

impl Sink {
    fn stdio(&self) -> Stdio {
        match self {
            Sink::Inherit => Stdio::inherit(),
            Sink::File(f) => f.try_clone().map_or_else(|_| Stdio::null(), Stdio::from),
        }
    }
}

/// What to do when a stop keeps failing and the resource still runs.
pub trait Recovery {
    fn recover(&self, rm: &Rm, err: &mut dyn Write);
}

/// 2.0.8's answer: kill the daemon, reboot.
pub struct Reboot;

impl Recovery for Reboot {
    fn recover(&self, rm: &Rm, err: &mut dyn Write) {
        if let Ok(text) = std::fs::read_to_string(PIDFILE) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                if pid > 1 {
                    // SAFETY: kill(2) with the daemon's pid from its pid file.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        for (prog, args) in [("/sbin/reboot", &["-nf"][..]), ("/sbin/init", &["6"][..])] {
            if Path::new(prog).exists()
                && Command::new(prog)
                    .args(args)
                    .status()
                    .is_ok_and(|s| s.success())
            {
                return;
            }
        }
        rm.log(err, "CRIT: Unable to force reboot.");
    }
}

/// One ResourceManager run: where things are and how to log.
pub struct Rm {
    /// `HA_DIR`: haresources and shellfuncs.
    pub config_dir: PathBuf,
    /// Where resources are found: `$HA_RESOURCEDIR`, the init directories, then the
    /// systemd unit directories (the daemon's lookup).
    pub lookup: Lookup,
    /// The program that runs a systemd unit's steps (looked up in `PATH`).
    pub systemctl: PathBuf,
    /// This node.
    pub curhost: String,
    pub log: LogEnv,
    /// `$0` in messages.
    pub prog: String,
    /// Set in every script's environment.
    pub child_env: Vec<(String, String)>,
    pub group_config: GroupConfig,
    /// `hb_standby`, run after a failed start.
    pub standby: PathBuf,
    pub standby_delay: Duration,
    /// `$HA_DEBUGLOG` when set and not empty.
    pub debuglog: Option<PathBuf>,
}

/// `HALIB`: the directory this program was started from (where the package installs it
/// beside hb_standby), else /usr/lib/heartbeat.
pub fn halib() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(crate::DEFAULT_HA_BIN))
}

impl Rm {
    /// Settings from the environment (`get`), as 2.0.8's script and shellfuncs take them.
    /// `tag_prog` names the program in the default log tag.
    pub fn from_env(
        prog: &str,
        tag_prog: &str,
        config_dir: &Path,
        get: &dyn Fn(&str) -> Option<OsString>,
        pid: u32,
        halib: &Path,
    ) -> Rm {
        let set = |k: &str| {
            get(k)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string_lossy().into_owned())
        };
        let ha_dir = config_dir.display().to_string();
        let resource_dir = set("HA_RESOURCEDIR").unwrap_or_else(|| format!("{ha_dir}/resource.d"));
        let bin = set("HA_BIN").unwrap_or_else(|| halib.display().to_string());
        let mut child_env = vec![
            ("HA_DIR".to_string(), ha_dir.clone()),
            ("HA_FUNCS".to_string(), format!("{ha_dir}/shellfuncs")),
        ];
        // What 2.0.8's shellfuncs exports, with its defaults where unset or empty.
        for (k, default) in [
            ("HA_RCDIR", format!("{ha_dir}/rc.d")),
            ("HA_FIFO", crate::fifo::DEFAULT_FIFO.to_string()),
            ("HA_BIN", bin.clone()),
            ("HA_DEBUGLOG", DEFAULT_DEBUGLOG.to_string()),
            ("HA_DATEFMT", DEFAULT_DATEFMT.to_string()),
            ("HA_RESOURCEDIR", resource_dir.clone()),
            ("HA_DOCDIR", "/usr/share/doc/heartbeat".to_string()),
        ] {
            child_env.push((k.to_string(), set(k).unwrap_or(default)));
        }
        let curhost = set("HA_CURHOST")
            .or_else(|| ha_config::local_node_name(config_dir))
            .unwrap_or_default();
        let log_get = |k: &str| match k {
            "HA_BIN" => Some(OsString::from(&bin)),
            _ => get(k),
        };
        let stop_retries = StopRetries::from_env(
            get("HA_STOPRETRYMAX")
                .map(|v| v.to_string_lossy().into_owned())
                .as_deref(),
        );
        Rm {
            config_dir: config_dir.to_path_buf(),
            lookup: Lookup::system(resource_dir),
            systemctl: PathBuf::from(SYSTEMCTL),
            curhost,
            log: LogEnv::from_env(Style::Shellfuncs, log_get, default_tag(tag_prog, pid)),
            prog: prog.to_string(),
            child_env,
            group_config: GroupConfig {
                stop_retries,
                ..GroupConfig::default()
            },
            standby: halib.join("hb_standby"),
            standby_delay: STANDBY_DELAY,
            debuglog: set("HA_DEBUGLOG").map(PathBuf::from),
        }
    }

    /// Logs one line as `ha_log` (the "stderr" destination is `err`).
    pub fn log(&self, err: &mut dyn Write, text: &str) {
        ha_log(&self.log, Level::Info, text, &self.prog, err);
    }

    /// `ha_debug` (its stderr destination is ours, never used: HA_DEBUGLOG has a default).
    fn debug(&self, text: &str) {
        ha_debug(&self.log, text, &self.prog, &mut std::io::stderr());
    }

    /// The sink for `takegroup`, `givegroup`, `statgroup`.
    pub fn sink(&self) -> Sink {
        match &self.debuglog {
            Some(p) => OpenOptions::new()
                .append(true)
                .create(true)
                .open(p)
                .map_or(Sink::Inherit, Sink::File),
            None => Sink::Inherit,
        }
    }

    /// The haresources lines as ResourceManager's `ipres` prints them: the node
    /// lowercased, words one blank apart, a blank at the end.
    pub fn lines(&self, err: &mut dyn Write) -> Vec<String> {
        let path = self.config_dir.join("haresources");
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                let _ = writeln!(err, "{}: cannot read {}: {e}", self.prog, path.display());
                return Vec::new();
            }
        };
        ha_config::lines::haresources_lines(&text)
            .into_iter()
            .map(|l| {
                let mut words = l.words;
                if let Some(node) = words.first_mut() {
                    *node = node.to_lowercase();
                }
                format!("{} ", words.join(" "))
            })
            .collect()
    }

    /// `listkeys PATTERN`: the keys of the lines matching `^PATTERN ` (egrep -i).
    pub fn listkeys(&self, pattern: &str, err: &mut dyn Write) -> Vec<String> {
        let Some(re) = Ere::new(&format!("^{pattern} "), true) else {
            let _ = writeln!(err, "{}: bad node pattern [{pattern}]", self.prog);
            return Vec::new();
        };
        self.lines(err)
            .iter()
            .filter(|l| re.is_match(l))
            .map(|l| l.split(' ').nth(1).unwrap_or("").to_string())
            .collect()
    }

    /// `ourkeys` (`ours`) / `otherkeys`: everything after the node, trailing blank kept.
    pub fn resources_of(&self, ours: bool, err: &mut dyn Write) -> Vec<String> {
        let re = Ere::new(&format!("^{} ", self.curhost), true);
        self.lines(err)
            .iter()
            .filter(|l| re.as_ref().is_some_and(|r| r.is_match(l)) == ours)
            .map(|l| l.split_once(' ').map_or("", |(_, r)| r).to_string())
            .collect()
    }

    /// The group whose key is `key` (or, failing that, the first line where `key`
    /// stands as a resource, by 2.0.8's pattern): its node and resources.
    pub fn group(&self, key: &str, err: &mut dyn Write) -> Option<(String, Vec<String>)> {
        let lines = self.lines(err);
        let split = |l: &str| {
            let mut w = l.split_whitespace().map(str::to_string);
            let node = w.next().unwrap_or_default();
            (node, w.collect::<Vec<_>>())
        };
        if let Some(l) = lines
            .iter()
            .find(|l| l.split(' ').nth(1) == Some(key) && !key.is_empty())
        {
            return Some(split(l));
        }
        let re = Ere::new(&format!(" {key} "), false)?;
        let found: Vec<&String> = lines.iter().filter(|l| re.is_match(l)).collect();
        if found.len() > 1 {
            self.log(
                err,
                &format!(
                    "WARN: {key} matches {} lines of haresources; using the first",
                    found.len()
                ),
            );
        }
        found.first().map(|l| split(l))
    }

    /// Runs a script; `capture`: its stdout is returned (else it goes to `sink`).
    fn run_script(
        &self,
        path: &Path,
        args: &[String],
        capture: bool,
        sink: &Sink,
        err_stdio: Stdio,
        timeout: Duration,
    ) -> StepExit {
        let mut cmd = Command::new(path);
        cmd.args(args).stdin(Stdio::null());
        cmd.env_remove("LC_ALL").env_remove("LANGUAGE");
        for (k, v) in &self.child_env {
            cmd.env(k, v);
        }
        cmd.stdout(if capture {
            Stdio::piped()
        } else {
            sink.stdio()
        });
        cmd.stderr(err_stdio);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(_) => return StepExit::SpawnFailed,
        };
        let deadline = Instant::now() + timeout;
        let rx = child.stdout.take().map(|mut so| {
            let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match so.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = tx.send(None);
                            break;
                        }
                        Ok(n) => {
                            if tx.send(Some(buf[..n].to_vec())).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
            rx
        });
        let mut stdout = Vec::new();
        let mut eof = rx.is_none();
        let mut take =
            |rx: &mpsc::Receiver<Option<Vec<u8>>>, wait: Duration, eof: &mut bool| match rx
                .recv_timeout(wait)
            {
                Ok(Some(b)) => stdout.extend(b),
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => *eof = true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            };
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) => {}
                Err(_) => break None,
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return StepExit::TimedOut;
            }
            match &rx {
                Some(rx) if !eof => take(rx, Duration::from_millis(10), &mut eof),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        // What it wrote before exiting; a process it left behind holding the pipe gets
        // a second at most.
        if let Some(rx) = &rx {
            let until = Instant::now() + Duration::from_secs(1);
            while !eof && Instant::now() < until {
                take(rx, Duration::from_millis(50), &mut eof);
            }
        }
        use std::os::unix::process::ExitStatusExt;
        match status {
            Some(st) => match (st.code(), st.signal()) {
                (Some(code), _) => StepExit::Exited { code, stdout },
                (None, Some(signal)) => StepExit::Signaled { signal, stdout },
                _ => StepExit::Exited { code: 255, stdout },
            },
            None => StepExit::Exited { code: 255, stdout },
        }
    }

    /// Runs one step of a group operation (or a lone `status`), logging as `doscript`.
    fn step(&self, step: &Step, sink: &Sink, status_err: Stdio, err: &mut dyn Write) -> StepExit {
        let Some(found) = self.lookup.locate(&step.script) else {
            // 2.0.8 says it once looking for the script, and once more when it is about
            // to start or stop it.
            let times = if step.op == ScriptOp::Status { 1 } else { 2 };
            for _ in 0..times {
                self.log(
                    err,
                    &format!("ERROR: Cannot locate resource script {}", step.script),
                );
            }
            return StepExit::NoScript;
        };
        let inv = match Invocation::new(&found, step, &self.systemctl) {
            Ok(inv) => inv,
            Err(e) => {
                self.log(err, &format!("ERROR: {}: {e}", step.resource));
                return StepExit::SpawnFailed;
            }
        };
        // As 2.0.8 writes it for a script (`PATH ARGS OP`, two blanks without arguments);
        // a unit's command as it runs.
        let (line, what) = match &found {
            Located::Script(path) => {
                let (op, before) = step
                    .args
                    .split_last()
                    .map_or(("", &[][..]), |(o, b)| (o.as_str(), b));
                (
                    format!("{} {} {op}", path.display(), before.join(" ")),
                    path.display().to_string(),
                )
            }
            Located::Unit { .. } => (inv.line(), inv.line()),
        };
        let timeout = match step.op {
            ScriptOp::Start => self.group_config.start_timeout,
            ScriptOp::Stop => self.group_config.stop_timeout,
            ScriptOp::Status => self.group_config.status_timeout,
        };
        if step.op == ScriptOp::Status {
            let exit =
                inv.exit(self.run_script(&inv.program, &inv.args, true, sink, status_err, timeout));
            if exit == StepExit::TimedOut {
                self.log(
                    err,
                    &format!(
                        "ERROR: {line} did not end in {} s: killed",
                        timeout.as_secs_f64()
                    ),
                );
            }
            return exit;
        }
        self.log(err, &format!("info: Running {line}"));
        self.debug(&format!("debug: Starting {line}"));
        let exit = self.run_script(&inv.program, &inv.args, false, sink, sink.stdio(), timeout);
        let rc = exit.code().unwrap_or(1);
        self.debug(&format!("debug: {line} done. RC={rc}"));
        match exit {
            StepExit::TimedOut => self.log(
                err,
                &format!(
                    "ERROR: {line} did not end in {} s: killed",
                    timeout.as_secs_f64()
                ),
            ),
            _ if rc != 0 => self.log(err, &format!("ERROR: Return code {rc} from {what}")),
            _ => {}
        }
        exit
    }

    /// Logs a group event; `line` is the group's haresources line (node first).
    fn event(&self, ev: GroupEvent, line: &str, err: &mut dyn Write) {
        match ev {
            GroupEvent::AlreadyHeld { .. } | GroupEvent::StopFailedStillHeld { .. } => {}
            GroupEvent::GivingUp { resource, .. } => {
                self.log(
                    err,
                    &format!("CRIT: Giving up resources due to failure of {resource}"),
                );
                self.log(err, &format!("info: Releasing resource group: {line}"));
            }
            GroupEvent::RetryingStop { resource, .. } => self.log(
                err,
                &format!("info: Retrying failed stop operation [{resource}]"),
            ),
            GroupEvent::StopFailedNotHeld { resource, .. } => {
                self.log(
                    err,
                    &format!("ERROR: Resource script for {resource} probably not LSB-compliant."),
                );
                self.log(
                    err,
                    &format!("WARN: it ({resource}) MUST succeed on a stop when already stopped"),
                );
                self.log(err, "WARN: Machine reboot narrowly avoided!");
            }
        }
    }

    /// Drives a group operation to its end, one script at a time.
    /// Returns the outcome and whether the last script run timed out.
    fn drive(
        &self,
        mut op: GroupOp,
        line: &str,
        sink: &Sink,
        err: &mut dyn Write,
    ) -> (GroupOutcome, bool) {
        let mut last_timed_out = false;
        loop {
            let now = Instant::now();
            match op.poll(now) {
                GroupPoll::Run(step) => {
                    let exit = self.step(&step, sink, sink.stdio(), err);
                    last_timed_out = exit == StepExit::TimedOut;
                    let _ = op.handle_exit(Instant::now(), exit);
                }
                GroupPoll::Wait(at) => std::thread::sleep(at.saturating_duration_since(now)),
                GroupPoll::Busy => std::thread::sleep(Duration::from_millis(10)),
                GroupPoll::Finished(outcome) => {
                    while let Some(ev) = op.poll_event() {
                        self.event(ev, line, err);
                    }
                    return (outcome, last_timed_out);
                }
            }
            while let Some(ev) = op.poll_event() {
                self.event(ev, line, err);
            }
        }
    }

    /// `status RESOURCE`: whether it runs here.
    pub fn status(&self, resource: &str, err: &mut dyn Write) -> bool {
        let spec = Resource::parse(resource);
        let step = Step {
            index: 0,
            resource: resource.to_string(),
            script: spec.script.clone(),
            args: spec.argv(ScriptOp::Status.as_str()),
            op: ScriptOp::Status,
            attempt: 1,
            deadline: Instant::now() + self.group_config.status_timeout,
        };
        match self.step(&step, &Sink::Inherit, Stdio::inherit(), err) {
            StepExit::Exited { stdout, .. } | StepExit::Signaled { stdout, .. } => {
                ownership_from_status_stdout(&stdout)
            }
            _ => false,
        }
    }

    /// `takegroup KEY`: the exit status.
    pub fn takegroup(
        &self,
        key: &str,
        sink: &Sink,
        err: &mut dyn Write,
        recovery: &dyn Recovery,
    ) -> i32 {
        self.group_op(GroupKind::Take, key, sink, err, recovery)
    }

    /// `givegroup KEY`: the exit status.
    pub fn givegroup(
        &self,
        key: &str,
        sink: &Sink,
        err: &mut dyn Write,
        recovery: &dyn Recovery,
    ) -> i32 {
        self.group_op(GroupKind::Give, key, sink, err, recovery)
    }

    fn group_op(
        &self,
        kind: GroupKind,
        key: &str,
        sink: &Sink,
        err: &mut dyn Write,
        recovery: &dyn Recovery,
    ) -> i32 {
        let Some((node, resources)) = self.group(key, err) else {
            return 0;
        };
        let line = format!("{node} {}", resources.join(" "));
        let doing = match kind {
            GroupKind::Take => "Acquiring",
            GroupKind::Give => "Releasing",
        };
        self.log(err, &format!("info: {doing} resource group: {line}"));
        let op = GroupOp::new(kind, &resources, self.group_config);
        let (outcome, timed_out) = self.drive(op, &line, sink, err);
        match outcome {
            GroupOutcome::Done => 0,
            GroupOutcome::StartFailed { .. } => {
                // 2.0.8 names the set with a test that never matches its own output
                // (every `ourkeys` line ends in a blank), so it always asks for foreign.
                self.standby_later("foreign");
                // And its release of the group resets the status variable the start's
                // code was kept in (shell functions share variables): 0.
                0
            }
            GroupOutcome::StopFailed { exit, resource, .. } => {
                self.stop_failure(err, recovery, &resource, timed_out);
                exit.code().unwrap_or(1)
            }
        }
    }

    /// A stop failed for good and the resource may still run. `unknown`: its status did
    /// not answer in time (2.0.8 would still be waiting for it): we do not reboot on a
    /// guess, the admin is told.
    fn stop_failure(
        &self,
        err: &mut dyn Write,
        recovery: &dyn Recovery,
        resource: &str,
        unknown: bool,
    ) {
        self.log(err, "CRIT: Resource STOP failure. Reboot required!");
        if unknown {
            self.log(
                err,
                &format!(
                    "CRIT: the status of {resource} did not answer in time: not rebooting; \
                     stop it by hand or reboot this node"
                ),
            );
            return;
        }
        self.log(err, "CRIT: Killing heartbeat ungracefully!");
        recovery.recover(self, err);
    }

    /// Runs `hb_standby SET` after the standby delay, in a process of its own that
    /// outlives us (2.0.8: `(sleep 30; hb_standby ...) &`).
    fn standby_later(&self, set: &str) {
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            "sleep \"$0\"; exec \"$1\" \"$2\"",
            &self.standby_delay.as_secs_f64().to_string(),
        ])
        .arg(&self.standby)
        .arg(set)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in &self.child_env {
            cmd.env(k, v);
        }
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let _ = cmd.spawn();
    }

    /// `statgroup KEY`: NONE, SOME or ALL.
    pub fn statgroup(&self, key: &str, sink: &Sink, err: &mut dyn Write) -> &'static str {
        let Some((_, resources)) = self.group(key, err) else {
            return "NONE";
        };
        let mut any = false;
        let mut all = true;
        for r in &resources {
            let spec = Resource::parse(r);
            let step = Step {
                index: 0,
                resource: r.clone(),
                script: spec.script.clone(),
                args: spec.argv(ScriptOp::Status.as_str()),
                op: ScriptOp::Status,
                attempt: 1,
                deadline: Instant::now() + self.group_config.status_timeout,
            };
            let held = match self.step(&step, sink, sink.stdio(), err) {
                StepExit::Exited { stdout, .. } | StepExit::Signaled { stdout, .. } => {
                    ownership_from_status_stdout(&stdout)
                }
                _ => false,
            };
            any |= held;
            all &= held;
            if any && !all {
                return "SOME";
            }
        }
        match (any, all) {
            (true, true) => "ALL",
            _ => "NONE",
        }
    }

    /// `verifyallidle`: how many group keys run here (each reported).
    pub fn verifyallidle(&self, err: &mut dyn Write) -> i32 {
        let mut n = 0;
        for key in self.listkeys(".*", err) {
            if self.status(&key, err) {
                self.log(
                    err,
                    &format!("CRITICAL: Resource {key} is active, and should not be!"),
                );
                self.log(
                    err,
                    "CRITICAL: Non-idle resources can affect data integrity!",
                );
                self.log(
                    err,
                    "info: If you don't know what this means, then get help!",
                );
                self.log(
                    err,
                    &format!(
                        "info: Read the docs and/or source to {} for more details.",
                        self.prog
                    ),
                );
                let _ = writeln!(
                    err,
                    "CRITICAL: Resource {key} is active, and should not be!\n\
                     CRITICAL: Non-idle resources can affect data integrity!\n\
                     info: If you don't know what this means, then get help!\n\
                     info: Read the docs and/or the source to {} for more details.",
                    self.prog
                );
                n += 1;
            }
        }
        if n != 0 {
            self.log(
                err,
                "CRITICAL: Non-idle resources will affect resource takeback!",
            );
            self.log(
                err,
                "CRITICAL: Non-idle resources may affect data integrity!",
            );
        }
        n
    }

    /// Runs one verb; stdout lines to `out`. Returns the exit status.
    pub fn run_verb(
        &self,
        verb: &Verb,
        out: &mut dyn Write,
        err: &mut dyn Write,
        recovery: &dyn Recovery,
    ) -> i32 {
        let print = |out: &mut dyn Write, lines: Vec<String>| {
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            0
        };
        match verb {
            Verb::ListKeys(p) => print(out, self.listkeys(p, err)),
            Verb::AllKeys => print(out, self.listkeys(".*", err)),
            Verb::OurKeys => print(out, self.resources_of(true, err)),
            Verb::OtherKeys => print(out, self.resources_of(false, err)),
            Verb::Status(r) => {
                if self.status(r, err) {
                    0
                } else {
                    3
                }
            }
            Verb::TakeGroup(k) | Verb::GiveGroup(k) | Verb::StatGroup(k) => {
                let sink = self.sink();
                let mut to: Box<dyn Write> = match &sink {
                    Sink::Inherit => Box::new(io::stderr()),
                    Sink::File(f) => match f.try_clone() {
                        Ok(f) => Box::new(f),
                        Err(_) => Box::new(io::sink()),
                    },
                };
                match verb {
                    Verb::TakeGroup(_) => self.takegroup(k, &sink, &mut *to, recovery),
                    Verb::GiveGroup(_) => self.givegroup(k, &sink, &mut *to, recovery),
                    _ => {
                        let answer = self.statgroup(k, &sink, &mut *to);
                        match &sink {
                            Sink::Inherit => {
                                let _ = writeln!(out, "{answer}");
                            }
                            Sink::File(_) => {
                                let _ = writeln!(to, "{answer}");
                            }
                        }
                        0
                    }
                }
            }
            Verb::VerifyAllIdle => self.verifyallidle(err),
        }
    }
}

/// The whole program with the real environment: returns the exit status.
pub fn main() -> i32 {
    let mut argv = std::env::args();
    let prog = argv.next().unwrap_or_else(|| "ResourceManager".into());
    let args: Vec<String> = argv.collect();
    let (dir, rest) = config_dir_option(&args);
    let Some(verb) = Verb::parse(rest) else {
        eprintln!("usage: {prog} {USAGE}\n");
        return 1;
    };
    let dir = dir.unwrap_or_else(|| PathBuf::from(crate::args::DEFAULT_CONFIG_DIR));
    let rm = Rm::from_env(
        &prog,
        &prog,
        &dir,
        &|k| std::env::var_os(k),
        std::process::id(),
        &halib(),
    );
    let stdout = io::stdout();
    let stderr = io::stderr();
    rm.run_verb(&verb, &mut stdout.lock(), &mut stderr.lock(), &Reboot)
}
