//! For any bytes, and for RFC 4475 messages with random damage, the SIP entry points return without
//! panicking, and every span they hand back lies inside the input.
#![cfg(test)]

use callguard_parsers::sip::{self, Host, Message, Method, NameAddr, StartLine, Via};
use proptest::prelude::*;

const SEEDS: [&[u8]; 8] = [
    include_bytes!("vectors/rfc4475/wsinv.dat"),
    include_bytes!("vectors/rfc4475/intmeth.dat"),
    include_bytes!("vectors/rfc4475/esc01.dat"),
    include_bytes!("vectors/rfc4475/longreq.dat"),
    include_bytes!("vectors/rfc4475/dblreq.dat"),
    include_bytes!("vectors/rfc4475/mpart01.dat"),
    include_bytes!("vectors/rfc4475/unreason.dat"),
    include_bytes!("vectors/rfc5118/mult-ip-in-header.dat"),
];

/// Bytes that matter to the grammar, to make mutations hit interesting paths.
const SPECIAL: &[u8] = b"\r\n \t:;,=\"<>[]@?/\\%*0";

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn check_str(input: &[u8], s: &str) {
    assert!(inside(input, s.as_bytes()), "span {s:?} outside the input");
}

fn check_host(input: &[u8], h: Host<'_>) {
    if let Host::Domain(s) | Host::Invalid(s) = h {
        check_str(input, s);
    }
}

fn check_name_addr(input: &[u8], n: &NameAddr<'_>) {
    check_str(input, n.as_str());
    if let Some(d) = n.display_name() {
        check_str(input, d);
    }
    check_uri(input, n.uri());
    for p in n.params() {
        check_str(input, p.name);
        if let Some(v) = p.value {
            check_str(input, v);
        }
    }
    let _ = (n.tag(), n.expires(), n.q(), n.to_string(), format!("{n:?}"));
}

fn check_uri(input: &[u8], u: &sip::Uri<'_>) {
    check_str(input, u.as_str());
    for s in [u.user(), u.headers(), u.transport()].into_iter().flatten() {
        check_str(input, s);
    }
    if let Some(h) = u.host() {
        check_host(input, h);
    }
    for p in u.params() {
        check_str(input, p.name);
    }
    let _ = (u.to_string(), format!("{u:?}"));
}

fn check_via(input: &[u8], v: &Via<'_>) {
    for s in [v.as_str(), v.protocol(), v.version(), v.transport()] {
        check_str(input, s);
    }
    for s in [v.branch(), v.received(), v.maddr()].into_iter().flatten() {
        check_str(input, s);
    }
    check_host(input, v.sent_by().host);
    let _ = (
        v.rport(),
        v.received_addr(),
        v.to_string(),
        format!("{v:?}"),
    );
}

fn check(input: &[u8]) {
    let _ = sip::probe(input);
    if let Ok(n) = sip::frame(input) {
        assert!(n <= input.len());
    }
    let Ok(m) = Message::parse(input) else {
        return;
    };
    match m.start_line() {
        StartLine::Request {
            method,
            uri,
            version,
        } => {
            if let Method::Other(m) = method {
                check_str(input, m);
            }
            check_uri(input, uri);
            check_str(input, version.as_str());
        }
        StartLine::Response {
            version, reason, ..
        } => {
            check_str(input, version.as_str());
            assert!(inside(input, reason.as_bytes()));
        }
    }
    for h in m.headers() {
        check_str(input, h.name);
        assert!(inside(input, h.value.as_bytes()));
        for seg in h.value.segments() {
            assert!(inside(input, seg));
        }
        let _ = (h.to_string(), format!("{h:?}"));
    }
    for v in m.vias() {
        check_via(input, &v);
    }
    for n in m
        .from()
        .into_iter()
        .chain(m.to())
        .chain(m.contacts())
        .chain(m.routes())
        .chain(m.record_routes())
        .chain(m.p_asserted_identities())
    {
        check_name_addr(input, &n);
    }
    for s in [m.call_id(), m.user_agent(), m.server(), m.identity()]
        .into_iter()
        .flatten()
    {
        check_str(input, s);
    }
    if let Some(Method::Other(m)) = m.cseq().map(|c| c.method) {
        check_str(input, m);
    }
    if let Some(ct) = m.content_type() {
        check_str(input, ct.ty);
        check_str(input, ct.subtype);
    }
    for c in [m.authorization(), m.proxy_authorization()]
        .into_iter()
        .flatten()
    {
        check_str(input, c.scheme());
        for p in c.params() {
            check_str(input, p.value);
        }
        let _ = (c.to_string(), format!("{c:?}"), c.has_response());
    }
    for c in [m.www_authenticate(), m.proxy_authenticate()]
        .into_iter()
        .flatten()
    {
        for s in [c.realm(), c.nonce(), c.algorithm(), c.qop()]
            .into_iter()
            .flatten()
        {
            check_str(input, s);
        }
        let _ = (c.to_string(), c.stale());
    }
    assert!(inside(input, m.head()));
    assert!(inside(input, m.body()));
    assert!(inside(input, m.extra()));
    let _ = (m.max_forwards(), m.expires(), m.is_sdp(), m.via_count());
    let _ = (m.to_string(), format!("{m:?}"), m.anomalies().to_string());
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SEEDS.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..8),
        any::<Option<usize>>(),
    )
        .prop_map(|(seed, edits, cut)| {
            let mut v = SEEDS[seed].to_vec();
            for (pos, byte, op) in edits {
                if v.is_empty() {
                    break;
                }
                let at = pos % v.len();
                let special = SPECIAL[usize::from(byte) % SPECIAL.len()];
                match op {
                    0 => v[at] = byte,
                    1 => v[at] = special,
                    2 => v.insert(at, special),
                    _ => {
                        v.remove(at);
                    }
                }
            }
            if let Some(c) = cut {
                let len = v.len();
                v.truncate(c % (len + 1));
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&bytes);
    }

    #[test]
    fn sip_shaped_bytes_never_panic(
        bytes in proptest::collection::vec(proptest::sample::select(b"SIP/2.0 INVITE sip:a@[::1]:5060;branch=\"x\"<>,\r\n\t:vftilmc".to_vec()), 0..400)
    ) {
        check(&bytes);
    }

    #[test]
    fn damaged_torture_messages_never_panic(bytes in mutated()) {
        check(&bytes);
    }
}

#[test]
fn every_vector_passes_the_span_check() {
    for seed in SEEDS {
        check(seed);
    }
}
