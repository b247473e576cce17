//! Reading TLS and DTLS records, handshake messages, hellos and certificate lists performs no heap
//! allocation (fingerprints and certificate summaries do, once per handshake, and are not measured here).
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::tls::handshake::Message;
use callguard_parsers::tls::record::Record;
use callguard_parsers::tls::{CertificateList, ClientHello, HandshakeType, ServerHello, dtls};

#[expect(
    unsafe_code,
    reason = "a global allocator is the only way to count allocations"
)]
mod common;

use common::allocs;

const STREAMS: [&[u8]; 3] = [
    include_bytes!("vectors/tls/client_hello_sip_tls.bin"),
    include_bytes!("vectors/tls/server_flight_sip_tls.bin"),
    include_bytes!("vectors/tls/client_hello_kamailio.bin"),
];
const DATAGRAMS: [&[u8]; 3] = [
    include_bytes!("vectors/tls/dtls_client_hello.bin"),
    include_bytes!("vectors/tls/dtls_server_flight.bin"),
    include_bytes!("vectors/tls/dtls_client_flight.bin"),
];

fn view(t: HandshakeType, b: &[u8], dtls: bool) -> usize {
    match t {
        HandshakeType::CLIENT_HELLO => {
            let ch = ClientHello::parse(b, dtls).unwrap();
            ch.cipher_suites().count()
                + ch.extensions().count()
                + ch.alpn().count()
                + ch.sni().map_or(0, str::len)
                + ch.srtp_profiles().count()
        }
        HandshakeType::SERVER_HELLO => {
            let sh = ServerHello::parse(b).unwrap();
            sh.extensions().count() + usize::from(sh.cipher_suite.0)
        }
        HandshakeType::CERTIFICATE => CertificateList::parse(b)
            .unwrap()
            .certs()
            .map(<[u8]>::len)
            .sum(),
        _ => b.len(),
    }
}

#[test]
fn reading_handshakes_does_not_allocate() {
    let before = allocs();
    let mut sum = 0usize;
    for s in STREAMS {
        let mut rest = s;
        while let Ok((rec, n)) = Record::parse(rest) {
            let mut m = rec.fragment;
            while let Ok((msg, k)) = Message::parse(m) {
                sum += view(msg.msg_type, msg.body, false);
                m = &m[k..];
            }
            rest = &rest[n..];
        }
    }
    for d in DATAGRAMS {
        for rec in dtls::records(d)
            .map_while(Result::ok)
            .filter(|r| r.epoch == 0)
        {
            for f in dtls::fragments(rec.fragment).map_while(Result::ok) {
                sum += view(f.msg_type, f.body, true);
            }
        }
    }
    assert_eq!(allocs(), before);
    assert!(sum > 0);
}
