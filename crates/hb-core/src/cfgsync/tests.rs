use super::*;

fn file(name: &str, groups: &[(&str, &str)]) -> FileContent {
    FileContent {
        file: name.into(),
        groups: groups
            .iter()
            .map(|(k, t)| (k.to_string(), t.to_string()))
            .collect(),
    }
}

fn conf(hr: &[(&str, &str)], ck: &[(&str, &str)]) -> Vec<FileContent> {
    vec![file("haresources", hr), file("checks", ck)]
}

const VIP: (&str, &str) = (
    "IPaddr::192.0.2.10/24/eth0",
    "a IPaddr::192.0.2.10/24/eth0 httpd",
);
const DB: (&str, &str) = (
    "IPaddr::192.0.2.11/24/eth0",
    "b IPaddr::192.0.2.11/24/eth0 mysql",
);

/// Two nodes in virtual time: each sends a status every second carrying its field;
/// the messages each emits are delivered to the other (and, as in the daemon, to itself).
struct Pair {
    now: Instant,
    a: ConfigSync,
    b: ConfigSync,
    logs: Vec<(char, Level, String)>,
    sent: Vec<(char, Message)>,
    /// Drop the group lists (to see what happens without them).
    drop_lists: bool,
}

impl Pair {
    fn new(a: Vec<FileContent>, b: Vec<FileContent>) -> Pair {
        Pair {
            now: Instant::now(),
            a: ConfigSync::new("a", a),
            b: ConfigSync::new("b", b),
            logs: Vec::new(),
            sent: Vec::new(),
            drop_lists: false,
        }
    }

    fn status(field: &str) -> Message {
        let mut m = Message::with_type("status");
        m.push_str("st", "active").push_str(STATUS_FIELD, field);
        m
    }

    /// Runs `secs` seconds of statuses.
    fn run(&mut self, secs: u64) {
        for _ in 0..secs {
            self.now += Duration::from_secs(1);
            let sa = Self::status(self.a.status_field());
            let sb = Self::status(self.b.status_field());
            self.b.handle_message(self.now, "a", &sa);
            self.a.handle_message(self.now, "b", &sb);
            self.pump();
        }
    }

    fn pump(&mut self) {
        for _ in 0..20 {
            let mut any = false;
            while let Some(o) = self.a.poll_output() {
                any = true;
                self.out('a', o);
            }
            while let Some(o) = self.b.poll_output() {
                any = true;
                self.out('b', o);
            }
            if !any {
                return;
            }
        }
        panic!("the two nodes keep sending");
    }

    fn out(&mut self, who: char, o: CfgOutput) {
        match o {
            CfgOutput::Log(l, t) => self.logs.push((who, l, t)),
            CfgOutput::Send(m) => {
                self.sent.push((who, m.clone()));
                if self.drop_lists {
                    return;
                }
                let (me, other, from) = if who == 'a' {
                    (&mut self.a, &mut self.b, "a")
                } else {
                    (&mut self.b, &mut self.a, "b")
                };
                me.handle_message(self.now, from, &m);
                other.handle_message(self.now, from, &m);
            }
        }
    }

    fn warnings(&self, who: char) -> Vec<&str> {
        self.logs
            .iter()
            .filter(|(w, l, _)| *w == who && *l == Level::Warn)
            .map(|(_, _, t)| t.as_str())
            .collect()
    }
}

#[test]
fn an_identical_cluster_logs_and_sends_nothing() {
    let c = conf(
        &[VIP, DB],
        &[("IPaddr::192.0.2.10/24/eth0", "tcp 127.0.0.1:80")],
    );
    let mut p = Pair::new(c.clone(), c);
    p.run(300);
    assert!(p.logs.is_empty(), "{:?}", p.logs);
    assert!(p.sent.is_empty(), "{:?}", p.sent);
    assert_eq!(p.a.peer_config("b"), PeerConfig::Same);
    assert_eq!(p.b.peer_config("a"), PeerConfig::Same);
}

#[test]
fn a_differing_group_is_named_once_on_both_nodes() {
    let changed = (
        "IPaddr::192.0.2.11/24/eth0",
        "b IPaddr::192.0.2.11/24/eth0 postgresql",
    );
    let extra = ("IPaddr::192.0.2.12/24/eth0", "b IPaddr::192.0.2.12/24/eth0");
    let mut p = Pair::new(conf(&[VIP, DB], &[]), conf(&[VIP, changed, extra], &[]));
    p.run(200);
    let wa = p.warnings('a');
    let wb = p.warnings('b');
    assert_eq!(wa.len(), 1, "{:?}", p.logs);
    assert_eq!(wb.len(), 1, "{:?}", p.logs);
    assert!(
        wa[0].starts_with("/etc/ha.d/haresources differs between this node and node b"),
        "{}",
        wa[0]
    );
    assert!(
        wa[0].contains("differ: IPaddr::192.0.2.11/24/eth0"),
        "{}",
        wa[0]
    );
    assert!(
        wa[0].contains("only on b: IPaddr::192.0.2.12/24/eth0"),
        "{}",
        wa[0]
    );
    assert!(!wa[0].contains(VIP.0), "{}", wa[0]);
    assert!(
        wb[0].contains("only here: IPaddr::192.0.2.12/24/eth0"),
        "{}",
        wb[0]
    );
    // The checks files are the same: not named.
    assert!(p.logs.iter().all(|(_, _, t)| !t.contains("checks differs")));
    // A few lists, then quiet (the resend is only every RESEND_INTERVAL).
    let lists = p.sent.len();
    assert!((2..=4).contains(&lists), "{lists} lists");
    match p.a.peer_config("b") {
        PeerConfig::Differs {
            files,
            diffs: Some(d),
        } => {
            assert_eq!(files, vec!["haresources".to_string()]);
            assert_eq!(d[0].changed, vec![DB.0.to_string()]);
        }
        x => panic!("{x:?}"),
    }
}

#[test]
fn the_checks_file_is_compared_too() {
    let mut p = Pair::new(
        conf(&[VIP], &[(VIP.0, "tcp 127.0.0.1:80 fall=3")]),
        conf(&[VIP], &[(VIP.0, "tcp 127.0.0.1:80 fall=2")]),
    );
    p.run(10);
    let wa = p.warnings('a');
    assert_eq!(wa.len(), 1, "{:?}", p.logs);
    assert!(wa[0].starts_with("/etc/ha.d/checks differs"), "{}", wa[0]);
    assert!(wa[0].contains(VIP.0));
    assert_eq!(p.warnings('b').len(), 1);
}

#[test]
fn a_reload_that_fixes_it_says_so_and_one_that_breaks_it_warns() {
    let good = conf(&[VIP, DB], &[]);
    let bad = conf(&[VIP], &[]);
    let mut p = Pair::new(good.clone(), bad);
    p.run(5);
    assert_eq!(p.warnings('a').len(), 1);
    assert_eq!(p.warnings('b').len(), 1);
    // b's admin copies the file and reloads.
    let now = p.now;
    p.b.set_own(now, good.clone());
    p.pump();
    p.run(5);
    assert_eq!(p.warnings('a').len(), 1, "{:?}", p.logs);
    let infos: Vec<_> = p
        .logs
        .iter()
        .filter(|(_, l, _)| *l == Level::Info)
        .collect();
    assert_eq!(infos.len(), 2, "{:?}", p.logs);
    assert!(infos
        .iter()
        .all(|(_, _, t)| t.contains("matches ours again")));
    assert_eq!(p.a.peer_config("b"), PeerConfig::Same);
    // Then a's admin breaks it on a: warned again, on both.
    let now = p.now;
    p.a.set_own(now, conf(&[VIP, DB, ("x", "a x")], &[]));
    p.pump();
    p.run(5);
    assert_eq!(p.warnings('a').len(), 2, "{:?}", p.logs);
    assert_eq!(p.warnings('b').len(), 2, "{:?}", p.logs);
    assert!(p.warnings('b')[1].contains("only on a: x"));
}

#[test]
fn an_original_peer_without_the_field_is_unknown_and_quiet() {
    let mut s = ConfigSync::new("a", conf(&[VIP], &[]));
    let mut st = Message::with_type("status");
    st.push_str("st", "active");
    let now = Instant::now();
    for i in 0..100 {
        s.handle_message(now + Duration::from_secs(i), "b", &st);
    }
    assert_eq!(s.poll_output(), None);
    assert_eq!(s.peer_config("b"), PeerConfig::Unknown);
    // Other message types are ignored; so is our own status.
    let mut own = Message::with_type("status");
    own.push_str(STATUS_FIELD, "haresources:0,checks:0");
    s.handle_message(now, "a", &own);
    assert_eq!(s.poll_output(), None);
}

#[test]
fn a_restarted_peer_gets_our_list_again() {
    let mut p = Pair::new(conf(&[VIP, DB], &[]), conf(&[VIP], &[]));
    p.run(5);
    assert_eq!(p.warnings('b').len(), 1);
    // b restarts quickly (never declared dead): a fresh ConfigSync with the same files.
    p.b = ConfigSync::new("b", conf(&[VIP], &[]));
    p.run(5);
    assert_eq!(p.warnings('b').len(), 2, "{:?}", p.logs);
    assert_eq!(p.warnings('a').len(), 1, "{:?}", p.logs);
}

#[test]
fn lost_lists_are_sent_again_after_the_interval_and_then_warned() {
    let mut p = Pair::new(conf(&[VIP, DB], &[]), conf(&[VIP], &[]));
    p.drop_lists = true;
    p.run(10);
    assert!(
        p.logs.is_empty(),
        "no warning before the groups are known: {:?}",
        p.logs
    );
    assert!(matches!(
        p.a.peer_config("b"),
        PeerConfig::Differs { diffs: None, .. }
    ));
    p.drop_lists = false;
    p.run(RESEND_INTERVAL.as_secs() + 2);
    assert_eq!(p.warnings('a').len(), 1, "{:?}", p.logs);
    assert_eq!(p.warnings('b').len(), 1, "{:?}", p.logs);
}

#[test]
fn a_dead_peer_is_forgotten() {
    let mut p = Pair::new(conf(&[VIP, DB], &[]), conf(&[VIP], &[]));
    p.run(3);
    p.a.peer_gone("b");
    assert_eq!(p.a.peer_config("b"), PeerConfig::Unknown);
    assert_eq!(p.a.peers().count(), 0);
}
