//! A configuration back to ha.cf text.

use super::table::directive;
use super::values::{bool_word, fmt_ms, parse_bool};
use super::{AutoFailback, HaCf, Medium};
use crate::lines::unsigned;

fn push(s: &mut String, k: &str, v: &str) {
    s.push_str(k);
    s.push(' ');
    s.push_str(v);
    s.push('\n');
}

/// Writes `cfg` back as ha.cf text: parsing it gives the same configuration (the
/// round-trip property the tests check).
pub fn render_hacf(cfg: &HaCf) -> String {
    let mut s = String::new();
    // A baud line that came after the first serial line does not set the serial speed:
    // it is written after the media so that it still does not.
    let has_serial = cfg.media.iter().any(|m| matches!(m, Medium::Serial { .. }));
    let late_baud = has_serial && cfg.serial_baud != cfg.baud;
    render_values(cfg, late_baud, &mut s);
    render_failback(cfg, &mut s);
    for n in &cfg.nodes {
        push(&mut s, "node", n);
    }
    let port_now = render_media(cfg, &mut s);
    if let (true, Some(v)) = (late_baud, cfg.parameter("baud")) {
        push(&mut s, "baud", v);
    }
    let explicit_port = cfg
        .parameter("udpport")
        .map(|v| v != "694")
        .unwrap_or(false)
        || port_now.is_some();
    if port_now != Some(cfg.udpport) && explicit_port {
        push(&mut s, "udpport", &port_text(cfg, cfg.udpport));
    }
    render_lists(cfg, &mut s);
    s
}

/// The recorded one-value directives that differ from their defaults.
fn render_values(cfg: &HaCf, late_baud: bool, s: &mut String) {
    let computed = |k: &str, v: &str| match k {
        "warntime" => v == fmt_ms(cfg.deadtime / 2),
        "deadping" => v == fmt_ms(cfg.deadtime),
        "debug" => v == "0" && cfg.debug.is_none(),
        "use_logd" => v == "yes" && cfg.use_logd.is_none(),
        _ => false,
    };
    for (k, v) in &cfg.recorded {
        // A default value is written out only for a line kept as not acted on.
        let kept = cfg.not_acted_on.iter().any(|n| &n.directive == k);
        let is_default = directive(k).and_then(|sp| sp.default) == Some(v.as_str());
        if (is_default || computed(k, v)) && !kept || k == "udpport" || k == "baud" && late_baud {
            continue;
        }
        push(s, k, v);
    }
}

/// What the recorded values do not say: a `nice_failback` line, `use_apphbd`.
fn render_failback(cfg: &HaCf, s: &mut String) {
    // nice_failback after `auto_failback on|off` turns it off without being recorded.
    let implied = match cfg.parameter("auto_failback").map(parse_bool) {
        Some(Some(true)) => AutoFailback::On,
        Some(Some(false)) => AutoFailback::Off,
        _ => AutoFailback::Legacy,
    };
    if implied != cfg.auto_failback {
        if cfg.parameter("auto_failback").is_none() {
            push(s, "auto_failback", cfg.auto_failback.as_str());
        } else {
            push(s, "nice_failback", "on");
        }
    }
    if let Some(b) = cfg.use_apphbd {
        push(s, "use_apphbd", bool_word(b));
    }
}

/// A port as the `udpport` line wrote it, when it is that port.
fn port_text(cfg: &HaCf, p: u16) -> String {
    match cfg.parameter("udpport") {
        Some(v) if unsigned(v) == Some(u64::from(p)) => v.to_string(),
        _ => p.to_string(),
    }
}

/// The media, each ucast and bcast preceded by the `udpport` its first line took; returns
/// the port in force after them.
fn render_media(cfg: &HaCf, s: &mut String) -> Option<u16> {
    let mut port_now: Option<u16> = None;
    let (mut ucast_seen, mut bcast_seen) = (false, false);
    for m in &cfg.media {
        let first_port = match m {
            Medium::Ucast { port, .. } if !ucast_seen => {
                ucast_seen = true;
                Some(*port)
            }
            Medium::Bcast { port, .. } if !bcast_seen => {
                bcast_seen = true;
                Some(*port)
            }
            _ => None,
        };
        if let Some(p) = first_port {
            if port_now != Some(p) {
                push(s, "udpport", &port_text(cfg, p));
                port_now = Some(p);
            }
        }
        s.push_str(&medium_line(m));
    }
    port_now
}

fn medium_line(m: &Medium) -> String {
    match m {
        Medium::Ucast {
            dev, addr, host, ..
        } => {
            let h = host.clone().unwrap_or_else(|| addr.to_string());
            format!("ucast {dev} {h}\n")
        }
        Medium::Bcast { devs, .. } => format!("bcast {}\n", devs.join(" ")),
        Medium::Serial { devs, .. } => format!("serial {}\n", devs.join(" ")),
        Medium::Mcast {
            dev,
            group,
            port,
            ttl,
            loop_,
            ..
        } => format!("mcast {dev} {group} {port} {ttl} {}\n", u8::from(*loop_)),
        Medium::Ucast6 { dev, addr, .. } => format!("ucast6 {dev} {addr}\n"),
        Medium::Mcast6 {
            dev,
            group,
            port,
            hops,
            loop_,
            ..
        } => format!("mcast6 {dev} {group} {port} {hops} {}\n", u8::from(*loop_)),
    }
}

/// Ping nodes, clients, apiauth, stonith and env lines.
fn render_lists(cfg: &HaCf, s: &mut String) {
    for p in &cfg.ping {
        push(s, "ping", p);
    }
    for p in &cfg.ping6 {
        push(s, "ping6", p);
    }
    for g in &cfg.ping_groups {
        s.push_str(&format!("ping_group {} {}\n", g.name, g.hosts.join(" ")));
    }
    for r in &cfg.respawn {
        s.push_str(&format!("respawn {} {}\n", r.user, r.command));
    }
    for r in &cfg.failfast {
        s.push_str(&format!("failfast {} {}\n", r.user, r.command));
    }
    for a in &cfg.apiauth {
        let mut parts = vec![a.client.clone()];
        if !a.uids.is_empty() {
            parts.push(format!("uid={}", a.uids.join(",")));
        }
        if !a.gids.is_empty() {
            parts.push(format!("gid={}", a.gids.join(",")));
        }
        s.push_str(&format!("apiauth {}\n", parts.join(" ")));
    }
    for st in &cfg.stonith_host {
        match &st.host {
            None => s.push_str(&format!("stonith {} {}\n", st.kind, st.params)),
            Some(h) => s.push_str(&format!("stonith_host {h} {} {}\n", st.kind, st.params)),
        }
    }
    for (k, v) in &cfg.env {
        s.push_str(&format!("env {k}={v}\n"));
    }
}
