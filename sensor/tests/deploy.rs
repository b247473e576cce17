//! `deploy/`: the Prometheus rules pass `promtool check rules` and their unit tests
//! (`deploy/prometheus/callguard.rules.test.yml`); the Grafana dashboard is import-ready JSON, queries only
//! metrics the sensor exports and shows every family it exports; the systemd unit runs the sensor with
//! options that exist and two capabilities. promtool is required in CI (`CALLGUARD_REQUIRE_LAB`) and
//! skipped with a note elsewhere; `systemd-analyze verify` runs where systemd is installed.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callguard::metrics::{Snapshot, families};
use callguard_rules::table::TableStats;
use prometheus::proto::MetricType;
use prometheus::{Encoder, TextEncoder};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const RULES: &str = "deploy/prometheus/callguard.rules.yml";
const RULES_TEST: &str = "deploy/prometheus/callguard.rules.test.yml";
const DASHBOARD: &str = "deploy/grafana/callguard.json";
const UNIT: &str = "deploy/systemd/callguard.service";

/// The families the `prometheus` crate's process collector adds on Linux (`metrics::render`).
const PROCESS_FAMILIES: [&str; 7] = [
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_threads",
];

/// Every family a sensor exports, with its type: `metrics::families` of an empty snapshot with one
/// worker queue, plus the process collector's.
fn exported() -> BTreeMap<String, MetricType> {
    let mut out: BTreeMap<String, MetricType> = families(&Snapshot::default(), &[0])
        .iter()
        .map(|f| (f.name().to_owned(), f.get_field_type()))
        .collect();
    for p in PROCESS_FAMILIES {
        out.insert(p.to_owned(), MetricType::GAUGE);
    }
    out
}

/// The names a PromQL expression uses: (metric names `callguard_*` and `process_*`, recording-rule names
/// with a colon). Quoted strings (label values, `label_replace` arguments) are skipped; other identifiers
/// (functions, label names, `up`) are not collected.
fn names_in(expr: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut metrics = BTreeSet::new();
    let mut recorded = BTreeSet::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '"' | '\'' | '`') {
            // A string literal: skip to its closing quote (backslash escapes one character).
            while let Some(d) = chars.next() {
                if d == '\\' {
                    chars.next();
                } else if d == c {
                    break;
                }
            }
        } else if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            let mut ident = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_alphanumeric() || d == '_' || d == ':' {
                    ident.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if ident.contains(':') {
                recorded.insert(ident);
            } else if ident.starts_with("callguard_") || ident.starts_with("process_") {
                metrics.insert(ident);
            }
        }
    }
    (metrics, recorded)
}

/// The family a sample name belongs to: itself, or a histogram's name without `_bucket`/`_sum`/`_count`.
fn family_of(name: &str, exported: &BTreeMap<String, MetricType>) -> Option<String> {
    if exported.contains_key(name) {
        return Some(name.to_owned());
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|s| {
        let base = name.strip_suffix(s)?;
        (exported.get(base) == Some(&MetricType::HISTOGRAM)).then(|| base.to_owned())
    })
}

/// The value of the YAML key `key` on each line that has it, with folded (`>`, `>-`) and literal (`|`)
/// block scalars joined into one line. Enough YAML for the rule files, which keep to these forms.
fn yaml_values(text: &str, key: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let t = t.strip_prefix("- ").unwrap_or(t);
        let Some(rest) = t.strip_prefix(key).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let rest = rest.trim();
        if matches!(rest, ">" | ">-" | "|" | "|-" | "") {
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines
                .iter()
                .skip(i + 1)
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .map(|l| l.trim())
                .collect();
            out.push(block.join(" ").trim().to_owned());
        } else {
            out.push(rest.trim_matches(['\'', '"']).to_owned());
        }
    }
    out
}

/// Every `expr` of a JSON document (the dashboard's panel targets), with the title of the panel it is in.
fn json_exprs(v: &Value, title: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            let title = m.get("title").and_then(Value::as_str).unwrap_or(title);
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", Value::String(e)) => out.push((title.to_owned(), e.clone())),
                    _ => json_exprs(x, title, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_exprs(x, title, out)),
        _ => {}
    }
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

fn dashboard_exprs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    json_exprs(&dashboard(), "", &mut out);
    out
}

/// Grafana's interval and template variables replaced by values Prometheus accepts.
fn grafana_to_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__range", "1h")
        .replace("$instance", ".*")
}

/// Runs `tool args` in `dir`. None (with a note) when the tool is not installed and `required` is false.
fn run_tool(tool: &str, args: &[&str], dir: &Path, required: bool) -> Option<Output> {
    match Command::new(tool).args(args).current_dir(dir).output() {
        Ok(o) => Some(o),
        Err(e) => {
            assert!(!required, "{tool} cannot run ({e})");
            eprintln!("{tool} not installed ({e}): skipped");
            None
        }
    }
}

/// promtool: required in CI (`.ci/run` installs the `prometheus` package), skipped elsewhere.
fn promtool(args: &[&str], dir: &Path) -> Option<Output> {
    let required = std::env::var_os("CALLGUARD_REQUIRE_LAB").is_some();
    let out = run_tool("promtool", args, dir, required)?;
    assert!(
        out.status.success(),
        "promtool {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out)
}

#[test]
fn the_rules_pass_promtool_check_and_their_unit_tests() {
    let dir = root().join("deploy/prometheus");
    if let Some(out) = promtool(&["check", "rules", "callguard.rules.yml"], &dir) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("SUCCESS"), "{text}");
    }
    if let Some(out) = promtool(&["test", "rules", "callguard.rules.test.yml"], &dir) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("SUCCESS"), "{text}");
    }
}

#[test]
fn every_alert_is_unit_tested_firing_and_quiet() {
    let rules = read(RULES);
    let tests = read(RULES_TEST);
    let alerts = yaml_values(&rules, "alert");
    assert!(alerts.len() >= 10, "{alerts:?}");
    for a in &alerts {
        // Each alert's tests: the `exp_alerts` that follow each `alertname: A` line.
        let mut fired = false;
        let mut quiet = false;
        let lines: Vec<&str> = tests.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.trim() != format!("alertname: {a}") {
                continue;
            }
            match lines.get(i + 1).map(|n| n.trim()) {
                Some("exp_alerts: []") => quiet = true,
                Some("exp_alerts:") => fired = true,
                other => panic!("alertname: {a} followed by {other:?}"),
            }
        }
        assert!(
            fired && quiet,
            "{a}: a test where it fires ({fired}) and one where it does not ({quiet})"
        );
    }
    let every_severity: BTreeSet<String> = yaml_values(&rules, "severity").into_iter().collect();
    assert_eq!(
        every_severity,
        ["page", "ticket"].map(String::from).into(),
        "alert severities route on page/ticket"
    );
}

#[test]
fn every_metric_the_rules_query_exists() {
    let exported = exported();
    let rules = read(RULES);
    let recorded: BTreeSet<String> = yaml_values(&rules, "record").into_iter().collect();
    assert!(recorded.contains("callguard:alerts:rate5m"), "{recorded:?}");
    let exprs = yaml_values(&rules, "expr");
    assert!(exprs.len() > recorded.len(), "{exprs:?}");
    let mut used = BTreeSet::new();
    for e in &exprs {
        let (metrics, rec) = names_in(e);
        for m in metrics {
            let f = family_of(&m, &exported)
                .unwrap_or_else(|| panic!("`{m}` in rule `{e}` is not exported by the sensor"));
            used.insert(f);
        }
        for r in rec {
            assert!(recorded.contains(&r), "`{r}` in rule `{e}` is not recorded");
        }
    }
    // The rules watch the capture, the tables, the queues, the alerts and the calls' media.
    for f in [
        "callguard_alerts_total",
        "callguard_capture_drops_total",
        "callguard_capture_packets_total",
        "callguard_calls_total",
        "callguard_rtp_mos",
        "callguard_table_evictions_total",
        "callguard_worker_queue_depth_batches",
    ] {
        assert!(used.contains(f), "no rule uses {f}");
    }
    // The unit tests' input series are shaped like the real exposition.
    for s in yaml_values(&read(RULES_TEST), "series") {
        let name = s.split('{').next().unwrap_or("");
        if name != "up" {
            assert!(
                family_of(name, &exported).is_some(),
                "input series {s} is not exported"
            );
        }
    }
}

#[test]
fn the_dashboard_is_import_ready() {
    let d = dashboard();
    let inputs = d["__inputs"].as_array().unwrap();
    assert!(
        inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "{inputs:?}"
    );
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(d["id"].is_null(), "an exported dashboard has no id");
    assert!(!d["uid"].as_str().unwrap().is_empty());
    let vars = d["templating"]["list"].as_array().unwrap();
    let instance = vars.iter().find(|v| v["name"] == "instance").unwrap();
    assert_eq!(
        instance["definition"],
        "label_values(callguard_build_info, instance)"
    );
    assert_eq!(instance["datasource"]["uid"], "${DS_PROMETHEUS}");
    let panels = d["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap();
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "duplicate id: {title}"
        );
        let g = &p["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_u64().unwrap());
        assert!(w > 0 && h > 0 && x + w <= 24, "{title}: {g}");
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "{title} overlaps another panel");
            }
        }
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            let e = t["expr"].as_str().unwrap();
            // Every query follows the sensor selection.
            assert!(e.contains("instance=~\"$instance\""), "{title}: {e}");
        }
    }
}

#[test]
fn the_dashboard_queries_only_exported_metrics_and_shows_every_family() {
    let exported = exported();
    let exprs = dashboard_exprs();
    assert!(exprs.len() > 30, "{}", exprs.len());
    let mut shown = BTreeSet::new();
    for (title, e) in &exprs {
        let (metrics, recorded) = names_in(e);
        // The dashboard works on a Prometheus without the rules loaded.
        assert!(recorded.is_empty(), "{title}: recording rules {recorded:?}");
        assert!(!metrics.is_empty() || e.contains("up{"), "{title}: {e}");
        for m in metrics {
            let f = family_of(&m, &exported)
                .unwrap_or_else(|| panic!("{title}: `{m}` is not exported by the sensor"));
            shown.insert(f);
        }
    }
    // A family added to `metrics::families` needs a panel. No exceptions today.
    let missing: Vec<&String> = exported.keys().filter(|f| !shown.contains(*f)).collect();
    assert!(missing.is_empty(), "families without a panel: {missing:?}");
}

/// A sensor's exposition (every family of a snapshot with one capped table, one worker queue) as
/// promtool input series that all rise by one a minute, on one sensor of the `callguard` job.
fn exposition_series() -> String {
    let mut snap = Snapshot::default();
    snap.tables.push((
        "engine.calls".to_owned(),
        TableStats {
            len: 1,
            cap: 100,
            evicted: 0,
            expired: 0,
        },
    ));
    let mut fams = families(&snap, &[0]);
    // As `metrics::render` does: a family without samples is left out.
    fams.retain(|f| !f.get_metric().is_empty());
    let mut buf = Vec::new();
    TextEncoder::new().encode(&fams, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut out = String::from(
        "      - series: 'up{job=\"callguard\",instance=\"s1:9477\"}'\n        values: '1x10'\n",
    );
    let mut samples: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
        .collect();
    samples.extend(PROCESS_FAMILIES.iter().map(|p| (*p).to_owned()));
    for s in samples {
        let job = "job=\"callguard\",instance=\"s1:9477\"";
        let series = match s.split_once('{') {
            Some((name, labels)) => format!("{name}{{{job},{labels}"),
            None => format!("{s}{{{job}}}"),
        };
        out.push_str(&format!(
            "      - series: '{series}'\n        values: '0+1x10'\n"
        ));
    }
    out
}

/// Each dashboard query (and each recording rule), evaluated by promtool on a sensor's exposition,
/// returns series: a label name or value that the sensor does not export (a misspelt posture, a bucket
/// bound that does not exist) leaves a query empty, and its `absent()` alert fires.
#[test]
fn the_dashboard_queries_parse_and_find_series_in_a_sensor_exposition() {
    let mut checks: Vec<(String, String)> = dashboard_exprs()
        .into_iter()
        .map(|(t, e)| (t, grafana_to_promql(&e)))
        .collect();
    let rules = read(RULES);
    let recorded = yaml_values(&rules, "record");
    let exprs = yaml_values(&rules, "expr");
    // The recording rules come first in the file, each with its expr.
    for (name, e) in recorded.iter().zip(&exprs) {
        checks.push((name.clone(), e.clone()));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rules_yml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut test_yml = String::from(
        "rule_files: [queries.rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n",
    );
    test_yml.push_str(&exposition_series());
    test_yml.push_str("    alert_rule_test:\n");
    for (i, (what, e)) in checks.iter().enumerate() {
        rules_yml.push_str(&format!(
            "      # {}\n      - alert: Empty{i}\n        expr: {}\n",
            what.replace('\n', " "),
            serde_json::to_string(&format!("absent({e})")).unwrap()
        ));
        test_yml.push_str(&format!(
            "      - eval_time: 10m\n        alertname: Empty{i}\n        exp_alerts: []\n"
        ));
    }
    std::fs::write(dir.path().join("queries.rules.yml"), &rules_yml).unwrap();
    std::fs::write(dir.path().join("queries.test.yml"), &test_yml).unwrap();
    let list: String = checks
        .iter()
        .enumerate()
        .map(|(i, (w, e))| format!("Empty{i}: {w}: {e}\n"))
        .collect();
    let required = std::env::var_os("CALLGUARD_REQUIRE_LAB").is_some();
    let Some(out) = run_tool(
        "promtool",
        &["test", "rules", "queries.test.yml"],
        dir.path(),
        required,
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "a query found nothing or did not parse:\n{}{}\n{list}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of each `Key=` line of the unit (repeated keys joined by a space).
fn unit_keys(text: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((k, v)) = l.split_once('=') {
            let e = out.entry(k.trim().to_owned()).or_default();
            if !e.is_empty() {
                e.push(' ');
            }
            e.push_str(v.trim());
        }
    }
    out
}

#[test]
fn the_systemd_unit_runs_the_sensor_unprivileged_with_two_capabilities() {
    let text = read(UNIT);
    let k = unit_keys(&text);
    let get = |key: &str| k.get(key).map_or("", String::as_str);
    assert_eq!(get("User"), "callguard");
    assert_eq!(get("AmbientCapabilities"), "CAP_NET_RAW CAP_NET_ADMIN");
    assert_eq!(get("CapabilityBoundingSet"), "CAP_NET_RAW CAP_NET_ADMIN");
    assert_eq!(get("NoNewPrivileges"), "yes");
    assert_eq!(get("ProtectSystem"), "strict");
    assert_eq!(get("KillSignal"), "SIGINT", "the sensor drains on SIGINT");
    assert_eq!(get("Restart"), "on-failure");
    assert_eq!(
        get("RestrictAddressFamilies"),
        "AF_PACKET AF_INET AF_INET6 AF_UNIX AF_NETLINK"
    );
    let exec = get("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(args.get(1), Some(&"live"), "{exec}");
    // Every path it writes is in ReadWritePaths (ProtectSystem=strict makes the rest read-only).
    let writable = get("ReadWritePaths");
    for flag in ["--output", "--cert-store"] {
        let i = args.iter().position(|a| *a == flag).unwrap();
        let path = Path::new(args[i + 1]);
        let dir = path.parent().unwrap().to_str().unwrap();
        assert!(writable.split(' ').any(|w| w == dir), "{flag} {path:?}");
    }
    // Every option it passes exists in this binary.
    let help = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["live", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for a in args.iter().filter(|a| a.starts_with('-')) {
        assert!(
            help.split([' ', ',', '\n', '[', ']'])
                .any(|w| w == *a || w.starts_with(&format!("{a}="))),
            "callguard live has no option {a}:\n{help}"
        );
    }
    // systemd's own check, on a copy that starts the binary just built (the real one is not installed).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("callguard.service");
    std::fs::write(
        &copy,
        text.replace(args[0], env!("CARGO_BIN_EXE_callguard")),
    )
    .unwrap();
    if let Some(out) = run_tool(
        "systemd-analyze",
        &["verify", copy.to_str().unwrap()],
        dir.path(),
        false,
    ) {
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_expression_reader_finds_metrics_and_recorded_names_outside_strings() {
    let (m, r) = names_in(
        "sum by (le) (rate(callguard_rtp_mos_bucket{le=\"3.6\", x=\"callguard_fake\"}[5m])) \
         / callguard:calls:ratio1h + process_open_fds",
    );
    assert_eq!(
        m,
        ["callguard_rtp_mos_bucket", "process_open_fds"]
            .map(String::from)
            .into()
    );
    assert_eq!(r, ["callguard:calls:ratio1h"].map(String::from).into());
    let exported = exported();
    assert_eq!(
        family_of("callguard_rtp_mos_bucket", &exported).as_deref(),
        Some("callguard_rtp_mos")
    );
    assert_eq!(family_of("callguard_alerts_total_count", &exported), None);
    assert_eq!(
        yaml_values("  - expr: >-\n      a\n      b\n  - expr: 'c'\n", "expr"),
        ["a b", "c"]
    );
}
