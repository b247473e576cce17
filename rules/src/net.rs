//! IP networks as detectors compare them: "the same network" is the same prefix of configurable length (a /24
//! for IPv4 and a /64 for IPv6 by default: one LAN, one IPv6 link).

use std::net::IpAddr;

/// The network of `ip`: its first `v4_bits` (IPv4) or `v6_bits` (IPv6) bits, the rest cleared. Lengths beyond
/// the address size keep the whole address; 0 makes every address one network.
pub fn network(ip: IpAddr, v4_bits: u8, v6_bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(v4_bits.min(32));
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u32::from(v6_bits.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// `network` written as a prefix, `10.77.0.0/24`.
pub fn prefix_text(ip: IpAddr, v4_bits: u8, v6_bits: u8) -> String {
    match ip {
        IpAddr::V4(_) => format!("{}/{}", network(ip, v4_bits, v6_bits), v4_bits.min(32)),
        IpAddr::V6(_) => format!("{}/{}", network(ip, v4_bits, v6_bits), v6_bits.min(128)),
    }
}

/// An IP network written as a CIDR prefix in the rules file (`10.77.0.0/24`, `2001:db8::/32`; a bare address is
/// its own /32 or /128). A malformed entry fails the rules file's loading, naming its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    bits: u8,
}

impl Network {
    /// Parses `addr/bits` or `addr`.
    pub fn parse(text: &str) -> Option<Self> {
        let (a, b) = match text.trim().split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match b {
            Some(b) => b.parse::<u8>().ok().filter(|n| *n <= max)?,
            None => max,
        };
        Some(Self {
            addr: network(addr, bits, bits),
            bits,
        })
    }

    /// `ip` lies in this network (an IPv4 network never holds an IPv6 address, nor the reverse).
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && network(ip, self.bits, self.bits) == self.addr
    }
}

impl<'de> serde::Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Network::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not an IP network (a.b.c.d/n)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_networks_hold_their_addresses_only() {
        let n = Network::parse("10.77.1.9/24").unwrap();
        assert!(n.contains(ip("10.77.1.200")));
        assert!(!n.contains(ip("10.77.0.1")));
        assert!(!n.contains(ip("::1")));
        assert!(Network::parse("10.0.0.1").unwrap().contains(ip("10.0.0.1")));
        assert!(
            Network::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8:5::1"))
        );
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(Network::parse("nonsense/8").is_none());
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_clear_the_host_bits() {
        assert_eq!(network(ip("10.77.0.66"), 24, 64), ip("10.77.0.0"));
        assert_eq!(
            network(ip("2001:db8:1:2:3::1"), 24, 64),
            ip("2001:db8:1:2::")
        );
        assert_eq!(network(ip("10.1.2.3"), 0, 64), ip("0.0.0.0"));
        assert_eq!(network(ip("10.1.2.3"), 40, 64), ip("10.1.2.3"));
        assert_eq!(prefix_text(ip("10.78.0.99"), 24, 64), "10.78.0.0/24");
        assert_eq!(prefix_text(ip("fe80::1"), 24, 200), "fe80::1/128");
    }
}
