//! `cl_status`: heartbeat 2.0.8's status tool, same command line, output and exit statuses.
//!
//! `cl_status <sub-command> [<options>] [<parameters>]`: `hbstatus`, `listnodes [-p|-n]`,
//! `nodestatus NODE`, `nodeweight NODE`, `nodesite NODE`, `nodetype NODE`,
//! `listhblinks NODE`, `hblinkstatus NODE LINK`, `clientstatus NODE CLIENT [TIMEOUT_MS]`,
//! `rscstatus`, `hbparameter -p NAME`, and the undocumented `test`; `-m` asks for
//! sentences. No arguments or a lone `-h`: the help text, exit 0.
//!
//! Exit statuses: 0 OK; 1 "normal failure" (node or link down, client offline, parameter
//! not set, heartbeat not running, sign-on refused); 2/3 client `join`/`leave`; 11 bad
//! command line; 12 no answer within 5 s; 13 other errors. Errors are logged as the
//! original's cl_log does with stderr enabled: `cl_status[PID]: YYYY/MM/DD_HH:MM:SS ERROR:
//! text` on stderr, and to syslog (facility user).
//!
//! Faithful to the original's quirks: options are read by an emulation of glibc's getopt
//! (with its argument permutation, so `cl_status nodestatus b -m` works; `POSIXLY_CORRECT`
//! turns it off); most sub-commands go on after a bad option; `hbparameter` runs even
//! when the sign-on fails (a typo in the original's command table), so it then says
//! `Cannot get parameter NAME's value` / `REASON: not signed on`; node and link lists come
//! out in the reverse of the daemon's order.
//!
//! Our additions: `--socket PATH` (default /var/run/heartbeat/register) and
//! `--config-dir DIR` (accepted for uniformity with the other tools; cl_status reads no
//! configuration), anywhere on the line, also as `--opt=VALUE`.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::SystemTime;

use hb_log::{Facility, Level};

use hb_sys::Getopt;

use crate::client::HbApi;
use crate::proto::atoi;
use crate::socket::DEFAULT_PATH;

pub const OK: i32 = 0;
pub const NORMAL_FAIL: i32 = 1;
pub const PARAMETER_ERROR: i32 = 11;
pub const TIMEOUT: i32 = 12;
pub const UNKNOWN_ERROR: i32 = 13;
/// Seconds before the tool gives up (exit [`TIMEOUT`]).
pub const ALARM_SECONDS: u32 = 5;

/// The original's help text.
pub const HELP: &str = "Usage: cl_status <sub-command> [<options>] [<parameters>]\n\
\n\
Sub-commands:\n\
clientstatus <node-name> <client-id> [<timeout>]\n\
\tShow the status of heartbeat clients.\n\
hblinkstatus <node-name> <link-name>\n\
\tShow the status of a heartbeat link\n\
hbstatus\n\
\tIndicate if heartbeat is running on the local system.\n\
listhblinks <node-name>\n\
\tList the network interfaces used as hearbeat links.\n\
listnodes [<option>]\n\
\tList the nodes in the cluster.\n\
\tOptions:\n\
\t\t-p\tlist only 'ping' type nodes\n\
\t\t-n\tlist only 'normal' type nodes\n\
nodestatus <node-name>\n\
\tList the node status.\n\
nodeweight <node-name>\n\
\tList the node weight.\n\
nodesite <node-name>\n\
\tList the node site.\n\
nodetype <node-name>\n\
\tList the nodes of a given type.\n\
rscstatus\n\
\tShow the status of cluster resources.\n\
hbparameter -p <parameter-name>\n\
\tRetrieve the value of a cluster parameter.\n\
\tAs for the valid parameter names, please refer to the man page.\n";

/// Where the tool's text goes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Also log errors to syslog.
    pub syslog: bool,
}

impl Io<'_> {
    /// The original's `cl_log(LOG_ERR, ...)` with stderr enabled.
    pub fn log_err(&mut self, text: &str) {
        let pid = std::process::id();
        let level = Some(Level::Error);
        let line = hb_log::format_line(ENTITY, pid, SystemTime::now(), level, text);
        let _ = self.err.write_all(line.as_bytes());
        if self.syslog {
            let msg = hb_log::syslog_text(pid, level, text);
            hb_log::sink::syslog_once(Facility::USER, ENTITY, Level::Error, &msg);
        }
    }

    fn print(&mut self, s: &str) {
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    fn eprint(&mut self, s: &str) {
        let _ = self.err.write_all(s.as_bytes());
    }
}

/// The entity of cl_status's log lines.
const ENTITY: &str = "cl_status";

struct Cmd {
    name: &'static str,
    optstr: Option<&'static [u8]>,
    needs_signon: bool,
}

/// The original's command table (with its `hbparameter` entry as compiled: the option
/// string swallowed the rest of the line, so it takes the options `m`, `p:`, `,`, tab,
/// `T`, `R`, `U`, `E`, and runs without a sign-on).
const CMDS: &[Cmd] = &[
    Cmd {
        name: "hbstatus",
        optstr: Some(b"m"),
        needs_signon: false,
    },
    Cmd {
        name: "listnodes",
        optstr: Some(b"mpn"),
        needs_signon: true,
    },
    Cmd {
        name: "nodestatus",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "nodeweight",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "nodesite",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "nodetype",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "listhblinks",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "hblinkstatus",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "clientstatus",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "rscstatus",
        optstr: Some(b"m"),
        needs_signon: true,
    },
    Cmd {
        name: "hbparameter",
        optstr: Some(b"mp:,\t\tTRUE"),
        needs_signon: false,
    },
    Cmd {
        name: "test",
        optstr: None,
        needs_signon: true,
    },
];

/// Our own options taken out of the command line.
#[derive(Debug, PartialEq, Eq)]
pub struct Ours {
    pub socket: PathBuf,
    pub config_dir: Option<PathBuf>,
    /// The rest, in order (`argv[0]` first).
    pub args: Vec<Vec<u8>>,
}

/// Takes `--socket` and `--config-dir` (with a separate or `=` value) out of `args`
/// (before a `--`). Error: the option missing its value.
pub fn take_ours(args: &[OsString]) -> Result<Ours, String> {
    let mut o = Ours {
        socket: PathBuf::from(DEFAULT_PATH),
        config_dir: None,
        args: Vec::new(),
    };
    let mut it = args.iter().map(|a| a.as_bytes().to_vec());
    if let Some(a0) = it.next() {
        o.args.push(a0);
    }
    let mut ended = false;
    while let Some(a) = it.next() {
        if ended {
            o.args.push(a);
            continue;
        }
        if a == b"--" {
            ended = true;
            o.args.push(a);
            continue;
        }
        let take = |name: &str,
                    a: &[u8],
                    it: &mut dyn Iterator<Item = Vec<u8>>|
         -> Result<Option<PathBuf>, String> {
            let flag = format!("--{name}");
            if a == flag.as_bytes() {
                return match it.next() {
                    Some(v) => Ok(Some(PathBuf::from(OsString::from(
                        std::ffi::OsStr::from_bytes(&v),
                    )))),
                    None => Err(format!("cl_status: option '{flag}' requires an argument")),
                };
            }
            let prefix = format!("{flag}=");
            Ok(a.strip_prefix(prefix.as_bytes())
                .map(|v| PathBuf::from(std::ffi::OsStr::from_bytes(v))))
        };
        if let Some(p) = take("socket", &a, &mut it)? {
            o.socket = p;
        } else if let Some(p) = take("config-dir", &a, &mut it)? {
            o.config_dir = Some(p);
        } else {
            o.args.push(a);
        }
    }
    Ok(o)
}

/// Runs the tool; returns the exit status. `posixly_correct`: whether `POSIXLY_CORRECT`
/// is set (getopt then stops at the sub-command and reads no option).
pub fn run(args: &[OsString], posixly_correct: bool, io: &mut Io<'_>) -> i32 {
    let ours = match take_ours(args) {
        Ok(o) => o,
        Err(e) => {
            io.eprint(&format!("{e}\n"));
            return PARAMETER_ERROR;
        }
    };
    let argv = ours.args;
    if argv.len() == 1 || (argv.len() == 2 && argv.get(1).is_some_and(|a| a == b"-h")) {
        io.print(HELP);
        return OK;
    }
    let sub = argv.get(1).cloned().unwrap_or_default();
    let Some(cmd) = CMDS.iter().find(|c| c.name.as_bytes() == sub.as_slice()) else {
        io.log_err(&format!(
            "{}: invalid sub-command.",
            String::from_utf8_lossy(&sub)
        ));
        return PARAMETER_ERROR;
    };
    let mut hb = HbApi::new();
    let signed_on = hb.signon(&ours.socket, None);
    if !signed_on && cmd.needs_signon {
        io.log_err("Cannot signon with heartbeat");
        let reason = format!("REASON: {}", hb.errmsg());
        io.log_err(&reason);
        return NORMAL_FAIL;
    }
    let mut t = Tool {
        hb: &mut hb,
        g: Getopt::new(argv, posixly_correct),
        optstr: cmd.optstr.unwrap_or(b""),
        human: false,
        signed_on,
    };
    let ret = match cmd.name {
        "hbstatus" => t.hbstatus(io),
        "listnodes" => t.listnodes(io),
        "nodestatus" => t.nodestatus(io),
        "nodeweight" => t.nodeweight(io),
        "nodesite" => t.nodesite(io),
        "nodetype" => t.nodetype(io),
        "listhblinks" => t.listhblinks(io),
        "hblinkstatus" => t.hblinkstatus(io),
        "clientstatus" => t.clientstatus(io),
        "rscstatus" => t.rscstatus(io),
        "hbparameter" => t.hbparameter(io),
        _ => t.test(io),
    };
    if signed_on && !hb.signoff() {
        io.log_err("Cannot sign off from heartbeat.");
        let reason = format!("REASON: {}", hb.errmsg());
        io.log_err(&reason);
    }
    ret
}

struct Tool<'a> {
    hb: &'a mut HbApi,
    g: Getopt,
    optstr: &'static [u8],
    human: bool,
    signed_on: bool,
}

impl Tool<'_> {
    fn reason(&self, io: &mut Io<'_>) {
        let r = format!("REASON: {}", self.hb.errmsg());
        io.log_err(&r);
    }

    fn getopt_error(io: &mut Io<'_>, c: u8) {
        io.log_err(&format!(
            "Error: getopt returnedcharacter code {}.",
            char::from(c)
        ));
    }

    /// The original's `general_simple_opt_deal`: `-m`, and stop at the first other
    /// option (its error is logged, and the caller goes on regardless).
    fn simple_opts(&mut self, io: &mut Io<'_>) {
        while let Some(c) = self.g.next(self.optstr, io.err) {
            if c == b'm' {
                self.human = true;
            } else {
                Self::getopt_error(io, c);
                return;
            }
        }
    }

    fn hbstatus(&mut self, io: &mut Io<'_>) -> i32 {
        if self.signed_on {
            io.print("Heartbeat is running on this machine.\n");
            OK
        } else {
            io.print("Heartbeat is stopped on this machine.\n");
            NORMAL_FAIL
        }
    }

    fn listnodes(&mut self, io: &mut Io<'_>) -> i32 {
        let (mut ping, mut normal) = (false, false);
        while let Some(c) = self.g.next(self.optstr, io.err) {
            match c {
                b'm' => self.human = true,
                b'p' => ping = true,
                b'n' => normal = true,
                _ => {
                    Self::getopt_error(io, c);
                    return PARAMETER_ERROR;
                }
            }
        }
        let Some(nodes) = self.hb.nodelist() else {
            io.log_err("Cannot start node walk.");
            self.reason(io);
            return UNKNOWN_ERROR;
        };
        let all = ping == normal;
        if self.human {
            io.print("The nodes are as follow:\n");
        }
        for n in nodes {
            if all {
                io.print(&format!("{n}\n"));
                continue;
            }
            let ty = self.hb.node_type(&n);
            if (normal && ty.as_deref() == Some("normal"))
                || (ping && ty.as_deref() == Some("ping"))
            {
                io.print(&format!("{n}\n"));
            }
        }
        OK
    }

    fn nodestatus(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let Some(node) = self.g.arg(1) else {
            io.eprint("Not enough parameters.\n");
            return PARAMETER_ERROR;
        };
        let Some(st) = self.hb.node_status(&node) else {
            io.eprint("Error. May be due to incorrect node name\n");
            return PARAMETER_ERROR;
        };
        if self.human {
            io.print(&format!("The cluster node {node} is {st}\n"));
        } else {
            io.print(&format!("{st}\n"));
        }
        if matches!(st.as_str(), "active" | "up" | "ping") {
            OK
        } else {
            NORMAL_FAIL
        }
    }

    fn nodeweight(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let Some(node) = self.g.arg(1) else {
            io.eprint("Not enough parameters.\n");
            return PARAMETER_ERROR;
        };
        let w = self.hb.node_weight(&node);
        if w == -1 {
            io.eprint("Error. Maybe due to incorrect node name.\n");
            return PARAMETER_ERROR;
        }
        if self.human {
            io.print(&format!("The weight of the cluster node {node} is {w}\n"));
        } else {
            io.print(&format!("{w}\n"));
        }
        OK
    }

    fn nodesite(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let Some(node) = self.g.arg(1) else {
            io.eprint("Not enough parameters.\n");
            return PARAMETER_ERROR;
        };
        let Some(site) = self.hb.node_site(&node) else {
            io.eprint("Error. May be due to incorrect node name\n");
            return PARAMETER_ERROR;
        };
        if self.human {
            io.print(&format!("The site of the cluster node {node} is {site}\n"));
        } else {
            io.print(&format!("{site}\n"));
        }
        OK
    }

    fn nodetype(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let Some(node) = self.g.arg(1) else {
            io.eprint("No enough parameter.\n");
            return PARAMETER_ERROR;
        };
        let Some(ty) = self.hb.node_type(&node) else {
            io.eprint("Error. May be due to incorrect node name\n");
            return PARAMETER_ERROR;
        };
        if self.human {
            io.print(&format!("The node {node}'s type: {ty}\n"));
        } else {
            io.print(&format!("{ty}\n"));
        }
        OK
    }

    fn listhblinks(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let Some(node) = self.g.arg(1) else {
            io.eprint("No enough parameter.\n");
            return PARAMETER_ERROR;
        };
        let Some(links) = self.hb.iflist(&node) else {
            io.log_err("Cannot start heartbeat link interface walk.");
            self.reason(io);
            return UNKNOWN_ERROR;
        };
        if self.human {
            io.print("\tthis node have the following heartbeat links:\n");
        }
        for l in links {
            io.print(&format!("\t{l}\n"));
        }
        OK
    }

    fn hblinkstatus(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let (Some(node), Some(link)) = (self.g.arg(1), self.g.arg(2)) else {
            io.eprint("No enough parameter.\n");
            return PARAMETER_ERROR;
        };
        let Some(st) = self.hb.if_status(&node, &link) else {
            io.log_err("Cannot get heartbeat link status");
            self.reason(io);
            return UNKNOWN_ERROR;
        };
        if self.human {
            io.print(&format!(
                "The node {node}'s heartbeat link {link} is {st}\n"
            ));
        } else {
            io.print(&format!("{st}\n"));
        }
        if st == "up" {
            OK
        } else {
            NORMAL_FAIL
        }
    }

    fn clientstatus(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let (Some(node), Some(client)) = (self.g.arg(1), self.g.arg(2)) else {
            io.eprint("No enough parameter.\n");
            return PARAMETER_ERROR;
        };
        let timeout = self.g.arg(3).map_or(500, |t| atoi(&t));
        let Some(cs) = self.hb.client_status(&node, &client, timeout) else {
            io.log_err(&format!("Cannot get client {client}'s status"));
            self.reason(io);
            return UNKNOWN_ERROR;
        };
        io.print(&format!("{cs}\n"));
        match cs.as_str() {
            "online" => OK,
            "offline" => NORMAL_FAIL,
            "join" => 2,
            "leave" => 3,
            _ => UNKNOWN_ERROR,
        }
    }

    fn rscstatus(&mut self, io: &mut Io<'_>) -> i32 {
        self.simple_opts(io);
        let Some(r) = self.hb.get_resources() else {
            let arg = self.g.arg(2).unwrap_or_else(|| "(null)".into());
            io.log_err(&format!("Cannot get client {arg}'s resource status"));
            self.reason(io);
            return UNKNOWN_ERROR;
        };
        if self.human {
            io.print(&format!("This node is holding {r} resources.\n"));
        } else {
            io.print(&format!("{r}\n"));
        }
        OK
    }

    fn hbparameter(&mut self, io: &mut Io<'_>) -> i32 {
        let mut name: Option<String> = None;
        while let Some(c) = self.g.next(self.optstr, io.err) {
            match c {
                b'm' => self.human = true,
                b'p' => {
                    if let Some(a) = &self.g.optarg {
                        name = Some(String::from_utf8_lossy(a).into_owned());
                    }
                }
                _ => {
                    Self::getopt_error(io, c);
                    return PARAMETER_ERROR;
                }
            }
        }
        let Some(name) = name else {
            io.log_err("parameter name required");
            return PARAMETER_ERROR;
        };
        let Some(v) = self.hb.get_parameter(&name) else {
            io.log_err(&format!("Cannot get parameter {name}'s value"));
            self.reason(io);
            return NORMAL_FAIL;
        };
        if self.human {
            io.print(&format!("Heartbeat parameter {name}'s value: {v}\n"));
        } else {
            io.print(&format!("{v}\n"));
        }
        OK
    }

    fn test(&mut self, io: &mut Io<'_>) -> i32 {
        let dt = self.hb.deadtime_ms() as i32;
        let ka = self.hb.keepalive_ms() as i32;
        let node = self.hb.mynodeid().to_string();
        let rsc = self.hb.get_resources().unwrap_or_else(|| "(null)".into());
        io.print(&format!(
            "Dead time: {dt}\n keeplive time: {ka}\n mynodeid: {node}\n rsc: {rsc}\n"
        ));
        OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn our_options_are_taken_out() {
        let a: Vec<OsString> = [
            "cl_status",
            "--socket",
            "/tmp/s",
            "nodestatus",
            "--config-dir=/etc/x",
            "b",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let o = take_ours(&a).unwrap();
        assert_eq!(o.socket, PathBuf::from("/tmp/s"));
        assert_eq!(o.config_dir, Some(PathBuf::from("/etc/x")));
        assert_eq!(o.args, args(&["cl_status", "nodestatus", "b"]));
        let a: Vec<OsString> = ["cl_status", "hbstatus", "--socket"]
            .iter()
            .map(OsString::from)
            .collect();
        assert!(take_ours(&a).is_err());
        let a: Vec<OsString> = ["cl_status", "x", "--", "--socket=1"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(take_ours(&a).unwrap().args.len(), 4);
    }

    fn run_str(v: &[&str]) -> (i32, String, String) {
        let a: Vec<OsString> = v.iter().map(OsString::from).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let rc = run(
            &a,
            false,
            &mut Io {
                out: &mut out,
                err: &mut err,
                syslog: false,
            },
        );
        (
            rc,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn without_a_daemon() {
        let sock = "--socket=/nonexistent/hb-api/register";
        assert_eq!(
            run_str(&["cl_status"]),
            (0, HELP.to_string(), String::new())
        );
        assert_eq!(run_str(&["cl_status", "-h"]).0, 0);
        let (rc, out, err) = run_str(&["cl_status", "hbstatus", sock]);
        assert_eq!(
            (rc, out.as_str(), err.as_str()),
            (1, "Heartbeat is stopped on this machine.\n", "")
        );
        let (rc, out, err) = run_str(&["cl_status", "listnodes", sock]);
        assert_eq!((rc, out.as_str()), (1, ""));
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with(" ERROR: Cannot signon with heartbeat"),
            "{err}"
        );
        assert!(lines[1]
            .ends_with(" ERROR: REASON: hb_api_signon: Can't initiate connection  to heartbeat"));
        assert!(lines[0].starts_with(&format!("cl_status[{}]: ", std::process::id())));
        let (rc, _, err) = run_str(&["cl_status", "hbparameter", "-p", "keepalive", sock]);
        assert_eq!(rc, 1);
        assert!(
            err.contains("ERROR: Cannot get parameter keepalive's value\n"),
            "{err}"
        );
        assert!(err.contains("ERROR: REASON: not signed on\n"), "{err}");
        let (rc, _, err) = run_str(&["cl_status", "hbparameter", sock]);
        assert_eq!(rc, 11);
        assert!(err.contains("ERROR: parameter name required"));
        let (rc, _, err) = run_str(&["cl_status", "bogus", sock]);
        assert_eq!(rc, 11);
        assert!(err.contains("ERROR: bogus: invalid sub-command.\n"));
        let (rc, _, err) = run_str(&["cl_status", "hbstatus", "--socket"]);
        assert_eq!(rc, 11);
        assert_eq!(err, "cl_status: option '--socket' requires an argument\n");
    }
}
