//! `sip-bruteforce` (sid 5001): many failed SIP authentications, per source or per targeted account.
//!
//! # What raises it
//! A **failed authentication** is a request that carries credentials (`Authorization` or
//! `Proxy-Authorization`) answered 401, 407 or 403 by the server it was sent to. Requests and answers are
//! paired by (sender, Call-ID, CSeq number, method) in a bounded table of pending requests that forgets
//! them after the transaction timeout ([`PENDING_SECS`]); the answer must come from the request's
//! destination back to its sender. A copy of the request relayed by a proxy (the same Call-ID, CSeq and
//! method first seen from another address) is the same attempt: it counts once, for its first sender, so
//! a proxy never adds up its users' failures as its own. A 401 or 407 to a request *without* credentials is the normal digest
//! challenge (RFC 3261 §22.2) and is never counted, so a registration flood without credentials or a
//! phone's challenge-then-success registration stays quiet.
//!
//! Failures are counted over a sliding window of `window_secs` seconds of packet time twice:
//! - per **source address**: at least `min_failures_per_source` failures (svcrack from one host);
//! - per **account** (server address and username): at least `min_failures_per_account` failures, whatever
//!   the sources, so a botnet that rotates addresses against one extension is caught too.
//!
//! One episode, one alert: an account attack whose failures come mostly (over half, by a Misra–Gries
//! summary) from one source that is itself a brute force (`min_failures_per_source` failures) shares that
//! source's key, so the engine reports it once. An account attack spread over many sources, each with a
//! few guesses, names no source and is keyed by the account: one alert for the whole distributed attack
//! (the engine suppresses the repeats of the key).
//!
//! # Evidence
//! `scope` (`source` or `account`), `failures` (in the window), `method`, `last_status`, `window_secs`;
//! per source the `usernames` tried (up to [`MAX_USERS_LISTED`]), per account the `username` and
//! `sources`, the distinct source addresses of the episode's failures (counted up to
//! [`MAX_DISTINCT`]); both give `span_secs`, from the episode's first failure to the alert (an episode
//! ends after `window_secs` without a failure), and `nonces`, the distinct digest nonces the failed
//! credentials answered (up to [`MAX_DISTINCT`]).
//!
//! # Distinct passwords
//! The sensor never copies the digest response (the parser has no accessor for it, see `weak-auth` and
//! DESIGN's security section), so the number of distinct passwords tried is not visible, and no keyed
//! hash of it is made either. The evidence gives the number of failed attempts, which for svcrack is one
//! per password, and the number of distinct nonces (not secrets: the server sent them in clear) those
//! attempts answered: a guesser that fetches a fresh challenge per guess (svcrack, sipp) shows one nonce
//! per failure, one that reuses a nonce (svcrack `-n`) or retries one password shows fewer. A keyed hash
//! of the response would not tell more: the response covers the nonce, so attempts with fresh nonces hash
//! differently whatever the password.
//!
//! # Severity
//! **Medium**: guessing is under way; `bruteforce-success` (5002) raises High when a guess works.
//!
//! # False positives and tuning
//! A phone configured with a wrong password retries every registration interval (a handful an hour, below
//! the thresholds). A server that answers credentials with a stale nonce (401 `stale=true`) produces one
//! failure per refresh, also far below them. Lower `min_failures_per_source` for small sites.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::{PacketTime, RateWindow};

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 5001,
    slug: "sip-bruteforce",
    category: Category::Credentials,
    severity: Severity::Medium,
    signature: "SIP authentication brute force (many failed authentications)",
};

/// How long a request with credentials waits for its final answer: 64*T1, the transaction timeout (RFC 3261
/// §17.1.1.2).
pub const PENDING_SECS: u64 = 32;
/// Longest window the failure counters hold, in seconds.
pub const MAX_WINDOW_SECS: usize = 60;
/// Counters of the per-account heavy-source summary (Misra–Gries).
const TOP_K: usize = 4;
/// Distinct nonces (per source and per account) and distinct sources (per account) counted per episode;
/// counts stop here. The evidence is taken when an alert is raised, a few failures into an episode, so a
/// small cap loses nothing there, and it bounds what an account costs: at most 32 nonce hashes and 32
/// addresses (under 1 KiB), so a full accounts table stays within tens of MiB.
pub const MAX_DISTINCT: usize = 32;

/// Settings, `[detectors.sip-bruteforce]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Window, in seconds (1 to 60).
    pub window_secs: u64,
    /// Failed authentications from one source in the window that make a brute force.
    pub min_failures_per_source: u64,
    /// Failed authentications for one account (server, username) in the window that make a brute force.
    pub min_failures_per_account: u64,
    /// Cap on requests with credentials waiting for their answer.
    pub max_pending: usize,
    /// Cap on tracked sources.
    pub max_sources: usize,
    /// Cap on tracked accounts.
    pub max_accounts: usize,
    /// Sources and accounts idle this long are forgotten.
    pub idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 60,
            min_failures_per_source: 5,
            min_failures_per_account: 5,
            max_pending: 16_384,
            max_sources: 65_536,
            max_accounts: 65_536,
            idle_secs: 120,
        }
    }
}

/// A request with credentials, as remembered until its answer.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// The sender (the guesser).
    pub(crate) src: SocketAddr,
    /// The server it was sent to.
    pub(crate) dst: SocketAddr,
    /// The username of the credentials (else the To user).
    pub(crate) user: Box<str>,
    /// The request method.
    pub(crate) method: Box<str>,
    /// The transport.
    pub(crate) transport: SipTransport,
    /// The digest nonce the credentials answered, hashed ([`nonce_hash`]).
    pub(crate) nonce: Option<u64>,
    /// The request's first Contact address (for a REGISTER, the binding it asks for).
    pub(crate) contact: Option<SocketAddr>,
}

/// How the server answered credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 401, 407 or 403: the credentials were refused.
    Failed(u16),
    /// 2xx: the credentials were accepted.
    Accepted(u16),
}

/// (sender, Call-ID, CSeq number, method).
type PendingKey = (IpAddr, Box<str>, u32, Box<str>);

/// Pairs requests that carry credentials with their final answers. Shared by `sip-bruteforce` and
/// `bruteforce-success`, each with its own bounded table.
#[derive(Debug)]
pub(crate) struct AuthOutcomes {
    pending: BoundedMap<PendingKey, Attempt>,
    /// The first sender of each recent request with credentials, to recognise copies relayed by a proxy.
    first: BoundedMap<(Box<str>, u32, Box<str>), IpAddr>,
}

impl AuthOutcomes {
    /// A table of at most `cap` pending requests.
    pub(crate) fn new(cap: usize) -> Self {
        let idle = Duration::from_secs(PENDING_SECS);
        Self { pending: BoundedMap::new(cap, idle), first: BoundedMap::new(cap, idle) }
    }

    /// Notes a request with credentials, or returns the outcome a final answer gives to one.
    pub(crate) fn on_sip(&mut self, m: &SipSeen, now: PacketTime) -> Option<(Attempt, Outcome)> {
        if let Some(method) = &m.method {
            let auth = m.auth.as_ref()?;
            let user = auth.username.clone().or_else(|| m.to_user.clone()).unwrap_or_default();
            // A copy relayed by a proxy (the same request seen first from another address) is the same
            // attempt: only its first sender is the guesser, and a proxy must not add up its users' failures.
            let request = (m.call_id.clone(), m.cseq, method.clone());
            match self.first.get(&request) {
                Some(first) if *first != m.src.ip() => return None,
                Some(_) => {}
                None => self.first.insert(request, m.src.ip(), now),
            }
            let key = (m.src.ip(), m.call_id.clone(), m.cseq, method.clone());
            let nonce = auth.nonce.as_deref().map(nonce_hash);
            let attempt = Attempt {
                src: m.src,
                dst: m.dst,
                user,
                method: method.clone(),
                transport: m.transport,
                nonce,
                contact: m.contact_addr,
            };
            self.pending.insert(key, attempt, now);
            return None;
        }
        let status = m.status?;
        if status < 200 {
            return None;
        }
        let key = (m.dst.ip(), m.call_id.clone(), m.cseq, m.cseq_method.clone());
        // The answer comes from the server the request went to.
        if self.pending.get(&key)?.dst.ip() != m.src.ip() {
            return None;
        }
        let attempt = self.pending.remove(&key)?;
        let outcome = match status {
            401 | 403 | 407 => Outcome::Failed(status),
            200..=299 => Outcome::Accepted(status),
            _ => return None,
        };
        Some((attempt, outcome))
    }

    pub(crate) fn expire(&mut self, now: PacketTime) {
        self.pending.expire(now);
        self.first.expire(now);
    }

    pub(crate) fn stats(&self) -> TableStats {
        self.pending.stats()
    }

    pub(crate) fn first_stats(&self) -> TableStats {
        self.first.stats()
    }
}

/// One run of failures with no gap of a window or more: its start, last failure, and the distinct nonces
/// (hashed) and sources it saw, each counted up to [`MAX_DISTINCT`].
#[derive(Debug, Clone, Default)]
struct Episode {
    start: Option<PacketTime>,
    last: Option<PacketTime>,
    nonces: Vec<u64>,
    sources: Vec<IpAddr>,
}

impl Episode {
    /// Notes a failure at `now`; a failure a window or more after the previous one starts a new episode.
    fn note(&mut self, now: PacketTime, window: usize, nonce: Option<u64>, src: Option<IpAddr>) {
        if self.last.is_none_or(|t| now.since(t) >= Duration::from_secs(window as u64)) {
            *self = Self { start: Some(now), ..Self::default() };
        }
        self.last = Some(now);
        if let Some(n) = nonce
            && self.nonces.len() < MAX_DISTINCT
            && !self.nonces.contains(&n)
        {
            self.nonces.push(n);
        }
        if let Some(ip) = src
            && self.sources.len() < MAX_DISTINCT
            && !self.sources.contains(&ip)
        {
            self.sources.push(ip);
        }
    }

    /// Whole seconds from the episode's first failure to `now`.
    fn span_secs(&self, now: PacketTime) -> u64 {
        self.start.map_or(0, |t| now.since(t).as_secs())
    }
}

/// A nonce as counted: a fixed-seed hash (the same with any number of workers; only compared for equality
/// in a short list, so an attacker gains nothing from collisions).
fn nonce_hash(nonce: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x5001).hash_one(nonce)
}

/// Failures of one source.
#[derive(Debug, Clone, Default)]
struct SourceCounts {
    failures: RateWindow<MAX_WINDOW_SECS>,
    users: Vec<Box<str>>,
    episode: Episode,
    last_alert: Option<PacketTime>,
}

/// Failures against one account.
#[derive(Debug, Clone, Default)]
struct AccountCounts {
    failures: RateWindow<MAX_WINDOW_SECS>,
    top: Vec<(IpAddr, u64)>,
    episode: Episode,
    last_alert: Option<PacketTime>,
}

/// Distinct users remembered per source for the evidence.
pub const MAX_USERS_LISTED: usize = 8;

impl AccountCounts {
    fn note_source(&mut self, ip: IpAddr) {
        if let Some(e) = self.top.iter_mut().find(|(i, _)| *i == ip) {
            e.1 += 1;
        } else if self.top.len() < TOP_K {
            self.top.push((ip, 1));
        } else {
            for e in &mut self.top {
                e.1 -= 1;
            }
            self.top.retain(|e| e.1 > 0);
        }
    }

    /// The source behind over half of `total` failures, if it alone made at least `min` (a brute force of
    /// its own): the first failures of a distributed attack, a few from each source, name nobody.
    fn dominant(&self, total: u64, min: u64) -> Option<IpAddr> {
        self.top
            .iter()
            .max_by_key(|(ip, n)| (*n, *ip))
            .filter(|(_, n)| n * 2 > total && *n >= min)
            .map(|(ip, _)| *ip)
    }
}

/// The detector.
#[derive(Debug)]
pub struct SipBruteforce {
    cfg: Config,
    window: usize,
    outcomes: AuthOutcomes,
    sources: BoundedMap<IpAddr, SourceCounts>,
    accounts: BoundedMap<(IpAddr, Box<str>), AccountCounts>,
}

impl SipBruteforce {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let idle = Duration::from_secs(cfg.idle_secs);
        Self {
            cfg: cfg.clone(),
            window: usize::try_from(cfg.window_secs).unwrap_or(MAX_WINDOW_SECS).clamp(1, MAX_WINDOW_SECS),
            outcomes: AuthOutcomes::new(cfg.max_pending),
            sources: BoundedMap::new(cfg.max_sources, idle),
            accounts: BoundedMap::new(cfg.max_accounts, idle),
        }
    }
}

/// No alert yet for this key, or the last one is a window old.
fn due(last: Option<PacketTime>, now: PacketTime, window: usize) -> bool {
    last.is_none_or(|t| now.since(t) >= Duration::from_secs(window as u64))
}

fn proto(t: SipTransport) -> Proto {
    match t {
        SipTransport::Udp => Proto::Udp,
        SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
    }
}

impl Detector for SipBruteforce {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        let Some((a, Outcome::Failed(status))) = self.outcomes.on_sip(m, now) else { return };
        let window = self.window;
        let src = a.src.ip();
        let nonce = a.nonce;

        let s = self.sources.get_or_insert_with(src, now, SourceCounts::default);
        s.failures.add(now, 1);
        s.episode.note(now, window, nonce, None);
        let (source_span, source_nonces) = (s.episode.span_secs(now), s.episode.nonces.len() as u64);
        if s.users.len() < MAX_USERS_LISTED && !s.users.contains(&a.user) {
            s.users.push(a.user.clone());
        }
        let source_failures = s.failures.sum(now, window);
        let source_due = source_failures >= self.cfg.min_failures_per_source && due(s.last_alert, now, window);
        if source_due {
            s.last_alert = Some(now);
        }
        let source_reported = !due(s.last_alert, now, window);
        let users = s.users.clone();

        let account = (a.dst.ip(), a.user.clone());
        let acc = self.accounts.get_or_insert_with(account.clone(), now, AccountCounts::default);
        acc.failures.add(now, 1);
        acc.note_source(src);
        acc.episode.note(now, window, nonce, Some(src));
        let account_failures = acc.failures.sum(now, window);
        let dominant = acc.dominant(account_failures, self.cfg.min_failures_per_source);
        let (account_span, account_nonces) = (acc.episode.span_secs(now), acc.episode.nonces.len() as u64);
        let account_sources = acc.episode.sources.len() as u64;
        let account_due = account_failures >= self.cfg.min_failures_per_account && due(acc.last_alert, now, window);
        if account_due {
            acc.last_alert = Some(now);
        }

        let base = |scope: &str, key: String| {
            Alert::new(&META, now)
                .dest(Some(a.dst.ip()), Some(a.dst.port()))
                .proto(proto(a.transport))
                .key(key)
                .evidence("scope", Value::Str(scope.into()))
                .evidence("method", Value::Str(a.method.to_string()))
                .evidence("last_status", Value::U64(u64::from(status)))
                .evidence("window_secs", Value::U64(window as u64))
        };
        if source_due {
            cx.raise(
                base("source", format!("src {src}"))
                    .src(Some(src), Some(a.src.port()))
                    .evidence("failures", Value::U64(source_failures))
                    .evidence("usernames", Value::List(users.iter().map(|u| Value::Str(u.to_string())).collect()))
                    .evidence("nonces", Value::U64(source_nonces))
                    .evidence("span_secs", Value::U64(source_span)),
            );
        }
        // An account attack led by a source already reported is that report.
        if account_due && !(source_reported && dominant == Some(src)) {
            // An account attack led by one source is that source's episode: same key, reported once.
            let key = match dominant {
                Some(ip) => format!("src {ip}"),
                None => format!("account {} {}", account.0, account.1),
            };
            cx.raise(
                base("account", key)
                    .src(dominant, None)
                    .evidence("failures", Value::U64(account_failures))
                    .evidence("username", Value::Str(account.1.to_string()))
                    .evidence("sources", Value::U64(account_sources))
                    .evidence("nonces", Value::U64(account_nonces))
                    .evidence("span_secs", Value::U64(account_span)),
            );
        }
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

    /// One svcrack guess: REGISTER, 401, REGISTER with credentials, `answer`.
    fn guess(s: &mut Scenario, at: u64, src: &str, call: &str, user: &str, answer: u16) {
        s.digest_exchange(at, Sip::request("REGISTER", src, PBX).call(call), user, None, answer);
    }

    #[test]
    fn repeated_refused_guesses_from_one_source_raise_once() {
        let mut s = Scenario::new();
        for i in 0..9u64 {
            guess(&mut s, i * 10, ATTACKER, &format!("c{i}"), "1001", 403);
        }
        let alerts = s.run(SipBruteforce::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(a.evidence.get("failures"), Some(&Value::U64(5)));
        assert_eq!(a.evidence.get("scope"), Some(&Value::Str("source".into())));
    }

    #[test]
    fn challenges_and_a_success_are_not_failures() {
        let mut s = Scenario::new();
        for i in 0..20u64 {
            guess(&mut s, i * 10, "10.77.0.11:5060", &format!("c{i}"), "1001", 200);
            // A flood of REGISTERs without credentials, each challenged.
            s.at_ms(i * 10 + 5, Sip::request("REGISTER", ATTACKER, PBX).call(&format!("f{i}")).payload());
            s.at_ms(i * 10 + 6, Sip::response(401, "REGISTER", PBX, ATTACKER).call(&format!("f{i}")).payload());
        }
        assert!(s.run(SipBruteforce::new(&Config::default())).is_empty());
    }

    #[test]
    fn a_botnet_rotating_sources_against_one_account_is_caught() {
        let mut s = Scenario::new();
        for i in 0..6u64 {
            guess(&mut s, i * 100, &format!("192.0.2.{}:5060", 10 + i), &format!("c{i}"), "1001", 401);
        }
        let alerts = s.run(SipBruteforce::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, None);
        assert_eq!(alerts[0].evidence.get("scope"), Some(&Value::Str("account".into())));
        assert_eq!(alerts[0].evidence.get("username"), Some(&Value::Str("1001".into())));
    }

    /// A guess whose credentials answer `nonce`.
    fn guess_with_nonce(s: &mut Scenario, at: u64, src: &str, call: &str, nonce: &str) {
        s.digest_exchange(at, Sip::request("REGISTER", src, PBX).call(call), "1001", Some(nonce), 403);
    }

    #[test]
    fn a_distributed_attack_of_200_sources_raises_once_for_the_account_and_names_no_source() {
        let mut s = Scenario::new();
        let mut at = 0;
        let mut guesses = 0;
        // 200 sources, 1 to 3 guesses each, a source every 600 ms: two minutes, a few failures a second.
        for k in 0..200u64 {
            for g in 0..1 + k % 3 {
                let src = format!("198.51.{}.{}:5060", k / 100, k % 100 + 1);
                guess_with_nonce(&mut s, at + g * 150, &src, &format!("c{k}-{g}"), &format!("n{k}-{g}"));
                guesses += 1;
            }
            at += 600;
        }
        assert_eq!(guesses, 399);
        let mut engine_view = s.run(SipBruteforce::new(&Config::default()));
        // Every repeat carries the account's key (one episode); the engine keeps the first.
        let keys: std::collections::BTreeSet<_> = engine_view.iter().map(|a| a.key.clone()).collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
        let a = engine_view.remove(0);
        assert_eq!(a.src_ip, None, "{a:#?}");
        assert_eq!(a.evidence.get("scope"), Some(&Value::Str("account".into())));
        assert_eq!(a.evidence.get("failures"), Some(&Value::U64(5)));
        // The first five failures: 1 from the first source, 2 from the second, 2 of the third's 3.
        assert_eq!(a.evidence.get("sources"), Some(&Value::U64(3)));
        assert_eq!(a.evidence.get("nonces"), Some(&Value::U64(5)));
        assert_eq!(a.evidence.get("span_secs"), Some(&Value::U64(1)));
    }

    #[test]
    fn an_account_attack_led_by_a_few_guesses_of_one_source_names_nobody() {
        let mut s = Scenario::new();
        // Three guesses from the first source, then one each from two others: over half from the first,
        // but three guesses are no brute force of its own.
        for g in 0..3u64 {
            guess_with_nonce(&mut s, g * 100, "192.0.2.1:5060", &format!("a{g}"), &format!("a{g}"));
        }
        guess_with_nonce(&mut s, 400, "192.0.2.2:5060", "b", "b");
        guess_with_nonce(&mut s, 500, "192.0.2.3:5060", "c", "c");
        let alerts = s.run(SipBruteforce::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, None);
        assert_eq!(alerts[0].key, "account 10.77.0.1 1001");
    }

    #[test]
    fn reused_nonces_count_once() {
        let mut s = Scenario::new();
        for i in 0..6u64 {
            guess_with_nonce(&mut s, i * 10, ATTACKER, &format!("c{i}"), if i < 4 { "same" } else { "other" });
        }
        let alerts = s.run(SipBruteforce::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("failures"), Some(&Value::U64(5)));
        assert_eq!(alerts[0].evidence.get("nonces"), Some(&Value::U64(2)));
    }

    #[test]
    fn failures_spread_beyond_the_window_are_quiet() {
        let mut s = Scenario::new();
        for i in 0..10u64 {
            guess(&mut s, i * 20_000, ATTACKER, &format!("c{i}"), "1001", 403);
        }
        assert!(s.run(SipBruteforce::new(&Config::default())).is_empty());
    }

    #[test]
    fn an_answer_from_elsewhere_does_not_count() {
        let mut s = Scenario::new();
        for i in 0..9u64 {
            let call = format!("c{i}");
            s.at_ms(i, Sip::request("REGISTER", ATTACKER, PBX).call(&call).digest("1001", None, None).payload());
            s.at_ms(i, Sip::response(403, "REGISTER", "10.77.0.9:5060", ATTACKER).call(&call).payload());
        }
        assert!(s.run(SipBruteforce::new(&Config::default())).is_empty());
    }

    #[test]
    fn failures_relayed_by_a_proxy_count_once_for_the_phone() {
        const PROXY: &str = "10.77.0.5:5060";
        let mut s = Scenario::new();
        for i in 0..9u64 {
            let call = format!("c{i}");
            let req = || Sip::request("REGISTER", ATTACKER, PROXY).call(&call).cseq(2);
            s.at_ms(i * 10, req().digest("1001", None, Some("auth")).payload());
            // The proxy relays it to the registrar, which refuses; the proxy relays the answer back.
            let mut relayed = req().digest("1001", None, Some("auth")).seen();
            relayed.src = PROXY.parse().unwrap();
            relayed.dst = PBX.parse().unwrap();
            s.at_ms(i * 10 + 1, Payload::Sip(Box::new(relayed)));
            s.at_ms(i * 10 + 2, Sip::response(403, "REGISTER", PBX, PROXY).call(&call).cseq(2).payload());
            s.at_ms(i * 10 + 3, Sip::response(403, "REGISTER", PROXY, ATTACKER).call(&call).cseq(2).payload());
        }
        let alerts = s.run(SipBruteforce::new(&Config::default()));
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0].src_ip, Some("10.77.0.66".parse().unwrap()));
        assert_eq!(alerts[0].dest_ip, Some("10.77.0.5".parse().unwrap()));
        assert_eq!(alerts[0].evidence.get("failures"), Some(&Value::U64(5)));
    }

    #[test]
    fn tables_stay_bounded_under_a_spoofed_flood() {
        let cfg = Config { max_pending: 64, max_sources: 32, max_accounts: 32, ..Config::default() };
        let mut d = SipBruteforce::new(&cfg);
        let mut out = Vec::new();
        for i in 0..4_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 200);
            let src = format!("198.51.{}.{}:5060", i / 250, i % 250);
            let call = format!("c{i}");
            for m in [
                Sip::request("REGISTER", &src, PBX).call(&call).digest(&format!("{i}"), None, None).payload(),
                Sip::response(403, "REGISTER", PBX, &src).call(&call).payload(),
            ] {
                let ev = Event { seq: u64::from(i), ts, payload: m };
                let mut cx = Context::new(ts, &mut out);
                d.on_event(&ev, &mut cx);
            }
        }
        let tables = d.tables();
        assert!(tables.iter().all(|(_, t)| t.len <= t.cap), "{tables:?}");
        assert!(tables.iter().skip(1).all(|(_, t)| t.evicted > 0), "{tables:?}");
    }
}
