//! Captured datagrams (the jsonl form of /work/shared/vectors, copied into tests/data):
//! one JSON object per line with the capture time `t` (Unix seconds) and the whole UDP
//! payload as `hex`.

#![allow(dead_code)]

pub fn json_number(line: &str, key: &str) -> Option<f64> {
    let i = line.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &line[i..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

pub fn json_string<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(&format!("\"{key}\": \""))? + key.len() + 5;
    let rest = &line[i..];
    Some(&rest[..rest.find('"')?])
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The datagrams of a capture file: (seconds since its first line, payload).
pub fn datagrams(data: &str) -> Vec<(f64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut t0 = None;
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let t = json_number(line, "t").expect("time");
        let t0 = *t0.get_or_insert(t);
        out.push((t - t0, unhex(json_string(line, "hex").expect("hex"))));
    }
    out
}
