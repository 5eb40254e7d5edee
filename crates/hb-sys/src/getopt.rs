//! glibc's `getopt(3)` for short options, for the programs that must take their arguments
//! exactly as the original's C `main` did (`cl_status`, `ha_logger`).

use std::io::Write;

/// An emulation of glibc's `getopt(3)` for short options, including the permutation of
/// arguments (options first, then the others) that it performs while scanning.
pub struct Getopt {
    /// The arguments as getopt leaves them (permuted).
    pub argv: Vec<Vec<u8>>,
    pub optind: usize,
    nextchar: usize,
    first_nonopt: usize,
    last_nonopt: usize,
    permute: bool,
    /// The argument of the last option that takes one.
    pub optarg: Option<Vec<u8>>,
}

fn is_nonopt(a: &[u8]) -> bool {
    a.first() != Some(&b'-') || a.len() == 1
}

impl Getopt {
    pub fn new(argv: Vec<Vec<u8>>, posixly_correct: bool) -> Getopt {
        Getopt {
            argv,
            optind: 1,
            nextchar: 0,
            first_nonopt: 1,
            last_nonopt: 1,
            permute: !posixly_correct,
            optarg: None,
        }
    }

    fn exchange(&mut self) {
        let (a, b, c) = (self.first_nonopt, self.last_nonopt, self.optind);
        if let Some(s) = self.argv.get_mut(a..c) {
            s.rotate_left(b - a);
        }
        self.first_nonopt += c - b;
        self.last_nonopt = c;
    }

    /// The next option character, `Some(b'?')` for an unknown option or a missing
    /// argument (after writing glibc's message to `err`), `None` at the end.
    pub fn next(&mut self, optstring: &[u8], err: &mut dyn Write) -> Option<u8> {
        let argc = self.argv.len();
        self.optarg = None;
        if self.nextchar == 0 {
            self.last_nonopt = self.last_nonopt.min(self.optind);
            self.first_nonopt = self.first_nonopt.min(self.optind);
            if self.permute {
                if self.first_nonopt != self.last_nonopt && self.last_nonopt != self.optind {
                    self.exchange();
                } else if self.last_nonopt != self.optind {
                    self.first_nonopt = self.optind;
                }
                while self.optind < argc && self.argv.get(self.optind).is_some_and(|a| is_nonopt(a))
                {
                    self.optind += 1;
                }
                self.last_nonopt = self.optind;
            }
            if self.optind != argc && self.argv.get(self.optind).is_some_and(|a| a == b"--") {
                self.optind += 1;
                if self.first_nonopt != self.last_nonopt && self.last_nonopt != self.optind {
                    self.exchange();
                } else if self.first_nonopt == self.last_nonopt {
                    self.first_nonopt = self.optind;
                }
                self.last_nonopt = argc;
                self.optind = argc;
            }
            if self.optind == argc {
                if self.first_nonopt != self.last_nonopt {
                    self.optind = self.first_nonopt;
                }
                return None;
            }
            if self.argv.get(self.optind).is_some_and(|a| is_nonopt(a)) {
                return None;
            }
            self.nextchar = 1;
        }
        let arg = self.argv.get(self.optind).cloned().unwrap_or_default();
        let c = arg.get(self.nextchar).copied().unwrap_or(0);
        self.nextchar += 1;
        let at_end = self.nextchar >= arg.len();
        if at_end {
            self.optind += 1;
            self.nextchar = 0;
        }
        let prog = self.argv.first().cloned().unwrap_or_default();
        let pos = optstring.iter().position(|&o| o == c).filter(|_| c != b':');
        let Some(pos) = pos else {
            let _ = err.write_all(&prog);
            let _ = err.write_all(b": invalid option -- '");
            let _ = err.write_all(&[c]);
            let _ = err.write_all(b"'\n");
            return Some(b'?');
        };
        if optstring.get(pos + 1) == Some(&b':') {
            if !at_end {
                self.optarg = arg.get(self.nextchar..).map(<[u8]>::to_vec);
                self.optind += 1;
                self.nextchar = 0;
            } else if self.optind == argc {
                let _ = err.write_all(&prog);
                let _ = err.write_all(b": option requires an argument -- '");
                let _ = err.write_all(&[c]);
                let _ = err.write_all(b"'\n");
                return Some(b'?');
            } else {
                self.optarg = self.argv.get(self.optind).cloned();
                self.optind += 1;
            }
        }
        Some(c)
    }

    /// The argument `k` places after `optind` (`argv[optind+k]`).
    pub fn arg(&self, k: usize) -> Option<String> {
        self.argv
            .get(self.optind + k)
            .map(|a| String::from_utf8_lossy(a).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn all(g: &mut Getopt, opts: &[u8]) -> (Vec<u8>, String) {
        let mut err = Vec::new();
        let mut got = Vec::new();
        while let Some(c) = g.next(opts, &mut err) {
            got.push(c);
        }
        (got, String::from_utf8(err).unwrap())
    }

    #[test]
    fn getopt_permutes_like_glibc() {
        let mut g = Getopt::new(args(&["cl_status", "nodestatus", "b", "-m"]), false);
        assert_eq!(all(&mut g, b"m").0, b"m");
        assert_eq!(g.arg(0).as_deref(), Some("nodestatus"));
        assert_eq!(g.arg(1).as_deref(), Some("b"));
        let mut g = Getopt::new(args(&["cl_status", "-m", "nodestatus", "b"]), false);
        all(&mut g, b"m");
        assert_eq!(g.arg(1).as_deref(), Some("b"));
        let mut g = Getopt::new(
            args(&["cl_status", "clientstatus", "-m", "b", "ipfail", "200"]),
            false,
        );
        all(&mut g, b"m");
        assert_eq!(
            (g.arg(1), g.arg(2), g.arg(3)),
            (Some("b".into()), Some("ipfail".into()), Some("200".into()))
        );
    }

    #[test]
    fn getopt_double_dash() {
        let mut g = Getopt::new(args(&["p", "sub", "-m", "--", "-x"]), false);
        assert_eq!(all(&mut g, b"m").0, b"m");
        assert_eq!(g.argv, args(&["p", "-m", "--", "sub", "-x"]));
        assert_eq!(g.optind, 3);
        assert_eq!(g.arg(1).as_deref(), Some("-x"));
    }

    #[test]
    fn getopt_errors_and_arguments() {
        let mut g = Getopt::new(args(&["cl_status", "hbparameter", "-x"]), false);
        let (got, err) = all(&mut g, b"mp:,\t\tTRUE");
        assert_eq!(got, b"?");
        assert_eq!(err, "cl_status: invalid option -- 'x'\n");
        let mut g = Getopt::new(args(&["cl_status", "hbparameter", "-p"]), false);
        let (got, err) = all(&mut g, b"mp:");
        assert_eq!(got, b"?");
        assert_eq!(err, "cl_status: option requires an argument -- 'p'\n");
        let mut g = Getopt::new(args(&["cl_status", "hbparameter", "-mpkeepalive"]), false);
        assert_eq!(g.next(b"mp:", &mut Vec::new()), Some(b'm'));
        assert_eq!(g.next(b"mp:", &mut Vec::new()), Some(b'p'));
        assert_eq!(g.optarg.as_deref(), Some(&b"keepalive"[..]));
        let mut g = Getopt::new(
            args(&["cl_status", "hbparameter", "-p", "deadtime", "-T"]),
            false,
        );
        let (got, _) = all(&mut g, b"mp:,\t\tTRUE");
        assert_eq!(got, b"pT");
    }

    #[test]
    fn posixly_correct_stops_at_the_sub_command() {
        let mut g = Getopt::new(args(&["cl_status", "nodestatus", "-m", "b"]), true);
        assert_eq!(all(&mut g, b"m").0, b"");
        assert_eq!(g.optind, 1);
        assert_eq!(g.arg(1).as_deref(), Some("-m"));
    }
}
