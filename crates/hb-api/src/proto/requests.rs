//! Requests of signed-on clients (section 1.5) and their cluster messages (1.6).

use hb_wire::{Message, Value};

use super::{
    daemon_only, scan_hex, scan_long, scan_uint, ClusterView, Level, Limit, NodeInfo, NodeKind,
    Server, ALL_CLASSES, DEBUG_CLASSES, MAX_SENDQLEN,
};
use crate::text;

/// How a request is answered.
enum Answer {
    /// One reply: these fields, then `result=OK`.
    Ok(Message),
    /// One reply per item, `result=ok/more` on all but the last (`result=OK`).
    Each(Vec<Message>),
    /// `result=badreq`, then `info=` if there is a reason. The fields come first.
    Bad(Message, Option<&'static str>),
    /// No reply.
    Nothing,
}

fn bad(reason: &'static str) -> Answer {
    Answer::Bad(Message::new(), Some(reason))
}

fn one(name: &str, value: impl AsRef<[u8]>) -> Message {
    let mut m = Message::new();
    m.push_str(name, value);
    m
}

/// The original looks nodes up by the lowercased name.
fn lookup<'a>(nodes: &'a [NodeInfo], name: Option<&str>) -> Option<&'a NodeInfo> {
    let want = name?.to_lowercase();
    nodes.iter().find(|n| n.name == want)
}

impl Server {
    pub(super) fn request(&mut self, view: &dyn ClusterView, i: usize, mut msg: Message) {
        let Some(reg) = self.clients.get(&i).and_then(|c| c.reg.clone()) else {
            return;
        };
        let Some(t) = msg.get("t").map(str::to_string) else {
            let who = self.who(i);
            self.log_limited(
                Limit::BadRequest,
                Level::Error,
                format!("api_process_request: bad message type (no t field) from {who}"),
            );
            return;
        };
        if t != "hbapi-req" {
            if reg.casual {
                let who = self.who(i);
                self.log_limited(
                    Limit::CasualSend,
                    Level::Info,
                    format!("api_process_request: general message from casual client! ({who})"),
                );
                self.remove(view, i, "badclient", false);
                return;
            }
            if daemon_only(&t) {
                let who = self.who(i);
                self.log_limited(
                    Limit::DaemonOnly,
                    Level::Warn,
                    format!(
                        "API: {who} sent a cluster message of type '{t}', which only heartbeat itself sends: refused"
                    ),
                );
                self.client_error(
                    view,
                    i,
                    "refused",
                    &t,
                    "only heartbeat itself sends messages of this type",
                );
                return;
            }
            msg.set_str("from_id", &reg.id);
            msg.set_str("to_id", &reg.id);
            msg.push_str("client_gen", reg.gen.to_string());
            self.queue_send(Some(i), msg);
            return;
        }
        let from_id = msg.get("from_id");
        let cpid = msg.get("pid");
        let Some(reqtype) = msg.get("reqtype").map(str::to_string) else {
            self.log_limited(
                Limit::BadRequest,
                Level::Error,
                "api_process_request: no fromid/pid/reqtype in message.".into(),
            );
            return;
        };
        if from_id.is_none() && cpid.is_none() {
            self.log_limited(
                Limit::BadRequest,
                Level::Error,
                "api_process_request: no fromid/pid/reqtype in message.".into(),
            );
            return;
        }
        match self.find_client(from_id, cpid) {
            None => {
                self.log_limited(
                    Limit::BadRequest,
                    Level::Error,
                    "api_process_request: msg from non-client".into(),
                );
                return;
            }
            Some(f) if f != i => {
                let other = self.clients.get(&f).and_then(|c| c.reg.clone());
                self.log_limited(
                    Limit::BadRequest,
                    Level::Error,
                    "Client mismatch! (impersonation?)".into(),
                );
                if let Some(o) = other {
                    self.log_limited(
                        Limit::BadRequest,
                        Level::Info,
                        format!(
                            "pids ({} vs {}), Client IDs ({} vs {})",
                            o.pid, reg.pid, o.id, reg.id
                        ),
                    );
                }
                return;
            }
            Some(_) => {}
        }
        let answer = self.answer(view, i, &msg, &reqtype);
        let head = text::msg(&[("t", "hbapi-resp"), ("reqtype", &reqtype)]);
        match answer {
            Answer::Nothing => {}
            Answer::Ok(fields) => {
                let mut r = head;
                r.fields.extend(fields.fields);
                r.set_str("result", "OK");
                self.reply(view, i, &r);
            }
            Answer::Each(items) => {
                let last = items.len().saturating_sub(1);
                for (k, fields) in items.into_iter().enumerate() {
                    let mut r = head.clone();
                    r.fields.extend(fields.fields);
                    r.set_str("result", if k == last { "OK" } else { "ok/more" });
                    self.reply(view, i, &r);
                }
            }
            Answer::Bad(fields, reason) => {
                self.log_limited(
                    Limit::BadRequest,
                    Level::Error,
                    format!(
                        "api_process_request: bad request [{reqtype}] from {}: {}",
                        self.who(i),
                        text::one_line(&msg)
                    ),
                );
                let mut r = head;
                r.fields.extend(fields.fields);
                r.set_str("result", "badreq");
                if let Some(why) = reason {
                    r.push_str("info", why);
                }
                self.reply(view, i, &r);
            }
        }
    }

    fn answer(&mut self, view: &dyn ClusterView, i: usize, msg: &Message, reqtype: &str) -> Answer {
        match reqtype {
            "signoff" => {
                self.remove(view, i, "signoff", false);
                Answer::Nothing
            }
            "setfilter" => self.setfilter(i, msg),
            "setsignal" => self.setsignal(i, msg),
            "nodelist" => {
                let nodes = view.nodes();
                if nodes.is_empty() {
                    return bad("EINVAL");
                }
                Answer::Each(nodes.iter().map(|n| one("node", &n.name)).collect())
            }
            "nodestatus" => match lookup(&view.nodes(), msg.get("node")) {
                Some(n) => Answer::Ok(one("st", &n.status)),
                None => bad("EINVAL"),
            },
            "nodeweight" => match lookup(&view.nodes(), msg.get("node")) {
                Some(n) => Answer::Ok(one("weight", n.weight.to_string())),
                None => bad("EINVAL"),
            },
            "nodesite" => match lookup(&view.nodes(), msg.get("node")) {
                Some(n) => Answer::Ok(one("site", &n.site)),
                None => bad("EINVAL"),
            },
            "nodetype" => match lookup(&view.nodes(), msg.get("node")) {
                Some(n) => Answer::Ok(one("nodetype", n.kind.as_str())),
                None => bad("EINVAL"),
            },
            "numnodes" => {
                let n = view
                    .nodes()
                    .iter()
                    .filter(|n| n.kind == NodeKind::Normal)
                    .count();
                Answer::Ok(one("numnodes", n.to_string()))
            }
            "iflist" => {
                let nodes = view.nodes();
                let Some(n) = lookup(&nodes, msg.get("node")) else {
                    return bad("EINVAL");
                };
                let links = view.links(&n.name);
                match n.kind {
                    NodeKind::Ping => match links.iter().find(|l| l.name == n.name) {
                        Some(l) => Answer::Ok(one("ifname", &l.name)),
                        None => bad("UhOh"),
                    },
                    NodeKind::Normal if links.is_empty() => bad("EINVAL"),
                    NodeKind::Normal => {
                        Answer::Each(links.iter().map(|l| one("ifname", &l.name)).collect())
                    }
                }
            }
            "ifstatus" => {
                let nodes = view.nodes();
                let (Some(n), Some(ifname)) = (lookup(&nodes, msg.get("node")), msg.get("ifname"))
                else {
                    return bad("EINVAL");
                };
                match view.links(&n.name).into_iter().find(|l| l.name == ifname) {
                    Some(l) => Answer::Ok(one("st", &l.status)),
                    None => bad("EINVAL"),
                }
            }
            "clientstatus" => self.clientstatus(view, i, msg),
            "getparm" => {
                let Some(p) = msg.get("pname") else {
                    return bad("EINVAL");
                };
                let value = view
                    .parameter(p)
                    .or_else(|| (p == "hbversion").then(|| super::HB_VERSION.to_string()));
                match value {
                    Some(v) => Answer::Ok(one("pvalue", v)),
                    None => Answer::Ok(Message::new()),
                }
            }
            "getrsc" => match view.resource_status() {
                Some(r) => Answer::Ok(one("rsc_hold", r)),
                None => bad("Resource is managed by crm.Use crm tool to query resource"),
            },
            "getuuid" => {
                let Some(q) = msg.get("queryname") else {
                    return bad("no query node name found");
                };
                let nodes = view.nodes();
                let name = lookup(&nodes, Some(q)).map_or(q, |n| n.name.as_str());
                let mut m = Message::new();
                if let Some(u) = view.node_uuid(name) {
                    m.push_bin("queryuuid", u);
                }
                Answer::Ok(m)
            }
            "getnodename" => {
                let uuid = match msg.field("queryuuid").map(|f| &f.value) {
                    Some(Value::Bin(b)) | Some(Value::Str(b)) if b.len() == 16 => b.clone(),
                    _ => return bad("no query node name found"),
                };
                let name = view
                    .nodes()
                    .into_iter()
                    .find(|n| view.node_uuid(&n.name).is_some_and(|u| u[..] == uuid[..]));
                match name {
                    Some(n) => Answer::Ok(one("queryname", n.name)),
                    None => {
                        self.log_limited(
                            Limit::BadRequest,
                            Level::Error,
                            "api_get_nodename: nodename not found in map table".into(),
                        );
                        Answer::Ok(Message::new())
                    }
                }
            }
            "set_sendqlen" => {
                let who = self.who(i);
                match msg.get("sendqlen").and_then(scan_long) {
                    None => self.log_limited(
                        Limit::SendQLen,
                        Level::Error,
                        "api_set_sendqlen: getting field F_SENDQLEN failed".into(),
                    ),
                    Some(n) if n <= 0 => self.log_limited(
                        Limit::SendQLen,
                        Level::Error,
                        format!("api_set_sendqlen: invalid length value({n})"),
                    ),
                    Some(n) => {
                        let n = usize::try_from(n).unwrap_or(MAX_SENDQLEN).min(MAX_SENDQLEN);
                        self.log_limited(
                            Limit::SendQLen,
                            Level::Info,
                            format!("the send queue length from heartbeat to {who} is set to {n}"),
                        );
                        if let Some(c) = self.clients.get_mut(&i) {
                            c.max_msgs = n;
                        }
                    }
                }
                Answer::Nothing
            }
            _ => {
                self.log_limited(
                    Limit::BadRequest,
                    Level::Error,
                    format!("Unknown API request [{reqtype}]"),
                );
                Answer::Bad(Message::new(), None)
            }
        }
    }

    fn setfilter(&mut self, i: usize, msg: &Message) -> Answer {
        let daemon_uid = self.cfg.daemon_uid;
        let Some(reg) = self.clients.get_mut(&i).and_then(|c| c.reg.as_mut()) else {
            return Answer::Nothing;
        };
        let Some(mask) = msg
            .get("fmask")
            .and_then(scan_hex)
            .filter(|m| m & ALL_CLASSES != 0)
        else {
            return bad("EINVAL");
        };
        if reg.fmask & DEBUG_CLASSES == 0
            && mask & DEBUG_CLASSES != 0
            && reg.uid != 0
            && reg.uid != daemon_uid
        {
            return bad("EPERM");
        }
        reg.fmask = mask;
        Answer::Ok(Message::new())
    }

    fn setsignal(&mut self, i: usize, msg: &Message) -> Answer {
        let Some(reg) = self.clients.get_mut(&i).and_then(|c| c.reg.as_mut()) else {
            return Answer::Nothing;
        };
        let Some(sig) = msg.get("signal").and_then(scan_uint) else {
            return Answer::Bad(Message::new(), None);
        };
        if sig == libc::SIGKILL as u32 || sig == libc::SIGSTOP as u32 || sig >= 32 {
            return bad("EINVAL");
        }
        reg.signal = sig as i32;
        Answer::Ok(Message::new())
    }

    fn clientstatus(&mut self, view: &dyn ClusterView, i: usize, msg: &Message) -> Answer {
        let nodes = view.nodes();
        let (Some(cnode), Some(cn), Some(from), Some(node)) = (
            msg.get("node"),
            msg.get("cn"),
            msg.get("from_id"),
            lookup(&nodes, msg.get("node")),
        ) else {
            return bad("EINVAL");
        };
        let mut m = one("subt", "respond-cstatus");
        if cnode == view.my_node() {
            let online = self.find_client(Some(cn), None).is_some();
            m.push_str("cs", if online { "online" } else { "offline" });
            return Answer::Ok(m);
        }
        if node.status != "active" {
            m.push_str("cs", "offline");
            return Answer::Ok(m);
        }
        let q = text::msg(&[
            ("t", "query-cstatus"),
            ("dest", cnode),
            ("cn", cn),
            ("from_id", from),
        ]);
        self.queue_send(Some(i), q);
        Answer::Nothing
    }
}
