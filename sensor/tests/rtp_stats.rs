//! Our per-stream RTP statistics against tshark's on real captures: each capture is read with the sensor's
//! reader and decoder, UDP datagrams that `rtp::probe_rtp` accepts are grouped by (source, source port,
//! destination, destination port, SSRC) as tshark groups them, and each stream's figures must agree with
//! the `tshark -q -z rtp,streams` table recorded by `tests/lab/rtp_reference.sh` in
//! `fixtures/rtp_streams/<capture>.txt`: the same packet count, the loss within 1 % of the packets, and max
//! and mean jitter and max delta within 0.5 ms (and the min jitter and min and mean delta too). Run with
//! `--nocapture` to see both sides of every figure.
//!
//! The same captures then go through a [`Worker`], as the pipeline feeds it (a sweep at each new second of
//! packet time, then the end of input): the `RtpEnd` events it emits must list the same streams as tshark,
//! once each, with the same packet counts, the loss within 1 % and max and mean jitter within 0.5 ms; and
//! their figures must be exactly those of the direct computation above.
// Marks the whole file as test code, so clippy.toml's allow-*-in-tests cover the helpers too.
#![cfg(test)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use callguard::capture;
use callguard::worker::Worker;
use callguard::worker::rtp_stats::{self, StreamStats, StreamSummary};
use callguard_parsers::link::{self, Net, Transport};
use callguard_parsers::rtp;
use callguard_rules::event::{Event, Payload, RtpEnd, StreamEnd};

/// A stream as tshark keys it.
type Key = (IpAddr, u16, IpAddr, u16, u32);

/// One row of tshark's table.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    key: Key,
    payload: String,
    packets: u64,
    lost: i64,
    min_delta: f64,
    mean_delta: f64,
    max_delta: f64,
    min_jitter: f64,
    mean_jitter: f64,
    max_jitter: f64,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/rtp_streams/{name}.txt"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Parses tshark's `rtp,streams` table. Columns are whitespace-separated, except that "Lost" is two tokens,
/// `N (P%)`, and "Payload" may hold several names joined by commas (never spaces), and "Problems?" is an
/// `X` or nothing. Lines outside the table (the header comment, the rules, the column titles) are skipped.
fn parse_table(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|line| {
            let t: Vec<&str> = line.split_whitespace().collect();
            // start end src sport dst dport ssrc payload pkts lost (pct) 6 figures [X]
            if t.len() < 17 || !t[6].starts_with("0x") {
                return None;
            }
            let f = |i: usize| -> f64 {
                t[i].parse()
                    .unwrap_or_else(|e| panic!("{line:?} col {i}: {e}"))
            };
            let key = (
                t[2].parse().unwrap(),
                t[3].parse().unwrap(),
                t[4].parse().unwrap(),
                t[5].parse().unwrap(),
                u32::from_str_radix(t[6].trim_start_matches("0x"), 16).unwrap(),
            );
            assert!(
                t[10].starts_with('(') && t[10].ends_with("%)"),
                "{line:?}: lost column"
            );
            Some(Row {
                key,
                payload: t[7].to_string(),
                packets: t[8].parse().unwrap(),
                lost: t[9].parse().unwrap(),
                min_delta: f(11),
                mean_delta: f(12),
                max_delta: f(13),
                min_jitter: f(14),
                mean_jitter: f(15),
                max_jitter: f(16),
            })
        })
        .collect()
}

/// Reads a capture and computes every stream's figures.
fn streams(name: &str) -> BTreeMap<Key, StreamSummary> {
    let path = root().join(format!("pcaps/{name}.pcap"));
    let mut src = capture::open(&path).unwrap();
    let mut map: BTreeMap<Key, StreamStats> = BTreeMap::new();
    src.for_each(&mut |raw| {
        let Ok(d) = link::decode(raw.link, raw.data) else {
            return ControlFlow::Continue(());
        };
        let Net::Ip(ip) = d.net else {
            return ControlFlow::Continue(());
        };
        let Transport::Udp(u) = ip.transport else {
            return ControlFlow::Continue(());
        };
        if !rtp::probe_rtp(u.payload) {
            return ControlFlow::Continue(());
        }
        let p = rtp::Packet::new(u.payload).unwrap();
        let key = (ip.src, u.sport, ip.dst, u.dport, p.ssrc());
        let rate = rtp_stats::clock_rate(p.payload_type(), None);
        map.entry(key).or_default().packet(raw.ts, &p, rate);
        ControlFlow::Continue(())
    })
    .unwrap();
    map.into_iter().map(|(k, s)| (k, s.snapshot())).collect()
}

fn show(k: &Key) -> String {
    format!("{}:{} -> {}:{} {:#010x}", k.0, k.1, k.2, k.3, k.4)
}

/// Compares one capture; prints the side-by-side table (visible with `--nocapture`).
fn compare(name: &str) {
    let rows = parse_table(&fixture(name));
    assert!(!rows.is_empty(), "{name}: no stream in the fixture");
    let ours = streams(name);
    let theirs: BTreeMap<Key, &Row> = rows.iter().map(|r| (r.key, r)).collect();
    assert_eq!(
        ours.keys().map(show).collect::<Vec<_>>(),
        theirs.keys().map(show).collect::<Vec<_>>(),
        "{name}: the streams differ"
    );
    let mut failures = Vec::new();
    for (k, s) in &ours {
        let r = theirs[k];
        println!(
            "{name} {} {}: pkts {}/{} lost {}/{} max delta {:.3}/{:.3} mean delta {:.3}/{:.3} \
             max jitter {:.3}/{:.3} mean jitter {:.3}/{:.3} min jitter {:.3}/{:.3} min delta {:.3}/{:.3} \
             dup {} ooo {} resets {} markers {}",
            show(k),
            r.payload,
            s.packets,
            r.packets,
            s.lost,
            r.lost,
            s.max_delta_ms,
            r.max_delta,
            s.mean_delta_ms,
            r.mean_delta,
            s.max_jitter_ms,
            r.max_jitter,
            s.mean_jitter_ms,
            r.mean_jitter,
            s.min_jitter_ms,
            r.min_jitter,
            s.min_delta_ms,
            r.min_delta,
            s.duplicates,
            s.out_of_order,
            s.seq_resets,
            s.markers,
        );
        let lost_tol = r.packets as f64 * 0.01;
        let checks = [
            ("packets", s.packets as f64, r.packets as f64, 0.0),
            ("lost", s.lost as f64, r.lost as f64, lost_tol),
            ("max jitter", s.max_jitter_ms, r.max_jitter, 0.5),
            ("mean jitter", s.mean_jitter_ms, r.mean_jitter, 0.5),
            ("max delta", s.max_delta_ms, r.max_delta, 0.5),
            // Not asked of us, but they agree as closely, so hold them too.
            ("min jitter", s.min_jitter_ms, r.min_jitter, 0.5),
            ("min delta", s.min_delta_ms, r.min_delta, 0.5),
            ("mean delta", s.mean_delta_ms, r.mean_delta, 0.5),
        ];
        for (what, a, b, tol) in checks {
            if (a - b).abs() > tol {
                failures.push(format!(
                    "{name} {}: {what} {a} vs tshark {b} (tolerance {tol})",
                    show(k)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs a capture through a worker as the pipeline does (a clock marker and a sweep when packet time
/// enters a new second; the worker sweeps at most once a second), and returns every event it emitted.
fn worker_events(name: &str) -> Vec<Event> {
    let path = root().join(format!("pcaps/{name}.pcap"));
    let mut src = capture::open(&path).unwrap();
    let mut w = Worker::new();
    let mut events = Vec::new();
    let mut seq = 0u64;
    let mut last_sec = 0;
    src.for_each(&mut |raw| {
        if raw.ts.secs() > last_sec {
            last_sec = raw.ts.secs();
            w.tick(raw.ts, seq, &mut events);
            seq += 1;
        }
        w.packet(seq, raw.ts, raw.link, raw.data, &mut events);
        seq += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    w.finish(&mut events);
    events
}

/// Compares the worker's stream ends on one capture with tshark's table and with the direct computation.
fn compare_worker(name: &str) {
    let rows = parse_table(&fixture(name));
    let theirs: BTreeMap<Key, &Row> = rows.iter().map(|r| (r.key, r)).collect();
    let direct = streams(name);
    let events = worker_events(name);
    let starts = events
        .iter()
        .filter(|e| matches!(e.payload, Payload::RtpStart(_)))
        .count();
    let mut ours: BTreeMap<Key, &RtpEnd> = BTreeMap::new();
    for e in &events {
        if let Payload::RtpEnd(end) = &e.payload {
            let k = &end.key;
            let key = (k.src.ip(), k.src.port(), k.dst.ip(), k.dst.port(), k.ssrc);
            assert!(
                ours.insert(key, end).is_none(),
                "{name} {}: ended twice",
                show(&key)
            );
            assert_eq!(end.reason, StreamEnd::CaptureEnd, "{name} {}", show(&key));
            assert_eq!(e.seq, u64::MAX);
        }
    }
    assert_eq!(starts, ours.len(), "{name}: one start per stream");
    assert_eq!(
        ours.keys().map(show).collect::<Vec<_>>(),
        theirs.keys().map(show).collect::<Vec<_>>(),
        "{name}: the worker's streams differ from tshark's"
    );
    let mut failures = Vec::new();
    for (k, end) in &ours {
        let (s, r, d) = (&end.summary, theirs[k], &direct[k]);
        println!(
            "{name} worker {}: pkts {}/{} lost {}/{} max jitter {:.3}/{:.3} mean jitter {:.3}/{:.3} \
             evidence judged {} codec-sized {} tag-sized {}",
            show(k),
            s.packets,
            r.packets,
            s.lost,
            r.lost,
            s.max_jitter_ms,
            r.max_jitter,
            s.mean_jitter_ms,
            r.mean_jitter,
            end.evidence.judged,
            end.evidence.codec_sized,
            end.evidence.tag_sized,
        );
        let lost_tol = r.packets as f64 * 0.01;
        let checks = [
            ("packets", s.packets as f64, r.packets as f64, 0.0),
            ("lost", s.lost as f64, r.lost as f64, lost_tol),
            ("max jitter", s.max_jitter_ms, r.max_jitter, 0.5),
            ("mean jitter", s.mean_jitter_ms, r.mean_jitter, 0.5),
        ];
        for (what, a, b, tol) in checks {
            if (a - b).abs() > tol {
                failures.push(format!(
                    "{name} {}: worker {what} {a} vs tshark {b} (tolerance {tol})",
                    show(k)
                ));
            }
        }
        let same = (s.packets, s.lost, s.expected, s.duplicates, s.seq_resets)
            == (d.packets, d.lost, d.expected, d.duplicates, d.seq_resets)
            && s.max_jitter_ms == d.max_jitter_ms
            && s.mean_jitter_ms == d.mean_jitter_ms
            && s.max_delta_ms == d.max_delta_ms
            && (s.first, s.last) == (d.first, d.last);
        if !same {
            failures.push(format!(
                "{name} {}: worker figures {s:?} differ from the direct ones {d:?}",
                show(k)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn calls_udp_streams_match_tshark() {
    compare("calls-udp");
}

#[test]
fn calls_udp_worker_stream_ends_match_tshark() {
    compare_worker("calls-udp");
}

/// lab-calls' three calls reuse their ports and SSRC; the worker splits each direction where the sender restarts
/// its sequence numbers, one stream per call, and each segment matches tshark's figures for that call's time
/// window (`lab-calls.call<N>.txt`, see `tests/lab/rtp_reference.sh`).
#[test]
fn lab_calls_worker_splits_each_call_and_each_part_matches_tshark() {
    let mut segments: BTreeMap<Key, Vec<(&RtpEnd, u64)>> = BTreeMap::new();
    let events = worker_events("lab-calls");
    for e in &events {
        if let Payload::RtpEnd(end) = &e.payload {
            let k = &end.key;
            segments
                .entry((k.src.ip(), k.src.port(), k.dst.ip(), k.dst.port(), k.ssrc))
                .or_default()
                .push((end, e.seq));
        }
    }
    assert_eq!(segments.len(), 2, "two directions");
    let mut failures = Vec::new();
    for (k, segs) in &segments {
        assert_eq!(segs.len(), 3, "{}: one segment per call", show(k));
        for (i, (end, _)) in segs.iter().enumerate() {
            let want = if i < 2 {
                StreamEnd::Restart
            } else {
                StreamEnd::CaptureEnd
            };
            assert_eq!(end.reason, want, "{} segment {i}", show(k));
            let rows = parse_table(&fixture(&format!("lab-calls.call{}", i + 1)));
            let r = rows
                .iter()
                .find(|r| r.key == *k)
                .unwrap_or_else(|| panic!("call {}: tshark has no {}", i + 1, show(k)));
            let s = &end.summary;
            println!(
                "lab-calls call {} {}: pkts {}/{} lost {}/{} max jitter {:.3}/{:.3} mean jitter {:.3}/{:.3}",
                i + 1,
                show(k),
                s.packets,
                r.packets,
                s.lost,
                r.lost,
                s.max_jitter_ms,
                r.max_jitter,
                s.mean_jitter_ms,
                r.mean_jitter
            );
            let checks = [
                ("packets", s.packets as f64, r.packets as f64, 0.0),
                (
                    "lost",
                    s.lost as f64,
                    r.lost as f64,
                    r.packets as f64 * 0.01,
                ),
                ("max jitter", s.max_jitter_ms, r.max_jitter, 0.5),
                ("mean jitter", s.mean_jitter_ms, r.mean_jitter, 0.5),
            ];
            for (what, a, b, tol) in checks {
                if (a - b).abs() > tol {
                    failures.push(format!(
                        "call {} {}: worker {what} {a} vs tshark {b}",
                        i + 1,
                        show(k)
                    ));
                }
            }
            assert_eq!(s.seq_resets, 0, "a segment holds no restart");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lab_rtp_injection_worker_stream_ends_match_tshark() {
    compare_worker("lab-rtp-injection");
}

#[test]
fn lab_arp_spoof_worker_stream_ends_match_tshark() {
    compare_worker("lab-arp-spoof");
}

#[test]
fn plain_pcmu_in_the_captures_is_judged_plain() {
    for name in ["calls-udp", "lab-calls", "lab-rtp-injection"] {
        for e in worker_events(name) {
            if let Payload::RtpEnd(end) = &e.payload {
                assert_eq!(
                    end.evidence.verdict(),
                    Some(callguard_rules::event::Encryption::Rtp),
                    "{name}: {:?}",
                    end.evidence
                );
            }
        }
    }
}

#[test]
fn lab_calls_streams_match_tshark() {
    compare("lab-calls");
}

#[test]
fn lab_rtp_injection_streams_match_tshark() {
    compare("lab-rtp-injection");
}

#[test]
fn lab_arp_spoof_streams_match_tshark() {
    compare("lab-arp-spoof");
}

#[test]
fn the_fixture_parser_reads_every_column() {
    let rows = parse_table(&fixture("lab-calls"));
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(
        r.key,
        (
            "10.77.0.12".parse().unwrap(),
            20000,
            "10.77.0.11".parse().unwrap(),
            16000,
            0x0ca1_1ab5
        )
    );
    assert_eq!(r.payload, "g711U");
    assert_eq!((r.packets, r.lost), (450, -300));
    assert_eq!(
        (r.min_delta, r.mean_delta, r.max_delta),
        (0.020, 19.868, 20.254)
    );
    assert_eq!(
        (r.min_jitter, r.mean_jitter, r.max_jitter),
        (0.020, 16.979, 236.980)
    );
}
