//! Mutations of captured datagrams: every single-byte change and every truncation must
//! give Ok or Err without panicking, and a change inside the signed area must be refused.

mod support;

use hb_wire::{decode, encode, KeyRing, SendForm};
use support::{keys_for, packet, signed_len};

/// A few captured packets per auth method (V1, V2, V3, V4, V5 and some others).
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    for (file, lines) in [
        ("crc.jsonl", &[1usize, 10, 21, 500][..]),
        ("md5.jsonl", &[1, 281][..]),
        ("sha1.jsonl", &[1, 204][..]),
        ("classic-md5.jsonl", &[5][..]),
    ] {
        for &l in lines {
            v.push((file, packet(file, l)));
        }
    }
    v
}

/// Byte values to try at each position: bit flips and a few structural characters.
const SUBSTITUTES: &[u8] = b"\0\n\x13\x14()0123456789:,=#%<>&AZaz ";

fn variants(orig: u8) -> impl Iterator<Item = u8> {
    (0..8)
        .map(move |bit| orig ^ (1 << bit))
        .chain(SUBSTITUTES.iter().copied())
        .filter(move |&b| b != orig)
}

#[test]
fn netstring_byte_changes_in_signed_area_are_refused() {
    for (file, d) in samples() {
        let keys = keys_for(file);
        let signed = signed_len(&d);
        let mut accepted_in_trailer = 0;
        for i in 0..d.len() {
            for b in variants(d[i]) {
                let mut m = d.clone();
                m[i] = b;
                let r = decode(&m, &keys);
                if i < signed {
                    assert!(r.is_err(), "{file}: byte {i} -> {b:#04x} accepted");
                } else if r.is_ok() {
                    accepted_in_trailer += 1;
                }
            }
        }
        // Only the trailer's index digit can change without a refusal (the original's
        // quirk: another md5 index is checked with the active key), never for crc.
        if file == "crc.jsonl" || file == "classic-md5.jsonl" {
            assert_eq!(accepted_in_trailer, 0, "{file}");
        }
    }
}

#[test]
fn md5_trailer_index_may_change_to_another_md5_index() {
    // md5.jsonl keys: 2 and 3 are both md5, so "3 <digest>" -> "2 <digest>" still passes.
    let keys = keys_for("md5.jsonl");
    let d = packet("md5.jsonl", 281);
    let at = signed_len(&d) + 3; // "34:" then the index digit
    assert_eq!(d[at], b'3');
    let mut m = d.clone();
    m[at] = b'2';
    assert_eq!(decode(&m, &keys).unwrap().auth_index, 2);
    m[at] = b'1';
    assert!(decode(&m, &keys).is_err());
}

#[test]
fn truncations_never_panic_and_are_refused() {
    for (file, d) in samples() {
        let keys = keys_for(file);
        for n in 0..d.len() {
            assert!(decode(&d[..n], &keys).is_err(), "{file}: truncated to {n}");
        }
        assert!(decode(&d, &keys).is_ok());
    }
}

#[test]
fn classic_byte_changes_are_refused() {
    for (file, d) in samples() {
        let keys = keys_for(file);
        let msg = decode(&d, &keys).unwrap().msg;
        let c = encode(&msg, &keys, SendForm::Classic).unwrap();
        // Everything up to the end of the auth value is covered; the newline after it may
        // become a NUL (which also ends a classic message, as in the original).
        assert!(c.ends_with(b"\n<<<\n\0"));
        let end = c.len() - 6;
        for i in 0..c.len() {
            for b in variants(c[i]) {
                let mut m = c.clone();
                m[i] = b;
                let r = decode(&m, &keys);
                if i < end {
                    assert!(
                        r.is_err(),
                        "{file}: classic byte {i} ({:?}) -> {b:#04x} accepted",
                        char::from(c[i])
                    );
                }
            }
        }
        for n in 0..end {
            assert!(
                decode(&c[..n], &keys).is_err(),
                "{file}: classic cut at {n}"
            );
        }
    }
}

#[test]
fn random_garbage_never_panics() {
    // A small deterministic generator (xorshift); the fuzz target does the real work.
    let keys = keys_for("md5.jsonl");
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let pieces: [&[u8]; 12] = [
        b">>>\n", b"###\n", b"%%%\n", b"<<<\n", b"(0)", b"(2)", b"(3)", b"=", b"12:", b",", b"\n",
        b"3:abc,",
    ];
    for _ in 0..20_000 {
        let mut d = Vec::new();
        let parts = next() % 12;
        for _ in 0..parts {
            if next() % 2 == 0 {
                d.extend_from_slice(pieces[(next() % 12) as usize]);
            } else {
                d.push(next() as u8);
            }
        }
        let _ = decode(&d, &keys);
    }
    let one = KeyRing::single(1, hb_wire::AuthMethod::Crc).unwrap();
    assert!(decode(b"###\n%%%\n", &one).is_err());
}
