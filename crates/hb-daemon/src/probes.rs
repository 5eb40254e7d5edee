//! Service-check probes (the `checks` file): TCP connects, HTTP GETs and commands, run from
//! the event loop without blocking it. The policy (when to probe, what a run of failures
//! means) is [`hb_core::checks::Checks`]; this module only performs probes and reports.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::time::Instant;

use hb_core::checks::{CheckId, CheckSpec, Checks};
use hb_log::{Level, Logger};
use hb_runner::{JobId as RunJob, JobSpec, Runner};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use ha_config::{Check, CheckKind};

/// Tokens `PROBE_BASE + check index` are the probes' sockets.
pub const PROBE_BASE: usize = 1 << 20;

enum Probe {
    /// Connecting (tcp), or connected and talking HTTP (`sent`, `buf`).
    Sock {
        stream: TcpStream,
        http: Option<(Vec<u8>, bool, Vec<u8>)>,
    },
    Exec(RunJob),
}

pub struct Probes {
    pub checks: Checks,
    specs: Vec<Check>,
    running: HashMap<usize, Probe>,
    pub runner: Runner,
}

impl Probes {
    pub fn new(specs: Vec<Check>, runner: Runner, now: Instant) -> Probes {
        let cs = specs
            .iter()
            .enumerate()
            .map(|(i, c)| CheckSpec {
                id: CheckId(i),
                group_key: c.group_key.clone(),
                label: c.label(),
                interval: c.interval,
                timeout: c.timeout,
                fall: c.fall,
                rise: c.rise,
                restarts: c.restarts,
            })
            .collect();
        Probes {
            checks: Checks::new(cs, now),
            specs,
            running: HashMap::new(),
            runner,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Starts due probes and cancels expired ones.
    pub fn advance(&mut self, now: Instant, registry: &Registry, log: &Logger) {
        while let Some(id) = self.checks.poll_expired(now) {
            self.cancel(id.0, registry);
        }
        while let Some((id, _deadline)) = self.checks.poll_probe(now) {
            if let Err(e) = self.start(id.0, registry) {
                log.log(
                    Level::Debug,
                    &format!("check {}: {e}", self.specs[id.0].label()),
                );
                self.checks.probe_done(now, id, false);
            }
        }
    }

    fn start(&mut self, i: usize, registry: &Registry) -> io::Result<()> {
        let Some(c) = self.specs.get(i) else {
            return Ok(());
        };
        match &c.kind {
            CheckKind::Tcp { .. } | CheckKind::Http { .. } => {
                let addr = c
                    .kind
                    .socket_addr()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
                let mut stream = TcpStream::connect(addr)?;
                registry.register(
                    &mut stream,
                    Token(PROBE_BASE + i),
                    Interest::WRITABLE | Interest::READABLE,
                )?;
                let http = match &c.kind {
                    CheckKind::Http { host, path, .. } => Some((
                        format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: heartbeat-check\r\nConnection: close\r\n\r\n")
                            .into_bytes(),
                        false,
                        Vec::new(),
                    )),
                    _ => None,
                };
                self.running.insert(i, Probe::Sock { stream, http });
            }
            CheckKind::Exec { command } => {
                let mut spec = JobSpec::new("/bin/sh");
                spec.args = vec!["-c".into(), command.clone()];
                let id = self.runner.spawn(spec)?;
                self.running.insert(i, Probe::Exec(id));
            }
        }
        Ok(())
    }

    fn cancel(&mut self, i: usize, registry: &Registry) {
        match self.running.remove(&i) {
            Some(Probe::Sock { mut stream, .. }) => {
                let _ = registry.deregister(&mut stream);
            }
            Some(Probe::Exec(job)) => {
                let _ = self.runner.kill(job, libc::SIGKILL);
            }
            None => {}
        }
    }

    /// A probe socket is ready.
    pub fn on_socket(&mut self, now: Instant, token: Token, registry: &Registry) {
        let i = token.0 - PROBE_BASE;
        let verdict = match self.running.get_mut(&i) {
            Some(Probe::Sock { stream, http }) => sock_progress(stream, http),
            _ => return,
        };
        if let Some(ok) = verdict {
            self.cancel(i, registry);
            self.checks.probe_done(now, CheckId(i), ok);
        }
    }

    /// Exec probes that ended.
    pub fn reap(&mut self, now: Instant) {
        for exit in self.runner.reap() {
            let found = self
                .running
                .iter()
                .find(|(_, p)| matches!(p, Probe::Exec(j) if *j == exit.id))
                .map(|(i, _)| *i);
            if let Some(i) = found {
                self.running.remove(&i);
                self.checks
                    .probe_done(now, CheckId(i), exit.status.success());
            }
        }
    }
}

/// Some(verdict) when the probe is over.
fn sock_progress(
    stream: &mut TcpStream,
    http: &mut Option<(Vec<u8>, bool, Vec<u8>)>,
) -> Option<bool> {
    if let Ok(Some(_)) | Err(_) = stream.take_error() {
        return Some(false);
    }
    match stream.peer_addr() {
        Ok(_) => {}
        Err(e)
            if e.kind() == io::ErrorKind::NotConnected
                || e.raw_os_error() == Some(libc::EINPROGRESS) =>
        {
            return None
        }
        Err(_) => return Some(false),
    }
    let Some((req, sent, buf)) = http.as_mut() else {
        return Some(true); // tcp: connected
    };
    if !*sent {
        match stream.write(req) {
            Ok(n) if n == req.len() => *sent = true,
            Ok(n) => {
                req.drain(..n);
                return None;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(_) => return Some(false),
        }
    }
    let mut chunk = [0u8; 512];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Some(http_ok(buf)),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.contains(&b'\n') || buf.len() > 1024 {
                    return Some(http_ok(buf));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(_) => return Some(false),
        }
    }
}

/// `HTTP/1.x NNN ...` with NNN in 200..=399.
pub fn http_ok(resp: &[u8]) -> bool {
    let line = resp.split(|b| *b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_whitespace();
    let proto = words.next().unwrap_or("");
    let code: u16 = words.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    proto.starts_with("HTTP/") && (200..400).contains(&code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_status_line() {
        assert!(super::http_ok(b"HTTP/1.1 200 OK\r\n"));
        assert!(super::http_ok(b"HTTP/1.0 302 Found\r\nLocation: /x\r\n"));
        assert!(!super::http_ok(b"HTTP/1.1 404 Not Found\r\n"));
        assert!(!super::http_ok(b"HTTP/1.1 500 oops\r\n"));
        assert!(!super::http_ok(b"SSH-2.0-OpenSSH\r\n"));
        assert!(!super::http_ok(b""));
    }
}
