//! Outputs: EVE JSON lines, syslog messages, SIP over HEP and the terminal summary.

pub mod certs;
pub mod eve;
pub mod hep;
pub mod summary;
pub mod syslog;
pub mod tally;
