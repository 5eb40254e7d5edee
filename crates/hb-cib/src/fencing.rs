//! ha.cf's `stonith` and `stonith_host` lines as Pacemaker fencing devices.
//!
//! heartbeat hands a `stonith_host HOST TYPE PARAMS...` line's parameters to cluster-glue
//! as one string, which splits it at blanks and gives the words, in order, to the
//! plugin's configuration names (`stonith -t TYPE -n`), the last name taking the rest of
//! the line, blanks and all; fewer words than names is a bad configuration. A `stonith
//! TYPE FILE` line does the same with the first line of FILE that is neither empty nor a
//! comment. Pacemaker's `stonith:TYPE` primitives take those names as parameters
//! (Pacemaker runs cluster-glue plugins where it was built with cluster-glue, as Debian's
//! and SUSE's are). HOST is the node that may use the device (`*`: any node): the device
//! is kept off the other nodes, which is how Pacemaker decides who may use a device.

use std::path::Path;

use ha_config::Stonith;

/// The configuration names of cluster-glue's plugins, in order (`stonith -t TYPE -n` of
/// cluster-glue 1.0.12).
pub const PLUGINS: &[(&str, &[&str])] = &[
    ("apcmaster", &["ipaddr", "login", "password"]),
    ("apcmastersnmp", &["ipaddr", "port", "community"]),
    ("apcsmart", &["ttydev", "hostlist"]),
    ("baytech", &["ipaddr", "login", "password"]),
    ("bladehpi", &["entity_root"]),
    ("cyclades", &["ipaddr", "login", "serialport"]),
    ("drac3", &["host", "login", "password"]),
    ("external/drac5", &["hostname", "ipaddr", "userid"]),
    (
        "external/dracmc-telnet",
        &[
            "nodename",
            "cyclades_ip",
            "cyclades_port",
            "servername",
            "username",
            "password",
        ],
    ),
    ("external/hetzner", &["hostname", "remote_ip"]),
    (
        "external/hmchttp",
        &["hostlist", "hmc_ipaddr", "user", "password"],
    ),
    (
        "external/ibmrsa",
        &["hostname", "ipaddr", "userid", "passwd", "type"],
    ),
    (
        "external/ibmrsa-telnet",
        &["nodename", "ip_address", "username", "password"],
    ),
    (
        "external/ipmi",
        &["hostname", "ipaddr", "userid", "passwd", "interface"],
    ),
    (
        "external/ippower9258",
        &["deviceip", "username", "password", "hostlist"],
    ),
    ("external/kdumpcheck", &["hostlist", "identity_file"]),
    (
        "external/libvirt",
        &["hostlist", "hypervisor_uri", "reboot_method"],
    ),
    (
        "external/nut",
        &[
            "hostname",
            "ups",
            "username",
            "password",
            "poweron",
            "poweroff",
            "reset",
            "statusvar",
            "upscmd",
            "upsc",
        ],
    ),
    ("external/rackpdu", &["hostlist", "pduip", "community"]),
    (
        "external/riloe",
        &[
            "hostlist",
            "ilo_hostname",
            "ilo_user",
            "ilo_password",
            "ilo_can_reset",
            "ilo_protocol",
            "ilo_powerdown_method",
            "ilo_proxyhost",
            "ilo_proxyport",
        ],
    ),
    ("external/ssh", &["hostlist"]),
    (
        "external/vcenter",
        &[
            "VI_SERVER",
            "VI_PORTNUMBER",
            "VI_PROTOCOL",
            "VI_SERVICEPATH",
            "VI_CREDSTORE",
            "HOSTLIST",
            "RESETPOWERON",
        ],
    ),
    ("external/vmware", &["device_host"]),
    ("external/xen0", &["hostlist", "dom0"]),
    (
        "external/xen0-ha",
        &["hostlist", "dom0_cluster_ip", "timeout"],
    ),
    ("ibmhmc", &["ipaddr"]),
    (
        "ipmilan",
        &[
            "hostname",
            "ipaddr",
            "port",
            "auth",
            "priv",
            "login",
            "password",
            "reset_method",
        ],
    ),
    ("meatware", &["hostlist"]),
    ("null", &["hostlist"]),
    ("nw_rpc100s", &["ttydev", "hostlist"]),
    (
        "rcd_serial",
        &["hostlist", "ttydev", "dtr_rts", "msduration"],
    ),
    ("rps10", &["serial_to_targets"]),
    ("ssh", &["hostlist"]),
    ("suicide", &[]),
    ("wti_mpc", &["ipaddr", "port", "community", "mib-version"]),
    ("wti_nps", &["ipaddr", "password"]),
];

/// The configuration names of plugin `kind`: the table, else `stonith -t KIND -n` when
/// `stonith_cmd` is given (a site's own external/ plugin).
pub fn plugin_names(kind: &str, stonith_cmd: Option<&Path>) -> Option<Vec<String>> {
    if let Some((_, names)) = PLUGINS.iter().find(|(k, _)| *k == kind) {
        return Some(names.iter().map(|s| s.to_string()).collect());
    }
    let out = std::process::Command::new(stonith_cmd?)
        .args(["-t", kind, "-n"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Some(names)
}

/// Gives the words of `params` to `names` as cluster-glue does: blank-separated words in
/// order, the last name taking the rest of the string. `None` when there are fewer words
/// than names (cluster-glue refuses that configuration).
pub fn split_params(names: &[String], params: &str) -> Option<Vec<(String, String)>> {
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c');
    let mut rest = params;
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        rest = rest.trim_start_matches(blank);
        if rest.is_empty() {
            return None;
        }
        let value = if i + 1 == names.len() {
            let v = rest;
            rest = "";
            v
        } else {
            let end = rest.find(blank).unwrap_or(rest.len());
            let (v, r) = rest.split_at(end);
            rest = r;
            v
        };
        out.push((name.clone(), value.to_string()));
    }
    Some(out)
}

/// One fencing device to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// The plugin (`external/ipmi`).
    pub kind: String,
    pub params: Vec<(String, String)>,
    /// The only node that may use it (`None`: any node).
    pub host: Option<String>,
    /// The ha.cf line.
    pub line: usize,
}

/// The first line of a `stonith` line's file that cluster-glue reads: not empty, not
/// starting with `#`.
fn config_file_line(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .ok_or_else(|| format!("{} holds no configuration line", path.display()))
}

/// The device of one ha.cf line, or why there is none.
pub fn device(
    st: &Stonith,
    nodes: &[String],
    stonith_cmd: Option<&Path>,
) -> Result<Device, String> {
    let what = match &st.host {
        None => format!("stonith {} {}", st.kind, st.params),
        Some(h) => format!("stonith_host {h} {} ...", st.kind),
    };
    let Some(names) = plugin_names(&st.kind, stonith_cmd) else {
        return Err(format!(
            "{what}: unknown STONITH plugin '{}' (not among cluster-glue's, and `stonith -t {} -n` did not name its parameters here): write the device by hand",
            st.kind, st.kind
        ));
    };
    let params_text = match &st.host {
        None => config_file_line(Path::new(&st.params)).map_err(|e| format!("{what}: {e}"))?,
        Some(_) => st.params.clone(),
    };
    let Some(params) = split_params(&names, &params_text) else {
        return Err(format!(
            "{what}: {} needs {} parameter(s) ({}), the line gives fewer, so heartbeat could not use it either: fix the line or write the device by hand",
            st.kind,
            names.len(),
            names.join(" ")
        ));
    };
    let host = match st.host.as_deref() {
        None | Some("*") => None,
        Some(h) if nodes.iter().any(|n| n == h) => Some(h.to_string()),
        Some(h) => {
            return Err(format!(
                "{what}: '{h}' is not a node of ha.cf, so no node uses this device: left out"
            ))
        }
    };
    Ok(Device {
        kind: st.kind.clone(),
        params,
        host,
        line: st.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn split_as_cluster_glue() {
        let n = names(&["hostname", "ipaddr", "userid", "passwd", "interface"]);
        assert_eq!(
            split_params(&n, "  b 10.0.0.2\tadmin secret lanplus").unwrap(),
            vec![
                ("hostname".to_string(), "b".to_string()),
                ("ipaddr".into(), "10.0.0.2".into()),
                ("userid".into(), "admin".into()),
                ("passwd".into(), "secret".into()),
                ("interface".into(), "lanplus".into()),
            ]
        );
        // The last name takes the rest, blanks included.
        assert_eq!(
            split_params(&names(&["hostlist"]), "a b  c").unwrap(),
            vec![("hostlist".to_string(), "a b  c".to_string())]
        );
        assert_eq!(split_params(&n, "b 10.0.0.2"), None);
        assert_eq!(split_params(&[], "anything").unwrap(), vec![]);
    }

    #[test]
    fn devices() {
        let nodes = names(&["a", "b"]);
        let st = |host: Option<&str>, kind: &str, params: &str| Stonith {
            host: host.map(str::to_string),
            kind: kind.into(),
            params: params.into(),
            line: 7,
        };
        let d = device(&st(Some("a"), "external/ssh", "b"), &nodes, None).unwrap();
        assert_eq!(d.host.as_deref(), Some("a"));
        assert_eq!(d.params, vec![("hostlist".to_string(), "b".to_string())]);
        let d = device(&st(Some("*"), "null", "a b"), &nodes, None).unwrap();
        assert_eq!(d.host, None);
        assert!(device(&st(Some("c"), "null", "a"), &nodes, None).is_err());
        assert!(device(&st(Some("a"), "frobnitz", "a"), &nodes, None).is_err());
        assert!(device(&st(Some("a"), "external/ipmi", "b 1.2.3.4"), &nodes, None).is_err());
        let f = std::env::temp_dir().join(format!("hb-cib-stonith-{}", std::process::id()));
        std::fs::write(&f, "# comment\n\nb 10.0.0.9 admin pw lan\n").unwrap();
        let d = device(
            &st(None, "external/ipmi", f.to_str().unwrap()),
            &nodes,
            None,
        )
        .unwrap();
        assert_eq!(d.params.len(), 5);
        assert_eq!(d.params[1].1, "10.0.0.9");
        std::fs::remove_file(&f).unwrap();
    }

    /// The table against cluster-glue's own answer (cluster-glue must be installed).
    #[test]
    #[ignore = "needs cluster-glue installed: compat-tests/test-all.sh runs it with --include-ignored"]
    fn table_matches_installed_cluster_glue() {
        let ok = std::process::Command::new("stonith")
            .arg("-L")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(ok, "cluster-glue's stonith is not installed");
        let mut compared = 0;
        for (kind, names) in PLUGINS {
            let out = std::process::Command::new("stonith")
                .args(["-t", kind, "-n"])
                .stderr(std::process::Stdio::null())
                .output()
                .unwrap();
            if !out.status.success() {
                continue;
            }
            let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            assert_eq!(got, names.to_vec(), "{kind}");
            compared += 1;
        }
        assert!(compared > 20, "only {compared} plugins answered");
    }
}
