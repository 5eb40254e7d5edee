//! POSIX extended regular expressions through the C library (`regcomp`/`regexec`), for
//! the patterns ResourceManager hands to `egrep` (`listkeys 'a|b'`, `listkeys '.*'`).

use std::ffi::CString;

/// A compiled pattern.
pub struct Ere {
    re: Box<libc::regex_t>,
}

impl Ere {
    /// Compiles `pattern` as `egrep` (with `-i` when `icase`) would; `None` when the C
    /// library refuses it (egrep then prints an error and matches nothing).
    pub fn new(pattern: &str, icase: bool) -> Option<Ere> {
        let c = CString::new(pattern).ok()?;
        // SAFETY: regex_t is plain data that regcomp initialises; zeroed is a valid start.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        let flags = libc::REG_EXTENDED | libc::REG_NOSUB | if icase { libc::REG_ICASE } else { 0 };
        // SAFETY: re points to a regex_t we own; c is NUL-terminated.
        if unsafe { libc::regcomp(&mut *re, c.as_ptr(), flags) } != 0 {
            return None;
        }
        Some(Ere { re })
    }

    /// Whether the pattern matches somewhere in `line`.
    pub fn is_match(&self, line: &str) -> bool {
        let Ok(c) = CString::new(line) else {
            return false;
        };
        // SAFETY: a compiled regex and a NUL-terminated subject; no match offsets asked for.
        unsafe { libc::regexec(&*self.re, c.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }
}

impl Drop for Ere {
    fn drop(&mut self) {
        // SAFETY: compiled by regcomp in new(), freed once.
        unsafe { libc::regfree(&mut *self.re) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egrep_like() {
        let all = Ere::new("^.* ", true).unwrap();
        assert!(all.is_match("a IPaddr::1.2.3.4 "));
        let a = Ere::new("^a ", true).unwrap();
        assert!(a.is_match("a x "));
        assert!(!a.is_match("ab x "));
        assert!(Ere::new("^A ", true).unwrap().is_match("a x "));
        assert!(!Ere::new("^A ", false).unwrap().is_match("a x "));
        // Alternation binds loosest, as in egrep.
        let alt = Ere::new("^a|b ", true).unwrap();
        assert!(alt.is_match("zz b "));
        // An IP address's dots match any character.
        let ip = Ere::new(" 10.0.0.1 ", false).unwrap();
        assert!(ip.is_match("a 10x0y0z1 "));
        assert!(Ere::new("(", false).is_none());
    }
}
