//! `weak-auth` (sid 1006): SIP credentials that an eavesdropper can read and attack offline.
//!
//! # What raises it
//! A request carrying `Authorization` or `Proxy-Authorization` that the sensor could read. Since SIP over
//! TLS is never decrypted, every such request crossed the wire in cleartext (reason `cleartext-transport`):
//! the username, realm and nonce are public, and the digest response, although never copied by the sensor,
//! is there for anyone on the path to try a dictionary against (the response is MD5 over the password and
//! public values, RFC 2617 §3.2.2.1; a four-digit PIN falls at once). On top of that:
//! - **`md5-without-qop`**: Digest with MD5 (`algorithm` absent or `MD5`) and no `qop`, the RFC 2069
//!   compatibility mode. Without `qop` there is no client nonce (`cnonce`) and no nonce count, so the
//!   server's nonce alone fixes the hash input: one response can be replayed for as long as the server
//!   accepts the nonce, and precomputed dictionaries work against every client the server challenges the
//!   same way. RFC 3261 §22.4 requires servers to send `qop`; a client that omits it is old or forced to.
//! - **`basic-scheme`**: the Basic scheme (RFC 3261 §22.1 forbids it): the password itself, base64-coded.
//!
//! # Severity
//! **High** for `md5-without-qop` and `basic-scheme`, where the wire gives away (or nearly) the password or
//! a replayable answer; **Medium** otherwise: readable credentials with `qop` still need an offline guess
//! per password, which is cheap for weak passwords but not a given.
//!
//! # Once per source and user
//! One alert per (source IP, username) per `interval_secs` (an hour), by the detector's own table; a
//! later, weaker use by the same source and user (a Medium case, then a High one) raises again at once. A
//! request relayed by a proxy with its credentials (the same Call-ID, CSeq and method seen on a second hop
//! within [`RELAY_SECS`]) is the same disclosure and is not reported again from the proxy's address.
//!
//! # Evidence
//! `username`, `realm`, `scheme`, `algorithm`, `qop` (each when present), `header` (`Authorization` or
//! `Proxy-Authorization`), `method`, `transport`, `reasons` (a list of the reasons above). Never the digest
//! response or any password (they are not in the event).
//!
//! # False positives and tuning
//! None in the strict sense. Where phones cannot do TLS, the Medium alerts are the inventory of accounts to
//! give long random passwords; the High ones are worth fixing first.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{AuthSeen, Event, EventKind, Interests, Payload, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 1006,
    slug: "weak-auth",
    category: Category::Credentials,
    severity: Severity::Medium,
    signature: "SIP credentials readable on the wire (cleartext transport, weak digest)",
};

/// How long a request's copies are recognised on other hops: 64*T1, the transaction timeout (RFC 3261
/// §17.1.1.2), which bounds retransmissions and relays of one request.
pub const RELAY_SECS: u64 = 32;

/// Settings, `[detectors.weak-auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// At most one alert per (source, username) in this many seconds of packet time (unless the later
    /// use is weaker).
    pub interval_secs: u64,
    /// Cap on (source, username) pairs remembered as reported.
    pub max_reported: usize,
    /// Cap on requests remembered to recognise their relayed copies.
    pub max_requests: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { enabled: true, interval_secs: 3600, max_reported: 65_536, max_requests: 16_384 }
    }
}

/// Why credentials are weak; the evidence spells each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    CleartextTransport,
    Md5WithoutQop,
    BasicScheme,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::CleartextTransport => "cleartext-transport",
            Reason::Md5WithoutQop => "md5-without-qop",
            Reason::BasicScheme => "basic-scheme",
        }
    }
}

/// The reasons `auth` is weak when read off a cleartext transport, and the severity they make.
fn judge(auth: &AuthSeen) -> (Vec<Reason>, Severity) {
    let mut reasons = vec![Reason::CleartextTransport];
    let scheme = auth.scheme.as_ref();
    if scheme.eq_ignore_ascii_case("Digest") {
        // RFC 2617 §3.2.2: an absent algorithm means MD5.
        let md5 = auth.algorithm.as_deref().is_none_or(|a| a.eq_ignore_ascii_case("MD5"));
        if md5 && auth.qop.is_none() {
            reasons.push(Reason::Md5WithoutQop);
        }
    } else if scheme.eq_ignore_ascii_case("Basic") {
        reasons.push(Reason::BasicScheme);
    }
    let severity = if reasons.len() > 1 { Severity::High } else { Severity::Medium };
    (reasons, severity)
}

/// What was reported for a (source, username): when, and how severe.
#[derive(Debug, Clone, Copy)]
struct Reported {
    at: PacketTime,
    severity: Severity,
}

/// A request with credentials: (Call-ID, CSeq number, method).
type RequestKey = (Box<str>, u32, Box<str>);

/// The detector.
#[derive(Debug)]
pub struct WeakAuth {
    interval: Duration,
    reported: BoundedMap<(IpAddr, Box<str>), Reported>,
    /// The first sender of each recent request with credentials.
    requests: BoundedMap<RequestKey, IpAddr>,
}

impl WeakAuth {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            interval,
            reported: BoundedMap::new(cfg.max_reported, interval),
            requests: BoundedMap::new(cfg.max_requests, Duration::from_secs(RELAY_SECS)),
        }
    }
}

impl Detector for WeakAuth {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let (Some(auth), Some(method)) = (&m.auth, &m.method) else { return };
        let now = cx.now();
        let src = m.src.ip();

        // A relayed copy: the same request already seen from another address.
        let request = (m.call_id.clone(), m.cseq, method.clone());
        self.requests.expire(now);
        match self.requests.get(&request) {
            Some(first) if *first != src => return,
            Some(_) => {}
            None => self.requests.insert(request, src, now),
        }

        let (reasons, severity) = judge(auth);
        let user: Box<str> = auth.username.clone().unwrap_or_default();
        let key = (src, user);
        if let Some(r) = self.reported.get(&key)
            && now.since(r.at) < self.interval
            && severity >= r.severity
        {
            // `Severity` orders High first: not weaker than what was reported.
            return;
        }
        self.reported.insert(key.clone(), Reported { at: now, severity }, now);

        let mut alert = Alert::new(&META, now)
            .severity(severity)
            .src(Some(src), Some(m.src.port()))
            .dest(Some(m.dst.ip()), Some(m.dst.port()))
            .proto(match m.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(format!("{} {} {}", key.0, key.1, severity.name()));
        for (name, v) in [("username", &auth.username), ("realm", &auth.realm)] {
            if let Some(v) = v {
                alert = alert.evidence(name, Value::Str(v.to_string()));
            }
        }
        alert = alert.evidence("scheme", Value::Str(auth.scheme.to_string()));
        for (name, v) in [("algorithm", &auth.algorithm), ("qop", &auth.qop)] {
            if let Some(v) = v {
                alert = alert.evidence(name, Value::Str(v.to_string()));
            }
        }
        let header = if auth.proxy { "Proxy-Authorization" } else { "Authorization" };
        alert = alert
            .evidence("header", Value::Str(header.into()))
            .evidence("method", Value::Str(method.to_string()))
            .evidence("transport", Value::Str(m.transport.name().into()))
            .evidence("reasons", Value::List(reasons.iter().map(|r| Value::Str(r.name().into())).collect()));
        cx.raise(alert);
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.requests.expire(now);
        self.reported.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("reported", self.reported.stats()), ("requests", self.requests.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PHONE: &str = "10.0.0.11:5060";
    const PBX: &str = "10.0.0.1:5060";

    fn reasons(a: &Alert) -> Vec<String> {
        match a.evidence.get("reasons") {
            Some(Value::List(l)) => l
                .iter()
                .map(|v| match v {
                    Value::Str(s) => s.clone(),
                    _ => panic!("{v:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn digest_with_qop_over_udp_is_medium_for_cleartext_only() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("REGISTER", PHONE, PBX).payload());
        s.at_ms(1, Sip::response(401, "REGISTER", PBX, PHONE).payload());
        s.at_ms(2, Sip::request("REGISTER", PHONE, PBX).cseq(2).digest("1001", Some("MD5"), Some("auth")).payload());
        let alerts = s.run(WeakAuth::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.meta.category, Category::Credentials);
        assert_eq!(a.src_ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(reasons(a), ["cleartext-transport"]);
        for (k, v) in [
            ("username", "1001"),
            ("realm", "lab"),
            ("scheme", "Digest"),
            ("algorithm", "MD5"),
            ("qop", "auth"),
            ("header", "Authorization"),
            ("method", "REGISTER"),
            ("transport", "UDP"),
        ] {
            assert_eq!(a.evidence.get(k), Some(&Value::Str(v.into())), "{k}");
        }
    }

    #[test]
    fn md5_without_qop_is_high_and_says_why() {
        for algorithm in [None, Some("MD5"), Some("md5")] {
            let mut s = Scenario::new();
            s.at_ms(0, Sip::request("INVITE", PHONE, PBX).tcp().digest("1001", algorithm, None).payload());
            let alerts = s.run(WeakAuth::new(&Config::default()));
            assert_eq!(alerts.len(), 1);
            assert_eq!(alerts[0].severity, Severity::High);
            assert_eq!(reasons(&alerts[0]), ["cleartext-transport", "md5-without-qop"]);
            assert_eq!(alerts[0].evidence.get("algorithm").is_some(), algorithm.is_some());
            assert_eq!(alerts[0].evidence.get("qop"), None);
        }
        // SHA-256 without qop is not the MD5 compatibility mode.
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", PHONE, PBX).digest("1001", Some("SHA-256"), None).payload());
        assert_eq!(s.run(WeakAuth::new(&Config::default()))[0].severity, Severity::Medium);
    }

    #[test]
    fn basic_credentials_are_high() {
        let mut m = Sip::request("REGISTER", PHONE, PBX).seen();
        m.auth = Some(Box::new(AuthSeen {
            proxy: true,
            scheme: "Basic".into(),
            username: None,
            realm: None,
            algorithm: None,
            qop: None,
            nonce: None,
        }));
        let mut s = Scenario::new();
        s.at_ms(0, Payload::Sip(Box::new(m)));
        let alerts = s.run(WeakAuth::new(&Config::default()));
        assert_eq!(alerts[0].severity, Severity::High);
        assert_eq!(reasons(&alerts[0]), ["cleartext-transport", "basic-scheme"]);
        assert_eq!(alerts[0].evidence.get("header"), Some(&Value::Str("Proxy-Authorization".into())));
        assert_eq!(alerts[0].evidence.get("username"), None);
    }

    #[test]
    fn requests_without_credentials_are_quiet() {
        let mut s = Scenario::new();
        for i in 0..20u64 {
            s.at_ms(i, Sip::request("REGISTER", PHONE, PBX).cseq(u32::try_from(i).unwrap()).payload());
            s.at_ms(i, Sip::response(401, "REGISTER", PBX, PHONE).payload());
        }
        assert!(s.run(WeakAuth::new(&Config::default())).is_empty());
    }

    #[test]
    fn once_per_source_and_user_per_interval_and_again_when_weaker() {
        let mut s = Scenario::new();
        let reg = |n: u32| Sip::request("REGISTER", PHONE, PBX).call(&format!("r{n}")).cseq(2);
        // Refreshes every 10 minutes for 2 hours (13 of them), with qop.
        for i in 0..13u32 {
            s.at_ms(u64::from(i) * 600_000, reg(i).digest("1001", Some("MD5"), Some("auth")).payload());
        }
        // Another user from the same phone, and the same user from another phone.
        s.at_ms(1_000, reg(100).digest("1002", None, Some("auth")).payload());
        s.at_ms(2_000, Sip::request("REGISTER", "10.0.0.12:5060", PBX).digest("1001", None, Some("auth")).payload());
        // The same user and phone, now without qop: weaker, reported at once; then again, quiet.
        s.at_ms(3_000, reg(200).digest("1001", None, None).payload());
        s.at_ms(4_000, reg(201).digest("1001", None, None).payload());
        let alerts = s.run(WeakAuth::new(&Config::default()));
        let got: Vec<_> = alerts
            .iter()
            .map(|a| (a.src_ip.unwrap().to_string(), a.evidence.get("username").cloned(), a.severity, a.ts.since(alerts[0].ts).as_secs()))
            .collect();
        let u = |s: &str| Some(Value::Str(s.into()));
        assert_eq!(
            got,
            [
                ("10.0.0.11".into(), u("1001"), Severity::Medium, 0),
                ("10.0.0.11".into(), u("1002"), Severity::Medium, 1),
                ("10.0.0.12".into(), u("1001"), Severity::Medium, 2),
                ("10.0.0.11".into(), u("1001"), Severity::High, 3),
                // The first refresh an hour or more after the last report of (10.0.0.11, 1001), at 3 s.
                ("10.0.0.11".into(), u("1001"), Severity::Medium, 4200),
            ],
            "{alerts:#?}"
        );
    }

    #[test]
    fn a_request_relayed_by_a_proxy_is_reported_once_from_its_sender() {
        let mut s = Scenario::new();
        let invite = || Sip::request("INVITE", PHONE, PBX).call("c9").digest("1001", Some("MD5"), Some("auth"));
        s.at_ms(0, invite().payload());
        let mut relayed = invite().seen();
        relayed.src = PBX.parse().unwrap();
        relayed.dst = "10.0.0.99:5060".parse().unwrap();
        s.at_ms(1, Payload::Sip(Box::new(relayed)));
        // The retransmission from the phone is the same report.
        s.at_ms(500, invite().payload());
        let alerts = s.run(WeakAuth::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some("10.0.0.11".parse().unwrap()));
    }

    #[test]
    fn tables_stay_bounded_under_a_guessing_flood() {
        let cfg = Config { max_reported: 64, max_requests: 32, ..Config::default() };
        let mut d = WeakAuth::new(&cfg);
        let mut out = Vec::new();
        for i in 0..4_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 200);
            let m = Sip::request("REGISTER", "192.0.2.66:5060", PBX)
                .call(&format!("c{i}"))
                .digest(&format!("{}", 1000 + i), Some("MD5"), Some("auth"));
            let ev = Event { seq: u64::from(i), ts, payload: m.payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert_eq!(out.len(), 4_000);
        let tables = d.tables();
        assert!(tables.iter().all(|(_, t)| t.len <= t.cap && t.evicted > 0), "{tables:?}");
    }
}
