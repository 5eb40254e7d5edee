#![no_main]
//! Any bytes given as authkeys: parsed without panicking; what parses renders to text
//! that parses again to the same keys.
use libfuzzer_sys::fuzz_target;

use ha_config::{parse_authkeys, render_authkeys};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cfg, _diags) = parse_authkeys(&text, "authkeys");
    if let Some(k) = cfg {
        assert!(k.keys.contains_key(&k.active));
        let again = render_authkeys(&k);
        let (k2, d2) = parse_authkeys(&again, "authkeys");
        assert_eq!(Some(&k), k2.as_ref(), "{d2:?}\n{again}");
    }
});
