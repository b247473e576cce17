//! RTCP (RFC 3550 §6): a compound packet is a run of RTCP packets, each with a four-byte common header whose
//! length field says how many 32-bit words follow. [`Compound::packets`] walks them and yields one typed view
//! per packet: SR, RR, SDES, BYE, APP (RFC 3550), RTPFB and PSFB (RFC 4585 §6.1), XR (RFC 3611) or
//! [`Packet::Other`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|   count |      PT       |   length (words after this - 1)|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   body: length * 4 bytes                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use super::{Ssrcs, VERSION};
use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};

/// Length of the RTCP common header (RFC 3550 §6.4.1).
pub const HEADER_LEN: usize = 4;

/// Length of a reception report block (RFC 3550 §6.4.1).
pub const REPORT_BLOCK_LEN: usize = 24;

/// Length of the sender information in an SR (RFC 3550 §6.4.1): NTP (8), RTP timestamp, packet and octet
/// counts.
pub const SENDER_INFO_LEN: usize = 20;

/// Length of the fixed part of an RTPFB/PSFB packet body: sender and media SSRC (RFC 4585 §6.1).
pub const FEEDBACK_FIXED_LEN: usize = 8;

const LAYER: Layer = Layer::Udp;

/// An RTCP packet type (the PT field). A newtype: unknown values stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PacketType(pub u8);

impl PacketType {
    /// Extended inter-arrival jitter report (RFC 5450).
    pub const IJ: PacketType = PacketType(195);
    /// Sender report (RFC 3550 §6.4.1).
    pub const SR: PacketType = PacketType(200);
    /// Receiver report (RFC 3550 §6.4.2).
    pub const RR: PacketType = PacketType(201);
    /// Source description (RFC 3550 §6.5).
    pub const SDES: PacketType = PacketType(202);
    /// Goodbye (RFC 3550 §6.6).
    pub const BYE: PacketType = PacketType(203);
    /// Application-defined (RFC 3550 §6.7).
    pub const APP: PacketType = PacketType(204);
    /// Transport-layer feedback (RFC 4585 §6.2).
    pub const RTPFB: PacketType = PacketType(205);
    /// Payload-specific feedback (RFC 4585 §6.3).
    pub const PSFB: PacketType = PacketType(206);
    /// Extended report (RFC 3611).
    pub const XR: PacketType = PacketType(207);

    /// The registry abbreviation.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            195 => "IJ",
            200 => "SR",
            201 => "RR",
            202 => "SDES",
            203 => "BYE",
            204 => "APP",
            205 => "RTPFB",
            206 => "PSFB",
            207 => "XR",
            208 => "AVB",
            209 => "RSI",
            210 => "TOKEN",
            211 => "IDMS",
            212 => "RGRS",
            213 => "SNM",
            _ => return None,
        })
    }
}

impl fmt::Debug for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "PacketType({})", self.0),
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The common header of one RTCP packet, as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The P bit: this packet ends with padding whose last byte counts it.
    pub padding: bool,
    /// The five-bit count field: report blocks (SR, RR), chunks (SDES), sources (BYE), subtype (APP) or
    /// feedback message type (RTPFB, PSFB).
    pub count: u8,
    /// The packet type.
    pub packet_type: PacketType,
    /// The length field: 32-bit words after the header.
    pub length_words: u16,
}

impl Header {
    /// Length of the whole packet in bytes, header included.
    pub fn packet_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length_words) * 4
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rtcp header {:?} count={} words={}{}",
            self.packet_type,
            self.count,
            self.length_words,
            if self.padding { " padded" } else { "" }
        )
    }
}

/// A checked view of an RTCP compound packet (RFC 3550 §6.1).
///
/// [`Compound::new`] checks that the first packet has version 2 and a length that fits; the other packets are
/// checked as [`Compound::packets`] reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compound<'a> {
    bytes: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Checks the first packet's common header: version 2 ([`ErrorKind::Invalid`] at 0), and a length that
    /// fits ([`ErrorKind::Truncated`] at 4, where the body starts).
    pub fn new(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, LAYER);
        let (h, _) = read_header(&mut r, 0)?;
        r.skip(usize::from(h.length_words) * 4)?;
        Ok(Self { bytes })
    }

    /// The bytes of the compound.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The packets, in order. A common header with the wrong version, a length running past the end, or a
    /// bad padding count yields one error and ends the walk (the framing is lost); a body that does not fit
    /// its type (an SR too short for its report blocks, a broken SDES chunk) yields an error for that packet
    /// and the walk goes on, since the length field still frames the next packet.
    pub fn packets(&self) -> Packets<'a> {
        Packets {
            reader: Reader::new(self.bytes, LAYER),
            done: false,
        }
    }
}

impl fmt::Display for Compound<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rtcp compound len={}", self.bytes.len())?;
        let mut sep = " [";
        for p in self.packets() {
            f.write_str(sep)?;
            sep = ", ";
            match p {
                Ok(p) => write!(f, "{p}")?,
                Err(e) => write!(f, "error: {e}")?,
            }
        }
        if sep == ", " {
            f.write_str("]")?;
        }
        Ok(())
    }
}

/// Reads a common header at the reader's position (`start`), checking the version.
fn read_header(r: &mut Reader<'_>, start: usize) -> Result<(Header, u8), ParseError> {
    let b0 = r.u8()?;
    if b0 >> 6 != VERSION {
        return Err(ParseError::new(ErrorKind::Invalid, LAYER, start));
    }
    let pt = r.u8()?;
    let length_words = r.u16()?;
    Ok((
        Header {
            padding: b0 & 0x20 != 0,
            count: b0 & 0x1f,
            packet_type: PacketType(pt),
            length_words,
        },
        b0,
    ))
}

/// Iterator over the packets of a compound; see [`Compound::packets`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    reader: Reader<'a>,
    done: bool,
}

impl<'a> Packets<'a> {
    fn frame(&mut self) -> Result<(Header, &'a [u8], usize), ParseError> {
        let start = self.reader.offset();
        let (h, _) = read_header(&mut self.reader, start)?;
        let body_off = self.reader.offset();
        let body = self.reader.take(usize::from(h.length_words) * 4)?;
        let body = if h.padding {
            let invalid = ParseError::new(
                ErrorKind::Invalid,
                LAYER,
                self.reader.offset().saturating_sub(1),
            );
            let (&count, _) = body.split_last().ok_or(invalid)?;
            let keep = body
                .len()
                .checked_sub(usize::from(count))
                .filter(|_| count != 0)
                .ok_or(invalid)?;
            body.split_at_checked(keep).ok_or(invalid)?.0
        } else {
            body
        };
        Ok((h, body, body_off))
    }
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<Packet<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.reader.remaining() == 0 {
            return None;
        }
        match self.frame() {
            Ok((h, body, off)) => Some(Packet::parse(h, body).map_err(|e| e.add_offset(off))),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// One RTCP packet of a compound, as a typed view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// SR, 200.
    SenderReport(SenderReport<'a>),
    /// RR, 201.
    ReceiverReport(ReceiverReport<'a>),
    /// SDES, 202.
    SourceDescription(Sdes<'a>),
    /// BYE, 203.
    Bye(Bye<'a>),
    /// APP, 204.
    App(App<'a>),
    /// RTPFB, 205 (RFC 4585).
    TransportFeedback(Feedback<'a>),
    /// PSFB, 206 (RFC 4585).
    PayloadFeedback(Feedback<'a>),
    /// XR, 207 (RFC 3611).
    ExtendedReport(Xr<'a>),
    /// Any other packet type: header and body kept as they are.
    Other(Generic<'a>),
}

impl<'a> Packet<'a> {
    /// Decodes one packet body (padding already removed); errors are relative to the body.
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        Ok(match header.packet_type {
            PacketType::SR => Packet::SenderReport(SenderReport::parse(header, body)?),
            PacketType::RR => Packet::ReceiverReport(ReceiverReport::parse(header, body)?),
            PacketType::SDES => Packet::SourceDescription(Sdes::parse(header, body)?),
            PacketType::BYE => Packet::Bye(Bye::parse(header, body)?),
            PacketType::APP => Packet::App(App::parse(header, body)?),
            PacketType::RTPFB => Packet::TransportFeedback(Feedback::parse(header, body)?),
            PacketType::PSFB => Packet::PayloadFeedback(Feedback::parse(header, body)?),
            PacketType::XR => Packet::ExtendedReport(Xr::parse(header, body)?),
            _ => Packet::Other(Generic { header, body }),
        })
    }

    /// The common header.
    pub fn header(&self) -> Header {
        match self {
            Packet::SenderReport(p) => p.header,
            Packet::ReceiverReport(p) => p.header,
            Packet::SourceDescription(p) => p.header,
            Packet::Bye(p) => p.header,
            Packet::App(p) => p.header,
            Packet::TransportFeedback(p) | Packet::PayloadFeedback(p) => p.header,
            Packet::ExtendedReport(p) => p.header,
            Packet::Other(p) => p.header,
        }
    }
}

impl fmt::Display for Packet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Packet::SenderReport(p) => p.fmt(f),
            Packet::ReceiverReport(p) => p.fmt(f),
            Packet::SourceDescription(p) => p.fmt(f),
            Packet::Bye(p) => p.fmt(f),
            Packet::App(p) => p.fmt(f),
            Packet::TransportFeedback(p) | Packet::PayloadFeedback(p) => fmt::Display::fmt(p, f),
            Packet::ExtendedReport(p) => p.fmt(f),
            Packet::Other(p) => p.fmt(f),
        }
    }
}

/// The sender information of an SR (RFC 3550 §6.4.1), as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// NTP timestamp: seconds since 1900 in the upper 32 bits, fraction in the lower.
    pub ntp_timestamp: u64,
    /// The RTP timestamp matching the NTP timestamp.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
}

impl fmt::Display for SenderInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ntp={:#018x} rtp_ts={} packets={} octets={}",
            self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        )
    }
}

/// A reception report block (RFC 3550 §6.4.1), as plain values.
///
/// ```text
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                 SSRC_n (SSRC of source n)                     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | fraction lost |       cumulative number of packets lost       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           extended highest sequence number received           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      interarrival jitter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         last SR (LSR)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   delay since last SR (DLSR)                  |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost: a signed 24-bit value (negative when duplicates outnumber losses).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the upper 16 bits).
    pub highest_seq: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    pub last_sr: u32,
    /// Delay since the last SR, in 1/65536 s (DLSR).
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn read(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let ssrc = r.u32()?;
        let fraction_lost = r.u8()?;
        let lost = r.u24()?;
        Ok(Self {
            ssrc,
            fraction_lost,
            // Sign-extend the 24-bit two's complement value.
            cumulative_lost: i32::from_be_bytes((lost << 8).to_be_bytes()) >> 8,
            highest_seq: r.u32()?,
            jitter: r.u32()?,
            last_sr: r.u32()?,
            delay_since_last_sr: r.u32()?,
        })
    }
}

impl fmt::Display for ReportBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "report ssrc={:#010x} lost={}/256 cumulative={} highest_seq={} jitter={} lsr={:#010x} dlsr={}",
            self.ssrc,
            self.fraction_lost,
            self.cumulative_lost,
            self.highest_seq,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr
        )
    }
}

/// Iterator over report blocks (checked to be whole by the packet's constructor).
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let c = self.chunks.next()?;
        ReportBlock::read(&mut Reader::new(c, LAYER)).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

/// Reads `count` report blocks and what follows them (profile-specific extensions).
fn blocks_and_rest<'a>(r: &mut Reader<'a>, count: u8) -> Result<(&'a [u8], &'a [u8]), ParseError> {
    let blocks = r.take(usize::from(count) * REPORT_BLOCK_LEN)?;
    Ok((blocks, r.rest()))
}

/// A sender report (RFC 3550 §6.4.1): sender SSRC, sender information, report blocks, and any
/// profile-specific extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    header: Header,
    ssrc: u32,
    info: SenderInfo,
    blocks: &'a [u8],
    extension: &'a [u8],
}

impl<'a> SenderReport<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let ssrc = r.u32()?;
        let info = SenderInfo {
            ntp_timestamp: u64::from_be_bytes(r.array()?),
            rtp_timestamp: r.u32()?,
            packet_count: r.u32()?,
            octet_count: r.u32()?,
        };
        let (blocks, extension) = blocks_and_rest(&mut r, header.count)?;
        Ok(Self {
            header,
            ssrc,
            info,
            blocks,
            extension,
        })
    }

    /// The sender's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sender information.
    pub fn sender_info(&self) -> SenderInfo {
        self.info
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        ReportBlocks {
            chunks: self.blocks.chunks_exact(REPORT_BLOCK_LEN),
        }
    }

    /// Bytes after the report blocks (a profile-specific extension), usually empty.
    pub fn profile_extension(&self) -> &'a [u8] {
        self.extension
    }
}

impl fmt::Display for SenderReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SR ssrc={:#010x} {} blocks={}",
            self.ssrc, self.info, self.header.count
        )
    }
}

/// A receiver report (RFC 3550 §6.4.2): reporter SSRC, report blocks, and any profile-specific extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    header: Header,
    ssrc: u32,
    blocks: &'a [u8],
    extension: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let ssrc = r.u32()?;
        let (blocks, extension) = blocks_and_rest(&mut r, header.count)?;
        Ok(Self {
            header,
            ssrc,
            blocks,
            extension,
        })
    }

    /// The reporter's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        ReportBlocks {
            chunks: self.blocks.chunks_exact(REPORT_BLOCK_LEN),
        }
    }

    /// Bytes after the report blocks (a profile-specific extension), usually empty.
    pub fn profile_extension(&self) -> &'a [u8] {
        self.extension
    }
}

impl fmt::Display for ReceiverReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RR ssrc={:#010x} blocks={}",
            self.ssrc, self.header.count
        )
    }
}

/// An SDES item type (RFC 3550 §6.5 and the IANA registry). A newtype: other values stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SdesType(pub u8);

impl SdesType {
    /// End of the item list.
    pub const END: SdesType = SdesType(0);
    /// Canonical end-point identifier, `user@host` (RFC 3550 §6.5.1).
    pub const CNAME: SdesType = SdesType(1);
    /// User name.
    pub const NAME: SdesType = SdesType(2);
    /// Electronic mail address.
    pub const EMAIL: SdesType = SdesType(3);
    /// Phone number.
    pub const PHONE: SdesType = SdesType(4);
    /// Geographic location.
    pub const LOC: SdesType = SdesType(5);
    /// Application or tool name.
    pub const TOOL: SdesType = SdesType(6);
    /// Notice or status.
    pub const NOTE: SdesType = SdesType(7);
    /// Private extension.
    pub const PRIV: SdesType = SdesType(8);
    /// RTP stream identifier (RFC 8852).
    pub const RTP_STREAM_ID: SdesType = SdesType(12);
    /// Repaired RTP stream identifier (RFC 8852).
    pub const REPAIRED_RTP_STREAM_ID: SdesType = SdesType(13);
    /// Media identification, BUNDLE (RFC 9143).
    pub const MID: SdesType = SdesType(15);

    /// The registry name.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "END",
            1 => "CNAME",
            2 => "NAME",
            3 => "EMAIL",
            4 => "PHONE",
            5 => "LOC",
            6 => "TOOL",
            7 => "NOTE",
            8 => "PRIV",
            9 => "H323-CADDR",
            10 => "APSI",
            11 => "RGRP",
            12 => "RtpStreamId",
            13 => "RepairedRtpStreamId",
            14 => "CCID",
            15 => "MID",
            _ => return None,
        })
    }
}

impl fmt::Debug for SdesType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "SdesType({})", self.0),
        }
    }
}

/// A source description packet (RFC 3550 §6.5): `count` chunks, each an SSRC/CSRC and a list of items ended by
/// a null octet and padded to a 32-bit boundary.
///
/// ```text
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |                          SSRC/CSRC_1                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     type      |    length     |  text ...  | type | len | ...|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ... 0 (end)  | null padding to the next 32-bit boundary      |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// ```
///
/// Every chunk is checked when the packet is parsed, so [`Sdes::chunks`] and [`Chunk::items`] yield plain
/// items. The padding after the last chunk may be short (leniency); bytes after `count` chunks are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    header: Header,
    body: &'a [u8],
}

/// Reads one SDES chunk at the reader's position; the reader's offsets count from the body start, which is
/// 32-bit aligned.
fn read_chunk<'a>(r: &mut Reader<'a>) -> Result<Chunk<'a>, ParseError> {
    let ssrc = r.u32()?;
    let start = r.clone();
    let mut items_len = 0usize;
    loop {
        let t = r.u8()?;
        if t == 0 {
            break;
        }
        let v = r.take_u8_prefixed()?;
        items_len = items_len.saturating_add(2).saturating_add(v.len());
    }
    let pad = (4 - r.offset() % 4) % 4;
    r.skip(pad.min(r.remaining()))?;
    let items = start.clone().take(items_len)?;
    Ok(Chunk { ssrc, items })
}

impl<'a> Sdes<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        for _ in 0..header.count {
            read_chunk(&mut r)?;
        }
        Ok(Self { header, body })
    }

    /// The chunks.
    pub fn chunks(&self) -> Chunks<'a> {
        Chunks {
            reader: Reader::new(self.body, LAYER),
            left: self.header.count,
        }
    }
}

impl fmt::Display for Sdes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDES chunks={}", self.header.count)?;
        if let Some(c) = self.chunks().next() {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// Iterator over the chunks of an SDES packet.
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    reader: Reader<'a>,
    left: u8,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Chunk<'a>;

    fn next(&mut self) -> Option<Chunk<'a>> {
        self.left = self.left.checked_sub(1)?;
        read_chunk(&mut self.reader).ok()
    }
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    ssrc: u32,
    items: &'a [u8],
}

impl<'a> Chunk<'a> {
    /// The SSRC or CSRC described.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The items, without the terminating null item.
    pub fn items(&self) -> Items<'a> {
        Items {
            reader: Reader::new(self.items, LAYER),
        }
    }

    /// The first CNAME item's text.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesType::CNAME)
            .map(|i| i.value)
    }
}

impl fmt::Display for Chunk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chunk ssrc={:#010x}", self.ssrc)?;
        if let Some(c) = self.cname() {
            write!(f, " cname={:?}", String::from_utf8_lossy(c))?;
        }
        Ok(())
    }
}

/// One SDES item: its type and its text (UTF-8 by the RFC, but kept as bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    /// The item type.
    pub kind: SdesType,
    /// The item text.
    pub value: &'a [u8],
}

impl fmt::Display for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {:?}",
            self.kind,
            String::from_utf8_lossy(self.value)
        )
    }
}

/// Iterator over the items of a chunk.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    reader: Reader<'a>,
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let kind = self.reader.u8().ok()?;
        let value = self.reader.take_u8_prefixed().ok()?;
        Some(Item {
            kind: SdesType(kind),
            value,
        })
    }
}

/// A goodbye packet (RFC 3550 §6.6): the sources leaving and an optional reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    header: Header,
    ssrcs: &'a [u8],
    reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let ssrcs = r.take(usize::from(header.count) * 4)?;
        let reason = match r.peek(1) {
            Ok([n]) if *n != 0 => Some(r.take_u8_prefixed()?),
            _ => None,
        };
        Ok(Self {
            header,
            ssrcs,
            reason,
        })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> Ssrcs<'a> {
        Ssrcs::new(self.ssrcs)
    }

    /// The reason for leaving, if given.
    pub fn reason(&self) -> Option<&'a [u8]> {
        self.reason
    }
}

impl fmt::Display for Bye<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BYE ssrcs=[")?;
        for (i, s) in self.ssrcs().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{s:#010x}")?;
        }
        f.write_str("]")?;
        if let Some(r) = self.reason {
            write!(f, " reason={:?}", String::from_utf8_lossy(r))?;
        }
        Ok(())
    }
}

/// An application-defined packet (RFC 3550 §6.7): subtype (the count field), SSRC, four-character name, data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    header: Header,
    ssrc: u32,
    name: [u8; 4],
    data: &'a [u8],
}

impl<'a> App<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let ssrc = r.u32()?;
        let name = r.array()?;
        Ok(Self {
            header,
            ssrc,
            name,
            data: r.rest(),
        })
    }

    /// The subtype (the count field).
    pub fn subtype(&self) -> u8 {
        self.header.count
    }

    /// The sender's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The four-character name.
    pub fn name(&self) -> [u8; 4] {
        self.name
    }

    /// The application data.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

impl fmt::Display for App<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "APP subtype={} ssrc={:#010x} name={:?} data={}",
            self.header.count,
            self.ssrc,
            String::from_utf8_lossy(&self.name),
            self.data.len()
        )
    }
}

/// A feedback message, RTPFB or PSFB (RFC 4585 §6.1): message type (the count field, FMT), packet sender,
/// media source, and the feedback control information (FCI).
///
/// ```text
/// |V=2|P|   FMT   |       PT      |          length               |
/// |                  SSRC of packet sender                        |
/// |                  SSRC of media source                         |
/// :            Feedback Control Information (FCI)                 :
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feedback<'a> {
    header: Header,
    sender_ssrc: u32,
    media_ssrc: u32,
    fci: &'a [u8],
}

impl<'a> Feedback<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        Ok(Self {
            header,
            sender_ssrc: r.u32()?,
            media_ssrc: r.u32()?,
            fci: r.rest(),
        })
    }

    /// The feedback message type (FMT).
    pub fn fmt(&self) -> u8 {
        self.header.count
    }

    /// The FMT's name for this packet type (RFC 4585, RFC 5104, RFC 8888 and the IANA registry).
    pub fn fmt_name(&self) -> Option<&'static str> {
        Some(match (self.header.packet_type, self.header.count) {
            (PacketType::RTPFB, 1) => "Generic NACK",
            (PacketType::RTPFB, 3) => "TMMBR",
            (PacketType::RTPFB, 4) => "TMMBN",
            (PacketType::RTPFB, 5) => "RTCP-SR-REQ",
            (PacketType::RTPFB, 11) => "CCFB",
            (PacketType::RTPFB, 15) => "transport-cc",
            (PacketType::PSFB, 1) => "PLI",
            (PacketType::PSFB, 2) => "SLI",
            (PacketType::PSFB, 3) => "RPSI",
            (PacketType::PSFB, 4) => "FIR",
            (PacketType::PSFB, 5) => "TSTR",
            (PacketType::PSFB, 6) => "TSTN",
            (PacketType::PSFB, 7) => "VBCM",
            (PacketType::PSFB, 15) => "AFB",
            _ => return None,
        })
    }

    /// The packet type: [`PacketType::RTPFB`] or [`PacketType::PSFB`].
    pub fn packet_type(&self) -> PacketType {
        self.header.packet_type
    }

    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> u32 {
        self.sender_ssrc
    }

    /// SSRC of the media source.
    pub fn media_ssrc(&self) -> u32 {
        self.media_ssrc
    }

    /// Feedback control information.
    pub fn fci(&self) -> &'a [u8] {
        self.fci
    }
}

impl fmt::Display for Feedback<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.header.packet_type == PacketType::PSFB {
            "PSFB"
        } else {
            "RTPFB"
        };
        write!(
            f,
            "{kind} fmt={}({}) sender={:#010x} media={:#010x} fci={}",
            self.header.count,
            self.fmt_name().unwrap_or("?"),
            self.sender_ssrc,
            self.media_ssrc,
            self.fci.len()
        )
    }
}

/// An extended report (RFC 3611 §2): sender SSRC and report blocks, each with a type, a type-specific byte
/// and a length in 32-bit words. Every block is checked when the packet is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xr<'a> {
    header: Header,
    ssrc: u32,
    blocks: &'a [u8],
}

impl<'a> Xr<'a> {
    fn parse(header: Header, body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let ssrc = r.u32()?;
        let blocks = r.rest();
        let mut walk = Reader::new(blocks, LAYER);
        while walk.remaining() > 0 {
            read_xr_block(&mut walk).map_err(|e| e.add_offset(4))?;
        }
        Ok(Self {
            header,
            ssrc,
            blocks,
        })
    }

    /// The sender's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The report blocks.
    pub fn blocks(&self) -> XrBlocks<'a> {
        XrBlocks {
            reader: Reader::new(self.blocks, LAYER),
        }
    }
}

impl fmt::Display for Xr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "XR ssrc={:#010x} blocks={}",
            self.ssrc,
            self.blocks().count()
        )
    }
}

fn read_xr_block<'a>(r: &mut Reader<'a>) -> Result<XrBlock<'a>, ParseError> {
    let block_type = r.u8()?;
    let type_specific = r.u8()?;
    let words = r.u16()?;
    let content = r.take(usize::from(words) * 4)?;
    Ok(XrBlock {
        block_type,
        type_specific,
        content,
    })
}

/// One XR report block (RFC 3611 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrBlock<'a> {
    /// Block type (BT): 1 loss RLE, 2 duplicate RLE, 3 packet receipt times, 4 receiver reference time,
    /// 5 DLRR, 6 statistics summary, 7 VoIP metrics.
    pub block_type: u8,
    /// The type-specific byte.
    pub type_specific: u8,
    /// The block content after its four-byte header.
    pub content: &'a [u8],
}

impl fmt::Display for XrBlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "xr block type={} specific={:#04x} len={}",
            self.block_type,
            self.type_specific,
            self.content.len()
        )
    }
}

/// Iterator over XR report blocks.
#[derive(Debug, Clone)]
pub struct XrBlocks<'a> {
    reader: Reader<'a>,
}

impl<'a> Iterator for XrBlocks<'a> {
    type Item = XrBlock<'a>;

    fn next(&mut self) -> Option<XrBlock<'a>> {
        read_xr_block(&mut self.reader).ok()
    }
}

/// A packet of a type not decoded here: its header and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generic<'a> {
    header: Header,
    body: &'a [u8],
}

impl<'a> Generic<'a> {
    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        self.header.packet_type
    }

    /// The body, after the common header, padding removed.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

impl fmt::Display for Generic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} count={} body={}",
            self.header.packet_type,
            self.header.count,
            self.body.len()
        )
    }
}

/// The packet types a compound may start with for [`probe`]: SR..XR (RFC 3550 §6.1 wants SR or RR first;
/// reduced-size RTCP, RFC 5506, allows any of these).
const FIRST_PACKET_TYPES: std::ops::RangeInclusive<u8> = 200..=207;

/// Whether `bytes` looks like an RTCP compound: version 2, a first packet whose type is 200-207 and whose
/// length fits, and whose body suits its type (an SR or RR long enough for its report blocks, and so on).
pub fn probe(bytes: &[u8]) -> bool {
    let Ok(c) = Compound::new(bytes) else {
        return false;
    };
    matches!(
        c.packets().next(),
        Some(Ok(p)) if FIRST_PACKET_TYPES.contains(&p.header().packet_type.0)
    )
}
