//! The client API's view of the running node (for `cl_status`, ipfail and any
//! hbclient program): the daemon side of [`hb_api::proto::ClusterView`].

use std::collections::HashMap;

use ha_config::{Config, Medium};
use hb_api::proto::{ClusterView, LinkInfo, NodeInfo, NodeKind};
use hb_core::{Node, NodeStatus};

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
            .and_then(hb_api::sys::facility_value)
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
