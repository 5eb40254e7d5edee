//! The thin mio layer: the registration socket and its connections, around a
//! [`Server`].
//!
//! # In the daemon's loop
//! ```text
//! // once communications are up (our status active), as the original:
//! let (auth, warnings) = hb_api::sys::auth_table(&hacf.effective_apiauth());
//! let cfg = hb_api::proto::Config { auth, daemon_uid: geteuid(), ..Default::default() };
//! let mut api = ApiSocket::bind(Path::new(DEFAULT_PATH), Token(API_BASE), cfg)?; // exit 4 on error
//! api.register(poll.registry())?;
//!
//! // each event:
//! if api.owns(ev.token()) { api.on_event(poll.registry(), &view, ev, Instant::now()); }
//!
//! // what the core produced (Output::Delivered / NodeStatus / LinkStatus):
//! api.server_mut().deliver(&view, &msg);
//! api.server_mut().node_status_changed(&view, &node, &status, unix_seconds);
//! api.server_mut().link_status_changed(&view, &node, &link, up);
//!
//! // end of every turn (after the core's outputs are drained):
//! api.flush(poll.registry(), &view);
//! while let Some(out) = api.server_mut().poll_send(now) {
//!     // a message the daemon cannot send: api.server_mut().send_failed(&view, &out, why)
//!     node.handle_local_message(now, out.msg)
//! }
//! while let Some((level, line)) = api.server_mut().poll_log() { log(level, line) }
//! // poll timeout: also api.server().poll_timeout(); when due:
//! api.server_mut().handle_timeout(&view, now);
//! ```
//! Tokens used: `base` for the listener and `base+1 ..= base+max_clients` for
//! connections ([`ApiSocket::owns`]). Nothing here blocks: reads stop at `WouldBlock` or
//! after [`READ_BUDGET`] bytes per event (the connection is then re-armed so the loop comes
//! back to it), writes stop at `WouldBlock` (the rest waits in the server, under its
//! caps, with WRITABLE interest only while something waits). A connection whose client has
//! its share of messages waiting for the cluster is not read ([`Server::wants_input`])
//! until [`Server::take_resumed`] names it again.
//!
//! When the table is full, the server may name an idle connection to close for the
//! newcomer ([`Server::evict_for`]). The table is at most what the process's file
//! descriptor limit leaves room for (the soft limit is raised up to the hard one).

use std::fs;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mio::event::Event;
use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::proto::{ClientId, ClusterView, Config, Level, Server};
use crate::sys::{peer_creds, RealProcesses};

/// The socket of 2.0.8 (compiled into the users' client library).
pub const DEFAULT_PATH: &str = "/var/run/heartbeat/register";
/// The listen backlog: larger than the original's 10, so that a local user opening
/// connections in a loop (each refused or evicted at once) does not keep the queue full
/// and make other clients' connects fail (`EAGAIN` for a non-blocking connect, as the
/// original's client library makes). The kernel caps it at `net.core.somaxconn`.
pub const BACKLOG: i32 = 512;
/// Bytes read from one connection per event before the loop moves on.
pub const READ_BUDGET: usize = 256 * 1024;
/// Connections accepted per event before the loop moves on.
pub const ACCEPT_BUDGET: usize = 256;
/// File descriptors kept for everything else the daemon opens (media, pipes, files).
pub const RESERVED_FDS: u64 = 128;

const CHUNK: usize = 65536;

struct Conn {
    stream: UnixStream,
    writable: bool,
}

/// The registration socket with its connections.
pub struct ApiSocket {
    path: PathBuf,
    listener: UnixListener,
    base: usize,
    conns: Vec<Option<Conn>>,
    server: Server,
    buf: Vec<u8>,
}

/// Creates the listening socket as the original does: the directory if missing (0755),
/// unlink, bind, listen (backlog [`BACKLOG`]; the original's is 10), chmod 0777.
pub fn listen(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::DirBuilder::new().mode(0o755).create(dir)?;
        }
    }
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    s.bind(&SockAddr::unix(path)?)?;
    s.listen(BACKLOG)?;
    s.set_nonblocking(true)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o777))?;
    Ok(std::os::unix::net::UnixListener::from(OwnedFd::from(s)))
}

/// `send(2)` without SIGPIPE.
fn send(stream: &UnixStream, data: &[u8]) -> io::Result<usize> {
    // SAFETY: data is valid for reads of its length.
    let n = unsafe {
        libc::send(
            stream.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

impl ApiSocket {
    /// Listens at `path` (see [`listen`]) with a server using `cfg` and real process
    /// probes. `base` is the first of the tokens this socket uses.
    pub fn bind(path: &Path, base: Token, cfg: Config) -> io::Result<ApiSocket> {
        ApiSocket::with_server(path, base, Server::new(cfg, Box::new(RealProcesses)))
    }

    /// Same with a server of the caller's.
    pub fn with_server(path: &Path, base: Token, mut server: Server) -> io::Result<ApiSocket> {
        let listener = UnixListener::from_std(listen(path)?);
        let want = server.config().max_clients;
        let room =
            crate::sys::raise_nofile(want as u64 + RESERVED_FDS).saturating_sub(RESERVED_FDS);
        let slots = want.min(usize::try_from(room).unwrap_or(usize::MAX)).max(1);
        if slots < want {
            server.log(
                Level::Warn,
                format!(
                    "API: room for {slots} client connections only (open file limit); {want} wanted"
                ),
            );
            server.set_max_clients(slots);
        }
        Ok(ApiSocket {
            path: path.to_path_buf(),
            listener,
            base: base.0,
            conns: (0..slots).map(|_| None).collect(),
            server,
            buf: vec![0; CHUNK],
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Registers the listener (READABLE) with `registry`.
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        registry.register(&mut self.listener, Token(self.base), Interest::READABLE)
    }

    /// Whether `token` is one of ours.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.base && token.0 - self.base <= self.conns.len()
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.conns.iter().filter(|c| c.is_some()).count()
    }

    /// Handles a mio event for one of our tokens.
    pub fn on_event(
        &mut self,
        registry: &Registry,
        view: &dyn ClusterView,
        ev: &Event,
        now: Instant,
    ) {
        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
        let writable = ev.is_writable() || ev.is_write_closed();
        self.ready(registry, view, ev.token(), readable, writable, now);
    }

    /// [`ApiSocket::on_event`] with the readiness spelled out.
    pub fn ready(
        &mut self,
        registry: &Registry,
        view: &dyn ClusterView,
        token: Token,
        readable: bool,
        writable: bool,
        now: Instant,
    ) {
        self.server.set_time(now);
        if token.0 == self.base {
            self.accept(registry, view, now);
            return;
        }
        let Some(slot) = token.0.checked_sub(self.base + 1) else {
            return;
        };
        let id = ClientId(slot);
        if writable && !self.write_out(registry, view, id) {
            return;
        }
        if readable {
            self.read_in(registry, view, id);
        }
    }

    fn accept(&mut self, registry: &Registry, view: &dyn ClusterView, now: Instant) {
        for n in 0.. {
            if n == ACCEPT_BUDGET {
                // More may wait: re-arm the listener so the loop comes back to it.
                let _ =
                    registry.reregister(&mut self.listener, Token(self.base), Interest::READABLE);
                return;
            }
            let mut stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: nothing to accept with; try again next event.
                    self.server.log_other(
                        Level::Error,
                        format!("API: accept on {}: {e}", self.path.display()),
                    );
                    return;
                }
            };
            let creds = match peer_creds(&stream) {
                Ok(c) => c,
                Err(e) => {
                    self.server.log_other(
                        Level::Warn,
                        format!("API: no peer credentials for a connection: {e}"),
                    );
                    continue;
                }
            };
            let slot = match self.conns.iter().position(Option::is_none) {
                Some(s) => s,
                None => match self.server.evict_for(view, now, creds) {
                    Some(victim) => {
                        self.close(registry, victim);
                        victim.0
                    }
                    None => {
                        self.server.refuse(now, creds);
                        continue;
                    }
                },
            };
            if !self.server.handle_connect(now, ClientId(slot), creds) {
                continue;
            }
            let token = Token(self.base + 1 + slot);
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                self.server
                    .log_other(Level::Error, format!("API: cannot watch a connection: {e}"));
                self.server.forget(ClientId(slot));
                continue;
            }
            if let Some(c) = self.conns.get_mut(slot) {
                *c = Some(Conn {
                    stream,
                    writable: false,
                });
            }
        }
    }

    fn read_in(&mut self, registry: &Registry, view: &dyn ClusterView, id: ClientId) {
        let mut total = 0;
        loop {
            if !self.server.wants_input(id) {
                // Held (its messages for the cluster wait): the rest stays in the socket
                // until the server resumes it (flush reads it then).
                return;
            }
            let Some(conn) = self.conns.get_mut(id.0).and_then(Option::as_mut) else {
                return;
            };
            match conn.stream.read(&mut self.buf) {
                Ok(0) => {
                    self.server.handle_disconnect(view, id);
                    self.close(registry, id);
                    return;
                }
                Ok(n) => {
                    self.server
                        .handle_bytes(view, id, self.buf.get(..n).unwrap_or(&[]));
                    total += n;
                    if !self.server.is_open(id) {
                        return;
                    }
                    if total >= READ_BUDGET {
                        let interest = if conn.writable {
                            Interest::READABLE | Interest::WRITABLE
                        } else {
                            Interest::READABLE
                        };
                        let token = Token(self.base + 1 + id.0);
                        let _ = registry.reregister(&mut conn.stream, token, interest);
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.server.log_other(
                        Level::Info,
                        format!("API: read error on connection {}: {e}", id.0),
                    );
                    self.server.handle_disconnect(view, id);
                    self.close(registry, id);
                    return;
                }
            }
        }
    }

    /// Writes what the server has for `id`; `false` when the connection broke (closed).
    fn write_out(&mut self, registry: &Registry, view: &dyn ClusterView, id: ClientId) -> bool {
        loop {
            let Some(conn) = self.conns.get(id.0).and_then(Option::as_ref) else {
                return false;
            };
            let data = self.server.output(id);
            if data.is_empty() {
                break;
            }
            match send(&conn.stream, data) {
                Ok(n) if n > 0 => self.server.consume_output(id, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(_) | Err(_) => {
                    // The peer is gone: what it sent before going is still processed
                    // (as the original does with a removed client's queued requests).
                    self.read_in(registry, view, id);
                    if self.conns.get(id.0).is_some_and(Option::is_some) {
                        self.server.handle_disconnect(view, id);
                        self.close(registry, id);
                    }
                    return false;
                }
            }
        }
        self.update_interest(registry, id);
        true
    }

    fn update_interest(&mut self, registry: &Registry, id: ClientId) {
        let want = !self.server.output(id).is_empty();
        let token = Token(self.base + 1 + id.0);
        if let Some(conn) = self.conns.get_mut(id.0).and_then(Option::as_mut) {
            if conn.writable != want {
                let interest = if want {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                if registry
                    .reregister(&mut conn.stream, token, interest)
                    .is_ok()
                {
                    conn.writable = want;
                }
            }
        }
    }

    fn close(&mut self, registry: &Registry, id: ClientId) {
        if let Some(mut conn) = self.conns.get_mut(id.0).and_then(Option::take) {
            let _ = registry.deregister(&mut conn.stream);
        }
        self.server.forget(id);
    }

    /// End of a turn: writes pending output, applies the server's queue limits, closes
    /// the connections the server is done with.
    pub fn flush(&mut self, registry: &Registry, view: &dyn ClusterView) {
        // Clients held while their messages waited for the cluster: what they sent is
        // processed, then their sockets are read again (edge-triggered: no event would
        // come for bytes already waiting).
        for id in self.server.take_resumed() {
            self.server.handle_bytes(view, id, &[]);
            self.read_in(registry, view, id);
        }
        // Removals can queue more (leave notices): a few rounds settle it.
        for _ in 0..4 {
            let dirty = self.server.take_dirty();
            let mut closes = Vec::new();
            while let Some(id) = self.server.poll_close() {
                closes.push(id);
            }
            if dirty.is_empty() && closes.is_empty() {
                return;
            }
            for id in dirty {
                if self.write_out(registry, view, id) {
                    self.server.flushed(view, id);
                }
            }
            while let Some(id) = self.server.poll_close() {
                closes.push(id);
            }
            for id in closes {
                // Last words (a reply, a leave notice) if the socket takes them.
                if let Some(conn) = self.conns.get(id.0).and_then(Option::as_ref) {
                    let data = self.server.output(id);
                    if !data.is_empty() {
                        let _ = send(&conn.stream, data);
                    }
                }
                self.close(registry, id);
            }
        }
    }
}
