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

#[cfg(test)]
mod tests {
    use super::*;

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
