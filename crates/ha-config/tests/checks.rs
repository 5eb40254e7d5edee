//! /etc/ha.d/checks: every rule of the parser, every error, the loader and the config test.

use std::path::PathBuf;
use std::time::Duration;

use ha_config::checks::*;
use ha_config::*;

const HARES: &str = "\
a IPaddr::198.51.100.254/24/eth0 httpd
b 198.51.100.10 Filesystem::/dev/sdb1::/data::ext3 shared
a IPaddr2::192.0.2.7/24 MailTo::root
b 192.0.2.50/24/eth1 shared2
";

fn hares() -> Haresources {
    let (h, d) = parse_haresources(HARES, "haresources");
    assert!(d.is_empty(), "{d:?}");
    h.unwrap()
}

fn ok(text: &str) -> Vec<Check> {
    let (c, d) = parse_checks(text, "checks", &hares());
    assert!(
        !d.iter().any(Diagnostic::is_error),
        "refused: {text}\n{d:#?}"
    );
    c.unwrap()
}

fn one(text: &str) -> Check {
    let c = ok(text);
    assert_eq!(c.len(), 1, "{c:?}");
    c.into_iter().next().unwrap()
}

fn warnings(text: &str) -> Vec<String> {
    let (c, d) = parse_checks(text, "checks", &hares());
    assert!(c.is_some(), "refused: {text}\n{d:#?}");
    d.iter().map(|x| x.to_string()).collect()
}

fn errors(text: &str) -> Vec<String> {
    let (c, d) = parse_checks(text, "checks", &hares());
    assert!(c.is_none(), "accepted: {text}");
    d.iter()
        .filter(|x| x.is_error())
        .map(|x| x.to_string())
        .collect()
}

/// `text` (one line) is refused with exactly one error on line 1 containing `msg`.
fn err1(text: &str, msg: &str) {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{text}: {e:?}");
    assert!(
        e[0].starts_with("checks:1: ") && e[0].contains(msg),
        "{text}: expected checks:1: ...{msg}..., got {e:?}"
    );
}

#[test]
fn the_users_case_with_defaults() {
    let c = one("IPaddr::198.51.100.254/24/eth0 tcp 127.0.0.1:12345\n");
    assert_eq!(
        c,
        Check {
            line: 1,
            group_key: "IPaddr::198.51.100.254/24/eth0".into(),
            kind: CheckKind::Tcp {
                host: "127.0.0.1".into(),
                port: 12345
            },
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            fall: 3,
            rise: 2,
            restarts: 0,
        }
    );
    assert_eq!(c.label(), "tcp 127.0.0.1:12345");
    assert_eq!(
        c.kind.socket_addr(),
        Some("127.0.0.1:12345".parse().unwrap())
    );
    assert_eq!(DEFAULT_INTERVAL, Duration::from_secs(2));
    assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(1));
    assert_eq!((DEFAULT_FALL, DEFAULT_RISE, DEFAULT_RESTARTS), (3, 2, 0));
}

#[test]
fn comments_blank_lines_continuations_and_line_numbers() {
    let c = ok("# header\n\n   \t\nhttpd tcp 127.0.0.1:80 # trailing\n  shared \\\ntcp 127.0.0.1:5432 fall=2\r\nshared2 exec true\n");
    assert_eq!(c.len(), 3);
    assert_eq!(c.iter().map(|x| x.line).collect::<Vec<_>>(), vec![4, 5, 7]);
    assert_eq!(c[1].fall, 2);
    assert_eq!(c[1].group_key, "198.51.100.10");
    assert_eq!(c[2].group_key, "192.0.2.50/24/eth1");
    // An error on a continued line is reported at its first line.
    let e = errors("\n\nhttpd \\\ntcp nowhere:1\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("checks:3: "), "{e:?}");
    // Empty file, only comments: no checks, no diagnostics.
    assert!(ok("").is_empty());
    assert!(ok("# nothing\n\n").is_empty());
}

#[test]
fn group_by_key_by_resource_or_by_carried_address() {
    let key = |text: &str| one(text).group_key;
    assert_eq!(
        key("IPaddr::198.51.100.254/24/eth0 tcp 127.0.0.1:1"),
        "IPaddr::198.51.100.254/24/eth0"
    );
    assert_eq!(
        key("httpd tcp 127.0.0.1:1"),
        "IPaddr::198.51.100.254/24/eth0"
    );
    assert_eq!(
        key("198.51.100.254 tcp 127.0.0.1:1"),
        "IPaddr::198.51.100.254/24/eth0"
    );
    assert_eq!(key("198.51.100.10 tcp 127.0.0.1:1"), "198.51.100.10");
    assert_eq!(
        key("Filesystem::/dev/sdb1::/data::ext3 tcp 127.0.0.1:1"),
        "198.51.100.10"
    );
    assert_eq!(key("MailTo::root tcp 127.0.0.1:1"), "IPaddr2::192.0.2.7/24");
    assert_eq!(key("192.0.2.7 tcp 127.0.0.1:1"), "IPaddr2::192.0.2.7/24");
    // A bare-address resource with mask and interface carries its address.
    assert_eq!(key("192.0.2.50 tcp 127.0.0.1:1"), "192.0.2.50/24/eth1");
    // Resources are matched as written (case matters, like haresources).
    err1("HTTPD tcp 127.0.0.1:1", "unknown group 'HTTPD'");
    err1(
        "198.51.100.99 tcp 127.0.0.1:1",
        "unknown group '198.51.100.99'",
    );
    err1("198.51.100 tcp 127.0.0.1:1", "unknown group");
    // An address is not matched inside other words of an argument.
    err1("24 tcp 127.0.0.1:1", "unknown group '24'");
}

#[test]
fn a_name_of_several_groups_is_refused() {
    let (h, _) = parse_haresources(
        "a IPaddr::192.0.2.1/24 web\nb IPaddr2::192.0.2.1/24 web\n",
        "haresources",
    );
    let h = h.unwrap();
    for name in ["web", "192.0.2.1"] {
        let (c, d) = parse_checks(&format!("{name} tcp 127.0.0.1:1\n"), "checks", &h);
        assert!(c.is_none());
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].to_string(),
            format!("checks:1: '{name}' names several groups (haresources lines 1, 2): name the group by its first resource")
        );
    }
    // The key itself is never ambiguous.
    let (c, _) = parse_checks("IPaddr2::192.0.2.1/24 tcp 127.0.0.1:1\n", "checks", &h);
    assert_eq!(c.unwrap()[0].group_key, "IPaddr2::192.0.2.1/24");
}

#[test]
fn tcp_targets() {
    let k = |t: &str| one(&format!("httpd tcp {t}")).kind;
    assert_eq!(
        k("[::1]:8080"),
        CheckKind::Tcp {
            host: "::1".into(),
            port: 8080
        }
    );
    assert_eq!(one("httpd tcp [::1]:8080").label(), "tcp [::1]:8080");
    assert_eq!(
        k("localhost:1").socket_addr(),
        Some("127.0.0.1:1".parse().unwrap())
    );
    assert_eq!(
        k("192.0.2.1:65535"),
        CheckKind::Tcp {
            host: "192.0.2.1".into(),
            port: 65535
        }
    );
    err1("httpd tcp", "tcp needs HOST:PORT");
    err1("httpd tcp 127.0.0.1", "missing ':PORT'");
    err1("httpd tcp 127.0.0.1:", "bad port ''");
    err1("httpd tcp 127.0.0.1:0", "bad port '0'");
    err1("httpd tcp 127.0.0.1:65536", "bad port '65536'");
    err1("httpd tcp 127.0.0.1:http", "bad port 'http'");
    err1("httpd tcp :80", "missing host");
    err1(
        "httpd tcp db.example:5432",
        "host 'db.example' is not an IP address",
    );
    err1("httpd tcp ::1:80", "write an IPv6 address in brackets");
    err1("httpd tcp [::1:80", "missing ']'");
    err1("httpd tcp [zz]:80", "'zz' is not an IPv6 address");
    err1("httpd tcp [::1]80", "expected ':PORT' after ']'");
    err1("httpd tcp [::1]", "missing ':PORT'");
    err1(
        "httpd tcp 127.0.0.1:80 extra",
        "unexpected 'extra' after the tcp target",
    );
}

#[test]
fn http_targets() {
    let c = one("httpd http http://127.0.0.1:8080/health?full=1 timeout=500ms");
    assert_eq!(
        c.kind,
        CheckKind::Http {
            url: "http://127.0.0.1:8080/health?full=1".into(),
            host: "127.0.0.1".into(),
            port: 8080,
            path: "/health?full=1".into(),
        }
    );
    assert_eq!(c.timeout, Duration::from_millis(500));
    assert_eq!(c.label(), "http http://127.0.0.1:8080/health?full=1");
    let k = |t: &str| one(&format!("httpd http {t}")).kind;
    assert_eq!(
        k("HTTP://localhost"),
        CheckKind::Http {
            url: "HTTP://localhost".into(),
            host: "localhost".into(),
            port: 80,
            path: "/".into(),
        }
    );
    assert_eq!(
        k("http://[::1]/x"),
        CheckKind::Http {
            url: "http://[::1]/x".into(),
            host: "::1".into(),
            port: 80,
            path: "/x".into(),
        }
    );
    match k("http://192.0.2.1?q") {
        CheckKind::Http { path, port, .. } => assert_eq!((path.as_str(), port), ("/?q", 80)),
        other => panic!("{other:?}"),
    }
    err1("httpd http", "http needs a URL");
    err1("httpd http https://127.0.0.1/", "https is not supported");
    err1("httpd http ftp://127.0.0.1/", "bad URL 'ftp://127.0.0.1/'");
    err1(
        "httpd http 127.0.0.1/",
        "expected http://HOST[:PORT][/PATH]",
    );
    err1("httpd http http://", "missing host");
    err1(
        "httpd http http://u:p@127.0.0.1/",
        "user names and passwords are not supported",
    );
    err1("httpd http http://www.example/", "not an IP address");
    err1("httpd http http://127.0.0.1:99999/", "bad port '99999'");
}

#[test]
fn exec_takes_the_rest_of_the_line_and_options_before_it() {
    let c = one("httpd interval=5 timeout=3 fall=1 exec  /usr/local/bin/probe  --db 'a  b' \t\n");
    assert_eq!(
        c.kind,
        CheckKind::Exec {
            command: "/usr/local/bin/probe  --db 'a  b'".into()
        }
    );
    assert_eq!(
        (c.interval, c.timeout, c.fall),
        (Duration::from_secs(5), Duration::from_secs(3), 1)
    );
    assert_eq!(c.label(), "exec /usr/local/bin/probe  --db 'a  b'");
    assert_eq!(c.kind.socket_addr(), None);
    // After exec, NAME=VALUE words belong to the command: kept, with a warning.
    let c = ok("httpd exec /bin/probe interval=9 X=1\n");
    assert_eq!(
        c[0].kind,
        CheckKind::Exec {
            command: "/bin/probe interval=9 X=1".into()
        }
    );
    assert_eq!(c[0].interval, DEFAULT_INTERVAL);
    assert_eq!(
        warnings("httpd exec /bin/probe interval=9 X=1\n"),
        vec!["checks:1: 'interval=9' is part of the exec command: options of an exec check go before the word exec"]
    );
    // `#` is a comment even in a command.
    assert_eq!(
        one("httpd exec /bin/probe # note").kind,
        CheckKind::Exec {
            command: "/bin/probe".into()
        }
    );
    err1("httpd exec", "exec needs a command");
    err1("httpd exec   # nothing", "exec needs a command");
}

#[test]
fn options_before_or_after_the_target_any_case() {
    let c = one("httpd INTERVAL=3 tcp 127.0.0.1:1 Fall=5 rise=4 restarts=2 timeout=1.5");
    assert_eq!(c.interval, Duration::from_secs(3));
    assert_eq!(c.timeout, Duration::from_millis(1500));
    assert_eq!((c.fall, c.rise, c.restarts), (5, 4, 2));
    let c = one("httpd tcp 127.0.0.1:1 interval=500ms timeout=100ms restarts=0");
    assert_eq!(
        (c.interval, c.timeout, c.restarts),
        (Duration::from_millis(500), Duration::from_millis(100), 0)
    );
    // The kind word in any case.
    assert_eq!(
        one("httpd TCP 127.0.0.1:1").kind,
        CheckKind::Tcp {
            host: "127.0.0.1".into(),
            port: 1
        }
    );
}

#[test]
fn option_errors() {
    err1(
        "httpd tcp 127.0.0.1:1 interval=soon",
        "bad duration 'soon' for interval",
    );
    err1(
        "httpd tcp 127.0.0.1:1 timeout=1s",
        "bad duration '1s' for timeout (seconds are written without a unit",
    );
    err1(
        "httpd tcp 127.0.0.1:1 interval=",
        "bad duration '' for interval",
    );
    err1(
        "httpd tcp 127.0.0.1:1 interval=0",
        "interval must be more than 0",
    );
    err1(
        "httpd tcp 127.0.0.1:1 timeout=0ms",
        "timeout must be more than 0",
    );
    err1(
        "httpd tcp 127.0.0.1:1 fall=0",
        "bad count '0' for fall (a whole number, at least 1)",
    );
    err1("httpd tcp 127.0.0.1:1 rise=0", "bad count '0' for rise");
    err1("httpd tcp 127.0.0.1:1 rise=-1", "bad count '-1' for rise");
    err1(
        "httpd tcp 127.0.0.1:1 restarts=x",
        "bad count 'x' for restarts (a whole number, at least 0)",
    );
    err1(
        "httpd tcp 127.0.0.1:1 fall=99999999999",
        "bad count '99999999999' for fall",
    );
    err1(
        "httpd tcp 127.0.0.1:1 retries=3",
        "unknown option 'retries' (options: interval, timeout, fall, rise, restarts)",
    );
    err1(
        "httpd fall=2 tcp 127.0.0.1:1 FALL=3",
        "option 'fall' given twice",
    );
    err1("httpd port=1 exec true", "unknown option 'port'");
    // Every error of a line is reported.
    let e = errors("httpd fall=0 tcp 127.0.0.1:1 rise=0\n");
    assert_eq!(e.len(), 2, "{e:?}");
}

#[test]
fn kind_errors() {
    err1(
        "httpd",
        "missing check kind: expected tcp HOST:PORT, http URL or exec COMMAND",
    );
    err1("httpd fall=2", "missing check kind");
    err1(
        "httpd ping 127.0.0.1",
        "unknown check kind 'ping' (expected tcp, http or exec)",
    );
    err1("httpd 127.0.0.1:80", "unknown check kind '127.0.0.1:80'");
}

#[test]
fn timeout_not_shorter_than_interval_is_a_warning() {
    assert_eq!(
        warnings("httpd tcp 127.0.0.1:1 timeout=2\n"),
        vec!["checks:1: timeout 2000ms is not shorter than interval 2000ms: probes never overlap, so a probe that hangs delays the next one"]
    );
    assert!(warnings("httpd tcp 127.0.0.1:1 interval=3 timeout=2.999\n").is_empty());
    assert_eq!(warnings("httpd interval=1 timeout=5 exec true\n").len(), 1);
}

#[test]
fn every_line_is_checked_and_errors_name_their_line() {
    let e = errors(
        "httpd tcp 127.0.0.1:1\nnope tcp 127.0.0.1:1\nhttpd bogus x\n\nhttpd tcp 127.0.0.1:1 fall=x\nshared exec true\n",
    );
    assert_eq!(
        e,
        vec![
            "checks:2: unknown group 'nope': not a resource of haresources, nor an IP address one of its groups carries",
            "checks:3: unknown check kind 'bogus' (expected tcp, http or exec)",
            "checks:5: bad count 'x' for fall (a whole number, at least 1)",
        ]
    );
    // Several checks of one group are kept, in file order.
    let c = ok("httpd tcp 127.0.0.1:80\n198.51.100.254 http http://127.0.0.1/\n");
    assert_eq!(c.len(), 2);
    assert!(c
        .iter()
        .all(|x| x.group_key == "IPaddr::198.51.100.254/24/eth0"));
}

#[test]
fn never_panics_on_odd_input() {
    let samples = [
        "\\",
        "\\\n\\",
        "é tcp 1",
        "httpd tcp [",
        "httpd tcp []:1",
        "httpd http http://[",
        "httpd http http://[::1",
        "httpd http http://:",
        "httpd =",
        "httpd ==",
        "httpd exec é",
        "\u{0}\u{0}",
        "httpd tcp 1.2.3.4:5:6",
        "httpd http http://1.2.3.4:/",
        "httpd tcp [::1]:",
    ];
    for s in samples {
        let _ = parse_checks(s, "checks", &hares());
        let _ = parse_checks(s, "checks", &Haresources::default());
    }
    // With no groups, every line names an unknown group.
    let (c, d) = parse_checks("x tcp 127.0.0.1:1\n", "checks", &Haresources::default());
    assert!(c.is_none());
    assert!(d[0].message.starts_with("unknown group 'x'"));
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ha-config-checks-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn loader_missing_file_is_no_checks() {
    let dir = tempdir("load");
    assert_eq!(load_checks(&dir, &hares()), Ok(vec![]));
    assert!(check_file_diagnostics(&dir, &hares()).is_empty());
    std::fs::write(dir.join("checks"), "httpd tcp 127.0.0.1:12345 timeout=3\n").unwrap();
    let c = load_checks(&dir, &hares()).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].group_key, "IPaddr::198.51.100.254/24/eth0");
    // Warnings do not refuse the file; the config test lists them.
    assert_eq!(check_file_diagnostics(&dir, &hares()).len(), 1);
    std::fs::write(
        dir.join("checks"),
        "httpd tcp 127.0.0.1:12345\nzz tcp 1\nhttpd tcp 1\n",
    )
    .unwrap();
    let e = load_checks(&dir, &hares()).unwrap_err();
    assert_eq!(e.0.len(), 3, "{e}");
    assert!(
        e.to_string().starts_with("checks:2: unknown group 'zz'"),
        "{e}"
    );
    std::fs::write(dir.join("checks"), b"httpd exec \xff\n").unwrap();
    let e = load_checks(&dir, &hares()).unwrap_err();
    assert_eq!(
        e.0[0].to_string(),
        "checks:1: not valid UTF-8 text (write names and keys in ASCII or UTF-8)"
    );
    // A directory in place of the file cannot be read: an error, not "no checks".
    std::fs::remove_file(dir.join("checks")).unwrap();
    std::fs::create_dir(dir.join("checks")).unwrap();
    let e = load_checks(&dir, &hares()).unwrap_err();
    assert!(
        e.0[0].to_string().starts_with("checks: cannot read "),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_test_reports_the_checks_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir("ct");
    std::fs::write(
        dir.join("ha.cf"),
        "keepalive 1\ndeadtime 10\nudpport 694\nlogfacility local0\nucast eth1 192.0.2.2\nnode a b\n",
    )
    .unwrap();
    std::fs::write(dir.join("haresources"), "a IPaddr::192.168.0.254/24/eth0\n").unwrap();
    std::fs::write(dir.join("authkeys"), "auth 1\n1 crc\n").unwrap();
    std::fs::set_permissions(dir.join("authkeys"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = config_test_on(&dir, Some("a"), &AnyMachine, &NoResolver);
    assert_eq!(r.exit_code(), 0, "{}", r.text());
    assert!(r.warnings.is_empty(), "{}", r.text());
    std::fs::write(
        dir.join("checks"),
        "# the user's case\nIPaddr::192.168.0.254/24/eth0 tcp 127.0.0.1:12345\n",
    )
    .unwrap();
    let r = config_test_on(&dir, Some("a"), &AnyMachine, &NoResolver);
    assert_eq!(r.exit_code(), 0, "{}", r.text());
    assert!(r.warnings.is_empty(), "{}", r.text());
    std::fs::write(
        dir.join("checks"),
        "192.168.0.254 tcp 127.0.0.1:12345 timeout=5\nIPaddr::192.168.0.1/24/eth0 tcp 127.0.0.1:1\n192.168.0.254 tcp 127.0.0.1:1 interval=2x\n",
    )
    .unwrap();
    let r = config_test_on(&dir, Some("a"), &AnyMachine, &NoResolver);
    assert_eq!(r.exit_code(), 6);
    assert_eq!(
        r.lines(),
        vec![
            "ERROR: checks:2: unknown group 'IPaddr::192.168.0.1/24/eth0': not a resource of haresources, nor an IP address one of its groups carries",
            "ERROR: checks:3: bad duration '2x' for interval (seconds are written without a unit, as 2 or 1.5; milliseconds as 500ms)",
            "WARNING: checks:1: timeout 5000ms is not shorter than interval 2000ms: probes never overlap, so a probe that hangs delays the next one",
            "Configuration refused: 2 error(s).",
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The sample the package installs as /etc/ha.d/checks checks nothing until edited, and each of
/// its commented examples is a valid line for the sample haresources.
#[test]
fn shipped_sample_checks_nothing_and_its_examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc-ha.d");
    let text = std::fs::read_to_string(root.join("checks")).unwrap();
    let (h, d) = parse_haresources(
        &std::fs::read_to_string(root.join("haresources")).unwrap(),
        "haresources",
    );
    assert!(d.is_empty(), "{d:?}");
    let h = h.unwrap();
    let (c, d) = parse_checks(&text, "checks", &h);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(
        c.unwrap(),
        Vec::<Check>::new(),
        "the sample must check nothing"
    );
    let examples: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('#'))
        .collect();
    assert_eq!(examples.len(), 4, "{examples:?}");
    for e in examples {
        let (f, d) = parse_checks_file(e, "checks", &h);
        assert!(d.is_empty(), "{e}: {d:?}");
        let f = f.unwrap();
        assert_eq!(f.checks.len() + f.arp_refresh.len(), 1, "{e}");
    }
}

/// `GROUP arp-refresh INTERVAL`: no check, a refresh of the group's gratuitous ARP.
#[test]
fn arp_refresh_lines() {
    let text = "198.51.100.254 arp-refresh 30\n\
                IPaddr2::192.0.2.7/24 ARP-REFRESH 1500ms # every 1.5 s\n\
                198.51.100.254 tcp 127.0.0.1:80\n";
    let (f, d) = parse_checks_file(text, "checks", &hares());
    assert!(d.is_empty(), "{d:?}");
    let f = f.unwrap();
    assert_eq!(f.checks.len(), 1);
    assert_eq!(
        f.arp_refresh,
        vec![
            ArpRefresh {
                line: 1,
                group_key: "IPaddr::198.51.100.254/24/eth0".into(),
                interval: Duration::from_secs(30),
            },
            ArpRefresh {
                line: 2,
                group_key: "IPaddr2::192.0.2.7/24".into(),
                interval: Duration::from_millis(1500),
            },
        ]
    );
    // parse_checks gives the checks only.
    assert_eq!(ok(text).len(), 1);
    for (bad, want) in [
        ("198.51.100.254 arp-refresh\n", "arp-refresh needs an interval"),
        ("198.51.100.254 arp-refresh 500ms\n", "shorter than 1 s"),
        ("198.51.100.254 arp-refresh 30s\n", "bad duration '30s' for arp-refresh"),
        ("198.51.100.254 arp-refresh 30 60\n", "unexpected '60' after the arp-refresh interval"),
        ("198.51.100.254 interval=5 arp-refresh 30\n", "arp-refresh takes no options"),
        ("198.51.100.9 arp-refresh 30\n", "unknown group '198.51.100.9'"),
        (
            "198.51.100.254 arp-refresh 30\nhttpd arp-refresh 60\n",
            "checks:2: a second arp-refresh line for IPaddr::198.51.100.254/24/eth0 (the first is line 1)",
        ),
    ] {
        let e = errors(bad);
        assert!(e.iter().any(|x| x.contains(want)), "{bad:?}: {e:?}");
    }
}

/// The loader and `heartbeat -t`'s diagnostics see the arp-refresh lines too.
#[test]
fn arp_refresh_in_the_loader_and_the_config_test() {
    let dir = std::env::temp_dir().join(format!("ha-config-arp-refresh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("checks"), "198.51.100.254 arp-refresh 10\n").unwrap();
    let f = load_checks_file(&dir, &hares()).expect("loads");
    assert_eq!(f.arp_refresh.len(), 1);
    assert!(load_checks(&dir, &hares()).unwrap().is_empty());
    std::fs::write(dir.join("checks"), "198.51.100.254 arp-refresh 0.5\n").unwrap();
    let d = checks::check_file_diagnostics(&dir, &hares());
    assert!(
        d.iter()
            .any(|x| x.is_error() && x.to_string().contains("shorter than 1 s")),
        "{d:?}"
    );
    assert!(load_checks_file(&dir, &hares()).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
