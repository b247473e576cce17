//! Stateless, zero-copy decoders for callguard.
//!
//! # Contract
//! - Every function here takes borrowed bytes and returns views or plain values that borrow from them.
//!   Nothing allocates on the decode path, nothing keeps state between calls, nothing does I/O, reads a clock
//!   or spawns a thread.
//! - No input can make a decoder panic: lengths are checked through [`bytes::Reader`] or etherparse's checked
//!   slices, and `clippy::indexing_slicing` is denied crate-wide.
//! - Decoders describe bytes; they never judge them. Oddities are reported as values (for example
//!   [`link::Decoded::stop`]), and deciding what is suspicious is the job of `callguard-rules`.
//!
//! # Use
//! ```
//! use callguard_parsers::link::{self, LinkType};
//! # let frame = [0u8; 14];
//! let decoded = link::decode(LinkType::ETHERNET, &frame);
//! assert!(decoded.is_err() || decoded.is_ok());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod arp;
pub mod bytes;
pub mod error;
pub mod link;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod stun;
pub mod tls;
pub mod tunnel;
pub mod ws;

pub use error::{ErrorKind, Layer, ParseError};
