//! The 2.0.8 line formats and local-time stamps (`lib/clplumbing/cl_log.c`, read for facts).
//!
//! - File and stderr lines: `ENTITY[PID]: YYYY/MM/DD_HH:MM:SS LEVEL: text` ([`format_line`]);
//!   a line logged without its level word (what `ha_logger` sends to logd) has no `LEVEL: `.
//! - Syslog messages: `[PID]: LEVEL: text` under the ident `ENTITY` ([`syslog_text`]), so
//!   syslog shows `ENTITY: [PID]: LEVEL: text`.
//! - Scripts' lines (`ha_log` of shellfuncs): a date in `$HA_DATEFMT` ([`shell_date`]).

use std::ffi::CString;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Level;

/// Local time as `YYYY/MM/DD_HH:MM:SS` (2.0.8 `ha_timestamp`).
pub fn timestamp(t: SystemTime) -> String {
    strftime_local("%Y/%m/%d_%H:%M:%S", t).unwrap_or_else(|| "0000/00/00_00:00:00".to_string())
}

/// Local time as syslog wants it: `Mmm dd HH:MM:SS` (day space-padded).
pub fn syslog_timestamp(t: SystemTime) -> String {
    strftime_local("%b %e %H:%M:%S", t).unwrap_or_else(|| "Jan  1 00:00:00".to_string())
}

/// The local time `t` formatted with strftime `fmt` as the shell's `` `date "+fmt"` `` gives
/// it: trailing newlines removed; "" for a format strftime cannot expand within 4 KiB.
pub fn shell_date(fmt: &str, t: SystemTime) -> String {
    let mut s = strftime_local(fmt, t).unwrap_or_default();
    while s.ends_with('\n') {
        s.pop();
    }
    s
}

/// The local time `t` formatted with strftime `fmt`; `None` when the time cannot be broken
/// down, the format holds a NUL, or its expansion is empty or longer than 4 KiB.
pub fn strftime_local(fmt: &str, t: SystemTime) -> Option<String> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => libc::time_t::try_from(d.as_secs()).ok()?,
        Err(e) => -libc::time_t::try_from(e.duration().as_secs()).ok()?,
    };
    if fmt.is_empty() {
        return Some(String::new());
    }
    let cfmt = CString::new(fmt).ok()?;
    ensure_tzset();
    // SAFETY: a zeroed tm is a valid value; localtime_r fills it from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals.
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return None;
    }
    let mut size = 64;
    while size <= 4096 {
        let mut buf = vec![0u8; size];
        // SAFETY: buf holds `size` bytes; cfmt is NUL-terminated; tm is initialised.
        let n = unsafe {
            libc::strftime(
                buf.as_mut_ptr().cast::<libc::c_char>(),
                size,
                cfmt.as_ptr(),
                &tm,
            )
        };
        if n > 0 {
            buf.truncate(n);
            return Some(String::from_utf8_lossy(&buf).into_owned());
        }
        size *= 4;
    }
    None
}

/// localtime_r relies on tzset having run once (it reads TZ and /etc/localtime).
fn ensure_tzset() {
    extern "C" {
        fn tzset();
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: tzset has no preconditions; Once runs it a single time.
    ONCE.call_once(|| unsafe { tzset() });
}

/// One 2.0.8 log line, with its newline: `ENTITY[PID]: STAMP LEVEL: text`, or without
/// `LEVEL: ` when `level` is `None` (a line `ha_logger` logged).
pub fn format_line(
    entity: &str,
    pid: u32,
    t: SystemTime,
    level: Option<Level>,
    text: &str,
) -> String {
    match level {
        Some(l) => format!("{entity}[{pid}]: {} {}: {text}\n", timestamp(t), l.as_str()),
        None => format!("{entity}[{pid}]: {} {text}\n", timestamp(t)),
    }
}

/// The syslog message of a line (the ident is the entity): `[PID]: LEVEL: text`, or
/// `[PID]: text` without a level word.
pub fn syslog_text(pid: u32, level: Option<Level>, text: &str) -> String {
    match level {
        Some(l) => format!("[{pid}]: {}: {text}", l.as_str()),
        None => format!("[{pid}]: {text}"),
    }
}

#[cfg(test)]
pub(crate) fn check_timestamp(ts: &str) {
    assert_eq!(ts.len(), 19, "{ts:?}");
    for (i, c) in ts.chars().enumerate() {
        let want = match i {
            4 | 7 => Some('/'),
            10 => Some('_'),
            13 | 16 => Some(':'),
            _ => None,
        };
        match want {
            Some(w) => assert_eq!(c, w, "{ts:?} at {i}"),
            None => assert!(c.is_ascii_digit(), "{ts:?} at {i}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamp_shape_and_line_format() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_610_848);
        let ts = timestamp(t);
        check_timestamp(&ts);
        assert!(ts.starts_with("2026/11/"), "{ts}");
        let line = format_line("heartbeat", 6765, t, Some(Level::Warn), "node b: is dead");
        assert_eq!(
            line,
            format!("heartbeat[6765]: {ts} WARN: node b: is dead\n")
        );
        assert_eq!(
            format_line("cluster", 7, t, None, "from a script"),
            format!("cluster[7]: {ts} from a script\n")
        );
        assert_eq!(syslog_text(7, Some(Level::Info), "x"), "[7]: info: x");
        assert_eq!(syslog_text(7, None, "x"), "[7]: x");
        let st = syslog_timestamp(t);
        assert!(st.starts_with("Nov "), "{st}");
        assert_eq!(st.len(), 15, "{st:?}");
    }

    #[test]
    fn shell_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(86_400 * 365);
        // A format without conversions comes out as is; trailing newlines go.
        assert_eq!(shell_date("plain ", t), "plain ");
        assert_eq!(shell_date("x\n\n", t), "x");
        assert_eq!(shell_date("", t), "");
        // The shape of shellfuncs' default format: YYYY/MM/DD_HH:MM:SS and a space.
        let d = shell_date("%Y/%m/%d_%T ", t);
        let b = d.as_bytes();
        assert_eq!(b.len(), 20, "{d:?}");
        assert_eq!(
            (b[4], b[7], b[10], b[13], b[16], b[19]),
            (b'/', b'/', b'_', b':', b':', b' ')
        );
        assert!(
            d.starts_with("1970/12/3") || d.starts_with("1971/01/01"),
            "{d:?}"
        );
        // Longer than the first buffer.
        assert_eq!(shell_date(&"%Y".repeat(100), t).len(), 400);
        assert_eq!(shell_date("nul\0inside", t), "");
    }
}
