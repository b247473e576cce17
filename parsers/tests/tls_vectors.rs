//! TLS and DTLS handshakes recorded in the lab captures (`pcaps/lab-tls-sdes.pcap`,
//! `pcaps/lab-baresip-tls-plain.pcap`, `pcaps/lab-baresip-media.pcap`), cut out with tshark: each parses to
//! what tshark 4.0 shows (versions, suites, SNI, JA3/JA3S from `tls.handshake.ja3`/`ja3s`) and each
//! certificate to what `openssl x509 -fingerprint -sha256 -text` prints.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::tls::cert::{self, colon_hex};
use callguard_parsers::tls::fingerprint::{self, Transport};
use callguard_parsers::tls::handshake::Message;
use callguard_parsers::tls::record::Record;
use callguard_parsers::tls::{
    CertificateList, CipherSuite, ClientHello, ContentType, HandshakeType, ServerHello, TlsVersion,
    dtls,
};

const SIP_TLS_HELLO: &[u8] = include_bytes!("vectors/tls/client_hello_sip_tls.bin");
const SIP_TLS_SERVER: &[u8] = include_bytes!("vectors/tls/server_flight_sip_tls.bin");
const KAMAILIO_HELLO: &[u8] = include_bytes!("vectors/tls/client_hello_kamailio.bin");
const DTLS_HELLO: &[u8] = include_bytes!("vectors/tls/dtls_client_hello.bin");
const DTLS_SERVER: &[u8] = include_bytes!("vectors/tls/dtls_server_flight.bin");
const DTLS_CLIENT: &[u8] = include_bytes!("vectors/tls/dtls_client_flight.bin");

/// The handshake messages of a TLS byte stream whose records each hold whole messages.
fn messages(stream: &[u8]) -> Vec<(HandshakeType, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let (rec, n) = Record::parse(rest).unwrap();
        rest = &rest[n..];
        assert_eq!(rec.content_type, ContentType::HANDSHAKE);
        let mut body = rec.fragment;
        while !body.is_empty() {
            let (m, k) = Message::parse(body).unwrap();
            out.push((m.msg_type, m.body.to_vec()));
            body = &body[k..];
        }
    }
    out
}

fn dtls_messages(datagram: &[u8]) -> Vec<(HandshakeType, Vec<u8>)> {
    let mut out = Vec::new();
    for rec in dtls::records(datagram) {
        let rec = rec.unwrap();
        if rec.content_type != ContentType::HANDSHAKE || rec.epoch > 0 {
            break; // ChangeCipherSpec, then the encrypted Finished
        }
        for f in dtls::fragments(rec.fragment) {
            let f = f.unwrap();
            assert!(f.is_whole());
            out.push((f.msg_type, f.body.to_vec()));
        }
    }
    out
}

#[test]
fn the_sip_tls_client_hello_matches_tshark() {
    let m = messages(SIP_TLS_HELLO);
    assert_eq!(m.len(), 1);
    let ch = ClientHello::parse(&m[0].1, false).unwrap();
    assert_eq!(ch.sni(), Some("pbx.lab.callguard"));
    assert_eq!(
        ch.highest_version(),
        TlsVersion::TLS12,
        "the client is pinned to TLS 1.2"
    );
    assert_eq!(fingerprint::ja3(&ch), "871a754af286dfb70c1b53c6887c62e0");
    assert!(fingerprint::ja4(&ch, Transport::Tcp).starts_with("t12d"));
}

#[test]
fn the_kamailio_client_hello_matches_tshark() {
    let m = messages(KAMAILIO_HELLO);
    let ch = ClientHello::parse(&m[0].1, false).unwrap();
    assert_eq!(ch.sni(), None);
    assert_eq!(fingerprint::ja3(&ch), "fbe7e189e37a07ee33706f86bc746344");
    assert!(fingerprint::ja4(&ch, Transport::Tcp).starts_with("t12i"));
}

#[test]
fn the_sip_tls_server_flight_matches_tshark_and_openssl() {
    let m = messages(SIP_TLS_SERVER);
    let types: Vec<u8> = m.iter().map(|(t, _)| t.0).collect();
    assert_eq!(types, [2, 11, 12, 14]);
    let sh = ServerHello::parse(&m[0].1).unwrap();
    assert_eq!(sh.negotiated_version(), TlsVersion::TLS12);
    assert_eq!(
        sh.cipher_suite,
        CipherSuite::ECDHE_RSA_WITH_AES_256_GCM_SHA384
    );
    assert_eq!(fingerprint::ja3s(&sh), "567bb420d39046dbfd1f68b558d86382");
    let certs: Vec<&[u8]> = CertificateList::parse(&m[1].1).unwrap().certs().collect();
    assert_eq!(certs.len(), 1);
    let c = cert::summarise(certs[0]).unwrap();
    assert_eq!(
        colon_hex(&c.sha256),
        "C1:B7:50:E6:30:6B:EA:9E:A1:85:B9:4B:C0:C8:84:4E:EC:69:6E:9E:D7:99:3A:C8:1E:6C:34:49:AD:B5:F9:B8"
    );
    assert_eq!(c.subject, "CN=pbx.lab.callguard, O=callguard lab");
    assert_eq!(c.issuer, c.subject);
    assert_eq!(c.serial, "21026395ccff5e22272445438be5661fc32ab78e");
    assert_eq!(c.san, ["pbx.lab.callguard", "10.77.0.1"]);
    assert_eq!((c.key_type.as_str(), c.key_bits), ("rsa", 2048));
    assert_eq!(c.signature_algorithm, "sha256WithRSAEncryption");
    assert!(c.self_signed);
    // notBefore=Nov 29 01:45:11 2026 GMT, notAfter=Dec 29 01:45:11 2026 GMT
    assert_eq!((c.not_before, c.not_after), (1_795_916_711, 1_798_508_711));
}

#[test]
fn the_dtls_srtp_handshake_matches_tshark() {
    let m = dtls_messages(DTLS_HELLO);
    let ch = ClientHello::parse(&m[0].1, true).unwrap();
    assert_eq!(ch.version, TlsVersion::DTLS12);
    assert_eq!(ch.srtp_profiles().next(), Some(1));
    assert!(fingerprint::ja4(&ch, Transport::Dtls).starts_with("dd2i"));
    let m = dtls_messages(DTLS_SERVER);
    let types: Vec<u8> = m.iter().map(|(t, _)| t.0).collect();
    assert_eq!(types, [2, 11, 12, 13, 14]);
    let sh = ServerHello::parse(&m[0].1).unwrap();
    assert_eq!(
        sh.cipher_suite,
        CipherSuite::ECDHE_RSA_WITH_AES_256_GCM_SHA384
    );
    assert_eq!(sh.srtp_profile(), Some(1));
    let server = cert::summarise(
        CertificateList::parse(&m[1].1)
            .unwrap()
            .certs()
            .next()
            .unwrap(),
    )
    .unwrap();
    let m = dtls_messages(DTLS_CLIENT);
    assert_eq!(m[0].0, HandshakeType::CERTIFICATE);
    let client = cert::summarise(
        CertificateList::parse(&m[0].1)
            .unwrap()
            .certs()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(server.subject, "CN=dtls@baresip");
    assert!(server.self_signed && client.self_signed);
    assert_ne!(server.sha256, client.sha256);
}
