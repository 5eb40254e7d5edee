#![no_main]
//! Any bytes given as ha.cf: parsed (as UTF-8, and lossily) without panicking; what
//! parses renders to text that parses again to the same nodes, media and timing.
use libfuzzer_sys::fuzz_target;

use ha_config::{parse_hacf, render_hacf, NoResolver};

fuzz_target!(|data: &[u8]| {
    // No name resolution: the fuzzer must not wait on DNS.
    let lossy = String::from_utf8_lossy(data);
    let (cfg, _diags) = parse_hacf(&lossy, "ha.cf", &NoResolver);
    if let Some(c) = cfg {
        let again = render_hacf(&c);
        let (c2, d2) = parse_hacf(&again, "ha.cf", &NoResolver);
        let c2 = c2.unwrap_or_else(|| panic!("rendered text refused: {d2:?}\n{again}"));
        assert_eq!(c.nodes, c2.nodes);
        assert_eq!(c.media.len(), c2.media.len());
        assert_eq!(c.keepalive, c2.keepalive);
        assert_eq!(c.deadtime, c2.deadtime);
        assert_eq!(c.recorded, c2.recorded);
    }
});
