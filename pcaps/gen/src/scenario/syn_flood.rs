//! `syn-flood.pcap`: a PBX under two SYN floods, among ordinary SIP-over-TCP registrations.
//!
//! - [`PBX`] 10.0.3.1 (MAC 02:00:00:00:00:01) accepts TCP on 5060; 5061 is closed (answered with RST).
//!   Off-subnet traffic comes through [`GATEWAY`] 10.0.3.254 (MAC 02:00:00:00:00:fe), so spoofed SYNs
//!   carry the gateway's MAC as Ethernet source and the PBX's answers go to it.
//! - Benign: [`CLIENTS`] 10.0.3.10-19 each open [`BENIGN_PER_CLIENT`] connections to 5060 at random times
//!   in 0.5-58 s: SYN, SYN-ACK, ACK, a SIP REGISTER (1-2 segments), ACK, 200 OK, ACK, FIN/ACK both ways,
//!   ACK. Each client resolves the PBX by ARP before its first connection; the PBX resolves the gateway
//!   at 0 s.
//! - Attack 1: [`FLOOD1_START_SECS`]-[`FLOOD1_END_SECS`] s, [`FLOOD1_RATE`] SYN/s (evenly spaced, 0-200 µs
//!   jitter) to 10.0.3.1:5060 from random spoofed public IPv4 sources and random ports 1024-65535 (no
//!   options, random window and TTL); the PBX answers every one with SYN-ACK 20-60 µs later; no final
//!   ACK and no SYN-ACK retransmissions (SYN cookies). The brief asked for 2000 SYN/s: trimmed to 1500 to
//!   keep the file under 3 MB.
//! - Attack 2: [`FLOOD2_START_SECS`]-[`FLOOD2_END_SECS`] s, [`FLOOD2_RATE`] SYN/s from [`FLOOD2_SOURCE`]
//!   192.0.2.99 to 10.0.3.1:5061 with sequential source ports from [`FLOOD2_FIRST_PORT`]; each answered
//!   by RST/ACK.
//! - Capture length [`DURATION_SECS`] s.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use super::common::{TcpSpec, arp_exchange, register_over_tcp, tcp_session};
use super::{Host, MS, SEC, START_NANOS, US, at_millis, at_secs, sorted};
use crate::packet::{ACK, IPPROTO_TCP, RST, SYN, ip_frame, ipv4_packet, tcp_segment};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::USER_AGENTS;

/// The PBX, 10.0.3.1.
pub const PBX: Host = Host::v4(10, 0, 3, 1);
/// The router, 10.0.3.254, MAC 02:00:00:00:00:fe.
pub const GATEWAY: Host = Host::v4(10, 0, 3, 254);
/// Benign clients: 10.0.3.10 to 10.0.3.19.
pub const CLIENTS: (u8, u8) = (10, 19);
/// Connections per benign client.
pub const BENIGN_PER_CLIENT: u64 = 3;
/// First flood: start (seconds).
pub const FLOOD1_START_SECS: u64 = 20;
/// First flood: end (seconds).
pub const FLOOD1_END_SECS: u64 = 30;
/// First flood: SYNs per second (15 000 in all).
pub const FLOOD1_RATE: u64 = 1500;
/// Port of the first flood.
pub const FLOOD1_PORT: u16 = 5060;
/// Second flood: start (seconds).
pub const FLOOD2_START_SECS: u64 = 40;
/// Second flood: end (seconds).
pub const FLOOD2_END_SECS: u64 = 45;
/// Second flood: SYNs per second (2 500 in all).
pub const FLOOD2_RATE: u64 = 500;
/// Source of the second flood.
pub const FLOOD2_SOURCE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 99);
/// Port of the second flood (closed).
pub const FLOOD2_PORT: u16 = 5061;
/// First source port of the second flood; each SYN uses the next.
pub const FLOOD2_FIRST_PORT: u16 = 40000;
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 60;

/// A random unicast, public-looking IPv4 address (not 0/8, 10/8, 127/8, 169.254/16, 172.16/12,
/// 192.168/16, the documentation ranges or 224/3).
pub(crate) fn spoofed_source(rng: &mut Rng) -> Ipv4Addr {
    loop {
        let [a, b, c, d] = rng.next_u32().to_be_bytes();
        let private = matches!((a, b), (0 | 10 | 127, _) | (169, 254) | (192, 168))
            || (a == 172 && (16..32).contains(&b))
            || (a, b, c) == (192, 0, 2)
            || (a, b, c) == (198, 51, 100)
            || (a, b, c) == (203, 0, 113)
            || a >= 224;
        if !private && d != 0 && d != 255 {
            return Ipv4Addr::new(a, b, c, d);
        }
    }
}

/// A spoofed SYN flood burst to `victim`:`port` through `gateway`, each SYN answered by SYN-ACK.
pub(crate) fn spoofed_syn_flood(
    out: &mut Vec<Frame>,
    (from, to, rate): (u64, u64, u64),
    victim: Host,
    port: u16,
    gateway: Host,
    rng: &mut Rng,
) {
    let dst = SocketAddr::V4(SocketAddrV4::new(victim.ip, port));
    let count = (to - from) / SEC * rate;
    for k in 0..count {
        let ts = from + k * SEC / rate + rng.range(0, 200 * US);
        let src = SocketAddr::V4(SocketAddrV4::new(
            spoofed_source(rng),
            rng.range_u16(1024, 65535),
        ));
        let seq = rng.next_u32();
        let window = rng.range_u16(512, 65535);
        let ttl = u8::try_from(rng.range(40, 120)).unwrap_or(64);
        let syn = tcp_segment(src, dst, seq, 0, SYN, window, None, &[]);
        out.push(Frame::new(
            ts,
            ip_frame(
                gateway.mac,
                victim.mac,
                &ipv4_packet_ip(src, dst, ttl, &syn),
            ),
        ));
        let synack = tcp_segment(
            dst,
            src,
            rng.next_u32(),
            seq.wrapping_add(1),
            SYN | ACK,
            64240,
            Some(1460),
            &[],
        );
        let back = ts + rng.range(20 * US, 60 * US);
        out.push(Frame::new(
            back,
            ip_frame(
                victim.mac,
                gateway.mac,
                &ipv4_packet_ip(dst, src, 64, &synack),
            ),
        ));
    }
}

fn ipv4_packet_ip(src: SocketAddr, dst: SocketAddr, ttl: u8, seg: &[u8]) -> Vec<u8> {
    let (SocketAddr::V4(s), SocketAddr::V4(d)) = (src, dst) else {
        return Vec::new();
    };
    ipv4_packet(*s.ip(), *d.ip(), IPPROTO_TCP, ttl, seg)
}

/// Benign REGISTER connections from `clients` to `pbx`:5060, `per_client` each, spread over `window`.
pub(crate) fn benign_registrations(
    out: &mut Vec<Frame>,
    clients: &[Host],
    pbx: Host,
    per_client: u64,
    window: (u64, u64),
    rng: &mut Rng,
) {
    for (i, &c) in (0u64..).zip(clients) {
        let mut starts: Vec<u64> = (0..per_client)
            .map(|_| rng.range(window.0, window.1))
            .collect();
        starts.sort_unstable();
        if let Some(&first) = starts.first() {
            arp_exchange(out, first.saturating_sub(2 * MS), c, pbx, false, rng);
        }
        for (k, start) in (0u64..).zip(starts) {
            let port = u16::try_from(41_000 + i * 16 + k).unwrap_or(41_000);
            let ua = USER_AGENTS
                .get(usize::try_from(i).unwrap_or(0) % USER_AGENTS.len())
                .copied()
                .unwrap_or("");
            let user = format!("3{:03}", c.ip.octets()[3]);
            let ex = register_over_tcp(c, port, pbx, &user, ua, rng);
            let spec = TcpSpec {
                client: c,
                client_port: port,
                server: pbx,
                server_port: 5060,
                start,
                exchanges: vec![ex],
                max_pieces: 2,
                out_of_order: false,
                retransmit: false,
            };
            tcp_session(&spec, rng, out);
        }
    }
}

/// The SYN-flood scenario, sorted by time.
pub fn syn_flood(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0x5f10_0004);
    let mut out = Vec::new();
    arp_exchange(&mut out, START_NANOS, PBX, GATEWAY, false, &mut rng);
    let clients: Vec<Host> = (CLIENTS.0..=CLIENTS.1)
        .map(|n| Host::v4(10, 0, 3, n))
        .collect();
    let mut brng = rng.fork(1);
    benign_registrations(
        &mut out,
        &clients,
        PBX,
        BENIGN_PER_CLIENT,
        (at_millis(500), at_secs(58)),
        &mut brng,
    );

    let mut frng = rng.fork(2);
    let flood1 = (
        at_secs(FLOOD1_START_SECS),
        at_secs(FLOOD1_END_SECS),
        FLOOD1_RATE,
    );
    spoofed_syn_flood(&mut out, flood1, PBX, FLOOD1_PORT, GATEWAY, &mut frng);

    let dst = PBX.sock(FLOOD2_PORT);
    let count = (FLOOD2_END_SECS - FLOOD2_START_SECS) * FLOOD2_RATE;
    for k in 0..count {
        let ts = at_secs(FLOOD2_START_SECS) + k * SEC / FLOOD2_RATE + frng.range(0, 100 * US);
        let port = FLOOD2_FIRST_PORT.wrapping_add(u16::try_from(k).unwrap_or(0));
        let src = SocketAddr::V4(SocketAddrV4::new(FLOOD2_SOURCE, port));
        let seq = frng.next_u32();
        let syn = tcp_segment(src, dst, seq, 0, SYN, 512, None, &[]);
        out.push(Frame::new(
            ts,
            ip_frame(GATEWAY.mac, PBX.mac, &ipv4_packet_ip(src, dst, 52, &syn)),
        ));
        let rst = tcp_segment(dst, src, 0, seq.wrapping_add(1), RST | ACK, 0, None, &[]);
        let back = ts + frng.range(15 * US, 40 * US);
        out.push(Frame::new(
            back,
            ip_frame(PBX.mac, GATEWAY.mac, &ipv4_packet_ip(dst, src, 64, &rst)),
        ));
    }
    sorted(out)
}
