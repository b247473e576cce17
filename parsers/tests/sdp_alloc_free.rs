//! The zero-copy promise of `sdp`, tested: parsing each vector and walking every media section, attribute,
//! codec and line (formatting them too) allocates nothing.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::fmt::{self, Write as _};

use callguard_parsers::sdp::Session;

#[expect(
    unsafe_code,
    reason = "a global allocator is the only way to count allocations"
)]
mod common;

use common::allocs;

/// A `fmt::Write` that keeps nothing, so `Display` and `Debug` run without a `String`.
struct Sink(usize);

impl fmt::Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

const VECTORS: [&[u8]; 16] = [
    include_bytes!("vectors/sdp/rfc4317_2_1_offer.sdp"),
    include_bytes!("vectors/sdp/rfc4317_2_1_answer.sdp"),
    include_bytes!("vectors/sdp/rfc4317_2_2_answer_rejects_video.sdp"),
    include_bytes!("vectors/sdp/rfc4317_2_8_answer.sdp"),
    include_bytes!("vectors/sdp/rfc4317_3_1_hold_answer.sdp"),
    include_bytes!("vectors/sdp/rfc4317_3_2_hold_second_offer.sdp"),
    include_bytes!("vectors/sdp/rfc4317_5_2_black_hole_offer.sdp"),
    include_bytes!("vectors/sdp/hold_inactive.sdp"),
    include_bytes!("vectors/sdp/rfc4568_9_1_offer.sdp"),
    include_bytes!("vectors/sdp/rfc4568_9_2_answer.sdp"),
    include_bytes!("vectors/sdp/rfc8122_5_fingerprint.sdp"),
    include_bytes!("vectors/sdp/rfc5763_5_offer.sdp"),
    include_bytes!("vectors/sdp/rfc5763_5_answer.sdp"),
    include_bytes!("vectors/sdp/rfc8839_4_2_6_ice.sdp"),
    include_bytes!("vectors/sdp/t38_udptl_image.sdp"),
    include_bytes!("vectors/sdp/rfc4475_3_1_1_1_wsinv.sdp"),
];

fn walk(body: &[u8], out: &mut Sink) -> usize {
    let s = Session::parse(body).unwrap();
    let mut n = 0;
    write!(out, "{s} {s:?}").unwrap();
    for l in s.lines() {
        write!(out, "{l} {l:?}").unwrap();
        n += 1;
    }
    for a in s.attributes() {
        write!(out, "{a} {a:?}").unwrap();
        n += 1;
    }
    for m in s.media() {
        write!(out, "{m} {m:?}").unwrap();
        let _ = (
            m.connection(),
            m.rtcp_port(),
            m.direction(),
            m.setup(),
            m.ice_ufrag(),
        );
        if let Some(f) = m.fingerprint() {
            let d = f.decode();
            write!(out, "{f} {d:?}").unwrap();
        }
        for a in m.attributes() {
            write!(out, "{a} {a:?}").unwrap();
            n += 1;
        }
        for c in m.codecs() {
            write!(out, "{c}").unwrap();
            n += 1;
        }
        n += m.crypto().count() + m.candidates().count() + m.rtpmaps().count() + m.fmtps().count();
        n += m.formats().count() + m.lines().count() + m.ssrcs().count();
    }
    n
}

#[test]
fn parsing_and_walking_the_vectors_allocates_nothing() {
    let mut sink = Sink(0);
    // Warm up anything the runtime sets up lazily (stdout, thread locals) outside the count.
    let mut walked = 0;
    for v in VECTORS {
        walked += walk(v, &mut sink);
    }
    let before = allocs();
    for _ in 0..10 {
        for v in VECTORS {
            walk(v, &mut sink);
        }
    }
    let after = allocs();
    assert_eq!(after - before, 0, "allocations while parsing SDP");
    assert!(
        walked > 200 && sink.0 > 10_000,
        "the walk did visit things: {walked} items, {} bytes",
        sink.0
    );
}
