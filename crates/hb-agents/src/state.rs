//! The agents' files in `$HA_RSCTMP` (default `/run/resource-agents`, as resource-agents
//! uses), named as the originals name them so that ours and theirs see each other's:
//!
//! - `IPaddr-<nic>` and its hard links `IPaddr-<nic>:<n>`: IPaddr's claims on alias
//!   labels. A label is claimed by creating the link (atomic), released by IPaddr's stop.
//! - `send_arp-<ip>`: the pid of the process sending gratuitous ARPs for `<ip>`, present
//!   while it runs (it removes the file when done; stop kills it and removes the file).
//! - `SendArp_SendArp_<ip>`: SendArp's "started" marker.
//! - `<ip>`: IPaddr2's record of a loopback address it moved away (LVS support).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where the files live when `HA_RSCTMP` is not set.
pub const DEFAULT_RSCTMP: &str = "/run/resource-agents";

/// How many alias numbers IPaddr tries (`eth0:0` to `eth0:511`).
pub const MAX_ALIASES: u32 = 512;

/// The state directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDir {
    pub dir: PathBuf,
}

/// What stopping an announcer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// No pid file.
    NoPidFile,
    /// The process was signalled and the pid file removed.
    Killed(u32),
    /// The pid file named no running sender (finished, or a recycled pid): only the file
    /// was removed.
    Stale,
}

impl StateDir {
    /// `$HA_RSCTMP`, else [`DEFAULT_RSCTMP`].
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> StateDir {
        let dir = get("HA_RSCTMP")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_RSCTMP.to_string());
        StateDir {
            dir: PathBuf::from(dir),
        }
    }

    /// Creates the directory if it is missing (the original fails without it).
    pub fn ensure(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)
    }

    pub fn pidfile(&self, ip: &str) -> PathBuf {
        self.dir.join(format!("send_arp-{ip}"))
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Claims the alias label IPaddr gives a new address on `nic`, the way the original
    /// picks it: start at N = the number of existing `IPaddr-<nic>:*` claims (or at 0 if
    /// `IPaddr-<nic>:N` itself exists), then take the first number whose claim file can
    /// be created and whose label is not in use on the system (`in_use`). The original
    /// means to skip labels in use too, but its test never matches today's ifconfig
    /// output, so it reuses (and overwrites) an alias someone else set; we skip it.
    pub fn claim_label(
        &self,
        nic: &str,
        in_use: &dyn Fn(&str) -> bool,
    ) -> io::Result<Option<String>> {
        let base = self.dir.join(format!("IPaddr-{nic}"));
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o644)
            .open(&base)?;
        let prefix = format!("IPaddr-{nic}:");
        let mut count = 0u32;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                count += 1;
            }
        }
        let mut j = if self.dir.join(format!("{prefix}{count}")).exists() {
            0
        } else {
            count
        };
        while j < MAX_ALIASES {
            let label = format!("{nic}:{j}");
            if !in_use(&label) {
                match fs::hard_link(&base, self.dir.join(format!("IPaddr-{label}"))) {
                    Ok(()) => return Ok(Some(label)),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            j += 1;
        }
        Ok(None)
    }

    /// Drops the claim on a label (missing is fine).
    pub fn release_label(&self, label: &str) {
        let _ = fs::remove_file(self.dir.join(format!("IPaddr-{label}")));
    }

    /// Writes a pid file (mode 0600, the digits without a newline, as send_arp does).
    pub fn write_pidfile(&self, ip: &str, pid: u32) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(self.pidfile(ip))?;
        f.write_all(pid.to_string().as_bytes())
    }

    /// The pid in `send_arp-<ip>`, if the file exists and holds one.
    pub fn read_pidfile(&self, ip: &str) -> Option<u32> {
        read_pid(&self.pidfile(ip))
    }

    /// Stops the ARP sender of `ip` if one runs: SIGTERM to the pid in its pid file when
    /// that process is a sender (its name is `send_arp`, ours or the original's), then
    /// removes the file.
    pub fn kill_announcer(&self, ip: &str) -> Kill {
        let path = self.pidfile(ip);
        if !path.exists() {
            return Kill::NoPidFile;
        }
        let result = match read_pid(&path) {
            Some(pid) if is_sender(pid) => {
                // SAFETY: kill(2) with a pid read from the file and checked to be a sender.
                let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                if rc == 0 {
                    Kill::Killed(pid)
                } else {
                    Kill::Stale
                }
            }
            _ => Kill::Stale,
        };
        let _ = fs::remove_file(&path);
        result
    }

    pub fn touch(&self, name: &str) -> io::Result<()> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o644)
            .open(self.file(name))
            .map(|_| ())
    }

    pub fn remove(&self, name: &str) {
        let _ = fs::remove_file(self.file(name));
    }

    pub fn exists(&self, name: &str) -> bool {
        self.file(name).exists()
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    let mut s = String::new();
    fs::File::open(path).ok()?.read_to_string(&mut s).ok()?;
    s.trim().parse::<u32>().ok().filter(|&p| p > 1)
}

/// Whether `pid` is a running ARP sender: its command name is `send_arp`.
pub fn is_sender(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "send_arp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> StateDir {
        let dir =
            std::env::temp_dir().join(format!("hb-agents-state-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        StateDir { dir }
    }

    #[test]
    fn labels_are_claimed_like_the_original() {
        let s = tmpdir("labels");
        let none = |_: &str| false;
        assert_eq!(
            s.claim_label("eth0", &none).unwrap().as_deref(),
            Some("eth0:0")
        );
        assert_eq!(
            s.claim_label("eth0", &none).unwrap().as_deref(),
            Some("eth0:1")
        );
        assert_eq!(
            s.claim_label("eth1", &none).unwrap().as_deref(),
            Some("eth1:0")
        );
        // Two claims exist (0, 1): start at 2.
        s.release_label("eth0:0");
        // Now one claim (1) and IPaddr-eth0:1 exists: start at 0.
        assert_eq!(
            s.claim_label("eth0", &none).unwrap().as_deref(),
            Some("eth0:0")
        );
        // Claims 0 and 1; a label in use by someone else is skipped.
        let busy = |l: &str| l == "eth0:2";
        assert_eq!(
            s.claim_label("eth0", &busy).unwrap().as_deref(),
            Some("eth0:3")
        );
        // Claims 0,1,3 (count 3, and :3 exists): start at 0, first free is 2.
        assert_eq!(
            s.claim_label("eth0", &none).unwrap().as_deref(),
            Some("eth0:2")
        );
        assert!(s.dir.join("IPaddr-eth0").exists());
        let _ = fs::remove_dir_all(&s.dir);
    }

    #[test]
    fn pid_files() {
        let s = tmpdir("pid");
        assert_eq!(s.kill_announcer("192.0.2.9"), Kill::NoPidFile);
        s.write_pidfile("192.0.2.9", 4_000_000).unwrap();
        assert_eq!(
            fs::read_to_string(s.pidfile("192.0.2.9")).unwrap(),
            "4000000"
        );
        assert_eq!(s.read_pidfile("192.0.2.9"), Some(4_000_000));
        // No such process (or not a sender): only the file goes.
        assert_eq!(s.kill_announcer("192.0.2.9"), Kill::Stale);
        assert!(!s.pidfile("192.0.2.9").exists());
        // Our own pid is not a sender: never signalled.
        s.write_pidfile("192.0.2.9", std::process::id()).unwrap();
        assert_eq!(s.kill_announcer("192.0.2.9"), Kill::Stale);
        let _ = fs::remove_dir_all(&s.dir);
    }
}
