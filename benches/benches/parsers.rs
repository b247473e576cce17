#![expect(
    clippy::expect_used,
    reason = "a bench whose fixture cannot be read should stop loudly"
)]
//! Criterion benches of the decoders: `parse/link/*`, `parse/sip/*`, `parse/rtp/*`, `parse/sdp/*`, `parse/tls/*`. Throughput is set, so results read as packets per second.

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

/// An INVITE with SDP as a softphone sends it (RFC 3665 §3.1 style), and a 200 OK.
const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n\
User-Agent: Zoiper rv2.10.20.2\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 151\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

fn sip(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse/sip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("invite_with_sdp", |b| {
        b.iter(|| callguard_parsers::sip::Message::parse(black_box(INVITE)).map(|m| m.via_count()))
    });
    g.bench_function("probe/invite", |b| {
        b.iter(|| callguard_parsers::sip::probe(black_box(INVITE)))
    });
    let mut rtp = vec![
        0x80, 0x00, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef,
    ];
    rtp.extend(std::iter::repeat_n(0x55u8, 160));
    g.bench_function("probe/rtp_payload", |b| {
        b.iter(|| callguard_parsers::sip::probe(black_box(&rtp)))
    });
    g.finish();
    let mut g = c.benchmark_group("parse/rtp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("classify_and_probe", |b| {
        b.iter(|| {
            let p = black_box(&rtp);
            callguard_parsers::rtp::classify(p) == callguard_parsers::rtp::Kind::Rtp
                && callguard_parsers::rtp::probe_rtp(p)
        })
    });
    g.finish();
    let mut g = c.benchmark_group("parse/sdp");
    g.throughput(Throughput::Elements(1));
    let body = INVITE.get(INVITE.len() - 151..).expect("the SDP body");
    g.bench_function("offer", |b| {
        b.iter(|| {
            callguard_parsers::sdp::Session::parse(black_box(body)).map(|s| s.media().count())
        })
    });
    g.finish();
}

/// The lab's SIP-over-TLS ClientHello and the server's flight (ServerHello, Certificate, ServerKeyExchange,
/// ServerHelloDone), as the workers read them.
const TLS_HELLO: &[u8] = include_bytes!("../../parsers/tests/vectors/tls/client_hello_sip_tls.bin");
const TLS_SERVER: &[u8] =
    include_bytes!("../../parsers/tests/vectors/tls/server_flight_sip_tls.bin");

fn tls(c: &mut Criterion) {
    use callguard_parsers::tls::fingerprint::{self, Transport};
    use callguard_parsers::tls::handshake::Message;
    use callguard_parsers::tls::record::Record;
    use callguard_parsers::tls::{CertificateList, ClientHello, cert};
    let (rec, _) = Record::parse(TLS_HELLO).expect("a record");
    let (hello, _) = Message::parse(rec.fragment).expect("a message");
    // The server sends each message in a record of its own: the ServerHello's, then the Certificate's.
    let (_, n) = Record::parse(TLS_SERVER).expect("the ServerHello's record");
    let (rec, _) = Record::parse(TLS_SERVER.get(n..).expect("more")).expect("a record");
    let (certs, _) = Message::parse(rec.fragment).expect("the Certificate");
    let der = CertificateList::parse(certs.body)
        .expect("a list")
        .certs()
        .next()
        .expect("a certificate");
    let mut g = c.benchmark_group("parse/tls");
    g.throughput(Throughput::Elements(1));
    g.bench_function("client_hello", |b| {
        b.iter(|| {
            ClientHello::parse(black_box(hello.body), false)
                .map(|h| h.extensions().count() + h.sni().map_or(0, str::len))
        })
    });
    let ch = ClientHello::parse(hello.body, false).expect("a ClientHello");
    g.bench_function("ja3", |b| b.iter(|| fingerprint::ja3(black_box(&ch))));
    g.bench_function("ja4", |b| {
        b.iter(|| fingerprint::ja4(black_box(&ch), Transport::Tcp))
    });
    g.bench_function("certificate_summary", |b| {
        b.iter(|| cert::summarise(black_box(der)).map(|s| s.key_bits))
    });
    g.finish();
}

criterion_group!(benches, decode, sip, tls);
criterion_main!(benches);
