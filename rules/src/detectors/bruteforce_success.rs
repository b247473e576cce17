//! `bruteforce-success` (sid 5002): credentials accepted for a source, or an account, that was being brute
//! forced: the password was probably guessed.
//!
//! # What raises it
//! The same pairing of requests with credentials and their final answers as `sip-bruteforce` (5001): a 401,
//! 403 or 407 answer to credentials is a failure; a 2xx answer to a REGISTER or INVITE carrying credentials is
//! an accepted login. Failures are counted per source address and per account (server address and
//! username); a count is forgotten after `memory_secs` without a new failure. An accepted login raises when
//! its source, or its account, has at least `min_failures` failures on record: a guess that worked (svcrack
//! stops at the first 200), or an account that a botnet was guessing and that now logs in from anywhere.
//!
//! # Severity
//! **High**: an attacker probably holds working credentials (and, for a REGISTER, may already receive the
//! account's calls). Change the password; look at where the account is now registered.
//!
//! # Evidence
//! `username`, `method`, `status`, `source_failures` and `account_failures` (the failures on record), and
//! `reason`: `source` when the source was guessing, else `account`.
//!
//! # False positives and tuning
//! A user who mistypes a password several times and then gets it right, from the same phone, within
//! `memory_secs`: raise `min_failures` above what a person does by hand.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::detectors::sip_bruteforce::{AuthOutcomes, Outcome};
use crate::event::{Event, EventKind, Interests, Payload, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 5002,
    slug: "bruteforce-success",
    category: Category::Credentials,
    severity: Severity::High,
    signature: "SIP credentials accepted after a brute force (probable compromise)",
};

/// Settings, `[detectors.bruteforce-success]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Failed authentications on record (for the source or the account) that make an accepted login a
    /// compromise.
    pub min_failures: u64,
    /// Failures are forgotten after this many seconds without a new one.
    pub memory_secs: u64,
    /// Cap on requests with credentials waiting for their answer.
    pub max_pending: usize,
    /// Cap on tracked sources.
    pub max_sources: usize,
    /// Cap on tracked accounts.
    pub max_accounts: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            min_failures: 5,
            memory_secs: 3600,
            max_pending: 16_384,
            max_sources: 65_536,
            max_accounts: 65_536,
        }
    }
}

/// The detector.
#[derive(Debug)]
pub struct BruteforceSuccess {
    min_failures: u64,
    outcomes: AuthOutcomes,
    sources: BoundedMap<IpAddr, u64>,
    accounts: BoundedMap<(IpAddr, Box<str>), u64>,
}

impl BruteforceSuccess {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let memory = Duration::from_secs(cfg.memory_secs);
        Self {
            min_failures: cfg.min_failures,
            outcomes: AuthOutcomes::new(cfg.max_pending),
            sources: BoundedMap::new(cfg.max_sources, memory),
            accounts: BoundedMap::new(cfg.max_accounts, memory),
        }
    }
}

impl Detector for BruteforceSuccess {
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
        let status = match outcome {
            Outcome::Failed(_) => {
                *self.sources.get_or_insert_with(src, now, || 0) += 1;
                *self.accounts.get_or_insert_with(account, now, || 0) += 1;
                return;
            }
            Outcome::Accepted(status) => status,
        };
        if !(a.method.eq_ignore_ascii_case("REGISTER") || a.method.eq_ignore_ascii_case("INVITE")) {
            return;
        }
        let source_failures = self.sources.get(&src).copied().unwrap_or(0);
        let account_failures = self.accounts.get(&account).copied().unwrap_or(0);
        let reason = if source_failures >= self.min_failures {
            "source"
        } else if account_failures >= self.min_failures {
            "account"
        } else {
            return;
        };
        cx.raise(
            Alert::new(&META, now)
                .src(Some(src), Some(a.src.port()))
                .dest(Some(a.dst.ip()), Some(a.dst.port()))
                .proto(match a.transport {
                    SipTransport::Udp => Proto::Udp,
                    SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
                })
                .key(format!("{src} {} {}", account.0, account.1))
                .evidence("reason", Value::Str(reason.into()))
                .evidence("username", Value::Str(account.1.to_string()))
                .evidence("method", Value::Str(a.method.to_string()))
                .evidence("status", Value::U64(u64::from(status)))
                .evidence("source_failures", Value::U64(source_failures))
                .evidence("account_failures", Value::U64(account_failures)),
        );
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.outcomes.expire(now);
        self.sources.expire(now);
        self.accounts.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![
            ("pending", self.outcomes.stats()),
            ("requests", self.outcomes.first_stats()),
            ("sources", self.sources.stats()),
            ("accounts", self.accounts.stats()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PBX: &str = "10.77.0.1:5060";
    const ATTACKER: &str = "10.77.0.66:5063";

    fn guess(s: &mut Scenario, at: u64, src: &str, call: &str, method: &str, answer: u16) {
        s.digest_exchange(at, Sip::request(method, src, PBX).call(call), "1001", None, answer);
    }

    #[test]
    fn a_success_after_guessing_is_a_compromise() {
        let mut s = Scenario::new();
        for i in 0..9u64 {
            guess(&mut s, i * 10, ATTACKER, &format!("c{i}"), "REGISTER", 403);
        }
        guess(&mut s, 100, ATTACKER, "c9", "REGISTER", 200);
        let alerts = s.run(BruteforceSuccess::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(a.evidence.get("reason"), Some(&Value::Str("source".into())));
        assert_eq!(a.evidence.get("source_failures"), Some(&Value::U64(9)));
    }

    #[test]
    fn a_success_for_an_account_guessed_by_a_botnet_is_a_compromise() {
        let mut s = Scenario::new();
        for i in 0..6u64 {
            guess(&mut s, i * 10, &format!("192.0.2.{}:5060", 10 + i), &format!("c{i}"), "INVITE", 407);
        }
        guess(&mut s, 1_000, "192.0.2.99:5060", "ok", "INVITE", 200);
        let alerts = s.run(BruteforceSuccess::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("reason"), Some(&Value::Str("account".into())));
    }

    #[test]
    fn a_challenge_then_success_is_normal() {
        let mut s = Scenario::new();
        for i in 0..20u64 {
            guess(&mut s, i * 10, "10.77.0.11:5060", &format!("c{i}"), "REGISTER", 200);
        }
        // Two typos, then the right password.
        guess(&mut s, 500, "10.77.0.12:5060", "t1", "REGISTER", 403);
        guess(&mut s, 510, "10.77.0.12:5060", "t2", "REGISTER", 403);
        guess(&mut s, 520, "10.77.0.12:5060", "t3", "REGISTER", 200);
        assert!(s.run(BruteforceSuccess::new(&Config::default())).is_empty());
    }

    #[test]
    fn failures_are_forgotten_after_the_memory() {
        let mut s = Scenario::new();
        for i in 0..9u64 {
            guess(&mut s, i * 10, ATTACKER, &format!("c{i}"), "REGISTER", 403);
        }
        guess(&mut s, 3_700_000, ATTACKER, "late", "REGISTER", 200);
        assert!(s.run(BruteforceSuccess::new(&Config::default())).is_empty());
    }
}
