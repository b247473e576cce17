//! Outputs: EVE JSON lines, syslog messages and the terminal summary.

pub mod certs;
pub mod eve;
pub mod summary;
pub mod syslog;
pub mod tally;
