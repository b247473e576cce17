//! `extension-enumeration` (sid 4002): one source tries many distinct users on one server and learns from the
//! answers which exist (sipvicious `svwar`, sipcli, and the like).
//!
//! # What raises it
//! Final answers to REGISTER, INVITE, OPTIONS or SUBSCRIBE requests, read from the server back to the
//! source: the To user of the answer is the extension tried. Per (source, server) pair the detector keeps the
//! distinct users tried in a tumbling window of `window_secs` seconds of packet time, and which were answered:
//! - **not found** (404, 484, 604): the extension does not exist;
//! - **challenged or forbidden** (401, 407, 403): the extension exists (or the server hides the difference).
//!
//! It raises when at least `min_users` distinct users were rejected one way or the other *and* at least
//! `min_not_found` of them were answered "not found": the answers tell existing extensions from missing ones,
//! which is what enumeration needs (svwar against kamailio: 404 for most, 401 for the real ones). The outcome
//! gate keeps a proxy or SBC that relays many phones' registrations quiet: its users exist, so they are
//! challenged and then accepted, never "not found".
//!
//! Behind a proxy the same answer crosses two hops (server to proxy, proxy to prober). The first sender of
//! each request (Call-ID, CSeq, method) is remembered for the transaction timeout ([`RELAY_SECS`]); an
//! answer counts only on its way to that sender, so the proxy is never taken for the prober. An answer to a
//! request the sensor did not see (asymmetric capture) counts as it is.
//!
//! # Evidence
//! `users` (distinct users rejected), `not_found`, `challenged` (401/407), `forbidden` (403), `method` (of the
//! answer that crossed the threshold), `sample_users` (the first few tried), `window_secs`, and `first_answer`
//! and `last_answer` (packet times of the window's first counted answer and of the one that crossed the
//! threshold: the enumeration's span so far).
//!
//! # Severity
//! **Medium**: reconnaissance that usually precedes password guessing (`sip-bruteforce`) on the extensions
//! found.
//!
//! # False positives and tuning
//! A misconfigured PBX trunk that sends calls to many non-existent numbers in a short time. Raise
//! `min_users` for large sites.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 4002,
    slug: "extension-enumeration",
    category: Category::Recon,
    severity: Severity::Medium,
    signature: "SIP extension enumeration (many distinct users tried, answers tell which exist)",
};

/// Distinct users remembered per pair and window: past this, the count saturates (thresholds must be lower).
pub const MAX_USERS_PER_PAIR: usize = 256;
/// Users named in the evidence.
const SAMPLE_USERS: usize = 8;
/// How long a request's first sender is remembered: 64*T1, the transaction timeout (RFC 3261 §17.1.1.2).
pub const RELAY_SECS: u64 = 32;
/// The methods svwar and its kind probe with.
const PROBE_METHODS: [&str; 4] = ["REGISTER", "INVITE", "OPTIONS", "SUBSCRIBE"];

/// Settings, `[detectors.extension-enumeration]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Tumbling window, in seconds.
    pub window_secs: u64,
    /// Distinct users rejected (not found, challenged or forbidden) in the window that make an enumeration
    /// (at most 256).
    pub min_users: u64,
    /// Of them, users answered "not found" (404, 484, 604).
    pub min_not_found: u64,
    /// Cap on tracked (source, server) pairs.
    pub max_pairs: usize,
    /// Cap on requests remembered to tell the prober from a relaying proxy.
    pub max_requests: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { enabled: true, window_secs: 60, min_users: 10, min_not_found: 5, max_pairs: 65_536, max_requests: 16_384 }
    }
}

/// What one pair has tried in the current window.
#[derive(Debug, Clone)]
struct Pair {
    start: PacketTime,
    /// Hashes of the distinct users seen (at most [`MAX_USERS_PER_PAIR`]).
    users: Vec<u64>,
    sample: Vec<Box<str>>,
    not_found: u64,
    challenged: u64,
    forbidden: u64,
    reported: bool,
}

impl Pair {
    fn new(start: PacketTime) -> Self {
        Self {
            start,
            users: Vec::new(),
            sample: Vec::new(),
            not_found: 0,
            challenged: 0,
            forbidden: 0,
            reported: false,
        }
    }
}

/// A fixed (seedless) hash, so the output is the same on every run.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The detector.
#[derive(Debug)]
pub struct ExtensionEnumeration {
    cfg: Config,
    window: Duration,
    pairs: BoundedMap<(IpAddr, IpAddr), Pair>,
    /// The first sender of each recent probe-method request: (Call-ID, CSeq number, method).
    requests: BoundedMap<(Box<str>, u32, Box<str>), IpAddr>,
}

impl ExtensionEnumeration {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let window = Duration::from_secs(cfg.window_secs.max(1));
        Self {
            cfg: cfg.clone(),
            window,
            pairs: BoundedMap::new(cfg.max_pairs, window),
            requests: BoundedMap::new(cfg.max_requests, Duration::from_secs(RELAY_SECS)),
        }
    }
}

impl Detector for ExtensionEnumeration {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        if let Some(method) = &m.method {
            if PROBE_METHODS.iter().any(|p| method.eq_ignore_ascii_case(p)) {
                let request = (m.call_id.clone(), m.cseq, method.clone());
                if self.requests.get(&request).is_none() {
                    self.requests.insert(request, m.src.ip(), now);
                }
            }
            return;
        }
        let Some(status) = m.status else { return };
        let (not_found, challenged, forbidden) = match status {
            404 | 484 | 604 => (1, 0, 0),
            401 | 407 => (0, 1, 0),
            403 => (0, 0, 1),
            _ => return,
        };
        if !PROBE_METHODS.iter().any(|p| m.cseq_method.eq_ignore_ascii_case(p)) {
            return;
        }
        let Some(user) = &m.to_user else { return };
        let request = (m.call_id.clone(), m.cseq, m.cseq_method.clone());
        if self.requests.get(&request).is_some_and(|first| *first != m.dst.ip()) {
            // A hop between servers: the prober gets its copy next.
            return;
        }
        // The answer goes from the server back to the prober.
        let (src, server) = (m.dst, m.src);
        let window = self.window;
        let p = self.pairs.get_or_insert_with((src.ip(), server.ip()), now, || Pair::new(now));
        if now.since(p.start) >= window {
            *p = Pair::new(now);
        }
        let h = fnv1a(user);
        if p.users.contains(&h) || p.users.len() >= MAX_USERS_PER_PAIR {
            return;
        }
        p.users.push(h);
        if p.sample.len() < SAMPLE_USERS {
            p.sample.push(user.clone());
        }
        p.not_found += not_found;
        p.challenged += challenged;
        p.forbidden += forbidden;
        if p.reported || (p.users.len() as u64) < self.cfg.min_users || p.not_found < self.cfg.min_not_found {
            return;
        }
        p.reported = true;
        let alert = Alert::new(&META, now)
            .src(Some(src.ip()), Some(src.port()))
            .dest(Some(server.ip()), Some(server.port()))
            .proto(match m.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(format!("{} {}", src.ip(), server.ip()))
            .evidence("users", Value::U64(p.users.len() as u64))
            .evidence("not_found", Value::U64(p.not_found))
            .evidence("challenged", Value::U64(p.challenged))
            .evidence("forbidden", Value::U64(p.forbidden))
            .evidence("method", Value::Str(m.cseq_method.to_string()))
            .evidence("sample_users", Value::List(p.sample.iter().map(|u| Value::Str(u.to_string())).collect()))
            .evidence("window_secs", Value::U64(window.as_secs()))
            .evidence("first_answer", Value::Time(p.start))
            .evidence("last_answer", Value::Time(now));
        cx.raise(alert);
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.pairs.expire(now);
        self.requests.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("pairs", self.pairs.stats()), ("requests", self.requests.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PBX: &str = "10.77.0.1:5060";
    const ATTACKER: &str = "10.77.0.66:5062";

    fn answer(s: &mut Scenario, at: u64, status: u16, method: &str, from: &str, to: &str, user: &str) {
        let mut m = Sip::response(status, method, from, to).call(&format!("c{user}")).seen();
        m.to_user = Some(user.into());
        s.at_ms(at, Payload::Sip(Box::new(m)));
    }

    #[test]
    fn svwar_against_a_registrar_raises_once() {
        let mut s = Scenario::new();
        for (i, ext) in (990..=1010u64).enumerate() {
            let status = if ext == 1001 || ext == 1002 { 401 } else { 404 };
            answer(&mut s, i as u64 * 5, status, "REGISTER", PBX, ATTACKER, &ext.to_string());
        }
        let alerts = s.run(ExtensionEnumeration::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(a.evidence.get("users"), Some(&Value::U64(10)));
    }

    #[test]
    fn behind_a_proxy_the_prober_is_named_not_the_proxy() {
        const PROXY: &str = "10.77.0.5:5060";
        let mut s = Scenario::new();
        for i in 0..12u64 {
            let user = format!("{}", 2000 + i);
            let call = format!("c{user}");
            let mut req = Sip::request("INVITE", ATTACKER, PROXY).call(&call).seen();
            req.to_user = Some(user.as_str().into());
            s.at_ms(i * 10, Payload::Sip(Box::new(req.clone())));
            req.src = PROXY.parse().unwrap();
            req.dst = PBX.parse().unwrap();
            s.at_ms(i * 10 + 1, Payload::Sip(Box::new(req)));
            let mut a = Sip::response(404, "INVITE", PBX, PROXY).call(&call).seen();
            a.to_user = Some(user.as_str().into());
            s.at_ms(i * 10 + 2, Payload::Sip(Box::new(a)));
            answer(&mut s, i * 10 + 3, 404, "INVITE", PROXY, ATTACKER, &user);
        }
        let alerts = s.run(ExtensionEnumeration::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(alerts[0].dest_ip, Some("10.77.0.5".parse().unwrap()));
    }

    #[test]
    fn a_proxy_relaying_many_phones_is_quiet() {
        let mut s = Scenario::new();
        for i in 0..100u64 {
            answer(&mut s, i * 5, 401, "REGISTER", PBX, "10.0.0.2:5060", &format!("{}", 2000 + i));
            answer(&mut s, i * 5 + 1, 200, "REGISTER", PBX, "10.0.0.2:5060", &format!("{}", 2000 + i));
        }
        assert!(s.run(ExtensionEnumeration::new(&Config::default())).is_empty());
    }

    #[test]
    fn the_same_user_again_and_again_is_quiet() {
        let mut s = Scenario::new();
        for i in 0..100u64 {
            answer(&mut s, i * 5, 404, "INVITE", PBX, ATTACKER, "1001");
        }
        assert!(s.run(ExtensionEnumeration::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_slow_enumeration_beyond_the_window_is_quiet() {
        let mut s = Scenario::new();
        for i in 0..30u64 {
            answer(&mut s, i * 10_000, 404, "OPTIONS", PBX, ATTACKER, &format!("{i}"));
        }
        assert!(s.run(ExtensionEnumeration::new(&Config::default())).is_empty());
    }

    #[test]
    fn pairs_stay_bounded_under_a_spoofed_flood() {
        let cfg = Config { max_pairs: 32, ..Config::default() };
        let mut d = ExtensionEnumeration::new(&cfg);
        let mut out = Vec::new();
        for i in 0..4_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 200);
            let dst = format!("198.51.{}.{}:5060", i / 250, i % 250);
            let ev = Event { seq: u64::from(i), ts, payload: Sip::response(404, "INVITE", PBX, &dst).payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let t = d.tables()[0].1;
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
