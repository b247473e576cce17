//! The frame examples of RFC 6455 §5.7 and an RFC 7118 opening handshake, decoded field by field.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard_parsers::ws::{self, Frame, Handshake, Header, Opcode, StartLine};
use callguard_parsers::{ErrorKind, Layer, ParseError};

const TEXT: &[u8] = include_bytes!("vectors/rfc6455/text_unmasked.bin");
const TEXT_MASKED: &[u8] = include_bytes!("vectors/rfc6455/text_masked.bin");
const FIRST: &[u8] = include_bytes!("vectors/rfc6455/fragment_first.bin");
const LAST: &[u8] = include_bytes!("vectors/rfc6455/fragment_last.bin");
const PING: &[u8] = include_bytes!("vectors/rfc6455/ping_unmasked.bin");
const PONG_MASKED: &[u8] = include_bytes!("vectors/rfc6455/pong_masked.bin");
const BINARY_256: &[u8] = include_bytes!("vectors/rfc6455/binary_256.bin");
const BINARY_64K: &[u8] = include_bytes!("vectors/rfc6455/binary_64k_header.bin");
const UPGRADE: &[u8] = include_bytes!("vectors/rfc7118/upgrade_request.dat");
const SWITCHING: &[u8] = include_bytes!("vectors/rfc7118/upgrade_response.dat");

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn unmasked(f: &Frame<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    f.unmask_into(&mut v);
    v
}

fn header(
    fin: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    len: usize,
    payload_len: u64,
) -> Header {
    Header {
        fin,
        rsv: 0,
        opcode,
        mask,
        len,
        payload_len,
        minimal_length: true,
    }
}

#[test]
fn a_single_frame_unmasked_text_message_is_hello() {
    let f = Frame::parse(TEXT).unwrap();
    assert_eq!(f.header, header(true, Opcode::TEXT, None, 2, 5));
    assert_eq!(f.payload, b"Hello");
    assert_eq!((f.len(), f.header.frame_len()), (7, 7));
    assert_eq!(unmasked(&f), b"Hello");
    assert_eq!(f.to_string(), "ws text(0x1) fin len=5");
}

#[test]
fn a_single_frame_masked_text_message_unmasks_to_hello() {
    let f = Frame::parse(TEXT_MASKED).unwrap();
    assert_eq!(f.header, header(true, Opcode::TEXT, Some(KEY), 6, 5));
    assert_eq!(f.payload, &TEXT_MASKED[6..]);
    assert_eq!(unmasked(&f), b"Hello");
    assert_eq!(f.to_string(), "ws text(0x1) fin masked len=5");
    let mut in_place = f.payload.to_vec();
    ws::unmask(KEY, 0, &mut in_place);
    assert_eq!(in_place, b"Hello");
}

#[test]
fn a_fragmented_text_message_is_a_first_frame_and_a_continuation() {
    let first = Frame::parse(FIRST).unwrap();
    assert_eq!(first.header, header(false, Opcode::TEXT, None, 2, 3));
    let last = Frame::parse(LAST).unwrap();
    assert_eq!(last.header, header(true, Opcode::CONTINUATION, None, 2, 2));
    let mut message = unmasked(&first);
    last.unmask_into(&mut message);
    assert_eq!(message, b"Hello");
}

#[test]
fn ping_and_masked_pong_are_control_frames_with_hello() {
    let ping = Frame::parse(PING).unwrap();
    assert_eq!(ping.header, header(true, Opcode::PING, None, 2, 5));
    assert!(ping.header.opcode.is_control() && !ping.header.opcode.is_data());
    let pong = Frame::parse(PONG_MASKED).unwrap();
    assert_eq!(pong.header, header(true, Opcode::PONG, Some(KEY), 6, 5));
    assert_eq!(unmasked(&pong), b"Hello");
}

#[test]
fn a_256_byte_binary_message_has_a_16_bit_length() {
    let f = Frame::parse(BINARY_256).unwrap();
    assert_eq!(f.header, header(true, Opcode::BINARY, None, 4, 256));
    assert_eq!(f.payload, &BINARY_256[4..]);
    assert_eq!(f.len(), BINARY_256.len());
}

#[test]
fn a_64_kib_binary_message_has_a_64_bit_length_and_waits_for_its_payload() {
    let h = Header::parse(BINARY_64K).unwrap();
    assert_eq!(h, header(true, Opcode::BINARY, None, 10, 65_536));
    assert_eq!(h.frame_len(), 65_546);
    assert_eq!(
        Frame::parse(BINARY_64K).unwrap_err(),
        ParseError::new(
            ErrorKind::Incomplete { needed: 65_536 },
            Layer::WebSocket,
            10
        )
    );
}

#[test]
fn frames_follow_each_other_in_a_buffer() {
    let mut stream = Vec::new();
    for f in [FIRST, PING, LAST, TEXT_MASKED] {
        stream.extend_from_slice(f);
    }
    let mut rest = stream.as_slice();
    let mut opcodes = Vec::new();
    while !rest.is_empty() {
        let f = Frame::parse(rest).unwrap();
        opcodes.push(f.header.opcode);
        rest = &rest[f.len()..];
    }
    assert_eq!(
        opcodes,
        [
            Opcode::TEXT,
            Opcode::PING,
            Opcode::CONTINUATION,
            Opcode::TEXT
        ]
    );
}

#[test]
fn the_rfc7118_upgrade_request_offers_sip() {
    let h = Handshake::parse(UPGRADE).unwrap();
    assert_eq!(h.start, StartLine::Request { target: "/" });
    assert!(h.upgrade_websocket && h.connection_upgrade && h.sip);
    assert!(h.is_sip_upgrade() && !h.is_switching());
    assert_eq!((h.protocol, h.extensions), (Some("sip"), None));
    assert_eq!(h.len, UPGRADE.len());
    assert!(ws::probe(UPGRADE));
}

#[test]
fn the_rfc7118_answer_switches_protocols() {
    let h = Handshake::parse(SWITCHING).unwrap();
    assert_eq!(h.start, StartLine::Response { status: 101 });
    assert!(h.is_switching() && h.sip && !h.is_sip_upgrade());
    assert_eq!(h.len, SWITCHING.len());
    assert_eq!(
        h.to_string(),
        "http 101 upgrade=websocket protocol=sip len=158"
    );
    assert!(ws::probe(SWITCHING));
}

#[test]
fn frames_right_after_the_handshake_start_at_its_length() {
    let mut stream = SWITCHING.to_vec();
    stream.extend_from_slice(TEXT);
    let h = Handshake::parse(&stream).unwrap();
    let f = Frame::parse(&stream[h.len..]).unwrap();
    assert_eq!(f.payload, b"Hello");
}
