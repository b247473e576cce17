//! SIP (RFC 3261): a zero-copy, lenient message parser.
//!
//! [`Message::parse`] reads one message in a single pass over a borrowed buffer. Every value it hands back
//! is a span of that buffer: the start line, a fixed-size index of the header fields the sensor uses
//! (first occurrence and count, compact forms of RFC 3261 §7.3.3 folded onto their long names), a lazy
//! iterator over every header field ([`Message::headers`]), and the body checked against Content-Length.
//! Nothing is allocated per message.
//!
//! Leniency: whatever can be read is returned, and departures from the grammar are recorded in
//! [`Anomalies`] (line folding, bare LF line ends, duplicate or conflicting Content-Length, missing
//! mandatory header fields, ...). An error means there is no usable start line.
//!
//! For stream transports, [`frame`] finds where the first message of a buffer ends (RFC 3261 §18.3),
//! or says how many more bytes are needed, and treats the CRLF keep-alives of RFC 5626 §3.5.1 as frames
//! of their own. [`probe`] classifies a payload as SIP by content, so SIP is found on any port.
//!
//! Errors are attributed to [`Layer::Udp`] for [`Message::parse`] (a datagram payload that holds no SIP
//! start line) and to [`Layer::Tcp`] for [`frame`] (a stream that cannot be framed): the crate has no
//! SIP layer label, and adding one would change the sensor's per-layer counters.
//!
//! ```
//! use callguard_parsers::sip::{Anomalies, Message, Method};
//! let msg = Message::parse(
//!     b"INVITE sip:bob@example.com SIP/2.0\r\n\
//!       v: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
//!       f: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n\
//!       t: <sip:bob@example.com>\r\n\
//!       i: a84b4c76e66710\r\n\
//!       CSeq: 314159 INVITE\r\n\
//!       l: 0\r\n\r\n",
//! )?;
//! assert_eq!(msg.method(), Some(Method::Invite));
//! assert_eq!(msg.via_top().and_then(|v| v.branch()), Some("z9hG4bK776asdhds"));
//! assert_eq!(msg.from().and_then(|f| f.tag()), Some("1928301774"));
//! assert_eq!(msg.call_id(), Some("a84b4c76e66710"));
//! assert_eq!(msg.anomalies(), Anomalies::NONE);
//! # Ok::<(), callguard_parsers::ParseError>(())
//! ```

mod auth;
mod header;
mod message;
mod uri;

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use crate::error::{ErrorKind, Layer, ParseError};

pub use auth::{AuthParam, AuthParams, Challenge, Credentials};
pub use header::{
    CSeq, Header, Headers, MediaType, Name, NameAddr, Param, ParamIter, Params, Segments, Text, Via,
};
pub use message::{Message, StartLine};
pub use uri::{Host, HostPort, Scheme, Uri};

/// Header fields [`Message::headers`] yields and the index covers, per message. Real messages carry 10 to
/// 40; the bound keeps the work on hostile input linear in a small constant. Fields past it are still
/// skipped over to find the body, and set [`Anomalies::HEADER_LIMIT`].
pub const MAX_HEADERS: usize = 128;

/// Largest message [`frame`] accepts from a stream, start line to end of body. RFC 3261 §18.1.1 sets no
/// bound for TCP; this is the largest UDP payload, which is what every SIP element also has to handle.
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// How many bytes [`probe`] looks at. A request line longer than this is still recognised by its method
/// and URI scheme.
pub const PROBE_WINDOW: usize = 512;

/// Longest method token [`probe`] accepts. The longest registered method (SUBSCRIBE) has 9 characters.
pub const PROBE_MAX_METHOD_LEN: usize = 32;

/// The request method (RFC 3261 §7.1, `Method`): the registered methods of RFC 3261, 3262 (PRACK), 6665
/// (SUBSCRIBE, NOTIFY), 3311 (UPDATE), 3428 (MESSAGE), 3515 (REFER), 3903 (PUBLISH) and 6086 (INFO).
/// Any other token is kept as [`Method::Other`]. Methods are case-sensitive (RFC 3261 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// INVITE (RFC 3261 §13).
    Invite,
    /// ACK (RFC 3261 §17.1.1.3).
    Ack,
    /// BYE (RFC 3261 §15).
    Bye,
    /// CANCEL (RFC 3261 §9).
    Cancel,
    /// REGISTER (RFC 3261 §10).
    Register,
    /// OPTIONS (RFC 3261 §11).
    Options,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// PUBLISH (RFC 3903).
    Publish,
    /// INFO (RFC 6086).
    Info,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// UPDATE (RFC 3311).
    Update,
    /// Any other token, as written.
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// The method named by `token` (case-sensitive, RFC 3261 §7.1).
    pub fn parse(token: &'a str) -> Self {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "PUBLISH" => Method::Publish,
            "INFO" => Method::Info,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "UPDATE" => Method::Update,
            other => Method::Other(other),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Info => "INFO",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Update => "UPDATE",
            Method::Other(s) => s,
        }
    }

    /// Whether this is one of the registered methods listed above.
    pub fn is_known(&self) -> bool {
        !matches!(self, Method::Other(_))
    }
}

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol version of a start line (RFC 3261 §7.1, `SIP-Version`), as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version<'a>(&'a str);

impl<'a> Version<'a> {
    /// The version as written, e.g. `SIP/2.0`.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether it is `SIP/2.0` (compared case-insensitively, as ABNF literals are).
    pub fn is_sip_2_0(&self) -> bool {
        self.0.eq_ignore_ascii_case("SIP/2.0")
    }

    /// Whether it matches `SIP-Version` = "SIP" "/" 1*DIGIT "." 1*DIGIT, whatever the numbers.
    pub fn is_well_formed(&self) -> bool {
        is_sip_version(self.0)
    }
}

impl fmt::Display for Version<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// `SIP-Version` = "SIP" "/" 1*DIGIT "." 1*DIGIT (RFC 3261 §25.1).
fn is_sip_version(s: &str) -> bool {
    let Some(rest) = s
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and_then(|_| s.get(4..))
    else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

macro_rules! anomalies {
    ($($(#[$doc:meta])* $name:ident = $bit:expr, $slug:literal;)*) => {
        impl Anomalies {
            $($(#[$doc])* pub const $name: Anomalies = Anomalies(1 << $bit);)*

            const NAMES: &'static [(Anomalies, &'static str, &'static str)] =
                &[$((Anomalies::$name, stringify!($name), $slug),)*];
        }
    };
}

/// Departures from the grammar seen while parsing, recorded rather than fatal (a set of bit flags).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Anomalies(u32);

anomalies! {
    /// A header value continues on a line starting with SP or HT (RFC 3261 §7.3.1): legal, but rare and
    /// a known way to slip past naive filters.
    FOLDED = 0, "folded";
    /// A line ends in a bare LF instead of CRLF (RFC 3261 §7).
    LF_ONLY = 1, "lf-only";
    /// More than one Content-Length header field.
    DUPLICATE_CONTENT_LENGTH = 2, "duplicate-content-length";
    /// Content-Length header fields disagree with each other (RFC 4475 §3.3.9).
    CONTENT_LENGTH_MISMATCH = 3, "content-length-mismatch";
    /// The body is shorter than Content-Length says (RFC 4475 §3.1.2.2).
    BODY_TRUNCATED = 4, "body-truncated";
    /// Bytes follow the body that Content-Length declares (RFC 4475 §3.1.1.8).
    BODY_EXTRA = 5, "body-extra";
    /// More than [`MAX_HEADERS`] header fields; the rest are not indexed.
    HEADER_LIMIT = 6, "header-limit";
    /// One of Via, From, To, Call-ID or CSeq is missing (RFC 3261 §8.1.1, RFC 4475 §3.3.1).
    MISSING_MANDATORY = 7, "missing-mandatory";
    /// CSeq is not `1*DIGIT LWS Method` or its number is not below 2**31 (RFC 3261 §20.16).
    BAD_CSEQ = 8, "bad-cseq";
    /// Content-Length is not `1*DIGIT` or does not fit (RFC 3261 §20.14, RFC 4475 §3.1.2.3).
    BAD_CONTENT_LENGTH = 9, "bad-content-length";
    /// A header line without a colon or with a name that is not a `token`; it is skipped.
    INVALID_HEADER_LINE = 10, "invalid-header-line";
    /// A header value is not UTF-8 (RFC 3261 §7.3.1 `TEXT-UTF8`); it is iterated but not indexed.
    NON_UTF8 = 11, "non-utf8";
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.17).
    CSEQ_METHOD_MISMATCH = 12, "cseq-method-mismatch";
    /// Max-Forwards is not `1*DIGIT` in 0..=255 (RFC 3261 §20.22, RFC 4475 §3.1.2.4).
    BAD_MAX_FORWARDS = 13, "bad-max-forwards";
    /// More than one SP between request-line elements, or whitespace at its end (RFC 4475 §3.1.2.9-10).
    START_LINE_WHITESPACE = 14, "start-line-whitespace";
    /// The Request-URI is in `<>`, holds whitespace, carries URI headers or does not parse
    /// (RFC 4475 §3.1.2.7, §3.1.2.8, §3.1.2.11).
    BAD_REQUEST_URI = 15, "bad-request-uri";
    /// The start line's version is not SIP/2.0 (RFC 4475 §3.1.2.16).
    UNKNOWN_VERSION = 16, "unknown-version";
    /// A Via value does not match `via-parm`, or a Via list has empty elements (RFC 4475 §3.1.2.1).
    BAD_VIA = 17, "bad-via";
    /// A From, To, Contact, Route or Record-Route value does not match `name-addr` / `addr-spec`
    /// (RFC 4475 §3.1.2.6, §3.1.2.13-15).
    BAD_NAME_ADDR = 18, "bad-name-addr";
    /// A header field that may appear once (From, To, Call-ID, CSeq, Max-Forwards, Content-Type) appears
    /// more than once (RFC 4475 §3.3.8).
    DUPLICATE_SINGLE_HEADER = 19, "duplicate-single-header";
    /// The header section ends with the data instead of an empty line.
    UNTERMINATED_HEADERS = 20, "unterminated-headers";
    /// A Date value is not in GMT (RFC 3261 §20.17, RFC 4475 §3.1.2.12).
    BAD_DATE = 21, "bad-date";
    /// An Expires value or a Contact `expires` parameter is not a 32-bit `delta-seconds`
    /// (RFC 3261 §20.19, RFC 4475 §3.1.2.4).
    BAD_EXPIRES = 22, "bad-expires";
    /// CRLFs precede the start line (ignored, RFC 3261 §7.5).
    LEADING_CRLF = 23, "leading-crlf";
}

impl Anomalies {
    /// No anomaly.
    pub const NONE: Anomalies = Anomalies(0);

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set here.
    pub const fn contains(self, other: Anomalies) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Anomalies) {
        self.0 |= other.0;
    }

    /// Sets the flags of `other` when `cond` holds.
    pub(crate) fn set_if(&mut self, cond: bool, other: Anomalies) {
        if cond {
            self.insert(other);
        }
    }

    /// Every flag.
    pub fn all() -> Anomalies {
        Anomalies(Self::NAMES.iter().fold(0, |bits, (flag, ..)| bits | flag.0))
    }

    /// The names of the flags that are set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .iter()
            .filter(move |(flag, ..)| self.contains(*flag))
            .map(|(_, name, _)| *name)
    }

    /// The same flags as kebab-case slugs (`missing-mandatory`), as events and alerts name them.
    pub fn slugs(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .iter()
            .filter(move |(flag, ..)| self.contains(*flag))
            .map(|(.., slug)| *slug)
    }
}

impl BitOr for Anomalies {
    type Output = Anomalies;
    fn bitor(self, rhs: Anomalies) -> Anomalies {
        Anomalies(self.0 | rhs.0)
    }
}

impl BitOrAssign for Anomalies {
    fn bitor_assign(&mut self, rhs: Anomalies) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Anomalies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Anomalies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Anomalies({self})")
    }
}

/// Whether `bytes` looks like the start of a SIP message, by content alone (so SIP is found on any port):
/// a status line `SIP/2.0 DDD`, or a request line whose method is a `token` followed by a `sip:`,
/// `sips:` or `tel:` URI and `SIP/2.0` (or any URI when the method is a registered one). Leading CRLFs
/// are skipped; only [`PROBE_WINDOW`] bytes are read.
pub fn probe(bytes: &[u8]) -> bool {
    // Fast exit for media: a SIP message starts with a method token, "SIP/2.0" or keep-alive CRLFs, never
    // with a byte of 0x80 and above as RTP, RTCP and DTLS do (this runs on every UDP packet).
    if !bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'\r' | b'\n'))
    {
        return false;
    }
    let lead = bytes
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    let rest = bytes.get(lead..).unwrap_or(&[]);
    let window = rest.get(..PROBE_WINDOW.min(rest.len())).unwrap_or(&[]);
    let (line, complete) = match memchr::memchr2(b'\r', b'\n', window) {
        Some(end) => (window.get(..end).unwrap_or(&[]), true),
        None => (window, false),
    };
    if let Some(status) = strip_prefix_ci(line, b"SIP/2.0 ") {
        let code = status.get(..3).unwrap_or(&[]);
        return code.len() == 3
            && code.iter().all(u8::is_ascii_digit)
            && matches!(status.get(3), None | Some(b' '));
    }
    let Some(sp) = memchr::memchr(b' ', line) else {
        return false;
    };
    let method = line.get(..sp).unwrap_or(&[]);
    if method.is_empty()
        || method.len() > PROBE_MAX_METHOD_LEN
        || !method.iter().all(|&b| is_token(b))
    {
        return false;
    }
    let after = line.get(sp.saturating_add(1)..).unwrap_or(&[]);
    let sip_scheme = [&b"sip:"[..], b"sips:", b"tel:"]
        .iter()
        .any(|s| strip_prefix_ci(after, s).is_some());
    let known = std::str::from_utf8(method).is_ok_and(|m| Method::parse(m).is_known());
    let version_ok = line.len() >= 8
        && line
            .get(line.len().saturating_sub(8)..)
            .is_some_and(|v| v.eq_ignore_ascii_case(b" SIP/2.0"));
    if !complete {
        // A request line longer than the window: judge by method and scheme.
        return known && sip_scheme;
    }
    version_ok && (sip_scheme || known && memchr::memchr(b':', after).is_some())
}

fn strip_prefix_ci<'b>(s: &'b [u8], prefix: &[u8]) -> Option<&'b [u8]> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// `token` characters (RFC 3261 §25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Whether every character of `s` is a `token` character and `s` is not empty (RFC 3261 §25.1 `token`).
pub(crate) fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// Length of the first complete message in a stream buffer (RFC 3261 §18.3): the header section up to
/// and including the empty line, plus Content-Length bytes of body (0 when the field is missing).
///
/// CRLFs before a start line are keep-alives (RFC 5626 §3.5.1: a "\r\n\r\n" ping or a "\r\n" pong) and
/// form a frame of their own: `frame` returns their length, and [`is_keepalive`] is true for that slice.
///
/// Errors ([`Layer::Tcp`]): [`ErrorKind::Incomplete`] with a lower bound of the bytes still needed when
/// the message is not all there yet; [`ErrorKind::Invalid`] when Content-Length is not a number or
/// differs between fields, at the offset of the field; [`ErrorKind::LimitExceeded`] when the message is
/// longer than [`MAX_MESSAGE_LEN`].
pub fn frame(bytes: &[u8]) -> Result<usize, ParseError> {
    let err = |kind, offset| ParseError::new(kind, Layer::Tcp, offset);
    let lead = bytes
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if lead > 0 {
        if lead == bytes.len() && bytes.last() == Some(&b'\r') {
            // The last CR may be the first half of a CRLF still on its way.
            return match lead {
                1 => Err(err(ErrorKind::Incomplete { needed: 1 }, 0)),
                n => Ok(n.saturating_sub(1)),
            };
        }
        return Ok(lead);
    }
    let Some(head_len) = header_section_len(bytes) else {
        if bytes.len() >= MAX_MESSAGE_LEN {
            return Err(err(ErrorKind::LimitExceeded, MAX_MESSAGE_LEN));
        }
        let needed = if bytes.ends_with(b"\n") || bytes.ends_with(b"\r") {
            1
        } else {
            2
        };
        return Err(err(ErrorKind::Incomplete { needed }, bytes.len()));
    };
    let head = bytes.get(..head_len).unwrap_or(&[]);
    let mut length: Option<usize> = None;
    for h in Headers::new_unbounded(head) {
        if h.kind() != Some(Name::ContentLength) {
            continue;
        }
        let v = h
            .value
            .as_str()
            .and_then(|s| parse_decimal(trim_lws(s)))
            .ok_or_else(|| err(ErrorKind::Invalid, h.offset))?;
        match length {
            Some(prev) if prev != v => return Err(err(ErrorKind::Invalid, h.offset)),
            _ => length = Some(v),
        }
    }
    let total = head_len
        .checked_add(length.unwrap_or(0))
        .filter(|&t| t <= MAX_MESSAGE_LEN)
        .ok_or_else(|| err(ErrorKind::LimitExceeded, head_len))?;
    if total > bytes.len() {
        return Err(err(
            ErrorKind::Incomplete {
                needed: total.saturating_sub(bytes.len()),
            },
            bytes.len(),
        ));
    }
    Ok(total)
}

/// Whether `frame` is a CRLF keep-alive (RFC 5626 §3.5.1): non-empty and nothing but CR and LF.
pub fn is_keepalive(frame: &[u8]) -> bool {
    !frame.is_empty() && frame.iter().all(|b| matches!(b, b'\r' | b'\n'))
}

/// Length of the header section of `bytes` (start line through the empty line, inclusive), if the empty
/// line is there. Bare LF line ends are accepted.
pub(crate) fn header_section_len(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    loop {
        let rest = bytes.get(pos..)?;
        let lf = memchr::memchr(b'\n', rest)?;
        let line = rest.get(..lf)?;
        let next = pos.checked_add(lf)?.checked_add(1)?;
        if pos > 0 && (line.is_empty() || line == b"\r") {
            return Some(next);
        }
        pos = next;
    }
}

/// `1*DIGIT` as a `usize`, `None` when empty, not digits, or too large.
pub(crate) fn parse_decimal(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `s` without leading and trailing linear white space (SP, HT, CR, LF: RFC 3261 §25.1 `LWS`).
pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_recognises_requests_and_responses_by_content() {
        assert!(probe(b"INVITE sip:bob@example.com SIP/2.0\r\n"));
        assert!(probe(b"\r\nSIP/2.0 180 Ringing\r\n"));
        assert!(probe(b"FOO sip:x@y SIP/2.0\r\n"));
        assert!(probe(b"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n"));
        assert!(probe(b"INVITE sip:truncated-in-the-middle-of-the-ur"));
        assert!(!probe(b"GET / HTTP/1.1\r\n"));
        assert!(!probe(b"FOO http://x SIP/2.0\r\n"));
        assert!(!probe(b"SIP/2.0 20 OK\r\n"));
        assert!(!probe(b""));
        assert!(!probe(b"\x80\x00\x01"));
    }

    #[test]
    fn anomalies_display_their_names() {
        let a = Anomalies::FOLDED | Anomalies::LF_ONLY;
        assert_eq!(a.to_string(), "FOLDED|LF_ONLY");
        assert!(a.contains(Anomalies::FOLDED));
        assert!(!a.contains(Anomalies::BODY_EXTRA));
        assert_eq!(Anomalies::NONE.to_string(), "none");
        assert_eq!(Anomalies::NAMES.len(), 24);
    }

    #[test]
    fn methods_are_case_sensitive_and_unknown_ones_kept() {
        assert_eq!(Method::parse("INVITE"), Method::Invite);
        assert_eq!(Method::parse("invite"), Method::Other("invite"));
        assert_eq!(Method::parse("NEWMETHOD").as_str(), "NEWMETHOD");
        assert!(!Method::parse("NEWMETHOD").is_known());
    }

    #[test]
    fn versions_are_checked_against_the_abnf() {
        assert!(Version("SIP/2.0").is_sip_2_0());
        assert!(Version("sip/2.0").is_sip_2_0());
        assert!(Version("SIP/7.0").is_well_formed());
        assert!(!Version("SIP/7.0").is_sip_2_0());
        assert!(!Version("SIP/2").is_well_formed());
        assert!(!Version("HTTP/1.1").is_well_formed());
    }
}
