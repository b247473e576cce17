//! `registration-hijack` (sid 5003): a REGISTER that moves an account's contact to a new address after
//! failed authentications, or from a network the account has never registered from.
//!
//! # What raises it
//! Registrations are judged when the registrar accepts them: the same pairing of requests with credentials
//! and their final answers as `sip-bruteforce` (5001) (relayed copies counted once, answers only from the
//! request's destination). A 2xx to a REGISTER with credentials is an accepted registration of the account
//! (registrar address and username); the binding it asked for is the REGISTER's first Contact (its IP address;
//! a Contact that is not an IP address stands for the sender's address). The registrar's 200 echoes every
//! binding of the account, not only the new one, so the request's Contact, not the answer's first, is the move.
//!
//! Per account the detector learns the **addresses** (Contact hosts and senders) and the **source networks**
//! (the /`ipv4_prefix` or /`ipv6_prefix` of the sender, /24 and /48 by default) of its accepted
//! registrations. A registration whose Contact address and sender the account has never used is a
//! **move**; a re-registration from the same IP with another port (a NAT rebinding) is not. A move raises:
//! - `reason = "after-failures"` (High) when the sender, or the account, had at least `min_failures` refused
//!   authentications (401/403/407 to credentials) within `failure_window_secs` before it: a guessed or
//!   phished password being put to use. An account the sensor has not seen register yet counts as having no
//!   address, so svcrack's winning REGISTER (Contact `sip:123@1.1.1.1`, the tool's own) raises too;
//!   `bruteforce-success` (5002) reports the guess, this alert reports where the account's calls now go.
//! - `reason = "new-network"` (Medium) when, without such failures, the sender's network is one the account
//!   has never registered from, once the account has a history: at least `learning_registrations` accepted
//!   registrations, the first of them at least `learning_secs` of packet time earlier. The first
//!   registrations of every account only teach.
//!
//! A sender in `allow_networks` (CIDR prefixes: the sites, VPN pools and mobile ranges users register from)
//! never raises. What a registration that raised shows is learnt too, so the attacker's refreshes are one
//! episode (one alert, and the engine suppresses the same key for its window).
//!
//! # Severity
//! **High** after failures (a probable account takeover: the attacker receives the account's calls and can
//! call out as it); **Medium** for a new network alone (could be a user on the road).
//!
//! # Evidence
//! `reason`, `username`, `contact` (the new binding's address), `known_addresses` (what the account used
//! before), `network` and `known_networks`, `registrations` (accepted so far), `history_secs` (since the
//! first), and for `after-failures` `source_failures`, `account_failures`, `first_failure`, `last_failure`.
//! Never the credentials.
//!
//! # False positives and tuning
//! Phones that move between networks (softphones on laptops, mobiles on carrier NAT pools whose public
//! address changes network) raise `new-network`: list those ranges in `allow_networks`, or widen
//! `ipv4_prefix`. A user who mistypes a password `min_failures` times and then registers a new phone raises
//! `after-failures`; raise `min_failures` where that is common. NAT rebindings within the same /24, refreshes
//! from the same address, and the normal 401 challenge before every registration (a request without
//! credentials) never count. Registrations accepted without credentials (IP-authenticated trunks) are not
//! followed.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::detectors::sip_bruteforce::{AuthOutcomes, Outcome};
use crate::event::{Event, EventKind, Interests, Payload, SipTransport};
use crate::net::{Network, network, prefix_text};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 5003,
    slug: "registration-hijack",
    category: Category::Credentials,
    severity: Severity::High,
    signature: "SIP registration moves an account's contact after failed logins or from an unseen network",
};

/// Addresses (Contact hosts and senders) remembered per account; the oldest is forgotten beyond.
pub const MAX_ADDRESSES: usize = 8;
/// Source networks remembered per account; the oldest is forgotten beyond.
pub const MAX_NETWORKS: usize = 8;

/// Settings, `[detectors.registration-hijack]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Refused authentications (of the sender or of the account) before a move that make it a takeover.
    pub min_failures: u64,
    /// Failures count for this long after the last one, in seconds of packet time.
    pub failure_window_secs: u64,
    /// Accepted registrations an account needs before a new network raises.
    pub learning_registrations: u64,
    /// Seconds of packet time from an account's first accepted registration before a new network raises.
    pub learning_secs: u64,
    /// Prefix length of an IPv4 source network.
    pub ipv4_prefix: u8,
    /// Prefix length of an IPv6 source network.
    pub ipv6_prefix: u8,
    /// Senders in these networks (CIDR) never raise.
    pub allow_networks: Vec<Network>,
    /// Cap on followed accounts.
    pub max_accounts: usize,
    /// Accounts that have not registered for this long are forgotten, in seconds (a week by default).
    pub account_idle_secs: u64,
    /// Cap on senders and on accounts with recent failures.
    pub max_failures: usize,
    /// Cap on requests with credentials waiting for their answer.
    pub max_pending: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            min_failures: 3,
            failure_window_secs: 600,
            learning_registrations: 2,
            learning_secs: 30,
            ipv4_prefix: 24,
            ipv6_prefix: 48,
            allow_networks: Vec::new(),
            max_accounts: 65_536,
            account_idle_secs: 7 * 86_400,
            max_failures: 65_536,
            max_pending: 16_384,
        }
    }
}

/// What an account's accepted registrations showed.
#[derive(Debug, Clone)]
struct Account {
    first: PacketTime,
    registrations: u64,
    addresses: Vec<IpAddr>,
    networks: Vec<IpAddr>,
}

/// Refused authentications of a sender or an account.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u64,
    first: PacketTime,
    last: PacketTime,
}

/// Remembers `v` in a list of at most `cap`, dropping the oldest.
fn remember(list: &mut Vec<IpAddr>, v: IpAddr, cap: usize) {
    if list.contains(&v) {
        return;
    }
    if list.len() >= cap {
        list.remove(0);
    }
    list.push(v);
}

/// The detector.
#[derive(Debug)]
pub struct RegistrationHijack {
    cfg: Config,
    outcomes: AuthOutcomes,
    accounts: BoundedMap<(IpAddr, Box<str>), Account>,
    source_failures: BoundedMap<IpAddr, Failures>,
    account_failures: BoundedMap<(IpAddr, Box<str>), Failures>,
}

impl RegistrationHijack {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let window = Duration::from_secs(cfg.failure_window_secs);
        Self {
            cfg: cfg.clone(),
            outcomes: AuthOutcomes::new(cfg.max_pending),
            accounts: BoundedMap::new(cfg.max_accounts, Duration::from_secs(cfg.account_idle_secs)),
            source_failures: BoundedMap::new(cfg.max_failures, window),
            account_failures: BoundedMap::new(cfg.max_failures, window),
        }
    }

    fn net(&self, ip: IpAddr) -> IpAddr {
        network(ip, self.cfg.ipv4_prefix, self.cfg.ipv6_prefix)
    }
}

impl Detector for RegistrationHijack {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        let Some((a, outcome)) = self.outcomes.on_sip(m, now) else { return };
        let src = a.src.ip();
        let account = (a.dst.ip(), a.user.clone());
        let window = Duration::from_secs(self.cfg.failure_window_secs);
        let fresh = || Failures { count: 0, first: now, last: now };
        if let Outcome::Failed(_) = outcome {
            for f in [
                self.source_failures.get_or_insert_with(src, now, fresh),
                self.account_failures.get_or_insert_with(account.clone(), now, fresh),
            ] {
                // A table sweep may lag the window by a quarter of it: an old run starts over here.
                if now.since(f.last) > window {
                    *f = fresh();
                }
                f.count += 1;
                f.last = now;
            }
            return;
        }
        if !a.method.eq_ignore_ascii_case("REGISTER") {
            return;
        }
        let contact = a.contact.map_or(src, |c| c.ip());
        let net = self.net(src);
        let allowed = self.cfg.allow_networks.iter().any(|n| n.contains(src));
        let known = self.accounts.get(&account);
        let moved = known.is_none_or(|k| !k.addresses.contains(&contact) && !k.addresses.contains(&src));
        let recent = |f: Option<&Failures>| f.copied().filter(|f| now.since(f.last) <= window);
        let src_failures = recent(self.source_failures.get(&src));
        let acc_failures = recent(self.account_failures.get(&account));
        let failures = |f: Option<Failures>| f.map_or(0, |f| f.count);
        let after_failures = failures(src_failures).max(failures(acc_failures)) >= self.cfg.min_failures;
        let new_network = known.is_some_and(|k| {
            k.registrations >= self.cfg.learning_registrations
                && now.since(k.first) >= Duration::from_secs(self.cfg.learning_secs)
                && !k.networks.contains(&net)
        });
        let reason = match (moved && !allowed, after_failures, new_network) {
            (true, true, _) => Some(("after-failures", Severity::High)),
            (true, false, true) => Some(("new-network", Severity::Medium)),
            _ => None,
        };
        if let Some((reason, severity)) = reason {
            let (v4, v6) = (self.cfg.ipv4_prefix, self.cfg.ipv6_prefix);
            let (addresses, networks, registrations, history) = known.map_or((Vec::new(), Vec::new(), 0, 0), |k| {
                (
                    k.addresses.iter().map(|ip| Value::Ip(*ip)).collect(),
                    k.networks.iter().map(|n| Value::Str(prefix_text(*n, v4, v6))).collect(),
                    k.registrations,
                    now.since(k.first).as_secs(),
                )
            });
            let mut alert = Alert::new(&META, now)
                .severity(severity)
                .src(Some(src), Some(a.src.port()))
                .dest(Some(a.dst.ip()), Some(a.dst.port()))
                .proto(match a.transport {
                    SipTransport::Udp => Proto::Udp,
                    SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
                })
                .key(format!("{src} {} {}", account.0, account.1))
                .evidence("reason", Value::Str(reason.into()))
                .evidence("username", Value::Str(account.1.to_string()))
                .evidence("contact", Value::Ip(contact))
                .evidence("known_addresses", Value::List(addresses))
                .evidence("network", Value::Str(prefix_text(src, v4, v6)))
                .evidence("known_networks", Value::List(networks))
                .evidence("registrations", Value::U64(registrations))
                .evidence("history_secs", Value::U64(history));
            if reason == "after-failures" {
                let span = [src_failures, acc_failures].into_iter().flatten();
                let first = span.clone().map(|f| f.first).min().unwrap_or(now);
                let last = span.map(|f| f.last).max().unwrap_or(now);
                alert = alert
                    .evidence("source_failures", Value::U64(failures(src_failures)))
                    .evidence("account_failures", Value::U64(failures(acc_failures)))
                    .evidence("first_failure", Value::Time(first))
                    .evidence("last_failure", Value::Time(last));
            }
            cx.raise(alert);
        }
        let acc = self.accounts.get_or_insert_with(account, now, || Account {
            first: now,
            registrations: 0,
            addresses: Vec::new(),
            networks: Vec::new(),
        });
        acc.registrations += 1;
        remember(&mut acc.addresses, contact, MAX_ADDRESSES);
        remember(&mut acc.addresses, src, MAX_ADDRESSES);
        remember(&mut acc.networks, net, MAX_NETWORKS);
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.outcomes.expire(now);
        self.accounts.expire(now);
        self.source_failures.expire(now);
        self.account_failures.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![
            ("pending", self.outcomes.stats()),
            ("requests", self.outcomes.first_stats()),
            ("accounts", self.accounts.stats()),
            ("source_failures", self.source_failures.stats()),
            ("account_failures", self.account_failures.stats()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PBX: &str = "10.77.0.1:5060";
    const PHONE: &str = "10.77.0.11:5060";
    const ATTACKER: &str = "10.77.0.66:5070";

    /// One registration: REGISTER, 401, REGISTER with credentials (Contact `contact`), `answer`.
    fn register(s: &mut Scenario, at: u64, src: &str, contact: &str, user: &str, answer: u16) {
        let request = Sip::request("REGISTER", src, PBX).call(&format!("r{at}")).contact(contact);
        s.digest_exchange(at, request, user, None, answer);
    }

    fn run(s: &Scenario, cfg: &Config) -> Vec<Alert> {
        s.run(RegistrationHijack::new(cfg))
    }

    #[test]
    fn a_move_after_failed_logins_raises_once_with_high_severity() {
        let mut s = Scenario::new();
        register(&mut s, 0, PHONE, PHONE, "1001", 200);
        register(&mut s, 1_000, PHONE, PHONE, "1001", 200);
        for i in 0..3 {
            register(&mut s, 5_000 + i * 100, ATTACKER, ATTACKER, "1001", 403);
        }
        register(&mut s, 6_000, ATTACKER, ATTACKER, "1001", 200);
        // The attacker's refresh is the same episode.
        register(&mut s, 9_000, ATTACKER, ATTACKER, "1001", 200);
        let alerts = run(&s, &Config::default());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(a.evidence.get("reason"), Some(&Value::Str("after-failures".into())));
        assert_eq!(a.evidence.get("username"), Some(&Value::Str("1001".into())));
        assert_eq!(a.evidence.get("contact"), Some(&Value::Ip("10.77.0.66".parse().unwrap())));
        assert_eq!(a.evidence.get("known_addresses"), Some(&Value::List(vec![Value::Ip("10.77.0.11".parse().unwrap())])));
        assert_eq!(a.evidence.get("source_failures"), Some(&Value::U64(3)));
        assert_eq!(a.evidence.get("registrations"), Some(&Value::U64(2)));
    }

    #[test]
    fn fewer_failures_than_the_threshold_and_a_known_network_stay_quiet() {
        let mut s = Scenario::new();
        register(&mut s, 0, PHONE, PHONE, "1001", 200);
        register(&mut s, 60_000, PHONE, PHONE, "1001", 200);
        for i in 0..2 {
            register(&mut s, 100_000 + i * 100, ATTACKER, ATTACKER, "1001", 403);
        }
        // Same /24 as the phone: not a new network, and only two failures.
        register(&mut s, 101_000, ATTACKER, ATTACKER, "1001", 200);
        assert!(run(&s, &Config::default()).is_empty());
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let mut s = Scenario::new();
        register(&mut s, 0, PHONE, PHONE, "1001", 200);
        for i in 0..5 {
            register(&mut s, 1_000 + i * 100, ATTACKER, ATTACKER, "1001", 403);
        }
        let cfg = Config { failure_window_secs: 60, ..Config::default() };
        let mut late = s.clone();
        register(&mut late, 1_000 + 62_000, ATTACKER, ATTACKER, "1001", 200);
        assert!(run(&late, &cfg).is_empty());
        register(&mut s, 1_000 + 50_000, ATTACKER, ATTACKER, "1001", 200);
        assert_eq!(run(&s, &cfg).len(), 1);
    }

    #[test]
    fn nat_rebinding_on_a_new_port_is_not_a_move() {
        let mut s = Scenario::new();
        register(&mut s, 0, "203.0.113.7:5060", "192.168.1.20:5060", "1001", 200);
        for i in 0..4 {
            // The phone mistypes its password (the same public address).
            register(&mut s, 40_000 + i * 100, "203.0.113.7:40123", "192.168.1.20:5060", "1001", 403);
        }
        register(&mut s, 41_000, "203.0.113.7:40123", "192.168.1.20:5060", "1001", 200);
        // The public address changes, within its network, and later outside it with the same private Contact.
        register(&mut s, 80_000, "203.0.113.9:41000", "192.168.1.20:5060", "1001", 200);
        register(&mut s, 120_000, "198.51.100.4:41000", "192.168.1.20:5060", "1001", 200);
        assert!(run(&s, &Config::default()).is_empty());
    }

    #[test]
    fn a_new_network_raises_only_once_the_account_has_a_history() {
        let mut s = Scenario::new();
        register(&mut s, 0, PHONE, PHONE, "1002", 200);
        // Within the learning period: learnt.
        register(&mut s, 1_000, "10.80.0.5:5060", "10.80.0.5:5060", "1002", 200);
        register(&mut s, 40_000, PHONE, PHONE, "1002", 200);
        register(&mut s, 50_000, "10.79.0.66:5070", "10.79.0.66:5070", "1002", 200);
        let alerts = run(&s, &Config::default());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.src_ip, Some("10.79.0.66".parse().unwrap()));
        assert_eq!(a.evidence.get("reason"), Some(&Value::Str("new-network".into())));
        assert_eq!(a.evidence.get("network"), Some(&Value::Str("10.79.0.0/24".into())));
        assert_eq!(a.evidence.get("registrations"), Some(&Value::U64(3)));
        assert_eq!(a.evidence.get("history_secs"), Some(&Value::U64(50)));
    }

    #[test]
    fn ipv6_networks_are_48_bit_prefixes() {
        let mut s = Scenario::new();
        register(&mut s, 0, "[2001:db8:1:1::10]:5060", "[2001:db8:1:1::10]:5060", "1001", 200);
        register(&mut s, 40_000, "[2001:db8:1:1::10]:5060", "[2001:db8:1:1::10]:5060", "1001", 200);
        // Another /64 of the same /48 (the site's next VLAN): known network.
        register(&mut s, 50_000, "[2001:db8:1:2::20]:5060", "[2001:db8:1:2::20]:5060", "1001", 200);
        assert!(run(&s, &Config::default()).is_empty());
        register(&mut s, 60_000, "[2001:db8:9::66]:5060", "[2001:db8:9::66]:5060", "1001", 200);
        let alerts = run(&s, &Config::default());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("network"), Some(&Value::Str("2001:db8:9::/48".into())));
    }

    #[test]
    fn allowed_networks_never_raise() {
        let mut s = Scenario::new();
        register(&mut s, 0, PHONE, PHONE, "1002", 200);
        register(&mut s, 40_000, PHONE, PHONE, "1002", 200);
        register(&mut s, 50_000, "10.79.0.66:5070", "10.79.0.66:5070", "1002", 200);
        let cfg: crate::config::Config =
            crate::config::Config::from_toml("[detectors.registration-hijack]\nallow_networks = [\"10.79.0.0/16\"]\n", "t")
                .unwrap();
        assert!(run(&s, &cfg.detectors.registration_hijack).is_empty());
        assert_eq!(run(&s, &Config::default()).len(), 1);
        let bad = crate::config::Config::from_toml("[detectors.registration-hijack]\nallow_networks = [\"10.79/99\"]\n", "t");
        assert!(bad.unwrap_err().path.contains("allow_networks"));
    }

    #[test]
    fn a_first_registration_after_guessing_raises() {
        // svcrack: no registration of 1001 seen before; the winning guess binds the tool's own Contact.
        let mut s = Scenario::new();
        for i in 0..9 {
            register(&mut s, i * 10, ATTACKER, "1.1.1.1:5060", "1001", 403);
        }
        register(&mut s, 100, ATTACKER, "1.1.1.1:5060", "1001", 200);
        let alerts = run(&s, &Config::default());
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("contact"), Some(&Value::Ip("1.1.1.1".parse().unwrap())));
        assert_eq!(alerts[0].evidence.get("known_addresses"), Some(&Value::List(Vec::new())));
    }

    #[test]
    fn tables_stay_bounded_under_a_flood_of_accounts_and_sources() {
        let cfg = Config { max_accounts: 32, max_failures: 32, max_pending: 64, ..Config::default() };
        let mut d = RegistrationHijack::new(&cfg);
        let mut out = Vec::new();
        for i in 0..4_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 200);
            let src = format!("198.51.{}.{}:5060", i / 250, i % 250);
            let call = format!("c{i}");
            let answer = if i % 2 == 0 { 403 } else { 200 };
            for m in [
                Sip::request("REGISTER", &src, PBX).call(&call).contact(&src).digest(&format!("{i}"), None, None).payload(),
                Sip::response(answer, "REGISTER", PBX, &src).call(&call).payload(),
            ] {
                let ev = Event { seq: u64::from(i), ts, payload: m };
                let mut cx = Context::new(ts, &mut out);
                d.on_event(&ev, &mut cx);
            }
        }
        let tables = d.tables();
        assert!(tables.iter().all(|(_, t)| t.len <= t.cap), "{tables:?}");
        assert!(tables.iter().skip(2).all(|(_, t)| t.evicted > 0), "{tables:?}");
    }
}
