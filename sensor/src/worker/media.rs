//! Media, per worker: RTP streams (RFC 3550), RTCP reports, and the protocols that key SRTP or open a media
//! path on the same 5-tuple (DTLS-SRTP, ZRTP, STUN/ICE), turned into [`Payload::RtpStart`],
//! [`Payload::RtpEnd`] and [`Payload::Rtcp`] events for the engine. RTP packets make no event each; a stream
//! makes one start and one end.
//!
//! # Streams and candidates
//!
//! A stream is one direction of RTP keyed as tshark keys it ([`StreamKey`]): sender address and port,
//! receiver address and port, SSRC. (The table's key is the same thing built from the worker's flow key,
//! [`DirKey`], which is cheaper to hash than socket addresses: this runs for every RTP packet.) Any UDP datagram that passes the RTP header checks
//! ([`rtp::probe_rtp`]) might be RTP, so a new key is only a *candidate*, held in a table of its own. It
//! becomes a confirmed stream when a second packet of the key arrives whose sequence number is
//! 1..=[`MAX_CONFIRM_STEP`] ahead of the previous one: header checks plus consistency over packets, the
//! spirit of RFC 3550 §A.1's probation. Candidates that never confirm are dropped without an event and
//! counted (`unconfirmed`). Because candidates have their own capped table, a flood of one-packet "RTP" from
//! spoofed sources only churns that table: it emits nothing and never pushes a confirmed stream out.
//!
//! Every packet of a key, from its first, feeds the key's [`StreamStats`] (tshark counts from the first
//! packet, and so must we), so a candidate carries its figures into the stream it becomes.
//!
//! A sender that restarts its sequence numbers (a jump confirmed by the next packet, RFC 3550 §A.1) starts a
//! new stream: the old one ends (`restart`) with its figures as they were before the jump, and the new one
//! begins with the jump packet. A device that keeps its ports and SSRC from one call to the next (sipp
//! replaying a file, some gateways) thus makes one stream per call, each tied to its own call by the engine;
//! tshark lists such a key as one stream with sequence errors (on `lab-calls.pcap` each part matches tshark's
//! figures for that call's time window).
//!
//! # Clock rate
//!
//! Jitter needs the RTP clock. Static payload types take theirs from RFC 3551's table
//! ([`rtp_stats::clock_rate`]). For dynamic types (96-127) tshark reads the SDP `a=rtpmap`; a worker does
//! not see the SDP (it travels on another flow, often to another worker), so the rate is inferred from the
//! data instead: once a stream has [`CLOCK_INFER_PACKETS`] packets spanning at least
//! [`CLOCK_INFER_MIN_SPAN_MS`], its RTP timestamp advance over its arrival-time advance is snapped to the
//! nearest of [`CLOCK_RATES`]. Until then the rate is 0 (no jitter), so jitter of a dynamic-type stream
//! starts a few packets later than tshark's (with its rtpmap) would.
//!
//! # Media evidence
//!
//! Whether media is encrypted can often be told without signalling: a plain frame of a fixed-rate codec has
//! an exact size for its duration (160 bytes of PCMU for 160 samples), and SRTP appends an authentication
//! tag (RFC 3711 §3.1, 4 or 10 bytes with the usual suites, 4 more with an MKI). [`plain_frame_bytes`] gives
//! the plain size from the RTP timestamp step between consecutive packets, and each judged packet counts
//! as codec-sized, tag-sized or neither ([`MediaEvidence`]). DTLS records, ZRTP Hellos and STUN on the
//! stream's 5-tuple (either direction) are flagged on the worker's flow entry ([`MediaFlags`]) and copied
//! into the stream's evidence.
//!
//! # Events and determinism
//!
//! The engine merges the workers' event streams by `(seq, Event::tiebreak())`, and the same capture must
//! give the same output with 1 worker or N. So:
//! - [`Payload::RtpStart`] carries the sequence number and time of the packet that triggers it (see
//!   [`Media::rtp`] for when), and a stream evicted because the table is full ends at the packet that made
//!   the room ([`StreamEnd::Evicted`]). Packet sequence numbers belong to one worker, so nothing else shares
//!   them.
//! - Idle streams end in the once-a-second sweep ([`Media::sweep`]) with the sequence number of the batch
//!   that triggered the sweep (the clock marker of the new second, the same for every worker) and that
//!   batch's time, sorted by their first packet's sequence number; [`Event::tiebreak`] orders them after
//!   the marker and across workers by the same key.
//! - At the end of input ([`Media::finish`]) every stream ends with sequence number `u64::MAX` and the time
//!   of its own last packet (a worker's own clock would depend on which flows it got), sorted likewise.
//! - A confirmed stream that ends before its start was emitted gets its start right before its end, with
//!   the same sequence number and tiebreak.

use std::net::SocketAddr;
use std::time::Duration;

use callguard_parsers::rtp::{self, PayloadType, rtcp};
use callguard_rules::event::{
    Event, MediaEvidence, Payload, ReportSeen, RtcpSeen, RtpEnd, RtpStart, RtpSummary, StreamEnd,
    StreamKey,
};
use callguard_rules::table::{BoundedMap, TableStats};
use callguard_rules::time::PacketTime;

use super::flow::DirKey;
use super::rtp_stats::{self, Jump, StreamStats, StreamSummary};

/// Confirmed streams one worker tracks at most (an entry is about 460 bytes with its key and the hash table's
/// slack: 30 MB at the cap).
pub const MAX_RTP_STREAMS: usize = 65_536;
/// Unconfirmed candidates one worker holds at most (7.5 MB at the cap); beyond this the least recently seen
/// are dropped (and counted as unconfirmed). Kept apart from the streams so that a flood of spoofed one-packet "RTP" costs
/// this table and nothing else.
pub const MAX_RTP_CANDIDATES: usize = 16_384;
/// A stream (or candidate) with no packet for this long, in packet time, ends. RTP flows every 20-60 ms while
/// a call is up; ten seconds outlasts comfort-noise silence and hold without marker packets.
pub const RTP_IDLE_SECS: u64 = 10;
/// A candidate is confirmed by a packet whose sequence number is this many or fewer ahead of the previous
/// one (and at least one): a little loss is allowed, a random 16-bit value almost never fits (16 in 65536).
pub const MAX_CONFIRM_STEP: u16 = 16;
/// A stream of a judgeable codec (see [`plain_frame_bytes`]) waits for [`MediaEvidence::MIN_JUDGED`] judged
/// packets before its start is emitted, so the start already says what the media looks like; but never
/// longer than this many packets.
pub const START_AFTER_PACKETS: u64 = 16;
/// The longest frame judged, in timestamp units: 200 ms at 8 kHz (every judgeable codec has an 8 kHz
/// clock). A longer step between consecutive sequence numbers is a silence gap without a marker, not a
/// frame.
pub const MAX_FRAME_TS_STEP: u32 = 1600;
/// SRTP authentication tag lengths (RFC 3711 §5.2: HMAC-SHA1-80 and -32, RFC 4568 suites), and the same
/// with a 4-byte MKI (RFC 3711 §3.1).
pub const SRTP_TAG_BYTES: [usize; 4] = [4, 10, 8, 14];
/// RTP clock rates a dynamic payload type's inferred rate is snapped to (RFC 3551, RFC 7587 Opus, video).
pub const CLOCK_RATES: [u32; 5] = [8000, 16_000, 32_000, 48_000, 90_000];
/// Packets a stream of a dynamic payload type needs before its clock rate is inferred.
pub const CLOCK_INFER_PACKETS: u64 = 8;
/// Arrival time a stream must span before its clock rate is inferred (shorter spans are all capture jitter).
pub const CLOCK_INFER_MIN_SPAN_MS: u64 = 100;
/// RTCP report blocks kept per report (RFC 3550 allows 31; the engine needs the first few).
pub const MAX_RTCP_BLOCKS: usize = 4;
/// SR and RR packets reported per RTCP compound; the rest are counted (`rtcp_clipped`). A compound has one,
/// or a few when a reporter hears more than 31 sources (RFC 3550 §6.4.2), and a datagram of empty RRs
/// could otherwise make thousands of events.
pub const MAX_RTCP_REPORTS: usize = 4;

/// Comfort noise (RFC 3389) and the old type 19: no codec frames, and the timestamp jumps across silence.
const COMFORT_NOISE: [PayloadType; 2] = [PayloadType::CN, PayloadType(19)];
/// RTP timestamps this far ahead or more are behind, in serial arithmetic (RFC 1982).
const TS_HALF_RANGE: u32 = 0x8000_0000;

/// Protocols seen on a 5-tuple that say how its media is keyed or reached, kept on the flow entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaFlags(u8);

impl MediaFlags {
    /// Nothing seen.
    pub const NONE: MediaFlags = MediaFlags(0);
    /// A DTLS record (DTLS-SRTP keying, RFC 5764).
    pub const DTLS: MediaFlags = MediaFlags(1);
    /// A ZRTP Hello (RFC 6189).
    pub const ZRTP: MediaFlags = MediaFlags(2);
    /// A STUN message (ICE connectivity checks, RFC 8445).
    pub const STUN: MediaFlags = MediaFlags(4);
    /// An RTP packet (what rate reports say about the flow; not media evidence).
    pub const RTP: MediaFlags = MediaFlags(8);
    /// A SIP message (likewise).
    pub const SIP: MediaFlags = MediaFlags(16);

    /// Whether every flag of `o` is set.
    pub fn contains(self, o: MediaFlags) -> bool {
        self.0 & o.0 == o.0
    }

    /// Sets the flags of `o`.
    pub fn insert(&mut self, o: MediaFlags) {
        self.0 |= o.0;
    }

    fn apply(self, e: &mut MediaEvidence) {
        e.dtls |= self.contains(Self::DTLS);
        e.zrtp |= self.contains(Self::ZRTP);
        e.stun |= self.contains(Self::STUN);
    }
}

/// Whether `pt` is a static fixed-rate codec whose frame size [`plain_frame_bytes`] knows.
pub fn is_judgeable(pt: PayloadType) -> bool {
    matches!(
        pt,
        PayloadType::PCMU
            | PayloadType::PCMA
            | PayloadType::G722
            | PayloadType::G729
            | PayloadType::GSM
            | PayloadType::G728
    )
}

/// The size of a plain frame of `pt` covering `step` RTP timestamp units (RFC 3551 §4.5): PCMU, PCMA and
/// G.722 one byte per unit; G.729 10 bytes per 80 samples; GSM 33 bytes per 160; G.728 5 bytes per 20
/// (`step / 4`). `None` for other types, a step of 0, a step that is not a whole number of frames, or one
/// longer than [`MAX_FRAME_TS_STEP`].
pub fn plain_frame_bytes(pt: PayloadType, step: u32) -> Option<usize> {
    if step == 0 || step > MAX_FRAME_TS_STEP {
        return None;
    }
    let bytes = match pt {
        PayloadType::PCMU | PayloadType::PCMA | PayloadType::G722 => step,
        PayloadType::G729 if step.is_multiple_of(80) => step / 8,
        PayloadType::GSM if step.is_multiple_of(160) => step / 160 * 33,
        PayloadType::G728 if step.is_multiple_of(20) => step / 4,
        _ => return None,
    };
    usize::try_from(bytes).ok()
}

/// Snaps a measured RTP clock rate (timestamp units per second) to the nearest of [`CLOCK_RATES`] by
/// ratio; `None` when it is below half the smallest or above twice the largest (not a media clock).
pub fn snap_clock(rate: f64) -> Option<u32> {
    let lo = CLOCK_RATES.first().copied().unwrap_or(0);
    let hi = CLOCK_RATES.last().copied().unwrap_or(0);
    if !(rate >= f64::from(lo) / 2.0 && rate <= f64::from(hi) * 2.0) {
        return None;
    }
    CLOCK_RATES.iter().copied().min_by(|a, b| {
        let da = (rate / f64::from(*a)).ln().abs();
        let db = (rate / f64::from(*b)).ln().abs();
        da.total_cmp(&db)
    })
}

/// One stream (or candidate).
#[derive(Debug, Clone)]
struct Stream {
    /// Who sends, to whom, which SSRC: what the events say.
    key: StreamKey,
    stats: StreamStats,
    /// Sequence number and time of the first packet: the stream's identity in events.
    first_seq: u64,
    first: PacketTime,
    first_pt: PayloadType,
    first_rtp_ts: u32,
    evidence: MediaEvidence,
    started: bool,
    /// The previous packet's sequence number, RTP timestamp and payload type.
    prev_seq: u16,
    prev_rtp_ts: u32,
    prev_pt: PayloadType,
    /// Inferred clock rate for dynamic payload types (0: not yet).
    clock: u32,
    /// A sequence jump waiting for its confirmation: the stream as it was before the jump, and the jump
    /// packet (see [`Media::rtp`]: a confirmed jump splits the stream).
    jump: Option<Box<PendingJump>>,
}

/// The state kept while a sequence jump waits for its confirmation.
#[derive(Debug, Clone)]
struct PendingJump {
    before: Stream,
    packet: Replay,
}

/// What the figures need of one RTP packet, to feed it again into a new segment: the header fields and the
/// payload length (the payload's bytes are never looked at).
#[derive(Debug, Clone, Copy)]
struct Replay {
    seq: u64,
    ts: PacketTime,
    marker: bool,
    pt: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload_len: usize,
}

impl Replay {
    fn of(seq: u64, ts: PacketTime, p: &rtp::Packet<'_>) -> Self {
        Self {
            seq,
            ts,
            marker: p.marker(),
            pt: p.payload_type().0,
            sequence: p.sequence(),
            timestamp: p.timestamp(),
            ssrc: p.ssrc(),
            payload_len: p.payload().len(),
        }
    }

    /// The packet's bytes again: the header, and zeros for the payload.
    fn bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(12 + self.payload_len);
        b.push(0x80);
        b.push(u8::from(self.marker) << 7 | (self.pt & 0x7f));
        b.extend_from_slice(&self.sequence.to_be_bytes());
        b.extend_from_slice(&self.timestamp.to_be_bytes());
        b.extend_from_slice(&self.ssrc.to_be_bytes());
        b.resize(12 + self.payload_len, 0);
        b
    }
}

impl Stream {
    fn new(key: StreamKey, seq: u64, ts: PacketTime, p: &rtp::Packet<'_>) -> Self {
        Self {
            key,
            stats: StreamStats::new(),
            first_seq: seq,
            first: ts,
            first_pt: p.payload_type(),
            first_rtp_ts: p.timestamp(),
            evidence: MediaEvidence::default(),
            started: false,
            prev_seq: p.sequence(),
            prev_rtp_ts: p.timestamp(),
            prev_pt: p.payload_type(),
            clock: 0,
            jump: None,
        }
    }

    /// Accounts one packet (the first one too). Returns whether its sequence number follows the previous
    /// packet's closely enough to confirm a candidate.
    #[inline]
    fn packet(&mut self, ts: PacketTime, p: &rtp::Packet<'_>, flags: MediaFlags) -> bool {
        let first = self.stats.packets() == 0;
        let pt = p.payload_type();
        let step = p.sequence().wrapping_sub(self.prev_seq);
        if !first {
            self.judge(p, step);
        }
        let rate = if pt.is_dynamic() {
            if self.clock == 0 {
                self.infer_clock(ts, p);
            }
            self.clock
        } else {
            rtp_stats::clock_rate(pt, None)
        };
        self.stats.packet(ts, p, rate);
        flags.apply(&mut self.evidence);
        self.prev_seq = p.sequence();
        self.prev_rtp_ts = p.timestamp();
        self.prev_pt = pt;
        !first && (1..=MAX_CONFIRM_STEP).contains(&step)
    }

    /// Judges the payload size against the codec's plain frame for the timestamp step from the previous
    /// packet: only for the next sequence number, same payload type, no marker, no comfort noise.
    fn judge(&mut self, p: &rtp::Packet<'_>, seq_step: u16) {
        let pt = p.payload_type();
        if seq_step != 1 || p.marker() || pt != self.prev_pt || COMFORT_NOISE.contains(&pt) {
            return;
        }
        let step = p.timestamp().wrapping_sub(self.prev_rtp_ts);
        let Some(plain) = plain_frame_bytes(pt, step) else {
            return;
        };
        let len = p.payload().len();
        let e = &mut self.evidence;
        e.judged = e.judged.saturating_add(1);
        if len == plain {
            e.codec_sized = e.codec_sized.saturating_add(1);
        } else if SRTP_TAG_BYTES
            .iter()
            .any(|t| plain.checked_add(*t) == Some(len))
        {
            e.tag_sized = e.tag_sized.saturating_add(1);
        }
    }

    /// Infers the clock of a dynamic payload type from the timestamp advance over the arrival-time advance
    /// since the first packet (see the module doc).
    fn infer_clock(&mut self, ts: PacketTime, p: &rtp::Packet<'_>) {
        // This packet is not counted yet.
        if self.stats.packets() + 1 < CLOCK_INFER_PACKETS {
            return;
        }
        let span = ts.since(self.first);
        if span < Duration::from_millis(CLOCK_INFER_MIN_SPAN_MS) {
            return;
        }
        let ticks = p.timestamp().wrapping_sub(self.first_rtp_ts);
        if ticks >= TS_HALF_RANGE {
            return;
        }
        self.clock = snap_clock(f64::from(ticks) / span.as_secs_f64()).unwrap_or(0);
    }

    /// Whether a confirmed stream's start is due: its codec cannot be judged, or enough packets were
    /// judged, or it has waited long enough.
    fn start_due(&self) -> bool {
        !self.started
            && (!is_judgeable(self.first_pt)
                || self.evidence.judged >= MediaEvidence::MIN_JUDGED
                || self.stats.packets() >= START_AFTER_PACKETS)
    }

    fn start_event(&self, seq: u64, ts: PacketTime) -> Event {
        Event {
            seq,
            ts,
            payload: Payload::RtpStart(Box::new(RtpStart {
                key: self.key,
                first_seq: self.first_seq,
                first: self.first,
                payload_type: self.first_pt.0,
                evidence: self.evidence,
            })),
        }
    }
}

/// A [`StreamSummary`] as the event carries it.
pub fn rtp_summary(s: &StreamSummary) -> RtpSummary {
    RtpSummary {
        payload_type: s.payload_type.0,
        payload_type_changes: s.payload_type_changes,
        packets: s.packets,
        payload_bytes: s.payload_bytes,
        first: s.first,
        last: s.last,
        expected: s.expected,
        lost: s.lost,
        duplicates: s.duplicates,
        out_of_order: s.out_of_order,
        seq_resets: s.seq_resets,
        clock_rate: s.clock_rate,
        jitter_ms: s.jitter_ms,
        max_jitter_ms: s.max_jitter_ms,
        mean_jitter_ms: s.mean_jitter_ms,
        max_delta_ms: s.max_delta_ms,
        mean_delta_ms: s.mean_delta_ms,
    }
}

/// Figures of the media tracking, for the `stats` event.
#[derive(Debug, Clone, Copy, Default)]
pub struct MediaStats {
    /// Streams whose start was emitted.
    pub started: u64,
    /// Streams ended idle.
    pub ended_idle: u64,
    /// Streams ended because the table was full.
    pub ended_evicted: u64,
    /// Streams ended by the end of input.
    pub ended_capture_end: u64,
    /// Streams ended because the sender restarted its sequence numbers (a new stream follows).
    pub ended_restart: u64,
    /// Candidates dropped without being confirmed (idle, pushed out of their table, or left at the end).
    pub unconfirmed: u64,
    /// RTCP SR and RR packets reported.
    pub rtcp_reports: u64,
    /// RTCP compounds with a packet that did not decode.
    pub rtcp_malformed: u64,
    /// SR and RR packets beyond [`MAX_RTCP_REPORTS`] in one compound, not reported.
    pub rtcp_clipped: u64,
    /// The stream table.
    pub streams: TableStats,
    /// The candidate table.
    pub candidates: TableStats,
}

impl MediaStats {
    /// Adds another worker's figures.
    pub fn merge(&mut self, o: &MediaStats) {
        self.started += o.started;
        self.ended_idle += o.ended_idle;
        self.ended_evicted += o.ended_evicted;
        self.ended_capture_end += o.ended_capture_end;
        self.ended_restart += o.ended_restart;
        self.unconfirmed += o.unconfirmed;
        self.rtcp_reports += o.rtcp_reports;
        self.rtcp_malformed += o.rtcp_malformed;
        self.rtcp_clipped += o.rtcp_clipped;
        self.streams.merge(&o.streams);
        self.candidates.merge(&o.candidates);
    }
}

/// One worker's media state: the stream and candidate tables and their counters.
#[derive(Debug)]
pub struct Media {
    streams: BoundedMap<DirKey, Stream>,
    candidates: BoundedMap<DirKey, Stream>,
    counts: MediaStats,
    /// Candidates still unconfirmed when the input ended.
    left_unconfirmed: u64,
    /// Streams ending together, reused between sweeps.
    ending: Vec<Stream>,
}

impl Default for Media {
    fn default() -> Self {
        Self::new(MAX_RTP_STREAMS, MAX_RTP_CANDIDATES)
    }
}

impl Media {
    /// Tables of at most `streams` confirmed streams and `candidates` candidates.
    pub fn new(streams: usize, candidates: usize) -> Self {
        let idle = Duration::from_secs(RTP_IDLE_SECS);
        Self {
            streams: BoundedMap::new(streams, idle),
            candidates: BoundedMap::new(candidates, idle),
            counts: MediaStats::default(),
            left_unconfirmed: 0,
            ending: Vec::new(),
        }
    }

    /// Accounts one RTP packet from `src` to `dst` (capture-order sequence number `seq`), whose stream is
    /// `key` (its flow direction and SSRC), with the flags of its 5-tuple. A new key becomes a candidate; the packet that confirms a candidate makes it a stream
    /// (evicting the least recently active streams first when the table is full: their ends are emitted
    /// here). A confirmed stream's start is emitted at the first packet where [`MediaEvidence`] can say
    /// something: at once for a codec that cannot be judged, else after [`MediaEvidence::MIN_JUDGED`]
    /// judged packets or [`START_AFTER_PACKETS`] packets.
    #[inline]
    #[expect(
        clippy::too_many_arguments,
        reason = "the decoded layers of one packet, passed apart to avoid a copy"
    )]
    pub fn rtp(
        &mut self,
        seq: u64,
        ts: PacketTime,
        (src, dst): (SocketAddr, SocketAddr),
        key: DirKey,
        p: &rtp::Packet<'_>,
        flags: MediaFlags,
        out: &mut Vec<Event>,
    ) {
        // The common case, a known stream, costs one lookup.
        if let Some(s) = self.streams.get_mut(&key, ts) {
            match s.stats.jump(p.sequence()) {
                Jump::None => {}
                Jump::Starts => {
                    // Rare: keep the stream as it is, in case the next packet confirms a restart. A sender
                    // that jumps on every packet reuses the one box (no allocation per packet).
                    let pending = s.jump.take();
                    let before = s.clone();
                    let packet = Replay::of(seq, ts, p);
                    s.jump = Some(match pending {
                        Some(mut b) => {
                            *b = PendingJump { before, packet };
                            b
                        }
                        None => Box::new(PendingJump { before, packet }),
                    });
                }
                Jump::Confirms => {
                    if let Some(j) = s.jump.take() {
                        self.restart(seq, ts, key, *j, p, flags, out);
                        return;
                    }
                }
            }
            s.packet(ts, p, flags);
            if s.jump.is_some() && !s.stats.jump_pending() {
                s.jump = None;
            }
            if s.start_due() {
                s.started = true;
                self.counts.started += 1;
                out.push(s.start_event(seq, ts));
            }
            return;
        }
        let confirms = match self.candidates.get_mut(&key, ts) {
            Some(c) => c.packet(ts, p, flags),
            None => {
                let sk = StreamKey {
                    src,
                    dst,
                    ssrc: p.ssrc(),
                };
                let c = self
                    .candidates
                    .get_or_insert_with(key, ts, || Stream::new(sk, seq, ts, p));
                c.packet(ts, p, flags);
                return;
            }
        };
        if !confirms {
            return;
        }
        let Some(s) = self.candidates.remove(&key) else {
            return;
        };
        self.make_room(seq, ts, out);
        let s = self.streams.get_or_insert_with(key, ts, move || s);
        if s.start_due() {
            s.started = true;
            self.counts.started += 1;
            out.push(s.start_event(seq, ts));
        }
    }

    /// The sender restarted its sequence numbers (a confirmed jump, RFC 3550 §A.1): the stream as it was before
    /// the jump ends here (`restart`), and a new one begins with the jump packet and this one. A device that
    /// keeps its SSRC and ports from one call to the next (sipp replaying a file, some gateways) makes one
    /// stream per call this way, which is what ties each call to its own media.
    #[expect(
        clippy::too_many_arguments,
        reason = "the decoded layers of one packet, passed apart to avoid a copy"
    )]
    fn restart(
        &mut self,
        seq: u64,
        ts: PacketTime,
        key: DirKey,
        j: PendingJump,
        p: &rtp::Packet<'_>,
        flags: MediaFlags,
        out: &mut Vec<Event>,
    ) {
        let PendingJump { before, packet } = j;
        let bytes = packet.bytes();
        let Some(first) = rtp::rtp_packet(&bytes).or_else(|| rtp::Packet::new(&bytes).ok()) else {
            return;
        };
        let mut fresh = Stream::new(before.key, packet.seq, packet.ts, &first);
        fresh.packet(packet.ts, &first, flags);
        fresh.packet(ts, p, flags);
        let mut ending = std::mem::take(&mut self.ending);
        ending.push(before);
        self.end(&mut ending, seq, Some(ts), StreamEnd::Restart, out);
        self.ending = ending;
        let Some(s) = self.streams.get_mut(&key, ts) else {
            return;
        };
        *s = fresh;
        if s.start_due() {
            s.started = true;
            self.counts.started += 1;
            out.push(s.start_event(seq, ts));
        }
    }

    /// Makes room for one stream when the table is full: the least recently active streams end (evicted)
    /// at this packet.
    fn make_room(&mut self, seq: u64, ts: PacketTime, out: &mut Vec<Event>) {
        let mut ending = std::mem::take(&mut self.ending);
        self.streams.evict_with(|_, s| ending.push(s));
        self.end(&mut ending, seq, Some(ts), StreamEnd::Evicted, out);
        self.ending = ending;
    }

    /// Emits the ends of `ending` (and the starts not emitted yet), ordered by their first packet, with
    /// sequence number `seq` and time `ts` (each stream's last packet when `None`).
    fn end(
        &mut self,
        ending: &mut Vec<Stream>,
        seq: u64,
        ts: Option<PacketTime>,
        reason: StreamEnd,
        out: &mut Vec<Event>,
    ) {
        ending.sort_unstable_by_key(|s| s.first_seq);
        for s in ending.drain(..) {
            let summary = s.stats.snapshot();
            let ts = ts.unwrap_or(summary.last);
            if !s.started {
                self.counts.started += 1;
                out.push(s.start_event(seq, ts));
            }
            match reason {
                StreamEnd::Idle => self.counts.ended_idle += 1,
                StreamEnd::Evicted => self.counts.ended_evicted += 1,
                StreamEnd::CaptureEnd => self.counts.ended_capture_end += 1,
                StreamEnd::Restart => self.counts.ended_restart += 1,
            }
            out.push(Event {
                seq,
                ts,
                payload: Payload::RtpEnd(Box::new(RtpEnd {
                    key: s.key,
                    first_seq: s.first_seq,
                    reason,
                    summary: rtp_summary(&summary),
                    evidence: s.evidence,
                })),
            });
        }
    }

    /// The once-a-second sweep at packet time `now`: streams idle for [`RTP_IDLE_SECS`] end with sequence
    /// number `seq` (the batch's), in the order of their first packet; idle candidates are dropped.
    pub fn sweep(&mut self, now: PacketTime, seq: u64, out: &mut Vec<Event>) {
        self.candidates.expire_now(now);
        let mut ending = std::mem::take(&mut self.ending);
        self.streams.expire_with(now, |_, s| ending.push(s));
        self.end(&mut ending, seq, Some(now), StreamEnd::Idle, out);
        self.ending = ending;
    }

    /// End of input: every stream ends with sequence number `u64::MAX`, in the order of its first packet;
    /// candidates are dropped and counted.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let keys: Vec<DirKey> = self.streams.iter().map(|(k, _)| *k).collect();
        let mut ending = std::mem::take(&mut self.ending);
        for k in keys {
            if let Some(s) = self.streams.remove(&k) {
                ending.push(s);
            }
        }
        self.end(&mut ending, u64::MAX, None, StreamEnd::CaptureEnd, out);
        self.ending = ending;
        let keys: Vec<DirKey> = self.candidates.iter().map(|(k, _)| *k).collect();
        for k in keys {
            if self.candidates.remove(&k).is_some() {
                self.left_unconfirmed += 1;
            }
        }
    }

    /// Reports the SR and RR packets of an RTCP compound (one event each, at most [`MAX_RTCP_REPORTS`]);
    /// a compound with a packet that does not decode is counted as malformed (its good packets are still
    /// reported).
    pub fn rtcp(
        &mut self,
        seq: u64,
        ts: PacketTime,
        src: SocketAddr,
        dst: SocketAddr,
        bytes: &[u8],
        out: &mut Vec<Event>,
    ) {
        let Ok(c) = rtcp::Compound::new(bytes) else {
            self.counts.rtcp_malformed += 1;
            return;
        };
        let mut malformed = false;
        let mut reports = 0;
        for p in c.packets() {
            let (reporter, sender, blocks) = match p {
                Ok(rtcp::Packet::SenderReport(sr)) => {
                    let i = sr.sender_info();
                    (
                        sr.ssrc(),
                        Some((i.packet_count, i.octet_count)),
                        sr.report_blocks(),
                    )
                }
                Ok(rtcp::Packet::ReceiverReport(rr)) => (rr.ssrc(), None, rr.report_blocks()),
                Ok(_) => continue,
                Err(_) => {
                    malformed = true;
                    continue;
                }
            };
            if reports >= MAX_RTCP_REPORTS {
                self.counts.rtcp_clipped += 1;
                continue;
            }
            reports += 1;
            self.counts.rtcp_reports += 1;
            let blocks = blocks
                .take(MAX_RTCP_BLOCKS)
                .map(|b| ReportSeen {
                    ssrc: b.ssrc,
                    fraction_lost: b.fraction_lost,
                    cumulative_lost: b.cumulative_lost,
                    jitter: b.jitter,
                })
                .collect();
            out.push(Event {
                seq,
                ts,
                payload: Payload::Rtcp(Box::new(RtcpSeen {
                    src,
                    dst,
                    reporter,
                    sender,
                    blocks,
                })),
            });
        }
        if malformed {
            self.counts.rtcp_malformed += 1;
        }
    }

    /// The figures, with the tables'.
    pub fn stats(&self) -> MediaStats {
        let candidates = self.candidates.stats();
        MediaStats {
            unconfirmed: candidates.expired + candidates.evicted + self.left_unconfirmed,
            streams: self.streams.stats(),
            candidates,
            ..self.counts
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::flow::FlowKey;

    const SSRC: u32 = 0x0ca1_1ab5;
    const T0: u64 = 1_768_471_200;

    fn a() -> SocketAddr {
        "10.0.0.11:16000".parse().unwrap()
    }

    fn b() -> SocketAddr {
        "10.0.0.12:20000".parse().unwrap()
    }

    fn at_ms(ms: u64) -> PacketTime {
        PacketTime::from_nanos(T0 * 1_000_000_000 + ms * 1_000_000)
    }

    /// An RTP packet: header plus `len` payload bytes.
    fn rtp_bytes(seq: u16, ts: u32, ssrc: u32, pt: u8, marker: bool, len: usize) -> Vec<u8> {
        let mut v = vec![0x80, (u8::from(marker) << 7) | pt];
        v.extend_from_slice(&seq.to_be_bytes());
        v.extend_from_slice(&ts.to_be_bytes());
        v.extend_from_slice(&ssrc.to_be_bytes());
        v.resize(12 + len, 0xd5);
        v
    }

    /// Feeds one RTP packet from `src` to `dst`, keyed as the worker keys it.
    #[expect(clippy::too_many_arguments, reason = "a test helper")]
    fn feed(
        m: &mut Media,
        seq: u64,
        ts: PacketTime,
        src: SocketAddr,
        dst: SocketAddr,
        p: &rtp::Packet<'_>,
        flags: MediaFlags,
        out: &mut Vec<Event>,
    ) {
        let (flow, side) = FlowKey::new(src.ip(), src.port(), dst.ip(), dst.port(), 17);
        m.rtp(
            seq,
            ts,
            (src, dst),
            DirKey::new(flow, side, p.ssrc()),
            p,
            flags,
            out,
        );
    }

    /// Feeds `n` packets of a 20 ms PCMU stream `src -> dst`, `len` payload bytes each, from packet number
    /// `from` (its capture sequence number is `seq0 + i`, arrival every 20 ms from `ms0`).
    #[expect(clippy::too_many_arguments, reason = "a test helper")]
    fn pcmu(
        m: &mut Media,
        src: SocketAddr,
        dst: SocketAddr,
        seq0: u64,
        ms0: u64,
        n: u16,
        len: usize,
        out: &mut Vec<Event>,
    ) {
        for i in 0..n {
            let b = rtp_bytes(100 + i, 1000 + u32::from(i) * 160, SSRC, 0, i == 0, len);
            let p = rtp::Packet::new(&b).unwrap();
            feed(
                m,
                seq0 + u64::from(i),
                at_ms(ms0 + u64::from(i) * 20),
                src,
                dst,
                &p,
                MediaFlags::NONE,
                out,
            );
        }
    }

    fn starts(ev: &[Event]) -> Vec<&RtpStart> {
        ev.iter()
            .filter_map(|e| match &e.payload {
                Payload::RtpStart(s) => Some(&**s),
                _ => None,
            })
            .collect()
    }

    fn ends(ev: &[Event]) -> Vec<&RtpEnd> {
        ev.iter()
            .filter_map(|e| match &e.payload {
                Payload::RtpEnd(s) => Some(&**s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_second_packet_close_ahead_confirms_a_stream() {
        let mut m = Media::default();
        let mut out = Vec::new();
        let one = rtp_bytes(500, 0, SSRC, 96, false, 40);
        let far = rtp_bytes(900, 160, SSRC, 96, false, 40);
        let near = rtp_bytes(903, 320, SSRC, 96, false, 40);
        feed(
            &mut m,
            1,
            at_ms(0),
            a(),
            b(),
            &rtp::Packet::new(&one).unwrap(),
            MediaFlags::NONE,
            &mut out,
        );
        assert_eq!(m.stats().streams.len, 0);
        assert_eq!(m.stats().candidates.len, 1);
        // 400 ahead: not consistent, still a candidate (its figures go on).
        feed(
            &mut m,
            2,
            at_ms(20),
            a(),
            b(),
            &rtp::Packet::new(&far).unwrap(),
            MediaFlags::NONE,
            &mut out,
        );
        assert_eq!(m.stats().streams.len, 0);
        // 3 ahead of the previous: confirmed, and a dynamic type cannot be judged: started at once.
        feed(
            &mut m,
            3,
            at_ms(40),
            a(),
            b(),
            &rtp::Packet::new(&near).unwrap(),
            MediaFlags::NONE,
            &mut out,
        );
        assert_eq!(m.stats().streams.len, 1);
        assert_eq!(m.stats().candidates.len, 0);
        let s = starts(&out);
        assert_eq!(s.len(), 1);
        assert_eq!((out[0].seq, out[0].ts), (3, at_ms(40)));
        assert_eq!(
            (s[0].first_seq, s[0].first, s[0].payload_type),
            (1, at_ms(0), 96)
        );
        assert_eq!(
            s[0].key,
            StreamKey {
                src: a(),
                dst: b(),
                ssrc: SSRC
            }
        );
        m.finish(&mut out);
        let e = ends(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].summary.packets, 3, "counted from the first packet");
        assert_eq!(m.stats().unconfirmed, 0);
    }

    #[test]
    fn a_duplicate_or_a_packet_behind_does_not_confirm() {
        let mut m = Media::default();
        let mut out = Vec::new();
        for (i, seq) in [10u16, 10, 9, 30].into_iter().enumerate() {
            let bytes = rtp_bytes(seq, 0, SSRC, 0, false, 160);
            feed(
                &mut m,
                i as u64,
                at_ms(i as u64 * 20),
                a(),
                b(),
                &rtp::Packet::new(&bytes).unwrap(),
                MediaFlags::NONE,
                &mut out,
            );
        }
        assert_eq!(m.stats().streams.len, 0);
        m.finish(&mut out);
        assert!(out.is_empty());
        assert_eq!(m.stats().unconfirmed, 1);
    }

    #[test]
    fn exact_pcmu_frames_are_codec_sized_and_the_start_waits_for_them() {
        let mut m = Media::default();
        let mut out = Vec::new();
        pcmu(&mut m, a(), b(), 0, 0, 9, 160, &mut out);
        // Packet 1 has the marker; packets 2..=9 are judged: 8, the start is due at the 9th.
        let s = starts(&out);
        assert_eq!(s.len(), 1);
        assert_eq!(out[0].seq, 8);
        assert_eq!(s[0].evidence.judged, MediaEvidence::MIN_JUDGED);
        assert_eq!(s[0].evidence.codec_sized, MediaEvidence::MIN_JUDGED);
        assert_eq!(
            s[0].evidence.verdict(),
            Some(callguard_rules::event::Encryption::Rtp)
        );
        assert!(!s[0].evidence.looks_srtp());
    }

    #[test]
    fn pcmu_frames_with_an_srtp_tag_are_tag_sized() {
        for tag in SRTP_TAG_BYTES {
            let mut m = Media::default();
            let mut out = Vec::new();
            pcmu(&mut m, a(), b(), 0, 0, 20, 160 + tag, &mut out);
            m.finish(&mut out);
            let e = ends(&out);
            assert_eq!(e.len(), 1);
            let ev = e[0].evidence;
            assert_eq!(
                (ev.judged, ev.tag_sized, ev.codec_sized),
                (19, 19, 0),
                "tag {tag}"
            );
            assert!(ev.looks_srtp());
            assert_eq!(ev.verdict(), None);
        }
        // Some other size: judged, neither.
        let mut m = Media::default();
        let mut out = Vec::new();
        pcmu(&mut m, a(), b(), 0, 0, 20, 100, &mut out);
        m.finish(&mut out);
        let ev = ends(&out)[0].evidence;
        assert_eq!((ev.judged, ev.tag_sized, ev.codec_sized), (19, 0, 0));
        // The start waits for judged packets, whatever their sizes: due at the 9th.
        assert_eq!(out[0].seq, 8);
    }

    #[test]
    fn a_sender_that_restarts_its_sequence_numbers_starts_a_new_stream() {
        // Two calls on one 5-tuple with one SSRC (sipp replaying a file): the second starts its numbering again.
        let mut m = Media::default();
        let mut out = Vec::new();
        pcmu(&mut m, a(), b(), 0, 0, 150, 160, &mut out);
        assert!(ends(&out).is_empty());
        pcmu(&mut m, a(), b(), 150, 3500, 150, 160, &mut out);
        let e = ends(&out);
        assert_eq!(
            e.len(),
            1,
            "the first call's stream ends at the confirmed restart"
        );
        assert_eq!(e[0].reason, StreamEnd::Restart);
        assert_eq!((e[0].first_seq, e[0].summary.packets), (0, 150));
        assert_eq!((e[0].summary.lost, e[0].summary.seq_resets), (0, 0));
        let restart_at = out
            .iter()
            .find(|ev| matches!(ev.payload, Payload::RtpEnd(_)))
            .map(|ev| ev.seq);
        assert_eq!(
            restart_at,
            Some(151),
            "at the packet that confirms the jump"
        );
        m.finish(&mut out);
        let e = ends(&out);
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].reason, StreamEnd::CaptureEnd);
        assert_eq!((e[1].first_seq, e[1].summary.packets), (150, 150));
        assert_eq!((e[1].summary.lost, e[1].summary.seq_resets), (0, 0));
        assert_eq!(starts(&out).len(), 2);
        assert_eq!(m.stats().ended_restart, 1);
    }

    #[test]
    fn a_lone_jump_that_is_not_confirmed_keeps_the_stream_whole() {
        let mut m = Media::default();
        let mut out = Vec::new();
        pcmu(&mut m, a(), b(), 0, 0, 20, 160, &mut out);
        // One stray packet far ahead, then the stream goes on.
        let stray = rtp_bytes(30_000, 99_999, SSRC, 0, false, 160);
        let p = rtp::Packet::new(&stray).unwrap();
        feed(
            &mut m,
            20,
            at_ms(400),
            a(),
            b(),
            &p,
            MediaFlags::NONE,
            &mut out,
        );
        let next = rtp_bytes(120, 1000 + 20 * 160, SSRC, 0, false, 160);
        let p = rtp::Packet::new(&next).unwrap();
        feed(
            &mut m,
            21,
            at_ms(420),
            a(),
            b(),
            &p,
            MediaFlags::NONE,
            &mut out,
        );
        m.finish(&mut out);
        let e = ends(&out);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].summary.packets, 22);
    }

    #[test]
    fn plain_frame_sizes_follow_rfc_3551() {
        assert_eq!(plain_frame_bytes(PayloadType::PCMU, 160), Some(160));
        assert_eq!(plain_frame_bytes(PayloadType::PCMA, 240), Some(240));
        assert_eq!(plain_frame_bytes(PayloadType::G722, 160), Some(160));
        assert_eq!(plain_frame_bytes(PayloadType::G729, 160), Some(20));
        assert_eq!(plain_frame_bytes(PayloadType::G729, 100), None);
        assert_eq!(plain_frame_bytes(PayloadType::GSM, 160), Some(33));
        assert_eq!(plain_frame_bytes(PayloadType::GSM, 320), Some(66));
        assert_eq!(plain_frame_bytes(PayloadType::G728, 160), Some(40));
        assert_eq!(plain_frame_bytes(PayloadType::PCMU, 0), None);
        assert_eq!(plain_frame_bytes(PayloadType::PCMU, 8000), None);
        assert_eq!(plain_frame_bytes(PayloadType(96), 160), None);
    }

    #[test]
    fn the_clock_of_a_dynamic_type_is_inferred_and_snapped() {
        assert_eq!(snap_clock(47_100.0), Some(48_000));
        assert_eq!(snap_clock(8_300.0), Some(8000));
        assert_eq!(snap_clock(89_000.0), Some(90_000));
        assert_eq!(snap_clock(100.0), None);
        assert_eq!(snap_clock(f64::NAN), None);
        let mut m = Media::default();
        let mut out = Vec::new();
        // Opus-like: 960 units every 20 ms is 48 kHz.
        for i in 0..20u16 {
            let bytes = rtp_bytes(i, u32::from(i) * 960, SSRC, 111, false, 80);
            feed(
                &mut m,
                u64::from(i),
                at_ms(u64::from(i) * 20),
                a(),
                b(),
                &rtp::Packet::new(&bytes).unwrap(),
                MediaFlags::NONE,
                &mut out,
            );
        }
        m.finish(&mut out);
        assert_eq!(ends(&out)[0].summary.clock_rate, 48_000);
        assert!(
            ends(&out)[0].summary.max_jitter_ms < 0.001,
            "no jitter spike when the clock becomes known"
        );
    }

    #[test]
    fn handshake_flags_reach_the_evidence() {
        let mut m = Media::default();
        let mut out = Vec::new();
        let mut flags = MediaFlags::NONE;
        flags.insert(MediaFlags::DTLS);
        flags.insert(MediaFlags::STUN);
        for i in 0..3u16 {
            let bytes = rtp_bytes(i, u32::from(i) * 160, SSRC, 0, false, 170);
            feed(
                &mut m,
                u64::from(i),
                at_ms(u64::from(i) * 20),
                a(),
                b(),
                &rtp::Packet::new(&bytes).unwrap(),
                flags,
                &mut out,
            );
        }
        m.finish(&mut out);
        let ev = ends(&out)[0].evidence;
        assert!(ev.dtls && ev.stun && !ev.zrtp);
        assert_eq!(
            ev.verdict(),
            Some(callguard_rules::event::Encryption::DtlsSrtp)
        );
    }

    #[test]
    fn idle_streams_end_at_the_sweep_with_its_sequence_number_in_first_packet_order() {
        let mut m = Media::default();
        let mut out = Vec::new();
        let c: SocketAddr = "10.0.0.13:30000".parse().unwrap();
        // Three streams: b -> a first (capture seq 0..), a -> b next (seq 100..), c -> a last (seq 200..),
        // which is too short to have started and stays active.
        pcmu(&mut m, b(), a(), 0, 0, 20, 160, &mut out);
        pcmu(&mut m, a(), b(), 100, 10, 20, 160, &mut out);
        pcmu(&mut m, c, a(), 200, 30, 3, 160, &mut out);
        assert_eq!(starts(&out).len(), 2);
        out.clear();
        // 5 s later: nothing is idle yet.
        m.sweep(at_ms(5_000), 1000, &mut out);
        assert!(out.is_empty());
        // c keeps sending until 12 s.
        pcmu(&mut m, c, a(), 2000, 12_000, 1, 160, &mut out);
        out.clear();
        m.sweep(at_ms(12_000), 5000, &mut out);
        let e = ends(&out);
        assert_eq!(e.len(), 2);
        assert!(
            out.iter()
                .all(|ev| ev.seq == 5000 && ev.ts == at_ms(12_000))
        );
        assert_eq!(e[0].first_seq, 0);
        assert_eq!(e[1].first_seq, 100);
        assert!(e.iter().all(|e| e.reason == StreamEnd::Idle));
        assert_eq!(e[0].summary.packets, 20);
        // The tiebreak orders them after a clock marker (0) and by first packet.
        let tb: Vec<u64> = out.iter().map(Event::tiebreak).collect();
        assert!(tb.windows(2).all(|w| w[0] < w[1]) && tb[0] > 0);
        let st = m.stats();
        assert_eq!(
            (st.ended_idle, st.streams.expired, st.streams.len),
            (2, 2, 1)
        );
    }

    #[test]
    fn a_stream_ending_before_its_start_gets_its_start_right_before_its_end() {
        let mut m = Media::default();
        let mut out = Vec::new();
        pcmu(&mut m, a(), b(), 0, 0, 3, 160, &mut out);
        assert!(
            out.is_empty(),
            "confirmed, but 2 judged packets are too few to start"
        );
        m.sweep(at_ms(20_000), 77, &mut out);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[0].payload, Payload::RtpStart(_)));
        assert!(matches!(out[1].payload, Payload::RtpEnd(_)));
        assert_eq!(out[0].seq, 77);
        assert_eq!(out[0].tiebreak(), out[1].tiebreak());
        assert_eq!(m.stats().started, 1);
    }

    #[test]
    fn finish_ends_every_stream_with_the_last_sequence_number() {
        let mut m = Media::default();
        let mut out = Vec::new();
        pcmu(&mut m, a(), b(), 50, 0, 20, 160, &mut out);
        pcmu(&mut m, b(), a(), 10, 5, 20, 160, &mut out);
        out.clear();
        m.finish(&mut out);
        let e = ends(&out);
        assert_eq!(e.len(), 2);
        assert!(out.iter().all(|ev| ev.seq == u64::MAX));
        assert_eq!((e[0].first_seq, e[1].first_seq), (10, 50));
        assert!(e.iter().all(|e| e.reason == StreamEnd::CaptureEnd));
        // Each carries its own last packet's time, not a worker's clock.
        assert_eq!(out[0].ts, at_ms(5 + 19 * 20));
        assert_eq!(out[1].ts, at_ms(19 * 20));
        let st = m.stats();
        assert_eq!((st.ended_capture_end, st.streams.len), (2, 0));
    }

    #[test]
    fn a_full_table_evicts_the_least_recent_stream_at_the_packet_that_needs_room() {
        let mut m = Media::new(2, 16);
        let mut out = Vec::new();
        let c: SocketAddr = "10.0.0.13:30000".parse().unwrap();
        pcmu(&mut m, a(), b(), 0, 0, 20, 160, &mut out);
        pcmu(&mut m, b(), a(), 100, 1000, 20, 160, &mut out);
        out.clear();
        // A third stream: its confirming packet (seq 201) evicts the oldest, a -> b.
        pcmu(&mut m, c, a(), 200, 2000, 2, 160, &mut out);
        let e = ends(&out);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].reason, e[0].first_seq), (StreamEnd::Evicted, 0));
        assert_eq!(out[0].seq, 201);
        assert_eq!(e[0].summary.packets, 20);
        let st = m.stats();
        assert_eq!(
            (st.ended_evicted, st.streams.evicted, st.streams.len),
            (1, 1, 2)
        );
    }

    #[test]
    fn a_flood_of_one_packet_rtp_stays_bounded_and_emits_nothing() {
        let mut m = Media::new(64, 128);
        let mut out = Vec::new();
        // A real stream first.
        pcmu(&mut m, a(), b(), 0, 0, 20, 160, &mut out);
        out.clear();
        let mut rng = 0x1234_5678_9abc_def0u64;
        for i in 0..100_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let r = rng.to_be_bytes();
            let src = SocketAddr::from(([10, r[0], r[1], r[2]], u16::from_be_bytes([r[3], r[4]])));
            let ssrc = u32::from_be_bytes([r[4], r[5], r[6], r[7]]);
            let seq = u16::from_be_bytes([r[5], r[6]]);
            let ts = u32::from_be_bytes([r[1], r[2], r[3], r[4]]);
            let bytes = rtp_bytes(seq, ts, ssrc, r[7] % 35, false, 160);
            feed(
                &mut m,
                1000 + i,
                at_ms(400 + i / 100),
                src,
                b(),
                &rtp::Packet::new(&bytes).unwrap(),
                MediaFlags::NONE,
                &mut out,
            );
            assert!(m.stats().candidates.len <= 128);
        }
        assert!(out.is_empty(), "a flood emits nothing");
        let st = m.stats();
        assert_eq!(st.streams.len, 1, "the real stream stays");
        assert_eq!(st.streams.evicted, 0);
        assert!(st.unconfirmed > 99_000);
        m.finish(&mut out);
        assert_eq!(ends(&out).len(), 1);
        assert_eq!(m.stats().unconfirmed + ends(&out).len() as u64, 100_001);
    }

    /// An RTCP SR with `blocks` report blocks, then an RR with one.
    fn rtcp_compound(blocks: u8) -> Vec<u8> {
        let mut v = vec![0x80 | blocks, 200];
        v.extend_from_slice(&(6 + 6 * u16::from(blocks)).to_be_bytes());
        v.extend_from_slice(&SSRC.to_be_bytes());
        v.extend_from_slice(&[0; 8]); // NTP
        v.extend_from_slice(&1234u32.to_be_bytes()); // RTP ts
        v.extend_from_slice(&500u32.to_be_bytes()); // packets
        v.extend_from_slice(&80_000u32.to_be_bytes()); // octets
        for i in 0..blocks {
            v.extend_from_slice(&(u32::from(i) + 1).to_be_bytes());
            v.extend_from_slice(&[12, 0xff, 0xff, 0xfe]); // fraction 12, cumulative -2
            v.extend_from_slice(&[0; 4]);
            v.extend_from_slice(&77u32.to_be_bytes());
            v.extend_from_slice(&[0; 8]);
        }
        v.extend_from_slice(&[0x81, 201, 0, 7]);
        v.extend_from_slice(&0xabcdu32.to_be_bytes());
        v.extend_from_slice(&SSRC.to_be_bytes());
        v.extend_from_slice(&[0; 20]);
        v
    }

    #[test]
    fn rtcp_reports_become_events_with_at_most_four_blocks() {
        let mut m = Media::default();
        let mut out = Vec::new();
        m.rtcp(9, at_ms(0), a(), b(), &rtcp_compound(6), &mut out);
        assert_eq!(out.len(), 2);
        let Payload::Rtcp(sr) = &out[0].payload else {
            panic!()
        };
        assert_eq!((sr.reporter, sr.sender), (SSRC, Some((500, 80_000))));
        assert_eq!(sr.blocks.len(), MAX_RTCP_BLOCKS);
        assert_eq!(
            sr.blocks[0],
            ReportSeen {
                ssrc: 1,
                fraction_lost: 12,
                cumulative_lost: -2,
                jitter: 77
            }
        );
        let Payload::Rtcp(rr) = &out[1].payload else {
            panic!()
        };
        assert_eq!((rr.reporter, rr.sender, rr.blocks.len()), (0xabcd, None, 1));
        assert_eq!(m.stats().rtcp_reports, 2);
        // Truncated: the RR's length runs past the end.
        let mut bad = rtcp_compound(1);
        bad.truncate(bad.len() - 4);
        out.clear();
        m.rtcp(10, at_ms(0), a(), b(), &bad, &mut out);
        assert_eq!(out.len(), 1, "the SR before the damage is still reported");
        assert_eq!(m.stats().rtcp_malformed, 1);
        m.rtcp(11, at_ms(0), a(), b(), &[0x80, 200, 0], &mut out);
        assert_eq!(m.stats().rtcp_malformed, 2);
    }

    #[test]
    fn a_compound_of_many_reports_is_clipped() {
        let mut m = Media::default();
        let mut out = Vec::new();
        let mut v = Vec::new();
        for i in 0..100u32 {
            v.extend_from_slice(&[0x80, 201, 0, 1]);
            v.extend_from_slice(&i.to_be_bytes());
        }
        m.rtcp(1, at_ms(0), a(), b(), &v, &mut out);
        assert_eq!(out.len(), MAX_RTCP_REPORTS);
        assert_eq!(m.stats().rtcp_clipped, 100 - MAX_RTCP_REPORTS as u64);
    }
}
