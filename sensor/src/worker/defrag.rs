//! IPv4 and IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5, RFC 815).
//!
//! Large SIP requests over UDP (an INVITE with a big SDP body, a REGISTER with many contacts) often exceed the
//! path MTU and arrive as IP fragments. [`Defrag`] collects the fragments of each datagram, keyed by
//! (source, destination, protocol, identification), and hands back the whole IP payload (the transport
//! header and its data) when the last missing byte arrives.
//!
//! # Semantics
//! - Fragments may arrive in any order, duplicated, or overlapping. Each datagram is complete when a last
//!   fragment (`more == false`) has fixed its length and every byte of `[0, length)` has been received.
//! - **Overlaps are resolved "first wins"**: bytes already received are never overwritten. Overlapping
//!   fragments are counted in [`DefragStats::overlaps`], and those that disagree with the bytes already held
//!   in [`DefragStats::overlap_mismatches`]. Overlap is a classic IDS evasion sign (Ptacek & Newsham 1998;
//!   the Teardrop family): hosts have resolved overlaps differently (first wins on some, last wins on
//!   others), and current ones discard the whole datagram instead (RFC 5722 for IPv6, Linux for IPv4 since
//!   the FragmentSmack fixes), so a datagram reassembled here despite overlaps may be one the target never
//!   accepted. Alert on the counters, not on the payload alone. Exact duplicates count as overlaps too (the
//!   hosts ignore them), but never as mismatches.
//! - A non-final fragment whose length is not a multiple of 8 is cut down to the 8-byte unit for IPv4, as
//!   Linux does, and discarded for IPv6, as RFC 8200 §4.5 requires.
//! - A datagram longer than [`MAX_DATAGRAM_LEN`], a second last fragment that ends elsewhere, or a fragment
//!   beyond the known end is **invalid**: the whole datagram is dropped and counted in
//!   [`DefragStats::invalid`]. So is a datagram broken into more than [`MAX_RANGES_PER_DATAGRAM`] disjoint
//!   pieces, which bounds the work per fragment.
//!
//! # Bounds
//! Datagrams in flight and buffered bytes are both capped ([`DefragConfig`]); when either is full the
//! **oldest** datagram is evicted and counted in [`DefragStats::evicted`]. A datagram times out a fixed time
//! after its *first* fragment, as Linux's `ipfrag_time` does: later fragments do not extend its life, so a
//! sender dribbling fragments cannot pin memory. This is why the table here is not a
//! [`callguard_rules::table::BoundedMap`] (whose timeout is an idle time and whose eviction knows only
//! entry counts): datagrams are kept in creation order, which makes both the timeout and the byte-cap
//! eviction an O(log n) look at the oldest entry.
//!
//! # Allocation
//! One buffer per datagram in flight, sized to the furthest byte received. The output buffer is reused:
//! on completion the datagram's buffer becomes the output and the previous output buffer is kept as the
//! spare for the next datagram, so steady traffic allocates only each datagram's small range list.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use callguard_parsers::link::Fragment;
use callguard_rules::time::PacketTime;
use foldhash::fast::RandomState;

/// Largest reassembled IP payload, in bytes. IPv4's Total Length field is 16 bits (RFC 791 §3.1), and
/// RFC 8200 §4.5 has IPv6 discard fragments whose reassembled Payload Length would exceed 65,535 octets
/// (jumbograms, RFC 2675, are never fragmented).
pub const MAX_DATAGRAM_LEN: u32 = 65_535;

/// Default cap on datagrams being reassembled at once. Legitimate fragmented traffic (large SIP over UDP)
/// completes within a round trip, so a few thousand in flight per worker is ample; a flood of first fragments
/// (a classic resource attack) is what this bounds.
pub const DEFAULT_MAX_DATAGRAMS: usize = 4096;

/// Default cap on bytes buffered across all datagrams in flight: 32 MiB per worker, which holds 512 maximal
/// datagrams or thousands of typical ones (Linux's `ipfrag_high_thresh` is 4 MiB per network namespace).
pub const DEFAULT_MAX_BYTES: usize = 32 * 1024 * 1024;

/// Default reassembly timeout, counted from a datagram's first fragment: 30 s, Linux's `ipfrag_time` default
/// (RFC 791 suggests a 15 s lower bound; RFC 8200 §4.5 uses 60 s for IPv6).
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// Most disjoint received ranges one datagram may have before it is dropped as invalid. Adjacent fragments
/// merge into one range, so in-order or reversed delivery keeps a single range; a 64 KiB datagram over a
/// 576-byte MTU in random order needs about 60. Past this, the fragmentation pattern itself (many tiny,
/// scattered pieces) is an evasion or resource attack, and the bound caps the per-fragment work.
pub const MAX_RANGES_PER_DATAGRAM: usize = 128;

/// Fragment data comes in units of 8 bytes: every fragment but the last must be a multiple of it (RFC 791
/// §3.1 "Fragment Offset", RFC 8200 §4.5).
const FRAGMENT_UNIT: usize = 8;

/// Initial capacity of a datagram's range list: typical datagrams have one or two ranges.
const INITIAL_RANGES: usize = 4;

/// Limits for [`Defrag`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams being reassembled at once; the oldest is evicted when a new one would exceed it.
    pub max_datagrams: usize,
    /// Bytes buffered across all datagrams in flight; the oldest are evicted to make room.
    pub max_bytes: usize,
    /// Time from a datagram's first fragment after which it is dropped unfinished.
    pub timeout: Duration,
}

impl Default for DefragConfig {
    fn default() -> Self {
        Self {
            max_datagrams: DEFAULT_MAX_DATAGRAMS,
            max_bytes: DEFAULT_MAX_BYTES,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        }
    }
}

/// Counters and sizes of a [`Defrag`], for metrics and the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments pushed.
    pub fragments: u64,
    /// Datagrams completed and returned.
    pub reassembled: u64,
    /// Datagrams being reassembled now.
    pub in_flight: usize,
    /// Bytes buffered now (datagram buffers, including holes not yet filled).
    pub bytes: usize,
    /// Datagrams dropped unfinished because their timeout passed.
    pub timed_out: u64,
    /// Datagrams dropped unfinished to respect the cap on datagrams or on bytes.
    pub evicted: u64,
    /// Fragments that overlapped bytes already received (duplicates included); the first bytes were kept.
    pub overlaps: u64,
    /// Overlapping fragments whose bytes differed from those already received: the evasion sign.
    pub overlap_mismatches: u64,
    /// Datagrams dropped as invalid: longer than [`MAX_DATAGRAM_LEN`], inconsistent last fragments, data
    /// beyond the known end, or more than [`MAX_RANGES_PER_DATAGRAM`] pieces; plus IPv6 non-final fragments
    /// whose length is not a multiple of 8, which are discarded alone (RFC 8200 §4.5).
    pub invalid: u64,
}

/// A datagram's identity (RFC 791 §3.2; RFC 8200 §4.5 adds nothing the protocol field does not cover).
type Key = (IpAddr, IpAddr, u8, u32);

/// One datagram being reassembled.
#[derive(Debug)]
struct Datagram {
    /// Creation time, first half of the key into [`Defrag::order`].
    created: PacketTime,
    /// Creation serial, second half of that key (ties on time break by arrival).
    serial: u64,
    /// The payload so far; its length is the furthest byte received. Holes hold zeros.
    buf: Vec<u8>,
    /// Received byte ranges `[start, end)`: sorted, disjoint and not touching (touching ones are merged).
    ranges: Vec<(u32, u32)>,
    /// The datagram's length, once a last fragment has been seen.
    total: Option<u32>,
}

/// What inserting one fragment found.
#[derive(Debug, Default, Clone, Copy)]
struct Overlap {
    any: bool,
    mismatch: bool,
}

impl Datagram {
    /// Whether a fragment ending at `end` contradicts what is known of the datagram's length.
    fn contradicts(&self, more: bool, end: u32) -> bool {
        let furthest = self.buf.len();
        match (more, self.total) {
            (true, Some(t)) => end > t,
            (true, None) => false,
            (false, Some(t)) => t != end,
            (false, None) => furthest > end as usize,
        }
    }

    /// Copies the bytes of `data` (at `off`, ending at `end`) that are not yet held, keeping the bytes
    /// already received where they overlap ("first wins"), and records the range.
    fn insert(&mut self, off: u32, end: u32, data: &[u8]) -> Overlap {
        let Self { buf, ranges, .. } = self;
        let mut found = Overlap::default();
        if off >= end {
            return found;
        }
        if buf.len() < end as usize {
            buf.resize(end as usize, 0);
        }
        let mut copy = |from: u32, to: u32| {
            let src = data.get((from - off) as usize..(to - off) as usize);
            let dst = buf.get_mut(from as usize..to as usize);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
        };
        let mut cursor = off;
        for &(rs, re) in ranges.iter() {
            if re <= off {
                continue;
            }
            if rs >= end {
                break;
            }
            if rs > cursor {
                copy(cursor, rs);
            }
            cursor = cursor.max(re);
        }
        if cursor < end {
            copy(cursor, end);
        }
        // Overlap detection and comparison, on the ranges as they were before this fragment.
        for &(rs, re) in ranges.iter() {
            let (a, b) = (rs.max(off), re.min(end));
            if a >= b {
                continue;
            }
            found.any = true;
            let held = buf.get(a as usize..b as usize);
            let new = data.get((a - off) as usize..(b - off) as usize);
            if held != new {
                found.mismatch = true;
            }
        }
        // Merge [off, end) with every range it overlaps or touches.
        let i = ranges.partition_point(|&(_, re)| re < off);
        let j = ranges.partition_point(|&(rs, _)| rs <= end);
        if i <= j {
            let lo = ranges
                .get(i)
                .filter(|_| i < j)
                .map_or(off, |&(rs, _)| rs.min(off));
            let hi = j
                .checked_sub(1)
                .filter(|&k| k >= i)
                .and_then(|k| ranges.get(k));
            let hi = hi.map_or(end, |&(_, re)| re.max(end));
            ranges.splice(i..j, [(lo, hi)]);
        }
        found
    }

    /// Whether every byte of the datagram has been received.
    fn is_complete(&self) -> bool {
        match self.total {
            Some(0) => true,
            Some(t) => self.ranges.as_slice() == [(0, t)],
            None => false,
        }
    }
}

/// IPv4 and IPv6 fragment reassembly with bounded memory. See the [module docs](self).
#[derive(Debug)]
pub struct Defrag {
    cfg: DefragConfig,
    map: HashMap<Key, Datagram, RandomState>,
    /// Datagrams by (creation time, serial): the oldest first, for timeouts and eviction.
    order: BTreeMap<(PacketTime, u64), Key>,
    next_serial: u64,
    /// Sum of the datagram buffers' lengths.
    bytes: usize,
    /// The last reassembled payload, lent out by [`Defrag::push`].
    out: Vec<u8>,
    /// A recycled buffer for the next new datagram.
    spare: Vec<u8>,
    stats: DefragStats,
}

impl Defrag {
    /// An empty reassembler with the given limits.
    pub fn new(cfg: DefragConfig) -> Self {
        Self {
            cfg,
            map: HashMap::with_hasher(RandomState::default()),
            order: BTreeMap::new(),
            next_serial: 0,
            bytes: 0,
            out: Vec::new(),
            spare: Vec::new(),
            stats: DefragStats::default(),
        }
    }

    /// Adds one fragment: `data` is this fragment's payload after the IPv4 header or the IPv6 Fragment
    /// header, and `proto` the protocol it carries. Returns the whole reassembled IP payload (transport header
    /// and data) when this fragment completes its datagram; the slice is valid until the next call.
    ///
    /// Datagrams past their timeout are dropped first, so the result does not depend on how often
    /// [`Defrag::expire`] is called.
    pub fn push(
        &mut self,
        now: PacketTime,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        frag: Fragment,
        data: &[u8],
    ) -> Option<&[u8]> {
        self.stats.fragments += 1;
        self.expire(now);
        let key = (src, dst, proto, frag.id);
        let mut data = data;
        let ragged = frag.more && !data.len().is_multiple_of(FRAGMENT_UNIT);
        if ragged && src.is_ipv6() {
            // RFC 8200 §4.5: such a fragment is discarded (the host answers with a Parameter Problem).
            self.stats.invalid += 1;
            return None;
        }
        if ragged {
            // Linux (ip_frag_queue) rounds a ragged IPv4 fragment down to the 8-byte unit; do as the hosts do.
            data = data
                .get(..data.len() - data.len() % FRAGMENT_UNIT)
                .unwrap_or_default();
        }
        let end = u32::try_from(data.len())
            .ok()
            .and_then(|len| frag.offset.checked_add(len))
            .filter(|&end| end <= MAX_DATAGRAM_LEN);
        let Some(end) = end else {
            self.stats.invalid += 1;
            self.discard(&key);
            return None;
        };

        if !self.map.contains_key(&key) {
            while self.map.len() >= self.cfg.max_datagrams.max(1) && self.evict_oldest_except(None)
            {
            }
            let serial = self.next_serial;
            self.next_serial += 1;
            let mut buf = std::mem::take(&mut self.spare);
            buf.clear();
            let dg = Datagram {
                created: now,
                serial,
                buf,
                ranges: Vec::with_capacity(INITIAL_RANGES),
                total: None,
            };
            self.order.insert((now, serial), key);
            self.map.insert(key, dg);
        }

        let (contradicts, held) = self
            .map
            .get(&key)
            .map_or((false, 0), |d| (d.contradicts(frag.more, end), d.buf.len()));
        if contradicts {
            self.stats.invalid += 1;
            self.discard(&key);
            return None;
        }

        // Room for the bytes this fragment adds, taken from the oldest other datagrams.
        let grow = (end as usize).saturating_sub(held);
        while self.bytes.saturating_add(grow) > self.cfg.max_bytes
            && self.evict_oldest_except(Some(&key))
        {}
        if self.bytes.saturating_add(grow) > self.cfg.max_bytes {
            self.stats.evicted += 1;
            self.discard(&key);
            return None;
        }

        let dg = self.map.get_mut(&key)?;
        let before = dg.buf.len();
        let overlap = dg.insert(frag.offset, end, data);
        self.bytes += dg.buf.len() - before;
        if !frag.more {
            dg.total = Some(end);
        }
        self.stats.overlaps += u64::from(overlap.any);
        self.stats.overlap_mismatches += u64::from(overlap.mismatch);
        let (complete, too_scattered) =
            (dg.is_complete(), dg.ranges.len() > MAX_RANGES_PER_DATAGRAM);
        if too_scattered {
            self.stats.invalid += 1;
            self.discard(&key);
            return None;
        }
        if !complete {
            return None;
        }

        let mut dg = self.take(&key)?;
        let total = dg.total.unwrap_or(0) as usize;
        dg.buf.truncate(total);
        std::mem::swap(&mut self.out, &mut dg.buf);
        self.recycle(dg.buf);
        self.stats.reassembled += 1;
        Some(&self.out)
    }

    /// Drops the datagrams whose first fragment is older than the timeout (counted in
    /// [`DefragStats::timed_out`]). Cheap to call per packet: it looks only at the oldest datagrams.
    pub fn expire(&mut self, now: PacketTime) {
        while let Some((&(created, _), &key)) = self.order.first_key_value() {
            if now.since(created) <= self.cfg.timeout {
                break;
            }
            self.stats.timed_out += 1;
            self.discard(&key);
        }
    }

    /// Counters and current sizes.
    pub fn stats(&self) -> DefragStats {
        DefragStats {
            in_flight: self.map.len(),
            bytes: self.bytes,
            ..self.stats
        }
    }

    /// Evicts the oldest datagram other than `keep`, counting it. False when there is none.
    fn evict_oldest_except(&mut self, keep: Option<&Key>) -> bool {
        let victim = self.order.values().find(|k| Some(*k) != keep).copied();
        match victim {
            Some(k) => {
                self.stats.evicted += 1;
                self.discard(&k);
                true
            }
            None => false,
        }
    }

    /// Removes a datagram from the tables, releasing its bytes.
    fn take(&mut self, key: &Key) -> Option<Datagram> {
        let dg = self.map.remove(key)?;
        self.order.remove(&(dg.created, dg.serial));
        self.bytes = self.bytes.saturating_sub(dg.buf.len());
        Some(dg)
    }

    /// Removes a datagram and keeps its buffer for reuse.
    fn discard(&mut self, key: &Key) {
        if let Some(dg) = self.take(key) {
            self.recycle(dg.buf);
        }
    }

    /// Keeps the larger of `buf` and the current spare, so a new datagram can start without allocating.
    fn recycle(&mut self, buf: Vec<u8>) {
        if buf.capacity() > self.spare.capacity() {
            self.spare = buf;
        }
    }
}

impl Default for Defrag {
    fn default() -> Self {
        Self::new(DefragConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dg() -> Datagram {
        Datagram {
            created: PacketTime::ZERO,
            serial: 0,
            buf: Vec::new(),
            ranges: Vec::new(),
            total: None,
        }
    }

    #[test]
    fn touching_and_overlapping_ranges_merge() {
        let mut d = dg();
        d.insert(16, 24, &[1; 8]);
        d.insert(0, 8, &[2; 8]);
        assert_eq!(d.ranges, vec![(0, 8), (16, 24)]);
        let o = d.insert(8, 16, &[3; 8]);
        assert!(!o.any, "touching is not overlapping");
        assert_eq!(d.ranges, vec![(0, 24)]);
        let o = d.insert(20, 40, &[1; 20]);
        assert!(
            o.any && !o.mismatch,
            "the overlapped bytes 20..24 are equal"
        );
        assert_eq!(d.ranges, vec![(0, 40)]);
        assert_eq!(d.buf.len(), 40);
    }

    #[test]
    fn a_fragment_spanning_several_ranges_fills_only_the_holes() {
        let mut d = dg();
        d.insert(8, 16, &[b'a'; 8]);
        d.insert(24, 32, &[b'b'; 8]);
        let o = d.insert(0, 40, &[b'x'; 40]);
        assert!(o.any && o.mismatch);
        assert_eq!(d.ranges, vec![(0, 40)]);
        let want: Vec<u8> = [[b'x'; 8], [b'a'; 8], [b'x'; 8], [b'b'; 8], [b'x'; 8]].concat();
        assert_eq!(d.buf, want);
    }

    #[test]
    fn what_is_known_of_the_length_is_checked() {
        let mut d = dg();
        d.insert(0, 32, &[0; 32]);
        assert!(
            d.contradicts(false, 16),
            "a last fragment before data already held"
        );
        assert!(!d.contradicts(false, 32));
        d.total = Some(32);
        assert!(d.contradicts(false, 40));
        assert!(d.contradicts(true, 40));
        assert!(!d.contradicts(true, 24));
        assert!(d.is_complete());
    }
}
