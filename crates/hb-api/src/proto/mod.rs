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
//!
//! # Hardening (any local user reaches the socket)
//! - At most [`Config::max_per_uid`] connections per uid (but for
//!   [`Config::uid_limit_exempt`], root): one user's idle connections cannot hold the
//!   table; when the table is full anyway, [`Server::evict_for`] names the oldest connection
//!   that has not signed on, of the uid holding the most connections, to make room.
//! - Before sign-on a frame may hold [`Config::max_signon_body`] bytes; after it,
//!   [`Config::max_body`] (256 KiB, the original's MAXMSG).
//! - Message types only a daemon originates ([`daemon_only`]) are refused from clients,
//!   with a `t=hbapi-error|error=refused` message to the client.
//! - What the clients give the cluster is paced ([`Config::cluster_rate`],
//!   [`Config::cluster_burst`]) and each client may have at most
//!   [`Config::client_send_queue`] messages waiting: beyond that its input is left unread
//!   ([`Server::wants_input`] is false) until the queue drains ([`Server::take_resumed`]).
//!   A message the daemon cannot send ([`Server::send_failed`], e.g. too big for a
//!   datagram) gets a `t=hbapi-error|error=toobig` message to its client.
//! - Every drop path logs through one rate limiter per kind ([`Server::drop_counts`]).

mod auth;
mod cnum;
mod limits;
mod requests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use hb_wire::Message;

pub use auth::{AuthEntry, AuthTable};
pub use cnum::{atoi, scan_hex, scan_long, scan_uint};
pub use limits::{daemon_only, DAEMON_ONLY};

use limits::{Limit, Limiters, Pacer};

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

/// Limits and settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Who may sign on.
    pub auth: AuthTable,
    /// The daemon's uid: clients with it (or root) may ask for the debug classes.
    pub daemon_uid: u32,
    /// Open connections at most (512; the socket layer lowers it to what the process's
    /// file descriptor limit allows).
    pub max_clients: usize,
    /// Open connections of one uid at most (64; 0: no limit).
    pub max_per_uid: usize,
    /// Uids without a per-uid limit (root).
    pub uid_limit_exempt: Vec<u32>,
    /// Unsent bytes a client may have waiting after a flush (256 KiB).
    pub max_queue_bytes: usize,
    /// Unsent messages a client may have waiting after a flush (64, the original's send
    /// queue length; a client's `set_sendqlen` changes its own, up to [`MAX_SENDQLEN`]).
    pub max_queue_msgs: usize,
    /// Largest message body a signed-on client may send (256 KiB, the original's MAXMSG).
    pub max_body: usize,
    /// Largest body before sign-on (4 KiB; a sign-on is a few hundred bytes).
    pub max_signon_body: usize,
    /// Messages the API as a whole sends to the cluster per second at most (50)...
    pub cluster_rate: usize,
    /// ... after a burst of at most this many (50).
    pub cluster_burst: usize,
    /// Messages one client may have waiting to go to the cluster (16); beyond that its
    /// input is not read until they went.
    pub client_send_queue: usize,
    /// Messages waiting to go to the cluster at most, all clients together (1024); beyond
    /// that no client's input is read.
    pub max_send_queue: usize,
    /// Minimum time between two log lines of one kind of drop (10 s).
    pub log_interval: Duration,
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
            max_clients: 512,
            max_per_uid: 64,
            uid_limit_exempt: vec![0],
            max_queue_bytes: 256 * 1024,
            max_queue_msgs: 64,
            max_body: frame::DEFAULT_MAX_BODY,
            max_signon_body: 4096,
            cluster_rate: 50,
            cluster_burst: 50,
            client_send_queue: 16,
            max_send_queue: 1024,
            log_interval: hb_log::DEFAULT_LOG_INTERVAL,
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
    /// Unique among all connections ever (slots are reused).
    serial: u64,
    peer: Creds,
    connected: Instant,
    input: Decoder,
    reg: Option<Reg>,
    out: OutQueue,
    closing: bool,
    dirty: bool,
    max_msgs: usize,
    /// Its messages waiting in the queue to the cluster.
    to_cluster: usize,
    /// Input left unread because it had its share waiting.
    stalled: bool,
}

/// Who gave a message to the cluster queue: a connection (by its serial, so a reused slot
/// is not mistaken for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientRef(u64);

/// A message for the cluster, from [`Server::poll_send`].
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub msg: Message,
    /// The client that sent it; `None` for the API's own (notices, answers to peers).
    pub from: Option<ClientRef>,
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
    send: VecDeque<Outgoing>,
    logs: VecDeque<(Level, String)>,
    closing: VecDeque<usize>,
    next_audit: Option<Instant>,
    /// The latest time the caller gave (for rate-limited lines of calls without one).
    now: Option<Instant>,
    limiters: Limiters,
    pacer: Pacer,
    next_serial: u64,
    resumed: Vec<usize>,
}

impl Server {
    pub fn new(cfg: Config, procs: Box<dyn Processes + Send>) -> Server {
        let (cfg_interval, cfg_rate, cfg_burst) =
            (cfg.log_interval, cfg.cluster_rate, cfg.cluster_burst);
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
            now: None,
            limiters: Limiters::new(cfg_interval),
            pacer: Pacer::new(cfg_rate, cfg_burst),
            next_serial: 0,
            resumed: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Replaces the apiauth table (on a configuration reload).
    pub fn set_auth(&mut self, auth: AuthTable) {
        self.cfg.auth = auth;
    }

    /// Lowers (or raises) the connection limit (the socket layer's table size).
    pub fn set_max_clients(&mut self, n: usize) {
        self.cfg.max_clients = n;
    }

    /// The current time, for the rate-limited lines of calls that take none
    /// ([`Server::handle_bytes`], ...). Every call that takes a time sets it too.
    pub fn set_time(&mut self, now: Instant) {
        self.now = Some(self.now.map_or(now, |t| t.max(now)));
    }

    fn clock(&self) -> Instant {
        self.now.unwrap_or_else(Instant::now)
    }

    /// Counters of every drop path (refused connections, evictions, refused messages...),
    /// by name, for status output.
    pub fn drop_counts(&self) -> Vec<(&'static str, u64)> {
        self.limiters.counts()
    }

    /// A rate-limited log line about anything else that can repeat (for the socket layer:
    /// accept errors, ...).
    pub fn log_other(&mut self, level: Level, text: String) {
        self.log_limited(Limit::Other, level, text);
    }

    /// A rate-limited log line of kind `kind`: the first at once, then at most one per
    /// [`Config::log_interval`] with the count of those not logged.
    fn log_limited(&mut self, kind: Limit, level: Level, text: String) {
        let now = self.clock();
        if let Some(n) = self.limiters.hit(kind, now) {
            self.log(level, format!("{text}{}", hb_log::suppressed_note(n)));
        }
    }

    // ----- inputs -----

    /// A new connection. `false`: too many clients, or its uid holds its share: close it
    /// (logged here).
    pub fn handle_connect(&mut self, now: Instant, id: ClientId, peer: Creds) -> bool {
        self.set_time(now);
        let open = self.clients.values().filter(|c| !c.closing).count();
        if open >= self.cfg.max_clients || self.clients.contains_key(&id.0) {
            self.refuse(now, peer);
            return false;
        }
        if self.cfg.max_per_uid > 0 && !self.cfg.uid_limit_exempt.contains(&peer.uid) {
            let held = self
                .clients
                .values()
                .filter(|c| !c.closing && c.peer.uid == peer.uid)
                .count();
            if held >= self.cfg.max_per_uid {
                self.log_limited(
                    Limit::Refused,
                    Level::Warn,
                    format!(
                        "API: uid {} already has {held} connections (at most {} per uid): refusing a connection from pid {}",
                        peer.uid, self.cfg.max_per_uid, peer.pid
                    ),
                );
                return false;
            }
        }
        self.next_serial += 1;
        self.clients.insert(
            id.0,
            Client {
                serial: self.next_serial,
                peer,
                connected: now,
                input: Decoder::new(self.cfg.max_signon_body.min(self.cfg.max_body)),
                reg: None,
                out: OutQueue::default(),
                closing: false,
                dirty: false,
                max_msgs: self.cfg.max_queue_msgs,
                to_cluster: 0,
                stalled: false,
            },
        );
        if self.next_audit.is_none() {
            self.next_audit = Some(now + self.cfg.audit_interval);
        }
        true
    }

    /// Logs a connection refused for lack of room (rate-limited: the first at once, then
    /// at most one line per [`Config::log_interval`] with the count of those not logged).
    pub fn refuse(&mut self, now: Instant, peer: Creds) {
        self.set_time(now);
        self.log_limited(
            Limit::Refused,
            Level::Warn,
            format!(
                "API: too many clients ({} connections): refusing a connection from pid {} uid {}",
                self.cfg.max_clients, peer.pid, peer.uid
            ),
        );
    }

    /// The table is full and `peer` connects: the connection to close to make room, if
    /// any. It is the oldest connection that has not signed on, of the uid holding the
    /// most connections (the idle ones of whoever holds the most go first); signed-on
    /// clients are never evicted. The victim is removed here (to be closed through
    /// [`Server::poll_close`], or at once by the caller, then [`Server::forget`]);
    /// `None`: refuse the newcomer ([`Server::refuse`]).
    pub fn evict_for(
        &mut self,
        view: &dyn ClusterView,
        now: Instant,
        peer: Creds,
    ) -> Option<ClientId> {
        self.set_time(now);
        let mut per_uid: HashMap<u32, usize> = HashMap::new();
        for c in self.clients.values().filter(|c| !c.closing) {
            *per_uid.entry(c.peer.uid).or_default() += 1;
        }
        let victim = self
            .clients
            .iter()
            .filter(|(_, c)| !c.closing && c.reg.is_none())
            .max_by(|(_, a), (_, b)| {
                let count = |u: &u32| per_uid.get(u).copied().unwrap_or(0);
                let (na, nb) = (count(&a.peer.uid), count(&b.peer.uid));
                na.cmp(&nb).then(b.connected.cmp(&a.connected))
            })
            .map(|(&i, c)| (i, c.peer));
        let (i, vpeer) = victim?;
        self.log_limited(
            Limit::Evicted,
            Level::Warn,
            format!(
                "API: connection table full ({} connections): closing an idle connection of pid {} uid {} (not signed on) for pid {} uid {}",
                self.cfg.max_clients, vpeer.pid, vpeer.uid, peer.pid, peer.uid
            ),
        );
        self.remove(view, i, "evicted", true);
        Some(ClientId(i))
    }

    /// Bytes read from a connection.
    pub fn handle_bytes(&mut self, view: &dyn ClusterView, id: ClientId, bytes: &[u8]) {
        match self.clients.get_mut(&id.0) {
            Some(c) if !c.closing => c.input.push(bytes),
            _ => return,
        }
        loop {
            let held = self.send_queue_full();
            let share = self.cfg.client_send_queue;
            let Some(c) = self.clients.get_mut(&id.0) else {
                return;
            };
            if c.closing {
                return;
            }
            if held || c.to_cluster >= share {
                // Its share of the queue to the cluster is waiting: the rest of its input
                // waits too (unread in the socket beyond this), until the queue drains.
                c.stalled = true;
                return;
            }
            match c.input.next_body() {
                Ok(None) => return,
                Err(e) => {
                    let who = self.who(id.0);
                    self.log_limited(
                        Limit::BadStream,
                        Level::Warn,
                        format!("API: {who}: {e}; dropping the connection"),
                    );
                    self.remove(view, id.0, "badmsg", true);
                    return;
                }
                Ok(Some(body)) => match text::parse(&body) {
                    Err(e) => {
                        let who = self.who(id.0);
                        self.log_limited(
                            Limit::BadStream,
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

    /// Whether the socket layer should read from the connection now: `false` while the
    /// client has its share of messages waiting to go to the cluster (its input is left in
    /// the socket: the client blocks, as with the original's flow control).
    pub fn wants_input(&self, id: ClientId) -> bool {
        let held = self.send_queue_full();
        self.clients.get(&id.0).is_some_and(|c| {
            !c.closing && !c.stalled && !held && c.to_cluster < self.cfg.client_send_queue
        })
    }

    /// Connections whose input was held and may go on: call [`Server::handle_bytes`] with
    /// no bytes (to process what is buffered), then read from the socket again if
    /// [`Server::wants_input`].
    pub fn take_resumed(&mut self) -> Vec<ClientId> {
        std::mem::take(&mut self.resumed)
            .into_iter()
            .filter(|i| self.clients.get(i).is_some_and(|c| !c.closing))
            .map(ClientId)
            .collect()
    }

    /// Messages waiting to go to the cluster.
    pub fn queued_to_cluster(&self) -> usize {
        self.send.len()
    }

    fn send_queue_full(&self) -> bool {
        self.send.len() >= self.cfg.max_send_queue
    }

    /// Queues a message for the cluster, on behalf of connection `from` (counted in its
    /// share) or of the API itself.
    fn queue_send(&mut self, from: Option<usize>, msg: Message) {
        let from = from.and_then(|i| {
            let c = self.clients.get_mut(&i)?;
            c.to_cluster += 1;
            Some(ClientRef(c.serial))
        });
        self.send.push_back(Outgoing { msg, from });
    }

    fn client_of(&self, r: ClientRef) -> Option<usize> {
        self.clients
            .iter()
            .find(|(_, c)| c.serial == r.0)
            .map(|(&i, _)| i)
    }

    /// The connection is gone (EOF, or a read or write error): the client is removed
    /// (reason `EOF`) and forgotten. The socket layer closes its end itself.
    pub fn handle_disconnect(&mut self, view: &dyn ClusterView, id: ClientId) {
        if let Some(c) = self.clients.get(&id.0) {
            if !c.closing {
                let pending = c.input.pending();
                if pending > 0 {
                    let who = self.who(id.0);
                    self.log_limited(
                        Limit::BadStream,
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
        self.set_time(now);
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
            self.log_limited(
                Limit::SignonTimeout,
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
                    self.log_limited(
                        Limit::Removed,
                        Level::Info,
                        format!("api_audit_clients: client {pid} died"),
                    );
                    self.remove(view, i, "died-audit", true);
                }
            }
            self.next_audit = (!self.clients.is_empty()).then(|| now + self.cfg.audit_interval);
        }
    }

    /// When [`Server::handle_timeout`] wants to run next, or the next paced message may
    /// go ([`Server::poll_send`]).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let signon = self
            .clients
            .values()
            .filter(|c| !c.closing && c.reg.is_none())
            .map(|c| c.connected + self.cfg.signon_timeout)
            .min();
        let paced = (!self.send.is_empty()).then(|| self.pacer.next_at(self.clock()));
        [signon, self.next_audit, paced].into_iter().flatten().min()
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
    /// [`Server::deliver`]), when its turn has come: the API's messages are paced
    /// ([`Config::cluster_rate`]); [`Server::poll_timeout`] says when the next one is due.
    /// A message the daemon cannot send goes back through [`Server::send_failed`].
    pub fn poll_send(&mut self, now: Instant) -> Option<Outgoing> {
        self.set_time(now);
        if self.send.is_empty() || !self.pacer.take(now) {
            return None;
        }
        let was_full = self.send_queue_full();
        let out = self.send.pop_front()?;
        let share = self.cfg.client_send_queue;
        if let Some(i) = out.from.and_then(|r| self.client_of(r)) {
            if let Some(c) = self.clients.get_mut(&i) {
                c.to_cluster = c.to_cluster.saturating_sub(1);
                if c.stalled && c.to_cluster < share {
                    c.stalled = false;
                    self.resumed.push(i);
                }
            }
        }
        if was_full && !self.send_queue_full() {
            for (&i, c) in self.clients.iter_mut() {
                if c.stalled && c.to_cluster < share {
                    c.stalled = false;
                    self.resumed.push(i);
                }
            }
        }
        Some(out)
    }

    /// The daemon could not send `out` (for example too big for a datagram once the
    /// membership's fields and the signature are added: `reason` says so); nothing was
    /// numbered or sent. Its client, if still there, gets `t=hbapi-error|error=toobig`.
    pub fn send_failed(&mut self, view: &dyn ClusterView, out: &Outgoing, reason: &str) {
        let t = out.msg.msg_type().unwrap_or("").to_string();
        let client = out.from.and_then(|r| self.client_of(r));
        let who = match client {
            Some(i) => self.who(i),
            None => "the API".to_string(),
        };
        self.log_limited(
            Limit::TooBig,
            Level::Error,
            format!("API: message of type '{t}' from {who} not sent: {reason}"),
        );
        if let Some(i) = client {
            self.client_error(view, i, "toobig", &t, reason);
        }
    }

    /// A `t=hbapi-error` message to client `i` about a message of type `t` it sent.
    /// (Not an `hbapi-resp`: client libraries take the next `hbapi-resp` as the answer to
    /// their next request; any other type is queued as an ordinary message.)
    fn client_error(&mut self, view: &dyn ClusterView, i: usize, error: &str, t: &str, info: &str) {
        let Some(id) = self
            .clients
            .get(&i)
            .and_then(|c| c.reg.as_ref())
            .map(|r| r.id.clone())
        else {
            return;
        };
        let m = text::msg(&[
            ("t", "hbapi-error"),
            ("error", error),
            ("msgtype", t),
            ("info", info),
            ("to_id", &id),
        ]);
        self.reply(view, i, &m);
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
            self.log_limited(
                Limit::SlowReader,
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

    /// The connection is closed: drop everything about it (its slot may be reused at once:
    /// nothing of it may stay, not even a pending close).
    pub fn forget(&mut self, id: ClientId) {
        self.clients.remove(&id.0);
        self.order.retain(|&i| i != id.0);
        self.closing.retain(|&i| i != id.0);
        self.resumed.retain(|&i| i != id.0);
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
                self.log_limited(
                    Limit::Other,
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
            self.log_limited(
                Limit::SlowReader,
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
            let text = format!("API: removing {who}: {reason}");
            if level == Level::Debug {
                self.log(level, text);
            } else {
                self.log_limited(Limit::Removed, level, text);
            }
        }
        if let Some((id, gen)) = named {
            let n = self.notice("leave", &id, &view.my_node(), reason, gen);
            if !discard {
                if let (Some(f), Some(c)) = (self.frame_of(&n), self.clients.get_mut(&i)) {
                    c.out.push(&f);
                    c.dirty = true;
                }
            }
            self.queue_send(None, n);
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
            self.log_limited(Limit::BadSignon,
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
            self.log_limited(Limit::BadSignon,
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
                if let Some(c) = self.clients.get_mut(&i) {
                    c.input.set_max_body(self.cfg.max_body);
                }
                if let Some(id) = named {
                    let n = self.notice("join", &id, &view.my_node(), "signon", gen);
                    self.queue_send(Some(i), n);
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
                    self.queue_send(None, n);
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
            self.log_limited(
                Limit::BadSignon,
                Level::Warn,
                format!("api_add_client: bad pid [{pid}]"),
            );
            return Err(("bad pid", Some(String::new())));
        }
        if let Some(f) = from_id {
            if self.find_client(Some(f), None).is_some() {
                self.log_limited(
                    Limit::BadSignon,
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
            self.log_limited(
                Limit::BadSignon,
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
            self.log_limited(
                Limit::BadSignon,
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
                self.log_limited(
                    Limit::BadSignon,
                    Level::Info,
                    format!("PID mismatch: {pid} vs farside_pid: {}", peer.pid),
                );
                return Err(("pid mismatch", notice_id));
            }
            Some(_) => None,
        };
        if let Some(r) = reason {
            self.log_limited(
                Limit::BadSignon,
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
            self.log_limited(
                Limit::Other,
                Level::Error,
                format!("HBDoMsg_T_QCSTATUS: bad query: {}", text::one_line(msg)),
            );
            return;
        };
        if self.send_queue_full() {
            self.log_limited(
                Limit::Other,
                Level::Warn,
                format!(
                    "API: {} messages waiting for the cluster: not answering the client status query of {src}",
                    self.send.len()
                ),
            );
            return;
        }
        let online = self.find_client(Some(cn), None).is_some();
        let m = text::msg(&[
            ("t", "respond-cstatus"),
            ("dest", src),
            ("result", "OK"),
            ("cn", cn),
            ("to_id", from),
            ("cs", if online { "online" } else { "offline" }),
        ]);
        self.queue_send(None, m);
    }
}

#[cfg(test)]
mod tests;
