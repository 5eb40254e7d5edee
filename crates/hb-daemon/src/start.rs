//! The daemon's commands: start, stop (-k), status (-s), reload (-r), version (-V),
//! config test (-t), the Pacemaker export (--export-cib, crate hb-cib).

use std::path::Path;

use std::time::Instant;

use hb_core::takeover::{AutoFailback as TakeoverFailback, GroupDef, TakeoverConfig};
use hb_core::{MembershipConfig, Node};
use hb_io::daemon::StartReport;
use hb_io::signals::{Signal, SignalFd};
use hb_io::state;
use hb_log::{Level, Logger};

use crate::cli::{self, Command, Options};
use crate::jobs::Jobs;
use crate::probes::Probes;
use crate::run::{run_loop, wall_clock, LoopEnd, LoopSetup};
use crate::{exit, setup, COMPAT_VERSION, IMPLEMENTATION};

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
        Command::ExportCib { target } => hb_cib::run(&opts.config_dir, target),
        Command::Defaults { wiki } => {
            print!("{}", ha_config::defaults_table(wiki));
            exit::OK
        }
        Command::Status => status(&opts),
        Command::Kill => hb_io::daemon::stop_running(&opts.pid_file, None),
        Command::Reload => reload(&opts),
        Command::Start => start(&opts),
    }
}

/// `heartbeat-rs X.Y.Z, a replacement for heartbeat 2.0.8 (v1 mode)`.
pub fn implementation_line() -> String {
    format!("{IMPLEMENTATION}, a replacement for heartbeat {COMPAT_VERSION} (v1 mode)")
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
    let report = ha_config::config_test(
        &opts.config_dir,
        Some(&name),
        &ha_config::SystemResolver::new(),
    );
    print!("{}", report.text());
    report.exit_code()
}

fn reload(opts: &Options) -> i32 {
    match state::read_pidfile(&opts.pid_file) {
        state::PidStatus::Running(pid) => {
            match ha_config::load_dir(&opts.config_dir, &ha_config::SystemResolver::new()) {
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
            }
        }
        _ => start(opts),
    }
}

fn start(opts: &Options) -> i32 {
    let loaded = match ha_config::load_dir(&opts.config_dir, &ha_config::SystemResolver::new()) {
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
    let checks = match ha_config::load_checks_file(&opts.config_dir, &cfg.haresources) {
        Ok(c) => c,
        Err(errs) => {
            eprint!("{errs}");
            eprintln!("Configuration error, heartbeat not started.");
            return exit::NOT_CONFIGURED;
        }
    };
    let keys = match setup::key_ring(&cfg) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}\nAuthentication configuration error.");
            return exit::NOT_CONFIGURED;
        }
    };
    // -R: we are the re-exec of a running daemon, whose pid file names this very process.
    let own_pid = std::process::id() as i32;
    let restarting = opts.restart;
    match state::read_pidfile(&opts.pid_file) {
        state::PidStatus::Running(pid) if restarting && pid == own_pid => {}
        state::PidStatus::Running(pid) if restarting => {
            eprintln!("ERROR: Heartbeat already running [pid {pid}].");
            return exit::GENERIC;
        }
        state::PidStatus::Running(pid) => {
            eprintln!("heartbeat: already running [pid {pid}].");
            return exit::OK;
        }
        _ if restarting => {
            eprintln!("ERROR: heartbeat is not running.");
            return exit::NOT_CONFIGURED;
        }
        _ => {}
    }
    let logging = setup::logging(
        &cfg.hacf,
        &opts.config_dir,
        opts.foreground,
        debug_level(&cfg, opts),
    );
    for w in &loaded.warnings {
        eprintln!("WARN: {w}");
    }
    for w in &logging.warnings {
        eprintln!("WARN: {w}");
    }
    let legacy = legacy_warnings(&cfg, opts);
    for w in legacy {
        eprintln!("WARN: {w}");
    }
    // The node's identity, before daemonizing: whatever stops the start here reaches the
    // terminal and the exit status.
    let gen = match generation(&cfg, opts) {
        Ok(g) => g,
        Err(e) => return identity_failed(&e, "Cannot get/increment generation number"),
    };
    if let Some(line) = broken_generation_line(&gen) {
        eprintln!("WARN: {line}");
    }
    let (uuid, uuid_created, uuid_seed) = match node_uuid(&cfg, opts, &name) {
        Ok(u) => u,
        Err(e) => return identity_failed(&e, "getting uuid for the local node failed"),
    };
    // `coredumps`, applied where 2.0.8 applies it: before anything is started.
    let core_line = hb_io::daemon::set_core_dumps(cfg.hacf.coredumps);
    if let Some(line) = &core_line {
        eprintln!("WARN: {line}");
    }
    let mut report = StartReport::none();
    let mut chdir_failed = None;
    if !opts.foreground && !restarting {
        match hb_io::daemon::daemonize(&core_dir(&cfg, opts)) {
            Ok((d, r)) => {
                report = r;
                chdir_failed = d.chdir_failed;
            }
            Err(e) => {
                eprintln!("ERROR: cannot daemonize: {e}");
                return exit::GENERIC;
            }
        }
    }
    let log = Logger::new(logging.config);
    for (entity, level, text) in &logging.start_lines {
        log.log_as(entity, *level, true, text);
    }
    if let Some(line) = core_line {
        log.log(Level::Warn, &line);
    }
    if let Some((dir, e)) = chdir_failed {
        log.log(
            Level::Error,
            &format!("Cannot chdir to [{}]: {e}", dir.display()),
        );
    }
    if !restarting {
        if let Err(e) = state::create_pidfile(&opts.pid_file) {
            return start_failed(&log, &mut report, None, exit::PERMISSION, &e.to_string());
        }
    }
    for w in &loaded.warnings {
        log.log(Level::Warn, &w.to_string());
    }
    for w in legacy {
        log.log(Level::Warn, w);
    }
    for (path, mode) in log.readable_by_all() {
        log.log(
            Level::Warn,
            &format!(
                "{} is readable by every user (mode {mode:04o}; heartbeat 2.0.8 created its logs so): consider chmod o-r {}",
                path.display(),
                path.display()
            ),
        );
    }
    let identity = Identity {
        generation: gen,
        uuid,
        uuid_created,
        uuid_seed,
    };
    run(opts, &cfg, checks, keys, name, identity, &log, &mut report)
}

/// A state file that stops the start before daemonizing: said on stderr; exit status 4 for
/// a permission problem (as the original), else 1.
fn identity_failed(e: &state::StateError, what: &str) -> i32 {
    eprintln!("ERROR: {e}");
    eprintln!("ERROR: {what}: heartbeat not started.");
    if e.is_permission() {
        exit::PERMISSION
    } else {
        exit::GENERIC
    }
}

/// What [`start`] found of the node's identity before daemonizing, for the log.
struct Identity {
    generation: state::Generation,
    uuid: [u8; 16],
    uuid_created: bool,
    /// `uuidfrom nodename`: the seed of the name's UUID (2.0.8 logs `seed is N`).
    uuid_seed: Option<i32>,
}

/// The generation as `hbgenmethod` says, as 2.0.8: `file`, hb_generation read, incremented
/// and written back; `time`, the clock's seconds, hb_generation neither read nor written.
fn generation(
    cfg: &ha_config::Config,
    opts: &Options,
) -> Result<state::Generation, state::StateError> {
    match cfg.hacf.hbgenmethod {
        ha_config::GenMethod::File => state::increment_generation(&opts.state_dir),
        ha_config::GenMethod::Time => Ok(state::Generation {
            value: wall_clock(),
            was_missing: false,
            broken: None,
        }),
    }
}

/// The node's uuid as `uuidfrom` says, as 2.0.8: `file`, hb_uuid (created when missing;
/// `created` true); `nodename`, made from the node name (the seed returned), hb_uuid neither
/// read nor written.
fn node_uuid(
    cfg: &ha_config::Config,
    opts: &Options,
    name: &str,
) -> Result<([u8; 16], bool, Option<i32>), state::StateError> {
    match cfg.hacf.uuidfrom {
        ha_config::UuidFrom::File => {
            state::load_or_create_uuid(&opts.state_dir).map(|(u, created)| (u.0, created, None))
        }
        ha_config::UuidFrom::NodeName => {
            let (u, seed) = state::uuid_from_name(name);
            Ok((u.0, false, Some(seed)))
        }
    }
}

/// The daemon's working directory, where its core files land: `coreroot` (else
/// /var/lib/heartbeat/cores), then the user's name, as 2.0.8's `cl_cdtocoredir`.
fn core_dir(cfg: &ha_config::Config, opts: &Options) -> std::path::PathBuf {
    cfg.hacf
        .coreroot
        .clone()
        .unwrap_or_else(|| opts.state_dir.join("cores"))
        .join("root")
}

/// The debug level: ha.cf's `debug` line, which replaces the `-d` count as in 2.0.8, else
/// the `-d` count.
fn debug_level(cfg: &ha_config::Config, opts: &Options) -> u32 {
    cfg.hacf.debug.map_or(opts.debug, u32::from)
}

/// 2.0.8's start-up warnings for `auto_failback legacy` (also the mode of a ha.cf without an
/// auto_failback line), when the daemon manages resources.
fn legacy_warnings(cfg: &ha_config::Config, opts: &Options) -> &'static [&'static str] {
    if cfg.hacf.auto_failback == ha_config::AutoFailback::Legacy && !opts.no_resources {
        &[
            "Deprecated 'legacy' auto_failback option selected.",
            "Please convert to 'auto_failback on'.",
            "See documentation for conversion details.",
        ]
    } else {
        &[]
    }
}

/// The WARN line for an hb_generation that held no usable generation.
fn broken_generation_line(gen: &state::Generation) -> Option<String> {
    gen.broken.as_ref().map(|content| {
        format!(
            "BROKEN previous generation - starting at {} (hb_generation held {:?}; heartbeat 2.0.8 would start at 1)",
            gen.value, content
        )
    })
}

/// A start that fails after daemonizing: logged, and reported to the process that waits
/// for the daemon to start (it prints the reason and exits with `code`); the pid file we
/// made, if any, goes.
fn start_failed(
    log: &Logger,
    report: &mut StartReport,
    pid_file: Option<&Path>,
    code: i32,
    why: &str,
) -> i32 {
    log.log(Level::Error, why);
    log.log(Level::Error, "heartbeat not started.");
    if let Some(p) = pid_file {
        let _ = state::remove_pidfile(p);
    }
    report.failed(code, &format!("ERROR: {why}\nheartbeat not started."));
    code
}

/// `heartbeat -s [--json | --prometheus]`: the original's status line (and ours naming
/// the implementation), then what the running daemon last wrote of itself (see
/// [`crate::status`]); JSON and Prometheus print only their rendering.
fn status(opts: &Options) -> i32 {
    use crate::status::{self, Format};
    let name = this_node_name(&opts.config_dir);
    let (code, text) = hb_io::daemon::status_text(&opts.pid_file, "heartbeat", &name);
    let written = |file: &str| std::fs::read_to_string(opts.state_dir.join(file)).ok();
    match opts.status_format {
        Format::Text => {
            println!("{}", text.trim_end());
            // The original's line first (scripts read it), then which implementation this is.
            println!("{}", implementation_line());
            if code == exit::OK {
                if let Some(t) = written(status::TEXT_FILE) {
                    print!("{t}");
                }
            }
        }
        Format::Json => match written(status::JSON_FILE).filter(|_| code == exit::OK) {
            Some(t) => print!("{t}"),
            None => print!("{}", status::json_down(&name)),
        },
        Format::Prometheus => match written(status::PROM_FILE).filter(|_| code == exit::OK) {
            Some(t) => print!("{t}"),
            None => print!("{}", status::prometheus_down(&name)),
        },
    }
    code
}

/// The environment every script sees (HA_DIR, HA_FUNCS, HA_<directive>...).
fn script_env(opts: &Options, cfg: &ha_config::Config, name: &str) -> Vec<(String, String)> {
    let p = hb_runner::env::ScriptEnvParams {
        ha_dir: opts.config_dir.display().to_string(),
        cur_host: name.to_string(),
        logfile: cfg.hacf.logfile.as_ref().map(|p| p.display().to_string()),
        debugfile: cfg.hacf.debugfile.as_ref().map(|p| p.display().to_string()),
        logfacility: cfg.hacf.logfacility.clone(),
        use_logd: cfg.hacf.uses_logd(),
        directives: cfg.hacf.recorded.clone(),
        env_lines: cfg.hacf.env.clone(),
        debug_level: debug_level(cfg, opts),
    };
    hb_runner::env::base_env(&p)
}

fn takeover_config(cfg: &ha_config::Config, name: &str) -> TakeoverConfig {
    TakeoverConfig {
        me: name.to_string(),
        nodes: cfg.hacf.nodes.clone(),
        groups: cfg
            .haresources
            .groups
            .iter()
            .map(|g| GroupDef {
                node: g.node.clone(),
                key: g.key().to_string(),
                resources: g.resources.iter().map(|r| r.spec.clone()).collect(),
            })
            .collect(),
        auto_failback: match cfg.hacf.auto_failback {
            ha_config::AutoFailback::On => TakeoverFailback::On,
            ha_config::AutoFailback::Off => TakeoverFailback::Off,
            ha_config::AutoFailback::Legacy => TakeoverFailback::Legacy,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    opts: &Options,
    cfg: &ha_config::Config,
    checks: ha_config::ChecksFile,
    keys: hb_wire::KeyRing,
    name: String,
    identity: Identity,
    log: &Logger,
    report: &mut StartReport,
) -> i32 {
    let signals = match SignalFd::new() {
        Ok(s) => s,
        Err(e) => {
            return start_failed(
                log,
                report,
                Some(&opts.pid_file),
                exit::GENERIC,
                &format!("cannot set up signals: {e}"),
            )
        }
    };
    let gen = identity.generation;
    if gen.was_missing {
        log.log(
            Level::Warn,
            &format!("No Previous generation - starting at {}", gen.value),
        );
    }
    if let Some(line) = broken_generation_line(&gen) {
        log.log(Level::Warn, &line);
    }
    log.log(Level::Info, &format!("Heartbeat generation: {}", gen.value));
    if let Some(seed) = identity.uuid_seed {
        log.log(Level::Info, &format!("seed is {seed}"));
    }
    if identity.uuid_created {
        log.log(
            Level::Info,
            "No uuid found for current node - generating a new uuid.",
        );
    }
    let uuid = identity.uuid;
    log.log(
        Level::Info,
        &format!(
            "Configuration validated. Starting heartbeat {COMPAT_VERSION} ({})",
            implementation_line()
        ),
    );
    if opts.verbose {
        // -v: the parsed configuration, as the original logs it at start.
        for line in ha_config::render_hacf(&cfg.hacf).lines() {
            log.log(Level::Info, &format!("ha.cf: {line}"));
        }
        for g in &cfg.haresources.groups {
            let rs: Vec<&str> = g.resources.iter().map(|r| r.spec.as_str()).collect();
            log.log(
                Level::Info,
                &format!("haresources: {} {}", g.node, rs.join(" ")),
            );
        }
    }
    // 2.0.8's package ships /var/run/heartbeat/crm (0750 hacluster:haclient), where the
    // respawned dopd (running as hacluster) opens DRBD's outdater socket; /var/run is a
    // tmpfs on current systems, so make it when it is missing.
    let crm = opts
        .pid_file
        .parent()
        .unwrap_or(std::path::Path::new("/var/run"))
        .join("heartbeat/crm");
    if !crm.exists() && std::fs::create_dir_all(&crm).is_ok() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&crm, std::fs::Permissions::from_mode(0o750));
        if let (Some(uid), Some(gid)) = (
            hb_sys::user_by_name("hacluster").map(|u| u.uid),
            hb_sys::group_by_name("haclient"),
        ) {
            let _ = std::os::unix::fs::chown(&crm, Some(uid), Some(gid));
        }
    }
    let manage = !opts.no_resources;
    if manage {
        // As the original: the resource scripts' scratch directory starts empty at every
        // start (mode 01777), so no "running" mark of a previous run survives.
        let rsctmp = opts
            .pid_file
            .parent()
            .unwrap_or(std::path::Path::new("/var/run"))
            .join("heartbeat/rsctmp");
        let _ = std::fs::remove_dir_all(&rsctmp);
        if std::fs::create_dir_all(&rsctmp).is_ok() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&rsctmp, std::fs::Permissions::from_mode(0o1777));
        }
    }
    let membership = MembershipConfig {
        name: name.clone(),
        nodes: cfg.hacf.nodes.clone(),
        ping_nodes: cfg.hacf.ping.len() + cfg.hacf.ping_groups.len(),
        timing: setup::timing(cfg),
        hopfudge: cfg.hacf.hopfudge,
        keys,
        send_form: setup::send_form(cfg),
        uuid,
        generation: gen.value,
        wall_clock_at_start: wall_clock(),
        seed: wall_clock() ^ u64::from(std::process::id()),
        log_bad_packets: cfg.hacf.log_badpack,
    };
    let (jobs, fifo) = if manage {
        let runner = match hb_runner::Runner::new(script_env(opts, cfg, &name)) {
            Ok(r) => r,
            Err(e) => {
                return start_failed(
                    log,
                    report,
                    Some(&opts.pid_file),
                    exit::GENERIC,
                    &format!("cannot set up the process runner: {e}"),
                )
            }
        };
        let groups = cfg
            .haresources
            .groups
            .iter()
            .map(|g| {
                (
                    g.key().to_string(),
                    (
                        g.node.clone(),
                        g.resources.iter().map(|r| r.spec.clone()).collect(),
                    ),
                )
            })
            .collect();
        let fifo_path = opts.state_dir.join("fifo");
        let fifo = match hb_io::fifo::Fifo::open(&fifo_path) {
            Ok((f, created)) => {
                if created {
                    log.log(
                        Level::Info,
                        &format!("Creating FIFO {}.", fifo_path.display()),
                    );
                }
                f
            }
            Err(e) => {
                return start_failed(
                    log,
                    report,
                    Some(&opts.pid_file),
                    exit::GENERIC,
                    &format!("cannot create FIFO {}: {e}", fifo_path.display()),
                )
            }
        };
        (
            Some(Jobs::new(runner, groups, &opts.config_dir)),
            Some(fifo),
        )
    } else {
        (None, None)
    };
    // The digests of haresources and checks our statuses carry (hb_core::cfgsync).
    let cfgsync = hb_core::cfgsync::ConfigSync::new(
        &name,
        crate::cfgdigest::contents(&cfg.haresources, &checks),
    );
    let ha_config::ChecksFile {
        checks,
        arp_refresh,
    } = checks;
    for a in &arp_refresh {
        log.log(
            Level::Info,
            &format!(
                "ARP refresh of {} every {} ms while it runs here",
                a.group_key,
                a.interval.as_millis()
            ),
        );
    }
    let arp_refresh = hb_core::arprefresh::ArpRefresh::new(
        arp_refresh.into_iter().map(|a| (a.group_key, a.interval)),
    );
    let probes = if manage && !checks.is_empty() {
        match hb_runner::Runner::new(script_env(opts, cfg, &name)) {
            Ok(r) => {
                log.log(
                    Level::Info,
                    &format!("{} service check(s) configured", checks.len()),
                );
                Some(Probes::new(checks, r, Instant::now()))
            }
            Err(e) => {
                return start_failed(
                    log,
                    report,
                    Some(&opts.pid_file),
                    exit::GENERIC,
                    &format!("cannot set up the check runner: {e}"),
                )
            }
        }
    } else {
        None
    };
    let pinger = match crate::pinger::Pinger::new(cfg, &setup::timing(cfg), Instant::now(), log) {
        Ok(p) => p,
        Err(e) => {
            log.log(
                Level::Error,
                &format!("cannot open the ICMP socket for ping nodes: {e}"),
            );
            None
        }
    };
    let respawner = if cfg.hacf.respawn.is_empty() {
        None
    } else {
        match hb_runner::Runner::new(script_env(opts, cfg, &name)) {
            Ok(r) => Some(crate::respawner::Respawner::new(cfg, r, log)),
            Err(e) => {
                log.log(Level::Error, &format!("cannot set up respawn clients: {e}"));
                None
            }
        }
    };
    let mut media = Vec::new();
    for (spec, port) in setup::media(cfg) {
        match hb_io::media::Medium::open(&spec, port) {
            Ok(m) => {
                log.log(Level::Info, &m.start_log_line());
                media.push(m);
            }
            Err(e) => {
                return start_failed(
                    log,
                    report,
                    Some(&opts.pid_file),
                    exit::GENERIC,
                    &format!("cannot open {} medium on {}: {e}", spec.kind(), spec.dev()),
                )
            }
        }
    }
    // The watchdog device, as the original's master opens it (a device that cannot be
    // opened is logged and the daemon runs on without it, as the original).
    let watchdog = cfg.hacf.watchdog.as_ref().and_then(|path| {
        let (w, lines) = hb_io::watchdog::Watchdog::open(path, cfg.hacf.deadtime);
        for (level, line) in lines {
            log.log(level, &line);
        }
        w
    });
    // The STONITH device: resets and checks run as `stonith` commands from the loop.
    let run_dir = opts
        .pid_file
        .parent()
        .unwrap_or(std::path::Path::new("/var/run"))
        .join("heartbeat");
    let fencer = if manage {
        match crate::fencer::Device::from_config(cfg, &name, &run_dir) {
            Ok(None) => None,
            Ok(Some(device)) => match hb_runner::Runner::new(script_env(opts, cfg, &name)) {
                Ok(r) => {
                    log.log(
                        Level::Info,
                        &format!(
                            "STONITH device [{}]: {} -t {}",
                            device.id,
                            device.command.display(),
                            device.kind
                        ),
                    );
                    Some(crate::fencer::Fencer::new(r, device))
                }
                Err(e) => {
                    return start_failed(
                        log,
                        report,
                        Some(&opts.pid_file),
                        exit::GENERIC,
                        &format!("cannot set up the STONITH runner: {e}"),
                    )
                }
            },
            Err(e) => {
                return start_failed(log, report, Some(&opts.pid_file), exit::NOT_CONFIGURED, &e)
            }
        }
    } else {
        None
    };
    let takeover = manage.then(|| takeover_config(cfg, &name));
    let mut node = Node::new(membership, takeover, Instant::now());
    if let Some(t) = node.takeover.as_mut() {
        t.set_fencing(fencer.is_some());
    }
    let setup = LoopSetup {
        node,
        media,
        jobs,
        fifo,
        nice_failback: cfg.hacf.auto_failback != ha_config::AutoFailback::Legacy,
        auto_failback: cfg.hacf.auto_failback == ha_config::AutoFailback::On,
        probes,
        status_dir: Some(opts.state_dir.clone()),
        cfgsync,
        arp_refresh,
        pinger,
        respawner,
        watchdog,
        fencer,
        cfg: cfg.clone(),
        api_path: Some(
            opts.pid_file
                .parent()
                .unwrap_or(std::path::Path::new("/var/run"))
                .join("heartbeat/register"),
        ),
        api_auth: hb_api::sys::auth_table(&cfg.hacf.effective_apiauth()),
        reload: crate::reload::Reloader::new(&opts.config_dir, cfg),
    };
    // Everything that can stop the start is done: the process that started us may go.
    report.ready();
    // As the original's master control process: real-time scheduling and locked memory
    // once everything is set up (children started later get normal scheduling back).
    for (level, line) in hb_io::realtime::make_realtime(cfg.hacf.realtime, cfg.hacf.rtprio) {
        log.log(level, &line);
    }
    match run_loop(setup, log, &signals) {
        Ok(LoopEnd::Exit(code)) => code,
        Ok(LoopEnd::Restart) => restart_exec(log, &signals),
        Err(e) => {
            log.log(Level::Error, &format!("{e}"));
            exit::GENERIC
        }
    }
}

/// Re-executes this program with `-R` in the same process (pid file unchanged), unless a
/// stop (TERM, INT) came meanwhile: a stop always wins. The handled signals stay blocked
/// across the exec, so one that comes later is still pending for the new image, which then
/// stops.
fn restart_exec(log: &Logger, signals: &SignalFd) -> i32 {
    use std::os::unix::process::CommandExt;
    if signals
        .read_pending()
        .is_ok_and(|s| s.iter().any(|s| matches!(s, Signal::Term | Signal::Int)))
    {
        log.log(
            Level::Info,
            "Heartbeat restart cancelled: shutdown requested meanwhile.",
        );
        return exit::OK;
    }
    log.log(Level::Info, "Performing heartbeat restart exec.");
    let mut args: Vec<String> = std::env::args().skip(1).filter(|a| a != "-R").collect();
    args.push("-R".into());
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let err = std::process::Command::new(exe).args(&args).exec();
    log.log(Level::Error, &format!("restart exec failed: {err}"));
    exit::GENERIC
}
