//! Pieces of the "no oracle" tests (issue #16), shared by hb-wire's `no_oracle.rs` and
//! hb-core's `hardening.rs` (which includes this file by path): the three methods, a
//! forged datagram, and every digest a receiver computes when it checks one.

#![allow(dead_code)]

use hb_wire::{auth, classic, AuthMethod, KeyRing, Message};

/// crc, md5 and sha1, each with a key.
pub fn methods() -> Vec<(&'static str, AuthMethod)> {
    vec![
        ("crc", AuthMethod::Crc),
        ("md5", AuthMethod::Md5(b"Tr0ub4dor&3-md5".to_vec())),
        ("sha1", AuthMethod::Sha1(b"Tr0ub4dor&3-sha1".to_vec())),
    ]
}

/// A status message of node b with every control field.
pub fn status() -> Message {
    let mut m = Message::with_type("status");
    m.push_str("st", "active")
        .push_str("dt", "3e8")
        .push_str("protocol", "1")
        .push_str("src", "b")
        .push_str("seq", "2a")
        .push_str("hg", "6b061842")
        .push_str("ts", "6b061841")
        .push_str("ld", "0.20 0.07 0.02 3/94 5876")
        .push_str("ttl", "3");
    m
}

/// Replaces the first `from` by `to` (same length, so netstring lengths stay right): the
/// attacker's own bytes under the old digest.
pub fn tamper(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("text to tamper with");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// Every digest the receiver (`keys`) could compute over `datagram`: over the classic text
/// of its fields and over its netstring body, with each configured method and its own key,
/// and with the active key (netstring trailers).
pub fn computable_digests(datagram: &[u8], keys: &KeyRing) -> Vec<String> {
    let (msg, _) = hb_wire::parse_unauthenticated(datagram).expect("parses");
    let mut inputs = vec![classic::auth_input(&msg)];
    if let Some(end) = datagram.windows(4).rposition(|w| w == b"%%%\n") {
        inputs.push(datagram[..end + 4].to_vec());
    }
    let mut out = Vec::new();
    for idx in 0..16u8 {
        let Some(m) = keys.get(idx) else { continue };
        for input in &inputs {
            out.push(auth::digest(m, None, input));
            out.push(auth::digest(m, Some(keys.active().key()), input));
        }
    }
    out.sort();
    out.dedup();
    out
}
