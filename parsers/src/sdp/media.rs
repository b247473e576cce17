//! Media descriptions (RFC 8866 §5.14): an `m=` line and the lines after it up to the next `m=`.

use std::fmt;

use super::attr::{
    Attribute, Attributes, Candidate, Crypto, Direction, Fingerprint, Fmtp, Rtcp, Rtpmap, Ssrc,
};
use super::fields::{Bandwidth, Connection};
use super::line::{Lines, token, trim};
use super::payload::static_payload;
use super::{Anomalies, Defaults, LAYER, MAX_FORMATS, MAX_MEDIA, Seen};
use crate::bytes::Reader;

/// `<media>` of an `m=` line (RFC 8866 §5.14, the IANA "media" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind<'a> {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (BFCP, WebRTC data channels).
    Application,
    /// `text` (real-time text, RFC 4103).
    Text,
    /// `image` (T.38 fax).
    Image,
    /// `message` (MSRP, RFC 4975).
    Message,
    /// Anything else, as written.
    Other(&'a str),
}

impl<'a> MediaKind<'a> {
    fn parse(s: &'a str) -> Self {
        [
            ("audio", MediaKind::Audio),
            ("video", MediaKind::Video),
            ("application", MediaKind::Application),
            ("text", MediaKind::Text),
            ("image", MediaKind::Image),
            ("message", MediaKind::Message),
        ]
        .into_iter()
        .find_map(|(n, k)| s.eq_ignore_ascii_case(n).then_some(k))
        .unwrap_or(MediaKind::Other(s))
    }

    /// The token, lower-case for the known kinds.
    pub fn name(&self) -> &'a str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Text => "text",
            MediaKind::Image => "image",
            MediaKind::Message => "message",
            MediaKind::Other(s) => s,
        }
    }
}

/// `<proto>` of an `m=` line (RFC 8866 §5.14 and the profiles that register more). Matched ignoring case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto<'a> {
    /// `RTP/AVP` (RFC 3551): plain RTP.
    RtpAvp,
    /// `RTP/SAVP` (RFC 3711): SRTP, keyed by SDES or MIKEY.
    RtpSavp,
    /// `RTP/AVPF` (RFC 4585): plain RTP with feedback.
    RtpAvpf,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (RFC 5764 §8): DTLS-SRTP.
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (RFC 5764 §8): DTLS-SRTP with feedback (WebRTC).
    UdpTlsRtpSavpf,
    /// `TCP/TLS/RTP/SAVP` (RFC 7850).
    TcpTlsRtpSavp,
    /// `TCP/TLS/RTP/SAVPF` (RFC 7850).
    TcpTlsRtpSavpf,
    /// `udptl` (ITU-T T.38 Annex D): fax over UDPTL, in clear.
    Udptl,
    /// `TCP/MSRP` (RFC 4975 §8.1).
    TcpMsrp,
    /// `TCP/TLS/MSRP` (RFC 4975 §8.1).
    TcpTlsMsrp,
    /// Anything else, as written.
    Other(&'a str),
}

const PROTOS: [(&str, Proto<'static>); 11] = [
    ("RTP/AVP", Proto::RtpAvp),
    ("RTP/SAVP", Proto::RtpSavp),
    ("RTP/AVPF", Proto::RtpAvpf),
    ("RTP/SAVPF", Proto::RtpSavpf),
    ("UDP/TLS/RTP/SAVP", Proto::UdpTlsRtpSavp),
    ("UDP/TLS/RTP/SAVPF", Proto::UdpTlsRtpSavpf),
    ("TCP/TLS/RTP/SAVP", Proto::TcpTlsRtpSavp),
    ("TCP/TLS/RTP/SAVPF", Proto::TcpTlsRtpSavpf),
    ("udptl", Proto::Udptl),
    ("TCP/MSRP", Proto::TcpMsrp),
    ("TCP/TLS/MSRP", Proto::TcpTlsMsrp),
];

impl<'a> Proto<'a> {
    fn parse(s: &'a str) -> Self {
        PROTOS
            .into_iter()
            .find_map(|(n, p)| s.eq_ignore_ascii_case(n).then_some(p))
            .unwrap_or(Proto::Other(s))
    }

    /// The token as its RFC spells it.
    pub fn name(&self) -> &'a str {
        match self {
            Proto::Other(s) => s,
            known => PROTOS
                .into_iter()
                .find_map(|(n, p)| (p == *known).then_some(n))
                .unwrap_or(""),
        }
    }

    /// The media is protected: SRTP profiles (`SAVP`, `SAVPF`) or a TLS transport. `Other` protos count as
    /// secure when their name says `SAVP` or `TLS`.
    pub fn is_secure(&self) -> bool {
        match self {
            Proto::RtpAvp | Proto::RtpAvpf | Proto::Udptl | Proto::TcpMsrp => false,
            Proto::RtpSavp
            | Proto::RtpSavpf
            | Proto::UdpTlsRtpSavp
            | Proto::UdpTlsRtpSavpf
            | Proto::TcpTlsRtpSavp
            | Proto::TcpTlsRtpSavpf
            | Proto::TcpTlsMsrp => true,
            Proto::Other(s) => {
                let b = s.as_bytes();
                [&b"SAVP"[..], b"TLS"]
                    .iter()
                    .any(|n| b.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
            }
        }
    }

    /// Keys come from a DTLS handshake on the media path (RFC 5764 `UDP/TLS/RTP/*`, RFC 5763).
    pub fn uses_dtls(&self) -> bool {
        matches!(self, Proto::UdpTlsRtpSavp | Proto::UdpTlsRtpSavpf)
    }

    /// The media is RTP, so the formats are payload type numbers.
    pub fn is_rtp(&self) -> bool {
        matches!(
            self,
            Proto::RtpAvp
                | Proto::RtpSavp
                | Proto::RtpAvpf
                | Proto::RtpSavpf
                | Proto::UdpTlsRtpSavp
                | Proto::UdpTlsRtpSavpf
                | Proto::TcpTlsRtpSavp
                | Proto::TcpTlsRtpSavpf
        )
    }
}

/// One media description: the `m=` line, its own `c=`, `b=` and the attributes a sensor reads, plus the
/// session-level values it inherits (RFC 8866 §5: media-level fields override session-level ones).
///
/// Per-attribute lists (`crypto()`, `candidates()`, `codecs()`) are lazy iterators over the section.
/// `Debug` shows the parsed fields, never the raw section.
#[derive(Clone, Copy)]
pub struct Media<'a> {
    section: &'a [u8],
    offset: usize,
    kind: MediaKind<'a>,
    port: u16,
    port_count: Option<u16>,
    proto: Proto<'a>,
    formats: &'a str,
    connection: Option<Connection<'a>>,
    bandwidth: Option<Bandwidth<'a>>,
    direction: Option<Direction>,
    ptime: Option<u32>,
    maxptime: Option<u32>,
    rtcp: Option<Rtcp<'a>>,
    rtcp_mux: bool,
    setup: Option<super::Setup>,
    fingerprint: Option<Fingerprint<'a>>,
    mid: Option<&'a str>,
    label: Option<&'a str>,
    ice_ufrag: Option<&'a str>,
    ice_pwd: bool,
    crypto_count: usize,
    candidate_count: usize,
    anomalies: Anomalies,
    session: Defaults<'a>,
}

impl<'a> Media<'a> {
    /// Parses the section of `body` that starts with the `m=` line at `start`; returns it and where the next
    /// section starts.
    fn parse_section(body: &'a [u8], start: usize, session: Defaults<'a>) -> (Self, usize) {
        let mut lines = Lines::new(body, start);
        let mut m = Media {
            section: &[],
            offset: start,
            kind: MediaKind::Other(""),
            port: 0,
            port_count: None,
            proto: Proto::Other(""),
            formats: "",
            connection: None,
            bandwidth: None,
            direction: None,
            ptime: None,
            maxptime: None,
            rtcp: None,
            rtcp_mux: false,
            setup: None,
            fingerprint: None,
            mid: None,
            label: None,
            ice_ufrag: None,
            ice_pwd: false,
            crypto_count: 0,
            candidate_count: 0,
            anomalies: Anomalies::empty(),
            session,
        };
        if let Some(first) = lines.next() {
            m.anomalies |= first.anomalies();
            match first.text() {
                Some(t) => m.read_m_line(t),
                None => m.anomalies |= Anomalies::BAD_MEDIA,
            }
        }
        let mut seen = Seen::default();
        let mut end = lines.offset();
        while let Some(line) = lines.next() {
            if line.kind() == Some(b'm') {
                break;
            }
            end = lines.offset();
            m.anomalies |= line.anomalies();
            let (Some(kind), Some(text)) = (line.kind(), line.text()) else {
                continue;
            };
            match kind {
                b'c' => match Connection::parse(text) {
                    // RFC 8866 §5.7 allows several c= per media (layered multicast); the first one counts.
                    Some(c) => {
                        m.connection.get_or_insert(c);
                    }
                    None => m.anomalies |= Anomalies::BAD_CONNECTION,
                },
                b'b' => match Bandwidth::parse(text) {
                    Some(b) => {
                        m.bandwidth.get_or_insert(b);
                    }
                    None => m.anomalies |= Anomalies::BAD_BANDWIDTH,
                },
                b'a' => m.apply(Attribute::parse(text), &mut seen),
                b'i' | b'k' => {}
                b'v' | b'o' | b's' | b'u' | b'e' | b'p' | b't' | b'r' | b'z' => {
                    m.anomalies |= Anomalies::MISPLACED_LINE;
                }
                _ => {}
            }
        }
        let mut r = Reader::new(body, LAYER);
        if r.skip(start).is_ok() {
            m.section = r.take(end.saturating_sub(start)).unwrap_or(&[]);
        }
        if m.connection.is_none() && m.session.connection.is_none() {
            m.anomalies |= Anomalies::NO_CONNECTION;
        }
        (m, end)
    }

    /// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 8866 §5.14, ABNF `media-field`).
    fn read_m_line(&mut self, t: &'a str) {
        let Some((kind, r)) = token(t) else {
            self.anomalies |= Anomalies::BAD_MEDIA;
            return;
        };
        self.kind = MediaKind::parse(kind);
        let Some((port, r)) = token(r) else {
            self.anomalies |= Anomalies::BAD_MEDIA;
            return;
        };
        let (p, count) = match port.split_once('/') {
            Some((p, c)) => (p, Some(c)),
            None => (port, None),
        };
        match p.parse() {
            Ok(p) => self.port = p,
            Err(_) => self.anomalies |= Anomalies::BAD_PORT,
        }
        if let Some(c) = count {
            match c.parse() {
                Ok(c) => self.port_count = Some(c),
                Err(_) => self.anomalies |= Anomalies::BAD_PORT,
            }
        }
        let Some((proto, r)) = token(r) else {
            self.anomalies |= Anomalies::BAD_MEDIA;
            return;
        };
        self.proto = Proto::parse(proto);
        self.formats = trim(r);
        if self.formats.is_empty() {
            self.anomalies |= Anomalies::BAD_MEDIA;
        }
        if self
            .formats
            .split_ascii_whitespace()
            .nth(MAX_FORMATS)
            .is_some()
        {
            self.anomalies |= Anomalies::FORMAT_LIMIT;
        }
    }

    fn apply(&mut self, a: Attribute<'a>, seen: &mut Seen) {
        let dup = match a {
            Attribute::Direction(d) => {
                self.direction.get_or_insert(d);
                seen.note(Seen::DIRECTION)
            }
            Attribute::Ptime(p) => {
                self.ptime.get_or_insert(p);
                seen.note(Seen::PTIME)
            }
            Attribute::MaxPtime(p) => {
                self.maxptime.get_or_insert(p);
                seen.note(Seen::MAXPTIME)
            }
            Attribute::Rtcp(r) => {
                self.rtcp.get_or_insert(r);
                seen.note(Seen::RTCP)
            }
            Attribute::RtcpMux => {
                self.rtcp_mux = true;
                seen.note(Seen::RTCP_MUX)
            }
            Attribute::Setup(s) => {
                self.setup.get_or_insert(s);
                seen.note(Seen::SETUP)
            }
            Attribute::Mid(v) => {
                self.mid.get_or_insert(v);
                seen.note(Seen::MID)
            }
            Attribute::Label(v) => {
                self.label.get_or_insert(v);
                seen.note(Seen::LABEL)
            }
            Attribute::IceUfrag(v) => {
                self.ice_ufrag.get_or_insert(v);
                seen.note(Seen::ICE_UFRAG)
            }
            Attribute::IcePwd => {
                self.ice_pwd = true;
                seen.note(Seen::ICE_PWD)
            }
            // RFC 8122 §5 allows several fingerprints; the first one is kept here.
            Attribute::Fingerprint(f) => {
                self.fingerprint.get_or_insert(f);
                false
            }
            Attribute::Rtpmap(r) => seen.note_rtpmap(r.payload_type),
            Attribute::Crypto(_) => {
                self.crypto_count += 1;
                false
            }
            Attribute::Candidate(_) => {
                self.candidate_count += 1;
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

    /// Byte offset of the `m=` line in the body.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// `<media>`.
    pub fn kind(&self) -> MediaKind<'a> {
        self.kind
    }

    /// `<port>`; 0 means the stream is rejected or disabled (RFC 3264 §6), and also stands for a port that
    /// could not be read ([`Anomalies::BAD_PORT`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `/<number of ports>`, when given.
    pub fn port_count(&self) -> Option<u16> {
        self.port_count
    }

    /// True when the port is 0 (RFC 3264 §6: the answerer rejected the stream).
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }

    /// `<proto>`.
    pub fn proto(&self) -> Proto<'a> {
        self.proto
    }

    /// The `<fmt>` list as written.
    pub fn formats_span(&self) -> &'a str {
        self.formats
    }

    /// The `<fmt>` tokens (payload type numbers for RTP, `t38` for T.38, `*` for MSRP).
    pub fn formats(&self) -> std::str::SplitAsciiWhitespace<'a> {
        self.formats.split_ascii_whitespace()
    }

    /// The connection that applies: the media's own `c=`, else the session's (RFC 8866 §5.7).
    pub fn connection(&self) -> Option<Connection<'a>> {
        self.connection.or(self.session.connection)
    }

    /// The media's own `c=` only.
    pub fn own_connection(&self) -> Option<Connection<'a>> {
        self.connection
    }

    /// The first `b=` of the media.
    pub fn bandwidth(&self) -> Option<Bandwidth<'a>> {
        self.bandwidth
    }

    /// The direction that applies: the media's, else the session's, else `sendrecv` (RFC 8866 §6.7).
    pub fn direction(&self) -> Direction {
        self.direction
            .or(self.session.direction)
            .unwrap_or(Direction::SendRecv)
    }

    /// The media's own direction attribute only.
    pub fn own_direction(&self) -> Option<Direction> {
        self.direction
    }

    /// `a=ptime`, milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.ptime
    }

    /// `a=maxptime`, milliseconds.
    pub fn maxptime(&self) -> Option<u32> {
        self.maxptime
    }

    /// `a=rtcp` (RFC 3605).
    pub fn rtcp(&self) -> Option<Rtcp<'a>> {
        self.rtcp
    }

    /// `a=rtcp-mux` (RFC 5761).
    pub fn rtcp_mux(&self) -> bool {
        self.rtcp_mux
    }

    /// The port RTCP is expected on: `a=rtcp` (RFC 3605), else the media port under `a=rtcp-mux` (RFC 5761),
    /// else the media port + 1 (RFC 3550 §11). `None` for a rejected stream, or port 65535 without either
    /// attribute.
    pub fn rtcp_port(&self) -> Option<u16> {
        if self.port == 0 {
            return None;
        }
        if let Some(r) = self.rtcp {
            return Some(r.port);
        }
        if self.rtcp_mux {
            return Some(self.port);
        }
        self.port.checked_add(1)
    }

    /// `a=setup` of the media, else of the session (RFC 4145 §4).
    pub fn setup(&self) -> Option<super::Setup> {
        self.setup.or(self.session.setup)
    }

    /// The first `a=fingerprint` of the media, else of the session (RFC 8122 §5).
    pub fn fingerprint(&self) -> Option<Fingerprint<'a>> {
        self.fingerprint.or(self.session.fingerprint)
    }

    /// `a=mid` (RFC 5888).
    pub fn mid(&self) -> Option<&'a str> {
        self.mid
    }

    /// `a=label` (RFC 4574).
    pub fn label(&self) -> Option<&'a str> {
        self.label
    }

    /// `a=ice-ufrag` of the media, else of the session (RFC 8839 §5.4).
    pub fn ice_ufrag(&self) -> Option<&'a str> {
        self.ice_ufrag.or(self.session.ice_ufrag)
    }

    /// An `a=ice-pwd` applies (media or session level); the value is never kept.
    pub fn has_ice_pwd(&self) -> bool {
        self.ice_pwd || self.session.ice_pwd
    }

    /// How many `a=crypto` lines the media has.
    pub fn crypto_count(&self) -> usize {
        self.crypto_count
    }

    /// How many `a=candidate` lines the media has.
    pub fn candidate_count(&self) -> usize {
        self.candidate_count
    }

    /// What this section alone shows (the session's [`super::Session::anomalies`] includes them).
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies
    }

    /// Every line of the section, the `m=` line first.
    pub fn lines(&self) -> Lines<'a> {
        Lines::new(self.section, 0)
    }

    /// Every attribute of the section, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.lines())
    }

    /// The `a=rtpmap` attributes.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap<'a>> + use<'a> {
        self.attributes().filter_map(|a| match a {
            Attribute::Rtpmap(r) => Some(r),
            _ => None,
        })
    }

    /// The `a=fmtp` attributes.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp<'a>> + use<'a> {
        self.attributes().filter_map(|a| match a {
            Attribute::Fmtp(f) => Some(f),
            _ => None,
        })
    }

    /// The `a=crypto` attributes (key material left out).
    pub fn crypto(&self) -> impl Iterator<Item = Crypto<'a>> + use<'a> {
        self.attributes().filter_map(|a| match a {
            Attribute::Crypto(c) => Some(c),
            _ => None,
        })
    }

    /// The `a=candidate` attributes.
    pub fn candidates(&self) -> impl Iterator<Item = Candidate<'a>> + use<'a> {
        self.attributes().filter_map(|a| match a {
            Attribute::Candidate(c) => Some(c),
            _ => None,
        })
    }

    /// The `a=ssrc` attributes.
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc<'a>> + use<'a> {
        self.attributes().filter_map(|a| match a {
            Attribute::Ssrc(s) => Some(s),
            _ => None,
        })
    }

    /// The RTP payload types of the `<fmt>` list, each with its `a=rtpmap` or, failing that, its RFC 3551
    /// static assignment. Non-numeric formats are skipped; at most [`MAX_FORMATS`] formats are looked at.
    pub fn codecs(&self) -> Codecs<'a> {
        Codecs {
            formats: self.formats(),
            section: self.section,
            left: MAX_FORMATS,
        }
    }
}

impl fmt::Debug for Media<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media")
            .field("offset", &self.offset)
            .field("kind", &self.kind)
            .field("port", &self.port)
            .field("port_count", &self.port_count)
            .field("proto", &self.proto)
            .field("formats", &self.formats)
            .field("connection", &self.connection)
            .field("bandwidth", &self.bandwidth)
            .field("direction", &self.direction)
            .field("ptime", &self.ptime)
            .field("maxptime", &self.maxptime)
            .field("rtcp", &self.rtcp)
            .field("rtcp_mux", &self.rtcp_mux)
            .field("setup", &self.setup)
            .field("fingerprint", &self.fingerprint)
            .field("mid", &self.mid)
            .field("label", &self.label)
            .field("ice_ufrag", &self.ice_ufrag)
            .field("ice_pwd", &self.ice_pwd)
            .field("crypto_count", &self.crypto_count)
            .field("candidate_count", &self.candidate_count)
            .field("anomalies", &self.anomalies)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Media<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind.name(), self.port)?;
        if let Some(c) = self.port_count {
            write!(f, "/{c}")?;
        }
        write!(
            f,
            " {} {} dir={}",
            self.proto.name(),
            self.formats,
            self.direction().name()
        )?;
        if let Some(c) = self.connection() {
            write!(f, " c={c}")?;
        }
        if let Some(p) = self.rtcp_port() {
            write!(f, " rtcp={p}")?;
        }
        if self.crypto_count > 0 {
            write!(f, " crypto={}", self.crypto_count)?;
        }
        if let Some(fp) = self.fingerprint() {
            write!(f, " fingerprint={}", fp.hash)?;
        }
        if !self.anomalies.is_empty() {
            write!(f, " anomalies={}", self.anomalies)?;
        }
        Ok(())
    }
}

/// One RTP payload format of a media: its number, and the name, clock rate and channels from `a=rtpmap` or
/// the RFC 3551 static table (all `None` for a dynamic type without `a=rtpmap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec<'a> {
    /// The payload type.
    pub payload_type: u8,
    /// The encoding name.
    pub name: Option<&'a str>,
    /// The clock rate in Hz.
    pub clock_rate: Option<u32>,
    /// The number of channels, when known.
    pub channels: Option<u16>,
}

impl fmt::Display for Codec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.payload_type, self.name.unwrap_or("?"))?;
        if let Some(r) = self.clock_rate {
            write!(f, "/{r}")?;
        }
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// Iterator over the [`Codec`]s of a media, from [`Media::codecs`].
#[derive(Debug, Clone)]
pub struct Codecs<'a> {
    formats: std::str::SplitAsciiWhitespace<'a>,
    section: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Codecs<'a> {
    type Item = Codec<'a>;

    fn next(&mut self) -> Option<Codec<'a>> {
        loop {
            self.left = self.left.checked_sub(1)?;
            let f = self.formats.next()?;
            let Some(pt) = f.parse::<u8>().ok().filter(|p| *p <= 127) else {
                continue;
            };
            let mapped = Attributes::new(Lines::new(self.section, 0)).find_map(|a| match a {
                Attribute::Rtpmap(r) if r.payload_type == pt => Some(r),
                _ => None,
            });
            return Some(match (mapped, static_payload(pt)) {
                (Some(r), _) => Codec {
                    payload_type: pt,
                    name: Some(r.encoding),
                    clock_rate: Some(r.clock_rate),
                    channels: r.channels,
                },
                (None, Some(s)) => Codec {
                    payload_type: pt,
                    name: Some(s.name),
                    clock_rate: Some(s.clock_rate),
                    channels: s.channels,
                },
                (None, None) => Codec {
                    payload_type: pt,
                    name: None,
                    clock_rate: None,
                    channels: None,
                },
            });
        }
    }
}

/// Iterator over the [`Media`] sections of a session, from [`super::Session::media`]. Yields at most
/// [`MAX_MEDIA`] sections.
#[derive(Debug, Clone)]
pub struct MediaIter<'a> {
    body: &'a [u8],
    next: usize,
    left: usize,
    session: Defaults<'a>,
    clipped: bool,
}

impl<'a> MediaIter<'a> {
    pub(super) fn new(body: &'a [u8], start: usize, session: Defaults<'a>) -> Self {
        Self {
            body,
            next: start,
            left: MAX_MEDIA,
            session,
            clipped: false,
        }
    }

    /// True once the iterator stopped at [`MAX_MEDIA`] with sections left over.
    pub(super) fn clipped(&self) -> bool {
        self.clipped
    }
}

impl<'a> Iterator for MediaIter<'a> {
    type Item = Media<'a>;

    fn next(&mut self) -> Option<Media<'a>> {
        if self.next >= self.body.len() {
            return None;
        }
        if self.left == 0 {
            self.clipped = true;
            return None;
        }
        self.left -= 1;
        let (m, end) = Media::parse_section(self.body, self.next, self.session);
        // A section always consumes its m= line, so `end` moves forward.
        self.next = end.max(self.next.saturating_add(1));
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(s: &'static str) -> Media<'static> {
        Media::parse_section(s.as_bytes(), 0, Defaults::default()).0
    }

    #[test]
    fn m_line_fields_are_read() {
        let m = media("m=audio 49170/2 RTP/AVP 0 8 97\r\nc=IN IP4 192.0.2.1\r\n");
        assert_eq!(
            (m.kind(), m.port(), m.port_count(), m.proto()),
            (MediaKind::Audio, 49170, Some(2), Proto::RtpAvp)
        );
        assert_eq!(m.formats().collect::<Vec<_>>(), ["0", "8", "97"]);
        assert_eq!(m.anomalies(), Anomalies::empty());
        assert_eq!(
            m.to_string(),
            "m=audio 49170/2 RTP/AVP 0 8 97 dir=sendrecv c=IN IP4 192.0.2.1 rtcp=49171"
        );
    }

    #[test]
    fn bad_port_and_missing_formats_are_anomalies() {
        let m = media("m=audio 99999 RTP/AVP 0\nc=IN IP4 h\n");
        assert_eq!(
            (m.port(), m.anomalies()),
            (0, Anomalies::BAD_PORT | Anomalies::LF_ONLY)
        );
        let m = media("m=audio 1 RTP/AVP\r\nc=IN IP4 h\r\n");
        assert_eq!(m.anomalies(), Anomalies::BAD_MEDIA);
        let m = media("m=audio\r\n");
        assert_eq!(
            m.anomalies(),
            Anomalies::BAD_MEDIA | Anomalies::NO_CONNECTION
        );
    }

    #[test]
    fn proto_classification() {
        assert!(Proto::parse("RTP/SAVP").is_secure());
        assert!(!Proto::parse("RTP/SAVP").uses_dtls());
        assert!(Proto::parse("udp/tls/rtp/savpf").uses_dtls());
        assert!(!Proto::parse("RTP/AVP").is_secure());
        assert!(!Proto::parse("udptl").is_secure());
        assert!(Proto::parse("TCP/TLS/MSRP").is_secure());
        assert_eq!(Proto::parse("UDP/TLS/UDPTL"), Proto::Other("UDP/TLS/UDPTL"));
        assert!(Proto::parse("UDP/TLS/UDPTL").is_secure());
        assert!(!Proto::parse("TCP/RTP/AVP").is_secure());
        assert_eq!(Proto::parse("UDP/TLS/RTP/SAVP").name(), "UDP/TLS/RTP/SAVP");
        assert!(Proto::parse("RTP/AVPF").is_rtp() && !Proto::Udptl.is_rtp());
    }

    #[test]
    fn rtcp_port_prefers_attribute_then_mux_then_next_port() {
        let c = "c=IN IP4 h\r\n";
        assert_eq!(
            media(format!("m=audio 5000 RTP/AVP 0\r\n{c}").leak()).rtcp_port(),
            Some(5001)
        );
        assert_eq!(
            media(format!("m=audio 5000 RTP/AVP 0\r\n{c}a=rtcp-mux\r\n").leak()).rtcp_port(),
            Some(5000)
        );
        assert_eq!(
            media(format!("m=audio 5000 RTP/AVP 0\r\n{c}a=rtcp-mux\r\na=rtcp:6000\r\n").leak())
                .rtcp_port(),
            Some(6000)
        );
        assert_eq!(
            media(format!("m=audio 0 RTP/AVP 0\r\n{c}").leak()).rtcp_port(),
            None
        );
        assert_eq!(
            media(format!("m=audio 65535 RTP/AVP 0\r\n{c}").leak()).rtcp_port(),
            None
        );
    }

    #[test]
    fn duplicate_single_attributes_are_flagged() {
        let m = media("m=audio 5 RTP/AVP 0\r\nc=IN IP4 h\r\na=sendonly\r\na=recvonly\r\n");
        assert_eq!(m.anomalies(), Anomalies::DUPLICATE_ATTRIBUTE);
        assert_eq!(m.direction(), Direction::SendOnly);
        let m = media(
            "m=audio 5 RTP/AVP 0\r\nc=IN IP4 h\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:0 PCMA/8000\r\n",
        );
        assert_eq!(m.anomalies(), Anomalies::DUPLICATE_ATTRIBUTE);
        let m = media(
            "m=audio 5 RTP/AVP 0\r\nc=IN IP4 h\r\na=crypto:1 A inline:K\r\na=crypto:2 B inline:K\r\n",
        );
        assert_eq!((m.anomalies(), m.crypto_count()), (Anomalies::empty(), 2));
    }

    #[test]
    fn codecs_use_rtpmap_then_the_static_table() {
        let m = media("m=audio 5 RTP/AVP 0 97 96 x 18\r\nc=IN IP4 h\r\na=rtpmap:97 iLBC/8000\r\n");
        let c: Vec<_> = m
            .codecs()
            .map(|c| (c.payload_type, c.name, c.clock_rate))
            .collect();
        assert_eq!(
            c,
            [
                (0, Some("PCMU"), Some(8000)),
                (97, Some("iLBC"), Some(8000)),
                (96, None, None),
                (18, Some("G729"), Some(8000))
            ]
        );
    }
}
