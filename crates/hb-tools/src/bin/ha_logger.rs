//! `ha_logger [-D ha-log/ha-debug] [-t tag] [message ...]`: a line to the cluster's log.
//! See `hb_tools::ha_logger`.

fn main() {
    std::process::exit(hb_tools::ha_logger::main());
}
