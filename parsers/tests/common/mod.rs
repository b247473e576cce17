//! A counting global allocator for the allocation-free tests: every test binary that declares `mod common;`
//! gets it. The zero-copy promise of the parsers is tested by counting allocations around a parse.
//!
//! The count is per thread: the test harness's own threads (the runner waiting on results, the output
//! capture) allocate whenever they like, and a process-wide counter once failed CI with 4 allocations that
//! were not the parser's. A `const`-initialised thread-local `Cell` has no destructor and needs no lazy
//! registration, so touching it inside the allocator never allocates or recurses.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    ALLOCS.with(|c| c.set(c.get() + 1));
}

/// Allocations (and reallocations) made so far by the calling thread.
pub(crate) fn allocs() -> u64 {
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

/// The counter itself works on the test's thread: without this, a broken counter would make every
/// allocation-free test pass.
#[test]
fn the_counter_sees_an_allocation_on_this_thread() {
    let before = allocs();
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocs() > before);
    drop(v);
}
