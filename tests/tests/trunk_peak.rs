//! `sip-flood` on a carrier trunk busier than the shipped busy-trunk capture: the same generated traffic
//! (`callguard_gen::busy_trunk_with_peak`) with the carrier peaking at 200 call attempts a second, four
//! times `min_rate`. Its calls ring, so the detector judges it against `min_rate_served` and stays quiet;
//! with that judgement turned off (`served_share` above 1) the same capture is a flood, which is what makes
//! the quiet result mean something.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard::capture;
use callguard::output::eve::EveWriter;
use callguard::pipeline::{self, Options, QueueMode};
use callguard_rules::config::Config;
use serde_json::Value;

/// The sip-flood alerts (source, scope, phase, peak rate) of the pipeline on `path`.
fn floods(path: &std::path::Path, config: &Config) -> Vec<(String, String, String, u64)> {
    let src = capture::open(path).unwrap();
    let mut w = EveWriter::new(Vec::new());
    let opts = Options {
        workers: 2,
        mode: QueueMode::Block,
        metrics: None,
        control: None,
        hep: None,
    };
    let report = pipeline::run(vec![src], config, &opts, &mut w, &mut |_| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    String::from_utf8(w.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["alert"]["signature_id"] == 3001)
        .map(|v| {
            let e = &v["evidence"];
            (
                v["src_ip"].as_str().unwrap_or("").to_owned(),
                e["scope"].as_str().unwrap().to_owned(),
                e["phase"].as_str().unwrap().to_owned(),
                e["peak_rate"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_carrier_trunk_at_200_calls_a_second_is_not_a_flood_because_its_calls_ring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy-trunk-200.pcap");
    let frames = callguard_gen::busy_trunk_with_peak(1, 200);
    callguard_gen::write_pcap(&path, &frames).unwrap();

    assert_eq!(floods(&path, &Config::default()), []);

    let off = Config::from_toml("[detectors.sip-flood]\nserved_share = 2.0\n", "test").unwrap();
    let alerts = floods(&path, &off);
    // One episode of the carrier: started as the ramp crosses `min_rate`, ended after the peak of 200/s.
    let carrier: Vec<_> = alerts
        .iter()
        .filter(|(src, scope, ..)| src == "192.0.2.10" && scope == "source")
        .map(|(_, _, phase, peak)| (phase.as_str(), *peak))
        .collect();
    assert_eq!(carrier.len(), 2, "{alerts:?}");
    assert_eq!(carrier[0].0, "started", "{alerts:?}");
    assert_eq!(carrier[1], ("ended", 200), "{alerts:?}");
}
