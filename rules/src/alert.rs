//! [`Alert`] and what goes in it: [`Meta`] (the catalogue entry), [`Severity`], [`Category`], [`Evidence`].

use std::net::IpAddr;

use callguard_parsers::link::Mac;

use crate::time::PacketTime;

/// Severity, as Suricata numbers it: 1 is the highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 1: act now.
    High = 1,
    /// 2: look today.
    Medium = 2,
    /// 3: worth knowing.
    Low = 3,
}

impl Severity {
    /// The number used in EVE output.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Lower-case name, for metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// The detection categories of DESIGN.md's catalogue; each owns a range of signature ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// 1xxx: calls and keys that travel unprotected.
    Encryption,
    /// 2xxx: signs of a man in the middle.
    Mitm,
    /// 3xxx: floods and denial of service.
    Dos,
    /// 4xxx: reconnaissance.
    Recon,
    /// 5xxx: credential attacks.
    Credentials,
    /// 6xxx: toll fraud.
    Fraud,
}

impl Category {
    /// The name used in EVE's `alert.category`.
    pub fn name(self) -> &'static str {
        match self {
            Category::Encryption => "encryption",
            Category::Mitm => "mitm",
            Category::Dos => "dos",
            Category::Recon => "recon",
            Category::Credentials => "credentials",
            Category::Fraud => "fraud",
        }
    }

    /// The range of signature ids this category owns.
    pub fn sid_range(self) -> std::ops::Range<u32> {
        match self {
            Category::Encryption => 1000..2000,
            Category::Mitm => 2000..3000,
            Category::Dos => 3000..4000,
            Category::Recon => 4000..5000,
            Category::Credentials => 5000..6000,
            Category::Fraud => 6000..7000,
        }
    }
}

/// A detector's catalogue entry. Sids and slugs never change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// The numeric signature id.
    pub sid: u32,
    /// The kebab-case detector name.
    pub slug: &'static str,
    /// The category.
    pub category: Category,
    /// The default severity.
    pub severity: Severity,
    /// One line that says what the alert means.
    pub signature: &'static str,
}

/// The transport protocol named in an alert's `proto` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ARP (layer 2; EVE has no number for it).
    Arp,
}

impl Proto {
    /// The name used in EVE's `proto`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Arp => "ARP",
        }
    }
}

/// One typed fact in an alert's evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A count or number.
    U64(u64),
    /// A rate or ratio.
    F64(f64),
    /// A flag.
    Bool(bool),
    /// Text from the detector (never a secret: credentials and keys are redacted before they get here).
    Str(String),
    /// An address.
    Ip(IpAddr),
    /// A MAC address.
    Mac(Mac),
    /// A packet time.
    Time(PacketTime),
    /// A list of values.
    List(Vec<Value>),
}

/// The facts that raised an alert, in the order the detector gave them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence(pub Vec<(&'static str, Value)>);

impl Evidence {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// An alert: which detector, when, who did it to whom, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The packet time of the event that raised it, or for what a once-a-second tick judged, the boundary of
    /// the second the tick opened.
    pub ts: PacketTime,
    /// The detector's catalogue entry.
    pub meta: Meta,
    /// This alert's severity (the detector's default unless it says otherwise).
    pub severity: Severity,
    /// The actor: attacker, sender.
    pub src_ip: Option<IpAddr>,
    /// The actor's port.
    pub src_port: Option<u16>,
    /// The target: victim, receiver.
    pub dest_ip: Option<IpAddr>,
    /// The target's port.
    pub dest_port: Option<u16>,
    /// Transport protocol.
    pub proto: Option<Proto>,
    /// The suppression key: at most one alert per (sid, key) per suppression window.
    pub key: String,
    /// The facts.
    pub evidence: Evidence,
}

impl Alert {
    /// A new alert of `meta` at `ts`, with no addresses and no evidence yet.
    pub fn new(meta: &Meta, ts: PacketTime) -> Self {
        Self {
            ts,
            meta: *meta,
            severity: meta.severity,
            src_ip: None,
            src_port: None,
            dest_ip: None,
            dest_port: None,
            proto: None,
            key: String::new(),
            evidence: Evidence::default(),
        }
    }

    /// Sets the actor.
    #[must_use]
    pub fn src(mut self, ip: Option<IpAddr>, port: Option<u16>) -> Self {
        self.src_ip = ip;
        self.src_port = port;
        self
    }

    /// Sets the target.
    #[must_use]
    pub fn dest(mut self, ip: Option<IpAddr>, port: Option<u16>) -> Self {
        self.dest_ip = ip;
        self.dest_port = port;
        self
    }

    /// Sets the protocol.
    #[must_use]
    pub fn proto(mut self, p: Proto) -> Self {
        self.proto = Some(p);
        self
    }

    /// Sets the suppression key.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// Overrides the severity.
    #[must_use]
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// Adds one fact.
    #[must_use]
    pub fn evidence(mut self, key: &'static str, v: Value) -> Self {
        self.evidence.0.push((key, v));
        self
    }
}
