//! Native IP resource agents for heartbeat's v1 (haresources) mode: `IPaddr`, `IPaddr2`,
//! `IPsrcaddr`, `SendArp`, and the helpers `findif` and `send_arp` (2.0.8's command line,
//! see [`send_arp`]), as one small multi-call program `hb-ipagent`.
//!
//! `/etc/ha.d/resource.d/NAME` links to the program and the name it is called by picks
//! the agent (`hb-ipagent NAME ARGS...` does the same, for tests). The agents take the
//! original v1 scripts' arguments (`SPEC start|stop|status|monitor`), print the same
//! status lines on stdout and exit with the same statuses (see [`agent`]), keep their
//! state in the same files of `$HA_RSCTMP` as resource-agents does (see [`state`]), and
//! do the work themselves: addresses and routes through rtnetlink ([`netlink`]),
//! gratuitous ARP through an `AF_PACKET` socket ([`arp`]), no `ip`, `ifconfig`, `route`
//! or `send_arp` processes. Interface and netmask are found by the original's two rule
//! sets ([`findif`]).
//!
//! Each agent's module documents its behaviour and where it differs from the installed
//! resource-agents 4.12 scripts run by heartbeat's wrappers.

pub mod agent;
pub mod arp;
pub mod findif;
pub mod ipv4;
pub mod log;
pub mod netlink;
pub mod ping;
pub mod send_arp;
pub mod state;

use std::io::Write;

/// Every name the program answers to (`hb-ipagent --names` prints them).
pub const NAMES: [&str; 6] = [
    "IPaddr",
    "IPaddr2",
    "IPsrcaddr",
    "SendArp",
    "findif",
    "send_arp",
];

/// The program's entry: picks the agent from `argv[0]` (or `argv[1]`), runs it, prints
/// its output and returns the exit status.
pub fn main_with(argv: Vec<String>) -> i32 {
    let env = |k: &str| std::env::var(k).ok();
    let argv0 = argv.first().cloned().unwrap_or_default();
    let base = argv0.rsplit('/').next().unwrap_or("").to_string();
    if !is_known(&base) && argv.get(1).map(String::as_str) == Some("--names") {
        println!("{}", NAMES.join(" "));
        return 0;
    }
    let (name, prog, rest) = if is_known(&base) {
        (
            base.clone(),
            argv0.clone(),
            argv.get(1..).unwrap_or(&[]).to_vec(),
        )
    } else {
        match argv.get(1) {
            Some(n) if is_known(n) => (n.clone(), n.clone(), argv.get(2..).unwrap_or(&[]).to_vec()),
            _ => {
                eprintln!(
                    "usage: {base} {{IPaddr|IPaddr2|IPsrcaddr|SendArp}} SPEC {{start|stop|status|monitor}}\n       {base} findif [-C]\n       {base} send_arp [-i ms] [-r count] [-p pidfile] device ip hwaddr broadcast netmask\n(or link IPaddr, IPaddr2, IPsrcaddr, SendArp, findif or send_arp to it)"
                );
                return 1;
            }
        }
    };
    if name == "findif" {
        return findif::run_cli(&rest, &env);
    }
    if name == "send_arp" {
        return send_arp::run(&rest);
    }
    let Some(agent) = agent::Agent::from_name(&name) else {
        return 1;
    };
    let out = agent::run(agent, &prog, &rest, &env);
    let mut so = std::io::stdout().lock();
    for l in &out.stdout {
        let _ = writeln!(so, "{l}");
    }
    let _ = so.flush();
    for l in &out.stderr {
        eprintln!("{l}");
    }
    out.status
}

fn is_known(name: &str) -> bool {
    NAMES.contains(&name)
}
