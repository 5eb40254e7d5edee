//! The API server, sans-IO: bytes from clients in, bytes for clients and messages for the
//! cluster out. No sockets, no clock (time is passed in), no signals (process probes go
//! through [`Processes`]).
//!
//! # Driving it
//! - [`Server::handle_connect`] when a connection is accepted (with the peer's
//!   `SO_PEERCRED`); `false` means "close it" (too many clients).
//! - [`Server::handle_bytes`] with what was read; [`Server::handle_disconnect`] on EOF or a
//!   read/write error.
//! - [`Server::deliver`], [`Server::node_status_changed`], [`Server::link_status_changed`]
//!   with what the daemon processed (section 1.7 of LOCAL-INTERFACES).
//! - [`Server::handle_timeout`] at [`Server::poll_timeout`] (sign-on timeout, the 9 s audit
//!   of client pids).
//! - After each turn: [`Server::take_dirty`] / [`Server::output`] /
//!   [`Server::consume_output`] / [`Server::flushed`] to write, [`Server::poll_close`] /
//!   [`Server::forget`] for connections to close, [`Server::poll_send`] for messages to
//!   send to the cluster, [`Server::poll_log`] for log lines.
//!
//! Replies are computed from a [`ClusterView`] the daemon implements.
//!
//! # Behaviour (2.0.8's, with these choices)
//! - A failed sign-on is answered `result=badreq` with `info=<reason>` (3.0.6 does this;
//!   2.0.8 answered `OK` and closed), followed for a named client by its
//!   `hbapi-clstat st=leave` notice, then the connection is closed.
//! - A first message that is not a sign-on, a broken frame (bad magic, length over
//!   [`Config::max_body`]) or a body that does not parse: log line and the connection is
//!   dropped (2.0.8 ignored a bad first message and kept the connection).
//! - A connection that has not signed on within [`Config::signon_timeout`] is dropped.
//! - A client whose unsent output, after the socket layer wrote what the kernel took, is
//!   over [`Config::max_queue_msgs`] messages (the original's 64, or its `set_sendqlen`) or
//!   [`Config::max_queue_bytes`] is removed (reason `sendfail`, as the original's full IPC
//!   queue).
//! - At most [`Config::max_clients`] connections; more are refused with a (rate-limited)
//!   log line.

mod auth;
mod cnum;
mod requests;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use hb_wire::Message;

pub use auth::{AuthEntry, AuthTable};
pub use cnum::{atoi, scan_hex, scan_long, scan_uint};

use crate::frame::{self, Decoder};
use crate::text;

/// Message classes (the original's "treatments"); a client gets a message when its filter
/// mask has the message's class bit.
pub const KEEPIT: u32 = 0x01;
pub const NOCHANGE: u32 = 0x02;
pub const DROPIT: u32 = 0x04;
pub const DUPLICATE: u32 = 0x08;
pub const APICALL: u32 = 0x10;
pub const PROTOCOL: u32 = 0x20;
/// Classes only root (or the daemon's uid) may ask for.
pub const DEBUG_CLASSES: u32 = DROPIT | DUPLICATE | APICALL | NOCHANGE | PROTOCOL;
pub const ALL_CLASSES: u32 = DEBUG_CLASSES | KEEPIT;
/// The version `getparm hbversion` answers when the view has none.
pub const HB_VERSION: &str = "2.0.8";
/// The most messages `set_sendqlen` may allow to wait for a client.
pub const MAX_SENDQLEN: usize = 1024;

/// A connection, named by the socket layer (its slot). Unique among open connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub usize);

/// The peer's credentials from `SO_PEERCRED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creds {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// Node types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Normal,
    Ping,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Normal => "normal",
            NodeKind::Ping => "ping",
        }
    }
}

/// A node as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// As in the configuration (normal nodes lowercased).
    pub name: String,
    pub kind: NodeKind,
    /// `init`, `up`, `active`, `dead`; a ping node: `init`, `ping` or `dead`. The latest
    /// status, even if not yet announced.
    pub status: String,
    /// Default 100.
    pub weight: i32,
    /// Default empty.
    pub site: String,
}

/// A heartbeat link of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// The medium's interface (`eth1`); a ping node's one link is named like the node.
    pub name: String,
    /// `up` or `dead`.
    pub status: String,
}

/// What the daemon knows, as the API needs it.
pub trait ClusterView {
    /// This node's name (`node` of the sign-on reply, `src` of our notices).
    fn my_node(&self) -> String;
    /// Every configured node, normal and ping, in configuration order.
    fn nodes(&self) -> Vec<NodeInfo>;
    /// The links of `node` (exact name as in [`NodeInfo::name`]): for a normal node one per
    /// non-ping medium line, in configuration order (names may repeat); for a ping node
    /// its one link.
    fn links(&self, node: &str) -> Vec<LinkInfo>;
    /// `none`, `local`, `foreign`, `all` or `transition`; `None` when this daemon does not
    /// manage resources (`-M`).
    fn resource_status(&self) -> Option<String>;
    /// The recorded value of a parameter for `getparm` (ha-config's `HaCf::parameter`);
    /// `hbversion` falls back to [`HB_VERSION`].
    fn parameter(&self, name: &str) -> Option<String>;
    /// deadtime in ms (sign-on reply).
    fn deadtime_ms(&self) -> u64;
    /// keepalive in ms (sign-on reply).
    fn keepalive_ms(&self) -> u64;
    /// The syslog facility number the daemon logs to, -1 if none (sign-on reply).
    fn log_facility(&self) -> i32 {
        -1
    }
    /// A node's uuid (`getuuid`/`getnodename`).
    fn node_uuid(&self, _node: &str) -> Option<[u8; 16]> {
        None
    }
}

/// Process probes and signals (`kill(2)`), so that the core stays free of system calls.
pub trait Processes {
    /// Sends `sig` to `pid` (0 only probes); `false` when there is no such process.
    fn signal(&mut self, pid: i32, sig: i32) -> bool;
}

/// Severity of a log line (the log layer's).
pub use hb_log::Level;
use hb_log::LogLimiter;

/// Limits and settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Who may sign on.
    pub auth: AuthTable,
    /// The daemon's uid: clients with it (or root) may ask for the debug classes.
    pub daemon_uid: u32,
    /// Open connections at most (128).
    pub max_clients: usize,
    /// Unsent bytes a client may have waiting after a flush (256 KiB).
    pub max_queue_bytes: usize,
    /// Unsent messages a client may have waiting after a flush (64, the original's send
    /// queue length; a client's `set_sendqlen` changes its own, up to [`MAX_SENDQLEN`]).
    pub max_queue_msgs: usize,
    /// Largest message body a client may send (64 KiB).
    pub max_body: usize,
    /// A connection must sign on within this time (10 s).
    pub signon_timeout: Duration,
    /// How often the pids of clients are checked (9 s, as the original).
    pub audit_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            auth: AuthTable::default(),
            daemon_uid: 0,
            max_clients: 128,
            max_queue_bytes: 256 * 1024,
            max_queue_msgs: 64,
            max_body: frame::DEFAULT_MAX_BODY,
            signon_timeout: Duration::from_secs(10),
            audit_interval: Duration::from_secs(9),
        }
    }
}

/// A signed-on client.
#[derive(Clone, Debug)]
struct Reg {
    pid: i32,
    id: String,
    casual: bool,
    uid: u32,
    gen: u64,
    fmask: u32,
    signal: i32,
}

/// Bytes waiting to be written, with message boundaries.
#[derive(Debug, Default)]
struct OutQueue {
    buf: Vec<u8>,
    start: usize,
    ends: VecDeque<usize>,
}

impl OutQueue {
    fn push(&mut self, frame: &[u8]) {
        self.buf.extend_from_slice(frame);
        self.ends.push_back(self.buf.len());
    }

    fn data(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    fn bytes(&self) -> usize {
        self.buf.len() - self.start
    }

    fn msgs(&self) -> usize {
        self.ends.len()
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        while self.ends.front().is_some_and(|&e| e <= self.start) {
            self.ends.pop_front();
        }
        if self.start == self.buf.len() {
            self.clear();
        } else if self.start > 65536 && self.start > self.buf.len() / 2 {
            let s = self.start;
            self.buf.drain(..s);
            for e in self.ends.iter_mut() {
                *e -= s;
            }
            self.start = 0;
        }
    }

    fn clear(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.ends.clear();
    }
}

#[derive(Debug)]
struct Client {
    peer: Creds,
    connected: Instant,
    input: Decoder,
    reg: Option<Reg>,
    out: OutQueue,
    closing: bool,
    dirty: bool,
    max_msgs: usize,
}

/// What a caller may see of a connection (tests, status dumps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    pub conn: ClientId,
    pub peer: Creds,
    /// The client id once signed on (the pid in decimal for a casual client).
    pub client_id: Option<String>,
    pub casual: bool,
    pub fmask: u32,
    pub signal: i32,
    pub queued_bytes: usize,
    pub closing: bool,
}

/// The API server.
pub struct Server {
    cfg: Config,
    procs: Box<dyn Processes + Send>,
    clients: BTreeMap<usize, Client>,
    /// Signed-on connections, oldest first (the original's list is newest first: lookups
    /// and deliveries walk this backwards).
    order: Vec<usize>,
    generation: u64,
    send: VecDeque<Message>,
    logs: VecDeque<(Level, String)>,
    closing: VecDeque<usize>,
    next_audit: Option<Instant>,
    refused: LogLimiter,
}

impl Server {
    pub fn new(cfg: Config, procs: Box<dyn Processes + Send>) -> Server {
        Server {
            cfg,
            procs,
            clients: BTreeMap::new(),
            order: Vec::new(),
            generation: 0,
            send: VecDeque::new(),
            logs: VecDeque::new(),
            closing: VecDeque::new(),
            next_audit: None,
            refused: LogLimiter::new(Duration::from_secs(1)),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Replaces the apiauth table (on a configuration reload).
    pub fn set_auth(&mut self, auth: AuthTable) {
        self.cfg.auth = auth;
    }

    // ----- inputs -----

    /// A new connection. `false`: too many clients, close it (logged here).
    pub fn handle_connect(&mut self, now: Instant, id: ClientId, peer: Creds) -> bool {
        let open = self.clients.values().filter(|c| !c.closing).count();
        if open >= self.cfg.max_clients || self.clients.contains_key(&id.0) {
            self.refuse(now, peer);
            return false;
        }
        self.clients.insert(
            id.0,
            Client {
                peer,
                connected: now,
                input: Decoder::new(self.cfg.max_body),
                reg: None,
                out: OutQueue::default(),
                closing: false,
                dirty: false,
                max_msgs: self.cfg.max_queue_msgs,
            },
        );
        if self.next_audit.is_none() {
            self.next_audit = Some(now + self.cfg.audit_interval);
        }
        true
    }

    /// Logs a connection refused for lack of room: the first at once, then at most one
    /// line a second with the count of those not logged.
    pub fn refuse(&mut self, now: Instant, peer: Creds) {
        if let Some(unlogged) = self.refused.hit(now) {
            let more = match unlogged {
                0 => String::new(),
                n => format!(" ({n} more refused since the last message)"),
            };
            self.log(
                Level::Warn,
                format!(
                    "API: too many clients ({} connections): refusing a connection from pid {} uid {}{more}",
                    self.cfg.max_clients, peer.pid, peer.uid
                ),
            );
        }
    }

    /// Bytes read from a connection.
    pub fn handle_bytes(&mut self, view: &dyn ClusterView, id: ClientId, bytes: &[u8]) {
        match self.clients.get_mut(&id.0) {
            Some(c) if !c.closing => c.input.push(bytes),
            _ => return,
        }
        loop {
            let Some(c) = self.clients.get_mut(&id.0) else {
                return;
            };
            if c.closing {
                return;
            }
            match c.input.next_body() {
                Ok(None) => return,
                Err(e) => {
                    let who = self.who(id.0);
                    self.log(
                        Level::Warn,
                        format!("API: {who}: {e}; dropping the connection"),
                    );
                    self.remove(view, id.0, "badmsg", true);
                    return;
                }
                Ok(Some(body)) => match text::parse(&body) {
                    Err(e) => {
                        let who = self.who(id.0);
                        self.log(
                            Level::Warn,
                            format!("API: {who}: malformed message ({e}); dropping the connection"),
                        );
                        self.remove(view, id.0, "badmsg", true);
                        return;
                    }
                    Ok(msg) => self.process(view, id.0, msg),
                },
            }
        }
    }

    /// The connection is gone (EOF, or a read or write error): the client is removed
    /// (reason `EOF`) and forgotten. The socket layer closes its end itself.
    pub fn handle_disconnect(&mut self, view: &dyn ClusterView, id: ClientId) {
        if let Some(c) = self.clients.get(&id.0) {
            if !c.closing {
                let pending = c.input.pending();
                if pending > 0 {
                    let who = self.who(id.0);
                    self.log(
                        Level::Info,
                        format!(
                            "API: {who} went away in the middle of a message ({pending} bytes received)"
                        ),
                    );
                }
                self.remove(view, id.0, "EOF", true);
            }
        }
        self.forget(id);
    }

    /// Runs the sign-on timeout and the audit of client pids.
    pub fn handle_timeout(&mut self, view: &dyn ClusterView, now: Instant) {
        let late: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                !c.closing && c.reg.is_none() && now >= c.connected + self.cfg.signon_timeout
            })
            .map(|(&i, _)| i)
            .collect();
        for i in late {
            let who = self.who(i);
            self.log(
                Level::Warn,
                format!(
                    "API: {who} did not sign on within {} s; dropping the connection",
                    self.cfg.signon_timeout.as_secs()
                ),
            );
            self.remove(view, i, "signon timeout", true);
        }
        if self.next_audit.is_some_and(|t| now >= t) {
            for i in self.order.clone() {
                let Some(pid) = self
                    .clients
                    .get(&i)
                    .and_then(|c| c.reg.as_ref())
                    .map(|r| r.pid)
                else {
                    continue;
                };
                if !self.procs.signal(pid, 0) {
                    self.log(Level::Info, format!("api_audit_clients: client {pid} died"));
                    self.remove(view, i, "died-audit", true);
                }
            }
            self.next_audit = (!self.clients.is_empty()).then(|| now + self.cfg.audit_interval);
        }
    }

    /// When [`Server::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let signon = self
            .clients
            .values()
            .filter(|c| !c.closing && c.reg.is_none())
            .map(|c| c.connected + self.cfg.signon_timeout)
            .min();
        match (signon, self.next_audit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A cluster message the daemon processed (received, or its own, or one it generated),
    /// class `KEEPIT` (or `DROPIT` when its `dest` names another node). Do not pass
    /// heartbeats here: status changes go through [`Server::node_status_changed`].
    /// A `query-cstatus` for this node is answered (a `respond-cstatus` in
    /// [`Server::poll_send`]).
    pub fn deliver(&mut self, view: &dyn ClusterView, msg: &Message) {
        let me = view.my_node();
        let for_us = msg.get_bytes("dest").map_or(true, |d| d == me.as_bytes());
        if for_us && msg.msg_type() == Some("query-cstatus") {
            self.answer_query_cstatus(msg);
        }
        self.deliver_class(view, msg, if for_us { KEEPIT } else { DROPIT });
    }

    /// Delivers `msg` of `class` to the clients whose mask has it: when it has `to_id`,
    /// only to the newest client with that id; else to every client.
    pub fn deliver_class(&mut self, view: &dyn ClusterView, msg: &Message, class: u32) {
        let to_id = msg.get_bytes("to_id");
        let mut targets = Vec::new();
        for &i in self.order.iter().rev() {
            let Some(reg) = self
                .clients
                .get(&i)
                .filter(|c| !c.closing)
                .and_then(|c| c.reg.as_ref())
            else {
                continue;
            };
            if to_id.is_some_and(|t| t != reg.id.as_bytes()) {
                continue;
            }
            if reg.fmask & class != 0 {
                targets.push(i);
            }
            if to_id.is_some() {
                break;
            }
        }
        if targets.is_empty() {
            return;
        }
        let Some(f) = self.frame_of(msg) else {
            return;
        };
        for i in targets {
            self.send_frame(view, i, &f);
        }
    }

    /// A node's status changed: clients get `t=status|st=...|src=<node>` (`t=NS_st` with
    /// `info=ping` for a ping node), or for a death the original's generated notice
    /// `t=status|seq=1|ts=<hex>|src=<node>|st=dead` (plus `info=ping` for a ping node).
    /// `unix_now` is the wall clock in seconds (for `ts`).
    pub fn node_status_changed(
        &mut self,
        view: &dyn ClusterView,
        node: &str,
        status: &str,
        unix_now: u64,
    ) {
        let ping = view
            .nodes()
            .iter()
            .any(|n| n.name == node && n.kind == NodeKind::Ping);
        let ts = format!("{unix_now:x}");
        let mut m = Message::new();
        if status == "dead" {
            m.push_str("t", "status")
                .push_str("seq", "1")
                .push_str("ts", &ts)
                .push_str("src", node)
                .push_str("st", "dead");
            if ping {
                m.push_str("info", "ping");
            }
        } else if ping {
            m.push_str("t", "NS_st")
                .push_str("st", status)
                .push_str("info", "ping")
                .push_str("src", node)
                .push_str("ts", &ts);
        } else {
            m.push_str("t", "status")
                .push_str("st", status)
                .push_str("src", node)
                .push_str("ts", &ts);
        }
        self.deliver_class(view, &m, KEEPIT);
    }

    /// A link went up or down: clients get `t=ifstat|node=<node>|ifname=<link>|st=up|dead`.
    pub fn link_status_changed(
        &mut self,
        view: &dyn ClusterView,
        node: &str,
        link: &str,
        up: bool,
    ) {
        let m = text::msg(&[
            ("t", "ifstat"),
            ("node", node),
            ("ifname", link),
            ("st", if up { "up" } else { "dead" }),
        ]);
        self.deliver_class(view, &m, KEEPIT);
    }

    /// A process the daemon started (a `respawn` client) exited: its clients are removed
    /// (reason `died`).
    pub fn process_exited(&mut self, view: &dyn ClusterView, pid: i32) {
        let gone: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|i| {
                self.clients
                    .get(i)
                    .and_then(|c| c.reg.as_ref())
                    .is_some_and(|r| r.pid == pid)
            })
            .collect();
        for i in gone {
            self.remove(view, i, "died", true);
        }
    }

    // ----- outputs -----

    /// A message to send to the cluster like the daemon's own (the daemon adds `src`,
    /// `seq`, `hg`, `ts`, ... and processes it locally first, which brings it back through
    /// [`Server::deliver`]).
    pub fn poll_send(&mut self) -> Option<Message> {
        self.send.pop_front()
    }

    /// A log line.
    pub fn poll_log(&mut self) -> Option<(Level, String)> {
        self.logs.pop_front()
    }

    /// Adds a log line (for the socket layer).
    pub fn log(&mut self, level: Level, text: String) {
        // Bound the backlog if nobody drains it.
        if self.logs.len() < 10_000 {
            self.logs.push_back((level, text));
        }
    }

    /// Connections that got output since the last call.
    pub fn take_dirty(&mut self) -> Vec<ClientId> {
        let mut v = Vec::new();
        for (&i, c) in self.clients.iter_mut() {
            if c.dirty {
                c.dirty = false;
                v.push(ClientId(i));
            }
        }
        v
    }

    /// The bytes waiting for a connection.
    pub fn output(&self, id: ClientId) -> &[u8] {
        self.clients.get(&id.0).map(|c| c.out.data()).unwrap_or(&[])
    }

    /// `n` bytes of [`Server::output`] were written.
    pub fn consume_output(&mut self, id: ClientId, n: usize) {
        if let Some(c) = self.clients.get_mut(&id.0) {
            c.out.consume(n);
        }
    }

    /// The socket layer wrote what the kernel took: a client with too much left waiting
    /// is removed (`sendfail`).
    pub fn flushed(&mut self, view: &dyn ClusterView, id: ClientId) {
        let Some(c) = self.clients.get(&id.0) else {
            return;
        };
        if c.closing {
            return;
        }
        if c.out.msgs() > c.max_msgs || c.out.bytes() > self.cfg.max_queue_bytes {
            let (n, b, m) = (c.out.msgs(), c.out.bytes(), c.max_msgs);
            let who = self.who(id.0);
            self.log(
                Level::Warn,
                format!(
                    "API: {who} does not read its messages ({n} messages, {b} bytes waiting; at most {m} messages, {} bytes): removing it",
                    self.cfg.max_queue_bytes
                ),
            );
            self.remove(view, id.0, "sendfail", true);
        }
    }

    /// A connection to close now: write what [`Server::output`] still has if the socket
    /// takes it, close, then call [`Server::forget`].
    pub fn poll_close(&mut self) -> Option<ClientId> {
        while let Some(i) = self.closing.pop_front() {
            if self.clients.contains_key(&i) {
                return Some(ClientId(i));
            }
        }
        None
    }

    /// The connection is closed: drop everything about it.
    pub fn forget(&mut self, id: ClientId) {
        self.clients.remove(&id.0);
        self.order.retain(|&i| i != id.0);
    }

    /// Whether the connection is open and not being closed.
    pub fn is_open(&self, id: ClientId) -> bool {
        self.clients.get(&id.0).is_some_and(|c| !c.closing)
    }

    /// Open connections (closing ones included).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Every connection.
    pub fn clients(&self) -> Vec<ClientInfo> {
        self.clients
            .iter()
            .map(|(&i, c)| ClientInfo {
                conn: ClientId(i),
                peer: c.peer,
                client_id: c.reg.as_ref().map(|r| r.id.clone()),
                casual: c.reg.as_ref().is_some_and(|r| r.casual),
                fmask: c.reg.as_ref().map_or(0, |r| r.fmask),
                signal: c.reg.as_ref().map_or(0, |r| r.signal),
                queued_bytes: c.out.bytes() + c.input.pending(),
                closing: c.closing,
            })
            .collect()
    }

    /// Bytes held for all connections (input and output).
    pub fn buffered_bytes(&self) -> usize {
        self.clients
            .values()
            .map(|c| c.out.bytes() + c.input.pending())
            .sum()
    }

    // ----- internals -----

    fn who(&self, i: usize) -> String {
        match self.clients.get(&i) {
            Some(Client { reg: Some(r), .. }) if r.casual => {
                format!("casual client (pid {})", r.pid)
            }
            Some(Client { reg: Some(r), .. }) => format!("client {} (pid {})", r.id, r.pid),
            Some(c) => format!("connection from pid {} (uid {})", c.peer.pid, c.peer.uid),
            None => format!("connection {i}"),
        }
    }

    fn frame_of(&mut self, msg: &Message) -> Option<Vec<u8>> {
        match text::encode(msg) {
            Ok(body) if body.len() <= i32::MAX as usize => Some(frame::frame(&body)),
            Ok(_) => None,
            Err(e) => {
                self.log(
                    Level::Error,
                    format!(
                        "API: cannot pass a message to clients ({e}): {}",
                        text::one_line(msg)
                    ),
                );
                None
            }
        }
    }

    /// Queues a frame for a signed-on client and sends it its signal, as the original does
    /// after every message (signal 0 only checks that it lives).
    fn send_frame(&mut self, view: &dyn ClusterView, i: usize, f: &[u8]) {
        let hard_cap = self.cfg.max_queue_bytes.saturating_mul(4).max(f.len());
        let Some(c) = self.clients.get_mut(&i) else {
            return;
        };
        if c.closing {
            return;
        }
        if c.out.bytes() + f.len() > hard_cap {
            let who = self.who(i);
            self.log(
                Level::Warn,
                format!("API: {who}: output queue over {hard_cap} bytes: removing it"),
            );
            self.remove(view, i, "sendfail", true);
            return;
        }
        c.out.push(f);
        c.dirty = true;
        if let Some((pid, sig)) = c.reg.as_ref().map(|r| (r.pid, r.signal)) {
            if !self.procs.signal(pid, sig) {
                self.remove(view, i, "died", true);
            }
        }
    }

    fn reply(&mut self, view: &dyn ClusterView, i: usize, msg: &Message) {
        if let Some(f) = self.frame_of(msg) {
            self.send_frame(view, i, &f);
        }
    }

    fn notice(&self, st: &str, id: &str, src: &str, reason: &str, gen: u64) -> Message {
        let mut m = Message::new();
        m.push_str("t", "hbapi-clstat")
            .push_str("st", st)
            .push_str("from_id", id)
            .push_str("to_id", id)
            .push_str("src", src)
            .push_str("info", reason)
            .push_str("client_gen", gen.to_string());
        m
    }

    /// Removes a client: leave notice for a named one (to the client first unless its
    /// output is discarded, then to the cluster), and the connection is to be closed.
    fn remove(&mut self, view: &dyn ClusterView, i: usize, reason: &str, discard: bool) {
        let who = self.who(i);
        let Some(c) = self.clients.get_mut(&i) else {
            return;
        };
        if c.closing {
            return;
        }
        c.closing = true;
        if discard {
            c.out.clear();
        }
        let named = c
            .reg
            .as_ref()
            .filter(|r| !r.casual)
            .map(|r| (r.id.clone(), r.gen));
        let signed_on = c.reg.is_some();
        self.order.retain(|&x| x != i);
        self.closing.push_back(i);
        if signed_on {
            let level = if matches!(reason, "signoff" | "EOF") {
                Level::Debug
            } else {
                Level::Info
            };
            self.log(level, format!("API: removing {who}: {reason}"));
        }
        if let Some((id, gen)) = named {
            let n = self.notice("leave", &id, &view.my_node(), reason, gen);
            if !discard {
                if let (Some(f), Some(c)) = (self.frame_of(&n), self.clients.get_mut(&i)) {
                    c.out.push(&f);
                    c.dirty = true;
                }
            }
            self.send.push_back(n);
        }
    }

    fn process(&mut self, view: &dyn ClusterView, i: usize, msg: Message) {
        let watched = self
            .clients
            .values()
            .any(|c| !c.closing && c.reg.as_ref().is_some_and(|r| r.fmask & APICALL != 0));
        if watched {
            self.deliver_class(view, &msg, APICALL);
        }
        let signed_on = self.clients.get(&i).is_some_and(|c| c.reg.is_some());
        if signed_on {
            self.request(view, i, msg);
        } else {
            self.register(view, i, &msg);
        }
    }

    /// The newest signed-on client matching `pid` or `id` (the original's `find_client`).
    fn find_client(&self, id: Option<&str>, pid: Option<&str>) -> Option<usize> {
        let pid = pid.map(atoi);
        self.order.iter().rev().copied().find(|i| {
            self.clients
                .get(i)
                .and_then(|c| c.reg.as_ref())
                .is_some_and(|r| pid == Some(r.pid) || id.is_some_and(|x| x == r.id))
        })
    }

    fn register(&mut self, view: &dyn ClusterView, i: usize, msg: &Message) {
        let gen = self.generation;
        self.generation += 1;
        if msg.msg_type() != Some("hbapi-req") || msg.get("reqtype") != Some("signon") {
            let who = self.who(i);
            self.log(
                Level::Error,
                format!(
                    "api_process_registration_msg: bad message from {who} (not a sign-on: {}); dropping the connection",
                    text::one_line(msg)
                ),
            );
            self.remove(view, i, "badmsg", true);
            return;
        }
        let from_id = msg.get("from_id");
        let cpid = msg.get("pid");
        if from_id.is_none() && cpid.is_none() {
            let who = self.who(i);
            self.log(
                Level::Error,
                format!("api_process_registration_msg: no fromid in msg from {who}; dropping the connection"),
            );
            self.remove(view, i, "badmsg", true);
            return;
        }
        let mut reply = text::msg(&[("t", "hbapi-resp"), ("reqtype", "signon")]);
        let outcome = self.check_signon(i, msg, gen);
        match &outcome {
            Ok(_) => {
                reply.push_str("result", "OK");
            }
            Err((reason, _)) => {
                reply.push_str("info", reason).push_str("result", "badreq");
            }
        }
        reply
            .push_str("deadtime", format!("{:x}", view.deadtime_ms()))
            .push_str("keepalive", format!("{:x}", view.keepalive_ms()))
            .push_str("node", view.my_node())
            .push_str("logfacility", view.log_facility().to_string());
        match outcome {
            Ok(reg) => {
                let named = (!reg.casual).then(|| reg.id.clone());
                self.log(
                    Level::Debug,
                    format!(
                        "Signing on API client {} ({})",
                        reg.pid,
                        named.as_deref().unwrap_or("'casual'")
                    ),
                );
                if let Some(c) = self.clients.get_mut(&i) {
                    c.reg = Some(reg);
                }
                self.order.push(i);
                if let Some(id) = named {
                    let n = self.notice("join", &id, &view.my_node(), "signon", gen);
                    self.send.push_back(n);
                }
                self.reply(view, i, &reply);
            }
            Err((reason, notice_id)) => {
                if let Some(f) = self.frame_of(&reply) {
                    if let Some(c) = self.clients.get_mut(&i) {
                        c.out.push(&f);
                        c.dirty = true;
                    }
                }
                if let Some(id) = notice_id {
                    let n = self.notice("leave", &id, &view.my_node(), reason, gen);
                    if let (Some(f), Some(c)) = (self.frame_of(&n), self.clients.get_mut(&i)) {
                        c.out.push(&f);
                        c.dirty = true;
                    }
                    self.send.push_back(n);
                }
                self.remove(view, i, reason, false);
            }
        }
    }

    /// The original's sign-on checks, in its order. The error carries the reason and, for
    /// a client that is to get a leave notice, the id to put in it.
    fn check_signon(
        &mut self,
        i: usize,
        msg: &Message,
        gen: u64,
    ) -> Result<Reg, (&'static str, Option<String>)> {
        let Some(peer) = self.clients.get(&i).map(|c| c.peer) else {
            return Err(("EOF", None));
        };
        let from_id = msg.get("from_id");
        let cpid = msg.get("pid");
        let pid = cpid.map_or(0, atoi);
        if pid <= 0 || !self.procs.signal(pid, 0) {
            self.log(Level::Warn, format!("api_add_client: bad pid [{pid}]"));
            return Err(("bad pid", Some(String::new())));
        }
        if let Some(f) = from_id {
            if self.find_client(Some(f), None).is_some() {
                self.log(
                    Level::Warn,
                    format!(
                        "duplicate client add request [{f}] [{}]",
                        cpid.unwrap_or("(nullcpid)")
                    ),
                );
                return Err(("duplicate add request", Some(String::new())));
            }
        }
        let (id, casual) = match from_id {
            Some(f) => (f.to_string(), atoi(f) == pid),
            None => (pid.to_string(), true),
        };
        let notice_id = (!casual).then(|| id.clone());
        let cuid = msg.get("uid");
        let cgid = msg.get("gid");
        let (Some(luid), Some(lgid)) = (cuid.and_then(scan_long), cgid.and_then(scan_long)) else {
            self.log(
                Level::Error,
                format!(
                    "Client user/group id is incorrect [{}] [{}] (client {id}, pid {pid})",
                    cuid.unwrap_or("<null>"),
                    cgid.unwrap_or("<null>")
                ),
            );
            return Err(("invalid id info", notice_id));
        };
        let (uid, gid) = (luid as u32, lgid as u32);
        if uid != peer.uid || gid != peer.gid {
            self.log(
                Level::Warn,
                format!(
                    "Client [{id}] pid {pid} claims uid {uid} gid {gid} but is uid {} gid {}",
                    peer.uid, peer.gid
                ),
            );
            return Err(("incorrect/false credentials", notice_id));
        }
        let entry = if casual {
            self.cfg.auth.get("anon")
        } else {
            self.cfg
                .auth
                .get(&id)
                .or_else(|| self.cfg.auth.get("default"))
        };
        let reason = match entry {
            None if casual => Some("client failed authorization"),
            None => Some("no default client auth"),
            Some(e) if !e.allows(peer.uid, peer.gid) => Some("client failed authorization"),
            Some(_) if peer.pid > 0 && peer.pid != pid => {
                self.log(
                    Level::Info,
                    format!("PID mismatch: {pid} vs farside_pid: {}", peer.pid),
                );
                return Err(("pid mismatch", notice_id));
            }
            Some(_) => None,
        };
        if let Some(r) = reason {
            self.log(
                Level::Warn,
                format!("Client [{id}] pid {pid} failed authorization [{r}]"),
            );
            return Err((r, notice_id));
        }
        Ok(Reg {
            pid,
            id,
            casual,
            uid,
            gen,
            fmask: KEEPIT,
            signal: 0,
        })
    }

    fn answer_query_cstatus(&mut self, msg: &Message) {
        let (Some(cn), Some(from), Some(src)) = (msg.get("cn"), msg.get("from_id"), msg.get("src"))
        else {
            self.log(
                Level::Error,
                format!("HBDoMsg_T_QCSTATUS: bad query: {}", text::one_line(msg)),
            );
            return;
        };
        let online = self.find_client(Some(cn), None).is_some();
        let m = text::msg(&[
            ("t", "respond-cstatus"),
            ("dest", src),
            ("result", "OK"),
            ("cn", cn),
            ("to_id", from),
            ("cs", if online { "online" } else { "offline" }),
        ]);
        self.send.push_back(m);
    }
}

#[cfg(test)]
mod tests;
