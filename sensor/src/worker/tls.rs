//! TLS over TCP and DTLS over UDP, per worker: handshake messages reassembled from records (TLS: records
//! split anywhere across segments, messages across records; DTLS: fragments across records and datagrams,
//! retransmissions dropped by `message_seq`), read with `callguard_parsers::tls`, and summarised as one
//! [`Payload::Tls`] event per handshake.
//!
//! # When a handshake is reported
//!
//! - When the server's flight is known: its Certificate and ServerHelloDone, and, when it sent a
//!   CertificateRequest, the client's Certificate (DTLS-SRTP has both sides send one).
//! - Else at the first sign of encryption on either side: ChangeCipherSpec, an application-data record, a
//!   DTLS record of a later epoch, or a TLS 1.3 ServerHello (everything after it is encrypted, certificates
//!   included: `certs_encrypted`, nothing guessed). A resumed session (ServerHello, then ChangeCipherSpec)
//!   has no certificates.
//! - Else when the connection closes (TCP FIN or RST), its entry idles out or is evicted, or the input
//!   ends, with what was seen (a ClientHello nobody answered).
//!
//! # Bounds
//!
//! A direction holds at most one record being completed ([`MAX_RECORD_LEN`] plus its header) and one
//! handshake message being completed; a direction that sends more than [`MAX_HANDSHAKE_LEN`] bytes of
//! handshake, or a message longer than that, is given up ([`TlsStats::given_up`]) and the handshake is
//! reported with what was seen. DTLS holds at most [`MAX_DTLS_PARTIALS`] messages being reassembled per
//! direction. Both tables ([`MAX_TLS_HANDSHAKES`] over TCP, [`MAX_DTLS_HANDSHAKES`] over UDP) are
//! [`BoundedMap`]s with an idle timeout in packet time; what they evict or expire is reported on its way
//! out.
//!
//! # Events and determinism
//!
//! As in [`super::media`]: an event carries the sequence number and time of the packet that completed it
//! (or closed, or evicted, its handshake); handshakes ended by the once-a-second sweep carry the sweep's
//! sequence number and time, and at the end of input `u64::MAX` and the handshake's last packet time; both
//! are ordered by the handshake's first packet ([`TlsSeen::first_seq`], which `Event::tiebreak` uses).

use std::net::SocketAddr;
use std::time::Duration;

use callguard_parsers::tls::cert::{self, MAX_SAN};
use callguard_parsers::tls::fingerprint::{self, Transport};
use callguard_parsers::tls::handshake::Message;
use callguard_parsers::tls::record::Record;
use callguard_parsers::tls::{
    CertificateList, ClientHello, ContentType, HandshakeType, MAX_CERT_CHAIN, MAX_HANDSHAKE_LEN,
    MAX_RECORD_LEN, ServerHello, TlsVersion, dtls,
};
use callguard_parsers::{ErrorKind, tls::record};
use callguard_rules::event::{CertSeen, Event, Payload, TlsSeen};
use callguard_rules::table::{BoundedMap, TableStats};
use callguard_rules::time::PacketTime;

use super::flow::{FlowKey, Side};

/// TLS handshakes over TCP one worker follows at once (a few KiB each while a message is reassembled;
/// an entry is dropped once its handshake is reported and both sides encrypt).
pub const MAX_TLS_HANDSHAKES: usize = 16_384;
/// DTLS handshakes one worker follows at once.
pub const MAX_DTLS_HANDSHAKES: usize = 4096;
/// A TLS handshake with no segment for this long (packet time) is reported with what was seen and
/// forgotten; the TCP connection's own timeouts are longer.
pub const TLS_IDLE_SECS: u64 = 120;
/// A DTLS handshake with no DTLS record for this long is reported and forgotten. DTLS retransmission timers
/// start at 1 s and double up to 60 s (RFC 6347 §4.2.4.1); an entry outlives them so that a late
/// retransmission of a reported handshake does not start a new one.
pub const DTLS_IDLE_SECS: u64 = 90;
/// DTLS handshake messages being reassembled from fragments at once, per direction.
pub const MAX_DTLS_PARTIALS: usize = 4;
/// Disjoint fragment ranges held per DTLS message being reassembled (a sender that cuts a message into
/// more pieces than this, out of order, is given up).
pub const MAX_DTLS_RANGES: usize = 32;
/// ALPN protocols kept from a ClientHello.
pub const MAX_ALPN: usize = 4;
/// SRTP protection profiles kept from a use_srtp extension.
pub const MAX_SRTP_PROFILES: usize = 8;
/// Longest text kept of an SNI or an ALPN protocol name.
pub const MAX_NAME: usize = 256;

/// What the TLS and DTLS handshake tables did, per worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsStats {
    /// TLS handshakes (over TCP) reported.
    pub handshakes: u64,
    /// DTLS handshakes (over UDP) reported.
    pub dtls_handshakes: u64,
    /// Handshakes reported as TLS 1.3 or DTLS 1.3 (certificates encrypted).
    pub tls13: u64,
    /// Directions given up: a message or a handshake over [`MAX_HANDSHAKE_LEN`], too many DTLS fragments,
    /// or a gap in the TCP stream before the handshake was over.
    pub given_up: u64,
    /// Records, messages or fragments that did not parse (also counted as malformed `tls`).
    pub malformed: u64,
    /// The TLS (TCP) handshake table.
    pub table: TableStats,
    /// The DTLS handshake table.
    pub dtls_table: TableStats,
}

impl TlsStats {
    /// Adds another worker's figures.
    pub fn merge(&mut self, o: &TlsStats) {
        self.handshakes += o.handshakes;
        self.dtls_handshakes += o.dtls_handshakes;
        self.tls13 += o.tls13;
        self.given_up += o.given_up;
        self.malformed += o.malformed;
        self.table.merge(&o.table);
        self.dtls_table.merge(&o.dtls_table);
    }
}

fn cut(s: &str) -> Box<str> {
    let mut end = s.len().min(MAX_NAME);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().into()
}

/// The summary of one DER certificate (its fingerprints even when it does not decode).
fn cert_seen(der: &[u8]) -> (CertSeen, bool) {
    match cert::summarise(der) {
        Ok(c) => (
            CertSeen {
                sha256: c.sha256,
                sha1: c.sha1,
                spki_sha256: c.spki_sha256,
                subject: c.subject.into(),
                issuer: c.issuer.into(),
                serial: c.serial.into(),
                not_before: c.not_before,
                not_after: c.not_after,
                san: c.san.into_iter().take(MAX_SAN).map(Into::into).collect(),
                key_type: c.key_type.into(),
                key_bits: c.key_bits,
                signature_algorithm: c.signature_algorithm.into(),
                self_signed: c.self_signed,
            },
            true,
        ),
        Err(_) => (
            CertSeen {
                sha256: cert::sha256(der),
                sha1: cert::sha1(der),
                ..CertSeen::default()
            },
            false,
        ),
    }
}

/// One handshake as both sides show it, being filled in message by message.
#[derive(Debug, Default)]
pub struct Handshake {
    seen: TlsSeen,
    /// The first ClientHello's random (a later ClientHello with another one starts a new DTLS handshake).
    client_random: Option<[u8; 32]>,
    server_hello: bool,
    server_done: bool,
    cert_requested: bool,
    client_cert: bool,
    emitted: bool,
    /// Time of the handshake's last packet.
    pub last: PacketTime,
}

impl Handshake {
    /// A handshake whose first packet has sequence number `first_seq`.
    pub fn new(first_seq: u64, dtls: bool) -> Self {
        Self {
            seen: TlsSeen {
                dtls,
                first_seq,
                ..TlsSeen::default()
            },
            ..Self::default()
        }
    }

    /// Something was seen worth reporting (a hello from either side).
    fn has_hello(&self) -> bool {
        self.client_random.is_some() || self.server_hello
    }

    /// The client offered TLS 1.3 and the server has not chosen an earlier version.
    fn tls13_possible(&self) -> bool {
        self.seen
            .client_version
            .is_some_and(|v| TlsVersion(v).is_13())
            && self.seen.version.is_none_or(|v| TlsVersion(v).is_13())
    }

    /// Reported already.
    pub fn emitted(&self) -> bool {
        self.emitted
    }

    /// A handshake message from `src` to `dst`; `malformed` counts a message that does not parse.
    pub fn message(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        t: HandshakeType,
        body: &[u8],
        malformed: &mut u64,
    ) {
        let dtls = self.seen.dtls;
        match t {
            HandshakeType::CLIENT_HELLO => {
                let Ok(ch) = ClientHello::parse(body, dtls) else {
                    *malformed += 1;
                    return;
                };
                if self.client_random.is_some() {
                    // A second ClientHello (after a HelloVerifyRequest or a HelloRetryRequest): the
                    // fingerprints stay those of the first.
                    return;
                }
                let mut random = [0u8; 32];
                if let Some(r) = ch.random.get(..32) {
                    random.copy_from_slice(r);
                }
                self.client_random = Some(random);
                if self.seen.client.is_none() {
                    self.seen.client = Some(src);
                    self.seen.server = Some(dst);
                }
                let s = &mut self.seen;
                s.client_version = Some(ch.highest_version().0);
                s.sni = ch.sni().map(cut);
                s.alpn = ch
                    .alpn()
                    .take(MAX_ALPN)
                    .map(|n| cut(&String::from_utf8_lossy(n)))
                    .collect();
                s.srtp_profiles = ch.srtp_profiles().take(MAX_SRTP_PROFILES).collect();
                s.ja3 = Some(fingerprint::ja3(&ch).into());
                let transport = if dtls {
                    Transport::Dtls
                } else {
                    Transport::Tcp
                };
                s.ja4 = Some(fingerprint::ja4(&ch, transport).into());
            }
            HandshakeType::SERVER_HELLO => {
                let Ok(sh) = ServerHello::parse(body) else {
                    *malformed += 1;
                    return;
                };
                if self.seen.client.is_none() {
                    self.seen.client = Some(dst);
                    self.seen.server = Some(src);
                }
                if sh.is_hello_retry_request() {
                    return;
                }
                self.server_hello = true;
                let v = sh.negotiated_version();
                let s = &mut self.seen;
                s.version = Some(v.0);
                s.cipher_suite = Some(sh.cipher_suite.0);
                s.ja3s = Some(fingerprint::ja3s(&sh).into());
                s.srtp_profile = sh.srtp_profile();
                if v.is_13() {
                    s.certs_encrypted = true;
                }
            }
            HandshakeType::CERTIFICATE => {
                let Ok(list) = CertificateList::parse(body) else {
                    *malformed += 1;
                    return;
                };
                let from_server = self.seen.server == Some(src);
                let mut certs = Vec::new();
                for der in list.certs().take(MAX_CERT_CHAIN) {
                    let (c, ok) = cert_seen(der);
                    if !ok {
                        *malformed += 1;
                    }
                    certs.push(c);
                }
                if from_server {
                    self.seen.server_certs = certs;
                } else {
                    self.client_cert = true;
                    self.seen.client_certs = certs;
                }
            }
            HandshakeType::CERTIFICATE_REQUEST if self.seen.server == Some(src) => {
                self.cert_requested = true;
            }
            HandshakeType::SERVER_HELLO_DONE if self.seen.server == Some(src) => {
                self.server_done = true;
            }
            _ => {}
        }
    }

    /// Whether everything this handshake will show in the clear has been seen.
    fn complete(&self) -> bool {
        self.seen.certs_encrypted || self.server_done && (!self.cert_requested || self.client_cert)
    }

    /// The summary, once, if the handshake is complete (or `force`: it is ending or encrypting) and a
    /// hello was seen.
    pub fn take(&mut self, force: bool, stats: &mut TlsStats) -> Option<TlsSeen> {
        if self.emitted || !self.has_hello() || !(force || self.complete()) {
            return None;
        }
        self.emitted = true;
        if self.seen.dtls {
            stats.dtls_handshakes += 1;
        } else {
            stats.handshakes += 1;
        }
        if self.seen.certs_encrypted {
            stats.tls13 += 1;
        }
        Some(std::mem::take(&mut self.seen))
    }
}

/// Where one direction of a TLS stream is.
#[derive(Debug, Default)]
struct TlsDir {
    /// The record being completed (header included).
    record: Vec<u8>,
    /// Handshake bytes of the message being completed (across records).
    message: Vec<u8>,
    /// Handshake bytes this direction has sent so far.
    total: usize,
    /// Encrypting (after ChangeCipherSpec or an encrypted record) or given up: its bytes are only counted.
    stopped: bool,
}

/// A TLS connection being followed: both directions and the handshake.
#[derive(Debug)]
struct TlsConn {
    dirs: [TlsDir; 2],
    hs: Handshake,
}

/// What a TLS direction's bytes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirStep {
    /// Still in the handshake.
    Reading,
    /// Encrypting from here on.
    Encrypted,
    /// Not TLS any more, or over a bound.
    GaveUp,
}

fn dir_index(to_server: bool) -> usize {
    usize::from(!to_server)
}

/// Reads the records and handshake messages in `data` for one direction.
fn read_stream(
    d: &mut TlsDir,
    hs: &mut Handshake,
    (src, dst): (SocketAddr, SocketAddr),
    mut data: &[u8],
    stats: &mut TlsStats,
) -> DirStep {
    loop {
        // Complete the record being held, or read one straight from `data`.
        let held = !d.record.is_empty();
        let owned = if held {
            std::mem::take(&mut d.record)
        } else {
            Vec::new()
        };
        let buf: &[u8] = if held { &owned } else { data };
        let step = match Record::parse(buf) {
            Ok((rec, n)) => {
                let step = match rec.content_type {
                    ContentType::HANDSHAKE => {
                        handshake_bytes(d, hs, (src, dst), rec.fragment, stats)
                    }
                    // TLS 1.3's ChangeCipherSpec is a no-op for middleboxes (RFC 8446 §D.4), sent before a
                    // second ClientHello or after a HelloRetryRequest too: it means encryption only when the
                    // handshake cannot be TLS 1.3.
                    ContentType::CHANGE_CIPHER_SPEC if hs.tls13_possible() => DirStep::Reading,
                    ContentType::CHANGE_CIPHER_SPEC | ContentType::APPLICATION_DATA => {
                        DirStep::Encrypted
                    }
                    _ => DirStep::Reading, // alerts, heartbeats
                };
                if held {
                    // Keep the buffer's capacity for the next record split across segments.
                    d.record = owned;
                    d.record.clear();
                } else {
                    data = data.get(n..).unwrap_or_default();
                }
                step
            }
            Err(e) => match e.kind {
                ErrorKind::Incomplete { needed } => {
                    if held {
                        d.record = owned;
                    }
                    if data.is_empty() {
                        return DirStep::Reading;
                    }
                    // Hold the start of a record: at most a whole one (5 + MAX_RECORD_LEN bytes).
                    let take = if held {
                        needed
                    } else {
                        record::HEADER_LEN + MAX_RECORD_LEN
                    };
                    let (now, later) = data.split_at(take.min(data.len()));
                    d.record.extend_from_slice(now);
                    data = later;
                    continue;
                }
                _ => {
                    stats.malformed += 1;
                    return DirStep::GaveUp;
                }
            },
        };
        if step != DirStep::Reading {
            return step;
        }
        if data.is_empty() && d.record.is_empty() {
            return DirStep::Reading;
        }
    }
}

/// Appends a handshake record's fragment to the message being completed and handles each whole message.
fn handshake_bytes(
    d: &mut TlsDir,
    hs: &mut Handshake,
    (src, dst): (SocketAddr, SocketAddr),
    frag: &[u8],
    stats: &mut TlsStats,
) -> DirStep {
    d.total = d.total.saturating_add(frag.len());
    if d.total > MAX_HANDSHAKE_LEN {
        stats.given_up += 1;
        return DirStep::GaveUp;
    }
    // Whole messages straight from the fragment when nothing is held (the common case: no copy).
    let mut rest = frag;
    if d.message.is_empty() {
        while let Ok((m, n)) = Message::parse(rest) {
            hs.message(src, dst, m.msg_type, m.body, &mut stats.malformed);
            rest = rest.get(n..).unwrap_or_default();
        }
        if rest.is_empty() {
            return DirStep::Reading;
        }
    }
    d.message.extend_from_slice(rest);
    let mut off = 0;
    loop {
        let buf = d.message.get(off..).unwrap_or_default();
        match Message::parse(buf) {
            Ok((m, n)) => {
                hs.message(src, dst, m.msg_type, m.body, &mut stats.malformed);
                off += n;
            }
            Err(_) => {
                if Message::declared_len(buf).is_some_and(|l| l > MAX_HANDSHAKE_LEN) {
                    stats.given_up += 1;
                    return DirStep::GaveUp;
                }
                break;
            }
        }
    }
    d.message.drain(..off.min(d.message.len()));
    DirStep::Reading
}

/// TLS handshakes over TCP, keyed by (client, server) of the connection. The TCP application layer feeds
/// each direction's bytes in order.
#[derive(Debug)]
pub struct TlsStreams {
    conns: BoundedMap<(SocketAddr, SocketAddr), TlsConn>,
    /// Handshakes reported, with the time of their last segment, for the worker to send on.
    pub done: Vec<(TlsSeen, PacketTime)>,
    /// Counters.
    pub stats: TlsStats,
}

impl Default for TlsStreams {
    fn default() -> Self {
        Self {
            conns: BoundedMap::new(MAX_TLS_HANDSHAKES, Duration::from_secs(TLS_IDLE_SECS)),
            done: Vec::new(),
            stats: TlsStats::default(),
        }
    }
}

/// Whether a TLS direction keeps reading after `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Keep handing this direction's bytes.
    More,
    /// Nothing more to read in this direction (encrypted or given up): count its bytes only.
    Stop,
}

impl TlsStreams {
    /// Bytes of one direction of the connection `(client, server)`: `to_server` when the client sent them.
    /// `seq` is the packet's (a new entry's first packet).
    pub fn data(
        &mut self,
        conn: (SocketAddr, SocketAddr),
        to_server: bool,
        seq: u64,
        ts: PacketTime,
        data: &[u8],
    ) -> Follow {
        if self.conns.get(&conn).is_none() && self.conns.len() >= MAX_TLS_HANDSHAKES {
            let mut out = Vec::new();
            self.conns.evict_with(|_, c| out.push(c));
            self.report_all(out, None);
        }
        let c = self.conns.get_or_insert_with(conn, ts, || TlsConn {
            dirs: [TlsDir::default(), TlsDir::default()],
            hs: Handshake::new(seq, false),
        });
        c.hs.last = ts;
        let i = dir_index(to_server);
        let (src, dst) = if to_server { conn } else { (conn.1, conn.0) };
        let Some(d) = c.dirs.get_mut(i) else {
            return Follow::Stop;
        };
        if d.stopped {
            return Follow::Stop;
        }
        let step = read_stream(d, &mut c.hs, (src, dst), data, &mut self.stats);
        let follow = if step == DirStep::Reading {
            Follow::More
        } else {
            d.stopped = true;
            d.record = Vec::new();
            d.message = Vec::new();
            Follow::Stop
        };
        if let Some(s) = c.hs.take(step != DirStep::Reading, &mut self.stats) {
            self.done.push((s, ts));
        }
        if c.hs.emitted() && c.dirs.iter().all(|d| d.stopped) {
            self.conns.remove(&conn);
        }
        follow
    }

    /// A hole in one direction: its next bytes cannot be framed. Stops following it.
    pub fn gap(&mut self, conn: (SocketAddr, SocketAddr), to_server: bool) {
        if let Some(c) = self.conns.get_mut(&conn, PacketTime::ZERO)
            && let Some(d) = c.dirs.get_mut(dir_index(to_server))
            && !d.stopped
        {
            d.stopped = true;
            d.record = Vec::new();
            d.message = Vec::new();
            if !c.hs.emitted() {
                self.stats.given_up += 1;
            }
        }
    }

    /// The connection closed: its handshake is reported with what was seen.
    pub fn close(&mut self, conn: (SocketAddr, SocketAddr)) {
        if let Some(mut c) = self.conns.remove(&conn)
            && let Some(s) = c.hs.take(true, &mut self.stats)
        {
            self.done.push((s, c.hs.last));
        }
    }

    fn report_all(&mut self, mut conns: Vec<TlsConn>, ts: Option<PacketTime>) {
        conns.sort_unstable_by_key(|c| c.hs.seen.first_seq);
        for mut c in conns {
            let last = c.hs.last;
            if let Some(s) = c.hs.take(true, &mut self.stats) {
                self.done.push((s, ts.unwrap_or(last)));
            }
        }
    }

    /// Handshakes idle past [`TLS_IDLE_SECS`] at `now` are reported (time `now`) and forgotten.
    pub fn expire(&mut self, now: PacketTime) {
        let mut out = Vec::new();
        self.conns.expire_with(now, |_, c| out.push(c));
        self.report_all(out, Some(now));
    }

    /// End of input: every handshake still followed is reported (time of its last segment).
    pub fn finish(&mut self) {
        let keys: Vec<(SocketAddr, SocketAddr)> = self.conns.iter().map(|(k, _)| *k).collect();
        let mut out = Vec::new();
        for k in keys {
            if let Some(c) = self.conns.remove(&k) {
                out.push(c);
            }
        }
        self.report_all(out, None);
    }

    /// Counters, with the table's figures.
    pub fn stats(&self) -> TlsStats {
        TlsStats {
            table: self.conns.stats(),
            ..self.stats
        }
    }
}

/// A DTLS handshake message being reassembled from fragments.
#[derive(Debug)]
struct Partial {
    message_seq: u16,
    msg_type: HandshakeType,
    buf: Vec<u8>,
    /// Disjoint, sorted byte ranges received.
    ranges: Vec<(u32, u32)>,
}

impl Partial {
    /// Adds a fragment; false when it does not fit this message or the ranges overflow.
    fn add(&mut self, f: &dtls::Fragment<'_>) -> bool {
        let Ok(len) = u32::try_from(self.buf.len()) else {
            return false;
        };
        if f.length != len || f.msg_type != self.msg_type {
            return false;
        }
        let Ok(n) = u32::try_from(f.body.len()) else {
            return false;
        };
        let (start, end) = (f.offset, f.offset.saturating_add(n));
        let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(end)) else {
            return false;
        };
        let Some(dst) = self.buf.get_mut(s..e) else {
            return false;
        };
        dst.copy_from_slice(f.body);
        self.ranges.push((start, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.ranges.len());
        for &(a, b) in &self.ranges {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
        self.ranges.len() <= MAX_DTLS_RANGES
    }

    fn whole(&self) -> bool {
        matches!(self.ranges.as_slice(), [(0, end)] if usize::try_from(*end).is_ok_and(|e| e == self.buf.len()))
    }
}

/// One direction of a DTLS handshake.
#[derive(Debug, Default)]
struct DtlsDir {
    partials: Vec<Partial>,
    /// Messages handled, by `message_seq` (0-63): retransmissions of them are dropped.
    done: u64,
    /// Handshake bytes buffered so far (bounded by [`MAX_HANDSHAKE_LEN`]).
    total: usize,
    stopped: bool,
}

#[derive(Debug)]
struct DtlsConn {
    dirs: [DtlsDir; 2],
    hs: Handshake,
}

/// DTLS handshakes, keyed by the UDP flow.
#[derive(Debug)]
pub struct DtlsTable {
    conns: BoundedMap<FlowKey, DtlsConn>,
    stats: TlsStats,
    scratch: Vec<(TlsSeen, PacketTime)>,
}

impl Default for DtlsTable {
    fn default() -> Self {
        Self {
            conns: BoundedMap::new(MAX_DTLS_HANDSHAKES, Duration::from_secs(DTLS_IDLE_SECS)),
            stats: TlsStats::default(),
            scratch: Vec::new(),
        }
    }
}

/// Whether a datagram carries a plaintext handshake record (epoch 0): only those start an entry.
fn has_plain_handshake(datagram: &[u8]) -> bool {
    dtls::records(datagram)
        .map_while(Result::ok)
        .any(|r| r.epoch == 0 && r.content_type == ContentType::HANDSHAKE)
}

/// A whole ClientHello at the front of a datagram's first record whose random differs from `random`: a
/// new handshake on the same 5-tuple.
fn new_client_hello(datagram: &[u8], random: Option<[u8; 32]>) -> bool {
    let Some(Ok(rec)) = dtls::records(datagram).next() else {
        return false;
    };
    let Some(Ok(f)) = dtls::fragments(rec.fragment).next() else {
        return false;
    };
    if rec.epoch != 0
        || f.msg_type != HandshakeType::CLIENT_HELLO
        || f.message_seq != 0
        || !f.is_whole()
    {
        return false;
    }
    ClientHello::parse(f.body, true)
        .ok()
        .and_then(|ch| ch.random.get(..32))
        .is_some_and(|r| random.is_some_and(|old| old != r))
}

impl DtlsTable {
    /// A DTLS datagram from `src` to `dst` on `flow` (direction `side`), packet `seq` at `ts`. Handshakes
    /// it completes, and entries it evicts, go to `out`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the decoded layers of one packet, passed apart to avoid a copy"
    )]
    pub fn datagram(
        &mut self,
        seq: u64,
        ts: PacketTime,
        (src, dst): (SocketAddr, SocketAddr),
        flow: FlowKey,
        side: Side,
        payload: &[u8],
        out: &mut Vec<Event>,
    ) {
        let known = self.conns.get(&flow);
        let restart = known.is_some_and(|c| c.hs.emitted())
            && new_client_hello(payload, known.and_then(|c| c.hs.client_random));
        if restart || known.is_none() {
            if !has_plain_handshake(payload) {
                return;
            }
            if restart {
                self.conns.remove(&flow);
            }
            if self.conns.len() >= MAX_DTLS_HANDSHAKES {
                let mut ev = Vec::new();
                self.conns.evict_with(|_, c| ev.push(c));
                self.report(ev, seq, Some(ts), out);
            }
        }
        let c = self.conns.get_or_insert_with(flow, ts, || DtlsConn {
            dirs: [DtlsDir::default(), DtlsDir::default()],
            hs: Handshake::new(seq, true),
        });
        c.hs.last = ts;
        if c.hs.emitted() {
            return;
        }
        let Some(d) = c.dirs.get_mut(side as usize) else {
            return;
        };
        let mut encrypted = false;
        if !d.stopped {
            for rec in dtls::records(payload) {
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        if e.kind == ErrorKind::Unsupported {
                            encrypted = true; // DTLS 1.3 ciphertext
                        } else {
                            self.stats.malformed += 1;
                        }
                        break;
                    }
                };
                if rec.epoch > 0
                    || matches!(
                        rec.content_type,
                        ContentType::CHANGE_CIPHER_SPEC | ContentType::APPLICATION_DATA
                    )
                {
                    encrypted = true;
                    break;
                }
                if rec.content_type != ContentType::HANDSHAKE {
                    continue;
                }
                for f in dtls::fragments(rec.fragment) {
                    let Ok(f) = f else {
                        self.stats.malformed += 1;
                        break;
                    };
                    if !fragment(d, &mut c.hs, (src, dst), &f, &mut self.stats) {
                        d.stopped = true;
                        d.partials = Vec::new();
                        break;
                    }
                }
                if d.stopped {
                    break;
                }
            }
        }
        if let Some(s) = c.hs.take(encrypted, &mut self.stats) {
            out.push(Event {
                seq,
                ts,
                payload: Payload::Tls(Box::new(s)),
            });
            c.dirs = [DtlsDir::default(), DtlsDir::default()];
        }
    }

    fn report(
        &mut self,
        mut conns: Vec<DtlsConn>,
        seq: u64,
        ts: Option<PacketTime>,
        out: &mut Vec<Event>,
    ) {
        conns.sort_unstable_by_key(|c| c.hs.seen.first_seq);
        let mut done = std::mem::take(&mut self.scratch);
        for mut c in conns {
            let last = c.hs.last;
            if let Some(s) = c.hs.take(true, &mut self.stats) {
                done.push((s, ts.unwrap_or(last)));
            }
        }
        for (s, ts) in done.drain(..) {
            out.push(Event {
                seq,
                ts,
                payload: Payload::Tls(Box::new(s)),
            });
        }
        self.scratch = done;
    }

    /// The once-a-second sweep: handshakes idle past [`DTLS_IDLE_SECS`] are reported (if not yet) with
    /// sequence number `seq` and time `now`, by first packet.
    pub fn sweep(&mut self, now: PacketTime, seq: u64, out: &mut Vec<Event>) {
        let mut old = Vec::new();
        self.conns.expire_with(now, |_, c| old.push(c));
        self.report(old, seq, Some(now), out);
    }

    /// End of input: every handshake not reported yet is, with sequence number `u64::MAX`.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let keys: Vec<FlowKey> = self.conns.iter().map(|(k, _)| *k).collect();
        let mut all = Vec::new();
        for k in keys {
            if let Some(c) = self.conns.remove(&k) {
                all.push(c);
            }
        }
        self.report(all, u64::MAX, None, out);
    }

    /// Counters, with the table's figures.
    pub fn stats(&self) -> TlsStats {
        TlsStats {
            dtls_table: self.conns.stats(),
            ..self.stats
        }
    }
}

/// One handshake fragment of a direction: handled at once when whole, else reassembled. False when the
/// direction is given up.
fn fragment(
    d: &mut DtlsDir,
    hs: &mut Handshake,
    (src, dst): (SocketAddr, SocketAddr),
    f: &dtls::Fragment<'_>,
    stats: &mut TlsStats,
) -> bool {
    let bit = 1u64.checked_shl(u32::from(f.message_seq)).unwrap_or(0);
    if bit == 0 || d.done & bit != 0 {
        // A retransmission of a message handled already (or a sequence number past any real handshake).
        return true;
    }
    if f.is_whole() {
        d.done |= bit;
        d.partials.retain(|p| p.message_seq != f.message_seq);
        hs.message(src, dst, f.msg_type, f.body, &mut stats.malformed);
        return true;
    }
    let Ok(len) = usize::try_from(f.length) else {
        return false;
    };
    let at = match d
        .partials
        .iter()
        .position(|p| p.message_seq == f.message_seq)
    {
        Some(i) => i,
        None => {
            d.total = d.total.saturating_add(len);
            if len > MAX_HANDSHAKE_LEN
                || d.total > MAX_HANDSHAKE_LEN
                || d.partials.len() >= MAX_DTLS_PARTIALS
            {
                stats.given_up += 1;
                return false;
            }
            d.partials.push(Partial {
                message_seq: f.message_seq,
                msg_type: f.msg_type,
                buf: vec![0; len],
                ranges: Vec::new(),
            });
            d.partials.len() - 1
        }
    };
    let Some(p) = d.partials.get_mut(at) else {
        return false;
    };
    if !p.add(f) {
        stats.given_up += 1;
        return false;
    }
    if p.whole() {
        let p = d.partials.swap_remove(at);
        d.done |= bit;
        hs.message(src, dst, p.msg_type, &p.buf, &mut stats.malformed);
    }
    true
}

/// Whether `data` starts a TLS stream direction: a handshake record header (the client's ClientHello, or a
/// server's ServerHello), or any record header when the other direction is TLS already.
pub fn starts_tls(data: &[u8], peer_is_tls: bool) -> bool {
    record::probe(data) || peer_is_tls && record::probe_any(data)
}

#[cfg(test)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "builders of short test messages"
)]
mod tests {
    use super::*;

    const SIP_TLS_HELLO: &[u8] =
        include_bytes!("../../../parsers/tests/vectors/tls/client_hello_sip_tls.bin");
    const SIP_TLS_SERVER: &[u8] =
        include_bytes!("../../../parsers/tests/vectors/tls/server_flight_sip_tls.bin");
    const DTLS_HELLO: &[u8] =
        include_bytes!("../../../parsers/tests/vectors/tls/dtls_client_hello.bin");
    const DTLS_SERVER: &[u8] =
        include_bytes!("../../../parsers/tests/vectors/tls/dtls_server_flight.bin");
    const DTLS_CLIENT: &[u8] =
        include_bytes!("../../../parsers/tests/vectors/tls/dtls_client_flight.bin");

    fn client() -> SocketAddr {
        "10.77.0.12:54215".parse().unwrap()
    }
    fn server() -> SocketAddr {
        "10.77.0.1:5061".parse().unwrap()
    }
    const CCS: &[u8] = &[20, 3, 3, 0, 1, 1];

    #[test]
    fn a_tls12_handshake_split_anywhere_is_reported_once_with_its_certificate() {
        let conn = (client(), server());
        for cut in (1..SIP_TLS_SERVER.len()).step_by(7) {
            let mut t = TlsStreams::default();
            assert_eq!(
                t.data(
                    conn,
                    true,
                    1,
                    PacketTime::ZERO,
                    &SIP_TLS_HELLO[..cut.min(SIP_TLS_HELLO.len())]
                ),
                Follow::More
            );
            if cut < SIP_TLS_HELLO.len() {
                t.data(conn, true, 1, PacketTime::ZERO, &SIP_TLS_HELLO[cut..]);
            }
            t.data(conn, false, 2, PacketTime::ZERO, &SIP_TLS_SERVER[..cut]);
            assert!(
                t.done.is_empty(),
                "cut {cut}: not complete before the ServerHelloDone"
            );
            t.data(conn, false, 2, PacketTime::ZERO, &SIP_TLS_SERVER[cut..]);
            assert_eq!(t.done.len(), 1, "cut {cut}");
            let s = &t.done[0].0;
            assert_eq!((s.client, s.server), (Some(client()), Some(server())));
            assert_eq!(s.sni.as_deref(), Some("pbx.lab.callguard"));
            assert_eq!((s.version, s.cipher_suite), (Some(0x0303), Some(0xc030)));
            assert_eq!(s.ja3.as_deref(), Some("871a754af286dfb70c1b53c6887c62e0"));
            assert_eq!(s.ja3s.as_deref(), Some("567bb420d39046dbfd1f68b558d86382"));
            assert_eq!(s.server_certs.len(), 1);
            assert_eq!(s.server_certs[0].sha256[..2], [0xc1, 0xb7]);
            assert!(!s.certs_encrypted);
            // Both sides encrypt: the entry goes.
            assert_eq!(t.data(conn, true, 3, PacketTime::ZERO, CCS), Follow::Stop);
            assert_eq!(t.data(conn, false, 4, PacketTime::ZERO, CCS), Follow::Stop);
            assert_eq!(t.stats().table.len, 0);
            t.close(conn);
            assert_eq!(t.done.len(), 1);
        }
    }

    #[test]
    fn a_tls_stream_byte_by_byte_gives_the_same_handshake() {
        let conn = (client(), server());
        let mut t = TlsStreams::default();
        for b in SIP_TLS_HELLO {
            t.data(conn, true, 1, PacketTime::ZERO, &[*b]);
        }
        for b in SIP_TLS_SERVER {
            t.data(conn, false, 2, PacketTime::ZERO, &[*b]);
        }
        assert_eq!(t.done.len(), 1);
        assert_eq!(t.done[0].0.server_certs.len(), 1);
    }

    /// The server's handshake messages re-cut into records of `n` bytes each.
    fn rerecord(stream: &[u8], n: usize) -> Vec<u8> {
        let mut msgs = Vec::new();
        let mut rest = stream;
        while let Ok((rec, k)) = Record::parse(rest) {
            msgs.extend_from_slice(rec.fragment);
            rest = &rest[k..];
        }
        let mut out = Vec::new();
        for c in msgs.chunks(n) {
            out.extend([22, 3, 3]);
            out.extend((c.len() as u16).to_be_bytes());
            out.extend(c);
        }
        out
    }

    #[test]
    fn messages_spanning_records_are_reassembled() {
        let conn = (client(), server());
        for n in [1, 3, 100, 1000] {
            let mut t = TlsStreams::default();
            t.data(conn, true, 1, PacketTime::ZERO, SIP_TLS_HELLO);
            t.data(
                conn,
                false,
                2,
                PacketTime::ZERO,
                &rerecord(SIP_TLS_SERVER, n),
            );
            assert_eq!(t.done.len(), 1, "records of {n}");
            assert_eq!(t.done[0].0.server_certs.len(), 1);
        }
    }

    #[test]
    fn an_unanswered_hello_is_reported_at_close_and_a_resumption_at_change_cipher_spec() {
        let conn = (client(), server());
        let mut t = TlsStreams::default();
        t.data(conn, true, 1, PacketTime::ZERO, SIP_TLS_HELLO);
        assert!(t.done.is_empty());
        t.close(conn);
        assert_eq!(t.done.len(), 1);
        assert_eq!(t.done[0].0.version, None);
        // ServerHello only, then ChangeCipherSpec.
        let hello_only = {
            let (rec, _) = Record::parse(SIP_TLS_SERVER).unwrap();
            let (m, n) = Message::parse(rec.fragment).unwrap();
            assert_eq!(m.msg_type, HandshakeType::SERVER_HELLO);
            let mut r = vec![22, 3, 3];
            r.extend((n as u16).to_be_bytes());
            r.extend(&rec.fragment[..n]);
            r
        };
        let mut t = TlsStreams::default();
        t.data(conn, true, 1, PacketTime::ZERO, SIP_TLS_HELLO);
        t.data(
            conn,
            false,
            2,
            PacketTime::ZERO,
            &[hello_only, CCS.to_vec()].concat(),
        );
        assert_eq!(t.done.len(), 1);
        assert!(t.done[0].0.server_certs.is_empty());
        assert_eq!(t.done[0].0.cipher_suite, Some(0xc030));
    }

    /// A TLS record of handshake messages (type, body).
    fn handshake_record(msgs: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (t, b) in msgs {
            body.push(*t);
            body.extend(&(b.len() as u32).to_be_bytes()[1..]);
            body.extend(b);
        }
        let mut r = vec![22, 3, 1];
        r.extend((body.len() as u16).to_be_bytes());
        r.extend(body);
        r
    }

    /// A TLS 1.3 ClientHello body (supported_versions 1.3 and 1.2, SNI, ALPN h2).
    fn hello13() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([9u8; 32]);
        b.push(0);
        b.extend([0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0]);
        let mut e = Vec::new();
        e.extend([0, 0, 0, 8, 0, 6, 0, 0, 3, b'a', b'.', b'b']); // server_name a.b
        e.extend([0, 16, 0, 5, 0, 3, 2, b'h', b'2']); // ALPN h2
        e.extend([0, 43, 0, 5, 4, 3, 4, 3, 3]); // supported_versions 1.3, 1.2
        b.extend((e.len() as u16).to_be_bytes());
        b.extend(e);
        b
    }

    /// A ServerHello body choosing TLS_AES_128_GCM_SHA256 with supported_versions `v`; `retry` makes it a
    /// HelloRetryRequest.
    fn server_hello13(v: u16, retry: bool) -> Vec<u8> {
        let mut b = vec![3, 3];
        if retry {
            b.extend(callguard_parsers::tls::handshake::HELLO_RETRY_RANDOM);
        } else {
            b.extend([5u8; 32]);
        }
        b.extend([0, 0x13, 0x01, 0]);
        b.extend([0, 6, 0, 43, 0, 2]);
        b.extend(v.to_be_bytes());
        b
    }

    #[test]
    fn tls13_is_recognised_and_its_certificates_are_said_to_be_encrypted() {
        let conn = (client(), server());
        let mut t = TlsStreams::default();
        t.data(
            conn,
            true,
            1,
            PacketTime::ZERO,
            &handshake_record(&[(1, hello13())]),
        );
        // A HelloRetryRequest reports nothing; the client's second hello changes no fingerprint.
        t.data(
            conn,
            false,
            2,
            PacketTime::ZERO,
            &handshake_record(&[(2, server_hello13(0x0304, true))]),
        );
        assert!(t.done.is_empty());
        t.data(
            conn,
            true,
            3,
            PacketTime::ZERO,
            &[CCS, &handshake_record(&[(1, hello13())])].concat(),
        );
        // The real ServerHello: everything after it is encrypted.
        let mut flight = handshake_record(&[(2, server_hello13(0x0304, false))]);
        flight.extend(CCS);
        flight.extend([23, 3, 3, 0, 4, 1, 2, 3, 4]);
        assert_eq!(
            t.data(conn, false, 4, PacketTime::ZERO, &flight),
            Follow::Stop
        );
        assert_eq!(t.done.len(), 1);
        let s = &t.done[0].0;
        assert_eq!(
            (s.version, s.client_version, s.cipher_suite),
            (Some(0x0304), Some(0x0304), Some(0x1301))
        );
        assert!(s.certs_encrypted && s.server_certs.is_empty());
        assert_eq!(s.sni.as_deref(), Some("a.b"));
        assert_eq!(s.alpn, [Box::<str>::from("h2")]);
        assert!(s.ja4.as_deref().unwrap().starts_with("t13d0203h2_"));
        assert_eq!(t.stats().tls13, 1);
        t.close(conn);
        assert_eq!(t.done.len(), 1);
    }

    #[test]
    fn an_endless_handshake_is_given_up() {
        let conn = (client(), server());
        let mut t = TlsStreams::default();
        // A Certificate message declaring 1 MiB.
        let mut s = vec![22, 3, 3, 0, 4, 11, 0x10, 0, 0];
        s.extend([22, 3, 3, 0x40, 0]);
        s.extend(vec![0u8; 0x4000]);
        assert_eq!(t.data(conn, false, 1, PacketTime::ZERO, &s), Follow::Stop);
        assert_eq!(t.stats().given_up, 1);
        // Garbage is not TLS.
        let mut t = TlsStreams::default();
        assert_eq!(
            t.data(conn, true, 1, PacketTime::ZERO, b"GET / HTTP/1.1\r\n"),
            Follow::Stop
        );
        assert_eq!(t.stats().malformed, 1);
    }

    fn flow() -> (FlowKey, Side, Side) {
        let c: SocketAddr = "10.77.0.12:20020".parse().unwrap();
        let s: SocketAddr = "10.77.0.11:16020".parse().unwrap();
        let (k, cs) = FlowKey::new(c.ip(), c.port(), s.ip(), s.port(), 17);
        let (_, ss) = FlowKey::new(s.ip(), s.port(), c.ip(), c.port(), 17);
        (k, cs, ss)
    }

    fn dtls_pair() -> ((SocketAddr, SocketAddr), (SocketAddr, SocketAddr)) {
        let c: SocketAddr = "10.77.0.12:20020".parse().unwrap();
        let s: SocketAddr = "10.77.0.11:16020".parse().unwrap();
        ((c, s), (s, c))
    }

    #[test]
    fn a_dtls_srtp_handshake_reports_both_certificates_once() {
        let (k, cs, ss) = flow();
        let (up, down) = dtls_pair();
        let mut d = DtlsTable::default();
        let mut out = Vec::new();
        d.datagram(1, PacketTime::ZERO, up, k, cs, DTLS_HELLO, &mut out);
        d.datagram(2, PacketTime::ZERO, up, k, cs, DTLS_HELLO, &mut out);
        d.datagram(3, PacketTime::ZERO, down, k, ss, DTLS_SERVER, &mut out);
        assert!(
            out.is_empty(),
            "the server asked for the client's certificate"
        );
        d.datagram(4, PacketTime::ZERO, up, k, cs, DTLS_CLIENT, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].seq, 4);
        let Payload::Tls(s) = &out[0].payload else {
            panic!()
        };
        assert!(s.dtls);
        assert_eq!(s.first_seq, 1);
        assert_eq!((s.client, s.server), (Some(up.0), Some(up.1)));
        assert_eq!(
            (s.version, s.cipher_suite, s.srtp_profile),
            (Some(0xfefd), Some(0xc030), Some(1))
        );
        assert_eq!((s.server_certs.len(), s.client_certs.len()), (1, 1));
        assert!(s.ja4.as_deref().unwrap().starts_with("dd2i"));
        // A retransmission of the last flight starts nothing.
        d.datagram(5, PacketTime::ZERO, up, k, cs, DTLS_CLIENT, &mut out);
        d.finish(&mut out);
        assert_eq!(out.len(), 1);
    }

    /// A datagram of one handshake record holding `msg` cut at `at` into two fragments, in reverse order.
    fn fragmented(whole: &[u8], parts: usize) -> Vec<Vec<u8>> {
        let rec = dtls::records(whole).next().unwrap().unwrap();
        let f = dtls::fragments(rec.fragment).next().unwrap().unwrap();
        let body = f.body;
        let step = body.len().div_ceil(parts);
        let mut out = Vec::new();
        for (i, c) in body.chunks(step).enumerate().rev() {
            let mut h = vec![f.msg_type.0];
            h.extend(&f.length.to_be_bytes()[1..]);
            h.extend(f.message_seq.to_be_bytes());
            h.extend(&((i * step) as u32).to_be_bytes()[1..]);
            h.extend(&(c.len() as u32).to_be_bytes()[1..]);
            h.extend(c);
            let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, i as u8];
            d.extend((h.len() as u16).to_be_bytes());
            d.extend(h);
            out.push(d);
        }
        out
    }

    #[test]
    fn dtls_fragments_across_datagrams_are_reassembled_in_any_order() {
        let (k, cs, _) = flow();
        let (up, _) = dtls_pair();
        for parts in [2, 3, 7] {
            let mut d = DtlsTable::default();
            let mut out = Vec::new();
            for (i, dg) in fragmented(DTLS_HELLO, parts).iter().enumerate() {
                d.datagram(i as u64 + 1, PacketTime::ZERO, up, k, cs, dg, &mut out);
                d.datagram(i as u64 + 1, PacketTime::ZERO, up, k, cs, dg, &mut out);
            }
            d.finish(&mut out);
            assert_eq!(out.len(), 1, "{parts} parts");
            let Payload::Tls(s) = &out[0].payload else {
                panic!()
            };
            assert_eq!(s.srtp_profiles, [1, 2, 7, 8]);
            assert_eq!(out[0].seq, u64::MAX);
        }
    }

    #[test]
    fn encrypted_dtls_alone_makes_no_entry() {
        let (k, cs, _) = flow();
        let (up, _) = dtls_pair();
        let mut d = DtlsTable::default();
        let mut out = Vec::new();
        let mut enc = vec![23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4];
        enc.extend([1, 2, 3, 4]);
        d.datagram(1, PacketTime::ZERO, up, k, cs, &enc, &mut out);
        assert_eq!(d.stats().dtls_table.len, 0);
        d.finish(&mut out);
        assert!(out.is_empty());
    }
}
