//! The daemon's commands: start, stop (-k), status (-s), reload (-r), version (-V),
//! config test (-t).

use std::path::Path;

use hb_core::MembershipConfig;
use hb_io::log::{Level, LogConfig, Logger};
use hb_io::signals::SignalFd;
use hb_io::state;

use crate::cli::{self, Command, Options};
use crate::run::{run_loop, wall_clock, LoopSetup};
use crate::{exit, setup, COMPAT_VERSION};

/// Runs `heartbeat` with the arguments after the program name; returns the exit status.
pub fn main_with(args: Vec<String>) -> i32 {
    let opts = match cli::parse(args) {
        Ok(o) => o,
        Err(e) => {
            if !e.0.is_empty() {
                eprintln!("heartbeat: {e}");
            }
            eprint!("{}", cli::USAGE);
            return exit::USAGE;
        }
    };
    match opts.command {
        Command::Version => {
            println!("{COMPAT_VERSION}");
            exit::OK
        }
        Command::ConfigTest => config_test(&opts),
        Command::Defaults { wiki } => {
            print!("{}", ha_config::defaults_table(wiki));
            exit::OK
        }
        Command::Status => {
            let name = this_node_name(&opts.config_dir);
            let (code, text) = hb_io::daemon::status_text(&opts.pid_file, "heartbeat", &name);
            println!("{text}");
            code
        }
        Command::Kill => hb_io::daemon::stop_running(&opts.pid_file, None),
        Command::Reload => reload(&opts),
        Command::Start => start(&opts),
    }
}

/// The local node name as the original finds it (the first line of /etc/ha.d/nodeinfo,
/// else `uname -n`), lowercased.
pub fn this_node_name(config_dir: &Path) -> String {
    ha_config::local_node_name(config_dir)
        .unwrap_or_else(|| "localhost".to_string())
        .to_lowercase()
}

fn config_test(opts: &Options) -> i32 {
    let name = this_node_name(&opts.config_dir);
    let report = ha_config::config_test(&opts.config_dir, Some(&name));
    print!("{}", report.text());
    report.exit_code()
}

fn reload(opts: &Options) -> i32 {
    match state::read_pidfile(&opts.pid_file) {
        state::PidStatus::Running(pid) => match ha_config::load_dir(&opts.config_dir) {
            Ok(_) => {
                eprintln!("Signalling heartbeat pid {pid} to reread config files");
                // SAFETY: plain kill(2) on a pid read from our pid file.
                if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
                    let e = std::io::Error::last_os_error();
                    eprintln!("ERROR: Could not signal pid {pid}: {e}");
                    return if e.kind() == std::io::ErrorKind::PermissionDenied {
                        exit::PERMISSION
                    } else {
                        exit::GENERIC
                    };
                }
                exit::OK
            }
            Err(errs) => {
                eprint!("{errs}");
                eprintln!("Config errors: Heartbeat pid {pid} NOT restarted");
                exit::GENERIC
            }
        },
        _ => start(opts),
    }
}

fn start(opts: &Options) -> i32 {
    let loaded = match ha_config::load_dir(&opts.config_dir) {
        Ok(l) => l,
        Err(errs) => {
            eprint!("{errs}");
            eprintln!("Configuration error, heartbeat not started.");
            return exit::NOT_CONFIGURED;
        }
    };
    let cfg = loaded.config;
    let name = this_node_name(&opts.config_dir);
    if !cfg.hacf.nodes.iter().any(|n| *n == name) {
        eprintln!(
            "ERROR: Current node [{name}] not in configuration! (nodes: {})",
            cfg.hacf.nodes.join(" ")
        );
        eprintln!("Configuration error, heartbeat not started.");
        return exit::NOT_CONFIGURED;
    }
    let keys = match setup::key_ring(&cfg) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}\nAuthentication configuration error.");
            return exit::NOT_CONFIGURED;
        }
    };
    if let state::PidStatus::Running(pid) = state::read_pidfile(&opts.pid_file) {
        eprintln!("heartbeat: already running [pid {pid}].");
        return exit::OK;
    }
    let log_cfg = LogConfig {
        logfile: cfg.hacf.logfile.clone(),
        debugfile: cfg.hacf.debugfile.clone(),
        facility: cfg
            .hacf
            .logfacility
            .as_deref()
            .and_then(|f| hb_io::log::parse_facility(f).ok().flatten()),
        stderr: opts.foreground,
        debug_level: opts.debug,
    };
    for w in &loaded.warnings {
        eprintln!("WARN: {w}");
    }
    if !opts.foreground {
        if let Err(e) = hb_io::daemon::daemonize(&opts.state_dir) {
            eprintln!("ERROR: cannot daemonize: {e}");
            return exit::GENERIC;
        }
    }
    let log = Logger::new(log_cfg);
    if let Err(e) = state::create_pidfile(&opts.pid_file) {
        log.log(Level::Error, &format!("{e}"));
        return exit::PERMISSION;
    }
    let code = run(opts, &cfg, keys, name, &log);
    code
}

fn run(
    opts: &Options,
    cfg: &ha_config::Config,
    keys: hb_wire::KeyRing,
    name: String,
    log: &Logger,
) -> i32 {
    let signals = match SignalFd::new() {
        Ok(s) => s,
        Err(e) => {
            log.log(Level::Error, &format!("cannot set up signals: {e}"));
            return exit::GENERIC;
        }
    };
    let gen = match state::increment_generation(&opts.state_dir) {
        Ok(g) => g,
        Err(e) => {
            log.log(Level::Error, &format!("{e}"));
            return exit::GENERIC;
        }
    };
    if gen.was_missing {
        log.log(
            Level::Warn,
            &format!("No Previous generation - starting at {}", gen.value),
        );
    }
    log.log(Level::Info, &format!("Heartbeat generation: {}", gen.value));
    let uuid = match state::load_or_create_uuid(&opts.state_dir) {
        Ok((u, created)) => {
            if created {
                log.log(
                    Level::Info,
                    "No uuid found for current node - generating a new uuid.",
                );
            }
            u.0
        }
        Err(e) => {
            log.log(Level::Error, &format!("{e}"));
            return exit::GENERIC;
        }
    };
    log.log(
        Level::Info,
        &format!("Configuration validated. Starting heartbeat {COMPAT_VERSION}"),
    );
    let membership = MembershipConfig {
        name,
        nodes: cfg.hacf.nodes.clone(),
        ping_nodes: cfg.hacf.ping.len(),
        timing: setup::timing(cfg),
        hopfudge: cfg.hacf.hopfudge,
        keys,
        send_form: setup::send_form(cfg),
        uuid,
        generation: gen.value,
        wall_clock_at_start: wall_clock(),
        seed: wall_clock() ^ u64::from(std::process::id()),
    };
    let setup = LoopSetup {
        membership,
        media: setup::media(cfg),
    };
    match run_loop(setup, log, signals) {
        Ok(code) => code,
        Err(e) => {
            log.log(Level::Error, &format!("{e}"));
            exit::GENERIC
        }
    }
}
