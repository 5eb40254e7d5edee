//! Decode+verify throughput over the captured packets, per auth method.
//!
//! `cargo run --release -p hb-wire --example bench_decode [SECONDS_PER_METHOD]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use hb_wire::{decode, encode, AuthMethod, KeyRing, SendForm};

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn packets(file: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/testdata/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter_map(|l| {
            let start = l.find("\"hex\": \"")? + 8;
            let len = l.get(start..)?.find('"')?;
            unhex(l.get(start..start + len)?)
        })
        .collect()
}

fn md5_ring(third: AuthMethod) -> KeyRing {
    KeyRing::new(
        3,
        [
            (1, AuthMethod::Crc),
            (2, AuthMethod::Md5(b"Hello-md5-key".to_vec())),
            (3, third),
        ],
    )
    .expect("key ring")
}

/// Runs `f` over all packets repeatedly for about `budget`; returns (packets, bytes, time).
fn run(pkts: &[Vec<u8>], budget: Duration, mut f: impl FnMut(&[u8])) -> (u64, u64, Duration) {
    let start = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    while start.elapsed() < budget {
        for p in pkts {
            f(p);
            n += 1;
            bytes += p.len() as u64;
        }
    }
    (n, bytes, start.elapsed())
}

fn report(what: &str, (n, bytes, t): (u64, u64, Duration)) {
    let s = t.as_secs_f64();
    println!(
        "{what:<28} {:>10.0} packets/s {:>8.1} MB/s  ({n} packets in {s:.2} s)",
        n as f64 / s,
        bytes as f64 / s / 1e6
    );
}

fn main() {
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(secs);
    let sets = [
        (
            "crc",
            "crc.jsonl",
            KeyRing::single(1, AuthMethod::Crc).expect("ring"),
        ),
        (
            "md5",
            "md5.jsonl",
            md5_ring(AuthMethod::Md5(b"Tr0ub4dor&3-md5".to_vec())),
        ),
        (
            "sha1",
            "sha1.jsonl",
            md5_ring(AuthMethod::Sha1(b"Tr0ub4dor&3-sha1".to_vec())),
        ),
    ];
    for (name, file, keys) in &sets {
        let pkts = packets(file);
        for p in &pkts {
            decode(p, keys).expect("captured packet must verify");
        }
        let avg = pkts.iter().map(Vec::len).sum::<usize>() / pkts.len().max(1);
        println!(
            "{name}: {} packets from {file}, {avg} bytes on average",
            pkts.len()
        );
        report(
            &format!("  decode+verify {name}"),
            run(&pkts, budget, |p| {
                black_box(decode(black_box(p), keys).is_ok());
            }),
        );
        // Encoding back, both digests (3.0.6 form) and classic (2.0.8 default).
        let msgs: Vec<_> = pkts.iter().filter_map(|p| decode(p, keys).ok()).collect();
        for form in [SendForm::Netstring306, SendForm::Classic] {
            let start = Instant::now();
            let (mut n, mut bytes) = (0u64, 0u64);
            while start.elapsed() < budget {
                for d in &msgs {
                    let w = encode(black_box(&d.msg), keys, form).expect("encode");
                    n += 1;
                    bytes += w.len() as u64;
                }
            }
            report(&format!("  encode {form:?}"), (n, bytes, start.elapsed()));
        }
    }
}
