//! `scanner-user-agent` (sid 4003): a SIP request whose User-Agent (or From user) names a known attack or
//! scanning tool. This is the simplest detector, and the commented exemplar to copy: one event kind in, one
//! bounded table, one alert per source.
//!
//! # What raises it
//! Every SIP *request* (a response's `Server` header describes the answering server, not an attacker) whose
//! `User-Agent`, From user or From display name matches a tool signature, case-insensitively (sipvicious'
//! compact mode, `-c`, drops User-Agent but still writes `"sipvicious"` as the From display name):
//! - contained anywhere: `friendly-scanner` (sipvicious' default), `sipvicious`, `sipcli`, `sipsak`,
//!   `sundayddr`, `VaxSIPUserAgent`, `SIVuS`, `pplsip`;
//! - at the start: `smap` (`smap 0.6.0`; a bare substring would also match unrelated words);
//! - the whole value: `Asterisk PBX` without a version, which modified sipvicious builds send to pass as a
//!   PBX (a real Asterisk says `Asterisk PBX 18.20.0`);
//! - contained anywhere: every entry of `agents` in the rules file.
//!
//! One alert per source address per `interval_secs` (an hour), kept by the detector's own table, so a scan of
//! thousands of requests costs one lookup each and one alert.
//!
//! # Why it matters, and the severity
//! These tools (sipvicious' svmap/svwar/svcrack, sipsak, sundayddr, smap, SIVuS) are what the internet's SIP
//! scanners run: the request is the first step of extension enumeration, password guessing and toll fraud.
//! The severity is **Medium**: a scan alone changes nothing, and the follow-ups (`sip-bruteforce`,
//! `toll-fraud`) have their own alerts; an attacker can set any User-Agent, so silence proves nothing.
//!
//! # Evidence
//! `tool` (the signature that matched), `field` (`user-agent`, `from` or `from-display`), `value` (the header text, cut by
//! the worker), `method` (of the first matching request).
//!
//! # False positives and tuning
//! Administrators run sipsak and sipvicious against their own servers: disable the detector or accept the
//! alert as an audit record. Add local tool names to `agents`.

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
    sid: 4003,
    slug: "scanner-user-agent",
    category: Category::Recon,
    severity: Severity::Medium,
    signature: "SIP request from a known scanning or attack tool (User-Agent or From)",
};

/// Tool names matched anywhere in the value (lower case).
pub const CONTAINS: &[&str] = &[
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sipsak",
    "sundayddr",
    "vaxsipuseragent",
    "sivus",
    "pplsip",
];
/// Tool names matched at the start of the value only: short words that occur inside unrelated names.
pub const PREFIX: &[&str] = &["smap"];
/// Values matched whole: a real product's name without its version, as modified sipvicious sends it.
pub const EXACT: &[&str] = &["asterisk pbx"];

/// Settings, `[detectors.scanner-user-agent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// More tool names, matched case-insensitively anywhere in the User-Agent or From user.
    pub agents: Vec<String>,
    /// At most one alert per source address in this many seconds of packet time.
    pub interval_secs: u64,
    /// Cap on sources already reported (remembered for `interval_secs`).
    pub max_reported: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            agents: Vec::new(),
            interval_secs: 3600,
            max_reported: 65_536,
        }
    }
}

/// The detector.
#[derive(Debug)]
pub struct ScannerUserAgent {
    /// `agents`, lower-cased once.
    extra: Vec<String>,
    interval: Duration,
    /// Sources reported, with when.
    reported: BoundedMap<IpAddr, PacketTime>,
}

impl ScannerUserAgent {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            extra: cfg
                .agents
                .iter()
                .map(|a| a.trim().to_ascii_lowercase())
                .filter(|a| !a.is_empty())
                .collect(),
            interval,
            reported: BoundedMap::new(cfg.max_reported, interval),
        }
    }

    /// The signature `value` matches, if any. Compares ASCII case-insensitively in place: no copy per
    /// message.
    fn tool<'a>(&'a self, value: &str) -> Option<&'a str> {
        let v = value.trim().as_bytes();
        let contains = |t: &str| v.windows(t.len()).any(|w| w.eq_ignore_ascii_case(t.as_bytes()));
        CONTAINS
            .iter()
            .copied()
            .find(|t| contains(t))
            .or_else(|| {
                PREFIX.iter().copied().find(|t| {
                    v.get(..t.len()).is_some_and(|p| p.eq_ignore_ascii_case(t.as_bytes()))
                })
            })
            .or_else(|| EXACT.iter().copied().find(|t| v.eq_ignore_ascii_case(t.as_bytes())))
            .or_else(|| self.extra.iter().map(String::as_str).find(|t| contains(t)))
    }
}

impl Detector for ScannerUserAgent {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let Some(method) = &m.method else { return };
        let hit = m
            .user_agent
            .as_deref()
            .and_then(|ua| self.tool(ua).map(|t| (t, "user-agent", ua)))
            .or_else(|| {
                m.from_user
                    .as_deref()
                    .and_then(|u| self.tool(u).map(|t| (t, "from", u)))
            })
            .or_else(|| {
                m.from_display
                    .as_deref()
                    .and_then(|d| self.tool(d).map(|t| (t, "from-display", d)))
            });
        let Some((tool, field, value)) = hit else { return };
        let now = cx.now();
        let src = m.src.ip();
        if self
            .reported
            .get(&src)
            .is_some_and(|at| now.since(*at) < self.interval)
        {
            return;
        }
        let alert = Alert::new(&META, now)
            .src(Some(src), Some(m.src.port()))
            .dest(Some(m.dst.ip()), Some(m.dst.port()))
            .proto(match m.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(format!("src {src}"))
            .evidence("tool", Value::Str(tool.to_string()))
            .evidence("field", Value::Str(field.into()))
            .evidence("value", Value::Str(value.to_string()))
            .evidence("method", Value::Str(method.to_string()));
        cx.raise(alert);
        self.reported.insert(src, now, now);
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
    use crate::testkit::{Scenario, Sip};

    const PBX: &str = "10.0.0.1:5060";

    #[test]
    fn compact_svmap_without_user_agent_is_known_by_its_from_display_name() {
        let mut s = Scenario::new();
        for i in 0..3u64 {
            let mut m = Sip::request("OPTIONS", "10.77.0.66:5061", PBX).seen();
            m.from_user = Some("100".into());
            m.from_display = Some("sipvicious".into());
            s.at_ms(i * 20, Payload::Sip(Box::new(m)));
        }
        let alerts = s.run(ScannerUserAgent::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("field"), Some(&Value::Str("from-display".into())));
        assert_eq!(alerts[0].evidence.get("tool"), Some(&Value::Str("sipvicious".into())));
    }

    fn with_agent(method: &str, src: &str, ua: &str) -> Payload {
        let mut m = Sip::request(method, src, PBX).seen();
        m.user_agent = Some(ua.into());
        Payload::Sip(Box::new(m))
    }

    #[test]
    fn a_sipvicious_scan_raises_one_alert_per_source() {
        let mut s = Scenario::new();
        for i in 0..100u64 {
            s.at_ms(i * 10, with_agent("OPTIONS", "10.77.0.66:5061", "friendly-scanner"));
        }
        s.at_ms(2_000, with_agent("REGISTER", "10.77.0.67:5061", "sipsak 0.9.8"));
        let alerts = s.run(ScannerUserAgent::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(alerts[0].evidence.get("tool"), Some(&Value::Str("friendly-scanner".into())));
        assert_eq!(alerts[0].evidence.get("field"), Some(&Value::Str("user-agent".into())));
        assert_eq!(alerts[0].evidence.get("method"), Some(&Value::Str("OPTIONS".into())));
        assert_eq!(alerts[1].evidence.get("tool"), Some(&Value::Str("sipsak".into())));
    }

    #[test]
    fn real_phones_and_a_versioned_asterisk_are_quiet() {
        let mut s = Scenario::new();
        s.at_ms(0, with_agent("REGISTER", "10.0.0.11:5060", "baresip v3.10.1 (x86_64/linux)"));
        s.at_ms(1, with_agent("OPTIONS", "10.0.0.12:5060", "Asterisk PBX 18.20.0"));
        s.at_ms(2, with_agent("INVITE", "10.0.0.13:5060", "Bismap phone"));
        // A response's Server header describes the server, not a tool.
        let mut r = Sip::response(200, "OPTIONS", "10.0.0.14:5060", PBX).seen();
        r.user_agent = Some("friendly-scanner".into());
        s.at_ms(3, Payload::Sip(Box::new(r)));
        assert!(s.run(ScannerUserAgent::new(&Config::default())).is_empty());
    }

    #[test]
    fn bare_asterisk_pbx_smap_and_from_users_match() {
        let mut s = Scenario::new();
        s.at_ms(0, with_agent("OPTIONS", "192.0.2.1:5060", "Asterisk PBX"));
        s.at_ms(1, with_agent("OPTIONS", "192.0.2.2:5060", "smap 0.6.0"));
        let mut m = Sip::request("OPTIONS", "192.0.2.3:5060", PBX).seen();
        m.from_user = Some("sipsak".into());
        s.at_ms(2, Payload::Sip(Box::new(m)));
        let alerts = s.run(ScannerUserAgent::new(&Config::default()));
        assert_eq!(alerts.len(), 3, "{alerts:#?}");
        assert_eq!(alerts[2].evidence.get("field"), Some(&Value::Str("from".into())));
    }

    #[test]
    fn configured_agents_are_matched_case_insensitively() {
        let mut s = Scenario::new();
        s.at_ms(0, with_agent("OPTIONS", "192.0.2.1:5060", "MyScanner/1.0"));
        assert!(s.run(ScannerUserAgent::new(&Config::default())).is_empty());
        let cfg = Config { agents: vec!["myscanner".into()], ..Config::default() };
        assert_eq!(s.run(ScannerUserAgent::new(&cfg)).len(), 1);
    }

    #[test]
    fn the_source_is_reported_again_after_the_interval() {
        let mut s = Scenario::new();
        for i in 0..3u64 {
            s.at_ms(i * 3_000_000, with_agent("OPTIONS", "10.77.0.66:5061", "friendly-scanner"));
        }
        let cfg = crate::config::Config::default();
        let alerts = s.run_with(&cfg, vec![Box::new(ScannerUserAgent::new(&Config::default()))]);
        // At 0 and 100 minutes; 50 minutes is inside the hour.
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
    }

    #[test]
    fn the_table_stays_bounded_under_many_sources() {
        let cfg = Config { max_reported: 100, ..Config::default() };
        let mut d = ScannerUserAgent::new(&cfg);
        let mut out = Vec::new();
        for i in 0..5_000u32 {
            let [_, a, b, c] = i.to_be_bytes();
            let src = format!("10.{a}.{b}.{c}:5060");
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            let ev = Event { seq: u64::from(i), ts, payload: with_agent("OPTIONS", &src, "sipvicious") };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert_eq!(out.len(), 5_000);
        let t = d.reported.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
