//! `mach_down`: see the documentation of the hb-tools library.

fn main() {
    std::process::exit(hb_tools::halib::main("mach_down"));
}
