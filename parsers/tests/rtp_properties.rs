//! For any bytes, the RTP, RTCP, STUN and media-port decoders return without panicking, and every span they
//! hand back lies inside the input. Random bytes rarely get past the first checks, so the vectors are also
//! mutated (bytes overwritten, then cut) to drive the deeper paths.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::rtp::rtcp::{self, Compound, Packet as RtcpPacket};
use callguard_parsers::rtp::{self, Packet, probe as media_probe};
use callguard_parsers::stun::{self, Attribute, Message};
use proptest::prelude::*;

const VECTORS: [&[u8]; 8] = [
    include_bytes!("vectors/rtp/csrc_one_byte_ext_padding.bin"),
    include_bytes!("vectors/rtp/two_byte_ext.bin"),
    include_bytes!("vectors/rtp/rtcp_sr_sdes.bin"),
    include_bytes!("vectors/rtp/rtcp_rr_bye.bin"),
    include_bytes!("vectors/rfc5769/sample_request.bin"),
    include_bytes!("vectors/rfc5769/sample_ipv4_response.bin"),
    include_bytes!("vectors/rfc5769/sample_ipv6_response.bin"),
    include_bytes!("vectors/rfc5769/sample_request_long_term.bin"),
];

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn check_rtp(b: &[u8]) {
    let _ = rtp::classify(b);
    let _ = rtp::probe_rtp(b);
    let Ok(p) = Packet::new(b) else { return };
    let _ = p.to_string();
    assert!(inside(b, p.payload()));
    assert!(p.header_len() <= b.len());
    assert_eq!(p.csrcs().count(), usize::from(p.csrc_count()));
    assert_eq!(
        p.header_len() + p.payload().len() + usize::from(p.padding_len()),
        b.len()
    );
    if let Some(x) = p.header_extension() {
        assert!(inside(b, x.data()));
        let _ = (x.form(), x.profile(), x.to_string());
        for e in x.elements() {
            match e {
                Ok(e) => {
                    assert!(inside(x.data(), e.data));
                    let _ = e.to_string();
                }
                Err(e) => assert!(e.offset <= b.len()),
            }
        }
    }
}

fn check_rtcp(b: &[u8]) {
    let _ = rtcp::probe(b);
    let Ok(c) = Compound::new(b) else { return };
    let _ = c.to_string();
    for p in c.packets() {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                assert!(e.offset <= b.len());
                continue;
            }
        };
        let _ = (p.to_string(), p.header().to_string());
        match p {
            RtcpPacket::SenderReport(sr) => {
                let _ = sr.sender_info();
                sr.report_blocks().for_each(|r| drop(r.to_string()));
                assert!(inside(b, sr.profile_extension()));
            }
            RtcpPacket::ReceiverReport(rr) => {
                let _ = rr.report_blocks().count();
                assert!(inside(b, rr.profile_extension()));
            }
            RtcpPacket::SourceDescription(s) => {
                for chunk in s.chunks() {
                    for item in chunk.items() {
                        assert!(inside(b, item.value));
                        let _ = item.to_string();
                    }
                    let _ = chunk.cname();
                }
            }
            RtcpPacket::Bye(bye) => {
                let _ = bye.ssrcs().count();
                if let Some(r) = bye.reason() {
                    assert!(inside(b, r));
                }
            }
            RtcpPacket::App(app) => assert!(inside(b, app.data())),
            RtcpPacket::TransportFeedback(f) | RtcpPacket::PayloadFeedback(f) => {
                let _ = f.fmt_name();
                assert!(inside(b, f.fci()));
            }
            RtcpPacket::ExtendedReport(xr) => {
                for blk in xr.blocks() {
                    assert!(inside(b, blk.content));
                    let _ = blk.to_string();
                }
            }
            RtcpPacket::Other(o) => assert!(inside(b, o.body())),
        }
    }
}

fn check_stun(b: &[u8]) {
    let _ = stun::probe(b);
    let Ok(m) = Message::new(b) else { return };
    let _ = (m.to_string(), m.method(), m.class(), m.fingerprint());
    let _ = m.check_fingerprint();
    assert!(inside(b, m.bytes()));
    for a in m.attributes() {
        let a = match a {
            Ok(a) => a,
            Err(e) => {
                assert!(e.offset <= b.len());
                continue;
            }
        };
        let _ = a.to_string();
        match a {
            Attribute::Username(v)
            | Attribute::Software(v)
            | Attribute::Realm(v)
            | Attribute::Nonce(v)
            | Attribute::MessageIntegrity(v)
            | Attribute::MessageIntegritySha256(v)
            | Attribute::Other(_, v) => assert!(inside(b, v)),
            Attribute::ErrorCode(e) => assert!(inside(b, e.reason)),
            _ => {}
        }
    }
}

fn check_all(b: &[u8]) {
    check_rtp(b);
    check_rtcp(b);
    check_stun(b);
    if let Some(h) = media_probe::dtls_record(b) {
        let _ = h.to_string();
    }
    let _ = media_probe::zrtp_hello(b);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes(b in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all(&b);
    }

    #[test]
    fn mutated_vectors(
        which in 0usize..VECTORS.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = VECTORS[which].to_vec();
        for (i, v) in edits {
            let i = i.index(b.len());
            b[i] = v;
        }
        let keep = cut.index(b.len() + 1);
        check_all(&b);
        check_all(&b[..keep]);
    }
}

#[test]
fn the_vectors_themselves_pass_the_checks() {
    for v in VECTORS {
        check_all(v);
    }
}
