//! One cluster node: the membership layer and the resource layer joined, still sans-IO.
//!
//! [`Node`] routes the membership's events (a node's status, its death, its restart,
//! communication up, resource messages) to the takeover machine, and the takeover's
//! messages back through the membership (which stamps, signs and sends them, then hands
//! them back to us as our own messages, as the original does). What is left for the
//! daemon comes out of [`Node::poll_output`]: datagrams, log lines, group jobs, rc.d
//! dispatch, and the end of a shutdown.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::holder::ProbeResult;
use crate::membership::{Membership, MembershipConfig, NodeStatus, SendError};
use crate::takeover::{Action, JobId, Takeover, TakeoverConfig};
use crate::{Event, Level};

/// How long heartbeats go on after our `shutdone`, so that a lost one can be
/// retransmitted (the original goes on for about 2 s).
pub const SHUTDOWN_LINGER: Duration = Duration::from_secs(2);

/// What the daemon must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A log line.
    Log(Level, String),
    /// Take a resource group (resources left to right); report with [`Node::group_done`].
    StartGroup { job: JobId, key: String },
    /// Give a resource group (right to left); report with [`Node::group_done`].
    StopGroup { job: JobId, key: String },
    /// Probe the IP addresses of a group before taking it; report with
    /// [`Node::probe_done`] (see [`crate::holder`]).
    ProbeGroup { job: JobId, key: String },
    /// Send gratuitous ARP for the IP addresses of a group that runs here.
    AnnounceGroup { key: String },
    /// A message was received or sent (ours included): the daemon runs rc.d scripts
    /// for its type and delivers it to API clients.
    Delivered { from: String, msg: Message },
    /// A node's status changed (`dead` included).
    NodeStatus { node: String, status: String },
    /// A link went up or down.
    LinkStatus {
        node: String,
        link: String,
        up: bool,
    },
    /// One of our heartbeats went out: feed the watchdog device.
    Heartbeat,
    /// Reset `node` through the STONITH device; report with [`Node::fence_done`].
    Fence { node: String },
    /// Check the STONITH device; report with [`Node::fence_status_done`].
    FenceStatus,
    /// The node may exit now (shutdown complete and the linger time over).
    Exit,
    /// Like `Exit`, but the daemon must start again at once (a new generation): the
    /// configuration changed (SIGHUP); the node gave up its groups first.
    Restart,
}

/// A node: membership plus (unless resources are not managed, `-M`) takeover.
pub struct Node {
    pub membership: Membership,
    pub takeover: Option<Takeover>,
    out: VecDeque<Output>,
    shutting_down: bool,
    exit_at: Option<Instant>,
    exited: bool,
    restart: bool,
}

impl Node {
    pub fn new(m: MembershipConfig, t: Option<TakeoverConfig>, now: Instant) -> Node {
        let mut n = Node {
            membership: Membership::new(m, now),
            takeover: t.map(|t| Takeover::new(t, now)),
            out: VecDeque::new(),
            shutting_down: false,
            exit_at: None,
            exited: false,
            restart: false,
        };
        n.pump(now);
        n
    }

    pub fn handle_datagram(&mut self, now: Instant, dev: &str, bytes: &[u8]) {
        self.handle_datagram_from(now, dev, None, bytes);
    }

    /// A datagram from address `from` (named in the log line when it is dropped).
    pub fn handle_datagram_from(
        &mut self,
        now: Instant,
        dev: &str,
        from: Option<std::net::SocketAddr>,
        bytes: &[u8],
    ) {
        self.membership.handle_datagram_from(now, dev, from, bytes);
        self.pump(now);
    }

    /// A message written into the FIFO (hb_standby, hb_takeover, scripts) or sent by an
    /// API client: sent to the cluster like our own messages. One without `t` is dropped,
    /// as the original does. A message that cannot be sent (too big for a datagram) is
    /// refused before it is numbered, logged (rate-limited), and the error returned for
    /// the caller to report to its client.
    pub fn handle_local_message(&mut self, now: Instant, msg: Message) -> Result<(), SendError> {
        if msg.msg_type().is_none_or(str::is_empty) {
            self.out.push_back(Output::Log(
                Level::Error,
                "Invalid message in send_cluster_msg".into(),
            ));
            return Ok(());
        }
        let r = self.membership.send(now, msg);
        self.pump(now);
        r
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.membership.poll_timeout().is_some_and(|t| t <= now) {
            self.membership.handle_timeout(now);
        }
        if let Some(t) = self.takeover.as_mut() {
            if t.poll_timeout().is_some_and(|d| d <= now) {
                t.handle_timeout(now);
            }
        }
        if self.exit_at.is_some_and(|t| t <= now) && !self.exited {
            self.exited = true;
            self.membership.stop();
            self.out.push_back(if self.restart {
                Output::Restart
            } else {
                Output::Exit
            });
        }
        self.pump(now);
    }

    /// Every ping node answered or was declared dead: communication may come up (see
    /// [`Membership::ping_nodes_known`]).
    pub fn ping_nodes_known(&mut self, now: Instant) {
        self.membership.ping_nodes_known(now);
        self.pump(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.exited {
            return None;
        }
        crate::timers::earliest([
            self.membership.poll_timeout(),
            self.takeover.as_ref().and_then(|t| t.poll_timeout()),
            self.exit_at,
        ])
    }

    /// A group job ended.
    pub fn group_done(&mut self, now: Instant, job: JobId, ok: bool) {
        if let Some(t) = self.takeover.as_mut() {
            t.group_done(now, job, ok);
        }
        self.pump(now);
    }

    /// A probe of [`Output::ProbeGroup`] ended.
    pub fn probe_done(&mut self, now: Instant, job: JobId, result: ProbeResult) {
        if let Some(t) = self.takeover.as_mut() {
            t.probe_done(now, job, result);
        }
        self.pump(now);
    }

    /// The reset of [`Output::Fence`] ended.
    pub fn fence_done(&mut self, now: Instant, node: &str, result: crate::fence::FenceResult) {
        if let Some(t) = self.takeover.as_mut() {
            t.fence_done(now, node, result);
        }
        self.pump(now);
    }

    /// The device check of [`Output::FenceStatus`] ended.
    pub fn fence_status_done(&mut self, now: Instant, ok: bool) {
        if let Some(t) = self.takeover.as_mut() {
            t.fence_status_done(now, ok);
        }
        self.pump(now);
    }

    /// Clean shutdown (SIGTERM, `heartbeat -k`): release our groups, tell the peers,
    /// then [`Output::Exit`].
    /// A stop always wins: asked during a restart in place (which shuts down first), it
    /// turns the restart into a stop.
    pub fn shutdown(&mut self, now: Instant) {
        if self.shutting_down {
            if self.restart && !self.exited {
                self.restart = false;
                self.out.push_back(Output::Log(
                    Level::Info,
                    "Heartbeat restart cancelled: shutting down instead.".into(),
                ));
            } else {
                self.out.push_back(Output::Log(
                    Level::Info,
                    "Heartbeat shutdown already underway.".into(),
                ));
            }
            return;
        }
        self.shutting_down = true;
        match self.takeover.as_mut() {
            // The takeover logs "Heartbeat shutdown in progress." itself.
            Some(t) => t.shutdown(now),
            None => {
                self.out.push_back(Output::Log(
                    Level::Info,
                    format!("Heartbeat shutdown in progress. ({})", std::process::id()),
                ));
                self.exit_at = Some(now);
            }
        }
        self.pump(now);
    }

    /// Shuts down like [`Node::shutdown`], then asks for a restart ([`Output::Restart`]).
    /// Ignored while a shutdown is underway: the stop wins.
    pub fn restart(&mut self, now: Instant) {
        if self.shutting_down {
            self.out.push_back(Output::Log(
                Level::Info,
                "Heartbeat shutdown already underway: no restart.".into(),
            ));
            return;
        }
        self.restart = true;
        self.shutdown(now);
    }

    /// Local hb_standby for a set (`all`, `local`, `foreign`, `failback`).
    pub fn standby(&mut self, now: Instant, set: &str) {
        if let Some(t) = self.takeover.as_mut() {
            t.standby(now, set);
        }
        self.pump(now);
    }

    /// Gives one group to `to` (see [`Takeover::give_group`]); false when nothing is done.
    pub fn give_group(&mut self, now: Instant, key: &str, to: &str) -> bool {
        let done = self
            .takeover
            .as_mut()
            .is_some_and(|t| t.give_group(now, key, to));
        self.pump(now);
        done
    }

    /// Asks for one group back (see [`Takeover::ask_group`]); false when nothing is done.
    pub fn ask_group(&mut self, now: Instant, key: &str) -> bool {
        let done = self
            .takeover
            .as_mut()
            .is_some_and(|t| t.ask_group(now, key));
        self.pump(now);
        done
    }

    /// Local hb_takeover for a set.
    pub fn takeover(&mut self, now: Instant, set: &str) {
        if let Some(t) = self.takeover.as_mut() {
            t.takeover(now, set);
        }
        self.pump(now);
    }

    pub fn shutting_down(&self) -> bool {
        self.shutting_down
    }

    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.membership.poll_transmit()
    }

    /// An extra copy of our last status for the network media only (see
    /// [`Membership::poll_status_copy`]).
    pub fn poll_status_copy(&mut self) -> Option<Vec<u8>> {
        self.membership.poll_status_copy()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Moves events and actions between the two layers until both are quiet.
    fn pump(&mut self, now: Instant) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(ev) = self.membership.poll_event() {
                progressed = true;
                self.on_event(now, ev);
            }
            if let Some(t) = self.takeover.as_mut() {
                let mut actions = Vec::new();
                while let Some(a) = t.poll_action() {
                    actions.push(a);
                }
                for a in actions {
                    progressed = true;
                    match a {
                        // A refusal (a message too big) is logged by the membership.
                        Action::Send(m) => {
                            let _ = self.membership.send(now, m);
                        }
                        Action::StartGroup { job, key } => {
                            self.out.push_back(Output::StartGroup { job, key })
                        }
                        Action::StopGroup { job, key } => {
                            self.out.push_back(Output::StopGroup { job, key })
                        }
                        Action::Log(l, s) => self.out.push_back(Output::Log(l, s)),
                        Action::Probe { job, key } => {
                            self.out.push_back(Output::ProbeGroup { job, key })
                        }
                        Action::Fence { node } => self.out.push_back(Output::Fence { node }),
                        Action::FenceStatus => self.out.push_back(Output::FenceStatus),
                        Action::Announce { key } => {
                            self.out.push_back(Output::AnnounceGroup { key })
                        }
                        Action::ShutdownComplete => {
                            if self.exit_at.is_none() {
                                self.exit_at = Some(now + SHUTDOWN_LINGER);
                            }
                        }
                    }
                }
            }
            if !progressed {
                return;
            }
        }
        self.out.push_back(Output::Log(
            Level::Error,
            "internal: event loop between layers did not settle".into(),
        ));
    }

    fn on_event(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Log(l, s) => self.out.push_back(Output::Log(l, s)),
            Event::NodeStatus { node, status } => {
                if let Some(t) = self.takeover.as_mut() {
                    t.node_status(now, &node, &status);
                }
                self.out.push_back(Output::NodeStatus { node, status });
            }
            Event::LinkStatus { node, link, up } => {
                self.out.push_back(Output::LinkStatus { node, link, up })
            }
            Event::OwnHeartbeat => self.out.push_back(Output::Heartbeat),
            Event::NodeDead { node } => {
                if let Some(t) = self.takeover.as_mut() {
                    t.node_dead(now, &node);
                }
            }
            Event::PartitionReturn { node } => {
                // The original restarts itself here when it manages resources: it gives
                // up everything, so nobody holds the groups for many seconds. We do not:
                // the takeover sorts out, group by group, what runs on both nodes (see
                // `holder`). Legacy mode gives the groups back through ip-request.
                if let Some(t) = self.takeover.as_mut() {
                    t.partition_return(now, &node);
                }
            }
            Event::Resumed { .. } => {
                // We were stopped: the peers may have declared us dead and taken our
                // groups. Behave as a node back from a partition towards each of them.
                let me = self.membership.name().to_string();
                let peers: Vec<String> = self
                    .membership
                    .peers()
                    .iter()
                    .filter(|p| p.name != me && p.status != NodeStatus::Dead)
                    .map(|p| p.name.clone())
                    .collect();
                if let Some(t) = self.takeover.as_mut() {
                    t.resumed(now, &peers);
                }
            }
            Event::NodeRestarted { node } => {
                if let Some(t) = self.takeover.as_mut() {
                    t.node_restarted(now, &node);
                }
            }
            Event::CommUp => {
                let me = self.membership.name().to_string();
                let alive: Vec<String> = self
                    .membership
                    .peers()
                    .iter()
                    .filter(|p| {
                        p.name != me && matches!(p.status, NodeStatus::Up | NodeStatus::Active)
                    })
                    .map(|p| p.name.clone())
                    .collect();
                if let Some(t) = self.takeover.as_mut() {
                    t.comm_up(now, &alive);
                }
            }
            Event::Message { from, msg } => {
                if let Some(t) = self.takeover.as_mut() {
                    t.message(now, &from, &msg);
                }
                self.out.push_back(Output::Delivered { from, msg });
            }
        }
    }
}
