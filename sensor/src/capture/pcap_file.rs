//! The pure-Rust capture file reader: classic pcap and pcapng.
//!
//! # Formats
//! - **Classic pcap** (<https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/>): magic `0xa1b2c3d4`
//!   (microseconds) or `0xa1b23c4d` (nanoseconds), written in either byte order, and the little-endian
//!   "modified" format of patched libpcaps (`0xa1b2cd34`, 24-byte record headers). The link type is the
//!   file header's LinkType field without its FCS bits (libpcap's `LT_LINKTYPE`). `thiszone` is ignored,
//!   as libpcap does.
//! - **pcapng** (<https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/>): any number of sections,
//!   each with its own byte order and interface list. Enhanced Packet Blocks take the link type, timestamp
//!   resolution (`if_tsresol`, default 10^-6, a power of 2 when its high bit is set) and offset
//!   (`if_tsoffset`, seconds) of the interface they name; Simple Packet Blocks belong to interface 0 and
//!   carry no timestamp, so they get the previous packet's; obsolete Packet Blocks (type 2) are read as
//!   EPBs. Every other block (name resolution, statistics, custom, decryption secrets, unknown) is
//!   skipped by its length without being parsed.
//!
//! # Reading
//! pcap-parser parses the classic file header, Section Header Blocks and Interface Description Blocks.
//! Records and packet blocks are framed and decoded here, straight from a [`BUFFER_SIZE`] buffer that
//! grows only when one block is larger than it (up to [`MAX_BLOCK_LEN`]), so a packet costs no allocation
//! and no copy. pcap-parser's streaming `PcapReaderIterator` is not used: its `ReadError` drops the
//! `io::Error`, and at the end of the file it cannot tell a truncated block from a block whose inner
//! lengths are inconsistent, which must be `Corrupt`.
//!
//! # Errors
//! Every error carries the byte offset where the header, record or block at fault starts:
//! - an empty file, or one that ends inside a header, record or block: [`CaptureErrorKind::Truncated`];
//! - a file whose first four bytes are no known magic number: [`CaptureErrorKind::NotACapture`] at 0;
//! - a block length under 12, not a multiple of 4, over [`MAX_BLOCK_LEN`], or different in the trailer;
//!   a captured length beyond its block; a bad byte-order magic; an unsupported pcapng major version or
//!   `if_tsresol`; a packet block naming an interface the section does not have; a header or IDB that
//!   pcap-parser rejects: [`CaptureErrorKind::Corrupt`].
//!
//! Lengths are checked before anything is sliced, so no input makes the reader panic.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use callguard_parsers::link::LinkType;
use callguard_rules::time::{NANOS_PER_SEC, PacketTime};
use pcap_parser::nom;
use pcap_parser::pcapng::{
    OptionCode, parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le,
    parse_sectionheaderblock,
};
use pcap_parser::{PcapError, parse_pcap_header};

use super::{CaptureError, CaptureErrorKind, PacketSource, RawPacket, SourceStats};

/// Initial size of the read buffer.
pub const BUFFER_SIZE: usize = 1 << 20;

/// The largest record or block accepted, in bytes, headers included. libpcap's own limit on a packet is
/// 256 KiB; this leaves room for jumbo captures and large non-packet blocks while keeping a corrupt length
/// from making the reader allocate gigabytes.
pub const MAX_BLOCK_LEN: usize = 256 << 20;

/// Classic pcap magic numbers as they appear in the file's first four bytes.
const PCAP_LE_USEC: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];
const PCAP_LE_NSEC: [u8; 4] = [0x4d, 0x3c, 0xb2, 0xa1];
const PCAP_BE_USEC: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
const PCAP_BE_NSEC: [u8; 4] = [0xa1, 0xb2, 0x3c, 0x4d];
const PCAP_LE_MODIFIED: [u8; 4] = [0x34, 0xcd, 0xb2, 0xa1];
/// pcapng Section Header Block type; a palindrome, so the same in both byte orders.
const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const MAGICS: [[u8; 4]; 6] = [
    PCAP_LE_USEC,
    PCAP_LE_NSEC,
    PCAP_BE_USEC,
    PCAP_BE_NSEC,
    PCAP_LE_MODIFIED,
    PCAPNG_SHB,
];

/// pcapng Byte-Order Magic, as read little-endian from a little-endian section.
const BOM_LE: u32 = 0x1a2b_3c4d;
/// The same, as read little-endian from a big-endian section.
const BOM_SWAPPED: u32 = 0x4d3c_2b1a;

/// pcapng block types.
const BT_SHB: u32 = 0x0a0d_0d0a;
const BT_IDB: u32 = 0x0000_0001;
const BT_PB: u32 = 0x0000_0002;
const BT_SPB: u32 = 0x0000_0003;
const BT_EPB: u32 = 0x0000_0006;

/// Classic pcap file header length.
const PCAP_HEADER_LEN: usize = 24;
/// Smallest pcapng block: type, length, trailer length.
const MIN_BLOCK_LEN: usize = 12;

/// LT_LINKTYPE in libpcap: the LinkType field without the FCS length and its flag.
const LINKTYPE_MASK: u32 = 0x03ff_ffff;

/// Opens a capture file with the pure-Rust reader (classic pcap or pcapng, detected from the magic number).
pub fn open(path: &Path) -> Result<Box<dyn PacketSource>, CaptureError> {
    Ok(Box::new(PcapFile::open(path)?))
}

/// A classic pcap or pcapng file, read through a growing buffer. See the [module docs](self).
pub struct PcapFile {
    path: PathBuf,
    size: Option<u64>,
    input: Input,
    format: Format,
    stats: SourceStats,
}

impl fmt::Debug for PcapFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapFile")
            .field("path", &self.path)
            .field("size", &self.size)
            .field("offset", &self.input.offset)
            .field("format", &self.format)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl PcapFile {
    /// Opens `path`, reads its magic number and, for classic pcap, its file header.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let err = |offset, kind| CaptureError::new(path, offset, kind);
        let file = File::open(path).map_err(|e| err(0, CaptureErrorKind::Io(e)))?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let mut input = Input::new(file);

        if !input.fill(4).map_err(|e| err(0, CaptureErrorKind::Io(e)))? {
            // Fewer than four bytes: a cut magic number is truncated, anything else is not a capture.
            let head = input.available();
            let kind = if MAGICS.iter().any(|m| m.starts_with(head)) {
                CaptureErrorKind::Truncated
            } else {
                CaptureErrorKind::NotACapture
            };
            return Err(err(0, kind));
        }
        let magic = input
            .available()
            .first_chunk::<4>()
            .copied()
            .unwrap_or_default();
        let format = if magic == PCAPNG_SHB {
            Format::Ng(NgState::default())
        } else if MAGICS.contains(&magic) {
            Format::Classic(Classic::read_header(&mut input, path)?)
        } else {
            return Err(err(0, CaptureErrorKind::NotACapture));
        };
        let stats = SourceStats {
            file_bytes: input.offset,
            ..SourceStats::default()
        };
        Ok(Self {
            path: path.to_path_buf(),
            size,
            input,
            format,
            stats,
        })
    }
}

impl PacketSource for PcapFile {
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
            input,
            format,
            stats,
            ..
        } = self;
        let result = match format {
            Format::Classic(classic) => classic.run(input, path, stats, f),
            Format::Ng(ng) => ng.run(input, path, stats, f),
        };
        stats.file_bytes = input.offset;
        result.map(|()| *stats)
    }
}

#[derive(Debug)]
enum Format {
    Classic(Classic),
    Ng(NgState),
}

/// What the buffer holds at the current offset.
enum Step<T> {
    /// A complete record or block of `len` bytes.
    Ready { item: T, len: usize },
    /// At least this many bytes from the current offset are needed (never more than `MAX_BLOCK_LEN`).
    Need(usize),
    /// The record or block at the current offset is malformed.
    Corrupt(String),
}

// ---------------------------------------------------------------------------------------------------------
// Classic pcap

/// State of a classic pcap file: everything comes from the file header.
#[derive(Debug, Clone, Copy)]
struct Classic {
    big_endian: bool,
    /// Multiplier from the fractional timestamp to nanoseconds: 1000 or 1.
    frac_to_nanos: u64,
    /// Record header length: 16, or 24 in the modified format.
    record_header: usize,
    link: LinkType,
}

impl Classic {
    /// Reads and consumes the 24-byte file header; the magic number is known to be a classic one.
    fn read_header(input: &mut Input, path: &Path) -> Result<Self, CaptureError> {
        let err = |kind| CaptureError::new(path, 0, kind);
        if !input
            .fill(PCAP_HEADER_LEN)
            .map_err(|e| err(CaptureErrorKind::Io(e)))?
        {
            return Err(err(CaptureErrorKind::Truncated));
        }
        let header = match parse_pcap_header(input.available()) {
            Ok((_, header)) => header,
            Err(nom::Err::Incomplete(_)) => return Err(err(CaptureErrorKind::Truncated)),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Err(err(CaptureErrorKind::Corrupt(format!(
                    "pcap file header: {}",
                    describe(&e)
                ))));
            }
        };
        let classic = Self {
            big_endian: header.is_bigendian(),
            frac_to_nanos: if header.is_nanosecond_precision() {
                1
            } else {
                1000
            },
            record_header: if header.is_modified_format() { 24 } else { 16 },
            link: LinkType(header.network.0.cast_unsigned() & LINKTYPE_MASK),
        };
        input.consume(PCAP_HEADER_LEN);
        Ok(classic)
    }

    /// Frames the record at the start of `avail`.
    #[inline]
    fn peek<'a>(&self, avail: &'a [u8], offset: u64) -> Step<RawPacket<'a>> {
        let mut fields = Fields {
            rest: avail,
            big_endian: self.big_endian,
        };
        let (Some(ts_sec), Some(ts_frac), Some(caplen), Some(orig_len)) =
            (fields.u32(), fields.u32(), fields.u32(), fields.u32())
        else {
            return Step::Need(self.record_header);
        };
        let caplen = usize_from(caplen);
        if caplen > MAX_BLOCK_LEN - self.record_header {
            return Step::Corrupt(format!(
                "record captured length {caplen} is over the {MAX_BLOCK_LEN}-byte limit"
            ));
        }
        let len = self.record_header + caplen;
        let Some(data) = avail.get(self.record_header..len) else {
            return Step::Need(len);
        };
        let nanos = u64::from(ts_sec) * NANOS_PER_SEC + u64::from(ts_frac) * self.frac_to_nanos;
        let item = RawPacket {
            ts: PacketTime::from_nanos(nanos),
            link: self.link,
            data,
            orig_len,
            file_offset: offset,
        };
        Step::Ready { item, len }
    }

    fn run(
        &self,
        input: &mut Input,
        path: &Path,
        stats: &mut SourceStats,
        f: &mut dyn FnMut(&RawPacket<'_>) -> ControlFlow<()>,
    ) -> Result<(), CaptureError> {
        loop {
            let offset = input.offset;
            match self.peek(input.available(), offset) {
                Step::Ready { item, len } => {
                    stats.packets += 1;
                    stats.bytes += item.data.len() as u64;
                    let flow = f(&item);
                    input.consume(len);
                    if flow.is_break() {
                        return Ok(());
                    }
                }
                Step::Need(need) => {
                    if !input.fill(need).map_err(|e| io_error(path, offset, e))? {
                        return at_end(input, path, offset);
                    }
                }
                Step::Corrupt(msg) => {
                    return Err(CaptureError::new(
                        path,
                        offset,
                        CaptureErrorKind::Corrupt(msg),
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// pcapng

/// State of a pcapng file: the current section's byte order and interfaces.
#[derive(Debug, Default)]
struct NgState {
    big_endian: bool,
    interfaces: Vec<Interface>,
    /// Timestamp of the last packet, for Simple Packet Blocks.
    last_ts: PacketTime,
}

/// A complete pcapng block in the buffer.
struct Block<'a> {
    block_type: u32,
    big_endian: bool,
    /// The whole block, header and trailer included.
    raw: &'a [u8],
    /// The block body: after type and length, before the trailer length.
    body: &'a [u8],
}

impl NgState {
    /// Frames the block at the start of `avail`, in the current section's byte order (or, for a Section
    /// Header Block, in the order its Byte-Order Magic gives).
    fn peek<'a>(&self, avail: &'a [u8]) -> Step<Block<'a>> {
        let Some(head) = avail.first_chunk::<MIN_BLOCK_LEN>() else {
            return Step::Need(MIN_BLOCK_LEN);
        };
        let [t0, t1, t2, t3, l0, l1, l2, l3, b0, b1, b2, b3] = *head;
        let big_endian = if [t0, t1, t2, t3] == PCAPNG_SHB {
            match u32::from_le_bytes([b0, b1, b2, b3]) {
                BOM_LE => false,
                BOM_SWAPPED => true,
                bom => {
                    return Step::Corrupt(format!(
                        "section header block with byte-order magic {bom:#010x}"
                    ));
                }
            }
        } else {
            self.big_endian
        };
        let read = |b: [u8; 4]| {
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let block_type = read([t0, t1, t2, t3]);
        let block_len = read([l0, l1, l2, l3]);
        let len = usize_from(block_len);
        if len < MIN_BLOCK_LEN || !len.is_multiple_of(4) {
            return Step::Corrupt(format!(
                "block type {block_type:#x} has length {block_len}: not a multiple of 4 of at least 12"
            ));
        }
        if len > MAX_BLOCK_LEN {
            return Step::Corrupt(format!(
                "block type {block_type:#x} has length {block_len}, over the {MAX_BLOCK_LEN}-byte limit"
            ));
        }
        let Some(raw) = avail.get(..len) else {
            return Step::Need(len);
        };
        let trailer = raw.last_chunk::<4>().map(|t| read(*t));
        if trailer != Some(block_len) {
            return Step::Corrupt(format!(
                "block type {block_type:#x} has length {block_len} but trailer length {}",
                trailer.unwrap_or_default()
            ));
        }
        let body = raw.get(8..len - 4).unwrap_or_default();
        Step::Ready {
            item: Block {
                block_type,
                big_endian,
                raw,
                body,
            },
            len,
        }
    }

    fn run(
        &mut self,
        input: &mut Input,
        path: &Path,
        stats: &mut SourceStats,
        f: &mut dyn FnMut(&RawPacket<'_>) -> ControlFlow<()>,
    ) -> Result<(), CaptureError> {
        loop {
            let offset = input.offset;
            match self.peek(input.available()) {
                Step::Ready { item, len } => {
                    let flow = self.block(&item, offset, stats, f).map_err(|msg| {
                        CaptureError::new(path, offset, CaptureErrorKind::Corrupt(msg))
                    })?;
                    input.consume(len);
                    if flow.is_break() {
                        return Ok(());
                    }
                }
                Step::Need(need) => {
                    if !input.fill(need).map_err(|e| io_error(path, offset, e))? {
                        return at_end(input, path, offset);
                    }
                }
                Step::Corrupt(msg) => {
                    return Err(CaptureError::new(
                        path,
                        offset,
                        CaptureErrorKind::Corrupt(msg),
                    ));
                }
            }
        }
    }

    /// Handles one complete block: updates the section state, or delivers its packet.
    fn block(
        &mut self,
        block: &Block<'_>,
        offset: u64,
        stats: &mut SourceStats,
        f: &mut dyn FnMut(&RawPacket<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, String> {
        let mut fields = Fields {
            rest: block.body,
            big_endian: block.big_endian,
        };
        let (if_id, ts, data, orig_len) = match block.block_type {
            // The SHB type reads the same in both byte orders.
            BT_SHB => {
                self.section(block)?;
                return Ok(ControlFlow::Continue(()));
            }
            BT_IDB => {
                self.interface(block)?;
                return Ok(ControlFlow::Continue(()));
            }
            BT_EPB => {
                let (Some(if_id), Some(ts_high), Some(ts_low), Some(caplen), Some(orig_len)) = (
                    fields.u32(),
                    fields.u32(),
                    fields.u32(),
                    fields.u32(),
                    fields.u32(),
                ) else {
                    return Err(format!(
                        "enhanced packet block of {} bytes",
                        block.raw.len()
                    ));
                };
                let data = fields.take(usize_from(caplen)).ok_or_else(|| {
                    format!("enhanced packet block captured length {caplen} exceeds the block")
                })?;
                (if_id, Some(ticks(ts_high, ts_low)), data, orig_len)
            }
            BT_PB => {
                let (
                    Some(if_id),
                    Some(_drops),
                    Some(ts_high),
                    Some(ts_low),
                    Some(caplen),
                    Some(orig_len),
                ) = (
                    fields.u16(),
                    fields.u16(),
                    fields.u32(),
                    fields.u32(),
                    fields.u32(),
                    fields.u32(),
                )
                else {
                    return Err(format!("packet block of {} bytes", block.raw.len()));
                };
                let data = fields.take(usize_from(caplen)).ok_or_else(|| {
                    format!("packet block captured length {caplen} exceeds the block")
                })?;
                (
                    u32::from(if_id),
                    Some(ticks(ts_high, ts_low)),
                    data,
                    orig_len,
                )
            }
            BT_SPB => {
                let Some(orig_len) = fields.u32() else {
                    return Err(format!("simple packet block of {} bytes", block.raw.len()));
                };
                // Captured length: the original length, cut by the snap length and the block (padding).
                let snaplen = self.interfaces.first().map_or(0, |i| i.snaplen);
                let mut caplen = usize_from(orig_len).min(fields.rest.len());
                if snaplen != 0 {
                    caplen = caplen.min(usize_from(snaplen));
                }
                (0, None, fields.take(caplen).unwrap_or_default(), orig_len)
            }
            _ => return Ok(ControlFlow::Continue(())),
        };
        let Some(interface) = self.interfaces.get(usize_from(if_id)) else {
            return Err(format!(
                "packet block for interface {if_id}, but the section has {} interface(s)",
                self.interfaces.len()
            ));
        };
        let ts = ts.map_or(self.last_ts, |t| interface.time(t));
        self.last_ts = ts;
        let packet = RawPacket {
            ts,
            link: interface.link,
            data,
            orig_len,
            file_offset: offset,
        };
        stats.packets += 1;
        stats.bytes += data.len() as u64;
        Ok(f(&packet))
    }

    /// A Section Header Block: a new byte order and an empty interface list.
    fn section(&mut self, block: &Block<'_>) -> Result<(), String> {
        let shb = match parse_sectionheaderblock(block.raw) {
            Ok((_, shb)) => shb,
            Err(e) => return Err(format!("section header block: {}", describe_nom(&e))),
        };
        if shb.major_version != 1 {
            return Err(format!(
                "pcapng version {}.{} is not supported",
                shb.major_version, shb.minor_version
            ));
        }
        self.big_endian = block.big_endian;
        self.interfaces.clear();
        Ok(())
    }

    /// An Interface Description Block: one more interface in this section.
    fn interface(&mut self, block: &Block<'_>) -> Result<(), String> {
        let parsed = if block.big_endian {
            parse_interfacedescriptionblock_be(block.raw)
        } else {
            parse_interfacedescriptionblock_le(block.raw)
        };
        let idb = match parsed {
            Ok((_, idb)) => idb,
            Err(e) => return Err(format!("interface description block: {}", describe_nom(&e))),
        };
        let mut tsresol = None;
        let mut tsoffset = None;
        for opt in &idb.options {
            if opt.code == OptionCode::IfTsresol && opt.len == 1 {
                tsresol = tsresol.or_else(|| opt.value().first().copied());
            } else if opt.code == OptionCode::IfTsoffset && opt.len == 8 {
                let value = opt.value().first_chunk::<8>().map(|b| {
                    if block.big_endian {
                        i64::from_be_bytes(*b)
                    } else {
                        i64::from_le_bytes(*b)
                    }
                });
                tsoffset = tsoffset.or(value);
            }
        }
        let tsresol = tsresol.unwrap_or(6);
        let scale = TsScale::new(tsresol).ok_or_else(|| {
            format!(
                "interface {} has if_tsresol {tsresol:#04x}, finer than 10^-19 s or 2^-63 s",
                self.interfaces.len()
            )
        })?;
        self.interfaces.push(Interface {
            link: LinkType(idb.linktype.0.cast_unsigned()),
            snaplen: idb.snaplen,
            scale,
            offset_nanos: i128::from(tsoffset.unwrap_or(0)) * i128::from(NANOS_PER_SEC),
        });
        Ok(())
    }
}

/// One interface of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// 0: no limit.
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset`, in nanoseconds.
    offset_nanos: i128,
}

impl Interface {
    /// The packet time of a timestamp in this interface's units.
    #[inline]
    fn time(&self, ticks: u64) -> PacketTime {
        let nanos = self.scale.to_nanos(ticks);
        let total = i128::try_from(nanos)
            .unwrap_or(i128::MAX)
            .saturating_add(self.offset_nanos);
        PacketTime::from_nanos(u64::try_from(total.max(0)).unwrap_or(u64::MAX))
    }
}

/// An `if_tsresol`, as a way to turn ticks into nanoseconds.
#[derive(Debug, Clone, Copy)]
enum TsScale {
    /// 10^-k s with k <= 9: multiply by 10^(9-k).
    Mul(u64),
    /// 10^-k s with 9 < k <= 19: divide by 10^(k-9).
    Div(u64),
    /// 2^-k s with k <= 63.
    Pow2(u32),
}

impl TsScale {
    /// `None` for resolutions finer than 10^-19 or 2^-63 s, which a 64-bit count cannot use (libpcap and
    /// Wireshark refuse them too).
    fn new(tsresol: u8) -> Option<Self> {
        let k = u32::from(tsresol & 0x7f);
        if tsresol & 0x80 != 0 {
            (k <= 63).then_some(Self::Pow2(k))
        } else if k <= 9 {
            Some(Self::Mul(10u64.pow(9 - k)))
        } else if k <= 19 {
            Some(Self::Div(10u64.pow(k - 9)))
        } else {
            None
        }
    }

    #[inline]
    fn to_nanos(self, ticks: u64) -> u128 {
        match self {
            Self::Mul(m) => u128::from(ticks) * u128::from(m),
            Self::Div(d) => u128::from(ticks / d.max(1)),
            Self::Pow2(k) => (u128::from(ticks) * u128::from(NANOS_PER_SEC)) >> k,
        }
    }
}

fn ticks(high: u32, low: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low)
}

// ---------------------------------------------------------------------------------------------------------
// Shared pieces

/// The file behind a buffer that holds `buf[start..end]`, the bytes from file offset `offset` on.
struct Input {
    file: File,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// File offset of `buf[start]`: the bytes consumed so far.
    offset: u64,
}

impl Input {
    fn new(file: File) -> Self {
        Self {
            file,
            buf: vec![0; BUFFER_SIZE],
            start: 0,
            end: 0,
            eof: false,
            offset: 0,
        }
    }

    /// The bytes read but not consumed yet.
    #[inline]
    fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Moves past `n` bytes (at most what is available).
    #[inline]
    fn consume(&mut self, n: usize) {
        let n = n.min(self.end.saturating_sub(self.start));
        self.start += n;
        self.offset += n as u64;
    }

    /// Reads until at least `need` bytes are available; `false` when the file ends first, in which case
    /// everything left in the file is available. The buffer grows, doubling, only while it is full and
    /// still short, so memory stays within twice the data actually read even when a corrupt length asks
    /// for more.
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        loop {
            let have = self.end.saturating_sub(self.start);
            if have >= need {
                return Ok(true);
            }
            if self.eof {
                return Ok(false);
            }
            if self.start > 0 && self.start.saturating_add(need) > self.buf.len() {
                self.buf.copy_within(self.start..self.end, 0);
                self.start = 0;
                self.end = have;
            }
            if self.end >= self.buf.len() {
                let grown = self.buf.len().saturating_mul(2).max(BUFFER_SIZE);
                self.buf.resize(grown, 0);
            }
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.file.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = self.end.saturating_add(n).min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Reads fixed fields in a given byte order.
struct Fields<'a> {
    rest: &'a [u8],
    big_endian: bool,
}

impl<'a> Fields<'a> {
    #[inline]
    fn u32(&mut self) -> Option<u32> {
        let (b, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(if self.big_endian {
            u32::from_be_bytes(*b)
        } else {
            u32::from_le_bytes(*b)
        })
    }

    #[inline]
    fn u16(&mut self) -> Option<u16> {
        let (b, rest) = self.rest.split_first_chunk::<2>()?;
        self.rest = rest;
        Some(if self.big_endian {
            u16::from_be_bytes(*b)
        } else {
            u16::from_le_bytes(*b)
        })
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(taken)
    }
}

/// The file ended while more bytes were needed at `offset`: the end of the capture if nothing was left,
/// a truncated record or block otherwise.
fn at_end(input: &Input, path: &Path, offset: u64) -> Result<(), CaptureError> {
    if input.available().is_empty() {
        Ok(())
    } else {
        Err(CaptureError::new(path, offset, CaptureErrorKind::Truncated))
    }
}

fn io_error(path: &Path, offset: u64, e: io::Error) -> CaptureError {
    CaptureError::new(path, offset, CaptureErrorKind::Io(e))
}

/// A 32-bit length as `usize` (saturating on 16-bit targets, where it exceeds every limit anyway).
#[inline]
fn usize_from(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// pcap-parser's error, without the input bytes its `Display` dumps.
fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("malformed ({kind:?})")
        }
        PcapError::HeaderNotRecognized => "byte-order magic not recognized".to_owned(),
        other => format!("{other:?}"),
    }
}

fn describe_nom(e: &nom::Err<PcapError<&[u8]>>) -> String {
    match e {
        nom::Err::Incomplete(_) => "inner lengths exceed the block".to_owned(),
        nom::Err::Error(e) | nom::Err::Failure(e) => describe(e),
    }
}
