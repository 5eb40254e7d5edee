//! A test daemon: the API socket in a temporary directory, run by a mio loop in a thread,
//! answering from a fake cluster (nodes a, b, c and a ping node; this node is `a`).
//!
//! Like the real daemon, it "sends" what the server asks (recorded in `sent`) and
//! processes it locally: a message for this node or for everyone comes back to the
//! clients through `deliver`. A `query-cstatus` for node `b` is answered as b's daemon
//! would (ipfail online there); node `c` never answers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hb_api::proto::{AuthEntry, AuthTable, ClusterView, Config, LinkInfo, NodeInfo, NodeKind};
use hb_api::socket::ApiSocket;
use hb_wire::Message;
use mio::{Events, Poll, Token};

pub struct FakeView {
    pub nodes: Vec<NodeInfo>,
    pub links: HashMap<String, Vec<LinkInfo>>,
    pub params: HashMap<String, String>,
    pub rsc: Option<String>,
}

impl FakeView {
    pub fn new() -> FakeView {
        let node = |name: &str, kind, status: &str, weight| NodeInfo {
            name: name.into(),
            kind,
            status: status.into(),
            weight,
            site: String::new(),
        };
        let link = |name: &str, status: &str| LinkInfo {
            name: name.into(),
            status: status.into(),
        };
        let mut links = HashMap::new();
        links.insert("a".into(), vec![link("eth1", "up"), link("eth0", "up")]);
        links.insert("b".into(), vec![link("eth1", "up"), link("eth0", "dead")]);
        links.insert("c".into(), vec![link("eth1", "dead")]);
        links.insert("198.51.100.100".into(), vec![link("198.51.100.100", "up")]);
        let mut params = HashMap::new();
        for (k, v) in [
            ("keepalive", "200ms"),
            ("deadtime", "1"),
            ("auto_failback", "on"),
            ("udpport", "694"),
        ] {
            params.insert(k.into(), v.into());
        }
        FakeView {
            nodes: vec![
                node("a", NodeKind::Normal, "active", 100),
                node("b", NodeKind::Normal, "active", 80),
                node("c", NodeKind::Normal, "active", 100),
                node("198.51.100.100", NodeKind::Ping, "ping", 100),
            ],
            links,
            params,
            rsc: Some("local".into()),
        }
    }
}

impl ClusterView for FakeView {
    fn my_node(&self) -> String {
        "a".into()
    }
    fn nodes(&self) -> Vec<NodeInfo> {
        self.nodes.clone()
    }
    fn links(&self, node: &str) -> Vec<LinkInfo> {
        self.links.get(node).cloned().unwrap_or_default()
    }
    fn resource_status(&self) -> Option<String> {
        self.rsc.clone()
    }
    fn parameter(&self, name: &str) -> Option<String> {
        self.params.get(name).cloned()
    }
    fn deadtime_ms(&self) -> u64 {
        1000
    }
    fn keepalive_ms(&self) -> u64 {
        200
    }
    fn log_facility(&self) -> i32 {
        16
    }
}

/// Something the test asks the loop to do.
pub enum Inject {
    Deliver(Message),
    NodeStatus(String, String),
    LinkStatus(String, String, bool),
}

#[derive(Default)]
pub struct Shared {
    pub logs: Vec<String>,
    pub sent: Vec<Message>,
    pub inject: Vec<Inject>,
    /// Longest time one turn of the loop took (events + flush), in ms.
    pub longest_turn_ms: u128,
}

pub struct TestServer {
    pub dir: PathBuf,
    pub path: PathBuf,
    pub shared: Arc<Mutex<Shared>>,
    pub view: Arc<Mutex<FakeView>>,
    pub connections: Arc<AtomicUsize>,
    pub buffered: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary directory (removed by the server's drop).
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("hb-api-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// apiauth for the tests: anon and ipfail allow whoever runs the tests; `nobody-else`
/// allows uid 4242 only; no `default`.
pub fn test_auth() -> AuthTable {
    // SAFETY: no memory effects.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let e = |c: &str, uids: Vec<u32>, gids: Vec<u32>| AuthEntry {
        client: c.into(),
        uids,
        gids,
    };
    AuthTable {
        entries: vec![
            e("anon", vec![uid], vec![gid]),
            e("ipfail", vec![uid], vec![]),
            e("nobody-else", vec![4242], vec![]),
        ],
    }
}

impl TestServer {
    /// With every log line written (no rate limit), for the tests that check their texts.
    pub fn start(tag: &str) -> TestServer {
        TestServer::start_with(
            tag,
            Config {
                auth: test_auth(),
                log_interval: Duration::ZERO,
                ..Config::default()
            },
        )
    }

    pub fn start_with(tag: &str, cfg: Config) -> TestServer {
        TestServer::start_with_view(tag, cfg, FakeView::new())
    }

    pub fn start_with_view(tag: &str, cfg: Config, view: FakeView) -> TestServer {
        let dir = temp_dir(tag);
        // A missing directory is created, as /var/run/heartbeat would be.
        let path = dir.join("heartbeat").join("register");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let view = Arc::new(Mutex::new(view));
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let buffered = Arc::new(AtomicUsize::new(0));
        let mut poll = Poll::new().unwrap();
        let mut api = ApiSocket::bind(&path, Token(1000), cfg).unwrap();
        api.register(poll.registry()).unwrap();
        let (sh, vw, st, cn, bf) = (
            shared.clone(),
            view.clone(),
            stop.clone(),
            connections.clone(),
            buffered.clone(),
        );
        let thread = std::thread::spawn(move || {
            let mut events = Events::with_capacity(256);
            while !st.load(Ordering::SeqCst) {
                let timeout = api
                    .server()
                    .poll_timeout()
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_millis(10))
                    .min(Duration::from_millis(10));
                poll.poll(&mut events, Some(timeout)).unwrap();
                let t0 = Instant::now();
                let v = vw.lock().unwrap();
                for ev in events.iter() {
                    assert!(api.owns(ev.token()));
                    api.on_event(poll.registry(), &*v, ev, Instant::now());
                }
                let injected = std::mem::take(&mut sh.lock().unwrap().inject);
                for i in injected {
                    match i {
                        Inject::Deliver(m) => api.server_mut().deliver(&*v, &m),
                        Inject::NodeStatus(n, s) => api
                            .server_mut()
                            .node_status_changed(&*v, &n, &s, 0x6b06d934),
                        Inject::LinkStatus(n, l, up) => {
                            api.server_mut().link_status_changed(&*v, &n, &l, up)
                        }
                    }
                }
                if api
                    .server()
                    .poll_timeout()
                    .is_some_and(|t| t <= Instant::now())
                {
                    api.server_mut().handle_timeout(&*v, Instant::now());
                }
                // The daemon's side: send, process locally, answer queries for b.
                for _ in 0..8 {
                    api.flush(poll.registry(), &*v);
                    let mut sent = Vec::new();
                    while let Some(o) = api.server_mut().poll_send(Instant::now()) {
                        sent.push(o.msg);
                    }
                    if sent.is_empty() {
                        break;
                    }
                    for mut m in sent {
                        sh.lock().unwrap().sent.push(m.clone());
                        if m.get("src").is_none() {
                            m.push_str("src", "a");
                        }
                        api.server_mut().deliver(&*v, &m);
                        if m.msg_type() == Some("query-cstatus") && m.get("dest") == Some("b") {
                            let mut r = Message::new();
                            r.push_str("t", "respond-cstatus")
                                .push_str("dest", "a")
                                .push_str("result", "OK")
                                .push_str("cn", m.get("cn").unwrap_or(""))
                                .push_str("to_id", m.get("from_id").unwrap_or(""))
                                .push_str(
                                    "cs",
                                    if m.get("cn") == Some("ipfail") {
                                        "online"
                                    } else {
                                        "offline"
                                    },
                                )
                                .push_str("src", "b");
                            api.server_mut().deliver(&*v, &r);
                        }
                    }
                }
                let mut s = sh.lock().unwrap();
                while let Some((_, l)) = api.server_mut().poll_log() {
                    s.logs.push(l);
                }
                s.longest_turn_ms = s.longest_turn_ms.max(t0.elapsed().as_millis());
                cn.store(api.connections(), Ordering::SeqCst);
                bf.store(api.server().buffered_bytes(), Ordering::SeqCst);
            }
        });
        TestServer {
            dir,
            path,
            shared,
            view,
            connections,
            buffered,
            stop,
            thread: Some(thread),
        }
    }

    pub fn inject(&self, i: Inject) {
        self.shared.lock().unwrap().inject.push(i);
    }

    pub fn logs(&self) -> Vec<String> {
        self.shared.lock().unwrap().logs.clone()
    }

    pub fn has_log(&self, needle: &str) -> bool {
        self.logs().iter().any(|l| l.contains(needle))
    }

    pub fn sent(&self) -> Vec<Message> {
        self.shared.lock().unwrap().sent.clone()
    }

    /// Polls `f` every 10 ms for at most `secs` seconds.
    pub fn wait_for(&self, secs: u64, mut f: impl FnMut(&TestServer) -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        f(self)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
