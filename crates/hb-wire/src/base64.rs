//! Standard base64 (RFC 4648 alphabet `A–Z a–z 0–9 + /`, `=` padding, no line breaks), as
//! heartbeat writes binary and compressed values in the classic form.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `data`, padding the last group with `=`.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0);
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let sym = |shift: u32| ALPHABET[((n >> shift) & 0x3f) as usize];
        out.push(sym(18));
        out.push(sym(12));
        out.push(if chunk.len() > 1 { sym(6) } else { b'=' });
        out.push(if chunk.len() > 2 { sym(0) } else { b'=' });
    }
    out
}

fn value_of(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes padded base64. Rejects (returns `None`) a length that is not a multiple of 4,
/// characters outside the alphabet, padding anywhere but at the end, and non-zero bits
/// in the unused part of the last group (so every accepted text is the one `encode` writes).
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() & 3 != 0 {
        // not a whole number of 4-character groups
        return None;
    }
    let groups = text.len() / 4;
    let mut out = Vec::with_capacity(groups * 3);
    for (i, g) in text.chunks_exact(4).enumerate() {
        let last = i + 1 == groups;
        let (c0, c1, c2, c3) = (g[0], g[1], g[2], g[3]);
        let v0 = value_of(c0)?;
        let v1 = value_of(c1)?;
        match (c2, c3) {
            (b'=', b'=') if last => {
                if v1 & 0x0f != 0 {
                    return None;
                }
                out.push(((v0 << 2) | (v1 >> 4)) as u8);
            }
            (_, b'=') if last => {
                let v2 = value_of(c2)?;
                if v2 & 0x03 != 0 {
                    return None;
                }
                let n = (v0 << 18) | (v1 << 12) | (v2 << 6);
                out.push((n >> 16) as u8);
                out.push((n >> 8) as u8);
            }
            _ => {
                let v2 = value_of(c2)?;
                let v3 = value_of(c3)?;
                let n = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
                out.push((n >> 16) as u8);
                out.push((n >> 8) as u8);
                out.push(n as u8);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"", b""),
            (b"f", b"Zg=="),
            (b"fo", b"Zm8="),
            (b"foo", b"Zm9v"),
            (b"foob", b"Zm9vYg=="),
            (b"fooba", b"Zm9vYmE="),
            (b"foobar", b"Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(encode(plain), coded);
            assert_eq!(decode(coded).as_deref(), Some(plain));
        }
    }

    #[test]
    fn uuid_from_capture() {
        let uuid = [
            0x02, 0xf8, 0x8d, 0x83, 0xa5, 0xe0, 0x4f, 0xb4, 0xae, 0x6c, 0x20, 0xb3, 0xe7, 0xf0,
            0xb5, 0x71,
        ];
        assert_eq!(encode(&uuid), b"AviNg6XgT7SubCCz5/C1cQ==");
        assert_eq!(decode(b"AviNg6XgT7SubCCz5/C1cQ==").unwrap(), uuid);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"Zg="[..],
            b"Zg=a",
            b"=Zg=",
            b"Zg==Zg==",
            b"Zh==",
            b"Zm9=",
            b"Zm 9",
            b"Zm9\n",
            b"Z===",
        ] {
            assert_eq!(decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn all_lengths_round_trip() {
        let data: Vec<u8> = (0..=255u8).collect();
        for n in 0..data.len() {
            let e = encode(&data[..n]);
            assert_eq!(e.len() % 4, 0);
            assert_eq!(decode(&e).unwrap(), &data[..n]);
        }
    }
}
