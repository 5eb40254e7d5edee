//! authkeys: `auth N` then `N METHOD [KEY]` lines, read as the real daemon reads them.
//!
//! - A `#` is a comment only as the first non-blank character of a line
//!   (`1 crc # x` gives crc the key `#`, an error).
//! - A line starting with `a` must be `auth N` (`auth1` is accepted, as by the original's
//!   `sscanf("auth %d")`); any other line is `N METHOD [KEY]` read like `sscanf("%d%s%s")`
//!   (`1crc` is index 1, method crc).
//! - The key is the **first word** after the method only; the rest of the line is
//!   ignored (with a warning here).
//! - The signing key is chosen while the key lines are read: the index of the `auth` line
//!   in force when line `N METHOD` is read. So the `auth N` line must come before the
//!   line defining key N (otherwise `Auth Key [N] not found in keyfile`), and an `auth`
//!   line after every key line changes nothing (warned here).
//! - Indexes 0-15; methods `crc` (no key), `md5`, `sha1` (key required), lowercase.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::lines::{is_blank, scan_int, split_blanks};

/// One key of authkeys.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthKey {
    Crc,
    Md5(String),
    Sha1(String),
}

impl AuthKey {
    /// The method name as written in authkeys.
    pub fn method(&self) -> &'static str {
        match self {
            AuthKey::Crc => "crc",
            AuthKey::Md5(_) => "md5",
            AuthKey::Sha1(_) => "sha1",
        }
    }
}

impl std::fmt::Debug for AuthKey {
    /// Never prints a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthKey::Crc => "Crc",
            AuthKey::Md5(_) => "Md5(<key>)",
            AuthKey::Sha1(_) => "Sha1(<key>)",
        })
    }
}

/// authkeys, parsed: the signing index and every configured key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthKeys {
    /// The index this node signs with (always a key of `keys`).
    pub active: u8,
    pub keys: BTreeMap<u8, AuthKey>,
}

/// The highest key index plus one (the original's MAXAUTH).
pub const MAX_AUTH: i64 = 16;

/// Parses authkeys text. Returns the keys (when there is no error) and every diagnostic.
/// The file's permissions are checked by [`crate::load_dir`].
pub fn parse_authkeys(text: &str, file: &str) -> (Option<AuthKeys>, Vec<Diagnostic>) {
    let mut d = Vec::new();
    // The `auth` index in force, and its line.
    let mut authnum: Option<(i64, usize)> = None;
    // The signing index: set when a key line's index equals `authnum`.
    let mut active: Option<u8> = None;
    let mut active_auth_line = 0usize;
    let mut keys: BTreeMap<u8, (AuthKey, usize)> = BTreeMap::new();
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.trim_start_matches(is_blank);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let shown = raw.trim_end_matches(is_blank);
        if line.starts_with('a') {
            let num = line.strip_prefix("auth").and_then(scan_int);
            match num {
                Some((v, rest)) => {
                    if !rest.trim_matches(is_blank).is_empty() {
                        d.push(Diagnostic::warning(
                            file,
                            Some(n),
                            format!("auth {v}: '{}' ignored", rest.trim_matches(is_blank)),
                        ));
                    }
                    if let Some((prev, pl)) = authnum {
                        if prev != v {
                            d.push(Diagnostic::warning(
                                file,
                                Some(n),
                                format!("second auth line (auth {prev} on line {pl}): have exactly one, before the key lines"),
                            ));
                        }
                    }
                    authnum = Some((v, n));
                }
                None => d.push(Diagnostic::error(
                    file,
                    Some(n),
                    format!("Invalid auth line [{shown}]: expected 'auth N'"),
                )),
            }
            continue;
        }
        let (idx, k, extra) = match key_line(line, shown) {
            Ok(x) => x,
            Err(m) => {
                d.push(Diagnostic::error(file, Some(n), m));
                continue;
            }
        };
        if let Some(w) = extra {
            d.push(Diagnostic::warning(file, Some(n), w));
        }
        if let Some((_, pl)) = keys.get(&idx) {
            d.push(Diagnostic::warning(
                file,
                Some(n),
                format!("key {idx} defined again (first on line {pl}): this line counts"),
            ));
        }
        keys.insert(idx, (k, n));
        if let Some((a, al)) = authnum {
            if a == i64::from(idx) {
                active = Some(idx);
                active_auth_line = al;
            }
        }
    }
    match (authnum, active) {
        (None, _) => d.push(Diagnostic::error(
            file,
            None,
            "Missing auth directive: add 'auth N' before the key lines",
        )),
        (Some((a, l)), None) => d.push(Diagnostic::error(
            file,
            Some(l),
            format!("Auth Key [{a}] not found in keyfile: a line '{a} METHOD [KEY]' must follow the 'auth {a}' line"),
        )),
        (Some((a, l)), Some(act)) => {
            if i64::from(act) != a {
                d.push(Diagnostic::warning(
                    file,
                    Some(l),
                    format!("auth {a} comes after the key lines: it has no effect, key {act} (selected on line {active_auth_line}) signs, as with the original"),
                ));
            }
        }
    }
    if d.iter().any(Diagnostic::is_error) {
        return (None, d);
    }
    let Some(active) = active else {
        return (None, d);
    };
    let keys = keys.into_iter().map(|(i, (k, _))| (i, k)).collect();
    (Some(AuthKeys { active, keys }), d)
}

/// A key line `N METHOD [KEY]`: the index, the key, and a warning for words after the key.
fn key_line(line: &str, shown: &str) -> Result<(u8, AuthKey, Option<String>), String> {
    let Some((idx, rest)) = scan_int(line) else {
        return Err(format!(
            "Auth line [{shown}] is invalid: expected 'auth N' or 'N METHOD [KEY]'"
        ));
    };
    let words = split_blanks(rest);
    let Some(method) = words.first().copied() else {
        return Err(format!(
            "Auth line [{shown}] is invalid: missing method after {idx} (crc, md5 or sha1)"
        ));
    };
    if !(0..MAX_AUTH).contains(&idx) {
        return Err(format!("Invalid authnum [{idx}]: key indexes are 0-15"));
    }
    let k = match (method, words.get(1).copied()) {
        ("crc", None) => AuthKey::Crc,
        ("crc", Some(k)) => return Err(format!(
            "Auth method [crc] doesn't use a key (found '{k}'; a # is a comment only at the start of a line)"
        )),
        ("md5", Some(k)) => AuthKey::Md5(k.to_string()),
        ("sha1", Some(k)) => AuthKey::Sha1(k.to_string()),
        ("md5" | "sha1", None) => return Err(format!("Auth method [{method}] requires a key")),
        (m, _) => return Err(format!("Invalid authtype [{m}]: crc, md5 or sha1")),
    };
    let extra = (words.len() > 2).then(|| {
        format!(
            "key {idx}: the key is the first word only; '{}' is ignored (as by the original)",
            words[2..].join(" ")
        )
    });
    Ok((idx as u8, k, extra))
}

/// Writes `a` back as authkeys text (the `auth` line first).
pub fn render_authkeys(a: &AuthKeys) -> String {
    let mut s = format!("auth {}\n", a.active);
    for (i, k) in &a.keys {
        match k {
            AuthKey::Crc => s.push_str(&format!("{i} crc\n")),
            AuthKey::Md5(k) => s.push_str(&format!("{i} md5 {k}\n")),
            AuthKey::Sha1(k) => s.push_str(&format!("{i} sha1 {k}\n")),
        }
    }
    s
}
