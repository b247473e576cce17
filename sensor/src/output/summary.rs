//! The summary printed at the end of `analyze`: what was read, what was decoded, what was dropped, what fired.

use std::fmt::Write as _;

use callguard_parsers::Layer;
use callguard_rules::event::Encryption;

use crate::output::eve::{rfc3339, timestamp};
use crate::pipeline::Report;
use crate::stats::Proto;

/// Endpoints listed by name in the certificate inventory (those that changed first).
pub const MAX_LISTED_ENDPOINTS: usize = 10;

/// The TLS line and the certificate inventory: endpoints, the certificates each presented, which changed.
fn certificates(s: &mut String, r: &Report) {
    let inv = &r.certs;
    let t = &r.counters.tls;
    if inv.tls + inv.dtls == 0 {
        return;
    }
    let versions: Vec<String> = inv
        .versions
        .iter()
        .map(|(v, n)| format!("{v} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "  tls           {:>12}   tcp {} dtls {}  ({})  certs encrypted {}  given up {}",
        inv.tls + inv.dtls,
        inv.tls,
        inv.dtls,
        versions.join(", "),
        inv.encrypted,
        t.given_up
    );
    let _ = writeln!(
        s,
        "  certificates  {:>12}   endpoints {}  changed {}{}",
        inv.certificates(),
        inv.endpoints.len(),
        inv.changed(),
        if inv.more_endpoints > 0 {
            format!("  (+{} endpoints not kept)", inv.more_endpoints)
        } else {
            String::new()
        }
    );
    let mut list: Vec<_> = inv.endpoints.iter().collect();
    list.sort_by_key(|(k, e)| (!e.changed(), (*k).clone()));
    for (k, e) in list.iter().take(MAX_LISTED_ENDPOINTS) {
        let _ = writeln!(
            s,
            "    {}{} {}{}  {} handshake{}{}",
            if e.changed() { "CHANGED " } else { "" },
            k.addr,
            if k.dtls { "DTLS" } else { "TLS" },
            if k.client { " client" } else { "" },
            e.handshakes,
            if e.handshakes == 1 { "" } else { "s" },
            k.sni
                .as_deref()
                .map(|n| format!("  sni {n}"))
                .unwrap_or_default(),
        );
        for c in &e.certs {
            let short: String = c
                .sha256
                .iter()
                .take(4)
                .map(|b| format!("{b:02x}"))
                .collect();
            let day = |t: i64| rfc3339(t).get(..10).unwrap_or_default().to_owned();
            let _ = writeln!(
                s,
                "      {short}  {}  {}..{}{}  ({}x)",
                c.subject,
                day(c.not_before),
                day(c.not_after),
                if c.self_signed { "  self-signed" } else { "" },
                c.handshakes
            );
        }
        if e.more > 0 {
            let _ = writeln!(s, "      ... and {} more certificates", e.more);
        }
    }
    if list.len() > MAX_LISTED_ENDPOINTS {
        let _ = writeln!(
            s,
            "    ... and {} more endpoints",
            list.len() - MAX_LISTED_ENDPOINTS
        );
    }
}

/// Renders the summary. `output` says where the JSON went.
pub fn render(r: &Report, output: &str) -> String {
    let mut s = String::new();
    let c = &r.counters;
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(s, "callguard summary");
    let _ = writeln!(
        s,
        "  packets       {:>12}   bytes {:>14}   capture span {} .. {}",
        r.packets_read,
        c.bytes,
        timestamp(r.first_ts),
        timestamp(r.last_ts)
    );
    let _ = writeln!(
        s,
        "  run time      {:>12.3} s  {:>10.0} packets/s  {:.1} MB/s  ({} workers)",
        secs,
        r.packets_read as f64 / secs,
        c.bytes as f64 / secs / 1e6,
        r.workers
    );
    let protos: Vec<String> = Proto::ALL
        .iter()
        .filter(|p| c.get(**p) > 0)
        .map(|p| format!("{} {}", p.name(), c.get(*p)))
        .collect();
    let _ = writeln!(
        s,
        "  decoded       {}",
        if protos.is_empty() {
            "-".into()
        } else {
            protos.join(", ")
        }
    );
    let malformed: Vec<String> = Layer::ALL
        .iter()
        .filter_map(|l| {
            let n = c.malformed.get(l.index()).copied().unwrap_or(0);
            (n > 0).then(|| format!("{} {n}", l.name()))
        })
        .collect();
    let _ = writeln!(
        s,
        "  malformed     {:>12}   {}   unsupported link {}",
        c.malformed_total(),
        malformed.join(", "),
        c.unsupported_link
    );
    let _ = writeln!(
        s,
        "  ip fragments  {:>12}   reassembled {}  timed out {}  evicted {}  overlaps {}",
        c.defrag.fragments,
        c.defrag.reassembled,
        c.defrag.timed_out,
        c.defrag.evicted,
        c.defrag.overlaps
    );
    let sip = c.sip.merged(&c.sip_tcp);
    let req: u64 = sip.requests.iter().sum();
    let rsp: u64 = sip.responses.iter().sum();
    let methods: Vec<String> = crate::stats::SIP_METHODS
        .iter()
        .zip(sip.requests)
        .filter(|(_, n)| *n > 0)
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
    let classes: Vec<String> = ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"]
        .iter()
        .zip(sip.responses)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let dash = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(
        s,
        "  sip           {:>12}   udp {} tcp {} ws {}  requests {req} ({})  responses {rsp} ({})",
        req + rsp,
        c.get(Proto::Sip),
        c.sip_tcp_messages,
        c.sip_ws_messages,
        dash(methods),
        dash(classes)
    );
    let _ = writeln!(
        s,
        "  calls         {:>12}   answered {}  records {}",
        r.calls.started, r.calls.answered, r.calls.records
    );
    let m = &r.media;
    let _ = writeln!(
        s,
        "  call media    protected {}  partly {}  unprotected {}  no media {}   (signalling seen in the clear)",
        m.posture[0], m.posture[1], m.posture[2], m.no_media
    );
    let by_enc: Vec<String> = Encryption::ALL
        .iter()
        .zip(m.streams)
        .filter(|(_, n)| *n > 0)
        .map(|(e, n)| format!("{} {n}", e.name()))
        .collect();
    let _ = writeln!(
        s,
        "  rtp streams   {:>12}   {}  unassociated {}",
        m.streams.iter().sum::<u64>(),
        dash(by_enc),
        m.unassociated
    );
    certificates(&mut s, r);
    if r.calls.registers > 0 {
        let _ = writeln!(
            s,
            "  registers     {:>12}   challenged {}  accepted {}  failed {}",
            r.calls.registers,
            r.calls.register_challenged,
            r.calls.register_ok,
            r.calls.register_failed
        );
    }
    let agents: Vec<String> = m
        .top_agents(5)
        .iter()
        .map(|(ua, n)| format!("{ua} ({n})"))
        .collect();
    if !agents.is_empty() {
        let _ = writeln!(s, "  user agents   {}", agents.join(", "));
    }
    for w in &m.worst {
        let _ = writeln!(
            s,
            "  worst MOS     {:>12.2}   {} {}  loss {:.1}%  jitter {:.1} ms  call {}",
            w.mos,
            w.flow,
            w.codec.as_deref().unwrap_or("?"),
            w.loss * 100.0,
            w.jitter_ms,
            w.call_id.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(
        s,
        "  flows         {:>12}   active {}  evicted {}  expired {}",
        c.flows.created, c.flows.table.len, c.flows.table.evicted, c.flows.table.expired
    );
    let _ = writeln!(
        s,
        "  tcp streams   {:>12}   bytes {}  gaps {}  evicted {}  timed out {}",
        c.tcp.conns_opened, c.stream_bytes, c.tcp.gaps, c.tcp.evicted, c.tcp.timed_out
    );
    let evicted: u64 = r.tables.iter().map(|(_, t)| t.evicted).sum::<u64>()
        + c.defrag.evicted
        + c.tcp.evicted
        + c.flows.table.evicted;
    let _ = writeln!(s, "  evicted       {evicted:>12}   (all tables)");
    let _ = writeln!(
        s,
        "  drops         {:>12}   kernel ring {} (of {} the kernel saw)  worker queues {}",
        r.kernel_drops + r.queue_drops,
        r.kernel_drops,
        r.kernel_packets,
        r.queue_drops
    );
    let _ = writeln!(
        s,
        "  alerts        {:>12}   suppressed {}",
        r.alert_total(),
        r.engine.suppressed
    );
    for (slug, t) in &r.alerts {
        let top: Vec<String> = t
            .top_sources(3)
            .iter()
            .map(|(ip, n)| format!("{ip} ({n})"))
            .collect();
        let _ = writeln!(
            s,
            "    {:<24} sid {:<5} {:>8}   top sources: {}",
            slug,
            t.sid,
            t.count,
            if top.is_empty() {
                "-".into()
            } else {
                top.join(", ")
            }
        );
    }
    for e in &r.errors {
        let _ = writeln!(s, "  error         {e}");
    }
    for e in &r.capture_errors {
        let _ = writeln!(s, "  error         {e}");
    }
    if let Some(e) = &r.output_error {
        let _ = writeln!(s, "  output error  {e}");
    }
    let _ = writeln!(s, "  output        {output}");
    s
}
