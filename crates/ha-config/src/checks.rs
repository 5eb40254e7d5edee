//! `/etc/ha.d/checks`: native service checks (our addition; the original never reads this
//! file, so the same /etc/ha.d serves both daemons).
//!
//! One check per line, comments and continuation lines as in haresources (`#` starts a
//! comment anywhere, a final `\` joins the next line without adding a blank):
//!
//! ```text
//! GROUP [OPTION=VALUE...] tcp HOST:PORT [OPTION=VALUE...]
//! GROUP [OPTION=VALUE...] http http://HOST[:PORT][/PATH] [OPTION=VALUE...]
//! GROUP [OPTION=VALUE...] exec COMMAND...
//! GROUP arp-refresh INTERVAL
//! ```
//!
//! `arp-refresh` is no check: while this node holds the group, the addresses of its IP
//! resources are announced again (gratuitous ARP) every INTERVAL (at least
//! [`MIN_ARP_REFRESH`]); at most one such line per group, no options.
//!
//! - GROUP names a haresources group: its first resource as written (the group's key),
//!   any other of its resources as written, or an IP address that one of its resources
//!   carries (`198.51.100.254` for `IPaddr::198.51.100.254/24/eth0`). A name that fits
//!   several groups is refused.
//! - Options (`interval`, `timeout`, `fall`, `rise`, `restarts`) may come between GROUP
//!   and the kind for every kind, and after the target for `tcp` and `http`. For `exec`
//!   everything after the word `exec` is the command, so its options go before `exec`.
//! - HOST is an IPv4 address, an IPv6 address in brackets (`[::1]:80`) or `localhost`:
//!   names are not looked up (a lookup could stall the daemon).
//! - Durations as in ha.cf (`2`, `1.5`, `500ms`); defaults [`DEFAULT_INTERVAL`],
//!   [`DEFAULT_TIMEOUT`], [`DEFAULT_FALL`], [`DEFAULT_RISE`], [`DEFAULT_RESTARTS`].
//!
//! A timeout not shorter than the interval is a warning (probes never overlap: a probe
//! that hangs delays the next one), not an error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use crate::diag::{ConfigErrors, Diagnostic};
use crate::hacf::parse_time;
use crate::haresources::{Group, Haresources};
use crate::lines::{is_blank, strip_comment, unsigned};

/// The file's name in the configuration directory.
pub const CHECKS_FILE: &str = "checks";
/// Time between the starts of two probes of a check.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// How long a probe may take before it counts as a failure.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Consecutive failures that make a check failing.
pub const DEFAULT_FALL: u32 = 3;
/// Consecutive successes that make a failing check ok again.
pub const DEFAULT_RISE: u32 = 2;
/// Local restarts of the group before it is handed to the peer.
pub const DEFAULT_RESTARTS: u32 = 0;

/// The option names, as written in the file (any case is accepted).
pub const OPTIONS: &[&str] = &["interval", "timeout", "fall", "rise", "restarts"];

/// What a check probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// A TCP connect to `host:port`. `host` is an IP address (IPv6 without brackets) or
    /// `localhost`.
    Tcp { host: String, port: u16 },
    /// An HTTP/1.0 `GET path` to `host:port`, healthy when answered 2xx or 3xx. `url` is
    /// as written; `path` starts with `/` (and keeps any `?query`).
    Http {
        url: String,
        host: String,
        port: u16,
        path: String,
    },
    /// A command run by the shell; exit status 0 is healthy.
    Exec { command: String },
}

impl CheckKind {
    /// The address to connect to (`tcp` and `http`; `localhost` is 127.0.0.1).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let (host, port) = match self {
            CheckKind::Tcp { host, port } => (host, *port),
            CheckKind::Http { host, port, .. } => (host, *port),
            CheckKind::Exec { .. } => return None,
        };
        host_ip(host).map(|ip| SocketAddr::new(ip, port))
    }

    /// How the check is named in logs and status: `tcp 127.0.0.1:12345`,
    /// `http http://127.0.0.1/health`, `exec /usr/local/bin/probe`.
    pub fn label(&self) -> String {
        match self {
            CheckKind::Tcp { host, port } if host.contains(':') => format!("tcp [{host}]:{port}"),
            CheckKind::Tcp { host, port } => format!("tcp {host}:{port}"),
            CheckKind::Http { url, .. } => format!("http {url}"),
            CheckKind::Exec { command } => format!("exec {command}"),
        }
    }
}

/// The shortest `arp-refresh` interval (more often would flood the segment).
pub const MIN_ARP_REFRESH: Duration = Duration::from_secs(1);

/// A line `GROUP arp-refresh INTERVAL`: while this node holds the group, the addresses
/// of its IP resources are announced again (gratuitous ARP) every INTERVAL, so a switch
/// or router with a stale entry recovers without a failover. Off without such a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpRefresh {
    pub line: usize,
    /// The group's key (its first resource as written in haresources).
    pub group_key: String,
    pub interval: Duration,
}

/// Everything the checks file says: service checks and ARP refresh lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChecksFile {
    pub checks: Vec<Check>,
    pub arp_refresh: Vec<ArpRefresh>,
}

/// What one line of the file is.
enum Line {
    Check(Check),
    Arp(ArpRefresh),
}

/// One line of the checks file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The line where the check is written (its first line when continued).
    pub line: usize,
    /// The key of the group it watches: the group's first resource as written in
    /// haresources, whatever name the line used.
    pub group_key: String,
    pub kind: CheckKind,
    pub interval: Duration,
    pub timeout: Duration,
    pub fall: u32,
    pub rise: u32,
    pub restarts: u32,
}

impl Check {
    /// The kind's label (see [`CheckKind::label`]).
    pub fn label(&self) -> String {
        self.kind.label()
    }
}

fn host_ip(host: &str) -> Option<IpAddr> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse::<IpAddr>().ok()
}

/// The logical lines: number of the first physical line, text with the comment removed
/// and continuation lines joined (as haresources is read), blank lines skipped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut start: Option<usize> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let body = strip_comment(raw);
        let first = *start.get_or_insert(i + 1);
        if let Some(head) = body.strip_suffix('\\') {
            acc.push_str(head);
            continue;
        }
        acc.push_str(body);
        if acc.chars().any(|c| !is_blank(c)) {
            out.push((first, std::mem::take(&mut acc)));
        }
        acc.clear();
        start = None;
    }
    if let Some(first) = start {
        if acc.chars().any(|c| !is_blank(c)) {
            out.push((first, acc));
        }
    }
    out
}

/// The blank-separated words of `s` with their byte offsets.
fn tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut begin: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match (is_blank(c), begin) {
            (true, Some(b)) => {
                if let Some(w) = s.get(b..i) {
                    out.push((b, w));
                }
                begin = None;
            }
            (false, None) => begin = Some(i),
            _ => {}
        }
    }
    if let Some(b) = begin {
        if let Some(w) = s.get(b..) {
            out.push((b, w));
        }
    }
    out
}

/// The group a line names, by key, by any resource as written, or by a carried IP address.
fn resolve_group<'a>(name: &str, h: &'a Haresources) -> Result<&'a Group, String> {
    if let Some(g) = h.groups.iter().find(|g| g.key() == name) {
        return Ok(g);
    }
    let by_spec: Vec<&Group> = h
        .groups
        .iter()
        .filter(|g| g.resources.iter().any(|r| r.spec == name))
        .collect();
    let ambiguous = |gs: &[&Group]| {
        let lines: Vec<String> = gs.iter().map(|g| g.line.to_string()).collect();
        format!(
            "'{name}' names several groups (haresources lines {}): name the group by its first resource",
            lines.join(", ")
        )
    };
    match by_spec.as_slice() {
        [g] => return Ok(g),
        [_, _, ..] => return Err(ambiguous(&by_spec)),
        [] => {}
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        let by_ip: Vec<&Group> = h
            .groups
            .iter()
            .filter(|g| {
                g.resources.iter().any(|r| {
                    r.args.iter().any(|a| {
                        a.split('/').next().and_then(|x| x.parse::<IpAddr>().ok()) == Some(ip)
                    })
                })
            })
            .collect();
        match by_ip.as_slice() {
            [g] => return Ok(g),
            [_, _, ..] => return Err(ambiguous(&by_ip)),
            [] => {}
        }
    }
    Err(format!(
        "unknown group '{name}': not a resource of haresources, nor an IP address one of its groups carries"
    ))
}

/// `HOST:PORT` of a tcp check or of a URL's authority (`default_port` when the URL has
/// none). Returns the host without brackets.
fn host_port(s: &str, default_port: Option<u16>) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else {
            return Err(format!("'{s}': missing ']' after the IPv6 address"));
        };
        if h.parse::<Ipv6Addr>().is_err() {
            return Err(format!("'{h}' is not an IPv6 address"));
        }
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("'{s}': expected ':PORT' after ']'")),
        };
        (h.to_string(), port)
    } else {
        let (h, p) = match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        if h.contains(':') {
            return Err(format!(
                "'{s}': write an IPv6 address in brackets ([::1]:PORT)"
            ));
        }
        if h.is_empty() {
            return Err(format!("'{s}': missing host"));
        }
        if host_ip(h).is_none() {
            return Err(format!(
                "host '{h}' is not an IP address (names are not looked up: write the address, or localhost)"
            ));
        }
        (h.to_string(), p)
    };
    let port = match (port, default_port) {
        (Some(p), _) => match unsigned(p) {
            Some(n) if (1..=65535).contains(&n) => n as u16,
            _ => return Err(format!("bad port '{p}' (1 to 65535)")),
        },
        (None, Some(d)) => d,
        (None, None) => return Err(format!("'{s}': missing ':PORT'")),
    };
    Ok((host, port))
}

fn parse_tcp(target: &str) -> Result<CheckKind, String> {
    let (host, port) = host_port(target, None).map_err(|e| format!("bad tcp target: {e}"))?;
    Ok(CheckKind::Tcp { host, port })
}

fn parse_http(url: &str) -> Result<CheckKind, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(format!(
            "'{url}': https is not supported (use tcp HOST:443 for a connect check, or exec with an HTTPS client)"
        ));
    }
    let Some(rest) = url.get(7..).filter(|_| lower.starts_with("http://")) else {
        return Err(format!(
            "bad URL '{url}': expected http://HOST[:PORT][/PATH]"
        ));
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.contains('@') {
        return Err(format!(
            "bad URL '{url}': user names and passwords are not supported"
        ));
    }
    let (host, port) =
        host_port(authority, Some(80)).map_err(|e| format!("bad URL '{url}': {e}"))?;
    let path = if path.is_empty() {
        "/".to_string()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok(CheckKind::Http {
        url: url.to_string(),
        host,
        port,
        path,
    })
}

/// The option values of one line.
struct Options {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    fall: Option<u32>,
    rise: Option<u32>,
    restarts: Option<u32>,
}

impl Options {
    fn set(&mut self, word: &str) -> Result<(), String> {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!("'{word}' is not an option (NAME=VALUE)"));
        };
        let lname = name.to_ascii_lowercase();
        if !OPTIONS.contains(&lname.as_str()) {
            return Err(format!(
                "unknown option '{name}' (options: {})",
                OPTIONS.join(", ")
            ));
        }
        let taken = match lname.as_str() {
            "interval" => self.interval.is_some(),
            "timeout" => self.timeout.is_some(),
            "fall" => self.fall.is_some(),
            "rise" => self.rise.is_some(),
            _ => self.restarts.is_some(),
        };
        if taken {
            return Err(format!("option '{lname}' given twice"));
        }
        match lname.as_str() {
            "interval" | "timeout" => {
                let d = match parse_time(value) {
                    Some(d) if !d.is_zero() => d,
                    Some(_) => return Err(format!("{lname} must be more than 0 (got '{value}')")),
                    None => {
                        return Err(format!(
                            "bad duration '{value}' for {lname} (seconds are written without a unit, as 2 or 1.5; milliseconds as 500ms)"
                        ))
                    }
                };
                if lname == "interval" {
                    self.interval = Some(d);
                } else {
                    self.timeout = Some(d);
                }
            }
            _ => {
                let min = if lname == "restarts" { 0 } else { 1 };
                let n = match unsigned(value).and_then(|n| u32::try_from(n).ok()) {
                    Some(n) if n >= min => n,
                    _ => {
                        return Err(format!(
                            "bad count '{value}' for {lname} (a whole number, at least {min})"
                        ))
                    }
                };
                match lname.as_str() {
                    "fall" => self.fall = Some(n),
                    "rise" => self.rise = Some(n),
                    _ => self.restarts = Some(n),
                }
            }
        }
        Ok(())
    }
}

fn looks_like_option(word: &str) -> bool {
    word.split_once('=')
        .is_some_and(|(n, _)| OPTIONS.contains(&n.to_ascii_lowercase().as_str()))
}

/// `GROUP arp-refresh INTERVAL` (`words` are the words after `arp-refresh`).
fn parse_arp_refresh(
    number: usize,
    group_key: Option<String>,
    options: bool,
    words: &[(usize, &str)],
    file: &str,
    d: &mut Vec<Diagnostic>,
) -> Option<Line> {
    let err = |d: &mut Vec<Diagnostic>, m: String| d.push(Diagnostic::error(file, Some(number), m));
    if options {
        err(
            d,
            "arp-refresh takes no options: write GROUP arp-refresh INTERVAL".into(),
        );
        return None;
    }
    let interval = match words {
        [(_, w)] => match parse_time(w) {
            Some(t) if t >= MIN_ARP_REFRESH => t,
            Some(_) => {
                err(
                    d,
                    format!(
                        "arp-refresh interval '{w}' is shorter than {} s (more often would flood the segment)",
                        MIN_ARP_REFRESH.as_secs()
                    ),
                );
                return None;
            }
            None => {
                err(d, format!("bad duration '{w}' for arp-refresh (seconds are written without a unit, as 30 or 1.5; milliseconds as 500ms)"));
                return None;
            }
        },
        [] => {
            err(
                d,
                "arp-refresh needs an interval: GROUP arp-refresh INTERVAL".into(),
            );
            return None;
        }
        [_, (_, w), ..] => {
            err(
                d,
                format!("unexpected '{w}' after the arp-refresh interval"),
            );
            return None;
        }
    };
    Some(Line::Arp(ArpRefresh {
        line: number,
        group_key: group_key?,
        interval,
    }))
}

/// Parses one logical line; pushes its diagnostics.
fn parse_line(
    number: usize,
    text: &str,
    file: &str,
    h: &Haresources,
    d: &mut Vec<Diagnostic>,
) -> Option<Line> {
    let err = |d: &mut Vec<Diagnostic>, m: String| d.push(Diagnostic::error(file, Some(number), m));
    let toks = tokens(text);
    let (_, group) = *toks.first()?;
    let group_key = match resolve_group(group, h) {
        Ok(g) => Some(g.key().to_string()),
        Err(m) => {
            err(d, m);
            None
        }
    };
    let mut opts = Options {
        interval: None,
        timeout: None,
        fall: None,
        rise: None,
        restarts: None,
    };
    let mut ok = group_key.is_some();
    let mut i = 1;
    while let Some((_, w)) = toks.get(i).filter(|(_, w)| w.contains('=')) {
        if let Err(m) = opts.set(w) {
            err(d, m);
            ok = false;
        }
        i += 1;
    }
    let Some((_, kind_word)) = toks.get(i) else {
        err(
            d,
            "missing check kind: expected tcp HOST:PORT, http URL or exec COMMAND".into(),
        );
        return None;
    };
    let kind_l = kind_word.to_ascii_lowercase();
    if kind_l == "arp-refresh" {
        return parse_arp_refresh(
            number,
            group_key,
            i > 1,
            toks.get(i + 1..).unwrap_or(&[]),
            file,
            d,
        );
    }
    let kind = match kind_l.as_str() {
        "tcp" | "http" => {
            let Some((_, target)) = toks.get(i + 1) else {
                let what = if kind_l == "tcp" {
                    "HOST:PORT"
                } else {
                    "a URL"
                };
                err(d, format!("{kind_l} needs {what}"));
                return None;
            };
            let kind = if kind_l == "tcp" {
                parse_tcp(target)
            } else {
                parse_http(target)
            };
            for (_, w) in toks.iter().skip(i + 2) {
                let r = if w.contains('=') {
                    opts.set(w)
                } else {
                    Err(format!(
                        "unexpected '{w}' after the {kind_l} target (only options NAME=VALUE may follow it)"
                    ))
                };
                if let Err(m) = r {
                    err(d, m);
                    ok = false;
                }
            }
            kind
        }
        "exec" => match toks.get(i + 1) {
            Some((at, _)) => {
                let command = text.get(*at..).unwrap_or("").trim_end_matches(is_blank);
                for (_, w) in toks
                    .iter()
                    .skip(i + 1)
                    .filter(|(_, w)| looks_like_option(w))
                {
                    d.push(Diagnostic::warning(
                        file,
                        Some(number),
                        format!(
                            "'{w}' is part of the exec command: options of an exec check go before the word exec"
                        ),
                    ));
                }
                Ok(CheckKind::Exec {
                    command: command.to_string(),
                })
            }
            None => Err("exec needs a command".to_string()),
        },
        _ => Err(format!(
            "unknown check kind '{kind_word}' (expected tcp, http or exec)"
        )),
    };
    let kind = match kind {
        Ok(k) => k,
        Err(m) => {
            err(d, m);
            return None;
        }
    };
    let interval = opts.interval.unwrap_or(DEFAULT_INTERVAL);
    let timeout = opts.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if ok && timeout >= interval {
        d.push(Diagnostic::warning(
            file,
            Some(number),
            format!(
                "timeout {}ms is not shorter than interval {}ms: probes never overlap, so a probe that hangs delays the next one",
                timeout.as_millis(),
                interval.as_millis()
            ),
        ));
    }
    let group_key = group_key?;
    ok.then(|| Check {
        line: number,
        group_key,
        kind,
        interval,
        timeout,
        fall: opts.fall.unwrap_or(DEFAULT_FALL),
        rise: opts.rise.unwrap_or(DEFAULT_RISE),
        restarts: opts.restarts.unwrap_or(DEFAULT_RESTARTS),
    })
    .map(Line::Check)
}

/// Parses the checks file's text against the groups of `haresources`. Returns the
/// checks (when there is no error) and every diagnostic, each naming `file` and its line.
pub fn parse_checks(
    text: &str,
    file: &str,
    haresources: &Haresources,
) -> (Option<Vec<Check>>, Vec<Diagnostic>) {
    let (f, d) = parse_checks_file(text, file, haresources);
    (f.map(|f| f.checks), d)
}

/// Parses the whole file: service checks and `arp-refresh` lines (at most one per group).
pub fn parse_checks_file(
    text: &str,
    file: &str,
    haresources: &Haresources,
) -> (Option<ChecksFile>, Vec<Diagnostic>) {
    let mut d = Vec::new();
    let mut out = ChecksFile::default();
    for (number, line) in logical_lines(text) {
        match parse_line(number, &line, file, haresources, &mut d) {
            Some(Line::Check(c)) => out.checks.push(c),
            Some(Line::Arp(a)) => {
                if let Some(first) = out.arp_refresh.iter().find(|x| x.group_key == a.group_key) {
                    d.push(Diagnostic::error(
                        file,
                        Some(number),
                        format!(
                            "a second arp-refresh line for {} (the first is line {})",
                            a.group_key, first.line
                        ),
                    ));
                } else {
                    out.arp_refresh.push(a);
                }
            }
            None => {}
        }
    }
    if d.iter().any(Diagnostic::is_error) {
        (None, d)
    } else {
        (Some(out), d)
    }
}

/// The diagnostics of `dir/checks` (none when the file does not exist): what
/// `heartbeat -t` reports about it.
pub fn check_file_diagnostics(dir: &Path, haresources: &Haresources) -> Vec<Diagnostic> {
    match read_checks(dir, haresources) {
        None => Vec::new(),
        Some((_, d)) => d,
    }
}

fn read_checks(
    dir: &Path,
    haresources: &Haresources,
) -> Option<(Option<ChecksFile>, Vec<Diagnostic>)> {
    let p = dir.join(CHECKS_FILE);
    if let Err(e) = std::fs::metadata(&p) {
        if e.kind() == std::io::ErrorKind::NotFound {
            return None;
        }
    }
    let mut d = Vec::new();
    let Some(text) = crate::read(dir, CHECKS_FILE, &mut d) else {
        return Some((None, d));
    };
    let (c, mut dd) = parse_checks_file(&text, CHECKS_FILE, haresources);
    d.append(&mut dd);
    Some((c, d))
}

/// Reads `dir/checks`: no file means no checks (`Ok(vec![])`); an unreadable file or any
/// error in it is refused with every error. Warnings are not returned (the config test
/// reports them, see [`check_file_diagnostics`]).
pub fn load_checks(dir: &Path, haresources: &Haresources) -> Result<Vec<Check>, ConfigErrors> {
    load_checks_file(dir, haresources).map(|f| f.checks)
}

/// Reads `dir/checks` with its `arp-refresh` lines (see [`load_checks`]).
pub fn load_checks_file(dir: &Path, haresources: &Haresources) -> Result<ChecksFile, ConfigErrors> {
    match read_checks(dir, haresources) {
        None => Ok(ChecksFile::default()),
        Some((Some(c), _)) => Ok(c),
        Some((None, d)) => Err(ConfigErrors(
            d.into_iter().filter(Diagnostic::is_error).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_tokens() {
        let l = logical_lines("a b # c\n\n  \\\n#x\nd e\\\nf\r\ng\\");
        assert_eq!(
            l,
            vec![
                (1, "a b ".to_string()),
                (5, "d ef".to_string()),
                (7, "g".to_string())
            ]
        );
        assert_eq!(tokens(" ab\tc  d"), vec![(1, "ab"), (4, "c"), (7, "d")]);
    }
}
