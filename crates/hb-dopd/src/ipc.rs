//! The local socket between drbd-peer-outdater and dopd: a Unix stream socket carrying
//! heartbeat's IPC frames (an 8-byte header, then the message's classic text and a NUL;
//! [`hb_api::frame`], [`hb_api::text`]), as the original's IPC library writes them.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use hb_api::frame::{frame, Decoder};
use hb_wire::Message;

/// Largest message either side accepts.
pub const MAX_BODY: usize = 64 * 1024;

/// The bytes of one message on the socket.
pub fn encode(msg: &Message) -> io::Result<Vec<u8>> {
    hb_api::text::encode(msg)
        .map(|body| frame(&body))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// Creates the listening socket at `path`: its directory is made (0750) if missing, an
/// old socket file is replaced, the socket is left mode 0770 (the directory decides who
/// may come in: 2.0.8's /var/run/heartbeat/crm is hacluster:haclient 0750; DRBD runs
/// the handler as root).
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot create the directory {}: {e}", dir.display()),
                    )
                })?;
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot remove the old {}: {e}", path.display()),
            ))
        }
    }
    let l = UnixListener::bind(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o770))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// One end of a connection.
pub struct Conn {
    pub stream: UnixStream,
    dec: Decoder,
}

impl Conn {
    pub fn new(stream: UnixStream) -> Conn {
        Conn {
            stream,
            dec: Decoder::new(MAX_BODY),
        }
    }

    /// Reads what is there without waiting (the stream is non-blocking): the whole
    /// messages, and whether the other end closed (or broke the framing).
    pub fn read_available(&mut self) -> (Vec<Message>, bool) {
        let mut closed = false;
        let mut buf = [0u8; 4096];
        for _ in 0..64 {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => self.dec.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let mut msgs = Vec::new();
        loop {
            match self.dec.next_body() {
                Ok(Some(body)) => {
                    if let Ok(m) = hb_api::text::parse(&body) {
                        msgs.push(m);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        (msgs, closed)
    }

    /// Waits at most `timeout` for one whole message. `Ok(None)`: the other end closed.
    pub fn read_one(&mut self, timeout: Duration) -> io::Result<Option<Message>> {
        let deadline = std::time::Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            match self.dec.next_body() {
                Ok(Some(body)) => {
                    return hb_api::text::parse(&body)
                        .map(Some)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut buf) {
                Ok(0) => return Ok(None),
                Ok(n) => self.dec.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends one message, waiting at most a second for room (the stream's blocking mode
    /// is left as it was).
    pub fn send(&mut self, msg: &Message) -> io::Result<()> {
        let bytes = encode(msg)?;
        // SAFETY: fcntl(F_GETFL) on a descriptor we own.
        let flags = unsafe { libc::fcntl(self.stream.as_raw_fd(), libc::F_GETFL) };
        let was_nonblocking = flags >= 0 && flags & libc::O_NONBLOCK != 0;
        if was_nonblocking {
            self.stream.set_nonblocking(false)?;
        }
        self.stream
            .set_write_timeout(Some(Duration::from_secs(1)))?;
        let r = self.stream.write_all(&bytes);
        if was_nonblocking {
            let _ = self.stream.set_nonblocking(true);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_crosses_the_socket() {
        let dir = std::env::temp_dir().join(format!("hb-dopd-ipc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("outdater");
        let l = listen(&path).unwrap();
        // Binding again replaces the old socket file.
        drop(l);
        let l = listen(&path).unwrap();
        let mut c = Conn::new(UnixStream::connect(&path).unwrap());
        let req = crate::proto::outdater_request("b", "r0");
        c.send(&req).unwrap();
        // SAFETY: fcntl(F_GETFL) on the test's socket.
        let flags = unsafe { libc::fcntl(c.stream.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(
            flags & libc::O_NONBLOCK,
            0,
            "a blocking stream stays blocking"
        );
        let (s, _) = loop {
            match l.accept() {
                Ok(x) => break x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("{e}"),
            }
        };
        s.set_nonblocking(true).unwrap();
        let mut server = Conn::new(s);
        let mut got = Vec::new();
        for _ in 0..100 {
            let (m, closed) = server.read_available();
            got.extend(m);
            assert!(!closed);
            if !got.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(got, vec![req]);
        server
            .send(&crate::proto::outdater_reply("a", "4"))
            .unwrap();
        let r = c.read_one(Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!(r.get("dop_value"), Some("4"));
        drop(server);
        assert!(c.read_one(Duration::from_secs(2)).unwrap().is_none());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o770);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
