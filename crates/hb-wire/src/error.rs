//! Decode and encode errors. Display texts follow the original's log lines where it has one
//! (docs/PROTOCOL.md section 2.5), so admins can grep for the same words.

use std::fmt;

use crate::WireForm;

/// Longest received digest text quoted in an error (longer ones are cut).
const QUOTE_MAX: usize = 100;

/// Why a datagram was dropped. Every variant is a drop; none has side effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Larger than [`crate::MAX_DATAGRAM`]; refused before parsing.
    TooLarge { len: usize },
    /// Starts with neither `>>>\n` (classic) nor `###\n` (netstring).
    BadMagic,
    /// The datagram ends before the message's end marker, or a netstring runs past its end.
    Truncated,
    /// A netstring length that is not a plain decimal number followed by `:`.
    BadLength,
    /// A field type digit that is not allowed (classic: 1–4 after `(`; netstring: 0–4).
    /// Holds the byte found.
    BadFieldType(u8),
    /// A malformed field: no `=`, empty name, missing `(T)` parentheses, a netstring without
    /// its `,`, a bad string list, a nested message without its header.
    BadFieldSyntax(&'static str),
    /// A binary or compressed value in the classic form that is not valid base64.
    BadBase64,
    /// Struct fields nested deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// More than [`crate::MAX_FIELDS`] fields in total (nested messages included).
    TooManyFields,
    /// Classic form without an `auth` field.
    NoAuth,
    /// An `auth` field or trailer that is not `IDX DIGEST`.
    BadAuthToken(WireForm),
    /// The named authentication index is not configured here.
    UnknownKeyIndex(u8),
    /// The digest does not match. `got` is the received digest text (cut, control bytes
    /// escaped), `index` the key index it names, `node` the message's claimed `src`.
    ///
    /// The digest computed here is deliberately not kept: it is the valid signature of the
    /// sender's own bytes, and whoever could read it (in a log, say) could forge any
    /// message. The original logs it (`authstr=`); we never do.
    BadDigest {
        got: String,
        index: u8,
        form: WireForm,
        node: Option<String>,
    },
    /// Netstring form without a parseable trailer after `%%%\n`.
    NoTrailer,
}

/// Why something received was dropped or refused, without the details: what the drop
/// counters count by and what their log lines are rate-limited by. The first kinds are
/// the codec's ([`DecodeError::kind`]); the others are the protocol's (hb-core's
/// membership): every drop path of the receive side has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropKind {
    TooLarge,
    BadMagic,
    Truncated,
    BadLength,
    BadFieldType,
    BadFieldSyntax,
    BadBase64,
    TooDeep,
    TooManyFields,
    NoAuth,
    BadAuthToken,
    UnknownKeyIndex,
    BadDigest,
    NoTrailer,
    /// A message without `t`, `src` or a non-zero `ts`.
    MissingFields,
    /// A message from a node that is not configured.
    UnknownNode,
    /// A sequenced message without a valid `seq`.
    BadSeq,
    /// A message of an older generation than the sender's current one.
    OldGeneration,
    /// A sequence number already seen (or older than the window) from a node declared
    /// dead: a replay of its recorded packets.
    Replay,
    /// A retransmission request for numbers we never sent.
    RexmitAboveMax,
    /// A retransmission request we cannot serve (too old, not in the history).
    RexmitRefused,
    /// One of our own messages that cannot be encoded (too big, bad field).
    Unsendable,
}

impl DropKind {
    /// Every kind, in declaration order (`ALL[k.index()] == k`).
    pub const ALL: [DropKind; 22] = [
        DropKind::TooLarge,
        DropKind::BadMagic,
        DropKind::Truncated,
        DropKind::BadLength,
        DropKind::BadFieldType,
        DropKind::BadFieldSyntax,
        DropKind::BadBase64,
        DropKind::TooDeep,
        DropKind::TooManyFields,
        DropKind::NoAuth,
        DropKind::BadAuthToken,
        DropKind::UnknownKeyIndex,
        DropKind::BadDigest,
        DropKind::NoTrailer,
        DropKind::MissingFields,
        DropKind::UnknownNode,
        DropKind::BadSeq,
        DropKind::OldGeneration,
        DropKind::Replay,
        DropKind::RexmitAboveMax,
        DropKind::RexmitRefused,
        DropKind::Unsendable,
    ];

    /// Position in [`DropKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short stable name (for counters and status output).
    pub fn name(self) -> &'static str {
        match self {
            DropKind::TooLarge => "too-large",
            DropKind::BadMagic => "bad-magic",
            DropKind::Truncated => "truncated",
            DropKind::BadLength => "bad-length",
            DropKind::BadFieldType => "bad-field-type",
            DropKind::BadFieldSyntax => "bad-field-syntax",
            DropKind::BadBase64 => "bad-base64",
            DropKind::TooDeep => "too-deep",
            DropKind::TooManyFields => "too-many-fields",
            DropKind::NoAuth => "no-auth",
            DropKind::BadAuthToken => "bad-auth-token",
            DropKind::UnknownKeyIndex => "unknown-key-index",
            DropKind::BadDigest => "bad-digest",
            DropKind::NoTrailer => "no-trailer",
            DropKind::MissingFields => "missing-fields",
            DropKind::UnknownNode => "unknown-node",
            DropKind::BadSeq => "bad-seq",
            DropKind::OldGeneration => "old-generation",
            DropKind::Replay => "replay",
            DropKind::RexmitAboveMax => "rexmit-above-max",
            DropKind::RexmitRefused => "rexmit-refused",
            DropKind::Unsendable => "unsendable",
        }
    }
}

impl DecodeError {
    /// The kind of this error.
    pub fn kind(&self) -> DropKind {
        match self {
            DecodeError::TooLarge { .. } => DropKind::TooLarge,
            DecodeError::BadMagic => DropKind::BadMagic,
            DecodeError::Truncated => DropKind::Truncated,
            DecodeError::BadLength => DropKind::BadLength,
            DecodeError::BadFieldType(_) => DropKind::BadFieldType,
            DecodeError::BadFieldSyntax(_) => DropKind::BadFieldSyntax,
            DecodeError::BadBase64 => DropKind::BadBase64,
            DecodeError::TooDeep => DropKind::TooDeep,
            DecodeError::TooManyFields => DropKind::TooManyFields,
            DecodeError::NoAuth => DropKind::NoAuth,
            DecodeError::BadAuthToken(_) => DropKind::BadAuthToken,
            DecodeError::UnknownKeyIndex(_) => DropKind::UnknownKeyIndex,
            DecodeError::BadDigest { .. } => DropKind::BadDigest,
            DecodeError::NoTrailer => DropKind::NoTrailer,
        }
    }

    /// Whether the message was well formed but failed authentication.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self.kind(),
            DropKind::NoAuth
                | DropKind::BadAuthToken
                | DropKind::UnknownKeyIndex
                | DropKind::BadDigest
                | DropKind::NoTrailer
        )
    }
}

/// Received bytes as printable text for a log line: lossy UTF-8, cut at [`QUOTE_MAX`] chars,
/// control characters escaped (a newline in a forged field must not start a log line).
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for c in String::from_utf8_lossy(bytes).chars().take(QUOTE_MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge { len } => {
                write!(f, "datagram too large ({len} bytes), dropped")
            }
            DecodeError::BadMagic => f.write_str("datagram starts with neither >>> nor ###"),
            DecodeError::Truncated => f.write_str("truncated message (no end marker)"),
            DecodeError::BadLength => f.write_str("peel_netstring: Couldn't parse an int"),
            DecodeError::BadFieldType(t) => {
                write!(
                    f,
                    "ha_msg_addraw_ll(): wrong type [{}]",
                    char::from(*t).escape_default()
                )
            }
            DecodeError::BadFieldSyntax(why) => write!(f, "NV failure: {why}"),
            DecodeError::BadBase64 => f.write_str("base64 value could not be decoded"),
            DecodeError::TooDeep => f.write_str("convert(): MAXDEPTH exceeded"),
            DecodeError::TooManyFields => {
                write!(f, "message has more than {} fields", crate::MAX_FIELDS)
            }
            DecodeError::NoAuth => f.write_str("Bad/invalid auth token, authtoken=(nil)"),
            DecodeError::BadAuthToken(WireForm::Classic) => f.write_str("Bad/invalid auth token"),
            DecodeError::BadAuthToken(WireForm::Netstring) => {
                f.write_str("Bad/invalid netstring auth string")
            }
            DecodeError::UnknownKeyIndex(i) => {
                write!(f, "Invalid authentication [{i}] in message!")
            }
            // The original's words, without the digest computed here (see BadDigest).
            DecodeError::BadDigest {
                form: WireForm::Classic,
                node,
                index,
                got,
            } => write!(
                f,
                "string2msg_ll: node [{}] failed authentication (key index {index}, authtoken={got})",
                node.as_deref().unwrap_or("?")
            ),
            DecodeError::BadDigest {
                form: WireForm::Netstring,
                got,
                index,
                node,
            } => write!(
                f,
                "authtoken does not match, authtoken={got} (key index {index}, node [{}])",
                node.as_deref().unwrap_or("?")
            ),
            DecodeError::NoTrailer => f.write_str("peel_netstring() error in getting auth string"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A field name that the chosen form cannot carry (empty, or containing `=`; in the
    /// classic form also newline or NUL, or a string field name starting with `(`).
    BadName { name: String, why: &'static str },
    /// A value that the chosen form cannot carry unchanged (classic form: a string with
    /// NUL or byte 0x13; an empty string list or list element; ...).
    BadValue { name: String, why: &'static str },
    /// Struct fields nested deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// More than [`crate::MAX_FIELDS`] fields in total.
    TooManyFields,
    /// The datagram would exceed [`crate::MAX_SEND`] bytes.
    TooLarge { len: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BadName { name, why } => write!(f, "bad field name [{name}]: {why}"),
            EncodeError::BadValue { name, why } => write!(f, "bad value in field [{name}]: {why}"),
            EncodeError::TooDeep => f.write_str("message nested too deeply"),
            EncodeError::TooManyFields => {
                write!(f, "message has more than {} fields", crate::MAX_FIELDS)
            }
            EncodeError::TooLarge { len } => write!(f, "msg too big({len})"),
        }
    }
}

impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_indexed_in_order() {
        for (i, k) in DropKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        let mut names: Vec<_> = DropKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropKind::ALL.len());
    }

    #[test]
    fn texts_match_the_original() {
        assert_eq!(
            DecodeError::NoAuth.to_string(),
            "Bad/invalid auth token, authtoken=(nil)"
        );
        assert_eq!(
            DecodeError::UnknownKeyIndex(9).to_string(),
            "Invalid authentication [9] in message!"
        );
        let e = DecodeError::BadDigest {
            got: "X".into(),
            index: 3,
            form: WireForm::Netstring,
            node: None,
        };
        assert_eq!(
            e.to_string(),
            "authtoken does not match, authtoken=X (key index 3, node [?])"
        );
        let e = DecodeError::BadDigest {
            got: "X".into(),
            index: 1,
            form: WireForm::Classic,
            node: Some("b".into()),
        };
        assert_eq!(
            e.to_string(),
            "string2msg_ll: node [b] failed authentication (key index 1, authtoken=X)"
        );
        assert!(e.is_auth_failure());
        assert!(!DecodeError::Truncated.is_auth_failure());
    }
}
