//! Native service checks (our addition, `/etc/ha.d/checks`) as a sans-IO state machine.
//!
//! [`Checks`] holds every check of this node. It runs no probe itself: it says when a
//! probe is due ([`Checks::poll_probe`]), the daemon starts it (a TCP connect, an HTTP
//! GET, an exec child) and reports its result ([`Checks::probe_done`]); a probe still
//! running at its deadline is reported by [`Checks::poll_expired`] (counted as a
//! failure; the daemon cancels it). The daemon tells it whether this node holds each
//! group ([`Checks::set_holding`]), whether a peer could take it
//! ([`Checks::set_peer_fit`]) and when a local restart ended
//! ([`Checks::group_restarted`]); it answers with [`CheckAction`]s.
//!
//! # Semantics
//! - Probes of one check never overlap. The first is due at once; the next starts
//!   `interval` after the previous one started, or when it ended if it ran longer.
//! - A check starts `unknown` (counted as healthy), becomes `ok` at its first success,
//!   `failing` after `fall` consecutive failures, and `ok` again after `rise`
//!   consecutive successes. Each change is logged
//!   (`check tcp 127.0.0.1:12345 for KEY: failing (3/3)`); single probes are not.
//! - A group is *bad* while one of its checks is failing. While this node holds a bad
//!   group, each run of `fall` consecutive failures is one step: first up to `restarts`
//!   local restarts ([`CheckAction::RestartGroup`]; the largest `restarts` among the
//!   group's checks), each followed by `fall` fresh failures before the next step, then
//!   one [`CheckAction::GiveAway`] per holding episode, only when a peer is fit to take
//!   the group. Without a fit peer the holder keeps the group and logs it, once per
//!   change (the group going bad, the peer's fitness, our holding), never per probe.
//! - A restart pauses the group's probes; results of probes that were running are
//!   ignored; probing resumes `interval` after the restart ends, with fresh counts. A
//!   failed restart skips the remaining restarts (the group is given away at once when
//!   a peer is fit).
//! - When this node starts holding a group, its failure counts start afresh: a group
//!   taken while bad is acted upon after `fall` new failures.
//! - After a give-away the group is *given away for health*: [`Checks::healthy`] is false
//!   until each of its checks has succeeded `rise` times in a row, counting only probes
//!   started at least `interval` after the give-away. Hence `rise × interval` at least
//!   pass before the node is fit again; with a daemon that takes a group back only when
//!   it is healthy, and auto_failback's delay after that, one give-away happens at most
//!   every `rise × interval + failback`, however the service flaps.
//! - [`Checks::healthy`] is false while a check of the group is failing, whether we hold
//!   the group or not, so the daemon refuses a takeover or a failback and tells peers.
//!   Each change of it is reported once by [`CheckAction::HealthChanged`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::Level;

/// A check's identity, chosen by the daemon (for instance its index in the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(pub usize);

/// One check, as the daemon configures it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    /// Distinct for each check.
    pub id: CheckId,
    /// The group's key (its first resource in haresources).
    pub group_key: String,
    /// How logs and status name it: `tcp 127.0.0.1:12345`.
    pub label: String,
    /// Between probe starts (0 is read as 1 ms).
    pub interval: Duration,
    /// A probe still running this long is a failure (0 is read as 1 ms).
    pub timeout: Duration,
    /// Consecutive failures that make the check failing (0 is read as 1).
    pub fall: u32,
    /// Consecutive successes that make a failing check ok again (0 is read as 1).
    pub rise: u32,
    /// Local restarts of the group before it is given away.
    pub restarts: u32,
}

/// What the daemon must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckAction {
    /// A log line.
    Log(Level, String),
    /// Restart the group here: stop its resources right to left, start them left to
    /// right, then call [`Checks::group_restarted`].
    RestartGroup(String),
    /// Hand the group, and only it, to a fit peer ([`crate::takeover::Takeover::give_group`]).
    GiveAway(String),
    /// Whether this node is fit to hold the group changed (tell the peers; refuse or
    /// allow takeovers and failbacks of it).
    HealthChanged { key: String, healthy: bool },
}

/// A check's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckState {
    /// No result yet (counted as healthy).
    Unknown,
    Ok,
    Failing,
}

impl CheckState {
    /// `unknown`, `ok` or `failing`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Unknown => "unknown",
            CheckState::Ok => "ok",
            CheckState::Failing => "failing",
        }
    }
}

/// One check's state and counts (see [`Checks::statuses`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckStatus {
    pub label: String,
    pub group_key: String,
    pub state: CheckState,
    /// Consecutive failures so far.
    pub failures: u32,
    /// Consecutive successes so far.
    pub successes: u32,
    pub fall: u32,
    pub rise: u32,
    /// The group is being restarted here.
    pub restarting: bool,
    pub restarts_done: u32,
    /// The group was handed to a peer for its health.
    pub given_away: bool,
}

#[derive(Clone, Debug)]
struct Probe {
    spec: CheckSpec,
    group: usize,
    state: CheckState,
    fails: u32,
    succ: u32,
    next: Instant,
    started: Instant,
    /// The deadline of the running probe.
    running: Option<Instant>,
    /// The running probe's result is not counted (a restart or a give-away came since).
    discard: bool,
}

#[derive(Clone, Debug)]
struct GroupState {
    key: String,
    holding: bool,
    peer_fit: bool,
    restarting: bool,
    restarts_done: u32,
    max_restarts: u32,
    /// No more restarts (all done, or one failed): the group should go to a peer.
    exhausted: bool,
    /// GiveAway emitted in this holding episode.
    give_away_sent: bool,
    /// Given away for health, until every check rises again.
    given_away: bool,
    /// The last health reported by HealthChanged (initially healthy).
    reported_healthy: bool,
}

/// Every check of this node and the health of the groups they watch.
#[derive(Clone, Debug)]
pub struct Checks {
    probes: Vec<Probe>,
    groups: Vec<GroupState>,
    actions: VecDeque<CheckAction>,
}

const MIN_PERIOD: Duration = Duration::from_millis(1);

impl Checks {
    /// The checks of this node; every first probe is due at `now`. No group is held and
    /// no peer is fit until the daemon says so.
    pub fn new(checks: Vec<CheckSpec>, now: Instant) -> Self {
        let mut groups: Vec<GroupState> = Vec::new();
        let mut probes = Vec::new();
        for mut spec in checks {
            spec.fall = spec.fall.max(1);
            spec.rise = spec.rise.max(1);
            spec.interval = spec.interval.max(MIN_PERIOD);
            spec.timeout = spec.timeout.max(MIN_PERIOD);
            let group = match groups.iter().position(|g| g.key == spec.group_key) {
                Some(i) => i,
                None => {
                    groups.push(GroupState {
                        key: spec.group_key.clone(),
                        holding: false,
                        peer_fit: false,
                        restarting: false,
                        restarts_done: 0,
                        max_restarts: 0,
                        exhausted: false,
                        give_away_sent: false,
                        given_away: false,
                        reported_healthy: true,
                    });
                    groups.len() - 1
                }
            };
            if let Some(g) = groups.get_mut(group) {
                g.max_restarts = g.max_restarts.max(spec.restarts);
            }
            probes.push(Probe {
                spec,
                group,
                state: CheckState::Unknown,
                fails: 0,
                succ: 0,
                next: now,
                started: now,
                running: None,
                discard: false,
            });
        }
        Checks {
            probes,
            groups,
            actions: VecDeque::new(),
        }
    }

    /// Whether there is no check at all.
    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// The keys of the groups that have checks, in the order of their first check.
    pub fn group_keys(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.key.as_str())
    }

    /// A probe that is due now: the daemon starts it and reports by
    /// [`Checks::probe_done`] before `deadline` (else [`Checks::poll_expired`] returns
    /// it). Call until `None`.
    pub fn poll_probe(&mut self, now: Instant) -> Option<(CheckId, Instant)> {
        let groups = &self.groups;
        let p = self
            .probes
            .iter_mut()
            .filter(|p| {
                p.running.is_none()
                    && p.next <= now
                    && !groups.get(p.group).is_some_and(|g| g.restarting)
            })
            .min_by_key(|p| p.next)?;
        let deadline = now + p.spec.timeout;
        p.started = now;
        p.running = Some(deadline);
        p.discard = false;
        Some((p.spec.id, deadline))
    }

    /// A running probe whose deadline has passed: counted as a failure; the daemon
    /// cancels it (kills the child, closes the socket). Call until `None`.
    pub fn poll_expired(&mut self, now: Instant) -> Option<CheckId> {
        let i = self
            .probes
            .iter()
            .position(|p| p.running.is_some_and(|d| d <= now))?;
        let id = self.probes.get(i)?.spec.id;
        self.record(i, now, false);
        self.report_health();
        Some(id)
    }

    /// The result of a probe started by [`Checks::poll_probe`] (`ok`: connected,
    /// answered 2xx/3xx, exited 0). A result after the deadline counts as a failure; a
    /// result for a probe not running (already expired, unknown id) is ignored.
    pub fn probe_done(&mut self, now: Instant, id: CheckId, ok: bool) {
        let Some(i) = self
            .probes
            .iter()
            .position(|p| p.spec.id == id && p.running.is_some())
        else {
            return;
        };
        let late = self
            .probes
            .get(i)
            .and_then(|p| p.running)
            .is_some_and(|d| now > d);
        self.record(i, now, ok && !late);
        self.report_health();
    }

    /// Whether this node holds the group (from the takeover state). Starting to hold it
    /// restarts the failure counts; a bad group is acted upon after `fall` new failures.
    pub fn set_holding(&mut self, group_key: &str, holding: bool) {
        let Some(gi) = self.group_index(group_key) else {
            return;
        };
        let Some(g) = self.groups.get_mut(gi) else {
            return;
        };
        if g.holding == holding {
            return;
        }
        g.holding = holding;
        g.give_away_sent = false;
        g.exhausted = false;
        g.restarts_done = 0;
        if holding {
            let mut bad = false;
            for p in self.probes.iter_mut().filter(|p| p.group == gi) {
                p.fails = 0;
                bad |= p.state == CheckState::Failing;
            }
            if bad {
                let key = group_key.to_string();
                self.log(
                    Level::Warn,
                    format!(
                        "{key}: held here while its check is failing: acting after new failures"
                    ),
                );
            }
        }
        self.report_health();
    }

    /// Whether a peer could take the group: alive and not reporting its own check of
    /// the group failing (an original heartbeat, which has no checks, is fit when alive).
    pub fn set_peer_fit(&mut self, now: Instant, group_key: &str, fit: bool) {
        let Some(gi) = self.group_index(group_key) else {
            return;
        };
        let Some(g) = self.groups.get_mut(gi) else {
            return;
        };
        if g.peer_fit == fit {
            return;
        }
        g.peer_fit = fit;
        self.try_give_away(now, gi);
        self.report_health();
    }

    /// A local restart asked by [`CheckAction::RestartGroup`] ended (`ok`: every start
    /// succeeded). Probing resumes `interval` later with fresh counts.
    pub fn group_restarted(&mut self, now: Instant, group_key: &str, ok: bool) {
        let Some(gi) = self.group_index(group_key) else {
            return;
        };
        let Some(g) = self.groups.get_mut(gi) else {
            return;
        };
        if !g.restarting {
            return;
        }
        g.restarting = false;
        let (done, max) = (g.restarts_done, g.max_restarts);
        for p in self.probes.iter_mut().filter(|p| p.group == gi) {
            p.fails = 0;
            p.succ = 0;
            p.next = p.next.max(now + p.spec.interval);
            p.discard |= p.running.is_some();
        }
        let key = group_key.to_string();
        if ok {
            self.log(
                Level::Info,
                format!("{key}: restarted locally ({done}/{max}): checking it again"),
            );
        } else {
            self.log(
                Level::Error,
                format!("{key}: local restart failed ({done}/{max}): no more restarts"),
            );
            if let Some(g) = self.groups.get_mut(gi) {
                g.exhausted = true;
            }
            self.try_give_away(now, gi);
        }
        self.report_health();
    }

    /// The next thing to do, until `None`.
    pub fn poll_action(&mut self) -> Option<CheckAction> {
        self.actions.pop_front()
    }

    /// Whether this node is fit to hold the group: no check of it failing, and not given
    /// away for health since. A group without checks is always fit.
    pub fn healthy(&self, group_key: &str) -> bool {
        match self.group_index(group_key) {
            Some(gi) => self.group_healthy(gi),
            None => true,
        }
    }

    /// The state of a check.
    pub fn state(&self, id: CheckId) -> Option<CheckState> {
        self.probes
            .iter()
            .find(|p| p.spec.id == id)
            .map(|p| p.state)
    }

    /// When the machine next needs the daemon: a probe due or a deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.probes
            .iter()
            .filter_map(|p| match p.running {
                Some(d) => Some(d),
                None if self.groups.get(p.group).is_some_and(|g| g.restarting) => None,
                None => Some(p.next),
            })
            .min()
    }

    /// Each check's state and counts, for machine-readable status output.
    pub fn statuses(&self) -> Vec<CheckStatus> {
        self.probes
            .iter()
            .map(|p| {
                let g = self.groups.get(p.group);
                CheckStatus {
                    label: p.spec.label.clone(),
                    group_key: p.spec.group_key.clone(),
                    state: p.state,
                    failures: p.fails,
                    successes: p.succ,
                    fall: p.spec.fall,
                    rise: p.spec.rise,
                    restarting: g.is_some_and(|g| g.restarting),
                    restarts_done: g.map_or(0, |g| g.restarts_done),
                    given_away: g.is_some_and(|g| g.given_away),
                }
            })
            .collect()
    }

    /// One line per check, for status output:
    /// `check tcp 127.0.0.1:12345 for KEY: failing (3/3); given away until ok (0/2)`.
    pub fn status_lines(&self) -> Vec<String> {
        self.probes
            .iter()
            .map(|p| {
                let s = &p.spec;
                let state = match p.state {
                    CheckState::Unknown => "unknown (no result yet)".to_string(),
                    CheckState::Ok if p.fails > 0 => {
                        format!("ok, failed {}/{}", p.fails, s.fall)
                    }
                    CheckState::Ok => "ok".to_string(),
                    CheckState::Failing if p.succ > 0 => {
                        format!("failing, ok {}/{}", p.succ.min(s.rise), s.rise)
                    }
                    CheckState::Failing => format!("failing ({}/{})", p.fails.min(s.fall), s.fall),
                };
                let mut line = format!("check {} for {}: {state}", s.label, s.group_key);
                if let Some(g) = self.groups.get(p.group) {
                    if g.restarting {
                        line.push_str(&format!(
                            "; restarting the group ({}/{})",
                            g.restarts_done, g.max_restarts
                        ));
                    }
                    if g.given_away {
                        line.push_str(&format!(
                            "; given away until ok ({}/{})",
                            p.succ.min(s.rise),
                            s.rise
                        ));
                    } else if g.exhausted && g.holding && !g.give_away_sent && !g.peer_fit {
                        line.push_str("; kept here: no peer is fit to take it");
                    }
                }
                line
            })
            .collect()
    }

    fn group_index(&self, key: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.key == key)
    }

    fn group_healthy(&self, gi: usize) -> bool {
        let given_away = self.groups.get(gi).is_some_and(|g| g.given_away);
        !given_away
            && !self
                .probes
                .iter()
                .any(|p| p.group == gi && p.state == CheckState::Failing)
    }

    fn log(&mut self, level: Level, text: String) {
        self.actions.push_back(CheckAction::Log(level, text));
    }

    fn report_health(&mut self) {
        for gi in 0..self.groups.len() {
            let now_healthy = self.group_healthy(gi);
            if let Some(g) = self.groups.get_mut(gi) {
                if g.reported_healthy != now_healthy {
                    g.reported_healthy = now_healthy;
                    let key = g.key.clone();
                    self.actions.push_back(CheckAction::HealthChanged {
                        key,
                        healthy: now_healthy,
                    });
                }
            }
        }
    }

    /// Counts one result of probe `i` ended at `now`.
    fn record(&mut self, i: usize, now: Instant, ok: bool) {
        let Some(p) = self.probes.get_mut(i) else {
            return;
        };
        p.running = None;
        p.next = p.next.max(p.started + p.spec.interval).max(now);
        let gi = p.group;
        let restarting = self.groups.get(gi).is_some_and(|g| g.restarting);
        if std::mem::take(&mut p.discard) || restarting {
            return;
        }
        if ok {
            p.succ = p.succ.saturating_add(1);
            p.fails = 0;
        } else {
            p.fails = p.fails.saturating_add(1);
            p.succ = 0;
        }
        let (fall, rise) = (p.spec.fall, p.spec.rise);
        let name = format!("check {} for {}", p.spec.label, p.spec.group_key);
        let before = p.state;
        let after = match (before, ok) {
            (CheckState::Unknown, true) => CheckState::Ok,
            (CheckState::Unknown | CheckState::Ok, false) if p.fails >= fall => CheckState::Failing,
            (CheckState::Failing, true) if p.succ >= rise => CheckState::Ok,
            (s, _) => s,
        };
        p.state = after;
        // One step per run of `fall` consecutive failures (counted afresh after a
        // restart and when holding starts).
        let step = !ok && p.fails == fall;
        match (before, after) {
            (CheckState::Unknown, CheckState::Ok) => self.log(Level::Info, format!("{name}: ok")),
            (CheckState::Failing, CheckState::Ok) => {
                self.log(Level::Info, format!("{name}: ok again ({rise}/{rise})"))
            }
            (_, CheckState::Failing) if before != CheckState::Failing => {
                self.log(Level::Warn, format!("{name}: failing ({fall}/{fall})"))
            }
            _ => {}
        }
        if after == CheckState::Ok && before == CheckState::Failing && self.no_check_failing(gi) {
            // Every check of the group is ok: the episode ends.
            if let Some(g) = self.groups.get_mut(gi) {
                g.exhausted = false;
                g.restarts_done = 0;
            }
        }
        if ok {
            self.maybe_fit_again(gi);
        }
        if step && self.groups.get(gi).is_some_and(|g| g.holding) {
            self.escalate(now, gi);
        }
    }

    /// No check of the group is failing (whatever the given-away mark).
    fn no_check_failing(&self, gi: usize) -> bool {
        !self
            .probes
            .iter()
            .any(|p| p.group == gi && p.state == CheckState::Failing)
    }

    /// Clears the given-away mark once every check of the group rose again.
    fn maybe_fit_again(&mut self, gi: usize) {
        if !self.groups.get(gi).is_some_and(|g| g.given_away) {
            return;
        }
        let risen = self
            .probes
            .iter()
            .filter(|p| p.group == gi)
            .all(|p| p.state == CheckState::Ok && p.succ >= p.spec.rise);
        if !risen {
            return;
        }
        if let Some(g) = self.groups.get_mut(gi) {
            g.given_away = false;
            g.exhausted = false;
            g.restarts_done = 0;
            let key = g.key.clone();
            self.log(
                Level::Info,
                format!("{key}: checks ok again: fit to hold the group again"),
            );
        }
    }

    /// The next step for a held group whose check just failed `fall` times.
    fn escalate(&mut self, now: Instant, gi: usize) {
        let Some(g) = self.groups.get_mut(gi) else {
            return;
        };
        if g.restarting {
            return;
        }
        if !g.exhausted && g.restarts_done < g.max_restarts {
            g.restarts_done += 1;
            g.restarting = true;
            let (key, n, max) = (g.key.clone(), g.restarts_done, g.max_restarts);
            for p in self.probes.iter_mut().filter(|p| p.group == gi) {
                p.discard |= p.running.is_some();
            }
            self.log(
                Level::Warn,
                format!("{key}: check failing: restarting the group here ({n}/{max})"),
            );
            self.actions.push_back(CheckAction::RestartGroup(key));
            return;
        }
        g.exhausted = true;
        self.try_give_away(now, gi);
    }

    /// Gives the group away if it should go and a peer is fit; else says it is kept.
    fn try_give_away(&mut self, now: Instant, gi: usize) {
        let Some(g) = self.groups.get_mut(gi) else {
            return;
        };
        let should_go = g.exhausted && g.holding && !g.give_away_sent && !g.restarting;
        if !should_go {
            return;
        }
        let key = g.key.clone();
        if !g.peer_fit {
            self.log(
                Level::Warn,
                format!("{key}: check failing, but no peer is fit to take the group: keeping it"),
            );
            return;
        }
        g.give_away_sent = true;
        g.given_away = true;
        let done = g.restarts_done;
        for p in self.probes.iter_mut().filter(|p| p.group == gi) {
            p.succ = 0;
            p.discard |= p.running.is_some();
            p.next = p.next.max(now + p.spec.interval);
        }
        let restarts = if done == 0 {
            String::new()
        } else {
            format!(" after {done} local restart(s)")
        };
        self.log(
            Level::Warn,
            format!("{key}: check failing{restarts}: giving the group to the peer"),
        );
        self.actions.push_back(CheckAction::GiveAway(key));
    }
}
