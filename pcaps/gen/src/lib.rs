//! `callguard-gen`: the deterministic generator of the synthetic captures in `pcaps/` and of the benchmark
//! capture.
//!
//! **Contract.** Every output is a pure function of its seed: the same seed gives byte-identical frames and
//! files on every platform (the PRNG is an in-crate SplitMix64, [`Rng`]; nothing reads a clock, the
//! environment or a hash map's iteration order). Every scenario starts at [`START_NANOS`]
//! (2026-01-15T10:00:00Z) and returns its frames sorted by time. Frames carry correct lengths and
//! checksums; Ethernet frames are padded to 60 bytes as a receiving NIC would deliver them.
//!
//! **Layers.**
//! - [`packet`]: frame builders for tests in other crates ([`udp_frame`], [`tcp_frame`], [`arp_frame`],
//!   [`ipv4_fragments`], [`vlan_udp_frame`], [`sll_frame`], [`sll2_frame`], [`raw_ip`], ...).
//! - [`pcap`]: [`PcapWriter`] (classic, little-endian, µs or ns) and [`PcapNgWriter`].
//! - [`sip`] and [`rtp`]: message text and RTP streams.
//! - [`scenario`]: one module per capture, each documenting the addresses, times and rates it uses as
//!   `pub const`s so that tests can assert on them.
//!
//! **Usage.**
//! ```
//! let frames = callguard_gen::calls_udp(1);
//! assert_eq!(frames, callguard_gen::calls_udp(1));
//! assert!(frames.windows(2).all(|w| w[0].ts_nanos <= w[1].ts_nanos));
//! let mut file = Vec::new();
//! let mut w = callguard_gen::PcapWriter::new(&mut file, callguard_gen::LINKTYPE_ETHERNET, false)?;
//! for f in &frames {
//!     w.write(f)?;
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod packet;
pub mod pcap;
pub mod rng;
pub mod rtp;
pub mod scenario;
pub mod sip;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

pub use packet::{
    ACK, FIN, Mac, PSH, RST, SYN, arp_frame, host_mac, ipv4_fragments, raw_ip, sll_frame,
    sll2_frame, tcp_frame, udp_frame, vlan_udp_frame,
};
pub use pcap::{
    Frame, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, PcapNgWriter,
    PcapWriter, write_pcap, write_pcap_as,
};
pub use rng::Rng;
pub use scenario::arp_benign::arp_benign;
pub use scenario::arp_spoof::arp_spoof;
pub use scenario::bench::{Bench, bench};
pub use scenario::bruteforce_distributed::bruteforce_distributed;
pub use scenario::busy_trunk::{busy_trunk, busy_trunk_with_peak};
pub use scenario::calls_udp::calls_udp;
pub use scenario::demo::demo;
pub use scenario::flood_distributed::flood_distributed;
pub use scenario::linktypes::{LinkTypes, linktypes};
pub use scenario::syn_flood::syn_flood;
pub use scenario::tcp_benign::tcp_benign;
pub use scenario::{Host, START_NANOS};

/// The seed the committed captures are made with.
pub const DEFAULT_SEED: u64 = 1;

/// Names of the captures `callguard-gen all` writes, each to `NAME.pcap` (`linktypes-multi` to
/// `linktypes-multi.pcapng`).
pub const CAPTURES: &[&str] = &[
    "demo",
    "calls-udp",
    "arp-benign",
    "arp-spoof",
    "syn-flood",
    "tcp-benign",
    "bruteforce-distributed",
    "flood-distributed",
    "linktypes-vlan",
    "linktypes-qinq",
    "linktypes-sll",
    "linktypes-sll2",
    "linktypes-raw",
    "linktypes-multi",
];

/// Captures that are not committed but made by the tests when they run (the golden tests write them to a
/// scratch directory and check them like the shipped ones): too large for git for what they show, and the
/// generator makes them in well under a second. `callguard-gen one NAME --out FILE` writes one to look at.
pub const GENERATED: &[&str] = &["busy-trunk"];

/// The file name of capture `name` (see [`CAPTURES`]).
pub fn file_name(name: &str) -> String {
    if name == "linktypes-multi" {
        format!("{name}.pcapng")
    } else {
        format!("{name}.pcap")
    }
}

/// Writes capture `name` (one of [`CAPTURES`] or [`GENERATED`]) made with `seed` to `path`.
pub fn write_capture(name: &str, seed: u64, path: &Path) -> anyhow::Result<()> {
    create_parent(path)?;
    let ethernet = |frames: Vec<Frame>| write_pcap(path, &frames);
    match name {
        "demo" => ethernet(demo(seed)),
        "calls-udp" => ethernet(calls_udp(seed)),
        "arp-benign" => ethernet(arp_benign(seed)),
        "arp-spoof" => ethernet(arp_spoof(seed)),
        "syn-flood" => ethernet(syn_flood(seed)),
        "tcp-benign" => ethernet(tcp_benign(seed)),
        "busy-trunk" => ethernet(busy_trunk(seed)),
        "bruteforce-distributed" => ethernet(bruteforce_distributed(seed)),
        "flood-distributed" => ethernet(flood_distributed(seed)),
        "linktypes-vlan" => write_pcap_as(path, LINKTYPE_ETHERNET, false, &linktypes(seed).vlan),
        "linktypes-qinq" => write_pcap_as(path, LINKTYPE_ETHERNET, false, &linktypes(seed).qinq),
        "linktypes-sll" => write_pcap_as(path, LINKTYPE_LINUX_SLL, false, &linktypes(seed).sll),
        "linktypes-sll2" => write_pcap_as(path, LINKTYPE_LINUX_SLL2, true, &linktypes(seed).sll2),
        "linktypes-raw" => write_pcap_as(path, LINKTYPE_RAW, true, &linktypes(seed).raw),
        "linktypes-multi" => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut w = PcapNgWriter::new(BufWriter::new(file))?;
            let eth = w.add_interface(LINKTYPE_ETHERNET, 6)?;
            let sll = w.add_interface(LINKTYPE_LINUX_SLL, 9)?;
            for (iface, f) in linktypes(seed).multi {
                w.write(if iface == 0 { eth } else { sll }, &f)?;
            }
            w.into_inner()?;
            Ok(())
        }
        other => bail!(
            "unknown capture {other:?}; known: {}, {}",
            CAPTURES.join(", "),
            GENERATED.join(", ")
        ),
    }
}

/// Creates the directory `path` goes in, when it has one.
fn create_parent(path: &Path) -> anyhow::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Writes every capture of [`CAPTURES`] into `dir` and returns the paths written.
pub fn write_all(dir: &Path, seed: u64) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    CAPTURES
        .iter()
        .map(|name| {
            let path = dir.join(file_name(name));
            write_capture(name, seed, &path)?;
            Ok(path)
        })
        .collect()
}

/// Streams `packets` frames of [`bench()`] into an Ethernet pcap (microseconds) at `path`; returns the
/// number of bytes of frame data written.
pub fn write_bench(path: &Path, seed: u64, packets: usize) -> anyhow::Result<u64> {
    create_parent(path)?;
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = PcapWriter::new(BufWriter::new(file), LINKTYPE_ETHERNET, false)?;
    let mut bytes = 0u64;
    for f in bench(seed, packets) {
        w.write(&f)
            .with_context(|| format!("writing {}", path.display()))?;
        bytes += f.data.len() as u64;
    }
    w.into_inner()?;
    Ok(bytes)
}
