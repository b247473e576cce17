//! TLS and DTLS handshakes, read passively: records (RFC 5246 §6.2, RFC 8446 §5.1; DTLS RFC 6347 §4.1), the
//! handshake messages a sensor can see in the clear (ClientHello, ServerHello, and the Certificate of TLS 1.2
//! and earlier and of DTLS 1.0/1.2), the IANA registry values they carry, the JA3/JA3S/JA4 fingerprints, and
//! certificate summaries.
//!
//! Everything here is stateless: a stream's records split across segments, handshake messages split
//! across records, and DTLS fragments across datagrams are reassembled by the caller, which hands whole
//! records ([`record::Record::parse`] reports [`ErrorKind::Incomplete`](crate::ErrorKind::Incomplete)) and
//! whole messages ([`handshake::Message::parse`]) to these views.
//!
//! TLS 1.3 (RFC 8446) encrypts everything after the ServerHello, the certificates included: a sensor sees
//! the hellos and nothing more, and says so rather than guessing.
//!
//! Errors are attributed to [`crate::Layer::Tls`]; offsets count from the start of the buffer
//! handed in.

pub mod cert;
pub mod dtls;
pub mod fingerprint;
pub mod handshake;
pub mod record;
pub mod registry;

pub use handshake::{CertificateList, ClientHello, HandshakeType, ServerHello};
pub use record::ContentType;
pub use registry::{CipherSuite, ExtensionType, Strength, TlsVersion, is_grease};

use crate::error::Layer;

const LAYER: Layer = Layer::Tls;

/// The longest record fragment accepted: 2^14 bytes of plaintext plus 2048 of expansion (RFC 5246 §6.2.3,
/// the TLSCiphertext bound; TLS 1.3 allows 2^14 + 256). Longer lengths are not TLS.
pub const MAX_RECORD_LEN: usize = 16_384 + 2048;

/// The longest handshake message reassembled: 64 KiB holds a ClientHello with every extension in use and a
/// Certificate message with a long chain (a leaf and two intermediates are 4-6 KiB). Longer ones are given
/// up, not buffered.
pub const MAX_HANDSHAKE_LEN: usize = 64 * 1024;

/// Certificates of one chain summarised (the leaf first); the rest are counted.
pub const MAX_CERT_CHAIN: usize = 4;
