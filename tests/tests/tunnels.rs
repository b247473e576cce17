//! Remote mirroring: a capture taken at the far end of an ERSPAN session (or of a VXLAN traffic mirror) holds
//! only tunnel packets; callguard decodes the mirrored frames inside them. The ERSPAN captures are recorded lab
//! captures re-encapsulated by scapy's ERSPAN layers (tests/lab/scenarios/erspan.sh), so their findings must
//! be exactly those of the captures they came from: every alert, call record and TLS record, at the same
//! packet times, with 1 worker and with 4.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::path::{Path, PathBuf};

use callguard::capture;
use callguard::output::eve::{self, EveWriter};
use callguard::pipeline::{self, Options, QueueMode};
use callguard_rules::config::Config;
use serde_json::Value;

fn pcap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("pcaps")
        .join(name)
}

/// Every output line of the pipeline on `path` with `workers`: the findings and records, and the last stats.
fn run(path: &Path, workers: usize) -> (Vec<Value>, Value) {
    let src = capture::open(path).unwrap();
    let mut w = EveWriter::new(Vec::new());
    let opts = Options {
        workers,
        mode: QueueMode::Block,
        metrics: None,
        control: None,
        hep: None,
    };
    let report = pipeline::run(vec![src], &Config::default(), &opts, &mut w, &mut |_| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    w.line(&eve::stats_json(&report)).unwrap();
    let mut lines: Vec<Value> = String::from_utf8(w.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stats = lines.pop().unwrap()["stats"].clone();
    assert!(lines.iter().all(|l| l["event_type"] != "stats"));
    (lines, stats)
}

#[test]
fn erspan_captures_raise_exactly_what_their_sources_raise() {
    for (tunnelled, source, tunnel) in [
        ("lab-erspan.pcap", "lab-svcrack.pcap", "ERSPAN II"),
        ("lab-erspan3.pcap", "lab-calls.pcap", "ERSPAN III"),
    ] {
        let (want, want_stats) = run(&pcap(source), 1);
        assert!(
            want.iter().any(|l| l["event_type"] == "alert"),
            "{source} raises something"
        );
        for workers in [1, 4] {
            let (got, stats) = run(&pcap(tunnelled), workers);
            assert_eq!(got, want, "{tunnelled} ({tunnel}) with {workers} workers");
            let d = &stats["decoder"];
            // Every frame came in ERSPAN, and inside it decoded as the source's frames did.
            assert_eq!(d["protocols"]["erspan"], d["packets"], "{tunnelled}");
            for p in ["sip", "rtp", "udp", "ipv4", "arp"] {
                assert_eq!(
                    d["protocols"][p], want_stats["decoder"]["protocols"][p],
                    "{tunnelled}: {p}"
                );
            }
            assert_eq!(d["malformed"]["tunnel"], 0);
        }
    }
}

#[test]
fn a_vxlan_mirror_recorded_in_the_lab_is_decoded_whole() {
    // tests/lab/scenarios/remote-mirror.sh with MIRROR=vxlan: the kernel's VXLAN device carried the mirror.
    let (lines, stats) = run(&pcap("lab-vxlan.pcap"), 4);
    let d = &stats["decoder"];
    assert_eq!(d["protocols"]["vxlan"], d["packets"]);
    let sids: Vec<u64> = lines
        .iter()
        .filter_map(|l| l["alert"]["signature_id"].as_u64())
        .collect();
    // svcrack's guesses and the winning one, seen inside the tunnel.
    for sid in [4003, 5001, 5002, 5003, 1002] {
        assert!(sids.contains(&sid), "{sid} in {sids:?}");
    }
    let calls: Vec<_> = lines.iter().filter(|l| l["event_type"] == "call").collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["call"]["media_posture"], "unprotected");
}
