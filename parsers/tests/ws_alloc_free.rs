//! The WebSocket parser is zero-copy: reading the RFC 6455 frames and the RFC 7118 handshake, and unmasking
//! in place, performs no heap allocation. A counting global allocator proves it.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::ws::{self, Frame, Handshake};

#[expect(
    unsafe_code,
    reason = "a global allocator is the only way to count allocations"
)]
mod common;

use common::allocs;

const FRAMES: [&[u8]; 7] = [
    include_bytes!("vectors/rfc6455/text_unmasked.bin"),
    include_bytes!("vectors/rfc6455/text_masked.bin"),
    include_bytes!("vectors/rfc6455/fragment_first.bin"),
    include_bytes!("vectors/rfc6455/fragment_last.bin"),
    include_bytes!("vectors/rfc6455/ping_unmasked.bin"),
    include_bytes!("vectors/rfc6455/pong_masked.bin"),
    include_bytes!("vectors/rfc6455/binary_256.bin"),
];
const HANDSHAKES: [&[u8]; 2] = [
    include_bytes!("vectors/rfc7118/upgrade_request.dat"),
    include_bytes!("vectors/rfc7118/upgrade_response.dat"),
];

#[test]
fn parsing_frames_and_handshakes_and_unmasking_in_place_do_not_allocate() {
    let mut buf = [0u8; 512];
    let before = allocs();
    let mut sum = 0usize;
    for _ in 0..3 {
        for b in FRAMES {
            let f = Frame::parse(b).unwrap();
            let out = &mut buf[..f.payload.len()];
            out.copy_from_slice(f.payload);
            if let Some(k) = f.header.mask {
                ws::unmask(k, 0, out);
            }
            sum += f.len() + usize::from(out.first().copied().unwrap_or(0));
        }
        for b in HANDSHAKES {
            let h = Handshake::parse(b).unwrap();
            sum += h.len + usize::from(h.is_sip_upgrade()) + usize::from(ws::probe(b));
        }
    }
    let after = allocs();
    assert!(sum > 0);
    assert_eq!(after - before, 0, "allocations while parsing");
}
