//! [`Scenario`]: timed events in, alerts out, for detector tests (no pcap needed at this level).

use crate::alert::Alert;
use crate::config::Config;
use crate::detector::Detector;
use crate::engine::Engine;
use crate::event::{Event, Payload};
use crate::time::PacketTime;

/// A list of events with times (added in any order, run in time order), run through an engine with chosen detectors.
#[derive(Debug, Default, Clone)]
pub struct Scenario {
    events: Vec<Event>,
}

impl Scenario {
    /// An empty scenario.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event at `ms` milliseconds after 2026-01-15T10:00:00Z.
    pub fn at_ms(&mut self, ms: u64, payload: Payload) -> &mut Self {
        let ts = PacketTime::from_nanos(Self::BASE_NANOS + ms * 1_000_000);
        self.push(ts, payload)
    }

    /// The base time of [`Scenario::at_ms`], in nanoseconds since the epoch.
    pub const BASE_NANOS: u64 = 1_768_471_200 * 1_000_000_000;

    /// Adds an event at `ts`.
    pub fn push(&mut self, ts: PacketTime, payload: Payload) -> &mut Self {
        let seq = self.events.len() as u64;
        self.events.push(Event { seq, ts, payload });
        self
    }

    /// Runs the events through an engine with `detectors` and the given config, returning every alert.
    pub fn run_with(&self, config: &Config, detectors: Vec<Box<dyn Detector>>) -> Vec<Alert> {
        let mut e = Engine::with_detectors(config, detectors);
        let mut out = Vec::new();
        // Events may be added out of order; run them in time order (stable for equal times).
        let mut events = self.events.clone();
        events.sort_by_key(|ev| (ev.ts, ev.seq));
        for (i, ev) in events.iter_mut().enumerate() {
            ev.seq = i as u64;
        }
        for ev in &events {
            e.on_event(ev);
            out.extend(e.drain_alerts());
        }
        e.finish();
        out.extend(e.drain_alerts());
        out
    }

    /// Runs the events through one detector with the default engine settings.
    pub fn run(&self, detector: impl Detector + 'static) -> Vec<Alert> {
        self.run_with(&Config::default(), vec![Box::new(detector)])
    }
}
