//! TLS records (RFC 5246 §6.2, RFC 8446 §5.1): the framing of a TLS byte stream.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  ContentType  |    ProtocolVersion (legacy)   |    length  ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  ...  length    |            fragment (length bytes)          ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A record is parsed from the front of a stream buffer; a short buffer is [`ErrorKind::Incomplete`] with the
//! bytes still needed, so reassembly can wait for the next segment.

use std::fmt;

use super::registry::TlsVersion;
use super::{LAYER, MAX_RECORD_LEN};
use crate::bytes::Reader;
use crate::error::{ErrorKind, ParseError};

/// Length of the TLS record header.
pub const HEADER_LEN: usize = 5;

/// A record's content type (RFC 8446 §5.1, IANA "TLS ContentType").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentType(pub u8);

impl ContentType {
    /// change_cipher_spec (20): from here on the sender encrypts (TLS 1.2); a no-op in TLS 1.3.
    pub const CHANGE_CIPHER_SPEC: ContentType = ContentType(20);
    /// alert (21).
    pub const ALERT: ContentType = ContentType(21);
    /// handshake (22).
    pub const HANDSHAKE: ContentType = ContentType(22);
    /// application_data (23): encrypted (also TLS 1.3's encrypted handshake).
    pub const APPLICATION_DATA: ContentType = ContentType(23);
    /// heartbeat (24, RFC 6520).
    pub const HEARTBEAT: ContentType = ContentType(24);

    /// The registry name; `None` for other values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            20 => "change_cipher_spec",
            21 => "alert",
            22 => "handshake",
            23 => "application_data",
            24 => "heartbeat",
            25 => "tls12_cid",
            26 => "ack",
            _ => return None,
        })
    }

    /// One of the content types of RFC 8446 and RFC 6520 (20 to 24).
    pub fn is_known(self) -> bool {
        (20..=24).contains(&self.0)
    }
}

impl fmt::Debug for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "ContentType({})", self.0),
        }
    }
}

/// One TLS record, borrowed from the stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Content type.
    pub content_type: ContentType,
    /// The record-layer version (legacy in TLS 1.3, where it is always `0x0303`, or `0x0301` on a first
    /// ClientHello).
    pub version: TlsVersion,
    /// The fragment: plaintext for handshake, alert and change_cipher_spec records before encryption.
    pub fragment: &'a [u8],
}

impl<'a> Record<'a> {
    /// The record at the front of `buf` and its total length (header included).
    ///
    /// Errors: [`ErrorKind::Incomplete`] when `buf` ends inside the record; [`ErrorKind::Invalid`] when the
    /// content type is not 20-24 or the version's major byte is not 3 (not TLS); [`ErrorKind::LimitExceeded`]
    /// when the length is over [`MAX_RECORD_LEN`].
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize), ParseError> {
        if buf.len() < HEADER_LEN {
            return Err(ParseError::new(
                ErrorKind::Incomplete {
                    needed: HEADER_LEN - buf.len(),
                },
                LAYER,
                buf.len(),
            ));
        }
        let mut r = Reader::new(buf, LAYER);
        let content_type = ContentType(r.u8()?);
        let version = TlsVersion(r.u16()?);
        let len = usize::from(r.u16()?);
        if !content_type.is_known() {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 0));
        }
        if version.0 >> 8 != 3 {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 1));
        }
        if len > MAX_RECORD_LEN {
            return Err(ParseError::new(ErrorKind::LimitExceeded, LAYER, 3));
        }
        if r.remaining() < len {
            return Err(ParseError::new(
                ErrorKind::Incomplete {
                    needed: len - r.remaining(),
                },
                LAYER,
                buf.len(),
            ));
        }
        let fragment = r.take(len)?;
        Ok((
            Self {
                content_type,
                version,
                fragment,
            },
            HEADER_LEN + len,
        ))
    }
}

impl fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TLS record {:?} {} len={}",
            self.content_type,
            self.version,
            self.fragment.len()
        )
    }
}

/// Whether `buf` starts like a TLS stream: a handshake record (22) of version 3.0 to 3.4 (SSL 3.0 to TLS
/// 1.3). Needs three bytes.
pub fn probe(buf: &[u8]) -> bool {
    matches!(buf, [22, 3, minor, ..] if *minor <= 4)
}

/// Whether `buf` starts with any plausible TLS record header (content type 20-24, version 3.x): how the
/// server's side of a TLS connection may begin (an alert instead of a ServerHello).
pub fn probe_any(buf: &[u8]) -> bool {
    matches!(buf, [t, 3, minor, ..] if (20..=24).contains(t) && *minor <= 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_split_anywhere_is_incomplete_until_whole() {
        let rec = [22, 3, 1, 0, 3, 1, 2, 3, 99];
        let (r, n) = Record::parse(&rec).unwrap();
        assert_eq!(
            (r.content_type, r.version, r.fragment, n),
            (ContentType::HANDSHAKE, TlsVersion::TLS10, &[1, 2, 3][..], 8)
        );
        for cut in 0..8 {
            let e = Record::parse(&rec[..cut]).unwrap_err();
            assert!(
                matches!(e.kind, ErrorKind::Incomplete { needed } if needed > 0),
                "cut {cut}: {e:?}"
            );
        }
        assert_eq!(
            Record::parse(&rec[..6]).unwrap_err().kind,
            ErrorKind::Incomplete { needed: 2 }
        );
    }

    #[test]
    fn non_tls_headers_are_invalid() {
        assert_eq!(
            Record::parse(&[0x47, 0x45, 0x54, 0x20, 0x2f])
                .unwrap_err()
                .kind,
            ErrorKind::Invalid
        );
        assert_eq!(
            Record::parse(&[22, 2, 0, 0, 0]).unwrap_err().kind,
            ErrorKind::Invalid
        );
        assert_eq!(
            Record::parse(&[23, 3, 3, 0xff, 0xff]).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
        assert!(probe(&[22, 3, 1]) && !probe(&[22, 3, 9]) && !probe(&[23, 3, 3]) && !probe(b"INV"));
        assert!(probe_any(&[21, 3, 3]));
    }
}
