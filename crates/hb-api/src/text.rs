//! The message text on the API socket: the classic `>>>`/`<<<` form without an `auth`
//! field, as the original's IPC layer writes it, followed by a NUL.
//!
//! Reading uses hb-wire's unauthenticated parser (it takes the classic and the netstring
//! form, as the original does). Writing is here because hb-wire's classic encoder always
//! signs: string fields as `name=value` (a newline in a value becomes byte 0x13, as the
//! original writes it), binary fields as `(1)name=<base64>`, nested messages as
//! `(2)name=...` with their newlines replaced by the depth's symbol, string lists as
//! `(3)name=LEN:elem,...`, compressed bytes as `(4)name=<base64>`.

use std::fmt;

use hb_wire::classic::{nl_symbol, END, START, STRING_NL};
use hb_wire::{Message, Value};

/// Why a message cannot be written on the socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A field name that is empty or holds `=`, a newline or a NUL.
    BadName(String),
    /// A value holding a NUL (or, for a string, byte 0x13), which the text form cannot carry.
    BadValue(String),
    /// Nested messages deeper than the form allows.
    TooDeep,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BadName(n) => write!(f, "field name {n:?} cannot be written"),
            EncodeError::BadValue(n) => write!(f, "value of field {n:?} cannot be written"),
            EncodeError::TooDeep => write!(f, "nested messages too deep"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// The text of `msg` (`>>>\n` ... `<<<\n`) followed by a NUL.
pub fn encode(msg: &Message) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64 + msg.fields.len() * 16);
    write_message(msg, 0, &mut out)?;
    out.push(0);
    Ok(out)
}

fn write_message(msg: &Message, depth: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.extend_from_slice(START);
    for f in &msg.fields {
        let name = &f.name;
        let shown = || String::from_utf8_lossy(name).into_owned();
        if name.is_empty()
            || name.iter().any(|&b| b == b'=' || b == b'\n' || b == 0)
            || (matches!(f.value, Value::Str(_)) && name.first() == Some(&b'('))
        {
            return Err(EncodeError::BadName(shown()));
        }
        let ty = f.value.type_num();
        if ty != 0 {
            out.extend_from_slice(&[b'(', b'0' + ty, b')']);
        }
        out.extend_from_slice(name);
        out.push(b'=');
        match &f.value {
            Value::Str(v) => {
                if v.iter().any(|&b| b == 0 || b == STRING_NL) {
                    return Err(EncodeError::BadValue(shown()));
                }
                out.extend(v.iter().map(|&b| if b == b'\n' { STRING_NL } else { b }));
            }
            Value::Bin(v) | Value::Compressed(v) => base64_into(v, out),
            Value::Struct(m) => {
                let sym = nl_symbol(depth).ok_or(EncodeError::TooDeep)?;
                let mut nested = Vec::new();
                write_message(m, depth + 1, &mut nested)?;
                if nested.contains(&sym) || nested.contains(&0) {
                    return Err(EncodeError::BadValue(shown()));
                }
                out.extend(nested.iter().map(|&b| if b == b'\n' { sym } else { b }));
            }
            Value::List(items) => {
                if items.is_empty()
                    || items
                        .iter()
                        .any(|i| i.is_empty() || i.iter().any(|&b| b == b'\n' || b == 0))
                {
                    return Err(EncodeError::BadValue(shown()));
                }
                for item in items {
                    out.extend_from_slice(item.len().to_string().as_bytes());
                    out.push(b':');
                    out.extend_from_slice(item);
                    out.push(b',');
                }
            }
        }
        out.push(b'\n');
    }
    out.extend_from_slice(END);
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, appended to `out`.
pub fn base64_into(data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sym = |shift: u32| B64[((n >> shift) & 63) as usize];
        out.push(sym(18));
        out.push(sym(12));
        out.push(if chunk.len() > 1 { sym(6) } else { b'=' });
        out.push(if chunk.len() > 2 { sym(0) } else { b'=' });
    }
}

/// Parses one message body (either form, NUL-terminated or not, up to
/// [`crate::frame::DEFAULT_MAX_BODY`] bytes), without authentication.
pub fn parse(body: &[u8]) -> Result<Message, hb_wire::DecodeError> {
    hb_wire::parse_unauthenticated_max(body, crate::frame::DEFAULT_MAX_BODY).map(|(m, _)| m)
}

/// A message written on one line with `|` between the fields (for log lines and tests).
pub fn one_line(msg: &Message) -> String {
    let mut s = String::new();
    for (i, f) in msg.fields.iter().enumerate() {
        if i > 0 {
            s.push('|');
        }
        if f.value.type_num() != 0 {
            s.push_str(&format!("({})", f.value.type_num()));
        }
        s.push_str(&String::from_utf8_lossy(&f.name));
        s.push('=');
        match &f.value {
            Value::Str(v) => s.push_str(&String::from_utf8_lossy(v)),
            Value::Bin(v) | Value::Compressed(v) => {
                let mut b = Vec::new();
                base64_into(v, &mut b);
                s.push_str(&String::from_utf8_lossy(&b));
            }
            Value::Struct(m) => {
                s.push('{');
                s.push_str(&one_line(m));
                s.push('}');
            }
            Value::List(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| String::from_utf8_lossy(i).into_owned())
                    .collect();
                s.push_str(&parts.join(","));
            }
        }
    }
    s
}

/// Builds a message from `(name, value)` string pairs, in order.
pub fn msg(fields: &[(&str, &str)]) -> Message {
    let mut m = Message::new();
    for (k, v) in fields {
        m.push_str(k, v);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_classic_text_with_a_nul() {
        let m = msg(&[
            ("t", "hbapi-resp"),
            ("reqtype", "getparm"),
            ("result", "OK"),
        ]);
        assert_eq!(
            encode(&m).unwrap(),
            b">>>\nt=hbapi-resp\nreqtype=getparm\nresult=OK\n<<<\n\0".to_vec()
        );
    }

    #[test]
    fn round_trips_every_field_type() {
        let mut inner = msg(&[("a", "1")]);
        inner.push_str("b", "x\ny");
        let mut m = msg(&[("t", "x"), ("empty", "")]);
        m.push_bin("srcuuid", [0u8, 1, 2, 250, 251, 252, 7]);
        m.set("sub", Value::Struct(inner));
        m.set("lst", Value::List(vec![b"one".to_vec(), b"two,2".to_vec()]));
        m.push_str("nl", "line1\nline2");
        let text = encode(&m).unwrap();
        assert_eq!(parse(&text).unwrap(), m);
    }

    #[test]
    fn base64_matches_the_standard() {
        let cases: [(&[u8], &str); 5] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (
                &[
                    0x02, 0xcc, 0x52, 0x2f, 0x2c, 0x17, 0x4c, 0x00, 0x95, 0xb0, 0x07, 0xc3, 0xf0,
                    0x85, 0x48, 0xa7,
                ],
                "AsxSLywXTACVsAfD8IVIpw==",
            ),
        ];
        for (data, want) in cases {
            let mut out = Vec::new();
            base64_into(data, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn refuses_what_the_text_cannot_carry() {
        let mut m = Message::new();
        m.push_str("a=b", "1");
        assert!(matches!(encode(&m), Err(EncodeError::BadName(_))));
        let mut m = Message::new();
        m.push_str("", "1");
        assert!(matches!(encode(&m), Err(EncodeError::BadName(_))));
        let mut m = Message::new();
        m.push_str("a", b"x\0y");
        assert!(matches!(encode(&m), Err(EncodeError::BadValue(_))));
        let mut m = Message::new();
        m.set("l", Value::List(vec![]));
        assert!(matches!(encode(&m), Err(EncodeError::BadValue(_))));
    }

    #[test]
    fn one_line_shows_fields_with_bars() {
        let mut m = msg(&[("t", "status"), ("st", "dead")]);
        m.push_bin("u", [0xffu8]);
        assert_eq!(one_line(&m), "t=status|st=dead|(1)u=/w==");
    }
}
