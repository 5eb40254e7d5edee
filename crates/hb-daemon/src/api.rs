//! The client API's view of the running node (for `cl_status`, ipfail and any
//! hbclient program): the daemon side of [`hb_api::proto::ClusterView`].

use std::collections::HashMap;

use ha_config::{Config, Medium};
use hb_api::proto::{ClusterView, LinkInfo, NodeInfo, NodeKind};
use hb_core::{Node, NodeStatus};
use hb_wire::{Message, Value};

/// A borrowed view of the node, its configuration and the ping nodes' statuses.
pub struct View<'a> {
    pub node: &'a Node,
    pub cfg: &'a Config,
    /// Ping nodes (`ping` hosts and `ping_group` names) -> `ping` / `dead` / `init`.
    pub ping: &'a HashMap<String, String>,
}

/// The interface (a serial line: its device path) of every non-ping medium line, in ha.cf
/// order (names may repeat).
pub fn medium_links(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for m in &cfg.hacf.media {
        match m {
            Medium::Ucast { dev, .. } | Medium::Mcast { dev, .. } => out.push(dev.clone()),
            Medium::Bcast { devs, .. } | Medium::Serial { devs, .. } => {
                out.extend(devs.iter().cloned())
            }
            _ => {}
        }
    }
    out
}

/// The ping nodes' names, in ha.cf order.
pub fn ping_nodes(cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = cfg.hacf.ping.clone();
    v.extend(cfg.hacf.ping_groups.iter().map(|g| g.name.clone()));
    v
}

impl ClusterView for View<'_> {
    fn my_node(&self) -> String {
        self.node.membership.name().to_string()
    }

    fn nodes(&self) -> Vec<NodeInfo> {
        let me = self.node.membership.name();
        let mut out: Vec<NodeInfo> = self
            .node
            .membership
            .peers()
            .iter()
            .map(|p| NodeInfo {
                name: p.name.clone(),
                kind: NodeKind::Normal,
                status: if p.name == me {
                    self.node.membership.own_status().as_str().to_string()
                } else {
                    p.status.as_str().to_string()
                },
                weight: 100,
                site: String::new(),
            })
            .collect();
        for n in ping_nodes(self.cfg) {
            let status = self
                .ping
                .get(&n)
                .cloned()
                .unwrap_or_else(|| "init".to_string());
            out.push(NodeInfo {
                name: n,
                kind: NodeKind::Ping,
                status,
                weight: 100,
                site: String::new(),
            });
        }
        out
    }

    fn links(&self, node: &str) -> Vec<LinkInfo> {
        if let Some(s) = self.ping.get(node) {
            let st = if s == "ping" { "up" } else { "dead" };
            return vec![LinkInfo {
                name: node.to_string(),
                status: st.to_string(),
            }];
        }
        let Some(p) = self.node.membership.peer(node) else {
            return Vec::new();
        };
        medium_links(self.cfg)
            .into_iter()
            .map(|dev| {
                let up = p.links.iter().any(|l| l.dev == dev && l.up);
                LinkInfo {
                    name: dev,
                    status: if up { "up" } else { "dead" }.to_string(),
                }
            })
            .collect()
    }

    fn resource_status(&self) -> Option<String> {
        self.node
            .takeover
            .as_ref()
            .map(|t| t.resource_status().to_string())
    }

    fn parameter(&self, name: &str) -> Option<String> {
        self.cfg.hacf.parameter(name).map(str::to_string)
    }

    fn deadtime_ms(&self) -> u64 {
        self.cfg.hacf.deadtime.as_millis() as u64
    }

    fn keepalive_ms(&self) -> u64 {
        self.cfg.hacf.keepalive.as_millis() as u64
    }

    fn log_facility(&self) -> i32 {
        self.cfg
            .hacf
            .logfacility
            .as_deref()
            .and_then(hb_log::Facility::from_name)
            .map(hb_log::Facility::code)
            .unwrap_or(-1)
    }

    fn node_uuid(&self, node: &str) -> Option<[u8; 16]> {
        self.node.membership.peer(node).and_then(|p| p.uuid)
    }
}

/// Whether our communication is up (the API socket is created then, as the original).
pub fn comm_up(node: &Node) -> bool {
    node.membership.own_status() == NodeStatus::Active
}

/// Whether a client's message for the cluster fits into one datagram once the membership
/// has added its fields (`src`, `srcuuid`, `seq`, `hg`, `ts`, `ld`, `ttl`, `destuuid`) and
/// signed it: it is encoded here with each of those at its longest. Checked before the
/// message is handed to the membership, so that one that cannot go never uses up a
/// sequence number (the peers would ask for it and log it lost); the client gets an error.
pub fn check_sendable(node: &Node, msg: &Message) -> Result<(), String> {
    let cfg = node.membership.config();
    let mut m = msg.clone();
    let long = "f".repeat(16);
    if m.get("dest").is_some() {
        m.set("destuuid", Value::Bin(vec![0xff; 16]));
    }
    m.set_str("src", &cfg.name);
    m.set("srcuuid", Value::Bin(cfg.uuid.to_vec()));
    m.set_str("seq", &long);
    m.set_str("hg", &long);
    m.set_str("ts", &long);
    // /proc/loadavg as the I/O layer reads it: at most 63 bytes.
    m.set_str("ld", "9".repeat(63));
    m.set_str("ttl", "99999");
    match hb_wire::encode(&m, &cfg.keys, cfg.send_form) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use hb_core::timers::Timing;
    use hb_core::MembershipConfig;
    use hb_wire::{AuthMethod, KeyRing, SendForm};

    use super::*;

    fn node(form: SendForm) -> Node {
        let m = MembershipConfig {
            name: "node-with-a-long-name".into(),
            nodes: vec!["node-with-a-long-name".into(), "b".into()],
            ping_nodes: 0,
            timing: Timing {
                keepalive: Duration::from_millis(200),
                deadtime: Duration::from_secs(1),
                warntime: Duration::from_millis(500),
                initdead: Duration::from_secs(2),
                max_rexmit_delay: Duration::from_millis(250),
            },
            hopfudge: 1,
            keys: KeyRing::single(1, AuthMethod::Sha1(b"key".to_vec())).expect("ring"),
            send_form: form,
            uuid: [7; 16],
            generation: 12,
            wall_clock_at_start: 1_700_000_000,
            seed: 1,
            log_bad_packets: true,
        };
        Node::new(m, None, Instant::now())
    }

    fn with_blob(n: usize) -> Message {
        let mut m = Message::with_type("num_ping_nodes");
        m.push_str("dest", "b");
        m.push_str("blob", "x".repeat(n));
        m
    }

    /// Just below the largest message the check lets through, and just above it: what
    /// it lets through is sent and numbered, what it refuses is refused by the encoder
    /// too or within a few dozen bytes of it (the check takes every added field at its
    /// longest).
    #[test]
    fn the_check_agrees_with_the_membership_at_the_limit() {
        for form in [
            SendForm::Classic,
            SendForm::Netstring,
            SendForm::Netstring306,
        ] {
            let mut n = node(form);
            let (mut lo, mut hi) = (60_000usize, 70_000usize);
            while lo + 1 < hi {
                let mid = (lo + hi) / 2;
                if check_sendable(&n, &with_blob(mid)).is_ok() {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let now = Instant::now();
            while n.poll_transmit().is_some() {}
            let seq = n.membership.last_seq();
            n.handle_local_message(now, with_blob(lo))
                .expect("what check_sendable accepts is sent");
            let sent: Vec<Vec<u8>> = std::iter::from_fn(|| n.poll_transmit()).collect();
            assert_eq!(n.membership.last_seq(), seq + 1, "{form:?}");
            let longest = sent.iter().map(Vec::len).max().unwrap_or(0);
            assert!(longest <= hb_wire::MAX_SEND, "{form:?}: {longest}");
            // Conservative by little: what it refuses would have used all but a few dozen
            // bytes of a datagram.
            assert!(
                hb_wire::MAX_SEND - longest < 200,
                "{form:?}: the largest accepted message made a datagram of {longest} bytes"
            );
            let e = check_sendable(&n, &with_blob(hi)).unwrap_err();
            assert!(!e.is_empty());
        }
    }
}
