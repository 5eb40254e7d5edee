//! `ResourceManager`: see the documentation of the hb-tools library.

fn main() {
    std::process::exit(hb_tools::resource_manager::main());
}
