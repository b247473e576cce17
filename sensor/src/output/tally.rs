//! What the call records add up to, for the summary and the `stats` event: calls by how well their media was
//! protected, streams by encryption, the most common user agents, and the worst streams by MOS.

use std::collections::BTreeMap;

use callguard_rules::calls::{CallRecord, Posture, StreamRecord};
use callguard_rules::event::{Encryption, SipTransport};

/// User agents counted at once; rarer ones beyond are counted as `other`.
pub const MAX_AGENTS: usize = 256;
/// Worst streams kept.
pub const WORST: usize = 5;

/// One of the worst streams.
#[derive(Debug, Clone, PartialEq)]
pub struct WorstStream {
    /// Estimated MOS.
    pub mos: f64,
    /// Its call, if any.
    pub call_id: Option<String>,
    /// `src -> dst`.
    pub flow: String,
    /// Codec.
    pub codec: Option<String>,
    /// Loss ratio.
    pub loss: f64,
    /// Jitter, ms.
    pub jitter_ms: f64,
}

/// Signalling transports of call records, as metric labels, in [`MediaTally::calls_by`] row order.
pub const TRANSPORTS: [&str; 3] = ["udp", "tcp", "ws"];
/// Media postures of call records, as metric labels, in [`MediaTally::calls_by`] column order.
pub const POSTURES: [&str; 4] = ["protected", "partial", "unprotected", "no_media"];

/// A histogram with fixed bucket bounds: counts per bucket (not cumulative), the sum and the count.
#[derive(Debug, Clone, PartialEq)]
pub struct Hist {
    /// Upper bounds, increasing; the last is `+Inf`.
    pub bounds: &'static [f64],
    /// Observations per bucket (value <= bound and above the previous bound).
    pub counts: Vec<u64>,
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl Hist {
    /// An empty histogram over `bounds` (which must end with `f64::INFINITY`).
    pub fn new(bounds: &'static [f64]) -> Hist {
        Hist {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Adds one observation (NaN is ignored).
    pub fn observe(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        if let Some(i) = self.bounds.iter().position(|b| v <= *b)
            && let Some(n) = self.counts.get_mut(i)
        {
            *n += 1;
            self.sum += v;
            self.count += 1;
        }
    }
}

/// Jitter buckets, seconds: what separates a clean LAN (< 2 ms) from a struggling WAN link (> 30 ms).
pub const JITTER_BOUNDS: &[f64] = &[
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.1,
    f64::INFINITY,
];
/// Loss-ratio buckets: 1 % is where G.711 without concealment starts to be heard.
pub const LOSS_BOUNDS: &[f64] = &[
    0.0,
    0.001,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    f64::INFINITY,
];
/// MOS buckets: ITU-T G.107 user-satisfaction bands (4.34 is G.711's best, 3.6 "many users dissatisfied").
pub const MOS_BOUNDS: &[f64] = &[1.0, 2.0, 2.6, 3.1, 3.6, 4.0, 4.3, 4.5, f64::INFINITY];

/// Counts over call and stream records.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaTally {
    /// Calls by media posture: protected, partial, unprotected.
    pub posture: [u64; 3],
    /// Calls without any stream seen.
    pub no_media: u64,
    /// Streams (in calls and unassociated) by [`Encryption`], in [`Encryption::ALL`] order.
    pub streams: [u64; 5],
    /// Streams tied to no call.
    pub unassociated: u64,
    /// User agents (caller and callee) by calls.
    pub agents: BTreeMap<String, u64>,
    /// User agents not counted by name (beyond [`MAX_AGENTS`]).
    pub other_agents: u64,
    /// The lowest-MOS streams, worst first.
    pub worst: Vec<WorstStream>,
    /// Calls by signalling transport ([`TRANSPORTS`]) and media posture ([`POSTURES`]).
    pub calls_by: [[u64; 4]; 3],
    /// Jitter of judged streams (50 packets or more), seconds.
    pub jitter: Hist,
    /// Loss ratio of judged streams.
    pub loss: Hist,
    /// MOS of judged streams with a known codec.
    pub mos: Hist,
}

impl Default for MediaTally {
    fn default() -> Self {
        MediaTally {
            posture: [0; 3],
            no_media: 0,
            streams: [0; 5],
            unassociated: 0,
            agents: BTreeMap::new(),
            other_agents: 0,
            worst: Vec::new(),
            calls_by: [[0; 4]; 3],
            jitter: Hist::new(JITTER_BOUNDS),
            loss: Hist::new(LOSS_BOUNDS),
            mos: Hist::new(MOS_BOUNDS),
        }
    }
}

fn enc_index(e: Encryption) -> usize {
    Encryption::ALL.iter().position(|x| *x == e).unwrap_or(4)
}

impl MediaTally {
    /// Adds a call record.
    pub fn call(&mut self, r: &CallRecord) {
        let ti = match r.transport {
            SipTransport::Udp => 0,
            SipTransport::Tcp => 1,
            SipTransport::Ws => 2,
        };
        let pi = match r.posture() {
            Some(Posture::Protected) => 0,
            Some(Posture::Partial) => 1,
            Some(Posture::Unprotected) => 2,
            None => 3,
        };
        if let Some(n) = self.calls_by.get_mut(ti).and_then(|row| row.get_mut(pi)) {
            *n += 1;
        }
        match r.posture() {
            Some(p) => {
                let i = match p {
                    Posture::Protected => 0,
                    Posture::Partial => 1,
                    Posture::Unprotected => 2,
                };
                if let Some(n) = self.posture.get_mut(i) {
                    *n += 1;
                }
            }
            None => self.no_media += 1,
        }
        for ua in [&r.caller_agent, &r.callee_agent].into_iter().flatten() {
            if let Some(n) = self.agents.get_mut(ua) {
                *n += 1;
            } else if self.agents.len() < MAX_AGENTS {
                self.agents.insert(ua.clone(), 1);
            } else {
                self.other_agents += 1;
            }
        }
        for s in &r.streams {
            self.stream(s);
        }
    }

    /// Adds a stream (of a call, or on its own).
    pub fn stream(&mut self, s: &StreamRecord) {
        if let Some(n) = self.streams.get_mut(enc_index(s.encryption)) {
            *n += 1;
        }
        if s.call_id.is_none() {
            self.unassociated += 1;
        }
        // Only streams with enough packets to judge (a second of 20 ms audio).
        if s.summary.packets < 50 {
            return;
        }
        self.jitter.observe(s.summary.jitter_ms / 1000.0);
        self.loss.observe(s.summary.loss_ratio().max(0.0));
        if !s.quality.codec_known {
            return;
        }
        self.mos.observe(s.quality.mos);
        let w = WorstStream {
            mos: s.quality.mos,
            call_id: s.call_id.clone(),
            flow: format!("{} -> {}", s.key.src, s.key.dst),
            codec: s.codec.clone(),
            loss: s.summary.loss_ratio(),
            jitter_ms: s.summary.jitter_ms,
        };
        let at = self
            .worst
            .iter()
            .position(|x| w.mos < x.mos)
            .unwrap_or(self.worst.len());
        if at < WORST {
            self.worst.insert(at, w);
            self.worst.truncate(WORST);
        }
    }

    /// The most common user agents, most calls first.
    pub fn top_agents(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.agents.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}
