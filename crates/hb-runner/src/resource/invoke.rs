//! How one step of a group runs: the command for what [`ha_config::Lookup::locate`] found,
//! and how its exit reads.
//!
//! - A script (resource.d, an init directory): `PATH ARGS OP`, as ResourceManager runs it.
//! - A systemd unit (beyond the original): `systemctl start UNIT`, `systemctl stop UNIT`,
//!   and for `status` `systemctl is-active UNIT`, whose answer is turned into what an init
//!   script's `status` gives ResourceManager's ownership test ([`unit_status`]): `active`
//!   or `reloading` reads as `running`, anything else (`inactive`, `failed`, `activating`,
//!   `deactivating`, `unknown`, nothing) as `stopped`. A unit takes no arguments: a
//!   resource that gives it some is refused ([`InvokeError::UnitArgs`]).
//!
//! `systemctl` is run by name ([`SYSTEMCTL`]), looked up in the `PATH` the step is started
//! with, as ResourceManager's shell found its commands; the step has the environment and
//! the deadline of a script's step.

use std::path::{Path, PathBuf};

use ha_config::Located;

use super::group::{Step, StepExit};
use super::ScriptOp;

/// The program that runs a unit's steps.
pub const SYSTEMCTL: &str = "systemctl";

/// What a step runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The program (a script's path, or `systemctl`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// `systemctl is-active`: its exit goes through [`unit_status`].
    unit_status: bool,
}

/// A step that cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvokeError {
    /// A systemd unit given `::` arguments.
    UnitArgs { unit: String, args: Vec<String> },
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::UnitArgs { unit, args } => write!(
                f,
                "{unit} is a systemd unit, run through systemctl, which takes no arguments ({}): not run",
                args.join(" ")
            ),
        }
    }
}

impl std::error::Error for InvokeError {}

impl Invocation {
    /// The command for `step` of the resource found as `located`; `systemctl` is the
    /// program for units ([`SYSTEMCTL`] but in tests).
    pub fn new(
        located: &Located,
        step: &Step,
        systemctl: &Path,
    ) -> Result<Invocation, InvokeError> {
        match located {
            Located::Script(path) => Ok(Invocation {
                program: path.clone(),
                args: step.args.clone(),
                unit_status: false,
            }),
            Located::Unit { unit, .. } => {
                // The step's arguments are the resource's, then the operation word.
                let given = step.args.split_last().map_or(&[][..], |(_, rest)| rest);
                if !given.is_empty() {
                    return Err(InvokeError::UnitArgs {
                        unit: unit.clone(),
                        args: given.to_vec(),
                    });
                }
                let verb = match step.op {
                    ScriptOp::Start => "start",
                    ScriptOp::Stop => "stop",
                    ScriptOp::Status => "is-active",
                };
                Ok(Invocation {
                    program: systemctl.to_path_buf(),
                    args: vec![verb.to_string(), unit.clone()],
                    unit_status: step.op == ScriptOp::Status,
                })
            }
        }
    }

    /// The command line for a log line (`/etc/init.d/httpd start`,
    /// `systemctl start httpd.service`).
    pub fn line(&self) -> String {
        let mut line = self.program.display().to_string();
        for a in &self.args {
            line.push(' ');
            line.push_str(a);
        }
        line
    }

    /// The step's exit as the group logic reads it: a unit's `is-active` through
    /// [`unit_status`], anything else as it is.
    pub fn exit(&self, exit: StepExit) -> StepExit {
        if self.unit_status {
            unit_status(exit)
        } else {
            exit
        }
    }
}

/// `systemctl is-active`'s answer (its first word) as an LSB init script's `status` would
/// give it: `active` and `reloading` (is-active's own "active", exit 0) are `running` with
/// exit 0; every other state is `stopped` with exit 3. A step that timed out, or could not
/// run, stays as it is (the group logic has its answer for those).
pub fn unit_status(exit: StepExit) -> StepExit {
    fn held(stdout: &[u8]) -> bool {
        matches!(
            String::from_utf8_lossy(stdout).split_whitespace().next(),
            Some("active" | "reloading")
        )
    }
    fn text(held: bool) -> Vec<u8> {
        if held {
            b"running\n".to_vec()
        } else {
            b"stopped\n".to_vec()
        }
    }
    match exit {
        StepExit::Exited { stdout, .. } => {
            let held = held(&stdout);
            StepExit::Exited {
                code: if held { 0 } else { 3 },
                stdout: text(held),
            }
        }
        StepExit::Signaled { signal, stdout } => StepExit::Signaled {
            signal,
            stdout: text(held(&stdout)),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ownership_from_status_stdout;
    use std::time::Instant;

    fn step(op: ScriptOp, args: &[&str]) -> Step {
        Step {
            index: 0,
            resource: "r".into(),
            script: "httpd".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            op,
            attempt: 1,
            deadline: Instant::now(),
        }
    }

    fn unit() -> Located {
        Located::Unit {
            unit: "httpd.service".into(),
            file: PathBuf::from("/usr/lib/systemd/system/httpd.service"),
        }
    }

    fn exited(code: i32, out: &str) -> StepExit {
        StepExit::Exited {
            code,
            stdout: out.as_bytes().to_vec(),
        }
    }

    #[test]
    fn units_run_through_systemctl() {
        let sc = Path::new(SYSTEMCTL);
        for (op, verb) in [
            (ScriptOp::Start, "start"),
            (ScriptOp::Stop, "stop"),
            (ScriptOp::Status, "is-active"),
        ] {
            let inv = Invocation::new(&unit(), &step(op, &[op.as_str()]), sc).unwrap();
            assert_eq!(inv.program, PathBuf::from("systemctl"));
            assert_eq!(
                inv.args,
                vec![verb.to_string(), "httpd.service".to_string()]
            );
            assert_eq!(inv.line(), format!("systemctl {verb} httpd.service"));
        }
        // Another systemctl (tests): that program.
        let inv = Invocation::new(
            &unit(),
            &step(ScriptOp::Start, &["start"]),
            Path::new("/t/sc"),
        )
        .unwrap();
        assert_eq!(inv.line(), "/t/sc start httpd.service");
        // Arguments: refused, named.
        let e =
            Invocation::new(&unit(), &step(ScriptOp::Start, &["a", "b", "start"]), sc).unwrap_err();
        assert_eq!(
            e,
            InvokeError::UnitArgs {
                unit: "httpd.service".into(),
                args: vec!["a".into(), "b".into()]
            }
        );
        assert!(e.to_string().contains("takes no arguments (a b)"), "{e}");
    }

    #[test]
    fn scripts_run_as_found() {
        let script = Located::Script(PathBuf::from("/etc/init.d/httpd"));
        let inv = Invocation::new(
            &script,
            &step(ScriptOp::Status, &["x", "status"]),
            Path::new(SYSTEMCTL),
        )
        .unwrap();
        assert_eq!(inv.line(), "/etc/init.d/httpd x status");
        // A script's status output is left to the ownership test as it is.
        assert_eq!(
            inv.exit(exited(0, "is not running\n")),
            exited(0, "is not running\n")
        );
    }

    #[test]
    fn is_active_reads_as_an_init_scripts_status() {
        let inv = Invocation::new(
            &unit(),
            &step(ScriptOp::Status, &["status"]),
            Path::new(SYSTEMCTL),
        )
        .unwrap();
        for (code, out, held) in [
            (0, "active\n", true),
            (0, "reloading\n", true),
            (3, "inactive\n", false),
            (3, "failed\n", false),
            (3, "activating\n", false),
            (3, "deactivating\n", false),
            (4, "unknown\n", false),
            (1, "", false),
            // The word decides, as the text of a script's status does.
            (0, "", false),
            (3, "active\n", true),
            (0, "  active  \n", true),
            (0, "activ\n", false),
        ] {
            let mapped = inv.exit(exited(code, out));
            let want = if held {
                exited(0, "running\n")
            } else {
                exited(3, "stopped\n")
            };
            assert_eq!(mapped, want, "{code} {out:?}");
            // What ResourceManager's test makes of it.
            let StepExit::Exited { stdout, .. } = &mapped else {
                unreachable!()
            };
            assert_eq!(ownership_from_status_stdout(stdout), held, "{out:?}");
        }
        // Killed by a signal: the same reading of what it printed.
        assert_eq!(
            inv.exit(StepExit::Signaled {
                signal: 9,
                stdout: b"active\n".to_vec()
            }),
            StepExit::Signaled {
                signal: 9,
                stdout: b"running\n".to_vec()
            }
        );
        // Timed out or not run: left to the group logic.
        for e in [
            StepExit::TimedOut,
            StepExit::NoScript,
            StepExit::SpawnFailed,
        ] {
            assert_eq!(inv.exit(e.clone()), e);
        }
        // start and stop exits are not touched.
        let start = Invocation::new(
            &unit(),
            &step(ScriptOp::Start, &["start"]),
            Path::new(SYSTEMCTL),
        )
        .unwrap();
        assert_eq!(start.exit(exited(1, "active\n")), exited(1, "active\n"));
    }
}
