//! `tls-cert-untrusted` (sid 2002): a TLS server presents a certificate that a careful client would reject.
//!
//! # What raises it
//! The server's leaf certificate in a TLS handshake ([`TlsSeen::server_certs`], first entry) with any of these,
//! each a `reason` in the evidence:
//! - `self-signed`: subject and issuer are the same and the certificate signs itself. No authority vouches
//!   for it: a client either pins it or accepts whatever is presented, and so accepts a man in the middle's
//!   own certificate too (SIP phones commonly run with verification off for this reason);
//! - `expired` / `not-yet-valid`: packet time ([`Context::now`], never the wall clock, so a capture is judged
//!   as of when it was recorded) is after `notAfter` or before `notBefore` (RFC 5280 §4.1.2.5);
//! - `sni-mismatch`: the client asked for a name (SNI, RFC 6066 §3) that the certificate does not carry: the
//!   DNS names of its subjectAltName, or its subject CN when it has none (RFC 6125 §6.4, with the left-most
//!   label wildcard of §6.4.3); an IP address sent as SNI is compared with the IP addresses of the SAN. A
//!   client that sends no SNI (baresip, many phones) is not judged on names: what it expected is unknown.
//!
//! Whether the issuer is a trusted authority is not judged: the sensor has no trust store, and SIP
//! deployments use private CAs. DTLS handshakes are not judged at all: DTLS-SRTP certificates are self-signed
//! by design and authenticated by the SDP `a=fingerprint` (RFC 5763 §5), which `dtls-fingerprint-mismatch`
//! checks. Handshakes whose certificates are encrypted (TLS 1.3) or absent (resumption) say nothing.
//!
//! # Severity
//! **High** for `sni-mismatch` (the certificate is for another name: the signature of an interception proxy
//! that presents its own certificate, or a misrouted client); **Medium** for the others (a self-signed or
//! lapsed certificate weakens every connection but is common in closed SIP networks).
//!
//! # Once per server and certificate
//! One alert per (server address, certificate) per `interval_secs` (an hour), by the detector's own table; a
//! reason not yet reported (the certificate has now expired; a client used a name it does not carry) raises
//! again at once. The actor (`src_ip`) is the server that presented the certificate, the target its client.
//!
//! # Evidence
//! `sni` (when sent), `reasons`, `cert_sha256`, `subject`, `issuer`, `not_before`, `not_after`, `key_type`,
//! `key_bits`, `san` (the names the certificate carries), `chain_length`.
//!
//! # The allowlist, for lab and private certificates
//! `allow` excuses certificates by any combination of `sha256` (hex, colons allowed), `subject`, `issuer`
//! (RFC 4514 text, exactly as in the evidence) and `server` (`ip` or `ip:port`); all given fields must match.
//! `reasons` limits what the entry excuses (all by default), so a lab certificate can be allowed to be
//! self-signed and still be reported once it expires:
//!
//! ```toml
//! [detectors.tls-cert-untrusted]
//! allow = [
//!   { sha256 = "28944827194af4d60e8fe8187fb18c7704a3c3517a052e2a330add7b6e21264f" },
//!   { server = "10.77.0.1:5061", issuer = "CN=pbx.lab.callguard,O=callguard lab", reasons = ["self-signed"] },
//! ]
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Category, Meta, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{CertSeen, Event, EventKind, Interests, Payload, TlsSeen};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;
use crate::tls::{self, ServerMatch};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2002,
    slug: "tls-cert-untrusted",
    category: Category::Mitm,
    severity: Severity::Medium,
    signature: "TLS server certificate a client should reject: self-signed, expired, not yet valid or not for the SNI",
};

/// Settings, `[detectors.tls-cert-untrusted]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Certificates excused (lab and private certificates).
    pub allow: Vec<Allow>,
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
            allow: Vec::new(),
            interval_secs: 3600,
            max_reported: 65_536,
        }
    }
}

/// Why a certificate should be rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Reason {
    /// It signs itself.
    SelfSigned = 1,
    /// Packet time is after its `notAfter`.
    Expired = 1 << 1,
    /// Packet time is before its `notBefore`.
    NotYetValid = 1 << 2,
    /// The SNI is not among its names.
    SniMismatch = 1 << 3,
}

impl Reason {
    const ALL: [Reason; 4] = [
        Reason::SelfSigned,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::SniMismatch,
    ];

    /// The name in evidence and in `allow.reasons`.
    pub fn name(self) -> &'static str {
        match self {
            Reason::SelfSigned => "self-signed",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not-yet-valid",
            Reason::SniMismatch => "sni-mismatch",
        }
    }

    const fn bit(self) -> u8 {
        self as u8
    }
}

/// An allowlist entry: the certificates it matches and the reasons it excuses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "AllowSpec")]
pub struct Allow {
    sha256: Option<[u8; 32]>,
    subject: Option<String>,
    issuer: Option<String>,
    server: Option<ServerMatch>,
    /// Bits of the reasons excused.
    reasons: u8,
}

/// An allowlist entry as written in the rules file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    sha256: Option<String>,
    subject: Option<String>,
    issuer: Option<String>,
    server: Option<String>,
    reasons: Option<Vec<Reason>>,
}

impl TryFrom<AllowSpec> for Allow {
    type Error = String;

    fn try_from(a: AllowSpec) -> Result<Self, String> {
        if a.sha256.is_none() && a.subject.is_none() && a.issuer.is_none() && a.server.is_none() {
            return Err("an allow entry needs sha256, subject, issuer or server".into());
        }
        let sha256 = match &a.sha256 {
            Some(h) => Some(
                tls::parse_sha256(h).ok_or_else(|| format!("sha256 {h:?} is not 64 hex digits"))?,
            ),
            None => None,
        };
        let server = match &a.server {
            Some(s) => Some(
                ServerMatch::parse(s)
                    .ok_or_else(|| format!("server {s:?} is not an ip or ip:port"))?,
            ),
            None => None,
        };
        let reasons = match &a.reasons {
            Some(r) => r.iter().fold(0, |acc, r| acc | r.bit()),
            None => Reason::ALL.iter().fold(0, |acc, r| acc | r.bit()),
        };
        Ok(Allow {
            sha256,
            subject: a.subject,
            issuer: a.issuer,
            server,
            reasons,
        })
    }
}

impl Allow {
    fn matches(&self, cert: &CertSeen, server: Option<SocketAddr>) -> bool {
        self.sha256.is_none_or(|h| h == cert.sha256)
            && self.subject.as_deref().is_none_or(|s| s == &*cert.subject)
            && self.issuer.as_deref().is_none_or(|s| s == &*cert.issuer)
            && self
                .server
                .is_none_or(|m| server.is_some_and(|s| m.matches(s)))
    }
}

/// A SAN entry without its type prefix (`DNS:`, `IP:`, `IP Address:`), however the worker wrote it.
fn san_value(entry: &str) -> &str {
    for prefix in ["DNS:", "IP Address:", "IP:"] {
        if let Some(head) = entry.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            return entry.get(prefix.len()..).unwrap_or("").trim();
        }
    }
    entry.trim()
}

/// The CN of an RFC 4514 distinguished name (`CN=pbx.example,O=...`).
fn common_name(dn: &str) -> Option<&str> {
    dn.split(',').map(str::trim).find_map(|rdn| {
        let (k, v) = rdn.split_once('=')?;
        k.trim().eq_ignore_ascii_case("CN").then(|| v.trim())
    })
}

/// RFC 6125 §6.4.3: `pattern` (a reference name from the certificate) matches `host`, both lower case; a `*`
/// may stand for the whole left-most label only, and never for a public suffix's worth of labels.
fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    if let Some(rest) = pattern.strip_prefix("*.") {
        // At least two labels after the wildcard (`*.com` matches nothing).
        if !rest.contains('.') {
            return false;
        }
        return host
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest);
    }
    pattern == host
}

/// Whether `cert` carries the name `sni`.
fn carries_name(cert: &CertSeen, sni: &str) -> bool {
    let host = sni.trim_end_matches('.').to_ascii_lowercase();
    let sni_ip: Option<IpAddr> = host.parse().ok();
    let mut dns_names = 0;
    for entry in &cert.san {
        let v = san_value(entry);
        match v.parse::<IpAddr>() {
            Ok(ip) => {
                if sni_ip == Some(ip) {
                    return true;
                }
            }
            Err(_) => {
                dns_names += 1;
                if sni_ip.is_none() && name_matches(&v.to_ascii_lowercase(), &host) {
                    return true;
                }
            }
        }
    }
    // The subject CN counts only when the SAN has no DNS name (RFC 6125 §6.4.4).
    dns_names == 0
        && sni_ip.is_none()
        && common_name(&cert.subject)
            .is_some_and(|cn| name_matches(&cn.to_ascii_lowercase(), &host))
}

/// The reasons to reject `cert` at `now` for a client that asked for `sni`.
fn judge(cert: &CertSeen, sni: Option<&str>, now: PacketTime) -> u8 {
    let mut r = 0;
    if cert.self_signed {
        r |= Reason::SelfSigned.bit();
    }
    // Both zero: the validity was not read.
    if cert.not_before != 0 || cert.not_after != 0 {
        let now = i64::try_from(now.secs()).unwrap_or(i64::MAX);
        if now > cert.not_after {
            r |= Reason::Expired.bit();
        } else if now < cert.not_before {
            r |= Reason::NotYetValid.bit();
        }
    }
    if let Some(sni) = sni
        && !sni.is_empty()
        && !carries_name(cert, sni)
    {
        r |= Reason::SniMismatch.bit();
    }
    r
}

/// What was reported for a (server, certificate): when, and which reasons.
#[derive(Debug, Clone, Copy)]
struct Reported {
    at: PacketTime,
    reasons: u8,
}

/// The detector.
#[derive(Debug)]
pub struct TlsCertUntrusted {
    allow: Vec<Allow>,
    interval: Duration,
    reported: BoundedMap<(Option<SocketAddr>, [u8; 32]), Reported>,
}

impl TlsCertUntrusted {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            allow: cfg.allow.clone(),
            interval,
            reported: BoundedMap::new(cfg.max_reported, interval),
        }
    }

    fn raise(&self, t: &TlsSeen, cert: &CertSeen, reasons: u8, cx: &mut Context<'_>) {
        let now = cx.now();
        let names: Vec<Value> = Reason::ALL
            .iter()
            .filter(|r| reasons & r.bit() != 0)
            .map(|r| Value::Str(r.name().into()))
            .collect();
        let server = t.server.map_or_else(|| "-".to_owned(), |s| s.to_string());
        let high = reasons & Reason::SniMismatch.bit() != 0;
        let alert = tls::handshake_alert(&META, now, t)
            .severity(if high {
                Severity::High
            } else {
                Severity::Medium
            })
            .key(format!("{server} {} {reasons:x}", tls::hex(&cert.sha256)))
            .evidence("reasons", Value::List(names));
        let alert = tls::cert_evidence(alert, cert)
            .evidence(
                "san",
                Value::List(
                    cert.san
                        .iter()
                        .map(|s| Value::Str(san_value(s).to_owned()))
                        .collect(),
                ),
            )
            .evidence("chain_length", Value::U64(t.server_certs.len() as u64));
        cx.raise(alert);
    }
}

impl Detector for TlsCertUntrusted {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Tls)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Tls(t) = &ev.payload else { return };
        if t.dtls || t.certs_encrypted {
            return;
        }
        let Some(cert) = t.server_certs.first() else {
            return;
        };
        let now = cx.now();
        let mut reasons = judge(cert, t.sni.as_deref(), now);
        for a in &self.allow {
            if a.matches(cert, t.server) {
                reasons &= !a.reasons;
            }
        }
        if reasons == 0 {
            return;
        }
        let key = (t.server, cert.sha256);
        let mut known = reasons;
        if let Some(r) = self.reported.get(&key)
            && now.since(r.at) < self.interval
        {
            if reasons & !r.reasons == 0 {
                return;
            }
            known |= r.reasons;
        }
        self.reported.insert(
            key,
            Reported {
                at: now,
                reasons: known,
            },
            now,
        );
        self.raise(t, cert, reasons, cx);
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
    use crate::tls::test_util::{cert, handshake, strings};

    const PBX: &str = "10.77.0.1:5061";

    fn self_signed(tag: u8, cn: &str) -> CertSeen {
        let mut c = cert(tag, cn);
        c.self_signed = true;
        c.issuer = c.subject.clone();
        c
    }

    fn run_with(cfg: &Config, events: &[(u64, TlsSeen)]) -> Vec<Alert> {
        let mut s = Scenario::new();
        for (ms, t) in events {
            s.at_ms(*ms, Payload::Tls(Box::new(t.clone())));
        }
        s.run(TlsCertUntrusted::new(cfg))
    }

    fn run(events: &[(u64, TlsSeen)]) -> Vec<Alert> {
        run_with(&Config::default(), events)
    }

    #[test]
    fn a_ca_issued_valid_certificate_for_the_sni_is_quiet() {
        let t = handshake("10.77.0.11:40000", PBX, Some("pbx.lab"), cert(1, "pbx.lab"));
        assert!(run(&[(0, t)]).is_empty());
        // No SNI: names are not judged.
        let t = handshake("10.77.0.11:40000", PBX, None, cert(1, "pbx.lab"));
        assert!(run(&[(0, t)]).is_empty());
    }

    #[test]
    fn a_self_signed_server_is_one_medium_alert_per_certificate() {
        let a = self_signed(1, "pbx.lab");
        let b = self_signed(2, "pbx.lab");
        let alerts = run(&[
            (
                0,
                handshake("10.77.0.11:40000", PBX, Some("pbx.lab"), a.clone()),
            ),
            (100, handshake("10.77.0.12:40001", PBX, Some("pbx.lab"), a)),
            (
                2_700,
                handshake("10.77.0.11:40002", PBX, Some("pbx.lab"), b.clone()),
            ),
            (2_800, handshake("10.77.0.12:40003", PBX, None, b)),
        ]);
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let x = &alerts[0];
        assert_eq!(x.severity, Severity::Medium);
        assert_eq!(x.src_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(x.src_port, Some(5061));
        assert_eq!(x.dest_ip, Some("10.77.0.11".parse().unwrap()));
        assert_eq!(strings(x, "reasons"), ["self-signed"]);
        assert_eq!(strings(x, "subject"), ["CN=pbx.lab"]);
        assert_eq!(strings(x, "issuer"), ["CN=pbx.lab"]);
        assert_eq!(strings(x, "san"), ["pbx.lab"]);
        assert_eq!(strings(x, "sni"), ["pbx.lab"]);
        assert_eq!(strings(&alerts[1], "cert_sha256"), ["02".repeat(32)]);
    }

    #[test]
    fn validity_is_judged_in_packet_time() {
        // Scenario time is 2026-01-15; the certificate is valid from 2025-01-01 to 2027-01-01.
        let mut expired = cert(1, "pbx.lab");
        expired.not_after = 1_767_225_600; // 2026-01-01
        let mut early = cert(2, "pbx.lab");
        early.not_before = 1_769_904_000; // 2026-02-01
        let alerts = run(&[
            (0, handshake("10.77.0.11:1", PBX, None, expired)),
            (1, handshake("10.77.0.11:2", "10.77.0.2:5061", None, early)),
        ]);
        assert_eq!(strings(&alerts[0], "reasons"), ["expired"]);
        assert_eq!(strings(&alerts[1], "reasons"), ["not-yet-valid"]);
        assert!(alerts.iter().all(|a| a.severity == Severity::Medium));
    }

    #[test]
    fn a_name_the_certificate_does_not_carry_is_high() {
        let alerts = run(&[(
            0,
            handshake(
                "10.77.0.11:1",
                PBX,
                Some("voip.example.net"),
                cert(1, "pbx.lab"),
            ),
        )]);
        assert_eq!(alerts.len(), 1);
        assert_eq!(strings(&alerts[0], "reasons"), ["sni-mismatch"]);
        assert_eq!(alerts[0].severity, Severity::High);
    }

    #[test]
    fn of_the_lab_weak_tls_handshakes_only_the_foreign_name_is_untrusted() {
        let chain = crate::tls::test_util::lab_weak_chain();
        let hs = |client: &str, sni: &str, certs: Vec<CertSeen>| TlsSeen {
            server_certs: certs,
            ..handshake(client, PBX, Some(sni), cert(0, "x"))
        };
        let alerts = run(&[
            (
                0,
                hs("10.77.0.11:56956", "pbx.lab.callguard", chain.clone()),
            ),
            (
                526,
                hs("10.77.0.12:39072", "pbx.lab.callguard", chain.clone()),
            ),
            (1_051, hs("10.77.0.11:50902", "voip.example.net", chain)),
            (
                1_577,
                hs("10.77.0.12:51660", "pbx.lab.callguard", Vec::new()),
            ),
        ]);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(strings(&alerts[0], "reasons"), ["sni-mismatch"]);
        assert_eq!(alerts[0].dest_ip, Some("10.77.0.11".parse().unwrap()));
        assert_eq!(alerts[0].evidence.get("chain_length"), Some(&Value::U64(2)));
    }

    #[test]
    fn names_follow_rfc_6125() {
        let mut c = cert(1, "x");
        c.san = vec![
            "DNS:*.example.com".into(),
            "DNS:sip.example.org".into(),
            "IP:10.77.0.1".into(),
        ];
        c.subject = "CN=other.example.net,O=x".into();
        assert!(carries_name(&c, "pbx.example.com"));
        assert!(carries_name(&c, "PBX.Example.COM."));
        assert!(!carries_name(&c, "a.b.example.com"), "one label only");
        assert!(!carries_name(&c, "example.com"));
        assert!(carries_name(&c, "sip.example.org"));
        assert!(carries_name(&c, "10.77.0.1"));
        assert!(!carries_name(&c, "10.77.0.2"));
        // The CN does not count beside DNS names...
        assert!(!carries_name(&c, "other.example.net"));
        // ...but does without them; SAN entries may come without a type prefix.
        c.san = vec!["10.77.0.1".into()];
        assert!(carries_name(&c, "other.example.net"));
        assert!(!name_matches("*.com", "example.com"));
        assert_eq!(common_name("O=x, CN=a.b"), Some("a.b"));
    }

    #[test]
    fn a_new_reason_for_a_reported_certificate_raises_again() {
        let a = self_signed(1, "pbx.lab");
        let alerts = run(&[
            (
                0,
                handshake("10.77.0.11:1", PBX, Some("pbx.lab"), a.clone()),
            ),
            (
                1_000,
                handshake("10.77.0.66:2", PBX, Some("bank.example"), a.clone()),
            ),
            (2_000, handshake("10.77.0.12:3", PBX, Some("pbx.lab"), a)),
        ]);
        let got: Vec<_> = alerts.iter().map(|a| strings(a, "reasons")).collect();
        assert_eq!(
            got,
            [vec!["self-signed"], vec!["self-signed", "sni-mismatch"]]
        );
        assert_eq!(alerts[1].dest_ip, Some("10.77.0.66".parse().unwrap()));
    }

    #[test]
    fn dtls_and_encrypted_or_absent_certificates_are_not_judged() {
        let c = self_signed(1, "dtls@baresip");
        let dtls = TlsSeen {
            dtls: true,
            ..handshake("10.77.0.12:20020", "10.77.0.11:16020", None, c.clone())
        };
        let tls13 = TlsSeen {
            certs_encrypted: true,
            server_certs: Vec::new(),
            ..handshake("10.77.0.11:1", PBX, Some("x"), c.clone())
        };
        let resumed = TlsSeen {
            server_certs: Vec::new(),
            ..handshake("10.77.0.11:1", PBX, Some("x"), c)
        };
        assert!(run(&[(0, dtls), (1, tls13), (2, resumed)]).is_empty());
    }

    #[test]
    fn the_allowlist_excuses_by_fingerprint_issuer_or_server_and_by_reason() {
        let a = self_signed(0x28, "pbx.lab");
        let t = handshake("10.77.0.11:1", PBX, Some("pbx.lab"), a.clone());
        let parse = |text: &str| -> Config { toml::from_str(text).unwrap() };
        let by_hash = parse(&format!(
            "allow = [{{ sha256 = \"{}\" }}]",
            "28:".repeat(31) + "28"
        ));
        assert!(run_with(&by_hash, &[(0, t.clone())]).is_empty());
        let by_server = parse("allow = [{ server = \"10.77.0.1\", issuer = \"CN=pbx.lab\" }]");
        assert!(run_with(&by_server, &[(0, t.clone())]).is_empty());
        let other_port = parse("allow = [{ server = \"10.77.0.1:5062\" }]");
        assert_eq!(run_with(&other_port, &[(0, t.clone())]).len(), 1);
        // Allowed to be self-signed, not to be used for another name.
        let self_signed_only =
            parse("allow = [{ subject = \"CN=pbx.lab\", reasons = [\"self-signed\"] }]");
        let wrong_name = handshake("10.77.0.66:2", PBX, Some("bank.example"), a);
        let alerts = run_with(&self_signed_only, &[(0, t), (1, wrong_name)]);
        assert_eq!(alerts.len(), 1);
        assert_eq!(strings(&alerts[0], "reasons"), ["sni-mismatch"]);
    }

    #[test]
    fn bad_allow_entries_are_rejected_when_the_rules_load() {
        for bad in [
            "allow = [{}]",
            "allow = [{ sha256 = \"abcd\" }]",
            "allow = [{ server = \"pbx\" }]",
            "allow = [{ server = \"10.0.0.1\", reasons = [\"revoked\"] }]",
            "allow = [{ serial = \"01\" }]",
        ] {
            assert!(toml::from_str::<Config>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table_stays_bounded_under_a_flood_of_certificates() {
        let cfg = Config {
            max_reported: 64,
            ..Config::default()
        };
        let mut d = TlsCertUntrusted::new(&cfg);
        let mut out = Vec::new();
        for i in 0..2_000u32 {
            let ts = PacketTime::from_secs(1_768_471_200 + u64::from(i) / 100);
            let mut c = self_signed(0, "x");
            c.sha256[..4].copy_from_slice(&i.to_be_bytes());
            let ev = Event {
                seq: u64::from(i),
                ts,
                payload: Payload::Tls(Box::new(handshake("10.0.0.9:1", PBX, None, c))),
            };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert_eq!(out.len(), 2_000);
        let t = d.tables()[0].1;
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
