//! [`BoundedMap`]: the one kind of state table in callguard. Every table has a cap on entries, an idle timeout
//! in packet time, and counters of what it had to drop.
//!
//! When a table is full, the least recently seen eighth of it is evicted in one pass (a selection over the
//! entries' last-seen times, amortised O(1) per insert), so a flood of new keys costs a known amount of memory
//! and never a scan per packet. Ties on last-seen time are broken by insertion order, which makes eviction
//! deterministic whatever the hasher's seed. Idle entries are swept at most four times per timeout.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use foldhash::fast::RandomState;

use crate::time::PacketTime;

#[derive(Debug, Clone)]
struct Slot<V> {
    value: V,
    last_seen: PacketTime,
    order: u64,
}

/// A hash map with a cap, an idle timeout in packet time and eviction counters.
///
/// Keys come from packets and are attacker-controlled, so the hasher is foldhash with a random seed; nothing
/// that reaches an output depends on iteration order (callers sort what they report).
#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, Slot<V>, RandomState>,
    cap: usize,
    idle: Duration,
    next_order: u64,
    next_sweep: PacketTime,
    evicted: u64,
    expired: u64,
}

/// The sizes and counters of one table, for metrics and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableStats {
    /// Entries now.
    pub len: usize,
    /// The cap.
    pub cap: usize,
    /// Entries dropped because the table was full.
    pub evicted: u64,
    /// Entries dropped because they were idle longer than the timeout.
    pub expired: u64,
}

impl TableStats {
    /// Adds another table's figures (for per-worker tables reported as one).
    pub fn merge(&mut self, o: &TableStats) {
        self.len += o.len;
        self.cap += o.cap;
        self.evicted += o.evicted;
        self.expired += o.expired;
    }
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// A table of at most `cap` entries (at least 1) whose entries expire `idle` after they were last seen.
    pub fn new(cap: usize, idle: Duration) -> Self {
        Self {
            map: HashMap::with_hasher(RandomState::default()),
            cap: cap.max(1),
            idle,
            next_order: 0,
            next_sweep: PacketTime::ZERO,
            evicted: 0,
            expired: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Figures for metrics.
    pub fn stats(&self) -> TableStats {
        TableStats {
            len: self.map.len(),
            cap: self.cap,
            evicted: self.evicted,
            expired: self.expired,
        }
    }

    /// The entry for `key`, without touching its last-seen time.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|s| &s.value)
    }

    /// The entry for `key`, marked as seen at `now`.
    pub fn get_mut(&mut self, key: &K, now: PacketTime) -> Option<&mut V> {
        self.map.get_mut(key).map(|s| {
            s.last_seen = s.last_seen.max(now);
            &mut s.value
        })
    }

    /// When `key` was last seen.
    pub fn last_seen(&self, key: &K) -> Option<PacketTime> {
        self.map.get(key).map(|s| s.last_seen)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key).map(|s| s.value)
    }

    /// The entry for `key`, created with `make` when absent (evicting first when full), marked as seen at `now`.
    pub fn get_or_insert_with(
        &mut self,
        key: K,
        now: PacketTime,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        // One hash lookup in the common case: make room only when full and the key is new.
        if self.map.len() >= self.cap && !self.map.contains_key(&key) {
            self.make_room(now);
        }
        let next = &mut self.next_order;
        let slot = self.map.entry(key).or_insert_with(|| {
            let order = *next;
            *next += 1;
            Slot {
                value: make(),
                last_seen: now,
                order,
            }
        });
        slot.last_seen = slot.last_seen.max(now);
        &mut slot.value
    }

    /// Inserts or replaces `key`, marked as seen at `now`.
    pub fn insert(&mut self, key: K, value: V, now: PacketTime) {
        if let Some(s) = self.map.get_mut(&key) {
            s.value = value;
            s.last_seen = s.last_seen.max(now);
            return;
        }
        self.make_room(now);
        let order = self.next_order;
        self.next_order += 1;
        self.map.insert(
            key,
            Slot {
                value,
                last_seen: now,
                order,
            },
        );
    }

    fn make_room(&mut self, now: PacketTime) {
        if self.map.len() < self.cap {
            return;
        }
        self.expire(now);
        if self.map.len() < self.cap {
            return;
        }
        let limit = self.eviction_limit();
        let before = self.map.len();
        self.map.retain(|_, s| (s.last_seen, s.order) > limit);
        self.evicted += (before - self.map.len()) as u64;
    }

    /// The age of the youngest entry in the least recently seen eighth (at least one), found in one
    /// selection pass: entries at or below it go when the table is full.
    fn eviction_limit(&self) -> (PacketTime, u64) {
        let n = (self.cap / 8).max(1);
        let mut ages: Vec<(PacketTime, u64)> =
            self.map.values().map(|s| (s.last_seen, s.order)).collect();
        let cut = n.min(ages.len()).saturating_sub(1);
        ages.select_nth_unstable(cut);
        ages.get(cut).copied().unwrap_or((PacketTime::ZERO, 0))
    }

    /// When the table is full, evicts the least recently seen eighth (at least one) as an insert would,
    /// and hands each entry to `f` in no particular order (for state that must report on its way out; sort
    /// before reporting). Call it before inserting a new key. Unlike an insert, it does not drop idle entries
    /// first: the caller sweeps those with [`BoundedMap::expire_with`].
    pub fn evict_with(&mut self, mut f: impl FnMut(K, V)) {
        if self.map.len() < self.cap {
            return;
        }
        let limit = self.eviction_limit();
        let old: Vec<K> = self
            .map
            .iter()
            .filter(|(_, s)| (s.last_seen, s.order) <= limit)
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            if let Some(s) = self.map.remove(&k) {
                self.evicted += 1;
                f(k, s.value);
            }
        }
    }

    /// Drops the entries idle for longer than the timeout. Cheap to call often: it sweeps at most four times
    /// per timeout period.
    pub fn expire(&mut self, now: PacketTime) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now.plus(self.idle / 4);
        self.expire_now(now);
    }

    /// Drops every entry idle for longer than the timeout, now.
    pub fn expire_now(&mut self, now: PacketTime) {
        let idle = self.idle;
        let before = self.map.len();
        self.map.retain(|_, s| now.since(s.last_seen) <= idle);
        self.expired += (before - self.map.len()) as u64;
    }

    /// Drops every entry idle for longer than the timeout and hands each to `f` (for state that must report
    /// on its way out).
    pub fn expire_with(&mut self, now: PacketTime, mut f: impl FnMut(K, V)) {
        let idle = self.idle;
        let old: Vec<K> = self
            .map
            .iter()
            .filter(|(_, s)| now.since(s.last_seen) > idle)
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            if let Some(s) = self.map.remove(&k) {
                self.expired += 1;
                f(k, s.value);
            }
        }
    }

    /// Iterates over the entries in no particular order (sort before reporting).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, s)| (k, &s.value))
    }

    /// Iterates mutably over the entries in no particular order (sort before reporting), without marking
    /// them as seen.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut().map(|(k, s)| (k, &mut s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> PacketTime {
        PacketTime::from_secs(s)
    }

    #[test]
    fn full_table_evicts_the_least_recently_seen() {
        let mut m = BoundedMap::new(16, Duration::from_secs(3600));
        for i in 0..16u32 {
            m.get_or_insert_with(i, t(u64::from(i)), || i);
        }
        m.get_mut(&0, t(100));
        m.get_or_insert_with(99, t(101), || 99);
        assert_eq!(m.stats().evicted, 2);
        assert!(m.get(&0).is_some(), "recently touched entry survives");
        assert!(m.get(&1).is_none() && m.get(&2).is_none());
        assert!(m.len() <= 16);
    }

    #[test]
    fn a_flood_of_new_keys_stays_under_the_cap() {
        let mut m = BoundedMap::new(1000, Duration::from_secs(60));
        for i in 0..100_000u32 {
            m.get_or_insert_with(i, t(1), || ());
            assert!(m.len() <= 1000);
        }
        assert_eq!(m.stats().evicted, 100_000 - m.len() as u64);
    }

    #[test]
    fn idle_entries_expire_in_packet_time() {
        let mut m = BoundedMap::new(10, Duration::from_secs(30));
        m.get_or_insert_with("a", t(0), || 1);
        m.get_or_insert_with("b", t(20), || 2);
        m.expire_now(t(40));
        assert!(m.get(&"a").is_none());
        assert!(m.get(&"b").is_some());
        assert_eq!(m.stats().expired, 1);
        let mut out = vec![];
        m.expire_with(t(100), |k, v| out.push((k, v)));
        assert_eq!(out, vec![("b", 2)]);
    }

    #[test]
    fn eviction_ties_break_by_insertion_order() {
        let mut m = BoundedMap::new(8, Duration::from_secs(60));
        for i in 0..9u32 {
            m.get_or_insert_with(i, t(5), || i);
        }
        assert!(m.get(&0).is_none());
        assert!((1..9).all(|i| m.get(&i).is_some()));
    }

    #[test]
    fn evict_with_hands_over_the_least_recently_seen_eighth() {
        let mut m = BoundedMap::new(16, Duration::from_secs(3600));
        for i in 0..16u32 {
            m.get_or_insert_with(i, t(u64::from(i)), || i);
        }
        m.get_mut(&0, t(100));
        let mut out = vec![];
        m.evict_with(|k, v| out.push((k, v)));
        out.sort_unstable();
        assert_eq!(out, vec![(1, 1), (2, 2)]);
        assert_eq!(m.stats().evicted, 2);
        assert_eq!(m.len(), 14);
        // Not full: nothing goes.
        m.evict_with(|_, _| panic!("not full"));
    }

    #[test]
    fn insert_replaces() {
        let mut m = BoundedMap::new(8, Duration::from_secs(60));
        m.insert(1, "a", t(1));
        m.insert(1, "b", t(2));
        assert_eq!(m.get(&1), Some(&"b"));
    }
}
