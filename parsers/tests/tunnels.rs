//! Remote mirroring: a frame in GRE, ERSPAN, VXLAN or Geneve decodes as the mirrored frame inside it, and the
//! dispatcher's flow hint is the inner flow's, so a tunnelled flow meets the same worker as it would untunnelled.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::link::{self, LinkType, Net, Transport};
use callguard_parsers::tunnel::Tunnel;
use callguard_parsers::{ErrorKind, Layer};

const INVITE: &[u8] = b"INVITE sip:1002@10.77.0.1 SIP/2.0\r\n";

/// An Ethernet frame with IPv4 (10.77.0.11 -> 10.77.0.1) and UDP 5062 -> 5060 carrying `payload`.
fn inner_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0x77, 0, 0, 0, 1, 2, 0x77, 0, 0, 0, 0x0b, 0x08, 0x00];
    f.extend_from_slice(&ipv4(
        17,
        &udp(5062, 5060, payload),
        [10, 77, 0, 11],
        [10, 77, 0, 1],
    ));
    f
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn ipv4(proto: u8, body: &[u8], src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let total = u16::try_from(20 + body.len()).unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(body);
    h
}

/// The collector's Ethernet + IPv4 (192.0.2.1 -> 192.0.2.2) around a tunnel packet of protocol `proto`.
fn outer(proto: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&ipv4(proto, body, [192, 0, 2, 1], [192, 0, 2, 2]));
    f
}

/// ERSPAN type II: GRE with a sequence number, version 1, `vlan`, session 1.
fn erspan_ii(vlan: u16, frame: &[u8]) -> Vec<u8> {
    let mut g = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 42];
    g.extend_from_slice(&(0x1000 | vlan).to_be_bytes());
    g.extend_from_slice(&[0, 1, 0, 0, 0, 0]);
    g.extend_from_slice(frame);
    g
}

fn sip_of(d: &link::Decoded<'_>) -> (String, u16, u16, Vec<u8>) {
    let Net::Ip(ip) = &d.net else {
        panic!("no IP: {d}")
    };
    let Transport::Udp(u) = &ip.transport else {
        panic!("no UDP: {d}")
    };
    (ip.src.to_string(), u.sport, u.dport, u.payload.to_vec())
}

#[test]
fn erspan_ii_decodes_as_the_mirrored_frame_with_its_vlan() {
    let inner = inner_frame(INVITE);
    let f = outer(47, &erspan_ii(100, &inner));
    let d = link::decode(LinkType::ETHERNET, &f).unwrap();
    assert_eq!(d.tunnel, Some(Tunnel::Erspan));
    assert!(d.stop.is_none());
    assert_eq!(
        sip_of(&d),
        ("10.77.0.11".into(), 5062, 5060, INVITE.to_vec())
    );
    assert_eq!(d.src_mac, Some([2, 0x77, 0, 0, 0, 0x0b]));
    assert_eq!(d.vlans, [100, 0]);
    assert_eq!(
        link::flow_hint(LinkType::ETHERNET, &f),
        link::flow_hint(LinkType::ETHERNET, &inner)
    );
}

#[test]
fn gre_vxlan_and_geneve_decode_as_the_frame_inside() {
    let inner = inner_frame(INVITE);
    let want = link::flow_hint(LinkType::ETHERNET, &inner);
    // gretap: transparent Ethernet bridging.
    let mut g = vec![0x00, 0x00, 0x65, 0x58];
    g.extend_from_slice(&inner);
    // GRE with a key carrying raw IP (the inner frame without its Ethernet header).
    let mut gk = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 9];
    gk.extend_from_slice(&inner[14..]);
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
    vx.extend_from_slice(&inner);
    let mut gn = vec![0x00, 0x00, 0x65, 0x58, 0, 0, 7, 0];
    gn.extend_from_slice(&inner);
    for (f, tunnel) in [
        (outer(47, &g), Tunnel::Gre),
        (outer(47, &gk), Tunnel::Gre),
        (outer(17, &udp(40000, 4789, &vx)), Tunnel::Vxlan),
        (outer(17, &udp(40000, 6081, &gn)), Tunnel::Geneve),
    ] {
        let d = link::decode(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(d.tunnel, Some(tunnel));
        assert_eq!(
            sip_of(&d),
            ("10.77.0.11".into(), 5062, 5060, INVITE.to_vec())
        );
        assert_eq!(link::flow_hint(LinkType::ETHERNET, &f), want, "{tunnel:?}");
    }
}

#[test]
fn what_is_not_a_mirror_stays_the_outer_packet() {
    // PPTP's enhanced GRE (version 1).
    let f = outer(47, &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0]);
    let d = link::decode(LinkType::ETHERNET, &f).unwrap();
    assert_eq!((d.tunnel, d.stop), (None, None));
    let Net::Ip(ip) = &d.net else { panic!() };
    assert_eq!(ip.proto, 47);
    // A datagram to 4789 without the VXLAN flag is just UDP.
    let f = outer(17, &udp(40000, 4789, &[0u8; 20]));
    let d = link::decode(LinkType::ETHERNET, &f).unwrap();
    assert_eq!(d.tunnel, None);
    assert_eq!(sip_of(&d).2, 4789);
}

#[test]
fn broken_and_nested_tunnels_are_reported_where_they_stop() {
    // ERSPAN II with version 2 in its header: invalid, in the tunnel layer, at the ERSPAN header's offset.
    let mut bad = erspan_ii(0, &inner_frame(INVITE));
    bad[8] = 0x20;
    let f = outer(47, &bad);
    let d = link::decode(LinkType::ETHERNET, &f).unwrap();
    let stop = d.stop.unwrap();
    assert_eq!(
        (stop.kind, stop.layer, stop.offset),
        (ErrorKind::Invalid, Layer::Tunnel, 14 + 20 + 8)
    );
    assert_eq!(d.tunnel, None);
    // A truncated mirrored frame: the link layer of the inner frame.
    let f = outer(47, &erspan_ii(0, &[2, 0, 0]));
    let d = link::decode(LinkType::ETHERNET, &f).unwrap();
    assert_eq!(d.stop.unwrap().layer, Layer::Link);
    // Two tunnels are peeled; a third is left as it is, with a limit error.
    let two = outer(
        47,
        &erspan_ii(0, &outer(47, &erspan_ii(0, &inner_frame(INVITE)))),
    );
    let d = link::decode(LinkType::ETHERNET, &two).unwrap();
    assert_eq!(sip_of(&d).0, "10.77.0.11");
    let three = outer(47, &erspan_ii(0, &two));
    let d = link::decode(LinkType::ETHERNET, &three).unwrap();
    let stop = d.stop.unwrap();
    assert_eq!(
        (stop.kind, stop.layer),
        (ErrorKind::LimitExceeded, Layer::Tunnel)
    );
    let Net::Ip(ip) = &d.net else { panic!() };
    assert_eq!(ip.proto, 47);
}

#[test]
fn an_erspan_session_over_ipv6_is_peeled_too() {
    // ip6erspan: the collector reached over IPv6 (2001:db8::1 -> 2001:db8::2), next header GRE.
    let inner = inner_frame(INVITE);
    let body = erspan_ii(0, &inner);
    let mut f = vec![
        2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd, 0x60, 0, 0, 0,
    ];
    f.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    f.extend_from_slice(&[47, 64]);
    f.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&body);
    let d = link::decode(LinkType::ETHERNET, &f).unwrap();
    assert_eq!(d.tunnel, Some(Tunnel::Erspan));
    assert_eq!(
        sip_of(&d),
        ("10.77.0.11".into(), 5062, 5060, INVITE.to_vec())
    );
    assert_eq!(
        link::flow_hint(LinkType::ETHERNET, &f),
        link::flow_hint(LinkType::ETHERNET, &inner)
    );
}
