//! RTP (RFC 3550 §5), RTCP (RFC 3550 §6, RFC 4585, RFC 3611) and the demultiplexer for a media port that
//! carries RTP, RTCP, STUN, DTLS, ZRTP and TURN channel data side by side (RFC 5761 §4, RFC 7983 §7).
//!
//! - [`Packet`] is the checked view of one RTP packet; [`rtcp::Compound`] walks an RTCP compound packet.
//! - [`classify`] sorts a datagram by its first byte (and, for RTP/RTCP, its second byte) in a few
//!   instructions; [`probe_rtp`], [`rtcp::probe`], [`crate::stun::probe`], [`probe::dtls_record`] and
//!   [`probe::zrtp_hello`] then confirm a guess by checking lengths.
//!
//! Errors are attributed to [`Layer::Udp`], since these protocols are UDP payloads,
//! and their offsets count from the first byte of the buffer handed in (the UDP payload).

pub mod rtcp;
#[expect(
    clippy::module_inception,
    reason = "the house tree (STYLE 3.2) names the files rtp/{mod,rtp,rtcp}.rs; rtp.rs's items are re-exported here"
)]
mod rtp;

use std::fmt;

use crate::bytes::Reader;
use crate::error::Layer;

pub use self::rtp::{
    Element, Elements, Extension, ExtensionForm, MAX_CSRC, MIN_HEADER_LEN, Packet, PayloadType,
    VERSION,
};

/// Iterator over a list of 32-bit source identifiers (an RTP CSRC list, an RTCP BYE's SSRC list).
#[derive(Debug, Clone)]
pub struct Ssrcs<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
}

impl<'a> Ssrcs<'a> {
    /// The identifiers in `bytes`, four bytes each, big-endian; a trailing partial word is ignored (callers
    /// hand in spans whose length they have checked).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            chunks: bytes.chunks_exact(4),
        }
    }
}

impl Iterator for Ssrcs<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let c = self.chunks.next()?;
        <[u8; 4]>::try_from(c).ok().map(u32::from_be_bytes)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Ssrcs<'_> {}

/// What a datagram on a multiplexed media port is, judged by its first bytes (RFC 7983 §7, RFC 5761 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// First byte 128-191, second byte not 192-223.
    Rtp,
    /// First byte 128-191, second byte 192-223 (RTCP packet types 192-223, which an RTP header would show as
    /// payload type 64-95 with the marker bit set).
    Rtcp,
    /// First byte 0-3.
    Stun,
    /// First byte 20-63.
    Dtls,
    /// First byte 16-19.
    Zrtp,
    /// First byte 64-79 and a ChannelData length that matches the datagram: TURN ChannelData (RFC 8656
    /// §12.4), kept apart rather than folded into `Other`.
    TurnChannel,
    /// Anything else, including an empty datagram.
    Other,
}

impl Kind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rtp => "rtp",
            Kind::Rtcp => "rtcp",
            Kind::Stun => "stun",
            Kind::Dtls => "dtls",
            Kind::Zrtp => "zrtp",
            Kind::TurnChannel => "turn-channel",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The RTCP packet types as they show in the second byte (RFC 5761 §4: 192-223).
const RTCP_SECOND_BYTE: std::ops::RangeInclusive<u8> = 192..=223;

/// Sorts a datagram by its first byte, as RFC 7983 §7 does, and tells RTCP from RTP by the second byte as
/// RFC 5761 §4 does. Apart from the TURN ChannelData length (see [`Kind::TurnChannel`]) this checks nothing
/// else: confirm with the probes.
pub fn classify(bytes: &[u8]) -> Kind {
    let mut it = bytes.iter().copied();
    let Some(b0) = it.next() else {
        return Kind::Other;
    };
    match b0 {
        0..=3 => Kind::Stun,
        16..=19 => Kind::Zrtp,
        20..=63 => Kind::Dtls,
        64..=79 if turn_channel_fits(bytes) => Kind::TurnChannel,
        128..=191 => match it.next() {
            Some(b1) if RTCP_SECOND_BYTE.contains(&b1) => Kind::Rtcp,
            Some(_) => Kind::Rtp,
            None => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// Whether a datagram whose first byte is 64-79 is framed as TURN ChannelData (RFC 8656 §12.4): a channel
/// number, a length, and that many bytes of data, then at most three bytes of padding. SIP requests start with
/// letters in this range (`ACK`, `BYE`, `INVITE`, `OPTIONS`...), so the first byte alone would call them TURN.
fn turn_channel_fits(bytes: &[u8]) -> bool {
    let mut r = Reader::new(bytes, Layer::Udp);
    let (Ok(_channel), Ok(len)) = (r.u16(), r.u16()) else {
        return false;
    };
    r.remaining()
        .checked_sub(usize::from(len))
        .is_some_and(|pad| pad < 4)
}

/// Payload types RFC 3551 §6 reserves so that RTP and RTCP stay apart (72-76 collide with RTCP SR..APP when
/// the marker bit is set).
const RTCP_CONFLICT_PT: std::ops::RangeInclusive<u8> = 72..=76;

/// Whether `bytes` looks like one RTP packet: version 2, a CSRC list, header extension and padding that fit,
/// and a second byte that is not an RTCP packet type (RFC 5761 §4) nor a payload type reserved against
/// RTCP (RFC 3551 §6).
pub fn probe_rtp(bytes: &[u8]) -> bool {
    rtp_packet(bytes).is_some()
}

/// The checked packet when `bytes` passes [`probe_rtp`], so that a caller that goes on to read the packet
/// checks it once.
#[inline]
pub fn rtp_packet(bytes: &[u8]) -> Option<Packet<'_>> {
    let p = Packet::new(bytes).ok()?;
    let b1 = (u8::from(p.marker()) << 7) | p.payload_type().0;
    (!RTCP_SECOND_BYTE.contains(&b1) && !RTCP_CONFLICT_PT.contains(&p.payload_type().0))
        .then_some(p)
}

/// Cheap recognisers for the other protocols that share a media port: DTLS (for DTLS-SRTP keying) and ZRTP.
pub mod probe {
    use std::fmt;

    use crate::bytes::Reader;
    use crate::error::Layer;

    /// Length of a DTLS 1.0/1.2 record header (RFC 6347 §4.1): type, version, epoch, 48-bit sequence, length.
    pub const DTLS_RECORD_HEADER_LEN: usize = 13;

    /// The largest DTLS record body: 2^14 plus 2048 bytes of expansion (RFC 6347 §4.1 via RFC 5246 §6.2.3).
    pub const MAX_DTLS_RECORD_LEN: u16 = (1 << 14) + 2048;

    /// DTLS versions on the wire: 1.0 (0xfeff), 1.2 (0xfefd) and 1.3 (0xfefc, RFC 9147 §4).
    pub const DTLS_VERSIONS: [u16; 3] = [0xfeff, 0xfefd, 0xfefc];

    /// The ZRTP magic cookie, "ZRTP" (RFC 6189 §5).
    pub const ZRTP_MAGIC_COOKIE: u32 = 0x5a52_5450;

    /// The ZRTP message preamble (RFC 6189 §5.1).
    pub const ZRTP_PREAMBLE: u16 = 0x505a;

    /// Length of the fixed ZRTP packet header before the message: flags, sequence, cookie, source id.
    pub const ZRTP_HEADER_LEN: usize = 12;

    /// Length of the ZRTP CRC trailer (RFC 6189 §5).
    pub const ZRTP_CRC_LEN: usize = 4;

    /// A DTLS record header (RFC 6347 §4.1), as plain values.
    ///
    /// ```text
    ///  0        1        3        5                  11       13
    /// +--------+--------+--------+------------------+--------+
    /// |  type  | version| epoch  | sequence (48 bit)| length |
    /// +--------+--------+--------+------------------+--------+
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DtlsRecordHeader {
        /// Content type: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data, 24 heartbeat,
        /// 25 tls12_cid.
        pub content_type: u8,
        /// Wire version (0xfeff DTLS 1.0, 0xfefd DTLS 1.2, 0xfefc DTLS 1.3).
        pub version: u16,
        /// Epoch.
        pub epoch: u16,
        /// 48-bit record sequence number.
        pub sequence: u64,
        /// Length of the record body.
        pub length: u16,
    }

    impl fmt::Display for DtlsRecordHeader {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "dtls record type={} version={:#06x} epoch={} seq={} len={}",
                self.content_type, self.version, self.epoch, self.sequence, self.length
            )
        }
    }

    /// The first DTLS record header of a datagram, if the datagram starts with one: content type 20-25, a
    /// DTLS version, a length no larger than [`MAX_DTLS_RECORD_LEN`] whose body fits in the datagram.
    pub fn dtls_record(bytes: &[u8]) -> Option<DtlsRecordHeader> {
        let mut r = Reader::new(bytes, Layer::Udp);
        let content_type = r.u8().ok()?;
        let version = r.u16().ok()?;
        let epoch = r.u16().ok()?;
        let [a, b, c, d, e, g] = r.array::<6>().ok()?;
        let length = r.u16().ok()?;
        let ok = (20..=25).contains(&content_type)
            && DTLS_VERSIONS.contains(&version)
            && length <= MAX_DTLS_RECORD_LEN
            && r.remaining() >= usize::from(length);
        ok.then_some(DtlsRecordHeader {
            content_type,
            version,
            epoch,
            sequence: u64::from_be_bytes([0, 0, a, b, c, d, e, g]),
            length,
        })
    }

    /// Whether `bytes` is a ZRTP packet carrying a Hello message (RFC 6189 §5.2): first nibble 0001, the
    /// "ZRTP" cookie at offset 4, the 0x505a preamble, a message length that fits before the CRC, and the
    /// message type block "Hello   ".
    ///
    /// ```text
    /// |0 0 0 1|not used (0)  |  sequence  |  magic cookie "ZRTP"  |  source id  |
    /// | 0x505a | length (words) | "Hello   " | ...message... | CRC (4) |
    /// ```
    pub fn zrtp_hello(bytes: &[u8]) -> bool {
        let mut r = Reader::new(bytes, Layer::Udp);
        let mut check = || -> Option<bool> {
            let b0 = r.u8().ok()?;
            r.skip(3).ok()?;
            let cookie = r.u32().ok()?;
            r.skip(4).ok()?;
            let preamble = r.u16().ok()?;
            let words = r.u16().ok()?;
            let kind = r.array::<8>().ok()?;
            let msg_len = usize::from(words).checked_mul(4)?;
            let needed = ZRTP_HEADER_LEN
                .checked_add(msg_len)?
                .checked_add(ZRTP_CRC_LEN)?;
            Some(
                b0 >> 4 == 1
                    && cookie == ZRTP_MAGIC_COOKIE
                    && preamble == ZRTP_PREAMBLE
                    && &kind == b"Hello   "
                    && msg_len >= 12
                    && needed <= bytes.len(),
            )
        };
        check().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte_ranges_follow_rfc_7983() {
        assert_eq!(classify(&[]), Kind::Other);
        assert_eq!(classify(&[0, 1]), Kind::Stun);
        assert_eq!(classify(&[3]), Kind::Stun);
        assert_eq!(classify(&[4]), Kind::Other);
        assert_eq!(classify(&[16]), Kind::Zrtp);
        assert_eq!(classify(&[22, 0xfe, 0xfd]), Kind::Dtls);
        assert_eq!(classify(&[0x40, 0, 0, 1, 9]), Kind::TurnChannel);
        assert_eq!(classify(&[0x40, 0, 0, 1]), Kind::Other);
        assert_eq!(classify(&[0x80, 0]), Kind::Rtp);
        assert_eq!(classify(&[0x80, 200]), Kind::Rtcp);
        assert_eq!(classify(&[0x80]), Kind::Other);
        assert_eq!(classify(b"INVITE sip:"), Kind::Other);
    }
}
