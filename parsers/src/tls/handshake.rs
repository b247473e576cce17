//! Handshake messages (RFC 5246 §7.4, RFC 8446 §4): the header, ClientHello, ServerHello, the extensions
//! this sensor reads, and the Certificate message of TLS 1.2 and earlier and of DTLS 1.0/1.2.
//!
//! ```text
//! TLS handshake header (RFC 8446 §4)          DTLS handshake header (RFC 6347 §4.2.2): 12 bytes, see `dtls`
//! +--------+--------+--------+--------+
//! |msg_type|      length (24 bits)    |  then `length` bytes of body
//! +--------+--------+--------+--------+
//! ```
//!
//! Views borrow the message body; lists (cipher suites, extensions, ALPN names, certificates) are iterators
//! over it. Nothing here allocates.

use std::fmt;

use super::LAYER;
use super::registry::{CipherSuite, ExtensionType, TlsVersion, is_grease};
use crate::bytes::Reader;
use crate::error::{ErrorKind, ParseError};

/// Length of the TLS handshake header.
pub const HEADER_LEN: usize = 4;

/// The ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256 of "HelloRetryRequest".
pub const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A handshake message type (IANA "TLS HandshakeType").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandshakeType(pub u8);

impl HandshakeType {
    /// hello_request (0).
    pub const HELLO_REQUEST: HandshakeType = HandshakeType(0);
    /// client_hello (1).
    pub const CLIENT_HELLO: HandshakeType = HandshakeType(1);
    /// server_hello (2).
    pub const SERVER_HELLO: HandshakeType = HandshakeType(2);
    /// hello_verify_request (3, DTLS).
    pub const HELLO_VERIFY_REQUEST: HandshakeType = HandshakeType(3);
    /// new_session_ticket (4).
    pub const NEW_SESSION_TICKET: HandshakeType = HandshakeType(4);
    /// encrypted_extensions (8, TLS 1.3: never seen in the clear).
    pub const ENCRYPTED_EXTENSIONS: HandshakeType = HandshakeType(8);
    /// certificate (11).
    pub const CERTIFICATE: HandshakeType = HandshakeType(11);
    /// server_key_exchange (12).
    pub const SERVER_KEY_EXCHANGE: HandshakeType = HandshakeType(12);
    /// certificate_request (13).
    pub const CERTIFICATE_REQUEST: HandshakeType = HandshakeType(13);
    /// server_hello_done (14).
    pub const SERVER_HELLO_DONE: HandshakeType = HandshakeType(14);
    /// certificate_verify (15).
    pub const CERTIFICATE_VERIFY: HandshakeType = HandshakeType(15);
    /// client_key_exchange (16).
    pub const CLIENT_KEY_EXCHANGE: HandshakeType = HandshakeType(16);
    /// finished (20).
    pub const FINISHED: HandshakeType = HandshakeType(20);
    /// certificate_status (22, RFC 6066).
    pub const CERTIFICATE_STATUS: HandshakeType = HandshakeType(22);

    /// The registry name; `None` for other values.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "hello_request",
            1 => "client_hello",
            2 => "server_hello",
            3 => "hello_verify_request",
            4 => "new_session_ticket",
            5 => "end_of_early_data",
            6 => "hello_retry_request",
            8 => "encrypted_extensions",
            11 => "certificate",
            12 => "server_key_exchange",
            13 => "certificate_request",
            14 => "server_hello_done",
            15 => "certificate_verify",
            16 => "client_key_exchange",
            20 => "finished",
            21 => "certificate_url",
            22 => "certificate_status",
            23 => "supplemental_data",
            24 => "key_update",
            254 => "message_hash",
            _ => return None,
        })
    }
}

impl fmt::Debug for HandshakeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "HandshakeType({})", self.0),
        }
    }
}

/// One TLS handshake message: type and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The message type.
    pub msg_type: HandshakeType,
    /// The body (`length` bytes).
    pub body: &'a [u8],
}

impl<'a> Message<'a> {
    /// The message at the front of `buf` (the concatenated fragments of handshake records) and its total
    /// length. [`ErrorKind::Incomplete`] when `buf` ends inside it: the declared length is in the error's
    /// `needed`, so a caller can refuse to wait for a message over its bound.
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize), ParseError> {
        if buf.len() < HEADER_LEN {
            return Err(ParseError::new(
                ErrorKind::Incomplete {
                    needed: HEADER_LEN - buf.len(),
                },
                LAYER,
                buf.len(),
            ));
        }
        let mut r = Reader::new(buf, LAYER);
        let msg_type = HandshakeType(r.u8()?);
        let len = usize::try_from(r.u24()?).unwrap_or(usize::MAX);
        if r.remaining() < len {
            return Err(ParseError::new(
                ErrorKind::Incomplete {
                    needed: len - r.remaining(),
                },
                LAYER,
                buf.len(),
            ));
        }
        let body = r.take(len)?;
        Ok((Self { msg_type, body }, HEADER_LEN + len))
    }

    /// The declared total length (header included) of the message at the front of `buf`, once its header is
    /// there.
    pub fn declared_len(buf: &[u8]) -> Option<usize> {
        let mut r = Reader::new(buf, LAYER);
        r.u8().ok()?;
        Some(HEADER_LEN + usize::try_from(r.u24().ok()?).ok()?)
    }
}

/// One extension: type and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension type.
    pub ext_type: ExtensionType,
    /// The extension data.
    pub data: &'a [u8],
}

/// The extensions of a hello, in wire order. Stops at the first one that does not fit (the hello's
/// `extensions_truncated` says so).
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.remaining() == 0 {
            return None;
        }
        let t = self.r.u16().ok()?;
        let data = self.r.take_u16_prefixed().ok()?;
        Some(Extension {
            ext_type: ExtensionType(t),
            data,
        })
    }
}

/// Big-endian `u16`s of a list (cipher suites, groups, signature algorithms, versions); an odd last byte is
/// ignored.
#[derive(Debug, Clone)]
pub struct U16s<'a> {
    r: Reader<'a>,
}

impl<'a> U16s<'a> {
    fn new(b: &'a [u8]) -> Self {
        Self {
            r: Reader::new(b, LAYER),
        }
    }

    fn empty() -> Self {
        Self::new(&[])
    }
}

impl Iterator for U16s<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        self.r.u16().ok()
    }
}

/// Length-prefixed names of a `ProtocolNameList` (ALPN, RFC 7301 §3.1); stops at one that does not fit.
#[derive(Debug, Clone)]
pub struct Names<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for Names<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.r.remaining() == 0 {
            return None;
        }
        self.r.take_u8_prefixed().ok()
    }
}

/// Checks that an extension block is a whole number of extensions; `true` when it is.
fn extensions_whole(b: &[u8]) -> bool {
    let mut r = Reader::new(b, LAYER);
    while r.remaining() > 0 {
        if r.u16().is_err() || r.take_u16_prefixed().is_err() {
            return false;
        }
    }
    true
}

fn find(exts: Option<&[u8]>, t: ExtensionType) -> Option<&[u8]> {
    Extensions {
        r: Reader::new(exts.unwrap_or_default(), LAYER),
    }
    .find(|e| e.ext_type == t)
    .map(|e| e.data)
}

/// The host name of a server_name extension (RFC 6066 §3): the first entry of type host_name (0), when it is
/// UTF-8.
fn server_name(data: &[u8]) -> Option<&str> {
    let mut r = Reader::new(data, LAYER);
    let list = r.take_u16_prefixed().ok()?;
    let mut r = Reader::new(list, LAYER);
    while r.remaining() > 0 {
        let kind = r.u8().ok()?;
        let name = r.take_u16_prefixed().ok()?;
        if kind == 0 {
            return std::str::from_utf8(name).ok();
        }
    }
    None
}

fn alpn_names(data: Option<&[u8]>) -> Names<'_> {
    let mut r = Reader::new(data.unwrap_or_default(), LAYER);
    let list = r.take_u16_prefixed().unwrap_or_default();
    Names {
        r: Reader::new(list, LAYER),
    }
}

/// A ClientHello (RFC 8446 §4.1.2; DTLS adds a cookie after the session id, RFC 6347 §4.2.1).
///
/// ```text
/// legacy_version(2) random(32) session_id<0..32> [cookie<0..255> (DTLS)] cipher_suites<2..2^16-2>
/// legacy_compression_methods<1..2^8-1> [extensions<8..2^16-1>]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// `legacy_version` (`client_version` before TLS 1.3): the highest version offered when there is no
    /// supported_versions extension.
    pub version: TlsVersion,
    /// The client random.
    pub random: &'a [u8],
    /// The session id.
    pub session_id: &'a [u8],
    /// The cookie (DTLS only; empty on a first ClientHello).
    pub cookie: Option<&'a [u8]>,
    cipher_suites: &'a [u8],
    /// The compression methods offered (`[0]`, null, in every modern client).
    pub compression_methods: &'a [u8],
    extensions: Option<&'a [u8]>,
    /// The extension block does not divide into whole extensions: the iterator stops early.
    pub extensions_truncated: bool,
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body (after the handshake header); `dtls` reads the cookie.
    pub fn parse(body: &'a [u8], dtls: bool) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let version = TlsVersion(r.u16()?);
        let random = r.take(32)?;
        let session_id = r.take_u8_prefixed()?;
        let cookie = if dtls {
            Some(r.take_u8_prefixed()?)
        } else {
            None
        };
        let cipher_suites = r.take_u16_prefixed()?;
        if cipher_suites.len() % 2 != 0 {
            return Err(ParseError::new(ErrorKind::Invalid, LAYER, r.offset()));
        }
        let compression_methods = r.take_u8_prefixed()?;
        let extensions = if r.remaining() == 0 {
            None
        } else {
            Some(r.take_u16_prefixed()?)
        };
        Ok(Self {
            version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
            extensions_truncated: extensions.is_some_and(|e| !extensions_whole(e)),
        })
    }

    /// The cipher suites offered, in order (GREASE included).
    pub fn cipher_suites(&self) -> impl Iterator<Item = CipherSuite> + 'a {
        U16s::new(self.cipher_suites).map(CipherSuite)
    }

    /// The extensions, in order (GREASE included).
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions {
            r: Reader::new(self.extensions.unwrap_or_default(), LAYER),
        }
    }

    /// The data of the first extension of type `t`.
    pub fn extension(&self, t: ExtensionType) -> Option<&'a [u8]> {
        find(self.extensions, t)
    }

    /// Server name indication: the host_name of the server_name extension (RFC 6066 §3).
    pub fn sni(&self) -> Option<&'a str> {
        self.extension(ExtensionType::SERVER_NAME)
            .and_then(server_name)
    }

    /// The protocols offered in ALPN (RFC 7301), in order.
    pub fn alpn(&self) -> Names<'a> {
        alpn_names(self.extension(ExtensionType::ALPN))
    }

    /// The versions of supported_versions (RFC 8446 §4.2.1), in order (GREASE included); empty without it.
    pub fn supported_versions(&self) -> impl Iterator<Item = TlsVersion> + 'a {
        let list = self
            .extension(ExtensionType::SUPPORTED_VERSIONS)
            .and_then(|d| Reader::new(d, LAYER).take_u8_prefixed().ok());
        list.map_or_else(U16s::empty, U16s::new).map(TlsVersion)
    }

    /// The highest version offered: the highest non-GREASE entry of supported_versions (by rank, so DTLS 1.2
    /// is above DTLS 1.0), else `legacy_version`.
    pub fn highest_version(&self) -> TlsVersion {
        self.supported_versions()
            .filter(|v| !v.is_grease())
            .max_by_key(|v| (v.rank(), v.0))
            .unwrap_or(self.version)
    }

    /// The named groups of supported_groups (RFC 8446 §4.2.7), in order (GREASE included).
    pub fn supported_groups(&self) -> U16s<'a> {
        let list = self
            .extension(ExtensionType::SUPPORTED_GROUPS)
            .and_then(|d| Reader::new(d, LAYER).take_u16_prefixed().ok());
        list.map_or_else(U16s::empty, U16s::new)
    }

    /// The point formats of ec_point_formats (RFC 8422 §5.1.2), in order.
    pub fn ec_point_formats(&self) -> &'a [u8] {
        self.extension(ExtensionType::EC_POINT_FORMATS)
            .and_then(|d| Reader::new(d, LAYER).take_u8_prefixed().ok())
            .unwrap_or_default()
    }

    /// The signature schemes of signature_algorithms (RFC 8446 §4.2.3), in order.
    pub fn signature_algorithms(&self) -> U16s<'a> {
        let list = self
            .extension(ExtensionType::SIGNATURE_ALGORITHMS)
            .and_then(|d| Reader::new(d, LAYER).take_u16_prefixed().ok());
        list.map_or_else(U16s::empty, U16s::new)
    }

    /// The SRTP protection profiles offered in use_srtp (RFC 5764 §4.1.1), in order.
    pub fn srtp_profiles(&self) -> U16s<'a> {
        let list = self
            .extension(ExtensionType::USE_SRTP)
            .and_then(|d| Reader::new(d, LAYER).take_u16_prefixed().ok());
        list.map_or_else(U16s::empty, U16s::new)
    }
}

impl fmt::Display for ClientHello<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientHello {} suites={} exts={} sni={:?}",
            self.highest_version(),
            self.cipher_suites.len() / 2,
            self.extensions().count(),
            self.sni()
        )
    }
}

/// A ServerHello (RFC 8446 §4.1.3; a HelloRetryRequest is a ServerHello with [`HELLO_RETRY_RANDOM`]).
///
/// ```text
/// legacy_version(2) random(32) session_id<0..32> cipher_suite(2) compression_method(1) [extensions<6..2^16-1>]
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// `legacy_version` (`server_version` before TLS 1.3; `0x0303` in TLS 1.3, which puts the real one in
    /// supported_versions).
    pub version: TlsVersion,
    /// The server random.
    pub random: &'a [u8],
    /// The session id (an echo of the client's in TLS 1.3).
    pub session_id: &'a [u8],
    /// The chosen cipher suite.
    pub cipher_suite: CipherSuite,
    /// The chosen compression method (0, null).
    pub compression_method: u8,
    extensions: Option<&'a [u8]>,
    /// The extension block does not divide into whole extensions.
    pub extensions_truncated: bool,
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body (DTLS has the same layout).
    pub fn parse(body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let version = TlsVersion(r.u16()?);
        let random = r.take(32)?;
        let session_id = r.take_u8_prefixed()?;
        let cipher_suite = CipherSuite(r.u16()?);
        let compression_method = r.u8()?;
        let extensions = if r.remaining() == 0 {
            None
        } else {
            Some(r.take_u16_prefixed()?)
        };
        Ok(Self {
            version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
            extensions_truncated: extensions.is_some_and(|e| !extensions_whole(e)),
        })
    }

    /// The extensions, in order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions {
            r: Reader::new(self.extensions.unwrap_or_default(), LAYER),
        }
    }

    /// The data of the first extension of type `t`.
    pub fn extension(&self, t: ExtensionType) -> Option<&'a [u8]> {
        find(self.extensions, t)
    }

    /// The version of the supported_versions extension (TLS 1.3 and later put the negotiated version there).
    pub fn selected_version(&self) -> Option<TlsVersion> {
        self.extension(ExtensionType::SUPPORTED_VERSIONS)
            .and_then(|d| Reader::new(d, LAYER).u16().ok())
            .map(TlsVersion)
    }

    /// The negotiated version: supported_versions when present, else `legacy_version`.
    pub fn negotiated_version(&self) -> TlsVersion {
        self.selected_version().unwrap_or(self.version)
    }

    /// A HelloRetryRequest (RFC 8446 §4.1.4): the server asks for another ClientHello.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_RANDOM
    }

    /// The protocol the server selected in ALPN.
    pub fn alpn(&self) -> Option<&'a [u8]> {
        alpn_names(self.extension(ExtensionType::ALPN)).next()
    }

    /// The SRTP protection profile the server chose in use_srtp (RFC 5764 §4.1.1).
    pub fn srtp_profile(&self) -> Option<u16> {
        self.extension(ExtensionType::USE_SRTP)
            .and_then(|d| Reader::new(d, LAYER).take_u16_prefixed().ok())
            .and_then(|l| Reader::new(l, LAYER).u16().ok())
    }
}

impl fmt::Display for ServerHello<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ServerHello {} {}{}",
            self.negotiated_version(),
            self.cipher_suite,
            if self.is_hello_retry_request() {
                " (HelloRetryRequest)"
            } else {
                ""
            }
        )
    }
}

/// The Certificate message of TLS 1.2 and earlier and of DTLS 1.0/1.2 (RFC 5246 §7.4.2): a list of DER
/// certificates, sender's first. (TLS 1.3's Certificate is encrypted and never reaches this parser.)
///
/// ```text
/// certificate_list<0..2^24-1>: { ASN.1Cert<1..2^24-1> }*
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateList<'a> {
    list: &'a [u8],
}

impl<'a> CertificateList<'a> {
    /// Parses a Certificate body. The list length must fit the body; each certificate's length is checked
    /// as it is read.
    pub fn parse(body: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(body, LAYER);
        let len = usize::try_from(r.u24()?).unwrap_or(usize::MAX);
        let list = r.take(len)?;
        Ok(Self { list })
    }

    /// The DER certificates, in order (the sender's own first); stops at one that does not fit.
    pub fn certs(&self) -> Certs<'a> {
        Certs {
            r: Reader::new(self.list, LAYER),
        }
    }

    /// An empty list (a client that has no certificate to send).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The DER certificates of a [`CertificateList`].
#[derive(Debug, Clone)]
pub struct Certs<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for Certs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.r.remaining() == 0 {
            return None;
        }
        let n = usize::try_from(self.r.u24().ok()?).ok()?;
        self.r.take(n).ok()
    }
}

/// GREASE-free values of a list (JA3 and JA4 leave GREASE out).
pub fn without_grease(it: impl Iterator<Item = u16>) -> impl Iterator<Item = u16> {
    it.filter(|v| !is_grease(*v))
}

#[cfg(test)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "builders of short test messages"
)]
pub(crate) mod tests {
    use super::*;

    /// Writes a ClientHello body: `version`, suites, extensions (type, data), optional DTLS cookie.
    pub(crate) fn client_hello(
        version: u16,
        suites: &[u16],
        exts: &[(u16, Vec<u8>)],
        cookie: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut b = version.to_be_bytes().to_vec();
        b.extend([7u8; 32]);
        b.push(0);
        if let Some(c) = cookie {
            b.push(c.len() as u8);
            b.extend(c);
        }
        b.extend(((suites.len() * 2) as u16).to_be_bytes());
        for s in suites {
            b.extend(s.to_be_bytes());
        }
        b.extend([1, 0]);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend(t.to_be_bytes());
            e.extend((d.len() as u16).to_be_bytes());
            e.extend(d);
        }
        b.extend((e.len() as u16).to_be_bytes());
        b.extend(e);
        b
    }

    pub(crate) fn sni_ext(name: &str) -> (u16, Vec<u8>) {
        let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        d.push(0);
        d.extend((name.len() as u16).to_be_bytes());
        d.extend(name.as_bytes());
        (0, d)
    }

    pub(crate) fn alpn_ext(names: &[&[u8]]) -> (u16, Vec<u8>) {
        let mut l = Vec::new();
        for n in names {
            l.push(n.len() as u8);
            l.extend(*n);
        }
        let mut d = (l.len() as u16).to_be_bytes().to_vec();
        d.extend(l);
        (16, d)
    }

    pub(crate) fn u16_list_ext(t: u16, vals: &[u16], wide: bool) -> (u16, Vec<u8>) {
        let mut d = if wide {
            ((vals.len() * 2) as u16).to_be_bytes().to_vec()
        } else {
            vec![(vals.len() * 2) as u8]
        };
        for v in vals {
            d.extend(v.to_be_bytes());
        }
        (t, d)
    }

    #[test]
    fn a_client_hello_gives_its_suites_and_extensions() {
        let body = client_hello(
            0x0303,
            &[0x0a0a, 0x1301, 0xc02f],
            &[
                (0x1a1a, vec![]),
                sni_ext("pbx.example"),
                alpn_ext(&[b"h2", b"http/1.1"]),
                u16_list_ext(43, &[0x2a2a, 0x0304, 0x0303], false),
                u16_list_ext(10, &[0x001d, 0x0017], true),
                (11, vec![1, 0]),
                u16_list_ext(13, &[0x0403, 0x0804], true),
                u16_list_ext(14, &[1, 2], true),
            ],
            None,
        );
        let ch = ClientHello::parse(&body, false).unwrap();
        assert_eq!(ch.version, TlsVersion::TLS12);
        assert_eq!(
            ch.cipher_suites().collect::<Vec<_>>(),
            [
                CipherSuite(0x0a0a),
                CipherSuite(0x1301),
                CipherSuite(0xc02f)
            ]
        );
        assert_eq!(ch.extensions().count(), 8);
        assert_eq!(ch.sni(), Some("pbx.example"));
        assert_eq!(ch.alpn().collect::<Vec<_>>(), [&b"h2"[..], b"http/1.1"]);
        assert_eq!(ch.highest_version(), TlsVersion::TLS13);
        assert_eq!(ch.supported_groups().collect::<Vec<_>>(), [0x1d, 0x17]);
        assert_eq!(ch.ec_point_formats(), &[0]);
        assert_eq!(
            ch.signature_algorithms().collect::<Vec<_>>(),
            [0x0403, 0x0804]
        );
        assert_eq!(ch.srtp_profiles().collect::<Vec<_>>(), [1, 2]);
        assert!(!ch.extensions_truncated);
        assert_eq!(
            ch.to_string(),
            "ClientHello TLS 1.3 suites=3 exts=8 sni=Some(\"pbx.example\")"
        );
    }

    #[test]
    fn a_dtls_client_hello_has_a_cookie() {
        let body = client_hello(0xfefd, &[0xc02b], &[], Some(&[1, 2, 3]));
        let ch = ClientHello::parse(&body, true).unwrap();
        assert_eq!(ch.cookie, Some(&[1, 2, 3][..]));
        assert_eq!(ch.highest_version(), TlsVersion::DTLS12);
    }

    #[test]
    fn truncated_hellos_are_errors_and_truncated_extensions_are_flagged() {
        let body = client_hello(0x0303, &[0xc02f], &[sni_ext("a")], None);
        for cut in 0..body.len() - 14 {
            assert!(
                ClientHello::parse(&body[..cut], false).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = body.clone();
        let n = bad.len();
        // The last extension claims more data than the block holds: not whole.
        bad[n - 8] = 0;
        bad[n - 7] = 9;
        let ch = ClientHello::parse(&bad, false).unwrap();
        assert!(ch.extensions_truncated);
    }

    #[test]
    fn a_server_hello_gives_version_suite_and_retry() {
        let mut b = vec![3, 3];
        b.extend(HELLO_RETRY_RANDOM);
        b.extend([0, 0x13, 0x02, 0]);
        b.extend([0, 6, 0, 43, 0, 2, 3, 4]);
        let sh = ServerHello::parse(&b).unwrap();
        assert_eq!(sh.negotiated_version(), TlsVersion::TLS13);
        assert_eq!(sh.cipher_suite, CipherSuite::AES_256_GCM_SHA384);
        assert!(sh.is_hello_retry_request());
    }

    #[test]
    fn a_certificate_list_yields_each_der() {
        let body = [0, 0, 9, 0, 0, 2, 0x30, 0, 0, 0, 1, 0x30];
        let l = CertificateList::parse(&body).unwrap();
        assert_eq!(l.certs().collect::<Vec<_>>(), [&[0x30, 0][..], &[0x30]]);
        assert!(CertificateList::parse(&[0, 0, 9, 0]).is_err());
        let l = CertificateList::parse(&[0, 0, 4, 0, 0, 9, 0]).unwrap();
        assert_eq!(l.certs().count(), 0, "a certificate longer than the list");
    }

    #[test]
    fn messages_are_incomplete_until_whole() {
        let m = [1, 0, 0, 2, 9, 9, 5];
        let (msg, n) = Message::parse(&m).unwrap();
        assert_eq!(
            (msg.msg_type, msg.body, n),
            (HandshakeType::CLIENT_HELLO, &[9, 9][..], 6)
        );
        assert_eq!(
            Message::parse(&m[..5]).unwrap_err().kind,
            ErrorKind::Incomplete { needed: 1 }
        );
        assert_eq!(Message::declared_len(&[11, 1, 0, 0]), Some(65540));
    }
}
