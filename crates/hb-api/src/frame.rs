//! Framing on the API socket, both directions: an 8-byte header, then the body.
//!
//! | bytes | content |
//! |---|---|
//! | 0..4 | body length, signed 32-bit, host byte order |
//! | 4..8 | magic `0x0000ABCD`, unsigned 32-bit, host byte order |
//! | 8.. | body: the message text including its terminating NUL |
//!
//! Messages follow each other in the stream; [`Decoder`] reassembles them across reads.
//! The client library of the original aborts on a wrong magic, so every frame we write
//! comes from [`frame`].

use std::fmt;

/// The magic number of every header.
pub const MAGIC: u32 = 0xABCD;
/// Header size.
pub const HEADER: usize = 8;
/// Largest body we accept by default: 256 KiB, the original's limit (MAXMSG of 2.0.8's
/// clplumbing IPC, `include/clplumbing/ipc.h`). A client message for the cluster must
/// still fit into one datagram once signed (the daemon refuses it otherwise).
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// A broken stream: the connection cannot be read any further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The header's magic is not 0xABCD.
    BadMagic(u32),
    /// The announced body length is negative or above the limit.
    BadLength { len: i64, max: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadMagic(m) => write!(f, "bad magic 0x{m:x} in message header"),
            FrameError::BadLength { len, max } => {
                write!(f, "message length {len} out of range (at most {max})")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// Header and body as one buffer.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    let len = i32::try_from(body.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&MAGIC.to_ne_bytes());
    out.extend_from_slice(body);
    out
}

/// Reassembles frames from a byte stream.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    max_body: usize,
    broken: bool,
}

impl Decoder {
    pub fn new(max_body: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            start: 0,
            max_body,
            broken: false,
        }
    }

    /// Changes the largest body accepted from the next frame on.
    pub fn set_max_body(&mut self, max_body: usize) {
        self.max_body = max_body;
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete body, `Ok(None)` when more bytes are needed. After an error the
    /// decoder stays broken (every later call returns the error again).
    pub fn next_body(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let pending = self.buf.get(self.start..).unwrap_or(&[]);
        let (Some(l), Some(m)) = (pending.get(0..4), pending.get(4..8)) else {
            self.compact();
            return Ok(None);
        };
        let len = i32::from_ne_bytes([l[0], l[1], l[2], l[3]]);
        let magic = u32::from_ne_bytes([m[0], m[1], m[2], m[3]]);
        if magic != MAGIC {
            self.broken = true;
            return Err(FrameError::BadMagic(magic));
        }
        let Ok(ulen) = usize::try_from(len) else {
            self.broken = true;
            return Err(FrameError::BadLength {
                len: i64::from(len),
                max: self.max_body,
            });
        };
        if ulen > self.max_body {
            self.broken = true;
            return Err(FrameError::BadLength {
                len: i64::from(len),
                max: self.max_body,
            });
        }
        let Some(body) = pending.get(HEADER..HEADER + ulen) else {
            self.compact();
            return Ok(None);
        };
        let body = body.to_vec();
        self.start += HEADER + ulen;
        Ok(Some(body))
    }

    /// Bytes received but not yet returned as a body (a partial message).
    pub fn pending(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_length_then_magic_in_host_order() {
        let f = frame(b"abc\0");
        assert_eq!(f.len(), 12);
        assert_eq!(&f[0..4], &4i32.to_ne_bytes());
        assert_eq!(&f[4..8], &0xABCDu32.to_ne_bytes());
        if cfg!(target_endian = "little") {
            assert_eq!(&f[..8], b"\x04\0\0\0\xcd\xab\0\0");
        }
        assert_eq!(&f[8..], b"abc\0");
    }

    #[test]
    fn reassembles_across_reads_byte_by_byte() {
        let mut stream = frame(b"one\0");
        stream.extend(frame(b""));
        stream.extend(frame(b"three\0"));
        let mut d = Decoder::new(100);
        let mut got = Vec::new();
        for b in &stream {
            d.push(std::slice::from_ref(b));
            while let Some(body) = d.next_body().unwrap() {
                got.push(body);
            }
        }
        assert_eq!(got, vec![b"one\0".to_vec(), vec![], b"three\0".to_vec()]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn several_frames_in_one_read() {
        let mut stream = frame(b"a\0");
        stream.extend(frame(b"b\0"));
        stream.extend(&frame(b"c\0")[..5]);
        let mut d = Decoder::new(100);
        d.push(&stream);
        assert_eq!(d.next_body().unwrap(), Some(b"a\0".to_vec()));
        assert_eq!(d.next_body().unwrap(), Some(b"b\0".to_vec()));
        assert_eq!(d.next_body().unwrap(), None);
        assert_eq!(d.pending(), 5);
        d.push(&frame(b"c\0")[5..]);
        assert_eq!(d.next_body().unwrap(), Some(b"c\0".to_vec()));
    }

    #[test]
    fn bad_magic_breaks_the_stream() {
        let mut f = frame(b"x\0");
        f[4] = 0xce;
        let mut d = Decoder::new(100);
        d.push(&f);
        assert!(matches!(d.next_body(), Err(FrameError::BadMagic(_))));
        d.push(&frame(b"y\0"));
        assert!(d.next_body().is_err());
    }

    #[test]
    fn length_limits() {
        let mut d = Decoder::new(10);
        d.push(&frame(&[b'a'; 10]));
        assert_eq!(d.next_body().unwrap().map(|b| b.len()), Some(10));
        d.push(&frame(&[b'a'; 11]));
        assert_eq!(
            d.next_body(),
            Err(FrameError::BadLength { len: 11, max: 10 })
        );
        let mut d = Decoder::new(10);
        let mut neg = Vec::new();
        neg.extend_from_slice(&(-1i32).to_ne_bytes());
        neg.extend_from_slice(&MAGIC.to_ne_bytes());
        d.push(&neg);
        assert_eq!(
            d.next_body(),
            Err(FrameError::BadLength { len: -1, max: 10 })
        );
    }

    #[test]
    fn an_oversized_header_is_refused_before_its_body_arrives() {
        let mut d = Decoder::new(DEFAULT_MAX_BODY);
        let mut h = Vec::new();
        h.extend_from_slice(&i32::MAX.to_ne_bytes());
        h.extend_from_slice(&MAGIC.to_ne_bytes());
        d.push(&h);
        assert!(d.next_body().is_err());
    }
}
