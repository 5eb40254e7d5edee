#![no_main]
//! Any bytes as /etc/ha.d/checks (after an optional haresources text and a NUL): parsed
//! without panicking; every check accepted is one the daemon can run: it watches a group
//! of haresources, its times are above zero and within what an Instant can add, its counts
//! at least 1 (restarts: any), and a tcp/http check has an address.
use libfuzzer_sys::fuzz_target;

use ha_config::{parse_checks, parse_haresources, CheckKind};

const HARESOURCES: &str = "a 198.51.100.254 IPaddr::198.51.100.253/24/eth0 httpd\n\
                           b IPaddr2::198.51.100.252 Filesystem::/dev/sdb1::/srv::ext4 nfs\n";

fuzz_target!(|data: &[u8]| {
    let (hr_text, checks_text) = match data.iter().position(|&b| b == 0) {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => (HARESOURCES.into(), data),
    };
    let (hr, _) = parse_haresources(&hr_text, "haresources");
    let Some(hr) = hr else {
        return;
    };
    let text = String::from_utf8_lossy(checks_text);
    let (checks, diags) = parse_checks(&text, "checks", &hr);
    let Some(checks) = checks else {
        assert!(!diags.is_empty());
        return;
    };
    for c in &checks {
        assert!(
            hr.groups.iter().any(|g| g.key() == c.group_key),
            "{c:?} names no group"
        );
        assert!(!c.interval.is_zero() && !c.timeout.is_zero());
        assert!(c.interval.as_secs() < 1 << 32 && c.timeout.as_secs() < 1 << 32);
        assert!(c.fall >= 1 && c.rise >= 1);
        match &c.kind {
            CheckKind::Tcp { .. } => assert!(c.kind.socket_addr().is_some(), "{c:?}"),
            CheckKind::Http { path, .. } => {
                assert!(c.kind.socket_addr().is_some(), "{c:?}");
                assert!(path.starts_with('/'), "{c:?}");
            }
            CheckKind::Exec { command } => assert!(!command.trim().is_empty(), "{c:?}"),
        }
        let _ = c.label();
    }
});
