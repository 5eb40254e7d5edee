//! The few system services every heartbeat program needs, in one place: user and group
//! lookups (the name service: call them at start or on a helper thread, never in the
//! daemon's loop), the node name (`uname -n`), the Internet checksum of ICMP, and glibc's
//! `getopt` ([`Getopt`]).

pub mod getopt;

pub use getopt::Getopt;

use std::ffi::{CStr, CString};
use std::io;

/// A user of the password database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
}

fn buffer_size(which: libc::c_int) -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(which) };
    usize::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(16384)
        .max(1024)
}

/// Calls a `get*_r` function with a buffer that grows while it answers ERANGE.
fn with_buffer<T>(
    which: libc::c_int,
    mut call: impl FnMut(&mut [u8]) -> (libc::c_int, Option<T>),
) -> Option<T> {
    let mut buf = vec![0u8; buffer_size(which)];
    for _ in 0..8 {
        let (rc, found) = call(&mut buf);
        if rc == libc::ERANGE {
            let len = buf.len() * 2;
            buf.resize(len, 0);
            continue;
        }
        return if rc == 0 { found } else { None };
    }
    None
}

fn passwd_entry(pw: &libc::passwd) -> User {
    let name = if pw.pw_name.is_null() {
        String::new()
    } else {
        // SAFETY: getpw*_r NUL-terminates the name inside the buffer, still alive here.
        unsafe { CStr::from_ptr(pw.pw_name) }
            .to_string_lossy()
            .into_owned()
    };
    User {
        name,
        uid: pw.pw_uid,
        gid: pw.pw_gid,
    }
}

/// The signature shared by `getpwnam_r` and `getpwuid_r`, the key bound.
type GetPw<'a> = dyn Fn(*mut libc::passwd, *mut libc::c_char, libc::size_t, *mut *mut libc::passwd) -> libc::c_int
    + 'a;

/// One `getpw*_r` lookup with a buffer that grows as needed.
fn lookup_user(call: &GetPw<'_>) -> Option<User> {
    with_buffer(libc::_SC_GETPW_R_SIZE_MAX, |buf| {
        // SAFETY: passwd is plain data.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(&mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out);
        (rc, (!out.is_null()).then(|| passwd_entry(&pw)))
    })
}

/// The user called `name` (`getpwnam_r`).
pub fn user_by_name(name: &str) -> Option<User> {
    let cname = CString::new(name).ok()?;
    // SAFETY: a NUL-terminated name; the other pointers are valid for the call (lookup_user).
    lookup_user(&|pw, buf, len, out| unsafe { libc::getpwnam_r(cname.as_ptr(), pw, buf, len, out) })
}

/// The user with id `uid` (`getpwuid_r`).
pub fn user_by_uid(uid: u32) -> Option<User> {
    // SAFETY: the pointers are valid for the call (lookup_user).
    lookup_user(&|pw, buf, len, out| unsafe { libc::getpwuid_r(uid, pw, buf, len, out) })
}

/// The id of the group called `name` (`getgrnam_r`).
pub fn group_by_name(name: &str) -> Option<u32> {
    let cname = CString::new(name).ok()?;
    with_buffer(libc::_SC_GETGR_R_SIZE_MAX, |buf| {
        // SAFETY: group is plain data; the pointers passed are valid for the call.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as above; buf is writable for its length.
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut gr,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut out,
            )
        };
        (rc, (!out.is_null()).then_some(gr.gr_gid))
    })
}

/// The supplementary group list of `user` with `gid` added (what `initgroups(user, gid)`
/// would set). Reads the group database, so call it before spawning, not in a child.
pub fn group_list(user: &str, gid: u32) -> io::Result<Vec<u32>> {
    let name = CString::new(user)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name contains NUL"))?;
    let mut size: libc::c_int = 32;
    for _ in 0..8 {
        let mut groups = vec![0 as libc::gid_t; usize::try_from(size).unwrap_or(32)];
        let mut count = size;
        // SAFETY: `groups` has room for `count` entries; getgrouplist updates `count`.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            return Ok(groups);
        }
        size = count.max(size.saturating_mul(2));
    }
    Err(io::Error::other("group list keeps growing"))
}

/// The owner the cluster's log files are given when root creates them: hacluster and
/// haclient, as the original chowns its files (so that clients running as hacluster can
/// append); `None` when not root or when either is unknown.
pub fn cluster_file_owner() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    Some((user_by_name("hacluster")?.uid, group_by_name("haclient")?))
}

/// `uname -n`: the kernel's node name, as it is (not lowercased).
pub fn nodename() -> io::Result<String> {
    // SAFETY: utsname is plain data filled by uname.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes: Vec<u8> = u
        .nodename
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The Internet checksum (RFC 1071) of `data`: the one's complement of the one's complement
/// sum of its 16-bit big-endian words (an odd last byte padded with zero). Over data that
/// carries a valid checksum, it is 0.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_nonsense_does_not() {
        let root = user_by_name("root").expect("root");
        assert_eq!((root.uid, root.gid, root.name.as_str()), (0, 0, "root"));
        assert_eq!(user_by_uid(0).map(|u| u.name), Some("root".to_string()));
        assert_eq!(group_by_name("root"), Some(0));
        assert_eq!(user_by_name("no-such-user-hb-sys"), None);
        assert_eq!(user_by_name("no\0such"), None);
        assert_eq!(group_by_name("no\0such"), None);
        assert_eq!(group_by_name("no-such-group-hb-sys"), None);
        assert_eq!(user_by_uid(4_000_000_000), None);
        let g = group_list("root", 0).expect("groups");
        assert!(g.contains(&0), "{g:?}");
        assert!(group_list("a\0b", 0).is_err());
    }

    #[test]
    fn node_name_is_unames() {
        let n = nodename().expect("uname");
        assert!(!n.is_empty());
        let out = std::process::Command::new("uname").arg("-n").output();
        if let Ok(out) = out {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), n);
        }
    }

    #[test]
    fn checksums() {
        // RFC 1071's example: the sum of 0001 f203 f4f5 f6f7 is ddf2; its complement 220d.
        assert_eq!(
            inet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        // An echo request with its checksum filled in sums to zero.
        let mut pkt = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1, b'h', b'b', b'!'];
        let sum = inet_checksum(&pkt);
        pkt[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(inet_checksum(&pkt), 0);
        assert_eq!(inet_checksum(&[]), 0xffff);
        assert_eq!(inet_checksum(&[0xff]), 0x00ff);
        // Many carries: 64 KiB of 0xff.
        assert_eq!(inet_checksum(&vec![0xff; 65536]), 0);
    }
}
