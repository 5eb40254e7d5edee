//! hb-io: the thin I/O pieces of the heartbeat daemon, each self-contained and independent of the
//! membership core.
//!
//! - [`media`]: the heartbeat media: UDP sockets for `ucast`, `bcast` and `mcast` (socket2 + mio),
//!   and serial lines ([`serial`]: `serial`, `baud`; termios, UUCP lock, the classic framing).
//! - [`signals`]: blocked signals read through a signalfd registered with mio.
//! - [`state`]: the files of /var/lib/heartbeat (generation, uuid), the pid file, load average.
//! - [`daemon`]: daemonizing, and the `-k`, `-s`, `-r` helpers of the command line.
//! - [`realtime`]: real-time scheduling and locked memory (`realtime`, `rtprio`).
//! - [`watchdog`]: the `watchdog` device: opened at start, a byte per heartbeat, `V` at a clean stop.
//!
//! The logger is crate `hb-log`; users, groups, the node name and checksums are crate `hb-sys`.
//!
//! Nothing here panics on bad input from files or the network: every fallible step returns an error.

pub mod daemon;
pub mod fifo;
pub mod icmp;
pub mod media;
pub mod realtime;
pub mod serial;
pub mod signals;
pub mod state;
pub mod watchdog;
