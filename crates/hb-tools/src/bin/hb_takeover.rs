//! `hb_takeover [all|local|foreign|failback]`: take resource groups from the other node.
//! See the crate documentation of `hb_tools`.

fn main() {
    std::process::exit(hb_tools::main_for(hb_tools::Tool::Takeover));
}
