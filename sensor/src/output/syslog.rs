//! Alerts as syslog messages (RFC 5424) over UDP or TCP, for SIEMs that take syslog.
//!
//! One alert is one message:
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID alert [callguard@32473 sid="3001" detector="sip-flood" severity="2" src="1.2.3.4" dst="5.6.7.8"] {EVE JSON}
//! ```
//!
//! - PRI is `facility * 8 + severity`; the alert's severity 1 (high) is syslog 2 (critical), 2 (medium) is 4
//!   (warning), 3 (low) is 5 (notice).
//! - TIMESTAMP is the alert's packet time (never the wall clock), RFC 3339 in UTC with microseconds and `Z`.
//! - HOSTNAME is `/proc/sys/kernel/hostname` (`-` when it cannot be read), APP-NAME `callguard` by default,
//!   PROCID the process id, MSGID `alert`. Header fields keep to printable ASCII as the ABNF says (anything
//!   else becomes `_`) and to its lengths (255, 48, 128, 32).
//! - The structured data element's SD-ID `callguard@32473` uses 32473, the enterprise number RFC 5612
//!   reserves for documentation: callguard has no private enterprise number of its own. Parameter values
//!   escape `"`, `\` and `]` with a backslash (RFC 5424 §6.3.3). `src` and `dst` are left out when the alert
//!   has no address.
//! - MSG is the alert's EVE JSON line ([`eve::alert_json`]), with every non-ASCII character written as a JSON
//!   `\uXXXX` escape, so MSG is plain ASCII. It therefore goes WITHOUT the UTF-8 BOM: RFC 5424 §6.4 asks for
//!   the BOM only when MSG is UTF-8 text, ASCII MSG is valid as MSG-ANY, and receivers that parse the JSON
//!   (rsyslog's mmjsonparse, Graylog, Splunk) do not have to strip three stray bytes first.
//!
//! Secrets: MSG and the structured data hold nothing the EVE line does not. SIP `Authorization` responses
//! and SDES keys never reach an alert: the parsers keep them out of evidence (`sip::auth` skips the digest
//! response, `sdp::attr` keeps only the crypto suite), so the EVE line, and this message, cannot carry them.
//!
//! Transport: UDP sends one datagram per message; TCP frames each message with RFC 6587 octet counting
//! (`LEN SP MSG`), connects on the first message, and after an error reconnects with a backoff that starts at
//! 1 s and doubles up to 30 s, keeping the message it could not deliver. Writes time out, so a receiver that
//! stops reading cannot hold the sender for long. A message longer than [`MAX_MESSAGE`] (on either transport)
//! loses its evidence (`"evidence":{"truncated":true}`) so that MSG stays valid JSON, and counts as
//! truncated.
//!
//! The engine thread never waits: [`Syslog::send`] puts a copy of the alert on a bounded queue
//! ([`QUEUE_CAPACITY`]) read by a thread of its own, and when the queue is full the alert is dropped and
//! counted. Every alert given to [`Syslog::send`] ends up counted once, in `sent` or in `dropped`.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callguard_rules::alert::{Alert, Severity};
use callguard_rules::calls::{CallRecord, StreamRecord};
use callguard_rules::engine::TlsRecord;
use callguard_rules::time::PacketTime;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use serde_json::{Value as Json, json};

use crate::output::eve;
use crate::pipeline::{AlertSink, Report};

/// The syslog port (RFC 5426 for UDP; RFC 6587 receivers commonly listen on it for TCP too).
pub const DEFAULT_PORT: u16 = 514;

/// Largest message sent, in bytes: under the 65,507-byte payload of a UDP datagram over IPv4, with room to
/// spare.
pub const MAX_MESSAGE: usize = 65_000;

/// Alerts waiting for the sender thread; more are dropped and counted.
pub const QUEUE_CAPACITY: usize = 10_000;

/// How long one TCP write (or connect) may take before the connection counts as broken.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// The first wait before reconnecting after a TCP error; it doubles after each failure.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);

/// The longest wait between TCP reconnection attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// RFC 5424 §6.2.4: HOSTNAME is at most 255 printable ASCII characters.
pub const HOSTNAME_MAX: usize = 255;
/// RFC 5424 §6.2.5: APP-NAME is at most 48.
pub const APP_NAME_MAX: usize = 48;
/// RFC 5424 §6.2.6: PROCID is at most 128.
pub const PROCID_MAX: usize = 128;
/// RFC 5424 §6.2.7: MSGID is at most 32.
pub const MSGID_MAX: usize = 32;

/// The SD-ID of the structured data element: `callguard` at enterprise number 32473, which RFC 5612
/// reserves for documentation and examples.
pub const SD_ID: &str = "callguard@32473";

/// The MSGID of every message.
pub const MSGID: &str = "alert";

/// How often a waiting sender thread looks at whether [`Syslog::close`] gave up on it.
const POLL: Duration = Duration::from_millis(50);

/// Where the messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogTarget {
    /// One datagram per message.
    Udp(SocketAddr),
    /// A stream with RFC 6587 octet-counting framing.
    Tcp(SocketAddr),
}

impl SyslogTarget {
    /// The receiver's address.
    pub fn addr(&self) -> SocketAddr {
        match self {
            SyslogTarget::Udp(a) | SyslogTarget::Tcp(a) => *a,
        }
    }
}

/// Parses `udp://HOST[:PORT]`, `tcp://HOST[:PORT]` or `HOST[:PORT]` (UDP). The port is 514 when left out;
/// an IPv6 address goes in brackets when a port follows (`tcp://[::1]:6514`). A host name is resolved now,
/// to its first address.
pub fn parse_target(s: &str) -> Result<SyslogTarget, String> {
    let s = s.trim();
    let (tcp, rest) = if let Some(r) = strip_prefix_ignore_case(s, "udp://") {
        (false, r)
    } else if let Some(r) = strip_prefix_ignore_case(s, "tcp://") {
        (true, r)
    } else if s.contains("://") {
        return Err(format!(
            "syslog target {s:?}: the scheme must be udp:// or tcp://"
        ));
    } else {
        (false, s)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = split_host_port(rest).map_err(|e| format!("syslog target {s:?}: {e}"))?;
    let addr = resolve(host, port).map_err(|e| format!("syslog target {s:?}: {e}"))?;
    Ok(if tcp {
        SyslogTarget::Tcp(addr)
    } else {
        SyslogTarget::Udp(addr)
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (no port), resolved; `default` when no
/// port is given. (The HEP sink's targets read the same way.)
pub(crate) fn host_port(s: &str, default: u16) -> Result<SocketAddr, String> {
    let (host, port) = split_host_port_or(s, default)?;
    resolve(host, port)
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address (no port).
fn split_host_port(s: &str) -> Result<(&str, u16), String> {
    split_host_port_or(s, DEFAULT_PORT)
}

fn split_host_port_or(s: &str, default: u16) -> Result<(&str, u16), String> {
    if s.is_empty() {
        return Err("no host".into());
    }
    if let Some(r) = s.strip_prefix('[') {
        let (host, after) = r
            .split_once(']')
            .ok_or_else(|| "unclosed '[' in the host".to_owned())?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{host:?} in brackets is not an IPv6 address"));
        }
        return match after {
            "" => Ok((host, default)),
            p => match p.strip_prefix(':') {
                Some(p) => Ok((host, port(p)?)),
                None => Err(format!("unexpected {after:?} after the address")),
            },
        };
    }
    if s.parse::<Ipv6Addr>().is_ok() {
        return Ok((s, default));
    }
    match s.rsplit_once(':') {
        Some((h, _)) if h.contains(':') => {
            Err("an IPv6 address with a port goes in brackets: [ADDR]:PORT".into())
        }
        Some(("", _)) => Err("no host".into()),
        Some((h, p)) => Ok((h, port(p)?)),
        None => Ok((s, default)),
    }
}

fn port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("bad port {p:?} (1 to 65535)")),
        Ok(n) => Ok(n),
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host:?} has no address"))
}

/// A syslog facility (RFC 5424 §6.2.1 numbers them 0 to 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

/// Facility names, as syslog.h and logger(1) spell them, with their numbers. `security` is the old name of
/// `auth`.
const FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("security", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("ntp", 12),
    ("audit", 13),
    ("alert", 14),
    ("clock", 15),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

impl Facility {
    /// `local0`, the default.
    pub const LOCAL0: Facility = Facility(16);

    /// The facility numbered `n` (0 to 23).
    pub fn from_code(n: u8) -> Option<Facility> {
        (n <= 23).then_some(Facility(n))
    }

    /// Its number.
    pub fn code(self) -> u8 {
        self.0
    }

    /// Its name (`auth` rather than `security`).
    pub fn name(self) -> &'static str {
        FACILITIES
            .iter()
            .find(|(_, c)| *c == self.0)
            .map_or("?", |(n, _)| n)
    }
}

impl Default for Facility {
    fn default() -> Self {
        Facility::LOCAL0
    }
}

impl FromStr for Facility {
    type Err = String;

    /// A name (`local0` .. `local7`, `user`, `daemon`, `auth` or `security`, ...; any case) or a number 0 to 23.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some((_, c)) = FACILITIES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
            return Ok(Facility(*c));
        }
        s.parse::<u8>()
            .ok()
            .and_then(Facility::from_code)
            .ok_or_else(|| {
                let names: Vec<&str> = FACILITIES.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown syslog facility {s:?} (one of {}, or 0 to 23)",
                    names.join(", ")
                )
            })
    }
}

/// The syslog severity of an alert's severity: high is critical (2), medium warning (4), low notice (5).
pub fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::High => 2,
        Severity::Medium => 4,
        Severity::Low => 5,
    }
}

/// Sink settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    /// Where to send.
    pub target: SyslogTarget,
    /// The facility of every message (`local0` by default).
    pub facility: Facility,
    /// APP-NAME (`callguard`).
    pub app_name: String,
    /// HOSTNAME ([`local_hostname`]).
    pub hostname: String,
    /// Alerts that may wait for the sender thread ([`QUEUE_CAPACITY`]).
    pub queue: usize,
}

impl SyslogConfig {
    /// The defaults for `target`: facility `local0`, app name `callguard`, this machine's host name.
    pub fn new(target: SyslogTarget) -> Self {
        Self {
            target,
            facility: Facility::default(),
            app_name: "callguard".into(),
            hostname: local_hostname(),
            queue: QUEUE_CAPACITY,
        }
    }
}

/// This machine's name from `/proc/sys/kernel/hostname`, or `-` (the NILVALUE) when it cannot be read.
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".into())
}

/// A header field as the ABNF wants it: printable US-ASCII (33 to 126; anything else becomes `_`), at most
/// `max` characters, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if out.is_empty() { "-".into() } else { out }
}

/// The fixed part of every message: facility, names, process id.
#[derive(Debug, Clone)]
struct Header {
    facility: Facility,
    hostname: String,
    app_name: String,
    procid: String,
}

impl Header {
    fn new(cfg: &SyslogConfig, procid: u32) -> Self {
        Self {
            facility: cfg.facility,
            hostname: header_field(&cfg.hostname, HOSTNAME_MAX),
            app_name: header_field(&cfg.app_name, APP_NAME_MAX),
            procid: header_field(&procid.to_string(), PROCID_MAX),
        }
    }
}

/// Packet time as an RFC 5424 TIMESTAMP: `2026-01-15T10:00:00.123456Z`.
pub fn timestamp(t: PacketTime) -> String {
    let secs = eve::rfc3339(i64::try_from(t.secs()).unwrap_or(i64::MAX));
    let base = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{base}.{:06}Z", t.subsec_nanos() / 1000)
}

/// Appends `v` as an SD-PARAM value: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3).
pub fn escape_param_value(out: &mut String, v: &str) {
    for c in v.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The structured data element of an alert.
fn structured_data(a: &Alert) -> String {
    let mut sd = String::with_capacity(128);
    sd.push('[');
    sd.push_str(SD_ID);
    let mut param = |name: &str, v: &str| {
        sd.push(' ');
        sd.push_str(name);
        sd.push_str("=\"");
        escape_param_value(&mut sd, v);
        sd.push('"');
    };
    param("sid", &a.meta.sid.to_string());
    param("detector", a.meta.slug);
    param("severity", &a.severity.number().to_string());
    if let Some(ip) = a.src_ip {
        param("src", &ip.to_string());
    }
    if let Some(ip) = a.dest_ip {
        param("dst", &ip.to_string());
    }
    sd.push(']');
    sd
}

/// JSON text with every non-ASCII character as a `\uXXXX` escape (UTF-16 units, as JSON wants). serde_json
/// writes non-ASCII characters only inside strings, where such escapes are valid.
fn ascii_json(v: &Json) -> String {
    let s = v.to_string();
    if s.is_ascii() {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out
}

/// One formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The RFC 5424 message (no framing).
    pub bytes: Vec<u8>,
    /// Whether the evidence was left out (or, failing that, the message cut) to keep it under the cap.
    pub truncated: bool,
}

/// Formats `a` as one RFC 5424 message of at most `max` bytes (see the module documentation).
pub fn format_message(cfg: &SyslogConfig, procid: u32, a: &Alert, max: usize) -> Message {
    format_with(&Header::new(cfg, procid), a, max)
}

fn format_with(h: &Header, a: &Alert, max: usize) -> Message {
    let pri = u16::from(h.facility.code()) * 8 + u16::from(syslog_severity(a.severity));
    let head = format!(
        "<{pri}>1 {} {} {} {} {MSGID} {} ",
        timestamp(a.ts),
        h.hostname,
        h.app_name,
        h.procid,
        structured_data(a),
    );
    let mut eve = eve::alert_json(a);
    let mut msg = ascii_json(&eve);
    let mut truncated = false;
    if head.len() + msg.len() > max {
        truncated = true;
        if let Some(o) = eve.as_object_mut() {
            o.insert("evidence".into(), json!({"truncated": true}));
        }
        msg = ascii_json(&eve);
    }
    let mut bytes = Vec::with_capacity(head.len() + msg.len());
    bytes.extend_from_slice(head.as_bytes());
    bytes.extend_from_slice(msg.as_bytes());
    // Only a header longer than the cap gets here (a tiny cap): everything is ASCII, so any cut is clean.
    if bytes.len() > max {
        truncated = true;
        bytes.truncate(max);
    }
    Message { bytes, truncated }
}

/// What the sink did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyslogStats {
    /// Messages handed to the socket.
    pub sent: u64,
    /// Alerts given up: the queue was full, a UDP send failed, or [`Syslog::close`] ran out of time.
    pub dropped: u64,
    /// Messages sent without their evidence, to keep under [`MAX_MESSAGE`].
    pub truncated: u64,
    /// Failed sends, connects and writes.
    pub errors: u64,
    /// TCP connections made after an error.
    pub reconnects: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
    truncated: AtomicU64,
    errors: AtomicU64,
    reconnects: AtomicU64,
    /// Set by `close`: when the sender thread must stop trying.
    deadline: Mutex<Option<Instant>>,
}

impl Counters {
    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SyslogStats {
        SyslogStats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            truncated: self.truncated.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }

    /// Whether `close` gave up waiting.
    fn expired(&self) -> bool {
        match self.deadline.lock() {
            Ok(d) => d.is_some_and(|d| Instant::now() >= d),
            Err(_) => true,
        }
    }
}

/// Reads a [`Syslog`]'s counters from anywhere.
#[derive(Debug, Clone)]
pub struct StatsHandle(Arc<Counters>);

impl StatsHandle {
    /// The counters now.
    pub fn get(&self) -> SyslogStats {
        self.0.snapshot()
    }
}

/// The syslog sink: a sender thread fed by a bounded queue.
#[derive(Debug)]
pub struct Syslog {
    tx: Option<Sender<Alert>>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

impl Syslog {
    /// Starts the sender thread. UDP binds its socket now (an error here is returned); TCP connects on the
    /// first message.
    pub fn start(cfg: SyslogConfig) -> io::Result<Syslog> {
        let transport = match cfg.target {
            SyslogTarget::Udp(addr) => {
                let local: SocketAddr = if addr.is_ipv4() {
                    (Ipv4Addr::UNSPECIFIED, 0).into()
                } else {
                    (Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let sock = UdpSocket::bind(local)?;
                sock.connect(addr)?;
                Transport::Udp(sock)
            }
            SyslogTarget::Tcp(addr) => Transport::Tcp(Tcp {
                addr,
                stream: None,
                backoff: BACKOFF_MIN,
                next_attempt: None,
                failed: false,
            }),
        };
        let header = Header::new(&cfg, std::process::id());
        let (tx, rx) = crossbeam_channel::bounded::<Alert>(cfg.queue.max(1));
        let (done_tx, done) = crossbeam_channel::bounded::<()>(1);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let thread = std::thread::Builder::new()
            .name("callguard-syslog".into())
            .spawn(move || {
                run(&rx, &header, transport, &c);
                let _ = done_tx.send(());
            })?;
        Ok(Syslog {
            tx: Some(tx),
            counters,
            thread: Some(thread),
            done,
        })
    }

    /// Queues `a` for sending; never waits. A full queue drops it (counted).
    pub fn send(&self, a: &Alert) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(a.clone()) {
            Ok(()) => {}
            // Full, or the thread is gone (it only leaves early when `close` gave up).
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                Counters::bump(&self.counters.dropped);
            }
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> SyslogStats {
        self.counters.snapshot()
    }

    /// A handle that reads the counters from another thread (the metrics endpoint), also after `close`.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(self.counters.clone())
    }

    /// Sends what is queued, waiting at most `timeout` (plus one [`IO_TIMEOUT`] for a write under way and a
    /// second of slack), then joins the thread. What could not be sent in time counts as dropped. Returns the final counters.
    pub fn close(mut self, timeout: Duration) -> SyslogStats {
        let deadline = Instant::now() + timeout;
        if let Ok(mut d) = self.counters.deadline.lock() {
            *d = Some(deadline);
        }
        // Dropping the sender lets the thread end once the queue is empty.
        self.tx = None;
        // The thread looks at the deadline between system calls, the longest of which takes IO_TIMEOUT; the
        // last second is slack for a loaded machine.
        let waited = self
            .done
            .recv_timeout(timeout + IO_TIMEOUT + Duration::from_secs(1));
        // Without the signal the thread is stuck in a system call that will time out; dropping its handle
        // lets it end on its own.
        if let Some(t) = self.thread.take()
            && waited.is_ok()
        {
            let _ = t.join();
        }
        self.counters.snapshot()
    }
}

impl Drop for Syslog {
    /// Dropped without [`Syslog::close`] (an unwinding pipeline): the thread gives up on what is queued at
    /// once, counting it as dropped, instead of retrying a dead receiver for ever.
    fn drop(&mut self) {
        if self.tx.take().is_some()
            && let Ok(mut d) = self.counters.deadline.lock()
        {
            *d = Some(Instant::now());
        }
    }
}

/// The TCP connection and its reconnection state.
#[derive(Debug)]
struct Tcp {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// The wait after the next failure.
    backoff: Duration,
    /// No connection attempt before this.
    next_attempt: Option<Instant>,
    /// An error happened since the last good connection (the next one is a reconnect).
    failed: bool,
}

impl Tcp {
    fn fail(&mut self, c: &Counters) {
        Counters::bump(&c.errors);
        self.stream = None;
        self.failed = true;
        self.next_attempt = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Connects if needed, waiting out the backoff. `None` when `close` gave up first.
    fn connected(&mut self, c: &Counters) -> Option<&mut TcpStream> {
        loop {
            if self.stream.is_some() {
                return self.stream.as_mut();
            }
            if let Some(at) = self.next_attempt {
                while Instant::now() < at {
                    if c.expired() {
                        return None;
                    }
                    std::thread::sleep(POLL.min(at.saturating_duration_since(Instant::now())));
                }
            }
            if c.expired() {
                return None;
            }
            match TcpStream::connect_timeout(&self.addr, IO_TIMEOUT).and_then(|s| {
                s.set_nodelay(true)?;
                Ok(s)
            }) {
                Ok(s) => {
                    if self.failed {
                        Counters::bump(&c.reconnects);
                    }
                    self.failed = false;
                    self.backoff = BACKOFF_MIN;
                    self.next_attempt = None;
                    self.stream = Some(s);
                }
                Err(_) => self.fail(c),
            }
        }
    }

    /// Sends one framed message, reconnecting as often as it takes. `false` when `close` gave up first.
    fn deliver(&mut self, framed: &[u8], c: &Counters) -> bool {
        loop {
            let Some(s) = self.connected(c) else {
                return false;
            };
            match write_within(s, framed, IO_TIMEOUT) {
                Ok(()) => return true,
                Err(_) => self.fail(c),
            }
        }
    }
}

/// Writes all of `buf` within `limit` (all writes together, not each one: a receiver that reads a trickle
/// cannot stretch a message's write without end).
fn write_within(s: &mut TcpStream, buf: &[u8], limit: Duration) -> io::Result<()> {
    let end = Instant::now() + limit;
    let mut rest = buf;
    while !rest.is_empty() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        s.set_write_timeout(Some(left))?;
        match s.write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[derive(Debug)]
enum Transport {
    Udp(UdpSocket),
    Tcp(Tcp),
}

/// The sender thread: formats and sends until the queue is closed and empty, or `close` gives up.
fn run(rx: &Receiver<Alert>, h: &Header, mut t: Transport, c: &Counters) {
    loop {
        let a = match rx.recv_timeout(POLL) {
            Ok(a) => a,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if c.expired() {
            // 1 for this alert, plus what is still queued.
            let left = 1 + rx.try_iter().count() as u64;
            c.dropped.fetch_add(left, Ordering::Relaxed);
            return;
        }
        let m = format_with(h, &a, MAX_MESSAGE);
        let ok = match &mut t {
            Transport::Udp(sock) => match sock.send(&m.bytes) {
                Ok(_) => true,
                Err(_) => {
                    Counters::bump(&c.errors);
                    false
                }
            },
            Transport::Tcp(tcp) => {
                let mut framed = format!("{} ", m.bytes.len()).into_bytes();
                framed.extend_from_slice(&m.bytes);
                tcp.deliver(&framed, c)
            }
        };
        if ok {
            Counters::bump(&c.sent);
            if m.truncated {
                Counters::bump(&c.truncated);
            }
        } else {
            Counters::bump(&c.dropped);
        }
    }
}

/// An [`AlertSink`] that also sends alerts to syslog: `alert` goes to both, everything else to `inner` only.
#[derive(Debug)]
pub struct Tee<S> {
    /// The sink that gets everything (the EVE writer).
    pub inner: S,
    /// The syslog sink, which gets the alerts.
    pub syslog: Syslog,
}

impl<S: AlertSink> AlertSink for Tee<S> {
    fn alert(&mut self, a: &Alert) -> io::Result<()> {
        self.syslog.send(a);
        self.inner.alert(a)
    }

    fn call(&mut self, r: &CallRecord) -> io::Result<()> {
        self.inner.call(r)
    }

    fn stream(&mut self, r: &StreamRecord) -> io::Result<()> {
        self.inner.stream(r)
    }

    fn tls(&mut self, r: &TlsRecord) -> io::Result<()> {
        self.inner.tls(r)
    }

    fn stats(&mut self, r: &Report) -> io::Result<()> {
        self.inner.stats(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.inner.reopen()
    }
}

#[cfg(test)]
mod tests {
    use callguard_rules::alert::{Category, Meta, Value};

    use super::*;

    const META: Meta = Meta {
        sid: 3001,
        slug: "sip-flood",
        category: Category::Dos,
        severity: Severity::Medium,
        signature: "SIP request flood: one method above a rate for several seconds",
    };

    fn alert() -> Alert {
        Alert::new(&META, PacketTime::from_parts(1_768_471_200, 123_456_789))
            .src(Some("1.2.3.4".parse().unwrap()), Some(5060))
            .dest(Some("5.6.7.8".parse().unwrap()), Some(5060))
            .evidence("method", Value::Str("INVITE".into()))
    }

    fn cfg() -> SyslogConfig {
        SyslogConfig {
            target: SyslogTarget::Udp("127.0.0.1:514".parse().unwrap()),
            facility: Facility::LOCAL0,
            app_name: "callguard".into(),
            hostname: "sensor1".into(),
            queue: 8,
        }
    }

    fn text(a: &Alert) -> String {
        String::from_utf8(format_message(&cfg(), 4242, a, MAX_MESSAGE).bytes).unwrap()
    }

    #[test]
    fn a_message_has_the_rfc5424_header_structured_data_and_the_eve_line() {
        let m = text(&alert());
        let (head, msg) = m.split_once("] ").unwrap();
        assert_eq!(
            head,
            "<132>1 2026-01-15T10:00:00.123456Z sensor1 callguard 4242 alert \
             [callguard@32473 sid=\"3001\" detector=\"sip-flood\" severity=\"2\" src=\"1.2.3.4\" dst=\"5.6.7.8\""
        );
        let j: Json = serde_json::from_str(msg).unwrap();
        assert_eq!(j, eve::alert_json(&alert()));
    }

    #[test]
    fn addresses_are_left_out_of_the_structured_data_when_the_alert_has_none() {
        let a = Alert::new(&META, PacketTime::ZERO);
        let m = text(&a);
        assert!(m.starts_with("<132>1 1970-01-01T00:00:00.000000Z sensor1 callguard 4242 alert "));
        assert!(m.contains(" severity=\"2\"] {"), "{m}");
        assert!(!m.contains("src=") && !m.contains("dst="), "{m}");
    }

    #[test]
    fn severities_map_to_critical_warning_and_notice() {
        assert_eq!(syslog_severity(Severity::High), 2);
        assert_eq!(syslog_severity(Severity::Medium), 4);
        assert_eq!(syslog_severity(Severity::Low), 5);
        for (s, pri) in [
            (Severity::High, "<130>"),
            (Severity::Medium, "<132>"),
            (Severity::Low, "<133>"),
        ] {
            assert!(text(&alert().severity(s)).starts_with(pri));
        }
        let mut c = cfg();
        c.facility = "auth".parse().unwrap();
        let m = format_message(&c, 1, &alert().severity(Severity::High), MAX_MESSAGE);
        assert!(m.bytes.starts_with(b"<34>1 "));
    }

    #[test]
    fn facilities_parse_by_name_and_number() {
        assert_eq!(Facility::default().code(), 16);
        for (n, c) in [
            ("local0", 16),
            ("LOCAL7", 23),
            ("user", 1),
            ("daemon", 3),
            ("auth", 4),
            ("security", 4),
            ("authpriv", 10),
            ("kern", 0),
            ("13", 13),
        ] {
            assert_eq!(n.parse::<Facility>().unwrap().code(), c, "{n}");
        }
        assert_eq!("security".parse::<Facility>().unwrap().name(), "auth");
        for bad in ["local8", "24", "", "loc al0"] {
            let e = bad.parse::<Facility>().unwrap_err();
            assert!(e.contains("local0"), "{e}");
        }
    }

    #[test]
    fn sd_param_values_escape_quote_backslash_and_bracket() {
        let mut s = String::new();
        escape_param_value(&mut s, r#"a"b\c]d[e=f é"#);
        assert_eq!(s, r#"a\"b\\c\]d[e=f é"#);
    }

    #[test]
    fn timestamps_are_utc_with_microseconds_and_z() {
        assert_eq!(
            timestamp(PacketTime::from_parts(951_782_400, 999_999_999)),
            "2000-02-29T00:00:00.999999Z"
        );
        assert_eq!(
            timestamp(PacketTime::from_nanos(u64::MAX)),
            "2554-07-21T23:34:33.709551Z"
        );
    }

    #[test]
    fn header_fields_keep_to_printable_ascii_and_their_lengths() {
        let mut c = cfg();
        c.hostname = "h\u{e9}st name".repeat(100);
        c.app_name = String::new();
        let m = String::from_utf8(format_message(&c, 7, &alert(), MAX_MESSAGE).bytes).unwrap();
        let f: Vec<&str> = m.splitn(7, ' ').collect();
        assert_eq!(f[2].len(), HOSTNAME_MAX);
        assert!(f[2].starts_with("h_st_name"));
        assert_eq!(f[3], "-");
        assert_eq!(header_field(&"x".repeat(60), APP_NAME_MAX).len(), 48);
        assert_eq!(header_field("a\tb\u{7f}c", 10), "a_b_c");
    }

    #[test]
    fn non_ascii_evidence_is_escaped_so_msg_is_ascii_json() {
        let a = alert().evidence("user", Value::Str("j\u{f6}rg \u{1f600}".into()));
        let m = format_message(&cfg(), 1, &a, MAX_MESSAGE);
        assert!(m.bytes.is_ascii());
        assert!(!m.bytes.starts_with(b"\xef\xbb\xbf"));
        let s = String::from_utf8(m.bytes).unwrap();
        assert!(s.contains(r#""user":"j\u00f6rg \ud83d\ude00""#), "{s}");
        let (_, msg) = s.split_once("] ").unwrap();
        let j: Json = serde_json::from_str(msg).unwrap();
        assert_eq!(j["evidence"]["user"], "j\u{f6}rg \u{1f600}");
    }

    #[test]
    fn a_message_over_the_cap_loses_its_evidence_and_stays_json() {
        let a = alert().evidence("blob", Value::Str("x".repeat(70_000)));
        let m = format_message(&cfg(), 1, &a, MAX_MESSAGE);
        assert!(m.truncated);
        assert!(m.bytes.len() < 1000);
        let s = String::from_utf8(m.bytes).unwrap();
        let (_, msg) = s.split_once("] ").unwrap();
        let j: Json = serde_json::from_str(msg).unwrap();
        assert_eq!(j["evidence"], json!({"truncated": true}));
        assert_eq!(j["alert"]["signature_id"], 3001);
        let small = format_message(&cfg(), 1, &alert(), MAX_MESSAGE);
        assert!(!small.truncated);
        // A cap below the header itself cuts the message.
        let cut = format_message(&cfg(), 1, &alert(), 40);
        assert!(cut.truncated);
        assert_eq!(cut.bytes.len(), 40);
    }

    #[test]
    fn targets_parse_with_scheme_port_and_brackets() {
        let t = |s: &str| parse_target(s).unwrap();
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            t("udp://127.0.0.1:5514"),
            SyslogTarget::Udp(a("127.0.0.1:5514"))
        );
        assert_eq!(
            t("tcp://10.0.0.1:601"),
            SyslogTarget::Tcp(a("10.0.0.1:601"))
        );
        assert_eq!(t("TCP://10.0.0.1"), SyslogTarget::Tcp(a("10.0.0.1:514")));
        assert_eq!(t("udp://127.0.0.1"), SyslogTarget::Udp(a("127.0.0.1:514")));
        assert_eq!(t("192.0.2.7:1514"), SyslogTarget::Udp(a("192.0.2.7:1514")));
        assert_eq!(t("192.0.2.7"), SyslogTarget::Udp(a("192.0.2.7:514")));
        assert_eq!(t("tcp://[::1]:6514"), SyslogTarget::Tcp(a("[::1]:6514")));
        assert_eq!(
            t("udp://[2001:db8::1]"),
            SyslogTarget::Udp(a("[2001:db8::1]:514"))
        );
        assert_eq!(t("::1"), SyslogTarget::Udp(a("[::1]:514")));
        assert_eq!(t("tcp://localhost:601").addr().port(), 601);
        for bad in [
            "",
            "udp://",
            "http://1.2.3.4",
            "1.2.3.4:0",
            "1.2.3.4:65536",
            "1.2.3.4:x",
            ":514",
            "[::1",
            "[::1]x",
            "[nothost]:514",
            "2001:db8::1:514:",
            "tcp://no-such-host.invalid:514",
        ] {
            assert!(parse_target(bad).is_err(), "{bad:?}");
        }
    }
}
