//! For any bytes, the decoders return; they never panic, and every slice they hand back lies inside the input.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::link::{self, LinkType, Net, Transport};
use proptest::prelude::*;

const LINKS: [LinkType; 8] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NULL,
    LinkType(147),
];

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn check(link: LinkType, frame: &[u8]) {
    let _ = link::flow_hint(link, frame);
    if let Ok(d) = link::decode(link, frame) {
        let _ = d.to_string();
        if let Net::Ip(ip) = &d.net {
            assert!(inside(frame, ip.payload));
            match &ip.transport {
                Transport::Udp(u) => assert!(inside(frame, u.payload)),
                Transport::Tcp(t) => assert!(inside(frame, t.payload)),
                Transport::None => {}
            }
            let _ = link::decode_transport(ip.proto, ip.payload);
        }
    }
}

/// An Ethernet + IPv6 header whose payload is an arbitrary extension chain: the path where etherparse's own
/// extension iterator could be driven into unchecked slicing.
fn ipv6_with_chain(next: u8, chain: &[u8], plen_delta: i32) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    let plen =
        u16::try_from((i32::try_from(chain.len()).unwrap() + plen_delta).clamp(0, 0xffff)).unwrap();
    f.extend_from_slice(&plen.to_be_bytes());
    f.push(next);
    f.push(64);
    f.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(chain);
    f
}

/// An Ethernet + IPv4 header of protocol `proto` (GRE, or UDP to a tunnel port) followed by `rest`: the paths
/// where a tunnel header, and the frame inside it, come from the packet.
fn ipv4_tunnel(proto: u8, dport: u16, rest: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[
        0x08, 0x00, 0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    let mut body = Vec::new();
    if proto == 17 {
        body.extend_from_slice(&[0x30, 0x39]);
        body.extend_from_slice(&dport.to_be_bytes());
        body.extend_from_slice(&u16::try_from(8 + rest.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&[0, 0]);
    }
    body.extend_from_slice(rest);
    let total = u16::try_from(20 + body.len()).unwrap();
    f[16..18].copy_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&body);
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn any_tunnel_header_and_inner_frame(
        outer in prop::sample::select(vec![(47u8, 0u16), (17, 4789), (17, 6081)]),
        head in prop::sample::select(vec![
            vec![0x00, 0x00, 0x65, 0x58],
            vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1],
            vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 1],
            vec![0x00, 0x00, 0x08, 0x00],
            vec![0x08, 0, 0, 0, 0, 0, 1, 0],
            vec![0x01, 0x00, 0x65, 0x58, 0, 0, 1, 0],
            vec![],
        ]),
        rest in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut body = head;
        body.extend_from_slice(&rest);
        check(LinkType::ETHERNET, &ipv4_tunnel(outer.0, outer.1, &body));
    }

    #[test]
    fn any_bytes_under_any_link_type(link in 0usize..LINKS.len(), frame in prop::collection::vec(any::<u8>(), 0..256)) {
        check(LINKS[link], &frame);
    }

    #[test]
    fn any_ipv6_extension_chain(
        next in prop::sample::select(vec![0u8, 6, 17, 43, 44, 51, 60, 135, 139, 140, 59]),
        chain in prop::collection::vec(any::<u8>(), 0..160),
        delta in -16i32..16,
    ) {
        check(LinkType::ETHERNET, &ipv6_with_chain(next, &chain, delta));
    }
}
