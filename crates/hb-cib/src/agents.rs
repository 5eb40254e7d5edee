//! One haresources resource as a Pacemaker primitive.
//!
//! Resources are split by [`ha_config::Resource::parse`], the splitter the daemon
//! runs the scripts with, so the mapping starts from exactly what heartbeat runs.
//!
//! A v1 resource `Name::arg1::arg2` runs `/etc/ha.d/resource.d/Name arg1 arg2 start`, else
//! `/etc/init.d/Name arg1 arg2 start`. The scripts resource-agents installs in resource.d
//! are wrappers: each splits its arguments into `OCF_RESKEY_*` variables and runs the OCF
//! agent of the same name. [`WRAPPERS`] holds that split for every wrapper (read from the
//! wrappers of resource-agents 4.12 and checked against the agents' metadata by the
//! tests), so `IPaddr::10.0.0.1/24/eth0/10.0.0.255` becomes `ocf:heartbeat:IPaddr` with
//! `ip`, `cidr_netmask`, `nic` and `broadcast`, exactly the variables the wrapper sets.
//!
//! Other names: an init script without arguments is `lsb:NAME`; a systemd unit (no init
//! script) is `systemd:NAME`; a name found nowhere on this machine is `service:NAME`
//! (Pacemaker picks the init script or the unit of that name); `OCF::AGENT::INSTANCE` is
//! the agent with the variables of the instance file. A script of resource.d that is not
//! a wrapper, and an init script given arguments, have no equivalent in Pacemaker 2
//! (the `heartbeat` class of 1.1 is gone, LSB scripts take no arguments): they are
//! reported, never guessed.

use std::path::{Path, PathBuf};

use ha_config::Resource;
use hb_agents::agent::sendarp;
use hb_agents::agent::Spec as IpSpec;

/// Where the scripts and agents are looked up.
#[derive(Clone, Debug)]
pub struct Env {
    /// The configuration directory (its `resource.d` and `conf/OCF`).
    pub ha_dir: PathBuf,
    /// Init script directories, in the original's order.
    pub init_dirs: Vec<PathBuf>,
    /// systemd unit directories.
    pub systemd_dirs: Vec<PathBuf>,
    /// The OCF agents' root (`/usr/lib/ocf/resource.d`, one directory per provider).
    pub ocf_dir: PathBuf,
    /// The `stonith` program of cluster-glue, asked for the parameter names of a plugin
    /// the built-in table does not know (`None`: never asked).
    pub stonith_cmd: Option<PathBuf>,
}

impl Env {
    /// This machine's directories, with `ha_dir` as the configuration directory.
    pub fn system(ha_dir: &Path) -> Env {
        Env {
            ha_dir: ha_dir.to_path_buf(),
            init_dirs: ha_config::INIT_DIRS.iter().map(PathBuf::from).collect(),
            systemd_dirs: [
                "/etc/systemd/system",
                "/run/systemd/system",
                "/usr/lib/systemd/system",
                "/lib/systemd/system",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            ocf_dir: PathBuf::from("/usr/lib/ocf/resource.d"),
            stonith_cmd: Some(PathBuf::from("stonith")),
        }
    }
}

/// A resource that maps to a primitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// `ocf`, `lsb`, `systemd` or `service`.
    pub class: &'static str,
    pub provider: Option<String>,
    pub kind: String,
    pub params: Vec<(String, String)>,
    /// The monitor timeout the agent's metadata advises, in seconds.
    pub monitor_timeout: u32,
    /// What the admin should know about this mapping.
    pub notes: Vec<String>,
    /// Things to fix before loading (the mapping is still made).
    pub warnings: Vec<String>,
}

/// How a resource maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mapping {
    Mapped(Mapped),
    /// No equivalent: why, and what to do.
    NotMapped(String),
}

/// How a wrapper turns its arguments into the agent's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// `ADDR[/BITS[/NIC[/BROADCAST]]]`, as IPaddr's and IPaddr2's wrappers split it.
    IpSpec,
    /// `ADDR[/BITS[/NIC]]` (IPv6addr).
    Ip6Spec,
    /// `ADDR/NIC` (SendArp).
    IpNic,
    /// The arguments in order, one parameter each; `min`..=`max` arguments.
    Positional { min: usize, max: usize },
    /// Every argument, joined by a blank, in the first parameter (AudibleAlarm).
    Joined,
    /// WAS: one argument, a port when all digits, else a configuration file.
    PortOrConfig,
}

/// One resource.d wrapper of resource-agents and the OCF agent it runs.
#[derive(Clone, Copy, Debug)]
pub struct Wrapper {
    /// The v1 name, which is also the OCF agent's.
    pub name: &'static str,
    pub split: Split,
    /// The parameters the wrapper sets, in argument order.
    pub params: &'static [&'static str],
    /// Parameters the wrapper sets whatever the arguments (IPaddr2's `lvs_support=1`,
    /// WinPopup's `hostfile=hosts`, Delay's `startdelay=10` when not given).
    pub fixed: &'static [(&'static str, &'static str)],
    /// The monitor timeout of the agent's metadata, seconds.
    pub monitor_timeout: u32,
    /// The wrapper's usage line.
    pub usage: &'static str,
}

/// Every wrapper resource-agents installs in /etc/ha.d/resource.d.
pub const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        name: "IPaddr",
        split: Split::IpSpec,
        params: &["ip", "cidr_netmask", "nic", "broadcast"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "IPaddr::ADDR[/BITS[/NIC[/BROADCAST]]]",
    },
    Wrapper {
        name: "IPaddr2",
        split: Split::IpSpec,
        params: &["ip", "cidr_netmask", "nic", "broadcast", "iflabel"],
        fixed: &[("lvs_support", "true")],
        monitor_timeout: 20,
        usage: "IPaddr2::ADDR[/BITS[/NIC[:LABEL][/BROADCAST]]]",
    },
    Wrapper {
        name: "IPsrcaddr",
        split: Split::Positional { min: 1, max: 1 },
        params: &["ipaddress"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "IPsrcaddr::ADDR",
    },
    Wrapper {
        name: "IPv6addr",
        split: Split::Ip6Spec,
        params: &["ipv6addr", "cidr_netmask", "nic"],
        fixed: &[],
        monitor_timeout: 15,
        usage: "IPv6addr::ADDR[/BITS[/NIC]]",
    },
    Wrapper {
        name: "SendArp",
        split: Split::IpNic,
        params: &["ip", "nic"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "SendArp::ADDR/NIC",
    },
    Wrapper {
        name: "Filesystem",
        split: Split::Positional { min: 2, max: 4 },
        params: &["device", "directory", "fstype", "options"],
        fixed: &[],
        monitor_timeout: 40,
        usage: "Filesystem::DEVICE::DIRECTORY[::FSTYPE[::OPTIONS]]",
    },
    Wrapper {
        name: "LVM",
        split: Split::Positional { min: 1, max: 1 },
        params: &["volgrpname"],
        fixed: &[],
        monitor_timeout: 30,
        usage: "LVM::VOLUMEGROUP",
    },
    Wrapper {
        name: "LinuxSCSI",
        split: Split::Positional { min: 1, max: 1 },
        params: &["scsi"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "LinuxSCSI::HOST:CHANNEL:TARGET[:LUN]",
    },
    Wrapper {
        name: "MailTo",
        split: Split::Positional { min: 1, max: 2 },
        params: &["email", "subject"],
        fixed: &[],
        monitor_timeout: 10,
        usage: "MailTo::EMAIL[::SUBJECT]",
    },
    Wrapper {
        name: "Raid1",
        split: Split::Positional { min: 2, max: 2 },
        params: &["raidconf", "raiddev"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "Raid1::RAIDCONF::MDDEV",
    },
    Wrapper {
        name: "ServeRAID",
        split: Split::Positional { min: 2, max: 2 },
        params: &["serveraid", "mergegroup"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "ServeRAID::ADAPTER::MERGEGROUP",
    },
    Wrapper {
        name: "WAS",
        split: Split::PortOrConfig,
        params: &["port", "config"],
        fixed: &[],
        monitor_timeout: 30,
        usage: "WAS[::CONFIGFILE|::PORT]",
    },
    Wrapper {
        name: "WinPopup",
        split: Split::Positional { min: 0, max: 1 },
        params: &["hostfile"],
        fixed: &[("hostfile", "hosts")],
        monitor_timeout: 10,
        usage: "WinPopup[::HOSTFILE]",
    },
    Wrapper {
        name: "Xinetd",
        split: Split::Positional { min: 1, max: 1 },
        params: &["service"],
        fixed: &[],
        monitor_timeout: 10,
        usage: "Xinetd::SERVICE",
    },
    Wrapper {
        name: "apache",
        split: Split::Positional { min: 0, max: 1 },
        params: &["configfile"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "apache[::CONFIGFILE]",
    },
    Wrapper {
        name: "db2",
        split: Split::Positional { min: 1, max: 1 },
        params: &["instance"],
        fixed: &[],
        monitor_timeout: 60,
        usage: "db2::INSTANCE",
    },
    Wrapper {
        name: "ids",
        split: Split::Positional { min: 0, max: 3 },
        params: &["informixdir", "informixserver", "onconfig"],
        fixed: &[],
        monitor_timeout: 30,
        usage: "ids[::INFORMIXDIR::INFORMIXSERVER::ONCONFIG]",
    },
    Wrapper {
        name: "portblock",
        split: Split::Positional { min: 3, max: 3 },
        params: &["protocol", "portno", "action"],
        fixed: &[],
        monitor_timeout: 10,
        usage: "portblock::tcp|udp::PORTS::block|unblock",
    },
    Wrapper {
        name: "AudibleAlarm",
        split: Split::Joined,
        params: &["nodelist"],
        fixed: &[],
        monitor_timeout: 10,
        usage: "AudibleAlarm[::NODE...]",
    },
    Wrapper {
        name: "Delay",
        split: Split::Positional { min: 0, max: 2 },
        params: &["startdelay", "stopdelay"],
        fixed: &[("startdelay", "10")],
        monitor_timeout: 30,
        usage: "Delay[::STARTDELAY[::STOPDELAY]]",
    },
    Wrapper {
        name: "ICP",
        split: Split::Positional { min: 2, max: 2 },
        params: &["driveid", "device"],
        fixed: &[],
        monitor_timeout: 20,
        usage: "ICP::DRIVEID::DEVICE",
    },
];

/// The monitor timeout used for `lsb:`, `systemd:` and `service:` resources, and for an
/// OCF agent whose metadata we do not know (Pacemaker's default operation timeout).
pub const DEFAULT_MONITOR_TIMEOUT: u32 = 20;

/// The wrapper of that name.
pub fn wrapper(name: &str) -> Option<&'static Wrapper> {
    WRAPPERS.iter().find(|w| w.name == name)
}

fn is_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// Maps one resource of haresources.
pub fn map_resource(r: &Resource, env: &Env) -> Mapping {
    if let Some(w) = wrapper(&r.script) {
        return map_wrapper(w, r);
    }
    if r.script == "OCF" {
        return map_ocf_instance(r, env);
    }
    if r.script == "drbddisk" {
        return Mapping::NotMapped(format!(
            "'{}': DRBD under Pacemaker is a promotable clone of ocf:linbit:drbd (drbd_resource={}) with an order and a colocation constraint towards this group, not a group member; write them by hand (see docs/MIGRATING-TO-PACEMAKER.md)",
            r.spec,
            r.args.first().map_or("all", String::as_str)
        ));
    }
    // The script the daemon would run (the one lookup): in resource.d, or an init script.
    let resource_dir = env.ha_dir.join("resource.d");
    let found = ha_config::locate_script(&resource_dir, &env.init_dirs, &r.script);
    if let Some(resource_d) = found.as_ref().filter(|p| p.starts_with(&resource_dir)) {
        return Mapping::NotMapped(format!(
            "'{}': {} is a heartbeat resource script, and Pacemaker 2 has no class for those (1.1's `heartbeat` class is gone): write an OCF agent for it, or, if it is LSB-compliant (status exits 3 when stopped) and takes no arguments, install it as /etc/init.d/{} and use lsb:{}",
            r.spec,
            resource_d.display(),
            r.script,
            r.script
        ));
    }
    let init = found;
    let unit = env
        .systemd_dirs
        .iter()
        .map(|d| d.join(format!("{}.service", r.script)))
        .find(|p| p.exists());
    let (class, found) = match (&init, &unit) {
        (Some(p), _) => ("lsb", Some(p.display().to_string())),
        (None, Some(p)) => ("systemd", Some(p.display().to_string())),
        (None, None) => ("service", None),
    };
    if !r.args.is_empty() {
        let what = match (&init, &unit) {
            (Some(p), _) => format!("the init script {}", p.display()),
            (None, Some(p)) => format!("the systemd unit {}", p.display()),
            _ => "an init script".to_string(),
        };
        return Mapping::NotMapped(format!(
            "'{}': {what} given arguments ({}): Pacemaker runs init scripts and units without arguments, so there is no equivalent; write an OCF agent, or an init script that needs none",
            r.spec,
            r.args.join(" ")
        ));
    }
    let mut m = Mapped {
        class,
        provider: None,
        kind: r.script.clone(),
        params: Vec::new(),
        monitor_timeout: DEFAULT_MONITOR_TIMEOUT,
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    match found {
        Some(p) if class == "lsb" => m.notes.push(format!(
            "'{}': the init script {p}, as lsb:{} (Pacemaker needs it LSB-compliant: status exits 3 when stopped, start and stop succeed when already done)",
            r.spec, r.script
        )),
        Some(p) => m.notes.push(format!(
            "'{}': no init script, the systemd unit {p}: systemd:{}",
            r.spec, r.script
        )),
        None => m.warnings.push(format!(
            "'{}': found neither in {}/resource.d nor as an init script or systemd unit here: written as service:{} (Pacemaker runs the init script or the unit of that name); check that the Pacemaker nodes have one",
            r.spec,
            env.ha_dir.display(),
            r.script
        )),
    }
    Mapping::Mapped(m)
}

fn map_wrapper(w: &Wrapper, r: &Resource) -> Mapping {
    let a = &r.args;
    let bad_count = || {
        let hint = if w.name == "IPv6addr" {
            " (haresources splits words at `::`, so an IPv6 address must be written out in full, without `::`)"
        } else {
            ""
        };
        Mapping::NotMapped(format!(
            "'{}': {} argument(s), but the {} wrapper takes {} and refuses anything else (so heartbeat cannot start it either); fix the resource first{hint}",
            r.spec,
            a.len(),
            w.name,
            w.usage
        ))
    };
    let mut params: Vec<(String, String)> = Vec::new();
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    fn set(params: &mut Vec<(String, String)>, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        match params.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 = value.to_string(),
            None => params.push((name.to_string(), value.to_string())),
        }
    }
    match w.split {
        Split::IpSpec => {
            let [arg] = a.as_slice() else {
                return bad_count();
            };
            let s = IpSpec::parse(arg);
            set(&mut params, "ip", &s.ip);
            set(&mut params, "cidr_netmask", &s.netmask);
            let (nic, label) = match s.nic.split_once(':') {
                Some((n, l)) => (n, l),
                None => (s.nic.as_str(), ""),
            };
            set(&mut params, "nic", nic);
            if !label.is_empty() {
                if w.name == "IPaddr2" {
                    set(&mut params, "iflabel", label);
                } else {
                    notes.push(format!(
                        "'{}': the label ':{label}' is dropped: the IPaddr agent names its aliases itself (it dropped it under heartbeat too)",
                        r.spec
                    ));
                }
            }
            set(&mut params, "broadcast", &s.broadcast);
            if w.name == "IPaddr2" {
                notes.push(format!(
                    "'{}': lvs_support=true, as heartbeat's IPaddr2 wrapper sets it",
                    r.spec
                ));
            }
        }
        Split::Ip6Spec => {
            let [arg] = a.as_slice() else {
                return bad_count();
            };
            let mut parts = arg.split('/');
            set(&mut params, "ipv6addr", parts.next().unwrap_or(""));
            set(&mut params, "cidr_netmask", parts.next().unwrap_or(""));
            set(&mut params, "nic", parts.next().unwrap_or(""));
        }
        Split::IpNic => {
            let [arg] = a.as_slice() else {
                return bad_count();
            };
            let (ip, nic) = sendarp::split(arg);
            set(&mut params, "ip", &ip);
            set(&mut params, "nic", &nic);
        }
        Split::Positional { min, max } => {
            if a.len() < min || a.len() > max || (w.name == "ids" && !matches!(a.len(), 0 | 3)) {
                return bad_count();
            }
            for (name, value) in w.params.iter().zip(a) {
                set(&mut params, name, value);
            }
        }
        Split::Joined => {
            set(&mut params, "nodelist", &a.join(" "));
        }
        Split::PortOrConfig => match a.as_slice() {
            [] => {}
            [v] if v.bytes().all(|b| b.is_ascii_digit()) => set(&mut params, "port", v),
            [v] => set(&mut params, "config", v),
            _ => return bad_count(),
        },
    }
    // What the wrapper sets by itself, where the arguments did not.
    for (n, v) in w.fixed {
        if !params.iter().any(|(p, _)| p == n) {
            params.push((n.to_string(), v.to_string()));
        }
    }
    if w.name == "Filesystem" && a.len() < 3 {
        warnings.push(format!(
            "'{}': no file system type: the Filesystem agent's metadata requires fstype (heartbeat let mount guess); add fstype to the primitive",
            r.spec
        ));
    }
    Mapping::Mapped(Mapped {
        class: "ocf",
        provider: Some("heartbeat".into()),
        kind: w.name.to_string(),
        params,
        monitor_timeout: w.monitor_timeout,
        notes,
        warnings,
    })
}

/// `OCF::AGENT::INSTANCE`: the OCF wrapper runs `heartbeat/AGENT`, else the first
/// `PROVIDER/AGENT`, under the OCF root with the variables of `HA_DIR/conf/OCF/AGENT/INSTANCE` (a shell file of
/// `NAME=value` lines) exported.
fn map_ocf_instance(r: &Resource, env: &Env) -> Mapping {
    let [agent, instance] = r.args.as_slice() else {
        return Mapping::NotMapped(format!(
            "'{}': the OCF wrapper takes OCF::AGENT::INSTANCE",
            r.spec
        ));
    };
    let file = env.ha_dir.join("conf/OCF").join(agent).join(instance);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            return Mapping::NotMapped(format!(
                "'{}': cannot read its instance file {}: {e}",
                r.spec,
                file.display()
            ))
        }
    };
    let mut providers: Vec<String> = std::fs::read_dir(&env.ocf_dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| is_file(&e.path().join(agent)))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    // heartbeat's own first, as our OCF wrapper looks (the original's took the first in
    // name order).
    providers.sort_by_key(|p| (p != "heartbeat", p.clone()));
    let mut warnings = Vec::new();
    let provider = match providers.first() {
        Some(p) => p.clone(),
        None => {
            warnings.push(format!(
                "'{}': no OCF agent {agent} under {} here: provider written as heartbeat; check it",
                r.spec,
                env.ocf_dir.display()
            ));
            "heartbeat".to_string()
        }
    };
    let mut params: Vec<(String, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        let Some(param) = name.trim().strip_prefix("OCF_RESKEY_") else {
            warnings.push(format!(
                "{}:{}: '{}' is not an OCF_RESKEY_ variable: not a parameter, left out",
                file.display(),
                i + 1,
                name.trim()
            ));
            continue;
        };
        if value.contains(['$', '`']) {
            warnings.push(format!(
                "{}:{}: the value of {param} uses shell expansion ({value}), which the shell did for heartbeat: write the expanded value",
                file.display(),
                i + 1
            ));
        }
        params.retain(|(n, _)| n != param);
        params.push((param.to_string(), value));
    }
    Mapping::Mapped(Mapped {
        class: "ocf",
        provider: Some(provider.clone()),
        kind: agent.clone(),
        params,
        monitor_timeout: DEFAULT_MONITOR_TIMEOUT,
        notes: vec![format!(
            "'{}': ocf:{provider}:{agent} with the variables of {}",
            r.spec,
            file.display()
        )],
        warnings,
    })
}

/// A shell word's value when it is quoted as a whole ('...' or "...").
fn unquote(v: &str) -> String {
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// A readable name for a resource's primitive, before it is made a unique XML ID:
/// `IPaddr_10.0.0.1`, `Filesystem_data`, `httpd`, `MailTo_root`.
pub fn base_name(r: &Resource) -> String {
    let first = r.args.first().map(String::as_str).unwrap_or("");
    match r.script.as_str() {
        "IPaddr" | "IPaddr2" | "IPsrcaddr" | "SendArp" | "IPv6addr" => {
            format!("{}_{}", r.script, first.split('/').next().unwrap_or(""))
        }
        "Filesystem" => match r.args.get(1) {
            Some(dir) => {
                let d = dir.trim_matches('/').replace('/', "_");
                format!("Filesystem_{}", if d.is_empty() { "root" } else { &d })
            }
            None => format!("Filesystem_{first}"),
        },
        "OCF" => r.args.join("_"),
        _ if first.is_empty() => r.script.clone(),
        _ => format!("{}_{first}", r.script),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_in(dir: &Path) -> Env {
        Env {
            ha_dir: dir.join("ha.d"),
            init_dirs: vec![dir.join("init.d")],
            systemd_dirs: vec![dir.join("systemd")],
            ocf_dir: dir.join("ocf"),
            stonith_cmd: None,
        }
    }

    fn mapped(spec: &str) -> Mapped {
        let env = env_in(Path::new("/nonexistent-hb-cib"));
        match map_resource(&Resource::parse(spec), &env) {
            Mapping::Mapped(m) => m,
            Mapping::NotMapped(why) => panic!("{spec}: not mapped: {why}"),
        }
    }

    fn params(m: &Mapped) -> Vec<(&str, &str)> {
        m.params
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }

    #[test]
    fn ip_forms() {
        let m = mapped("IPaddr::10.0.0.1/24/eth0/10.0.0.255");
        assert_eq!((m.class, m.kind.as_str()), ("ocf", "IPaddr"));
        assert_eq!(
            params(&m),
            [
                ("ip", "10.0.0.1"),
                ("cidr_netmask", "24"),
                ("nic", "eth0"),
                ("broadcast", "10.0.0.255")
            ]
        );
        // A bare address is IPaddr; a third part starting with a digit is the broadcast.
        let m = mapped("10.0.0.1/24/10.0.0.255");
        assert_eq!(m.kind, "IPaddr");
        assert_eq!(
            params(&m),
            [
                ("ip", "10.0.0.1"),
                ("cidr_netmask", "24"),
                ("broadcast", "10.0.0.255")
            ]
        );
        assert_eq!(params(&mapped("1.2.3.4")), [("ip", "1.2.3.4")]);
        // ResourceManager's quirk, which the daemon keeps: an address followed by `::` is
        // IPaddr, and its argument is what follows the first `::`.
        assert_eq!(params(&mapped("10.0.0.1::x")), [("ip", "x")]);
        // IPaddr2: the label goes to iflabel, and the wrapper's lvs_support stays.
        let m = mapped("IPaddr2::10.0.0.1/24/eth0:web");
        assert_eq!(
            params(&m),
            [
                ("ip", "10.0.0.1"),
                ("cidr_netmask", "24"),
                ("nic", "eth0"),
                ("iflabel", "web"),
                ("lvs_support", "true")
            ]
        );
        let m = mapped("IPaddr::10.0.0.1/24/eth0:1");
        assert!(params(&m).contains(&("nic", "eth0")));
        assert!(m.notes.iter().any(|n| n.contains("':1' is dropped")));
        assert_eq!(
            params(&mapped("IPv6addr::2001:db8:0:0:0:0:0:1/64/eth0")),
            [
                ("ipv6addr", "2001:db8:0:0:0:0:0:1"),
                ("cidr_netmask", "64"),
                ("nic", "eth0")
            ]
        );
        assert_eq!(
            params(&mapped("SendArp::10.0.0.1/eth0")),
            [("ip", "10.0.0.1"), ("nic", "eth0")]
        );
        assert_eq!(
            params(&mapped("IPsrcaddr::10.0.0.1")),
            [("ipaddress", "10.0.0.1")]
        );
    }

    #[test]
    fn positional_forms() {
        let m = mapped("Filesystem::/dev/sda1::/data::ext3");
        assert_eq!(
            params(&m),
            [
                ("device", "/dev/sda1"),
                ("directory", "/data"),
                ("fstype", "ext3")
            ]
        );
        assert!(m.warnings.is_empty());
        let m = mapped("Filesystem::/dev/sda1::/data");
        assert!(m.warnings.iter().any(|w| w.contains("fstype")));
        assert_eq!(
            params(&mapped("Filesystem::/dev/sda1::/data::ext3::noatime,ro")),
            [
                ("device", "/dev/sda1"),
                ("directory", "/data"),
                ("fstype", "ext3"),
                ("options", "noatime,ro")
            ]
        );
        assert_eq!(
            params(&mapped("MailTo::root::failover")),
            [("email", "root"), ("subject", "failover")]
        );
        assert_eq!(params(&mapped("WinPopup")), [("hostfile", "hosts")]);
        assert_eq!(params(&mapped("Delay")), [("startdelay", "10")]);
        assert_eq!(
            params(&mapped("Delay::5::3")),
            [("startdelay", "5"), ("stopdelay", "3")]
        );
        assert_eq!(params(&mapped("WAS::9080")), [("port", "9080")]);
        assert_eq!(
            params(&mapped("WAS::/opt/was.xml")),
            [("config", "/opt/was.xml")]
        );
        assert_eq!(params(&mapped("AudibleAlarm::a::b")), [("nodelist", "a b")]);
        assert_eq!(
            params(&mapped("portblock::tcp::80,443::block")),
            [
                ("protocol", "tcp"),
                ("portno", "80,443"),
                ("action", "block")
            ]
        );
        assert_eq!(
            params(&mapped("apache::/etc/httpd/conf/httpd.conf")),
            [("configfile", "/etc/httpd/conf/httpd.conf")]
        );
    }

    #[test]
    fn wrong_argument_counts_are_not_guessed() {
        let env = env_in(Path::new("/nonexistent-hb-cib"));
        for spec in [
            "Filesystem::/dev/sda1",
            "Raid1::/etc/raidtab",
            "ids::a::b",
            "IPaddr::1.2.3.4::x",
            "portblock::tcp::80",
            "IPv6addr::2001:db8::1/64",
        ] {
            let m = map_resource(&Resource::parse(spec), &env);
            assert!(
                matches!(&m, Mapping::NotMapped(w) if w.contains("wrapper takes")),
                "{spec}: {m:?}"
            );
        }
    }

    #[test]
    fn scripts_init_units_and_unknown() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("hb-cib-agents-{}", std::process::id()));
        let env = env_in(&dir);
        for d in [
            "ha.d/resource.d",
            "init.d",
            "systemd",
            "ocf/heartbeat",
            "ha.d/conf/OCF/Dummy",
        ] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        for f in [
            "ha.d/resource.d/myscript",
            "init.d/httpd",
            "ocf/heartbeat/Dummy",
        ] {
            std::fs::write(dir.join(f), "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.join("systemd/mariadb.service"), "[Unit]\n").unwrap();
        std::fs::write(
            dir.join("ha.d/conf/OCF/Dummy/one"),
            "# a comment\nOCF_RESKEY_state=\"/run/d one\"  # trailing\nexport OCF_RESKEY_fake=1\nOTHER=x\n",
        )
        .unwrap();
        let m = |s: &str| map_resource(&Resource::parse(s), &env);
        match m("httpd") {
            Mapping::Mapped(x) => assert_eq!((x.class, x.kind.as_str()), ("lsb", "httpd")),
            o => panic!("{o:?}"),
        }
        match m("mariadb") {
            Mapping::Mapped(x) => assert_eq!(x.class, "systemd"),
            o => panic!("{o:?}"),
        }
        match m("nothere") {
            Mapping::Mapped(x) => {
                assert_eq!(x.class, "service");
                assert!(!x.warnings.is_empty());
            }
            o => panic!("{o:?}"),
        }
        assert!(
            matches!(m("myscript"), Mapping::NotMapped(w) if w.contains("heartbeat resource script"))
        );
        assert!(matches!(m("myscript::a::b"), Mapping::NotMapped(_)));
        assert!(matches!(m("httpd::a"), Mapping::NotMapped(w) if w.contains("without arguments")));
        assert!(
            matches!(m("drbddisk::r0"), Mapping::NotMapped(w) if w.contains("ocf:linbit:drbd"))
        );
        match m("OCF::Dummy::one") {
            Mapping::Mapped(x) => {
                assert_eq!(x.provider.as_deref(), Some("heartbeat"));
                assert_eq!(x.kind, "Dummy");
                assert_eq!(params(&x), [("state", "/run/d one"), ("fake", "1")]);
                assert!(x.warnings.iter().any(|w| w.contains("OTHER")));
            }
            o => panic!("{o:?}"),
        }
        assert!(matches!(m("OCF::Dummy::two"), Mapping::NotMapped(w) if w.contains("cannot read")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names() {
        let n = |s: &str| base_name(&Resource::parse(s));
        assert_eq!(n("10.0.0.1/24"), "IPaddr_10.0.0.1");
        assert_eq!(n("IPaddr2::10.0.0.1/24/eth0"), "IPaddr2_10.0.0.1");
        assert_eq!(
            n("Filesystem::/dev/sda1::/srv/data::ext3"),
            "Filesystem_srv_data"
        );
        assert_eq!(n("Filesystem::/dev/sda1::/::ext3"), "Filesystem_root");
        assert_eq!(n("httpd"), "httpd");
        assert_eq!(n("MailTo::root::x"), "MailTo_root");
    }
}
