//! heartbeat's protocol logic as sans-IO state machines.
//!
//! Nothing here touches a socket, a clock, a file or a process: time is passed in as
//! `now`, bytes come in through `handle_datagram`, and everything the daemon must do
//! comes out of `poll_transmit`, `poll_event` and `poll_timeout`. The daemon (crate
//! `hb-daemon`) drives it from a mio loop; the tests drive whole clusters in virtual time.
//!
//! - [`timers`]: every timing rule (dead times, the announced `dt`, start-up bump).
//! - [`membership`]: heartbeats, node and link states, sequencing, acks, retransmission.

pub mod arprefresh;
pub mod cfgsync;
pub mod checks;
pub mod fence;
pub mod history;
pub mod holder;
pub mod membership;
pub mod node;
pub mod pingnodes;
pub mod respawn;
pub mod rng;
pub mod seqtrack;
pub mod takeover;
pub mod timers;

pub use membership::{Membership, MembershipConfig, NodeStatus};
pub use node::{Node, Output};

use hb_wire::Message;

/// Severity of a log line (the log layer's pure type: the core only names levels).
pub use hb_log::Level;

/// What the core reports to the daemon.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A log line, with the original's wording where it has one.
    Log(Level, String),
    /// A node's status changed (`dead` included, which never goes on the wire).
    NodeStatus { node: String, status: String },
    /// A link of a node went up or down.
    LinkStatus {
        node: String,
        link: String,
        up: bool,
    },
    /// A node was declared dead.
    NodeDead { node: String },
    /// A node declared dead came back without restarting (same generation): we were
    /// partitioned from it, and both sides may now hold the same groups.
    PartitionReturn { node: String },
    /// A node came back with a higher generation.
    NodeRestarted { node: String },
    /// Our own timers ran late by `late` (longer than a dead time less a keepalive): the
    /// process was stopped or the machine paused. Peers may have declared us dead
    /// meanwhile; every peer gets a full dead time from now before it can be declared
    /// dead (its heartbeats may still be waiting in our sockets).
    Resumed { late: std::time::Duration },
    /// Our communication is up: we are `active`.
    CommUp,
    /// One of our own heartbeats (status messages) was sent and processed: the daemon feeds
    /// the watchdog (the original does it as it processes its own status message).
    OwnHeartbeat,
    /// A message for the upper layers (resources, clients), ours included.
    Message { from: String, msg: Message },
}
