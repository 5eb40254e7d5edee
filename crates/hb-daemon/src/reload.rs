//! SIGHUP: the configuration files are read again on a helper thread, never in a turn of
//! the loop. Reading ha.cf resolves host names (`ucast`, `ping`) and checking it looks up
//! users and groups (`respawn`, `apiauth`): with a slow or hung name service that takes
//! seconds, and a loop that waited for it sent no heartbeat meanwhile (deadtime 1 s: the peer
//! declared the node dead). The thread hands its result back through a channel and wakes the
//! loop with a [`mio::Waker`]; the loop only compares it with the running configuration.
//!
//! One read at a time: a SIGHUP during a read asks for one more read after it.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;

use hb_log::{Level, Logger};

use crate::run::HupAction;
use crate::setup;

/// What the helper thread read.
struct Reread {
    loaded: Result<ha_config::Loaded, ha_config::ConfigErrors>,
    /// The checks file judged against the new haresources (when ha.cf and haresources are good).
    checks: Result<(), ha_config::ConfigErrors>,
    /// The checks file's bytes (to see whether it changed).
    checks_bytes: Option<Vec<u8>>,
}

fn read_files(dir: &Path) -> Reread {
    let loaded = ha_config::load_dir(dir, &ha_config::SystemResolver::new());
    let checks = match &loaded {
        Ok(l) => ha_config::load_checks(dir, &l.config.haresources).map(|_| ()),
        Err(_) => Ok(()),
    };
    Reread {
        loaded,
        checks,
        checks_bytes: std::fs::read(dir.join(ha_config::checks::CHECKS_FILE)).ok(),
    }
}

/// The ha.cf timers a reload applies in place: no restart, the groups stay where they are.
pub const LIVE_DIRECTIVES: &[&str] = &["keepalive", "deadtime", "warntime", "initdead", "deadping"];

/// When `new` differs from `old` in [`LIVE_DIRECTIVES`] only (their values; the lines of
/// every other directive as they were): the names that changed. `None` when anything else
/// changed, or nothing did. A changed deadtime with a `watchdog` is not live: the
/// watchdog's timeout follows deadtime and is set when the device is opened.
pub fn live_changes(old: &ha_config::HaCf, new: &ha_config::HaCf) -> Option<Vec<&'static str>> {
    let others = |h: &ha_config::HaCf| -> Vec<(String, String)> {
        h.recorded
            .iter()
            .filter(|(k, _)| !LIVE_DIRECTIVES.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    if others(old) != others(new) {
        return None;
    }
    let mut probe = new.clone();
    probe.recorded = old.recorded.clone();
    probe.keepalive = old.keepalive;
    probe.deadtime = old.deadtime;
    probe.warntime = old.warntime;
    probe.initdead = old.initdead;
    probe.deadping = old.deadping;
    if probe != *old {
        return None;
    }
    if new.watchdog.is_some() && new.deadtime != old.deadtime {
        return None;
    }
    let changed: Vec<&'static str> = LIVE_DIRECTIVES
        .iter()
        .copied()
        .filter(|k| old.parameter(k) != new.parameter(k))
        .collect();
    (!changed.is_empty()).then_some(changed)
}

/// The configuration as the daemon runs it, and the reread in progress.
pub struct Reloader {
    dir: PathBuf,
    current: ha_config::Config,
    current_checks: Option<Vec<u8>>,
    waker: Option<Arc<mio::Waker>>,
    reading: Option<Receiver<Reread>>,
    again: bool,
}

impl Reloader {
    /// For the configuration `cfg` read from `dir` at start (the checks file is read now).
    pub fn new(dir: &Path, cfg: &ha_config::Config) -> Reloader {
        Reloader {
            dir: dir.to_path_buf(),
            current: cfg.clone(),
            current_checks: std::fs::read(dir.join(ha_config::checks::CHECKS_FILE)).ok(),
            waker: None,
            reading: None,
            again: false,
        }
    }

    /// The waker the helper thread uses to wake the loop when its read is done.
    pub fn set_waker(&mut self, waker: Arc<mio::Waker>) {
        self.waker = Some(waker);
    }

    /// Whether a read is under way.
    pub fn busy(&self) -> bool {
        self.reading.is_some()
    }

    /// SIGHUP: read the files again on a helper thread (returns at once). During a read,
    /// one more read is done after it.
    pub fn hup(&mut self, log: &Logger) {
        if self.reading.is_some() {
            self.again = true;
            log.log(
                Level::Info,
                "Configuration reread already under way: the files will be read once more after it.",
            );
            return;
        }
        let (tx, rx) = mpsc::channel();
        let dir = self.dir.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("hb-reload".into())
            .spawn(move || {
                let r = read_files(&dir);
                if tx.send(r).is_ok() {
                    if let Some(w) = waker {
                        let _ = w.wake();
                    }
                }
            });
        match spawned {
            Ok(_) => self.reading = Some(rx),
            Err(e) => log.log(
                Level::Error,
                &format!("cannot start a thread to reread the configuration: {e}; configuration NOT reloaded"),
            ),
        }
    }

    /// After a wake-up: the verdict on a finished read (its lines logged), if one finished.
    /// A read asked for meanwhile is started.
    pub fn poll(&mut self, log: &Logger) -> Option<HupAction> {
        let r = match self.reading.as_ref()?.try_recv() {
            Ok(r) => r,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => {
                self.reading = None;
                log.log(
                    Level::Error,
                    "the configuration reread ended without a result: configuration NOT reloaded",
                );
                return Some(HupAction::Keep);
            }
        };
        self.reading = None;
        let action = self.verdict(r, log);
        if std::mem::take(&mut self.again) {
            self.hup(log);
        }
        Some(action)
    }

    /// A refused configuration changes nothing; a ha.cf whose timers alone changed
    /// ([`live_changes`]) is applied in place (with new keys if authkeys changed too); any
    /// other change to ha.cf, haresources or the checks file restarts the daemon in place;
    /// a changed authkeys alone only replaces the keys.
    fn verdict(&mut self, r: Reread, log: &Logger) -> HupAction {
        let refused = |errs: &ha_config::ConfigErrors| {
            for e in &errs.0 {
                log.log(Level::Error, &e.to_string());
            }
            log.log(Level::Error, "Config errors: configuration NOT reloaded");
            HupAction::Keep
        };
        let new = match r.loaded {
            Err(errs) => return refused(&errs),
            Ok(l) => l.config,
        };
        if let Err(errs) = r.checks {
            return refused(&errs);
        }
        let same_rest =
            new.haresources == self.current.haresources && r.checks_bytes == self.current_checks;
        let live = if same_rest && new.hacf != self.current.hacf {
            live_changes(&self.current.hacf, &new.hacf)
        } else {
            None
        };
        if let Some(changed) = live {
            let keys = if new.authkeys != self.current.authkeys {
                match setup::key_ring(&new) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        log.log(
                            Level::Error,
                            &format!("authkeys: {e}; configuration NOT reloaded"),
                        );
                        return HupAction::Keep;
                    }
                }
            } else {
                None
            };
            let said: Vec<String> = changed
                .iter()
                .map(|k| {
                    let v = |h: &ha_config::HaCf| h.parameter(k).unwrap_or("-").to_string();
                    format!("{k} {} -> {}", v(&self.current.hacf), v(&new.hacf))
                })
                .collect();
            log.log(
                Level::Info,
                &format!(
                    "Configuration reloaded without a restart: {}{} (the groups stay where they are)",
                    said.join(", "),
                    if keys.is_some() { "; authkeys changed: new keys in use" } else { "" }
                ),
            );
            self.current = new.clone();
            return HupAction::Apply {
                cfg: Box::new(new),
                changed,
                keys,
            };
        }
        if new.hacf != self.current.hacf || !same_rest {
            self.current_checks = r.checks_bytes;
            log.log(Level::Info, "Heartbeat restart triggered.");
            HupAction::Restart
        } else if new.authkeys != self.current.authkeys {
            match setup::key_ring(&new) {
                Ok(k) => {
                    log.log(Level::Info, "authkeys changed: new keys in use.");
                    self.current = new;
                    HupAction::NewKeys(k)
                }
                Err(e) => {
                    log.log(Level::Error, &format!("authkeys: {e}; keys NOT changed"));
                    HupAction::Keep
                }
            }
        } else {
            log.log(Level::Info, "Configuration unchanged.");
            HupAction::Keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hb_log::LogConfig;
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};

    const HA_CF: &str = "keepalive 200ms\ndeadtime 1\nwarntime 500ms\ninitdead 2\nudpport 694\nucast lo 127.0.0.1\nnode a\nnode b\n";

    struct Fixture {
        dir: PathBuf,
        poll: mio::Poll,
        log: Logger,
        logfile: PathBuf,
    }

    impl Fixture {
        fn new(tag: &str) -> Fixture {
            let dir =
                std::env::temp_dir().join(format!("hb-daemon-reload-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("etc")).unwrap();
            let etc = dir.join("etc");
            std::fs::write(etc.join("ha.cf"), HA_CF).unwrap();
            std::fs::write(etc.join("haresources"), "").unwrap();
            std::fs::write(etc.join("authkeys"), "auth 1\n1 crc\n").unwrap();
            std::fs::set_permissions(etc.join("authkeys"), std::fs::Permissions::from_mode(0o600))
                .unwrap();
            let logfile = dir.join("ha-log");
            let log = Logger::new(LogConfig {
                logfile: Some(logfile.clone()),
                ..LogConfig::default()
            });
            Fixture {
                dir,
                poll: mio::Poll::new().unwrap(),
                log,
                logfile,
            }
        }

        fn etc(&self) -> PathBuf {
            self.dir.join("etc")
        }

        fn reloader(&self) -> Reloader {
            let cfg = ha_config::load_dir(&self.etc(), &ha_config::SystemResolver::new())
                .expect("good config")
                .config;
            let mut r = Reloader::new(&self.etc(), &cfg);
            r.set_waker(Arc::new(
                mio::Waker::new(self.poll.registry(), mio::Token(7)).unwrap(),
            ));
            r
        }

        /// Waits (at most `max`) for the waker, then asks for the verdict.
        fn verdict(&mut self, r: &mut Reloader, max: Duration) -> Option<HupAction> {
            let end = Instant::now() + max;
            let mut events = mio::Events::with_capacity(4);
            while Instant::now() < end {
                self.poll
                    .poll(&mut events, Some(end - Instant::now()))
                    .unwrap();
                if events.iter().any(|e| e.token() == mio::Token(7)) {
                    if let Some(a) = r.poll(&self.log) {
                        return Some(a);
                    }
                }
            }
            None
        }

        fn logged(&self) -> String {
            std::fs::read_to_string(&self.logfile).unwrap_or_default()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn verdicts_of_a_reread() {
        let mut f = Fixture::new("verdicts");
        let mut r = f.reloader();
        r.hup(&f.log);
        let a = f.verdict(&mut r, Duration::from_secs(10));
        assert!(matches!(a, Some(HupAction::Keep)), "unchanged");
        assert!(f.logged().contains("Configuration unchanged."));

        std::fs::write(f.etc().join("authkeys"), "auth 2\n2 sha1 second\n").unwrap();
        r.hup(&f.log);
        assert!(matches!(
            f.verdict(&mut r, Duration::from_secs(10)),
            Some(HupAction::NewKeys(_))
        ));

        std::fs::write(f.etc().join("ha.cf"), format!("{HA_CF}frobnicate yes\n")).unwrap();
        r.hup(&f.log);
        assert!(matches!(
            f.verdict(&mut r, Duration::from_secs(10)),
            Some(HupAction::Keep)
        ));
        assert!(f.logged().contains("unknown directive 'frobnicate'"));
        assert!(f.logged().contains("configuration NOT reloaded"));

        // Timers alone: applied in place, with the new keys when authkeys changed too.
        std::fs::write(
            f.etc().join("ha.cf"),
            HA_CF
                .replace("warntime 500ms", "warntime 600ms")
                .replace("keepalive 200ms", "keepalive 100ms"),
        )
        .unwrap();
        std::fs::write(f.etc().join("authkeys"), "auth 3\n3 md5 third\n").unwrap();
        r.hup(&f.log);
        match f.verdict(&mut r, Duration::from_secs(10)) {
            Some(HupAction::Apply { cfg, changed, keys }) => {
                assert_eq!(changed, vec!["keepalive", "warntime"]);
                assert_eq!(cfg.hacf.keepalive, Duration::from_millis(100));
                assert_eq!(cfg.hacf.warntime, Duration::from_millis(600));
                assert!(keys.is_some(), "authkeys changed too");
            }
            _ => panic!("timers alone must be applied in place"),
        }
        assert!(f.logged().contains(
            "Configuration reloaded without a restart: keepalive 200ms -> 100ms, warntime 500ms -> 600ms; authkeys changed: new keys in use"
        ));
        // The same again: unchanged (the applied configuration is the running one).
        r.hup(&f.log);
        assert!(matches!(
            f.verdict(&mut r, Duration::from_secs(10)),
            Some(HupAction::Keep)
        ));
        // Anything else changed with them: a restart in place, as before.
        std::fs::write(
            f.etc().join("ha.cf"),
            HA_CF.replace("keepalive 200ms", "keepalive 300ms") + "hopfudge 2\n",
        )
        .unwrap();
        r.hup(&f.log);
        assert!(matches!(
            f.verdict(&mut r, Duration::from_secs(10)),
            Some(HupAction::Restart)
        ));
    }

    #[test]
    fn which_changes_are_live() {
        let parse = |text: &str| {
            ha_config::parse_hacf(text, "ha.cf", &ha_config::NoResolver)
                .0
                .expect("good ha.cf")
        };
        let base = parse(HA_CF);
        let live = |text: &str| live_changes(&base, &parse(text));
        assert_eq!(live(HA_CF), None, "nothing changed");
        assert_eq!(
            live(
                &HA_CF
                    .replace("deadtime 1", "deadtime 3")
                    .replace("initdead 2", "initdead 4")
            ),
            Some(vec!["deadtime", "initdead", "deadping"]),
            "deadping follows deadtime when ha.cf sets none"
        );
        assert_eq!(
            live(&format!("{HA_CF}deadping 5\n")),
            Some(vec!["deadping"])
        );
        // Written otherwise, the same value: no change of value, but a change of text.
        assert_eq!(
            live(&HA_CF.replace("keepalive 200ms", "keepalive 0.2")),
            Some(vec!["keepalive"])
        );
        for other in [
            format!("{HA_CF}node c\n"),
            format!("{HA_CF}auto_failback off\n"),
            format!("{HA_CF}hopfudge 2\n"),
            HA_CF.replace("ucast lo 127.0.0.1", "bcast lo"),
            HA_CF.replace("udpport 694", "udpport 695"),
            HA_CF.replace("keepalive 200ms", "keepalive 100ms") + "debugfile /tmp/x\n",
        ] {
            assert_eq!(live(&other), None, "not live: {other}");
        }
        // deadtime follows the watchdog's timeout, set when the device is opened.
        let wd = format!("{HA_CF}watchdog /dev/watchdog\n");
        let base_wd = parse(&wd);
        assert_eq!(
            live_changes(&base_wd, &parse(&wd.replace("deadtime 1", "deadtime 2"))),
            None
        );
        assert_eq!(
            live_changes(
                &base_wd,
                &parse(&wd.replace("warntime 500ms", "warntime 700ms"))
            ),
            Some(vec!["warntime"])
        );
    }

    /// A read that blocks (here ha.cf is a FIFO nobody writes yet, standing in for a name
    /// service that does not answer) does not block the caller: `hup` returns at once, the
    /// loop would go on, and the verdict comes when the read ends. A SIGHUP meanwhile asks
    /// for one more read after it.
    #[test]
    fn a_read_that_hangs_does_not_hold_the_loop() {
        let mut f = Fixture::new("hang");
        let mut r = f.reloader();
        let fifo = f.etc().join("ha.cf");
        std::fs::remove_file(&fifo).unwrap();
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let t0 = Instant::now();
        r.hup(&f.log);
        r.hup(&f.log);
        assert!(
            t0.elapsed() < Duration::from_millis(500),
            "hup returned after {:?}",
            t0.elapsed()
        );
        assert!(r.busy());
        assert!(
            f.verdict(&mut r, Duration::from_millis(300)).is_none(),
            "nothing while the read hangs"
        );
        assert!(f.logged().contains("already under way"));
        // The "name service" answers: the read ends (ha.cf unchanged).
        let writer = std::thread::spawn(move || std::fs::write(&fifo, HA_CF).unwrap());
        let a = f.verdict(&mut r, Duration::from_secs(10));
        writer.join().unwrap();
        assert!(matches!(a, Some(HupAction::Keep)), "unchanged");
        // The second SIGHUP's read follows (it hangs on the FIFO again).
        assert!(
            r.busy(),
            "one more read after the SIGHUP that came meanwhile"
        );
        let fifo = f.etc().join("ha.cf");
        let writer = std::thread::spawn(move || std::fs::write(&fifo, HA_CF).unwrap());
        assert!(matches!(
            f.verdict(&mut r, Duration::from_secs(10)),
            Some(HupAction::Keep)
        ));
        writer.join().unwrap();
        assert!(!r.busy());
    }
}
