//! Fuzzes the wire decoder: no input may panic; whatever parses must re-encode and decode
//! back to the same fields (the `auth` field aside, which the encoder writes itself).
#![no_main]

use hb_wire::{
    decode, encode, parse_unauthenticated, AuthMethod, EncodeError, KeyRing, Message, SendForm,
    WireForm,
};
use libfuzzer_sys::fuzz_target;

/// md5.jsonl's authkeys: active 3 (md5), also 1 (crc) and 2 (md5). Captured crc and md5
/// packets both verify with it, so seeds from either file get past authentication.
fn keys() -> KeyRing {
    KeyRing::new(
        3,
        [
            (1, AuthMethod::Crc),
            (2, AuthMethod::Md5(b"Hello-md5-key".to_vec())),
            (3, AuthMethod::Md5(b"Tr0ub4dor&3-md5".to_vec())),
        ],
    )
    .expect("fixed key ring")
}

fn without_auth(m: &Message) -> Message {
    let mut m = m.clone();
    m.remove("auth");
    m
}

/// Re-encodes `msg` in `form`, decodes the result and checks the fields survived.
fn round_trip(msg: &Message, keys: &KeyRing, form: SendForm) {
    match encode(msg, keys, form) {
        Ok(wire) => {
            let back = decode(&wire, keys)
                .unwrap_or_else(|e| panic!("re-encoded ({form:?}) message refused: {e}"));
            assert_eq!(without_auth(&back.msg), without_auth(msg), "{form:?}");
        }
        // Re-encoding may grow a message past the limits (base64, a fresh auth field).
        Err(EncodeError::TooLarge { .. }) | Err(EncodeError::TooManyFields) => {}
        Err(e) => panic!("a parsed message could not be re-encoded ({form:?}): {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    // The parser, with or without valid authentication.
    if let Ok((msg, form)) = parse_unauthenticated(data) {
        let send = match form {
            WireForm::Classic => SendForm::Classic,
            WireForm::Netstring => SendForm::Netstring,
        };
        round_trip(&msg, &keys, send);
    }
    // The full decode: an accepted message must survive every send form.
    if let Ok(dec) = decode(data, &keys) {
        let (msg2, _) = parse_unauthenticated(data).expect("decoded but does not parse");
        assert_eq!(msg2, dec.msg);
        match dec.form {
            WireForm::Classic => round_trip(&dec.msg, &keys, SendForm::Classic),
            WireForm::Netstring => {
                round_trip(&dec.msg, &keys, SendForm::Netstring);
                round_trip(&dec.msg, &keys, SendForm::Netstring306);
            }
        }
    }
});
