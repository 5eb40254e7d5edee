//! `ipfail`: see [`hb_api::ipfail`]. Run by the daemon (`respawn hacluster .../ipfail`).
//!
//! Arguments are ignored as by the original, except our test option `--socket PATH` (the
//! API socket, default /var/run/heartbeat/register).
//!
//! Logging: like 2.0.8's ipfail, every line goes to syslog (ident `ipfail`, the facility of
//! the sign-on reply, LOG_DAEMON without one; message `[PID]: info: text`) and, until it
//! waits for messages, to stderr (`ipfail[PID]: YYYY/MM/DD_HH:MM:SS info: text`). Like the
//! 3.0.6 ipfail it also appends its lines to the daemon's files named by the environment the
//! daemon gives its children: `HA_logfile` (all but debug) and `HA_debugfile` (all).

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hb_api::client::{strerror, HbApi};
use hb_api::ipfail::{self, Api, Ipfail, Level, Note};
use hb_log::{Facility, LogConfig, Logger};
use hb_wire::Message;

static QUIT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_quit(_: libc::c_int) {
    QUIT.store(true, Ordering::SeqCst);
}

/// The API, through our client library.
struct Client {
    hb: HbApi,
    socket: PathBuf,
}

impl Api for Client {
    fn signon(&mut self) -> bool {
        self.hb.signon(&self.socket, Some(ipfail::CLIENT_ID))
    }
    fn errmsg(&self) -> String {
        self.hb.errmsg().to_string()
    }
    fn my_node(&self) -> String {
        self.hb.mynodeid().to_string()
    }
    fn keepalive_ms(&self) -> u64 {
        self.hb.keepalive_ms()
    }
    fn log_facility(&self) -> i32 {
        self.hb.logfacility()
    }
    fn resources(&mut self) -> Option<String> {
        self.hb.get_resources()
    }
    fn parameter(&mut self, name: &str) -> Option<String> {
        self.hb.get_parameter(name)
    }
    fn set_filter(&mut self, mask: u32) -> bool {
        self.hb.set_filter(mask)
    }
    fn set_signal(&mut self, signal: i32) -> bool {
        self.hb.set_signal(signal)
    }
    fn node_list(&mut self) -> Option<Vec<String>> {
        self.hb.nodelist()
    }
    fn node_status(&mut self, node: &str) -> Option<String> {
        self.hb.node_status(node)
    }
    fn node_type(&mut self, node: &str) -> Option<String> {
        self.hb.node_type(node)
    }
    fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool {
        self.hb.send_node_msg(msg, node)
    }
    fn send_cluster_msg(&mut self, msg: &Message) -> bool {
        self.hb.send_cluster_msg(msg)
    }
}

/// Where log lines go: the log layer's logger, under ipfail's entity; `perror` as the
/// original's.
struct Log(Logger);

impl Log {
    fn log(&mut self, level: Level, text: &str) {
        self.0.log(level, text);
    }

    fn set_facility(&mut self, facility: i32) {
        self.0.set_facility(Some(
            Facility::from_code(facility).unwrap_or(Facility::DAEMON),
        ));
    }

    fn perror(&mut self, what: &str) {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        self.log(Level::Error, &format!("{what}: {}", strerror(errno)));
    }
}

fn chdir(dir: &[u8]) -> bool {
    let Ok(c) = CString::new(dir) else {
        return false;
    };
    // SAFETY: c is NUL-terminated.
    unsafe { libc::chdir(c.as_ptr()) == 0 }
}

/// The original's `cl_cdtocoredir`: the core root, then the user's directory below it.
fn cd_to_coredir(log: &mut Log, root: &str) {
    if !chdir(root.as_bytes()) {
        log.perror(&format!("Cannot chdir to [{root}]"));
        return;
    }
    // SAFETY: getuid has no memory effects.
    let uid = unsafe { libc::getuid() };
    let Some(name) = hb_sys::user_by_uid(uid).map(|u| u.name.into_bytes()) else {
        log.perror(&format!("Cannot get name for uid [{uid}]"));
        return;
    };
    if !chdir(&name) {
        log.perror(&format!(
            "Cannot chdir to [{root}/{}]",
            String::from_utf8_lossy(&name)
        ));
    }
}

fn core_dir(log: &mut Log, coreroot: Option<String>) {
    let mut root = ipfail::DEFAULT_COREROOT.to_string();
    if let Some(dir) = coreroot {
        if dir.starts_with('/') {
            root = dir;
        } else {
            log.log(
                Level::Error,
                &format!(
                    "Invalid dir in cl_set_corerootdir() [{dir}]: {}",
                    strerror(libc::EINVAL)
                ),
            );
        }
        // The original changes directory once here and once again after.
        cd_to_coredir(log, &root);
    }
    cd_to_coredir(log, &root);
}

fn drain(core: &mut Ipfail, log: &mut Log) {
    while let Some(n) = core.poll_note() {
        match n {
            Note::Log(level, text) => log.log(level, &text),
            Note::Facility(f) => log.set_facility(f),
            Note::CoreDir(root) => core_dir(log, root),
            Note::StderrOff => log.0.set_stderr(false),
        }
    }
}

fn install_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic; sigaction is plain data.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_quit as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0; // no SA_RESTART: a signal interrupts the waits
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// `--socket PATH` or `--socket=PATH`; everything else is ignored.
fn socket_arg(args: &[OsString]) -> PathBuf {
    let mut it = args.iter().skip(1);
    let mut path = PathBuf::from(hb_api::socket::DEFAULT_PATH);
    while let Some(a) = it.next() {
        let b = a.as_bytes();
        if b == b"--socket" {
            if let Some(p) = it.next() {
                path = PathBuf::from(p);
            }
        } else if let Some(p) = b.strip_prefix(b"--socket=") {
            path = PathBuf::from(std::ffi::OsStr::from_bytes(p));
        }
    }
    path
}

fn run() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let entity = args
        .first()
        .map(|a| {
            let s = a.to_string_lossy();
            s.rsplit('/')
                .find(|p| !p.is_empty())
                .unwrap_or("ipfail")
                .to_string()
        })
        .unwrap_or_else(|| "ipfail".into());
    let env_path = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let pid = std::process::id();
    let mut log = Log(Logger::new(LogConfig {
        entity,
        stderr: true,
        logfile: env_path("HA_logfile"),
        debugfile: env_path("HA_debugfile"),
        report_syslog_errors: false,
        debug_needs_level: false,
        ..LogConfig::default()
    }));
    let mut api = Client {
        hb: HbApi::new(),
        socket: socket_arg(&args),
    };
    let mut core = Ipfail::new(pid);
    let started = core.start(&mut api);
    drain(&mut core, &mut log);
    if let Err(code) = started {
        return code;
    }
    install_signals();
    loop {
        if QUIT.load(Ordering::SeqCst) {
            core.interrupt(Instant::now(), &mut api);
            drain(&mut core, &mut log);
            break;
        }
        if let Some(code) = core.exit_code() {
            return code;
        }
        let now = Instant::now();
        let due = core.poll_timeout();
        if due.is_some_and(|t| t <= now) {
            core.handle_timeout(now, &mut api);
            drain(&mut core, &mut log);
            continue;
        }
        let wait = due.map_or(ipfail::TICK, |t| (t - now).min(ipfail::TICK));
        match api.hb.read_message(wait) {
            Some(m) => {
                core.handle_message(Instant::now(), &mut api, &m);
                drain(&mut core, &mut log);
            }
            None if api.hb.disconnected() => {
                log.log(Level::Error, "Lost the connection to heartbeat.");
                return ipfail::exit::LOST;
            }
            None => {}
        }
    }
    if let Some(code) = core.exit_code() {
        return code;
    }
    if !api.hb.signoff() {
        log.log(Level::Error, "Cannot sign off from heartbeat.");
        log.log(Level::Error, &format!("REASON: {}", api.hb.errmsg()));
        return ipfail::exit::SIGNOFF;
    }
    0
}

fn main() {
    std::process::exit(run());
}
