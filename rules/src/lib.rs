//! The callguard detection engine: events in, alerts out.
//!
//! # Contract
//! - No I/O, no threads, no wall clock: the engine is fed [`event::Event`]s in capture order and uses their
//!   packet time as its only clock. The same events give the same alerts, byte for byte.
//! - Every table is a [`table::BoundedMap`]: a cap, an idle timeout in packet time, eviction counters.
//! - Nothing here returns an error once the rules file is loaded; detectors cannot fail.
//!
//! # Use
//! ```
//! use callguard_rules::{config::Config, engine::Engine};
//! let mut engine = Engine::new(&Config::default());
//! // for ev in events { engine.on_event(&ev); for a in engine.drain_alerts() { .. } }
//! engine.finish();
//! assert_eq!(engine.drain_alerts().count(), 0);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod alert;
pub mod calls;
pub mod config;
pub mod detector;
pub mod detectors;
pub mod engine;
pub mod event;
pub mod mac;
pub mod net;
pub mod quality;
pub mod table;
pub mod testkit;
pub mod time;
pub mod tls;
