//! Command lines of `hb_standby` and `hb_takeover`.
//!
//! Both take at most one word, `all` (the default), `local`, `foreign` or `failback`,
//! plus our two options `--config-dir DIR` and `--fifo PATH` (also `--opt=VALUE`),
//! which may stand anywhere and do not count as words.
//!
//! What the word becomes on the wire differs between the two, as in the original:
//! hb_standby turns `failback` into `foreign`; hb_takeover sends the word unchanged
//! (the peer's rc.d `hb_takeover` then runs its hb_standby with no word for
//! `failback`, so `all`).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Which of the two programs runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Standby,
    Takeover,
}

impl Tool {
    /// The program's name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Standby => "hb_standby",
            Tool::Takeover => "hb_takeover",
        }
    }
}

/// The set of resource groups named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Set {
    All,
    Local,
    Foreign,
    Failback,
}

impl Set {
    /// The command-line word.
    pub fn word(self) -> &'static str {
        match self {
            Set::All => "all",
            Set::Local => "local",
            Set::Foreign => "foreign",
            Set::Failback => "failback",
        }
    }

    /// Reads a command-line word (exact, case-sensitive, as the original's `[ ... = ... ]`).
    pub fn from_word(w: &[u8]) -> Option<Set> {
        match w {
            b"all" => Some(Set::All),
            b"local" => Some(Set::Local),
            b"foreign" => Some(Set::Foreign),
            b"failback" => Some(Set::Failback),
            _ => None,
        }
    }

    /// The `rsc_hold` value `tool` sends for this set.
    pub fn rsc_hold(self, tool: Tool) -> &'static str {
        match (tool, self) {
            (Tool::Standby, Set::Failback) => "foreign",
            (_, s) => s.word(),
        }
    }
}

/// Default configuration directory.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/ha.d";

/// A command line we accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub tool: Tool,
    pub set: Set,
    /// `--config-dir` (default /etc/ha.d).
    pub config_dir: PathBuf,
    /// `--fifo`, if given; it wins over `HA_FIFO`.
    pub fifo: Option<PathBuf>,
}

/// A command line we refuse. Each is answered with the usage text and exit status 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// Two words or more (the original: `<prog>: too many arguments`).
    TooMany,
    /// A word that is not a set (the original: `<prog>: wrong resources(<word>).`).
    Wrong(String),
    /// `--help`: the usage text alone.
    Help,
    /// `--config-dir` or `--fifo` at the end with no value (ours).
    MissingValue(&'static str),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsError::TooMany => f.write_str("too many arguments"),
            ArgsError::Wrong(w) => write!(f, "wrong resources({w})."),
            ArgsError::Help => f.write_str("usage requested"),
            ArgsError::MissingValue(o) => write!(f, "option --{o} needs a value"),
        }
    }
}

impl std::error::Error for ArgsError {}

/// Exit status for a refused command line (the original's `exit 1`).
pub const EXIT_USAGE: i32 = 1;

/// Parses the arguments after the program name.
pub fn parse<I>(tool: Tool, args: I) -> Result<Invocation, ArgsError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut config_dir = PathBuf::from(DEFAULT_CONFIG_DIR);
    let mut fifo = None;
    let mut words: Vec<OsString> = Vec::new();
    let mut it = args.into_iter().map(Into::into);
    while let Some(a) = it.next() {
        let bytes = a.as_bytes();
        let mut matched = false;
        for opt in ["config-dir", "fifo"] {
            let value = match option_value(bytes, opt) {
                None => continue,
                Some(Some(inline)) => OsStr::from_bytes(inline).to_os_string(),
                Some(None) => it.next().ok_or(ArgsError::MissingValue(opt))?,
            };
            if opt == "fifo" {
                fifo = Some(PathBuf::from(value));
            } else {
                config_dir = PathBuf::from(value);
            }
            matched = true;
            break;
        }
        if !matched {
            words.push(a);
        }
    }
    if words.len() >= 2 {
        return Err(ArgsError::TooMany);
    }
    let set = match words.first() {
        None => Set::All,
        Some(w) if w.as_bytes() == b"--help" => return Err(ArgsError::Help),
        Some(w) => Set::from_word(w.as_bytes())
            .ok_or_else(|| ArgsError::Wrong(w.to_string_lossy().into_owned()))?,
    };
    Ok(Invocation {
        tool,
        set,
        config_dir,
        fifo,
    })
}

/// `--opt` → `Some(None)`; `--opt=v` → `Some(Some(v))`; anything else → `None`.
fn option_value<'a>(arg: &'a [u8], opt: &str) -> Option<Option<&'a [u8]>> {
    let rest = arg.strip_prefix(b"--")?.strip_prefix(opt.as_bytes())?;
    if rest.is_empty() {
        Some(None)
    } else {
        rest.strip_prefix(b"=").map(Some)
    }
}

/// What the original prints for a refused command line: `(stdout, stderr)`.
/// `argv0` is the program as invoked (the scripts print `$0`).
///
/// The original puts `usage:` on stdout and the line naming the words on stderr; we keep
/// that split and add one stderr line naming our options.
pub fn usage_text(argv0: &str, err: &ArgsError) -> (String, String) {
    let mut out = String::new();
    match err {
        ArgsError::Help => {}
        e => out.push_str(&format!("{argv0}: {e}\n")),
    }
    out.push_str("usage:\n");
    let err_text = format!(
        "{argv0} [all|foreign|local|failback]\n\
         \toptions: --config-dir DIR (default {DEFAULT_CONFIG_DIR}), \
         --fifo PATH (default $HA_FIFO, else {})\n",
        crate::fifo::DEFAULT_FIFO
    );
    (out, err_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(tool: Tool, a: &[&str]) -> Result<Invocation, ArgsError> {
        parse(tool, a.iter().copied())
    }

    #[test]
    fn no_word_is_all() {
        for t in [Tool::Standby, Tool::Takeover] {
            let i = p(t, &[]).unwrap();
            assert_eq!(i.set, Set::All);
            assert_eq!(i.set.rsc_hold(t), "all");
            assert_eq!(i.config_dir, PathBuf::from("/etc/ha.d"));
            assert_eq!(i.fifo, None);
        }
    }

    #[test]
    fn standby_mapping() {
        let cases = [
            ("all", "all"),
            ("local", "local"),
            ("foreign", "foreign"),
            ("failback", "foreign"),
        ];
        for (w, hold) in cases {
            let i = p(Tool::Standby, &[w]).unwrap();
            assert_eq!(i.set.word(), w);
            assert_eq!(i.set.rsc_hold(Tool::Standby), hold, "{w}");
        }
    }

    #[test]
    fn takeover_keeps_the_word() {
        for w in ["all", "local", "foreign", "failback"] {
            let i = p(Tool::Takeover, &[w]).unwrap();
            assert_eq!(i.set.rsc_hold(Tool::Takeover), w);
        }
    }

    #[test]
    fn refusals() {
        for t in [Tool::Standby, Tool::Takeover] {
            assert_eq!(p(t, &["all", "local"]), Err(ArgsError::TooMany));
            assert_eq!(p(t, &["x", "y", "z"]), Err(ArgsError::TooMany));
            assert_eq!(p(t, &["--help"]), Err(ArgsError::Help));
            assert_eq!(p(t, &["--help", "all"]), Err(ArgsError::TooMany));
            assert_eq!(p(t, &["ALL"]), Err(ArgsError::Wrong("ALL".into())));
            assert_eq!(p(t, &["-h"]), Err(ArgsError::Wrong("-h".into())));
            assert_eq!(p(t, &[""]), Err(ArgsError::Wrong(String::new())));
            assert_eq!(p(t, &["a b"]), Err(ArgsError::Wrong("a b".into())));
            assert_eq!(p(t, &["all\n"]), Err(ArgsError::Wrong("all\n".into())));
            assert_eq!(p(t, &["--fifo"]), Err(ArgsError::MissingValue("fifo")));
            assert_eq!(
                p(t, &["all", "--config-dir"]),
                Err(ArgsError::MissingValue("config-dir"))
            );
            assert_eq!(p(t, &["--fifox"]), Err(ArgsError::Wrong("--fifox".into())));
        }
    }

    #[test]
    fn options_anywhere_and_not_counted() {
        let i = p(
            Tool::Standby,
            &["--fifo", "/tmp/f", "local", "--config-dir=/tmp/c"],
        )
        .unwrap();
        assert_eq!(i.set, Set::Local);
        assert_eq!(i.fifo, Some(PathBuf::from("/tmp/f")));
        assert_eq!(i.config_dir, PathBuf::from("/tmp/c"));
        let i = p(Tool::Takeover, &["--fifo=/x", "--config-dir", "/y"]).unwrap();
        assert_eq!(i.set, Set::All);
        assert_eq!(i.fifo, Some(PathBuf::from("/x")));
        assert_eq!(i.config_dir, PathBuf::from("/y"));
        // The last one given wins.
        let i = p(Tool::Takeover, &["--fifo=/a", "--fifo=/b"]).unwrap();
        assert_eq!(i.fifo, Some(PathBuf::from("/b")));
    }

    #[test]
    fn non_utf8_word_is_wrong() {
        let w = OsStr::from_bytes(b"al\xffl").to_os_string();
        match parse(Tool::Standby, [w]) {
            Err(ArgsError::Wrong(s)) => assert!(s.starts_with("al")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usage_like_the_original() {
        let (o, e) = usage_text(
            "/usr/lib/heartbeat/hb_standby",
            &ArgsError::Wrong("x".into()),
        );
        assert_eq!(
            o,
            "/usr/lib/heartbeat/hb_standby: wrong resources(x).\nusage:\n"
        );
        assert!(e.starts_with("/usr/lib/heartbeat/hb_standby [all|foreign|local|failback]\n"));
        let (o, _) = usage_text("hb_takeover", &ArgsError::TooMany);
        assert_eq!(o, "hb_takeover: too many arguments\nusage:\n");
        let (o, _) = usage_text("hb_takeover", &ArgsError::Help);
        assert_eq!(o, "usage:\n");
    }
}
