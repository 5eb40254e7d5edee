//! haresources: one resource group per line, `NODE RESOURCE...`, read as the original's
//! ResourceManager reads it.
//!
//! `#` starts a comment anywhere; a line whose last character is `\` continues on the
//! next one (joined as is, without adding a blank); runs of blanks separate words. The
//! node is lowercased. `Name::arg1::arg2` is the script `Name` with its arguments (empty
//! arguments vanish, as in the shell); a resource spelled like an IPv4 address
//! (`10.0.0.1`, `10.0.0.1/24/eth0/10.0.0.255`) means `IPaddr::` that text.

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::lines::haresources_lines;

/// One resource as written, split into its script name and `::` arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// As written (e.g. `IPaddr::192.168.0.254/24/eth0`, or a bare `10.0.0.1`).
    pub spec: String,
    /// The script name (`IPaddr`; a bare IP address means `IPaddr`).
    pub script: String,
    /// The arguments given to the script before the operation.
    pub args: Vec<String>,
}

/// One haresources line: a resource group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The preferred node, lowercased.
    pub node: String,
    pub resources: Vec<Resource>,
    /// The line where the group starts.
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

/// haresources, parsed: the groups in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Haresources {
    pub groups: Vec<Group>,
}

impl Haresources {
    /// The groups whose preferred node is `node` (any case).
    pub fn groups_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Group> + 'a {
        let node = node.to_lowercase();
        self.groups.iter().filter(move |g| g.node == node)
    }
}

/// Whether a resource is spelled like an IP address, by ResourceManager's test: the
/// shell pattern `[0-9]*.[0-9]*.[0-9]*.[0-9]*` (a digit first, then three dots each
/// followed by a digit).
pub fn is_bare_ip(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    // Greedy-free matching of ".D" three times, anywhere after the first digit.
    let mut need = 3;
    let mut i = 1;
    while need > 0 && i + 1 < b.len() {
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            need -= 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    need == 0
}

impl Resource {
    /// Splits a resource as ResourceManager does.
    pub fn parse(spec: &str) -> Resource {
        if is_bare_ip(spec) && !spec.contains("::") {
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
            args: parts
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

/// Parses haresources text. Returns the groups (when there is no error) and every
/// diagnostic. Whether each node is a node of ha.cf is checked by [`crate::load_dir`].
pub fn parse_haresources(text: &str, file: &str) -> (Option<Haresources>, Vec<Diagnostic>) {
    let mut d = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for l in haresources_lines(text) {
        for c in &l.comment_in_continuation {
            d.push(Diagnostic::warning(
                file,
                Some(*c),
                "comment on a continuation line: the original's ResourceManager does not remove it (its words become resources); move the comment to its own line",
            ));
        }
        for b in &l.backslash_then_blank {
            d.push(Diagnostic::warning(
                file,
                Some(*b),
                "blank after the final backslash: the line does not continue (the backslash is a resource)",
            ));
        }
        let Some((node, specs)) = l.words.split_first() else {
            continue;
        };
        if specs.is_empty() {
            d.push(Diagnostic::warning(
                file,
                Some(l.number),
                format!("node '{node}' has no resources: line ignored"),
            ));
            continue;
        }
        let resources: Vec<Resource> = specs.iter().map(|w| Resource::parse(w)).collect();
        if let Some(r) = resources.iter().find(|r| r.script.is_empty()) {
            d.push(Diagnostic::error(
                file,
                Some(l.number),
                format!(
                    "resource '{}' has no script name (expected Name or Name::arg...)",
                    r.spec
                ),
            ));
            continue;
        }
        let g = Group {
            node: node.to_lowercase(),
            resources,
            line: l.number,
        };
        if let Some(prev) = groups.iter().find(|p| p.key() == g.key()) {
            d.push(Diagnostic::error(
                file,
                Some(l.number),
                format!(
                    "group key '{}' already used on line {}: the first resource of each line must be unique",
                    g.key(),
                    prev.line
                ),
            ));
            continue;
        }
        groups.push(g);
    }
    if d.iter().any(Diagnostic::is_error) {
        (None, d)
    } else {
        (Some(Haresources { groups }), d)
    }
}

/// The node names the original daemon checks when it starts (2.0.8 `parse_ha_resources`):
/// the first word of each line not starting with `#`, skipping the lines that continue a
/// line ending in `\` — a stricter reading than ResourceManager's (`a#x` is the node
/// `a#x` here).
pub fn daemon_node_tokens(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut continuing = false;
    for (i, raw) in text.split('\n').enumerate() {
        if continuing {
            continuing = raw.ends_with('\\');
            continue;
        }
        let line = raw.trim_start_matches(crate::lines::is_blank);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let token = line.split(crate::lines::is_blank).next().unwrap_or("");
        out.push((i + 1, token.to_string()));
        continuing = raw.ends_with('\\');
    }
    out
}

/// Finds a resource script as the original does: `HA_DIR/resource.d/NAME` first, then
/// NAME in each init directory; the first regular executable file wins.
pub fn resolve_script(ha_dir: &Path, init_dirs: &[&Path], name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if name.is_empty() || name.contains('/') {
        return None;
    }
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

/// Writes `h` back as haresources text.
pub fn render_haresources(h: &Haresources) -> String {
    h.groups
        .iter()
        .map(|g| {
            let rs: Vec<&str> = g.resources.iter().map(|r| r.spec.as_str()).collect();
            let line = format!("{} {}", g.node, rs.join(" "));
            // A final backslash would continue the line: a blank after it keeps it a word.
            if line.ends_with('\\') {
                format!("{line} \n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}
