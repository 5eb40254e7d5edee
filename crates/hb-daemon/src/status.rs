//! `heartbeat -s`: what the running daemon shows of itself, as text, JSON (`--json`) or
//! the Prometheus text exposition format (`--prometheus`).
//!
//! The daemon gathers a [`Snapshot`] and writes its three renderings into the state
//! directory (every few seconds and when a node, a link, a group or a check changes);
//! `heartbeat -s` prints the one asked for. The renderers are pure functions.

use std::fmt::Write as _;
use std::path::Path;

use hb_api::proto::{ClusterView, NodeKind};
use hb_core::cfgsync::{ConfigSync, PeerConfig};
use hb_core::checks::CheckStatus;
use hb_core::membership::Counters;
use hb_core::takeover::rsc;
use hb_wire::DropKind;

use crate::api::View;

/// The text rendering (the lines after the daemon's status lines).
pub const TEXT_FILE: &str = "status.txt";
/// The JSON rendering.
pub const JSON_FILE: &str = "status.json";
/// The Prometheus rendering.
pub const PROM_FILE: &str = "status.prom";

/// How `heartbeat -s` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Text,
    Json,
    Prometheus,
}

/// One node as we see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSnap {
    pub name: String,
    /// `normal` or `ping`.
    pub kind: &'static str,
    pub status: String,
    pub generation: Option<u64>,
    /// (link name, `up` / `dead`).
    pub links: Vec<(String, String)>,
}

/// One haresources group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSnap {
    /// Its first resource (how logs and the checks file name it).
    pub key: String,
    /// Its resources as written in haresources.
    pub resources: Vec<String>,
    /// The node its haresources line names.
    pub preferred: String,
    /// Who runs it, as far as this node knows.
    pub holder: Option<String>,
    /// `running` (here or on the holder), `stopped`, or `transition` while the resource
    /// layer is not stable.
    pub state: &'static str,
}

/// Everything `heartbeat -s` shows of the running daemon.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub node: String,
    /// Unix seconds when it was taken.
    pub time: u64,
    pub nodes: Vec<NodeSnap>,
    pub groups: Vec<GroupSnap>,
    pub checks: Vec<CheckStatus>,
    /// The check lines as the daemon logs them (for the text rendering).
    pub check_lines: Vec<String>,
    pub packets: Counters,
    /// The client API's drops by kind (all kinds, zeros too; empty before the API is up).
    pub api_drops: Vec<(&'static str, u64)>,
    /// Our haresources and checks digests (`haresources:HEX,checks:HEX`).
    pub config_digest: String,
    /// How each peer's haresources and checks compare with ours.
    pub config: Vec<(String, PeerConfig)>,
}

/// Gathers the snapshot from the running node.
pub fn collect(
    view: &View<'_>,
    checks: Option<&hb_core::checks::Checks>,
    cfgsync: &ConfigSync,
    api_drops: Vec<(&'static str, u64)>,
    time: u64,
) -> Snapshot {
    let me = view.my_node();
    let nodes: Vec<NodeSnap> = view
        .nodes()
        .into_iter()
        .map(|n| {
            let generation = match n.kind {
                NodeKind::Normal if n.name == me => Some(view.node.membership.config().generation),
                NodeKind::Normal => view
                    .node
                    .membership
                    .peer(&n.name)
                    .and_then(|p| p.generation()),
                NodeKind::Ping => None,
            };
            // Our own links too: those our looped-back packets mark up. A device named
            // by several medium lines (two ucast lines on eth1) is one link.
            let mut links = view.links(&n.name);
            let mut seen = std::collections::BTreeSet::new();
            links.retain(|l| seen.insert(l.name.clone()));
            NodeSnap {
                kind: match n.kind {
                    NodeKind::Normal => "normal",
                    NodeKind::Ping => "ping",
                },
                links: links.into_iter().map(|l| (l.name, l.status)).collect(),
                name: n.name,
                status: n.status,
                generation,
            }
        })
        .collect();
    let groups = match view.node.takeover.as_ref() {
        Some(t) => {
            let running = t.running_groups();
            let stable = t.is_stable();
            // The other node (v1 knows two): its `local` set is the groups its
            // haresources line names, its `foreign` set ours.
            let other = nodes
                .iter()
                .find(|n| n.kind == "normal" && n.name != me)
                .filter(|n| n.status == "active" || n.status == "up");
            t.config()
                .groups
                .iter()
                .map(|g| {
                    let here = running.contains(&g.key.as_str());
                    let bit = if g.node == me {
                        rsc::FOREIGN
                    } else {
                        rsc::LOCAL
                    };
                    let holder = if here {
                        Some(me.clone())
                    } else {
                        other
                            .filter(|_| t.other_holds() & bit != 0)
                            .map(|o| o.name.clone())
                    };
                    GroupSnap {
                        key: g.key.clone(),
                        resources: g.resources.clone(),
                        preferred: g.node.clone(),
                        state: if !stable {
                            "transition"
                        } else if holder.is_some() {
                            "running"
                        } else {
                            "stopped"
                        },
                        holder,
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let config = nodes
        .iter()
        .filter(|n| n.kind == "normal" && n.name != me)
        .map(|n| (n.name.clone(), cfgsync.peer_config(&n.name)))
        .collect();
    Snapshot {
        config_digest: cfgsync.status_field().to_string(),
        config,
        node: me,
        time,
        nodes,
        groups,
        checks: checks.map(|c| c.statuses()).unwrap_or_default(),
        check_lines: checks.map(|c| c.status_lines()).unwrap_or_default(),
        packets: view.node.membership.counters(),
        api_drops,
    }
}

/// The lines `heartbeat -s` prints after the daemon's own.
pub fn render_text(s: &Snapshot) -> String {
    let mut out = String::new();
    for n in &s.nodes {
        let _ = write!(out, "node {} ({}): {}", n.name, n.kind, n.status);
        if let Some(g) = n.generation {
            let _ = write!(out, ", generation {g}");
        }
        let links: Vec<String> = n.links.iter().map(|(l, st)| format!("{l} {st}")).collect();
        if !links.is_empty() {
            let _ = write!(out, ", links: {}", links.join(", "));
        }
        out.push('\n');
    }
    for g in &s.groups {
        let _ = writeln!(
            out,
            "group {}: {} on {} (preferred {}): {}",
            g.key,
            g.state,
            g.holder.as_deref().unwrap_or("none"),
            g.preferred,
            g.resources.join(" ")
        );
    }
    for (peer, c) in &s.config {
        let _ = writeln!(out, "configuration of {peer}: {}", config_text(peer, c));
    }
    for l in &s.check_lines {
        out.push_str(l);
        out.push('\n');
    }
    for l in s.packets.status_lines() {
        out.push_str(&l);
        out.push('\n');
    }
    if !s.api_drops.is_empty() {
        let d: Vec<String> = s
            .api_drops
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(out, "api drops: {}", d.join(", "));
    }
    out
}

/// `same`, `unknown (...)` or `DIFFERS: file (groups...)`.
fn config_text(peer: &str, c: &PeerConfig) -> String {
    match c {
        PeerConfig::Same => "same haresources and checks".into(),
        PeerConfig::Unknown => {
            "unknown (it announces no digest: an original heartbeat, or not heard yet)".into()
        }
        PeerConfig::Differs { files, diffs: None } => {
            format!(
                "DIFFERS: {} (its group list not received yet)",
                files.join(", ")
            )
        }
        PeerConfig::Differs { diffs: Some(d), .. } => {
            let v: Vec<String> = d
                .iter()
                .map(|f| format!("{} ({})", f.file, f.describe(peer)))
                .collect();
            format!("DIFFERS: {}", v.join(", "))
        }
    }
}

/// `s` as a JSON string literal (quotes included): `"`, `\` and control characters
/// escaped, everything else as is (UTF-8).
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), json_string)
}

fn json_list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    let v: Vec<String> = items.iter().map(f).collect();
    format!("[{}]", v.join(","))
}

fn json_counts<K: AsRef<str>>(items: &[(K, u64)]) -> String {
    let v: Vec<String> = items
        .iter()
        .map(|(k, n)| format!("{}:{n}", json_string(k.as_ref())))
        .collect();
    format!("{{{}}}", v.join(","))
}

/// Every drop kind with its count (zeros included), in [`DropKind`] order.
fn all_drops(c: &Counters) -> Vec<(&'static str, u64)> {
    DropKind::ALL
        .iter()
        .map(|k| (k.name(), c.dropped(*k)))
        .collect()
}

/// One JSON object (one line).
pub fn render_json(s: &Snapshot) -> String {
    let nodes = json_list(&s.nodes, |n| {
        format!(
            "{{\"name\":{},\"type\":{},\"status\":{},\"generation\":{},\"links\":{}}}",
            json_string(&n.name),
            json_string(n.kind),
            json_string(&n.status),
            n.generation.map_or("null".to_string(), |g| g.to_string()),
            json_list(&n.links, |(l, st)| format!(
                "{{\"name\":{},\"status\":{}}}",
                json_string(l),
                json_string(st)
            ))
        )
    });
    let groups = json_list(&s.groups, |g| {
        format!(
            "{{\"key\":{},\"resources\":{},\"preferred\":{},\"holder\":{},\"state\":{}}}",
            json_string(&g.key),
            json_list(&g.resources, |r| json_string(r)),
            json_string(&g.preferred),
            json_opt(g.holder.as_deref()),
            json_string(g.state)
        )
    });
    let checks = json_list(&s.checks, |c| {
        format!(
            "{{\"group\":{},\"target\":{},\"state\":{},\"failures\":{},\"successes\":{},\"fall\":{},\"rise\":{},\"restarting\":{},\"restarts_done\":{},\"given_away\":{}}}",
            json_string(&c.group_key),
            json_string(&c.label),
            json_string(c.state.as_str()),
            c.failures,
            c.successes,
            c.fall,
            c.rise,
            c.restarting,
            c.restarts_done,
            c.given_away
        )
    });
    let config = json_list(&s.config, |(peer, c)| {
        let (state, files, diffs) = match c {
            PeerConfig::Same => ("same", Vec::new(), None),
            PeerConfig::Unknown => ("unknown", Vec::new(), None),
            PeerConfig::Differs { files, diffs } => ("differs", files.clone(), diffs.as_ref()),
        };
        let diffs = diffs.map_or_else(
            || "null".to_string(),
            |d| {
                json_list(d, |f| {
                    format!(
                        "{{\"file\":{},\"differ\":{},\"only_here\":{},\"only_there\":{}}}",
                        json_string(&f.file),
                        json_list(&f.changed, |x| json_string(x)),
                        json_list(&f.only_here, |x| json_string(x)),
                        json_list(&f.only_there, |x| json_string(x))
                    )
                })
            },
        );
        format!(
            "{{\"peer\":{},\"state\":{},\"files\":{},\"groups\":{diffs}}}",
            json_string(peer),
            json_string(state),
            json_list(&files, |x| json_string(x))
        )
    });
    let p = &s.packets;
    let packets = format!(
        "{{\"received\":{},\"accepted\":{},\"duplicates\":{},\"replays\":{},\"retransmitted\":{},\"rexmit_requested\":{},\"status_copies\":{},\"dropped\":{}}}",
        p.received,
        p.accepted,
        p.duplicates,
        p.replays,
        p.retransmitted,
        p.rexmit_requested,
        p.status_copies,
        json_counts(&all_drops(p))
    );
    format!(
        "{{\"node\":{},\"running\":true,\"time\":{},\"nodes\":{nodes},\"groups\":{groups},\"checks\":{checks},\"config\":{{\"digest\":{},\"peers\":{config}}},\"packets\":{packets},\"api_drops\":{}}}\n",
        json_string(&s.node),
        s.time,
        json_string(&s.config_digest),
        json_counts(&s.api_drops)
    )
}

/// A Prometheus label value: `\`, `"` and newlines escaped.
pub fn prom_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Collects one metric family's samples and writes its HELP and TYPE lines first.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", prom_label(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", l.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// The text exposition format (for a scrape, or node_exporter's textfile collector).
pub fn render_prometheus(s: &Snapshot) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    let me = s.node.as_str();
    f.head(
        "heartbeat_up",
        "gauge",
        "Whether the heartbeat daemon runs.",
    );
    f.sample("heartbeat_up", &[("node", me)], 1);
    f.head(
        "heartbeat_status_time_seconds",
        "gauge",
        "When the daemon wrote these figures (Unix time).",
    );
    f.sample("heartbeat_status_time_seconds", &[("node", me)], s.time);
    f.head(
        "heartbeat_node_status",
        "gauge",
        "A cluster or ping node's status as this node sees it (1 for its current status).",
    );
    for n in &s.nodes {
        f.sample(
            "heartbeat_node_status",
            &[
                ("node", me),
                ("peer", &n.name),
                ("type", n.kind),
                ("status", &n.status),
            ],
            1,
        );
    }
    f.head(
        "heartbeat_node_generation",
        "gauge",
        "The generation a node announced last.",
    );
    for n in &s.nodes {
        if let Some(g) = n.generation {
            f.sample(
                "heartbeat_node_generation",
                &[("node", me), ("peer", &n.name)],
                g,
            );
        }
    }
    f.head(
        "heartbeat_link_up",
        "gauge",
        "Whether a node's link is up (1) or dead (0).",
    );
    for n in &s.nodes {
        for (l, st) in &n.links {
            f.sample(
                "heartbeat_link_up",
                &[("node", me), ("peer", &n.name), ("link", l)],
                u64::from(st == "up"),
            );
        }
    }
    f.head(
        "heartbeat_group_running",
        "gauge",
        "Whether a haresources group runs (1) and where, as this node knows it.",
    );
    for g in &s.groups {
        f.sample(
            "heartbeat_group_running",
            &[
                ("node", me),
                ("group", &g.key),
                ("preferred", &g.preferred),
                ("holder", g.holder.as_deref().unwrap_or("")),
                ("state", g.state),
            ],
            u64::from(g.holder.is_some()),
        );
    }
    f.head(
        "heartbeat_check_failing",
        "gauge",
        "Whether a service check is failing (1), ok or without a result yet (0).",
    );
    for c in &s.checks {
        f.sample(
            "heartbeat_check_failing",
            &[
                ("node", me),
                ("group", &c.group_key),
                ("target", &c.label),
                ("state", c.state.as_str()),
            ],
            u64::from(c.state == hb_core::checks::CheckState::Failing),
        );
    }
    for (name, help, pick) in [
        (
            "heartbeat_check_failures",
            "Consecutive failures of a service check.",
            (|c: &CheckStatus| c.failures) as fn(&CheckStatus) -> u32,
        ),
        (
            "heartbeat_check_successes",
            "Consecutive successes of a service check.",
            |c: &CheckStatus| c.successes,
        ),
    ] {
        f.head(name, "gauge", help);
        for c in &s.checks {
            f.sample(
                name,
                &[("node", me), ("group", &c.group_key), ("target", &c.label)],
                u64::from(pick(c)),
            );
        }
    }
    f.head(
        "heartbeat_config_differs",
        "gauge",
        "Whether a peer's haresources or checks file differs from ours (1), or is the same (0); peers that announce no digest (an original heartbeat) are absent.",
    );
    for (peer, c) in &s.config {
        let files: &[String] = match c {
            PeerConfig::Unknown => continue,
            PeerConfig::Same => &[],
            PeerConfig::Differs { files, .. } => files,
        };
        for file in ["haresources", "checks"] {
            f.sample(
                "heartbeat_config_differs",
                &[("node", me), ("peer", peer), ("file", file)],
                u64::from(files.iter().any(|x| x == file)),
            );
        }
    }
    let p = &s.packets;
    for (name, help, v) in [
        (
            "heartbeat_packets_received_total",
            "Datagrams received from the media.",
            p.received,
        ),
        (
            "heartbeat_packets_accepted_total",
            "Messages that passed authentication and the replay check.",
            p.accepted,
        ),
        (
            "heartbeat_packets_duplicate_total",
            "Copies of messages already seen.",
            p.duplicates,
        ),
        (
            "heartbeat_packets_replayed_total",
            "Messages refused as replays.",
            p.replays,
        ),
        (
            "heartbeat_packets_retransmitted_total",
            "Our messages sent again on a peer's request.",
            p.retransmitted,
        ),
        (
            "heartbeat_rexmit_requests_total",
            "Retransmission requests we sent.",
            p.rexmit_requested,
        ),
        (
            "heartbeat_status_copies_total",
            "Extra copies of our statuses sent while a link lost packets.",
            p.status_copies,
        ),
    ] {
        f.head(name, "counter", help);
        f.sample(name, &[("node", me)], v);
    }
    f.head(
        "heartbeat_packets_dropped_total",
        "counter",
        "Received packets dropped or refused, by kind.",
    );
    for (k, n) in all_drops(p) {
        f.sample(
            "heartbeat_packets_dropped_total",
            &[("node", me), ("kind", k)],
            n,
        );
    }
    f.head(
        "heartbeat_api_drops_total",
        "counter",
        "Client API connections and messages dropped or refused, by kind.",
    );
    for (k, n) in &s.api_drops {
        f.sample(
            "heartbeat_api_drops_total",
            &[("node", me), ("kind", k)],
            *n,
        );
    }
    out
}

/// What `heartbeat -s --prometheus` prints when the daemon does not run.
pub fn prometheus_down(node: &str) -> String {
    let mut out = String::new();
    let mut f = Family { out: &mut out };
    f.head(
        "heartbeat_up",
        "gauge",
        "Whether the heartbeat daemon runs.",
    );
    f.sample("heartbeat_up", &[("node", node)], 0);
    out
}

/// What `heartbeat -s --json` prints when the daemon does not run.
pub fn json_down(node: &str) -> String {
    format!("{{\"node\":{},\"running\":false}}\n", json_string(node))
}

/// Writes the three renderings into `dir` (each through a temporary file and a rename,
/// so a reader never sees half of one).
pub fn write_all(dir: &Path, s: &Snapshot) {
    for (name, text) in [
        (TEXT_FILE, render_text(s)),
        (JSON_FILE, render_json(s)),
        (PROM_FILE, render_prometheus(s)),
    ] {
        let f = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, &f);
        }
    }
}

/// Removes the renderings (at start, so that `heartbeat -s` never shows a previous run's).
pub fn remove_all(dir: &Path) {
    for name in [TEXT_FILE, JSON_FILE, PROM_FILE] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

#[cfg(test)]
mod tests;
