//! STUN messages (RFC 5389, RFC 8489) and the ICE attributes (RFC 8445 §16.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |0 0|     STUN Message Type     |         Message Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Magic Cookie                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Transaction ID (96 bits)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type                         |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                Value (variable, padded to 4 bytes)         ....
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The message type packs a 12-bit method and a 2-bit class (RFC 8489 §5):
//! `M11..M7 C1 M6..M4 C0 M3..M0`.
//!
//! Errors are attributed to [`Layer::Udp`] (STUN is a UDP payload here); offsets count from the first byte of
//! the message.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};

/// Length of the STUN header (RFC 8489 §5).
pub const HEADER_LEN: usize = 20;

/// The magic cookie every RFC 5389/8489 message carries at offset 4 (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_a442;

/// The value XORed into the CRC-32 of a FINGERPRINT attribute, "STUN" (RFC 8489 §14.7).
pub const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// Length of a MESSAGE-INTEGRITY value, an HMAC-SHA1 (RFC 8489 §14.5).
pub const MESSAGE_INTEGRITY_LEN: usize = 20;

const LAYER: Layer = Layer::Udp;

/// A STUN method (RFC 8489 §18.2 and the IANA registry). A newtype: other values stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StunMethod(pub u16);

impl StunMethod {
    /// Binding (RFC 8489).
    pub const BINDING: StunMethod = StunMethod(0x001);
    /// Allocate (TURN, RFC 8656).
    pub const ALLOCATE: StunMethod = StunMethod(0x003);
    /// Refresh (TURN).
    pub const REFRESH: StunMethod = StunMethod(0x004);
    /// Send (TURN).
    pub const SEND: StunMethod = StunMethod(0x006);
    /// Data (TURN).
    pub const DATA: StunMethod = StunMethod(0x007);
    /// CreatePermission (TURN).
    pub const CREATE_PERMISSION: StunMethod = StunMethod(0x008);
    /// ChannelBind (TURN).
    pub const CHANNEL_BIND: StunMethod = StunMethod(0x009);
    /// Connect (TURN over TCP, RFC 6062).
    pub const CONNECT: StunMethod = StunMethod(0x00a);
    /// ConnectionBind (RFC 6062).
    pub const CONNECTION_BIND: StunMethod = StunMethod(0x00b);
    /// ConnectionAttempt (RFC 6062).
    pub const CONNECTION_ATTEMPT: StunMethod = StunMethod(0x00c);

    /// The registry name.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x001 => "Binding",
            0x002 => "SharedSecret",
            0x003 => "Allocate",
            0x004 => "Refresh",
            0x006 => "Send",
            0x007 => "Data",
            0x008 => "CreatePermission",
            0x009 => "ChannelBind",
            0x00a => "Connect",
            0x00b => "ConnectionBind",
            0x00c => "ConnectionAttempt",
            _ => return None,
        })
    }
}

impl fmt::Debug for StunMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({:#05x})", self.0),
            None => write!(f, "StunMethod({:#05x})", self.0),
        }
    }
}

/// A STUN message class (RFC 8489 §5): the two class bits. A newtype over the value 0-3.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StunClass(pub u8);

impl StunClass {
    /// Request (0b00).
    pub const REQUEST: StunClass = StunClass(0);
    /// Indication (0b01).
    pub const INDICATION: StunClass = StunClass(1);
    /// Success response (0b10).
    pub const SUCCESS_RESPONSE: StunClass = StunClass(2);
    /// Error response (0b11).
    pub const ERROR_RESPONSE: StunClass = StunClass(3);

    /// The class name.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "Request",
            1 => "Indication",
            2 => "SuccessResponse",
            3 => "ErrorResponse",
            _ => return None,
        })
    }
}

impl fmt::Debug for StunClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "StunClass({})", self.0),
        }
    }
}

/// A STUN attribute type (RFC 8489 §18.3 and the IANA registry). A newtype: other values stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrType(pub u16);

impl AttrType {
    /// MAPPED-ADDRESS.
    pub const MAPPED_ADDRESS: AttrType = AttrType(0x0001);
    /// USERNAME.
    pub const USERNAME: AttrType = AttrType(0x0006);
    /// MESSAGE-INTEGRITY (HMAC-SHA1).
    pub const MESSAGE_INTEGRITY: AttrType = AttrType(0x0008);
    /// ERROR-CODE.
    pub const ERROR_CODE: AttrType = AttrType(0x0009);
    /// UNKNOWN-ATTRIBUTES.
    pub const UNKNOWN_ATTRIBUTES: AttrType = AttrType(0x000a);
    /// REALM.
    pub const REALM: AttrType = AttrType(0x0014);
    /// NONCE.
    pub const NONCE: AttrType = AttrType(0x0015);
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489).
    pub const MESSAGE_INTEGRITY_SHA256: AttrType = AttrType(0x001c);
    /// USERHASH (RFC 8489).
    pub const USERHASH: AttrType = AttrType(0x001e);
    /// XOR-MAPPED-ADDRESS.
    pub const XOR_MAPPED_ADDRESS: AttrType = AttrType(0x0020);
    /// PRIORITY (ICE).
    pub const PRIORITY: AttrType = AttrType(0x0024);
    /// USE-CANDIDATE (ICE).
    pub const USE_CANDIDATE: AttrType = AttrType(0x0025);
    /// SOFTWARE.
    pub const SOFTWARE: AttrType = AttrType(0x8022);
    /// ALTERNATE-SERVER.
    pub const ALTERNATE_SERVER: AttrType = AttrType(0x8023);
    /// FINGERPRINT.
    pub const FINGERPRINT: AttrType = AttrType(0x8028);
    /// ICE-CONTROLLED (ICE).
    pub const ICE_CONTROLLED: AttrType = AttrType(0x8029);
    /// ICE-CONTROLLING (ICE).
    pub const ICE_CONTROLLING: AttrType = AttrType(0x802a);

    /// The registry name.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0001 => "MAPPED-ADDRESS",
            0x0006 => "USERNAME",
            0x0008 => "MESSAGE-INTEGRITY",
            0x0009 => "ERROR-CODE",
            0x000a => "UNKNOWN-ATTRIBUTES",
            0x000c => "CHANNEL-NUMBER",
            0x000d => "LIFETIME",
            0x0012 => "XOR-PEER-ADDRESS",
            0x0013 => "DATA",
            0x0014 => "REALM",
            0x0015 => "NONCE",
            0x0016 => "XOR-RELAYED-ADDRESS",
            0x0019 => "REQUESTED-TRANSPORT",
            0x001c => "MESSAGE-INTEGRITY-SHA256",
            0x001d => "PASSWORD-ALGORITHM",
            0x001e => "USERHASH",
            0x0020 => "XOR-MAPPED-ADDRESS",
            0x0024 => "PRIORITY",
            0x0025 => "USE-CANDIDATE",
            0x8002 => "PASSWORD-ALGORITHMS",
            0x8003 => "ALTERNATE-DOMAIN",
            0x8022 => "SOFTWARE",
            0x8023 => "ALTERNATE-SERVER",
            0x8028 => "FINGERPRINT",
            0x8029 => "ICE-CONTROLLED",
            0x802a => "ICE-CONTROLLING",
            _ => return None,
        })
    }

    /// Comprehension-required (0x0000-0x7FFF): an agent that does not know it must reject the message
    /// (RFC 8489 §14).
    pub fn is_comprehension_required(self) -> bool {
        self.0 < 0x8000
    }
}

impl fmt::Debug for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({:#06x})", self.0),
            None => write!(f, "AttrType({:#06x})", self.0),
        }
    }
}

/// A checked view of one STUN message.
///
/// [`Message::new`] checks the two leading zero bits, the magic cookie, that the length is a multiple of four
/// and fits, and that every attribute's TLV framing stays inside the message, so [`Message::attributes`]
/// walks without framing errors. Bytes after the declared length are not part of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    bytes: &'a [u8],
    msg_type: u16,
    transaction_id: [u8; 12],
    attrs: &'a [u8],
}

impl<'a> Message<'a> {
    /// Checks `bytes` as a STUN message.
    ///
    /// Errors: a short header is [`ErrorKind::Truncated`]; non-zero leading bits are [`ErrorKind::Invalid`]
    /// at 0; a length that is not a multiple of four is [`ErrorKind::Invalid`] at 2; a wrong magic cookie (an
    /// RFC 3489 message) is [`ErrorKind::Unsupported`] at 4; a body shorter than the length is
    /// [`ErrorKind::Truncated`] at 20; an attribute running past the body is [`ErrorKind::Truncated`] at its
    /// value's offset.
    pub fn new(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(bytes, LAYER);
        let msg_type = r.u16()?;
        if msg_type & 0xc000 != 0 {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 0));
        }
        let length = r.u16()?;
        if length % 4 != 0 {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 2));
        }
        if r.u32()? != MAGIC_COOKIE {
            return Err(ParseError::new(ErrorKind::Unsupported, LAYER, 4));
        }
        let transaction_id = r.array()?;
        let attrs = r.take(usize::from(length))?;
        let mut walk = Reader::new(attrs, LAYER);
        while walk.remaining() > 0 {
            read_tlv(&mut walk).map_err(|e| e.add_offset(HEADER_LEN))?;
        }
        let bytes = Reader::new(bytes, LAYER).take(HEADER_LEN + attrs.len())?;
        Ok(Self {
            bytes,
            msg_type,
            transaction_id,
            attrs,
        })
    }

    /// The message bytes (header and attributes, without anything after the declared length).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The 14-bit message type as sent.
    pub fn message_type(&self) -> u16 {
        self.msg_type
    }

    /// The method, from the type's bits M11..M0.
    pub fn method(&self) -> StunMethod {
        let t = self.msg_type;
        StunMethod((t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2))
    }

    /// The class, from the type's bits C1 C0.
    pub fn class(&self) -> StunClass {
        let t = self.msg_type;
        let c = ((t & 0x0010) >> 4) | ((t & 0x0100) >> 7);
        StunClass(u8::try_from(c).unwrap_or_default())
    }

    /// The length field: bytes of attributes after the header.
    pub fn length(&self) -> u16 {
        u16::try_from(self.attrs.len()).unwrap_or(u16::MAX)
    }

    /// The magic cookie (always [`MAGIC_COOKIE`] once checked).
    pub fn magic_cookie(&self) -> u32 {
        MAGIC_COOKIE
    }

    /// The 96-bit transaction id.
    pub fn transaction_id(&self) -> [u8; 12] {
        self.transaction_id
    }

    /// The attributes, in order, decoded where this crate knows the type. The framing was checked by
    /// [`Message::new`]; an attribute whose value does not fit its type (an address of the wrong length, an
    /// unknown address family) yields an [`ErrorKind::Invalid`] error at its value's offset, and the walk goes
    /// on with the next attribute.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            reader: Reader::new(self.attrs, LAYER),
            transaction_id: self.transaction_id,
        }
    }

    /// The value of the FINGERPRINT attribute, if any.
    pub fn fingerprint(&self) -> Option<u32> {
        self.attributes().find_map(|a| match a {
            Ok(Attribute::Fingerprint(v)) => Some(v),
            _ => None,
        })
    }

    /// Whether the FINGERPRINT attribute matches the CRC-32 of the message before it, XOR 0x5354554e
    /// (RFC 8489 §14.7). The FINGERPRINT considered is the last attribute, where the RFC requires it to be;
    /// `None` when the last attribute is not a FINGERPRINT, `Some(false)` when its value is not four bytes or
    /// does not match. The message is taken as sent: its length field already counts the FINGERPRINT.
    pub fn check_fingerprint(&self) -> Option<bool> {
        let mut r = Reader::new(self.attrs, LAYER);
        let mut last = None;
        while r.remaining() > 0 {
            let start = r.offset();
            let (t, value) = read_tlv(&mut r).ok()?;
            last = Some((start, t, value));
        }
        let (start, t, value) = last?;
        if t != AttrType::FINGERPRINT {
            return None;
        }
        let Ok(expected) = <[u8; 4]>::try_from(value) else {
            return Some(false);
        };
        let covered = Reader::new(self.bytes, LAYER)
            .take(HEADER_LEN + start)
            .ok()?;
        Some(crc32(covered) ^ FINGERPRINT_XOR == u32::from_be_bytes(expected))
    }
}

impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stun {:?} {:?} len={} tid=",
            self.method(),
            self.class(),
            self.attrs.len()
        )?;
        for b in self.transaction_id {
            write!(f, "{b:02x}")?;
        }
        write!(f, " attrs={}", self.attributes().count())
    }
}

/// Reads one attribute TLV and skips its padding to a four-byte boundary (the padding must lie inside the
/// message, whose length is a multiple of four).
fn read_tlv<'a>(r: &mut Reader<'a>) -> Result<(AttrType, &'a [u8]), ParseError> {
    let t = AttrType(r.u16()?);
    let value = r.take_u16_prefixed()?;
    r.skip((4 - value.len() % 4) % 4)?;
    Ok((t, value))
}

/// Iterator over the attributes of a message; see [`Message::attributes`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    reader: Reader<'a>,
    transaction_id: [u8; 12],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attribute<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.remaining() == 0 {
            return None;
        }
        let value_off = HEADER_LEN + self.reader.offset() + 4;
        let (t, value) = read_tlv(&mut self.reader).ok()?;
        let invalid = ParseError::new(ErrorKind::Invalid, LAYER, value_off);
        Some(Attribute::decode(t, value, &self.transaction_id).ok_or(invalid))
    }
}

/// An ERROR-CODE value (RFC 8489 §14.8): class (hundreds), number, and the reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode<'a> {
    /// The hundreds digit, 3-6.
    pub class: u8,
    /// The code modulo 100.
    pub number: u8,
    /// The UTF-8 reason phrase, as bytes.
    pub reason: &'a [u8],
}

impl ErrorCode<'_> {
    /// The full code, such as 401.
    pub fn code(&self) -> u16 {
        u16::from(self.class) * 100 + u16::from(self.number)
    }
}

/// One attribute of a message, decoded where its type is one this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2), with the XOR undone.
    XorMappedAddress(SocketAddr),
    /// USERNAME (RFC 8489 §14.3).
    Username(&'a [u8]),
    /// SOFTWARE (RFC 8489 §14.14).
    Software(&'a [u8]),
    /// REALM (RFC 8489 §14.9).
    Realm(&'a [u8]),
    /// NONCE (RFC 8489 §14.10).
    Nonce(&'a [u8]),
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5): the 20-byte HMAC-SHA1, not checked (that needs the key).
    MessageIntegrity(&'a [u8]),
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6): the HMAC, not checked.
    MessageIntegritySha256(&'a [u8]),
    /// FINGERPRINT (RFC 8489 §14.7): the value as sent; see [`Message::check_fingerprint`].
    Fingerprint(u32),
    /// ERROR-CODE (RFC 8489 §14.8).
    ErrorCode(ErrorCode<'a>),
    /// PRIORITY (RFC 8445 §16.1).
    Priority(u32),
    /// USE-CANDIDATE (RFC 8445 §16.1), empty.
    UseCandidate,
    /// ICE-CONTROLLED with its tie-breaker (RFC 8445 §16.1).
    IceControlled(u64),
    /// ICE-CONTROLLING with its tie-breaker (RFC 8445 §16.1).
    IceControlling(u64),
    /// Any other attribute, type and value as sent.
    Other(AttrType, &'a [u8]),
}

impl<'a> Attribute<'a> {
    /// Decodes one value; `None` when the value does not fit its type.
    fn decode(t: AttrType, value: &'a [u8], tid: &[u8; 12]) -> Option<Self> {
        let mut r = Reader::new(value, LAYER);
        let a = match t {
            AttrType::MAPPED_ADDRESS => Attribute::MappedAddress(address(value, None)?),
            AttrType::XOR_MAPPED_ADDRESS => Attribute::XorMappedAddress(address(value, Some(tid))?),
            AttrType::USERNAME => Attribute::Username(value),
            AttrType::SOFTWARE => Attribute::Software(value),
            AttrType::REALM => Attribute::Realm(value),
            AttrType::NONCE => Attribute::Nonce(value),
            AttrType::MESSAGE_INTEGRITY if value.len() == MESSAGE_INTEGRITY_LEN => {
                Attribute::MessageIntegrity(value)
            }
            AttrType::MESSAGE_INTEGRITY_SHA256 => Attribute::MessageIntegritySha256(value),
            AttrType::FINGERPRINT if value.len() == 4 => Attribute::Fingerprint(r.u32().ok()?),
            AttrType::ERROR_CODE => {
                let [_, _, class, number] = r.array::<4>().ok()?;
                Attribute::ErrorCode(ErrorCode {
                    class: class & 0x07,
                    number,
                    reason: r.rest(),
                })
            }
            AttrType::PRIORITY if value.len() == 4 => Attribute::Priority(r.u32().ok()?),
            AttrType::USE_CANDIDATE if value.is_empty() => Attribute::UseCandidate,
            AttrType::ICE_CONTROLLED if value.len() == 8 => {
                Attribute::IceControlled(u64::from_be_bytes(r.array().ok()?))
            }
            AttrType::ICE_CONTROLLING if value.len() == 8 => {
                Attribute::IceControlling(u64::from_be_bytes(r.array().ok()?))
            }
            AttrType::MESSAGE_INTEGRITY
            | AttrType::FINGERPRINT
            | AttrType::PRIORITY
            | AttrType::USE_CANDIDATE
            | AttrType::ICE_CONTROLLED
            | AttrType::ICE_CONTROLLING => return None,
            _ => Attribute::Other(t, value),
        };
        Some(a)
    }

    /// The attribute type.
    pub fn attr_type(&self) -> AttrType {
        match self {
            Attribute::MappedAddress(_) => AttrType::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => AttrType::XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => AttrType::USERNAME,
            Attribute::Software(_) => AttrType::SOFTWARE,
            Attribute::Realm(_) => AttrType::REALM,
            Attribute::Nonce(_) => AttrType::NONCE,
            Attribute::MessageIntegrity(_) => AttrType::MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => AttrType::MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => AttrType::FINGERPRINT,
            Attribute::ErrorCode(_) => AttrType::ERROR_CODE,
            Attribute::Priority(_) => AttrType::PRIORITY,
            Attribute::UseCandidate => AttrType::USE_CANDIDATE,
            Attribute::IceControlled(_) => AttrType::ICE_CONTROLLED,
            Attribute::IceControlling(_) => AttrType::ICE_CONTROLLING,
            Attribute::Other(t, _) => *t,
        }
    }
}

impl fmt::Display for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.attr_type())?;
        match self {
            Attribute::MappedAddress(a) | Attribute::XorMappedAddress(a) => write!(f, " {a}"),
            Attribute::Username(v)
            | Attribute::Software(v)
            | Attribute::Realm(v)
            | Attribute::Nonce(v) => write!(f, " {:?}", String::from_utf8_lossy(v)),
            Attribute::MessageIntegrity(v)
            | Attribute::MessageIntegritySha256(v)
            | Attribute::Other(_, v) => write!(f, " len={}", v.len()),
            Attribute::Fingerprint(v) => write!(f, " {v:#010x}"),
            Attribute::ErrorCode(e) => {
                write!(f, " {} {:?}", e.code(), String::from_utf8_lossy(e.reason))
            }
            Attribute::Priority(p) => write!(f, " {p}"),
            Attribute::UseCandidate => Ok(()),
            Attribute::IceControlled(t) | Attribute::IceControlling(t) => write!(f, " {t:#018x}"),
        }
    }
}

/// Decodes a (XOR-)MAPPED-ADDRESS value: reserved byte, family (1 IPv4, 2 IPv6), port, address. With a
/// transaction id the port is XORed with the cookie's top 16 bits and the address with the cookie
/// (IPv4) or the cookie and the transaction id (IPv6), RFC 8489 §14.2.
fn address(value: &[u8], xor: Option<&[u8; 12]>) -> Option<SocketAddr> {
    let mut r = Reader::new(value, LAYER);
    let [_, family] = r.array::<2>().ok()?;
    let mut port = r.u16().ok()?;
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let ip = match (family, r.remaining()) {
        (1, 4) => {
            let mut a = r.array::<4>().ok()?;
            if xor.is_some() {
                a.iter_mut().zip(cookie).for_each(|(b, k)| *b ^= k);
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        (2, 16) => {
            let mut a = r.array::<16>().ok()?;
            if let Some(tid) = xor {
                let key = cookie.iter().chain(tid.iter());
                a.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return None,
    };
    if xor.is_some() {
        port ^= 0x2112;
    }
    Some(SocketAddr::new(ip, port))
}

/// The CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) lookup table, built at compile time.
const CRC32_TABLE: [u32; 256] = crc32_table();

#[expect(
    clippy::indexing_slicing,
    reason = "const fn evaluated at compile time; `i` runs over 0..256, the table's length"
)]
const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0u32;
    while i < 256 {
        let mut c = i;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i as usize] = c;
        i += 1;
    }
    table
}

/// The CRC-32 of `data` (the one of ISO-HDLC, zlib and Ethernet), as RFC 8489 §14.7 uses.
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        let idx = usize::from((crc.to_le_bytes()[0]) ^ b);
        CRC32_TABLE.get(idx).copied().unwrap_or(0) ^ (crc >> 8)
    })
}

/// Whether `bytes` is one whole STUN message: leading zero bits, the magic cookie, a length that is a
/// multiple of four and equals the bytes after the header, and attribute framing that fits.
pub fn probe(bytes: &[u8]) -> bool {
    Message::new(bytes).is_ok_and(|m| m.bytes().len() == bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn method_and_class_split_the_type_bits() {
        let mut b = [0u8; 20];
        b[0..2].copy_from_slice(&0x0113u16.to_be_bytes());
        b[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        let m = Message::new(&b).unwrap();
        assert_eq!(m.method(), StunMethod::ALLOCATE);
        assert_eq!(m.class(), StunClass::ERROR_RESPONSE);
        assert_eq!(format!("{:?}", m.class()), "ErrorResponse(3)");
    }
}
