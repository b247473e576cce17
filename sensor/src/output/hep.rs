//! SIP messages to a Homer (or sngrep, heplify-server) collector over HEP version 3 (the Homer Encapsulation
//! Protocol, also called EEP), so that the SIP a sensor sees can be searched and drawn as call flows next to
//! its alerts.
//!
//! One message is one UDP datagram: `HEP3`, its total length, then chunks (vendor 0, type, length, value):
//! IP family (1), IP protocol (2: 17 for UDP, 6 for TCP and WebSocket), source and destination addresses (3/4
//! for IPv4, 5/6 for IPv6), ports (7, 8), the packet time in seconds and microseconds (9, 10; never the wall
//! clock), protocol type 1 (SIP, 11), the capture agent id (12, `--hep-id`) and the message (15).
//!
//! What is sent: every SIP message a worker frames, over UDP, TCP or WebSocket, parsed or not (a collector
//! wants the malformed ones too). Secrets never leave the sensor: before a message is queued, the values of its
//! `Authorization` and `Proxy-Authorization` headers (digest responses, Basic credentials), of
//! `Authentication-Info` and `Proxy-Authentication-Info` (the server's `rspauth`) and, in its body,
//! the keys of `a=crypto` (`inline:` key and salt), `a=ice-pwd` and `k=` lines are overwritten with `*`, byte
//! for byte, so that `Content-Length` and every offset still hold ([`mask_secrets`]).
//!
//! The workers never wait: [`HepHandle::send`] encodes the datagram and puts it on a bounded queue
//! ([`QUEUE_CAPACITY`] datagrams, [`QUEUE_BYTES`] bytes) read by a thread of its own; a full queue drops it,
//! counted. Every message handed
//! over ends up counted once: sent, dropped, or too big (a datagram over [`MAX_DATAGRAM`]).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callguard_rules::event::SipTransport;
use callguard_rules::time::PacketTime;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::output::syslog;

/// Homer's usual HEP port.
pub const DEFAULT_PORT: u16 = 9060;

/// Datagrams waiting for the sender thread; more are dropped and counted.
pub const QUEUE_CAPACITY: usize = 16_384;

/// Bytes waiting for the sender thread, all datagrams together: the queue's memory bound whatever the
/// messages' sizes (a datagram that would pass it is dropped and counted).
pub const QUEUE_BYTES: u64 = 32 << 20;

/// Largest datagram sent: the HEP length field is 16 bits, and an IPv4 UDP payload holds 65,507 bytes.
pub const MAX_DATAGRAM: usize = 65_000;

/// Parses `udp://HOST[:PORT]` or `HOST[:PORT]` (port 9060 when left out; IPv6 literals in brackets).
pub fn parse_target(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    let rest = match t.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("udp") => rest,
        Some(_) => return Err(format!("HEP target {s:?}: the scheme must be udp://")),
        None => t,
    };
    syslog::host_port(rest.strip_suffix('/').unwrap_or(rest), DEFAULT_PORT)
        .map_err(|e| format!("HEP target {s:?}: {e}"))
}

/// Overwrites with `*` the secrets in a SIP message: the values of `Authorization`, `Proxy-Authorization`,
/// `Authentication-Info` and `Proxy-Authentication-Info` header lines (and their continuation lines), and in the body the key of every `inline:` in an `a=crypto`
/// line and the values of `a=ice-pwd` and `k=` lines. Lengths do not change. Works on bytes, so it masks a
/// message that does not parse too.
pub fn mask_secrets(msg: &mut [u8]) {
    let mut in_body = false;
    let mut masking_header = false;
    let mut start = 0;
    while start < msg.len() {
        let end = msg
            .get(start..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
            .map_or(msg.len(), |p| start + p);
        let Some(line) = msg.get_mut(start..end) else {
            break;
        };
        let content_len = line.strip_suffix(b"\r").map_or(line.len(), <[u8]>::len);
        let Some(content) = line.get_mut(..content_len) else {
            break;
        };
        if in_body {
            mask_body_line(content);
        } else if content.is_empty() {
            in_body = true;
        } else if matches!(content.first(), Some(b' ' | b'\t')) {
            if masking_header {
                mask_all(content);
            }
        } else {
            masking_header = mask_header_line(content);
        }
        start = end + 1;
    }
}

fn mask_all(b: &mut [u8]) {
    for c in b.iter_mut().filter(|c| !c.is_ascii_whitespace()) {
        *c = b'*';
    }
}

/// Masks the value of an `Authorization`, `Proxy-Authorization`, `Authentication-Info` or
/// `Proxy-Authentication-Info` line; whether it was one.
fn mask_header_line(line: &mut [u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default().trim_ascii();
    // The credentials, and the server's `rspauth` (RFC 2617 §3.2.3), which a dictionary attack can test
    // passwords against as well as a response.
    let secret = [
        &b"authorization"[..],
        b"proxy-authorization",
        b"authentication-info",
        b"proxy-authentication-info",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n));
    if secret && let Some(v) = line.get_mut(colon + 1..) {
        mask_all(v);
    }
    secret
}

/// Masks the keys of one SDP line.
fn mask_body_line(line: &mut [u8]) {
    if line.starts_with(b"a=crypto:") {
        // Every `inline:KEY` up to `|` (lifetime, MKI), `;` (the next key-params) or white space.
        let mut i = 0;
        while let Some(p) = line.get(i..).and_then(|r| {
            r.windows(7)
                .position(|w| w.eq_ignore_ascii_case(b"inline:"))
        }) {
            let mut j = i + p + 7;
            while let Some(c) = line.get_mut(j) {
                if matches!(*c, b'|' | b';' | b' ' | b'\t') {
                    break;
                }
                *c = b'*';
                j += 1;
            }
            i = j;
        }
    } else if let Some(v) = line
        .strip_prefix(b"a=ice-pwd:")
        .map(<[u8]>::len)
        .or_else(|| line.strip_prefix(b"k=").map(<[u8]>::len))
    {
        let from = line.len() - v;
        if let Some(val) = line.get_mut(from..) {
            mask_all(val);
        }
    }
}

/// Appends one chunk (vendor 0) to `out`.
fn chunk(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(6 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
}

/// Encodes one SIP message as a HEP3 datagram into `out` (cleared first), masking its secrets. `false` when
/// it would be longer than [`MAX_DATAGRAM`] (nothing to send).
pub fn encode(
    out: &mut Vec<u8>,
    capture_id: u32,
    ts: PacketTime,
    src: SocketAddr,
    dst: SocketAddr,
    transport: SipTransport,
    msg: &[u8],
) -> bool {
    out.clear();
    out.extend_from_slice(b"HEP3\0\0");
    let family: u8 = if src.is_ipv4() { 2 } else { 10 };
    chunk(out, 0x0001, &[family]);
    let proto: u8 = match transport {
        SipTransport::Udp => 17,
        SipTransport::Tcp | SipTransport::Ws => 6,
    };
    chunk(out, 0x0002, &[proto]);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            chunk(out, 0x0003, &s.octets());
            chunk(out, 0x0004, &d.octets());
        }
        (s, d) => {
            chunk(out, 0x0005, &v6(s));
            chunk(out, 0x0006, &v6(d));
        }
    }
    chunk(out, 0x0007, &src.port().to_be_bytes());
    chunk(out, 0x0008, &dst.port().to_be_bytes());
    let nanos = ts.as_nanos();
    let secs = u32::try_from(nanos / 1_000_000_000).unwrap_or(u32::MAX);
    let micros = u32::try_from(nanos % 1_000_000_000 / 1_000).unwrap_or(0);
    chunk(out, 0x0009, &secs.to_be_bytes());
    chunk(out, 0x000a, &micros.to_be_bytes());
    chunk(out, 0x000b, &[1]);
    chunk(out, 0x000c, &capture_id.to_be_bytes());
    if out.len() + 6 + msg.len() > MAX_DATAGRAM {
        return false;
    }
    let at = out.len() + 6;
    chunk(out, 0x000f, msg);
    if let Some(m) = out.get_mut(at..) {
        mask_secrets(m);
    }
    let total = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    if let Some(len) = out.get_mut(4..6) {
        len.copy_from_slice(&total);
    }
    true
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}

/// The sink's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HepStats {
    /// Datagrams handed to the socket.
    pub sent: u64,
    /// Messages given up: the queue was full, a send failed, or [`Hep::close`] ran out of time.
    pub dropped: u64,
    /// Messages too long for one datagram.
    pub too_big: u64,
    /// Failed sends.
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
    too_big: AtomicU64,
    errors: AtomicU64,
    /// Bytes in the queue now.
    queued: AtomicU64,
    /// Set by [`Hep::close`] when its time is up: the sender stops at once.
    abort: std::sync::atomic::AtomicBool,
}

impl Counters {
    fn get(&self) -> HepStats {
        HepStats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            too_big: self.too_big.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// What a worker holds to send SIP messages: cheap to clone.
#[derive(Debug, Clone)]
pub struct HepHandle {
    tx: Sender<Vec<u8>>,
    capture_id: u32,
    counters: Arc<Counters>,
}

impl HepHandle {
    /// Encodes `msg` (masking its secrets) and queues it, or counts why it was not.
    pub fn send(
        &self,
        ts: PacketTime,
        src: SocketAddr,
        dst: SocketAddr,
        transport: SipTransport,
        msg: &[u8],
    ) {
        let mut buf = Vec::with_capacity(msg.len() + 96);
        if !encode(&mut buf, self.capture_id, ts, src, dst, transport, msg) {
            self.counters.too_big.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let len = buf.len() as u64;
        if self.counters.queued.fetch_add(len, Ordering::Relaxed) + len > QUEUE_BYTES {
            self.counters.queued.fetch_sub(len, Ordering::Relaxed);
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.tx.try_send(buf) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.queued.fetch_sub(len, Ordering::Relaxed);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Reads the counters of a running sink (for the metrics endpoint).
#[derive(Debug, Clone)]
pub struct HepStatsHandle(Arc<Counters>);

impl HepStatsHandle {
    /// The counters now.
    pub fn get(&self) -> HepStats {
        self.0.get()
    }
}

/// The sink: a UDP socket and the thread that sends from the queue.
#[derive(Debug)]
pub struct Hep {
    handle: HepHandle,
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
    target: SocketAddr,
}

impl Hep {
    /// Opens a UDP socket towards `target` and starts the sender thread.
    pub fn start(target: SocketAddr, capture_id: u32) -> std::io::Result<Hep> {
        let bind: SocketAddr = if target.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sock = UdpSocket::bind(bind)?;
        sock.connect(target)?;
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(QUEUE_CAPACITY);
        let (stop, stop_rx) = crossbeam_channel::bounded::<()>(1);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let thread = std::thread::Builder::new()
            .name("cg-hep".into())
            .spawn(move || sender(&sock, &rx, &stop_rx, &c))?;
        Ok(Hep {
            handle: HepHandle {
                tx,
                capture_id,
                counters,
            },
            stop,
            thread: Some(thread),
            target,
        })
    }

    /// Where it sends.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// A handle for a worker.
    pub fn handle(&self) -> HepHandle {
        self.handle.clone()
    }

    /// Follows the counters.
    pub fn stats_handle(&self) -> HepStatsHandle {
        HepStatsHandle(self.handle.counters.clone())
    }

    /// Sends what is queued, for at most `limit` (what is left then is dropped, counted), and stops.
    pub fn close(mut self, limit: Duration) -> HepStats {
        let _ = self.stop.try_send(());
        let deadline = Instant::now() + limit;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            // Out of time: the sender stops after the datagram in hand, so what is left is counted once.
            self.handle.counters.abort.store(true, Ordering::Relaxed);
            let _ = t.join();
        }
        // Whatever is still queued will not be sent.
        let left = self.handle.tx.len() as u64;
        self.handle
            .counters
            .dropped
            .fetch_add(left, Ordering::Relaxed);
        self.handle.counters.get()
    }
}

fn sender(sock: &UdpSocket, rx: &Receiver<Vec<u8>>, stop: &Receiver<()>, c: &Counters) {
    let mut stopping = false;
    loop {
        if c.abort.load(Ordering::Relaxed) {
            return;
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(d) => {
                c.queued.fetch_sub(d.len() as u64, Ordering::Relaxed);
                if sock.send(&d).is_ok() {
                    c.sent.fetch_add(1, Ordering::Relaxed);
                } else {
                    c.errors.fetch_add(1, Ordering::Relaxed);
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(RecvTimeoutError::Timeout) if stopping => return,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if !stopping && stop.try_recv().is_ok() {
            stopping = true;
        }
        if stopping && rx.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> String {
        let mut b = s.as_bytes().to_vec();
        mask_secrets(&mut b);
        assert_eq!(b.len(), s.len());
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn credentials_and_keys_are_masked_and_nothing_else() {
        let msg = "REGISTER sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nAuthorization: Digest username=\"1001\", \
                   response=\"6629fae49393a05397450978507c4ef1\"\r\n  , nonce=\"x\"\r\nproxy-authorization : Basic \
                   QWxhZGRpbjpvcGVu\r\nAuthentication-Info: rspauth=\"9f2a\"\r\nContent-Length: 60\r\n\r\nv=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 \
                   inline:S3cr3tK3y|2^20|1:32;inline:Other\r\na=ice-pwd:pw\r\nk=clear:x\r\n";
        let m = masked(msg);
        for secret in [
            "6629fae4",
            "username",
            "QWxhZGRp",
            "S3cr3tK3y",
            "Other",
            "nonce",
            "ice-pwd:pw",
            "clear:x",
            "9f2a",
        ] {
            assert!(!m.contains(secret), "{secret} in {m}");
        }
        assert!(m.contains("Via: SIP/2.0/UDP 10.0.0.1\r\n"));
        assert!(m.contains("Authorization:"));
        assert!(m.contains("inline:*********|2^20|1:32;inline:*****\r\n"));
        assert!(m.contains("a=ice-pwd:**\r\nk=*******\r\n"));
        // The header section ends where it did; the body keeps its length.
        assert_eq!(m.find("\r\n\r\n"), msg.find("\r\n\r\n"));
        // Nothing to mask, nothing changed (bare LF line ends too).
        let plain = "OPTIONS sip:x SIP/2.0\nCall-ID: a\n\nAuthorization: not a header here\n";
        assert_eq!(masked(plain), plain);
    }

    /// Reads the chunks of a datagram: (type, value).
    fn chunks(d: &[u8]) -> Vec<(u16, Vec<u8>)> {
        assert_eq!(&d[..4], b"HEP3");
        assert_eq!(usize::from(u16::from_be_bytes([d[4], d[5]])), d.len());
        let mut out = Vec::new();
        let mut i = 6;
        while i < d.len() {
            assert_eq!(&d[i..i + 2], &[0, 0], "vendor 0");
            let kind = u16::from_be_bytes([d[i + 2], d[i + 3]]);
            let len = usize::from(u16::from_be_bytes([d[i + 4], d[i + 5]]));
            out.push((kind, d[i + 6..i + len].to_vec()));
            i += len;
        }
        out
    }

    #[test]
    fn a_datagram_holds_the_addresses_the_packet_time_and_the_masked_message() {
        let mut d = Vec::new();
        let msg =
            b"INVITE sip:1002@x SIP/2.0\r\nProxy-Authorization: Digest response=\"abc\"\r\n\r\n";
        let ts = PacketTime::from_nanos(1_700_000_000_123_456_789);
        let src: SocketAddr = "10.77.0.11:5060".parse().unwrap();
        let dst: SocketAddr = "10.77.0.1:5060".parse().unwrap();
        assert!(encode(&mut d, 7, ts, src, dst, SipTransport::Udp, msg));
        let c = chunks(&d);
        let get = |k: u16| c.iter().find(|(t, _)| *t == k).unwrap().1.clone();
        assert_eq!(get(1), [2]);
        assert_eq!(get(2), [17]);
        assert_eq!(get(3), [10, 77, 0, 11]);
        assert_eq!(get(4), [10, 77, 0, 1]);
        assert_eq!(get(7), 5060u16.to_be_bytes());
        assert_eq!(get(9), 1_700_000_000u32.to_be_bytes());
        assert_eq!(get(10), 123_456u32.to_be_bytes());
        assert_eq!(get(11), [1]);
        assert_eq!(get(12), 7u32.to_be_bytes());
        let payload = String::from_utf8(get(15)).unwrap();
        assert!(payload.starts_with("INVITE sip:1002@x SIP/2.0\r\nProxy-Authorization:"));
        assert!(!payload.contains("abc"));
        // IPv6 and TCP.
        let src6: SocketAddr = "[2001:db8::1]:5061".parse().unwrap();
        let dst6: SocketAddr = "[2001:db8::2]:5060".parse().unwrap();
        assert!(encode(
            &mut d,
            0,
            ts,
            src6,
            dst6,
            SipTransport::Tcp,
            b"SIP/2.0 200 OK\r\n\r\n"
        ));
        let c = chunks(&d);
        assert!(c.contains(&(1, vec![10])) && c.contains(&(2, vec![6])));
        assert!(
            c.contains(&(
                5,
                "2001:db8::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets()
                    .to_vec()
            ))
        );
        // Too big for a datagram: nothing.
        assert!(!encode(
            &mut d,
            0,
            ts,
            src,
            dst,
            SipTransport::Udp,
            &vec![b'x'; MAX_DATAGRAM]
        ));
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_as_well_as_in_datagrams() {
        // A handle whose sender thread never reads: big messages fill the byte bound long before the count.
        let (tx, _rx) = crossbeam_channel::bounded::<Vec<u8>>(QUEUE_CAPACITY);
        let h = HepHandle {
            tx,
            capture_id: 0,
            counters: Arc::new(Counters::default()),
        };
        let src: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let msg = vec![b'x'; 60_000];
        for _ in 0..1000 {
            h.send(PacketTime::ZERO, src, src, SipTransport::Udp, &msg);
        }
        let st = h.counters.get();
        let queued = h.counters.queued.load(Ordering::Relaxed);
        assert!(queued <= QUEUE_BYTES, "{queued}");
        assert_eq!(h.tx.len() as u64 + st.dropped, 1000);
        assert!(st.dropped > 400, "{st:?}");
    }

    #[test]
    fn targets_take_udp_or_a_bare_address() {
        assert_eq!(
            parse_target("udp://127.0.0.1:9061").unwrap(),
            "127.0.0.1:9061".parse().unwrap()
        );
        assert_eq!(
            parse_target("127.0.0.1").unwrap(),
            "127.0.0.1:9060".parse().unwrap()
        );
        assert_eq!(
            parse_target("[::1]:9062").unwrap(),
            "[::1]:9062".parse().unwrap()
        );
        assert!(parse_target("tcp://127.0.0.1:9060").is_err());
    }
}
