//! What reading ha.cf asks of the host: host names turned into addresses (`ucast`, `ping`,
//! `ping_group`) and the UDP port of a service (`ha-cluster`, the port when ha.cf names
//! none). The parser asks a [`Resolver`] it is given and reads nothing from the host
//! itself: the daemon passes [`SystemResolver`] (the system's resolver and /etc/services,
//! as the original uses them), tools that must never wait on a name service pass
//! [`NoResolver`], tests pass a fake.

use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// Names to addresses and services to ports, as ha.cf parsing sees them.
pub trait Resolver {
    /// An IPv4 address of the host `name` (a name, never an address: the parser reads
    /// dotted quads itself), or `None` when it has none.
    fn ipv4(&self, name: &str) -> Option<Ipv4Addr>;
    /// The port of the UDP service `name` (the original asks for `ha-cluster`), or `None`.
    fn udp_service(&self, name: &str) -> Option<u16>;
}

/// The host's resolver (getaddrinfo: /etc/hosts, DNS, ... as nsswitch.conf says) and its
/// /etc/services. Lookups may block for as long as the name service takes: never call it
/// from the daemon's loop.
#[derive(Clone, Debug)]
pub struct SystemResolver {
    services: PathBuf,
}

impl Default for SystemResolver {
    fn default() -> Self {
        SystemResolver::new()
    }
}

impl SystemResolver {
    /// The system's resolver and /etc/services.
    pub fn new() -> SystemResolver {
        SystemResolver {
            services: PathBuf::from("/etc/services"),
        }
    }

    /// The system's resolver with the services database read from `path`.
    pub fn with_services(path: &Path) -> SystemResolver {
        SystemResolver {
            services: path.to_path_buf(),
        }
    }
}

impl Resolver for SystemResolver {
    fn ipv4(&self, name: &str) -> Option<Ipv4Addr> {
        (name, 0u16)
            .to_socket_addrs()
            .ok()?
            .find_map(|a| match a.ip() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
    }

    fn udp_service(&self, name: &str) -> Option<u16> {
        services_udp_port(&std::fs::read_to_string(&self.services).ok()?, name)
    }
}

/// Knows no host name and no service: names are refused, the port defaults to 694.
/// For callers that must not touch the host or wait on a name service (hb_standby's
/// auto_failback warning, fuzzing).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn ipv4(&self, _: &str) -> Option<Ipv4Addr> {
        None
    }

    fn udp_service(&self, _: &str) -> Option<u16> {
        None
    }
}

/// The UDP port of `service` in the text of a services(5) file: `NAME PORT/udp
/// [ALIASES] [# comment]`; the first line naming it counts.
pub fn services_udp_port(text: &str, service: &str) -> Option<u16> {
    text.lines().find_map(|l| {
        let w = crate::lines::words(l);
        if w.first().map(String::as_str) == Some(service) {
            w.get(1)?.strip_suffix("/udp")?.parse().ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_file_lines() {
        let t = "# c\nha-cluster\t694/tcp\nha-cluster 7000/udp # ours\nha-cluster 8000/udp\n";
        assert_eq!(services_udp_port(t, "ha-cluster"), Some(7000));
        assert_eq!(services_udp_port(t, "other"), None);
        assert_eq!(services_udp_port("ha-cluster x/udp\n", "ha-cluster"), None);
    }
}
