//! Real-time scheduling and locked memory (`realtime`, `rtprio`), as 2.0.8 sets up its master
//! control process (`cl_make_realtime` in lib/clplumbing/realtime.c, read for facts):
//!
//! - `realtime on` (the default): the policy is `SCHED_RR`, the priority `rtprio` (default: the
//!   lowest, 1), clamped to the policy's maximum; then the locked-memory limit is raised as far
//!   as the process may, and `mlockall(MCL_CURRENT | MCL_FUTURE)`. A failure of either step is
//!   logged and the daemon runs on, as the original does.
//! - `realtime off`: nothing changes; the original logs `Request to set pid N to realtime
//!   ignored.`
//!
//! The original refuses to lock when the limit stays finite and its 6.5 MB preallocation
//! (`memreserve`) would need half of it or more (`Cannot lock ourselves into memory:  System
//! limits on locked-in memory are too small.`). We preallocate nothing; the same refusal applies
//! when the process lacks CAP_IPC_LOCK, the limit is finite and the memory mapped now is half of
//! it or more: with `MCL_FUTURE`, later allocations beyond the limit would fail.
//!
//! Children never inherit any of it: memory locks end at fork, and the runner resets the
//! scheduling policy of every child to `SCHED_OTHER` before exec (`hb_runner`).

use std::io;

use hb_log::Level;

/// The policy the original uses when the platform has it.
pub const POLICY: libc::c_int = libc::SCHED_RR;

/// Puts the calling process in real-time scheduling and locks it in memory (when `enabled`);
/// returns the lines to log. `rtprio`: the `rtprio` directive, if any.
pub fn make_realtime(enabled: bool, rtprio: Option<u8>) -> Vec<(Level, String)> {
    let pid = std::process::id();
    if !enabled {
        return vec![(
            Level::Info,
            format!("Request to set pid {pid} to realtime ignored."),
        )];
    }
    let mut out = Vec::new();
    // SAFETY: plain system calls with no pointers.
    let (min, max) = unsafe {
        (
            libc::sched_get_priority_min(POLICY),
            libc::sched_get_priority_max(POLICY),
        )
    };
    let prio = match rtprio {
        Some(p) if p > 0 => i32::from(p),
        _ => min,
    }
    .min(max);
    match set_scheduler(POLICY, prio) {
        Ok(()) => out.push((
            Level::Info,
            format!("pid {pid}: real-time scheduling SCHED_RR, priority {prio}."),
        )),
        Err(e) => out.push((
            Level::Error,
            format!("Unable to set scheduler parameters.: {e}"),
        )),
    }
    out.extend(lock_memory(pid));
    out
}

/// `sched_setscheduler(0, policy, prio)`.
pub fn set_scheduler(policy: libc::c_int, prio: i32) -> io::Result<()> {
    // SAFETY: sched_param is plain data; zeroed, then the one field we use is set (musl's
    // structure has more fields).
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    param.sched_priority = prio;
    // SAFETY: a valid pointer to a structure on this stack frame.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The scheduling policy and priority of a process (0: this one).
pub fn scheduler_of(pid: libc::pid_t) -> io::Result<(libc::c_int, i32)> {
    // SAFETY: plain system calls; the parameter structure lives on this stack frame.
    unsafe {
        let policy = libc::sched_getscheduler(pid);
        if policy < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut param: libc::sched_param = std::mem::zeroed();
        if libc::sched_getparam(pid, &mut param) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((policy, param.sched_priority))
    }
}

/// Whether the locked-memory limit allows locking what is mapped now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockRoom {
    /// The soft RLIMIT_MEMLOCK after raising it, bytes (`None`: unlimited).
    pub limit: Option<u64>,
    /// CAP_IPC_LOCK in the effective set: the limit does not apply.
    pub cap_ipc_lock: bool,
    /// The process's mapped memory now (VmSize), bytes.
    pub mapped: u64,
}

impl LockRoom {
    /// The original's rule, with what we have mapped in place of its preallocation.
    pub fn enough(&self) -> bool {
        match self.limit {
            None => true,
            Some(_) if self.cap_ipc_lock => true,
            Some(l) => self.mapped < l / 2,
        }
    }
}

fn lock_memory(pid: u32) -> Vec<(Level, String)> {
    let room = LockRoom {
        limit: raise_memlock_limit(),
        cap_ipc_lock: has_cap_ipc_lock(),
        mapped: mapped_bytes().unwrap_or(u64::MAX),
    };
    if !room.enough() {
        return vec![(
            Level::Error,
            "Cannot lock ourselves into memory:  System limits on locked-in memory are too small. Running on unlocked."
                .to_string(),
        )];
    }
    // SAFETY: mlockall has no pointer arguments.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } == 0 {
        return vec![(Level::Info, format!("pid {pid} locked in memory."))];
    }
    let e = io::Error::last_os_error();
    let level = if e.raw_os_error() == Some(libc::ENOSYS) {
        Level::Warn
    } else {
        Level::Error
    };
    vec![(
        level,
        format!("Unable to lock pid {pid} in memory: {e}. Running on unlocked."),
    )]
}

/// Raises RLIMIT_MEMLOCK to unlimited, else the soft limit to the hard one; returns the soft
/// limit then in force (`None`: unlimited).
fn raise_memlock_limit() -> Option<u64> {
    let inf = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid pointers to structures on this stack frame.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_MEMLOCK, &inf) != 0 {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut l) == 0 {
                l.rlim_cur = l.rlim_max;
                libc::setrlimit(libc::RLIMIT_MEMLOCK, &l);
            }
        }
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut l) != 0 {
            return Some(0);
        }
        if l.rlim_cur == libc::RLIM_INFINITY {
            None
        } else {
            // rlim_t is u32 on some 32-bit targets.
            #[allow(clippy::useless_conversion)]
            Some(u64::from(l.rlim_cur))
        }
    }
}

/// A field of /proc/self/status.
fn status_field(name: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The capability number of CAP_IPC_LOCK (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

fn has_cap_ipc_lock() -> bool {
    status_field("CapEff")
        .and_then(|v| u64::from_str_radix(&v, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

fn mapped_bytes() -> Option<u64> {
    let v = status_field("VmSize")?;
    let kb: u64 = v.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_changes_nothing_and_says_so() {
        let before = scheduler_of(0).unwrap();
        let lines = make_realtime(false, Some(5));
        assert_eq!(scheduler_of(0).unwrap(), before);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].1.ends_with("to realtime ignored."), "{lines:?}");
    }

    #[test]
    fn lock_room_follows_the_original_rule() {
        let r = |limit, cap, mapped| LockRoom {
            limit,
            cap_ipc_lock: cap,
            mapped,
        };
        assert!(r(None, false, u64::MAX).enough());
        assert!(r(Some(64 << 10), true, 100 << 20).enough());
        assert!(r(Some(64 << 20), false, 10 << 20).enough());
        assert!(!r(Some(8 << 20), false, 4 << 20).enough());
        assert!(!r(Some(64 << 10), false, 100 << 20).enough());
    }

    #[test]
    fn status_fields_are_read() {
        assert!(mapped_bytes().is_some_and(|b| b > 0));
        assert!(status_field("CapEff").is_some());
    }
}
