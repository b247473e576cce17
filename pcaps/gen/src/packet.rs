//! Frame builders: Ethernet II (optionally 802.1Q / 802.1ad tagged), ARP, IPv4 (with real fragmentation),
//! IPv6 (with a hop-by-hop header or fragmentation), UDP, TCP, ICMP, and the Linux cooked (SLL, SLL2) and
//! raw-IP re-wrappings of an Ethernet frame.
//!
//! Every length and checksum is filled in (IPv4 header, UDP, TCP, ICMP, VRRP). Ethernet frames shorter than
//! the 60-byte minimum (without FCS) are zero-padded, as a receiving NIC hands them to a capture; the IP
//! length fields exclude that padding, so parsers must trust them rather than the frame length.
//!
//! The builders are stateless, so the IPv4 identification of an unfragmented datagram is a hash of its
//! addresses and payload: deterministic, and different for different packets.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A MAC address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST: Mac = [0xff; 6];
/// The all-zero MAC (ARP requests and probes carry it as the target hardware address).
pub const ZERO_MAC: Mac = [0; 6];

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// TPID of an IEEE 802.1Q customer VLAN tag.
pub const TPID_8021Q: u16 = 0x8100;
/// TPID of an IEEE 802.1ad service VLAN tag (the outer tag of QinQ).
pub const TPID_8021AD: u16 = 0x88a8;

/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IPv6 next-header number of the hop-by-hop options header.
pub const IPPROTO_HOPOPTS: u8 = 0;
/// IPv6 next-header number of the fragment header.
pub const IPPROTO_FRAGMENT: u8 = 44;
/// IP protocol number of VRRP (RFC 3768).
pub const IPPROTO_VRRP: u8 = 112;

/// ARP operation: request (RFC 826).
pub const ARP_REQUEST: u16 = 1;
/// ARP operation: reply (RFC 826).
pub const ARP_REPLY: u16 = 2;

/// TCP flag FIN.
pub const FIN: u8 = 0x01;
/// TCP flag SYN.
pub const SYN: u8 = 0x02;
/// TCP flag RST.
pub const RST: u8 = 0x04;
/// TCP flag PSH.
pub const PSH: u8 = 0x08;
/// TCP flag ACK.
pub const ACK: u8 = 0x10;

/// Minimum Ethernet frame length without the FCS (IEEE 802.3: 64 bytes with it).
pub const MIN_FRAME_LEN: usize = 60;
/// Ethernet II header length.
pub const ETH_HEADER_LEN: usize = 14;
/// Default TTL / hop limit of the simulated hosts (Linux).
pub const DEFAULT_TTL: u8 = 64;
/// TCP window advertised by the simulated hosts (Linux's initial 64240).
pub const DEFAULT_WINDOW: u16 = 64240;
/// MSS option carried on SYN and SYN-ACK by [`tcp_frame`].
pub const DEFAULT_MSS: u16 = 1460;

/// The locally administered MAC `02:00:00:00:00:NN` every simulated host uses (NN is usually the last octet
/// of the host's IPv4 address).
pub const fn host_mac(n: u8) -> Mac {
    [0x02, 0, 0, 0, 0, n]
}

/// The locally administered MAC `02:00:00:00:HI:LO` (second NICs, and the bench's many hosts).
pub const fn host_mac2(hi: u8, lo: u8) -> Mac {
    [0x02, 0, 0, 0, hi, lo]
}

/// Internet checksum (RFC 1071) accumulator over several pieces, which may have odd lengths.
#[derive(Debug, Default)]
struct Checksum {
    sum: u64,
    odd: Option<u8>,
}

impl Checksum {
    fn add(&mut self, data: &[u8]) -> &mut Self {
        let mut rest = data;
        if let Some(hi) = self.odd.take() {
            if let Some((&lo, tail)) = rest.split_first() {
                self.sum += u64::from(u16::from_be_bytes([hi, lo]));
                rest = tail;
            } else {
                self.odd = Some(hi);
                return self;
            }
        }
        let mut pairs = rest.chunks_exact(2);
        for pair in &mut pairs {
            if let [a, b] = *pair {
                self.sum += u64::from(u16::from_be_bytes([a, b]));
            }
        }
        self.odd = pairs.remainder().first().copied();
        self
    }

    fn finish(&self) -> u16 {
        let mut sum = self.sum;
        if let Some(hi) = self.odd {
            sum += u64::from(u16::from_be_bytes([hi, 0]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !u16::try_from(sum).unwrap_or(u16::MAX)
    }
}

/// The RFC 1071 checksum of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    Checksum::default().add(data).finish()
}

/// `len` as a 16-bit length field, saturating (callers keep datagrams under 64 KiB).
fn len16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// FNV-1a over the pieces, folded to 16 bits: the IPv4 identification of unfragmented datagrams.
fn ip_id(pieces: &[&[u8]]) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for piece in pieces {
        for &b in *piece {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    u16::try_from((h >> 16) ^ (h & 0xffff)).unwrap_or(0)
}

/// An Ethernet II frame, zero-padded to [`MIN_FRAME_LEN`].
pub fn ethernet(src: Mac, dst: Mac, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity((ETH_HEADER_LEN + payload.len()).max(MIN_FRAME_LEN));
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    if f.len() < MIN_FRAME_LEN {
        f.resize(MIN_FRAME_LEN, 0);
    }
    f
}

/// Wraps an IP packet (IPv4 or IPv6, told by the version nibble) in an Ethernet frame.
pub fn ip_frame(src_mac: Mac, dst_mac: Mac, ip_packet: &[u8]) -> Vec<u8> {
    let ethertype = match ip_packet.first().map(|b| b >> 4) {
        Some(6) => ETHERTYPE_IPV6,
        _ => ETHERTYPE_IPV4,
    };
    ethernet(src_mac, dst_mac, ethertype, ip_packet)
}

/// Fields of an IPv4 header that vary between the builders.
#[derive(Debug, Clone, Copy)]
struct V4Header {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ttl: u8,
    id: u16,
    dont_fragment: bool,
    more_fragments: bool,
    /// Fragment offset in 8-byte units.
    frag_offset: u16,
    payload_len: usize,
}

impl V4Header {
    fn bytes(&self) -> [u8; 20] {
        let total = len16(20 + self.payload_len).to_be_bytes();
        let id = self.id.to_be_bytes();
        let mut flags_frag = self.frag_offset & 0x1fff;
        if self.dont_fragment {
            flags_frag |= 0x4000;
        }
        if self.more_fragments {
            flags_frag |= 0x2000;
        }
        let ff = flags_frag.to_be_bytes();
        let s = self.src.octets();
        let d = self.dst.octets();
        let mut h = [
            0x45, 0, total[0], total[1], id[0], id[1], ff[0], ff[1], self.ttl, self.proto, 0, 0,
            s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3],
        ];
        let c = internet_checksum(&h).to_be_bytes();
        h[10] = c[0];
        h[11] = c[1];
        h
    }
}

/// An IPv4 datagram (20-byte header, no options). TCP datagrams carry DF as Linux sends them; the
/// identification is a hash of addresses and payload.
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let h = V4Header {
        src,
        dst,
        proto,
        ttl,
        id: ip_id(&[&src.octets(), &dst.octets(), payload]),
        dont_fragment: proto == IPPROTO_TCP,
        more_fragments: false,
        frag_offset: 0,
        payload_len: payload.len(),
    };
    let mut p = Vec::with_capacity(20 + payload.len());
    p.extend_from_slice(&h.bytes());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet with no extension headers.
pub fn ipv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + payload.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&len16(payload.len()).to_be_bytes());
    p.push(next_header);
    p.push(hop_limit);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

/// An IP packet of the family of the addresses; a mixed pair is sent as IPv6 with the IPv4 address mapped
/// (`::ffff:a.b.c.d`).
pub fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4_packet(s, d, proto, ttl, payload),
        (s, d) => ipv6_packet(to_v6(s), to_v6(d), proto, ttl, payload),
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// Transport checksum over the IPv4 or IPv6 pseudo-header (RFC 768, RFC 793, RFC 8200 section 8.1).
fn transport_checksum(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let mut c = Checksum::default();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            c.add(&s.octets()).add(&d.octets()).add(&[0, proto]);
            c.add(&len16(segment.len()).to_be_bytes());
        }
        (s, d) => {
            c.add(&to_v6(s).octets()).add(&to_v6(d).octets());
            let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
            c.add(&len.to_be_bytes()).add(&[0, 0, 0, proto]);
        }
    }
    c.add(segment).finish()
}

/// A UDP header and payload with the checksum filled in (0 is sent as 0xffff, RFC 768).
pub fn udp_datagram(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&src.port().to_be_bytes());
    d.extend_from_slice(&dst.port().to_be_bytes());
    d.extend_from_slice(&len16(8 + payload.len()).to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let c = match transport_checksum(src.ip(), dst.ip(), IPPROTO_UDP, &d) {
        0 => 0xffff,
        c => c,
    };
    put_u16(&mut d, 6, c);
    d
}

/// Writes `v` big-endian at `at` when it fits.
fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    if let Some(dst) = buf.get_mut(at..at + 2) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}

/// A TCP segment (header and payload) with the checksum filled in. `mss` adds the MSS option (kind 2).
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the TCP header fields one to one"
)]
pub fn tcp_segment(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    mss: Option<u16>,
    payload: &[u8],
) -> Vec<u8> {
    let header_len: u8 = if mss.is_some() { 24 } else { 20 };
    let mut s = Vec::with_capacity(usize::from(header_len) + payload.len());
    s.extend_from_slice(&src.port().to_be_bytes());
    s.extend_from_slice(&dst.port().to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&ack.to_be_bytes());
    s.push((header_len / 4) << 4);
    s.push(flags);
    s.extend_from_slice(&window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    if let Some(mss) = mss {
        s.extend_from_slice(&[2, 4]);
        s.extend_from_slice(&mss.to_be_bytes());
    }
    s.extend_from_slice(payload);
    let c = transport_checksum(src.ip(), dst.ip(), IPPROTO_TCP, &s);
    put_u16(&mut s, 16, c);
    s
}

/// An Ethernet frame carrying a UDP datagram: IPv4 when both addresses are IPv4, otherwise IPv6 (an IPv4
/// address is then mapped). TTL 64; the IPv4 identification is a hash of the datagram.
pub fn udp_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Vec<u8> {
    let udp = udp_datagram(src, dst, payload);
    ip_frame(
        src_mac,
        dst_mac,
        &ip_packet(src.ip(), dst.ip(), IPPROTO_UDP, DEFAULT_TTL, &udp),
    )
}

/// An Ethernet frame carrying a TCP segment. `flags` uses [`FIN`] = 1, [`SYN`] = 2, [`RST`] = 4,
/// [`PSH`] = 8, [`ACK`] = 16. The window is 64240; segments with SYN carry an MSS option of 1460.
/// IPv4 datagrams have DF set, as Linux sends them.
#[expect(
    clippy::too_many_arguments,
    reason = "the signature other crates' tests were promised"
)]
pub fn tcp_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mss = (flags & SYN != 0).then_some(DEFAULT_MSS);
    let seg = tcp_segment(src, dst, seq, ack, flags, DEFAULT_WINDOW, mss, payload);
    ip_frame(
        src_mac,
        dst_mac,
        &ip_packet(src.ip(), dst.ip(), IPPROTO_TCP, DEFAULT_TTL, &seg),
    )
}

/// An ICMP (v4) message with its checksum: `icmp_type`, `code`, the 4-byte rest-of-header, and the data.
pub fn icmp_message(icmp_type: u8, code: u8, rest: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + data.len());
    m.extend_from_slice(&[icmp_type, code, 0, 0]);
    m.extend_from_slice(&rest);
    m.extend_from_slice(data);
    let c = internet_checksum(&m);
    put_u16(&mut m, 2, c);
    m
}

/// An Ethernet frame carrying an ICMP echo request (type 8) or reply (type 0).
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per header field, like the other builders"
)]
pub fn icmp_echo_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    reply: bool,
    ident: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let i = ident.to_be_bytes();
    let s = seq.to_be_bytes();
    let msg = icmp_message(if reply { 0 } else { 8 }, 0, [i[0], i[1], s[0], s[1]], data);
    ip_frame(
        src_mac,
        dst_mac,
        &ipv4_packet(src, dst, IPPROTO_ICMP, DEFAULT_TTL, &msg),
    )
}

/// An Ethernet ARP frame for IPv4 over Ethernet (RFC 826), padded to 60 bytes. `op` is [`ARP_REQUEST`] or
/// [`ARP_REPLY`]; the Ethernet addresses are independent of the ARP sender and target hardware addresses,
/// as they are on the wire.
pub fn arp_frame(
    eth_src: Mac,
    eth_dst: Mac,
    op: u16,
    sender_mac: Mac,
    sender_ip: Ipv4Addr,
    target_mac: Mac,
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut a = Vec::with_capacity(28);
    a.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sender_mac);
    a.extend_from_slice(&sender_ip.octets());
    a.extend_from_slice(&target_mac);
    a.extend_from_slice(&target_ip.octets());
    ethernet(eth_src, eth_dst, ETHERTYPE_ARP, &a)
}

/// Real IPv4 fragmentation (RFC 791) of one datagram whose payload is `ip_payload` (for UDP: the UDP
/// header and data, as [`udp_datagram`] makes them). Each fragment carries at most `mtu - 20` bytes, cut at
/// 8-byte boundaries; all but the last have MF set; DF is clear; TTL 64. A payload that fits in one
/// fragment gives one unfragmented datagram (offset 0, MF clear) with the given `id`.
#[expect(
    clippy::too_many_arguments,
    reason = "the signature other crates' tests were promised"
)]
pub fn ipv4_fragments(
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    proto: u8,
    ip_payload: &[u8],
    mtu: usize,
) -> Vec<Vec<u8>> {
    let per_fragment = (mtu.saturating_sub(20) & !7).max(8);
    let chunks: Vec<&[u8]> = if ip_payload.is_empty() {
        vec![ip_payload]
    } else {
        ip_payload.chunks(per_fragment).collect()
    };
    let last = chunks.len().saturating_sub(1);
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let h = V4Header {
                src,
                dst,
                proto,
                ttl: DEFAULT_TTL,
                id,
                dont_fragment: false,
                more_fragments: i < last,
                frag_offset: len16(i * per_fragment / 8),
                payload_len: chunk.len(),
            };
            let mut p = Vec::with_capacity(20 + chunk.len());
            p.extend_from_slice(&h.bytes());
            p.extend_from_slice(chunk);
            ip_frame(src_mac, dst_mac, &p)
        })
        .collect()
}

/// An IPv6 packet whose payload follows a hop-by-hop options header carrying a Router Alert option
/// (RFC 2711) padded with PadN to 8 bytes.
pub fn ipv6_hop_by_hop_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: u8,
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    // next header, hdr ext len 0 (8 bytes), Router Alert (type 5, len 2, value 0), PadN (type 1, len 0).
    let mut ext = vec![next_header, 0, 5, 2, 0, 0, 1, 0];
    ext.extend_from_slice(payload);
    ipv6_packet(src, dst, IPPROTO_HOPOPTS, hop_limit, &ext)
}

/// IPv6 fragmentation (RFC 8200 section 4.5) of an upper-layer payload: each packet is the fixed header, a
/// fragment header (identification `id`) and at most `mtu - 48` bytes cut at 8-byte boundaries.
pub fn ipv6_fragments(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    id: u32,
    next_header: u8,
    payload: &[u8],
    mtu: usize,
) -> Vec<Vec<u8>> {
    let per_fragment = (mtu.saturating_sub(48) & !7).max(8);
    let chunks: Vec<&[u8]> = payload.chunks(per_fragment).collect();
    let last = chunks.len().saturating_sub(1);
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let offset = len16(i * per_fragment / 8);
            let mut off_flags = offset << 3;
            if i < last {
                off_flags |= 1;
            }
            let mut body = vec![next_header, 0];
            body.extend_from_slice(&off_flags.to_be_bytes());
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(chunk);
            ipv6_packet(src, dst, IPPROTO_FRAGMENT, DEFAULT_TTL, &body)
        })
        .collect()
}

/// Inserts VLAN tags into an Ethernet frame, outermost first. With one id the tag is 802.1Q (0x8100);
/// with several, the outermost is 802.1ad (0x88a8, QinQ) and the inner ones 802.1Q. PCP and DEI are 0.
pub fn vlan_tag(eth_frame: &[u8], vlan_ids: &[u16]) -> Vec<u8> {
    let split = eth_frame.len().min(12);
    let (macs, rest) = eth_frame.split_at(split);
    let mut f = Vec::with_capacity(eth_frame.len() + 4 * vlan_ids.len());
    f.extend_from_slice(macs);
    for (i, id) in vlan_ids.iter().enumerate() {
        let tpid = if i == 0 && vlan_ids.len() > 1 {
            TPID_8021AD
        } else {
            TPID_8021Q
        };
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(rest);
    f
}

/// [`udp_frame`] with VLAN tags (see [`vlan_tag`]: one id is 802.1Q, two or more are QinQ with an 802.1ad
/// outer tag).
pub fn vlan_udp_frame(
    vlan_ids: &[u16],
    src_mac: Mac,
    dst_mac: Mac,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Vec<u8> {
    vlan_tag(&udp_frame(src_mac, dst_mac, src, dst, payload), vlan_ids)
}

/// Linux `PACKET_*` type of a frame seen by the capturing host, from its destination MAC: 0 (to us),
/// 1 (broadcast), 2 (multicast).
fn sll_packet_type(eth_frame: &[u8]) -> u16 {
    match eth_frame.get(0..6) {
        Some(dst) if dst == BROADCAST => 1,
        Some(dst) if dst.first().is_some_and(|b| b & 1 == 1) => 2,
        _ => 0,
    }
}

/// Splits an Ethernet frame into (source MAC, EtherType, payload); missing bytes read as zeros.
fn eth_parts(eth_frame: &[u8]) -> ([u8; 8], u16, &[u8]) {
    let mut addr = [0u8; 8];
    if let Some(src) = eth_frame.get(6..12) {
        addr[..6].copy_from_slice(src);
    }
    let ethertype = eth_frame
        .get(12..14)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_be_bytes);
    (addr, ethertype, eth_frame.get(14..).unwrap_or(&[]))
}

/// Re-wraps an Ethernet frame as Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 16-byte header): packet type
/// from the destination MAC, ARPHRD_ETHER, the source MAC as link-layer address, and the EtherType.
pub fn sll_frame(eth_frame: &[u8]) -> Vec<u8> {
    let (addr, ethertype, payload) = eth_parts(eth_frame);
    let mut f = Vec::with_capacity(16 + payload.len());
    f.extend_from_slice(&sll_packet_type(eth_frame).to_be_bytes());
    f.extend_from_slice(&1u16.to_be_bytes());
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&addr);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Interface index written in SLL2 headers.
pub const SLL2_IFINDEX: u32 = 2;

/// Re-wraps an Ethernet frame as Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 20-byte header): EtherType,
/// reserved, interface index [`SLL2_IFINDEX`], ARPHRD_ETHER, packet type, address length 6, address.
pub fn sll2_frame(eth_frame: &[u8]) -> Vec<u8> {
    let (addr, ethertype, payload) = eth_parts(eth_frame);
    let mut f = Vec::with_capacity(20 + payload.len());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&SLL2_IFINDEX.to_be_bytes());
    f.extend_from_slice(&1u16.to_be_bytes());
    f.push(sll_packet_type(eth_frame).to_be_bytes()[1]);
    f.push(6);
    f.extend_from_slice(&addr);
    f.extend_from_slice(payload);
    f
}

/// The IP packet inside an Ethernet frame (after any VLAN tags), cut to the IP length fields so the
/// Ethernet padding is dropped: a LINKTYPE_RAW record. `None` when the frame does not carry IP (ARP).
pub fn raw_ip(eth_frame: &[u8]) -> Option<Vec<u8>> {
    let mut at = 12;
    let mut ethertype = u16::from_be_bytes(eth_frame.get(at..at + 2)?.try_into().ok()?);
    while ethertype == TPID_8021Q || ethertype == TPID_8021AD {
        at += 4;
        ethertype = u16::from_be_bytes(eth_frame.get(at..at + 2)?.try_into().ok()?);
    }
    let ip = eth_frame.get(at + 2..)?;
    let len = match ethertype {
        ETHERTYPE_IPV4 => usize::from(u16::from_be_bytes(ip.get(2..4)?.try_into().ok()?)),
        ETHERTYPE_IPV6 => 40 + usize::from(u16::from_be_bytes(ip.get(4..6)?.try_into().ok()?)),
        _ => return None,
    };
    Some(ip.get(..len.min(ip.len()))?.to_vec())
}

/// Replaces the destination and source MACs of an Ethernet frame in place (a forwarding host re-sending it).
pub fn set_macs(eth_frame: &mut [u8], src: Mac, dst: Mac) {
    if let Some(d) = eth_frame.get_mut(0..6) {
        d.copy_from_slice(&dst);
    }
    if let Some(s) = eth_frame.get_mut(6..12) {
        s.copy_from_slice(&src);
    }
}

/// The (source, destination) MACs of an Ethernet frame.
pub fn macs(eth_frame: &[u8]) -> Option<(Mac, Mac)> {
    let dst: Mac = eth_frame.get(0..6)?.try_into().ok()?;
    let src: Mac = eth_frame.get(6..12)?.try_into().ok()?;
    Some((src, dst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{
        IpNumber, LinkSlice, NetSlice, SlicedPacket, TransportSlice, defrag::IpDefragPool,
    };

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2, so the checksum is 220d.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        let mut c = Checksum::default();
        c.add(&[0x00, 0x01, 0xf2])
            .add(&[0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(c.finish(), 0x220d);
    }

    #[test]
    fn udp_frame_parses_back_with_valid_checksums() {
        let payload = b"OPTIONS sip:x SIP/2.0\r\n\r\n";
        let f = udp_frame(
            host_mac(1),
            host_mac(2),
            sa("10.0.0.1:5060"),
            sa("10.0.0.2:5070"),
            payload,
        );
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            panic!("not ipv4")
        };
        assert_eq!(
            ip.header().header_checksum(),
            ip.header().to_header().calc_header_checksum()
        );
        let Some(TransportSlice::Udp(udp)) = &p.transport else {
            panic!("not udp")
        };
        assert_eq!(udp.source_port(), 5060);
        assert_eq!(udp.destination_port(), 5070);
        assert_eq!(udp.payload(), payload);
        let h = udp.to_header();
        let expected = h
            .calc_checksum_ipv4_raw(
                ip.header().source(),
                ip.header().destination(),
                udp.payload(),
            )
            .unwrap();
        assert_eq!(h.checksum, expected);
        assert_eq!(f.len(), 14 + 20 + 8 + payload.len());
    }

    #[test]
    fn ipv6_udp_frame_parses_back_with_valid_checksum() {
        let f = udp_frame(
            host_mac(1),
            host_mac(2),
            sa("[2001:db8::1]:5060"),
            sa("[2001:db8::2]:5060"),
            b"hi",
        );
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(NetSlice::Ipv6(ip)) = &p.net else {
            panic!("not ipv6")
        };
        let Some(TransportSlice::Udp(udp)) = &p.transport else {
            panic!("not udp")
        };
        let h = udp.to_header();
        let expected = h
            .calc_checksum_ipv6_raw(
                ip.header().source(),
                ip.header().destination(),
                udp.payload(),
            )
            .unwrap();
        assert_eq!(h.checksum, expected);
        assert_eq!(udp.payload(), b"hi");
    }

    #[test]
    fn short_frames_are_padded_and_ip_length_excludes_padding() {
        let f = tcp_frame(
            host_mac(1),
            host_mac(2),
            sa("10.0.0.1:1000"),
            sa("10.0.0.2:5060"),
            7,
            9,
            ACK,
            &[],
        );
        assert_eq!(f.len(), MIN_FRAME_LEN);
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
            panic!("not tcp")
        };
        assert!(tcp.payload().is_empty());
        assert!(tcp.ack());
        assert_eq!(tcp.sequence_number(), 7);
        assert_eq!(tcp.acknowledgment_number(), 9);
    }

    #[test]
    fn tcp_frame_parses_back_with_valid_checksum_and_mss_on_syn() {
        let payload = b"REGISTER sip:10.0.3.1 SIP/2.0\r\n";
        for (flags, data) in [
            (SYN, &b""[..]),
            (PSH | ACK, &payload[..]),
            (FIN | ACK, &b""[..]),
        ] {
            let f = tcp_frame(
                host_mac(1),
                host_mac(2),
                sa("10.0.3.10:40000"),
                sa("10.0.3.1:5060"),
                1,
                2,
                flags,
                data,
            );
            let p = SlicedPacket::from_ethernet(&f).unwrap();
            let Some(NetSlice::Ipv4(ip)) = &p.net else {
                panic!("not ipv4")
            };
            let Some(TransportSlice::Tcp(tcp)) = &p.transport else {
                panic!("not tcp")
            };
            let expected = tcp
                .calc_checksum_ipv4(ip.header().source(), ip.header().destination())
                .unwrap();
            assert_eq!(tcp.checksum(), expected);
            assert_eq!(tcp.payload(), data);
            assert_eq!(tcp.syn(), flags & SYN != 0);
            assert_eq!(tcp.fin(), flags & FIN != 0);
            assert_eq!(tcp.data_offset(), if flags & SYN != 0 { 6 } else { 5 });
        }
    }

    #[test]
    fn arp_frame_parses_back() {
        let f = arp_frame(
            host_mac(1),
            BROADCAST,
            ARP_REQUEST,
            host_mac(1),
            Ipv4Addr::new(10, 0, 1, 1),
            ZERO_MAC,
            Ipv4Addr::new(10, 0, 1, 10),
        );
        assert_eq!(f.len(), MIN_FRAME_LEN);
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        let Some(NetSlice::Arp(arp)) = &p.net else {
            panic!("not arp")
        };
        assert_eq!(arp.operation().0, ARP_REQUEST);
        assert_eq!(arp.sender_hw_addr(), host_mac(1));
        assert_eq!(arp.sender_protocol_addr(), [10, 0, 1, 1]);
        assert_eq!(arp.target_hw_addr(), ZERO_MAC);
        assert_eq!(arp.target_protocol_addr(), [10, 0, 1, 10]);
    }

    #[test]
    fn ipv4_fragments_reassemble_to_the_original_payload() {
        let src = sa("10.0.0.13:5060");
        let dst = sa("10.0.0.1:5060");
        let body: Vec<u8> = (0..2972u32).map(|i| (i % 251) as u8).collect();
        let udp = udp_datagram(src, dst, &body);
        let frags = ipv4_fragments(
            host_mac(13),
            host_mac(1),
            Ipv4Addr::new(10, 0, 0, 13),
            Ipv4Addr::new(10, 0, 0, 1),
            0x1234,
            IPPROTO_UDP,
            &udp,
            1500,
        );
        assert_eq!(frags.len(), 3);
        assert_eq!(frags[0].len(), 14 + 1500);
        let mut pool: IpDefragPool<(), ()> = IpDefragPool::new();
        let mut out = None;
        // Feed them out of order: reassembly must not depend on arrival order.
        for i in [2usize, 0, 1] {
            let p = SlicedPacket::from_ethernet(&frags[i]).unwrap();
            assert!(p.is_ip_payload_fragmented());
            if let Some(done) = pool.process_sliced_packet(&p, (), ()).unwrap() {
                out = Some(done);
            }
        }
        let done = out.expect("reassembled");
        assert_eq!(done.ip_number, IpNumber::UDP);
        assert_eq!(done.payload, udp);
    }

    #[test]
    fn ipv6_fragments_reassemble_to_the_original_payload() {
        let src: Ipv6Addr = "2001:db8:5::11".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8:5::1".parse().unwrap();
        let udp = udp_datagram(
            SocketAddr::new(src.into(), 5060),
            SocketAddr::new(dst.into(), 5060),
            &[0x41; 1800],
        );
        let frags = ipv6_fragments(src, dst, 0xabcd, IPPROTO_UDP, &udp, 1280);
        assert_eq!(frags.len(), 2);
        let mut pool: IpDefragPool<(), ()> = IpDefragPool::new();
        let mut out = None;
        for f in &frags {
            let p = SlicedPacket::from_ip(f).unwrap();
            if let Some(done) = pool.process_sliced_packet(&p, (), ()).unwrap() {
                out = Some(done);
            }
        }
        assert_eq!(out.expect("reassembled").payload, udp);
    }

    #[test]
    fn hop_by_hop_packet_parses_to_udp() {
        let src: Ipv6Addr = "2001:db8:5::11".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8:5::1".parse().unwrap();
        let udp = udp_datagram(
            SocketAddr::new(src.into(), 5060),
            SocketAddr::new(dst.into(), 5060),
            b"x",
        );
        let pkt = ipv6_hop_by_hop_packet(src, dst, IPPROTO_UDP, 64, &udp);
        let p = SlicedPacket::from_ip(&pkt).unwrap();
        let Some(TransportSlice::Udp(u)) = &p.transport else {
            panic!("not udp")
        };
        assert_eq!(u.payload(), b"x");
    }

    #[test]
    fn vlan_and_qinq_frames_parse_back() {
        let f = vlan_udp_frame(
            &[100],
            host_mac(1),
            host_mac(2),
            sa("10.0.0.1:1"),
            sa("10.0.0.2:2"),
            b"a",
        );
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        assert_eq!(
            p.vlan_ids().iter().map(|v| v.value()).collect::<Vec<_>>(),
            vec![100]
        );
        assert!(matches!(p.transport, Some(TransportSlice::Udp(_))));
        let f = vlan_udp_frame(
            &[200, 100],
            host_mac(1),
            host_mac(2),
            sa("10.0.0.1:1"),
            sa("10.0.0.2:2"),
            b"a",
        );
        assert_eq!(&f[12..14], &TPID_8021AD.to_be_bytes());
        assert_eq!(&f[16..18], &TPID_8021Q.to_be_bytes());
        let p = SlicedPacket::from_ethernet(&f).unwrap();
        assert_eq!(
            p.vlan_ids().iter().map(|v| v.value()).collect::<Vec<_>>(),
            vec![200, 100]
        );
        assert!(matches!(p.transport, Some(TransportSlice::Udp(_))));
    }

    #[test]
    fn sll_and_raw_wrappers_parse_back() {
        let eth = udp_frame(
            host_mac(1),
            host_mac(2),
            sa("10.0.0.1:1"),
            sa("10.0.0.2:2"),
            b"abc",
        );
        let sll = sll_frame(&eth);
        assert_eq!(sll.len(), eth.len() + 2);
        let p = SlicedPacket::from_linux_sll(&sll).unwrap();
        assert!(matches!(p.link, Some(LinkSlice::LinuxSll(_))));
        let Some(TransportSlice::Udp(u)) = &p.transport else {
            panic!("not udp")
        };
        assert_eq!(u.payload(), b"abc");

        let sll2 = sll2_frame(&eth);
        assert_eq!(sll2.len(), eth.len() + 6);
        assert_eq!(&sll2[0..2], &ETHERTYPE_IPV4.to_be_bytes());
        assert_eq!(&sll2[12..18], &host_mac(1));
        let p = SlicedPacket::from_ip(&sll2[20..]).unwrap();
        assert!(matches!(p.transport, Some(TransportSlice::Udp(_))));

        // The 60-byte padded frame loses its padding as raw IP.
        let raw = raw_ip(&eth).unwrap();
        assert_eq!(raw.len(), 20 + 8 + 3);
        let p = SlicedPacket::from_ip(&raw).unwrap();
        assert!(matches!(p.transport, Some(TransportSlice::Udp(_))));
        let arp = arp_frame(
            host_mac(1),
            BROADCAST,
            1,
            host_mac(1),
            Ipv4Addr::LOCALHOST,
            ZERO_MAC,
            Ipv4Addr::LOCALHOST,
        );
        assert!(raw_ip(&arp).is_none());
        assert_eq!(raw_ip(&vlan_tag(&eth, &[5, 6])).unwrap(), raw);
    }
}
