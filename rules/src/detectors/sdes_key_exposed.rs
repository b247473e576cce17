//! `sdes-key-exposed` (sid 1003): SRTP master keys (`a=crypto ... inline:`) carried in SIP that is not
//! inside TLS.
//!
//! # What raises it
//! SDES (RFC 4568) puts the SRTP master key and salt in the SDP itself. RFC 4568 §8.3 requires the
//! signalling that carries them to be protected (TLS, or S/MIME); in cleartext SIP anyone who sees the SDP
//! can decrypt the call's media, which then only looks encrypted. Every SIP message the sensor reads is
//! cleartext (SIP over TLS is never decrypted), so an SDP media line with inline keys (`inline_keys`) in any
//! SIP event is an exposed key. The key material itself is never copied into events, so it cannot reach an
//! alert.
//!
//! # One alert per exposed key
//! A key belongs to the party that wrote the SDP and to its media line. The party is named by its dialog
//! tag, which every hop carries unchanged: the From tag for a request, the To tag for a response (RFC 3261
//! §12: the UAS adds its tag to To). So the alert key is (Call-ID, author's tag, m-line index):
//! - a request relayed by a proxy, or retransmitted, is the same key (same Call-ID, same From tag);
//! - the caller's key in the INVITE and the callee's key in the 200 are two keys (different tags), also in
//!   a late offer (the 200 offers, the ACK answers);
//! - two callees of a forked INVITE answering with their own keys are two keys (two To tags);
//! - a re-INVITE or UPDATE by the same party for the same media line is the same key. The event does not
//!   carry the key, so a re-keying cannot be told from a repeat; once a party's key for a stream has been
//!   exposed, that stream of the call is compromised, and one alert says so.
//!
//! This is better than keying on "offer or answer": a re-INVITE by the callee is an offer too, and would
//! merge with the caller's. When a message has no tag to name its author (broken UAs), the side
//! (`request`/`response`) stands in for it.
//!
//! Each media line with keys is one alert; a line's several `a=crypto` alternatives (RFC 4568 §5.1.2) are
//! one alert, as the offerer generated them together. The table of reported keys forgets a key idle for
//! `idle_secs`.
//!
//! # Evidence
//! `call_id`, `mline` (the index of the `m=` line, from 0), `media` (`audio`, `video`, ...), `proto`,
//! `crypto_suites` (at most four) and `crypto_count`, `transport`, and `method` for a request or `status`
//! with `cseq_method` for a response. `src_ip`/`dest_ip` are the sender and receiver of the first copy seen.
//!
//! # False positives and tuning
//! None: the keys crossed the wire. The fix is SIP over TLS (or DTLS-SRTP, which keeps keys off
//! signalling). Severity High: the media of the call is readable by anyone who captured the SIP.

use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 1003,
    slug: "sdes-key-exposed",
    category: Category::Encryption,
    severity: Severity::High,
    signature: "SDES SRTP key (a=crypto inline) sent in cleartext SIP",
};

/// Settings, `[detectors.sdes-key-exposed]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// A reported key not seen again for this many seconds is forgotten (seen again later, it is reported
    /// again).
    pub idle_secs: u64,
    /// Cap on remembered keys.
    pub max_keys: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { enabled: true, idle_secs: 3600, max_keys: 65_536 }
    }
}

/// An exposed key: (Call-ID, the author's tag or side, m-line index).
type KeyId = (Box<str>, Box<str>, usize);

/// Who wrote the SDP of `m`: the tag of the party that generated the message.
fn author(m: &SipSeen) -> Box<str> {
    let (tag, side) = if m.method.is_some() {
        (&m.from_tag, "request")
    } else {
        (&m.to_tag, "response")
    };
    match tag {
        Some(t) => format!("tag={t}").into(),
        None => side.into(),
    }
}

/// The detector.
#[derive(Debug)]
pub struct SdesKeyExposed {
    reported: BoundedMap<KeyId, ()>,
}

impl SdesKeyExposed {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        Self { reported: BoundedMap::new(cfg.max_keys, Duration::from_secs(cfg.idle_secs)) }
    }
}

impl Detector for SdesKeyExposed {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let Some(sdp) = &m.sdp else { return };
        if !sdp.media.iter().any(|md| md.inline_keys) {
            return;
        }
        let now = cx.now();
        let who = author(m);
        for (i, md) in sdp.media.iter().enumerate().filter(|(_, md)| md.inline_keys) {
            let id: KeyId = (m.call_id.clone(), who.clone(), i);
            if self.reported.get_mut(&id, now).is_some() {
                continue;
            }
            let key = format!("{} {} m{i}", m.call_id, who);
            self.reported.insert(id, (), now);
            let mut alert = Alert::new(&META, now)
                .src(Some(m.src.ip()), Some(m.src.port()))
                .dest(Some(m.dst.ip()), Some(m.dst.port()))
                .proto(match m.transport {
                    SipTransport::Udp => Proto::Udp,
                    SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
                })
                .key(key)
                .evidence("call_id", Value::Str(m.call_id.to_string()))
                .evidence("mline", Value::U64(i as u64))
                .evidence("media", Value::Str(md.kind.to_string()))
                .evidence("proto", Value::Str(md.proto.to_string()))
                .evidence(
                    "crypto_suites",
                    Value::List(md.crypto_suites.iter().map(|s| Value::Str(s.to_string())).collect()),
                )
                .evidence("crypto_count", Value::U64(u64::from(md.crypto_count)))
                .evidence("transport", Value::Str(m.transport.name().into()));
            if let Some(method) = &m.method {
                alert = alert.evidence("method", Value::Str(method.to_string()));
            }
            if let Some(status) = m.status {
                alert = alert
                    .evidence("status", Value::U64(u64::from(status)))
                    .evidence("cseq_method", Value::Str(m.cseq_method.to_string()));
            }
            cx.raise(alert);
        }
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.reported.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("reported", self.reported.stats())]
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

    fn savp(port: u16) -> Vec<crate::event::MediaSeen> {
        vec![with_crypto(media("RTP/SAVP", port), &[SUITE, "AES_CM_128_HMAC_SHA1_32"])]
    }

    /// An INVITE with the caller's key and a 200 with the callee's, each relayed by the proxy.
    fn relayed_call(s: &mut Scenario) {
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(savp(16000)).payload());
        s.at_ms(1, Sip::request("INVITE", PROXY, CALLEE).sdp(savp(16000)).payload());
        s.at_ms(2, Sip::response(180, "INVITE", CALLEE, PROXY).payload());
        s.at_ms(3, Sip::response(200, "INVITE", CALLEE, PROXY).sdp(savp(20000)).payload());
        s.at_ms(4, Sip::response(200, "INVITE", PROXY, CALLER).sdp(savp(20000)).payload());
        s.at_ms(5, Sip::request("ACK", CALLER, PROXY).payload());
    }

    #[test]
    fn the_callers_and_the_callees_keys_are_two_alerts_whatever_the_hops() {
        let mut s = Scenario::new();
        relayed_call(&mut s);
        // A retransmitted 200 is nothing new.
        s.at_ms(500, Sip::response(200, "INVITE", CALLEE, PROXY).sdp(savp(20000)).payload());
        let alerts = s.run(SdesKeyExposed::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let (offer, answer) = (&alerts[0], &alerts[1]);
        assert_eq!(offer.src_ip, Some("10.0.0.11".parse().unwrap()));
        assert_eq!(offer.dest_ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(offer.evidence.get("method"), Some(&Value::Str("INVITE".into())));
        assert_eq!(offer.evidence.get("call_id"), Some(&Value::Str("call-1".into())));
        assert_eq!(offer.evidence.get("mline"), Some(&Value::U64(0)));
        assert_eq!(offer.evidence.get("crypto_count"), Some(&Value::U64(2)));
        assert_eq!(
            offer.evidence.get("crypto_suites"),
            Some(&Value::List(vec![Value::Str(SUITE.into()), Value::Str("AES_CM_128_HMAC_SHA1_32".into())]))
        );
        assert_eq!(offer.severity, Severity::High);
        assert_eq!(answer.src_ip, Some("10.0.0.12".parse().unwrap()));
        assert_eq!(answer.evidence.get("status"), Some(&Value::U64(200)));
        assert_eq!(answer.evidence.get("cseq_method"), Some(&Value::Str("INVITE".into())));
        assert_ne!(offer.key, answer.key);
    }

    #[test]
    fn each_media_line_with_keys_is_one_alert() {
        let mut s = Scenario::new();
        let lines = vec![
            with_crypto(media("RTP/SAVP", 16000), &[SUITE]),
            media("RTP/AVP", 16002),
            with_crypto(media("RTP/SAVP", 16004), &[SUITE]),
        ];
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).tcp().sdp(lines).payload());
        let alerts = s.run(SdesKeyExposed::new(&Config::default()));
        let mlines: Vec<_> = alerts.iter().map(|a| a.evidence.get("mline").cloned()).collect();
        assert_eq!(mlines, [Some(Value::U64(0)), Some(Value::U64(2))]);
        assert_eq!(alerts[0].evidence.get("transport"), Some(&Value::Str("TCP".into())));
    }

    #[test]
    fn a_re_invite_from_the_callee_is_the_callees_key_and_a_new_call_is_new() {
        let mut s = Scenario::new();
        relayed_call(&mut s);
        // The callee re-INVITEs: its From tag is the callee's tag, the one its 200 had as To tag.
        s.at_ms(10_000, Sip::request("INVITE", CALLEE, PROXY).cseq(1).tags("callee", Some("caller")).sdp(savp(20000)).payload());
        s.at_ms(10_001, Sip::response(200, "INVITE", PROXY, CALLEE).tags("callee", Some("caller")).sdp(savp(16000)).payload());
        assert_eq!(s.run(SdesKeyExposed::new(&Config::default())).len(), 2);
        s.at_ms(20_000, Sip::request("INVITE", CALLER, PROXY).call("call-2").sdp(savp(16000)).payload());
        assert_eq!(s.run(SdesKeyExposed::new(&Config::default())).len(), 3);
    }

    #[test]
    fn a_forked_call_answered_twice_exposes_two_callee_keys() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(savp(16000)).payload());
        s.at_ms(1, Sip::response(183, "INVITE", PROXY, CALLER).tags("caller", Some("fork-a")).sdp(savp(20000)).payload());
        s.at_ms(2, Sip::response(183, "INVITE", PROXY, CALLER).tags("caller", Some("fork-b")).sdp(savp(30000)).payload());
        assert_eq!(s.run(SdesKeyExposed::new(&Config::default())).len(), 3);
    }

    #[test]
    fn sdp_without_inline_keys_is_quiet() {
        let mut s = Scenario::new();
        let mut dtls = media("UDP/TLS/RTP/SAVP", 16000);
        dtls.fingerprint = Some(("sha-256".into(), "ab:cd".into()));
        let mut no_key = with_crypto(media("RTP/SAVP", 16002), &[SUITE]);
        no_key.inline_keys = false;
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(vec![media("RTP/AVP", 16000)]).payload());
        s.at_ms(1, Sip::request("INVITE", CALLER, PROXY).call("c2").sdp(vec![dtls, no_key]).payload());
        s.at_ms(2, Sip::request("OPTIONS", CALLER, PROXY).call("c3").payload());
        assert!(s.run(SdesKeyExposed::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_message_without_tags_falls_back_to_its_side() {
        let mut s = Scenario::new();
        let mut req = Sip::request("INVITE", CALLER, PROXY).sdp(savp(16000)).seen();
        req.from_tag = None;
        let mut resp = Sip::response(200, "INVITE", PROXY, CALLER).sdp(savp(20000)).seen();
        resp.to_tag = None;
        s.at_ms(0, Payload::Sip(Box::new(req.clone())));
        s.at_ms(1, Payload::Sip(Box::new(resp)));
        s.at_ms(2, Payload::Sip(Box::new(req)));
        let alerts = s.run(SdesKeyExposed::new(&Config::default()));
        assert_eq!(alerts.len(), 2);
        assert!(alerts[0].key.contains("request") && alerts[1].key.contains("response"));
    }

    #[test]
    fn the_key_table_stays_bounded_under_a_flood_of_calls() {
        let cfg = Config { max_keys: 100, ..Config::default() };
        let mut d = SdesKeyExposed::new(&cfg);
        let mut out = Vec::new();
        for i in 0..3_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            let m = Sip::request("INVITE", "192.0.2.66:5060", PROXY).call(&format!("c{i}")).sdp(savp(16000));
            let ev = Event { seq: u64::from(i), ts, payload: m.payload() };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        assert_eq!(out.len(), 3_000);
        let t = d.reported.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
    }
}
