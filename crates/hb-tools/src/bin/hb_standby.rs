//! `hb_standby [all|local|foreign|failback]`: give resource groups to the other node.
//! See the crate documentation of `hb_tools`.

fn main() {
    std::process::exit(hb_tools::main_for(hb_tools::Tool::Standby));
}
