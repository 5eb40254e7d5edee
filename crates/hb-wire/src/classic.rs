//! The classic `name=value` text form.
//!
//! ```text
//! >>>\n
//! name=value\n          string field (type 0): no prefix; a newline in the value is byte 0x13
//! (T)name=value\n       other types: binary/compressed in base64, struct as a nested
//!                       classic message, list packed as LEN:elem,LEN:elem,
//! auth=IDX DIGEST\n     the authentication, over the text of all other fields
//! <<<\n
//! \0                    (written by 2.0.8; optional for receivers)
//! ```
//!
//! A struct value is a whole nested classic message (with its own `>>>`/`<<<` lines) in
//! which every newline is replaced by one byte chosen by the nesting depth ([`nl_symbol`]),
//! so that it fits on one line of the enclosing message.
//!
//! Decoding keeps the `auth` field in the message (as the original does); encoding drops
//! any top-level `auth` field of the caller's message and writes a fresh one last.

use crate::auth::KeyRing;
use crate::base64;
use crate::common::{
    check_digest, is_auth, method_of, pack_list, parse_auth_token, unpack_list, Budget,
};
use crate::error::{printable, DecodeError, EncodeError};
use crate::{Decoded, Field, Message, Value, WireForm, MAX_DATAGRAM, MAX_DEPTH, MAX_SEND};

/// Start of a classic message.
pub const START: &[u8; 4] = b">>>\n";
/// End of a classic message.
pub const END: &[u8; 4] = b"<<<\n";
/// The byte standing for a newline inside a string value.
pub const STRING_NL: u8 = 0x13;

/// The byte standing for a newline inside a struct value written at nesting `depth`
/// (0 = a struct field of the top-level message). `None` at [`MAX_DEPTH`] and beyond.
pub fn nl_symbol(depth: usize) -> Option<u8> {
    const SYMS: [u8; MAX_DEPTH] = [
        20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 15, 16, 17, 18,
    ];
    SYMS.get(depth).copied()
}

/// Decodes and authenticates a classic datagram: the last top-level `auth` field names an
/// index; that index's method **and its own key** must reproduce the digest over the text
/// of every other field.
pub fn decode(datagram: &[u8], keys: &KeyRing) -> Result<Decoded, DecodeError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(DecodeError::TooLarge {
            len: datagram.len(),
        });
    }
    if !datagram.starts_with(START) {
        return Err(DecodeError::BadMagic);
    }
    let msg = parse(datagram, 0, &mut Budget::new())?;
    let token = match msg.fields.iter().rev().find(|f| is_auth(&f.name)) {
        None => return Err(DecodeError::NoAuth),
        Some(Field {
            value: Value::Str(v),
            ..
        }) => v,
        Some(_) => return Err(DecodeError::BadAuthToken(WireForm::Classic)),
    };
    let (idx, got) = parse_auth_token(token, WireForm::Classic)?;
    let method = method_of(keys, idx)?;
    check_digest(
        got,
        idx,
        method,
        None,
        &auth_input(&msg),
        WireForm::Classic,
        &msg,
    )?;
    Ok(Decoded {
        msg,
        form: WireForm::Classic,
        auth_index: idx,
    })
}

/// Parses a classic datagram **without** checking its `auth` field (for packet dumps,
/// tests and fuzzing; never act on a message obtained this way).
pub fn parse_unauthenticated(datagram: &[u8]) -> Result<Message, DecodeError> {
    parse_unauthenticated_max(datagram, MAX_DATAGRAM)
}

/// [`parse_unauthenticated`] for a message of at most `max` bytes (a local channel such as
/// the client API carries messages larger than a datagram).
pub fn parse_unauthenticated_max(datagram: &[u8], max: usize) -> Result<Message, DecodeError> {
    if datagram.len() > max {
        return Err(DecodeError::TooLarge {
            len: datagram.len(),
        });
    }
    if !datagram.starts_with(START) {
        return Err(DecodeError::BadMagic);
    }
    parse(datagram, 0, &mut Budget::new())
}

/// Parses one classic message that starts at `buf[0]` (`>>>\n`) at nesting `depth`.
/// Whatever follows its end (`<<<\n` or a NUL) is ignored.
fn parse(buf: &[u8], depth: usize, budget: &mut Budget) -> Result<Message, DecodeError> {
    let mut rest = buf
        .strip_prefix(START)
        .ok_or(DecodeError::BadFieldSyntax("nested message without >>>"))?;
    let mut msg = Message::new();
    loop {
        let skip = rest.iter().take_while(|&&b| b == b'\n').count();
        rest = rest.get(skip..).unwrap_or(&[]);
        match rest.first() {
            None => return Err(DecodeError::Truncated),
            Some(0) => break,
            Some(_) if rest.starts_with(END) => break,
            Some(_) => {}
        }
        // The line ends at a newline or a NUL, which must lie inside the datagram.
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == 0)
            .ok_or(DecodeError::Truncated)?;
        let (line, tail) = rest.split_at(end);
        budget.take_decode()?;
        msg.fields.push(parse_line(line, depth, budget)?);
        rest = tail;
    }
    Ok(msg)
}

fn parse_line(line: &[u8], depth: usize, budget: &mut Budget) -> Result<Field, DecodeError> {
    let eq = line
        .iter()
        .position(|&b| b == b'=')
        .ok_or(DecodeError::BadFieldSyntax("line doesn't contain '='"))?;
    let (raw_name, value) = line.split_at(eq);
    let value = value.get(1..).unwrap_or(&[]);
    let (ty, name) = match raw_name {
        [] => return Err(DecodeError::BadFieldSyntax("empty name")),
        [b'(', t, b')', name @ ..] => (*t, name),
        [b'(', ..] => return Err(DecodeError::BadFieldSyntax("no closing parenthesis")),
        name => (b'0', name),
    };
    if name.is_empty() {
        return Err(DecodeError::BadFieldSyntax("empty name"));
    }
    let value = match (ty, raw_name.first()) {
        (b'0', Some(b'(')) => return Err(DecodeError::BadFieldType(ty)),
        (b'0', _) => Value::Str(
            value
                .iter()
                .map(|&b| if b == STRING_NL { b'\n' } else { b })
                .collect(),
        ),
        (b'1', _) => Value::Bin(base64::decode(value).ok_or(DecodeError::BadBase64)?),
        (b'2', _) => {
            let sym = nl_symbol(depth).ok_or(DecodeError::TooDeep)?;
            let text: Vec<u8> = value
                .iter()
                .map(|&b| if b == sym { b'\n' } else { b })
                .collect();
            Value::Struct(parse(&text, depth + 1, budget)?)
        }
        (b'3', _) => Value::List(unpack_list(value)?),
        (b'4', _) => Value::Compressed(base64::decode(value).ok_or(DecodeError::BadBase64)?),
        _ => return Err(DecodeError::BadFieldType(ty)),
    };
    Ok(Field {
        name: name.to_vec(),
        value,
    })
}

/// The text the inner `auth` digest is computed over: the classic lines of every top-level
/// field except `auth`, without `>>>`/`<<<`. Never fails: bytes the classic form cannot
/// carry are written as they are (only a netstring sender with such values computes this,
/// and netstring receivers do not check it).
pub fn auth_input(msg: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    // Lenient writing only fails on nesting beyond MAX_DEPTH, which no decoded message has;
    // an over-deep caller message then gets a digest over the fields written so far.
    let _ = write_fields(msg, 0, false, true, &mut Budget::unlimited(), &mut out);
    out
}

/// Encodes `msg` in the classic form signed with the active key: `>>>\n`, the fields (any
/// top-level `auth` field left out), `auth=IDX DIGEST\n`, `<<<\n` and a NUL, as 2.0.8 does.
/// This always writes the classic form; [`crate::encode`] with [`crate::SendForm::Classic`]
/// switches to the netstring form for struct or compressed fields, as 2.0.8 does.
pub fn encode(msg: &Message, keys: &KeyRing) -> Result<Vec<u8>, EncodeError> {
    let mut budget = Budget::new();
    budget.take_encode()?; // the auth field
    let mut body = Vec::new();
    write_fields(msg, 0, true, true, &mut budget, &mut body)?;
    let token = keys.sign(&body);
    let mut out = Vec::with_capacity(body.len() + token.len() + 16);
    out.extend_from_slice(START);
    out.extend_from_slice(&body);
    out.extend_from_slice(b"auth=");
    out.extend_from_slice(token.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(END);
    out.push(0);
    if out.len() > MAX_SEND {
        return Err(EncodeError::TooLarge { len: out.len() });
    }
    Ok(out)
}

/// Writes the classic lines of `msg`'s fields. `strict` refuses what the form cannot carry
/// unchanged; `skip_auth` leaves out fields named `auth` (top level only).
fn write_fields(
    msg: &Message,
    depth: usize,
    strict: bool,
    skip_auth: bool,
    budget: &mut Budget,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for f in &msg.fields {
        if skip_auth && is_auth(&f.name) {
            continue;
        }
        budget.take_encode()?;
        let name = &f.name;
        let bad_name = |why| EncodeError::BadName {
            name: printable(name),
            why,
        };
        let bad_value = |why| EncodeError::BadValue {
            name: printable(name),
            why,
        };
        if strict {
            if name.is_empty() {
                return Err(bad_name("empty name"));
            }
            if name.iter().any(|&b| b == b'=' || b == b'\n' || b == 0) {
                return Err(bad_name("'=', newline or NUL in name"));
            }
            if matches!(f.value, Value::Str(_)) && name.first() == Some(&b'(') {
                return Err(bad_name("string field name starting with '('"));
            }
        }
        let ty = f.value.type_num();
        if ty != 0 {
            out.extend_from_slice(&[b'(', b'0' + ty, b')']);
        }
        out.extend_from_slice(name);
        out.push(b'=');
        match &f.value {
            Value::Str(v) => {
                if strict && v.iter().any(|&b| b == STRING_NL || b == 0) {
                    return Err(bad_value("string with byte 0x13 or NUL"));
                }
                out.extend(v.iter().map(|&b| if b == b'\n' { STRING_NL } else { b }));
            }
            Value::Bin(v) | Value::Compressed(v) => out.extend_from_slice(&base64::encode(v)),
            Value::Struct(m) => {
                let sym = nl_symbol(depth).ok_or(EncodeError::TooDeep)?;
                let mut nested = Vec::new();
                nested.extend_from_slice(START);
                write_fields(m, depth + 1, strict, false, budget, &mut nested)?;
                nested.extend_from_slice(END);
                if strict && nested.contains(&sym) {
                    return Err(bad_value("nested message contains its newline symbol"));
                }
                out.extend(nested.iter().map(|&b| if b == b'\n' { sym } else { b }));
            }
            Value::List(items) => {
                if strict {
                    pack_list(name, items, true, out)?;
                } else {
                    for item in items {
                        out.extend_from_slice(item.len().to_string().as_bytes());
                        out.push(b':');
                        out.extend_from_slice(item);
                        out.push(b',');
                    }
                }
            }
        }
        out.push(b'\n');
    }
    Ok(())
}
