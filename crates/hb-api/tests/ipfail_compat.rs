//! Our ipfail beside the original's in a two-node lab of original daemons (network
//! namespaces, root only), run by hand:
//! `cargo test -p hb-api --test ipfail_compat -- --ignored --nocapture`.
//!
//! It runs tests/ipfail-compat.sh: for each pairing of ipfails (orig/orig, ours/orig,
//! orig/ours, ours/ours on nodes a/b) a's link to the ping node is cut and the VIP must move
//! to b, come back when the link does, and stay on a when b is cut off. The script prints
//! the times it measured. `PAIRS` and `ROUNDS` in the environment are passed on.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs root and the original heartbeat (a lab in network namespaces): compat-tests/test-all.sh runs it as root with --include-ignored"]
fn ipfail_in_the_lab() {
    // SAFETY: no memory effects.
    assert!(
        unsafe { libc::geteuid() } == 0,
        "the lab needs root (network namespaces)"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipfail-compat.sh");
    let st = Command::new("bash")
        .arg(&script)
        .env("OURS_IPFAIL", env!("CARGO_BIN_EXE_ipfail"))
        .status()
        .unwrap();
    assert!(st.success(), "{} failed", script.display());
}
