//! `respawn` clients (ipfail and the like) in the loop: started as their user at comm up,
//! restarted as the original does, stopped at shutdown; the policy is
//! [`hb_core::respawn::Respawn`], this module runs the processes.

use std::collections::HashMap;
use std::time::Instant;

use hb_core::respawn::{Action, ClientSpec, Exit, Respawn, SpawnFailure};
use hb_log::{Level, Logger};
use hb_runner::{JobId, JobSpec, JobStatus, Runner};

pub struct Respawner {
    pub policy: Respawn,
    pub runner: Runner,
    jobs: HashMap<JobId, (usize, u32)>,
    /// Each client's supplementary groups, looked up at start: a name service lookup in
    /// the loop (getgrouplist) could stall the heartbeats.
    groups: Vec<Vec<u32>>,
}

impl Respawner {
    /// Looks every client's user and groups up (at start, never in the loop).
    pub fn new(cfg: &ha_config::Config, runner: Runner, log: &Logger) -> Respawner {
        let specs: Vec<ClientSpec> = cfg
            .hacf
            .respawn
            .iter()
            .filter_map(|r| match hb_sys::user_by_name(&r.user) {
                Some(hb_sys::User { uid, gid, .. }) => Some(ClientSpec {
                    user: r.user.clone(),
                    uid,
                    gid,
                    command: r.command.clone(),
                }),
                None => {
                    log.log(
                        Level::Error,
                        &format!(
                            "respawn: unknown user {}: {} not started",
                            r.user, r.command
                        ),
                    );
                    None
                }
            })
            .collect();
        let groups = specs
            .iter()
            .map(|s| hb_sys::group_list(&s.user, s.gid).unwrap_or_default())
            .collect();
        Respawner {
            policy: Respawn::new(specs),
            runner,
            jobs: HashMap::new(),
            groups,
        }
    }

    /// Carries out the policy's actions and logs its lines; returns the pids of clients
    /// that ended (for the API).
    pub fn act(&mut self, now: Instant, log: &Logger) {
        while let Some(a) = self.policy.poll_action() {
            match a {
                Action::Start {
                    id,
                    uid,
                    gid,
                    command,
                    ..
                } => {
                    let mut spec = JobSpec::new("/bin/sh");
                    spec.args = vec!["-c".into(), command.clone()];
                    spec.user = Some((uid, gid));
                    spec.groups = self.groups.get(id).cloned().unwrap_or_default();
                    match self.runner.spawn(spec) {
                        Ok(job) => {
                            let pid = self.runner.pid(job).unwrap_or(0);
                            self.jobs.insert(job, (id, pid));
                            self.policy.spawned(now, id, pid);
                        }
                        Err(e) => self.policy.spawn_failed(
                            now,
                            id,
                            SpawnFailure::NotExecutable(e.to_string()),
                        ),
                    }
                }
                Action::Stop { id, .. } => {
                    if let Some((job, _)) = self.jobs.iter().find(|(_, (i, _))| *i == id) {
                        let _ = self.runner.kill(*job, libc::SIGTERM);
                    }
                }
            }
        }
        while let Some((l, text)) = self.policy.poll_log() {
            log.log(l, &text);
        }
    }

    /// Reaps ended clients; returns their pids.
    pub fn reap(&mut self, now: Instant, log: &Logger) -> Vec<i32> {
        let mut pids = Vec::new();
        for exit in self.runner.reap() {
            if let Some((id, pid)) = self.jobs.remove(&exit.id) {
                let how = match exit.status {
                    JobStatus::Exited(c) => Exit::Code(c),
                    JobStatus::Signaled(s) => Exit::Signal {
                        signo: s,
                        core: false,
                    },
                    JobStatus::Lost => Exit::Code(255),
                };
                self.policy.exited(now, id, how);
                pids.push(pid as i32);
            }
        }
        self.act(now, log);
        pids
    }
}
