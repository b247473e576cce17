//! SDP, the Session Description Protocol (RFC 8866, which obsoletes RFC 4566): a zero-copy, lenient
//! decoder for the bodies of SIP offers and answers.
//!
//! [`Session::parse`] walks the body once, line by line. Every value it returns is a span of the body (or a
//! number read from one); nothing is copied and nothing allocates. What deviates from the RFC is recorded
//! in [`Anomalies`] and parsing goes on: the only errors are an empty body and one that does not start with
//! `v=` (RFC 8866 §5: "An SDP description ... begins with a `v=` line").
//!
//! - Session-level fields are read eagerly: `v=`, `o=` ([`Origin`]), `s=`, `c=` ([`Connection`]), `b=`,
//!   `t=` and the session-level attributes that media inherit (direction, `setup`, `fingerprint`,
//!   `ice-ufrag`, `ice-pwd`) plus `group:BUNDLE`.
//! - Media sections come from [`Session::media`], a lazy iterator (no `Vec`) bounded by [`MAX_MEDIA`].
//! - Every line, known or not, stays reachable through [`Session::lines`].
//!
//! Secrets: `a=crypto` key material (RFC 4568) and the `a=ice-pwd` value (RFC 8839) are never stored in a
//! field, and no `Debug` or `Display` in this module prints them.
//!
//! ```
//! use callguard_parsers::sdp::{Direction, Proto, Session};
//! let body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
//!              m=audio 49170 RTP/AVP 0\r\na=sendonly\r\n";
//! let s = Session::parse(body)?;
//! let m = s.media().next().expect("one media");
//! assert_eq!((m.port(), m.proto(), m.direction()), (49170, Proto::RtpAvp, Direction::SendOnly));
//! assert_eq!(m.rtcp_port(), Some(49171));
//! assert!(s.anomalies().is_empty());
//! # Ok::<(), callguard_parsers::ParseError>(())
//! ```

mod attr;
mod fields;
mod line;
mod media;
mod payload;

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

pub use attr::{
    Attribute, Attributes, Candidate, CandidateType, Crypto, Direction, Fingerprint,
    FingerprintBytes, Fmtp, Group, Rtcp, Rtpmap, Setup, Ssrc, ZrtpHash,
};
pub use fields::{AddrType, Bandwidth, Connection, NetType, Origin, Timing};
pub use line::{Line, LineEnding, Lines};
pub use media::{Codec, Codecs, Media, MediaIter, MediaKind, Proto};
pub use payload::{StaticPayload, static_payload};

use crate::bytes::Reader;
use crate::error::{ErrorKind, Layer, ParseError};

/// Most media sections [`Session::media`] yields; more are counted as [`Anomalies::MEDIA_LIMIT`]. A SIP call
/// has a handful; a unified-plan WebRTC offer has one per track, and 64 covers large conferences.
pub const MAX_MEDIA: usize = 64;

/// Most `<fmt>` tokens of one `m=` line that [`Media::codecs`] looks at; more are counted as
/// [`Anomalies::FORMAT_LIMIT`]. RTP has 128 payload types (RFC 3550 §5.1), so a longer list repeats some.
pub const MAX_FORMATS: usize = 128;

/// Longest fingerprint [`Fingerprint::decode`] holds: 64 bytes, a SHA-512 digest, the longest hash RFC 8122
/// §5 names.
pub const MAX_FINGERPRINT_LEN: usize = 64;

/// The layer SDP errors are attributed to. [`Layer`] has no application-layer variant yet; SDP rides in
/// SIP, which rides in UDP or TCP, and errors here are rare (see [`Session::parse`]).
const LAYER: Layer = Layer::Udp;

/// Deviations from RFC 8866 found while parsing: recorded, never fatal. A small bit set (no dependency).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Anomalies(u32);

impl Anomalies {
    /// A line ended in a bare LF instead of CRLF (RFC 8866 §5 tolerates it on input).
    pub const LF_ONLY: Self = Self(1);
    /// An empty line (RFC 8866 §5 has none).
    pub const EMPTY_LINE: Self = Self(1 << 1);
    /// A line not of the form `<lower-case letter>=<value>` (RFC 8866 §5).
    pub const MALFORMED_LINE: Self = Self(1 << 2);
    /// A line type RFC 8866 §5 does not define.
    pub const UNKNOWN_LINE_TYPE: Self = Self(1 << 3);
    /// A value that is not UTF-8 (RFC 8866 §5: ISO 10646 in UTF-8); such lines are only reachable through
    /// [`Session::lines`].
    pub const NON_UTF8: Self = Self(1 << 4);
    /// `v=` is not `0` (RFC 8866 §5.1).
    pub const VERSION_NOT_ZERO: Self = Self(1 << 5);
    /// No `o=` line (RFC 8866 §5.2 makes it mandatory).
    pub const MISSING_ORIGIN: Self = Self(1 << 6);
    /// No `s=` line (RFC 8866 §5.3).
    pub const MISSING_SESSION_NAME: Self = Self(1 << 7);
    /// No `t=` line (RFC 8866 §5.9).
    pub const MISSING_TIMING: Self = Self(1 << 8);
    /// An `o=` line without its six fields.
    pub const BAD_ORIGIN: Self = Self(1 << 9);
    /// A `c=` line (or the address of `a=rtcp`) that could not be read.
    pub const BAD_CONNECTION: Self = Self(1 << 10);
    /// A `t=` line that could not be read.
    pub const BAD_TIMING: Self = Self(1 << 11);
    /// A `b=` line that could not be read.
    pub const BAD_BANDWIDTH: Self = Self(1 << 12);
    /// An `m=` line without its media, port, proto or format list.
    pub const BAD_MEDIA: Self = Self(1 << 13);
    /// An `m=` port or port count that is not a 16-bit number.
    pub const BAD_PORT: Self = Self(1 << 14);
    /// A known attribute whose value could not be read ([`Attribute::Invalid`]).
    pub const BAD_ATTRIBUTE: Self = Self(1 << 15);
    /// A session-level line that may appear once (`v o s i u c z k`) appears again.
    pub const DUPLICATE_LINE: Self = Self(1 << 16);
    /// An attribute that may appear once per level appears again: a direction, `ptime`, `maxptime`, `rtcp`,
    /// `rtcp-mux`, `setup`, `mid`, `label`, `ice-ufrag`, `ice-pwd`, or an `rtpmap` for the same payload type.
    pub const DUPLICATE_ATTRIBUTE: Self = Self(1 << 17);
    /// A session-only line (`v o s u e p t r z`) inside a media section.
    pub const MISPLACED_LINE: Self = Self(1 << 18);
    /// A media section with no `c=`, and none at session level (RFC 8866 §5.7).
    pub const NO_CONNECTION: Self = Self(1 << 19);
    /// More than [`MAX_MEDIA`] media sections.
    pub const MEDIA_LIMIT: Self = Self(1 << 20);
    /// An `m=` line with more than [`MAX_FORMATS`] formats.
    pub const FORMAT_LIMIT: Self = Self(1 << 21);

    const NAMES: [(Self, &'static str); 22] = [
        (Self::LF_ONLY, "LF_ONLY"),
        (Self::EMPTY_LINE, "EMPTY_LINE"),
        (Self::MALFORMED_LINE, "MALFORMED_LINE"),
        (Self::UNKNOWN_LINE_TYPE, "UNKNOWN_LINE_TYPE"),
        (Self::NON_UTF8, "NON_UTF8"),
        (Self::VERSION_NOT_ZERO, "VERSION_NOT_ZERO"),
        (Self::MISSING_ORIGIN, "MISSING_ORIGIN"),
        (Self::MISSING_SESSION_NAME, "MISSING_SESSION_NAME"),
        (Self::MISSING_TIMING, "MISSING_TIMING"),
        (Self::BAD_ORIGIN, "BAD_ORIGIN"),
        (Self::BAD_CONNECTION, "BAD_CONNECTION"),
        (Self::BAD_TIMING, "BAD_TIMING"),
        (Self::BAD_BANDWIDTH, "BAD_BANDWIDTH"),
        (Self::BAD_MEDIA, "BAD_MEDIA"),
        (Self::BAD_PORT, "BAD_PORT"),
        (Self::BAD_ATTRIBUTE, "BAD_ATTRIBUTE"),
        (Self::DUPLICATE_LINE, "DUPLICATE_LINE"),
        (Self::DUPLICATE_ATTRIBUTE, "DUPLICATE_ATTRIBUTE"),
        (Self::MISPLACED_LINE, "MISPLACED_LINE"),
        (Self::NO_CONNECTION, "NO_CONNECTION"),
        (Self::MEDIA_LIMIT, "MEDIA_LIMIT"),
        (Self::FORMAT_LIMIT, "FORMAT_LIMIT"),
    ];

    /// No anomaly.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True when nothing was recorded.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// The bits of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// The names of the bits that are set, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl BitOr for Anomalies {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Anomalies {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Anomalies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, n) in self.names().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            f.write_str(n)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Anomalies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Anomalies({self})")
    }
}

/// Attributes that may appear once per level, for [`Anomalies::DUPLICATE_ATTRIBUTE`]; plus the `rtpmap`
/// payload types seen.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    once: u16,
    rtpmap: u128,
}

impl Seen {
    const DIRECTION: u16 = 1;
    const PTIME: u16 = 1 << 1;
    const MAXPTIME: u16 = 1 << 2;
    const RTCP: u16 = 1 << 3;
    const RTCP_MUX: u16 = 1 << 4;
    const SETUP: u16 = 1 << 5;
    const MID: u16 = 1 << 6;
    const LABEL: u16 = 1 << 7;
    const ICE_UFRAG: u16 = 1 << 8;
    const ICE_PWD: u16 = 1 << 9;

    /// Notes `bit`; true when it was already set.
    fn note(&mut self, bit: u16) -> bool {
        let dup = self.once & bit != 0;
        self.once |= bit;
        dup
    }

    /// Notes an `rtpmap` for `pt` (0-127); true when one was already seen.
    fn note_rtpmap(&mut self, pt: u8) -> bool {
        let bit = 1u128.checked_shl(u32::from(pt)).unwrap_or(0);
        let dup = self.rtpmap & bit != 0;
        self.rtpmap |= bit;
        dup
    }
}

/// The session-level values media sections inherit (RFC 8866 §5: a media-level value overrides them).
#[derive(Debug, Clone, Copy, Default)]
struct Defaults<'a> {
    connection: Option<Connection<'a>>,
    direction: Option<Direction>,
    setup: Option<Setup>,
    fingerprint: Option<Fingerprint<'a>>,
    ice_ufrag: Option<&'a str>,
    ice_pwd: bool,
}

/// A parsed session description (RFC 8866 §5): session-level fields, read eagerly, and lazy access to the
/// media sections and to every line. `Copy`, and small: it holds spans, not copies.
///
/// `Debug` shows the parsed fields, never the raw body (which may hold keys).
#[derive(Clone, Copy)]
pub struct Session<'a> {
    body: &'a [u8],
    head: &'a [u8],
    media_offset: usize,
    media_count: usize,
    anomalies: Anomalies,
    version: &'a str,
    origin: Option<Origin<'a>>,
    name: Option<&'a str>,
    information: Option<&'a str>,
    bandwidth: Option<Bandwidth<'a>>,
    timing: Option<Timing>,
    bundle: Option<Group<'a>>,
    ice_lite: bool,
    defaults: Defaults<'a>,
}

impl<'a> Session<'a> {
    /// Parses a session description in one pass.
    ///
    /// # Errors
    /// [`ErrorKind::Truncated`] at offset 0 for an empty body, [`ErrorKind::Invalid`] at offset 0 when the
    /// body does not start with `v=`. Anything after that is lenient: see [`Anomalies`].
    pub fn parse(body: &'a [u8]) -> Result<Self, ParseError> {
        if body.is_empty() {
            return Err(ParseError::new(ErrorKind::Truncated, LAYER, 0));
        }
        if !body.starts_with(b"v=") {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, 0));
        }
        let mut s = Session {
            body,
            head: body,
            media_offset: body.len(),
            media_count: 0,
            anomalies: Anomalies::empty(),
            version: "",
            origin: None,
            name: None,
            information: None,
            bandwidth: None,
            timing: None,
            bundle: None,
            ice_lite: false,
            defaults: Defaults::default(),
        };
        let mut once_lines = 0u32;
        let mut seen = Seen::default();
        let mut has_timing = false;
        for line in Lines::new(body, 0) {
            if line.kind() == Some(b'm') {
                s.media_offset = line.offset();
                break;
            }
            s.anomalies |= line.anomalies();
            let (Some(kind), Some(text)) = (line.kind(), line.text()) else {
                continue;
            };
            if b"vosiuczk".contains(&kind) {
                let bit = 1u32.checked_shl(u32::from(kind - b'a')).unwrap_or(0);
                if once_lines & bit != 0 {
                    s.anomalies |= Anomalies::DUPLICATE_LINE;
                    continue;
                }
                once_lines |= bit;
            }
            match kind {
                b'v' => {
                    s.version = text;
                    if text != "0" {
                        s.anomalies |= Anomalies::VERSION_NOT_ZERO;
                    }
                }
                b'o' => match Origin::parse(text) {
                    Some(o) => s.origin = Some(o),
                    None => s.anomalies |= Anomalies::BAD_ORIGIN,
                },
                b's' => s.name = Some(text),
                b'i' => s.information = Some(text),
                b'c' => match Connection::parse(text) {
                    Some(c) => s.defaults.connection = Some(c),
                    None => s.anomalies |= Anomalies::BAD_CONNECTION,
                },
                b'b' => match Bandwidth::parse(text) {
                    Some(b) => {
                        s.bandwidth.get_or_insert(b);
                    }
                    None => s.anomalies |= Anomalies::BAD_BANDWIDTH,
                },
                b't' => {
                    has_timing = true;
                    match Timing::parse(text) {
                        Some(t) => {
                            s.timing.get_or_insert(t);
                        }
                        None => s.anomalies |= Anomalies::BAD_TIMING,
                    }
                }
                b'a' => s.apply(Attribute::parse(text), &mut seen),
                _ => {}
            }
        }
        let mut r = Reader::new(body, LAYER);
        s.head = r.take(s.media_offset).unwrap_or(body);
        if s.origin.is_none() && once_lines & (1 << (b'o' - b'a')) == 0 {
            s.anomalies |= Anomalies::MISSING_ORIGIN;
        }
        if s.name.is_none() {
            s.anomalies |= Anomalies::MISSING_SESSION_NAME;
        }
        if !has_timing {
            s.anomalies |= Anomalies::MISSING_TIMING;
        }
        let mut media = s.media();
        for m in media.by_ref() {
            s.anomalies |= m.anomalies();
            s.media_count += 1;
        }
        if media.clipped() {
            s.anomalies |= Anomalies::MEDIA_LIMIT;
        }
        Ok(s)
    }

    fn apply(&mut self, a: Attribute<'a>, seen: &mut Seen) {
        let d = &mut self.defaults;
        let dup = match a {
            Attribute::Direction(x) => {
                d.direction.get_or_insert(x);
                seen.note(Seen::DIRECTION)
            }
            Attribute::Setup(x) => {
                d.setup.get_or_insert(x);
                seen.note(Seen::SETUP)
            }
            Attribute::IceUfrag(x) => {
                d.ice_ufrag.get_or_insert(x);
                seen.note(Seen::ICE_UFRAG)
            }
            Attribute::IcePwd => {
                d.ice_pwd = true;
                seen.note(Seen::ICE_PWD)
            }
            Attribute::Fingerprint(x) => {
                d.fingerprint.get_or_insert(x);
                false
            }
            Attribute::IceLite => {
                self.ice_lite = true;
                false
            }
            Attribute::Group(g) if g.is_bundle() => {
                self.bundle.get_or_insert(g);
                false
            }
            Attribute::Invalid { .. } => {
                self.anomalies |= Anomalies::BAD_ATTRIBUTE;
                false
            }
            _ => false,
        };
        if dup {
            self.anomalies |= Anomalies::DUPLICATE_ATTRIBUTE;
        }
    }

    /// The whole body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Everything the session found odd, media sections included.
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies
    }

    /// `v=` (RFC 8866 §5.1), as written.
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// `o=` (RFC 8866 §5.2).
    pub fn origin(&self) -> Option<Origin<'a>> {
        self.origin
    }

    /// `s=` (RFC 8866 §5.3); may be empty or `-`.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// `i=` at session level (RFC 8866 §5.4).
    pub fn information(&self) -> Option<&'a str> {
        self.information
    }

    /// The session-level `c=` (RFC 8866 §5.7).
    pub fn connection(&self) -> Option<Connection<'a>> {
        self.defaults.connection
    }

    /// The first session-level `b=` (RFC 8866 §5.8).
    pub fn bandwidth(&self) -> Option<Bandwidth<'a>> {
        self.bandwidth
    }

    /// The first `t=` (RFC 8866 §5.9).
    pub fn timing(&self) -> Option<Timing> {
        self.timing
    }

    /// The session-level direction attribute (RFC 8866 §6.7), if any.
    pub fn direction(&self) -> Option<Direction> {
        self.defaults.direction
    }

    /// The session-level `a=setup` (RFC 4145).
    pub fn setup(&self) -> Option<Setup> {
        self.defaults.setup
    }

    /// The first session-level `a=fingerprint` (RFC 8122).
    pub fn fingerprint(&self) -> Option<Fingerprint<'a>> {
        self.defaults.fingerprint
    }

    /// The session-level `a=ice-ufrag` (RFC 8839).
    pub fn ice_ufrag(&self) -> Option<&'a str> {
        self.defaults.ice_ufrag
    }

    /// A session-level `a=ice-pwd` is present; its value is never kept.
    pub fn has_ice_pwd(&self) -> bool {
        self.defaults.ice_pwd
    }

    /// A session-level `a=ice-lite` is present (RFC 8839 §5.3).
    pub fn ice_lite(&self) -> bool {
        self.ice_lite
    }

    /// The first `a=group:BUNDLE` (RFC 9143).
    pub fn bundle(&self) -> Option<Group<'a>> {
        self.bundle
    }

    /// How many media sections [`Session::media`] yields (at most [`MAX_MEDIA`]).
    pub fn media_count(&self) -> usize {
        self.media_count
    }

    /// The media sections, in order, at most [`MAX_MEDIA`] of them. Each call walks the media part of the
    /// body again: cheap, and it keeps `Session` small and free of a `Vec`.
    pub fn media(&self) -> MediaIter<'a> {
        MediaIter::new(self.body, self.media_offset, self.defaults)
    }

    /// Every line of the body, of any type, in order.
    pub fn lines(&self) -> Lines<'a> {
        Lines::new(self.body, 0)
    }

    /// The session-level attributes (the `a=` lines before the first `m=`).
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(Lines::new(self.head, 0))
    }
}

impl fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("len", &self.body.len())
            .field("version", &self.version)
            .field("origin", &self.origin)
            .field("name", &self.name)
            .field("information", &self.information)
            .field("connection", &self.defaults.connection)
            .field("bandwidth", &self.bandwidth)
            .field("timing", &self.timing)
            .field("direction", &self.defaults.direction)
            .field("setup", &self.defaults.setup)
            .field("fingerprint", &self.defaults.fingerprint)
            .field("ice_ufrag", &self.defaults.ice_ufrag)
            .field("ice_pwd", &self.defaults.ice_pwd)
            .field("ice_lite", &self.ice_lite)
            .field("bundle", &self.bundle)
            .field("media_count", &self.media_count)
            .field("anomalies", &self.anomalies)
            .finish()
    }
}

impl fmt::Display for Session<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sdp v={}", self.version)?;
        if let Some(o) = &self.origin {
            write!(f, " {o}")?;
        }
        if let Some(c) = &self.defaults.connection {
            write!(f, " c={c}")?;
        }
        write!(f, " media={}", self.media_count)?;
        if !self.anomalies.is_empty() {
            write!(f, " anomalies={}", self.anomalies)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &[u8] = b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";

    #[test]
    fn errors_only_when_nothing_usable() {
        let e = Session::parse(b"").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 0));
        let e = Session::parse(b"o=x\r\nv=0\r\n").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 0));
        let s = Session::parse(b"v=0").unwrap();
        assert_eq!(
            s.anomalies(),
            Anomalies::MISSING_ORIGIN | Anomalies::MISSING_SESSION_NAME | Anomalies::MISSING_TIMING
        );
    }

    #[test]
    fn lf_only_input_parses_and_is_recorded() {
        let s =
            Session::parse(b"v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 h\nt=0 0\nm=audio 5 RTP/AVP 0\n")
                .unwrap();
        assert_eq!(s.anomalies(), Anomalies::LF_ONLY);
        assert_eq!(s.media_count(), 1);
        assert_eq!(s.media().next().unwrap().port(), 5);
    }

    #[test]
    fn bad_and_duplicate_session_lines_are_recorded() {
        let s = Session::parse(
            b"v=1\r\no=short\r\ns=a\r\ns=b\r\nc=IN\r\nt=x\r\nb=AS\r\nq=1\r\nnonsense\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            s.anomalies(),
            Anomalies::VERSION_NOT_ZERO
                | Anomalies::BAD_ORIGIN
                | Anomalies::DUPLICATE_LINE
                | Anomalies::BAD_CONNECTION
                | Anomalies::BAD_TIMING
                | Anomalies::BAD_BANDWIDTH
                | Anomalies::UNKNOWN_LINE_TYPE
                | Anomalies::MALFORMED_LINE
                | Anomalies::EMPTY_LINE
        );
        assert_eq!(s.name(), Some("a"));
        assert_eq!(s.lines().count(), 10);
        assert_eq!(
            s.to_string(),
            "sdp v=1 media=0 anomalies=EMPTY_LINE|MALFORMED_LINE|UNKNOWN_LINE_TYPE|VERSION_NOT_ZERO|BAD_ORIGIN|BAD_CONNECTION|BAD_TIMING|BAD_BANDWIDTH|DUPLICATE_LINE"
        );
    }

    #[test]
    fn media_beyond_the_limit_are_counted_not_yielded() {
        let mut b = MIN.to_vec();
        for _ in 0..MAX_MEDIA + 2 {
            b.extend_from_slice(b"m=audio 5 RTP/AVP 0\r\n");
        }
        let s = Session::parse(&b).unwrap();
        assert_eq!(s.media_count(), MAX_MEDIA);
        assert_eq!(s.media().count(), MAX_MEDIA);
        assert_eq!(s.anomalies(), Anomalies::MEDIA_LIMIT);
    }

    #[test]
    fn media_inherit_and_override_session_values() {
        let mut b = MIN.to_vec();
        b.extend_from_slice(b"a=sendonly\r\na=setup:actpass\r\na=ice-pwd:pw\r\nm=audio 5 RTP/AVP 0\r\nm=video 7 RTP/AVP 31\r\nc=IN IP4 192.0.2.9\r\na=inactive\r\na=setup:active\r\n");
        let s = Session::parse(&b).unwrap();
        let ms: Vec<_> = s.media().collect();
        assert_eq!(
            (
                ms[0].direction(),
                ms[0].setup(),
                ms[0].connection().unwrap().address
            ),
            (Direction::SendOnly, Some(Setup::ActPass), "192.0.2.1")
        );
        assert_eq!(
            (
                ms[1].direction(),
                ms[1].setup(),
                ms[1].connection().unwrap().address
            ),
            (Direction::Inactive, Some(Setup::Active), "192.0.2.9")
        );
        assert!(ms[0].has_ice_pwd());
        assert_eq!(s.attributes().count(), 3);
    }

    #[test]
    fn media_without_any_connection_is_recorded() {
        let s =
            Session::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n")
                .unwrap();
        assert_eq!(s.anomalies(), Anomalies::NO_CONNECTION);
    }

    #[test]
    fn session_lines_in_a_media_section_are_misplaced() {
        let mut b = MIN.to_vec();
        b.extend_from_slice(b"m=audio 5 RTP/AVP 0\r\nt=0 0\r\n");
        assert_eq!(
            Session::parse(&b).unwrap().anomalies(),
            Anomalies::MISPLACED_LINE
        );
    }

    #[test]
    fn anomalies_print_their_names() {
        assert_eq!(Anomalies::empty().to_string(), "none");
        assert_eq!(
            format!("{:?}", Anomalies::LF_ONLY | Anomalies::BAD_PORT),
            "Anomalies(LF_ONLY|BAD_PORT)"
        );
        assert!((Anomalies::LF_ONLY | Anomalies::BAD_PORT).contains(Anomalies::BAD_PORT));
        assert_eq!(
            Anomalies::NAMES
                .iter()
                .fold(0, |acc, (a, _)| acc | a.bits())
                .count_ones(),
            22
        );
    }
}
