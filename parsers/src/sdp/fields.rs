//! The session-level fields of RFC 8866 §5: origin (`o=`), connection (`c=`), bandwidth (`b=`) and timing
//! (`t=`). Each parser returns `None` for a value it cannot read; the caller records the anomaly.

use std::fmt;
use std::net::IpAddr;

use super::line::token;

/// `<nettype>` (RFC 8866 §5.2, §5.7): `IN` is the only one registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetType<'a> {
    /// `IN`, the Internet.
    In,
    /// Anything else, as written.
    Other(&'a str),
}

impl<'a> NetType<'a> {
    fn parse(s: &'a str) -> Self {
        if s.eq_ignore_ascii_case("IN") {
            NetType::In
        } else {
            NetType::Other(s)
        }
    }

    /// The token as RFC 8866 spells it.
    pub fn name(&self) -> &'a str {
        match self {
            NetType::In => "IN",
            NetType::Other(s) => s,
        }
    }
}

/// `<addrtype>` (RFC 8866 §5.2, §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrType<'a> {
    /// `IP4`.
    Ip4,
    /// `IP6`.
    Ip6,
    /// Anything else, as written.
    Other(&'a str),
}

impl<'a> AddrType<'a> {
    fn parse(s: &'a str) -> Self {
        if s.eq_ignore_ascii_case("IP4") {
            AddrType::Ip4
        } else if s.eq_ignore_ascii_case("IP6") {
            AddrType::Ip6
        } else {
            AddrType::Other(s)
        }
    }

    /// The token as RFC 8866 spells it.
    pub fn name(&self) -> &'a str {
        match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
            AddrType::Other(s) => s,
        }
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2, ABNF
/// `origin-field`). The numbers stay text: RFC 8866 only asks for a numeric string, and some stacks send
/// more digits than a `u64` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// `<username>` (`-` when the host has no user ids).
    pub username: &'a str,
    /// `<sess-id>`.
    pub session_id: &'a str,
    /// `<sess-version>`.
    pub session_version: &'a str,
    /// `<nettype>`.
    pub nettype: NetType<'a>,
    /// `<addrtype>`.
    pub addrtype: AddrType<'a>,
    /// `<unicast-address>`: an address or a host name.
    pub unicast_address: &'a str,
}

impl<'a> Origin<'a> {
    /// Reads the value of an `o=` line; `None` unless all six fields are present.
    pub fn parse(v: &'a str) -> Option<Self> {
        let (username, r) = token(v)?;
        let (session_id, r) = token(r)?;
        let (session_version, r) = token(r)?;
        let (nettype, r) = token(r)?;
        let (addrtype, r) = token(r)?;
        let (unicast_address, r) = token(r)?;
        if token(r).is_some() {
            return None;
        }
        Some(Self {
            username,
            session_id,
            session_version,
            nettype: NetType::parse(nettype),
            addrtype: AddrType::parse(addrtype),
            unicast_address,
        })
    }
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "o={} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.nettype.name(),
            self.addrtype.name(),
            self.unicast_address
        )
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7, ABNF `connection-field`). For IP4 the
/// address may carry `/<ttl>[/<number of addresses>]`; for IP6 only `/<number of addresses>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// `<nettype>`.
    pub nettype: NetType<'a>,
    /// `<addrtype>`.
    pub addrtype: AddrType<'a>,
    /// The address (or host name) without the `/ttl/count` suffix.
    pub address: &'a str,
    /// The multicast TTL (IP4 only).
    pub ttl: Option<u8>,
    /// The number of consecutive multicast addresses.
    pub count: Option<u32>,
}

impl<'a> Connection<'a> {
    /// Reads the value of a `c=` line (also the address part of `a=rtcp`, RFC 3605). `None` when a field is
    /// missing, or a `/ttl` or `/count` suffix is not a number.
    pub fn parse(v: &'a str) -> Option<Self> {
        let (nettype, r) = token(v)?;
        let (addrtype, r) = token(r)?;
        let (spec, r) = token(r)?;
        if token(r).is_some() {
            return None;
        }
        let addrtype = AddrType::parse(addrtype);
        let mut parts = spec.split('/');
        let address = parts.next().filter(|a| !a.is_empty())?;
        let first = parts.next();
        let second = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let (ttl, count) = match (addrtype, first, second) {
            (_, None, _) => (None, None),
            (AddrType::Ip6, Some(n), None) => (None, Some(n.parse().ok()?)),
            (AddrType::Ip6, Some(_), Some(_)) => return None,
            (_, Some(t), None) => (Some(t.parse().ok()?), None),
            (_, Some(t), Some(n)) => (Some(t.parse().ok()?), Some(n.parse().ok()?)),
        };
        Some(Self {
            nettype: NetType::parse(nettype),
            addrtype,
            address,
            ttl,
            count,
        })
    }

    /// The address as an IP address, when it is a literal (not a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// True for `0.0.0.0` or `::`, the RFC 2543 way of putting a call on hold (RFC 3264 §8.4 keeps it
    /// readable for backwards compatibility).
    pub fn is_unspecified(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl fmt::Display for Connection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.nettype.name(),
            self.addrtype.name(),
            self.address
        )?;
        if let Some(t) = self.ttl {
            write!(f, "/{t}")?;
        }
        if let Some(n) = self.count {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8): `CT` and `AS` in kbit/s, `TIAS` (RFC 3890) in bit/s, `RS`/`RR`
/// (RFC 3556) in bit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth<'a> {
    /// `<bwtype>`, as written.
    pub modifier: &'a str,
    /// `<bandwidth>`, in the unit of the modifier.
    pub value: u64,
}

impl<'a> Bandwidth<'a> {
    /// Reads the value of a `b=` line.
    pub fn parse(v: &'a str) -> Option<Self> {
        let (modifier, value) = v.split_once(':')?;
        if modifier.is_empty() {
            return None;
        }
        Some(Self {
            modifier,
            value: value.parse().ok()?,
        })
    }
}

impl fmt::Display for Bandwidth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b={}:{}", self.modifier, self.value)
    }
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9): NTP seconds, `0` meaning unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `<start-time>`.
    pub start: u64,
    /// `<stop-time>`.
    pub stop: u64,
}

impl Timing {
    /// Reads the value of a `t=` line.
    pub fn parse(v: &str) -> Option<Self> {
        let (start, r) = token(v)?;
        let (stop, r) = token(r)?;
        if token(r).is_some() {
            return None;
        }
        Some(Self {
            start: start.parse().ok()?,
            stop: stop.parse().ok()?,
        })
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={} {}", self.start, self.stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_needs_six_fields() {
        let o =
            Origin::parse("alice 2890844526 2890844527 IN IP4 host.atlanta.example.com").unwrap();
        assert_eq!(
            o,
            Origin {
                username: "alice",
                session_id: "2890844526",
                session_version: "2890844527",
                nettype: NetType::In,
                addrtype: AddrType::Ip4,
                unicast_address: "host.atlanta.example.com",
            }
        );
        assert_eq!(
            o.to_string(),
            "o=alice 2890844526 2890844527 IN IP4 host.atlanta.example.com"
        );
        assert_eq!(Origin::parse("alice 1 2 IN IP4"), None);
        assert_eq!(Origin::parse("alice 1 2 IN IP4 h extra"), None);
    }

    #[test]
    fn connection_reads_ttl_and_count_by_address_type() {
        let c = Connection::parse("IN IP4 224.2.1.1/127/3").unwrap();
        assert_eq!(
            (c.address, c.ttl, c.count),
            ("224.2.1.1", Some(127), Some(3))
        );
        assert_eq!(c.to_string(), "IN IP4 224.2.1.1/127/3");
        let c = Connection::parse("IN IP6 ff15::101/3").unwrap();
        assert_eq!((c.address, c.ttl, c.count), ("ff15::101", None, Some(3)));
        assert_eq!(Connection::parse("IN IP6 ff15::101/3/2"), None);
        assert_eq!(Connection::parse("IN IP4 224.2.1.1/300"), None);
        assert_eq!(Connection::parse("IN IP4"), None);
        let c = Connection::parse("IN IP4 0.0.0.0").unwrap();
        assert!(c.is_unspecified());
        let c = Connection::parse("ATM NSAP 47.0005").unwrap();
        assert_eq!(
            (c.nettype, c.addrtype),
            (NetType::Other("ATM"), AddrType::Other("NSAP"))
        );
        assert_eq!(c.ip(), None);
    }

    #[test]
    fn bandwidth_and_timing_are_numbers() {
        assert_eq!(
            Bandwidth::parse("AS:128"),
            Some(Bandwidth {
                modifier: "AS",
                value: 128
            })
        );
        assert_eq!(Bandwidth::parse("AS:x"), None);
        assert_eq!(Bandwidth::parse(":1"), None);
        assert_eq!(
            Timing::parse("2873397496 2873404696"),
            Some(Timing {
                start: 2873397496,
                stop: 2873404696
            })
        );
        assert_eq!(Timing::parse("0"), None);
    }
}
