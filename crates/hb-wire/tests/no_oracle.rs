//! Issue #16, "no oracle": a datagram whose digest does not match must never make us
//! print a digest that we computed over its bytes (the original logs
//! `authtoken does not match, authtoken=GOT, authstr=WANT`, and WANT is the valid
//! signature of the attacker's own bytes). Checked for every method (crc, md5, sha1),
//! every form we read (classic, netstring as 2.0.8 sends it, netstring as 3.0.6 sends
//! it), a wrong digest and a digest made with another configured index: the error's
//! text and its debug form hold the received digest at most.

mod oracle;

use hb_wire::{decode, encode, AuthMethod, DecodeError, KeyRing, SendForm, WireForm};
use oracle::{computable_digests, methods, status, tamper};

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
