//! Mirrored frames in a tunnel go through the worker as the frames inside; a tunnel packet that was fragmented on
//! its way to the sensor is counted (`malformed.tunnel`) and not decoded, whatever the number of workers.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard::stats::Proto;
use callguard::worker::Worker;
use callguard_parsers::Layer;
use callguard_parsers::link::LinkType;
use callguard_rules::event::Payload;
use callguard_rules::time::PacketTime;

const INVITE: &[u8] = b"INVITE sip:1002@10.77.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.77.0.11:5062;branch=z9hG4bK-1\r\nFrom: <sip:1001@10.77.0.1>;tag=a\r\nTo: <sip:1002@10.77.0.1>\r\nCall-ID: tunnel-1@10.77.0.11\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

fn ipv4(proto: u8, body: &[u8], src: [u8; 4], dst: [u8; 4], frag: u16) -> Vec<u8> {
    let total = u16::try_from(20 + body.len()).unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 9]);
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(body);
    h
}

fn eth(ip: Vec<u8>) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend(ip);
    f
}

/// The mirrored frame: 10.77.0.11:5062 -> 10.77.0.1:5060, the INVITE.
fn mirrored() -> Vec<u8> {
    let mut u = vec![0x13, 0xc6, 0x13, 0xc4];
    u.extend_from_slice(&u16::try_from(8 + INVITE.len()).unwrap().to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(INVITE);
    eth(ipv4(17, &u, [10, 77, 0, 11], [10, 77, 0, 1], 0))
}

/// GRE + ERSPAN type II around `frame`.
fn erspan(frame: &[u8]) -> Vec<u8> {
    let mut g = vec![
        0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 7, 0, 0, 0, 0,
    ];
    g.extend_from_slice(frame);
    g
}

/// A GRE datagram (192.0.2.1 -> 192.0.2.2) of `body` cut in two IP fragments at byte 64 (a multiple of 8): id
/// 9, offsets 0 and 64.
fn gre_in_two(body: &[u8]) -> [Vec<u8>; 2] {
    let (src, dst) = ([192, 0, 2, 1], [192, 0, 2, 2]);
    [
        eth(ipv4(47, &body[..64], src, dst, 0x2000)),
        eth(ipv4(47, &body[64..], src, dst, 64 / 8)),
    ]
}

fn sip_events(w: &mut Worker, frames: &[Vec<u8>]) -> usize {
    let mut events = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        w.packet(
            i as u64,
            PacketTime::from_secs(1_000),
            LinkType::ETHERNET,
            f,
            &mut events,
        );
    }
    events
        .iter()
        .filter(|e| matches!(e.payload, Payload::Sip(_)))
        .count()
}

#[test]
fn an_erspan_frame_is_the_sip_message_inside_it() {
    let mut w = Worker::new();
    let f = eth(ipv4(
        47,
        &erspan(&mirrored()),
        [192, 0, 2, 1],
        [192, 0, 2, 2],
        0,
    ));
    assert_eq!(sip_events(&mut w, &[f]), 1);
    let c = w.counters();
    assert_eq!(c.proto[Proto::Erspan as usize], 1);
    assert_eq!(c.proto[Proto::Sip as usize], 1);
    assert_eq!(c.malformed[Layer::Tunnel.index()], 0);
}

#[test]
fn a_fragmented_tunnel_packet_is_counted_not_decoded() {
    let body = erspan(&mirrored());
    let [first, second] = gre_in_two(&body);
    let mut w = Worker::new();
    assert_eq!(sip_events(&mut w, &[first, second]), 0);
    let c = w.counters();
    assert_eq!(c.malformed[Layer::Tunnel.index()], 1);
    assert_eq!(c.proto[Proto::IpFragment as usize], 2);
    assert_eq!(c.proto[Proto::Sip as usize], 0);
}

#[test]
fn a_fragmented_gre_packet_that_is_no_mirror_is_plain_ip() {
    // PPTP's enhanced GRE (version 1) cut in two: reassembled, it is another IP protocol, not a tunnel error.
    let mut body = vec![0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 1];
    body.extend_from_slice(&[0u8; 120]);
    let [first, second] = gre_in_two(&body);
    let mut w = Worker::new();
    assert_eq!(sip_events(&mut w, &[first, second]), 0);
    assert_eq!(w.counters().malformed[Layer::Tunnel.index()], 0);
}
