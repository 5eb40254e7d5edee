//! heartbeat's one log layer, shared by the daemon, its tools and its agents.
//!
//! - [`Level`]: the eight syslog levels and the words 2.0.8 writes for them (pure: the
//!   sans-IO core logs with it).
//! - [`facility`]: the one table of syslog facility names.
//! - [`format`]: the 2.0.8 line formats (`ENTITY[PID]: YYYY/MM/DD_HH:MM:SS LEVEL: text`, the
//!   syslog message `[PID]: LEVEL: text`) and local-time stamps.
//! - [`sink`]: appending a line to a file, sending one to syslog (non-blocking).
//! - [`Logger`]: log file, debug file, syslog and stderr by level, as the daemon, ipfail and
//!   `ha_logger` write.
//! - [`LogLimiter`]: the one rate limiter for repeated lines.
//! - [`logd`]: 2.0.8's logging daemon in-process: `/etc/logd.cf` and where it sent lines.
//! - [`script`]: `ha_log` of the scripts' shell libraries, for programs that stand in for
//!   scripts.

pub mod facility;
pub mod format;
mod level;
pub mod limit;
pub mod logd;
mod logger;
pub mod script;
pub mod sink;

pub use facility::{parse_facility, Facility, UnknownFacility, FACILITIES};
pub use format::{format_line, syslog_text, timestamp};
pub use level::Level;
pub use limit::{suppressed_note, LogLimiter, DEFAULT_LOG_INTERVAL};
pub use logger::{Delivery, LogConfig, Logger, ENTITY};
pub use sink::{append_line, LOG_FILE_MODE};
