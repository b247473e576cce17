//! callguard sensor library: capture sources, dispatch, workers and outputs. The binary is `src/main.rs`.
//!
//! The library exists so that tests and benchmarks drive the same pipeline as the binary.

pub mod capture;
pub mod config_file;
pub mod latency;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod stats;
pub mod worker;
