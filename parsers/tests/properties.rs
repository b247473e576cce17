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

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

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
