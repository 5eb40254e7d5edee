//! The kinds of value ha.cf directives take: times, booleans, baud rates.

use std::time::Duration;

use crate::lines::{scan_int, time_parts, unsigned};

/// Parses a time: a decimal number (fractions allowed) with an optional unit, none =
/// seconds, `ms`/`msec` = milliseconds, `us`/`usec` = microseconds (any case); rounded to
/// the nearest millisecond (half up). `1s` is refused, as by the original.
pub fn parse_time(s: &str) -> Option<Duration> {
    let (int, frac, scale) = time_parts(s)?;
    // Value in units of 1e-9 of the written unit, kept exact in u128.
    let int_v: u128 = if int.is_empty() {
        0
    } else {
        int.parse::<u128>().ok()?
    };
    if int.len() > 20 {
        return None;
    }
    let mut frac_v: u128 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        let digit = c.to_digit(10)? as u128;
        frac_v += digit * 10u128.pow(8 - i as u32);
    }
    let nanos_of_unit = int_v * 1_000_000_000 + frac_v;
    // milliseconds = value * 1000 / scale; rounded half up.
    let num = nanos_of_unit * 1000;
    let den = 1_000_000_000u128 * scale as u128;
    let ms = (num + den / 2) / den;
    if ms > u128::from(u32::MAX) {
        return None;
    }
    Some(Duration::from_millis(ms as u64))
}

pub(super) fn fmt_ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The original's boolean words (any case): true/on/yes/y/1, false/off/no/n/0.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "y" | "1" => Some(true),
        "off" | "no" | "false" | "n" | "0" => Some(false),
        _ => None,
    }
}

pub(super) fn bool_word(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

pub(super) fn malformed_time(name: &str, v: &str) -> String {
    format!("{name}: malformed time '{v}' (seconds, or a number with ms or us: 30, 1.5, 200ms)")
}

/// The serial speed when `baud` names none.
pub const DEFAULT_BAUD: u32 = 19200;

/// A `baud` value as 2.0.8 reads it (C's `atoi`: the leading number, the rest ignored),
/// if it is one of the speeds it accepts.
pub fn baud_rate(v: &str) -> Option<u32> {
    match scan_int(v)?.0 {
        b @ (9600 | 19200 | 38400 | 57600 | 115200 | 230400 | 460800) => Some(b as u32),
        _ => None,
    }
}

/// `max_rexmit_delay`: milliseconds as a plain number (the original reads it with atoi, so
/// `250ms` is 250 too).
pub(super) fn max_rexmit_ms(v: &str) -> Option<u64> {
    let digits = v.strip_suffix("ms").unwrap_or(v);
    unsigned(digits).filter(|n| *n > 0 && *n <= u64::from(u32::MAX))
}
