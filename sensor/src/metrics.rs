//! Prometheus metrics: `/metrics` in the text exposition format 0.0.4, served by a thread of its own.
//!
//! # How the numbers get here
//! Nothing on the packet path touches a metric. Workers keep plain `u64` counters ([`Counters`]) that reach
//! the engine thread with their event batches; the engine thread builds a [`Snapshot`] of everything at most
//! once per second of wall time and publishes it in the [`Hub`] (a pointer swap under a mutex held for
//! nanoseconds). A scrape takes the latest snapshot and renders it: a slow or hostile scraper costs the
//! metrics thread only, never a worker or the engine.
//!
//! # Why the `prometheus` crate
//! DESIGN preferred `prometheus-client` for its cheaper scrape and per-packet increments. Here neither
//! matters: nothing is incremented per packet, and a scrape renders a few hundred series from a snapshot
//! (well under a millisecond). What matters is the format: `prometheus-client` writes OpenMetrics only,
//! whose counter families are named without `_total` and which Prometheus 2.42's `promtool check metrics`
//! rejects ("no help text" on every counter sample). The `prometheus` crate's `TextEncoder` writes the
//! classic text format that every Prometheus, promtool and agent reads, and its `process` feature gives the
//! standard `process_*` families (CPU seconds, resident memory, open file descriptors) from `/proc`.
//!
//! # Labels
//! Only values fixed by the code: protocol, layer, table, method, status class, transport, posture,
//! encryption state, detector slug, severity, worker index. Never a Call-ID, user, number or address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use callguard_parsers::Layer;
use callguard_rules::calls::CallStats;
use callguard_rules::detectors::METAS;
use callguard_rules::engine::EngineStats;
use callguard_rules::event::{Encryption, EventKind};
use callguard_rules::table::TableStats;
use callguard_rules::time::PacketTime;
use prometheus::core::Collector;
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, TextEncoder};

use crate::latency::{EngineLatency, Latency};
use crate::output::hep::{HepStats, HepStatsHandle};
use crate::output::syslog::{StatsHandle, SyslogStats};
use crate::output::tally::{Hist, MediaTally, POSTURES, TRANSPORTS};
use crate::pipeline::{DetectorTally, LiveCounters, Report};
use crate::stats::{Counters, Proto, SIP_METHODS};

/// The version line and the cargo features this binary was built with.
pub const FEATURES: &str = if cfg!(feature = "libpcap") {
    "libpcap"
} else {
    "default"
};

/// What a scrape shows: a copy of the run's figures at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Merged worker counters.
    pub counters: Counters,
    /// Engine counters.
    pub engine: EngineStats,
    /// Calls followed.
    pub calls: CallStats,
    /// Engine and detector tables.
    pub tables: Vec<(String, TableStats)>,
    /// Alerts by detector.
    pub alerts: Vec<(&'static str, DetectorTally)>,
    /// Calls and streams by encryption, quality histograms.
    pub media: MediaTally,
    /// Packets read from the sources.
    pub packets_read: u64,
    /// Packets dropped because a worker queue was full.
    pub queue_drops: u64,
    /// Packets the kernel dropped (ring full).
    pub kernel_drops: u64,
    /// Capture errors (files cut short, live sources that failed).
    pub capture_errors: u64,
    /// Worker threads.
    pub workers: usize,
    /// Newest packet time.
    pub last_ts: PacketTime,
    /// The run is over: these are the final figures.
    pub finished: bool,
    /// Capture-to-engine and capture-to-alert latency.
    pub latency: EngineLatency,
}

impl Snapshot {
    /// The figures of `r`.
    pub fn of(r: &Report, finished: bool) -> Snapshot {
        Snapshot {
            counters: r.counters.clone(),
            engine: r.engine.clone(),
            calls: r.calls,
            tables: r.tables.clone(),
            alerts: r.alerts.clone(),
            media: r.media.clone(),
            packets_read: r.packets_read,
            queue_drops: r.queue_drops,
            kernel_drops: r.kernel_drops,
            capture_errors: (r.errors.len() + r.capture_errors.len()) as u64,
            workers: r.workers,
            last_ts: r.last_ts,
            finished,
            latency: r.latency.clone(),
        }
    }
}

/// Where the engine publishes snapshots and the metrics thread reads them, plus the live gauges that the
/// dispatcher sets directly (worker queue depths).
#[derive(Debug, Default)]
pub struct Hub {
    latest: Mutex<Option<Arc<Snapshot>>>,
    /// The running pipeline's live counters (worker queue depths, set by the dispatchers at every send).
    live: Mutex<Option<Arc<LiveCounters>>>,
    /// The syslog sink's counters, when there is one.
    syslog: Mutex<Option<StatsHandle>>,
    /// The HEP sink's counters, when there is one.
    hep: Mutex<Option<HepStatsHandle>>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    /// Publishes `s` as the latest figures.
    pub fn publish(&self, s: Snapshot) {
        let s = Arc::new(s);
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = Some(s);
    }

    /// The latest figures, if any were published.
    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Follows the live counters of a run that starts.
    pub fn attach(&self, c: Arc<LiveCounters>) {
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = Some(c);
    }

    /// Follows a syslog sink's counters.
    pub fn attach_syslog(&self, h: StatsHandle) {
        *self.syslog.lock().unwrap_or_else(PoisonError::into_inner) = Some(h);
    }

    /// Follows a HEP sink's counters.
    pub fn attach_hep(&self, h: HepStatsHandle) {
        *self.hep.lock().unwrap_or_else(PoisonError::into_inner) = Some(h);
    }

    fn hep_stats(&self) -> Option<HepStats> {
        self.hep
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(HepStatsHandle::get)
    }

    fn syslog_stats(&self) -> Option<SyslogStats> {
        self.syslog
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(StatsHandle::get)
    }

    fn queue_depths(&self) -> Vec<u64> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|c| c.queue_depths())
            .unwrap_or_default()
    }
}

/// Parses `--metrics`: `PORT` (loopback), `ADDR:PORT` or `[V6]:PORT`, or a host name that resolves.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.to_socket_addrs()
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| format!("`{s}` is not PORT, ADDRESS:PORT or [IPV6]:PORT"))
}

// ---- rendering -------------------------------------------------------------------------------------------

fn label(name: &str, value: &str) -> LabelPair {
    let mut l = LabelPair::default();
    l.set_name(name.to_owned());
    l.set_value(value.to_owned());
    l
}

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs.iter().map(|(k, v)| label(k, v)).collect()
}

/// One metric family being built.
struct Family(MetricFamily);

impl Family {
    fn new(name: &str, help: &str, kind: MetricType) -> Family {
        let mut f = MetricFamily::default();
        f.set_name(name.to_owned());
        f.set_help(help.to_owned());
        f.set_field_type(kind);
        Family(f)
    }

    fn counter(name: &str, help: &str) -> Family {
        Family::new(name, help, MetricType::COUNTER)
    }

    fn gauge(name: &str, help: &str) -> Family {
        Family::new(name, help, MetricType::GAUGE)
    }

    /// Adds a sample (a counter or gauge value, by the family's type) with `pairs` as labels.
    #[expect(
        clippy::cast_precision_loss,
        reason = "Prometheus samples are f64; counters stay exact up to 2^53"
    )]
    fn add(mut self, pairs: &[(&str, &str)], v: u64) -> Family {
        self.addf(pairs, v as f64);
        self
    }

    fn addf(&mut self, pairs: &[(&str, &str)], v: f64) {
        let mut m = Metric::from_label(labels(pairs));
        if self.0.get_field_type() == MetricType::COUNTER {
            let mut c = Counter::default();
            c.set_value(v);
            m.set_counter(c);
        } else {
            let mut g = Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        }
        self.0.mut_metric().push(m);
    }

    fn hist(name: &str, help: &str, h: &Hist) -> Family {
        let mut f = Family::new(name, help, MetricType::HISTOGRAM);
        let mut cum = 0u64;
        let buckets = h.bounds.iter().zip(&h.counts).map(|(ub, n)| {
            cum += n;
            (*ub, cum)
        });
        f.add_hist(&[], buckets, h.count, h.sum);
        f
    }

    /// Adds one histogram sample: `buckets` are (upper bound, cumulative count), increasing.
    fn add_hist(
        &mut self,
        pairs: &[(&str, &str)],
        buckets: impl Iterator<Item = (f64, u64)>,
        count: u64,
        sum: f64,
    ) {
        let mut h = Histogram::default();
        // The encoder writes the `+Inf` bucket itself (from the count); an infinite bound here would come out
        // as `le="inf"`.
        h.set_bucket(
            buckets
                .filter(|(ub, _)| ub.is_finite())
                .map(|(ub, n)| {
                    let mut b = Bucket::default();
                    b.set_upper_bound(ub);
                    b.set_cumulative_count(n);
                    b
                })
                .collect(),
        );
        h.set_sample_count(count);
        h.set_sample_sum(sum);
        let mut m = Metric::from_label(labels(pairs));
        m.set_histogram(h);
        self.0.mut_metric().push(m);
    }
}

/// Latency bucket bounds, seconds: from a fast path (100 µs) to a backlog (10 s).
const LATENCY_BOUNDS: [f64; 12] = [
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.1,
    1.0,
    10.0,
    f64::INFINITY,
];

fn latency_family(s: &Snapshot) -> MetricFamily {
    let mut f = Family::new(
        "callguard_processing_latency_seconds",
        "Time from the sensor reading a packet to: its worker having decoded it (stage worker, per batch), \
         the engine having handled its event (engine, per event), an alert it raised reaching the outputs \
         (alert, per alert). HDR histograms per worker, merged.",
        MetricType::HISTOGRAM,
    );
    let stages: [(&str, &Latency); 3] = [
        ("worker", &s.counters.latency),
        ("engine", &s.latency.engine),
        ("alert", &s.latency.alert),
    ];
    for (stage, l) in stages {
        let buckets = LATENCY_BOUNDS.iter().map(|ub| (*ub, l.count_le(*ub)));
        f.add_hist(&[("stage", stage)], buckets, l.count(), l.sum_secs());
    }
    f.0
}

fn table_families(s: &Snapshot, out: &mut Vec<MetricFamily>) {
    let c = &s.counters;
    let tcp = TableStats {
        len: c.tcp.active,
        cap: 0,
        evicted: c.tcp.evicted,
        expired: c.tcp.timed_out,
    };
    let defrag = TableStats {
        len: c.defrag.in_flight,
        cap: 0,
        evicted: c.defrag.evicted,
        expired: c.defrag.timed_out,
    };
    let worker: [(&str, &TableStats); 7] = [
        ("worker.flows", &c.flows.table),
        ("worker.tcp_connections", &tcp),
        ("worker.ip_fragments", &defrag),
        ("worker.rtp_streams", &c.media.streams),
        ("worker.rtp_candidates", &c.media.candidates),
        ("worker.tls_handshakes", &c.tls.table),
        ("worker.dtls_handshakes", &c.tls.dtls_table),
    ];
    let all = || {
        worker
            .iter()
            .map(|(n, t)| (*n, *t))
            .chain(s.tables.iter().map(|(n, t)| (n.as_str(), t)))
    };
    let mut entries = Family::gauge(
        "callguard_table_entries",
        "Entries now in each bounded table (worker tables summed over workers).",
    );
    let mut cap = Family::gauge(
        "callguard_table_capacity_entries",
        "The cap of each bounded table, where it has one in entries (summed over workers).",
    );
    let mut evicted = Family::counter(
        "callguard_table_evictions_total",
        "Entries dropped from each bounded table because it was full.",
    );
    let mut expired = Family::counter(
        "callguard_table_expirations_total",
        "Entries dropped from each bounded table because they were idle past its timeout (packet time).",
    );
    for (name, t) in all() {
        let l = [("table", name)];
        entries = entries.add(&l, t.len as u64);
        if t.cap > 0 {
            cap = cap.add(&l, t.cap as u64);
        }
        evicted = evicted.add(&l, t.evicted);
        expired = expired.add(&l, t.expired);
    }
    out.extend([entries.0, cap.0, evicted.0, expired.0]);
}

fn sip_families(c: &Counters, out: &mut Vec<MetricFamily>) {
    let mut req = Family::counter(
        "callguard_sip_requests_total",
        "SIP requests seen, by method (15 methods and `other`) and transport (udp; tcp includes WebSocket).",
    );
    let mut resp = Family::counter(
        "callguard_sip_responses_total",
        "SIP responses seen, by status class and transport.",
    );
    for (transport, sc) in [("udp", &c.sip), ("tcp", &c.sip_tcp)] {
        for (m, n) in SIP_METHODS.iter().zip(sc.requests) {
            req = req.add(&[("method", m), ("transport", transport)], n);
        }
        for (class, n) in ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"]
            .iter()
            .zip(sc.responses)
        {
            resp = resp.add(&[("class", class), ("transport", transport)], n);
        }
    }
    let msgs = Family::counter(
        "callguard_sip_messages_total",
        "SIP messages seen, by transport (WebSocket apart from plain TCP).",
    )
    .add(&[("transport", "udp")], c.get(Proto::Sip))
    .add(&[("transport", "tcp")], c.sip_tcp_messages)
    .add(&[("transport", "ws")], c.sip_ws_messages);
    out.extend([req.0, resp.0, msgs.0]);
}

fn call_families(s: &Snapshot, out: &mut Vec<MetricFamily>) {
    let active = s
        .tables
        .iter()
        .find(|(n, _)| n == "engine.calls")
        .map_or(0, |(_, t)| t.len as u64);
    out.push(
        Family::gauge(
            "callguard_calls_active",
            "Calls in progress (dialogs in the call table).",
        )
        .add(&[], active)
        .0,
    );
    out.push(
        Family::counter(
            "callguard_calls_started_total",
            "Calls started (first INVITE of a dialog seen).",
        )
        .add(&[], s.calls.started)
        .0,
    );
    out.push(
        Family::counter(
            "callguard_calls_answered_total",
            "Calls answered (a 2xx to the INVITE).",
        )
        .add(&[], s.calls.answered)
        .0,
    );
    let mut ended = Family::counter(
        "callguard_calls_total",
        "Calls ended (call records written), by signalling transport and by how their media was protected \
         (protected, partial, unprotected, no_media). SIP over TLS is not readable and never here.",
    );
    for (ti, t) in TRANSPORTS.iter().enumerate() {
        for (pi, p) in POSTURES.iter().enumerate() {
            let n = s
                .media
                .calls_by
                .get(ti)
                .and_then(|r| r.get(pi))
                .copied()
                .unwrap_or(0);
            ended = ended.add(&[("transport", t), ("posture", p)], n);
        }
    }
    out.push(ended.0);
    let mut reg = Family::counter(
        "callguard_sip_register_transactions_total",
        "REGISTER transactions by outcome (challenged counts a 401/407 before the retry).",
    );
    for (o, n) in [
        ("challenged", s.calls.register_challenged),
        ("accepted", s.calls.register_ok),
        ("failed", s.calls.register_failed),
    ] {
        reg = reg.add(&[("outcome", o)], n);
    }
    out.push(reg.0);
}

fn media_families(s: &Snapshot, out: &mut Vec<MetricFamily>) {
    out.push(
        Family::gauge(
            "callguard_rtp_streams_active",
            "RTP streams being followed now (summed over workers).",
        )
        .add(&[], s.counters.media.streams.len as u64)
        .0,
    );
    let mut streams = Family::counter(
        "callguard_rtp_streams_total",
        "RTP streams ended, by encryption state (rtp, srtp, zrtp, dtls_srtp, unknown).",
    );
    for (e, n) in Encryption::ALL.iter().zip(s.media.streams) {
        streams = streams.add(&[("encryption", e.name())], n);
    }
    out.push(streams.0);
    out.push(
        Family::hist(
            "callguard_rtp_jitter_seconds",
            "RFC 3550 interarrival jitter (the final estimate) of ended RTP streams with 50 packets or more.",
            &s.media.jitter,
        )
        .0,
    );
    out.push(
        Family::hist(
            "callguard_rtp_loss_ratio",
            "Share of expected packets lost, per ended RTP stream with 50 packets or more.",
            &s.media.loss,
        )
        .0,
    );
    out.push(
        Family::hist(
            "callguard_rtp_mos",
            "Estimated MOS (G.107 E-model) of ended RTP streams with 50 packets or more and a known codec.",
            &s.media.mos,
        )
        .0,
    );
}

fn alert_families(s: &Snapshot, out: &mut Vec<MetricFamily>) {
    let mut f = Family::counter(
        "callguard_alerts_total",
        "Alerts raised, by detector and severity (1 high, 2 medium, 3 low); every detector's default \
         severity is present from the start.",
    );
    for m in METAS {
        let tally = s.alerts.iter().find(|(slug, _)| *slug == m.slug);
        for (i, sev) in ["1", "2", "3"].iter().enumerate() {
            let n = tally
                .and_then(|(_, t)| t.severity.get(i))
                .copied()
                .unwrap_or(0);
            if n > 0 || usize::from(m.severity.number()) == i + 1 {
                f = f.add(&[("detector", m.slug), ("severity", sev)], n);
            }
        }
    }
    out.push(f.0);
    out.push(
        Family::counter(
            "callguard_alerts_suppressed_total",
            "Alerts dropped as repeats within the suppression window.",
        )
        .add(&[], s.engine.suppressed)
        .0,
    );
}

/// The families for `s`, plus the live gauges of `hub` (queue depths), in exposition order.
pub fn families(s: &Snapshot, queue_depths: &[u64]) -> Vec<MetricFamily> {
    let c = &s.counters;
    let mut out = Vec::new();
    out.push(
        Family::gauge(
            "callguard_build_info",
            "Always 1; the labels carry the version and the cargo features of this binary.",
        )
        .add(
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("features", FEATURES),
            ],
            1,
        )
        .0,
    );
    let mut pk = Family::counter(
        "callguard_packets_total",
        "Packets decoded, by protocol; one packet counts once in each layer it has.",
    );
    let mut by = Family::counter(
        "callguard_bytes_total",
        "Captured bytes of the packets decoded, by protocol (the whole frame counts in each of its layers).",
    );
    for p in Proto::ALL {
        pk = pk.add(&[("protocol", p.name())], c.get(p));
        by = by.add(&[("protocol", p.name())], c.bytes_of(p));
    }
    out.extend([pk.0, by.0]);
    let mut mal = Family::counter(
        "callguard_malformed_packets_total",
        "Packets that did not decode, by the layer where decoding stopped.",
    );
    for l in Layer::ALL {
        mal = mal.add(
            &[("layer", l.name())],
            c.malformed.get(l.index()).copied().unwrap_or(0),
        );
    }
    out.push(mal.0);
    out.push(
        Family::counter(
            "callguard_unsupported_packets_total",
            "Frames of a link type this sensor does not decode.",
        )
        .add(&[], c.unsupported_link)
        .0,
    );
    out.push(
        Family::counter(
            "callguard_capture_packets_total",
            "Packets read from the capture sources (files or interfaces).",
        )
        .add(&[], s.packets_read)
        .0,
    );
    out.push(
        Family::counter(
            "callguard_capture_drops_total",
            "Packets lost before analysis, by stage: kernel_ring (the capture ring was full) or queue (a \
             worker's queue was full).",
        )
        .add(&[("stage", "kernel_ring")], s.kernel_drops)
        .add(&[("stage", "queue")], s.queue_drops)
        .0,
    );
    out.push(
        Family::counter(
            "callguard_capture_errors_total",
            "Capture sources that ended in an error (a truncated or corrupt file, a failed interface).",
        )
        .add(&[], s.capture_errors)
        .0,
    );
    let mut depth = Family::gauge(
        "callguard_worker_queue_depth_batches",
        "Packet batches waiting in each worker's queue.",
    );
    for (i, d) in queue_depths.iter().enumerate() {
        depth = depth.add(&[("worker", &i.to_string())], *d);
    }
    out.push(depth.0);
    out.push(
        Family::gauge("callguard_workers", "Worker threads of the current run.")
            .add(&[], s.workers as u64)
            .0,
    );
    let mut ev = Family::counter(
        "callguard_engine_events_total",
        "Events the workers handed to the detection engine, by kind.",
    );
    for k in EventKind::ALL {
        ev = ev.add(
            &[("kind", k.name())],
            s.engine.events.get(k as usize).copied().unwrap_or(0),
        );
    }
    out.push(ev.0);
    sip_families(c, &mut out);
    call_families(s, &mut out);
    media_families(s, &mut out);
    out.push(
        Family::counter(
            "callguard_tls_handshakes_total",
            "TLS (over TCP) and DTLS (over UDP) handshakes summarised.",
        )
        .add(&[("protocol", "tls")], c.tls.handshakes)
        .add(&[("protocol", "dtls")], c.tls.dtls_handshakes)
        .0,
    );
    alert_families(s, &mut out);
    out.push(latency_family(s));
    table_families(s, &mut out);
    let mut last = Family::gauge(
        "callguard_last_packet_timestamp_seconds",
        "Packet time of the newest packet analysed (seconds since the epoch).",
    );
    #[expect(
        clippy::cast_precision_loss,
        reason = "seconds since the epoch with millisecond precision fit an f64"
    )]
    last.addf(&[], s.last_ts.as_nanos() as f64 / 1e9);
    out.push(last.0);
    out.push(
        Family::gauge(
            "callguard_run_finished",
            "1 once the input is over (analyze, or live after SIGINT) and these are the final figures.",
        )
        .add(&[], u64::from(s.finished))
        .0,
    );
    out
}

/// Renders the exposition text for the hub's latest snapshot (empty figures before the first one).
pub fn render(hub: &Hub) -> String {
    let snap = hub.latest().unwrap_or_default();
    let mut fams = families(&snap, &hub.queue_depths());
    if let Some(st) = hub.syslog_stats() {
        fams.push(
            Family::counter(
                "callguard_syslog_messages_total",
                "Alerts for the syslog sink, by outcome: sent, dropped (queue full, send failed, or not sent in \
                 time at the end), truncated (sent without evidence to fit 65000 bytes).",
            )
            .add(&[("outcome", "sent")], st.sent)
            .add(&[("outcome", "dropped")], st.dropped)
            .add(&[("outcome", "truncated")], st.truncated)
            .0,
        );
        fams.push(
            Family::counter(
                "callguard_syslog_errors_total",
                "Failed syslog sends, connects and writes.",
            )
            .add(&[], st.errors)
            .0,
        );
        fams.push(
            Family::counter(
                "callguard_syslog_reconnects_total",
                "TCP connections to the syslog receiver made again after an error.",
            )
            .add(&[], st.reconnects)
            .0,
        );
    }
    if let Some(st) = hub.hep_stats() {
        fams.push(
            Family::counter(
                "callguard_hep_messages_total",
                "SIP messages for the HEP collector, by outcome: sent, dropped (queue full, send failed, or not \
                 sent in time at the end), too_big (over one datagram).",
            )
            .add(&[("outcome", "sent")], st.sent)
            .add(&[("outcome", "dropped")], st.dropped)
            .add(&[("outcome", "too_big")], st.too_big)
            .0,
        );
        fams.push(
            Family::counter("callguard_hep_errors_total", "Failed HEP sends.")
                .add(&[], st.errors)
                .0,
        );
    }
    #[cfg(target_os = "linux")]
    fams.extend(prometheus::process_collector::ProcessCollector::for_self().collect());
    // A family without samples (no worker queues before the first run) is left out, not an error.
    fams.retain(|f| !f.get_metric().is_empty());
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&fams, &mut buf) {
        return format!("# callguard: encoding the metrics failed: {e}\n");
    }
    String::from_utf8(buf).unwrap_or_default()
}

// ---- HTTP ------------------------------------------------------------------------------------------------

const INDEX: &str = "<!doctype html>\n<html><head><title>callguard</title></head><body>\n<h1>callguard</h1>\n\
<p>Passive VoIP security sensor. <a href=\"/metrics\">Metrics</a> (Prometheus text format).</p>\n</body></html>\n";

/// The running metrics endpoint.
pub struct Server {
    /// The address it listens on (the real port when asked for port 0).
    pub addr: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts serving `/metrics` (and `/`) on `addr` from `hub`, on a thread of its own.
pub fn serve(addr: SocketAddr, hub: Arc<Hub>) -> io::Result<Server> {
    let server = tiny_http::Server::http(addr).map_err(io::Error::other)?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| io::Error::other("the metrics listener has no IP address"))?;
    let server = Arc::new(server);
    let srv = server.clone();
    let thread = std::thread::Builder::new()
        .name("cg-metrics".into())
        .spawn(move || {
            for req in srv.incoming_requests() {
                answer(req, &hub);
            }
        })?;
    Ok(Server {
        addr: bound,
        server,
        thread: Some(thread),
    })
}

fn header(k: &str, v: &str) -> Option<tiny_http::Header> {
    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok()
}

fn answer(req: tiny_http::Request, hub: &Hub) {
    use tiny_http::{Method, Response};
    let path = req.url().split('?').next().unwrap_or("");
    let head = *req.method() == Method::Head;
    let (code, ctype, body) = match (req.method(), path) {
        (Method::Get | Method::Head, "/metrics") => {
            (200, "text/plain; version=0.0.4; charset=utf-8", render(hub))
        }
        (Method::Get | Method::Head, "/") => (200, "text/html; charset=utf-8", INDEX.to_owned()),
        (Method::Get | Method::Head, _) => (
            404,
            "text/plain; charset=utf-8",
            "not found: try /metrics\n".to_owned(),
        ),
        _ => (
            405,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".to_owned(),
        ),
    };
    let mut resp =
        Response::from_string(if head { String::new() } else { body }).with_status_code(code);
    if let Some(h) = header("Content-Type", ctype) {
        resp = resp.with_header(h);
    }
    // A scraper that hung up is its own problem.
    let _ = req.respond(resp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_default_to_loopback() {
        assert_eq!(
            parse_listen("9477").unwrap(),
            "127.0.0.1:9477".parse().unwrap()
        );
        assert_eq!(
            parse_listen("0.0.0.0:9477").unwrap(),
            "0.0.0.0:9477".parse().unwrap()
        );
        assert_eq!(
            parse_listen("[::1]:9477").unwrap(),
            "[::1]:9477".parse().unwrap()
        );
        assert!(parse_listen("nonsense:port").is_err());
    }

    #[test]
    fn the_exposition_has_help_and_type_for_every_family_and_no_high_cardinality_label() {
        let hub = Hub::new();
        let mut s = Snapshot::default();
        s.counters.count(Proto::Udp);
        s.media.jitter.observe(0.003);
        s.alerts.push((
            "sip-flood",
            DetectorTally {
                sid: 3001,
                count: 2,
                severity: [0, 2, 0],
                ..Default::default()
            },
        ));
        hub.publish(s);
        let text = render(&hub);
        assert!(
            text.contains("callguard_packets_total{protocol=\"udp\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("callguard_alerts_total{detector=\"sip-flood\",severity=\"2\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("callguard_rtp_jitter_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
        assert!(
            text.contains("callguard_rtp_jitter_seconds_bucket{le=\"+Inf\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("le=\"inf\""), "{text}");
        let mut helped = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                helped.insert(rest.split(' ').next().unwrap_or("").to_owned());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap_or("");
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| helped.contains(*f)))
                    .unwrap_or(name);
                assert!(helped.contains(family), "no HELP for {name}");
            }
        }
        for bad in ["call_id", "user", "ip=", "addr", "number"] {
            assert!(!text.contains(&format!("{{{bad}")), "label {bad} in {text}");
        }
    }
}
