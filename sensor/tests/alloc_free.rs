//! The hot path allocates nothing per packet: once a worker has seen a flow, decoding its UDP datagrams and its
//! in-order TCP segments costs zero heap allocations. A counting global allocator proves it.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.
#![expect(
    unsafe_code,
    reason = "a global allocator is the only way to count allocations"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;

use callguard::worker::Worker;
use callguard_parsers::link::LinkType;
use callguard_rules::time::PacketTime;

struct Counting;

// Per thread: the test harness's own threads allocate whenever they like (a process-wide count once failed CI
// in the parsers' twin of this test). A `const` thread-local `Cell` has no destructor and never allocates.
thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    ALLOCS.with(|c| c.set(c.get() + 1));
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_counter_sees_an_allocation_on_this_thread() {
    let before = allocs();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocs() > before);
    drop(v);
}

#[test]
fn decoding_known_flows_allocates_nothing() {
    let ma = [2, 0, 0, 0, 0, 1];
    let mb = [2, 0, 0, 0, 0, 2];
    let a: SocketAddr = "10.0.0.11:20000".parse().unwrap();
    let b: SocketAddr = "10.0.0.1:30000".parse().unwrap();
    let c: SocketAddr = "10.0.0.11:41000".parse().unwrap();
    let s: SocketAddr = "10.0.0.1:5060".parse().unwrap();
    let rtp = callguard_gen::udp_frame(ma, mb, a, b, &[0x80; 172]);
    let syn = callguard_gen::tcp_frame(ma, mb, c, s, 100, 0, 0x02, b"");
    let synack = callguard_gen::tcp_frame(mb, ma, s, c, 500, 101, 0x12, b"");
    let ack = callguard_gen::tcp_frame(ma, mb, c, s, 101, 501, 0x10, b"");
    let segs: Vec<Vec<u8>> = (0..2000u32)
        .map(|i| callguard_gen::tcp_frame(ma, mb, c, s, 101 + i * 100, 501, 0x18, &[b'x'; 100]))
        .collect();

    let mut w = Worker::new();
    let mut events = Vec::with_capacity(64);
    let t = |i: u64| PacketTime::from_nanos(1_768_471_200_000_000_000 + i * 1000);
    let mut seq = 0;
    for f in [&rtp, &syn, &synack, &ack] {
        w.packet(seq, t(seq), LinkType::ETHERNET, f, &mut events);
        seq += 1;
    }
    // Warm up whatever grows once.
    for f in segs.iter().take(10) {
        w.packet(seq, t(seq), LinkType::ETHERNET, f, &mut events);
        seq += 1;
    }
    events.clear();

    let before = allocs();
    for i in 0..2000 {
        w.packet(seq, t(seq), LinkType::ETHERNET, &rtp, &mut events);
        seq += 1;
        if let Some(f) = segs.get(10 + i) {
            w.packet(seq, t(seq), LinkType::ETHERNET, f, &mut events);
            seq += 1;
        }
    }
    let after = allocs();
    assert_eq!(after - before, 0, "allocations on the hot path");
    assert!(w.counters().stream_bytes >= 199_000);
}
