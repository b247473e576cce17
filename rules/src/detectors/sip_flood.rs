//! `sip-flood` (sid 3001): one source sends, or one target receives, SIP requests of one method at a rate
//! above a threshold for several seconds in a row: the INVITE and REGISTER floods that exhaust a proxy's
//! transaction table or a registrar's database, and OPTIONS floods.
//!
//! # What raises it
//! Requests are counted per second of packet time by method class (INVITE, REGISTER, OPTIONS, every other
//! method together; ACK is not counted: it belongs to its INVITE's transaction and follows it one for one),
//! in two views: per source address, and per target address. Once a second the detector judges the second
//! that just ended:
//! - a key at or above its threshold (`min_rate`, requests per second, per source; `min_rate_target` per
//!   target) for `min_secs` consecutive seconds starts an *episode*: one alert, evidence `phase = "started"`;
//! - an episode whose key stays under the threshold for `end_secs` consecutive seconds ends: a follow-up
//!   alert, `phase = "ended"`, with the total requests, the duration and the peak rate. An episode still
//!   running at the end of input has no follow-up.
//!
//! **Calls that ring are a trunk, not a flood.** An INVITE flood is answered 404, 403, 486, 503 or not at all;
//! a carrier trunk or SBC peer at its busy hour sends as many INVITEs a second, and most of its calls ring or
//! are answered; its BYEs, CANCELs and PRACKs follow its calls one for one and are answered 200, where a flood
//! of them (random dialogs) is answered 481. So for INVITE and the other methods, each view also counts the
//! transactions that were *served*: an INVITE answered 180-189 or 2xx, another method answered 2xx (once per
//! transaction, matched on the top Via branch; 100 Trying says nothing, and a 401/407 challenge is not
//! service). The share is taken over *settled* requests, those at least [`SETTLE_SECS`] old, so that calls
//! still waiting for their ringing (the post-dial delay through a carrier is a few seconds) do not count as
//! unanswered; both counts are halved every [`SHARE_HALF_LIFE_SECS`] seconds (recent, not lifetime). While a
//! key has no settled request yet, its young ones give the share. Where the share is at least
//! `served_share`, the key is judged against `min_rate_served` instead of its view's threshold. REGISTER and
//! OPTIONS are always judged by volume: a flood of them is answered 200 as readily as honest traffic.
//!
//! A trunk that goes from silence straight to a busy hour (or a sensor started during one) whose calls take
//! over a second to ring raises one short episode, started before any ringing is seen and ended once its
//! calls settle. What the served share misses: a flood of calls that really ring (a phone answering 180 to
//! each), or of MESSAGE/NOTIFY requests the target accepts, between `min_rate` and `min_rate_served` per
//! second. Set `served_share` above 1 to turn it off.
//!
//! A retransmission (a request from the same source, of the same method class, with the top Via branch of
//! a request seen in the last [`TRANSACTION_SECS`]) is the same request again, not a new one, and is not
//! counted: a client retransmitting into a lossy path is not flooding.
//!
//! The suppression key holds the episode's start second and the phase, so the start and end of one episode, and later
//! episodes, all go out. A target episode whose requests come mostly from one source that is itself in an
//! episode of the same method is that source's flood seen from the other side, and is not reported again
//! (the source's alert names the target).
//!
//! # Evidence
//! `scope` (`source` or `target`), `method` (`INVITE`, `REGISTER`, `OPTIONS` or `other`), `phase`
//! (`started` or `ended`), `rate` (mean requests per second over the flooding run, or the whole episode),
//! `peak_rate`, `requests` and `duration_secs` (the run that started it: `min_secs`; or the episode, from
//! its first to its last flooding second); for INVITE and other methods, `served_share`, the recent share of
//! the key's requests that were served (0 for an unanswered or rejected flood). `src_ip` is the source (for a
//! target episode: the source that sent
//! over half of the requests, if one did), `dest_ip` the target (for a source episode: the last one it sent
//! to).
//!
//! # Bounds
//! The two views are [`BoundedMap`]s (`max_sources`, `max_targets`): a flood from a million spoofed sources
//! fills the source table to its cap, evicts the least recently seen eighth at a time (counted), and is
//! still seen whole by the per-target view, which costs one entry per target. Keys idle for `idle_secs` are
//! forgotten. The recent transactions (source, branch, method class) are a third, `max_transactions`, each
//! branch cut to the worker's field length; a flood of distinct branches evicts the oldest, and the worst a
//! full table does is count a late retransmission once more.
//!
//! # Severity
//! **Medium**: a flood degrades service but is loud and leaves no foothold. `severity_high_rate`
//! (requests per second, per episode peak) raises it to High for the started alert when the rate is
//! already that high.
//!
//! # False positives and tuning
//! A registrar after an outage sees every phone re-register at once (a REGISTER storm from many sources to
//! one target): raise `min_rate_target`. Load generators (sipp) in test networks are floods by design. A
//! carrier trunk or SBC peer whose calls ring is judged against `min_rate_served` (lab-busy-trunk-peak: sipp
//! at 150 calls/s through kamailio stays quiet); one whose busy hour is above that, or whose calls mostly
//! fail, can be listed in `allow_sources`, whose requests are not counted in either view.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipTransport};
use crate::net::Network;
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 3001,
    slug: "sip-flood",
    category: Category::Dos,
    severity: Severity::Medium,
    signature: "SIP request flood: one method above a rate for several seconds",
};

/// How long a transaction's branch is remembered to recognise retransmissions: 64*T1, the client
/// transaction timeout (RFC 3261 §17.1.1.2 Timer B, §17.1.2.2 Timer F).
pub const TRANSACTION_SECS: u64 = 32;

/// Half-life of the counts behind the share of served requests, seconds of packet time.
pub const SHARE_HALF_LIFE_SECS: u64 = 8;

/// Age at which a request counts in the share of served requests, seconds: longer than a usual post-dial
/// delay (the time an INVITE takes to ring).
pub const SETTLE_SECS: u64 = 4;

/// [`SETTLE_SECS`] as an array length.
const YOUNG_SLOTS: usize = 4;
const _: () = assert!(YOUNG_SLOTS as u64 == SETTLE_SECS);

/// Settings, `[detectors.sip-flood]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Requests per second of one method from one source that count as flooding.
    pub min_rate: u64,
    /// Requests per second of one method to one target that count as flooding.
    pub min_rate_target: u64,
    /// Consecutive flooding seconds that start an episode (1 to 30).
    pub min_secs: u64,
    /// Consecutive quiet seconds that end an episode (1 to 30).
    pub end_secs: u64,
    /// Peak rate at or above which the started alert is High.
    pub severity_high_rate: u64,
    /// Cap on tracked (source, method) keys.
    pub max_sources: usize,
    /// Cap on tracked (target, method) keys.
    pub max_targets: usize,
    /// Keys idle this long are forgotten.
    pub idle_secs: u64,
    /// Cap on recent transactions remembered to recognise retransmissions.
    pub max_transactions: usize,
    /// Requests per second of INVITE or of the other methods (from one source or to one target) that count
    /// as flooding where at least `served_share` of the key's recent requests were served (an INVITE rang or
    /// was answered, another method answered 2xx): a trunk, not a flood.
    pub min_rate_served: u64,
    /// Share (0 to 1) of recent served requests from which `min_rate_served` applies; above 1: never.
    pub served_share: f64,
    /// Sources whose requests are not counted at all (CIDR prefixes): trusted carrier trunks, SBCs and
    /// proxies whose normal peak is above `min_rate`.
    pub allow_sources: Vec<Network>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            min_rate: 50,
            min_rate_target: 200,
            min_secs: 3,
            end_secs: 5,
            severity_high_rate: 1_000,
            max_sources: 65_536,
            max_targets: 16_384,
            idle_secs: 120,
            max_transactions: 32_768,
            min_rate_served: 300,
            served_share: 0.7,
            allow_sources: Vec::new(),
        }
    }
}

/// The method classes counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Class {
    Invite,
    Register,
    Options,
    Other,
}

impl Class {
    /// The class of a request method; `None` for ACK, which is part of its INVITE transaction.
    fn of(method: &str) -> Option<Self> {
        Some(match method {
            "INVITE" => Class::Invite,
            "REGISTER" => Class::Register,
            "OPTIONS" => Class::Options,
            "ACK" => return None,
            _ => Class::Other,
        })
    }

    /// Whether `status` to a request of this class means the request was served (see the module docs);
    /// never for REGISTER and OPTIONS, which are judged by volume alone.
    fn served_by(self, status: u16) -> bool {
        match self {
            Class::Invite => matches!(status, 180..=189 | 200..=299),
            Class::Other => matches!(status, 200..=299),
            Class::Register | Class::Options => false,
        }
    }

    /// Whether a request of this class can be served at all (INVITE and the other methods).
    fn servable(self) -> bool {
        matches!(self, Class::Invite | Class::Other)
    }

    fn name(self) -> &'static str {
        match self {
            Class::Invite => "INVITE",
            Class::Register => "REGISTER",
            Class::Options => "OPTIONS",
            Class::Other => "other",
        }
    }
}

/// An episode in progress.
#[derive(Debug, Clone)]
struct Episode {
    /// Second of packet time the flooding run began.
    start_sec: u64,
    /// Requests counted in the episode's judged seconds.
    total: u64,
    /// Highest one-second rate.
    peak: u64,
    /// Consecutive quiet seconds so far.
    quiet: u64,
    /// Requests of those quiet seconds: not part of the episode if it ends there.
    quiet_total: u64,
    /// Covered by a source's episode: no alert of its own.
    covered: bool,
}

/// Per-key counters.
#[derive(Debug, Clone)]
struct Counter {
    /// The two latest seconds with requests and their counts, newest last: the engine ticks as soon as
    /// packet time enters a new second, so at most one second is ever waiting to be judged; the second
    /// slot is a margin.
    secs: [(u64, u64); 2],
    /// Last second judged.
    judged: u64,
    /// Consecutive flooding seconds before an episode starts, with their requests.
    run: u64,
    run_total: u64,
    run_peak: u64,
    episode: Option<Episode>,
    /// Last address on the other side, its port, the transport (for the alert's 5-tuple).
    peer: (IpAddr, u16, u16, SipTransport),
    /// Boyer–Moore majority vote over the requests' sources (targets only): the source holding over half of
    /// them, if one does.
    candidate: Option<IpAddr>,
    votes: u64,
    /// Requests from the candidate and in all, halved at each new second (recent, not lifetime, shares): the
    /// check that the candidate really holds the majority.
    from_candidate: u64,
    requests: u64,
    /// The share of requests served (INVITE and other methods).
    service: Service,
}

impl Counter {
    fn new(sec: u64, peer: (IpAddr, u16, u16, SipTransport)) -> Self {
        Self {
            secs: [(0, 0); 2],
            judged: sec.saturating_sub(1),
            run: 0,
            run_total: 0,
            run_peak: 0,
            episode: None,
            peer,
            candidate: None,
            votes: 0,
            from_candidate: 0,
            requests: 0,
            service: Service::new(sec),
        }
    }

    fn add(&mut self, sec: u64) {
        let [older, newest] = &mut self.secs;
        if newest.0 == sec {
            newest.1 += 1;
        } else if newest.0 < sec {
            *older = *newest;
            *newest = (sec, 1);
            self.from_candidate /= 2;
            self.requests /= 2;
        } else if older.0 == sec {
            older.1 += 1;
        }
        self.service.request(sec);
    }

    /// Requests counted in second `sec`.
    fn count(&self, sec: u64) -> u64 {
        self.secs.iter().find(|(s, _)| *s == sec).map_or(0, |(_, n)| *n)
    }

    fn vote(&mut self, src: IpAddr) {
        self.requests += 1;
        if self.candidate == Some(src) {
            self.votes += 1;
            self.from_candidate += 1;
        } else if self.votes == 0 {
            self.candidate = Some(src);
            self.votes = 1;
            self.from_candidate = 1;
        } else {
            self.votes -= 1;
        }
    }

    /// The source of over half of the recent requests, if one is.
    fn majority(&self) -> Option<IpAddr> {
        self.candidate
            .filter(|_| self.from_candidate.saturating_mul(2) > self.requests)
    }
}

/// Requests and how many of them were served, for the share of served requests: the latest
/// [`SETTLE_SECS`] seconds apart (young, still waiting for their answers), older ones summed and halved every
/// [`SHARE_HALF_LIFE_SECS`].
#[derive(Debug, Clone)]
struct Service {
    /// Per second of the young ones, in the slot `second % SETTLE_SECS`: (second, requests, served).
    young: [(u64, u64, u64); YOUNG_SLOTS],
    requests: u64,
    served: u64,
    /// The second of the last halving.
    halved: u64,
}

impl Service {
    fn new(sec: u64) -> Self {
        Self { young: [(0, 0, 0); YOUNG_SLOTS], requests: 0, served: 0, halved: sec }
    }

    /// Moves the seconds at least [`SETTLE_SECS`] old before `sec` into the settled sums, halving these first.
    fn settle(&mut self, sec: u64) {
        let halvings = sec.saturating_sub(self.halved) / SHARE_HALF_LIFE_SECS;
        if halvings > 0 {
            let n = u32::try_from(halvings.min(63)).unwrap_or(63);
            self.requests >>= n;
            self.served >>= n;
            self.halved += halvings * SHARE_HALF_LIFE_SECS;
        }
        for slot in &mut self.young {
            if slot.1 > 0 && slot.0 + SETTLE_SECS <= sec {
                self.requests += slot.1;
                self.served += slot.2;
                *slot = (slot.0, 0, 0);
            }
        }
    }

    /// The slot of second `sec`.
    fn slot(&mut self, sec: u64) -> Option<&mut (u64, u64, u64)> {
        let i = usize::try_from(sec % SETTLE_SECS).ok()?;
        self.young.get_mut(i)
    }

    /// A request in second `sec`.
    fn request(&mut self, sec: u64) {
        self.settle(sec);
        if let Some(slot) = self.slot(sec) {
            if slot.0 != sec {
                *slot = (sec, 0, 0);
            }
            slot.1 += 1;
        }
    }

    /// The request of second `asked` was served.
    fn served(&mut self, asked: u64) {
        match self.slot(asked) {
            Some(slot) if slot.0 == asked && slot.1 > 0 => slot.2 += 1,
            _ => self.served += 1,
        }
    }

    /// The share of settled requests that were served; while none is settled, of the young ones.
    fn share(&self) -> f64 {
        let (requests, served) = if self.requests > 0 {
            (self.requests, self.served)
        } else {
            self.young.iter().fold((0, 0), |(r, s), y| (r + y.1, s + y.2))
        };
        if requests == 0 { 0.0 } else { served.min(requests) as f64 / requests as f64 }
    }
}

/// A recent request, by its transaction.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// The second of packet time it was sent (its retransmissions do not change it).
    sec: u64,
    /// An answer that served it has been counted.
    served: bool,
}

/// What judging a second changed.
#[derive(Debug)]
enum Change {
    Started { start_sec: u64, total: u64, peak: u64 },
    Ended(Episode, u64),
}

/// Which view a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Source,
    Target,
}

/// The detector.
#[derive(Debug)]
pub struct SipFlood {
    cfg: Config,
    sources: BoundedMap<(IpAddr, Class), Counter>,
    targets: BoundedMap<(IpAddr, Class), Counter>,
    /// Recent transactions: (source, top Via branch, method class).
    transactions: BoundedMap<(IpAddr, Box<str>, Class), Sent>,
}

impl SipFlood {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let idle = Duration::from_secs(cfg.idle_secs);
        let mut cfg = cfg.clone();
        cfg.min_secs = cfg.min_secs.clamp(1, 30);
        cfg.end_secs = cfg.end_secs.clamp(1, 30);
        Self {
            sources: BoundedMap::new(cfg.max_sources, idle),
            targets: BoundedMap::new(cfg.max_targets, idle),
            transactions: BoundedMap::new(
                cfg.max_transactions,
                Duration::from_secs(TRANSACTION_SECS),
            ),
            cfg,
        }
    }

    /// Judges every second of `c` before `now`'s.
    fn judge(c: &mut Counter, now: PacketTime, class: Class, min_rate: u64, cfg: &Config) -> Vec<Change> {
        let min_rate = if class.servable() && c.service.share() >= cfg.served_share {
            min_rate.max(cfg.min_rate_served)
        } else {
            min_rate
        };
        let mut out = Vec::new();
        let cur = now.secs();
        let mut s = c.judged + 1;
        while s < cur {
            if c.episode.is_none() && c.run == 0 {
                // Nothing in progress: silent seconds change nothing, go to the next second with requests.
                match c.secs.iter().map(|(t, _)| *t).filter(|t| *t >= s && *t < cur).min() {
                    Some(t) => s = t,
                    None => break,
                }
            }
            let n = c.count(s);
            let flooding = n >= min_rate;
            if let Some(ep) = &mut c.episode {
                ep.total += n;
                ep.peak = ep.peak.max(n);
                if flooding {
                    ep.quiet = 0;
                    ep.quiet_total = 0;
                } else {
                    ep.quiet += 1;
                    ep.quiet_total += n;
                    if ep.quiet >= cfg.end_secs {
                        // The episode ended with its last flooding second: the quiet tail's requests are not
                        // part of it (its duration does not count those seconds either).
                        let end = s + 1 - ep.quiet;
                        ep.total -= ep.quiet_total;
                        if let Some(ep) = c.episode.take() {
                            out.push(Change::Ended(ep, end));
                        }
                    }
                }
            } else if flooding {
                c.run += 1;
                c.run_total += n;
                c.run_peak = c.run_peak.max(n);
                if c.run >= cfg.min_secs {
                    let start_sec = s + 1 - c.run;
                    c.episode = Some(Episode {
                        start_sec,
                        total: c.run_total,
                        peak: c.run_peak,
                        quiet: 0,
                        quiet_total: 0,
                        covered: false,
                    });
                    out.push(Change::Started { start_sec, total: c.run_total, peak: c.run_peak });
                    c.run = 0;
                    c.run_total = 0;
                    c.run_peak = 0;
                }
            } else {
                c.run = 0;
                c.run_total = 0;
                c.run_peak = 0;
            }
            s += 1;
        }
        c.judged = c.judged.max(cur.saturating_sub(1));
        out
    }

    fn alert(
        scope: Scope,
        key: (IpAddr, Class),
        c: &Counter,
        start_sec: u64,
        phase: &'static str,
        now: PacketTime,
    ) -> Alert {
        let (ip, class) = key;
        let (peer, sport, dport, transport) = c.peer;
        let (src, dst) = match scope {
            Scope::Source => ((Some(ip), Some(sport)), (Some(peer), Some(dport))),
            Scope::Target => ((c.majority(), None), (Some(ip), Some(dport))),
        };
        let scope_name = match scope {
            Scope::Source => "source",
            Scope::Target => "target",
        };
        Alert::new(&META, now)
            .src(src.0, src.1)
            .dest(dst.0, dst.1)
            .proto(match transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(format!("{scope_name} {ip} {} {start_sec} {phase}", class.name()))
            .evidence("phase", Value::Str(phase.into()))
            .evidence("scope", Value::Str(scope_name.into()))
            .evidence("method", Value::Str(class.name().into()))
    }
}

impl SipFlood {
    /// A response that serves its request (an INVITE's 18x or 2xx, another method's 2xx) credits the
    /// transaction's source and target, once per transaction.
    fn on_response(&mut self, m: &crate::event::SipSeen, status: u16, now: PacketTime) {
        let Some(class) = Class::of(&m.cseq_method).filter(|c| c.served_by(status)) else {
            return;
        };
        let Some(branch) = &m.branch else { return };
        // The response goes back to the request's source, from its target.
        let (source, target) = (m.dst.ip(), m.src.ip());
        let asked = match self.transactions.get_mut(&(source, branch.clone(), class), now) {
            Some(sent) if !sent.served => {
                sent.served = true;
                sent.sec
            }
            _ => return,
        };
        if let Some(c) = self.sources.get_mut(&(source, class), now) {
            c.service.served(asked);
        }
        if let Some(c) = self.targets.get_mut(&(target, class), now) {
            c.service.served(asked);
        }
    }
}

impl Detector for SipFlood {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        if let Some(status) = m.status {
            self.on_response(m, status, cx.now());
            return;
        }
        let Some(class) = m.method.as_deref().and_then(Class::of) else {
            return;
        };
        if self.cfg.allow_sources.iter().any(|n| n.contains(m.src.ip())) {
            return;
        }
        let now = cx.now();
        if let Some(branch) = &m.branch {
            let key = (m.src.ip(), branch.clone(), class);
            let fresh = self
                .transactions
                .last_seen(&key)
                .is_some_and(|t| now.since(t) <= Duration::from_secs(TRANSACTION_SECS));
            if fresh {
                return;
            }
            self.transactions.insert(key, Sent { sec: now.secs(), served: false }, now);
        }
        let peer = (m.dst.ip(), m.src.port(), m.dst.port(), m.transport);
        let c = self
            .sources
            .get_or_insert_with((m.src.ip(), class), now, || Counter::new(now.secs(), peer));
        c.add(now.secs());
        c.peer = peer;
        let peer = (m.src.ip(), m.src.port(), m.dst.port(), m.transport);
        let c = self
            .targets
            .get_or_insert_with((m.dst.ip(), class), now, || Counter::new(now.secs(), peer));
        c.add(now.secs());
        c.peer = peer;
        c.vote(m.src.ip());
    }

    fn on_tick(&mut self, now: PacketTime, cx: &mut Context<'_>) {
        self.transactions.expire(now);
        let cfg = self.cfg.clone();
        // Sources first, so that a target knows whether its flood is a flooding source's.
        let mut raised = Vec::new();
        for scope in [Scope::Source, Scope::Target] {
            let (table, min_rate) = match scope {
                Scope::Source => (&mut self.sources, cfg.min_rate),
                Scope::Target => (&mut self.targets, cfg.min_rate_target),
            };
            let mut changes = Vec::new();
            for (key, c) in table.iter_mut() {
                for ch in Self::judge(c, now, key.1, min_rate, &cfg) {
                    changes.push((*key, ch));
                }
            }
            // The table's order is a hash order: sort, so that the output is the same on every run.
            changes.sort_by_key(|(key, _)| *key);
            for (key, ch) in changes {
                let covered = scope == Scope::Target && {
                    let t = self.targets.get(&key);
                    t.and_then(Counter::majority)
                        .and_then(|src| self.sources.get(&(src, key.1)))
                        .is_some_and(|s| s.episode.is_some())
                };
                let table = match scope {
                    Scope::Source => &mut self.sources,
                    Scope::Target => &mut self.targets,
                };
                let Some(c) = table.get(&key) else { continue };
                match ch {
                    Change::Started { start_sec, total, peak } => {
                        if covered {
                            if let Some(ep) = table.get_mut(&key, now).and_then(|c| c.episode.as_mut()) {
                                ep.covered = true;
                            }
                            continue;
                        }
                        let secs = cfg.min_secs;
                        let severity = if peak >= cfg.severity_high_rate {
                            Severity::High
                        } else {
                            Severity::Medium
                        };
                        let mut a = Self::alert(scope, key, c, start_sec, "started", now)
                            .severity(severity)
                            .evidence("rate", Value::F64(total as f64 / secs as f64))
                            .evidence("peak_rate", Value::U64(peak))
                            .evidence("requests", Value::U64(total))
                            .evidence("duration_secs", Value::U64(secs));
                        if key.1.servable() {
                            a = a.evidence("served_share", Value::F64(share(c)));
                        }
                        raised.push(a);
                    }
                    Change::Ended(ep, end_sec) => {
                        if ep.covered {
                            continue;
                        }
                        let secs = end_sec.saturating_sub(ep.start_sec).max(1);
                        let mut a = Self::alert(scope, key, c, ep.start_sec, "ended", now)
                            .evidence("rate", Value::F64(ep.total as f64 / secs as f64))
                            .evidence("peak_rate", Value::U64(ep.peak))
                            .evidence("requests", Value::U64(ep.total))
                            .evidence("duration_secs", Value::U64(secs));
                        if key.1.servable() {
                            a = a.evidence("served_share", Value::F64(share(c)));
                        }
                        raised.push(a);
                    }
                }
            }
        }
        // Expired only once judged: a flood followed by silence longer than `idle_secs` still ends.
        self.sources.expire(now);
        self.targets.expire(now);
        for a in raised {
            cx.raise(a);
        }
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![
            ("sources", self.sources.stats()),
            ("targets", self.targets.stats()),
            ("transactions", self.transactions.stats()),
        ]
    }
}

/// A share for the evidence: two decimals, so that the output reads well and does not depend on rounding noise.
fn share(c: &Counter) -> f64 {
    (c.service.share() * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PBX: &str = "10.0.0.1:5060";

    /// `rate` requests a second of `method` from `src` to `dst` for `secs` seconds from `at_s`.
    fn flood(s: &mut Scenario, method: &str, src: &str, dst: &str, at_s: u64, secs: u64, rate: u64) {
        for i in 0..secs * rate {
            let ms = at_s * 1000 + i * 1000 / rate;
            s.at_ms(ms, Sip::request(method, src, dst).call(&format!("c{i}")).payload());
        }
    }

    fn text(a: &Alert, k: &str) -> Option<String> {
        match a.evidence.get(k) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// A trunk's INVITEs: `rate` a second for `secs` seconds from `at_s`, each with its own branch, each
    /// answered with `answers` (status, delay in ms) by the PBX.
    fn trunk(s: &mut Scenario, src: &str, at_s: u64, secs: u64, rate: u64, answers: &[(u16, u64)]) {
        for i in 0..secs * rate {
            let ms = at_s * 1000 + i * 1000 / rate;
            let (call, branch) = (format!("t{at_s}-{i}"), format!("z9hG4bKt{at_s}-{i}"));
            s.at_ms(ms, Sip::request("INVITE", src, PBX).call(&call).branch(&branch).payload());
            for &(status, delay) in answers {
                let r = Sip::response(status, "INVITE", PBX, src).call(&call).branch(&branch);
                s.at_ms(ms + delay, r.payload());
            }
        }
    }

    #[test]
    fn a_trunk_whose_calls_ring_is_judged_against_min_rate_served() {
        const CARRIER: &str = "192.0.2.10:5060";
        let end = |s: &mut Scenario| {
            s.at_ms(300_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        };
        // 120 calls a second for 10 s, every one ringing 150 ms after its INVITE: a busy trunk, quiet.
        let mut s = Scenario::new();
        trunk(&mut s, CARRIER, 1, 10, 120, &[(100, 5), (180, 150), (200, 4_000)]);
        end(&mut s);
        assert!(s.run(SipFlood::new(&Config::default())).is_empty());
        // Ringing 3 s after the INVITE (post-dial delay through a carrier) still makes it a trunk once the
        // ringing has been seen: here the trunk ramps up from 30/s to 120/s over 20 s, as a busy hour does.
        let mut s = Scenario::new();
        for sec in 0..40 {
            let rate = 30 + 90 * sec.min(20) / 20;
            trunk(&mut s, CARRIER, 1 + sec, 1, rate, &[(100, 5), (183, 3_000)]);
        }
        end(&mut s);
        assert!(s.run(SipFlood::new(&Config::default())).is_empty());
        // Straight from silence to 120/s with that delay (or the sensor starting during the busy hour): the
        // first seconds have no ringing yet, an episode starts, and ends once the calls ring.
        let mut s = Scenario::new();
        trunk(&mut s, CARRIER, 1, 20, 120, &[(100, 5), (183, 3_000)]);
        end(&mut s);
        let alerts = s.run(SipFlood::new(&Config::default()));
        let phases: Vec<_> = alerts.iter().filter_map(|a| text(a, "phase")).collect();
        assert_eq!(phases, ["started", "ended"], "{alerts:#?}");
        let Some(Value::U64(secs)) = alerts[1].evidence.get("duration_secs") else {
            panic!("{alerts:#?}")
        };
        assert!(*secs < 8, "{alerts:#?}");
        // The same rate answered 100 and then 404, 100 alone, 407 challenges or nothing at all: a flood.
        for answers in [&[(100, 5), (404, 20)][..], &[(100, 5)], &[(407, 5)], &[]] {
            let mut s = Scenario::new();
            trunk(&mut s, CARRIER, 1, 10, 120, answers);
            end(&mut s);
            let alerts = s.run(SipFlood::new(&Config::default()));
            assert_eq!(alerts.len(), 2, "{answers:?}: {alerts:#?}");
            assert_eq!(alerts[0].evidence.get("served_share"), Some(&Value::F64(0.0)));
        }
        // Ringing calls above `min_rate_served`: a flood even so, and the evidence says they rang.
        let mut s = Scenario::new();
        trunk(&mut s, CARRIER, 1, 10, 400, &[(180, 50)]);
        end(&mut s);
        let alerts = s.run(SipFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let Some(Value::F64(share)) = alerts[0].evidence.get("served_share") else {
            panic!("{alerts:#?}")
        };
        assert!(*share > 0.9, "{share}");
        // Turned off (`served_share` above 1): the ringing trunk at 120/s is a flood again.
        let mut s = Scenario::new();
        trunk(&mut s, CARRIER, 1, 10, 120, &[(180, 150)]);
        end(&mut s);
        let cfg = Config { served_share: 1.5, ..Config::default() };
        assert_eq!(s.run(SipFlood::new(&cfg)).len(), 2);
    }

    #[test]
    fn a_flood_from_a_trunk_that_rang_is_seen_within_seconds() {
        // 30 s of a ringing trunk at 120/s, then the same address floods 250 INVITEs a second that are all
        // refused (a spoofed carrier address, or a compromised peer): the trunk's good name fades.
        let mut s = Scenario::new();
        trunk(&mut s, "192.0.2.10:5060", 1, 30, 120, &[(100, 5), (180, 100)]);
        trunk(&mut s, "192.0.2.10:5060", 31, 20, 250, &[(100, 5), (403, 10)]);
        s.at_ms(300_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        let alerts = s.run(SipFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        // The flood began 31 s in; its INVITEs settle after 4 s, and the share falls under 0.7 within a few
        // seconds more.
        let started = alerts[0].ts.since(PacketTime::from_nanos(Scenario::BASE_NANOS)).as_secs();
        assert!((34..=45).contains(&started), "{started} {alerts:#?}");
        let Some(Value::F64(share)) = alerts[0].evidence.get("served_share") else {
            panic!("{alerts:#?}")
        };
        assert!(*share < 0.7, "{share}");
    }

    #[test]
    fn a_call_counts_as_served_once_whatever_it_is_answered() {
        // 100 calls a second, each answered 180, 183, 200 and a retransmitted 200: if each answer counted,
        // the share would pass the threshold with a quarter of the calls ringing.
        let mut s = Scenario::new();
        for i in 0..10 * 100u64 {
            let ms = 1000 + i * 10;
            let (call, branch) = (format!("t{i}"), format!("z9hG4bKt{i}"));
            s.at_ms(ms, Sip::request("INVITE", "192.0.2.10:5060", PBX).call(&call).branch(&branch).payload());
            if i % 4 == 0 {
                for (status, delay) in [(180, 50), (183, 60), (200, 70), (200, 570)] {
                    let r = Sip::response(status, "INVITE", PBX, "192.0.2.10:5060").call(&call).branch(&branch);
                    s.at_ms(ms + delay, r.payload());
                }
            }
        }
        let alerts = s.run(SipFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let Some(Value::F64(share)) = alerts[0].evidence.get("served_share") else {
            panic!("{alerts:#?}")
        };
        assert!((0.2..=0.3).contains(share), "{share}");
    }

    #[test]
    fn an_allowed_trunk_is_not_counted() {
        let cfg = Config {
            allow_sources: vec![Network::parse("192.0.2.0/24").unwrap()],
            ..Config::default()
        };
        let mut s = Scenario::new();
        flood(&mut s, "INVITE", "192.0.2.10:5060", PBX, 1, 10, 120);
        s.at_ms(300_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        assert!(s.run(SipFlood::new(&cfg)).is_empty());
        // The same trunk, not listed: an episode.
        let mut s = Scenario::new();
        flood(&mut s, "INVITE", "192.0.2.10:5060", PBX, 1, 10, 120);
        assert!(!s.run(SipFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_sustained_invite_flood_starts_and_ends_one_episode() {
        let mut s = Scenario::new();
        flood(&mut s, "INVITE", "10.77.0.66:5070", PBX, 1, 5, 400);
        // Something much later (past `idle_secs`), so that the quiet seconds after the flood are judged.
        s.at_ms(300_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        let alerts = s.run(SipFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let (a, b) = (&alerts[0], &alerts[1]);
        assert_eq!(a.src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(text(a, "phase").as_deref(), Some("started"));
        assert_eq!(text(a, "method").as_deref(), Some("INVITE"));
        assert_eq!(text(a, "scope").as_deref(), Some("source"));
        assert_eq!(a.evidence.get("peak_rate"), Some(&Value::U64(400)));
        assert_eq!(a.evidence.get("duration_secs"), Some(&Value::U64(3)));
        assert_eq!(text(b, "phase").as_deref(), Some("ended"));
        assert_eq!(b.evidence.get("requests"), Some(&Value::U64(2000)));
        assert_eq!(b.evidence.get("duration_secs"), Some(&Value::U64(5)));
        assert_ne!(a.key, b.key);
    }

    #[test]
    fn the_ended_alert_counts_the_requests_of_the_flooding_seconds_only() {
        // 400/s for 5 s, then 40/s (under `min_rate`) for 10 s: the episode is the 5 flooding seconds; the
        // quiet seconds that end it, with their 40 requests each, are not part of its total or its mean rate.
        let mut s = Scenario::new();
        flood(&mut s, "INVITE", "10.77.0.66:5070", PBX, 1, 5, 400);
        for i in 0..10 * 40 {
            let ms = 6000 + i * 25;
            s.at_ms(ms, Sip::request("INVITE", "10.77.0.66:5070", PBX).call(&format!("q{i}")).payload());
        }
        s.at_ms(300_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        let alerts = s.run(SipFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let b = &alerts[1];
        assert_eq!(text(b, "phase").as_deref(), Some("ended"));
        assert_eq!(b.evidence.get("requests"), Some(&Value::U64(2000)));
        assert_eq!(b.evidence.get("duration_secs"), Some(&Value::U64(5)));
        assert_eq!(b.evidence.get("rate"), Some(&Value::F64(400.0)));
        assert_eq!(b.evidence.get("peak_rate"), Some(&Value::U64(400)));
    }

    #[test]
    fn retransmissions_are_not_new_requests() {
        let mut s = Scenario::new();
        // 100 INVITEs a second for 5 s, each sent 4 times (Timer A doubling squeezed into one second), and
        // the same branch later by another source, which is its own request.
        for i in 0..500u64 {
            for r in 0..4u64 {
                let m = Sip::request("INVITE", "10.0.0.11:5060", PBX).branch(&format!("z9hG4bK{i}"));
                s.at_ms(1_000 + i * 10 + r, m.payload());
            }
        }
        let cfg = Config { min_rate: 150, ..Config::default() };
        assert!(s.run(SipFlood::new(&cfg)).is_empty());
        let cfg = Config { min_rate: 90, ..Config::default() };
        assert_eq!(s.run(SipFlood::new(&cfg)).len(), 1);
    }

    #[test]
    fn a_short_burst_or_a_slow_stream_is_quiet() {
        let mut s = Scenario::new();
        flood(&mut s, "REGISTER", "10.77.0.66:5070", PBX, 1, 2, 400);
        flood(&mut s, "REGISTER", "10.0.0.11:5060", PBX, 10, 20, 40);
        s.at_ms(60_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        assert!(s.run(SipFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn acks_are_not_counted_and_methods_are_counted_apart() {
        let mut s = Scenario::new();
        flood(&mut s, "ACK", "10.77.0.66:5070", PBX, 1, 5, 400);
        flood(&mut s, "INVITE", "10.77.0.66:5070", PBX, 10, 5, 30);
        flood(&mut s, "OPTIONS", "10.77.0.66:5070", PBX, 10, 5, 30);
        s.at_ms(60_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        assert!(s.run(SipFlood::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_spoofed_flood_is_seen_per_target_and_costs_a_capped_table() {
        let mut s = Scenario::new();
        for i in 0..4_999u64 {
            let [_, a, b, c] = u32::try_from(i).unwrap().to_be_bytes();
            let src = format!("172.{a}.{b}.{c}:5060");
            s.at_ms(1_000 + i, Sip::request("INVITE", &src, PBX).payload());
        }
        s.at_ms(20_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        let cfg = Config { max_sources: 100, ..Config::default() };
        let alerts = s.run(SipFlood::new(&cfg));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(text(&alerts[0], "scope").as_deref(), Some("target"));
        assert_eq!(alerts[0].src_ip, None);
        assert_eq!(alerts[0].dest_ip, Some("10.0.0.1".parse().unwrap()));

        let mut d = SipFlood::new(&cfg);
        let mut out = Vec::new();
        for i in 0..5_000u32 {
            let [_, a, b, c] = i.to_be_bytes();
            let ts = PacketTime::from_secs(10 + u64::from(i) / 1000);
            let src = format!("172.{a}.{b}.{c}:5060");
            let ev = Event { seq: u64::from(i), ts, payload: Sip::request("INVITE", &src, PBX).payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let t = d.sources.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }

    #[test]
    fn a_single_source_flood_is_one_alert_not_one_per_view() {
        let mut s = Scenario::new();
        flood(&mut s, "REGISTER", "10.77.0.66:5071", PBX, 1, 5, 400);
        let alerts = s.run(SipFlood::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(text(&alerts[0], "scope").as_deref(), Some("source"));
        assert_eq!(text(&alerts[0], "method").as_deref(), Some("REGISTER"));
    }

    #[test]
    fn a_second_episode_after_a_pause_is_reported_again() {
        let mut s = Scenario::new();
        flood(&mut s, "OPTIONS", "10.77.0.66:5070", PBX, 1, 4, 100);
        flood(&mut s, "OPTIONS", "10.77.0.66:5070", PBX, 30, 4, 100);
        s.at_ms(60_000, Sip::request("OPTIONS", "10.0.0.11:5060", PBX).payload());
        let cfg = crate::config::Config::default();
        let alerts = s.run_with(&cfg, vec![Box::new(SipFlood::new(&Config::default()))]);
        let phases: Vec<_> = alerts.iter().filter_map(|a| text(a, "phase")).collect();
        assert_eq!(phases, ["started", "ended", "started", "ended"], "{alerts:#?}");
    }
}
