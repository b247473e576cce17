//! `media-redirect` (sid 2007): a re-INVITE or UPDATE that moves a call's media to an address outside the
//! networks of the dialog's parties, so that one side's voice goes somewhere else (a recorder, a relay that
//! re-encodes it, a black hole).
//!
//! # What raises it
//! The detector follows each INVITE dialog (Call-ID):
//! - **The parties' networks.** While the call is set up (every INVITE, ACK and PRACK and the responses to them,
//!   until the first 2xx to an INVITE) every address seen is kept: the sender and receiver of each message,
//!   its `Via` and `Record-Route` hosts (`path`), its `Contact` host, and the connection address of every `m=`
//!   line of its SDP. Later in-dialog requests from an address already kept add their receiver and path. The
//!   parties' networks are the /`ipv4_prefix` (IPv4) or /`ipv6_prefix` (IPv6) prefixes of those addresses.
//! - **A change.** After the setup, an SDP in a re-INVITE, an UPDATE (also during the setup: RFC 3311 lets it
//!   change the session of an early dialog), a response to either, or the ACK or PRACK answering a re-INVITE
//!   without SDP. An SDP of the setup (the initial offer and answer) is never judged: that is where the parties'
//!   media addresses come from.
//! - **A redirect.** A media line of a change whose port is not 0 and whose direction lets the other side send
//!   to it (`sendrecv` or `recvonly`: a `sendonly` or `inactive` hold, or the RFC 2543 hold address `0.0.0.0`,
//!   sends nothing there) names a connection address outside every party network.
//!
//! One alert per (dialog, address), raised at the first message that names it (a proxy relays it, so it crosses
//! the wire again). `src_ip` is the sender of that message, `dest_ip` its receiver (the next hop toward the
//! party that will send its media to the new address).
//!
//! # Why it matters
//! Whoever can send or rewrite in-dialog requests (a man in the middle on cleartext SIP, a forged re-INVITE
//! with sniffed tags, a compromised proxy) can divert one side's media to a host it controls, record it,
//! and relay it on so that the call still works. Severity High.
//!
//! # Evidence
//! `call_id`, `method` (the request's) or `status` (a response's), `mline` (from 0), `media`, `media_ip` and
//! `media_port` (the new target), `previous_ip` (where the same side's previous SDP had that line, when known),
//! `direction`, `networks` (the parties' networks, in the order they were learnt), `transport`.
//!
//! # False positives and tuning
//! A B2BUA or SBC that anchors media on a relay in another network with a re-INVITE after the call is up, and a
//! UA that moves to another network (Wi-Fi to mobile) and re-INVITEs from there, are reported: widen
//! `ipv4_prefix` (a /16 covers a site) for such deployments. Dialogs are remembered for `idle_secs` without a
//! message, at most `max_dialogs` at once (least recently active dropped first); a dialog whose address set
//! overflowed [`MAX_ADDRS`] is not judged.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SdpSeen, SipSeen, SipTransport};
use crate::net::{network, prefix_text};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2007,
    slug: "media-redirect",
    category: Category::Mitm,
    severity: Severity::High,
    signature: "re-INVITE or UPDATE moves media outside the networks of the dialog's parties",
};

/// Addresses kept per dialog (signalling hops, contacts, media addresses). A dialog with more is not judged.
pub const MAX_ADDRS: usize = 24;
/// Media lines whose previous address is remembered per side.
pub const MAX_MEDIA: usize = 4;
/// Redirect targets reported per dialog.
pub const MAX_REPORTED: usize = 4;

/// Settings, `[detectors.media-redirect]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Prefix length of an IPv4 party network (24: the party's /24).
    pub ipv4_prefix: u8,
    /// Prefix length of an IPv6 party network (64: the party's /64, one link).
    pub ipv6_prefix: u8,
    /// Cap on dialogs followed.
    pub max_dialogs: usize,
    /// A dialog without a message for this long is forgotten.
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            ipv4_prefix: 24,
            ipv6_prefix: 64,
            max_dialogs: 65_536,
            idle_secs: 7200,
        }
    }
}

/// A side of the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Caller,
    Callee,
}

#[derive(Debug, Clone, Default)]
struct Dialog {
    /// The parties' addresses, in the order they were learnt.
    addrs: Vec<IpAddr>,
    /// More than [`MAX_ADDRS`]: not judged.
    overflow: bool,
    /// A 2xx answered an INVITE.
    established: bool,
    /// CSeq of the INVITE that was answered (the setup's).
    setup_cseq: u32,
    /// A re-INVITE without SDP is open (its CSeq): its ACK or PRACK carries the answer.
    late_reinvite: Option<u32>,
    caller_tag: Option<Box<str>>,
    /// Each side's latest media addresses, per `m=` line.
    media: [Vec<Option<IpAddr>>; 2],
    /// Targets already reported.
    reported: Vec<IpAddr>,
}

impl Dialog {
    fn learn(&mut self, ip: IpAddr) {
        if ip.is_unspecified() || self.addrs.contains(&ip) {
            return;
        }
        if self.addrs.len() < MAX_ADDRS {
            self.addrs.push(ip);
        } else {
            self.overflow = true;
        }
    }

    fn learn_hops(&mut self, m: &SipSeen) {
        self.learn(m.dst.ip());
        for ip in &m.path {
            self.learn(*ip);
        }
        if let Some(c) = m.contact_addr {
            self.learn(c.ip());
        }
    }

    /// Which side sent `m`: a request from the caller carries the caller's From tag, a response to the caller's
    /// request is the callee's.
    fn sender(&self, m: &SipSeen) -> Side {
        let from_caller = m.from_tag.is_some() && m.from_tag == self.caller_tag;
        if m.method.is_some() == from_caller {
            Side::Caller
        } else {
            Side::Callee
        }
    }

    fn remember_media(&mut self, side: Side, sdp: &SdpSeen) {
        let slot = match side {
            Side::Caller => &mut self.media[0],
            Side::Callee => &mut self.media[1],
        };
        slot.clear();
        slot.extend(sdp.media.iter().take(MAX_MEDIA).map(|m| m.addr.or(sdp.session_addr)));
    }

    fn previous(&self, side: Side, mline: usize) -> Option<IpAddr> {
        let slot = match side {
            Side::Caller => &self.media[0],
            Side::Callee => &self.media[1],
        };
        slot.get(mline).copied().flatten()
    }
}

/// The detector.
#[derive(Debug)]
pub struct MediaRedirect {
    dialogs: BoundedMap<Box<str>, Dialog>,
    v4_bits: u8,
    v6_bits: u8,
}

impl MediaRedirect {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        Self {
            dialogs: BoundedMap::new(cfg.max_dialogs, Duration::from_secs(cfg.idle_secs)),
            v4_bits: cfg.ipv4_prefix,
            v6_bits: cfg.ipv6_prefix,
        }
    }

    /// Whether the SDP of `m` is a change of the session (see the module doc), and updates the dialog's
    /// record of open re-INVITEs without SDP.
    fn is_change(d: &mut Dialog, m: &SipSeen) -> bool {
        match (m.method.as_deref(), m.status) {
            (Some("UPDATE"), _) => true,
            (Some("INVITE"), _) if d.established && m.cseq != d.setup_cseq => {
                d.late_reinvite = m.sdp.is_none().then_some(m.cseq);
                true
            }
            (Some("ACK"), _) => d.established && d.late_reinvite == Some(m.cseq),
            // A PRACK has a CSeq of its own: it answers the open re-INVITE whatever its number.
            (Some("PRACK"), _) => d.established && d.late_reinvite.is_some() && m.sdp.is_some(),
            (None, Some(100..=299)) => match &*m.cseq_method {
                "UPDATE" => true,
                "INVITE" => d.established && m.cseq != d.setup_cseq,
                _ => false,
            },
            _ => false,
        }
    }

    fn judge(&mut self, m: &SipSeen, sdp: &SdpSeen, cx: &mut Context<'_>) {
        let (v4, v6) = (self.v4_bits, self.v6_bits);
        let Some(d) = self.dialogs.get_mut(&m.call_id, cx.now()) else {
            return;
        };
        if d.overflow {
            return;
        }
        let side = d.sender(m);
        let nets: Vec<IpAddr> = {
            let mut v: Vec<IpAddr> = Vec::new();
            for n in d.addrs.iter().map(|a| network(*a, v4, v6)) {
                if !v.contains(&n) {
                    v.push(n);
                }
            }
            v
        };
        for (i, md) in sdp.media.iter().enumerate() {
            let Some(addr) = md.addr.or(sdp.session_addr) else {
                continue;
            };
            if md.port == 0
                || addr.is_unspecified()
                || matches!(md.direction, "sendonly" | "inactive")
                || nets.contains(&network(addr, v4, v6))
                || d.reported.contains(&addr)
            {
                continue;
            }
            if d.reported.len() >= MAX_REPORTED {
                return;
            }
            d.reported.push(addr);
            let mut a = Alert::new(&META, cx.now())
                .src(Some(m.src.ip()), Some(m.src.port()))
                .dest(Some(m.dst.ip()), Some(m.dst.port()))
                .proto(match m.transport {
                    SipTransport::Udp => Proto::Udp,
                    SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
                })
                .key(format!("{}/{addr}", m.call_id))
                .evidence("call_id", Value::Str(m.call_id.to_string()));
            if let Some(method) = &m.method {
                a = a.evidence("method", Value::Str(method.to_string()));
            }
            if let Some(status) = m.status {
                a = a.evidence("status", Value::U64(u64::from(status)));
            }
            a = a
                .evidence("mline", Value::U64(i as u64))
                .evidence("media", Value::Str(md.kind.to_string()))
                .evidence("media_ip", Value::Ip(addr))
                .evidence("media_port", Value::U64(u64::from(md.port)));
            if let Some(prev) = d.previous(side, i) {
                a = a.evidence("previous_ip", Value::Ip(prev));
            }
            a = a
                .evidence("direction", Value::Str(md.direction.to_owned()))
                .evidence("networks", Value::List(nets.iter().map(|n| Value::Str(prefix_text(*n, v4, v6))).collect()))
                .evidence("transport", Value::Str(m.transport.name().to_owned()));
            cx.raise(a);
        }
    }
}

impl Detector for MediaRedirect {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else {
            return;
        };
        let now = cx.now();
        if m.method.as_deref() == Some("INVITE") && self.dialogs.get(&m.call_id).is_none() {
            let d = Dialog {
                caller_tag: m.from_tag.clone(),
                setup_cseq: m.cseq,
                ..Dialog::default()
            };
            self.dialogs.insert(m.call_id.clone(), d, now);
        }
        let Some(d) = self.dialogs.get_mut(&m.call_id, now) else {
            return;
        };
        let change = Self::is_change(d, m);
        if change && matches!(m.method.as_deref(), Some("ACK" | "PRACK")) {
            d.late_reinvite = None;
        }
        // Judged before anything in the message is learnt: a change names no network of its own.
        if change && let Some(sdp) = &m.sdp {
            self.judge(m, sdp, cx);
        }
        let Some(d) = self.dialogs.get_mut(&m.call_id, now) else {
            return;
        };
        let setup =
            !d.established && !change && matches!(&*m.cseq_method, "INVITE" | "ACK" | "PRACK");
        if setup {
            d.learn(m.src.ip());
            d.learn_hops(m);
            if let Some(sdp) = &m.sdp {
                for md in &sdp.media {
                    if let Some(a) = md.addr.or(sdp.session_addr) {
                        d.learn(a);
                    }
                }
            }
            if m.method.is_none()
                && &*m.cseq_method == "INVITE"
                && m.status.is_some_and(|s| (200..300).contains(&s))
            {
                d.established = true;
                d.setup_cseq = m.cseq;
            }
        } else if m.method.is_some()
            && !matches!(m.method.as_deref(), Some("BYE" | "CANCEL"))
            && d.addrs.contains(&m.src.ip())
        {
            d.learn_hops(m);
        }
        if let Some(sdp) = &m.sdp {
            let side = d.sender(m);
            d.remember_media(side, sdp);
        }
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.dialogs.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("dialogs", self.dialogs.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::MediaSeen;
    use crate::testkit::{Scenario, Sip, media};

    const CALLER: &str = "10.0.0.11:5060";
    const PROXY: &str = "10.0.0.1:5060";
    const CALLEE: &str = "10.0.0.12:5060";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn at(addr: &str, port: u16, direction: &'static str) -> Vec<MediaSeen> {
        let mut m = media("RTP/AVP", port);
        m.addr = Some(ip(addr));
        m.direction = direction;
        vec![m]
    }

    /// A call 10.0.0.11 -> 10.0.0.12 through the proxy, media at 10.0.0.11:16000 and 10.0.0.12:20000.
    fn call(s: &mut Scenario) {
        let inv = |src, dst| Sip::request("INVITE", src, dst).sdp(at("10.0.0.11", 16000, "sendrecv")).payload();
        let ok = |src, dst| Sip::response(200, "INVITE", src, dst).sdp(at("10.0.0.12", 20000, "sendrecv")).payload();
        s.at_ms(0, inv(CALLER, PROXY));
        s.at_ms(1, inv(PROXY, CALLEE));
        s.at_ms(100, ok(CALLEE, PROXY));
        s.at_ms(101, ok(PROXY, CALLER));
        s.at_ms(102, Sip::request("ACK", CALLER, PROXY).tags("caller", Some("callee")).payload());
    }

    fn reinvite(src: &str, dst: &str, sdp: Vec<MediaSeen>) -> Payload {
        Sip::request("INVITE", src, dst).cseq(2).tags("caller", Some("callee")).sdp(sdp).payload()
    }

    #[test]
    fn a_reinvite_to_another_network_is_one_alert_per_target() {
        let mut s = Scenario::new();
        call(&mut s);
        s.at_ms(2000, reinvite(CALLER, PROXY, at("203.0.113.99", 30000, "sendrecv")));
        s.at_ms(2001, reinvite(PROXY, CALLEE, at("203.0.113.99", 30000, "sendrecv")));
        let ok = Sip::response(200, "INVITE", CALLEE, PROXY).cseq(2).sdp(at("10.0.0.12", 20000, "sendrecv"));
        s.at_ms(2002, ok.payload());
        let alerts = s.run(MediaRedirect::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!((a.src_ip, a.dest_ip), (Some(ip("10.0.0.11")), Some(ip("10.0.0.1"))));
        assert_eq!(a.evidence.get("media_ip"), Some(&Value::Ip(ip("203.0.113.99"))));
        assert_eq!(a.evidence.get("media_port"), Some(&Value::U64(30000)));
        assert_eq!(a.evidence.get("previous_ip"), Some(&Value::Ip(ip("10.0.0.11"))));
        assert_eq!(a.evidence.get("method"), Some(&Value::Str("INVITE".into())));
        assert_eq!(a.evidence.get("networks"), Some(&Value::List(vec![Value::Str("10.0.0.0/24".into())])));
    }

    #[test]
    fn hold_a_new_port_and_a_move_within_the_network_are_silent() {
        let mut s = Scenario::new();
        call(&mut s);
        s.at_ms(2000, reinvite(CALLER, PROXY, at("10.0.0.11", 16000, "sendonly")));
        s.at_ms(3000, reinvite(CALLER, PROXY, at("0.0.0.0", 16000, "sendrecv")));
        s.at_ms(4000, reinvite(CALLER, PROXY, at("203.0.113.99", 16000, "inactive")));
        s.at_ms(5000, reinvite(CALLER, PROXY, at("10.0.0.11", 16002, "sendrecv")));
        s.at_ms(6000, reinvite(CALLER, PROXY, at("10.0.0.77", 16002, "sendrecv")));
        let mut rejected = at("203.0.113.99", 0, "sendrecv");
        rejected[0].port = 0;
        s.at_ms(7000, reinvite(CALLER, PROXY, rejected));
        assert!(s.run(MediaRedirect::new(&Config::default())).is_empty());
    }

    #[test]
    fn the_initial_offer_and_answer_never_fire() {
        let mut s = Scenario::new();
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(at("198.51.100.5", 16000, "sendrecv")).payload());
        s.at_ms(1, Sip::response(200, "INVITE", PROXY, CALLER).sdp(at("203.0.113.7", 20000, "sendrecv")).payload());
        assert!(s.run(MediaRedirect::new(&Config::default())).is_empty());
        let mut s = Scenario::new();
        // A retry of the INVITE after a challenge is still the setup (a new CSeq before any 2xx).
        s.at_ms(0, Sip::request("INVITE", CALLER, PROXY).sdp(at("10.0.0.11", 16000, "sendrecv")).payload());
        s.at_ms(1, Sip::response(407, "INVITE", PROXY, CALLER).payload());
        s.at_ms(2, Sip::request("INVITE", CALLER, PROXY).cseq(2).sdp(at("192.0.2.1", 16000, "sendrecv")).payload());
        assert!(s.run(MediaRedirect::new(&Config::default())).is_empty());
    }

    #[test]
    fn an_update_and_the_answer_to_a_late_reinvite_are_changes() {
        let mut s = Scenario::new();
        call(&mut s);
        let upd = Sip::request("UPDATE", CALLEE, PROXY).cseq(5).tags("callee", Some("caller"));
        s.at_ms(2000, upd.sdp(at("203.0.113.5", 20000, "recvonly")).payload());
        // A re-INVITE without SDP: the callee offers in its 200, the caller answers in the ACK.
        s.at_ms(3000, Sip::request("INVITE", CALLER, PROXY).cseq(3).tags("caller", Some("callee")).payload());
        let ok = Sip::response(200, "INVITE", PROXY, CALLER).cseq(3).sdp(at("10.0.0.12", 20000, "sendrecv"));
        s.at_ms(3001, ok.payload());
        let ack = Sip::request("ACK", CALLER, PROXY).cseq(3).tags("caller", Some("callee"));
        s.at_ms(3002, ack.sdp(at("198.51.100.9", 16000, "sendrecv")).payload());
        let alerts = s.run(MediaRedirect::new(&Config::default()));
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("method"), Some(&Value::Str("UPDATE".into())));
        assert_eq!(alerts[0].src_ip, Some(ip("10.0.0.12")));
        assert_eq!(alerts[0].evidence.get("previous_ip"), Some(&Value::Ip(ip("10.0.0.12"))));
        assert_eq!(alerts[1].evidence.get("method"), Some(&Value::Str("ACK".into())));
    }

    #[test]
    fn prefix_lengths_are_configurable() {
        let mut s = Scenario::new();
        call(&mut s);
        s.at_ms(2000, reinvite(CALLER, PROXY, at("10.0.9.9", 30000, "sendrecv")));
        assert_eq!(s.run(MediaRedirect::new(&Config::default())).len(), 1);
        let wide = Config {
            ipv4_prefix: 16,
            ..Config::default()
        };
        assert!(s.run(MediaRedirect::new(&wide)).is_empty());
    }

    #[test]
    fn the_dialog_table_stays_bounded_under_an_invite_flood() {
        let cfg = Config {
            max_dialogs: 100,
            ..Config::default()
        };
        let mut d = MediaRedirect::new(&cfg);
        let mut out = Vec::new();
        for i in 0..3_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            let m = Sip::request("INVITE", "192.0.2.66:5060", PROXY).call(&format!("c{i}"));
            let ev = Event {
                seq: u64::from(i),
                ts,
                payload: m.payload(),
            };
            let mut cx = Context::new(ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        let t = d.dialogs.stats();
        assert!(t.len <= t.cap && t.evicted > 0, "{t:?}");
        assert!(out.is_empty());
    }
}
