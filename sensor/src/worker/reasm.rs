//! TCP connection tracking and per-direction stream reassembly (RFC 9293).
//!
//! [`TcpTable`] follows each connection's handshake and turns its segments into two ordered byte streams,
//! one per [`Dir`], handed to a [`StreamHandler`] as they become contiguous. It is a passive observer: it
//! never sees the hosts' windows or timers, so it accepts what a receiver plausibly accepted and reports
//! what it could not reconstruct as gaps.
//!
//! # Streams
//! - Each direction tracks the next expected sequence number: the ISN + 1 after a SYN, or the first
//!   segment's sequence number when the connection is picked up mid-stream.
//! - In-order data is delivered at once, borrowed from the segment (no copy). Out-of-order data is copied
//!   and held until the hole before it fills. Data before the next expected byte is a retransmission and is
//!   trimmed ([`TcpStats::retransmitted_bytes`]).
//! - Overlaps with held data are resolved **first wins** ([`TcpStats::overlaps`]): bytes already held are
//!   never replaced, and a later segment only fills the parts nobody sent before. As with IP fragments,
//!   overlapping segments with different content are an evasion sign (hosts differ in which copy they keep).
//! - Held data is bounded per direction (bytes and segments) and across all connections. When a bound is
//!   exceeded the first hole is skipped: [`StreamHandler::on_gap`] reports how many bytes will never be
//!   delivered, then the data after the hole is delivered. Timeouts, resets, evictions and the end of the
//!   capture deliver whatever is held the same way, gaps included, before the close.
//! - A FIN ends its direction once every byte before it has been delivered; data beyond a FIN is ignored.
//!   When the peer acknowledges a FIN, every byte before it has been received, so any hole left in that
//!   direction is capture loss: it is skipped at once. The connection closes ([`CloseReason::Fin`]) when
//!   both directions have ended.
//! - A RST flushes what is held and closes the connection ([`CloseReason::Reset`]); nothing after it is
//!   delivered. On an established connection a RST is believed only when its sequence number lies within
//!   [`RST_ACCEPT_WINDOW`] of the next expected byte (RFC 5961 §3): a blind RST must not end the
//!   sensor's view of a connection the hosts keep using.
//! - Sequence numbers wrap at 2^32 and are compared with wrapping arithmetic throughout.
//! - Data carried on a SYN or SYN-ACK (TCP Fast Open, RFC 7413) is delivered: it occupies the sequence
//!   space just after the ISN, and a retransmission of it after a refused cookie is trimmed as such.
//!
//! # Connections
//! - The **client** is the side that sent the SYN (or, when only the SYN-ACK is seen, the side it answers).
//!   A connection picked up mid-stream is created only by a segment carrying data ([`TcpStats::midstream`]);
//!   its server is the side with the lower port (5060 against an ephemeral port), and on equal ports the
//!   sender of that first segment is the client. Bare ACKs, FINs and RSTs never create a connection, so the
//!   trailing segments of a connection that has just closed do not open a phantom one.
//! - A retransmitted SYN does not reset a connection. A SYN with a different ISN on a half-open or closed
//!   connection starts a fresh one (port reuse); on an established one it is remembered, and the connection
//!   is replaced only when the server answers it with a SYN-ACK that acknowledges it, so a spoofed SYN
//!   alone cannot tear down the sensor's view either.
//! - Every connection gets exactly one [`StreamHandler::on_close`]. Closed connections stay in the table,
//!   silent, for the handshake timeout, to absorb the last ACKs and retransmitted FINs.
//! - The table is a [`BoundedMap`]. When it is full, the connections to evict are chosen here so that each
//!   can be reported ([`CloseReason::Evicted`]): closed ones first, then half-open ones, then established
//!   ones, least recently seen first. A SYN flood therefore evicts its own half-open entries before any
//!   established call-signalling connection (the idea behind Linux conntrack's early drop of unassured
//!   entries).
//! - Half-open connections time out after [`TcpConfig::handshake_timeout`], established ones after
//!   [`TcpConfig::idle_timeout`] of silence, both in packet time.
//!
//! Connections are reported in a deterministic order (by last-seen time, then creation order) whenever
//! several close in one call, so a capture gives the same output on every run.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use callguard_parsers::link::{Tcp, TcpFlags};
use callguard_rules::table::BoundedMap;
use callguard_rules::time::PacketTime;

/// Default cap on tracked connections per worker. At a few hundred bytes each without held data, 65,536
/// connections cost tens of MiB, above any call-signalling load a worker sees.
pub const DEFAULT_MAX_CONNS: usize = 65_536;

/// Default out-of-order bytes held per direction before the first hole is skipped. A hole normally fills
/// within a round trip; 256 KiB covers several full SIP or TLS messages behind a lost segment.
pub const DEFAULT_MAX_BUFFERED_PER_DIR: usize = 256 * 1024;

/// Default out-of-order segments held per direction before the first hole is skipped. Contiguous held
/// segments are merged, so this counts islands of data, not packets; it bounds the per-segment work.
pub const DEFAULT_MAX_SEGMENTS_PER_DIR: usize = 256;

/// Default out-of-order bytes held across all connections of a worker: 64 MiB.
pub const DEFAULT_MAX_BUFFERED_TOTAL: usize = 64 * 1024 * 1024;

/// Default idle timeout of an established connection: one hour, Suricata's `flow-timeouts.tcp.established`.
/// SIP over TCP keeps connections open for registrations and refreshes them well within it (RFC 5626 §4.4.1
/// keep-alives).
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 3600;

/// Default timeout of a half-open (and of a recently closed) connection: 60 s, Suricata's
/// `flow-timeouts.tcp.new` and Linux conntrack's `SYN_RECV`, longer than the first few SYN retransmissions
/// (RFC 6298 §2: 1 s initial RTO, doubling).
pub const DEFAULT_HANDSHAKE_TIMEOUT_SECS: u64 = 60;

/// Segments starting further than this ahead of the next expected byte are ignored: RFC 7323 §2.3 caps the
/// window at 2^30 bytes, so no receiver could accept them.
pub const MAX_SEQ_AHEAD: u32 = 1 << 30;

/// A RST on an established connection is believed only when its sequence number lies within this many bytes
/// of the next expected byte in its direction (RFC 5961 §3 has receivers ignore out-of-window RSTs). 1 MiB is
/// more than signalling connections have in flight, and a blind RST with a random sequence number lands
/// inside with probability 2^-11.
pub const RST_ACCEPT_WINDOW: u32 = 1 << 20;

/// Held segments that touch are merged up to this length, so a stream behind one hole is a few large
/// buffers rather than many small ones.
const MAX_MERGED_SEGMENT_LEN: usize = 64 * 1024;

/// When the table is full, one eviction pass removes this fraction (1/n) of it, as [`BoundedMap`] does:
/// amortised O(1) per new connection.
const EVICT_FRACTION: usize = 8;

/// A connection's key: both endpoints in canonical order (`a <= b`), so both directions map to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnKey {
    /// The lower endpoint.
    pub a: SocketAddr,
    /// The higher endpoint.
    pub b: SocketAddr,
}

impl ConnKey {
    /// The key of the connection between `src` and `dst`, whichever way the segment goes.
    pub fn new(src: SocketAddr, dst: SocketAddr) -> Self {
        if src <= dst {
            Self { a: src, b: dst }
        } else {
            Self { a: dst, b: src }
        }
    }
}

/// The direction of a segment or stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From the client (the side that sent the SYN) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// Who is who in a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// The side that opened the connection (see the module docs for mid-stream pickup).
    pub client: SocketAddr,
    /// The other side.
    pub server: SocketAddr,
    /// When the first segment of the connection was seen.
    pub start: PacketTime,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Both directions ended with a FIN.
    Fin,
    /// A RST.
    Reset,
    /// Idle longer than its timeout (handshake timeout while half-open).
    Timeout,
    /// Dropped before it ended: the table was full, or a new connection reused its ports.
    Evicted,
    /// Flushed at the end of the capture.
    End,
}

/// Receives the reassembled streams.
pub trait StreamHandler {
    /// Contiguous bytes of one direction, in order. `ts` is the time of the segment that made them
    /// deliverable (for a flush, the connection's last segment).
    fn on_data(&mut self, conn: &ConnInfo, dir: Dir, ts: PacketTime, data: &[u8]);
    /// `skipped` bytes of one direction that will never be delivered; the next `on_data` follows them.
    fn on_gap(&mut self, conn: &ConnInfo, dir: Dir, skipped: u64);
    /// The connection ended; called once per connection, after its last data.
    fn on_close(&mut self, conn: &ConnInfo, reason: CloseReason);
}

/// What a segment did to the connection's handshake, for the SYN-flood detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// Nothing handshake-related.
    None,
    /// A SYN without ACK: a new attempt, or a retransmitted SYN.
    Syn,
    /// A SYN-ACK.
    SynAck,
    /// The client's ACK that completes the three-way handshake (also its first ACK when the SYN-ACK was
    /// not seen).
    Established,
    /// A RST from the server answering a SYN.
    Refused,
}

/// Limits for [`TcpTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// Connections tracked at once.
    pub max_conns: usize,
    /// Out-of-order bytes held per direction before the first hole is skipped.
    pub max_buffered_per_dir: usize,
    /// Out-of-order segments (islands of contiguous data) held per direction before the first hole is
    /// skipped.
    pub max_segments_per_dir: usize,
    /// Out-of-order bytes held across all connections.
    pub max_buffered_total: usize,
    /// Silence after which an established connection is closed.
    pub idle_timeout: Duration,
    /// Silence after which a half-open connection is dropped (and a closed one forgotten).
    pub handshake_timeout: Duration,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            max_conns: DEFAULT_MAX_CONNS,
            max_buffered_per_dir: DEFAULT_MAX_BUFFERED_PER_DIR,
            max_segments_per_dir: DEFAULT_MAX_SEGMENTS_PER_DIR,
            max_buffered_total: DEFAULT_MAX_BUFFERED_TOTAL,
            idle_timeout: Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS),
            handshake_timeout: Duration::from_secs(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
        }
    }
}

/// Counters and sizes of a [`TcpTable`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TcpStats {
    /// Connections created (handshakes, mid-stream pickups and port reuses).
    pub conns_opened: u64,
    /// Connections in the table now (recently closed ones included).
    pub active: usize,
    /// Open connections dropped because the table was full or their ports were reused.
    pub evicted: u64,
    /// Connections closed by their idle or handshake timeout.
    pub timed_out: u64,
    /// Bytes handed to [`StreamHandler::on_data`].
    pub bytes_delivered: u64,
    /// Holes skipped ([`StreamHandler::on_gap`] calls).
    pub gaps: u64,
    /// Bytes in skipped holes.
    pub gap_bytes: u64,
    /// Bytes trimmed because they had already been delivered.
    pub retransmitted_bytes: u64,
    /// Segments that overlapped held data (the held bytes were kept).
    pub overlaps: u64,
    /// Segments held because they arrived ahead of a hole.
    pub out_of_order: u64,
    /// Connections picked up without their handshake.
    pub midstream: u64,
    /// Segments ignored as outside the acceptable sequence space: more than [`MAX_SEQ_AHEAD`] ahead, data
    /// beyond a FIN, a RST outside [`RST_ACCEPT_WINDOW`], a SYN-ACK acknowledging the wrong ISN, or data
    /// after the connection closed.
    pub out_of_window: u64,
}

/// Signed distance from `b` to `a` in sequence space: negative when `a` is before `b`. Sequence numbers are
/// compared modulo 2^32 (RFC 9293 §3.4), so the wrapping difference is read as an `i32`; this is exact while
/// the two are less than 2^31 apart, which the 2^30 maximum window (RFC 7323 §2.3) guarantees for any
/// segment a receiver could accept.
fn seq_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// A length as a sequence-space distance. Lengths here are segment payloads or merged held segments, both
/// far below 2^32; saturating keeps even an absurd input panic-free.
fn seq_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Held out-of-order data.
#[derive(Debug)]
struct Seg {
    seq: u32,
    data: Vec<u8>,
}

impl Seg {
    fn end(&self) -> u32 {
        self.seq.wrapping_add(seq_len(self.data.len()))
    }
}

/// One direction of a connection.
#[derive(Debug, Default)]
struct Half {
    /// The next sequence number to deliver; `None` until the direction's start is known.
    next: Option<u32>,
    /// Held data, sorted by sequence number, disjoint, all strictly after `next`.
    segs: VecDeque<Seg>,
    /// Bytes in `segs`.
    held: usize,
    /// Sequence number of this direction's FIN, once seen.
    fin: Option<u32>,
    /// Everything up to the FIN has been delivered.
    finished: bool,
}

/// What a [`Half`] needs from its table while it works.
struct Cx<'a> {
    cfg: &'a TcpConfig,
    stats: &'a mut TcpStats,
    total: &'a mut usize,
    scratch: &'a mut Vec<(u64, u64)>,
    h: &'a mut dyn StreamHandler,
    info: ConnInfo,
    dir: Dir,
    ts: PacketTime,
}

impl Half {
    /// Hands `data`, which starts at `next`, to the handler.
    fn emit(&mut self, cx: &mut Cx<'_>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        cx.h.on_data(&cx.info, cx.dir, cx.ts, data);
        cx.stats.bytes_delivered += data.len() as u64;
        self.next = self.next.map(|n| n.wrapping_add(seq_len(data.len())));
    }

    /// Delivers the held segments that have become contiguous, then ends the direction if its FIN is next.
    fn drain(&mut self, cx: &mut Cx<'_>) {
        while self.segs.front().is_some_and(|s| Some(s.seq) == self.next) {
            let Some(seg) = self.segs.pop_front() else {
                break;
            };
            self.held = self.held.saturating_sub(seg.data.len());
            *cx.total = cx.total.saturating_sub(seg.data.len());
            self.emit(cx, &seg.data);
        }
        if let (Some(fin), Some(next)) = (self.fin, self.next)
            && fin == next
            && !self.finished
        {
            self.finished = true;
            self.next = Some(next.wrapping_add(1));
        }
    }

    /// Reports `gap` bytes of this direction that will never be delivered.
    fn gap(cx: &mut Cx<'_>, gap: u32) {
        if gap > 0 {
            cx.h.on_gap(&cx.info, cx.dir, u64::from(gap));
            cx.stats.gaps += 1;
            cx.stats.gap_bytes += u64::from(gap);
        }
    }

    /// Skips the hole before the first held segment and delivers what follows. False when nothing is held.
    fn skip_hole(&mut self, cx: &mut Cx<'_>) -> bool {
        let Some(first) = self.segs.front().map(|s| s.seq) else {
            return false;
        };
        Self::gap(cx, self.next.map_or(0, |n| first.wrapping_sub(n)));
        self.next = Some(first);
        self.drain(cx);
        true
    }

    /// Delivers everything held, skipping holes, up to the FIN when one was seen; used when the connection
    /// ends, and when the FIN is acknowledged.
    fn flush(&mut self, cx: &mut Cx<'_>) {
        while self.skip_hole(cx) {}
        // The hole between the last byte seen and the FIN.
        if let (Some(fin), Some(next)) = (self.fin, self.next)
            && !self.finished
            && seq_diff(fin, next) > 0
        {
            Self::gap(cx, fin.wrapping_sub(next));
            self.next = Some(fin);
            self.drain(cx);
        }
    }

    /// The peer acknowledged `ack`. When that is this direction's FIN (a FIN is acknowledged by exactly its
    /// sequence number + 1), the peer received every byte before it: the holes left are capture loss, and
    /// are skipped now rather than at the timeout.
    fn acked(&mut self, cx: &mut Cx<'_>, ack: u32) {
        if !self.finished && self.fin.is_some_and(|f| f.wrapping_add(1) == ack) {
            self.flush(cx);
        }
    }

    /// Drops everything held without delivering it (only after it was flushed, or for a closed connection).
    fn release(&mut self, total: &mut usize) {
        *total = total.saturating_sub(self.held);
        self.held = 0;
        self.segs.clear();
    }

    /// One segment of this direction: `payload` starts at `seq`; `fin` when the segment carries a FIN.
    fn segment(&mut self, cx: &mut Cx<'_>, seq: u32, payload: &[u8], fin: bool) {
        if self.finished {
            if !payload.is_empty() {
                let before_fin = self.fin.is_some_and(|f| seq_diff(seq, f) < 0);
                if before_fin {
                    cx.stats.retransmitted_bytes += payload.len() as u64;
                } else {
                    cx.stats.out_of_window += 1;
                }
            }
            return;
        }
        let next = *self.next.get_or_insert(seq);
        let mut seq = seq;
        let mut data = payload;
        let ahead = seq_diff(seq, next);
        if ahead < 0 {
            // Starts before `next`: the part already delivered is a retransmission.
            let behind = usize::try_from(ahead.unsigned_abs()).unwrap_or(usize::MAX);
            let dup = behind.min(data.len());
            cx.stats.retransmitted_bytes += dup as u64;
            data = data.get(dup..).unwrap_or_default();
            seq = seq.wrapping_add(seq_len(dup));
        } else if ahead.unsigned_abs() > MAX_SEQ_AHEAD {
            cx.stats.out_of_window += 1;
            return;
        }
        if fin {
            self.note_fin(cx, seq_end(seq, data));
        }
        if let Some(f) = self.fin {
            // Data at or beyond the FIN cannot be part of the stream.
            let room = seq_diff(f, seq).max(0).unsigned_abs();
            if seq_len(data.len()) > room {
                cx.stats.out_of_window += 1;
                data = data
                    .get(..usize::try_from(room).unwrap_or(0))
                    .unwrap_or_default();
            }
        }
        if !data.is_empty() {
            self.accept(cx, seq, data);
        }
        self.drain(cx);
    }

    /// Records a FIN at `f`, unless it contradicts what is already known (first wins).
    fn note_fin(&mut self, cx: &mut Cx<'_>, f: u32) {
        match self.fin {
            Some(old) if old == f => {}
            Some(_) => cx.stats.out_of_window += 1,
            None => {
                let held_beyond = self.segs.back().is_some_and(|s| seq_diff(s.end(), f) > 0);
                let before_next = self.next.is_some_and(|n| seq_diff(f, n) < 0);
                if held_beyond || before_next {
                    cx.stats.out_of_window += 1;
                } else {
                    self.fin = Some(f);
                }
            }
        }
    }

    /// Data at or after `next`: delivered when it is next, held otherwise, never replacing held bytes.
    fn accept(&mut self, cx: &mut Cx<'_>, seq: u32, data: &[u8]) {
        let Some(base) = self.next else { return };
        if self.segs.is_empty() && seq == base {
            self.emit(cx, data);
            return;
        }
        // The parts of [seq, seq + len) not covered by held data, relative to `base`.
        let start = u64::from(seq.wrapping_sub(base));
        let end = start + data.len() as u64;
        let mut pieces = std::mem::take(cx.scratch);
        pieces.clear();
        let mut cursor = start;
        let mut overlapped = false;
        for s in &self.segs {
            let a = u64::from(s.seq.wrapping_sub(base));
            let b = a + s.data.len() as u64;
            if b <= cursor {
                continue;
            }
            if a >= end {
                break;
            }
            if a > cursor {
                pieces.push((cursor, a));
            }
            overlapped = true;
            cursor = cursor.max(b);
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        cx.stats.overlaps += u64::from(overlapped);
        let mut held_any = false;
        for &(a, b) in &pieces {
            let from = usize::try_from(a - start).unwrap_or(usize::MAX);
            let to = usize::try_from(b - start).unwrap_or(usize::MAX);
            let Some(piece) = data.get(from..to) else {
                continue;
            };
            // `a` is below 2^31 here, so the truncation to sequence space is exact.
            let piece_seq = base.wrapping_add(u32::try_from(a).unwrap_or(0));
            if Some(piece_seq) == self.next {
                self.emit(cx, piece);
                self.drain(cx);
            } else {
                self.hold(cx, piece_seq, piece);
                held_any = true;
            }
        }
        *cx.scratch = pieces;
        cx.stats.out_of_order += u64::from(held_any);
        while (self.held > cx.cfg.max_buffered_per_dir
            || self.segs.len() > cx.cfg.max_segments_per_dir
            || *cx.total > cx.cfg.max_buffered_total)
            && self.skip_hole(cx)
        {}
    }

    /// Copies `data` at `seq` (strictly after `next`, covering no held byte) into the held segments.
    fn hold(&mut self, cx: &mut Cx<'_>, seq: u32, data: &[u8]) {
        let base = self.next.unwrap_or(seq);
        let rel = seq.wrapping_sub(base);
        let at = self
            .segs
            .partition_point(|s| s.seq.wrapping_sub(base) < rel);
        self.held += data.len();
        *cx.total += data.len();
        let prev = at.checked_sub(1).and_then(|i| self.segs.get_mut(i));
        match prev {
            Some(p) if p.end() == seq && p.data.len() + data.len() <= MAX_MERGED_SEGMENT_LEN => {
                p.data.extend_from_slice(data);
            }
            _ => self.segs.insert(
                at,
                Seg {
                    seq,
                    data: data.to_vec(),
                },
            ),
        }
    }
}

/// The sequence number just after `data` at `seq`.
fn seq_end(seq: u32, data: &[u8]) -> u32 {
    seq.wrapping_add(seq_len(data.len()))
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// SYN seen.
    SynSent,
    /// SYN-ACK seen.
    SynReceived,
    /// Handshake completed, or picked up mid-stream.
    Established,
    /// Reported closed; kept only to absorb trailing segments.
    Closed,
}

impl State {
    /// Eviction preference: lower goes first.
    fn evict_class(self) -> u8 {
        match self {
            State::Closed => 0,
            State::SynSent | State::SynReceived => 1,
            State::Established => 2,
        }
    }
}

/// One tracked connection.
#[derive(Debug)]
struct Conn {
    info: ConnInfo,
    /// Creation order, the tie-breaker that keeps reports deterministic.
    serial: u64,
    state: State,
    client_isn: Option<u32>,
    server_isn: Option<u32>,
    /// A SYN with a new ISN seen on an established connection: (client, ISN), until the server answers.
    pending_syn: Option<(SocketAddr, u32)>,
    /// Time of the last segment, the timestamp of data delivered by a flush.
    last_ts: PacketTime,
    to_server: Half,
    to_client: Half,
}

impl Conn {
    fn new(info: ConnInfo, serial: u64, state: State) -> Self {
        Self {
            info,
            serial,
            state,
            client_isn: None,
            server_isn: None,
            pending_syn: None,
            last_ts: info.start,
            to_server: Half::default(),
            to_client: Half::default(),
        }
    }

    fn dir_of(&self, src: SocketAddr) -> Dir {
        if src == self.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    fn half_mut(&mut self, dir: Dir) -> &mut Half {
        match dir {
            Dir::ToServer => &mut self.to_server,
            Dir::ToClient => &mut self.to_client,
        }
    }
}

/// The table's working parts other than the connections, borrowed together while one connection works.
#[derive(Debug, Default)]
struct Shared {
    stats: TcpStats,
    /// Out-of-order bytes held across all connections.
    total: usize,
    scratch: Vec<(u64, u64)>,
}

impl Shared {
    fn cx<'a>(
        &'a mut self,
        cfg: &'a TcpConfig,
        h: &'a mut dyn StreamHandler,
        conn: &Conn,
        dir: Dir,
        ts: PacketTime,
    ) -> Cx<'a> {
        Cx {
            cfg,
            stats: &mut self.stats,
            total: &mut self.total,
            scratch: &mut self.scratch,
            h,
            info: conn.info,
            dir,
            ts,
        }
    }

    /// Passes one segment's data to its direction.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the parts are borrowed separately"
    )]
    fn data(
        &mut self,
        cfg: &TcpConfig,
        h: &mut dyn StreamHandler,
        conn: &mut Conn,
        dir: Dir,
        ts: PacketTime,
        seq: u32,
        payload: &[u8],
        fin: bool,
    ) {
        let mut cx = self.cx(cfg, h, conn, dir, ts);
        conn.half_mut(dir).segment(&mut cx, seq, payload, fin);
    }

    /// Delivers what both directions hold, gaps included, reports the close and releases the buffers.
    fn close(
        &mut self,
        cfg: &TcpConfig,
        h: &mut dyn StreamHandler,
        conn: &mut Conn,
        reason: CloseReason,
    ) {
        if conn.state == State::Closed {
            return;
        }
        let ts = conn.last_ts;
        for dir in [Dir::ToServer, Dir::ToClient] {
            let mut cx = self.cx(cfg, h, conn, dir, ts);
            conn.half_mut(dir).flush(&mut cx);
        }
        for dir in [Dir::ToServer, Dir::ToClient] {
            conn.half_mut(dir).release(&mut self.total);
        }
        h.on_close(&conn.info, reason);
        conn.state = State::Closed;
    }
}

/// Connection tracking and stream reassembly for one worker. See the [module docs](self).
#[derive(Debug)]
pub struct TcpTable {
    cfg: TcpConfig,
    conns: BoundedMap<ConnKey, Conn>,
    shared: Shared,
    next_serial: u64,
    next_sweep: PacketTime,
}

/// What to do after looking at a segment of a known connection.
enum Then {
    Done(Handshake),
    /// Replace the connection with a fresh one (port reuse), reporting the old one as evicted if open.
    Replace,
}

impl TcpTable {
    /// An empty table with the given limits.
    pub fn new(cfg: TcpConfig) -> Self {
        let idle = cfg.idle_timeout.max(cfg.handshake_timeout);
        Self {
            cfg,
            conns: BoundedMap::new(cfg.max_conns, idle),
            shared: Shared::default(),
            next_serial: 0,
            next_sweep: PacketTime::ZERO,
        }
    }

    /// Processes one TCP segment from `src` to `dst` captured at `now`, delivering whatever stream data it
    /// makes contiguous to `h`, and says what it did to the handshake.
    pub fn segment(
        &mut self,
        now: PacketTime,
        src: SocketAddr,
        dst: SocketAddr,
        tcp: &Tcp<'_>,
        h: &mut dyn StreamHandler,
    ) -> Handshake {
        let key = ConnKey::new(src, dst);
        match self.existing(now, key, src, tcp, h) {
            None => self.open(now, key, src, dst, tcp, h),
            Some(Then::Done(hs)) => hs,
            Some(Then::Replace) => {
                if let Some(mut old) = self.conns.remove(&key) {
                    if old.state != State::Closed {
                        self.shared.stats.evicted += 1;
                    }
                    self.shared
                        .close(&self.cfg, h, &mut old, CloseReason::Evicted);
                }
                self.open(now, key, src, dst, tcp, h)
            }
        }
    }

    /// A segment of a connection in the table; `None` when there is none.
    fn existing(
        &mut self,
        now: PacketTime,
        key: ConnKey,
        src: SocketAddr,
        tcp: &Tcp<'_>,
        h: &mut dyn StreamHandler,
    ) -> Option<Then> {
        let Self {
            cfg, conns, shared, ..
        } = self;
        let conn = conns.get_mut(&key, now)?;
        let f = tcp.flags;
        let (syn, ack, rst, fin) = (
            f.has(TcpFlags::SYN),
            f.has(TcpFlags::ACK),
            f.has(TcpFlags::RST),
            f.has(TcpFlags::FIN),
        );
        let dir = conn.dir_of(src);

        if conn.state == State::Closed {
            if syn && !rst {
                return Some(Then::Replace);
            }
            if !tcp.payload.is_empty() {
                shared.stats.out_of_window += 1;
            }
            return Some(Then::Done(Handshake::None));
        }
        conn.last_ts = now;

        if rst {
            let refused = conn.state == State::SynSent && dir == Dir::ToClient;
            if conn.state == State::Established {
                let next = conn.half_mut(dir).next;
                let off = next.map_or(0, |n| seq_diff(tcp.seq, n).unsigned_abs());
                if off > RST_ACCEPT_WINDOW {
                    shared.stats.out_of_window += 1;
                    return Some(Then::Done(Handshake::None));
                }
            }
            shared.close(cfg, h, conn, CloseReason::Reset);
            return Some(Then::Done(if refused {
                Handshake::Refused
            } else {
                Handshake::None
            }));
        }

        let data_seq = if syn {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        let mut hs = Handshake::None;
        if syn && !ack {
            hs = Handshake::Syn;
            let same_isn = conn.client_isn == Some(tcp.seq);
            match conn.state {
                State::SynSent | State::SynReceived if dir == Dir::ToServer && !same_isn => {
                    return Some(Then::Replace);
                }
                State::Established if dir == Dir::ToServer && !same_isn => {
                    conn.pending_syn = Some((src, tcp.seq));
                    return Some(Then::Done(hs));
                }
                // A retransmitted SYN, or one from the server side (simultaneous open): no change.
                _ => {}
            }
        } else if syn {
            hs = Handshake::SynAck;
            match conn.state {
                State::SynSent if dir == Dir::ToClient => {
                    if conn.client_isn.map(|i| i.wrapping_add(1)) == Some(tcp.ack) {
                        conn.state = State::SynReceived;
                        conn.server_isn = Some(tcp.seq);
                        conn.to_client.next = Some(data_seq);
                    } else {
                        shared.stats.out_of_window += 1;
                        return Some(Then::Done(hs));
                    }
                }
                State::Established => {
                    let answers_new_syn = conn.pending_syn.is_some_and(|(client, isn)| {
                        dir == Dir::ToClient
                            && client == conn.info.client
                            && isn.wrapping_add(1) == tcp.ack
                    });
                    if answers_new_syn {
                        return Some(Then::Replace);
                    }
                    return Some(Then::Done(hs));
                }
                _ => {}
            }
        } else if dir == Dir::ToServer && ack {
            match conn.state {
                State::SynReceived
                    if conn.server_isn.map(|i| i.wrapping_add(1)) == Some(tcp.ack) =>
                {
                    conn.state = State::Established;
                    hs = Handshake::Established;
                }
                State::SynSent => {
                    // The SYN-ACK was not captured; the client's ACK says where the server's stream starts.
                    conn.state = State::Established;
                    conn.server_isn = Some(tcp.ack.wrapping_sub(1));
                    conn.to_client.next.get_or_insert(tcp.ack);
                    hs = Handshake::Established;
                }
                _ => {}
            }
        }

        shared.data(cfg, h, conn, dir, now, data_seq, tcp.payload, fin);
        if ack && !syn {
            let peer = match dir {
                Dir::ToServer => Dir::ToClient,
                Dir::ToClient => Dir::ToServer,
            };
            let mut cx = shared.cx(cfg, h, conn, peer, now);
            conn.half_mut(peer).acked(&mut cx, tcp.ack);
        }
        if conn.to_server.finished && conn.to_client.finished {
            shared.close(cfg, h, conn, CloseReason::Fin);
        }
        Some(Then::Done(hs))
    }

    /// A segment with no connection in the table: opens one when the segment is a SYN, a SYN-ACK, or carries
    /// data (mid-stream pickup).
    fn open(
        &mut self,
        now: PacketTime,
        key: ConnKey,
        src: SocketAddr,
        dst: SocketAddr,
        tcp: &Tcp<'_>,
        h: &mut dyn StreamHandler,
    ) -> Handshake {
        let f = tcp.flags;
        let (syn, ack, rst, fin) = (
            f.has(TcpFlags::SYN),
            f.has(TcpFlags::ACK),
            f.has(TcpFlags::RST),
            f.has(TcpFlags::FIN),
        );
        if rst || (!syn && tcp.payload.is_empty()) {
            return Handshake::None;
        }
        let (client, server, state, hs) = match (syn, ack) {
            (true, false) => (src, dst, State::SynSent, Handshake::Syn),
            (true, true) => (dst, src, State::SynReceived, Handshake::SynAck),
            // Mid-stream: the lower port is the server's; on a tie the sender is the client.
            _ if src.port() < dst.port() => (dst, src, State::Established, Handshake::None),
            _ => (src, dst, State::Established, Handshake::None),
        };
        self.make_room(h);
        let serial = self.next_serial;
        self.next_serial += 1;
        let mut conn = Conn::new(
            ConnInfo {
                client,
                server,
                start: now,
            },
            serial,
            state,
        );
        let dir = conn.dir_of(src);
        let data_seq = if syn {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        match (syn, ack) {
            (true, false) => {
                conn.client_isn = Some(tcp.seq);
                conn.to_server.next = Some(data_seq);
            }
            (true, true) => {
                conn.server_isn = Some(tcp.seq);
                conn.client_isn = Some(tcp.ack.wrapping_sub(1));
                conn.to_client.next = Some(data_seq);
                conn.to_server.next = Some(tcp.ack);
            }
            _ => {
                self.shared.stats.midstream += 1;
                conn.half_mut(dir).next = Some(tcp.seq);
                if ack {
                    let peer = match dir {
                        Dir::ToServer => Dir::ToClient,
                        Dir::ToClient => Dir::ToServer,
                    };
                    conn.half_mut(peer).next = Some(tcp.ack);
                }
            }
        }
        self.shared.stats.conns_opened += 1;
        self.shared.data(
            &self.cfg,
            h,
            &mut conn,
            dir,
            now,
            data_seq,
            tcp.payload,
            fin,
        );
        self.conns.insert(key, conn, now);
        hs
    }

    /// When the table is full, removes the least valuable eighth of it (closed, then half-open, then
    /// established connections; least recently seen first), reporting each open one as evicted.
    fn make_room(&mut self, h: &mut dyn StreamHandler) {
        let cap = self.cfg.max_conns.max(1);
        if self.conns.len() < cap {
            return;
        }
        let mut victims: Vec<(u8, PacketTime, u64, ConnKey)> = self
            .conns
            .iter()
            .map(|(k, c)| {
                let seen = self.conns.last_seen(k).unwrap_or(PacketTime::ZERO);
                (c.state.evict_class(), seen, c.serial, *k)
            })
            .collect();
        let n = (cap / EVICT_FRACTION).max(1).min(victims.len());
        if n < victims.len() {
            victims.select_nth_unstable(n);
            victims.truncate(n);
        }
        victims.sort_unstable();
        for (_, _, _, key) in victims {
            if let Some(mut conn) = self.conns.remove(&key)
                && conn.state != State::Closed
            {
                self.shared.stats.evicted += 1;
                self.shared
                    .close(&self.cfg, h, &mut conn, CloseReason::Evicted);
            }
        }
    }

    /// Closes the connections idle past their timeout (handshake timeout while half-open, idle timeout once
    /// established) with [`CloseReason::Timeout`], after delivering what they hold, and forgets closed ones
    /// past the handshake timeout. Cheap to call per packet: it scans the table at most four times per
    /// shorter timeout.
    pub fn expire(&mut self, now: PacketTime, h: &mut dyn StreamHandler) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.plus(self.cfg.idle_timeout.min(self.cfg.handshake_timeout) / 4);
        let mut old: Vec<(PacketTime, u64, ConnKey)> = self
            .conns
            .iter()
            .filter_map(|(k, c)| {
                let seen = self.conns.last_seen(k)?;
                let limit = match c.state {
                    State::Established => self.cfg.idle_timeout,
                    _ => self.cfg.handshake_timeout,
                };
                (now.since(seen) > limit).then_some((seen, c.serial, *k))
            })
            .collect();
        old.sort_unstable();
        for (_, _, key) in old {
            if let Some(mut conn) = self.conns.remove(&key)
                && conn.state != State::Closed
            {
                self.shared.stats.timed_out += 1;
                self.shared
                    .close(&self.cfg, h, &mut conn, CloseReason::Timeout);
            }
        }
    }

    /// End of capture: delivers what every connection holds (gaps included) and closes each open one with
    /// [`CloseReason::End`], in creation order. The table is empty afterwards.
    pub fn flush(&mut self, h: &mut dyn StreamHandler) {
        let mut all: Vec<(u64, ConnKey)> = self.conns.iter().map(|(k, c)| (c.serial, *k)).collect();
        all.sort_unstable();
        for (_, key) in all {
            if let Some(mut conn) = self.conns.remove(&key) {
                self.shared.close(&self.cfg, h, &mut conn, CloseReason::End);
            }
        }
    }

    /// Counters and current sizes.
    pub fn stats(&self) -> TcpStats {
        TcpStats {
            active: self.conns.len(),
            ..self.shared.stats
        }
    }

    /// Out-of-order bytes held across all connections now.
    pub fn buffered(&self) -> usize {
        self.shared.total
    }
}

impl Default for TcpTable {
    fn default() -> Self {
        Self::new(TcpConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_distance_wraps() {
        assert_eq!(seq_diff(5, u32::MAX - 4), 10);
        assert_eq!(seq_diff(u32::MAX - 4, 5), -10);
        assert_eq!(seq_diff(7, 7), 0);
        assert_eq!(seq_end(u32::MAX, b"ab"), 1);
    }

    #[derive(Default)]
    struct Count {
        data: usize,
        gaps: u64,
    }

    impl StreamHandler for Count {
        fn on_data(&mut self, _: &ConnInfo, _: Dir, _: PacketTime, data: &[u8]) {
            self.data += data.len();
        }
        fn on_gap(&mut self, _: &ConnInfo, _: Dir, skipped: u64) {
            self.gaps += skipped;
        }
        fn on_close(&mut self, _: &ConnInfo, _: CloseReason) {}
    }

    #[test]
    fn contiguous_held_data_merges_into_one_segment() {
        let cfg = TcpConfig::default();
        let mut shared = Shared::default();
        let mut h = Count::default();
        let addr = SocketAddr::from(([192, 0, 2, 1], 5060));
        let conn = Conn::new(
            ConnInfo {
                client: addr,
                server: addr,
                start: PacketTime::ZERO,
            },
            0,
            State::Established,
        );
        let mut half = Half {
            next: Some(u32::MAX - 100),
            ..Half::default()
        };
        {
            let mut cx = shared.cx(&cfg, &mut h, &conn, Dir::ToServer, PacketTime::ZERO);
            // One lost segment, then a long in-order run behind it, across the wrap.
            for i in 1..100u32 {
                half.segment(
                    &mut cx,
                    (u32::MAX - 100).wrapping_add(i * 10),
                    &[0; 10],
                    false,
                );
            }
            assert_eq!(half.segs.len(), 1);
            assert_eq!(half.held, 990);
            assert_eq!(*cx.total, 990);
            half.segment(&mut cx, u32::MAX - 100, &[0; 10], false);
            assert!(half.segs.is_empty());
            assert_eq!((half.held, *cx.total), (0, 0));
            assert_eq!(half.next, Some((u32::MAX - 100).wrapping_add(1000)));
        }
        assert_eq!((h.data, h.gaps), (1000, 0));
    }
}
