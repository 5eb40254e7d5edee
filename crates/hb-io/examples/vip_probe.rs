//! vip_probe: the lab client's measuring tool (compat-tests/lib.sh, demo.sh), built on this
//! crate's ICMP socket and the standard library's TCP, so the tests and the demo measure with
//! the project's own code and need neither a particular `ping` nor `nc`.
//!
//!   vip_probe ping ADDR [--interval-ms N] [--tcp PORT] [--for-s S]
//!       An echo request to ADDR every N ms (20) until SIGINT/SIGTERM or S seconds (150). One
//!       line per reply on stdout, in the form `ping -D` prints (the lab's parsers read it):
//!       `[EPOCH.MICROS] 64 bytes from ADDR: icmp_seq=N time=T ms`. With --tcp, a second thread
//!       also connects to ADDR:PORT every 100 ms and prints what the service answered:
//!       `[EPOCH.MICROS] tcp ADDR:PORT: TEXT` (failed attempts print nothing).
//!   vip_probe tcp ADDR PORT [--timeout-ms N]
//!       One connection: prints the first line the service sends; exit 1 (with the reason on
//!       stderr) when it cannot connect or nothing arrives within N ms (1000).
//!   vip_probe serve PORT TEXT
//!       The demo's service: answers `TEXT\n` to every connection on 0.0.0.0:PORT, until killed.
//!
//! SIGINT and SIGTERM end it at once (their default action, even when started ignoring SIGINT as
//! a script's background job is).
//!
//! Needs root or a ping_group_range that admits the caller for the ICMP socket (it tries the
//! unprivileged ping socket first, then a raw one).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_io::icmp::{packet_buffer, IcmpMode, IcmpSocket};
use mio::{Events, Poll, Token};

fn usage() -> ExitCode {
    eprintln!(
        "usage: vip_probe ping ADDR [--interval-ms N] [--tcp PORT] [--for-s S]\n       \
         vip_probe tcp ADDR PORT [--timeout-ms N]\n       vip_probe serve PORT TEXT"
    );
    ExitCode::from(2)
}

/// Wall-clock time as `ping -D` prints it: seconds and microseconds since the epoch.
fn stamp() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("[{}.{:06}]", t.as_secs(), t.subsec_micros())
}

/// `--name value` options after the positional arguments.
fn option(args: &[String], name: &str) -> Result<Option<u64>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn main() -> ExitCode {
    // A background job of a shell script starts with SIGINT ignored; the lab stops the client
    // with SIGINT (as it stopped `ping`), so take the default action back.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: restoring a default disposition before any thread exists.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ping") if args.len() >= 2 => ping(&args[1], &args[2..]),
        Some("tcp") if args.len() >= 3 => tcp_once(&args[1], &args[2], &args[3..]),
        Some("serve") if args.len() == 3 => serve(&args[1], &args[2]),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vip_probe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ping(addr: &str, opts: &[String]) -> Result<(), String> {
    let to: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("not an IPv4 address: {addr}"))?;
    let interval = Duration::from_millis(option(opts, "--interval-ms")?.unwrap_or(20).max(1));
    let limit = Duration::from_secs(option(opts, "--for-s")?.unwrap_or(150));
    if let Some(port) = option(opts, "--tcp")? {
        let port = u16::try_from(port).map_err(|_| format!("bad port {port}"))?;
        let deadline = Instant::now() + limit;
        std::thread::spawn(move || tcp_watch(SocketAddr::from((to, port)), deadline));
    }
    let sock = IcmpSocket::open(IcmpMode::Auto).map_err(|e| e.to_string())?;
    let mut poll = Poll::new().map_err(|e| format!("poll: {e}"))?;
    sock.register(poll.registry(), Token(0))
        .map_err(|e| format!("register: {e}"))?;
    let mut events = Events::with_capacity(8);
    let mut buf = packet_buffer();
    let mut sent: Vec<Option<Instant>> = vec![None; 1 << 16];
    let start = Instant::now();
    let mut next = start;
    let mut seq: u16 = 0;
    let out = std::io::stdout();
    loop {
        let now = Instant::now();
        if now >= start + limit {
            return Ok(());
        }
        if now >= next {
            // A send error (no route while the address moves) is a lost request, as for ping.
            if sock.send_echo(to, seq, b"vip_probe").is_ok() {
                sent[usize::from(seq)] = Some(now);
            }
            seq = seq.wrapping_add(1);
            next += interval;
            if next < now {
                next = now + interval;
            }
        }
        let wait = next.saturating_duration_since(Instant::now());
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        if events.is_empty() {
            continue;
        }
        let mut lines = String::new();
        sock.recv_all(&mut buf, |r| {
            if r.from != to {
                return;
            }
            let rtt = sent[usize::from(r.seq)]
                .map(|t| t.elapsed().as_secs_f64() * 1000.0)
                .unwrap_or(0.0);
            lines.push_str(&format!(
                "{} 64 bytes from {}: icmp_seq={} time={:.3} ms\n",
                stamp(),
                r.from,
                r.seq,
                rtt
            ));
        })
        .map_err(|e| format!("receive: {e}"))?;
        if !lines.is_empty() {
            let mut o = out.lock();
            // stdout is a file in the lab; a reader parses it while we run.
            let _ = o.write_all(lines.as_bytes());
            let _ = o.flush();
        }
    }
}

/// What the service at `to` says on one connection (its first line), within `timeout`.
fn ask(to: SocketAddr, timeout: Duration) -> Result<String, String> {
    let s = TcpStream::connect_timeout(&to, timeout).map_err(|e| format!("connect {to}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| format!("set timeout: {e}"))?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| format!("read from {to}: {e}"))?;
    let line = line.trim_end().to_string();
    if line.is_empty() {
        return Err(format!("{to} closed the connection without a word"));
    }
    Ok(line)
}

fn tcp_watch(to: SocketAddr, deadline: Instant) {
    while Instant::now() < deadline {
        let t = Instant::now();
        if let Ok(text) = ask(to, Duration::from_millis(200)) {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{} tcp {to}: {text}", stamp());
            let _ = o.flush();
        }
        std::thread::sleep(Duration::from_millis(100).saturating_sub(t.elapsed()));
    }
}

fn tcp_once(addr: &str, port: &str, opts: &[String]) -> Result<(), String> {
    let ip: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("not an IPv4 address: {addr}"))?;
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let timeout = Duration::from_millis(option(opts, "--timeout-ms")?.unwrap_or(1000));
    println!("{}", ask(SocketAddr::from((ip, port)), timeout)?);
    Ok(())
}

fn serve(port: &str, text: &str) -> Result<(), String> {
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let l = TcpListener::bind(("0.0.0.0", port)).map_err(|e| format!("listen on {port}: {e}"))?;
    for c in l.incoming() {
        // One short answer per connection; a client that went away is not our problem.
        if let Ok(mut c) = c {
            let _ = c.set_write_timeout(Some(Duration::from_millis(500)));
            let _ = writeln!(c, "{text}");
        }
    }
    Ok(())
}
