//! The other HALIB programs of 2.0.8 that scripts and administrators call: `mach_down`,
//! `req_resource`, `hb_addnode` and `hb_delnode`.
//!
//! - `mach_down NODE`: takes over the groups of a dead node. Nothing when NODE (any
//!   case) is this node or `HA_info` contains `ping`; otherwise for each key of
//!   `ResourceManager listkeys NODE` it logs `info: Taking over resource group KEY` and
//!   runs `takegroup KEY`; with `HA_NICEFAILBACK=yes` it then logs `info: PROG:
//!   nice_failback: foreign resources acquired` and writes `t=resource
//!   rsc_hold=foreign info=mach_down` into the FIFO (what tells the daemon the takeover
//!   is complete); finally `info: mach_down takeover complete for node NODE.`. Status 0
//!   (2 when the FIFO message cannot be written).
//! - `req_resource KEY`: asks for a group. Status 0 at once if `ResourceManager status
//!   KEY` says it runs here. With `HA_NICEFAILBACK=yes` or `HA_DONTASK=yes` it writes
//!   `t=ip-request-resp dest=HA_CURHOST ipaddr=KEY weown=yes ok=OK` (the answer to
//!   itself); 2.0.8's rc.d `ip-request-resp` then took the group, but our daemon does
//!   that work itself and ignores its own answers, so we run `takegroup KEY` here (exit
//!   status: takegroup's). Otherwise it writes `t=ip-request ipaddr=KEY` (the holder
//!   releases the group and answers; the daemon then takes it) and exits 0. With
//!   `HA_DEBUG` starting with 1-5, 7-9 (2.0.8's pattern) it logs `debug: in PROG KEY`
//!   and the two settings first.
//! - `hb_addnode NODE...` / `hb_delnode NODE...`: 2.0.8 writes `t=addnode` /
//!   `t=delnode nodelist=NODE...` into the FIFO, and its daemon changes its node list at
//!   run time. Our daemon takes its nodes from ha.cf only (v1 mode refuses `autojoin`),
//!   and an original peer would act on the message alone, so the node lists would
//!   differ: we send nothing, say so on stderr and exit 1. No argument, or `--help`:
//!   the usage on stdout, status 1, as 2.0.8.
//!
//! No argument to `mach_down` or `req_resource`: a usage line and status 1 (2.0.8 ran
//! with an empty name).

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use crate::fifo::{fifo_path, FifoWriter, EXIT_SEND, WRITE_TIMEOUT};
use crate::resource_manager::{Recovery, Rm, Sink};
use hb_log::script::{default_tag, ha_log, LogEnv, Style};
use hb_log::Level;

/// Writes `body` (the `name=value` lines) into the FIFO as `ha_clustermsg` does.
pub fn clustermsg(
    body: &str,
    get: &dyn Fn(&str) -> Option<OsString>,
    prog: &str,
    err: &mut dyn Write,
) -> bool {
    let path = fifo_path(None, get("HA_FIFO").as_deref());
    let sent = FifoWriter::open(&path)
        .and_then(|mut w| w.send(format!(">>>\n{body}<<<\n").as_bytes(), WRITE_TIMEOUT));
    match sent {
        Ok(()) => true,
        Err(e) => {
            let _ = writeln!(err, "{prog}: {e}");
            false
        }
    }
}

fn is(get: &dyn Fn(&str) -> Option<OsString>, k: &str, values: &[&str]) -> bool {
    get(k).is_some_and(|v| values.iter().any(|w| v == *w))
}

/// The program's own log lines (its own tag; the groups it runs log as
/// ResourceManager, as 2.0.8's separate process did).
pub struct Own<'a> {
    pub log: &'a LogEnv,
    pub prog: &'a str,
}

impl Own<'_> {
    fn log(&self, err: &mut dyn Write, text: &str) {
        ha_log(self.log, Level::Info, text, self.prog, err);
    }
}

fn debug_writer(sink: &Sink) -> Box<dyn Write> {
    match sink {
        Sink::File(f) => match f.try_clone() {
            Ok(f) => Box::new(f),
            Err(_) => Box::new(std::io::sink()),
        },
        Sink::Inherit => Box::new(std::io::stderr()),
    }
}

/// `mach_down NODE`.
pub fn mach_down(
    rm: &Rm,
    own: &Own<'_>,
    args: &[String],
    get: &dyn Fn(&str) -> Option<OsString>,
    err: &mut dyn Write,
    recovery: &dyn Recovery,
) -> i32 {
    let Some(node) = args.first() else {
        let _ = writeln!(err, "usage: {} <node>", rm.prog);
        return 1;
    };
    let node = node.to_lowercase();
    if node == rm.curhost.to_lowercase() {
        return 0;
    }
    if get("HA_info").is_some_and(|v| v.to_string_lossy().contains("ping")) {
        return 0;
    }
    let sink = rm.sink();
    let mut rc = 0;
    for key in rm.listkeys(&node, err) {
        own.log(err, &format!("info: Taking over resource group {key}"));
        rm.takegroup(&key, &sink, &mut *debug_writer(&sink), recovery);
    }
    if is(get, "HA_NICEFAILBACK", &["yes", "Yes"]) {
        own.log(
            err,
            &format!(
                "info: {}: nice_failback: foreign resources acquired",
                own.prog
            ),
        );
        if !clustermsg(
            "t=resource\nrsc_hold=foreign\ninfo=mach_down\n",
            get,
            own.prog,
            err,
        ) {
            rc = EXIT_SEND;
        }
    }
    own.log(
        err,
        &format!("info: mach_down takeover complete for node {node}."),
    );
    rc
}

/// `req_resource KEY`.
pub fn req_resource(
    rm: &Rm,
    own: &Own<'_>,
    args: &[String],
    get: &dyn Fn(&str) -> Option<OsString>,
    err: &mut dyn Write,
    recovery: &dyn Recovery,
) -> i32 {
    let Some(key) = args.first() else {
        let _ = writeln!(err, "usage: {} <resource group key>", own.prog);
        return 1;
    };
    if rm.status(key, err) {
        return 0;
    }
    let show = |k: &str| {
        get(k)
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    // 2.0.8's pattern is `[123458789]*`: a level starting with 6 logs nothing.
    if show("HA_DEBUG").starts_with(|c: char| "123458789".contains(c)) {
        own.log(err, &format!("debug: in {} {}", own.prog, args.join(" ")));
        own.log(
            err,
            &format!(
                "debug: dont_ask: {} nice_failback: {}",
                show("HA_DONTASK"),
                show("HA_NICEFAILBACK")
            ),
        );
    }
    let dont_ask = is(get, "HA_NICEFAILBACK", &["yes"]) || is(get, "HA_DONTASK", &["yes"]);
    if dont_ask {
        let body = format!(
            "t=ip-request-resp\ndest={}\nipaddr={key}\nweown=yes\nok=OK\n",
            rm.curhost
        );
        if !clustermsg(&body, get, own.prog, err) {
            return EXIT_SEND;
        }
        let sink = rm.sink();
        return rm.takegroup(key, &sink, &mut *debug_writer(&sink), recovery);
    }
    if clustermsg(&format!("t=ip-request\nipaddr={key}\n"), get, own.prog, err) {
        0
    } else {
        EXIT_SEND
    }
}

/// Which of the two node-list programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeTool {
    Add,
    Del,
}

impl NodeTool {
    pub fn name(self) -> &'static str {
        match self {
            NodeTool::Add => "hb_addnode",
            NodeTool::Del => "hb_delnode",
        }
    }
}

/// `hb_addnode` / `hb_delnode`: usage as 2.0.8, else a plain refusal (see the module).
pub fn node_list(tool: NodeTool, args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let joined = args.join(" ");
    if args.is_empty() || joined == "--help" {
        let _ = writeln!(out, "usage: {} <node> <node> ...", tool.name());
        return 1;
    }
    let (verb, fix) = match tool {
        NodeTool::Add => (
            "add nodes to",
            "add a 'node NAME' line to /etc/ha.d/ha.cf on every node",
        ),
        NodeTool::Del => (
            "remove nodes from",
            "remove the 'node NAME' line from /etc/ha.d/ha.cf on every node",
        ),
    };
    let _ = writeln!(
        err,
        "{}: not supported: this heartbeat cannot {verb} its node list while it runs \
         (heartbeat 2.0.8's {} message); nothing was sent. To change the nodes ({joined}), \
         {fix}, then restart heartbeat on each node in turn.",
        tool.name(),
        match tool {
            NodeTool::Add => "addnode",
            NodeTool::Del => "delnode",
        }
    );
    1
}

/// The program `name` with the real environment: returns the exit status.
pub fn main(name: &str) -> i32 {
    let mut argv = std::env::args();
    let prog = argv.next().unwrap_or_else(|| name.to_string());
    let args: Vec<String> = argv.collect();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    match name {
        "hb_addnode" => return node_list(NodeTool::Add, &args, &mut out, &mut err),
        "hb_delnode" => return node_list(NodeTool::Del, &args, &mut out, &mut err),
        _ => {}
    }
    let (dir, rest) = crate::resource_manager::config_dir_option(&args);
    let dir = dir.unwrap_or_else(|| Path::new(crate::args::DEFAULT_CONFIG_DIR).to_path_buf());
    let get = |k: &str| std::env::var_os(k);
    let halib = crate::resource_manager::halib();
    let pid = std::process::id();
    let rm = Rm::from_env(&prog, "ResourceManager", &dir, &get, pid, &halib);
    let log = LogEnv::from_env(Style::Shellfuncs, get, default_tag(&prog, pid));
    let own = Own {
        log: &log,
        prog: &prog,
    };
    let recovery = crate::resource_manager::Reboot;
    if name == "mach_down" {
        mach_down(&rm, &own, rest, &get, &mut err, &recovery)
    } else {
        req_resource(&rm, &own, rest, &get, &mut err, &recovery)
    }
}
