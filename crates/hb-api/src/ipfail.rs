//! `ipfail`: the 2.0.8 ipfail client, its logic without sockets or clocks.
//!
//! ipfail runs on both nodes of a two-node cluster that has `ping`/`ping_group` nodes. When
//! a node loses sight of ping nodes, the two ipfails compare how many ping nodes each side
//! sees, and the side that sees fewer gives up its resources (as `hb_standby` would). The
//! algorithm, the cluster messages and the log texts are those of the original (2.0.8
//! `contrib/ipfail`, unchanged in 3.0.6), so our ipfail and an original one on the peer
//! work together. LOCAL-INTERFACES section 2.1 describes it; in short:
//!
//! - Start-up: sign on as `ipfail`; `getrsc` (no answer: exit 100); `getparm
//!   auto_failback` (`legacy` or not a boolean: exit 100); `getparm coreroot`; `setfilter`
//!   mask 1; a node walk that picks the other normal node; `setsignal 0`.
//! - Counting ping nodes: a node walk (`nodelist`, then `nodestatus` per node), counting
//!   the nodes whose status is `ping`.
//! - Asking the peer: `t=num_ping_nodes|src=<me>|num_ping=<n>` sent to the other node, on
//!   a link going `dead`, a ping node coming back (`ping`), and the join notice of the
//!   peer's ipfail. The peer's ipfail answers by comparing with its own count: more →
//!   `t=you_are_dead`; fewer → it gives up `all` itself; equal → `t=abort_giveup|src=<me>`,
//!   and it cancels its own pending give-up or, with auto_failback on and its resources
//!   not in transition, gives up `foreign`.
//! - A give-up fires 2 × keepalive later: `t=ask_resources|rsc_hold=<all|foreign>|src=<me>|
//!   info=me` to the cluster (what hb_standby asks for), unless `getrsc` says `transition`;
//!   then it waits for the other node's `resource` message with `isstable=1` (and no
//!   `info`), sleeps 10 s (the original blocks; here the messages that arrive meanwhile
//!   wait) and asks the peer again.
//!
//! The synchronous API requests go through [`Api`] (the binary implements it on
//! [`crate::client::HbApi`]; tests on a fake). Time comes in as arguments; the only timers
//! are the give-up and the 10 s wait ([`Ipfail::poll_timeout`]). What to log, and the
//! syslog facility to use, come out of [`Ipfail::poll_note`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::proto::atoi;
use crate::text;

/// The client id ipfail signs on with (and so the `from_id`/`to_id` of its messages).
pub const CLIENT_ID: &str = "ipfail";
/// The original's main loop tick: it looks at its quit flag once a second.
pub const TICK: Duration = Duration::from_secs(1);
/// How long the original sleeps after the other side became stable before asking again.
pub const STABLE_WAIT: Duration = Duration::from_secs(10);
/// The glib source id of the first give-up timer (the API channel is 1, the tick is 2).
pub const FIRST_TIMER_TAG: u32 = 3;
/// Where core files go unless `coreroot` says otherwise (a directory per user below it).
pub const DEFAULT_COREROOT: &str = "/var/lib/heartbeat/cores";
/// The syslog facility before, or without, one from the sign-on (LOG_DAEMON).
pub const DEFAULT_FACILITY: i32 = libc::LOG_DAEMON;
/// The filter mask ipfail asks for (`LLC_FILTER_DEFAULT`: KEEPIT).
pub const FILTER_MASK: u32 = 1;

/// The original's exit statuses.
pub mod exit {
    /// Sign-on failed.
    pub const SIGNON: i32 = 1;
    /// No resource management, or auto_failback `legacy` or not a boolean (the daemon does
    /// not restart a client that exits with 100).
    pub const CONFIG: i32 = 100;
    /// `setfilter` failed.
    pub const FILTER: i32 = 8;
    /// The start-up node walk failed.
    pub const NODE_WALK: i32 = 9;
    /// `setsignal` failed.
    pub const SIGNAL: i32 = 13;
    /// Sign-off failed at the end.
    pub const SIGNOFF: i32 = 14;
    /// A ping node count could not walk the nodes.
    pub const COUNT_WALK: i32 = 16;
    /// Ours only: the daemon closed the connection (the original stays idle for ever).
    pub const LOST: i32 = 1;
}

/// Severity of a log line (the log layer's; ipfail uses `Error`, `Info` and `Debug`).
pub use hb_log::Level;

/// Something for the I/O side to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    Log(Level, String),
    /// From now on log to syslog with this facility (the sign-on's, or LOG_DAEMON).
    Facility(i32),
    /// Change to the core-dump directory: `coreroot` if set, else [`DEFAULT_COREROOT`],
    /// then the user's subdirectory (errors are logged, nothing else).
    CoreDir(Option<String>),
    /// Stop copying log lines to stderr (the original does so once it waits for messages).
    StderrOff,
}

/// The API calls ipfail makes, as the original's client library answers them.
pub trait Api {
    /// Signs on as [`CLIENT_ID`].
    fn signon(&mut self) -> bool;
    /// The library's error text of the last call (for the `REASON:` lines).
    fn errmsg(&self) -> String;
    /// Our node name, from the sign-on reply.
    fn my_node(&self) -> String;
    /// keepalive in ms, from the sign-on reply.
    fn keepalive_ms(&self) -> u64;
    /// `logfacility` from the sign-on reply (-1 when none).
    fn log_facility(&self) -> i32;
    /// `getrsc`: `none`/`local`/`foreign`/`all`/`transition`; `None` on failure.
    fn resources(&mut self) -> Option<String>;
    /// `getparm`.
    fn parameter(&mut self, name: &str) -> Option<String>;
    fn set_filter(&mut self, mask: u32) -> bool;
    fn set_signal(&mut self, signal: i32) -> bool;
    /// `nodelist`, in the library's walk order; `None` when the walk cannot start.
    fn node_list(&mut self) -> Option<Vec<String>>;
    /// `nodestatus`.
    fn node_status(&mut self, node: &str) -> Option<String>;
    /// `nodetype`.
    fn node_type(&mut self, node: &str) -> Option<String>;
    /// Sends `msg` to one node (`sendnodemsg`: sets `dest`).
    fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool;
    /// Sends `msg` to the cluster.
    fn send_cluster_msg(&mut self, msg: &Message) -> bool;
}

/// A pending give-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Giveup {
    pub due: Instant,
    /// `all` or `foreign`.
    pub what: &'static str,
    /// The timer's number, as the original logs it when aborting.
    pub tag: u32,
}

/// ipfail's state.
pub struct Ipfail {
    pid: u32,
    me: String,
    other: String,
    auto_failback: bool,
    keepalive_ms: u64,
    /// A give-up found our resources in transition: wait for the other side to be stable.
    need_standby: bool,
    giveup: Option<Giveup>,
    next_tag: u32,
    /// The 10 s sleep: nothing is handled until then.
    pause_until: Option<Instant>,
    /// Messages that arrived during the sleep.
    deferred: VecDeque<Message>,
    notes: VecDeque<Note>,
    exit: Option<i32>,
}

/// A string field, lossily (for logs and comparisons of names).
fn value(msg: &Message, name: &str) -> Option<String> {
    msg.get_bytes(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// What glibc's printf prints for a NULL string.
fn or_null(v: Option<&str>) -> &str {
    v.unwrap_or("(null)")
}

/// `cl_str_to_boolean`.
pub fn str_to_boolean(s: &str) -> Option<bool> {
    let is = |w: &[&str]| w.iter().any(|x| s.eq_ignore_ascii_case(x));
    if is(&["true", "on", "yes", "y", "1"]) {
        Some(true)
    } else if is(&["false", "off", "no", "n", "0"]) {
        Some(false)
    } else {
        None
    }
}

impl Ipfail {
    /// A new ipfail for process `pid` (logged at start).
    pub fn new(pid: u32) -> Ipfail {
        Ipfail {
            pid,
            me: String::new(),
            other: String::new(),
            auto_failback: false,
            keepalive_ms: 0,
            need_standby: false,
            giveup: None,
            next_tag: FIRST_TIMER_TAG,
            pause_until: None,
            deferred: VecDeque::new(),
            notes: VecDeque::from([Note::Facility(DEFAULT_FACILITY)]),
            exit: None,
        }
    }

    fn log(&mut self, level: Level, text: impl Into<String>) {
        self.notes.push_back(Note::Log(level, text.into()));
    }

    fn fail(&mut self, what: &str, api: &dyn Api, code: i32) -> i32 {
        self.log(Level::Error, what);
        self.log(Level::Error, format!("REASON: {}", api.errmsg()));
        code
    }

    /// The next thing to log or do.
    pub fn poll_note(&mut self) -> Option<Note> {
        self.notes.pop_front()
    }

    /// Our node name (after [`Ipfail::start`]).
    pub fn me(&self) -> &str {
        &self.me
    }
    /// The other node ("" when the walk found none).
    pub fn other(&self) -> &str {
        &self.other
    }
    pub fn auto_failback(&self) -> bool {
        self.auto_failback
    }
    pub fn giveup(&self) -> Option<&Giveup> {
        self.giveup.as_ref()
    }
    pub fn need_standby(&self) -> bool {
        self.need_standby
    }
    /// The end of the 10 s sleep, while it lasts.
    pub fn paused_until(&self) -> Option<Instant> {
        self.pause_until
    }
    /// Set when the original would have exited in the middle of its work (a failed node
    /// walk while counting): exit at once with this status, without signing off.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit
    }

    /// The start-up sequence, up to "Waiting for messages...". `Err`: exit with that status.
    pub fn start(&mut self, api: &mut dyn Api) -> Result<(), i32> {
        self.log(Level::Debug, format!("PID={}", self.pid));
        self.log(Level::Debug, "Signing in with heartbeat");
        if !api.signon() {
            return Err(self.fail("Cannot sign on with heartbeat", api, exit::SIGNON));
        }
        let facility = api.log_facility();
        self.notes.push_back(Note::Facility(if facility <= 0 {
            DEFAULT_FACILITY
        } else {
            facility
        }));
        if api.resources().is_none() {
            self.log(Level::Error, "No managed resources");
            return Err(exit::CONFIG);
        }
        self.me = api.my_node();
        self.keepalive_ms = api.keepalive_ms();
        self.log(Level::Debug, format!("[We are {}]", self.me));
        match api.parameter("auto_failback") {
            Some(p) if p == "legacy" => {
                self.log(
                    Level::Error,
                    "auto_failback set to incompatible legacy option.",
                );
                return Err(exit::CONFIG);
            }
            Some(p) => match str_to_boolean(&p) {
                Some(b) => {
                    self.auto_failback = b;
                    self.log(
                        Level::Debug,
                        format!("auto_failback -> {} ({p})", u8::from(b)),
                    );
                }
                None => {
                    // sic: the original's text, leading blank and typo included
                    self.log(Level::Error, format!(" invalid auto_faiback value({p})"));
                    return Err(exit::CONFIG);
                }
            },
            None => self.log(Level::Error, "Couldn't get auto_failback setting."),
        }
        let coreroot = api.parameter("coreroot");
        self.notes.push_back(Note::CoreDir(coreroot));
        self.log(Level::Debug, "Setting message filter mode");
        if !api.set_filter(FILTER_MASK) {
            return Err(self.fail("Cannot set filter mode", api, exit::FILTER));
        }
        self.log(Level::Debug, "Starting node walk");
        let Some(nodes) = api.node_list() else {
            return Err(self.fail("Cannot start node walk", api, exit::NODE_WALK));
        };
        for node in nodes {
            let st = api.node_status(&node);
            self.log(
                Level::Debug,
                format!("Cluster node: {node}: status: {}", or_null(st.as_deref())),
            );
            if api.node_type(&node).as_deref() == Some("normal") && node != self.me {
                self.log(Level::Debug, format!("[They are {node}]"));
                self.other = node;
            }
        }
        self.log(Level::Debug, "Setting message signal");
        if !api.set_signal(0) {
            return Err(self.fail("Cannot set message signal", api, exit::SIGNAL));
        }
        self.log(Level::Debug, "Waiting for messages...");
        self.notes.push_back(Note::StderrOff);
        Ok(())
    }

    /// When [`Ipfail::handle_timeout`] wants to be called: the end of the sleep while it
    /// lasts (nothing else runs meanwhile), else the pending give-up.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.exit.is_some() {
            return None;
        }
        self.pause_until.or(self.giveup.as_ref().map(|g| g.due))
    }

    /// Runs what is due at `now`: the end of the sleep (then the messages that waited), then
    /// the give-up.
    pub fn handle_timeout(&mut self, now: Instant, api: &mut dyn Api) {
        if self.exit.is_some() {
            return;
        }
        if let Some(end) = self.pause_until {
            if now < end {
                return;
            }
            self.end_pause(now, api);
        }
        if self.pause_until.is_some() || self.exit.is_some() {
            return;
        }
        if let Some(g) = self.giveup.clone() {
            if now >= g.due {
                self.fire_giveup(api, g.what);
            }
        }
    }

    /// A quit signal: as in the original, it cuts the 10 s sleep short.
    pub fn interrupt(&mut self, now: Instant, api: &mut dyn Api) {
        if self.exit.is_none() && self.pause_until.is_some() {
            self.end_pause(now, api);
        }
    }

    /// A message from the daemon (not a reply).
    pub fn handle_message(&mut self, now: Instant, api: &mut dyn Api, msg: &Message) {
        if self.exit.is_some() {
            return;
        }
        if self.pause_until.is_some() {
            self.deferred.push_back(msg.clone());
            return;
        }
        self.dispatch(now, api, msg);
    }

    fn end_pause(&mut self, now: Instant, api: &mut dyn Api) {
        self.pause_until = None;
        if let Some(n) = self.count_ping_nodes(api) {
            self.ask_ping_nodes(api, n);
        } else {
            return;
        }
        self.need_standby = false;
        while self.pause_until.is_none() && self.exit.is_none() {
            let Some(m) = self.deferred.pop_front() else {
                break;
            };
            self.dispatch(now, api, &m);
        }
    }

    /// The client library's callback dispatch.
    fn dispatch(&mut self, now: Instant, api: &mut dyn Api, msg: &Message) {
        // The library drops a client message (seq, hg and client_gen) that has no src.
        let hex = |f: &str| msg.get(f).and_then(crate::proto::scan_hex).is_some();
        if hex("seq") && hex("hg") && hex("client_gen") && msg.field("src").is_none() {
            return;
        }
        let Some(t) = value(msg, "t") else {
            return;
        };
        if t.eq_ignore_ascii_case("status") || t.eq_ignore_ascii_case("NS_st") {
            let (node, st) = (value(msg, "src"), value(msg, "st"));
            self.node_status(api, node.as_deref(), st.as_deref());
        } else if t.eq_ignore_ascii_case("ifstat") {
            let (node, link, st) = (value(msg, "node"), value(msg, "ifname"), value(msg, "st"));
            self.link_status(api, node.as_deref(), link.as_deref(), st.as_deref());
        } else {
            match t.as_str() {
                "hbapi-clstat" => self.client_join(api, msg),
                "resource" => self.resources_msg(now, msg),
                "num_ping_nodes" => self.ping_nodes_msg(now, api, msg),
                "abort_giveup" => self.abort_giveup(),
                "you_are_dead" => {
                    self.log(
                        Level::Info,
                        "Giving up because we were told that we have less ping nodes.",
                    );
                    self.delay_giveup(now, "all");
                }
                _ => {}
            }
        }
    }

    /// Walks the nodes and counts those with status `ping`. `None`: the walk failed and
    /// ipfail must exit.
    fn count_ping_nodes(&mut self, api: &mut dyn Api) -> Option<u32> {
        let Some(nodes) = api.node_list() else {
            self.exit = Some(self.fail("Cannot start node walk", api, exit::COUNT_WALK));
            return None;
        };
        let mut found = 0;
        for node in nodes {
            if api.node_status(&node).as_deref() == Some("ping") {
                self.log(Level::Debug, format!("Found ping node {node}!"));
                found += 1;
            }
        }
        Some(found)
    }

    fn send_to_other(&mut self, api: &mut dyn Api, msg: &Message) {
        // The library refuses an empty node name; the original goes on regardless.
        if !self.other.is_empty() {
            api.send_node_msg(msg, &self.other);
        }
    }

    fn ask_ping_nodes(&mut self, api: &mut dyn Api, n: u32) {
        self.log(Level::Info, "Asking other side for ping node count.");
        let m = text::msg(&[
            ("t", "num_ping_nodes"),
            ("src", &self.me),
            ("num_ping", &n.to_string()),
        ]);
        self.send_to_other(api, &m);
        self.log(Level::Debug, "Message [num_ping] sent.");
    }

    fn node_status(&mut self, api: &mut dyn Api, node: Option<&str>, st: Option<&str>) {
        self.log(
            Level::Info,
            format!(
                "Status update: Node {} now has status {}",
                or_null(node),
                or_null(st)
            ),
        );
        match st {
            Some("dead") => {
                let Some(n) = self.count_ping_nodes(api) else {
                    return;
                };
                if n > 0 {
                    self.log(Level::Info, "NS: We are still alive!");
                } else {
                    self.log(Level::Info, "NS: We are dead. :<");
                }
            }
            Some("ping") => {
                self.log(Level::Info, "A ping node just came up.");
                if let Some(n) = self.count_ping_nodes(api) {
                    self.ask_ping_nodes(api, n);
                }
            }
            _ => {}
        }
    }

    fn link_status(
        &mut self,
        api: &mut dyn Api,
        node: Option<&str>,
        link: Option<&str>,
        st: Option<&str>,
    ) {
        self.log(
            Level::Info,
            format!(
                "Link Status update: Link {}/{} now has status {}",
                or_null(node),
                or_null(link),
                or_null(st)
            ),
        );
        if st != Some("dead") {
            return;
        }
        let Some(n) = self.count_ping_nodes(api) else {
            return;
        };
        if n > 0 {
            self.ask_ping_nodes(api, n);
            self.log(Level::Info, "Checking remote count of ping nodes.");
        } else {
            self.log(Level::Info, "We are dead. :<");
            self.ask_ping_nodes(api, 0);
        }
    }

    fn client_join(&mut self, api: &mut dyn Api, msg: &Message) {
        let (st, from, src) = (value(msg, "st"), value(msg, "from_id"), value(msg, "src"));
        let Some(src) = src else {
            return;
        };
        if st.as_deref() == Some("join") && from.as_deref() == Some(CLIENT_ID) && src != self.me {
            self.log(
                Level::Debug,
                format!("Got join message from another ipfail client. ({src})"),
            );
            if let Some(n) = self.count_ping_nodes(api) {
                self.ask_ping_nodes(api, n);
            }
        }
    }

    fn resources_msg(&mut self, now: Instant, msg: &Message) {
        let (Some(orig), Some(stable)) = (value(msg, "src"), value(msg, "isstable")) else {
            return;
        };
        if orig != self.other {
            return;
        }
        if msg.field("info").is_none() && stable == "1" {
            self.log(Level::Debug, "Other side is now stable.");
            if self.need_standby {
                // The original sleeps here, then counts and asks again.
                self.pause_until = Some(now + STABLE_WAIT);
            }
        } else if stable == "0" {
            self.log(Level::Debug, "Other side is unstable.");
        }
    }

    fn ping_nodes_msg(&mut self, now: Instant, api: &mut dyn Api, msg: &Message) {
        self.log(Level::Debug, "Got asked for num_ping.");
        let Some(mine) = self.count_ping_nodes(api) else {
            return;
        };
        let theirs = i64::from(atoi(&value(msg, "num_ping").unwrap_or_default()));
        let mine = i64::from(mine);
        if mine > theirs {
            self.log(
                Level::Info,
                "Telling other node that we have more visible ping nodes.",
            );
            self.log(Level::Debug, "Sending you_are_dead.");
            let m = text::msg(&[("t", "you_are_dead")]);
            self.send_to_other(api, &m);
            self.log(Level::Debug, "Message [you_are_dead] sent.");
        } else if mine < theirs {
            self.log(
                Level::Info,
                "Giving up because we have less visible ping nodes.",
            );
            self.delay_giveup(now, "all");
        } else {
            self.log(Level::Info, "Ping node count is balanced.");
            let m = text::msg(&[("t", "abort_giveup"), ("src", &self.me)]);
            self.send_to_other(api, &m);
            self.log(Level::Debug, "Abort message sent.");
            if self.giveup.is_some() {
                self.abort_giveup();
            } else if self.auto_failback && self.is_stable(api) {
                self.log(Level::Info, "Giving up foreign resources (auto_failback).");
                self.delay_giveup(now, "foreign");
            }
        }
    }

    /// `getrsc` is not `transition` (a failed `getrsc` counts as stable, as in the original).
    fn is_stable(&mut self, api: &mut dyn Api) -> bool {
        api.resources().as_deref() != Some("transition")
    }

    fn timer_destroyed(&mut self) {
        self.giveup = None;
        self.log(Level::Debug, "giveup timeout has been destroyed.");
    }

    fn delay_giveup(&mut self, now: Instant, what: &'static str) {
        let ms = self.keepalive_ms.saturating_mul(2);
        self.log(
            Level::Info,
            format!("Delayed giveup in {} seconds.", ms / 1000),
        );
        if self.giveup.is_some() {
            self.log(Level::Debug, "Detected existing delay timer, overriding");
            self.timer_destroyed();
        }
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        self.giveup = Some(Giveup {
            due: now + Duration::from_millis(ms),
            what,
            tag,
        });
    }

    fn abort_giveup(&mut self) {
        match self.giveup.as_ref().map(|g| g.tag) {
            Some(tag) => {
                self.log(Level::Info, format!("Aborted delayed giveup ({tag})"));
                self.timer_destroyed();
            }
            None => self.log(Level::Info, "No giveup timer to abort."),
        }
    }

    fn fire_giveup(&mut self, api: &mut dyn Api, what: &str) {
        self.log(Level::Info, "giveup() called (timeout worked)");
        if self.is_stable(api) {
            let m = text::msg(&[
                ("t", "ask_resources"),
                ("rsc_hold", what),
                ("src", &self.me),
                ("info", "me"),
            ]);
            api.send_cluster_msg(&m);
            self.log(Level::Debug, "Message [ask_resources] sent.");
            self.need_standby = false;
        } else {
            self.need_standby = true;
        }
        self.timer_destroyed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A daemon answering from a table; records requests and sent messages.
    struct Fake {
        signon_ok: bool,
        me: String,
        keepalive_ms: u64,
        facility: i32,
        rsc: Option<String>,
        params: HashMap<String, String>,
        filter_ok: bool,
        signal_ok: bool,
        list_ok: bool,
        /// (name, type, status) in the library's walk order.
        nodes: Vec<(String, String, String)>,
        requests: Vec<String>,
        /// (dest, message on one line).
        sent: Vec<(Option<String>, String)>,
    }

    impl Fake {
        /// Node a of a, b and one ping node, all up; keepalive 200 ms; resources local.
        fn new() -> Fake {
            let n = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
            Fake {
                signon_ok: true,
                me: "a".into(),
                keepalive_ms: 200,
                facility: -1,
                rsc: Some("local".into()),
                params: HashMap::from([("auto_failback".to_string(), "on".to_string())]),
                filter_ok: true,
                signal_ok: true,
                list_ok: true,
                // the library walks the daemon's list backwards
                nodes: vec![
                    n("198.51.100.100", "ping", "ping"),
                    n("b", "normal", "active"),
                    n("a", "normal", "active"),
                ],
                requests: Vec::new(),
                sent: Vec::new(),
            }
        }
        fn set_ping(&mut self, st: &str) {
            for n in &mut self.nodes {
                if n.1 == "ping" {
                    n.2 = st.into();
                }
            }
        }
        fn take_sent(&mut self) -> Vec<(Option<String>, String)> {
            std::mem::take(&mut self.sent)
        }
    }

    impl Api for Fake {
        fn signon(&mut self) -> bool {
            self.requests.push("signon".into());
            self.signon_ok
        }
        fn errmsg(&self) -> String {
            "the reason".into()
        }
        fn my_node(&self) -> String {
            self.me.clone()
        }
        fn keepalive_ms(&self) -> u64 {
            self.keepalive_ms
        }
        fn log_facility(&self) -> i32 {
            self.facility
        }
        fn resources(&mut self) -> Option<String> {
            self.requests.push("getrsc".into());
            self.rsc.clone()
        }
        fn parameter(&mut self, name: &str) -> Option<String> {
            self.requests.push(format!("getparm {name}"));
            self.params.get(name).cloned()
        }
        fn set_filter(&mut self, mask: u32) -> bool {
            self.requests.push(format!("setfilter {mask}"));
            self.filter_ok
        }
        fn set_signal(&mut self, signal: i32) -> bool {
            self.requests.push(format!("setsignal {signal}"));
            self.signal_ok
        }
        fn node_list(&mut self) -> Option<Vec<String>> {
            self.requests.push("nodelist".into());
            self.list_ok
                .then(|| self.nodes.iter().map(|n| n.0.clone()).collect())
        }
        fn node_status(&mut self, node: &str) -> Option<String> {
            self.requests.push(format!("nodestatus {node}"));
            self.nodes.iter().find(|n| n.0 == node).map(|n| n.2.clone())
        }
        fn node_type(&mut self, node: &str) -> Option<String> {
            self.requests.push(format!("nodetype {node}"));
            self.nodes.iter().find(|n| n.0 == node).map(|n| n.1.clone())
        }
        fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool {
            self.sent.push((Some(node.into()), text::one_line(msg)));
            true
        }
        fn send_cluster_msg(&mut self, msg: &Message) -> bool {
            self.sent.push((None, text::one_line(msg)));
            true
        }
    }

    fn logs(core: &mut Ipfail) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(n) = core.poll_note() {
            if let Note::Log(l, t) = n {
                v.push(format!("{}: {t}", l.as_str()));
            }
        }
        v
    }

    /// Logs without the debug lines.
    fn info(core: &mut Ipfail) -> Vec<String> {
        logs(core)
            .into_iter()
            .filter(|l| !l.starts_with("debug: "))
            .collect()
    }

    fn started(api: &mut Fake) -> Ipfail {
        let mut core = Ipfail::new(77);
        assert_eq!(core.start(api), Ok(()));
        logs(&mut core);
        api.requests.clear();
        core
    }

    fn m(fields: &[(&str, &str)]) -> Message {
        text::msg(fields)
    }

    fn num_ping(src: &str, n: &str) -> Message {
        m(&[
            ("t", "num_ping_nodes"),
            ("src", src),
            ("num_ping", n),
            ("dest", "a"),
            ("from_id", "ipfail"),
            ("to_id", "ipfail"),
            ("client_gen", "0"),
            ("seq", "28"),
            ("hg", "6b06d8de"),
        ])
    }

    fn sent_one(dest: Option<&str>, line: &str) -> Vec<(Option<String>, String)> {
        vec![(dest.map(str::to_string), line.to_string())]
    }

    #[test]
    fn start_up_requests_logs_and_the_other_node() {
        let mut api = Fake::new();
        api.facility = 16 << 3;
        let mut core = Ipfail::new(4242);
        assert_eq!(core.start(&mut api), Ok(()));
        assert_eq!(
            api.requests,
            [
                "signon",
                "getrsc",
                "getparm auto_failback",
                "getparm coreroot",
                "setfilter 1",
                "nodelist",
                "nodestatus 198.51.100.100",
                "nodetype 198.51.100.100",
                "nodestatus b",
                "nodetype b",
                "nodestatus a",
                "nodetype a",
                "setsignal 0",
            ]
        );
        let mut notes = Vec::new();
        while let Some(n) = core.poll_note() {
            notes.push(n);
        }
        let d = |t: &str| Note::Log(Level::Debug, t.to_string());
        assert_eq!(
            notes,
            [
                Note::Facility(libc::LOG_DAEMON),
                d("PID=4242"),
                d("Signing in with heartbeat"),
                Note::Facility(16 << 3),
                d("[We are a]"),
                d("auto_failback -> 1 (on)"),
                Note::CoreDir(None),
                d("Setting message filter mode"),
                d("Starting node walk"),
                d("Cluster node: 198.51.100.100: status: ping"),
                d("Cluster node: b: status: active"),
                d("[They are b]"),
                d("Cluster node: a: status: active"),
                d("Setting message signal"),
                d("Waiting for messages..."),
                Note::StderrOff,
            ]
        );
        assert_eq!(
            (core.me(), core.other(), core.auto_failback()),
            ("a", "b", true)
        );
        assert_eq!(core.poll_timeout(), None);
    }

    #[test]
    fn start_up_failures_and_settings() {
        let run = |f: &dyn Fn(&mut Fake)| {
            let mut api = Fake::new();
            f(&mut api);
            let mut core = Ipfail::new(1);
            let r = core.start(&mut api);
            let errors: Vec<String> = logs(&mut core)
                .into_iter()
                .filter(|l| l.starts_with("ERROR: "))
                .collect();
            (r, errors, core.auto_failback())
        };
        let e = |v: &[&str]| v.iter().map(|s| format!("ERROR: {s}")).collect::<Vec<_>>();
        assert_eq!(
            run(&|a| a.signon_ok = false),
            (
                Err(1),
                e(&["Cannot sign on with heartbeat", "REASON: the reason"]),
                false
            )
        );
        assert_eq!(
            run(&|a| a.rsc = None),
            (Err(100), e(&["No managed resources"]), false)
        );
        let param = |v: &'static str| {
            move |a: &mut Fake| {
                a.params.insert("auto_failback".into(), v.into());
            }
        };
        assert_eq!(
            run(&param("legacy")),
            (
                Err(100),
                e(&["auto_failback set to incompatible legacy option."]),
                false
            )
        );
        assert_eq!(
            run(&param("maybe")),
            (Err(100), e(&[" invalid auto_faiback value(maybe)"]), false)
        );
        assert_eq!(run(&param("OFF")), (Ok(()), vec![], false));
        assert_eq!(run(&param("Y")), (Ok(()), vec![], true));
        // no value: logged, and ipfail goes on with auto_failback off
        assert_eq!(
            run(&|a| {
                a.params.clear();
            }),
            (Ok(()), e(&["Couldn't get auto_failback setting."]), false)
        );
        assert_eq!(
            run(&|a| a.filter_ok = false),
            (
                Err(8),
                e(&["Cannot set filter mode", "REASON: the reason"]),
                true
            )
        );
        assert_eq!(
            run(&|a| a.list_ok = false),
            (
                Err(9),
                e(&["Cannot start node walk", "REASON: the reason"]),
                true
            )
        );
        assert_eq!(
            run(&|a| a.signal_ok = false),
            (
                Err(13),
                e(&["Cannot set message signal", "REASON: the reason"]),
                true
            )
        );
    }

    #[test]
    fn coreroot_and_missing_statuses_at_start() {
        let mut api = Fake::new();
        api.params.insert("coreroot".into(), "/x/cores".into());
        api.nodes
            .push(("ghost".into(), "normal".into(), String::new()));
        api.nodes.retain(|n| n.0 != "b");
        // a node the daemon has no status or type for
        api.nodes
            .insert(0, ("zz".into(), String::new(), String::new()));
        let mut core = Ipfail::new(1);
        let mut real = FakeMissing(api);
        assert_eq!(core.start(&mut real), Ok(()));
        let mut notes = Vec::new();
        while let Some(n) = core.poll_note() {
            notes.push(n);
        }
        assert!(notes.contains(&Note::CoreDir(Some("/x/cores".into()))));
        assert!(notes.contains(&Note::Log(
            Level::Debug,
            "Cluster node: zz: status: (null)".into()
        )));
        assert_eq!(core.other(), "ghost");
    }

    /// A Fake whose empty statuses and types are missing answers.
    struct FakeMissing(Fake);

    impl Api for FakeMissing {
        fn signon(&mut self) -> bool {
            self.0.signon()
        }
        fn errmsg(&self) -> String {
            self.0.errmsg()
        }
        fn my_node(&self) -> String {
            self.0.my_node()
        }
        fn keepalive_ms(&self) -> u64 {
            self.0.keepalive_ms()
        }
        fn log_facility(&self) -> i32 {
            self.0.log_facility()
        }
        fn resources(&mut self) -> Option<String> {
            self.0.resources()
        }
        fn parameter(&mut self, name: &str) -> Option<String> {
            self.0.parameter(name)
        }
        fn set_filter(&mut self, mask: u32) -> bool {
            self.0.set_filter(mask)
        }
        fn set_signal(&mut self, signal: i32) -> bool {
            self.0.set_signal(signal)
        }
        fn node_list(&mut self) -> Option<Vec<String>> {
            self.0.node_list()
        }
        fn node_status(&mut self, node: &str) -> Option<String> {
            self.0.node_status(node).filter(|s| !s.is_empty())
        }
        fn node_type(&mut self, node: &str) -> Option<String> {
            self.0.node_type(node).filter(|s| !s.is_empty())
        }
        fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool {
            self.0.send_node_msg(msg, node)
        }
        fn send_cluster_msg(&mut self, msg: &Message) -> bool {
            self.0.send_cluster_msg(msg)
        }
    }

    #[test]
    fn link_dead_without_ping_nodes_asks_the_peer_with_zero() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        api.set_ping("dead");
        let t0 = Instant::now();
        let dead = m(&[
            ("t", "ifstat"),
            ("node", "198.51.100.100"),
            ("ifname", "198.51.100.100"),
            ("st", "dead"),
        ]);
        core.handle_message(t0, &mut api, &dead);
        assert_eq!(
            logs(&mut core),
            [
                "info: Link Status update: Link 198.51.100.100/198.51.100.100 now has status dead",
                "info: We are dead. :<",
                "info: Asking other side for ping node count.",
                "debug: Message [num_ping] sent.",
            ]
        );
        assert_eq!(
            api.requests,
            [
                "nodelist",
                "nodestatus 198.51.100.100",
                "nodestatus b",
                "nodestatus a"
            ]
        );
        assert_eq!(
            api.take_sent(),
            sent_one(Some("b"), "t=num_ping_nodes|src=a|num_ping=0")
        );
        // a link going up is only logged
        let up = m(&[
            ("t", "ifstat"),
            ("node", "b"),
            ("ifname", "eth1"),
            ("st", "up"),
        ]);
        core.handle_message(t0, &mut api, &up);
        assert_eq!(
            logs(&mut core),
            ["info: Link Status update: Link b/eth1 now has status up"]
        );
        assert!(api.take_sent().is_empty());
    }

    #[test]
    fn link_dead_with_ping_nodes_left_checks_the_remote_count() {
        let mut api = Fake::new();
        api.nodes
            .insert(0, ("pg".into(), "ping".into(), "dead".into()));
        let mut core = started(&mut api);
        let dead = m(&[
            ("t", "ifstat"),
            ("node", "b"),
            ("ifname", "eth1"),
            ("st", "dead"),
        ]);
        core.handle_message(Instant::now(), &mut api, &dead);
        assert_eq!(
            logs(&mut core),
            [
                "info: Link Status update: Link b/eth1 now has status dead",
                "debug: Found ping node 198.51.100.100!",
                "info: Asking other side for ping node count.",
                "debug: Message [num_ping] sent.",
                "info: Checking remote count of ping nodes.",
            ]
        );
        assert_eq!(
            api.take_sent(),
            sent_one(Some("b"), "t=num_ping_nodes|src=a|num_ping=1")
        );
    }

    #[test]
    fn the_side_that_sees_more_tells_the_other_it_is_dead() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        core.handle_message(Instant::now(), &mut api, &num_ping("b", "0"));
        assert_eq!(
            logs(&mut core),
            [
                "debug: Got asked for num_ping.",
                "debug: Found ping node 198.51.100.100!",
                "info: Telling other node that we have more visible ping nodes.",
                "debug: Sending you_are_dead.",
                "debug: Message [you_are_dead] sent.",
            ]
        );
        assert_eq!(api.take_sent(), sent_one(Some("b"), "t=you_are_dead"));
        assert_eq!(core.poll_timeout(), None);
    }

    #[test]
    fn the_side_that_sees_fewer_gives_up_all_after_two_keepalives() {
        let mut api = Fake::new();
        api.keepalive_ms = 2000;
        let mut core = started(&mut api);
        api.set_ping("dead");
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &num_ping("b", "1"));
        assert_eq!(
            info(&mut core),
            [
                "info: Giving up because we have less visible ping nodes.",
                "info: Delayed giveup in 4 seconds.",
            ]
        );
        assert!(api.take_sent().is_empty());
        let due = t0 + Duration::from_millis(4000);
        assert_eq!(core.poll_timeout(), Some(due));
        assert_eq!(core.giveup().map(|g| (g.what, g.tag)), Some(("all", 3)));
        // not yet
        core.handle_timeout(due - Duration::from_millis(1), &mut api);
        assert!(api.take_sent().is_empty());
        api.requests.clear();
        core.handle_timeout(due, &mut api);
        assert_eq!(
            logs(&mut core),
            [
                "info: giveup() called (timeout worked)",
                "debug: Message [ask_resources] sent.",
                "debug: giveup timeout has been destroyed.",
            ]
        );
        assert_eq!(api.requests, ["getrsc"]);
        assert_eq!(
            api.take_sent(),
            sent_one(None, "t=ask_resources|rsc_hold=all|src=a|info=me")
        );
        assert_eq!(core.poll_timeout(), None);
    }

    #[test]
    fn you_are_dead_gives_up_all_and_abort_giveup_cancels() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &m(&[("t", "you_are_dead")]));
        assert_eq!(
            logs(&mut core),
            [
                "info: Giving up because we were told that we have less ping nodes.",
                "info: Delayed giveup in 0 seconds.",
            ]
        );
        assert_eq!(core.poll_timeout(), Some(t0 + Duration::from_millis(400)));
        // a second one replaces the timer
        let t1 = t0 + Duration::from_millis(100);
        core.handle_message(t1, &mut api, &m(&[("t", "you_are_dead")]));
        assert_eq!(
            logs(&mut core),
            [
                "info: Giving up because we were told that we have less ping nodes.",
                "info: Delayed giveup in 0 seconds.",
                "debug: Detected existing delay timer, overriding",
                "debug: giveup timeout has been destroyed.",
            ]
        );
        assert_eq!(core.poll_timeout(), Some(t1 + Duration::from_millis(400)));
        assert_eq!(core.giveup().map(|g| g.tag), Some(4));
        core.handle_message(t1, &mut api, &m(&[("t", "abort_giveup"), ("src", "b")]));
        assert_eq!(
            logs(&mut core),
            [
                "info: Aborted delayed giveup (4)",
                "debug: giveup timeout has been destroyed.",
            ]
        );
        assert_eq!(core.poll_timeout(), None);
        core.handle_timeout(t1 + Duration::from_secs(5), &mut api);
        assert!(api.take_sent().is_empty());
        core.handle_message(t1, &mut api, &m(&[("t", "abort_giveup"), ("src", "b")]));
        assert_eq!(logs(&mut core), ["info: No giveup timer to abort."]);
        // timer numbers go on counting
        core.handle_message(t1, &mut api, &m(&[("t", "you_are_dead")]));
        assert_eq!(core.giveup().map(|g| g.tag), Some(5));
    }

    #[test]
    fn balanced_count_aborts_a_pending_giveup_and_tells_the_peer() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &m(&[("t", "you_are_dead")]));
        logs(&mut core);
        core.handle_message(t0, &mut api, &num_ping("b", "1"));
        assert_eq!(
            logs(&mut core),
            [
                "debug: Got asked for num_ping.",
                "debug: Found ping node 198.51.100.100!",
                "info: Ping node count is balanced.",
                "debug: Abort message sent.",
                "info: Aborted delayed giveup (3)",
                "debug: giveup timeout has been destroyed.",
            ]
        );
        assert_eq!(api.take_sent(), sent_one(Some("b"), "t=abort_giveup|src=a"));
        assert_eq!(core.poll_timeout(), None);
    }

    #[test]
    fn balanced_count_with_auto_failback_gives_up_foreign() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &num_ping("b", "1"));
        assert_eq!(
            info(&mut core),
            [
                "info: Ping node count is balanced.",
                "info: Giving up foreign resources (auto_failback).",
                "info: Delayed giveup in 0 seconds.",
            ]
        );
        assert_eq!(
            api.requests,
            [
                "nodelist",
                "nodestatus 198.51.100.100",
                "nodestatus b",
                "nodestatus a",
                "getrsc"
            ]
        );
        assert_eq!(api.take_sent(), sent_one(Some("b"), "t=abort_giveup|src=a"));
        core.handle_timeout(t0 + Duration::from_millis(400), &mut api);
        assert_eq!(
            api.take_sent(),
            sent_one(None, "t=ask_resources|rsc_hold=foreign|src=a|info=me")
        );
    }

    #[test]
    fn balanced_count_without_auto_failback_or_in_transition_does_nothing_more() {
        for (af, rsc) in [("off", "local"), ("on", "transition")] {
            let mut api = Fake::new();
            api.params.insert("auto_failback".into(), af.into());
            let mut core = started(&mut api);
            api.rsc = Some(rsc.into());
            core.handle_message(Instant::now(), &mut api, &num_ping("b", "1"));
            assert_eq!(info(&mut core), ["info: Ping node count is balanced."]);
            assert_eq!(api.take_sent(), sent_one(Some("b"), "t=abort_giveup|src=a"));
            assert_eq!(core.poll_timeout(), None, "{af} {rsc}");
        }
    }

    #[test]
    fn a_giveup_in_transition_waits_for_the_other_side_then_sleeps_and_asks_again() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &m(&[("t", "you_are_dead")]));
        api.rsc = Some("transition".into());
        let t1 = t0 + Duration::from_millis(400);
        core.handle_timeout(t1, &mut api);
        assert_eq!(
            logs(&mut core)[2..],
            [
                "info: giveup() called (timeout worked)",
                "debug: giveup timeout has been destroyed.",
            ]
        );
        assert!(api.take_sent().is_empty());
        assert!(core.need_standby());
        // stability of another node, or with info, or of the other side going unstable: no
        let res = |src: &str, st: &str, info: Option<&str>| {
            let mut v = vec![("t", "resource"), ("rsc_hold", "local"), ("src", src)];
            v.push(("isstable", st));
            if let Some(i) = info {
                v.push(("info", i));
            }
            m(&v)
        };
        core.handle_message(t1, &mut api, &res("c", "1", None));
        core.handle_message(t1, &mut api, &res("b", "1", Some("mach_down")));
        core.handle_message(t1, &mut api, &res("b", "0", None));
        assert_eq!(logs(&mut core), ["debug: Other side is unstable."]);
        assert_eq!(core.paused_until(), None);
        let t2 = t1 + Duration::from_secs(3);
        core.handle_message(t2, &mut api, &res("b", "1", None));
        assert_eq!(logs(&mut core), ["debug: Other side is now stable."]);
        let end = t2 + STABLE_WAIT;
        assert_eq!(core.paused_until(), Some(end));
        assert_eq!(core.poll_timeout(), Some(end));
        // what arrives during the sleep waits
        api.requests.clear();
        core.handle_message(t2, &mut api, &m(&[("t", "you_are_dead")]));
        assert!(logs(&mut core).is_empty());
        assert!(api.requests.is_empty());
        core.handle_timeout(end - Duration::from_millis(1), &mut api);
        assert!(api.take_sent().is_empty());
        core.handle_timeout(end, &mut api);
        assert_eq!(
            info(&mut core),
            [
                "info: Asking other side for ping node count.",
                "info: Giving up because we were told that we have less ping nodes.",
                "info: Delayed giveup in 0 seconds.",
            ]
        );
        assert_eq!(
            api.take_sent(),
            sent_one(Some("b"), "t=num_ping_nodes|src=a|num_ping=1")
        );
        assert!(!core.need_standby());
        assert_eq!(core.paused_until(), None);
        // the timer set by the waiting message counts from when it was handled
        assert_eq!(core.poll_timeout(), Some(end + Duration::from_millis(400)));
    }

    #[test]
    fn a_quit_signal_cuts_the_sleep_short() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &m(&[("t", "you_are_dead")]));
        api.rsc = Some("transition".into());
        core.handle_timeout(t0 + Duration::from_millis(400), &mut api);
        let res = m(&[("t", "resource"), ("src", "b"), ("isstable", "1")]);
        core.handle_message(t0 + Duration::from_secs(1), &mut api, &res);
        assert!(core.paused_until().is_some());
        api.take_sent();
        core.interrupt(t0 + Duration::from_secs(2), &mut api);
        assert_eq!(core.paused_until(), None);
        assert_eq!(
            api.take_sent(),
            sent_one(Some("b"), "t=num_ping_nodes|src=a|num_ping=1")
        );
        // without a sleep, nothing
        core.interrupt(t0 + Duration::from_secs(3), &mut api);
        assert!(api.take_sent().is_empty());
    }

    #[test]
    fn the_peers_ipfail_joining_starts_a_count_exchange() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        let clstat = |st: &str, from: &str, src: &str| {
            m(&[
                ("t", "hbapi-clstat"),
                ("st", st),
                ("from_id", from),
                ("to_id", from),
                ("src", src),
                ("info", "signon"),
                ("client_gen", "2"),
            ])
        };
        core.handle_message(t0, &mut api, &clstat("join", "ipfail", "a"));
        core.handle_message(t0, &mut api, &clstat("leave", "ipfail", "b"));
        core.handle_message(t0, &mut api, &clstat("join", "other", "b"));
        assert!(logs(&mut core).is_empty());
        assert!(api.take_sent().is_empty());
        core.handle_message(t0, &mut api, &clstat("join", "ipfail", "b"));
        assert_eq!(
            logs(&mut core),
            [
                "debug: Got join message from another ipfail client. (b)",
                "debug: Found ping node 198.51.100.100!",
                "info: Asking other side for ping node count.",
                "debug: Message [num_ping] sent.",
            ]
        );
        assert_eq!(
            api.take_sent(),
            sent_one(Some("b"), "t=num_ping_nodes|src=a|num_ping=1")
        );
    }

    #[test]
    fn node_status_changes() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        let dead = m(&[
            ("t", "status"),
            ("seq", "1"),
            ("ts", "6b06d934"),
            ("src", "198.51.100.100"),
            ("st", "dead"),
            ("info", "ping"),
        ]);
        api.set_ping("dead");
        core.handle_message(t0, &mut api, &dead);
        assert_eq!(
            logs(&mut core),
            [
                "info: Status update: Node 198.51.100.100 now has status dead",
                "info: NS: We are dead. :<",
            ]
        );
        let b_dead = m(&[("t", "status"), ("src", "b"), ("st", "dead")]);
        api.set_ping("ping");
        core.handle_message(t0, &mut api, &b_dead);
        assert_eq!(
            info(&mut core),
            [
                "info: Status update: Node b now has status dead",
                "info: NS: We are still alive!",
            ]
        );
        assert!(api.take_sent().is_empty());
        let back = m(&[
            ("t", "NS_st"),
            ("st", "ping"),
            ("info", "ping"),
            ("src", "198.51.100.100"),
        ]);
        core.handle_message(t0, &mut api, &back);
        assert_eq!(
            info(&mut core),
            [
                "info: Status update: Node 198.51.100.100 now has status ping",
                "info: A ping node just came up.",
                "info: Asking other side for ping node count.",
            ]
        );
        assert_eq!(
            api.take_sent(),
            sent_one(Some("b"), "t=num_ping_nodes|src=a|num_ping=1")
        );
        // other statuses are only logged; the type is matched without regard to case
        core.handle_message(
            t0,
            &mut api,
            &m(&[("t", "STATUS"), ("src", "b"), ("st", "active")]),
        );
        assert_eq!(
            logs(&mut core),
            ["info: Status update: Node b now has status active"]
        );
        assert!(api.take_sent().is_empty());
    }

    #[test]
    fn odd_messages_do_not_panic_and_do_what_the_library_would() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        let t0 = Instant::now();
        // no num_ping: counts as 0, so we see more
        core.handle_message(t0, &mut api, &m(&[("t", "num_ping_nodes"), ("src", "b")]));
        assert_eq!(api.take_sent(), sent_one(Some("b"), "t=you_are_dead"));
        // num_ping with junk after the number
        core.handle_message(
            t0,
            &mut api,
            &m(&[("t", "num_ping_nodes"), ("num_ping", " 3x")]),
        );
        assert_eq!(core.giveup().map(|g| g.what), Some("all"));
        logs(&mut core);
        // no st, no src
        core.handle_message(t0, &mut api, &m(&[("t", "status")]));
        assert_eq!(
            logs(&mut core),
            ["info: Status update: Node (null) now has status (null)"]
        );
        core.handle_message(t0, &mut api, &m(&[("t", "ifstat")]));
        assert_eq!(
            logs(&mut core),
            ["info: Link Status update: Link (null)/(null) now has status (null)"]
        );
        core.handle_message(t0, &mut api, &m(&[("t", "hbapi-clstat"), ("st", "join")]));
        core.handle_message(t0, &mut api, &m(&[("t", "resource"), ("src", "b")]));
        core.handle_message(t0, &mut api, &m(&[("from_id", "ipfail")]));
        core.handle_message(t0, &mut api, &m(&[("t", "ask_resources"), ("src", "b")]));
        // a sequenced client message without src is dropped by the library
        let mut no_src = num_ping("b", "9");
        no_src.remove("src");
        core.handle_message(t0, &mut api, &no_src);
        // a type the library matches exactly
        core.handle_message(t0, &mut api, &m(&[("t", "YOU_ARE_DEAD")]));
        assert!(logs(&mut core).is_empty());
        assert!(api.take_sent().is_empty());
    }

    #[test]
    fn a_failed_walk_while_counting_ends_ipfail() {
        let mut api = Fake::new();
        let mut core = started(&mut api);
        api.list_ok = false;
        let t0 = Instant::now();
        core.handle_message(t0, &mut api, &m(&[("t", "you_are_dead")]));
        core.handle_message(t0, &mut api, &num_ping("b", "0"));
        assert_eq!(core.exit_code(), Some(16));
        assert_eq!(
            info(&mut core)[2..],
            ["ERROR: Cannot start node walk", "ERROR: REASON: the reason"]
        );
        // nothing more happens
        assert_eq!(core.poll_timeout(), None);
        core.handle_timeout(t0 + Duration::from_secs(1), &mut api);
        core.handle_message(t0, &mut api, &m(&[("t", "abort_giveup")]));
        assert!(logs(&mut core).is_empty());
        assert!(api.take_sent().is_empty());
    }

    #[test]
    fn without_a_peer_nothing_is_sent_to_it() {
        let mut api = Fake::new();
        api.nodes.retain(|n| n.0 != "b");
        let mut core = started(&mut api);
        assert_eq!(core.other(), "");
        core.handle_message(Instant::now(), &mut api, &num_ping("b", "0"));
        assert!(api.take_sent().is_empty());
        assert!(logs(&mut core).contains(&"debug: Message [you_are_dead] sent.".to_string()));
    }

    #[test]
    fn booleans_and_line_formats() {
        for (s, v) in [
            ("true", Some(true)),
            ("On", Some(true)),
            ("1", Some(true)),
            ("no", Some(false)),
            ("N", Some(false)),
            ("0", Some(false)),
            ("", None),
            ("legacy", None),
            ("yes ", None),
        ] {
            assert_eq!(str_to_boolean(s), v, "{s:?}");
        }
        assert_eq!(Level::Debug.priority(), libc::LOG_DEBUG);
    }
}
