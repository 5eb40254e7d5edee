#![no_main]
//! The API server driven by any sequence of events a local user and the cluster can cause:
//! connections (any credentials), bytes (raw, or well-formed sign-ons and requests so the
//! fuzzer gets past the gates), disconnections, time passing, the daemon sending (or
//! refusing) what the server queued, deliveries, status changes, evictions. Nothing may
//! panic, and the server's queues stay within their limits.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

use hb_api::frame::frame;
use hb_api::proto::{
    AuthEntry, AuthTable, ClientId, ClusterView, Config, Creds, LinkInfo, NodeInfo, NodeKind,
    Processes, Server,
};
use hb_api::text;
use hb_wire::Message;

struct View;

impl ClusterView for View {
    fn my_node(&self) -> String {
        "a".into()
    }
    fn nodes(&self) -> Vec<NodeInfo> {
        let n = |name: &str, kind, status: &str| NodeInfo {
            name: name.into(),
            kind,
            status: status.into(),
            weight: 100,
            site: String::new(),
        };
        vec![
            n("a", NodeKind::Normal, "active"),
            n("b", NodeKind::Normal, "active"),
            n("198.51.100.100", NodeKind::Ping, "ping"),
        ]
    }
    fn links(&self, node: &str) -> Vec<LinkInfo> {
        vec![LinkInfo {
            name: if node.starts_with("198.") { node.into() } else { "eth1".into() },
            status: "up".into(),
        }]
    }
    fn resource_status(&self) -> Option<String> {
        Some("local".into())
    }
    fn parameter(&self, name: &str) -> Option<String> {
        (name == "keepalive").then(|| "200ms".into())
    }
    fn deadtime_ms(&self) -> u64 {
        1000
    }
    fn keepalive_ms(&self) -> u64 {
        200
    }
    fn node_uuid(&self, node: &str) -> Option<[u8; 16]> {
        (node == "b").then_some([2; 16])
    }
}

/// Every pid lives but those divisible by 7.
struct Procs;

impl Processes for Procs {
    fn signal(&mut self, pid: i32, _sig: i32) -> bool {
        pid > 0 && pid % 7 != 0
    }
}

const CONNS: usize = 6;
const REQS: &[&str] = &[
    "signoff", "setfilter", "setsignal", "nodelist", "nodestatus", "nodeweight", "nodesite",
    "nodetype", "numnodes", "iflist", "ifstatus", "clientstatus", "getparm", "getrsc",
    "getuuid", "getnodename", "set_sendqlen", "nosuch",
];
const VALUES: &[&str] = &["a", "b", "c", "198.51.100.100", "eth1", "ipfail", "3f", "-1", "", "0x10", "99999999999"];

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[usize::from(self.byte()) % from.len()]
    }
}

fuzz_target!(|data: &[u8]| {
    let e = |c: &str, uids: Vec<u32>, gids: Vec<u32>| AuthEntry {
        client: c.into(),
        uids,
        gids,
    };
    let cfg = Config {
        auth: AuthTable {
            entries: vec![
                e("anon", vec![0], vec![105]),
                e("ipfail", vec![102], vec![]),
                e("ping", vec![], vec![105]),
            ],
        },
        max_clients: 4,
        max_per_uid: 2,
        max_queue_msgs: 8,
        max_queue_bytes: 4096,
        cluster_burst: 4,
        cluster_rate: 10,
        client_send_queue: 3,
        max_send_queue: 8,
        signon_timeout: Duration::from_secs(1),
        log_interval: Duration::from_secs(1),
        ..Config::default()
    };
    let max_send = cfg.max_send_queue;
    let mut s = Server::new(cfg, Box::new(Procs));
    let v = View;
    let mut now = Instant::now();
    let mut inp = Input(data);
    let mut ops = 0;
    while !inp.0.is_empty() && ops < 2000 {
        ops += 1;
        let op = inp.byte();
        let c = usize::from(op >> 4) % CONNS;
        let id = ClientId(c);
        s.set_time(now);
        match op & 0x0f {
            0 => {
                let k = inp.byte();
                let uid = [0, 102, 1000, 1001][usize::from(k & 3)];
                let gid = [0, 105, 1000][usize::from(k >> 2) % 3];
                let pid = 100 + i32::from(k >> 4);
                if s.is_open(id) {
                    continue;
                }
                s.forget(id);
                let _ = s.handle_connect(now, id, Creds { pid, uid, gid });
            }
            1 => {
                let n = usize::from(inp.byte());
                let b = inp.bytes(n);
                s.handle_bytes(&v, id, b);
            }
            2 => s.handle_disconnect(&v, id),
            3 => {
                now += Duration::from_millis(u64::from(inp.byte()) * 20);
                s.handle_timeout(&v, now);
            }
            4 => {
                let refuse = inp.byte();
                while let Some(o) = s.poll_send(now) {
                    if refuse & 1 == 1 {
                        s.send_failed(&v, &o, "too big");
                    } else {
                        let mut m = o.msg;
                        m.set_str("src", "a");
                        s.deliver(&v, &m);
                    }
                }
            }
            5 => {
                let part = usize::from(inp.byte());
                for d in s.take_dirty() {
                    let n = s.output(d).len().min(part * 16);
                    s.consume_output(d, n);
                    s.flushed(&v, d);
                }
            }
            6 => {
                while let Some(x) = s.poll_close() {
                    s.forget(x);
                }
            }
            7 => {
                for r in s.take_resumed() {
                    s.handle_bytes(&v, r, &[]);
                }
            }
            8 => {
                let n = usize::from(inp.byte());
                if let Ok(m) = text::parse(inp.bytes(n)) {
                    s.deliver(&v, &m);
                }
            }
            9 => {
                let k = inp.byte();
                let peer = Creds { pid: 1, uid: u32::from(k & 1) * 1000, gid: 0 };
                // As the socket layer: the victim is closed at once and its slot reused.
                if let Some(victim) = s.evict_for(&v, now, peer) {
                    s.forget(victim);
                    let _ = s.handle_connect(now, victim, peer);
                }
            }
            10 => {
                let node = inp.pick(VALUES);
                let st = inp.pick(&["dead", "active", "up", "ping", "init"]);
                s.node_status_changed(&v, node, st, 0x6b06d934);
                s.link_status_changed(&v, node, "eth1", op & 0x80 != 0);
            }
            11 => {
                // A well-formed sign-on, named or casual, with the connection's credentials
                // or others.
                let k = inp.byte();
                let pid = (100 + i32::from(k >> 4)).to_string();
                let name = inp.pick(&["", "ipfail", "ping", "other"]);
                let from = if name.is_empty() { pid.as_str() } else { name };
                let uid = ["0", "102", "1000"][usize::from(k & 3) % 3];
                let gid = ["0", "105"][usize::from(k >> 2) & 1];
                let m = text::msg(&[
                    ("t", "hbapi-req"),
                    ("reqtype", "signon"),
                    ("pid", &pid),
                    ("from_id", from),
                    ("uid", uid),
                    ("gid", gid),
                ]);
                if let Ok(b) = text::encode(&m) {
                    s.handle_bytes(&v, id, &frame(&b));
                }
            }
            12 => {
                // A request or a cluster message as a signed-on client would send it.
                let k = inp.byte();
                let pid = (100 + i32::from(k >> 4)).to_string();
                let mut m = Message::new();
                if k & 1 == 0 {
                    m.push_str("t", "hbapi-req");
                    m.push_str("reqtype", inp.pick(REQS));
                } else {
                    m.push_str("t", inp.pick(&["shutdone", "num_ping_nodes", "ask_resources", "NS_ackmsg", "status", "x"]));
                }
                m.push_str("pid", &pid);
                m.push_str("from_id", inp.pick(&["ipfail", "ping", &pid]));
                for f in ["node", "cn", "pname", "ifname", "fmask", "signal", "sendqlen", "queryname"] {
                    if inp.byte() & 1 == 1 {
                        m.push_str(f, inp.pick(VALUES));
                    }
                }
                let reps = usize::from(inp.byte() % 8) + 1;
                if let Ok(b) = text::encode(&m) {
                    let f = frame(&b);
                    for _ in 0..reps {
                        s.handle_bytes(&v, id, &f);
                    }
                }
            }
            _ => while s.poll_log().is_some() {},
        }
        let _ = s.wants_input(id);
        assert!(
            s.queued_to_cluster() <= max_send + 2 * CONNS + 3,
            "{} waiting for the cluster",
            s.queued_to_cluster()
        );
        let _ = s.poll_timeout();
    }
    let _ = s.drop_counts();
    let _ = s.clients();
});
