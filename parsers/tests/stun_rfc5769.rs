//! The four RFC 5769 STUN test vectors, decoded attribute by attribute, with their fingerprints checked.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use std::net::SocketAddr;

use callguard_parsers::ErrorKind;
use callguard_parsers::stun::{
    self, AttrType, Attribute, MAGIC_COOKIE, Message, StunClass, StunMethod,
};

const REQUEST: &[u8] = include_bytes!("vectors/rfc5769/sample_request.bin");
const IPV4_RESPONSE: &[u8] = include_bytes!("vectors/rfc5769/sample_ipv4_response.bin");
const IPV6_RESPONSE: &[u8] = include_bytes!("vectors/rfc5769/sample_ipv6_response.bin");
const LONG_TERM: &[u8] = include_bytes!("vectors/rfc5769/sample_request_long_term.bin");

const TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];

fn attrs(m: &Message<'static>) -> Vec<Attribute<'static>> {
    m.attributes().map(Result::unwrap).collect()
}

#[test]
fn sample_request_decodes_every_attribute() {
    let m = Message::new(REQUEST).unwrap();
    assert_eq!(m.method(), StunMethod::BINDING);
    assert_eq!(m.class(), StunClass::REQUEST);
    assert_eq!(m.message_type(), 0x0001);
    assert_eq!(m.length(), 88);
    assert_eq!(m.magic_cookie(), MAGIC_COOKIE);
    assert_eq!(m.transaction_id(), TID);
    assert_eq!(m.bytes().len(), 108);
    assert_eq!(
        attrs(&m),
        vec![
            Attribute::Software(b"STUN test client"),
            Attribute::Priority(0x6e00_01ff),
            Attribute::IceControlled(0x932f_f9b1_5126_3b36),
            Attribute::Username(b"evtj:h6vY"),
            Attribute::MessageIntegrity(&REQUEST[80..100]),
            Attribute::Fingerprint(0xe57a_3bcf),
        ]
    );
    assert_eq!(m.fingerprint(), Some(0xe57a_3bcf));
    assert_eq!(m.check_fingerprint(), Some(true));
    assert!(stun::probe(REQUEST));
    assert_eq!(
        m.to_string(),
        "stun Binding(0x001) Request(0) len=88 tid=b7e7a701bc34d686fa87dfae attrs=6"
    );
}

#[test]
fn sample_ipv4_response_decodes_the_xor_mapped_address() {
    let m = Message::new(IPV4_RESPONSE).unwrap();
    assert_eq!(m.method(), StunMethod::BINDING);
    assert_eq!(m.class(), StunClass::SUCCESS_RESPONSE);
    assert_eq!(m.message_type(), 0x0101);
    assert_eq!(m.length(), 60);
    assert_eq!(m.transaction_id(), TID);
    let addr: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    assert_eq!(
        attrs(&m),
        vec![
            Attribute::Software(b"test vector"),
            Attribute::XorMappedAddress(addr),
            Attribute::MessageIntegrity(&IPV4_RESPONSE[52..72]),
            Attribute::Fingerprint(0xc07d_4c96),
        ]
    );
    assert_eq!(m.check_fingerprint(), Some(true));
    assert_eq!(
        m.attributes().nth(1).unwrap().unwrap().to_string(),
        "XOR-MAPPED-ADDRESS(0x0020) 192.0.2.1:32853"
    );
}

#[test]
fn sample_ipv6_response_decodes_the_xor_mapped_address() {
    let m = Message::new(IPV6_RESPONSE).unwrap();
    assert_eq!(m.class(), StunClass::SUCCESS_RESPONSE);
    assert_eq!(m.length(), 72);
    let addr: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    assert_eq!(
        attrs(&m),
        vec![
            Attribute::Software(b"test vector"),
            Attribute::XorMappedAddress(addr),
            Attribute::MessageIntegrity(&IPV6_RESPONSE[64..84]),
            Attribute::Fingerprint(0xc8fb_0b4c),
        ]
    );
    assert_eq!(m.check_fingerprint(), Some(true));
}

#[test]
fn long_term_request_has_username_nonce_realm_and_no_fingerprint() {
    let m = Message::new(LONG_TERM).unwrap();
    assert_eq!(m.method(), StunMethod::BINDING);
    assert_eq!(m.class(), StunClass::REQUEST);
    assert_eq!(m.length(), 96);
    assert_eq!(
        m.transaction_id(),
        [
            0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e
        ]
    );
    assert_eq!(
        attrs(&m),
        vec![
            Attribute::Username("\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}".as_bytes()),
            Attribute::Nonce(b"f//499k954d6OL34oL9FSTvy64sA"),
            Attribute::Realm(b"example.org"),
            Attribute::MessageIntegrity(&LONG_TERM[96..116]),
        ]
    );
    assert_eq!(m.fingerprint(), None);
    assert_eq!(m.check_fingerprint(), None);
}

#[test]
fn a_flipped_byte_fails_the_fingerprint() {
    for v in [REQUEST, IPV4_RESPONSE, IPV6_RESPONSE] {
        // Flip one bit in every byte the CRC covers except the header's type and length (which would change
        // what the message is); the check must fail each time.
        for i in 4..v.len() - 8 {
            let mut b = v.to_vec();
            b[i] ^= 0x01;
            if let Ok(m) = Message::new(&b) {
                assert_eq!(m.check_fingerprint(), Some(false), "byte {i}");
            }
        }
        // And flipping the fingerprint itself.
        let mut b = v.to_vec();
        let last = b.len() - 1;
        b[last] ^= 0x80;
        assert_eq!(Message::new(&b).unwrap().check_fingerprint(), Some(false));
    }
}

#[test]
fn attribute_types_have_registry_names() {
    assert_eq!(
        format!("{:?}", AttrType::XOR_MAPPED_ADDRESS),
        "XOR-MAPPED-ADDRESS(0x0020)"
    );
    assert_eq!(format!("{:?}", AttrType(0x7fff)), "AttrType(0x7fff)");
    assert!(AttrType::USERNAME.is_comprehension_required());
    assert!(!AttrType::SOFTWARE.is_comprehension_required());
    assert_eq!(format!("{:?}", StunMethod(0x0ff)), "StunMethod(0x0ff)");
    assert_eq!(StunMethod::CHANNEL_BIND.name(), Some("ChannelBind"));
}

#[test]
fn broken_headers_give_the_kind_and_offset() {
    let e = Message::new(&REQUEST[..19]).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 8));
    let e = Message::new(&REQUEST[..100]).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 20));

    let mut b = REQUEST.to_vec();
    b[0] = 0x40;
    let e = Message::new(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 0));

    let mut b = REQUEST.to_vec();
    b[3] = 0x57;
    let e = Message::new(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 2));

    let mut b = REQUEST.to_vec();
    b[4] = 0;
    let e = Message::new(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Unsupported, 4));

    // The SOFTWARE attribute claims 0x60 bytes: more than the message holds.
    let mut b = REQUEST.to_vec();
    b[23] = 0x60;
    let e = Message::new(&b).unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 24));
}

#[test]
fn a_bad_value_is_an_error_item_and_the_walk_goes_on() {
    // PRIORITY with a 3-byte value (padded), then USE-CANDIDATE and an error response code.
    let mut b = vec![0x01, 0x11, 0, 0];
    b.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    b.extend_from_slice(&TID);
    b.extend_from_slice(&[0x00, 0x24, 0x00, 0x03, 1, 2, 3, 0]);
    b.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
    b.extend_from_slice(&[0x00, 0x09, 0x00, 0x10, 0, 0, 4, 1]);
    b.extend_from_slice(b"Unauthorized");
    b.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0, 1, 0x13, 0xc4, 10, 0, 0, 1]);
    let len = u16::try_from(b.len() - 20).unwrap();
    b[2..4].copy_from_slice(&len.to_be_bytes());
    let m = Message::new(&b).unwrap();
    assert_eq!(m.class(), StunClass::ERROR_RESPONSE);
    let items: Vec<_> = m.attributes().collect();
    let e = items[0].unwrap_err();
    assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 24));
    assert_eq!(items[1], Ok(Attribute::UseCandidate));
    let Ok(Attribute::ErrorCode(code)) = items[2] else {
        panic!("{:?}", items[2]);
    };
    assert_eq!(code.code(), 401);
    assert_eq!(code.reason, b"Unauthorized");
    assert_eq!(
        items[3],
        Ok(Attribute::MappedAddress("10.0.0.1:5060".parse().unwrap()))
    );
    assert_eq!(m.check_fingerprint(), None);
    assert!(stun::probe(&b));
    b.push(0);
    assert!(
        !stun::probe(&b),
        "a trailing byte makes it not one whole message"
    );
}
