#![no_main]
//! Any bytes given as authkeys must parse or be refused with diagnostics, never panic;
//! what parses renders and parses again.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cfg, _diags) = ha_config::parse_authkeys(&text, "authkeys");
    if let Some(c) = cfg {
        let again = ha_config::render_authkeys(&c);
        let _ = ha_config::parse_authkeys(&again, "authkeys");
    }
});
