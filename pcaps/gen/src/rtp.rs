//! RTP (RFC 3550) packets of one stream: version 2, no padding, no extension, no CSRCs, marker on the first
//! packet (start of a talk spurt), sequence number and timestamp starting at random values.

use crate::rng::Rng;
use crate::sip::Codec;

/// Sender state of one RTP stream.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Synchronisation source identifier.
    pub ssrc: u32,
    /// Codec, which fixes the payload type, clock and payload size.
    pub codec: Codec,
    seq: u16,
    timestamp: u32,
    first: bool,
}

impl Stream {
    /// A stream with random SSRC, initial sequence number and timestamp (RFC 3550 section 5.1).
    pub fn new(rng: &mut Rng, codec: Codec) -> Self {
        Self {
            ssrc: rng.next_u32(),
            codec,
            seq: rng.next_u16(),
            timestamp: rng.next_u32(),
            first: true,
        }
    }

    /// Sequence number the next packet will carry.
    pub fn next_seq(&self) -> u16 {
        self.seq
    }

    /// The next 20 ms packet (header and a random payload of the codec's size), advancing sequence number
    /// and timestamp.
    pub fn next_packet(&mut self, rng: &mut Rng) -> Vec<u8> {
        let payload_len = match self.codec {
            Codec::Pcmu => 160,
            Codec::G729 => 20,
            Codec::Opus => usize::try_from(rng.range(60, 140)).unwrap_or(80),
        };
        let mut p = Vec::with_capacity(12 + payload_len);
        p.push(0x80);
        let marker = if self.first { 0x80 } else { 0 };
        p.push(marker | (self.codec.payload_type() & 0x7f));
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.timestamp.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        let start = p.len();
        p.resize(start + payload_len, 0);
        if let Some(body) = p.get_mut(start..) {
            rng.fill(body);
            if self.codec == Codec::Pcmu {
                // mu-law of quiet speech: values near 0xff / 0x7f (silence), i.e. high bits mostly set.
                for b in body.iter_mut() {
                    *b |= 0x70;
                }
            }
            if self.codec == Codec::Opus
                && let Some(toc) = body.first_mut()
            {
                // RFC 6716 TOC byte: config 15 (hybrid, fullband, 20 ms), mono, code 0 (one frame), so the
                // random rest is one well-formed frame.
                *toc = 0x78;
            }
        }
        self.first = false;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(self.codec.samples_per_packet());
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_and_timestamp_advance_and_marker_is_on_first_only() {
        let mut rng = Rng::new(3);
        let mut s = Stream::new(&mut rng, Codec::Pcmu);
        let a = s.next_packet(&mut rng);
        let b = s.next_packet(&mut rng);
        assert_eq!(a.len(), 172);
        assert_eq!(a[0], 0x80);
        assert_eq!(a[1], 0x80);
        assert_eq!(b[1], 0x00);
        let seq = |p: &[u8]| u16::from_be_bytes([p[2], p[3]]);
        let ts = |p: &[u8]| u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        assert_eq!(seq(&b), seq(&a).wrapping_add(1));
        assert_eq!(ts(&b), ts(&a).wrapping_add(160));
        assert_eq!(&a[8..12], &s.ssrc.to_be_bytes());
    }
}
