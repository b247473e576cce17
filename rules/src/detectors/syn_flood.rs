//! `syn-flood` (sid 3003): TCP SYNs to SIP ports (5060, 5061 and configured ones) that do not become
//! connections, the classic way to exhaust a SIP server's TCP/TLS listeners.
//!
//! # What raises it
//! Every SYN, SYN-ACK, completing ACK and refusing RST becomes an event in the worker that owns the
//! connection; the engine adds them up whatever worker they came from, so a flood spread over all workers
//! (spoofed sources hash everywhere) counts in full. Counts are kept per target (server address and port) and
//! per source address, over a sliding window of `window_secs` seconds of packet time. Once a second the
//! detector judges the keys that crossed their threshold:
//! - per target: at least `min_syns` SYNs in the window, of which at most `max_completion_ratio` completed the
//!   handshake;
//! - per source: at least `min_syns_per_source` SYNs with the same completion test.
//!
//! One episode, one alert: a target flood whose SYNs come mostly (over half) from one source shares that
//! source's suppression key, so the per-source and per-target views of a single-source flood are reported once,
//! whichever crosses its threshold first.
//!
//! The alert gives the SYN rate, the completed, accepted (SYN-ACK) and refused (RST) counts, an estimate of the
//! distinct sources, and the heaviest sources (Misra–Gries summary, so it costs eight counters whatever the
//! number of spoofed sources). `src_ip` is the dominant source when one sent more than half of the SYNs, and
//! absent for a spread (spoofed) flood.
//!
//! # False positives and tuning
//! A busy SIP-over-TCP registrar sees many SYNs, but they complete. Retransmitted SYNs of a client that cannot
//! reach the server count again; a firewall that drops SYN-ACKs makes real clients look like a flood (which is a
//! real outage worth seeing). Raise `min_syns` for large registrars; add SIP ports in `ports`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload};
use crate::table::{BoundedMap, TableStats};
use crate::time::{PacketTime, RateWindow};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 3003,
    slug: "syn-flood",
    category: Category::Dos,
    severity: Severity::Medium,
    signature: "TCP SYN flood against a SIP port",
};

/// The SIP ports always watched (RFC 3261 §18.2: 5060 for TCP, 5061 for TLS).
pub const SIP_PORTS: [u16; 2] = [5060, 5061];
/// Longest window the counters hold.
pub const MAX_WINDOW_SECS: usize = 60;

/// Settings, `[detectors.syn-flood]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Ports watched besides 5060 and 5061.
    pub ports: Vec<u16>,
    /// Window, in seconds (1 to 60).
    pub window_secs: u64,
    /// SYNs to one target in the window that make a flood.
    pub min_syns: u64,
    /// SYNs from one source in the window that make a flood.
    pub min_syns_per_source: u64,
    /// The share of SYNs that completed the handshake at or under which it is a flood.
    pub max_completion_ratio: f64,
    /// Cap on tracked targets.
    pub max_targets: usize,
    /// Cap on tracked sources.
    pub max_sources: usize,
    /// Targets and sources idle this long are forgotten.
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            ports: Vec::new(),
            window_secs: 10,
            min_syns: 200,
            min_syns_per_source: 100,
            max_completion_ratio: 0.2,
            max_targets: 16_384,
            max_sources: 65_536,
            idle_secs: 120,
        }
    }
}

/// Counters kept by the Misra–Gries heavy-hitter summary.
const TOP_K: usize = 8;
/// Bits of the distinct-source sketch (linear counting; 1024 bits estimate up to a few thousand sources).
const SKETCH_BITS: usize = 1024;

#[derive(Debug, Clone, Default)]
struct Counts {
    syns: RateWindow<MAX_WINDOW_SECS>,
    completed: RateWindow<MAX_WINDOW_SECS>,
    accepted: RateWindow<MAX_WINDOW_SECS>,
    refused: RateWindow<MAX_WINDOW_SECS>,
    hot: bool,
}

#[derive(Debug, Clone)]
struct Target {
    counts: Counts,
    top: Vec<(IpAddr, u64)>,
    sketch: [u64; SKETCH_BITS / 64],
}

impl Default for Target {
    fn default() -> Self {
        Self { counts: Counts::default(), top: Vec::new(), sketch: [0; SKETCH_BITS / 64] }
    }
}

impl Target {
    fn note_source(&mut self, ip: IpAddr) {
        // Misra–Gries: increment, insert, or decrement all.
        if let Some(e) = self.top.iter_mut().find(|(i, _)| *i == ip) {
            e.1 += 1;
        } else if self.top.len() < TOP_K {
            self.top.push((ip, 1));
        } else {
            for e in &mut self.top {
                e.1 -= 1;
            }
            self.top.retain(|e| e.1 > 0);
        }
        let h = usize::try_from(fnv1a(ip) % SKETCH_BITS as u64).unwrap_or(0);
        if let Some(w) = self.sketch.get_mut(h / 64) {
            *w |= 1 << (h % 64);
        }
    }

    #[expect(clippy::cast_possible_truncation, reason = "a non-negative estimate far below 2^53")]
    fn distinct_sources(&self) -> u64 {
        let zeros: u32 = self.sketch.iter().map(|w| w.count_zeros()).sum();
        let m = SKETCH_BITS as f64;
        if zeros == 0 {
            return SKETCH_BITS as u64 * 8;
        }
        let est = -m * (f64::from(zeros) / m).ln();
        est.round() as u64
    }

    fn top_sources(&self) -> Vec<(IpAddr, u64)> {
        let mut v = self.top.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// A fixed (seedless) hash, so the sketch and the output are the same on every run.
fn fnv1a(ip: IpAddr) -> u64 {
    let bytes: [u8; 16] = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// What the window says about a flooding key.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    syns: u64,
    completed: u64,
    accepted: u64,
    refused: u64,
    /// SYNs per second over the part of the window since the flood began.
    rate: f64,
}

#[derive(Debug, Clone, Default)]
struct Source {
    counts: Counts,
    last_target: Option<SocketAddr>,
}

/// The detector.
#[derive(Debug)]
pub struct SynFlood {
    cfg: Config,
    window: usize,
    targets: BoundedMap<SocketAddr, Target>,
    sources: BoundedMap<IpAddr, Source>,
    hot_targets: Vec<SocketAddr>,
    hot_sources: Vec<IpAddr>,
}

/// Bound on the keys judged per second (the rest wait for the next second).
const MAX_HOT: usize = 4096;

impl SynFlood {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let idle = Duration::from_secs(cfg.idle_secs);
        Self {
            cfg: cfg.clone(),
            window: usize::try_from(cfg.window_secs).unwrap_or(MAX_WINDOW_SECS).clamp(1, MAX_WINDOW_SECS),
            targets: BoundedMap::new(cfg.max_targets, idle),
            sources: BoundedMap::new(cfg.max_sources, idle),
            hot_targets: Vec::new(),
            hot_sources: Vec::new(),
        }
    }

    fn watched(&self, port: u16) -> bool {
        SIP_PORTS.contains(&port) || self.cfg.ports.contains(&port)
    }

    fn flooding(&self, c: &mut Counts, now: PacketTime, min: u64) -> Option<Verdict> {
        let syns = c.syns.sum(now, self.window);
        if syns < min {
            return None;
        }
        let completed = c.completed.sum(now, self.window);
        let ratio = completed as f64 / syns as f64;
        (ratio <= self.cfg.max_completion_ratio).then(|| Verdict {
            syns,
            completed,
            accepted: c.accepted.sum(now, self.window),
            refused: c.refused.sum(now, self.window),
            rate: syns as f64 / c.syns.active_secs(now, self.window) as f64,
        })
    }

    fn evidence(&self, a: Alert, v: &Verdict, scope: &str) -> Alert {
        a.evidence("scope", Value::Str(scope.into()))
            .evidence("syns", Value::U64(v.syns))
            .evidence("completed", Value::U64(v.completed))
            .evidence("accepted", Value::U64(v.accepted))
            .evidence("refused", Value::U64(v.refused))
            .evidence("window_secs", Value::U64(self.window as u64))
            .evidence("syn_rate_per_sec", Value::F64(v.rate))
    }
}

impl Detector for SynFlood {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::TcpHandshake)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let now = cx.now();
        let (conn, is_syn) = match &ev.payload {
            Payload::TcpSyn(c) => (c, true),
            Payload::TcpSynAck(c) | Payload::TcpEstablished(c) | Payload::TcpRefused(c) => (c, false),
            _ => return,
        };
        if !self.watched(conn.server.port()) {
            return;
        }
        let window = self.window;
        let t = self.targets.get_or_insert_with(conn.server, now, Target::default);
        let s_ip = conn.client.ip();
        match &ev.payload {
            Payload::TcpSyn(_) => {
                t.counts.syns.add(now, 1);
                t.note_source(s_ip);
            }
            Payload::TcpSynAck(_) => t.counts.accepted.add(now, 1),
            Payload::TcpEstablished(_) => t.counts.completed.add(now, 1),
            Payload::TcpRefused(_) => t.counts.refused.add(now, 1),
            _ => {}
        }
        if is_syn && !t.counts.hot && t.counts.syns.sum(now, window) >= self.cfg.min_syns {
            t.counts.hot = true;
            if self.hot_targets.len() < MAX_HOT {
                self.hot_targets.push(conn.server);
            }
        }
        let s = self.sources.get_or_insert_with(s_ip, now, Source::default);
        match &ev.payload {
            Payload::TcpSyn(_) => {
                s.counts.syns.add(now, 1);
                s.last_target = Some(conn.server);
            }
            Payload::TcpSynAck(_) => s.counts.accepted.add(now, 1),
            Payload::TcpEstablished(_) => s.counts.completed.add(now, 1),
            Payload::TcpRefused(_) => s.counts.refused.add(now, 1),
            _ => {}
        }
        if is_syn && !s.counts.hot && s.counts.syns.sum(now, window) >= self.cfg.min_syns_per_source {
            s.counts.hot = true;
            if self.hot_sources.len() < MAX_HOT {
                self.hot_sources.push(s_ip);
            }
        }
    }

    fn on_tick(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        let mut named = Vec::new();
        let mut still_hot = Vec::new();
        for key in std::mem::take(&mut self.hot_targets) {
            let Some(mut t) = self.targets.get(&key).cloned() else { continue };
            let verdict = self.flooding(&mut t.counts, now, self.cfg.min_syns);
            if t.counts.syns.sum(now, self.window) >= self.cfg.min_syns {
                still_hot.push(key);
            } else {
                t.counts.hot = false;
            }
            if let Some(v) = verdict {
                let top = t.top_sources();
                let dominant = top.first().filter(|(_, n)| n * 2 > v.syns).map(|(ip, _)| *ip);
                named.extend(dominant);
                let alert = Alert::new(&META, now)
                    .src(dominant, None)
                    .dest(Some(key.ip()), Some(key.port()))
                    .proto(Proto::Tcp)
                    // A flood with one dominant source is that source's episode, whichever of its per-source
                    // and per-target alerts comes first: one key, so the engine reports it once.
                    .key(match dominant {
                        Some(ip) => format!("src {ip}"),
                        None => format!("dst {key}"),
                    });
                let alert = self
                    .evidence(alert, &v, "target")
                    .evidence("distinct_sources_estimate", Value::U64(t.distinct_sources()))
                    .evidence(
                        "top_sources",
                        Value::List(top.iter().take(4).map(|(ip, _)| Value::Ip(*ip)).collect()),
                    );
                cx.raise(alert);
            }
            self.targets.insert(key, t, now);
        }
        self.hot_targets = still_hot;

        let mut still_hot = Vec::new();
        for ip in std::mem::take(&mut self.hot_sources) {
            let Some(mut s) = self.sources.get(&ip).cloned() else { continue };
            let verdict = self.flooding(&mut s.counts, now, self.cfg.min_syns_per_source);
            if s.counts.syns.sum(now, self.window) >= self.cfg.min_syns_per_source {
                still_hot.push(ip);
            } else {
                s.counts.hot = false;
            }
            if let Some(v) = verdict
                && !named.contains(&ip)
            {
                let alert = Alert::new(&META, now)
                    .src(Some(ip), None)
                    .dest(s.last_target.map(|t| t.ip()), s.last_target.map(|t| t.port()))
                    .proto(Proto::Tcp)
                    .key(format!("src {ip}"));
                cx.raise(self.evidence(alert, &v, "source"));
            }
            self.sources.insert(ip, s, now);
        }
        self.hot_sources = still_hot;
        self.targets.expire(now);
        self.sources.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("targets", self.targets.stats()), ("sources", self.sources.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TcpConn;
    use crate::testkit::Scenario;
    use std::net::Ipv4Addr;

    const PBX: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 3, 1)), 5060);

    fn conn(i: u32, port: u16) -> TcpConn {
        let [_, a, b, c] = i.to_be_bytes();
        TcpConn {
            client: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(100, a, b, c)), 40_000 + u16::try_from(i % 20_000).unwrap()),
            server: SocketAddr::new(PBX.ip(), port),
        }
    }

    #[test]
    fn spoofed_flood_fires_once_per_target_without_a_source() {
        let mut s = Scenario::new();
        for i in 0..3000u32 {
            let c = conn(i, 5060);
            s.at_ms(u64::from(i) * 2, Payload::TcpSyn(c));
            s.at_ms(u64::from(i) * 2 + 1, Payload::TcpSynAck(c));
        }
        let alerts = s.run(SynFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.dest_ip, Some(PBX.ip()));
        assert_eq!(a.dest_port, Some(5060));
        assert_eq!(a.src_ip, None);
        assert_eq!(a.evidence.get("completed"), Some(&Value::U64(0)));
        let Some(Value::U64(d)) = a.evidence.get("distinct_sources_estimate") else { panic!() };
        assert!(*d > 500, "{d}");
    }

    #[test]
    fn completed_handshakes_are_not_a_flood() {
        let mut s = Scenario::new();
        for i in 0..3000u32 {
            let c = conn(i % 30, 5060);
            s.at_ms(u64::from(i) * 2, Payload::TcpSyn(c));
            s.at_ms(u64::from(i) * 2 + 1, Payload::TcpEstablished(c));
        }
        assert!(s.run(SynFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn single_source_flood_to_a_closed_port_names_the_source_once() {
        let mut s = Scenario::new();
        for i in 0..1000u32 {
            let c = TcpConn { client: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)), 1024 + u16::try_from(i).unwrap()), server: SocketAddr::new(PBX.ip(), 5061) };
            s.at_ms(u64::from(i) * 2, Payload::TcpSyn(c));
            s.at_ms(u64::from(i) * 2 + 1, Payload::TcpRefused(c));
        }
        let alerts = s.run(SynFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99))));
        assert_eq!(alerts[0].evidence.get("scope"), Some(&Value::Str("target".into())));
    }

    #[test]
    fn a_single_source_flood_is_one_alert_whichever_view_fires_first() {
        // 15 SYNs a second from one source: the per-source threshold (100 in 10 s) is crossed at 7 s, the
        // per-target one (200) only after 14 s.
        let mut s = Scenario::new();
        for i in 0..400u32 {
            let c = TcpConn {
                client: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), 2000 + u16::try_from(i).unwrap()),
                server: PBX,
            };
            s.at_ms(u64::from(i) * 50, Payload::TcpSyn(c));
        }
        let alerts = s.run(SynFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("scope"), Some(&Value::Str("source".into())));
    }

    #[test]
    fn unwatched_ports_are_ignored_and_configured_ones_watched() {
        let mut s = Scenario::new();
        for i in 0..3000u32 {
            s.at_ms(u64::from(i), Payload::TcpSyn(conn(i, 8080)));
        }
        assert!(s.run(SynFlood::new(&Config::default())).is_empty());
        let cfg = Config { ports: vec![8080], ..Config::default() };
        assert_eq!(s.run(SynFlood::new(&cfg)).len(), 1);
    }

    #[test]
    fn slow_trickle_under_the_window_threshold_is_quiet() {
        let mut s = Scenario::new();
        // 15 SYNs a second: 150 in a 10 s window, under 200.
        for i in 0..1500u32 {
            s.at_ms(u64::from(i) * 66, Payload::TcpSyn(conn(i, 5060)));
        }
        assert!(s.run(SynFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn tables_stay_bounded_under_a_spoofed_flood() {
        let cfg = Config { max_sources: 500, max_targets: 50, ..Config::default() };
        let mut d = SynFlood::new(&cfg);
        let mut out = Vec::new();
        for i in 0..20_000u32 {
            let ev = Event {
                seq: u64::from(i),
                ts: PacketTime::from_secs(10 + u64::from(i) / 1000),
                payload: Payload::TcpSyn(conn(i, 5060)),
            };
            let mut cx = Context::new(ev.ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let tables = d.tables();
        assert!(tables.iter().all(|(_, t)| t.len <= t.cap));
        assert!(tables.iter().any(|(n, t)| *n == "sources" && t.evicted > 0));
    }
}
