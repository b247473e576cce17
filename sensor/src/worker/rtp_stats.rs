//! Per-stream RTP statistics: counts, loss, reordering, sequence resets, jitter and inter-arrival deltas,
//! computed the way `tshark -q -z rtp,streams` (Wireshark 4.0, `ui/tap-rtp-analysis.c` and
//! `ui/tap-rtp-common.c`) computes them, so that our figures can be checked against tshark's on a capture.
//!
//! A [`StreamStats`] belongs to one stream, which the caller keys as tshark does: source address and port,
//! destination address and port, and SSRC. It is fed one packet at a time with [`StreamStats::packet`] and
//! keeps only scalars and a 128-bit window of recently seen sequence numbers: nothing is allocated per packet.
//! [`StreamStats::snapshot`] returns the figures as a plain `Copy` [`StreamSummary`].
//!
//! # Which tshark column each figure matches
//!
//! | `StreamSummary` field | `rtp,streams` column | notes |
//! |---|---|---|
//! | `ssrc` | SSRC | |
//! | `payload_type` | Payload | the first packet's; tshark lists every name it saw |
//! | `packets` | Pkts | every packet, duplicates included |
//! | `expected`, `lost` | Lost (count) | see "Known differences" |
//! | `loss_ratio` | Lost (%) | a ratio (tshark prints a percentage of `expected`) |
//! | `min_delta_ms`, `mean_delta_ms`, `max_delta_ms` | Min/Mean/Max Delta(ms) | |
//! | `min_jitter_ms`, `mean_jitter_ms`, `max_jitter_ms` | Min/Mean/Max Jitter(ms) | |
//! | `first`, `last` | Start time, End time | absolute here, relative to the capture's first frame in tshark |
//!
//! `duplicates`, `out_of_order`, `seq_resets`, `markers`, `payload_type_changes` and `jitter_ts` have no
//! column; the "Problems?" flag is set by tshark whenever a sequence error, a wrong timestamp or a payload
//! change was seen (`duplicates + out_of_order + seq_resets > 0` or `payload_type_changes > 0` here).
//!
//! # How the figures are computed
//!
//! - **Sequence numbers** follow RFC 3550 §A.1 (`update_seq`): a step forward of less than [`MAX_DROPOUT`]
//!   advances the highest sequence number, counting a cycle when the 16-bit value wraps; a step back of at most
//!   [`MAX_MISORDER`] is a duplicate (seen already, from a 128-entry window) or out of order; anything else
//!   is a jump, which is believed only when the next packet follows it (`bad_seq`), and is then counted in
//!   `seq_resets`. The RFC's source-validation probation (`MIN_SEQUENTIAL`) is not applied: tshark counts
//!   every packet from the first, and so do we.
//! - **Expected and lost** (RFC 3550 §A.3): `expected = extended highest - base + 1`, `lost = expected -
//!   packets`, signed, so duplicates make it negative exactly as tshark prints it. A confirmed jump
//!   re-anchors the highest sequence number at the new value *without* resetting the base or the count
//!   (RFC 3550 would restart both): that is what tshark does (its `expected` runs from the first to the last
//!   sequence number), so a stream whose sender restarts its numbering, or a replayed stream, shows the same
//!   negative loss as in tshark. The new value is taken in the current cycle, or the next when that would fall
//!   below the base.
//! - **Jitter** is RFC 3550 §A.8's estimator, `J += (|D| - J) / 16` with `D` the difference of the
//!   arrival-time and RTP-timestamp steps from the previous packet in arrival order, computed in floating
//!   point as tshark does (in milliseconds; `jitter_ts` gives it in timestamp units). As in tshark, a packet
//!   whose timestamp is before the stream's first (by RFC 1982 serial arithmetic) is "out of time sequence":
//!   it does not update the jitter nor serve as the reference for the next packet. With a clock rate of 0
//!   (unknown, or `telephone-event`) the jitter is not computed; when the caller learns a rate only after
//!   some packets (inferred from the data, see `worker::media`), the jitter starts from the packet before.
//! - **Delta** is the arrival-time step from the previous in-time-sequence packet.
//! - **Min/max/mean** of delta and jitter take only "regular" packets, as tshark does: not the first, not
//!   one with the marker bit, not comfort noise (PT 13 or 19) nor the packet after one, and not out of
//!   time sequence. The means are tshark's running means `m = (m * (n - 1) + x) / n`, where `n` counts every
//!   packet before this one (regular or not): not a plain average when some packets are skipped, but
//!   tshark's figure. The mean jitter averages the estimate `J` after each regular packet (tshark 4.0.17
//!   does; some earlier versions averaged the per-packet `|D|`), so one large step lingers in it while the
//!   estimate decays (in `lab-calls.pcap` two stream restarts give a max of 237 ms and a mean of 17 ms).
//!
//! # Known differences from tshark
//!
//! - tshark's `expected` uses the *last* packet's sequence number and its own wrap heuristic; ours uses the
//!   highest (RFC 3550). They differ by the packets reordered at the very end of a stream.
//! - tshark 4.0 divides the clock rate by 1000 in integers before converting timestamps to milliseconds,
//!   so for 11025, 22050 and 44100 Hz its jitter is off by up to 2 %; we use the exact rate.
//! - tshark 4.0 calls a timestamp that wrapped past 2^32 since the first packet "out of time sequence" (its
//!   wrap test can never be true); we use serial arithmetic, which is what it intends (and what later
//!   versions do with extended timestamps).
//! - tshark takes the clock rate of a static payload type from its table even when an `a=rtpmap` says
//!   otherwise; here the caller decides (see [`clock_rate`]).

use callguard_parsers::rtp::{self, PayloadType};
use callguard_rules::time::PacketTime;

/// RFC 3550 §A.1: a forward step of fewer sequence numbers than this is a (possibly lossy) advance.
pub const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 §A.1: a backward step of at most this many sequence numbers is reordering or a duplicate.
pub const MAX_MISORDER: u16 = 100;
/// The sequence-number space (RFC 3550 §A.1 `RTP_SEQ_MOD`).
const RTP_SEQ_MOD: u64 = 1 << 16;
/// Sequence numbers behind the highest whose arrival is remembered, to tell a duplicate from a late packet:
/// one bit each, covering [`MAX_MISORDER`].
const SEEN_WINDOW: u16 = 128;
/// RTP timestamps at most this far ahead of the first packet's are "in time sequence" (RFC 1982 serial
/// arithmetic; tshark's `0x80000000`).
const TS_HALF_RANGE: u32 = 0x8000_0000;
/// Comfort noise (RFC 3389) and the old comfort-noise type 19 (RFC 1890): tshark leaves these and the
/// packet after them out of the delta and jitter figures, since they carry no regular timing.
const COMFORT_NOISE: [PayloadType; 2] = [PayloadType::CN, PayloadType(19)];
/// The jitter estimator's gain, 1/16 (RFC 3550 §6.4.1).
const JITTER_GAIN: f64 = 16.0;
/// Nanoseconds per millisecond.
const NANOS_PER_MS: f64 = 1_000_000.0;

/// The clock rate to pass to [`StreamStats::packet`]: the `a=rtpmap` rate when signalling gave one, else
/// the static payload type table (RFC 3551 §6), else 0 (unknown: no jitter).
pub fn clock_rate(pt: PayloadType, rtpmap: Option<u32>) -> u32 {
    rtpmap.or_else(|| pt.clock_rate()).unwrap_or(0)
}

/// The figures of one stream at one moment; see the module doc for the tshark column each matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamSummary {
    /// The synchronisation source.
    pub ssrc: u32,
    /// The first packet's payload type.
    pub payload_type: PayloadType,
    /// The last packet's payload type.
    pub last_payload_type: PayloadType,
    /// How many times the payload type differed from the previous packet's.
    pub payload_type_changes: u64,
    /// Packets seen, duplicates included (tshark "Pkts").
    pub packets: u64,
    /// Payload bytes, padding excluded.
    pub payload_bytes: u64,
    /// Packets with the marker bit set.
    pub markers: u64,
    /// Time of the first packet.
    pub first: PacketTime,
    /// Time of the last packet.
    pub last: PacketTime,
    /// The first sequence number (RFC 3550 `base_seq`).
    pub base_seq: u16,
    /// The extended highest sequence number: cycles in the upper bits (RFC 3550 §A.3).
    pub highest_seq: u64,
    /// Wraps of the 16-bit sequence number.
    pub cycles: u32,
    /// Packets expected from the sequence numbers: `highest_seq - base_seq + 1`.
    pub expected: u64,
    /// `expected - packets`; negative when duplicates outnumber the losses (tshark "Lost").
    pub lost: i64,
    /// `lost / expected` (0 when nothing is expected); tshark prints it as a percentage.
    pub loss_ratio: f64,
    /// Packets whose sequence number had already been seen (within the last 128).
    pub duplicates: u64,
    /// Packets with a sequence number lower than the highest, not seen before.
    pub out_of_order: u64,
    /// Confirmed sequence jumps (RFC 3550 §A.1: a jump followed by its successor).
    pub seq_resets: u64,
    /// The clock rate last used for the jitter, in Hz (0: none known).
    pub clock_rate: u32,
    /// The current jitter estimate in timestamp units (RFC 3550 §A.8).
    pub jitter_ts: f64,
    /// The current jitter estimate in milliseconds.
    pub jitter_ms: f64,
    /// Smallest jitter over regular packets, ms (0 when there were none).
    pub min_jitter_ms: f64,
    /// Largest jitter over regular packets, ms.
    pub max_jitter_ms: f64,
    /// tshark's running mean of the jitter estimate over regular packets, ms.
    pub mean_jitter_ms: f64,
    /// Smallest arrival step over regular packets, ms (0 when there were none).
    pub min_delta_ms: f64,
    /// Largest arrival step over regular packets, ms.
    pub max_delta_ms: f64,
    /// tshark's running mean of the arrival step over regular packets, ms.
    pub mean_delta_ms: f64,
}

/// Where a sequence number stands against a stream's ([`StreamStats::jump`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// Within the stream's sequence (in order, a little loss, late or duplicate).
    None,
    /// A jump, believed only if the next packet follows it.
    Starts,
    /// The packet that follows a jump: the sender restarted its numbering.
    Confirms,
}

/// Running statistics of one RTP stream; see the module doc.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    packets: u64,
    payload_bytes: u64,
    markers: u64,
    first: PacketTime,
    last: PacketTime,
    ssrc: u32,
    /// Payload types as numbers, so that the state has a `Default`.
    first_pt: u8,
    pt: u8,
    pt_changes: u64,

    // RFC 3550 §A.1 sequence state.
    base_seq: u16,
    max_seq: u16,
    cycles: u32,
    /// The sequence number that would confirm a jump, when one is pending.
    bad_seq: Option<u16>,
    /// Bit `i` set: `max_seq - i` has been seen.
    seen: u128,
    duplicates: u64,
    out_of_order: u64,
    seq_resets: u64,

    // Timing, as tshark computes it.
    first_ts: u32,
    /// Arrival time of the last in-time-sequence packet.
    ref_time: PacketTime,
    /// Its RTP timestamp relative to the first, in ms (tshark's `lastnominaltime`).
    ref_nominal_ms: f64,
    /// Its RTP timestamp relative to the first, in timestamp units (to start the jitter from it when the
    /// clock rate becomes known only after some packets).
    ref_nominal: u32,
    clock_rate: u32,
    jitter_ms: f64,
    min_jitter_ms: Option<f64>,
    max_jitter_ms: f64,
    mean_jitter_ms: f64,
    min_delta_ms: Option<f64>,
    max_delta_ms: f64,
    mean_delta_ms: f64,
}

impl StreamStats {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Packets accounted so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Accounts one packet of the stream, received at `ts`; `clock_rate` is the RTP clock in Hz for its
    /// payload type (see [`clock_rate`]), 0 when unknown.
    pub fn packet(&mut self, ts: PacketTime, p: &rtp::Packet<'_>, clock_rate: u32) {
        let first = self.packets == 0;
        self.packets += 1;
        self.payload_bytes += p.payload().len() as u64;
        let marker = p.marker();
        if marker {
            self.markers += 1;
        }
        self.last = ts;
        let pt = p.payload_type();
        if first {
            self.first = ts;
            self.ssrc = p.ssrc();
            self.first_pt = pt.0;
            self.pt = pt.0;
            self.base_seq = p.sequence();
            self.max_seq = p.sequence();
            self.seen = 1;
            self.first_ts = p.timestamp();
            self.ref_time = ts;
            return;
        }
        self.sequence(p.sequence());

        let follows_cn = COMFORT_NOISE.contains(&PayloadType(self.pt));
        let is_cn = COMFORT_NOISE.contains(&pt);
        if pt.0 != self.pt {
            self.pt_changes += 1;
        }
        self.pt = pt.0;

        // tshark: in time sequence when the timestamp is not before the first packet's.
        let nominal = p.timestamp().wrapping_sub(self.first_ts);
        let in_time = nominal < TS_HALF_RANGE;
        let mut delta_ms = None;
        let mut jittered = false;
        if in_time {
            let arrival_ms = signed_ms(ts, self.ref_time);
            delta_ms = Some(arrival_ms);
            if clock_rate != 0 {
                if self.clock_rate == 0 {
                    // The first packet with a known clock (the second packet, or later when the caller
                    // learns the rate from the data): measure from the reference packet, not from the first.
                    self.ref_nominal_ms =
                        f64::from(self.ref_nominal) * 1000.0 / f64::from(clock_rate);
                }
                self.clock_rate = clock_rate;
                let nominal_ms = f64::from(nominal) * 1000.0 / f64::from(clock_rate);
                let d = (arrival_ms - (nominal_ms - self.ref_nominal_ms)).abs();
                self.jitter_ms += (d - self.jitter_ms) / JITTER_GAIN;
                self.ref_nominal_ms = nominal_ms;
                jittered = true;
            }
        }

        let regular = in_time && !marker && !is_cn && !follows_cn;
        if let (true, Some(delta)) = (regular, delta_ms) {
            // tshark's running mean divides by the packets before this one, regular or not.
            let n = (self.packets - 1) as f64;
            self.max_delta_ms = self.max_delta_ms.max(delta);
            self.min_delta_ms = Some(self.min_delta_ms.map_or(delta, |m| m.min(delta)));
            self.mean_delta_ms = (self.mean_delta_ms * (n - 1.0) + delta) / n;
            if jittered {
                let j = self.jitter_ms;
                self.max_jitter_ms = self.max_jitter_ms.max(j);
                self.min_jitter_ms = Some(self.min_jitter_ms.map_or(j, |m| m.min(j)));
                self.mean_jitter_ms = (self.mean_jitter_ms * (n - 1.0) + j) / n;
            }
        }
        if in_time {
            self.ref_time = ts;
            self.ref_nominal = nominal;
        }
    }

    /// RFC 3550 §A.1 `update_seq`, counting every packet as received (see the module doc).
    fn sequence(&mut self, seq: u16) {
        let udelta = seq.wrapping_sub(self.max_seq);
        if udelta == 0 {
            self.duplicates += 1;
        } else if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles = self.cycles.saturating_add(1);
            }
            self.advance(udelta);
            self.max_seq = seq;
            self.bad_seq = None;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A very large jump: believe it only when the next packet follows it.
            if self.bad_seq == Some(seq) {
                self.reanchor(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
            }
        } else {
            // Behind the highest by 1..=MAX_MISORDER: a duplicate or a late packet.
            let back = self.max_seq.wrapping_sub(seq);
            let bit = 1u128.checked_shl(u32::from(back)).unwrap_or(0);
            if self.seen & bit != 0 {
                self.duplicates += 1;
            } else {
                self.out_of_order += 1;
                self.seen |= bit;
            }
        }
    }

    /// Whether `seq` jumps far from the highest sequence number (beyond [`MAX_DROPOUT`] ahead or
    /// [`MAX_MISORDER`] behind), and whether it confirms a jump made by the packet before it.
    pub fn jump(&self, seq: u16) -> Jump {
        if self.packets == 0 {
            return Jump::None;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if !(MAX_DROPOUT..=u16::MAX - MAX_MISORDER).contains(&udelta) {
            Jump::None
        } else if self.bad_seq == Some(seq) {
            Jump::Confirms
        } else {
            Jump::Starts
        }
    }

    /// A jump waits for its confirmation (the next packet following it).
    pub fn jump_pending(&self) -> bool {
        self.bad_seq.is_some()
    }

    /// The highest sequence number moved `by` forward.
    fn advance(&mut self, by: u16) {
        self.seen = if by >= SEEN_WINDOW {
            1
        } else {
            (self.seen << by) | 1
        };
    }

    /// A confirmed jump to `seq` (the successor of the jump): take it as the new highest, in the current
    /// cycle or the next when that would fall below the base, keeping the base and the count.
    fn reanchor(&mut self, seq: u16) {
        self.seq_resets += 1;
        let base = u64::from(self.base_seq);
        if u64::from(self.cycles) * RTP_SEQ_MOD + u64::from(seq) < base {
            self.cycles = self.cycles.saturating_add(1);
        }
        self.max_seq = seq;
        self.bad_seq = None;
        // The jump packet (seq - 1) has been seen too.
        self.seen = 0b11;
    }

    /// The figures so far.
    pub fn snapshot(&self) -> StreamSummary {
        let highest_seq = u64::from(self.cycles) * RTP_SEQ_MOD + u64::from(self.max_seq);
        let expected = if self.packets == 0 {
            0
        } else {
            (highest_seq + 1).saturating_sub(u64::from(self.base_seq))
        };
        let lost = i64::try_from(expected)
            .unwrap_or(i64::MAX)
            .saturating_sub(i64::try_from(self.packets).unwrap_or(i64::MAX));
        let loss_ratio = if expected == 0 {
            0.0
        } else {
            lost as f64 / expected as f64
        };
        StreamSummary {
            ssrc: self.ssrc,
            payload_type: PayloadType(self.first_pt),
            last_payload_type: PayloadType(self.pt),
            payload_type_changes: self.pt_changes,
            packets: self.packets,
            payload_bytes: self.payload_bytes,
            markers: self.markers,
            first: self.first,
            last: self.last,
            base_seq: self.base_seq,
            highest_seq,
            cycles: self.cycles,
            expected,
            lost,
            loss_ratio,
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            seq_resets: self.seq_resets,
            clock_rate: self.clock_rate,
            jitter_ts: self.jitter_ms * f64::from(self.clock_rate) / 1000.0,
            jitter_ms: self.jitter_ms,
            min_jitter_ms: self.min_jitter_ms.unwrap_or(0.0),
            max_jitter_ms: self.max_jitter_ms,
            mean_jitter_ms: self.mean_jitter_ms,
            min_delta_ms: self.min_delta_ms.unwrap_or(0.0),
            max_delta_ms: self.max_delta_ms,
            mean_delta_ms: self.mean_delta_ms,
        }
    }
}

/// `later - earlier` in milliseconds, negative when the capture's clock went back.
fn signed_ms(later: PacketTime, earlier: PacketTime) -> f64 {
    let (a, b) = (later.as_nanos(), earlier.as_nanos());
    if a >= b {
        (a - b) as f64 / NANOS_PER_MS
    } else {
        -((b - a) as f64 / NANOS_PER_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PCMU_RATE: u32 = 8000;
    /// 20 ms of 8 kHz audio.
    const STEP_TS: u32 = 160;
    const SSRC: u32 = 0x0ca1_1ab5;

    /// A 12-byte RTP header plus 4 bytes of payload.
    fn bytes(seq: u16, ts: u32, pt: u8, marker: bool) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = 0x80;
        b[1] = (u8::from(marker) << 7) | pt;
        b[2..4].copy_from_slice(&seq.to_be_bytes());
        b[4..8].copy_from_slice(&ts.to_be_bytes());
        b[8..12].copy_from_slice(&SSRC.to_be_bytes());
        b
    }

    fn at_ms(ms: u64) -> PacketTime {
        PacketTime::from_nanos(1_768_471_200 * 1_000_000_000 + ms * 1_000_000)
    }

    /// Feeds `(sequence, rtp timestamp, arrival ms)` as PCMU without markers.
    fn feed(s: &mut StreamStats, pkts: &[(u16, u32, u64)]) {
        for &(seq, ts, ms) in pkts {
            let b = bytes(seq, ts, 0, false);
            s.packet(at_ms(ms), &rtp::Packet::new(&b).unwrap(), PCMU_RATE);
        }
    }

    /// Sequence numbers `seqs` at a steady 20 ms, timestamps following the sequence.
    fn steady(seqs: &[u16]) -> StreamSummary {
        let mut s = StreamStats::new();
        let pkts: Vec<_> = seqs
            .iter()
            .enumerate()
            .map(|(i, &q)| {
                (
                    q,
                    u32::from(q.wrapping_sub(seqs[0])) * STEP_TS,
                    i as u64 * 20,
                )
            })
            .collect();
        feed(&mut s, &pkts);
        s.snapshot()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn an_in_order_stream_at_a_constant_rate_has_no_loss_and_no_jitter() {
        let s = steady(&(1000..1250).collect::<Vec<_>>());
        assert_eq!((s.packets, s.expected, s.lost), (250, 250, 0));
        assert_eq!(
            (s.duplicates, s.out_of_order, s.seq_resets, s.cycles),
            (0, 0, 0, 0)
        );
        assert_eq!((s.base_seq, s.highest_seq), (1000, 1249));
        assert!(close(s.loss_ratio, 0.0));
        assert!(
            close(s.jitter_ms, 0.0) && close(s.max_jitter_ms, 0.0) && close(s.mean_jitter_ms, 0.0)
        );
        assert!(
            close(s.min_delta_ms, 20.0)
                && close(s.max_delta_ms, 20.0)
                && close(s.mean_delta_ms, 20.0)
        );
        assert_eq!(s.payload_bytes, 250 * 4);
        assert_eq!(
            (s.ssrc, s.payload_type, s.clock_rate),
            (SSRC, PayloadType::PCMU, PCMU_RATE)
        );
        assert_eq!(s.last.since(s.first).as_millis(), 249 * 20);
    }

    #[test]
    fn one_missing_sequence_number_is_one_lost_packet() {
        let s = steady(&[1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
        assert_eq!((s.packets, s.expected, s.lost), (10, 11, 1));
        assert!(close(s.loss_ratio, 1.0 / 11.0));
        assert_eq!((s.duplicates, s.out_of_order, s.seq_resets), (0, 0, 0));
    }

    #[test]
    fn a_duplicate_makes_the_loss_negative_as_in_tshark() {
        let s = steady(&[1, 2, 3, 3, 4, 5, 2]);
        assert_eq!((s.packets, s.expected, s.lost), (7, 5, -2));
        assert_eq!((s.duplicates, s.out_of_order), (2, 0));
    }

    #[test]
    fn a_late_packet_is_out_of_order_not_lost() {
        let s = steady(&[1, 2, 4, 3, 5, 6]);
        assert_eq!((s.packets, s.expected, s.lost), (6, 6, 0));
        assert_eq!((s.duplicates, s.out_of_order, s.highest_seq), (0, 1, 6));
        // The same late packet again is a duplicate.
        let s = steady(&[1, 2, 4, 3, 3, 5]);
        assert_eq!((s.duplicates, s.out_of_order, s.lost), (1, 1, -1));
    }

    #[test]
    fn the_sequence_number_wraps_at_65535_into_a_new_cycle() {
        let s = steady(&[65533, 65534, 65535, 0, 1, 2]);
        assert_eq!(s.cycles, 1);
        assert_eq!(s.highest_seq, 65536 + 2);
        assert_eq!((s.packets, s.expected, s.lost), (6, 6, 0));
        // A packet from before the wrap, arriving after it, is late, not a new cycle.
        let s = steady(&[65534, 0, 65535, 1]);
        assert_eq!((s.cycles, s.out_of_order, s.lost), (1, 1, 0));
    }

    #[test]
    fn a_jump_is_believed_only_when_the_next_packet_follows_it() {
        // A stray packet far ahead, then the stream goes on: no reset, the stray does not move the highest.
        let s = steady(&[100, 101, 102, 40_000, 103, 104]);
        assert_eq!((s.seq_resets, s.highest_seq), (0, 104));
        assert_eq!((s.packets, s.expected, s.lost), (6, 5, -1));
        // A jump followed by its successor: a reset; expected runs from the first sequence number to the
        // new highest, as tshark's does.
        let s = steady(&[100, 101, 102, 20_000, 20_001, 20_002]);
        assert_eq!((s.seq_resets, s.highest_seq), (1, 20_002));
        assert_eq!((s.expected, s.lost), (19_903, 19_903 - 6));
        // A sender restarting its numbering (the lab-calls replay): expected shrinks, the loss goes negative.
        // (Further back than MAX_MISORDER, or it would read as duplicates.)
        let twice: Vec<u16> = (500..=700).chain(500..=700).collect();
        let s = steady(&twice);
        assert_eq!((s.seq_resets, s.cycles, s.highest_seq), (1, 0, 700));
        assert_eq!((s.packets, s.expected, s.lost), (402, 201, -201));
        // A short restart is within MAX_MISORDER: duplicates.
        let s = steady(&[500, 501, 502, 503, 500, 501, 502, 503]);
        assert_eq!((s.seq_resets, s.duplicates, s.lost), (0, 4, -4));
        // Restarting below the base takes the next cycle, so expected never goes below zero.
        let s = steady(&[30_000, 30_001, 30_002, 7, 8, 9]);
        assert_eq!((s.seq_resets, s.cycles, s.highest_seq), (1, 1, 65_536 + 9));
        assert_eq!(s.expected, 65_536 + 9 - 30_000 + 1);
    }

    #[test]
    fn jitter_follows_the_rfc_3550_estimator_on_a_hand_computed_example() {
        // 20 ms of timestamp per packet; arrivals at 0, 20, 50 and 70 ms.
        // D2 = |20 - 20| = 0 -> J = 0; D3 = |30 - 20| = 10 -> J = 10/16 = 0.625;
        // D4 = |20 - 20| = 0 -> J = 0.625 * 15/16 = 0.5859375 ms = 4.6875 timestamp units.
        let mut s = StreamStats::new();
        feed(
            &mut s,
            &[(1, 0, 0), (2, 160, 20), (3, 320, 50), (4, 480, 70)],
        );
        let s = s.snapshot();
        assert!(close(s.jitter_ms, 0.585_937_5), "{}", s.jitter_ms);
        assert!(close(s.jitter_ts, 4.6875), "{}", s.jitter_ts);
        assert!(close(s.max_jitter_ms, 0.625) && close(s.min_jitter_ms, 0.0));
        // tshark's running mean: 0, (0 + 0.625) / 2, (0.3125 * 2 + 0.5859375) / 3.
        assert!(
            close(s.mean_jitter_ms, (0.625 + 0.585_937_5) / 3.0),
            "{}",
            s.mean_jitter_ms
        );
        assert!(close(s.max_delta_ms, 30.0) && close(s.min_delta_ms, 20.0));
        assert!(close(s.mean_delta_ms, 70.0 / 3.0), "{}", s.mean_delta_ms);
    }

    #[test]
    fn marker_and_comfort_noise_packets_stay_out_of_the_delta_figures() {
        let mut s = StreamStats::new();
        let pkts = [
            (1, 0, 0, false, 0),
            (2, 160, 20, false, 0),
            // A talkspurt after 100 ms of silence: marker set, its 100 ms step is not a max delta.
            (3, 1120, 120, true, 0),
            (4, 1280, 140, false, 0),
            // Comfort noise, and the packet after it: skipped too.
            (5, 1440, 400, false, 13),
            (6, 1600, 700, false, 0),
            (7, 1760, 720, false, 0),
        ];
        for (seq, ts, ms, m, pt) in pkts {
            let b = bytes(seq, ts, pt, m);
            let p = rtp::Packet::new(&b).unwrap();
            s.packet(at_ms(ms), &p, clock_rate(p.payload_type(), None));
        }
        let s = s.snapshot();
        assert_eq!((s.markers, s.payload_type_changes, s.lost), (1, 2, 0));
        assert_eq!(s.last_payload_type, PayloadType::PCMU);
        assert!(close(s.max_delta_ms, 20.0), "{}", s.max_delta_ms);
    }

    #[test]
    fn without_a_clock_rate_there_is_no_jitter_but_deltas_still_count() {
        let mut s = StreamStats::new();
        for (seq, ms) in [(1u16, 0u64), (2, 20), (3, 55)] {
            let b = bytes(seq, u32::from(seq) * 160, 101, false);
            s.packet(at_ms(ms), &rtp::Packet::new(&b).unwrap(), 0);
        }
        let s = s.snapshot();
        assert!(close(s.max_jitter_ms, 0.0) && close(s.jitter_ms, 0.0));
        assert_eq!(s.clock_rate, 0);
        assert!(close(s.max_delta_ms, 35.0));
    }

    #[test]
    fn a_timestamp_before_the_first_is_not_a_timing_reference() {
        // Packet 3 carries a timestamp from before the stream began: no jitter update, no delta, and
        // packet 4 is measured from packet 2.
        let mut s = StreamStats::new();
        feed(
            &mut s,
            &[(1, 1_000, 0), (2, 1_160, 20), (3, 10, 25), (4, 1_320, 40)],
        );
        let s = s.snapshot();
        assert!(close(s.max_jitter_ms, 0.0), "{}", s.max_jitter_ms);
        assert!(close(s.max_delta_ms, 20.0) && close(s.min_delta_ms, 20.0));
    }

    #[test]
    fn clock_rates_come_from_rtpmap_then_the_static_table() {
        assert_eq!(clock_rate(PayloadType::PCMU, None), 8000);
        assert_eq!(clock_rate(PayloadType::G722, None), 8000);
        assert_eq!(clock_rate(PayloadType(111), Some(48_000)), 48_000);
        assert_eq!(clock_rate(PayloadType(111), None), 0);
    }

    #[test]
    fn an_empty_stream_expects_nothing() {
        let s = StreamStats::new().snapshot();
        assert_eq!((s.packets, s.expected, s.lost), (0, 0, 0));
        assert!(close(s.loss_ratio, 0.0));
    }
}
