//! `hb-ipagent`: see the library documentation.

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(hb_agents::main_with(argv));
}
