#![no_main]
//! Any bytes given as haresources: parsed without panicking; what parses renders to
//! text that parses again to the same groups.
use libfuzzer_sys::fuzz_target;

use ha_config::{parse_haresources, render_haresources};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cfg, _diags) = parse_haresources(&text, "haresources");
    if let Some(h) = cfg {
        let again = render_haresources(&h);
        let (h2, d2) = parse_haresources(&again, "haresources");
        let h2 = h2.unwrap_or_else(|| panic!("rendered text refused: {d2:?}\n{again}"));
        let strip = |h: &ha_config::Haresources| -> Vec<(String, Vec<ha_config::Resource>)> {
            h.groups.iter().map(|g| (g.node.clone(), g.resources.clone())).collect()
        };
        assert_eq!(strip(&h), strip(&h2));
    }
});
