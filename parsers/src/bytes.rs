//! [`Reader`]: the one cursor through which decoders in this crate slice packet bytes (modelled on quiche's
//! `octets`). Every read is checked; a short buffer is an [`ErrorKind::Truncated`] at the reader's offset.

use crate::error::{ErrorKind, Layer, ParseError};

/// A forward-only cursor over a byte slice. Reads are big-endian (network order).
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    off: usize,
    layer: Layer,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`; errors it returns are attributed to `layer`.
    pub fn new(buf: &'a [u8], layer: Layer) -> Self {
        Self { buf, off: 0, layer }
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> usize {
        self.off
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.off)
    }

    fn truncated(&self) -> ParseError {
        ParseError::new(ErrorKind::Truncated, self.layer, self.off)
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.off.checked_add(n).ok_or_else(|| self.truncated())?;
        let s = self
            .buf
            .get(self.off..end)
            .ok_or_else(|| self.truncated())?;
        self.off = end;
        Ok(s)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ParseError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), ParseError> {
        self.take(n).map(|_| ())
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian 24-bit integer.
    pub fn u24(&mut self) -> Result<u32, ParseError> {
        let [a, b, c] = self.array()?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Takes a block whose length is given by a one-byte prefix.
    pub fn take_u8_prefixed(&mut self) -> Result<&'a [u8], ParseError> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// Takes a block whose length is given by a two-byte prefix.
    pub fn take_u16_prefixed(&mut self) -> Result<&'a [u8], ParseError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.off..).unwrap_or(&[]);
        self.off = self.buf.len();
        s
    }

    /// Looks at the next `n` bytes without consuming them.
    pub fn peek(&self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.off.checked_add(n).ok_or_else(|| self.truncated())?;
        self.buf.get(self.off..end).ok_or_else(|| self.truncated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_big_endian_and_checked() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7], Layer::Link);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.u24().unwrap(), 0x030405);
        let e = r.u32().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated);
        assert_eq!(e.offset, 5);
        assert_eq!(r.rest(), &[6, 7]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn prefixed_blocks_are_bounded_by_the_buffer() {
        let mut r = Reader::new(&[3, 9, 9], Layer::Link);
        assert!(r.take_u8_prefixed().is_err());
        let mut r = Reader::new(&[0, 2, 9, 9, 1], Layer::Link);
        assert_eq!(r.take_u16_prefixed().unwrap(), &[9, 9]);
        assert_eq!(r.peek(1).unwrap(), &[1]);
    }
}
