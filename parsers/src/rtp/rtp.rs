//! The RTP packet (RFC 3550 §5.1) with its header extension (RFC 3550 §5.3.1, RFC 8285).
//!
//! The view is written here on top of [`Reader`] rather than taken from the `rtp-rs` crate: the header is
//! twelve fixed bytes and three length checks, our own view keeps the crate's one error type with offsets,
//! follows the house view pattern (checked `new`, plain-value accessors, iterators for variable parts), and
//! costs no new dependency; rtp-rs also reports errors without a byte offset and leaves RFC 8285 elements to
//! the caller.

use std::fmt;

use super::Ssrcs;
use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};

/// The RTP version this view accepts (RFC 3550 §5.1: "This specification defines the version to be two").
pub const VERSION: u8 = 2;

/// Length of the fixed RTP header, before the CSRC list (RFC 3550 §5.1).
pub const MIN_HEADER_LEN: usize = 12;

/// The most CSRCs a header can list: the CC field is four bits (RFC 3550 §5.1).
pub const MAX_CSRC: usize = 15;

/// The `defined by profile` value of an RFC 8285 one-byte header extension (§4.2).
const ONE_BYTE_PROFILE: u16 = 0xbede;

/// The upper twelve bits of an RFC 8285 two-byte header extension's profile field; the low four bits are
/// `appbits` (§4.3).
const TWO_BYTE_PROFILE: u16 = 0x1000;

/// In the one-byte form, ID 15 is reserved and ends processing of the extension (RFC 8285 §4.2).
const ONE_BYTE_RESERVED_ID: u8 = 15;

const LAYER: Layer = Layer::Udp;

/// An RTP payload type (RFC 3550 §5.1, 7 bits). A newtype: dynamic and unassigned values stay numbers.
/// Names and clock rates come from the static table of RFC 3551 §6 (tables 4 and 5), payload types 0-34.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PayloadType(pub u8);

/// One row of the RFC 3551 static table: encoding name, clock rate in Hz.
type StaticEntry = Option<(&'static str, u32)>;

/// RFC 3551 §6 tables 4 and 5, indexed by payload type 0-34. `None` rows are reserved or unassigned.
const STATIC_TABLE: [StaticEntry; 35] = [
    Some(("PCMU", 8000)),
    None, // 1: reserved (formerly 1016)
    None, // 2: reserved (formerly G721)
    Some(("GSM", 8000)),
    Some(("G723", 8000)),
    Some(("DVI4", 8000)),
    Some(("DVI4", 16000)),
    Some(("LPC", 8000)),
    Some(("PCMA", 8000)),
    Some(("G722", 8000)),
    Some(("L16", 44100)),
    Some(("L16", 44100)),
    Some(("QCELP", 8000)),
    Some(("CN", 8000)),
    Some(("MPA", 90000)),
    Some(("G728", 8000)),
    Some(("DVI4", 11025)),
    Some(("DVI4", 22050)),
    Some(("G729", 8000)),
    None, // 19: reserved
    None, // 20-24: unassigned
    None,
    None,
    None,
    None,
    Some(("CelB", 90000)),
    Some(("JPEG", 90000)),
    None, // 27: unassigned
    Some(("nv", 90000)),
    None, // 29-30: unassigned
    None,
    Some(("H261", 90000)),
    Some(("MPV", 90000)),
    Some(("MP2T", 90000)),
    Some(("H263", 90000)),
];

impl PayloadType {
    /// ITU-T G.711 µ-law, 8 kHz.
    pub const PCMU: PayloadType = PayloadType(0);
    /// GSM 06.10, 8 kHz.
    pub const GSM: PayloadType = PayloadType(3);
    /// ITU-T G.723.1, 8 kHz.
    pub const G723: PayloadType = PayloadType(4);
    /// IMA ADPCM, 8 kHz.
    pub const DVI4_8000: PayloadType = PayloadType(5);
    /// IMA ADPCM, 16 kHz.
    pub const DVI4_16000: PayloadType = PayloadType(6);
    /// LPC, 8 kHz.
    pub const LPC: PayloadType = PayloadType(7);
    /// ITU-T G.711 A-law, 8 kHz.
    pub const PCMA: PayloadType = PayloadType(8);
    /// ITU-T G.722 (RTP clock 8 kHz, sampled at 16 kHz; RFC 3551 §4.5.2).
    pub const G722: PayloadType = PayloadType(9);
    /// Linear 16-bit, 44.1 kHz, two channels.
    pub const L16_STEREO: PayloadType = PayloadType(10);
    /// Linear 16-bit, 44.1 kHz, one channel.
    pub const L16_MONO: PayloadType = PayloadType(11);
    /// QCELP, 8 kHz.
    pub const QCELP: PayloadType = PayloadType(12);
    /// Comfort noise (RFC 3389), 8 kHz.
    pub const CN: PayloadType = PayloadType(13);
    /// MPEG audio, 90 kHz.
    pub const MPA: PayloadType = PayloadType(14);
    /// ITU-T G.728, 8 kHz.
    pub const G728: PayloadType = PayloadType(15);
    /// IMA ADPCM, 11.025 kHz.
    pub const DVI4_11025: PayloadType = PayloadType(16);
    /// IMA ADPCM, 22.05 kHz.
    pub const DVI4_22050: PayloadType = PayloadType(17);
    /// ITU-T G.729, 8 kHz.
    pub const G729: PayloadType = PayloadType(18);
    /// Sun CellB video.
    pub const CELB: PayloadType = PayloadType(25);
    /// JPEG video (RFC 2435).
    pub const JPEG: PayloadType = PayloadType(26);
    /// nv video.
    pub const NV: PayloadType = PayloadType(28);
    /// ITU-T H.261 video.
    pub const H261: PayloadType = PayloadType(31);
    /// MPEG-1/2 video.
    pub const MPV: PayloadType = PayloadType(32);
    /// MPEG-2 transport stream.
    pub const MP2T: PayloadType = PayloadType(33);
    /// ITU-T H.263 video.
    pub const H263: PayloadType = PayloadType(34);

    fn entry(self) -> StaticEntry {
        STATIC_TABLE.get(usize::from(self.0)).copied().flatten()
    }

    /// The encoding name of a static payload type, such as `PCMU`.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|(n, _)| n)
    }

    /// The RTP clock rate in Hz of a static payload type.
    pub fn clock_rate(self) -> Option<u32> {
        self.entry().map(|(_, r)| r)
    }

    /// Whether the value is in the dynamic range 96-127 (RFC 3551 §3), bound by signalling (SDP `a=rtpmap`).
    pub fn is_dynamic(self) -> bool {
        (96..=127).contains(&self.0)
    }
}

impl fmt::Debug for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "PayloadType({})", self.0),
        }
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A checked view of one RTP packet (RFC 3550 §5.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |V=2|P|X|  CC   |M|     PT      |       sequence number         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                           timestamp                           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           synchronization source (SSRC) identifier            |
/// +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
/// |            contributing source (CSRC) identifiers             |
/// |                             ....  (CC of them)                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  defined by profile (X=1)     |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 header extension (length words)               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 payload ...   | padding (P=1) ... | pad count |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// [`Packet::new`] checks the version, that the CSRC list and the extension fit, and that the padding count
/// (when P is set) is between 1 and the bytes after the header; every accessor then returns a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    b0: u8,
    b1: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    csrc: &'a [u8],
    extension: Option<Extension<'a>>,
    payload: &'a [u8],
    padding_len: u8,
    header_len: usize,
}

impl<'a> Packet<'a> {
    /// Checks `bytes` as an RTP packet.
    ///
    /// Errors: a version other than 2 is [`ErrorKind::Invalid`] at 0; a header, CSRC list or extension that
    /// runs past the end is [`ErrorKind::Truncated`] at the offset of the read that failed (12 for the CSRC
    /// list, `12 + 4 * CC` for the extension header, 4 more for its body); a padding count of 0 or larger than
    /// the bytes after the header is [`ErrorKind::Invalid`] at the offset of the count (the last byte).
    pub fn new(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, LAYER);
        let b0 = r.u8()?;
        if b0 >> 6 != VERSION {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 0));
        }
        let b1 = r.u8()?;
        let sequence = r.u16()?;
        let timestamp = r.u32()?;
        let ssrc = r.u32()?;
        let csrc = r.take(usize::from(b0 & 0x0f) * 4)?;
        let extension = if b0 & 0x10 != 0 {
            let [p0, p1, w0, w1] = r.array::<4>()?;
            let (profile, words) = (u16::from_be_bytes([p0, p1]), u16::from_be_bytes([w0, w1]));
            let offset = r.offset();
            let data = r.take(usize::from(words) * 4)?;
            Some(Extension {
                profile,
                data,
                offset,
            })
        } else {
            None
        };
        let header_len = r.offset();
        let rest = r.rest();
        let (payload, padding_len) = if b0 & 0x20 != 0 {
            let invalid = ParseError::new(ErrorKind::Invalid, LAYER, bytes.len().saturating_sub(1));
            let (&count, _) = rest.split_last().ok_or(invalid)?;
            let keep = rest
                .len()
                .checked_sub(usize::from(count))
                .filter(|_| count != 0)
                .ok_or(invalid)?;
            let (payload, _) = rest.split_at_checked(keep).ok_or(invalid)?;
            (payload, count)
        } else {
            (rest, 0)
        };
        Ok(Self {
            b0,
            b1,
            sequence,
            timestamp,
            ssrc,
            csrc,
            extension,
            payload,
            padding_len,
            header_len,
        })
    }

    /// The version field (always 2 once checked).
    pub fn version(&self) -> u8 {
        self.b0 >> 6
    }

    /// The P bit: the packet ends with padding.
    pub fn padding(&self) -> bool {
        self.b0 & 0x20 != 0
    }

    /// The X bit: a header extension follows the CSRC list.
    pub fn extension(&self) -> bool {
        self.b0 & 0x10 != 0
    }

    /// The CC field: how many CSRCs follow the fixed header.
    pub fn csrc_count(&self) -> u8 {
        self.b0 & 0x0f
    }

    /// The M bit, whose meaning the profile defines (a talkspurt or frame boundary).
    pub fn marker(&self) -> bool {
        self.b1 & 0x80 != 0
    }

    /// The payload type.
    pub fn payload_type(&self) -> PayloadType {
        PayloadType(self.b1 & 0x7f)
    }

    /// The sequence number.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The synchronisation source.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> Ssrcs<'a> {
        Ssrcs::new(self.csrc)
    }

    /// The header extension, when the X bit is set.
    pub fn header_extension(&self) -> Option<Extension<'a>> {
        self.extension
    }

    /// The payload, padding removed when the P bit is set.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The padding length (the last byte's count, which includes itself); 0 when the P bit is clear.
    pub fn padding_len(&self) -> u8 {
        self.padding_len
    }

    /// Length of the header: fixed part, CSRC list and extension.
    pub fn header_len(&self) -> usize {
        self.header_len
    }
}

impl fmt::Display for Packet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rtp pt={:?} seq={} ts={} ssrc={:#010x}",
            self.payload_type(),
            self.sequence,
            self.timestamp,
            self.ssrc
        )?;
        if self.marker() {
            f.write_str(" marker")?;
        }
        if self.csrc_count() > 0 {
            write!(f, " csrcs={}", self.csrc_count())?;
        }
        if let Some(x) = self.extension {
            write!(f, " {x}")?;
        }
        write!(f, " payload={}", self.payload.len())?;
        if self.padding() {
            write!(f, " padding={}", self.padding_len)?;
        }
        Ok(())
    }
}

/// The form of a header extension, read from its profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionForm {
    /// RFC 8285 §4.2, profile 0xBEDE: elements with a 4-bit ID and a 4-bit length minus one.
    OneByte,
    /// RFC 8285 §4.3, profile 0x100 followed by four `appbits`: elements with an 8-bit ID and 8-bit length.
    TwoByte {
        /// The four application bits of the profile field.
        appbits: u8,
    },
    /// Any other profile value: an RFC 3550 §5.3.1 extension whose content the profile defines.
    Other,
}

/// An RTP header extension (RFC 3550 §5.3.1): a 16-bit profile value and `length` 32-bit words of data.
///
/// ```text
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      defined by profile       |           length              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        header extension                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    profile: u16,
    data: &'a [u8],
    offset: usize,
}

impl<'a> Extension<'a> {
    /// The `defined by profile` field.
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The extension data (after the four-byte extension header).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Offset of the extension data in the packet.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Which form the profile field announces.
    pub fn form(&self) -> ExtensionForm {
        match self.profile {
            ONE_BYTE_PROFILE => ExtensionForm::OneByte,
            p if p & 0xfff0 == TWO_BYTE_PROFILE => ExtensionForm::TwoByte {
                appbits: u8::try_from(p & 0x0f).unwrap_or_default(),
            },
            _ => ExtensionForm::Other,
        }
    }

    /// The RFC 8285 elements (none for [`ExtensionForm::Other`]). Padding bytes are skipped; a one-byte
    /// element with the reserved ID 15 ends the walk (RFC 8285 §4.2). An element whose length runs past the
    /// extension yields one [`ErrorKind::Truncated`] error, with its offset in the packet, and ends the walk.
    pub fn elements(&self) -> Elements<'a> {
        Elements {
            reader: Reader::new(self.data, LAYER),
            form: self.form(),
            base: self.offset,
            done: false,
        }
    }
}

impl fmt::Display for Extension<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ext={:#06x}/{}", self.profile, self.data.len())
    }
}

/// One RFC 8285 header extension element: the local identifier (bound by SDP `a=extmap`) and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// The local identifier: 1-14 in the one-byte form, 1-255 in the two-byte form.
    pub id: u8,
    /// The element data.
    pub data: &'a [u8],
}

impl fmt::Display for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ext element id={} len={}", self.id, self.data.len())
    }
}

/// Iterator over the RFC 8285 elements of a header extension; see [`Extension::elements`].
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    reader: Reader<'a>,
    form: ExtensionForm,
    base: usize,
    done: bool,
}

impl<'a> Elements<'a> {
    fn step(&mut self) -> Result<Option<Element<'a>>, ParseError> {
        loop {
            if self.reader.remaining() == 0 {
                return Ok(None);
            }
            let (id, len) = match self.form {
                ExtensionForm::OneByte => {
                    let b = self.reader.u8()?;
                    if b == 0 {
                        continue;
                    }
                    let id = b >> 4;
                    if id == ONE_BYTE_RESERVED_ID {
                        return Ok(None);
                    }
                    (id, usize::from(b & 0x0f) + 1)
                }
                ExtensionForm::TwoByte { .. } => {
                    let id = self.reader.u8()?;
                    if id == 0 {
                        continue;
                    }
                    (id, usize::from(self.reader.u8()?))
                }
                ExtensionForm::Other => return Ok(None),
            };
            let data = self.reader.take(len)?;
            return Ok(Some(Element { id, data }));
        }
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e.add_offset(self.base)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_header_decodes() {
        let b = [0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 0xd5];
        let p = Packet::new(&b).unwrap();
        assert_eq!(p.payload_type(), PayloadType::PCMA);
        assert_eq!(p.header_len(), 12);
        assert_eq!(p.payload(), &[0xd5]);
        assert_eq!(
            p.to_string(),
            "rtp pt=PCMA(8) seq=1 ts=160 ssrc=0x01020304 payload=1"
        );
    }

    #[test]
    fn padding_count_larger_than_payload_is_invalid() {
        let b = [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9, 3];
        let e = Packet::new(&b).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 13));
    }
}
