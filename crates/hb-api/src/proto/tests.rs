//! Unit tests of the server core, with a fake cluster and fake processes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hb_wire::{Message, Value};

use super::*;
use crate::frame::{frame, Decoder, MAGIC};
use crate::text::{self, msg, one_line};

pub(crate) struct View {
    pub me: String,
    pub nodes: Vec<NodeInfo>,
    pub links: HashMap<String, Vec<LinkInfo>>,
    pub rsc: Option<String>,
    pub params: HashMap<String, String>,
    pub uuids: HashMap<String, [u8; 16]>,
}

impl View {
    pub(crate) fn two_nodes() -> View {
        let node = |name: &str, kind, status: &str| NodeInfo {
            name: name.into(),
            kind,
            status: status.into(),
            weight: 100,
            site: String::new(),
        };
        let link = |name: &str, status: &str| LinkInfo {
            name: name.into(),
            status: status.into(),
        };
        let mut links = HashMap::new();
        links.insert("a".into(), vec![link("eth1", "up"), link("eth1", "up")]);
        links.insert("b".into(), vec![link("eth1", "up"), link("eth1", "dead")]);
        links.insert("198.51.100.100".into(), vec![link("198.51.100.100", "up")]);
        let mut params = HashMap::new();
        params.insert("keepalive".into(), "200ms".into());
        params.insert("auto_failback".into(), "on".into());
        let mut uuids = HashMap::new();
        uuids.insert("b".into(), [2u8; 16]);
        View {
            me: "a".into(),
            nodes: vec![
                node("a", NodeKind::Normal, "active"),
                node("b", NodeKind::Normal, "active"),
                node("198.51.100.100", NodeKind::Ping, "ping"),
            ],
            links,
            rsc: Some("local".into()),
            params,
            uuids,
        }
    }
}

impl ClusterView for View {
    fn my_node(&self) -> String {
        self.me.clone()
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
    fn node_uuid(&self, node: &str) -> Option<[u8; 16]> {
        self.uuids.get(node).copied()
    }
}

#[derive(Default)]
struct ProcState {
    dead: HashSet<i32>,
    signals: Vec<(i32, i32)>,
}

#[derive(Clone, Default)]
struct Procs(Arc<Mutex<ProcState>>);

impl Processes for Procs {
    fn signal(&mut self, pid: i32, sig: i32) -> bool {
        let mut s = self.0.lock().unwrap();
        s.signals.push((pid, sig));
        !s.dead.contains(&pid)
    }
}

fn auth() -> AuthTable {
    let e = |c: &str, uids: &[u32], gids: &[u32]| AuthEntry {
        client: c.into(),
        uids: uids.to_vec(),
        gids: gids.to_vec(),
    };
    AuthTable {
        entries: vec![
            e("ipfail", &[102], &[]),
            e("anon", &[0], &[105]),
            e("watcher", &[0, 1000], &[]),
        ],
    }
}

struct H {
    s: Server,
    v: View,
    p: Procs,
    now: Instant,
    dec: HashMap<usize, Decoder>,
}

impl H {
    /// With every log line written (no rate limit), to check their texts; the tests of
    /// the rate limits use [`H::with`] and the default interval.
    fn new() -> H {
        H::with(Config {
            auth: auth(),
            log_interval: Duration::ZERO,
            ..Config::default()
        })
    }

    fn with(cfg: Config) -> H {
        let p = Procs::default();
        H {
            s: Server::new(cfg, Box::new(p.clone())),
            v: View::two_nodes(),
            p,
            now: Instant::now(),
            dec: HashMap::new(),
        }
    }

    fn connect(&mut self, c: usize, pid: i32, uid: u32, gid: u32) -> bool {
        self.s
            .handle_connect(self.now, ClientId(c), Creds { pid, uid, gid })
    }

    fn send(&mut self, c: usize, m: &Message) {
        let f = frame(&text::encode(m).unwrap());
        self.s.set_time(self.now);
        self.s.handle_bytes(&self.v, ClientId(c), &f);
    }

    /// Everything written to connection `c` since the last call, as one-line messages.
    fn got(&mut self, c: usize) -> Vec<String> {
        let out = self.s.output(ClientId(c)).to_vec();
        self.s.consume_output(ClientId(c), out.len());
        let d = self.dec.entry(c).or_insert_with(|| Decoder::new(1 << 20));
        d.push(&out);
        let mut v = Vec::new();
        while let Some(b) = d.next_body().unwrap() {
            assert_eq!(b.last(), Some(&0), "every body ends with a NUL");
            v.push(one_line(&text::parse(&b).unwrap()));
        }
        v
    }

    fn sent(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(o) = self.s.poll_send(self.now) {
            v.push(one_line(&o.msg));
        }
        v
    }

    fn logs(&mut self) -> Vec<String> {
        let mut v = Vec::new();
        while let Some((_, l)) = self.s.poll_log() {
            v.push(l);
        }
        v
    }

    fn closes(&mut self) -> Vec<usize> {
        let mut v = Vec::new();
        while let Some(c) = self.s.poll_close() {
            v.push(c.0);
        }
        v
    }

    fn signon(
        &mut self,
        c: usize,
        name: Option<&str>,
        pid: i32,
        uid: u32,
        gid: u32,
    ) -> Vec<String> {
        assert!(self.connect(c, pid, uid, gid));
        let p = pid.to_string();
        let id = name.map_or(p.clone(), str::to_string);
        let (u, g) = (uid.to_string(), gid.to_string());
        self.send(
            c,
            &msg(&[
                ("t", "hbapi-req"),
                ("reqtype", "signon"),
                ("dest", "a"),
                ("pid", &p),
                ("from_id", &id),
                ("uid", &u),
                ("gid", &g),
            ]),
        );
        self.got(c)
    }

    fn req(
        &mut self,
        c: usize,
        pid: i32,
        id: &str,
        reqtype: &str,
        extra: &[(&str, &str)],
    ) -> Vec<String> {
        let p = pid.to_string();
        let mut m = msg(&[
            ("t", "hbapi-req"),
            ("reqtype", reqtype),
            ("dest", "a"),
            ("pid", &p),
            ("from_id", id),
        ]);
        for (k, v) in extra {
            m.push_str(k, v);
        }
        self.send(c, &m);
        self.got(c)
    }

    /// A signed-on casual client on connection `c` with pid `pid` (root).
    fn casual(&mut self, c: usize, pid: i32) {
        let r = self.signon(c, None, pid, 0, 0);
        assert_eq!(r.len(), 1);
        assert!(r[0].contains("result=OK"), "{r:?}");
    }
}

const OK_SIGNON: &str =
    "t=hbapi-resp|reqtype=signon|result=OK|deadtime=3e8|keepalive=c8|node=a|logfacility=-1";

#[test]
fn casual_signon_reply_is_the_originals() {
    let mut h = H::new();
    assert_eq!(h.signon(1, None, 500, 0, 0), vec![OK_SIGNON]);
    assert!(h.sent().is_empty(), "casual clients produce no join notice");
    let info = h.s.clients();
    assert_eq!(info[0].client_id.as_deref(), Some("500"));
    assert!(info[0].casual);
    assert_eq!(info[0].fmask, KEEPIT);
}

#[test]
fn named_signon_sends_a_join_notice() {
    let mut h = H::new();
    assert_eq!(h.signon(1, Some("ipfail"), 700, 102, 105), vec![OK_SIGNON]);
    assert_eq!(
        h.sent(),
        vec!["t=hbapi-clstat|st=join|from_id=ipfail|to_id=ipfail|src=a|info=signon|client_gen=0"]
    );
    // The notice comes back through the daemon's local processing: only ipfail gets it.
    h.casual(2, 701);
    let n = msg(&[
        ("t", "hbapi-clstat"),
        ("st", "join"),
        ("from_id", "ipfail"),
        ("to_id", "ipfail"),
        ("src", "a"),
        ("info", "signon"),
        ("client_gen", "0"),
    ]);
    h.s.deliver(&h.v, &n);
    assert_eq!(h.got(1).len(), 1);
    assert!(h.got(2).is_empty());
}

#[test]
fn signon_failures_answer_badreq_then_close() {
    let mut h = H::new();
    // Bad pid: the process does not exist.
    h.p.0.lock().unwrap().dead.insert(999);
    let r = h.signon(1, Some("ipfail"), 999, 102, 105);
    assert_eq!(
        r,
        vec![
            "t=hbapi-resp|reqtype=signon|info=bad pid|result=badreq|deadtime=3e8|keepalive=c8|node=a|logfacility=-1",
            "t=hbapi-clstat|st=leave|from_id=|to_id=|src=a|info=bad pid|client_gen=0",
        ]
    );
    assert_eq!(h.closes(), vec![1]);
    assert!(h
        .logs()
        .iter()
        .any(|l| l == "api_add_client: bad pid [999]"));
    h.s.forget(ClientId(1));

    // Duplicate id.
    h.signon(2, Some("ipfail"), 700, 102, 105);
    h.sent();
    let r = h.signon(3, Some("ipfail"), 701, 102, 105);
    assert!(
        r[0].contains("info=duplicate add request|result=badreq"),
        "{r:?}"
    );
    assert_eq!(
        r[1],
        "t=hbapi-clstat|st=leave|from_id=|to_id=|src=a|info=duplicate add request|client_gen=2"
    );
    assert_eq!(h.closes(), vec![3]);

    // Credentials claimed differ from the socket's.
    let r = h.signon(4, Some("ccmx"), 702, 102, 105);
    assert!(r[0].contains("info=no default client auth"), "{r:?}");
    assert_eq!(r[1], "t=hbapi-clstat|st=leave|from_id=ccmx|to_id=ccmx|src=a|info=no default client auth|client_gen=3");
    assert!(h
        .logs()
        .iter()
        .any(|l| l == "Client [ccmx] pid 702 failed authorization [no default client auth]"));

    // Casual client refused by anon: reply only, no notice.
    let r = h.signon(5, None, 703, 1000, 1000);
    assert_eq!(r.len(), 1);
    assert!(r[0].contains("info=client failed authorization|result=badreq"));

    // Wrong claimed uid.
    assert!(h.connect(6, 704, 1000, 105));
    h.send(
        6,
        &msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "signon"),
            ("pid", "704"),
            ("from_id", "704"),
            ("uid", "0"),
            ("gid", "105"),
        ]),
    );
    assert!(h.got(6)[0].contains("info=incorrect/false credentials"));

    // Missing gid.
    assert!(h.connect(7, 705, 0, 0));
    h.send(
        7,
        &msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "signon"),
            ("pid", "705"),
            ("uid", "0"),
        ]),
    );
    assert!(h.got(7)[0].contains("info=invalid id info"));

    // The socket's pid is not the claimed one.
    assert!(h.connect(8, 706, 0, 0));
    h.send(
        8,
        &msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "signon"),
            ("pid", "1"),
            ("from_id", "1"),
            ("uid", "0"),
            ("gid", "0"),
        ]),
    );
    assert!(h.got(8)[0].contains("info=pid mismatch"));
    let closed = h.closes();
    for c in [4, 5, 6, 7, 8] {
        assert!(closed.contains(&c), "{c} not closed: {closed:?}");
    }
}

#[test]
fn first_message_must_be_a_signon() {
    let mut h = H::new();
    assert!(h.connect(1, 500, 0, 0));
    h.send(
        1,
        &msg(&[("t", "hbapi-req"), ("reqtype", "nodelist"), ("pid", "500")]),
    );
    assert!(h.got(1).is_empty());
    assert_eq!(h.closes(), vec![1]);
    assert!(h
        .logs()
        .iter()
        .any(|l| l.starts_with("api_process_registration_msg: bad message")));
}

#[test]
fn every_request() {
    let mut h = H::new();
    h.casual(1, 500);
    let mut q = |r: &str, x: &[(&str, &str)]| h.req(1, 500, "500", r, x);
    assert_eq!(
        q("nodelist", &[]),
        vec![
            "t=hbapi-resp|reqtype=nodelist|node=a|result=ok/more",
            "t=hbapi-resp|reqtype=nodelist|node=b|result=ok/more",
            "t=hbapi-resp|reqtype=nodelist|node=198.51.100.100|result=OK",
        ]
    );
    assert_eq!(
        q("nodestatus", &[("node", "b")]),
        vec!["t=hbapi-resp|reqtype=nodestatus|st=active|result=OK"]
    );
    assert_eq!(
        q("nodestatus", &[("node", "B")]),
        vec!["t=hbapi-resp|reqtype=nodestatus|st=active|result=OK"]
    );
    assert_eq!(
        q("nodestatus", &[("node", "zz")]),
        vec!["t=hbapi-resp|reqtype=nodestatus|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("nodestatus", &[]),
        vec!["t=hbapi-resp|reqtype=nodestatus|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("nodeweight", &[("node", "a")]),
        vec!["t=hbapi-resp|reqtype=nodeweight|weight=100|result=OK"]
    );
    assert_eq!(
        q("nodesite", &[("node", "a")]),
        vec!["t=hbapi-resp|reqtype=nodesite|site=|result=OK"]
    );
    assert_eq!(
        q("nodetype", &[("node", "198.51.100.100")]),
        vec!["t=hbapi-resp|reqtype=nodetype|nodetype=ping|result=OK"]
    );
    assert_eq!(
        q("nodetype", &[("node", "a")]),
        vec!["t=hbapi-resp|reqtype=nodetype|nodetype=normal|result=OK"]
    );
    assert_eq!(
        q("numnodes", &[]),
        vec!["t=hbapi-resp|reqtype=numnodes|numnodes=2|result=OK"]
    );
    assert_eq!(
        q("iflist", &[("node", "b")]),
        vec![
            "t=hbapi-resp|reqtype=iflist|ifname=eth1|result=ok/more",
            "t=hbapi-resp|reqtype=iflist|ifname=eth1|result=OK",
        ]
    );
    assert_eq!(
        q("iflist", &[("node", "198.51.100.100")]),
        vec!["t=hbapi-resp|reqtype=iflist|ifname=198.51.100.100|result=OK"]
    );
    assert_eq!(
        q("iflist", &[("node", "x")]),
        vec!["t=hbapi-resp|reqtype=iflist|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("ifstatus", &[("node", "b"), ("ifname", "eth1")]),
        vec!["t=hbapi-resp|reqtype=ifstatus|st=up|result=OK"]
    );
    assert_eq!(
        q("ifstatus", &[("node", "b"), ("ifname", "eth9")]),
        vec!["t=hbapi-resp|reqtype=ifstatus|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("clientstatus", &[("node", "a"), ("cn", "500")]),
        vec!["t=hbapi-resp|reqtype=clientstatus|subt=respond-cstatus|cs=online|result=OK"]
    );
    assert_eq!(
        q("clientstatus", &[("node", "a"), ("cn", "ipfail")]),
        vec!["t=hbapi-resp|reqtype=clientstatus|subt=respond-cstatus|cs=offline|result=OK"]
    );
    assert_eq!(
        q("clientstatus", &[("node", "q"), ("cn", "ipfail")]),
        vec!["t=hbapi-resp|reqtype=clientstatus|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("getparm", &[("pname", "keepalive")]),
        vec!["t=hbapi-resp|reqtype=getparm|pvalue=200ms|result=OK"]
    );
    assert_eq!(
        q("getparm", &[("pname", "hbversion")]),
        vec!["t=hbapi-resp|reqtype=getparm|pvalue=2.0.8|result=OK"]
    );
    assert_eq!(
        q("getparm", &[("pname", "nosuch")]),
        vec!["t=hbapi-resp|reqtype=getparm|result=OK"]
    );
    assert_eq!(
        q("getparm", &[]),
        vec!["t=hbapi-resp|reqtype=getparm|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("getrsc", &[]),
        vec!["t=hbapi-resp|reqtype=getrsc|rsc_hold=local|result=OK"]
    );
    assert_eq!(
        q("getuuid", &[("queryname", "b")]),
        vec!["t=hbapi-resp|reqtype=getuuid|(1)queryuuid=AgICAgICAgICAgICAgICAg==|result=OK"]
    );
    assert_eq!(
        q("getuuid", &[("queryname", "a")]),
        vec!["t=hbapi-resp|reqtype=getuuid|result=OK"]
    );
    assert_eq!(
        q("getuuid", &[]),
        vec!["t=hbapi-resp|reqtype=getuuid|result=badreq|info=no query node name found"]
    );
    assert_eq!(
        q("bogus", &[]),
        vec!["t=hbapi-resp|reqtype=bogus|result=badreq"]
    );
    assert_eq!(
        q("signon", &[]),
        vec!["t=hbapi-resp|reqtype=signon|result=badreq"]
    );
    assert_eq!(
        q("setsignal", &[("signal", "10")]),
        vec!["t=hbapi-resp|reqtype=setsignal|result=OK"]
    );
    assert_eq!(
        q("setsignal", &[("signal", "9")]),
        vec!["t=hbapi-resp|reqtype=setsignal|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("setsignal", &[("signal", "19")]),
        vec!["t=hbapi-resp|reqtype=setsignal|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("setsignal", &[("signal", "32")]),
        vec!["t=hbapi-resp|reqtype=setsignal|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("setsignal", &[("signal", "x")]),
        vec!["t=hbapi-resp|reqtype=setsignal|result=badreq"]
    );
    assert_eq!(
        q("setfilter", &[("fmask", "7")]),
        vec!["t=hbapi-resp|reqtype=setfilter|result=OK"]
    );
    assert_eq!(
        q("setfilter", &[("fmask", "40")]),
        vec!["t=hbapi-resp|reqtype=setfilter|result=badreq|info=EINVAL"]
    );
    assert_eq!(
        q("set_sendqlen", &[("sendqlen", "100")]),
        Vec::<String>::new()
    );
    assert_eq!(q("signoff", &[]), Vec::<String>::new());
    assert_eq!(h.closes(), vec![1]);
    assert!(
        h.sent().is_empty(),
        "a casual client's signoff sends no notice"
    );
    let info = h.s.clients();
    assert_eq!(info[0].signal, 10);
    assert_eq!(info[0].fmask, 7);
}

#[test]
fn getnodename_and_getrsc_without_resources() {
    let mut h = H::new();
    h.v.rsc = None;
    h.casual(1, 500);
    let mut m = msg(&[
        ("t", "hbapi-req"),
        ("reqtype", "getnodename"),
        ("pid", "500"),
        ("from_id", "500"),
    ]);
    m.push_bin("queryuuid", [2u8; 16]);
    h.send(1, &m);
    assert_eq!(
        h.got(1),
        vec!["t=hbapi-resp|reqtype=getnodename|queryname=b|result=OK"]
    );
    let mut m = msg(&[
        ("t", "hbapi-req"),
        ("reqtype", "getnodename"),
        ("pid", "500"),
        ("from_id", "500"),
    ]);
    m.push_bin("queryuuid", [9u8; 16]);
    h.send(1, &m);
    assert_eq!(h.got(1), vec!["t=hbapi-resp|reqtype=getnodename|result=OK"]);
    assert_eq!(
        h.req(1, 500, "500", "getrsc", &[]),
        vec!["t=hbapi-resp|reqtype=getrsc|result=badreq|info=Resource is managed by crm.Use crm tool to query resource"]
    );
}

#[test]
fn setfilter_debug_classes_need_root_or_the_daemon_uid() {
    let mut h = H::with(Config {
        auth: auth(),
        daemon_uid: 1000,
        ..Config::default()
    });
    assert_eq!(
        h.signon(1, Some("watcher"), 600, 1000, 1000),
        vec![OK_SIGNON]
    );
    assert_eq!(
        h.req(1, 600, "watcher", "setfilter", &[("fmask", "3f")]),
        vec!["t=hbapi-resp|reqtype=setfilter|result=OK"]
    );
    let mut h = H::new();
    assert_eq!(
        h.signon(1, Some("watcher"), 600, 1000, 1000),
        vec![OK_SIGNON]
    );
    assert_eq!(
        h.req(1, 600, "watcher", "setfilter", &[("fmask", "5")]),
        vec!["t=hbapi-resp|reqtype=setfilter|result=badreq|info=EPERM"]
    );
    assert_eq!(
        h.req(1, 600, "watcher", "setfilter", &[("fmask", "1")]),
        vec!["t=hbapi-resp|reqtype=setfilter|result=OK"]
    );
}

#[test]
fn remote_clientstatus_goes_to_the_cluster_and_is_answered_there() {
    let mut h = H::new();
    h.casual(1, 500);
    assert!(h
        .req(
            1,
            500,
            "500",
            "clientstatus",
            &[("node", "b"), ("cn", "ipfail")]
        )
        .is_empty());
    assert_eq!(
        h.sent(),
        vec!["t=query-cstatus|dest=b|cn=ipfail|from_id=500"]
    );
    // A dead remote node is answered locally.
    h.v.nodes[1].status = "dead".into();
    assert_eq!(
        h.req(
            1,
            500,
            "500",
            "clientstatus",
            &[("node", "b"), ("cn", "ipfail")]
        ),
        vec!["t=hbapi-resp|reqtype=clientstatus|subt=respond-cstatus|cs=offline|result=OK"]
    );
    // This node answering b's query: ipfail is signed on here.
    h.signon(2, Some("ipfail"), 700, 102, 105);
    h.sent();
    let q = msg(&[
        ("t", "query-cstatus"),
        ("dest", "a"),
        ("cn", "ipfail"),
        ("from_id", "9168"),
        ("src", "b"),
    ]);
    h.s.deliver(&h.v, &q);
    assert_eq!(
        h.sent(),
        vec!["t=respond-cstatus|dest=b|result=OK|cn=ipfail|to_id=9168|cs=online"]
    );
    // The answer that comes back to us goes to the asking client only (by to_id).
    let mut r = msg(&[
        ("t", "respond-cstatus"),
        ("dest", "a"),
        ("result", "OK"),
        ("cn", "ipfail"),
        ("to_id", "500"),
        ("cs", "online"),
    ]);
    r.push_str("src", "b");
    h.s.deliver(&h.v, &r);
    assert_eq!(
        h.got(1),
        vec![
            "t=query-cstatus|dest=a|cn=ipfail|from_id=9168|src=b",
            "t=respond-cstatus|dest=a|result=OK|cn=ipfail|to_id=500|cs=online|src=b",
        ]
    );
    // ipfail got the query (no to_id) but not the answer.
    assert_eq!(
        h.got(2),
        vec!["t=query-cstatus|dest=a|cn=ipfail|from_id=9168|src=b"]
    );
}

#[test]
fn impersonation_gets_no_reply() {
    let mut h = H::new();
    h.casual(1, 500);
    h.casual(2, 501);
    assert!(h.req(2, 500, "500", "nodelist", &[]).is_empty());
    assert!(h
        .logs()
        .iter()
        .any(|l| l == "Client mismatch! (impersonation?)"));
    // Neither pid nor from_id: no reply either.
    h.send(2, &msg(&[("t", "hbapi-req"), ("reqtype", "nodelist")]));
    assert!(h.got(2).is_empty());
    assert!(h.got(1).is_empty());
}

#[test]
fn cluster_messages_of_clients() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.sent();
    h.send(
        1,
        &msg(&[
            ("t", "num_ping_nodes"),
            ("src", "a"),
            ("num_ping", "1"),
            ("dest", "b"),
            ("to_id", "x"),
        ]),
    );
    assert_eq!(
        h.sent(),
        vec!["t=num_ping_nodes|src=a|num_ping=1|dest=b|to_id=ipfail|from_id=ipfail|client_gen=0"]
    );
    // Casual clients may not send: removed.
    h.casual(2, 500);
    h.send(2, &msg(&[("t", "hello")]));
    assert!(h.sent().is_empty());
    assert_eq!(h.closes(), vec![2]);
    assert!(h
        .logs()
        .iter()
        .any(|l| l.contains("general message from casual client!")));
    // A message without t is ignored (the connection stays).
    h.send(1, &msg(&[("x", "1")]));
    assert!(h.closes().is_empty());
}

#[test]
fn named_signoff_and_eof_send_leave_notices() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.sent();
    let r = h.req(1, 700, "ipfail", "signoff", &[]);
    assert_eq!(r.len(), 1, "only the leave notice: {r:?}");
    // The leave notice goes to the client itself first, then to the cluster.
    let leave =
        "t=hbapi-clstat|st=leave|from_id=ipfail|to_id=ipfail|src=a|info=signoff|client_gen=0";
    assert_eq!(h.sent(), vec![leave]);
    assert_eq!(h.closes(), vec![1]);
    h.s.forget(ClientId(1));
    // EOF.
    h.signon(2, Some("ipfail"), 701, 102, 105);
    h.sent();
    h.s.handle_disconnect(&h.v, ClientId(2));
    assert_eq!(
        h.sent(),
        vec!["t=hbapi-clstat|st=leave|from_id=ipfail|to_id=ipfail|src=a|info=EOF|client_gen=1"]
    );
    assert_eq!(h.s.client_count(), 0);
}

#[test]
fn signoff_reply_stream_holds_only_the_leave_notice() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    let r = h.req(1, 700, "ipfail", "signoff", &[]);
    assert_eq!(
        r,
        vec!["t=hbapi-clstat|st=leave|from_id=ipfail|to_id=ipfail|src=a|info=signoff|client_gen=0"]
    );
}

#[test]
fn delivery_classes_and_routing() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.casual(2, 500);
    h.casual(3, 501);
    h.req(3, 501, "501", "setfilter", &[("fmask", "5")]);
    h.sent();
    let m = msg(&[("t", "resource"), ("rsc_hold", "all"), ("src", "b")]);
    h.s.deliver(&h.v, &m);
    for c in [1, 2, 3] {
        assert_eq!(
            h.got(c),
            vec!["t=resource|rsc_hold=all|src=b"],
            "client {c}"
        );
    }
    // For another node: DROPIT, only the client asking for it.
    let m = msg(&[("t", "resource"), ("dest", "b"), ("src", "a")]);
    h.s.deliver(&h.v, &m);
    assert!(h.got(1).is_empty());
    assert!(h.got(2).is_empty());
    assert_eq!(h.got(3).len(), 1);
    // to_id: only that client.
    let m = msg(&[("t", "num_ping_nodes"), ("to_id", "ipfail"), ("src", "b")]);
    h.s.deliver(&h.v, &m);
    assert_eq!(h.got(1).len(), 1);
    assert!(h.got(2).is_empty());
    assert!(h.got(3).is_empty());
    // Requests are shown to clients watching API calls (class APICALL).
    h.req(3, 501, "501", "setfilter", &[("fmask", "11")]);
    h.req(2, 500, "500", "numnodes", &[]);
    assert_eq!(
        h.got(3),
        vec!["t=hbapi-req|reqtype=numnodes|dest=a|pid=500|from_id=500"]
    );
    // Every message is followed by the client's signal (0 probes).
    assert!(h.p.0.lock().unwrap().signals.contains(&(700, 0)));
}

#[test]
fn node_and_link_status_notices() {
    let mut h = H::new();
    h.casual(1, 500);
    h.s.node_status_changed(&h.v, "b", "dead", 0x6b06d934);
    h.s.node_status_changed(&h.v, "198.51.100.100", "dead", 0x6b06d934);
    h.s.node_status_changed(&h.v, "198.51.100.100", "ping", 0x6b06d935);
    h.s.node_status_changed(&h.v, "b", "active", 0x6b06d936);
    h.s.link_status_changed(&h.v, "b", "eth1", false);
    h.s.link_status_changed(&h.v, "b", "eth1", true);
    assert_eq!(
        h.got(1),
        vec![
            "t=status|seq=1|ts=6b06d934|src=b|st=dead",
            "t=status|seq=1|ts=6b06d934|src=198.51.100.100|st=dead|info=ping",
            "t=NS_st|st=ping|info=ping|src=198.51.100.100|ts=6b06d935",
            "t=status|st=active|src=b|ts=6b06d936",
            "t=ifstat|node=b|ifname=eth1|st=dead",
            "t=ifstat|node=b|ifname=eth1|st=up",
        ]
    );
}

#[test]
fn broken_frames_drop_the_connection() {
    let mut h = H::new();
    h.casual(1, 500);
    // Oversized: refused from the header alone.
    let mut head = Vec::new();
    head.extend_from_slice(&(1i32 << 20).to_ne_bytes());
    head.extend_from_slice(&MAGIC.to_ne_bytes());
    h.s.handle_bytes(&h.v, ClientId(1), &head);
    assert_eq!(h.closes(), vec![1]);
    assert!(h.logs().iter().any(|l| l.contains("out of range")));
    // Bad magic.
    h.casual(2, 501);
    h.s.handle_bytes(&h.v, ClientId(2), b"\x05\0\0\0\xef\xbe\0\0hello");
    assert_eq!(h.closes(), vec![2]);
    // A body that is no message.
    h.casual(3, 502);
    h.s.handle_bytes(&h.v, ClientId(3), &frame(b"garbage\0"));
    assert_eq!(h.closes(), vec![3]);
    assert!(h.logs().iter().any(|l| l.contains("malformed message")));
    // Bytes after the drop are ignored.
    h.s.handle_bytes(&h.v, ClientId(3), &frame(b">>>\nt=x\n<<<\n\0"));
    assert!(h.got(3).is_empty());
}

#[test]
fn requests_split_and_batched() {
    let mut h = H::new();
    h.casual(1, 500);
    let one = frame(
        &text::encode(&msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "numnodes"),
            ("pid", "500"),
            ("from_id", "500"),
        ]))
        .unwrap(),
    );
    let mut two = one.clone();
    two.extend(&one);
    for b in &two {
        h.s.handle_bytes(&h.v, ClientId(1), std::slice::from_ref(b));
    }
    assert_eq!(h.got(1).len(), 2);
    let mut three = two.clone();
    three.extend(&one);
    h.s.handle_bytes(&h.v, ClientId(1), &three);
    assert_eq!(h.got(1).len(), 3);
}

#[test]
fn a_client_that_does_not_read_is_removed() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.sent();
    let m = msg(&[("t", "resource"), ("src", "b")]);
    for _ in 0..64 {
        h.s.deliver(&h.v, &m);
    }
    h.s.flushed(&h.v, ClientId(1));
    assert!(
        h.closes().is_empty(),
        "64 messages waiting is within the limit"
    );
    h.s.deliver(&h.v, &m);
    h.s.flushed(&h.v, ClientId(1));
    assert_eq!(h.closes(), vec![1]);
    assert!(h
        .logs()
        .iter()
        .any(|l| l.contains("does not read its messages")));
    assert_eq!(h.s.output(ClientId(1)), b"", "its output is discarded");
    assert_eq!(
        h.sent(),
        vec![
            "t=hbapi-clstat|st=leave|from_id=ipfail|to_id=ipfail|src=a|info=sendfail|client_gen=0"
        ]
    );
}

#[test]
fn byte_caps_bound_memory_within_a_turn() {
    let mut h = H::with(Config {
        auth: auth(),
        max_queue_bytes: 1000,
        ..Config::default()
    });
    h.casual(1, 500);
    let mut m = msg(&[("t", "resource")]);
    m.push_str("big", "x".repeat(300));
    for _ in 0..20 {
        h.s.deliver(&h.v, &m);
    }
    assert!(h.s.buffered_bytes() <= 4000);
    assert_eq!(h.closes(), vec![1]);
}

#[test]
fn sendqlen_changes_the_message_limit() {
    let mut h = H::new();
    h.casual(1, 500);
    h.req(1, 500, "500", "set_sendqlen", &[("sendqlen", "2")]);
    let m = msg(&[("t", "resource")]);
    for _ in 0..3 {
        h.s.deliver(&h.v, &m);
    }
    h.s.flushed(&h.v, ClientId(1));
    assert_eq!(h.closes(), vec![1]);
}

#[test]
fn too_many_clients_are_refused_with_a_rate_limited_log() {
    let mut h = H::with(Config {
        auth: auth(),
        max_clients: 3,
        ..Config::default()
    });
    for c in 0..3 {
        assert!(h.connect(c, 500 + c as i32, 0, 0));
    }
    for c in 3..1000 {
        assert!(!h.connect(c, 500, 0, 0));
    }
    assert_eq!(h.s.client_count(), 3);
    let logs = h.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    h.now += Duration::from_secs(10);
    assert!(!h.connect(1000, 500, 0, 0));
    let logs = h.logs();
    assert!(logs[0].contains("(996 more suppressed)"), "{logs:?}");
}

#[test]
fn signon_timeout_and_audit() {
    let mut h = H::new();
    let t0 = h.now;
    assert!(h.connect(1, 500, 0, 0));
    h.casual(2, 501);
    h.signon(3, Some("ipfail"), 700, 102, 105);
    h.sent();
    assert_eq!(h.s.poll_timeout(), Some(t0 + Duration::from_secs(9)));
    h.p.0.lock().unwrap().dead.insert(700);
    h.s.handle_timeout(&h.v, t0 + Duration::from_secs(9));
    assert_eq!(h.closes(), vec![3]);
    assert!(h
        .logs()
        .iter()
        .any(|l| l == "api_audit_clients: client 700 died"));
    assert_eq!(
        h.sent(),
        vec!["t=hbapi-clstat|st=leave|from_id=ipfail|to_id=ipfail|src=a|info=died-audit|client_gen=1"]
    );
    assert_eq!(h.s.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    h.s.handle_timeout(&h.v, t0 + Duration::from_secs(10));
    assert_eq!(h.closes(), vec![1]);
    assert!(h
        .logs()
        .iter()
        .any(|l| l.contains("did not sign on within 10 s")));
}

#[test]
fn a_client_found_dead_on_delivery_is_removed() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.sent();
    h.p.0.lock().unwrap().dead.insert(700);
    h.s.deliver(&h.v, &msg(&[("t", "resource")]));
    assert_eq!(h.closes(), vec![1]);
    assert!(h.sent()[0].contains("info=died"));
    // A respawned child's exit.
    h.signon(2, Some("ipfail"), 701, 102, 105);
    h.sent();
    h.s.process_exited(&h.v, 701);
    assert_eq!(h.closes(), vec![2]);
}

#[test]
fn disconnect_in_the_middle_of_a_message_is_logged() {
    let mut h = H::new();
    h.casual(1, 500);
    let f = frame(
        &text::encode(&msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "numnodes"),
            ("pid", "500"),
            ("from_id", "500"),
        ]))
        .unwrap(),
    );
    h.s.handle_bytes(&h.v, ClientId(1), &f[..20]);
    h.s.handle_disconnect(&h.v, ClientId(1));
    assert!(h
        .logs()
        .iter()
        .any(|l| l.contains("went away in the middle of a message (20 bytes")));
    assert_eq!(h.s.client_count(), 0);
    assert_eq!(h.s.poll_close(), None);
}

#[test]
fn netstring_requests_are_accepted() {
    let mut h = H::new();
    h.casual(1, 500);
    let mut body = b"###\n".to_vec();
    for (k, v) in [
        ("t", "hbapi-req"),
        ("reqtype", "numnodes"),
        ("pid", "500"),
        ("from_id", "500"),
    ] {
        let content = format!("(0){k}={v}");
        body.extend(format!("{}:{content},", content.len()).bytes());
    }
    body.extend(b"%%%\n\0");
    h.s.handle_bytes(&h.v, ClientId(1), &frame(&body));
    assert_eq!(
        h.got(1),
        vec!["t=hbapi-resp|reqtype=numnodes|numnodes=2|result=OK"]
    );
}

#[test]
fn binary_fields_reach_clients_as_base64() {
    let mut h = H::new();
    h.casual(1, 500);
    let mut m = msg(&[("t", "resource")]);
    m.set("srcuuid", Value::Bin(vec![1, 2, 3]));
    h.s.deliver(&h.v, &m);
    assert_eq!(h.got(1), vec!["t=resource|(1)srcuuid=AQID"]);
}

// ----- hardening (issue #16) -----

/// The message types only a daemon originates: the list, and `NS_` types.
fn daemon_only_sample() -> Vec<&'static str> {
    let mut v = DAEMON_ONLY.to_vec();
    v.extend([
        "NS_st",
        "NS_ackmsg",
        "NS_rexmit",
        "NS_nak_rexmit",
        "NS_anything",
    ]);
    v
}

fn ping_auth() -> AuthTable {
    let mut a = auth();
    a.entries.push(AuthEntry {
        client: "ping".into(),
        uids: vec![],
        gids: vec![105],
    });
    a
}

#[test]
fn daemon_only_messages_from_clients_are_refused_with_an_error() {
    let mut h = H::with(Config {
        auth: ping_auth(),
        ..Config::default()
    });
    // A local user of group haclient signs on as the built-in client `ping`.
    assert_eq!(h.signon(1, Some("ping"), 800, 1000, 105), vec![OK_SIGNON]);
    assert_eq!(h.sent().len(), 1, "its join notice");
    h.logs();
    let sample = daemon_only_sample();
    for t in &sample {
        h.send(1, &msg(&[("t", t), ("rsc_hold", "all")]));
        assert!(h.sent().is_empty(), "{t} must not reach the cluster");
        let got = h.got(1);
        assert_eq!(got.len(), 1, "{t}: {got:?}");
        assert!(
            got[0].starts_with("t=hbapi-error|error=refused|msgtype=")
                && got[0].contains(&format!("msgtype={t}|"))
                && got[0].ends_with("|to_id=ping"),
            "{got:?}"
        );
    }
    assert!(h.s.is_open(ClientId(1)), "the client stays connected");
    let logs = h.logs();
    assert_eq!(logs.len(), 1, "one line, the rest rate-limited: {logs:?}");
    assert!(
        logs[0].contains("client ping (pid 800)")
            && logs[0].contains("'status'")
            && logs[0].contains("only heartbeat itself sends"),
        "{logs:?}"
    );
    // Ten seconds later the next refusal is logged with the count of those not logged.
    h.now += Duration::from_secs(10);
    h.send(1, &msg(&[("t", "shutdone")]));
    let logs = h.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(
        logs[0].contains(&format!("({} more suppressed)", sample.len() - 1)),
        "{logs:?}"
    );
    assert_eq!(
        h.s.drop_counts()
            .iter()
            .find(|(k, _)| *k == "daemon-only")
            .map(|c| c.1),
        Some(sample.len() as u64 + 1)
    );
}

#[test]
fn what_ipfail_sends_still_goes_to_the_cluster() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.sent();
    h.logs();
    let msgs = [
        msg(&[("t", "num_ping_nodes"), ("num_ping", "1"), ("dest", "b")]),
        msg(&[("t", "you_are_dead"), ("dest", "b")]),
        msg(&[("t", "abort_giveup"), ("dest", "b")]),
        msg(&[
            ("t", "ask_resources"),
            ("rsc_hold", "foreign"),
            ("src", "a"),
            ("info", "me"),
        ]),
        msg(&[("t", "hb_takeover"), ("rsc_hold", "all")]),
        msg(&[("t", "my-own-type"), ("x", "1")]),
    ];
    for m in &msgs {
        h.send(1, m);
    }
    let sent = h.sent();
    assert_eq!(sent.len(), msgs.len(), "{sent:?}");
    assert!(sent[3].starts_with("t=ask_resources|rsc_hold=foreign|src=a|info=me|"));
    assert!(h.got(1).is_empty());
    assert!(h.logs().is_empty());
}

/// Each message type hb-core and the daemon originate (`Message::with_type("...")`,
/// `("t", "...")` and the `..._MSG` constants in their sources) is refused from clients,
/// but for the two a client may legitimately send (ipfail's `ask_resources`, and
/// `hb_takeover` as the tool of that name sends it).
#[test]
fn every_type_the_daemon_originates_is_refused_from_clients() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut types = std::collections::BTreeSet::new();
    for dir in ["hb-core/src", "hb-daemon/src"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let all = std::fs::read_to_string(&path).unwrap();
            // Not the files' own tests.
            let src = all.split("#[cfg(test)]").next().unwrap_or("");
            for pat in ["with_type(\"", "(\"t\", \"", "_MSG: &str = \""] {
                for (i, _) in src.match_indices(pat) {
                    let rest = &src[i + pat.len()..];
                    if let Some(end) = rest.find('"') {
                        types.insert(rest[..end].to_string());
                    }
                }
            }
        }
    }
    for t in [
        "status",
        "shutdone",
        "NS_ackmsg",
        "hb-check",
        "hb-holding",
        "ip-request",
    ] {
        assert!(types.contains(t), "{t} not found in the sources: {types:?}");
    }
    for t in &types {
        let allowed = matches!(t.as_str(), "ask_resources" | "hb_takeover");
        assert_eq!(daemon_only(t), !allowed, "type {t}");
    }
}

#[test]
fn a_burst_of_remote_clientstatus_requests_is_paced() {
    let mut h = H::new();
    h.casual(1, 500);
    let one = frame(
        &text::encode(&msg(&[
            ("t", "hbapi-req"),
            ("reqtype", "clientstatus"),
            ("dest", "a"),
            ("pid", "500"),
            ("from_id", "500"),
            ("node", "b"),
            ("cn", "ipfail"),
        ]))
        .unwrap(),
    );
    let burst: Vec<u8> = one.iter().copied().cycle().take(one.len() * 5000).collect();
    h.s.handle_bytes(&h.v, ClientId(1), &burst);
    let cfg = h.s.config().clone();
    // The client is held once it has its share waiting; the rest of its bytes wait unread.
    assert!(!h.s.wants_input(ClientId(1)));
    let first = h.sent().len();
    assert!(first <= cfg.cluster_burst, "{first} sent at once");
    let t0 = h.now;
    let mut total = first;
    let mut turns = 0;
    loop {
        for id in h.s.take_resumed() {
            h.s.handle_bytes(&h.v, id, &[]);
        }
        // Never faster than the rate (plus the burst) allows.
        let elapsed = h.now.saturating_duration_since(t0).as_secs_f64();
        let allowed = cfg.cluster_burst as f64 + elapsed * cfg.cluster_rate as f64 + 1.0;
        assert!((total as f64) <= allowed, "{total} sent after {elapsed} s");
        assert!(h.s.queued_to_cluster() <= cfg.client_send_queue);
        if total == 5000 {
            break;
        }
        turns += 1;
        assert!(turns < 100_000, "stuck at {total}");
        let next = h.s.poll_timeout().expect("a deadline while messages wait");
        h.now = h.now.max(next);
        h.s.handle_timeout(&h.v, h.now);
        total += h.sent().len();
    }
    let took = h.now.saturating_duration_since(t0).as_secs_f64();
    let want = (5000 - cfg.cluster_burst) as f64 / cfg.cluster_rate as f64;
    assert!(took >= want - 1.0 && took <= want + 1.0, "took {took} s");
    assert_eq!(total, 5000, "none lost");
    assert!(h.s.is_open(ClientId(1)));
}

#[test]
fn pacing_counts_the_api_as_a_whole() {
    // Ten named clients (a `default` apiauth entry admits them), each within its share.
    let mut h = H::with(Config {
        auth: AuthTable {
            entries: vec![AuthEntry {
                client: "default".into(),
                uids: vec![0],
                gids: vec![],
            }],
        },
        ..Config::default()
    });
    for c in 0..10 {
        let r = h.signon(c, Some(&format!("named{c}")), 700 + c as i32, 0, 0);
        assert!(r[0].contains("result=OK"), "{r:?}");
    }
    let _joins = h.sent();
    h.now += Duration::from_secs(5);
    for c in 0..10 {
        for k in 0..10 {
            h.send(c, &msg(&[("t", "chatter"), ("k", &k.to_string())]));
        }
    }
    let cfg = h.s.config().clone();
    let n = h.sent().len();
    assert!(n <= cfg.cluster_burst, "{n}");
    h.now += Duration::from_secs(1);
    let m = h.sent().len();
    assert!(m <= cfg.cluster_rate + 1, "{m}");
}

#[test]
fn a_refused_send_gets_an_error_to_its_client() {
    let mut h = H::new();
    h.signon(1, Some("ipfail"), 700, 102, 105);
    h.sent();
    let mut big = msg(&[("t", "num_ping_nodes")]);
    big.push_str("blob", "x".repeat(70_000));
    h.send(1, &big);
    let out = h.s.poll_send(h.now).expect("queued");
    assert_eq!(out.msg.msg_type(), Some("num_ping_nodes"));
    // The daemon found it too big for a datagram: nothing was numbered or sent.
    h.s.send_failed(
        &h.v,
        &out,
        "70123 bytes, more than a datagram holds (65507)",
    );
    let got = h.got(1);
    assert_eq!(
        got,
        vec!["t=hbapi-error|error=toobig|msgtype=num_ping_nodes|info=70123 bytes, more than a datagram holds (65507)|to_id=ipfail"]
    );
    let logs = h.logs();
    assert!(
        logs.iter().any(|l| l.contains("client ipfail (pid 700)")
            && l.contains("num_ping_nodes")
            && l.contains("not sent")),
        "{logs:?}"
    );
    // The API's own messages (no client) only log.
    h.s.deliver(
        &h.v,
        &msg(&[
            ("t", "query-cstatus"),
            ("dest", "a"),
            ("cn", "ipfail"),
            ("from_id", "9"),
            ("src", "b"),
        ]),
    );
    h.got(1);
    let out = h.s.poll_send(h.now).expect("the answer");
    assert!(out.from.is_none());
    h.s.send_failed(&h.v, &out, "whatever");
    assert!(h.got(1).is_empty());
}

#[test]
fn bodies_up_to_256_kib_are_accepted_after_sign_on() {
    let mut h = H::new();
    h.casual(1, 500);
    let mut m = msg(&[
        ("t", "hbapi-req"),
        ("reqtype", "getparm"),
        ("pid", "500"),
        ("from_id", "500"),
        ("pname", "keepalive"),
    ]);
    m.push_str("pad", "p".repeat(200 * 1024));
    h.send(1, &m);
    assert_eq!(
        h.got(1),
        vec!["t=hbapi-resp|reqtype=getparm|pvalue=200ms|result=OK"]
    );
    assert!(h.s.is_open(ClientId(1)));
    assert_eq!(frame::DEFAULT_MAX_BODY, 256 * 1024);
    let mut head = Vec::new();
    head.extend_from_slice(&(256 * 1024 + 1i32).to_ne_bytes());
    head.extend_from_slice(&MAGIC.to_ne_bytes());
    h.s.handle_bytes(&h.v, ClientId(1), &head);
    assert_eq!(h.closes(), vec![1]);
}

#[test]
fn before_sign_on_only_a_small_message_is_read() {
    let mut h = H::new();
    assert!(h.connect(1, 500, 1000, 1000));
    let mut head = Vec::new();
    head.extend_from_slice(&(100_000i32).to_ne_bytes());
    head.extend_from_slice(&MAGIC.to_ne_bytes());
    h.s.handle_bytes(&h.v, ClientId(1), &head);
    assert_eq!(h.closes(), vec![1], "a sign-on is a few hundred bytes");
}

#[test]
fn one_uid_cannot_take_every_connection() {
    let mut h = H::with(Config {
        auth: auth(),
        max_clients: 8,
        max_per_uid: 3,
        ..Config::default()
    });
    for c in 0..3 {
        assert!(h.connect(c, 900 + c as i32, 1000, 1000));
    }
    for c in 3..200 {
        assert!(!h.connect(c, 900, 1000, 1000), "uid 1000 over its share");
    }
    let logs = h.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(
        logs[0].contains("uid 1000") && logs[0].contains("3 connections"),
        "{logs:?}"
    );
    // Root is not limited per uid.
    for c in 3..8 {
        assert!(h.connect(c, 100 + c as i32, 0, 0));
    }
}

#[test]
fn a_full_table_makes_room_by_evicting_an_idle_connection_of_the_busiest_uid() {
    let mut h = H::with(Config {
        auth: auth(),
        max_clients: 6,
        max_per_uid: 4,
        ..Config::default()
    });
    // ipfail signed on (named), a casual client of root, then uid 1000 and 1001 idle.
    h.signon(0, Some("ipfail"), 700, 102, 105);
    h.casual(1, 500);
    h.now += Duration::from_millis(10);
    assert!(h.connect(2, 901, 1000, 1000));
    h.now += Duration::from_millis(10);
    assert!(h.connect(3, 902, 1000, 1000));
    h.now += Duration::from_millis(10);
    assert!(h.connect(4, 903, 1000, 1000));
    h.now += Duration::from_millis(10);
    assert!(h.connect(5, 904, 1001, 1001));
    h.logs();
    h.closes();
    // Full. A new connection of root: the oldest idle connection of uid 1000 goes.
    let victim = h.s.evict_for(
        &h.v,
        h.now,
        Creds {
            pid: 1,
            uid: 0,
            gid: 0,
        },
    );
    assert_eq!(victim, Some(ClientId(2)));
    // The socket layer closes it at once and reuses the slot.
    h.s.forget(ClientId(2));
    assert!(h.connect(2, 1, 0, 0));
    // The evicted connection's slot, reused at once, is not closed by its stale close.
    assert_eq!(h.closes(), Vec::<usize>::new());
    assert!(h.s.is_open(ClientId(2)));
    // Signed-on clients are never evicted: with only them left, nothing is.
    let mut h = H::with(Config {
        auth: auth(),
        max_clients: 2,
        ..Config::default()
    });
    h.signon(0, Some("ipfail"), 700, 102, 105);
    h.casual(1, 500);
    assert_eq!(
        h.s.evict_for(
            &h.v,
            h.now,
            Creds {
                pid: 1,
                uid: 0,
                gid: 0
            }
        ),
        None
    );
}

#[test]
fn drops_of_unsigned_connections_are_rate_limited() {
    let mut h = H::with(Config {
        auth: auth(),
        ..Config::default()
    });
    for c in 0..200 {
        assert!(h.connect(c, 900, 1000, 1000) || c >= 64);
        h.s.handle_bytes(&h.v, ClientId(c), &frame(b"garbage\0"));
    }
    let mut n = 0;
    while let Some(c) = h.s.poll_close() {
        h.s.forget(c);
        n += 1;
    }
    assert!(n >= 64);
    let logs = h.logs();
    assert!(logs.len() <= 2, "{logs:?}");
    // The sign-on timeout of many idle connections: one line.
    let mut h = H::with(Config {
        auth: auth(),
        ..Config::default()
    });
    for c in 0..50 {
        assert!(h.connect(c, 900, 1000 + c as u32, 1000));
    }
    h.now += Duration::from_secs(11);
    h.s.handle_timeout(&h.v, h.now);
    assert_eq!(h.closes().len(), 50);
    let logs = h.logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
}
