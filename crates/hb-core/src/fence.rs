//! Fencing (STONITH) as 2.0.8 does it, the decisions only: when a node declared dead may
//! still hold resources and a STONITH device is configured, the takeover machine
//! ([`crate::takeover`]) asks for a reset ([`crate::takeover::Action::Fence`]) instead of
//! taking the node's groups, and takes them only once the daemon reports the reset done
//! ([`crate::takeover::Takeover::fence_done`]).
//!
//! What 2.0.8 does (hb_resource.c: `hb_rsc_recover_dead_resources`, `Initiate_Reset`,
//! `StonithProcessDied`, `StonithStatProcessDied`; read for facts):
//! - a reset runs in a child; the child sends `t=stonith node=NODE result=OK|badhost|bad`
//!   to the cluster after every attempt;
//! - a reset that failed (any non-zero exit) is logged `STONITH of NODE failed.  Retrying...`
//!   and tried again 5 s later, for as long as it fails; the groups are never taken before a
//!   reset succeeded;
//! - after communication comes up, and then one hour after each check, the device's status
//!   is checked (`STONITH status operation failed.` / `This may mean that the STONITH device
//!   has failed!` when it fails);
//! - a `stonith` message from a peer (it reset a node, or found no need) is delivered to
//!   clients and rc.d scripts only: it changes nothing in the resource layer.
//!
//! Where we differ (the original would reset a node that is alive and well):
//! - a node heard again (declared dead, then its heartbeats came back) is not reset again:
//!   a retry that comes due while it is alive is dropped and logged. A reset already running
//!   is let finish; if it succeeded the node's groups are taken, as the original does.
//! - a node declared dead again while its reset runs or waits for a retry gets no second
//!   reset on top of it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A failed reset is tried again this much later (`StonithProcessDied`).
pub const RETRY: Duration = Duration::from_secs(5);
/// The device's status is checked again this much after each check.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(3600);

/// How a reset ended, as the `stonith` command's exit status tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FenceResult {
    /// Exit 0: the node was reset.
    Ok,
    /// `S_BADHOST`: the device cannot reset that node.
    BadHost,
    /// Anything else (the device failed, the command could not run, a signal).
    Failed,
}

impl FenceResult {
    /// The `result` field of the `stonith` message (T_STONITH_OK, _BADHOST, _BAD).
    pub fn word(self) -> &'static str {
        match self {
            FenceResult::Ok => "OK",
            FenceResult::BadHost => "badhost",
            FenceResult::Failed => "bad",
        }
    }

    /// From the exit status of `stonith ... -T reset NODE` (`None`: killed by a signal or
    /// not run at all).
    pub fn from_exit(code: Option<i32>) -> FenceResult {
        match code {
            Some(0) => FenceResult::Ok,
            // S_BADHOST of stonith.h.
            Some(4) => FenceResult::BadHost,
            _ => FenceResult::Failed,
        }
    }
}

/// Where the reset of one node stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reset {
    /// The daemon runs it.
    Running,
    /// It failed; the next attempt is due then.
    RetryAt(Instant),
}

/// The fencing state of one node's resource layer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fencing {
    /// A STONITH device is configured for this node.
    pub(crate) configured: bool,
    /// Resets in progress, by node.
    pub(crate) resets: BTreeMap<String, Reset>,
    /// The device's status check is running.
    pub(crate) status_running: bool,
    /// When the next status check is due.
    pub(crate) status_at: Option<Instant>,
}

impl Fencing {
    /// The earliest instant something is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let retries = self.resets.values().filter_map(|r| match r {
            Reset::RetryAt(t) => Some(*t),
            Reset::Running => None,
        });
        let status = if self.status_running {
            None
        } else {
            self.status_at
        };
        retries.chain(status).min()
    }

    /// Retries due at `now` (removed from the table; the caller decides on each).
    pub(crate) fn due_retries(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<String> = self
            .resets
            .iter()
            .filter(|(_, r)| matches!(r, Reset::RetryAt(t) if *t <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for n in &due {
            self.resets.remove(n);
        }
        due
    }

    /// Whether the status check is due at `now` (and marks it running).
    pub(crate) fn status_due(&mut self, now: Instant) -> bool {
        if self.configured && !self.status_running && self.status_at.is_some_and(|t| t <= now) {
            self.status_at = None;
            self.status_running = true;
            return true;
        }
        false
    }
}
