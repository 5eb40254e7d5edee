//! What the v1 ResourceManager script does with a haresources resource, as pure functions.
//!
//! A haresources line is `<node> <resource> [<resource>...]`; each resource names a script and
//! its arguments. ResourceManager (2.0.8, kept unchanged by users) turns a resource into a
//! command line, finds the script, decides from the text a `status` call prints whether the
//! resource is held, and runs groups left to right (take) or right to left (give). This module
//! reproduces those rules, quirks included, so that the daemon can run the scripts itself with
//! timeouts ([`group::GroupOp`]) while behaving as ResourceManager would.

pub mod group;

pub use group::{
    GroupConfig, GroupEvent, GroupKind, GroupOp, GroupOpError, GroupOutcome, GroupPoll, Step,
    StepExit, StopRetries,
};

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where 2.0.8 looks first for resource scripts.
pub const RESOURCE_DIR: &str = "/etc/ha.d/resource.d";
/// The init-script directory ResourceManager searches second (chosen when 2.0.8 was built;
/// `/etc/init.d` on the usual builds, `/etc/rc.d/init.d` on some).
pub const INIT_DIR: &str = "/etc/init.d";

/// The three operations ResourceManager runs on a resource script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptOp {
    Start,
    Stop,
    Status,
}

impl ScriptOp {
    /// The word passed as the script's last argument.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScriptOp::Start => "start",
            ScriptOp::Stop => "stop",
            ScriptOp::Status => "status",
        }
    }
}

/// A resource of a haresources line, split the way ResourceManager splits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceSpec {
    /// The resource as written (`IPaddr::198.51.100.254/24/eth0`, `192.0.2.10`, `httpd`).
    pub spec: String,
    /// The script name to look up (`IPaddr` for a bare address).
    pub script: String,
    /// The arguments placed before the operation.
    pub args: Vec<String>,
}

impl ResourceSpec {
    /// Splits `spec` (see [`script_argv`] for the rules).
    pub fn parse(spec: &str) -> ResourceSpec {
        let canonical = canonical_name(spec);
        let script = match canonical.find("::") {
            Some(at) => canonical.get(..at).unwrap_or_default().to_string(),
            None => canonical.clone(),
        };
        let args = if canonical.contains("::") {
            remove_first_script_part(spec)
                .replace("::", " ")
                .split([' ', '\t', '\n'])
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        ResourceSpec {
            spec: spec.to_string(),
            script,
            args,
        }
    }

    /// The arguments for running `op`: [`ResourceSpec::args`] then the operation word.
    pub fn argv(&self, op: ScriptOp) -> Vec<String> {
        let mut argv = self.args.clone();
        argv.push(op.as_str().to_string());
        argv
    }
}

/// The script name and full argument list (operation last) for running `op` on `spec`.
///
/// The rules are ResourceManager's:
/// - A resource that looks like an IPv4 address (the shell pattern `[0-9]*.[0-9]*.[0-9]*.[0-9]*`:
///   starts with a digit and contains a dot followed by a digit three times) means
///   `IPaddr::<resource>`, so `192.0.2.10/24/eth0` runs `IPaddr 192.0.2.10/24/eth0 <op>`.
/// - Otherwise the script is the text before the first `::`, and the arguments are the rest,
///   split at every further `::` (`Filesystem::/dev/sda1::/data1::ext2` runs
///   `Filesystem /dev/sda1 /data1 ext2 <op>`). Empty arguments vanish, as they do when the shell
///   splits the unquoted list.
/// - A resource with no `::` runs the script of that name with only the operation.
pub fn script_argv(spec: &str, op: ScriptOp) -> (String, Vec<String>) {
    let parsed = ResourceSpec::parse(spec);
    let argv = parsed.argv(op);
    (parsed.script, argv)
}

/// Whether ResourceManager would take `spec` for an IPv4 address (see [`script_argv`]).
pub fn looks_like_ip(spec: &str) -> bool {
    let bytes = spec.as_bytes();
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

fn canonical_name(spec: &str) -> String {
    if looks_like_ip(spec) {
        format!("IPaddr::{spec}")
    } else {
        spec.to_string()
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

/// Finds a resource script as ResourceManager does: `<dir>/<name>` for `resource_dir` then each
/// of `init_dirs`; the first that is a regular file (after following symlinks) and executable
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

fn is_executable_file(path: &Path) -> bool {
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

/// ResourceManager's ownership test on what `<script> <args> status` printed on stdout (its
/// exit status is ignored):
/// 1. text containing `not` (each letter in either case) and a blank, followed anywhere later
///    by `running` or `Running`, means **not held** (`is not running`, `Not running`,
///    `NOT running`);
/// 2. otherwise text containing `running`, `Running` or `OK` means **held** (`running`,
///    `httpd (pid 42) is running...`, SuSE's `OK`);
/// 3. anything else means not held (`stopped`, empty output, `RUNNING`, `ok`).
///
/// Matching is on bytes, like the shell's `case` patterns; quirks are kept (`BROKEN`
/// contains `OK`, `notrunning` has no blank after `not`).
pub fn ownership_from_status_stdout(stdout: &[u8]) -> bool {
    if let Some(at) = find_not_blank(stdout) {
        if contains_running(stdout.get(at + 4..).unwrap_or_default()) {
            return false;
        }
    }
    contains_running(stdout) || stdout.windows(2).any(|w| w == b"OK")
}

/// Position of the first `[Nn][Oo][Tt] ` in `text`.
fn find_not_blank(text: &[u8]) -> Option<usize> {
    text.windows(4).position(|w| {
        w.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'n'))
            && w.get(1).is_some_and(|c| c.eq_ignore_ascii_case(&b'o'))
            && w.get(2).is_some_and(|c| c.eq_ignore_ascii_case(&b't'))
            && w.get(3) == Some(&b' ')
    })
}

fn contains_running(text: &[u8]) -> bool {
    text.windows(7).any(|w| w == b"running" || w == b"Running")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn argv(spec: &str, op: ScriptOp) -> (String, Vec<String>) {
        script_argv(spec, op)
    }

    fn owned(text: &str) -> bool {
        ownership_from_status_stdout(text.as_bytes())
    }

    #[test]
    fn argv_for_the_usual_spellings() {
        assert_eq!(
            argv("IPaddr::198.51.100.254/24/eth0", ScriptOp::Start),
            (
                "IPaddr".into(),
                vec!["198.51.100.254/24/eth0".into(), "start".into()]
            )
        );
        assert_eq!(
            argv("192.0.2.10", ScriptOp::Status),
            ("IPaddr".into(), vec!["192.0.2.10".into(), "status".into()])
        );
        assert_eq!(
            argv("192.0.2.10/24/eth0/192.0.2.255", ScriptOp::Stop),
            (
                "IPaddr".into(),
                vec!["192.0.2.10/24/eth0/192.0.2.255".into(), "stop".into()]
            )
        );
        assert_eq!(
            argv("Filesystem::/dev/sda1::/data1::ext2", ScriptOp::Start),
            (
                "Filesystem".into(),
                vec![
                    "/dev/sda1".into(),
                    "/data1".into(),
                    "ext2".into(),
                    "start".into()
                ]
            )
        );
        assert_eq!(
            argv("httpd", ScriptOp::Stop),
            ("httpd".into(), vec!["stop".into()])
        );
        assert_eq!(
            argv("EnvDump::one::two", ScriptOp::Start),
            (
                "EnvDump".into(),
                vec!["one".into(), "two".into(), "start".into()]
            )
        );
    }

    #[test]
    fn argv_quirks_follow_the_shell() {
        // Empty arguments vanish in the shell's word splitting.
        assert_eq!(
            argv("X::a::::b::", ScriptOp::Start),
            ("X".into(), vec!["a".into(), "b".into(), "start".into()])
        );
        // An address with more parts after it: IPaddr, and the part before the first "::" is
        // dropped from the arguments as the sed expression drops it.
        assert_eq!(
            argv("192.0.2.1::x", ScriptOp::Start),
            ("IPaddr".into(), vec!["x".into(), "start".into()])
        );
        // A single colon inside the name: the sed expression keeps "a:" in the arguments.
        assert_eq!(
            argv("a:b::c", ScriptOp::Start),
            ("a:b".into(), vec!["a:c".into(), "start".into()])
        );
        assert_eq!(
            argv("name::", ScriptOp::Status),
            ("name".into(), vec!["status".into()])
        );
    }

    #[test]
    fn ip_detection_is_the_shell_pattern() {
        assert!(looks_like_ip("192.0.2.10"));
        assert!(looks_like_ip("1.2.3.4"));
        assert!(looks_like_ip("10.0.0.170/24"));
        assert!(looks_like_ip("1x.2y.3z.4"));
        assert!(!looks_like_ip("192.0.2"));
        assert!(!looks_like_ip("IPaddr::1.2.3.4"));
        assert!(!looks_like_ip("1..2.3"));
        assert!(!looks_like_ip("a.1.2.3"));
        assert!(!looks_like_ip(""));
        assert!(!looks_like_ip("1.2.3."));
    }

    #[test]
    fn ownership_on_texts_real_agents_print() {
        // IPaddr and most heartbeat wrappers.
        assert!(owned("running\n"));
        assert!(!owned("stopped\n"));
        // LSB init scripts.
        assert!(owned("httpd (pid 1234) is running...\n"));
        assert!(!owned("httpd is stopped\n"));
        assert!(!owned("apache2 is not running\n"));
        assert!(!owned(" * apache2 is not running\n"));
        assert!(owned(" * apache2 is running\n"));
        // SuSE style.
        assert!(owned("Checking for service httpd: OK\n"));
        assert!(owned("OK"));
        // Capitalised and upper-case "not".
        assert!(!owned("Not running\n"));
        assert!(!owned("Process is NOT running\n"));
        assert!(!owned("status: stopped (not Running)\n"));
        assert!(owned("Running\n"));
        // "not" and "running" several lines apart still count.
        assert!(!owned("daemon not \nfound; was running earlier\n"));
        // A tab is not the blank the pattern wants, so this reads as running.
        assert!(owned("not\trunning\n"));
        assert!(owned("notrunning"));
        // Two blanks are fine: anything may come between "not " and "running".
        assert!(!owned("not  running"));
        // Neither word: not held.
        assert!(!owned(""));
        assert!(!owned("unknown\n"));
        assert!(!owned("RUNNING\n"));
        assert!(!owned("ok\n"));
        assert!(!owned("cannot run\n"));
        // Quirk: "OK" inside a word.
        assert!(owned("BROKEN\n"));
        // "not " without a later "running" falls through to the second rule.
        assert!(owned("running, not stopped\n"));
        assert!(!owned("not stopped\n"));
    }

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn locate_takes_the_first_regular_executable() {
        let base = std::env::temp_dir().join(format!("hb-runner-locate-{}", std::process::id()));
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
        let none: [&Path; 0] = [];
        assert_eq!(locate_script(&rdir, &none, "httpd"), None);
        drop(guard);
    }
}
