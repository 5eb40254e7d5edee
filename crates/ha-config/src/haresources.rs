//! haresources: one resource group per line, `NODE RESOURCE...`, read as the original's
//! ResourceManager reads it.
//!
//! `#` starts a comment anywhere; a line whose last character is `\` continues on the
//! next one (joined as is, without adding a blank); runs of blanks separate words. The
//! node is lowercased. `Name::arg1::arg2` is the script `Name` with its arguments (empty
//! arguments vanish, as in the shell); a resource spelled like an IPv4 address
//! (`10.0.0.1`, `10.0.0.1/24/eth0/10.0.0.255`) means `IPaddr::` that text.
//!
//! This is the one resource parser ([`Resource::parse`]) and the one script lookup
//! ([`locate_script`]): the config test, the daemon, `ResourceManager` and the CIB export
//! all use them, so `heartbeat -t` checks the very script the daemon will run.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
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

/// Whether a resource is spelled like an IP address, by ResourceManager's test (`isip`):
/// the shell pattern `[0-9]*.[0-9]*.[0-9]*.[0-9]*` (a digit first, then three times a dot
/// followed by a digit).
pub fn is_bare_ip(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    // Three times, in order: a literal '.' immediately followed by a digit.
    let mut from = 1;
    for _ in 0..3 {
        let found = bytes
            .get(from..)
            .unwrap_or_default()
            .windows(2)
            .position(|w| w.first() == Some(&b'.') && w.get(1).is_some_and(u8::is_ascii_digit));
        match found {
            Some(offset) => from += offset + 2,
            None => return false,
        }
    }
    true
}

impl Resource {
    /// Splits a resource as ResourceManager does (`canonname`, `resource2script`,
    /// `resource2arg`):
    /// - A resource that looks like an IPv4 address ([`is_bare_ip`]) means
    ///   `IPaddr::<resource>`: `192.0.2.10/24/eth0` runs `IPaddr 192.0.2.10/24/eth0 OP`.
    /// - Otherwise the script is the text before the first `::` and the arguments are the
    ///   rest, split at every further `::` (`Filesystem::/dev/sda1::/data1::ext2` runs
    ///   `Filesystem /dev/sda1 /data1 ext2 OP`). Empty arguments vanish, as they do when the
    ///   shell splits the unquoted list.
    /// - Quirks kept: an address followed by `::` (`1.2.3.4::x`) still runs IPaddr, with the
    ///   address dropped from the arguments by the `sed` (`IPaddr x OP`); a single colon in
    ///   the name stays in the arguments (`a:b::c` runs `a:b a:c OP`).
    pub fn parse(spec: &str) -> Resource {
        let canonical = if is_bare_ip(spec) {
            format!("IPaddr::{spec}")
        } else {
            spec.to_string()
        };
        let (script, args) = match canonical.find("::") {
            Some(at) => (
                canonical.get(..at).unwrap_or_default().to_string(),
                remove_first_script_part(spec)
                    .replace("::", " ")
                    .split([' ', '\t', '\n'])
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            None => (canonical, Vec::new()),
        };
        Resource {
            spec: spec.to_string(),
            script,
            args,
        }
    }

    /// The arguments for running the operation `op` (`start`, `stop`, `status`): the
    /// resource's arguments, then the operation.
    pub fn argv(&self, op: &str) -> Vec<String> {
        let mut argv = self.args.clone();
        argv.push(op.to_string());
        argv
    }
}

/// The shell's `sed 's%[^:]*::%%'`: removes the first run of non-colons that ends in `::`.
fn remove_first_script_part(spec: &str) -> String {
    let Some(k) = spec.find("::") else {
        return spec.to_string();
    };
    let before = spec.get(..k).unwrap_or_default();
    let start = before.rfind(':').map_or(0, |c| c + 1);
    let mut out = String::with_capacity(spec.len());
    out.push_str(spec.get(..start).unwrap_or_default());
    out.push_str(spec.get(k + 2..).unwrap_or_default());
    out
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

/// Finds a resource script as ResourceManager does (`scriptpath`): `<dir>/<name>` for
/// `resource_dir` (`HA_DIR/resource.d`), then each of `init_dirs` ([`crate::INIT_DIRS`]);
/// the first that is a regular file (after following symlinks) and executable
/// (`access(X_OK)`) wins. The path is built by plain concatenation, as the shell does.
pub fn locate_script<P: AsRef<Path>>(
    resource_dir: &Path,
    init_dirs: &[P],
    name: &str,
) -> Option<PathBuf> {
    std::iter::once(resource_dir)
        .chain(init_dirs.iter().map(AsRef::as_ref))
        .map(|dir| {
            let mut path = OsString::from(dir.as_os_str());
            path.push("/");
            path.push(name);
            PathBuf::from(path)
        })
        .find(|path| is_executable_file(path))
}

/// The shell's `[ -f PATH -a -x PATH ]`: a regular file (after symlinks) we may execute.
pub fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access() only reads the NUL-terminated path.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn argv(spec: &str, op: &str) -> (String, Vec<String>) {
        let r = Resource::parse(spec);
        let argv = r.argv(op);
        (r.script, argv)
    }

    fn v(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn argv_for_the_usual_spellings() {
        assert_eq!(
            argv("IPaddr::198.51.100.254/24/eth0", "start"),
            ("IPaddr".into(), v(&["198.51.100.254/24/eth0", "start"]))
        );
        assert_eq!(
            argv("192.0.2.10", "status"),
            ("IPaddr".into(), v(&["192.0.2.10", "status"]))
        );
        assert_eq!(
            argv("192.0.2.10/24/eth0/192.0.2.255", "stop"),
            (
                "IPaddr".into(),
                v(&["192.0.2.10/24/eth0/192.0.2.255", "stop"])
            )
        );
        assert_eq!(
            argv("Filesystem::/dev/sda1::/data1::ext2", "start"),
            (
                "Filesystem".into(),
                v(&["/dev/sda1", "/data1", "ext2", "start"])
            )
        );
        assert_eq!(argv("httpd", "stop"), ("httpd".into(), v(&["stop"])));
        assert_eq!(
            argv("EnvDump::one::two", "start"),
            ("EnvDump".into(), v(&["one", "two", "start"]))
        );
    }

    #[test]
    fn argv_quirks_follow_the_shell() {
        // Empty arguments vanish in the shell's word splitting.
        assert_eq!(
            argv("X::a::::b::", "start"),
            ("X".into(), v(&["a", "b", "start"]))
        );
        assert_eq!(Resource::parse("Delay::::5").args, v(&["5"]));
        // An address with more parts after it: IPaddr (ResourceManager's canonname), and the
        // part before the first "::" is dropped from the arguments as the sed drops it.
        assert_eq!(
            argv("192.0.2.1::x", "start"),
            ("IPaddr".into(), v(&["x", "start"]))
        );
        // A single colon inside the name: the sed expression keeps "a:" in the arguments.
        assert_eq!(
            argv("a:b::c", "start"),
            ("a:b".into(), v(&["a:c", "start"]))
        );
        assert_eq!(argv("name::", "status"), ("name".into(), v(&["status"])));
        // No script name at all: the parser of haresources refuses the line.
        assert_eq!(Resource::parse("::y").script, "");
    }

    #[test]
    fn ip_detection_is_the_shell_pattern() {
        for yes in [
            "192.0.2.10",
            "1.2.3.4",
            "10.0.0.170/24",
            "1x.2y.3z.4",
            "10.0.0.1/24/eth0",
            "1.2.3.4.5",
        ] {
            assert!(is_bare_ip(yes), "{yes}");
        }
        for no in [
            "192.0.2",
            "IPaddr::1.2.3.4",
            "1..2.3",
            "a.1.2.3",
            "",
            "1.2.3.",
            "10.0.0",
        ] {
            assert!(!is_bare_ip(no), "{no}");
        }
    }

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn locate_takes_the_first_regular_executable() {
        let base = std::env::temp_dir().join(format!("ha-config-locate-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let guard = Dir(base.clone());
        let rdir = base.join("resource.d");
        let idir = base.join("init.d");
        fs::create_dir_all(&rdir).unwrap();
        fs::create_dir_all(&idir).unwrap();
        let write = |path: &Path, mode: u32| {
            fs::write(path, "#!/bin/sh\n").unwrap();
            fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
        };
        // Only in init.d.
        write(&idir.join("httpd"), 0o755);
        // In both: resource.d wins.
        write(&rdir.join("IPaddr"), 0o755);
        write(&idir.join("IPaddr"), 0o755);
        // Not executable in resource.d: init.d's wins.
        write(&rdir.join("db"), 0o644);
        write(&idir.join("db"), 0o755);
        // A directory is not a script.
        fs::create_dir_all(rdir.join("dir")).unwrap();
        // A symlink to an executable counts.
        std::os::unix::fs::symlink(idir.join("httpd"), rdir.join("link")).unwrap();

        let dirs = [idir.clone()];
        assert_eq!(
            locate_script(&rdir, &dirs, "httpd"),
            Some(idir.join("httpd"))
        );
        assert_eq!(
            locate_script(&rdir, &dirs, "IPaddr"),
            Some(rdir.join("IPaddr"))
        );
        assert_eq!(locate_script(&rdir, &dirs, "db"), Some(idir.join("db")));
        assert_eq!(locate_script(&rdir, &dirs, "dir"), None);
        assert_eq!(locate_script(&rdir, &dirs, "missing"), None);
        assert_eq!(locate_script(&rdir, &dirs, ""), None);
        assert_eq!(locate_script(&rdir, &dirs, "nul\0name"), None);
        assert_eq!(locate_script(&rdir, &dirs, "link"), Some(rdir.join("link")));
        // The path is concatenated as the shell does: a name with a slash is a path below
        // the directory.
        assert_eq!(
            locate_script(&rdir, &dirs, "../init.d/httpd"),
            Some(rdir.join("../init.d/httpd"))
        );
        let none: [&Path; 0] = [];
        assert_eq!(locate_script(&rdir, &none, "httpd"), None);
        drop(guard);
    }
}
