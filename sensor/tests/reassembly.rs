//! IP defragmentation and TCP stream reassembly, driven with hand-built fragments and segments.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use callguard::worker::defrag::{Defrag, DefragConfig, MAX_DATAGRAM_LEN};
use callguard::worker::reasm::{
    CloseReason, ConnInfo, ConnKey, Dir, Handshake, StreamHandler, TcpConfig, TcpTable,
};
use callguard_parsers::link::{Fragment, IPPROTO_UDP, Tcp, TcpFlags};
use callguard_rules::time::PacketTime;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Data(Dir, Vec<u8>),
    Gap(Dir, u64),
    Close(SocketAddr, CloseReason),
}

/// Records every callback, merging consecutive data of one direction.
#[derive(Debug, Default)]
struct Rec {
    events: Vec<Ev>,
}

impl StreamHandler for Rec {
    fn on_data(&mut self, _conn: &ConnInfo, dir: Dir, _ts: PacketTime, data: &[u8]) {
        assert!(!data.is_empty(), "empty deliveries are not made");
        if let Some(Ev::Data(d, buf)) = self.events.last_mut()
            && *d == dir
        {
            buf.extend_from_slice(data);
            return;
        }
        self.events.push(Ev::Data(dir, data.to_vec()));
    }

    fn on_gap(&mut self, _conn: &ConnInfo, dir: Dir, skipped: u64) {
        assert!(skipped > 0);
        self.events.push(Ev::Gap(dir, skipped));
    }

    fn on_close(&mut self, conn: &ConnInfo, reason: CloseReason) {
        self.events.push(Ev::Close(conn.client, reason));
    }
}

impl Rec {
    /// Everything delivered in one direction, concatenated.
    fn stream(&self, dir: Dir) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.events {
            if let Ev::Data(d, b) = e
                && *d == dir
            {
                out.extend_from_slice(b);
            }
        }
        out
    }

    fn gaps(&self) -> Vec<(Dir, u64)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Gap(d, n) => Some((*d, *n)),
                _ => None,
            })
            .collect()
    }

    fn closes(&self) -> Vec<CloseReason> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Ev::Close(_, r) => Some(*r),
                _ => None,
            })
            .collect()
    }
}

const S: u8 = TcpFlags::SYN;
const A: u8 = TcpFlags::ACK;
const F: u8 = TcpFlags::FIN;
const R: u8 = TcpFlags::RST;
const P: u8 = TcpFlags::PSH;

fn client() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 40_000)
}

fn server() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 5060)
}

fn t(secs: u64) -> PacketTime {
    PacketTime::from_secs(secs)
}

fn seg(flags: u8, seq: u32, ack: u32, payload: &[u8]) -> Tcp<'_> {
    Tcp {
        sport: 0,
        dport: 0,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 65_535,
        payload,
    }
}

/// A table and handler with a connection whose handshake is done: client ISN `cisn`, server ISN `sisn`.
struct Conn {
    table: TcpTable,
    rec: Rec,
    /// Next client and server sequence numbers.
    c: u32,
    s: u32,
    now: u64,
}

impl Conn {
    fn open(cfg: TcpConfig, cisn: u32, sisn: u32) -> Self {
        let mut table = TcpTable::new(cfg);
        let mut rec = Rec::default();
        let (c, s) = (client(), server());
        assert_eq!(
            table.segment(t(1), c, s, &seg(S, cisn, 0, b""), &mut rec),
            Handshake::Syn
        );
        let synack = seg(S | A, sisn, cisn.wrapping_add(1), b"");
        assert_eq!(
            table.segment(t(1), s, c, &synack, &mut rec),
            Handshake::SynAck
        );
        let ack = seg(A, cisn.wrapping_add(1), sisn.wrapping_add(1), b"");
        assert_eq!(
            table.segment(t(1), c, s, &ack, &mut rec),
            Handshake::Established
        );
        Self {
            table,
            rec,
            c: cisn.wrapping_add(1),
            s: sisn.wrapping_add(1),
            now: 1,
        }
    }

    /// Client data at `c + off`.
    fn client_sends(&mut self, off: u32, data: &[u8]) -> Handshake {
        let tcp = seg(A | P, self.c.wrapping_add(off), self.s, data);
        self.table
            .segment(t(self.now), client(), server(), &tcp, &mut self.rec)
    }

    /// Server data at `s + off`.
    fn server_sends(&mut self, off: u32, data: &[u8]) -> Handshake {
        let tcp = seg(A | P, self.s.wrapping_add(off), self.c, data);
        self.table
            .segment(t(self.now), server(), client(), &tcp, &mut self.rec)
    }

    fn send(&mut self, from_client: bool, flags: u8, off: u32, data: &[u8]) -> Handshake {
        let (src, dst, seq, ack) = if from_client {
            (client(), server(), self.c.wrapping_add(off), self.s)
        } else {
            (server(), client(), self.s.wrapping_add(off), self.c)
        };
        let tcp = seg(flags, seq, ack, data);
        self.table
            .segment(t(self.now), src, dst, &tcp, &mut self.rec)
    }
}

/// The low byte of `i`, for patterned test data.
fn byte(i: usize) -> u8 {
    u8::try_from(i % 256).unwrap_or_default()
}

/// A test-sized length or offset as a `u32`.
fn n32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10\r\n\r\n";

// ---------------------------------------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------------------------------------

#[test]
fn in_order_segments_are_delivered_at_once() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    let (a, b) = INVITE.split_at(20);
    k.client_sends(0, a);
    assert_eq!(k.rec.stream(Dir::ToServer), a);
    k.client_sends(20, b);
    k.server_sends(0, b"SIP/2.0 100 Trying\r\n\r\n");
    assert_eq!(k.rec.stream(Dir::ToServer), INVITE);
    assert_eq!(k.rec.stream(Dir::ToClient), b"SIP/2.0 100 Trying\r\n\r\n");
    let st = k.table.stats();
    assert_eq!(st.conns_opened, 1);
    assert_eq!(st.active, 1);
    assert_eq!(st.bytes_delivered, (INVITE.len() + 22) as u64);
    assert_eq!(st.out_of_order, 0);
    assert_eq!(st.midstream, 0);
}

#[test]
fn handshake_outcomes_are_reported() {
    // Covered by Conn::open: Syn, SynAck, Established. A retransmitted SYN is still a Syn.
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let (c, s) = (client(), server());
    assert_eq!(
        table.segment(t(1), c, s, &seg(S, 77, 0, b""), &mut rec),
        Handshake::Syn
    );
    assert_eq!(
        table.segment(t(2), c, s, &seg(S, 77, 0, b""), &mut rec),
        Handshake::Syn
    );
    assert_eq!(
        table.stats().conns_opened,
        1,
        "a retransmitted SYN does not reset the conn"
    );
    // Refused: the server answers the SYN with RST+ACK.
    assert_eq!(
        table.segment(t(2), s, c, &seg(R | A, 0, 78, b""), &mut rec),
        Handshake::Refused
    );
    assert_eq!(rec.closes(), vec![CloseReason::Reset]);
    // A bare ACK or RST for an unknown connection does nothing.
    let other = SocketAddr::new(c.ip(), 40_001);
    assert_eq!(
        table.segment(t(3), other, s, &seg(A, 1, 1, b""), &mut rec),
        Handshake::None
    );
    assert_eq!(
        table.segment(t(3), s, other, &seg(R, 1, 1, b""), &mut rec),
        Handshake::None
    );
    assert_eq!(table.stats().conns_opened, 1);
}

#[test]
fn the_handshake_completes_when_the_syn_ack_was_not_captured() {
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let (c, s) = (client(), server());
    table.segment(t(1), c, s, &seg(S, 10, 0, b""), &mut rec);
    let hs = table.segment(t(1), c, s, &seg(A, 11, 901, b"hello"), &mut rec);
    assert_eq!(hs, Handshake::Established);
    table.segment(t(1), s, c, &seg(A, 901, 16, b"world"), &mut rec);
    assert_eq!(rec.stream(Dir::ToServer), b"hello");
    assert_eq!(rec.stream(Dir::ToClient), b"world");
}

#[test]
fn a_syn_ack_alone_opens_the_connection_the_right_way_round() {
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let (c, s) = (client(), server());
    assert_eq!(
        table.segment(t(1), s, c, &seg(S | A, 500, 11, b""), &mut rec),
        Handshake::SynAck
    );
    assert_eq!(
        table.segment(t(1), c, s, &seg(A, 11, 501, b""), &mut rec),
        Handshake::Established
    );
    table.segment(t(1), c, s, &seg(A, 11, 501, b"REGISTER"), &mut rec);
    assert_eq!(rec.stream(Dir::ToServer), b"REGISTER");
    table.flush(&mut rec);
    assert_eq!(rec.events.last(), Some(&Ev::Close(c, CloseReason::End)));
}

#[test]
fn out_of_order_segments_wait_for_the_hole() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(10, b"KLMNO");
    k.client_sends(5, b"FGHIJ");
    assert!(k.rec.stream(Dir::ToServer).is_empty());
    assert_eq!(k.table.buffered(), 10);
    k.client_sends(0, b"ABCDE");
    assert_eq!(k.rec.stream(Dir::ToServer), b"ABCDEFGHIJKLMNO");
    assert_eq!(k.table.buffered(), 0);
    assert_eq!(k.table.stats().out_of_order, 2);
    assert!(k.rec.gaps().is_empty());
}

#[test]
fn retransmitted_and_duplicate_segments_are_trimmed() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"ABCDE");
    k.client_sends(0, b"ABCDE");
    k.client_sends(3, b"DEFGH");
    k.client_sends(8, b"IJ");
    k.client_sends(8, b"IJ");
    assert_eq!(k.rec.stream(Dir::ToServer), b"ABCDEFGHIJ");
    assert_eq!(k.table.stats().retransmitted_bytes, 5 + 2 + 2);
    // A duplicate of held out-of-order data is an overlap and is kept once.
    k.client_sends(20, b"uvw");
    k.client_sends(20, b"uvw");
    k.client_sends(10, b"klmnopqrst");
    assert_eq!(k.rec.stream(Dir::ToServer), b"ABCDEFGHIJklmnopqrstuvw");
    assert_eq!(k.table.stats().overlaps, 1);
}

#[test]
fn overlapping_segments_keep_the_first_bytes() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(4, b"EFGH");
    k.client_sends(10, b"KL");
    // Covers the hole, both held segments and more, with different bytes: only the holes are taken.
    k.client_sends(2, b"xxxxxxxxxxxxxx");
    assert!(k.rec.stream(Dir::ToServer).is_empty());
    k.client_sends(0, b"AB");
    assert_eq!(k.rec.stream(Dir::ToServer), b"ABxxEFGHxxKLxxxx");
    assert_eq!(k.table.stats().overlaps, 1);
    // In-order data that runs into held data also yields to it.
    k.client_sends(20, b"UV");
    k.client_sends(16, b"qrstyyzz");
    assert_eq!(k.rec.stream(Dir::ToServer), b"ABxxEFGHxxKLxxxxqrstUVzz");
    assert_eq!(k.table.stats().overlaps, 2);
}

#[test]
fn sequence_numbers_wrap_around() {
    let isn = u32::MAX - 3;
    let mut k = Conn::open(TcpConfig::default(), isn, u32::MAX);
    // Client data starts at u32::MAX - 2 and crosses zero; server data starts exactly at 0.
    k.client_sends(6, b"GHIJ");
    k.client_sends(0, b"ABC");
    k.client_sends(3, b"DEF");
    assert_eq!(k.rec.stream(Dir::ToServer), b"ABCDEFGHIJ");
    k.client_sends(0, b"ABCDE");
    assert_eq!(k.table.stats().retransmitted_bytes, 5);
    k.server_sends(0, b"ok");
    assert_eq!(k.rec.stream(Dir::ToClient), b"ok");
    assert!(k.rec.gaps().is_empty());
}

#[test]
fn a_hole_larger_than_the_buffer_bound_is_skipped() {
    let cfg = TcpConfig {
        max_buffered_per_dir: 16,
        ..TcpConfig::default()
    };
    let mut k = Conn::open(cfg, 1000, 5000);
    k.client_sends(0, b"head");
    // Bytes 4..10 are lost; 10..20 is held, 20..30 exceeds the bound.
    k.client_sends(10, b"0123456789");
    assert_eq!(k.rec.stream(Dir::ToServer), b"head");
    k.client_sends(20, b"abcdefghij");
    assert_eq!(k.rec.gaps(), vec![(Dir::ToServer, 6)]);
    assert_eq!(k.rec.stream(Dir::ToServer), b"head0123456789abcdefghij");
    // The lost bytes arriving late are trimmed; the stream goes on.
    k.client_sends(4, b"LATE!!");
    k.client_sends(30, b"tail");
    assert_eq!(k.rec.stream(Dir::ToServer), b"head0123456789abcdefghijtail");
    let st = k.table.stats();
    assert_eq!((st.gaps, st.gap_bytes, st.retransmitted_bytes), (1, 6, 6));
    assert_eq!(k.table.buffered(), 0);
}

#[test]
fn too_many_held_segments_skip_the_hole() {
    let cfg = TcpConfig {
        max_segments_per_dir: 3,
        ..TcpConfig::default()
    };
    let mut k = Conn::open(cfg, 1000, 5000);
    for i in 0..4u32 {
        k.client_sends(10 + i * 10, b"x");
    }
    // The fourth island exceeds the bound: the first hole (10 bytes) is skipped, and so on until it fits.
    assert_eq!(k.rec.gaps(), vec![(Dir::ToServer, 10)]);
    assert_eq!(k.rec.stream(Dir::ToServer), b"x");
    k.table.flush(&mut k.rec);
    assert_eq!(k.rec.stream(Dir::ToServer), b"xxxx");
    assert_eq!(k.rec.gaps().len(), 4);
}

#[test]
fn the_total_bound_spans_connections() {
    let cfg = TcpConfig {
        max_buffered_total: 100,
        ..TcpConfig::default()
    };
    let mut table = TcpTable::new(cfg);
    let mut rec = Rec::default();
    for i in 0..20u16 {
        let c = SocketAddr::new(client().ip(), 30_000 + i);
        table.segment(t(1), c, server(), &seg(S, 0, 0, b""), &mut rec);
        table.segment(t(1), c, server(), &seg(A, 20, 0, &[b'z'; 30]), &mut rec);
        assert!(table.buffered() <= 100);
    }
    assert!(table.stats().gaps >= 17);
    table.flush(&mut rec);
    assert_eq!(table.buffered(), 0);
    assert_eq!(rec.stream(Dir::ToServer).len(), 20 * 30);
}

#[test]
fn fins_from_both_sides_close_the_connection() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"BYE");
    k.send(true, F | A, 3, b"");
    assert!(k.rec.closes().is_empty(), "one direction is still open");
    k.server_sends(0, b"200 OK");
    k.send(false, F | A, 6, b"");
    assert_eq!(k.rec.closes(), vec![CloseReason::Fin]);
    // The last ACK and a retransmitted FIN do not reopen it.
    k.send(true, A, 4, b"");
    k.send(false, F | A, 6, b"");
    assert_eq!(k.rec.closes(), vec![CloseReason::Fin]);
    assert_eq!(k.table.stats().conns_opened, 1);
    assert_eq!(k.rec.stream(Dir::ToClient), b"200 OK");
}

#[test]
fn a_fin_waits_for_the_data_before_it() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.send(true, F | A, 4, b"5678");
    k.send(false, F | A, 0, b"");
    assert!(k.rec.closes().is_empty());
    k.client_sends(0, b"1234");
    assert_eq!(k.rec.stream(Dir::ToServer), b"12345678");
    assert_eq!(k.rec.closes(), vec![CloseReason::Fin]);
}

#[test]
fn data_beyond_a_fin_is_ignored() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.send(true, F | A, 0, b"end");
    k.client_sends(3, b"more");
    assert_eq!(k.rec.stream(Dir::ToServer), b"end");
    assert_eq!(k.table.stats().out_of_window, 1);
}

#[test]
fn an_acked_fin_skips_the_bytes_the_capture_lost() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"abc");
    // Bytes 3..8 never reach the capture; the client's FIN follows them at 13.
    k.client_sends(8, b"fghij");
    k.send(true, F | A, 13, b"");
    assert!(k.rec.gaps().is_empty());
    // The server acknowledges the FIN, so it received everything: the hole is capture loss.
    let tcp = seg(F | A, k.s, k.c.wrapping_add(14), b"");
    k.table.segment(t(1), server(), client(), &tcp, &mut k.rec);
    assert_eq!(k.rec.gaps(), vec![(Dir::ToServer, 5)]);
    assert_eq!(k.rec.stream(Dir::ToServer), b"abcfghij");
    assert_eq!(k.rec.closes(), vec![CloseReason::Fin]);
}

#[test]
fn a_reset_closes_the_connection_and_nothing_more_is_delivered() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"abc");
    k.client_sends(10, b"held");
    k.send(false, R, 0, b"");
    // What was held arrived before the RST and is flushed, behind its gap.
    assert_eq!(k.rec.stream(Dir::ToServer), b"abcheld");
    assert_eq!(k.rec.gaps(), vec![(Dir::ToServer, 7)]);
    assert_eq!(k.rec.closes(), vec![CloseReason::Reset]);
    k.client_sends(3, b"defghij");
    assert_eq!(k.rec.stream(Dir::ToServer), b"abcheld");
    assert_eq!(k.table.buffered(), 0);
}

#[test]
fn a_reset_far_outside_the_window_is_ignored() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"abc");
    k.send(true, R, 0x4000_0000, b"");
    assert!(k.rec.closes().is_empty());
    assert_eq!(k.table.stats().out_of_window, 1);
    k.client_sends(3, b"def");
    assert_eq!(k.rec.stream(Dir::ToServer), b"abcdef");
}

#[test]
fn a_connection_is_picked_up_mid_stream() {
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let (c, s) = (client(), server());
    // A bare ACK does not create anything.
    assert_eq!(
        table.segment(t(1), s, c, &seg(A, 7000, 300, b""), &mut rec),
        Handshake::None
    );
    assert_eq!(table.stats().active, 0);
    // The first segment seen is the server's; the lower port still makes it the server.
    assert_eq!(
        table.segment(t(1), s, c, &seg(A, 7000, 300, b"SIP/2.0 200"), &mut rec),
        Handshake::None
    );
    // The server's ACK said where the client's stream stands: bytes before 300 were delivered before the
    // capture started, so they are retransmissions.
    table.segment(t(1), c, s, &seg(A, 295, 7011, b"12345ACK sip:x"), &mut rec);
    table.segment(t(1), c, s, &seg(A, 305, 7011, b"ip:xMORE"), &mut rec);
    assert_eq!(rec.stream(Dir::ToClient), b"SIP/2.0 200");
    assert_eq!(rec.stream(Dir::ToServer), b"ACK sip:xMORE");
    let st = table.stats();
    assert_eq!((st.midstream, st.conns_opened, st.active), (1, 1, 1));
    assert_eq!(st.retransmitted_bytes, 5 + 4);
    table.flush(&mut rec);
    assert_eq!(rec.events.last(), Some(&Ev::Close(c, CloseReason::End)));
}

#[test]
fn mid_stream_ports_that_tie_make_the_sender_the_client() {
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let p1 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5060);
    let p2 = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 5060);
    table.segment(t(1), p2, p1, &seg(A, 1, 1, b"OPTIONS"), &mut rec);
    table.flush(&mut rec);
    assert_eq!(
        rec.events,
        vec![
            Ev::Data(Dir::ToServer, b"OPTIONS".to_vec()),
            Ev::Close(p2, CloseReason::End)
        ]
    );
}

#[test]
fn a_new_isn_on_a_half_open_or_closed_connection_starts_a_fresh_one() {
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let (c, s) = (client(), server());
    table.segment(t(1), c, s, &seg(S, 100, 0, b""), &mut rec);
    assert_eq!(
        table.segment(t(2), c, s, &seg(S, 9000, 0, b""), &mut rec),
        Handshake::Syn
    );
    assert_eq!(rec.closes(), vec![CloseReason::Evicted]);
    assert_eq!(table.stats().conns_opened, 2);
    // The old attempt's SYN-ACK no longer fits; the new one's does.
    assert_eq!(
        table.segment(t(2), s, c, &seg(S | A, 50, 101, b""), &mut rec),
        Handshake::SynAck
    );
    assert_eq!(table.stats().out_of_window, 1);
    table.segment(t(2), s, c, &seg(S | A, 60, 9001, b""), &mut rec);
    assert_eq!(
        table.segment(t(2), c, s, &seg(A, 9001, 61, b""), &mut rec),
        Handshake::Established
    );
    // Reset, then the same ports again.
    table.segment(t(3), c, s, &seg(R, 9001, 0, b""), &mut rec);
    assert_eq!(
        table.segment(t(4), c, s, &seg(S, 123_456, 0, b""), &mut rec),
        Handshake::Syn
    );
    table.segment(t(4), c, s, &seg(S | A, 5, 123_457, b""), &mut rec);
    table.segment(t(4), c, s, &seg(A | P, 123_457, 6, b"new"), &mut rec);
    assert_eq!(rec.stream(Dir::ToServer), b"new");
    assert_eq!(rec.closes(), vec![CloseReason::Evicted, CloseReason::Reset]);
    assert_eq!(table.stats().conns_opened, 3);
}

#[test]
fn a_new_syn_on_an_established_connection_needs_the_servers_answer() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"abc");
    let (c, s) = (client(), server());
    // A spoofed SYN alone changes nothing.
    assert_eq!(
        k.table
            .segment(t(2), c, s, &seg(S, 777, 0, b""), &mut k.rec),
        Handshake::Syn
    );
    k.client_sends(3, b"def");
    assert_eq!(k.rec.stream(Dir::ToServer), b"abcdef");
    assert!(k.rec.closes().is_empty());
    // The server accepting it means the old connection is gone (its close was missed).
    assert_eq!(
        k.table
            .segment(t(2), s, c, &seg(S | A, 42, 778, b""), &mut k.rec),
        Handshake::SynAck
    );
    assert_eq!(k.rec.closes(), vec![CloseReason::Evicted]);
    assert_eq!(
        k.table
            .segment(t(2), c, s, &seg(A, 778, 43, b"xyz"), &mut k.rec),
        Handshake::Established
    );
    assert_eq!(k.rec.stream(Dir::ToServer), b"abcdefxyz");
}

#[test]
fn data_on_a_syn_is_delivered() {
    let mut table = TcpTable::default();
    let mut rec = Rec::default();
    let (c, s) = (client(), server());
    table.segment(t(1), c, s, &seg(S, 10, 0, b"fast-open"), &mut rec);
    table.segment(t(1), s, c, &seg(S | A, 90, 20, b""), &mut rec);
    // The client retransmits the data after the handshake: already delivered.
    table.segment(t(1), c, s, &seg(A, 11, 91, b"fast-open"), &mut rec);
    table.segment(t(1), c, s, &seg(A, 20, 91, b"!"), &mut rec);
    assert_eq!(rec.stream(Dir::ToServer), b"fast-open!");
    assert_eq!(table.stats().retransmitted_bytes, 9);
}

#[test]
fn a_syn_flood_from_many_sources_stays_under_the_cap() {
    let cap = 1024;
    let cfg = TcpConfig {
        max_conns: cap,
        ..TcpConfig::default()
    };
    let mut k = Conn::open(cfg, 1000, 5000);
    k.client_sends(0, b"REGISTER");
    let n: u32 = 50_000;
    for i in 0..n {
        let src = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
            1024 + (i % 60_000) as u16,
        );
        let hs = k
            .table
            .segment(t(2), src, server(), &seg(S, i, 0, b""), &mut k.rec);
        assert_eq!(hs, Handshake::Syn);
        assert!(k.table.stats().active <= cap);
    }
    let st = k.table.stats();
    assert_eq!(st.conns_opened, u64::from(n) + 1);
    assert_eq!(st.evicted, u64::from(n) + 1 - st.active as u64);
    assert_eq!(k.rec.closes().len() as u64, st.evicted);
    assert!(k.rec.closes().iter().all(|r| *r == CloseReason::Evicted));
    // The established connection, older than every SYN, survived: half-open entries go first.
    k.now = 3;
    k.client_sends(8, b" more");
    assert_eq!(k.rec.stream(Dir::ToServer), b"REGISTER more");
    assert!(
        !k.rec
            .events
            .iter()
            .any(|e| *e == Ev::Close(client(), CloseReason::Evicted))
    );
}

#[test]
fn idle_connections_time_out_in_packet_time() {
    let cfg = TcpConfig {
        idle_timeout: Duration::from_secs(100),
        handshake_timeout: Duration::from_secs(10),
        ..TcpConfig::default()
    };
    let mut k = Conn::open(cfg, 1000, 5000);
    k.client_sends(0, b"ab");
    k.client_sends(5, b"held");
    let half = SocketAddr::new(client().ip(), 40_001);
    k.table
        .segment(t(1), half, server(), &seg(S, 1, 0, b""), &mut k.rec);
    assert_eq!(k.table.stats().active, 2);

    k.table.expire(t(11), &mut k.rec);
    assert!(
        k.rec.closes().is_empty(),
        "exactly at the handshake timeout is not past it"
    );
    // Sweeps run at most four times per (shorter) timeout, so a close can come up to a quarter late.
    k.table.expire(t(20), &mut k.rec);
    assert_eq!(
        k.rec.events.last(),
        Some(&Ev::Close(half, CloseReason::Timeout))
    );
    assert_eq!(k.table.stats().active, 1);

    k.table.expire(t(101), &mut k.rec);
    assert_eq!(k.table.stats().active, 1);
    k.table.expire(t(110), &mut k.rec);
    // The held data is delivered behind its gap before the close.
    assert_eq!(k.rec.stream(Dir::ToServer), b"abheld");
    assert_eq!(k.rec.gaps(), vec![(Dir::ToServer, 3)]);
    assert_eq!(
        k.rec.events.last(),
        Some(&Ev::Close(client(), CloseReason::Timeout))
    );
    let st = k.table.stats();
    assert_eq!((st.timed_out, st.active), (2, 0));
    assert_eq!(k.table.buffered(), 0);
}

#[test]
fn flush_delivers_held_data_and_closes_everything() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.server_sends(4, b"tail");
    k.table.flush(&mut k.rec);
    assert_eq!(
        k.rec.events,
        vec![
            Ev::Gap(Dir::ToClient, 4),
            Ev::Data(Dir::ToClient, b"tail".to_vec()),
            Ev::Close(client(), CloseReason::End),
        ]
    );
    assert_eq!(k.table.stats().active, 0);
    assert_eq!(k.table.buffered(), 0);
}

#[test]
fn conn_keys_are_the_same_both_ways() {
    assert_eq!(
        ConnKey::new(client(), server()),
        ConnKey::new(server(), client())
    );
    let k = ConnKey::new(server(), client());
    assert!(k.a <= k.b);
}

// ---------------------------------------------------------------------------------------------------------
// IP defragmentation
// ---------------------------------------------------------------------------------------------------------

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
}

fn frag(id: u32, offset: u32, more: bool) -> Fragment {
    Fragment { id, offset, more }
}

/// A UDP datagram's IP payload: an 8-byte header and `len` bytes of patterned data.
fn datagram(len: usize) -> Vec<u8> {
    let total = u16::try_from(len + 8).unwrap_or(u16::MAX);
    let mut d = vec![0x13, 0xc4, 0x13, 0xc4];
    d.extend(total.to_be_bytes());
    d.extend([0, 0]);
    d.extend((0..len).map(byte));
    d
}

/// Cuts `d` into fragments of `size` bytes (a multiple of 8): (offset, more, data).
fn cut(d: &[u8], size: usize) -> Vec<(u32, bool, &[u8])> {
    let n = d.chunks(size).count();
    d.chunks(size)
        .enumerate()
        .map(|(i, c)| (n32(i * size), i + 1 < n, c))
        .collect()
}

fn push_all(df: &mut Defrag, id: u32, parts: &[(u32, bool, &[u8])]) -> Option<Vec<u8>> {
    let mut out = None;
    for &(off, more, data) in parts {
        if let Some(whole) = df.push(t(1), v4(1), v4(2), IPPROTO_UDP, frag(id, off, more), data) {
            assert!(out.is_none(), "completed once");
            out = Some(whole.to_vec());
        }
    }
    out
}

#[test]
fn fragments_in_order_reassemble() {
    let d = datagram(3000);
    let mut df = Defrag::default();
    let parts = cut(&d, 1480);
    assert_eq!(push_all(&mut df, 7, &parts), Some(d));
    let st = df.stats();
    assert_eq!(
        (st.fragments, st.reassembled, st.in_flight, st.bytes),
        (3, 1, 0, 0)
    );
}

#[test]
fn fragments_in_reverse_order_reassemble() {
    let d = datagram(5000);
    let mut df = Defrag::default();
    let mut parts = cut(&d, 1208);
    parts.reverse();
    assert_eq!(push_all(&mut df, 7, &parts), Some(d.clone()));
    // The output buffer is reused for the next datagram.
    let d2 = datagram(100);
    assert_eq!(push_all(&mut df, 8, &cut(&d2, 64)), Some(d2));
}

#[test]
fn duplicate_fragments_are_counted_as_overlaps_without_mismatch() {
    let d = datagram(2000);
    let mut df = Defrag::default();
    let parts = cut(&d, 800);
    let dup = [parts[0], parts[1], parts[0], parts[1], parts[2]];
    assert_eq!(push_all(&mut df, 1, &dup), Some(d));
    let st = df.stats();
    assert_eq!((st.overlaps, st.overlap_mismatches), (2, 0));
}

#[test]
fn overlapping_fragments_keep_the_first_bytes() {
    let mut df = Defrag::default();
    let (src, dst) = (v4(1), v4(2));
    assert!(
        df.push(t(1), src, dst, IPPROTO_UDP, frag(9, 8, true), &[b'B'; 16])
            .is_none()
    );
    // Covers 0..32 with different bytes: only 0..8 and 24..32 are new.
    assert!(
        df.push(t(1), src, dst, IPPROTO_UDP, frag(9, 0, true), &[b'x'; 32])
            .is_none()
    );
    let whole = df
        .push(t(1), src, dst, IPPROTO_UDP, frag(9, 32, false), b"END")
        .map(<[u8]>::to_vec);
    let mut want = vec![b'x'; 8];
    want.extend([b'B'; 16]);
    want.extend([b'x'; 8]);
    want.extend(b"END");
    assert_eq!(whole, Some(want));
    let st = df.stats();
    assert_eq!((st.overlaps, st.overlap_mismatches), (1, 1));
}

#[test]
fn a_missing_fragment_times_out() {
    let d = datagram(3000);
    let mut df = Defrag::new(DefragConfig {
        timeout: Duration::from_secs(30),
        ..DefragConfig::default()
    });
    let parts = cut(&d, 1480);
    df.push(
        t(100),
        v4(1),
        v4(2),
        IPPROTO_UDP,
        frag(3, parts[0].0, true),
        parts[0].2,
    );
    df.push(
        t(110),
        v4(1),
        v4(2),
        IPPROTO_UDP,
        frag(3, parts[2].0, false),
        parts[2].2,
    );
    assert_eq!(df.stats().in_flight, 1);
    df.expire(t(130));
    assert_eq!(
        df.stats().in_flight,
        1,
        "the timeout counts from the first fragment, not past it yet"
    );
    df.expire(t(131));
    let st = df.stats();
    assert_eq!((st.in_flight, st.bytes, st.timed_out), (0, 0, 1));
    // The straggler starts a new datagram, which never completes.
    assert!(
        df.push(
            t(132),
            v4(1),
            v4(2),
            IPPROTO_UDP,
            frag(3, parts[1].0, true),
            parts[1].2
        )
        .is_none()
    );
    assert_eq!(df.stats().reassembled, 0);
}

#[test]
fn a_datagram_longer_than_65535_bytes_is_invalid() {
    let mut df = Defrag::default();
    let (src, dst) = (v4(1), v4(2));
    df.push(t(1), src, dst, IPPROTO_UDP, frag(4, 0, true), &[0; 1480]);
    // The largest offset (8191 * 8) plus more than 7 bytes goes past 65,535.
    assert!(
        df.push(
            t(1),
            src,
            dst,
            IPPROTO_UDP,
            frag(4, 65_528, false),
            &[0; 100]
        )
        .is_none()
    );
    let st = df.stats();
    assert_eq!((st.invalid, st.in_flight, st.bytes), (1, 0, 0));
    let last = (MAX_DATAGRAM_LEN - 7) as usize;
    assert_eq!(last, 65_528);
    assert!(
        df.push(t(1), src, dst, IPPROTO_UDP, frag(5, 65_528, false), &[0; 7])
            .is_none()
    );
    assert_eq!(df.stats().invalid, 1, "ending exactly at 65,535 is fine");
}

#[test]
fn inconsistent_last_fragments_are_invalid() {
    let mut df = Defrag::default();
    let (src, dst) = (v4(1), v4(2));
    df.push(t(1), src, dst, IPPROTO_UDP, frag(6, 16, false), &[0; 16]);
    assert!(
        df.push(t(1), src, dst, IPPROTO_UDP, frag(6, 8, false), &[0; 8])
            .is_none()
    );
    assert_eq!(df.stats().invalid, 1);
    // A fragment past a known end is invalid too.
    df.push(t(1), src, dst, IPPROTO_UDP, frag(7, 16, false), &[0; 16]);
    assert!(
        df.push(t(1), src, dst, IPPROTO_UDP, frag(7, 24, true), &[0; 16])
            .is_none()
    );
    assert_eq!(df.stats().invalid, 2);
    assert_eq!(df.stats().in_flight, 0);
}

#[test]
fn ipv6_fragments_use_32_bit_ids() {
    let src = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let dst = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
    let (a, b) = (datagram(2000), datagram(1500));
    let mut df = Defrag::default();
    let (pa, pb) = (cut(&a, 1232), cut(&b, 1232));
    // Two datagrams whose ids differ only above bit 16, interleaved.
    let (ida, idb) = (0x0001_5678, 0x0002_5678);
    assert!(
        df.push(
            t(1),
            src,
            dst,
            IPPROTO_UDP,
            frag(ida, pa[0].0, true),
            pa[0].2
        )
        .is_none()
    );
    assert!(
        df.push(
            t(1),
            src,
            dst,
            IPPROTO_UDP,
            frag(idb, pb[0].0, true),
            pb[0].2
        )
        .is_none()
    );
    let got_b = df
        .push(
            t(1),
            src,
            dst,
            IPPROTO_UDP,
            frag(idb, pb[1].0, false),
            pb[1].2,
        )
        .map(<[u8]>::to_vec);
    assert_eq!(got_b, Some(b));
    let got_a = df
        .push(
            t(1),
            src,
            dst,
            IPPROTO_UDP,
            frag(ida, pa[1].0, false),
            pa[1].2,
        )
        .map(<[u8]>::to_vec);
    assert_eq!(got_a, Some(a));
}

#[test]
fn a_flood_of_first_fragments_evicts_the_oldest() {
    let cap = 64;
    let mut df = Defrag::new(DefragConfig {
        max_datagrams: cap,
        ..DefragConfig::default()
    });
    for i in 0..10_000u32 {
        df.push(t(1), v4(1), v4(2), IPPROTO_UDP, frag(i, 0, true), &[0; 512]);
        assert!(df.stats().in_flight <= cap);
    }
    let st = df.stats();
    assert_eq!(st.evicted, 10_000 - cap as u64);
    assert_eq!(st.bytes, cap * 512);
    // The newest survive and can still complete.
    let whole = df.push(
        t(1),
        v4(1),
        v4(2),
        IPPROTO_UDP,
        frag(9_999, 512, false),
        b"end",
    );
    assert_eq!(whole.map(<[u8]>::len), Some(515));
}

#[test]
fn the_byte_cap_evicts_the_oldest_datagrams() {
    let mut df = Defrag::new(DefragConfig {
        max_bytes: 10_000,
        ..DefragConfig::default()
    });
    for i in 0..100u32 {
        df.push(
            t(u64::from(i)),
            v4(1),
            v4(2),
            IPPROTO_UDP,
            frag(i, 0, true),
            &[0; 1000],
        );
        assert!(df.stats().bytes <= 10_000);
    }
    assert_eq!(df.stats().in_flight, 10);
    assert_eq!(df.stats().evicted, 90);
    // One fragment at the far end asks for a 64 KiB buffer: larger than the cap, it cannot be kept.
    df.push(
        t(200),
        v4(1),
        v4(2),
        IPPROTO_UDP,
        frag(500, 60_000, true),
        &[0; 8],
    );
    assert!(df.stats().bytes <= 10_000);
}

#[test]
fn ragged_fragments_follow_the_hosts() {
    let mut df = Defrag::default();
    // IPv4: a non-final fragment of 13 bytes counts as 8, as Linux rounds it down.
    assert!(
        df.push(
            t(1),
            v4(1),
            v4(2),
            IPPROTO_UDP,
            frag(1, 0, true),
            b"ABCDEFGHijklm"
        )
        .is_none()
    );
    let whole = df
        .push(t(1), v4(1), v4(2), IPPROTO_UDP, frag(1, 8, false), b"IJ")
        .map(<[u8]>::to_vec);
    assert_eq!(whole.as_deref(), Some(&b"ABCDEFGHIJ"[..]));
    // IPv6: the fragment is discarded (RFC 8200 section 4.5).
    let src = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(
        df.push(
            t(1),
            src,
            src,
            IPPROTO_UDP,
            frag(1, 0, true),
            b"ABCDEFGHijklm"
        )
        .is_none()
    );
    let st = df.stats();
    assert_eq!((st.invalid, st.in_flight), (1, 0));
}

#[test]
fn a_hole_before_the_fin_is_reported_when_the_connection_ends() {
    let mut k = Conn::open(TcpConfig::default(), 1000, 5000);
    k.client_sends(0, b"abc");
    // Bytes 3..8 are lost, then the FIN at 8.
    k.send(true, F | A, 8, b"");
    k.table.flush(&mut k.rec);
    assert_eq!(k.rec.gaps(), vec![(Dir::ToServer, 5)]);
    assert_eq!(k.rec.closes(), vec![CloseReason::End]);
}

// ---------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct FragOp {
    src: u8,
    id: u32,
    offset: u32,
    more: bool,
    len: usize,
    dt: u64,
}

fn frag_op() -> impl Strategy<Value = FragOp> {
    (
        0u8..3,
        0u32..6,
        prop_oneof![0u32..4096, 60_000u32..70_000, any::<u32>()],
        any::<bool>(),
        0usize..3000,
        0u64..5,
    )
        .prop_map(|(src, id, offset, more, len, dt)| FragOp {
            src,
            id,
            offset,
            more,
            len,
            dt,
        })
}

#[derive(Debug, Clone)]
struct SegOp {
    from_a: bool,
    port: u16,
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
    dt: u64,
}

fn seg_op() -> impl Strategy<Value = SegOp> {
    let seq = prop_oneof![0u32..5000, (u32::MAX - 3000)..=u32::MAX, any::<u32>()];
    let ack = prop_oneof![0u32..5000, any::<u32>()];
    (
        any::<bool>(),
        0u16..4,
        any::<u8>(),
        seq,
        ack,
        0usize..1500,
        0u64..40,
    )
        .prop_map(|(from_a, port, flags, seq, ack, len, dt)| SegOp {
            from_a,
            port,
            flags,
            seq,
            ack,
            len,
            dt,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_fragments_never_panic_or_exceed_the_caps(ops in prop::collection::vec(frag_op(), 1..300)) {
        let cfg = DefragConfig { max_datagrams: 8, max_bytes: 100_000, timeout: Duration::from_secs(10) };
        let mut df = Defrag::new(cfg);
        let data = vec![0xabu8; 3000];
        let mut now = 0;
        for op in ops {
            now += op.dt;
            let payload = &data[..op.len];
            let out = df.push(t(now), v4(op.src), v4(9), IPPROTO_UDP, frag(op.id, op.offset, op.more), payload);
            if let Some(whole) = out {
                prop_assert!(whole.len() <= MAX_DATAGRAM_LEN as usize);
            }
            let st = df.stats();
            prop_assert!(st.in_flight <= cfg.max_datagrams);
            prop_assert!(st.bytes <= cfg.max_bytes);
            df.expire(t(now));
        }
    }

    #[test]
    fn fragments_in_any_order_with_duplicates_reassemble_exactly(
        len in 1usize..6000,
        size in 1usize..200,
        order in Just((0usize..64).collect::<Vec<_>>()).prop_shuffle(),
        dups in prop::collection::vec(0usize..64, 0..10),
    ) {
        let d = datagram(len);
        let parts = cut(&d, size * 8);
        let mut seq: Vec<_> = order.iter().chain(dups.iter()).map(|i| i % parts.len()).collect();
        // Every fragment at least once.
        seq.extend(0..parts.len());
        let mut df = Defrag::default();
        let mut got = None;
        for i in seq {
            let (off, more, data) = parts[i];
            if let Some(whole) = df.push(t(1), v4(1), v4(2), IPPROTO_UDP, frag(1, off, more), data) {
                got = Some(whole.to_vec());
                break;
            }
        }
        prop_assert_eq!(got, Some(d));
        prop_assert_eq!(df.stats().overlap_mismatches, 0);
    }

    #[test]
    fn random_segments_never_panic_or_exceed_the_caps(ops in prop::collection::vec(seg_op(), 1..300)) {
        let cfg = TcpConfig {
            max_conns: 4,
            max_buffered_per_dir: 4000,
            max_segments_per_dir: 5,
            max_buffered_total: 6000,
            idle_timeout: Duration::from_secs(100),
            handshake_timeout: Duration::from_secs(20),
        };
        let mut table = TcpTable::new(cfg);
        let mut rec = Rec::default();
        let data: Vec<u8> = (0..1500).map(byte).collect();
        let mut now = 0;
        for op in ops {
            now += op.dt;
            let a = SocketAddr::new(v4(1), 40_000 + op.port);
            let b = SocketAddr::new(v4(2), 5060);
            let (src, dst) = if op.from_a { (a, b) } else { (b, a) };
            let tcp = seg(op.flags & 0x1f, op.seq, op.ack, &data[..op.len]);
            table.segment(t(now), src, dst, &tcp, &mut rec);
            prop_assert!(table.stats().active <= cfg.max_conns);
            prop_assert!(table.buffered() <= cfg.max_buffered_total);
            table.expire(t(now), &mut rec);
        }
        table.flush(&mut rec);
        prop_assert_eq!(table.buffered(), 0);
        prop_assert_eq!(table.stats().active, 0);
        let st = table.stats();
        prop_assert_eq!(st.bytes_delivered, rec.stream(Dir::ToServer).len() as u64 + rec.stream(Dir::ToClient).len() as u64);
    }

    #[test]
    fn segments_in_any_order_with_duplicates_deliver_the_stream_exactly(
        len in 1usize..4000,
        cuts in prop::collection::vec(1usize..4000, 0..20),
        order in Just((0usize..24).collect::<Vec<_>>()).prop_shuffle(),
        isn in prop_oneof![any::<u32>(), (u32::MAX - 4000)..=u32::MAX],
    ) {
        let stream: Vec<u8> = (0..len).map(|i| byte(i * 7)).collect();
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c < len).collect();
        bounds.push(0);
        bounds.push(len);
        bounds.sort_unstable();
        bounds.dedup();
        let pieces: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        let mut k = Conn::open(TcpConfig::default(), isn, 1);
        for i in order.iter().map(|i| i % pieces.len()).chain(0..pieces.len()) {
            let (a, b) = pieces[i];
            k.client_sends(n32(a), &stream[a..b]);
        }
        prop_assert_eq!(k.rec.stream(Dir::ToServer), stream);
        prop_assert!(k.rec.gaps().is_empty());
        prop_assert_eq!(k.table.buffered(), 0);
    }
}
