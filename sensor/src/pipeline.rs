//! Reader → dispatcher → N workers → engine → sinks.
//!
//! - The **dispatcher** runs on the reading thread. It gives every packet a capture-order sequence number,
//!   picks its worker by a symmetric flow hash (both directions of a 5-tuple meet; IP fragments hash on the
//!   address pair and protocol, so every fragment of a datagram meets in one worker), and appends it to that
//!   worker's batch: one contiguous byte buffer plus a small record per packet. Batches travel over bounded
//!   crossbeam channels and come back to a free list, so the hot path allocates nothing per packet.
//! - Every [`FLUSH_EVERY`] packets, and whenever packet time enters a new second, every worker gets a batch
//!   (empty if need be) stamped with the newest sequence number: that is how the engine knows a worker has
//!   nothing older still to say (the watermark). At each new second the dispatcher also hands worker 0 a
//!   clock marker with its own sequence number; it becomes a [`Payload::Clock`] event, so the engine's ticks
//!   fall at the same place in the event stream whatever the number of workers.
//! - **Workers** decode and emit events; **the engine** merges their streams by sequence number (and
//!   [`Event::tiebreak`] where workers share one: RTP streams ended by a sweep or by the end of input) up to
//!   the watermark (a k-way merge), so detectors see exactly the order a single thread would have produced.
//! - Offline, a full queue blocks the reader (lossless back-pressure). Live, [`QueueMode::Drop`] drops the
//!   batch instead and counts its packets.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::io;
use std::net::IpAddr;
#[cfg(test)]
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use callguard_parsers::link::{self, LinkType};
use callguard_rules::alert::Alert;
use callguard_rules::calls::{CallRecord, CallStats, StreamRecord};
use callguard_rules::config::Config;
use callguard_rules::detectors::tls_cert_changed::CertStore;
use callguard_rules::engine::{Engine, EngineStats, TlsRecord};
use callguard_rules::event::{Event, Payload};
use callguard_rules::table::TableStats;
use callguard_rules::time::PacketTime;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use foldhash::fast::RandomState;

use crate::capture::live::{KernelStats, LiveSource};
use crate::capture::{CaptureError, PacketSource, RawPacket};
use crate::latency::{EngineLatency, Latency};
use crate::metrics::{Hub, Snapshot};
use crate::output::certs::CertInventory;
use crate::output::hep::HepHandle;
use crate::output::tally::MediaTally;
use crate::stats::Counters;
use crate::worker::Worker;

/// Packets per batch: large enough to amortise a channel operation (measured: batches of 64 already reach
/// 645 M items/s), small enough to keep latency low.
pub const BATCH_PACKETS: usize = 1024;
/// Bytes per batch buffer before it is sent.
pub const BATCH_BYTES: usize = 1024 * 1024;
/// Every this many packets all workers get a batch, so the engine's watermark never lags further.
pub const FLUSH_EVERY: u64 = 16384;
/// Events a worker holds before it sends them without waiting for the next flush.
pub const MAX_HELD_EVENTS: usize = 4096;
/// Batches in flight per worker queue.
pub const QUEUE_BATCHES: usize = 32;

/// What to do when a worker's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMode {
    /// Wait (offline: lossless).
    Block,
    /// Drop the batch and count its packets (live: never stall the capture).
    Drop,
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of workers (at least 1).
    pub workers: usize,
    /// Back-pressure or drop.
    pub mode: QueueMode,
    /// Publish the figures here about once a second (wall time) for `/metrics`.
    pub metrics: Option<Arc<Hub>>,
    /// Reload and reopen requests (SIGHUP).
    pub control: Option<Arc<Control>>,
    /// Every SIP message the workers frame also goes to this HEP collector (`--hep`).
    pub hep: Option<HepHandle>,
}

/// Where alerts and periodic statistics go.
pub trait AlertSink: Send {
    /// Writes one alert.
    fn alert(&mut self, a: &Alert) -> io::Result<()>;

    /// Writes the record of a call that ended.
    fn call(&mut self, _r: &CallRecord) -> io::Result<()> {
        Ok(())
    }

    /// Writes the record of a stream no call explained (or that ended after its call's record).
    fn stream(&mut self, _r: &StreamRecord) -> io::Result<()> {
        Ok(())
    }

    /// Writes a TLS or DTLS handshake.
    fn tls(&mut self, _r: &TlsRecord) -> io::Result<()> {
        Ok(())
    }

    /// Writes a periodic statistics snapshot (live mode).
    fn stats(&mut self, _r: &Report) -> io::Result<()> {
        Ok(())
    }

    /// Reopens the destination (SIGHUP: a log rotation renamed the file away). Sinks without a file to
    /// reopen do nothing.
    fn reopen(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Pushes what was written to its destination (live mode: within a second of the packet).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counters the capture side updates while the run goes on, read by the engine thread for the periodic
/// `stats` events and by the summary.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Packets read from the sources.
    pub packets_read: AtomicU64,
    /// Packets dropped because a worker queue was full.
    pub queue_drops: AtomicU64,
    /// Packets the kernel counted on the capture sockets (live only).
    pub kernel_packets: AtomicU64,
    /// Packets the kernel dropped because the ring was full (live only).
    pub kernel_drops: AtomicU64,
    /// Batches waiting in each worker's queue, as last seen by its dispatcher (a metrics gauge).
    pub queue_depth: Box<[AtomicU64]>,
}

impl LiveCounters {
    /// Counters for a run with `workers` workers.
    pub fn new(workers: usize) -> LiveCounters {
        LiveCounters {
            queue_depth: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            ..LiveCounters::default()
        }
    }

    /// The queue depth of each worker.
    pub fn queue_depths(&self) -> Vec<u64> {
        self.queue_depth
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .collect()
    }

    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Alerts of one detector, for the summary.
#[derive(Debug, Clone, Default)]
pub struct DetectorTally {
    /// The signature id.
    pub sid: u32,
    /// Alerts emitted.
    pub count: u64,
    /// Alerts by severity: high, medium, low.
    pub severity: [u64; 3],
    /// Alerts per source address (bounded by [`MAX_TALLY_SOURCES`]).
    pub sources: HashMap<IpAddr, u64>,
}

/// Distinct sources remembered per detector for the summary's "top sources".
pub const MAX_TALLY_SOURCES: usize = 1024;

impl DetectorTally {
    /// The `n` sources with the most alerts, most first.
    pub fn top_sources(&self, n: usize) -> Vec<(IpAddr, u64)> {
        let mut v: Vec<(IpAddr, u64)> = self.sources.iter().map(|(k, v)| (*k, *v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Report {
    /// Merged worker counters.
    pub counters: Counters,
    /// Engine counters.
    pub engine: EngineStats,
    /// Calls followed.
    pub calls: CallStats,
    /// Every engine and detector table.
    pub tables: Vec<(String, TableStats)>,
    /// Alerts by detector slug.
    pub alerts: Vec<(&'static str, DetectorTally)>,
    /// Calls by media protection, streams by encryption, user agents, worst streams.
    pub media: MediaTally,
    /// TLS and DTLS handshakes and the certificates endpoints presented.
    pub certs: CertInventory,
    /// Packets dropped because a worker queue was full (live mode only).
    pub queue_drops: u64,
    /// Packets the kernel counted on the capture sockets (live mode only).
    pub kernel_packets: u64,
    /// Packets the kernel dropped because the capture ring was full (live mode only).
    pub kernel_drops: u64,
    /// Whether this was a live capture.
    pub live: bool,
    /// Packets read from the sources.
    pub packets_read: u64,
    /// Files that ended in an error, with the error.
    pub errors: Vec<CaptureError>,
    /// First and last packet time.
    pub first_ts: PacketTime,
    /// Last packet time.
    pub last_ts: PacketTime,
    /// Wall-clock duration of the run (for the summary only; never used for detection).
    pub elapsed: Duration,
    /// Number of workers used.
    pub workers: usize,
    /// An error writing the output, if one happened.
    pub output_error: Option<String>,
    /// Live sources that failed, with the error.
    pub capture_errors: Vec<String>,
    /// The engine's certificate store at the end (`tls-cert-changed`), to be saved for the next run.
    pub cert_store: Option<CertStore>,
    /// Capture-to-engine and capture-to-alert latency (wall time; the workers' stage is in the counters).
    pub latency: EngineLatency,
}

impl Report {
    /// Total alerts.
    pub fn alert_total(&self) -> u64 {
        self.alerts.iter().map(|(_, t)| t.count).sum()
    }
}

#[derive(Debug, Clone, Copy)]
struct PktMeta {
    seq: u64,
    ts: PacketTime,
    link: LinkType,
    start: u32,
    len: u32,
    clock: bool,
}

#[derive(Debug, Default)]
struct PacketBatch {
    data: Vec<u8>,
    pkts: Vec<PktMeta>,
    /// The newest sequence number dispatched when the batch was sent: the worker has everything up to it.
    upto_seq: u64,
    /// The newest packet time dispatched when the batch was sent: the worker's clock for idle sweeps. It is
    /// also set on empty batches, so a worker that gets no packets still expires its state.
    upto_ts: PacketTime,
    /// Answer with an event batch even if it is empty (the engine's watermark needs it).
    report: bool,
    /// When the dispatcher put the first packet in (wall time, for the latency figures only).
    stamp: Option<Instant>,
}

impl PacketBatch {
    fn clear(&mut self) {
        self.data.clear();
        self.pkts.clear();
        self.stamp = None;
    }

    /// Appends `m` (and stamps the batch with its first packet's arrival).
    fn push(&mut self, m: PktMeta) {
        if self.pkts.is_empty() {
            self.stamp = Some(Instant::now());
        }
        self.pkts.push(m);
    }
}

#[derive(Debug)]
struct EventBatch {
    worker: usize,
    events: Vec<Event>,
    upto_seq: u64,
    /// A snapshot of the worker's counters, at most once per second of packet time, for periodic stats.
    counters: Option<Box<Counters>>,
    /// The arrival of the oldest packet batch whose events are in here (latency figures only).
    stamp: Option<Instant>,
}

/// How the dispatcher numbers packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeqMode {
    /// A counter: one dispatcher sees every packet (offline, or live without fanout): capture order.
    Counter,
    /// Packet time in nanoseconds (kept increasing): several dispatchers, one per fanout socket, number their
    /// packets on one scale, so the engine merges them in time order.
    Time,
}

/// A keyed, symmetric flow hash: each endpoint (address, port) is mixed with secret keys, and the two
/// endpoint hashes are added, so both directions of a flow hash alike without sorting the endpoints. Flow keys
/// come from packets, so the keys are random per run (an attacker cannot aim flows at one worker); nothing
/// that reaches an output depends on which worker a flow lands on.
#[derive(Debug, Clone, Copy)]
struct FlowHasher {
    k: [u64; 4],
}

impl FlowHasher {
    fn new() -> Self {
        let rs = RandomState::default();
        let mut k = [0u64; 4];
        for (i, slot) in k.iter_mut().enumerate() {
            *slot = rs.hash_one(i) | 1;
        }
        Self { k }
    }

    /// Folded multiply (as in foldhash and wyhash): the high and low halves of a 128-bit product, XORed.
    #[inline]
    fn mix(a: u64, b: u64) -> u64 {
        let p = u128::from(a) * u128::from(b);
        // Truncations take the two halves of the product on purpose.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "splitting a 128-bit product into halves"
        )]
        let (hi, lo) = ((p >> 64) as u64, p as u64);
        hi ^ lo
    }

    #[inline]
    fn endpoint(&self, addr: [u8; 16], port: u16) -> u64 {
        let [
            a0,
            a1,
            a2,
            a3,
            a4,
            a5,
            a6,
            a7,
            b0,
            b1,
            b2,
            b3,
            b4,
            b5,
            b6,
            b7,
        ] = addr;
        let hi = u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]);
        let lo = u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]);
        Self::mix(hi ^ self.k[0], lo ^ self.k[1] ^ (u64::from(port) << 48))
    }

    #[inline]
    fn finish(&self, sym: u64, proto: u8) -> u64 {
        Self::mix(sym ^ self.k[2], u64::from(proto) ^ self.k[3])
    }
}

struct Dispatcher {
    senders: Vec<Sender<PacketBatch>>,
    pending: Vec<PacketBatch>,
    free: Receiver<PacketBatch>,
    hasher: FlowHasher,
    mode: QueueMode,
    seq_mode: SeqMode,
    shared: Arc<LiveCounters>,
    next_seq: u64,
    last_sec: u64,
    since_flush: u64,
    rr: usize,
    drops: u64,
    read: u64,
    published: u64,
    first_ts: Option<PacketTime>,
    last_ts: PacketTime,
    dead: bool,
    /// Index of this dispatcher's first worker in [`LiveCounters::queue_depth`] (fanout: one per socket).
    depth_base: usize,
}

impl Dispatcher {
    #[cfg(test)]
    fn new(
        senders: Vec<Sender<PacketBatch>>,
        free: Receiver<PacketBatch>,
        mode: QueueMode,
    ) -> Self {
        Self::with(senders, free, mode, SeqMode::Counter, Arc::default())
    }

    fn with(
        senders: Vec<Sender<PacketBatch>>,
        free: Receiver<PacketBatch>,
        mode: QueueMode,
        seq_mode: SeqMode,
        shared: Arc<LiveCounters>,
    ) -> Self {
        Self {
            pending: senders.iter().map(|_| PacketBatch::default()).collect(),
            senders,
            free,
            hasher: FlowHasher::new(),
            mode,
            seq_mode,
            shared,
            next_seq: 0,
            last_sec: 0,
            since_flush: 0,
            rr: 0,
            drops: 0,
            read: 0,
            published: 0,
            first_ts: None,
            last_ts: PacketTime::ZERO,
            dead: false,
            depth_base: 0,
        }
    }

    fn worker_for(&mut self, link: LinkType, data: &[u8]) -> usize {
        let n = self.senders.len();
        if n == 1 {
            return 0;
        }
        let Some(h) = link::flow_hint(link, data) else {
            // Frames without IP carry no flow state in workers (ARP is judged by the engine): spread them.
            self.rr = (self.rr + 1) % n;
            return self.rr;
        };
        let sym = if h.fragment {
            // Every fragment of a datagram has the same address pair; ports are only in the first.
            self.hasher
                .endpoint(h.src, 0)
                .wrapping_add(self.hasher.endpoint(h.dst, 0))
        } else {
            self.hasher
                .endpoint(h.src, h.sport)
                .wrapping_add(self.hasher.endpoint(h.dst, h.dport))
        };
        let x = self.hasher.finish(sym, h.proto);
        // Multiply-shift maps the hash onto 0..n without a division; the result is below n.
        usize::try_from((u128::from(x) * n as u128) >> 64).unwrap_or(0)
    }

    fn fresh_batch(&self) -> PacketBatch {
        self.free.try_recv().unwrap_or_default()
    }

    /// Sends worker `w` its pending batch. `report` asks the worker to answer with its watermark even when
    /// the batch made no event (flushes do; batches sent because they were full need not).
    fn send(&mut self, w: usize, report: bool) {
        let fresh = self.fresh_batch();
        let Some(slot) = self.pending.get_mut(w) else {
            return;
        };
        let mut batch = std::mem::replace(slot, fresh);
        batch.upto_seq = self.next_seq.saturating_sub(1);
        batch.upto_ts = self.last_ts;
        batch.report = report;
        let Some(tx) = self.senders.get(w) else {
            return;
        };
        if let Some(d) = self.shared.queue_depth.get(self.depth_base + w) {
            d.store(tx.len() as u64, Ordering::Relaxed);
        }
        match self.mode {
            QueueMode::Block => {
                if tx.send(batch).is_err() {
                    self.dead = true;
                }
            }
            QueueMode::Drop => match tx.try_send(batch) {
                Ok(()) => {}
                Err(TrySendError::Full(mut b)) => {
                    let lost = b.pkts.iter().filter(|p| !p.clock).count() as u64;
                    self.drops += lost;
                    LiveCounters::add(&self.shared.queue_drops, lost);
                    // Keep the clock markers: they cost nothing and keep windows closing.
                    b.pkts.retain(|p| p.clock);
                    b.data.clear();
                    if let Some(slot) = self.pending.get_mut(w)
                        && slot.pkts.is_empty()
                    {
                        *slot = b;
                    }
                }
                Err(TrySendError::Disconnected(_)) => self.dead = true,
            },
        }
    }

    /// The next sequence number: a counter, or packet time kept increasing.
    fn take_seq(&mut self, ts: PacketTime) -> u64 {
        let seq = match self.seq_mode {
            SeqMode::Counter => self.next_seq,
            SeqMode::Time => self.next_seq.max(ts.as_nanos()),
        };
        self.next_seq = seq + 1;
        seq
    }

    /// Packet time entered a new second: a clock marker for worker 0, and a flush of every worker.
    fn clock(&mut self, ts: PacketTime) {
        self.last_sec = ts.secs();
        self.last_ts = self.last_ts.max(ts);
        let seq = self.take_seq(ts);
        if let Some(b) = self.pending.get_mut(0) {
            b.push(PktMeta {
                seq,
                ts,
                link: LinkType::ETHERNET,
                start: 0,
                len: 0,
                clock: true,
            });
        }
        self.flush_all();
    }

    /// No packet for a while (live): time still passes. Flush every worker so the engine's watermark moves
    /// and alerts go out within a second; when `now` (wall-clock time as packet time) starts a new second,
    /// inject a clock marker so windows close on a quiet link. In time-numbered mode the watermark moves to
    /// `now` less `lag`, the longest a packet can sit in a capture ring after the kernel stamped it.
    fn idle(&mut self, now: PacketTime, lag: Duration) {
        if self.seq_mode == SeqMode::Time {
            let floor = now
                .as_nanos()
                .saturating_sub(u64::try_from(lag.as_nanos()).unwrap_or(u64::MAX));
            self.next_seq = self.next_seq.max(floor);
        }
        if now.secs() > self.last_sec && self.first_ts.is_some() && now > self.last_ts {
            self.clock(now);
        } else {
            self.flush_all();
        }
    }

    fn flush_all(&mut self) {
        LiveCounters::add(&self.shared.packets_read, self.read - self.published);
        self.published = self.read;
        for w in 0..self.senders.len() {
            self.send(w, true);
        }
        self.since_flush = 0;
    }

    fn packet(&mut self, p: &RawPacket<'_>) -> ControlFlow<()> {
        if self.dead {
            return ControlFlow::Break(());
        }
        self.read += 1;
        self.first_ts.get_or_insert(p.ts);
        self.last_ts = self.last_ts.max(p.ts);
        if p.ts.secs() > self.last_sec {
            self.clock(p.ts);
        }
        let w = self.worker_for(p.link, p.data);
        let seq = self.take_seq(p.ts);
        let full = self.pending.get(w).is_some_and(|b| {
            b.pkts.len() >= BATCH_PACKETS || b.data.len() + p.data.len() > BATCH_BYTES
        });
        if full {
            self.send(w, false);
        }
        if let Some(b) = self.pending.get_mut(w) {
            let start = u32::try_from(b.data.len()).unwrap_or(u32::MAX);
            let len = u32::try_from(p.data.len()).unwrap_or(u32::MAX);
            b.data.extend_from_slice(p.data);
            b.push(PktMeta {
                seq,
                ts: p.ts,
                link: p.link,
                start,
                len,
                clock: false,
            });
        }
        self.since_flush += 1;
        if self.since_flush >= FLUSH_EVERY {
            self.flush_all();
        }
        if self.dead {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

fn worker_loop(
    id: usize,
    rx: Receiver<PacketBatch>,
    free: Sender<PacketBatch>,
    out: Sender<EventBatch>,
    free_events: Receiver<Vec<Event>>,
    hep: Option<HepHandle>,
) -> Counters {
    let mut w = Worker::new();
    if let Some(h) = hep {
        w.set_hep(h);
    }
    let mut events = Vec::new();
    let mut snapshot_sec = 0;
    let mut latency = Latency::default();
    let mut oldest: Option<Instant> = None;
    for mut batch in rx {
        if events.capacity() == 0 {
            events = free_events.try_recv().unwrap_or_default();
        }
        for p in &batch.pkts {
            if p.clock {
                events.push(Event {
                    seq: p.seq,
                    ts: p.ts,
                    payload: Payload::Clock,
                });
                continue;
            }
            let start = p.start as usize;
            let frame = batch.data.get(start..start + p.len as usize).unwrap_or(&[]);
            w.packet(p.seq, p.ts, p.link, frame, &mut events);
        }
        // Sweeps happen once per second of packet time, at the flush every worker gets when a new second
        // starts, so they fall at the same place in each flow's packets whatever the number of workers. What
        // they end (RTP streams) is numbered with that batch's newest sequence number, the new second's
        // clock marker: the same for every worker.
        if batch.upto_ts != PacketTime::ZERO {
            w.tick(batch.upto_ts, batch.upto_seq, &mut events);
        }
        let upto_seq = batch.upto_seq;
        let report = batch.report;
        let sec = batch.upto_ts.secs();
        if let Some(t) = batch.stamp {
            latency.record(t.elapsed());
            oldest = oldest.or(Some(t));
        }
        batch.clear();
        let _ = free.try_send(batch);
        // The engine can release events only up to the smallest watermark, which moves at flushes (every
        // FLUSH_EVERY packets and every second of packet time): answering other batches would only wake it
        // for nothing. Events wait here until then, or until there are many of them.
        if !report && events.len() < MAX_HELD_EVENTS {
            continue;
        }
        let counters = (report && sec > snapshot_sec).then(|| {
            snapshot_sec = sec;
            let mut c = w.counters();
            c.latency = latency.clone();
            Box::new(c)
        });
        let batch = EventBatch {
            worker: id,
            events: std::mem::take(&mut events),
            upto_seq,
            counters,
            stamp: oldest.take(),
        };
        if out.send(batch).is_err() {
            break;
        }
    }
    // What ends with the input (RTP streams) is numbered u64::MAX and goes in the last batch.
    w.finish(&mut events);
    let mut counters = w.counters();
    counters.latency = latency;
    let _ = out.send(EventBatch {
        worker: id,
        events,
        upto_seq: u64::MAX,
        counters: None,
        stamp: None,
    });
    counters
}

struct EngineOut {
    engine: Engine,
    latency: EngineLatency,
    tallies: Vec<(&'static str, DetectorTally)>,
    media: MediaTally,
    certs: CertInventory,
    output_error: Option<String>,
}

/// What the engine thread needs besides its input.
struct EngineSetup<'a> {
    engine: Engine,
    workers: usize,
    free_events: Vec<Sender<Vec<Event>>>,
    sink: &'a mut dyn AlertSink,
    shared: Arc<LiveCounters>,
    /// Write a `stats` event this often, in packet time (live mode).
    stats_every: Option<Duration>,
    /// Publish a snapshot here about once a second of wall time.
    metrics: Option<Arc<Hub>>,
    /// Reload and reopen requests.
    control: Option<Arc<Control>>,
    /// A live run (for the reports built on the way).
    live: bool,
}

fn sorted_tallies(t: &BTreeMap<&'static str, DetectorTally>) -> Vec<(&'static str, DetectorTally)> {
    let mut v: Vec<(&'static str, DetectorTally)> =
        t.iter().map(|(k, v)| (*k, v.clone())).collect();
    v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    v
}

/// The engine thread's side of the outputs: the sink, whether it still works, and the per-detector tallies.
struct Output<'a> {
    sink: &'a mut dyn AlertSink,
    closed: bool,
    error: Option<String>,
    unflushed: bool,
    tallies: BTreeMap<&'static str, DetectorTally>,
    media: MediaTally,
    certs: CertInventory,
}

impl Output<'_> {
    fn write(&mut self, f: impl FnOnce(&mut dyn AlertSink) -> io::Result<()>) {
        if self.closed {
            return;
        }
        match f(self.sink) {
            Ok(()) => self.unflushed = true,
            Err(e) => {
                // A reader that went away (`| head`) ends the output quietly; anything else is an error.
                self.closed = true;
                if e.kind() != io::ErrorKind::BrokenPipe {
                    self.error = Some(e.to_string());
                }
            }
        }
    }

    /// Writes what the engine produced; returns the number of alerts.
    fn emit(&mut self, engine: &mut Engine) -> usize {
        let mut alerts = 0;
        for r in engine.drain_records() {
            self.media.call(&r);
            self.write(|s| s.call(&r));
        }
        for r in engine.drain_streams() {
            self.media.stream(&r);
            self.write(|s| s.stream(&r));
        }
        for r in engine.drain_tls() {
            self.certs.add(&r);
            self.write(|s| s.tls(&r));
        }
        for a in engine.drain_alerts() {
            alerts += 1;
            self.write(|s| s.alert(&a));
            let t = self
                .tallies
                .entry(a.meta.slug)
                .or_insert_with(|| DetectorTally {
                    sid: a.meta.sid,
                    ..Default::default()
                });
            t.count += 1;
            if let Some(n) = t
                .severity
                .get_mut(usize::from(a.severity.number()).saturating_sub(1))
            {
                *n += 1;
            }
            if let Some(ip) = a.src_ip
                && (t.sources.len() < MAX_TALLY_SOURCES || t.sources.contains_key(&ip))
            {
                *t.sources.entry(ip).or_default() += 1;
            }
        }
        alerts
    }

    fn flush(&mut self) {
        if self.unflushed {
            self.write(|s| s.flush());
            self.unflushed = false;
        }
    }
}

fn engine_loop(setup: EngineSetup<'_>, rx: Receiver<EventBatch>) -> EngineOut {
    let EngineSetup {
        mut engine,
        workers: n,
        free_events,
        sink,
        shared,
        stats_every,
        metrics,
        control,
        live,
    } = setup;
    let mut queues: Vec<VecDeque<Event>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut upto = vec![0u64; n];
    let mut latest: Vec<Counters> = vec![Counters::default(); n];
    let mut out = Output {
        sink,
        closed: false,
        error: None,
        unflushed: false,
        tallies: BTreeMap::new(),
        media: MediaTally::default(),
        certs: CertInventory::default(),
    };
    let mut next_stats: Option<PacketTime> = None;
    let mut last_publish = Instant::now();
    // Per worker: (newest sequence number, arrival) of the batches whose events wait in its queue.
    let mut stamps: Vec<VecDeque<(u64, Instant)>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut latency = EngineLatency::default();
    for batch in rx {
        if let Some((config, reopen)) = control.as_ref().and_then(|c| c.take()) {
            if let Some(cfg) = config {
                engine.reconfigure(&cfg);
                if let Some(c) = &control {
                    c.reloads.fetch_add(1, Ordering::Relaxed);
                }
            }
            if reopen {
                out.flush();
                out.write(|s| s.reopen());
            }
        }
        let w = batch.worker;
        let Some(q) = queues.get_mut(w) else { continue };
        if let (Some(t), Some(st)) = (batch.stamp, stamps.get_mut(w))
            && !batch.events.is_empty()
        {
            st.push_back((batch.upto_seq, t));
        }
        let mut events = batch.events;
        q.extend(events.drain(..));
        if let Some(tx) = free_events.get(w) {
            let _ = tx.try_send(events);
        }
        if let Some(u) = upto.get_mut(w) {
            *u = batch.upto_seq;
        }
        if let (Some(c), Some(slot)) = (batch.counters, latest.get_mut(w)) {
            *slot = *c;
        }
        let watermark = upto.iter().copied().min().unwrap_or(0);
        // k-way merge by sequence number and tiebreak (events of several workers share a sequence number at
        // a sweep and at the end of input), up to the watermark. Among equal keys the first worker's event
        // goes first; equal keys only come from one worker, which sent them in order.
        loop {
            let mut best: Option<(usize, (u64, u64))> = None;
            for (i, q) in queues.iter().enumerate() {
                if let Some(ev) = q.front() {
                    let k = (ev.seq, ev.tiebreak());
                    if best.is_none_or(|(_, b)| k < b) {
                        best = Some((i, k));
                    }
                }
            }
            let Some((i, (seq, _))) = best else { break };
            if seq > watermark {
                break;
            }
            if let Some(ev) = queues.get_mut(i).and_then(VecDeque::pop_front) {
                engine.on_event(&ev);
                let alerts = out.emit(&mut engine);
                // The batch this event came from: the first whose newest sequence number covers it.
                if let Some(st) = stamps.get_mut(i) {
                    while st.front().is_some_and(|(upto, _)| *upto < ev.seq) {
                        st.pop_front();
                    }
                    if let Some((_, t)) = st.front() {
                        let d = t.elapsed();
                        latency.engine.record(d);
                        for _ in 0..alerts {
                            latency.alert.record(d);
                        }
                    }
                }
            }
        }
        let stats_due = stats_every.is_some_and(|every| {
            let now = engine.now();
            let due = *next_stats.get_or_insert(now.plus(every));
            let due = now >= due && now != PacketTime::ZERO;
            if due {
                next_stats = Some(now.plus(every));
            }
            due
        });
        // The metrics snapshot follows the wall clock: it is an output, never an input to detection.
        let publish_due = metrics.is_some() && last_publish.elapsed() >= PUBLISH_EVERY;
        if stats_due || publish_due {
            let mut r = Report {
                live,
                workers: n,
                last_ts: engine.now(),
                ..Report::default()
            };
            for c in &latest {
                r.counters.merge(c);
            }
            r.engine = engine.stats().clone();
            r.calls = engine.call_stats();
            r.tables = engine.tables();
            r.alerts = sorted_tallies(&out.tallies);
            r.media = out.media.clone();
            r.packets_read = LiveCounters::get(&shared.packets_read);
            r.queue_drops = LiveCounters::get(&shared.queue_drops);
            r.kernel_packets = LiveCounters::get(&shared.kernel_packets);
            r.kernel_drops = LiveCounters::get(&shared.kernel_drops);
            r.latency = latency.clone();
            if let Some(hub) = metrics.as_ref().filter(|_| publish_due) {
                hub.publish(Snapshot::of(&r, false));
                last_publish = Instant::now();
            }
            if stats_due {
                r.certs = out.certs.clone();
                out.write(|s| s.stats(&r));
            }
        }
        // Alerts leave the process as soon as the batch that raised them is handled (at most a flush
        // interval after their packet).
        out.flush();
    }
    engine.finish();
    out.emit(&mut engine);
    out.flush();
    EngineOut {
        engine,
        latency,
        tallies: sorted_tallies(&out.tallies),
        media: out.media,
        certs: out.certs,
        output_error: out.error,
    }
}

/// A borrowed sink is a sink (the CLI lends its EVE writer to a [`crate::output::syslog::Tee`]).
impl<S: AlertSink + ?Sized> AlertSink for &mut S {
    fn alert(&mut self, a: &Alert) -> io::Result<()> {
        (**self).alert(a)
    }

    fn call(&mut self, r: &CallRecord) -> io::Result<()> {
        (**self).call(r)
    }

    fn stream(&mut self, r: &StreamRecord) -> io::Result<()> {
        (**self).stream(r)
    }

    fn tls(&mut self, r: &TlsRecord) -> io::Result<()> {
        (**self).tls(r)
    }

    fn stats(&mut self, r: &Report) -> io::Result<()> {
        (**self).stats(r)
    }

    fn reopen(&mut self) -> io::Result<()> {
        (**self).reopen()
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// Requests to a running pipeline from outside (the CLI's SIGHUP): apply new rules, reopen the outputs. The
/// engine thread looks at them between event batches, so they take effect within a flush interval.
#[derive(Debug, Default)]
pub struct Control {
    pending: AtomicBool,
    reload: Mutex<Option<Config>>,
    reopen: AtomicBool,
    /// Rule reloads applied so far.
    pub reloads: AtomicU64,
}

impl Control {
    /// A control with nothing pending.
    pub fn new() -> Arc<Control> {
        Arc::new(Control::default())
    }

    /// Asks the engine to apply `config` (see [`Engine::reconfigure`]: state is kept).
    pub fn reload(&self, config: Config) {
        *self.reload.lock().unwrap_or_else(PoisonError::into_inner) = Some(config);
        self.pending.store(true, Ordering::Release);
    }

    /// Asks the outputs to reopen their files.
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::Relaxed);
        self.pending.store(true, Ordering::Release);
    }

    /// What is pending, taken: (new rules, reopen).
    fn take(&self) -> Option<(Option<Config>, bool)> {
        if !self.pending.swap(false, Ordering::Acquire) {
            return None;
        }
        let cfg = self
            .reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Some((cfg, self.reopen.swap(false, Ordering::Relaxed)))
    }
}

/// How often the engine thread publishes a metrics snapshot (wall time).
pub const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// The worker and engine threads of one run, and how to feed them.
struct Stages<'scope> {
    senders: Vec<Sender<PacketBatch>>,
    free: Receiver<PacketBatch>,
    workers: Vec<std::thread::ScopedJoinHandle<'scope, Counters>>,
    engine: std::thread::ScopedJoinHandle<'scope, EngineOut>,
}

/// What the engine thread does besides detection: periodic stats (live), metrics snapshots, SIGHUP requests.
#[derive(Default)]
struct Hooks {
    stats_every: Option<Duration>,
    metrics: Option<Arc<Hub>>,
    control: Option<Arc<Control>>,
    hep: Option<HepHandle>,
}

#[expect(
    clippy::expect_used,
    reason = "a thread that cannot be started is not a packet error: fail loudly"
)]
fn start<'scope, 'env>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    n: usize,
    engine: Engine,
    sink: &'env mut dyn AlertSink,
    shared: Arc<LiveCounters>,
    hooks: Hooks,
) -> Stages<'scope> {
    let Hooks {
        stats_every,
        metrics,
        control,
        hep,
    } = hooks;
    let (free_tx, free_rx) = crossbeam_channel::bounded::<PacketBatch>(n * (QUEUE_BATCHES + 2));
    let (ev_tx, ev_rx) = crossbeam_channel::bounded::<EventBatch>(n * QUEUE_BATCHES);
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    let mut free_event_txs = Vec::new();
    for id in 0..n {
        let (tx, rx) = crossbeam_channel::bounded::<PacketBatch>(QUEUE_BATCHES);
        let (fe_tx, fe_rx) = crossbeam_channel::bounded::<Vec<Event>>(QUEUE_BATCHES);
        senders.push(tx);
        free_event_txs.push(fe_tx);
        let free = free_tx.clone();
        let out = ev_tx.clone();
        let hep = hep.clone();
        let handle = std::thread::Builder::new()
            .name(format!("cg-worker-{id}"))
            .spawn_scoped(scope, move || worker_loop(id, rx, free, out, fe_rx, hep))
            .expect("invariant: the OS can start a worker thread");
        workers.push(handle);
    }
    let setup = EngineSetup {
        engine,
        workers: n,
        free_events: free_event_txs,
        sink,
        live: stats_every.is_some(),
        shared,
        stats_every,
        metrics,
        control,
    };
    let engine = std::thread::Builder::new()
        .name("cg-engine".into())
        .spawn_scoped(scope, move || engine_loop(setup, ev_rx))
        .expect("invariant: the OS can start the engine thread");
    Stages {
        senders,
        free: free_rx,
        workers,
        engine,
    }
}

fn join(
    workers: Vec<std::thread::ScopedJoinHandle<'_, Counters>>,
    engine: std::thread::ScopedJoinHandle<'_, EngineOut>,
    report: &mut Report,
) {
    for h in workers {
        match h.join() {
            Ok(c) => report.counters.merge(&c),
            Err(p) => std::panic::resume_unwind(p),
        }
    }
    match engine.join() {
        Ok(out) => {
            report.engine = out.engine.stats().clone();
            report.calls = out.engine.call_stats();
            report.tables = out.engine.tables();
            report.alerts = out.tallies;
            report.media = out.media;
            report.certs = out.certs;
            report.output_error = out.output_error;
            report.cert_store = out.engine.export_cert_store();
            report.latency = out.latency;
        }
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// Runs the pipeline over `sources` in order. Capture errors end that source (what was read is analysed)
/// and are returned in the report; reading goes on with the next source.
pub fn run(
    sources: Vec<Box<dyn PacketSource>>,
    config: &Config,
    opts: &Options,
    sink: &mut dyn AlertSink,
    progress: &mut dyn FnMut(u64),
) -> Report {
    run_engine(sources, Engine::new(config), opts, sink, progress)
}

/// [`run`] with a given engine: tests give one with their own detectors, the CLI one loaded with a saved
/// certificate store.
pub fn run_engine(
    sources: Vec<Box<dyn PacketSource>>,
    engine: Engine,
    opts: &Options,
    sink: &mut dyn AlertSink,
    progress: &mut dyn FnMut(u64),
) -> Report {
    let started = Instant::now();
    let n = opts.workers.max(1);
    let mut report = Report {
        workers: n,
        ..Report::default()
    };
    let shared = Arc::new(LiveCounters::new(n));
    if let Some(hub) = &opts.metrics {
        hub.attach(shared.clone());
    }
    std::thread::scope(|scope| {
        let st = start(
            scope,
            n,
            engine,
            sink,
            shared.clone(),
            Hooks {
                stats_every: None,
                metrics: opts.metrics.clone(),
                control: opts.control.clone(),
                hep: opts.hep.clone(),
            },
        );
        let mut d = Dispatcher::with(
            st.senders,
            st.free,
            opts.mode,
            SeqMode::Counter,
            shared.clone(),
        );
        for mut src in sources {
            let mut offset_seen = 0u64;
            let mut count = 0u64;
            let res = src.for_each(&mut |p| {
                count += 1;
                if count.is_multiple_of(4096) && p.file_offset > offset_seen {
                    offset_seen = p.file_offset;
                    progress(p.file_offset);
                }
                d.packet(p)
            });
            if let Err(e) = res {
                report.errors.push(e);
            }
        }
        d.flush_all();
        report.queue_drops = d.drops;
        report.packets_read = d.read;
        report.first_ts = d.first_ts.unwrap_or(PacketTime::ZERO);
        report.last_ts = d.last_ts;
        drop(d);
        join(st.workers, st.engine, &mut report);
    });
    // The queues are drained.
    for d in &shared.queue_depth {
        d.store(0, Ordering::Relaxed);
    }
    report.elapsed = started.elapsed();
    report
}

/// Live capture settings.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Workers behind one dispatcher (without fanout).
    pub workers: usize,
    /// Each source is one fanout socket feeding its own worker: no dispatcher hash, the kernel spreads
    /// flows.
    pub fanout: bool,
    /// A periodic `stats` event this often.
    pub stats_every: Duration,
    /// The longest a packet can wait in a capture ring after the kernel stamped it (the ring's block
    /// timeout and some margin): how far behind the wall clock the watermark of a quiet socket is held.
    pub ring_lag: Duration,
    /// Publish the figures here about once a second (wall time) for `/metrics`.
    pub metrics: Option<Arc<Hub>>,
    /// Reload and reopen requests (SIGHUP).
    pub control: Option<Arc<Control>>,
    /// Every SIP message the workers frame also goes to this HEP collector (`--hep`).
    pub hep: Option<HepHandle>,
}

/// How often a live dispatcher flushes when packets are few: alerts reach the output within this plus the
/// ring's block timeout.
pub const LIVE_FLUSH: Duration = Duration::from_millis(100);

/// One capture loop: poll the sources, dispatch, flush on time, refresh the kernel counters, until `stop`.
fn capture_loop(
    sources: &mut [Box<dyn LiveSource>],
    d: &mut Dispatcher,
    stop: &AtomicBool,
    lag: Duration,
) -> Vec<String> {
    let mut errors = Vec::new();
    let mut last_flush = Instant::now();
    let mut kernel = vec![KernelStats::default(); sources.len()];
    let slice = LIVE_FLUSH / u32::try_from(sources.len().max(1)).unwrap_or(1);
    while !stop.load(Ordering::Relaxed) && !d.dead {
        for (i, src) in sources.iter_mut().enumerate() {
            let polled = src.poll(slice, &mut |p| {
                let _ = d.packet(p);
            });
            if let Err(e) = polled
                && e.kind() != io::ErrorKind::Interrupted
            {
                errors.push(format!("{}: {e}", src.name()));
                stop.store(true, Ordering::Relaxed);
            }
            if last_flush.elapsed() >= LIVE_FLUSH
                && let Ok(k) = src.kernel_stats()
                && let Some(prev) = kernel.get_mut(i)
            {
                LiveCounters::add(
                    &d.shared.kernel_packets,
                    k.packets.saturating_sub(prev.packets),
                );
                LiveCounters::add(&d.shared.kernel_drops, k.drops.saturating_sub(prev.drops));
                *prev = k;
            }
        }
        if last_flush.elapsed() >= LIVE_FLUSH {
            let now = sources
                .iter()
                .map(|s| s.now())
                .max()
                .unwrap_or(PacketTime::ZERO);
            d.idle(now, lag);
            last_flush = Instant::now();
        }
    }
    for (i, src) in sources.iter_mut().enumerate() {
        if let (Ok(k), Some(prev)) = (src.kernel_stats(), kernel.get(i)) {
            LiveCounters::add(
                &d.shared.kernel_packets,
                k.packets.saturating_sub(prev.packets),
            );
            LiveCounters::add(&d.shared.kernel_drops, k.drops.saturating_sub(prev.drops));
        }
    }
    d.flush_all();
    errors
}

/// Runs the pipeline on live sources until `stop` is set (SIGINT/SIGTERM), then drains the queues,
/// flushes the outputs and returns the report. Queues never block the capture: a full queue drops its
/// batch and counts it.
pub fn run_live(
    sources: Vec<Box<dyn LiveSource>>,
    config: &Config,
    opts: &LiveOptions,
    sink: &mut dyn AlertSink,
    stop: &AtomicBool,
) -> Report {
    run_live_engine(sources, Engine::new(config), opts, sink, stop)
}

/// [`run_live`] with a given engine (the CLI's, loaded with a saved certificate store).
pub fn run_live_engine(
    sources: Vec<Box<dyn LiveSource>>,
    engine: Engine,
    opts: &LiveOptions,
    sink: &mut dyn AlertSink,
    stop: &AtomicBool,
) -> Report {
    let started = Instant::now();
    let n = if opts.fanout {
        sources.len().max(1)
    } else {
        opts.workers.max(1)
    };
    let mut report = Report {
        workers: n,
        live: true,
        ..Report::default()
    };
    let shared = Arc::new(LiveCounters::new(n));
    if let Some(hub) = &opts.metrics {
        hub.attach(shared.clone());
    }
    let mut first = PacketTime::ZERO;
    let mut last = PacketTime::ZERO;
    std::thread::scope(|scope| {
        let st = start(
            scope,
            n,
            engine,
            sink,
            shared.clone(),
            Hooks {
                stats_every: Some(opts.stats_every),
                metrics: opts.metrics.clone(),
                control: opts.control.clone(),
                hep: opts.hep.clone(),
            },
        );
        if opts.fanout {
            // One capture thread per fanout socket, each dispatching to its own worker; packets are numbered
            // by time so the engine merges the sockets in time order.
            let mut loops = Vec::new();
            for (i, (src, tx)) in sources.into_iter().zip(st.senders).enumerate() {
                let free = st.free.clone();
                let shared = shared.clone();
                let lag = opts.ring_lag;
                let h = std::thread::Builder::new()
                    .name(format!("cg-capture-{i}"))
                    .spawn_scoped(scope, move || {
                        let mut d = Dispatcher::with(
                            vec![tx],
                            free,
                            QueueMode::Drop,
                            SeqMode::Time,
                            shared,
                        );
                        d.depth_base = i;
                        let mut srcs = vec![src];
                        let errors = capture_loop(&mut srcs, &mut d, stop, lag);
                        (errors, d.first_ts, d.last_ts, d.read)
                    });
                match h {
                    Ok(h) => loops.push(h),
                    Err(e) => report.output_error = Some(format!("starting a capture thread: {e}")),
                }
            }
            for h in loops {
                if let Ok((errors, f, l, _)) = h.join() {
                    report.capture_errors.extend(errors);
                    if let Some(f) = f {
                        first = if first == PacketTime::ZERO {
                            f
                        } else {
                            first.min(f)
                        };
                    }
                    last = last.max(l);
                }
            }
        } else {
            let mut d = Dispatcher::with(
                st.senders,
                st.free,
                QueueMode::Drop,
                SeqMode::Counter,
                shared.clone(),
            );
            let mut sources = sources;
            report.capture_errors = capture_loop(&mut sources, &mut d, stop, opts.ring_lag);
            first = d.first_ts.unwrap_or(PacketTime::ZERO);
            last = d.last_ts;
        }
        join(st.workers, st.engine, &mut report);
    });
    for d in &shared.queue_depth {
        d.store(0, Ordering::Relaxed);
    }
    report.first_ts = first;
    report.last_ts = last;
    report.packets_read = LiveCounters::get(&shared.packets_read);
    report.queue_drops = LiveCounters::get(&shared.queue_drops);
    report.kernel_packets = LiveCounters::get(&shared.kernel_packets);
    report.kernel_drops = LiveCounters::get(&shared.kernel_drops);
    report.elapsed = started.elapsed();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Vec<u8> {
        let a = "10.0.0.1:5060".parse().unwrap();
        let b = "10.0.0.2:5060".parse().unwrap();
        callguard_gen::udp_frame([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], a, b, b"x")
    }

    fn feed(d: &mut Dispatcher, n: u64, data: &[u8]) {
        for i in 0..n {
            let p = RawPacket {
                ts: PacketTime::from_nanos(1_768_471_200_000_000_000 + i * 1_000_000),
                link: LinkType::ETHERNET,
                data,
                orig_len: 60,
                file_offset: 0,
            };
            assert!(d.packet(&p).is_continue());
        }
        d.flush_all();
    }

    #[test]
    fn live_mode_drops_and_counts_instead_of_blocking() {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let (_free_tx, free_rx) = crossbeam_channel::bounded(2);
        let mut d = Dispatcher::new(vec![tx], free_rx, QueueMode::Drop);
        // Nobody reads the queue: the dispatcher must neither block nor lose count.
        feed(&mut d, 10_000, &frame());
        let delivered: u64 = rx
            .try_iter()
            .map(|b| b.pkts.iter().filter(|p| !p.clock).count() as u64)
            .sum();
        assert!(d.drops > 0);
        assert_eq!(delivered + d.drops, 10_000);
    }

    #[test]
    fn both_directions_of_a_flow_go_to_one_worker_and_fragments_to_their_pair() {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..4).map(|_| crossbeam_channel::unbounded()).unzip();
        let (_free_tx, free_rx) = crossbeam_channel::bounded(2);
        let mut d = Dispatcher::new(txs, free_rx, QueueMode::Block);
        let mac = [2, 0, 0, 0, 0, 1];
        for port in 1000..1100u16 {
            let a = SocketAddr::new("10.0.0.1".parse().unwrap(), port);
            let b = SocketAddr::new("10.0.0.2".parse().unwrap(), 5060);
            let there = callguard_gen::udp_frame(mac, mac, a, b, b"x");
            let back = callguard_gen::udp_frame(mac, mac, b, a, b"y");
            assert_eq!(
                d.worker_for(LinkType::ETHERNET, &there),
                d.worker_for(LinkType::ETHERNET, &back)
            );
        }
        let a: std::net::Ipv4Addr = "10.0.0.1".parse().unwrap();
        let b: std::net::Ipv4Addr = "10.0.0.2".parse().unwrap();
        let mut workers = std::collections::HashSet::new();
        for id in 0..50u16 {
            for f in callguard_gen::ipv4_fragments(mac, mac, a, b, id, 17, &[7u8; 3000], 1500) {
                workers.insert(d.worker_for(LinkType::ETHERNET, &f));
            }
        }
        assert_eq!(
            workers.len(),
            1,
            "every fragment between one address pair meets in one worker"
        );
        drop(rxs);
    }

    /// Frames in memory, as a capture source.
    struct Frames {
        path: std::path::PathBuf,
        frames: Vec<(PacketTime, Vec<u8>)>,
    }

    impl PacketSource for Frames {
        fn name(&self) -> &std::path::Path {
            &self.path
        }

        fn total_bytes(&self) -> Option<u64> {
            None
        }

        fn for_each(
            &mut self,
            f: &mut dyn FnMut(&RawPacket<'_>) -> ControlFlow<()>,
        ) -> Result<crate::capture::SourceStats, CaptureError> {
            for (ts, data) in std::mem::take(&mut self.frames) {
                let p = RawPacket {
                    ts,
                    link: LinkType::ETHERNET,
                    data: &data,
                    orig_len: 0,
                    file_offset: 0,
                };
                if f(&p).is_break() {
                    break;
                }
            }
            Ok(crate::capture::SourceStats::default())
        }
    }

    /// A detector that writes down every event and tick the engine hands it, in order. Opening reports
    /// (`UdpRate` with `opened > 0`) are each worker's share of the flows opened to a destination in a
    /// second: only their sums are the same whatever the number of workers, so they are written down summed,
    /// per sequence number and destination, after the other events of their sequence number.
    #[derive(Debug)]
    struct Recorder(
        Arc<std::sync::Mutex<Vec<String>>>,
        u64,
        BTreeMap<(std::net::SocketAddr, u64), (u64, u64)>,
    );

    impl Recorder {
        fn new(seen: Arc<std::sync::Mutex<Vec<String>>>) -> Self {
            Self(seen, 0, BTreeMap::new())
        }

        fn flush_openings(&mut self) {
            let seq = self.1;
            let mut seen = self.0.lock().unwrap();
            for ((dst, sec), (opened, bytes)) in std::mem::take(&mut self.2) {
                seen.push(format!(
                    "{seq} opened {dst} {sec}: {opened} flows, {bytes} bytes"
                ));
            }
        }
    }

    static RECORDER: callguard_rules::alert::Meta = callguard_rules::alert::Meta {
        sid: 4999,
        slug: "recorder",
        category: callguard_rules::alert::Category::Recon,
        severity: callguard_rules::alert::Severity::Low,
        signature: "records what the engine sees",
    };

    impl callguard_rules::detector::Detector for Recorder {
        fn meta(&self) -> &'static callguard_rules::alert::Meta {
            &RECORDER
        }

        fn interests(&self) -> callguard_rules::event::Interests {
            use callguard_rules::event::{EventKind, Interests};
            EventKind::ALL
                .iter()
                .fold(Interests::NONE, |i, k| i.with(*k))
        }

        fn on_event(&mut self, ev: &Event, _cx: &mut callguard_rules::detector::Context<'_>) {
            if ev.seq != self.1 {
                self.flush_openings();
                self.1 = ev.seq;
            }
            if let Payload::UdpRate(r) = &ev.payload
                && r.opened > 0
            {
                let e = self.2.entry((r.dst, r.sec)).or_default();
                e.0 += u64::from(r.opened);
                e.1 += r.bytes;
                return;
            }
            let line = format!("{} {:?} {:?}", ev.seq, ev.ts, ev.payload);
            self.0.lock().unwrap().push(line);
        }

        fn on_tick(&mut self, now: PacketTime, _cx: &mut callguard_rules::detector::Context<'_>) {
            self.flush_openings();
            self.0.lock().unwrap().push(format!("tick {now:?}"));
        }
    }

    /// Everything the engine's detectors see, in order, when `frames` run through `workers` workers.
    fn engine_sees(frames: &[(PacketTime, Vec<u8>)], workers: usize) -> Vec<String> {
        struct Quiet;
        impl AlertSink for Quiet {
            fn alert(&mut self, _a: &Alert) -> io::Result<()> {
                Ok(())
            }
        }
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let engine = Engine::with_detectors(
            &Config::default(),
            vec![Box::new(Recorder::new(seen.clone()))],
        );
        let src = Frames {
            path: "frames".into(),
            frames: frames.to_vec(),
        };
        let opts = Options {
            workers,
            mode: QueueMode::Block,
            metrics: None,
            control: None,
            hep: None,
        };
        run_engine(vec![Box::new(src)], engine, &opts, &mut Quiet, &mut |_| {});
        std::mem::take(&mut *seen.lock().unwrap())
    }

    /// RTP streams that start, pause, stop and run to the end in groups, so that sweeps and the end of input
    /// end many streams at once on every worker, some of them before their start was due; RTCP beside them.
    fn media_frames() -> Vec<(PacketTime, Vec<u8>)> {
        let mac = [2, 0, 0, 0, 0, 1];
        let t0 = 1_768_471_200_000_000_000u64;
        let ms = 1_000_000u64;
        let mut frames = Vec::new();
        let rtp = |src: SocketAddr, dst: SocketAddr, ssrc: u32, seq: u16, at: u64, len: usize| {
            let mut p = vec![0x80, 0];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.resize(12 + len, 0xd5);
            (at, callguard_gen::udp_frame(mac, mac, src, dst, &p))
        };
        for i in 0..48u16 {
            let src = SocketAddr::new("10.1.0.1".parse().unwrap(), 20_000 + 2 * i);
            let dst = SocketAddr::new("10.2.0.1".parse().unwrap(), 30_000 + 2 * i);
            let ssrc = 0x1000 + u32::from(i);
            // Group 0 stops at 3 s, group 1 pauses from 3 s to 17 s, group 2 runs to the end, group 3 sends
            // three packets (confirmed, not started) at 2 s.
            let (packets, len): (Vec<u16>, usize) = match i % 4 {
                0 => ((0..150).collect(), 160),
                1 => ((0..150).chain(850..1200).collect(), 170),
                2 => ((0..1200).collect(), 160),
                _ => ((100..103).collect(), 160),
            };
            for n in packets {
                let at = t0 + u64::from(n) * 20 * ms + u64::from(i) * ms;
                frames.push(rtp(src, dst, ssrc, n, at, len));
                frames.push(rtp(dst, src, ssrc + 1000, n, at + 3 * ms, len));
            }
            // A receiver report every second.
            for s in 0..24u64 {
                let mut rr = vec![0x81, 201, 0, 7];
                rr.extend_from_slice(&(ssrc + 1000).to_be_bytes());
                rr.extend_from_slice(&ssrc.to_be_bytes());
                rr.extend_from_slice(&[0; 20]);
                let (s1, d1) = (
                    SocketAddr::new(dst.ip(), dst.port() + 1),
                    SocketAddr::new(src.ip(), src.port() + 1),
                );
                frames.push((
                    t0 + s * 1000 * ms + 500 * ms,
                    callguard_gen::udp_frame(mac, mac, s1, d1, &rr),
                ));
            }
        }
        frames.sort_by_key(|(t, _)| *t);
        frames
            .into_iter()
            .map(|(t, f)| (PacketTime::from_nanos(t), f))
            .collect()
    }

    #[test]
    fn the_engine_sees_the_same_events_in_the_same_order_with_1_or_4_workers() {
        let frames = media_frames();
        let one = engine_sees(&frames, 1);
        let count = |what: &str| one.iter().filter(|l| l.contains(what)).count();
        // 48 x 2 streams; group 1 ends idle and comes back as new streams.
        assert_eq!(count("RtpStart("), 96 + 24);
        assert_eq!(count("RtpEnd("), 96 + 24);
        assert_eq!(count("reason: Idle"), 24 + 24 + 24);
        assert_eq!(count("reason: CaptureEnd"), 24 + 24);
        assert_eq!(count("Rtcp("), 48 * 24);
        for workers in [2, 4] {
            let many = engine_sees(&frames, workers);
            assert_eq!(one.len(), many.len(), "{workers} workers");
            for (i, (a, b)) in one.iter().zip(&many).enumerate() {
                assert_eq!(a, b, "event {i} differs with {workers} workers");
            }
        }
    }

    #[test]
    fn the_shipped_captures_give_the_engine_the_same_events_with_1_or_4_workers() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
        for name in [
            "lab-calls.pcap",
            "calls-udp.pcap",
            "lab-rtp-injection.pcap",
            "lab-arp-spoof.pcap",
            "demo.pcap",
            "lab-baresip-media.pcap",
            "lab-tls-cert-change.pcap",
        ] {
            let mut frames = Vec::new();
            let mut src = crate::capture::open(&dir.join(name)).unwrap();
            src.for_each(&mut |p| {
                frames.push((p.ts, p.data.to_vec()));
                ControlFlow::Continue(())
            })
            .unwrap();
            let one = engine_sees(&frames, 1);
            assert!(
                one.iter()
                    .any(|l| l.contains("RtpEnd(") || l.contains("Tls("))
                    || name == "demo.pcap",
                "{name}"
            );
            assert_eq!(one, engine_sees(&frames, 4), "{name}");
        }
    }

    #[test]
    fn offline_mode_delivers_every_packet_with_watermarks() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (_free_tx, free_rx) = crossbeam_channel::bounded(2);
        let mut d = Dispatcher::new(vec![tx], free_rx, QueueMode::Block);
        feed(&mut d, 10_000, &frame());
        let batches: Vec<PacketBatch> = rx.try_iter().collect();
        let pkts: Vec<PktMeta> = batches
            .iter()
            .flat_map(|b| b.pkts.iter().copied())
            .collect();
        assert_eq!(pkts.iter().filter(|p| !p.clock).count(), 10_000);
        // 10 s of packets: one clock marker per second, each with its own sequence number.
        assert_eq!(pkts.iter().filter(|p| p.clock).count(), 10);
        let seqs: Vec<u64> = pkts.iter().map(|p| p.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        for b in &batches {
            assert!(b.pkts.iter().all(|p| p.seq <= b.upto_seq));
        }
        assert_eq!(d.drops, 0);
    }
}
