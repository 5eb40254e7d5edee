#![no_main]
//! Any bytes written into the FIFO, read in pieces of any size: the parser never panics,
//! keeps its line buffer bounded, gives messages within its limits, and gives the same
//! messages whatever the pieces.
use libfuzzer_sys::fuzz_target;

use hb_io::fifo::{FifoItem, FifoParser, MAX_FIELDS, MAX_LINE};

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cut % 97) + 1;
    let mut whole = FifoParser::new();
    let all = whole.push(stream);
    let mut pieces = FifoParser::new();
    let mut got = Vec::new();
    for piece in stream.chunks(chunk) {
        got.extend(pieces.push(piece));
    }
    assert_eq!(all, got);
    for item in &all {
        if let FifoItem::Message(m) = item {
            assert!(m.fields.len() <= MAX_FIELDS);
            for f in &m.fields {
                assert!(!f.name.is_empty() && !f.name.contains(&b'='));
                // A line is at most MAX_LINE bytes; a name's invalid UTF-8 bytes become
                // U+FFFD (3 bytes each).
                assert!(f.name.len() <= 3 * MAX_LINE);
            }
        }
    }
});
