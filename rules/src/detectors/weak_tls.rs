//! `weak-tls` (sid 1005): a TLS (SIP over TLS) or DTLS (DTLS-SRTP) handshake that settles for weak
//! protection.
//!
//! # What raises it
//! A handshake summary ([`TlsSeen`]) with any of these, each a `reason` in the evidence:
//! - `old-version`: the negotiated version is below TLS 1.2 (SSL 2.0/3.0, TLS 1.0/1.1; RFC 8996 deprecates
//!   TLS 1.0 and 1.1), or DTLS 1.0 (built on TLS 1.1, same RFC);
//! - the cipher suite the server chose is one of (IANA "TLS Cipher Suites" registry, classified by the parsers'
//!   registry, `callguard_parsers::tls::CipherSuite`): `null-cipher` (no encryption at all, RFC 4785,
//!   RFC 5246 NULL suites, RFC 9150 integrity-only TLS 1.3 suites), `export-cipher` (40/56-bit export grade,
//!   FREAK/Logjam), `anon-key-exchange` (DH_anon/ECDH_anon: no server authentication, anyone on the path can
//!   be the server), `rc4-cipher` (RFC 7465 forbids it), `des-cipher` (single DES, 56-bit, RFC 5469),
//!   `3des-cipher` (64-bit block, Sweet32, CVE-2016-2183), `idea-cipher` (64-bit block, RFC 5469);
//! - `short-key`: a certificate's RSA or DSA key under `min_rsa_bits` (2048, NIST SP 800-57's 112-bit
//!   floor), or an EC key under [`MIN_EC_BITS`];
//! - `sha1-signature` / `md5-signature`: a certificate signed with SHA-1, or with MD5 (MD2 and MD4 count as
//!   MD5), whose collisions are practical (SHAttered 2017; the rogue MD5 CA of 2008).
//!
//! Every certificate sent is judged (the server's chain, and the client's, which DTLS-SRTP always sends),
//! except that the signature of a self-signed certificate is not: it proves nothing (a self-signed
//! certificate is trusted, or not, as a whole: a trust anchor, or a DTLS-SRTP certificate checked against the
//! SDP `a=fingerprint`, RFC 5763 §5), so baresip's SHA-1 self-signed DTLS certificates are not a finding. Its
//! key is judged like any other. Nothing is judged from what a handshake does not show: no version or suite
//! without a ServerHello, no certificate under TLS 1.3 (they are encrypted).
//!
//! # Severity
//! **High** when the protection is gone or forgeable: a NULL, EXPORT or anonymous suite, SSL 2.0/3.0, an
//! MD5-signed certificate, or an RSA/DSA key under 1024 bits. **Medium** otherwise (TLS 1.0/1.1, RC4, DES,
//! 3DES, IDEA, a key under 2048 bits, SHA-1): broken in principle, costly to exploit on one call.
//!
//! # Once per server and certificate
//! One alert per (server address, leaf certificate) per `interval_secs` (an hour), by the detector's own
//! table; a later handshake with a reason not yet reported (a client that negotiates 3DES where another
//! negotiated TLS 1.0) raises again at once, listing all of its own reasons. The actor (`src_ip`) is the
//! server, which chose the version and suite and presented the certificate; the target is its client.
//!
//! # Evidence
//! `sni` (when sent), `reasons`, `version` (`TLS 1.0`, or the number), `cipher_suite` (`0x000a`) and
//! `cipher_suite_name` (for the suites classified here), and for a certificate reason the first weak
//! certificate: `cert_role` (`server`/`client`), `chain_index` (0 = leaf), `cert_sha256`, `subject`,
//! `issuer`, `not_before`, `not_after`, `key_type`, `key_bits`, `signature_algorithm`.
//!
//! # False positives and tuning
//! Old phones and gateways often speak only TLS 1.0 or carry 1024-bit keys: the alert is the inventory of
//! what to upgrade. Lower `min_rsa_bits` to 1024 to keep only the worst keys.

use std::net::SocketAddr;
use std::time::Duration;

use callguard_parsers::tls::CipherSuite;
use serde::Deserialize;

use crate::alert::{Category, Meta, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{CertSeen, Event, EventKind, Interests, Payload, TlsSeen};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;
use crate::tls;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 1005,
    slug: "weak-tls",
    category: Category::Encryption,
    severity: Severity::Medium,
    signature: "Weak TLS/DTLS: old protocol version, broken cipher suite, short key or SHA-1/MD5 signature",
};

/// EC keys shorter than this are weak: 224 bits is the 112-bit security floor (NIST SP 800-57 Part 1, table 2).
pub const MIN_EC_BITS: u32 = 224;

/// RSA/DSA keys shorter than this make the alert High: 1024 bits is the old floor, 512-bit keys were factored
/// for FREAK in hours.
pub const MIN_RSA_BITS_MEDIUM: u32 = 1024;

/// Settings, `[detectors.weak-tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// RSA and DSA keys shorter than this many bits are weak.
    pub min_rsa_bits: u32,
    /// At most one alert per (server, certificate) in this many seconds of packet time (unless a later
    /// handshake shows a reason not yet reported).
    pub interval_secs: u64,
    /// Cap on (server, certificate) pairs remembered as reported.
    pub max_reported: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            min_rsa_bits: 2048,
            interval_secs: 3600,
            max_reported: 65_536,
        }
    }
}

/// Why a handshake is weak, as bits of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
enum Reason {
    OldVersion = 1,
    NullCipher = 1 << 1,
    ExportCipher = 1 << 2,
    AnonKeyExchange = 1 << 3,
    Rc4Cipher = 1 << 4,
    DesCipher = 1 << 5,
    TripleDesCipher = 1 << 6,
    IdeaCipher = 1 << 7,
    ShortKey = 1 << 8,
    Sha1Signature = 1 << 9,
    Md5Signature = 1 << 10,
}

impl Reason {
    /// In evidence order.
    const ALL: [Reason; 11] = [
        Reason::OldVersion,
        Reason::NullCipher,
        Reason::ExportCipher,
        Reason::AnonKeyExchange,
        Reason::Rc4Cipher,
        Reason::DesCipher,
        Reason::TripleDesCipher,
        Reason::IdeaCipher,
        Reason::ShortKey,
        Reason::Sha1Signature,
        Reason::Md5Signature,
    ];

    fn name(self) -> &'static str {
        match self {
            Reason::OldVersion => "old-version",
            Reason::NullCipher => "null-cipher",
            Reason::ExportCipher => "export-cipher",
            Reason::AnonKeyExchange => "anon-key-exchange",
            Reason::Rc4Cipher => "rc4-cipher",
            Reason::DesCipher => "des-cipher",
            Reason::TripleDesCipher => "3des-cipher",
            Reason::IdeaCipher => "idea-cipher",
            Reason::ShortKey => "short-key",
            Reason::Sha1Signature => "sha1-signature",
            Reason::Md5Signature => "md5-signature",
        }
    }

    const fn bit(self) -> u16 {
        self as u16
    }
}

const NULL: u16 = Reason::NullCipher.bit();
const EXPORT: u16 = Reason::ExportCipher.bit();
const ANON: u16 = Reason::AnonKeyExchange.bit();
const RC4: u16 = Reason::Rc4Cipher.bit();
const DES: u16 = Reason::DesCipher.bit();
const DES3: u16 = Reason::TripleDesCipher.bit();
const IDEA: u16 = Reason::IdeaCipher.bit();

/// The name and weaknesses of a suite, from the parsers' IANA registry (`parsers/data/tls-cipher-suites.csv`):
/// NULL encryption, export grade, anonymous (no server authentication), RC4, DES, 3DES, IDEA. `None` for a
/// suite with none of these (the CBC-mode AES/Camellia/ARIA/SEED suites are weak only through old versions,
/// which `old-version` reports) or one the registry does not know.
fn weak_suite(suite: u16) -> Option<(&'static str, u16)> {
    let s = CipherSuite(suite);
    let flags = [
        (s.is_null(), NULL),
        (s.is_export(), EXPORT),
        (s.is_anon(), ANON),
        (s.is_rc4(), RC4),
        (s.is_des(), DES),
        (s.is_3des(), DES3),
        (s.cipher() == Some("IDEA"), IDEA),
    ];
    let bits = flags
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, b)| acc | b);
    (bits != 0).then(|| (s.name().unwrap_or("unknown"), bits))
}

/// The version is below TLS 1.2 (or DTLS 1.2); SSL 2.0 and 3.0 are also in the "High" set.
fn version_weakness(version: u16, dtls: bool) -> Option<bool> {
    let severe = matches!(version, 0x0002 | 0x0300);
    let old = if dtls {
        // DTLS counts down: 0xfeff is DTLS 1.0; 0x0100 is OpenSSL's pre-standard DTLS.
        version == 0x0100 || (0xfefe..=0xfeff).contains(&version)
    } else {
        version < 0x0303
    };
    old.then_some(severe)
}

/// A weak certificate: what is weak, and whether it is the High kind.
fn cert_weakness(c: &CertSeen, min_rsa_bits: u32) -> (u16, bool) {
    let mut bits = 0;
    let mut severe = false;
    let key = c.key_type.to_ascii_lowercase();
    let finite_field = key.contains("rsa") || (key.contains("dsa") && !key.contains("ecdsa"));
    if finite_field && c.key_bits > 0 && c.key_bits < min_rsa_bits {
        bits |= Reason::ShortKey.bit();
        severe |= c.key_bits < MIN_RSA_BITS_MEDIUM;
    } else if (key == "ec" || key.contains("ecdsa") || key.contains("ecpublickey"))
        && c.key_bits > 0
        && c.key_bits < MIN_EC_BITS
    {
        bits |= Reason::ShortKey.bit();
    }
    if !c.self_signed {
        let sig = c.signature_algorithm.to_ascii_lowercase();
        if sig.contains("md5") || sig.contains("md2") || sig.contains("md4") {
            bits |= Reason::Md5Signature.bit();
            severe = true;
        } else if sig.contains("sha1") || sig.contains("sha-1") {
            bits |= Reason::Sha1Signature.bit();
        }
    }
    (bits, severe)
}

/// What is weak about a handshake.
#[derive(Debug, Default)]
struct Verdict<'a> {
    reasons: u16,
    severe: bool,
    suite_name: Option<&'static str>,
    /// The first weak certificate: its role, position in its chain, and itself.
    cert: Option<(&'static str, usize, &'a CertSeen)>,
}

fn judge(tls: &TlsSeen, min_rsa_bits: u32) -> Verdict<'_> {
    let mut v = Verdict::default();
    if let Some(severe) = tls.version.and_then(|ver| version_weakness(ver, tls.dtls)) {
        v.reasons |= Reason::OldVersion.bit();
        v.severe |= severe;
    }
    if let Some((name, bits)) = tls.cipher_suite.and_then(weak_suite) {
        v.reasons |= bits;
        v.severe |= bits & (NULL | EXPORT | ANON) != 0;
        v.suite_name = Some(name);
    }
    let chains = [("server", &tls.server_certs), ("client", &tls.client_certs)];
    for (role, chain) in chains {
        for (i, c) in chain.iter().enumerate() {
            let (bits, severe) = cert_weakness(c, min_rsa_bits);
            if bits != 0 {
                v.reasons |= bits;
                v.severe |= severe;
                v.cert.get_or_insert((role, i, c));
            }
        }
    }
    v
}

/// What was reported for a (server, certificate): when, and which reasons.
#[derive(Debug, Clone, Copy)]
struct Reported {
    at: PacketTime,
    reasons: u16,
}

/// The server address and the leaf certificate's SHA-256 (zero when none was seen).
type ReportKey = (Option<SocketAddr>, [u8; 32]);

/// The detector.
#[derive(Debug)]
pub struct WeakTls {
    min_rsa_bits: u32,
    interval: Duration,
    reported: BoundedMap<ReportKey, Reported>,
}

impl WeakTls {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            min_rsa_bits: cfg.min_rsa_bits,
            interval,
            reported: BoundedMap::new(cfg.max_reported, interval),
        }
    }
}

impl Detector for WeakTls {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Tls)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Tls(t) = &ev.payload else { return };
        let v = judge(t, self.min_rsa_bits);
        if v.reasons == 0 {
            return;
        }
        let now = cx.now();
        let leaf = t.server_certs.first().map_or([0; 32], |c| c.sha256);
        let key = (t.server, leaf);
        let mut reasons = v.reasons;
        if let Some(r) = self.reported.get(&key)
            && now.since(r.at) < self.interval
        {
            if v.reasons & !r.reasons == 0 {
                return;
            }
            reasons |= r.reasons;
        }
        self.reported
            .insert(key, Reported { at: now, reasons }, now);

        let server = t.server.map_or_else(|| "-".to_owned(), |s| s.to_string());
        let names: Vec<Value> = Reason::ALL
            .iter()
            .filter(|r| v.reasons & r.bit() != 0)
            .map(|r| Value::Str(r.name().into()))
            .collect();
        let mut alert = tls::handshake_alert(&META, now, t)
            .severity(if v.severe {
                Severity::High
            } else {
                Severity::Medium
            })
            .key(format!("{server} {} {:x}", tls::hex(&leaf), v.reasons))
            .evidence("reasons", Value::List(names));
        if let Some(ver) = t.version {
            alert = alert.evidence("version", Value::Str(tls::version_label(ver)));
        }
        if let Some(suite) = t.cipher_suite {
            alert = alert.evidence("cipher_suite", Value::Str(format!("0x{suite:04x}")));
        }
        if let Some(name) = v.suite_name {
            alert = alert.evidence("cipher_suite_name", Value::Str(name.into()));
        }
        if let Some((role, index, c)) = v.cert {
            alert = alert
                .evidence("cert_role", Value::Str(role.into()))
                .evidence("chain_index", Value::U64(index as u64));
            alert = tls::cert_evidence(alert, c).evidence(
                "signature_algorithm",
                Value::Str(c.signature_algorithm.to_string()),
            );
        }
        cx.raise(alert);
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.reported.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("reported", self.reported.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Alert;
    use crate::testkit::Scenario;
    use crate::tls::test_util::{cert, handshake, lab_weak_chain, strings};

    const PBX: &str = "10.77.0.1:5061";

    fn run(events: &[(u64, TlsSeen)]) -> Vec<Alert> {
        let mut s = Scenario::new();
        for (ms, t) in events {
            s.at_ms(*ms, Payload::Tls(Box::new(t.clone())));
        }
        s.run(WeakTls::new(&Config::default()))
    }

    #[test]
    fn weak_suites_come_from_the_registry() {
        assert_eq!(
            weak_suite(0x000a),
            Some(("TLS_RSA_WITH_3DES_EDE_CBC_SHA", DES3))
        );
        assert_eq!(weak_suite(0xc010).map(|(_, b)| b & NULL), Some(NULL));
        assert_eq!(weak_suite(0xc019).map(|(_, b)| b & ANON), Some(ANON));
        assert_eq!(weak_suite(0x0007).map(|(_, b)| b), Some(IDEA));
        assert_eq!(weak_suite(0xc0b4).map(|(_, b)| b), Some(NULL));
        // Strong suites are not weak: ECDHE-RSA-AES256-GCM-SHA384, TLS_AES_128_GCM_SHA256.
        assert_eq!(weak_suite(0xc030), None);
        assert_eq!(weak_suite(0x1301), None);
    }

    #[test]
    fn a_modern_handshake_is_quiet() {
        let t = handshake("10.77.0.11:40000", PBX, Some("pbx.lab"), cert(1, "pbx.lab"));
        assert!(run(&[(0, t)]).is_empty());
        // TLS 1.3, certificates encrypted: nothing to judge but the version and suite.
        let t13 = TlsSeen {
            version: Some(0x0304),
            cipher_suite: Some(0x1302),
            certs_encrypted: true,
            server_certs: Vec::new(),
            ..handshake("10.77.0.11:40000", PBX, None, cert(1, "x"))
        };
        assert!(run(&[(0, t13)]).is_empty());
    }

    #[test]
    fn tls_1_0_with_a_1024_bit_sha1_certificate_is_medium_and_names_the_server() {
        let mut leaf = cert(7, "pbx.lab");
        leaf.key_bits = 1024;
        leaf.signature_algorithm = "sha1WithRSAEncryption".into();
        let t = TlsSeen {
            version: Some(0x0301),
            cipher_suite: Some(0xc014),
            ..handshake("10.77.0.11:40000", PBX, Some("pbx.lab"), leaf)
        };
        let alerts = run(&[(0, t)]);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.src_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(a.src_port, Some(5061));
        assert_eq!(a.dest_ip, Some("10.77.0.11".parse().unwrap()));
        assert_eq!(a.proto, Some(crate::alert::Proto::Tcp));
        assert_eq!(
            strings(a, "reasons"),
            ["old-version", "short-key", "sha1-signature"]
        );
        assert_eq!(strings(a, "version"), ["TLS 1.0"]);
        assert_eq!(strings(a, "cipher_suite"), ["0xc014"]);
        assert_eq!(a.evidence.get("cipher_suite_name"), None);
        assert_eq!(strings(a, "cert_role"), ["server"]);
        assert_eq!(a.evidence.get("key_bits"), Some(&Value::U64(1024)));
        assert_eq!(strings(a, "cert_sha256"), ["07".repeat(32)]);
        assert_eq!(strings(a, "sni"), ["pbx.lab"]);
    }

    #[test]
    fn broken_suites_are_named_and_null_export_anon_are_high() {
        for (suite, reasons, severity) in [
            (0x000a, vec!["3des-cipher"], Severity::Medium),
            (0x0005, vec!["rc4-cipher"], Severity::Medium),
            (0x0009, vec!["des-cipher"], Severity::Medium),
            (0x0007, vec!["idea-cipher"], Severity::Medium),
            (0x0002, vec!["null-cipher"], Severity::High),
            (0x0003, vec!["export-cipher", "rc4-cipher"], Severity::High),
            (0xc018, vec!["anon-key-exchange"], Severity::High),
            (0xc0b4, vec!["null-cipher"], Severity::High),
        ] {
            let t = TlsSeen {
                cipher_suite: Some(suite),
                ..handshake("10.77.0.11:40000", PBX, None, cert(1, "pbx.lab"))
            };
            let alerts = run(&[(0, t)]);
            assert_eq!(alerts.len(), 1, "{suite:#06x}");
            assert_eq!(strings(&alerts[0], "reasons"), reasons, "{suite:#06x}");
            assert_eq!(alerts[0].severity, severity, "{suite:#06x}");
            assert!(alerts[0].evidence.get("cipher_suite_name").is_some());
        }
    }

    #[test]
    fn ssl3_md5_signatures_and_tiny_keys_are_high() {
        let ssl3 = TlsSeen {
            version: Some(0x0300),
            ..handshake("10.77.0.11:40000", PBX, None, cert(1, "pbx.lab"))
        };
        assert_eq!(run(&[(0, ssl3)])[0].severity, Severity::High);
        let mut md5 = cert(2, "pbx.lab");
        md5.signature_algorithm = "md5WithRSAEncryption".into();
        let a = &run(&[(0, handshake("10.77.0.11:40000", PBX, None, md5))])[0];
        assert_eq!(
            (strings(a, "reasons"), a.severity),
            (vec!["md5-signature".into()], Severity::High)
        );
        let mut rsa512 = cert(3, "pbx.lab");
        rsa512.key_bits = 512;
        let a = &run(&[(0, handshake("10.77.0.11:40000", PBX, None, rsa512))])[0];
        assert_eq!(
            (strings(a, "reasons"), a.severity),
            (vec!["short-key".into()], Severity::High)
        );
        let mut p192 = cert(4, "pbx.lab");
        (p192.key_type, p192.key_bits) = ("ec".into(), 192);
        let a = &run(&[(0, handshake("10.77.0.11:40000", PBX, None, p192))])[0];
        assert_eq!(
            (strings(a, "reasons"), a.severity),
            (vec!["short-key".into()], Severity::Medium)
        );
    }

    #[test]
    fn a_self_signed_certificate_is_judged_by_its_key_not_its_self_signature() {
        // baresip's DTLS-SRTP certificates: self-signed, sha1WithRSAEncryption, RSA 2048.
        let mut dtls_cert = cert(5, "dtls@baresip");
        dtls_cert.self_signed = true;
        dtls_cert.issuer = dtls_cert.subject.clone();
        dtls_cert.signature_algorithm = "sha1WithRSAEncryption".into();
        let t = TlsSeen {
            dtls: true,
            version: Some(0xfefd),
            client_certs: vec![dtls_cert.clone()],
            ..handshake(
                "10.77.0.12:20020",
                "10.77.0.11:16020",
                None,
                dtls_cert.clone(),
            )
        };
        assert!(run(&[(0, t.clone())]).is_empty());
        // ...but a short key is a short key, here in the client's chain.
        let mut short = dtls_cert;
        short.key_bits = 1024;
        short.sha256 = [9; 32];
        let t = TlsSeen {
            client_certs: vec![short],
            ..t
        };
        let alerts = run(&[(0, t)]);
        assert_eq!(strings(&alerts[0], "reasons"), ["short-key"]);
        assert_eq!(strings(&alerts[0], "cert_role"), ["client"]);
        assert_eq!(strings(&alerts[0], "cert_sha256"), ["09".repeat(32)]);
        assert_eq!(alerts[0].proto, Some(crate::alert::Proto::Udp));
    }

    #[test]
    fn dtls_1_0_is_old_and_dtls_1_2_is_not() {
        let dtls = |v| TlsSeen {
            dtls: true,
            version: Some(v),
            ..handshake("10.77.0.12:20020", "10.77.0.11:16020", None, cert(1, "x"))
        };
        assert!(run(&[(0, dtls(0xfefd))]).is_empty());
        let a = &run(&[(0, dtls(0xfeff))])[0];
        assert_eq!(strings(a, "reasons"), ["old-version"]);
        assert_eq!(strings(a, "version"), ["DTLS 1.0"]);
    }

    #[test]
    fn once_per_server_and_certificate_unless_a_new_reason_shows() {
        let mut leaf = cert(7, "pbx.lab");
        leaf.key_bits = 1024;
        let tls10 = TlsSeen {
            version: Some(0x0301),
            ..handshake("10.77.0.11:40000", PBX, Some("pbx.lab"), leaf.clone())
        };
        let des3 = TlsSeen {
            cipher_suite: Some(0x000a),
            ..handshake("10.77.0.12:40001", PBX, Some("pbx.lab"), leaf.clone())
        };
        let plain = handshake("10.77.0.12:40002", PBX, Some("other.example"), leaf.clone());
        let other_server = handshake("10.77.0.12:40003", "10.77.0.2:5061", None, leaf);
        let alerts = run(&[
            (0, tls10.clone()),
            (1_000, tls10.clone()),
            (2_000, des3.clone()),
            (3_000, des3),
            (4_000, plain),
            (5_000, other_server),
            // An hour later the same weakness is reported again.
            (3_700_000, tls10),
        ]);
        let got: Vec<_> = alerts
            .iter()
            .map(|a| {
                (
                    a.src_ip.unwrap().to_string(),
                    strings(a, "reasons"),
                    a.ts.since(alerts[0].ts).as_secs(),
                )
            })
            .collect();
        let r = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                ("10.77.0.1".into(), r(&["old-version", "short-key"]), 0),
                ("10.77.0.1".into(), r(&["3des-cipher", "short-key"]), 2),
                ("10.77.0.2".into(), r(&["short-key"]), 5),
                ("10.77.0.1".into(), r(&["old-version", "short-key"]), 3700),
            ],
            "{alerts:#?}"
        );
        assert_eq!(alerts[1].dest_ip, Some("10.77.0.12".parse().unwrap()));
    }

    #[test]
    fn the_four_handshakes_of_the_lab_capture_are_three_alerts() {
        let hs =
            |client: &str, sni: &str, version: u16, suite: u16, certs: Vec<CertSeen>| TlsSeen {
                version: Some(version),
                cipher_suite: Some(suite),
                server_certs: certs,
                ..handshake(client, PBX, Some(sni), cert(0, "x"))
            };
        let alerts = run(&[
            (
                0,
                hs(
                    "10.77.0.11:56956",
                    "pbx.lab.callguard",
                    0x0301,
                    0xc014,
                    lab_weak_chain(),
                ),
            ),
            (
                526,
                hs(
                    "10.77.0.12:39072",
                    "pbx.lab.callguard",
                    0x0303,
                    0xc010,
                    lab_weak_chain(),
                ),
            ),
            (
                1_051,
                hs(
                    "10.77.0.11:50902",
                    "voip.example.net",
                    0x0303,
                    0xc030,
                    lab_weak_chain(),
                ),
            ),
            (
                1_577,
                hs(
                    "10.77.0.12:51660",
                    "pbx.lab.callguard",
                    0x0303,
                    0xc019,
                    Vec::new(),
                ),
            ),
        ]);
        let got: Vec<_> = alerts
            .iter()
            .map(|a| {
                (
                    a.dest_ip.unwrap().to_string(),
                    strings(a, "reasons"),
                    a.severity,
                )
            })
            .collect();
        let r = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            [
                (
                    "10.77.0.11".into(),
                    r(&["old-version", "short-key", "sha1-signature"]),
                    Severity::Medium
                ),
                (
                    "10.77.0.12".into(),
                    r(&["null-cipher", "short-key", "sha1-signature"]),
                    Severity::High
                ),
                (
                    "10.77.0.12".into(),
                    r(&["anon-key-exchange"]),
                    Severity::High
                ),
            ],
            "{alerts:#?}"
        );
        assert_eq!(strings(&alerts[0], "cert_sha256"), ["83".repeat(32)]);
        assert_eq!(
            strings(&alerts[2], "cipher_suite_name"),
            ["TLS_ECDH_anon_WITH_AES_256_CBC_SHA"]
        );
    }

    #[test]
    fn the_key_bound_is_configurable() {
        let mut leaf = cert(7, "pbx.lab");
        leaf.key_bits = 1024;
        let mut s = Scenario::new();
        s.at_ms(
            0,
            Payload::Tls(Box::new(handshake("10.77.0.11:1", PBX, None, leaf))),
        );
        let cfg = Config {
            min_rsa_bits: 1024,
            ..Config::default()
        };
        assert!(s.run(WeakTls::new(&cfg)).is_empty());
        let parsed: Config = toml::from_str("min_rsa_bits = 3072\ninterval_secs = 60").unwrap();
        assert_eq!(
            (parsed.min_rsa_bits, parsed.interval_secs, parsed.enabled),
            (3072, 60, true)
        );
        assert!(toml::from_str::<Config>("min_rsa_bitz = 1").is_err());
    }

    #[test]
    fn the_table_stays_bounded_under_a_flood_of_weak_servers() {
        let cfg = Config {
            max_reported: 64,
            ..Config::default()
        };
        let mut d = WeakTls::new(&cfg);
        let mut out = Vec::new();
        for i in 0..2_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            let [_, _, a, b] = i.to_be_bytes();
            let t = TlsSeen {
                version: Some(0x0301),
                ..handshake(
                    "10.0.0.1:1000",
                    &format!("10.9.{a}.{b}:5061"),
                    None,
                    cert(1, "x"),
                )
            };
            let ev = Event {
                seq: u64::from(i),
                ts,
                payload: Payload::Tls(Box::new(t)),
            };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert_eq!(out.len(), 2_000);
        let t = d.tables()[0].1;
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
