#![expect(
    clippy::expect_used,
    reason = "a bench whose fixture cannot be read should stop loudly"
)]
//! `e2e/throughput`: the whole pipeline on a large generated capture, against a bare read loop on the same
//! file.
//!
//! ```sh
//! cargo bench -p callguard-benches --bench throughput            # 2 M packets by default
//! CALLGUARD_BENCH_PACKETS=5000000 cargo bench -p callguard-benches --bench throughput
//! ```
//!
//! The capture is made once by the deterministic generator (`callguard-gen bench`) under
//! `target/bench/`, then read from the page cache. The bare loop reads every packet with the same reader and
//! touches every byte (a sum), nothing else. Each figure is the best of three runs; packets per second and the
//! ratio to the bare loop are printed.

use std::fs::File;
use std::hint::black_box;
use std::io::BufWriter;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use callguard::capture;
use callguard::pipeline::{self, AlertSink, Options, QueueMode};
use callguard_rules::alert::Alert;
use callguard_rules::config::Config;

struct Discard(u64);

impl AlertSink for Discard {
    fn alert(&mut self, _a: &Alert) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
}

fn capture_path(packets: usize) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench").join(format!("bench-{packets}.pcap"))
}

fn ensure_capture(path: &Path, packets: usize) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    eprintln!("generating {} ({packets} packets)...", path.display());
    let tmp = path.with_extension("tmp");
    let mut w = callguard_gen::PcapWriter::new(BufWriter::new(File::create(&tmp)?), 1, false)?;
    for f in callguard_gen::bench(1, packets) {
        w.write(&f)?;
    }
    drop(w.into_inner()?);
    std::fs::rename(tmp, path)
}

fn bare(path: &Path) -> (u64, f64) {
    let mut src = capture::open(path).expect("bench capture opens");
    let t = Instant::now();
    let mut sum = 0u64;
    let stats = src
        .for_each(&mut |p| {
            // Read every byte, as fast as the CPU can: a sum of 8-byte words (vectorised) plus the tail.
            let (words, tail) = p.data.as_chunks::<8>();
            sum = words
                .iter()
                .fold(sum, |s, w| s.wrapping_add(u64::from_le_bytes(*w)));
            sum = tail.iter().fold(sum, |s, b| s.wrapping_add(u64::from(*b)));
            ControlFlow::Continue(())
        })
        .expect("bench capture reads");
    black_box(sum);
    (stats.packets, t.elapsed().as_secs_f64())
}

fn full(path: &Path, workers: usize) -> (u64, f64, u64) {
    let src = capture::open(path).expect("bench capture opens");
    let mut sink = Discard(0);
    let opts = Options {
        workers,
        mode: QueueMode::Block,
        metrics: None,
        control: None,
        hep: None,
    };
    let t = Instant::now();
    let r = pipeline::run(vec![src], &Config::default(), &opts, &mut sink, &mut |_| {});
    (r.packets_read, t.elapsed().as_secs_f64(), sink.0)
}

/// Rounds of measurement: each round runs every configuration once, interleaved, so slow phases of this
/// shared machine hit them alike; each figure is the best and the median of its rounds.
const ROUNDS: usize = 7;

fn summary(mut secs: Vec<f64>, n: u64) -> (f64, f64) {
    secs.sort_by(f64::total_cmp);
    let best = secs.first().copied().unwrap_or(f64::NAN);
    let median = secs.get(secs.len() / 2).copied().unwrap_or(f64::NAN);
    (n as f64 / best, n as f64 / median)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("e2e/throughput: bench");
        return;
    }
    let packets: usize = std::env::var("CALLGUARD_BENCH_PACKETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let path = capture_path(packets);
    if let Err(e) = ensure_capture(&path, packets) {
        eprintln!(
            "e2e/throughput: cannot make {}: {e}; skipped",
            path.display()
        );
        return;
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    bare(&path); // warm the page cache
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let mut counts = vec![1, 2];
    if cores > 2 {
        counts.push(cores);
    }
    let mut bare_secs = Vec::new();
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut n = 0;
    let mut alerts = 0;
    for _ in 0..ROUNDS {
        let (k, s) = bare(&path);
        n = k;
        bare_secs.push(s);
        for (i, w) in counts.iter().enumerate() {
            let (k, s, a) = full(&path, *w);
            assert_eq!(k, n, "the pipeline read every packet");
            alerts = a;
            if let Some(r) = runs.get_mut(i) {
                r.push(s);
            }
        }
    }
    let (bare_best, bare_median) = summary(bare_secs, n);
    println!(
        "e2e/throughput on {} ({n} packets, {:.0} MB), best and median of {ROUNDS}",
        path.display(),
        size as f64 / 1e6
    );
    println!(
        "  {:<22} {:>12.0} packets/s  (median {:>10.0})",
        "bare read loop", bare_best, bare_median
    );
    for (w, secs) in counts.iter().zip(runs) {
        let (best, median) = summary(secs, n);
        println!(
            "  {:<22} {:>12.0} packets/s  (median {:>10.0})  {:>5.1}% of bare  ({alerts} alerts)",
            format!("pipeline, {w} worker{}", if *w == 1 { "" } else { "s" }),
            best,
            median,
            100.0 * best / bare_best
        );
    }
}
