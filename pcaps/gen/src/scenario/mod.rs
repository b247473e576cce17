//! The scenarios: each a function of a seed that returns time-sorted frames (or, for [`bench()`](bench::bench), streams
//! them). Every scenario starts at [`START_NANOS`] (2026-01-15T10:00:00Z); the module of each scenario
//! documents its hosts, times and rates as `pub const`s, so tests in other crates can assert on them.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::packet::{Mac, host_mac};
use crate::pcap::Frame;

pub mod arp_benign;
pub mod arp_spoof;
pub mod bench;
pub mod bruteforce_distributed;
pub mod busy_trunk;
pub mod calls_udp;
pub mod demo;
pub mod flood_distributed;
pub mod linktypes;
pub mod syn_flood;
pub mod tcp_benign;

pub(crate) mod common;

/// Nanoseconds per second.
pub const SEC: u64 = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const MS: u64 = 1_000_000;
/// Nanoseconds per microsecond.
pub const US: u64 = 1_000;

/// 2026-01-15T10:00:00Z, where every scenario starts, in seconds since the epoch.
pub const START_SECS: u64 = 1_768_471_200;
/// [`START_SECS`] in nanoseconds.
pub const START_NANOS: u64 = START_SECS * SEC;

/// `secs` seconds after [`START_NANOS`].
pub const fn at_secs(secs: u64) -> u64 {
    START_NANOS + secs * SEC
}

/// `millis` milliseconds after [`START_NANOS`].
pub const fn at_millis(millis: u64) -> u64 {
    START_NANOS + millis * MS
}

/// A simulated IPv4 host: its one MAC and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Host {
    /// The host's MAC.
    pub mac: Mac,
    /// The host's IPv4 address.
    pub ip: Ipv4Addr,
}

impl Host {
    /// A host with `mac` and `ip`.
    pub const fn new(mac: Mac, ip: Ipv4Addr) -> Self {
        Self { mac, ip }
    }

    /// The host `a.b.c.d` with MAC `02:00:00:00:00:dd` (the convention of every scenario).
    pub const fn v4(a: u8, b: u8, c: u8, d: u8) -> Self {
        Self {
            mac: host_mac(d),
            ip: Ipv4Addr::new(a, b, c, d),
        }
    }

    /// The socket address `ip:port`.
    pub fn sock(&self, port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, port))
    }
}

/// Sorts frames by time; the sort is stable, so frames with equal stamps keep the order they were made in.
pub(crate) fn sorted(mut frames: Vec<Frame>) -> Vec<Frame> {
    frames.sort_by_key(|f| f.ts_nanos);
    frames
}

#[cfg(test)]
mod tests;
