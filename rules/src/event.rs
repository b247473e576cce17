//! [`Event`]: the compact, owned summaries that workers make from packets and the engine consumes.
//!
//! Workers never raise alerts; they describe what they saw. An event carries the global sequence number of the
//! packet that made it (assigned by the dispatcher in capture order), so the engine can merge the streams of
//! any number of workers back into capture order: with 1 worker or N, detectors see the same sequence.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use callguard_parsers::link::Mac;

use crate::time::PacketTime;

/// One observation made by a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The capture-order sequence number of the packet that made the event.
    pub seq: u64,
    /// The packet's timestamp.
    pub ts: PacketTime,
    /// What was seen.
    pub payload: Payload,
}

/// What an [`Event`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// An ARP packet (Ethernet/IPv4).
    Arp(ArpSeen),
    /// A TCP SYN without ACK: a connection attempt (retransmitted SYNs count again).
    TcpSyn(TcpConn),
    /// A SYN-ACK: the server accepted an attempt.
    TcpSynAck(TcpConn),
    /// The client's ACK that completes a three-way handshake.
    TcpEstablished(TcpConn),
    /// An RST answering a SYN: the server refused the attempt (port closed or rejected).
    TcpRefused(TcpConn),
    /// A SIP message (over UDP, or framed from a TCP stream).
    Sip(Box<SipSeen>),
    /// A datagram to or from a SIP port that does not parse as SIP.
    SipMalformed(Box<SipMalformedSeen>),
    /// A new RTP stream: a source (address, port, SSRC) to a destination, confirmed over a few packets.
    RtpStart(Box<RtpStart>),
    /// An RTP stream ended (idle, evicted, or end of input), with its figures.
    RtpEnd(Box<RtpEnd>),
    /// An RTCP compound packet's sender and receiver reports.
    Rtcp(Box<RtcpSeen>),
    /// A TLS (over TCP) or DTLS (over UDP, e.g. on a media 5-tuple) handshake, summarised when the server's
    /// certificate (or what can be seen of the handshake) is known.
    Tls(Box<TlsSeen>),
    /// One direction of a UDP flow carried many datagrams in one second of packet time (at least the
    /// worker's floor, [`UdpRate::FLOOR_PPS`]), or new UDP flows to one destination opened in one second:
    /// what rate judgements (`rtp-flood`) are made of.
    UdpRate(UdpRate),
    /// Packet time entered a new second. The dispatcher injects one per second of capture, so that windows
    /// close and idle state expires on quiet links exactly as often with 1 worker as with N. Detectors never
    /// see it; the engine only moves its clock.
    Clock,
}

/// An ARP packet and the frame it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpSeen {
    /// Operation: 1 request, 2 reply, others kept as numbers.
    pub op: u16,
    /// Ethernet source of the frame (may differ from `sender_mac` when someone forges the ARP body).
    pub eth_src: Option<Mac>,
    /// Ethernet destination of the frame.
    pub eth_dst: Option<Mac>,
    /// Sender hardware address.
    pub sender_mac: Mac,
    /// Sender protocol address: the IP being claimed.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: Mac,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
    /// Outer VLAN identifier, 0 when untagged. Bindings are tracked per VLAN.
    pub vlan: u16,
}

impl ArpSeen {
    /// A gratuitous ARP: the sender announces its own address.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// An ARP probe (RFC 5227 §2.1.1): sender IP 0.0.0.0, claims nothing.
    pub fn is_probe(&self) -> bool {
        self.sender_ip.is_unspecified()
    }
}

/// How a SIP message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SipTransport {
    /// UDP.
    Udp,
    /// TCP (not TLS: encrypted SIP is not read).
    Tcp,
    /// WebSocket over TCP (RFC 7118, `ws://`; `wss://` is inside TLS and not read): one SIP message per
    /// WebSocket message, seen after an HTTP upgrade offering the `sip` subprotocol.
    Ws,
}

impl SipTransport {
    /// Upper-case name, as in a Via header.
    pub fn name(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
            SipTransport::Ws => "WS",
        }
    }
}

/// A SIP message, summarised by the worker that parsed it. Owned and bounded (every text field is cut to
/// a fixed length by the worker); credentials and keys are never copied here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipSeen {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: SipTransport,
    /// The request method, for a request.
    pub method: Option<Box<str>>,
    /// The status code, for a response.
    pub status: Option<u16>,
    /// Call-ID.
    pub call_id: Box<str>,
    /// The user part of the Request-URI, for a request (the dialled number of an INVITE; a `tel:` URI's
    /// number).
    pub ruri_user: Option<Box<str>>,
    /// The user part of the From URI.
    pub from_user: Option<Box<str>>,
    /// The display name of From (unquoted), where one is given: scanners sign there too (sipvicious in its
    /// compact mode, which drops User-Agent, still writes `"sipvicious"`).
    pub from_display: Option<Box<str>>,
    /// The From tag.
    pub from_tag: Option<Box<str>>,
    /// The user part of the To URI.
    pub to_user: Option<Box<str>>,
    /// The To tag.
    pub to_tag: Option<Box<str>>,
    /// CSeq number.
    pub cseq: u32,
    /// CSeq method.
    pub cseq_method: Box<str>,
    /// User-Agent (requests) or Server (responses).
    pub user_agent: Option<Box<str>>,
    /// The body is SDP.
    pub has_sdp: bool,
    /// The SDP body, summarised (absent when there is none or it did not parse).
    pub sdp: Option<Box<SdpSeen>>,
    /// Credentials the message carries (Authorization or Proxy-Authorization), without the response.
    pub auth: Option<Box<AuthSeen>>,
    /// The user part of the first Contact URI.
    pub contact_user: Option<Box<str>>,
    /// The host of the first Contact URI with its port, when it is an IP address.
    pub contact_addr: Option<SocketAddr>,
    /// The sent-by of the first Via, when it is an IP address (the port defaults to 5060).
    pub via_addr: Option<SocketAddr>,
    /// The IP addresses on the message's path: every Via sent-by and every Record-Route host that is an IP
    /// address (at most a few), in header order.
    pub path: Vec<IpAddr>,
    /// Number of Via headers (hops the message went through).
    pub via_count: u16,
    /// The branch parameter of the top Via: the transaction, which a retransmission repeats (RFC 3261
    /// §17.1.1.3, §17.2.3).
    pub branch: Option<Box<str>>,
    /// The parser's anomalies: departures from the grammar it tolerated (`folded`, `bad-cseq`,
    /// `content-length-mismatch`, ...), as static kebab-case names in bit order; empty (and not allocated)
    /// for a well-formed message.
    pub anomalies: Vec<&'static str>,
}

/// A SIP message that did not parse: who sent it and why it failed, nothing of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMalformedSeen {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Transport.
    pub transport: SipTransport,
    /// The parse error's kind (`truncated`, `invalid`, `limit-exceeded`, ...): a static name, so that making
    /// the event allocates nothing but its box. `missing-mandatory` for a message that parsed but has no
    /// usable Call-ID or CSeq, which the sensor cannot follow.
    pub kind: &'static str,
    /// For `missing-mandatory`, the parser's anomalies of the message (as [`SipSeen::anomalies`]); empty
    /// otherwise.
    pub anomalies: Vec<&'static str>,
}

/// A TLS or DTLS handshake as the worker saw it. Every field is bounded; no key material exists here (TLS
/// carries none in the clear).
///
/// The worker sends one per handshake: when the server's certificate is known (and, when the server asked
/// for one, the client's: DTLS-SRTP has both sides send theirs), or when the handshake turns encrypted
/// (ChangeCipherSpec, an encrypted record, a TLS 1.3 ServerHello), or when the connection closes, idles out
/// or is evicted, with what was seen by then.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSeen {
    /// The client (sender of the ClientHello).
    pub client: Option<SocketAddr>,
    /// The server.
    pub server: Option<SocketAddr>,
    /// DTLS over UDP rather than TLS over TCP.
    pub dtls: bool,
    /// The negotiated version (ServerHello, with supported_versions for TLS 1.3), as on the wire (0x0303 is
    /// TLS 1.2, 0xfefd DTLS 1.2); `callguard_parsers::tls::TlsVersion` names it.
    pub version: Option<u16>,
    /// The highest version the client offered (supported_versions without GREASE, else the ClientHello's
    /// version).
    pub client_version: Option<u16>,
    /// The cipher suite the server chose; `callguard_parsers::tls::CipherSuite` names it and gives its
    /// properties.
    pub cipher_suite: Option<u16>,
    /// Server name indication.
    pub sni: Option<Box<str>>,
    /// ALPN protocols the client offered (a few).
    pub alpn: Vec<Box<str>>,
    /// SRTP protection profiles offered in use_srtp (DTLS-SRTP, RFC 5764), as numbers.
    pub srtp_profiles: Vec<u16>,
    /// The SRTP protection profile the server chose.
    pub srtp_profile: Option<u16>,
    /// JA3 fingerprint (MD5 hex) of the ClientHello.
    pub ja3: Option<Box<str>>,
    /// JA3S fingerprint (MD5 hex) of the ServerHello.
    pub ja3s: Option<Box<str>>,
    /// JA4 fingerprint of the ClientHello.
    pub ja4: Option<Box<str>>,
    /// The certificates are encrypted (TLS 1.3): none can be read, none is guessed.
    pub certs_encrypted: bool,
    /// The server's certificate chain as sent, leaf first (at most a few).
    pub server_certs: Vec<CertSeen>,
    /// The client's certificate chain, if it sent one (DTLS-SRTP: both sides do).
    pub client_certs: Vec<CertSeen>,
    /// The capture-order sequence number of the handshake's first packet: the merge tiebreak of a handshake
    /// reported by a sweep or at the end of input (see [`Event::tiebreak`]).
    pub first_seq: u64,
}

/// One X.509 certificate, summarised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertSeen {
    /// SHA-256 of the DER certificate (the RFC 8122 `a=fingerprint` form).
    pub sha256: [u8; 32],
    /// SHA-1 of the DER certificate (older SDPs use it).
    pub sha1: [u8; 20],
    /// SHA-256 of the subjectPublicKeyInfo (the key, whatever certificate carries it); zeros when unknown.
    pub spki_sha256: [u8; 32],
    /// Subject distinguished name, one line in the certificate's order (`CN=host, O=Example`). Empty when
    /// the certificate does not decode (its fingerprints are still right).
    pub subject: Box<str>,
    /// Issuer distinguished name, in the same form.
    pub issuer: Box<str>,
    /// Serial number, lower-case hex.
    pub serial: Box<str>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// DNS names and IP addresses of subjectAltName (at most a few).
    pub san: Vec<Box<str>>,
    /// Public key algorithm (`rsa`, `ec`, `ed25519`, ...).
    pub key_type: Box<str>,
    /// Public key size in bits (RSA modulus, EC curve size).
    pub key_bits: u32,
    /// Signature algorithm (`sha256WithRSAEncryption`, ...).
    pub signature_algorithm: Box<str>,
    /// Self-issued (subject equals issuer) and, where both key identifiers are present, signed with its own
    /// key (authority key identifier equals subject key identifier). The signature is not verified.
    pub self_signed: bool,
}

/// Digest (or other) credentials of a request: who and how, never the response or a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSeen {
    /// `Proxy-Authorization` rather than `Authorization`.
    pub proxy: bool,
    /// The scheme (`Digest`, `Basic`, ...).
    pub scheme: Box<str>,
    /// `username`.
    pub username: Option<Box<str>>,
    /// `realm`.
    pub realm: Option<Box<str>>,
    /// `algorithm` (absent means MD5 for Digest, RFC 2617 §3.2.2).
    pub algorithm: Option<Box<str>>,
    /// `qop` (absent: the RFC 2069 compatibility mode, no client nonce).
    pub qop: Option<Box<str>>,
    /// `nonce`: the server's challenge the credentials answer (not a secret: the server sent it in clear),
    /// so that `sip-bruteforce` can count the challenges a guesser used.
    pub nonce: Option<Box<str>>,
}

/// An SDP body: what the engine needs to tie media to calls and judge its protection. Key material is
/// never copied (only the crypto suites).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdpSeen {
    /// The session-level connection address.
    pub session_addr: Option<IpAddr>,
    /// Media descriptions (at most a fixed number, in order).
    pub media: Vec<MediaSeen>,
}

/// One `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaSeen {
    /// `audio`, `video`, `image`, `application`, ...
    pub kind: Box<str>,
    /// Where the sender of this SDP wants to receive the media (media-level `c=`, else session-level).
    pub addr: Option<IpAddr>,
    /// The port (0: the stream is rejected or disabled).
    pub port: u16,
    /// Where it wants RTCP: `a=rtcp`, else the media port with `a=rtcp-mux`, else the next port.
    pub rtcp_port: Option<u16>,
    /// `a=rtcp-mux`.
    pub rtcp_mux: bool,
    /// The transport profile, as written (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, ...).
    pub proto: Box<str>,
    /// The profile is secure (SAVP/SAVPF, or DTLS).
    pub secure_profile: bool,
    /// The profile is DTLS-SRTP (`UDP/TLS/RTP/...`).
    pub dtls_profile: bool,
    /// `a=crypto` suites offered (RFC 4568), at most a few; never the keys.
    pub crypto_suites: Vec<Box<str>>,
    /// Number of `a=crypto` lines (all of them, also beyond `crypto_suites`).
    pub crypto_count: u16,
    /// Whether some `a=crypto` line carries inline key material.
    pub inline_keys: bool,
    /// `a=fingerprint` (media level, else session level): hash function and value, lower case.
    pub fingerprint: Option<(Box<str>, Box<str>)>,
    /// `a=setup` role.
    pub setup: Option<&'static str>,
    /// `a=zrtp-hash` is present.
    pub zrtp_hash: bool,
    /// ICE is offered (`a=ice-ufrag` or candidates).
    pub ice: bool,
    /// Direction (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub direction: &'static str,
    /// `a=ptime`, ms.
    pub ptime: Option<u32>,
    /// The payload formats with their encoding and clock rate, at most a few.
    pub codecs: Vec<CodecSeen>,
}

impl MediaSeen {
    /// The encryption this description asks for.
    pub fn encryption(&self) -> Encryption {
        if self.dtls_profile || (self.fingerprint.is_some() && self.secure_profile) {
            Encryption::DtlsSrtp
        } else if self.secure_profile && self.crypto_count > 0 {
            Encryption::SrtpSdes
        } else if self.zrtp_hash {
            Encryption::Zrtp
        } else if self.secure_profile {
            Encryption::Unknown
        } else {
            Encryption::Rtp
        }
    }

    /// The codec of payload type `pt`, if listed.
    pub fn codec(&self, pt: u8) -> Option<&CodecSeen> {
        self.codecs.iter().find(|c| c.pt == pt)
    }
}

/// A payload format of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecSeen {
    /// Payload type.
    pub pt: u8,
    /// Encoding name (`PCMU`, `opus`, ...), from `a=rtpmap` or the static table.
    pub name: Box<str>,
    /// Clock rate, Hz.
    pub clock: u32,
}

/// How a media stream is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encryption {
    /// Plain RTP.
    Rtp,
    /// SRTP keyed by SDES (`a=crypto`, RFC 4568).
    SrtpSdes,
    /// SRTP keyed by DTLS (RFC 5763/5764).
    DtlsSrtp,
    /// SRTP keyed by ZRTP (RFC 6189).
    Zrtp,
    /// Not known (no signalling seen, and the media says nothing certain).
    Unknown,
}

impl Encryption {
    /// Every value, in output order.
    pub const ALL: [Encryption; 5] = [
        Encryption::Rtp,
        Encryption::SrtpSdes,
        Encryption::DtlsSrtp,
        Encryption::Zrtp,
        Encryption::Unknown,
    ];

    /// The EVE name.
    pub fn name(self) -> &'static str {
        match self {
            Encryption::Rtp => "rtp",
            Encryption::SrtpSdes => "srtp-sdes",
            Encryption::DtlsSrtp => "dtls-srtp",
            Encryption::Zrtp => "zrtp",
            Encryption::Unknown => "unknown",
        }
    }

    /// Whether the media is protected.
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            Encryption::SrtpSdes | Encryption::DtlsSrtp | Encryption::Zrtp
        )
    }
}

/// One direction of an RTP stream: who sends, to whom, with which SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Synchronisation source.
    pub ssrc: u32,
}

/// What the media itself says about its protection, from the first packets of a stream (no SDP needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaEvidence {
    /// Packets whose payload size is exactly the codec's frame for their timestamp step (plain codec data:
    /// 160 bytes of PCMU for 160 samples).
    pub codec_sized: u32,
    /// Packets whose payload is the codec's frame plus an SRTP authentication tag (4 or 10 bytes, RFC 3711).
    pub tag_sized: u32,
    /// Packets of a static fixed-rate codec whose size could be judged.
    pub judged: u32,
    /// DTLS records were seen on the stream's address pair.
    pub dtls: bool,
    /// A ZRTP message was seen on the stream's address pair.
    pub zrtp: bool,
    /// STUN was seen on the stream's address pair (ICE).
    pub stun: bool,
}

impl MediaEvidence {
    /// Packets judged needed before the size test says anything.
    pub const MIN_JUDGED: u32 = 8;

    /// What the media alone says: `Some(Rtp)` when nearly every judged packet is exactly codec-sized,
    /// `Some(DtlsSrtp)`/`Some(Zrtp)` when their handshakes were seen, `None` when it cannot tell (an SRTP tag
    /// shows encryption, but not how it was keyed).
    pub fn verdict(&self) -> Option<Encryption> {
        if self.zrtp {
            return Some(Encryption::Zrtp);
        }
        if self.dtls {
            return Some(Encryption::DtlsSrtp);
        }
        if self.judged >= Self::MIN_JUDGED && self.codec_sized * 10 >= self.judged * 9 {
            return Some(Encryption::Rtp);
        }
        None
    }

    /// The media looks like SRTP: most judged packets carry an authentication tag.
    pub fn looks_srtp(&self) -> bool {
        self.judged >= Self::MIN_JUDGED && self.tag_sized * 10 >= self.judged * 9
    }
}

/// A new RTP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpStart {
    /// The stream.
    pub key: StreamKey,
    /// Sequence number of the stream's first packet: identifies the stream (and orders its events).
    pub first_seq: u64,
    /// Time of the first packet.
    pub first: PacketTime,
    /// Payload type of the first packet.
    pub payload_type: u8,
    /// What the first packets say about encryption.
    pub evidence: MediaEvidence,
}

/// Why a stream's figures were reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// No packet for the idle timeout.
    Idle,
    /// The worker's table was full and this stream was the least recently active.
    Evicted,
    /// The input ended.
    CaptureEnd,
    /// The sender restarted its sequence numbers; the packets after the restart are a new stream.
    Restart,
}

impl StreamEnd {
    /// Lower-case name, for EVE.
    pub fn name(self) -> &'static str {
        match self {
            StreamEnd::Idle => "idle",
            StreamEnd::Evicted => "evicted",
            StreamEnd::CaptureEnd => "capture_end",
            StreamEnd::Restart => "restart",
        }
    }
}

/// A stream's figures (RFC 3550 accounting, computed as `tshark -z rtp,streams` does).
#[derive(Debug, Clone, PartialEq)]
pub struct RtpSummary {
    /// First payload type.
    pub payload_type: u8,
    /// Times the payload type changed.
    pub payload_type_changes: u64,
    /// Packets, duplicates included.
    pub packets: u64,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// First packet.
    pub first: PacketTime,
    /// Last packet.
    pub last: PacketTime,
    /// Expected from the sequence numbers (RFC 3550 §A.3).
    pub expected: u64,
    /// Expected less received (negative with duplicates).
    pub lost: i64,
    /// Duplicated sequence numbers.
    pub duplicates: u64,
    /// Packets that came late (behind the highest sequence number).
    pub out_of_order: u64,
    /// Sequence jumps believed (sender restarts).
    pub seq_resets: u64,
    /// Clock rate used for jitter, Hz (0: unknown).
    pub clock_rate: u32,
    /// RFC 3550 §A.8 interarrival jitter at the end, ms.
    pub jitter_ms: f64,
    /// Largest jitter estimate, ms.
    pub max_jitter_ms: f64,
    /// Mean jitter estimate, ms.
    pub mean_jitter_ms: f64,
    /// Largest arrival gap, ms.
    pub max_delta_ms: f64,
    /// Mean arrival gap, ms (the packetisation time when regular).
    pub mean_delta_ms: f64,
}

impl RtpSummary {
    /// Lost packets over expected, 0 to 1 (duplicates do not make it negative).
    pub fn loss_ratio(&self) -> f64 {
        if self.expected == 0 || self.lost <= 0 {
            0.0
        } else {
            #[expect(clippy::cast_precision_loss, reason = "a ratio")]
            let r = self.lost as f64 / self.expected as f64;
            r.min(1.0)
        }
    }
}

/// An RTP stream's end, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RtpEnd {
    /// The stream.
    pub key: StreamKey,
    /// Sequence number of its first packet (as in its [`RtpStart`]).
    pub first_seq: u64,
    /// Why it was reported.
    pub reason: StreamEnd,
    /// Its figures.
    pub summary: RtpSummary,
    /// What the media said about encryption, over the stream's life.
    pub evidence: MediaEvidence,
}

/// One RTCP compound packet's reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpSeen {
    /// Sender of the RTCP packet.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// SSRC of the reporter.
    pub reporter: u32,
    /// Sender info of an SR: packets and octets the reporter sent.
    pub sender: Option<(u32, u32)>,
    /// Report blocks (at most a few): what the reporter received from each source.
    pub blocks: Vec<ReportSeen>,
}

/// An RTCP report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSeen {
    /// The source reported on.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (signed, 24 bits).
    pub cumulative_lost: i32,
    /// Interarrival jitter, timestamp units.
    pub jitter: u32,
}

/// UDP datagrams to one destination in one second of packet time, in one of two kinds:
/// - a *flow report* (`opened == 0`): one direction of a UDP flow, reported by the worker that owns the flow
///   when the second closed with at least [`UdpRate::FLOOR_PPS`] datagrams (less the flow's opening datagram
///   when it opened in that second: that one is in an opening report). Quieter seconds make no event, so a
///   call's media (50 packets a second per direction) costs nothing here;
/// - an *opening report* (`opened > 0`): the UDP flows to `dst` that one worker saw open in that second, one
///   datagram each (`packets == opened`), whatever their number: a flood whose every datagram has a new
///   5-tuple (random source ports, spoofed sources) is a flood of openings. Every worker reports all of its
///   openings, so their sum per destination is the same whatever the number of workers. `src` is the first
///   opener, `single_source` says whether every opener had its address; `rtp` and `sip` are not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRate {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// The second of packet time counted (whole seconds since the epoch).
    pub sec: u64,
    /// Datagrams in that second.
    pub packets: u32,
    /// UDP payload bytes in that second.
    pub bytes: u64,
    /// Some datagram of the flow (either direction, at any time so far) parsed as RTP.
    pub rtp: bool,
    /// Some datagram of the flow parsed as SIP.
    pub sip: bool,
    /// Flows opened (an opening report), or 0 (a flow report).
    pub opened: u32,
    /// Every datagram counted came from `src`'s address (always true for a flow report).
    pub single_source: bool,
    /// The capture-order sequence number of the flow's first packet (of an opening report: of the first flow
    /// opened): its identity, and the merge tiebreak (reports are made at the clock marker that closes the
    /// second; see [`Event::tiebreak`]).
    pub flow_id: u64,
}

impl UdpRate {
    /// The worker's floor: a flow direction must carry this many datagrams in one second to be reported. Far
    /// above one voice stream (50 packets a second at 20 ms, 100 at 10 ms), below any flood worth a name.
    pub const FLOOR_PPS: u32 = 150;
}

/// The two ends of a TCP connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpConn {
    /// The side that sent the SYN.
    pub client: SocketAddr,
    /// The side the SYN went to.
    pub server: SocketAddr,
}

/// The kinds of [`Payload`], as bits for [`Interests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// [`Payload::Arp`].
    Arp = 0,
    /// [`Payload::TcpSyn`], [`Payload::TcpSynAck`], [`Payload::TcpEstablished`] and [`Payload::TcpRefused`].
    TcpHandshake = 1,
    /// [`Payload::Clock`].
    Clock = 2,
    /// [`Payload::Sip`].
    Sip = 3,
    /// [`Payload::RtpStart`] and [`Payload::RtpEnd`].
    Rtp = 4,
    /// [`Payload::Rtcp`].
    Rtcp = 5,
    /// [`Payload::Tls`].
    Tls = 6,
    /// [`Payload::SipMalformed`].
    SipMalformed = 7,
    /// [`Payload::UdpRate`].
    UdpRate = 8,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 9] = [
        EventKind::Arp,
        EventKind::TcpHandshake,
        EventKind::Clock,
        EventKind::Sip,
        EventKind::Rtp,
        EventKind::Rtcp,
        EventKind::Tls,
        EventKind::SipMalformed,
        EventKind::UdpRate,
    ];

    /// Lower-case name, for counters.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Arp => "arp",
            EventKind::TcpHandshake => "tcp_handshake",
            EventKind::Clock => "clock",
            EventKind::Sip => "sip",
            EventKind::Rtp => "rtp",
            EventKind::Rtcp => "rtcp",
            EventKind::Tls => "tls",
            EventKind::SipMalformed => "sip_malformed",
            EventKind::UdpRate => "udp_rate",
        }
    }
}

impl Payload {
    /// The kind, for dispatch by interest.
    pub fn kind(&self) -> EventKind {
        match self {
            Payload::Arp(_) => EventKind::Arp,
            Payload::TcpSyn(_)
            | Payload::TcpSynAck(_)
            | Payload::TcpEstablished(_)
            | Payload::TcpRefused(_) => EventKind::TcpHandshake,
            Payload::Clock => EventKind::Clock,
            Payload::Sip(_) => EventKind::Sip,
            Payload::RtpStart(_) | Payload::RtpEnd(_) => EventKind::Rtp,
            Payload::Rtcp(_) => EventKind::Rtcp,
            Payload::Tls(_) => EventKind::Tls,
            Payload::SipMalformed(_) => EventKind::SipMalformed,
            Payload::UdpRate(_) => EventKind::UdpRate,
        }
    }
}

impl Event {
    /// The order of events that share a sequence number across workers: the stream ends and TLS handshakes
    /// a sweep reports at a clock marker (or at the end of input) come after the marker, by their stream's
    /// (handshake's) first packet. A
    /// stream that ends before its start was due has its start reported with its end, with the same
    /// tiebreak: the worker sends the start first, and the merge keeps one worker's order among equals.
    /// Rate reports ([`Payload::UdpRate`]) made at a clock marker order by their flow's first packet, likewise.
    /// Merging by `(seq, tiebreak)` gives one order whatever the number of workers.
    pub fn tiebreak(&self) -> u64 {
        match &self.payload {
            Payload::RtpStart(s) => s.first_seq.saturating_add(1),
            Payload::RtpEnd(e) => e.first_seq.saturating_add(1),
            Payload::Tls(t) => t.first_seq.saturating_add(1),
            Payload::UdpRate(r) => r.flow_id.saturating_add(1),
            _ => 0,
        }
    }
}

/// A set of [`EventKind`]s a detector wants to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interests(u32);

impl Interests {
    /// No events.
    pub const NONE: Interests = Interests(0);

    /// A set of one kind.
    pub const fn of(kind: EventKind) -> Self {
        Interests(1 << kind as u8)
    }

    /// This set plus `kind`.
    #[must_use]
    pub const fn with(self, kind: EventKind) -> Self {
        Interests(self.0 | 1 << kind as u8)
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: EventKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}
