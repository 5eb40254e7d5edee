//! Times IPaddr start and stop, ours against the original, in a network namespace.
//!
//!     cargo run --release -p hb-agents --example bench_ipaddr [RUNS]     (as root)
//!
//! Creates two namespaces (node and client, joined by a veth pair `eth0`, node
//! 198.51.100.1/24), enters the node's namespace itself (so no `ip netns exec` is in
//! the timing), and runs `IPaddr 198.51.100.10 start` then `stop` RUNS times (default
//! 20) with each implementation: heartbeat's /etc/ha.d/resource.d/IPaddr, and ours. For
//! ours this program is its own multi-call binary: a link named IPaddr to it runs the
//! same library entry as hb-ipagent. Each time is the wall time from spawning the
//! program to its exit (output to /dev/null), gratuitous ARP excluded (both send it in
//! the background).
//! Prints min/median/max per implementation and action. The namespaces are deleted at
//! the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADDR: &str = "198.51.100.10";
const ORIGINAL: &str = "/etc/ha.d/resource.d/IPaddr";

struct Lab {
    ns: String,
    client: String,
    dir: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.client])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let st = Command::new("ip")
        .args(args)
        .status()
        .map_err(|e| format!("ip: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("ip {args:?} failed"))
    }
}

fn setup() -> Result<Lab, String> {
    let base = format!("hbag-bench-{}", std::process::id());
    let lab = Lab {
        ns: format!("{base}-a"),
        client: format!("{base}-c"),
        dir: std::env::temp_dir().join(&base),
    };
    std::fs::create_dir_all(lab.dir.join("rsc")).map_err(|e| e.to_string())?;
    ip(&["netns", "add", &lab.ns])?;
    ip(&["netns", "add", &lab.client])?;
    ip(&[
        "link",
        "add",
        "eth0",
        "netns",
        &lab.ns,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &lab.client,
    ])?;
    ip(&[
        "-n",
        &lab.ns,
        "addr",
        "add",
        "198.51.100.1/24",
        "brd",
        "+",
        "dev",
        "eth0",
    ])?;
    ip(&[
        "-n",
        &lab.client,
        "addr",
        "add",
        "198.51.100.100/24",
        "dev",
        "eth0",
    ])?;
    for ns in [&lab.ns, &lab.client] {
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&["-n", ns, "link", "set", "eth0", "up"])?;
    }
    Ok(lab)
}

fn enter(ns: &str) -> Result<(), String> {
    let f = std::fs::File::open(Path::new("/run/netns").join(ns)).map_err(|e| e.to_string())?;
    use std::os::fd::AsRawFd;
    // SAFETY: setns on a namespace file we opened; the process is single-threaded here.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn time(prog: &Path, op: &str, rsc: &Path) -> Result<Duration, String> {
    // Output to /dev/null and only the exit awaited: the original's background send_arp
    // keeps its stderr open for seconds, which a pipe would count.
    let t = Instant::now();
    let st = Command::new(prog)
        .args([ADDR, op])
        .env("HA_RSCTMP", rsc)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{}: {e}", prog.display()))?;
    let d = t.elapsed();
    if !st.success() {
        return Err(format!("{} {op}: status {:?}", prog.display(), st.code()));
    }
    Ok(d)
}

fn stats(name: &str, v: &mut [Duration]) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if let (Some(min), Some(max)) = (v.first(), v.last()) {
        println!(
            "{name:<22} min {:7.2} ms   median {:7.2} ms   max {:7.2} ms   ({} runs)",
            ms(*min),
            ms(v[v.len() / 2]),
            ms(*max),
            v.len()
        );
    }
}

fn main() {
    // Called through the IPaddr link: be the agent.
    let argv: Vec<String> = std::env::args().collect();
    let me = argv
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or("").to_string());
    if me.as_deref() == Some("IPaddr") {
        std::process::exit(hb_agents::main_with(argv));
    }
    if let Err(e) = bench(argv.get(1).and_then(|n| n.parse().ok()).unwrap_or(20)) {
        eprintln!("bench_ipaddr: {e}");
        std::process::exit(1);
    }
}

fn bench(runs: usize) -> Result<(), String> {
    // SAFETY: geteuid has no memory effects.
    if unsafe { libc::geteuid() } != 0 {
        return Err("run as root (it makes network namespaces)".into());
    }
    let lab = setup()?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let ours = lab.dir.join("IPaddr");
    std::os::unix::fs::symlink(&exe, &ours).map_err(|e| e.to_string())?;
    enter(&lab.ns)?;
    let rsc = lab.dir.join("rsc");
    let mut impls: Vec<(&str, PathBuf)> = vec![("ours", ours)];
    if Path::new(ORIGINAL).exists() {
        impls.insert(0, ("original", PathBuf::from(ORIGINAL)));
    } else {
        println!("(original {ORIGINAL} not installed: timing ours only)");
    }
    println!("IPaddr {ADDR} start/stop in a network namespace, {runs} runs each");
    for (name, prog) in &impls {
        let (mut starts, mut stops) = (Vec::new(), Vec::new());
        // One untimed round to warm the caches.
        time(prog, "start", &rsc)?;
        time(prog, "stop", &rsc)?;
        for _ in 0..runs {
            starts.push(time(prog, "start", &rsc)?);
            stops.push(time(prog, "stop", &rsc)?);
        }
        stats(&format!("{name} start"), &mut starts);
        stats(&format!("{name} stop"), &mut stops);
    }
    if let Some(bin) = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("hb-ipagent"))
    {
        if let Ok(m) = std::fs::metadata(&bin) {
            println!("{}: {} bytes", bin.display(), m.len());
        }
    }
    Ok(())
}
