#![expect(
    clippy::expect_used,
    reason = "a bench whose fixture cannot be read should stop loudly"
)]
//! Criterion benches of the decoders: `parse/link/*`. Throughput is set, so results read as packets per second.

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};

use callguard_parsers::link::{self, LinkType};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn frames() -> Vec<(&'static str, Vec<u8>)> {
    let a: SocketAddr = "10.0.0.11:16384".parse().expect("literal");
    let b: SocketAddr = "10.0.0.1:20000".parse().expect("literal");
    let mac_a = [2, 0, 0, 0, 0, 11];
    let mac_b = [2, 0, 0, 0, 0, 1];
    let mut rtp = vec![
        0x80, 0x00, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef,
    ];
    rtp.extend(std::iter::repeat_n(0xffu8, 160));
    let sip = b"OPTIONS sip:pbx@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.11:5060;branch=z9hG4bK1\r\n\r\n";
    vec![
        (
            "ethernet_udp_rtp",
            callguard_gen::udp_frame(mac_a, mac_b, a, b, &rtp),
        ),
        (
            "ethernet_tcp_sip",
            callguard_gen::tcp_frame(mac_a, mac_b, a, b, 1000, 2000, 0x18, sip),
        ),
        (
            "ethernet_arp",
            callguard_gen::arp_frame(
                mac_a,
                [0xff; 6],
                1,
                mac_a,
                Ipv4Addr::new(10, 0, 0, 11),
                [0; 6],
                Ipv4Addr::new(10, 0, 0, 1),
            ),
        ),
        (
            "vlan_udp_rtp",
            callguard_gen::vlan_udp_frame(&[100], mac_a, mac_b, a, b, &rtp),
        ),
    ]
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse/link");
    g.throughput(Throughput::Elements(1));
    for (name, f) in frames() {
        g.bench_function(format!("decode/{name}"), |bch| {
            bch.iter(|| link::decode(LinkType::ETHERNET, black_box(&f)).map(|d| d.stop.is_none()))
        });
        g.bench_function(format!("flow_hint/{name}"), |bch| {
            bch.iter(|| link::flow_hint(LinkType::ETHERNET, black_box(&f)))
        });
    }
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
