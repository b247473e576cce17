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
//! - **Workers** decode and emit events; **the engine** merges their streams by sequence number up to the
//!   watermark (a k-way merge), so detectors see exactly the order a single thread would have produced.
//! - Offline, a full queue blocks the reader (lossless back-pressure). Live, [`QueueMode::Drop`] drops the
//!   batch instead and counts its packets.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::io;
use std::net::IpAddr;
#[cfg(test)]
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use callguard_parsers::link::{self, LinkType};
use callguard_rules::alert::Alert;
use callguard_rules::config::Config;
use callguard_rules::engine::{Engine, EngineStats};
use callguard_rules::event::{Event, Payload};
use callguard_rules::table::TableStats;
use callguard_rules::time::PacketTime;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use foldhash::fast::RandomState;

use crate::capture::{CaptureError, PacketSource, RawPacket};
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
}

/// Where alerts go.
pub trait AlertSink: Send {
    /// Writes one alert.
    fn alert(&mut self, a: &Alert) -> io::Result<()>;
}

/// Alerts of one detector, for the summary.
#[derive(Debug, Clone, Default)]
pub struct DetectorTally {
    /// The signature id.
    pub sid: u32,
    /// Alerts emitted.
    pub count: u64,
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
    /// Every engine and detector table.
    pub tables: Vec<(String, TableStats)>,
    /// Alerts by detector slug.
    pub alerts: Vec<(&'static str, DetectorTally)>,
    /// Packets dropped because a worker queue was full (live mode only).
    pub queue_drops: u64,
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
}

impl PacketBatch {
    fn clear(&mut self) {
        self.data.clear();
        self.pkts.clear();
    }
}

#[derive(Debug)]
struct EventBatch {
    worker: usize,
    events: Vec<Event>,
    upto_seq: u64,
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
    next_seq: u64,
    last_sec: u64,
    since_flush: u64,
    rr: usize,
    drops: u64,
    read: u64,
    first_ts: Option<PacketTime>,
    last_ts: PacketTime,
    dead: bool,
}

impl Dispatcher {
    fn new(
        senders: Vec<Sender<PacketBatch>>,
        free: Receiver<PacketBatch>,
        mode: QueueMode,
    ) -> Self {
        Self {
            pending: senders.iter().map(|_| PacketBatch::default()).collect(),
            senders,
            free,
            hasher: FlowHasher::new(),
            mode,
            next_seq: 0,
            last_sec: 0,
            since_flush: 0,
            rr: 0,
            drops: 0,
            read: 0,
            first_ts: None,
            last_ts: PacketTime::ZERO,
            dead: false,
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
        match self.mode {
            QueueMode::Block => {
                if tx.send(batch).is_err() {
                    self.dead = true;
                }
            }
            QueueMode::Drop => match tx.try_send(batch) {
                Ok(()) => {}
                Err(TrySendError::Full(mut b)) => {
                    self.drops += b.pkts.iter().filter(|p| !p.clock).count() as u64;
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

    fn flush_all(&mut self) {
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
        let sec = p.ts.secs();
        if sec > self.last_sec {
            self.last_sec = sec;
            let seq = self.next_seq;
            self.next_seq += 1;
            if let Some(b) = self.pending.get_mut(0) {
                b.pkts.push(PktMeta {
                    seq,
                    ts: p.ts,
                    link: p.link,
                    start: 0,
                    len: 0,
                    clock: true,
                });
            }
            self.flush_all();
        }
        let w = self.worker_for(p.link, p.data);
        let seq = self.next_seq;
        self.next_seq += 1;
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
            b.pkts.push(PktMeta {
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
) -> Counters {
    let mut w = Worker::new();
    let mut events = Vec::new();
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
        // starts, so they fall at the same place in each flow's packets whatever the number of workers.
        if batch.upto_ts != PacketTime::ZERO {
            w.tick(batch.upto_ts);
        }
        let upto_seq = batch.upto_seq;
        let report = batch.report;
        batch.clear();
        let _ = free.try_send(batch);
        // The engine can release events only up to the smallest watermark, which moves at flushes (every
        // FLUSH_EVERY packets and every second of packet time): answering other batches would only wake it
        // for nothing. Events wait here until then, or until there are many of them.
        if !report && events.len() < MAX_HELD_EVENTS {
            continue;
        }
        let batch = EventBatch {
            worker: id,
            events: std::mem::take(&mut events),
            upto_seq,
        };
        if out.send(batch).is_err() {
            break;
        }
    }
    w.finish();
    let _ = out.send(EventBatch {
        worker: id,
        events,
        upto_seq: u64::MAX,
    });
    w.counters()
}

struct EngineOut {
    engine: Engine,
    tallies: Vec<(&'static str, DetectorTally)>,
    output_error: Option<String>,
}

fn engine_loop(
    mut engine: Engine,
    n: usize,
    rx: Receiver<EventBatch>,
    free_events: Vec<Sender<Vec<Event>>>,
    sink: &mut dyn AlertSink,
) -> EngineOut {
    let mut queues: Vec<VecDeque<Event>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut upto = vec![0u64; n];
    let mut tallies: BTreeMap<&'static str, DetectorTally> = BTreeMap::new();
    let mut output_error = None;
    let mut output_closed = false;
    let mut emit = |engine: &mut Engine, tallies: &mut BTreeMap<&'static str, DetectorTally>| {
        for a in engine.drain_alerts() {
            if !output_closed && let Err(e) = sink.alert(&a) {
                // A reader that went away (`| head`) ends the output quietly; anything else is an error.
                output_closed = true;
                if e.kind() != io::ErrorKind::BrokenPipe {
                    output_error = Some(e.to_string());
                }
            }
            let t = tallies.entry(a.meta.slug).or_insert_with(|| DetectorTally {
                sid: a.meta.sid,
                ..Default::default()
            });
            t.count += 1;
            if let Some(ip) = a.src_ip
                && (t.sources.len() < MAX_TALLY_SOURCES || t.sources.contains_key(&ip))
            {
                *t.sources.entry(ip).or_default() += 1;
            }
        }
    };
    for batch in rx {
        let w = batch.worker;
        let Some(q) = queues.get_mut(w) else { continue };
        let mut events = batch.events;
        q.extend(events.drain(..));
        if let Some(tx) = free_events.get(w) {
            let _ = tx.try_send(events);
        }
        if let Some(u) = upto.get_mut(w) {
            *u = batch.upto_seq;
        }
        let watermark = upto.iter().copied().min().unwrap_or(0);
        // k-way merge by sequence number, up to the watermark.
        loop {
            let mut best: Option<(usize, u64)> = None;
            for (i, q) in queues.iter().enumerate() {
                if let Some(ev) = q.front()
                    && best.is_none_or(|(_, s)| ev.seq < s)
                {
                    best = Some((i, ev.seq));
                }
            }
            let Some((i, seq)) = best else { break };
            if seq > watermark {
                break;
            }
            if let Some(ev) = queues.get_mut(i).and_then(VecDeque::pop_front) {
                engine.on_event(&ev);
                emit(&mut engine, &mut tallies);
            }
        }
    }
    engine.finish();
    emit(&mut engine, &mut tallies);
    let mut tallies: Vec<(&'static str, DetectorTally)> = tallies.into_iter().collect();
    tallies.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    EngineOut {
        engine,
        tallies,
        output_error,
    }
}

/// Runs the pipeline over `sources` in order. Capture errors end that source (what was read is analysed)
/// and are returned in the report; reading goes on with the next source.
#[expect(
    clippy::expect_used,
    reason = "a thread that cannot be started is not a packet error: fail loudly"
)]
pub fn run(
    sources: Vec<Box<dyn PacketSource>>,
    config: &Config,
    opts: &Options,
    sink: &mut dyn AlertSink,
    progress: &mut dyn FnMut(u64),
) -> Report {
    let started = Instant::now();
    let n = opts.workers.max(1);
    let engine = Engine::new(config);
    let (free_tx, free_rx) = crossbeam_channel::bounded::<PacketBatch>(n * (QUEUE_BATCHES + 2));
    let (ev_tx, ev_rx) = crossbeam_channel::bounded::<EventBatch>(n * QUEUE_BATCHES);
    let mut report = Report {
        workers: n,
        ..Report::default()
    };
    std::thread::scope(|scope| {
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
            let handle = std::thread::Builder::new()
                .name(format!("cg-worker-{id}"))
                .spawn_scoped(scope, move || worker_loop(id, rx, free, out, fe_rx))
                .expect("invariant: the OS can start a worker thread");
            workers.push(handle);
        }
        drop(ev_tx);
        drop(free_tx);
        let engine_handle = std::thread::Builder::new()
            .name("cg-engine".into())
            .spawn_scoped(scope, move || {
                engine_loop(engine, n, ev_rx, free_event_txs, sink)
            })
            .expect("invariant: the OS can start the engine thread");

        let mut d = Dispatcher::new(senders, free_rx, opts.mode);
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
        for h in workers {
            match h.join() {
                Ok(c) => report.counters.merge(&c),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        match engine_handle.join() {
            Ok(out) => {
                report.engine = out.engine.stats().clone();
                report.tables = out.engine.tables();
                report.alerts = out.tallies;
                report.output_error = out.output_error;
            }
            Err(p) => std::panic::resume_unwind(p),
        }
    });
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
