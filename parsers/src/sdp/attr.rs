//! Attributes (`a=`, RFC 8866 §5.13 and §6): the ones a VoIP sensor reads are typed, the rest stay
//! reachable as [`Attribute::Other`].
//!
//! Secrets never land in a field: [`Crypto`] keeps the SDES tag, suite, key method and counts but not the
//! key material (RFC 4568 §9 warns that the key travels in clear inside the SDP), and `a=ice-pwd` is only
//! noted as present.

use std::fmt;

use super::MAX_FINGERPRINT_LEN;
use super::fields::Connection;
use super::line::{Lines, token, trim};

/// Media direction (RFC 8866 §6.7, RFC 3264 §5.1). A media-level direction overrides the session-level
/// one; with neither, `sendrecv` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`.
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// `a=setup` (RFC 4145 §4, used by DTLS-SRTP in RFC 5763 §5): which side opens the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this side connects.
    Active,
    /// `passive`: this side accepts.
    Passive,
    /// `actpass`: either (offers only).
    ActPass,
    /// `holdconn`: not now.
    HoldConn,
}

impl Setup {
    fn parse(v: &str) -> Option<Self> {
        let v = trim(v);
        [
            ("active", Setup::Active),
            ("passive", Setup::Passive),
            ("actpass", Setup::ActPass),
            ("holdconn", Setup::HoldConn),
        ]
        .into_iter()
        .find_map(|(n, s)| v.eq_ignore_ascii_case(n).then_some(s))
    }

    /// The token as RFC 4145 spells it.
    pub fn name(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// The RTP payload type (0-127).
    pub payload_type: u8,
    /// The encoding name, as written (`PCMU`, `opus`, `telephone-event`).
    pub encoding: &'a str,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// For audio, the number of channels when given.
    pub channels: Option<u16>,
}

impl<'a> Rtpmap<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (pt, r) = token(v)?;
        let (enc, r) = token(r)?;
        if token(r).is_some() {
            return None;
        }
        let payload_type = pt.parse().ok().filter(|p| *p <= 127)?;
        let mut parts = enc.split('/');
        let encoding = parts.next().filter(|e| !e.is_empty())?;
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(c) => Some(c.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            payload_type,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rtpmap:{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (a payload type number for RTP media).
    pub format: &'a str,
    /// The parameters, unparsed (their syntax belongs to each media type).
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (format, r) = token(v)?;
        Some(Self {
            format,
            params: trim(r),
        })
    }

    /// The format as an RTP payload type, when it is one.
    pub fn payload_type(&self) -> Option<u8> {
        self.format.parse().ok().filter(|p| *p <= 127)
    }
}

impl fmt::Display for Fmtp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fmtp:{} {}", self.format, self.params)
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp<'a> {
    /// The RTCP port.
    pub port: u16,
    /// The RTCP address, when it differs from the media's.
    pub connection: Option<Connection<'a>>,
}

impl<'a> Rtcp<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (port, r) = token(v)?;
        let port = port.parse().ok()?;
        let connection = match token(r) {
            None => None,
            Some(_) => Some(Connection::parse(r)?),
        };
        Some(Self { port, connection })
    }
}

impl fmt::Display for Rtcp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rtcp:{}", self.port)?;
        if let Some(c) = &self.connection {
            write!(f, " {c}")?;
        }
        Ok(())
    }
}

/// `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1, SDES).
///
/// Only what is not secret is kept: the tag, the suite, the key method of the first key-param (`inline`)
/// and how many key-params there are. The key and salt, the lifetime and the MKI are never stored, and
/// neither are the session parameters (`FEC_KEY=` carries key-params too); the three session parameters
/// that weaken SRTP are kept as flags. `Debug` and `Display` show a redaction marker in place of the keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Crypto<'a> {
    tag: u32,
    suite: &'a str,
    key_method: &'a str,
    key_params_count: usize,
    session_params_count: usize,
    unencrypted_srtp: bool,
    unencrypted_srtcp: bool,
    unauthenticated_srtp: bool,
}

impl<'a> Crypto<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (tag, r) = token(v)?;
        let (suite, r) = token(r)?;
        let (key_params, r) = token(r)?;
        if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let tag = tag.parse().ok()?;
        let (key_method, _) = key_params.split_once(':')?;
        if key_method.is_empty() {
            return None;
        }
        let key_params_count = key_params.split(';').filter(|p| !p.is_empty()).count();
        let mut session_params_count = 0;
        let (mut unencrypted_srtp, mut unencrypted_srtcp, mut unauthenticated_srtp) =
            (false, false, false);
        for p in r.split_ascii_whitespace() {
            session_params_count += 1;
            match p {
                "UNENCRYPTED_SRTP" => unencrypted_srtp = true,
                "UNENCRYPTED_SRTCP" => unencrypted_srtcp = true,
                "UNAUTHENTICATED_SRTP" => unauthenticated_srtp = true,
                _ => {}
            }
        }
        Some(Self {
            tag,
            suite,
            key_method,
            key_params_count,
            session_params_count,
            unencrypted_srtp,
            unencrypted_srtcp,
            unauthenticated_srtp,
        })
    }

    /// `<tag>`: the decimal number that the answer echoes.
    pub fn tag(&self) -> u32 {
        self.tag
    }

    /// `<crypto-suite>`, as written (`AES_CM_128_HMAC_SHA1_80`).
    pub fn suite(&self) -> &'a str {
        self.suite
    }

    /// The key method of the first key-param (RFC 4568 §9.1: `inline`, the only one defined).
    pub fn key_method(&self) -> &'a str {
        self.key_method
    }

    /// How many `;`-separated key-params the attribute carries (RFC 4568 §9.1 `key-params`).
    pub fn key_params_count(&self) -> usize {
        self.key_params_count
    }

    /// How many session parameters follow the key-params (RFC 4568 §6.3).
    pub fn session_params_count(&self) -> usize {
        self.session_params_count
    }

    /// `UNENCRYPTED_SRTP` is present (RFC 4568 §6.3.3): media goes in clear.
    pub fn unencrypted_srtp(&self) -> bool {
        self.unencrypted_srtp
    }

    /// `UNENCRYPTED_SRTCP` is present (RFC 4568 §6.3.3).
    pub fn unencrypted_srtcp(&self) -> bool {
        self.unencrypted_srtcp
    }

    /// `UNAUTHENTICATED_SRTP` is present (RFC 4568 §6.3.4).
    pub fn unauthenticated_srtp(&self) -> bool {
        self.unauthenticated_srtp
    }
}

impl fmt::Debug for Crypto<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypto")
            .field("tag", &self.tag)
            .field("suite", &self.suite)
            .field("key_method", &self.key_method)
            .field(
                "key_params",
                &format_args!("<{} redacted>", self.key_params_count),
            )
            .field("session_params_count", &self.session_params_count)
            .field("unencrypted_srtp", &self.unencrypted_srtp)
            .field("unencrypted_srtcp", &self.unencrypted_srtcp)
            .field("unauthenticated_srtp", &self.unauthenticated_srtp)
            .finish()
    }
}

impl fmt::Display for Crypto<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "crypto:{} {} {}:<redacted>",
            self.tag, self.suite, self.key_method
        )?;
        if self.key_params_count > 1 {
            write!(f, " (+{} key-params)", self.key_params_count - 1)?;
        }
        Ok(())
    }
}

/// `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122 §5): the hash of the certificate the DTLS or TLS
/// peer will present, as upper-case hex pairs joined by colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// `<hash-func>`, as written (`sha-256`, `SHA-1`).
    pub hash: &'a str,
    /// The hex fingerprint, as written (`4A:AD:...`).
    pub value: &'a str,
}

impl<'a> Fingerprint<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (hash, r) = token(v)?;
        let (value, r) = token(r)?;
        if token(r).is_some() {
            return None;
        }
        Some(Self { hash, value })
    }

    /// Decodes the hex pairs into bytes, without allocating. `None` when a pair is not two hex digits or there
    /// are more than [`MAX_FINGERPRINT_LEN`] of them.
    pub fn decode(&self) -> Option<FingerprintBytes> {
        let mut bytes = [0u8; MAX_FINGERPRINT_LEN];
        let mut n = 0usize;
        for pair in self.value.split(':') {
            let [hi, lo] = pair.as_bytes() else {
                return None;
            };
            let slot = bytes.get_mut(n)?;
            *slot = (hex(*hi)? << 4) | hex(*lo)?;
            n += 1;
        }
        Some(FingerprintBytes {
            bytes,
            len: u8::try_from(n).ok()?,
        })
    }

    /// The digest length the hash function implies (RFC 8122 §5 `hash-func`), when it is one we know.
    pub fn digest_len(&self) -> Option<usize> {
        [
            ("sha-1", 20),
            ("sha-224", 28),
            ("sha-256", 32),
            ("sha-384", 48),
            ("sha-512", 64),
            ("md5", 16),
            ("md2", 16),
        ]
        .into_iter()
        .find_map(|(n, l)| self.hash.eq_ignore_ascii_case(n).then_some(l))
    }

    /// The same hash function and the same fingerprint, ignoring case (RFC 8122 §5: hex is upper-case, but
    /// implementations disagree, and hash names are case-insensitive).
    pub fn matches(&self, other: &Fingerprint<'_>) -> bool {
        self.hash.eq_ignore_ascii_case(other.hash) && self.value.eq_ignore_ascii_case(other.value)
    }

    /// True when the fingerprint decodes to exactly `digest`.
    pub fn matches_digest(&self, digest: &[u8]) -> bool {
        self.decode().is_some_and(|d| d.as_slice() == digest)
    }
}

impl fmt::Display for Fingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fingerprint:{} {}", self.hash, self.value)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A decoded fingerprint: up to [`MAX_FINGERPRINT_LEN`] bytes held inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FingerprintBytes {
    bytes: [u8; MAX_FINGERPRINT_LEN],
    len: u8,
}

impl FingerprintBytes {
    /// The digest bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for FingerprintBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FingerprintBytes({:02x?})", self.as_slice())
    }
}

/// ICE candidate type (RFC 8839 §5.1 `cand-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateType<'a> {
    /// `host`.
    Host,
    /// `srflx`: server reflexive.
    Srflx,
    /// `prflx`: peer reflexive.
    Prflx,
    /// `relay`: a TURN relay.
    Relay,
    /// Anything else, as written.
    Other(&'a str),
}

impl<'a> CandidateType<'a> {
    fn parse(s: &'a str) -> Self {
        match s {
            "host" => CandidateType::Host,
            "srflx" => CandidateType::Srflx,
            "prflx" => CandidateType::Prflx,
            "relay" => CandidateType::Relay,
            other => CandidateType::Other(other),
        }
    }

    /// The token.
    pub fn name(&self) -> &'a str {
        match self {
            CandidateType::Host => "host",
            CandidateType::Srflx => "srflx",
            CandidateType::Prflx => "prflx",
            CandidateType::Relay => "relay",
            CandidateType::Other(s) => s,
        }
    }
}

/// `a=candidate:<foundation> <component-id> <transport> <priority> <connection-address> <port> typ
/// <cand-type> [raddr <addr>] [rport <port>] *(<ext-name> <ext-value>)` (RFC 8839 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// `<foundation>`.
    pub foundation: &'a str,
    /// `<component-id>`: 1 for RTP, 2 for RTCP.
    pub component: u16,
    /// `<transport>`, as written (`UDP`, `udp`, `tcp`).
    pub transport: &'a str,
    /// `<priority>`.
    pub priority: u32,
    /// `<connection-address>`: an address or an FQDN.
    pub address: &'a str,
    /// `<port>`.
    pub port: u16,
    /// `typ <cand-type>`.
    pub kind: CandidateType<'a>,
    /// `raddr <connection-address>`.
    pub related_address: Option<&'a str>,
    /// `rport <port>`.
    pub related_port: Option<u16>,
    /// Whatever extension attributes follow, unparsed (empty when none).
    pub extensions: &'a str,
}

impl<'a> Candidate<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (foundation, r) = token(v)?;
        let (component, r) = token(r)?;
        let (transport, r) = token(r)?;
        let (priority, r) = token(r)?;
        let (address, r) = token(r)?;
        let (port, r) = token(r)?;
        let (typ, r) = token(r)?;
        let (kind, mut rest) = token(r)?;
        if typ != "typ" {
            return None;
        }
        let (mut related_address, mut related_port) = (None, None);
        while let Some((t, r)) = token(rest) {
            match t {
                "raddr" => {
                    let (a, r) = token(r)?;
                    related_address = Some(a);
                    rest = r;
                }
                "rport" => {
                    let (p, r) = token(r)?;
                    related_port = Some(p.parse().ok()?);
                    rest = r;
                }
                _ => break,
            }
        }
        Some(Self {
            foundation,
            component: component.parse().ok()?,
            transport,
            priority: priority.parse().ok()?,
            address,
            port: port.parse().ok()?,
            kind: CandidateType::parse(kind),
            related_address,
            related_port,
            extensions: trim(rest),
        })
    }
}

impl fmt::Display for Candidate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.transport,
            self.priority,
            self.address,
            self.port,
            self.kind.name()
        )?;
        if let Some(a) = self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        if !self.extensions.is_empty() {
            write!(f, " {}", self.extensions)?;
        }
        Ok(())
    }
}

/// `a=zrtp-hash:<zrtp-version> <zrtp-hash-value>` (RFC 6189 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZrtpHash<'a> {
    /// The ZRTP protocol version (`1.10`).
    pub version: &'a str,
    /// The hash of the Hello message, in hex.
    pub hash: &'a str,
}

impl<'a> ZrtpHash<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (version, r) = token(v)?;
        let (hash, r) = token(r)?;
        if token(r).is_some() {
            return None;
        }
        Some(Self { version, hash })
    }
}

impl fmt::Display for ZrtpHash<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zrtp-hash:{} {}", self.version, self.hash)
    }
}

/// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ssrc<'a> {
    /// The synchronization source.
    pub id: u32,
    /// The source attribute name (`cname`, `msid`).
    pub attribute: &'a str,
    /// Its value, when it has one.
    pub value: Option<&'a str>,
}

impl<'a> Ssrc<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (id, r) = token(v)?;
        let r = trim(r);
        let (attribute, value) = match r.split_once(':') {
            Some((a, v)) => (a, Some(v)),
            None => (r, None),
        };
        if attribute.is_empty() {
            return None;
        }
        Some(Self {
            id: id.parse().ok()?,
            attribute,
            value,
        })
    }
}

impl fmt::Display for Ssrc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ssrc:{} {}", self.id, self.attribute)?;
        if let Some(v) = self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// `a=group:<semantics> *(SP <identification-tag>)` (RFC 5888 §5; `BUNDLE` from RFC 9143).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// `<semantics>` (`BUNDLE`, `LS`, `FID`).
    pub semantics: &'a str,
    /// The identification tags (`a=mid` values), space-separated, unparsed.
    pub ids: &'a str,
}

impl<'a> Group<'a> {
    fn parse(v: &'a str) -> Option<Self> {
        let (semantics, r) = token(v)?;
        Some(Self {
            semantics,
            ids: trim(r),
        })
    }

    /// True for `BUNDLE` (RFC 9143).
    pub fn is_bundle(&self) -> bool {
        self.semantics.eq_ignore_ascii_case("BUNDLE")
    }

    /// The identification tags.
    pub fn mids(&self) -> std::str::SplitAsciiWhitespace<'a> {
        self.ids.split_ascii_whitespace()
    }
}

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group:{} {}", self.semantics, self.ids)
    }
}

/// One `a=` line, typed when this crate knows the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attribute<'a> {
    /// `a=rtpmap` (RFC 8866 §6.6).
    Rtpmap(Rtpmap<'a>),
    /// `a=fmtp` (RFC 8866 §6.15).
    Fmtp(Fmtp<'a>),
    /// `a=ptime`, milliseconds (RFC 8866 §6.4); a fractional part is dropped.
    Ptime(u32),
    /// `a=maxptime`, milliseconds (RFC 8866 §6.5); a fractional part is dropped.
    MaxPtime(u32),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive` (RFC 8866 §6.7).
    Direction(Direction),
    /// `a=rtcp` (RFC 3605).
    Rtcp(Rtcp<'a>),
    /// `a=rtcp-mux` (RFC 5761 §5.1.3).
    RtcpMux,
    /// `a=crypto` (RFC 4568), key material left out.
    Crypto(Crypto<'a>),
    /// `a=fingerprint` (RFC 8122 §5).
    Fingerprint(Fingerprint<'a>),
    /// `a=setup` (RFC 4145 §4).
    Setup(Setup),
    /// `a=ice-ufrag` (RFC 8839 §5.4).
    IceUfrag(&'a str),
    /// `a=ice-pwd` (RFC 8839 §5.4): present; the password itself is never kept.
    IcePwd,
    /// `a=ice-lite` (RFC 8839 §5.3).
    IceLite,
    /// `a=candidate` (RFC 8839 §5.1).
    Candidate(Candidate<'a>),
    /// `a=zrtp-hash` (RFC 6189 §8.1).
    ZrtpHash(ZrtpHash<'a>),
    /// `a=mid` (RFC 5888 §4).
    Mid(&'a str),
    /// `a=ssrc` (RFC 5576 §4.1).
    Ssrc(Ssrc<'a>),
    /// `a=label` (RFC 4574).
    Label(&'a str),
    /// `a=group` (RFC 5888 §5).
    Group(Group<'a>),
    /// A known attribute whose value could not be read. The value is not repeated here (it may be a key);
    /// [`super::Session::lines`] still has it.
    Invalid {
        /// The attribute name.
        name: &'a str,
    },
    /// An attribute this crate does not type, as written.
    Other {
        /// The attribute name.
        name: &'a str,
        /// The value after `:`, when there is one.
        value: Option<&'a str>,
    },
}

impl<'a> Attribute<'a> {
    /// Reads the value of an `a=` line (`<attribute-name>[:<attribute-value>]`, RFC 8866 §5.13).
    pub fn parse(text: &'a str) -> Self {
        let (name, value) = match text.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        let typed = match (name, value) {
            ("sendrecv", None) => Some(Attribute::Direction(Direction::SendRecv)),
            ("sendonly", None) => Some(Attribute::Direction(Direction::SendOnly)),
            ("recvonly", None) => Some(Attribute::Direction(Direction::RecvOnly)),
            ("inactive", None) => Some(Attribute::Direction(Direction::Inactive)),
            ("rtcp-mux", None) => Some(Attribute::RtcpMux),
            ("ice-lite", None) => Some(Attribute::IceLite),
            (
                "sendrecv" | "sendonly" | "recvonly" | "inactive" | "rtcp-mux" | "ice-lite",
                Some(_),
            ) => None,
            ("rtpmap", Some(v)) => Rtpmap::parse(v).map(Attribute::Rtpmap),
            ("fmtp", Some(v)) => Fmtp::parse(v).map(Attribute::Fmtp),
            ("ptime", Some(v)) => millis(v).map(Attribute::Ptime),
            ("maxptime", Some(v)) => millis(v).map(Attribute::MaxPtime),
            ("rtcp", Some(v)) => Rtcp::parse(v).map(Attribute::Rtcp),
            ("crypto", Some(v)) => Crypto::parse(v).map(Attribute::Crypto),
            ("fingerprint", Some(v)) => Fingerprint::parse(v).map(Attribute::Fingerprint),
            ("setup", Some(v)) => Setup::parse(v).map(Attribute::Setup),
            ("ice-ufrag", Some(v)) => Some(trim(v))
                .filter(|v| !v.is_empty())
                .map(Attribute::IceUfrag),
            ("ice-pwd", Some(v)) => (!trim(v).is_empty()).then_some(Attribute::IcePwd),
            ("candidate", Some(v)) => Candidate::parse(v).map(Attribute::Candidate),
            ("zrtp-hash", Some(v)) => ZrtpHash::parse(v).map(Attribute::ZrtpHash),
            ("mid", Some(v)) => Some(trim(v)).filter(|v| !v.is_empty()).map(Attribute::Mid),
            ("ssrc", Some(v)) => Ssrc::parse(v).map(Attribute::Ssrc),
            ("label", Some(v)) => Some(trim(v))
                .filter(|v| !v.is_empty())
                .map(Attribute::Label),
            ("group", Some(v)) => Group::parse(v).map(Attribute::Group),
            (
                "rtpmap" | "fmtp" | "ptime" | "maxptime" | "rtcp" | "crypto" | "fingerprint"
                | "setup" | "ice-ufrag" | "ice-pwd" | "candidate" | "zrtp-hash" | "mid" | "ssrc"
                | "label" | "group",
                None,
            ) => None,
            _ => return Attribute::Other { name, value },
        };
        typed.unwrap_or(Attribute::Invalid { name })
    }

    /// The attribute name.
    pub fn name(&self) -> &'a str {
        match self {
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp(_) => "fmtp",
            Attribute::Ptime(_) => "ptime",
            Attribute::MaxPtime(_) => "maxptime",
            Attribute::Direction(d) => d.name(),
            Attribute::Rtcp(_) => "rtcp",
            Attribute::RtcpMux => "rtcp-mux",
            Attribute::Crypto(_) => "crypto",
            Attribute::Fingerprint(_) => "fingerprint",
            Attribute::Setup(_) => "setup",
            Attribute::IceUfrag(_) => "ice-ufrag",
            Attribute::IcePwd => "ice-pwd",
            Attribute::IceLite => "ice-lite",
            Attribute::Candidate(_) => "candidate",
            Attribute::ZrtpHash(_) => "zrtp-hash",
            Attribute::Mid(_) => "mid",
            Attribute::Ssrc(_) => "ssrc",
            Attribute::Label(_) => "label",
            Attribute::Group(_) => "group",
            Attribute::Invalid { name } | Attribute::Other { name, .. } => name,
        }
    }
}

impl fmt::Display for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a=")?;
        match self {
            Attribute::Rtpmap(x) => x.fmt(f),
            Attribute::Fmtp(x) => x.fmt(f),
            Attribute::Ptime(ms) => write!(f, "ptime:{ms}"),
            Attribute::MaxPtime(ms) => write!(f, "maxptime:{ms}"),
            Attribute::Rtcp(x) => x.fmt(f),
            Attribute::Crypto(x) => x.fmt(f),
            Attribute::Fingerprint(x) => x.fmt(f),
            Attribute::Setup(s) => write!(f, "setup:{}", s.name()),
            Attribute::IceUfrag(u) => write!(f, "ice-ufrag:{u}"),
            Attribute::IcePwd => f.write_str("ice-pwd:<redacted>"),
            Attribute::Candidate(x) => x.fmt(f),
            Attribute::ZrtpHash(x) => x.fmt(f),
            Attribute::Mid(m) => write!(f, "mid:{m}"),
            Attribute::Ssrc(x) => x.fmt(f),
            Attribute::Label(l) => write!(f, "label:{l}"),
            Attribute::Group(x) => x.fmt(f),
            Attribute::Invalid { name } => write!(f, "{name}:<invalid>"),
            Attribute::Other {
                name,
                value: Some(v),
            } => write!(f, "{name}:{v}"),
            Attribute::Direction(_)
            | Attribute::RtcpMux
            | Attribute::IceLite
            | Attribute::Other { .. } => f.write_str(self.name()),
        }
    }
}

/// A millisecond count; a fractional part (`20.0`, seen in the wild) is dropped.
fn millis(v: &str) -> Option<u32> {
    let v = trim(v);
    let int = v.split_once('.').map_or(v, |(i, frac)| {
        if frac.bytes().all(|b| b.is_ascii_digit()) {
            i
        } else {
            "x"
        }
    });
    int.parse().ok()
}

/// Iterator over the attributes of one level (the session, or one media section), from
/// [`super::Session::attributes`] or [`super::Media::attributes`]. Lines that are not UTF-8 are skipped.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    lines: Lines<'a>,
}

impl<'a> Attributes<'a> {
    pub(super) fn new(lines: Lines<'a>) -> Self {
        Self { lines }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        self.lines
            .by_ref()
            .filter(|l| l.kind() == Some(b'a'))
            .find_map(|l| l.text())
            .map(Attribute::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_reads_rate_and_channels() {
        assert_eq!(
            Attribute::parse("rtpmap:97 iLBC/8000"),
            Attribute::Rtpmap(Rtpmap {
                payload_type: 97,
                encoding: "iLBC",
                clock_rate: 8000,
                channels: None
            })
        );
        assert_eq!(
            Attribute::parse("rtpmap:111 opus/48000/2"),
            Attribute::Rtpmap(Rtpmap {
                payload_type: 111,
                encoding: "opus",
                clock_rate: 48000,
                channels: Some(2)
            })
        );
        assert_eq!(
            Attribute::parse("rtpmap:31 LPC"),
            Attribute::Invalid { name: "rtpmap" }
        );
        assert_eq!(
            Attribute::parse("rtpmap:128 X/8000"),
            Attribute::Invalid { name: "rtpmap" }
        );
        assert_eq!(
            Attribute::parse("rtpmap:0 PCMU/8000/1/9"),
            Attribute::Invalid { name: "rtpmap" }
        );
    }

    #[test]
    fn fmtp_keeps_the_parameters_as_a_span() {
        let Attribute::Fmtp(f) = Attribute::parse("fmtp:101 0-15") else {
            panic!()
        };
        assert_eq!(
            (f.format, f.params, f.payload_type()),
            ("101", "0-15", Some(101))
        );
        let Attribute::Fmtp(f) = Attribute::parse("fmtp:t38 x") else {
            panic!()
        };
        assert_eq!(f.payload_type(), None);
    }

    #[test]
    fn ptime_accepts_a_fraction_and_rejects_garbage() {
        assert_eq!(Attribute::parse("ptime:20"), Attribute::Ptime(20));
        assert_eq!(Attribute::parse("ptime:20.0"), Attribute::Ptime(20));
        assert_eq!(Attribute::parse("maxptime:40"), Attribute::MaxPtime(40));
        assert_eq!(
            Attribute::parse("ptime:2x"),
            Attribute::Invalid { name: "ptime" }
        );
        assert_eq!(
            Attribute::parse("ptime:20.x"),
            Attribute::Invalid { name: "ptime" }
        );
    }

    #[test]
    fn rtcp_reads_port_and_optional_address() {
        assert_eq!(
            Attribute::parse("rtcp:53020"),
            Attribute::Rtcp(Rtcp {
                port: 53020,
                connection: None
            })
        );
        let Attribute::Rtcp(r) = Attribute::parse("rtcp:53020 IN IP4 126.16.64.4") else {
            panic!()
        };
        assert_eq!(r.connection.unwrap().address, "126.16.64.4");
        assert_eq!(
            Attribute::parse("rtcp:70000"),
            Attribute::Invalid { name: "rtcp" }
        );
    }

    #[test]
    fn crypto_keeps_no_key_material() {
        let line = "crypto:2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP UNENCRYPTED_SRTCP";
        let Attribute::Crypto(c) = Attribute::parse(line) else {
            panic!()
        };
        assert_eq!(
            (c.tag(), c.suite(), c.key_method(), c.key_params_count()),
            (2, "F8_128_HMAC_SHA1_80", "inline", 2)
        );
        assert_eq!(c.session_params_count(), 2);
        assert!(c.unencrypted_srtcp() && !c.unencrypted_srtp() && !c.unauthenticated_srtp());
        for shown in [
            format!("{c:?}"),
            c.to_string(),
            Attribute::Crypto(c).to_string(),
            format!("{:?}", Attribute::Crypto(c)),
        ] {
            assert!(!shown.contains("MTIz"), "{shown}");
            assert!(!shown.contains("QUJj"), "{shown}");
            assert!(!shown.contains("2^20"), "{shown}");
        }
        assert_eq!(
            c.to_string(),
            "crypto:2 F8_128_HMAC_SHA1_80 inline:<redacted> (+1 key-params)"
        );
        assert_eq!(
            Attribute::parse("crypto:x AES inline:KEY"),
            Attribute::Invalid { name: "crypto" }
        );
        assert_eq!(
            Attribute::parse("crypto:1 AES KEYWITHOUTMETHOD"),
            Attribute::Invalid { name: "crypto" }
        );
        assert_eq!(
            Attribute::parse("crypto:1234567890 AES inline:K"),
            Attribute::Invalid { name: "crypto" }
        );
    }

    #[test]
    fn fingerprint_decodes_without_allocating_and_compares_case_insensitively() {
        let Attribute::Fingerprint(f) = Attribute::parse(
            "fingerprint:SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB",
        ) else {
            panic!()
        };
        let d = f.decode().unwrap();
        assert_eq!(d.len(), 20);
        assert_eq!(f.digest_len(), Some(20));
        assert_eq!(&d.as_slice()[..4], &[0x4a, 0xad, 0xb9, 0xb1]);
        let lower = Fingerprint {
            hash: "sha-1",
            value: "4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:e5:7c:ab",
        };
        assert!(f.matches(&lower));
        assert!(lower.matches_digest(d.as_slice()));
        assert!(!f.matches(&Fingerprint {
            hash: "sha-256",
            ..lower
        }));
        assert_eq!(
            Fingerprint {
                hash: "x",
                value: "4A:A"
            }
            .decode(),
            None
        );
        assert_eq!(
            Fingerprint {
                hash: "x",
                value: "4A:ZZ"
            }
            .decode(),
            None
        );
        let long = ["AB"; 65].join(":");
        assert_eq!(
            Fingerprint {
                hash: "x",
                value: &long
            }
            .decode(),
            None
        );
        let max = ["AB"; 64].join(":");
        assert_eq!(
            Fingerprint {
                hash: "x",
                value: &max
            }
            .decode()
            .unwrap()
            .len(),
            64
        );
        // RFC 5763 writes a space after the colon.
        assert!(matches!(
            Attribute::parse("fingerprint: SHA-1 4A:AD"),
            Attribute::Fingerprint(_)
        ));
    }

    #[test]
    fn setup_direction_and_flags() {
        assert_eq!(
            Attribute::parse("setup:actpass"),
            Attribute::Setup(Setup::ActPass)
        );
        assert_eq!(
            Attribute::parse("setup:HOLDCONN"),
            Attribute::Setup(Setup::HoldConn)
        );
        assert_eq!(
            Attribute::parse("setup:later"),
            Attribute::Invalid { name: "setup" }
        );
        assert_eq!(
            Attribute::parse("inactive"),
            Attribute::Direction(Direction::Inactive)
        );
        assert_eq!(
            Attribute::parse("sendonly:x"),
            Attribute::Invalid { name: "sendonly" }
        );
        assert_eq!(Attribute::parse("rtcp-mux"), Attribute::RtcpMux);
    }

    #[test]
    fn ice_password_is_presence_only() {
        assert_eq!(
            Attribute::parse("ice-ufrag:8hhY"),
            Attribute::IceUfrag("8hhY")
        );
        let p = Attribute::parse("ice-pwd:asd88fgpdd777uzjYhagZg");
        assert_eq!(p, Attribute::IcePwd);
        assert!(!format!("{p:?}{p}").contains("asd88"));
        assert_eq!(
            Attribute::parse("ice-pwd:"),
            Attribute::Invalid { name: "ice-pwd" }
        );
    }

    #[test]
    fn candidate_reads_related_address_and_extensions() {
        let Attribute::Candidate(c) = Attribute::parse(
            "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998 generation 0",
        ) else {
            panic!()
        };
        assert_eq!(
            c,
            Candidate {
                foundation: "2",
                component: 1,
                transport: "UDP",
                priority: 1694498815,
                address: "192.0.2.3",
                port: 45664,
                kind: CandidateType::Srflx,
                related_address: Some("203.0.113.141"),
                related_port: Some(8998),
                extensions: "generation 0",
            }
        );
        assert_eq!(
            c.to_string(),
            "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998 generation 0"
        );
        assert_eq!(
            Attribute::parse("candidate:1 1 UDP 1 h 1 host"),
            Attribute::Invalid { name: "candidate" }
        );
        assert_eq!(
            Attribute::parse("candidate:1 1 UDP 1 h 1 typ host rport x"),
            Attribute::Invalid { name: "candidate" }
        );
    }

    #[test]
    fn zrtp_ssrc_mid_label_group() {
        assert_eq!(
            Attribute::parse(
                "zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df"
            ),
            Attribute::ZrtpHash(ZrtpHash {
                version: "1.10",
                hash: "fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df"
            })
        );
        assert_eq!(
            Attribute::parse("ssrc:12345 cname:user@example.com"),
            Attribute::Ssrc(Ssrc {
                id: 12345,
                attribute: "cname",
                value: Some("user@example.com")
            })
        );
        assert_eq!(
            Attribute::parse("ssrc:x cname:y"),
            Attribute::Invalid { name: "ssrc" }
        );
        assert_eq!(Attribute::parse("mid:audio"), Attribute::Mid("audio"));
        assert_eq!(Attribute::parse("label:1"), Attribute::Label("1"));
        let Attribute::Group(g) = Attribute::parse("group:BUNDLE 0 1") else {
            panic!()
        };
        assert!(g.is_bundle());
        assert_eq!(g.mids().collect::<Vec<_>>(), ["0", "1"]);
        assert_eq!(
            Attribute::parse("orient:portrait"),
            Attribute::Other {
                name: "orient",
                value: Some("portrait")
            }
        );
        assert_eq!(Attribute::parse("x-flag").to_string(), "a=x-flag");
    }
}
