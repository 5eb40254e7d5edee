//! Issue #16, "no oracle": a datagram whose digest does not match must never make us
//! print a digest that we computed over its bytes (the original logs
//! `authtoken does not match, authtoken=GOT, authstr=WANT`, and WANT is the valid
//! signature of the attacker's own bytes). Checked for every method (crc, md5, sha1),
//! every form we read (classic, netstring as 2.0.8 sends it, netstring as 3.0.6 sends
//! it), a wrong digest and a digest made with another configured index: the error's
//! text and its debug form hold the received digest at most.

use hb_wire::{
    auth, classic, decode, encode, AuthMethod, DecodeError, KeyRing, Message, SendForm, WireForm,
};

fn methods() -> Vec<(&'static str, AuthMethod)> {
    vec![
        ("crc", AuthMethod::Crc),
        ("md5", AuthMethod::Md5(b"Tr0ub4dor&3-md5".to_vec())),
        ("sha1", AuthMethod::Sha1(b"Tr0ub4dor&3-sha1".to_vec())),
    ]
}

fn status() -> Message {
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

/// Replaces the first `from` by `to` (same length, so netstring lengths stay right).
fn tamper(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("text to tamper with");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

/// Every digest the receiver (`keys`) could compute over `datagram`: with each configured
/// method and its own key, and with each method and the active key (netstring trailers).
fn computable_digests(datagram: &[u8], keys: &KeyRing) -> Vec<String> {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    if datagram.starts_with(b">>>\n") {
        let msg = classic::parse_unauthenticated(datagram).expect("parses");
        inputs.push(classic::auth_input(&msg));
    } else {
        let end = datagram
            .windows(4)
            .rposition(|w| w == b"%%%\n")
            .expect("netstring end")
            + 4;
        inputs.push(datagram[..end].to_vec());
        let msg = hb_wire::netstring::parse_unauthenticated(datagram).expect("parses");
        inputs.push(classic::auth_input(&msg));
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

fn assert_no_oracle(label: &str, datagram: &[u8], keys: &KeyRing) {
    let err = decode(datagram, keys).expect_err(label);
    assert!(err.is_auth_failure(), "{label}: {err:?}");
    let shown = format!("{err}\n{err:?}");
    for d in computable_digests(datagram, keys) {
        assert!(
            !shown.contains(&d),
            "{label}: the error shows a digest computed here ({d}): {shown}"
        );
    }
}

#[test]
fn a_bad_digest_never_shows_a_computed_one() {
    for (name, method) in methods() {
        // The receiver: the method at index 3 (active), crc at 1.
        let keys = KeyRing::new(3, [(1, AuthMethod::Crc), (3, method.clone())]).unwrap();
        for form in [
            SendForm::Classic,
            SendForm::Netstring,
            SendForm::Netstring306,
        ] {
            let label = format!("{name} {form:?}");
            let good = encode(&status(), &keys, form).unwrap();
            assert!(decode(&good, &keys).is_ok(), "{label}");
            // The attacker's own bytes, signed with the old digest.
            let forged = tamper(&good, b"st=active", b"st=activf");
            assert_no_oracle(&format!("{label}, changed body"), &forged, &keys);
            // A digest made up from scratch, of the right length.
            let sender = KeyRing::single(3, AuthMethod::Md5(b"attacker".to_vec())).unwrap();
            let other = encode(&status(), &sender, form).unwrap();
            if matches!(method, AuthMethod::Md5(_)) {
                assert_no_oracle(&format!("{label}, attacker's key"), &other, &keys);
            }
        }
    }
}

#[test]
fn the_error_names_the_key_index_the_node_and_the_received_digest() {
    let keys = KeyRing::single(2, AuthMethod::Sha1(b"k".to_vec())).unwrap();
    for form in [SendForm::Classic, SendForm::Netstring306] {
        let good = encode(&status(), &keys, form).unwrap();
        let forged = tamper(&good, b"st=active", b"st=activf");
        let err = decode(&forged, &keys).unwrap_err();
        match &err {
            DecodeError::BadDigest {
                index, node, form, ..
            } => {
                assert_eq!(*index, 2);
                assert_eq!(node.as_deref(), Some("b"));
                let text = err.to_string();
                assert!(text.contains("key index 2"), "{text}");
                assert!(text.contains("[b]"), "{text}");
                match form {
                    WireForm::Classic => {
                        assert!(text.starts_with("string2msg_ll: node [b] failed authentication"))
                    }
                    WireForm::Netstring => {
                        assert!(text.starts_with("authtoken does not match, authtoken="))
                    }
                }
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn control_bytes_of_a_forged_packet_are_escaped() {
    // A claimed node name with a newline must not start a fake log line.
    let keys = KeyRing::single(1, AuthMethod::Md5(b"k".to_vec())).unwrap();
    let mut m = status();
    m.set_str("src", "b\nheartbeat: CRIT: fake");
    let good = encode(&m, &keys, SendForm::Netstring306).unwrap();
    let forged = tamper(&good, b"st=active", b"st=activf");
    let text = decode(&forged, &keys).unwrap_err().to_string();
    assert!(!text.contains('\n'), "{text}");
}
