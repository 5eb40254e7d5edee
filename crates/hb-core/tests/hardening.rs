//! Issue #16 at the membership layer: no forgery oracle in anything the core outputs,
//! rate-limited drop paths with counters (one limiter), a flood of retransmission
//! requests for numbers never sent (finding 5), a message too big to send that must not
//! use up a sequence number (finding 7).

#[path = "../../hb-wire/tests/oracle/mod.rs"]
mod oracle;
mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use hb_core::membership::SendError;
use hb_core::Event;
use hb_wire::{AuthMethod, DropKind, KeyRing, Message, SendForm};
use oracle::{computable_digests, methods, tamper};

use sim::One;

fn everything_shown(o: &One) -> String {
    let mut s = String::new();
    for (_, e) in &o.events {
        s.push_str(&format!("{e:?}\n"));
        if let Event::Log(_, text) = e {
            s.push_str(text);
            s.push('\n');
        }
    }
    let c = o.m.counters();
    s.push_str(&format!("{c:?}\n"));
    for l in c.status_lines() {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

fn logs(o: &One) -> Vec<String> {
    o.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Log(_, s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn forged_packets_leave_no_computed_digest_in_any_output() {
    let from: SocketAddr = "192.0.2.66:694".parse().unwrap();
    for (name, method) in methods() {
        let keys = KeyRing::new(3, [(1, AuthMethod::Crc), (3, method.clone())]).unwrap();
        for form in [
            SendForm::Classic,
            SendForm::Netstring,
            SendForm::Netstring306,
        ] {
            let label = format!("{name} {form:?}");
            let a = One::with_form("a", keys.clone(), form);
            let mut b = One::new("b", keys.clone());
            let good = a.out[0].clone();
            let t = b.t0 + Duration::from_millis(10);
            b.advance(t);
            let mut forged_all = Vec::new();
            // 24 forged packets: each with a different body, so each has its own digest.
            for k in 0..24u8 {
                let forged = tamper(
                    &good,
                    b"st=init",
                    &[b's', b't', b'=', b'A' + k, b'n', b'i', b't'],
                );
                b.m.handle_datagram_from(b.now, "eth1", Some(from), &forged);
                b.drain();
                forged_all.push(forged);
            }
            let shown = everything_shown(&b);
            for f in &forged_all {
                for d in computable_digests(f, &keys) {
                    assert!(
                        !shown.contains(&d),
                        "{label}: computed digest {d} shown:\n{shown}"
                    );
                }
            }
            // One line for the 24 (rate-limited), naming the peer, the key index, the node.
            let lines: Vec<String> = logs(&b)
                .into_iter()
                .filter(|l| l.contains("authentication") || l.contains("authtoken"))
                .collect();
            assert_eq!(lines.len(), 1, "{label}: {lines:#?}");
            assert!(lines[0].contains("eth1"), "{}", lines[0]);
            assert!(lines[0].contains("192.0.2.66"), "{}", lines[0]);
            assert!(lines[0].contains("key index 3"), "{}", lines[0]);
            assert!(lines[0].contains("[a]"), "{}", lines[0]);
            let c = b.m.counters();
            assert_eq!(c.dropped(DropKind::BadDigest), 24, "{label}");
            assert_eq!(c.received, 24);
            assert!(
                c.status_lines().iter().any(|l| l.contains("bad-digest 24")),
                "{:?}",
                c.status_lines()
            );
            // After the interval, the number held back is reported.
            b.advance(t + Duration::from_secs(10));
            let shown = everything_shown(&b);
            assert!(
                shown.contains("23 more packet(s) dropped (bad-digest)"),
                "{label}: {shown}"
            );
        }
    }
}

/// Finding 5: requests for numbers above the highest sent wrote 50 warnings per packet.
#[test]
fn rexmit_requests_above_the_highest_sent_are_rate_limited() {
    let keys = KeyRing::single(1, AuthMethod::Md5(b"k".to_vec())).unwrap();
    let mut a = One::new("a", keys.clone());
    let mut b = One::new("b", keys);
    a.out.clear();
    let t = a.t0 + Duration::from_millis(50);
    b.advance(t);
    a.advance(t);
    let mut requests = Vec::new();
    for k in 0..100u64 {
        let mut m = Message::with_type("NS_rexmit");
        m.push_str("dest", "a")
            .push_str("firstseq", (1000 + 50 * k).to_string())
            .push_str("lastseq", (1049 + 50 * k).to_string());
        b.m.send(b.now, m).expect("sendable");
        b.drain();
    }
    requests.append(&mut b.out);
    for r in &requests {
        a.deliver(t, "eth1", r);
    }
    let lines: Vec<String> = logs(&a)
        .into_iter()
        .filter(|l| l.contains("is max"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("Rexmit of seq 1000 requested."),
        "{}",
        lines[0]
    );
    assert_eq!(a.m.counters().dropped(DropKind::RexmitAboveMax), 100);
}

/// Finding 7: a message too big for a datagram used up a sequence number, and the peer
/// then asked for it and logged a lost packet.
#[test]
fn a_message_too_big_is_refused_before_it_is_numbered() {
    let keys = KeyRing::single(1, AuthMethod::Crc).unwrap();
    let mut a = One::new("a", keys.clone());
    let mut b = One::new("b", keys);
    let seq_before = a.m.last_seq();
    let mut big = Message::with_type("hbapi-clstat");
    big.push_str("blob", "x".repeat(70_000));
    match a.m.send(a.now, big) {
        Err(SendError::Encode { msg_type, .. }) => assert_eq!(msg_type, "hbapi-clstat"),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.m.last_seq(), seq_before, "no number used");
    assert_eq!(a.m.counters().dropped(DropKind::Unsendable), 1);
    // The peer sees no gap for the next ten seconds of traffic.
    let end = a.t0 + Duration::from_secs(10);
    let mut t = a.t0;
    while t < end {
        t += Duration::from_millis(10);
        a.advance(t);
        b.advance(t);
        for d in std::mem::take(&mut a.out) {
            b.deliver(t, "eth1", &d);
        }
        for d in std::mem::take(&mut b.out) {
            a.deliver(t, "eth1", &d);
        }
    }
    let lb = logs(&b);
    assert!(!lb.iter().any(|l| l.contains("lost packet")), "{lb:#?}");
    assert!(b.m.peer("a").unwrap().status.as_str() == "active");
    let la = logs(&a);
    assert_eq!(
        la.iter().filter(|l| l.contains("hbapi-clstat")).count(),
        1,
        "{la:#?}"
    );
}

#[test]
fn counters_show_every_drop_path() {
    let keys = KeyRing::single(1, AuthMethod::Crc).unwrap();
    let mut b = One::new("b", keys.clone());
    let now = b.t0 + Duration::from_millis(5);
    b.advance(now);
    // Garbage, an unknown node, a message without ts.
    b.m.handle_datagram(now, "eth1", b"hello");
    let mut x = Message::with_type("status");
    x.push_str("src", "zz")
        .push_str("ts", "1")
        .push_str("seq", "1");
    let bytes = hb_wire::encode(&x, &keys, SendForm::Classic).unwrap();
    b.m.handle_datagram(now, "eth1", &bytes);
    let mut y = Message::with_type("status");
    y.push_str("src", "a").push_str("seq", "1");
    let bytes = hb_wire::encode(&y, &keys, SendForm::Classic).unwrap();
    b.m.handle_datagram(now, "eth1", &bytes);
    b.drain();
    let c = b.m.counters();
    assert_eq!(c.received, 3);
    assert_eq!(c.dropped(DropKind::BadMagic), 1);
    assert_eq!(c.dropped(DropKind::UnknownNode), 1);
    assert_eq!(c.dropped(DropKind::MissingFields), 1);
    let lines = c.status_lines();
    assert!(lines[0].starts_with("packets: received 3,"), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("bad-magic 1") && l.contains("unknown-node 1")),
        "{lines:?}"
    );
}
