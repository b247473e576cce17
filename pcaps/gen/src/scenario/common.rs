//! Building blocks shared by the scenarios: a SIP call over UDP with its RTP (driven step by step so the
//! bench can stream it), a TCP connection carrying SIP, ARP exchanges, background noise (DNS, NTP, ICMP)
//! and the man-in-the-middle rewrite of an ARP-spoofed flow.

use std::net::Ipv4Addr;

use super::{Host, MS, US};
use crate::packet::{
    ACK, ARP_REPLY, ARP_REQUEST, BROADCAST, ETHERTYPE_IPV4, FIN, IPPROTO_UDP, Mac, PSH, SYN,
    ZERO_MAC, arp_frame, icmp_echo_frame, ipv4_fragments, macs, set_macs, tcp_frame, udp_datagram,
    udp_frame,
};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::rtp::Stream;
use crate::sip::{self, Codec, Message};

/// The SIP port every simulated UA uses.
pub(crate) const SIP_PORT: u16 = 5060;
/// Ethernet MTU: UDP datagrams whose IP datagram exceeds it are fragmented.
pub(crate) const ETH_MTU: usize = 1500;
/// RTP packetisation interval.
pub(crate) const PTIME: u64 = 20 * MS;

/// Sends one UDP datagram on the LAN, as IPv4 fragments when it exceeds [`ETH_MTU`].
pub(crate) fn send_udp(
    out: &mut Vec<Frame>,
    ts: u64,
    from: (Host, u16),
    to: (Host, u16),
    payload: &[u8],
    rng: &mut Rng,
) {
    let (src, sport) = from;
    let (dst, dport) = to;
    if 20 + 8 + payload.len() <= ETH_MTU {
        out.push(Frame::new(
            ts,
            udp_frame(src.mac, dst.mac, src.sock(sport), dst.sock(dport), payload),
        ));
        return;
    }
    let udp = udp_datagram(src.sock(sport), dst.sock(dport), payload);
    let id = rng.next_u16();
    let frags = ipv4_fragments(
        src.mac,
        dst.mac,
        src.ip,
        dst.ip,
        id,
        IPPROTO_UDP,
        &udp,
        ETH_MTU,
    );
    for (i, f) in (0u64..).zip(frags) {
        out.push(Frame::new(ts + i * 12 * US, f));
    }
}

/// Everything that fixes one SIP call over UDP between a phone (caller) and a PBX or phone (callee).
#[derive(Debug, Clone)]
pub(crate) struct CallSpec {
    pub(crate) caller: Host,
    pub(crate) callee: Host,
    pub(crate) caller_user: String,
    pub(crate) callee_user: String,
    pub(crate) caller_rtp_port: u16,
    pub(crate) callee_rtp_port: u16,
    pub(crate) codec: Codec,
    /// Time of the INVITE.
    pub(crate) start: u64,
    /// INVITE to 200 OK.
    pub(crate) ring: u64,
    /// Duration of the RTP exchange.
    pub(crate) talk: u64,
    /// Pad the INVITE with extra headers until its IP datagram reaches this many bytes.
    pub(crate) invite_ip_len: Option<usize>,
    pub(crate) caller_hangs_up: bool,
    pub(crate) user_agent: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Setup,
    Media(u64),
    Teardown,
    Done,
}

/// A call in progress, stepped in time order (see [`Call::wakeup`] and [`Call::step`]).
#[derive(Debug)]
pub(crate) struct Call {
    spec: CallSpec,
    rng: Rng,
    call_id: String,
    from_tag: String,
    to_tag: String,
    cseq: u32,
    session_id: u64,
    a: Stream,
    b: Stream,
    phase: Phase,
    trying_at: u64,
    ringing_at: u64,
    ok_at: u64,
    ack_at: u64,
    media_start: u64,
    b_offset: u64,
    packets: u64,
}

impl Call {
    pub(crate) fn new(spec: CallSpec, mut rng: Rng) -> Self {
        let start = spec.start;
        let trying_at = start + rng.range(2 * MS, 6 * MS);
        let ringing_at = start + rng.range(40 * MS, 150 * MS);
        let ok_at = start + spec.ring.max(200 * MS);
        let ack_at = ok_at + rng.range(MS, 4 * MS);
        let media_start = ack_at + rng.range(2 * MS, 6 * MS);
        let b_offset = rng.range(0, PTIME);
        let packets = spec.talk / PTIME;
        let call_id = format!("{}@{}", rng.hex(24), spec.caller.ip);
        let from_tag = rng.hex(10);
        let to_tag = format!("as{}", rng.hex(8));
        let cseq = u32::try_from(rng.range(1, 900)).unwrap_or(1);
        let session_id = rng.range(100_000, 999_999);
        let a = Stream::new(&mut rng, spec.codec);
        let b = Stream::new(&mut rng, spec.codec);
        Self {
            spec,
            rng,
            call_id,
            from_tag,
            to_tag,
            cseq,
            session_id,
            a,
            b,
            phase: Phase::Setup,
            trying_at,
            ringing_at,
            ok_at,
            ack_at,
            media_start,
            b_offset,
            packets,
        }
    }

    /// When the next step is due; every frame a step makes is at or after it. `None` once the call ended.
    pub(crate) fn wakeup(&self) -> Option<u64> {
        match self.phase {
            Phase::Setup => Some(self.spec.start),
            Phase::Media(n) => Some(self.media_start + n * PTIME),
            Phase::Teardown => Some(self.media_end()),
            Phase::Done => None,
        }
    }

    fn media_end(&self) -> u64 {
        self.media_start + self.packets * PTIME + 15 * MS
    }

    /// Emits the frames of the next step.
    pub(crate) fn step(&mut self, out: &mut Vec<Frame>) {
        match self.phase {
            Phase::Setup => {
                self.setup(out);
                self.phase = if self.packets > 0 {
                    Phase::Media(0)
                } else {
                    Phase::Teardown
                };
            }
            Phase::Media(n) => {
                let base = self.media_start + n * PTIME;
                let s = &self.spec;
                let ta = base + self.rng.range(0, 400 * US);
                let pa = self.a.next_packet(&mut self.rng);
                let tb = base + self.b_offset + self.rng.range(0, 400 * US);
                let pb = self.b.next_packet(&mut self.rng);
                let (caller, callee) =
                    ((s.caller, s.caller_rtp_port), (s.callee, s.callee_rtp_port));
                send_udp(out, ta, caller, callee, &pa, &mut self.rng);
                send_udp(out, tb, callee, caller, &pb, &mut self.rng);
                self.phase = if n + 1 >= self.packets {
                    Phase::Teardown
                } else {
                    Phase::Media(n + 1)
                };
            }
            Phase::Teardown => {
                self.teardown(out);
                self.phase = Phase::Done;
            }
            Phase::Done => {}
        }
    }

    fn caller_sip(&self) -> (Host, u16) {
        (self.spec.caller, SIP_PORT)
    }

    fn callee_sip(&self) -> (Host, u16) {
        (self.spec.callee, SIP_PORT)
    }

    fn header_from(&self) -> String {
        let s = &self.spec;
        format!(
            "\"Ext {}\" <sip:{}@{}>;tag={}",
            s.caller_user, s.caller_user, s.callee.ip, self.from_tag
        )
    }

    fn header_to(&self, with_tag: bool) -> String {
        let s = &self.spec;
        let mut v = format!("<sip:{}@{}>", s.callee_user, s.callee.ip);
        if with_tag {
            v.push_str(";tag=");
            v.push_str(&self.to_tag);
        }
        v
    }

    fn callee_contact(&self) -> String {
        format!(
            "<sip:{}@{}:{SIP_PORT}>",
            self.spec.callee_user, self.spec.callee.ip
        )
    }

    fn invite(&mut self, branch: &str) -> Vec<u8> {
        let s = &self.spec;
        let body = sip::sdp(
            &s.caller_user,
            self.session_id,
            s.caller.ip.into(),
            s.caller_rtp_port,
            s.codec,
            &[],
        );
        let mut m = Message::request("INVITE", &format!("sip:{}@{}", s.callee_user, s.callee.ip))
            .header(
                "Via",
                format!(
                    "SIP/2.0/UDP {}:{SIP_PORT};branch={branch};rport",
                    s.caller.ip
                ),
            )
            .header("Max-Forwards", "70")
            .header("From", self.header_from())
            .header("To", self.header_to(false))
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{} INVITE", self.cseq))
            .header(
                "Contact",
                format!("<sip:{}@{}:{SIP_PORT}>", s.caller_user, s.caller.ip),
            )
            .header("Allow", sip::ALLOW)
            .header("Supported", "replaces, timer")
            .header("User-Agent", s.user_agent);
        if let Some(target) = s.invite_ip_len {
            m = m
                .header(
                    "Accept",
                    "application/sdp, application/dtmf-relay, multipart/mixed",
                )
                .header("Accept-Language", "en-GB, en;q=0.8")
                .header("Session-Expires", "1800;refresher=uac")
                .header("Min-SE", "90")
                .header(
                    "P-Preferred-Identity",
                    format!(
                        "\"Ext {}\" <sip:{}@{}>",
                        s.caller_user, s.caller_user, s.callee.ip
                    ),
                )
                .header(
                    "Call-Info",
                    format!(
                        "<http://{}/provisioning/{}/photo.png>;purpose=icon",
                        s.callee.ip, s.caller_user
                    ),
                )
                .header(
                    "Alert-Info",
                    "<http://www.notused.invalid>;info=alert-internal;x-line-id=0",
                )
                .header(
                    "History-Info",
                    format!(
                        "<sip:{}@{}>;index=1, <sip:{}@{}>;index=1.1",
                        s.callee_user, s.callee.ip, s.callee_user, s.callee.ip
                    ),
                );
            let mut n = 1;
            // Each filler header is ~90 bytes: stop at the first one that reaches the target (the SDP and
            // Content-Type are added after, so account for them now).
            let rest = body.len() + "Content-Type: application/sdp\r\n".len();
            while 28 + m.wire_len() + rest < target {
                let value = self.rng.hex(64);
                m = m.header(&format!("X-Provisioning-Trace-{n:02}"), value);
                n += 1;
            }
        }
        m.body("application/sdp", body).into_bytes()
    }

    fn response(
        &self,
        code: u16,
        reason: &str,
        via: &str,
        with_to_tag: bool,
        method: &str,
    ) -> Message {
        let mut m = Message::response(code, reason)
            .header("Via", via.to_owned())
            .header("From", self.header_from())
            .header("To", self.header_to(with_to_tag))
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{} {method}", self.cseq))
            .header("Server", sip::SERVER);
        if code > 100 && method == "INVITE" {
            m = m
                .header("Contact", self.callee_contact())
                .header("Allow", sip::ALLOW);
        }
        m
    }

    fn setup(&mut self, out: &mut Vec<Frame>) {
        let s = self.spec.clone();
        let branch = sip::branch(&mut self.rng);
        let via = format!(
            "SIP/2.0/UDP {}:{SIP_PORT};branch={branch};rport={SIP_PORT};received={}",
            s.caller.ip, s.caller.ip
        );
        let invite = self.invite(&branch);
        let mut rng = self.rng.fork(1);
        send_udp(
            out,
            s.start,
            self.caller_sip(),
            self.callee_sip(),
            &invite,
            &mut rng,
        );
        let trying = self
            .response(100, "Trying", &via, false, "INVITE")
            .into_bytes();
        send_udp(
            out,
            self.trying_at,
            self.callee_sip(),
            self.caller_sip(),
            &trying,
            &mut rng,
        );
        let ringing = self
            .response(180, "Ringing", &via, true, "INVITE")
            .into_bytes();
        send_udp(
            out,
            self.ringing_at,
            self.callee_sip(),
            self.caller_sip(),
            &ringing,
            &mut rng,
        );
        let answer = sip::sdp(
            "pbx",
            self.session_id + 1,
            s.callee.ip.into(),
            s.callee_rtp_port,
            s.codec,
            &[],
        );
        let ok = self
            .response(200, "OK", &via, true, "INVITE")
            .header("Supported", "replaces, timer")
            .body("application/sdp", answer)
            .into_bytes();
        send_udp(
            out,
            self.ok_at,
            self.callee_sip(),
            self.caller_sip(),
            &ok,
            &mut rng,
        );
        let ack = Message::request(
            "ACK",
            &format!("sip:{}@{}:{SIP_PORT}", s.callee_user, s.callee.ip),
        )
        .header(
            "Via",
            format!(
                "SIP/2.0/UDP {}:{SIP_PORT};branch={};rport",
                s.caller.ip,
                sip::branch(&mut self.rng)
            ),
        )
        .header("Max-Forwards", "70")
        .header("From", self.header_from())
        .header("To", self.header_to(true))
        .header("Call-ID", self.call_id.clone())
        .header("CSeq", format!("{} ACK", self.cseq))
        .header("User-Agent", s.user_agent)
        .into_bytes();
        send_udp(
            out,
            self.ack_at,
            self.caller_sip(),
            self.callee_sip(),
            &ack,
            &mut rng,
        );
    }

    fn teardown(&mut self, out: &mut Vec<Frame>) {
        let s = self.spec.clone();
        let t = self.media_end();
        let reply_at = t + self.rng.range(2 * MS, 5 * MS);
        let branch = sip::branch(&mut self.rng);
        let mut rng = self.rng.fork(2);
        if s.caller_hangs_up {
            let via = format!(
                "SIP/2.0/UDP {}:{SIP_PORT};branch={branch};rport",
                s.caller.ip
            );
            let bye = Message::request(
                "BYE",
                &format!("sip:{}@{}:{SIP_PORT}", s.callee_user, s.callee.ip),
            )
            .header("Via", via.clone())
            .header("Max-Forwards", "70")
            .header("From", self.header_from())
            .header("To", self.header_to(true))
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{} BYE", self.cseq + 1))
            .header("User-Agent", s.user_agent)
            .into_bytes();
            send_udp(out, t, self.caller_sip(), self.callee_sip(), &bye, &mut rng);
            let via = format!("{via}={SIP_PORT};received={}", s.caller.ip);
            let ok = Message::response(200, "OK")
                .header("Via", via)
                .header("From", self.header_from())
                .header("To", self.header_to(true))
                .header("Call-ID", self.call_id.clone())
                .header("CSeq", format!("{} BYE", self.cseq + 1))
                .header("Server", sip::SERVER)
                .into_bytes();
            send_udp(
                out,
                reply_at,
                self.callee_sip(),
                self.caller_sip(),
                &ok,
                &mut rng,
            );
        } else {
            let via = format!(
                "SIP/2.0/UDP {}:{SIP_PORT};branch={branch};rport",
                s.callee.ip
            );
            let from = format!(
                "<sip:{}@{}>;tag={}",
                s.callee_user, s.callee.ip, self.to_tag
            );
            let to = format!(
                "\"Ext {}\" <sip:{}@{}>;tag={}",
                s.caller_user, s.caller_user, s.callee.ip, self.from_tag
            );
            let bye = Message::request(
                "BYE",
                &format!("sip:{}@{}:{SIP_PORT}", s.caller_user, s.caller.ip),
            )
            .header("Via", via.clone())
            .header("Max-Forwards", "70")
            .header("From", from.clone())
            .header("To", to.clone())
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", "102 BYE")
            .header("User-Agent", sip::SERVER)
            .into_bytes();
            send_udp(out, t, self.callee_sip(), self.caller_sip(), &bye, &mut rng);
            let ok = Message::response(200, "OK")
                .header("Via", format!("{via}={SIP_PORT};received={}", s.callee.ip))
                .header("From", from)
                .header("To", to)
                .header("Call-ID", self.call_id.clone())
                .header("CSeq", "102 BYE")
                .header("User-Agent", s.user_agent)
                .into_bytes();
            send_udp(
                out,
                reply_at,
                self.caller_sip(),
                self.callee_sip(),
                &ok,
                &mut rng,
            );
        }
    }
}

/// All frames of one call, in the order made (not sorted: RTP of the two directions interleaves).
pub(crate) fn call_frames(spec: CallSpec, rng: Rng) -> Vec<Frame> {
    let mut call = Call::new(spec, rng);
    let mut out = Vec::new();
    while call.wakeup().is_some() {
        call.step(&mut out);
    }
    out
}

/// One request/response exchange on a TCP connection.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    pub(crate) request: Vec<u8>,
    pub(crate) response: Vec<u8>,
    /// When the request is two pipelined messages: where the first ends. One segment then spans it.
    pub(crate) boundary: Option<usize>,
}

/// A TCP connection from a client to a server on the same LAN.
#[derive(Debug, Clone)]
pub(crate) struct TcpSpec {
    pub(crate) client: Host,
    pub(crate) client_port: u16,
    pub(crate) server: Host,
    pub(crate) server_port: u16,
    pub(crate) start: u64,
    pub(crate) exchanges: Vec<Exchange>,
    /// Each request is cut into 1..=this many segments.
    pub(crate) max_pieces: usize,
    /// Send the first request's segments 1, 3, 2 (needs three pieces).
    pub(crate) out_of_order: bool,
    /// Retransmit the first response segment once after an RTO.
    pub(crate) retransmit: bool,
}

/// Maximum segment size used when cutting data.
const MSS: usize = 1460;

/// Cuts `len` bytes into ranges: `pieces` random pieces, or (with a boundary) three pieces whose middle
/// one spans the boundary; no piece exceeds [`MSS`].
fn cut(len: usize, pieces: usize, boundary: Option<usize>, rng: &mut Rng) -> Vec<(usize, usize)> {
    let len64 = len as u64;
    let mut cuts: Vec<usize> = match boundary {
        Some(b) if b > 1 && b + 1 < len => {
            let before = rng.range(1, (b as u64).min(40));
            let after = rng.range(1, (len64 - b as u64).min(40));
            vec![
                b - usize::try_from(before).unwrap_or(1),
                b + usize::try_from(after).unwrap_or(1),
            ]
        }
        _ => (1..pieces)
            .filter_map(|_| usize::try_from(rng.range(1, len64)).ok())
            .collect(),
    };
    cuts.retain(|&c| c > 0 && c < len);
    cuts.sort_unstable();
    cuts.dedup();
    let mut ranges = Vec::new();
    let mut from = 0;
    for c in cuts.into_iter().chain(std::iter::once(len)) {
        let mut a = from;
        while c - a > MSS {
            ranges.push((a, a + MSS));
            a += MSS;
        }
        if c > a || len == 0 {
            ranges.push((a, c));
        }
        from = c;
    }
    ranges
}

/// Bytes `range` of `data` (empty when out of bounds).
fn piece(data: &[u8], range: (usize, usize)) -> &[u8] {
    data.get(range.0..range.1).unwrap_or(&[])
}

fn seq_after(seq: u32, n: usize) -> u32 {
    seq.wrapping_add(u32::try_from(n).unwrap_or(0))
}

/// Emits one complete TCP connection (handshake, exchanges, FIN close) and returns the time of its last
/// frame.
pub(crate) fn tcp_session(spec: &TcpSpec, rng: &mut Rng, out: &mut Vec<Frame>) -> u64 {
    let (c, s) = (spec.client, spec.server);
    let (ca, sa) = (c.sock(spec.client_port), s.sock(spec.server_port));
    let c2s = |out: &mut Vec<Frame>, ts: u64, seq: u32, ack: u32, flags: u8, data: &[u8]| {
        out.push(Frame::new(
            ts,
            tcp_frame(c.mac, s.mac, ca, sa, seq, ack, flags, data),
        ));
    };
    let s2c = |out: &mut Vec<Frame>, ts: u64, seq: u32, ack: u32, flags: u8, data: &[u8]| {
        out.push(Frame::new(
            ts,
            tcp_frame(s.mac, c.mac, sa, ca, seq, ack, flags, data),
        ));
    };
    let half = rng.range(100 * US, 300 * US);
    let mut t = spec.start;
    let isn_c = rng.next_u32();
    let isn_s = rng.next_u32();
    c2s(out, t, isn_c, 0, SYN, &[]);
    t += half;
    s2c(out, t, isn_s, isn_c.wrapping_add(1), SYN | ACK, &[]);
    t += half;
    let (mut cseq, mut sseq) = (isn_c.wrapping_add(1), isn_s.wrapping_add(1));
    c2s(out, t, cseq, sseq, ACK, &[]);
    for (i, ex) in spec.exchanges.iter().enumerate() {
        t += rng.range(200 * US, 2 * MS);
        let pieces = usize::try_from(rng.range(1, spec.max_pieces.max(1) as u64 + 1)).unwrap_or(1);
        let ooo = i == 0 && spec.out_of_order;
        let pieces = if ooo { pieces.max(3) } else { pieces };
        let ranges = cut(ex.request.len(), pieces, ex.boundary, rng);
        let order: Vec<usize> = if ooo && ranges.len() >= 3 {
            let mut o: Vec<usize> = (0..ranges.len()).collect();
            o.swap(1, 2);
            o
        } else {
            (0..ranges.len()).collect()
        };
        for (k, &idx) in order.iter().enumerate() {
            let Some(&r) = ranges.get(idx) else { continue };
            let flags = if r.1 == ex.request.len() {
                PSH | ACK
            } else {
                ACK
            };
            c2s(
                out,
                t,
                seq_after(cseq, r.0),
                sseq,
                flags,
                piece(&ex.request, r),
            );
            if ooo && k == 1 {
                // The network reordered segments 2 and 3: the receiver, seeing 3 first, sends a duplicate
                // ACK for the end of segment 1, and segment 2 turns up 60 µs after segment 3.
                let first_end = ranges.first().map_or(0, |r| r.1);
                s2c(out, t + 25 * US, sseq, seq_after(cseq, first_end), ACK, &[]);
                t += 60 * US;
            } else {
                t += rng.range(20 * US, 80 * US);
            }
        }
        cseq = seq_after(cseq, ex.request.len());
        t += half;
        s2c(out, t, sseq, cseq, ACK, &[]);
        t += rng.range(MS, 5 * MS);
        let rpieces = if spec.retransmit && i == 0 {
            2
        } else {
            usize::try_from(rng.range(1, 3)).unwrap_or(1)
        };
        let rranges = cut(ex.response.len(), rpieces, None, rng);
        for (k, &r) in rranges.iter().enumerate() {
            let flags = if r.1 == ex.response.len() {
                PSH | ACK
            } else {
                ACK
            };
            s2c(
                out,
                t,
                seq_after(sseq, r.0),
                cseq,
                flags,
                piece(&ex.response, r),
            );
            if k == 0 && spec.retransmit && i == 0 {
                // The client's ACK was lost on the way (not captured): the server retransmits after its RTO.
                t += 210 * MS;
                s2c(
                    out,
                    t,
                    seq_after(sseq, r.0),
                    cseq,
                    flags,
                    piece(&ex.response, r),
                );
            }
            t += half;
            c2s(out, t, cseq, seq_after(sseq, r.1), ACK, &[]);
            t += rng.range(20 * US, 80 * US);
        }
        sseq = seq_after(sseq, ex.response.len());
    }
    t += rng.range(5 * MS, 50 * MS);
    c2s(out, t, cseq, sseq, FIN | ACK, &[]);
    t += half;
    s2c(out, t, sseq, cseq.wrapping_add(1), FIN | ACK, &[]);
    t += half;
    c2s(out, t, cseq.wrapping_add(1), sseq.wrapping_add(1), ACK, &[]);
    t
}

/// A SIP REGISTER over TCP from `client`:`port` to `server`, with its 200 OK.
pub(crate) fn register_over_tcp(
    client: Host,
    port: u16,
    server: Host,
    user: &str,
    ua: &str,
    rng: &mut Rng,
) -> Exchange {
    let via = format!(
        "SIP/2.0/TCP {}:{port};branch={};rport",
        client.ip,
        sip::branch(rng)
    );
    let tag = rng.hex(10);
    let call_id = format!("{}@{}", rng.hex(20), client.ip);
    let cseq = rng.range(1, 500);
    let contact = format!("<sip:{user}@{}:{port};transport=tcp>", client.ip);
    let aor = format!("<sip:{user}@{}>", server.ip);
    let request = Message::request("REGISTER", &format!("sip:{};transport=tcp", server.ip))
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header("From", format!("{aor};tag={tag}"))
        .header("To", aor.clone())
        .header("Call-ID", call_id.clone())
        .header("CSeq", format!("{cseq} REGISTER"))
        .header("Contact", contact.clone())
        .header("Expires", "3600")
        .header("Allow", sip::ALLOW)
        .header("User-Agent", ua.to_owned())
        .into_bytes();
    let response = Message::response(200, "OK")
        .header("Via", format!("{via}={port};received={}", client.ip))
        .header("From", format!("{aor};tag={tag}"))
        .header("To", format!("{aor};tag=as{}", rng.hex(8)))
        .header("Call-ID", call_id)
        .header("CSeq", format!("{cseq} REGISTER"))
        .header("Contact", format!("{contact};expires=3600"))
        .header("Server", sip::SERVER)
        .into_bytes();
    Exchange {
        request,
        response,
        boundary: None,
    }
}

/// A SIP OPTIONS keep-alive over TCP and its 200 OK.
pub(crate) fn options_over_tcp(
    client: Host,
    port: u16,
    server: Host,
    user: &str,
    ua: &str,
    rng: &mut Rng,
) -> Exchange {
    let via = format!(
        "SIP/2.0/TCP {}:{port};branch={};rport",
        client.ip,
        sip::branch(rng)
    );
    let tag = rng.hex(10);
    let call_id = format!("{}@{}", rng.hex(20), client.ip);
    let request = Message::request("OPTIONS", &format!("sip:{};transport=tcp", server.ip))
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header("From", format!("<sip:{user}@{}>;tag={tag}", server.ip))
        .header("To", format!("<sip:{}>", server.ip))
        .header("Call-ID", call_id.clone())
        .header("CSeq", "1 OPTIONS")
        .header("Accept", "application/sdp")
        .header("User-Agent", ua.to_owned())
        .into_bytes();
    let response = Message::response(200, "OK")
        .header("Via", format!("{via}={port};received={}", client.ip))
        .header("From", format!("<sip:{user}@{}>;tag={tag}", server.ip))
        .header("To", format!("<sip:{}>;tag=as{}", server.ip, rng.hex(8)))
        .header("Call-ID", call_id)
        .header("CSeq", "1 OPTIONS")
        .header("Allow", sip::ALLOW)
        .header("Accept", "application/sdp")
        .header("Server", sip::SERVER)
        .into_bytes();
    Exchange {
        request,
        response,
        boundary: None,
    }
}

/// A SIP MESSAGE with a text body over TCP (so framing needs Content-Length) and its 202 Accepted.
pub(crate) fn message_over_tcp(
    client: Host,
    port: u16,
    server: Host,
    user: &str,
    ua: &str,
    rng: &mut Rng,
) -> Exchange {
    let via = format!(
        "SIP/2.0/TCP {}:{port};branch={};rport",
        client.ip,
        sip::branch(rng)
    );
    let tag = rng.hex(10);
    let call_id = format!("{}@{}", rng.hex(20), client.ip);
    let to_user = rng.range(1000, 1100);
    let to = format!("<sip:{to_user}@{}>", server.ip);
    let body = format!(
        "Meeting moved to room {}. Call me back on ext {user}.\r\n",
        rng.range(100, 500)
    );
    let request = Message::request("MESSAGE", &format!("sip:{to_user}@{}", server.ip))
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header("From", format!("<sip:{user}@{}>;tag={tag}", server.ip))
        .header("To", to.clone())
        .header("Call-ID", call_id.clone())
        .header("CSeq", "1 MESSAGE")
        .header("User-Agent", ua.to_owned())
        .body("text/plain", body)
        .into_bytes();
    let response = Message::response(202, "Accepted")
        .header("Via", format!("{via}={port};received={}", client.ip))
        .header("From", format!("<sip:{user}@{}>;tag={tag}", server.ip))
        .header("To", format!("{to};tag=as{}", rng.hex(8)))
        .header("Call-ID", call_id)
        .header("CSeq", "1 MESSAGE")
        .header("Server", sip::SERVER)
        .into_bytes();
    Exchange {
        request,
        response,
        boundary: None,
    }
}

/// Two exchanges pipelined: both requests written back to back, both responses back to back.
pub(crate) fn pipelined(first: Exchange, second: Exchange) -> Exchange {
    let boundary = first.request.len();
    let mut request = first.request;
    request.extend_from_slice(&second.request);
    let mut response = first.response;
    response.extend_from_slice(&second.response);
    Exchange {
        request,
        response,
        boundary: Some(boundary),
    }
}

/// `asker` broadcasts (or unicasts to `eth_dst`) "who has `target`? tell asker".
pub(crate) fn arp_request(
    out: &mut Vec<Frame>,
    ts: u64,
    asker: Host,
    target: Ipv4Addr,
    eth_dst: Mac,
) {
    out.push(Frame::new(
        ts,
        arp_frame(
            asker.mac,
            eth_dst,
            ARP_REQUEST,
            asker.mac,
            asker.ip,
            ZERO_MAC,
            target,
        ),
    ));
}

/// `owner` tells `to` "owner.ip is at owner.mac".
pub(crate) fn arp_reply(out: &mut Vec<Frame>, ts: u64, owner: Host, to: Host) {
    out.push(Frame::new(
        ts,
        arp_frame(
            owner.mac, to.mac, ARP_REPLY, owner.mac, owner.ip, to.mac, to.ip,
        ),
    ));
}

/// A request from `asker` for `owner` and the reply 50-400 µs later. `unicast` is Linux's re-validation of
/// a cached entry (sent to the cached MAC).
pub(crate) fn arp_exchange(
    out: &mut Vec<Frame>,
    ts: u64,
    asker: Host,
    owner: Host,
    unicast: bool,
    rng: &mut Rng,
) {
    arp_request(
        out,
        ts,
        asker,
        owner.ip,
        if unicast { owner.mac } else { BROADCAST },
    );
    arp_reply(out, ts + rng.range(50 * US, 400 * US), owner, asker);
}

/// A gratuitous ARP as the Linux kernel sends it: a broadcast request whose sender and target IP are the
/// host's own, target MAC zero.
pub(crate) fn gratuitous_request(out: &mut Vec<Frame>, ts: u64, host: Host) {
    out.push(Frame::new(
        ts,
        arp_frame(
            host.mac,
            BROADCAST,
            ARP_REQUEST,
            host.mac,
            host.ip,
            ZERO_MAC,
            host.ip,
        ),
    ));
}

/// A DNS query name in wire format.
fn dns_name(name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 2);
    for label in name.split('.') {
        v.push(u8::try_from(label.len()).unwrap_or(63));
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// Names the background DNS traffic asks for.
pub(crate) const DNS_NAMES: &[&str] = &[
    "pbx.corp.example",
    "provisioning.corp.example",
    "time.corp.example",
    "ldap.corp.example",
    "updates.vendor.example",
    "mail.corp.example",
];

/// A DNS A query from `client` to `server`:53 and its answer 0.3-3 ms later.
pub(crate) fn dns_exchange(
    out: &mut Vec<Frame>,
    ts: u64,
    client: Host,
    server: Host,
    rng: &mut Rng,
) {
    let name = rng.pick(DNS_NAMES).copied().unwrap_or("pbx.corp.example");
    let id = rng.next_u16();
    let port = rng.range_u16(32768, 60999);
    let qname = dns_name(name);
    let mut q = Vec::with_capacity(16 + qname.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(&qname);
    q.extend_from_slice(&[0, 1, 0, 1]);
    let mut r = Vec::with_capacity(q.len() + 16);
    r.extend_from_slice(&id.to_be_bytes());
    r.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    r.extend_from_slice(&qname);
    r.extend_from_slice(&[0, 1, 0, 1]);
    let host = 1 + (rng.next_u8() & 0x7f);
    r.extend_from_slice(&[
        0xc0,
        0x0c,
        0,
        1,
        0,
        1,
        0,
        0,
        0x01,
        0x2c,
        0,
        4,
        10,
        0,
        rng.next_u8() & 0x3f,
        host,
    ]);
    out.push(Frame::new(
        ts,
        udp_frame(
            client.mac,
            server.mac,
            client.sock(port),
            server.sock(53),
            &q,
        ),
    ));
    let back = ts + rng.range(300 * US, 3 * MS);
    out.push(Frame::new(
        back,
        udp_frame(
            server.mac,
            client.mac,
            server.sock(53),
            client.sock(port),
            &r,
        ),
    ));
}

/// An NTPv4 client request to `server`:123 and the server's reply.
pub(crate) fn ntp_exchange(
    out: &mut Vec<Frame>,
    ts: u64,
    client: Host,
    server: Host,
    rng: &mut Rng,
) {
    let mut q = [0u8; 48];
    q[0] = 0x23; // LI 0, VN 4, mode 3 (client)
    // Transmit timestamp: NTP era seconds (1900 epoch) and a random fraction.
    let ntp_secs = u32::try_from((ts / super::SEC + 2_208_988_800) & 0xffff_ffff).unwrap_or(0);
    q[40..44].copy_from_slice(&ntp_secs.to_be_bytes());
    q[44..48].copy_from_slice(&rng.next_u32().to_be_bytes());
    let mut r = [0u8; 48];
    r[0] = 0x24; // LI 0, VN 4, mode 4 (server)
    r[1] = 2; // stratum
    r[2] = 6; // poll
    r[3] = 0xe9; // precision
    r[12..16].copy_from_slice(&[192, 0, 2, 123]); // reference id
    r[16..20].copy_from_slice(&ntp_secs.to_be_bytes());
    r[24..32].copy_from_slice(&q[40..48]); // origin = client's transmit
    r[32..36].copy_from_slice(&ntp_secs.to_be_bytes());
    r[40..44].copy_from_slice(&ntp_secs.to_be_bytes());
    let port = rng.range_u16(32768, 60999);
    out.push(Frame::new(
        ts,
        udp_frame(
            client.mac,
            server.mac,
            client.sock(port),
            server.sock(123),
            &q,
        ),
    ));
    let back = ts + rng.range(400 * US, 4 * MS);
    out.push(Frame::new(
        back,
        udp_frame(
            server.mac,
            client.mac,
            server.sock(123),
            client.sock(port),
            &r,
        ),
    ));
}

/// An ICMP echo request and, unless `answered` is false, its reply.
pub(crate) fn ping(
    out: &mut Vec<Frame>,
    ts: u64,
    from: Host,
    to: Host,
    answered: bool,
    rng: &mut Rng,
) {
    let ident = rng.next_u16();
    let seq = rng.range_u16(1, 200);
    let mut data = ts.to_le_bytes().to_vec();
    data.extend((0x10u8..0x38).collect::<Vec<u8>>());
    out.push(Frame::new(
        ts,
        icmp_echo_frame(from.mac, to.mac, from.ip, to.ip, false, ident, seq, &data),
    ));
    if answered {
        let back = ts + rng.range(200 * US, 2 * MS);
        out.push(Frame::new(
            back,
            icmp_echo_frame(to.mac, from.mac, to.ip, from.ip, true, ident, seq, &data),
        ));
    }
}

/// When each side of a spoofed pair is poisoned: a list of (time, poisoned) changes, in time order.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoisonLog {
    changes: Vec<(u64, bool)>,
}

impl PoisonLog {
    pub(crate) fn set(&mut self, ts: u64, poisoned: bool) {
        self.changes.push((ts, poisoned));
        self.changes.sort_by_key(|c| c.0);
    }

    fn at(&self, ts: u64) -> bool {
        self.changes
            .iter()
            .take_while(|c| c.0 <= ts)
            .last()
            .is_some_and(|c| c.1)
    }
}

/// Routes the IPv4 frames between `a` and `b` through the attacker `m` while the sender's ARP entry is
/// poisoned: the frame goes to `m`'s MAC, and `m` re-sends the identical IP datagram to the real owner
/// `FORWARD_DELAY` later with its own source MAC (ettercap-style forwarding, TTL untouched).
pub(crate) fn route_through_attacker(
    frames: Vec<Frame>,
    a: Host,
    a_log: &PoisonLog,
    b: Host,
    b_log: &PoisonLog,
    m: Mac,
) -> Vec<Frame> {
    /// Time the attacker takes to re-send a frame.
    const FORWARD_DELAY: u64 = 90 * US;
    let mut out = Vec::with_capacity(frames.len() * 2);
    for mut f in frames {
        let is_ipv4 = f.data.get(12..14) == Some(&ETHERTYPE_IPV4.to_be_bytes()[..]);
        let victim = match macs(&f.data) {
            Some((src, dst)) if is_ipv4 && src == a.mac && dst == b.mac && a_log.at(f.ts_nanos) => {
                Some(b)
            }
            Some((src, dst)) if is_ipv4 && src == b.mac && dst == a.mac && b_log.at(f.ts_nanos) => {
                Some(a)
            }
            _ => None,
        };
        if let Some(real_dst) = victim {
            let (src, _) = macs(&f.data).unwrap_or((a.mac, b.mac));
            set_macs(&mut f.data, src, m);
            let mut copy = f.data.clone();
            set_macs(&mut copy, m, real_dst.mac);
            let ts = f.ts_nanos;
            out.push(f);
            out.push(Frame::new(ts + FORWARD_DELAY, copy));
        } else {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_covers_the_data_without_gaps() {
        let mut rng = Rng::new(9);
        for len in [1usize, 2, 10, 500, 4000] {
            for pieces in 1..5 {
                let r = cut(len, pieces, None, &mut rng);
                assert_eq!(r.first().unwrap().0, 0);
                assert_eq!(r.last().unwrap().1, len);
                for w in r.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                }
                assert!(r.iter().all(|&(a, b)| b > a && b - a <= MSS));
            }
        }
        let r = cut(600, 3, Some(300), &mut rng);
        assert!(r.iter().any(|&(a, b)| a < 300 && b > 300));
    }
}
