//! dopd's decisions, without sockets, processes or clocks.
//!
//! Inputs: a handler's request ([`Dopd::client_message`]), a handler gone
//! ([`Dopd::client_gone`]), a cluster message for dopd ([`Dopd::cluster_message`]), the
//! end of a `drbdadm outdate` ([`Dopd::command_done`]). Outputs ([`Dopd::poll_action`]):
//! replies to handlers, commands to run (one at a time, in arrival order), log lines.
//! Messages to the peer and the node walk go through [`Api`] (heartbeat's client API),
//! as in the original.

use std::collections::VecDeque;

use hb_api::ipfail::Level;
use hb_wire::Message;

use crate::proto::{self, rc, CommandEnd};

/// The calls dopd makes to heartbeat (the binary implements it on the client API).
pub trait Api {
    /// The nodes heartbeat knows (normal and ping nodes).
    fn node_list(&mut self) -> Option<Vec<String>>;
    /// `normal` or `ping`.
    fn node_type(&mut self, node: &str) -> Option<String>;
    /// `active`, `up`, `init`, `dead`, `ping`.
    fn node_status(&mut self, node: &str) -> Option<String>;
    /// Sends a message to dopd on `node`.
    fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool;
}

/// A handler connection.
pub type ClientId = u64;
/// A `drbdadm outdate` run.
pub type JobId = u64;

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this message to the handler.
    Reply {
        client: ClientId,
        msg: Message,
    },
    /// Run `drbdadm outdate RESOURCE`, then call [`Dopd::command_done`] with `job`.
    Run {
        job: JobId,
        resource: String,
    },
    Log(Level, String),
}

#[derive(Clone, Debug)]
struct Pending {
    client: ClientId,
    resource: String,
    peer: String,
}

#[derive(Clone, Debug)]
struct Request {
    resource: String,
    from: String,
}

/// The daemon's state.
#[derive(Debug)]
pub struct Dopd {
    me: String,
    /// Handlers waiting for their peer's answer, oldest first.
    pending: Vec<Pending>,
    /// Peers' requests not yet run.
    queue: VecDeque<Request>,
    /// The request being run.
    running: Option<(JobId, Request)>,
    next_job: JobId,
    actions: VecDeque<Action>,
}

impl Dopd {
    /// `me`: this node's name as heartbeat gave it at sign-on.
    pub fn new(me: &str) -> Dopd {
        Dopd {
            me: me.to_string(),
            pending: Vec::new(),
            queue: VecDeque::new(),
            running: None,
            next_job: 1,
            actions: VecDeque::new(),
        }
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Whether a command runs.
    pub fn busy(&self) -> bool {
        self.running.is_some()
    }

    fn log(&mut self, level: Level, text: String) {
        self.actions.push_back(Action::Log(level, text));
    }

    fn reply(&mut self, client: ClientId, value: &str) {
        let msg = proto::outdater_reply(&self.me, value);
        self.actions.push_back(Action::Reply { client, msg });
    }

    /// Whether `peer` is another normal node heartbeat does not report dead.
    fn peer_reachable(&mut self, api: &mut dyn Api, peer: &str) -> bool {
        if peer.eq_ignore_ascii_case(&self.me) {
            self.log(Level::Error, format!("drbd peer node {peer} is me!"));
            return false;
        }
        let Some(nodes) = api.node_list() else {
            self.log(Level::Error, "Cannot start node walk".into());
            return false;
        };
        for node in nodes {
            if !node.eq_ignore_ascii_case(peer) {
                continue;
            }
            if api.node_type(&node).as_deref() != Some("normal") {
                self.log(
                    Level::Error,
                    format!("Cluster node: {node}: is not a normal node"),
                );
                return false;
            }
            let status = api.node_status(&node).unwrap_or_default();
            if status == "dead" || status.is_empty() {
                self.log(
                    Level::Error,
                    format!(
                        "Cluster node: {node}: status: {}",
                        if status.is_empty() {
                            "unknown"
                        } else {
                            &status
                        }
                    ),
                );
                return false;
            }
            return true;
        }
        self.log(Level::Error, format!("drbd peer {peer} was not found"));
        false
    }

    /// A handler's request.
    pub fn client_message(&mut self, api: &mut dyn Api, client: ClientId, msg: &Message) {
        let peer = msg.get(proto::F_OUTDATER_PEER).map(str::to_string);
        let res = msg.get(proto::F_OUTDATER_RES).map(str::to_string);
        self.log(
            Level::Debug,
            format!(
                "Got message from ({}). (peer: {}, res :{})",
                msg.get(proto::F_ORIG).unwrap_or("(null)"),
                peer.as_deref().unwrap_or("(null)"),
                res.as_deref().unwrap_or("(null)")
            ),
        );
        let (Some(peer), Some(res)) = (peer, res) else {
            self.log(
                Level::Error,
                "request without outdater_peer or outdater_res: answered 20".into(),
            );
            self.reply(client, &rc::FAILED.to_string());
            return;
        };
        if !self.peer_reachable(api, &peer) {
            self.reply(client, &rc::UNREACHABLE.to_string());
            return;
        }
        if let Some(p) = self.pending.iter().find(|p| p.resource == res) {
            if p.client != client {
                self.log(
                    Level::Info,
                    format!("one client with {res} already connected"),
                );
                self.reply(client, &rc::BUSY.to_string());
            }
            return;
        }
        self.log(
            Level::Info,
            format!(
                "sending start_outdate message to the other node {} -> {peer}",
                self.me
            ),
        );
        let m = proto::start_outdate(&self.me, &res);
        if !api.send_node_msg(&m, &peer) {
            self.log(
                Level::Error,
                format!("cannot send start_outdate for {res} to {peer}: answered 5"),
            );
            self.reply(client, &rc::UNREACHABLE.to_string());
            return;
        }
        self.pending.push(Pending {
            client,
            resource: res,
            peer,
        });
    }

    /// A handler closed its connection: its request is forgotten.
    pub fn client_gone(&mut self, client: ClientId) {
        self.pending.retain(|p| p.client != client);
    }

    /// A message for dopd from the cluster (`start_outdate` or `outdate_rc`; others are
    /// ignored).
    pub fn cluster_message(&mut self, api: &mut dyn Api, msg: &Message) {
        let from = msg.get(proto::F_ORIG).unwrap_or("").to_string();
        match msg.msg_type() {
            Some(proto::T_START_OUTDATE) => {
                let resource = msg.get(proto::F_DOPD_RES).unwrap_or("").to_string();
                if !proto::valid_resource(&resource) {
                    self.log(
                        Level::Error,
                        format!("start_outdate from {from} for a bad resource name [{resource}]: answered 20"),
                    );
                    self.answer(api, &from, rc::FAILED, &resource);
                    return;
                }
                self.queue.push_back(Request { resource, from });
                self.next();
            }
            Some(proto::T_OUTDATE_RC) => {
                let value = msg.get(proto::F_DOPD_VALUE).unwrap_or("").to_string();
                let at = match msg.get(proto::F_DOPD_RES) {
                    Some(res) => self.pending.iter().position(|p| p.resource == res),
                    // 2.0.8's dopd names no resource: its answer is for the oldest request
                    // to that node.
                    None => self
                        .pending
                        .iter()
                        .position(|p| p.peer.eq_ignore_ascii_case(&from)),
                };
                self.log(
                    Level::Debug,
                    format!(
                        "msg_outdate_rc: {} {value}",
                        msg.get(proto::F_DOPD_RES).unwrap_or("(null)")
                    ),
                );
                if let Some(i) = at {
                    let p = self.pending.remove(i);
                    self.reply(p.client, &value);
                }
            }
            _ => {}
        }
    }

    fn next(&mut self) {
        if self.running.is_some() {
            return;
        }
        let Some(req) = self.queue.pop_front() else {
            return;
        };
        let job = self.next_job;
        self.next_job += 1;
        self.actions.push_back(Action::Run {
            job,
            resource: req.resource.clone(),
        });
        self.running = Some((job, req));
    }

    fn answer(&mut self, api: &mut dyn Api, to: &str, value: i32, resource: &str) {
        self.log(
            Level::Info,
            format!("sending return code: {value}, {} -> {to}", self.me),
        );
        let m = proto::outdate_rc(&self.me, value, resource);
        if !api.send_node_msg(&m, to) {
            self.log(Level::Error, format!("cannot send outdate_rc to {to}"));
        }
    }

    /// The end of the command started for `job`.
    pub fn command_done(&mut self, api: &mut dyn Api, job: JobId, end: CommandEnd) {
        let Some((j, req)) = self.running.take() else {
            return;
        };
        if j != job {
            self.running = Some((j, req));
            return;
        }
        let command = format!("{} outdate {}", proto::DRBDADM, req.resource);
        match end {
            CommandEnd::Exited(0 | 5 | 17) => {}
            CommandEnd::Exited(code) => self.log(
                Level::Info,
                format!("unknown exit code from {command}: {code}"),
            ),
            CommandEnd::Signaled(sig) => {
                self.log(Level::Info, format!("killed by signal {sig}: {command}"))
            }
            CommandEnd::Failed => self.log(
                Level::Error,
                format!("{command} could not be run or did not end"),
            ),
        }
        let value = proto::answer_for(end);
        self.answer(api, &req.from, value, &req.resource);
        self.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_api::text::one_line;

    #[derive(Default)]
    struct Fake {
        nodes: Vec<(String, String, String)>,
        sent: Vec<(String, String)>,
        fail_send: bool,
    }

    impl Api for Fake {
        fn node_list(&mut self) -> Option<Vec<String>> {
            Some(self.nodes.iter().map(|n| n.0.clone()).collect())
        }
        fn node_type(&mut self, node: &str) -> Option<String> {
            self.nodes.iter().find(|n| n.0 == node).map(|n| n.1.clone())
        }
        fn node_status(&mut self, node: &str) -> Option<String> {
            self.nodes.iter().find(|n| n.0 == node).map(|n| n.2.clone())
        }
        fn send_node_msg(&mut self, msg: &Message, node: &str) -> bool {
            self.sent.push((node.to_string(), one_line(msg)));
            !self.fail_send
        }
    }

    fn fake() -> Fake {
        Fake {
            nodes: vec![
                ("a".into(), "normal".into(), "active".into()),
                ("b".into(), "normal".into(), "active".into()),
                ("198.51.100.100".into(), "ping".into(), "dead".into()),
            ],
            ..Fake::default()
        }
    }

    fn replies(d: &mut Dopd) -> Vec<(ClientId, String)> {
        let mut v = Vec::new();
        while let Some(a) = d.poll_action() {
            if let Action::Reply { client, msg } = a {
                v.push((client, one_line(&msg)));
            }
        }
        v
    }

    fn runs(d: &mut Dopd) -> Vec<(JobId, String)> {
        let mut v = Vec::new();
        while let Some(a) = d.poll_action() {
            if let Action::Run { job, resource } = a {
                v.push((job, resource));
            }
        }
        v
    }

    #[test]
    fn request_goes_to_the_peer_and_its_answer_back() {
        let mut api = fake();
        let mut d = Dopd::new("a");
        d.client_message(&mut api, 7, &proto::outdater_request("b", "r0"));
        assert_eq!(replies(&mut d), vec![]);
        assert_eq!(
            api.sent,
            vec![("b".into(), "t=start_outdate|src=a|dop_res=r0".into())]
        );
        // The peer's answer, as a 3.0 dopd (or ours) sends it.
        let mut m = proto::outdate_rc("b", 4, "r0");
        m.push_str("dest", "a");
        d.cluster_message(&mut api, &m);
        assert_eq!(
            replies(&mut d),
            vec![(7, "t=outdater_rc|src=a|dop_value=4".into())]
        );
        // A late duplicate finds nobody.
        d.cluster_message(&mut api, &m);
        assert_eq!(replies(&mut d), vec![]);
    }

    #[test]
    fn answers_of_a_2_0_8_peer_name_no_resource() {
        let mut api = fake();
        let mut d = Dopd::new("a");
        d.client_message(&mut api, 1, &proto::outdater_request("b", "r0"));
        d.client_message(&mut api, 2, &proto::outdater_request("B", "r1"));
        let mut m = Message::with_type(proto::T_OUTDATE_RC);
        m.push_str("dop_value", "6").push_str("src", "b");
        d.cluster_message(&mut api, &m);
        d.cluster_message(&mut api, &m);
        assert_eq!(
            replies(&mut d),
            vec![
                (1, "t=outdater_rc|src=a|dop_value=6".into()),
                (2, "t=outdater_rc|src=a|dop_value=6".into())
            ]
        );
    }

    #[test]
    fn unreachable_peers_answer_5_at_once() {
        let mut api = fake();
        api.nodes[1].2 = "dead".into();
        let mut d = Dopd::new("a");
        for (c, peer) in [
            (1, "b"),
            (2, "a"),
            (3, "A"),
            (4, "nosuch"),
            (5, "198.51.100.100"),
        ] {
            d.client_message(&mut api, c, &proto::outdater_request(peer, "r0"));
            assert_eq!(
                replies(&mut d),
                vec![(c, "t=outdater_rc|src=a|dop_value=5".into())],
                "{peer}"
            );
        }
        assert!(api.sent.is_empty());
        // A dead ping node does not matter (3.0's dopd gave up on any dead node it walked
        // past).
        let mut api = fake();
        d.client_message(&mut api, 6, &proto::outdater_request("b", "r0"));
        assert_eq!(replies(&mut d), vec![]);
        assert_eq!(api.sent.len(), 1);
        // Sending fails: 5.
        let mut api = fake();
        api.fail_send = true;
        d.client_message(&mut api, 7, &proto::outdater_request("b", "r1"));
        assert_eq!(
            replies(&mut d),
            vec![(7, "t=outdater_rc|src=a|dop_value=5".into())]
        );
    }

    #[test]
    fn second_handler_for_the_same_resource_is_busy() {
        let mut api = fake();
        let mut d = Dopd::new("a");
        d.client_message(&mut api, 1, &proto::outdater_request("b", "r0"));
        d.client_message(&mut api, 2, &proto::outdater_request("b", "r0"));
        assert_eq!(
            replies(&mut d),
            vec![(2, "t=outdater_rc|src=a|dop_value=21".into())]
        );
        // The first one goes away: its request is forgotten, a new one may ask.
        d.client_gone(1);
        d.client_message(&mut api, 3, &proto::outdater_request("b", "r0"));
        assert_eq!(replies(&mut d), vec![]);
        assert_eq!(api.sent.len(), 2);
    }

    #[test]
    fn bad_requests() {
        let mut api = fake();
        let mut d = Dopd::new("a");
        let mut m = Message::with_type(proto::T_OUTDATER);
        m.push_str("outdater_peer", "b");
        d.client_message(&mut api, 1, &m);
        assert_eq!(
            replies(&mut d),
            vec![(1, "t=outdater_rc|src=a|dop_value=20".into())]
        );
    }

    #[test]
    fn peer_requests_run_one_at_a_time_and_are_answered() {
        let mut api = fake();
        let mut d = Dopd::new("b");
        let mut m = proto::start_outdate("a", "r0");
        m.push_str("dest", "b");
        d.cluster_message(&mut api, &m);
        d.cluster_message(&mut api, &proto::start_outdate("a", "r1"));
        let r = runs(&mut d);
        assert_eq!(r, vec![(1, "r0".to_string())], "one at a time");
        assert!(d.busy());
        d.command_done(&mut api, 1, CommandEnd::Exited(17));
        assert_eq!(runs(&mut d), vec![(2, "r1".to_string())]);
        d.command_done(&mut api, 2, CommandEnd::Exited(1));
        assert!(!d.busy());
        assert_eq!(
            api.sent,
            vec![
                (
                    "a".into(),
                    "t=outdate_rc|dop_value=6|dop_res=r0|src=b".into()
                ),
                (
                    "a".into(),
                    "t=outdate_rc|dop_value=20|dop_res=r1|src=b".into()
                ),
            ]
        );
        // A resource name drbdadm would take for an option: refused, nothing run.
        d.cluster_message(&mut api, &proto::start_outdate("a", "--config=/x"));
        assert_eq!(runs(&mut d), vec![]);
        assert_eq!(
            api.sent.last().unwrap(),
            &(
                "a".into(),
                "t=outdate_rc|dop_value=20|dop_res=--config=/x|src=b".into()
            )
        );
        // A stale job id changes nothing.
        d.command_done(&mut api, 99, CommandEnd::Exited(0));
        assert_eq!(api.sent.len(), 3);
    }
}
