//! Link, network and transport layers: a thin wrapper over etherparse's lax slicer that hands the rest of
//! callguard our own types ([`Decoded`], [`Net`], [`Ip`], [`Transport`]) and never etherparse's.
//!
//! Supported link types are the ones SPAN ports and captures deliver: Ethernet II (with up to three 802.1Q /
//! 802.1ad tags), Linux cooked capture v1 (SLL, 16-byte header) and v2 (SLL2, 20 bytes), raw IPv4/IPv6, and
//! BSD loopback (NULL). IPv6 extension headers are walked by etherparse. Fragments are reported with their
//! identification and offset so that the sensor can reassemble them; their transport is then [`Transport::None`].
//!
//! [`flow_hint`] is a second, minimal path used by the dispatcher: it reads just enough of a frame to hash its
//! flow (addresses, protocol, ports, whether it is a fragment), without building the full view.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::arp;
use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};
use crate::tunnel::{self, Tunnel};

/// A link-layer header type, as numbered by tcpdump.org's LINKTYPE_ registry (the pcap file header and the
/// pcapng interface description carry it). A newtype, so unknown values stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// LINKTYPE_NULL: BSD loopback, a 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// LINKTYPE_ETHERNET.
    pub const ETHERNET: LinkType = LinkType(1);
    /// LINKTYPE_RAW: raw IPv4 or IPv6, told apart by the version nibble.
    pub const RAW: LinkType = LinkType(101);
    /// DLT_RAW as some systems number it in files (OpenBSD uses 14, others 12).
    pub const RAW_12: LinkType = LinkType(12);
    /// DLT_RAW as OpenBSD numbers it.
    pub const RAW_14: LinkType = LinkType(14);
    /// LINKTYPE_LINUX_SLL: Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// LINKTYPE_IPV4.
    pub const IPV4: LinkType = LinkType(228);
    /// LINKTYPE_IPV6.
    pub const IPV6: LinkType = LinkType(229);
    /// LINKTYPE_LINUX_SLL2: Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The registry name, when this crate decodes the type.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::NULL => "NULL",
            Self::ETHERNET => "ETHERNET",
            Self::RAW | Self::RAW_12 | Self::RAW_14 => "RAW",
            Self::LINUX_SLL => "LINUX_SLL",
            Self::IPV4 => "IPV4",
            Self::IPV6 => "IPV6",
            Self::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }

    /// Whether [`decode`] understands frames of this type.
    pub fn is_supported(self) -> bool {
        self.name().is_some()
    }
}

impl fmt::Debug for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "LinkType({})", self.0),
        }
    }
}

/// A MAC address.
pub type Mac = [u8; 6];

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// One decoded frame.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    /// Ethernet source address, when the link type has one (Ethernet; SLL/SLL2 with a 6-byte address).
    pub src_mac: Option<Mac>,
    /// Ethernet destination address (Ethernet only).
    pub dst_mac: Option<Mac>,
    /// 802.1Q/802.1ad VLAN identifiers, outermost first; 0 where absent.
    pub vlans: [u16; 2],
    /// The network layer.
    pub net: Net<'a>,
    /// Where lax decoding stopped early: the layers above it are missing or partial. The frame is still
    /// usable up to there; the sensor counts it as malformed in that layer.
    pub stop: Option<ParseError>,
    /// The tunnel the frame was peeled from (the outermost one), when it came in one (remote mirroring: see
    /// [`crate::tunnel`]). Every other field then describes the mirrored frame inside.
    pub tunnel: Option<Tunnel>,
}

/// The network layer of a frame.
#[derive(Debug, Clone)]
pub enum Net<'a> {
    /// IPv4 or IPv6.
    Ip(Ip<'a>),
    /// ARP for IPv4 over Ethernet.
    Arp(arp::Packet),
    /// A protocol this crate does not decode (the EtherType).
    Other(u16),
    /// Nothing decodable after the link header.
    None,
}

/// An IP fragment's place in its datagram (RFC 791 §3.2, RFC 8200 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fragment {
    /// Identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
    /// Offset of this fragment's data in the datagram, in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// An IPv4 or IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ip<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The upper-layer protocol (after IPv6 extension headers).
    pub proto: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// Set when the packet is a fragment of a larger datagram.
    pub fragment: Option<Fragment>,
    /// The IP payload: the transport header and data, or this fragment's data.
    pub payload: &'a [u8],
    /// The transport layer, when the packet is not a fragment and its protocol is UDP or TCP.
    pub transport: Transport<'a>,
}

/// The transport layer.
#[derive(Debug, Clone)]
pub enum Transport<'a> {
    /// UDP.
    Udp(Udp<'a>),
    /// TCP.
    Tcp(Tcp<'a>),
    /// A fragment, another protocol, or a transport header that did not decode.
    None,
}

/// A UDP datagram (RFC 768).
#[derive(Debug, Clone, Copy)]
pub struct Udp<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// The data after the 8-byte header, cut to the UDP length when that is shorter than what was captured.
    pub payload: &'a [u8],
}

/// TCP header flags (RFC 9293 §3.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::SYN, 'S'),
            (Self::ACK, 'A'),
            (Self::FIN, 'F'),
            (Self::RST, 'R'),
            (Self::PSH, 'P'),
        ];
        for (bit, c) in names {
            if self.has(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct Tcp<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Receive window (unscaled).
    pub window: u16,
    /// Segment data.
    pub payload: &'a [u8],
}

/// Decodes one frame of link type `link`.
///
/// Each layer is sliced by etherparse's own per-layer slicers (Ethernet II, single VLAN tags, lax IPv4/IPv6
/// with their extension headers, UDP, TCP), which check every length; we map their results onto our types.
/// (Measured: going layer by layer costs half of what `LaxSlicedPacket` does, which moves a large struct
/// through its cursor several times per packet.)
///
/// Returns an error only when not even the link header is usable; any later failure is recorded in
/// [`Decoded::stop`] and the layers above it are left out. A payload cut short by the capture's snap length
/// is not a failure: the layers decode and their payload is what was captured.
///
/// A frame that carries a mirrored frame in a tunnel (GRE, ERSPAN, VXLAN, Geneve: [`crate::tunnel`]) is
/// decoded as the frame inside, up to [`crate::tunnel::MAX_TUNNELS`] deep, with [`Decoded::tunnel`] set; an
/// outer packet that is an IP fragment is left as it is (the caller reassembles it and asks
/// [`crate::tunnel::carries`]).
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, ParseError> {
    decode_at(link, frame, 0)
}

fn decode_at(link: LinkType, frame: &[u8], depth: usize) -> Result<Decoded<'_>, ParseError> {
    let d = decode_one(link, frame)?;
    Ok(peel(d, frame, depth))
}

/// Where `inner` starts in `outer` (a sub-slice of it).
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    inner.as_ptr().addr().saturating_sub(outer.as_ptr().addr())
}

/// Decodes the frame inside a tunnel packet, or returns `d` as it is when it is none.
fn peel<'a>(mut d: Decoded<'a>, frame: &'a [u8], depth: usize) -> Decoded<'a> {
    let Net::Ip(ip) = &d.net else { return d };
    if ip.fragment.is_some() {
        return d;
    }
    let (found, payload) = match &ip.transport {
        _ if ip.proto == tunnel::IPPROTO_GRE => (tunnel::gre(ip.payload), ip.payload),
        Transport::Udp(u) if u.dport == tunnel::VXLAN_PORT => (tunnel::vxlan(u.payload), u.payload),
        Transport::Udp(u) if u.dport == tunnel::GENEVE_PORT => {
            (tunnel::geneve(u.payload), u.payload)
        }
        _ => return d,
    };
    let base = offset_in(frame, payload);
    let inner = match found {
        Ok(i) => i,
        Err(e) if e.kind == ErrorKind::Unsupported => return d,
        Err(e) => {
            d.stop = Some(e.add_offset(base));
            return d;
        }
    };
    let at = base + inner.offset;
    if depth + 1 > tunnel::MAX_TUNNELS {
        d.stop = Some(ParseError::new(ErrorKind::LimitExceeded, Layer::Tunnel, at));
        return d;
    }
    match decode_at(inner.link, inner.frame, depth + 1) {
        Ok(mut i) => {
            i.stop = i.stop.map(|e| e.add_offset(at));
            if i.tunnel.is_none() && i.vlans == [0, 0] {
                i.vlans[0] = inner.vlan;
            }
            i.tunnel = Some(inner.tunnel);
            i
        }
        Err(e) => {
            d.stop = Some(e.add_offset(at));
            d
        }
    }
}

fn decode_one(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, ParseError> {
    let mut d = Decoded::bare(Net::None);
    let (ether_type, rest, base) = match link {
        LinkType::ETHERNET => {
            let eth = etherparse::Ethernet2Slice::from_slice_without_fcs(frame)
                .map_err(|_| ParseError::new(ErrorKind::Truncated, Layer::Link, frame.len()))?;
            d.src_mac = Some(eth.source());
            d.dst_mac = Some(eth.destination());
            let mut et = eth.ether_type().0;
            let mut rest = eth.payload_slice();
            let mut off = etherparse::Ethernet2Header::LEN;
            let mut tags = 0;
            while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                if tags >= MAX_VLAN_TAGS {
                    d.stop = Some(ParseError::new(ErrorKind::LimitExceeded, Layer::Link, off));
                    return Ok(d);
                }
                let Ok(v) = etherparse::SingleVlanSlice::from_slice(rest) else {
                    d.stop = Some(ParseError::new(ErrorKind::Truncated, Layer::Link, off));
                    return Ok(d);
                };
                if let Some(slot) = d.vlans.get_mut(tags) {
                    *slot = v.vlan_identifier().value();
                }
                et = v.ether_type().0;
                rest = v.payload_slice();
                off += etherparse::SingleVlanHeader::LEN;
                tags += 1;
            }
            (et, rest, off)
        }
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => {
            let (ether_type, src_mac, hdr_len) = cooked_header(link, frame)?;
            d.src_mac = src_mac;
            (ether_type, frame.get(hdr_len..).unwrap_or(&[]), hdr_len)
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 | LinkType::IPV4 | LinkType::IPV6 => {
            (ip_version_type(frame), frame, 0)
        }
        LinkType::NULL => {
            let mut r = Reader::new(frame, Layer::Link);
            let family = r.array::<4>()?;
            // Host byte order of the capturing machine: accept either.
            let fam = u32::from_le_bytes(family).min(u32::from_be_bytes(family));
            let rest = r.rest();
            match fam {
                2 | 24 | 28 | 30 => (ip_version_type(rest), rest, 4),
                _ => return Ok(Decoded::bare(Net::Other(0))),
            }
        }
        _ => return Err(ParseError::new(ErrorKind::Unsupported, Layer::Link, 0)),
    };
    d.net = match ether_type {
        ETHERTYPE_ARP => match arp::Packet::parse(rest) {
            Ok(a) => Net::Arp(a),
            Err(e) => {
                d.stop = Some(e.add_offset(base));
                Net::None
            }
        },
        ETHERTYPE_IPV4 => ipv4(rest, base, &mut d.stop),
        ETHERTYPE_IPV6 => ipv6(rest, base, &mut d.stop),
        0 => {
            d.stop = Some(ParseError::new(ErrorKind::Invalid, Layer::Ip, base));
            Net::None
        }
        other => Net::Other(other),
    };
    Ok(d)
}

/// VLAN tags followed before giving up (802.1ad QinQ uses two; etherparse's own slicer stops at three).
pub const MAX_VLAN_TAGS: usize = 3;

/// The EtherType of a raw IP packet, from its version nibble (0 when it is neither 4 nor 6).
fn ip_version_type(b: &[u8]) -> u16 {
    match b.first().map(|v| v >> 4) {
        Some(4) => ETHERTYPE_IPV4,
        Some(6) => ETHERTYPE_IPV6,
        _ => 0,
    }
}

fn ipv4<'a>(b: &'a [u8], base: usize, stop: &mut Option<ParseError>) -> Net<'a> {
    let (v4, auth_err) = match etherparse::LaxIpv4Slice::from_slice(b) {
        Ok(x) => x,
        Err(e) => {
            let kind = match e {
                etherparse::err::ipv4::HeaderSliceError::Len(_) => ErrorKind::Truncated,
                etherparse::err::ipv4::HeaderSliceError::Content(_) => ErrorKind::Invalid,
            };
            *stop = Some(ParseError::new(kind, Layer::Ip, base));
            return Net::None;
        }
    };
    let h = v4.header();
    let pl = v4.payload();
    let hdr_len = h.slice().len() + v4.extensions().auth.map_or(0, |a| a.slice().len());
    let fragment = pl.fragmented.then(|| Fragment {
        id: u32::from(h.identification()),
        offset: u32::from(h.fragments_offset().value()) * 8,
        more: h.more_fragments(),
    });
    if auth_err.is_some() {
        *stop = Some(ParseError::new(ErrorKind::Invalid, Layer::Ip, base));
    }
    let transport = if pl.fragmented || auth_err.is_some() {
        Transport::None
    } else {
        transport_or_stop(pl.ip_number.0, pl.payload, base + hdr_len, stop)
    };
    Net::Ip(Ip {
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        proto: pl.ip_number.0,
        ttl: h.ttl(),
        fragment,
        payload: pl.payload,
        transport,
    })
}

fn ipv6<'a>(b: &'a [u8], base: usize, stop: &mut Option<ParseError>) -> Net<'a> {
    let (v6, ext_err) = match etherparse::LaxIpv6Slice::from_slice(b) {
        Ok(x) => x,
        Err(e) => {
            let kind = match e {
                etherparse::err::ipv6::HeaderSliceError::Len(_) => ErrorKind::Truncated,
                etherparse::err::ipv6::HeaderSliceError::Content(_) => ErrorKind::Invalid,
            };
            *stop = Some(ParseError::new(kind, Layer::Ip, base));
            return Net::None;
        }
    };
    let h = v6.header();
    let pl = v6.payload();
    let hdr_len = h.slice().len() + v6.extensions().slice().len();
    // The fragment header is found by our own walk over the extension bytes etherparse validated: its
    // extension iterator relies on unchecked slicing that a crafted chain can break (found by our property
    // test), and nothing here may panic.
    let fragment = if pl.fragmented {
        ipv6_fragment(h.next_header().0, v6.extensions().slice())
    } else {
        None
    };
    if ext_err.is_some() {
        *stop = Some(ParseError::new(ErrorKind::Invalid, Layer::Ip, base));
    }
    let transport = if pl.fragmented || ext_err.is_some() {
        Transport::None
    } else {
        transport_or_stop(pl.ip_number.0, pl.payload, base + hdr_len, stop)
    };
    Net::Ip(Ip {
        src: IpAddr::V6(h.source_addr()),
        dst: IpAddr::V6(h.destination_addr()),
        proto: pl.ip_number.0,
        ttl: h.hop_limit(),
        fragment,
        payload: pl.payload,
        transport,
    })
}

/// Finds the fragment header in an IPv6 extension chain starting with `next` (RFC 8200 §4).
fn ipv6_fragment(mut next: u8, exts: &[u8]) -> Option<Fragment> {
    let mut r = Reader::new(exts, Layer::Ip);
    for _ in 0..MAX_IPV6_EXT_HEADERS {
        match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6: length in 8-octet units.
            0 | 43 | 60 | 135 | 139 | 140 => {
                next = r.u8().ok()?;
                let len = usize::from(r.u8().ok()?) * 8 + 6;
                r.skip(len).ok()?;
            }
            // Authentication header (RFC 4302): length in 4-octet units, minus 2.
            51 => {
                next = r.u8().ok()?;
                let len = (usize::from(r.u8().ok()?) + 2) * 4 - 2;
                r.skip(len).ok()?;
            }
            44 => {
                r.skip(2).ok()?;
                let off_flags = r.u16().ok()?;
                let id = r.u32().ok()?;
                let offset = u32::from(off_flags >> 3) * 8;
                let more = off_flags & 1 == 1;
                return (offset != 0 || more).then_some(Fragment { id, offset, more });
            }
            _ => return None,
        }
    }
    None
}

fn transport_or_stop<'a>(
    proto: u8,
    payload: &'a [u8],
    base: usize,
    stop: &mut Option<ParseError>,
) -> Transport<'a> {
    match decode_transport(proto, payload) {
        Ok(t) => t,
        Err(e) => {
            *stop = Some(e.add_offset(base));
            Transport::None
        }
    }
}

/// Parses an SLL or SLL2 header: (protocol type, sender MAC when it is one, header length).
fn cooked_header(link: LinkType, frame: &[u8]) -> Result<(u16, Option<Mac>, usize), ParseError> {
    let mut r = Reader::new(frame, Layer::Link);
    if link == LinkType::LINUX_SLL {
        // packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
        r.skip(4)?;
        let alen = r.u16()?;
        let addr = r.array::<8>()?;
        let proto = r.u16()?;
        Ok((proto, mac_of(alen, addr), 16))
    } else {
        // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
        let proto = r.u16()?;
        r.skip(7)?;
        let alen = r.u8()?;
        let addr = r.array::<8>()?;
        Ok((proto, mac_of(u16::from(alen), addr), 20))
    }
}

fn mac_of(len: u16, addr: [u8; 8]) -> Option<Mac> {
    let [a, b, c, d, e, f, _, _] = addr;
    (len == 6).then_some([a, b, c, d, e, f])
}

impl Decoded<'_> {
    fn bare(net: Net<'static>) -> Decoded<'static> {
        Decoded {
            src_mac: None,
            dst_mac: None,
            vlans: [0, 0],
            net,
            stop: None,
            tunnel: None,
        }
    }
}

fn tcp_of<'a>(t: &etherparse::TcpSlice<'a>) -> Tcp<'a> {
    let mut flags = 0u8;
    for (on, bit) in [
        (t.fin(), TcpFlags::FIN),
        (t.syn(), TcpFlags::SYN),
        (t.rst(), TcpFlags::RST),
        (t.psh(), TcpFlags::PSH),
        (t.ack(), TcpFlags::ACK),
    ] {
        if on {
            flags |= bit;
        }
    }
    Tcp {
        sport: t.source_port(),
        dport: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: t.window_size(),
        payload: t.payload(),
    }
}

/// Decodes the transport layer of an IP payload (also of a reassembled datagram): `payload` is the whole IP
/// payload. UDP is lax about its length field (a capture cut by the snap length still decodes).
pub fn decode_transport(proto: u8, payload: &[u8]) -> Result<Transport<'_>, ParseError> {
    match proto {
        IPPROTO_UDP => match etherparse::UdpSlice::from_slice_lax(payload) {
            Ok(u) => Ok(Transport::Udp(Udp {
                sport: u.source_port(),
                dport: u.destination_port(),
                payload: u.payload(),
            })),
            Err(_) => Err(ParseError::new(ErrorKind::Truncated, Layer::Udp, 0)),
        },
        IPPROTO_TCP => match etherparse::TcpSlice::from_slice(payload) {
            Ok(t) => Ok(Transport::Tcp(tcp_of(&t))),
            Err(etherparse::err::tcp::HeaderSliceError::Len(_)) => {
                Err(ParseError::new(ErrorKind::Truncated, Layer::Tcp, 0))
            }
            Err(_) => Err(ParseError::new(ErrorKind::Invalid, Layer::Tcp, 0)),
        },
        _ => Ok(Transport::None),
    }
}

/// What the dispatcher needs to pick a worker: the flow's addresses, protocol and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowHint {
    /// Source address, IPv4 mapped into the low 4 bytes.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// IP protocol (after IPv6 extension headers; 44 when the fragment header could not be passed).
    pub proto: u8,
    /// Source port (0 when unknown).
    pub sport: u16,
    /// Destination port (0 when unknown).
    pub dport: u16,
    /// The packet is an IP fragment: hash the address pair only, so every fragment of a datagram meets.
    pub fragment: bool,
}

/// Upper bound on IPv6 extension headers walked by [`flow_hint`] (RFC 8200 §4.1 recommends each at most once;
/// eight covers every legitimate chain).
pub const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Reads just enough of a frame to hash its flow. `None` for frames without IP (ARP, other EtherTypes,
/// malformed): the dispatcher hashes those by their link addresses or sends them to a fixed worker.
///
/// A tunnel packet (as [`decode`] peels) is hashed by the flow of the frame inside it, so that mirrored flows
/// spread over workers as they would on the mirrored port.
pub fn flow_hint(link: LinkType, frame: &[u8]) -> Option<FlowHint> {
    flow_hint_at(link, frame, 0)
}

fn flow_hint_at(link: LinkType, frame: &[u8], depth: usize) -> Option<FlowHint> {
    let mut r = Reader::new(frame, Layer::Link);
    let ether_type = match link {
        LinkType::ETHERNET => {
            r.skip(12).ok()?;
            let mut et = r.u16().ok()?;
            let mut tags = 0;
            while (et == 0x8100 || et == 0x88a8 || et == 0x9100) && tags < 3 {
                r.skip(2).ok()?;
                et = r.u16().ok()?;
                tags += 1;
            }
            et
        }
        LinkType::LINUX_SLL => {
            r.skip(14).ok()?;
            r.u16().ok()?
        }
        LinkType::LINUX_SLL2 => {
            let et = r.u16().ok()?;
            r.skip(18).ok()?;
            et
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 | LinkType::IPV4 | LinkType::IPV6 => {
            match r.peek(1).ok()?.first()? >> 4 {
                4 => ETHERTYPE_IPV4,
                6 => ETHERTYPE_IPV6,
                _ => return None,
            }
        }
        LinkType::NULL => {
            r.skip(4).ok()?;
            match r.peek(1).ok()?.first()? >> 4 {
                4 => ETHERTYPE_IPV4,
                6 => ETHERTYPE_IPV6,
                _ => return None,
            }
        }
        _ => return None,
    };
    let mut h = FlowHint {
        src: [0; 16],
        dst: [0; 16],
        proto: 0,
        sport: 0,
        dport: 0,
        fragment: false,
    };
    match ether_type {
        ETHERTYPE_IPV4 => {
            let vihl = r.u8().ok()?;
            let ihl = usize::from(vihl & 0x0f) * 4;
            r.skip(5).ok()?;
            let frag = r.u16().ok()?;
            r.skip(1).ok()?;
            h.proto = r.u8().ok()?;
            r.skip(2).ok()?;
            let s = r.array::<4>().ok()?;
            let d = r.array::<4>().ok()?;
            h.src[12..].copy_from_slice(&s);
            h.dst[12..].copy_from_slice(&d);
            r.skip(ihl.checked_sub(20)?).ok()?;
            h.fragment = frag & 0x3fff != 0;
        }
        ETHERTYPE_IPV6 => {
            r.skip(6).ok()?;
            let mut next = r.u8().ok()?;
            r.skip(1).ok()?;
            h.src = r.array().ok()?;
            h.dst = r.array().ok()?;
            for _ in 0..MAX_IPV6_EXT_HEADERS {
                match next {
                    0 | 43 | 60 => {
                        next = r.u8().ok()?;
                        let len = usize::from(r.u8().ok()?) * 8 + 6;
                        r.skip(len).ok()?;
                    }
                    44 => {
                        // Any fragment header, even an atomic one, keeps the flow on the address-pair hash.
                        next = r.u8().ok()?;
                        r.skip(7).ok()?;
                        h.fragment = true;
                    }
                    51 => {
                        next = r.u8().ok()?;
                        let len = (usize::from(r.u8().ok()?) + 2) * 4 - 2;
                        r.skip(len).ok()?;
                    }
                    _ => break,
                }
            }
            h.proto = next;
        }
        _ => return None,
    }
    if !h.fragment && (h.proto == IPPROTO_TCP || h.proto == IPPROTO_UDP) {
        h.sport = r.u16().unwrap_or(0);
        h.dport = r.u16().unwrap_or(0);
    }
    if !h.fragment && depth < tunnel::MAX_TUNNELS {
        let inner = match (h.proto, h.dport) {
            (tunnel::IPPROTO_GRE, _) => tunnel::gre(r.rest()).ok(),
            (IPPROTO_UDP, tunnel::VXLAN_PORT) => {
                r.skip(4).ok().and_then(|()| tunnel::vxlan(r.rest()).ok())
            }
            (IPPROTO_UDP, tunnel::GENEVE_PORT) => {
                r.skip(4).ok().and_then(|()| tunnel::geneve(r.rest()).ok())
            }
            _ => None,
        };
        if let Some(i) = inner {
            return flow_hint_at(i.link, i.frame, depth + 1);
        }
    }
    Some(h)
}

impl fmt::Display for Decoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.net {
            Net::Ip(ip) => {
                write!(f, "{} > {} proto {}", ip.src, ip.dst, ip.proto)?;
                if let Some(fr) = ip.fragment {
                    write!(f, " frag id {} off {} more {}", fr.id, fr.offset, fr.more)?;
                }
                match &ip.transport {
                    Transport::Udp(u) => {
                        write!(f, " udp {} > {} len {}", u.sport, u.dport, u.payload.len())
                    }
                    Transport::Tcp(t) => write!(
                        f,
                        " tcp {} > {} [{:?}] seq {} ack {} len {}",
                        t.sport,
                        t.dport,
                        t.flags,
                        t.seq,
                        t.ack,
                        t.payload.len()
                    ),
                    Transport::None => Ok(()),
                }
            }
            Net::Arp(a) => write!(f, "{a}"),
            Net::Other(et) => write!(f, "ethertype {et:#06x}"),
            Net::None => write!(f, "no network layer"),
        }
    }
}

/// Maps an IPv4 address into the 16-byte form used by [`FlowHint`].
pub fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[12..].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The inverse of [`ip_bytes`] for addresses that came from it: zero-prefixed ones are IPv4.
pub fn ip_from_bytes(b: [u8; 16]) -> IpAddr {
    let [
        z0,
        z1,
        z2,
        z3,
        z4,
        z5,
        z6,
        z7,
        z8,
        z9,
        z10,
        z11,
        a,
        bb,
        c,
        d,
    ] = b;
    if [z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10, z11] == [0; 12] {
        IpAddr::V4(Ipv4Addr::new(a, bb, c, d))
    } else {
        IpAddr::V6(Ipv6Addr::from(b))
    }
}
