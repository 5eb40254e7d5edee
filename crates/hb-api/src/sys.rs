//! The few system calls the API needs: peer credentials, `kill`, user and group lookups,
//! the node name.

use std::ffi::{CStr, CString};
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

fn buffer_size(which: libc::c_int) -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(which) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(16384)
}

/// The uid of a user name (`getpwnam_r`).
pub fn lookup_user(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; buffer_size(libc::_SC_GETPW_R_SIZE_MAX).max(1024)];
    for _ in 0..6 {
        // SAFETY: passwd is plain data; the pointers passed are valid for the call.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut out,
            )
        };
        if rc == libc::ERANGE {
            let len = buf.len() * 2;
            buf.resize(len, 0);
            continue;
        }
        return (rc == 0 && !out.is_null()).then_some(pw.pw_uid);
    }
    None
}

/// The gid of a group name (`getgrnam_r`).
pub fn lookup_group(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0u8; buffer_size(libc::_SC_GETGR_R_SIZE_MAX).max(1024)];
    for _ in 0..6 {
        // SAFETY: group is plain data; the pointers passed are valid for the call.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::group = std::ptr::null_mut();
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut gr,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut out,
            )
        };
        if rc == libc::ERANGE {
            let len = buf.len() * 2;
            buf.resize(len, 0);
            continue;
        }
        return (rc == 0 && !out.is_null()).then_some(gr.gr_gid);
    }
    None
}

/// The apiauth table of a configuration, names looked up on this machine (give it
/// `HaCf::effective_apiauth()`); the warnings name users and groups that do not exist.
pub fn auth_table(entries: &[ha_config::ApiAuth]) -> (AuthTable, Vec<String>) {
    AuthTable::resolve(entries, lookup_user, lookup_group)
}

/// The number of a syslog facility name as the original sends it in the sign-on reply's
/// `logfacility` (the `LOG_*` value of syslog.h, e.g. `daemon` 24, `local0` 128); give -1
/// to the API when ha.cf names no facility.
pub fn facility_value(name: &str) -> Option<i32> {
    Some(match name {
        "auth" | "security" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "daemon" => libc::LOG_DAEMON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        // glibc's INTERNAL_MARK: LOG_MAKEPRI(LOG_NFACILITIES, 0).
        "mark" => 24 << 3,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "user" => libc::LOG_USER,
        "uucp" => libc::LOG_UUCP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

/// `uname -n`, lowercased (what the client library sends as `dest`).
pub fn node_name() -> String {
    // SAFETY: utsname is plain data and uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    // SAFETY: uname NUL-terminates nodename.
    let name = unsafe { CStr::from_ptr(u.nodename.as_ptr()) };
    name.to_string_lossy().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_nonsense_does_not() {
        assert_eq!(lookup_user("root"), Some(0));
        assert_eq!(lookup_group("root"), Some(0));
        assert_eq!(lookup_user("no-such-user-hb-api"), None);
        assert_eq!(lookup_group("no\0such"), None);
    }

    #[test]
    fn facilities() {
        assert_eq!(facility_value("daemon"), Some(24));
        assert_eq!(facility_value("local0"), Some(128));
        assert_eq!(facility_value("kern"), Some(0));
        assert_eq!(facility_value("none"), None);
        for f in ha_config::FACILITIES.iter().filter(|f| **f != "none") {
            assert!(facility_value(f).is_some(), "{f}");
        }
    }

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
