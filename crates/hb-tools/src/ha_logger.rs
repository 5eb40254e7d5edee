//! `ha_logger [-D ha-log/ha-debug] [-t tag] [message ...]`: writes a line to the cluster's
//! log, where 2.0.8's logging daemon would (`logd/ha_logger.c`, read for facts).
//!
//! - The options are taken as glibc's `getopt("t:D:h")` takes them. `-t TAG` names the
//!   line's entity (default `cluster`); `-D ha-log` (the default) logs at info, into the
//!   log file and the debug file; `-D ha-debug` at debug, into the debug file only. The lines
//!   carry no level word: `TAG[PID]: YYYY/MM/DD_HH:MM:SS message`. Syslog gets
//!   `TAG: [PID]: message` at logd.cf's facility.
//! - The message is the arguments joined by blanks, cut into lines of at most 1022 bytes; an
//!   argument longer than 1023 bytes is a line of its own (its first 1024 bytes). Without
//!   arguments, each line of stdin is a message.
//! - Where: logd.cf beside the configuration directory, `$HA_DIR` (set for every script by
//!   the daemon and by shellfuncs), else /etc/ha.d: /etc/logd.cf, and its defaults without it
//!   (see `hb_log::logd`). The same code writes the daemon's lines when `use_logd` is on.
//! - Exit status 0; 1 for the usage (`-h`, an unknown option, a `-D` other than `ha-log` or
//!   `ha-debug`, or arguments that leave nothing to log, as 2.0.8's falls through to it), or
//!   when no destination took a line.
//!
//! Differences: 2.0.8's ha_logger fails with `logd is not running` unless ha_logd runs (the
//! init script started it with heartbeat); ours writes whether or not the daemon runs, as
//! logd is no longer a process. Problems in logd.cf are reported by `heartbeat -t` and at
//! the daemon's start, not on every call. 2.0.8 looped for ever on arguments longer than
//! one line; ours cuts them into lines.

use std::io::{BufRead, Write};

use hb_log::logd::{Logd, SENDER_ENTITY};
use hb_sys::Getopt;

/// The usage text 2.0.8 prints on stdout.
pub const USAGE: &str = "usage: ha_logger [-t tag] [-D <ha-log/ha-debug>] [message]\n";

/// The longest line, as 2.0.8's buffer holds it.
const LINE: usize = 1024;

/// What to log, from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub entity: String,
    pub debug: bool,
    /// `None`: read the lines from stdin.
    pub lines: Option<Vec<String>>,
    /// The lines leave nothing in 2.0.8's buffer at the end: it logs them, then prints its
    /// usage and exits 1.
    pub usage_after: bool,
}

/// The command line asks for the usage (`-h`, a bad option or `-D`, nothing to log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage;

/// Parses the command line (`argv[0]` first); `Err(Usage)`: print the usage, exit 1.
pub fn parse(
    argv: Vec<Vec<u8>>,
    posixly_correct: bool,
    err: &mut dyn Write,
) -> Result<Args, Usage> {
    let mut g = Getopt::new(argv, posixly_correct);
    let mut entity: Option<Vec<u8>> = None;
    let mut logtype = b"ha-log".to_vec();
    while let Some(c) = g.next(b"t:D:h", err) {
        match c {
            b't' => entity = g.optarg.take(),
            b'D' => logtype = g.optarg.take().unwrap_or_default(),
            _ => return Err(Usage),
        }
    }
    let debug = match logtype.as_slice() {
        b"ha-log" => false,
        b"ha-debug" => true,
        _ => return Err(Usage),
    };
    let entity = entity.map_or_else(
        || SENDER_ENTITY.to_string(),
        |e| String::from_utf8_lossy(&e).into_owned(),
    );
    let words: Vec<&[u8]> = g
        .argv
        .get(g.optind..)
        .unwrap_or_default()
        .iter()
        .map(Vec::as_slice)
        .collect();
    if words.is_empty() {
        return Ok(Args {
            entity,
            debug,
            lines: None,
            usage_after: false,
        });
    }
    let (lines, usage_after) = pack(&words);
    if lines.is_empty() {
        return Err(Usage);
    }
    Ok(Args {
        entity,
        debug,
        lines: Some(lines),
        usage_after,
    })
}

/// The arguments as 2.0.8 packs them into lines: joined by blanks while they fit in
/// [`LINE`] - 2 bytes; an argument longer than [`LINE`] - 1 goes alone, cut to [`LINE`].
/// `true` when the buffer is empty at the end (2.0.8 then prints its usage and exits 1).
fn pack(words: &[&[u8]]) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    for w in words {
        if !buf.is_empty() && buf.len() + w.len() > LINE - 2 {
            out.push(String::from_utf8_lossy(&buf).into_owned());
            buf.clear();
        }
        if w.len() > LINE - 1 {
            out.push(String::from_utf8_lossy(w.get(..LINE).unwrap_or(w)).into_owned());
            continue;
        }
        if !buf.is_empty() {
            buf.push(b' ');
        }
        buf.extend_from_slice(w);
    }
    if buf.is_empty() {
        // 2.0.8 reaches its usage here, even after logging long arguments alone.
        return (out, true);
    }
    out.push(String::from_utf8_lossy(&buf).into_owned());
    (out, false)
}

/// Runs ha_logger; returns the exit status.
pub fn run(
    argv: Vec<Vec<u8>>,
    posixly_correct: bool,
    logd: &Logd,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let args = match parse(argv, posixly_correct, err) {
        Ok(a) => a,
        Err(Usage) => {
            let _ = out.write_all(USAGE.as_bytes());
            return 1;
        }
    };
    let log = |line: &str| logd.log(&args.entity, args.debug, line).ok();
    match &args.lines {
        Some(lines) => {
            if !lines.iter().all(|l| log(l)) {
                return 1;
            }
            if args.usage_after {
                let _ = out.write_all(USAGE.as_bytes());
                return 1;
            }
            0
        }
        None => {
            // fgets with a 1024-byte buffer: longer lines come in pieces.
            let mut chunk = Vec::new();
            loop {
                chunk.clear();
                match std::io::Read::take(&mut *stdin, (LINE - 1) as u64)
                    .read_until(b'\n', &mut chunk)
                {
                    Ok(0) => return 0,
                    Ok(_) => {
                        if chunk.last() == Some(&b'\n') {
                            chunk.pop();
                        }
                        if !log(&String::from_utf8_lossy(&chunk)) {
                            return 1;
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(err, "ha_logger: reading stdin: {e}");
                        return 1;
                    }
                }
            }
        }
    }
}

/// The program: logd from `$HA_DIR`, the process's arguments and stdio.
pub fn main() -> i32 {
    use std::os::unix::ffi::OsStringExt;
    let argv: Vec<Vec<u8>> = std::env::args_os().map(OsStringExt::into_vec).collect();
    let posixly_correct = std::env::var_os("POSIXLY_CORRECT").is_some();
    let logd = match Logd::from_env() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ha_logger: cannot read logd.cf: {e}");
            return 1;
        }
    };
    run(
        argv,
        posixly_correct,
        &logd,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn parsed(v: &[&str]) -> Result<Args, Usage> {
        parse(argv(v), false, &mut Vec::new())
    }

    #[test]
    fn arguments_as_getopt_takes_them() {
        assert_eq!(
            parsed(&["ha_logger", "-t", "IPaddr[12]", "hello", "world"]),
            Ok(Args {
                entity: "IPaddr[12]".into(),
                debug: false,
                lines: Some(vec!["hello world".into()]),
                usage_after: false,
            })
        );
        // glibc permutes: options after the message still count.
        assert_eq!(
            parsed(&["ha_logger", "hello", "-D", "ha-debug", "-tx"]),
            Ok(Args {
                entity: "x".into(),
                debug: true,
                lines: Some(vec!["hello".into()]),
                usage_after: false,
            })
        );
        assert_eq!(
            parsed(&["ha_logger"]),
            Ok(Args {
                entity: "cluster".into(),
                debug: false,
                lines: None,
                usage_after: false,
            })
        );
        assert_eq!(parsed(&["ha_logger", "-D", "ha-info", "x"]), Err(Usage));
        assert_eq!(parsed(&["ha_logger", "-h"]), Err(Usage));
        assert_eq!(parsed(&["ha_logger", "-q", "x"]), Err(Usage));
        assert_eq!(parsed(&["ha_logger", "-t"]), Err(Usage));
        assert_eq!(
            parsed(&["ha_logger", ""]),
            Err(Usage),
            "nothing to log: the usage, as 2.0.8"
        );
        assert_eq!(
            parsed(&["ha_logger", "--", "-t"]).map(|a| a.lines),
            Ok(Some(vec!["-t".into()]))
        );
    }

    #[test]
    fn long_arguments_are_cut_into_lines() {
        let a = "a".repeat(600);
        let b = "b".repeat(600);
        let long = "c".repeat(1500);
        let w: Vec<&[u8]> = vec![a.as_bytes(), b.as_bytes()];
        assert_eq!(pack(&w), (vec![a.clone(), b.clone()], false));
        let w: Vec<&[u8]> = vec![b"x", long.as_bytes(), b"y"];
        assert_eq!(
            pack(&w),
            (
                vec!["x".to_string(), "c".repeat(1024), "y".to_string()],
                false
            )
        );
        let w: Vec<&[u8]> = vec![long.as_bytes()];
        assert_eq!(
            pack(&w),
            (vec!["c".repeat(1024)], true),
            "2.0.8 ends in its usage"
        );
        let w: Vec<&[u8]> = vec![b"x", b"", b"y"];
        assert_eq!(pack(&w), (vec!["x  y".to_string()], false));
    }
}
