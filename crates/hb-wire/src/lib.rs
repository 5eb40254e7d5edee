//! heartbeat's wire format, sans-IO.
//!
//! A heartbeat message is an ordered list of fields ([`Message`]). On the wire it takes
//! one of two forms (see docs/PROTOCOL.md in the reference material, sections 1 and 2):
//! the classic `>>>`/`<<<` text form and the netstring form with its trailer.

mod message;

pub use message::{Field, Message, Value};
