//! Capture sources: offline capture files, read packet by packet in file order.
//!
//! - [`open`] (module [`pcap_file`]) is the pure-Rust reader: classic pcap (both byte orders, microsecond and
//!   nanosecond timestamps) and pcapng (several sections, several interfaces with their own link type and
//!   timestamp resolution). It is the default and the fast path.
//! - `libpcap::open` (feature `libpcap`) reads through libpcap, for a BPF `--filter` expression.
//!
//! Every source is a [`PacketSource`]: [`PacketSource::for_each`] lends each packet to a callback as a
//! [`RawPacket`] borrowed from the reader's buffer, so nothing is allocated per packet. Errors are
//! [`CaptureError`]s, which name the file and the byte offset of the record or block at fault (DESIGN asks
//! for both), and every packet before the error has already been delivered.

use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use callguard_parsers::link::LinkType;
use callguard_rules::time::PacketTime;

#[cfg(target_os = "linux")]
pub mod af_packet;
#[cfg(feature = "libpcap")]
pub mod libpcap;
pub mod live;
pub mod pcap_file;
#[cfg(target_os = "linux")]
pub mod privileges;

/// One captured packet, borrowed from the reader's buffer for the duration of the callback.
#[derive(Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts: PacketTime,
    /// Link type of the interface the packet was captured on (the LINKTYPE_ number).
    pub link: LinkType,
    /// The captured bytes, `data.len()` being the captured length.
    pub data: &'a [u8],
    /// Length of the packet on the wire; larger than `data.len()` when the capture cut it short.
    pub orig_len: u32,
    /// Byte offset in the file of the packet's record (classic pcap) or block (pcapng).
    pub file_offset: u64,
}

impl fmt::Debug for RawPacket<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPacket")
            .field("ts", &self.ts)
            .field("link", &self.link)
            .field("caplen", &self.data.len())
            .field("orig_len", &self.orig_len)
            .field("file_offset", &self.file_offset)
            .finish()
    }
}

/// A capture file could not be read: which file, where, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind} at byte offset {offset}", file.display())]
pub struct CaptureError {
    /// The capture file.
    pub file: PathBuf,
    /// Byte offset in the file of the header, record or block at fault.
    pub offset: u64,
    /// What went wrong.
    pub kind: CaptureErrorKind,
}

impl CaptureError {
    /// An error in `file` at byte `offset`.
    pub fn new(file: &Path, offset: u64, kind: CaptureErrorKind) -> Self {
        Self {
            file: file.to_path_buf(),
            offset,
            kind,
        }
    }
}

/// Why a capture file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    /// Opening or reading the file failed.
    #[error("read error: {0}")]
    Io(std::io::Error),
    /// The file does not start with a pcap or pcapng magic number.
    #[error("not a pcap or pcapng file (unknown magic number)")]
    NotACapture,
    /// The file ends in the middle of a header, record or block (the offset is where that one starts).
    #[error("truncated: the file ends inside a header, record or block")]
    Truncated,
    /// A length that cannot be, or a malformed block.
    #[error("corrupt capture: {0}")]
    Corrupt(String),
    /// libpcap reported an error (feature `libpcap`).
    #[error("libpcap: {0}")]
    Libpcap(String),
}

/// Totals of one source after reading.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SourceStats {
    /// Packets delivered to the callback.
    pub packets: u64,
    /// Captured bytes of the packets delivered (the sum of `data.len()`).
    pub bytes: u64,
    /// Bytes of the file consumed: headers, records and blocks read so far.
    pub file_bytes: u64,
}

/// A source of captured packets, read in order.
pub trait PacketSource: Send {
    /// The file this source reads, for messages.
    fn name(&self) -> &Path;

    /// The size of the file in bytes, for a progress bar; `None` when it is not a regular file.
    fn total_bytes(&self) -> Option<u64>;

    /// Reads every packet in order, calling `f` for each; `f` returns ControlFlow::Break(()) to stop early.
    /// On error, every packet before the error has already been delivered, and the returned error names the file and byte offset.
    ///
    /// The totals returned count everything read from this source so far. After a `Break`, a later call goes
    /// on with the next packet; after the end of the file it delivers nothing.
    fn for_each(
        &mut self,
        f: &mut dyn FnMut(&RawPacket<'_>) -> ControlFlow<()>,
    ) -> Result<SourceStats, CaptureError>;
}

/// Opens a capture file with the pure-Rust reader (classic pcap or pcapng, detected from the magic number).
///
/// An empty file is [`CaptureErrorKind::Truncated`] at offset 0, as is a file shorter than its header; a file
/// whose first bytes are no known magic number is [`CaptureErrorKind::NotACapture`]. See [`pcap_file`] for
/// the formats and limits.
pub fn open(path: &Path) -> Result<Box<dyn PacketSource>, CaptureError> {
    pcap_file::open(path)
}
