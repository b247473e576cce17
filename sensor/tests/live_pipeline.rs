//! The live pipeline (`callguard live`) without a network: in-memory sources stand in for capture sockets.
//! The same traffic gives the same alerts live as offline, with one dispatcher or with fanout sockets, and
//! live runs write periodic `stats` events.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use callguard::capture::live::{KernelStats, LiveSource, MemorySource};
use callguard::capture::{self, RawPacket};
use callguard::output::eve::{self, EveWriter};
use callguard::pipeline::{self, LiveOptions, Options, QueueMode};
use callguard_parsers::link::{self, LinkType};
use callguard_rules::config::Config;
use callguard_rules::time::PacketTime;
use serde_json::Value;

type Frames = Vec<(PacketTime, LinkType, Vec<u8>)>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn frames_of(name: &str) -> Frames {
    let mut src = capture::open(&root().join("pcaps").join(name)).unwrap();
    let mut v = Vec::new();
    src.for_each(&mut |p: &RawPacket<'_>| {
        v.push((p.ts, p.link, p.data.to_vec()));
        ControlFlow::Continue(())
    })
    .unwrap();
    v
}

/// A memory source that raises `stop` once it has handed out everything, as SIGINT would.
struct Feeder {
    inner: MemorySource,
    stop: Arc<AtomicBool>,
}

impl LiveSource for Feeder {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn poll(&mut self, t: Duration, f: &mut dyn FnMut(&RawPacket<'_>)) -> std::io::Result<usize> {
        let n = self.inner.poll(t, f)?;
        if self.inner.done() {
            self.stop.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
    fn kernel_stats(&mut self) -> std::io::Result<KernelStats> {
        self.inner.kernel_stats()
    }
    fn now(&self) -> PacketTime {
        self.inner.now()
    }
}

fn lines(buf: Vec<u8>) -> Vec<Value> {
    String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn alerts(v: &[Value]) -> Vec<Value> {
    v.iter()
        .filter(|l| l["event_type"] == "alert")
        .cloned()
        .collect()
}

fn offline(name: &str) -> Vec<Value> {
    let src = capture::open(&root().join("pcaps").join(name)).unwrap();
    let mut w = EveWriter::new(Vec::new());
    let opts = Options {
        workers: 2,
        mode: QueueMode::Block,
        metrics: None,
        control: None,
        hep: None,
    };
    pipeline::run(vec![src], &Config::default(), &opts, &mut w, &mut |_| {});
    lines(w.into_inner())
}

fn live(frames: Frames, stats_every: Duration) -> (Vec<Value>, pipeline::Report) {
    let stop = Arc::new(AtomicBool::new(false));
    let inner = MemorySource::new("mem", frames, 64).with_pause(Duration::from_millis(1));
    let srcs: Vec<Box<dyn LiveSource>> = vec![Box::new(Feeder {
        inner,
        stop: stop.clone(),
    })];
    let mut w = EveWriter::new(Vec::new());
    let opts = LiveOptions {
        workers: 2,
        fanout: false,
        stats_every,
        ring_lag: Duration::from_millis(250),
        metrics: None,
        control: None,
        hep: None,
    };
    let report = pipeline::run_live(srcs, &Config::default(), &opts, &mut w, &stop);
    w.line(&eve::stats_json(&report)).unwrap();
    (lines(w.into_inner()), report)
}

#[test]
fn live_gives_the_offline_alerts() {
    for name in ["arp-spoof.pcap", "syn-flood.pcap", "demo.pcap"] {
        let (out, report) = live(frames_of(name), Duration::from_secs(3600));
        assert_eq!(alerts(&out), alerts(&offline(name)), "{name}");
        assert!(!alerts(&out).is_empty(), "{name}");
        assert_eq!(report.queue_drops + report.kernel_drops, 0, "{name}");
        assert_eq!(report.packets_read, frames_of(name).len() as u64, "{name}");
    }
}

#[test]
fn fanout_sockets_merge_in_time_order() {
    // Split the capture by flow, as PACKET_FANOUT_HASH does, into two sockets, each with its own worker.
    let name = "syn-flood.pcap";
    let mut parts: Vec<Frames> = vec![Vec::new(), Vec::new()];
    for (ts, l, f) in frames_of(name) {
        let i = link::flow_hint(l, &f).map_or(0, |h| {
            let s: u32 = h
                .src
                .iter()
                .chain(&h.dst)
                .map(|b| u32::from(*b))
                .sum::<u32>()
                + u32::from(h.sport)
                + u32::from(h.dport);
            usize::from(s % 2 == 1)
        });
        parts[i].push((ts, l, f));
    }
    assert!(parts.iter().all(|p| !p.is_empty()));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let srcs: Vec<Box<dyn LiveSource>> = parts
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let inner =
                MemorySource::new(&format!("fan{i}"), f, 64).with_pause(Duration::from_millis(1));
            Box::new(Counted {
                inner,
                stop: stop.clone(),
                left: counter.clone(),
            }) as Box<dyn LiveSource>
        })
        .collect();
    counter.store(srcs.len(), Ordering::Relaxed);
    let mut w = EveWriter::new(Vec::new());
    let opts = LiveOptions {
        workers: 2,
        fanout: true,
        stats_every: Duration::from_secs(3600),
        ring_lag: Duration::from_millis(250),
        metrics: None,
        control: None,
        hep: None,
    };
    let report = pipeline::run_live(srcs, &Config::default(), &opts, &mut w, &stop);
    assert_eq!(report.workers, 2);
    let out = lines(w.into_inner());
    assert_eq!(alerts(&out), alerts(&offline(name)));
}

/// A fanout socket stand-in: stops the run when the last of its siblings has finished.
struct Counted {
    inner: MemorySource,
    stop: Arc<AtomicBool>,
    left: Arc<std::sync::atomic::AtomicUsize>,
}

impl LiveSource for Counted {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn poll(&mut self, t: Duration, f: &mut dyn FnMut(&RawPacket<'_>)) -> std::io::Result<usize> {
        let was = self.inner.done();
        let n = self.inner.poll(t, f)?;
        if !was && self.inner.done() && self.left.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.stop.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
    fn kernel_stats(&mut self) -> std::io::Result<KernelStats> {
        self.inner.kernel_stats()
    }
    fn now(&self) -> PacketTime {
        self.inner.now()
    }
}

#[test]
fn live_runs_write_periodic_stats_events() {
    let (out, _) = live(frames_of("syn-flood.pcap"), Duration::from_secs(10));
    let stats: Vec<&Value> = out.iter().filter(|l| l["event_type"] == "stats").collect();
    // 57 s of traffic, one every 10 s of packet time, plus the final one.
    assert!(stats.len() >= 5, "{} stats events", stats.len());
    let packets: Vec<u64> = stats
        .iter()
        .map(|s| s["stats"]["decoder"]["packets"].as_u64().unwrap())
        .collect();
    assert!(packets.windows(2).all(|w| w[0] <= w[1]), "{packets:?}");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("sensor/schema/eve.schema.json")).unwrap(),
    )
    .unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    for l in &out {
        assert!(v.validate(l).is_ok(), "{l}");
    }
}
