//! [`Event`]: the compact, owned summaries that workers make from packets and the engine consumes.
//!
//! Workers never raise alerts; they describe what they saw. An event carries the global sequence number of the
//! packet that made it (assigned by the dispatcher in capture order), so the engine can merge the streams of
//! any number of workers back into capture order: with 1 worker or N, detectors see the same sequence.

use std::net::{Ipv4Addr, SocketAddr};

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
}

impl SipTransport {
    /// Upper-case name, as in a Via header.
    pub fn name(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
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
    /// The user part of the From URI.
    pub from_user: Option<Box<str>>,
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
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 4] = [
        EventKind::Arp,
        EventKind::TcpHandshake,
        EventKind::Clock,
        EventKind::Sip,
    ];

    /// Lower-case name, for counters.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Arp => "arp",
            EventKind::TcpHandshake => "tcp_handshake",
            EventKind::Clock => "clock",
            EventKind::Sip => "sip",
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
