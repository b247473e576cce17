//! `malformed-sip` (sid 3004): a burst of unparseable SIP from one source, the trace of a SIP fuzzer
//! (PROTOS c07-sip, sipp with broken scenarios, Kitty/boofuzz) or of exploit attempts against a parser.
//!
//! # What raises it
//! Workers send an event for every SIP message that does not parse, with the parse error's kind and the
//! transport: a UDP datagram that looks like SIP (a SIP start line) but has no usable start line; over TCP,
//! a message framed by Content-Length that does not parse, or the point where a stream's framing breaks (a
//! Content-Length that is not a number or differs between fields: `invalid`; a message, or a header section
//! that never ends, longer than 64 KiB: `limit-exceeded`; the stream is not framed any further); over
//! WebSocket, a message that does not parse. The detector counts them per source address over a sliding
//! window of `window_secs` seconds of packet time, and raises one alert when a source reaches
//! `min_messages`; then at most one per source per `interval_secs`, by its own table.
//!
//! The parser is tolerant: a message with a usable start line parses, whatever its headers (a missing
//! Call-ID or CSeq, line folding, NUL bytes, a negative Content-Length in a datagram are anomalies, not
//! failures), so the failures counted here are broken start lines (non-UTF-8 bytes, a request line with no
//! SIP version) and, over TCP, broken framing.
//!
//! # Why it matters, and the severity
//! A well-behaved SIP stack sends parseable messages; a stream of broken ones from one address is someone
//! testing how a server's parser fails (crashes, memory corruption: CVE-2009-1338, CVE-2021-32558 and the
//! like). **Medium**: probing, not yet a compromise.
//!
//! # Evidence
//! `first_message` and `last_message` (packet times: the burst's span, from the first message after a quiet
//! window), `messages` (unparseable messages in the window), `window_secs`, `kinds` (the distinct parse error kinds,
//! at most [`MAX_KINDS`], in the order first seen), `transports` (`UDP`, `TCP`, `WS`: those the source's
//! unparseable messages came over, in the order first seen). The alert's protocol is the transport of the
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
/// Distinct error kinds kept per source for the evidence (the parser has five).
pub const MAX_KINDS: usize = 8;

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
        }
    }
}

impl Detector for MalformedSip {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::SipMalformed)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::SipMalformed(m) = &ev.payload else { return };
        let now = cx.now();
        let ip = m.src.ip();
        let s = self.sources.get_or_insert_with(ip, now, Source::default);
        if s.rate.sum(now, self.window_secs) == 0 {
            s.first = now;
        }
        s.rate.add(now, 1);
        if s.kinds.len() < MAX_KINDS && !s.kinds.contains(&m.kind) {
            s.kinds.push(m.kind);
        }
        if !s.transports.contains(&m.transport) {
            s.transports.push(m.transport);
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
                .src(Some(ip), Some(m.src.port()))
                .dest(Some(m.dst.ip()), Some(m.dst.port()))
                .proto(match m.transport {
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
