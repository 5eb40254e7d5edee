//! Child processes for the heartbeat daemon.
//!
//! - [`env`]: the `HA_*` environment the original daemon gives every script, and the extra
//!   variables of a harc run or of the resource-acquiring child.
pub mod env;
