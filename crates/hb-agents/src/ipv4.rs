//! IPv4 helpers: masks, prefixes, broadcast addresses, and the two netmask spellings
//! the original tools accept.

use std::net::Ipv4Addr;

/// The mask of a prefix length (`24` -> 255.255.255.0); lengths above 32 count as 32.
pub fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// The dotted form of a prefix length's mask.
pub fn mask_addr(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(mask(prefix))
}

/// Whether `a` and `b` are in the same `/prefix` network.
pub fn same_net(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let m = mask(prefix);
    u32::from(a) & m == u32::from(b) & m
}

/// The highest address of `ip`'s `/prefix` network (the usual broadcast).
pub fn broadcast(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(ip) | !mask(prefix))
}

/// The network address of `ip`'s `/prefix` network.
pub fn network(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(ip) & mask(prefix))
}

/// Parses a dotted quad strictly (four decimal numbers 0-255, no leading zeros), as
/// `inet_pton` does.
pub fn parse(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// The number of mask bits the C `findif` derives from a dotted netmask: 32 minus the
/// position of the lowest set bit (so `255.255.0.255` gives 32). `None` for 0.0.0.0.
pub fn bits_from_lowest_set(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    if v == 0 {
        None
    } else {
        Some(32 - v.trailing_zeros() as u8)
    }
}

/// The prefix length of a contiguous mask, `None` if the mask has holes.
pub fn contiguous_prefix(m: Ipv4Addr) -> Option<u8> {
    let v = u32::from(m);
    let ones = v.leading_ones();
    if ones == 32 || v << ones == 0 {
        Some(ones as u8)
    } else {
        None
    }
}

/// Whether `s` looks like a number (only ASCII digits, at least one).
pub fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_broadcasts() {
        assert_eq!(mask_addr(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(mask_addr(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(mask_addr(32), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(mask_addr(25), Ipv4Addr::new(255, 255, 255, 128));
        let ip = Ipv4Addr::new(198, 51, 100, 10);
        assert_eq!(broadcast(ip, 24), Ipv4Addr::new(198, 51, 100, 255));
        assert_eq!(broadcast(ip, 25), Ipv4Addr::new(198, 51, 100, 127));
        assert_eq!(broadcast(ip, 32), ip);
        assert_eq!(network(ip, 24), Ipv4Addr::new(198, 51, 100, 0));
        assert!(same_net(ip, Ipv4Addr::new(198, 51, 100, 200), 24));
        assert!(!same_net(ip, Ipv4Addr::new(198, 51, 100, 200), 25));
        assert!(same_net(ip, Ipv4Addr::new(192, 0, 2, 1), 0));
    }

    #[test]
    fn netmask_spellings() {
        assert_eq!(
            bits_from_lowest_set(Ipv4Addr::new(255, 255, 255, 0)),
            Some(24)
        );
        assert_eq!(
            bits_from_lowest_set(Ipv4Addr::new(255, 255, 0, 255)),
            Some(32)
        );
        assert_eq!(bits_from_lowest_set(Ipv4Addr::new(0, 0, 0, 0)), None);
        assert_eq!(contiguous_prefix(Ipv4Addr::new(255, 255, 255, 0)), Some(24));
        assert_eq!(contiguous_prefix(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(
            contiguous_prefix(Ipv4Addr::new(255, 255, 255, 255)),
            Some(32)
        );
        assert_eq!(contiguous_prefix(Ipv4Addr::new(255, 255, 0, 255)), None);
        assert!(parse("198.51.100.300").is_none());
        assert!(parse("198.51.100").is_none());
        assert!(parse("198.51.100.01").is_none());
        assert_eq!(parse("192.0.2.1"), Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert!(all_digits("24") && !all_digits("2a") && !all_digits(""));
    }
}
