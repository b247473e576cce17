//! `tls-cert-changed` (sid 2001): a TLS server presents a certificate other than the one pinned for it, or
//! other than the one it presented before (trust on first use).
//!
//! # What raises it
//! A server is an (IP address, port, SNI) triple: one address can serve several names, each with its own
//! certificate. Its certificate is the leaf of the chain it sends in a TLS handshake.
//! - **Pins.** `pins` in the rules file name the certificates a server may present, by SHA-256 fingerprint,
//!   for a server address (`ip:port`, or `ip` for every port), for an SNI, or for both. A pin matches when any
//!   certificate of the chain has its fingerprint, so a private CA can be pinned instead of each leaf. A
//!   handshake of a pinned server whose chain matches none of its pins raises `pin-mismatch` (High), once per
//!   (server, certificate) per `interval_secs`. Pinned servers are judged by their pins only.
//! - **Trust on first use.** For any other server, the first certificate seen becomes the expected one, kept
//!   in the detector's store (bounded; a server not seen for `forget_after_days` is forgotten). A later
//!   handshake with another certificate raises an alert, and the new certificate becomes the expected one: one
//!   alert per change, not one per handshake (so a flip back to the old certificate is a change too, and
//!   evidence says `seen_before`).
//!
//! # Renewal is not a swap: the severity
//! The new certificate is compared with the expected one:
//! - `subject-changed`, `issuer-changed`, `key-changed` (the public key's type or size, or under the same names
//!   a different key, by the SHA-256 of its subjectPublicKeyInfo, while the old certificate was far from
//!   expiry): another identity, or another authority, or another key: what an interception proxy with its own
//!   certificate (stunnel, mitmproxy) looks like. **High**.
//! - `renewal`: same subject, issuer and key type, a fresh validity period (starts no earlier and ends later),
//!   seen once the old certificate is in its expiry window or past it: routine. **Low**. The window is the
//!   last `renewal_window_days` (30) of the old certificate's life, but at most its last third, so that
//!   short-lived certificates are not "due" from birth (ACME clients renew 90-day certificates 30 days
//!   before expiry, and shorter ones at a third of their life left).
//! - `renewal-new-key`: a renewal (as above) that also changed the key, as good practice wants. **Medium**.
//! - `early-renewal`: the same names and the same key but the old certificate was far from expiry, or the new
//!   one's validity is not fresher (a server re-issued its certificate early). **Medium**.
//!
//! Keys are compared by the SHA-256 of the subjectPublicKeyInfo; a store written before it was kept has no key
//! hash, and then only the key's type and size are compared.
//!
//! # Not judged
//! DTLS (DTLS-SRTP certificates are made per call or per device and authenticated by the SDP fingerprint:
//! `dtls-fingerprint-mismatch`), handshakes without a server address, and those whose certificates are not
//! visible (TLS 1.3, resumption).
//!
//! # The store across restarts
//! [`TlsCertChanged::export`] and [`TlsCertChanged::import`] turn the store into a [`CertStore`] (serde types:
//! the sensor writes it as JSON with `--cert-store FILE`, loads it at start and saves it at the end), so a
//! restart does not forget what was seen. Times in it are packet times (seconds since the epoch).
//!
//! # Evidence
//! `sni` (when sent), `reasons`, the new certificate (`cert_sha256`, `subject`, `issuer`, `not_before`,
//! `not_after`, `key_type`, `key_bits`) and, for a change, the expected one (`previous_sha256`,
//! `previous_subject`, `previous_issuer`, `previous_not_before`, `previous_not_after`, `previous_key_type`,
//! `previous_key_bits`), `known_since` (when the store first saw the server) and `seen_before`; for a pin
//! mismatch, `pinned_sha256` (the fingerprints allowed). The actor (`src_ip`) is the server that presented
//! the certificate, the target its client.
//!
//! # False positives and tuning
//! Load balancers that present different certificates per node alert on each switch: pin all of them. A
//! certificate replaced long before its expiry (a key rotation) is `early-renewal`, Medium.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Category, Meta, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{CertSeen, Event, EventKind, Interests, Payload, TlsSeen};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;
use crate::tls::{self, ServerMatch};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2001,
    slug: "tls-cert-changed",
    category: Category::Mitm,
    severity: Severity::High,
    signature: "TLS server presents a certificate other than the pinned one or the one seen before",
};

/// Earlier certificates remembered per server (for `seen_before`).
pub const MAX_PREVIOUS: usize = 4;

const SECS_PER_DAY: u64 = 86_400;

/// Settings, `[detectors.tls-cert-changed]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Pinned certificates.
    pub pins: Vec<Pin>,
    /// A new certificate with the same names and a fresh validity is a renewal when seen this many days before
    /// the old one's expiry, or later (at most the last third of the old one's life).
    pub renewal_window_days: u64,
    /// A server not seen for this many days is forgotten (certificates live up to 398 days).
    pub forget_after_days: u64,
    /// Cap on servers remembered.
    pub max_servers: usize,
    /// At most one `pin-mismatch` alert per (server, certificate) in this many seconds.
    pub interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            pins: Vec::new(),
            renewal_window_days: 30,
            forget_after_days: 400,
            max_servers: 65_536,
            interval_secs: 3600,
        }
    }
}

/// A pin: the server (address, SNI or both) and a certificate it may present.
///
/// ```toml
/// [detectors.tls-cert-changed]
/// pins = [
///   { server = "10.77.0.1:5061", sha256 = "ce1a1446b0aa11e2f93b8fc55110f185fd672c070c141f79c0a1c7f15d960def" },
///   { sni = "pbx.example", sha256 = "CE:1A:14:..." },
/// ]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PinSpec")]
pub struct Pin {
    server: Option<ServerMatch>,
    sni: Option<String>,
    sha256: [u8; 32],
}

/// A pin as written in the rules file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinSpec {
    server: Option<String>,
    sni: Option<String>,
    sha256: String,
}

impl TryFrom<PinSpec> for Pin {
    type Error = String;

    fn try_from(p: PinSpec) -> Result<Self, String> {
        let sha256 = tls::parse_sha256(&p.sha256)
            .ok_or_else(|| format!("sha256 {:?} is not 64 hex digits", p.sha256))?;
        let server = match &p.server {
            Some(s) => Some(
                ServerMatch::parse(s)
                    .ok_or_else(|| format!("server {s:?} is not an ip or ip:port"))?,
            ),
            None => None,
        };
        if server.is_none() && p.sni.is_none() {
            return Err("a pin needs a server, an sni or both".into());
        }
        Ok(Pin {
            server,
            sni: p.sni.as_deref().map(normal_sni),
            sha256,
        })
    }
}

impl Pin {
    fn applies(&self, server: SocketAddr, sni: Option<&str>) -> bool {
        self.server.is_none_or(|m| m.matches(server))
            && self.sni.as_deref().is_none_or(|p| sni == Some(p))
    }
}

/// An SNI as a key: lower case, without a trailing dot.
fn normal_sni(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

/// A SHA-256 fingerprint, written as 64 lower-case hex digits (colons accepted when read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&tls::hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        tls::parse_sha256(&s)
            .map(Fingerprint)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a SHA-256 fingerprint")))
    }
}

/// A certificate as the store remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredCert {
    /// SHA-256 of the DER certificate.
    pub sha256: Fingerprint,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// notBefore, seconds since the epoch.
    pub not_before: i64,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// Public key algorithm.
    pub key_type: String,
    /// Public key size, bits.
    pub key_bits: u32,
    /// SHA-256 of the subjectPublicKeyInfo (absent in stores written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spki_sha256: Option<Fingerprint>,
}

impl StoredCert {
    fn of(c: &CertSeen) -> Self {
        Self {
            sha256: Fingerprint(c.sha256),
            subject: c.subject.to_string(),
            issuer: c.issuer.to_string(),
            not_before: c.not_before,
            not_after: c.not_after,
            key_type: c.key_type.to_string(),
            key_bits: c.key_bits,
            spki_sha256: (c.spki_sha256 != [0; 32]).then_some(Fingerprint(c.spki_sha256)),
        }
    }
}

/// One server in the store: what it is expected to present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredServer {
    /// Address and port.
    pub server: SocketAddr,
    /// The SNI its clients asked for (lower case), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// When the store first saw it, packet time in seconds since the epoch.
    pub first_seen: u64,
    /// When it was last seen.
    pub last_seen: u64,
    /// The certificate expected.
    pub cert: StoredCert,
    /// Certificates it presented before, most recent first (at most [`MAX_PREVIOUS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<Fingerprint>,
}

/// The certificate store as saved between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertStore {
    /// Format version: [`CertStore::VERSION`].
    pub version: u32,
    /// The servers, sorted by address and SNI.
    pub servers: Vec<StoredServer>,
}

impl CertStore {
    /// The format version this build writes and reads.
    pub const VERSION: u32 = 1;

    /// An empty store.
    pub fn new() -> Self {
        Self {
            version: Self::VERSION,
            servers: Vec::new(),
        }
    }
}

impl Default for CertStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A saved store that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertStoreError {
    /// Written by another version of the format.
    #[error("certificate store format version {found}, this build reads version {expected}")]
    Version {
        /// The version in the file.
        found: u32,
        /// [`CertStore::VERSION`].
        expected: u32,
    },
}

/// What the store knows of a server.
#[derive(Debug, Clone)]
struct Known {
    cert: StoredCert,
    first_seen: PacketTime,
    previous: Vec<Fingerprint>,
}

/// A server: address and SNI.
type ServerKey = (SocketAddr, Option<Box<str>>);

/// Why a certificate differs from the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    SubjectChanged,
    IssuerChanged,
    KeyChanged,
    Renewal,
    RenewalNewKey,
    EarlyRenewal,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::SubjectChanged => "subject-changed",
            Change::IssuerChanged => "issuer-changed",
            Change::KeyChanged => "key-changed",
            Change::Renewal => "renewal",
            Change::RenewalNewKey => "renewal-new-key",
            Change::EarlyRenewal => "early-renewal",
        }
    }
}

/// How `new` differs from `old`, seen at `now`, and the severity that makes.
fn classify(
    old: &StoredCert,
    new: &CertSeen,
    now: PacketTime,
    window: Duration,
) -> (Vec<Change>, Severity) {
    let mut v = Vec::new();
    if *old.subject != *new.subject {
        v.push(Change::SubjectChanged);
    }
    if *old.issuer != *new.issuer {
        v.push(Change::IssuerChanged);
    }
    if !old.key_type.eq_ignore_ascii_case(&new.key_type) || old.key_bits != new.key_bits {
        v.push(Change::KeyChanged);
    }
    if !v.is_empty() {
        return (v, Severity::High);
    }
    // Same names, same kind of key: is it the same key? (Unknown on either side: no judgement.)
    let new_key = matches!(old.spki_sha256, Some(Fingerprint(k)) if new.spki_sha256 != [0; 32] && k != new.spki_sha256);
    let fresh = new.not_before >= old.not_before && new.not_after > old.not_after;
    let lifetime = old.not_after.saturating_sub(old.not_before).max(0);
    let window = i64::try_from(window.as_secs())
        .unwrap_or(i64::MAX)
        .min(lifetime / 3);
    let now = i64::try_from(now.secs()).unwrap_or(i64::MAX);
    let due = now >= old.not_after.saturating_sub(window);
    match (fresh && due, new_key) {
        (true, false) => (vec![Change::Renewal], Severity::Low),
        // Re-keying at renewal is good practice: worth a look, not an alarm.
        (true, true) => (vec![Change::RenewalNewKey], Severity::Medium),
        (false, false) => (vec![Change::EarlyRenewal], Severity::Medium),
        // A new key for the same names mid-life: another party holding the server's name (interception).
        (false, true) => (vec![Change::KeyChanged], Severity::High),
    }
}

/// The detector.
#[derive(Debug)]
pub struct TlsCertChanged {
    pins: Vec<Pin>,
    renewal_window: Duration,
    interval: Duration,
    known: BoundedMap<ServerKey, Known>,
    /// Pin mismatches reported: (server, certificate) and when.
    pin_reported: BoundedMap<(ServerKey, [u8; 32]), PacketTime>,
}

impl TlsCertChanged {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            pins: cfg.pins.clone(),
            renewal_window: Duration::from_secs(
                cfg.renewal_window_days.saturating_mul(SECS_PER_DAY),
            ),
            interval,
            known: BoundedMap::new(
                cfg.max_servers,
                Duration::from_secs(cfg.forget_after_days.saturating_mul(SECS_PER_DAY)),
            ),
            pin_reported: BoundedMap::new(cfg.max_servers, interval),
        }
    }

    /// The store, sorted by server and SNI.
    pub fn export(&self) -> CertStore {
        let mut servers: Vec<StoredServer> = self
            .known
            .iter()
            .map(|((server, sni), k)| StoredServer {
                server: *server,
                sni: sni.as_deref().map(str::to_owned),
                first_seen: k.first_seen.secs(),
                last_seen: self
                    .known
                    .last_seen(&(*server, sni.clone()))
                    .unwrap_or(k.first_seen)
                    .secs(),
                cert: k.cert.clone(),
                previous: k.previous.clone(),
            })
            .collect();
        servers.sort_by(|a, b| (a.server, &a.sni).cmp(&(b.server, &b.sni)));
        CertStore {
            version: CertStore::VERSION,
            servers,
        }
    }

    /// Loads a saved store (on top of what is known; a server in both takes the saved entry). Returns the
    /// number of servers loaded; beyond the cap the least recently seen are dropped, as in use.
    pub fn import(&mut self, store: &CertStore) -> Result<usize, CertStoreError> {
        if store.version != CertStore::VERSION {
            return Err(CertStoreError::Version {
                found: store.version,
                expected: CertStore::VERSION,
            });
        }
        let mut servers: Vec<&StoredServer> = store.servers.iter().collect();
        // Oldest first, so that the most recently seen survive the cap.
        servers.sort_by_key(|s| s.last_seen);
        for s in &servers {
            let mut previous = s.previous.clone();
            previous.truncate(MAX_PREVIOUS);
            let known = Known {
                cert: s.cert.clone(),
                first_seen: PacketTime::from_secs(s.first_seen),
                previous,
            };
            let sni = s.sni.as_deref().map(|n| normal_sni(n).into_boxed_str());
            self.known
                .insert((s.server, sni), known, PacketTime::from_secs(s.last_seen));
        }
        Ok(servers.len())
    }

    fn pin_mismatch(
        &mut self,
        t: &TlsSeen,
        key: ServerKey,
        pins: Vec<[u8; 32]>,
        cx: &mut Context<'_>,
    ) {
        let Some(leaf) = t.server_certs.first() else {
            return;
        };
        let now = cx.now();
        let rkey = (key, leaf.sha256);
        if self
            .pin_reported
            .get(&rkey)
            .is_some_and(|at| now.since(*at) < self.interval)
        {
            return;
        }
        let ((server, sni), _) = &rkey;
        let alert = tls::handshake_alert(&META, now, t)
            .severity(Severity::High)
            .key(format!(
                "{server} {} {}",
                sni.as_deref().unwrap_or("-"),
                tls::hex(&leaf.sha256)
            ))
            .evidence(
                "reasons",
                Value::List(vec![Value::Str("pin-mismatch".into())]),
            );
        let alert = tls::cert_evidence(alert, leaf).evidence(
            "pinned_sha256",
            Value::List(pins.iter().map(|p| Value::Str(tls::hex(p))).collect()),
        );
        cx.raise(alert);
        self.pin_reported.insert(rkey, now, now);
    }

    fn changed(
        &self,
        t: &TlsSeen,
        key: &ServerKey,
        known: &Known,
        leaf: &CertSeen,
        now: PacketTime,
    ) -> Alert {
        let old = &known.cert;
        let (changes, severity) = classify(old, leaf, now, self.renewal_window);
        let seen_before = known.previous.iter().any(|p| p.0 == leaf.sha256);
        let (server, sni) = key;
        let mut a = tls::handshake_alert(&META, now, t)
            .severity(severity)
            .key(format!(
                "{server} {} {}",
                sni.as_deref().unwrap_or("-"),
                tls::hex(&leaf.sha256)
            ))
            .evidence(
                "reasons",
                Value::List(
                    changes
                        .iter()
                        .map(|c| Value::Str(c.name().into()))
                        .collect(),
                ),
            );
        a = tls::cert_evidence(a, leaf)
            .evidence("previous_sha256", Value::Str(tls::hex(&old.sha256.0)))
            .evidence("previous_subject", Value::Str(old.subject.clone()))
            .evidence("previous_issuer", Value::Str(old.issuer.clone()));
        if let Some(t) = tls::cert_time(old.not_before) {
            a = a.evidence("previous_not_before", Value::Time(t));
        }
        if let Some(t) = tls::cert_time(old.not_after) {
            a = a.evidence("previous_not_after", Value::Time(t));
        }
        a.evidence("previous_key_type", Value::Str(old.key_type.clone()))
            .evidence("previous_key_bits", Value::U64(u64::from(old.key_bits)))
            .evidence("known_since", Value::Time(known.first_seen))
            .evidence("seen_before", Value::Bool(seen_before))
    }
}

impl Detector for TlsCertChanged {
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
        let (Some(server), Some(leaf)) = (t.server, t.server_certs.first()) else {
            return;
        };
        let sni = t.sni.as_deref().map(normal_sni).filter(|s| !s.is_empty());
        let key: ServerKey = (server, sni.clone().map(String::into_boxed_str));
        let now = cx.now();

        let pins: Vec<[u8; 32]> = self
            .pins
            .iter()
            .filter(|p| p.applies(server, sni.as_deref()))
            .map(|p| p.sha256)
            .collect();
        if !pins.is_empty() {
            if !t.server_certs.iter().any(|c| pins.contains(&c.sha256)) {
                self.pin_mismatch(t, key, pins, cx);
            }
            return;
        }

        let Some(known) = self.known.get_mut(&key, now) else {
            let known = Known {
                cert: StoredCert::of(leaf),
                first_seen: now,
                previous: Vec::new(),
            };
            self.known.insert(key, known, now);
            return;
        };
        if known.cert.sha256.0 == leaf.sha256 {
            return;
        }
        let snapshot = known.clone();
        // The new certificate is the one expected from now on; the old one joins the earlier ones.
        known.previous.retain(|p| p.0 != leaf.sha256);
        known.previous.insert(0, snapshot.cert.sha256);
        known.previous.truncate(MAX_PREVIOUS);
        known.cert = StoredCert::of(leaf);
        let alert = self.changed(t, &key, &snapshot, leaf, now);
        cx.raise(alert);
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.known.expire(now);
        self.pin_reported.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![
            ("servers", self.known.stats()),
            ("pin_reported", self.pin_reported.stats()),
        ]
    }

    fn export_cert_store(&self) -> Option<CertStore> {
        Some(self.export())
    }

    fn import_cert_store(&mut self, store: &CertStore) -> Option<Result<usize, CertStoreError>> {
        Some(self.import(store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Scenario;
    use crate::tls::test_util::{cert, handshake, strings};

    const PBX: &str = "10.77.0.1:5061";
    const DAY_MS: u64 = 86_400_000;

    fn self_signed(tag: u8, cn: &str) -> CertSeen {
        let mut c = cert(tag, cn);
        c.self_signed = true;
        c.issuer = c.subject.clone();
        c
    }

    fn scenario(events: &[(u64, TlsSeen)]) -> Scenario {
        let mut s = Scenario::new();
        for (ms, t) in events {
            s.at_ms(*ms, Payload::Tls(Box::new(t.clone())));
        }
        s
    }

    fn run_with(cfg: &Config, events: &[(u64, TlsSeen)]) -> Vec<Alert> {
        scenario(events).run(TlsCertChanged::new(cfg))
    }

    fn run(events: &[(u64, TlsSeen)]) -> Vec<Alert> {
        run_with(&Config::default(), events)
    }

    #[test]
    fn the_same_certificate_again_is_quiet_and_servers_are_apart() {
        let a = self_signed(1, "pbx.lab");
        let other = self_signed(2, "ph2.lab");
        let alerts = run(&[
            (0, handshake("10.77.0.12:1", PBX, None, a.clone())),
            (100, handshake("10.77.0.11:2", PBX, None, a)),
            (
                200,
                handshake("10.77.0.1:3", "10.77.0.12:5061", None, other),
            ),
        ]);
        assert!(alerts.is_empty(), "{alerts:#?}");
    }

    #[test]
    fn a_restart_with_a_new_self_signed_certificate_is_one_medium_alert() {
        // lab-tls-cert-change: A to 10.77.0.11, then B (same names, made minutes later) to .11 and .12.
        let a = self_signed(0xce, "pbx.lab.callguard");
        let mut b = self_signed(0xc6, "pbx.lab.callguard");
        b.not_before += 120;
        b.not_after += 120;
        let alerts = run(&[
            (
                0,
                handshake("10.77.0.11:40000", PBX, Some("pbx.lab.callguard"), a),
            ),
            (
                2_700,
                handshake(
                    "10.77.0.11:40001",
                    PBX,
                    Some("pbx.lab.callguard"),
                    b.clone(),
                ),
            ),
            (
                2_900,
                handshake("10.77.0.12:40002", PBX, Some("pbx.lab.callguard"), b),
            ),
        ]);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let x = &alerts[0];
        assert_eq!(x.severity, Severity::Medium);
        assert_eq!(strings(x, "reasons"), ["early-renewal"]);
        assert_eq!(x.src_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(x.src_port, Some(5061));
        assert_eq!(x.dest_ip, Some("10.77.0.11".parse().unwrap()));
        assert_eq!(strings(x, "cert_sha256"), ["c6".repeat(32)]);
        assert_eq!(strings(x, "previous_sha256"), ["ce".repeat(32)]);
        assert_eq!(strings(x, "sni"), ["pbx.lab.callguard"]);
        assert_eq!(x.evidence.get("seen_before"), Some(&Value::Bool(false)));
        assert_eq!(
            x.evidence.get("known_since"),
            Some(&Value::Time(PacketTime::from_nanos(Scenario::BASE_NANOS)))
        );
    }

    #[test]
    fn an_interception_proxy_with_its_own_certificate_is_high() {
        let real = cert(1, "pbx.lab");
        let mut proxy = self_signed(2, "stunnel.lab");
        proxy.key_bits = 4096;
        let alerts = run(&[
            (0, handshake("10.77.0.12:1", PBX, Some("pbx.lab"), real)),
            (
                1_000,
                handshake("10.77.0.11:2", PBX, Some("pbx.lab"), proxy),
            ),
        ]);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].severity, Severity::High);
        assert_eq!(
            strings(&alerts[0], "reasons"),
            ["subject-changed", "issuer-changed", "key-changed"]
        );
        assert_eq!(
            strings(&alerts[0], "previous_issuer"),
            ["CN=Lab CA,O=callguard"]
        );
    }

    #[test]
    fn a_new_key_under_the_same_names_mid_life_is_a_swap() {
        let mut a = cert(0xce, "pbx.lab.callguard");
        a.spki_sha256 = [1; 32];
        let mut b = cert(0xc6, "pbx.lab.callguard");
        b.spki_sha256 = [2; 32];
        let mut same_key = cert(0xc7, "pbx.lab.callguard");
        same_key.spki_sha256 = [2; 32];
        let old = StoredCert::of(&a);
        let mid_life = PacketTime::from_nanos(1_760_000_000 * 1_000_000_000);
        let window = Duration::from_secs(30 * 86_400);
        assert_eq!(
            classify(&old, &b, mid_life, window),
            (vec![Change::KeyChanged], Severity::High)
        );
        let near_expiry = PacketTime::from_nanos(1_798_000_000 * 1_000_000_000);
        b.not_after += 1;
        assert_eq!(
            classify(&old, &b, near_expiry, window),
            (vec![Change::RenewalNewKey], Severity::Medium)
        );
        let old_b = StoredCert::of(&b);
        assert_eq!(
            classify(&old_b, &same_key, mid_life, window).1,
            Severity::Medium,
            "same key, re-issued early"
        );
    }

    #[test]
    fn a_renewal_near_expiry_is_low_and_a_new_issuer_is_not_a_renewal() {
        // Scenario time is 2026-01-15. The old certificate ends 2026-02-01: within the 30-day window.
        let mut old = cert(1, "pbx.lab");
        old.not_after = 1_769_904_000;
        let mut renewed = cert(2, "pbx.lab");
        renewed.not_before = 1_768_000_000;
        renewed.not_after = 1_800_000_000;
        let mut other_ca = renewed.clone();
        other_ca.sha256 = [3; 32];
        other_ca.issuer = "CN=Other CA".into();
        let alerts = run(&[
            (0, handshake("10.77.0.11:1", PBX, None, old.clone())),
            (1_000, handshake("10.77.0.11:2", PBX, None, renewed.clone())),
            (
                2_000,
                handshake("10.77.0.11:3", "10.77.0.2:5061", None, old),
            ),
            (
                3_000,
                handshake("10.77.0.11:4", "10.77.0.2:5061", None, other_ca),
            ),
        ]);
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(
            (strings(&alerts[0], "reasons"), alerts[0].severity),
            (vec!["renewal".into()], Severity::Low)
        );
        assert_eq!(
            (strings(&alerts[1], "reasons"), alerts[1].severity),
            (vec!["issuer-changed".into()], Severity::High)
        );
        // The same renewal 60 days before expiry is early.
        let mut far = cert(1, "pbx.lab");
        far.not_after = 1_768_471_200 + 60 * 86_400;
        let alerts = run(&[
            (0, handshake("10.77.0.11:1", PBX, None, far)),
            (1_000, handshake("10.77.0.11:2", PBX, None, renewed)),
        ]);
        assert_eq!(strings(&alerts[0], "reasons"), ["early-renewal"]);
    }

    #[test]
    fn a_short_lived_certificate_is_due_only_in_its_last_third() {
        // 30-day lab certificates: replaced seconds after issue is early; 25 days in, a renewal.
        let born = 1_768_471_200;
        let thirty_days = |tag: u8, from: i64| {
            let mut c = self_signed(tag, "pbx.lab");
            (c.not_before, c.not_after) = (from, from + 30 * 86_400);
            c
        };
        let alerts = run(&[
            (
                0,
                handshake("10.77.0.11:1", PBX, None, thirty_days(1, born)),
            ),
            (
                5_000,
                handshake("10.77.0.11:2", PBX, None, thirty_days(2, born + 5)),
            ),
            (
                25 * DAY_MS,
                handshake(
                    "10.77.0.11:3",
                    PBX,
                    None,
                    thirty_days(3, born + 25 * 86_400),
                ),
            ),
        ]);
        let got: Vec<_> = alerts
            .iter()
            .map(|a| (strings(a, "reasons"), a.severity))
            .collect();
        assert_eq!(
            got,
            [
                (vec!["early-renewal".to_owned()], Severity::Medium),
                (vec!["renewal".to_owned()], Severity::Low)
            ]
        );
    }

    #[test]
    fn each_sni_of_an_address_is_its_own_server() {
        let alerts = run(&[
            (
                0,
                handshake("10.77.0.11:1", PBX, Some("a.example"), cert(1, "a.example")),
            ),
            (
                1,
                handshake(
                    "10.77.0.11:2",
                    PBX,
                    Some("B.Example."),
                    cert(2, "b.example"),
                ),
            ),
            (
                2,
                handshake("10.77.0.11:3", PBX, None, cert(3, "a.example")),
            ),
            (
                3,
                handshake("10.77.0.11:4", PBX, Some("b.example"), cert(2, "b.example")),
            ),
        ]);
        assert!(alerts.is_empty(), "{alerts:#?}");
    }

    #[test]
    fn a_flip_back_is_a_change_that_was_seen_before() {
        let a = cert(1, "pbx.lab");
        let mut b = cert(2, "pbx.lab");
        b.issuer = "CN=Evil".into();
        let alerts = run(&[
            (0, handshake("10.77.0.12:1", PBX, None, a.clone())),
            (1_000, handshake("10.77.0.11:2", PBX, None, b.clone())),
            (2_000, handshake("10.77.0.12:3", PBX, None, a)),
            (3_000, handshake("10.77.0.11:4", PBX, None, b)),
        ]);
        // The engine suppresses the second A-to-B change (same key, within the hour).
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(
            alerts[1].evidence.get("seen_before"),
            Some(&Value::Bool(true))
        );
        assert_eq!(strings(&alerts[1], "cert_sha256"), ["01".repeat(32)]);
    }

    #[test]
    fn pins_by_server_or_sni_admit_their_certificates_only() {
        let cfg: Config = toml::from_str(&format!(
            "pins = [{{ server = \"10.77.0.1:5061\", sha256 = \"{}\" }}, {{ sni = \"PBX.example\", sha256 = \"{}\" }}]",
            "01".repeat(32),
            "02:".repeat(31) + "02",
        ))
        .unwrap();
        let alerts = run_with(
            &cfg,
            &[
                // Pinned by address: the pinned certificate is quiet from the first handshake on.
                (0, handshake("10.77.0.11:1", PBX, None, cert(1, "x"))),
                (1, handshake("10.77.0.11:2", PBX, None, cert(9, "x"))),
                (2, handshake("10.77.0.12:3", PBX, None, cert(9, "x"))),
                // Pinned by name on any address; a chain whose CA is pinned matches too.
                (
                    3,
                    handshake(
                        "10.77.0.11:4",
                        "10.77.0.5:443",
                        Some("pbx.example"),
                        cert(2, "x"),
                    ),
                ),
                (
                    4,
                    TlsSeen {
                        server_certs: vec![cert(8, "x"), cert(2, "ca")],
                        ..handshake(
                            "10.77.0.11:5",
                            "10.77.0.6:5061",
                            Some("pbx.example"),
                            cert(8, "x"),
                        )
                    },
                ),
                (
                    5,
                    handshake(
                        "10.77.0.11:6",
                        "10.77.0.7:5061",
                        Some("pbx.example"),
                        cert(7, "x"),
                    ),
                ),
            ],
        );
        let got: Vec<_> = alerts
            .iter()
            .map(|a| (a.src_ip.unwrap().to_string(), strings(a, "reasons")))
            .collect();
        assert_eq!(
            got,
            [
                ("10.77.0.1".into(), vec!["pin-mismatch".to_owned()]),
                ("10.77.0.7".into(), vec!["pin-mismatch".to_owned()]),
            ],
            "{alerts:#?}"
        );
        assert_eq!(alerts[0].severity, Severity::High);
        assert_eq!(strings(&alerts[0], "pinned_sha256"), ["01".repeat(32)]);
        assert_eq!(strings(&alerts[1], "pinned_sha256"), ["02".repeat(32)]);
    }

    #[test]
    fn bad_pins_are_rejected_when_the_rules_load() {
        for bad in [
            "pins = [{ sha256 = \"0101\", server = \"10.0.0.1:5061\" }]",
            &format!("pins = [{{ sha256 = \"{}\" }}]", "01".repeat(32)),
            &format!(
                "pins = [{{ sha256 = \"{}\", server = \"pbx\" }}]",
                "01".repeat(32)
            ),
            &format!(
                "pins = [{{ sha256 = \"{}\", host = \"x\" }}]",
                "01".repeat(32)
            ),
        ] {
            assert!(toml::from_str::<Config>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dtls_and_hidden_certificates_are_not_judged() {
        let dtls = |tag| TlsSeen {
            dtls: true,
            ..handshake("10.77.0.12:20020", "10.77.0.11:16020", None, cert(tag, "x"))
        };
        let hidden = TlsSeen {
            certs_encrypted: true,
            server_certs: Vec::new(),
            ..handshake("10.77.0.11:1", PBX, None, cert(1, "x"))
        };
        assert!(run(&[(0, dtls(1)), (1, dtls(2)), (2, hidden.clone()), (3, hidden)]).is_empty());
    }

    #[test]
    fn the_store_survives_a_restart_through_export_and_import() {
        let mut d = TlsCertChanged::new(&Config::default());
        let mut out = Vec::new();
        // Drive the detector directly, as the engine would.
        for (ms, t) in [
            (
                0,
                handshake("10.77.0.11:1", PBX, Some("pbx.lab"), cert(1, "pbx.lab")),
            ),
            (
                DAY_MS,
                handshake("10.77.0.11:1", "10.77.0.2:5061", None, cert(5, "b")),
            ),
        ] {
            let ts = PacketTime::from_nanos(Scenario::BASE_NANOS + ms * 1_000_000);
            let ev = Event {
                seq: 0,
                ts,
                payload: Payload::Tls(Box::new(t)),
            };
            d.on_event(&ev, &mut Context::new(ts, &mut out));
        }
        let store = d.export();
        assert_eq!(store.version, CertStore::VERSION);
        assert_eq!(store.servers.len(), 2);
        assert_eq!(store.servers[0].server, "10.77.0.1:5061".parse().unwrap());
        assert_eq!(store.servers[0].sni.as_deref(), Some("pbx.lab"));
        assert_eq!(store.servers[0].cert.sha256, Fingerprint([1; 32]));
        assert_eq!(
            store.servers[1].last_seen,
            Scenario::BASE_NANOS / 1_000_000_000 + 86_400
        );

        // A new detector loaded with the store knows the servers: another certificate is a change at once.
        let mut next = TlsCertChanged::new(&Config::default());
        assert_eq!(next.import(&store), Ok(2));
        assert_eq!(next.export(), store);
        let ts = PacketTime::from_nanos(Scenario::BASE_NANOS + 2 * DAY_MS * 1_000_000);
        let ev = Event {
            seq: 0,
            ts,
            payload: Payload::Tls(Box::new(handshake(
                "10.77.0.12:9",
                PBX,
                Some("pbx.lab"),
                cert(7, "other"),
            ))),
        };
        let mut alerts = Vec::new();
        next.on_event(&ev, &mut Context::new(ts, &mut alerts));
        assert_eq!(alerts.len(), 1);
        assert_eq!(strings(&alerts[0], "previous_sha256"), ["01".repeat(32)]);
        assert_eq!(next.export().servers[0].previous, [Fingerprint([1; 32])]);

        let bad = CertStore {
            version: 2,
            ..store
        };
        assert_eq!(
            next.import(&bad),
            Err(CertStoreError::Version {
                found: 2,
                expected: 1
            })
        );
    }

    #[test]
    fn the_engine_hands_the_store_to_and_from_the_detector_that_keeps_one() {
        let cfg = crate::config::Config::default();
        let detector = || -> Vec<Box<dyn Detector>> {
            vec![Box::new(TlsCertChanged::new(&Config::default()))]
        };
        let mut e = crate::engine::Engine::with_detectors(&cfg, detector());
        let ts = PacketTime::from_nanos(Scenario::BASE_NANOS);
        let t = handshake("10.77.0.11:1", PBX, None, cert(1, "pbx.lab"));
        e.on_event(&Event {
            seq: 0,
            ts,
            payload: Payload::Tls(Box::new(t)),
        });
        let store = e.export_cert_store().unwrap();
        assert_eq!(store.servers.len(), 1);
        let mut next = crate::engine::Engine::with_detectors(&cfg, detector());
        assert_eq!(next.import_cert_store(&store), Ok(Some(1)));
        assert_eq!(next.export_cert_store().as_ref(), Some(&store));
        let future = CertStore {
            version: 9,
            ..store.clone()
        };
        assert!(next.import_cert_store(&future).is_err());
        // Without the detector the store is left alone.
        let mut none = crate::engine::Engine::with_detectors(&cfg, Vec::new());
        assert_eq!(none.import_cert_store(&store), Ok(None));
        assert_eq!(none.export_cert_store(), None);
    }

    #[test]
    fn the_store_format_is_plain_text_and_checks_its_fingerprints() {
        let store = CertStore {
            version: 1,
            servers: vec![StoredServer {
                server: "10.77.0.1:5061".parse().unwrap(),
                sni: None,
                first_seen: 10,
                last_seen: 20,
                cert: StoredCert::of(&cert(0xab, "pbx.lab")),
                previous: vec![Fingerprint([0xcd; 32])],
            }],
        };
        let text = toml::to_string(&store).unwrap();
        assert!(text.contains(&"ab".repeat(32)), "{text}");
        assert!(text.contains("server = \"10.77.0.1:5061\""), "{text}");
        assert_eq!(toml::from_str::<CertStore>(&text).unwrap(), store);
        let corrupt = text.replace(&"ab".repeat(32), "not-a-fingerprint");
        assert!(toml::from_str::<CertStore>(&corrupt).is_err());
    }

    #[test]
    fn forgotten_servers_and_the_cap_bound_the_store() {
        let cfg = Config {
            max_servers: 64,
            forget_after_days: 1,
            ..Config::default()
        };
        let mut d = TlsCertChanged::new(&cfg);
        let mut out = Vec::new();
        for i in 0..1_000u32 {
            let ts = PacketTime::from_secs(1_768_471_200 + u64::from(i));
            let [_, _, a, b] = i.to_be_bytes();
            let t = handshake(
                "10.0.0.9:1",
                &format!("10.9.{a}.{b}:5061"),
                None,
                cert(1, "x"),
            );
            let ev = Event {
                seq: u64::from(i),
                ts,
                payload: Payload::Tls(Box::new(t)),
            };
            d.on_event(&ev, &mut Context::new(ts, &mut out));
        }
        let t = d.tables()[0].1;
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
        let later = PacketTime::from_secs(1_768_471_200 + 3 * 86_400);
        d.on_tick(later, &mut Context::new(later, &mut out));
        assert!(d.export().servers.is_empty());
        assert!(out.is_empty());
    }
}
