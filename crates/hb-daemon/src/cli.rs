//! The command line of `heartbeat`, with the original's flags and meanings
//! (2.0.8 option string `dDkMrRsvWlC:V`, plus 3.0.6's `-f`) and our additions
//! `-t`/`--config-test`, `--config-dir DIR` and `--export-cib [--pacemaker 1.1|2]`.

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start the daemon (the default).
    Start,
    /// `-k`: stop the running daemon.
    Kill,
    /// `-r`: make the running daemon reread its configuration.
    Reload,
    /// `-s`: print whether the daemon runs.
    Status,
    /// `-V`: print the version.
    Version,
    /// `-D` (with `-W`: wiki markup): print the directives that have defaults.
    Defaults { wiki: bool },
    /// `-t` / `--config-test`: check the configuration and exit 0 or 6.
    ConfigTest,
    /// `--export-cib [--pacemaker 1.1|2]`: print the configuration as a Pacemaker CIB.
    ExportCib { target: hb_cib::Target },
}

/// Parsed options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub command: Command,
    /// `-d`, once per level.
    pub debug: u32,
    /// `-M`: do not manage resources.
    pub no_resources: bool,
    /// `-v`: log the parsed configuration at start.
    pub verbose: bool,
    /// `-l`: no realtime scheduling or memory locking.
    pub no_realtime: bool,
    /// `-f`: stay in the foreground.
    pub foreground: bool,
    /// `-R`: internal restart (accepted, treated as a start).
    pub restart: bool,
    /// `-C STATE`: resources held before a restart (only with `-R`).
    pub current_resources: Option<String>,
    pub config_dir: PathBuf,
    /// Where hb_generation, hb_uuid and the FIFO live (`--state-dir`, default /var/lib/heartbeat).
    pub state_dir: PathBuf,
    /// The pid file (`--pid-file`, default /var/run/heartbeat.pid).
    pub pid_file: PathBuf,
    /// `-s --json` / `-s --prometheus`: how the status is printed.
    pub status_format: crate::status::Format,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            command: Command::Start,
            debug: 0,
            no_resources: false,
            verbose: false,
            no_realtime: false,
            foreground: false,
            restart: false,
            current_resources: None,
            config_dir: PathBuf::from("/etc/ha.d"),
            state_dir: PathBuf::from("/var/lib/heartbeat"),
            pid_file: PathBuf::from("/var/run/heartbeat.pid"),
            status_format: crate::status::Format::Text,
        }
    }
}

/// The original's usage text (exit status 2).
pub const USAGE: &str = "Usage: heartbeat [-dDkMrRsvWlV] [-C Current-resource-state]\n\
\t-C only valid with -R\n\
\t-r is mutually exclusive with -R\n\
\t-t, --config-test  check the configuration in --config-dir and exit (0 = good, 6 = refused)\n\
\t--config-dir DIR   configuration directory (default /etc/ha.d)\n\
\t--export-cib [--pacemaker 1.1|2]  print the configuration as a Pacemaker CIB (default: 2)\n\
\t-s --json | -s --prometheus  the running daemon's status as JSON or in Prometheus' text format\n";

/// A command line we refuse; printed with [`USAGE`], exit status 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Options, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut o = Options::default();
    let mut wiki = false;
    let mut defaults = false;
    let mut pacemaker: Option<hb_cib::Target> = None;
    let mut args = args.into_iter().map(Into::into);
    let set = |o: &mut Options, c: Command| -> Result<(), UsageError> {
        if o.command != Command::Start && o.command != c {
            return Err(UsageError(format!(
                "conflicting commands: {:?} and {:?}",
                o.command, c
            )));
        }
        o.command = c;
        Ok(())
    };
    while let Some(a) = args.next() {
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (long.to_string(), None),
            };
            let mut value = |what: &str| -> Result<String, UsageError> {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| UsageError(format!("--{what} needs a value")))
            };
            match name.as_str() {
                "config-test" => set(&mut o, Command::ConfigTest)?,
                "export-cib" => set(
                    &mut o,
                    Command::ExportCib {
                        target: hb_cib::Target::Pacemaker2,
                    },
                )?,
                "pacemaker" => {
                    let v = value("pacemaker")?;
                    pacemaker = Some(hb_cib::Target::parse(&v).ok_or_else(|| {
                        UsageError(format!("--pacemaker '{v}': expected 1.1 or 2"))
                    })?);
                }
                "config-dir" => o.config_dir = PathBuf::from(value("config-dir")?),
                "state-dir" => o.state_dir = PathBuf::from(value("state-dir")?),
                "pid-file" => o.pid_file = PathBuf::from(value("pid-file")?),
                "json" => o.status_format = crate::status::Format::Json,
                "prometheus" => o.status_format = crate::status::Format::Prometheus,
                "version" => set(&mut o, Command::Version)?,
                "help" => return Err(UsageError(String::new())),
                _ => return Err(UsageError(format!("unknown option --{name}"))),
            }
            continue;
        }
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(UsageError(format!("unexpected argument '{a}'")));
        };
        let mut chars = flags.chars();
        while let Some(c) = chars.next() {
            match c {
                'd' => o.debug += 1,
                'D' => defaults = true,
                'W' => wiki = true,
                'k' => set(&mut o, Command::Kill)?,
                'M' => o.no_resources = true,
                'r' => set(&mut o, Command::Reload)?,
                'R' => o.restart = true,
                's' => set(&mut o, Command::Status)?,
                'v' => o.verbose = true,
                'V' => set(&mut o, Command::Version)?,
                'l' => o.no_realtime = true,
                'f' => o.foreground = true,
                't' => set(&mut o, Command::ConfigTest)?,
                'C' => {
                    let rest: String = chars.by_ref().collect();
                    let v = if rest.is_empty() {
                        args.next()
                    } else {
                        Some(rest)
                    };
                    let v = v.ok_or_else(|| UsageError("-C needs a value".into()))?;
                    if !["none", "local", "foreign", "all"].contains(&v.as_str()) {
                        return Err(UsageError(format!("bad -C value '{v}'")));
                    }
                    o.current_resources = Some(v);
                }
                other => return Err(UsageError(format!("invalid option -- '{other}'"))),
            }
        }
    }
    if defaults {
        set(&mut o, Command::Defaults { wiki })?;
    }
    if let Some(t) = pacemaker {
        match &mut o.command {
            Command::ExportCib { target } => *target = t,
            _ => {
                return Err(UsageError(
                    "--pacemaker only valid with --export-cib".into(),
                ))
            }
        }
    }
    if o.status_format != crate::status::Format::Text && o.command != Command::Status {
        return Err(UsageError(
            "--json and --prometheus are only valid with -s".into(),
        ));
    }
    if o.current_resources.is_some() && !o.restart {
        return Err(UsageError("-C only valid with -R".into()));
    }
    if o.restart && o.command == Command::Reload {
        return Err(UsageError("-r is mutually exclusive with -R".into()));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_start() {
        let o = parse(Vec::<String>::new()).unwrap();
        assert_eq!(o.command, Command::Start);
        assert_eq!(o.config_dir, PathBuf::from("/etc/ha.d"));
    }

    #[test]
    fn original_flags() {
        assert_eq!(parse(["-k"]).unwrap().command, Command::Kill);
        assert_eq!(parse(["-s"]).unwrap().command, Command::Status);
        assert_eq!(
            parse(["-s", "--json"]).unwrap().status_format,
            crate::status::Format::Json
        );
        assert_eq!(
            parse(["--prometheus", "-s"]).unwrap().status_format,
            crate::status::Format::Prometheus
        );
        assert!(parse(["--json"]).is_err());
        assert!(parse(["-k", "--prometheus"]).is_err());
        assert_eq!(parse(["-r"]).unwrap().command, Command::Reload);
        assert_eq!(parse(["-V"]).unwrap().command, Command::Version);
        assert_eq!(
            parse(["-DW"]).unwrap().command,
            Command::Defaults { wiki: true }
        );
        assert_eq!(parse(["-ddd"]).unwrap().debug, 3);
        let o = parse(["-R", "-C", "all"]).unwrap();
        assert!(o.restart);
        assert_eq!(o.current_resources.as_deref(), Some("all"));
        assert!(parse(["-M", "-l", "-v", "-f"])
            .map(|o| o.no_resources && o.no_realtime && o.verbose && o.foreground)
            .unwrap());
    }

    #[test]
    fn ours() {
        let o = parse(["-t", "--config-dir", "/tmp/x"]).unwrap();
        assert_eq!(o.command, Command::ConfigTest);
        assert_eq!(o.config_dir, PathBuf::from("/tmp/x"));
        let o = parse([
            "--config-test",
            "--config-dir=/y",
            "--state-dir",
            "/s",
            "--pid-file",
            "/p",
        ])
        .unwrap();
        assert_eq!(o.config_dir, PathBuf::from("/y"));
        assert_eq!(o.state_dir, PathBuf::from("/s"));
        assert_eq!(o.pid_file, PathBuf::from("/p"));
    }

    #[test]
    fn export_cib() {
        use hb_cib::Target;
        let o = parse(["--export-cib", "--config-dir", "/x"]).unwrap();
        assert_eq!(
            o.command,
            Command::ExportCib {
                target: Target::Pacemaker2
            }
        );
        assert_eq!(o.config_dir, PathBuf::from("/x"));
        for args in [
            ["--pacemaker", "1.1", "--export-cib"],
            ["--export-cib", "--pacemaker=1.1", ""],
        ] {
            let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
            assert_eq!(
                parse(args).unwrap().command,
                Command::ExportCib {
                    target: Target::Pacemaker1_1
                }
            );
        }
        assert!(parse(["--export-cib", "--pacemaker", "1.0"]).is_err());
        assert!(parse(["--pacemaker", "2"]).is_err());
        assert!(parse(["--export-cib", "-k"]).is_err());
    }

    #[test]
    fn refused() {
        assert!(parse(["-x"]).is_err());
        assert!(parse(["-C", "all"]).is_err());
        assert!(parse(["-C", "bogus"]).is_err());
        assert!(parse(["-R", "-r"]).is_err());
        assert!(parse(["-k", "-s"]).is_err());
        assert!(parse(["--config-dir"]).is_err());
        assert!(parse(["stray"]).is_err());
    }
}
