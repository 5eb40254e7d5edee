//! `send_arp`: heartbeat 2.0.8's gratuitous-ARP program, with its command line.
//!
//! ```text
//! send_arp [-i repeatinterval-ms] [-r repeatcount] [-p pidfile] \
//!          device src_ip_addr src_hw_addr broadcast_ip_addr netmask
//! ```
//!
//! IPaddr and SendArp scripts (and admins' own scripts) run it in the background; it
//! sends `repeatcount` pairs (default 1) of an ARP request and an ARP reply announcing
//! `src_ip_addr` at `src_hw_addr` (`auto`: the device's own address), half the
//! interval (default 1000 ms) after each packet except the last, then exits 0. The
//! packets are those [`crate::arp`] sends for our agents (broadcast from the device's
//! address). `broadcast_ip_addr` and `netmask` are read and ignored, as in 2.0.8.
//!
//! The pid file (default `/var/run/heartbeat/rsctmp/send_arp/send_arp-<ip>`, its
//! directory made if missing) holds our pid while we send and is removed at the end.
//! If it already names a process, that process is killed first (a previous send_arp for
//! the same address) and the file replaced.
//!
//! Exit statuses as 2.0.8: 0 sent; 1 for a usage error (the usage text on stderr), a
//! pid file that cannot be written, an address that does not resolve, a device that
//! does not exist or has no hardware address, a failed send, and a repeat count of 0 or
//! less (nothing sent). SIGTERM ends it with status 0.
//!
//! Differences from 2.0.8's program:
//! - The old process named in an existing pid file is killed only if it is a sender
//!   (its command name is `send_arp`, as [`crate::state::is_sender`] checks); 2.0.8
//!   sent SIGKILL to whatever pid the file held (pid 0 meant its own process group).
//! - A device written with an alias label (`eth0:0`) sends on the device (`eth0`).
//! - `src_hw_addr` with colons (`02:00:00:00:00:09`) is read as written: 2.0.8 skipped
//!   a colon only when the address began with one (`:02:00:...`), so it announced
//!   `02:00:00:00:00:00` for that address (seen with the original in
//!   `tests/compare.rs`). One that is not six hex pairs is refused (2.0.8 read
//!   garbage). Messages are in our words, on stderr and to syslog (facility user).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, ToSocketAddrs};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::arp::{packet, Sender};

/// Where the pid file goes when `-p` is not given: this directory, `send_arp-<ip>`.
pub const DEFAULT_PIDDIR: &str = "/var/run/heartbeat/rsctmp/send_arp";

/// The synopsis printed on a usage error.
pub const USAGE: &str = "usage: send_arp [-i repeatinterval-ms] [-r repeatcount] [-p pidfile] \\\n              device src_ip_addr src_hw_addr broadcast_ip_addr netmask";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Args {
    pub interval_ms: i64,
    pub count: i64,
    pub pidfile: Option<String>,
    pub device: String,
    pub ip: String,
    pub mac: String,
    pub broadcast: String,
    pub netmask: String,
}

/// Why the command line was refused (the message getopt prints, if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub Option<String>);

/// C's `atol`: blanks, a sign, digits; anything else ends the number (none: 0).
pub fn atol(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// Parses the arguments after the program name as glibc's `getopt(argc, argv, "i:r:p:")`
/// does: options may come anywhere (they are permuted in front), an option's value may
/// be attached (`-i500`) or the next argument, `--` ends the options, and exactly five
/// other arguments must remain.
pub fn parse(args: &[String]) -> Result<Args, UsageError> {
    let mut interval_ms = 1000;
    let mut count = 1;
    let mut pidfile = None;
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.extend(it.by_ref().cloned());
            break;
        }
        let Some(opts) = a.strip_prefix('-').filter(|o| !o.is_empty()) else {
            rest.push(a.clone());
            continue;
        };
        // Every option takes a value, so the first letter decides and the rest of the
        // word, if any, is its value (`-i500`; `-ir` is -i with the value "r").
        let c = opts.chars().next().unwrap_or('?');
        if !matches!(c, 'i' | 'r' | 'p') {
            return Err(UsageError(Some(format!(
                "send_arp: invalid option -- '{c}'"
            ))));
        }
        let attached = &opts[c.len_utf8()..];
        let value = if attached.is_empty() {
            match it.next() {
                Some(v) => v.clone(),
                None => {
                    return Err(UsageError(Some(format!(
                        "send_arp: option requires an argument -- '{c}'"
                    ))))
                }
            }
        } else {
            attached.to_string()
        };
        match c {
            'i' => interval_ms = atol(&value),
            'r' => count = atol(&value).clamp(i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => pidfile = Some(value),
        }
    }
    let [device, ip, mac, broadcast, netmask]: [String; 5] =
        rest.try_into().map_err(|_| UsageError(None))?;
    Ok(Args {
        interval_ms,
        count,
        pidfile,
        device,
        ip,
        mac,
        broadcast,
        netmask,
    })
}

/// A hardware address: six pairs of hex digits, each pair optionally preceded by a colon
/// (`00a0cc34a878`, `00:a0:cc:34:a8:78`, 2.0.8's old style `:00:a0:cc:34:a8:78`).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut mac = [0u8; 6];
    for byte in &mut mac {
        if b.get(pos) == Some(&b':') {
            pos += 1;
        }
        let pair = std::str::from_utf8(b.get(pos..pos + 2)?).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
        pos += 2;
    }
    (pos == b.len()).then_some(mac)
}

/// The address to announce: a dotted quad, else a host name resolved to IPv4.
pub fn resolve(s: &str) -> Option<Ipv4Addr> {
    if let Some(a) = crate::ipv4::parse(s) {
        return Some(a);
    }
    (s, 0).to_socket_addrs().ok()?.find_map(|a| match a {
        std::net::SocketAddr::V4(v4) => Some(*v4.ip()),
        std::net::SocketAddr::V6(_) => None,
    })
}

/// The pid file for `args`.
pub fn pidfile_path(args: &Args) -> PathBuf {
    match &args.pidfile {
        Some(p) => PathBuf::from(p),
        None => Path::new(DEFAULT_PIDDIR).join(format!("send_arp-{}", args.ip)),
    }
}

fn report(text: &str) {
    let _ = writeln!(io::stderr(), "send_arp: ERROR: {text}");
    // What openlog("send_arp", LOG_PID, LOG_USER) and syslog(LOG_ERR, ...) send.
    let ident = format!("send_arp[{}]", std::process::id());
    let msg = format!("ERROR: {text}");
    hb_log::sink::syslog_once(hb_log::Facility::USER, &ident, hb_log::Level::Error, &msg);
}

fn read_pid(path: &Path) -> Option<u32> {
    let mut s = String::new();
    fs::File::open(path).ok()?.read_to_string(&mut s).ok()?;
    s.trim().parse::<u32>().ok()
}

/// Writes our pid into `path` (absolute; its directory is made, mode 0750, if missing),
/// replacing and stopping a previous sender named there.
pub fn write_pidfile(path: &Path, me: u32) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!(
            "invalid pid file name [{}]: it must begin with '/'",
            path.display()
        ));
    }
    if let Some(dir) = path.parent() {
        if !dir.is_dir() {
            if dir.exists() {
                return Err(format!(
                    "pid file directory [{}] exists but is not a directory",
                    dir.display()
                ));
            }
            match fs::DirBuilder::new().mode(0o750).create(dir) {
                Ok(()) => {}
                Err(_) if dir.is_dir() => {}
                Err(e) => {
                    return Err(format!(
                        "cannot create pid file directory [{}]: {e}",
                        dir.display()
                    ))
                }
            }
        }
    }
    for _ in 0..100 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(mut f) => {
                return f
                    .write_all(me.to_string().as_bytes())
                    .map_err(|e| format!("cannot write pid file [{}]: {e}", path.display()));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let old = read_pid(path);
                if let Err(e) = fs::remove_file(path) {
                    if e.kind() != io::ErrorKind::NotFound {
                        return Err(format!("cannot remove pid file [{}]: {e}", path.display()));
                    }
                }
                if let Some(pid) = old.filter(|&p| p > 1 && p != me && crate::state::is_sender(p)) {
                    // SAFETY: kill(2) on a pid checked to be a running send_arp.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    let _ = writeln!(
                        io::stderr(),
                        "send_arp: killed old send_arp process [{pid}]"
                    );
                }
            }
            Err(e) => return Err(format!("cannot open pid file [{}]: {e}", path.display())),
        }
    }
    Err(format!(
        "cannot create pid file [{}]: it keeps coming back",
        path.display()
    ))
}

extern "C" fn on_term(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

/// The device to send on: an alias label `eth0:0` means `eth0`.
pub fn base_device(dev: &str) -> &str {
    dev.split(':').next().unwrap_or(dev)
}

/// The program: returns the exit status.
pub fn run(args: &[String]) -> i32 {
    let a = match parse(args) {
        Ok(a) => a,
        Err(UsageError(msg)) => {
            if let Some(m) = msg {
                let _ = writeln!(io::stderr(), "{m}");
            }
            let _ = writeln!(io::stderr(), "{USAGE}\n");
            return 1;
        }
    };
    // SAFETY: installs a handler that only calls _exit; names the process `send_arp` (as
    // when run through a link of that name) so that agents stopping it recognise it.
    unsafe {
        libc::signal(libc::SIGTERM, on_term as *const () as libc::sighandler_t);
        libc::prctl(
            libc::PR_SET_NAME,
            c"send_arp".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    let pidfile = pidfile_path(&a);
    if let Err(e) = write_pidfile(&pidfile, std::process::id()) {
        report(&e);
        return 1;
    }
    let rc = announce(&a);
    let _ = fs::remove_file(&pidfile);
    rc
}

fn announce(a: &Args) -> i32 {
    let Some(ip) = resolve(&a.ip) else {
        report(&format!("cannot resolve IP address [{}]", a.ip));
        return 1;
    };
    let dev = base_device(&a.device);
    let link = match crate::agent::snapshot() {
        Ok((_, snap)) => snap.link(dev).cloned(),
        Err(e) => {
            report(&format!("cannot read the interfaces: {e}"));
            return 1;
        }
    };
    let Some(link) = link else {
        report(&format!("no such network interface [{dev}]"));
        return 1;
    };
    let mac = if a.mac.eq_ignore_ascii_case("auto") {
        match <[u8; 6]>::try_from(link.mac.as_slice()) {
            Ok(m) => m,
            Err(_) => {
                report(&format!("cannot find mac address for {dev}"));
                return 1;
            }
        }
    } else {
        match parse_mac(&a.mac) {
            Some(m) => m,
            None => {
                report(&format!("bad hardware address [{}]", a.mac));
                return 1;
            }
        }
    };
    if a.count <= 0 {
        return 1;
    }
    let sender = match Sender::open(link.index) {
        Ok(s) => s,
        Err(e) => {
            report(&format!("cannot open a packet socket on {dev}: {e}"));
            return 1;
        }
    };
    let half = Duration::from_millis(u64::try_from(a.interval_ms.max(0) / 2).unwrap_or(0));
    for j in 0..a.count {
        for reply in [false, true] {
            if let Err(e) = sender.send(&packet(mac, ip, reply)) {
                report(&format!("cannot send an ARP packet on {dev}: {e}"));
                return 1;
            }
            if !reply || j + 1 != a.count {
                std::thread::sleep(half);
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_call_the_agents_make() {
        let a = parse(&v(&[
            "-i",
            "500",
            "-r",
            "10",
            "-p",
            "/run/resource-agents/send_arp-198.51.100.254",
            "eth0",
            "198.51.100.254",
            "auto",
            "198.51.100.254",
            "ffffffffffff",
        ]))
        .unwrap();
        assert_eq!(a.interval_ms, 500);
        assert_eq!(a.count, 10);
        assert_eq!(
            pidfile_path(&a),
            PathBuf::from("/run/resource-agents/send_arp-198.51.100.254")
        );
        assert_eq!(
            (a.device.as_str(), a.ip.as_str(), a.mac.as_str()),
            ("eth0", "198.51.100.254", "auto")
        );
        assert_eq!(a.broadcast, "198.51.100.254");
        assert_eq!(a.netmask, "ffffffffffff");
    }

    #[test]
    fn defaults_and_getopt_forms() {
        let a = parse(&v(&["eth0", "192.0.2.1", "auto", "x", "y"])).unwrap();
        assert_eq!((a.interval_ms, a.count, a.pidfile.clone()), (1000, 1, None));
        assert_eq!(
            pidfile_path(&a),
            PathBuf::from("/var/run/heartbeat/rsctmp/send_arp/send_arp-192.0.2.1")
        );
        // Attached values, options after the operands (glibc permutes), "--".
        let a = parse(&v(&[
            "eth0",
            "-i250",
            "192.0.2.1",
            "-r3",
            "auto",
            "x",
            "y",
            "-p/tmp/p",
        ]))
        .unwrap();
        assert_eq!((a.interval_ms, a.count), (250, 3));
        assert_eq!(a.pidfile.as_deref(), Some("/tmp/p"));
        assert_eq!(a.ip, "192.0.2.1");
        let a = parse(&v(&["-r", "2", "--", "eth0", "-x", "auto", "x", "y"])).unwrap();
        assert_eq!((a.count, a.ip.as_str()), (2, "-x"));
        // atol/atoi: garbage is 0, trailing garbage ignored, negative kept.
        let a = parse(&v(&["-i", "abc", "-r", "-4", "e", "i", "m", "b", "n"])).unwrap();
        assert_eq!((a.interval_ms, a.count), (0, -4));
        assert_eq!(atol("  12x"), 12);
        assert_eq!(atol("+7"), 7);
        assert_eq!(atol(""), 0);
    }

    #[test]
    fn usage_errors() {
        assert_eq!(
            parse(&v(&["eth0", "1.2.3.4", "auto", "x"])),
            Err(UsageError(None))
        );
        assert_eq!(
            parse(&v(&["eth0", "1.2.3.4", "auto", "x", "y", "z"])),
            Err(UsageError(None))
        );
        assert_eq!(
            parse(&v(&["-x", "eth0", "1.2.3.4", "auto", "x", "y"])),
            Err(UsageError(Some("send_arp: invalid option -- 'x'".into())))
        );
        assert_eq!(
            parse(&v(&["eth0", "1.2.3.4", "auto", "x", "y", "-i"])),
            Err(UsageError(Some(
                "send_arp: option requires an argument -- 'i'".into()
            )))
        );
        // A lone "-" is an operand.
        assert!(parse(&v(&["-", "1.2.3.4", "auto", "x", "y"])).is_ok());
    }

    #[test]
    fn hardware_addresses() {
        let m = [0x00, 0xa0, 0xcc, 0x34, 0xa8, 0x78];
        assert_eq!(parse_mac("00a0cc34a878"), Some(m));
        assert_eq!(parse_mac("00:a0:cc:34:a8:78"), Some(m));
        assert_eq!(parse_mac("00:A0:CC:34:A8:78"), Some(m));
        assert_eq!(parse_mac(":00:a0:cc:34:a8:78"), Some(m));
        assert_eq!(parse_mac("00a0cc34a8"), None);
        assert_eq!(parse_mac("00a0cc34a87812"), None);
        assert_eq!(parse_mac("zz:a0:cc:34:a8:78"), None);
        assert_eq!(parse_mac("00::a0cc34a878"), None);
    }

    #[test]
    fn devices_and_addresses() {
        assert_eq!(base_device("eth0:1"), "eth0");
        assert_eq!(base_device("eth0"), "eth0");
        assert_eq!(resolve("192.0.2.7"), Some(Ipv4Addr::new(192, 0, 2, 7)));
        assert_eq!(resolve("localhost"), Some(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn pid_file_replaces_a_stale_one() {
        let dir = std::env::temp_dir().join(format!("send-arp-pid-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("send_arp-192.0.2.1");
        // The directory is made.
        fs::create_dir_all(&dir).unwrap();
        write_pidfile(&path, 4242).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "4242");
        // A file naming a process that is not a sender (our own pid, pid 0) is replaced;
        // nothing is signalled.
        fs::write(&path, std::process::id().to_string()).unwrap();
        write_pidfile(&path, 4243).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "4243");
        fs::write(&path, "0").unwrap();
        write_pidfile(&path, 4244).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "4244");
        assert!(write_pidfile(Path::new("relative/p"), 1).is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
