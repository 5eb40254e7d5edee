#![no_main]
//! Any bytes given as hacf must parse or be refused with diagnostics, never panic;
//! what parses renders and parses again.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cfg, _diags) = ha_config::parse_hacf(&text, "hacf");
    if let Some(c) = cfg {
        let again = ha_config::render_hacf(&c);
        let _ = ha_config::parse_hacf(&again, "hacf");
    }
});
