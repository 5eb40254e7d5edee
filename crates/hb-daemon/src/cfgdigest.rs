//! What of haresources and the checks file the cluster must agree on, for
//! [`hb_core::cfgsync`]: per group, its line as parsed (node and resources, comments and
//! line breaks aside), and its checks with their options.

use std::collections::BTreeMap;

use hb_core::cfgsync::FileContent;

/// The contents of haresources and of the checks file, by group key.
pub fn contents(hares: &ha_config::Haresources, file: &ha_config::ChecksFile) -> Vec<FileContent> {
    let checks = &file.checks;
    let mut hr = BTreeMap::new();
    for g in &hares.groups {
        let rs: Vec<&str> = g.resources.iter().map(|r| r.spec.as_str()).collect();
        hr.insert(
            g.key().to_string(),
            format!("{} {}", g.node.to_ascii_lowercase(), rs.join(" ")),
        );
    }
    let mut ck: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in checks {
        ck.entry(c.group_key.clone()).or_default().push(format!(
            "{} interval={}ms timeout={}ms fall={} rise={} restarts={}",
            c.label(),
            c.interval.as_millis(),
            c.timeout.as_millis(),
            c.fall,
            c.rise,
            c.restarts
        ));
    }
    for a in &file.arp_refresh {
        ck.entry(a.group_key.clone())
            .or_default()
            .push(format!("arp-refresh {}ms", a.interval.as_millis()));
    }
    vec![
        FileContent {
            file: "haresources".into(),
            groups: hr,
        },
        FileContent {
            file: ha_config::checks::CHECKS_FILE.into(),
            groups: ck
                .into_iter()
                .map(|(k, mut v)| {
                    v.sort();
                    (k, v.join("\n"))
                })
                .collect(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(hares: &str, checks: &str) -> Vec<FileContent> {
        let (h, d) = ha_config::parse_haresources(hares, "haresources");
        let h = h.unwrap_or_else(|| panic!("{d:?}"));
        let (c, d) = ha_config::parse_checks_file(checks, "checks", &h);
        assert!(d.is_empty(), "{d:?}");
        contents(&h, &c.expect("checks"))
    }

    #[test]
    fn comments_blanks_and_line_breaks_do_not_count_but_resources_and_options_do() {
        let a = load(
            "a IPaddr::192.0.2.10/24/eth0 httpd\nb 192.0.2.11 mysql\n",
            "192.0.2.10 tcp 127.0.0.1:80\n",
        );
        let b = load(
            "# the web\na   IPaddr::192.0.2.10/24/eth0 \\\n  httpd\n\nb 192.0.2.11 mysql # db\n",
            "IPaddr::192.0.2.10/24/eth0 interval=2 tcp 127.0.0.1:80 # same defaults\n",
        );
        assert_eq!(a, b);
        let with_arp = load(
            "a IPaddr::192.0.2.10/24/eth0 httpd\nb 192.0.2.11 mysql\n",
            "192.0.2.10 tcp 127.0.0.1:80\n192.0.2.10 arp-refresh 30\n",
        );
        assert_eq!(a[0], with_arp[0]);
        assert_ne!(a[1], with_arp[1]);
        let c = load(
            "a IPaddr::192.0.2.10/24/eth0 apache2\nb 192.0.2.11 mysql\n",
            "192.0.2.10 tcp 127.0.0.1:80 fall=2\n",
        );
        assert_ne!(a[0], c[0]);
        assert_ne!(a[1], c[1]);
        assert_eq!(a[0].groups.get("192.0.2.11"), c[0].groups.get("192.0.2.11"));
    }
}
