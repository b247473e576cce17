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
