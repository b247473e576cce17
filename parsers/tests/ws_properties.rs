//! For any bytes, and for RFC 6455 frames and an RFC 7118 handshake with random damage, the WebSocket entry
//! points return without panicking, every span they hand back lies inside the input, and lengths add up.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::ws::{self, Frame, Handshake, Header, StartLine};
use callguard_parsers::{ErrorKind, Layer};
use proptest::prelude::*;

const SEEDS: [&[u8]; 7] = [
    include_bytes!("vectors/rfc6455/text_masked.bin"),
    include_bytes!("vectors/rfc6455/fragment_first.bin"),
    include_bytes!("vectors/rfc6455/pong_masked.bin"),
    include_bytes!("vectors/rfc6455/binary_256.bin"),
    include_bytes!("vectors/rfc6455/binary_64k_header.bin"),
    include_bytes!("vectors/rfc7118/upgrade_request.dat"),
    include_bytes!("vectors/rfc7118/upgrade_response.dat"),
];

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn check_all(b: &[u8]) {
    let _ = ws::probe(b);
    match Header::parse(b) {
        Ok(h) => {
            assert!((2..=ws::MAX_HEADER_LEN).contains(&h.len) && h.len <= b.len());
            assert!(h.rsv < 8 && h.opcode.0 < 16);
            assert!(!h.opcode.is_control() || (h.fin && h.payload_len <= 125));
            let _ = (h.to_string(), format!("{:?}", h.opcode));
        }
        Err(e) => {
            assert_eq!(e.layer, Layer::WebSocket);
            assert!(e.offset <= b.len());
            if let ErrorKind::Incomplete { needed } = e.kind {
                assert!((1..=ws::MAX_HEADER_LEN).contains(&needed));
            }
        }
    }
    if let Ok(f) = Frame::parse(b) {
        assert!(inside(b, f.payload));
        assert!(f.len() <= b.len());
        assert_eq!(f.len() as u64, f.header.frame_len());
        let mut out = vec![7u8];
        f.unmask_into(&mut out);
        assert_eq!(out.len(), 1 + f.payload.len());
        let mut twice = out[1..].to_vec();
        if let Some(k) = f.header.mask {
            ws::unmask(k, 0, &mut twice);
        }
        assert_eq!(twice, f.payload, "masking is its own inverse");
        let _ = f.to_string();
    }
    match Handshake::parse(b) {
        Ok(h) => {
            assert!(h.len <= b.len() && h.len <= ws::MAX_HANDSHAKE_LEN);
            assert!(b[..h.len].ends_with(b"\r\n\r\n"));
            for s in [h.protocol, h.extensions].into_iter().flatten() {
                assert!(inside(b, s.as_bytes()));
            }
            if let StartLine::Request { target } = h.start {
                assert!(inside(b, target.as_bytes()));
            }
            let _ = (h.is_sip_upgrade(), h.is_switching(), h.to_string());
        }
        Err(e) => assert!(e.offset <= b.len().max(ws::MAX_HANDSHAKE_LEN)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes(b in prop::collection::vec(any::<u8>(), 0..300)) {
        check_all(&b);
    }

    #[test]
    fn mutated_vectors(
        which in 0usize..SEEDS.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = SEEDS[which].to_vec();
        for (i, v) in edits {
            let i = i.index(b.len());
            b[i] = v;
        }
        let keep = cut.index(b.len() + 1);
        check_all(&b);
        check_all(&b[..keep]);
    }

    #[test]
    fn unmasking_in_two_pieces_equals_unmasking_at_once(
        key in any::<[u8; 4]>(),
        data in prop::collection::vec(any::<u8>(), 0..64),
        split in any::<prop::sample::Index>(),
    ) {
        let mut once = data.clone();
        ws::unmask(key, 0, &mut once);
        let mut pieces = data;
        let at = split.index(pieces.len() + 1);
        let (a, b) = pieces.split_at_mut(at);
        ws::unmask(key, 0, a);
        ws::unmask(key, at, b);
        prop_assert_eq!(once, pieces);
    }
}

#[test]
fn the_vectors_themselves_pass_the_checks() {
    for v in SEEDS {
        check_all(v);
    }
}
