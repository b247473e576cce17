//! Calls: INVITE dialogs followed from their SIP messages, summarised as a record when they end (RFC 3261
//! §13-15). Shared state of the engine: detectors will read it; the outputs get one record per call.
//!
//! A call starts with its first INVITE (a Call-ID seen again through a proxy is the same call), rings at its
//! first 180/183, is answered at its first 2xx to the INVITE, and ends at the 2xx that answers a BYE, at a final
//! failure (4xx-6xx; 487 after a CANCEL is a cancellation), after [`CALL_IDLE_SECS`] without a message, or when
//! the input ends. Media and quality join the record in the next step.

use std::net::SocketAddr;
use std::time::Duration;

use crate::event::{SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Calls followed at once; the least recently active are dropped beyond (counted as evictions).
pub const MAX_CALLS: usize = 100_000;
/// A call with no SIP message for this long ends as timed out: two hours outlast the usual session timers
/// (RFC 4028 refreshes within 30 minutes by default).
pub const CALL_IDLE_SECS: u64 = 7200;

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// A BYE, answered.
    Bye,
    /// CANCEL before an answer.
    Cancelled,
    /// A final failure response to the INVITE.
    Rejected,
    /// No message for [`CALL_IDLE_SECS`].
    Timeout,
    /// The input ended while the call was up (or its BYE was not answered).
    CaptureEnd,
}

impl EndReason {
    /// Lower-case name, for EVE.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Bye => "bye",
            EndReason::Cancelled => "cancelled",
            EndReason::Rejected => "rejected",
            EndReason::Timeout => "timeout",
            EndReason::CaptureEnd => "capture_end",
        }
    }
}

/// Who sent the BYE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The side that sent the INVITE.
    Caller,
    /// The other side.
    Callee,
}

/// One finished call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Call-ID.
    pub call_id: String,
    /// Caller (From user).
    pub caller: Option<String>,
    /// Callee (To user).
    pub callee: Option<String>,
    /// Where the first INVITE came from.
    pub caller_addr: SocketAddr,
    /// Where the first INVITE went (the callee, or the proxy in front of it).
    pub callee_addr: SocketAddr,
    /// The caller's User-Agent.
    pub caller_agent: Option<String>,
    /// The callee's User-Agent or Server, from its answers.
    pub callee_agent: Option<String>,
    /// SIP transport of the first INVITE.
    pub transport: SipTransport,
    /// The first INVITE.
    pub start: PacketTime,
    /// The first 180/183.
    pub ringing: Option<PacketTime>,
    /// The first 2xx to the INVITE.
    pub answered: Option<PacketTime>,
    /// When it ended.
    pub end: PacketTime,
    /// Why.
    pub reason: EndReason,
    /// The final status of the INVITE (200, or the failure).
    pub status: Option<u16>,
    /// Who hung up, when a BYE was seen.
    pub ended_by: Option<Party>,
    /// SIP messages of the call seen (every leg through a proxy counts).
    pub messages: u32,
}

#[derive(Debug, Clone)]
struct Call {
    rec: CallRecord,
    caller_tag: Option<Box<str>>,
    order: u64,
    cancelled: bool,
    bye: Option<(PacketTime, Party)>,
}

/// Counters of the tracker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Calls started (first INVITE seen).
    pub started: u64,
    /// Records emitted.
    pub records: u64,
    /// Calls answered (2xx to the INVITE).
    pub answered: u64,
}

/// The calls being followed.
#[derive(Debug)]
pub struct CallTracker {
    calls: BoundedMap<Box<str>, Call>,
    next_order: u64,
    done: Vec<CallRecord>,
    stats: CallStats,
}

impl Default for CallTracker {
    fn default() -> Self {
        Self::new(MAX_CALLS, Duration::from_secs(CALL_IDLE_SECS))
    }
}

fn own(s: &Option<Box<str>>) -> Option<String> {
    s.as_deref().map(str::to_owned)
}

impl CallTracker {
    /// A tracker of at most `cap` calls, ending calls idle for `idle`.
    pub fn new(cap: usize, idle: Duration) -> Self {
        Self {
            calls: BoundedMap::new(cap, idle),
            next_order: 0,
            done: Vec::new(),
            stats: CallStats::default(),
        }
    }

    /// Follows one SIP message.
    pub fn on_sip(&mut self, ts: PacketTime, m: &SipSeen) {
        let invite = m.method.as_deref() == Some("INVITE");
        if invite && self.calls.get(&m.call_id).is_none() {
            let order = self.next_order;
            self.next_order += 1;
            self.stats.started += 1;
            let rec = CallRecord {
                call_id: m.call_id.to_string(),
                caller: own(&m.from_user),
                callee: own(&m.to_user),
                caller_addr: m.src,
                callee_addr: m.dst,
                caller_agent: own(&m.user_agent),
                callee_agent: None,
                transport: m.transport,
                start: ts,
                ringing: None,
                answered: None,
                end: ts,
                reason: EndReason::CaptureEnd,
                status: None,
                ended_by: None,
                messages: 0,
            };
            let call = Call {
                rec,
                caller_tag: m.from_tag.clone(),
                order,
                cancelled: false,
                bye: None,
            };
            self.calls.insert(m.call_id.clone(), call, ts);
        }
        let Some(c) = self.calls.get_mut(&m.call_id, ts) else {
            return;
        };
        c.rec.messages = c.rec.messages.saturating_add(1);
        c.rec.end = c.rec.end.max(ts);
        let mut finished = None;
        match (m.method.as_deref(), m.status) {
            (Some("CANCEL"), _) => c.cancelled = true,
            (Some("BYE"), _) if c.bye.is_none() => {
                let by = if m.from_tag.is_some() && m.from_tag == c.caller_tag {
                    Party::Caller
                } else {
                    Party::Callee
                };
                c.bye = Some((ts, by));
            }
            (None, Some(status)) if &*m.cseq_method == "INVITE" => {
                if c.rec.callee_agent.is_none() {
                    c.rec.callee_agent = own(&m.user_agent);
                }
                match status {
                    180 | 183 if c.rec.ringing.is_none() => c.rec.ringing = Some(ts),
                    200..=299 if c.rec.answered.is_none() => {
                        c.rec.answered = Some(ts);
                        c.rec.status = Some(status);
                        self.stats.answered += 1;
                    }
                    300..=699 if c.rec.answered.is_none() && c.rec.status.is_none() => {
                        c.rec.status = Some(status);
                        c.rec.reason = if status == 487 || c.cancelled {
                            EndReason::Cancelled
                        } else {
                            EndReason::Rejected
                        };
                        finished = Some(ts);
                    }
                    _ => {}
                }
            }
            (None, Some(200..=299)) if &*m.cseq_method == "BYE" && c.bye.is_some() => {
                c.rec.reason = EndReason::Bye;
                finished = c.bye.map(|(t, _)| t);
            }
            _ => {}
        }
        if let Some(end) = finished
            && let Some(mut c) = self.calls.remove(&m.call_id)
        {
            c.rec.end = end;
            c.rec.ended_by = c.bye.map(|(_, p)| p);
            self.stats.records += 1;
            self.done.push(c.rec);
        }
    }

    /// Ends the calls idle for longer than the timeout.
    pub fn expire(&mut self, now: PacketTime) {
        let mut ended = Vec::new();
        self.calls.expire_with(now, |_, c| ended.push(c));
        ended.sort_by_key(|c| c.order);
        for c in ended {
            self.close(c, EndReason::Timeout);
        }
    }

    fn close(&mut self, mut c: Call, reason: EndReason) {
        if let Some((t, by)) = c.bye {
            c.rec.end = t;
            c.rec.ended_by = Some(by);
        }
        c.rec.reason = reason;
        self.stats.records += 1;
        self.done.push(c.rec);
    }

    /// End of input: every call still open ends, in the order the calls started.
    pub fn finish(&mut self) {
        let mut open: Vec<Call> = Vec::new();
        self.calls
            .expire_with(PacketTime::from_nanos(u64::MAX), |_, c| open.push(c));
        open.sort_by_key(|c| c.order);
        for c in open {
            self.close(c, EndReason::CaptureEnd);
        }
    }

    /// Takes the records of the calls that ended.
    pub fn drain(&mut self) -> std::vec::Drain<'_, CallRecord> {
        self.done.drain(..)
    }

    /// Counters.
    pub fn stats(&self) -> CallStats {
        self.stats
    }

    /// The table's figures.
    pub fn table(&self) -> TableStats {
        self.calls.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(
        method: Option<&str>,
        status: Option<u16>,
        cseq_method: &str,
        from_tag: &str,
    ) -> SipSeen {
        SipSeen {
            src: "10.0.0.11:5060".parse().unwrap(),
            dst: "10.0.0.1:5060".parse().unwrap(),
            transport: SipTransport::Udp,
            method: method.map(Into::into),
            status,
            call_id: "c1".into(),
            from_user: Some("1001".into()),
            from_tag: Some(from_tag.into()),
            to_user: Some("2001".into()),
            to_tag: None,
            cseq: 1,
            cseq_method: cseq_method.into(),
            user_agent: Some("phone".into()),
            has_sdp: false,
            sdp: None,
            auth: None,
            contact_user: None,
            contact_addr: None,
            via_addr: None,
            via_count: 1,
        }
    }

    fn t(ms: u64) -> PacketTime {
        PacketTime::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn an_answered_call_ends_with_the_answer_to_its_bye() {
        let mut ct = CallTracker::default();
        ct.on_sip(t(0), &sip(Some("INVITE"), None, "INVITE", "a"));
        ct.on_sip(t(10), &sip(None, Some(100), "INVITE", "a"));
        ct.on_sip(t(500), &sip(None, Some(180), "INVITE", "a"));
        ct.on_sip(t(2000), &sip(None, Some(200), "INVITE", "a"));
        ct.on_sip(t(2010), &sip(Some("ACK"), None, "ACK", "a"));
        ct.on_sip(t(9000), &sip(Some("BYE"), None, "BYE", "b"));
        assert_eq!(ct.drain().count(), 0);
        ct.on_sip(t(9010), &sip(None, Some(200), "BYE", "b"));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].reason, EndReason::Bye);
        assert_eq!(r[0].ended_by, Some(Party::Callee));
        assert_eq!(r[0].ringing, Some(t(500)));
        assert_eq!(r[0].answered, Some(t(2000)));
        assert_eq!(r[0].end, t(9000));
        assert_eq!(r[0].messages, 7);
        assert_eq!(r[0].caller.as_deref(), Some("1001"));
    }

    #[test]
    fn a_rejected_and_a_cancelled_call_end_at_their_final_response() {
        let mut ct = CallTracker::default();
        ct.on_sip(t(0), &sip(Some("INVITE"), None, "INVITE", "a"));
        ct.on_sip(t(5), &sip(None, Some(486), "INVITE", "a"));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!((r[0].reason, r[0].status), (EndReason::Rejected, Some(486)));
        ct.on_sip(t(10), &sip(Some("INVITE"), None, "INVITE", "a"));
        ct.on_sip(t(20), &sip(Some("CANCEL"), None, "CANCEL", "a"));
        ct.on_sip(t(30), &sip(None, Some(487), "INVITE", "a"));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r[0].reason, EndReason::Cancelled);
    }

    #[test]
    fn open_calls_end_at_the_end_of_input_or_after_the_idle_timeout() {
        let mut ct = CallTracker::new(10, Duration::from_secs(60));
        ct.on_sip(t(0), &sip(Some("INVITE"), None, "INVITE", "a"));
        ct.expire(t(61_000));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r[0].reason, EndReason::Timeout);
        ct.on_sip(t(70_000), &sip(Some("INVITE"), None, "INVITE", "a"));
        ct.finish();
        assert_eq!(ct.drain().next().unwrap().reason, EndReason::CaptureEnd);
        assert_eq!(ct.stats().records, 2);
    }

    #[test]
    fn messages_of_unknown_calls_are_ignored_and_the_table_is_bounded() {
        let mut ct = CallTracker::new(100, Duration::from_secs(60));
        ct.on_sip(t(0), &sip(Some("BYE"), None, "BYE", "a"));
        assert_eq!(ct.stats().started, 0);
        for i in 0..1000u32 {
            let mut m = sip(Some("INVITE"), None, "INVITE", "a");
            m.call_id = format!("c{i}").into();
            ct.on_sip(t(u64::from(i)), &m);
        }
        assert!(ct.table().len <= 100);
        assert!(ct.table().evicted > 0);
    }
}
