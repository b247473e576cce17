//! `arp-spoof` (sid 2004): ARP cache poisoning, the usual first step of a man in the middle on a LAN
//! (arpspoof, ettercap, bettercap).
//!
//! # What raises it
//! - **A contested IP.** An IP whose binding was stable (claimed by one MAC for `stable_secs` or
//!   `stable_claims` ARP packets) is claimed by another MAC, and the first owner keeps claiming it afterwards:
//!   two live machines say they are the same address. That is what poisoning looks like on the wire, since the
//!   real owner goes on answering ARP requests while the attacker sends its forged replies. The alert fires at
//!   the first claim that proves both are alive, names the newcomer as the attacker, and repeats for no
//!   other packet (the engine suppresses by claimed IP).
//! - **A MAC that already owns another IP** claims a stable IP that is still in use: a host stealing a
//!   neighbour's address (the gateway's, typically). Fires at once.
//! - **One MAC claiming many IPs** (`max_ips_per_mac` distinct IPs within `ips_window_secs`), and
//!   **gratuitous-ARP storms** (`garp_storm` gratuitous ARPs from one MAC within `garp_window_secs`): one alert
//!   per claimed IP.
//!
//! # What does not raise it, and how it is told apart
//! - **DHCP re-address**: the old owner has been silent for `rebind_idle_secs` when the new MAC claims the IP
//!   (the lease expired, the address was given to someone else). The binding moves; no alert.
//! - **Failover with a virtual MAC** (VRRP `00:00:5e:00:01:xx` / `00:00:5e:00:02:xx`, HSRP `00:00:0c:07:ac:xx`
//!   and `00:00:0c:9f:fx:xx`, GLBP `00:07:b4:xx`, plus `failover_macs`): the MAC does not change, or moves to or
//!   from a virtual one. No alert.
//! - **A NIC replaced once, or a failover pair using physical MACs**: the new MAC takes over and the old one is
//!   never heard again for this IP. It stays a "challenger" until the old owner is idle for
//!   `rebind_idle_secs`, then becomes the owner. Only the old owner coming back while the newcomer is active
//!   turns it into a contested IP.
//! - ARP probes (RFC 5227, sender IP 0.0.0.0) claim nothing and are ignored. MACs in `allow_macs` (proxy-ARP
//!   routers, load balancers) are never reported as attackers.
//!
//! # Evidence
//! `claimed_ip`, `owner_mac` (the stable binding), `attacker_mac`, `attacker_ips` (the IPs the attacker's MAC
//! uses as its own: uncontested, and claimed in ordinary requests or replies as a host does when it talks,
//! not only in gratuitous announcements; the first is `src_ip`), `victims` (the hosts its forged ARPs were
//! addressed to; the first is `dest_ip`), `attacker_claims`, `owner_claims`, `reason`.
//!
//! # Tuning
//! Raise `contest_secs` on networks where hosts re-ARP rarely; add proxy-ARP routers to `allow_macs`. Bindings
//! are per VLAN.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use callguard_parsers::link::Mac;
use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{ArpSeen, Event, EventKind, Interests, Payload};
use crate::mac::MacPattern;
use crate::table::{BoundedMap, TableStats};
use crate::time::{PacketTime, RateWindow};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 2004,
    slug: "arp-spoof",
    category: Category::Mitm,
    severity: Severity::High,
    signature: "ARP spoofing: an IP address claimed by a second MAC",
};

/// Settings, `[detectors.arp-spoof]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// A binding is stable once its MAC has claimed the IP for this long...
    pub stable_secs: u64,
    /// ...or this many times.
    pub stable_claims: u32,
    /// An owner silent this long may have gone (DHCP re-address, NIC replaced): a new MAC takes over quietly.
    pub rebind_idle_secs: u64,
    /// The old owner and the newcomer both claiming the IP within this window is a contested IP.
    pub contest_secs: u64,
    /// Distinct IPs one MAC may claim within `ips_window_secs` before it is reported.
    pub max_ips_per_mac: usize,
    /// Window of `max_ips_per_mac`.
    pub ips_window_secs: u64,
    /// Gratuitous ARPs one MAC may send within `garp_window_secs` before it is a storm.
    pub garp_storm: u64,
    /// Window of `garp_storm` (at most 60).
    pub garp_window_secs: u64,
    /// MACs never reported as attackers (proxy ARP, load balancers).
    pub allow_macs: Vec<MacPattern>,
    /// MACs whose taking over an IP is a failover, besides the built-in VRRP/HSRP/GLBP ranges.
    pub failover_macs: Vec<MacPattern>,
    /// Cap on (VLAN, IP) bindings.
    pub max_bindings: usize,
    /// Cap on tracked MACs.
    pub max_macs: usize,
    /// Bindings and MACs idle this long are forgotten.
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            stable_secs: 30,
            stable_claims: 2,
            rebind_idle_secs: 120,
            contest_secs: 60,
            max_ips_per_mac: 16,
            ips_window_secs: 60,
            garp_storm: 30,
            garp_window_secs: 10,
            allow_macs: Vec::new(),
            failover_macs: Vec::new(),
            max_bindings: 65_536,
            max_macs: 65_536,
            idle_secs: 3600,
        }
    }
}

/// VRRP (RFC 5798 §7.3), HSRP v1/v2 and GLBP virtual MAC ranges: a move to or from one is a failover.
fn is_virtual_router_mac(m: &Mac) -> bool {
    matches!(m, [0x00, 0x00, 0x5e, 0x00, 0x01 | 0x02, _])
        || matches!(m, [0x00, 0x00, 0x0c, 0x07, 0xac, _])
        || matches!(m, [0x00, 0x00, 0x0c, 0x9f, f, _] if f & 0xf0 == 0xf0)
        || matches!(m, [0x00, 0x07, 0xb4, _, _, _])
}

/// Bound on the victims remembered per challenger (evidence only).
const MAX_VICTIMS: usize = 8;
/// Bound on the IPs remembered per MAC.
const MAX_IPS_PER_MAC_TRACKED: usize = 64;

#[derive(Debug, Clone)]
struct Challenger {
    mac: Mac,
    first: PacketTime,
    last: PacketTime,
    claims: u32,
    victims: Vec<Ipv4Addr>,
}

#[derive(Debug, Clone)]
struct Binding {
    owner: Mac,
    owner_since: PacketTime,
    owner_last: PacketTime,
    owner_claims: u32,
    challenger: Option<Challenger>,
}

#[derive(Debug, Clone, Default)]
struct MacState {
    /// IPs claimed by this MAC, with when each was first claimed and whether it was ever claimed in an
    /// ordinary (not gratuitous) request or reply, as a host does with its own address when it talks.
    ips: Vec<(Ipv4Addr, PacketTime, bool)>,
    garp: RateWindow<60>,
}

/// The detector.
#[derive(Debug)]
pub struct ArpSpoof {
    cfg: Config,
    bindings: BoundedMap<(u16, Ipv4Addr), Binding>,
    macs: BoundedMap<(u16, Mac), MacState>,
}

impl ArpSpoof {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let idle = Duration::from_secs(cfg.idle_secs);
        Self {
            cfg: cfg.clone(),
            bindings: BoundedMap::new(cfg.max_bindings, idle),
            macs: BoundedMap::new(cfg.max_macs, idle),
        }
    }

    fn allowed(&self, m: &Mac) -> bool {
        self.cfg.allow_macs.iter().any(|p| p.matches(m))
    }

    fn failover(&self, m: &Mac) -> bool {
        is_virtual_router_mac(m) || self.cfg.failover_macs.iter().any(|p| p.matches(m))
    }

    /// The IPs `mac` claims and owns without contest, other than `except`: the attacker's own addresses.
    fn own_ips(&self, vlan: u16, mac: &Mac, except: Ipv4Addr) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = self
            .macs
            .get(&(vlan, *mac))
            .map(|s| s.ips.iter().filter(|(_, _, talked)| *talked).map(|(ip, _, _)| *ip).collect())
            .unwrap_or_default();
        v.retain(|ip| {
            *ip != except
                && self
                    .bindings
                    .get(&(vlan, *ip))
                    .is_some_and(|b| b.owner == *mac && b.challenger.is_none())
        });
        v.sort();
        v
    }

    fn stable(&self, b: &Binding, now: PacketTime) -> bool {
        b.owner_claims >= self.cfg.stable_claims
            || now.since(b.owner_since) >= Duration::from_secs(self.cfg.stable_secs)
    }

    fn raise_contest(&self, a: &ArpSeen, ip: Ipv4Addr, b: &Binding, reason: &str, cx: &mut Context<'_>) {
        let Some(c) = &b.challenger else { return };
        if self.allowed(&c.mac) {
            return;
        }
        let attacker_ips = self.own_ips(a.vlan, &c.mac, ip);
        let alert = Alert::new(&META, cx.now())
            .src(attacker_ips.first().copied().map(IpAddr::V4), None)
            .dest(c.victims.first().copied().map(IpAddr::V4), None)
            .proto(Proto::Arp)
            .key(format!("{}/{ip}", a.vlan))
            .evidence("reason", Value::Str(reason.to_owned()))
            .evidence("claimed_ip", Value::Ip(IpAddr::V4(ip)))
            .evidence("owner_mac", Value::Mac(b.owner))
            .evidence("attacker_mac", Value::Mac(c.mac))
            .evidence("attacker_ips", Value::List(attacker_ips.iter().map(|i| Value::Ip(IpAddr::V4(*i))).collect()))
            .evidence("victims", Value::List(c.victims.iter().map(|i| Value::Ip(IpAddr::V4(*i))).collect()))
            .evidence("attacker_claims", Value::U64(u64::from(c.claims)))
            .evidence("owner_claims", Value::U64(u64::from(b.owner_claims)))
            .evidence("first_claim", Value::Time(c.first))
            .evidence("vlan", Value::U64(u64::from(a.vlan)));
        cx.raise(alert);
    }

    /// One alert per IP in `ips`.
    fn raise_many(&self, a: &ArpSeen, ips: &[Ipv4Addr], reason: &str, count: u64, cx: &mut Context<'_>) {
        if self.allowed(&a.sender_mac) {
            return;
        }
        let mut own = self.own_ips(a.vlan, &a.sender_mac, Ipv4Addr::UNSPECIFIED);
        own.retain(|i| !ips.contains(i));
        // The MAC's first-claimed address is its own when it claimed one before the burst.
        let src = self
            .macs
            .get(&(a.vlan, a.sender_mac))
            .and_then(|s| s.ips.iter().find(|(_, _, talked)| *talked).map(|(ip, _, _)| *ip))
            .filter(|ip| own.contains(ip));
        for ip in ips {
            if Some(*ip) == src {
                continue;
            }
            let alert = Alert::new(&META, cx.now())
                .src(src.map(IpAddr::V4), None)
                .dest(Some(IpAddr::V4(*ip)), None)
                .proto(Proto::Arp)
                .key(format!("{}/{ip}", a.vlan))
                .evidence("reason", Value::Str(reason.to_owned()))
                .evidence("claimed_ip", Value::Ip(IpAddr::V4(*ip)))
                .evidence("attacker_mac", Value::Mac(a.sender_mac))
                .evidence("attacker_ips", Value::List(own.iter().map(|i| Value::Ip(IpAddr::V4(*i))).collect()))
                .evidence("claimed_ips", Value::U64(ips.len() as u64))
                .evidence("count", Value::U64(count))
                .evidence("vlan", Value::U64(u64::from(a.vlan)));
            cx.raise(alert);
        }
    }

    fn on_arp(&mut self, a: &ArpSeen, cx: &mut Context<'_>) {
        let now = cx.now();
        let mac = a.sender_mac;
        let ip = a.sender_ip;
        if a.is_probe() || mac == [0; 6] || mac == [0xff; 6] || ip.is_broadcast() || ip.is_multicast() {
            return;
        }
        // Per-MAC: the IPs it claims, and its gratuitous ARPs.
        let ips_window = Duration::from_secs(self.cfg.ips_window_secs);
        let garp_secs = usize::try_from(self.cfg.garp_window_secs).unwrap_or(60);
        let (recent_ips, garps) = {
            let st = self.macs.get_or_insert_with((a.vlan, mac), now, MacState::default);
            let talked = !a.is_gratuitous();
            if let Some(e) = st.ips.iter_mut().find(|(i, _, _)| *i == ip) {
                e.2 |= talked;
            } else {
                if st.ips.len() >= MAX_IPS_PER_MAC_TRACKED {
                    st.ips.remove(0);
                }
                st.ips.push((ip, now, talked));
            }
            let garps = if a.is_gratuitous() {
                st.garp.add(now, 1);
                st.garp.sum(now, garp_secs)
            } else {
                0
            };
            let recent: Vec<Ipv4Addr> =
                st.ips.iter().filter(|(_, t, _)| now.since(*t) <= ips_window).map(|(i, _, _)| *i).collect();
            (recent, garps)
        };
        if garps >= self.cfg.garp_storm {
            self.raise_many(a, &[ip], "gratuitous-arp-storm", garps, cx);
        }
        if recent_ips.len() >= self.cfg.max_ips_per_mac {
            self.raise_many(a, &recent_ips, "one-mac-many-ips", recent_ips.len() as u64, cx);
        }

        // Per-IP binding.
        let key = (a.vlan, ip);
        let Some(mut b) = self.bindings.get(&key).cloned() else {
            let binding = Binding {
                owner: mac,
                owner_since: now,
                owner_last: now,
                owner_claims: 1,
                challenger: None,
            };
            self.bindings.insert(key, binding, now);
            return;
        };
        let contest = Duration::from_secs(self.cfg.contest_secs);
        let rebind_idle = Duration::from_secs(self.cfg.rebind_idle_secs);
        // A challenger gone quiet for a whole contest window is forgotten.
        if b.challenger.as_ref().is_some_and(|c| now.since(c.last) > contest.saturating_mul(2)) {
            b.challenger = None;
        }
        if mac == b.owner {
            b.owner_claims = b.owner_claims.saturating_add(1);
            b.owner_last = now;
            let contested = b.challenger.as_ref().is_some_and(|c| now.since(c.last) <= contest);
            if contested {
                self.raise_contest(a, ip, &b, "owner-and-newcomer-both-claim", cx);
            }
        } else if b.challenger.as_ref().is_some_and(|c| c.mac == mac) {
            let owner_idle = now.since(b.owner_last);
            if let Some(c) = b.challenger.as_mut() {
                c.claims = c.claims.saturating_add(1);
                c.last = now;
                note_victim(c, a);
            }
            if owner_idle >= rebind_idle {
                // The old owner is gone: NIC replaced, address reassigned.
                promote(&mut b, now);
            } else if b.challenger.as_ref().is_some_and(|c| b.owner_last > c.first) {
                self.raise_contest(a, ip, &b, "owner-and-newcomer-both-claim", cx);
            }
        } else {
            // A MAC new to this IP.
            let owner_idle = now.since(b.owner_last);
            if !self.stable(&b, now) || owner_idle >= rebind_idle || self.failover(&mac) || self.failover(&b.owner) {
                b = Binding { owner: mac, owner_since: now, owner_last: now, owner_claims: 1, challenger: None };
            } else {
                let mut c = Challenger { mac, first: now, last: now, claims: 1, victims: Vec::new() };
                note_victim(&mut c, a);
                b.challenger = Some(c);
                if !self.own_ips(a.vlan, &mac, ip).is_empty() {
                    self.raise_contest(a, ip, &b, "host-claims-a-neighbours-ip", cx);
                }
            }
        }
        self.bindings.insert(key, b, now);
    }
}

fn note_victim(c: &mut Challenger, a: &ArpSeen) {
    let v = a.target_ip;
    if !a.is_gratuitous() && !v.is_unspecified() && c.victims.len() < MAX_VICTIMS && !c.victims.contains(&v) {
        c.victims.push(v);
    }
}

fn promote(b: &mut Binding, now: PacketTime) {
    if let Some(c) = b.challenger.take() {
        *b = Binding { owner: c.mac, owner_since: c.first, owner_last: now, owner_claims: c.claims, challenger: None };
    }
}

impl Detector for ArpSpoof {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Arp)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        if let Payload::Arp(a) = &ev.payload {
            self.on_arp(a, cx);
        }
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.bindings.expire(now);
        self.macs.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("bindings", self.bindings.stats()), ("macs", self.macs.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Scenario;

    const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const VICTIM: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);
    const EVIL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 66);
    const G: Mac = [2, 0, 0, 0, 0, 1];
    const V: Mac = [2, 0, 0, 0, 0, 11];
    const M: Mac = [2, 0, 0, 0, 0, 66];

    fn reply(sender_mac: Mac, sender_ip: Ipv4Addr, target_mac: Mac, target_ip: Ipv4Addr) -> Payload {
        Payload::Arp(ArpSeen {
            op: 2,
            eth_src: Some(sender_mac),
            eth_dst: Some(target_mac),
            sender_mac,
            sender_ip,
            target_mac,
            target_ip,
            vlan: 0,
        })
    }

    fn garp(mac: Mac, ip: Ipv4Addr) -> Payload {
        reply(mac, ip, [0xff; 6], ip)
    }

    fn run(s: &Scenario) -> Vec<Alert> {
        s.run(ArpSpoof::new(&Config::default()))
    }

    /// Gateway and victim resolve each other for a minute.
    fn normal_lan(s: &mut Scenario) {
        for t in (0..60_000).step_by(10_000) {
            s.at_ms(t, reply(G, GW, V, VICTIM));
            s.at_ms(t + 1, reply(V, VICTIM, G, GW));
        }
    }

    #[test]
    fn poisoning_with_a_live_owner_fires_once_naming_the_attacker() {
        let mut s = Scenario::new();
        normal_lan(&mut s);
        // The attacker has no other IP: it is caught when the gateway answers again.
        for t in (61_000..120_000).step_by(2_000) {
            s.at_ms(t, reply(M, GW, V, VICTIM));
        }
        s.at_ms(70_000, reply(G, GW, V, VICTIM));
        s.at_ms(80_000, reply(G, GW, V, VICTIM));
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.meta.sid, 2004);
        assert_eq!(a.evidence.get("claimed_ip"), Some(&Value::Ip(GW.into())));
        assert_eq!(a.evidence.get("attacker_mac"), Some(&Value::Mac(M)));
        assert_eq!(a.evidence.get("owner_mac"), Some(&Value::Mac(G)));
        assert_eq!(a.dest_ip, Some(VICTIM.into()));
        assert_eq!(a.ts, PacketTime::from_nanos(Scenario::BASE_NANOS + 70_000_000_000));
    }

    #[test]
    fn a_host_stealing_a_neighbours_ip_fires_at_once_with_its_own_ip_as_source() {
        let mut s = Scenario::new();
        normal_lan(&mut s);
        s.at_ms(30_000, reply(M, EVIL, G, GW));
        s.at_ms(61_000, reply(M, GW, V, VICTIM));
        let alerts = run(&s);
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some(EVIL.into()));
        assert_eq!(alerts[0].evidence.get("attacker_ips"), Some(&Value::List(vec![Value::Ip(EVIL.into())])));
        assert_eq!(alerts[0].evidence.get("reason"), Some(&Value::Str("host-claims-a-neighbours-ip".into())));
    }

    #[test]
    fn dhcp_readdress_after_silence_is_quiet() {
        let mut s = Scenario::new();
        normal_lan(&mut s);
        // The victim's old MAC goes silent; five minutes later another MAC gets its address.
        let other: Mac = [2, 0, 0, 0, 0, 99];
        s.at_ms(360_000, garp(other, VICTIM));
        s.at_ms(361_000, reply(G, GW, other, VICTIM));
        s.at_ms(362_000, reply(other, VICTIM, G, GW));
        assert!(run(&s).is_empty());
    }

    #[test]
    fn vrrp_failover_is_quiet() {
        let mut s = Scenario::new();
        let vmac: Mac = [0, 0, 0x5e, 0, 1, 1];
        let phys: Mac = [2, 0, 0, 0, 0, 2];
        for t in (0..60_000).step_by(5_000) {
            s.at_ms(t, garp(vmac, GW));
        }
        // A router that answered from its physical MAC hands over to the virtual one, and back.
        s.at_ms(61_000, garp(phys, GW));
        s.at_ms(62_000, garp(vmac, GW));
        assert!(run(&s).is_empty());
    }

    #[test]
    fn a_nic_replaced_once_is_quiet() {
        let mut s = Scenario::new();
        normal_lan(&mut s);
        let new_nic: Mac = [2, 0, 0, 0, 0, 12];
        // The victim's old NIC stops at 50 s; the new one announces at 55 s and carries on.
        for t in (55_000..600_000).step_by(20_000) {
            s.at_ms(t, reply(new_nic, VICTIM, G, GW));
            s.at_ms(t + 1, reply(G, GW, new_nic, VICTIM));
        }
        assert!(run(&s).is_empty());
    }

    #[test]
    fn an_unstable_binding_can_change_without_alert() {
        let mut s = Scenario::new();
        s.at_ms(0, reply(G, GW, V, VICTIM));
        s.at_ms(1_000, reply(M, GW, V, VICTIM));
        s.at_ms(2_000, reply(G, GW, V, VICTIM));
        assert!(run(&s).is_empty());
    }

    #[test]
    fn a_gratuitous_storm_fires_once_per_claimed_ip() {
        let mut s = Scenario::new();
        let storm: Mac = [2, 0, 0, 0, 0, 0x77];
        s.at_ms(0, reply(storm, Ipv4Addr::new(10, 0, 0, 77), G, GW));
        let mut t = 1_000;
        for _round in 0..10 {
            for i in 0..5u8 {
                s.at_ms(t, garp(storm, Ipv4Addr::new(10, 0, 0, 200 + i)));
                t += 20;
            }
        }
        let alerts = run(&s);
        let mut ips: Vec<_> = alerts.iter().map(|a| a.dest_ip.unwrap()).collect();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), 5, "{alerts:#?}");
        assert_eq!(alerts.len(), 5, "one per claimed IP, not per packet");
        assert!(alerts.iter().all(|a| a.src_ip == Some(Ipv4Addr::new(10, 0, 0, 77).into())));
    }

    #[test]
    fn allowlisted_proxy_arp_router_is_quiet() {
        let mut s = Scenario::new();
        let proxy: Mac = [2, 0, 0, 0, 0, 0xfe];
        for i in 0..40u8 {
            s.at_ms(u64::from(i) * 100, reply(proxy, Ipv4Addr::new(10, 0, 5, i), V, VICTIM));
        }
        let mut cfg = Config::default();
        assert!(!s.run(ArpSpoof::new(&cfg)).is_empty(), "many IPs from one MAC fires by default");
        cfg.allow_macs.push(MacPattern::parse("02:00:00:00:00:fe").unwrap());
        assert!(s.run(ArpSpoof::new(&cfg)).is_empty());
    }

    #[test]
    fn a_flood_of_spoofed_senders_stays_bounded() {
        let cfg = Config { max_bindings: 1000, max_macs: 1000, ..Config::default() };
        let mut d = ArpSpoof::new(&cfg);
        let mut out = Vec::new();
        for i in 0..50_000u32 {
            let [_, a, b, c] = i.to_be_bytes();
            let ev = Event {
                seq: u64::from(i),
                ts: PacketTime::from_secs(1_000),
                payload: garp([2, 1, 0, a, b, c], Ipv4Addr::new(10, a, b, c)),
            };
            let mut cx = Context::new(ev.ts, &mut out);
            d.on_event(&ev, &mut cx);
        }
        for (_, t) in d.tables() {
            assert!(t.len <= 1000);
            assert!(t.evicted > 0);
        }
    }
}
