//! `drbd-peer-outdater`: see `hb_dopd::outdater`.

fn main() {
    std::process::exit(hb_dopd::outdater::main());
}
