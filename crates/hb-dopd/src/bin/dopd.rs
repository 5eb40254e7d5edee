//! `dopd`: the DRBD outdate-peer daemon, a heartbeat client started by
//! `respawn hacluster HALIB/dopd` (with `apiauth dopd gid=haclient uid=hacluster`).
//! See the `hb_dopd` library for what it does.
//!
//! Start-up as 2.0.8's: sign on as `dopd` (failure: exit 1), ask for the resource state
//! (none: heartbeat manages no resources, `No managed resources`, exit 100, which respawn
//! does not restart), filter mask 1 (failure: exit 8), signal 0 (failure: exit 13), then
//! listen on the outdater socket (failure: exit 1). SIGTERM/SIGINT: sign off, exit 0.
//! Losing heartbeat's connection: exit 1.
//!
//! Options of ours: `--api-socket PATH` (heartbeat's, default
//! /var/run/heartbeat/register), `--outdater-socket PATH` (default
//! /var/run/heartbeat/crm/outdater).
//!
//! Logging as our ipfail: syslog (ident `dopd`, the facility heartbeat gave at sign-on,
//! else daemon) and the daemon's files named by `HA_logfile` / `HA_debugfile` in the
//! environment heartbeat gives its children.

use std::collections::BTreeMap;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hb_api::client::HbApi;
use hb_dopd::core::{Action, Api, ClientId, Dopd, JobId};
use hb_dopd::ipc::{self, Conn};
use hb_dopd::proto::{self, CommandEnd};
use hb_log::{Facility, Level, LogConfig, Logger};
use hb_wire::Message;

static QUIT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_quit(_: libc::c_int) {
    QUIT.store(true, Ordering::SeqCst);
}

/// Time allowed to one `drbdadm outdate`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Handler connections kept at once.
const MAX_CLIENTS: usize = 64;

struct Client {
    hb: HbApi,
}

impl Api for Client {
    fn node_list(&mut self) -> Option<Vec<String>> {
        self.hb.nodelist()
    }
    fn node_type(&mut self, node: &str) -> Option<String> {
        self.hb.node_type(node)
    }
    fn node_status(&mut self, node: &str) -> Option<String> {
        self.hb.node_status(node)
    }
    fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool {
        self.hb.send_node_msg(msg, node)
    }
}

fn option(args: &[String], name: &str, default: &str) -> PathBuf {
    let mut v = PathBuf::from(default);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == name {
            if let Some(p) = it.next() {
                v = PathBuf::from(p);
            }
        } else if let Some(p) = a.strip_prefix(&format!("{name}=")) {
            v = PathBuf::from(p);
        }
    }
    v
}

fn install_signals() {
    // SAFETY: the handler only stores to an atomic; sigaction is plain data; SIGPIPE
    // ignored so a handler that went away is a write error, not our death.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_quit as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// `drbdadm`: from PATH, else /sbin or /usr/sbin.
fn drbdadm() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/sbin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(proto::DRBDADM))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(proto::DRBDADM))
}

struct Job {
    id: JobId,
    child: Child,
    deadline: Instant,
}

fn run() -> i32 {
    let args: Vec<String> = std::env::args().collect();
    let entity = args
        .first()
        .and_then(|a| a.rsplit('/').find(|p| !p.is_empty()))
        .unwrap_or("dopd")
        .to_string();
    let env_path = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    // Syslog at daemon until heartbeat names its facility; debug lines to the files only.
    let log = Logger::new(LogConfig {
        entity,
        facility: Some(Facility::DAEMON),
        logfile: env_path("HA_logfile"),
        debugfile: env_path("HA_debugfile"),
        report_syslog_errors: false,
        debug_needs_level: false,
        syslog_max: Level::Info,
        ..LogConfig::default()
    });
    let api_socket = option(&args, "--api-socket", hb_api::socket::DEFAULT_PATH);
    let outdater_socket = option(&args, "--outdater-socket", proto::DEFAULT_SOCKET);

    let mut api = Client { hb: HbApi::new() };
    log.log(Level::Debug, "Signing in with heartbeat");
    if !api.hb.signon(&api_socket, Some(proto::CLIENT_ID)) {
        log.log(Level::Error, "Cannot sign on with heartbeat");
        log.log(Level::Error, &format!("REASON: {}", api.hb.errmsg()));
        return 1;
    }
    if let Some(f) = Facility::from_code(api.hb.logfacility()) {
        log.set_facility(Some(f));
    }
    if api.hb.get_resources().is_none() {
        log.log(Level::Error, "No managed resources");
        return 100;
    }
    let me = api.hb.mynodeid().to_string();
    log.log(Level::Debug, &format!("[We are {me}]"));
    if !api.hb.set_filter(1) {
        log.log(Level::Error, "Cannot set filter mode");
        log.log(Level::Error, &format!("REASON: {}", api.hb.errmsg()));
        return 8;
    }
    if !api.hb.set_signal(0) {
        log.log(Level::Error, "Cannot set message signal");
        log.log(Level::Error, &format!("REASON: {}", api.hb.errmsg()));
        return 13;
    }
    let listener = match ipc::listen(&outdater_socket) {
        Ok(l) => l,
        Err(e) => {
            log.log(Level::Error, &format!("Could not start IPC server: {e}"));
            return 1;
        }
    };
    install_signals();
    log.log(
        Level::Info,
        &format!(
            "dopd started on {me}, waiting for requests at {}",
            outdater_socket.display()
        ),
    );
    let code = serve(&mut api, &listener, &me, &log);
    if code == 0 && !api.hb.signoff() {
        log.log(Level::Error, "Cannot sign off from heartbeat.");
        log.log(Level::Error, &format!("REASON: {}", api.hb.errmsg()));
        return 14;
    }
    let _ = std::fs::remove_file(&outdater_socket);
    code
}

fn serve(api: &mut Client, listener: &UnixListener, me: &str, log: &Logger) -> i32 {
    let mut core = Dopd::new(me);
    let mut clients: BTreeMap<ClientId, Conn> = BTreeMap::new();
    let mut next_client: ClientId = 1;
    let mut job: Option<Job> = None;
    let mut api_ready = false;
    loop {
        if QUIT.load(Ordering::SeqCst) {
            log.log(Level::Info, "dopd exiting (signal)");
            return 0;
        }
        // Messages from heartbeat: queued ones (left by a request's reply) and what the
        // socket holds.
        let wait = if api_ready {
            Duration::from_millis(1)
        } else {
            Duration::ZERO
        };
        while let Some(m) = api.hb.read_message(wait) {
            core.cluster_message(api, &m);
        }
        if api.hb.disconnected() {
            log.log(Level::Error, "Lost the connection to heartbeat.");
            return 1;
        }
        // The command's end.
        if let Some(j) = job.as_mut() {
            let end = match j.child.try_wait() {
                Ok(Some(st)) => {
                    use std::os::unix::process::ExitStatusExt;
                    Some(match (st.code(), st.signal()) {
                        (Some(c), _) => CommandEnd::Exited(c),
                        (None, Some(s)) => CommandEnd::Signaled(s),
                        _ => CommandEnd::Failed,
                    })
                }
                Ok(None) if Instant::now() >= j.deadline => {
                    let _ = j.child.kill();
                    let _ = j.child.wait();
                    Some(CommandEnd::Failed)
                }
                Ok(None) => None,
                Err(_) => Some(CommandEnd::Failed),
            };
            if let Some(end) = end {
                let id = j.id;
                job = None;
                core.command_done(api, id, end);
            }
        }
        // What the core wants done.
        while let Some(a) = core.poll_action() {
            match a {
                Action::Log(level, text) => log.log(level, &text),
                Action::Reply { client, msg } => {
                    if let Some(c) = clients.get_mut(&client) {
                        if let Err(e) = c.send(&msg) {
                            log.log(
                                Level::Error,
                                &format!("Could not send message to the client: {e}"),
                            );
                            clients.remove(&client);
                            core.client_gone(client);
                        }
                    }
                }
                Action::Run { job: id, resource } => {
                    let cmd = drbdadm();
                    log.log(
                        Level::Debug,
                        &format!(
                            "msg_start_outdate: command: {} outdate {resource}",
                            cmd.display()
                        ),
                    );
                    match Command::new(&cmd)
                        .args(["outdate", &resource])
                        .stdin(Stdio::null())
                        .spawn()
                    {
                        Ok(child) => {
                            job = Some(Job {
                                id,
                                child,
                                deadline: Instant::now() + COMMAND_TIMEOUT,
                            })
                        }
                        Err(e) => {
                            log.log(Level::Error, &format!("cannot run {}: {e}", cmd.display()));
                            core.command_done(api, id, CommandEnd::Failed);
                        }
                    }
                }
            }
        }
        // Wait for something to do.
        let mut fds = vec![
            libc::pollfd {
                fd: api.hb.raw_fd().unwrap_or(-1),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ids: Vec<ClientId> = clients.keys().copied().collect();
        for id in &ids {
            fds.push(libc::pollfd {
                fd: clients[id].stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let timeout = if job.is_some() { 50 } else { 1000 };
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            continue; // EINTR: a signal; the loop looks at QUIT
        }
        api_ready = fds[0].revents != 0;
        if fds[1].revents != 0 {
            while let Ok((s, _)) = listener.accept() {
                if clients.len() >= MAX_CLIENTS || s.set_nonblocking(true).is_err() {
                    log.log(Level::Error, "too many outdater connections: one refused");
                    continue;
                }
                log.log(Level::Debug, "Connecting channel");
                clients.insert(next_client, Conn::new(s));
                next_client += 1;
            }
        }
        for (i, id) in ids.iter().enumerate() {
            if fds[i + 2].revents == 0 {
                continue;
            }
            let Some(c) = clients.get_mut(id) else {
                continue;
            };
            let (msgs, closed) = c.read_available();
            for m in msgs {
                core.client_message(api, *id, &m);
            }
            if closed {
                clients.remove(id);
                core.client_gone(*id);
            }
        }
    }
}

fn main() {
    std::process::exit(run());
}
