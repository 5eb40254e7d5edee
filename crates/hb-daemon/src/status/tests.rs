use super::*;
use hb_core::checks::CheckState;

/// A parsed JSON value (enough to check the renderings).
#[derive(Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn get(&self, k: &str) -> &J {
        match self {
            J::Obj(v) => v
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, x)| x)
                .unwrap_or_else(|| panic!("no key {k}")),
            _ => panic!("not an object"),
        }
    }
    fn arr(&self) -> &[J] {
        match self {
            J::Arr(v) => v,
            _ => panic!("not an array"),
        }
    }
    fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
}

/// A strict parser of RFC 8259 JSON: the whole input must be one value.
struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && b" \t\r\n".contains(&self.b[self.i]) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {} at {}", c as char, self.i))
        }
    }
    fn value(&mut self) -> Result<J, String> {
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(J::Obj(v));
                }
                loop {
                    self.ws();
                    let k = match self.value()? {
                        J::Str(s) => s,
                        x => return Err(format!("key is not a string: {x:?}")),
                    };
                    self.eat(b':')?;
                    let x = self.value()?;
                    v.push((k, x));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(J::Obj(v));
                        }
                        _ => return Err(format!("bad object at {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(J::Arr(v));
                }
                loop {
                    v.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(J::Arr(v));
                        }
                        _ => return Err(format!("bad array at {}", self.i)),
                    }
                }
            }
            Some(b'"') => {
                self.i += 1;
                let mut s = Vec::new();
                loop {
                    let c = *self.b.get(self.i).ok_or("unterminated string")?;
                    self.i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => {
                            let e = *self.b.get(self.i).ok_or("bad escape")?;
                            self.i += 1;
                            let ch = match e {
                                b'"' => '"',
                                b'\\' => '\\',
                                b'/' => '/',
                                b'n' => '\n',
                                b'r' => '\r',
                                b't' => '\t',
                                b'b' => '\u{8}',
                                b'f' => '\u{c}',
                                b'u' => {
                                    let h = self.b.get(self.i..self.i + 4).ok_or("short \\u")?;
                                    self.i += 4;
                                    let n = u32::from_str_radix(
                                        std::str::from_utf8(h).map_err(|e| e.to_string())?,
                                        16,
                                    )
                                    .map_err(|e| e.to_string())?;
                                    char::from_u32(n).ok_or("bad \\u")?
                                }
                                _ => return Err(format!("bad escape \\{}", e as char)),
                            };
                            let mut buf = [0; 4];
                            s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        c if c < 0x20 => return Err("raw control character in a string".into()),
                        c => s.push(c),
                    }
                }
                String::from_utf8(s).map(J::Str).map_err(|e| e.to_string())
            }
            Some(b't') if self.b[self.i..].starts_with(b"true") => {
                self.i += 4;
                Ok(J::Bool(true))
            }
            Some(b'f') if self.b[self.i..].starts_with(b"false") => {
                self.i += 5;
                Ok(J::Bool(false))
            }
            Some(b'n') if self.b[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok(J::Null)
            }
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let st = self.i;
                self.i += 1;
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || b".eE+-".contains(c))
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.b[st..self.i]).map_err(|e| e.to_string())?;
                t.parse().map(J::Num).map_err(|e| format!("{t}: {e}"))
            }
            _ => Err(format!("unexpected at {}", self.i)),
        }
    }
}

fn parse(s: &str) -> Result<J, String> {
    let mut p = P {
        b: s.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.b.len() {
        return Err(format!("trailing bytes at {}", p.i));
    }
    Ok(v)
}

fn sample() -> Snapshot {
    let mut packets = Counters {
        received: 120,
        accepted: 100,
        duplicates: 15,
        replays: 2,
        ..Default::default()
    };
    packets.dropped = vec![(DropKind::ALL[0], 3), (DropKind::ALL[5], 2)];
    Snapshot {
        node: "a".into(),
        time: 1_700_000_000,
        nodes: vec![
            NodeSnap {
                name: "a".into(),
                kind: "normal",
                status: "active".into(),
                generation: Some(7),
                links: vec![("eth0".into(), "up".into())],
            },
            NodeSnap {
                name: "b \"quoted\"\\".into(),
                kind: "normal",
                status: "dead".into(),
                generation: None,
                links: vec![
                    ("eth0".into(), "dead".into()),
                    ("/dev/ttyS0".into(), "up".into()),
                ],
            },
            NodeSnap {
                name: "192.0.2.1".into(),
                kind: "ping",
                status: "ping".into(),
                generation: None,
                links: vec![("192.0.2.1".into(), "up".into())],
            },
        ],
        groups: vec![GroupSnap {
            key: "IPaddr::192.0.2.10/24/eth0".into(),
            resources: vec![
                "IPaddr::192.0.2.10/24/eth0".into(),
                "Filesystem::/dev/x::/d\tt".into(),
            ],
            preferred: "a".into(),
            holder: Some("a".into()),
            state: "running",
        }],
        checks: vec![CheckStatus {
            label: "exec echo \"x\" \\ y\nz".into(),
            group_key: "IPaddr::192.0.2.10/24/eth0".into(),
            state: CheckState::Failing,
            failures: 3,
            successes: 0,
            fall: 3,
            rise: 2,
            restarting: false,
            restarts_done: 0,
            given_away: true,
        }],
        check_lines: vec!["check exec x for IPaddr::192.0.2.10/24/eth0: failing (3/3)".into()],
        packets,
        api_drops: vec![("refused", 4), ("evicted", 0)],
        config_digest: "haresources:0123456789abcdef,checks:fedcba9876543210".into(),
        config: vec![
            (
                "b \"quoted\"\\".into(),
                PeerConfig::Differs {
                    files: vec!["haresources".into()],
                    diffs: Some(vec![hb_core::cfgsync::FileDiff {
                        file: "haresources".into(),
                        only_here: vec![],
                        only_there: vec!["IPaddr::192.0.2.12/24/eth0".into()],
                        changed: vec!["IPaddr::192.0.2.10/24/eth0".into()],
                    }]),
                },
            ),
            ("c".into(), PeerConfig::Unknown),
            ("d".into(), PeerConfig::Same),
        ],
    }
}

#[test]
fn json_escaping_round_trips() {
    for s in [
        "",
        "plain",
        "q\"uote",
        "back\\slash",
        "nl\nand\rcr\ttab",
        "\u{1}\u{1f}\u{7f}",
        "ünïcödé ✓",
        "</script>",
    ] {
        let lit = json_string(s);
        assert_eq!(parse(&lit), Ok(J::Str(s.to_string())), "{lit}");
        assert!(
            !lit.bytes().any(|b| b < 0x20),
            "raw control byte in {lit:?}"
        );
    }
    assert_eq!(json_string("a\"b"), r#""a\"b""#);
    assert_eq!(json_string("\u{1}"), r#""\u0001""#);
}

#[test]
fn json_is_valid_and_has_every_field() {
    let s = sample();
    let text = render_json(&s);
    assert!(text.ends_with('\n') && text.lines().count() == 1);
    let j = parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(j.get("node").str(), "a");
    assert_eq!(j.get("running"), &J::Bool(true));
    let nodes = j.get("nodes").arr();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[1].get("name").str(), "b \"quoted\"\\");
    assert_eq!(nodes[1].get("generation"), &J::Null);
    assert_eq!(nodes[0].get("generation"), &J::Num(7.0));
    assert_eq!(nodes[2].get("type").str(), "ping");
    let links = nodes[1].get("links").arr();
    assert_eq!(links[1].get("name").str(), "/dev/ttyS0");
    assert_eq!(links[1].get("status").str(), "up");
    let g = &j.get("groups").arr()[0];
    assert_eq!(g.get("holder").str(), "a");
    assert_eq!(g.get("preferred").str(), "a");
    assert_eq!(g.get("state").str(), "running");
    assert_eq!(
        g.get("resources").arr()[1].str(),
        "Filesystem::/dev/x::/d\tt"
    );
    let c = &j.get("checks").arr()[0];
    assert_eq!(c.get("target").str(), "exec echo \"x\" \\ y\nz");
    assert_eq!(c.get("state").str(), "failing");
    assert_eq!(c.get("failures"), &J::Num(3.0));
    assert_eq!(c.get("given_away"), &J::Bool(true));
    let p = j.get("packets");
    assert_eq!(p.get("received"), &J::Num(120.0));
    let d = p.get("dropped");
    // Every kind, zeros included.
    match d {
        J::Obj(v) => assert_eq!(v.len(), DropKind::ALL.len()),
        _ => panic!("dropped is no object"),
    }
    assert_eq!(d.get(DropKind::ALL[0].name()), &J::Num(3.0));
    assert_eq!(d.get(DropKind::ALL[1].name()), &J::Num(0.0));
    assert_eq!(j.get("api_drops").get("refused"), &J::Num(4.0));
    let cfg = j.get("config");
    assert_eq!(
        cfg.get("digest").str(),
        "haresources:0123456789abcdef,checks:fedcba9876543210"
    );
    let peers = cfg.get("peers").arr();
    assert_eq!(peers[0].get("state").str(), "differs");
    assert_eq!(peers[0].get("files").arr()[0].str(), "haresources");
    let g = &peers[0].get("groups").arr()[0];
    assert_eq!(g.get("differ").arr()[0].str(), "IPaddr::192.0.2.10/24/eth0");
    assert_eq!(
        g.get("only_there").arr()[0].str(),
        "IPaddr::192.0.2.12/24/eth0"
    );
    assert_eq!(peers[1].get("state").str(), "unknown");
    assert_eq!(peers[1].get("groups"), &J::Null);
    assert_eq!(peers[2].get("state").str(), "same");
    // An empty snapshot is valid too; so is the daemon-down answer.
    parse(&render_json(&Snapshot::default())).expect("empty snapshot");
    let down = parse(&json_down("n\"x")).expect("down");
    assert_eq!(down.get("running"), &J::Bool(false));
}

#[test]
fn the_tiny_parser_refuses_broken_json() {
    for bad in ["{", "{\"a\":}", "[1,]", "\"a\nb\"", "{\"a\":1} x", "{a:1}"] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

/// Checks one exposition: every sample belongs to a family announced by HELP and TYPE
/// lines before it, names and label names are valid, label values are closed quoted
/// strings, values are numbers; no family is announced twice.
fn check_exposition(text: &str) -> Vec<(String, Vec<(String, String)>, f64)> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut typed: Vec<String> = Vec::new();
    let mut helped: Vec<String> = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (n, help) = rest.split_once(' ').expect("HELP text");
            assert!(name_ok(n) && !help.is_empty(), "{line}");
            assert!(!helped.contains(&n.to_string()), "HELP twice: {line}");
            helped.push(n.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (n, t) = rest.split_once(' ').expect("TYPE kind");
            assert!(["counter", "gauge"].contains(&t), "{line}");
            assert!(!typed.contains(&n.to_string()), "TYPE twice: {line}");
            if t == "counter" {
                assert!(n.ends_with("_total"), "counter without _total: {line}");
            }
            typed.push(n.to_string());
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
        let name_end = line.find(['{', ' ']).expect("sample");
        let name = &line[..name_end];
        assert!(name_ok(name), "{line}");
        assert_eq!(
            typed.last().map(String::as_str),
            Some(name),
            "sample out of its family: {line}"
        );
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let mut r = r;
            loop {
                let (k, after) = r.split_once("=\"").expect("label");
                assert!(name_ok(k) && !k.contains(':'), "{line}");
                let mut v = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    let (i, c) = chars.next().expect("closed label value");
                    match c {
                        '\\' => match chars.next().expect("escape").1 {
                            'n' => v.push('\n'),
                            c @ ('\\' | '"') => v.push(c),
                            c => panic!("bad escape \\{c} in {line}"),
                        },
                        '"' => break i,
                        '\n' => panic!("raw newline"),
                        c => v.push(c),
                    }
                };
                labels.push((k.to_string(), v));
                r = &after[end + 1..];
                if let Some(x) = r.strip_prefix(',') {
                    r = x;
                } else {
                    rest = r.strip_prefix('}').expect("labels closed");
                    break;
                }
            }
        }
        let value = rest.strip_prefix(' ').expect("space before value");
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        samples.push((name.to_string(), labels, v));
    }
    assert_eq!(typed, helped);
    samples
}

#[test]
fn prometheus_lines_are_well_formed_and_carry_the_figures() {
    let s = sample();
    let text = render_prometheus(&s);
    let samples = check_exposition(&text);
    let find = |name: &str, label: (&str, &str)| {
        samples
            .iter()
            .find(|(n, l, _)| n == name && l.iter().any(|(k, v)| k == label.0 && v == label.1))
            .map(|(_, _, v)| *v)
    };
    assert_eq!(find("heartbeat_up", ("node", "a")), Some(1.0));
    assert_eq!(
        find("heartbeat_node_status", ("peer", "b \"quoted\"\\")),
        Some(1.0)
    );
    assert_eq!(find("heartbeat_node_generation", ("peer", "a")), Some(7.0));
    assert_eq!(find("heartbeat_link_up", ("link", "/dev/ttyS0")), Some(1.0));
    assert_eq!(find("heartbeat_link_up", ("link", "eth0")), Some(1.0));
    assert_eq!(find("heartbeat_group_running", ("holder", "a")), Some(1.0));
    assert_eq!(
        find(
            "heartbeat_check_failing",
            ("target", "exec echo \"x\" \\ y\nz")
        ),
        Some(1.0)
    );
    assert_eq!(
        find(
            "heartbeat_check_failures",
            ("group", "IPaddr::192.0.2.10/24/eth0")
        ),
        Some(3.0)
    );
    assert_eq!(
        find("heartbeat_packets_received_total", ("node", "a")),
        Some(120.0)
    );
    assert_eq!(
        find(
            "heartbeat_packets_dropped_total",
            ("kind", DropKind::ALL[5].name())
        ),
        Some(2.0)
    );
    assert_eq!(
        find(
            "heartbeat_packets_dropped_total",
            ("kind", DropKind::ALL[2].name())
        ),
        Some(0.0)
    );
    assert_eq!(
        find("heartbeat_api_drops_total", ("kind", "refused")),
        Some(4.0)
    );
    let differs: Vec<_> = samples
        .iter()
        .filter(|(n, _, _)| n == "heartbeat_config_differs")
        .map(|(_, l, v)| (l[1].1.clone(), l[2].1.clone(), *v))
        .collect();
    assert_eq!(
        differs,
        vec![
            ("b \"quoted\"\\".to_string(), "haresources".to_string(), 1.0),
            ("b \"quoted\"\\".to_string(), "checks".to_string(), 0.0),
            ("d".to_string(), "haresources".to_string(), 0.0),
            ("d".to_string(), "checks".to_string(), 0.0),
        ]
    );
    let down = check_exposition(&prometheus_down("a"));
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].2, 0.0);
    check_exposition(&render_prometheus(&Snapshot::default()));
}

#[test]
fn text_shows_nodes_groups_checks_packets_and_api_drops() {
    let t = render_text(&sample());
    assert!(
        t.contains("node a (normal): active, generation 7, links: eth0 up\n"),
        "{t}"
    );
    assert!(
        t.contains("group IPaddr::192.0.2.10/24/eth0: running on a (preferred a): "),
        "{t}"
    );
    assert!(t.contains("failing (3/3)\n"), "{t}");
    assert!(t.contains("packets: received 120, accepted 100"), "{t}");
    assert!(t.contains("api drops: refused 4, evicted 0\n"), "{t}");
    assert!(
        t.contains("configuration of d: same haresources and checks\n"),
        "{t}"
    );
    assert!(t.contains("configuration of c: unknown"), "{t}");
    assert!(
        t.contains("DIFFERS: haresources (differ: IPaddr::192.0.2.10/24/eth0; only on b \"quoted\"\\: IPaddr::192.0.2.12/24/eth0)"),
        "{t}"
    );
}
