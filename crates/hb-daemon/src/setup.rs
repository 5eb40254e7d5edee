//! From the parsed /etc/ha.d (crate `ha-config`) to what the core and the I/O layer take.

use ha_config::{AuthKey, Config, Medium as CfgMedium, MsgFmt};
use hb_core::timers::Timing;
use hb_io::media::MediumSpec;
use hb_wire::{AuthMethod, KeyRing, SendForm};

/// The authkeys file as the codec's key ring.
pub fn key_ring(cfg: &Config) -> Result<KeyRing, String> {
    let methods = cfg.authkeys.keys.iter().map(|(idx, k)| {
        let m = match k {
            AuthKey::Crc => AuthMethod::Crc,
            AuthKey::Md5(key) => AuthMethod::Md5(key.as_bytes().to_vec()),
            AuthKey::Sha1(key) => AuthMethod::Sha1(key.as_bytes().to_vec()),
        };
        (*idx, m)
    });
    KeyRing::new(cfg.authkeys.active, methods).map_err(|e| e.to_string())
}

pub fn timing(cfg: &Config) -> Timing {
    let h = &cfg.hacf;
    Timing {
        keepalive: h.keepalive,
        deadtime: h.deadtime,
        warntime: h.warntime,
        initdead: h.initdead,
        max_rexmit_delay: h.max_rexmit_delay,
    }
}

pub fn send_form(cfg: &Config) -> SendForm {
    match cfg.hacf.msgfmt {
        MsgFmt::Classic => SendForm::Classic,
        MsgFmt::Netstring => SendForm::Netstring,
    }
}

/// The media lines as specs, each with the UDP port it listens on (ucast and bcast use the
/// `udpport` in force at their first line, as the original does; mcast its own; serial lines
/// none). `bcast eth0 eth1` and `serial /dev/ttyS0 /dev/ttyS1` open one medium per device;
/// serial lines run at the baud rate in force at the first serial line. IPv6 media are
/// accepted by the configuration but not opened (the config test reports them as not acted
/// on).
pub fn media(cfg: &Config) -> Vec<(MediumSpec, u16)> {
    let mut out = Vec::new();
    for m in &cfg.hacf.media {
        match m {
            CfgMedium::Ucast {
                dev, addr, port, ..
            } => out.push((
                MediumSpec::Ucast {
                    dev: dev.clone(),
                    host: addr.to_string(),
                    port: None,
                },
                *port,
            )),
            CfgMedium::Bcast { devs, port, .. } => {
                for d in devs {
                    out.push((MediumSpec::Bcast { dev: d.clone() }, *port));
                }
            }
            CfgMedium::Serial { devs, .. } => {
                for d in devs {
                    let spec = MediumSpec::Serial {
                        dev: d.clone(),
                        baud: cfg.hacf.serial_baud,
                        lock_dir: hb_io::serial::LOCK_DIR.into(),
                    };
                    out.push((spec, 0));
                }
            }
            CfgMedium::Mcast {
                dev,
                group,
                port,
                ttl,
                loop_,
                ..
            } => out.push((
                MediumSpec::Mcast {
                    dev: dev.clone(),
                    group: *group,
                    port: *port,
                    ttl: *ttl,
                    loop_back: *loop_,
                },
                *port,
            )),
            _ => {}
        }
    }
    out
}

/// Where the daemon logs, and what it says about it once the logger exists.
pub struct Logging {
    pub config: hb_log::LogConfig,
    /// Lines to log at start: (entity, level, text).
    pub start_lines: Vec<(String, hb_log::Level, String)>,
    /// Problems to say on the terminal too, before daemonizing.
    pub warnings: Vec<String>,
}

/// The daemon's logging: ha.cf's `logfile`, `debugfile` and `logfacility`, or with `use_logd`
/// on (the default when ha.cf names none of them) where 2.0.8's ha_logd would have written,
/// from logd.cf beside `config_dir` (see `hb_log::logd`).
pub fn logging(
    hacf: &ha_config::HaCf,
    config_dir: &std::path::Path,
    stderr: bool,
    debug_level: u32,
) -> Logging {
    use hb_log::{Level, LogConfig, ENTITY};
    let mut start_lines = Vec::new();
    let mut warnings = Vec::new();
    let mut config = if hacf.uses_logd() {
        let setup = ha_config::logging::logd_setup(config_dir).unwrap_or_else(|e| {
            warnings.push(format!("{e}: logging as ha_logd does without it"));
            ha_config::logging::LogdSetup {
                path: hb_log::logd::logd_cf_path(config_dir),
                config: hb_log::logd::LogdConfig::default(),
                issues: Vec::new(),
            }
        });
        // What 2.0.8's ha_logd and heartbeat say at start.
        let c = &setup.config;
        start_lines.push((c.entity.clone(), Level::Info, c.started_line()));
        let say = |level, text: &str| (ENTITY.to_string(), level, text.to_string());
        if hacf.use_logd.is_none() {
            start_lines.push(say(Level::Info, "No log entry found in ha.cf -- use logd"));
        } else {
            start_lines.push(say(Level::Info, "Enabling logging daemon "));
            start_lines.push(say(
                Level::Info,
                "logfile and debug file are those specified in logd config file (default /etc/logd.cf)",
            ));
        }
        let names = hacf.log_directives();
        if !names.is_empty() {
            start_lines.push(say(
                Level::Warn,
                &format!(
                    "logd is enabled but {} is still configured in ha.cf",
                    names.join("/")
                ),
            ));
        }
        for i in &setup.issues {
            let w = format!("{}:{}: {}", setup.path.display(), i.line, i.text);
            start_lines.push(say(Level::Warn, &w));
            warnings.push(w);
        }
        start_lines.push(say(Level::Info, &ha_config::logging::logd_summary(&setup)));
        c.log_config(ENTITY)
    } else {
        LogConfig {
            logfile: hacf.logfile.clone(),
            debugfile: hacf.debugfile.clone(),
            facility: hacf
                .logfacility
                .as_deref()
                .and_then(|f| hb_log::parse_facility(f).ok().flatten()),
            ..LogConfig::default()
        }
    };
    config.stderr = stderr;
    config.debug_level = debug_level;
    config.file_owner = hb_sys::cluster_file_owner();
    Logging {
        config,
        start_lines,
        warnings,
    }
}

#[cfg(test)]
mod logging_tests {
    use super::*;
    use std::path::Path;

    fn hacf(text: &str) -> ha_config::HaCf {
        let text = format!("{text}ucast eth1 192.0.2.2\nnode a\nnode b\n");
        let (c, d) = ha_config::parse_hacf(&text, "ha.cf", &ha_config::NoResolver);
        c.unwrap_or_else(|| panic!("{d:?}"))
    }

    #[test]
    fn ha_cf_or_logd_cf() {
        let dir = std::env::temp_dir().join(format!("hb-daemon-logging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("ha.d")).unwrap();
        let ha = dir.join("ha.d");
        // ha.cf names its files: those.
        let l = logging(
            &hacf("logfile /var/log/x\nlogfacility daemon\n"),
            &ha,
            true,
            2,
        );
        assert_eq!(l.config.logfile.as_deref(), Some(Path::new("/var/log/x")));
        assert_eq!(l.config.facility, Some(hb_log::Facility::DAEMON));
        assert!(l.config.stderr && l.config.debug_level == 2);
        assert!(l.start_lines.is_empty() && l.warnings.is_empty());
        // Nothing in ha.cf and no logd.cf: ha_logd's defaults (local7, no file).
        let l = logging(&hacf(""), &ha, false, 0);
        assert_eq!(
            (l.config.logfile, l.config.facility),
            (None, Some(hb_log::Facility::LOCAL7))
        );
        assert_eq!(l.config.entity, "heartbeat");
        let texts: Vec<&str> = l.start_lines.iter().map(|x| x.2.as_str()).collect();
        assert_eq!(texts[0], "logd started with default configuration.");
        assert_eq!(l.start_lines[0].0, "logd");
        assert_eq!(texts[1], "No log entry found in ha.cf -- use logd");
        // logd.cf: its files, its facility, its entity; a bad line is reported.
        std::fs::write(
            dir.join("logd.cf"),
            format!(
                "logfile {}/l\ndebugfile {}/d\nlogfacility none\nentity mylogd\nnonsense\n",
                dir.display(),
                dir.display()
            ),
        )
        .unwrap();
        let l = logging(&hacf("debugfile /y\nuse_logd yes\n"), &ha, false, 0);
        assert_eq!(l.config.logfile, Some(dir.join("l")));
        assert_eq!(l.config.debugfile, Some(dir.join("d")));
        assert_eq!(l.config.facility, None);
        assert_eq!(l.start_lines[0].0, "mylogd");
        let texts: Vec<&str> = l.start_lines.iter().map(|x| x.2.as_str()).collect();
        assert!(
            texts.contains(&"logd is enabled but debugfile is still configured in ha.cf"),
            "{texts:?}"
        );
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        let f = dir.join("logd.cf").display().to_string();
        assert_eq!(
            l.warnings[0],
            format!("{f}:5: Illegal directive [nonsense] in {f}")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
