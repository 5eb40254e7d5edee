//! What the v1 ResourceManager script does with a haresources resource, as pure functions.
//!
//! A haresources line is `<node> <resource> [<resource>...]`; each resource names a script and
//! its arguments. ResourceManager (2.0.8, kept unchanged by users) turns a resource into a
//! command line, finds the script, decides from the text a `status` call prints whether the
//! resource is held, and runs groups left to right (take) or right to left (give). This module
//! reproduces those rules, quirks included, so that the daemon can run the scripts itself with
//! timeouts ([`group::GroupOp`]) while behaving as ResourceManager would. The splitting of a
//! resource and the script lookup are configuration's: [`ha_config::Resource::parse`] and
//! [`ha_config::locate_script`], shared with the config test.

pub mod group;

pub use group::{
    GroupConfig, GroupEvent, GroupKind, GroupOp, GroupOpError, GroupOutcome, GroupPoll, Step,
    StepExit, StopRetries,
};

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

    fn owned(text: &str) -> bool {
        ownership_from_status_stdout(text.as_bytes())
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
}
