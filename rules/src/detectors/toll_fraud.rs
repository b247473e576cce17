//! `toll-fraud` (sid 6001): calls to premium or international numbers, bursts of them, and runs of short calls
//! to one number range (wangiri / traffic pumping).
//!
//! # What raises it
//! The **dialled number** is the Request-URI user of an initial INVITE (no To tag; the To user when the
//! Request-URI has none), `sip:` or `tel:`: visual separators (`-`, `.`, spaces, brackets) are dropped and a
//! leading `+` is kept, so `+44 (20) 7946-0000` is `+442079460000`. A number is a **toll number** when it starts
//! with one of `premium_prefixes` (premium) or `international_prefixes` (international), and with none of
//! `home_prefixes` (the site's own country written internationally, e.g. `0033` or `+33` in France) or
//! `allow_prefixes` (numbers that may always be called), and with at least `min_digits` digits (so extensions
//! such as `9001` never match the premium `900`). Other numbers (extensions, national numbers, DIDs) are never
//! counted, so a busy trunk or a range of contiguous DIDs stays quiet whatever its volume.
//!
//! Each call is followed by its Call-ID (a copy relayed by a proxy is the same call; its first sender is the
//! caller): answered at its first 2xx, ended by BYE, CANCEL (then 487) or a final failure (a 401/407
//! challenge is not one: the caller retries with credentials in the same call). A **caller** is a (source
//! address, From user) pair: an account used from one place. Per caller, over a window of `window_secs` of
//! packet time starting at its first toll call, the detector raises one alert per kind and window:
//! - `premium` (High): `min_premium_calls` answered premium calls;
//! - `international` (High): `min_international_calls` answered international calls;
//! - `concurrent` (High): `min_concurrent_calls` toll calls up at once (answered, not yet ended);
//! - `burst` (High when any was answered, else Medium): `min_attempts` toll call attempts, answered or not:
//!   sequential dialling, including toll-fraud probing that the PBX rejects (friendly-scanner style);
//! - `short-calls` (Medium), per number range (the first `short_prefix_digits` characters of the number),
//!   whoever the callers: `min_short_calls` toll calls answered for less than `short_call_secs`, or cancelled
//!   after ringing (wangiri-style one-ring ranges, traffic pumping).
//!
//! # Evidence
//! `kind`, `caller` (From user), `account` (the digest username, when the INVITE carried credentials),
//! `calls` (toll attempts in the window), `answered`, `rejected`, `concurrent` (up at once), `numbers` (up to 8
//! dialled), `first_call` and `last_call` (the window's span), `window_secs`; for `short-calls` `prefix` and
//! `short_calls`. Never the credentials.
//!
//! # Severity
//! **High** for answered toll calls and concurrency (money is being spent now), **Medium** for attempts alone
//! and short-call runs.
//!
//! # False positives and tuning
//! Sites that call abroad every day raise `international`: add the usual destinations to `allow_prefixes`,
//! the home country to `home_prefixes`, or raise `min_international_calls`. Trunks that send every number in
//! E.164 (`+` and country code) need `+` in `international_prefixes` and the home `+CC` in `home_prefixes`
//! (the default list holds `00` and `011` only). A call centre that places many short calls abroad raises
//! `short-calls`: raise `min_short_calls` or allow the ranges.
//!
//! ET Open's VoIP rules match no dialled number (see `docs/detections.md`): their nearest are User-Agent rules
//! (friendly-scanner, Zoiper) and floods of 100 INVITEs or 407s a minute. A per-packet pattern such as
//! `INVITE sip:00` would raise on every legitimate international call and cannot tell an answered call from a
//! refused probe, count calls up at once or measure durations.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Category, Meta, Proto, Severity, Value};
use crate::detector::{Context, Detector};
use crate::event::{Event, EventKind, Interests, Payload, SipSeen, SipTransport};
use crate::table::{BoundedMap, TableStats};
use crate::time::PacketTime;

/// Catalogue entry.
pub const META: Meta = Meta {
    sid: 6001,
    slug: "toll-fraud",
    category: Category::Fraud,
    severity: Severity::High,
    signature: "Toll fraud: calls to premium or international numbers, bursts, or short-call runs",
};

/// Dialled numbers listed per caller or range in the evidence.
pub const MAX_NUMBERS_LISTED: usize = 8;
/// Calls remembered as up at once per caller (more count, but are not remembered to be ended).
pub const MAX_ACTIVE_PER_CALLER: usize = 64;
/// Longest number kept, in characters (E.164 allows 15 digits; dial plans add prefixes).
pub const MAX_NUMBER_LEN: usize = 32;

/// Settings, `[detectors.toll-fraud]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run this detector.
    pub enabled: bool,
    /// Dialled-number prefixes of premium-rate services.
    pub premium_prefixes: Vec<String>,
    /// Dialled-number prefixes of international calls (`+` for E.164 dialling).
    pub international_prefixes: Vec<String>,
    /// Prefixes of the home country written internationally: never international.
    pub home_prefixes: Vec<String>,
    /// Prefixes of numbers that may always be called.
    pub allow_prefixes: Vec<String>,
    /// Numbers with fewer digits are never toll numbers (extensions such as 9001 or 0011).
    pub min_digits: usize,
    /// Window per caller and per range, in seconds from its first toll call.
    pub window_secs: u64,
    /// Answered premium calls of one caller in the window that raise.
    pub min_premium_calls: u64,
    /// Answered international calls of one caller in the window that raise.
    pub min_international_calls: u64,
    /// Toll calls of one caller up at once that raise.
    pub min_concurrent_calls: u64,
    /// Toll call attempts (answered or not) of one caller in the window that raise.
    pub min_attempts: u64,
    /// A toll call answered for less than this many seconds is short.
    pub short_call_secs: u64,
    /// Characters of the number that make its range.
    pub short_prefix_digits: usize,
    /// Short toll calls to one range in the window that raise.
    pub min_short_calls: u64,
    /// Cap on toll calls followed.
    pub max_calls: usize,
    /// Cap on callers followed.
    pub max_callers: usize,
    /// Cap on number ranges followed.
    pub max_prefixes: usize,
    /// A toll call with no message for this long is forgotten, in seconds.
    pub call_idle_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            enabled: true,
            premium_prefixes: vec!["900".into(), "1900".into(), "0900".into()],
            international_prefixes: vec!["00".into(), "011".into()],
            home_prefixes: Vec::new(),
            allow_prefixes: Vec::new(),
            min_digits: 7,
            window_secs: 3600,
            min_premium_calls: 1,
            min_international_calls: 3,
            min_concurrent_calls: 4,
            min_attempts: 10,
            short_call_secs: 10,
            short_prefix_digits: 6,
            min_short_calls: 5,
            max_calls: 65_536,
            max_callers: 65_536,
            max_prefixes: 16_384,
            call_idle_secs: 7200,
        }
    }
}

/// What kind of toll number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Premium,
    International,
}

/// The dialled number, normalised: separators dropped, a leading `+` kept; `None` when it is not a number.
pub(crate) fn normalise(user: &str) -> Option<String> {
    let user = user.split(';').next().unwrap_or_default();
    let mut out = String::with_capacity(user.len().min(MAX_NUMBER_LEN));
    for (i, c) in user.trim().chars().enumerate() {
        match c {
            '+' if i == 0 => out.push('+'),
            '0'..='9' => out.push(c),
            '-' | '.' | ' ' | '(' | ')' => {}
            _ => return None,
        }
        if out.len() > MAX_NUMBER_LEN {
            return None;
        }
    }
    out.bytes().any(|b| b.is_ascii_digit()).then_some(out)
}

fn normalised(prefixes: &[String]) -> Vec<String> {
    prefixes
        .iter()
        .filter_map(|p| if p.trim() == "+" { Some("+".to_owned()) } else { normalise(p) })
        .collect()
}

/// A toll call being followed.
#[derive(Debug, Clone)]
struct TollCall {
    caller: (IpAddr, Box<str>),
    number: Box<str>,
    class: Class,
    ringing: bool,
    cancelled: bool,
    answered: Option<PacketTime>,
}

/// One caller's toll calls in its window.
#[derive(Debug, Clone)]
struct Caller {
    first: PacketTime,
    last: PacketTime,
    src: SocketAddr,
    dst: SocketAddr,
    transport: SipTransport,
    account: Option<Box<str>>,
    attempts: u64,
    answered: u64,
    rejected: u64,
    premium_answered: u64,
    international_answered: u64,
    numbers: Vec<Box<str>>,
    active: Vec<(Box<str>, PacketTime)>,
    /// Kinds already raised in this window (bits of [`Kind`]).
    raised: u8,
}

/// Short calls to one range.
#[derive(Debug, Clone)]
struct Range {
    first: PacketTime,
    last: PacketTime,
    short: u64,
    numbers: Vec<Box<str>>,
    raised: bool,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Premium = 1,
    International = 2,
    Concurrent = 4,
    Burst = 8,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Premium => "premium",
            Kind::International => "international",
            Kind::Concurrent => "concurrent",
            Kind::Burst => "burst",
        }
    }
}

fn push_number(list: &mut Vec<Box<str>>, n: &str) {
    if list.len() < MAX_NUMBERS_LISTED && !list.iter().any(|x| &**x == n) {
        list.push(n.into());
    }
}

fn proto(t: SipTransport) -> Proto {
    match t {
        SipTransport::Udp => Proto::Udp,
        SipTransport::Tcp | SipTransport::Ws => Proto::Tcp,
    }
}

/// The detector.
#[derive(Debug)]
pub struct TollFraud {
    cfg: Config,
    premium: Vec<String>,
    international: Vec<String>,
    home: Vec<String>,
    allow: Vec<String>,
    calls: BoundedMap<Box<str>, TollCall>,
    callers: BoundedMap<(IpAddr, Box<str>), Caller>,
    ranges: BoundedMap<Box<str>, Range>,
}

impl TollFraud {
    /// A detector with these settings.
    pub fn new(cfg: &Config) -> Self {
        let window = Duration::from_secs(cfg.window_secs);
        let idle = Duration::from_secs(cfg.call_idle_secs);
        Self {
            cfg: cfg.clone(),
            premium: normalised(&cfg.premium_prefixes),
            international: normalised(&cfg.international_prefixes),
            home: normalised(&cfg.home_prefixes),
            allow: normalised(&cfg.allow_prefixes),
            calls: BoundedMap::new(cfg.max_calls, idle),
            callers: BoundedMap::new(cfg.max_callers, window.max(idle)),
            ranges: BoundedMap::new(cfg.max_prefixes, window),
        }
    }

    fn classify(&self, number: &str) -> Option<Class> {
        let starts = |list: &[String]| list.iter().any(|p| number.starts_with(p.as_str()));
        let digits = number.bytes().filter(u8::is_ascii_digit).count();
        if digits < self.cfg.min_digits || starts(&self.allow) || starts(&self.home) {
            None
        } else if starts(&self.premium) {
            Some(Class::Premium)
        } else if starts(&self.international) {
            Some(Class::International)
        } else {
            None
        }
    }

    fn on_invite(&mut self, m: &SipSeen, now: PacketTime, cx: &mut Context<'_>) {
        if let Some(call) = self.calls.get_mut(&m.call_id, now) {
            // A retransmission, a copy relayed by a proxy, or the retry with credentials after a challenge.
            let caller = call.caller.clone();
            if let Some(user) = m.auth.as_ref().and_then(|a| a.username.clone())
                && let Some(c) = self.callers.get_mut(&caller, now)
            {
                c.account = Some(user);
            }
            return;
        }
        let Some(user) = m.ruri_user.as_deref().or(m.to_user.as_deref()) else { return };
        let Some(number) = normalise(user) else { return };
        let Some(class) = self.classify(&number) else { return };
        let key = (m.src.ip(), m.from_user.clone().unwrap_or_default());
        self.calls.insert(
            m.call_id.clone(),
            TollCall { caller: key.clone(), number: number.as_str().into(), class, ringing: false, cancelled: false, answered: None },
            now,
        );
        let window = Duration::from_secs(self.cfg.window_secs);
        let c = self.callers.get_or_insert_with(key.clone(), now, || Caller {
            first: now,
            last: now,
            src: m.src,
            dst: m.dst,
            transport: m.transport,
            account: None,
            attempts: 0,
            answered: 0,
            rejected: 0,
            premium_answered: 0,
            international_answered: 0,
            numbers: Vec::new(),
            active: Vec::new(),
            raised: 0,
        });
        if now.since(c.first) > window {
            // A new window: counts and raised kinds start over; calls still up stay up.
            c.first = now;
            c.attempts = 0;
            c.answered = 0;
            c.rejected = 0;
            c.premium_answered = 0;
            c.international_answered = 0;
            c.numbers.clear();
            c.raised = 0;
        }
        c.last = now;
        c.src = m.src;
        c.dst = m.dst;
        c.transport = m.transport;
        if let Some(auth) = &m.auth {
            c.account = auth.username.clone();
        }
        c.attempts += 1;
        push_number(&mut c.numbers, &number);
        if c.attempts >= self.cfg.min_attempts {
            let sev = if c.answered > 0 { Severity::High } else { Severity::Medium };
            self.raise(&key, Kind::Burst, sev, now, cx);
        }
    }

    fn on_answer(&mut self, m: &SipSeen, now: PacketTime, cx: &mut Context<'_>) {
        let Some(call) = self.calls.get_mut(&m.call_id, now) else { return };
        if call.answered.is_some() {
            return;
        }
        call.answered = Some(now);
        let key = call.caller.clone();
        let premium = call.class == Class::Premium;
        let idle = Duration::from_secs(self.cfg.call_idle_secs);
        let Some(c) = self.callers.get_mut(&key, now) else { return };
        c.answered += 1;
        if premium {
            c.premium_answered += 1;
        } else {
            c.international_answered += 1;
        }
        // Calls remembered as up but silent for longer than a call may idle were lost (evicted): forget them.
        c.active.retain(|(_, t)| now.since(*t) <= idle);
        if c.active.len() < MAX_ACTIVE_PER_CALLER {
            c.active.push((m.call_id.clone(), now));
        }
        let (p, i, up) = (c.premium_answered, c.international_answered, c.active.len() as u64);
        if premium && p >= self.cfg.min_premium_calls {
            self.raise(&key, Kind::Premium, Severity::High, now, cx);
        }
        if !premium && i >= self.cfg.min_international_calls {
            self.raise(&key, Kind::International, Severity::High, now, cx);
        }
        if up >= self.cfg.min_concurrent_calls {
            self.raise(&key, Kind::Concurrent, Severity::High, now, cx);
        }
    }

    /// The call ended: `rejected` by a final failure, else by BYE or after a CANCEL.
    fn on_end(&mut self, call_id: &str, rejected: bool, now: PacketTime, cx: &mut Context<'_>) {
        let Some(call) = self.calls.remove(&Box::from(call_id)) else { return };
        let short_secs = Duration::from_secs(self.cfg.short_call_secs);
        if let Some(c) = self.callers.get_mut(&call.caller, now) {
            c.active.retain(|(id, _)| &**id != call_id);
            if rejected && call.answered.is_none() && !call.cancelled {
                c.rejected += 1;
            }
        }
        let short = match call.answered {
            Some(t) => now.since(t) < short_secs,
            None => call.cancelled && call.ringing,
        };
        if !short {
            return;
        }
        let prefix: String = call.number.chars().take(self.cfg.short_prefix_digits.max(1)).collect();
        let window = Duration::from_secs(self.cfg.window_secs);
        let r = self.ranges.get_or_insert_with(prefix.as_str().into(), now, || Range {
            first: now,
            last: now,
            short: 0,
            numbers: Vec::new(),
            raised: false,
        });
        if now.since(r.first) > window {
            *r = Range { first: now, last: now, short: 0, numbers: Vec::new(), raised: false };
        }
        r.short += 1;
        r.last = now;
        push_number(&mut r.numbers, &call.number);
        if r.short < self.cfg.min_short_calls || r.raised {
            return;
        }
        r.raised = true;
        let r = r.clone();
        let Some(c) = self.callers.get(&call.caller) else { return };
        cx.raise(
            self.base(&call.caller, c, "short-calls", Severity::Medium, now)
                .key(format!("short-calls {prefix}"))
                .evidence("prefix", Value::Str(prefix))
                .evidence("short_calls", Value::U64(r.short))
                .evidence("short_call_secs", Value::U64(self.cfg.short_call_secs))
                .evidence("range_numbers", Value::List(r.numbers.iter().map(|n| Value::Str(n.to_string())).collect()))
                .evidence("range_first_call", Value::Time(r.first))
                .evidence("range_last_call", Value::Time(r.last)),
        );
    }

    fn base(&self, key: &(IpAddr, Box<str>), c: &Caller, kind: &str, sev: Severity, now: PacketTime) -> Alert {
        Alert::new(&META, now)
            .severity(sev)
            .src(Some(c.src.ip()), Some(c.src.port()))
            .dest(Some(c.dst.ip()), Some(c.dst.port()))
            .proto(proto(c.transport))
            .evidence("kind", Value::Str(kind.into()))
            .evidence("caller", Value::Str(key.1.to_string()))
            .evidence("account", c.account.as_ref().map_or(Value::Str(String::new()), |a| Value::Str(a.to_string())))
            .evidence("calls", Value::U64(c.attempts))
            .evidence("answered", Value::U64(c.answered))
            .evidence("rejected", Value::U64(c.rejected))
            .evidence("concurrent", Value::U64(c.active.len() as u64))
            .evidence("numbers", Value::List(c.numbers.iter().map(|n| Value::Str(n.to_string())).collect()))
            .evidence("first_call", Value::Time(c.first))
            .evidence("last_call", Value::Time(c.last))
            .evidence("window_secs", Value::U64(self.cfg.window_secs))
    }

    fn raise(&mut self, key: &(IpAddr, Box<str>), kind: Kind, sev: Severity, now: PacketTime, cx: &mut Context<'_>) {
        let Some(c) = self.callers.get_mut(key, now) else { return };
        if c.raised & kind as u8 != 0 {
            return;
        }
        c.raised |= kind as u8;
        let c = c.clone();
        cx.raise(self.base(key, &c, kind.name(), sev, now).key(format!("{} {} {}", kind.name(), key.0, key.1)));
    }
}

impl Detector for TollFraud {
    fn meta(&self) -> &'static Meta {
        &META
    }

    fn interests(&self) -> Interests {
        Interests::of(EventKind::Sip)
    }

    fn on_event(&mut self, ev: &Event, cx: &mut Context<'_>) {
        let Payload::Sip(m) = &ev.payload else { return };
        let now = cx.now();
        match (m.method.as_deref(), m.status) {
            (Some(method), _) if method.eq_ignore_ascii_case("INVITE") && m.to_tag.is_none() => {
                self.on_invite(m, now, cx);
            }
            (Some(method), _) if method.eq_ignore_ascii_case("BYE") => self.on_end(&m.call_id, false, now, cx),
            (Some(method), _) if method.eq_ignore_ascii_case("CANCEL") => {
                if let Some(call) = self.calls.get_mut(&m.call_id, now) {
                    call.cancelled = true;
                }
            }
            (None, Some(status)) if m.cseq_method.eq_ignore_ascii_case("INVITE") => match status {
                180 | 183 => {
                    if let Some(call) = self.calls.get_mut(&m.call_id, now) {
                        call.ringing = true;
                    }
                }
                200..=299 => self.on_answer(m, now, cx),
                // A challenge: the caller retries with credentials in the same call.
                401 | 407 => {}
                300.. => self.on_end(&m.call_id, true, now, cx),
                _ => {}
            },
            _ => {}
        }
    }

    fn on_tick(&mut self, now: PacketTime, _cx: &mut Context<'_>) {
        self.calls.expire(now);
        self.callers.expire(now);
        self.ranges.expire(now);
    }

    fn tables(&self) -> Vec<(&'static str, TableStats)> {
        vec![("calls", self.calls.stats()), ("callers", self.callers.stats()), ("ranges", self.ranges.stats())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Scenario, Sip};

    const PBX: &str = "10.77.0.1:5060";
    const PHONE: &str = "10.77.0.11:5060";

    /// One call from `src` as 1001 to `number`: INVITE, 407, INVITE with credentials, 180, then `status`; an
    /// answered call (2xx) lasts `secs` seconds and ends with a BYE.
    fn call(s: &mut Scenario, at: u64, src: &str, id: &str, number: &str, status: u16, secs: u64) {
        let invite = || Sip::request("INVITE", src, PBX).call(id).from("1001").ruri(number).to(number);
        s.at_ms(at, invite().payload());
        s.at_ms(at + 1, Sip::response(407, "INVITE", PBX, src).call(id).payload());
        s.at_ms(at + 2, invite().cseq(2).digest("1001", None, Some("auth")).payload());
        s.at_ms(at + 3, Sip::response(180, "INVITE", PBX, src).call(id).cseq(2).payload());
        s.at_ms(at + 500, Sip::response(status, "INVITE", PBX, src).call(id).cseq(2).payload());
        if (200..300).contains(&status) {
            let bye = Sip::request("BYE", src, PBX).call(id).cseq(3).tags("caller", Some("callee"));
            s.at_ms(at + 500 + secs * 1000, bye.payload());
        }
    }

    fn kinds(alerts: &[Alert]) -> Vec<String> {
        alerts
            .iter()
            .map(|a| match a.evidence.get("kind") {
                Some(Value::Str(k)) => k.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn numbers_are_normalised_and_non_numbers_ignored() {
        assert_eq!(normalise("+44 (20) 7946-0000").as_deref(), Some("+442079460000"));
        assert_eq!(normalise("+1-201-555-0123;phone-context=x").as_deref(), Some("+12015550123"));
        assert_eq!(normalise("00.44.20"), Some("004420".into()));
        assert_eq!(normalise("alice"), None);
        assert_eq!(normalise("*97"), None);
        assert_eq!(normalise("1+2"), None);
        assert_eq!(normalise(&"1".repeat(40)), None);
    }

    #[test]
    fn answered_international_calls_raise_once() {
        let mut s = Scenario::new();
        for i in 0..5u64 {
            call(&mut s, i * 120_000, PHONE, &format!("c{i}"), &format!("004420794600{i:02}"), 200, 60);
        }
        let alerts = s.run(TollFraud::new(&Config::default()));
        assert_eq!(kinds(&alerts), ["international"], "{alerts:#?}");
        let a = &alerts[0];
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.src_ip, Some("10.77.0.11".parse().unwrap()));
        assert_eq!(a.dest_ip, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(a.evidence.get("caller"), Some(&Value::Str("1001".into())));
        assert_eq!(a.evidence.get("account"), Some(&Value::Str("1001".into())));
        assert_eq!(a.evidence.get("answered"), Some(&Value::U64(3)));
        assert_eq!(a.evidence.get("calls"), Some(&Value::U64(3)));
    }

    #[test]
    fn one_answered_premium_call_raises() {
        let mut s = Scenario::new();
        call(&mut s, 0, PHONE, "p1", "1900-555-0100", 200, 30);
        let alerts = s.run(TollFraud::new(&Config::default()));
        assert_eq!(kinds(&alerts), ["premium"]);
        assert_eq!(alerts[0].evidence.get("numbers"), Some(&Value::List(vec![Value::Str("19005550100".into())])));
    }

    #[test]
    fn concurrent_calls_raise_their_own_kind() {
        let mut s = Scenario::new();
        for i in 0..4u64 {
            call(&mut s, i * 100, PHONE, &format!("c{i}"), &format!("0044207946{i:04}"), 200, 60);
        }
        let alerts = s.run(TollFraud::new(&Config::default()));
        assert_eq!(kinds(&alerts), ["international", "concurrent"], "{alerts:#?}");
        assert_eq!(alerts[1].evidence.get("concurrent"), Some(&Value::U64(4)));
    }

    #[test]
    fn rejected_probing_raises_one_medium_burst() {
        let mut s = Scenario::new();
        for i in 0..15u64 {
            call(&mut s, i * 1_000, "10.77.0.66:5070", &format!("c{i}"), &format!("011972599{i:04}"), 403, 0);
        }
        let alerts = s.run(TollFraud::new(&Config::default()));
        assert_eq!(kinds(&alerts), ["burst"], "{alerts:#?}");
        assert_eq!(alerts[0].severity, Severity::Medium);
        assert_eq!(alerts[0].evidence.get("calls"), Some(&Value::U64(10)));
        assert_eq!(alerts[0].evidence.get("rejected"), Some(&Value::U64(9)));
        assert_eq!(alerts[0].evidence.get("answered"), Some(&Value::U64(0)));
    }

    #[test]
    fn short_calls_to_one_range_raise_per_range() {
        let mut s = Scenario::new();
        let cfg = Config { min_international_calls: 100, ..Config::default() };
        for i in 0..6u64 {
            call(&mut s, i * 5_000, PHONE, &format!("w{i}"), &format!("00882165000{i:02}"), 200, 2);
        }
        let alerts = s.run(TollFraud::new(&cfg));
        assert_eq!(kinds(&alerts), ["short-calls"], "{alerts:#?}");
        assert_eq!(alerts[0].severity, Severity::Medium);
        assert_eq!(alerts[0].evidence.get("prefix"), Some(&Value::Str("008821".into())));
        assert_eq!(alerts[0].evidence.get("short_calls"), Some(&Value::U64(5)));
        // Calls longer than the threshold are not short.
        let mut long = Scenario::new();
        for i in 0..6u64 {
            call(&mut long, i * 60_000, PHONE, &format!("w{i}"), &format!("00882165000{i:02}"), 200, 30);
        }
        assert!(long.run(TollFraud::new(&cfg)).is_empty());
    }

    #[test]
    fn cancelled_after_ringing_is_short() {
        let mut s = Scenario::new();
        let cfg = Config { min_attempts: 100, ..Config::default() };
        for i in 0..5u64 {
            let id = format!("x{i}");
            let at = i * 10_000;
            s.at_ms(at, Sip::request("INVITE", PHONE, PBX).call(&id).ruri("0088216500077").payload());
            s.at_ms(at + 10, Sip::response(180, "INVITE", PBX, PHONE).call(&id).payload());
            s.at_ms(at + 3_000, Sip::request("CANCEL", PHONE, PBX).call(&id).payload());
            s.at_ms(at + 3_010, Sip::response(487, "INVITE", PBX, PHONE).call(&id).payload());
        }
        let alerts = s.run(TollFraud::new(&cfg));
        assert_eq!(kinds(&alerts), ["short-calls"], "{alerts:#?}");
        assert_eq!(alerts[0].evidence.get("rejected"), Some(&Value::U64(0)));
    }

    #[test]
    fn extensions_dids_and_home_numbers_never_count() {
        let mut s = Scenario::new();
        for i in 0..400u64 {
            // A busy trunk: many short calls to contiguous DIDs and extensions (9000-9399 start like the
            // premium 900), in E.164 and national form.
            let number = match i % 3 {
                0 => format!("+1555010{:04}", i),
                1 => format!("555010{:04}", i),
                _ => format!("{}", 9000 + i),
            };
            call(&mut s, i * 100, "192.0.2.10:5060", &format!("t{i}"), &number, 200, 1);
        }
        for i in 0..5u64 {
            call(&mut s, 50_000 + i * 100, PHONE, &format!("h{i}"), &format!("00339876543{i:02}"), 200, 1);
        }
        let cfg = Config { home_prefixes: vec!["0033".into()], ..Config::default() };
        assert!(s.run(TollFraud::new(&cfg)).is_empty());
        assert!(!s.run(TollFraud::new(&Config::default())).is_empty());
        // Without the length floor the extensions 9000-9399 would be premium numbers.
        let loose = Config { min_digits: 0, ..cfg };
        assert!(kinds(&s.run(TollFraud::new(&loose))).contains(&"premium".to_owned()));
    }

    #[test]
    fn a_call_relayed_by_a_proxy_counts_once() {
        let mut s = Scenario::new();
        const GW: &str = "10.77.0.12:5080";
        for i in 0..3u64 {
            let id = format!("c{i}");
            let at = i * 100_000;
            let n = format!("0049301234{i:03}");
            s.at_ms(at, Sip::request("INVITE", PHONE, PBX).call(&id).ruri(&n).payload());
            s.at_ms(at + 1, Sip::request("INVITE", PBX, GW).call(&id).ruri(&n).payload());
            s.at_ms(at + 1, Sip::request("INVITE", PBX, GW).call(&id).ruri(&n).payload());
            s.at_ms(at + 50, Sip::response(200, "INVITE", GW, PBX).call(&id).payload());
            s.at_ms(at + 51, Sip::response(200, "INVITE", PBX, PHONE).call(&id).payload());
        }
        let alerts = s.run(TollFraud::new(&Config::default()));
        assert_eq!(kinds(&alerts), ["international"]);
        assert_eq!(alerts[0].evidence.get("calls"), Some(&Value::U64(3)));
        assert_eq!(alerts[0].src_ip, Some("10.77.0.11".parse().unwrap()));
    }

    #[test]
    fn tables_stay_bounded_under_a_flood_of_callers() {
        let cfg = Config { max_calls: 64, max_callers: 32, max_prefixes: 16, ..Config::default() };
        let mut d = TollFraud::new(&cfg);
        let mut out = Vec::new();
        for i in 0..4_000u32 {
            let ts = PacketTime::from_secs(10 + u64::from(i) / 200);
            let src = format!("198.51.{}.{}:5060", i / 250, i % 250);
            let id = format!("c{i}");
            let n = format!("00{i:04}12345");
            for m in [
                Sip::request("INVITE", &src, PBX).call(&id).ruri(&n).payload(),
                Sip::response(200, "INVITE", PBX, &src).call(&id).payload(),
                Sip::request("BYE", &src, PBX).call(&id).tags("caller", Some("callee")).payload(),
            ] {
                let ev = Event { seq: u64::from(i), ts, payload: m };
                let mut cx = Context::new(ts, &mut out);
                d.on_event(&ev, &mut cx);
            }
            // Calls never ended fill the call table.
            let ev = Event { seq: 0, ts, payload: Sip::request("INVITE", &src, PBX).call(&format!("o{i}")).ruri(&n).payload() };
            d.on_event(&ev, &mut Context::new(ts, &mut out));
        }
        let tables = d.tables();
        assert!(tables.iter().all(|(_, t)| t.len <= t.cap), "{tables:?}");
        assert!(tables.iter().all(|(_, t)| t.evicted > 0), "{tables:?}");
    }
}
