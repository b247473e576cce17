//! `--metrics`: the endpoint of a real `callguard analyze` run, scraped over TCP, checked for the values the
//! capture implies and, when promtool is installed (CI installs it), with `promtool check metrics`.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A `callguard analyze --metrics 127.0.0.1:0 --metrics-hold` run and the address it serves on.
struct Held {
    child: Child,
    addr: String,
}

impl Held {
    fn start(pcap: &str, extra: &[&str]) -> Held {
        let mut child = Command::new(env!("CARGO_BIN_EXE_callguard"))
            .args([
                "analyze",
                "--metrics",
                "127.0.0.1:0",
                "--metrics-hold",
                "--workers",
                "2",
            ])
            .args(extra)
            .arg(root().join("pcaps").join(pcap))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut addr = None;
        let mut line = String::new();
        // The first line names the address; the second says the run is over and the figures are final.
        while err.read_line(&mut line).unwrap() > 0 {
            if let Some(rest) = line.split("http://").nth(1)
                && addr.is_none()
            {
                addr = Some(rest.split('/').next().unwrap().to_owned());
            }
            if line.contains("the run is over") {
                break;
            }
            line.clear();
        }
        Held {
            child,
            addr: addr.expect("callguard printed its metrics address"),
        }
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        http_get(&self.addr, path, "GET")
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> i32 {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "callguard did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A minimal HTTP/1.0 client: (status, content type, body).
fn http_get(addr: &str, path: &str, method: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, ctype, body.to_owned())
}

/// The value of the sample written exactly as `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no sample {series}"))
        .parse()
        .unwrap()
}

#[test]
fn analyze_serves_the_final_figures_until_sigterm() {
    let held = Held::start("lab-calls.pcap", &[]);
    let (code, ctype, text) = held.get("/metrics");
    assert_eq!(code, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    // lab-calls: sipp's three answered calls through kamailio, G.711 RTP both ways, 955 frames.
    assert_eq!(sample(&text, "callguard_capture_packets_total"), 955.0);
    assert_eq!(
        sample(&text, "callguard_packets_total{protocol=\"rtp\"}"),
        900.0
    );
    assert_eq!(sample(&text, "callguard_calls_started_total"), 3.0);
    assert_eq!(
        sample(
            &text,
            "callguard_calls_total{transport=\"udp\",posture=\"unprotected\"}"
        ),
        3.0
    );
    assert_eq!(sample(&text, "callguard_calls_active"), 0.0);
    assert_eq!(
        sample(
            &text,
            "callguard_sip_requests_total{method=\"INVITE\",transport=\"udp\"}"
        ),
        6.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "callguard_alerts_total{detector=\"cleartext-rtp\",severity=\"2\"}"
        ),
        sample(&text, "callguard_rtp_streams_total{encryption=\"rtp\"}")
    );
    assert_eq!(sample(&text, "callguard_run_finished"), 1.0);
    assert_eq!(
        sample(&text, "callguard_worker_queue_depth_batches{worker=\"0\"}"),
        0.0
    );
    assert!(sample(&text, "callguard_rtp_mos_count") >= 6.0);
    assert!(sample(&text, "process_resident_memory_bytes") > 0.0);
    assert!(text.contains("callguard_build_info{version=\""));
    let (code, ctype, index) = held.get("/");
    assert_eq!(code, 200);
    assert!(ctype.starts_with("text/html") && index.contains("href=\"/metrics\""));
    assert_eq!(held.get("/nothing").0, 404);
    assert_eq!(http_get(&held.addr, "/metrics", "POST").0, 405);
    promtool_check(&text);
    assert_eq!(held.stop(), 0);
}

/// `promtool check metrics` on `text`: required in CI, skipped (with a note) where promtool is missing.
fn promtool_check(text: &str) {
    let Ok(mut p) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("CALLGUARD_REQUIRE_LAB").is_none(),
            "promtool is not installed (apt-get install prometheus)"
        );
        eprintln!("promtool not installed: exposition not linted");
        return;
    };
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["analyze", "--metrics", &addr])
        .arg(root().join("pcaps/demo.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("serving metrics on {addr}")), "{err}");
}

#[test]
fn metrics_hold_needs_metrics() {
    let out = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["analyze", "--metrics-hold"])
        .arg(root().join("pcaps/demo.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap usage error");
}

/// Percent-encodes a PromQL query for a URL.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query against Prometheus's HTTP API: the values of the result vector.
fn promql(prom: &str, q: &str) -> Vec<f64> {
    let (code, _, body) = http_get(
        prom,
        &format!("/api/v1/query?query={}", urlencode(q)),
        "GET",
    );
    assert_eq!(code, 200, "{q}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{q}: {body}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"][1].as_str().unwrap().parse().unwrap())
        .collect()
}

/// A real Prometheus server (the Debian package) scrapes a held `analyze` run on loopback; its HTTP API then
/// answers with the values the capture implies.
#[test]
fn a_real_prometheus_scrapes_the_sensor() {
    if Command::new("prometheus")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CALLGUARD_REQUIRE_LAB").is_none(),
            "prometheus is not installed (apt-get install prometheus)"
        );
        eprintln!("prometheus not installed: skipped");
        return;
    }
    let held = Held::start("lab-calls.pcap", &[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: callguard\n    static_configs:\n      - targets: ['{}']\n",
            held.addr
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prom = format!("127.0.0.1:{port}");
    let mut server = Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={prom}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut ready = false;
    while t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
        if TcpStream::connect(&prom).is_ok()
            && promql(&prom, "callguard_calls_started_total") == [3.0]
        {
            ready = true;
            break;
        }
    }
    let checks = || {
        assert!(ready, "Prometheus did not scrape callguard within 60 s");
        assert_eq!(promql(&prom, "up{job=\"callguard\"}"), [1.0]);
        assert_eq!(promql(&prom, "callguard_capture_packets_total"), [955.0]);
        assert_eq!(
            promql(&prom, "sum(callguard_packets_total{protocol=~\"rtp|sip\"})"),
            [943.0]
        );
        assert_eq!(
            promql(
                &prom,
                "sum by (posture) (callguard_calls_total{posture=\"unprotected\"})"
            ),
            [3.0]
        );
        assert_eq!(
            promql(
                &prom,
                "sum(callguard_alerts_total{detector=\"cleartext-sip\"})"
            ),
            [2.0]
        );
        assert_eq!(promql(&prom, "count(callguard_build_info)"), [1.0]);
        // Histograms work as histograms: every call's streams are clean G.711 on a LAN.
        let q = promql(
            &prom,
            "histogram_quantile(0.5, sum by (le) (callguard_rtp_mos_bucket))",
        );
        assert!(q.len() == 1 && q[0] > 4.0 && q[0] <= 4.5, "{q:?}");
        let lat = promql(
            &prom,
            "callguard_processing_latency_seconds_count{stage=\"engine\"}",
        );
        assert!(lat.len() == 1 && lat[0] > 0.0, "{lat:?}");
        assert_eq!(
            promql(&prom, "count(callguard_table_entries)").len(),
            1,
            "table gauges are scraped"
        );
        assert!(promql(&prom, "process_resident_memory_bytes{job=\"callguard\"}")[0] > 0.0);
        // Every family the sensor exports is stored by Prometheus under its name (histograms as
        // _bucket/_sum/_count), with the type Prometheus read from the exposition.
        let (_, _, body) = http_get(
            &prom,
            &format!(
                "/api/v1/query?query={}",
                urlencode("group by (__name__) ({__name__=~\"callguard_.+\"})")
            ),
            "GET",
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let stored: std::collections::BTreeSet<String> = v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["metric"]["__name__"].as_str().unwrap().to_owned())
            .collect();
        let snap = callguard::metrics::Snapshot::default();
        for f in callguard::metrics::families(&snap, &[0]) {
            let name = f.name();
            let want: Vec<String> =
                if f.get_field_type() == prometheus::proto::MetricType::HISTOGRAM {
                    ["_bucket", "_sum", "_count"]
                        .iter()
                        .map(|s| format!("{name}{s}"))
                        .collect()
                } else {
                    vec![name.to_owned()]
                };
            for w in want {
                assert!(stored.contains(&w), "{w} not in Prometheus: {stored:?}");
            }
        }
        let (_, _, meta) = http_get(
            &prom,
            "/api/v1/metadata?metric=callguard_alerts_total",
            "GET",
        );
        assert!(meta.contains("\"type\":\"counter\""), "{meta}");
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(checks));
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(held.stop(), 0);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
