//! `malformed-sip` (sid 3004): a burst of unparseable or grossly malformed SIP from one source, the trace of a
//! SIP fuzzer (PROTOS c07-sip, sipp with broken scenarios, Kitty/boofuzz) or of exploit attempts against a
//! parser.
//!
//! # What raises it
//! Workers send an event for every SIP message that does not parse, with the parse error's kind and the
//! transport: a UDP datagram that looks like SIP (a SIP start line) but has no usable start line; over TCP,
//! a message framed by Content-Length that does not parse, or the point where a stream's framing breaks (a
//! Content-Length that is not a number or differs between fields: `invalid`; a message, or a header section
//! that never ends, longer than 64 KiB: `limit-exceeded`; the stream is not framed any further); over
//! WebSocket, a message that does not parse. The parser is tolerant: a message with a usable start line
//! parses whatever its headers, and records what it tolerated as *anomalies*. So two more kinds of message
//! count here:
//! - a request that parsed but has no usable Call-ID or CSeq (`missing-mandatory`): no stack sends it, and
//!   the sensor cannot follow it;
//! - a request that parsed with an anomaly listed in `anomalies` (requests only: a response copies its
//!   request's From, To, Via and Call-ID, so a server answering a fuzzer shows the fuzzer's anomalies): by
//!   default those of RFC 4475's *invalid* messages and of fuzzers that break a message's framing or
//!   transaction matching (a Content-Length or CSeq that is not a number or disagrees, a header line that is
//!   not a header, an unknown SIP version, duplicated single headers, ...; [`DEFAULT_ANOMALIES`]), not those
//!   that legal or sloppy messages show (line folding, bare LF, a non-GMT Date) nor the address and text
//!   syntax that working stacks get wrong every day (a host name with `_`, an unquoted display name with `@`,
//!   a Latin-1 display name), which can be added. No benign capture shipped here has any anomaly at all.
//!
//! The detector counts these messages per source address over a sliding window of `window_secs` seconds of
//! packet time, and raises one alert when a source reaches `min_messages`; then at most one per source per
//! `interval_secs`, by its own table.
//!
//! # Why it matters, and the severity
//! A well-behaved SIP stack sends parseable messages; a stream of broken ones from one address is someone
//! testing how a server's parser fails (crashes, memory corruption: CVE-2009-1338, CVE-2021-32558 and the
//! like). **Medium**: probing, not yet a compromise.
//!
//! # Evidence
//! `first_message` and `last_message` (packet times: the burst's span, from the first message after a quiet
//! window), `messages` (unparseable or malformed messages in the window), `window_secs`, `kinds` (the distinct
//! parse error kinds, `missing-mandatory` and anomalies counted, at most [`MAX_KINDS`], in the order first
//! seen), `transports` (`UDP`, `TCP`, `WS`: those the source's counted messages came over, in the order first
//! seen). The alert's protocol is the transport of the
//! message that completed the burst (TCP for WebSocket).
//!
//! # False positives and tuning
//! A broken device or a middlebox mangling SIP (an ALG cutting messages) also sends unparseable messages,
//! steadily: raise `min_messages` or disable the detector for it.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::{PacketTime, RateWindow};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 3004,
    slug: "malformed-sip",
    category: Category::Dos,
    severity: Severity::Medium,
    signature: "Burst of unparseable SIP messages from one source (fuzzing or exploit attempts)",
};

/// Longest window the counters hold.
pub const MAX_WINDOW_SECS: usize = 60;
/// Distinct kinds (parse errors, `missing-mandatory`, anomalies) kept per source for the evidence.
pub const MAX_KINDS: usize = 16;

/// Every anomaly the SIP parser records, by name (the sensor's tests hold this to the parser's own list).
pub const KNOWN_ANOMALIES: &[&str] = &[
    "folded",
    "lf-only",
    "duplicate-content-length",
    "content-length-mismatch",
    "body-truncated",
    "body-extra",
    "header-limit",
    "missing-mandatory",
    "bad-cseq",
    "bad-content-length",
    "invalid-header-line",
    "non-utf8",
    "cseq-method-mismatch",
    "bad-max-forwards",
    "start-line-whitespace",
    "bad-request-uri",
    "unknown-version",
    "bad-via",
    "bad-name-addr",
    "duplicate-single-header",
    "unterminated-headers",
    "bad-date",
    "bad-expires",
    "leading-crlf",
];

/// The name of one of the parser's anomalies ([`KNOWN_ANOMALIES`]); a rules file naming another is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyName(pub &'static str);

impl<'de> Deserialize<'de> for AnomalyName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KNOWN_ANOMALIES
            .iter()
            .find(|k| **k == text)
            .map(|k| AnomalyName(k))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a SIP parser anomaly; known: {}",
                    KNOWN_ANOMALIES.join(", ")
                ))
            })
    }
}

/// The parser's anomalies counted by default: those that break a message's framing or transaction
/// matching, which no stack that works with others sends. Left out: the legal or sloppy ones (folding,
/// bare LF, leading CRLF, bytes after the body, a truncated body, an unterminated header section, a
/// non-GMT Date, a bad Expires) and the syntax of addresses and text that working stacks get wrong every
/// day (`bad-name-addr`: an unquoted display name with `@` or non-ASCII letters, a trailing `;`;
/// `bad-via` and `bad-request-uri`: a host name with `_`, as Docker service names have; `non-utf8`: a
/// Latin-1 display name), which a fuzzer also produces but which would make a busy, sloppy PBX look like
/// one. Add them in the rules file where the stacks are known to be clean.
pub const DEFAULT_ANOMALIES: &[&str] = &[
    "bad-content-length",
    "content-length-mismatch",
    "duplicate-content-length",
    "bad-cseq",
    "cseq-method-mismatch",
    "bad-max-forwards",
    "invalid-header-line",
    "duplicate-single-header",
    "unknown-version",
    "start-line-whitespace",
    "header-limit",
    "missing-mandatory",
];

/// Settings, `[detectors.malformed-sip]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Window, in seconds (1 to 60).
    pub window_secs: u64,
    /// Unparseable messages from one source in the window that make a burst.
    pub min_messages: u64,
    /// At most one alert per source in this many seconds of packet time.
    pub interval_secs: u64,
    /// Cap on tracked sources.
    pub max_sources: usize,
    /// Cap on sources already reported.
    pub max_reported: usize,
    /// The parser's anomalies (kebab-case names, [`KNOWN_ANOMALIES`]) that make a parsed message count as
    /// malformed.
    pub anomalies: Vec<AnomalyName>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 10,
            min_messages: 10,
            interval_secs: 3600,
            max_sources: 16_384,
            max_reported: 65_536,
            anomalies: DEFAULT_ANOMALIES.iter().map(|a| AnomalyName(a)).collect(),
        }
    }
}

/// One source's recent unparseable messages.
#[derive(Debug, Default)]
struct Source {
    rate: RateWindow<MAX_WINDOW_SECS>,
    /// The first message of the current run (the window had none before it).
    first: PacketTime,
    kinds: Vec<&'static str>,
    transports: Vec<SipTransport>,
}

/// The detector.
#[derive(Debug)]
pub struct MalformedSip {
    window_secs: usize,
    min_messages: u64,
    interval: Duration,
    sources: BoundedMap<IpAddr, Source>,
    reported: BoundedMap<IpAddr, PacketTime>,
    anomalies: Vec<AnomalyName>,
}

impl MalformedSip {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let window_secs = usize::try_from(cfg.window_secs)
            .unwrap_or(MAX_WINDOW_SECS)
            .clamp(1, MAX_WINDOW_SECS);
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            window_secs,
            min_messages: cfg.min_messages.max(1),
            interval,
            // A source quiet for the whole window has nothing left to count.
            sources: BoundedMap::new(cfg.max_sources, Duration::from_secs(window_secs as u64)),
            reported: BoundedMap::new(cfg.max_reported, interval),
            anomalies: cfg.anomalies.clone(),
        }
    }
}

impl Detector for MalformedSip {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::SipMalformed).with(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        // (source, destination, transport, the parse error kind if it did not parse, the anomalies)
        let (src, dst, transport, kind, anomalies) = match &ev.payload {
            Payload::SipMalformed(m) => (m.src, m.dst, m.transport, Some(m.kind), &m.anomalies),
            // Requests only: a response copies its request's From, To, Via and Call-ID, so a server answering
            // a fuzzer would be counted for the fuzzer's anomalies.
            Payload::Sip(m) if !m.anomalies.is_empty() && m.method.is_some() => {
                (m.src, m.dst, m.transport, None, &m.anomalies)
            }
            _ => return,
        };
        let listed = &self.anomalies;
        let counted = move |a: &&'static str| listed.iter().any(|c| c.0 == *a);
        if kind.is_none() && !anomalies.iter().any(counted) {
            return;
        }
        let kinds = kind.into_iter().chain(anomalies.iter().copied().filter(counted));
        let now = cx.now();
        let ip = src.ip();
        let s = self.sources.get_or_insert_with(ip, now, Source::default);
        if s.rate.sum(now, self.window_secs) == 0 {
            s.first = now;
        }
        s.rate.add(now, 1);
        for k in kinds {
            if s.kinds.len() < MAX_KINDS && !s.kinds.contains(&k) {
                s.kinds.push(k);
            }
        }
        if !s.transports.contains(&transport) {
            s.transports.push(transport);
        }
        let n = s.rate.sum(now, self.window_secs);
        if n < self.min_messages {
            return;
        }
        if self
            .reported
            .get(&ip)
            .is_some_and(|at| now.since(*at) < self.interval)
        {
            return;
        }
        let kinds = s.kinds.iter().map(|k| Value::Str((*k).to_owned())).collect();
        let transports = s
            .transports
            .iter()
            .map(|t| Value::Str(t.name().to_owned()))
            .collect();
        cx.raise(
            Alert::new(&META, now)
                .src(Some(ip), Some(src.port()))
                .dest(Some(dst.ip()), Some(dst.port()))
                .proto(match transport {
                    SipTransport::Udp => Proto::Udp,
                    SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
                })
                .key(format!("src {ip}"))
                .evidence("messages", Value::U64(n))
                .evidence("window_secs", Value::U64(self.window_secs as u64))
                .evidence("kinds", Value::List(kinds))
                .evidence("transports", Value::List(transports))
                .evidence("first_message", Value::Time(s.first))
                .evidence("last_message", Value::Time(now)),
        );
        self.reported.insert(ip, now, now);
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.sources.expire(now);
        self.reported.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("sources", self.sources.stats()), ("reported", self.reported.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SipMalformedSeen;
    use crate::testkit::Scenario;

    fn bad(src: &str, kind: &'static str) -> Payload {
        bad_over(src, kind, SipTransport::Udp)
    }

    fn bad_over(src: &str, kind: &'static str, transport: SipTransport) -> Payload {
        Payload::SipMalformed(Box::new(SipMalformedSeen {
            src: src.parse().unwrap(),
            dst: "10.0.0.1:5060".parse().unwrap(),
            transport,
            kind,
            anomalies: Vec::new(),
        }))
    }

    #[test]
    fn a_fuzzing_burst_raises_one_alert_with_the_kinds() {
        let mut s = Scenario::new();
        for i in 0..200u64 {
            let kind = ["invalid", "truncated", "limit-exceeded"][usize::try_from(i % 3).unwrap()];
            s.at_ms(i * 20, bad("192.0.2.66:5060", kind));
        }
        let alerts = s.run(MalformedSip::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("192.0.2.66".parse().unwrap()));
        assert_eq!(a.evidence.get("messages"), Some(&Value::U64(10)));
        assert_eq!(
            a.evidence.get("kinds"),
            Some(&Value::List(vec![
                Value::Str("invalid".into()),
                Value::Str("truncated".into()),
                Value::Str("limit-exceeded".into()),
            ]))
        );
    }

    #[test]
    fn a_burst_over_tcp_and_websocket_names_its_transports() {
        let mut s = Scenario::new();
        for i in 0..10u64 {
            let t = if i < 4 { SipTransport::Tcp } else { SipTransport::Ws };
            s.at_ms(i * 100, bad_over("192.0.2.67:40000", "invalid", t));
        }
        let alerts = s.run(MalformedSip::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.proto, Some(Proto::Tcp));
        assert_eq!(
            a.evidence.get("transports"),
            Some(&Value::List(vec![Value::Str("TCP".into()), Value::Str("WS".into())]))
        );
    }

    /// A request from `src` that parsed with these anomalies.
    fn anomalous(src: &str, anomalies: &[&'static str]) -> Payload {
        let mut m = crate::testkit::Sip::request("INVITE", src, "10.0.0.1:5060").seen();
        m.anomalies = anomalies.to_vec();
        Payload::Sip(Box::new(m))
    }

    #[test]
    fn parsed_messages_with_the_anomalies_of_malformed_sip_count() {
        // A PROTOS-style run: INVITEs that parse, each with a field broken in its own way, and some that lack
        // a Call-ID altogether.
        let mut s = Scenario::new();
        for i in 0..30u64 {
            let p = match i % 3 {
                0 => anomalous("192.0.2.66:5080", &["bad-content-length", "non-utf8"]),
                1 => anomalous("192.0.2.66:5080", &["folded", "bad-cseq", "bad-max-forwards"]),
                _ => Payload::SipMalformed(Box::new(SipMalformedSeen {
                    src: "192.0.2.66:5080".parse().unwrap(),
                    dst: "10.0.0.1:5060".parse().unwrap(),
                    transport: SipTransport::Udp,
                    kind: "missing-mandatory",
                    anomalies: vec!["missing-mandatory", "lf-only"],
                })),
            };
            s.at_ms(i * 50, p);
        }
        let alerts = s.run(MalformedSip::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let kinds: Vec<_> = ["bad-content-length", "bad-cseq", "bad-max-forwards", "missing-mandatory"]
            .into_iter()
            .map(|k| Value::Str(k.into()))
            .collect();
        // Anomalies not counted by default (non-utf8, folded, lf-only) are not named: they are not why the
        // messages count.
        assert_eq!(alerts[0].evidence.get("kinds"), Some(&Value::List(kinds)));
        assert_eq!(alerts[0].evidence.get("messages"), Some(&Value::U64(10)));

        // With no anomaly listed, only the messages that cannot be followed count: 10 of the 30.
        let cfg = Config { anomalies: Vec::new(), ..Config::default() };
        let alerts = s.run(MalformedSip::new(&cfg));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let only = vec![Value::Str("missing-mandatory".into())];
        assert_eq!(alerts[0].evidence.get("kinds"), Some(&Value::List(only)));
        assert_eq!(alerts[0].evidence.get("messages"), Some(&Value::U64(10)));
    }

    #[test]
    fn the_rules_file_names_anomalies_and_a_typo_is_an_error() {
        let c = crate::config::Config::from_toml(
            "[detectors.malformed-sip]\nanomalies = [\"bad-cseq\"]\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.detectors.malformed_sip.anomalies, [AnomalyName("bad-cseq")]);
        let e = crate::config::Config::from_toml(
            "[detectors.malformed-sip]\nanomalies = [\"bad-cseqq\"]\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("`bad-cseqq` is not a SIP parser anomaly"), "{e}");
        assert!(DEFAULT_ANOMALIES.iter().all(|a| KNOWN_ANOMALIES.contains(a)));
    }

    #[test]
    fn legal_or_sloppy_messages_are_not_malformed() {
        // A phone that folds lines, ends them with bare LF, pads with CRLFs and sends a local-time Date: as
        // often as it likes.
        let mut s = Scenario::new();
        for i in 0..200u64 {
            let a: &[&'static str] = &["folded", "lf-only", "leading-crlf", "bad-date", "body-extra"];
            s.at_ms(i * 20, anomalous("10.0.0.11:5060", a));
        }
        assert!(s.run(MalformedSip::new(&Config::default())).is_empty());
        // A busy PBX known as `my_pbx` (a Docker service name: `_` is no host name character) whose users have
        // Latin-1 display names: sloppy, and quiet by default; counted once the site lists those anomalies.
        let mut s = Scenario::new();
        for i in 0..200u64 {
            let a: &[&'static str] = &["non-utf8", "bad-request-uri", "bad-via", "bad-name-addr"];
            s.at_ms(i * 20, anomalous("10.0.0.12:5060", a));
        }
        assert!(s.run(MalformedSip::new(&Config::default())).is_empty());
        let strict = Config {
            anomalies: vec![AnomalyName("bad-via"), AnomalyName("bad-request-uri")],
            ..Config::default()
        };
        assert_eq!(s.run(MalformedSip::new(&strict)).len(), 1);
    }

    #[test]
    fn a_server_answering_a_fuzzer_is_not_one() {
        // kamailio's 400s to a PROTOS run echo the broken From/To/Via: the responses carry the anomalies.
        let mut s = Scenario::new();
        for i in 0..50u64 {
            let mut m = crate::testkit::Sip::response(400, "INVITE", "10.0.0.1:5060", "192.0.2.68:5080").seen();
            m.anomalies = vec!["non-utf8", "bad-name-addr"];
            s.at_ms(i * 20, Payload::Sip(Box::new(m)));
        }
        assert!(s.run(MalformedSip::new(&Config::default())).is_empty());
    }

    #[test]
    fn an_occasional_broken_message_is_quiet() {
        let mut s = Scenario::new();
        // One every two seconds for ten minutes: at most five in any ten-second window.
        for i in 0..300u64 {
            s.at_ms(i * 2_000, bad("10.0.0.11:5060", "invalid"));
        }
        assert!(s.run(MalformedSip::new(&Config::default())).is_empty());
    }

    #[test]
    fn the_table_stays_bounded_under_many_sources() {
        let cfg = Config { max_sources: 100, ..Config::default() };
        let mut d = MalformedSip::new(&cfg);
        let mut out = Vec::new();
        for i in 0..5_000u32 {
            let [_, a, b, c] = i.to_be_bytes();
            let ts = PacketTime::from_secs(10 + u64::from(i) / 1000);
            let ev = Event { seq: u64::from(i), ts, payload: bad(&format!("10.{a}.{b}.{c}:5060"), "invalid") };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert!(out.is_empty());
        let t = d.sources.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
