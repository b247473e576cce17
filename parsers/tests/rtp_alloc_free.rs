//! Parsing RTP, RTCP and STUN and walking every item costs zero heap allocations: the "zero-copy" promise of
//! the views, tested with a counting global allocator.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::io::Write;

use callguard_parsers::rtp::rtcp::{self, Compound, Packet as RtcpPacket};
use callguard_parsers::rtp::{self, Packet, probe as media_probe};
use callguard_parsers::stun::{self, Message};

#[expect(
    unsafe_code,
    reason = "a global allocator is the only way to count allocations"
)]
mod common;

use common::allocs;

const RTP: [&[u8]; 2] = [
    include_bytes!("vectors/rtp/csrc_one_byte_ext_padding.bin"),
    include_bytes!("vectors/rtp/two_byte_ext.bin"),
];
const RTCP: [&[u8]; 2] = [
    include_bytes!("vectors/rtp/rtcp_sr_sdes.bin"),
    include_bytes!("vectors/rtp/rtcp_rr_bye.bin"),
];
const STUN: [&[u8]; 4] = [
    include_bytes!("vectors/rfc5769/sample_request.bin"),
    include_bytes!("vectors/rfc5769/sample_ipv4_response.bin"),
    include_bytes!("vectors/rfc5769/sample_ipv6_response.bin"),
    include_bytes!("vectors/rfc5769/sample_request_long_term.bin"),
];

/// Walks everything and returns a checksum so nothing is optimised away. Formatting goes to `io::sink`,
/// which does not allocate either.
fn walk_all() -> u64 {
    let mut sum = 0u64;
    let mut out = std::io::sink();
    for b in RTP {
        sum += rtp::classify(b) as u64 + u64::from(rtp::probe_rtp(b));
        let p = Packet::new(b).unwrap();
        sum += u64::from(p.sequence()) + p.csrcs().map(u64::from).sum::<u64>();
        sum += p.payload().len() as u64;
        let x = p.header_extension().unwrap();
        for e in x.elements() {
            let e = e.unwrap();
            sum += u64::from(e.id) + e.data.len() as u64;
        }
        write!(out, "{p} {x}").unwrap();
    }
    for b in RTCP {
        sum += u64::from(rtcp::probe(b));
        let c = Compound::new(b).unwrap();
        for p in c.packets() {
            let p = p.unwrap();
            write!(out, "{p}").unwrap();
            match p {
                RtcpPacket::SenderReport(sr) => {
                    sum += sr.sender_info().ntp_timestamp;
                    sum += sr.report_blocks().map(|r| u64::from(r.jitter)).sum::<u64>();
                }
                RtcpPacket::ReceiverReport(rr) => {
                    sum += rr
                        .report_blocks()
                        .map(|r| r.cumulative_lost.unsigned_abs() as u64)
                        .sum::<u64>();
                }
                RtcpPacket::SourceDescription(s) => {
                    for chunk in s.chunks() {
                        for item in chunk.items() {
                            sum += item.value.len() as u64;
                        }
                        sum += chunk.cname().map_or(0, |c| c.len() as u64);
                        write!(out, "{chunk}").unwrap();
                    }
                }
                RtcpPacket::Bye(bye) => {
                    sum += bye.ssrcs().map(u64::from).sum::<u64>();
                    sum += bye.reason().map_or(0, |r| r.len() as u64);
                }
                _ => sum += 1,
            }
        }
        write!(out, "{c}").unwrap();
    }
    for b in STUN {
        sum += u64::from(stun::probe(b));
        let m = Message::new(b).unwrap();
        for a in m.attributes() {
            let a = a.unwrap();
            write!(out, "{a}").unwrap();
            sum += u64::from(a.attr_type().0);
        }
        sum += u64::from(m.check_fingerprint().unwrap_or(false));
        write!(out, "{m}").unwrap();
        let _ = media_probe::dtls_record(b);
        let _ = media_probe::zrtp_hello(b);
    }
    sum
}

#[test]
fn parsing_and_walking_every_item_allocates_nothing() {
    // Warm up anything lazily initialised (stdout locks, the sink).
    let expected = walk_all();
    let before = allocs();
    for _ in 0..100 {
        assert_eq!(walk_all(), expected);
    }
    let after = allocs();
    assert_eq!(after - before, 0, "allocations while parsing");
}
