//! The few system calls the API needs: peer credentials, `kill`, and the apiauth table with
//! its users and groups looked up (through `hb-sys`).

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
