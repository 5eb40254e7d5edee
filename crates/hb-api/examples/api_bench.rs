//! api_bench: a load generator for the client API, and the heartbeat-interval analysis that
//! goes with it (compat-tests/bench-api.sh runs both).
//!
//! `api_bench [load] [--socket PATH] [--clients N] [--duration SECS] [--max-requests N]
//! [--timeout-ms MS] [--ready-timeout SECS]`
//!
//! Starts N worker processes (this program again, `api_bench worker ...`): a casual client
//! is known to the daemon by its pid, so every connection needs a process of its own. Each
//! worker signs on as a casual client (as cl_status does: the default `anon` entry admits
//! group haclient, so run this with that effective group), reports ready, and when all are
//! ready (or the ready timeout passed) they are told to go together. For SECS seconds each
//! then sends requests in turn, waiting for each answer: `nodestatus` of the peer node,
//! `nodelist`, `getparm keepalive`, `getrsc` (cl_status rscstatus). A request that gets no
//! good answer within the timeout counts as an error; a worker whose connection the daemon
//! closed stops. Prints a summary and one `RESULT key=value ...` line: total requests per
//! second, requests per second of each client (min, median, max), request latency
//! (p50, p99, max), errors, the wall-clock window of the load (`go_ms`, `end_ms`, Unix ms).
//! Bounded: at most 1000 clients, 600 s, `--max-requests` per client (default 10 000 000),
//! and workers that outlive the window by the timeout plus 10 s are killed.
//!
//! `api_bench jitter --pcap FILE --src IPV4 [--port 694] [--node NAME] [--from-ms A]
//! [--to-ms B] [--warn-ms 500]`
//!
//! Reads a capture (pcap, Ethernet, Linux cooked v1/v2 or raw IP link types, microsecond or
//! nanosecond time stamps), keeps the UDP datagrams from IPV4 with the port as source or
//! destination, decodes each as a heartbeat message (classic or netstring form, not
//! authenticated: only the type and sequence numbers are read), keeps the `t=status`
//! messages (of NAME when given; a message seen twice, same `hg` and `seq`, counts once)
//! whose time stamp lies in [A, B] Unix ms, and prints `JITTER key=value ...`: the number
//! of heartbeats and of intervals between consecutive ones, the intervals' p50, p99 and
//! max in ms, and how many exceed the warn time.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hb_api::client::HbApi;
use hb_api::socket::DEFAULT_PATH;

const MAX_CLIENTS: u32 = 1000;
const MAX_DURATION_S: u64 = 600;
/// Latencies kept per worker (beyond this a worker only counts).
const MAX_LATENCIES: usize = 1_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, rest) = match args.first().map(String::as_str) {
        Some("worker") => ("worker", args.get(1..).unwrap_or(&[])),
        Some("jitter") => ("jitter", args.get(1..).unwrap_or(&[])),
        Some("load") => ("load", args.get(1..).unwrap_or(&[])),
        _ => ("load", &args[..]),
    };
    let r = match mode {
        "worker" => Opts::parse(rest).and_then(|o| worker(&o)),
        "jitter" => JitterOpts::parse(rest).and_then(|o| jitter(&o)),
        _ => Opts::parse(rest).and_then(|o| load(&o)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api_bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn num<T: std::str::FromStr>(name: &str, v: Option<&String>) -> Result<T, String> {
    v.ok_or_else(|| format!("{name} needs a value"))?
        .parse()
        .map_err(|_| format!("{name}: not a number"))
}

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn ms(us: Option<u64>) -> String {
    us.map_or_else(|| "n/a".into(), |v| format!("{:.1}", v as f64 / 1000.0))
}

// ---------------------------------------------------------------------------------------
// Load

struct Opts {
    socket: PathBuf,
    clients: u32,
    duration: Duration,
    max_requests: u64,
    timeout: Duration,
    ready_timeout: Duration,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut o = Opts {
            socket: PathBuf::from(DEFAULT_PATH),
            clients: 100,
            duration: Duration::from_secs(10),
            max_requests: 10_000_000,
            timeout: Duration::from_millis(5000),
            ready_timeout: Duration::from_secs(30),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--socket" => {
                    o.socket = PathBuf::from(it.next().ok_or("--socket needs a value")?);
                }
                "--clients" => o.clients = num("--clients", it.next())?,
                "--duration" => o.duration = Duration::from_secs(num("--duration", it.next())?),
                "--max-requests" => o.max_requests = num("--max-requests", it.next())?,
                "--timeout-ms" => {
                    o.timeout = Duration::from_millis(num("--timeout-ms", it.next())?);
                }
                "--ready-timeout" => {
                    o.ready_timeout = Duration::from_secs(num("--ready-timeout", it.next())?);
                }
                _ => return Err(format!("unknown argument {a:?}")),
            }
        }
        if o.clients == 0 || o.clients > MAX_CLIENTS {
            return Err(format!("--clients must be 1..={MAX_CLIENTS}"));
        }
        if o.duration.is_zero() || o.duration.as_secs() > MAX_DURATION_S {
            return Err(format!("--duration must be 1..={MAX_DURATION_S} s"));
        }
        if o.timeout.is_zero() || o.timeout > Duration::from_secs(60) {
            return Err("--timeout-ms must be 1..=60000".into());
        }
        if o.ready_timeout.is_zero() || o.ready_timeout > Duration::from_secs(300) {
            return Err("--ready-timeout must be 1..=300 s".into());
        }
        Ok(o)
    }

    fn worker_args(&self) -> Vec<String> {
        vec![
            "worker".into(),
            "--socket".into(),
            self.socket.to_string_lossy().into_owned(),
            "--duration".into(),
            self.duration.as_secs().to_string(),
            "--max-requests".into(),
            self.max_requests.to_string(),
            "--timeout-ms".into(),
            self.timeout.as_millis().to_string(),
        ]
    }
}

/// One line of text without line breaks.
fn flat(s: &str) -> String {
    s.replace(['\n', '\r'], "; ")
}

const KINDS: [&str; 4] = ["nodestatus", "nodelist", "getparm", "getrsc"];

/// One worker: sign on, say `ready`, wait for `go` on stdin, run the requests, report.
fn worker(o: &Opts) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut h = HbApi::new();
    h.set_timeout(Some(o.timeout));
    let t = Instant::now();
    if !h.signon(&o.socket, None) {
        let _ = writeln!(out, "ready fail {}", flat(h.errmsg()));
        let _ = out.flush();
        return Ok(());
    }
    let signon_us = t.elapsed().as_micros() as u64;
    let me = h.mynodeid().to_string();
    let peer = h
        .nodelist()
        .and_then(|l| l.into_iter().find(|n| *n != me))
        .unwrap_or_else(|| me.clone());
    if h.disconnected() {
        let _ = writeln!(
            out,
            "ready fail the daemon closed the connection after sign-on"
        );
        let _ = out.flush();
        return Ok(());
    }
    let _ = writeln!(out, "ready ok");
    let _ = out.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim() != "go" {
        h.signoff();
        return Ok(());
    }
    let start = Instant::now();
    let end = start + o.duration;
    let mut requests = 0u64;
    let mut errors = [0u64; KINDS.len()];
    let mut first_error = String::new();
    let mut lat: Vec<u32> = Vec::new();
    let mut gone = false;
    while requests < o.max_requests && Instant::now() < end {
        let kind = (requests % KINDS.len() as u64) as usize;
        let t = Instant::now();
        let ok = match kind {
            0 => h.node_status(&peer).is_some(),
            1 => h.nodelist().is_some_and(|l| !l.is_empty()),
            2 => h.get_parameter("keepalive").is_some(),
            _ => h.get_resources().is_some(),
        };
        let us = t.elapsed().as_micros();
        requests += 1;
        if lat.len() < MAX_LATENCIES {
            lat.push(u32::try_from(us).unwrap_or(u32::MAX));
        }
        if !ok {
            if let Some(e) = errors.get_mut(kind) {
                *e += 1;
            }
            if first_error.is_empty() {
                let why = h.errmsg();
                first_error = format!(
                    "{}: {}",
                    KINDS.get(kind).unwrap_or(&"?"),
                    if why.is_empty() { "no answer" } else { why }
                );
            }
        }
        if h.disconnected() {
            gone = true;
            break;
        }
    }
    let elapsed_us = start.elapsed().as_micros() as u64;
    if !gone {
        h.signoff();
    }
    let errs: Vec<String> = errors.iter().map(u64::to_string).collect();
    let _ = writeln!(
        out,
        "done requests={requests} errors={} elapsed_us={elapsed_us} signon_us={signon_us} gone={} err={}",
        errs.join(","),
        u8::from(gone),
        flat(&first_error)
    );
    let mut s = String::from("lat");
    for l in &lat {
        s.push(' ');
        s.push_str(&l.to_string());
    }
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
    Ok(())
}

/// What one worker reported.
#[derive(Default)]
struct Report {
    ready: bool,
    ready_text: String,
    done: bool,
    requests: u64,
    errors: Vec<u64>,
    elapsed_us: u64,
    signon_us: u64,
    gone: bool,
    err: String,
    lat: Vec<u64>,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

fn parse_report(ready_line: &str, rest: &str) -> Report {
    let mut r = Report {
        ready: ready_line.trim_end() == "ready ok",
        ready_text: ready_line.trim_end().to_string(),
        ..Report::default()
    };
    for line in rest.lines() {
        if let Some(d) = line.strip_prefix("done ") {
            r.done = true;
            r.requests = field(d, "requests")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            r.errors = field(d, "errors")
                .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
                .unwrap_or_default();
            r.elapsed_us = field(d, "elapsed_us")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            r.signon_us = field(d, "signon_us")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            r.gone = field(d, "gone") == Some("1");
            r.err = d
                .split_once(" err=")
                .map_or(String::new(), |(_, e)| e.to_string());
        } else if let Some(l) = line.strip_prefix("lat") {
            r.lat = l
                .split_ascii_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
        }
    }
    r
}

fn kill_all(children: &mut [Child]) {
    for c in children.iter_mut() {
        if matches!(c.try_wait(), Ok(None)) {
            let _ = c.kill();
        }
        let _ = c.wait();
    }
}

fn load(o: &Opts) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let wargs = o.worker_args();
    let mut children: Vec<Child> = Vec::new();
    let mut readers = Vec::new();
    let (tx, rx) = mpsc::channel::<usize>();
    let t_spawn = Instant::now();
    for i in 0..o.clients as usize {
        let mut child = match Command::new(&exe)
            .args(&wargs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                kill_all(&mut children);
                return Err(format!("cannot start worker {i}: {e}"));
            }
        };
        let Some(stdout) = child.stdout.take() else {
            children.push(child);
            kill_all(&mut children);
            return Err("worker without stdout".into());
        };
        children.push(child);
        let tx = tx.clone();
        readers.push(thread::spawn(move || {
            let mut rd = BufReader::new(stdout);
            let mut first = String::new();
            let _ = rd.read_line(&mut first);
            let _ = tx.send(i);
            let mut rest = String::new();
            let _ = rd.read_to_string(&mut rest);
            (first, rest)
        }));
    }
    drop(tx);
    // Every worker signed on (or gave up), or the ready timeout.
    let ready_deadline = Instant::now() + o.ready_timeout;
    let mut answered = 0usize;
    while answered < children.len() {
        let left = ready_deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(_) => answered += 1,
            Err(_) => break,
        }
    }
    let ready_after = t_spawn.elapsed();
    let not_ready = children.len() - answered;
    let go_ms = now_unix_ms();
    let go = Instant::now();
    for c in children.iter_mut() {
        if let Some(mut stdin) = c.stdin.take() {
            let _ = stdin.write_all(b"go\n");
        }
    }
    // Wait for the workers, bounded.
    let hard = go + o.duration + o.timeout + Duration::from_secs(10);
    let mut killed = 0usize;
    loop {
        let mut running = 0usize;
        for c in children.iter_mut() {
            if matches!(c.try_wait(), Ok(None)) {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        if Instant::now() >= hard {
            killed = running;
            kill_all(&mut children);
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    kill_all(&mut children);
    let end_ms = go_ms + o.duration.as_millis() as u64;
    let reports: Vec<Report> = readers
        .into_iter()
        .map(|r| {
            let (first, rest) = r.join().unwrap_or_default();
            parse_report(&first, &rest)
        })
        .collect();
    summarize(o, &reports, not_ready, killed, ready_after, go_ms, end_ms);
    Ok(())
}

fn summarize(
    o: &Opts,
    reports: &[Report],
    not_ready: usize,
    killed: usize,
    ready_after: Duration,
    go_ms: u64,
    end_ms: u64,
) {
    let signed_on = reports.iter().filter(|r| r.ready).count();
    let done: Vec<&Report> = reports.iter().filter(|r| r.done).collect();
    let failed: Vec<&Report> = reports
        .iter()
        .filter(|r| !r.ready && !r.ready_text.is_empty())
        .collect();
    let requests: u64 = done.iter().map(|r| r.requests).sum();
    let mut errors = vec![0u64; KINDS.len()];
    for r in &done {
        for (e, v) in errors.iter_mut().zip(&r.errors) {
            *e += v;
        }
    }
    let total_errors: u64 = errors.iter().sum();
    let window_us = done.iter().map(|r| r.elapsed_us).max().unwrap_or(0);
    let rps = if window_us > 0 {
        requests as f64 * 1e6 / window_us as f64
    } else {
        0.0
    };
    // Per client, in requests per second x 10 (one decimal kept through the integer sort).
    let mut per: Vec<u64> = done
        .iter()
        .filter(|r| r.elapsed_us > 0)
        .map(|r| r.requests * 10_000_000 / r.elapsed_us)
        .collect();
    per.sort_unstable();
    let rate =
        |v: Option<u64>| v.map_or_else(|| "n/a".into(), |x| format!("{:.1}", x as f64 / 10.0));
    let mut lat: Vec<u64> = done.iter().flat_map(|r| r.lat.iter().copied()).collect();
    lat.sort_unstable();
    let mut sig: Vec<u64> = done.iter().map(|r| r.signon_us).collect();
    sig.sort_unstable();
    let gone = done.iter().filter(|r| r.gone).count();

    println!(
        "api_bench: {} clients on {} for {} s (requests in turn: {})",
        o.clients,
        o.socket.display(),
        o.duration.as_secs(),
        KINDS.join(", ")
    );
    println!(
        "  signed on: {signed_on}/{} (all answered after {} ms; sign-on p50 {} ms, max {} ms); \
         sign-on failures {}, no answer {not_ready}",
        o.clients,
        ready_after.as_millis(),
        ms(pct(&sig, 50.0)),
        ms(sig.last().copied()),
        failed.len()
    );
    if let Some(f) = failed.first() {
        println!("  first sign-on failure: {}", f.ready_text);
    }
    println!(
        "  requests: {requests} in {:.2} s = {rps:.1}/s; per client min {} median {} max {} /s",
        window_us as f64 / 1e6,
        rate(per.first().copied()),
        rate(pct(&per, 50.0)),
        rate(per.last().copied())
    );
    println!(
        "  latency: p50 {} ms, p99 {} ms, max {} ms",
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 99.0)),
        ms(lat.last().copied())
    );
    let by_kind: Vec<String> = KINDS
        .iter()
        .zip(&errors)
        .map(|(k, e)| format!("{k} {e}"))
        .collect();
    println!(
        "  errors: {total_errors} ({}); connections closed by the daemon: {gone}; workers killed: {killed}",
        by_kind.join(", ")
    );
    if let Some(r) = done.iter().find(|r| !r.err.is_empty()) {
        println!("  first error: {}", r.err);
    }
    println!(
        "RESULT clients={} signed_on={signed_on} signon_failed={} not_ready={not_ready} \
         requests={requests} rps={rps:.1} client_min_rps={} client_median_rps={} client_max_rps={} \
         lat_p50_ms={} lat_p99_ms={} lat_max_ms={} errors={total_errors} gone={gone} killed={killed} \
         go_ms={go_ms} end_ms={end_ms}",
        o.clients,
        failed.len(),
        rate(per.first().copied()),
        rate(pct(&per, 50.0)),
        rate(per.last().copied()),
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 99.0)),
        ms(lat.last().copied()),
    );
}

// ---------------------------------------------------------------------------------------
// Jitter

struct JitterOpts {
    pcap: PathBuf,
    src: [u8; 4],
    port: u16,
    node: Option<String>,
    from_ms: u64,
    to_ms: u64,
    warn_ms: u64,
}

impl JitterOpts {
    fn parse(args: &[String]) -> Result<JitterOpts, String> {
        let mut pcap = None;
        let mut src = None;
        let mut o = JitterOpts {
            pcap: PathBuf::new(),
            src: [0; 4],
            port: 694,
            node: None,
            from_ms: 0,
            to_ms: u64::MAX,
            warn_ms: 500,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--pcap" => pcap = Some(PathBuf::from(it.next().ok_or("--pcap needs a value")?)),
                "--src" => {
                    let v = it.next().ok_or("--src needs a value")?;
                    let ip: std::net::Ipv4Addr =
                        v.parse().map_err(|_| format!("--src: {v:?} is not IPv4"))?;
                    src = Some(ip.octets());
                }
                "--port" => o.port = num("--port", it.next())?,
                "--node" => o.node = Some(it.next().ok_or("--node needs a value")?.clone()),
                "--from-ms" => o.from_ms = num("--from-ms", it.next())?,
                "--to-ms" => o.to_ms = num("--to-ms", it.next())?,
                "--warn-ms" => o.warn_ms = num("--warn-ms", it.next())?,
                _ => return Err(format!("unknown argument {a:?}")),
            }
        }
        o.pcap = pcap.ok_or("--pcap is required")?;
        o.src = src.ok_or("--src is required")?;
        Ok(o)
    }
}

fn u16_at(b: &[u8], i: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(i..i + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(s)
    } else {
        u16::from_be_bytes(s)
    })
}

fn u32_at(b: &[u8], i: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(i..i + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

/// One captured UDP datagram: time stamp (µs since the epoch) and payload.
struct Datagram<'a> {
    ts_us: u64,
    src: [u8; 4],
    sport: u16,
    dport: u16,
    payload: &'a [u8],
}

/// The IPv4 packet inside a link-layer frame of `linktype`.
fn ip_of(linktype: u32, frame: &[u8]) -> Option<&[u8]> {
    let (proto, off) = match linktype {
        // Ethernet, with at most one VLAN tag.
        1 => match u16_at(frame, 12, false)? {
            0x8100 => (u16_at(frame, 16, false)?, 18),
            p => (p, 14),
        },
        // Linux cooked capture v1 and v2.
        113 => (u16_at(frame, 14, false)?, 16),
        276 => (u16_at(frame, 0, false)?, 20),
        // Raw IP.
        12 | 101 | 228 => (0x0800, 0),
        _ => return None,
    };
    (proto == 0x0800).then(|| frame.get(off..)).flatten()
}

fn udp_of(ip: &[u8]) -> Option<([u8; 4], u16, u16, &[u8])> {
    let b0 = *ip.first()?;
    if b0 >> 4 != 4 || *ip.get(9)? != 17 {
        return None;
    }
    // Fragments other than a whole datagram are left out.
    if u16_at(ip, 6, false)? & 0x3fff != 0 {
        return None;
    }
    let ihl = usize::from(b0 & 0x0f) * 4;
    let total = usize::from(u16_at(ip, 2, false)?).min(ip.len());
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    let udp = ip.get(ihl..total)?;
    let sport = u16_at(udp, 0, false)?;
    let dport = u16_at(udp, 2, false)?;
    let ulen = usize::from(u16_at(udp, 4, false)?).clamp(8, udp.len());
    Some((src, sport, dport, udp.get(8..ulen)?))
}

/// The UDP datagrams of a pcap file (other packets are skipped; a truncated end is ignored).
fn datagrams(file: &[u8]) -> Result<Vec<Datagram<'_>>, String> {
    let magic = u32_at(file, 0, true).ok_or("not a pcap file (too short)")?;
    let (le, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        _ => return Err("not a pcap file (bad magic; pcapng is not read)".into()),
    };
    let linktype = u32_at(file, 20, le).ok_or("pcap header cut short")?;
    let mut out = Vec::new();
    let mut pos = 24usize;
    while let (Some(sec), Some(frac), Some(incl)) = (
        u32_at(file, pos, le),
        u32_at(file, pos + 4, le),
        u32_at(file, pos + 8, le),
    ) {
        let start = pos + 16;
        let Some(frame) = file.get(start..start.saturating_add(incl as usize)) else {
            break;
        };
        pos = start + frame.len();
        let frac_us = if nanos { frac / 1000 } else { frac };
        let ts_us = u64::from(sec) * 1_000_000 + u64::from(frac_us);
        if let Some((src, sport, dport, payload)) = ip_of(linktype, frame).and_then(udp_of) {
            out.push(Datagram {
                ts_us,
                src,
                sport,
                dport,
                payload,
            });
        }
    }
    Ok(out)
}

fn jitter(o: &JitterOpts) -> Result<(), String> {
    let bytes =
        std::fs::read(&o.pcap).map_err(|e| format!("cannot read {}: {e}", o.pcap.display()))?;
    let all = datagrams(&bytes)?;
    let (from_us, to_us) = (o.from_ms.saturating_mul(1000), o.to_ms.saturating_mul(1000));
    let mut seen = HashSet::new();
    let (mut dups, mut other, mut unparsed) = (0u64, 0u64, 0u64);
    let mut times = Vec::new();
    for d in all.iter().filter(|d| {
        d.src == o.src
            && (d.sport == o.port || d.dport == o.port)
            && d.ts_us >= from_us
            && d.ts_us <= to_us
    }) {
        let Ok((m, _)) = hb_wire::parse_unauthenticated(d.payload) else {
            unparsed += 1;
            continue;
        };
        let from_node = o.node.as_deref().map_or(true, |n| m.get("src") == Some(n));
        if m.get("t") != Some("status") || !from_node {
            other += 1;
            continue;
        }
        let key = (
            m.get("src").map(str::to_string),
            m.get_hex("hg"),
            m.get_hex("seq"),
        );
        if key.2.is_some() && !seen.insert(key) {
            dups += 1;
            continue;
        }
        times.push(d.ts_us);
    }
    times.sort_unstable();
    let mut iv: Vec<u64> = times
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some(b - a),
            _ => None,
        })
        .collect();
    iv.sort_unstable();
    let over = iv.iter().filter(|&&v| v > o.warn_ms * 1000).count();
    println!(
        "JITTER heartbeats={} intervals={} p50_ms={} p99_ms={} max_ms={} over_warn={over} warn_ms={} \
         dups={dups} other={other} unparsed={unparsed}",
        times.len(),
        iv.len(),
        ms(pct(&iv, 50.0)),
        ms(pct(&iv, 99.0)),
        ms(iv.last().copied()),
        o.warn_ms
    );
    Ok(())
}
