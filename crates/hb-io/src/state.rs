//! Heartbeat's state files, the pid file, and two small facts about the host.
//!
//! Formats (2.0.8 `heartbeat.c` IncrGeneration, `hb_uuid.c` GetUUID, `cl_pidfile.c`; files made by
//! the installed 3.0.6; LOCAL-INTERFACES.md 6.3):
//! - `hb_generation`: the generation in decimal, right-aligned in 15 columns, then `\n` (16 bytes),
//!   mode 0644. Incremented and made durable at every start, before anything is sent.
//! - `hb_uuid`: exactly 16 raw bytes, mode 0644; created with a random (version 4) UUID when
//!   missing or shorter than 16 bytes (a longer file: its first 16 bytes are the UUID).
//! - pid file: the pid right-aligned in 10 columns, then `\n` (11 bytes), mode 0644, created
//!   through `<pidfile>.<pid>` (O_EXCL) + link + unlink; a pid is "alive" when `kill(pid, 0)`
//!   succeeds or fails with anything but ESRCH (so EPERM counts as alive).
//!
//! Functions take the directory or path, so tests use temporary directories.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where heartbeat keeps its state.
pub const STATE_DIR: &str = "/var/lib/heartbeat";
/// 2.0.8's pid file (3.0.6: /run/heartbeat.pid).
pub const PIDFILE: &str = "/var/run/heartbeat.pid";
/// Name of the generation file in [`STATE_DIR`].
pub const GENERATION_FILE: &str = "hb_generation";
/// Name of the uuid file in [`STATE_DIR`].
pub const UUID_FILE: &str = "hb_uuid";

/// An error about one state file.
#[derive(Debug)]
pub enum StateError {
    /// Reading, writing, syncing or renaming `path` failed.
    Io {
        path: PathBuf,
        op: &'static str,
        err: io::Error,
    },
    /// `path` exists but does not hold what it should (e.g. a generation that is not a number).
    Garbled { path: PathBuf, content: String },
}

impl StateError {
    /// True when the cause is EPERM/EACCES (the original then exits 4 rather than 1).
    pub fn is_permission(&self) -> bool {
        matches!(self, StateError::Io { err, .. } if err.kind() == io::ErrorKind::PermissionDenied)
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Io { path, op, err } => write!(f, "cannot {op} {}: {err}", path.display()),
            StateError::Garbled { path, content } => {
                write!(f, "{} is garbled: {content:?}", path.display())
            }
        }
    }
}

impl std::error::Error for StateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StateError::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> StateError + 'a {
    move |err| StateError::Io {
        path: path.to_path_buf(),
        op,
        err,
    }
}

/// Replace `path` by `data` durably: write `<path>.tmp`, fsync, rename over `path`, fsync the
/// directory. A crash leaves either the old or the new content, never a torn file.
fn write_atomically(path: &Path, data: &[u8], mode: u32) -> Result<(), StateError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(io_err(&tmp, "create"))?;
    f.write_all(data).map_err(io_err(&tmp, "write"))?;
    f.sync_all().map_err(io_err(&tmp, "sync"))?;
    drop(f);
    // The mode requested at creation is reduced by the umask: set it exactly.
    fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(io_err(&tmp, "chmod"))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        StateError::Io {
            path: path.to_path_buf(),
            op: "rename into",
            err: e,
        }
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "sync directory"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// hb_generation

/// The generation after a start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The new generation (wire field `hg`, in hex).
    pub value: u64,
    /// The file did not exist: the caller should log `No Previous generation - starting at 1`
    /// (WARN, 2.0.8 wording).
    pub was_missing: bool,
    /// The file held no generation that could be increased: its content (the caller logs
    /// `BROKEN previous generation`, WARN, 2.0.8 wording); `value` comes from the clock.
    pub broken: Option<String>,
}

/// The 16-byte file content for generation `g`.
pub fn format_generation(g: u64) -> String {
    format!("{g:>15}\n")
}

/// Parse a generation file: optional blanks, decimal digits, optional blanks/newline.
pub fn parse_generation(content: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(content).ok()?;
    let t = text.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\n' || c == '\r');
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// The generation stored in `dir`/hb_generation; `Ok(None)` when the file does not exist.
/// An unreadable or garbled file is an error, never "missing".
pub fn read_generation(dir: &Path) -> Result<Option<u64>, StateError> {
    let path = dir.join(GENERATION_FILE);
    let mut content = Vec::new();
    match File::open(&path) {
        Ok(f) => {
            // A sane file is 16 bytes; read a little more to see garbage, never a huge file.
            f.take(64)
                .read_to_end(&mut content)
                .map_err(io_err(&path, "read"))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path, "open")(e)),
    }
    match parse_generation(&content) {
        Some(g) => Ok(Some(g)),
        None => Err(StateError::Garbled {
            path,
            content: String::from_utf8_lossy(&content).into_owned(),
        }),
    }
}

/// At every start: read `dir`/hb_generation, add one, write it back durably, return it.
///
/// A missing file starts at 1, as 2.0.8 does (3.0.6 starts at the current time + 1 instead).
/// A file that holds no generation we can increase (empty, garbled, negative, too big) does
/// not stop the start either, as with the original, but where 2.0.8 restarts at 1 ("BROKEN
/// previous generation - starting at 1"; 3.0.6 logs the time and uses 1 too) we go on from the
/// clock: Unix time + 1, the value 3.0.6 announces. A generation lower than the one a running
/// peer remembers would make it drop all our packets as replays; the clock is above any
/// counted generation. The caller logs what the file held ([`Generation::broken`]).
/// An unreadable file (a directory, an I/O error) or a failed write is an error.
pub fn increment_generation(dir: &Path) -> Result<Generation, StateError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    increment_generation_at(dir, now)
}

/// [`increment_generation`] with the clock given (Unix seconds).
pub fn increment_generation_at(dir: &Path, now_unix: u64) -> Result<Generation, StateError> {
    let path = dir.join(GENERATION_FILE);
    let (value, was_missing, broken) = match read_generation(dir) {
        Ok(None) => (1, true, None),
        Ok(Some(g)) => match g.checked_add(1) {
            Some(v) => (v, false, None),
            None => (
                now_unix.saturating_add(1),
                false,
                Some(format_generation(g)),
            ),
        },
        Err(StateError::Garbled { content, .. }) => {
            (now_unix.saturating_add(1).max(1), false, Some(content))
        }
        Err(e) => return Err(e),
    };
    write_atomically(&path, format_generation(value).as_bytes(), 0o644)?;
    Ok(Generation {
        value,
        was_missing,
        broken,
    })
}

// ---------------------------------------------------------------------------------------------
// hb_uuid

/// A node's UUID, 16 raw bytes (wire field `srcuuid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeUuid(pub [u8; 16]);

impl NodeUuid {
    /// A random version-4 UUID from /dev/urandom.
    pub fn random() -> io::Result<NodeUuid> {
        let mut b = [0u8; 16];
        File::open("/dev/urandom")?.read_exact(&mut b)?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(NodeUuid(b))
    }
}

/// The 36-character lower-case form (`hostcache` lines, logs).
impl fmt::Display for NodeUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The UUID from `dir`/hb_uuid, creating the file with a new random UUID when it is missing or
/// shorter than 16 bytes (then `created` is true and the caller logs
/// `No uuid found for current node - generating a new uuid.`). Other errors are returned.
pub fn load_or_create_uuid(dir: &Path) -> Result<(NodeUuid, bool), StateError> {
    let path = dir.join(UUID_FILE);
    match File::open(&path) {
        Ok(f) => {
            let mut content = Vec::with_capacity(16);
            f.take(16)
                .read_to_end(&mut content)
                .map_err(io_err(&path, "read"))?;
            if let Ok(b) = <[u8; 16]>::try_from(content.as_slice()) {
                return Ok((NodeUuid(b), false));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&path, "open")(e)),
    }
    let uuid = NodeUuid::random().map_err(io_err(Path::new("/dev/urandom"), "read"))?;
    write_atomically(&path, &uuid.0, 0o644)?;
    Ok((uuid, true))
}

/// The UUID 2.0.8 gives a node with `uuidfrom nodename` (`hb_uuid.c` gen_uuid_from_name; no
/// hb_uuid file is read or written then): a hash of the name seeds the C library's `rand()`
/// (glibc's), and 32 draws, each taken modulo 16, are the UUID's hex digits in order. The same
/// name gives the same UUID on every node and across an upgrade from the original. Returns the
/// UUID and the seed (the original logs `seed is N`).
pub fn uuid_from_name(name: &str) -> (NodeUuid, i32) {
    // The name's hash as 2.0.8 computes it: `h = h * 31 + c` over C `char`s (signed here).
    let chars = name.bytes().map(|b| b as i8 as i32 as u32);
    let seed = chars.fold(None, |h: Option<u32>, c| {
        Some(h.map_or(c, |h| (h << 5).wrapping_sub(h).wrapping_add(c)))
    });
    let seed = seed.unwrap_or(0);
    let mut rng = GlibcRand::new(seed);
    let mut b = [0u8; 16];
    for byte in b.iter_mut() {
        let hi = (rng.next() % 16) as u8;
        let lo = (rng.next() % 16) as u8;
        *byte = hi << 4 | lo;
    }
    (NodeUuid(b), seed as i32)
}

/// glibc's `srand`/`rand` (the additive feedback generator `random_r` uses by default: 31 words,
/// separation 3, the first 310 outputs discarded).
struct GlibcRand {
    state: [i32; 31],
    f: usize,
    r: usize,
}

impl GlibcRand {
    fn new(seed: u32) -> GlibcRand {
        let seed = if seed == 0 { 1 } else { seed };
        let mut state = [0i32; 31];
        state[0] = seed as i32;
        let mut word = i64::from(seed as i32);
        for s in state.iter_mut().skip(1) {
            // 16807 * word % 2147483647 without overflow, as glibc computes it.
            let (hi, lo) = (word / 127_773, word % 127_773);
            word = 16_807 * lo - 2_836 * hi;
            if word < 0 {
                word += 2_147_483_647;
            }
            *s = word as i32;
        }
        let mut g = GlibcRand { state, f: 3, r: 0 };
        for _ in 0..310 {
            g.next();
        }
        g
    }

    /// The next `rand()`: 0 to 2^31 - 1.
    fn next(&mut self) -> u32 {
        let val = (self.state[self.f] as u32).wrapping_add(self.state[self.r] as u32);
        self.state[self.f] = val as i32;
        self.f = (self.f + 1) % 31;
        self.r = (self.r + 1) % 31;
        val >> 1
    }
}

// ---------------------------------------------------------------------------------------------
// pid file

/// What a pid file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidStatus {
    /// No pid file, or an empty/unparsable one (the original treats both as "stopped").
    NoFile,
    /// The file names a process that is gone.
    Stale(i32),
    /// The file names a live process.
    Running(i32),
}

/// A process is alive when `kill(pid, 0)` succeeds or fails with anything but ESRCH.
pub fn is_running(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks existence and permission; pid > 0 names one process.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The pid in a pid file's content (leading blanks, decimal digits); `None` if there is none or
/// it is not a valid positive pid.
pub fn parse_pid(content: &[u8]) -> Option<i32> {
    let start = content.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = content.get(start..)?;
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    let digits = std::str::from_utf8(rest.get(..end)?).ok()?;
    let pid: i32 = digits.parse().ok()?;
    (pid > 0).then_some(pid)
}

/// The pid recorded in `path`, without checking the process.
pub fn read_pid(path: &Path) -> Option<i32> {
    let f = File::open(path).ok()?;
    let mut content = Vec::with_capacity(12);
    f.take(12).read_to_end(&mut content).ok()?;
    parse_pid(&content)
}

/// Read the pid file and check its process.
pub fn read_pidfile(path: &Path) -> PidStatus {
    match read_pid(path) {
        None => PidStatus::NoFile,
        Some(pid) if is_running(pid) => PidStatus::Running(pid),
        Some(pid) => PidStatus::Stale(pid),
    }
}

/// The 11-byte pid file content.
pub fn format_pid(pid: u32) -> String {
    format!("{pid:>10}\n")
}

/// Why the pid file could not be created.
#[derive(Debug)]
pub enum PidfileError {
    /// Another live process holds it.
    AlreadyRunning(i32),
    Io(io::Error),
}

impl fmt::Display for PidfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidfileError::AlreadyRunning(pid) => write!(f, "already running [pid {pid}]"),
            PidfileError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PidfileError {}

/// Create the pid file for this process as the original does: a stale, empty or garbled file is
/// removed; a file naming another live process is left alone (`AlreadyRunning`); a file naming
/// this very process (re-exec with `-R`) is rewritten. The content is written to
/// `<path>.<pid>` (O_EXCL), hard-linked to `path`, and the temporary name removed.
pub fn create_pidfile(path: &Path) -> Result<(), PidfileError> {
    let me = std::process::id();
    if let Some(pid) = read_pid(path) {
        if pid > 1 && u32::try_from(pid).ok() != Some(me) && is_running(pid) {
            return Err(PidfileError::AlreadyRunning(pid));
        }
    }
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(PidfileError::Io(e)),
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".{me}"));
    let tmp = PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(format_pid(me).as_bytes())?;
        drop(f);
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match read_pid(path) {
            Some(pid) => Err(PidfileError::AlreadyRunning(pid)),
            None => Err(PidfileError::Io(e)),
        },
        Err(e) => Err(PidfileError::Io(e)),
    }
}

/// Remove the pid file (a missing file is fine).
pub fn remove_pidfile(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// host facts

/// The `ld` field: the first line of /proc/loadavg (at most 63 bytes), or `n/a`.
pub fn loadavg() -> String {
    loadavg_from(Path::new("/proc/loadavg"))
}

/// [`loadavg`] from another file (tests).
pub fn loadavg_from(path: &Path) -> String {
    let mut buf = Vec::with_capacity(64);
    let ok = File::open(path)
        .and_then(|f| f.take(63).read_to_end(&mut buf))
        .is_ok();
    if !ok || buf.is_empty() {
        return "n/a".to_string();
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let t = text.trim();
    if t.is_empty() {
        "n/a".to_string()
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let d = std::env::temp_dir().join(format!("hb-io-state-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&d);
            fs::create_dir_all(&d).expect("create temp dir");
            TempDir(d)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn generation_format_is_16_bytes() {
        assert_eq!(format_generation(1795610848), "     1795610848\n");
        assert_eq!(format_generation(1).len(), 16);
        assert_eq!(parse_generation(b"     1795610848\n"), Some(1795610848));
        assert_eq!(parse_generation(b"7"), Some(7));
        assert_eq!(parse_generation(b""), None);
        assert_eq!(parse_generation(b"   \n"), None);
        assert_eq!(parse_generation(b"  12x\n"), None);
        assert_eq!(parse_generation(b"-5\n"), None);
        assert_eq!(parse_generation(b"\xff\xfe"), None);
    }

    #[test]
    fn generation_starts_at_one_and_increments() {
        let d = TempDir::new("gen");
        assert_eq!(read_generation(&d.0).expect("read"), None);
        let g = increment_generation(&d.0).expect("first start");
        assert_eq!(
            g,
            Generation {
                value: 1,
                was_missing: true,
                broken: None
            }
        );
        let g = increment_generation(&d.0).expect("second start");
        assert_eq!(
            g,
            Generation {
                value: 2,
                was_missing: false,
                broken: None
            }
        );
        let path = d.0.join(GENERATION_FILE);
        assert_eq!(fs::read(&path).expect("file"), b"              2\n");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o644
        );
        assert!(
            !d.0.join("hb_generation.tmp").exists(),
            "temporary file renamed away"
        );

        // A file written by the original (3.0.6 time-based start).
        fs::write(&path, "     1795610848\n").expect("write");
        assert_eq!(increment_generation(&d.0).expect("inc").value, 1795610849);
        assert_eq!(
            fs::read_to_string(&path).expect("file"),
            "     1795610849\n"
        );
    }

    #[test]
    fn a_broken_generation_restarts_from_the_clock_and_is_reported() {
        let d = TempDir::new("genbroken");
        let path = d.0.join(GENERATION_FILE);
        let now = 1_795_610_848;
        for bad in [
            &b""[..],
            b"garbage\n",
            b"\0\0\0\0",
            b"-5\n",
            b"   -1\n",
            b"99999999999999999999999\n",
            b"18446744073709551615\n",
            b"  12x\n",
        ] {
            fs::write(&path, bad).expect("write");
            let g = increment_generation_at(&d.0, now).expect("a start, not an error");
            assert_eq!(g.value, now + 1, "{bad:?}");
            assert!(!g.was_missing);
            assert_eq!(
                g.broken.as_deref(),
                Some(String::from_utf8_lossy(bad).as_ref()),
                "what the file held is reported"
            );
            assert_eq!(
                fs::read_to_string(&path).expect("file"),
                format_generation(now + 1),
                "{bad:?}: rewritten"
            );
            // The next start goes on from there.
            let g = increment_generation_at(&d.0, now).expect("next");
            assert_eq!((g.value, g.broken), (now + 2, None));
        }
        // A generation above the clock is kept going, never lowered.
        fs::write(&path, format_generation(u64::MAX - 1)).expect("write");
        assert_eq!(
            increment_generation_at(&d.0, now).expect("inc").value,
            u64::MAX
        );
        // A directory where the file should be: an I/O error, not a reset.
        fs::remove_file(&path).expect("rm");
        fs::create_dir(&path).expect("mkdir");
        assert!(matches!(read_generation(&d.0), Err(StateError::Io { .. })));
        assert!(matches!(
            increment_generation_at(&d.0, now),
            Err(StateError::Io { .. })
        ));
    }

    #[test]
    fn uuid_is_created_once_and_kept() {
        let d = TempDir::new("uuid");
        let (u1, created) = load_or_create_uuid(&d.0).expect("create");
        assert!(created);
        assert_eq!(u1.0[6] >> 4, 4, "version 4");
        assert_eq!(u1.0[8] & 0xc0, 0x80, "RFC 4122 variant");
        let path = d.0.join(UUID_FILE);
        assert_eq!(fs::read(&path).expect("file"), u1.0.to_vec());
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o644
        );
        let (u2, created) = load_or_create_uuid(&d.0).expect("load");
        assert!(!created);
        assert_eq!(u1, u2);

        // The UUID of a real 3.0.6 node (LOCAL-INTERFACES.md 6.3: srcuuid=ZhcyYsDgRruNXr8/mpxrdA==),
        // followed by an extra byte.
        let real = [
            0x66, 0x17, 0x32, 0x62, 0xc0, 0xe0, 0x46, 0xbb, 0x8d, 0x5e, 0xbf, 0x3f, 0x9a, 0x9c,
            0x6b, 0x74,
        ];
        let mut long = real.to_vec();
        long.push(b'\n');
        fs::write(&path, &long).expect("write");
        let (u3, created) = load_or_create_uuid(&d.0).expect("load");
        assert!(!created);
        assert_eq!(u3.0, real);
        assert_eq!(u3.to_string(), "66173262-c0e0-46bb-8d5e-bf3f9a9c6b74");

        // Too short: regenerated.
        fs::write(&path, [1, 2, 3]).expect("write");
        let (u4, created) = load_or_create_uuid(&d.0).expect("regenerate");
        assert!(created);
        assert_eq!(fs::read(&path).expect("file").len(), 16);
        assert_ne!(u4.0[..3], [1, 2, 3]);
    }

    #[test]
    fn pid_parsing() {
        assert_eq!(format_pid(6765), "      6765\n");
        assert_eq!(format_pid(6765).len(), 11);
        assert_eq!(parse_pid(b"      6765\n"), Some(6765));
        assert_eq!(parse_pid(b"42"), Some(42));
        assert_eq!(parse_pid(b"42junk"), Some(42));
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"  \n"), None);
        assert_eq!(parse_pid(b"0\n"), None);
        assert_eq!(parse_pid(b"-1\n"), None);
        assert_eq!(parse_pid(b"99999999999\n"), None, "not a pid");
        assert_eq!(parse_pid(b"abc"), None);
    }

    #[test]
    fn pidfile_lifecycle() {
        let d = TempDir::new("pid");
        let path = d.0.join("heartbeat.pid");
        assert_eq!(read_pidfile(&path), PidStatus::NoFile);
        create_pidfile(&path).expect("create");
        let me = std::process::id() as i32;
        assert_eq!(
            fs::read_to_string(&path).expect("file"),
            format_pid(me as u32)
        );
        assert_eq!(read_pidfile(&path), PidStatus::Running(me));
        assert!(
            !d.0.join(format!("heartbeat.pid.{me}")).exists(),
            "temporary name removed"
        );
        // Our own pid (re-exec): rewritten.
        create_pidfile(&path).expect("recreate");

        // Another live process holds it: refused, untouched.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let other = child.id() as i32;
        fs::write(&path, format_pid(other as u32)).expect("write");
        assert_eq!(read_pidfile(&path), PidStatus::Running(other));
        assert!(
            matches!(create_pidfile(&path), Err(PidfileError::AlreadyRunning(p)) if p == other)
        );
        child.kill().expect("kill");
        child.wait().expect("reap");
        // Now stale: replaced.
        assert_eq!(read_pidfile(&path), PidStatus::Stale(other));
        create_pidfile(&path).expect("replace stale");
        assert_eq!(read_pid(&path), Some(me));

        fs::write(&path, "garbage").expect("write");
        assert_eq!(read_pidfile(&path), PidStatus::NoFile);
        create_pidfile(&path).expect("replace garbled");
        remove_pidfile(&path).expect("remove");
        remove_pidfile(&path).expect("remove again is fine");
        assert!(!path.exists());
        assert!(!is_running(0));
        assert!(!is_running(-1));
        assert!(is_running(1), "init exists (EPERM or not)");
    }

    #[test]
    fn loadavg_of_the_machine_and_of_a_file() {
        let d = TempDir::new("load");
        let p = d.0.join("loadavg");
        fs::write(&p, "0.20 0.07 0.02 3/94 5876\n").expect("write");
        assert_eq!(loadavg_from(&p), "0.20 0.07 0.02 3/94 5876");
        fs::write(&p, "").expect("write");
        assert_eq!(loadavg_from(&p), "n/a");
        assert_eq!(loadavg_from(&d.0.join("missing")), "n/a");
        let real = loadavg();
        assert_eq!(real.split_whitespace().count(), 5, "{real}");
    }

    #[test]
    fn uuid_from_name_is_the_originals() {
        // Each expected value printed by the original's gen_uuid_from_name and string_hash
        // (2.0.8 hb_uuid.c) compiled with gcc against glibc on this machine, seed included.
        for (name, seed, uuid) in [
            ("alpha", 92909918, "cc301fda-9190-a843-de51-a987ec340ccc"),
            ("beta", 3020272, "bf4514df-59e5-20af-3817-c93be31e6e01"),
            ("a", 97, "e44c7868-10c2-3db7-763c-3b17dc88f2ed"),
            ("node1", 104993391, "90b8de77-08c8-7a6c-fef1-993a43051dba"),
            ("", 0, "76931fac-9dab-2b36-c248-b87d6ae33f9a"),
            (
                "\u{dc}n\u{ef}code",
                1716198350,
                "3316d33d-723e-d846-1885-b76a7f71aedd",
            ),
            (
                "hb-node-with-a-very-long-name-0123456789",
                129295954,
                "d7eaeb06-b6e6-4a3f-4167-66c79bdc0ebd",
            ),
        ] {
            let (u, s) = uuid_from_name(name);
            assert_eq!((u.to_string().as_str(), s), (uuid, seed), "{name:?}");
        }
    }
}
