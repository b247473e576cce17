//! Workers: the per-packet work. Each worker owns the flows the dispatcher hashes to it: it decodes frames,
//! reassembles IP fragments and TCP streams, and turns what it sees into [`Event`]s for the engine. Workers
//! never raise alerts.

pub mod defrag;
pub mod flow;
pub mod media;
pub mod reasm;
pub mod rtp_stats;
pub mod tls;

use std::net::SocketAddr;

use callguard_parsers::link::{self, LinkType, Net, Transport};
use callguard_parsers::tunnel::{self, Tunnel};
use callguard_parsers::{ErrorKind, Layer};
use callguard_rules::event::{
    ArpSeen, AuthSeen, CodecSeen, Event, MediaSeen, Payload, SdpSeen, SipMalformedSeen, SipSeen,
    SipTransport, TcpConn,
};
use callguard_rules::time::PacketTime;

use crate::output::hep::HepHandle;
use crate::stats::{Counters, Proto, SipCounters};
use callguard_rules::table::BoundedMap;
use defrag::{Defrag, DefragConfig};
use flow::{DirKey, FlowKey, FlowTable, Side};
use media::{Media, MediaFlags};
use reasm::{CloseReason, ConnInfo, Dir, Handshake, StreamHandler, TcpConfig, TcpTable};

/// Streams the application layer frames at once (per direction); beyond this the oldest is forgotten.
pub const MAX_SIP_STREAMS: usize = 16_384;
/// A stream idle this long (packet time) loses its partial message.
pub const SIP_STREAM_IDLE_SECS: u64 = 300;

/// Whether a stream direction carries SIP, decided on its first line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    /// Not enough bytes yet to tell (a first segment may end inside the request line).
    #[default]
    Unknown,
    /// SIP: framed message by message.
    Sip,
    /// An HTTP `GET` or `HTTP/1.1 101` whose header block is still arriving: it may open a WebSocket.
    Handshake,
    /// WebSocket frames after an upgrade for SIP (RFC 7118): one SIP message per WebSocket message.
    WebSocket,
    /// TLS records (a first byte 22 and version 3.x, or any record header once the peer direction is TLS):
    /// the handshake is read ([`tls::TlsStreams`]) until this direction encrypts.
    Tls,
    /// Something else (an encrypted TLS direction, ...): only counted.
    Other,
}

/// Bytes of a stream's start held at most while deciding whether it is SIP.
const SIP_DECIDE_BYTES: usize = 512;

/// Where a WebSocket direction is between frames.
#[derive(Debug, Default)]
struct WsState {
    /// Bytes at the start of `pending` that are the unmasked payload of a message whose last frame has not
    /// come yet (at most `sip::MAX_MESSAGE_LEN`).
    assembled: usize,
    /// A message has started (its first frame had FIN clear) and continuation frames follow.
    in_message: bool,
    /// Payload bytes of a control frame still to pass over: control payloads are never buffered.
    skip: usize,
}

/// What the application layer knows of one direction of a TCP stream.
#[derive(Debug, Default)]
struct StreamState {
    kind: StreamKind,
    /// SIP: bytes of a message not complete yet (at most `sip::MAX_MESSAGE_LEN`). Handshake: the header
    /// block so far (at most `ws::MAX_HANDSHAKE_LEN` between segments). WebSocket: the assembled part of a
    /// fragmented message, then the frame being read (at most `sip::MAX_MESSAGE_LEN + ws::MAX_HEADER_LEN`).
    pending: Vec<u8>,
    ws: WsState,
}

/// Why a WebSocket direction stops being followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WsStop {
    /// Frames that break RFC 6455 (a bad control frame, a continuation with no message, a new message
    /// inside one, a reserved opcode) or a message longer than `sip::MAX_MESSAGE_LEN`: counted malformed.
    Malformed,
    /// RSV bits set: a negotiated extension (permessage-deflate, RFC 7692) this sensor does not decode.
    Unsupported,
}

/// The application layer of TCP streams: SIP over TCP framed by Content-Length (RFC 3261 §18.3), several
/// messages per segment or one message over several segments, keep-alives skipped; and SIP over WebSocket
/// (RFC 7118) when the HTTP upgrade is in the stream: frames read across segments, fragmented messages
/// reassembled, client frames unmasked, control frames counted. Streams whose first bytes are neither (TLS,
/// anything else) are only counted. This is where SIP events over TCP are made next.
#[derive(Debug)]
pub struct AppLayer {
    stream_bytes: u64,
    closed: u64,
    streams: BoundedMap<(std::net::SocketAddr, std::net::SocketAddr), StreamState>,
    tally: SipTally,
    /// TLS handshakes of the streams that are TLS.
    tls: tls::TlsStreams,
    /// The sequence number of the packet being handled (a new TLS handshake's first packet).
    seq: u64,
}

/// What SIP over TCP produced: counters, and the messages framed from the segment being handled, for the
/// worker to send on.
#[derive(Debug, Default)]
struct SipTally {
    /// Requests and responses over TCP, plain and WebSocket.
    counts: SipCounters,
    /// SIP messages framed from plain TCP streams.
    messages: u64,
    /// SIP messages carried by WebSocket messages.
    ws_messages: u64,
    /// Messages that did not parse as SIP, or streams that could not be framed.
    malformed: u64,
    /// WebSocket directions that stopped on frames breaking RFC 6455 or on a message too long.
    ws_malformed: u64,
    /// Requests to upgrade a connection to WebSocket for SIP (the client's GET, answered or not).
    ws_upgrades: u64,
    /// Close, ping and pong frames.
    ws_control: u64,
    events: Vec<SipSeen>,
    /// Where every framed SIP message is also sent (`--hep`), and the packet time of the segment being handled.
    hep: Option<HepHandle>,
    ts: PacketTime,
    /// The messages of the segment being handled that did not parse, and the point where a stream's framing
    /// broke (one for each count in `malformed`), and the requests that parsed but cannot be followed (no
    /// usable Call-ID or CSeq: not counted malformed), in stream order.
    bad: Vec<SipMalformedSeen>,
}

impl Default for AppLayer {
    fn default() -> Self {
        Self {
            stream_bytes: 0,
            closed: 0,
            streams: BoundedMap::new(
                MAX_SIP_STREAMS,
                std::time::Duration::from_secs(SIP_STREAM_IDLE_SECS),
            ),
            tally: SipTally::default(),
            tls: tls::TlsStreams::default(),
            seq: 0,
        }
    }
}

/// Longest text a SIP summary keeps of one field (Call-ID, user, tag, User-Agent): bounded events whatever
/// a packet says.
pub const MAX_SIP_FIELD: usize = 256;

fn cut(s: &str) -> Box<str> {
    let mut end = s.len().min(MAX_SIP_FIELD);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().into()
}

/// The summary of a parsed SIP message the engine follows calls with; `None` without a Call-ID or CSeq.
fn sip_seen(
    m: &callguard_parsers::sip::Message<'_>,
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
    transport: SipTransport,
) -> Option<SipSeen> {
    let call_id = m.call_id()?;
    let cseq = m.cseq()?;
    let from = m.from();
    let to = m.to();
    // Each header parsed once, whatever number of fields it feeds.
    let contact = m.contact();
    let via = m.via_top();
    let sent_by = via.as_ref().map(|v| v.sent_by());
    let is_sdp = m.is_sdp();
    Some(SipSeen {
        src,
        dst,
        transport,
        method: m.method().map(|x| cut(x.as_str())),
        status: m.status(),
        call_id: cut(call_id),
        ruri_user: m.request_uri().and_then(|u| u.user().map(cut)),
        from_user: from.as_ref().and_then(|f| f.uri().user().map(cut)),
        from_display: from.as_ref().and_then(|f| f.display_name().map(cut)),
        from_tag: from.as_ref().and_then(|f| f.tag().map(cut)),
        to_user: to.as_ref().and_then(|t| t.uri().user().map(cut)),
        to_tag: to.as_ref().and_then(|t| t.tag().map(cut)),
        cseq: cseq.number,
        cseq_method: cut(cseq.method.as_str()),
        user_agent: m.user_agent().or_else(|| m.server()).map(cut),
        has_sdp: is_sdp,
        sdp: if is_sdp { sdp_seen(m.body()) } else { None },
        auth: auth_seen(m),
        contact_user: contact.as_ref().and_then(|c| c.uri().user().map(cut)),
        contact_addr: contact
            .as_ref()
            .and_then(|c| socket_addr(c.uri().host()?, c.uri().port())),
        via_addr: sent_by.and_then(|h| socket_addr(h.host, h.port)),
        via_count: u16::try_from(m.via_count()).unwrap_or(u16::MAX),
        branch: via.as_ref().and_then(|v| v.branch()).map(cut),
        path: sip_path(m),
        // Empty for a well-formed message: collecting nothing allocates nothing.
        anomalies: m.anomalies().slugs().collect(),
    })
}

/// The name of a parse error's kind, as malformed-SIP events carry it.
fn error_kind_name(k: ErrorKind) -> &'static str {
    use ErrorKind as K;
    match k {
        K::Incomplete { .. } => "incomplete",
        K::Truncated => "truncated",
        K::Invalid => "invalid",
        K::LimitExceeded => "limit-exceeded",
        K::Unsupported => "unsupported",
        _ => "other",
    }
}

/// The event for a request that parsed but has no usable Call-ID or CSeq (fuzzers send them; no stack
/// does): nothing the engine can follow, but `malformed-sip` counts it. (A response without them echoes
/// such a request: not the responder's doing, and not reported.)
fn unusable(
    m: &callguard_parsers::sip::Message<'_>,
    src: std::net::SocketAddr,
    dst: std::net::SocketAddr,
    transport: SipTransport,
) -> SipMalformedSeen {
    SipMalformedSeen {
        src,
        dst,
        transport,
        kind: "missing-mandatory",
        anomalies: m.anomalies().slugs().collect(),
    }
}

/// Addresses kept of one message's path (Via and Record-Route hops).
pub const MAX_SIP_PATH: usize = 8;

/// The IP addresses of every Via sent-by and Record-Route host, in header order, at most [`MAX_SIP_PATH`].
fn sip_path(m: &callguard_parsers::sip::Message<'_>) -> Vec<std::net::IpAddr> {
    let vias = m.vias().filter_map(|v| socket_addr(v.sent_by().host, None));
    let rrs = m
        .record_routes()
        .filter_map(|r| socket_addr(r.uri().host()?, None));
    let mut path: Vec<std::net::IpAddr> = Vec::new();
    for a in vias.chain(rrs) {
        if path.len() >= MAX_SIP_PATH {
            break;
        }
        if !path.contains(&a.ip()) {
            path.push(a.ip());
        }
    }
    path
}

/// An IP host and port (5060 when absent) as a socket address; `None` for a domain name.
fn socket_addr(host: callguard_parsers::sip::Host<'_>, port: Option<u16>) -> Option<SocketAddr> {
    use callguard_parsers::sip::Host;
    let ip: std::net::IpAddr = match host {
        Host::Ipv4(a) => a.into(),
        Host::Ipv6(a) => a.into(),
        Host::Domain(_) | Host::Invalid(_) => return None,
    };
    Some(SocketAddr::new(ip, port.unwrap_or(5060)))
}

/// `Authorization`, else `Proxy-Authorization`: who authenticates and how, never the response.
fn auth_seen(m: &callguard_parsers::sip::Message<'_>) -> Option<Box<AuthSeen>> {
    let (proxy, c) = match m.authorization() {
        Some(c) => (false, c),
        None => (true, m.proxy_authorization()?),
    };
    Some(Box::new(AuthSeen {
        proxy,
        scheme: cut(c.scheme()),
        username: c.username().map(cut),
        realm: c.realm().map(cut),
        algorithm: c.algorithm().map(cut),
        qop: c.qop().map(cut),
        nonce: c.nonce().map(cut),
    }))
}

/// Media descriptions kept from one SDP body; the rest are counted by nobody (bodies with more are odd).
pub const MAX_SDP_MEDIA: usize = 8;
/// Payload formats kept per media description.
pub const MAX_SDP_CODECS: usize = 8;
/// `a=crypto` suites kept per media description.
pub const MAX_SDP_CRYPTO: usize = 4;

/// The summary of an SDP body; `None` when it does not parse. Keys are never read out of `a=crypto`.
fn sdp_seen(body: &[u8]) -> Option<Box<SdpSeen>> {
    use callguard_parsers::sdp::{Attribute, Session};
    let s = Session::parse(body).ok()?;
    let session_zrtp = s.attributes().any(|a| matches!(a, Attribute::ZrtpHash(_)));
    let media = s
        .media()
        .take(MAX_SDP_MEDIA)
        .map(|md| {
            let proto = md.proto();
            let mut crypto_count = 0u16;
            let mut crypto_suites = Vec::new();
            let mut inline_keys = false;
            for c in md.crypto() {
                crypto_count = crypto_count.saturating_add(1);
                inline_keys |= c.key_method().eq_ignore_ascii_case("inline");
                if crypto_suites.len() < MAX_SDP_CRYPTO {
                    crypto_suites.push(cut(c.suite()));
                }
            }
            MediaSeen {
                kind: cut(md.kind().name()),
                addr: md.connection().and_then(|c| c.ip()),
                port: md.port(),
                rtcp_port: md.rtcp_port(),
                rtcp_mux: md.rtcp_mux(),
                proto: cut(proto.name()),
                secure_profile: proto.is_secure(),
                dtls_profile: proto.uses_dtls(),
                crypto_suites,
                crypto_count,
                inline_keys,
                fingerprint: md.fingerprint().map(|f| {
                    (
                        cut(&f.hash.to_ascii_lowercase()),
                        cut(&f.value.to_ascii_lowercase()),
                    )
                }),
                setup: md.setup().map(|x| x.name()),
                zrtp_hash: session_zrtp
                    || md.attributes().any(|a| matches!(a, Attribute::ZrtpHash(_))),
                ice: md.ice_ufrag().is_some() || md.candidate_count() > 0,
                direction: md.direction().name(),
                ptime: md.ptime(),
                codecs: md
                    .codecs()
                    .take(MAX_SDP_CODECS)
                    .map(|c| CodecSeen {
                        pt: c.payload_type,
                        name: cut(c.name.unwrap_or("")),
                        clock: c.clock_rate.unwrap_or(0),
                    })
                    .collect(),
            }
        })
        .collect();
    Some(Box::new(SdpSeen {
        session_addr: s.connection().and_then(|c| c.ip()),
        media,
    }))
}

fn stream_key(conn: &ConnInfo, dir: Dir) -> (std::net::SocketAddr, std::net::SocketAddr) {
    match dir {
        Dir::ToServer => (conn.client, conn.server),
        Dir::ToClient => (conn.server, conn.client),
    }
}

impl SipTally {
    fn message(
        &mut self,
        bytes: &[u8],
        src: std::net::SocketAddr,
        dst: std::net::SocketAddr,
        transport: SipTransport,
    ) {
        if callguard_parsers::sip::is_keepalive(bytes) {
            return;
        }
        if let Some(h) = &self.hep {
            h.send(self.ts, src, dst, transport, bytes);
        }
        match callguard_parsers::sip::Message::parse(bytes) {
            Ok(m) => {
                if transport == SipTransport::Ws {
                    self.ws_messages += 1;
                } else {
                    self.messages += 1;
                }
                if let Some(method) = m.method() {
                    self.counts.request(method.as_str());
                } else if let Some(status) = m.status() {
                    self.counts.response(status);
                }
                match sip_seen(&m, src, dst, transport) {
                    Some(e) => self.events.push(e),
                    // Parsed, so not counted malformed; but nothing the engine can follow.
                    None if m.is_request() => self.bad.push(unusable(&m, src, dst, transport)),
                    None => {}
                }
            }
            Err(e) => self.broken(src, dst, transport, e.kind),
        }
    }

    /// A message that did not parse, or a stream whose framing broke: counted, and kept for an event.
    fn broken(
        &mut self,
        src: std::net::SocketAddr,
        dst: std::net::SocketAddr,
        transport: SipTransport,
        kind: ErrorKind,
    ) {
        self.malformed += 1;
        self.bad.push(SipMalformedSeen {
            src,
            dst,
            transport,
            kind: error_kind_name(kind),
            anomalies: Vec::new(),
        });
    }
}

/// Reads WebSocket frames of one direction from `input` (RFC 6455 §5), after what `st` holds already: each
/// complete text or binary message goes to the tally as one SIP message (RFC 7118 §5), control frames are
/// counted. Bytes are taken from `input` only as far as the frame being read needs, so `st.pending` never
/// holds more than the assembled part of a message plus one frame; a declared length that would make a
/// message longer than `sip::MAX_MESSAGE_LEN` stops the stream before any of its payload is held.
fn ws_frames(
    st: &mut StreamState,
    tally: &mut SipTally,
    key: (SocketAddr, SocketAddr),
    mut input: &[u8],
) -> Result<(), WsStop> {
    use callguard_parsers::sip::MAX_MESSAGE_LEN;
    use callguard_parsers::ws::{self, Opcode};
    // Moves up to `n` bytes from the front of `input` to the end of `pending`; false when none are left.
    fn take(pending: &mut Vec<u8>, input: &mut &[u8], n: usize) -> bool {
        if input.is_empty() {
            return false;
        }
        let (now, later) = input.split_at(n.min(input.len()));
        pending.extend_from_slice(now);
        *input = later;
        true
    }
    loop {
        if st.ws.skip > 0 {
            let n = st.ws.skip.min(input.len());
            st.ws.skip -= n;
            input = input.get(n..).unwrap_or_default();
            if st.ws.skip > 0 {
                return Ok(());
            }
        }
        let at = st.ws.assembled;
        let h = match ws::Header::parse(st.pending.get(at..).unwrap_or_default()) {
            Ok(h) => h,
            Err(e) => match e.kind {
                ErrorKind::Incomplete { needed } => {
                    if take(&mut st.pending, &mut input, needed) {
                        continue;
                    }
                    return Ok(());
                }
                _ => return Err(WsStop::Malformed),
            },
        };
        if h.opcode.is_control() {
            if !matches!(h.opcode, Opcode::CLOSE | Opcode::PING | Opcode::PONG) {
                return Err(WsStop::Malformed);
            }
            // The header is all `pending` holds past `at`: drop it and pass over the payload (<= 125 bytes).
            tally.ws_control += 1;
            st.pending.truncate(at);
            st.ws.skip = usize::try_from(h.payload_len).unwrap_or(usize::MAX);
            continue;
        }
        if h.rsv != 0 {
            return Err(WsStop::Unsupported);
        }
        let continues = h.opcode == Opcode::CONTINUATION;
        if !(h.opcode.is_data() && !st.ws.in_message || continues && st.ws.in_message) {
            return Err(WsStop::Malformed);
        }
        let len = usize::try_from(h.payload_len)
            .ok()
            .filter(|&n| n <= MAX_MESSAGE_LEN.saturating_sub(at))
            .ok_or(WsStop::Malformed)?;
        let frame_end = at + h.len + len;
        let missing = frame_end.saturating_sub(st.pending.len());
        if missing > 0 {
            take(&mut st.pending, &mut input, missing);
            if st.pending.len() < frame_end {
                return Ok(());
            }
        }
        // The whole frame is at `at..frame_end`: unmask its payload, move it onto the assembled part.
        let payload = at + h.len..frame_end;
        if let (Some(k), Some(p)) = (h.mask, st.pending.get_mut(payload.clone())) {
            ws::unmask(k, 0, p);
        }
        st.pending.copy_within(payload, at);
        st.pending.truncate(at + len);
        st.ws.assembled = at + len;
        st.ws.in_message = !h.fin;
        if h.fin {
            tally.message(&st.pending, key.0, key.1, SipTransport::Ws);
            st.pending.clear();
            st.ws.assembled = 0;
        }
    }
}

impl AppLayer {
    /// A direction whose header block is complete: an upgrade for SIP (the client's request, or the server's
    /// `101` answering one) turns it to WebSocket and reads the frames that followed the block.
    fn handshake(&mut self, key: (SocketAddr, SocketAddr), ts: PacketTime) {
        use callguard_parsers::ws::{self, StartLine};
        let Self { streams, tally, .. } = self;
        let Some(st) = streams.get_mut(&key, ts) else {
            return;
        };
        let head = std::mem::take(&mut st.pending);
        // (header block length, names the sip subprotocol, is the client's request)
        let upgrade = match ws::Handshake::parse(&head) {
            Ok(h) => match h.start {
                StartLine::Request { .. } => h.is_sip_upgrade().then_some((h.len, true, true)),
                // The answer to an upgrade for SIP names `sip` (RFC 7118 §4.1); else the request must
                // have been seen.
                StartLine::Response { .. } => h.is_switching().then_some((h.len, h.sip, false)),
            },
            Err(e) if matches!(e.kind, ErrorKind::Incomplete { .. }) => {
                st.pending = head;
                return;
            }
            // Not HTTP/1.1 as WebSocket uses it, or a header block over the bound.
            Err(_) => None,
        };
        let Some((len, sip, request)) = upgrade else {
            st.kind = StreamKind::Other;
            if ws::probe(&head) && head.starts_with(b"HTTP/") {
                self.upgrade_refused(key, ts);
            }
            return;
        };
        let sip = sip
            || streams
                .get(&(key.1, key.0))
                .is_some_and(|peer| peer.kind == StreamKind::WebSocket);
        let Some(st) = streams.get_mut(&key, ts) else {
            return;
        };
        if !sip {
            st.kind = StreamKind::Other;
            return;
        }
        if request {
            tally.ws_upgrades += 1;
        }
        st.kind = StreamKind::WebSocket;
        st.ws = WsState::default();
        let frames = head.get(len..).unwrap_or_default();
        if let Err(stop) = ws_frames(st, tally, key, frames) {
            ws_stop(st, tally, stop);
        }
    }
}

impl AppLayer {
    /// The server direction `key` answered without switching protocols: the client direction, WebSocket since
    /// its request, is not followed any further (what it sends next is HTTP, not frames).
    fn upgrade_refused(&mut self, key: (SocketAddr, SocketAddr), ts: PacketTime) {
        if let Some(peer) = self.streams.get_mut(&(key.1, key.0), ts)
            && peer.kind == StreamKind::WebSocket
        {
            peer.kind = StreamKind::Other;
            peer.pending = Vec::new();
            peer.ws = WsState::default();
        }
    }
}

/// A WebSocket direction that cannot be followed any further becomes Other.
fn ws_stop(st: &mut StreamState, tally: &mut SipTally, stop: WsStop) {
    if stop == WsStop::Malformed {
        tally.ws_malformed += 1;
    }
    st.kind = StreamKind::Other;
    st.pending = Vec::new();
    st.ws = WsState::default();
}

impl StreamHandler for AppLayer {
    fn on_data(&mut self, conn: &ConnInfo, dir: Dir, ts: PacketTime, data: &[u8]) {
        use callguard_parsers::{sip, ws};
        self.stream_bytes += data.len() as u64;
        let key = stream_key(conn, dir);
        // One lookup per segment: the stream's state is worked on in place, beside the tally.
        let Self { streams, tally, .. } = self;
        let st = streams.get_or_insert_with(key, ts, StreamState::default);
        match st.kind {
            StreamKind::Other => return,
            StreamKind::WebSocket => {
                if let Err(stop) = ws_frames(st, tally, key, data) {
                    ws_stop(st, tally, stop);
                }
                return;
            }
            StreamKind::Tls => {
                let to_server = dir == Dir::ToServer;
                let conn = (conn.client, conn.server);
                if self.tls.data(conn, to_server, self.seq, ts, data) == tls::Follow::Stop {
                    st.kind = StreamKind::Other;
                }
                return;
            }
            _ => {}
        }
        let from_data = st.pending.is_empty() && st.kind == StreamKind::Sip;
        if !from_data {
            st.pending.extend_from_slice(data);
        }
        let st = if st.kind == StreamKind::Unknown {
            // TLS is decided on the first three bytes (a record header's type and version).
            let head = &st.pending;
            if head.len() < 3 && matches!(head.first(), Some(20..=24)) {
                return;
            }
            let (starts, any) = (
                tls::starts_tls(head, false),
                callguard_parsers::tls::record::probe_any(head),
            );
            if starts
                || any
                    && streams
                        .get(&(key.1, key.0))
                        .is_some_and(|p| p.kind == StreamKind::Tls)
            {
                let Some(st) = streams.get_mut(&key, ts) else {
                    return;
                };
                st.kind = StreamKind::Tls;
                let head = std::mem::take(&mut st.pending);
                let conn = (conn.client, conn.server);
                if self
                    .tls
                    .data(conn, dir == Dir::ToServer, self.seq, ts, &head)
                    == tls::Follow::Stop
                {
                    st.kind = StreamKind::Other;
                }
                return;
            }
            let Some(st) = streams.get_mut(&key, ts) else {
                return;
            };
            // Decide on the first line: wait for it (a first segment may stop inside "REGISTER").
            let head = &st.pending;
            let line_done =
                head.iter().any(|b| matches!(b, b'\r' | b'\n')) || head.len() >= SIP_DECIDE_BYTES;
            if !line_done {
                return;
            }
            st.kind = if sip::probe(head) || sip::is_keepalive(head) {
                StreamKind::Sip
            } else if ws::probe(head) {
                StreamKind::Handshake
            } else {
                let answer = head.starts_with(b"HTTP/1.");
                st.pending = Vec::new();
                st.kind = StreamKind::Other;
                if answer {
                    // An HTTP answer other than 101: an upgrade asked for by the peer was refused.
                    self.upgrade_refused(key, ts);
                }
                return;
            };
            st
        } else {
            st
        };
        match st.kind {
            StreamKind::Sip => {}
            StreamKind::Handshake => {
                self.handshake(key, ts);
                return;
            }
            _ => return,
        }
        // Frame every complete message; keep the tail of an incomplete one for the next segment.
        let source: &[u8] = if from_data { data } else { &st.pending };
        let mut off = 0;
        let mut broken = false;
        while let Some(rest) = source.get(off..).filter(|r| !r.is_empty()) {
            match sip::frame(rest) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(m) = rest.get(..n) {
                        tally.message(m, key.0, key.1, SipTransport::Tcp);
                    }
                    off += n;
                }
                Err(e) if matches!(e.kind, callguard_parsers::ErrorKind::Incomplete { .. }) => {
                    break;
                }
                Err(e) => {
                    // Not SIP any more, or a broken length: stop framing this stream.
                    tally.broken(key.0, key.1, SipTransport::Tcp, e.kind);
                    broken = true;
                    break;
                }
            }
        }
        if broken {
            st.pending = Vec::new();
        } else if from_data {
            st.pending.extend_from_slice(data.get(off..).unwrap_or(&[]));
        } else {
            let off = off.min(st.pending.len());
            st.pending.drain(..off);
        }
        if broken || st.pending.len() > sip::MAX_MESSAGE_LEN {
            st.kind = StreamKind::Other;
            st.pending = Vec::new();
        }
    }

    fn on_gap(&mut self, conn: &ConnInfo, dir: Dir, _skipped: u64) {
        // A TLS direction cannot find its record boundaries again: its handshake is given up.
        if self
            .streams
            .get(&stream_key(conn, dir))
            .is_some_and(|st| st.kind == StreamKind::Tls)
        {
            self.tls
                .gap((conn.client, conn.server), dir == Dir::ToServer);
        }
        // A hole in the stream: the partial message is lost; the next bytes may start a new SIP message. A
        // WebSocket stream has lost its frame boundaries (the next bytes may be inside a payload): it is
        // not followed any further.
        if let Some(st) = self
            .streams
            .get_mut(&stream_key(conn, dir), PacketTime::ZERO)
        {
            st.pending.clear();
            if matches!(
                st.kind,
                StreamKind::Handshake | StreamKind::WebSocket | StreamKind::Tls
            ) {
                st.kind = StreamKind::Other;
                st.pending = Vec::new();
                st.ws = WsState::default();
            }
        }
    }

    fn on_close(&mut self, conn: &ConnInfo, _reason: CloseReason) {
        self.closed += 1;
        self.tls.close((conn.client, conn.server));
        self.streams.remove(&(conn.client, conn.server));
        self.streams.remove(&(conn.server, conn.client));
    }
}

/// One worker's state.
#[derive(Debug)]
pub struct Worker {
    counters: Counters,
    defrag: Defrag,
    flows: FlowTable,
    tcp: TcpTable,
    app: AppLayer,
    media: Media,
    dtls: tls::DtlsTable,
    scratch: Vec<u8>,
    last_sweep_sec: u64,
    /// Where every SIP message over UDP is also sent (`--hep`; TCP's go from the app layer).
    hep: Option<HepHandle>,
}

impl Default for Worker {
    fn default() -> Self {
        Self::new()
    }
}

impl Worker {
    /// A worker with the default bounds.
    pub fn new() -> Self {
        Self {
            counters: Counters::default(),
            defrag: Defrag::new(DefragConfig::default()),
            flows: FlowTable::default(),
            tcp: TcpTable::new(TcpConfig::default()),
            app: AppLayer::default(),
            media: Media::default(),
            dtls: tls::DtlsTable::default(),
            scratch: Vec::new(),
            last_sweep_sec: 0,
            hep: None,
        }
    }

    /// Sends every SIP message this worker frames to a HEP collector too.
    pub fn set_hep(&mut self, h: HepHandle) {
        self.app.tally.hep = Some(h.clone());
        self.hep = Some(h);
    }

    /// Processes one frame; events go to `out`.
    pub fn packet(
        &mut self,
        seq: u64,
        ts: PacketTime,
        link_type: LinkType,
        frame: &[u8],
        out: &mut Vec<Event>,
    ) {
        self.counters.packets += 1;
        self.counters.bytes += frame.len() as u64;
        self.counters.frame_len = frame.len() as u64;
        match link_type {
            LinkType::ETHERNET => self.counters.count(Proto::Ethernet),
            LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => self.counters.count(Proto::LinuxCooked),
            _ => self.counters.count(Proto::RawIp),
        }
        let d = match link::decode(link_type, frame) {
            Ok(d) => d,
            Err(e) if e.kind == ErrorKind::Unsupported => {
                self.counters.unsupported_link += 1;
                return;
            }
            Err(e) => {
                self.counters.malformed(e.layer);
                return;
            }
        };
        if let Some(stop) = d.stop {
            self.counters.malformed(stop.layer);
        }
        if let Some(t) = d.tunnel {
            self.counters.count(match t {
                Tunnel::Gre => Proto::Gre,
                Tunnel::Erspan => Proto::Erspan,
                Tunnel::Vxlan => Proto::Vxlan,
                Tunnel::Geneve => Proto::Geneve,
            });
        }
        if d.vlans[0] != 0 {
            self.counters.count(Proto::Vlan);
        }
        match d.net {
            Net::Arp(a) => {
                self.counters.count(Proto::Arp);
                out.push(Event {
                    seq,
                    ts,
                    payload: Payload::Arp(ArpSeen {
                        op: a.op.0,
                        eth_src: d.src_mac,
                        eth_dst: d.dst_mac,
                        sender_mac: a.sender_mac,
                        sender_ip: a.sender_ip,
                        target_mac: a.target_mac,
                        target_ip: a.target_ip,
                        vlan: d.vlans[0],
                    }),
                });
            }
            Net::Ip(ip) => {
                self.counters.count(if ip.src.is_ipv4() {
                    Proto::Ipv4
                } else {
                    Proto::Ipv6
                });
                if let Some(frag) = ip.fragment {
                    self.counters.count(Proto::IpFragment);
                    let Some(full) = self
                        .defrag
                        .push(ts, ip.src, ip.dst, ip.proto, frag, ip.payload)
                    else {
                        return;
                    };
                    let mut buf = std::mem::take(&mut self.scratch);
                    buf.clear();
                    buf.extend_from_slice(full);
                    match link::decode_transport(ip.proto, &buf) {
                        Ok(t) if tunnel::carries(ip.proto, &buf, udp_of(&t)) => {
                            // A tunnel packet fragmented on its way to the sensor (a mirror path whose MTU
                            // is smaller than the mirrored frames plus the tunnel's headers). Its inner flow
                            // belongs to the worker its own 5-tuple hashes to, not to this one, which the
                            // outer fragments' address pair picked: decoding it here would split the flow
                            // and make findings depend on the number of workers. Counted, not decoded.
                            self.counters.malformed(Layer::Tunnel);
                        }
                        Ok(t) => self.transport(seq, ts, ip.src, ip.dst, ip.proto, t, out),
                        Err(e) => self.counters.malformed(e.layer),
                    }
                    self.scratch = buf;
                } else {
                    self.transport(seq, ts, ip.src, ip.dst, ip.proto, ip.transport, out);
                }
            }
            Net::Other(_) => self.counters.count(Proto::OtherL3),
            Net::None => {}
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the decoded layers of one packet, passed apart to avoid a copy"
    )]
    fn transport(
        &mut self,
        seq: u64,
        ts: PacketTime,
        src: std::net::IpAddr,
        dst: std::net::IpAddr,
        proto: u8,
        t: Transport<'_>,
        out: &mut Vec<Event>,
    ) {
        let (sport, dport, len) = match &t {
            Transport::Udp(u) => (u.sport, u.dport, u.payload.len()),
            Transport::Tcp(t) => (t.sport, t.dport, t.payload.len()),
            Transport::None => (0, 0, 0),
        };
        let (key, side) = FlowKey::new(src, sport, dst, dport, proto);
        let (flags, opened) = self.flows.packet(seq, ts, key, side, len);
        match t {
            Transport::Udp(u) => {
                self.counters.count(Proto::Udp);
                self.counters.udp_payload_bytes += u.payload.len() as u64;
                self.udp_payload(
                    seq,
                    ts,
                    (SocketAddr::new(src, u.sport), SocketAddr::new(dst, u.dport)),
                    (key, side, flags, opened),
                    u.payload,
                    out,
                );
            }
            Transport::Tcp(t) => {
                self.counters.count(Proto::Tcp);
                let s = SocketAddr::new(src, t.sport);
                let d = SocketAddr::new(dst, t.dport);
                self.app.seq = seq;
                self.app.tally.ts = ts;
                let hs = self.tcp.segment(ts, s, d, &t, &mut self.app);
                for e in self.app.tally.events.drain(..) {
                    out.push(Event {
                        seq,
                        ts,
                        payload: Payload::Sip(Box::new(e)),
                    });
                }
                for e in self.app.tally.bad.drain(..) {
                    out.push(Event {
                        seq,
                        ts,
                        payload: Payload::SipMalformed(Box::new(e)),
                    });
                }
                if !self.app.tls.done.is_empty() {
                    self.tls_events(seq, Some(ts), out);
                }
                let payload = match hs {
                    Handshake::None => return,
                    Handshake::Syn => Payload::TcpSyn(TcpConn {
                        client: s,
                        server: d,
                    }),
                    Handshake::SynAck => Payload::TcpSynAck(TcpConn {
                        client: d,
                        server: s,
                    }),
                    Handshake::Established => Payload::TcpEstablished(TcpConn {
                        client: s,
                        server: d,
                    }),
                    Handshake::Refused => Payload::TcpRefused(TcpConn {
                        client: d,
                        server: s,
                    }),
                };
                out.push(Event { seq, ts, payload });
            }
            Transport::None => {
                if proto != link::IPPROTO_TCP && proto != link::IPPROTO_UDP {
                    self.counters.count(Proto::OtherIp);
                }
            }
        }
    }

    /// Classifies a UDP payload by its content, on any port: SIP, or one of the media-port protocols of
    /// RFC 7983. RTP feeds the stream table and RTCP makes report events (see [`media`]); STUN, DTLS and
    /// ZRTP Hellos are marked on the flow, whose RTP streams carry them as evidence.
    #[inline]
    fn udp_payload(
        &mut self,
        seq: u64,
        ts: PacketTime,
        (src, dst): (SocketAddr, SocketAddr),
        (flow, side, flags, opened): (FlowKey, Side, MediaFlags, bool),
        payload: &[u8],
        out: &mut Vec<Event>,
    ) {
        let sip = callguard_parsers::sip::probe(payload);
        if opened && !sip {
            self.flows.open(seq, ts, flow, side, payload.len());
        }
        if sip {
            if !flags.contains(MediaFlags::SIP) {
                self.flows.mark(&flow, MediaFlags::SIP);
            }
            self.sip(seq, ts, src, dst, payload, out);
            return;
        }
        use callguard_parsers::rtp::{self, Kind};
        let seen = match rtp::classify(payload) {
            Kind::Rtp => {
                if let Some(p) = rtp::rtp_packet(payload) {
                    self.counters.count(Proto::Rtp);
                    if !flags.contains(MediaFlags::RTP) {
                        self.flows.mark(&flow, MediaFlags::RTP);
                    }
                    let key = DirKey::new(flow, side, p.ssrc());
                    self.media.rtp(seq, ts, (src, dst), key, &p, flags, out);
                }
                return;
            }
            Kind::Rtcp if rtp::rtcp::probe(payload) => {
                self.counters.count(Proto::Rtcp);
                self.media.rtcp(seq, ts, src, dst, payload, out);
                return;
            }
            Kind::Stun if callguard_parsers::stun::probe(payload) => {
                self.counters.count(Proto::Stun);
                MediaFlags::STUN
            }
            Kind::Dtls if rtp::probe::dtls_record(payload).is_some() => {
                self.counters.count(Proto::Dtls);
                self.dtls
                    .datagram(seq, ts, (src, dst), flow, side, payload, out);
                MediaFlags::DTLS
            }
            Kind::Zrtp if rtp::probe::zrtp_hello(payload) => MediaFlags::ZRTP,
            _ => return,
        };
        if !flags.contains(seen) {
            self.flows.mark(&flow, seen);
        }
    }

    /// A UDP payload that looks like SIP (rare next to media: kept out of line).
    #[cold]
    #[inline(never)]
    fn sip(
        &mut self,
        seq: u64,
        ts: PacketTime,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        out: &mut Vec<Event>,
    ) {
        if let Some(h) = &self.hep {
            h.send(ts, src, dst, SipTransport::Udp, payload);
        }
        match callguard_parsers::sip::Message::parse(payload) {
            Ok(m) => {
                self.counters.count(Proto::Sip);
                if let Some(method) = m.method() {
                    self.counters.sip.request(method.as_str());
                } else if let Some(status) = m.status() {
                    self.counters.sip.response(status);
                }
                let payload = match sip_seen(&m, src, dst, SipTransport::Udp) {
                    Some(e) => Payload::Sip(Box::new(e)),
                    None if m.is_request() => {
                        Payload::SipMalformed(Box::new(unusable(&m, src, dst, SipTransport::Udp)))
                    }
                    None => return,
                };
                out.push(Event { seq, ts, payload });
            }
            Err(e) => {
                self.counters.malformed(callguard_parsers::Layer::Sip);
                out.push(Event {
                    seq,
                    ts,
                    payload: Payload::SipMalformed(Box::new(SipMalformedSeen {
                        src,
                        dst,
                        transport: SipTransport::Udp,
                        kind: error_kind_name(e.kind),
                        anomalies: Vec::new(),
                    })),
                });
            }
        }
    }

    /// Sends the TLS handshakes the TCP application layer reported, with sequence number `seq` and time `ts`
    /// (each handshake's last segment when `None`).
    fn tls_events(&mut self, seq: u64, ts: Option<PacketTime>, out: &mut Vec<Event>) {
        for (e, last) in self.app.tls.done.drain(..) {
            out.push(Event {
                seq,
                ts: ts.unwrap_or(last),
                payload: Payload::Tls(Box::new(e)),
            });
        }
    }

    /// Packet time has reached `now` at a batch boundary whose newest sequence number is `seq`: expire idle
    /// state, at most once a second (the first batch of a new second of packet time, which every worker
    /// gets at the same point of the capture: `seq` is then the clock marker's). RTP streams that went idle
    /// end here: their events carry `seq` and go to `out` in the order of their first packet (see
    /// [`media`]).
    pub fn tick(&mut self, now: PacketTime, seq: u64, out: &mut Vec<Event>) {
        if now.secs() <= self.last_sweep_sec {
            return;
        }
        self.last_sweep_sec = now.secs();
        self.defrag.expire(now);
        self.flows.expire(now);
        // A TLS handshake that a timeout's flush starts has no packet of its own: it takes the sweep's
        // sequence number as its first.
        self.app.seq = seq;
        self.tcp.expire(now, &mut self.app);
        // Messages completed only by a timeout's flush (after a gap) have no packet to be ordered by: they are
        // counted, not followed.
        self.app.tally.events.clear();
        self.app.tally.bad.clear();
        // What the sweep ends (TLS handshakes of closed or idle connections, DTLS handshakes, RTP streams)
        // carries the sweep's sequence number and time, ordered by first packet (`Event::tiebreak`).
        let from = out.len();
        self.flows.rate_reports(Some(now), seq, out);
        self.app.tls.expire(now);
        self.tls_events(seq, Some(now), out);
        self.dtls.sweep(now, seq, out);
        self.media.sweep(now, seq, out);
        if let Some(swept) = out.get_mut(from..) {
            swept.sort_by_key(Event::tiebreak);
        }
    }

    /// End of input: deliver what TCP still buffers and close every stream. Every RTP stream ends: its
    /// events carry sequence number `u64::MAX` and go to `out` in the order of their first packet.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.app.seq = u64::MAX;
        self.tcp.flush(&mut self.app);
        self.app.tally.events.clear();
        self.app.tally.bad.clear();
        // TLS handshakes still open end too: sequence number `u64::MAX`, by first packet, with the streams.
        let from = out.len();
        self.flows.rate_reports(None, u64::MAX, out);
        self.app.tls.finish();
        self.tls_events(u64::MAX, None, out);
        self.dtls.finish(out);
        self.media.finish(out);
        if let Some(ended) = out.get_mut(from..) {
            ended.sort_by_key(Event::tiebreak);
        }
    }

    /// The counters, with the tables' figures filled in.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.defrag = self.defrag.stats();
        c.tcp = self.tcp.stats();
        c.flows = self.flows.stats();
        c.media = self.media.stats();
        c.stream_bytes = self.app.stream_bytes;
        c.streams_closed = self.app.closed;
        c.tls = self.app.tls.stats();
        c.tls.merge(&self.dtls.stats());
        let t = &self.app.tally;
        c.sip_tcp = t.counts;
        c.sip_tcp_messages = t.messages;
        c.sip_ws_messages = t.ws_messages;
        c.ws_upgrades = t.ws_upgrades;
        c.ws_control_frames = t.ws_control;
        for (layer, n) in [
            (callguard_parsers::Layer::Sip, t.malformed),
            (callguard_parsers::Layer::WebSocket, t.ws_malformed),
            (callguard_parsers::Layer::Tls, c.tls.malformed),
        ] {
            if let Some(m) = c.malformed.get_mut(layer.index()) {
                *m += n;
            }
        }
        c
    }
}

/// The UDP destination port and payload of a transport layer, if it is UDP.
fn udp_of<'a>(t: &Transport<'a>) -> Option<(u16, &'a [u8])> {
    match t {
        Transport::Udp(u) => Some((u.dport, u.payload)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &[u8] = b"REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.11:41000;branch=z9hG4bK1\r\n\
From: <sip:1001@pbx>;tag=a\r\nTo: <sip:1001@pbx>\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 4\r\n\r\nbody";

    fn conn() -> ConnInfo {
        ConnInfo {
            client: "10.0.0.11:41000".parse().unwrap(),
            server: "10.0.0.1:5060".parse().unwrap(),
            start: PacketTime::ZERO,
        }
    }

    #[test]
    fn the_rules_know_every_anomaly_the_parser_records() {
        // malformed-sip's rules-file names are checked against its own list: it must be the parser's.
        let parser: Vec<&str> = callguard_parsers::sip::Anomalies::all().slugs().collect();
        assert_eq!(
            parser,
            callguard_rules::detectors::malformed_sip::KNOWN_ANOMALIES
        );
    }

    #[test]
    fn a_summary_carries_the_parsers_anomalies_and_a_message_without_call_id_is_unusable() {
        let folded = "OPTIONS sip:10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.66:5061;branch=z9hG4bK1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 300\r\nSubject: a\r\n b\r\n\
Content-Length: 0\r\n\r\n";
        let m = callguard_parsers::sip::Message::parse(folded.as_bytes()).unwrap();
        let src = "10.0.0.66:5061".parse().unwrap();
        let dst = "10.0.0.1:5060".parse().unwrap();
        let seen = sip_seen(&m, src, dst, SipTransport::Udp);
        assert_eq!(
            seen.map(|s| s.anomalies),
            Some(vec!["folded", "bad-max-forwards"])
        );

        let no_call_id = "OPTIONS sip:10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.66:5061;branch=z9hG4bK1\r\n\
From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let m = callguard_parsers::sip::Message::parse(no_call_id.as_bytes()).unwrap();
        assert!(sip_seen(&m, src, dst, SipTransport::Udp).is_none());
        let u = unusable(&m, src, dst, SipTransport::Udp);
        assert_eq!(
            (u.kind, u.anomalies),
            ("missing-mandatory", vec!["missing-mandatory"])
        );
    }

    #[test]
    fn a_summary_carries_the_nonce_and_the_from_display_name_but_never_the_response() {
        let msg = "REGISTER sip:10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.66:5061;branch=z9hG4bK2\r\n\
f: \"sipvicious\"<sip:100@1.1.1.1>;tag=b\r\nTo: <sip:1001@10.0.0.1>\r\nCall-ID: c2\r\nCSeq: 2 REGISTER\r\n\
Authorization: Digest username=\"1001\", realm=\"pbx\", nonce=\"6f1a2b\", uri=\"sip:10.0.0.1\", \
response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"x\"\r\nContent-Length: 0\r\n\r\n";
        let m = callguard_parsers::sip::Message::parse(msg.as_bytes()).unwrap();
        let seen = sip_seen(
            &m,
            "10.0.0.66:5061".parse().unwrap(),
            "10.0.0.1:5060".parse().unwrap(),
            SipTransport::Udp,
        )
        .unwrap();
        assert_eq!(seen.from_display.as_deref(), Some("sipvicious"));
        let auth = seen.auth.as_ref().unwrap();
        assert_eq!(auth.nonce.as_deref(), Some("6f1a2b"));
        assert_eq!(auth.username.as_deref(), Some("1001"));
        assert!(!format!("{seen:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn a_sip_message_split_anywhere_is_framed_once() {
        for cut in 1..REGISTER.len() {
            let mut app = AppLayer::default();
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &REGISTER[..cut]);
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &REGISTER[cut..]);
            assert_eq!(app.tally.messages, 1, "cut at {cut}");
            assert_eq!(
                app.tally.counts.requests[4], 1,
                "REGISTER counted, cut at {cut}"
            );
            assert_eq!(app.tally.malformed, 0);
        }
    }

    #[test]
    fn several_messages_in_one_segment_and_keepalives_are_framed() {
        let mut app = AppLayer::default();
        let mut seg = b"\r\n\r\n".to_vec();
        seg.extend_from_slice(REGISTER);
        seg.extend_from_slice(REGISTER);
        seg.extend_from_slice(&REGISTER[..20]);
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &seg);
        assert_eq!(app.tally.messages, 2);
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &REGISTER[20..]);
        assert_eq!(app.tally.messages, 3);
    }

    #[test]
    fn tls_and_other_streams_are_left_alone() {
        let mut app = AppLayer::default();
        let hello = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, b'\r', b'\n',
        ];
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &hello);
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, REGISTER);
        assert_eq!(
            app.tally.messages, 0,
            "a stream that did not start as SIP is not framed"
        );
        assert_eq!(app.stream_bytes, (hello.len() + REGISTER.len()) as u64);
    }

    const UPGRADE: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: sip\r\n\r\n";
    const SWITCHING: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    const OK: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK1\r\n\
From: <sip:1001@pbx>;tag=a\r\nTo: <sip:1001@pbx>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// One WebSocket frame (RFC 6455 §5.2), masked with `mask` when given.
    fn frame(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![if fin { 0x80 } else { 0 } | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => f.push(m | u8::try_from(n).unwrap()),
            n @ 126..=0xffff => {
                f.push(m | 126);
                f.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let start = f.len();
        f.extend_from_slice(payload);
        if let Some(k) = mask {
            f.extend_from_slice(&[0; 4]);
            f.copy_within(start..start + payload.len(), start + 4);
            f[start..start + 4].copy_from_slice(&k);
            callguard_parsers::ws::unmask(k, 0, &mut f[start + 4..]);
        }
        f
    }

    fn ws_conn() -> ConnInfo {
        ConnInfo {
            client: "10.0.0.11:41000".parse().unwrap(),
            server: "10.0.0.1:8080".parse().unwrap(),
            start: PacketTime::ZERO,
        }
    }

    fn kind(app: &AppLayer, dir: Dir) -> StreamKind {
        app.streams.get(&stream_key(&ws_conn(), dir)).unwrap().kind
    }

    /// The client's side of a connection: the upgrade, a REGISTER in one masked frame, a masked ping, and the
    /// REGISTER again in three masked fragments with a pong between them.
    fn client_stream() -> Vec<u8> {
        let mut s = UPGRADE.to_vec();
        s.extend(frame(true, 1, Some(KEY), REGISTER));
        s.extend(frame(true, 9, Some([1, 2, 3, 4]), b"hi"));
        s.extend(frame(false, 1, Some([5, 6, 7, 8]), &REGISTER[..30]));
        s.extend(frame(false, 0, Some([9, 9, 9, 9]), &REGISTER[30..31]));
        s.extend(frame(true, 10, Some(KEY), b""));
        s.extend(frame(true, 0, Some(KEY), &REGISTER[31..]));
        s
    }

    #[test]
    fn sip_over_websocket_split_anywhere_gives_the_same_messages() {
        let stream = client_stream();
        for cut in 1..stream.len() {
            let mut app = AppLayer::default();
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &stream[..cut]);
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &stream[cut..]);
            let t = &app.tally;
            assert_eq!((t.ws_messages, t.messages), (2, 0), "cut at {cut}");
            assert_eq!(t.counts.requests[4], 2, "REGISTER counted, cut at {cut}");
            assert_eq!((t.ws_control, t.ws_upgrades), (2, 1), "cut at {cut}");
            assert_eq!((t.malformed, t.ws_malformed), (0, 0), "cut at {cut}");
            assert_eq!(t.events.len(), 2);
            assert!(t.events.iter().all(|e| e.transport == SipTransport::Ws));
            assert_eq!(kind(&app, Dir::ToServer), StreamKind::WebSocket);
        }
    }

    #[test]
    fn sip_over_websocket_byte_by_byte_gives_the_same_messages() {
        let mut app = AppLayer::default();
        for b in client_stream() {
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &[b]);
        }
        assert_eq!(app.tally.ws_messages, 2);
        assert_eq!(app.tally.events[0].call_id.as_ref(), "c1");
    }

    #[test]
    fn the_servers_switching_answer_makes_its_direction_websocket() {
        let mut app = AppLayer::default();
        app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, UPGRADE);
        let mut answer = SWITCHING.to_vec();
        answer.extend(frame(true, 1, None, OK));
        answer.extend(frame(true, 2, None, OK));
        answer.extend(frame(true, 8, None, &[0x03, 0xe8]));
        app.on_data(&ws_conn(), Dir::ToClient, PacketTime::ZERO, &answer);
        assert_eq!(kind(&app, Dir::ToClient), StreamKind::WebSocket);
        assert_eq!(app.tally.ws_messages, 2, "text and binary messages are SIP");
        assert_eq!(app.tally.counts.responses[1], 2);
        assert_eq!(app.tally.ws_control, 1);
        assert_eq!(app.tally.ws_upgrades, 1, "one connection");
        let e = &app.tally.events[0];
        assert_eq!((e.src, e.dst), (ws_conn().server, ws_conn().client));
    }

    #[test]
    fn an_answer_without_sip_follows_only_an_upgrade_for_sip() {
        let plain = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        // Its request was seen: followed.
        let mut app = AppLayer::default();
        app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, UPGRADE);
        app.on_data(&ws_conn(), Dir::ToClient, PacketTime::ZERO, plain);
        assert_eq!(kind(&app, Dir::ToClient), StreamKind::WebSocket);
        // No request for SIP: not followed.
        let mut app = AppLayer::default();
        app.on_data(
            &ws_conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        );
        app.on_data(&ws_conn(), Dir::ToClient, PacketTime::ZERO, plain);
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
        assert_eq!(kind(&app, Dir::ToClient), StreamKind::Other);
        assert_eq!(app.tally.ws_upgrades, 0);
    }

    #[test]
    fn a_refused_upgrade_stops_following_the_client() {
        for answer in [
            &b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..],
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        ] {
            let mut app = AppLayer::default();
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, UPGRADE);
            assert_eq!(kind(&app, Dir::ToServer), StreamKind::WebSocket);
            app.on_data(&ws_conn(), Dir::ToClient, PacketTime::ZERO, answer);
            assert_eq!(kind(&app, Dir::ToClient), StreamKind::Other);
            assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
            // The client's next request on the connection is HTTP, not frames: nothing malformed.
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, UPGRADE);
            assert_eq!(app.tally.ws_malformed, 0);
        }
    }

    #[test]
    fn plain_http_and_an_endless_header_block_are_other() {
        let mut app = AppLayer::default();
        app.on_data(
            &ws_conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
        let mut app = AppLayer::default();
        app.on_data(
            &ws_conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            b"GET / HTTP/1.1\r\n",
        );
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Handshake);
        for _ in 0..100 {
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &[b'a'; 100]);
        }
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
        assert_eq!(
            app.tally.ws_malformed, 0,
            "not WebSocket: only counted as a stream"
        );
    }

    #[test]
    fn a_hostile_64_bit_length_ends_the_stream_as_malformed_without_buffering() {
        let mut app = AppLayer::default();
        let mut s = UPGRADE.to_vec();
        s.extend_from_slice(&[0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        s.extend_from_slice(&KEY);
        s.extend_from_slice(&[0u8; 1000]);
        app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &s);
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
        assert_eq!(app.tally.ws_malformed, 1);
        let st = app
            .streams
            .get(&stream_key(&ws_conn(), Dir::ToServer))
            .unwrap();
        assert_eq!(st.pending.capacity(), 0);
        app.on_data(
            &ws_conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            &frame(true, 1, Some(KEY), REGISTER),
        );
        assert_eq!(app.tally.ws_messages, 0, "not followed any more");
    }

    #[test]
    fn frames_breaking_rfc6455_end_the_stream_as_malformed() {
        for bad in [
            frame(true, 0, Some(KEY), REGISTER), // a continuation with no message
            frame(true, 3, Some(KEY), REGISTER), // a reserved data opcode
            frame(true, 11, Some(KEY), b""),     // a reserved control opcode
            frame(false, 9, Some(KEY), b""),     // a fragmented ping
            [
                frame(false, 1, Some(KEY), b"a"),
                frame(true, 1, Some(KEY), b"b"),
            ]
            .concat(), // a message inside one
        ] {
            let mut app = AppLayer::default();
            app.on_data(
                &ws_conn(),
                Dir::ToServer,
                PacketTime::ZERO,
                &[UPGRADE, &bad].concat(),
            );
            assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other, "{bad:02x?}");
            assert_eq!(app.tally.ws_malformed, 1);
        }
        // Compressed frames (permessage-deflate) are not read, and not malformed.
        let mut app = AppLayer::default();
        let mut deflated = frame(true, 1, Some(KEY), b"x");
        deflated[0] |= 0x40;
        app.on_data(
            &ws_conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            &[UPGRADE, &deflated].concat(),
        );
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
        assert_eq!(app.tally.ws_malformed, 0);
    }

    #[test]
    fn a_fragmented_message_is_bounded_by_the_sip_limit() {
        use callguard_parsers::sip::MAX_MESSAGE_LEN;
        use callguard_parsers::ws::MAX_HEADER_LEN;
        // A message of exactly the limit, in 1000-byte fragments fed 700 bytes at a time, is followed ...
        let head = &REGISTER[..REGISTER.len() - "4\r\n\r\nbody".len()];
        let body = MAX_MESSAGE_LEN - head.len() - "65000\r\n\r\n".len();
        let mut text = head.to_vec();
        text.extend_from_slice(format!("{body}\r\n\r\n").as_bytes());
        text.resize(MAX_MESSAGE_LEN, b'x');
        let text = text.as_slice();
        let chunks: Vec<&[u8]> = text.chunks(1000).collect();
        let mut s = UPGRADE.to_vec();
        for (i, c) in chunks.iter().enumerate() {
            s.extend(frame(
                i + 1 == chunks.len(),
                if i == 0 { 1 } else { 0 },
                Some(KEY),
                c,
            ));
        }
        let mut app = AppLayer::default();
        for seg in s.chunks(700) {
            app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, seg);
            let st = app
                .streams
                .get(&stream_key(&ws_conn(), Dir::ToServer))
                .unwrap();
            assert!(st.pending.len() <= MAX_MESSAGE_LEN + MAX_HEADER_LEN);
        }
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::WebSocket);
        assert_eq!((app.tally.ws_messages, app.tally.malformed), (1, 0));
        assert_eq!(app.tally.ws_malformed, 0);
        // ... one byte more is not.
        let mut s = UPGRADE.to_vec();
        s.extend(frame(false, 1, Some(KEY), text));
        s.extend(frame(true, 0, Some(KEY), b"y"));
        let mut app = AppLayer::default();
        app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &s);
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
        assert_eq!(app.tally.ws_malformed, 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// Whatever follows an upgrade, cut anywhere, nothing panics and a WebSocket direction holds at most
        /// one message and one frame header.
        #[test]
        fn any_bytes_after_an_upgrade_stay_bounded(
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            mutate in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..4),
            cuts in proptest::collection::vec(1usize..200, 0..6),
        ) {
            use callguard_parsers::{sip::MAX_MESSAGE_LEN, ws::MAX_HEADER_LEN};
            let mut s = client_stream();
            for (i, v) in mutate {
                let i = UPGRADE.len() + i % (s.len() - UPGRADE.len());
                s[i] = v;
            }
            s.extend(tail);
            let mut app = AppLayer::default();
            let mut rest = s.as_slice();
            for c in cuts.into_iter().chain([usize::MAX]) {
                let (seg, next) = rest.split_at(c.min(rest.len()));
                app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, seg);
                rest = next;
                let st = app.streams.get(&stream_key(&ws_conn(), Dir::ToServer)).unwrap();
                proptest::prop_assert!(st.pending.len() <= MAX_MESSAGE_LEN + MAX_HEADER_LEN);
                proptest::prop_assert!(st.ws.assembled <= st.pending.len());
            }
        }
    }

    #[test]
    fn a_gap_in_a_websocket_stream_stops_following_it() {
        let mut app = AppLayer::default();
        app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, UPGRADE);
        app.on_gap(&ws_conn(), Dir::ToServer, 10);
        assert_eq!(kind(&app, Dir::ToServer), StreamKind::Other);
    }

    fn bad(app: &AppLayer) -> Vec<(SipTransport, &'static str)> {
        app.tally
            .bad
            .iter()
            .map(|b| (b.transport, b.kind))
            .collect()
    }

    /// A message whose start line is not UTF-8: framed (its length is fine) but not parsed.
    const NON_UTF8: &[u8] =
        b"INVITE sip:\xff\xfe@10.0.0.1 SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_framed_tcp_message_that_does_not_parse_is_one_malformed_event_and_framing_goes_on() {
        let mut app = AppLayer::default();
        let stream = [REGISTER, NON_UTF8, REGISTER].concat();
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &stream);
        assert_eq!((app.tally.messages, app.tally.malformed), (2, 1));
        assert_eq!(bad(&app), [(SipTransport::Tcp, "invalid")]);
        let b = &app.tally.bad[0];
        assert_eq!((b.src, b.dst), (conn().client, conn().server));
        assert_eq!(kind_of(&app, &conn(), Dir::ToServer), StreamKind::Sip);
    }

    fn kind_of(app: &AppLayer, c: &ConnInfo, dir: Dir) -> StreamKind {
        app.streams.get(&stream_key(c, dir)).unwrap().kind
    }

    #[test]
    fn a_broken_content_length_is_one_event_and_the_stream_is_given_up() {
        for (cl, want) in [
            ("-1", "invalid"),
            ("abc", "invalid"),
            ("99999999", "limit-exceeded"),
        ] {
            let msg =
                format!("OPTIONS sip:a@h SIP/2.0\r\nCall-ID: y\r\nContent-Length: {cl}\r\n\r\n");
            let mut app = AppLayer::default();
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, REGISTER);
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, msg.as_bytes());
            // What follows is not framed again: no second event for the same break.
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, msg.as_bytes());
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, REGISTER);
            assert_eq!((app.tally.messages, app.tally.malformed), (1, 1), "{cl}");
            assert_eq!(bad(&app), [(SipTransport::Tcp, want)], "{cl}");
            assert_eq!(kind_of(&app, &conn(), Dir::ToServer), StreamKind::Other);
        }
    }

    #[test]
    fn a_header_section_that_never_ends_is_one_limit_exceeded_event() {
        use callguard_parsers::sip::MAX_MESSAGE_LEN;
        let mut app = AppLayer::default();
        app.on_data(
            &conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            b"REGISTER sip:pbx SIP/2.0\r\n",
        );
        let line =
            b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        for _ in 0..(2 * MAX_MESSAGE_LEN / line.len()) {
            app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, line);
            let st = app
                .streams
                .get(&stream_key(&conn(), Dir::ToServer))
                .unwrap();
            assert!(st.pending.len() <= MAX_MESSAGE_LEN + line.len());
        }
        assert_eq!(app.tally.malformed, 1);
        assert_eq!(bad(&app), [(SipTransport::Tcp, "limit-exceeded")]);
    }

    #[test]
    fn a_websocket_message_that_does_not_parse_is_a_ws_malformed_event() {
        let mut s = UPGRADE.to_vec();
        s.extend(frame(true, 1, Some(KEY), NON_UTF8));
        s.extend(frame(true, 1, Some(KEY), REGISTER));
        let mut app = AppLayer::default();
        app.on_data(&ws_conn(), Dir::ToServer, PacketTime::ZERO, &s);
        assert_eq!((app.tally.ws_messages, app.tally.malformed), (1, 1));
        assert_eq!(app.tally.ws_malformed, 0);
        assert_eq!(bad(&app), [(SipTransport::Ws, "invalid")]);
        // Frames that break RFC 6455 are the WebSocket layer's, not SIP's: no SIP event.
        let mut app = AppLayer::default();
        app.on_data(
            &ws_conn(),
            Dir::ToServer,
            PacketTime::ZERO,
            &[UPGRADE, &[0x83, 0x80, 0, 0, 0, 0]].concat(),
        );
        assert_eq!(app.tally.ws_malformed, 1);
        assert!(bad(&app).is_empty());
    }

    /// Through the whole worker: a TCP connection carrying broken SIP gives one `SipMalformed` event per
    /// broken message, in the packet that completed it, and the `decoder.malformed.sip` count agrees; the
    /// same over UDP.
    #[test]
    fn the_worker_sends_malformed_events_for_tcp_and_udp() {
        let (ma, mb) = ([2, 0, 0, 0, 0, 0x66], [2, 0, 0, 0, 0, 1]);
        let c: SocketAddr = "10.0.0.66:41000".parse().unwrap();
        let s: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let mut frames = vec![
            callguard_gen::tcp_frame(ma, mb, c, s, 100, 0, 0x02, b""),
            callguard_gen::tcp_frame(mb, ma, s, c, 500, 101, 0x12, b""),
            callguard_gen::tcp_frame(ma, mb, c, s, 101, 501, 0x10, b""),
        ];
        let mut off = 101u32;
        for data in [REGISTER, NON_UTF8, &NON_UTF8[..20], &NON_UTF8[20..]] {
            frames.push(callguard_gen::tcp_frame(ma, mb, c, s, off, 501, 0x18, data));
            off += u32::try_from(data.len()).unwrap();
        }
        frames.push(callguard_gen::udp_frame(ma, mb, c, s, NON_UTF8));
        frames.push(callguard_gen::udp_frame(ma, mb, c, s, REGISTER));
        let mut w = Worker::new();
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let i = u64::try_from(i).unwrap();
            w.packet(
                i,
                PacketTime::from_secs(100 + i),
                LinkType::ETHERNET,
                f,
                &mut out,
            );
        }
        let bad: Vec<(u64, SipTransport, &str)> = out
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::SipMalformed(m) => {
                    assert_eq!((m.src, m.dst), (c, s));
                    Some((e.seq, m.transport, m.kind))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            bad,
            [
                (4, SipTransport::Tcp, "invalid"),
                (6, SipTransport::Tcp, "invalid"),
                (7, SipTransport::Udp, "invalid"),
            ]
        );
        let sip_layer = callguard_parsers::Layer::Sip.index();
        assert_eq!(w.counters().malformed[sip_layer], 3);
    }

    #[test]
    fn a_gap_drops_the_partial_message_and_framing_resumes() {
        let mut app = AppLayer::default();
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &REGISTER[..40]);
        app.on_gap(&conn(), Dir::ToServer, 100);
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, REGISTER);
        assert_eq!(app.tally.messages, 1);
    }
}
