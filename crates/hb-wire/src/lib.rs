//! heartbeat's wire format, sans-IO: bytes in, messages out, and back.
//!
//! # Messages
//! A message is an ordered list of named, typed fields ([`Message`], [`Field`], [`Value`]).
//! Names may repeat; order matters, because digests are computed over the fields in order.
//! Type numbers on the wire: 0 string, 1 binary, 2 nested message, 3 list of strings,
//! 4 compressed bytes (kept opaque). v1 traffic uses only strings and binary UUIDs.
//!
//! # Two wire forms
//! One message per UDP datagram, in one of two forms told apart by the first four bytes.
//!
//! *Classic* ([`classic`]), heartbeat 2.0.8's default: a text block
//! `>>>\n` … `<<<\n` with one `name=value` line per field (non-string fields carry a
//! `(T)` prefix before the name, binary values are base64), then a NUL. There is no length
//! framing; the last line before `<<<` is `auth=IDX DIGEST`, a digest over the lines of all
//! other fields. The receiver checks it with **the method and key of index IDX** in its
//! own authkeys.
//!
//! *Netstring* ([`netstring`]): `###\n`, one `LEN:(T)name=value,` per field with raw values,
//! `%%%\n`, then a trailer netstring `LEN:IDX DIGEST,` whose digest covers every byte
//! from `###\n` through `%%%\n`. 2.0.8 sends this with `msgfmt netstring` (no inner `auth`
//! field); 3.0.6 always sends it, with the inner `auth` field as well. The receiver checks
//! only the trailer, with **the method of index IDX but its own active key** — a quirk of
//! the original that we keep, so that we refuse exactly what it refuses. An inner `auth`
//! field in a netstring message is an ordinary field: kept, not checked.
//!
//! # Digests ([`auth`])
//! `crc` (CRC-32, polynomial 0x04C11DB7 MSB-first, init 0, inverted; hex without leading
//! zeros; no key), `md5` and `sha1` (HMAC, lowercase hex). Compared as strings.
//!
//! # Robustness
//! Decoding never panics and never recurses without bound: datagrams above
//! [`MAX_DATAGRAM`] bytes, messages with more than [`MAX_FIELDS`] fields or nested deeper
//! than [`MAX_DEPTH`] are refused; every malformation is a typed [`DecodeError`] of a
//! [`DropKind`] (the daemon rate-limits its log lines with `hb_log::LogLimiter`).
//!
//! # The `auth` field
//! [`decode`] keeps the inner `auth` field in the returned message in both forms (the core
//! ignores it). [`encode`] ignores any top-level `auth` field of the message it is given and
//! writes a fresh one where the chosen form has one.

pub mod auth;
mod base64;
pub mod classic;
mod common;
mod error;
mod message;
pub mod netstring;

pub use auth::{AuthMethod, KeyRing, KeyRingError};
pub use error::{printable, DecodeError, DropKind, EncodeError};
pub use message::{Field, Message, Value};

/// Largest datagram [`decode`] looks at (64 KiB); larger ones are refused unparsed.
pub const MAX_DATAGRAM: usize = 65536;
/// Largest datagram [`encode`] produces (the most a UDP/IPv4 datagram can carry).
pub const MAX_SEND: usize = 65507;
/// Most fields a message may have, nested messages' fields included.
pub const MAX_FIELDS: usize = 1024;
/// Deepest nesting of struct fields (as the original's limit).
pub const MAX_DEPTH: usize = 16;

/// The form a datagram was received in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireForm {
    Classic,
    Netstring,
}

/// The form to send in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SendForm {
    /// What 2.0.8 sends by default (`msgfmt classic`): classic text with the `auth` field
    /// last and a trailing NUL. As in 2.0.8, a message with a top-level struct or
    /// compressed field is sent as [`SendForm::Netstring306`] instead.
    #[default]
    Classic,
    /// What 2.0.8 sends with `msgfmt netstring`: netstring form and trailer, no inner `auth`.
    Netstring,
    /// What 3.0.6 sends: netstring form with the inner `auth` field last, and the trailer.
    Netstring306,
}

/// A decoded, authenticated message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The fields as received, the inner `auth` field included when present.
    pub msg: Message,
    pub form: WireForm,
    /// The authkeys index named by the verified digest.
    pub auth_index: u8,
}

/// Decodes and authenticates one datagram against `keys`.
pub fn decode(datagram: &[u8], keys: &KeyRing) -> Result<Decoded, DecodeError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(DecodeError::TooLarge {
            len: datagram.len(),
        });
    }
    if datagram.starts_with(classic::START) {
        classic::decode(datagram, keys)
    } else if datagram.starts_with(netstring::START) {
        netstring::decode(datagram, keys)
    } else {
        Err(DecodeError::BadMagic)
    }
}

/// Parses one datagram in either form **without** authenticating it: for packet dumps,
/// tests and fuzzing only. Never act on a message obtained this way; use [`decode`].
pub fn parse_unauthenticated(datagram: &[u8]) -> Result<(Message, WireForm), DecodeError> {
    parse_unauthenticated_max(datagram, MAX_DATAGRAM)
}

/// [`parse_unauthenticated`] for a message of at most `max` bytes instead of a datagram's
/// [`MAX_DATAGRAM`]: for a local channel (the client API allows 256 KiB, as the original).
pub fn parse_unauthenticated_max(
    datagram: &[u8],
    max: usize,
) -> Result<(Message, WireForm), DecodeError> {
    if datagram.starts_with(classic::START) {
        Ok((
            classic::parse_unauthenticated_max(datagram, max)?,
            WireForm::Classic,
        ))
    } else if datagram.starts_with(netstring::START) {
        Ok((
            netstring::parse_unauthenticated_max(datagram, max)?,
            WireForm::Netstring,
        ))
    } else if datagram.len() > max {
        Err(DecodeError::TooLarge {
            len: datagram.len(),
        })
    } else {
        Err(DecodeError::BadMagic)
    }
}

/// Encodes `msg` in `form`, signed with the active index and key of `keys`. Top-level
/// `auth` fields of `msg` are not copied; the form decides whether a fresh one is written.
pub fn encode(msg: &Message, keys: &KeyRing, form: SendForm) -> Result<Vec<u8>, EncodeError> {
    match form {
        SendForm::Classic if common::needs_netstring(msg) => netstring::encode(msg, keys, true),
        SendForm::Classic => classic::encode(msg, keys),
        SendForm::Netstring => netstring::encode(msg, keys, false),
        SendForm::Netstring306 => netstring::encode(msg, keys, true),
    }
}
