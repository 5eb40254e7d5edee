//! Child processes for the heartbeat daemon: the mechanics of running them, the environment
//! they get, and what the v1 ResourceManager does with resource scripts.
//!
//! - [`runner`]: [`Runner`] spawns jobs (harc, resource scripts, respawn clients) without
//!   blocking, kills a job's process group, and reports exits with captured output. It fits a
//!   single-threaded mio loop and holds no policy and no clock.
//! - [`resource`]: ResourceManager's rules for haresources resources (script and arguments,
//!   script lookup, the ownership test on `status` output) and [`resource::GroupOp`], a
//!   sans-IO state machine for `takegroup`/`givegroup` with a deadline on every step.
//! - [`env`]: the `HA_*` environment the original daemon gives every script, and the extra
//!   variables of a harc run or of the resource-acquiring child.
//!
//! This crate depends on no other crate of the project; it takes and returns plain values.

pub mod env;
pub mod resource;
pub mod runner;

pub use runner::{
    JobExit, JobId, JobSpec, JobStatus, Runner, DEFAULT_STDERR_CAP, DEFAULT_STDOUT_CAP,
};
