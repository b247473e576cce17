//! The [`Detector`] trait and the [`Context`] detectors raise alerts through.

use crate::alert::{Alert, Meta};
use crate::calls::CallTracker;
use crate::detectors::tls_cert_changed::{CertStore, CertStoreError};
use crate::event::{Event, Interests};
use crate::table::TableStats;
use crate::time::PacketTime;

/// A detector: one file in `detectors/`, one catalogue entry.
///
/// Detectors cannot fail, do no I/O, read no clock (the engine hands them packet time) and keep their state in
/// [`crate::table::BoundedMap`]s. The engine suppresses repeats of an alert key ("once per key per hour") as
/// a safety net; a detector whose finding would otherwise recur on every message (a cleartext pair, an
/// exposed key) keeps its own small bounded "already reported" table, so that routine repeats never reach the
/// engine and the `suppressed` counter keeps meaning "alerts the engine held back".
pub trait Detector: Send + std::fmt::Debug {
    /// The catalogue entry.
    fn meta(&self) -> &'static Meta;

    /// The event kinds this detector wants.
    fn interests(&self) -> Interests;

    /// Called for each event of a kind in [`Detector::interests`], in capture order.
    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>);

    /// Called once each time packet time enters a new second (and once at the end of the input), for
    /// windowed rates and idle sweeps.
    fn on_tick(&mut self, _now: PacketTime, _cx: &mut Context<'_>) {}

    /// Called once at the end of the input, after the last tick: no packet will come any more, so what was
    /// waiting for an answer that could still arrive (a probe's grace period) can be judged as it stands.
    fn on_finish(&mut self, _now: PacketTime, _cx: &mut Context<'_>) {}

    /// The detector's tables, by name, for metrics and the summary.
    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        Vec::new()
    }

    /// The certificate store of a detector that keeps one (`tls-cert-changed`), to be saved for the next run;
    /// `None` for the others.
    fn export_cert_store(&self) -> Option<CertStore> {
        None
    }

    /// Loads a saved certificate store into a detector that keeps one: the number of servers loaded, or why the
    /// store cannot be used; `None` for the others.
    fn import_cert_store(&mut self, _store: &CertStore) -> Option<Result<usize, CertStoreError>> {
        None
    }
}

/// What a detector can do while handling an event: read the engine clock and the calls, and raise alerts.
#[derive(Debug)]
pub struct Context<'a> {
    now: PacketTime,
    out: &'a mut Vec<Alert>,
    calls: Option<&'a CallTracker>,
}

impl<'a> Context<'a> {
    /// A context at `now` collecting alerts into `out`, with no call state.
    pub fn new(now: PacketTime, out: &'a mut Vec<Alert>) -> Self {
        Self {
            now,
            out,
            calls: None,
        }
    }

    /// The same, reading the engine's calls.
    pub fn with_calls(now: PacketTime, out: &'a mut Vec<Alert>, calls: &'a CallTracker) -> Self {
        Self {
            now,
            out,
            calls: Some(calls),
        }
    }

    /// The engine's calls and the media tied to them (the engine has already handled the current event).
    pub fn calls(&self) -> Option<&'a CallTracker> {
        self.calls
    }

    /// The engine's packet time: the latest timestamp seen so far (never goes back).
    pub fn now(&self) -> PacketTime {
        self.now
    }

    /// Raises an alert. The engine applies suppression by `(sid, key)` afterwards.
    pub fn raise(&mut self, alert: Alert) {
        self.out.push(alert);
    }
}
