//! `cleartext-sip` (sid 1001): two endpoints exchange SIP over plain UDP or TCP.
//!
//! # What raises it
//! Every SIP message the sensor can read travels outside TLS (SIP over TLS is never decrypted, so it never
//! becomes an event). The detector follows endpoint pairs, the unordered pair of the two IP addresses, and
//! raises one alert per pair once the pair has *exchanged* SIP: a message one way, then one back (a request
//! and its response, typically) within [`PENDING_SECS`]. The alert names the sender of the first message seen
//! between the two as `src_ip`/`src_port` and its receiver as `dest_ip`/`dest_port`, and is raised at the
//! reply. It repeats at most once per `interval_secs` (an hour) per pair, by the detector's own table: the
//! first message of a reported pair after the interval raises it again, with the same first message (the
//! pair is known to talk; its orientation does not flip with whoever happens to speak first after an hour).
//! A pair silent for the interval is forgotten and starts afresh.
//!
//! Requiring a reply keeps a scan from raising an alert per probed address: svmap's OPTIONS to 67 hosts raise
//! one alert, for the one host that answered in cleartext, which is the posture finding (that host speaks
//! SIP without TLS); the scan itself is `sip-scan`'s business. On a tap that mirrors one direction only, set
//! `require_reply = false`: then the first message of a pair raises the alert.
//!
//! # Why it matters, and the severity
//! Cleartext SIP shows who calls whom, when, from which devices, and lets anyone on the path rewrite a call
//! (redirect the media, tear it down). RFC 3261 §26 and RFC 5630 recommend TLS (`sips:`). The severity is
//! **Low**: cleartext SIP is the norm on many internal networks, and the findings that make it urgent have
//! their own, higher-severity detectors on the same messages: SDES keys in the clear (`sdes-key-exposed`,
//! High), credentials in the clear (`weak-auth`) and SRTP downgrades (`srtp-downgrade`, High). This alert is
//! the inventory of where signalling is unprotected.
//!
//! # Evidence
//! `transport` (`UDP` or `TCP`, of the first message), `first_method` (a request) or `first_status` (a
//! response): what the first message seen was. No Call-ID or user: the finding is about the pair.
//!
//! # False positives and tuning
//! None in the strict sense: the traffic is cleartext. Where cleartext SIP is accepted (a trunk inside a
//! trusted segment), disable the detector or raise `interval_secs`. The engine's own suppression
//! (`[engine] suppress_secs`) applies on top, by the same pair key: an `interval_secs` shorter than it has
//! no effect.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 1001,
    slug: "cleartext-sip",
    category: Category::Encryption,
    severity: Severity::Low,
    signature: "SIP signalling in cleartext (not inside TLS) between two endpoints",
};

/// How long a first message waits for the pair's reply: 64*T1, the SIP transaction timeout (RFC 3261 §17.1.1.2
/// Timer B, §17.1.2.2 Timer F). A reply later than that is not a reply to it.
pub const PENDING_SECS: u64 = 32;

/// Settings, `[detectors.cleartext-sip]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// At most one alert per endpoint pair in this many seconds of packet time.
    pub interval_secs: u64,
    /// Alert only once the pair has exchanged SIP both ways (a message and a reply); `false` for taps that
    /// see one direction only.
    pub require_reply: bool,
    /// Cap on pairs whose first message waits for a reply.
    pub max_pending: usize,
    /// Cap on pairs already reported (remembered for `interval_secs`).
    pub max_reported: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 3600,
            require_reply: true,
            max_pending: 65_536,
            max_reported: 65_536,
        }
    }
}

/// The unordered pair of two endpoints: the lower address first.
type PairKey = (IpAddr, IpAddr);

fn pair_key(a: IpAddr, b: IpAddr) -> PairKey {
    if a <= b { (a, b) } else { (b, a) }
}

/// The first message seen between a pair.
#[derive(Debug, Clone)]
struct First {
    src: SocketAddr,
    dst: SocketAddr,
    transport: SipTransport,
    method: Option<Box<str>>,
    status: Option<u16>,
}

impl First {
    fn of(m: &SipSeen) -> Self {
        Self {
            src: m.src,
            dst: m.dst,
            transport: m.transport,
            method: m.method.clone(),
            status: m.status,
        }
    }

    /// `m` goes the other way: from the first message's receiver back to its sender.
    fn answered_by(&self, m: &SipSeen) -> bool {
        if self.src.ip() == self.dst.ip() {
            // Both ends on one host: tell them apart by port.
            return m.src == self.dst;
        }
        m.src.ip() == self.dst.ip()
    }
}

/// The detector.
#[derive(Debug)]
pub struct CleartextSip {
    interval: Duration,
    require_reply: bool,
    /// Pairs seen one way so far, by their first message.
    pending: BoundedMap<PairKey, First>,
    /// Pairs reported, with when and their first message.
    reported: BoundedMap<PairKey, (PacketTime, First)>,
}

impl CleartextSip {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            interval,
            require_reply: cfg.require_reply,
            pending: BoundedMap::new(cfg.max_pending, Duration::from_secs(PENDING_SECS)),
            // Forgotten once idle for the interval: the next message then starts a new report, as it would.
            reported: BoundedMap::new(cfg.max_reported, interval),
        }
    }

    fn raise(&mut self, key: PairKey, first: First, cx: &mut Context<'_>) {
        let now = cx.now();
        let mut alert = Alert::new(&META, now)
            .src(Some(first.src.ip()), Some(first.src.port()))
            .dest(Some(first.dst.ip()), Some(first.dst.port()))
            .proto(match first.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(format!("{} {}", key.0, key.1))
            .evidence("transport", Value::Str(first.transport.name().into()));
        if let Some(method) = &first.method {
            alert = alert.evidence("first_method", Value::Str(method.to_string()));
        }
        if let Some(status) = first.status {
            alert = alert.evidence("first_status", Value::U64(u64::from(status)));
        }
        cx.raise(alert);
        self.reported.insert(key, (now, first), now);
    }
}

impl Detector for CleartextSip {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        let key = pair_key(m.src.ip(), m.dst.ip());
        // Marked seen while the pair talks, so that it is not forgotten in the middle of its interval.
        if let Some((at, first)) = self.reported.get_mut(&key, now) {
            if now.since(*at) >= self.interval {
                let first = first.clone();
                self.raise(key, first, cx);
            }
            return;
        }
        if !self.require_reply {
            self.raise(key, First::of(m), cx);
            return;
        }
        self.pending.expire(now);
        // The sweep is coarse (a quarter of the timeout): judge the age of the first message exactly.
        let fresh = self
            .pending
            .last_seen(&key)
            .is_some_and(|t| now.since(t) <= Duration::from_secs(PENDING_SECS));
        match self.pending.get(&key).filter(|_| fresh) {
            Some(first) if first.answered_by(m) => {
                let first = first.clone();
                self.pending.remove(&key);
                self.raise(key, first, cx);
            }
            // More of the same direction: the first message stays the first.
            Some(_) => {}
            // A new pair, or one whose first message went unanswered too long (`insert` replaces it).
            None => self.pending.insert(key, First::of(m), now),
        }
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.pending.expire(now);
        self.reported.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("pending", self.pending.stats()), ("reported", self.reported.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PHONE: &str = "10.0.0.11:5060";
    const PBX: &str = "10.0.0.1:5060";

    fn register_exchange(s: &mut Scenario, at_ms: u64, phone: &str) {
        s.at_ms(at_ms, Sip::request("REGISTER", phone, PBX).payload());
        s.at_ms(at_ms + 1, Sip::response(401, "REGISTER", PBX, phone).payload());
        s.at_ms(at_ms + 2, Sip::request("REGISTER", phone, PBX).cseq(2).payload());
        s.at_ms(at_ms + 3, Sip::response(200, "REGISTER", PBX, phone).payload());
    }

    #[test]
    fn an_exchange_raises_one_alert_naming_the_first_sender() {
        let mut s = Scenario::new();
        register_exchange(&mut s, 0, PHONE);
        register_exchange(&mut s, 60_000, PHONE);
        let alerts = s.run(CleartextSip::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(a.src_port, Some(5060));
        assert_eq!(a.dest_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(a.proto, Some(Proto::Udp));
        assert_eq!(a.evidence.get("transport"), Some(&Value::Str("UDP".into())));
        assert_eq!(a.evidence.get("first_method"), Some(&Value::Str("REGISTER".into())));
        assert_eq!(a.severity, Severity::Low);
    }

    #[test]
    fn each_pair_is_reported_once_whichever_way_it_talks() {
        let mut s = Scenario::new();
        // Phone to PBX, then PBX to a second phone (a relayed call), then that phone calls back.
        s.at_ms(0, Sip::request("INVITE", PHONE, PBX).payload());
        s.at_ms(1, Sip::response(100, "INVITE", PBX, PHONE).payload());
        s.at_ms(2, Sip::request("INVITE", PBX, "10.0.0.12:5060").payload());
        s.at_ms(3, Sip::response(200, "INVITE", "10.0.0.12:5060", PBX).payload());
        s.at_ms(5_000, Sip::request("INVITE", "10.0.0.12:5060", PBX).tcp().payload());
        s.at_ms(5_001, Sip::response(200, "INVITE", PBX, "10.0.0.12:5060").tcp().payload());
        let alerts = s.run(CleartextSip::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(alerts[1].src_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(alerts[1].dest_ip, Some("10.0.0.12".parse().unwrap()));
        assert_eq!(alerts[1].evidence.get("first_method"), Some(&Value::Str("INVITE".into())));
    }

    #[test]
    fn a_first_response_is_named_by_its_status() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::response(200, "OPTIONS", PBX, PHONE).tcp().payload());
        s.at_ms(1, Sip::request("ACK", PHONE, PBX).tcp().payload());
        let alerts = s.run(CleartextSip::new(&Config::default()));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].evidence.get("first_status"), Some(&Value::U64(200)));
        assert_eq!(alerts[0].evidence.get("transport"), Some(&Value::Str("TCP".into())));
        assert_eq!(alerts[0].proto, Some(Proto::Tcp));
    }

    #[test]
    fn unanswered_probes_are_quiet_unless_replies_are_not_required() {
        let mut s = Scenario::new();
        for i in 0..50u64 {
            let dst = format!("10.78.0.{i}:5060");
            s.at_ms(i * 10, Sip::request("OPTIONS", "10.77.0.66:5061", &dst).payload());
        }
        assert!(s.run(CleartextSip::new(&Config::default())).is_empty());
        let one_way = Config { require_reply: false, ..Config::default() };
        assert_eq!(s.run(CleartextSip::new(&one_way)).len(), 50);
    }

    #[test]
    fn a_reply_after_the_transaction_timeout_is_no_reply() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("OPTIONS", PHONE, PBX).payload());
        s.at_ms(40_000, Sip::response(200, "OPTIONS", PBX, PHONE).payload());
        assert!(s.run(CleartextSip::new(&Config::default())).is_empty());
        // ...but it is a first message itself, and its reply raises the alert, naming the PBX.
        s.at_ms(40_001, Sip::request("ACK", PHONE, PBX).payload());
        let alerts = s.run(CleartextSip::new(&Config::default()));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].src_ip, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn the_pair_is_reported_again_after_the_interval() {
        let mut s = Scenario::new();
        // A registration refresh every 10 minutes for 2.5 hours.
        for i in 0..16u64 {
            register_exchange(&mut s, i * 600_000, PHONE);
        }
        let cfg = crate::config::Config::default();
        let alerts = s.run_with(&cfg, vec![Box::new(CleartextSip::new(&Config::default()))]);
        // At 0, 60 and 120 minutes, each naming the phone, whose REGISTER came first.
        assert_eq!(alerts.len(), 3, "{alerts:#?}");
        assert_eq!(alerts[1].ts.since(alerts[0].ts), Duration::from_secs(3600));
        assert_eq!(alerts[2].ts.since(alerts[1].ts), Duration::from_secs(3600));
        assert!(alerts.iter().all(|a| a.src_ip == Some("10.0.0.11".parse().unwrap())));
    }

    #[test]
    fn repeats_inside_the_interval_never_reach_the_engine_suppression() {
        let mut s = Scenario::new();
        for i in 0..100u64 {
            register_exchange(&mut s, i * 1000, PHONE);
        }
        let mut e = crate::engine::Engine::with_detectors(
            &crate::config::Config::default(),
            vec![Box::new(CleartextSip::new(&Config::default()))],
        );
        let mut ev: Vec<Event> = Vec::new();
        for i in 0..100u64 {
            let base = Scenario::BASE_NANOS + i * 1_000_000_000;
            ev.push(Event {
                seq: i * 2,
                ts: PacketTime::from_nanos(base),
                payload: Sip::request("REGISTER", PHONE, PBX).payload(),
            });
            ev.push(Event {
                seq: i * 2 + 1,
                ts: PacketTime::from_nanos(base + 1_000_000),
                payload: Sip::response(200, "REGISTER", PBX, PHONE).payload(),
            });
        }
        for x in &ev {
            e.on_event(x);
        }
        e.finish();
        assert_eq!(e.drain_alerts().count(), 1);
        assert_eq!(e.stats().suppressed, 0);
    }

    #[test]
    fn tables_stay_bounded_under_a_scan() {
        let cfg = Config { max_pending: 100, max_reported: 50, ..Config::default() };
        let mut d = CleartextSip::new(&cfg);
        let mut out = Vec::new();
        for i in 0..5_000u32 {
            let [_, a, b, c] = i.to_be_bytes();
            let host = format!("10.{a}.{b}.{c}:5060");
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            for (seq, m) in [
                Sip::request("OPTIONS", "192.0.2.66:5061", &host),
                Sip::response(404, "OPTIONS", &host, "192.0.2.66:5061"),
            ]
            .into_iter()
            .enumerate()
            {
                // Every host answers half of the time.
                if seq == 1 && i % 2 == 0 {
                    continue;
                }
                let ev = Event { seq: u64::from(i) * 2 + seq as u64, ts, payload: m.payload() };
                let mut cx = Context::new(ts, &mut out);
                d.on_event(&ev, &mut cx);
            }
        }
        assert_eq!(out.len(), 2_500);
        let tables = d.tables();
        assert!(tables.iter().all(|(_, t)| t.len <= t.cap), "{tables:?}");
        assert!(tables.iter().all(|(_, t)| t.evicted > 0), "{tables:?}");
    }
}
