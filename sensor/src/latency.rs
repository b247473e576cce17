//! Processing latency, measured with HDR histograms: per worker, merged at the engine thread, exported in the
//! `stats` events (p50/p99/max) and as a Prometheus histogram.
//!
//! "Capture" is the moment the dispatcher read the first packet of a batch (wall time, `Instant`): what a
//! packet waits for in the kernel ring before that is the ring's block timeout, not the sensor's doing. Three
//! stages are measured from there:
//! - `worker`: the worker has decoded the batch (per batch);
//! - `engine`: the engine has handled an event of that batch, after the merge in packet order waited for
//!   every worker's watermark (per event);
//! - `alert`: an alert raised by that event has been handed to the outputs (per alert).
//!
//! These are wall-clock figures of the sensor's own work; they never feed detection, so findings stay the
//! same whatever the machine's speed.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency recorded exactly, in microseconds (two minutes); longer ones count as this.
const MAX_US: u64 = 120_000_000;

/// One stage's latency distribution, in microseconds, two significant digits (±1 %).
#[derive(Debug, Clone)]
pub struct Latency(Option<Histogram<u64>>);

impl Default for Latency {
    fn default() -> Self {
        // The bounds are constants that `new_with_bounds` accepts; `None` would only lose the figures.
        Latency(Histogram::new_with_bounds(1, MAX_US, 2).ok())
    }
}

impl Latency {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        if let Some(h) = &mut self.0 {
            h.saturating_record(u64::try_from(d.as_micros()).unwrap_or(MAX_US).max(1));
        }
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, o: &Latency) {
        if let (Some(a), Some(b)) = (&mut self.0, &o.0) {
            let _ = a.add(b);
        }
    }

    /// Latencies recorded.
    pub fn count(&self) -> u64 {
        self.0.as_ref().map_or(0, Histogram::len)
    }

    /// The `q` quantile (0 to 1), microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        self.0
            .as_ref()
            .filter(|h| !h.is_empty())
            .map_or(0, |h| h.value_at_quantile(q))
    }

    /// The largest latency, microseconds.
    pub fn max_us(&self) -> u64 {
        self.0.as_ref().map_or(0, Histogram::max)
    }

    /// Sum of the latencies, seconds (from the bucket means: within the histogram's precision).
    #[expect(
        clippy::cast_precision_loss,
        reason = "a sum in seconds for a Prometheus histogram: f64 precision is plenty"
    )]
    pub fn sum_secs(&self) -> f64 {
        self.0
            .as_ref()
            .map_or(0.0, |h| h.mean() * h.len() as f64 / 1e6)
    }

    /// Latencies at or below `secs` seconds.
    pub fn count_le(&self, secs: f64) -> u64 {
        let Some(h) = &self.0 else { return 0 };
        if secs.is_infinite() {
            return h.len();
        }
        // Bounds are a handful of round numbers of seconds: the conversion is exact enough.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "bucket bounds are small positive constants"
        )]
        let us = (secs * 1e6) as u64;
        h.count_between(0, us)
    }
}

/// The stages measured at the engine thread.
#[derive(Debug, Clone, Default)]
pub struct EngineLatency {
    /// Capture to the engine handling an event.
    pub engine: Latency,
    /// Capture to an alert handed to the outputs.
    pub alert: Latency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_merge_and_buckets() {
        let mut a = Latency::default();
        let mut b = Latency::default();
        for ms in 1..=100 {
            a.record(Duration::from_millis(ms));
        }
        b.record(Duration::from_secs(3));
        a.merge(&b);
        assert_eq!(a.count(), 101);
        let p50 = a.quantile_us(0.5);
        assert!((49_000..=51_500).contains(&p50), "{p50}");
        assert!(
            (2_970_000..=3_030_000).contains(&a.max_us()),
            "{}",
            a.max_us()
        );
        assert_eq!(a.count_le(0.010), 10);
        assert_eq!(a.count_le(f64::INFINITY), 101);
        // Longer than the range counts as the range's top, not lost.
        a.record(Duration::from_secs(3600));
        assert_eq!(a.count(), 102);
        assert_eq!(Latency::default().quantile_us(0.99), 0);
    }
}
