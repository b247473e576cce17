//! WebSocket (RFC 6455) as a SIP transport (RFC 7118): the frame header, frames, unmasking, and the HTTP/1.1
//! upgrade that opens a connection.
//!
//! A frame (RFC 6455 §5.2):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! [`Header::parse`] reads the header alone (a stream can judge the declared length before the payload is
//! there); [`Frame::parse`] reads a whole frame and borrows its payload, still masked. Unmasking is the
//! caller's business, into its own buffer: [`unmask`] in place, [`Frame::unmask_into`] onto a `Vec`. A
//! client's frames are masked, a server's are not (§5.1). Messages may be fragmented into a first frame
//! and continuation frames (§5.4), with control frames (close, ping, pong; at most 125 bytes and never
//! fragmented, §5.5) between the fragments. RFC 7118 §5 carries one SIP message per WebSocket message.
//!
//! [`Handshake::parse`] recognises the opening handshake (§4.1, §4.2.2): a `GET` request with
//! `Upgrade: websocket` and its `HTTP/1.1 101` answer; [`Handshake::is_sip_upgrade`] is true when the
//! request offers the `sip` subprotocol (RFC 7118 §4.1). [`probe`] tells from a stream's first bytes
//! whether it may start such a handshake.
//!
//! Errors are attributed to [`Layer::WebSocket`]; offsets count from the first byte handed in. The
//! length of a frame's payload is not bounded here: the caller decides what it is willing to buffer.
//!
//! ```
//! use callguard_parsers::ws::{self, Frame, Opcode};
//! // RFC 6455 §5.7: a single-frame masked text message, "Hello".
//! let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let f = Frame::parse(&bytes)?;
//! assert_eq!((f.header.fin, f.header.opcode), (true, Opcode::TEXT));
//! let mut text = Vec::new();
//! f.unmask_into(&mut text);
//! assert_eq!(text, b"Hello");
//! # Ok::<(), callguard_parsers::ParseError>(())
//! ```

use std::fmt;

use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};

const LAYER: Layer = Layer::WebSocket;

/// Longest frame header: 2 bytes, a 64-bit extended length and a masking key (RFC 6455 §5.2).
pub const MAX_HEADER_LEN: usize = 14;

/// Longest payload of a control frame (RFC 6455 §5.5: "125 bytes or less").
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Longest opening-handshake header block [`Handshake::parse`] looks through for its end. RFC 6455 sets no
/// bound; 8 KiB is what common HTTP servers accept for a request head (nginx's and Apache's default
/// limit), and a WebSocket handshake for SIP takes about 300 bytes.
pub const MAX_HANDSHAKE_LEN: usize = 8192;

/// A frame opcode (RFC 6455 §5.2, §11.8). A newtype: reserved values stay numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Continuation of a fragmented message (0x0).
    pub const CONTINUATION: Opcode = Opcode(0x0);
    /// Text (0x1): UTF-8 payload.
    pub const TEXT: Opcode = Opcode(0x1);
    /// Binary (0x2).
    pub const BINARY: Opcode = Opcode(0x2);
    /// Connection close (0x8).
    pub const CLOSE: Opcode = Opcode(0x8);
    /// Ping (0x9).
    pub const PING: Opcode = Opcode(0x9);
    /// Pong (0xA).
    pub const PONG: Opcode = Opcode(0xa);

    /// The registry name; `None` for reserved values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "continuation",
            0x1 => "text",
            0x2 => "binary",
            0x8 => "close",
            0x9 => "ping",
            0xa => "pong",
            _ => return None,
        })
    }

    /// A control frame: the high bit of the opcode is set (§5.5), reserved control values included.
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// Text or binary: the opcodes that start a data message (§5.6).
    pub fn is_data(self) -> bool {
        matches!(self, Opcode::TEXT | Opcode::BINARY)
    }
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({:#x})", self.0),
            None => write!(f, "Opcode({:#x})", self.0),
        }
    }
}

/// A frame header (RFC 6455 §5.2), read by [`Header::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low three bits; non-zero only with a negotiated extension (§5.2), such as
    /// permessage-deflate (RFC 7692, RSV1).
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, when the MASK bit is set (every frame from a client, §5.3).
    pub mask: Option<[u8; 4]>,
    /// Length of this header in bytes (2 to [`MAX_HEADER_LEN`]).
    pub len: usize,
    /// The payload length as declared.
    pub payload_len: u64,
    /// The length was written with the fewest bytes possible, as §5.2 requires.
    pub minimal_length: bool,
}

impl Header {
    /// Reads a frame header from the start of `bytes`.
    ///
    /// Errors: [`ErrorKind::Incomplete`] with the exact number of header bytes still missing;
    /// [`ErrorKind::Invalid`] for a control frame that is fragmented (offset 0) or longer than
    /// [`MAX_CONTROL_PAYLOAD`] (offset 1), or a 64-bit length with its most significant bit set (offset 2,
    /// §5.2). Reserved opcodes and RSV bits are returned as they are.
    pub fn parse(bytes: &[u8]) -> Result<Header, ParseError> {
        let incomplete = |len: usize| {
            ParseError::new(
                ErrorKind::Incomplete {
                    needed: len.saturating_sub(bytes.len()),
                },
                LAYER,
                bytes.len(),
            )
        };
        let mut r = Reader::new(bytes, LAYER);
        let [b0, b1] = r.array().map_err(|_| incomplete(2))?;
        let fin = b0 & 0x80 != 0;
        let opcode = Opcode(b0 & 0x0f);
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let len = 2 + ext + if masked { 4 } else { 0 };
        if opcode.is_control() {
            if !fin {
                return Err(ParseError::new(ErrorKind::Invalid, LAYER, 0));
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(ParseError::new(ErrorKind::Invalid, LAYER, 1));
            }
        }
        if bytes.len() < len {
            return Err(incomplete(len));
        }
        let (payload_len, minimal_length) = match ext {
            2 => {
                let n = r.u16()?;
                (u64::from(n), n > 125)
            }
            8 => {
                let n = u64::from_be_bytes(r.array()?);
                if n >> 63 != 0 {
                    return Err(ParseError::new(ErrorKind::Invalid, LAYER, 2));
                }
                (n, n > 0xffff)
            }
            _ => (u64::from(len7), true),
        };
        let mask = if masked { Some(r.array()?) } else { None };
        Ok(Header {
            fin,
            rsv: (b0 >> 4) & 0x07,
            opcode,
            mask,
            len,
            payload_len,
            minimal_length,
        })
    }

    /// Header plus payload length: the whole frame's size, as declared.
    pub fn frame_len(&self) -> u64 {
        self.payload_len.saturating_add(self.len as u64)
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ws {:?}", self.opcode)?;
        if self.fin {
            f.write_str(" fin")?;
        }
        if self.rsv != 0 {
            write!(f, " rsv={:#x}", self.rsv)?;
        }
        if self.mask.is_some() {
            f.write_str(" masked")?;
        }
        write!(f, " len={}", self.payload_len)
    }
}

/// A whole frame: its header and its payload, borrowed and still masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// The payload as it is on the wire (masked when [`Header::mask`] is set).
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Reads one frame from the start of `bytes`; the bytes after it are not looked at.
    ///
    /// Errors: those of [`Header::parse`], and [`ErrorKind::Incomplete`] with the number of payload bytes
    /// still missing (`usize::MAX` when that does not fit a `usize`).
    pub fn parse(bytes: &'a [u8]) -> Result<Frame<'a>, ParseError> {
        let header = Header::parse(bytes)?;
        let mut r = Reader::new(bytes, LAYER);
        r.skip(header.len)?;
        let available = r.remaining() as u64;
        if header.payload_len > available {
            let needed = usize::try_from(header.payload_len - available).unwrap_or(usize::MAX);
            return Err(ParseError::new(
                ErrorKind::Incomplete { needed },
                LAYER,
                bytes.len(),
            ));
        }
        // payload_len <= remaining, which is a usize.
        let n = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        let payload = r.take(n)?;
        Ok(Frame { header, payload })
    }

    /// The frame's length in bytes, header and payload.
    pub fn len(&self) -> usize {
        self.header.len.saturating_add(self.payload.len())
    }

    /// Never true: a frame has a header of at least 2 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the unmasked payload to `out` (the payload itself when the frame is not masked).
    pub fn unmask_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(self.payload);
        if let (Some(key), Some(tail)) = (self.header.mask, out.get_mut(start..)) {
            unmask(key, 0, tail);
        }
    }
}

impl fmt::Display for Frame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header.fmt(f)
    }
}

/// Unmasks (or masks: the operation is its own inverse) `data` in place with `key` (RFC 6455 §5.3), where
/// `data` starts `offset` bytes into the payload, so a payload can be unmasked in pieces.
pub fn unmask(key: [u8; 4], offset: usize, data: &mut [u8]) {
    for (b, k) in data.iter_mut().zip(key.iter().cycle().skip(offset % 4)) {
        *b ^= k;
    }
}

/// Whether a stream's first bytes may start an opening handshake: `GET ` (a request, §4.1) or
/// `HTTP/1.1 101` (the server's answer, §4.2.2), or a prefix of either when fewer bytes are there.
pub fn probe(bytes: &[u8]) -> bool {
    const STARTS: [&[u8]; 2] = [b"GET ", b"HTTP/1.1 101"];
    STARTS.iter().any(|s| {
        let n = s.len().min(bytes.len());
        !bytes.is_empty() && bytes.get(..n) == s.get(..n)
    })
}

/// The start line of an opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `GET request-target HTTP/1.1` (RFC 6455 §4.1: the method is GET, the version at least 1.1).
    Request {
        /// The request-target, as written.
        target: &'a str,
    },
    /// `HTTP/1.1 status reason`.
    Response {
        /// The status code.
        status: u16,
    },
}

/// An HTTP/1.1 header block that opens (or answers the opening of) a WebSocket connection: the start line
/// and the fields RFC 6455 §4 and RFC 7118 §4 use. Field names are matched case-insensitively; lines that
/// are not `name: value` are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// The request or status line.
    pub start: StartLine<'a>,
    /// An `Upgrade` field lists `websocket` (case-insensitive, §4.2.1 item 3).
    pub upgrade_websocket: bool,
    /// A `Connection` field lists `Upgrade` (§4.2.1 item 4).
    pub connection_upgrade: bool,
    /// A `Sec-WebSocket-Protocol` field lists `sip` (RFC 7118 §4.1, case-insensitive).
    pub sip: bool,
    /// The first `Sec-WebSocket-Protocol` value, trimmed.
    pub protocol: Option<&'a str>,
    /// The first `Sec-WebSocket-Extensions` value, trimmed (`permessage-deflate` compresses payloads).
    pub extensions: Option<&'a str>,
    /// Length of the header block, up to and including the empty line's CRLF; frames start here.
    pub len: usize,
}

impl<'a> Handshake<'a> {
    /// Reads the header block at the start of `bytes`, which ends at the first CRLFCRLF.
    ///
    /// Errors: [`ErrorKind::Incomplete`] until the CRLFCRLF is there; [`ErrorKind::LimitExceeded`] when it
    /// is not within [`MAX_HANDSHAKE_LEN`] bytes; [`ErrorKind::Invalid`] (offset 0) when the start line is
    /// neither `GET target HTTP/1.1` nor `HTTP/1.1 NNN reason`.
    pub fn parse(bytes: &'a [u8]) -> Result<Handshake<'a>, ParseError> {
        let window = bytes
            .get(..bytes.len().min(MAX_HANDSHAKE_LEN))
            .unwrap_or(bytes);
        let Some(end) = memchr::memmem::find(window, b"\r\n\r\n") else {
            if bytes.len() >= MAX_HANDSHAKE_LEN {
                return Err(ParseError::new(
                    ErrorKind::LimitExceeded,
                    LAYER,
                    MAX_HANDSHAKE_LEN,
                ));
            }
            // The longest end of the buffer that begins a CRLFCRLF.
            let have = (1..=3)
                .rev()
                .find(|&k| b"\r\n\r\n".get(..k).is_some_and(|p| bytes.ends_with(p)))
                .unwrap_or(0);
            return Err(ParseError::new(
                ErrorKind::Incomplete { needed: 4 - have },
                LAYER,
                bytes.len(),
            ));
        };
        let invalid = ParseError::new(ErrorKind::Invalid, LAYER, 0);
        let head = bytes.get(..end).unwrap_or(&[]);
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let first = lines.next().unwrap_or(&[]);
        let start = start_line(first).ok_or(invalid)?;
        let mut h = Handshake {
            start,
            upgrade_websocket: false,
            connection_upgrade: false,
            sip: false,
            protocol: None,
            extensions: None,
            len: end + 4,
        };
        for line in lines {
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let (Some(name), Some(value)) = (line.get(..colon), line.get(colon + 1..)) else {
                continue;
            };
            let value = value.trim_ascii();
            let lists = |token: &str| {
                value
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
            };
            if name.eq_ignore_ascii_case(b"upgrade") {
                h.upgrade_websocket |= lists("websocket");
            } else if name.eq_ignore_ascii_case(b"connection") {
                h.connection_upgrade |= lists("upgrade");
            } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
                h.sip |= lists("sip");
                if h.protocol.is_none() {
                    h.protocol = std::str::from_utf8(value).ok();
                }
            } else if name.eq_ignore_ascii_case(b"sec-websocket-extensions")
                && h.extensions.is_none()
            {
                h.extensions = std::str::from_utf8(value).ok();
            }
        }
        Ok(h)
    }

    /// A `GET` request asking to upgrade to WebSocket with the `sip` subprotocol (RFC 7118 §4.1).
    pub fn is_sip_upgrade(&self) -> bool {
        matches!(self.start, StartLine::Request { .. }) && self.upgrade_websocket && self.sip
    }

    /// A `101 Switching Protocols` answer upgrading to WebSocket (RFC 6455 §4.2.2): frames follow it.
    pub fn is_switching(&self) -> bool {
        self.start == StartLine::Response { status: 101 } && self.upgrade_websocket
    }
}

impl fmt::Display for Handshake<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.start {
            StartLine::Request { target } => write!(f, "http GET {target}")?,
            StartLine::Response { status } => write!(f, "http {status}")?,
        }
        if self.upgrade_websocket {
            f.write_str(" upgrade=websocket")?;
        }
        if let Some(p) = self.protocol {
            write!(f, " protocol={p}")?;
        }
        write!(f, " len={}", self.len)
    }
}

/// `GET SP target SP HTTP/1.1` or `HTTP/1.1 SP 3DIGIT [SP reason]` (RFC 9112 §3, §4).
fn start_line(line: &[u8]) -> Option<StartLine<'_>> {
    if let Some(rest) = line.strip_prefix(b"GET ") {
        let target = rest.strip_suffix(b" HTTP/1.1")?;
        if target.is_empty() || target.iter().any(|b| b.is_ascii_whitespace()) {
            return None;
        }
        return Some(StartLine::Request {
            target: std::str::from_utf8(target).ok()?,
        });
    }
    let rest = line.strip_prefix(b"HTTP/1.1 ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || !matches!(rest.get(3), None | Some(b' ')) {
        return None;
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some(StartLine::Response { status })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 §5.7: a single-frame masked text message (the §5.7 examples are in `tests/ws_rfc6455.rs`).
    const HELLO_MASKED: [u8; 11] = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];

    #[test]
    fn unmasking_in_pieces_keeps_the_key_position() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut data = HELLO_MASKED[6..].to_vec();
        let (a, b) = data.split_at_mut(3);
        unmask(key, 0, a);
        unmask(key, 3, b);
        assert_eq!(data, b"Hello");
    }

    #[test]
    fn a_short_header_says_how_many_bytes_are_missing() {
        assert_eq!(
            Header::parse(&[]).unwrap_err().kind,
            ErrorKind::Incomplete { needed: 2 }
        );
        assert_eq!(
            Header::parse(&[0x81]).unwrap_err().kind,
            ErrorKind::Incomplete { needed: 1 }
        );
        assert_eq!(
            Header::parse(&[0x82, 0xff, 0, 0]).unwrap_err().kind,
            ErrorKind::Incomplete { needed: 10 }
        );
        assert_eq!(
            Frame::parse(&HELLO_MASKED[..8]).unwrap_err(),
            ParseError::new(ErrorKind::Incomplete { needed: 3 }, Layer::WebSocket, 8)
        );
    }

    #[test]
    fn bad_control_frames_and_lengths_are_invalid() {
        // A fragmented ping, a 126-byte close, a 64-bit length with the top bit set.
        for (bytes, off) in [
            (&[0x09u8, 0x00][..], 0),
            (&[0x88, 0x7e, 0x00, 0x7e][..], 1),
            (&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0][..], 2),
        ] {
            let e = Header::parse(bytes).unwrap_err();
            assert_eq!(
                (e.kind, e.layer, e.offset),
                (ErrorKind::Invalid, Layer::WebSocket, off)
            );
        }
    }

    #[test]
    fn reserved_values_stay_values() {
        let h = Header::parse(&[0xf3, 0x7e, 0x00, 0x05]).unwrap();
        assert_eq!((h.rsv, h.opcode, h.opcode.name()), (7, Opcode(3), None));
        assert!(!h.minimal_length, "5 written in 16 bits");
    }

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.77.0.1:8080\r\nUpgrade: WebSocket\r\n\
Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Protocol: msrp, SIP\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x05Hello";
    const RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n";

    #[test]
    fn a_sip_upgrade_request_is_recognised() {
        let h = Handshake::parse(REQUEST).unwrap();
        assert_eq!(h.start, StartLine::Request { target: "/" });
        assert!(h.upgrade_websocket && h.connection_upgrade && h.sip);
        assert!(h.is_sip_upgrade() && !h.is_switching());
        assert_eq!(h.protocol, Some("msrp, SIP"));
        assert_eq!(REQUEST.get(h.len..), Some(&b"\x81\x05Hello"[..]));
        assert_eq!(
            h.to_string(),
            format!(
                "http GET / upgrade=websocket protocol=msrp, SIP len={}",
                h.len
            )
        );
    }

    #[test]
    fn a_switching_protocols_answer_is_recognised() {
        let h = Handshake::parse(RESPONSE).unwrap();
        assert_eq!(h.start, StartLine::Response { status: 101 });
        assert!(h.is_switching() && !h.is_sip_upgrade() && h.sip);
        assert_eq!(h.len, RESPONSE.len());
    }

    #[test]
    fn other_http_is_not_a_sip_upgrade() {
        let plain = Handshake::parse(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert!(!plain.is_sip_upgrade());
        let chat = Handshake::parse(
            b"GET /c HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat, sipx\r\n\r\n",
        )
        .unwrap();
        assert!(!chat.is_sip_upgrade());
        let ok = Handshake::parse(b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n\r\n").unwrap();
        assert!(!ok.is_switching());
        for bad in [
            &b"POST / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET  HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 1x1 Nope\r\n\r\n",
        ] {
            assert_eq!(Handshake::parse(bad).unwrap_err().kind, ErrorKind::Invalid);
        }
    }

    #[test]
    fn an_unfinished_handshake_waits_and_a_huge_one_is_refused() {
        for cut in [0, 1, 20, REQUEST.len() - 10] {
            let e = Handshake::parse(&REQUEST[..cut]).unwrap_err();
            assert!(
                matches!(e.kind, ErrorKind::Incomplete { .. }),
                "cut {cut}: {e}"
            );
        }
        assert_eq!(
            Handshake::parse(b"GET / HTTP/1.1\r\n\r").unwrap_err().kind,
            ErrorKind::Incomplete { needed: 1 }
        );
        assert_eq!(
            Handshake::parse(b"GET / HTTP/1.1\r\n").unwrap_err().kind,
            ErrorKind::Incomplete { needed: 2 }
        );
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.resize(MAX_HANDSHAKE_LEN, b'a');
        assert_eq!(
            Handshake::parse(&big).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
    }

    #[test]
    fn probe_accepts_handshake_starts_only() {
        assert!(probe(b"GET / HTTP/1.1\r\n"));
        assert!(probe(b"GE"));
        assert!(probe(b"HTTP/1.1 101 Switching"));
        assert!(!probe(b"HTTP/1.1 200 OK"));
        assert!(!probe(b"REGISTER sip:x SIP/2.0"));
        assert!(!probe(b""));
    }
}
