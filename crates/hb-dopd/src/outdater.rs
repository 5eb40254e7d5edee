//! `drbd-peer-outdater`: DRBD's outdate-peer handler.
//!
//! ```text
//! drbd-peer-outdater -r <string> -p <string> [-t <int>]
//! ```
//!
//! `-p` the peer (default `$DRBD_PEER`, lowercased), `-r` the resource (default
//! `$DRBD_RESOURCE`), `-t` how long to wait for the answer in seconds (default 60; C's
//! `atoi`); `-V` more debug (accepted); `-h` the usage on stdout, status 0. A missing
//! peer or resource, or an unknown option: the usage on stderr, status 1. Our option:
//! `--socket PATH` (default [`crate::proto::DEFAULT_SOCKET`]).
//!
//! It sends the request to the local dopd and exits with the number dopd answers (see
//! the crate documentation); 5 when dopd cannot be reached, closes the connection without
//! an answer, or does not answer within the timeout (`error: could not connect to dopd
//! after N seconds: timeout reached`); 20 when the answer is not a number.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use hb_log::{Facility, Level};

use crate::ipc::Conn;
use crate::proto::{self, rc};

/// The default timeout.
pub const DEFAULT_TIMEOUT: i64 = 60;

/// A command line we accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub peer: String,
    pub resource: String,
    pub timeout: i64,
    pub debug: u32,
    pub socket: PathBuf,
}

/// What the command line asks for instead of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(Args),
    /// `-h`: usage on stdout, status 0.
    Help,
    /// Usage on stderr, status 1 (with getopt's complaint, if any).
    Usage(Option<String>),
}

/// Parses the arguments after the program name as `getopt(argc, argv, "hVt:p:r:")`
/// (options anywhere, values attached or next), with `get` for the environment.
pub fn parse(args: &[String], get: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let mut peer = None;
    let mut resource = None;
    let mut timeout = DEFAULT_TIMEOUT;
    let mut debug = 0;
    let mut socket = PathBuf::from(proto::DEFAULT_SOCKET);
    let mut bad = false;
    let mut complaint = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--socket" {
            match it.next() {
                Some(p) => socket = PathBuf::from(p),
                None => bad = true,
            }
            continue;
        }
        if let Some(p) = a.strip_prefix("--socket=") {
            socket = PathBuf::from(p);
            continue;
        }
        let Some(opts) = a.strip_prefix('-').filter(|o| !o.is_empty()) else {
            continue; // operands are ignored
        };
        for (at, c) in opts.char_indices() {
            match c {
                'h' => return Parsed::Help,
                'V' => debug += 1,
                't' | 'p' | 'r' => {
                    let rest = &opts[at + 1..];
                    let value = if rest.is_empty() {
                        match it.next() {
                            Some(v) => v.clone(),
                            None => {
                                complaint = Some(format!(
                                    "drbd-peer-outdater: option requires an argument -- '{c}'"
                                ));
                                bad = true;
                                break;
                            }
                        }
                    } else {
                        rest.to_string()
                    };
                    match c {
                        't' => timeout = i64::from(hb_api::proto::atoi(&value)),
                        'p' => peer = Some(value),
                        _ => resource = Some(value),
                    }
                    break;
                }
                other => {
                    complaint = Some(format!("drbd-peer-outdater: invalid option -- '{other}'"));
                    bad = true;
                }
            }
        }
    }
    let peer = peer.or_else(|| get("DRBD_PEER"));
    let resource = resource.or_else(|| get("DRBD_RESOURCE"));
    match (peer, resource, bad) {
        (Some(peer), Some(resource), false) => Parsed::Run(Args {
            peer: peer.to_lowercase(),
            resource,
            timeout,
            debug,
            socket,
        }),
        _ => Parsed::Usage(complaint),
    }
}

/// The usage text.
pub fn usage(cmd: &str) -> String {
    format!(
        "usage: {cmd} -r <string> -p <string> [-t <int>]\n\
         \t-p <string>\tdrbd peer\n\
         \t-r <string>\tdrbd resource\n\
         \t-t <int>\ttimeout in seconds; default: {DEFAULT_TIMEOUT}\n\n\
         The peer and the resource come from the command line, or else from the\n\
         environment variables DRBD_PEER and DRBD_RESOURCE that DRBD sets for its\n\
         handlers. (Ours also takes --socket PATH, default {}.)\n",
        proto::DEFAULT_SOCKET
    )
}

/// Asks dopd; returns the exit status. Problems are reported on `err`.
pub fn run(a: &Args, err: &mut dyn Write) -> i32 {
    let stream = match UnixStream::connect(&a.socket) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(
                err,
                "Could not connect to outdater channel ({}: {e}): is dopd running?",
                a.socket.display()
            );
            return rc::UNREACHABLE;
        }
    };
    let mut conn = Conn::new(stream);
    if let Err(e) = conn.send(&proto::outdater_request(&a.peer, &a.resource)) {
        let _ = writeln!(err, "Could not send message: {e}");
        return rc::UNREACHABLE;
    }
    let wait = Duration::from_secs(u64::try_from(a.timeout.max(0)).unwrap_or(0));
    match conn.read_one(wait) {
        Ok(Some(m)) => {
            let value = m.get(proto::F_DOPD_VALUE).unwrap_or("");
            match proto::parse_value(value) {
                Some(v) => v,
                None => {
                    let _ = writeln!(err, "unknown message: {value} from server");
                    rc::FAILED
                }
            }
        }
        Ok(None) => {
            let _ = writeln!(err, "no message from server or other instance is running");
            rc::UNREACHABLE
        }
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            let _ = writeln!(
                err,
                "error: could not connect to dopd after {} seconds: timeout reached",
                a.timeout
            );
            rc::UNREACHABLE
        }
        Err(e) => {
            let _ = writeln!(err, "no message from server: {e}");
            rc::UNREACHABLE
        }
    }
}

/// The whole program.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |k: &str| std::env::var(k).ok();
    let name = "drbd-peer-outdater";
    match parse(&args, &get) {
        Parsed::Help => {
            print!("{}", usage(name));
            0
        }
        Parsed::Usage(complaint) => {
            if let Some(c) = complaint {
                eprintln!("{c}");
            }
            eprint!("{}", usage(name));
            1
        }
        Parsed::Run(a) => {
            let mut err = std::io::stderr();
            let rc = run(&a, &mut err);
            syslog_result(&a, rc);
            rc
        }
    }
}

/// One syslog line per run (facility daemon), as DRBD's own log shows the helper's exit.
fn syslog_result(a: &Args, rc: i32) {
    let pid = std::process::id();
    let text = format!("peer {} resource {}: exit {rc}", a.peer, a.resource);
    let message = hb_log::syslog_text(pid, Some(Level::Info), &text);
    hb_log::sink::syslog_once(
        Facility::DAEMON,
        "drbd-peer-outdater",
        Level::Info,
        &message,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn env(k: &str) -> Option<String> {
        match k {
            "DRBD_PEER" => Some("NodeB".into()),
            "DRBD_RESOURCE" => Some("r0".into()),
            _ => None,
        }
    }

    #[test]
    fn from_drbd_environment_or_options() {
        let Parsed::Run(a) = parse(&[], &env) else {
            panic!()
        };
        assert_eq!(
            (a.peer.as_str(), a.resource.as_str(), a.timeout),
            ("nodeb", "r0", 60)
        );
        assert_eq!(a.socket, PathBuf::from("/var/run/heartbeat/crm/outdater"));
        let Parsed::Run(a) = parse(
            &v(&["-p", "x", "-rdata", "-t", "5", "-V", "--socket", "/tmp/s"]),
            &env,
        ) else {
            panic!()
        };
        assert_eq!(
            (a.peer.as_str(), a.resource.as_str(), a.timeout, a.debug),
            ("x", "data", 5, 1)
        );
        assert_eq!(a.socket, PathBuf::from("/tmp/s"));
        let Parsed::Run(a) = parse(&v(&["-t", "abc"]), &env) else {
            panic!()
        };
        assert_eq!(a.timeout, 0);
    }

    #[test]
    fn usage_cases() {
        let none = |_: &str| None;
        assert_eq!(parse(&[], &none), Parsed::Usage(None));
        assert_eq!(parse(&v(&["-p", "b"]), &none), Parsed::Usage(None));
        assert_eq!(parse(&v(&["-h"]), &none), Parsed::Help);
        assert_eq!(
            parse(&v(&["-x"]), &env),
            Parsed::Usage(Some("drbd-peer-outdater: invalid option -- 'x'".into()))
        );
        assert_eq!(
            parse(&v(&["-t"]), &env),
            Parsed::Usage(Some(
                "drbd-peer-outdater: option requires an argument -- 't'".into()
            ))
        );
        assert!(usage("drbd-peer-outdater")
            .starts_with("usage: drbd-peer-outdater -r <string> -p <string> [-t <int>]\n"));
    }

    #[test]
    fn no_dopd_is_unreachable() {
        let a = Args {
            peer: "b".into(),
            resource: "r0".into(),
            timeout: 1,
            debug: 0,
            socket: PathBuf::from("/nonexistent/hb-dopd/outdater"),
        };
        let mut err = Vec::new();
        assert_eq!(run(&a, &mut err), 5);
        assert!(String::from_utf8(err)
            .unwrap()
            .starts_with("Could not connect to outdater channel"));
    }
}
