//! `rtp-flood` (sid 3002): datagrams to a media endpoint far above what its negotiated codec sends, or to an
//! endpoint no call negotiated at a rate no single voice stream reaches, for several seconds in a row: the
//! RTP floods that drown a phone's jitter buffer or a media server's port, and plain UDP floods of media
//! ports (`hping3 --udp`).
//!
//! # What it sees
//! RTP packets make no event each. The worker that owns a UDP flow counts each direction's datagrams per
//! second of packet time, and reports a direction whose second reached a floor
//! ([`UdpRate::FLOOR_PPS`], 150) as one [`Payload::UdpRate`] at the clock marker that closes the second
//! (flagged `rtp` when the flow carried RTP, `sip` when it carried SIP). A call's own media (50 packets a
//! second per direction at 20 ms) makes no report at all. A flood whose every datagram opens a new 5-tuple
//! (`hping3 --udp` without `-k` changes its source port each time; spoofed sources) brings no flow to the
//! floor, so each worker also reports, per destination and second, how many UDP flows it saw open there (an
//! *opening report*: one datagram each, whatever the number, so that the sum over workers does not depend
//! on how many there are). This detector sums both kinds per destination (address and port) and per second,
//! so a flood spread over source ports, sources or workers is judged whole; whatever the number of workers,
//! the same reports arrive in the same order.
//!
//! # What raises it
//! Once a second the detector judges the seconds whose reports are all in (those before the previous tick:
//! reports of a second arrive at the marker that opens the next one), and at the end of the input all of them. A destination's second floods when:
//! - **negotiated** (a call's SDP named the destination as where one side receives media): its packets are at
//!   least `factor` times the codec's rate (1000 / `a=ptime`, 20 ms when absent: 50 per second) and at least
//!   `min_rate`;
//! - **not negotiated**: its packets are at least `unnegotiated_rate`, clearly above any real stream, since
//!   unassociated RTP is common (signalling not mirrored, or inside TLS); and either some flow to it carried
//!   RTP, or its port is at least `min_port`, is not one of `sip_ports`, and no flow to it carried SIP (SIP
//!   floods are `sip-flood`'s).
//!
//! `min_secs` flooding seconds in a row start an *episode*: one alert, `phase = "started"`. `end_secs` seconds
//! without flooding end it: a follow-up, `phase = "ended"`, with the episode's totals. An episode still running
//! at the end of input has no follow-up. The suppression key holds the destination, the episode's first
//! second and the phase, so each episode is reported once.
//!
//! # Evidence
//! `phase`, `negotiated` (bool), `rtp` (some flooding flow carried RTP), `rate` (mean packets a second over
//! the run that started it, or over the whole episode), `peak_rate`, `packets`, `bytes`, `duration_secs`,
//! `first_second` (start of the first flooding second), `flows` (most flows to the destination in one second:
//! those above the floor and those that opened), and for a negotiated endpoint `expected_rate`, `codec`,
//! `ptime_ms`, `call_id`. `src_ip`/`src_port` is the top source (the flow, or the single source of a worker's
//! openings, that sent the most in one second; absent when every report had many sources, as a spoofed flood
//! has), `dest_ip`/`dest_port` the target.
//!
//! # Bounds
//! One entry per destination that received a report (`max_targets`, idle after `idle_secs`; a full table
//! evicts the least recently seen, counted), a few words each: the top source is kept, not a table of
//! sources. The workers' side is bounded too: one counter per flow direction in the flow table, at most 4096
//! flow reports and 4096 destinations of openings per worker and second (beyond that, counted as dropped). A
//! flood from a million spoofed sources costs the flow table its cap (it evicts the oldest flows, counted),
//! one openings entry per worker, and here one target.
//!
//! # Severity
//! **Medium**, as `sip-flood`: a flood degrades calls but leaves no foothold. High when the peak reaches
//! `severity_high_rate`.
//!
//! # False positives and tuning
//! Relayed media seen twice on a SPAN port (a man in the middle forwarding a stream, or a mirror of both sides
//! of a router) counts each copy in its own flow direction at the stream's rate: far under the floor. Video
//! (hundreds of packets a second at high bit rates) to an endpoint whose `m=video` line is not negotiated in
//! the captured SIP can reach `unnegotiated_rate`: raise it, or rely on the SDP. A media server that takes
//! every client on one port (WebRTC SFUs with BUNDLE) is not a flood here: each client's stream is its own
//! flow under the floor, and their flows open at call setup, not hundreds a second. A UDP flood of a SIP port
//! that is not SIP (`sip_ports`) is left out: this detector judges media ports.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, UdpRate};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 3002,
    slug: "rtp-flood",
    category: Category::Dos,
    severity: Severity::Medium,
    signature: "RTP/UDP flood of a media port: far above the negotiated codec's rate, or of a port no call negotiated",
};

/// Packetisation time assumed when the SDP gives no `a=ptime` (RFC 3551 §4.5: 20 ms for the usual codecs).
pub const DEFAULT_PTIME_MS: u32 = 20;

/// Settings, `[detectors.rtp-flood]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// A negotiated endpoint floods at this many times its codec's packet rate...
    pub factor: u64,
    /// ...and at least this many packets a second (a flow's packets count once the flow reaches the workers'
    /// floor of 150 in a second; flow openings always count).
    pub min_rate: u64,
    /// Packets a second to an endpoint no call negotiated that count as flooding.
    pub unnegotiated_rate: u64,
    /// Lowest destination port judged for UDP that is not RTP (RTP is judged on any port).
    pub min_port: u16,
    /// Ports never judged for UDP that is not RTP: SIP's (SIP floods are `sip-flood`'s; other datagrams there
    /// are not media).
    pub sip_ports: Vec<u16>,
    /// Consecutive flooding seconds that start an episode (1 to 30).
    pub min_secs: u64,
    /// Consecutive quiet seconds that end an episode (1 to 30).
    pub end_secs: u64,
    /// Peak rate at or above which the started alert is High.
    pub severity_high_rate: u64,
    /// Cap on tracked destinations.
    pub max_targets: usize,
    /// Destinations without a report this long are forgotten.
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            factor: 4,
            min_rate: 200,
            unnegotiated_rate: 400,
            min_port: 1024,
            sip_ports: vec![5060, 5061],
            min_secs: 2,
            end_secs: 3,
            severity_high_rate: 5_000,
            max_targets: 4_096,
            idle_secs: 60,
        }
    }
}

/// One destination's reports for one second.
#[derive(Debug, Clone, Copy, Default)]
struct Second {
    sec: u64,
    packets: u64,
    bytes: u64,
    flows: u64,
    rtp: bool,
    sip: bool,
    /// The flow report that counted the most, and how much.
    top: Option<(SocketAddr, u64)>,
    /// Flows opened (all workers' opening reports together), and their one source address when they all had
    /// one (`None` once two differ).
    opened: u64,
    opened_src: Option<Option<IpAddr>>,
}

impl Second {
    fn add(&mut self, r: &UdpRate) {
        let n = u64::from(r.packets);
        self.packets += n;
        self.bytes += r.bytes;
        self.rtp |= r.rtp;
        self.sip |= r.sip;
        if r.opened > 0 {
            // Each worker reports its share of the openings: only their sum, and whether they all came from
            // one address, are the same whatever the number of workers (not which share is largest, nor the
            // first opener's port).
            self.flows += u64::from(r.opened);
            self.opened += u64::from(r.opened);
            let src = r.single_source.then_some(r.src.ip());
            self.opened_src = Some(match self.opened_src {
                None => src,
                Some(prev) => prev.filter(|p| Some(*p) == src),
            });
        } else {
            self.flows += 1;
            if self.top.is_none_or(|(_, m)| n > m) {
                self.top = Some((r.src, n));
            }
        }
    }

    /// The source that sent the most: the top flow, or the openings' single address (no port) when they
    /// outnumber it; `None` when the openings, outnumbering every flow, came from many (spoofed) addresses.
    fn top_source(&self) -> Option<(Option<SocketAddr>, u64)> {
        let flow = self.top.map(|(a, n)| (Some(a), n));
        if self.opened > flow.map_or(0, |(_, n)| n) {
            let src = self.opened_src.flatten().map(|ip| SocketAddr::new(ip, 0));
            return Some((src, self.opened));
        }
        flow
    }
}

/// Totals of a run of flooding seconds, or of an episode.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    first_sec: u64,
    secs: u64,
    packets: u64,
    bytes: u64,
    peak: u64,
    flows: u64,
    rtp: bool,
    /// The top source of the busiest second (see [`Second::top_source`]); port 0 for openings.
    top: Option<(Option<SocketAddr>, u64)>,
}

impl Totals {
    fn add(&mut self, s: &Second) {
        if self.secs == 0 {
            self.first_sec = s.sec;
        }
        self.secs += 1;
        self.packets += s.packets;
        self.bytes += s.bytes;
        self.peak = self.peak.max(s.packets);
        self.flows = self.flows.max(s.flows);
        self.rtp |= s.rtp;
        if let Some((src, n)) = s.top_source()
            && self.top.is_none_or(|(_, m)| n > m)
        {
            self.top = Some((src, n));
        }
    }
}

/// An episode in progress.
#[derive(Debug, Clone, Copy)]
struct Episode {
    totals: Totals,
    /// Quiet seconds so far.
    quiet: u64,
}

/// One destination.
#[derive(Debug, Clone)]
struct Target {
    /// The second whose reports are arriving (reports of one second arrive together).
    pending: Option<Second>,
    /// Last second judged.
    judged: u64,
    run: Totals,
    episode: Option<Episode>,
}

/// The negotiation facts of an alert.
#[derive(Debug, Clone)]
struct Negotiated {
    expected: u64,
    codec: Option<String>,
    ptime: u32,
    call_id: String,
}

/// What judging changed.
#[derive(Debug)]
enum Change {
    Started(Totals, Option<Negotiated>),
    Ended(Episode),
}

/// The rate at which `dst`'s second floods, and what the call negotiated there (if one did); `None` when the
/// destination is not judged (SIP, or a low port with no RTP).
fn threshold(
    cfg: &Config,
    dst: &SocketAddr,
    s: &Second,
    cx: &Context<'_>,
) -> Option<(u64, Option<Negotiated>)> {
    if let Some(ep) = cx.calls().and_then(|c| c.media_endpoint(dst)) {
        let ptime = ep.ptime.filter(|p| *p > 0).unwrap_or(DEFAULT_PTIME_MS);
        let expected = (1000 / u64::from(ptime)).max(1);
        let n = Negotiated {
            expected,
            codec: ep.codec.map(|c| c.name.to_string()),
            ptime,
            call_id: ep.call_id.to_owned(),
        };
        return Some((expected.saturating_mul(cfg.factor).max(cfg.min_rate), Some(n)));
    }
    let judged =
        s.rtp || (!s.sip && dst.port() >= cfg.min_port && !cfg.sip_ports.contains(&dst.port()));
    judged.then_some((cfg.unnegotiated_rate, None))
}

/// Judges `t`'s seconds before `upto`.
fn judge(
    cfg: &Config,
    dst: &SocketAddr,
    t: &mut Target,
    upto: u64,
    cx: &Context<'_>,
    out: &mut Vec<Change>,
) {
    let mut s = t.judged + 1;
    while s < upto {
        if t.episode.is_none() && t.run.secs == 0 {
            // Nothing in progress: quiet seconds change nothing; go to the pending second, if due.
            match t.pending.map(|p| p.sec).filter(|p| *p >= s && *p < upto) {
                Some(p) => s = p,
                None => break,
            }
        }
        let pending = t.pending.filter(|p| p.sec == s);
        let second = pending.unwrap_or(Second {
            sec: s,
            ..Second::default()
        });
        let verdict = pending.and_then(|p| threshold(cfg, dst, &p, cx));
        let flooding = verdict
            .as_ref()
            .is_some_and(|(min, _)| second.packets >= *min);
        if let Some(ep) = &mut t.episode {
            if flooding {
                ep.totals.add(&second);
                ep.quiet = 0;
            } else {
                ep.quiet += 1;
                if ep.quiet >= cfg.end_secs {
                    out.push(Change::Ended(*ep));
                    t.episode = None;
                }
            }
        } else if flooding {
            t.run.add(&second);
            if t.run.secs >= cfg.min_secs {
                let negotiated = verdict.and_then(|(_, n)| n);
                out.push(Change::Started(t.run, negotiated));
                t.episode = Some(Episode {
                    totals: t.run,
                    quiet: 0,
                });
                t.run = Totals::default();
            }
        } else {
            t.run = Totals::default();
        }
        s += 1;
    }
    t.judged = t.judged.max(upto.saturating_sub(1));
    if t.pending.is_some_and(|p| p.sec <= t.judged) {
        t.pending = None;
    }
}

/// The detector.
#[derive(Debug)]
pub struct RtpFlood {
    cfg: Config,
    targets: BoundedMap<SocketAddr, Target>,
    /// The second of the previous tick: reports of every earlier second are in.
    last_tick_sec: u64,
}

impl RtpFlood {
    /// Judges every target's seconds before `upto(target)` and raises what changed, in address order (the
    /// table's order is a hash order).
    fn judge_all(&mut self, now: PacketTime, cx: &mut Context<'_>, upto: impl Fn(&Target) -> u64) {
        let mut changes = Vec::new();
        for (dst, t) in self.targets.iter_mut() {
            let upto = upto(t);
            let mut ch = Vec::new();
            judge(&self.cfg, dst, t, upto, cx, &mut ch);
            changes.extend(ch.into_iter().map(|c| (*dst, c)));
        }
        changes.sort_by_key(|(dst, _)| *dst);
        for (dst, c) in changes {
            raise(&self.cfg, dst, c, now, cx);
        }
    }

    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let mut cfg = cfg.clone();
        cfg.min_secs = cfg.min_secs.clamp(1, 30);
        cfg.end_secs = cfg.end_secs.clamp(1, 30);
        cfg.factor = cfg.factor.max(1);
        Self {
            targets: BoundedMap::new(cfg.max_targets, Duration::from_secs(cfg.idle_secs)),
            cfg,
            last_tick_sec: 0,
        }
    }

    fn alert(dst: SocketAddr, totals: &Totals, phase: &'static str, now: PacketTime) -> Alert {
        let (src_ip, src_port) = match totals.top {
            Some((Some(a), _)) => (Some(a.ip()), Some(a.port()).filter(|p| *p != 0)),
            _ => (None, None),
        };
        let secs = totals.secs.max(1);
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let rate = totals.packets as f64 / secs as f64;
        Alert::new(&META, now)
            .src(src_ip, src_port)
            .dest(Some(dst.ip()), Some(dst.port()))
            .proto(Proto::Udp)
            .key(format!("{dst} {} {phase}", totals.first_sec))
            .evidence("phase", Value::Str(phase.into()))
            .evidence("rtp", Value::Bool(totals.rtp))
            .evidence("rate", Value::F64(rate))
            .evidence("peak_rate", Value::U64(totals.peak))
            .evidence("packets", Value::U64(totals.packets))
            .evidence("bytes", Value::U64(totals.bytes))
            .evidence("duration_secs", Value::U64(secs))
            .evidence("first_second", Value::Time(PacketTime::from_secs(totals.first_sec)))
            .evidence("flows", Value::U64(totals.flows))
    }
}

impl Detector for RtpFlood {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::UdpRate)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::UdpRate(r) = &ev.payload else { return };
        let now = cx.now();
        let t = self.targets.get_or_insert_with(r.dst, now, || Target {
            pending: None,
            judged: r.sec.saturating_sub(1),
            run: Totals::default(),
            episode: None,
        });
        if r.sec <= t.judged {
            // Too late to count (cannot happen in the workers' order; a guard for other input).
            return;
        }
        let mut changes = Vec::new();
        if let Some(p) = t.pending
            && p.sec < r.sec
        {
            // A newer second: the pending one is complete (the workers' order never gets here: a tick judges it
            // first).
            judge(&self.cfg, &r.dst, t, p.sec + 1, cx, &mut changes);
        }
        match &mut t.pending {
            Some(p) if p.sec == r.sec => p.add(r),
            Some(_) => {}
            slot @ None => {
                let mut s = Second {
                    sec: r.sec,
                    ..Second::default()
                };
                s.add(r);
                *slot = Some(s);
            }
        }
        for c in changes {
            raise(&self.cfg, r.dst, c, now, cx);
        }
    }

    fn on_tick(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        let upto = self.last_tick_sec;
        self.last_tick_sec = now.secs();
        self.judge_all(now, cx, |_| upto);
        self.targets.expire(now);
    }

    fn on_finish(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        // No report will come any more: the pending seconds are complete.
        self.judge_all(now, cx, |t| t.pending.map_or(t.judged + 1, |p| p.sec + 1));
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("targets", self.targets.stats())]
    }
}

/// Raises the alert of one change.
fn raise(cfg: &Config, dst: SocketAddr, c: Change, now: PacketTime, cx: &mut Context<'_>) {
    let a = match c {
        Change::Started(totals, negotiated) => {
            let severity = if totals.peak >= cfg.severity_high_rate {
                Severity::High
            } else {
                Severity::Medium
            };
            let mut a = RtpFlood::alert(dst, &totals, "started", now)
                .severity(severity)
                .evidence("negotiated", Value::Bool(negotiated.is_some()));
            if let Some(n) = negotiated {
                a = a
                    .evidence("expected_rate", Value::U64(n.expected))
                    .evidence("ptime_ms", Value::U64(u64::from(n.ptime)))
                    .evidence("call_id", Value::Str(n.call_id));
                if let Some(codec) = n.codec {
                    a = a.evidence("codec", Value::Str(codec));
                }
            }
            a
        }
        Change::Ended(ep) => RtpFlood::alert(dst, &ep.totals, "ended", now),
    };
    cx.raise(a);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip, media};

    const CALLEE: &str = "10.77.0.12:6000";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn report(src: &str, dst: &str, sec: u64, packets: u32, rtp: bool, flow: u64) -> Payload {
        Payload::UdpRate(UdpRate {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            sec,
            packets,
            bytes: u64::from(packets) * 172,
            rtp,
            sip: false,
            opened: 0,
            single_source: true,
            flow_id: flow,
        })
    }

    /// `rate` packets a second from `src` to `dst` during seconds `from..from+secs` (of the scenario's base),
    /// reported as the worker does: at the start of the next second.
    fn flood(s: &mut Scenario, src: &str, dst: &str, from: u64, secs: u64, rate: u32, rtp: bool) {
        let base = Scenario::BASE_NANOS / 1_000_000_000;
        for i in from..from + secs {
            s.at_ms((i + 1) * 1000, report(src, dst, base + i, rate, rtp, 7));
        }
    }

    /// One clock event a second up to `until_s`, so that ticks happen.
    fn clock(s: &mut Scenario, until_s: u64) {
        for i in 0..=until_s {
            s.at_ms(i * 1000, Payload::Clock);
        }
    }

    /// A call whose callee receives PCMU at `CALLEE` (ptime 20).
    fn call(s: &mut Scenario) {
        let mut m = media("RTP/AVP", 6000);
        m.addr = Some(ip("10.77.0.12"));
        m.codecs = vec![crate::event::CodecSeen { pt: 0, name: "PCMU".into(), clock: 8000 }];
        let offer = Sip::request("INVITE", "10.77.0.11:5060", "10.77.0.12:5060").call("c1").tags("a", None);
        let mut mo = media("RTP/AVP", 6000);
        mo.addr = Some(ip("10.77.0.11"));
        s.at_ms(100, offer.sdp(vec![mo]).payload());
        let answer = Sip::response(200, "INVITE", "10.77.0.12:5060", "10.77.0.11:5060")
            .call("c1")
            .tags("a", Some("b"));
        s.at_ms(200, answer.sdp(vec![m]).payload());
    }

    fn text(a: &Alert, k: &str) -> Option<String> {
        match a.evidence.get(k) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_flood_of_a_negotiated_port_starts_and_ends_one_episode() {
        let mut s = Scenario::new();
        call(&mut s);
        clock(&mut s, 30);
        flood(&mut s, "10.77.0.66:40000", CALLEE, 5, 4, 2000, true);
        let alerts = s.run(RtpFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let (a, b) = (&alerts[0], &alerts[1]);
        assert_eq!(text(a, "phase").as_deref(), Some("started"));
        assert_eq!(a.src_ip, Some(ip("10.77.0.66")));
        assert_eq!(a.src_port, Some(40000));
        assert_eq!(a.dest_ip, Some(ip("10.77.0.12")));
        assert_eq!(a.dest_port, Some(6000));
        assert_eq!(a.evidence.get("negotiated"), Some(&Value::Bool(true)));
        assert_eq!(a.evidence.get("expected_rate"), Some(&Value::U64(50)));
        assert_eq!(text(a, "codec").as_deref(), Some("PCMU"));
        assert_eq!(text(a, "call_id").as_deref(), Some("c1"));
        assert_eq!(a.evidence.get("packets"), Some(&Value::U64(4000)));
        assert_eq!(a.evidence.get("duration_secs"), Some(&Value::U64(2)));
        // Seconds 5 and 6 are judged at the tick of second 8 (their reports come at 6 and 7).
        assert_eq!(a.ts.secs() % 60, 8);
        assert_eq!(text(b, "phase").as_deref(), Some("ended"));
        assert_eq!(b.evidence.get("packets"), Some(&Value::U64(8000)));
        assert_eq!(b.evidence.get("duration_secs"), Some(&Value::U64(4)));
        assert_ne!(a.key, b.key);
    }

    #[test]
    fn the_negotiated_threshold_follows_the_codec_and_the_factor() {
        let mut s = Scenario::new();
        call(&mut s);
        clock(&mut s, 30);
        // 190 pps: under 4 x 50 and under min_rate.
        flood(&mut s, "10.77.0.66:40000", CALLEE, 5, 10, 190, true);
        assert!(s.run(RtpFlood::new(&Config::default())).is_empty());
        let cfg = Config { factor: 3, min_rate: 150, ..Config::default() };
        let alerts = s.run(RtpFlood::new(&cfg));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
    }

    #[test]
    fn an_unnegotiated_port_needs_the_higher_rate() {
        let mut s = Scenario::new();
        clock(&mut s, 30);
        flood(&mut s, "10.77.0.66:40000", "10.77.0.12:7078", 2, 5, 350, true);
        flood(&mut s, "10.77.0.66:2000", "10.77.0.12:9999", 12, 5, 900, false);
        let alerts = s.run(RtpFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert!(alerts.iter().all(|a| a.dest_port == Some(9999)));
        assert_eq!(alerts[0].evidence.get("negotiated"), Some(&Value::Bool(false)));
        assert_eq!(alerts[0].evidence.get("rtp"), Some(&Value::Bool(false)));
        assert_eq!(alerts[0].evidence.get("peak_rate"), Some(&Value::U64(900)));
    }

    #[test]
    fn sip_and_low_ports_without_rtp_are_not_judged() {
        let mut s = Scenario::new();
        clock(&mut s, 30);
        let base = Scenario::BASE_NANOS / 1_000_000_000;
        for i in 2..8 {
            let mut r = report("10.77.0.66:5070", "10.77.0.1:5060", base + i, 900, false, 3);
            if let Payload::UdpRate(u) = &mut r {
                u.sip = true;
            }
            s.at_ms((i + 1) * 1000, r);
            s.at_ms((i + 1) * 1000, report("10.77.0.66:5000", "10.77.0.1:53", base + i, 900, false, 4));
        }
        assert!(s.run(RtpFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn one_short_burst_is_quiet_and_two_flows_add_up() {
        let mut s = Scenario::new();
        clock(&mut s, 30);
        flood(&mut s, "10.77.0.66:40000", "10.77.0.12:7078", 2, 1, 5000, true);
        // Two flows of 250 each to one port: 500 a second together.
        flood(&mut s, "10.77.0.66:40001", "10.77.0.12:8000", 10, 3, 250, true);
        flood(&mut s, "10.77.0.67:40002", "10.77.0.12:8000", 10, 3, 260, true);
        let alerts = s.run(RtpFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "started and ended: {alerts:#?}");
        assert!(alerts.iter().all(|a| a.dest_port == Some(8000)));
        assert_eq!(alerts[0].src_ip, Some(ip("10.77.0.67")));
        assert_eq!(alerts[0].evidence.get("flows"), Some(&Value::U64(2)));
        assert_eq!(alerts[0].evidence.get("peak_rate"), Some(&Value::U64(510)));
    }

    #[test]
    fn a_second_episode_after_a_pause_is_reported_again() {
        let mut s = Scenario::new();
        clock(&mut s, 40);
        flood(&mut s, "10.77.0.66:40000", "10.77.0.12:7078", 2, 3, 1000, true);
        flood(&mut s, "10.77.0.66:40000", "10.77.0.12:7078", 20, 3, 1000, true);
        let alerts = s.run(RtpFlood::new(&Config::default()));
        let phases: Vec<_> = alerts.iter().filter_map(|a| text(a, "phase")).collect();
        assert_eq!(phases, ["started", "ended", "started", "ended"], "{alerts:#?}");
    }

    #[test]
    fn a_flood_ending_with_the_input_is_still_judged() {
        let mut s = Scenario::new();
        clock(&mut s, 3);
        // Seconds 2 and 3; the report of second 3 comes with the end of input.
        flood(&mut s, "10.77.0.66:40000", "10.77.0.12:7078", 2, 2, 1000, true);
        let alerts = s.run(RtpFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
    }

    #[test]
    fn openings_reported_by_several_workers_add_up_and_a_spoofed_flood_names_no_source() {
        let mut s = Scenario::new();
        clock(&mut s, 30);
        let base = Scenario::BASE_NANOS / 1_000_000_000;
        for i in 2..6u64 {
            // Four workers' shares of 600 openings a second from spoofed sources; each share alone is small.
            for w in 0..4u64 {
                s.at_ms(
                    (i + 1) * 1000,
                    Payload::UdpRate(UdpRate {
                        src: "172.16.0.1:1234".parse().unwrap(),
                        dst: "10.77.0.12:30004".parse().unwrap(),
                        sec: base + i,
                        packets: 150,
                        bytes: 150 * 160,
                        rtp: false,
                        sip: false,
                        opened: 150,
                        single_source: false,
                        flow_id: i * 10 + w,
                    }),
                );
            }
        }
        let alerts = s.run(RtpFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, None);
        assert_eq!(a.dest_port, Some(30004));
        assert_eq!(a.evidence.get("peak_rate"), Some(&Value::U64(600)));
        assert_eq!(a.evidence.get("flows"), Some(&Value::U64(600)));
        // The same openings to a SIP port are sip-flood's business (what they carried is not known).
        let mut s2 = Scenario::new();
        clock(&mut s2, 30);
        for i in 2..6u64 {
            let mut r = report("172.16.0.1:1234", "10.77.0.1:5060", base + i, 900, false, i);
            if let Payload::UdpRate(u) = &mut r {
                u.opened = 900;
            }
            s2.at_ms((i + 1) * 1000, r);
        }
        assert!(s2.run(RtpFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_flood_of_many_targets_costs_a_capped_table() {
        let cfg = Config { max_targets: 64, ..Config::default() };
        let mut s = Scenario::new();
        clock(&mut s, 10);
        let base = Scenario::BASE_NANOS / 1_000_000_000;
        for i in 0..1000u64 {
            let [_, _, a, b] = u32::try_from(i).unwrap().to_be_bytes();
            let dst = format!("10.9.{a}.{b}:7078");
            s.at_ms(3000, report("10.77.0.66:40000", &dst, base + 2, 500, true, i));
        }
        s.run(RtpFlood::new(&cfg));
        let mut d = RtpFlood::new(&cfg);
        let mut out = Vec::new();
        for i in 0..1000u64 {
            let [_, _, a, b] = u32::try_from(i).unwrap().to_be_bytes();
            let ts = PacketTime::from_secs(100);
            let dst = format!("10.9.{a}.{b}:7078");
            let ev = Event { seq: i, ts, payload: report("10.77.0.66:40000", &dst, 99, 500, true, i) };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let t = d.targets.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
        // An idle table empties in packet time.
        let mut cx = Context::new(PacketTime::from_secs(1000), &mut out);
        d.on_tick(PacketTime::from_secs(1000), &mut cx);
        assert_eq!(d.targets.stats().len, 0);
    }
}
