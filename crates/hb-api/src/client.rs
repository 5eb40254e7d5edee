//! The client side of the API, behaving as the original's client library (libhbclient of
//! 2.0.8) does where a caller can see it: the requests it sends, how it matches replies
//! (the next `hbapi-resp`, other messages queued for later), the order of list results
//! (the library keeps node and link lists newest first, so they come out reversed), and
//! the error text its `errmsg()` gives ([`HbApi::errmsg`]).
//!
//! Blocking, one connection. Reads wait without limit unless [`HbApi::set_timeout`] says
//! otherwise (cl_status relies on its 5 s alarm, as the original).

use std::collections::VecDeque;
use std::ffi::CStr;
use std::io::{self, Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::frame::{frame, Decoder};
use crate::proto::atoi;
use crate::text;

/// Largest body the client accepts (the original's MAXMSG).
pub const MAX_BODY: usize = 512 * 1024;

/// What the library logs when it cannot sign on (2.0.8's text, two spaces included).
pub const REFUSED: &str = "hb_api_signon: Can't initiate connection  to heartbeat";
/// The original library's limit on a node name.
const HOSTLENG: usize = 100;

/// `strerror(errno)`.
pub fn strerror(errno: i32) -> String {
    // SAFETY: strerror returns a pointer to a NUL-terminated string (static or thread-local).
    let p = unsafe { libc::strerror(errno) };
    if p.is_null() {
        return format!("Unknown error {errno}");
    }
    // SAFETY: p is non-null and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

struct Chan {
    stream: UnixStream,
    dec: Decoder,
    /// The channel saw EOF or an error.
    gone: bool,
}

/// A client of the heartbeat API.
pub struct HbApi {
    chan: Option<Chan>,
    signed_on: bool,
    /// Messages that arrived while waiting for a reply.
    queue: VecDeque<Message>,
    log: String,
    timeout: Option<Duration>,
    pid: i32,
    client_id: String,
    casual: bool,
    node: String,
    deadtime_ms: u64,
    keepalive_ms: u64,
    logfacility: i32,
}

impl Default for HbApi {
    fn default() -> Self {
        HbApi::new()
    }
}

fn hex_u64(s: &str) -> Option<u64> {
    let t = s.trim_start();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .filter(|r| r.starts_with(|c: char| c.is_ascii_hexdigit()))
        .unwrap_or(t);
    let n = t.bytes().take_while(u8::is_ascii_hexdigit).count();
    u64::from_str_radix(t.get(..n).filter(|d| !d.is_empty())?, 16).ok()
}

impl HbApi {
    /// An object not yet signed on (`ll_cluster_new`).
    pub fn new() -> HbApi {
        HbApi {
            chan: None,
            signed_on: false,
            queue: VecDeque::new(),
            log: String::new(),
            timeout: None,
            pid: std::process::id() as i32,
            client_id: String::new(),
            casual: true,
            node: String::new(),
            deadtime_ms: 0,
            keepalive_ms: 0,
            logfacility: -1,
        }
    }

    /// Limits every wait for the daemon (`None`: wait as long as it takes).
    pub fn set_timeout(&mut self, t: Option<Duration>) {
        self.timeout = t;
    }

    /// The library's error text: what the calls since the last reset logged, one per line.
    pub fn errmsg(&self) -> &str {
        &self.log
    }

    fn clear_log(&mut self) {
        self.log.clear();
    }

    fn api_log(&mut self, s: &str) {
        if !self.log.is_empty() && !self.log.ends_with('\n') {
            self.log.push('\n');
        }
        self.log.push_str(s);
    }

    fn api_perror(&mut self, s: &str, errno: i32) {
        self.api_log(&format!("{s}: {}", strerror(errno)));
    }

    pub fn signed_on(&self) -> bool {
        self.signed_on
    }
    pub fn deadtime_ms(&self) -> u64 {
        self.deadtime_ms
    }
    pub fn keepalive_ms(&self) -> u64 {
        self.keepalive_ms
    }
    pub fn logfacility(&self) -> i32 {
        self.logfacility
    }
    /// The node name the daemon gave at sign-on (before it: `uname -n`).
    pub fn mynodeid(&self) -> &str {
        &self.node
    }
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The first fields of every request.
    fn boilerplate(&self, reqtype: &str) -> Message {
        let pid = self.pid.to_string();
        text::msg(&[
            ("t", "hbapi-req"),
            ("reqtype", reqtype),
            ("dest", &self.node),
            ("pid", &pid),
            ("from_id", &self.client_id),
        ])
    }

    /// Writes one message; the error is the errno.
    fn send_msg(&mut self, m: &Message) -> Result<(), i32> {
        let Some(ch) = self.chan.as_mut() else {
            return Err(libc::ENOTCONN);
        };
        if ch.gone {
            return Err(libc::EPIPE);
        }
        let body = text::encode(m).map_err(|_| libc::EINVAL)?;
        let f = frame(&body);
        if let Err(e) = ch.stream.write_all(&f) {
            ch.gone = true;
            return Err(errno_of(&e));
        }
        Ok(())
    }

    /// The next message from the daemon, waiting at most until `deadline` (and the
    /// object's timeout). `None`: closed, broken, or nothing in time.
    fn recv(&mut self, deadline: Option<Instant>) -> Option<Message> {
        let deadline = match (deadline, self.timeout.map(|t| Instant::now() + t)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let ch = self.chan.as_mut()?;
        let mut buf = [0u8; 4096];
        loop {
            match ch.dec.next_body() {
                Ok(Some(body)) => match text::parse(&body) {
                    Ok(m) => return Some(m),
                    Err(_) => continue,
                },
                Ok(None) => {}
                Err(_) => {
                    ch.gone = true;
                    return None;
                }
            }
            if ch.gone {
                return None;
            }
            let wait = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    Some(left)
                }
                None => None,
            };
            if ch.stream.set_read_timeout(wait).is_err() {
                return None;
            }
            match ch.stream.read(&mut buf) {
                Ok(0) => {
                    ch.gone = true;
                }
                Ok(n) => ch.dec.push(buf.get(..n).unwrap_or(&[])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(_) => ch.gone = true,
            }
        }
    }

    /// The next `hbapi-resp`, queueing everything else (`read_api_msg`).
    fn read_api_msg(&mut self) -> Option<Message> {
        loop {
            let m = self.recv(None)?;
            if m.msg_type() == Some("hbapi-resp") {
                return Some(m);
            }
            self.queue.push_back(m);
        }
    }

    /// Signs on at `path` as `name` (`None`: a casual client, id = our pid). A refused
    /// sign-on leaves [`REFUSED`] and the daemon's reason in [`HbApi::errmsg`].
    pub fn signon(&mut self, path: &Path, name: Option<&str>) -> bool {
        if self.signed_on {
            self.signoff();
        }
        self.pid = std::process::id() as i32;
        self.casual = name.is_none();
        self.client_id = name.map_or_else(|| self.pid.to_string(), str::to_string);
        self.node = hb_sys::nodename()
            .map(|n| n.to_lowercase())
            .unwrap_or_default();
        let mut req = self.boilerplate("signon");
        // SAFETY: no memory effects.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        req.push_str("uid", uid.to_string());
        req.push_str("gid", gid.to_string());
        let stream = match UnixStream::connect(path) {
            Ok(s) => s,
            Err(_) => {
                self.api_log(REFUSED);
                return false;
            }
        };
        self.queue.clear();
        self.chan = Some(Chan {
            stream,
            dec: Decoder::new(MAX_BODY),
            gone: false,
        });
        if let Err(errno) = self.send_msg(&req) {
            self.chan = None;
            self.api_perror("can't send message to IPC", errno);
            return false;
        }
        let Some(reply) = self.read_api_msg() else {
            if self.disconnected() {
                // Closed without an answer (a daemon with no room, say).
                self.api_log(&format!("{REFUSED} (connection closed by heartbeat)"));
            }
            return false;
        };
        if reply.get("result") != Some("OK") {
            // The original refuses a user at the connection (its socket directory is
            // group haclient only) and says so; ours answers with the reason.
            let why = reply
                .get("info")
                .filter(|i| !i.is_empty())
                .unwrap_or("refused");
            self.api_log(&format!("{REFUSED} ({why})"));
            return false;
        }
        self.signed_on = true;
        let Some(dt) = reply.get("deadtime").and_then(hex_u64) else {
            self.api_log("hb_api_signon: Can't get deadtime ");
            return false;
        };
        self.deadtime_ms = dt;
        let Some(ka) = reply.get("keepalive").and_then(hex_u64) else {
            self.api_log("hb_api_signon: Can't get keepalive time ");
            return false;
        };
        self.keepalive_ms = ka;
        match reply.get("node") {
            Some(n) if n.len() < HOSTLENG => self.node = n.to_string(),
            _ => {
                self.api_log("hb_api_signon: Can't get local node name");
                return false;
            }
        }
        self.logfacility = reply
            .get("logfacility")
            .and_then(crate::proto::scan_long)
            .map_or(-1, |v| v as i32);
        true
    }

    /// Signs off (sends `signoff`, closes). Not signed on: nothing to do.
    pub fn signoff(&mut self) -> bool {
        if !self.signed_on {
            return true;
        }
        let req = self.boilerplate("signoff");
        if let Err(errno) = self.send_msg(&req) {
            self.api_perror("can't send message to IPC", errno);
            return false;
        }
        self.chan = None;
        self.signed_on = false;
        true
    }

    /// Sends a request with `fields` after the boilerplate; logs `perror` on failure.
    fn request(&mut self, reqtype: &str, fields: &[(&str, &str)], perror: &str) -> bool {
        let mut m = self.boilerplate(reqtype);
        for (k, v) in fields {
            m.push_str(k, v);
        }
        match self.send_msg(&m) {
            Ok(()) => true,
            Err(errno) => {
                self.api_perror(perror, errno);
                false
            }
        }
    }

    /// One request answered by one reply: the reply's `field` when `result=OK`.
    fn simple(
        &mut self,
        reqtype: &str,
        fields: &[(&str, &str)],
        perror: &str,
        field: &str,
    ) -> Option<String> {
        self.clear_log();
        if !self.signed_on {
            self.api_log("not signed on");
            return None;
        }
        if !self.request(reqtype, fields, perror) {
            return None;
        }
        let reply = self.read_api_msg()?;
        if reply.get("result") == Some("OK") {
            reply.get(field).map(str::to_string)
        } else {
            None
        }
    }

    /// The configured nodes, in the library's order (the daemon's, reversed).
    pub fn nodelist(&mut self) -> Option<Vec<String>> {
        self.clear_log();
        if !self.signed_on {
            self.api_log("not signed on");
            return None;
        }
        if !self.request("nodelist", &[], "can't send message to IPC Channel") {
            return None;
        }
        let mut list = Vec::new();
        loop {
            let Some(reply) = self.read_api_msg() else {
                self.api_log("General read_api_msg() failure");
                return None;
            };
            let result = reply.get("result");
            match (result, reply.get("node")) {
                (None, _) => {
                    self.api_log("API reply missing result field.");
                    return None;
                }
                (Some(r), _) if r != "OK" && r != "ok/more" => {
                    self.api_log(&format!("Unexpected API result value: [{r}]"));
                    return None;
                }
                (Some(_), None) => {
                    self.api_log("No nodename in API reply");
                    return None;
                }
                (Some(r), Some(n)) => {
                    list.insert(0, n.to_string());
                    if r == "OK" {
                        return Some(list);
                    }
                }
            }
        }
    }

    /// The links of `node`, in the library's order (the daemon's, reversed).
    pub fn iflist(&mut self, node: &str) -> Option<Vec<String>> {
        self.clear_log();
        if !self.signed_on {
            self.api_log("not signed on");
            return None;
        }
        if !self.request(
            "iflist",
            &[("node", node)],
            "Can't send message to IPC Channel",
        ) {
            return None;
        }
        let mut list = Vec::new();
        loop {
            let reply = self.read_api_msg()?;
            match (reply.get("result"), reply.get("ifname")) {
                (Some(r), Some(i)) if r == "OK" || r == "ok/more" => {
                    list.insert(0, i.to_string());
                    if r == "OK" {
                        return Some(list);
                    }
                }
                _ => return None,
            }
        }
    }

    pub fn node_status(&mut self, node: &str) -> Option<String> {
        self.simple(
            "nodestatus",
            &[("node", node)],
            "Can't send message to IPC Channel",
            "st",
        )
    }

    /// -1 on any failure, as the library.
    pub fn node_weight(&mut self, node: &str) -> i32 {
        self.simple(
            "nodeweight",
            &[("node", node)],
            "Can't send message to IPC Channel",
            "weight",
        )
        .map_or(-1, |w| atoi(&w))
    }

    pub fn node_site(&mut self, node: &str) -> Option<String> {
        self.simple(
            "nodesite",
            &[("node", node)],
            "Can't send message to IPC Channel",
            "site",
        )
    }

    pub fn node_type(&mut self, node: &str) -> Option<String> {
        self.simple(
            "nodetype",
            &[("node", node)],
            "Can't send message to IPC Channel",
            "nodetype",
        )
    }

    pub fn if_status(&mut self, node: &str, ifname: &str) -> Option<String> {
        self.simple(
            "ifstatus",
            &[("node", node), ("ifname", ifname)],
            "Can't send message to IPC Channel",
            "st",
        )
    }

    pub fn get_parameter(&mut self, name: &str) -> Option<String> {
        self.simple(
            "getparm",
            &[("pname", name)],
            "Can't send message to IPC Channel",
            "pvalue",
        )
    }

    /// The count of normal nodes, -1 on failure.
    pub fn num_nodes(&mut self) -> i32 {
        self.simple(
            "numnodes",
            &[],
            "Can't send message to IPC Channel",
            "numnodes",
        )
        .map(|n| atoi(&n))
        .filter(|&n| n > 0)
        .unwrap_or(-1)
    }

    pub fn get_resources(&mut self) -> Option<String> {
        self.clear_log();
        if !self.signed_on {
            self.api_log("not signed on");
            return None;
        }
        if !self.request("getrsc", &[], "Can't send message to IPC Channel") {
            return None;
        }
        let reply = self.read_api_msg()?;
        match (reply.get("result"), reply.get("rsc_hold")) {
            (Some("OK"), Some(r)) => Some(r.chars().take(63).collect()),
            _ => {
                if let Some(why) = reply.get("info") {
                    self.api_log(why);
                }
                None
            }
        }
    }

    /// A client's status on a node: waits up to `timeout_ms` (negative: forever) for a
    /// message whose `t` or `subt` is `respond-cstatus` (the local daemon's reply or the
    /// remote daemon's answer); each other message starts the wait again.
    pub fn client_status(&mut self, node: &str, client: &str, timeout_ms: i32) -> Option<String> {
        self.clear_log();
        if !self.signed_on {
            self.api_log("not signed on");
            return None;
        }
        if node.is_empty() {
            self.api_log("client status : bad nodename");
            return None;
        }
        if !self.request(
            "clientstatus",
            &[("node", node), ("cn", client)],
            "Can't send message to IPC Channel",
        ) {
            return None;
        }
        loop {
            let deadline = u64::try_from(timeout_ms)
                .ok()
                .map(|ms| Instant::now() + Duration::from_millis(ms));
            let m = self.recv(deadline)?;
            let is_answer =
                m.get("t") == Some("respond-cstatus") || m.get("subt") == Some("respond-cstatus");
            if !is_answer {
                self.queue.push_back(m);
                continue;
            }
            return match (m.get("result"), m.get("cs")) {
                (Some("OK"), Some(cs)) => Some(cs.to_string()),
                _ => {
                    self.api_perror("received wrong type of msg", 0);
                    None
                }
            };
        }
    }

    /// `setfilter`.
    pub fn set_filter(&mut self, mask: u32) -> bool {
        let m = format!("{mask:x}");
        self.simple_ok("setfilter", &[("fmask", &m)], "can't send message to IPC")
    }

    /// `setsignal`.
    pub fn set_signal(&mut self, sig: i32) -> bool {
        let s = sig.to_string();
        self.simple_ok(
            "setsignal",
            &[("signal", &s)],
            "can't send message to IPC Channel",
        )
    }

    fn simple_ok(&mut self, reqtype: &str, fields: &[(&str, &str)], perror: &str) -> bool {
        if !self.signed_on {
            self.api_log("not signed on");
            return false;
        }
        if !self.request(reqtype, fields, perror) {
            return false;
        }
        self.read_api_msg()
            .is_some_and(|r| r.get("result") == Some("OK"))
    }

    /// Sends a cluster message (`sendclustermsg`; named clients only).
    pub fn send_cluster_msg(&mut self, m: &Message) -> bool {
        self.clear_log();
        if !self.signed_on {
            self.api_log("not signed on");
            return false;
        }
        if self.casual {
            self.api_log("sendclustermsg: casual client");
            return false;
        }
        // Its text alone already exceeds a datagram: the daemon could not send it.
        let len = text::encode(m).map_or(0, |b| b.len());
        if len > hb_wire::MAX_SEND {
            self.api_log(&format!(
                "sendclustermsg: message too big for the cluster ({len} bytes, a datagram holds {})",
                hb_wire::MAX_SEND
            ));
            return false;
        }
        match self.send_msg(m) {
            Ok(()) => true,
            Err(errno) => {
                self.api_perror("can't send message to IPC", errno);
                false
            }
        }
    }

    /// Sends a message to one node (`sendnodemsg`: sets `dest`).
    pub fn send_node_msg(&mut self, m: &Message, node: &str) -> bool {
        let mut m = m.clone();
        m.set_str("dest", node);
        self.send_cluster_msg(&m)
    }

    /// The next message that is not a reply (queued ones first), waiting at most `wait`.
    pub fn read_message(&mut self, wait: Duration) -> Option<Message> {
        if let Some(m) = self.queue.pop_front() {
            return Some(m);
        }
        self.recv(Some(Instant::now() + wait))
    }

    /// Whether the daemon closed the connection (seen by a read).
    pub fn disconnected(&self) -> bool {
        self.chan.as_ref().map_or(true, |c| c.gone)
    }

    /// The raw socket (tests: to send bytes by hand).
    pub fn raw_fd(&self) -> Option<i32> {
        self.chan.as_ref().map(|c| c.stream.as_raw_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_like_sscanf() {
        assert_eq!(hex_u64("3e8"), Some(1000));
        assert_eq!(hex_u64(" c8x"), Some(200));
        assert_eq!(hex_u64("0x10"), Some(16));
        assert_eq!(hex_u64("zz"), None);
        assert_eq!(hex_u64(""), None);
    }

    #[test]
    fn strerror_texts() {
        assert_eq!(strerror(libc::EPIPE), "Broken pipe");
        assert_eq!(strerror(0), "Success");
    }

    #[test]
    fn not_signed_on() {
        let mut h = HbApi::new();
        assert_eq!(h.get_parameter("keepalive"), None);
        assert_eq!(h.errmsg(), "not signed on");
        assert!(!h.signon(Path::new("/nonexistent/hb-api-test/register"), None));
        assert_eq!(
            h.errmsg(),
            "not signed on\nhb_api_signon: Can't initiate connection  to heartbeat"
        );
    }
}
