//! `rtp-injection` (sid 2005): RTP with an active stream's SSRC arriving at its receiver from another source
//! address, interleaved with the real sender's packets (rtpinsertsound, rtpmixsound, scapy), or taking the
//! stream over from another network with nothing in the signalling to explain it.
//!
//! # What raises it
//! Workers report each RTP stream keyed by sender, receiver and SSRC; injected packets come from another address,
//! so they form a stream of their own with the same receiver and SSRC (possibly on another worker). The detector
//! groups streams by (receiver address and port, SSRC) and keeps, per group, each source address with the
//! interval between its first and last packet (from [`RtpStart`] and [`RtpEnd`]; the parts of a stream split at a
//! sequence restart count as one source). A later source is judged against each earlier one:
//! - **Interleaved**: the two intervals overlap by `min_overlap_ms` or more. Two senders with one SSRC into one
//!   port at once is never one endpoint's behaviour: one of them is forging the other's stream. Severity High.
//! - **Takeover**: the earlier source stopped before the later one started (overlap under `min_overlap_ms`).
//!   That is how legitimate changes look (a NAT rebinding, a re-INVITE, an ICE restart), so it is reported only
//!   when nothing explains it: the new source is in another network (`ipv4_prefix`/`ipv6_prefix`) than the old
//!   one, the calls do not name it (the stream is not tied to a call, or tied by its receiver only: `foreign`,
//!   see [`crate::calls::StreamView`]) and no STUN (ICE) was seen on its address pair. Severity Medium.
//!
//! A new source the signalling explains (tied to its call and not foreign: a re-INVITE or the SDP named it), or
//! that ran ICE checks (STUN on its 5-tuple), is never reported. Two sources whose streams start and end within
//! `copy_tolerance_ms` of each other with the same number of packets are one stream seen twice on either side of
//! an address translator on a SPAN, not an injection. (Frames relayed by a man in the middle keep their IP
//! source: they are one stream to the workers and never reach this detector as two.)
//!
//! # When it is decided
//! The last packet of a running stream is known only when it ends (10 s after its last packet, or at the end of
//! the input), but a stream that is still running at engine time `t` sent a packet after
//! `t - MEDIA_WAIT_SECS`. The pair is decided as soon as its overlap is known exactly (the earlier-ending of the
//! two has ended, and the other one is known to have gone on at least as long): at the injected stream's end
//! for a burst into a running call (about 10 s after the burst), at once for a takeover after the old source
//! ended. While both still run, the pair is reported once the overlap proven so far reaches `min_overlap_ms`
//! (about 12 s after the second source started), with the overlap as a lower bound and `ongoing` set. Groups
//! with an undecided pair are re-examined once a second.
//!
//! The injected packets reach the receiver, which may answer or echo them to the injector's address: that is the
//! receiver's own stream to another destination (another group), never a second source.
//!
//! # Evidence
//! `reason` (`interleaved` or `takeover`), `ssrc`, `legitimate_ip` and `legitimate_port` (the other source),
//! `call_id` (when a call explains either stream), `packets` and `legitimate_packets` (when known), `overlap_ms`
//! (interleaved) or `gap_ms` (takeover: from the old source's last packet to the new one's first), `ongoing`
//! (the injection was still running when reported), `foreign` (the calls tie the injected stream to a call by
//! its receiver only). `src_ip` is the injecting source, `dest_ip` the receiver.
//!
//! # False positives and tuning
//! A media relay or SBC that switches a stream between two of its own addresses from different networks without
//! signalling it is reported as a takeover; a sender that duplicates its stream over two networks on purpose
//! (some redundancy schemes) as interleaved. An injector that forges the real sender's address and port too
//! makes no second stream: the workers see one stream with sequence jumps and duplicates, which this detector
//! does not judge. Groups are remembered at most `max_groups` at once and for `idle_secs` without news of their
//! streams; at most [`MAX_SOURCES`] sources per group (more are ignored).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::calls::MEDIA_WAIT_SECS;
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, RtpEnd, RtpStart, StreamEnd, StreamKey};
use crate::net::network;
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2005,
    slug: "rtp-injection",
    category: Category::Mitm,
    severity: Severity::High,
    signature: "RTP with an active stream's SSRC from another source address",
};

/// Source addresses kept per (receiver, SSRC): the real sender, a rebinding or two, an injector.
pub const MAX_SOURCES: usize = 4;

/// Settings, `[detectors.rtp-injection]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Two sources overlapping this long are interleaved (10 packets at 20 ms; a clean handover overlaps by the
    /// packets in flight, a few tens of ms).
    pub min_overlap_ms: u64,
    /// Two sources whose first and last packets are this close, with as many packets, are one stream seen on
    /// both sides of a NAT.
    pub copy_tolerance_ms: u64,
    /// A source ended longer than this before another starts is unrelated to it (not taken over).
    pub takeover_window_secs: u64,
    /// Prefix length of "the same network" for IPv4 takeovers.
    pub ipv4_prefix: u8,
    /// Prefix length of "the same network" for IPv6 takeovers.
    pub ipv6_prefix: u8,
    /// Cap on (receiver, SSRC) groups.
    pub max_groups: usize,
    /// A group with no stream starting or ending for this long is forgotten (a call longer than this with no
    /// stream change is judged afresh after it).
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            min_overlap_ms: 200,
            copy_tolerance_ms: 50,
            takeover_window_secs: 30,
            ipv4_prefix: 24,
            ipv6_prefix: 64,
            max_groups: 65_536,
            idle_secs: 14_400,
        }
    }
}

/// A group: one receiver address and port, one SSRC.
type GroupKey = (SocketAddr, u32);

/// One source address of a group.
#[derive(Debug, Clone)]
struct Source {
    src: SocketAddr,
    /// Capture sequence number of its first packet (orders sources that start in the same instant).
    first_seq: u64,
    first: PacketTime,
    /// The latest of its packets known to have been sent (a start's time, an end's last packet).
    seen: PacketTime,
    /// Parts started and not ended.
    open: u32,
    /// Parts ended at a sequence restart whose next part has not started yet (still running).
    restarting: u32,
    /// Last packet of the parts that ended.
    last: PacketTime,
    /// Packets of the parts that ended.
    packets: u64,
    call_id: Option<Box<str>>,
    foreign: bool,
    stun: bool,
    /// Judged against every earlier source.
    judged: bool,
    /// Reported as an injector.
    reported: bool,
}

impl Source {
    fn ended(&self) -> bool {
        self.open == 0 && self.restarting == 0
    }

    /// A lower bound of its last packet's time at engine time `now` (exact once it has ended).
    fn last_bound(&self, now: PacketTime) -> PacketTime {
        if self.ended() {
            self.last
        } else {
            let alive = PacketTime::from_nanos(
                now.as_nanos()
                    .saturating_sub(MEDIA_WAIT_SECS.saturating_mul(1_000_000_000)),
            );
            self.seen.max(alive)
        }
    }

    /// Tied to a call whose parties include this address (an SDP or the SIP path names it), or ICE checked it.
    fn explained(&self) -> bool {
        (self.call_id.is_some() && !self.foreign) || self.stun
    }
}

#[derive(Debug, Clone, Default)]
struct Group {
    /// In the order their first packets came.
    sources: Vec<Source>,
}

/// How a pair of sources is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Benign,
    Undecided,
    Interleaved { overlap_ns: u64, exact: bool },
    Takeover { gap_ns: u64 },
}

/// The detector.
#[derive(Debug)]
pub struct RtpInjection {
    cfg: Config,
    groups: BoundedMap<GroupKey, Group>,
    /// Groups with a source not judged yet (examined once a second).
    pending: BoundedMap<GroupKey, ()>,
    /// Groups whose every source has ended: dropped once `takeover_window_secs` passed without a new one.
    ended: BoundedMap<GroupKey, ()>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl RtpInjection {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let idle = Duration::from_secs(cfg.idle_secs);
        Self {
            cfg: cfg.clone(),
            groups: BoundedMap::new(cfg.max_groups, idle),
            pending: BoundedMap::new(cfg.max_groups, idle),
            ended: BoundedMap::new(cfg.max_groups, Duration::from_secs(cfg.takeover_window_secs)),
        }
    }

    fn on_start(&mut self, s: &RtpStart, now: PacketTime, cx: &mut Context<'_>) {
        let gk = (s.key.dst, s.key.ssrc);
        let view = cx.calls().and_then(|c| c.stream(&s.key, s.first_seq));
        let call_id = view.as_ref().and_then(|v| v.call_id).map(Into::into);
        let foreign = view.as_ref().is_some_and(|v| v.foreign);
        let window = Duration::from_secs(self.cfg.takeover_window_secs);
        self.ended.remove(&gk);
        let g = self.groups.get_or_insert_with(gk, now, Group::default);
        // Sources that ended long before this one started are unrelated to it (the same address coming back
        // after that starts afresh: its old interval would span what happened in between).
        g.sources
            .retain(|o| !o.ended() || s.first.since(o.last) <= window);
        if let Some(o) = g.sources.iter_mut().find(|o| o.src == s.key.src) {
            o.restarting = o.restarting.saturating_sub(1);
            o.open = o.open.saturating_add(1);
            o.seen = o.seen.max(now);
            o.stun |= s.evidence.stun;
            if o.call_id.is_none() {
                o.call_id = call_id;
                o.foreign = foreign;
            }
            return;
        }
        if g.sources.len() >= MAX_SOURCES {
            // Room only by forgetting a source that is over with.
            let Some(i) = g.sources.iter().position(|o| o.ended() && o.judged) else {
                return;
            };
            g.sources.remove(i);
        }
        let new = Source {
            src: s.key.src,
            first_seq: s.first_seq,
            first: s.first,
            seen: now.max(s.first),
            open: 1,
            restarting: 0,
            last: s.first,
            packets: 0,
            call_id,
            foreign,
            stun: s.evidence.stun,
            judged: false,
            reported: false,
        };
        let at = g
            .sources
            .iter()
            .position(|o| (o.first, o.first_seq) > (new.first, new.first_seq))
            .unwrap_or(g.sources.len());
        // A source that turns out to be earlier than some already judged: judge those again.
        for o in g.sources.iter_mut().skip(at) {
            o.judged = false;
        }
        g.sources.insert(at, new);
        if let Some(first) = g.sources.first_mut() {
            first.judged = true;
        }
        if g.sources.len() > 1 {
            self.pending.insert(gk, (), now);
            self.examine(gk, now, cx);
        }
    }

    fn on_end(&mut self, e: &RtpEnd, now: PacketTime, cx: &mut Context<'_>) {
        let gk = (e.key.dst, e.key.ssrc);
        let Some(g) = self.groups.get_mut(&gk, now) else {
            return;
        };
        let Some(o) = g.sources.iter_mut().find(|o| o.src == e.key.src) else {
            return;
        };
        o.packets = o.packets.saturating_add(e.summary.packets);
        o.last = o.last.max(e.summary.last);
        o.seen = o.seen.max(e.summary.last);
        o.stun |= e.evidence.stun;
        if e.reason == StreamEnd::Restart {
            // The sender goes on with new sequence numbers: the next part's start follows.
            o.restarting = o.restarting.saturating_add(1);
        }
        o.open = o.open.saturating_sub(1);
        if o.call_id.is_none()
            && let Some(v) = cx.calls().and_then(|c| c.stream(&e.key, e.first_seq))
        {
            o.call_id = v.call_id.map(Into::into);
            o.foreign = v.foreign;
        }
        if g.sources.iter().all(Source::ended) {
            self.ended.insert(gk, (), now);
        }
        if self.pending.get(&gk).is_some() {
            self.examine(gk, now, cx);
        }
    }

    /// Judges source `n` against the earlier source `o` at engine time `now`.
    fn verdict(&self, n: &Source, o: &Source, now: PacketTime) -> Verdict {
        let (n_last, o_last) = (n.last_bound(now), o.last_bound(now));
        // The overlap is exact when the one that stops first has ended and the other went on at least as long.
        let exact = (n.ended() && n.last <= o_last) || (o.ended() && o.last <= n_last);
        let start = n.first.max(o.first);
        let stop = n_last.min(o_last);
        if n.explained() {
            return Verdict::Benign;
        }
        let tol = Duration::from_millis(self.cfg.copy_tolerance_ms);
        let close = |a: PacketTime, b: PacketTime| a.since(b).max(b.since(a)) <= tol;
        if close(n.first, o.first) {
            if !(n.ended() && o.ended()) {
                return Verdict::Undecided;
            }
            let (a, b) = (n.packets.max(o.packets), n.packets.min(o.packets));
            if close(n.last, o.last) && a - b <= (a / 50).max(2) {
                return Verdict::Benign;
            }
        }
        let overlap_ns = nanos(stop.since(start));
        if stop > start && overlap_ns >= self.cfg.min_overlap_ms.saturating_mul(1_000_000) {
            // Both still running: nothing better to wait for. One ended: wait until the overlap is exact.
            return if exact || (!n.ended() && !o.ended()) {
                Verdict::Interleaved { overlap_ns, exact }
            } else {
                Verdict::Undecided
            };
        }
        if !exact {
            return Verdict::Undecided;
        }
        // A takeover: the earlier source stopped, the later one went on. A short burst inside a stream that
        // goes on is under the threshold, not a takeover.
        if !(o.ended() && o.last <= n_last) {
            return Verdict::Benign;
        }
        let (v4, v6) = (self.cfg.ipv4_prefix, self.cfg.ipv6_prefix);
        let other_call = matches!((&n.call_id, &o.call_id), (Some(a), Some(b)) if a != b);
        if other_call || network(n.src.ip(), v4, v6) == network(o.src.ip(), v4, v6) {
            return Verdict::Benign;
        }
        Verdict::Takeover {
            gap_ns: nanos(n.first.since(o.last)),
        }
    }

    /// Judges the sources of group `gk` not judged yet; raises what is proven.
    fn examine(&mut self, gk: GroupKey, now: PacketTime, cx: &mut Context<'_>) {
        let Some(g) = self.groups.get(&gk) else {
            self.pending.remove(&gk);
            return;
        };
        let mut raise: Vec<(usize, usize, Verdict)> = Vec::new();
        let mut judged: Vec<usize> = Vec::new();
        for (i, n) in g.sources.iter().enumerate() {
            if n.judged {
                continue;
            }
            let mut settled = true;
            for (j, o) in g.sources.iter().enumerate().take(i) {
                if o.src == n.src {
                    continue;
                }
                match self.verdict(n, o, now) {
                    Verdict::Benign => {}
                    Verdict::Undecided => settled = false,
                    v => {
                        // The later source is the injector: an explained one is never judged guilty.
                        raise.push((i, j, v));
                        break;
                    }
                }
            }
            if settled {
                judged.push(i);
            }
        }
        let mut reported = Vec::new();
        for (inj, legit, v) in raise {
            let (Some(a), Some(b)) = (g.sources.get(inj), g.sources.get(legit)) else {
                continue;
            };
            if !a.reported {
                cx.raise(Self::alert(gk, a, b, v, now));
                reported.push(inj);
            }
            judged.push(inj);
        }
        let Some(g) = self.groups.get_mut(&gk, now) else {
            return;
        };
        for i in reported {
            if let Some(s) = g.sources.get_mut(i) {
                s.reported = true;
            }
        }
        for i in judged {
            if let Some(s) = g.sources.get_mut(i) {
                s.judged = true;
            }
        }
        if g.sources.iter().all(|s| s.judged) {
            self.pending.remove(&gk);
        }
    }

    fn alert(gk: GroupKey, inj: &Source, legit: &Source, v: Verdict, now: PacketTime) -> Alert {
        let (dst, ssrc) = gk;
        let key = StreamKey {
            src: inj.src,
            dst,
            ssrc,
        };
        let ms = |ns: u64| Value::U64(ns / 1_000_000);
        let mut a = Alert::new(&META, now)
            .src(Some(key.src.ip()), Some(key.src.port()))
            .dest(Some(dst.ip()), Some(dst.port()))
            .proto(Proto::Udp)
            .key(format!("{dst}/{ssrc:08x}/{}", inj.src))
            .evidence(
                "reason",
                Value::Str(match v {
                    Verdict::Takeover { .. } => "takeover".into(),
                    _ => "interleaved".into(),
                }),
            )
            .evidence("ssrc", Value::Str(format!("0x{ssrc:08x}")))
            .evidence("legitimate_ip", Value::Ip(legit.src.ip()))
            .evidence("legitimate_port", Value::U64(u64::from(legit.src.port())));
        if let Some(c) = inj.call_id.as_ref().or(legit.call_id.as_ref()) {
            a = a.evidence("call_id", Value::Str(c.to_string()));
        }
        if inj.ended() {
            a = a.evidence("packets", Value::U64(inj.packets));
        }
        if legit.ended() {
            a = a.evidence("legitimate_packets", Value::U64(legit.packets));
        }
        match v {
            Verdict::Takeover { gap_ns } => {
                a = a.severity(Severity::Medium).evidence("gap_ms", ms(gap_ns));
            }
            Verdict::Interleaved { overlap_ns, .. } => a = a.evidence("overlap_ms", ms(overlap_ns)),
            Verdict::Benign | Verdict::Undecided => {}
        }
        a.evidence("ongoing", Value::Bool(!inj.ended()))
            .evidence("foreign", Value::Bool(inj.foreign))
    }
}

impl Detector for RtpInjection {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Rtp)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let now = cx.now();
        match &ev.payload {
            Payload::RtpStart(s) => self.on_start(s, now, cx),
            Payload::RtpEnd(e) => self.on_end(e, now, cx),
            _ => {}
        }
    }

    fn on_tick(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        let mut keys: Vec<GroupKey> = self.pending.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        for k in keys {
            self.examine(k, now, cx);
        }
        let mut gone = Vec::new();
        self.ended.expire_with(now, |k, ()| gone.push(k));
        for k in gone {
            if self
                .groups
                .get(&k)
                .is_some_and(|g| g.sources.iter().all(Source::ended))
            {
                self.groups.remove(&k);
                self.pending.remove(&k);
            }
        }
        self.groups.expire(now);
        self.pending.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![
            ("groups", self.groups.stats()),
            ("pending", self.pending.stats()),
            ("ended", self.ended.stats()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{MediaEvidence, MediaSeen, RtpSummary};
    use crate::testkit::{Scenario, Sip, media};

    const SSRC: u32 = 0x0ca1_1ab5;
    const CALLER_RTP: &str = "10.0.0.11:16000";
    const CALLEE_RTP: &str = "10.0.0.12:20000";
    const ATTACKER_RTP: &str = "192.0.2.66:16000";

    fn key(src: &str, dst: &str) -> StreamKey {
        StreamKey {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ssrc: SSRC,
        }
    }

    fn ms(t: u64) -> PacketTime {
        PacketTime::from_nanos(Scenario::BASE_NANOS + t * 1_000_000)
    }

    fn at(addr: &str, port: u16) -> Vec<MediaSeen> {
        let mut m = media("RTP/AVP", port);
        m.addr = Some(addr.parse().unwrap());
        vec![m]
    }

    /// A call 10.0.0.11 -> 10.0.0.12 whose SDPs name 10.0.0.11:16000 and 10.0.0.12:20000.
    fn call(s: &mut Scenario) {
        s.at_ms(0, Sip::request("INVITE", "10.0.0.11:5060", "10.0.0.12:5060").sdp(at("10.0.0.11", 16000)).payload());
        s.at_ms(5, Sip::response(200, "INVITE", "10.0.0.12:5060", "10.0.0.11:5060").sdp(at("10.0.0.12", 20000)).payload());
    }

    /// A stream from `first` to `last` (ms), `packets` packets, its start reported 300 ms after its first packet
    /// and its end at `end_at` with `reason`.
    #[expect(clippy::too_many_arguments, reason = "a test helper spelling out a stream")]
    fn stream(
        s: &mut Scenario,
        k: StreamKey,
        first_seq: u64,
        first: u64,
        last: u64,
        packets: u64,
        end_at: u64,
        reason: StreamEnd,
    ) {
        stream_with(s, k, first_seq, (first, last, packets, end_at), reason, MediaEvidence::default());
    }

    fn stream_with(
        s: &mut Scenario,
        k: StreamKey,
        first_seq: u64,
        (first, last, packets, end_at): (u64, u64, u64, u64),
        reason: StreamEnd,
        evidence: MediaEvidence,
    ) {
        let start = RtpStart {
            key: k,
            first_seq,
            first: ms(first),
            payload_type: 0,
            evidence,
        };
        s.at_ms((first + 300).min(end_at), Payload::RtpStart(Box::new(start)));
        let summary = RtpSummary {
            payload_type: 0,
            payload_type_changes: 0,
            packets,
            payload_bytes: packets * 160,
            first: ms(first),
            last: ms(last),
            expected: packets,
            lost: 0,
            duplicates: 0,
            out_of_order: 0,
            seq_resets: 0,
            clock_rate: 8000,
            jitter_ms: 0.1,
            max_jitter_ms: 0.5,
            mean_jitter_ms: 0.1,
            max_delta_ms: 21.0,
            mean_delta_ms: 20.0,
        };
        let end = RtpEnd {
            key: k,
            first_seq,
            reason,
            summary,
            evidence,
        };
        s.at_ms(end_at, Payload::RtpEnd(Box::new(end)));
    }

    /// Runs `s` with a clock marker every second, as the dispatcher injects them.
    fn run(s: &Scenario) -> Vec<Alert> {
        let mut s = s.clone();
        for sec in 1..=90 {
            s.at_ms(sec * 1000, Payload::Clock);
        }
        s.run(RtpInjection::new(&Config::default()))
    }

    #[test]
    fn a_burst_with_the_callers_ssrc_from_another_address_is_one_alert_and_its_echo_none() {
        // As in lab-rtp-injection: the input ends while every stream runs; the ends come by first packet.
        let mut s = Scenario::new();
        call(&mut s);
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 8000, 400, 9000, StreamEnd::CaptureEnd);
        stream(&mut s, key(CALLEE_RTP, CALLER_RTP), 11, 100, 8000, 400, 9000, StreamEnd::CaptureEnd);
        stream(&mut s, key(ATTACKER_RTP, CALLEE_RTP), 500, 3000, 3980, 50, 9000, StreamEnd::CaptureEnd);
        stream(&mut s, key(CALLEE_RTP, ATTACKER_RTP), 501, 3000, 3980, 50, 9000, StreamEnd::CaptureEnd);
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("192.0.2.66".parse().unwrap()));
        assert_eq!((a.dest_ip, a.dest_port), (Some("10.0.0.12".parse().unwrap()), Some(20000)));
        assert_eq!(a.severity, Severity::High);
        let ev = |k| a.evidence.get(k).cloned();
        assert_eq!(ev("reason"), Some(Value::Str("interleaved".into())));
        assert_eq!(ev("ssrc"), Some(Value::Str("0x0ca11ab5".into())));
        assert_eq!(ev("legitimate_ip"), Some(Value::Ip("10.0.0.11".parse().unwrap())));
        assert_eq!(ev("call_id"), Some(Value::Str("call-1".into())));
        assert_eq!(ev("packets"), Some(Value::U64(50)));
        assert_eq!(ev("overlap_ms"), Some(Value::U64(980)));
        assert_eq!(ev("ongoing"), Some(Value::Bool(false)));
        assert_eq!(ev("foreign"), Some(Value::Bool(true)));
    }

    #[test]
    fn a_burst_into_a_running_call_is_reported_about_twelve_seconds_after_it_stops() {
        let mut s = Scenario::new();
        call(&mut s);
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 60_000, 3000, 70_000, StreamEnd::Idle);
        stream(&mut s, key(ATTACKER_RTP, CALLEE_RTP), 500, 3000, 3980, 50, 14_500, StreamEnd::Idle);
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert!(alerts[0].ts >= ms(15_980) && alerts[0].ts <= ms(17_000), "{:?}", alerts[0].ts);
        assert_eq!(alerts[0].evidence.get("overlap_ms"), Some(&Value::U64(980)));
        assert_eq!(alerts[0].evidence.get("packets"), Some(&Value::U64(50)));
        assert_eq!(alerts[0].evidence.get("legitimate_packets"), None);
    }

    #[test]
    fn a_long_injection_is_reported_while_it_runs_once() {
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 60_000, 3000, 70_000, StreamEnd::Idle);
        stream(&mut s, key(ATTACKER_RTP, CALLEE_RTP), 500, 3000, 60_000, 2850, 70_000, StreamEnd::Idle);
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert!(a.ts >= ms(15_200) && a.ts < ms(17_000), "{:?}", a.ts);
        assert_eq!(a.evidence.get("ongoing"), Some(&Value::Bool(true)));
        // No call: nothing ties either stream, and the injector is the later one.
        assert_eq!(a.src_ip, Some("192.0.2.66".parse().unwrap()));
        assert_eq!(a.evidence.get("call_id"), None);
    }

    #[test]
    fn a_clean_takeover_is_silent_in_the_same_network_and_reported_from_another() {
        // A NAT rebinding: the same network, new port, after the old one stopped.
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 15_500, StreamEnd::Idle);
        stream(&mut s, key("10.0.0.11:40000", CALLEE_RTP), 500, 5020, 9000, 200, 19_500, StreamEnd::Idle);
        assert!(run(&s).is_empty());
        // From another network, with no signalling: decided when the old stream ends.
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 15_500, StreamEnd::Idle);
        stream(&mut s, key(ATTACKER_RTP, CALLEE_RTP), 500, 5020, 30_000, 1250, 40_500, StreamEnd::Idle);
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.ts, ms(15_500));
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.evidence.get("reason"), Some(&Value::Str("takeover".into())));
        assert_eq!(a.evidence.get("gap_ms"), Some(&Value::U64(20)));
        assert_eq!(a.evidence.get("ongoing"), Some(&Value::Bool(true)));
        // Long after the old stream ended, a new source is unrelated to it.
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 15_500, StreamEnd::Idle);
        stream(&mut s, key(ATTACKER_RTP, CALLEE_RTP), 500, 60_000, 70_000, 500, 80_500, StreamEnd::Idle);
        assert!(run(&s).is_empty());
    }

    #[test]
    fn a_reinvite_or_ice_explains_a_new_source() {
        // The caller moves its media to 198.51.100.7 with a re-INVITE: the new stream is tied to the call.
        let mut s = Scenario::new();
        call(&mut s);
        let re = Sip::request("INVITE", "10.0.0.11:5060", "10.0.0.12:5060").cseq(2).tags("caller", Some("callee"));
        s.at_ms(4900, re.sdp(at("198.51.100.7", 16000)).payload());
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 15_500, StreamEnd::Idle);
        stream(&mut s, key("198.51.100.7:16000", CALLEE_RTP), 500, 5020, 9000, 200, 19_500, StreamEnd::Idle);
        assert!(run(&s).is_empty());
        // ICE: STUN on the new pair, even overlapping for a while.
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 15_500, StreamEnd::Idle);
        let stun = MediaEvidence {
            stun: true,
            ..MediaEvidence::default()
        };
        let k = key("198.51.100.7:50000", CALLEE_RTP);
        stream_with(&mut s, k, 500, (4000, 9000, 250, 19_500), StreamEnd::Idle, stun);
        assert!(run(&s).is_empty());
    }

    #[test]
    fn one_stream_seen_on_both_sides_of_a_nat_is_not_two_sources() {
        let mut s = Scenario::new();
        stream(&mut s, key("192.168.1.11:16000", CALLEE_RTP), 10, 100, 8000, 400, 18_500, StreamEnd::Idle);
        stream(&mut s, key("203.0.113.1:31000", CALLEE_RTP), 11, 101, 8001, 400, 18_500, StreamEnd::Idle);
        assert!(run(&s).is_empty());
    }

    #[test]
    fn a_sequence_restart_of_one_source_is_one_source() {
        // The caller restarts its sequence numbers; the new part's start comes 300 ms later. A second source
        // from another network starting in that gap is not a takeover of an ended stream.
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 5020, StreamEnd::Restart);
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 600, 5020, 9000, 200, 19_500, StreamEnd::Idle);
        assert!(run(&s).is_empty());
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 5020, StreamEnd::Restart);
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 600, 5020, 9000, 200, 19_500, StreamEnd::Idle);
        stream(&mut s, key(ATTACKER_RTP, CALLEE_RTP), 550, 5021, 6000, 50, 16_500, StreamEnd::Idle);
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("reason"), Some(&Value::Str("interleaved".into())));
    }

    #[test]
    fn a_source_back_after_the_takeover_window_starts_afresh() {
        // A phone's stream, another source much later, then the first phone again: its new stream does not
        // stretch its old interval over the second source.
        let mut s = Scenario::new();
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 10, 100, 5000, 250, 15_500, StreamEnd::Idle);
        stream(&mut s, key("10.0.0.13:16000", CALLEE_RTP), 500, 40_000, 45_000, 250, 55_500, StreamEnd::Idle);
        stream(&mut s, key(CALLER_RTP, CALLEE_RTP), 900, 46_000, 50_000, 200, 60_500, StreamEnd::Idle);
        assert!(run(&s).is_empty());
    }

    #[test]
    fn tables_stay_bounded_and_ended_groups_go() {
        let cfg = Config {
            max_groups: 64,
            ..Config::default()
        };
        let mut d = RtpInjection::new(&cfg);
        let mut out = Vec::new();
        for i in 0..2_000u16 {
            let t = ms(u64::from(i));
            let k = StreamKey {
                src: "192.0.2.9:4000".parse().unwrap(),
                dst: SocketAddr::from(([10, 0, 0, 12], i)),
                ssrc: u32::from(i),
            };
            let ev = Event {
                seq: u64::from(i),
                ts: t,
                payload: Payload::RtpStart(Box::new(RtpStart {
                    key: k,
                    first_seq: u64::from(i),
                    first: t,
                    payload_type: 0,
                    evidence: MediaEvidence::default(),
                })),
            };
            let mut cx = Context::new(t, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let t = d.groups.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
        assert!(out.is_empty());
        // A group whose only stream ended goes once the takeover window has passed.
        let mut d = RtpInjection::new(&Config::default());
        let k = key(CALLER_RTP, CALLEE_RTP);
        let start = RtpStart {
            key: k,
            first_seq: 1,
            first: ms(0),
            payload_type: 0,
            evidence: MediaEvidence::default(),
        };
        let mut out = Vec::new();
        let ev = Event { seq: 1, ts: ms(300), payload: Payload::RtpStart(Box::new(start)) };
        d.on_event(&ev, &mut Context::new(ms(300), &mut out));
        assert_eq!(d.groups.len(), 1);
        let end = RtpEnd {
            key: k,
            first_seq: 1,
            reason: StreamEnd::Idle,
            summary: RtpSummary {
                payload_type: 0,
                payload_type_changes: 0,
                packets: 250,
                payload_bytes: 40_000,
                first: ms(0),
                last: ms(5000),
                expected: 250,
                lost: 0,
                duplicates: 0,
                out_of_order: 0,
                seq_resets: 0,
                clock_rate: 8000,
                jitter_ms: 0.0,
                max_jitter_ms: 0.0,
                mean_jitter_ms: 0.0,
                max_delta_ms: 20.0,
                mean_delta_ms: 20.0,
            },
            evidence: MediaEvidence::default(),
        };
        let ev = Event { seq: 2, ts: ms(15_500), payload: Payload::RtpEnd(Box::new(end)) };
        d.on_event(&ev, &mut Context::new(ms(15_500), &mut out));
        d.on_tick(ms(40_000), &mut Context::new(ms(40_000), &mut out));
        assert_eq!(d.groups.len(), 1, "kept within the takeover window");
        d.on_tick(ms(46_000), &mut Context::new(ms(46_000), &mut out));
        assert_eq!(d.groups.len(), 0);
        assert_eq!(d.ended.len(), 0);
    }
}
