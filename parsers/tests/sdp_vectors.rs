//! SDP bodies from the RFCs (`tests/vectors/sdp/`, see its README), each checked field by field.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::sdp::{
    AddrType, Anomalies, Attribute, Bandwidth, Candidate, CandidateType, Codec, Connection,
    Direction, Fingerprint, MediaKind, NetType, Origin, Proto, Session, Setup, Timing,
};

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("vectors/sdp/", $name))
    };
}

fn ip4(address: &str) -> Connection<'_> {
    Connection {
        nettype: NetType::In,
        addrtype: AddrType::Ip4,
        address,
        ttl: None,
        count: None,
    }
}

fn origin<'a>(username: &'a str, id: &'a str, version: &'a str, host: &'a str) -> Origin<'a> {
    Origin {
        username,
        session_id: id,
        session_version: version,
        nettype: NetType::In,
        addrtype: AddrType::Ip4,
        unicast_address: host,
    }
}

fn codec(payload_type: u8, name: &str, clock_rate: u32, channels: Option<u16>) -> Codec<'_> {
    Codec {
        payload_type,
        name: Some(name),
        clock_rate: Some(clock_rate),
        channels,
    }
}

#[test]
fn rfc4317_2_1_offer_has_audio_and_video() {
    let s = Session::parse(vector!("rfc4317_2_1_offer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(s.version(), "0");
    assert_eq!(
        s.origin(),
        Some(origin(
            "alice",
            "2890844526",
            "2890844526",
            "host.atlanta.example.com"
        ))
    );
    assert_eq!(s.name(), Some(""));
    assert_eq!(s.connection(), Some(ip4("host.atlanta.example.com")));
    assert_eq!(s.timing(), Some(Timing { start: 0, stop: 0 }));
    assert_eq!(s.direction(), None);
    assert_eq!(s.media_count(), 2);
    let m: Vec<_> = s.media().collect();

    assert_eq!(m[0].kind(), MediaKind::Audio);
    assert_eq!((m[0].port(), m[0].port_count()), (49170, None));
    assert_eq!(m[0].proto(), Proto::RtpAvp);
    assert!(!m[0].proto().is_secure());
    assert_eq!(m[0].formats().collect::<Vec<_>>(), ["0", "8", "97"]);
    assert_eq!(m[0].connection(), Some(ip4("host.atlanta.example.com")));
    assert_eq!(m[0].own_connection(), None);
    assert_eq!(m[0].direction(), Direction::SendRecv);
    assert_eq!(m[0].rtcp_port(), Some(49171));
    assert_eq!(
        m[0].codecs().collect::<Vec<_>>(),
        [
            codec(0, "PCMU", 8000, None),
            codec(8, "PCMA", 8000, None),
            codec(97, "iLBC", 8000, None)
        ]
    );

    assert_eq!(m[1].kind(), MediaKind::Video);
    assert_eq!((m[1].port(), m[1].proto()), (51372, Proto::RtpAvp));
    assert_eq!(
        m[1].codecs().collect::<Vec<_>>(),
        [
            codec(31, "H261", 90000, None),
            codec(32, "MPV", 90000, None)
        ]
    );
    assert_eq!(
        m[1].to_string(),
        "m=video 51372 RTP/AVP 31 32 dir=sendrecv c=IN IP4 host.atlanta.example.com rtcp=51373"
    );
    assert_eq!(
        s.to_string(),
        "sdp v=0 o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com c=IN IP4 host.atlanta.example.com media=2"
    );
}

#[test]
fn rfc4317_2_1_answer_picks_one_codec_per_stream() {
    let s = Session::parse(vector!("rfc4317_2_1_answer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(
        s.origin(),
        Some(origin(
            "bob",
            "2808844564",
            "2808844564",
            "host.biloxi.example.com"
        ))
    );
    let m: Vec<_> = s.media().collect();
    assert_eq!(
        (m[0].kind(), m[0].port(), m[0].formats_span()),
        (MediaKind::Audio, 49174, "0")
    );
    assert_eq!(
        (m[1].kind(), m[1].port(), m[1].formats_span()),
        (MediaKind::Video, 49170, "32")
    );
    assert_eq!(
        m[1].rtpmaps()
            .map(|r| (r.payload_type, r.encoding, r.clock_rate))
            .collect::<Vec<_>>(),
        [(32, "MPV", 90000)]
    );
}

#[test]
fn rfc4317_2_2_answer_rejects_video_with_port_zero() {
    let s = Session::parse(vector!("rfc4317_2_2_answer_rejects_video.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let m: Vec<_> = s.media().collect();
    assert_eq!((m[0].port(), m[0].is_rejected()), (49172, false));
    assert_eq!(m[0].formats().collect::<Vec<_>>(), ["0", "8"]);
    assert_eq!(
        (m[1].kind(), m[1].port(), m[1].is_rejected()),
        (MediaKind::Video, 0, true)
    );
    assert_eq!(m[1].rtcp_port(), None);
}

#[test]
fn rfc4317_2_8_media_connection_overrides_the_session() {
    let s = Session::parse(vector!("rfc4317_2_8_answer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let m: Vec<_> = s.media().collect();
    assert_eq!(m[0].connection(), Some(ip4("host.biloxi.example.com")));
    assert_eq!(
        m[1].own_connection(),
        Some(ip4("otherhost.biloxi.example.com"))
    );
    assert_eq!(m[1].connection(), Some(ip4("otherhost.biloxi.example.com")));
}

#[test]
fn rfc4317_3_1_hold_is_sendonly() {
    let s = Session::parse(vector!("rfc4317_3_1_hold_answer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(s.connection(), Some(ip4("placeholder.biloxi.example.com")));
    let m = s.media().next().unwrap();
    assert_eq!(m.own_direction(), Some(Direction::SendOnly));
    assert_eq!(m.direction(), Direction::SendOnly);
    assert_eq!(
        m.codecs().collect::<Vec<_>>(),
        [codec(97, "iLBC", 8000, None)]
    );
}

#[test]
fn rfc4317_3_2_each_stream_has_its_direction() {
    let s = Session::parse(vector!("rfc4317_3_2_hold_second_offer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let d: Vec<_> = s.media().map(|m| (m.port(), m.direction())).collect();
    assert_eq!(
        d,
        [(49172, Direction::SendOnly), (49174, Direction::RecvOnly)]
    );
    let m = s.media().nth(1).unwrap();
    assert_eq!(
        m.codecs().collect::<Vec<_>>(),
        [codec(98, "telephone-event", 8000, None)]
    );
}

#[test]
fn rfc4317_5_2_black_hole_address_is_unspecified() {
    let s = Session::parse(vector!("rfc4317_5_2_black_hole_offer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let c = s.media().next().unwrap().connection().unwrap();
    assert_eq!(c, ip4("0.0.0.0"));
    assert!(c.is_unspecified());
}

#[test]
fn session_direction_applies_unless_the_media_overrides_it() {
    let s = Session::parse(vector!("hold_inactive.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(s.direction(), Some(Direction::Inactive));
    let d: Vec<_> = s
        .media()
        .map(|m| (m.own_direction(), m.direction()))
        .collect();
    assert_eq!(
        d,
        [
            (None, Direction::Inactive),
            (Some(Direction::SendOnly), Direction::SendOnly)
        ]
    );
}

const RFC4568_KEYS: [&str; 5] = [
    "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
    "MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm",
    "QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5",
    "d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj",
    "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
];

fn assert_no_key_in(shown: &str) {
    for k in RFC4568_KEYS {
        assert!(!shown.contains(k), "key material in {shown}");
        // Not even a prefix of it.
        assert!(!shown.contains(&k[..8]), "key material in {shown}");
    }
    assert!(!shown.contains("2^20"), "lifetime in {shown}");
}

#[test]
fn rfc4568_9_1_offer_crypto_without_key_material() {
    let body = vector!("rfc4568_9_1_offer.sdp");
    let s = Session::parse(body).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(
        s.origin(),
        Some(origin("sam", "2890844526", "2890842807", "10.47.16.5"))
    );
    assert_eq!(s.name(), Some("SRTP Discussion"));
    assert_eq!(s.information(), Some("A discussion of Secure RTP"));
    assert_eq!(s.connection(), Some(ip4("168.2.17.12")));
    assert_eq!(
        s.timing(),
        Some(Timing {
            start: 2873397496,
            stop: 2873404696
        })
    );
    let m: Vec<_> = s.media().collect();
    assert_eq!(m.len(), 3);
    assert_eq!((m[0].port(), m[0].proto()), (49170, Proto::RtpSavp));
    assert!(m[0].proto().is_secure() && !m[0].proto().uses_dtls());
    let c: Vec<_> = m[0].crypto().collect();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (
            c[0].tag(),
            c[0].suite(),
            c[0].key_method(),
            c[0].key_params_count()
        ),
        (1, "AES_CM_128_HMAC_SHA1_80", "inline", 1)
    );
    assert_eq!(c[0].session_params_count(), 1);
    assert!(!c[0].unencrypted_srtp() && !c[0].unencrypted_srtcp() && !c[0].unauthenticated_srtp());
    assert_eq!(
        (
            c[1].tag(),
            c[1].suite(),
            c[1].key_method(),
            c[1].key_params_count()
        ),
        (2, "F8_128_HMAC_SHA1_80", "inline", 2)
    );
    assert_eq!(m[0].crypto_count(), 2);
    let v: Vec<_> = m[1].crypto().collect();
    assert_eq!(
        (v.len(), v[0].tag(), v[0].suite(), m[1].kind()),
        (1, 1, "AES_CM_128_HMAC_SHA1_80", MediaKind::Video)
    );
    assert_eq!(m[2].kind(), MediaKind::Application);
    assert_eq!(m[2].proto(), Proto::Other("udp"));
    assert_eq!(
        m[2].attributes().collect::<Vec<_>>(),
        [Attribute::Other {
            name: "orient",
            value: Some("portrait")
        }]
    );

    // Nothing a sensor might log carries the key, the lifetime or the MKI.
    assert_no_key_in(&format!("{s:?} {s}"));
    for media in s.media() {
        assert_no_key_in(&format!("{media:?} {media}"));
        for a in media.attributes() {
            assert_no_key_in(&format!("{a:?} {a}"));
        }
        for c in media.crypto() {
            assert_no_key_in(&format!("{c:?} {c}"));
        }
    }
    for line in s.lines() {
        assert_no_key_in(&format!("{line:?} {line}"));
    }
    // The raw line is still there for a caller that asks for it.
    assert!(
        s.lines()
            .any(|l| l.raw().windows(8).any(|w| w == b"WVNfX19z"))
    );
}

#[test]
fn rfc4568_9_2_answer_crypto() {
    let s = Session::parse(vector!("rfc4568_9_2_answer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let m = s.media().next().unwrap();
    assert_eq!((m.port(), m.proto()), (32640, Proto::RtpSavp));
    let c = m.crypto().next().unwrap();
    assert_eq!(
        (c.tag(), c.suite(), c.key_method(), c.key_params_count()),
        (1, "AES_CM_128_HMAC_SHA1_80", "inline", 1)
    );
    assert_eq!(
        format!("{c:?}"),
        "Crypto { tag: 1, suite: \"AES_CM_128_HMAC_SHA1_80\", key_method: \"inline\", key_params: <1 redacted>, \
         session_params_count: 0, unencrypted_srtp: false, unencrypted_srtcp: false, unauthenticated_srtp: false }"
    );
    assert_no_key_in(&format!("{s:?} {m:?} {m}"));
}

#[test]
fn rfc8122_5_fingerprints_decode() {
    let s = Session::parse(vector!("rfc8122_5_fingerprint.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let m = s.media().next().unwrap();
    assert_eq!((m.kind(), m.port()), (MediaKind::Image, 54111));
    assert_eq!(m.proto(), Proto::Other("TCP/TLS"));
    assert!(m.proto().is_secure());
    assert_eq!(m.formats_span(), "t38");
    assert_eq!(m.codecs().count(), 0);
    assert_eq!(m.setup(), Some(Setup::Passive));
    let fp = m.fingerprint().unwrap();
    assert_eq!(
        fp,
        Fingerprint {
            hash: "SHA-256",
            value: "12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD"
        }
    );
    let d = fp.decode().unwrap();
    assert_eq!(
        d.as_slice(),
        [
            0x12, 0xDF, 0x3E, 0x5D, 0x49, 0x6B, 0x19, 0xE5, 0x7C, 0xAB, 0x4A, 0xAD, 0xB9, 0xB1,
            0x3F, 0x82, 0x18, 0x3B, 0x54, 0x02, 0x12, 0xDF, 0x3E, 0x5D, 0x49, 0x6B, 0x19, 0xE5,
            0x7C, 0xAB, 0x4A, 0xAD
        ]
    );
    assert_eq!(fp.digest_len(), Some(d.len()));
    let all: Vec<_> = m
        .attributes()
        .filter_map(|a| match a {
            Attribute::Fingerprint(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].hash, "SHA-1");
    assert_eq!(all[1].decode().unwrap().len(), 20);
    assert!(all[0].matches(&Fingerprint {
        hash: "sha-256",
        value: "12:df:3e:5d:49:6b:19:e5:7c:ab:4a:ad:b9:b1:3f:82:18:3b:54:02:12:df:3e:5d:49:6b:19:e5:7c:ab:4a:ad"
    }));
}

#[test]
fn rfc5763_5_dtls_srtp_offer_and_answer() {
    let s = Session::parse(vector!("rfc5763_5_offer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(s.setup(), Some(Setup::ActPass));
    assert_eq!(s.name(), Some("example1"));
    let fp = s.fingerprint().unwrap();
    assert_eq!(
        fp,
        Fingerprint {
            hash: "SHA-1",
            value: "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB"
        }
    );
    let m = s.media().next().unwrap();
    assert_eq!((m.port(), m.proto()), (6056, Proto::RtpAvp));
    assert_eq!(
        (m.setup(), m.fingerprint()),
        (Some(Setup::ActPass), Some(fp))
    );
    assert_eq!(m.own_direction(), Some(Direction::SendRecv));

    let s = Session::parse(vector!("rfc5763_5_answer.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(
        s.origin(),
        Some(origin(
            "-",
            "6418913922105372816",
            "2105372818",
            "ua2.example.com"
        ))
    );
    let m = s.media().next().unwrap();
    assert_eq!(m.proto(), Proto::UdpTlsRtpSavp);
    assert!(m.proto().is_secure() && m.proto().uses_dtls());
    assert_eq!(m.setup(), Some(Setup::Active));
    let fp = m.fingerprint().unwrap();
    assert_eq!(fp.decode().unwrap().as_slice()[..3], [0xFF, 0xFF, 0xFF]);
    assert!(
        !fp.matches(
            &s.fingerprint()
                .map(|f| Fingerprint { value: "4A", ..f })
                .unwrap()
        )
    );
}

#[test]
fn rfc8839_ice_candidates() {
    let s = Session::parse(vector!("rfc8839_4_2_6_ice.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    assert_eq!(s.ice_ufrag(), Some("8hhY"));
    assert!(s.has_ice_pwd());
    assert_eq!(
        s.origin(),
        Some(origin("jdoe", "2890844526", "2890842807", "203.0.113.141"))
    );
    let m = s.media().next().unwrap();
    assert_eq!((m.ice_ufrag(), m.has_ice_pwd()), (Some("8hhY"), true));
    assert_eq!(
        m.bandwidth(),
        Some(Bandwidth {
            modifier: "RS",
            value: 0
        })
    );
    assert_eq!(
        m.candidates().collect::<Vec<_>>(),
        [
            Candidate {
                foundation: "1",
                component: 1,
                transport: "UDP",
                priority: 2130706431,
                address: "203.0.113.141",
                port: 8998,
                kind: CandidateType::Host,
                related_address: None,
                related_port: None,
                extensions: "",
            },
            Candidate {
                foundation: "2",
                component: 1,
                transport: "UDP",
                priority: 1694498815,
                address: "192.0.2.3",
                port: 45664,
                kind: CandidateType::Srflx,
                related_address: Some("203.0.113.141"),
                related_port: Some(8998),
                extensions: "",
            }
        ]
    );
    assert_eq!(m.candidate_count(), 2);
    let session_attrs: Vec<_> = s.attributes().map(|a| a.name()).collect();
    assert_eq!(
        session_attrs,
        ["ice-options", "ice-pacing", "ice-pwd", "ice-ufrag"]
    );
    assert!(!format!("{s:?} {m:?}").contains("asd88"));
    for a in s.attributes() {
        assert!(!format!("{a:?} {a}").contains("asd88"));
    }
}

#[test]
fn t38_udptl_image_stream() {
    let s = Session::parse(vector!("t38_udptl_image.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::empty());
    let m = s.media().next().unwrap();
    assert_eq!(
        (m.kind(), m.port(), m.proto(), m.formats_span()),
        (MediaKind::Image, 49170, Proto::Udptl, "t38")
    );
    assert!(!m.proto().is_secure() && !m.proto().is_rtp());
    let attrs: Vec<_> = m.attributes().collect();
    assert_eq!(attrs.len(), 6);
    assert_eq!(
        attrs[1],
        Attribute::Other {
            name: "T38MaxBitRate",
            value: Some("14400")
        }
    );
}

#[test]
fn rfc4475_wsinv_body_flags_the_bad_rtpmap() {
    let s = Session::parse(vector!("rfc4475_3_1_1_1_wsinv.sdp")).unwrap();
    assert_eq!(s.anomalies(), Anomalies::BAD_ATTRIBUTE);
    assert_eq!(
        s.origin(),
        Some(origin("mhandley", "29739", "7272939", "192.0.2.3"))
    );
    let m: Vec<_> = s.media().collect();
    assert_eq!(m[0].anomalies(), Anomalies::empty());
    assert_eq!(
        m[0].codecs().collect::<Vec<_>>(),
        [
            codec(0, "PCMU", 8000, Some(1)),
            codec(12, "QCELP", 8000, Some(1))
        ]
    );
    assert_eq!(m[1].anomalies(), Anomalies::BAD_ATTRIBUTE);
    assert_eq!(
        m[1].attributes().collect::<Vec<_>>(),
        [Attribute::Invalid { name: "rtpmap" }]
    );
    // No usable rtpmap, so the static table answers.
    assert_eq!(
        m[1].codecs().collect::<Vec<_>>(),
        [codec(31, "H261", 90000, None)]
    );
}

#[test]
fn every_vector_parses_without_lf_only_when_crlf() {
    for body in all_vectors() {
        let s = Session::parse(body).unwrap();
        assert!(!s.anomalies().contains(Anomalies::LF_ONLY));
        let lf: Vec<u8> = body.iter().copied().filter(|b| *b != b'\r').collect();
        let t = Session::parse(&lf).unwrap();
        assert_eq!(t.anomalies(), s.anomalies() | Anomalies::LF_ONLY);
        assert_eq!(t.media_count(), s.media_count());
    }
}

fn all_vectors() -> [&'static [u8]; 16] {
    [
        vector!("rfc4317_2_1_offer.sdp"),
        vector!("rfc4317_2_1_answer.sdp"),
        vector!("rfc4317_2_2_answer_rejects_video.sdp"),
        vector!("rfc4317_2_8_answer.sdp"),
        vector!("rfc4317_3_1_hold_answer.sdp"),
        vector!("rfc4317_3_2_hold_second_offer.sdp"),
        vector!("rfc4317_5_2_black_hole_offer.sdp"),
        vector!("hold_inactive.sdp"),
        vector!("rfc4568_9_1_offer.sdp"),
        vector!("rfc4568_9_2_answer.sdp"),
        vector!("rfc8122_5_fingerprint.sdp"),
        vector!("rfc5763_5_offer.sdp"),
        vector!("rfc5763_5_answer.sdp"),
        vector!("rfc8839_4_2_6_ice.sdp"),
        vector!("t38_udptl_image.sdp"),
        vector!("rfc4475_3_1_1_1_wsinv.sdp"),
    ]
}
