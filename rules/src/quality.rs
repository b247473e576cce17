//! Call quality estimated with the ITU-T G.107 E-model (edition 06/2015).
//!
//! The E-model rates a connection on the transmission rating scale R (G.107 clause 7.1):
//!
//! ```text
//! R = Ro - Is - Id - Ie,eff + A
//! ```
//!
//! and maps R to an estimated mean opinion score (G.107 Annex B). This module implements the
//! narrowband E-model with every parameter at its G.107 clause 7.7 (Table 3) default except the
//! three a passive sensor can observe or infer: the one-way delay, the packet-loss ratio and the
//! burstiness of that loss, plus the codec's equipment impairment `Ie` and packet-loss robustness
//! `Bpl` (ITU-T G.113 Appendix I).
//!
//! # What is computed exactly and what is assumed
//! - `Ro` (clause 7.2) and `Is` (clause 7.3) are computed from the Table 3 defaults (loudness
//!   ratings, sidetone, noise, `qdu = 1`). They do not depend on the network, so with `Ie = 0`, no
//!   loss and no delay the model gives the well-known `R = 93.2`.
//! - `Id` (clause 7.4) is computed in full (`Idte + Idle + Idd`) from a single one-way delay. A
//!   passive sensor sees neither the echo path nor the terminals, so this module assumes
//!   `Ta = T = d` and `Tr = 2d` for a mouth-to-ear delay `d`, with the default echo loss
//!   `TELR = 65 dB` and `WEPL = 110 dB` (echo well controlled). Only `Idd` has the 100 ms knee; the
//!   echo terms add about 0.15 at 0 ms and about 2.7 at 100 ms.
//! - `Ie,eff` (clause 7.5) uses the codec table below. `Bpl` values were measured in G.113 for a
//!   particular packet size; they are used for every packet size here.
//! - The advantage factor `A` (clause 7.6) is 0: a sensor cannot tell what users expect.
//! - Wideband and fullband speech (G.107.1, G.107.2, `Ro = 129` and `148`) are not modelled. A
//!   wideband codec such as G.722 is rated on the narrowband scale, so its score can never exceed
//!   what G.711 reaches (4.41).
//!
//! # Inputs the model does not define
//! Every function here is total: it never panics and never returns NaN or an infinity. A NaN
//! measurement (loss, jitter, delay, burst ratio) is treated as the worst case the module allows;
//! values outside their range are clamped to it. See each function for its ranges.
//!
//! # References
//! - ITU-T G.107 (06/2015), *The E-model: a computational model for use in transmission planning*:
//!   clause 7 (algorithm), Table 3 (default values), Annex B (R to MOS).
//! - ITU-T G.113 (11/2007) Appendix I: provisional `Ie` and `Bpl` values.
//! - ITU-T G.107.1 (06/2015): the wideband E-model (not implemented, see above).
//! - RFC 3550 clause 6.4.1: the interarrival jitter used by [`mos_estimate`].

/// The equipment impairment of a codec, as used by the E-model (G.107 clause 7.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodecImpairment {
    /// Equipment impairment factor `Ie` with no packet loss (G.113 Appendix I, Table I.1).
    pub ie: f64,
    /// Packet-loss robustness factor `Bpl` (G.113 Appendix I, Table I.3): the larger it is, the
    /// better the codec conceals lost packets.
    pub bpl: f64,
}

impl CodecImpairment {
    /// G.711 (PCMU/PCMA) with packet-loss concealment as in G.711 Appendix I: `Ie = 0`,
    /// `Bpl = 25.1` (G.113 Table I.3, 10 ms packets).
    pub const G711_PLC: Self = Self { ie: 0.0, bpl: 25.1 };
    /// G.711 without packet-loss concealment (silence or noise substituted): `Ie = 0`,
    /// `Bpl = 4.3` (G.113 Table I.3, 10 ms packets).
    pub const G711_NO_PLC: Self = Self { ie: 0.0, bpl: 4.3 };
    /// G.729 Annex A with VAD: `Ie = 11`, `Bpl = 19.0` (G.113 Tables I.1 and I.3, 20 ms packets).
    /// G.729 and G.729A cannot be told apart on the wire (both are `G729`); the Annex A value is the
    /// more pessimistic (plain G.729 has `Ie = 10`).
    pub const G729A: Self = Self {
        ie: 11.0,
        bpl: 19.0,
    };
    /// G.723.1 at 6.3 kbit/s (MP-MLQ) with VAD: `Ie = 15`, `Bpl = 16.1` (G.113 Tables I.1 and I.3,
    /// 30 ms packets).
    pub const G723_1_6K3: Self = Self {
        ie: 15.0,
        bpl: 16.1,
    };
    /// G.723.1 at 5.3 kbit/s (ACELP): `Ie = 19` (G.113 Table I.1). G.113 gives `Bpl` only for the
    /// 6.3 kbit/s rate; that value (16.1) is used here as an approximation.
    pub const G723_1_5K3: Self = Self {
        ie: 19.0,
        bpl: 16.1,
    };
    /// GSM 06.60 enhanced full rate: `Ie = 5`, `Bpl = 10.0` (G.113 Tables I.1 and I.3, 20 ms).
    pub const GSM_EFR: Self = Self { ie: 5.0, bpl: 10.0 };
    /// GSM 06.10 full rate (RPE-LTP, RTP name `GSM`): `Ie = 20` (G.113 Table I.1). G.113 gives no
    /// `Bpl` for it; the GSM-EFR value (10.0) is used as an approximation.
    pub const GSM_FR: Self = Self {
        ie: 20.0,
        bpl: 10.0,
    };
    /// Used for any codec without an ITU-T planning value (for example Opus, iLBC, AMR, Speex):
    /// the G.729A values, a typical narrowband codec with built-in concealment. For good wideband
    /// codecs such as Opus this underestimates quality; [`Estimate::codec_known`] says when it was
    /// used.
    pub const UNKNOWN: Self = Self::G729A;
}

/// One row of the codec table: an RTP encoding name and what the E-model needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Codec {
    /// The RTP encoding name as registered with IANA (RFC 3551 and later), matched without regard
    /// to ASCII case.
    pub encoding: &'static str,
    /// `Ie` and `Bpl` for this codec.
    pub impairment: CodecImpairment,
    /// Algorithmic delay beyond the frame itself, in milliseconds (encoder look-ahead, or filter
    /// delay), added to the one-way delay by [`mos_estimate`].
    pub lookahead_ms: f64,
}

/// The codec table, keyed by RTP encoding name.
///
/// - `PCMU`, `PCMA`: G.711 with concealment ([`CodecImpairment::G711_PLC`]). Almost every current
///   endpoint conceals lost G.711 frames (G.711 Appendix I or an equivalent); a sensor cannot see
///   whether the receiver does, so the common case is assumed. Use
///   [`CodecImpairment::G711_NO_PLC`] with [`r_factor`] for the other case.
/// - `G722`: rated as G.711 with concealment on the narrowband scale (an approximation: G.107.1's
///   wideband scale is not implemented, and G.722 Appendix III/IV concealment is assumed). Its
///   look-ahead is the 1.5 ms of the encoder's QMF analysis filter (half of the 3 ms codec delay).
/// - `G729`: [`CodecImpairment::G729A`], 5 ms look-ahead (G.729 clause 2).
/// - `G723`: [`CodecImpairment::G723_1_6K3`] (the rate is not in the encoding name; 6.3 kbit/s is
///   the more common), 7.5 ms look-ahead (G.723.1 clause 2).
/// - `GSM`: [`CodecImpairment::GSM_FR`]; `GSM-EFR`: [`CodecImpairment::GSM_EFR`]; no look-ahead.
///
/// iLBC, Opus, AMR and the rest have no ITU-T planning values and fall back to [`UNKNOWN_CODEC`].
pub const CODECS: &[Codec] = &[
    Codec {
        encoding: "PCMU",
        impairment: CodecImpairment::G711_PLC,
        lookahead_ms: 0.0,
    },
    Codec {
        encoding: "PCMA",
        impairment: CodecImpairment::G711_PLC,
        lookahead_ms: 0.0,
    },
    Codec {
        encoding: "G722",
        impairment: CodecImpairment::G711_PLC,
        lookahead_ms: 1.5,
    },
    Codec {
        encoding: "G729",
        impairment: CodecImpairment::G729A,
        lookahead_ms: 5.0,
    },
    Codec {
        encoding: "G723",
        impairment: CodecImpairment::G723_1_6K3,
        lookahead_ms: 7.5,
    },
    Codec {
        encoding: "GSM",
        impairment: CodecImpairment::GSM_FR,
        lookahead_ms: 0.0,
    },
    Codec {
        encoding: "GSM-EFR",
        impairment: CodecImpairment::GSM_EFR,
        lookahead_ms: 0.0,
    },
];

/// The row used for an encoding name that is not in [`CODECS`]: [`CodecImpairment::UNKNOWN`] with
/// the 5 ms look-ahead of a typical CELP codec.
pub const UNKNOWN_CODEC: Codec = Codec {
    encoding: "",
    impairment: CodecImpairment::UNKNOWN,
    lookahead_ms: 5.0,
};

/// Finds a codec by RTP encoding name, ignoring ASCII case (`pcmu` finds `PCMU`).
///
/// Returns `None` for names not in [`CODECS`]; callers that need a value use [`UNKNOWN_CODEC`].
pub fn codec(encoding: &str) -> Option<&'static Codec> {
    CODECS
        .iter()
        .find(|c| c.encoding.eq_ignore_ascii_case(encoding))
}

/// Upper bound for the burst ratio `BurstR`: the top of the range G.107 Table 3 permits (1 to 8).
/// NaN is treated as this worst case.
pub const MAX_BURST_RATIO: f64 = 8.0;

/// Upper bound for any one-way delay, in milliseconds. G.107 Annex A warns that the model is not
/// validated for very long delays; above 10 s `Id` is saturated anyway. NaN and `+inf` are treated
/// as this worst case.
pub const MAX_ONE_WAY_DELAY_MS: f64 = 10_000.0;

/// Lower bound for `Bpl`, below every value in G.113 Appendix I. It keeps the `Ie,eff`
/// denominator away from zero when a caller passes 0 or NaN.
pub const MIN_BPL: f64 = 1.0;

// G.107 (06/2015) clause 7.7, Table 3: default values of the parameters this module does not take
// as inputs. Names follow the Recommendation.
/// Send loudness rating, dB.
const SLR: f64 = 8.0;
/// Receive loudness rating, dB.
const RLR: f64 = 2.0;
/// Sidetone masking rating, dB.
const STMR: f64 = 15.0;
/// Listener sidetone rating, dB.
const LSTR: f64 = 18.0;
/// D-value of the telephone, send side.
const DS: f64 = 3.0;
/// Talker echo loudness rating, dB.
const TELR: f64 = 65.0;
/// Weighted echo path loss, dB.
const WEPL: f64 = 110.0;
/// Number of quantizing distortion units.
const QDU: f64 = 1.0;
/// Circuit noise referred to the 0 dBr point, dBm0p.
const NC: f64 = -70.0;
/// Noise floor at the receive side, dBmp.
const NFOR: f64 = -64.0;
/// Room noise at the send side, dB(A).
const PS: f64 = 35.0;
/// Room noise at the receive side, dB(A).
const PR: f64 = 35.0;
/// Advantage factor.
const A: f64 = 0.0;
/// Minimum perceivable delay `mT` for `Idd`, ms (G.107 clause 7.4, default since the 2014
/// revision).
const MT_MS: f64 = 100.0;
/// Delay sensitivity `sT` for `Idd` (same clause; 1 is the default for carrier-grade telephony).
const ST: f64 = 1.0;

/// `10 lg x`.
fn db(x: f64) -> f64 {
    10.0 * x.log10()
}

/// `10^(x/10)`.
fn from_db(x: f64) -> f64 {
    10f64.powf(x / 10.0)
}

/// Overall loudness rating `OLR = SLR + RLR` (G.107 clause 7.2).
const OLR: f64 = SLR + RLR;

/// Power addition of all noise sources, `No` in dBm0p (G.107 clause 7.2, equations 7-3 to 7-7).
fn total_noise() -> f64 {
    let nos = PS - SLR - DS - 100.0 + 0.004 * (PS - OLR - DS - 14.0).powi(2);
    let pre = PR + db(1.0 + from_db(10.0 - LSTR));
    let nor = RLR - 121.0 + pre + 0.008 * (pre - 35.0).powi(2);
    let nfo = NFOR + RLR;
    db(from_db(NC) + from_db(nos) + from_db(nor) + from_db(nfo))
}

/// Basic signal-to-noise ratio `Ro = 15 - 1.5 (SLR + No)` (G.107 clause 7.2). About 94.77 with
/// the defaults.
fn basic_ratio() -> f64 {
    15.0 - 1.5 * (SLR + total_noise())
}

/// Simultaneous impairment factor `Is = Iolr + Ist + Iq` (G.107 clause 7.3) with the defaults and
/// `T = 0` in `STMRo`. About 1.41. The talker-echo term of `STMRo` is negligible at
/// `TELR = 65 dB`, so `Is` is taken as independent of delay.
fn simultaneous_impairment(ro: f64, no: f64) -> f64 {
    let xolr = OLR + 0.2 * (64.0 + no - RLR);
    let iolr = 20.0 * ((1.0 + (xolr / 8.0).powi(8)).powf(1.0 / 8.0) - xolr / 8.0);
    let stmro = -db(from_db(-STMR) + from_db(-TELR));
    let ist = 12.0 * (1.0 + ((stmro - 13.0) / 6.0).powi(8)).powf(1.0 / 8.0)
        - 28.0 * (1.0 + ((stmro + 1.0) / 19.4).powi(35)).powf(1.0 / 35.0)
        - 13.0 * (1.0 + ((stmro - 3.0) / 33.0).powi(13)).powf(1.0 / 13.0)
        + 29.0;
    let q = 37.0 - 15.0 * QDU.log10();
    let g = 1.07 + 0.258 * q + 0.0602 * q * q;
    let y = (ro - 100.0) / 15.0 + 46.0 / 8.4 - g / 9.0;
    let z = 46.0 / 30.0 - g / 40.0;
    let iq = 15.0 * (1.0 + 10f64.powf(y) + 10f64.powf(z)).log10();
    iolr + ist + iq
}

/// Clamps a delay in milliseconds to `[0, MAX_ONE_WAY_DELAY_MS]`, NaN to the maximum.
fn clamp_delay(ms: f64) -> f64 {
    if ms.is_nan() {
        MAX_ONE_WAY_DELAY_MS
    } else {
        ms.clamp(0.0, MAX_ONE_WAY_DELAY_MS)
    }
}

/// Pure-delay impairment `Idd` for an absolute one-way delay `Ta` in milliseconds (G.107 clause
/// 7.4, with the default `mT = 100 ms`, `sT = 1`).
///
/// Zero up to 100 ms, then rising smoothly and monotonically towards 50 (about 0.16 at 150 ms,
/// 24.1 at 400 ms). NaN is treated as [`MAX_ONE_WAY_DELAY_MS`], out-of-range values are clamped.
pub fn pure_delay_impairment(ta_ms: f64) -> f64 {
    let ta = clamp_delay(ta_ms);
    if ta <= MT_MS {
        return 0.0;
    }
    let x = (ta / MT_MS).log10() / 2f64.log10();
    let e = 6.0 * ST;
    25.0 * ((1.0 + x.powf(e)).powf(1.0 / e) - 3.0 * (1.0 + (x / 3.0).powf(e)).powf(1.0 / e) + 2.0)
}

/// Delay impairment factor `Id = Idte + Idle + Idd` (G.107 clause 7.4) for a mouth-to-ear delay in
/// milliseconds.
///
/// Assumes `Ta = T = d` (echo returns over the same path) and `Tr = 2d`, with the default
/// `TELR = 65 dB`, `WEPL = 110 dB` and `STMR = 15 dB` (so the `STMR < 9 dB` variant of `Idte` does
/// not apply). Non-decreasing in the delay. NaN is treated as [`MAX_ONE_WAY_DELAY_MS`],
/// out-of-range values are clamped.
pub fn delay_impairment(one_way_delay_ms: f64) -> f64 {
    let d = clamp_delay(one_way_delay_ms);
    let (t, tr) = (d, 2.0 * d);
    let no = total_noise();
    let ro = basic_ratio();
    // Talker echo (equations 7-20 to 7-23).
    let roe = -1.5 * (no - RLR);
    let terv =
        TELR - 40.0 * ((1.0 + t / 10.0) / (1.0 + t / 150.0)).log10() + 6.0 * (-0.3 * t * t).exp();
    let re = 80.0 + 2.5 * (terv - 14.0);
    let idte =
        ((roe - re) / 2.0 + ((roe - re).powi(2) / 4.0 + 100.0).sqrt() - 1.0) * (1.0 - (-t).exp());
    // Listener echo (equations 7-24 and 7-25).
    let rle = 10.5 * (WEPL + 7.0) * (tr + 1.0).powf(-0.25);
    let idle = (ro - rle) / 2.0 + ((ro - rle).powi(2) / 4.0 + 169.0).sqrt();
    idte + idle + pure_delay_impairment(d)
}

/// Effective equipment impairment `Ie,eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)` (G.107
/// clause 7.5, equation 7-29), with `Ppl` in percent.
///
/// `loss_ratio` is a fraction in `[0, 1]` (NaN: 1, the worst case); `burst_ratio` is clamped to
/// `[1, MAX_BURST_RATIO]` (NaN: the maximum). `Ie` is clamped to `[0, 95]` (NaN: 95) and `Bpl` to
/// at least [`MIN_BPL`] (NaN: [`MIN_BPL`]).
pub fn effective_equipment_impairment(
    codec: &CodecImpairment,
    loss_ratio: f64,
    burst_ratio: f64,
) -> f64 {
    let ie = if codec.ie.is_nan() {
        95.0
    } else {
        codec.ie.clamp(0.0, 95.0)
    };
    let bpl = if codec.bpl.is_nan() {
        MIN_BPL
    } else {
        codec.bpl.max(MIN_BPL)
    };
    let ppl = if loss_ratio.is_nan() {
        100.0
    } else {
        loss_ratio.clamp(0.0, 1.0) * 100.0
    };
    let burst_r = if burst_ratio.is_nan() {
        MAX_BURST_RATIO
    } else {
        burst_ratio.clamp(1.0, MAX_BURST_RATIO)
    };
    ie + (95.0 - ie) * ppl / (ppl / burst_r + bpl)
}

/// Transmission rating factor `R = Ro - Is - Id - Ie,eff + A` (G.107 clause 7.1).
///
/// Every parameter other than the arguments is at its G.107 Table 3 default (see the module doc),
/// so with `ie = 0`, no loss and no delay the result is 93.2. `loss_ratio` is the fraction of
/// packets lost or discarded in `[0, 1]`; `burst_ratio` is `BurstR` (1 for random loss);
/// `one_way_delay_ms` is the mouth-to-ear delay. Input handling is as in
/// [`effective_equipment_impairment`] and [`delay_impairment`]. The result is finite, at most 93.2,
/// and may be negative for very bad connections (`Ie,eff` is not bounded by 95 when
/// `BurstR > 1`); [`mos`] handles that.
pub fn r_factor(
    codec: &CodecImpairment,
    loss_ratio: f64,
    burst_ratio: f64,
    one_way_delay_ms: f64,
) -> f64 {
    let ro = basic_ratio();
    let is = simultaneous_impairment(ro, total_noise());
    ro - is
        - delay_impairment(one_way_delay_ms)
        - effective_equipment_impairment(codec, loss_ratio, burst_ratio)
        + A
}

/// Estimated mean opinion score (conversational quality, `MOS_CQE`) for a rating `R` (G.107
/// Annex B, equation B-4):
///
/// ```text
/// R <= 0:       MOS = 1
/// 0 < R < 100:  MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6
/// R >= 100:     MOS = 4.5
/// ```
///
/// The cubic dips slightly below 1 for `0 < R < 6.5`; the result is clamped to `[1, 4.5]`, which
/// also makes it non-decreasing in `R`. NaN gives 1 (the worst case).
pub fn mos(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6).clamp(1.0, 4.5)
    }
}

/// Assumed one-way network transit delay in milliseconds, added by [`mos_estimate`]. A passive
/// sensor sees one point of the path and cannot measure it. 20 ms is a typical in-region figure;
/// intercontinental paths add 100 ms or more, which this estimate does not see.
pub const NETWORK_DELAY_MS: f64 = 20.0;

/// The receiver's jitter buffer is assumed to hold this many times the RFC 3550 interarrival
/// jitter (a common sizing rule for adaptive buffers).
pub const JITTER_BUFFER_FACTOR: f64 = 2.0;

/// Packetisation assumed when the packet duration is unknown (NaN, zero or negative): the RFC 3551
/// default `ptime` of 20 ms.
pub const DEFAULT_PACKET_MS: f64 = 20.0;

/// Upper bound for the packet duration in milliseconds (anything longer is clamped to this).
pub const MAX_PACKET_MS: f64 = 1_000.0;

/// The result of [`mos_estimate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Transmission rating factor `R` (G.107 clause 7.1). Finite; may be below 0.
    pub r: f64,
    /// Estimated MOS in `[1, 4.5]` (G.107 Annex B).
    pub mos: f64,
    /// The one-way mouth-to-ear delay the estimate assumed, in milliseconds (before the clamp to
    /// [`MAX_ONE_WAY_DELAY_MS`]).
    pub delay_ms_assumed: f64,
    /// Whether the encoding name was in [`CODECS`]; if not, [`UNKNOWN_CODEC`] was used.
    pub codec_known: bool,
}

/// Estimates R and MOS for one RTP stream from what a passive sensor measures.
///
/// The one-way delay is assumed to be
///
/// ```text
/// NETWORK_DELAY_MS + packet_ms + lookahead + JITTER_BUFFER_FACTOR * jitter_ms
/// ```
///
/// that is 20 ms of network transit, one packet of packetisation, the codec's look-ahead from
/// [`CODECS`], and a jitter buffer of twice the jitter. Decoder and playout processing time is not
/// added. Loss is taken as random (`BurstR = 1`).
///
/// - `encoding`: the RTP encoding name from the SDP `a=rtpmap` (or the static payload type);
///   unknown names use [`UNKNOWN_CODEC`] and set [`Estimate::codec_known`] to `false`.
/// - `loss_ratio`: lost packets over expected packets, in `[0, 1]`; NaN counts as total loss.
/// - `jitter_ms`: the RFC 3550 interarrival jitter in milliseconds; negative values count as 0,
///   NaN and values above [`MAX_ONE_WAY_DELAY_MS`] as that maximum.
/// - `packet_ms`: audio per packet (`ptime`); NaN, zero or negative means unknown and uses
///   [`DEFAULT_PACKET_MS`]; values above [`MAX_PACKET_MS`] are clamped.
pub fn mos_estimate(encoding: &str, loss_ratio: f64, jitter_ms: f64, packet_ms: f64) -> Estimate {
    let (row, codec_known) = match codec(encoding) {
        Some(row) => (row, true),
        None => (&UNKNOWN_CODEC, false),
    };
    let jitter = clamp_delay(jitter_ms);
    let packet = if packet_ms.is_nan() || packet_ms <= 0.0 {
        DEFAULT_PACKET_MS
    } else {
        packet_ms.min(MAX_PACKET_MS)
    };
    let delay = NETWORK_DELAY_MS + packet + row.lookahead_ms + JITTER_BUFFER_FACTOR * jitter;
    let r = r_factor(&row.impairment, loss_ratio, 1.0, delay);
    Estimate {
        r,
        mos: mos(r),
        delay_ms_assumed: delay,
        codec_known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    #[test]
    fn defaults_give_r_93_2() {
        // G.107 clause 7.7: all defaults give R = 93.2 (Ro 94.77, Is 1.41, Id 0.15).
        close(basic_ratio(), 94.77, 0.01);
        close(
            simultaneous_impairment(basic_ratio(), total_noise()),
            1.41,
            0.01,
        );
        close(delay_impairment(0.0), 0.15, 0.01);
        close(
            r_factor(&CodecImpairment::G711_PLC, 0.0, 1.0, 0.0),
            93.2,
            0.1,
        );
    }

    #[test]
    fn mos_of_93_2_is_4_41() {
        close(mos(93.2), 4.41, 0.005);
    }

    #[test]
    fn mos_is_clamped_at_both_ends() {
        assert_eq!(mos(0.0), 1.0);
        assert_eq!(mos(-50.0), 1.0);
        assert_eq!(mos(f64::NEG_INFINITY), 1.0);
        assert_eq!(mos(f64::NAN), 1.0);
        assert_eq!(mos(3.0), 1.0, "the cubic dips below 1 here");
        assert_eq!(mos(100.0), 4.5);
        assert_eq!(mos(150.0), 4.5);
        assert_eq!(mos(f64::INFINITY), 4.5);
        // Equation B-4 by hand at the user-satisfaction boundaries of G.109: R = 50, 70, 90.
        close(mos(90.0), 4.34, 0.01);
        close(mos(70.0), 3.60, 0.01);
        close(mos(50.0), 2.58, 0.01);
        close(mos(60.0), 3.10, 1e-9);
    }

    #[test]
    fn pure_delay_impairment_is_zero_below_100_ms_and_grows_after() {
        for ms in [0.0, 10.0, 50.0, 99.9, 100.0] {
            assert_eq!(pure_delay_impairment(ms), 0.0, "at {ms} ms");
        }
        let mut previous = 0.0;
        for ms in [101.0, 150.0, 200.0, 300.0, 400.0, 600.0, 1000.0] {
            let idd = pure_delay_impairment(ms);
            assert!(idd > previous, "Idd({ms}) = {idd} <= {previous}");
            previous = idd;
        }
        // X = 1 at 200 ms: 25 ((2)^(1/6) - 3 (1 + 3^-6)^(1/6) + 2).
        let x1 = 25.0 * (2f64.powf(1.0 / 6.0) - 3.0 * (1.0 + 3f64.powi(-6)).powf(1.0 / 6.0) + 2.0);
        close(pure_delay_impairment(200.0), x1, 1e-9);
        close(pure_delay_impairment(400.0), 24.07, 0.01);
        assert!(pure_delay_impairment(MAX_ONE_WAY_DELAY_MS) < 50.0);
    }

    #[test]
    fn whole_delay_impairment_is_small_below_100_ms() {
        // Only the echo terms act below the Idd knee.
        close(delay_impairment(100.0), 2.69, 0.01);
        close(delay_impairment(150.0), 3.82, 0.01);
        close(delay_impairment(400.0), 31.11, 0.01);
    }

    #[test]
    fn g711_without_loss_gives_mos_4_4() {
        let e = mos_estimate("PCMU", 0.0, 0.0, 20.0);
        assert!(e.codec_known);
        assert_eq!(e.delay_ms_assumed, 40.0);
        close(e.r, 91.9, 0.2);
        close(e.mos, 4.4, 0.03);
        assert_eq!(mos_estimate("pcma", 0.0, 0.0, 20.0), e);
    }

    #[test]
    fn g729_gives_about_4_0() {
        let e = mos_estimate("G729", 0.0, 0.0, 20.0);
        assert_eq!(e.delay_ms_assumed, 45.0);
        close(e.r, 80.7, 0.3);
        close(e.mos, 4.05, 0.05);
        // With no delay at all, G.729A is exactly 11 below the G.711 rating.
        close(r_factor(&CodecImpairment::G729A, 0.0, 1.0, 0.0), 82.2, 0.1);
    }

    #[test]
    fn five_percent_loss_on_g711_without_plc_drops_mos_clearly() {
        // Equation 7-29 by hand: Ie,eff = 0 + 95 * 5 / (5 / 1 + 4.3) = 51.08.
        let ie_eff = 95.0 * 5.0 / (5.0 + 4.3);
        close(
            effective_equipment_impairment(&CodecImpairment::G711_NO_PLC, 0.05, 1.0),
            ie_eff,
            1e-9,
        );
        let clean = r_factor(&CodecImpairment::G711_NO_PLC, 0.0, 1.0, 40.0);
        let lossy = r_factor(&CodecImpairment::G711_NO_PLC, 0.05, 1.0, 40.0);
        close(clean - lossy, ie_eff, 1e-9);
        close(lossy, 40.8, 0.2);
        close(mos(lossy), 2.10, 0.03);
        // Concealment helps a lot: 95 * 5 / (5 + 25.1) = 15.78.
        let concealed = r_factor(&CodecImpairment::G711_PLC, 0.05, 1.0, 40.0);
        close(clean - concealed, 95.0 * 5.0 / 30.1, 1e-9);
        assert!(mos(concealed) > 3.8 && mos(lossy) < 2.2);
    }

    #[test]
    fn bursty_loss_hurts_more_than_random_loss() {
        let random = r_factor(&CodecImpairment::G729A, 0.02, 1.0, 50.0);
        let bursty = r_factor(&CodecImpairment::G729A, 0.02, 4.0, 50.0);
        assert!(bursty < random);
    }

    #[test]
    fn codec_lookup_ignores_case_and_falls_back() {
        assert_eq!(
            codec("g729").map(|c| c.impairment),
            Some(CodecImpairment::G729A)
        );
        assert_eq!(
            codec("Gsm-Efr").map(|c| c.impairment),
            Some(CodecImpairment::GSM_EFR)
        );
        assert_eq!(codec("opus"), None);
        assert_eq!(codec(""), None);
        let e = mos_estimate("opus", 0.0, 0.0, 20.0);
        assert!(!e.codec_known);
        assert_eq!(e.r, mos_estimate("G729", 0.0, 0.0, 20.0).r);
    }

    #[test]
    fn unknown_packet_duration_uses_20_ms() {
        let known = mos_estimate("PCMA", 0.01, 5.0, 20.0);
        for ms in [0.0, -3.0, f64::NAN] {
            assert_eq!(
                mos_estimate("PCMA", 0.01, 5.0, ms),
                known,
                "packet_ms = {ms}"
            );
        }
        assert_eq!(mos_estimate("PCMA", 0.01, 5.0, 30.0).delay_ms_assumed, 60.0);
    }

    #[test]
    fn nan_and_infinite_inputs_are_worst_case_or_clamped() {
        let worst = r_factor(
            &CodecImpairment::G711_PLC,
            1.0,
            MAX_BURST_RATIO,
            MAX_ONE_WAY_DELAY_MS,
        );
        let nan = f64::NAN;
        assert_eq!(r_factor(&CodecImpairment::G711_PLC, nan, nan, nan), worst);
        assert_eq!(
            r_factor(
                &CodecImpairment::G711_PLC,
                1.0,
                f64::INFINITY,
                f64::INFINITY
            ),
            worst
        );
        assert_eq!(
            r_factor(&CodecImpairment::G711_PLC, -1.0, -1.0, f64::NEG_INFINITY),
            r_factor(&CodecImpairment::G711_PLC, 0.0, 1.0, 0.0)
        );
        let odd = CodecImpairment { ie: nan, bpl: nan };
        assert!(r_factor(&odd, 0.5, 1.0, 100.0).is_finite());
        let zero_bpl = CodecImpairment { ie: 0.0, bpl: 0.0 };
        assert!(r_factor(&zero_bpl, 0.0, 1.0, 0.0).is_finite());
        let e = mos_estimate("PCMU", nan, nan, nan);
        assert!(e.r.is_finite() && e.delay_ms_assumed.is_finite());
        assert_eq!(e.mos, 1.0);
    }

    fn any_codec() -> impl Strategy<Value = CodecImpairment> {
        prop::sample::select(vec![
            CodecImpairment::G711_PLC,
            CodecImpairment::G711_NO_PLC,
            CodecImpairment::G729A,
            CodecImpairment::G723_1_6K3,
            CodecImpairment::G723_1_5K3,
            CodecImpairment::GSM_EFR,
            CodecImpairment::GSM_FR,
        ])
    }

    proptest! {
        #[test]
        fn more_loss_never_raises_mos(
            codec in any_codec(),
            a in 0.0..=1.0f64,
            b in 0.0..=1.0f64,
            burst in 1.0..=MAX_BURST_RATIO,
            delay in 0.0..=MAX_ONE_WAY_DELAY_MS,
        ) {
            let (less, more) = if a <= b { (a, b) } else { (b, a) };
            let r_less = r_factor(&codec, less, burst, delay);
            let r_more = r_factor(&codec, more, burst, delay);
            prop_assert!(r_more <= r_less);
            prop_assert!(mos(r_more) <= mos(r_less));
        }

        #[test]
        fn more_delay_never_raises_mos(
            codec in any_codec(),
            loss in 0.0..=1.0f64,
            a in 0.0..=MAX_ONE_WAY_DELAY_MS,
            b in 0.0..=MAX_ONE_WAY_DELAY_MS,
        ) {
            let (short, long) = if a <= b { (a, b) } else { (b, a) };
            let r_short = r_factor(&codec, loss, 1.0, short);
            let r_long = r_factor(&codec, loss, 1.0, long);
            prop_assert!(r_long <= r_short + 1e-9);
            prop_assert!(mos(r_long) <= mos(r_short) + 1e-12);
        }

        #[test]
        fn more_jitter_never_raises_the_estimate(
            loss in 0.0..=1.0f64,
            a in 0.0..=1000.0f64,
            b in 0.0..=1000.0f64,
            packet in 0.0..=200.0f64,
        ) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let e_low = mos_estimate("PCMA", loss, low, packet);
            let e_high = mos_estimate("PCMA", loss, high, packet);
            prop_assert!(e_high.mos <= e_low.mos + 1e-12);
        }

        #[test]
        fn outputs_are_always_finite(
            codec in any_codec(),
            loss in prop::num::f64::ANY,
            burst in prop::num::f64::ANY,
            delay in prop::num::f64::ANY,
            jitter in prop::num::f64::ANY,
            packet in prop::num::f64::ANY,
        ) {
            let r = r_factor(&codec, loss, burst, delay);
            prop_assert!(r.is_finite());
            prop_assert!(r <= 93.3);
            let m = mos(r);
            prop_assert!((1.0..=4.5).contains(&m));
            let e = mos_estimate("G723", loss, jitter, packet);
            prop_assert!(e.r.is_finite() && e.mos.is_finite() && e.delay_ms_assumed.is_finite());
        }

        #[test]
        fn mos_is_non_decreasing_in_r(a in -10.0..=110.0f64, b in -10.0..=110.0f64) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(mos(low) <= mos(high));
        }

        #[test]
        fn valid_ranges_stay_finite(
            codec in any_codec(),
            loss in 0.0..=1.0f64,
            delay in 0.0..=MAX_ONE_WAY_DELAY_MS,
        ) {
            let r = r_factor(&codec, loss, 1.0, delay);
            prop_assert!(r.is_finite());
            let m = mos(r);
            prop_assert!(m.is_finite() && (1.0..=4.5).contains(&m));
        }
    }
}
