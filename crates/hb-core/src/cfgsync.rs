//! One configuration for the whole cluster: each node of ours announces a digest of its
//! haresources and of its checks file in a field of its status messages
//! ([`STATUS_FIELD`]; an original node reads only the fields it knows and ignores it).
//! When a peer's digest differs from ours, both send their list of groups with a digest
//! of each ([`GROUPS_MSG`], a message type the original hands to its clients and rc.d
//! filter like any unknown type, silently), so each can log one warning naming the file
//! and the groups that differ. The figures are shown by `heartbeat -s`; after a reload
//! ([`ConfigSync::set_own`]) everything is compared again. An identical cluster logs
//! nothing.
//!
//! Sans-IO: the daemon hands in the peers' status fields ([`ConfigSync::handle_status`],
//! as the membership keeps them: `Peer::status_field`) and group lists
//! ([`ConfigSync::handle_message`]) and a peer's death ([`ConfigSync::peer_gone`]), and
//! takes out log lines and messages to send ([`ConfigSync::poll_output`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use hb_wire::Message;

use crate::Level;

/// The status field carrying the digests: `haresources:HEX,checks:HEX`.
pub const STATUS_FIELD: &str = "hbrs_cfg";
/// Our message type carrying the per-group digests (sent when digests differ).
pub const GROUPS_MSG: &str = "hb-cfggroups";
/// A peer whose digest differs and whose group list has not come gets ours again this
/// often (a list lost on the way; its answer brings its own).
pub const RESEND_INTERVAL: Duration = Duration::from_secs(60);

/// One file's content as it matters to the cluster: per group key, the group's canonical
/// text (comments, blanks and line breaks do not count).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileContent {
    /// `haresources` or `checks`.
    pub file: String,
    pub groups: BTreeMap<String, String>,
}

impl FileContent {
    fn group_digests(&self) -> BTreeMap<String, String> {
        self.groups
            .iter()
            .map(|(k, text)| (k.clone(), short_digest(&format!("{k}\n{text}"))))
            .collect()
    }

    fn digest(&self) -> String {
        let mut all = String::new();
        for (k, d) in self.group_digests() {
            all.push_str(&k);
            all.push(' ');
            all.push_str(&d);
            all.push('\n');
        }
        short_digest(&all)
    }
}

/// 16 hex digits of the SHA-1 of `text` (for telling contents apart, not for security).
fn short_digest(text: &str) -> String {
    let d = hb_wire::auth::digest(
        &hb_wire::AuthMethod::Sha1(Vec::new()),
        None,
        text.as_bytes(),
    );
    d.chars().take(16).collect()
}

/// What differs between our file and a peer's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileDiff {
    pub file: String,
    /// Groups only we have.
    pub only_here: Vec<String>,
    /// Groups only the peer has.
    pub only_there: Vec<String>,
    /// Groups both have, written differently.
    pub changed: Vec<String>,
}

impl FileDiff {
    /// All the groups that differ (`differ: G1; only here: G2; only on PEER: G3`), for the
    /// log and for status output.
    pub fn describe(&self, peer: &str) -> String {
        let mut parts = Vec::new();
        if !self.changed.is_empty() {
            parts.push(format!("differ: {}", self.changed.join(", ")));
        }
        if !self.only_here.is_empty() {
            parts.push(format!("only here: {}", self.only_here.join(", ")));
        }
        if !self.only_there.is_empty() {
            parts.push(format!("only on {peer}: {}", self.only_there.join(", ")));
        }
        if parts.is_empty() {
            parts.push("same groups, different order or options".into());
        }
        parts.join("; ")
    }
}

/// How a peer's configuration compares with ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerConfig {
    /// It announced no digest (an original node, or none heard yet).
    Unknown,
    Same,
    /// These files differ; the groups are known once its list arrived.
    Differs {
        files: Vec<String>,
        diffs: Option<Vec<FileDiff>>,
    },
}

#[derive(Clone, Debug)]
struct Peer {
    /// The digests it announced last.
    announced: Option<String>,
    /// Its group digests per file, from its last list, with the announcement they match.
    groups: Option<(String, BTreeMap<String, BTreeMap<String, String>>)>,
    /// The announcement we last logged about (a warning, or "matches again").
    logged: Option<String>,
    /// When we last sent it our list.
    sent_at: Option<Instant>,
    /// Whether a warning is standing (for the "matches again" line).
    warned: bool,
}

/// What the daemon must do.
#[derive(Clone, Debug, PartialEq)]
pub enum CfgOutput {
    Log(Level, String),
    /// Send this message to the cluster (as our own).
    Send(Message),
}

/// The comparison of our configuration with the peers'.
#[derive(Debug)]
pub struct ConfigSync {
    me: String,
    own: Vec<FileContent>,
    own_field: String,
    peers: BTreeMap<String, Peer>,
    out: VecDeque<CfgOutput>,
}

impl ConfigSync {
    pub fn new(me: &str, own: Vec<FileContent>) -> ConfigSync {
        let own_field = field_of(&own);
        ConfigSync {
            me: me.to_ascii_lowercase(),
            own,
            own_field,
            peers: BTreeMap::new(),
            out: VecDeque::new(),
        }
    }

    /// The value of [`STATUS_FIELD`] in our statuses.
    pub fn status_field(&self) -> &str {
        &self.own_field
    }

    /// Our files changed (a reload): every peer is compared again.
    pub fn set_own(&mut self, now: Instant, own: Vec<FileContent>) {
        self.own_field = field_of(&own);
        self.own = own;
        let names: Vec<String> = self.peers.keys().cloned().collect();
        for n in names {
            if let Some(p) = self.peers.get_mut(&n) {
                p.sent_at = None;
            }
            self.compare(now, &n);
        }
    }

    /// A peer died or left: it is compared afresh when it is back.
    pub fn peer_gone(&mut self, peer: &str) {
        self.peers.remove(&peer.to_ascii_lowercase());
    }

    /// A message delivered from `from`: a status (its field, as [`Self::handle_status`])
    /// or a group list; anything else is ignored.
    pub fn handle_message(&mut self, now: Instant, from: &str, msg: &Message) {
        let from = from.to_ascii_lowercase();
        if from == self.me {
            return;
        }
        match msg.msg_type() {
            Some("status") => self.handle_status(now, &from, msg.get(STATUS_FIELD)),
            Some(GROUPS_MSG) => {
                let Some(field) = msg.get("cfg") else {
                    return;
                };
                let mut files = BTreeMap::new();
                for f in &self.own {
                    let mut groups = BTreeMap::new();
                    for entry in msg.get(&f.file).unwrap_or("").split_whitespace() {
                        if let Some((d, key)) = entry.split_once(':') {
                            groups.insert(key.to_string(), d.to_string());
                        }
                    }
                    files.insert(f.file.clone(), groups);
                }
                let field = field.to_string();
                let own = self.own_field.clone();
                let has_ours = msg.get("have") == Some(own.as_str());
                let p = self.peer(&from);
                p.groups = Some((field.clone(), files));
                if p.announced.is_none() {
                    p.announced = Some(field);
                }
                // It has no list of ours for what we run now (it restarted, or ours was
                // sent before it knew us): send ours once, when the two differ.
                let differs = p.announced.as_deref() != Some(own.as_str());
                if !has_ours && differs {
                    self.send_list(now, &from);
                }
                self.compare(now, &from);
            }
            _ => {}
        }
    }

    /// The [`STATUS_FIELD`] of `from`'s latest status (None: it sent none). The daemon
    /// may call this at every turn: only a change does anything (and, while the peer
    /// differs and its list has not come, a resend of ours every [`RESEND_INTERVAL`]).
    pub fn handle_status(&mut self, now: Instant, from: &str, field: Option<&str>) {
        let from = from.to_ascii_lowercase();
        if from == self.me {
            return;
        }
        let announced = field.map(str::to_string);
        let own = self.own_field.clone();
        let p = self.peer(&from);
        if p.announced == announced {
            // Nothing new. A peer that still differs and whose list has not come
            // gets ours again now and then (its answer brings its list).
            let lacking = p.groups.as_ref().map(|(f, _)| f) != announced.as_ref();
            if announced.is_some()
                && lacking
                && announced.as_deref() != Some(own.as_str())
                && p.sent_at.is_some_and(|t| now >= t + RESEND_INTERVAL)
            {
                self.send_list(now, &from);
            }
            return;
        }
        p.announced = announced;
        self.compare(now, &from);
    }

    /// How `peer`'s configuration compares with ours.
    pub fn peer_config(&self, peer: &str) -> PeerConfig {
        let Some(p) = self.peers.get(&peer.to_ascii_lowercase()) else {
            return PeerConfig::Unknown;
        };
        let Some(a) = p.announced.as_deref() else {
            return PeerConfig::Unknown;
        };
        if a == self.own_field {
            return PeerConfig::Same;
        }
        let files = self.differing_files(a);
        let diffs = p
            .groups
            .as_ref()
            .filter(|(f, _)| f == a)
            .map(|(_, g)| self.diffs(&files, g));
        PeerConfig::Differs { files, diffs }
    }

    /// The peers we have heard a status or a list from, by name.
    pub fn peers(&self) -> impl Iterator<Item = &str> {
        self.peers.keys().map(String::as_str)
    }

    pub fn poll_output(&mut self) -> Option<CfgOutput> {
        self.out.pop_front()
    }

    fn peer(&mut self, name: &str) -> &mut Peer {
        self.peers.entry(name.to_string()).or_insert(Peer {
            announced: None,
            groups: None,
            logged: None,
            sent_at: None,
            warned: false,
        })
    }

    /// The files whose digests differ between ours and an announcement.
    fn differing_files(&self, announced: &str) -> Vec<String> {
        let theirs: BTreeMap<&str, &str> = announced
            .split(',')
            .filter_map(|x| x.split_once(':'))
            .collect();
        self.own
            .iter()
            .filter(|f| theirs.get(f.file.as_str()).copied() != Some(f.digest().as_str()))
            .map(|f| f.file.clone())
            .collect()
    }

    fn diffs(
        &self,
        files: &[String],
        theirs: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Vec<FileDiff> {
        let empty = BTreeMap::new();
        self.own
            .iter()
            .filter(|f| files.contains(&f.file))
            .map(|f| {
                let ours = f.group_digests();
                let t = theirs.get(&f.file).unwrap_or(&empty);
                let keys: BTreeSet<&String> = ours.keys().chain(t.keys()).collect();
                let mut d = FileDiff {
                    file: f.file.clone(),
                    ..Default::default()
                };
                for k in keys {
                    match (ours.get(k), t.get(k)) {
                        (Some(_), None) => d.only_here.push(k.clone()),
                        (None, Some(_)) => d.only_there.push(k.clone()),
                        (Some(a), Some(b)) if a != b => d.changed.push(k.clone()),
                        _ => {}
                    }
                }
                d
            })
            .collect()
    }

    fn send_list(&mut self, now: Instant, peer: &str) {
        let have = self
            .peers
            .get(peer)
            .and_then(|p| p.groups.as_ref())
            .map_or_else(|| "none".to_string(), |(f, _)| f.clone());
        let mut m = Message::with_type(GROUPS_MSG);
        m.push_str("cfg", &self.own_field).push_str("have", have);
        for f in &self.own {
            let list: Vec<String> = f
                .group_digests()
                .into_iter()
                .map(|(k, d)| format!("{d}:{k}"))
                .collect();
            m.push_str(&f.file, list.join(" "));
        }
        self.out.push_back(CfgOutput::Send(m));
        self.peer(peer).sent_at = Some(now);
    }

    /// Compares a peer's latest announcement with ours; logs and sends as needed.
    fn compare(&mut self, now: Instant, name: &str) {
        let Some(p) = self.peers.get(name) else {
            return;
        };
        let Some(a) = p.announced.clone() else {
            return;
        };
        let key = format!("{a}|{}", self.own_field);
        if a == self.own_field {
            let was_warned = p.warned;
            let p = self.peer(name);
            p.warned = false;
            p.logged = Some(key);
            if was_warned {
                self.out.push_back(CfgOutput::Log(
                    Level::Info,
                    format!(
                        "Configuration of node {name} matches ours again (haresources, checks)."
                    ),
                ));
            }
            return;
        }
        if p.sent_at.is_none() {
            self.send_list(now, name);
        }
        if self.peers.get(name).and_then(|p| p.logged.as_deref()) == Some(key.as_str()) {
            return;
        }
        match self.peer_config(name) {
            PeerConfig::Differs {
                diffs: Some(diffs), ..
            } => {
                for d in diffs {
                    self.out.push_back(CfgOutput::Log(
                        Level::Warn,
                        format!(
                            "/etc/ha.d/{} differs between this node and node {name} ({}): keep it identical on every node",
                            d.file,
                            d.describe(name)
                        ),
                    ));
                }
                let p = self.peer(name);
                p.logged = Some(key);
                p.warned = true;
            }
            // Its list is on its way: the warning names the groups once it is here.
            _ => {}
        }
    }
}

/// `haresources:HEX,checks:HEX`.
fn field_of(own: &[FileContent]) -> String {
    let v: Vec<String> = own
        .iter()
        .map(|f| format!("{}:{}", f.file, f.digest()))
        .collect();
    v.join(",")
}

#[cfg(test)]
mod tests;
