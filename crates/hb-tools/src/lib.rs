//! The HALIB programs of heartbeat 2.0.8 that administrators and scripts call, ours:
//! `hb_standby` and `hb_takeover` (below), `ResourceManager` ([`resource_manager`]),
//! `mach_down`, `req_resource`, `hb_addnode` and `hb_delnode` ([`halib`]), `ha_logger`
//! ([`ha_logger`]).
//!
//! - `hb_standby [all|local|foreign|failback]` asks the local heartbeat to give the named
//!   groups to the other node: it logs `Going standby [SET].` (as shellfuncs' `ha_log`,
//!   [`hb_log::script`]) and writes
//!   `>>>\nt=ask_resources\nrsc_hold=SET\ninfo=me\n<<<\n` into the FIFO (`failback`
//!   is sent as `foreign`).
//! - `hb_takeover [all|local|foreign|failback]` asks the other node to give us groups: it
//!   writes `>>>\nt=hb_takeover\nrsc_hold=WORD\n<<<\n` (the word unchanged) and logs
//!   nothing. The other node's rc.d `hb_takeover` turns that into its own hb_standby.
//!
//! No word means `all`. Two words or more, `--help`, or another word: the original's usage
//! text (see [`args::usage_text`]) and exit status 1. A message that cannot be written
//! (no FIFO, heartbeat not running, no permission): a one-line reason and exit status 2.
//! Sent: exit status 0. There is no reply: the daemons negotiate the rest.
//!
//! Options of ours: `--config-dir DIR` (default /etc/ha.d), `--fifo PATH` (default
//! `$HA_FIFO`, else /var/lib/heartbeat/fifo).
//!
//! Like the original we check nothing before sending, with one addition that never stops
//! the sending: when `DIR/ha.cf` reads as `auto_failback legacy` (the default) we warn on
//! stderr that heartbeat will ignore the request.
//!
//! Differences from the original (2.0.8 scripts; Debian's 3.0.6 ones are the same):
//! - No daemon reading the FIFO: the original blocks in its open until one starts; we
//!   fail at once (exit 2). No file at the FIFO's path: the original creates a regular
//!   file and the message is lost (exit 0); we create nothing and fail (exit 2).
//! - hb_standby logs `Going standby` only once the FIFO is open (the original logs first).
//! - An empty word or one with blanks is refused as `wrong resources(...)`, exit 1. The
//!   original's unquoted shell tests make hb_takeover send it as is (`rsc_hold=` or
//!   `rsc_hold=a b`) and make hb_standby print the usage without that line.
//! - The usage text has one more stderr line naming our options; the legacy warning.

pub mod args;
pub mod ere;
pub mod fifo;
pub mod ha_logger;
pub mod halib;
pub mod message;
pub mod resource_manager;

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

pub use args::{parse, usage_text, ArgsError, Invocation, Set, Tool, EXIT_USAGE};
pub use fifo::{fifo_path, FifoWriter, SendError, DEFAULT_FIFO, EXIT_SEND, WRITE_TIMEOUT};
pub use message::{fifo_message, log_text};

use hb_log::script::{default_tag, ha_log, LogEnv, Style};
use hb_log::Level;

/// `HA_BIN` when unset: the 2.0.8 HALIB.
pub const DEFAULT_HA_BIN: &str = "/usr/lib/heartbeat";

/// The warning for a configuration whose daemon ignores standby requests, if `dir/ha.cf`
/// can be read and says so. An unreadable ha.cf gives no warning. No name is resolved (a
/// slow name service must never delay the request).
pub fn legacy_warning(dir: &Path) -> Option<String> {
    let path = dir.join("ha.cf");
    let text = std::fs::read_to_string(&path).ok()?;
    (ha_config::auto_failback_of(&text) == ha_config::AutoFailback::Legacy).then(|| {
        format!(
            "warning: {} has auto_failback legacy (the default when it is not set): heartbeat \
             ignores standby requests in that mode (it logs \"Standby mode only implemented \
             when nice_failback on\"); sending anyway",
            path.display()
        )
    })
}

/// Runs `tool` with the arguments after the program name. `argv0` is the program as
/// invoked (used in messages and the default log tag), `env` reads the environment,
/// `pid` is the process id (for the log tag). Returns the exit status.
pub fn run<I>(
    tool: Tool,
    argv0: &str,
    args: I,
    env: &dyn Fn(&str) -> Option<OsString>,
    pid: u32,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let inv = match parse(tool, args) {
        Ok(i) => i,
        Err(e) => {
            let (o, e) = usage_text(argv0, &e);
            let _ = out.write_all(o.as_bytes());
            let _ = out.flush();
            let _ = err.write_all(e.as_bytes());
            return EXIT_USAGE;
        }
    };
    if let Some(w) = legacy_warning(&inv.config_dir) {
        let _ = writeln!(err, "{argv0}: {w}");
    }
    let path = fifo_path(inv.fifo.as_deref(), env("HA_FIFO").as_deref());
    let mut writer = match FifoWriter::open(&path) {
        Ok(w) => w,
        Err(e) => {
            let _ = writeln!(err, "{argv0}: {e}");
            return EXIT_SEND;
        }
    };
    if let Some(text) = log_text(tool, inv.set) {
        let le = LogEnv::from_env(Style::Shellfuncs, env, default_tag(argv0, pid));
        ha_log(&le, Level::Info, &text, argv0, err);
    }
    match writer.send(&fifo_message(tool, inv.set), WRITE_TIMEOUT) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "{argv0}: {e}");
            EXIT_SEND
        }
    }
}

/// The whole program: reads the real command line and environment, returns the exit
/// status for `std::process::exit`.
pub fn main_for(tool: Tool) -> i32 {
    let mut argv = std::env::args_os();
    let argv0 = argv
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| tool.name().to_string());
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run(
        tool,
        &argv0,
        argv,
        &|k| std::env::var_os(k),
        std::process::id(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("hb-tools-lib-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn legacy_warning_follows_ha_cf() {
        let d = tmp("legacy");
        assert_eq!(legacy_warning(&d), None, "no ha.cf, no warning");
        let base = "node a\nnode b\nbcast eth0\n";
        std::fs::write(d.join("ha.cf"), base).unwrap();
        let w = legacy_warning(&d).expect("default is legacy");
        assert!(w.contains("auto_failback legacy"), "{w}");
        for (line, warn) in [
            ("auto_failback legacy\n", true),
            ("auto_failback on\n", false),
            ("auto_failback off\n", false),
        ] {
            std::fs::write(d.join("ha.cf"), format!("{base}{line}")).unwrap();
            assert_eq!(legacy_warning(&d).is_some(), warn, "{line}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    /// hb_standby must never wait for a name service before it sends: the warning is read
    /// without resolving the names of ucast or ping lines (the first version parsed ha.cf
    /// with name resolution, so a slow DNS delayed the request, and a name that does not
    /// resolve lost the warning).
    #[test]
    fn legacy_warning_resolves_no_name() {
        let d = tmp("noresolve");
        std::fs::write(
            d.join("ha.cf"),
            "node a\nnode b\nucast eth1 peer.hb-tools-test.invalid\nping gw.hb-tools-test.invalid\n",
        )
        .unwrap();
        let w = legacy_warning(&d).expect("the warning, names unresolved");
        assert!(w.contains("auto_failback legacy"), "{w}");
        std::fs::write(
            d.join("ha.cf"),
            "node a\nnode b\nucast eth1 peer.hb-tools-test.invalid\nauto_failback on\n",
        )
        .unwrap();
        assert_eq!(legacy_warning(&d), None);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn run_refuses_before_touching_the_fifo() {
        let d = tmp("refuse");
        let f = d.join("fifo-file");
        std::fs::write(&f, b"").unwrap();
        let fs = f.display().to_string();
        for (tool, args) in [
            (Tool::Standby, vec!["bogus"]),
            (Tool::Takeover, vec!["a", "b"]),
            (Tool::Takeover, vec!["--help"]),
        ] {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut a = vec!["--fifo", fs.as_str(), "--config-dir", "/nonexistent"];
            a.extend(args);
            let rc = run(tool, "prog", a, &|_| None, 1, &mut out, &mut err);
            assert_eq!(rc, 1);
            assert!(String::from_utf8(out).unwrap().ends_with("usage:\n"));
            assert!(String::from_utf8(err)
                .unwrap()
                .starts_with("prog [all|foreign|local|failback]\n"));
        }
        assert_eq!(std::fs::read(&f).unwrap(), b"");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn run_writes_and_logs() {
        let d = tmp("run");
        let f = d.join("fifo-file");
        std::fs::write(&f, b"").unwrap();
        let env = |k: &str| match k {
            "HA_FIFO" => Some(OsString::from(f.as_os_str())),
            "HA_DATEFMT" => Some(OsString::from("T ")),
            _ => None,
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let rc = run(
            Tool::Standby,
            "hb_standby",
            ["failback", "--config-dir", "/nonexistent"],
            &env,
            7,
            &mut out,
            &mut err,
        );
        assert_eq!(rc, 0);
        assert!(out.is_empty());
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "T Going standby [foreign].\n"
        );
        let mut err = Vec::new();
        let rc = run(
            Tool::Takeover,
            "hb_takeover",
            ["failback", "--config-dir", "/nonexistent"],
            &env,
            7,
            &mut out,
            &mut err,
        );
        assert_eq!(rc, 0);
        assert!(err.is_empty(), "hb_takeover logs nothing");
        assert_eq!(
            std::fs::read(&f).unwrap(),
            b">>>\nt=ask_resources\nrsc_hold=foreign\ninfo=me\n<<<\n\
              >>>\nt=hb_takeover\nrsc_hold=failback\n<<<\n"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn run_reports_a_missing_fifo() {
        let d = tmp("missing");
        let f = d.join("nothing-here");
        let fs = f.display().to_string();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let rc = run(
            Tool::Standby,
            "hb_standby",
            ["--fifo", fs.as_str(), "--config-dir", "/nonexistent"],
            &|_| None,
            7,
            &mut out,
            &mut err,
        );
        assert_eq!(rc, 2);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.starts_with(&format!("hb_standby: {fs}: no such file")),
            "{err}"
        );
        assert!(
            !err.contains("Going standby"),
            "nothing logged when nothing is sent"
        );
        assert!(!f.exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
