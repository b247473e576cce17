//! Golden tests: every capture in `pcaps/`, and every capture the generator makes at test time
//! (`callguard_gen::GENERATED`, e.g. `busy-trunk`), against its expectations.
//!
//! For `pcaps/<name>.<ext>` (or a generated `<name>`) there must be `tests/golden/<name>.toml`, human-written expectations in the style of
//! suricata-verify's `test.yaml`:
//!
//! ```toml
//! [counts]            # exact number of alerts per sid (sids not named here may not fire, unless in `allow`)
//! 2004 = 2
//! absent = [3003]     # (top level) sids that must not fire
//! [[alert]]           # each must match at least one alert
//! sid = 2004
//! severity = 1        # required: 1 High, 2 Medium, 3 Low
//! src_ip = "10.0.2.66"
//! evidence = { claimed_ip = "10.0.2.5" }
//! [stats]             # exact values at dotted paths of the final stats event
//! "decoder.protocols.ip_fragment" = 2
//! [[record]]          # exactly `count` lines of this event type have these values (dotted paths; a number
//! event_type = "call" # indexes an array)
//! count = 3
//! fields = { "call.end_reason" = "bye", "call.streams.0.encryption" = "rtp" }
//! ```
//!
//! Expectations of detectors that do not exist yet are kept as `[[pending]]` entries (`sid`, `detector`, `issue`,
//! `expect`, optional `count`); the test fails once such a detector exists, so they get turned into real ones.
//!
//! and `tests/golden/<name>.jsonl`, the full output with one worker, refreshed with `CALLGUARD_BLESS=1`. Every
//! capture runs with 1 and with 4 workers; every line but the final stats must be identical (alerts, call records,
//! stream records, in the same order). Every line is validated against
//! `sensor/schema/eve.schema.json`.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use callguard::capture;
use callguard::output::eve::{self, EveWriter};
use callguard::pipeline::{self, Options, QueueMode};
use callguard_rules::config::Config;
use callguard_tests::{root, shipped_captures};
use serde::Deserialize;
use serde_json::Value;

/// Every capture the golden tests check: the ones shipped in `pcaps/`, then the ones the generator makes at test
/// time (`callguard_gen::GENERATED`, written once per run under the test scratch directory, seed 1).
fn captures() -> Vec<PathBuf> {
    static GENERATED: OnceLock<Vec<PathBuf>> = OnceLock::new();
    let generated = GENERATED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-captures");
        callguard_gen::GENERATED
            .iter()
            .map(|name| {
                let path = dir.join(callguard_gen::file_name(name));
                callguard_gen::write_capture(name, callguard_gen::DEFAULT_SEED, &path).unwrap();
                path
            })
            .collect()
    });
    let mut v = shipped_captures();
    v.extend(generated.iter().cloned());
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    description: String,
    #[serde(default)]
    counts: BTreeMap<String, u64>,
    #[serde(default)]
    absent: Vec<u32>,
    #[serde(default)]
    alert: Vec<AlertExpect>,
    #[serde(default)]
    stats: BTreeMap<String, toml::Value>,
    #[serde(default)]
    record: Vec<RecordExpect>,
    /// Rules file to run with, relative to tests/golden/.
    #[serde(default)]
    rules: Option<String>,
    /// Expectations of detectors that do not exist yet (kept, not deleted, until their detector lands).
    #[serde(default)]
    pending: Vec<Pending>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pending {
    sid: u32,
    detector: String,
    /// The issue that brings the detector.
    issue: u32,
    /// What must happen once it exists, in words (and `count` when known).
    expect: String,
    #[serde(default)]
    count: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertExpect {
    sid: u32,
    /// Required, so a severity that changes (a variant of a detector raising High where it raised Medium) fails.
    severity: u8,
    src_ip: Option<String>,
    dest_ip: Option<String>,
    dest_port: Option<u16>,
    #[serde(default)]
    evidence: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordExpect {
    event_type: String,
    count: usize,
    #[serde(default)]
    fields: BTreeMap<String, toml::Value>,
}

fn run(path: &Path, workers: usize, config: &Config) -> Vec<Value> {
    let src = capture::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut w = EveWriter::new(Vec::new());
    let opts = Options {
        workers,
        mode: QueueMode::Block,
        metrics: None,
        control: None,
        hep: None,
    };
    let report = pipeline::run(vec![src], config, &opts, &mut w, &mut |_| {});
    assert!(
        report.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        report.errors
    );
    w.line(&eve::stats_json(&report)).unwrap();
    String::from_utf8(w.into_inner())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

fn at<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(v, |v, k| match (v, k.parse::<usize>()) {
            (Value::Array(a), Ok(i)) => a.get(i),
            _ => v.get(k),
        })
}

fn matches(alert: &Value, e: &AlertExpect) -> bool {
    let s = |k: &str| alert.get(k).and_then(Value::as_str).map(str::to_owned);
    at(alert, "alert.signature_id").and_then(Value::as_u64) == Some(u64::from(e.sid))
        && at(alert, "alert.severity").and_then(Value::as_u64) == Some(u64::from(e.severity))
        && e.src_ip
            .as_ref()
            .is_none_or(|ip| s("src_ip").as_ref() == Some(ip))
        && e.dest_ip
            .as_ref()
            .is_none_or(|ip| s("dest_ip").as_ref() == Some(ip))
        && e.dest_port
            .is_none_or(|p| alert.get("dest_port").and_then(Value::as_u64) == Some(u64::from(p)))
        && e.evidence
            .iter()
            .all(|(k, v)| alert.get("evidence").and_then(|ev| ev.get(k)) == Some(&toml_to_json(v)))
}

#[test]
fn every_shipped_capture_meets_its_expectations_with_1_and_4_workers() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("sensor/schema/eve.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let captures = captures();
    assert!(
        captures.len() >= 6,
        "pcaps/ should ship the generated captures, found {captures:?}"
    );
    let bless = std::env::var_os("CALLGUARD_BLESS").is_some();
    let mut failures = Vec::new();
    for path in &captures {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let toml_path = root().join("tests/golden").join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&toml_path).unwrap_or_else(|_| {
            panic!(
                "{} has no expectations file {}",
                path.display(),
                toml_path.display()
            )
        });
        let exp: Expect =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", toml_path.display()));
        assert!(!exp.description.is_empty());
        let config = match &exp.rules {
            Some(r) => {
                let p = root().join("tests/golden").join(r);
                Config::from_toml(
                    &std::fs::read_to_string(&p).unwrap(),
                    &p.display().to_string(),
                )
                .unwrap()
            }
            None => Config::default(),
        };
        for p in &exp.pending {
            if let Some(m) = callguard_rules::detectors::METAS
                .iter()
                .find(|m| m.sid == p.sid)
            {
                failures.push(format!(
                    "{name}: sid {} ({}) exists now: turn its pending expectation (issue {}: {}, count {:?}) into [counts]/[[alert]]",
                    p.sid, m.slug, p.issue, p.expect, p.count
                ));
            } else if p.detector.is_empty() || p.expect.is_empty() {
                failures.push(format!(
                    "{name}: pending sid {} needs a detector slug and an expectation",
                    p.sid
                ));
            }
        }
        let mut one = run(path, 1, &config);
        let mut four = run(path, 4, &config);
        for line in one.iter().chain(&four) {
            if let Err(e) = validator.validate(line) {
                failures.push(format!("{name}: schema: {e} in {line}"));
            }
        }
        // The sensor's own processing latency is wall time: checked by the schema above, then left out.
        for line in one.iter_mut().chain(four.iter_mut()) {
            if line["event_type"] == "stats" {
                let latency = line["stats"]
                    .as_object_mut()
                    .and_then(|o| o.remove("latency"));
                assert!(latency.is_some(), "{name}: the stats event has no latency");
            }
        }
        let alerts = |v: &[Value]| -> Vec<Value> {
            v.iter()
                .filter(|l| l["event_type"] == "alert")
                .cloned()
                .collect()
        };
        let records = |v: &[Value]| -> Vec<Value> {
            v.iter()
                .filter(|l| l["event_type"] != "stats")
                .cloned()
                .collect()
        };
        let (r1, r4) = (records(&one), records(&four));
        if r1 != r4 {
            failures.push(format!(
                "{name}: output differs between 1 and 4 workers:\n1: {r1:#?}\n4: {r4:#?}"
            ));
        }
        let a1 = alerts(&one);
        for e in &exp.record {
            let n = one
                .iter()
                .filter(|l| l["event_type"] == e.event_type.as_str())
                .filter(|l| {
                    e.fields
                        .iter()
                        .all(|(k, v)| at(l, k) == Some(&toml_to_json(v)))
                })
                .count();
            if n != e.count {
                failures.push(format!(
                    "{name}: {n} {} records match {:?}, expected {}",
                    e.event_type, e.fields, e.count
                ));
            }
        }
        // Counts per sid: exact for the sids named; any other sid must not fire.
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for a in &a1 {
            *got.entry(a["alert"]["signature_id"].to_string())
                .or_default() += 1;
        }
        for (sid, n) in &got {
            match exp.counts.get(sid) {
                Some(want) if want == n => {}
                Some(want) => {
                    failures.push(format!("{name}: sid {sid}: {n} alerts, expected {want}"))
                }
                None => failures.push(format!("{name}: sid {sid} fired {n} times, expected none")),
            }
        }
        for (sid, want) in &exp.counts {
            if *want > 0 && !got.contains_key(sid) {
                failures.push(format!("{name}: sid {sid} did not fire, expected {want}"));
            }
        }
        for sid in &exp.absent {
            if got.contains_key(&sid.to_string()) {
                failures.push(format!("{name}: sid {sid} must not fire"));
            }
        }
        for e in &exp.alert {
            if !a1.iter().any(|a| matches(a, e)) {
                failures.push(format!("{name}: no alert matches {e:?}; alerts: {a1:#?}"));
            }
        }
        let stats = one
            .iter()
            .find(|l| l["event_type"] == "stats")
            .cloned()
            .unwrap_or_default();
        for (path_, want) in &exp.stats {
            let got = at(&stats["stats"], path_);
            if got != Some(&toml_to_json(want)) {
                failures.push(format!("{name}: stats.{path_} = {got:?}, expected {want}"));
            }
        }
        // Snapshot.
        let snap_path = root().join("tests/golden").join(format!("{name}.jsonl"));
        let text: String = one.iter().map(|l| format!("{l}\n")).collect();
        if bless {
            std::fs::write(&snap_path, &text).unwrap();
        } else {
            match std::fs::read_to_string(&snap_path) {
                Ok(want) if want == text => {}
                Ok(want) => failures.push(format!(
                    "{name}: output differs from {} (CALLGUARD_BLESS=1 refreshes it)\n--- want\n{want}\n--- got\n{text}",
                    snap_path.display()
                )),
                Err(_) => failures.push(format!("{name}: no snapshot {} (run with CALLGUARD_BLESS=1)", snap_path.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_expectation_file_has_a_capture() {
    let dir = root().join("tests/golden");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml")
            && !p
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .starts_with("rules-")
        {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            let has = captures()
                .iter()
                .any(|c| c.file_stem().unwrap().to_string_lossy() == stem);
            assert!(
                has,
                "{} has no capture in pcaps/ nor in callguard_gen::GENERATED",
                p.display()
            );
        }
    }
}

#[test]
fn the_example_rules_file_parses_and_spells_out_the_defaults() {
    let p = root().join("tests/golden/rules-example.toml");
    let c = Config::from_toml(&std::fs::read_to_string(&p).unwrap(), "rules-example.toml").unwrap();
    let d = Config::default();
    assert_eq!(c.engine.suppress_secs, d.engine.suppress_secs);
    assert_eq!(
        c.detectors.syn_flood.min_syns,
        d.detectors.syn_flood.min_syns
    );
    assert_eq!(
        c.detectors.arp_spoof.contest_secs,
        d.detectors.arp_spoof.contest_secs
    );
    assert_eq!(format!("{:?}", c.detectors), format!("{:?}", d.detectors));
}
