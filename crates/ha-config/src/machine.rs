//! Facts about the machine that the original checks while it reads its configuration,
//! and those the config test reports.
//!
//! [`machine_checks`] gives each finding the severity the daemon needs (an error where
//! the original refuses to start); the config test turns them all into warnings.

use std::ffi::CString;
use std::path::Path;

use crate::diag::Diagnostic;
use crate::hacf::Medium;
use crate::{resolve_script, Config, INIT_DIRS};

/// The machine, as the checks see it (a fake one in tests).
pub trait Machine {
    /// A network interface of that name exists (`/sys/class/net/NAME`).
    fn interface_exists(&self, name: &str) -> bool;
    /// A user of that name exists.
    fn user_exists(&self, name: &str) -> bool;
    /// A group of that name exists.
    fn group_exists(&self, name: &str) -> bool;
    /// `path` exists and is executable.
    fn is_executable(&self, path: &Path) -> bool;
    /// `Some(is a character device)` when `path` exists.
    fn char_device(&self, path: &Path) -> Option<bool>;
    /// The resource script NAME as the original finds it.
    fn resource_script(&self, ha_dir: &Path, name: &str) -> bool;
}

/// The machine this runs on.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemMachine;

/// A machine where every fact holds: for reading a copy of /etc/ha.d away from its node
/// (`heartbeat --export-cib`), and for tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnyMachine;

impl Machine for AnyMachine {
    fn interface_exists(&self, _: &str) -> bool {
        true
    }
    fn user_exists(&self, _: &str) -> bool {
        true
    }
    fn group_exists(&self, _: &str) -> bool {
        true
    }
    fn is_executable(&self, _: &Path) -> bool {
        true
    }
    fn char_device(&self, _: &Path) -> Option<bool> {
        Some(true)
    }
    fn resource_script(&self, _: &Path, _: &str) -> bool {
        true
    }
}

fn cstring(s: &str) -> Option<CString> {
    CString::new(s).ok()
}

impl Machine for SystemMachine {
    fn interface_exists(&self, name: &str) -> bool {
        !name.is_empty()
            && !name.contains('/')
            && name != "."
            && name != ".."
            && Path::new("/sys/class/net").join(name).exists()
    }

    fn user_exists(&self, name: &str) -> bool {
        let Some(c) = cstring(name) else {
            return false;
        };
        let mut buf = vec![0 as libc::c_char; 16384];
        // SAFETY: getpwnam_r with a valid C string, a zeroed passwd and a buffer we own.
        unsafe {
            let mut pw: libc::passwd = std::mem::zeroed();
            let mut out: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut out);
            rc == 0 && !out.is_null()
        }
    }

    fn group_exists(&self, name: &str) -> bool {
        let Some(c) = cstring(name) else {
            return false;
        };
        let mut buf = vec![0 as libc::c_char; 65536];
        // SAFETY: getgrnam_r with a valid C string, a zeroed group and a buffer we own.
        unsafe {
            let mut gr: libc::group = std::mem::zeroed();
            let mut out: *mut libc::group = std::ptr::null_mut();
            let rc = libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut out);
            rc == 0 && !out.is_null()
        }
    }

    fn is_executable(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: access(2) on a valid C string.
        unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
    }

    fn char_device(&self, path: &Path) -> Option<bool> {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.file_type().is_char_device())
    }

    fn resource_script(&self, ha_dir: &Path, name: &str) -> bool {
        let init: Vec<&Path> = INIT_DIRS.iter().map(Path::new).collect();
        resolve_script(ha_dir, &init, name).is_some()
    }
}

/// `uname -n`.
pub(crate) fn uname_nodename() -> Option<String> {
    // SAFETY: uname(2) fills a zeroed utsname we own.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return None;
        }
        let bytes: Vec<u8> = u
            .nodename
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8(bytes).ok()
    }
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The facts about this machine that matter to the configuration, each with the severity
/// the daemon needs: an error where the original refuses to start (this host not a node,
/// a bcast or mcast interface missing, a serial port missing, a respawn user or program
/// missing, an apiauth user or group unknown), a warning where it starts anyway (a ucast
/// interface missing, a resource script missing, the watchdog device missing).
/// `this_host`: the local node name, when the caller wants that checked.
pub fn machine_checks(
    c: &Config,
    ha_dir: &Path,
    this_host: Option<&str>,
    m: &dyn Machine,
) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    let h = &c.hacf;
    if let Some(host) = this_host {
        let host = host.to_lowercase();
        if !h.nodes.contains(&host) {
            d.push(Diagnostic::error(
                "ha.cf",
                None,
                format!(
                    "Current node [{host}] not in configuration: nodes are {}; the daemon refuses to start on this host (names are as `uname -n` gives them, or the first line of {}/nodeinfo)",
                    h.nodes.join(" "),
                    ha_dir.display()
                ),
            ));
        }
    }
    for medium in &h.media {
        let line = Some(medium.line());
        match medium {
            Medium::Serial { devs, .. } => {
                for dev in devs {
                    match m.char_device(Path::new(dev)) {
                        None => d.push(Diagnostic::error(
                            "ha.cf",
                            line,
                            format!("Nonexistent serial port [{dev}] (the original refuses to start)"),
                        )),
                        Some(false) => d.push(Diagnostic::error(
                            "ha.cf",
                            line,
                            format!(
                                "Serial port [{dev}] not a char device (the original refuses to start)"
                            ),
                        )),
                        Some(true) => {}
                    }
                }
            }
            _ => {
                for dev in medium.devices() {
                    if !m.interface_exists(dev) {
                        let starts_anyway = matches!(medium, Medium::Ucast { .. });
                        let msg = format!(
                            "interface '{dev}' does not exist on this host{}",
                            if starts_anyway {
                                ""
                            } else {
                                " (the original refuses to start)"
                            }
                        );
                        d.push(if starts_anyway {
                            Diagnostic::warning("ha.cf", line, msg)
                        } else {
                            Diagnostic::error("ha.cf", line, msg)
                        });
                    }
                }
            }
        }
    }
    for (what, list) in [("respawn", &h.respawn), ("failfast", &h.failfast)] {
        for r in list {
            if !m.user_exists(&r.user) {
                d.push(Diagnostic::error(
                    "ha.cf",
                    Some(r.line),
                    format!(
                        "Invalid uid [{}] specified for client child: no such user",
                        r.user
                    ),
                ));
            }
            if !m.is_executable(Path::new(r.program())) {
                d.push(Diagnostic::error(
                    "ha.cf",
                    Some(r.line),
                    format!(
                        "{what}: client child command [{}] is not executable",
                        r.program()
                    ),
                ));
            }
        }
    }
    for a in &h.apiauth {
        for u in a.uids.iter().filter(|u| !numeric(u)) {
            if !m.user_exists(u) {
                d.push(Diagnostic::error(
                    "ha.cf",
                    None,
                    format!("apiauth {}: Invalid user id name [{u}]", a.client),
                ));
            }
        }
        for g in a.gids.iter().filter(|g| !numeric(g)) {
            if !m.group_exists(g) {
                d.push(Diagnostic::error(
                    "ha.cf",
                    None,
                    format!("apiauth {}: Invalid group id name [{g}]", a.client),
                ));
            }
        }
    }
    if let Some(w) = &h.watchdog {
        if m.char_device(w).is_none() {
            d.push(Diagnostic::warning(
                "ha.cf",
                None,
                format!(
                    "watchdog device {} does not exist: the daemon will run without a watchdog, logging 'Cannot open watchdog device' (load the driver of the machine's watchdog, or softdog)",
                    w.display()
                ),
            ));
        }
    }
    for g in &c.haresources.groups {
        let mut seen: Vec<&str> = Vec::new();
        for r in &g.resources {
            if seen.contains(&r.script.as_str()) {
                continue;
            }
            seen.push(&r.script);
            if !m.resource_script(ha_dir, &r.script) {
                d.push(Diagnostic::warning(
                    "haresources",
                    Some(g.line),
                    format!(
                        "resource script '{}' found neither in {}/resource.d nor in {} (the original starts anyway; the group will fail)",
                        r.script,
                        ha_dir.display(),
                        INIT_DIRS.join(" nor ")
                    ),
                ));
            }
        }
    }
    d
}
