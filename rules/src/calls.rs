//! Calls: INVITE dialogs followed from their SIP messages, their media tied to them through the SDP, summarised
//! as a record when they end (RFC 3261 §13-15, RFC 3264). Shared state of the engine: detectors read it
//! through [`crate::detector::Context::calls`]; the outputs get one record per call.
//!
//! A call starts with its first INVITE (a Call-ID seen again through a proxy is the same call), rings at its
//! first 180/183, is answered at its first 2xx to the INVITE, and ends at the 2xx that answers a BYE, at a final
//! failure (4xx-6xx; 487 after a CANCEL is a cancellation), after [`CALL_IDLE_SECS`] without a message, or when
//! the input ends. Re-INVITEs and UPDATEs move its media; responses with several To tags are forks.
//!
//! Media: every SDP of a call registers where its sender wants to receive RTP and RTCP (the `c=`/`m=` address
//! and port, or the `a=rtcp` port, or the media port under `a=rtcp-mux`). A stream the workers report is tied to
//! the call whose SDP named its destination; failing that, its source (a symmetric-RTP peer sends from the port
//! it receives on, so a latching media relay or a NATed phone still matches); failing both, it is an
//! *unassociated* stream, reported on its own. A call that ends waits up to [`MEDIA_WAIT_SECS`] of packet time
//! for its streams' final figures (workers report a stream [`RTP idle`](MEDIA_WAIT_SECS) seconds after its last
//! packet), so the record carries complete per-stream quality.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::event::{
    Encryption, MediaEvidence, RtcpSeen, RtpEnd, RtpStart, SdpSeen, SipSeen, SipTransport,
    StreamEnd, StreamKey,
};
use crate::quality;
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Calls followed at once; the least recently active are dropped beyond (counted as evictions).
pub const MAX_CALLS: usize = 100_000;
/// A call with no SIP message for this long ends as timed out: two hours outlast the usual session timers
/// (RFC 4028 refreshes within 30 minutes by default).
pub const CALL_IDLE_SECS: u64 = 7200;
/// How long an ended call waits for the final figures of its streams. Workers end a stream 10 s after its
/// last packet; two more seconds cover the batch that reports it.
pub const MEDIA_WAIT_SECS: u64 = 12;
/// How long a challenged INVITE (401/407) waits for the caller's retry with credentials: 64*T1, the
/// transaction timeout (RFC 3261 §17.1.1.2).
pub const CHALLENGE_WAIT_SECS: u64 = 32;
/// Calls ended and waiting for their streams, at once.
pub const MAX_CLOSING: usize = 100_000;
/// Media endpoints (address and port an SDP asked media to be sent to) remembered at once.
pub const MAX_ENDPOINTS: usize = 400_000;
/// Streams tied to calls (or known unassociated) at once.
pub const MAX_STREAMS: usize = 400_000;
/// Streams one call record lists; more are counted in `streams_dropped`.
pub const MAX_STREAMS_PER_CALL: usize = 32;
/// Distinct To tags (forks) remembered per call.
pub const MAX_FORKS: usize = 8;
/// RTCP reports remembered (the latest per reporter and source).
pub const MAX_RTCP: usize = 200_000;
/// A stream or RTCP report with no news for this long is forgotten.
pub const MEDIA_IDLE_SECS: u64 = 3600;

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

/// A side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// The side that sent the INVITE.
    Caller,
    /// The other side.
    Callee,
}

impl Party {
    /// Lower-case name, for EVE.
    pub fn name(self) -> &'static str {
        match self {
            Party::Caller => "caller",
            Party::Callee => "callee",
        }
    }

    /// The other side.
    pub fn other(self) -> Party {
        match self {
            Party::Caller => Party::Callee,
            Party::Callee => Party::Caller,
        }
    }

    fn index(self) -> usize {
        match self {
            Party::Caller => 0,
            Party::Callee => 1,
        }
    }
}

/// The latest RTCP figures about a stream: what its receiver reported, and what its sender said it sent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RtcpFigures {
    /// From the receiver's report block: fraction lost (0 to 1) in the last interval.
    pub fraction_lost: Option<f64>,
    /// From the receiver's report block: cumulative packets lost.
    pub cumulative_lost: Option<i32>,
    /// From the receiver's report block: interarrival jitter, ms (needs the clock rate).
    pub jitter_ms: Option<f64>,
    /// From the sender's SR: packets it sent.
    pub sender_packets: Option<u32>,
    /// From the sender's SR: payload octets it sent.
    pub sender_octets: Option<u32>,
}

/// One RTP stream, as a call record (or an unassociated stream record) lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// Sender, receiver, SSRC.
    pub key: StreamKey,
    /// The call it belongs to (`None`: unassociated).
    pub call_id: Option<String>,
    /// Which side of the call sends it.
    pub sender: Option<Party>,
    /// The `m=` line it belongs to (0-based).
    pub m_index: Option<usize>,
    /// `audio`, `video`, ... from the `m=` line.
    pub media: Option<String>,
    /// Encoding name: from the SDP for its payload type, else the static table.
    pub codec: Option<String>,
    /// How it is protected.
    pub encryption: Encryption,
    /// What the SDP asked for (`None`: no SDP tied to it).
    pub sdp_encryption: Option<Encryption>,
    /// What the media itself showed.
    pub evidence: MediaEvidence,
    /// The worker's figures.
    pub summary: crate::event::RtpSummary,
    /// Why the figures were reported.
    pub end: StreamEnd,
    /// `ptime` from the SDP, ms.
    pub ptime: Option<u32>,
    /// The E-model estimate (G.107) from codec, loss and jitter.
    pub quality: quality::Estimate,
    /// RTCP figures, when reports were seen.
    pub rtcp: Option<RtcpFigures>,
    /// Tied to the call by one endpoint only: the other end is neither in the call's SDP nor on its SIP path
    /// (media injected into the call, or diverted out of it).
    pub foreign: bool,
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
    /// Where the BYE came from (a third party's forged BYE shows here).
    pub bye_from: Option<SocketAddr>,
    /// SIP messages of the call seen (every leg through a proxy counts).
    pub messages: u32,
    /// re-INVITEs (INVITEs of the dialog after the first transaction).
    pub reinvites: u32,
    /// UPDATE requests.
    pub updates: u32,
    /// Distinct To tags in responses to the INVITE (2 or more: the call forked).
    pub forks: u32,
    /// SDP bodies seen (offers and answers, on every leg).
    pub sdp_bodies: u32,
    /// Media streams, in the order they ended.
    pub streams: Vec<StreamRecord>,
    /// Streams beyond [`MAX_STREAMS_PER_CALL`], not listed.
    pub streams_dropped: u32,
    /// Streams still running when the record was written (their figures come later, unassociated).
    pub streams_open: u32,
}

impl CallRecord {
    /// How the call's media was protected: every stream encrypted, some, or none (no stream: `None`).
    pub fn posture(&self) -> Option<Posture> {
        if self.streams.is_empty() {
            return None;
        }
        let enc = self
            .streams
            .iter()
            .filter(|s| s.encryption.is_encrypted())
            .count();
        Some(if enc == self.streams.len() {
            Posture::Protected
        } else if enc == 0 {
            Posture::Unprotected
        } else {
            Posture::Partial
        })
    }
}

/// How well a call was protected. Signalling the sensor can read is never encrypted, so "protected" speaks of
/// the media of a call whose SIP was seen in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Posture {
    /// Every stream encrypted.
    Protected,
    /// Some streams encrypted.
    Partial,
    /// No stream encrypted.
    Unprotected,
}

impl Posture {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Posture::Protected => "protected",
            Posture::Partial => "partial",
            Posture::Unprotected => "unprotected",
        }
    }
}

#[derive(Debug, Clone)]
struct Call {
    rec: CallRecord,
    caller_tag: Option<Box<str>>,
    order: u64,
    cancelled: bool,
    bye: Option<(PacketTime, Party)>,
    /// The latest SDP each side sent (caller, callee).
    sdp: [Option<Box<SdpSeen>>; 2],
    /// The side whose SDP came last.
    last_sdp: Option<Party>,
    to_tags: Vec<Box<str>>,
    first_cseq: u32,
    /// The INVITE was challenged (401/407) and the caller's retry has not come yet.
    challenged: bool,
    /// Streams tied to the call whose figures have not come yet.
    open: u32,
    /// Addresses that sent or received the call's SIP (at most [`MAX_CALL_IPS`]).
    sip_ips: Vec<IpAddr>,
    /// In-dialog re-INVITE/UPDATE transactions counted (CSeq, sender, UPDATE), the latest few: the same
    /// request relayed by a proxy (one copy per leg) counts once.
    txns: Vec<(u32, Party, bool)>,
}

/// In-dialog transactions remembered per call, to count each once whatever the number of legs.
pub const MAX_CALL_TXNS: usize = 16;

/// SIP addresses remembered per call (phones, proxies, B2BUAs on the call's path).
pub const MAX_CALL_IPS: usize = 8;

impl Call {
    /// Whether this in-dialog request is new (not a copy on another leg, nor a retransmission).
    fn new_txn(&mut self, cseq: u32, sender: Party, update: bool) -> bool {
        let t = (cseq, sender, update);
        if self.txns.contains(&t) {
            return false;
        }
        if self.txns.len() >= MAX_CALL_TXNS {
            self.txns.remove(0);
        }
        self.txns.push(t);
        true
    }

    fn add_ip(&mut self, ip: IpAddr) {
        if !self.sip_ips.contains(&ip) && self.sip_ips.len() < MAX_CALL_IPS {
            self.sip_ips.push(ip);
        }
    }

    /// Whether `ip` is a party of the call: in either side's SDP, or on its SIP path.
    fn knows(&self, ip: IpAddr) -> bool {
        self.sip_ips.contains(&ip)
            || self.sdp.iter().flatten().any(|sdp| {
                sdp.session_addr == Some(ip) || sdp.media.iter().any(|m| m.addr == Some(ip))
            })
    }
}

/// Where an SDP asked media to go.
#[derive(Debug, Clone)]
struct Endpoint {
    call_id: Box<str>,
    /// The side that will receive there.
    side: Party,
    m_index: usize,
}

/// What the tracker knows of a started stream.
#[derive(Debug, Clone)]
struct Link {
    call_id: Option<Box<str>>,
    sender: Option<Party>,
    m_index: usize,
    /// The far end is not a party of the call (neither in its SDP nor among its SIP addresses): injected or
    /// diverted media, tied to the call by one endpoint only.
    foreign: bool,
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
    /// Streams tied to a call.
    pub streams_associated: u64,
    /// Streams no signalling explained.
    pub streams_unassociated: u64,
    /// Stream figures that came after their call's record was written.
    pub streams_late: u64,
    /// REGISTER transactions seen (requests with a new Call-ID/CSeq).
    pub registers: u64,
    /// REGISTERs challenged (401/407).
    pub register_challenged: u64,
    /// REGISTERs accepted (2xx).
    pub register_ok: u64,
    /// REGISTERs refused (other final failures, 403 included).
    pub register_failed: u64,
}

/// A REGISTER transaction's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegState {
    Sent,
    Done,
}

/// The calls being followed, and the media tied to them.
#[derive(Debug)]
pub struct CallTracker {
    calls: BoundedMap<Box<str>, Call>,
    /// Ended calls waiting for their streams' figures; their idle timeout is the wait.
    closing: BoundedMap<Box<str>, Call>,
    endpoints: BoundedMap<SocketAddr, Endpoint>,
    streams: BoundedMap<(StreamKey, u64), Link>,
    /// Latest report block per (reporter address, source SSRC), with the reporter's SR counts per
    /// (address, SSRC) under the same table (`sender` set).
    rtcp: BoundedMap<(IpAddr, u32), RtcpFigures>,
    registers: BoundedMap<(Box<str>, u32), RegState>,
    /// Calls whose INVITE was challenged (401/407), waiting for the caller's retry with credentials (same
    /// Call-ID and From tag, a higher CSeq: RFC 3261 §22.2); one that does not come ends the call, rejected.
    challenged: BoundedMap<Box<str>, PacketTime>,
    next_order: u64,
    done: Vec<CallRecord>,
    loose: Vec<StreamRecord>,
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

/// The encryption negotiated for one `m=` line from both sides' SDP: plain if either side offered or answered
/// plain RTP; else what the latest SDP says.
fn negotiated(call: &Call, m_index: usize) -> Option<Encryption> {
    let of = |p: Party| {
        call.sdp
            .get(p.index())
            .and_then(Option::as_ref)
            .and_then(|s| s.media.get(m_index))
            .filter(|m| m.port != 0)
            .map(crate::event::MediaSeen::encryption)
    };
    let (a, b) = (of(Party::Caller), of(Party::Callee));
    if a == Some(Encryption::Rtp) || b == Some(Encryption::Rtp) {
        return Some(Encryption::Rtp);
    }
    match call.last_sdp {
        Some(p) => of(p).or(of(p.other())),
        None => a.or(b),
    }
}

/// The stream's protection: ZRTP or DTLS seen on its addresses wins (ZRTP runs over a plain RTP/AVP
/// profile); else what the SDP negotiated; else what the packet sizes show; else unknown.
fn judge(sdp: Option<Encryption>, ev: &MediaEvidence) -> Encryption {
    match (ev.verdict(), sdp) {
        (Some(e @ (Encryption::Zrtp | Encryption::DtlsSrtp)), _) => e,
        (_, Some(e)) => e,
        (Some(e), None) => e,
        (None, None) => Encryption::Unknown,
    }
}

/// An SDP `a=fingerprint` tied to a media endpoint, from [`CallTracker::media_fingerprint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFingerprint<'a> {
    /// The call.
    pub call_id: &'a str,
    /// The side that announced it (and receives media at the endpoint).
    pub side: Party,
    /// The `m=` line.
    pub m_index: usize,
    /// Hash function, lower case (`sha-256`).
    pub hash: &'a str,
    /// Hex pairs with colons, lower case.
    pub value: &'a str,
}

/// A media endpoint that a call's SDP negotiated, from [`CallTracker::media_endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaEndpoint<'a> {
    /// The call.
    pub call_id: &'a str,
    /// The side that announced it (and receives media there).
    pub side: Party,
    /// The `m=` line.
    pub m_index: usize,
    /// The first codec of the `m=` line (the preferred one), if listed.
    pub codec: Option<&'a crate::event::CodecSeen>,
    /// `a=ptime`, ms, if given.
    pub ptime: Option<u32>,
}

/// What the tracker says about a stream, for detectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamView<'a> {
    /// The call, if the stream is tied to one.
    pub call_id: Option<&'a str>,
    /// The encryption the call's SDP negotiated for it, if known.
    pub sdp_encryption: Option<Encryption>,
    /// The profile the SDP of the stream's receiver named (`RTP/AVP`, ...), if known.
    pub proto: Option<&'a str>,
    /// Its far end is not a party of the call (see [`StreamRecord::foreign`]).
    pub foreign: bool,
}

impl CallTracker {
    /// A tracker of at most `cap` calls, ending calls idle for `idle`.
    pub fn new(cap: usize, idle: Duration) -> Self {
        let media_idle = Duration::from_secs(MEDIA_IDLE_SECS);
        Self {
            calls: BoundedMap::new(cap, idle),
            closing: BoundedMap::new(MAX_CLOSING, Duration::from_secs(MEDIA_WAIT_SECS)),
            endpoints: BoundedMap::new(MAX_ENDPOINTS, idle),
            streams: BoundedMap::new(MAX_STREAMS, media_idle),
            rtcp: BoundedMap::new(MAX_RTCP, media_idle),
            registers: BoundedMap::new(MAX_CALLS, Duration::from_secs(64)),
            challenged: BoundedMap::new(MAX_CALLS, Duration::from_secs(CHALLENGE_WAIT_SECS)),
            next_order: 0,
            done: Vec::new(),
            loose: Vec::new(),
            stats: CallStats::default(),
        }
    }

    /// Follows one SIP message.
    pub fn on_sip(&mut self, ts: PacketTime, m: &SipSeen) {
        if &*m.cseq_method == "REGISTER" {
            self.on_register(ts, m);
            return;
        }
        let invite = m.method.as_deref() == Some("INVITE");
        if invite && self.calls.get(&m.call_id).is_none() && self.closing.get(&m.call_id).is_none()
        {
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
                bye_from: None,
                messages: 0,
                reinvites: 0,
                updates: 0,
                forks: 0,
                sdp_bodies: 0,
                streams: Vec::new(),
                streams_dropped: 0,
                streams_open: 0,
            };
            let call = Call {
                rec,
                caller_tag: m.from_tag.clone(),
                order,
                cancelled: false,
                bye: None,
                sdp: [None, None],
                last_sdp: None,
                to_tags: Vec::new(),
                first_cseq: m.cseq,
                challenged: false,
                open: 0,
                sip_ips: Vec::new(),
                txns: Vec::new(),
            };
            self.calls.insert(m.call_id.clone(), call, ts);
        }
        let Some(c) = self.calls.get_mut(&m.call_id, ts) else {
            // A message of an ended call (retransmission, ACK): counted, nothing changes.
            if let Some(c) = self.closing_mut(&m.call_id) {
                c.rec.messages = c.rec.messages.saturating_add(1);
            }
            return;
        };
        c.rec.messages = c.rec.messages.saturating_add(1);
        c.rec.end = c.rec.end.max(ts);
        c.add_ip(m.src.ip());
        c.add_ip(m.dst.ip());
        // Which side sent it: a request from the caller carries the caller's From tag; a response to the
        // caller's request is the callee's.
        let from_caller_tag = m.from_tag.is_some() && m.from_tag == c.caller_tag;
        let sender = match (m.method.is_some(), from_caller_tag) {
            (true, true) | (false, false) => Party::Caller,
            (true, false) | (false, true) => Party::Callee,
        };
        if let Some(sdp) = &m.sdp {
            c.rec.sdp_bodies = c.rec.sdp_bodies.saturating_add(1);
            if let Some(slot) = c.sdp.get_mut(sender.index()) {
                *slot = Some(sdp.clone());
            }
            c.last_sdp = Some(sender);
            for (i, md) in sdp.media.iter().enumerate() {
                if md.port == 0 {
                    continue;
                }
                let Some(ip) = md.addr.or(sdp.session_addr) else {
                    continue;
                };
                if ip.is_unspecified() {
                    continue;
                }
                let ep = Endpoint {
                    call_id: m.call_id.clone(),
                    side: sender,
                    m_index: i,
                };
                if let Some(rp) = md.rtcp_port.filter(|p| *p != md.port) {
                    self.endpoints
                        .insert(SocketAddr::new(ip, rp), ep.clone(), ts);
                }
                self.endpoints.insert(SocketAddr::new(ip, md.port), ep, ts);
            }
        }
        let Some(c) = self.calls.get_mut(&m.call_id, ts) else {
            return;
        };
        let mut finished = None;
        let mut retried = false;
        match (m.method.as_deref(), m.status) {
            (Some("CANCEL"), _) => c.cancelled = true,
            // The caller answers the challenge: the same call goes on with the new INVITE transaction.
            (Some("INVITE"), _) if c.challenged && from_caller_tag && m.cseq > c.first_cseq => {
                c.first_cseq = m.cseq;
                c.challenged = false;
                c.rec.status = None;
                retried = true;
            }
            (Some("INVITE"), _)
                if m.cseq != c.first_cseq
                    && c.rec.answered.is_some()
                    && c.new_txn(m.cseq, sender, false) =>
            {
                c.rec.reinvites = c.rec.reinvites.saturating_add(1);
            }
            (Some("UPDATE"), _) if c.new_txn(m.cseq, sender, true) => {
                c.rec.updates = c.rec.updates.saturating_add(1);
            }
            (Some("BYE"), _) if c.bye.is_none() => {
                let by = if from_caller_tag {
                    Party::Caller
                } else {
                    Party::Callee
                };
                c.bye = Some((ts, by));
                c.rec.bye_from = Some(m.src);
            }
            (None, Some(status)) if &*m.cseq_method == "INVITE" && m.cseq == c.first_cseq => {
                if c.rec.callee_agent.is_none() {
                    c.rec.callee_agent = own(&m.user_agent);
                }
                if status > 100
                    && let Some(tag) = &m.to_tag
                    && !c.to_tags.contains(tag)
                    && c.to_tags.len() < MAX_FORKS
                {
                    c.to_tags.push(tag.clone());
                    c.rec.forks = u32::try_from(c.to_tags.len()).unwrap_or(u32::MAX);
                }
                match status {
                    180 | 183 if c.rec.ringing.is_none() => c.rec.ringing = Some(ts),
                    200..=299 if c.rec.answered.is_none() => {
                        c.rec.answered = Some(ts);
                        c.rec.status = Some(status);
                        self.stats.answered += 1;
                    }
                    401 | 407
                        if c.rec.answered.is_none() && c.rec.status.is_none() && !c.cancelled =>
                    {
                        // Not the end yet: the caller retries with credentials, or the wait ends it.
                        c.rec.status = Some(status);
                        c.challenged = true;
                        self.challenged.insert(m.call_id.clone(), ts, ts);
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
        if retried {
            self.challenged.remove(&m.call_id);
        }
        if let Some(end) = finished
            && let Some(mut c) = self.calls.remove(&m.call_id)
        {
            c.rec.end = end;
            c.rec.ended_by = c.bye.map(|(_, p)| p);
            self.close_or_wait(m.call_id.clone(), c, ts);
        }
    }

    fn closing_mut(&mut self, call_id: &str) -> Option<&mut Call> {
        // Looking a closing call up must not extend its wait: read its last-seen time and put it back.
        let key: Box<str> = call_id.into();
        let seen = self.closing.last_seen(&key)?;
        self.closing.get_mut(&key, seen)
    }

    /// A call that ended: written now when none of its streams is still running, else parked until they
    /// report or the wait runs out.
    fn close_or_wait(&mut self, id: Box<str>, c: Call, ts: PacketTime) {
        if c.open == 0 {
            self.write(c);
        } else {
            self.closing.insert(id, c, ts);
        }
    }

    fn write(&mut self, mut c: Call) {
        c.rec.streams_open = c.open;
        self.stats.records += 1;
        self.done.push(c.rec);
    }

    fn on_register(&mut self, ts: PacketTime, m: &SipSeen) {
        let key = (m.call_id.clone(), m.cseq);
        match (m.method.as_deref(), m.status) {
            (Some("REGISTER"), _) if self.registers.get(&key).is_none() => {
                self.stats.registers += 1;
                self.registers.insert(key, RegState::Sent, ts);
            }
            (None, Some(status)) if status >= 200 => {
                if let Some(st) = self.registers.get_mut(&key, ts)
                    && *st == RegState::Sent
                {
                    *st = RegState::Done;
                    match status {
                        200..=299 => self.stats.register_ok += 1,
                        401 | 407 => self.stats.register_challenged += 1,
                        _ => self.stats.register_failed += 1,
                    }
                }
            }
            _ => {}
        }
    }

    /// Ties a new stream to its call, if its SDP is known.
    pub fn on_rtp_start(&mut self, ts: PacketTime, s: &RtpStart) {
        let link = self.associate(&s.key);
        if let Some(id) = &link.call_id {
            self.stats.streams_associated += 1;
            if let Some(c) = self.calls.get_mut(id, ts) {
                c.open = c.open.saturating_add(1);
            } else if let Some(c) = self.closing_mut(id) {
                c.open = c.open.saturating_add(1);
            }
        }
        self.streams.insert((s.key, s.first_seq), link, ts);
    }

    fn associate(&self, key: &StreamKey) -> Link {
        let hit = match self.endpoints.get(&key.dst) {
            Some(ep) => Some((ep, ep.side.other(), key.src.ip())),
            None => self
                .endpoints
                .get(&key.src)
                .map(|ep| (ep, ep.side, key.dst.ip())),
        };
        let Some((ep, sender, far)) = hit else {
            return Link {
                call_id: None,
                sender: None,
                m_index: 0,
                foreign: false,
            };
        };
        let foreign = self
            .calls
            .get(&ep.call_id)
            .or_else(|| self.closing.get(&ep.call_id))
            .is_some_and(|c| !c.knows(far));
        Link {
            call_id: Some(ep.call_id.clone()),
            sender: Some(sender),
            m_index: ep.m_index,
            foreign,
        }
    }

    /// Keeps the latest RTCP figures per reporter and source.
    pub fn on_rtcp(&mut self, ts: PacketTime, r: &RtcpSeen) {
        let ip = r.src.ip();
        if let Some((packets, octets)) = r.sender {
            let f = self
                .rtcp
                .get_or_insert_with((ip, r.reporter), ts, RtcpFigures::default);
            f.sender_packets = Some(packets);
            f.sender_octets = Some(octets);
        }
        for b in &r.blocks {
            let f = self
                .rtcp
                .get_or_insert_with((ip, b.ssrc), ts, RtcpFigures::default);
            f.fraction_lost = Some(f64::from(b.fraction_lost) / 256.0);
            f.cumulative_lost = Some(b.cumulative_lost);
            // Kept in timestamp units until the stream's clock rate is known (see `stream_record`).
            f.jitter_ms = Some(f64::from(b.jitter));
        }
    }

    /// A stream's figures: into its call's record, or out as an unassociated stream.
    pub fn on_rtp_end(&mut self, ts: PacketTime, e: &RtpEnd) {
        let mut link = self.streams.remove(&(e.key, e.first_seq));
        let started = link.is_some();
        if link.as_ref().is_none_or(|l| l.call_id.is_none()) {
            // Never started (short stream) or not explained at its start: the SDP may have come since.
            link = Some(self.associate(&e.key));
            if link.as_ref().is_some_and(|l| l.call_id.is_some()) {
                self.stats.streams_associated += 1;
            }
        }
        let link = link.unwrap_or(Link {
            call_id: None,
            sender: None,
            m_index: 0,
            foreign: false,
        });
        let Some(id) = link.call_id.clone() else {
            self.stats.streams_unassociated += 1;
            let rec = self.stream_record(e, None, &link);
            self.loose.push(rec);
            return;
        };
        let was_open = started
            && self
                .calls
                .get(&id)
                .or_else(|| self.closing.get(&id))
                .is_some();
        if let Some(c) = self.calls.get(&id).or_else(|| self.closing.get(&id)) {
            let rec = self.stream_record(e, Some(c), &link);
            let in_calls = self.calls.get(&id).is_some();
            let c = if in_calls {
                self.calls.get_mut(&id, ts)
            } else {
                self.closing_mut(&id)
            };
            if let Some(c) = c {
                if was_open {
                    c.open = c.open.saturating_sub(1);
                }
                if c.rec.streams.len() < MAX_STREAMS_PER_CALL {
                    c.rec.streams.push(rec);
                } else {
                    c.rec.streams_dropped = c.rec.streams_dropped.saturating_add(1);
                }
                if !in_calls
                    && c.open == 0
                    && let Some(c) = self.closing.remove(&id)
                {
                    self.write(c);
                }
            }
        } else {
            // Its call was written already (or evicted): the figures go out on their own, naming it.
            self.stats.streams_late += 1;
            let mut rec = self.stream_record(e, None, &link);
            rec.call_id = Some(id.to_string());
            rec.sender = link.sender;
            self.loose.push(rec);
        }
    }

    fn stream_record(&self, e: &RtpEnd, call: Option<&Call>, link: &Link) -> StreamRecord {
        let receiver_media = call.and_then(|c| {
            let side = link.sender?.other();
            c.sdp.get(side.index())?.as_ref()?.media.get(link.m_index)
        });
        let sender_media = call.and_then(|c| {
            c.sdp
                .get(link.sender?.index())?
                .as_ref()?
                .media
                .get(link.m_index)
        });
        let pt = e.summary.payload_type;
        let codec = receiver_media
            .and_then(|m| m.codec(pt))
            .or_else(|| sender_media.and_then(|m| m.codec(pt)))
            .map(|c| c.name.to_string())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                callguard_parsers::rtp::PayloadType(pt)
                    .name()
                    .map(str::to_owned)
            });
        let ptime = receiver_media
            .and_then(|m| m.ptime)
            .or_else(|| sender_media.and_then(|m| m.ptime));
        let sdp_encryption = call.and_then(|c| negotiated(c, link.m_index));
        let encryption = judge(sdp_encryption, &e.evidence);
        let packet_ms = match ptime {
            Some(p) => f64::from(p),
            None => e.summary.mean_delta_ms,
        };
        let quality = quality::mos_estimate(
            codec.as_deref().unwrap_or(""),
            e.summary.loss_ratio(),
            e.summary.jitter_ms,
            packet_ms,
        );
        let rtcp = self.rtcp_for(&e.key, e.summary.clock_rate);
        StreamRecord {
            key: e.key,
            call_id: call.map(|c| c.rec.call_id.clone()),
            sender: link.sender,
            m_index: call.map(|_| link.m_index),
            media: receiver_media.or(sender_media).map(|m| m.kind.to_string()),
            codec,
            encryption,
            sdp_encryption,
            evidence: e.evidence,
            summary: e.summary.clone(),
            end: e.reason,
            ptime,
            quality,
            rtcp,
            foreign: link.foreign,
        }
    }

    fn rtcp_for(&self, key: &StreamKey, clock: u32) -> Option<RtcpFigures> {
        let recv = self.rtcp.get(&(key.dst.ip(), key.ssrc));
        let send = self.rtcp.get(&(key.src.ip(), key.ssrc));
        if recv.is_none() && send.is_none() {
            return None;
        }
        let mut f = RtcpFigures::default();
        if let Some(r) = recv {
            f.fraction_lost = r.fraction_lost;
            f.cumulative_lost = r.cumulative_lost;
            f.jitter_ms = r
                .jitter_ms
                .filter(|_| clock != 0)
                .map(|j| j * 1000.0 / f64::from(clock));
        }
        if let Some(s) = send {
            f.sender_packets = s.sender_packets;
            f.sender_octets = s.sender_octets;
        }
        Some(f)
    }

    /// What is known of a started stream: its call and the encryption its SDP negotiated.
    pub fn stream(&self, key: &StreamKey, first_seq: u64) -> Option<StreamView<'_>> {
        let link = self.streams.get(&(*key, first_seq))?;
        let Some(id) = &link.call_id else {
            return Some(StreamView {
                call_id: None,
                sdp_encryption: None,
                proto: None,
                foreign: false,
            });
        };
        let call = self.calls.get(id).or_else(|| self.closing.get(id))?;
        let proto = link.sender.and_then(|s| {
            call.sdp
                .get(s.other().index())?
                .as_ref()?
                .media
                .get(link.m_index)
                .map(|m| &*m.proto)
        });
        Some(StreamView {
            call_id: Some(&call.rec.call_id),
            sdp_encryption: negotiated(call, link.m_index),
            proto,
            foreign: link.foreign,
        })
    }

    /// The `a=fingerprint` that a call's SDP announced for the media endpoint `addr` (the side that receives
    /// there is the side whose DTLS certificate must match it): call, side, hash function and value (lower
    /// case, as in the SDP).
    pub fn media_fingerprint(&self, addr: &SocketAddr) -> Option<MediaFingerprint<'_>> {
        let ep = self.endpoints.get(addr)?;
        let call = self
            .calls
            .get(&ep.call_id)
            .or_else(|| self.closing.get(&ep.call_id))?;
        let m = call
            .sdp
            .get(ep.side.index())?
            .as_ref()?
            .media
            .get(ep.m_index)?;
        let (hash, value) = m.fingerprint.as_ref()?;
        Some(MediaFingerprint {
            call_id: &call.rec.call_id,
            side: ep.side,
            m_index: ep.m_index,
            hash,
            value,
        })
    }

    /// The call and `m=` line whose SDP named `addr` as where its announcer receives media (calls in progress,
    /// and ended calls still waiting for their streams' figures).
    pub fn media_endpoint(&self, addr: &SocketAddr) -> Option<MediaEndpoint<'_>> {
        let ep = self.endpoints.get(addr)?;
        let call = self
            .calls
            .get(&ep.call_id)
            .or_else(|| self.closing.get(&ep.call_id))?;
        let m = call
            .sdp
            .get(ep.side.index())?
            .as_ref()?
            .media
            .get(ep.m_index);
        Some(MediaEndpoint {
            call_id: &call.rec.call_id,
            side: ep.side,
            m_index: ep.m_index,
            codec: m.and_then(|m| m.codecs.first()),
            ptime: m.and_then(|m| m.ptime),
        })
    }

    /// Ends the calls idle for longer than the timeout, and writes the ended calls whose wait ran out.
    pub fn expire(&mut self, now: PacketTime) {
        // Challenged calls whose caller never retried: rejected with the challenge's status, at its time.
        let mut unanswered = Vec::new();
        self.challenged
            .expire_with(now, |id, at| unanswered.push((id, at)));
        for (id, at) in unanswered {
            if let Some(mut c) = self.calls.remove(&id).filter(|c| c.challenged) {
                c.rec.reason = EndReason::Rejected;
                c.rec.end = at;
                self.close_or_wait(id, c, now);
            }
        }
        let mut ended = Vec::new();
        self.calls.expire_with(now, |_, c| ended.push(c));
        ended.sort_by_key(|c| c.order);
        for mut c in ended {
            Self::stamp(&mut c, EndReason::Timeout);
            if c.open == 0 {
                self.write(c);
            } else {
                let id: Box<str> = c.rec.call_id.as_str().into();
                self.closing.insert(id, c, now);
            }
        }
        let mut waited = Vec::new();
        self.closing.expire_with(now, |_, c| waited.push(c));
        waited.sort_by_key(|c| c.order);
        for c in waited {
            self.write(c);
        }
        self.endpoints.expire(now);
        self.streams.expire(now);
        self.rtcp.expire(now);
        self.registers.expire(now);
    }

    fn stamp(c: &mut Call, reason: EndReason) {
        if let Some((t, by)) = c.bye {
            c.rec.end = t;
            c.rec.ended_by = Some(by);
        }
        c.rec.reason = reason;
    }

    /// End of input (after the workers' last stream figures): every call still open or waiting is written, in
    /// the order the calls started.
    pub fn finish(&mut self) {
        let mut open: Vec<(Call, bool)> = Vec::new();
        let end = PacketTime::from_nanos(u64::MAX);
        self.calls.expire_with(end, |_, c| open.push((c, true)));
        self.closing.expire_with(end, |_, c| open.push((c, false)));
        open.sort_by_key(|(c, _)| c.order);
        for (mut c, running) in open {
            if running {
                Self::stamp(&mut c, EndReason::CaptureEnd);
            }
            self.write(c);
        }
    }

    /// Takes the records of the calls that ended.
    pub fn drain(&mut self) -> std::vec::Drain<'_, CallRecord> {
        self.done.drain(..)
    }

    /// Takes the records of streams no call explained (or whose call was written before they ended).
    pub fn drain_streams(&mut self) -> std::vec::Drain<'_, StreamRecord> {
        self.loose.drain(..)
    }

    /// Counters.
    pub fn stats(&self) -> CallStats {
        self.stats
    }

    /// Calls in progress (not ended).
    pub fn active(&self) -> usize {
        self.calls.len()
    }

    /// The tracker's tables, by name.
    pub fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![
            ("calls", self.calls.stats()),
            ("calls_closing", self.closing.stats()),
            ("media_endpoints", self.endpoints.stats()),
            ("streams", self.streams.stats()),
            ("rtcp", self.rtcp.stats()),
            ("registers", self.registers.stats()),
            ("calls_challenged", self.challenged.stats()),
        ]
    }

    /// The calls table's figures.
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
        let mut m = crate::testkit::Sip::request(cseq_method, "10.0.0.11:5060", "10.0.0.1:5060")
            .call("c1")
            .tags(from_tag, None)
            .seen();
        m.method = method.map(Into::into);
        m.status = status;
        m.to_user = Some("2001".into());
        m.user_agent = Some("phone".into());
        m
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
    fn a_challenged_invite_and_its_retry_with_credentials_are_one_call() {
        let mut ct = CallTracker::default();
        let with_cseq = |mut m: SipSeen, cseq: u32| {
            m.cseq = cseq;
            m
        };
        ct.on_sip(
            t(0),
            &with_cseq(sip(Some("INVITE"), None, "INVITE", "a"), 1),
        );
        ct.on_sip(t(5), &with_cseq(sip(None, Some(407), "INVITE", "a"), 1));
        ct.on_sip(t(6), &with_cseq(sip(Some("ACK"), None, "ACK", "a"), 1));
        assert_eq!(ct.drain().count(), 0, "a challenge is not the end");
        ct.on_sip(
            t(20),
            &with_cseq(sip(Some("INVITE"), None, "INVITE", "a"), 2),
        );
        ct.on_sip(t(900), &with_cseq(sip(None, Some(200), "INVITE", "a"), 2));
        ct.on_sip(t(5000), &with_cseq(sip(Some("BYE"), None, "BYE", "a"), 3));
        ct.on_sip(t(5010), &with_cseq(sip(None, Some(200), "BYE", "a"), 3));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].reason, EndReason::Bye);
        assert_eq!(r[0].status, Some(200));
        assert_eq!(r[0].answered, Some(t(900)));
        assert_eq!(r[0].start, t(0));
        // A challenge nobody answers ends the call, rejected, when the transaction would have timed out.
        ct.on_sip(
            t(10_000),
            &with_cseq(sip(Some("INVITE"), None, "INVITE", "x"), 1),
        );
        ct.on_sip(
            t(10_005),
            &with_cseq(sip(None, Some(401), "INVITE", "x"), 1),
        );
        ct.expire(t(10_005 + 31_000));
        assert_eq!(ct.drain().count(), 0);
        ct.expire(t(10_005 + 33_000));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].reason, r[0].status, r[0].end),
            (EndReason::Rejected, Some(401), t(10_005))
        );
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

    fn with_sdp(mut m: SipSeen, ip: &str, port: u16, proto: &str) -> SipSeen {
        let mut md = crate::testkit::media(proto, port);
        md.rtcp_port = Some(port + 1);
        md.crypto_count = u16::from(proto.contains("SAVP"));
        md.codecs = vec![crate::event::CodecSeen {
            pt: 0,
            name: "PCMU".into(),
            clock: 8000,
        }];
        m.sdp = Some(Box::new(SdpSeen {
            session_addr: Some(ip.parse().unwrap()),
            media: vec![md],
        }));
        m.has_sdp = true;
        m
    }

    fn key(src: &str, dst: &str) -> StreamKey {
        StreamKey {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ssrc: 42,
        }
    }

    fn rtp_end(k: StreamKey, first_seq: u64, at: PacketTime) -> RtpEnd {
        RtpEnd {
            key: k,
            first_seq,
            reason: StreamEnd::Idle,
            summary: crate::event::RtpSummary {
                payload_type: 0,
                payload_type_changes: 0,
                packets: 500,
                payload_bytes: 80_000,
                first: t(2000),
                last: at,
                expected: 505,
                lost: 5,
                duplicates: 0,
                out_of_order: 0,
                seq_resets: 0,
                clock_rate: 8000,
                jitter_ms: 1.5,
                max_jitter_ms: 3.0,
                mean_jitter_ms: 1.2,
                max_delta_ms: 40.0,
                mean_delta_ms: 20.0,
            },
            evidence: MediaEvidence::default(),
        }
    }

    fn rtp_start(k: StreamKey, first_seq: u64) -> RtpStart {
        RtpStart {
            key: k,
            first_seq,
            first: t(2000),
            payload_type: 0,
            evidence: MediaEvidence::default(),
        }
    }

    /// A call 10.0.0.11 -> 10.0.0.12 with SDP both ways (media at :16000 and :20000).
    fn answered_call(ct: &mut CallTracker, caller_proto: &str, callee_proto: &str) {
        ct.on_sip(
            t(0),
            &with_sdp(
                sip(Some("INVITE"), None, "INVITE", "a"),
                "10.0.0.11",
                16000,
                caller_proto,
            ),
        );
        let mut ok = with_sdp(
            sip(None, Some(200), "INVITE", "a"),
            "10.0.0.12",
            20000,
            callee_proto,
        );
        ok.src = "10.0.0.1:5060".parse().unwrap();
        ct.on_sip(t(2000), &ok);
    }

    #[test]
    fn streams_are_tied_to_their_call_and_the_record_waits_for_their_figures() {
        let mut ct = CallTracker::default();
        answered_call(&mut ct, "RTP/AVP", "RTP/AVP");
        let fwd = key("10.0.0.11:16000", "10.0.0.12:20000");
        let back = key("10.0.0.12:20000", "10.0.0.11:16000");
        ct.on_rtp_start(t(2100), &rtp_start(fwd, 10));
        ct.on_rtp_start(t(2100), &rtp_start(back, 11));
        let v = ct.stream(&fwd, 10).unwrap();
        assert_eq!(v.call_id, Some("c1"));
        assert_eq!(v.sdp_encryption, Some(Encryption::Rtp));
        ct.on_sip(t(9000), &sip(Some("BYE"), None, "BYE", "a"));
        ct.on_sip(t(9010), &sip(None, Some(200), "BYE", "a"));
        assert_eq!(ct.drain().count(), 0, "waits for its streams");
        ct.on_rtp_end(t(19_000), &rtp_end(fwd, 10, t(9000)));
        assert_eq!(ct.drain().count(), 0);
        ct.on_rtp_end(t(19_000), &rtp_end(back, 11, t(9000)));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].streams.len(), 2);
        let s = &r[0].streams[0];
        assert_eq!(s.sender, Some(Party::Caller));
        assert_eq!(s.codec.as_deref(), Some("PCMU"));
        assert_eq!(s.encryption, Encryption::Rtp);
        assert!(
            s.quality.mos > 3.5 && s.quality.mos < 4.5,
            "{}",
            s.quality.mos
        );
        assert_eq!(r[0].posture(), Some(Posture::Unprotected));
        assert_eq!(ct.stats().streams_associated, 2);
    }

    #[test]
    fn a_downgraded_answer_and_a_latched_stream() {
        let mut ct = CallTracker::default();
        answered_call(&mut ct, "RTP/SAVP", "RTP/AVP");
        // The callee sends from its SDP port to a NATed address the caller's SDP never named.
        let latched = key("10.0.0.12:20000", "192.0.2.7:40000");
        ct.on_rtp_start(t(2100), &rtp_start(latched, 5));
        let v = ct.stream(&latched, 5).unwrap();
        assert_eq!(v.call_id, Some("c1"));
        assert_eq!(v.sdp_encryption, Some(Encryption::Rtp));
    }

    #[test]
    fn unexplained_streams_and_late_figures_are_reported_alone() {
        let mut ct = CallTracker::new(10, Duration::from_secs(60));
        let k = key("10.9.9.9:4000", "10.9.9.8:4002");
        ct.on_rtp_start(t(0), &rtp_start(k, 1));
        ct.on_rtp_end(t(20_000), &rtp_end(k, 1, t(10_000)));
        let s: Vec<StreamRecord> = ct.drain_streams().collect();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].call_id, None);
        assert_eq!(s[0].encryption, Encryption::Unknown);
        assert_eq!(ct.stats().streams_unassociated, 1);
        // A call whose wait runs out is written with its stream still open; the figures come later alone.
        answered_call(&mut ct, "RTP/AVP", "RTP/AVP");
        let fwd = key("10.0.0.11:16000", "10.0.0.12:20000");
        ct.on_rtp_start(t(2100), &rtp_start(fwd, 10));
        ct.on_sip(t(9000), &sip(Some("BYE"), None, "BYE", "a"));
        ct.on_sip(t(9010), &sip(None, Some(200), "BYE", "a"));
        ct.expire(t(9010 + (MEDIA_WAIT_SECS + 1) * 1000));
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!(r[0].streams_open, 1);
        ct.on_rtp_end(t(40_000), &rtp_end(fwd, 10, t(30_000)));
        let s: Vec<StreamRecord> = ct.drain_streams().collect();
        assert_eq!(s[0].call_id.as_deref(), Some("c1"));
        assert_eq!(ct.stats().streams_late, 1);
    }

    #[test]
    fn rtcp_reports_join_the_stream_they_describe() {
        let mut ct = CallTracker::default();
        answered_call(&mut ct, "RTP/AVP", "RTP/AVP");
        let fwd = key("10.0.0.11:16000", "10.0.0.12:20000");
        ct.on_rtp_start(t(2100), &rtp_start(fwd, 10));
        ct.on_rtcp(
            t(5000),
            &RtcpSeen {
                src: "10.0.0.12:20001".parse().unwrap(),
                dst: "10.0.0.11:16001".parse().unwrap(),
                reporter: 99,
                sender: None,
                blocks: vec![crate::event::ReportSeen {
                    ssrc: 42,
                    fraction_lost: 64,
                    cumulative_lost: 5,
                    jitter: 80,
                }],
            },
        );
        ct.on_rtp_end(t(19_000), &rtp_end(fwd, 10, t(9000)));
        ct.finish();
        let r: Vec<CallRecord> = ct.drain().collect();
        let q = r[0].streams[0].rtcp.unwrap();
        assert_eq!(q.fraction_lost, Some(0.25));
        assert_eq!(q.jitter_ms, Some(10.0));
    }

    #[test]
    fn register_transactions_are_counted_by_outcome() {
        let mut ct = CallTracker::default();
        let mut reg = sip(Some("REGISTER"), None, "REGISTER", "a");
        ct.on_sip(t(0), &reg);
        ct.on_sip(t(1), &sip(None, Some(401), "REGISTER", "a"));
        reg.cseq = 2;
        ct.on_sip(t(2), &reg);
        let mut ok = sip(None, Some(200), "REGISTER", "a");
        ok.cseq = 2;
        ct.on_sip(t(3), &ok);
        let s = ct.stats();
        assert_eq!(
            (s.registers, s.register_challenged, s.register_ok, s.started),
            (2, 1, 1, 0)
        );
    }

    #[test]
    fn forks_and_reinvites_are_counted() {
        let mut ct = CallTracker::default();
        ct.on_sip(t(0), &sip(Some("INVITE"), None, "INVITE", "a"));
        for tag in ["x", "y", "x"] {
            let mut r = sip(None, Some(180), "INVITE", "a");
            r.to_tag = Some(tag.into());
            ct.on_sip(t(10), &r);
        }
        ct.on_sip(t(20), &sip(None, Some(200), "INVITE", "a"));
        let mut re = sip(Some("INVITE"), None, "INVITE", "a");
        re.cseq = 2;
        ct.on_sip(t(30), &re);
        ct.finish();
        let r: Vec<CallRecord> = ct.drain().collect();
        assert_eq!((r[0].forks, r[0].reinvites), (2, 1));
    }
}
