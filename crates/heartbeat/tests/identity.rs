//! What the binary says about itself: `-V` prints the version scripts parse (the original's),
//! `-s` adds which implementation this is after the original's status line.

use std::process::Command;

fn heartbeat(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_heartbeat"))
        .args(args)
        .output()
        .expect("run heartbeat");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn version_is_the_originals() {
    assert_eq!(heartbeat(&["-V"]), (0, "2.0.8\n".to_string()));
}

#[test]
fn status_names_the_implementation_after_the_originals_line() {
    let dir = std::env::temp_dir().join(format!("hb-identity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid = dir.join("heartbeat.pid");
    let (code, out) = heartbeat(&["-s", "--pid-file", pid.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 3, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "heartbeat is stopped. No process");
    assert_eq!(
        lines[1],
        format!(
            "heartbeat-rs {}, a replacement for heartbeat 2.0.8 (v1 mode)",
            env!("CARGO_PKG_VERSION")
        )
    );
}
