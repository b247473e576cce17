//! The tunnels that deliver mirrored traffic to a sensor that is not on the mirrored switch: GRE (RFC 2784,
//! RFC 2890) carrying Ethernet (transparent Ethernet bridging, Linux `gretap`) or IP; ERSPAN type I, II and III
//! (Cisco remote SPAN, draft-foschiano-erspan-03; Linux `erspan`/`ip6erspan`); VXLAN (RFC 7348, UDP 4789: AWS VPC
//! Traffic Mirroring); Geneve (RFC 8926, UDP 6081: cloud load-balancer mirroring).
//!
//! [`crate::link::decode`] and [`crate::link::flow_hint`] peel these and describe the mirrored frame inside, as if
//! it had been captured on the mirrored port. A tunnel header that does not parse is an error of
//! [`Layer::Tunnel`]; a tunnel payload this module does not decode (PPTP's enhanced GRE, MPLS over GRE, an ERSPAN
//! type III frame type other than Ethernet and IP) is [`ErrorKind::Unsupported`], and the packet is left as the
//! outer IP packet it is.

use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};
use crate::link::{ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_UDP, LinkType};

/// IP protocol number of GRE.
pub const IPPROTO_GRE: u8 = 47;
/// UDP destination port of VXLAN (RFC 7348 §5).
pub const VXLAN_PORT: u16 = 4789;
/// UDP destination port of Geneve (RFC 8926 §3.3).
pub const GENEVE_PORT: u16 = 6081;
/// GRE protocol type of transparent Ethernet bridging (an Ethernet frame follows).
pub const GRE_TEB: u16 = 0x6558;
/// GRE protocol type of ERSPAN type I and II.
pub const GRE_ERSPAN_II: u16 = 0x88be;
/// GRE protocol type of ERSPAN type III.
pub const GRE_ERSPAN_III: u16 = 0x22eb;
/// Tunnels peeled before giving up (a tunnel inside a tunnel is the most a mirror path builds).
pub const MAX_TUNNELS: usize = 2;

/// The kind of tunnel a mirrored frame came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tunnel {
    /// GRE carrying Ethernet or IP.
    Gre,
    /// ERSPAN (GRE protocol type 0x88be or 0x22eb), any type.
    Erspan,
    /// VXLAN.
    Vxlan,
    /// Geneve.
    Geneve,
}

impl Tunnel {
    /// Lower-case name, used in JSON and as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Tunnel::Gre => "gre",
            Tunnel::Erspan => "erspan",
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
        }
    }
}

/// The frame inside a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inner<'a> {
    /// The tunnel it came in.
    pub tunnel: Tunnel,
    /// How to decode it: Ethernet, or raw IP.
    pub link: LinkType,
    /// The mirrored frame.
    pub frame: &'a [u8],
    /// Its offset in the tunnel payload handed in.
    pub offset: usize,
    /// The VLAN the ERSPAN header names for the mirrored frame (0 when none or another tunnel).
    pub vlan: u16,
}

/// Whether an IP datagram of protocol `proto` with payload `ip_payload` (and, for UDP, its destination port
/// and payload) is a tunnel this module peels, broken or not: the question asked of a reassembled datagram
/// (see [`crate::link::decode`]). PPTP's GRE, MPLS over GRE and other services on the tunnel ports are not.
pub fn carries(proto: u8, ip_payload: &[u8], udp: Option<(u16, &[u8])>) -> bool {
    let peeled = match (proto, udp) {
        (IPPROTO_GRE, _) => gre(ip_payload),
        (IPPROTO_UDP, Some((VXLAN_PORT, p))) => vxlan(p),
        (IPPROTO_UDP, Some((GENEVE_PORT, p))) => geneve(p),
        _ => return false,
    };
    !matches!(peeled, Err(e) if e.kind == ErrorKind::Unsupported)
}

fn invalid(offset: usize) -> ParseError {
    ParseError::new(ErrorKind::Invalid, Layer::Tunnel, offset)
}

fn unsupported(offset: usize) -> ParseError {
    ParseError::new(ErrorKind::Unsupported, Layer::Tunnel, offset)
}

/// Link type of an EtherType-named payload: Ethernet for transparent bridging, raw IP for IPv4/IPv6.
fn link_of(proto: u16, offset: usize) -> Result<LinkType, ParseError> {
    match proto {
        GRE_TEB => Ok(LinkType::ETHERNET),
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(LinkType::RAW),
        _ => Err(unsupported(offset)),
    }
}

/// Peels a GRE header (and the ERSPAN header after it): `payload` is the IP payload of a protocol-47 packet.
pub fn gre(payload: &[u8]) -> Result<Inner<'_>, ParseError> {
    let mut r = Reader::new(payload, Layer::Tunnel);
    let flags = r.u16()?;
    let proto = r.u16()?;
    // C R K S s Recur(3) | flags(5) Ver(3). Version 1 is PPTP's enhanced GRE (RFC 2637), not a mirror; source
    // routing (R, RFC 1701) is deprecated and never used for one.
    if flags & 0x0007 != 0 {
        return Err(unsupported(1));
    }
    if flags & 0x4000 != 0 {
        return Err(unsupported(0));
    }
    let (checksum, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    // Checksum and reserved (RFC 2784 §2.1), key and sequence number (RFC 2890 §2).
    r.skip(4 * (usize::from(checksum) + usize::from(key) + usize::from(seq)))?;
    let (tunnel, link, vlan) = match proto {
        // ERSPAN type II carries a sequence number in GRE and an 8-byte header; type I has neither.
        GRE_ERSPAN_II if seq => {
            let at = r.offset();
            let ver_vlan = r.u16()?;
            // Version 1 is type II; 0 is accepted for the same layout (some encoders leave it unset), type III's
            // 2 under this protocol type is a broken header.
            if ver_vlan >> 12 > 1 {
                return Err(invalid(at));
            }
            r.skip(6)?;
            (Tunnel::Erspan, LinkType::ETHERNET, ver_vlan & 0x0fff)
        }
        GRE_ERSPAN_II => (Tunnel::Erspan, LinkType::ETHERNET, 0),
        GRE_ERSPAN_III => {
            let at = r.offset();
            let ver_vlan = r.u16()?;
            if ver_vlan >> 12 != 2 {
                return Err(invalid(at));
            }
            // cos/bso/t/session id (2), timestamp (4), SGT (2), then P, frame type (5 bits), hardware id,
            // direction, granularity, O.
            r.skip(8)?;
            let last = r.u16()?;
            let frame_type = (last >> 10) & 0x1f;
            if last & 1 == 1 {
                // The optional 8-byte platform-specific subheader.
                r.skip(8)?;
            }
            let link = match frame_type {
                0 => LinkType::ETHERNET,
                2 => LinkType::RAW,
                _ => return Err(unsupported(at + 10)),
            };
            (Tunnel::Erspan, link, ver_vlan & 0x0fff)
        }
        other => (Tunnel::Gre, link_of(other, 2)?, 0),
    };
    let offset = r.offset();
    Ok(Inner {
        tunnel,
        link,
        frame: r.rest(),
        offset,
        vlan,
    })
}

/// Peels a VXLAN header: `payload` is a UDP payload sent to [`VXLAN_PORT`]. Datagrams without the VNI flag are
/// not VXLAN ([`ErrorKind::Unsupported`]: some other service on the port).
pub fn vxlan(payload: &[u8]) -> Result<Inner<'_>, ParseError> {
    let mut r = Reader::new(payload, Layer::Tunnel);
    let flags = r.u8()?;
    if flags & 0x08 == 0 {
        return Err(unsupported(0));
    }
    r.skip(7)?;
    Ok(Inner {
        tunnel: Tunnel::Vxlan,
        link: LinkType::ETHERNET,
        frame: r.rest(),
        offset: 8,
        vlan: 0,
    })
}

/// Peels a Geneve header and its options: `payload` is a UDP payload sent to [`GENEVE_PORT`].
pub fn geneve(payload: &[u8]) -> Result<Inner<'_>, ParseError> {
    let mut r = Reader::new(payload, Layer::Tunnel);
    let ver_opt = r.u8()?;
    if ver_opt >> 6 != 0 {
        return Err(unsupported(0));
    }
    r.skip(1)?;
    let proto = r.u16()?;
    r.skip(4)?;
    r.skip(usize::from(ver_opt & 0x3f) * 4)?;
    let link = link_of(proto, 2)?;
    let offset = r.offset();
    Ok(Inner {
        tunnel: Tunnel::Geneve,
        link,
        frame: r.rest(),
        offset,
        vlan: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gre_headers_of_every_shape_are_peeled() {
        // Plain GRE with transparent bridging, no options.
        let mut p = vec![0x00, 0x00, 0x65, 0x58];
        p.extend_from_slice(b"frame");
        let i = gre(&p).unwrap();
        assert_eq!(
            (i.tunnel, i.link, i.frame, i.offset),
            (Tunnel::Gre, LinkType::ETHERNET, &b"frame"[..], 4)
        );
        // Checksum, key and sequence number present: 12 more bytes.
        let mut p = vec![0xb0, 0x00, 0x08, 0x00];
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(b"ip");
        let i = gre(&p).unwrap();
        assert_eq!(
            (i.tunnel, i.link, i.frame),
            (Tunnel::Gre, LinkType::RAW, &b"ip"[..])
        );
        // PPTP's enhanced GRE (version 1) and MPLS are not mirrors.
        assert_eq!(
            gre(&[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0]).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            gre(&[0x00, 0x00, 0x88, 0x47]).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            gre(&[0x00, 0x00, 0x65]).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn erspan_types_one_two_and_three_are_peeled() {
        // Type I: no sequence number, no ERSPAN header.
        let mut p = vec![0x00, 0x00, 0x88, 0xbe];
        p.extend_from_slice(b"eth");
        let i = gre(&p).unwrap();
        assert_eq!(
            (i.tunnel, i.frame, i.vlan),
            (Tunnel::Erspan, &b"eth"[..], 0)
        );
        // Type II: sequence number, then version 1 with VLAN 100, session 5.
        let mut p = vec![
            0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7, 0x10, 100, 0x00, 0x05, 0, 0, 0, 0,
        ];
        p.extend_from_slice(b"eth");
        let i = gre(&p).unwrap();
        assert_eq!(
            (i.tunnel, i.frame, i.vlan, i.offset),
            (Tunnel::Erspan, &b"eth"[..], 100, 16)
        );
        // Type II with the wrong version is invalid.
        let p = [
            0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7, 0x20, 100, 0, 5, 0, 0, 0, 0,
        ];
        assert_eq!(gre(&p).unwrap_err().kind, ErrorKind::Invalid);
        // Type III: version 2, Ethernet frame type, then with the platform subheader (O set) and IP frames.
        let mut p = vec![
            0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 7, 0, 5, 1, 2, 3, 4, 0, 0, 0x00, 0x00,
        ];
        p.extend_from_slice(b"eth");
        let i = gre(&p).unwrap();
        assert_eq!(
            (i.link, i.frame, i.vlan, i.offset),
            (LinkType::ETHERNET, &b"eth"[..], 7, 20)
        );
        let mut p = vec![
            0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 7, 0, 5, 1, 2, 3, 4, 0, 0, 0x08, 0x01,
        ];
        p.extend_from_slice(&[9; 8]);
        p.extend_from_slice(b"ip");
        let i = gre(&p).unwrap();
        assert_eq!((i.link, i.frame, i.offset), (LinkType::RAW, &b"ip"[..], 28));
        // Type III frame type 3 (reserved) is not decoded.
        let p = [
            0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 7, 0, 5, 1, 2, 3, 4, 0, 0, 0x0c, 0x00,
        ];
        assert_eq!(gre(&p).unwrap_err().kind, ErrorKind::Unsupported);
    }

    #[test]
    fn vxlan_and_geneve_are_peeled_and_other_services_on_their_ports_are_not() {
        let mut p = vec![0x08, 0, 0, 0, 0, 0x12, 0x34, 0];
        p.extend_from_slice(b"eth");
        let i = vxlan(&p).unwrap();
        assert_eq!(
            (i.tunnel, i.link, i.frame),
            (Tunnel::Vxlan, LinkType::ETHERNET, &b"eth"[..])
        );
        assert_eq!(vxlan(&[0x00; 8]).unwrap_err().kind, ErrorKind::Unsupported);
        assert_eq!(vxlan(&[0x08, 0, 0]).unwrap_err().kind, ErrorKind::Truncated);
        // Geneve with one 4-byte option word, carrying Ethernet.
        let mut p = vec![0x01, 0x00, 0x65, 0x58, 0, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd];
        p.extend_from_slice(b"eth");
        let i = geneve(&p).unwrap();
        assert_eq!(
            (i.tunnel, i.frame, i.offset),
            (Tunnel::Geneve, &b"eth"[..], 12)
        );
        assert_eq!(
            geneve(&[0x40, 0, 0x65, 0x58, 0, 0, 0, 0]).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        assert!(carries(IPPROTO_GRE, &[0x00, 0x00, 0x65, 0x58], None));
        assert!(!carries(
            IPPROTO_GRE,
            &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0],
            None
        ));
        assert!(carries(
            IPPROTO_UDP,
            &[],
            Some((VXLAN_PORT, &[0x08, 0, 0, 0, 0, 0, 1, 0]))
        ));
        assert!(!carries(IPPROTO_UDP, &[], Some((VXLAN_PORT, &[0; 8]))));
        assert!(!carries(IPPROTO_UDP, &[], Some((5060, &[0x08; 8]))));
    }
}
