//! The `heartbeat` daemon: everything that touches the machine, around the sans-IO core.
//!
//! One thread, one `mio::Poll`: the media's UDP sockets, a signalfd (TERM, HUP, INT,
//! USR1, USR2, CHLD) and, with resources, the FIFO and the children's pipes. Each turn
//! reads the clock once, feeds what happened to the core, runs its due timers, then
//! drains its outputs (datagrams to every medium, log lines, jobs to run) and sleeps
//! until the core's next deadline.

pub mod api;
pub mod arpwatch;
pub mod cfgdigest;
pub mod cli;
pub mod fencer;
pub mod jobs;
pub mod pinger;
pub mod probes;
pub mod reload;
pub mod respawner;
pub mod run;
pub mod send_errors;
pub mod setup;
pub mod start;
pub mod status;

pub use start::main_with;

/// Exit statuses of the original.
pub mod exit {
    pub const OK: i32 = 0;
    pub const GENERIC: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const PERMISSION: i32 = 4;
    pub const NOT_CONFIGURED: i32 = 6;
}

/// The version we report for `-V` and `HA_hbversion`: the one we replace (scripts parse it).
pub const COMPAT_VERSION: &str = "2.0.8";

/// Who we are, for the places an administrator reads (the start-up log line, `heartbeat -s`):
/// this implementation and its own version.
pub const IMPLEMENTATION: &str = concat!("heartbeat-rs ", env!("CARGO_PKG_VERSION"));
