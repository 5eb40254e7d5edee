//! Numbers read the way the original's C code reads them (`atoi`, `sscanf("%ld")`,
//! `sscanf("%x")`, `sscanf("%u")`): leading blanks skipped, an optional sign, digits up to
//! the first other character, anything after it ignored.

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    s.get(n..).unwrap_or(&[])
}

fn sign(s: &[u8]) -> (bool, &[u8]) {
    match s.first() {
        Some(b'-') => (true, s.get(1..).unwrap_or(&[])),
        Some(b'+') => (false, s.get(1..).unwrap_or(&[])),
        _ => (false, s),
    }
}

/// Digits of `radix` at the start of `s`, saturating at `u64::MAX`; `None` without a digit.
fn digits(s: &[u8], radix: u32) -> Option<u64> {
    let mut v: u64 = 0;
    let mut any = false;
    for &b in s {
        let Some(d) = char::from(b).to_digit(radix) else {
            break;
        };
        any = true;
        v = v
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(d));
    }
    any.then_some(v)
}

/// `sscanf(s, "%ld")`: `None` when no number starts the string.
pub fn scan_long(s: &str) -> Option<i64> {
    let (neg, rest) = sign(skip_space(s.as_bytes()));
    let v = digits(rest, 10)?;
    Some(if neg {
        if v > i64::MAX as u64 {
            i64::MIN
        } else {
            -(v as i64)
        }
    } else {
        i64::try_from(v).unwrap_or(i64::MAX)
    })
}

/// `atoi(s)`: 0 when no number starts the string.
pub fn atoi(s: &str) -> i32 {
    scan_long(s).unwrap_or(0) as i32
}

fn unsigned(s: &str, radix: u32) -> Option<u32> {
    let (neg, mut rest) = sign(skip_space(s.as_bytes()));
    if radix == 16 {
        if let Some(r) = rest
            .strip_prefix(b"0x")
            .or_else(|| rest.strip_prefix(b"0X"))
        {
            if r.first().is_some_and(u8::is_ascii_hexdigit) {
                rest = r;
            }
        }
    }
    let v = digits(rest, radix)?;
    let v = if neg { v.wrapping_neg() } else { v };
    Some(v as u32)
}

/// `sscanf(s, "%x")`.
pub fn scan_hex(s: &str) -> Option<u32> {
    unsigned(s, 16)
}

/// `sscanf(s, "%u")`.
pub fn scan_uint(s: &str) -> Option<u32> {
    unsigned(s, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_c() {
        assert_eq!(atoi("123"), 123);
        assert_eq!(atoi("  -42abc"), -42);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(""), 0);
        assert_eq!(scan_long("0"), Some(0));
        assert_eq!(scan_long("x1"), None);
        assert_eq!(scan_long("+7 "), Some(7));
        assert_eq!(scan_long("99999999999999999999999"), Some(i64::MAX));
        assert_eq!(scan_hex("1"), Some(1));
        assert_eq!(scan_hex("0x3f"), Some(0x3f));
        assert_eq!(scan_hex("ff"), Some(0xff));
        assert_eq!(scan_hex("zz"), None);
        assert_eq!(scan_hex("0xg"), Some(0));
        assert_eq!(scan_uint("19"), Some(19));
        assert_eq!(scan_uint("-1"), Some(u32::MAX));
        assert_eq!(scan_uint(""), None);
    }
}
