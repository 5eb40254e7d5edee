//! `heartbeat --export-cib`: the v1 configuration as a Pacemaker CIB, the way on to
//! Pacemaker for a site that outgrows heartbeat.
//!
//! From ha.cf, haresources and our checks file it writes a CIB that Pacemaker's
//! `crm_verify` accepts and under which the groups land where heartbeat puts them:
//!
//! - **nodes**: ha.cf's nodes, with ids 1, 2, ... in ha.cf order (the corosync node ids
//!   the migration guide gives them in corosync.conf);
//! - **groups**: each haresources line is a group of primitives in the line's order
//!   (Pacemaker starts a group left to right and stops it right to left, as heartbeat
//!   does); each resource is mapped by [`agents`]: the resource.d wrappers to their
//!   `ocf:heartbeat` agents with the arguments split as the wrapper splits them, init
//!   scripts to `lsb:`; what has no equivalent is left out and said;
//! - **placement**: a location preference for the group's node and, with more than two
//!   nodes, smaller ones for the nodes after it in ha.cf order (heartbeat-rs gives a dead
//!   node's groups to the next live node in that order); `auto_failback` becomes resource
//!   stickiness: see [`placement`];
//! - **checks**: Pacemaker watches resources through their agents' monitor actions, and
//!   no agent runs our probes (a TCP connect, an HTTP GET, a command); a group with checks
//!   gets a monitor operation on each of its resources at the check's interval, and
//!   `restarts=N` becomes `migration-threshold=N+1`; each check is reported as not
//!   carried over as such;
//! - **fencing**: `stonith`/`stonith_host` lines become `stonith:` devices (see
//!   [`fencing`]); without any, `stonith-enabled=false` and a warning;
//! - **quorum**: two nodes need a decision; see [`Target`].
//!
//! The warnings and notes say, line by line, what maps and what does not;
//! docs/MIGRATING-TO-PACEMAKER.md is the admin's guide.

pub mod agents;
pub mod fencing;
pub mod xml;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use ha_config::{AutoFailback, Check, Config, ConfigErrors, Group};

pub use agents::{Env, Mapped, Mapping};
use xml::{xml_id, El};

/// The Pacemaker the CIB is written for.
///
/// The content is the same; two things differ:
/// - the schema (`validate-with`): `pacemaker-1.2` (in Pacemaker since 1.1.1, still read
///   by 2.x and 3.x), or `pacemaker-3.0` (Pacemaker 2.0 and later);
/// - two-node quorum: 1.1 ran on stacks (heartbeat, corosync 1 with the plugin, cman)
///   where the survivor of a two-node cluster has no quorum, so the CIB sets
///   `no-quorum-policy=ignore`, as every 1.1 two-node cluster did. Pacemaker 2 runs on
///   corosync 2 or later, whose votequorum `two_node: 1` keeps the survivor quorate (and
///   makes both nodes wait for each other at the first start, against a split brain at
///   boot), so the CIB keeps the default `no-quorum-policy=stop` and corosync.conf gets
///   the setting (the notes and the guide say so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Pacemaker1_1,
    Pacemaker2,
}

impl Target {
    /// `1.1`, or `2` (also `2.1`, ..., and `3`, `3.0`, ...: the CIB for 2.x suits 3.x,
    /// which still reads the pacemaker-3.0 schema).
    pub fn parse(s: &str) -> Option<Target> {
        if s == "1.1" {
            return Some(Target::Pacemaker1_1);
        }
        let (major, minor) = s.split_once('.').unwrap_or((s, "0"));
        let minor_ok = !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit());
        match major {
            "2" | "3" if minor_ok => Some(Target::Pacemaker2),
            _ => None,
        }
    }

    /// The `validate-with` schema.
    pub fn schema(self) -> &'static str {
        match self {
            Target::Pacemaker1_1 => "pacemaker-1.2",
            Target::Pacemaker2 => "pacemaker-3.0",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Target::Pacemaker1_1 => "Pacemaker 1.1",
            Target::Pacemaker2 => "Pacemaker 2.x and later",
        }
    }
}

/// The exported CIB and what the admin must read about it.
#[derive(Clone, Debug)]
pub struct Export {
    pub cib: El,
    /// Things to fix or decide before loading: a resource, check or device not carried
    /// over, fencing off, a guess.
    pub warnings: Vec<String>,
    /// How things were mapped.
    pub notes: Vec<String>,
    /// A corosync.conf to start from (the nodes, their ids, the timeouts, quorum).
    pub corosync: String,
    /// Groups, primitives and fencing devices written.
    pub groups: usize,
    pub primitives: usize,
    pub devices: usize,
}

impl Export {
    /// The CIB as XML text.
    pub fn xml(&self) -> String {
        self.cib.render()
    }

    /// What `heartbeat --export-cib` prints on stderr: the warnings, the notes, the
    /// corosync.conf sketch and a summary.
    pub fn report(&self) -> String {
        let mut s = String::new();
        for w in &self.warnings {
            s.push_str(&format!("WARNING: {w}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("NOTE: {n}\n"));
        }
        s.push_str("NOTE: a corosync.conf to start from (see docs/MIGRATING-TO-PACEMAKER.md):\n");
        for l in self.corosync.lines() {
            s.push_str(&format!("    {l}\n"));
        }
        s.push_str(&format!(
            "CIB written: {} group(s), {} primitive(s), {} fencing device(s); {} warning(s): review them before loading it.\n",
            self.groups,
            self.primitives,
            self.devices,
            self.warnings.len()
        ));
        s
    }
}

/// The placement scores of one group (see [`placement`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// `(node, score)`: the group's node first, then the others that get a preference.
    pub scores: Vec<(String, u32)>,
    /// The stickiness of each resource (`rsc_defaults`).
    pub stickiness: u32,
}

/// The unit of stickiness for `nodes` nodes: 100, or more with so many nodes that the
/// order scores (up to nodes - 1) would reach half of it.
pub fn stickiness_unit(nodes: usize) -> u32 {
    let need = 2 * nodes as u32;
    if need < 100 {
        100
    } else {
        (need / 100 + 1) * 100
    }
}

/// Where a group goes, as scores, for a group of `members` resources whose node is at
/// `home` in `nodes`.
///
/// Pacemaker puts a group on the node with the highest sum of its location scores and,
/// on the node where it runs, the stickiness of each of its running resources. With `U`
/// the unit of [`stickiness_unit`] (the stickiness of every resource), `N` the group's
/// resources and `n` the nodes:
/// - the group's node scores `U * (N + 1)` with `auto_failback on` or `legacy` (more than
///   any other node plus the whole group's stickiness: the group goes back to it), and
///   `U / 2` with `off` (less than the stickiness of one resource: it stays where it runs);
/// - with more than two nodes, the `k`-th node after the group's node in ha.cf order
///   scores `n - k` (the order in which they take the group when the ones before are
///   down; less than `U` apart, so the group never moves between them on its own).
pub fn placement(
    nodes: &[String],
    home: usize,
    members: usize,
    auto_failback: AutoFailback,
) -> Placement {
    let n = nodes.len();
    let u = stickiness_unit(n);
    let home_score = match auto_failback {
        AutoFailback::On | AutoFailback::Legacy => u * (members as u32 + 1),
        AutoFailback::Off => u / 2,
    };
    let mut scores = vec![(nodes[home % n.max(1)].clone(), home_score)];
    if n > 2 {
        for k in 1..n {
            scores.push((nodes[(home + k) % n].clone(), (n - k) as u32));
        }
    }
    Placement {
        scores,
        stickiness: u,
    }
}

/// A Pacemaker duration: whole seconds as `Ns`, else milliseconds `Nms`.
fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Hands out unique XML IDs.
#[derive(Default)]
struct Ids(HashSet<String>);

impl Ids {
    fn take(&mut self, base: &str) -> String {
        let base = xml_id(base);
        let mut id = base.clone();
        let mut i = 2;
        while !self.0.insert(id.clone()) {
            id = format!("{base}-{i}");
            i += 1;
        }
        id
    }
}

fn nvpair(ids: &mut Ids, set_id: &str, name: &str, value: &str) -> El {
    El::new("nvpair")
        .attr("id", ids.take(&format!("{set_id}-{name}")))
        .attr("name", name)
        .attr("value", value)
}

fn spec_line(g: &Group) -> String {
    let rs: Vec<&str> = g.resources.iter().map(|r| r.spec.as_str()).collect();
    format!("haresources:{}: {} {}", g.line, g.node, rs.join(" "))
}

/// The CIB for a parsed configuration and its checks.
pub fn export(cfg: &Config, checks: &[Check], env: &Env, target: Target) -> Export {
    let h = &cfg.hacf;
    let nodes = &h.nodes;
    let mut ids = Ids::default();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();

    // admin_epoch 1: this configuration supersedes the empty one of a new cluster, so
    // `cibadmin --replace --xml-file` takes it whatever the cluster's epoch has reached.
    let mut cib = El::new("cib")
        .attr("validate-with", target.schema())
        .attr("admin_epoch", "1")
        .attr("epoch", "1")
        .attr("num_updates", "0");
    cib.comment(format!(
        "Written by heartbeat's CIB export from {} for {}. Review it, and the warnings printed with it, before loading it: see docs/MIGRATING-TO-PACEMAKER.md",
        env.ha_dir.display(),
        target.label()
    ));

    // Nodes.
    let mut nodes_el = El::new("nodes");
    for (i, n) in nodes.iter().enumerate() {
        nodes_el.push(
            El::new("node")
                .attr("id", (i + 1).to_string())
                .attr("uname", n.as_str()),
        );
    }
    notes.push(format!(
        "nodes {} have the ids {} in the CIB: give each the same nodeid in corosync.conf's nodelist",
        nodes.join(" "),
        (1..=nodes.len())
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    ));

    // Resources, groups and their placement.
    let mut resources = El::new("resources");
    let mut constraints = El::new("constraints");
    let unit = stickiness_unit(nodes.len());
    let mut n_groups = 0;
    let mut n_prims = 0;
    for g in &cfg.haresources.groups {
        let home = nodes.iter().position(|n| *n == g.node).unwrap_or(0);
        let gchecks: Vec<&Check> = checks.iter().filter(|c| c.group_key == g.key()).collect();
        let mut prims = Vec::new();
        for r in &g.resources {
            match agents::map_resource(r, env) {
                Mapping::Mapped(m) => {
                    for w in &m.warnings {
                        warnings.push(format!("haresources:{}: {w}", g.line));
                    }
                    for n in &m.notes {
                        notes.push(format!("haresources:{}: {n}", g.line));
                    }
                    prims.push((r, m));
                }
                Mapping::NotMapped(why) => {
                    warnings.push(format!("haresources:{}: NOT MAPPED: {why}", g.line));
                    prims.push((
                        r,
                        Mapped {
                            class: "",
                            provider: None,
                            kind: why,
                            params: Vec::new(),
                            monitor_timeout: 0,
                            notes: Vec::new(),
                            warnings: Vec::new(),
                        },
                    ));
                }
            }
        }
        let members = prims.iter().filter(|(_, m)| !m.class.is_empty()).count();
        resources.comment(spec_line(g));
        if members == 0 {
            warnings.push(format!(
                "haresources:{}: group '{}' left out: none of its resources maps",
                g.line,
                g.key()
            ));
            resources.comment(format!("NOT MAPPED: the whole group ({})", g.key()));
            for c in &gchecks {
                warnings.push(format!(
                    "checks:{}: {} for {}: left out with its group",
                    c.line,
                    c.label(),
                    c.group_key
                ));
            }
            continue;
        }
        let first = g
            .resources
            .first()
            .map(agents::base_name)
            .unwrap_or_default();
        let gid = ids.take(&format!("grp_{first}"));
        let mut group = El::new("group").attr("id", gid.as_str());
        // Checks: monitor operations, and the local restarts as a migration threshold.
        let monitor = gchecks.iter().map(|c| c.interval).min();
        let timeout = gchecks.iter().map(|c| c.timeout).max();
        if let Some(restarts) = gchecks.iter().map(|c| c.restarts).max() {
            let mid = ids.take(&format!("{gid}-meta"));
            group.push(
                El::new("meta_attributes")
                    .attr("id", mid.as_str())
                    .child(nvpair(
                        &mut ids,
                        &mid,
                        "migration-threshold",
                        &(restarts + 1).to_string(),
                    )),
            );
        }
        for (r, m) in &prims {
            if m.class.is_empty() {
                group.comment(format!("NOT MAPPED: {}: {}", r.spec, m.kind));
                continue;
            }
            let pid = ids.take(&agents::base_name(r));
            let mut p = El::new("primitive")
                .attr("id", pid.as_str())
                .attr("class", m.class);
            if let Some(pr) = &m.provider {
                p = p.attr("provider", pr.as_str());
            }
            p = p.attr("type", m.kind.as_str());
            if !m.params.is_empty() {
                let iid = ids.take(&format!("{pid}-instance_attributes"));
                let mut ia = El::new("instance_attributes").attr("id", iid.as_str());
                for (k, v) in &m.params {
                    ia.push(nvpair(&mut ids, &iid, k, v));
                }
                p.push(ia);
            }
            if let (Some(iv), Some(to)) = (monitor, timeout) {
                let to = to.max(Duration::from_secs(m.monitor_timeout.into()));
                let ops = El::new("operations").child(
                    El::new("op")
                        .attr("id", ids.take(&format!("{pid}-monitor-{}", duration(iv))))
                        .attr("name", "monitor")
                        .attr("interval", duration(iv))
                        .attr("timeout", duration(to)),
                );
                p.push(ops);
            }
            group.push(p);
            n_prims += 1;
        }
        for c in &gchecks {
            warnings.push(format!(
                "checks:{}: {} for {}: no Pacemaker agent makes this probe; the group's resources are monitored by their own agents every {} instead (a failure counts at the first failed monitor, not after fall={}; rise={} has no equivalent: clear a failure with crm_resource --cleanup); restarts={} is migration-threshold={}",
                c.line,
                c.label(),
                c.group_key,
                duration(c.interval),
                c.fall,
                c.rise,
                c.restarts,
                c.restarts + 1
            ));
        }
        resources.push(group);
        n_groups += 1;
        // Placement.
        let pl = placement(nodes, home, members, h.auto_failback);
        for (node, score) in &pl.scores {
            constraints.push(
                El::new("rsc_location")
                    .attr("id", ids.take(&format!("loc_{gid}_{node}")))
                    .attr("rsc", gid.as_str())
                    .attr("node", node.as_str())
                    .attr("score", score.to_string()),
            );
        }
    }
    notes.push(match h.auto_failback {
        AutoFailback::On => format!(
            "auto_failback on: each group prefers its node by more than the stickiness ({unit} per resource) of the group where it runs, so it goes back when its node returns"
        ),
        AutoFailback::Legacy => format!(
            "auto_failback legacy: heartbeat gives a returning node its groups back (the pre-nice_failback protocol), as with on: each group prefers its node by more than the stickiness ({unit} per resource) of the group where it runs"
        ),
        AutoFailback::Off => format!(
            "auto_failback off: each group's preference for its node ({}) is below the stickiness of one of its resources ({unit}), so a group stays where it runs when its node returns",
            unit / 2
        ),
    });
    if nodes.len() > 2 {
        notes.push(format!(
            "{} nodes: after a group's node, the nodes that follow it in ha.cf order are preferred in that order (heartbeat-rs gives a dead node's groups to the next live node after the one that died: the same unless several nodes fail one after the other)",
            nodes.len()
        ));
    }

    // Fencing.
    let mut n_devices = 0;
    for st in &h.stonith_host {
        match fencing::device(st, nodes, env.stonith_cmd.as_deref()) {
            Ok(d) => {
                let base = match &d.host {
                    Some(host) => format!("st_{}_{host}", d.kind),
                    None => format!("st_{}", d.kind),
                };
                let pid = ids.take(&base);
                resources.comment(format!(
                    "ha.cf:{}: {} {}",
                    d.line,
                    if d.host.is_some() || st.host.is_some() {
                        "stonith_host"
                    } else {
                        "stonith"
                    },
                    d.kind
                ));
                let mut p = El::new("primitive")
                    .attr("id", pid.as_str())
                    .attr("class", "stonith")
                    .attr("type", d.kind.as_str());
                if !d.params.is_empty() {
                    let iid = ids.take(&format!("{pid}-instance_attributes"));
                    let mut ia = El::new("instance_attributes").attr("id", iid.as_str());
                    for (k, v) in &d.params {
                        ia.push(nvpair(&mut ids, &iid, k, v));
                    }
                    p.push(ia);
                }
                p.push(
                    El::new("operations").child(
                        El::new("op")
                            .attr("id", ids.take(&format!("{pid}-monitor-60s")))
                            .attr("name", "monitor")
                            .attr("interval", "60s")
                            .attr("timeout", "60s"),
                    ),
                );
                resources.push(p);
                if let Some(host) = &d.host {
                    let lid = ids.take(&format!("loc_{pid}"));
                    let rid = ids.take(&format!("{lid}-rule"));
                    constraints.push(
                        El::new("rsc_location")
                            .attr("id", lid.as_str())
                            .attr("rsc", pid.as_str())
                            .child(
                                El::new("rule")
                                    .attr("id", rid.as_str())
                                    .attr("score", "-INFINITY")
                                    .child(
                                        El::new("expression")
                                            .attr("id", ids.take(&format!("{rid}-expression")))
                                            .attr("attribute", "#uname")
                                            .attr("operation", "ne")
                                            .attr("value", host.as_str()),
                                    ),
                            ),
                    );
                }
                notes.push(format!(
                    "ha.cf:{}: fencing device stonith:{} ({}){}",
                    d.line,
                    d.kind,
                    d.params
                        .iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    match &d.host {
                        Some(host) => format!(", used by {host} only, as in heartbeat"),
                        None => ", usable by every node".to_string(),
                    }
                ));
                n_devices += 1;
            }
            Err(why) => warnings.push(format!("ha.cf:{}: NOT MAPPED: {why}", st.line)),
        }
    }
    if n_devices > 0 {
        notes.push(
            "fencing devices run cluster-glue plugins (stonith:TYPE): Pacemaker must be built with cluster-glue (Debian, SUSE); on RHEL use the matching fence-agents device instead (external/ipmi: fence_ipmilan)".into(),
        );
    }

    // Cluster options.
    let mut props = El::new("cluster_property_set").attr("id", "cib-bootstrap-options");
    ids.0.insert("cib-bootstrap-options".into());
    if n_devices == 0 {
        props.push(nvpair(
            &mut ids,
            "cib-bootstrap-options",
            "stonith-enabled",
            "false",
        ));
        if h.stonith_host.is_empty() {
            warnings.push("no stonith lines in ha.cf: fencing is off (stonith-enabled=false), as heartbeat ran; without fencing Pacemaker cannot recover safely from a split brain or a failed stop: configure a fencing device and set stonith-enabled=true".into());
        } else {
            warnings.push("no stonith line could be carried over: fencing is off (stonith-enabled=false) until you write the devices and set stonith-enabled=true".into());
        }
    } else {
        props.push(nvpair(
            &mut ids,
            "cib-bootstrap-options",
            "stonith-enabled",
            "true",
        ));
    }
    let two = nodes.len() == 2;
    match (target, two) {
        (Target::Pacemaker1_1, true) => {
            props.push(nvpair(
                &mut ids,
                "cib-bootstrap-options",
                "no-quorum-policy",
                "ignore",
            ));
            notes.push("two nodes, Pacemaker 1.1: no-quorum-policy=ignore, so the survivor of a node failure keeps running the groups, as heartbeat did (on corosync 2 with votequorum, prefer two_node: 1 in corosync.conf and drop this option)".into());
        }
        (Target::Pacemaker2, true) => {
            notes.push("two nodes, Pacemaker 2: set `two_node: 1` in corosync.conf's quorum section (in the sketch below): the survivor of a node failure keeps quorum and the groups, as with heartbeat; no-quorum-policy stays at its default (stop)".into());
        }
        (_, false) if nodes.len() > 2 => {
            notes.push(format!(
                "{} nodes: no-quorum-policy stays at its default (stop): a partition without a majority stops its groups, where heartbeat kept running them on any surviving node; set no-quorum-policy=ignore only to keep that behaviour",
                nodes.len()
            ));
        }
        _ => {}
    }
    let crm_config = El::new("crm_config").child(props);

    let rsc_defaults = El::new("rsc_defaults").child(
        El::new("meta_attributes")
            .attr("id", ids.take("rsc-options"))
            .child(nvpair(
                &mut ids,
                "rsc-options",
                "resource-stickiness",
                &unit.to_string(),
            )),
    );

    let configuration = El::new("configuration")
        .child(crm_config)
        .child(nodes_el)
        .child(resources)
        .child(constraints)
        .child(rsc_defaults);
    cib.push(configuration);
    cib.push(El::new("status"));

    other_notes(cfg, &mut notes);

    Export {
        cib,
        warnings,
        notes,
        corosync: corosync_sketch(cfg, target),
        groups: n_groups,
        primitives: n_prims,
        devices: n_devices,
    }
}

/// What else ha.cf and authkeys hold, and where it goes with Pacemaker.
fn other_notes(cfg: &Config, notes: &mut Vec<String>) {
    let h = &cfg.hacf;
    let mut pings: Vec<String> = h.ping.clone();
    for g in &h.ping_groups {
        pings.extend(g.hosts.iter().cloned());
    }
    if !pings.is_empty() {
        notes.push(format!(
            "ping nodes ({}): not carried over; Pacemaker's way (ipfail's job) is a clone of ocf:pacemaker:ping with host_list=\"{}\" and a location rule on the pingd attribute for each group (see the guide)",
            pings.join(" "),
            pings.join(" ")
        ));
    }
    for r in &h.respawn {
        notes.push(format!(
            "ha.cf:{}: respawn {} {}: not carried over (Pacemaker respawns nothing of yours): {}",
            r.line,
            r.user,
            r.command,
            if r.program().ends_with("/ipfail") {
                "ipfail's job is done by ocf:pacemaker:ping (see above)"
            } else {
                "run it as a systemd service"
            }
        ));
    }
    if let Some(w) = &h.watchdog {
        notes.push(format!(
            "watchdog {}: not carried over; with Pacemaker use sbd (watchdog-only or with a shared disk)",
            w.display()
        ));
    }
    notes.push("authkeys: not carried over; corosync has its own key: run corosync-keygen on one node and copy /etc/corosync/authkey to the others".into());
}

/// A corosync.conf for the same nodes, with the token timeout set to heartbeat's
/// deadtime and the quorum settings of the target.
fn corosync_sketch(cfg: &Config, target: Target) -> String {
    let h = &cfg.hacf;
    let mut s = String::new();
    s.push_str("totem {\n    version: 2\n");
    s.push_str(&format!("    cluster_name: {}\n", h.cluster));
    s.push_str(&format!(
        "    # heartbeat's deadtime ({}): how long a silent node takes to be declared dead\n    token: {}\n",
        duration(h.deadtime),
        h.deadtime.as_millis()
    ));
    if target == Target::Pacemaker2 {
        s.push_str("    transport: knet\n");
    } else {
        s.push_str("    transport: udpu\n");
    }
    s.push_str("}\nnodelist {\n");
    for (i, n) in h.nodes.iter().enumerate() {
        s.push_str(&format!(
            "    node {{\n        name: {n}\n        nodeid: {}\n        # the node's name, or its address on the cluster link\n        ring0_addr: {n}\n    }}\n",
            i + 1
        ));
    }
    s.push_str("}\nquorum {\n    provider: corosync_votequorum\n");
    if h.nodes.len() == 2 {
        s.push_str("    two_node: 1\n");
    }
    s.push_str("}\nlogging {\n    to_syslog: yes\n}\n");
    s
}

/// Reads `dir` (ha.cf, haresources, authkeys, and checks when present) and exports it,
/// looking scripts up on this machine. A configuration heartbeat refuses is refused.
pub fn export_dir(dir: &Path, target: Target) -> Result<Export, ConfigErrors> {
    // Interfaces, users and devices are the daemon's business, not the export's: a copy of
    // /etc/ha.d exports anywhere.
    let loaded = ha_config::load_dir_on(
        dir,
        &ha_config::AnyMachine,
        &ha_config::SystemResolver::new(),
    )?;
    let file = ha_config::load_checks_file(dir, &loaded.config.haresources)?;
    let mut e = export(&loaded.config, &file.checks, &Env::system(dir), target);
    let mut w: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    w.append(&mut e.warnings);
    for a in &file.arp_refresh {
        w.push(format!(
            "checks:{}: NOT MAPPED: 'arp-refresh' of {} every {} ms: IPaddr2's arp_count_refresh sends unsolicited ARPs at each monitor; set it, and that monitor's interval, by hand",
            a.line,
            a.group_key,
            a.interval.as_millis()
        ));
    }
    e.warnings = w;
    Ok(e)
}

/// `heartbeat --export-cib`: the CIB on stdout, the report on stderr. Returns 0, or 6
/// (as `heartbeat -t`) when the configuration is refused, 1 when stdout fails.
pub fn run(dir: &Path, target: Target) -> i32 {
    use std::io::Write;
    match export_dir(dir, target) {
        Ok(e) => {
            eprint!("{}", e.report());
            let mut out = std::io::stdout().lock();
            match out.write_all(e.xml().as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => 0,
                Err(err) => {
                    eprintln!("heartbeat: cannot write the CIB: {err}");
                    1
                }
            }
        }
        Err(errs) => {
            eprint!("{errs}");
            eprintln!("Configuration refused: no CIB written.");
            6
        }
    }
}

#[cfg(test)]
mod tests;
