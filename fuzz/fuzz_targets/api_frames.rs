#![no_main]
//! Any bytes read from an API connection, cut into reads at any points: the framing never
//! panics nor holds more than one body's worth; every body that parses as a message (either
//! text form) is written back by our encoder, when it can be, to text that parses to the
//! same message.
use libfuzzer_sys::fuzz_target;

use hb_api::frame::{frame, Decoder, DEFAULT_MAX_BODY, HEADER};
use hb_api::text;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 61) + 1;
    let mut d = Decoder::new(DEFAULT_MAX_BODY);
    let mut bodies = Vec::new();
    for piece in stream.chunks(chunk) {
        d.push(piece);
        loop {
            match d.next_body() {
                Ok(Some(b)) => bodies.push(b),
                Ok(None) => break,
                Err(_) => {
                    // Broken for good: every later call says so too.
                    assert!(d.next_body().is_err());
                    break;
                }
            }
        }
        assert!(d.pending() <= HEADER + DEFAULT_MAX_BODY + chunk);
    }
    for body in bodies {
        assert!(body.len() <= DEFAULT_MAX_BODY);
        // What we write comes back whole through a fresh decoder.
        let mut again = Decoder::new(DEFAULT_MAX_BODY);
        again.push(&frame(&body));
        assert_eq!(again.next_body(), Ok(Some(body.clone())));
        let Ok(m) = text::parse(&body) else {
            continue;
        };
        let _ = text::one_line(&m);
        if let Ok(written) = text::encode(&m) {
            let m2 = text::parse(&written)
                .unwrap_or_else(|e| panic!("our own text refused ({e}): {written:?}"));
            assert_eq!(m, m2, "{written:?}");
        }
    }
});
