//! Live capture through AF_PACKET with a TPACKET_V3 ring (`callguard::capture::af_packet`).
//!
//! - `walk_block` on hand-built blocks: packets, timestamps, snap lengths, the empty block, every kind of
//!   corruption, and a proptest that random or mutated blocks never panic nor lend bytes from outside.
//! - Live tests, which need root and iproute2 (`ip`, `sysctl`): each builds its own network namespace with a
//!   veth pair and runs the capture inside it. Without the lab they print `skipped: ...` and pass, unless
//!   `CALLGUARD_REQUIRE_LAB` is set (CI sets it), in which case they fail.
//!
//! How a test gets into the namespace: the outer test (`live_*`) creates the namespace, then runs this same
//! test binary again under `ip netns exec NS <binary> --exact <inner test> --ignored`. The inner test
//! (`netns_*`, ignored, so it never runs by itself) does the capture and the sending, all inside the
//! namespace. This keeps the test file free of `unsafe` (no `setns`), confines the namespace to a child
//! process, so it cannot leak into the threads of the other tests, and `ip netns exec` also remounts
//! `/sys` for the namespace. The namespace is deleted by a guard's `Drop`, on failure too.
//!
//! Traffic never leaves the namespace: `cgt0` has 10.77.0.1/24 and sends UDP to 10.77.0.2, whose MAC is a
//! static neighbour entry pointing at a host that does not exist (02:00:00:00:00:99), so no ARP is sent;
//! `cgt1`, the capture end, has no address, like a SPAN port, and drops the frames after capture (they are
//! for another host). IPv6 is disabled on both ends, so nothing else is on the wire and the counts are exact.
// Marks the whole file as test code, so clippy.toml's allow-*-in-tests cover the helpers too.
#![cfg(test)]
#![cfg(target_os = "linux")]

use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use callguard::capture::RawPacket;
use callguard::capture::af_packet::{
    AfPacket, BLOCK_DESC_LEN, FanoutGroup, FanoutMode, KernelStats, PACKET_HDR_LEN, RingConfig,
    WalkError, walk_block,
};
use callguard_parsers::link::LinkType;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------------------
// Hand-built TPACKET_V3 blocks

/// One packet to put in a block.
#[derive(Debug, Clone)]
struct Spec {
    sec: u32,
    nsec: u32,
    /// `tp_len`, the length on the wire.
    len: u32,
    /// The captured bytes (`tp_snaplen` is their length).
    data: Vec<u8>,
}

impl Spec {
    fn new(sec: u32, nsec: u32, data: &[u8]) -> Self {
        Self {
            sec,
            nsec,
            len: u32::try_from(data.len()).unwrap(),
            data: data.to_vec(),
        }
    }
}

/// `tp_mac` as the kernel sets it for SOCK_RAW on Ethernet: TPACKET_ALIGN(68 + 16) - 14.
const MAC: usize = 82;

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}

/// A block of `size` bytes laid out as the kernel does: descriptor, then each packet's `tpacket3_hdr` with
/// the frame at `tp_mac`, `tp_next_offset` = tp_mac + snaplen rounded up to 8, and 0 for the last one.
/// Returns the block and the offset of each packet header.
fn build_block(pkts: &[Spec], size: usize) -> (Vec<u8>, Vec<usize>) {
    let mut b = vec![0u8; size];
    let mut off = BLOCK_DESC_LEN;
    let mut offsets = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        offsets.push(off);
        let total = (MAC + p.data.len()).next_multiple_of(8);
        let next = if i + 1 == pkts.len() { 0 } else { total };
        put_u32(&mut b, off, u32::try_from(next).unwrap());
        put_u32(&mut b, off + 4, p.sec);
        put_u32(&mut b, off + 8, p.nsec);
        put_u32(&mut b, off + 12, u32::try_from(p.data.len()).unwrap());
        put_u32(&mut b, off + 16, p.len);
        put_u32(&mut b, off + 20, libc::TP_STATUS_USER);
        put_u16(&mut b, off + 24, u16::try_from(MAC).unwrap());
        put_u16(&mut b, off + 26, u16::try_from(MAC + 14).unwrap());
        b[off + MAC..off + MAC + p.data.len()].copy_from_slice(&p.data);
        off += total;
    }
    put_u32(&mut b, 0, 3); // version: not checked
    put_u32(&mut b, 8, libc::TP_STATUS_USER);
    put_u32(&mut b, 12, u32::try_from(pkts.len()).unwrap());
    put_u32(&mut b, 16, u32::try_from(BLOCK_DESC_LEN).unwrap());
    put_u32(&mut b, 20, u32::try_from(off).unwrap());
    (b, offsets)
}

/// An owned copy of a delivered packet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    ts: u64,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
    file_offset: u64,
}

fn walk(block: &[u8]) -> (Result<usize, WalkError>, Vec<Got>) {
    let mut got = Vec::new();
    let r = walk_block(block, LinkType::ETHERNET, &mut |p: &RawPacket<'_>| {
        got.push(Got {
            ts: p.ts.as_nanos(),
            link: p.link,
            data: p.data.to_vec(),
            orig_len: p.orig_len,
            file_offset: p.file_offset,
        });
    });
    (r, got)
}

fn three() -> Vec<Spec> {
    vec![
        Spec::new(1_700_000_000, 1, &[0xaa; 60]),
        Spec::new(1_700_000_000, 999_999_999, &(0..=255).collect::<Vec<u8>>()),
        Spec::new(1_700_000_001, 500, &[0x55; 1514]),
    ]
}

// ---------------------------------------------------------------------------------------------------------
// walk_block

#[test]
fn walks_three_packets_with_every_field() {
    let (block, _) = build_block(&three(), 8192);
    let (r, got) = walk(&block);
    assert_eq!(r.unwrap(), 3);
    let want: Vec<Got> = three()
        .into_iter()
        .map(|s| Got {
            ts: u64::from(s.sec) * 1_000_000_000 + u64::from(s.nsec),
            link: LinkType::ETHERNET,
            orig_len: s.len,
            data: s.data,
            file_offset: 0,
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn link_type_is_passed_through() {
    let (block, _) = build_block(&three()[..1], 4096);
    let mut links = Vec::new();
    walk_block(&block, LinkType::RAW, &mut |p| links.push(p.link)).unwrap();
    assert_eq!(links, [LinkType::RAW]);
}

#[test]
fn snaplen_shorter_than_len() {
    let mut s = Spec::new(10, 20, &[7; 96]);
    s.len = 9000;
    let (block, _) = build_block(&[s], 4096);
    let (r, got) = walk(&block);
    assert_eq!(r.unwrap(), 1);
    assert_eq!(got[0].orig_len, 9000);
    assert_eq!(got[0].data, vec![7; 96]);
    assert_eq!(got[0].ts, 10_000_000_020);
}

#[test]
fn zero_packet_block() {
    let (block, _) = build_block(&[], 4096);
    let (r, got) = walk(&block);
    assert_eq!(r.unwrap(), 0);
    assert!(got.is_empty());
    // Offsets of an empty block are not looked at, blk_len still is.
    let mut b = block.clone();
    put_u32(&mut b, 16, u32::MAX);
    assert_eq!(walk(&b).0.unwrap(), 0);
}

#[test]
fn exact_fit_block_walks() {
    // blk_len equal to the buffer length, and the last frame ending exactly there.
    let (block, offsets) = build_block(&three(), 8192);
    let used = get_u32(&block, 20) as usize;
    let end_of_data = offsets[2] + MAC + 1514;
    assert_eq!(used, end_of_data.next_multiple_of(8));
    let mut b = block[..end_of_data].to_vec();
    put_u32(&mut b, 20, u32::try_from(end_of_data).unwrap());
    assert_eq!(walk(&b).0.unwrap(), 3);
}

#[test]
fn short_and_oversized_blocks() {
    assert_eq!(walk(&[]).0, Err(WalkError::ShortBlock { len: 0 }));
    assert_eq!(walk(&[0; 47]).0, Err(WalkError::ShortBlock { len: 47 }));
    let (mut b, _) = build_block(&three(), 8192);
    put_u32(&mut b, 20, 8193);
    assert_eq!(
        walk(&b).0,
        Err(WalkError::BadBlockLength {
            blk_len: 8193,
            block_len: 8192
        })
    );
    put_u32(&mut b, 20, 47);
    assert!(matches!(
        walk(&b).0,
        Err(WalkError::BadBlockLength { blk_len: 47, .. })
    ));
}

#[test]
fn first_offset_beyond_blk_len() {
    let (mut b, _) = build_block(&three(), 8192);
    let used = get_u32(&b, 20);
    put_u32(&mut b, 16, used);
    assert_eq!(
        walk(&b).0,
        Err(WalkError::BadFirstOffset {
            offset: used,
            blk_len: used
        })
    );
    // Pointing into the descriptor is as bad.
    put_u32(&mut b, 16, 8);
    assert!(matches!(
        walk(&b).0,
        Err(WalkError::BadFirstOffset { offset: 8, .. })
    ));
}

#[test]
fn next_offset_looping_back_or_past_the_end() {
    let (block, offsets) = build_block(&three(), 8192);
    // 0 on a packet that is not the last: the walk would read the same header forever.
    let mut b = block.clone();
    put_u32(&mut b, offsets[0], 0);
    let (r, got) = walk(&b);
    assert_eq!(r, Err(WalkError::BadNextOffset { index: 0, next: 0 }));
    assert_eq!(got.len(), 1, "the packet before the fault is delivered");
    // Shorter than the packet's own data: the next header would overlap it.
    let mut b = block.clone();
    put_u32(&mut b, offsets[1], 48);
    assert_eq!(
        walk(&b).0,
        Err(WalkError::BadNextOffset { index: 1, next: 48 })
    );
    // Past blk_len, and so large the addition would overflow on 32 bits.
    for next in [8000, u32::MAX] {
        let mut b = block.clone();
        put_u32(&mut b, offsets[1], next);
        assert_eq!(walk(&b).0, Err(WalkError::BadNextOffset { index: 1, next }));
    }
}

#[test]
fn data_past_the_end_or_inside_the_header() {
    let (block, offsets) = build_block(&three(), 8192);
    let used = get_u32(&block, 20) as usize;
    // tp_snaplen (and tp_len) grown past blk_len.
    let mut b = block.clone();
    put_u32(&mut b, offsets[2] + 12, 4000);
    put_u32(&mut b, offsets[2] + 16, 4000);
    assert_eq!(
        walk(&b).0,
        Err(WalkError::DataOutOfBounds {
            index: 2,
            start: offsets[2] + MAC,
            end: offsets[2] + MAC + 4000,
            blk_len: u32::try_from(used).unwrap()
        })
    );
    // tp_mac moved past blk_len.
    let mut b = block.clone();
    put_u16(&mut b, offsets[2] + 24, u16::MAX);
    assert!(matches!(
        walk(&b).0,
        Err(WalkError::DataOutOfBounds { index: 2, .. })
    ));
    // tp_mac inside the packet's own header.
    let mut b = block.clone();
    put_u16(&mut b, offsets[0] + 24, 40);
    assert!(matches!(
        walk(&b).0,
        Err(WalkError::DataOutOfBounds { index: 0, .. })
    ));
}

#[test]
fn snaplen_above_len_and_bad_nanos() {
    let (block, offsets) = build_block(&three(), 8192);
    let mut b = block.clone();
    put_u32(&mut b, offsets[1] + 16, 10);
    assert_eq!(
        walk(&b).0,
        Err(WalkError::SnaplenAboveLen {
            index: 1,
            snaplen: 256,
            len: 10
        })
    );
    let mut b = block.clone();
    put_u32(&mut b, offsets[2] + 8, 1_000_000_000);
    assert_eq!(
        walk(&b).0,
        Err(WalkError::BadNanos {
            index: 2,
            nsec: 1_000_000_000
        })
    );
}

#[test]
fn num_pkts_larger_than_what_fits() {
    let (block, offsets) = build_block(&three(), 8192);
    // The last packet's tp_next_offset is 0, as the kernel writes it.
    let mut b = block.clone();
    put_u32(&mut b, 12, 4);
    let (r, got) = walk(&b);
    assert_eq!(r, Err(WalkError::BadNextOffset { index: 2, next: 0 }));
    assert_eq!(got.len(), 3);
    // A next offset that stays inside blk_len, but leaves no room for a whole header there.
    let mut b = block.clone();
    let used = get_u32(&b, 20) as usize;
    put_u32(&mut b, 12, u32::MAX);
    put_u32(&mut b, 20, u32::try_from(used + 16).unwrap());
    put_u32(
        &mut b,
        offsets[2],
        u32::try_from(used - offsets[2]).unwrap(),
    );
    assert_eq!(
        walk(&b).0,
        Err(WalkError::HeaderOutOfBounds {
            index: 3,
            offset: used,
            blk_len: u32::try_from(used + 16).unwrap()
        })
    );
}

#[test]
fn errors_read_well() {
    let e = WalkError::BadNextOffset { index: 1, next: 0 };
    assert_eq!(
        e.to_string(),
        "packet 1: tp_next_offset 0 does not lead past its data to a header within blk_len"
    );
}

/// Checks the walk on arbitrary bytes: no panic, each data slice inside the block, the count matches.
fn check_walk(block: &[u8]) {
    let range = block.as_ptr_range();
    let mut n = 0usize;
    let r = walk_block(block, LinkType::ETHERNET, &mut |p| {
        let d = p.data.as_ptr_range();
        assert!(
            range.start <= d.start && d.end <= range.end,
            "data outside the block"
        );
        assert!(p.data.len() as u64 <= u64::from(p.orig_len));
        n += 1;
    });
    if let Ok(count) = r {
        assert_eq!(count, n);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_walk(&bytes);
    }

    #[test]
    fn random_headers_never_panic(
        num_pkts in 0u32..64,
        first in 0u32..600,
        blk_len in 0u32..5000,
        rest in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        // A plausible descriptor in front of random packet headers and data.
        let mut b = vec![0u8; BLOCK_DESC_LEN];
        b.extend_from_slice(&rest);
        put_u32(&mut b, 12, num_pkts);
        put_u32(&mut b, 16, first);
        put_u32(&mut b, 20, blk_len);
        check_walk(&b);
    }

    #[test]
    fn mutated_blocks_never_panic(
        edits in proptest::collection::vec((0usize..2048, any::<u32>()), 1..8),
        cut in 0usize..2200,
    ) {
        // Header fields (4-aligned words near the headers) overwritten with random values, and the block
        // cut short anywhere.
        let (mut b, offsets) = build_block(&three()[..2], 2048);
        let mut words: Vec<usize> = (0..BLOCK_DESC_LEN).step_by(4).collect();
        for &o in &offsets {
            words.extend((o..o + PACKET_HDR_LEN).step_by(4));
        }
        for (at, v) in edits {
            let off = words[at % words.len()];
            put_u32(&mut b, off, v);
        }
        check_walk(&b);
        check_walk(&b[..cut.min(b.len())]);
    }
}

// ---------------------------------------------------------------------------------------------------------
// RingConfig checks (no privileges needed: they fail before the socket is made)

#[test]
fn bad_ring_configs_are_invalid_input() {
    let bad = [
        RingConfig {
            block_size: 3 * 4096,
            ..RingConfig::default()
        },
        RingConfig {
            block_size: 2048,
            ..RingConfig::default()
        },
        RingConfig {
            block_count: 0,
            ..RingConfig::default()
        },
        RingConfig {
            frame_size: 2040,
            ..RingConfig::default()
        },
        RingConfig {
            frame_size: 32,
            ..RingConfig::default()
        },
        RingConfig {
            frame_size: 2 << 20,
            ..RingConfig::default()
        },
    ];
    for cfg in bad {
        let e = AfPacket::open("cgt-none", &cfg, None).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{cfg:?}: {e}");
        assert!(e.to_string().contains("cgt-none"), "{e}");
    }
    let d = RingConfig::default();
    assert_eq!(
        (
            d.block_size,
            d.block_count,
            d.frame_size,
            d.block_timeout_ms,
            d.promiscuous
        ),
        (1 << 20, 64, 2048, 100, true)
    );
}

// ---------------------------------------------------------------------------------------------------------
// The lab: skip rule, namespace guard, re-exec into the namespace

/// Set by CI: a live test that cannot run fails instead of skipping.
const REQUIRE_LAB: &str = "CALLGUARD_REQUIRE_LAB";
/// Set by the outer test for the re-executed inner test: the namespace it runs in.
const CHILD_NETNS: &str = "CALLGUARD_TEST_NETNS";

/// The effective uid, from /proc/self/status (`Uid:` real, effective, saved, fs), which keeps `unsafe`
/// (`libc::geteuid`) out of the tests.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn command_works(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the live tests need and this machine lacks, if anything.
fn lab_missing() -> Option<String> {
    if cfg!(miri) {
        // Miri runs the walk tests; it can neither spawn processes nor open sockets.
        return Some("a real kernel (running under Miri)".to_owned());
    }
    let mut missing = Vec::new();
    if effective_uid() != Some(0) {
        missing.push("root (effective uid 0)");
    }
    if !command_works("ip", "-V") {
        missing.push("the `ip` command (iproute2)");
    }
    if !command_works("sysctl", "-V") {
        missing.push("the `sysctl` command (procps)");
    }
    (!missing.is_empty()).then(|| missing.join(", "))
}

/// True if the lab is here. Otherwise prints `skipped: ...` and returns false, or panics with that message
/// when `CALLGUARD_REQUIRE_LAB` is set, so CI can never pass by skipping.
fn lab_available(test: &str) -> bool {
    let Some(missing) = lab_missing() else {
        return true;
    };
    let msg = format!("skipped: {test} needs {missing}");
    if std::env::var_os(REQUIRE_LAB).is_some() {
        panic!("{msg} ({REQUIRE_LAB} is set)");
    }
    println!("{msg}");
    false
}

fn run(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// MAC of the capture end.
const CAP_MAC: &str = "02:00:00:00:00:02";
/// MAC the sender's traffic is addressed to: a host that is not there (the capture end is a SPAN port).
const DST_MAC: &str = "02:00:00:00:00:99";
const SRC_IP: &str = "10.77.0.1";
const DST_IP: &str = "10.77.0.2";
const DST_PORT: u16 = 5060;
/// The sending end and the capture end.
const SEND_IF: &str = "cgt0";
const CAP_IF: &str = "cgt1";

/// A network namespace with the veth pair, deleted on drop (on failure too).
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Self {
        let name = format!("cgtest-{tag}-{}", std::process::id());
        // Leftovers of a killed run of the same pid are unlikely, but harmless to remove.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        let ns = Self { name };
        let n = ns.name.as_str();
        // IPv6 off before the links exist (default) and on each end, so no neighbour discovery frames.
        ns.sysctl(&[
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        run(&[
            "ip",
            "-n",
            n,
            "link",
            "add",
            SEND_IF,
            "address",
            "02:00:00:00:00:01",
            "type",
            "veth",
            "peer",
            "name",
            CAP_IF,
            "address",
            CAP_MAC,
        ]);
        ns.sysctl(&[
            &format!("net.ipv6.conf.{SEND_IF}.disable_ipv6=1"),
            &format!("net.ipv6.conf.{CAP_IF}.disable_ipv6=1"),
        ]);
        run(&["ip", "-n", n, "addr", "add", "10.77.0.1/24", "dev", SEND_IF]);
        for dev in ["lo", SEND_IF, CAP_IF] {
            run(&["ip", "-n", n, "link", "set", dev, "up"]);
        }
        // A permanent neighbour entry: no ARP on the wire, and the frames go to a host that is not there.
        run(&[
            "ip",
            "-n",
            n,
            "neigh",
            "replace",
            DST_IP,
            "lladdr",
            DST_MAC,
            "dev",
            SEND_IF,
            "nud",
            "permanent",
        ]);
        ns
    }

    fn sysctl(&self, settings: &[&str]) {
        let mut args = vec!["ip", "netns", "exec", &self.name, "sysctl", "-q", "-w"];
        args.extend_from_slice(settings);
        run(&args);
    }

    /// Runs the ignored test `inner` of this binary inside the namespace and fails if it does.
    fn run_test(&self, inner: &str) {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .arg(exe)
            .args([
                "--exact",
                inner,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_NETNS, &self.name)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("--- {inner} in netns {}:\n{stdout}{stderr}", self.name);
        assert!(out.status.success(), "{inner} failed in the namespace");
        // A filter that matched nothing would pass with 0 tests run.
        assert!(
            stdout.contains("1 passed"),
            "{inner} did not run in the namespace"
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// True when running as the re-executed inner test, inside the namespace; otherwise says why it does nothing.
fn in_child_netns(test: &str) -> bool {
    if std::env::var_os(CHILD_NETNS).is_some() {
        return true;
    }
    println!("skipped: {test} runs only inside the namespace made by its live_* test");
    false
}

// ---------------------------------------------------------------------------------------------------------
// Traffic and what the capture saw

/// A small ring for the tests: 16 blocks of 128 KiB, 20 ms block timeout.
fn test_ring() -> RingConfig {
    RingConfig {
        block_size: 128 << 10,
        block_count: 16,
        frame_size: 2048,
        block_timeout_ms: 20,
        promiscuous: true,
    }
}

const MAGIC: &[u8; 4] = b"CGTP";

/// Sends `per_flow` datagrams on each of `flows` flows (one UDP socket, so one source port, per flow),
/// interleaved. The payload is MAGIC, the flow (u16) and the sequence number (u32), padded to a length
/// that varies with the sequence number. Returns each flow's source port.
fn send_flows(flows: u16, per_flow: u32) -> Vec<u16> {
    let socks: Vec<UdpSocket> = (0..flows)
        .map(|_| UdpSocket::bind((SRC_IP, 0)).unwrap())
        .collect();
    let ports = socks
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    for seq in 0..per_flow {
        for (flow, s) in (0u16..).zip(&socks) {
            let mut payload = Vec::from(*MAGIC);
            payload.extend_from_slice(&flow.to_be_bytes());
            payload.extend_from_slice(&seq.to_be_bytes());
            payload.resize(20 + (seq as usize % 200), 0x5a);
            s.send_to(&payload, (DST_IP, DST_PORT)).unwrap();
        }
    }
    ports
}

/// Our datagram, decoded from an Ethernet frame: (flow, seq, source port); `None` for any other frame.
fn ours(frame: &[u8]) -> Option<(u16, u32, u16)> {
    if frame.get(12..14)? != [0x08, 0x00] || *frame.get(23)? != 17 {
        return None;
    }
    let udp = 14 + usize::from(frame.get(14)? & 0x0f) * 4;
    let sport = u16::from_be_bytes(frame.get(udp..udp + 2)?.try_into().ok()?);
    let dport = u16::from_be_bytes(frame.get(udp + 2..udp + 4)?.try_into().ok()?);
    let payload = frame.get(udp + 8..)?;
    if dport != DST_PORT || payload.get(..4)? != MAGIC {
        return None;
    }
    let flow = u16::from_be_bytes(payload.get(4..6)?.try_into().ok()?);
    let seq = u32::from_be_bytes(payload.get(6..10)?.try_into().ok()?);
    Some((flow, seq, sport))
}

/// What one socket captured.
#[derive(Debug, Default)]
struct Seen {
    /// (flow, seq) of our datagrams, in capture order.
    ours: Vec<(u16, u32)>,
    /// Frames that were not ours.
    other: usize,
    /// Every timestamp, nanoseconds since the epoch, in capture order.
    ts: Vec<u64>,
}

impl Seen {
    fn take(&mut self, p: &RawPacket<'_>) {
        assert_eq!(p.link, LinkType::ETHERNET);
        assert_eq!(p.file_offset, 0);
        self.ts.push(p.ts.as_nanos());
        match ours(p.data) {
            Some((flow, seq, _)) => {
                // Nothing is cut: the whole frame is captured.
                assert_eq!(p.data.len() as u64, u64::from(p.orig_len));
                assert_eq!(p.data.len(), 14 + 20 + 8 + 20 + (seq as usize % 200));
                self.ours.push((flow, seq));
            }
            None => self.other += 1,
        }
    }

    fn total(&self) -> usize {
        self.ours.len() + self.other
    }
}

/// Polls every capture until `want` of our datagrams have been seen in all, then once more to catch
/// anything extra; fails after 10 s.
fn drain(caps: &mut [AfPacket], seen: &mut [Seen], want: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for (cap, s) in caps.iter_mut().zip(seen.iter_mut()) {
            cap.poll(Duration::from_millis(50), &mut |p| s.take(p))
                .unwrap();
        }
        let got: usize = seen.iter().map(|s| s.ours.len()).sum();
        if got >= want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {got} of {want} datagrams captured"
        );
    }
    // Anything late (there should be nothing): one more block timeout and more.
    for (cap, s) in caps.iter_mut().zip(seen.iter_mut()) {
        cap.poll(Duration::from_millis(100), &mut |p| s.take(p))
            .unwrap();
    }
}

fn epoch_nanos() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------------------
// Live tests

#[test]
fn live_capture_counts_every_packet() {
    if !lab_available("live_capture_counts_every_packet") {
        return;
    }
    Netns::new("cap").run_test("netns_capture_counts_every_packet");
}

#[test]
#[ignore = "runs inside a network namespace, started by live_capture_counts_every_packet"]
fn netns_capture_counts_every_packet() {
    if !in_child_netns("netns_capture_counts_every_packet") {
        return;
    }
    // Errors name the interface and the step.
    let e = AfPacket::open("cgt-nope", &test_ring(), None).unwrap_err();
    assert!(
        e.to_string().contains("cgt-nope") && e.to_string().contains("if_nametoindex"),
        "{e}"
    );
    // Loopback frames carry an Ethernet header. The default ring (64 MiB) opens too.
    let lo = AfPacket::open("lo", &RingConfig::default(), None).unwrap();
    assert_eq!(lo.link_type(), LinkType::ETHERNET);
    drop(lo);

    let mut cap = AfPacket::open(CAP_IF, &test_ring(), None).unwrap();
    assert_eq!(cap.iface(), CAP_IF);
    assert_eq!(cap.link_type(), LinkType::ETHERNET);
    assert!(cap.as_raw_fd() >= 0);
    println!("{cap:?}");

    // Nothing on the wire yet: the poll times out on time with nothing.
    let t = Instant::now();
    let n = cap
        .poll(Duration::from_millis(150), &mut |p| {
            panic!("unexpected frame {p:?}")
        })
        .unwrap();
    let waited = t.elapsed();
    assert_eq!(n, 0);
    assert!(
        waited >= Duration::from_millis(140) && waited < Duration::from_millis(1000),
        "poll(150 ms) took {waited:?}"
    );
    let t = Instant::now();
    assert_eq!(cap.poll(Duration::ZERO, &mut |_| ()).unwrap(), 0);
    assert!(t.elapsed() < Duration::from_millis(50));

    const N: u32 = 1000;
    let before = epoch_nanos();
    send_flows(1, N);
    let after_send = epoch_nanos();
    let mut seen = [Seen::default()];
    drain(std::slice::from_mut(&mut cap), &mut seen, N as usize);
    let seen = &seen[0];

    let want: Vec<(u16, u32)> = (0..N).map(|seq| (0, seq)).collect();
    assert_eq!(seen.ours, want, "every datagram once, in order");
    assert_eq!(seen.other, 0, "nothing else on the wire");
    // Sane timestamps: between the first send and the end of the sending, never going back.
    assert!(seen.ts.iter().all(|&t| t >= before && t <= after_send));
    assert!(seen.ts.windows(2).all(|w| w[0] <= w[1]));

    let stats = cap.stats().unwrap();
    println!("captured {} frames, kernel stats {stats:?}", seen.total());
    assert_eq!(
        stats,
        KernelStats {
            packets: u64::from(N),
            drops: 0,
            freezes: 0
        }
    );
    // Cumulative: the kernel reset its counters, ours did not.
    assert_eq!(cap.stats().unwrap(), stats);
}

#[test]
fn live_fanout_splits_flows() {
    if !lab_available("live_fanout_splits_flows") {
        return;
    }
    Netns::new("fan").run_test("netns_fanout_splits_flows");
}

#[test]
#[ignore = "runs inside a network namespace, started by live_fanout_splits_flows"]
fn netns_fanout_splits_flows() {
    if !in_child_netns("netns_fanout_splits_flows") {
        return;
    }
    let group = FanoutGroup {
        id: 0x4347,
        mode: FanoutMode::Hash,
    };
    let mut caps = [
        AfPacket::open(CAP_IF, &test_ring(), Some(group)).unwrap(),
        AfPacket::open(CAP_IF, &test_ring(), Some(group)).unwrap(),
    ];
    const FLOWS: u16 = 32;
    const PER_FLOW: u32 = 50;
    let total = usize::from(FLOWS) * PER_FLOW as usize;
    send_flows(FLOWS, PER_FLOW);
    let mut seen = [Seen::default(), Seen::default()];
    drain(&mut caps, &mut seen, total);

    // Every datagram exactly once over the two sockets.
    let mut all: Vec<(u16, u32)> = seen.iter().flat_map(|s| s.ours.clone()).collect();
    all.sort_unstable();
    let want: Vec<(u16, u32)> = (0..FLOWS)
        .flat_map(|f| (0..PER_FLOW).map(move |s| (f, s)))
        .collect();
    assert_eq!(all, want);
    // Each flow on exactly one socket, in order there.
    let mut owner: BTreeMap<u16, usize> = BTreeMap::new();
    for (i, s) in seen.iter().enumerate() {
        let flows: BTreeSet<u16> = s.ours.iter().map(|&(f, _)| f).collect();
        for f in flows {
            assert_eq!(owner.insert(f, i), None, "flow {f} on both sockets");
            let seqs: Vec<u32> = s
                .ours
                .iter()
                .filter(|&&(g, _)| g == f)
                .map(|&(_, q)| q)
                .collect();
            assert_eq!(seqs, (0..PER_FLOW).collect::<Vec<_>>());
        }
    }
    // The split: both sockets have flows (all 32 on one socket has probability 2^-31).
    let split = [seen[0].ours.len(), seen[1].ours.len()];
    println!("fanout split {split:?} of {total}");
    assert!(split.iter().all(|&n| n > 0), "no split: {split:?}");
    for (cap, s) in caps.iter_mut().zip(&seen) {
        assert_eq!(s.other, 0);
        let st = cap.stats().unwrap();
        println!("{}: {} frames, {st:?}", cap.iface(), s.total());
        assert_eq!(st.packets, s.total() as u64);
        assert_eq!(st.drops, 0);
    }
}
