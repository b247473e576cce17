//! The engine: events in, in capture order; detectors run; suppression applied; alerts out.

use std::time::Duration;

use crate::alert::Alert;
use crate::calls::{CallRecord, CallStats, CallTracker, StreamRecord};
use crate::config::Config;
use crate::detector::{Context, Detector};
use crate::detectors;
use crate::detectors::tls_cert_changed::{CertStore, CertStoreError};
use crate::event::{Event, EventKind, Payload, TlsSeen};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Counters of the engine itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events processed, by [`EventKind`] index.
    pub events: [u64; EventKind::ALL.len()],
    /// Alerts emitted.
    pub alerts: u64,
    /// Alerts dropped by suppression.
    pub suppressed: u64,
}

/// A TLS or DTLS handshake for the outputs: the time of the event that reported it and its summary. Queued
/// in merge order as the engine handles the event, so a `tls` record comes out where one thread would put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRecord {
    /// The event's time (the packet that completed the handshake, or the sweep that ended it).
    pub ts: PacketTime,
    /// The handshake.
    pub tls: Box<TlsSeen>,
}

/// The detection engine. Feed it events in capture order with [`Engine::on_event`], call
/// [`Engine::finish`] at the end, and take alerts with [`Engine::drain_alerts`].
#[derive(Debug)]
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    suppress: BoundedMap<(u32, String), PacketTime>,
    suppress_window: Duration,
    now: PacketTime,
    tick_sec: u64,
    raised: Vec<Alert>,
    out: Vec<Alert>,
    stats: EngineStats,
    calls: CallTracker,
    tls: Vec<TlsRecord>,
    config: Config,
}

impl Engine {
    /// An engine running every enabled detector of `config`.
    pub fn new(config: &Config) -> Self {
        Self::with_detectors(config, detectors::all(&config.detectors))
    }

    /// An engine running the given detectors (tests).
    pub fn with_detectors(config: &Config, detectors: Vec<Box<dyn Detector>>) -> Self {
        let window = Duration::from_secs(config.engine.suppress_secs);
        Self {
            detectors,
            suppress: BoundedMap::new(config.engine.max_suppressions, window),
            suppress_window: window,
            now: PacketTime::ZERO,
            tick_sec: 0,
            raised: Vec::new(),
            out: Vec::new(),
            stats: EngineStats::default(),
            calls: CallTracker::default(),
            tls: Vec::new(),
            config: config.clone(),
        }
    }

    /// Applies a re-read rules file without losing state: detectors whose settings are unchanged keep
    /// theirs; changed ones start afresh (a certificate store moves over); calls, media and the suppression
    /// table stay (a new suppression window applies to new entries; a new cap rebuilds the table empty).
    /// Returns what changed, by detector slug.
    pub fn reconfigure(&mut self, config: &Config) -> Vec<(&'static str, detectors::Change)> {
        let current = std::mem::take(&mut self.detectors);
        let (v, changes) = detectors::rebuild(&self.config.detectors, &config.detectors, current);
        self.detectors = v;
        let window = Duration::from_secs(config.engine.suppress_secs);
        if config.engine.max_suppressions != self.config.engine.max_suppressions {
            self.suppress = BoundedMap::new(config.engine.max_suppressions, window);
        }
        self.suppress_window = window;
        self.config = config.clone();
        changes
    }

    /// The engine clock: the latest packet time seen.
    pub fn now(&self) -> PacketTime {
        self.now
    }

    /// Moves the clock to `ts` (never backwards), running the detectors' ticks when a new second starts.
    /// Call it with the dispatcher's time even when no event comes, so windows close on quiet links.
    ///
    /// A tick runs at the boundary of the second that starts (`12:00:07.000000`), not at the time of the
    /// packet that happened to open it: what a tick judges (a window that closed, a flood that ended) is
    /// stamped the same whatever unrelated traffic shares the link, whichever socket stamped the packets
    /// (two taps on one link stamp a frame a few microseconds to milliseconds apart, enough to move the
    /// first packet of a second across the boundary), and whether a quiet link's clock came from a packet
    /// or from the dispatcher.
    pub fn advance(&mut self, ts: PacketTime) {
        if ts <= self.now {
            return;
        }
        self.now = ts;
        let sec = ts.secs();
        if sec > self.tick_sec {
            let first = self.tick_sec == 0;
            self.tick_sec = sec;
            if !first {
                self.tick(PacketTime::from_secs(sec));
            }
        }
    }

    /// Runs the detectors' ticks at `now` (no later than the engine clock).
    fn tick(&mut self, now: PacketTime) {
        self.calls.expire(now);
        for d in &mut self.detectors {
            let mut cx = Context::with_calls(now, &mut self.raised, &self.calls);
            d.on_tick(now, &mut cx);
        }
        self.suppress.expire(now);
        self.flush_raised();
    }

    /// Handles one event. Events must come in capture order (the order of their `seq`).
    pub fn on_event(&mut self, ev: &Event) {
        self.advance(ev.ts);
        let kind = ev.payload.kind();
        if let Some(c) = self.stats.events.get_mut(kind as usize) {
            *c += 1;
        }
        if kind == EventKind::Clock {
            return;
        }
        match &ev.payload {
            Payload::Sip(m) => self.calls.on_sip(ev.ts, m),
            Payload::RtpStart(s) => self.calls.on_rtp_start(ev.ts, s),
            Payload::Rtcp(r) => self.calls.on_rtcp(ev.ts, r),
            Payload::Tls(t) => self.tls.push(TlsRecord {
                ts: ev.ts,
                tls: t.clone(),
            }),
            _ => {}
        }
        let now = self.now;
        for d in &mut self.detectors {
            if d.interests().contains(kind) {
                let mut cx = Context::with_calls(now, &mut self.raised, &self.calls);
                d.on_event(ev, &mut cx);
            }
        }
        // A stream's end is handled after the detectors, which may still look the stream up.
        if let Payload::RtpEnd(e) = &ev.payload {
            self.calls.on_rtp_end(ev.ts, e);
        }
        self.flush_raised();
    }

    /// End of input: a last tick so that open windows are judged, then each detector's
    /// [`Detector::on_finish`].
    pub fn finish(&mut self) {
        let now = self.now;
        self.tick(now);
        for d in &mut self.detectors {
            let mut cx = Context::with_calls(now, &mut self.raised, &self.calls);
            d.on_finish(now, &mut cx);
        }
        self.flush_raised();
        self.calls.finish();
    }

    /// Takes the records of the calls that ended, in the order they ended.
    pub fn drain_records(&mut self) -> std::vec::Drain<'_, CallRecord> {
        self.calls.drain()
    }

    /// Takes the records of streams no call explained, in the order they ended.
    pub fn drain_streams(&mut self) -> std::vec::Drain<'_, StreamRecord> {
        self.calls.drain_streams()
    }

    /// Takes the TLS and DTLS handshakes seen, in merge order.
    pub fn drain_tls(&mut self) -> std::vec::Drain<'_, TlsRecord> {
        self.tls.drain(..)
    }

    /// Call counters.
    pub fn call_stats(&self) -> CallStats {
        self.calls.stats()
    }

    /// The calls and their media, as detectors see them.
    pub fn calls(&self) -> &CallTracker {
        &self.calls
    }

    fn flush_raised(&mut self) {
        for a in self.raised.drain(..) {
            let key = (a.meta.sid, a.key.clone());
            let fresh = match self.suppress.get(&key) {
                Some(&last) => a.ts.since(last) >= self.suppress_window,
                None => true,
            };
            if fresh {
                self.suppress.insert(key, a.ts, a.ts);
                self.stats.alerts += 1;
                self.out.push(a);
            } else {
                self.stats.suppressed += 1;
            }
        }
    }

    /// Takes the alerts emitted so far, in the order they were raised.
    pub fn drain_alerts(&mut self) -> std::vec::Drain<'_, Alert> {
        self.out.drain(..)
    }

    /// Engine counters.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Every table of the engine and its detectors, named `detector.table`.
    pub fn tables(&self) -> Vec<(String, TableStats)> {
        let mut v = vec![("engine.suppression".to_owned(), self.suppress.stats())];
        for (name, t) in self.calls.tables() {
            v.push((format!("engine.{name}"), t));
        }
        for d in &self.detectors {
            for (name, s) in d.tables() {
                v.push((format!("{}.{name}", d.meta().slug), s));
            }
        }
        v
    }

    /// The certificate store of the detector that keeps one (`tls-cert-changed`), to be saved when the run
    /// ends; `None` when no running detector keeps one.
    pub fn export_cert_store(&self) -> Option<CertStore> {
        self.detectors.iter().find_map(|d| d.export_cert_store())
    }

    /// Loads a certificate store saved by an earlier run, before the first event: the number of servers
    /// loaded, `Ok(None)` when no running detector keeps a store (the store is then left unused), or why the
    /// store cannot be used.
    pub fn import_cert_store(
        &mut self,
        store: &CertStore,
    ) -> Result<Option<usize>, CertStoreError> {
        for d in &mut self.detectors {
            if let Some(r) = d.import_cert_store(store) {
                return r.map(Some);
            }
        }
        Ok(None)
    }

    /// The slugs of the running detectors.
    pub fn detector_slugs(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.meta().slug).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Category, Meta, Severity};
    use crate::event::Interests;

    const META: Meta = Meta {
        sid: 9999,
        slug: "tick-probe",
        category: Category::Dos,
        severity: Severity::Low,
        signature: "raises once per tick",
    };

    /// Raises an alert at each tick, stamped with the time the engine gives it.
    #[derive(Debug)]
    struct TickProbe;

    impl Detector for TickProbe {
        fn meta(&self) -> &'static Meta {
            &META
        }
        fn interests(&self) -> Interests {
            Interests::NONE
        }
        fn on_event(&mut self, _ev: &Event, _cx: &mut Context<'_>) {}
        fn on_tick(&mut self, now: PacketTime, cx: &mut Context<'_>) {
            cx.raise(Alert::new(&META, now).key(format!("{}", now.as_nanos())));
        }
    }

    fn ticks(stamps: &[u64]) -> Vec<u64> {
        let mut e = Engine::with_detectors(&Config::default(), vec![Box::new(TickProbe)]);
        for (seq, ms) in stamps.iter().enumerate() {
            e.on_event(&Event {
                seq: seq as u64,
                ts: PacketTime::from_nanos(ms * 1_000_000),
                payload: Payload::Clock,
            });
        }
        e.drain_alerts()
            .map(|a| a.ts.as_nanos() / 1_000_000)
            .collect()
    }

    #[test]
    fn a_tick_is_stamped_at_the_boundary_of_its_second_whatever_packet_opened_it() {
        // The same traffic stamped by two taps: the packet near 2 s lands either side of the boundary.
        assert_eq!(
            ticks(&[1_001_300, 1_001_900, 1_002_000, 1_002_012]),
            [1_002_000]
        );
        assert_eq!(
            ticks(&[1_001_300, 1_001_900, 1_001_999, 1_002_012]),
            [1_002_000]
        );
        // A second with no packet has no tick of its own: the next packet's second is the boundary.
        assert_eq!(ticks(&[1_001_300, 1_004_500]), [1_004_000]);
    }
}
