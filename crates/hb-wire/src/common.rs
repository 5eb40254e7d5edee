//! Pieces shared by the two wire forms: the field budget, string lists, the `IDX DIGEST`
//! token, and the digest check.

use crate::auth::{digest, AuthMethod, KeyRing};
use crate::error::{printable, DecodeError, EncodeError};
use crate::{Message, Value, WireForm, MAX_FIELDS};

/// Counts fields across a whole message (nested ones included) while decoding or encoding.
pub(crate) struct Budget {
    left: usize,
}

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget { left: MAX_FIELDS }
    }

    /// A budget that never runs out (for the lenient digest text).
    pub(crate) fn unlimited() -> Budget {
        Budget { left: usize::MAX }
    }

    pub(crate) fn take_decode(&mut self) -> Result<(), DecodeError> {
        self.left = self.left.checked_sub(1).ok_or(DecodeError::TooManyFields)?;
        Ok(())
    }

    pub(crate) fn take_encode(&mut self) -> Result<(), EncodeError> {
        self.left = self.left.checked_sub(1).ok_or(EncodeError::TooManyFields)?;
        Ok(())
    }
}

/// Splits a leading run of ASCII digits off `buf` and returns its value (at most 9 digits,
/// so no overflow) and the number of digits. `None` if there is no digit or too many.
pub(crate) fn leading_decimal(buf: &[u8]) -> Option<(usize, usize)> {
    let n = buf.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    let mut v: usize = 0;
    for &b in buf.get(..n)? {
        v = v * 10 + usize::from(b - b'0');
    }
    Some((v, n))
}

/// Packs a string list as `LEN:elem,LEN:elem,…`. Lists and elements must not be empty (the
/// original can neither write nor read them); the classic form also forbids newline and NUL.
pub(crate) fn pack_list(
    name: &[u8],
    items: &[Vec<u8>],
    classic: bool,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let bad = |why| EncodeError::BadValue {
        name: printable(name),
        why,
    };
    if items.is_empty() {
        return Err(bad("empty string list"));
    }
    for item in items {
        if item.is_empty() {
            return Err(bad("empty string list element"));
        }
        if classic && item.iter().any(|&b| b == b'\n' || b == 0) {
            return Err(bad("string list element with newline or NUL"));
        }
        out.extend_from_slice(item.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(item);
        out.push(b',');
    }
    Ok(())
}

/// Unpacks a string list written by [`pack_list`]. Strict: every element is `LEN:` with a
/// positive decimal LEN, exactly LEN bytes, then `,`; nothing else; at least one element.
pub(crate) fn unpack_list(mut v: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
    const BAD: DecodeError = DecodeError::BadFieldSyntax("bad string list");
    let mut items = Vec::new();
    while !v.is_empty() {
        let (len, digits) = leading_decimal(v).ok_or(BAD)?;
        if len == 0 || v.get(digits) != Some(&b':') {
            return Err(BAD);
        }
        let start = digits + 1;
        let end = start.checked_add(len).ok_or(BAD)?;
        let item = v.get(start..end).ok_or(BAD)?;
        if v.get(end) != Some(&b',') {
            return Err(BAD);
        }
        items.push(item.to_vec());
        v = v.get(end + 1..).ok_or(BAD)?;
    }
    if items.is_empty() {
        return Err(BAD);
    }
    Ok(items)
}

/// Parses `IDX DIGEST` (decimal index up to 255, one space, a digest without blanks).
pub(crate) fn parse_auth_token(tok: &[u8], form: WireForm) -> Result<(u8, &[u8]), DecodeError> {
    let bad = DecodeError::BadAuthToken(form);
    let (idx, digits) = leading_decimal(tok).ok_or(bad.clone())?;
    let idx = u8::try_from(idx).map_err(|_| bad.clone())?;
    if tok.get(digits) != Some(&b' ') {
        return Err(bad);
    }
    let d = tok.get(digits + 1..).unwrap_or(&[]);
    if d.is_empty() || d.iter().any(|&b| b.is_ascii_whitespace() || b == 0) {
        return Err(bad);
    }
    Ok((idx, d))
}

/// Compares a received digest text with the one computed over `data` by `method` (with
/// `key_override` if given). Case-sensitive, as the original's `strcmp`. The computed
/// digest never leaves this function (see [`DecodeError::BadDigest`]).
pub(crate) fn check_digest(
    got: &[u8],
    index: u8,
    method: &AuthMethod,
    key_override: Option<&[u8]>,
    data: &[u8],
    form: WireForm,
    msg: &Message,
) -> Result<(), DecodeError> {
    let want = digest(method, key_override, data);
    if want.as_bytes() == got {
        Ok(())
    } else {
        Err(DecodeError::BadDigest {
            got: printable(got),
            index,
            form,
            node: msg.get_bytes("src").map(printable),
        })
    }
}

/// The method of index `idx`, or the error naming it.
pub(crate) fn method_of(keys: &KeyRing, idx: u8) -> Result<&AuthMethod, DecodeError> {
    keys.get(idx).ok_or(DecodeError::UnknownKeyIndex(idx))
}

/// Whether a top-level field is the codec's own `auth` field.
pub(crate) fn is_auth(name: &[u8]) -> bool {
    name == b"auth"
}

/// Whether 2.0.8 would switch a classic-mode message to the netstring form (a top-level
/// struct or compressed field).
pub(crate) fn needs_netstring(msg: &Message) -> bool {
    msg.fields
        .iter()
        .any(|f| matches!(f.value, Value::Struct(_) | Value::Compressed(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let items = vec![b"abc".to_vec(), b"defg".to_vec()];
        let mut out = Vec::new();
        pack_list(b"l", &items, true, &mut out).unwrap();
        assert_eq!(out, b"3:abc,4:defg,");
        assert_eq!(unpack_list(&out).unwrap(), items);
        for bad in [
            &b""[..],
            b"0:,",
            b"3:abc",
            b"3:abcd,",
            b"3:ab",
            b"x:abc,",
            b"3abc,",
            b"3:abc,x",
            b"9999999999:a,",
        ] {
            assert!(unpack_list(bad).is_err(), "{bad:?}");
        }
        assert!(pack_list(b"l", &[], false, &mut Vec::new()).is_err());
        assert!(pack_list(b"l", &[vec![]], false, &mut Vec::new()).is_err());
        assert!(pack_list(b"l", &[b"a\nb".to_vec()], true, &mut Vec::new()).is_err());
        assert!(pack_list(b"l", &[b"a\nb".to_vec()], false, &mut Vec::new()).is_ok());
    }

    #[test]
    fn auth_tokens() {
        let f = WireForm::Netstring;
        assert_eq!(
            parse_auth_token(b"1 ae2aa3b0", f).unwrap(),
            (1, &b"ae2aa3b0"[..])
        );
        assert_eq!(parse_auth_token(b"15 x", f).unwrap(), (15, &b"x"[..]));
        for bad in [
            &b""[..],
            b"1",
            b"1 ",
            b" 1 ab",
            b"1  ab",
            b"1 ab cd",
            b"x ab",
            b"256 ab",
            b"1\tab",
        ] {
            assert_eq!(
                parse_auth_token(bad, f),
                Err(DecodeError::BadAuthToken(f)),
                "{bad:?}"
            );
        }
    }
}
