//! The certificate inventory of a run, for the summary: every endpoint that presented a certificate (a TLS
//! or DTLS server, keyed by address, port and SNI; a client that sent one, by address and port), the
//! distinct certificates each presented, and which presented more than one (changed). Bounded: at most
//! [`MAX_ENDPOINTS`] endpoints and [`MAX_CERTS_PER_ENDPOINT`] certificates each; the rest are counted.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use callguard_parsers::tls::TlsVersion;
use callguard_rules::engine::TlsRecord;
use callguard_rules::event::CertSeen;

/// Endpoints remembered.
pub const MAX_ENDPOINTS: usize = 1024;
/// Distinct certificates remembered per endpoint.
pub const MAX_CERTS_PER_ENDPOINT: usize = 8;

/// Who presented a certificate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address and port.
    pub addr: SocketAddr,
    /// The SNI the client asked for (servers only).
    pub sni: Option<String>,
    /// DTLS rather than TLS.
    pub dtls: bool,
    /// A client that sent a certificate (DTLS-SRTP, mutual TLS) rather than a server.
    pub client: bool,
}

/// One certificate an endpoint presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertBrief {
    /// SHA-256 of the DER certificate.
    pub sha256: [u8; 32],
    /// Subject.
    pub subject: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Self-signed.
    pub self_signed: bool,
    /// Handshakes that presented it.
    pub handshakes: u64,
}

/// What one endpoint presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointCerts {
    /// Handshakes in which it presented a certificate.
    pub handshakes: u64,
    /// The distinct leaf certificates, in the order first seen.
    pub certs: Vec<CertBrief>,
    /// Distinct certificates beyond [`MAX_CERTS_PER_ENDPOINT`].
    pub more: u64,
}

impl EndpointCerts {
    /// It presented more than one certificate.
    pub fn changed(&self) -> bool {
        self.certs.len() > 1 || self.more > 0
    }
}

/// Handshakes and the certificates they showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertInventory {
    /// TLS handshakes (over TCP).
    pub tls: u64,
    /// DTLS handshakes.
    pub dtls: u64,
    /// Handshakes whose certificates were encrypted (TLS 1.3).
    pub encrypted: u64,
    /// Negotiated versions by name, with counts.
    pub versions: BTreeMap<String, u64>,
    /// The endpoints, by address.
    pub endpoints: BTreeMap<Endpoint, EndpointCerts>,
    /// Endpoints not remembered (beyond [`MAX_ENDPOINTS`]).
    pub more_endpoints: u64,
}

impl CertInventory {
    /// Adds a handshake.
    pub fn add(&mut self, r: &TlsRecord) {
        let t = &r.tls;
        if t.dtls {
            self.dtls += 1;
        } else {
            self.tls += 1;
        }
        if t.certs_encrypted {
            self.encrypted += 1;
        }
        let version = t
            .version
            .map_or_else(|| "unknown".to_owned(), |v| TlsVersion(v).to_string());
        *self.versions.entry(version).or_default() += 1;
        let sni = t.sni.as_deref().map(str::to_owned);
        for (addr, certs, client) in [
            (t.server, &t.server_certs, false),
            (t.client, &t.client_certs, true),
        ] {
            let (Some(addr), Some(leaf)) = (addr, certs.first()) else {
                continue;
            };
            let key = Endpoint {
                addr,
                sni: if client { None } else { sni.clone() },
                dtls: t.dtls,
                client,
            };
            self.present(key, leaf);
        }
    }

    fn present(&mut self, key: Endpoint, leaf: &CertSeen) {
        if !self.endpoints.contains_key(&key) && self.endpoints.len() >= MAX_ENDPOINTS {
            self.more_endpoints += 1;
            return;
        }
        let e = self.endpoints.entry(key).or_default();
        e.handshakes += 1;
        if let Some(c) = e.certs.iter_mut().find(|c| c.sha256 == leaf.sha256) {
            c.handshakes += 1;
        } else if e.certs.len() < MAX_CERTS_PER_ENDPOINT {
            e.certs.push(CertBrief {
                sha256: leaf.sha256,
                subject: leaf.subject.to_string(),
                not_before: leaf.not_before,
                not_after: leaf.not_after,
                self_signed: leaf.self_signed,
                handshakes: 1,
            });
        } else {
            e.more += 1;
        }
    }

    /// Endpoints that presented more than one certificate.
    pub fn changed(&self) -> usize {
        self.endpoints.values().filter(|e| e.changed()).count()
    }

    /// Distinct certificates over all endpoints.
    pub fn certificates(&self) -> usize {
        self.endpoints.values().map(|e| e.certs.len()).sum()
    }
}

#[cfg(test)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "builders of short test messages"
)]
mod tests {
    use super::*;
    use callguard_rules::event::TlsSeen;
    use callguard_rules::time::PacketTime;

    fn hs(server: &str, sni: &str, fp: u8) -> TlsRecord {
        TlsRecord {
            ts: PacketTime::ZERO,
            tls: Box::new(TlsSeen {
                client: Some("10.0.0.2:40000".parse().unwrap()),
                server: Some(server.parse().unwrap()),
                version: Some(0x0303),
                sni: Some(sni.into()),
                server_certs: vec![CertSeen {
                    sha256: [fp; 32],
                    subject: "CN=pbx".into(),
                    ..CertSeen::default()
                }],
                ..TlsSeen::default()
            }),
        }
    }

    #[test]
    fn a_server_presenting_a_second_certificate_is_changed() {
        let mut inv = CertInventory::default();
        inv.add(&hs("10.0.0.1:5061", "pbx", 1));
        inv.add(&hs("10.0.0.1:5061", "pbx", 1));
        inv.add(&hs("10.0.0.3:5061", "pbx", 1));
        assert_eq!((inv.changed(), inv.certificates(), inv.tls), (0, 2, 3));
        inv.add(&hs("10.0.0.1:5061", "pbx", 2));
        assert_eq!(inv.changed(), 1);
        assert_eq!(inv.versions.get("TLS 1.2"), Some(&4));
    }

    #[test]
    fn the_inventory_is_bounded() {
        let mut inv = CertInventory::default();
        for i in 0..(MAX_CERTS_PER_ENDPOINT + 3) {
            inv.add(&hs("10.0.0.1:5061", "pbx", i as u8));
        }
        let e = inv.endpoints.values().next().unwrap();
        assert_eq!((e.certs.len(), e.more), (MAX_CERTS_PER_ENDPOINT, 3));
        for i in 0..(MAX_ENDPOINTS + 5) {
            inv.add(&hs(&format!("10.1.{}.{}:443", i / 250, i % 250), "x", 1));
        }
        assert_eq!(inv.endpoints.len(), MAX_ENDPOINTS);
        assert_eq!(inv.more_endpoints, 6);
    }
}
