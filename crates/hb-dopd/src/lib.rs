//! DRBD's outdate-peer protection through heartbeat: `dopd` and `drbd-peer-outdater`,
//! ours, speaking the messages of heartbeat 2.0.8's (`tools/dopd.c`,
//! `tools/drbd-peer-outdater.c`; moved to `contrib/drbd-outdate-peer` in 3.0) so that
//! either side of a cluster may run the original.
//!
//! How it works. DRBD (`fencing resource-only` or `resource-and-stonith`) runs its
//! outdate-peer (later: fence-peer) handler, `drbd-peer-outdater`, when a Primary loses
//! its replication link, with `DRBD_PEER` and `DRBD_RESOURCE` in the environment. The
//! handler asks the local `dopd` (a heartbeat client started by `respawn hacluster
//! HALIB/dopd`) over a local socket; dopd sends the request to the dopd of the peer node
//! through heartbeat's links (which survive the loss of DRBD's own link); that dopd runs
//! `drbdadm outdate RESOURCE` and answers with the result; the handler exits with it, and
//! DRBD acts on the exit status:
//!
//! | status | meaning (DRBD's documentation of the handler) |
//! |---|---|
//! | 3 | the peer's disk was already Inconsistent (`drbdadm outdate` exited 5) |
//! | 4 | the peer's disk is now Outdated (`drbdadm outdate` exited 0) |
//! | 5 | the peer could not be reached (not a node, dead, no answer in time, no dopd here) |
//! | 6 | the peer refused: it is Primary (`drbdadm outdate` exited 17) |
//! | 20 | anything else: the peer was reached but not outdated (DRBD: "helper broken") |
//! | 21 | another handler already waits for the same resource |
//!
//! The messages ([`proto`]):
//! - handler → dopd (local socket, heartbeat's IPC framing): `t=outdater`,
//!   `src=drbd-peer-outdater`, `outdater_peer=PEER`, `outdater_res=RESOURCE`;
//! - dopd → handler: `t=outdater_rc`, `src=NODE`, `dop_value=N`;
//! - dopd → peer dopd (heartbeat client message, `dest=PEER`): `t=start_outdate`,
//!   `src=NODE`, `dop_res=RESOURCE`;
//! - peer dopd → dopd: `t=outdate_rc`, `dop_value=N`, `dop_res=RESOURCE`, `src=NODE`
//!   (2.0.8's dopd sends no `dop_res`; its answer goes to the oldest request to that
//!   node).
//!
//! Modules: [`proto`] (messages, the exit-code mapping), [`core`] (dopd's decisions,
//! sans-IO), [`outdater`] (the handler), [`ipc`] (the local socket).
//!
//! Where ours differs from 2.0.8's, deliberately (3.0's dopd made the same changes):
//! - `drbdadm outdate` failing otherwise than with 0, 5 or 17 answers 20, not 5: DRBD
//!   takes 5 for "peer unreachable" and, with an UpToDate disk, goes on as if the peer
//!   were outdated; the peer was reached and is *not* outdated.
//! - A peer that heartbeat reports dead answers 5 at once (2.0.8 sent the request anyway
//!   and the handler waited for its whole timeout, then exited 5).
//! - Several resources may wait at once (2.0.8: one handler at a time).
//! - A reply that is not a number makes the handler exit 20 (2.0.8: 5).
//! - The command is run directly, not through a shell, without blocking dopd, and is
//!   killed after 60 s; a resource name that is empty or starts with `-` is refused (20).

pub mod core;
pub mod ipc;
pub mod outdater;
pub mod proto;
