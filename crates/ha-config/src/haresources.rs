//! haresources: one resource group per line, `NODE RESOURCE...`.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::lines::lines;

/// One resource as written, split into its script name and `::` arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// As written (e.g. `IPaddr::192.168.0.254/24/eth0`, or a bare `10.0.0.1`).
    pub spec: String,
    /// The script name (`IPaddr`; a bare IP address means `IPaddr`).
    pub script: String,
    pub args: Vec<String>,
}

/// One haresources line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The preferred node, lowercased.
    pub node: String,
    pub resources: Vec<Resource>,
    pub line: usize,
}

impl Group {
    /// The group key: its first resource as written.
    pub fn key(&self) -> &str {
        self.resources
            .first()
            .map(|r| r.spec.as_str())
            .unwrap_or("")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Haresources {
    pub groups: Vec<Group>,
}

/// Whether `s` is a bare IPv4 address, optionally `/bits/iface/broadcast`.
pub fn is_bare_ip(s: &str) -> bool {
    let addr = s.split('/').next().unwrap_or("");
    addr.parse::<std::net::Ipv4Addr>().is_ok() && addr.split('.').count() == 4
}

impl Resource {
    pub fn parse(spec: &str) -> Resource {
        if is_bare_ip(spec) {
            return Resource {
                spec: spec.to_string(),
                script: "IPaddr".into(),
                args: vec![spec.to_string()],
            };
        }
        let mut parts = spec.split("::");
        let script = parts.next().unwrap_or("").to_string();
        Resource {
            spec: spec.to_string(),
            script,
            args: parts.map(str::to_string).collect(),
        }
    }
}

pub fn parse_haresources(text: &str, file: &str) -> (Option<Haresources>, Vec<Diagnostic>) {
    let mut d = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for l in lines(text, true) {
        if l.words.len() < 2 {
            d.push(Diagnostic::error(
                file,
                Some(l.number),
                format!("node '{}' has no resources", l.words[0]),
            ));
            continue;
        }
        let resources: Vec<Resource> = l.words[1..].iter().map(|w| Resource::parse(w)).collect();
        if let Some(r) = resources.iter().find(|r| r.script.is_empty()) {
            d.push(Diagnostic::error(
                file,
                Some(l.number),
                format!("resource '{}' has no script name", r.spec),
            ));
            continue;
        }
        let g = Group {
            node: l.words[0].to_lowercase(),
            resources,
            line: l.number,
        };
        if let Some(prev) = groups.iter().find(|p| p.key() == g.key()) {
            d.push(Diagnostic::error(
                file,
                Some(l.number),
                format!("group key '{}' already used on line {}: the first resource of each line must be unique", g.key(), prev.line),
            ));
            continue;
        }
        groups.push(g);
    }
    if d.is_empty() {
        (Some(Haresources { groups }), d)
    } else {
        (None, d)
    }
}

/// Finds a resource script as the original does: /etc/ha.d/resource.d/NAME first, then
/// NAME in each init directory; the first regular executable file wins.
pub fn resolve_script(ha_dir: &Path, init_dirs: &[&Path], name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let candidates = std::iter::once(ha_dir.join("resource.d").join(name))
        .chain(init_dirs.iter().map(|d| d.join(name)));
    for c in candidates {
        if let Ok(m) = std::fs::metadata(&c) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Some(c);
            }
        }
    }
    None
}

pub fn render_haresources(h: &Haresources) -> String {
    h.groups
        .iter()
        .map(|g| {
            let rs: Vec<&str> = g.resources.iter().map(|r| r.spec.as_str()).collect();
            format!("{} {}\n", g.node, rs.join(" "))
        })
        .collect()
}
