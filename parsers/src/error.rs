//! The one error type of this crate: small, `Copy`, and always saying where it happened.

use std::fmt;

/// The protocol layer a [`ParseError`] happened in. It is also the label of the `malformed` counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Layer {
    /// Ethernet, VLAN, Linux cooked capture headers.
    Link,
    /// ARP.
    Arp,
    /// IPv4 or IPv6, with extension headers.
    Ip,
    /// A tunnel that delivers mirrored traffic (GRE, ERSPAN, VXLAN, Geneve): a header that does not parse, or
    /// a tunnelled packet that was fragmented on its way (see [`crate::tunnel`]).
    Tunnel,
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// SIP (a message that `sip::probe` recognised but that does not parse).
    Sip,
    /// WebSocket (RFC 6455) framing of a stream that upgraded to it: a frame or handshake that does not
    /// parse, or a message longer than the sensor follows.
    WebSocket,
    /// TLS or DTLS records and handshake messages that do not parse, or a handshake longer than the sensor
    /// reassembles.
    Tls,
}

impl Layer {
    /// Every layer, in the order used by counters.
    pub const ALL: [Layer; 9] = [
        Layer::Link,
        Layer::Arp,
        Layer::Ip,
        Layer::Tunnel,
        Layer::Udp,
        Layer::Tcp,
        Layer::Sip,
        Layer::WebSocket,
        Layer::Tls,
    ];

    /// Lower-case name, used as a metric label and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Arp => "arp",
            Layer::Ip => "ip",
            Layer::Tunnel => "tunnel",
            Layer::Udp => "udp",
            Layer::Tcp => "tcp",
            Layer::Sip => "sip",
            Layer::WebSocket => "websocket",
            Layer::Tls => "tls",
        }
    }

    /// Dense index into [`Layer::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// More bytes are needed (only returned where a caller can wait for them, such as a stream).
    Incomplete {
        /// How many more bytes at least.
        needed: usize,
    },
    /// The data ends before a length it declares.
    Truncated,
    /// A field holds a value the protocol does not allow.
    Invalid,
    /// A bound of this crate was reached.
    LimitExceeded,
    /// Well-formed, but not something this crate decodes.
    Unsupported,
}

/// A decode failure: what, in which layer, at which byte offset from the start of the buffer handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where in the protocol stack.
    pub layer: Layer,
    /// Byte offset of the failing read.
    pub offset: usize,
}

impl ParseError {
    /// An error of `kind` in `layer` at `offset`.
    pub fn new(kind: ErrorKind, layer: Layer, offset: usize) -> Self {
        Self {
            kind,
            layer,
            offset,
        }
    }

    /// The same error, moved by `by` bytes (an outer layer adds its header length).
    #[must_use]
    pub fn add_offset(mut self, by: usize) -> Self {
        self.offset = self.offset.saturating_add(by);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} in {} at byte {}",
            self.kind,
            self.layer.name(),
            self.offset
        )
    }
}

impl std::error::Error for ParseError {}
