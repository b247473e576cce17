//! SIP (RFC 3261) and SDP (RFC 8866) text, written the way common phones and PBXes write it: CRLF line
//! ends, `z9hG4bK` branches, tags, Call-ID, CSeq, Contact, Max-Forwards, User-Agent or Server, and a
//! Content-Length that always matches the body.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::rng::Rng;

/// A SIP message under construction: start line, headers in order, body.
#[derive(Debug, Clone)]
pub struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Message {
    /// A request `METHOD uri SIP/2.0`.
    pub fn request(method: &str, uri: &str) -> Self {
        Self {
            start: format!("{method} {uri} SIP/2.0"),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A response `SIP/2.0 code reason`.
    pub fn response(code: u16, reason: &str) -> Self {
        Self {
            start: format!("SIP/2.0 {code} {reason}"),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Appends a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<String>) -> Self {
        self.headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// Length the message would have on the wire.
    pub fn wire_len(&self) -> usize {
        self.render().len()
    }

    /// The message as sent: headers, `Content-Length` (always last, always right), blank line, body.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(512 + self.body.len());
        s.push_str(&self.start);
        s.push_str("\r\n");
        for (name, value) in &self.headers {
            let _ = write!(s, "{name}: {value}\r\n");
        }
        let _ = write!(s, "Content-Length: {}\r\n\r\n", self.body.len());
        s.push_str(&self.body);
        s
    }

    /// [`Self::render`] as bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.render().into_bytes()
    }
}

/// `IN IP4 a.b.c.d` or `IN IP6 ...` for SDP `o=` and `c=` lines.
fn sdp_addr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("IN IP4 {v4}"),
        IpAddr::V6(v6) => format!("IN IP6 {v6}"),
    }
}

/// An audio codec offered in SDP and used for RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 mu-law, payload type 0, 8 kHz, 160-byte payloads per 20 ms.
    Pcmu,
    /// G.729, payload type 18, 8 kHz, 20-byte payloads per 20 ms.
    G729,
    /// Opus, dynamic payload type 111, 48 kHz clock, 960 samples per 20 ms, variable payload size.
    Opus,
}

impl Codec {
    /// RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::G729 => 18,
            Codec::Opus => 111,
        }
    }

    /// RTP timestamp increment per 20 ms packet.
    pub fn samples_per_packet(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::G729 => 160,
            Codec::Opus => 960,
        }
    }

    /// The `m=audio` format list and `a=` lines of an offer.
    fn offer_lines(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Codec::Pcmu => (
                "0 8 101",
                &[
                    "a=rtpmap:0 PCMU/8000",
                    "a=rtpmap:8 PCMA/8000",
                    "a=rtpmap:101 telephone-event/8000",
                    "a=fmtp:101 0-16",
                ],
            ),
            Codec::G729 => (
                "18 0 101",
                &[
                    "a=rtpmap:18 G729/8000",
                    "a=fmtp:18 annexb=no",
                    "a=rtpmap:0 PCMU/8000",
                    "a=rtpmap:101 telephone-event/8000",
                    "a=fmtp:101 0-16",
                ],
            ),
            Codec::Opus => (
                "111 0 101",
                &[
                    "a=rtpmap:111 opus/48000/2",
                    "a=fmtp:111 useinbandfec=1",
                    "a=rtpmap:0 PCMU/8000",
                    "a=rtpmap:101 telephone-event/8000",
                    "a=fmtp:101 0-16",
                ],
            ),
        }
    }
}

/// An SDP body for one audio stream at `ip`:`port`. `extra` lines are appended after the media
/// attributes (the oversized INVITE uses them).
pub fn sdp(
    user: &str,
    session_id: u64,
    ip: IpAddr,
    port: u16,
    codec: Codec,
    extra: &[String],
) -> String {
    let (formats, attrs) = codec.offer_lines();
    let addr = sdp_addr(ip);
    let mut s = String::with_capacity(400);
    let _ = write!(
        s,
        "v=0\r\no={user} {session_id} {session_id} {addr}\r\ns=SIP Call\r\nc={addr}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {formats}\r\n"
    );
    for a in attrs {
        s.push_str(a);
        s.push_str("\r\n");
    }
    s.push_str("a=ptime:20\r\na=sendrecv\r\n");
    for line in extra {
        s.push_str(line);
        s.push_str("\r\n");
    }
    s
}

/// Phone models written in `User-Agent` (ordinary endpoints, never scanner signatures).
pub const USER_AGENTS: &[&str] = &[
    "Yealink SIP-T46S 66.86.0.15",
    "Grandstream GXP2170 1.0.11.23",
    "Polycom-VVX_411-UA/6.4.3.5018",
    "Cisco-CP8845/12.8.1",
    "snom D785/10.1.73.16",
    "Linphone/5.2.5 (belle-sip/5.2.0)",
];

/// What the simulated PBX writes in `Server`.
pub const SERVER: &str = "Asterisk PBX 20.5.2";

/// The `Allow` list of phones and the PBX.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER, UPDATE, MESSAGE";

/// A new `z9hG4bK` branch (RFC 3261 section 8.1.1.7).
pub fn branch(rng: &mut Rng) -> String {
    format!("z9hG4bK{}", rng.hex(12))
}

/// `host:port` with IPv6 hosts bracketed.
pub fn hostport(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// `host` as it appears in a URI (IPv6 bracketed).
pub fn host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}
