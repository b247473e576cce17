//! The offline capture readers on capture files written byte by byte: classic pcap in both byte orders and
//! both timestamp precisions, pcapng with several sections and interfaces, truncated and corrupt files, and
//! arbitrary bytes. With `--features libpcap`, the libpcap reader on the same files.
// Marks the whole file as test code, so clippy.toml's allow-*-in-tests cover the helpers too.
#![cfg(test)]

use std::ops::ControlFlow;
use std::path::PathBuf;

use callguard::capture::{self, CaptureError, CaptureErrorKind, PacketSource, SourceStats};
use callguard_parsers::link::LinkType;
use proptest::prelude::*;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// An owned copy of a delivered packet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pkt {
    ts: u64,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
    offset: u64,
}

impl Pkt {
    fn new(ts: u64, link: LinkType, data: &[u8], orig_len: u32, offset: u64) -> Self {
        Self {
            ts,
            link,
            data: data.to_vec(),
            orig_len,
            offset,
        }
    }
}

/// Reads every packet of `src`, returning what was delivered and how reading ended.
fn read_all(src: &mut dyn PacketSource) -> (Vec<Pkt>, Result<SourceStats, CaptureError>) {
    let mut out = Vec::new();
    let res = src.for_each(&mut |p| {
        out.push(Pkt::new(
            p.ts.as_nanos(),
            p.link,
            p.data,
            p.orig_len,
            p.file_offset,
        ));
        ControlFlow::Continue(())
    });
    (out, res)
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Opens and reads `bytes` as a file with the pure-Rust reader. An error from `open` comes back as the
/// result with no packets.
fn read_bytes(bytes: &[u8]) -> (Vec<Pkt>, Result<SourceStats, CaptureError>) {
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "capture", bytes);
    match capture::open(&path) {
        Ok(mut src) => read_all(src.as_mut()),
        Err(e) => (Vec::new(), Err(e)),
    }
}

/// The error of an `open` expected to fail (a boxed source has no `Debug` for `unwrap_err`).
fn open_err(res: Result<Box<dyn PacketSource>, CaptureError>) -> CaptureError {
    match res {
        Ok(src) => panic!("{} opened", src.name().display()),
        Err(e) => e,
    }
}

/// A file offset as an index into the file's bytes.
fn at(offset: u64) -> usize {
    usize::try_from(offset).unwrap()
}

fn put16(out: &mut Vec<u8>, be: bool, v: u16) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put32(out: &mut Vec<u8>, be: bool, v: u32) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn put64(out: &mut Vec<u8>, be: bool, v: u64) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// A classic pcap file under construction.
struct Classic {
    be: bool,
    out: Vec<u8>,
}

impl Classic {
    fn new(be: bool, nanos: bool, link: u32) -> Self {
        let mut out = Vec::new();
        put32(&mut out, be, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        put16(&mut out, be, 2);
        put16(&mut out, be, 4);
        put32(&mut out, be, 0); // thiszone
        put32(&mut out, be, 0); // sigfigs
        put32(&mut out, be, 65535); // snaplen
        put32(&mut out, be, link);
        assert_eq!(out.len(), 24);
        Self { be, out }
    }

    /// Appends a record; returns its offset.
    fn record(&mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> u64 {
        self.record_with_caplen(
            secs,
            frac,
            u32::try_from(data.len()).unwrap(),
            data,
            orig_len,
        )
    }

    fn record_with_caplen(
        &mut self,
        secs: u32,
        frac: u32,
        caplen: u32,
        data: &[u8],
        orig_len: u32,
    ) -> u64 {
        let offset = self.out.len() as u64;
        put32(&mut self.out, self.be, secs);
        put32(&mut self.out, self.be, frac);
        put32(&mut self.out, self.be, caplen);
        put32(&mut self.out, self.be, orig_len);
        self.out.extend_from_slice(data);
        offset
    }
}

/// A pcapng file under construction; blocks use the byte order of the last section header.
#[derive(Default)]
struct Ng {
    be: bool,
    out: Vec<u8>,
}

const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;
const EPB_FLAGS: u16 = 2;

impl Ng {
    /// Appends a block with `body` (padded to 4 bytes); returns its offset.
    fn block(&mut self, block_type: u32, body: &[u8]) -> u64 {
        let offset = self.out.len() as u64;
        let mut body = body.to_vec();
        pad4(&mut body);
        let len = u32::try_from(12 + body.len()).unwrap();
        put32(&mut self.out, self.be, block_type);
        put32(&mut self.out, self.be, len);
        self.out.extend_from_slice(&body);
        put32(&mut self.out, self.be, len);
        offset
    }

    fn options(&self, body: &mut Vec<u8>, opts: &[(u16, Vec<u8>)]) {
        if opts.is_empty() {
            return;
        }
        for (code, value) in opts {
            put16(body, self.be, *code);
            put16(body, self.be, u16::try_from(value.len()).unwrap());
            body.extend_from_slice(value);
            pad4(body);
        }
        put16(body, self.be, OPT_END);
        put16(body, self.be, 0);
    }

    fn shb(&mut self, be: bool) -> u64 {
        self.be = be;
        let mut body = Vec::new();
        put32(&mut body, be, 0x1a2b_3c4d);
        put16(&mut body, be, 1);
        put16(&mut body, be, 0);
        put64(&mut body, be, u64::MAX); // section length: unknown
        let opts = [(OPT_COMMENT, b"callguard test".to_vec())];
        self.options(&mut body, &opts);
        self.block(0x0a0d_0d0a, &body)
    }

    fn idb(&mut self, link: u16, snaplen: u32, tsresol: Option<u8>, tsoffset: Option<i64>) -> u64 {
        let mut body = Vec::new();
        put16(&mut body, self.be, link);
        put16(&mut body, self.be, 0);
        put32(&mut body, self.be, snaplen);
        let mut opts = vec![(2, b"eth0".to_vec())]; // if_name
        if let Some(r) = tsresol {
            opts.push((IF_TSRESOL, vec![r]));
        }
        if let Some(o) = tsoffset {
            let b = if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            opts.push((IF_TSOFFSET, b.to_vec()));
        }
        self.options(&mut body, &opts);
        self.block(1, &body)
    }

    fn epb_opts(
        &mut self,
        if_id: u32,
        ticks: u64,
        data: &[u8],
        orig_len: u32,
        opts: &[(u16, Vec<u8>)],
    ) -> u64 {
        let mut body = Vec::new();
        put32(&mut body, self.be, if_id);
        put32(&mut body, self.be, u32::try_from(ticks >> 32).unwrap());
        put32(
            &mut body,
            self.be,
            u32::try_from(ticks & 0xffff_ffff).unwrap(),
        );
        put32(&mut body, self.be, u32::try_from(data.len()).unwrap());
        put32(&mut body, self.be, orig_len);
        body.extend_from_slice(data);
        pad4(&mut body);
        self.options(&mut body, opts);
        self.block(6, &body)
    }

    fn epb(&mut self, if_id: u32, ticks: u64, data: &[u8], orig_len: u32) -> u64 {
        self.epb_opts(if_id, ticks, data, orig_len, &[])
    }

    fn spb(&mut self, data: &[u8], orig_len: u32) -> u64 {
        let mut body = Vec::new();
        put32(&mut body, self.be, orig_len);
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    /// An obsolete Packet Block (type 2).
    fn pb(&mut self, if_id: u16, ticks: u64, data: &[u8], orig_len: u32) -> u64 {
        let mut body = Vec::new();
        put16(&mut body, self.be, if_id);
        put16(&mut body, self.be, 0); // drops
        put32(&mut body, self.be, u32::try_from(ticks >> 32).unwrap());
        put32(
            &mut body,
            self.be,
            u32::try_from(ticks & 0xffff_ffff).unwrap(),
        );
        put32(&mut body, self.be, u32::try_from(data.len()).unwrap());
        put32(&mut body, self.be, orig_len);
        body.extend_from_slice(data);
        self.block(2, &body)
    }
}

const SEC: u64 = 1_000_000_000;
const ETH: LinkType = LinkType(1);
const SLL: LinkType = LinkType(113);

fn assert_kind(err: &CaptureError, offset: u64, pred: fn(&CaptureErrorKind) -> bool) {
    assert!(pred(&err.kind), "unexpected error kind: {err}");
    assert_eq!(err.offset, offset, "wrong offset: {err}");
}

fn is_truncated(k: &CaptureErrorKind) -> bool {
    matches!(k, CaptureErrorKind::Truncated)
}

fn is_corrupt(k: &CaptureErrorKind) -> bool {
    matches!(k, CaptureErrorKind::Corrupt(_))
}

// ---------------------------------------------------------------------------------------------------------
// Classic pcap

#[test]
fn classic_all_byte_orders_and_precisions() {
    for be in [false, true] {
        for nanos in [false, true] {
            let mut c = Classic::new(be, nanos, 1);
            let frac = if nanos { 123_456_789 } else { 123_456 };
            let o1 = c.record(1_700_000_000, frac, b"first packet", 60);
            let o2 = c.record(
                u32::MAX,
                if nanos { 999_999_999 } else { 999_999 },
                &[0xab; 3],
                3,
            );
            let o3 = c.record(0, 0, b"", 0);
            assert_eq!((o1, o2, o3), (24, 24 + 16 + 12, 24 + 16 + 12 + 16 + 3));

            let dir = TempDir::new().unwrap();
            let path = write(&dir, "c.pcap", &c.out);
            let mut src = capture::open(&path).unwrap();
            assert_eq!(src.name(), path.as_path());
            assert_eq!(src.total_bytes(), Some(c.out.len() as u64));
            let (pkts, res) = read_all(src.as_mut());
            let stats = res.unwrap();

            let frac_ns = if nanos { 123_456_789 } else { 123_456_000 };
            let last_ns = 999_999_999 - if nanos { 0 } else { 999 };
            assert_eq!(
                pkts,
                vec![
                    Pkt::new(1_700_000_000 * SEC + frac_ns, ETH, b"first packet", 60, o1),
                    Pkt::new(u64::from(u32::MAX) * SEC + last_ns, ETH, &[0xab; 3], 3, o2),
                    Pkt::new(0, ETH, b"", 0, o3),
                ],
                "be={be} nanos={nanos}"
            );
            assert_eq!(
                stats,
                SourceStats {
                    packets: 3,
                    bytes: 15,
                    file_bytes: c.out.len() as u64
                }
            );
            // At the end, a further call delivers nothing and keeps the totals.
            let (more, res) = read_all(src.as_mut());
            assert!(more.is_empty());
            assert_eq!(res.unwrap(), stats);
        }
    }
}

#[test]
fn classic_link_type_from_header_without_fcs_bits() {
    // LINUX_SLL with an FCS length of 4 in the top bits (0x1000_0000 F bit + length 2 << 29... any of them).
    let mut c = Classic::new(false, false, 113 | 0x9000_0000);
    c.record(1, 2, b"abc", 3);
    let (pkts, res) = read_bytes(&c.out);
    res.unwrap();
    assert_eq!(pkts[0].link, SLL);
}

#[test]
fn classic_modified_format() {
    let mut out = Vec::new();
    put32(&mut out, false, 0xa1b2_cd34);
    put16(&mut out, false, 2);
    put16(&mut out, false, 4);
    out.extend_from_slice(&[0; 8]);
    put32(&mut out, false, 65535);
    put32(&mut out, false, 101);
    for (i, data) in [&b"one"[..], b"second"].iter().enumerate() {
        put32(&mut out, false, 10 + u32::try_from(i).unwrap());
        put32(&mut out, false, 5);
        put32(&mut out, false, u32::try_from(data.len()).unwrap());
        put32(&mut out, false, 1500);
        out.extend_from_slice(&[0; 8]); // ifindex, protocol, pkt_type, pad
        out.extend_from_slice(data);
    }
    let (pkts, res) = read_bytes(&out);
    res.unwrap();
    assert_eq!(
        pkts,
        vec![
            Pkt::new(10 * SEC + 5_000, LinkType(101), b"one", 1500, 24),
            Pkt::new(
                11 * SEC + 5_000,
                LinkType(101),
                b"second",
                1500,
                24 + 24 + 3
            ),
        ]
    );
}

#[test]
fn classic_truncated_in_record_data() {
    let mut c = Classic::new(false, false, 1);
    c.record(1, 0, b"aaaa", 4);
    c.record(2, 0, b"bbbb", 4);
    let o3 = c.record(3, 0, b"cccccccc", 8);
    let cut = &c.out[..c.out.len() - 3];
    let (pkts, res) = read_bytes(cut);
    assert_eq!(pkts.len(), 2);
    assert_eq!(pkts[1].data, b"bbbb");
    assert_kind(&res.unwrap_err(), o3, is_truncated);
}

#[test]
fn classic_truncated_in_record_header() {
    let mut c = Classic::new(true, true, 1);
    c.record(1, 0, b"aaaa", 4);
    let o2 = c.record(2, 0, b"bbbb", 4);
    let cut = &c.out[..at(o2) + 7];
    let (pkts, res) = read_bytes(cut);
    assert_eq!(pkts.len(), 1);
    let err = res.unwrap_err();
    assert_kind(&err, o2, is_truncated);
    let msg = err.to_string();
    assert!(
        msg.contains("capture: truncated") && msg.ends_with("at byte offset 44"),
        "{msg}"
    );
}

#[test]
fn classic_truncated_in_file_header() {
    let c = Classic::new(false, false, 1);
    for len in [1, 3, 4, 10, 23] {
        let (pkts, res) = read_bytes(&c.out[..len]);
        assert!(pkts.is_empty());
        assert_kind(&res.unwrap_err(), 0, is_truncated);
    }
    // The header alone is an empty capture.
    let (pkts, res) = read_bytes(&c.out);
    assert!(pkts.is_empty());
    assert_eq!(
        res.unwrap(),
        SourceStats {
            packets: 0,
            bytes: 0,
            file_bytes: 24
        }
    );
}

#[test]
fn empty_file_is_truncated_and_unknown_magic_is_not_a_capture() {
    let (_, res) = read_bytes(b"");
    assert_kind(&res.unwrap_err(), 0, is_truncated);
    for bytes in [&b"GET / HTTP/1.1\r\n"[..], b"\x00\x00\x00\x00", b"xy"] {
        let (_, res) = read_bytes(bytes);
        assert_kind(&res.unwrap_err(), 0, |k| {
            matches!(k, CaptureErrorKind::NotACapture)
        });
    }
}

#[test]
fn missing_file_and_directory_are_io_errors() {
    let dir = TempDir::new().unwrap();
    let err = open_err(capture::open(&dir.path().join("nope.pcap")));
    assert_kind(&err, 0, |k| matches!(k, CaptureErrorKind::Io(_)));
    assert!(err.to_string().contains("nope.pcap"), "{err}");
    let err = open_err(capture::open(dir.path()));
    assert_kind(&err, 0, |k| matches!(k, CaptureErrorKind::Io(_)));
}

#[test]
fn classic_impossible_captured_length_is_corrupt() {
    let mut c = Classic::new(false, false, 1);
    c.record(1, 0, b"ok", 2);
    let bad = c.record_with_caplen(2, 0, 0x7fff_ffff, b"", 0);
    c.out.extend_from_slice(&[0; 64]);
    let (pkts, res) = read_bytes(&c.out);
    assert_eq!(pkts.len(), 1);
    assert_kind(&res.unwrap_err(), bad, is_corrupt);

    // A length within the limit but past the end of the file is a truncation, found without
    // allocating what the length asks for.
    let mut c = Classic::new(false, false, 1);
    let bad = c.record_with_caplen(2, 0, 200 << 20, b"short", 0);
    let (pkts, res) = read_bytes(&c.out);
    assert!(pkts.is_empty());
    assert_kind(&res.unwrap_err(), bad, is_truncated);
}

#[test]
fn classic_records_across_buffer_refills_and_a_packet_larger_than_the_buffer() {
    let mut c = Classic::new(false, true, 1);
    let mut expected = Vec::new();
    for i in 0..4000u32 {
        // Lengths vary so records straddle the 1 MiB buffer boundary at every alignment.
        let len = if i == 1500 {
            3 << 20
        } else {
            (i as usize * 7) % 1500
        };
        let data: Vec<u8> = (0..len)
            .map(|j| u8::try_from((i as usize + j) & 0xff).unwrap())
            .collect();
        let offset = c.record(i, i, &data, u32::try_from(len).unwrap() + 4);
        expected.push(Pkt::new(
            u64::from(i) * SEC + u64::from(i),
            ETH,
            &data,
            u32::try_from(len).unwrap() + 4,
            offset,
        ));
    }
    let (pkts, res) = read_bytes(&c.out);
    let stats = res.unwrap();
    assert_eq!(pkts.len(), expected.len());
    for (got, want) in pkts.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    assert_eq!(stats.packets, 4000);
    assert_eq!(
        stats.bytes,
        expected.iter().map(|p| p.data.len() as u64).sum::<u64>()
    );
    assert_eq!(stats.file_bytes, c.out.len() as u64);
}

#[test]
fn break_stops_and_a_later_call_goes_on() {
    let mut c = Classic::new(false, false, 1);
    for i in 0..5u32 {
        c.record(i, 0, &[u8::try_from(i).unwrap(); 10], 10);
    }
    let dir = TempDir::new().unwrap();
    let path = write(&dir, "b.pcap", &c.out);
    let mut src = capture::open(&path).unwrap();
    let mut seen = Vec::new();
    let stats = src
        .for_each(&mut |p| {
            seen.push(p.ts.as_nanos() / SEC);
            if seen.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(seen, [0, 1]);
    assert_eq!(
        stats,
        SourceStats {
            packets: 2,
            bytes: 20,
            file_bytes: 24 + 2 * 26
        }
    );
    let stats = src
        .for_each(&mut |p| {
            seen.push(p.ts.as_nanos() / SEC);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    assert_eq!(
        stats,
        SourceStats {
            packets: 5,
            bytes: 50,
            file_bytes: c.out.len() as u64
        }
    );
}

// ---------------------------------------------------------------------------------------------------------
// pcapng

/// Two sections: a little-endian one with an Ethernet interface (default microseconds) and a Linux SLL one
/// (nanoseconds, offset +100 s) and blocks to skip; a big-endian one with an SLL interface in 2^-10 s and an
/// Ethernet one in milliseconds with offset -1 s.
fn two_sections() -> (Vec<u8>, Vec<Pkt>) {
    let mut ng = Ng::default();
    let mut want = Vec::new();
    ng.shb(false);
    ng.idb(1, 0, None, None);
    ng.idb(113, 65535, Some(9), Some(100));
    ng.block(
        4,
        &[1, 0, 8, 0, 10, 0, 0, 1, b'h', b'o', b's', b't', 0, 0, 0, 0],
    ); // NRB
    let o = ng.epb(0, 1_700_000_000_123_456, b"eth-1", 60);
    want.push(Pkt::new(1_700_000_000_123_456_000, ETH, b"eth-1", 60, o));
    let o = ng.epb(1, 1_600_000_000_987_654_321, b"sll-packet-1", 12);
    want.push(Pkt::new(
        1_600_000_100_987_654_321,
        SLL,
        b"sll-packet-1",
        12,
        o,
    ));
    ng.block(5, &[0; 12]); // ISB: interface 0, timestamp
    // SPB: interface 0, no timestamp (the previous packet's), captured length = original length (6),
    // not the padded 8 bytes of the block.
    let o = ng.spb(b"spb-01", 6);
    want.push(Pkt::new(1_600_000_100_987_654_321, ETH, b"spb-01", 6, o));
    ng.block(0x0000_0bad, &[0, 0, 0x7f, 0xff, 1, 2, 3, 4]); // custom block
    ng.block(0x1234_5678, &[9; 20]); // unknown block type
    let o = ng.epb_opts(
        0,
        5,
        b"opts",
        1500,
        &[(EPB_FLAGS, vec![1, 0, 0, 0]), (OPT_COMMENT, b"hi".to_vec())],
    );
    want.push(Pkt::new(5_000, ETH, b"opts", 1500, o));
    let o = ng.pb(1, 7, b"old", 3);
    want.push(Pkt::new(100 * SEC + 7, SLL, b"old", 3, o));

    ng.shb(true);
    ng.idb(113, 0, Some(0x80 | 10), None);
    ng.idb(1, 0, Some(3), Some(-1));
    let o = ng.epb(0, 1024 * 5 + 512, b"be-sll", 6);
    want.push(Pkt::new(5 * SEC + SEC / 2, SLL, b"be-sll", 6, o));
    let o = ng.epb(1, 2_500, b"be-eth", 6);
    want.push(Pkt::new(SEC + SEC / 2, ETH, b"be-eth", 6, o));
    // SPB in a section whose interface 0 has snaplen 0 (no limit) and orig_len above the data: the data
    // there (padding included) is what was captured.
    let o = ng.spb(b"12345678", 100);
    want.push(Pkt::new(SEC + SEC / 2, SLL, b"12345678", 100, o));
    (ng.out, want)
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_skipped_blocks() {
    let (bytes, want) = two_sections();
    let (pkts, res) = read_bytes(&bytes);
    let stats = res.unwrap();
    assert_eq!(pkts, want);
    assert_eq!(
        stats,
        SourceStats {
            packets: want.len() as u64,
            bytes: want.iter().map(|p| p.data.len() as u64).sum(),
            file_bytes: bytes.len() as u64
        }
    );
}

#[test]
fn pcapng_spb_is_cut_to_the_snap_length() {
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, 4, None, None);
    ng.epb(0, 3, b"ab", 2);
    let o = ng.spb(b"abcdefgh", 8);
    let (pkts, res) = read_bytes(&ng.out);
    res.unwrap();
    assert_eq!(pkts[1], Pkt::new(3_000, ETH, b"abcd", 8, o));
}

#[test]
fn pcapng_interfaces_reset_per_section() {
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, 0, None, None);
    ng.idb(113, 0, None, None);
    ng.epb(1, 1, b"a", 1);
    ng.shb(false);
    ng.idb(1, 0, None, None);
    ng.epb(0, 2, b"b", 1);
    let bad = ng.epb(1, 3, b"c", 1);
    ng.epb(0, 4, b"d", 1);
    let (pkts, res) = read_bytes(&ng.out);
    assert_eq!(
        pkts.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
        [b"a", b"b"]
    );
    let err = res.unwrap_err();
    assert_kind(&err, bad, is_corrupt);
    assert!(err.to_string().contains("interface 1"), "{err}");
}

#[test]
fn pcapng_packet_before_any_interface_is_corrupt() {
    let mut ng = Ng::default();
    ng.shb(false);
    let bad = ng.spb(b"x", 1);
    let (pkts, res) = read_bytes(&ng.out);
    assert!(pkts.is_empty());
    assert_kind(&res.unwrap_err(), bad, is_corrupt);
}

#[test]
fn pcapng_truncated_in_block_and_in_block_header() {
    let (bytes, want) = two_sections();
    let last = want.last().unwrap().offset;
    // Cut inside the last block's data.
    let (pkts, res) = read_bytes(&bytes[..bytes.len() - 5]);
    assert_eq!(pkts, want[..want.len() - 1]);
    assert_kind(&res.unwrap_err(), last, is_truncated);
    // Cut inside its 12 first bytes.
    let (pkts, res) = read_bytes(&bytes[..at(last) + 9]);
    assert_eq!(pkts, want[..want.len() - 1]);
    assert_kind(&res.unwrap_err(), last, is_truncated);
    // Cut inside the first section header.
    let (pkts, res) = read_bytes(&bytes[..20]);
    assert!(pkts.is_empty());
    assert_kind(&res.unwrap_err(), 0, is_truncated);
}

#[test]
fn pcapng_corrupt_block_lengths() {
    let (bytes, want) = two_sections();
    let third = at(want[2].offset); // the first SPB
    let set_len =
        |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());

    // Too short, not a multiple of 4, over the limit: Corrupt at the block, after the earlier packets.
    for len in [0, 8, 13, 30, 0x7fff_fff0] {
        let mut b = bytes.clone();
        set_len(&mut b, third + 4, len);
        let (pkts, res) = read_bytes(&b);
        assert_eq!(pkts, want[..2], "len {len}");
        assert_kind(&res.unwrap_err(), third as u64, is_corrupt);
    }
    // Trailer differs from the header.
    let mut b = bytes.clone();
    let spb_len = at(u64::from(u32::from_le_bytes(
        b[third + 4..third + 8].try_into().unwrap(),
    )));
    set_len(&mut b, third + spb_len - 4, 4);
    let (pkts, res) = read_bytes(&b);
    assert_eq!(pkts, want[..2]);
    assert_kind(&res.unwrap_err(), third as u64, is_corrupt);
    // EPB captured length beyond its block.
    let mut b = bytes.clone();
    let first = at(want[0].offset);
    set_len(&mut b, first + 20, 64);
    let (pkts, res) = read_bytes(&b);
    assert!(pkts.is_empty());
    assert_kind(&res.unwrap_err(), first as u64, is_corrupt);
    // A bad byte-order magic in the second section header.
    let mut b = bytes.clone();
    let shb2 = (0..b.len() - 12)
        .rev()
        .find(|&i| b[i..i + 4] == [0x0a, 0x0d, 0x0d, 0x0a])
        .unwrap();
    b[shb2 + 8] ^= 0xff;
    let (pkts, res) = read_bytes(&b);
    assert_eq!(pkts, want[..5]);
    assert_kind(&res.unwrap_err(), shb2 as u64, is_corrupt);
}

#[test]
fn pcapng_unsupported_resolution_and_version_are_corrupt() {
    let mut ng = Ng::default();
    ng.shb(false);
    let bad = ng.idb(1, 0, Some(20), None);
    let (_, res) = read_bytes(&ng.out);
    assert_kind(&res.unwrap_err(), bad, is_corrupt);

    let mut ng = Ng::default();
    ng.shb(false);
    ng.out[12] = 2; // major version 2
    let (_, res) = read_bytes(&ng.out);
    assert_kind(&res.unwrap_err(), 0, is_corrupt);

    // The finest resolutions that fit still work.
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, 0, Some(0x80 | 63), None);
    ng.idb(1, 0, Some(19), None);
    ng.epb(0, 1 << 63, b"x", 1);
    ng.epb(1, 10_000_000_000_000_000_000, b"y", 1);
    let (pkts, res) = read_bytes(&ng.out);
    res.unwrap();
    assert_eq!(pkts[0].ts, SEC);
    assert_eq!(pkts[1].ts, SEC);
}

#[test]
fn pcapng_block_larger_than_the_buffer() {
    let mut ng = Ng::default();
    ng.shb(false);
    ng.idb(1, 0, Some(9), None);
    let big: Vec<u8> = (0..(5 << 20) + 3)
        .map(|i: usize| u8::try_from(i % 251).unwrap())
        .collect();
    let o = ng.epb(0, 42, &big, u32::try_from(big.len()).unwrap());
    ng.epb(0, 43, b"after", 5);
    let (pkts, res) = read_bytes(&ng.out);
    res.unwrap();
    assert_eq!(pkts.len(), 2);
    assert_eq!(
        pkts[0],
        Pkt::new(42, ETH, &big, u32::try_from(big.len()).unwrap(), o)
    );
    assert_eq!(pkts[1].data, b"after");
}

// ---------------------------------------------------------------------------------------------------------
// Arbitrary bytes

/// Reads `bytes` and checks what came out is consistent, whatever the input.
fn check_any(bytes: &[u8]) {
    let (pkts, res) = read_bytes(bytes);
    let len = bytes.len() as u64;
    let mut last = None;
    for p in &pkts {
        assert!(p.offset + p.data.len() as u64 <= len);
        assert!(last < Some(p.offset), "offsets go forward");
        last = Some(p.offset);
    }
    match res {
        Ok(stats) => {
            assert_eq!(stats.packets, pkts.len() as u64);
            assert_eq!(stats.file_bytes, len);
        }
        Err(e) => {
            assert!(e.offset <= len);
            assert!(
                last.is_none_or(|l| l < e.offset),
                "error after the last packet"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_any(&bytes);
    }

    #[test]
    fn classic_header_then_arbitrary_bytes(
        be in any::<bool>(),
        nanos in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut c = Classic::new(be, nanos, 1);
        c.out.extend_from_slice(&body);
        check_any(&c.out);
    }

    #[test]
    fn pcapng_header_then_arbitrary_bytes(
        be in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut ng = Ng::default();
        ng.shb(be);
        ng.idb(1, 0, None, None);
        ng.out.extend_from_slice(&body);
        check_any(&ng.out);
    }

    #[test]
    fn mutated_pcapng_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut bytes, _) = two_sections();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() * 3 / 4));
        check_any(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------------------
// libpcap

#[cfg(feature = "libpcap")]
mod libpcap {
    use super::*;
    use callguard::capture::libpcap;

    /// An Ethernet + IPv4 frame carrying UDP (protocol 17) or TCP (6).
    fn frame(proto: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
        let l4_len = if proto == 17 { 8 } else { 20 };
        let total = u16::try_from(20 + l4_len + payload.len()).unwrap();
        // Version/IHL, DSCP, total length, id, flags/fragment, TTL, protocol, checksum (unchecked).
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        if proto == 17 {
            let ulen = u16::try_from(8 + payload.len()).unwrap();
            f.extend_from_slice(&[0x13, 0xc4, 0x13, 0xc4]);
            f.extend_from_slice(&ulen.to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        } else {
            f.extend_from_slice(&[
                0x13, 0xc4, 0x13, 0xc5, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0, 0, 0, 0,
            ]);
        }
        f.extend_from_slice(payload);
        f
    }

    fn classic_file(be: bool, nanos: bool) -> Vec<u8> {
        let mut c = Classic::new(be, nanos, 1);
        c.record(1_700_000_000, 1, &frame(17, b"INVITE sip:bob"), 56);
        c.record(1_700_000_001, 2, &frame(6, b"tcp"), 57);
        c.record(1_700_000_002, 3, &frame(17, b"BYE"), 45);
        c.out
    }

    #[test]
    fn same_packets_and_offsets_as_the_pure_rust_reader() {
        for (be, nanos) in [(false, false), (true, true)] {
            let bytes = classic_file(be, nanos);
            let dir = TempDir::new().unwrap();
            let path = write(&dir, "l.pcap", &bytes);
            let (want, res) = read_all(capture::open(&path).unwrap().as_mut());
            let want_stats = res.unwrap();
            let mut src = libpcap::open(&path, None).unwrap();
            assert_eq!(src.total_bytes(), Some(bytes.len() as u64));
            let (got, res) = read_all(src.as_mut());
            assert_eq!(got, want);
            assert_eq!(res.unwrap(), want_stats);
        }
    }

    #[test]
    fn filter_keeps_matching_packets() {
        let bytes = classic_file(false, true);
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "f.pcap", &bytes);
        let (all, _) = read_all(capture::open(&path).unwrap().as_mut());
        let mut src = libpcap::open(&path, Some("udp")).unwrap();
        let (got, res) = read_all(src.as_mut());
        let stats = res.unwrap();
        let want: Vec<Pkt> = [&all[0], &all[2]]
            .iter()
            .map(|p| Pkt {
                offset: 0,
                ..(*p).clone()
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(stats.packets, 2);
        assert_eq!(stats.file_bytes, bytes.len() as u64);
    }

    #[test]
    fn bad_filter_is_an_error_naming_it() {
        let bytes = classic_file(false, false);
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "bad.pcap", &bytes);
        let err = open_err(libpcap::open(&path, Some("udp and and port")));
        assert!(matches!(err.kind, CaptureErrorKind::Libpcap(_)));
        assert!(err.to_string().contains("udp and and port"), "{err}");
    }

    #[test]
    fn errors_name_the_file_and_keep_earlier_packets() {
        let bytes = classic_file(false, false);
        let dir = TempDir::new().unwrap();
        let path = write(&dir, "cut.pcap", &bytes[..bytes.len() - 4]);
        let mut src = libpcap::open(&path, None).unwrap();
        let (got, res) = read_all(src.as_mut());
        assert_eq!(got.len(), 2);
        let err = res.unwrap_err();
        assert_eq!(err.offset, got[1].offset + 16 + got[1].data.len() as u64);
        assert!(err.to_string().contains("cut.pcap"), "{err}");

        let err = open_err(libpcap::open(&dir.path().join("missing.pcap"), None));
        assert!(matches!(err.kind, CaptureErrorKind::Io(_)));
        let path = write(&dir, "junk", b"definitely not a capture file");
        let err = open_err(libpcap::open(&path, None));
        assert!(matches!(err.kind, CaptureErrorKind::Libpcap(_)), "{err}");
    }
}
