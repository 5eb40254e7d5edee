//! Every captured datagram of the original 3.0.6 decodes, authenticates with its file's
//! authkeys, and re-encodes byte for byte.

mod support;

use hb_wire::{auth, classic, decode, encode, Message, SendForm, Value, WireForm};
use support::{keys_for, packets, FILES};

fn without_auth(m: &Message) -> Message {
    let mut m = m.clone();
    m.remove("auth");
    m
}

#[test]
fn every_capture_decodes_and_verifies() {
    let mut total = 0;
    for file in FILES {
        let keys = keys_for(file);
        for (line, d) in packets(file) {
            let dec = decode(&d, &keys).unwrap_or_else(|e| panic!("{file}:{line}: {e}"));
            assert_eq!(dec.form, WireForm::Netstring, "{file}:{line}");
            assert_eq!(dec.auth_index, keys.active_index(), "{file}:{line}");
            assert!(dec.msg.msg_type().is_some(), "{file}:{line}: no t");
            assert!(dec.msg.get("src").is_some(), "{file}:{line}: no src");
            // The inner auth field is kept, last, and itself valid (3.0.6 sends both).
            let last = dec.msg.fields.last().unwrap();
            assert_eq!(last.name, b"auth", "{file}:{line}");
            let tok = dec.msg.get("auth").unwrap();
            let (idx, dig) = tok.split_once(' ').unwrap();
            let method = keys.get(idx.parse().unwrap()).unwrap();
            let want = auth::digest(method, None, &classic::auth_input(&dec.msg));
            assert_eq!(dig, want, "{file}:{line}: inner auth");
            total += 1;
        }
    }
    assert_eq!(total, 3080);
}

#[test]
fn every_capture_reencodes_byte_for_byte() {
    for file in FILES {
        let keys = keys_for(file);
        for (line, d) in packets(file) {
            let dec = decode(&d, &keys).unwrap();
            let fields = without_auth(&dec.msg);
            let again = encode(&fields, &keys, SendForm::Netstring306).unwrap();
            assert!(again == d, "{file}:{line}: re-encoding differs");
            // Given the message with its auth field, encode replaces it: same bytes.
            assert!(encode(&dec.msg, &keys, SendForm::Netstring306).unwrap() == d);
        }
    }
}

#[test]
fn every_capture_round_trips_through_the_2_0_8_forms() {
    for file in FILES {
        let keys = keys_for(file);
        for (line, d) in packets(file) {
            let msg = without_auth(&decode(&d, &keys).unwrap().msg);
            for form in [SendForm::Classic, SendForm::Netstring] {
                let wire = encode(&msg, &keys, form).unwrap();
                let back = decode(&wire, &keys).unwrap_or_else(|e| panic!("{file}:{line}: {e}"));
                assert_eq!(without_auth(&back.msg), msg, "{file}:{line} {form:?}");
                match form {
                    SendForm::Classic => {
                        assert_eq!(back.form, WireForm::Classic);
                        assert!(wire.starts_with(b">>>\n") && wire.ends_with(b"<<<\n\0"));
                        // Classic and 3.0.6 forms carry the same inner auth value.
                        assert_eq!(
                            back.msg.get("auth"),
                            decode(&d, &keys).unwrap().msg.get("auth")
                        );
                    }
                    _ => {
                        assert_eq!(back.form, WireForm::Netstring);
                        assert!(back.msg.field("auth").is_none());
                    }
                }
            }
        }
    }
}

#[test]
fn captures_use_only_strings_and_binary_uuids() {
    for file in FILES {
        let keys = keys_for(file);
        for (line, d) in packets(file) {
            for f in decode(&d, &keys).unwrap().msg.fields {
                match f.value {
                    Value::Str(_) => {}
                    Value::Bin(ref b) => {
                        assert!(
                            f.name == b"srcuuid" || f.name == b"destuuid",
                            "{file}:{line}"
                        );
                        assert_eq!(b.len(), 16, "{file}:{line}");
                    }
                    ref other => panic!("{file}:{line}: unexpected {other:?}"),
                }
            }
        }
    }
}

#[test]
fn captures_are_rejected_with_other_keys() {
    // md5 packets under the sha1 file's keys (same index, other method) and vice versa.
    let md5 = keys_for("md5.jsonl");
    let sha1 = keys_for("sha1.jsonl");
    let classic = keys_for("classic-md5.jsonl");
    for (_, d) in packets("md5.jsonl").into_iter().take(20) {
        assert!(decode(&d, &sha1).is_err());
        assert!(decode(&d, &classic).is_err());
        assert!(decode(&d, &md5).is_ok());
    }
    for (_, d) in packets("sha1.jsonl").into_iter().take(20) {
        assert!(decode(&d, &md5).is_err());
    }
}
