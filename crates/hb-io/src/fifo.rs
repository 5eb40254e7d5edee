//! The FIFO `/var/lib/heartbeat/fifo`, through which scripts (`ha_clustermsg` in
//! shellfuncs: hb_standby, hb_takeover, req_resource, mach_down...) send cluster messages.
//!
//! The stream is line oriented: anything before a line `>>>` is skipped; then each line up
//! to `<<<` is `name=value` (value = the rest of the line, spaces kept; `name=` gives an
//! empty value). A line without `=` spoils the whole message, which is dropped; reading
//! resumes at the next `>>>`. Lines longer than 511 bytes are cut and their remainder read
//! as a further line, as the original's reader does.
//!
//! [`FifoParser`] is the sans-IO part; [`Fifo`] creates, opens and reads the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use hb_wire::Message;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// The longest line the original's reader takes at once.
pub const MAX_LINE: usize = 511;
/// The most fields we accept in one FIFO message.
pub const MAX_FIELDS: usize = 256;

/// What the parser made of one message.
#[derive(Debug, PartialEq, Eq)]
pub enum FifoItem {
    Message(Message),
    /// A message dropped, with the reason (log it).
    Bad(String),
}

#[derive(Default)]
enum State {
    #[default]
    Outside,
    Inside(Message),
    Spoiled,
}

/// Splits a byte stream into FIFO messages.
#[derive(Default)]
pub struct FifoParser {
    partial: Vec<u8>,
    state: State,
}

impl FifoParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns every message completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<FifoItem> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == b'\n' {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, &mut out);
            } else {
                self.partial.push(b);
                if self.partial.len() >= MAX_LINE {
                    let line = std::mem::take(&mut self.partial);
                    self.line(&line, &mut out);
                }
            }
        }
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<FifoItem>) {
        let state = std::mem::take(&mut self.state);
        self.state = match state {
            State::Outside | State::Spoiled if line == b">>>" => State::Inside(Message::new()),
            State::Outside => State::Outside,
            State::Spoiled => State::Spoiled,
            State::Inside(msg) if line == b"<<<" => {
                out.push(FifoItem::Message(msg));
                State::Outside
            }
            State::Inside(mut msg) => match line.iter().position(|b| *b == b'=') {
                Some(eq) if eq > 0 && msg.fields.len() < MAX_FIELDS => {
                    let name = String::from_utf8_lossy(&line[..eq]).into_owned();
                    msg.push_str(&name, &line[eq + 1..]);
                    State::Inside(msg)
                }
                _ => {
                    out.push(FifoItem::Bad(format!(
                        "FIFO: dropped a message: line doesn't contain '=' or too many fields: [{}]",
                        String::from_utf8_lossy(line)
                    )));
                    State::Spoiled
                }
            },
        };
    }
}

/// The FIFO, open for reading (and writing, so that it never reads end-of-file).
pub struct Fifo {
    file: File,
    pub path: PathBuf,
    parser: FifoParser,
}

impl Fifo {
    /// Creates the FIFO if it is missing or not a FIFO (mode 0600), else sets its mode to
    /// 0600; opens it read-write and non-blocking. Returns whether it was created.
    pub fn open(path: &Path) -> io::Result<(Fifo, bool)> {
        let created = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_fifo() => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                false
            }
            Ok(_) | Err(_) => {
                let _ = std::fs::remove_file(path);
                let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in FIFO path"))?;
                // SAFETY: a valid C string and a mode.
                if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
                    return Err(io::Error::last_os_error());
                }
                true
            }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        Ok((
            Fifo {
                file,
                path: path.to_path_buf(),
                parser: FifoParser::new(),
            },
            created,
        ))
    }

    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.file.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    /// Reads everything available (edge-triggered: until it would block).
    pub fn read_all(&mut self) -> io::Result<Vec<FifoItem>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend(self.parser.push(&buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(items: Vec<FifoItem>) -> Vec<Message> {
        items
            .into_iter()
            .filter_map(|i| match i {
                FifoItem::Message(m) => Some(m),
                FifoItem::Bad(_) => None,
            })
            .collect()
    }

    #[test]
    fn parses_messages_in_pieces() {
        let mut p = FifoParser::new();
        assert!(p.push(b"junk\n>>>\nt=ask_res").is_empty());
        let got = msgs(p.push(b"ources\nrsc_hold=all\ninfo=me\nempty=\nfoo=bar baz\n<<<\n"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].get("t"), Some("ask_resources"));
        assert_eq!(got[0].get("empty"), Some(""));
        assert_eq!(got[0].get("foo"), Some("bar baz"));
    }

    #[test]
    fn bad_line_spoils_only_its_message() {
        let mut p = FifoParser::new();
        let items = p.push(b">>>\nt=a\nbadline\nx=1\n<<<\n>>>\nt=b\n<<<\n");
        assert!(matches!(&items[0], FifoItem::Bad(s) if s.contains("badline")));
        let got = msgs(items);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].get("t"), Some("b"));
    }

    #[test]
    fn long_lines_are_cut() {
        let mut p = FifoParser::new();
        let mut s = b">>>\nt=x\nv=".to_vec();
        s.extend(std::iter::repeat_n(b'a', 600));
        s.extend(b"\n<<<\n");
        // The remainder of the long line has no '=': the message is dropped, as the original does.
        let items = p.push(&s);
        assert!(msgs(items).is_empty());
    }

    #[test]
    fn fifo_file_roundtrip() {
        let dir = std::env::temp_dir().join(format!("hb-fifo-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fifo");
        std::fs::write(&path, b"not a fifo").unwrap();
        let (mut f, created) = Fifo::open(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut w = OpenOptions::new().write(true).open(&path).unwrap();
        use std::io::Write;
        w.write_all(b">>>\nt=hb_takeover\nrsc_hold=all\n<<<\n")
            .unwrap();
        let got = msgs(f.read_all().unwrap());
        assert_eq!(got[0].get("rsc_hold"), Some("all"));
        assert!(f.read_all().unwrap().is_empty());
        let (_f2, created2) = Fifo::open(&path).unwrap();
        assert!(!created2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
