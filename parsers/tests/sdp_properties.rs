//! For any bytes, `sdp::Session::parse` returns; walking everything it yields never panics, and every span
//! it hands back lies inside the input.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::fmt::Write as _;

use callguard_parsers::sdp::{
    AddrType, Attribute, CandidateType, Connection, Media, MediaKind, NetType, Proto, Session,
};
use proptest::prelude::*;

const VECTORS: [&[u8]; 6] = [
    include_bytes!("vectors/sdp/rfc4317_2_1_offer.sdp"),
    include_bytes!("vectors/sdp/rfc4568_9_1_offer.sdp"),
    include_bytes!("vectors/sdp/rfc8122_5_fingerprint.sdp"),
    include_bytes!("vectors/sdp/rfc5763_5_offer.sdp"),
    include_bytes!("vectors/sdp/rfc8839_4_2_6_ice.sdp"),
    include_bytes!("vectors/sdp/t38_udptl_image.sdp"),
];

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn str_in(outer: &[u8], s: &str) {
    assert!(inside(outer, s.as_bytes()), "span {s:?} outside the input");
}

fn conn_in(outer: &[u8], c: &Connection<'_>) {
    str_in(outer, c.address);
    if let NetType::Other(s) = c.nettype {
        str_in(outer, s);
    }
    if let AddrType::Other(s) = c.addrtype {
        str_in(outer, s);
    }
}

fn attr_in(b: &[u8], a: &Attribute<'_>) {
    match a {
        Attribute::Invalid { name } | Attribute::Other { name, value: None } => str_in(b, name),
        Attribute::Rtpmap(r) => str_in(b, r.encoding),
        Attribute::Fmtp(f) => {
            str_in(b, f.format);
            str_in(b, f.params);
        }
        Attribute::Rtcp(r) => {
            if let Some(c) = &r.connection {
                conn_in(b, c);
            }
        }
        Attribute::Crypto(c) => {
            str_in(b, c.suite());
            str_in(b, c.key_method());
        }
        Attribute::Fingerprint(f) => {
            str_in(b, f.hash);
            str_in(b, f.value);
            if let Some(d) = f.decode() {
                assert!(d.len() <= 64);
            }
        }
        Attribute::IceUfrag(s) | Attribute::Mid(s) | Attribute::Label(s) => str_in(b, s),
        Attribute::Candidate(c) => {
            for s in [c.foundation, c.transport, c.address, c.extensions] {
                str_in(b, s);
            }
            if let CandidateType::Other(s) = c.kind {
                str_in(b, s);
            }
            if let Some(a) = c.related_address {
                str_in(b, a);
            }
        }
        Attribute::ZrtpHash(z) => {
            str_in(b, z.version);
            str_in(b, z.hash);
        }
        Attribute::Ssrc(s) => {
            str_in(b, s.attribute);
            if let Some(v) = s.value {
                str_in(b, v);
            }
        }
        Attribute::Group(g) => {
            str_in(b, g.semantics);
            g.mids().for_each(|m| str_in(b, m));
        }
        Attribute::Other {
            name,
            value: Some(v),
        } => {
            str_in(b, name);
            str_in(b, v);
        }
        _ => {}
    }
}

fn media_in(b: &[u8], m: &Media<'_>) {
    if let MediaKind::Other(s) = m.kind() {
        str_in(b, s);
    }
    if let Proto::Other(s) = m.proto() {
        str_in(b, s);
    }
    str_in(b, m.formats_span());
    m.formats().for_each(|f| str_in(b, f));
    if let Some(c) = m.connection() {
        conn_in(b, &c);
    }
    if let Some(f) = m.fingerprint() {
        str_in(b, f.value);
    }
    for s in [m.mid(), m.label(), m.ice_ufrag()].into_iter().flatten() {
        str_in(b, s);
    }
    let _ = (
        m.rtcp_port(),
        m.direction(),
        m.setup(),
        m.has_ice_pwd(),
        m.anomalies(),
    );
    for a in m.attributes() {
        attr_in(b, &a);
    }
    for c in m.codecs() {
        if let Some(n) = c.name {
            // Either from the body or from the static table.
            assert!(
                inside(b, n.as_bytes())
                    || callguard_parsers::sdp::static_payload(c.payload_type).is_some()
            );
        }
    }
    for l in m.lines() {
        assert!(inside(b, l.raw()));
    }
    assert!(m.offset() <= b.len());
    let mut out = String::new();
    write!(out, "{m} {m:?}").unwrap();
}

fn check(b: &[u8]) {
    let Ok(s) = Session::parse(b) else {
        return;
    };
    str_in(b, s.version());
    if let Some(o) = s.origin() {
        for f in [
            o.username,
            o.session_id,
            o.session_version,
            o.unicast_address,
        ] {
            str_in(b, f);
        }
    }
    if let Some(n) = s.name() {
        str_in(b, n);
    }
    if let Some(c) = s.connection() {
        conn_in(b, &c);
    }
    for l in s.lines() {
        assert!(inside(b, l.raw()));
        assert!(inside(b, l.value()));
        assert!(l.offset() < b.len());
        let _ = format!("{l} {l:?}");
    }
    for a in s.attributes() {
        attr_in(b, &a);
    }
    let mut n = 0;
    for m in s.media() {
        media_in(b, &m);
        n += 1;
    }
    assert_eq!(n, s.media_count());
    let _ = format!("{s} {s:?}");
}

/// Bytes that look like SDP: lines drawn from a small alphabet of plausible and broken fragments.
fn sdp_like() -> impl Strategy<Value = Vec<u8>> {
    let line = prop::sample::select(vec![
        "o=- 1 1 IN IP4 h",
        "s=-",
        "c=IN IP4 1.2.3.4/1/2",
        "c=IN IP6 ::1/9",
        "c=IN",
        "t=0 0",
        "t=x",
        "b=AS:1",
        "m=audio 1 RTP/AVP 0 8",
        "m=video 0 RTP/SAVP",
        "m=x",
        "m=audio 99999/x UDP/TLS/RTP/SAVPF 111",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:0",
        "a=fmtp:1",
        "a=ptime:20.0",
        "a=rtcp:1 IN IP4 h",
        "a=rtcp-mux",
        "a=crypto:1 S inline:K|2^20|1:4;inline:L",
        "a=crypto:",
        "a=fingerprint:sha-256 AB:CD",
        "a=setup:actpass",
        "a=ice-pwd:p",
        "a=ice-ufrag:u",
        "a=candidate:1 1 UDP 1 h 1 typ host raddr",
        "a=zrtp-hash:1.10 ab",
        "a=mid:0",
        "a=ssrc:1 cname:x",
        "a=label:1",
        "a=group:BUNDLE 0",
        "a=sendonly",
        "a=inactive",
        "",
        "x=1",
        "junk",
        "a=\u{e9}",
        "v=0",
    ]);
    let eol = prop::sample::select(vec!["\r\n", "\n", "\r", ""]);
    prop::collection::vec((line, eol), 0..24).prop_map(|ls| {
        let mut out = b"v=0\r\n".to_vec();
        for (l, e) in ls {
            out.extend_from_slice(l.as_bytes());
            out.extend_from_slice(e.as_bytes());
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes(b in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&b);
        let mut v = b"v=".to_vec();
        v.extend_from_slice(&b);
        check(&v);
    }

    #[test]
    fn sdp_like_lines(b in sdp_like()) {
        check(&b);
    }

    #[test]
    fn mutated_vectors(
        which in 0..VECTORS.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut b = VECTORS[which].to_vec();
        for (at, byte) in edits {
            let i = at.index(b.len());
            b[i] = byte;
        }
        check(&b);
        let keep = cut.index(b.len() + 1);
        b.truncate(keep);
        check(&b);
    }
}
