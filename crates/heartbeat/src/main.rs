//! `heartbeat`: a drop-in replacement for the heartbeat 2.0.8 daemon (v1 mode).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(hb_daemon::main_with(args));
}
