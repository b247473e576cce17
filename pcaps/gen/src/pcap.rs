//! Capture file writers: classic pcap (little-endian, microsecond or nanosecond magic) and pcapng (one
//! section, any number of interfaces, Enhanced Packet Blocks).
//!
//! Formats: <https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html> (pcap) and
//! <https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html> (pcapng).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;

/// One captured frame: its timestamp in nanoseconds since the Unix epoch and its bytes (starting at the
/// link-layer header of the capture's link type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Capture time, nanoseconds since 1970-01-01T00:00:00Z.
    pub ts_nanos: u64,
    /// The frame as captured (no FCS).
    pub data: Vec<u8>,
}

impl Frame {
    /// A frame at `ts_nanos`.
    pub fn new(ts_nanos: u64, data: Vec<u8>) -> Self {
        Self { ts_nanos, data }
    }
}

/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// LINKTYPE_RAW (raw IPv4 or IPv6).
pub const LINKTYPE_RAW: u32 = 101;
/// LINKTYPE_LINUX_SLL (Linux cooked capture v1).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// LINKTYPE_LINUX_SLL2 (Linux cooked capture v2).
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// Snapshot length written in file and interface headers.
pub const SNAPLEN: u32 = 262_144;

/// Nanoseconds per second.
const NANOS_PER_SEC: u64 = 1_000_000_000;

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn len32(len: usize) -> io::Result<u32> {
    u32::try_from(len).map_err(|_| invalid("frame longer than 4 GiB"))
}

/// Writer of a classic pcap file (little-endian, version 2.4).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    nanos: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header: magic `0xa1b2c3d4` (microsecond timestamps) or `0xa1b23c4d` (nanosecond
    /// timestamps, when `nanos`), snaplen [`SNAPLEN`], and `linktype`.
    pub fn new(mut out: W, linktype: u32, nanos: bool) -> io::Result<Self> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&magic.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&linktype.to_le_bytes());
        out.write_all(&h)?;
        Ok(Self { out, nanos })
    }

    /// Appends one record. Microsecond files truncate the timestamp to the microsecond.
    pub fn write(&mut self, frame: &Frame) -> io::Result<()> {
        let secs = u32::try_from(frame.ts_nanos / NANOS_PER_SEC)
            .map_err(|_| invalid("timestamp after 2106 does not fit a pcap record"))?;
        let sub = frame.ts_nanos % NANOS_PER_SEC;
        let frac = if self.nanos { sub } else { sub / 1000 };
        let frac = u32::try_from(frac).map_err(|_| invalid("sub-second part out of range"))?;
        let len = len32(frame.data.len())?;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&len.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&frame.data)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writer of a pcapng file with one little-endian section.
#[derive(Debug)]
pub struct PcapNgWriter<W: Write> {
    out: W,
    /// Per interface: how many timestamp units make one nanosecond, as (multiplier, divisor).
    interfaces: Vec<(u64, u64)>,
}

/// Pads `block` with zeros to a multiple of 4 bytes.
fn pad4(block: &mut Vec<u8>) {
    while !block.len().is_multiple_of(4) {
        block.push(0);
    }
}

/// Appends an option (code, value) padded to 4 bytes.
fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
    body.extend_from_slice(value);
    pad4(body);
}

impl<W: Write> PcapNgWriter<W> {
    /// Writes the Section Header Block (version 1.0, unknown section length, `shb_userappl` naming this
    /// generator).
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        push_option(&mut body, 4, b"callguard-gen");
        push_option(&mut body, 0, &[]);
        write_block(&mut out, 0x0a0d_0d0a, &body)?;
        Ok(Self {
            out,
            interfaces: Vec::new(),
        })
    }

    /// Writes an Interface Description Block with `if_tsresol` = 10^-`tsresol_exponent` seconds and returns
    /// the interface id (0, 1, ... in order). Exponents up to 19 are accepted.
    pub fn add_interface(&mut self, linktype: u32, tsresol_exponent: u8) -> io::Result<u32> {
        let linktype =
            u16::try_from(linktype).map_err(|_| invalid("pcapng link types are 16-bit"))?;
        let exp = u32::from(tsresol_exponent);
        let scale = if exp <= 9 {
            (1, 10u64.pow(9 - exp))
        } else {
            (
                10u64
                    .checked_pow(exp - 9)
                    .ok_or_else(|| invalid("if_tsresol exponent above 19"))?,
                1,
            )
        };
        let id =
            u32::try_from(self.interfaces.len()).map_err(|_| invalid("too many interfaces"))?;
        let mut body = Vec::new();
        body.extend_from_slice(&linktype.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&SNAPLEN.to_le_bytes());
        push_option(&mut body, 9, &[tsresol_exponent]);
        push_option(&mut body, 0, &[]);
        write_block(&mut self.out, 1, &body)?;
        self.interfaces.push(scale);
        Ok(id)
    }

    /// Writes an Enhanced Packet Block for interface `if_id`, its timestamp in that interface's units.
    pub fn write(&mut self, if_id: u32, frame: &Frame) -> io::Result<()> {
        let &(mul, div) = usize::try_from(if_id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .ok_or_else(|| invalid("unknown interface id"))?;
        let ts = frame
            .ts_nanos
            .checked_mul(mul)
            .ok_or_else(|| invalid("timestamp overflows the interface resolution"))?
            / div;
        let len = len32(frame.data.len())?;
        let mut body = Vec::with_capacity(20 + frame.data.len() + 3);
        body.extend_from_slice(&if_id.to_le_bytes());
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&u32::try_from(ts & 0xffff_ffff).unwrap_or(0).to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(&frame.data);
        pad4(&mut body);
        write_block(&mut self.out, 6, &body)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes one block: type, total length, body (already padded), total length again.
fn write_block<W: Write>(out: &mut W, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = len32(body.len() + 12)?;
    out.write_all(&block_type.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

/// Writes `frames` to `path` as a classic Ethernet pcap with microsecond timestamps.
pub fn write_pcap(path: impl AsRef<Path>, frames: &[Frame]) -> anyhow::Result<()> {
    write_pcap_as(path, LINKTYPE_ETHERNET, false, frames)
}

/// Writes `frames` to `path` as a classic pcap of `linktype`, with nanosecond timestamps when `nanos`.
pub fn write_pcap_as(
    path: impl AsRef<Path>,
    linktype: u32,
    nanos: bool,
    frames: &[Frame],
) -> anyhow::Result<()> {
    let path = path.as_ref();
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = PcapWriter::new(BufWriter::new(file), linktype, nanos)?;
    for f in frames {
        w.write(f)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    w.into_inner()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_header_and_record_layout() {
        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, false).unwrap();
        w.write(&Frame::new(1_768_471_200_123_456_789, vec![1, 2, 3]))
            .unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(&b[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&b[20..24], &1u32.to_le_bytes());
        assert_eq!(&b[24..28], &1_768_471_200u32.to_le_bytes());
        assert_eq!(&b[28..32], &123_456u32.to_le_bytes());
        assert_eq!(&b[32..36], &3u32.to_le_bytes());
        assert_eq!(&b[40..], &[1, 2, 3]);

        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_RAW, true).unwrap();
        w.write(&Frame::new(1_768_471_200_123_456_789, vec![]))
            .unwrap();
        let b = w.into_inner().unwrap();
        assert_eq!(&b[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(&b[28..32], &123_456_789u32.to_le_bytes());
    }

    #[test]
    fn pcapng_blocks_are_aligned_and_timestamps_scaled() {
        let mut w = PcapNgWriter::new(Vec::new()).unwrap();
        assert_eq!(w.add_interface(LINKTYPE_ETHERNET, 6).unwrap(), 0);
        assert_eq!(w.add_interface(LINKTYPE_LINUX_SLL, 9).unwrap(), 1);
        let ts = 1_768_471_200_123_456_789;
        w.write(0, &Frame::new(ts, vec![9; 5])).unwrap();
        w.write(1, &Frame::new(ts, vec![9; 8])).unwrap();
        assert!(w.write(2, &Frame::new(ts, vec![])).is_err());
        let b = w.into_inner().unwrap();
        // Walk the blocks: each total length is a multiple of 4 and repeated at the end.
        let mut at = 0;
        let mut types = Vec::new();
        let mut stamps = Vec::new();
        while at < b.len() {
            let t = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
            assert_eq!(len % 4, 0);
            assert_eq!(&b[at + 4..at + 8], &b[at + len - 4..at + len]);
            if t == 6 {
                let hi = u32::from_le_bytes(b[at + 12..at + 16].try_into().unwrap()) as u64;
                let lo = u32::from_le_bytes(b[at + 16..at + 20].try_into().unwrap()) as u64;
                stamps.push((hi << 32) | lo);
            }
            types.push(t);
            at += len;
        }
        assert_eq!(types, vec![0x0a0d_0d0a, 1, 1, 6, 6]);
        assert_eq!(stamps, vec![ts / 1000, ts]);
    }
}
