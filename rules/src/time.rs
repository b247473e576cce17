//! Packet time: the only clock in this crate.
//!
//! [`PacketTime`] is the capture timestamp of a packet in nanoseconds since the Unix epoch. Windows, timeouts
//! and rates are all computed from it, never from the wall clock, so that a capture gives the same findings
//! offline, replayed, or live.

use std::fmt;
use std::time::Duration;

/// Nanoseconds since the Unix epoch, as stamped by the capture.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PacketTime(u64);

/// Nanoseconds in a second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

impl PacketTime {
    /// The epoch itself; also "no packet yet".
    pub const ZERO: PacketTime = PacketTime(0);

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(n: u64) -> Self {
        Self(n)
    }

    /// From whole seconds since the epoch.
    pub const fn from_secs(s: u64) -> Self {
        Self(s.saturating_mul(NANOS_PER_SEC))
    }

    /// From seconds and a sub-second part in nanoseconds.
    pub const fn from_parts(secs: u64, nanos: u32) -> Self {
        Self(
            secs.saturating_mul(NANOS_PER_SEC)
                .saturating_add(nanos as u64),
        )
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub const fn secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }

    /// The sub-second part, in nanoseconds.
    pub const fn subsec_nanos(self) -> u32 {
        // The remainder is below 1e9 and fits.
        (self.0 % NANOS_PER_SEC) as u32
    }

    /// `self + d`, saturating.
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: PacketTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The later of two times.
    #[must_use]
    pub fn max(self, other: PacketTime) -> Self {
        if other.0 > self.0 { other } else { self }
    }
}

impl fmt::Debug for PacketTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

/// Counts per whole second over a sliding window of `N` seconds, in packet time. Buckets are recycled as the
/// window slides, so a counter costs `4 * N` bytes whatever the traffic.
#[derive(Debug, Clone)]
pub struct RateWindow<const N: usize> {
    buckets: [u32; N],
    /// The second of the newest bucket.
    head: u64,
}

impl<const N: usize> Default for RateWindow<N> {
    fn default() -> Self {
        Self {
            buckets: [0; N],
            head: 0,
        }
    }
}

impl<const N: usize> RateWindow<N> {
    fn slot(sec: u64) -> usize {
        // N is small; the remainder fits in usize.
        usize::try_from(sec % N as u64).unwrap_or(0)
    }

    fn advance(&mut self, sec: u64) {
        if sec <= self.head {
            return;
        }
        let gap = sec - self.head;
        if gap >= N as u64 {
            self.buckets = [0; N];
        } else {
            for s in self.head + 1..=sec {
                if let Some(b) = self.buckets.get_mut(Self::slot(s)) {
                    *b = 0;
                }
            }
        }
        self.head = sec;
    }

    /// Adds `n` at time `t`. Times older than the window are ignored; a time before the newest is counted in
    /// its own bucket while it is still inside the window.
    pub fn add(&mut self, t: PacketTime, n: u32) {
        let sec = t.secs();
        self.advance(sec);
        if self.head - sec < N as u64
            && let Some(b) = self.buckets.get_mut(Self::slot(sec))
        {
            *b = b.saturating_add(n);
        }
    }

    /// The sum over the last `secs` seconds ending at `now` (at most `N`).
    pub fn sum(&mut self, now: PacketTime, secs: usize) -> u64 {
        self.advance(now.secs());
        let secs = secs.min(N) as u64;
        (0..secs)
            .filter_map(|i| self.head.checked_sub(i))
            .map(|s| u64::from(self.buckets.get(Self::slot(s)).copied().unwrap_or(0)))
            .sum()
    }
}

impl<const N: usize> RateWindow<N> {
    /// Seconds from the oldest non-empty bucket of the last `secs` seconds to `now`, inclusive (at least 1):
    /// the span a rate over the window should be divided by when the activity began inside it.
    pub fn active_secs(&mut self, now: PacketTime, secs: usize) -> u64 {
        self.advance(now.secs());
        let secs = secs.min(N) as u64;
        (0..secs)
            .rev()
            .find(|i| {
                self.head
                    .checked_sub(*i)
                    .is_some_and(|s| self.buckets.get(Self::slot(s)).copied().unwrap_or(0) > 0)
            })
            .map_or(1, |i| i + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_secs_measures_from_the_first_busy_second() {
        let mut w = RateWindow::<10>::default();
        w.add(PacketTime::from_secs(100), 5);
        assert_eq!(w.active_secs(PacketTime::from_secs(100), 10), 1);
        assert_eq!(w.active_secs(PacketTime::from_secs(103), 10), 4);
        assert_eq!(w.active_secs(PacketTime::from_secs(200), 10), 1);
    }

    #[test]
    fn rate_window_slides_and_forgets() {
        let mut w = RateWindow::<10>::default();
        w.add(PacketTime::from_secs(100), 5);
        w.add(PacketTime::from_secs(101), 7);
        assert_eq!(w.sum(PacketTime::from_secs(101), 10), 12);
        assert_eq!(w.sum(PacketTime::from_secs(101), 1), 7);
        assert_eq!(w.sum(PacketTime::from_secs(109), 10), 12);
        assert_eq!(w.sum(PacketTime::from_secs(110), 10), 7);
        assert_eq!(w.sum(PacketTime::from_secs(200), 10), 0);
    }

    #[test]
    fn late_times_inside_the_window_still_count() {
        let mut w = RateWindow::<5>::default();
        w.add(PacketTime::from_secs(10), 1);
        w.add(PacketTime::from_secs(8), 1);
        w.add(PacketTime::from_secs(1), 1);
        assert_eq!(w.sum(PacketTime::from_secs(10), 5), 2);
    }

    #[test]
    fn packet_time_arithmetic_saturates() {
        let t = PacketTime::from_parts(5, 250);
        assert_eq!(t.secs(), 5);
        assert_eq!(t.subsec_nanos(), 250);
        assert_eq!(PacketTime::ZERO.since(t), Duration::ZERO);
        assert_eq!(t.plus(Duration::from_secs(1)).secs(), 6);
        assert_eq!(
            PacketTime::from_nanos(u64::MAX)
                .plus(Duration::from_secs(1))
                .as_nanos(),
            u64::MAX
        );
    }
}
