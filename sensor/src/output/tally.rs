//! What the call records add up to, for the summary and the `stats` event: calls by how well their media was
//! protected, streams by encryption, the most common user agents, and the worst streams by MOS.

use std::collections::BTreeMap;

use callguard_rules::calls::{CallRecord, Posture, StreamRecord};
use callguard_rules::event::Encryption;

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

/// Counts over call and stream records.
#[derive(Debug, Clone, Default, PartialEq)]
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
}

fn enc_index(e: Encryption) -> usize {
    Encryption::ALL.iter().position(|x| *x == e).unwrap_or(4)
}

impl MediaTally {
    /// Adds a call record.
    pub fn call(&mut self, r: &CallRecord) {
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
        if s.summary.packets < 50 || !s.quality.codec_known {
            return;
        }
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
