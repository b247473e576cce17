//! `srtp-downgrade` (sid 1004): an offer of protected media (SRTP) answered with plain RTP.
//!
//! # What raises it
//! The detector follows the SDP offer/answer exchange (RFC 3264) of each call (Call-ID):
//! - **The offer** is an INVITE (first or re-INVITE) or UPDATE request with SDP. When an INVITE has no SDP,
//!   the first reliable 18x or 2xx response to it with SDP is the offer, and the ACK (or PRACK) with SDP
//!   carries the answer (RFC 3261 §13.2.1, RFC 3262 §5).
//! - **The answer** is an 18x or 2xx response with SDP to the offer's CSeq (number and method), or that ACK.
//! - Media lines are compared by index (RFC 3264 §6: the answer has as many `m=` lines, in the same order). A
//!   line **offered secure** (a SAVP/SAVPF or DTLS profile, or `a=crypto`, or `a=fingerprint`) and
//!   **answered plain** (an RTP/AVP(F) profile, no `a=crypto`, no `a=zrtp-hash`, port not 0) is downgraded.
//!   Port 0 is a rejected stream, not a downgrade; an answer with ZRTP may still encrypt the media.
//!
//! One alert per call (the detector remembers the calls it reported), raised at the first downgraded answer
//! seen. `src_ip` is the answerer (the sender of that answer), `dest_ip` the offerer (the sender of the first
//! copy of the offer seen).
//!
//! # Following the hops
//! A proxy relays the offer and the answer, so each crosses the wire once per hop. An answer is compared
//! with the copy of the offer its sender received (the answer from the callee with the offer the proxy sent
//! to the callee), or with the first copy when its sender was not seen receiving one. So an SBC or media
//! relay that rewrites SDP per leg (SRTP toward the caller, RTP toward a trunk, with the same Call-ID) is not
//! a downgrade on either leg, while a proxy that strips SRTP from an answer is named as the answerer on the
//! leg where it did so.
//!
//! # Why it matters
//! An attacker on the signalling path (cleartext SIP, see `cleartext-sip`) can rewrite the answer to plain
//! RTP, or a misconfigured peer accepts only RTP: either way the call's media that the caller meant to
//! protect travels in the clear. Severity High.
//!
//! # Evidence
//! `call_id`, `mline` (the first downgraded line, from 0) and `mlines` (all of them), `media`,
//! `offered_proto`, `offered_suites` (the `a=crypto` suites offered), `offered_fingerprint` (its hash
//! function, when the offer had one), `answered_proto`, `answer_status` (a response) or `answer_method`
//! (`ACK`/`PRACK`), `transport` (of the answer).
//!
//! # False positives and tuning
//! "Best effort" SRTP (RFC 3264 has no such thing, but some PBXs offer `RTP/AVP` with `a=crypto` and accept
//! plain RTP in return) toward a peer without SRTP is reported: the media does travel in clear. A caller that
//! retries with an RTP-only offer after a 488 is not reported (the second offer asks for RTP). Calls are
//! followed for `idle_secs` without a message, at most `max_calls` at once (the least recently active are
//! dropped first).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, MediaSeen, Payload, SdpSeen, SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 1004,
    slug: "srtp-downgrade",
    category: Category::Encryption,
    severity: Severity::High,
    signature: "SRTP offer answered with plain RTP (media downgraded to cleartext)",
};

/// Copies of one offer kept (one per hop that received it): a call crosses a handful of proxies at most.
pub const MAX_HOPS: usize = 4;

/// Settings, `[detectors.srtp-downgrade]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Cap on calls followed.
    pub max_calls: usize,
    /// A call without a message for this many seconds is forgotten (an answer comes within Timer C, 3
    /// minutes, of its offer).
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self { enabled: true, max_calls: 16_384, idle_secs: 900 }
    }
}

/// An offered media line, as much as the alert needs.
#[derive(Debug, Clone)]
struct Offered {
    secure: bool,
    proto: Box<str>,
    suites: Vec<Box<str>>,
    fingerprint: Option<Box<str>>,
}

impl Offered {
    fn of(m: &MediaSeen) -> Self {
        Self {
            secure: m.secure_profile || m.dtls_profile || m.crypto_count > 0 || m.fingerprint.is_some(),
            proto: m.proto.clone(),
            suites: m.crypto_suites.clone(),
            fingerprint: m.fingerprint.as_ref().map(|(hash, _)| hash.clone()),
        }
    }
}

/// The answered line is plain RTP: an RTP/AVP(F) profile without keys of any kind, and not rejected.
fn answered_plain(m: &MediaSeen) -> bool {
    m.port != 0
        && !m.secure_profile
        && !m.dtls_profile
        && m.crypto_count == 0
        && !m.zrtp_hash
        && m.proto.to_ascii_uppercase().contains("RTP/AVP")
}

/// One hop's copy of the offer: who received it, and what it said.
#[derive(Debug, Clone)]
struct OfferCopy {
    receiver: IpAddr,
    lines: Vec<Offered>,
}

#[derive(Debug, Clone)]
struct Offer {
    /// CSeq number and method of the transaction that carries it.
    cseq: u32,
    method: Box<str>,
    /// Offered in a response (to an INVITE without SDP): answered by the ACK or PRACK.
    in_response: bool,
    /// Sender of the first copy seen.
    offerer: SocketAddr,
    copies: Vec<OfferCopy>,
}

#[derive(Debug, Clone, Default)]
struct Call {
    /// The CSeq of an INVITE without SDP, whose response will carry the offer.
    late_invite: Option<u32>,
    /// The open offer with a secure line, if any.
    offer: Option<Offer>,
    /// A downgrade was reported for this call.
    reported: bool,
}

/// The detector.
#[derive(Debug)]
pub struct SrtpDowngrade {
    calls: BoundedMap<Box<str>, Call>,
}

impl SrtpDowngrade {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        Self { calls: BoundedMap::new(cfg.max_calls, Duration::from_secs(cfg.idle_secs)) }
    }

    /// `m` carries an offer (`sdp`) in a request (`in_response` false) or in a response to an INVITE
    /// without SDP.
    fn offer(&mut self, m: &SipSeen, sdp: &SdpSeen, in_response: bool, now: PacketTime) {
        let lines: Vec<Offered> = sdp.media.iter().map(Offered::of).collect();
        let secure = lines.iter().any(|l| l.secure);
        let method: &str = if in_response { &m.cseq_method } else { m.method.as_deref().unwrap_or_default() };
        let call = if secure {
            self.calls.get_or_insert_with(m.call_id.clone(), now, Call::default)
        } else {
            // Nothing to downgrade: only an open offer of this call needs closing.
            match self.calls.get_mut(&m.call_id, now) {
                Some(c) => c,
                None => return,
            }
        };
        if call.reported {
            return;
        }
        let copy = OfferCopy { receiver: m.dst.ip(), lines };
        match &mut call.offer {
            // Another hop's copy (or a retransmission) of the open offer.
            Some(o) if o.cseq == m.cseq && *o.method == *method && o.in_response == in_response => {
                if o.copies.len() < MAX_HOPS && !o.copies.iter().any(|c| c.receiver == copy.receiver) {
                    o.copies.push(copy);
                }
            }
            _ if secure => {
                call.offer = Some(Offer {
                    cseq: m.cseq,
                    method: method.into(),
                    in_response,
                    offerer: m.src,
                    copies: vec![copy],
                });
            }
            _ => call.offer = None,
        }
    }

    /// `m` carries the answer `sdp` to the call's open offer.
    fn answer(&mut self, m: &SipSeen, sdp: &SdpSeen, cx: &mut Context<'_>) {
        let now = cx.now();
        let Some(call) = self.calls.get_mut(&m.call_id, now) else { return };
        let Some(offer) = &call.offer else { return };
        let Some(copy) = offer
            .copies
            .iter()
            .find(|c| c.receiver == m.src.ip())
            .or_else(|| offer.copies.first())
        else {
            return;
        };
        let downgraded: Vec<(usize, &Offered, &MediaSeen)> = sdp
            .media
            .iter()
            .enumerate()
            .filter_map(|(i, a)| copy.lines.get(i).map(|o| (i, o, a)))
            .filter(|(_, o, a)| o.secure && answered_plain(a))
            .collect();
        let Some(&(first, offered, answered)) = downgraded.first() else { return };
        let mut alert = Alert::new(&META, now)
            .src(Some(m.src.ip()), Some(m.src.port()))
            .dest(Some(offer.offerer.ip()), Some(offer.offerer.port()))
            .proto(match m.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(m.call_id.to_string())
            .evidence("call_id", Value::Str(m.call_id.to_string()))
            .evidence("mline", Value::U64(first as u64))
            .evidence("mlines", Value::List(downgraded.iter().map(|(i, _, _)| Value::U64(*i as u64)).collect()))
            .evidence("media", Value::Str(answered.kind.to_string()))
            .evidence("offered_proto", Value::Str(offered.proto.to_string()))
            .evidence(
                "offered_suites",
                Value::List(offered.suites.iter().map(|s| Value::Str(s.to_string())).collect()),
            );
        if let Some(hash) = &offered.fingerprint {
            alert = alert.evidence("offered_fingerprint", Value::Str(hash.to_string()));
        }
        alert = alert
            .evidence("answered_proto", Value::Str(answered.proto.to_string()));
        // One type per key (a SIEM maps each field once): the answering request's method, or the status.
        if let Some(method) = &m.method {
            alert = alert.evidence("answer_method", Value::Str(method.to_string()));
        }
        if let Some(status) = m.status {
            alert = alert.evidence("answer_status", Value::U64(u64::from(status)));
        }
        alert = alert.evidence("transport", Value::Str(m.transport.name().into()));
        cx.raise(alert);
        call.reported = true;
        call.offer = None;
        call.late_invite = None;
    }
}

impl Detector for SrtpDowngrade {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        if let Some(method) = m.method.as_deref() {
            match (method, &m.sdp) {
                ("INVITE" | "UPDATE", Some(sdp)) => self.offer(m, sdp, false, now),
                // An INVITE without a body: its response will offer. (A body that did not parse is unknown.)
                ("INVITE", None) if !m.has_sdp => {
                    let call = self.calls.get_or_insert_with(m.call_id.clone(), now, Call::default);
                    if !call.reported {
                        call.late_invite = Some(m.cseq);
                        call.offer = None;
                    }
                }
                ("ACK" | "PRACK", Some(sdp)) => {
                    let open = self.calls.get(&m.call_id).and_then(|c| c.offer.as_ref()).is_some_and(|o| {
                        o.in_response && (method == "PRACK" || o.cseq == m.cseq)
                    });
                    if open {
                        self.answer(m, sdp, cx);
                    }
                }
                _ => {}
            }
        } else if let (Some(status), Some(sdp)) = (m.status, &m.sdp) {
            if !matches!(status, 180..=189 | 200..=299) {
                return;
            }
            let Some(call) = self.calls.get(&m.call_id) else { return };
            let answers = call
                .offer
                .as_ref()
                .is_some_and(|o| !o.in_response && o.cseq == m.cseq && *o.method == *m.cseq_method);
            if answers {
                self.answer(m, sdp, cx);
            } else if call.late_invite == Some(m.cseq) && &*m.cseq_method == "INVITE" {
                self.offer(m, sdp, true, now);
            }
        }
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.calls.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("calls", self.calls.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip, media, with_crypto};

    const CALLER: &str = "10.0.0.11:5060";
    const PROXY: &str = "10.0.0.1:5060";
    const CALLEE: &str = "10.0.0.12:5060";
    const SUITE: &str = "AES_CM_128_HMAC_SHA1_80";

    fn savp(port: u16) -> Vec<MediaSeen> {
        vec![with_crypto(media("RTP/SAVP", port), &[SUITE])]
    }

    fn avp(port: u16) -> Vec<MediaSeen> {
        vec![media("RTP/AVP", port)]
    }

    /// A call relayed by the proxy: the INVITE offers `offer`, the 200 answers `answer`.
    fn call(s: &mut Scenario, at: u64, id: &str, offer: &[MediaSeen], answer: &[MediaSeen]) {
        let inv = |src, dst| Sip::request("INVITE", src, dst).call(id).sdp(offer.to_vec()).payload();
        let ok = |src, dst| Sip::response(200, "INVITE", src, dst).call(id).sdp(answer.to_vec()).payload();
        s.at_ms(at, inv(CALLER, PROXY));
        s.at_ms(at + 1, Sip::response(100, "INVITE", PROXY, CALLER).call(id).payload());
        s.at_ms(at + 2, inv(PROXY, CALLEE));
        s.at_ms(at + 3, Sip::response(180, "INVITE", CALLEE, PROXY).call(id).payload());
        s.at_ms(at + 4, ok(CALLEE, PROXY));
        s.at_ms(at + 5, ok(PROXY, CALLER));
        s.at_ms(at + 6, Sip::request("ACK", CALLER, PROXY).call(id).payload());
    }

    #[test]
    fn an_sdes_offer_answered_with_rtp_is_one_alert_naming_answerer_and_offerer() {
        let mut s = Scenario::new();
        call(&mut s, 0, "c1", &savp(16000), &avp(20000));
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("10.0.0.12".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.evidence.get("call_id"), Some(&Value::Str("c1".into())));
        assert_eq!(a.evidence.get("mline"), Some(&Value::U64(0)));
        assert_eq!(a.evidence.get("offered_proto"), Some(&Value::Str("RTP/SAVP".into())));
        assert_eq!(a.evidence.get("offered_suites"), Some(&Value::List(vec![Value::Str(SUITE.into())])));
        assert_eq!(a.evidence.get("answered_proto"), Some(&Value::Str("RTP/AVP".into())));
        assert_eq!(a.evidence.get("answer_status"), Some(&Value::U64(200)));
    }

    #[test]
    fn secure_answers_rejected_lines_and_plain_offers_are_quiet() {
        let mut s = Scenario::new();
        call(&mut s, 0, "sdes", &savp(16000), &savp(20000));
        call(&mut s, 100, "plain", &avp(16000), &avp(20000));
        call(&mut s, 200, "rejected", &savp(16000), &avp(0));
        let mut zrtp = media("RTP/AVP", 20000);
        zrtp.zrtp_hash = true;
        call(&mut s, 300, "zrtp", &savp(16000), &[zrtp]);
        // T.38 in answer to a secure audio offer is not RTP.
        call(&mut s, 400, "fax", &savp(16000), &[media("udptl", 20000)]);
        assert!(s.run(SrtpDowngrade::new(&Config::default())).is_empty());
    }

    #[test]
    fn dtls_fingerprint_and_best_effort_offers_count_as_secure() {
        let mut dtls = media("UDP/TLS/RTP/SAVPF", 16000);
        dtls.fingerprint = Some(("sha-256".into(), "ab:cd".into()));
        let best_effort = with_crypto(media("RTP/AVP", 16002), &[SUITE]);
        let mut s = Scenario::new();
        call(&mut s, 0, "dtls", &[dtls], &[media("RTP/AVPF", 20000)]);
        call(&mut s, 100, "best-effort", &[best_effort], &avp(20000));
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("offered_fingerprint"), Some(&Value::Str("sha-256".into())));
        assert_eq!(alerts[1].evidence.get("offered_proto"), Some(&Value::Str("RTP/AVP".into())));
    }

    #[test]
    fn lines_are_compared_by_index_and_all_downgraded_ones_listed() {
        let offer = vec![media("RTP/AVP", 16000), with_crypto(media("RTP/SAVP", 16002), &[SUITE]), with_crypto(media("RTP/SAVP", 16004), &[SUITE])];
        let mut video = media("RTP/AVP", 20004);
        video.kind = "video".into();
        let answer = vec![media("RTP/AVP", 20000), media("RTP/SAVP", 0), video];
        let mut s = Scenario::new();
        call(&mut s, 0, "c", &offer, &answer);
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].evidence.get("mline"), Some(&Value::U64(2)));
        assert_eq!(alerts[0].evidence.get("mlines"), Some(&Value::List(vec![Value::U64(2)])));
        assert_eq!(alerts[0].evidence.get("media"), Some(&Value::Str("video".into())));
    }

    #[test]
    fn a_late_offer_in_the_200_is_answered_by_the_ack() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, CALLEE).payload());
        s.at_ms(1, Sip::response(200, "INVITE", CALLEE, CALLER).sdp(savp(20000)).payload());
        s.at_ms(2, Sip::request("ACK", CALLER, CALLEE).tcp().sdp(avp(16000)).payload());
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        // The answerer is the caller, the offerer the callee.
        assert_eq!(alerts[0].src_ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(alerts[0].dest_ip, Some("10.0.0.12".parse().unwrap()));
        assert_eq!(alerts[0].evidence.get("answer_method"), Some(&Value::Str("ACK".into())));
        assert_eq!(alerts[0].evidence.get("transport"), Some(&Value::Str("TCP".into())));
        // The 200 offering is not itself an answer to anything: with a secure ACK, nothing.
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, CALLEE).payload());
        s.at_ms(1, Sip::response(200, "INVITE", CALLEE, CALLER).sdp(avp(20000)).payload());
        s.at_ms(2, Sip::request("ACK", CALLER, CALLEE).sdp(avp(16000)).payload());
        assert!(s.run(SrtpDowngrade::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_re_invite_and_an_update_are_offers_and_the_call_is_reported_once() {
        let mut s = Scenario::new();
        call(&mut s, 0, "c", &savp(16000), &savp(20000));
        // Re-INVITE from the callee, downgraded by the caller's answer; then an UPDATE downgraded again.
        s.at_ms(5_000, Sip::request("INVITE", CALLEE, CALLER).call("c").cseq(7).sdp(savp(20000)).payload());
        s.at_ms(5_001, Sip::response(200, "INVITE", CALLER, CALLEE).call("c").cseq(7).sdp(avp(16000)).payload());
        s.at_ms(6_000, Sip::request("UPDATE", CALLER, CALLEE).call("c").cseq(2).sdp(savp(16000)).payload());
        s.at_ms(6_001, Sip::response(200, "UPDATE", CALLEE, CALLER).call("c").cseq(2).sdp(avp(20000)).payload());
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(alerts[0].dest_ip, Some("10.0.0.12".parse().unwrap()));
    }

    #[test]
    fn an_answer_to_another_transaction_is_not_this_offers_answer() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, CALLEE).cseq(5).sdp(savp(16000)).payload());
        // A 200 with plain SDP for CSeq 4 (a stale transaction) or for another method.
        s.at_ms(1, Sip::response(200, "INVITE", CALLEE, CALLER).cseq(4).sdp(avp(20000)).payload());
        s.at_ms(2, Sip::response(200, "UPDATE", CALLEE, CALLER).cseq(5).sdp(avp(20000)).payload());
        // A 488 refuses the offer: not an answer.
        s.at_ms(3, Sip::response(488, "INVITE", CALLEE, CALLER).cseq(5).sdp(avp(20000)).payload());
        assert!(s.run(SrtpDowngrade::new(&Config::default())).is_empty());
    }

    #[test]
    fn an_sbc_rewriting_each_leg_is_not_a_downgrade_but_a_proxy_stripping_srtp_is() {
        // The proxy offers RTP to the callee (it does the SRTP itself) and answers SRTP to the caller.
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(savp(16000)).payload());
        s.at_ms(1, Sip::request("INVITE", PROXY, CALLEE).sdp(avp(30000)).payload());
        s.at_ms(2, Sip::response(200, "INVITE", CALLEE, PROXY).sdp(avp(20000)).payload());
        s.at_ms(3, Sip::response(200, "INVITE", PROXY, CALLER).sdp(savp(30002)).payload());
        assert!(s.run(SrtpDowngrade::new(&Config::default())).is_empty());
        // The callee answered SRTP, but the proxy passes RTP on to the caller: the proxy is the answerer.
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(savp(16000)).payload());
        s.at_ms(1, Sip::request("INVITE", PROXY, CALLEE).sdp(savp(16000)).payload());
        s.at_ms(2, Sip::response(200, "INVITE", CALLEE, PROXY).sdp(savp(20000)).payload());
        s.at_ms(3, Sip::response(200, "INVITE", PROXY, CALLER).sdp(avp(20000)).payload());
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].src_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(alerts[0].dest_ip, Some("10.0.0.11".parse().unwrap()));
    }

    #[test]
    fn an_early_answer_in_a_183_counts() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, CALLEE).sdp(savp(16000)).payload());
        s.at_ms(1, Sip::response(183, "INVITE", CALLEE, CALLER).sdp(avp(20000)).payload());
        let alerts = s.run(SrtpDowngrade::new(&Config::default()));
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].evidence.get("answer_status"), Some(&Value::U64(183)));
    }

    #[test]
    fn the_call_table_stays_bounded_under_an_invite_flood() {
        let cfg = Config { max_calls: 100, ..Config::default() };
        let mut d = SrtpDowngrade::new(&cfg);
        let mut out = Vec::new();
        for i in 0..3_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            // Half offer SRTP, half have no SDP (late offers): both are followed.
            let m = Sip::request("INVITE", "192.0.2.66:5060", PROXY).call(&format!("c{i}"));
            let m = if i % 2 == 0 { m.sdp(savp(16000)) } else { m };
            let ev = Event { seq: u64::from(i), ts, payload: m.payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        // Plain offers create nothing.
        let before = d.calls.stats();
        for i in 0..1_000u32 {
            let ts = PacketTime::from_secs(100);
            let m = Sip::request("INVITE", "192.0.2.66:5060", PROXY).call(&format!("p{i}")).sdp(avp(16000));
            let ev = Event { seq: u64::from(i), ts, payload: m.payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert!(out.is_empty());
        let t = d.calls.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
        assert_eq!(t.evicted, before.evicted);
    }
}
