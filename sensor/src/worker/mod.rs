//! Workers: per-flow work (defragmentation, TCP reassembly, decoding) on the packets the dispatcher sends.

pub mod defrag;
pub mod reasm;
