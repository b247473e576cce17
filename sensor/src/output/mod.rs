//! Outputs: EVE JSON lines and the terminal summary.

pub mod certs;
pub mod eve;
pub mod summary;
pub mod tally;
