//! The static RTP payload types of RFC 3551 §6 (Tables 4 and 5), for `m=` formats that come without an
//! `a=rtpmap` (RFC 8866 §6.6 lets static types omit it).

use super::media::MediaKind;
use crate::rtp::PayloadType;

/// What RFC 3551 §6 assigns to a static payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticPayload {
    /// The encoding name, as RFC 3551 writes it.
    pub name: &'static str,
    /// The RTP clock rate in Hz (8000 for G722, whose sampling rate is 16000: RFC 3551 §4.5.2).
    pub clock_rate: u32,
    /// The number of channels, when RFC 3551 fixes it (`MPA` leaves it to the stream).
    pub channels: Option<u16>,
    /// Audio or video (`MP2T`, listed as "AV", reads as video).
    pub kind: MediaKind<'static>,
}

/// The RFC 3551 §6 assignment of `pt`, for the static range 0-34; `None` for reserved, unassigned and
/// dynamic (96-127) types. Names and clock rates come from the one copy of the table,
/// [`crate::rtp::PayloadType`]; channels and kind follow RFC 3551 §6: types below 24 are audio, mono except
/// `L16` stereo (10) and `MPA` (14, left to the stream).
pub fn static_payload(pt: u8) -> Option<StaticPayload> {
    let p = PayloadType(pt);
    let (name, clock_rate) = (p.name()?, p.clock_rate()?);
    let (kind, channels) = match pt {
        10 => (MediaKind::Audio, Some(2)),
        14 => (MediaKind::Audio, None),
        0..24 => (MediaKind::Audio, Some(1)),
        _ => (MediaKind::Video, None),
    };
    Some(StaticPayload {
        name,
        clock_rate,
        channels,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_matches_rfc3551() {
        let row = |pt| static_payload(pt).map(|p| (p.name, p.clock_rate, p.channels));
        assert_eq!(row(0), Some(("PCMU", 8000, Some(1))));
        assert_eq!(row(8), Some(("PCMA", 8000, Some(1))));
        assert_eq!(row(9), Some(("G722", 8000, Some(1))));
        assert_eq!(row(10), Some(("L16", 44100, Some(2))));
        assert_eq!(row(14), Some(("MPA", 90000, None)));
        assert_eq!(row(18), Some(("G729", 8000, Some(1))));
        assert_eq!(row(34), Some(("H263", 90000, None)));
        for unassigned in [1, 2, 19, 20, 23, 24, 27, 29, 30, 35, 72, 96, 127, 200] {
            assert_eq!(row(unassigned), None, "{unassigned}");
        }
        assert_eq!(static_payload(31).unwrap().kind, MediaKind::Video);
    }
}
