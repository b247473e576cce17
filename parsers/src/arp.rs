//! ARP for IPv4 over Ethernet (RFC 826).
//!
//! ```text
//!  0       2       4   5   6       8
//! +-------+-------+---+---+-------+------------------+-----------+------------------+-----------+
//! | htype | ptype |hln|pln|  op   | sender hw (6)    | sender ip | target hw (6)    | target ip |
//! +-------+-------+---+---+-------+------------------+-----------+------------------+-----------+
//! ```

use std::fmt;
use std::net::Ipv4Addr;

use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};
use crate::link::Mac;

/// The ARP operation (RFC 826; 1 request, 2 reply). A newtype: other values (RARP, InARP) stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Op(pub u16);

impl Op {
    /// who-has.
    pub const REQUEST: Op = Op(1);
    /// is-at.
    pub const REPLY: Op = Op(2);

    /// The registry name.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Op::REQUEST => Some("request"),
            Op::REPLY => Some("reply"),
            _ => None,
        }
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "Op({})", self.0),
        }
    }
}

/// An Ethernet/IPv4 ARP packet: a plain value, it is small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// Operation.
    pub op: Op,
    /// Sender hardware address.
    pub sender_mac: Mac,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in requests).
    pub target_mac: Mac,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Packet {
    /// Parses an ARP packet; only Ethernet (htype 1, 6-byte) / IPv4 (ptype 0x0800, 4-byte) is supported.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, Layer::Arp);
        let htype = r.u16()?;
        let ptype = r.u16()?;
        let hlen = r.u8()?;
        let plen = r.u8()?;
        if htype != 1 || ptype != 0x0800 || hlen != 6 || plen != 4 {
            return Err(ParseError::new(ErrorKind::Unsupported, Layer::Arp, 0));
        }
        let op = Op(r.u16()?);
        let sender_mac = r.array()?;
        let sender_ip = Ipv4Addr::from(r.array::<4>()?);
        let target_mac = r.array()?;
        let target_ip = Ipv4Addr::from(r.array::<4>()?);
        Ok(Self {
            op,
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
        })
    }

    /// A gratuitous ARP: the sender announces its own address (sender IP equals target IP).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy)]
pub struct MacDisplay(pub Mac);

impl fmt::Display for MacDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arp {:?} {} ({}) -> {} ({})",
            self.op,
            self.sender_ip,
            MacDisplay(self.sender_mac),
            self.target_ip,
            MacDisplay(self.target_mac)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: [u8; 28] = [
        0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2,
    ];

    #[test]
    fn reply_decodes_every_field() {
        let p = Packet::parse(&REPLY).unwrap();
        assert_eq!(p.op, Op::REPLY);
        assert_eq!(p.sender_mac, [2, 0, 0, 0, 0, 1]);
        assert_eq!(p.sender_ip, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.target_ip, Ipv4Addr::new(10, 0, 0, 2));
        assert!(!p.is_gratuitous());
        assert_eq!(
            p.to_string(),
            "arp reply(2) 10.0.0.1 (02:00:00:00:00:01) -> 10.0.0.2 (02:00:00:00:00:02)"
        );
    }

    #[test]
    fn truncated_arp_is_an_error_at_its_offset() {
        let e = Packet::parse(&REPLY[..20]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated);
        assert_eq!(e.layer, Layer::Arp);
        assert_eq!(e.offset, 18);
    }

    #[test]
    fn non_ethernet_arp_is_unsupported() {
        let mut b = REPLY;
        b[1] = 6;
        assert_eq!(Packet::parse(&b).unwrap_err().kind, ErrorKind::Unsupported);
    }
}
