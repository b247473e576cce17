//! The command line: exit codes, the summary, outputs, bad input.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn demo() -> PathBuf {
    root().join("pcaps/demo.pcap")
}

fn callguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses EVE lines and validates each against the schema.
fn eve_lines(s: &str) -> Vec<serde_json::Value> {
    let schema_text =
        std::fs::read_to_string(root().join("sensor/schema/eve.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    s.lines()
        .map(|l| {
            let j: serde_json::Value = serde_json::from_str(l).unwrap();
            if let Err(e) = v.validate(&j) {
                panic!("schema: {e} in {l}");
            }
            j
        })
        .collect()
}

#[test]
fn analyze_prints_a_summary_and_exits_zero() {
    let out = callguard(&["analyze", demo().to_str().unwrap(), "--workers", "2"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for want in [
        "callguard summary",
        "packets",
        "packets/s",
        "decoded",
        "malformed",
        "evicted",
        "alerts",
        "arp-spoof",
    ] {
        assert!(stdout.contains(want), "summary lacks {want:?}:\n{stdout}");
    }
}

#[test]
fn json_to_stdout_moves_the_summary_to_stderr() {
    let out = callguard(&["analyze", demo().to_str().unwrap(), "--output", "-"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines = eve_lines(&stdout);
    assert!(lines.iter().any(|l| l["event_type"] == "alert"));
    assert_eq!(lines.last().unwrap()["event_type"], "stats");
    assert!(text(&out.stderr).contains("callguard summary"));
}

#[test]
fn a_truncated_capture_names_file_and_offset_exits_2_and_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(demo()).unwrap();
    let cut = bytes.len() / 2 + 7;
    let path = dir.path().join("cut.pcap");
    std::fs::write(&path, &bytes[..cut]).unwrap();
    let out_json = dir.path().join("out.json");
    let out = callguard(&[
        "analyze",
        path.to_str().unwrap(),
        "--output",
        out_json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cut.pcap"), "{stderr}");
    assert!(stderr.contains("offset"), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("callguard summary"), "{stdout}");
    // What was read before the cut was analysed: the stats line counts packets.
    let json = std::fs::read_to_string(&out_json).unwrap();
    let stats = eve_lines(&json).pop().unwrap();
    assert!(stats["stats"]["capture"]["packets"].as_u64().unwrap() > 100);
    assert_eq!(stats["stats"]["capture"]["errors"], 1);
}

#[test]
fn several_files_are_read_in_order() {
    let d = demo();
    let d = d.to_str().unwrap();
    let one = callguard(&["analyze", d, "--output", "-", "--quiet"]);
    let two = callguard(&["analyze", d, d, "--output", "-", "--quiet"]);
    let packets = |o: &Output| -> u64 {
        let v = eve_lines(&text(&o.stdout)).pop().unwrap();
        v["stats"]["capture"]["packets"].as_u64().unwrap()
    };
    assert!(two.status.success());
    assert_eq!(packets(&two), 2 * packets(&one));
}

#[test]
fn an_unknown_rules_key_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[detectors.arp-spoof]\nstable_sec = 3\n").unwrap();
    let out = callguard(&[
        "analyze",
        demo().to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("detectors.arp-spoof") && stderr.contains("stable_sec"),
        "{stderr}"
    );
}

#[test]
fn a_corrupt_certificate_store_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("certs.json");
    std::fs::write(&store, "{\"version\": 1, \"servers\": [").unwrap();
    let out = callguard(&[
        "analyze",
        demo().to_str().unwrap(),
        "--cert-store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("certs.json") && stderr.contains("corrupt"),
        "{stderr}"
    );
}

#[test]
fn a_certificate_store_outlives_the_run() {
    // Whether or not tls-cert-changed runs, the servers of a saved store are still in it afterwards: kept as
    // they were, or loaded and saved again (the capture has no TLS to change them).
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("certs.json");
    let fp = "ce".repeat(32);
    let saved = format!(
        r#"{{"version": 1, "servers": [{{"server": "10.77.0.1:5061", "sni": "pbx.lab.callguard",
        "first_seen": 1768471200, "last_seen": 1768471300, "cert": {{"sha256": "{fp}",
        "subject": "CN=pbx.lab.callguard", "issuer": "CN=pbx.lab.callguard", "not_before": 1768000000,
        "not_after": 1770000000, "key_type": "rsa", "key_bits": 2048}}}}]}}"#
    );
    std::fs::write(&store, &saved).unwrap();
    for cmd in [
        vec!["analyze", demo().to_str().unwrap()],
        vec!["analyze", demo().to_str().unwrap(), "-q"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--cert-store", store.to_str().unwrap()]);
        let out = callguard(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let after: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
        assert_eq!(after["version"], 1);
        assert_eq!(after["servers"][0]["server"], "10.77.0.1:5061");
        assert_eq!(after["servers"][0]["cert"]["sha256"], fp.as_str());
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["certs.json"]);
}

#[test]
fn a_missing_file_is_an_error() {
    let out = callguard(&["analyze", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/x.pcap"));
}

#[test]
fn a_file_that_is_not_a_capture_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "hello, this is not a capture file at all\n").unwrap();
    let out = callguard(&["analyze", p.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("notes.txt"));
}

#[test]
fn version_names_the_features() {
    let out = callguard(&["--version"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("features"));
}

#[cfg(feature = "libpcap")]
#[test]
fn a_bpf_filter_keeps_only_matching_packets() {
    let d = demo();
    let d = d.to_str().unwrap();
    let stats = |args: &[&str]| -> serde_json::Value {
        let out = callguard(args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        eve_lines(&text(&out.stdout)).pop().unwrap()["stats"].clone()
    };
    let all = stats(&["analyze", d, "--output", "-", "--quiet", "--libpcap"]);
    let arp = stats(&["analyze", d, "--output", "-", "--quiet", "--filter", "arp"]);
    let n = arp["capture"]["packets"].as_u64().unwrap();
    assert!(n > 0 && n < all["capture"]["packets"].as_u64().unwrap());
    assert_eq!(arp["decoder"]["protocols"]["arp"].as_u64().unwrap(), n);
    assert_eq!(
        all["decoder"]["protocols"]["arp"],
        arp["decoder"]["protocols"]["arp"]
    );
    // The same capture through libpcap and through the built-in reader gives the same alerts.
    let builtin = stats(&["analyze", d, "--output", "-", "--quiet"]);
    assert_eq!(builtin["alerts"], all["alerts"]);
    let bad = callguard(&["analyze", d, "--filter", "no such ((("]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("no such"),
        "{}",
        text(&bad.stderr)
    );
}

/// Issue 6: a flood spread over many sources and ports (so over every worker) still adds up at its target.
/// `lab-flood-distributed`: 25 addresses at 10 REGISTER/s each (per-source threshold 50/s), 1746 distinct
/// (address, port) pairs, 250/s at the PBX (per-target threshold 200/s).
#[test]
fn a_flood_spread_over_sources_and_workers_adds_up_at_its_target() {
    let pcap = root().join("pcaps/lab-flood-distributed.pcap");
    let out = callguard(&[
        "analyze",
        pcap.to_str().unwrap(),
        "--workers",
        "4",
        "--quiet",
        "-o",
        "-",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = eve_lines(&text(&out.stdout));
    let floods: Vec<_> = lines
        .iter()
        .filter(|l| l["event_type"] == "alert" && l["alert"]["detector"] == "sip-flood")
        .collect();
    assert_eq!(floods.len(), 1, "{floods:#?}");
    let a = floods[0];
    assert_eq!(a["evidence"]["scope"], "target");
    assert_eq!(a["evidence"]["method"], "REGISTER");
    assert_eq!(a["dest_ip"], "10.77.0.1");
    assert!(a.get("src_ip").is_none(), "no source sent most of it: {a}");
    assert!(a["evidence"]["peak_rate"].as_u64().unwrap() >= 200, "{a}");
}

/// A full disk under both the output and standard error (`/dev/full`): an output error, exit 1, never a panic
/// (101) from printing the error message.
#[test]
fn a_full_disk_is_an_output_error_not_a_crash() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return;
    };
    let st = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["analyze", "--output", "/dev/full"])
        .arg(demo())
        .stdout(full.try_clone().unwrap())
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
}
