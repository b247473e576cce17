//! callguard sensor library: capture sources, dispatch, workers and outputs. The binary is `src/main.rs`.

pub mod capture;
pub mod worker;
