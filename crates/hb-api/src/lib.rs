//! heartbeat's client API (the "hbclient" protocol of heartbeat 2.0.8) and `cl_status`.
//!
//! Clients (the users' cl_status, ipfail, any `ll_cluster_new("heartbeat")` program) connect
//! to one Unix stream socket, `/var/run/heartbeat/register`, sign on, ask questions (nodes,
//! links, statuses, parameters, resources), send messages to the same client on other nodes,
//! and receive cluster messages and node/link status changes. LOCAL-INTERFACES section 1
//! describes the protocol; this crate follows 2.0.8 (see [`proto`] for the few choices).
//!
//! Modules:
//! - [`frame`] and [`text`]: the bytes on the socket (8-byte header, classic text + NUL).
//! - [`proto`]: the server, sans-IO ([`proto::Server`]), answering from a
//!   [`proto::ClusterView`] the daemon implements.
//! - [`socket`]: the thin mio layer ([`socket::ApiSocket`]: the registration socket,
//!   connections, credentials).
//! - [`client`]: the client side, as the original's libhbclient behaves (for `cl_status`
//!   and tests).
//! - [`cl_status`]: the tool (binary `cl_status`).
//! - [`sys`]: `SO_PEERCRED`, `kill`, user/group lookups, syslog facility numbers.
//!
//! # Plugging the server into the daemon
//! 1. When communications first come up (the daemon sets its own status `active`, where
//!    the original creates the socket and starts its `respawn` clients):
//!    ```text
//!    let (auth, warnings) = hb_api::sys::auth_table(&hacf.effective_apiauth()); // log warnings
//!    let cfg = hb_api::proto::Config { auth, daemon_uid: geteuid(), ..Default::default() };
//!    let mut api = ApiSocket::bind(Path::new(hb_api::socket::DEFAULT_PATH), Token(API_BASE), cfg)?;
//!    api.register(poll.registry())?;
//!    ```
//!    `bind` creates the directory if missing (0755), unlinks the path, binds, listens
//!    (backlog [`socket::BACKLOG`], larger than the original's 10) and chmods the socket 0777. On error the original exits with status 4.
//!    Tokens used: `API_BASE` (listener) and `API_BASE+1 ..= API_BASE+max_clients`.
//! 2. Implement [`proto::ClusterView`] on a small struct borrowing the node and the
//!    configuration: `my_node`; `nodes` (normal nodes then ping nodes, in ha.cf order,
//!    with their current status: `active`/`up`/`init`/`dead`, ping nodes `ping`/`dead`;
//!    weight 100 and site "" unless set); `links` (per normal node one link per non-ping
//!    medium line, named by its interface, `up`/`dead`; a ping node's one link named like
//!    the node); `resource_status` (`none`/`local`/`foreign`/`all`, `transition` while
//!    resource work runs, `None` with `-M`); `parameter` (`HaCf::parameter`);
//!    `deadtime_ms`/`keepalive_ms`; `log_facility` (`hb_log::Facility::code` of
//!    `logfacility`, else -1); `node_uuid` (optional).
//! 3. In the event loop: `if api.owns(ev.token()) { api.on_event(registry, &view, ev, now) }`.
//! 4. Feed it what the core produced:
//!    - `Output::Delivered { msg, .. }` → `api.server_mut().deliver(&view, &msg)` (every
//!      processed message: received ones, our own looped back, `query-cstatus` included,
//!      which the server answers; not heartbeats);
//!    - `Output::NodeStatus { node, status }` →
//!      `api.server_mut().node_status_changed(&view, &node, &status, unix_seconds)`;
//!    - `Output::LinkStatus { node, link, up }` →
//!      `api.server_mut().link_status_changed(&view, &node, &link, up)`;
//!    - a `respawn` child exited → `api.server_mut().process_exited(&view, pid)`.
//! 5. At the end of every turn, after the core's outputs are drained:
//!    `api.flush(registry, &view)`; then send each `api.server_mut().poll_send(now)` (its
//!    `msg`) to the cluster as the daemon's own message (`node.handle_local_message(now,
//!    m)`: the membership adds `src`, `seq`, `hg`, `ts`, ... and processes it locally
//!    first, which brings it back through `deliver`; these are join/leave notices,
//!    clients' messages, `query-cstatus` and `respond-cstatus`) and drain it again; a
//!    message that cannot be sent (too big for a datagram once signed) goes back through
//!    `api.server_mut().send_failed(&view, &out, why)` before it is numbered; log each
//!    `api.server_mut().poll_log()`.
//! 6. Timers: include `api.server().poll_timeout()` in the poll timeout and call
//!    `api.server_mut().handle_timeout(&view, now)` when it is due (sign-on timeout, the
//!    9 s audit of client pids; the deadline also wakes the loop when the next paced
//!    message may go to the cluster).
//! 7. On SIGHUP with a new ha.cf: `api.server_mut().set_auth(...)`.
//!
//! The event loop never waits for a client: reads and writes are non-blocking with
//! per-event budgets, every client's queue is capped ([`proto::Config`]), and a client that
//! does not read, floods, sends garbage or dies is dropped with a (rate-limited) log line.
//! The socket is mode 0777, so the server assumes hostile local users: connections per
//! uid are limited, clients cannot send the daemon's own message types, and what they
//! give the cluster is paced (see [`proto`], "Hardening").
//!
//! # Installing cl_status
//! As the original (2.0.8 RPM: mode 2555, group haclient): the default `anon` entry of
//! apiauth admits casual clients by group `haclient` only, so `cl_status` must run setgid
//! `haclient` for users (root included) whose group is not haclient.

pub mod cl_status;
pub mod client;
pub mod frame;
pub mod ipfail;
pub mod proto;
pub mod socket;
pub mod sys;
pub mod text;
