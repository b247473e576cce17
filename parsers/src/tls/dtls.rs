//! DTLS records and handshake fragments (RFC 6347 §4.1 and §4.2.2), one record at a time: a datagram holds
//! one or more records, and a handshake message may be cut into fragments over several records and
//! datagrams (and retransmitted). Reassembly is the caller's: this module only reads what each record says.
//!
//! ```text
//! DTLSPlaintext (13 bytes of header)
//! +--------+--------+--------+--------+--------+--------+--------+--------+
//! |  type  |     version     |      epoch      |  sequence_number (48)
//! +--------+--------+--------+--------+--------+--------+--------+--------+
//!           ...              |     length      |  fragment ...
//! +--------+--------+--------+--------+--------+
//!
//! Handshake header (12 bytes)
//! +--------+--------+--------+--------+--------+--------+
//! |msg_type|     length (24)          |  message_seq    |
//! +--------+--------+--------+--------+--------+--------+
//! |  fragment_offset (24)    |  fragment_length (24)    |  body fragment ...
//! +--------+--------+--------+--------+--------+--------+
//! ```
//!
//! Records of epoch 0 are in the clear; later epochs are encrypted. DTLS 1.3's unified header (RFC 9147
//! §4, first byte `001xxxxx`) is always encrypted and is reported as [`ErrorKind::Unsupported`].

use std::fmt;

use super::handshake::HandshakeType;
use super::record::ContentType;
use super::registry::TlsVersion;
use super::{LAYER, MAX_RECORD_LEN};
use crate::bytes::Reader;
use crate::error::{ErrorKind, ParseError};

/// Length of the DTLS 1.0/1.2 record header.
pub const HEADER_LEN: usize = 13;
/// Length of the DTLS handshake header.
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// One DTLS record, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Content type.
    pub content_type: ContentType,
    /// The record-layer version (`0xfeff` DTLS 1.0, `0xfefd` DTLS 1.2).
    pub version: TlsVersion,
    /// The epoch: 0 before the first ChangeCipherSpec (plaintext), then 1, 2, ... (encrypted).
    pub epoch: u16,
    /// The 48-bit record sequence number.
    pub sequence: u64,
    /// The fragment.
    pub fragment: &'a [u8],
}

impl<'a> Record<'a> {
    /// The record at the front of `buf` and its total length. A datagram cannot wait for more bytes, so a
    /// short record is [`ErrorKind::Truncated`]; a content type outside 20-24 or a version whose major byte
    /// is not `0xfe` (or `0x01`, OpenSSL's pre-standard DTLS 1.0) is [`ErrorKind::Invalid`]; a DTLS 1.3
    /// unified header is [`ErrorKind::Unsupported`].
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize), ParseError> {
        if buf.first().is_some_and(|b| b & 0xe0 == 0x20) {
            return Err(ParseError::new(ErrorKind::Unsupported, LAYER, 0));
        }
        let mut r = Reader::new(buf, LAYER);
        let content_type = ContentType(r.u8()?);
        let version = TlsVersion(r.u16()?);
        let epoch = r.u16()?;
        let hi = u64::from(r.u16()?);
        let lo = u64::from(r.u32()?);
        let len = usize::from(r.u16()?);
        if !content_type.is_known() {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 0));
        }
        if !matches!(version.0 >> 8, 0xfe | 0x01) {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 1));
        }
        if len > MAX_RECORD_LEN {
            return Err(ParseError::new(ErrorKind::LimitExceeded, LAYER, 11));
        }
        let fragment = r.take(len)?;
        Ok((
            Self {
                content_type,
                version,
                epoch,
                sequence: hi << 32 | lo,
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
            "DTLS record {:?} {} epoch={} seq={} len={}",
            self.content_type,
            self.version,
            self.epoch,
            self.sequence,
            self.fragment.len()
        )
    }
}

/// The records of a datagram, in order. Yields an error for the first record that does not parse, then
/// stops.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
    offset: usize,
}

/// The records of `datagram`.
pub fn records(datagram: &[u8]) -> Records<'_> {
    Records {
        rest: datagram,
        offset: 0,
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Record::parse(self.rest) {
            Ok((rec, n)) => {
                self.rest = self.rest.get(n..).unwrap_or_default();
                self.offset += n;
                Some(Ok(rec))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e.add_offset(self.offset)))
            }
        }
    }
}

/// One fragment of a handshake message, as a handshake record carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// The message type.
    pub msg_type: HandshakeType,
    /// The whole message's length.
    pub length: u32,
    /// The message's sequence number in the handshake (retransmissions repeat it).
    pub message_seq: u16,
    /// Where this fragment starts in the message.
    pub offset: u32,
    /// The fragment's bytes (`fragment_length` of them).
    pub body: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// The fragment at the front of a handshake record's payload and its total length. Errors when the
    /// header is short, the fragment overruns the record, or it ends past the message's length.
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize), ParseError> {
        let mut r = Reader::new(buf, LAYER);
        let msg_type = HandshakeType(r.u8()?);
        let length = r.u24()?;
        let message_seq = r.u16()?;
        let offset = r.u24()?;
        let frag_len = r.u24()?;
        if offset.checked_add(frag_len).is_none_or(|end| end > length) {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 6));
        }
        let body = r.take(usize::try_from(frag_len).unwrap_or(usize::MAX))?;
        Ok((
            Self {
                msg_type,
                length,
                message_seq,
                offset,
                body,
            },
            r.offset(),
        ))
    }

    /// The fragment is the whole message.
    pub fn is_whole(&self) -> bool {
        self.offset == 0 && u32::try_from(self.body.len()).is_ok_and(|n| n == self.length)
    }
}

/// The handshake fragments of one handshake record's payload, in order; stops at the first that does not
/// parse (yielding its error).
#[derive(Debug, Clone)]
pub struct Fragments<'a> {
    rest: &'a [u8],
}

/// The fragments of a handshake record's payload.
pub fn fragments(payload: &[u8]) -> Fragments<'_> {
    Fragments { rest: payload }
}

impl<'a> Iterator for Fragments<'a> {
    type Item = Result<Fragment<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Fragment::parse(self.rest) {
            Ok((f, n)) => {
                self.rest = self.rest.get(n..).unwrap_or_default();
                Some(Ok(f))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "builders of short test messages"
)]
mod tests {
    use super::*;

    fn record(t: u8, epoch: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![t, 0xfe, 0xfd];
        b.extend(epoch.to_be_bytes());
        b.extend([0, 0, 0, 0, 0, 7]);
        b.extend((payload.len() as u16).to_be_bytes());
        b.extend(payload);
        b
    }

    #[test]
    fn a_datagram_gives_its_records_and_fragments() {
        let frag = [1, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9];
        let mut d = record(22, 0, &frag);
        d.extend(record(20, 0, &[1]));
        d.extend(record(22, 1, &[0xaa; 40]));
        let recs: Vec<Record<'_>> = records(&d).map(Result::unwrap).collect();
        assert_eq!(recs.len(), 3);
        assert_eq!(
            (recs[0].epoch, recs[0].sequence, recs[0].version),
            (0, 7, TlsVersion::DTLS12)
        );
        assert_eq!(recs[2].epoch, 1);
        let f: Vec<Fragment<'_>> = fragments(recs[0].fragment).map(Result::unwrap).collect();
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].msg_type, f[0].length, f[0].offset, f[0].body),
            (HandshakeType::CLIENT_HELLO, 5, 0, &[9, 9, 9][..])
        );
        assert!(!f[0].is_whole());
    }

    #[test]
    fn bad_records_and_fragments_are_errors() {
        let d = record(22, 0, &[1, 2]);
        assert_eq!(
            records(&d[..14]).next().unwrap().unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            Record::parse(&[0x2c, 0, 0]).unwrap_err().kind,
            ErrorKind::Unsupported
        );
        let mut tls = d.clone();
        tls[1] = 3;
        assert_eq!(Record::parse(&tls).unwrap_err().kind, ErrorKind::Invalid);
        // A fragment past its message's end.
        let frag = [1, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 2, 9, 9];
        assert_eq!(Fragment::parse(&frag).unwrap_err().kind, ErrorKind::Invalid);
    }
}
