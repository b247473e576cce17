//! Counters kept by each worker and merged at the end: packets, bytes, decoded protocols, malformed by layer.

use callguard_parsers::Layer;

use crate::latency::Latency;
use crate::worker::defrag::DefragStats;
use crate::worker::flow::FlowStats;
use crate::worker::media::MediaStats;
use crate::worker::reasm::TcpStats;
use crate::worker::tls::TlsStats;

/// The protocols counted by the decoder. One packet counts once in each layer it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// Ethernet II frames.
    Ethernet,
    /// Frames with at least one 802.1Q/802.1ad tag.
    Vlan,
    /// Linux cooked capture (SLL or SLL2).
    LinuxCooked,
    /// Raw IP or BSD loopback link types.
    RawIp,
    /// ARP.
    Arp,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// IP fragments (each fragment).
    IpFragment,
    /// UDP (reassembled datagrams count once).
    Udp,
    /// TCP segments.
    Tcp,
    /// IP packets of other protocols (ICMP, ESP, GRE...).
    OtherIp,
    /// Frames with another EtherType.
    OtherL3,
    /// SIP messages over UDP (recognised by content, on any port).
    Sip,
    /// RTP packets (RFC 3550 header checks, any port).
    Rtp,
    /// RTCP packets (RFC 5761 demultiplexing).
    Rtcp,
    /// STUN messages on UDP (ICE, keep-alives).
    Stun,
    /// DTLS records on UDP (DTLS-SRTP handshakes on media ports).
    Dtls,
    /// Mirrored frames that came in GRE (Ethernet or IP inside).
    Gre,
    /// Mirrored frames that came in ERSPAN (type I, II or III).
    Erspan,
    /// Mirrored frames that came in VXLAN.
    Vxlan,
    /// Mirrored frames that came in Geneve.
    Geneve,
}

impl Proto {
    /// Every protocol, in counter order.
    pub const ALL: [Proto; 21] = [
        Proto::Ethernet,
        Proto::Vlan,
        Proto::LinuxCooked,
        Proto::RawIp,
        Proto::Arp,
        Proto::Ipv4,
        Proto::Ipv6,
        Proto::IpFragment,
        Proto::Udp,
        Proto::Tcp,
        Proto::OtherIp,
        Proto::OtherL3,
        Proto::Sip,
        Proto::Rtp,
        Proto::Rtcp,
        Proto::Stun,
        Proto::Dtls,
        Proto::Gre,
        Proto::Erspan,
        Proto::Vxlan,
        Proto::Geneve,
    ];

    /// Lower-case name, used in JSON and as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Ethernet => "ethernet",
            Proto::Vlan => "vlan",
            Proto::LinuxCooked => "linux_cooked",
            Proto::RawIp => "raw_ip",
            Proto::Arp => "arp",
            Proto::Ipv4 => "ipv4",
            Proto::Ipv6 => "ipv6",
            Proto::IpFragment => "ip_fragment",
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
            Proto::OtherIp => "other_ip",
            Proto::OtherL3 => "other_l3",
            Proto::Sip => "sip",
            Proto::Rtp => "rtp",
            Proto::Rtcp => "rtcp",
            Proto::Stun => "stun",
            Proto::Dtls => "dtls",
            Proto::Gre => "gre",
            Proto::Erspan => "erspan",
            Proto::Vxlan => "vxlan",
            Proto::Geneve => "geneve",
        }
    }
}

/// Why a packet was not (fully) decoded: the only label on the drop counters (STYLE 3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropClass {
    /// The peer sent bytes that do not decode.
    Malformed,
    /// Well-formed, but a link type or protocol this sensor does not decode.
    Unsupported,
}

/// SIP request methods counted apart; the last slot counts every other method.
pub const SIP_METHODS: [&str; 15] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
    "other",
];

/// SIP counters: requests by method, responses by status class (1xx to 6xx).
#[derive(Debug, Clone, Copy, Default)]
pub struct SipCounters {
    /// Requests by [`SIP_METHODS`] index.
    pub requests: [u64; SIP_METHODS.len()],
    /// Responses by class: index 0 is 1xx, 5 is 6xx.
    pub responses: [u64; 6],
}

impl SipCounters {
    /// Counts a request of `method` (as written).
    pub fn request(&mut self, method: &str) {
        let i = SIP_METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(SIP_METHODS.len() - 1);
        if let Some(c) = self.requests.get_mut(i) {
            *c += 1;
        }
    }

    /// Counts a response with `status`.
    pub fn response(&mut self, status: u16) {
        if let Some(c) = usize::from(status / 100)
            .checked_sub(1)
            .and_then(|i| self.responses.get_mut(i))
        {
            *c += 1;
        }
    }

    /// Requests by method and responses by class, both transports together.
    pub fn merged(mut self, o: &SipCounters) -> SipCounters {
        self.merge(o);
        self
    }

    fn merge(&mut self, o: &SipCounters) {
        for (a, b) in self.requests.iter_mut().zip(o.requests) {
            *a += b;
        }
        for (a, b) in self.responses.iter_mut().zip(o.responses) {
            *a += b;
        }
    }
}

/// Counters of one worker, or of all of them merged.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Packets processed.
    pub packets: u64,
    /// Captured bytes processed.
    pub bytes: u64,
    /// Per [`Proto`], in [`Proto::ALL`] order.
    pub proto: [u64; Proto::ALL.len()],
    /// Captured bytes per [`Proto`] (the whole frame, in each layer it has).
    pub proto_bytes: [u64; Proto::ALL.len()],
    /// The frame being counted: its captured length (set by the worker per packet).
    pub frame_len: u64,
    /// Malformed packets by the layer where decoding stopped, in [`Layer::ALL`] order.
    pub malformed: [u64; Layer::ALL.len()],
    /// Packets of a link type the decoder does not know.
    pub unsupported_link: u64,
    /// UDP payload bytes handed to the application layer.
    pub udp_payload_bytes: u64,
    /// IP fragment reassembly.
    pub defrag: DefragStats,
    /// TCP connection tracking and reassembly.
    pub tcp: TcpStats,
    /// The flow tables.
    pub flows: FlowStats,
    /// RTP streams and RTCP reports.
    pub media: MediaStats,
    /// SIP messages over UDP.
    pub sip: SipCounters,
    /// SIP messages over TCP streams, plain and WebSocket (framed from the reassembled streams).
    pub sip_tcp: SipCounters,
    /// SIP messages over plain TCP, all of them.
    pub sip_tcp_messages: u64,
    /// SIP messages over WebSocket (RFC 7118), all of them.
    pub sip_ws_messages: u64,
    /// Requests to upgrade a TCP connection to WebSocket for SIP (the client's GET, answered or not).
    pub ws_upgrades: u64,
    /// WebSocket close, ping and pong frames.
    pub ws_control_frames: u64,
    /// TCP stream bytes delivered in order to the application layer.
    pub stream_bytes: u64,
    /// TCP connections closed, as seen by the application layer.
    pub streams_closed: u64,
    /// TLS and DTLS handshakes.
    pub tls: TlsStats,
    /// Capture to the worker having decoded a batch (wall time; never used for detection).
    pub latency: Latency,
}

impl Counters {
    /// Counts one packet of `p`.
    #[inline]
    pub fn count(&mut self, p: Proto) {
        if let Some(c) = self.proto.get_mut(p as usize) {
            *c += 1;
        }
        if let Some(b) = self.proto_bytes.get_mut(p as usize) {
            *b += self.frame_len;
        }
    }

    /// The captured bytes counted for `p`.
    pub fn bytes_of(&self, p: Proto) -> u64 {
        self.proto_bytes.get(p as usize).copied().unwrap_or(0)
    }

    /// The count for `p`.
    pub fn get(&self, p: Proto) -> u64 {
        self.proto.get(p as usize).copied().unwrap_or(0)
    }

    /// Counts a malformed packet in `layer`.
    #[inline]
    pub fn malformed(&mut self, layer: Layer) {
        if let Some(c) = self.malformed.get_mut(layer.index()) {
            *c += 1;
        }
    }

    /// All malformed packets.
    pub fn malformed_total(&self) -> u64 {
        self.malformed.iter().sum()
    }

    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &Counters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        for (a, b) in self.proto.iter_mut().zip(o.proto) {
            *a += b;
        }
        for (a, b) in self.proto_bytes.iter_mut().zip(o.proto_bytes) {
            *a += b;
        }
        for (a, b) in self.malformed.iter_mut().zip(o.malformed) {
            *a += b;
        }
        self.unsupported_link += o.unsupported_link;
        self.udp_payload_bytes += o.udp_payload_bytes;
        self.stream_bytes += o.stream_bytes;
        self.streams_closed += o.streams_closed;
        let (d, e) = (&mut self.defrag, &o.defrag);
        d.fragments += e.fragments;
        d.reassembled += e.reassembled;
        d.in_flight += e.in_flight;
        d.bytes += e.bytes;
        d.timed_out += e.timed_out;
        d.evicted += e.evicted;
        d.overlaps += e.overlaps;
        d.overlap_mismatches += e.overlap_mismatches;
        d.invalid += e.invalid;
        self.sip.merge(&o.sip);
        self.sip_tcp.merge(&o.sip_tcp);
        self.sip_tcp_messages += o.sip_tcp_messages;
        self.sip_ws_messages += o.sip_ws_messages;
        self.ws_upgrades += o.ws_upgrades;
        self.ws_control_frames += o.ws_control_frames;
        self.flows.created += o.flows.created;
        self.flows.rate_reports += o.flows.rate_reports;
        self.flows.rate_dropped += o.flows.rate_dropped;
        self.flows.opened_dropped += o.flows.opened_dropped;
        self.flows.table.merge(&o.flows.table);
        self.media.merge(&o.media);
        self.tls.merge(&o.tls);
        self.latency.merge(&o.latency);
        let (t, u) = (&mut self.tcp, &o.tcp);
        t.conns_opened += u.conns_opened;
        t.active += u.active;
        t.evicted += u.evicted;
        t.timed_out += u.timed_out;
        t.bytes_delivered += u.bytes_delivered;
        t.gaps += u.gaps;
        t.gap_bytes += u.gap_bytes;
        t.retransmitted_bytes += u.retransmitted_bytes;
        t.overlaps += u.overlaps;
        t.out_of_order += u.out_of_order;
        t.midstream += u.midstream;
        t.out_of_window += u.out_of_window;
    }
}
