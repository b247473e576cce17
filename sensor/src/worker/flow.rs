//! The worker's flow table: one entry per IP 5-tuple (both directions), with packet and byte counts per
//! direction, the times of the first and last packet, and the media handshakes seen on it (DTLS, ZRTP,
//! STUN: see [`MediaFlags`]). Its figures go to the `stats` event.
//!
//! A flow's id is the capture-order sequence number of its first packet: unique within a run, and the same
//! whatever the number of workers (so it can appear in deterministic output).

use std::net::IpAddr;
use std::time::Duration;

use callguard_parsers::link::ip_bytes;
use callguard_rules::table::{BoundedMap, TableStats};
use callguard_rules::time::PacketTime;

use super::media::MediaFlags;

/// Flows one worker tracks at most (about 100 bytes each: 26 MB at the cap).
pub const MAX_FLOWS: usize = 262_144;
/// A flow with no packet for this long is forgotten. Five minutes outlasts RTP silence suppression and SIP
/// keep-alive intervals (RFC 5626 suggests 120 s for UDP, 840 s for TCP).
pub const FLOW_IDLE_SECS: u64 = 300;

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
}

impl Flow {
    #[inline]
    fn count(&mut self, ts: PacketTime, side: Side, len: usize) {
        self.last = self.last.max(ts);
        let i = side as usize;
        if let (Some(p), Some(b)) = (self.packets.get_mut(i), self.bytes.get_mut(i)) {
            *p += 1;
            *b += len as u64;
        }
    }
}

/// Figures of the flow table.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// The table's figures (entries now, evicted, expired).
    pub table: TableStats,
}

/// The flow table of one worker.
#[derive(Debug)]
pub struct FlowTable {
    map: BoundedMap<FlowKey, Flow>,
    created: u64,
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
        }
    }

    /// Counts a packet of `len` payload bytes; creates the flow on its first packet. Returns the media flags
    /// seen on the flow so far.
    #[inline]
    pub fn packet(
        &mut self,
        seq: u64,
        ts: PacketTime,
        key: FlowKey,
        side: Side,
        len: usize,
    ) -> MediaFlags {
        // The common case, a known flow, costs one lookup.
        if let Some(f) = self.map.get_mut(&key, ts) {
            f.count(ts, side, len);
            return f.media;
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
        });
        f.count(ts, side, len);
        f.media
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
}
