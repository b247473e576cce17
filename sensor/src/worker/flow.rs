//! The worker's flow table: one entry per IP 5-tuple (both directions), with packet and byte counts per
//! direction, the times of the first and last packet, and the media handshakes seen on it (DTLS, ZRTP,
//! STUN: see [`MediaFlags`]). Its figures go to the `stats` event.
//!
//! A flow's id is the capture-order sequence number of its first packet: unique within a run, and the same
//! whatever the number of workers (so it can appear in deterministic output).
//!
//! # Rate reports
//!
//! Each direction of a UDP flow also counts its datagrams and bytes in the current second of packet time (two
//! words, reset when the second changes: no allocation, no extra lookup). The packet that brings a direction
//! to [`UdpRate::FLOOR_PPS`] in a second puts the flow on a short *hot list* (at most [`MAX_HOT`] entries a
//! second; beyond that the report is lost and counted, `rate_dropped`). At the sweep that closes the second
//! (the clock marker of the next one, which every worker gets before any packet of the new second), each hot
//! direction becomes one [`Payload::UdpRate`] event with the whole second's figures, numbered with the
//! marker's sequence number and ordered by the flow's id ([`callguard_rules::event::Event::tiebreak`]): the
//! same events in the same order with 1 worker or N. The engine sums them per destination.
//!
//! A flood whose every datagram has a new 5-tuple (hping3's default of a new source port per datagram, spoofed
//! sources) never brings one flow to the floor, and its flows land on every worker. So each worker also counts
//! the UDP flows it sees *open* (by a datagram that is not SIP; see [`FlowTable::open`]) per destination
//! (address, port) and second, in a map reserved whole at
//! [`MAX_OPENED`] destinations (beyond that, openings are not counted: `opened_dropped`), and reports every
//! destination with its count at the same sweep, however small: only the sum over all workers is the same
//! whatever their number, so no floor may cut a worker's part. That is one event per destination, worker and
//! second with a new flow: far fewer than packets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use std::net::SocketAddr;

use callguard_parsers::link::{IPPROTO_UDP, ip_bytes, ip_from_bytes};
use callguard_rules::event::{Event, Payload, UdpRate};
use callguard_rules::table::{BoundedMap, TableStats};
use callguard_rules::time::PacketTime;
use foldhash::fast::RandomState;

use super::media::MediaFlags;

/// Flows one worker tracks at most (about 150 bytes each with its key, 48 of them the per-second counters of
/// the rate reports: 40 MB at the cap).
pub const MAX_FLOWS: usize = 262_144;
/// A flow with no packet for this long is forgotten. Five minutes outlasts RTP silence suppression and SIP
/// keep-alive intervals (RFC 5626 suggests 120 s for UDP, 840 s for TCP).
pub const FLOW_IDLE_SECS: u64 = 300;
/// Flow directions reported per second at most (see the module doc): a flood spread over more flows than this,
/// each above the floor, is still seen in the ones reported.
pub const MAX_HOT: usize = 4096;
/// Destinations whose flow openings are counted per second (see the module doc).
pub const MAX_OPENED: usize = 4096;

/// A flow's 5-tuple with its endpoints in canonical order, so both directions map to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    lo: ([u8; 16], u16),
    hi: ([u8; 16], u16),
    proto: u8,
}

impl std::hash::Hash for FlowKey {
    /// Three words instead of the derive's dozen writes: this runs once per packet.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u128(u128::from_ne_bytes(self.lo.0));
        h.write_u128(u128::from_ne_bytes(self.hi.0));
        h.write_u64(u64::from(self.lo.1) << 24 | u64::from(self.hi.1) << 8 | u64::from(self.proto));
    }
}

/// One direction of a flow and a 32-bit identifier in it: the RTP stream table's key (the 5-tuple, who
/// sends, the SSRC), hashed from the flow key's bytes rather than from socket addresses again. Like
/// [`FlowKey`], it reads an IPv4 address and the IPv4-compatible IPv6 address `::a.b.c.d` (deprecated, RFC
/// 4291 §2.5.5.1) as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirKey {
    flow: FlowKey,
    side: Side,
    id: u32,
}

impl DirKey {
    /// The direction `side` of `flow`, and `id`.
    pub fn new(flow: FlowKey, side: Side, id: u32) -> Self {
        Self { flow, side, id }
    }
}

impl std::hash::Hash for DirKey {
    /// Three words, as [`FlowKey`]'s (the protocol is left out: one table holds one protocol).
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let f = &self.flow;
        h.write_u128(u128::from_ne_bytes(f.lo.0));
        h.write_u128(u128::from_ne_bytes(f.hi.0));
        let id = self.id ^ (self.side as u32) << 31;
        h.write_u64(u64::from(f.lo.1) << 48 | u64::from(f.hi.1) << 32 | u64::from(id));
    }
}

/// Which way a packet goes relative to its [`FlowKey`]'s canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// From the lower endpoint to the higher.
    LoToHi = 0,
    /// From the higher endpoint to the lower.
    HiToLo = 1,
}

impl FlowKey {
    /// The key of a packet from `src:sport` to `dst:dport`, and its direction.
    pub fn new(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, proto: u8) -> (Self, Side) {
        let a = (ip_bytes(src), sport);
        let b = (ip_bytes(dst), dport);
        if a <= b {
            (
                Self {
                    lo: a,
                    hi: b,
                    proto,
                },
                Side::LoToHi,
            )
        } else {
            (
                Self {
                    lo: b,
                    hi: a,
                    proto,
                },
                Side::HiToLo,
            )
        }
    }
}

/// One flow.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    /// The sequence number of the flow's first packet.
    pub id: u64,
    /// The time of the first packet.
    pub first: PacketTime,
    /// The time of the last packet.
    pub last: PacketTime,
    /// Packets per [`Side`].
    pub packets: [u64; 2],
    /// IP payload bytes per [`Side`].
    pub bytes: [u64; 2],
    /// The direction of the first packet (who spoke first).
    pub opened_by: Side,
    /// Media keying and ICE protocols seen on the flow, either direction: the evidence RTP streams on the
    /// same 5-tuple carry.
    pub media: MediaFlags,
    /// The current second's datagrams per [`Side`] (UDP only; see the module doc).
    pub second: [SecondCount; 2],
}

/// One direction's datagrams in one second of packet time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondCount {
    /// The second (whole seconds of packet time).
    pub sec: u64,
    /// Datagrams.
    pub packets: u32,
    /// Payload bytes.
    pub bytes: u64,
}

impl Flow {
    /// Counts a packet; returns whether it brought its direction's second to the rate floor.
    #[inline]
    fn count(&mut self, ts: PacketTime, side: Side, len: usize, udp: bool) -> bool {
        self.last = self.last.max(ts);
        let i = side as usize;
        if let (Some(p), Some(b)) = (self.packets.get_mut(i), self.bytes.get_mut(i)) {
            *p += 1;
            *b += len as u64;
        }
        if !udp {
            return false;
        }
        let Some(c) = self.second.get_mut(i) else {
            return false;
        };
        let sec = ts.secs();
        if c.sec != sec {
            *c = SecondCount {
                sec,
                packets: 0,
                bytes: 0,
            };
        }
        c.packets = c.packets.saturating_add(1);
        c.bytes += len as u64;
        c.packets == UdpRate::FLOOR_PPS
    }
}

/// Figures of the flow table.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Rate reports made ([`Payload::UdpRate`]).
    pub rate_reports: u64,
    /// Rate reports lost because the hot list was full.
    pub rate_dropped: u64,
    /// Flow openings not counted because the openings map was full.
    pub opened_dropped: u64,
    /// The table's figures (entries now, evicted, expired).
    pub table: TableStats,
}

/// The flow table of one worker.
#[derive(Debug)]
pub struct FlowTable {
    map: BoundedMap<FlowKey, Flow>,
    created: u64,
    /// Flow directions at or above the rate floor in the current second (see the module doc).
    hot: Vec<(FlowKey, Side)>,
    rate_reports: u64,
    rate_dropped: u64,
    /// UDP flows opened in second `opened_sec`, per destination (see the module doc).
    opened: HashMap<Endpoint, Opened, RandomState>,
    opened_sec: u64,
    opened_dropped: u64,
}

/// An address (in the flow key's form) and port.
type Endpoint = ([u8; 16], u16);

/// The flows opened to one destination in one second.
#[derive(Debug, Clone, Copy)]
struct Opened {
    count: u32,
    bytes: u64,
    first: Endpoint,
    first_id: u64,
    single_source: bool,
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::new(MAX_FLOWS, Duration::from_secs(FLOW_IDLE_SECS))
    }
}

impl FlowTable {
    /// A table of at most `cap` flows that expire after `idle` without a packet.
    pub fn new(cap: usize, idle: Duration) -> Self {
        Self {
            map: BoundedMap::new(cap, idle),
            created: 0,
            // Reserved whole (about 160 kB), so that the packet path never allocates.
            hot: Vec::with_capacity(MAX_HOT),
            rate_reports: 0,
            rate_dropped: 0,
            opened: HashMap::with_capacity_and_hasher(MAX_OPENED, RandomState::default()),
            opened_sec: 0,
            opened_dropped: 0,
        }
    }

    /// Counts a packet of `len` payload bytes; creates the flow on its first packet. Returns the media flags
    /// seen on the flow so far, and whether this packet opened a UDP flow (the caller then counts the opening
    /// with [`FlowTable::open`] once it knows what the datagram carries: SIP is left out).
    #[inline]
    pub fn packet(
        &mut self,
        seq: u64,
        ts: PacketTime,
        key: FlowKey,
        side: Side,
        len: usize,
    ) -> (MediaFlags, bool) {
        let udp = key.proto == IPPROTO_UDP;
        // The common case, a known flow, costs one lookup.
        if let Some(f) = self.map.get_mut(&key, ts) {
            let media = f.media;
            if f.count(ts, side, len, udp) {
                self.heat(key, side);
            }
            return (media, false);
        }
        self.created += 1;
        let f = self.map.get_or_insert_with(key, ts, || Flow {
            id: seq,
            first: ts,
            last: ts,
            packets: [0; 2],
            bytes: [0; 2],
            opened_by: side,
            media: MediaFlags::NONE,
            second: [SecondCount::default(); 2],
        });
        let media = f.media;
        if f.count(ts, side, len, udp) {
            self.heat(key, side);
        }
        (media, udp)
    }

    /// Counts the opening of a UDP flow by its first datagram (kept out of line: once per flow). The worker
    /// leaves SIP out: a SIP request fragmented at the IP layer is reassembled by the worker its address pair
    /// hashes to, which need not be the one its 5-tuple's answers go to, so the answer can open the same flow
    /// again elsewhere; and SIP floods are `sip-flood`'s.
    #[inline(never)]
    pub fn open(&mut self, seq: u64, ts: PacketTime, key: FlowKey, side: Side, len: usize) {
        let (src, dst) = match side {
            Side::LoToHi => (key.lo, key.hi),
            Side::HiToLo => (key.hi, key.lo),
        };
        let sec = ts.secs();
        if sec != self.opened_sec {
            // Left over when no sweep closed the second (not in the pipeline, which sweeps every second).
            self.opened_dropped += self
                .opened
                .values()
                .map(|o| u64::from(o.count))
                .sum::<u64>();
            self.opened.clear();
            self.opened_sec = sec;
        }
        if let Some(o) = self.opened.get_mut(&dst) {
            o.count = o.count.saturating_add(1);
            o.bytes += len as u64;
            o.single_source &= o.first.0 == src.0;
        } else if self.opened.len() < MAX_OPENED {
            self.opened.insert(
                dst,
                Opened {
                    count: 1,
                    bytes: len as u64,
                    first: src,
                    first_id: seq,
                    single_source: true,
                },
            );
        } else {
            self.opened_dropped += 1;
        }
    }

    /// Puts a flow direction that reached the rate floor on the hot list (rare: kept out of line).
    #[cold]
    #[inline(never)]
    fn heat(&mut self, key: FlowKey, side: Side) {
        if self.hot.len() < MAX_HOT {
            self.hot.push((key, side));
        } else {
            self.rate_dropped += 1;
        }
    }

    /// Reports every hot flow direction whose second ended before `now` (the sweep's time; at the end of input,
    /// `None`: every one), with sequence number `seq`, in the order of the flows' ids. Called by the worker's
    /// sweep and at the end of input.
    pub fn rate_reports(&mut self, now: Option<PacketTime>, seq: u64, out: &mut Vec<Event>) {
        if self.hot.is_empty() && self.opened.is_empty() {
            return;
        }
        let from = out.len();
        let mut keep = 0;
        for i in 0..self.hot.len() {
            let Some(&(key, side)) = self.hot.get(i) else {
                break;
            };
            let Some(f) = self.map.get(&key) else {
                continue;
            };
            let Some(c) = f.second.get(side as usize).copied() else {
                continue;
            };
            if now.is_some_and(|t| c.sec >= t.secs()) {
                // Still counting (cannot happen at a sweep, which comes before the new second's packets).
                if let Some(slot) = self.hot.get_mut(keep) {
                    *slot = (key, side);
                }
                keep += 1;
                continue;
            }
            let (a, b) = (
                SocketAddr::new(ip_from_bytes(key.lo.0), key.lo.1),
                SocketAddr::new(ip_from_bytes(key.hi.0), key.hi.1),
            );
            let (src, dst) = match side {
                Side::LoToHi => (a, b),
                Side::HiToLo => (b, a),
            };
            // The opening datagram of a flow opened in this second is in the opening report.
            let opening = u32::from(f.first.secs() == c.sec && f.opened_by == side);
            self.rate_reports += 1;
            out.push(Event {
                seq,
                ts: now.unwrap_or(f.last),
                payload: Payload::UdpRate(UdpRate {
                    src,
                    dst,
                    sec: c.sec,
                    packets: c.packets - opening,
                    bytes: c.bytes,
                    rtp: f.media.contains(MediaFlags::RTP),
                    sip: f.media.contains(MediaFlags::SIP),
                    opened: 0,
                    single_source: true,
                    flow_id: f.id,
                }),
            });
        }
        self.hot.truncate(keep);
        if now.is_none_or(|t| self.opened_sec < t.secs()) {
            let sec = self.opened_sec;
            for (dst, o) in self.opened.drain() {
                self.rate_reports += 1;
                let ts = now.unwrap_or(PacketTime::from_secs(sec));
                out.push(Event {
                    seq,
                    ts,
                    payload: Payload::UdpRate(UdpRate {
                        src: SocketAddr::new(ip_from_bytes(o.first.0), o.first.1),
                        dst: SocketAddr::new(ip_from_bytes(dst.0), dst.1),
                        sec,
                        packets: o.count,
                        bytes: o.bytes,
                        rtp: false,
                        sip: false,
                        opened: o.count,
                        single_source: o.single_source,
                        flow_id: o.first_id,
                    }),
                });
            }
        }
        if let Some(new) = out.get_mut(from..) {
            new.sort_by_key(Event::tiebreak);
        }
    }

    /// Records that `flags` were seen on the flow of `key` (already counted by [`FlowTable::packet`]).
    pub fn mark(&mut self, key: &FlowKey, flags: MediaFlags) {
        if let Some(f) = self.map.get_mut(key, PacketTime::ZERO) {
            f.media.insert(flags);
        }
    }

    /// The flow of `key`, if tracked.
    pub fn get(&self, key: &FlowKey) -> Option<&Flow> {
        self.map.get(key)
    }

    /// Forgets idle flows.
    pub fn expire(&mut self, now: PacketTime) {
        self.map.expire(now);
    }

    /// Figures for the stats.
    pub fn stats(&self) -> FlowStats {
        FlowStats {
            created: self.created,
            rate_reports: self.rate_reports,
            rate_dropped: self.rate_dropped,
            opened_dropped: self.opened_dropped,
            table: self.map.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_share_one_flow_and_count_apart() {
        let mut t = FlowTable::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let ts = PacketTime::from_secs(100);
        let (k1, s1) = FlowKey::new(a, 5060, b, 5060, 17);
        let (k2, s2) = FlowKey::new(b, 5060, a, 5060, 17);
        assert_eq!(k1, k2);
        assert_ne!(s1, s2);
        t.packet(7, ts, k1, s1, 100);
        t.packet(9, ts, k2, s2, 50);
        let f = *t.get(&k1).unwrap();
        assert_eq!(f.id, 7);
        assert_eq!(f.packets, [1, 1]);
        assert_eq!(f.bytes[s1 as usize], 100);
        assert_eq!(f.bytes[s2 as usize], 50);
        assert_eq!(f.opened_by, s1);
        assert_eq!(t.stats().created, 1);
    }

    #[test]
    fn the_table_is_bounded_and_expires_in_packet_time() {
        let mut t = FlowTable::new(100, Duration::from_secs(10));
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..1000u16 {
            let (k, s) = FlowKey::new("10.0.0.1".parse().unwrap(), i, b, 5060, 17);
            t.packet(u64::from(i), PacketTime::from_secs(1), k, s, 10);
        }
        let st = t.stats();
        assert!(st.table.len <= 100);
        assert_eq!(st.created, 1000);
        assert_eq!(st.table.evicted + st.table.len as u64, 1000);
        t.expire(PacketTime::from_secs(100));
        assert_eq!(t.stats().table.len, 0);
    }

    fn rates(ev: &[Event]) -> Vec<UdpRate> {
        ev.iter()
            .filter_map(|e| match e.payload {
                Payload::UdpRate(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_direction_at_the_floor_is_reported_once_when_its_second_closes() {
        let mut t = FlowTable::default();
        let a: IpAddr = "10.77.0.66".parse().unwrap();
        let b: IpAddr = "10.77.0.11".parse().unwrap();
        let (k, fwd) = FlowKey::new(a, 40000, b, 16000, IPPROTO_UDP);
        let (_, back) = FlowKey::new(b, 16000, a, 40000, IPPROTO_UDP);
        let at = |ms: u64| PacketTime::from_nanos(10_000_000_000 + ms * 1_000_000);
        for i in 0..400u64 {
            if t.packet(100 + i, at(i * 2), k, fwd, 172).1 {
                t.open(100 + i, at(i * 2), k, fwd, 172);
            }
        }
        // The other direction stays under the floor, and a TCP flow at any rate is not counted.
        for i in 0..149u64 {
            t.packet(1000 + i, at(i * 5), k, back, 172);
        }
        let (tk, ts) = FlowKey::new(a, 40001, b, 5061, 6);
        for i in 0..500u64 {
            t.packet(2000 + i, at(i), tk, ts, 10);
        }
        t.mark(&k, MediaFlags::RTP);
        let mut out = Vec::new();
        // A sweep within the second reports nothing yet.
        t.rate_reports(Some(at(900)), 7, &mut out);
        assert!(out.is_empty());
        t.rate_reports(Some(at(1000)), 9, &mut out);
        let r = rates(&out);
        // The flow report, and the opening report of the one UDP flow (its first datagram is there).
        assert_eq!(r.len(), 2, "{out:?}");
        assert!(out.iter().all(|e| e.seq == 9 && e.tiebreak() == 101));
        assert_eq!(r[0].src, SocketAddr::new(a, 40000));
        assert_eq!(r[0].dst, SocketAddr::new(b, 16000));
        assert_eq!((r[0].sec, r[0].packets, r[0].bytes), (10, 399, 400 * 172));
        assert!(r[0].rtp && !r[0].sip && r[0].opened == 0);
        assert_eq!(r[0].flow_id, 100);
        assert_eq!(
            (r[1].dst, r[1].packets, r[1].opened),
            (SocketAddr::new(b, 16000), 1, 1)
        );
        assert!(r[1].single_source);
        out.clear();
        t.rate_reports(Some(at(2000)), 11, &mut out);
        assert!(out.is_empty());
        assert_eq!(t.stats().rate_reports, 2);
    }

    #[test]
    fn reports_at_the_end_of_input_and_the_hot_list_is_capped() {
        let mut t = FlowTable::default();
        let b: IpAddr = "10.77.0.12".parse().unwrap();
        let ts = PacketTime::from_secs(50);
        let mut seq = 0;
        for port in 0..u16::try_from(MAX_HOT + 10).unwrap() {
            let (k, s) = FlowKey::new("10.9.0.1".parse().unwrap(), port, b, 30000, IPPROTO_UDP);
            for _ in 0..UdpRate::FLOOR_PPS {
                if t.packet(seq, ts, k, s, 0).1 {
                    t.open(seq, ts, k, s, 0);
                }
                seq += 1;
            }
        }
        let mut out = Vec::new();
        t.rate_reports(None, u64::MAX, &mut out);
        let r = rates(&out);
        assert_eq!(r.iter().filter(|r| r.opened == 0).count(), MAX_HOT);
        let opened: Vec<_> = r.iter().filter(|r| r.opened > 0).collect();
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].opened as usize, MAX_HOT + 10);
        assert!(out.windows(2).all(|w| w[0].tiebreak() <= w[1].tiebreak()));
        assert_eq!(t.stats().rate_dropped, 10);
    }

    #[test]
    fn openings_are_counted_per_destination_whatever_the_source_and_capped() {
        let mut t = FlowTable::default();
        let victim: IpAddr = "10.77.0.12".parse().unwrap();
        let ts = PacketTime::from_secs(70);
        // A random-source-port flood (one datagram per 5-tuple) and a spoofed one, to two ports.
        for i in 0..300u16 {
            let (k, s) = FlowKey::new(
                "10.77.0.66".parse().unwrap(),
                1000 + i,
                victim,
                30000,
                IPPROTO_UDP,
            );
            t.packet(u64::from(i), ts, k, s, 20);
            t.open(u64::from(i), ts, k, s, 20);
            let [hi, lo] = i.to_be_bytes();
            let spoofed = IpAddr::from([172, 16, hi, lo]);
            let (k, s) = FlowKey::new(spoofed, 5000, victim, 30001, IPPROTO_UDP);
            t.packet(1000 + u64::from(i), ts, k, s, 20);
            t.open(1000 + u64::from(i), ts, k, s, 20);
        }
        let mut out = Vec::new();
        t.rate_reports(Some(PacketTime::from_secs(71)), 5, &mut out);
        let r = rates(&out);
        assert_eq!(r.len(), 2, "{out:?}");
        assert_eq!(
            (r[0].dst.port(), r[0].opened, r[0].bytes),
            (30000, 300, 6000)
        );
        assert!(r[0].single_source);
        assert_eq!(
            r[0].src,
            SocketAddr::new("10.77.0.66".parse().unwrap(), 1000)
        );
        assert_eq!((r[1].dst.port(), r[1].opened), (30001, 300));
        assert!(!r[1].single_source);
        // More destinations than the map holds: the rest are counted as dropped, not reported.
        let ts = PacketTime::from_secs(72);
        for i in 0..(MAX_OPENED as u64 + 5) {
            let port = u16::try_from(i % 60_000).unwrap();
            let host = IpAddr::from([10, 1, u8::try_from(i / 60_000).unwrap(), 1]);
            let (k, s) = FlowKey::new("10.77.0.66".parse().unwrap(), 9, host, port, IPPROTO_UDP);
            if t.packet(5000 + i, ts, k, s, 20).1 {
                t.open(5000 + i, ts, k, s, 20);
            }
        }
        out.clear();
        t.rate_reports(None, u64::MAX, &mut out);
        assert_eq!(out.len(), MAX_OPENED);
        assert_eq!(t.stats().opened_dropped, 5);
    }
}
