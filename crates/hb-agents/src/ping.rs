//! One ICMP echo over a raw socket: does an address answer?

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// An echo request with this identifier and sequence number.
pub fn echo_request(id: u16, seq: u16) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = 8;
    p[4..6].copy_from_slice(&id.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    p[8..16].copy_from_slice(b"hb-agent");
    let c = hb_sys::inet_checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether a datagram read from a raw ICMP socket (IP header included) is the echo
/// reply to our request `id` from `from`.
pub fn is_reply(pkt: &[u8], id: u16, from: Ipv4Addr) -> bool {
    let Some(&v) = pkt.first() else {
        return false;
    };
    let ihl = usize::from(v & 0x0f) * 4;
    let (Some(src), Some(icmp)) = (pkt.get(12..16), pkt.get(ihl..)) else {
        return false;
    };
    src == from.octets()
        && icmp.first() == Some(&0)
        && icmp.get(4..6) == Some(&id.to_be_bytes()[..])
}

/// Sends one echo request to `ip` and waits up to `timeout` for the reply.
pub fn ping(ip: Ipv4Addr, timeout: Duration) -> io::Result<bool> {
    // SAFETY: socket(2); checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMP,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let id = (std::process::id() & 0xffff) as u16;
    let req = echo_request(id, 1);
    // SAFETY: sockaddr_in is plain data.
    let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    to.sin_family = libc::AF_INET as u16;
    to.sin_addr.s_addr = u32::from_ne_bytes(ip.octets());
    // SAFETY: valid buffer and address.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            req.as_ptr() as *const libc::c_void,
            req.len(),
            0,
            &to as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1500];
    for _ in 0..10_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(60_000) as i32 + 1) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            continue;
        }
        // SAFETY: valid writable buffer.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n > 0 && is_reply(&buf[..n as usize], id, ip) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_checksums_to_zero() {
        let p = echo_request(0x1234, 1);
        assert_eq!(hb_sys::inet_checksum(&p), 0);
        assert_eq!(p[0], 8);
    }

    #[test]
    fn reply_recognition() {
        let mut pkt = vec![0x45u8; 20];
        pkt[12..16].copy_from_slice(&[192, 0, 2, 1]);
        let mut icmp = echo_request(7, 1).to_vec();
        icmp[0] = 0;
        pkt.extend_from_slice(&icmp);
        assert!(is_reply(&pkt, 7, Ipv4Addr::new(192, 0, 2, 1)));
        assert!(!is_reply(&pkt, 8, Ipv4Addr::new(192, 0, 2, 1)));
        assert!(!is_reply(&pkt, 7, Ipv4Addr::new(192, 0, 2, 2)));
        assert!(!is_reply(&pkt[..21], 7, Ipv4Addr::new(192, 0, 2, 1)));
        assert!(!is_reply(&[], 7, Ipv4Addr::new(192, 0, 2, 1)));
    }
}
