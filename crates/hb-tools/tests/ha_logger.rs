//! The built `ha_logger`, and shellfuncs' `ha_log`/`ha_debug` through it, writing where
//! logd.cf (beside `$HA_DIR`) says, as 2.0.8's ha_logd would: whether or not a daemon runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const HA_LOGGER: &str = env!("CARGO_BIN_EXE_ha_logger");

struct Lab(PathBuf);

impl Lab {
    /// A configuration directory `ha.d` with logd.cf beside it naming two files here.
    fn new(tag: &str) -> Lab {
        let d =
            std::env::temp_dir().join(format!("hb-tools-ha_logger-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("ha.d")).unwrap();
        std::fs::write(
            d.join("logd.cf"),
            format!(
                "# as an admin writes it\nlogfile {0}/ha-log\ndebugfile {0}/ha-debug\nlogfacility none\n",
                d.display()
            ),
        )
        .unwrap();
        Lab(d)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_default()
    }

    fn ha_logger(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(HA_LOGGER)
            .args(args)
            .env("HA_DIR", self.0.join("ha.d"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ha_logger");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `ENTITY[PID]: YYYY/MM/DD_HH:MM:SS TEXT` with any pid; `TEXT` after the stamp.
fn entity_and_text(line: &str) -> (String, String) {
    let (head, rest) = line.split_once("]: ").unwrap_or_else(|| panic!("{line:?}"));
    let entity = head.rsplit_once('[').map_or(head, |x| x.0).to_string();
    let (stamp, text) = rest.split_at(19);
    assert_eq!(stamp.as_bytes()[4], b'/', "{line:?}");
    assert_eq!(stamp.as_bytes()[10], b'_', "{line:?}");
    (entity, text.strip_prefix(' ').unwrap_or(text).to_string())
}

fn lines(text: &str) -> Vec<(String, String)> {
    text.lines().map(entity_and_text).collect()
}

#[test]
fn ha_logger_writes_where_logd_cf_says() {
    let lab = Lab::new("bin");
    let o = lab.ha_logger(&["-t", "myapp", "hello", "world"], "");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = lab.ha_logger(&["-D", "ha-debug", "a", "debug", "line"], "");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let o = lab.ha_logger(&["-t", "from-stdin"], "one\ntwo\n");
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        lines(&lab.read("ha-log")),
        [
            s("myapp", "hello world"),
            s("from-stdin", "one"),
            s("from-stdin", "two")
        ]
    );
    assert_eq!(
        lines(&lab.read("ha-debug")),
        [
            s("myapp", "hello world"),
            s("cluster", "a debug line"),
            s("from-stdin", "one"),
            s("from-stdin", "two")
        ]
    );
    // The usage, on stdout, exit 1: for -h, a bad -D, nothing to log.
    for args in [&["-h"][..], &["-D", "ha-info", "x"], &[""]] {
        let o = lab.ha_logger(args, "");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "usage: ha_logger [-t tag] [-D <ha-log/ha-debug>] [message]\n"
        );
    }
    // Nowhere to write: exit 1, so that scripts fall back to their own destinations.
    std::fs::write(
        lab.0.join("logd.cf"),
        "logfile /no/such/dir/log\nlogfacility none\n",
    )
    .unwrap();
    let o = lab.ha_logger(&["lost"], "");
    assert_eq!(o.status.code(), Some(1), "{o:?}");
}

#[test]
fn shellfuncs_ha_log_goes_through_ha_logger_with_logd() {
    let lab = Lab::new("shellfuncs");
    let shellfuncs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc-ha.d/shellfuncs");
    let bin = Path::new(HA_LOGGER).parent().unwrap();
    let run = |logd: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(". \"$0\"; ha_log \"INFO: hello from a script\"; ha_debug \"a debug line\"")
            .arg(&shellfuncs)
            .env("HA_LOGD", logd)
            .env("HA_BIN", bin)
            .env("HA_DIR", lab.0.join("ha.d"))
            .env("HA_LOGTAG", "myscript[7]")
            .env("HA_LOGFILE", lab.0.join("own-log"))
            .env("HA_DEBUGLOG", lab.0.join("own-debug"))
            .env_remove("HA_LOGFACILITY")
            .output()
            .unwrap()
    };
    let o = run("yes");
    assert!(o.status.success() && o.stderr.is_empty(), "{o:?}");
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        lines(&lab.read("ha-log")),
        [s("myscript[7]", "INFO: hello from a script")]
    );
    assert_eq!(
        lines(&lab.read("ha-debug")),
        [
            s("myscript[7]", "INFO: hello from a script"),
            s("myscript[7]", "a debug line")
        ]
    );
    assert_eq!(
        lab.read("own-log"),
        "",
        "logd took the line: the script's own file stays empty"
    );
    assert_eq!(lab.read("own-debug"), "");
    // HA_LOGD=no: the script's own files, in shellfuncs' format.
    let o = run("no");
    assert!(o.status.success(), "{o:?}");
    assert!(
        lab.read("own-log").starts_with("myscript[7]:\t"),
        "{}",
        lab.read("own-log")
    );
    assert_eq!(lines(&lab.read("ha-log")).len(), 1, "logd's file unchanged");
}
