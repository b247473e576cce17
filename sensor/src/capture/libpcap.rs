//! Capture files read through libpcap (feature `libpcap`), for BPF filter expressions.
//!
//! libpcap reads classic pcap and pcapng (but not a pcapng file whose interfaces have different link types),
//! stamps packets in nanoseconds (`Precision::Nano`) and applies the filter before a packet reaches us. The
//! link type is libpcap's `pcap_datalink()`, a DLT_ number: the same as the LINKTYPE_ number except for a
//! few types such as DLT_RAW (12, or 14 on OpenBSD, for LINKTYPE_RAW 101), which [`LinkType`] knows.
//!
//! # Offsets
//! libpcap does not say where in the file a packet came from, so offsets are worked out where they can be:
//! - classic pcap read **without** a filter: `file_offset` is exact, 24 plus the sum of record header
//!   (16 bytes, 24 in the modified format) and captured length over the records before (it would drift only
//!   on a record longer than the file's snap length, which libpcap cuts);
//! - with a filter, the records libpcap drops are invisible, and for **pcapng** the block layout is never
//!   seen: there `file_offset` is 0, meaning "unknown", and an error reports offset 0 with the number of
//!   packets delivered before it in its message.
//!
//! [`SourceStats::file_bytes`] is exact where offsets are; otherwise it is the file size once the whole file
//! was read, and 0 before.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use callguard_parsers::link::LinkType;
use callguard_rules::time::{NANOS_PER_SEC, PacketTime};
use pcap::{Capture, Offline, Precision};

use super::{CaptureError, CaptureErrorKind, PacketSource, RawPacket, SourceStats};

/// Classic pcap file header length.
const PCAP_HEADER_LEN: u64 = 24;

/// Opens `path` through libpcap, with nanosecond timestamps and, when `filter` is given, that BPF expression
/// (compiled with optimisation). A bad expression is a [`CaptureErrorKind::Libpcap`] error that names it.
pub fn open(path: &Path, filter: Option<&str>) -> Result<Box<dyn PacketSource>, CaptureError> {
    Ok(Box::new(LibpcapFile::open(path, filter)?))
}

/// A capture file read through libpcap. See the [module docs](self).
pub struct LibpcapFile {
    path: PathBuf,
    size: Option<u64>,
    capture: Capture<Offline>,
    link: LinkType,
    /// Record header length, when offsets are exact (classic pcap, no filter).
    exact: Option<u64>,
    /// File offset of the next record when offsets are exact, else 0.
    offset: u64,
    stats: SourceStats,
    done: bool,
}

impl fmt::Debug for LibpcapFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibpcapFile")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("link", &self.link)
            .field("exact_offsets", &self.exact.is_some())
            .field("offset", &self.offset)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl LibpcapFile {
    /// Opens `path` through libpcap; see [`open`].
    pub fn open(path: &Path, filter: Option<&str>) -> Result<Self, CaptureError> {
        let err = |kind| CaptureError::new(path, 0, kind);
        // Read the magic number ourselves: it tells whether offsets can be tracked, and a missing or
        // unreadable file gets a proper io::Error rather than libpcap's text.
        let mut file = File::open(path).map_err(|e| err(CaptureErrorKind::Io(e)))?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let magic = read_magic(&mut file).map_err(|e| err(CaptureErrorKind::Io(e)))?;
        drop(file);
        let record_header = match magic {
            // Classic pcap, microsecond or nanosecond, either byte order.
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xa1, 0xb2, 0x3c, 0x4d] => Some(16),
            // The "modified" format of patched libpcaps, either byte order.
            [0x34, 0xcd, 0xb2, 0xa1] | [0xa1, 0xb2, 0xcd, 0x34] => Some(24),
            _ => None,
        };

        let mut capture = Capture::from_file_with_precision(path, Precision::Nano)
            .map_err(|e| err(CaptureErrorKind::Libpcap(e.to_string())))?;
        if let Some(expr) = filter {
            capture.filter(expr, true).map_err(|e| {
                err(CaptureErrorKind::Libpcap(format!(
                    "bad filter expression {expr:?}: {e}"
                )))
            })?;
        }
        let link = LinkType(capture.get_datalink().0.cast_unsigned());
        let exact = record_header.filter(|_| filter.is_none());
        Ok(Self {
            path: path.to_path_buf(),
            size,
            capture,
            link,
            exact,
            offset: if exact.is_some() { PCAP_HEADER_LEN } else { 0 },
            stats: SourceStats::default(),
            done: false,
        })
    }
}

impl PacketSource for LibpcapFile {
    fn name(&self) -> &Path {
        &self.path
    }

    fn total_bytes(&self) -> Option<u64> {
        self.size
    }

    fn for_each(
        &mut self,
        f: &mut dyn FnMut(&RawPacket<'_>) -> ControlFlow<()>,
    ) -> Result<SourceStats, CaptureError> {
        let Self {
            path,
            size,
            capture,
            link,
            exact,
            offset,
            stats,
            done,
        } = self;
        while !*done {
            match capture.next_packet() {
                Ok(packet) => {
                    let header = packet.header;
                    let secs = u64::try_from(header.ts.tv_sec).unwrap_or(0);
                    // With Precision::Nano, tv_usec holds nanoseconds.
                    let nanos = u64::try_from(header.ts.tv_usec).unwrap_or(0);
                    let raw = RawPacket {
                        ts: PacketTime::from_nanos(
                            secs.saturating_mul(NANOS_PER_SEC).saturating_add(nanos),
                        ),
                        link: *link,
                        data: packet.data,
                        orig_len: header.len,
                        file_offset: *offset,
                    };
                    stats.packets += 1;
                    stats.bytes += packet.data.len() as u64;
                    let flow = f(&raw);
                    if let Some(record_header) = exact {
                        *offset += *record_header + u64::from(header.caplen);
                        stats.file_bytes = *offset;
                    }
                    if flow.is_break() {
                        break;
                    }
                }
                Err(pcap::Error::NoMorePackets) => {
                    *done = true;
                    if exact.is_none() {
                        stats.file_bytes = size.unwrap_or(0);
                    }
                }
                Err(e) => {
                    let msg = format!("after {} packet(s): {e}", stats.packets);
                    return Err(CaptureError::new(
                        path,
                        *offset,
                        CaptureErrorKind::Libpcap(msg),
                    ));
                }
            }
        }
        Ok(*stats)
    }
}

/// The first four bytes of the file, or fewer if it is shorter.
fn read_magic(file: &mut File) -> io::Result<[u8; 4]> {
    let mut magic = [0u8; 4];
    let mut filled = 0;
    while let Some(space) = magic.get_mut(filled..).filter(|s| !s.is_empty()) {
        match file.read(space) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(magic)
}

/// A live capture through libpcap (`callguard live --libpcap`), for BPF filters and platforms without
/// AF_PACKET. Timestamps are asked in nanoseconds; the capture uses a 100 ms read timeout so that
/// [`crate::capture::live::LiveSource::poll`] returns on time on a quiet link.
pub struct LibpcapLive {
    name: String,
    capture: Capture<pcap::Active>,
    link: LinkType,
}

impl fmt::Debug for LibpcapLive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibpcapLive")
            .field("name", &self.name)
            .field("link", &self.link)
            .finish()
    }
}

/// Packets one [`LibpcapLive`] poll hands out at most before it returns (the dispatcher gets control back).
const LIVE_POLL_BUDGET: usize = 4096;
/// How long a [`LibpcapLive`] poll naps when nothing is ready (the non-blocking handle has no wait of its own).
const LIVE_IDLE_NAP: std::time::Duration = std::time::Duration::from_millis(1);

/// Opens `iface` for live capture through libpcap, with an optional BPF `filter`.
pub fn open_live(iface: &str, filter: Option<&str>, promiscuous: bool) -> io::Result<LibpcapLive> {
    let err = |step: &str, e: pcap::Error| io::Error::other(format!("{iface}: {step}: {e}"));
    let inactive = Capture::from_device(iface).map_err(|e| err("libpcap device", e))?;
    let mut capture = inactive
        .promisc(promiscuous)
        .snaplen(262_144)
        .timeout(100)
        .immediate_mode(false)
        .precision(Precision::Nano)
        .buffer_size(64 << 20)
        .open()
        .map_err(|e| err("libpcap open", e))?
        // Non-blocking: a blocking read may outlast its timeout on a quiet link (TPACKET_V3 block timeouts),
        // and `poll` must return on time so that SIGINT and flushes are honoured.
        .setnonblock()
        .map_err(|e| err("libpcap non-blocking mode", e))?;
    if let Some(f) = filter {
        capture
            .filter(f, true)
            .map_err(|e| io::Error::other(format!("bad filter expression \"{f}\": {e}")))?;
    }
    let link = LinkType(u32::try_from(capture.get_datalink().0).unwrap_or(u32::MAX));
    Ok(LibpcapLive {
        name: iface.to_owned(),
        capture,
        link,
    })
}

impl crate::capture::live::LiveSource for LibpcapLive {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(
        &mut self,
        timeout: std::time::Duration,
        f: &mut dyn FnMut(&RawPacket<'_>),
    ) -> io::Result<usize> {
        let start = std::time::Instant::now();
        let mut n = 0;
        while n < LIVE_POLL_BUDGET {
            match self.capture.next_packet() {
                Ok(p) => {
                    let secs = u64::try_from(p.header.ts.tv_sec).unwrap_or(0);
                    // With nanosecond precision the field carries nanoseconds.
                    let frac = u64::try_from(p.header.ts.tv_usec).unwrap_or(0) % NANOS_PER_SEC;
                    let ts = PacketTime::from_nanos(secs.saturating_mul(NANOS_PER_SEC) + frac);
                    f(&RawPacket {
                        ts,
                        link: self.link,
                        data: p.data,
                        orig_len: p.header.len,
                        file_offset: 0,
                    });
                    n += 1;
                }
                Err(pcap::Error::TimeoutExpired) => {
                    // Nothing ready: return what we have, or wait a little within the timeout.
                    if n > 0 || start.elapsed() >= timeout {
                        break;
                    }
                    std::thread::sleep(LIVE_IDLE_NAP.min(timeout));
                }
                Err(e) => return Err(io::Error::other(format!("{}: {e}", self.name))),
            }
        }
        Ok(n)
    }

    fn kernel_stats(&mut self) -> io::Result<crate::capture::live::KernelStats> {
        let s = self
            .capture
            .stats()
            .map_err(|e| io::Error::other(format!("{}: {e}", self.name)))?;
        Ok(crate::capture::live::KernelStats {
            packets: u64::from(s.received),
            drops: u64::from(s.dropped) + u64::from(s.if_dropped),
            freezes: 0,
        })
    }
}
