//! authkeys: `auth N` then `N METHOD [KEY]` lines.
//!
//! As the real daemon does (and not as older documents say): the key is the first word
//! after the method only (the rest of the line is ignored, with a warning here), and the
//! `auth N` line must come before the line defining key N.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::lines::lines;

#[derive(Clone, PartialEq, Eq)]
pub enum AuthKey {
    Crc,
    Md5(String),
    Sha1(String),
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthKey::Crc => "Crc",
            AuthKey::Md5(_) => "Md5(<key>)",
            AuthKey::Sha1(_) => "Sha1(<key>)",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthKeys {
    pub active: u8,
    pub keys: BTreeMap<u8, AuthKey>,
}

pub fn parse_authkeys(text: &str, file: &str) -> (Option<AuthKeys>, Vec<Diagnostic>) {
    let mut d = Vec::new();
    let mut active: Option<(u8, usize)> = None;
    let mut active_found = false;
    let mut keys = BTreeMap::new();
    for l in lines(text, false) {
        let n = Some(l.number);
        let w = &l.words;
        if w[0] == "auth" {
            match w
                .get(1)
                .and_then(|x| x.parse::<u8>().ok())
                .filter(|i| *i <= 15)
            {
                Some(i) => active = Some((i, l.number)),
                None => d.push(Diagnostic::error(file, n, "auth: expected an index 0-15")),
            }
            continue;
        }
        let Some(idx) = w[0].parse::<u8>().ok().filter(|i| *i <= 15) else {
            d.push(Diagnostic::error(
                file,
                n,
                format!(
                    "'{}': expected 'auth N' or 'N METHOD [KEY]' with N in 0-15",
                    w[0]
                ),
            ));
            continue;
        };
        let method = w.get(1).map(String::as_str).unwrap_or("");
        let key = w.get(2).cloned();
        if w.len() > 3 {
            d.push(Diagnostic::warning(
                file,
                n,
                format!(
                    "key {idx}: only the first word is the key (the original ignores '{}')",
                    w[3..].join(" ")
                ),
            ));
        }
        let k = match (method, key) {
            ("crc", None) => AuthKey::Crc,
            ("crc", Some(_)) => {
                d.push(Diagnostic::error(
                    file,
                    n,
                    "Auth method [crc] doesn't use a key",
                ));
                continue;
            }
            ("md5", Some(k)) => AuthKey::Md5(k),
            ("sha1", Some(k)) => AuthKey::Sha1(k),
            ("md5" | "sha1", None) => {
                d.push(Diagnostic::error(
                    file,
                    n,
                    format!("Auth method [{method}] requires a key"),
                ));
                continue;
            }
            ("", _) => {
                d.push(Diagnostic::error(
                    file,
                    n,
                    format!("key {idx}: missing method (crc, md5 or sha1)"),
                ));
                continue;
            }
            (m, _) => {
                d.push(Diagnostic::error(
                    file,
                    n,
                    format!("unknown authentication method [{m}] (crc, md5 or sha1)"),
                ));
                continue;
            }
        };
        if active.is_some_and(|(a, _)| a == idx) {
            active_found = true;
        }
        keys.insert(idx, k);
    }
    match active {
        None => d.push(Diagnostic::error(file, None, "no 'auth N' line: No authentication specified.")),
        Some((a, l)) if !active_found => d.push(Diagnostic::error(
            file,
            Some(l),
            format!("Auth Key [{a}] not found in keyfile (a key line '{a} METHOD [KEY]' must follow the 'auth {a}' line)"),
        )),
        _ => {}
    }
    if d.iter().any(|x| x.severity == crate::Severity::Error) {
        return (None, d);
    }
    let active = active.map(|(a, _)| a).unwrap_or(1);
    (Some(AuthKeys { active, keys }), d)
}

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
