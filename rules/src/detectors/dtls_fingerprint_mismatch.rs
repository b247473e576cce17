//! `dtls-fingerprint-mismatch` (sid 2003): the certificate in a DTLS handshake on a call's media does not match
//! the `a=fingerprint` that the call's SDP announced for that endpoint.
//!
//! # What raises it
//! DTLS-SRTP (RFC 5763, RFC 5764, RFC 8842) keys SRTP with a DTLS handshake on the media 5-tuple, between
//! self-signed certificates; what authenticates them is the SDP: each side announces the fingerprint of its
//! certificate (`a=fingerprint:sha-256 AB:CD:..`, RFC 8122 §5), and each side checks the other's certificate
//! against it. Someone who can rewrite the SDP (a compromised or hostile proxy, a man in the middle of cleartext
//! SIP) and relay the media can put his own fingerprint there and his own certificate on the media: both
//! handshakes then succeed, and he reads the call. On the wire that shows as a certificate on a media endpoint
//! that does not match what the call's SDP said for that endpoint, when the SDP seen by the sensor is the one
//! that was not rewritten, or when a side's certificate does not match its own announcement.
//!
//! For each DTLS handshake summary ([`crate::event::TlsSeen`] with `dtls`), both sides are checked, since both send a
//! certificate in DTLS-SRTP: the server's leaf (`server_certs`) against the fingerprint announced for the
//! server's address and port, the client's (`client_certs`) against the one announced for the client's. The
//! announcement comes from the engine's calls ([`crate::calls::CallTracker::media_fingerprint`]: the SDP of the
//! side that receives media at that endpoint). The hash function is the SDP's: `sha-256` compares with the
//! certificate's SHA-256, `sha-1` with its SHA-1. When an SDP crosses the sensor several times (once per proxy
//! hop), the last copy seen before the handshake counts: a fingerprint rewritten between two hops is judged as
//! the party that received the rewritten copy was told it (the lab's `dtls-mismatch` capture).
//!
//! # Not judged
//! An endpoint that no call's SDP names (no signalling seen, SIP inside TLS, ICE relays), an SDP without a
//! fingerprint, a hash function other than SHA-256 and SHA-1 (the event carries those two digests), an
//! unreadable fingerprint value, and a side that sent no certificate.
//!
//! # Severity and repeats
//! **High**: either an attack on the call's keys or a broken client whose calls fail. Once per (call, side,
//! certificate) per `interval_secs`, by the detector's own table (a retransmitted or repeated handshake is
//! the same finding).
//!
//! # Evidence
//! `call_id`, `side` (`caller`/`callee`: whose SDP announced the fingerprint), `m_index`, `dtls_role`
//! (`server`/`client`), `sdp_hash`, `sdp_fingerprint` (as announced), `cert_fingerprint` (the certificate's
//! digest under the same hash, written the same way), then `cert_sha256`, `subject`, `issuer`, `not_before`,
//! `not_after`, `key_type`, `key_bits` of the certificate presented. The actor (`src_ip`) is the endpoint that
//! presented the certificate (the DTLS server or client), the target its peer on the 5-tuple.

use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Category, Meta, Proto, Severity, Value};
use crate::calls::Party;
use crate::detector::{Context, Detector};
use crate::event::{CertSeen, Event, EventKind, Interests, Payload};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;
use crate::tls;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2003,
    slug: "dtls-fingerprint-mismatch",
    category: Category::Mitm,
    severity: Severity::High,
    signature: "DTLS certificate on a media flow does not match the call's SDP a=fingerprint",
};

/// Settings, `[detectors.dtls-fingerprint-mismatch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// At most one alert per (call, side, certificate) in this many seconds of packet time.
    pub interval_secs: u64,
    /// Cap on (call, side, certificate) triples remembered as reported.
    pub max_reported: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 3600,
            max_reported: 65_536,
        }
    }
}

/// The digest of `cert` under the SDP hash function `hash`, if the event carries it.
fn digest<'c>(cert: &'c CertSeen, hash: &str) -> Option<&'c [u8]> {
    if hash.eq_ignore_ascii_case("sha-256") {
        Some(&cert.sha256)
    } else if hash.eq_ignore_ascii_case("sha-1") {
        Some(&cert.sha1)
    } else {
        None
    }
}

/// Bytes as an SDP fingerprint value: lower-case hex pairs joined by colons (RFC 8122 §5).
fn sdp_form(bytes: &[u8]) -> String {
    let h = tls::hex(bytes);
    let pairs: Vec<&str> = (0..h.len())
        .step_by(2)
        .filter_map(|i| h.get(i..i + 2))
        .collect();
    pairs.join(":")
}

/// The detector.
#[derive(Debug)]
pub struct DtlsFingerprintMismatch {
    interval: Duration,
    reported: BoundedMap<(Box<str>, Party, [u8; 32]), PacketTime>,
}

impl DtlsFingerprintMismatch {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let interval = Duration::from_secs(cfg.interval_secs);
        Self {
            interval,
            reported: BoundedMap::new(cfg.max_reported, interval),
        }
    }
}

impl Detector for DtlsFingerprintMismatch {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Tls)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Tls(t) = &ev.payload else { return };
        if !t.dtls {
            return;
        }
        let Some(calls) = cx.calls() else { return };
        let now = cx.now();
        let sides = [
            ("server", t.server, t.client, t.server_certs.as_slice()),
            ("client", t.client, t.server, t.client_certs.as_slice()),
        ];
        for (role, addr, peer, chain) in sides {
            let (Some(addr), Some(leaf)) = (addr, chain.first()) else {
                continue;
            };
            let Some(fp) = calls.media_fingerprint(&addr) else {
                continue;
            };
            let (Some(cert_digest), Some(announced)) =
                (digest(leaf, fp.hash), tls::parse_hex(fp.value))
            else {
                continue;
            };
            if announced == cert_digest {
                continue;
            }
            let key = (Box::<str>::from(fp.call_id), fp.side, leaf.sha256);
            if self
                .reported
                .get(&key)
                .is_some_and(|at| now.since(*at) < self.interval)
            {
                continue;
            }
            let alert = crate::alert::Alert::new(&META, now)
                .src(Some(addr.ip()), Some(addr.port()))
                .dest(peer.map(|p| p.ip()), peer.map(|p| p.port()))
                .proto(Proto::Udp)
                .key(format!(
                    "{} {} {}",
                    fp.call_id,
                    fp.side.name(),
                    tls::hex(&leaf.sha256)
                ))
                .evidence("call_id", Value::Str(fp.call_id.to_owned()))
                .evidence("side", Value::Str(fp.side.name().into()))
                .evidence("m_index", Value::U64(fp.m_index as u64))
                .evidence("dtls_role", Value::Str(role.into()))
                .evidence("sdp_hash", Value::Str(fp.hash.to_ascii_lowercase()))
                .evidence("sdp_fingerprint", Value::Str(fp.value.to_owned()))
                .evidence("cert_fingerprint", Value::Str(sdp_form(cert_digest)));
            cx.raise(tls::cert_evidence(alert, leaf));
            self.reported.insert(key, now, now);
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
    use crate::alert::Alert;
    use crate::event::{MediaSeen, TlsSeen};
    use crate::testkit::{Scenario, Sip, media};
    use crate::tls::test_util::{cert, strings};

    const PH1: &str = "10.77.0.11:5060";
    const PBX: &str = "10.77.0.1:5060";
    const PH2: &str = "10.77.0.12:5060";
    const CALLER_MEDIA: &str = "10.77.0.11:16020";
    const CALLEE_MEDIA: &str = "10.77.0.12:20020";

    fn dtls_media(ip: &str, port: u16, fingerprint: (&str, String)) -> MediaSeen {
        let mut m = media("UDP/TLS/RTP/SAVPF", port);
        m.addr = ip.parse().ok();
        m.rtcp_mux = true;
        m.rtcp_port = Some(port);
        m.fingerprint = Some((fingerprint.0.into(), fingerprint.1.into()));
        m
    }

    /// A self-signed DTLS certificate whose digests are `tag` repeated.
    fn dtls_cert(tag: u8) -> CertSeen {
        let mut c = cert(tag, "dtls@baresip");
        c.self_signed = true;
        c.issuer = c.subject.clone();
        c
    }

    /// A call 1001 -> 1002 through the proxy whose offer announces `caller_fp` for 10.77.0.11:16020 and whose
    /// answer announces `callee_fp` for 10.77.0.12:20020 (both hops of each message, as a SPAN sees them).
    fn call(s: &mut Scenario, caller_fp: (&str, String), callee_fp: (&str, String)) {
        let offer = vec![dtls_media("10.77.0.11", 16020, caller_fp)];
        let answer = vec![dtls_media("10.77.0.12", 20020, callee_fp)];
        s.at_ms(
            0,
            Sip::request("INVITE", PH1, PBX)
                .call("c3")
                .sdp(offer.clone())
                .payload(),
        );
        s.at_ms(
            1,
            Sip::request("INVITE", PBX, PH2)
                .call("c3")
                .sdp(offer)
                .payload(),
        );
        s.at_ms(
            50,
            Sip::response(200, "INVITE", PH2, PBX)
                .call("c3")
                .sdp(answer.clone())
                .payload(),
        );
        s.at_ms(
            51,
            Sip::response(200, "INVITE", PBX, PH1)
                .call("c3")
                .sdp(answer)
                .payload(),
        );
    }

    /// The DTLS handshake on the media: the callee is the client (a=setup:active), the caller the server.
    fn handshake(server_cert: CertSeen, client_cert: CertSeen) -> Payload {
        Payload::Tls(Box::new(TlsSeen {
            client: CALLEE_MEDIA.parse().ok(),
            server: CALLER_MEDIA.parse().ok(),
            dtls: true,
            version: Some(0xfefd),
            cipher_suite: Some(0xc030),
            srtp_profiles: vec![1],
            server_certs: vec![server_cert],
            client_certs: vec![client_cert],
            ..TlsSeen::default()
        }))
    }

    fn sha256_of(tag: u8) -> (&'static str, String) {
        ("sha-256", sdp_form(&[tag; 32]))
    }

    fn run(s: &Scenario) -> Vec<Alert> {
        s.run(DtlsFingerprintMismatch::new(&Config::default()))
    }

    #[test]
    fn matching_fingerprints_on_both_sides_are_quiet() {
        let mut s = Scenario::new();
        call(&mut s, sha256_of(0x4f), sha256_of(0x2b));
        s.at_ms(1_000, handshake(dtls_cert(0x4f), dtls_cert(0x2b)));
        assert!(run(&s).is_empty());
        // Upper case, as baresip writes it, is the same fingerprint.
        let mut s = Scenario::new();
        call(
            &mut s,
            ("SHA-256", sdp_form(&[0x4f; 32]).to_uppercase()),
            sha256_of(0x2b),
        );
        s.at_ms(1_000, handshake(dtls_cert(0x4f), dtls_cert(0x2b)));
        assert!(run(&s).is_empty());
    }

    #[test]
    fn a_rewritten_answer_fingerprint_names_the_callee_that_presented_its_certificate() {
        // The answer was rewritten on its way: it announces 0x66 for the callee, whose certificate is 0x2b.
        let mut s = Scenario::new();
        call(&mut s, sha256_of(0x4f), sha256_of(0x66));
        s.at_ms(1_000, handshake(dtls_cert(0x4f), dtls_cert(0x2b)));
        // A retransmitted handshake summary is the same finding.
        s.at_ms(2_000, handshake(dtls_cert(0x4f), dtls_cert(0x2b)));
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.src_ip, Some("10.77.0.12".parse().unwrap()));
        assert_eq!(a.src_port, Some(20020));
        assert_eq!(a.dest_ip, Some("10.77.0.11".parse().unwrap()));
        assert_eq!(a.dest_port, Some(16020));
        assert_eq!(a.proto, Some(Proto::Udp));
        assert_eq!(strings(a, "call_id"), ["c3"]);
        assert_eq!(strings(a, "side"), ["callee"]);
        assert_eq!(strings(a, "dtls_role"), ["client"]);
        assert_eq!(strings(a, "sdp_hash"), ["sha-256"]);
        assert_eq!(strings(a, "sdp_fingerprint"), [sdp_form(&[0x66; 32])]);
        assert_eq!(strings(a, "cert_fingerprint"), [sdp_form(&[0x2b; 32])]);
        assert_eq!(strings(a, "cert_sha256"), ["2b".repeat(32)]);
        assert_eq!(strings(a, "subject"), ["CN=dtls@baresip"]);
    }

    #[test]
    fn a_fingerprint_rewritten_between_hops_is_judged_by_the_copy_relayed_last() {
        // lab-dtls-mismatch: the 200 OK leaves the callee with its real fingerprint and reaches the caller with
        // another one.
        let mut s = Scenario::new();
        let offer = vec![dtls_media("10.77.0.11", 16020, sha256_of(0x24))];
        s.at_ms(
            0,
            Sip::request("INVITE", PH1, PBX)
                .call("c3")
                .sdp(offer.clone())
                .payload(),
        );
        s.at_ms(
            1,
            Sip::request("INVITE", PBX, PH2)
                .call("c3")
                .sdp(offer)
                .payload(),
        );
        let real = vec![dtls_media("10.77.0.12", 20020, sha256_of(0xd4))];
        let swapped = vec![dtls_media("10.77.0.12", 20020, sha256_of(0xdc))];
        s.at_ms(
            50,
            Sip::response(200, "INVITE", PH2, PBX)
                .call("c3")
                .sdp(real)
                .payload(),
        );
        s.at_ms(
            51,
            Sip::response(200, "INVITE", PBX, PH1)
                .call("c3")
                .sdp(swapped)
                .payload(),
        );
        s.at_ms(1_000, handshake(dtls_cert(0x24), dtls_cert(0xd4)));
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(
            strings(&alerts[0], "sdp_fingerprint"),
            [sdp_form(&[0xdc; 32])]
        );
        assert_eq!(
            strings(&alerts[0], "cert_fingerprint"),
            [sdp_form(&[0xd4; 32])]
        );
        assert_eq!(alerts[0].src_ip, Some("10.77.0.12".parse().unwrap()));
    }

    #[test]
    fn an_impostor_on_both_sides_is_two_alerts() {
        let mut s = Scenario::new();
        call(&mut s, sha256_of(0x4f), sha256_of(0x2b));
        s.at_ms(1_000, handshake(dtls_cert(0x99), dtls_cert(0x98)));
        let alerts = run(&s);
        let sides: Vec<_> = alerts
            .iter()
            .map(|a| (strings(a, "side"), strings(a, "dtls_role")))
            .collect();
        assert_eq!(
            sides,
            [
                (vec!["caller".to_owned()], vec!["server".to_owned()]),
                (vec!["callee".into()], vec!["client".into()])
            ]
        );
    }

    #[test]
    fn sha_1_fingerprints_compare_with_the_sha_1_digest() {
        let mut s = Scenario::new();
        call(
            &mut s,
            ("sha-1", sdp_form(&[0x4f; 20])),
            ("sha-1", sdp_form(&[0x2c; 20])),
        );
        s.at_ms(1_000, handshake(dtls_cert(0x4f), dtls_cert(0x2b)));
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            strings(&alerts[0], "cert_fingerprint"),
            [sdp_form(&[0x2b; 20])]
        );
        assert_eq!(strings(&alerts[0], "sdp_hash"), ["sha-1"]);
    }

    #[test]
    fn unknown_endpoints_other_hashes_and_bad_values_are_not_judged() {
        // No call at all.
        let mut s = Scenario::new();
        s.at_ms(1_000, handshake(dtls_cert(1), dtls_cert(2)));
        assert!(run(&s).is_empty());
        // sha-512 and an unreadable value.
        let mut s = Scenario::new();
        call(
            &mut s,
            ("sha-512", sdp_form(&[1; 64])),
            ("sha-256", "zz:zz".into()),
        );
        s.at_ms(1_000, handshake(dtls_cert(1), dtls_cert(2)));
        assert!(run(&s).is_empty());
        // Plain TLS on the same addresses is not DTLS-SRTP.
        let mut s = Scenario::new();
        call(&mut s, sha256_of(9), sha256_of(9));
        let Payload::Tls(mut t) = handshake(dtls_cert(1), dtls_cert(2)) else {
            unreachable!()
        };
        t.dtls = false;
        s.at_ms(1_000, Payload::Tls(t));
        assert!(run(&s).is_empty());
    }

    #[test]
    fn a_side_without_a_certificate_is_not_judged() {
        let mut s = Scenario::new();
        call(&mut s, sha256_of(0x4f), sha256_of(0x66));
        let Payload::Tls(mut t) = handshake(dtls_cert(0x4f), dtls_cert(0x2b)) else {
            unreachable!()
        };
        t.client_certs.clear();
        s.at_ms(1_000, Payload::Tls(t));
        assert!(run(&s).is_empty());
    }

    #[test]
    fn the_table_stays_bounded_under_a_flood_of_mismatches() {
        let mut calls = crate::calls::CallTracker::default();
        let ts = PacketTime::from_secs(1_768_471_200);
        let answer = vec![dtls_media("10.77.0.12", 20020, sha256_of(0x2b))];
        let offer = vec![dtls_media("10.77.0.11", 16020, sha256_of(0x4f))];
        calls.on_sip(
            ts,
            &Sip::request("INVITE", PH1, PBX)
                .call("c3")
                .sdp(offer)
                .seen(),
        );
        calls.on_sip(
            ts,
            &Sip::response(200, "INVITE", PBX, PH1)
                .call("c3")
                .sdp(answer)
                .seen(),
        );
        let mut d = DtlsFingerprintMismatch::new(&Config {
            max_reported: 16,
            ..Config::default()
        });
        let mut out = Vec::new();
        for i in 0..200u8 {
            let ev = Event {
                seq: u64::from(i),
                ts,
                payload: handshake(dtls_cert(0x4f), dtls_cert(i.wrapping_add(0x30))),
            };
            d.on_event(&ev, &mut Context::with_calls(ts, &mut out, &calls));
        }
        // Every certificate differs from the announced 0x2b: one alert each, whatever the table's cap.
        assert_eq!(out.len(), 200);
        let t = d.tables()[0].1;
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
        assert_eq!(sdp_form(&[0xab, 0x01]), "ab:01");
    }
}
