//! `sip-scan` (sid 4001): one source probes many SIP hosts or ports, and the probes go unanswered or are
//! rejected (sipvicious `svmap`, nmap's SIP scripts, the endless OPTIONS sweeps of the Internet).
//!
//! # What raises it
//! OPTIONS, INVITE and REGISTER requests, per source address: the distinct targets (destination address and
//! port) it sends them to in a tumbling window of `window_secs` seconds of packet time, and what each target
//! answered: nothing, a rejection (4xx, 5xx, 6xx), or an engagement (a provisional answer other than 100, a
//! 2xx or 3xx). Once a second, for a source that probed at least `min_targets` targets, the targets probed at
//! least [`ANSWER_GRACE_SECS`] ago are judged: if at most `max_engaged_ratio` of them engaged, it is a scan.
//!
//! The outcome gate, not the volume, makes the difference with benign fan-out: a registrar pinging its phones
//! with OPTIONS (NAT keepalive) or a proxy forking an INVITE gets answers (200, 180) from almost every target;
//! a scanner probing a subnet gets silence (no host, no listener: ICMP, or nothing) and the odd 404.
//!
//! # Bounds
//! At most `max_sources` sources, each remembering at most [`MAX_TARGETS_PER_SOURCE`] targets (48 bytes
//! each): a sweep from a million spoofed sources costs at most `max_sources` × 6 KiB (48 MiB by default)
//! and evicts the least recently seen sources (the eviction counter says so).
//!
//! # Evidence
//! `targets` (distinct targets judged), `distinct_hosts`, `unanswered`, `rejected`, `engaged`, `method` (of
//! the first probe), `sample_targets` (the first few addresses), `window_secs`, and `first_probe` and
//! `last_probe` (packet times of the first and last probe judged: the scan's span). `dest_ip` is absent: a scan
//! has many.
//!
//! # Severity
//! **Low**: reconnaissance, constant on any Internet-facing SIP port; it matters for the source (block it) and
//! as the first step of `extension-enumeration` and `sip-bruteforce`.
//!
//! # False positives and tuning
//! A phone or proxy configured with many dead peers (OPTIONS pings to hosts that are down). Raise
//! `min_targets`, or lower `max_engaged_ratio` to demand near-total silence.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 4001,
    slug: "sip-scan",
    category: Category::Recon,
    severity: Severity::Low,
    signature: "SIP scan (one source probes many hosts or ports, unanswered or rejected)",
};

/// Targets remembered per source and window: past this, new targets are not counted (thresholds must be
/// lower).
pub const MAX_TARGETS_PER_SOURCE: usize = 128;
/// A probe is judged once it had this long to be answered: 4*T1 (RFC 3261 §17.1.2.2 retransmits a UDP
/// non-INVITE request four times in that span; a live server has answered by then).
pub const ANSWER_GRACE_SECS: u64 = 2;
/// Bound on the sources judged per second (the rest wait for the next second).
const MAX_HOT: usize = 4096;
/// Targets named in the evidence.
const SAMPLE_TARGETS: usize = 4;
/// The methods scanners probe with.
const PROBE_METHODS: [&str; 3] = ["OPTIONS", "INVITE", "REGISTER"];

/// Settings, `[detectors.sip-scan]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Tumbling window per source, in seconds.
    pub window_secs: u64,
    /// Distinct targets (address and port) judged in the window that make a scan (at most 128).
    pub min_targets: u64,
    /// The share of judged targets that engaged (answered other than a rejection) at or under which it is a
    /// scan.
    pub max_engaged_ratio: f64,
    /// Cap on tracked sources.
    pub max_sources: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { enabled: true, window_secs: 60, min_targets: 20, max_engaged_ratio: 0.2, max_sources: 8192 }
    }
}

/// What a target made of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    None,
    Rejected,
    Engaged,
}

#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    at: PacketTime,
    answer: Answer,
}

#[derive(Debug, Clone)]
struct Source {
    start: PacketTime,
    targets: Vec<Target>,
    method: Box<str>,
    transport: SipTransport,
    port: u16,
    hot: bool,
    reported: bool,
}

/// The detector.
#[derive(Debug)]
pub struct SipScan {
    cfg: Config,
    window: Duration,
    sources: BoundedMap<IpAddr, Source>,
    hot: Vec<IpAddr>,
}

impl SipScan {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let window = Duration::from_secs(cfg.window_secs.max(1));
        Self { cfg: cfg.clone(), window, sources: BoundedMap::new(cfg.max_sources, window), hot: Vec::new() }
    }
}

impl Detector for SipScan {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        if let Some(status) = m.status {
            // An answer from a target back to a prober.
            let answer = match status {
                100 => return,
                101..=399 => Answer::Engaged,
                _ => Answer::Rejected,
            };
            if let Some(s) = self.sources.get_mut(&m.dst.ip(), now)
                && let Some(t) = s.targets.iter_mut().find(|t| t.addr == m.src)
                && t.answer != Answer::Engaged
            {
                t.answer = answer;
            }
            return;
        }
        let Some(method) = &m.method else { return };
        if !PROBE_METHODS.iter().any(|p| method.eq_ignore_ascii_case(p)) {
            return;
        }
        let window = self.window;
        let fresh = || Source {
            start: now,
            targets: Vec::new(),
            method: method.clone(),
            transport: m.transport,
            port: m.src.port(),
            hot: false,
            reported: false,
        };
        let src = m.src.ip();
        let s = self.sources.get_or_insert_with(src, now, fresh);
        if now.since(s.start) >= window {
            *s = fresh();
        }
        if s.targets.len() >= MAX_TARGETS_PER_SOURCE || s.targets.iter().any(|t| t.addr == m.dst) {
            return;
        }
        s.targets.push(Target { addr: m.dst, at: now, answer: Answer::None });
        if !s.hot && !s.reported && s.targets.len() as u64 >= self.cfg.min_targets && self.hot.len() < MAX_HOT {
            s.hot = true;
            self.hot.push(src);
        }
    }

    fn on_tick(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        self.sources.expire(now);
        self.judge(now, Duration::from_secs(ANSWER_GRACE_SECS), cx);
    }

    /// The end of the input: no answer can come any more, so every probe is judged as it stands (a short
    /// sweep at the end of a capture, such as svmap's 22 probes in half a second, is still reported).
    fn on_finish(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        self.judge(now, Duration::ZERO, cx);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("sources", self.sources.stats())]
    }
}

impl SipScan {
    /// Judges the hot sources on their probes at least `grace` old.
    fn judge(&mut self, now: PacketTime, grace: Duration, cx: &mut Context<'_>) {
        for src in std::mem::take(&mut self.hot) {
            let Some(s) = self.sources.get(&src) else { continue };
            if s.reported || now.since(s.start) >= self.window + grace {
                continue;
            }
            let judged: Vec<&Target> = s.targets.iter().filter(|t| now.since(t.at) >= grace).collect();
            let n = judged.len() as u64;
            let count = |a: Answer| judged.iter().filter(|t| t.answer == a).count() as u64;
            let unanswered = count(Answer::None);
            let rejected = count(Answer::Rejected);
            let engaged = count(Answer::Engaged);
            if n < self.cfg.min_targets || engaged as f64 > self.cfg.max_engaged_ratio * n as f64 {
                // Not yet (probes too recent), or not a scan so far: judge again next second.
                self.hot.push(src);
                continue;
            }
            let mut hosts: Vec<IpAddr> = judged.iter().map(|t| t.addr.ip()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            let alert = Alert::new(&META, now)
                .src(Some(src), Some(s.port))
                .proto(match s.transport {
                    SipTransport::Udp => Proto::Udp,
                    SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
                })
                .key(format!("src {src}"))
                .evidence("targets", Value::U64(n))
                .evidence("distinct_hosts", Value::U64(hosts.len() as u64))
                .evidence("unanswered", Value::U64(unanswered))
                .evidence("rejected", Value::U64(rejected))
                .evidence("engaged", Value::U64(engaged))
                .evidence("method", Value::Str(s.method.to_string()))
                .evidence(
                    "sample_targets",
                    Value::List(judged.iter().take(SAMPLE_TARGETS).map(|t| Value::Ip(t.addr.ip())).collect()),
                )
                .evidence("window_secs", Value::U64(self.window.as_secs()))
                .evidence("first_probe", Value::Time(judged.iter().map(|t| t.at).min().unwrap_or(now)))
                .evidence("last_probe", Value::Time(judged.iter().map(|t| t.at).max().unwrap_or(now)));
            cx.raise(alert);
            if let Some(s) = self.sources.get_mut(&src, now) {
                s.reported = true;
                s.hot = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const ATTACKER: &str = "10.77.0.66:5061";

    #[test]
    fn a_subnet_sweep_with_no_answers_raises_once() {
        let mut s = Scenario::new();
        for i in 0..67u64 {
            s.at_ms(i * 25, Sip::request("OPTIONS", ATTACKER, &format!("10.78.0.{}:5060", i + 1)).payload());
        }
        s.at_ms(5, Sip::response(404, "OPTIONS", "10.78.0.1:5060", ATTACKER).payload());
        s.at_ms(5_500, Sip::request("OPTIONS", "10.0.0.1:5060", "10.0.0.2:5060").payload());
        let alerts = s.run(SipScan::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(a.dest_ip, None);
        assert_eq!(a.evidence.get("rejected"), Some(&Value::U64(1)));
        assert_eq!(a.evidence.get("engaged"), Some(&Value::U64(0)));
    }

    #[test]
    fn keepalives_answered_by_every_phone_are_quiet() {
        let mut s = Scenario::new();
        for i in 0..100u64 {
            let phone = format!("10.0.1.{}:5060", i + 1);
            s.at_ms(i * 10, Sip::request("OPTIONS", "10.0.0.1:5060", &phone).payload());
            s.at_ms(i * 10 + 3, Sip::response(200, "OPTIONS", &phone, "10.0.0.1:5060").payload());
        }
        s.at_ms(10_000, Sip::request("OPTIONS", "10.0.0.9:5060", "10.0.0.1:5060").payload());
        assert!(s.run(SipScan::new(&Config::default())).is_empty());
    }

    #[test]
    fn many_probes_to_one_target_are_not_a_scan() {
        let mut s = Scenario::new();
        for i in 0..500u64 {
            s.at_ms(i * 10, Sip::request("OPTIONS", ATTACKER, "10.77.0.1:5060").call(&format!("c{i}")).payload());
        }
        s.at_ms(10_000, Sip::request("OPTIONS", "10.0.0.9:5060", "10.0.0.1:5060").payload());
        assert!(s.run(SipScan::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_sweep_cut_short_by_the_end_of_the_input_is_judged_there() {
        let mut s = Scenario::new();
        // 22 probes in 0.44 s and nothing after: no second tick ever sees them 2 s old.
        for i in 0..22u64 {
            let dst = format!("10.78.0.{}:{}", 1 + i / 11, 5060 + i % 11);
            s.at_ms(i * 20, Sip::request("OPTIONS", ATTACKER, &dst).payload());
        }
        let alerts = s.run(SipScan::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("targets"), Some(&Value::U64(22)));
        assert_eq!(alerts[0].evidence.get("unanswered"), Some(&Value::U64(22)));
    }

    #[test]
    fn a_port_sweep_of_one_host_counts_its_ports() {
        let mut s = Scenario::new();
        for p in 5060..5090u16 {
            s.at_ms(u64::from(p - 5060) * 10, Sip::request("INVITE", ATTACKER, &format!("10.77.0.1:{p}")).payload());
        }
        s.at_ms(4_000, Sip::request("OPTIONS", "10.0.0.9:5060", "10.0.0.1:5060").payload());
        let alerts = s.run(SipScan::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("distinct_hosts"), Some(&Value::U64(1)));
        assert_eq!(alerts[0].evidence.get("targets"), Some(&Value::U64(30)));
    }

    #[test]
    fn sources_stay_bounded_under_a_spoofed_sweep() {
        let cfg = Config { max_sources: 32, ..Config::default() };
        let mut d = SipScan::new(&cfg);
        let mut out = Vec::new();
        for i in 0..4_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 200);
            let src = format!("198.51.{}.{}:5060", i / 250, i % 250);
            let ev = Event { seq: u64::from(i), ts, payload: Sip::request("OPTIONS", &src, "10.0.0.1:5060").payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let t = d.tables()[0].1;
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
