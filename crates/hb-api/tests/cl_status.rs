//! The cl_status binary against the test daemon (tests/common): every sub-command, its
//! output and exit status.

mod common;

use std::os::unix::net::UnixListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestServer;

struct Out {
    code: i32,
    out: String,
    err: String,
}

fn cl_status(s: &std::path::Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_cl_status"))
        .args(args)
        .arg(format!("--socket={}", s.display()))
        .env_remove("POSIXLY_CORRECT")
        .output()
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The messages of the cl_log lines on stderr (after `ERROR: `).
fn logged(err: &str) -> Vec<String> {
    err.lines()
        .map(|l| match l.find(" ERROR: ") {
            Some(i) => l[i + 8..].to_string(),
            None => l.to_string(),
        })
        .collect()
}

#[track_caller]
fn check(s: &TestServer, args: &[&str], code: i32, out: &str) -> Out {
    let o = cl_status(s.path(), args);
    assert_eq!(
        (o.code, o.out.as_str()),
        (code, out),
        "cl_status {args:?}: stderr {}",
        o.err
    );
    o
}

#[test]
fn every_sub_command() {
    let s = TestServer::start("clstatus");
    check(
        &s,
        &["hbstatus"],
        0,
        "Heartbeat is running on this machine.\n",
    );
    check(&s, &["listnodes"], 0, "198.51.100.100\nc\nb\na\n");
    check(&s, &["listnodes", "-p"], 0, "198.51.100.100\n");
    check(&s, &["listnodes", "-n"], 0, "c\nb\na\n");
    check(
        &s,
        &["listnodes", "-n", "-p"],
        0,
        "198.51.100.100\nc\nb\na\n",
    );
    check(
        &s,
        &["listnodes", "-m"],
        0,
        "The nodes are as follow:\n198.51.100.100\nc\nb\na\n",
    );
    let o = check(&s, &["listnodes", "-x"], 11, "");
    assert!(
        o.err.starts_with(&format!(
            "{}: invalid option -- 'x'\n",
            env!("CARGO_BIN_EXE_cl_status")
        )),
        "{}",
        o.err
    );
    assert_eq!(logged(&o.err)[1], "Error: getopt returnedcharacter code ?.");
    check(&s, &["nodestatus", "b"], 0, "active\n");
    check(
        &s,
        &["nodestatus", "b", "-m"],
        0,
        "The cluster node b is active\n",
    );
    check(
        &s,
        &["nodestatus", "-m", "198.51.100.100"],
        0,
        "The cluster node 198.51.100.100 is ping\n",
    );
    let o = check(&s, &["nodestatus", "zz"], 11, "");
    assert_eq!(o.err, "Error. May be due to incorrect node name\n");
    let o = check(&s, &["nodestatus"], 11, "");
    assert_eq!(o.err, "Not enough parameters.\n");
    check(&s, &["nodeweight", "b"], 0, "80\n");
    check(
        &s,
        &["nodeweight", "-m", "a"],
        0,
        "The weight of the cluster node a is 100\n",
    );
    let o = check(&s, &["nodeweight", "zz"], 11, "");
    assert_eq!(o.err, "Error. Maybe due to incorrect node name.\n");
    check(&s, &["nodesite", "a"], 0, "\n");
    check(
        &s,
        &["nodesite", "a", "-m"],
        0,
        "The site of the cluster node a is \n",
    );
    check(&s, &["nodetype", "a"], 0, "normal\n");
    check(&s, &["nodetype", "198.51.100.100"], 0, "ping\n");
    check(
        &s,
        &["nodetype", "-m", "a"],
        0,
        "The node a's type: normal\n",
    );
    let o = check(&s, &["nodetype"], 11, "");
    assert_eq!(o.err, "No enough parameter.\n");
    check(&s, &["listhblinks", "b"], 0, "\teth0\n\teth1\n");
    check(
        &s,
        &["listhblinks", "-m", "198.51.100.100"],
        0,
        "\tthis node have the following heartbeat links:\n\t198.51.100.100\n",
    );
    let o = check(&s, &["listhblinks", "zz"], 13, "");
    assert_eq!(
        logged(&o.err),
        vec!["Cannot start heartbeat link interface walk.", "REASON: "]
    );
    check(&s, &["hblinkstatus", "b", "eth1"], 0, "up\n");
    check(&s, &["hblinkstatus", "b", "eth0"], 1, "dead\n");
    check(
        &s,
        &["hblinkstatus", "-m", "b", "eth1"],
        0,
        "The node b's heartbeat link eth1 is up\n",
    );
    let o = check(&s, &["hblinkstatus", "b", "eth9"], 13, "");
    assert_eq!(
        logged(&o.err),
        vec!["Cannot get heartbeat link status", "REASON: "]
    );
    let o = check(&s, &["hblinkstatus", "b"], 11, "");
    assert_eq!(o.err, "No enough parameter.\n");
    check(&s, &["clientstatus", "a", "ipfail"], 1, "offline\n");
    check(&s, &["clientstatus", "b", "ipfail"], 0, "online\n");
    check(&s, &["clientstatus", "b", "ccm", "1000"], 1, "offline\n");
    // c is active but nobody answers there: the timeout runs out.
    let t0 = Instant::now();
    let o = check(&s, &["clientstatus", "c", "ipfail", "300"], 13, "");
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        logged(&o.err),
        vec!["Cannot get client ipfail's status", "REASON: "]
    );
    let o = check(&s, &["clientstatus", "a"], 11, "");
    assert_eq!(o.err, "No enough parameter.\n");
    check(&s, &["rscstatus"], 0, "local\n");
    check(
        &s,
        &["rscstatus", "-m"],
        0,
        "This node is holding local resources.\n",
    );
    check(&s, &["hbparameter", "-p", "keepalive"], 0, "200ms\n");
    check(
        &s,
        &["hbparameter", "-pdeadtime", "-m"],
        0,
        "Heartbeat parameter deadtime's value: 1\n",
    );
    check(&s, &["hbparameter", "-p", "hbversion"], 0, "2.0.8\n");
    let o = check(&s, &["hbparameter", "-p", "nosuch"], 1, "");
    assert_eq!(
        logged(&o.err),
        vec!["Cannot get parameter nosuch's value", "REASON: "]
    );
    let o = check(&s, &["hbparameter"], 11, "");
    assert_eq!(logged(&o.err), vec!["parameter name required"]);
    let o = check(&s, &["hbparameter", "-T"], 11, "");
    assert_eq!(
        logged(&o.err),
        vec!["Error: getopt returnedcharacter code T."]
    );
    check(
        &s,
        &["test"],
        0,
        "Dead time: 1000\n keeplive time: 200\n mynodeid: a\n rsc: local\n",
    );
    let o = check(&s, &["parameter"], 11, "");
    assert_eq!(logged(&o.err), vec!["parameter: invalid sub-command."]);
    let o = check(&s, &[], 0, hb_api::cl_status::HELP);
    assert_eq!(o.err, "");
    // The log line's shape: cl_status[PID]: YYYY/MM/DD_HH:MM:SS ERROR: text
    let line = o_first_line(&cl_status(s.path(), &["bogus"]).err);
    let (head, rest) = line.split_once("]: ").unwrap();
    assert!(head.starts_with("cl_status["));
    assert_eq!(
        rest.len(),
        19 + " ERROR: bogus: invalid sub-command.".len(),
        "{line}"
    );
    // Every run signed off: no connection is left.
    assert!(s.wait_for(5, |s| s
        .connections
        .load(std::sync::atomic::Ordering::SeqCst)
        == 0));
}

fn o_first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[test]
fn without_resources_and_without_a_daemon() {
    let s = TestServer::start("clstatus-norsc");
    s.view.lock().unwrap().rsc = None;
    let o = check(&s, &["rscstatus"], 13, "");
    assert_eq!(
        logged(&o.err),
        vec![
            "Cannot get client (null)'s resource status",
            "REASON: Resource is managed by crm.Use crm tool to query resource"
        ]
    );
    check(
        &s,
        &["test"],
        0,
        "Dead time: 1000\n keeplive time: 200\n mynodeid: a\n rsc: (null)\n",
    );
    let gone = s.dir.join("nothing-here");
    for sub in [
        "listnodes",
        "nodestatus",
        "clientstatus",
        "rscstatus",
        "test",
    ] {
        let o = cl_status(&gone, &[sub, "a", "b"]);
        assert_eq!((o.code, o.out.as_str()), (1, ""), "{sub}");
        assert_eq!(
            logged(&o.err),
            vec![
                "Cannot signon with heartbeat",
                "REASON: hb_api_signon: Can't initiate connection  to heartbeat"
            ]
        );
    }
    let o = cl_status(&gone, &["hbstatus"]);
    assert_eq!(
        (o.code, o.out.as_str(), o.err.as_str()),
        (1, "Heartbeat is stopped on this machine.\n", "")
    );
    let o = cl_status(&gone, &["hbparameter", "-p", "keepalive"]);
    assert_eq!(o.code, 1);
    assert_eq!(
        logged(&o.err),
        vec![
            "Cannot get parameter keepalive's value",
            "REASON: not signed on"
        ]
    );
}

#[test]
fn a_daemon_that_does_not_answer_means_exit_12_after_5_seconds() {
    let dir = common::temp_dir("clstatus-mute");
    let path = dir.join("register");
    let _l = UnixListener::bind(&path).unwrap();
    let t0 = Instant::now();
    let o = cl_status(&path, &["nodestatus", "a"]);
    let took = t0.elapsed();
    assert_eq!(o.code, 12);
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refused_signon() {
    let s = TestServer::start_with(
        "clstatus-refused",
        hb_api::proto::Config {
            auth: hb_api::proto::AuthTable::default(),
            ..Default::default()
        },
    );
    let o = cl_status(s.path(), &["nodestatus", "a"]);
    assert_eq!((o.code, o.out.as_str()), (1, ""));
    // The original, refusing this user, gives "Can't initiate connection"; ours adds the
    // daemon's reason.
    assert_eq!(
        logged(&o.err),
        vec![
            "Cannot signon with heartbeat",
            "REASON: hb_api_signon: Can't initiate connection  to heartbeat (client failed authorization)"
        ]
    );
    check(
        &s,
        &["hbstatus"],
        1,
        "Heartbeat is stopped on this machine.\n",
    );
}
