//! `third-party-teardown` (sid 2006): a BYE or CANCEL for a dialog, sent from an address that is not on the
//! dialog's path: someone who read the dialog's identifiers off the wire hangs up a call that is not theirs.
//!
//! # What raises it
//! The detector learns, per INVITE dialog (Call-ID), the addresses on its path (RFC 3261 §16, §20.30, §20.42):
//! - while the call is being set up (every INVITE, ACK and PRACK of the dialog and every response to them,
//!   until the first 2xx to an INVITE): the sender and the receiver of each message, its `Via` sent-by hosts
//!   and `Record-Route` hosts that are IP addresses (`path`), and its `Contact` host (the remote target that
//!   in-dialog requests go to when no proxy record-routes);
//! - afterwards, from in-dialog requests other than BYE and CANCEL (re-INVITE, UPDATE, INFO, ...) **whose
//!   sender is already on the path**: their receiver, path and Contact; and from responses to them only the
//!   responder's Contact (a response carries the request's Vias, and goes back to the requester: learning
//!   from it would let an off-path requester put itself on the path).
//!
//! A BYE or CANCEL whose source IP is not in that set raises the alert: `src_ip` is that source, `dest_ip`
//! the BYE's receiver. One alert per (dialog, source); a dialog whose set overflowed [`MAX_PATH_ADDRS`] is not
//! judged (the sender may be a hop that was not kept). BYEs and CANCELs for dialogs whose INVITE was not seen
//! are not judged either.
//!
//! # Why it matters
//! A BYE only needs the Call-ID and the tags, which travel in clear over UDP/TCP: anyone who can see the
//! signalling can end calls (denial of service), or end one leg of a call while a man in the middle keeps the
//! other (call hijack). A UA accepts the BYE from any address (RFC 3261 does not ask it to check). Severity
//! High.
//!
//! # Evidence
//! `call_id`, `method` (`BYE` or `CANCEL`), `tags_match` (the From and To tags are the dialog's: whoever sent
//! it read the dialog off the wire; false for a guess or a stale dialog), `user_agent` (when sent), `path`
//! (the addresses that may end the dialog, in the order they were learnt), `transport`.
//!
//! # False positives and tuning
//! A sensor that sees only part of a dialog's signalling cannot learn hops it never saw: a proxy that does not
//! record-route but relays a BYE from another address, a multi-homed SBC that sends in-dialog requests from an
//! address that appears in no message of the setup, or a UA that moves (a registrar-less re-INVITE from a new
//! address) are reported. Calls are remembered for `idle_secs` without a message, at most `max_dialogs` at
//! once (least recently active dropped first): a BYE after a longer silence is not judged.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2006,
    slug: "third-party-teardown",
    category: Category::Mitm,
    severity: Severity::High,
    signature: "BYE or CANCEL for a dialog from an address not on the dialog's path",
};

/// Addresses kept per dialog: two UAs, a NAT address each, a few proxies with both their interfaces. A dialog
/// with more is not judged.
pub const MAX_PATH_ADDRS: usize = 16;
/// To tags kept per dialog (forks of the INVITE).
pub const MAX_TAGS: usize = 4;
/// Off-path senders reported per dialog.
pub const MAX_REPORTED: usize = 4;

/// Settings, `[detectors.third-party-teardown]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Cap on dialogs followed.
    pub max_dialogs: usize,
    /// A dialog without a message for this long is forgotten (two hours outlast the usual session timers, as
    /// the call records do).
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            max_dialogs: 65_536,
            idle_secs: 7200,
        }
    }
}

/// What is known of one dialog.
#[derive(Debug, Clone, Default)]
struct Dialog {
    /// Addresses on the path, in the order they were learnt.
    path: Vec<IpAddr>,
    /// More than [`MAX_PATH_ADDRS`] were seen: the dialog is not judged.
    overflow: bool,
    /// A 2xx answered an INVITE: the setup is over.
    established: bool,
    /// From tag of the first INVITE.
    caller_tag: Option<Box<str>>,
    /// To tags of the responses to the INVITE.
    to_tags: Vec<Box<str>>,
    /// Off-path senders already reported.
    reported: Vec<IpAddr>,
}

impl Dialog {
    fn learn(&mut self, ip: IpAddr) {
        if ip.is_unspecified() || self.path.contains(&ip) {
            return;
        }
        if self.path.len() < MAX_PATH_ADDRS {
            self.path.push(ip);
        } else {
            self.overflow = true;
        }
    }

    fn knows(&self, ip: IpAddr) -> bool {
        self.path.contains(&ip)
    }

    /// Learns what `m` says about the path (see the module doc for which messages teach what).
    fn learn_from(&mut self, m: &SipSeen) {
        let request = m.method.is_some();
        let setup = !self.established && matches!(&*m.cseq_method, "INVITE" | "ACK" | "PRACK");
        if setup {
            self.learn(m.src.ip());
            self.learn(m.dst.ip());
            for ip in &m.path {
                self.learn(*ip);
            }
            if let Some(c) = m.contact_addr {
                self.learn(c.ip());
            }
            if !request
                && &*m.cseq_method == "INVITE"
                && let Some(tag) = &m.to_tag
                && !self.to_tags.contains(tag)
                && self.to_tags.len() < MAX_TAGS
            {
                self.to_tags.push(tag.clone());
            }
            return;
        }
        if !self.knows(m.src.ip()) {
            return;
        }
        if request {
            self.learn(m.dst.ip());
            for ip in &m.path {
                self.learn(*ip);
            }
        }
        if let Some(c) = m.contact_addr {
            self.learn(c.ip());
        }
    }

    /// Whether the request's tags are the dialog's: the caller's From tag and a known To tag (either way
    /// round: a callee's BYE has them swapped). A CANCEL has no To tag.
    fn tags_match(&self, m: &SipSeen) -> bool {
        let (Some(caller), Some(from)) = (&self.caller_tag, &m.from_tag) else {
            return false;
        };
        let known = |t: &Option<Box<str>>| t.as_ref().is_some_and(|t| self.to_tags.contains(t));
        match m.method.as_deref() {
            Some("CANCEL") => from == caller,
            _ => (from == caller && known(&m.to_tag)) || (m.to_tag.as_ref() == Some(caller) && known(&m.from_tag)),
        }
    }
}

/// The detector.
#[derive(Debug)]
pub struct ThirdPartyTeardown {
    dialogs: BoundedMap<Box<str>, Dialog>,
}

impl ThirdPartyTeardown {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        Self {
            dialogs: BoundedMap::new(cfg.max_dialogs, Duration::from_secs(cfg.idle_secs)),
        }
    }

    fn teardown(&mut self, m: &SipSeen, method: &str, cx: &mut Context<'_>) {
        let Some(d) = self.dialogs.get_mut(&m.call_id, cx.now()) else {
            return;
        };
        let src = m.src.ip();
        if d.overflow || d.knows(src) || d.reported.contains(&src) {
            return;
        }
        if d.reported.len() < MAX_REPORTED {
            d.reported.push(src);
        }
        let mut a = Alert::new(&META, cx.now())
            .src(Some(src), Some(m.src.port()))
            .dest(Some(m.dst.ip()), Some(m.dst.port()))
            .proto(match m.transport {
                SipTransport::Udp => Proto::Udp,
                SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
            })
            .key(format!("{}/{src}", m.call_id))
            .evidence("call_id", Value::Str(m.call_id.to_string()))
            .evidence("method", Value::Str(method.to_owned()))
            .evidence("tags_match", Value::Bool(d.tags_match(m)));
        if let Some(ua) = &m.user_agent {
            a = a.evidence("user_agent", Value::Str(ua.to_string()));
        }
        a = a
            .evidence("path", Value::List(d.path.iter().map(|ip| Value::Ip(*ip)).collect()))
            .evidence("transport", Value::Str(m.transport.name().to_owned()));
        cx.raise(a);
    }
}

impl Detector for ThirdPartyTeardown {
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
        match m.method.as_deref() {
            Some(method @ ("BYE" | "CANCEL")) => {
                self.teardown(m, method, cx);
                return;
            }
            Some("INVITE") if self.dialogs.get(&m.call_id).is_none() => {
                let d = Dialog {
                    caller_tag: m.from_tag.clone(),
                    ..Dialog::default()
                };
                self.dialogs.insert(m.call_id.clone(), d, now);
            }
            _ => {}
        }
        // Responses to a BYE or CANCEL carry its Vias (a third party's among them): they teach nothing.
        if matches!(&*m.cseq_method, "BYE" | "CANCEL") {
            return;
        }
        let Some(d) = self.dialogs.get_mut(&m.call_id, now) else {
            return;
        };
        d.learn_from(m);
        if m.method.is_none() && &*m.cseq_method == "INVITE" && m.status.is_some_and(|s| (200..300).contains(&s)) {
            d.established = true;
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
    use crate::testkit::{Scenario, Sip};

    const CALLER: &str = "10.0.0.11:5060";
    const PROXY: &str = "10.0.0.1:5060";
    const CALLEE: &str = "10.0.0.12:5060";
    const ATTACKER: &str = "192.0.2.66:5060";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn with_path(m: Sip, path: &[&str], contact: Option<&str>) -> Payload {
        let mut s = m.seen();
        s.path = path.iter().map(|p| ip(p)).collect();
        s.contact_addr = contact.map(|c| c.parse().unwrap());
        Payload::Sip(Box::new(s))
    }

    /// A call through a record-routing proxy, as the sensor sees both legs.
    fn call(s: &mut Scenario) {
        let inv = |src, dst, path: &[&str]| with_path(Sip::request("INVITE", src, dst), path, Some(CALLER));
        s.at_ms(0, inv(CALLER, PROXY, &["10.0.0.11"]));
        s.at_ms(1, inv(PROXY, CALLEE, &["10.0.0.1", "10.0.0.11", "10.0.0.1"]));
        let ok = |src, dst, path: &[&str]| with_path(Sip::response(200, "INVITE", src, dst), path, Some(CALLEE));
        s.at_ms(100, ok(CALLEE, PROXY, &["10.0.0.1", "10.0.0.11", "10.0.0.1"]));
        s.at_ms(101, ok(PROXY, CALLER, &["10.0.0.11", "10.0.0.1"]));
        s.at_ms(102, Sip::request("ACK", CALLER, PROXY).tags("caller", Some("callee")).payload());
    }

    fn bye(src: &str, dst: &str) -> Sip {
        Sip::request("BYE", src, dst).cseq(2).tags("caller", Some("callee"))
    }

    #[test]
    fn a_bye_from_an_address_off_the_path_is_one_alert() {
        let mut s = Scenario::new();
        call(&mut s);
        s.at_ms(3000, bye(ATTACKER, CALLEE).payload());
        // Its 200 goes back through the path and carries the attacker's Via: it teaches nothing.
        s.at_ms(3001, with_path(Sip::response(200, "BYE", CALLEE, PROXY).cseq(2), &["192.0.2.66"], None));
        s.at_ms(3500, bye(ATTACKER, CALLEE).payload());
        let alerts = s.run(ThirdPartyTeardown::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!((a.src_ip, a.dest_ip), (Some(ip("192.0.2.66")), Some(ip("10.0.0.12"))));
        assert_eq!(a.evidence.get("method"), Some(&Value::Str("BYE".into())));
        assert_eq!(a.evidence.get("tags_match"), Some(&Value::Bool(true)));
        assert_eq!(
            a.evidence.get("path"),
            Some(&Value::List(vec![
                Value::Ip(ip("10.0.0.11")),
                Value::Ip(ip("10.0.0.1")),
                Value::Ip(ip("10.0.0.12"))
            ]))
        );
    }

    #[test]
    fn byes_from_the_parties_and_the_proxy_are_silent() {
        let mut s = Scenario::new();
        call(&mut s);
        s.at_ms(3000, bye(CALLER, PROXY).payload());
        s.at_ms(3001, bye(PROXY, CALLEE).payload());
        // The callee's BYE the other way, and a retransmission after the dialog ended.
        s.at_ms(3002, Sip::request("BYE", CALLEE, PROXY).tags("callee", Some("caller")).payload());
        s.at_ms(9000, bye(CALLER, PROXY).payload());
        assert!(s.run(ThirdPartyTeardown::new(&Config::default())).is_empty());
    }

    #[test]
    fn the_contact_of_a_party_may_hang_up_without_a_record_route() {
        // No proxy record-routes; the sensor saw only the caller's leg: the callee's BYE comes from its
        // Contact, which only the 200 named.
        let mut s = Scenario::new();
        s.at_ms(0, with_path(Sip::request("INVITE", CALLER, PROXY), &["10.0.0.11"], Some(CALLER)));
        s.at_ms(100, with_path(Sip::response(200, "INVITE", PROXY, CALLER), &["10.0.0.11"], Some("10.0.0.12:5062")));
        s.at_ms(3000, Sip::request("BYE", "10.0.0.12:5062", CALLER).tags("callee", Some("caller")).payload());
        assert!(s.run(ThirdPartyTeardown::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_cancel_from_a_third_party_and_a_guess_with_wrong_tags() {
        let mut s = Scenario::new();
        s.at_ms(0, with_path(Sip::request("INVITE", CALLER, PROXY), &["10.0.0.11"], Some(CALLER)));
        s.at_ms(10, Sip::request("CANCEL", ATTACKER, PROXY).payload());
        s.at_ms(20, Sip::request("BYE", "192.0.2.77:5060", PROXY).tags("nope", Some("x")).payload());
        let alerts = s.run(ThirdPartyTeardown::new(&Config::default()));
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].evidence.get("method"), Some(&Value::Str("CANCEL".into())));
        assert_eq!(alerts[0].evidence.get("tags_match"), Some(&Value::Bool(true)));
        assert_eq!(alerts[1].evidence.get("tags_match"), Some(&Value::Bool(false)));
    }

    #[test]
    fn an_off_path_reinvite_does_not_put_its_sender_on_the_path() {
        let mut s = Scenario::new();
        call(&mut s);
        let reinvite = Sip::request("INVITE", ATTACKER, CALLEE).cseq(2).tags("caller", Some("callee"));
        s.at_ms(2000, with_path(reinvite, &["192.0.2.66"], Some(ATTACKER)));
        // The callee answers it (to the attacker, with the attacker's Via).
        let ok = Sip::response(200, "INVITE", CALLEE, ATTACKER).cseq(2);
        s.at_ms(2001, with_path(ok, &["192.0.2.66"], Some(CALLEE)));
        s.at_ms(3000, bye(ATTACKER, CALLEE).payload());
        assert_eq!(s.run(ThirdPartyTeardown::new(&Config::default())).len(), 1);
        // A re-INVITE from a party through a new hop teaches that hop.
        let mut s = Scenario::new();
        call(&mut s);
        let reinvite = Sip::request("INVITE", CALLER, "10.0.0.2:5060").cseq(2).tags("caller", Some("callee"));
        s.at_ms(2000, with_path(reinvite, &["10.0.0.11"], Some(CALLER)));
        s.at_ms(3000, bye("10.0.0.2:5060", CALLEE).payload());
        assert!(s.run(ThirdPartyTeardown::new(&Config::default())).is_empty());
    }

    #[test]
    fn unknown_dialogs_and_overflowing_paths_are_not_judged() {
        let mut s = Scenario::new();
        s.at_ms(0, bye(ATTACKER, CALLEE).call("never-seen").payload());
        let hops: Vec<String> = (0..20).map(|i| format!("10.1.0.{i}")).collect();
        let hops: Vec<&str> = hops.iter().map(String::as_str).collect();
        s.at_ms(10, with_path(Sip::request("INVITE", CALLER, PROXY), &hops, Some(CALLER)));
        s.at_ms(20, bye(ATTACKER, CALLEE).payload());
        assert!(s.run(ThirdPartyTeardown::new(&Config::default())).is_empty());
    }

    #[test]
    fn the_dialog_table_stays_bounded_under_an_invite_flood() {
        let cfg = Config {
            max_dialogs: 100,
            ..Config::default()
        };
        let mut d = ThirdPartyTeardown::new(&cfg);
        let mut out = Vec::new();
        for i in 0..3_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 100);
            let m = Sip::request("INVITE", ATTACKER, PROXY).call(&format!("c{i}"));
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
        // Idle dialogs go.
        let mut cx = Context::new(PacketTime::from_secs(10_000), &mut out);
        d.on_tick(PacketTime::from_secs(10_000), &mut cx);
        assert_eq!(d.dialogs.len(), 0);
    }
}
