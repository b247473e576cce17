//! RTCP compound packets (RFC 3550 §6, RFC 4585, RFC 3611) checked field by field, and bad lengths.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::ErrorKind;
use callguard_parsers::rtp::rtcp::{
    self, Compound, Header, Item, Packet, PacketType, ReportBlock, SdesType, SenderInfo, XrBlock,
};

const SR_SDES: &[u8] = include_bytes!("vectors/rtp/rtcp_sr_sdes.bin");
const RR_BYE: &[u8] = include_bytes!("vectors/rtp/rtcp_rr_bye.bin");

fn packets(bytes: &[u8]) -> Vec<Result<Packet<'_>, callguard_parsers::ParseError>> {
    Compound::new(bytes).unwrap().packets().collect()
}

#[test]
fn sender_report_and_sdes_decode_field_by_field() {
    let ps = packets(SR_SDES);
    assert_eq!(ps.len(), 2);

    let Ok(Packet::SenderReport(sr)) = ps[0] else {
        panic!("{:?}", ps[0]);
    };
    assert_eq!(
        ps[0].unwrap().header(),
        Header {
            padding: false,
            count: 1,
            packet_type: PacketType::SR,
            length_words: 12,
        }
    );
    assert_eq!(ps[0].unwrap().header().packet_len(), 52);
    assert_eq!(sr.ssrc(), 0x1122_3344);
    assert_eq!(
        sr.sender_info(),
        SenderInfo {
            ntp_timestamp: 0xe123_4567_89ab_cdef,
            rtp_timestamp: 0x12345,
            packet_count: 100,
            octet_count: 16000,
        }
    );
    assert_eq!(
        sr.report_blocks().collect::<Vec<_>>(),
        [ReportBlock {
            ssrc: 0xaabb_ccdd,
            fraction_lost: 0x40,
            cumulative_lost: 5,
            highest_seq: 0x0001_0203,
            jitter: 17,
            last_sr: 0x4567_8912,
            delay_since_last_sr: 0x0001_0000,
        }]
    );
    assert!(sr.profile_extension().is_empty());

    let Ok(Packet::SourceDescription(sdes)) = ps[1] else {
        panic!("{:?}", ps[1]);
    };
    let chunks: Vec<_> = sdes.chunks().collect();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].ssrc(), 0x1122_3344);
    assert_eq!(chunks[0].cname(), Some(&b"alice@192.0.2.1"[..]));
    assert_eq!(
        chunks[0].items().collect::<Vec<_>>(),
        [
            Item {
                kind: SdesType::CNAME,
                value: b"alice@192.0.2.1"
            },
            Item {
                kind: SdesType::TOOL,
                value: b"x"
            },
        ]
    );
    assert_eq!(format!("{:?}", SdesType::CNAME), "CNAME(1)");
    assert_eq!(
        chunks[0].items().next().unwrap().to_string(),
        "CNAME(1) \"alice@192.0.2.1\""
    );
    assert_eq!(
        ps[1].unwrap().header().to_string(),
        "rtcp header SDES(202) count=1 words=7"
    );

    let c = Compound::new(SR_SDES).unwrap();
    assert_eq!(
        c.to_string(),
        "rtcp compound len=84 [SR ssrc=0x11223344 ntp=0xe123456789abcdef rtp_ts=74565 packets=100 \
         octets=16000 blocks=1, SDES chunks=1 chunk ssrc=0x11223344 cname=\"alice@192.0.2.1\"]"
    );
    assert!(rtcp::probe(SR_SDES));
}

#[test]
fn receiver_report_and_bye_decode_with_negative_cumulative_loss() {
    let ps = packets(RR_BYE);
    assert_eq!(ps.len(), 2);
    let Ok(Packet::ReceiverReport(rr)) = ps[0] else {
        panic!("{:?}", ps[0]);
    };
    assert_eq!(rr.ssrc(), 0x5566_7788);
    let blocks: Vec<_> = rr.report_blocks().collect();
    assert_eq!(
        blocks,
        [ReportBlock {
            ssrc: 0x1122_3344,
            fraction_lost: 0,
            cumulative_lost: -3,
            highest_seq: 0x100,
            jitter: 0,
            last_sr: 0,
            delay_since_last_sr: 0,
        }]
    );
    assert_eq!(
        blocks[0].to_string(),
        "report ssrc=0x11223344 lost=0/256 cumulative=-3 highest_seq=256 jitter=0 lsr=0x00000000 dlsr=0"
    );

    let Ok(Packet::Bye(bye)) = ps[1] else {
        panic!("{:?}", ps[1]);
    };
    assert_eq!(bye.ssrcs().collect::<Vec<_>>(), [0x5566_7788]);
    assert_eq!(bye.reason(), Some(&b"shutdown"[..]));
    assert_eq!(
        bye.to_string(),
        "BYE ssrcs=[0x55667788] reason=\"shutdown\""
    );
    assert!(rtcp::probe(RR_BYE));
}

#[test]
fn cumulative_loss_sign_extends_24_bits() {
    for (wire, value) in [
        ([0x7f, 0xff, 0xff], 8_388_607),
        ([0x80, 0x00, 0x00], -8_388_608),
        ([0xff, 0xff, 0xff], -1),
        ([0, 0, 0], 0),
    ] {
        let mut b = RR_BYE.to_vec();
        b[13..16].copy_from_slice(&wire);
        let Ok(Packet::ReceiverReport(rr)) = packets(&b)[0] else {
            panic!()
        };
        assert_eq!(rr.report_blocks().next().unwrap().cumulative_lost, value);
    }
}

#[test]
fn a_length_past_the_end_is_truncated_and_stops_the_walk() {
    // First packet: Compound::new refuses it, at the start of its body.
    let mut b = SR_SDES.to_vec();
    b[3] = 0xff;
    let e = Compound::new(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 4));
    assert!(!rtcp::probe(&b));

    // Second packet (SDES at 52) claims 8 words but only 7 are there: one error, then nothing.
    let mut b = SR_SDES.to_vec();
    b[55] = 8;
    let ps = packets(&b);
    assert_eq!(ps.len(), 2);
    assert!(ps[0].is_ok());
    let e = ps[1].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 56));

    // A trailing partial header is truncated at its own offset.
    let mut b = SR_SDES.to_vec();
    b.extend_from_slice(&[0x80, 200]);
    let e = packets(&b)[2].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 86));
}

#[test]
fn a_wrong_version_stops_the_walk() {
    let mut b = SR_SDES.to_vec();
    b[52] = 0x41;
    let ps = packets(&b);
    assert_eq!(ps.len(), 2);
    let e = ps[1].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 52));

    let mut b = SR_SDES.to_vec();
    b[0] = 0x01;
    let e = Compound::new(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 0));
}

#[test]
fn a_body_too_short_for_its_type_is_an_error_item_and_the_walk_goes_on() {
    // The SR says two report blocks but holds one: the blocks would start at body offset 24 (packet offset 28).
    let mut b = SR_SDES.to_vec();
    b[0] = 0x82;
    let ps = packets(&b);
    assert_eq!(ps.len(), 2);
    let e = ps[0].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 28));
    assert!(matches!(ps[1], Ok(Packet::SourceDescription(_))));
    assert!(!rtcp::probe(&b));

    // The SDES says two chunks but holds one: the second chunk's SSRC would be at 84.
    let mut b = SR_SDES.to_vec();
    b[52] = 0x82;
    let e = packets(&b)[1].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 84));

    // An SDES item running past the packet: CNAME claims 40 bytes.
    let mut b = SR_SDES.to_vec();
    b[61] = 40;
    let e = packets(&b)[1].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 62));

    // A BYE reason running past the packet.
    let mut b = RR_BYE.to_vec();
    b[40] = 20;
    let e = packets(&b)[1].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 41));
}

#[test]
fn padding_is_removed_and_a_bad_count_is_invalid() {
    // Mark the BYE (at 32, 16 bytes of body) as padded by its last three null bytes.
    let mut b = RR_BYE.to_vec();
    b[32] |= 0x20;
    let last = b.len() - 1;
    b[last] = 3;
    let Ok(Packet::Bye(bye)) = packets(&b)[1] else {
        panic!()
    };
    assert_eq!(bye.reason(), Some(&b"shutdown"[..]));
    assert!(packets(&b)[1].unwrap().header().padding);

    for count in [0u8, 17] {
        b[last] = count;
        let e = packets(&b)[1].unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid, last),
            "count {count}"
        );
    }
}

/// Builds one RTCP packet from its first byte, type and body.
fn rtcp_packet(b0: u8, pt: u8, body: &[u8]) -> Vec<u8> {
    assert_eq!(body.len() % 4, 0);
    let mut p = vec![b0, pt];
    p.extend_from_slice(&u16::try_from(body.len() / 4).unwrap().to_be_bytes());
    p.extend_from_slice(body);
    p
}

#[test]
fn feedback_app_xr_and_other_types_decode() {
    // RR with no blocks, then a PLI, a Generic NACK, an APP, an XR with a DLRR block, and an IJ.
    let mut b = rtcp_packet(0x80, 201, &[0, 0, 0, 9]);
    b.extend(rtcp_packet(0x81, 206, &[0, 0, 0, 9, 0, 0, 0, 7]));
    b.extend(rtcp_packet(
        0x81,
        205,
        &[0, 0, 0, 9, 0, 0, 0, 7, 0x12, 0x34, 0x00, 0x05],
    ));
    b.extend(rtcp_packet(0x83, 204, b"\0\0\0\x09cgrdDATA"));
    b.extend(rtcp_packet(
        0x80,
        207,
        &[0, 0, 0, 9, 5, 0, 0, 3, 0, 0, 0, 7, 1, 2, 3, 4, 0, 0, 0, 1],
    ));
    b.extend(rtcp_packet(0x81, 195, &[0, 0, 0, 42]));
    assert!(rtcp::probe(&b));

    let ps: Vec<_> = packets(&b).into_iter().map(Result::unwrap).collect();
    assert_eq!(ps.len(), 6);

    let Packet::PayloadFeedback(pli) = ps[1] else {
        panic!("{:?}", ps[1]);
    };
    assert_eq!((pli.fmt(), pli.fmt_name()), (1, Some("PLI")));
    assert_eq!(pli.packet_type(), PacketType::PSFB);
    assert_eq!((pli.sender_ssrc(), pli.media_ssrc()), (9, 7));
    assert!(pli.fci().is_empty());
    assert_eq!(
        pli.to_string(),
        "PSFB fmt=1(PLI) sender=0x00000009 media=0x00000007 fci=0"
    );

    let Packet::TransportFeedback(nack) = ps[2] else {
        panic!("{:?}", ps[2]);
    };
    assert_eq!(nack.fmt_name(), Some("Generic NACK"));
    assert_eq!(nack.fci(), &[0x12, 0x34, 0x00, 0x05]);

    let Packet::App(app) = ps[3] else {
        panic!("{:?}", ps[3]);
    };
    assert_eq!(app.subtype(), 3);
    assert_eq!(app.ssrc(), 9);
    assert_eq!(&app.name(), b"cgrd");
    assert_eq!(app.data(), b"DATA");

    let Packet::ExtendedReport(xr) = ps[4] else {
        panic!("{:?}", ps[4]);
    };
    assert_eq!(xr.ssrc(), 9);
    assert_eq!(
        xr.blocks().collect::<Vec<_>>(),
        [XrBlock {
            block_type: 5,
            type_specific: 0,
            content: &[0, 0, 0, 7, 1, 2, 3, 4, 0, 0, 0, 1],
        }]
    );

    assert_eq!(
        xr.blocks().next().unwrap().to_string(),
        "xr block type=5 specific=0x00 len=12"
    );

    let Packet::Other(ij) = ps[5] else {
        panic!("{:?}", ps[5]);
    };
    assert_eq!(ij.packet_type(), PacketType::IJ);
    assert_eq!(ij.body(), &[0, 0, 0, 42]);
    assert_eq!(ij.to_string(), "IJ(195) count=1 body=4");
    assert_eq!(format!("{:?}", PacketType(250)), "PacketType(250)");

    // An XR block longer than the packet is an error at the block's content.
    let bad = rtcp_packet(0x80, 207, &[0, 0, 0, 9, 5, 0, 0, 4, 0, 0, 0, 7]);
    let e = packets(&bad)[0].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 12));
    // A feedback packet without its media SSRC.
    let bad = rtcp_packet(0x81, 206, &[0, 0, 0, 9]);
    let e = packets(&bad)[0].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 8));
}

#[test]
fn the_probe_wants_a_known_first_type() {
    let ij_first = rtcp_packet(0x81, 195, &[0, 0, 0, 42]);
    assert!(Compound::new(&ij_first).is_ok());
    assert!(!rtcp::probe(&ij_first));
    assert!(!rtcp::probe(&[0x80, 200, 0]));
    assert!(!rtcp::probe(b"SIP/2.0 200 OK\r\n"));
}
