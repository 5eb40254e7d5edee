//! STONITH resets and device checks in the loop: the `stonith` command of cluster-glue (or
//! of 2.0.8's heartbeat-stonith) run as a child job, never waited for. What to reset and
//! when is the core's ([`hb_core::fence`]); this module runs the command and reports.
//!
//! The device is the `stonith`/`stonith_host` line that applies to this node
//! ([`ha_config::HaCf::stonith_for`]):
//! - `stonith_host HOST TYPE PARAMS...`: `stonith -t TYPE -F FILE`, FILE holding PARAMS
//!   (written at start, mode 0600, so that passwords never show on a command line);
//! - `stonith TYPE CONFIGFILE`: `stonith -t TYPE -F CONFIGFILE`.
//!
//! `-F` reads the first line of the file that is not a comment and gives its words to the
//! plugin's parameters in order, the last one taking the rest of the line: what 2.0.8 did
//! with the text of the ha.cf line. A reset is `... -T reset NODE`; the device check `... -S`.
//!
//! The log lines are the original's: `Resetting node N with [DEVICE]`, then `node N now
//! reset.`, `Device DEVICE cannot reset host N.` or `Host N not reset!`, then `Exiting
//! STONITH N process PID returned rc R.`; for a check `Checking status of STONITH device
//! [DEVICE]`, `STONITH device DEVICE not operational!`. DEVICE is the plugin's own name for
//! itself (`stonith -t TYPE -m`, read once at start), else its type.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hb_core::fence::FenceResult;
use hb_log::{Level, Logger};
use hb_runner::{JobId, JobSpec, JobStatus, Runner};

/// What a finished job means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    Reset { node: String, result: FenceResult },
    Status { ok: bool },
}

#[derive(Clone, Debug)]
enum Op {
    Reset(String),
    Status,
}

/// The STONITH device of this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub command: PathBuf,
    pub kind: String,
    /// The file given with `-F` (`None`: the plugin takes no parameters).
    pub params_file: Option<PathBuf>,
    /// How the plugin names itself (`NULL STONITH device`), or its type.
    pub id: String,
}

impl Device {
    /// The device for this node, from ha.cf; `Ok(None)` without a line for it. `run_dir`:
    /// where the parameters file goes (the daemon's /var/run/heartbeat).
    pub fn from_config(
        cfg: &ha_config::Config,
        me: &str,
        run_dir: &Path,
    ) -> Result<Option<Device>, String> {
        let Some(st) = cfg.hacf.stonith_for(me) else {
            return Ok(None);
        };
        let command = ha_config::stonith_command().ok_or_else(|| {
            format!(
                "ha.cf:{}: no stonith command ({}): install cluster-glue",
                st.line,
                ha_config::STONITH_COMMANDS.join(", ")
            )
        })?;
        let params_file = match &st.host {
            None => Some(PathBuf::from(&st.params)),
            Some(_) if st.params.is_empty() => None,
            Some(_) => {
                let f = run_dir.join("stonith.params");
                write_private(&f, &st.params)
                    .map_err(|e| format!("cannot write {}: {e}", f.display()))?;
                Some(f)
            }
        };
        let id = ha_config::stonith_device_id(&st.kind).unwrap_or_else(|| st.kind.clone());
        Ok(Some(Device {
            command,
            kind: st.kind.clone(),
            params_file,
            id,
        }))
    }

    fn spec(&self, tail: &[&str]) -> JobSpec {
        let mut spec = JobSpec::new(&self.command);
        spec.args = vec!["-t".into(), self.kind.clone()];
        if let Some(f) = &self.params_file {
            spec.args.push("-F".into());
            spec.args.push(f.display().to_string());
        }
        spec.args.extend(tail.iter().map(|s| s.to_string()));
        spec.capture_stdout = true;
        spec
    }
}

/// Writes `text` and a newline to `path`, mode 0600, replacing what was there.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

/// Runs the device's commands as child jobs.
pub struct Fencer {
    pub runner: Runner,
    device: Device,
    jobs: HashMap<JobId, Op>,
}

impl Fencer {
    pub fn new(runner: Runner, device: Device) -> Fencer {
        Fencer {
            runner,
            device,
            jobs: HashMap::new(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Starts the reset of `node`. A command that cannot be started is a failed reset
    /// (returned at once: the core retries it).
    pub fn reset(&mut self, node: &str, log: &Logger) -> Option<Done> {
        log.log(
            Level::Info,
            &format!("Resetting node {node} with [{}]", self.device.id),
        );
        match self.runner.spawn(self.device.spec(&["-T", "reset", node])) {
            Ok(job) => {
                self.jobs.insert(job, Op::Reset(node.to_string()));
                None
            }
            Err(e) => {
                log.log(
                    Level::Error,
                    &format!("cannot run {}: {e}", self.device.command.display()),
                );
                log.log(Level::Error, &format!("Host {node} not reset!"));
                Some(Done::Reset {
                    node: node.to_string(),
                    result: FenceResult::Failed,
                })
            }
        }
    }

    /// Starts the device check.
    pub fn status(&mut self, log: &Logger) -> Option<Done> {
        log.log(
            Level::Info,
            &format!("Checking status of STONITH device [{}]", self.device.id),
        );
        match self.runner.spawn(self.device.spec(&["-S"])) {
            Ok(job) => {
                self.jobs.insert(job, Op::Status);
                None
            }
            Err(e) => {
                log.log(
                    Level::Error,
                    &format!("cannot run {}: {e}", self.device.command.display()),
                );
                Some(Done::Status { ok: false })
            }
        }
    }

    /// Jobs that ended, with the original's log lines.
    pub fn reap(&mut self, log: &Logger) -> Vec<Done> {
        let mut done = Vec::new();
        for exit in self.runner.reap() {
            let Some(op) = self.jobs.remove(&exit.id) else {
                continue;
            };
            // What the command and its plugin said (cl_log also writes to our log files
            // through HA_LOGFILE etc. when they are set).
            let out = String::from_utf8_lossy(&exit.stdout).into_owned();
            for line in out
                .lines()
                .chain(exit.stderr_tail.iter().map(String::as_str))
            {
                let line = line.trim();
                if !line.is_empty() {
                    log.log(Level::Info, &format!("stonith: {line}"));
                }
            }
            let code = match exit.status {
                JobStatus::Exited(c) => Some(c),
                _ => None,
            };
            let (what, d) = match op {
                Op::Reset(node) => {
                    let result = FenceResult::from_exit(code);
                    match result {
                        FenceResult::Ok => log.log(Level::Info, &format!("node {node} now reset.")),
                        FenceResult::BadHost => log.log(
                            Level::Error,
                            &format!("Device {} cannot reset host {node}.", self.device.id),
                        ),
                        FenceResult::Failed => {
                            log.log(Level::Error, &format!("Host {node} not reset!"))
                        }
                    }
                    (format!("STONITH {node}"), Done::Reset { node, result })
                }
                Op::Status => {
                    let ok = exit.status.success();
                    if !ok {
                        log.log(
                            Level::Error,
                            &format!("STONITH device {} not operational!", self.device.id),
                        );
                    }
                    ("STONITH-stat".to_string(), Done::Status { ok })
                }
            };
            match exit.status {
                JobStatus::Exited(c) => log.log(
                    if c == 0 { Level::Info } else { Level::Warn },
                    &format!("Exiting {what} process {} returned rc {c}.", exit.pid),
                ),
                JobStatus::Signaled(s) => log.log(
                    Level::Warn,
                    &format!("Exiting {what} process {} killed by signal {s}.", exit.pid),
                ),
                JobStatus::Lost => log.log(
                    Level::Error,
                    &format!(
                        "Exiting {what} process {} went away strangely (!)",
                        exit.pid
                    ),
                ),
            }
            done.push(d);
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line() {
        let d = Device {
            command: "/usr/sbin/stonith".into(),
            kind: "external/x".into(),
            params_file: Some("/run/heartbeat/stonith.params".into()),
            id: "x".into(),
        };
        assert_eq!(
            d.spec(&["-T", "reset", "b"]).args,
            [
                "-t",
                "external/x",
                "-F",
                "/run/heartbeat/stonith.params",
                "-T",
                "reset",
                "b"
            ]
        );
        let d = Device {
            params_file: None,
            ..d
        };
        assert_eq!(d.spec(&["-S"]).args, ["-t", "external/x", "-S"]);
    }

    #[test]
    fn parameters_are_written_privately() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("hb-fencer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p");
        std::fs::write(&f, "old").unwrap();
        write_private(&f, "10.0.0.3 login secret").unwrap();
        assert_eq!(
            std::fs::read_to_string(&f).unwrap(),
            "10.0.0.3 login secret\n"
        );
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
