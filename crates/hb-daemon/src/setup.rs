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
