//! EVE JSON lines, as Suricata writes them: one object a line, `timestamp` in RFC 3339 with microseconds and
//! an offset, `event_type`, the 5-tuple, and a body named after the event type. The schema is
//! `sensor/schema/eve.schema.json`; every line the tests produce is validated against it.

use std::io::{self, Write};
use std::net::IpAddr;

use callguard_parsers::Layer;
use callguard_parsers::arp::MacDisplay;
use callguard_parsers::tls::cert::colon_hex;
use callguard_parsers::tls::registry::srtp_profile_name;
use callguard_parsers::tls::{CipherSuite, TlsVersion};
use callguard_rules::alert::{Alert, Value};
use callguard_rules::calls::{CallRecord, Posture, StreamRecord};
use callguard_rules::engine::TlsRecord;
use callguard_rules::event::CertSeen;
use callguard_rules::event::SipTransport;
use callguard_rules::event::{Encryption, EventKind};
use callguard_rules::time::PacketTime;
use serde_json::{Map, Value as Json, json};

use crate::latency::Latency;
use crate::pipeline::{AlertSink, Report};
use crate::stats::{Proto, SIP_METHODS};

/// Formats packet time as `2026-01-15T10:00:00.000000+0000` (UTC), as Suricata does.
pub fn timestamp(t: PacketTime) -> String {
    let secs = t.secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        t.subsec_nanos() / 1000
    )
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-11-29T01:45:11Z`), for certificate validity (which may lie
/// before 1970 or far ahead).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // H. Hinnant's civil_from_days on signed days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn value(v: &Value) -> Json {
    match v {
        Value::U64(n) => json!(n),
        Value::F64(f) => json!((f * 1000.0).round() / 1000.0),
        Value::Bool(b) => json!(b),
        Value::Str(s) => json!(s),
        Value::Ip(ip) => json!(ip.to_string()),
        Value::Mac(m) => json!(MacDisplay(*m).to_string()),
        Value::Time(t) => json!(timestamp(*t)),
        Value::List(l) => Json::Array(l.iter().map(value).collect()),
    }
}

fn put_ip(o: &mut Map<String, Json>, key: &str, ip: Option<IpAddr>) {
    if let Some(ip) = ip {
        o.insert(key.into(), json!(ip.to_string()));
    }
}

/// The EVE object of an alert.
pub fn alert_json(a: &Alert) -> Json {
    let mut o = Map::new();
    o.insert("timestamp".into(), json!(timestamp(a.ts)));
    o.insert("event_type".into(), json!("alert"));
    put_ip(&mut o, "src_ip", a.src_ip);
    if let Some(p) = a.src_port {
        o.insert("src_port".into(), json!(p));
    }
    put_ip(&mut o, "dest_ip", a.dest_ip);
    if let Some(p) = a.dest_port {
        o.insert("dest_port".into(), json!(p));
    }
    if let Some(p) = a.proto {
        o.insert("proto".into(), json!(p.name()));
    }
    o.insert(
        "alert".into(),
        json!({
            "action": "allowed",
            "signature_id": a.meta.sid,
            "rev": 1,
            "signature": a.meta.signature,
            "category": a.meta.category.name(),
            "severity": a.severity.number(),
            "detector": a.meta.slug,
        }),
    );
    let ev: Map<String, Json> = a
        .evidence
        .0
        .iter()
        .map(|(k, v)| ((*k).to_owned(), value(v)))
        .collect();
    o.insert("evidence".into(), Json::Object(ev));
    Json::Object(o)
}

/// Rounds to three decimals (figures, not measurements to the nanosecond).
fn r3(x: f64) -> Json {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Json::Null
    }
}

/// The body of one stream: addresses, SSRC, codec, figures, quality and protection.
fn stream_body(s: &StreamRecord) -> Map<String, Json> {
    let m = &s.summary;
    let mut o = Map::new();
    o.insert("src_ip".into(), json!(s.key.src.ip().to_string()));
    o.insert("src_port".into(), json!(s.key.src.port()));
    o.insert("dest_ip".into(), json!(s.key.dst.ip().to_string()));
    o.insert("dest_port".into(), json!(s.key.dst.port()));
    o.insert("ssrc".into(), json!(format!("0x{:08x}", s.key.ssrc)));
    if let Some(p) = s.sender {
        o.insert("sender".into(), json!(p.name()));
    }
    if let Some(i) = s.m_index {
        o.insert("m_index".into(), json!(i));
    }
    if let Some(k) = &s.media {
        o.insert("media".into(), json!(k));
    }
    if s.foreign {
        o.insert("foreign".into(), json!(true));
    }
    o.insert("payload_type".into(), json!(m.payload_type));
    o.insert("codec".into(), json!(s.codec));
    if let Some(p) = s.ptime {
        o.insert("ptime_ms".into(), json!(p));
    }
    o.insert("start".into(), json!(timestamp(m.first)));
    o.insert("end".into(), json!(timestamp(m.last)));
    o.insert("end_reason".into(), json!(s.end.name()));
    o.insert("packets".into(), json!(m.packets));
    o.insert("bytes".into(), json!(m.payload_bytes));
    o.insert("expected".into(), json!(m.expected));
    o.insert("lost".into(), json!(m.lost));
    o.insert("loss_ratio".into(), r3(m.loss_ratio()));
    o.insert("duplicates".into(), json!(m.duplicates));
    o.insert("out_of_order".into(), json!(m.out_of_order));
    o.insert("seq_resets".into(), json!(m.seq_resets));
    o.insert("payload_type_changes".into(), json!(m.payload_type_changes));
    o.insert("clock_rate".into(), json!(m.clock_rate));
    o.insert("jitter_ms".into(), r3(m.jitter_ms));
    o.insert("max_jitter_ms".into(), r3(m.max_jitter_ms));
    o.insert("mean_jitter_ms".into(), r3(m.mean_jitter_ms));
    o.insert("max_delta_ms".into(), r3(m.max_delta_ms));
    o.insert("mean_delta_ms".into(), r3(m.mean_delta_ms));
    o.insert(
        "quality".into(),
        json!({
            "mos": r3(s.quality.mos),
            "r_factor": r3(s.quality.r),
            "codec_known": s.quality.codec_known,
        }),
    );
    if let Some(r) = &s.rtcp {
        let mut q = Map::new();
        if let Some(f) = r.fraction_lost {
            q.insert("fraction_lost".into(), r3(f));
        }
        if let Some(c) = r.cumulative_lost {
            q.insert("cumulative_lost".into(), json!(c));
        }
        if let Some(j) = r.jitter_ms {
            q.insert("jitter_ms".into(), r3(j));
        }
        if let Some(p) = r.sender_packets {
            q.insert("sender_packets".into(), json!(p));
        }
        if let Some(b) = r.sender_octets {
            q.insert("sender_octets".into(), json!(b));
        }
        o.insert("rtcp".into(), Json::Object(q));
    }
    o.insert("encryption".into(), json!(s.encryption.name()));
    o.insert(
        "sdp_encryption".into(),
        json!(s.sdp_encryption.map(Encryption::name)),
    );
    let ev = &s.evidence;
    o.insert(
        "media_evidence".into(),
        json!({
            "packets_judged": ev.judged,
            "codec_sized": ev.codec_sized,
            "srtp_tag_sized": ev.tag_sized,
            "dtls": ev.dtls,
            "zrtp": ev.zrtp,
            "stun": ev.stun,
        }),
    );
    o
}

/// The EVE object of a call record: `src` is the caller, `dest` where its INVITE went.
pub fn call_json(r: &CallRecord) -> Json {
    let ms = |a: PacketTime, b: PacketTime| {
        json!(u64::try_from(b.since(a).as_millis()).unwrap_or(u64::MAX))
    };
    let mut call = Map::new();
    call.insert("call_id".into(), json!(r.call_id));
    call.insert("from".into(), json!(r.caller));
    call.insert("to".into(), json!(r.callee));
    call.insert(
        "parties".into(),
        json!({
            "caller": {"user": r.caller, "ip": r.caller_addr.ip().to_string()},
            "callee": {"user": r.callee, "ip": r.callee_addr.ip().to_string()},
        }),
    );
    call.insert(
        "user_agents".into(),
        json!({"caller": r.caller_agent, "callee": r.callee_agent}),
    );
    call.insert("transport".into(), json!(r.transport.name()));
    // Signalling the sensor reads is never inside TLS: a call over SIP-TLS has no record.
    call.insert(
        "signalling".into(),
        json!({"transport": r.transport.name(), "encrypted": false}),
    );
    call.insert("start".into(), json!(timestamp(r.start)));
    call.insert("end".into(), json!(timestamp(r.end)));
    if let Some(t) = r.ringing {
        call.insert("ringing_ms".into(), ms(r.start, t));
    }
    if let Some(t) = r.answered {
        call.insert("answer".into(), json!(timestamp(t)));
        call.insert("setup_ms".into(), ms(r.start, t));
        call.insert("duration_ms".into(), ms(t, r.end));
    }
    call.insert("status".into(), json!(r.status));
    call.insert("end_reason".into(), json!(r.reason.name()));
    if let Some(p) = r.ended_by {
        call.insert("ended_by".into(), json!(p.name()));
    }
    if let Some(a) = r.bye_from {
        call.insert("bye_from".into(), json!(a.ip().to_string()));
    }
    call.insert("sip_messages".into(), json!(r.messages));
    call.insert("sdp_bodies".into(), json!(r.sdp_bodies));
    call.insert("reinvites".into(), json!(r.reinvites));
    call.insert("updates".into(), json!(r.updates));
    call.insert("forks".into(), json!(r.forks));
    call.insert(
        "media_posture".into(),
        json!(r.posture().map(Posture::name)),
    );
    call.insert(
        "streams".into(),
        Json::Array(
            r.streams
                .iter()
                .map(|s| Json::Object(stream_body(s)))
                .collect(),
        ),
    );
    if r.streams_dropped > 0 {
        call.insert("streams_dropped".into(), json!(r.streams_dropped));
    }
    if r.streams_open > 0 {
        call.insert("streams_open".into(), json!(r.streams_open));
    }
    json!({
        "timestamp": timestamp(r.start),
        "event_type": "call",
        "src_ip": r.caller_addr.ip().to_string(),
        "src_port": r.caller_addr.port(),
        "dest_ip": r.callee_addr.ip().to_string(),
        "dest_port": r.callee_addr.port(),
        // The 5-tuple's protocol: SIP over WebSocket travels on TCP.
        "proto": match r.transport { SipTransport::Udp => "UDP", SipTransport::Tcp | SipTransport::Ws => "TCP" },
        "call": Json::Object(call),
    })
}

/// The EVE object of a stream reported on its own (`event_type` `rtp`): one no signalling explained, or one
/// whose call's record was written before the stream ended (then `call_id` names it).
pub fn stream_json(s: &StreamRecord) -> Json {
    let mut body = stream_body(s);
    body.insert("call_id".into(), json!(s.call_id));
    json!({
        "timestamp": timestamp(s.summary.first),
        "event_type": "rtp",
        "src_ip": s.key.src.ip().to_string(),
        "src_port": s.key.src.port(),
        "dest_ip": s.key.dst.ip().to_string(),
        "dest_port": s.key.dst.port(),
        "proto": "UDP",
        "rtp": Json::Object(body),
    })
}

/// A version's name, or its number in hex when unknown.
fn version_name(v: u16) -> String {
    TlsVersion(v).to_string()
}

fn cert_json(c: &CertSeen) -> Json {
    json!({
        "sha256": colon_hex(&c.sha256),
        "sha1": colon_hex(&c.sha1),
        "spki_sha256": (c.spki_sha256 != [0; 32]).then(|| colon_hex(&c.spki_sha256)),
        "subject": c.subject,
        "issuer": c.issuer,
        "serial": c.serial,
        "not_before": rfc3339(c.not_before),
        "not_after": rfc3339(c.not_after),
        "san": c.san,
        "key_type": c.key_type,
        "key_bits": c.key_bits,
        "signature_algorithm": c.signature_algorithm,
        "self_signed": c.self_signed,
    })
}

fn srtp_profile(p: u16) -> Json {
    json!(srtp_profile_name(p).map_or_else(|| format!("0x{p:04x}"), str::to_owned))
}

/// The EVE object of a TLS or DTLS handshake (`event_type` `tls`): `src` is the client, `dest` the server.
pub fn tls_json(r: &TlsRecord) -> Json {
    let t = &r.tls;
    let mut o = Map::new();
    o.insert("timestamp".into(), json!(timestamp(r.ts)));
    o.insert("event_type".into(), json!("tls"));
    for (ip, port, a) in [
        ("src_ip", "src_port", t.client),
        ("dest_ip", "dest_port", t.server),
    ] {
        if let Some(a) = a {
            o.insert(ip.into(), json!(a.ip().to_string()));
            o.insert(port.into(), json!(a.port()));
        }
    }
    o.insert("proto".into(), json!(if t.dtls { "UDP" } else { "TCP" }));
    let mut b = Map::new();
    b.insert("dtls".into(), json!(t.dtls));
    if let Some(v) = t.version {
        b.insert("version".into(), json!(version_name(v)));
    }
    if let Some(v) = t.client_version {
        b.insert("client_version".into(), json!(version_name(v)));
    }
    if let Some(id) = t.cipher_suite {
        let cs = CipherSuite(id);
        let mut c = Map::new();
        c.insert("id".into(), json!(id));
        c.insert("name".into(), json!(cs.to_string()));
        if let (Some(kx), Some(auth), Some(cipher), Some(bits), Some(mac), Some(strength)) = (
            cs.key_exchange(),
            cs.authentication(),
            cs.cipher(),
            cs.key_bits(),
            cs.mac(),
            cs.strength(),
        ) {
            c.insert("key_exchange".into(), json!(kx));
            c.insert("authentication".into(), json!(auth));
            c.insert("cipher".into(), json!(cipher));
            c.insert("key_bits".into(), json!(bits));
            c.insert("mac".into(), json!(mac));
            c.insert("strength".into(), json!(strength.name()));
        }
        b.insert("cipher_suite".into(), Json::Object(c));
    }
    if let Some(s) = &t.sni {
        b.insert("sni".into(), json!(s));
    }
    if !t.alpn.is_empty() {
        b.insert("alpn".into(), json!(t.alpn));
    }
    for (k, v) in [("ja3", &t.ja3), ("ja3s", &t.ja3s), ("ja4", &t.ja4)] {
        if let Some(v) = v {
            b.insert(k.into(), json!(v));
        }
    }
    if !t.srtp_profiles.is_empty() {
        b.insert(
            "srtp_profiles".into(),
            Json::Array(t.srtp_profiles.iter().map(|p| srtp_profile(*p)).collect()),
        );
    }
    if let Some(p) = t.srtp_profile {
        b.insert("srtp_profile".into(), srtp_profile(p));
    }
    b.insert("certs_encrypted".into(), json!(t.certs_encrypted));
    b.insert(
        "server_certs".into(),
        Json::Array(t.server_certs.iter().map(cert_json).collect()),
    );
    b.insert(
        "client_certs".into(),
        Json::Array(t.client_certs.iter().map(cert_json).collect()),
    );
    o.insert("tls".into(), Json::Object(b));
    Json::Object(o)
}

/// The final `stats` event: deterministic figures (no per-worker caps), so the same capture gives the same
/// line whatever the number of workers, except `latency`: the sensor's own processing times (wall clock).
pub fn stats_json(r: &Report) -> Json {
    let c = &r.counters;
    let decoder: Map<String, Json> = Proto::ALL
        .iter()
        .map(|p| (p.name().to_owned(), json!(c.get(*p))))
        .collect();
    let malformed: Map<String, Json> = Layer::ALL
        .iter()
        .map(|l| {
            (
                l.name().to_owned(),
                json!(c.malformed.get(l.index()).copied().unwrap_or(0)),
            )
        })
        .collect();
    let events: Map<String, Json> = EventKind::ALL
        .iter()
        .map(|k| {
            (
                k.name().to_owned(),
                json!(r.engine.events.get(*k as usize).copied().unwrap_or(0)),
            )
        })
        .collect();
    let alerts: Map<String, Json> = r
        .alerts
        .iter()
        .map(|(slug, t)| ((*slug).to_owned(), json!(t.count)))
        .collect();
    // The workers' RTP tables, summed over workers, beside the engine's and the detectors'.
    let worker_tables = [
        ("worker.rtp_streams".to_owned(), c.media.streams),
        ("worker.rtp_candidates".to_owned(), c.media.candidates),
        ("worker.tls_handshakes".to_owned(), c.tls.table),
        ("worker.dtls_handshakes".to_owned(), c.tls.dtls_table),
    ];
    let tables: Map<String, Json> = r
        .tables
        .iter()
        .chain(worker_tables.iter())
        .map(|(name, t)| {
            (
                name.clone(),
                json!({"entries": t.len, "evicted": t.evicted, "expired": t.expired}),
            )
        })
        .collect();
    let sip = c.sip.merged(&c.sip_tcp);
    let sip_requests: Map<String, Json> = SIP_METHODS
        .iter()
        .zip(sip.requests)
        .map(|(m, n)| ((*m).to_owned(), json!(n)))
        .collect();
    let sip_responses: Map<String, Json> = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"]
        .iter()
        .zip(sip.responses)
        .map(|(k, n)| ((*k).to_owned(), json!(n)))
        .collect();
    json!({
        "timestamp": timestamp(r.last_ts),
        "event_type": "stats",
        "stats": {
            "capture": {
                "packets": r.packets_read,
                "errors": r.errors.len() + r.capture_errors.len(),
                "queue_drops": r.queue_drops,
                "kernel_packets": r.kernel_packets,
                "kernel_drops": r.kernel_drops,
            },
            "decoder": {
                "packets": c.packets,
                "bytes": c.bytes,
                "protocols": decoder,
                "malformed": malformed,
                "unsupported_link": c.unsupported_link,
            },
            "defrag": {
                "fragments": c.defrag.fragments,
                "reassembled": c.defrag.reassembled,
                "timed_out": c.defrag.timed_out,
                "evicted": c.defrag.evicted,
                "overlaps": c.defrag.overlaps,
                "invalid": c.defrag.invalid,
            },
            "calls": {
                "started": r.calls.started,
                "answered": r.calls.answered,
                "records": r.calls.records,
            },
            "media_posture": {
                "protected": r.media.posture[0],
                "partial": r.media.posture[1],
                "unprotected": r.media.posture[2],
                "no_media": r.media.no_media,
            },
            "streams": {
                "associated": r.calls.streams_associated,
                "unassociated": r.calls.streams_unassociated,
                "late": r.calls.streams_late,
                "by_encryption": Encryption::ALL
                    .iter()
                    .zip(r.media.streams)
                    .map(|(e, n)| (e.name().to_owned(), json!(n)))
                    .collect::<Map<String, Json>>(),
            },
            "registers": {
                "transactions": r.calls.registers,
                "challenged": r.calls.register_challenged,
                "accepted": r.calls.register_ok,
                "failed": r.calls.register_failed,
            },
            "sip": {
                "messages": { "udp": c.get(Proto::Sip), "tcp": c.sip_tcp_messages, "ws": c.sip_ws_messages },
                "requests": sip_requests,
                "responses": sip_responses,
            },
            "flows": {
                "created": c.flows.created,
                "rate_reports": c.flows.rate_reports,
                "rate_dropped": c.flows.rate_dropped,
                "opened_dropped": c.flows.opened_dropped,
                "active": c.flows.table.len,
                "evicted": c.flows.table.evicted,
                "expired": c.flows.table.expired,
            },
            "rtp": {
                "streams_started": c.media.started,
                "streams_ended_idle": c.media.ended_idle,
                "streams_ended_evicted": c.media.ended_evicted,
                "streams_ended_capture_end": c.media.ended_capture_end,
                "streams_ended_restart": c.media.ended_restart,
                "unconfirmed": c.media.unconfirmed,
                "rtcp_reports": c.media.rtcp_reports,
                "rtcp_malformed": c.media.rtcp_malformed,
                "rtcp_clipped": c.media.rtcp_clipped,
            },
            "tcp": {
                "connections": c.tcp.conns_opened,
                "evicted": c.tcp.evicted,
                "timed_out": c.tcp.timed_out,
                "stream_bytes": c.stream_bytes,
                "gaps": c.tcp.gaps,
                "gap_bytes": c.tcp.gap_bytes,
                "retransmitted_bytes": c.tcp.retransmitted_bytes,
                "out_of_order": c.tcp.out_of_order,
                "overlaps": c.tcp.overlaps,
                "midstream": c.tcp.midstream,
                "ws_upgrades": c.ws_upgrades,
                "ws_control_frames": c.ws_control_frames,
            },
            "tls": {
                "handshakes": c.tls.handshakes,
                "dtls_handshakes": c.tls.dtls_handshakes,
                "tls13": c.tls.tls13,
                "given_up": c.tls.given_up,
                "malformed": c.tls.malformed,
            },
            "engine": {
                "events": events,
                "alerts": r.engine.alerts,
                "suppressed": r.engine.suppressed,
            },
            "alerts": alerts,
            "tables": tables,
            "latency": {
                "worker": latency_json(&c.latency),
                "engine": latency_json(&r.latency.engine),
                "alert": latency_json(&r.latency.alert),
            },
        }
    })
}

/// One stage's latency: count, p50, p99 and max in microseconds (wall time, not deterministic).
fn latency_json(l: &Latency) -> Json {
    json!({
        "count": l.count(),
        "p50_us": l.quantile_us(0.5),
        "p99_us": l.quantile_us(0.99),
        "max_us": l.max_us(),
    })
}

/// Makes a fresh writer for the same destination (a file reopened after log rotation).
pub type Reopen<W> = Box<dyn FnMut() -> io::Result<W> + Send>;

/// Writes EVE lines to any writer.
pub struct EveWriter<W: Write> {
    w: W,
    reopen: Option<Reopen<W>>,
}

impl<W: Write> std::fmt::Debug for EveWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EveWriter")
            .field("reopens", &self.reopen.is_some())
            .finish_non_exhaustive()
    }
}

impl<W: Write> EveWriter<W> {
    /// Writes to `w` (wrap files in a `BufWriter`).
    pub fn new(w: W) -> Self {
        Self { w, reopen: None }
    }

    /// Writes to `w`; [`AlertSink::reopen`] replaces it with what `reopen` makes (log rotation: the file was
    /// renamed away, the next lines go to a new file under the old name).
    pub fn with_reopen(w: W, reopen: Reopen<W>) -> Self {
        Self {
            w,
            reopen: Some(reopen),
        }
    }

    /// Writes one JSON object and a newline.
    pub fn line(&mut self, v: &Json) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, v)?;
        self.w.write_all(b"\n")
    }

    /// Flushes the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.w
    }
}

impl<W: Write + Send> AlertSink for EveWriter<W> {
    fn alert(&mut self, a: &Alert) -> io::Result<()> {
        self.line(&alert_json(a))
    }

    fn call(&mut self, r: &CallRecord) -> io::Result<()> {
        self.line(&call_json(r))
    }

    fn stream(&mut self, r: &StreamRecord) -> io::Result<()> {
        self.line(&stream_json(r))
    }

    fn tls(&mut self, r: &TlsRecord) -> io::Result<()> {
        self.line(&tls_json(r))
    }

    fn stats(&mut self, r: &Report) -> io::Result<()> {
        self.line(&stats_json(r))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    fn reopen(&mut self) -> io::Result<()> {
        let Some(make) = self.reopen.as_mut() else {
            return Ok(());
        };
        // What is buffered belongs to the old file.
        self.w.flush()?;
        self.w = make()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_suricata_style_utc() {
        assert_eq!(
            timestamp(PacketTime::from_parts(1_768_471_200, 123_456_789)),
            "2026-01-15T10:00:00.123456+0000"
        );
        assert_eq!(
            timestamp(PacketTime::ZERO),
            "1970-01-01T00:00:00.000000+0000"
        );
        assert_eq!(
            timestamp(PacketTime::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000+0000"
        );
        assert_eq!(
            timestamp(PacketTime::from_secs(4_102_444_799)),
            "2099-12-31T23:59:59.000000+0000"
        );
    }

    #[test]
    fn certificate_dates_are_rfc3339_on_both_sides_of_1970() {
        assert_eq!(rfc3339(1_795_916_711), "2026-11-29T01:45:11Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
