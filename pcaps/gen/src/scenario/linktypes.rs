//! `linktypes-*`: the same 20 small packets under every link type the sensor reads.
//!
//! The packets ([`base_frames`], 10 ms apart from `START`, each stamp with a sub-microsecond part
//! `k * 111 ns`), between [`HOST_A`] 10.0.5.11 / 2001:db8:5::11 (MAC :0b) and [`HOST_B`] 10.0.5.1 /
//! 2001:db8:5::1 (MAC :01):
//!
//! | # | packet |
//! |---|---|
//! | 0-1 | ARP request A for B (broadcast), reply |
//! | 2-3 | SIP OPTIONS over UDP 5060, 200 OK |
//! | 4-7 | RTP PCMU A:20000 and B:30000, two each way, alternating |
//! | 8-9 | one SIP MESSAGE over UDP (~2000-byte datagram, IPv4 id 0x5a5a) as two IPv4 fragments |
//! | 10-16 | TCP A:40000 to B:5060: SYN, SYN-ACK, REGISTER (PSH/ACK), 200 OK (PSH/ACK), FIN/ACK, FIN/ACK, ACK |
//! | 17 | IPv6 UDP SIP OPTIONS after a hop-by-hop header (Router Alert) |
//! | 18-19 | one IPv6 UDP SIP MESSAGE (~1800 bytes, fragment id 0x00c0ffee) as two IPv6 fragments (MTU 1280) |
//!
//! Files: `-vlan` (802.1Q VLAN [`VLAN_ID`], µs), `-qinq` (802.1ad outer [`OUTER_VLAN_ID`] + 802.1Q inner
//! [`VLAN_ID`], µs), `-sll` (Linux cooked v1, µs), `-sll2` (Linux cooked v2, ns), `-raw` (LINKTYPE_RAW,
//! the 18 IP packets without ARP, ns), `-multi.pcapng` (interface 0 Ethernet with `if_tsresol` 10^-6
//! carrying packets 0-9, interface 1 Linux SLL with 10^-9 carrying packets 10-19).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::common::register_over_tcp;
use super::{Host, MS, START_NANOS};
use crate::packet::{
    ACK, ARP_REPLY, ARP_REQUEST, BROADCAST, FIN, IPPROTO_UDP, PSH, SYN, ZERO_MAC, arp_frame,
    ip_frame, ipv4_fragments, ipv6_fragments, ipv6_hop_by_hop_packet, raw_ip, sll_frame,
    sll2_frame, tcp_frame, udp_datagram, udp_frame, vlan_tag,
};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::rtp::Stream;
use crate::sip::{self, Codec, Message};

/// Host A, 10.0.5.11.
pub const HOST_A: Host = Host::v4(10, 0, 5, 11);
/// Host B, 10.0.5.1.
pub const HOST_B: Host = Host::v4(10, 0, 5, 1);
/// Host A's IPv6 address.
pub const HOST_A_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 5, 0, 0, 0, 0, 0x11);
/// Host B's IPv6 address.
pub const HOST_B_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 5, 0, 0, 0, 0, 1);
/// The 802.1Q VLAN (inner tag in QinQ).
pub const VLAN_ID: u16 = 100;
/// The 802.1ad service VLAN of the QinQ file.
pub const OUTER_VLAN_ID: u16 = 300;
/// Number of base packets.
pub const PACKETS: usize = 20;

/// The 20 link-layer variants of the base packets.
#[derive(Debug, Clone)]
pub struct LinkTypes {
    /// Ethernet with one 802.1Q tag.
    pub vlan: Vec<Frame>,
    /// Ethernet with 802.1ad + 802.1Q tags.
    pub qinq: Vec<Frame>,
    /// Linux cooked capture v1.
    pub sll: Vec<Frame>,
    /// Linux cooked capture v2.
    pub sll2: Vec<Frame>,
    /// Raw IP (the ARP packets are left out).
    pub raw: Vec<Frame>,
    /// (interface id, frame) for the pcapng: 0 = Ethernet, 1 = Linux SLL.
    pub multi: Vec<(u32, Frame)>,
}

fn options(from: IpAddr, to: IpAddr, rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let via = format!(
        "SIP/2.0/UDP {};branch={};rport",
        sip::hostport(from, 5060),
        sip::branch(rng)
    );
    let tag = rng.hex(10);
    let call_id = format!("{}@{}", rng.hex(16), sip::host(from));
    let req = Message::request("OPTIONS", &format!("sip:{}", sip::hostport(to, 5060)))
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header("From", format!("<sip:1011@{}>;tag={tag}", sip::host(to)))
        .header("To", format!("<sip:{}>", sip::host(to)))
        .header("Call-ID", call_id.clone())
        .header("CSeq", "1 OPTIONS")
        .header("User-Agent", "snom D785/10.1.73.16")
        .into_bytes();
    let resp = Message::response(200, "OK")
        .header("Via", via)
        .header("From", format!("<sip:1011@{}>;tag={tag}", sip::host(to)))
        .header(
            "To",
            format!("<sip:{}>;tag=as{}", sip::host(to), rng.hex(8)),
        )
        .header("Call-ID", call_id)
        .header("CSeq", "1 OPTIONS")
        .header("Server", sip::SERVER)
        .into_bytes();
    (req, resp)
}

fn big_message(from: IpAddr, to: IpAddr, body_len: usize, rng: &mut Rng) -> Vec<u8> {
    let text: String = (0..body_len)
        .map(|i| if i % 64 == 63 { '\n' } else { 'a' })
        .collect();
    Message::request("MESSAGE", &format!("sip:2001@{}", sip::host(to)))
        .header(
            "Via",
            format!(
                "SIP/2.0/UDP {};branch={}",
                sip::hostport(from, 5060),
                sip::branch(rng)
            ),
        )
        .header("Max-Forwards", "70")
        .header(
            "From",
            format!("<sip:1011@{}>;tag={}", sip::host(to), rng.hex(10)),
        )
        .header("To", format!("<sip:2001@{}>", sip::host(to)))
        .header("Call-ID", format!("{}@{}", rng.hex(16), sip::host(from)))
        .header("CSeq", "1 MESSAGE")
        .body("text/plain", text)
        .into_bytes()
}

/// The 20 base packets as Ethernet frames.
pub fn base_frames(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0x1a7e_0008);
    let (a, b) = (HOST_A, HOST_B);
    let mut f: Vec<Vec<u8>> = Vec::with_capacity(PACKETS);
    f.push(arp_frame(
        a.mac,
        BROADCAST,
        ARP_REQUEST,
        a.mac,
        a.ip,
        ZERO_MAC,
        b.ip,
    ));
    f.push(arp_frame(b.mac, a.mac, ARP_REPLY, b.mac, b.ip, a.mac, a.ip));
    let (req, resp) = options(a.ip.into(), b.ip.into(), &mut rng);
    f.push(udp_frame(a.mac, b.mac, a.sock(5060), b.sock(5060), &req));
    f.push(udp_frame(b.mac, a.mac, b.sock(5060), a.sock(5060), &resp));
    let mut sa = Stream::new(&mut rng, Codec::Pcmu);
    let mut sb = Stream::new(&mut rng, Codec::Pcmu);
    for _ in 0..2 {
        f.push(udp_frame(
            a.mac,
            b.mac,
            a.sock(20000),
            b.sock(30000),
            &sa.next_packet(&mut rng),
        ));
        f.push(udp_frame(
            b.mac,
            a.mac,
            b.sock(30000),
            a.sock(20000),
            &sb.next_packet(&mut rng),
        ));
    }
    let msg = big_message(a.ip.into(), b.ip.into(), 1700, &mut rng);
    let dgram = udp_datagram(a.sock(5060), b.sock(5060), &msg);
    f.extend(ipv4_fragments(
        a.mac,
        b.mac,
        a.ip,
        b.ip,
        0x5a5a,
        IPPROTO_UDP,
        &dgram,
        1500,
    ));

    let (ca, sb_) = (a.sock(40000), b.sock(5060));
    let ex = register_over_tcp(a, 40000, b, "1011", "snom D785/10.1.73.16", &mut rng);
    let (ic, is) = (rng.next_u32(), rng.next_u32());
    let c1 = ic.wrapping_add(1);
    let s1 = is.wrapping_add(1);
    let c2 = c1.wrapping_add(u32::try_from(ex.request.len()).unwrap_or(0));
    let s2 = s1.wrapping_add(u32::try_from(ex.response.len()).unwrap_or(0));
    f.push(tcp_frame(a.mac, b.mac, ca, sb_, ic, 0, SYN, &[]));
    f.push(tcp_frame(b.mac, a.mac, sb_, ca, is, c1, SYN | ACK, &[]));
    f.push(tcp_frame(
        a.mac,
        b.mac,
        ca,
        sb_,
        c1,
        s1,
        PSH | ACK,
        &ex.request,
    ));
    f.push(tcp_frame(
        b.mac,
        a.mac,
        sb_,
        ca,
        s1,
        c2,
        PSH | ACK,
        &ex.response,
    ));
    f.push(tcp_frame(a.mac, b.mac, ca, sb_, c2, s2, FIN | ACK, &[]));
    f.push(tcp_frame(
        b.mac,
        a.mac,
        sb_,
        ca,
        s2,
        c2.wrapping_add(1),
        FIN | ACK,
        &[],
    ));
    f.push(tcp_frame(
        a.mac,
        b.mac,
        ca,
        sb_,
        c2.wrapping_add(1),
        s2.wrapping_add(1),
        ACK,
        &[],
    ));

    let (a6, b6) = (
        SocketAddr::new(HOST_A_V6.into(), 5060),
        SocketAddr::new(HOST_B_V6.into(), 5060),
    );
    let (req6, _) = options(HOST_A_V6.into(), HOST_B_V6.into(), &mut rng);
    let hbh = ipv6_hop_by_hop_packet(
        HOST_A_V6,
        HOST_B_V6,
        IPPROTO_UDP,
        64,
        &udp_datagram(a6, b6, &req6),
    );
    f.push(ip_frame(a.mac, b.mac, &hbh));
    let msg6 = big_message(HOST_A_V6.into(), HOST_B_V6.into(), 1500, &mut rng);
    let dgram6 = udp_datagram(a6, b6, &msg6);
    for frag in ipv6_fragments(
        HOST_A_V6,
        HOST_B_V6,
        0x00c0_ffee,
        IPPROTO_UDP,
        &dgram6,
        1280,
    ) {
        f.push(ip_frame(a.mac, b.mac, &frag));
    }
    (0u64..)
        .zip(f)
        .map(|(k, data)| Frame::new(START_NANOS + k * 10 * MS + k * 111, data))
        .collect()
}

/// Every link-layer variant of [`base_frames`].
pub fn linktypes(seed: u64) -> LinkTypes {
    let base = base_frames(seed);
    let map = |wrap: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<Frame> {
        base.iter()
            .map(|f| Frame::new(f.ts_nanos, wrap(&f.data)))
            .collect()
    };
    let half = PACKETS / 2;
    LinkTypes {
        vlan: map(&|d| vlan_tag(d, &[VLAN_ID])),
        qinq: map(&|d| vlan_tag(d, &[OUTER_VLAN_ID, VLAN_ID])),
        sll: map(&sll_frame),
        sll2: map(&sll2_frame),
        raw: base
            .iter()
            .filter_map(|f| Some(Frame::new(f.ts_nanos, raw_ip(&f.data)?)))
            .collect(),
        multi: (0usize..)
            .zip(&base)
            .map(|(k, f)| {
                if k < half {
                    (0, f.clone())
                } else {
                    (1, Frame::new(f.ts_nanos, sll_frame(&f.data)))
                }
            })
            .collect(),
    }
}
