//! The SIP parser is zero-copy: parsing each valid RFC 4475 message and walking all its header fields and
//! structured values performs no heap allocation. A counting global allocator proves it.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::sip::{self, Message};

#[expect(
    unsafe_code,
    reason = "a global allocator is the only way to count allocations"
)]
mod common;

use common::allocs;

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("vectors/rfc4475/", $name, ".dat")).as_slice()
    };
}

const VALID: [&[u8]; 13] = [
    vector!("wsinv"),
    vector!("intmeth"),
    vector!("esc01"),
    vector!("escnull"),
    vector!("esc02"),
    vector!("lwsdisp"),
    vector!("longreq"),
    vector!("dblreq"),
    vector!("semiuri"),
    vector!("transports"),
    vector!("mpart01"),
    vector!("unreason"),
    vector!("noreason"),
];

/// Parses and touches everything; returns a checksum so nothing is optimised away.
fn walk(bytes: &[u8]) -> usize {
    let mut sum = sip::frame(bytes).unwrap_or(0) + usize::from(sip::probe(bytes));
    let m = Message::parse(bytes).unwrap();
    for h in m.headers() {
        sum += h.name.len() + h.value.as_bytes().len() + h.value.segments().count();
        sum += usize::from(h.kind().is_some());
    }
    for v in m.vias() {
        sum += v.branch().map_or(0, str::len) + v.transport().len() + v.params().iter().count();
        sum += usize::from(v.sent_by().host.is_valid()) + usize::from(v.sent_by().port.is_some());
    }
    for n in m
        .from()
        .into_iter()
        .chain(m.to())
        .chain(m.contacts())
        .chain(m.routes())
    {
        sum += n.tag().map_or(0, str::len) + n.display_name().map_or(0, str::len);
        sum += n.uri().user().map_or(0, str::len) + n.uri().params().iter().count();
        sum += usize::from(n.is_well_formed());
    }
    sum += m.call_id().map_or(0, str::len);
    sum += m.cseq().map_or(0, |c| c.number as usize);
    sum += m.content_length().unwrap_or(0) + m.body().len() + m.extra().len();
    sum += usize::from(m.max_forwards().unwrap_or(0)) + usize::from(m.is_sdp());
    sum += m.anomalies().names().count();
    if let Some(u) = m.request_uri() {
        sum += u.user().map_or(0, str::len) + usize::from(u.is_well_formed());
    }
    sum
}

#[test]
fn parsing_the_valid_torture_messages_allocates_nothing() {
    // Warm up anything lazily initialised by the runtime.
    let mut sum = 0;
    for v in VALID {
        sum += walk(v);
    }
    let before = allocs();
    for _ in 0..10 {
        for v in VALID {
            sum += walk(v);
        }
    }
    let after = allocs();
    assert!(sum > 0);
    assert_eq!(after - before, 0, "allocations while parsing");
}
