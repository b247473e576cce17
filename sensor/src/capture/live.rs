//! Live sources: what `callguard live` reads from. AF_PACKET rings (Linux, `af_packet`) and libpcap (with the
//! `libpcap` feature) implement [`LiveSource`]; so does [`MemorySource`], which tests use to drive the live
//! pipeline without a network.

use std::io;
use std::time::Duration;

use callguard_parsers::link::LinkType;
use callguard_rules::time::PacketTime;

use crate::capture::RawPacket;

/// Counters the kernel keeps for a capture socket (cumulative since it was opened; for AF_PACKET,
/// `PACKET_STATISTICS` with `struct tpacket_stats_v3`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the kernel handed to the socket, including the ones it then dropped.
    pub packets: u64,
    /// Packets dropped because the ring was full (or memory ran out).
    pub drops: u64,
    /// Times an AF_PACKET ring froze: every block was owned by user space and the kernel had to wait for one
    /// (0 for other sources).
    pub freezes: u64,
}

/// A source of packets that arrive in real time.
pub trait LiveSource: Send {
    /// A name for messages (the interface).
    fn name(&self) -> &str;

    /// Waits at most `timeout` for packets and hands every one that is ready to `f`; returns how many.
    fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&RawPacket<'_>)) -> io::Result<usize>;

    /// The kernel's counters for this source, cumulative.
    fn kernel_stats(&mut self) -> io::Result<KernelStats>;

    /// The source's present time, as packet time: what a quiet link has reached. For a capture socket it is
    /// the wall clock (the kernel stamps packets with it); a replay answers with its own clock.
    fn now(&self) -> PacketTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        PacketTime::from_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// Packets held in memory, handed out as if they arrived live: each poll delivers up to `per_poll` of them
/// with their own timestamps, then reports an empty ring. For tests of the live pipeline.
#[derive(Debug)]
pub struct MemorySource {
    name: String,
    frames: Vec<(PacketTime, LinkType, Vec<u8>)>,
    next: usize,
    per_poll: usize,
    pause: Duration,
}

impl MemorySource {
    /// A source that hands out `frames` in order, `per_poll` at a time.
    pub fn new(name: &str, frames: Vec<(PacketTime, LinkType, Vec<u8>)>, per_poll: usize) -> Self {
        Self {
            name: name.to_owned(),
            frames,
            next: 0,
            per_poll: per_poll.max(1),
            pause: Duration::ZERO,
        }
    }

    /// Sleeps `pause` after each poll that delivered packets: at most `per_poll / pause` packets per second,
    /// like a replay at a fixed rate (live mode drops what the workers cannot take, as it should).
    #[must_use]
    pub fn with_pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Whether every frame was handed out.
    pub fn done(&self) -> bool {
        self.next >= self.frames.len()
    }
}

impl LiveSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&RawPacket<'_>)) -> io::Result<usize> {
        let end = (self.next + self.per_poll).min(self.frames.len());
        let mut n = 0;
        for (ts, link, data) in self.frames.get(self.next..end).unwrap_or(&[]) {
            let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
            f(&RawPacket {
                ts: *ts,
                link: *link,
                data,
                orig_len,
                file_offset: 0,
            });
            n += 1;
        }
        self.next = end;
        if n == 0 {
            std::thread::sleep(timeout.min(Duration::from_millis(5)));
        } else if !self.pause.is_zero() {
            std::thread::sleep(self.pause);
        }
        Ok(n)
    }

    fn kernel_stats(&mut self) -> io::Result<KernelStats> {
        Ok(KernelStats {
            packets: self.next as u64,
            drops: 0,
            freezes: 0,
        })
    }

    /// The time of the last frame handed out: a replay's clock never runs ahead of its packets.
    fn now(&self) -> PacketTime {
        self.next
            .checked_sub(1)
            .and_then(|i| self.frames.get(i))
            .map_or(PacketTime::ZERO, |(ts, _, _)| *ts)
    }
}

#[cfg(target_os = "linux")]
impl LiveSource for crate::capture::af_packet::AfPacket {
    fn name(&self) -> &str {
        self.iface()
    }

    fn poll(&mut self, timeout: Duration, f: &mut dyn FnMut(&RawPacket<'_>)) -> io::Result<usize> {
        crate::capture::af_packet::AfPacket::poll(self, timeout, f)
    }

    fn kernel_stats(&mut self) -> io::Result<KernelStats> {
        self.stats()
    }
}
