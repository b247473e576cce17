//! RTP packets (RFC 3550 §5.1) with CSRCs, RFC 8285 header extensions and padding; the payload type table;
//! and the media-port demultiplexer (RFC 7983, RFC 5761) with its probes.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::ErrorKind;
use callguard_parsers::rtp::probe::{self as media_probe, DtlsRecordHeader};
use callguard_parsers::rtp::{
    Element, ExtensionForm, Kind, Packet, PayloadType, classify, probe_rtp, rtcp, rtp_packet,
};
use callguard_parsers::stun;

const ONE_BYTE: &[u8] = include_bytes!("vectors/rtp/csrc_one_byte_ext_padding.bin");
const TWO_BYTE: &[u8] = include_bytes!("vectors/rtp/two_byte_ext.bin");
const SR_SDES: &[u8] = include_bytes!("vectors/rtp/rtcp_sr_sdes.bin");
const STUN_REQUEST: &[u8] = include_bytes!("vectors/rfc5769/sample_request.bin");

#[test]
fn csrcs_one_byte_extension_and_padding_decode() {
    let p = Packet::new(ONE_BYTE).unwrap();
    assert_eq!(p.version(), 2);
    assert!(p.padding());
    assert!(p.extension());
    assert_eq!(p.csrc_count(), 2);
    assert!(p.marker());
    assert_eq!(p.payload_type(), PayloadType::PCMU);
    assert_eq!(p.sequence(), 0x1234);
    assert_eq!(p.timestamp(), 0xdead_beef);
    assert_eq!(p.ssrc(), 0x1122_3344);
    assert_eq!(p.csrcs().collect::<Vec<_>>(), [0xaaaa_aaaa, 0xbbbb_bbbb]);
    assert_eq!(p.csrcs().len(), 2);
    assert_eq!(p.header_len(), 36);
    assert_eq!(p.payload(), &[0xd5; 8]);
    assert_eq!(p.padding_len(), 4);

    let x = p.header_extension().unwrap();
    assert_eq!(x.profile(), 0xbede);
    assert_eq!(x.form(), ExtensionForm::OneByte);
    assert_eq!(x.offset(), 24);
    assert_eq!(x.data().len(), 12);
    let els: Vec<_> = x.elements().map(Result::unwrap).collect();
    assert_eq!(
        els,
        [
            Element {
                id: 1,
                data: &[0x41]
            },
            Element {
                id: 2,
                data: &[0x42, 0x43]
            },
            Element {
                id: 3,
                data: &[0x44, 0x45, 0x46, 0x47]
            },
        ]
    );
    assert_eq!(
        p.to_string(),
        "rtp pt=PCMU(0) seq=4660 ts=3735928559 ssrc=0x11223344 marker csrcs=2 ext=0xbede/12 payload=8 padding=4"
    );
    assert!(probe_rtp(ONE_BYTE));
    assert_eq!(classify(ONE_BYTE), Kind::Rtp);
}

#[test]
fn two_byte_extension_decodes() {
    let p = Packet::new(TWO_BYTE).unwrap();
    assert_eq!(p.payload_type(), PayloadType(96));
    assert!(p.payload_type().is_dynamic());
    assert!(!p.marker());
    assert_eq!(p.csrcs().count(), 0);
    assert_eq!(p.header_len(), 28);
    assert_eq!(p.payload(), &[1, 2, 3, 4]);
    assert_eq!(p.padding_len(), 0);
    let x = p.header_extension().unwrap();
    assert_eq!(x.form(), ExtensionForm::TwoByte { appbits: 0 });
    let els: Vec<_> = x.elements().map(Result::unwrap).collect();
    assert_eq!(
        els,
        [
            Element { id: 1, data: &[] },
            Element {
                id: 2,
                data: &[0x42]
            },
            Element {
                id: 3,
                data: b"abcd"
            },
        ]
    );
}

#[test]
fn other_profiles_keep_their_data_and_have_no_elements() {
    let mut b = TWO_BYTE.to_vec();
    b[12] = 0xab;
    let p = Packet::new(&b).unwrap();
    let x = p.header_extension().unwrap();
    assert_eq!(x.form(), ExtensionForm::Other);
    assert_eq!(x.profile(), 0xab00);
    assert_eq!(x.data().len(), 12);
    assert_eq!(x.elements().count(), 0);
}

#[test]
fn one_byte_id_15_ends_the_elements() {
    let b = [
        0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x10, 0x41, 0xf0, 0x10,
    ];
    let p = Packet::new(&b).unwrap();
    let els: Vec<_> = p.header_extension().unwrap().elements().collect();
    assert_eq!(
        els,
        [Ok(Element {
            id: 1,
            data: &[0x41]
        })]
    );
}

#[test]
fn an_element_running_past_the_extension_is_truncated_at_its_offset() {
    // One-byte element ID 1, L=3 (four bytes) but only two bytes of extension left.
    let b = [
        0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x00, 0x00, 0x13, 0x41,
    ];
    let p = Packet::new(&b).unwrap();
    let mut els = p.header_extension().unwrap().elements();
    let e = els.next().unwrap().unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 19));
    assert_eq!(els.next(), None);
}

#[test]
fn truncated_packets_report_the_failing_offset() {
    // Fixed header cut short.
    let e = Packet::new(&ONE_BYTE[..7]).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 4));
    // CSRC list cut short: the list starts at 12.
    let e = Packet::new(&ONE_BYTE[..15]).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 12));
    // Extension header cut short: it starts at 12 + 4 * 2 = 20.
    let e = Packet::new(&ONE_BYTE[..22]).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 20));
    // Extension body cut short: it starts at 24.
    let e = Packet::new(&ONE_BYTE[..30]).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 24));
    // Truncated packets never pass the probe.
    assert!(!probe_rtp(&ONE_BYTE[..30]));
}

#[test]
fn version_other_than_two_is_invalid() {
    for v in [0x00u8, 0x40, 0xc0] {
        let mut b = ONE_BYTE.to_vec();
        b[0] = (b[0] & 0x3f) | v;
        let e = Packet::new(&b).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 0));
    }
}

#[test]
fn bad_padding_counts_are_invalid_at_the_last_byte() {
    let mut b = ONE_BYTE.to_vec();
    let last = b.len() - 1;
    for count in [0u8, 13, 255] {
        b[last] = count;
        let e = Packet::new(&b).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Invalid, last),
            "count {count}"
        );
    }
    // 12 bytes after the header: a count of 12 leaves an empty payload.
    b[last] = 12;
    let p = Packet::new(&b).unwrap();
    assert!(p.payload().is_empty());
    // P set on a header-only packet: the last byte would be inside the header.
    let h = [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4];
    let e = Packet::new(&h).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 11));
}

#[test]
fn payload_type_table_follows_rfc_3551() {
    let rows: &[(u8, Option<&str>, Option<u32>)] = &[
        (0, Some("PCMU"), Some(8000)),
        (1, None, None),
        (2, None, None),
        (3, Some("GSM"), Some(8000)),
        (4, Some("G723"), Some(8000)),
        (5, Some("DVI4"), Some(8000)),
        (6, Some("DVI4"), Some(16000)),
        (7, Some("LPC"), Some(8000)),
        (8, Some("PCMA"), Some(8000)),
        (9, Some("G722"), Some(8000)),
        (10, Some("L16"), Some(44100)),
        (11, Some("L16"), Some(44100)),
        (12, Some("QCELP"), Some(8000)),
        (13, Some("CN"), Some(8000)),
        (14, Some("MPA"), Some(90000)),
        (15, Some("G728"), Some(8000)),
        (16, Some("DVI4"), Some(11025)),
        (17, Some("DVI4"), Some(22050)),
        (18, Some("G729"), Some(8000)),
        (19, None, None),
        (24, None, None),
        (25, Some("CelB"), Some(90000)),
        (26, Some("JPEG"), Some(90000)),
        (27, None, None),
        (28, Some("nv"), Some(90000)),
        (31, Some("H261"), Some(90000)),
        (32, Some("MPV"), Some(90000)),
        (33, Some("MP2T"), Some(90000)),
        (34, Some("H263"), Some(90000)),
        (35, None, None),
        (96, None, None),
        (127, None, None),
    ];
    for &(pt, name, rate) in rows {
        assert_eq!(PayloadType(pt).name(), name, "pt {pt}");
        assert_eq!(PayloadType(pt).clock_rate(), rate, "pt {pt}");
    }
    assert_eq!(PayloadType::G729, PayloadType(18));
    assert_eq!(PayloadType::H263, PayloadType(34));
    assert_eq!(format!("{:?}", PayloadType::PCMA), "PCMA(8)");
    assert_eq!(format!("{:?}", PayloadType(101)), "PayloadType(101)");
    assert!(!PayloadType::PCMU.is_dynamic());
}

/// A DTLS 1.2 handshake record carrying the start of a ClientHello (the body is a handshake header and
/// `client_version`, enough for a record header check).
fn dtls_client_hello() -> Vec<u8> {
    let body = [
        0x01, 0, 0, 0x2a, 0, 0, 0, 0, 0, 0, 0, 0x2a, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut b = vec![22, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&body);
    b
}

/// A ZRTP Hello (RFC 6189 §5.2) with no algorithm lists: 22 words of message, then the CRC.
fn zrtp_hello() -> Vec<u8> {
    let mut b = vec![0x10, 0, 0, 1];
    b.extend_from_slice(b"ZRTP");
    b.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    b.extend_from_slice(&[0x50, 0x5a, 0, 22]);
    b.extend_from_slice(b"Hello   ");
    b.extend_from_slice(b"1.10");
    b.extend_from_slice(b"callguard test  ");
    b.extend_from_slice(&[0x11; 32]); // H3
    b.extend_from_slice(&[0x22; 12]); // ZID
    b.extend_from_slice(&[0; 4]); // flags and counts
    b.extend_from_slice(&[0x33; 8]); // MAC
    b.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]); // CRC
    assert_eq!(b.len(), 12 + 88 + 4);
    b
}

#[test]
fn each_kind_is_classified_and_confirmed_by_its_probe() {
    assert_eq!(classify(ONE_BYTE), Kind::Rtp);
    assert!(probe_rtp(ONE_BYTE) && !rtcp::probe(ONE_BYTE));

    assert_eq!(classify(SR_SDES), Kind::Rtcp);
    assert!(rtcp::probe(SR_SDES) && !probe_rtp(SR_SDES));
    // The probe that keeps the packet agrees.
    assert_eq!(rtp_packet(ONE_BYTE), Packet::new(ONE_BYTE).ok());
    assert_eq!(rtp_packet(SR_SDES), None);

    assert_eq!(classify(STUN_REQUEST), Kind::Stun);
    assert!(stun::probe(STUN_REQUEST));

    let dtls = dtls_client_hello();
    assert_eq!(classify(&dtls), Kind::Dtls);
    assert_eq!(
        media_probe::dtls_record(&dtls),
        Some(DtlsRecordHeader {
            content_type: 22,
            version: 0xfeff,
            epoch: 0,
            sequence: 0,
            length: 22,
        })
    );
    assert_eq!(
        media_probe::dtls_record(&dtls).unwrap().to_string(),
        "dtls record type=22 version=0xfeff epoch=0 seq=0 len=22"
    );

    let zrtp = zrtp_hello();
    assert_eq!(classify(&zrtp), Kind::Zrtp);
    assert!(media_probe::zrtp_hello(&zrtp));

    assert_eq!(
        classify(&[0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]),
        Kind::TurnChannel
    );
}

#[test]
fn probes_reject_what_is_not_theirs() {
    let sip = b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n\r\n";
    let dtls = dtls_client_hello();
    let zrtp = zrtp_hello();
    for b in [&sip[..], &dtls, &zrtp, STUN_REQUEST, &[]] {
        assert!(!probe_rtp(b));
        assert!(!rtcp::probe(b));
    }
    // SIP methods start with letters in the TURN channel range (RFC 7983 §7): the length check keeps them out.
    assert_eq!(classify(sip), Kind::Other);
    for m in [
        &b"ACK sip:a@b SIP/2.0\r\n"[..],
        b"BYE sip:a@b SIP/2.0\r\n",
        b"OPTIONS sip:a@b SIP/2.0\r\n",
    ] {
        assert_eq!(classify(m), Kind::Other);
    }
    for b in [&sip[..], ONE_BYTE, SR_SDES, &zrtp] {
        assert!(!stun::probe(b));
        assert_eq!(media_probe::dtls_record(b), None);
    }
    for b in [&sip[..], ONE_BYTE, SR_SDES, &dtls, STUN_REQUEST] {
        assert!(!media_probe::zrtp_hello(b));
    }

    // A DTLS header whose length runs past the datagram, or with an unknown version or content type.
    let mut d = dtls.clone();
    d.pop();
    assert_eq!(media_probe::dtls_record(&d), None);
    let mut d = dtls.clone();
    d[2] = 0x00;
    assert_eq!(media_probe::dtls_record(&d), None);
    let mut d = dtls;
    d[0] = 26;
    assert_eq!(media_probe::dtls_record(&d), None);

    // A ZRTP packet that is not a Hello, or is cut short.
    let mut z = zrtp.clone();
    z[16..24].copy_from_slice(b"Commit  ");
    assert!(!media_probe::zrtp_hello(&z));
    assert!(!media_probe::zrtp_hello(&zrtp[..60]));

    // RTP with the marker bit and a payload type in 64-95 reads as RTCP (RFC 5761 §4); PT 72-76 is reserved.
    let mut r = ONE_BYTE.to_vec();
    r[1] = 0x80 | 72;
    assert_eq!(classify(&r), Kind::Rtcp);
    assert!(!probe_rtp(&r));
    r[1] = 72;
    assert!(!probe_rtp(&r));
    r[1] = 0x80 | 111;
    assert!(probe_rtp(&r));
}

/// Deterministic noise (xorshift32), first byte forced into the RTP range so the RTP probe is exercised too.
fn pseudo_random(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    let mut v: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_be_bytes()[0]
        })
        .collect();
    v[0] = 0x80 | (v[0] & 0x3f);
    v
}

#[test]
fn random_bytes_are_not_taken_for_stun_rtcp_dtls_or_zrtp() {
    for len in [1, 4, 13, 20, 64, 200] {
        let random = pseudo_random(len);
        assert!(!stun::probe(&random));
        assert!(!rtcp::probe(&random));
        assert_eq!(media_probe::dtls_record(&random), None);
        assert!(!media_probe::zrtp_hello(&random));
        // RTP has no checksum or magic: noise with version 2 whose lengths fit is RTP-shaped, so the probe may
        // accept it, but only where the classifier agrees.
        if probe_rtp(&random) {
            assert_eq!(classify(&random), Kind::Rtp);
        }
    }
}
