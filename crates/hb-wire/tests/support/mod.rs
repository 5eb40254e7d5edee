//! Shared helpers for the integration tests: the captured packets and their keys.
#![allow(dead_code)]

use hb_wire::{AuthMethod, KeyRing};
use std::path::PathBuf;

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub fn unhex(s: &str) -> Vec<u8> {
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(clean.len() & 1, 0, "odd hex length");
    clean
        .chunks(2)
        .map(|p| {
            let t = std::str::from_utf8(p).unwrap();
            u8::from_str_radix(t, 16).unwrap()
        })
        .collect()
}

/// The value of `"key": "..."` in one jsonl line (string values without escapes only,
/// which is all the capture files contain for the keys read here).
pub fn json_str<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\": \"");
    let start = line.find(&pat)? + pat.len();
    let len = line.get(start..)?.find('"')?;
    line.get(start..start + len)
}

/// Every datagram of a capture file, with its 1-based line number.
pub fn packets(file: &str) -> Vec<(usize, Vec<u8>)> {
    let text = std::fs::read_to_string(testdata(file)).unwrap();
    let out: Vec<_> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let hex = json_str(l, "hex").unwrap_or_else(|| panic!("{file}:{} no hex", i + 1));
            (i + 1, unhex(hex))
        })
        .collect();
    assert!(!out.is_empty(), "{file} is empty");
    out
}

/// One packet by 1-based line number.
pub fn packet(file: &str, line: usize) -> Vec<u8> {
    packets(file)
        .into_iter()
        .find(|(n, _)| *n == line)
        .unwrap()
        .1
}

/// The authkeys in force for each capture file (testdata/README.md).
pub fn keys_for(file: &str) -> KeyRing {
    match file {
        "crc.jsonl" => KeyRing::new(1, [(1, AuthMethod::Crc)]).unwrap(),
        "md5.jsonl" => KeyRing::new(
            3,
            [
                (1, AuthMethod::Crc),
                (2, AuthMethod::Md5(b"Hello-md5-key".to_vec())),
                (3, AuthMethod::Md5(b"Tr0ub4dor&3-md5".to_vec())),
            ],
        )
        .unwrap(),
        "sha1.jsonl" => KeyRing::new(
            3,
            [
                (1, AuthMethod::Crc),
                (2, AuthMethod::Md5(b"Hello-md5-key".to_vec())),
                (3, AuthMethod::Sha1(b"Tr0ub4dor&3-sha1".to_vec())),
            ],
        )
        .unwrap(),
        "classic-md5.jsonl" => {
            KeyRing::new(2, [(2, AuthMethod::Md5(b"classic-key".to_vec()))]).unwrap()
        }
        other => panic!("no keys for {other}"),
    }
}

pub const FILES: [&str; 4] = ["crc.jsonl", "md5.jsonl", "sha1.jsonl", "classic-md5.jsonl"];

/// Where the signed part of a netstring datagram ends (just after `%%%\n`).
pub fn signed_len(d: &[u8]) -> usize {
    d.windows(4).rposition(|w| w == b"%%%\n").unwrap() + 4
}
