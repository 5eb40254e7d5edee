//! Facts about the machine that the original checks while it reads its configuration,
//! and those the config test reports.
//!
//! [`machine_checks`] gives each finding the severity the daemon needs (an error where
//! the original refuses to start); the config test turns them all into warnings.

use std::ffi::CString;
use std::path::Path;

use crate::diag::Diagnostic;
use crate::hacf::{HaCf, Medium};
use crate::{unit_name, Config, Located, Lookup, INIT_DIRS, UNIT_DIRS};

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
    /// The resource script NAME as the daemon finds it ([`Lookup::locate`] of
    /// `HA_DIR/resource.d`, the init directories, the systemd unit directories).
    fn resource_script(&self, ha_dir: &Path, name: &str) -> Option<Located>;
    /// Whether the STONITH plugin type `kind` is installed (`stonith -L` lists it); `Err`
    /// says why that cannot be known (no `stonith` command). Machines that do not know
    /// answer yes.
    fn stonith_type(&self, kind: &str) -> Result<bool, String> {
        let _ = kind;
        Ok(true)
    }
    /// `path` is a file this process can read (a `stonith TYPE CONFIGFILE` file). Machines
    /// that do not know answer yes.
    fn readable_file(&self, path: &Path) -> bool {
        let _ = path;
        true
    }
}

/// Where the `stonith` command of cluster-glue (or of 2.0.8's heartbeat-stonith) is looked
/// for, in order.
pub const STONITH_COMMANDS: &[&str] = &["/usr/sbin/stonith", "/sbin/stonith", "/usr/bin/stonith"];

/// The `stonith` command, if one is installed.
pub fn stonith_command() -> Option<std::path::PathBuf> {
    STONITH_COMMANDS
        .iter()
        .map(Path::new)
        .find(|p| SystemMachine.is_executable(p))
        .map(Path::to_path_buf)
}

/// Runs the `stonith` command with `args`, stdin from /dev/null, and returns its stdout
/// if it exits 0 within `limit` (killed otherwise). For the config test and the start,
/// never from the daemon's loop.
fn run_stonith(args: &[&str], limit: std::time::Duration) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::Instant;
    let Some(cmd) = stonith_command() else {
        return Err(format!(
            "no stonith command ({}): install cluster-glue (or 2.0.8's heartbeat-stonith)",
            STONITH_COMMANDS.join(", ")
        ));
    };
    let what = format!("{} {}", cmd.display(), args.join(" "));
    let mut child = Command::new(&cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    if let Some(mut o) = child.stdout.take() {
        // Non-blocking reads, so that the bound holds even if the command never ends.
        // SAFETY: fcntl on the pipe we own.
        unsafe {
            use std::os::fd::AsRawFd;
            let fd = o.as_raw_fd();
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match o.read(&mut buf) {
                Ok(0) => break,
                Ok(n) if out.len() < (1 << 20) => out.extend_from_slice(&buf[..n]),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(_) => break,
            }
        }
    }
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(out),
            Ok(Some(status)) => return Err(format!("{what} failed ({status})")),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not end within {} s", limit.as_secs()));
            }
        }
    }
}

/// The plugin types `stonith -L` lists (bounded to 10 s).
pub fn stonith_types() -> Result<Vec<String>, String> {
    let out = run_stonith(&["-L"], std::time::Duration::from_secs(10))?;
    Ok(String::from_utf8_lossy(&out)
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// How the plugin `kind` names itself (the device id 2.0.8 logs, e.g. `NULL STONITH
/// device`): the first `<shortdesc>` of `stonith -t KIND -m` (bounded to 5 s). `None` when
/// the plugin gives none, or the command has no `-m` (2.0.8's own).
pub fn stonith_device_id(kind: &str) -> Option<String> {
    let out = run_stonith(&["-t", kind, "-m"], std::time::Duration::from_secs(5)).ok()?;
    shortdesc(&String::from_utf8_lossy(&out))
}

/// The text of the first `<shortdesc ...>TEXT</shortdesc>`, its blanks collapsed; `None`
/// when absent, empty or the meta-data's placeholder for a plugin without one.
pub fn shortdesc(xml: &str) -> Option<String> {
    let start = xml.find("<shortdesc")?;
    let rest = xml.get(start..)?;
    let body = rest.get(rest.find('>')? + 1..)?;
    let text = body.get(..body.find("</shortdesc>")?)?.trim();
    if text.is_empty() || text.contains("no value") {
        return None;
    }
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
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
    fn resource_script(&self, ha_dir: &Path, name: &str) -> Option<Located> {
        Some(Located::Script(ha_dir.join("resource.d").join(name)))
    }
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
        hb_sys::user_by_name(name).is_some()
    }

    fn group_exists(&self, name: &str) -> bool {
        hb_sys::group_by_name(name).is_some()
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

    fn resource_script(&self, ha_dir: &Path, name: &str) -> Option<Located> {
        Lookup::system(ha_dir.join("resource.d")).locate(name)
    }

    fn stonith_type(&self, kind: &str) -> Result<bool, String> {
        stonith_types().map(|l| l.iter().any(|t| t == kind))
    }

    fn readable_file(&self, path: &Path) -> bool {
        std::fs::File::open(path).is_ok_and(|f| f.metadata().is_ok_and(|m| m.is_file()))
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
    check_media(h, m, &mut d);
    check_clients(h, m, &mut d);
    check_stonith(h, ha_dir, this_host, m, &mut d);
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
    check_scripts(c, ha_dir, m, &mut d);
    d
}

/// Serial ports and network interfaces of the media.
fn check_media(h: &HaCf, m: &dyn Machine, d: &mut Vec<Diagnostic>) {
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
}

/// Respawned (and 3.0.6's failfast) clients' users and programs, apiauth's users and groups.
fn check_clients(h: &HaCf, m: &dyn Machine, d: &mut Vec<Diagnostic>) {
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
}

fn check_stonith(
    h: &HaCf,
    ha_dir: &Path,
    this_host: Option<&str>,
    m: &dyn Machine,
    d: &mut Vec<Diagnostic>,
) {
    // STONITH: the line that applies here (the original refuses an unknown type while it
    // reads its configuration; lines for other hosts it skips unread).
    let me = this_host
        .map(str::to_lowercase)
        .or_else(|| crate::local_node_name(ha_dir));
    if let Some(st) = me.as_deref().and_then(|me| h.stonith_for(me)) {
        let what = match &st.host {
            None => "stonith",
            Some(_) => "stonith_host",
        };
        match m.stonith_type(&st.kind) {
            Ok(true) if st.host.is_none() && !m.readable_file(Path::new(&st.params)) => {
                d.push(Diagnostic::error(
                    "ha.cf",
                    Some(st.line),
                    format!("Invalid Stonith config file [{}]: not a readable file", st.params),
                ))
            }
            Ok(true) => {}
            Ok(false) => d.push(Diagnostic::error(
                "ha.cf",
                Some(st.line),
                format!(
                    "Invalid Stonith type [{}]: `stonith -L` does not list it (see `stonith -L` for the installed plugins; an external plugin is external/NAME, an executable in the plugins' external/ directory)",
                    st.kind
                ),
            )),
            Err(why) => d.push(Diagnostic::error(
                "ha.cf",
                Some(st.line),
                format!("{what} {}: cannot reset a node: {why}", st.kind),
            )),
        }
    }
}

/// Every resource script of haresources, once per group: a warning when it is found
/// nowhere, or when it is a systemd unit given arguments (systemctl takes none).
fn check_scripts(c: &Config, ha_dir: &Path, m: &dyn Machine, d: &mut Vec<Diagnostic>) {
    for g in &c.haresources.groups {
        let mut seen: Vec<&str> = Vec::new();
        for r in &g.resources {
            let first = !seen.contains(&r.script.as_str());
            seen.push(&r.script);
            match m.resource_script(ha_dir, &r.script) {
                None if first => d.push(Diagnostic::warning(
                    "haresources",
                    Some(g.line),
                    format!(
                        "resource script '{}' found neither in {}/resource.d nor in {}{} (the original starts anyway; the group will fail)",
                        r.script,
                        ha_dir.display(),
                        INIT_DIRS.join(" nor "),
                        match unit_name(&r.script) {
                            Some(unit) => format!(
                                ", nor as the systemd unit {unit} in {} (or it is masked)",
                                UNIT_DIRS.join(", ")
                            ),
                            None => String::new(),
                        }
                    ),
                )),
                Some(Located::Unit { unit, file }) if !r.args.is_empty() => {
                    d.push(Diagnostic::warning(
                        "haresources",
                        Some(g.line),
                        format!(
                            "'{}': {} is the systemd unit {unit} ({}), which runs through systemctl and takes no arguments ({}): it is not started and the group will fail; drop the arguments, or write a script in {}/resource.d that takes them",
                            r.spec,
                            r.script,
                            file.display(),
                            r.args.join(" "),
                            ha_dir.display()
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
}

/// The config test's notes on resources found as systemd units (beyond the original):
/// `haresources:LINE: 'NAME' runs through systemctl: ...`, once per name.
pub fn resource_notes(c: &Config, ha_dir: &Path, m: &dyn Machine) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut notes = Vec::new();
    for g in &c.haresources.groups {
        for r in &g.resources {
            if seen.contains(&r.script.as_str()) {
                continue;
            }
            seen.push(&r.script);
            if let Some(Located::Unit { unit, file }) = m.resource_script(ha_dir, &r.script) {
                notes.push(format!(
                    "haresources:{}: '{}' runs through systemctl: no script of that name in {}/resource.d nor in {}, but the systemd unit {unit} ({}); start, stop and status are `systemctl start`, `systemctl stop` and `systemctl is-active` of {unit}",
                    g.line,
                    r.script,
                    ha_dir.display(),
                    INIT_DIRS.join(" nor "),
                    file.display()
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::shortdesc;

    #[test]
    fn the_devices_own_name() {
        let xml = "<resource-agent name=\"null\">\n<longdesc lang=\"en\">\nDummy\n</longdesc>\n<shortdesc lang=\"en\">NULL STONITH device</shortdesc>\n<parameters><parameter name=\"hostlist\"><shortdesc lang=\"en\">\nHostlist</shortdesc>";
        assert_eq!(shortdesc(xml).as_deref(), Some("NULL STONITH device"));
        assert_eq!(
            shortdesc("<shortdesc lang=\"en\">ssh STONITH device\n</shortdesc>").as_deref(),
            Some("ssh STONITH device")
        );
        assert_eq!(
            shortdesc("<shortdesc lang=\"en\">&lt;!-- no value --&gt;</shortdesc>"),
            None
        );
        assert_eq!(shortdesc("<shortdesc lang=\"en\"></shortdesc>"), None);
        assert_eq!(shortdesc("nothing"), None);
        assert_eq!(shortdesc("<shortdesc lang=\"en\">unclosed"), None);
    }
}
