//! Workers: the per-packet work. Each worker owns the flows the dispatcher hashes to it: it decodes frames,
//! reassembles IP fragments and TCP streams, and turns what it sees into [`Event`]s for the engine. Workers
//! never raise alerts.

pub mod defrag;
pub mod flow;
pub mod reasm;
pub mod rtp_stats;

use std::net::SocketAddr;

use callguard_parsers::ErrorKind;
use callguard_parsers::link::{self, LinkType, Net, Transport};
use callguard_rules::event::{ArpSeen, Event, Payload, TcpConn};
use callguard_rules::time::PacketTime;

use crate::stats::{Counters, Proto};
use defrag::{Defrag, DefragConfig};
use flow::{FlowKey, FlowTable};
use reasm::{CloseReason, ConnInfo, Dir, Handshake, StreamHandler, TcpConfig, TcpTable};

/// The application layer of TCP streams: where SIP over TCP will be framed. For now it counts what the
/// reassembler delivers, which is the seam the SIP issue plugs into.
#[derive(Debug, Default)]
pub struct AppLayer {
    stream_bytes: u64,
    closed: u64,
}

impl StreamHandler for AppLayer {
    fn on_data(&mut self, _conn: &ConnInfo, _dir: Dir, _ts: PacketTime, data: &[u8]) {
        self.stream_bytes += data.len() as u64;
    }

    fn on_gap(&mut self, _conn: &ConnInfo, _dir: Dir, _skipped: u64) {}

    fn on_close(&mut self, _conn: &ConnInfo, _reason: CloseReason) {
        self.closed += 1;
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
        self.flows.packet(seq, ts, key, side, len);
        match t {
            Transport::Udp(u) => {
                self.counters.count(Proto::Udp);
                self.counters.udp_payload_bytes += u.payload.len() as u64;
                self.udp_payload(u.payload);
            }
            Transport::Tcp(t) => {
                self.counters.count(Proto::Tcp);
                let s = SocketAddr::new(src, t.sport);
                let d = SocketAddr::new(dst, t.dport);
                let payload = match self.tcp.segment(ts, s, d, &t, &mut self.app) {
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
    /// RFC 7983 (RTP, RTCP, STUN, DTLS). This is the seam where SIP and media events are made next.
    #[inline]
    fn udp_payload(&mut self, payload: &[u8]) {
        if callguard_parsers::sip::probe(payload) {
            self.sip(payload);
            return;
        }
        use callguard_parsers::rtp::{self, Kind};
        match rtp::classify(payload) {
            Kind::Rtp if rtp::probe_rtp(payload) => self.counters.count(Proto::Rtp),
            Kind::Rtcp if rtp::rtcp::probe(payload) => self.counters.count(Proto::Rtcp),
            Kind::Stun if callguard_parsers::stun::probe(payload) => {
                self.counters.count(Proto::Stun)
            }
            Kind::Dtls if rtp::probe::dtls_record(payload).is_some() => {
                self.counters.count(Proto::Dtls)
            }
            _ => {}
        }
    }

    /// A UDP payload that looks like SIP (rare next to media: kept out of line).
    #[cold]
    #[inline(never)]
    fn sip(&mut self, payload: &[u8]) {
        match callguard_parsers::sip::Message::parse(payload) {
            Ok(m) => {
                self.counters.count(Proto::Sip);
                if let Some(method) = m.method() {
                    self.counters.sip.request(method.as_str());
                } else if let Some(status) = m.status() {
                    self.counters.sip.response(status);
                }
            }
            Err(_) => self.counters.malformed(callguard_parsers::Layer::Sip),
        }
    }

    /// Packet time has reached `now` (a batch boundary): expire idle state, at most once a second.
    pub fn tick(&mut self, now: PacketTime) {
        if now.secs() <= self.last_sweep_sec {
            return;
        }
        self.last_sweep_sec = now.secs();
        self.defrag.expire(now);
        self.flows.expire(now);
        self.tcp.expire(now, &mut self.app);
    }

    /// End of input: deliver what TCP still buffers and close every stream.
    pub fn finish(&mut self) {
        self.tcp.flush(&mut self.app);
    }

    /// The counters, with the tables' figures filled in.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        c.defrag = self.defrag.stats();
        c.tcp = self.tcp.stats();
        c.flows = self.flows.stats();
        c.stream_bytes = self.app.stream_bytes;
        c.streams_closed = self.app.closed;
        c
    }
}
