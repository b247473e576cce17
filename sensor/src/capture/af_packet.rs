//! Live capture from a Linux interface through an `AF_PACKET` socket with a `TPACKET_V3` memory-mapped
//! receive ring (see the kernel's `Documentation/networking/packet_mmap.rst`).
//!
//! The kernel writes packets straight into a ring of blocks shared with this process; a block holds many
//! packets and is handed over whole. A block belongs to the kernel while its `block_status` word is
//! `TP_STATUS_KERNEL` and to user space once the kernel sets `TP_STATUS_USER`; user space walks it and gives
//! it back by storing `TP_STATUS_KERNEL`. Nothing is copied and no syscall is made per packet: [`AfPacket::poll`]
//! sleeps in `ppoll` only when no block is ready.
//!
//! The module is split in two:
//! - [`walk_block`] decodes one block from a plain `&[u8]`. It is safe code with no syscalls, bounds-checks
//!   every offset and length against the block, and turns a corrupt block into a [`WalkError`]; it can be
//!   tested on hand-built buffers, under Miri too.
//! - [`AfPacket`] owns the socket and the mapping. It holds the capture's `unsafe` code (the project's only
//!   other is [`super::privileges`], for `--user`): the syscalls, the mapping, and the `&[u8]` view of a
//!   block owned by user space. Every `unsafe` block says why it is sound in a `SAFETY:` comment.
//!
//! Several sockets on one interface can share the traffic with [`FanoutGroup`] (`PACKET_FANOUT`), one socket
//! per worker thread, each flow staying on one socket.
#![expect(
    unsafe_code,
    reason = "AF_PACKET needs syscalls, an mmap shared with the kernel, and a slice view of ring blocks; \
              STYLE.md 3.10 allows unsafe in this file only"
)]

use std::ffi::CString;
use std::fmt;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use callguard_parsers::link::LinkType;
use callguard_rules::time::PacketTime;

use super::RawPacket;

/// Size of `struct tpacket_block_desc`: `version`, `offset_to_priv`, then `struct tpacket_hdr_v1` (40 bytes,
/// 8-aligned). The first packet can start no earlier.
pub const BLOCK_DESC_LEN: usize = 48;

/// Size of `struct tpacket3_hdr`, the header in front of every packet of a block.
pub const PACKET_HDR_LEN: usize = 48;

/// Byte offset of `hdr.bh1.block_status` in a block.
const BLOCK_STATUS_OFFSET: usize = 8;

/// `ARPHRD_RAWIP` (`include/uapi/linux/if_arp.h`): raw IP without a link header (some cellular modems); `libc`
/// does not export it.
const ARPHRD_RAWIP: u16 = 519;

/// The size of the receive ring. The ring takes `block_size * block_count` bytes of locked kernel memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingConfig {
    /// Size of one block in bytes: a power of two and a multiple of the page size. Default 1 MiB. A packet
    /// (with its 48-byte header and alignment) must fit in one block, so this also bounds the snap length.
    pub block_size: usize,
    /// Number of blocks in the ring. Default 64 (64 MiB with the default block size).
    pub block_count: usize,
    /// The `tp_frame_size` hint: a multiple of 16, at least the 68-byte `TPACKET3_HDRLEN`, at most
    /// `block_size`. `TPACKET_V3` packs packets of any size into blocks, so this only sizes the kernel's
    /// bookkeeping. Default 2048.
    pub frame_size: usize,
    /// The kernel retires a partly filled block after this many milliseconds, so packets on a quiet link
    /// are delivered with at most this delay. Default 100; 0 lets the kernel pick from the link speed.
    pub block_timeout_ms: u32,
    /// Put the interface in promiscuous mode (`PACKET_MR_PROMISC`) for as long as the socket is open.
    /// Default `true`: a passive sensor on a SPAN port sees frames addressed to other hosts.
    pub promiscuous: bool,
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            block_size: 1 << 20,
            block_count: 64,
            frame_size: 2048,
            block_timeout_ms: 100,
            promiscuous: true,
        }
    }
}

/// How the kernel spreads the packets of an interface over the sockets of a fanout group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FanoutMode {
    /// `PACKET_FANOUT_HASH` with `PACKET_FANOUT_FLAG_DEFRAG`: by the flow hash of the packet, so both
    /// directions of a flow land on one socket; the kernel reassembles IP fragments before hashing, so
    /// the fragments of a datagram stay together.
    Hash,
}

/// A `PACKET_FANOUT` group: every socket opened with the same `id` on the same interface (in the same
/// network namespace) and the same mode gets a share of the packets, each packet going to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanoutGroup {
    /// Group id, shared by all the sockets of the group.
    pub id: u16,
    /// How packets are spread.
    pub mode: FanoutMode,
}

/// Kernel counters of one socket, cumulative since [`AfPacket::open`]: the type all live sources share.
pub use crate::capture::live::KernelStats;

/// A `TPACKET_V3` block that does not hold what its header says. Offsets are from the start of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// The buffer is too short for the block descriptor.
    #[error("block of {len} bytes is shorter than its {BLOCK_DESC_LEN}-byte descriptor")]
    ShortBlock {
        /// Length of the buffer.
        len: usize,
    },
    /// `blk_len` (bytes in use) is smaller than the descriptor or larger than the block.
    #[error("blk_len {blk_len} is outside {BLOCK_DESC_LEN}..={block_len}")]
    BadBlockLength {
        /// `hdr.bh1.blk_len`.
        blk_len: u32,
        /// Length of the buffer.
        block_len: usize,
    },
    /// `offset_to_first_pkt` points into the descriptor or past the bytes in use.
    #[error("offset_to_first_pkt {offset} is outside {BLOCK_DESC_LEN}..{blk_len}")]
    BadFirstOffset {
        /// `hdr.bh1.offset_to_first_pkt`.
        offset: u32,
        /// `hdr.bh1.blk_len`.
        blk_len: u32,
    },
    /// A packet header does not fit in the bytes in use (also what a too large `num_pkts` leads to).
    #[error("packet {index}: header at offset {offset} does not fit in blk_len {blk_len}")]
    HeaderOutOfBounds {
        /// Index of the packet in the block.
        index: u32,
        /// Offset of its header.
        offset: usize,
        /// `hdr.bh1.blk_len`.
        blk_len: u32,
    },
    /// A packet's data (`tp_mac`, `tp_snaplen`) overlaps its header or runs past the bytes in use.
    #[error(
        "packet {index}: data at {start}..{end} is outside its header's end and blk_len {blk_len}"
    )]
    DataOutOfBounds {
        /// Index of the packet in the block.
        index: u32,
        /// Offset of the first data byte (may be past the end).
        start: usize,
        /// Offset one past the last data byte (may be past the end).
        end: usize,
        /// `hdr.bh1.blk_len`.
        blk_len: u32,
    },
    /// The captured length is larger than the length on the wire.
    #[error("packet {index}: tp_snaplen {snaplen} is larger than tp_len {len}")]
    SnaplenAboveLen {
        /// Index of the packet in the block.
        index: u32,
        /// `tp_snaplen`.
        snaplen: u32,
        /// `tp_len`.
        len: u32,
    },
    /// `tp_nsec` is not below one second.
    #[error("packet {index}: tp_nsec {nsec} is not below 1e9")]
    BadNanos {
        /// Index of the packet in the block.
        index: u32,
        /// `tp_nsec`.
        nsec: u32,
    },
    /// `tp_next_offset` of a packet that is not the last one would not move past its data (a loop, or
    /// packets overlapping) or points past the bytes in use.
    #[error(
        "packet {index}: tp_next_offset {next} does not lead past its data to a header within blk_len"
    )]
    BadNextOffset {
        /// Index of the packet in the block.
        index: u32,
        /// `tp_next_offset`.
        next: u32,
    },
}

/// `AF_PACKET` as the `sa_family_t` of a `sockaddr_ll` (the value is 17).
#[expect(
    clippy::cast_possible_truncation,
    reason = "checked by the const assertion below"
)]
const AF_PACKET_FAMILY: u16 = libc::AF_PACKET as u16;
const _: () = assert!(libc::AF_PACKET >= 0 && libc::AF_PACKET <= u16::MAX as libc::c_int);

/// `PACKET_MR_PROMISC` as the `mr_type` of a `packet_mreq` (the value is 1).
#[expect(
    clippy::cast_possible_truncation,
    reason = "checked by the const assertion below"
)]
const PACKET_MR_PROMISC: u16 = libc::PACKET_MR_PROMISC as u16;
const _: () =
    assert!(libc::PACKET_MR_PROMISC >= 0 && libc::PACKET_MR_PROMISC <= u16::MAX as libc::c_int);

/// `size_of::<T>()` as a `socklen_t`, for the small C structs passed to socket calls.
#[expect(
    clippy::cast_possible_truncation,
    reason = "checked: every T used is a few bytes long"
)]
const fn socklen_of<T>() -> libc::socklen_t {
    assert!(size_of::<T>() <= u32::MAX as usize);
    size_of::<T>() as libc::socklen_t
}

/// Reads a native-endian `u32` at `off`, or `None` past the end.
fn read_u32(buf: &[u8], off: usize) -> Option<u32> {
    let bytes = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

/// Reads a native-endian `u16` at `off`, or `None` past the end.
fn read_u16(buf: &[u8], off: usize) -> Option<u16> {
    let bytes = buf.get(off..off.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

/// `u32` to `usize`: lossless on the 32- and 64-bit targets Linux runs on; saturates otherwise, which only
/// makes a bounds check fail.
fn widen(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Walks one `TPACKET_V3` block and calls `f` for each of its packets, in order; returns how many.
///
/// `block` is the whole block; its fields are read in native byte order from the slice (the kernel writes
/// them in the host's order). The descriptor (`struct tpacket_block_desc`) gives `num_pkts`,
/// `offset_to_first_pkt` and `blk_len` (bytes in use); each packet starts with a `struct tpacket3_hdr`
/// whose `tp_mac` is the offset of the frame from that header, `tp_snaplen` the captured length, `tp_len`
/// the length on the wire, and `tp_next_offset` the distance to the next header (ignored for the last
/// packet, where the kernel writes 0).
///
/// Every offset and length is checked against `blk_len`, which must lie within `block`: a corrupt block
/// gives a [`WalkError`], never a panic or a read out of bounds. The packets before the one at fault have
/// already been given to `f`. The packets are [`RawPacket`]s of link type `link` with `orig_len = tp_len`,
/// `data` the `tp_snaplen` captured bytes and `file_offset` 0.
pub fn walk_block(
    block: &[u8],
    link: LinkType,
    f: &mut dyn FnMut(&RawPacket<'_>),
) -> Result<usize, WalkError> {
    let short = WalkError::ShortBlock { len: block.len() };
    let num_pkts = read_u32(block, 12).ok_or(short)?;
    let first = read_u32(block, 16).ok_or(short)?;
    let blk_len = read_u32(block, 20).ok_or(short)?;
    if block.len() < BLOCK_DESC_LEN {
        return Err(short);
    }
    let used = widen(blk_len);
    if used < BLOCK_DESC_LEN || used > block.len() {
        return Err(WalkError::BadBlockLength {
            blk_len,
            block_len: block.len(),
        });
    }
    // From here on, reads go through `body`, so nothing past blk_len can be reached.
    let body = block.get(..used).ok_or(WalkError::BadBlockLength {
        blk_len,
        block_len: block.len(),
    })?;
    if num_pkts == 0 {
        return Ok(0);
    }
    let mut off = widen(first);
    if off < BLOCK_DESC_LEN || off >= used {
        return Err(WalkError::BadFirstOffset {
            offset: first,
            blk_len,
        });
    }
    for index in 0..num_pkts {
        let header_err = WalkError::HeaderOutOfBounds {
            index,
            offset: off,
            blk_len,
        };
        let hdr = off
            .checked_add(PACKET_HDR_LEN)
            .and_then(|end| body.get(off..end))
            .ok_or(header_err)?;
        let field = |at: usize| read_u32(hdr, at).ok_or(header_err);
        let next = field(0)?;
        let sec = field(4)?;
        let nsec = field(8)?;
        let snaplen = field(12)?;
        let len = field(16)?;
        let mac = read_u16(hdr, 24).ok_or(header_err)?;
        if snaplen > len {
            return Err(WalkError::SnaplenAboveLen {
                index,
                snaplen,
                len,
            });
        }
        if nsec >= 1_000_000_000 {
            return Err(WalkError::BadNanos { index, nsec });
        }
        // The frame starts `tp_mac` bytes after the header's start, never inside the header.
        let rel_end = usize::from(mac).saturating_add(widen(snaplen));
        let start = off.saturating_add(usize::from(mac));
        let end = off.saturating_add(rel_end);
        let data = if usize::from(mac) >= PACKET_HDR_LEN {
            body.get(start..end)
        } else {
            None
        }
        .ok_or(WalkError::DataOutOfBounds {
            index,
            start,
            end,
            blk_len,
        })?;
        f(&RawPacket {
            ts: PacketTime::from_parts(u64::from(sec), nsec),
            link,
            data,
            orig_len: len,
            file_offset: 0,
        });
        if index + 1 < num_pkts {
            // The kernel sets tp_next_offset to tp_mac + tp_snaplen rounded up to 8: requiring at least
            // that much makes every step move forward by a header or more, so the walk ends.
            let next_off = off.checked_add(widen(next));
            match next_off {
                Some(n) if widen(next) >= rel_end && n < used => off = n,
                _ => return Err(WalkError::BadNextOffset { index, next }),
            }
        }
    }
    Ok(widen(num_pkts))
}

/// Adds the interface and the step that failed to an OS error, keeping its kind.
fn step_error(iface: &str, step: &str, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("AF_PACKET on {iface}: {step}: {err}"))
}

/// An invalid [`RingConfig`] or argument.
fn invalid(iface: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("AF_PACKET on {iface}: {what}"),
    )
}

/// Turns a `-1` return of a libc call into the `errno` error, with the interface and step.
fn check(rc: libc::c_int, iface: &str, step: &str) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(step_error(iface, step, io::Error::last_os_error()))
    } else {
        Ok(rc)
    }
}

/// `setsockopt(fd, level, name, value)` for a plain C value.
fn set_opt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` is a live, initialised `T` of exactly `len` bytes that the kernel only reads during
    // the call; `fd` is an open socket owned by the caller.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            ptr::from_ref(value).cast(),
            len,
        )
    };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The shared mapping of the receive ring; unmapped on drop.
struct Ring {
    /// Start of the mapping (page-aligned).
    base: NonNull<u8>,
    /// Bytes of one block.
    block_size: usize,
    /// Number of blocks.
    block_count: usize,
}

// SAFETY: `Ring` is the sole owner of its mapping (nothing else in the process holds the pointer), and a
// mapping is not tied to the thread that made it, so moving it to another thread is sound. It is not
// `Sync`: blocks are read through `&mut AfPacket` only.
unsafe impl Send for Ring {}

impl Ring {
    /// Total bytes mapped.
    fn len(&self) -> usize {
        self.block_size * self.block_count
    }

    /// Pointer to the start of block `idx % block_count`, so always inside the mapping.
    fn block_ptr(&self, idx: usize) -> *mut u8 {
        let idx = idx % self.block_count;
        self.base.as_ptr().wrapping_add(idx * self.block_size)
    }

    /// The `block_status` word of block `idx`, as an atomic shared with the kernel.
    fn status(&self, idx: usize) -> &AtomicU32 {
        let word = self
            .block_ptr(idx)
            .wrapping_add(BLOCK_STATUS_OFFSET)
            .cast::<u32>();
        // SAFETY: `block_ptr` reduces `idx` modulo `block_count`, so `word` lies inside
        // the mapping, which lives as long as `&self`. It is 4-aligned: the mapping is page-aligned,
        // `block_size` a multiple of the page size, and the offset 8. Rust code reaches this word
        // non-atomically only through the block slice of `AfPacket::drain_one`, which exists strictly
        // between an atomic load and an atomic store on the same thread, so those accesses are ordered
        // by happens-before as `AtomicU32::from_ptr` requires. The kernel writes it with plain stores
        // after `smp_wmb()`, the C-side equivalent of a release store.
        unsafe { AtomicU32::from_ptr(word) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`len()` are exactly what `mmap` returned and was given, and no slice into the
        // mapping outlives a `drain_one` call, so nothing refers to the memory any more. The result is
        // ignored: munmap of a valid mapping cannot fail, and there is nothing to do if it did.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len());
        }
    }
}

/// A live capture on one interface through an `AF_PACKET` socket and a `TPACKET_V3` receive ring.
///
/// Owns the socket and the mapping; dropping it unmaps the ring and closes the socket (which also leaves
/// promiscuous mode and the fanout group). It is `Send`, so each socket of a fanout group can be moved
/// to its own worker thread.
pub struct AfPacket {
    // Field order is drop order: unmap the ring before closing the socket.
    /// The ring mapped from `fd`.
    ring: Ring,
    /// The packet socket.
    fd: OwnedFd,
    /// The block to look at next: the kernel fills blocks in ring order.
    next_block: usize,
    /// Link type of the interface.
    link: LinkType,
    /// Interface name, for messages.
    iface: String,
    /// Counters accumulated over the kernel's read-and-reset `PACKET_STATISTICS`.
    stats: KernelStats,
}

impl fmt::Debug for AfPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfPacket")
            .field("iface", &self.iface)
            .field("fd", &self.fd.as_raw_fd())
            .field("link", &self.link)
            .field("block_size", &self.ring.block_size)
            .field("block_count", &self.ring.block_count)
            .field("next_block", &self.next_block)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Maps an `ARPHRD_*` hardware type to the link type of the frames an `AF_PACKET` `SOCK_RAW` socket sees.
fn link_type_of(hatype: u16, iface: &str) -> io::Result<LinkType> {
    match hatype {
        // Loopback frames carry a (zeroed) Ethernet header; EETHER and IEEE802 use the Ethernet framing.
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK | libc::ARPHRD_EETHER | libc::ARPHRD_IEEE802 => {
            Ok(LinkType::ETHERNET)
        }
        // tun, WireGuard, cellular modems: the frame is the IP packet.
        libc::ARPHRD_NONE | ARPHRD_RAWIP => Ok(LinkType::RAW),
        other => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "AF_PACKET on {iface}: interface hardware type ARPHRD {other} is neither Ethernet-like nor raw IP"
            ),
        )),
    }
}

impl AfPacket {
    /// Opens a capture on interface `iface` (in the calling thread's network namespace).
    ///
    /// Steps: `socket(AF_PACKET, SOCK_RAW, 0)` (protocol 0 so that nothing is queued before the bind),
    /// `PACKET_VERSION = TPACKET_V3`, `PACKET_RX_RING` with `cfg`, `mmap` of the ring, `bind` to the
    /// interface's index with `ETH_P_ALL`, then `PACKET_ADD_MEMBERSHIP` with `PACKET_MR_PROMISC` if
    /// `cfg.promiscuous`, and `PACKET_FANOUT` if `fanout` is given. Needs `CAP_NET_RAW` (and
    /// `CAP_NET_ADMIN` for promiscuous mode).
    ///
    /// # Errors
    /// An invalid `cfg` is `InvalidInput`; an interface whose hardware type is neither Ethernet-like nor
    /// raw IP is `Unsupported`; otherwise the OS error of the step that failed. Every message names the
    /// interface and the step.
    pub fn open(iface: &str, cfg: &RingConfig, fanout: Option<FanoutGroup>) -> io::Result<Self> {
        let req = ring_request(iface, cfg)?;
        let name =
            CString::new(iface).map_err(|_| invalid(iface, "interface name contains NUL"))?;
        // SAFETY: `name` is a NUL-terminated string that lives across the call; the function only reads it.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if ifindex == 0 {
            return Err(step_error(
                iface,
                "if_nametoindex",
                io::Error::last_os_error(),
            ));
        }
        let ifindex = libc::c_int::try_from(ifindex)
            .map_err(|_| invalid(iface, "interface index out of range"))?;

        // SAFETY: plain syscall with constant arguments; no pointers.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        let raw = check(raw, iface, "socket")?;
        // SAFETY: `raw` is a fresh descriptor returned by `socket` just above and owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        set_opt(&fd, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(|e| step_error(iface, "PACKET_VERSION TPACKET_V3", e))?;
        set_opt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)
            .map_err(|e| step_error(iface, "PACKET_RX_RING", e))?;

        let len = cfg.block_size * cfg.block_count; // no overflow: checked by `ring_request`
        // SAFETY: a new shared mapping of the ring the kernel just allocated for `fd`, at an address of the
        // kernel's choice, so it overlaps nothing else in the process.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(step_error(
                iface,
                "mmap of the ring",
                io::Error::last_os_error(),
            ));
        }
        let base = NonNull::new(base.cast::<u8>())
            .ok_or_else(|| invalid(iface, "mmap returned a null ring"))?;
        let ring = Ring {
            base,
            block_size: cfg.block_size,
            block_count: cfg.block_count,
        };

        let protocol = u16::try_from(libc::ETH_P_ALL).unwrap_or(3).to_be();
        let addr = libc::sockaddr_ll {
            sll_family: AF_PACKET_FAMILY,
            sll_protocol: protocol,
            sll_ifindex: ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        let addr_len = socklen_of::<libc::sockaddr_ll>();
        // SAFETY: `addr` is a valid `sockaddr_ll` of `addr_len` bytes that the kernel only reads.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                ptr::from_ref(&addr).cast::<libc::sockaddr>(),
                addr_len,
            )
        };
        check(rc, iface, "bind")?;

        let mut bound = addr;
        let mut bound_len = addr_len;
        // SAFETY: `bound` is a writable `sockaddr_ll` of `bound_len` bytes, and the kernel writes at most
        // `bound_len` bytes and updates `bound_len`.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                ptr::from_mut(&mut bound).cast::<libc::sockaddr>(),
                &mut bound_len,
            )
        };
        check(rc, iface, "getsockname")?;
        let link = link_type_of(bound.sll_hatype, iface)?;

        if cfg.promiscuous {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex,
                mr_type: PACKET_MR_PROMISC,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            set_opt(&fd, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|e| step_error(iface, "PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC", e))?;
        }
        if let Some(group) = fanout {
            let mode = match group.mode {
                FanoutMode::Hash => libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG,
            };
            // The low 16 bits are the group id, the high 16 bits the mode and flags.
            let arg = (mode << 16) | libc::c_uint::from(group.id);
            set_opt(&fd, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg)
                .map_err(|e| step_error(iface, &format!("PACKET_FANOUT group {}", group.id), e))?;
        }
        Ok(Self {
            ring,
            fd,
            next_block: 0,
            link,
            iface: iface.to_owned(),
            stats: KernelStats::default(),
        })
    }

    /// Link type of the frames delivered: [`LinkType::ETHERNET`] for Ethernet-like interfaces and
    /// loopback, [`LinkType::RAW`] for interfaces without a link header (tun).
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// The interface name given to [`AfPacket::open`].
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The socket's descriptor, to wait on it with other descriptors (it is readable when a block is ready).
    pub fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Waits up to `timeout` for the next block owned by user space, hands every packet in it (and in the
    /// blocks ready after it, at most one pass around the ring) to `f`, returns the blocks to the kernel,
    /// and returns how many packets it delivered (0 on timeout). Never blocks longer than `timeout`; a zero
    /// `timeout` only takes what is ready.
    ///
    /// The packets borrow the ring and are valid only during the call of `f`.
    ///
    /// # Errors
    /// A failing `ppoll`, an error reported on the socket (such as the interface going down), or a block
    /// that does not walk (`InvalidData`, from a [`WalkError`]; the block is returned to the kernel first,
    /// and its packets before the fault have been delivered).
    pub fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(&RawPacket<'_>),
    ) -> io::Result<usize> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let mut delivered = 0;
            let mut any_block = false;
            for _ in 0..self.ring.block_count {
                match self.drain_one(f)? {
                    Some(n) => {
                        delivered += n;
                        any_block = true;
                    }
                    None => break,
                }
            }
            if delivered > 0 {
                return Ok(delivered);
            }
            // `None`: a timeout too large for `Instant`, wait without limit.
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining.is_some_and(|r| r.is_zero()) {
                return Ok(0);
            }
            if !any_block {
                self.wait(remaining)?;
            }
        }
    }

    /// Walks the next block if user space owns it and gives it back; `None` if the kernel still owns it.
    fn drain_one(&mut self, f: &mut dyn FnMut(&RawPacket<'_>)) -> io::Result<Option<usize>> {
        let idx = self.next_block;
        let status = self.ring.status(idx);
        // Acquire pairs with the kernel's `smp_wmb()` before it sets TP_STATUS_USER: once we see the
        // status, the packets the kernel wrote into the block are visible to the reads below.
        if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return Ok(None);
        }
        let walked = {
            // SAFETY: `block_ptr(idx)` (reduced modulo `block_count`) starts a `block_size`-byte range inside the
            // mapping, which lives as long as `self.ring`; mmap'd memory is always initialised. The slice
            // is never mutated while it lives: the kernel does not write a block whose status is
            // TP_STATUS_USER until user space stores TP_STATUS_KERNEL, which happens below only after the
            // slice (and every `RawPacket` borrowed from it, which `f` cannot keep) is gone, and `&mut self`
            // keeps any other Rust code away from the ring meanwhile.
            let block = unsafe {
                std::slice::from_raw_parts(self.ring.block_ptr(idx), self.ring.block_size)
            };
            walk_block(block, self.link, f)
        };
        // Release: every read of the block above happens before the kernel can see the block as its own
        // again and overwrite it.
        status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.next_block = (idx + 1) % self.ring.block_count;
        match walked {
            Ok(n) => Ok(Some(n)),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("AF_PACKET on {}: ring block {idx}: {e}", self.iface),
            )),
        }
    }

    /// Sleeps in `ppoll` until the socket is readable or `timeout` (`None`: no limit) passes.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        let ts = timeout.map(|t| libc::timespec {
            tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(t.subsec_nanos()),
        });
        let ts_ptr = ts.as_ref().map_or(ptr::null(), ptr::from_ref);
        // SAFETY: `pfd` is one valid, writable `pollfd` (count 1); `ts_ptr` is null or points to a
        // `timespec` alive across the call; a null signal mask leaves the mask unchanged.
        let rc = unsafe { libc::ppoll(&mut pfd, 1, ts_ptr, ptr::null()) };
        if rc == -1 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(()); // the caller re-checks the ring and the deadline
            }
            return Err(step_error(&self.iface, "ppoll", err));
        }
        if pfd.revents & libc::POLLERR != 0 {
            let mut so_error: libc::c_int = 0;
            let mut len = socklen_of::<libc::c_int>();
            // SAFETY: `so_error` is a writable `c_int` of `len` bytes; the kernel writes at most `len`.
            let rc = unsafe {
                libc::getsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    ptr::from_mut(&mut so_error).cast(),
                    &mut len,
                )
            };
            check(rc, &self.iface, "getsockopt SO_ERROR")?;
            if so_error != 0 {
                return Err(step_error(
                    &self.iface,
                    "socket error",
                    io::Error::from_raw_os_error(so_error),
                ));
            }
        }
        Ok(())
    }

    /// The kernel's counters for this socket, cumulative since [`AfPacket::open`] (the kernel resets its
    /// own on every read; they are accumulated here).
    ///
    /// # Errors
    /// A failing `getsockopt(PACKET_STATISTICS)`.
    pub fn stats(&mut self) -> io::Result<KernelStats> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = socklen_of::<libc::tpacket_stats_v3>();
        // SAFETY: `st` is a writable `tpacket_stats_v3` of `len` bytes; the kernel writes at most `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                ptr::from_mut(&mut st).cast(),
                &mut len,
            )
        };
        check(rc, &self.iface, "getsockopt PACKET_STATISTICS")?;
        self.stats.packets += u64::from(st.tp_packets);
        self.stats.drops += u64::from(st.tp_drops);
        self.stats.freezes += u64::from(st.tp_freeze_q_cnt);
        Ok(self.stats)
    }
}

/// Checks `cfg` and builds the `tpacket_req3` for it.
fn ring_request(iface: &str, cfg: &RingConfig) -> io::Result<libc::tpacket_req3> {
    // SAFETY: `sysconf` only reads a constant name.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page).unwrap_or(4096).max(1);
    let bs = cfg.block_size;
    if !bs.is_power_of_two() || !bs.is_multiple_of(page) {
        return Err(invalid(
            iface,
            &format!("block_size {bs} is not a power of two multiple of the page size {page}"),
        ));
    }
    if cfg.block_count == 0 {
        return Err(invalid(iface, "block_count is 0"));
    }
    // TPACKET3_HDRLEN: the header aligned to 16, plus a sockaddr_ll.
    let min_frame = libc::TPACKET3_HDRLEN;
    if !cfg.frame_size.is_multiple_of(16) || cfg.frame_size < min_frame || cfg.frame_size > bs {
        return Err(invalid(
            iface,
            &format!(
                "frame_size {} is not a multiple of 16 within {min_frame}..={bs}",
                cfg.frame_size
            ),
        ));
    }
    let too_big = || invalid(iface, "ring too large (block_size * block_count)");
    bs.checked_mul(cfg.block_count).ok_or_else(too_big)?;
    let frame_nr = (bs / cfg.frame_size)
        .checked_mul(cfg.block_count)
        .ok_or_else(too_big)?;
    let u = |v: usize| u32::try_from(v).map_err(|_| too_big());
    Ok(libc::tpacket_req3 {
        tp_block_size: u(bs)?,
        tp_block_nr: u(cfg.block_count)?,
        tp_frame_size: u(cfg.frame_size)?,
        tp_frame_nr: u(frame_nr)?,
        tp_retire_blk_tov: cfg.block_timeout_ms,
        tp_sizeof_priv: 0,
        tp_feature_req_word: 0,
    })
}
