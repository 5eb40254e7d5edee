//! heartbeat's client API (the "hbclient" protocol of heartbeat 2.0.8) and `cl_status`.
//!
//! Modules:
//! - [`frame`] and [`text`]: the bytes on the socket (8-byte header, classic text + NUL).
//! - [`proto`]: the server, sans-IO ([`proto::Server`]), answering from a
//!   [`proto::ClusterView`] the daemon implements.
//! - [`socket`]: the thin mio layer (the registration socket, connections, credentials).
//! - [`client`]: the client side, as the original's libhbclient behaves (for `cl_status`
//!   and tests).
//! - [`cl_status`]: the tool.

pub mod cl_status;
pub mod client;
pub mod frame;
pub mod proto;
pub mod socket;
pub mod sys;
pub mod text;
