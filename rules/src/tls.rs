//! What the TLS detectors (`weak-tls`, `tls-cert-changed`, `tls-cert-untrusted`, `dtls-fingerprint-mismatch`)
//! share: protocol version names, fingerprints as hex, and how a handshake alert names its parties.
//!
//! A handshake alert's actor (`src`) is the endpoint that presented the certificate or chose the parameters (the
//! server, in TLS), its target (`dest`) the peer that received them (DESIGN.md, "Outputs"). The version names
//! here are a stop-gap until the parsers' IANA registry types (`callguard_parsers::tls`) are in this tree.

use std::net::{IpAddr, SocketAddr};

use crate::alert::{Alert, Meta, Proto, Value};
use crate::event::{CertSeen, TlsSeen};
use crate::time::PacketTime;

/// The name of a protocol version as on the wire (`ProtocolVersion`, RFC 8446 §4.1.2 and RFC 9147 §5.3 for
/// DTLS, which counts down from 0xfeff: DTLS 1.0 is TLS 1.1 adapted, DTLS 1.2 is TLS 1.2).
pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        // OpenSSL's pre-RFC 4347 DTLS.
        0x0100 => "DTLS 0.9",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        _ => return None,
    })
}

/// The version's name, or its number (`0x7f1c`) when it has none.
pub fn version_label(v: u16) -> String {
    version_name(v).map_or_else(|| format!("0x{v:04x}"), str::to_owned)
}

/// Lower-case hex without separators: how fingerprints appear in evidence and in the certificate store
/// (`openssl x509 -fingerprint` prints the same digits upper case with colons).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            s.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

/// The bytes of a fingerprint written as hex, with or without colons (`AB:CD:..`, RFC 8122 §5) and in either
/// case; `None` for anything else (odd length, another character).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| *b != b':')
        .map(|b| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        })
        .collect::<Option<_>>()?;
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    Some(
        digits
            .chunks(2)
            .map(|p| p.iter().fold(0u8, |acc, d| (acc << 4) | d))
            .collect(),
    )
}

/// A SHA-256 fingerprint written as hex (see [`parse_hex`]).
pub fn parse_sha256(s: &str) -> Option<[u8; 32]> {
    parse_hex(s)?.try_into().ok()
}

/// The transport of a handshake.
pub fn proto(tls: &TlsSeen) -> Proto {
    if tls.dtls { Proto::Udp } else { Proto::Tcp }
}

/// An alert about a handshake: the server (which presented the certificate) is the actor, its client the
/// target; the transport and, when present, the SNI.
pub fn handshake_alert(meta: &Meta, now: PacketTime, tls: &TlsSeen) -> Alert {
    let mut a = Alert::new(meta, now)
        .src(tls.server.map(|s| s.ip()), tls.server.map(|s| s.port()))
        .dest(tls.client.map(|c| c.ip()), tls.client.map(|c| c.port()))
        .proto(proto(tls));
    if let Some(sni) = &tls.sni {
        a = a.evidence("sni", Value::Str(sni.to_string()));
    }
    a
}

/// A server named in the rules file (pins, allowlists): an address with its port, or any port of an IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMatch {
    /// Every port of this address.
    Ip(IpAddr),
    /// This address and port.
    Addr(SocketAddr),
}

impl ServerMatch {
    /// Reads `ip` or `ip:port` (`[v6]:port`).
    pub fn parse(s: &str) -> Option<Self> {
        s.parse()
            .map(ServerMatch::Addr)
            .or_else(|_| s.parse().map(ServerMatch::Ip))
            .ok()
    }

    /// Whether `server` is this one.
    pub fn matches(self, server: SocketAddr) -> bool {
        match self {
            ServerMatch::Ip(ip) => server.ip() == ip,
            ServerMatch::Addr(a) => server == a,
        }
    }
}

/// A certificate time (seconds since the epoch) as a packet time, when it is not before 1970.
pub fn cert_time(secs: i64) -> Option<PacketTime> {
    u64::try_from(secs).ok().map(PacketTime::from_secs)
}

/// The usual facts about a certificate, added to `a`: `cert_sha256`, `subject`, `issuer`, `not_before`,
/// `not_after`, `key_type`, `key_bits`.
pub fn cert_evidence(mut a: Alert, cert: &CertSeen) -> Alert {
    a = a
        .evidence("cert_sha256", Value::Str(hex(&cert.sha256)))
        .evidence("subject", Value::Str(cert.subject.to_string()))
        .evidence("issuer", Value::Str(cert.issuer.to_string()));
    if let Some(t) = cert_time(cert.not_before) {
        a = a.evidence("not_before", Value::Time(t));
    }
    if let Some(t) = cert_time(cert.not_after) {
        a = a.evidence("not_after", Value::Time(t));
    }
    a.evidence("key_type", Value::Str(cert.key_type.to_string()))
        .evidence("key_bits", Value::U64(u64::from(cert.key_bits)))
}

/// A `TlsSeen` for detector tests: a TLS 1.2 handshake from `client` to `server` with one leaf certificate.
#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// An RSA-2048, SHA-256, CA-issued certificate valid from 2025-01-01 to 2027-01-01 whose fingerprints are
    /// `tag` repeated, subject `CN=<cn>`, SAN `DNS:<cn>`.
    pub(crate) fn cert(tag: u8, cn: &str) -> CertSeen {
        CertSeen {
            sha256: [tag; 32],
            sha1: [tag; 20],
            // Unknown key (zeros): tests of key swaps set it.
            spki_sha256: [0; 32],
            subject: format!("CN={cn}").into(),
            issuer: "CN=Lab CA,O=callguard".into(),
            serial: "01".into(),
            not_before: 1_735_689_600,
            not_after: 1_798_761_600,
            san: vec![format!("DNS:{cn}").into()],
            key_type: "rsa".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            self_signed: false,
        }
    }

    /// A TLS 1.2 handshake (ECDHE-RSA-AES256-GCM-SHA384) from `client` to `server` presenting `leaf`.
    pub(crate) fn handshake(
        client: &str,
        server: &str,
        sni: Option<&str>,
        leaf: CertSeen,
    ) -> TlsSeen {
        TlsSeen {
            client: client.parse().ok(),
            server: server.parse().ok(),
            version: Some(0x0303),
            client_version: Some(0x0303),
            cipher_suite: Some(0xc030),
            sni: sni.map(Into::into),
            server_certs: vec![leaf],
            ..TlsSeen::default()
        }
    }

    /// The chain of lab-weak-tls: an RSA-1024 leaf signed with SHA-1 by a self-signed RSA-2048 SHA-256 CA.
    pub(crate) fn lab_weak_chain() -> Vec<CertSeen> {
        let mut leaf = cert(0x83, "pbx.lab.callguard");
        leaf.key_bits = 1024;
        leaf.signature_algorithm = "sha1WithRSAEncryption".into();
        leaf.issuer = "CN=callguard lab CA,O=callguard lab".into();
        let mut ca = cert(0x8c, "callguard lab CA");
        ca.subject = leaf.issuer.clone();
        ca.issuer = leaf.issuer.clone();
        ca.self_signed = true;
        vec![leaf, ca]
    }

    /// The list of strings under `key` in `a`'s evidence.
    pub(crate) fn strings(a: &Alert, key: &str) -> Vec<String> {
        match a.evidence.get(key) {
            Some(Value::List(l)) => l
                .iter()
                .map(|v| match v {
                    Value::Str(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .collect(),
            Some(Value::Str(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_with_or_without_colons_in_any_case() {
        let want = vec![0xab, 0x01, 0xff];
        assert_eq!(parse_hex("AB:01:FF"), Some(want.clone()));
        assert_eq!(parse_hex("ab01ff"), Some(want.clone()));
        assert_eq!(hex(&want), "ab01ff");
        assert_eq!(parse_hex("ab:0"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex(""), None);
        assert!(parse_sha256(&"a1".repeat(32)).is_some());
        assert!(parse_sha256(&"a1".repeat(20)).is_none());
    }

    #[test]
    fn versions_have_names_and_unknown_ones_their_number() {
        assert_eq!(version_label(0x0301), "TLS 1.0");
        assert_eq!(version_label(0xfefd), "DTLS 1.2");
        assert_eq!(version_label(0x7f1c), "0x7f1c");
    }
}
