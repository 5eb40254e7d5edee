//! The netstring form.
//!
//! ```text
//! ###\n
//! LEN:(T)name=value,    one netstring per field; T is the type digit (0 for strings too);
//! ...                   values are raw bytes; a struct value is a nested ###…%%% message
//! %%%\n                 (without trailer), a list value is packed LEN:elem,LEN:elem,
//! LEN:IDX DIGEST,       the trailer: digest over every byte from ###\n through %%%\n
//! ```
//!
//! The receiver checks the trailer with the method of index IDX but with the key of its
//! **own active index** (the original's behaviour, reproduced on purpose). An inner `auth`
//! field, if present, is an ordinary field here: kept and not checked.

use crate::auth::KeyRing;
use crate::classic;
use crate::common::{
    check_digest, is_auth, leading_decimal, method_of, pack_list, parse_auth_token, unpack_list,
    Budget,
};
use crate::error::{printable, DecodeError, EncodeError};
use crate::{Decoded, Field, Message, Value, WireForm, MAX_DATAGRAM, MAX_DEPTH, MAX_SEND};

/// Start of a netstring message.
pub const START: &[u8; 4] = b"###\n";
/// End of a netstring message (before the trailer).
pub const END: &[u8; 4] = b"%%%\n";

/// Decodes and authenticates a netstring datagram. Bytes after the trailer are ignored.
pub fn decode(datagram: &[u8], keys: &KeyRing) -> Result<Decoded, DecodeError> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(DecodeError::TooLarge {
            len: datagram.len(),
        });
    }
    if !datagram.starts_with(START) {
        return Err(DecodeError::BadMagic);
    }
    let (msg, signed_len) = parse(datagram, 0, &mut Budget::new())?;
    let signed = datagram.get(..signed_len).ok_or(DecodeError::Truncated)?;
    let after = datagram.get(signed_len..).unwrap_or(&[]);
    let (token, _) = peel(after).map_err(|_| DecodeError::NoTrailer)?;
    let (idx, got) = parse_auth_token(token, WireForm::Netstring)?;
    let method = method_of(keys, idx)?;
    check_digest(
        got,
        idx,
        method,
        Some(keys.active().key()),
        signed,
        WireForm::Netstring,
        &msg,
    )?;
    Ok(Decoded {
        msg,
        form: WireForm::Netstring,
        auth_index: idx,
    })
}

/// Parses a netstring datagram up to its `%%%\n` **without** looking at the trailer (for
/// packet dumps, tests and fuzzing; never act on a message obtained this way).
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
    Ok(parse(datagram, 0, &mut Budget::new())?.0)
}

/// Splits one netstring `LEN:data,` off the front of `buf`: returns `data` and the number
/// of bytes used. LEN must be decimal digits directly followed by `:`.
fn peel(buf: &[u8]) -> Result<(&[u8], usize), DecodeError> {
    if buf.is_empty() {
        return Err(DecodeError::Truncated);
    }
    let (len, digits) = leading_decimal(buf).ok_or(DecodeError::BadLength)?;
    match buf.get(digits) {
        None => return Err(DecodeError::Truncated),
        Some(b':') => {}
        Some(_) => return Err(DecodeError::BadLength),
    }
    let start = digits + 1;
    let end = start.checked_add(len).ok_or(DecodeError::BadLength)?;
    let data = buf.get(start..end).ok_or(DecodeError::Truncated)?;
    match buf.get(end) {
        None => Err(DecodeError::Truncated),
        Some(b',') => Ok((data, end + 1)),
        Some(_) => Err(DecodeError::BadFieldSyntax("netstring not followed by ','")),
    }
}

/// Parses a message starting at `buf[0]` (`###\n`) through its `%%%\n`; returns it and the
/// number of bytes used.
fn parse(buf: &[u8], depth: usize, budget: &mut Budget) -> Result<(Message, usize), DecodeError> {
    if !buf.starts_with(START) {
        return Err(DecodeError::BadFieldSyntax("nested message without ###"));
    }
    let mut pos = START.len();
    let mut msg = Message::new();
    loop {
        let rest = buf.get(pos..).unwrap_or(&[]);
        if rest.starts_with(END) {
            return Ok((msg, pos + END.len()));
        }
        let (content, used) = peel(rest)?;
        pos += used;
        budget.take_decode()?;
        msg.fields.push(parse_field(content, depth, budget)?);
    }
}

fn parse_field(content: &[u8], depth: usize, budget: &mut Budget) -> Result<Field, DecodeError> {
    let (ty, rest) = match content {
        [b'(', t, b')', rest @ ..] => (*t, rest),
        _ => return Err(DecodeError::BadFieldSyntax("field does not start with (T)")),
    };
    let eq = rest
        .iter()
        .position(|&b| b == b'=')
        .ok_or(DecodeError::BadFieldSyntax("line doesn't contain '='"))?;
    let (name, value) = rest.split_at(eq);
    let value = value.get(1..).unwrap_or(&[]);
    if name.is_empty() {
        return Err(DecodeError::BadFieldSyntax("empty name"));
    }
    let value = match ty {
        b'0' => Value::Str(value.to_vec()),
        b'1' => Value::Bin(value.to_vec()),
        b'2' => {
            if depth >= MAX_DEPTH {
                return Err(DecodeError::TooDeep);
            }
            Value::Struct(parse(value, depth + 1, budget)?.0)
        }
        b'3' => Value::List(unpack_list(value)?),
        b'4' => Value::Compressed(value.to_vec()),
        _ => return Err(DecodeError::BadFieldType(ty)),
    };
    Ok(Field {
        name: name.to_vec(),
        value,
    })
}

/// Encodes `msg` in the netstring form with a trailer signed by the active index and key.
/// Any top-level `auth` field of `msg` is left out; with `inner_auth` a fresh `auth` field
/// (over the classic text of the other fields, see [`classic::auth_input`]) is written last,
/// as 3.0.6 does; without it the output is what 2.0.8 sends with `msgfmt netstring`.
pub fn encode(msg: &Message, keys: &KeyRing, inner_auth: bool) -> Result<Vec<u8>, EncodeError> {
    let mut budget = Budget::new();
    let mut out = Vec::new();
    out.extend_from_slice(START);
    write_fields(msg, 0, true, &mut budget, &mut out)?;
    if inner_auth {
        budget.take_encode()?;
        let mut field = b"(0)auth=".to_vec();
        field.extend_from_slice(keys.sign(&classic::auth_input(msg)).as_bytes());
        put_netstring(&field, &mut out);
    }
    out.extend_from_slice(END);
    let trailer = keys.sign(&out);
    put_netstring(trailer.as_bytes(), &mut out);
    if out.len() > MAX_SEND {
        return Err(EncodeError::TooLarge { len: out.len() });
    }
    Ok(out)
}

fn put_netstring(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(data);
    out.push(b',');
}

fn write_fields(
    msg: &Message,
    depth: usize,
    skip_auth: bool,
    budget: &mut Budget,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for f in &msg.fields {
        if skip_auth && is_auth(&f.name) {
            continue;
        }
        budget.take_encode()?;
        if f.name.is_empty() {
            return Err(EncodeError::BadName {
                name: String::new(),
                why: "empty name",
            });
        }
        if f.name.contains(&b'=') {
            return Err(EncodeError::BadName {
                name: printable(&f.name),
                why: "'=' in name",
            });
        }
        let mut field = Vec::with_capacity(f.name.len() + 8);
        field.extend_from_slice(&[b'(', b'0' + f.value.type_num(), b')']);
        field.extend_from_slice(&f.name);
        field.push(b'=');
        match &f.value {
            Value::Str(v) | Value::Bin(v) | Value::Compressed(v) => field.extend_from_slice(v),
            Value::Struct(m) => {
                if depth >= MAX_DEPTH {
                    return Err(EncodeError::TooDeep);
                }
                field.extend_from_slice(START);
                write_fields(m, depth + 1, false, budget, &mut field)?;
                field.extend_from_slice(END);
            }
            Value::List(items) => pack_list(&f.name, items, false, &mut field)?,
        }
        put_netstring(&field, out);
    }
    Ok(())
}
