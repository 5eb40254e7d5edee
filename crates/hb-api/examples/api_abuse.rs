//! api_abuse: what a hostile local user can do with the client API socket (mode 0777), for
//! compat-tests/t-api-abuse.sh (issue #16). Every mode is bounded in time and size.
//!
//! `api_abuse send --name NAME [--pad BYTES] [--wait-ms MS] FIELD=VALUE...`
//!   signs on as the named client NAME, sends one cluster message made of the fields (e.g.
//!   `t=shutdone`; `--pad` adds a field of that many bytes), then prints every message the
//!   daemon gives back within the wait (default 1000 ms) as `GOT <fields>` (`|`-separated).
//!   Exit 0 if the sign-on worked.
//!
//! `api_abuse idle --count N --seconds S`
//!   holds N connections that never sign on, opening a new one whenever the daemon closes
//!   one, for S seconds; prints `IDLE held=<open at the end> opened=<connections made>
//!   refused=<connects that failed>`.
//!
//! `api_abuse burst --count N --node NODE --client CN --seconds S`
//!   signs on as a casual client, writes N `clientstatus NODE CN` requests as fast as the
//!   socket takes them (a thread), reads answers for at most S seconds, then goes away;
//!   prints `BURST written=<requests written> answers=<answers read> secs=<time>`.
//!
//! Options common to all: `--socket PATH` (default /var/run/heartbeat/register).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hb_api::frame::{frame, Decoder};
use hb_api::socket::DEFAULT_PATH;
use hb_api::text::{self, one_line};
use hb_wire::Message;

const MAX_COUNT: usize = 100_000;
const MAX_SECONDS: u64 = 120;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("send") => send(&args[1..]),
        Some("idle") => idle(&args[1..]),
        Some("burst") => burst(&args[1..]),
        _ => Err("usage: api_abuse send|idle|burst ... (see the source)".to_string()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api_abuse: {e}");
            ExitCode::from(2)
        }
    }
}

struct Opts {
    socket: PathBuf,
    name: Option<String>,
    pad: usize,
    wait: Duration,
    count: usize,
    seconds: u64,
    node: String,
    client: String,
    fields: Vec<(String, String)>,
}

fn num(name: &str, v: Option<&String>) -> Result<u64, String> {
    v.ok_or_else(|| format!("{name} needs a value"))?
        .parse()
        .map_err(|_| format!("{name}: not a number"))
}

fn opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        socket: PathBuf::from(DEFAULT_PATH),
        name: None,
        pad: 0,
        wait: Duration::from_millis(1000),
        count: 100,
        seconds: 5,
        node: String::new(),
        client: "ipfail".into(),
        fields: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--socket" => o.socket = PathBuf::from(it.next().ok_or("--socket needs a value")?),
            "--name" => o.name = Some(it.next().ok_or("--name needs a value")?.clone()),
            "--pad" => o.pad = num(a, it.next())? as usize,
            "--wait-ms" => o.wait = Duration::from_millis(num(a, it.next())?),
            "--count" => o.count = num(a, it.next())? as usize,
            "--seconds" => o.seconds = num(a, it.next())?,
            "--node" => o.node = it.next().ok_or("--node needs a value")?.clone(),
            "--client" => o.client = it.next().ok_or("--client needs a value")?.clone(),
            f => match f.split_once('=') {
                Some((k, v)) if !k.is_empty() => o.fields.push((k.into(), v.into())),
                _ => return Err(format!("unknown argument {f:?}")),
            },
        }
    }
    if o.count > MAX_COUNT || o.seconds > MAX_SECONDS || o.pad > 1 << 20 {
        return Err(format!(
            "at most {MAX_COUNT} connections or requests, {MAX_SECONDS} s, 1 MiB of padding"
        ));
    }
    Ok(o)
}

/// A raw connection: sign-on written by hand (the library would refuse what we send).
struct Conn {
    s: UnixStream,
    dec: Decoder,
    pid: String,
}

impl Conn {
    fn signon(path: &PathBuf, name: Option<&str>) -> Result<Conn, String> {
        let s = UnixStream::connect(path).map_err(|e| format!("connect: {e}"))?;
        let pid = std::process::id().to_string();
        // SAFETY: no memory effects.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let mut c = Conn {
            s,
            dec: Decoder::new(1 << 20),
            pid: pid.clone(),
        };
        let m = text::msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "signon"),
            ("pid", &pid),
            ("from_id", name.unwrap_or(&pid)),
            ("uid", &uid.to_string()),
            ("gid", &gid.to_string()),
        ]);
        c.write(&m)?;
        let r = c
            .read(Duration::from_secs(5))
            .ok_or("no answer to the sign-on")?;
        if r.get("result") != Some("OK") {
            return Err(format!("sign-on refused: {}", one_line(&r)));
        }
        Ok(c)
    }

    fn write(&mut self, m: &Message) -> Result<(), String> {
        let body = text::encode(m).map_err(|e| e.to_string())?;
        self.s
            .write_all(&frame(&body))
            .map_err(|e| format!("write: {e}"))
    }

    /// The next message, waiting at most `wait`.
    fn read(&mut self, wait: Duration) -> Option<Message> {
        let end = Instant::now() + wait;
        let mut buf = [0u8; 65536];
        loop {
            if let Ok(Some(b)) = self.dec.next_body() {
                if let Ok(m) = text::parse(&b) {
                    return Some(m);
                }
                continue;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || self.s.set_read_timeout(Some(left)).is_err() {
                return None;
            }
            match self.s.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.dec.push(&buf[..n]),
            }
        }
    }
}

fn send(args: &[String]) -> Result<(), String> {
    let o = opts(args)?;
    let name = o.name.as_deref().ok_or("send needs --name")?;
    let mut c = Conn::signon(&o.socket, Some(name))?;
    let mut m = Message::new();
    for (k, v) in &o.fields {
        m.push_str(k, v);
    }
    if o.pad > 0 {
        m.push_str("pad", "p".repeat(o.pad));
    }
    c.write(&m)?;
    println!("SENT {}", o.fields.first().map_or("", |f| f.1.as_str()));
    let end = Instant::now() + o.wait;
    while let Some(r) = c.read(end.saturating_duration_since(Instant::now())) {
        let mut line = one_line(&r);
        line.truncate(300);
        println!("GOT {line}");
    }
    Ok(())
}

fn idle(args: &[String]) -> Result<(), String> {
    let o = opts(args)?;
    let end = Instant::now() + Duration::from_secs(o.seconds);
    let mut conns: Vec<UnixStream> = Vec::new();
    let (mut opened, mut refused) = (0u64, 0u64);
    while Instant::now() < end {
        // Drop the connections the daemon closed.
        conns.retain(|c| {
            let _ = c.set_nonblocking(true);
            let mut b = [0u8; 64];
            !matches!((&*c).read(&mut b), Ok(0))
        });
        while conns.len() < o.count && Instant::now() < end {
            match UnixStream::connect(&o.socket) {
                Ok(c) => {
                    opened += 1;
                    conns.push(c);
                }
                Err(_) => {
                    refused += 1;
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "IDLE held={} opened={opened} refused={refused}",
        conns.len()
    );
    Ok(())
}

fn burst(args: &[String]) -> Result<(), String> {
    let o = opts(args)?;
    let mut c = Conn::signon(&o.socket, None)?;
    let req = text::msg(&[
        ("t", "hbapi-req"),
        ("reqtype", "clientstatus"),
        ("pid", &c.pid),
        ("from_id", &c.pid),
        ("node", &o.node),
        ("cn", &o.client),
    ]);
    let one = frame(&text::encode(&req).map_err(|e| e.to_string())?);
    let written = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut w = c.s.try_clone().map_err(|e| e.to_string())?;
    let (wn, st, n) = (written.clone(), stop.clone(), o.count);
    // Blocking writes: the daemon may stop reading us; shutting the socket down at the end
    // unblocks the writer.
    let writer = std::thread::spawn(move || {
        let mut k = 0;
        while k < n && !st.load(Ordering::SeqCst) {
            if w.write_all(&one).is_err() {
                break;
            }
            k += 1;
            wn.store(k, Ordering::SeqCst);
        }
    });
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(o.seconds);
    let mut answers = 0;
    while Instant::now() < end && answers < o.count {
        if c.read(end.saturating_duration_since(Instant::now()))
            .is_some()
        {
            answers += 1;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let _ = c.s.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    println!(
        "BURST written={} answers={answers} secs={:.1}",
        written.load(Ordering::SeqCst),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
