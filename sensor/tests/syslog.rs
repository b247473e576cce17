//! The syslog sink against real receivers on 127.0.0.1: UDP datagrams and TCP octet-counted frames, each
//! read back by a strict RFC 5424 parser; a TCP receiver that comes up late; one that never reads; and a
//! capture whose SIP carries an SDES key and a digest response, run through the pipeline with the sink
//! teed in, whose secrets must not reach the receiver.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use callguard::capture;
use callguard::output::eve::EveWriter;
use callguard::output::syslog::{
    Facility, MAX_MESSAGE, Syslog, SyslogConfig, SyslogStats, SyslogTarget, Tee,
};
use callguard::pipeline::{self, Options, QueueMode};
use callguard_rules::alert::{Alert, Meta, Severity, Value};
use callguard_rules::config::Config;
use callguard_rules::detectors::{sdes_key_exposed, sip_bruteforce, sip_flood, weak_auth};
use callguard_rules::time::PacketTime;
use serde_json::Value as Json;

// ---------------------------------------------------------------------------------------------------------
// A strict RFC 5424 parser (only what the sink may write: version 1, a full timestamp, one SD element).

#[derive(Debug)]
struct Parsed {
    facility: u8,
    severity: u8,
    timestamp: String,
    hostname: String,
    app_name: String,
    procid: String,
    msgid: String,
    sd_id: String,
    params: Vec<(String, String)>,
    msg: Json,
}

impl Parsed {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits off one header field (printable ASCII, 1 to `max` characters) and the space after it.
fn field<'a>(s: &'a [u8], max: usize, what: &str) -> (&'a str, &'a [u8]) {
    let end = s
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or_else(|| panic!("{what}: no space"));
    let f = &s[..end];
    assert!(
        !f.is_empty() && f.len() <= max,
        "{what}: length {}",
        f.len()
    );
    assert!(
        f.iter().all(|b| (33..=126).contains(b)),
        "{what}: not printable ASCII"
    );
    (std::str::from_utf8(f).unwrap(), &s[end + 1..])
}

fn check_timestamp(t: &str) {
    // 2026-01-15T10:00:00.123456Z
    let b = t.as_bytes();
    assert_eq!(b.len(), 27, "timestamp {t}");
    for (i, c) in b.iter().enumerate() {
        let want = match i {
            4 | 7 => b'-',
            10 => b'T',
            13 | 16 => b':',
            19 => b'.',
            26 => b'Z',
            _ => {
                assert!(c.is_ascii_digit(), "timestamp {t}");
                continue;
            }
        };
        assert_eq!(*c, want, "timestamp {t}");
    }
    let n = |r: std::ops::Range<usize>| t[r].parse::<u32>().unwrap();
    assert!(
        (1..=12).contains(&n(5..7)) && (1..=31).contains(&n(8..10)),
        "{t}"
    );
    assert!(n(11..13) < 24 && n(14..16) < 60 && n(17..19) < 60, "{t}");
}

/// Parses `[ID name="value" ...]`, undoing the escapes; returns the rest.
fn sd_element(s: &[u8]) -> (String, Vec<(String, String)>, &[u8]) {
    assert_eq!(s[0], b'[', "no SD element");
    let mut i = 1;
    let name = |i: &mut usize| {
        let start = *i;
        while !matches!(s[*i], b' ' | b'=' | b']' | b'"') {
            assert!((33..=126).contains(&s[*i]), "SD-NAME byte {}", s[*i]);
            *i += 1;
        }
        assert!(*i > start && *i - start <= 32, "SD-NAME length");
        String::from_utf8(s[start..*i].to_vec()).unwrap()
    };
    let id = name(&mut i);
    let mut params = Vec::new();
    loop {
        match s[i] {
            b']' => break,
            b' ' => i += 1,
            b => panic!("unexpected {:?} in the SD element", b as char),
        }
        let n = name(&mut i);
        assert_eq!(&s[i..i + 2], b"=\"", "PARAM-NAME without =\"");
        i += 2;
        let mut v = Vec::new();
        loop {
            match s[i] {
                b'"' => break,
                b'\\' if matches!(s[i + 1], b'"' | b'\\' | b']') => {
                    v.push(s[i + 1]);
                    i += 2;
                }
                b']' => panic!("unescaped ] in a PARAM-VALUE"),
                b => {
                    v.push(b);
                    i += 1;
                }
            }
        }
        i += 1;
        params.push((n, String::from_utf8(v).unwrap()));
    }
    (id, params, &s[i + 1..])
}

fn parse(m: &[u8]) -> Parsed {
    assert_eq!(m[0], b'<', "no PRI");
    let close = m.iter().position(|&b| b == b'>').unwrap();
    let digits = std::str::from_utf8(&m[1..close]).unwrap();
    assert!(
        (1..=3).contains(&digits.len()) && (digits == "0" || !digits.starts_with('0')),
        "PRI {digits}"
    );
    let pri: u8 = digits.parse().unwrap();
    assert!(pri <= 191, "PRI {pri}");
    let rest = m[close + 1..].strip_prefix(b"1 ").expect("version 1");
    let (ts, rest) = field(rest, 32, "timestamp");
    check_timestamp(ts);
    let (hostname, rest) = field(rest, 255, "hostname");
    let (app_name, rest) = field(rest, 48, "app-name");
    let (procid, rest) = field(rest, 128, "procid");
    let (msgid, rest) = field(rest, 32, "msgid");
    let (sd_id, params, rest) = sd_element(rest);
    let rest = rest.strip_prefix(b" ").expect("SP before MSG");
    assert!(!rest.starts_with(b"\xef\xbb\xbf"), "MSG has a BOM");
    assert!(rest.is_ascii(), "MSG is not ASCII");
    Parsed {
        facility: pri / 8,
        severity: pri % 8,
        timestamp: ts.into(),
        hostname: hostname.into(),
        app_name: app_name.into(),
        procid: procid.into(),
        msgid: msgid.into(),
        sd_id,
        params,
        msg: serde_json::from_slice(rest).expect("MSG is JSON"),
    }
}

/// Splits an RFC 6587 octet-counted stream into messages; the stream must end on a frame boundary.
fn frames(mut s: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let sp = s.iter().position(|&b| b == b' ').expect("frame length");
        let len_text = std::str::from_utf8(&s[..sp]).unwrap();
        assert!(!len_text.starts_with('0'), "MSG-LEN {len_text}");
        let len: usize = len_text.parse().unwrap();
        assert!(s.len() >= sp + 1 + len, "frame of {len} bytes cut short");
        let m = &s[sp + 1..sp + 1 + len];
        assert_eq!(
            m[0], b'<',
            "the frame length does not end where a message starts"
        );
        out.push(m.to_vec());
        s = &s[sp + 1 + len..];
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// Alerts and receivers

const METAS: [Meta; 4] = [
    sip_flood::META,
    sip_bruteforce::META,
    sdes_key_exposed::META,
    weak_auth::META,
];

/// Alert `i` of a batch: detectors and severities in turn, addresses and time from `i`.
fn alert(i: usize) -> Alert {
    let meta = &METAS[i % METAS.len()];
    let sev = [Severity::High, Severity::Medium, Severity::Low][i % 3];
    Alert::new(
        meta,
        PacketTime::from_parts(1_768_471_200 + i as u64, 1000 * u32::try_from(i).unwrap()),
    )
    .src(
        Some(format!("10.0.0.{}", i % 250 + 1).parse().unwrap()),
        Some(5060),
    )
    .dest(Some("192.0.2.1".parse().unwrap()), Some(5060))
    .severity(sev)
    .evidence("index", Value::U64(i as u64))
}

fn config(target: SyslogTarget) -> SyslogConfig {
    let mut c = SyslogConfig::new(target);
    c.hostname = "sensor-1".into();
    c
}

fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::High => 2,
        Severity::Medium => 4,
        Severity::Low => 5,
    }
}

/// Checks that `p` is the message of `alert(i)`.
fn check(p: &Parsed, i: usize) {
    let a = alert(i);
    assert_eq!(p.facility, 16, "local0");
    assert_eq!(p.severity, syslog_severity(a.severity));
    assert_eq!(p.hostname, "sensor-1");
    assert_eq!(p.app_name, "callguard");
    assert_eq!(p.procid, std::process::id().to_string());
    assert_eq!(p.msgid, "alert");
    assert_eq!(p.sd_id, "callguard@32473");
    assert_eq!(p.param("sid"), Some(a.meta.sid.to_string().as_str()));
    assert_eq!(p.param("detector"), Some(a.meta.slug));
    assert_eq!(
        p.param("severity"),
        Some(a.severity.number().to_string().as_str())
    );
    assert_eq!(p.param("src"), Some(a.src_ip.unwrap().to_string().as_str()));
    assert_eq!(p.param("dst"), Some("192.0.2.1"));
    assert_eq!(
        p.timestamp,
        format!("2026-01-15T10:{:02}:{:02}.{:06}Z", i / 60, i % 60, i)
    );
    assert_eq!(p.msg["event_type"], "alert");
    assert_eq!(p.msg["alert"]["signature_id"], a.meta.sid);
    assert_eq!(p.msg["evidence"]["index"], i);
}

/// A UDP receiver on 127.0.0.1 that collects datagrams until [`stop`] sends it an empty one.
fn udp_receiver() -> (SocketAddr, thread::JoinHandle<Vec<Vec<u8>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let addr = sock.local_addr().unwrap();
    let h = thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 70_000];
        loop {
            let n = sock.recv(&mut buf).expect("no stop datagram");
            if n == 0 {
                return out;
            }
            out.push(buf[..n].to_vec());
        }
    });
    (addr, h)
}

/// Ends a [`udp_receiver`] once what the sink sent (all of it before `close` returned) has arrived.
fn stop(addr: SocketAddr, rx: thread::JoinHandle<Vec<Vec<u8>>>) -> Vec<Vec<u8>> {
    thread::sleep(Duration::from_millis(100));
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(&[], addr).unwrap();
    rx.join().unwrap()
}

/// Reads one connection of `l` to its end.
fn tcp_read_one(l: TcpListener) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        buf
    })
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Tests

#[test]
fn a_udp_receiver_gets_one_rfc5424_datagram_per_alert() {
    let (addr, rx) = udp_receiver();
    let s = Syslog::start(config(SyslogTarget::Udp(addr))).unwrap();
    let n = 40;
    for i in 0..n {
        s.send(&alert(i));
        // Paced, so the receiver's socket buffer never overflows on a loaded machine.
        if i % 10 == 9 {
            thread::sleep(Duration::from_millis(5));
        }
    }
    // One alert too big for a datagram: it arrives without its evidence.
    let big = alert(n).evidence("blob", Value::Str("x".repeat(MAX_MESSAGE + 10)));
    s.send(&big);
    let st = s.close(Duration::from_secs(5));
    assert_eq!(
        st,
        SyslogStats {
            sent: n as u64 + 1,
            truncated: 1,
            ..SyslogStats::default()
        }
    );
    let got = stop(addr, rx);
    assert_eq!(got.len(), n + 1);
    for (i, m) in got[..n].iter().enumerate() {
        check(&parse(m), i);
    }
    let last = parse(&got[n]);
    assert_eq!(last.msg["evidence"], serde_json::json!({"truncated": true}));
    assert_eq!(
        last.param("sid"),
        Some(alert(n).meta.sid.to_string().as_str())
    );
    assert!(got[n].len() < 1000);
}

#[test]
fn a_tcp_receiver_gets_octet_counted_frames_whose_lengths_match() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let rx = tcp_read_one(l);
    let mut cfg = config(SyslogTarget::Tcp(addr));
    cfg.facility = "daemon".parse::<Facility>().unwrap();
    let s = Syslog::start(cfg).unwrap();
    let n = 300;
    for i in 0..n {
        s.send(&alert(i));
    }
    let st = s.close(Duration::from_secs(10));
    assert_eq!(st.sent, n as u64);
    assert_eq!((st.dropped, st.errors, st.reconnects), (0, 0, 0));
    // close() drops the connection, so the receiver reads to its end.
    let stream = rx.join().unwrap();
    let msgs = frames(&stream);
    assert_eq!(msgs.len(), n);
    for (i, m) in msgs.iter().enumerate() {
        let mut p = parse(m);
        assert_eq!(p.facility, 3, "daemon");
        p.facility = 16;
        check(&p, i);
    }
}

#[test]
fn a_tcp_receiver_that_comes_up_late_gets_the_later_messages() {
    // A free port with nobody listening on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = Syslog::start(config(SyslogTarget::Tcp(addr))).unwrap();
    for i in 0..5 {
        s.send(&alert(i));
    }
    wait_for("a refused connection", Duration::from_secs(5), || {
        s.stats().errors >= 1
    });
    assert_eq!(s.stats().sent, 0);
    let l = TcpListener::bind(addr).unwrap();
    let rx = tcp_read_one(l);
    for i in 5..10 {
        s.send(&alert(i));
    }
    // The first retry comes a second after the refusal (backoff 1 s, then 2 s, ...).
    wait_for("all ten sent", Duration::from_secs(15), || {
        s.stats().sent == 10
    });
    let st = s.close(Duration::from_secs(5));
    assert_eq!(st.reconnects, 1);
    assert_eq!(st.dropped, 0);
    assert!(st.errors >= 1);
    let msgs = frames(&rx.join().unwrap());
    let idx: Vec<u64> = msgs
        .iter()
        .map(|m| parse(m).msg["evidence"]["index"].as_u64().unwrap())
        .collect();
    // The queue kept the early ones while the receiver was down; the later ones follow in order.
    assert_eq!(idx, (0..10).collect::<Vec<u64>>());
    for (i, m) in msgs.iter().enumerate() {
        check(&parse(m), i);
    }
}

#[test]
fn a_receiver_that_never_reads_fills_the_queue_and_alerts_are_dropped_without_waiting() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        // Accepts, then sits on the connection without reading until the test is over.
        let (conn, _): (TcpStream, _) = l.accept().unwrap();
        let _ = hold_rx.recv();
        drop(conn);
    });
    let mut cfg = config(SyslogTarget::Tcp(addr));
    cfg.queue = 16;
    let s = Syslog::start(cfg).unwrap();
    // Alerts of 60 kB, one a millisecond, until the socket buffers of both ends are full, the sender thread
    // is stuck in a write and the queue is full: then they are dropped.
    let blob = Value::Str("y".repeat(60_000));
    let mut n = 0usize;
    let mut slowest = Duration::ZERO;
    let mut send = |s: &Syslog, n: &mut usize| {
        let a = alert(*n).evidence("blob", blob.clone());
        let t = Instant::now();
        s.send(&a);
        slowest = slowest.max(t.elapsed());
        *n += 1;
    };
    let give_up = Instant::now() + Duration::from_secs(30);
    while s.stats().dropped == 0 {
        assert!(Instant::now() < give_up, "nothing dropped: {:?}", s.stats());
        send(&s, &mut n);
        thread::sleep(Duration::from_millis(1));
    }
    // A burst on top: the queue stays full.
    for _ in 0..200 {
        send(&s, &mut n);
    }
    assert!(
        slowest < Duration::from_millis(100),
        "send() waited {slowest:?}"
    );
    let st = s.stats();
    assert!(st.dropped > 0 && st.sent < n as u64, "{st:?}");
    let t1 = Instant::now();
    let st = s.close(Duration::from_millis(200));
    let closing = t1.elapsed();
    // The bounded wait: 200 ms, plus at most one write timeout (2 s) and a second of slack.
    assert!(
        closing < Duration::from_millis(3500),
        "close waited {closing:?}"
    );
    // What was queued was given up (the write under way, if the thread was in one, timed out: an error; on a
    // loaded machine the deadline may also pass between writes, with no error): every alert is accounted for.
    assert_eq!(st.sent + st.dropped, n as u64, "{st:?}");
    assert_eq!(st.truncated, 0);
    eprintln!("never-reads: {n} alerts, {st:?}, close took {closing:?}, slowest send {slowest:?}");
    hold_tx.send(()).unwrap();
    holder.join().unwrap();
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The values after `marker` in `bytes`, up to the first byte `stop` says ends them.
fn values_after(bytes: &[u8], marker: &[u8], stop: impl Fn(u8) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = bytes[i..].windows(marker.len()).position(|w| w == marker) {
        let start = i + p + marker.len();
        let len = bytes[start..].iter().position(|&b| stop(b)).unwrap();
        out.push(String::from_utf8(bytes[start..start + len].to_vec()).unwrap());
        i = start;
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn sdes_keys_and_digest_responses_of_a_capture_never_reach_the_receiver() {
    let pcap = root().join("pcaps/lab-sdes-cleartext.pcap");
    let raw = std::fs::read(&pcap).unwrap();
    // The secrets on the wire: the SDES keys (a=crypto ... inline:KEY) and the digest response.
    let keys = values_after(&raw, b"inline:", |b| {
        matches!(b, b'|' | b' ' | b'\r' | b'\n')
    });
    let responses = values_after(&raw, b"response=\"", |b| b == b'"');
    assert!(
        keys.len() >= 2 && !responses.is_empty(),
        "{keys:?} {responses:?}"
    );
    let secrets: Vec<&String> = keys.iter().chain(&responses).collect();
    for s in &secrets {
        assert!(s.len() >= 16, "{s}");
    }

    let (addr, rx) = udp_receiver();
    let mut tee = Tee {
        inner: EveWriter::new(Vec::new()),
        syslog: Syslog::start(config(SyslogTarget::Udp(addr))).unwrap(),
    };
    let opts = Options {
        workers: 2,
        mode: QueueMode::Block,
        metrics: None,
        control: None,
        hep: None,
    };
    let src = capture::open(&pcap).unwrap();
    pipeline::run(vec![src], &Config::default(), &opts, &mut tee, &mut |_| {});
    let Tee { inner, syslog } = tee;
    let st = syslog.close(Duration::from_secs(5));
    let eve: Vec<Json> = String::from_utf8(inner.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let eve_alerts: Vec<&Json> = eve.iter().filter(|l| l["event_type"] == "alert").collect();
    // The tee passed the calls and the rest to the EVE writer only.
    assert!(eve.len() > eve_alerts.len());
    let got = stop(addr, rx);
    assert_eq!(st.sent, eve_alerts.len() as u64);
    assert_eq!(got.len(), eve_alerts.len());
    let msgs: Vec<Json> = got.iter().map(|m| parse(m).msg).collect();
    // The same alerts as the EVE file, in the same order.
    assert_eq!(msgs.iter().collect::<Vec<_>>(), eve_alerts);
    let sids: Vec<u64> = msgs
        .iter()
        .map(|m| m["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert!(sids.contains(&1003) && sids.contains(&1006), "{sids:?}");
    for m in &got {
        let text = String::from_utf8_lossy(m);
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "secret {s} in {text}");
        }
        assert!(!text.contains("inline:"), "{text}");
    }
}

/// `callguard analyze --syslog udp://...`: every alert of the EVE file arrives at a local UDP listener as an
/// RFC 5424 message carrying the same EVE line, in order, with the facility asked for.
#[test]
fn the_cli_sends_every_alert_to_a_udp_listener() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let addr = sock.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let pcap = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps/lab-svcrack.pcap");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["analyze", "--quiet", "--syslog", &format!("udp://{addr}")])
        .args(["--syslog-facility", "local3", "--output"])
        .arg(&eve)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<serde_json::Value> = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event_type"] == "alert")
        .collect();
    assert!(alerts.len() >= 5, "{alerts:?}");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while let Ok(n) = sock.recv(&mut buf) {
        got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    assert_eq!(got.len(), alerts.len());
    for (msg, alert) in got.iter().zip(&alerts) {
        // local3 = 19: PRI = 19 * 8 + severity (high 2, medium 4, low 5).
        let sev = match alert["alert"]["severity"].as_u64().unwrap() {
            1 => 2,
            2 => 4,
            _ => 5,
        };
        assert!(msg.starts_with(&format!("<{}>1 ", 19 * 8 + sev)), "{msg}");
        assert!(
            msg.contains(&format!(
                "[callguard@32473 sid=\"{}\"",
                alert["alert"]["signature_id"]
            )),
            "{msg}"
        );
        let json = &msg[msg.find("] {").unwrap() + 2..];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(&v, alert);
    }
}
