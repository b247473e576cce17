//! Workers: the per-packet work. Each worker owns the flows the dispatcher hashes to it: it decodes frames,
//! reassembles IP fragments and TCP streams, and turns what it sees into [`Event`]s for the engine. Workers
//! never raise alerts.

pub mod defrag;
pub mod flow;
pub mod media;
pub mod reasm;
pub mod rtp_stats;

use std::net::SocketAddr;

use callguard_parsers::ErrorKind;
use callguard_parsers::link::{self, LinkType, Net, Transport};
use callguard_rules::event::{
    ArpSeen, AuthSeen, CodecSeen, Event, MediaSeen, Payload, SdpSeen, SipSeen, SipTransport,
    TcpConn,
};
use callguard_rules::time::PacketTime;

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
    /// Something else (TLS, ...): only counted.
    Other,
}

/// Bytes of a stream's start held at most while deciding whether it is SIP.
const SIP_DECIDE_BYTES: usize = 512;

/// What the application layer knows of one direction of a TCP stream.
#[derive(Debug, Default)]
struct StreamState {
    kind: StreamKind,
    /// Bytes of a message not complete yet (at most `sip::MAX_MESSAGE_LEN`).
    pending: Vec<u8>,
}

/// The application layer of TCP streams: SIP over TCP framed by Content-Length (RFC 3261 §18.3), several
/// messages per segment or one message over several segments, keep-alives skipped. Streams whose first bytes
/// are not SIP (TLS, anything else) are only counted. This is where SIP events over TCP are made next.
#[derive(Debug)]
pub struct AppLayer {
    stream_bytes: u64,
    closed: u64,
    streams: BoundedMap<(std::net::SocketAddr, std::net::SocketAddr), StreamState>,
    tally: SipTally,
}

/// What SIP over TCP produced: counters, and the messages framed from the segment being handled, for the
/// worker to send on.
#[derive(Debug, Default)]
struct SipTally {
    counts: SipCounters,
    messages: u64,
    malformed: u64,
    events: Vec<SipSeen>,
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
    Some(SipSeen {
        src,
        dst,
        transport,
        method: m.method().map(|x| cut(x.as_str())),
        status: m.status(),
        call_id: cut(call_id),
        from_user: from.as_ref().and_then(|f| f.uri().user().map(cut)),
        from_tag: from.as_ref().and_then(|f| f.tag().map(cut)),
        to_user: to.as_ref().and_then(|t| t.uri().user().map(cut)),
        to_tag: to.as_ref().and_then(|t| t.tag().map(cut)),
        cseq: cseq.number,
        cseq_method: cut(cseq.method.as_str()),
        user_agent: m.user_agent().or_else(|| m.server()).map(cut),
        has_sdp: m.is_sdp(),
        sdp: if m.is_sdp() { sdp_seen(m.body()) } else { None },
        auth: auth_seen(m),
        contact_user: m.contact().and_then(|c| c.uri().user().map(cut)),
        contact_addr: m
            .contact()
            .and_then(|c| socket_addr(c.uri().host()?, c.uri().port())),
        via_addr: m
            .via_top()
            .and_then(|v| socket_addr(v.sent_by().host, v.sent_by().port)),
        via_count: u16::try_from(m.via_count()).unwrap_or(u16::MAX),
    })
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
    fn message(&mut self, bytes: &[u8], src: std::net::SocketAddr, dst: std::net::SocketAddr) {
        if callguard_parsers::sip::is_keepalive(bytes) {
            return;
        }
        match callguard_parsers::sip::Message::parse(bytes) {
            Ok(m) => {
                self.messages += 1;
                if let Some(method) = m.method() {
                    self.counts.request(method.as_str());
                } else if let Some(status) = m.status() {
                    self.counts.response(status);
                }
                self.events
                    .extend(sip_seen(&m, src, dst, SipTransport::Tcp));
            }
            Err(_) => self.malformed += 1,
        }
    }
}

impl StreamHandler for AppLayer {
    fn on_data(&mut self, conn: &ConnInfo, dir: Dir, ts: PacketTime, data: &[u8]) {
        use callguard_parsers::sip;
        self.stream_bytes += data.len() as u64;
        let key = stream_key(conn, dir);
        // One lookup per segment: the stream's state is worked on in place, beside the tally.
        let Self { streams, tally, .. } = self;
        let st = streams.get_or_insert_with(key, ts, StreamState::default);
        if st.kind == StreamKind::Other {
            return;
        }
        let from_data = st.pending.is_empty() && st.kind == StreamKind::Sip;
        if !from_data {
            st.pending.extend_from_slice(data);
        }
        if st.kind == StreamKind::Unknown {
            // Decide on the first line: wait for it (a first segment may stop inside "REGISTER").
            let head = &st.pending;
            let line_done =
                head.iter().any(|b| matches!(b, b'\r' | b'\n')) || head.len() >= SIP_DECIDE_BYTES;
            if !line_done {
                return;
            }
            if !(sip::probe(head) || sip::is_keepalive(head)) {
                st.kind = StreamKind::Other;
                st.pending = Vec::new();
                return;
            }
            st.kind = StreamKind::Sip;
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
                        tally.message(m, key.0, key.1);
                    }
                    off += n;
                }
                Err(e) if matches!(e.kind, callguard_parsers::ErrorKind::Incomplete { .. }) => {
                    break;
                }
                Err(_) => {
                    // Not SIP any more, or a broken length: stop framing this stream.
                    tally.malformed += 1;
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
        // A hole in the stream: the partial message is lost; the next bytes may start a new one.
        if let Some(st) = self
            .streams
            .get_mut(&stream_key(conn, dir), PacketTime::ZERO)
        {
            st.pending.clear();
        }
    }

    fn on_close(&mut self, conn: &ConnInfo, _reason: CloseReason) {
        self.closed += 1;
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
    scratch: Vec<u8>,
    last_sweep_sec: u64,
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
            scratch: Vec::new(),
            last_sweep_sec: 0,
        }
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
        let flags = self.flows.packet(seq, ts, key, side, len);
        match t {
            Transport::Udp(u) => {
                self.counters.count(Proto::Udp);
                self.counters.udp_payload_bytes += u.payload.len() as u64;
                self.udp_payload(
                    seq,
                    ts,
                    (SocketAddr::new(src, u.sport), SocketAddr::new(dst, u.dport)),
                    (key, side, flags),
                    u.payload,
                    out,
                );
            }
            Transport::Tcp(t) => {
                self.counters.count(Proto::Tcp);
                let s = SocketAddr::new(src, t.sport);
                let d = SocketAddr::new(dst, t.dport);
                let hs = self.tcp.segment(ts, s, d, &t, &mut self.app);
                for e in self.app.tally.events.drain(..) {
                    out.push(Event {
                        seq,
                        ts,
                        payload: Payload::Sip(Box::new(e)),
                    });
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
        (flow, side, flags): (FlowKey, Side, MediaFlags),
        payload: &[u8],
        out: &mut Vec<Event>,
    ) {
        if callguard_parsers::sip::probe(payload) {
            self.sip(seq, ts, src, dst, payload, out);
            return;
        }
        use callguard_parsers::rtp::{self, Kind};
        let seen = match rtp::classify(payload) {
            Kind::Rtp => {
                if let Some(p) = rtp::rtp_packet(payload) {
                    self.counters.count(Proto::Rtp);
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
        match callguard_parsers::sip::Message::parse(payload) {
            Ok(m) => {
                self.counters.count(Proto::Sip);
                if let Some(method) = m.method() {
                    self.counters.sip.request(method.as_str());
                } else if let Some(status) = m.status() {
                    self.counters.sip.response(status);
                }
                if let Some(e) = sip_seen(&m, src, dst, SipTransport::Udp) {
                    out.push(Event {
                        seq,
                        ts,
                        payload: Payload::Sip(Box::new(e)),
                    });
                }
            }
            Err(_) => self.counters.malformed(callguard_parsers::Layer::Sip),
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
        self.tcp.expire(now, &mut self.app);
        // Messages completed only by a timeout's flush (after a gap) have no packet to be ordered by: they are
        // counted, not followed.
        self.app.tally.events.clear();
        self.media.sweep(now, seq, out);
    }

    /// End of input: deliver what TCP still buffers and close every stream. Every RTP stream ends: its
    /// events carry sequence number `u64::MAX` and go to `out` in the order of their first packet.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.tcp.flush(&mut self.app);
        self.app.tally.events.clear();
        self.media.finish(out);
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
        c.sip_tcp = self.app.tally.counts;
        c.sip_tcp_messages = self.app.tally.messages;
        if let Some(m) = c.malformed.get_mut(callguard_parsers::Layer::Sip.index()) {
            *m += self.app.tally.malformed;
        }
        c
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

    #[test]
    fn a_gap_drops_the_partial_message_and_framing_resumes() {
        let mut app = AppLayer::default();
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, &REGISTER[..40]);
        app.on_gap(&conn(), Dir::ToServer, 100);
        app.on_data(&conn(), Dir::ToServer, PacketTime::ZERO, REGISTER);
        assert_eq!(app.tally.messages, 1);
    }
}
