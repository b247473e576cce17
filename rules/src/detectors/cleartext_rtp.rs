//! `cleartext-rtp` (sid 1002): a media stream that travels as plain RTP, so anyone on the path can record the
//! conversation.
//!
//! # What raises it
//! Workers report each RTP stream (sender, receiver, SSRC) once it is confirmed over a few packets, with what
//! the packets themselves show (see [`MediaEvidence`]). The engine ties the stream to its call through the
//! SDP before this detector sees it; then, for each new stream:
//! - **signalling seen**: the SDP of the call negotiated plain RTP for the stream's `m=` line (`RTP/AVP` or
//!   `RTP/AVPF`, no `a=crypto`, no DTLS fingerprint; or one side offered or answered plain), and the media did
//!   not show a ZRTP or DTLS handshake (ZRTP keys SRTP over a plain `RTP/AVP` profile): reason `sdp-plain`;
//! - **SDP says SRTP, packets say otherwise**: the SDP negotiated SRTP, but nearly every judged packet is
//!   exactly the codec's frame for its timestamp step, with no room for an authentication tag: reason
//!   `sdp-srtp-plain-payload` (a broken or downgraded SRTP stack, or a middlebox that decrypts);
//! - **no signalling seen** (SIP over TLS, or signalling outside the capture): nearly every judged packet of a
//!   fixed-rate static codec (G.711, G.722, G.729, GSM, G.728) is exactly the codec's frame, while SRTP would
//!   add a 4- or 10-byte tag: reason `codec-sized-payload`.
//!
//! A stream is reported once (the engine's suppression keeps one alert per stream per window). `src_ip` is the
//! stream's sender, `dest_ip` its receiver.
//!
//! # False positives and tuning
//! Plain RTP inside an IPsec or WireGuard tunnel the sensor sees decrypted is still reported: the link the
//! sensor watches carries it in the clear. Dynamic-payload codecs (Opus, AMR, ...) without signalling cannot be
//! judged by size and are not reported (`unknown` in the call records). `media_only = false` turns off the
//! judgement without signalling.

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Encryption, Event, EventKind, Interests, MediaEvidence, Payload, RtpStart};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 1002,
    slug: "cleartext-rtp",
    category: Category::Encryption,
    severity: Severity::Medium,
    signature: "Media stream sent as unencrypted RTP",
};

/// Settings, `[detectors.cleartext-rtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Judge streams no signalling explains by their payload sizes.
    pub media_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            media_only: true,
        }
    }
}

/// The detector.
#[derive(Debug)]
pub struct CleartextRtp {
    media_only: bool,
}

impl CleartextRtp {
    /// A detector with `cfg`.
    pub fn new(cfg: &Config) -> Self {
        Self {
            media_only: cfg.media_only,
        }
    }

    fn judge(
        &self,
        s: &RtpStart,
        cx: &Context<'_>,
    ) -> Option<(&'static str, Option<String>, Option<String>)> {
        let ev: &MediaEvidence = &s.evidence;
        let handshake = ev.zrtp || ev.dtls;
        let view = cx.calls().and_then(|c| c.stream(&s.key, s.first_seq));
        match view {
            // Media injected into a call or diverted out of it is rtp-injection's and media-redirect's
            // business, not a statement about how the call is protected.
            Some(v) if v.foreign => None,
            Some(v) if v.call_id.is_some() => {
                let call = v.call_id.map(str::to_owned);
                let proto = v.proto.map(str::to_owned);
                match v.sdp_encryption {
                    Some(Encryption::Rtp) if !handshake => Some(("sdp-plain", call, proto)),
                    Some(e) if e.is_encrypted() && ev.verdict() == Some(Encryption::Rtp) => {
                        Some(("sdp-srtp-plain-payload", call, proto))
                    }
                    // Tied to a call whose SDP did not say (no SDP for this m= line yet): judge the packets.
                    None if self.media_only && ev.verdict() == Some(Encryption::Rtp) => {
                        Some(("codec-sized-payload", call, proto))
                    }
                    _ => None,
                }
            }
            _ if self.media_only && ev.verdict() == Some(Encryption::Rtp) => {
                Some(("codec-sized-payload", None, None))
            }
            _ => None,
        }
    }
}

impl Detector for CleartextRtp {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Rtp)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::RtpStart(s) = &ev.payload else {
            return;
        };
        let Some((reason, call_id, proto)) = self.judge(s, cx) else {
            return;
        };
        let k = &s.key;
        // One alert per stream of each call (a device that keeps its ports and SSRC from call to call makes
        // a new stream per call).
        let key = match &call_id {
            Some(c) => format!("{c}/{}>{}/{:08x}", k.src, k.dst, k.ssrc),
            None => format!("{}>{}/{:08x}", k.src, k.dst, k.ssrc),
        };
        let mut a = Alert::new(&META, ev.ts)
            .src(Some(k.src.ip()), Some(k.src.port()))
            .dest(Some(k.dst.ip()), Some(k.dst.port()))
            .proto(Proto::Udp)
            .key(key)
            .evidence("reason", Value::Str(reason.to_owned()))
            .evidence("ssrc", Value::Str(format!("0x{:08x}", k.ssrc)))
            .evidence("payload_type", Value::U64(u64::from(s.payload_type)));
        if let Some(c) = call_id {
            a = a.evidence("call_id", Value::Str(c));
        }
        if let Some(p) = proto {
            a = a.evidence("sdp_proto", Value::Str(p));
        }
        if s.evidence.judged > 0 {
            a = a
                .evidence("packets_judged", Value::U64(u64::from(s.evidence.judged)))
                .evidence(
                    "codec_sized_packets",
                    Value::U64(u64::from(s.evidence.codec_sized)),
                );
        }
        cx.raise(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::CallTracker;
    use crate::event::{SipSeen, StreamKey};
    use crate::testkit;
    use crate::time::PacketTime;

    fn invite(proto: &str, crypto: u16, from_caller: bool) -> SipSeen {
        let (src, dst, port, ip) = if from_caller {
            ("10.0.0.11:5060", "10.0.0.12:5060", 16000, "10.0.0.11")
        } else {
            ("10.0.0.12:5060", "10.0.0.11:5060", 20000, "10.0.0.12")
        };
        let mut md = testkit::media(proto, port);
        md.rtcp_port = Some(port + 1);
        if crypto > 0 {
            md = testkit::with_crypto(md, &["AES_CM_128_HMAC_SHA1_80"]);
        }
        let b = if from_caller {
            testkit::Sip::request("INVITE", src, dst)
        } else {
            testkit::Sip::response(200, "INVITE", src, dst)
        };
        let mut m = b.call("c1").tags("a", None).sdp(vec![md]).seen();
        if let Some(sdp) = m.sdp.as_mut() {
            sdp.session_addr = Some(ip.parse().unwrap());
        }
        m
    }

    fn start(evidence: MediaEvidence) -> RtpStart {
        RtpStart {
            key: StreamKey {
                src: "10.0.0.11:16000".parse().unwrap(),
                dst: "10.0.0.12:20000".parse().unwrap(),
                ssrc: 7,
            },
            first_seq: 100,
            first: PacketTime::ZERO,
            payload_type: 0,
            evidence,
        }
    }

    fn run(calls: &mut CallTracker, s: &RtpStart) -> Vec<Alert> {
        calls.on_rtp_start(PacketTime::ZERO, s);
        let mut out = Vec::new();
        let mut d = CleartextRtp::new(&Config::default());
        let mut cx = Context::with_calls(PacketTime::ZERO, &mut out, calls);
        let ev = Event {
            seq: 1,
            ts: PacketTime::ZERO,
            payload: Payload::RtpStart(Box::new(s.clone())),
        };
        d.on_event(&ev, &mut cx);
        out
    }

    const PLAIN: MediaEvidence = MediaEvidence {
        codec_sized: 10,
        tag_sized: 0,
        judged: 10,
        dtls: false,
        zrtp: false,
        stun: false,
    };
    const TAGGED: MediaEvidence = MediaEvidence {
        codec_sized: 0,
        tag_sized: 10,
        judged: 10,
        dtls: false,
        zrtp: false,
        stun: false,
    };

    #[test]
    fn a_stream_of_a_plain_rtp_call_is_reported() {
        let mut calls = CallTracker::default();
        calls.on_sip(PacketTime::ZERO, &invite("RTP/AVP", 0, true));
        calls.on_sip(PacketTime::ZERO, &invite("RTP/AVP", 0, false));
        let a = run(&mut calls, &start(MediaEvidence::default()));
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].evidence.get("reason"),
            Some(&Value::Str("sdp-plain".into()))
        );
        assert_eq!(a[0].dest_port, Some(20000));
    }

    #[test]
    fn an_srtp_call_is_silent_unless_its_packets_are_plain() {
        let mut calls = CallTracker::default();
        calls.on_sip(PacketTime::ZERO, &invite("RTP/SAVP", 1, true));
        calls.on_sip(PacketTime::ZERO, &invite("RTP/SAVP", 1, false));
        assert!(run(&mut calls, &start(TAGGED)).is_empty());
        let a = run(&mut calls, &start(PLAIN));
        assert_eq!(
            a[0].evidence.get("reason"),
            Some(&Value::Str("sdp-srtp-plain-payload".into()))
        );
    }

    #[test]
    fn a_downgraded_answer_makes_the_media_plain() {
        let mut calls = CallTracker::default();
        calls.on_sip(PacketTime::ZERO, &invite("RTP/SAVP", 1, true));
        calls.on_sip(PacketTime::ZERO, &invite("RTP/AVP", 0, false));
        assert_eq!(run(&mut calls, &start(MediaEvidence::default())).len(), 1);
    }

    #[test]
    fn without_signalling_the_payload_sizes_decide() {
        let mut calls = CallTracker::default();
        assert_eq!(run(&mut calls, &start(PLAIN)).len(), 1);
        assert!(run(&mut calls, &start(TAGGED)).is_empty());
        assert!(run(&mut calls, &start(MediaEvidence::default())).is_empty());
        let zrtp = MediaEvidence {
            zrtp: true,
            ..PLAIN
        };
        assert!(run(&mut calls, &start(zrtp)).is_empty());
    }
}
