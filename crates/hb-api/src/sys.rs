//! The few system calls the API needs: peer credentials, `kill`, the open-files limit, and
//! the apiauth table with its users and groups looked up (through `hb-sys`).

use std::io;
use std::os::unix::io::AsRawFd;

use crate::proto::{AuthTable, Creds, Processes};

/// The peer's pid, uid and gid of a Unix stream socket (`SO_PEERCRED`).
pub fn peer_creds(sock: &impl AsRawFd) -> io::Result<Creds> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Creds {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
    })
}

/// `kill(2)` for [`crate::proto::Server`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RealProcesses;

impl Processes for RealProcesses {
    fn signal(&mut self, pid: i32, sig: i32) -> bool {
        if pid <= 0 {
            // Never signal a process group (pid 0 or negative): nobody is there.
            return false;
        }
        // SAFETY: kill has no memory effects.
        let rc = unsafe { libc::kill(pid, sig) };
        rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
}

/// Raises the soft limit of open files to `want` if it is lower (up to the hard limit);
/// returns the soft limit now in force (`want` if it cannot be read).
// rlim_t is u64 on the usual targets, not on every one.
#[allow(clippy::useless_conversion)]
pub fn raise_nofile(want: u64) -> u64 {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: rl is valid for writes.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return want;
    }
    let (cur, max) = (u64::from(rl.rlim_cur), u64::from(rl.rlim_max));
    if cur >= want {
        return cur;
    }
    let new = libc::rlimit {
        rlim_cur: want.min(max) as libc::rlim_t,
        rlim_max: rl.rlim_max,
    };
    // SAFETY: new is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
        u64::from(new.rlim_cur)
    } else {
        cur
    }
}

/// The apiauth table of a configuration, names looked up on this machine (give it
/// `HaCf::effective_apiauth()`); the warnings name users and groups that do not exist.
pub fn auth_table(entries: &[ha_config::ApiAuth]) -> (AuthTable, Vec<String>) {
    AuthTable::resolve(
        entries,
        |u| hb_sys::user_by_name(u).map(|u| u.uid),
        hb_sys::group_by_name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_probe() {
        let mut p = RealProcesses;
        assert!(p.signal(std::process::id() as i32, 0));
        assert!(!p.signal(0, 0));
        assert!(!p.signal(-1, 0));
        // pid_max is at most 2^22 on Linux.
        assert!(!p.signal(1 << 23, 0));
    }

    #[test]
    fn peer_creds_of_a_socketpair() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let c = peer_creds(&a).unwrap();
        assert_eq!(c.pid, std::process::id() as i32);
        // SAFETY: no memory effects.
        assert_eq!(c.uid, unsafe { libc::geteuid() });
        assert_eq!(c.gid, unsafe { libc::getegid() });
    }
}
