//! For any bytes, the TLS and DTLS decoders return; they never panic, and every slice they hand back lies
//! inside the input. Mutated real handshakes reach deeper than random bytes.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::tls::fingerprint::{self, Transport};
use callguard_parsers::tls::handshake::Message;
use callguard_parsers::tls::record::{self, Record};
use callguard_parsers::tls::{CertificateList, ClientHello, ServerHello, cert, dtls};
use proptest::prelude::*;

const SEEDS: [&[u8]; 6] = [
    include_bytes!("vectors/tls/client_hello_sip_tls.bin"),
    include_bytes!("vectors/tls/server_flight_sip_tls.bin"),
    include_bytes!("vectors/tls/client_hello_kamailio.bin"),
    include_bytes!("vectors/tls/dtls_client_hello.bin"),
    include_bytes!("vectors/tls/dtls_server_flight.bin"),
    include_bytes!("vectors/tls/dtls_client_flight.bin"),
];

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

/// Every view of a handshake body: hellos (both layouts), their lists and fingerprints, certificates.
fn body(b: &[u8]) {
    for dtls in [false, true] {
        if let Ok(ch) = ClientHello::parse(b, dtls) {
            let _ = ch.to_string();
            assert!(inside(b, ch.random) && inside(b, ch.session_id));
            for e in ch.extensions() {
                assert!(inside(b, e.data));
            }
            for n in ch.alpn() {
                assert!(inside(b, n));
            }
            if let Some(s) = ch.sni() {
                assert!(inside(b, s.as_bytes()));
            }
            let _ = (ch.srtp_profiles().count(), ch.highest_version());
            let _ = fingerprint::ja3(&ch);
            let _ = fingerprint::ja4(&ch, Transport::Dtls);
        }
    }
    if let Ok(sh) = ServerHello::parse(b) {
        let _ = sh.to_string();
        let _ = (sh.alpn(), sh.srtp_profile(), fingerprint::ja3s(&sh));
    }
    if let Ok(l) = CertificateList::parse(b) {
        for c in l.certs() {
            assert!(inside(b, c));
            let _ = cert::summarise(c);
        }
    }
}

fn stream(s: &[u8]) {
    let mut rest = s;
    while let Ok((rec, n)) = Record::parse(rest) {
        let _ = rec.to_string();
        assert!(inside(s, rec.fragment));
        let mut m = rec.fragment;
        while let Ok((msg, k)) = Message::parse(m) {
            assert!(inside(s, msg.body));
            body(msg.body);
            m = &m[k..];
        }
        rest = &rest[n..];
    }
    let _ = (record::probe(s), record::probe_any(s));
}

fn datagram(d: &[u8]) {
    for rec in dtls::records(d) {
        let Ok(rec) = rec else { break };
        let _ = rec.to_string();
        assert!(inside(d, rec.fragment));
        for f in dtls::fragments(rec.fragment) {
            let Ok(f) = f else { break };
            assert!(inside(d, f.body));
            body(f.body);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_as_a_stream_a_datagram_or_a_body(b in prop::collection::vec(any::<u8>(), 0..512)) {
        stream(&b);
        datagram(&b);
        body(&b);
        let _ = cert::summarise(&b);
    }

    #[test]
    fn mutated_real_handshakes(
        seed in 0usize..SEEDS.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = SEEDS[seed].to_vec();
        for (i, v) in edits {
            let at = i.index(b.len());
            b[at] = v;
        }
        let b = &b[..cut.index(b.len() + 1).min(b.len())];
        stream(b);
        datagram(b);
    }
}
