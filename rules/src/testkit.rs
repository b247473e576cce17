//! [`Scenario`]: timed events in, alerts out, for detector tests (no pcap needed at this level); [`Sip`] and
//! [`media`] build the SIP summaries such tests feed.

use std::net::SocketAddr;

use crate::alert::Alert;
use crate::config::Config;
use crate::detector::Detector;
use crate::engine::Engine;
use crate::event::{AuthSeen, Event, MediaSeen, Payload, SdpSeen, SipSeen, SipTransport};
use crate::time::PacketTime;

/// A list of events with times (added in any order, run in time order), run through an engine with chosen detectors.
#[derive(Debug, Default, Clone)]
pub struct Scenario {
    events: Vec<Event>,
}

impl Scenario {
    /// An empty scenario.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event at `ms` milliseconds after 2026-01-15T10:00:00Z.
    pub fn at_ms(&mut self, ms: u64, payload: Payload) -> &mut Self {
        let ts = PacketTime::from_nanos(Self::BASE_NANOS + ms * 1_000_000);
        self.push(ts, payload)
    }

    /// A digest exchange from `at_ms`, one millisecond apart: `request` from its source to its destination,
    /// the destination's 401 challenge, the same request again with CSeq 2 and digest credentials for `user`
    /// (qop=auth; with `nonce` when given), and the destination's `answer` to it. The request's Call-ID goes
    /// on every message, its Contact (if any) on the requests and the answer (a registrar echoes the binding).
    pub fn digest_exchange(
        &mut self,
        at_ms: u64,
        request: Sip,
        user: &str,
        nonce: Option<&str>,
        answer: u16,
    ) -> &mut Self {
        let m = request.seen();
        let method = m.method.as_deref().unwrap_or("REGISTER").to_owned();
        let reply = |status: u16, cseq: u32| {
            Sip::response(status, &method, &m.dst.to_string(), &m.src.to_string())
                .call(&m.call_id)
                .cseq(cseq)
        };
        let mut again = Sip(m.clone()).cseq(2).digest(user, None, Some("auth"));
        if let Some(n) = nonce {
            again = again.nonce(n);
        }
        self.at_ms(at_ms, Sip(m.clone()).payload());
        let mut last = reply(answer, 2);
        last.0.contact_addr = m.contact_addr;
        self.at_ms(at_ms + 1, reply(401, 1).payload());
        self.at_ms(at_ms + 2, again.payload());
        self.at_ms(at_ms + 3, last.payload())
    }

    /// The base time of [`Scenario::at_ms`], in nanoseconds since the epoch.
    pub const BASE_NANOS: u64 = 1_768_471_200 * 1_000_000_000;

    /// Adds an event at `ts`.
    pub fn push(&mut self, ts: PacketTime, payload: Payload) -> &mut Self {
        let seq = self.events.len() as u64;
        self.events.push(Event { seq, ts, payload });
        self
    }

    /// Runs the events through an engine with `detectors` and the given config, returning every alert.
    pub fn run_with(&self, config: &Config, detectors: Vec<Box<dyn Detector>>) -> Vec<Alert> {
        let mut e = Engine::with_detectors(config, detectors);
        let mut out = Vec::new();
        // Events may be added out of order; run them in time order (stable for equal times).
        let mut events = self.events.clone();
        events.sort_by_key(|ev| (ev.ts, ev.seq));
        for (i, ev) in events.iter_mut().enumerate() {
            ev.seq = i as u64;
        }
        for ev in &events {
            e.on_event(ev);
            out.extend(e.drain_alerts());
        }
        e.finish();
        out.extend(e.drain_alerts());
        out
    }

    /// Runs the events through one detector with the default engine settings.
    pub fn run(&self, detector: impl Detector + 'static) -> Vec<Alert> {
        self.run_with(&Config::default(), vec![Box::new(detector)])
    }
}

/// A SIP summary for detector tests, built from a request or a response and a few setters. Defaults: UDP,
/// Call-ID `call-1`, CSeq 1 of the request's method, From tag `caller`, no To tag, no body, no credentials.
#[derive(Debug, Clone)]
pub struct Sip(SipSeen);

impl Sip {
    fn base(
        src: &str,
        dst: &str,
        method: Option<&str>,
        status: Option<u16>,
        cseq_method: &str,
    ) -> Self {
        let addr = |s: &str| s.parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        Sip(SipSeen {
            src: addr(src),
            dst: addr(dst),
            transport: SipTransport::Udp,
            method: method.map(Into::into),
            status,
            call_id: "call-1".into(),
            ruri_user: None,
            from_user: Some("1001".into()),
            from_display: None,
            from_tag: Some("caller".into()),
            to_user: Some("1002".into()),
            to_tag: None,
            cseq: 1,
            cseq_method: cseq_method.into(),
            user_agent: None,
            has_sdp: false,
            sdp: None,
            auth: None,
            contact_user: None,
            contact_addr: None,
            via_addr: None,
            via_count: 1,
            branch: None,
            path: Vec::new(),
            anomalies: Vec::new(),
        })
    }

    /// A request from `src` to `dst` (`ip:port`), CSeq 1 of the same method.
    pub fn request(method: &str, src: &str, dst: &str) -> Self {
        Self::base(src, dst, Some(method), None, method)
    }

    /// A response from `src` to `dst` to a request of `cseq_method`, CSeq 1, To tag `callee`.
    pub fn response(status: u16, cseq_method: &str, src: &str, dst: &str) -> Self {
        Self::base(src, dst, None, Some(status), cseq_method).tags("caller", Some("callee"))
    }

    /// Over TCP.
    pub fn tcp(mut self) -> Self {
        self.0.transport = SipTransport::Tcp;
        self
    }

    /// The Call-ID.
    pub fn call(mut self, id: &str) -> Self {
        self.0.call_id = id.into();
        self
    }

    /// The CSeq number (the CSeq method stays).
    pub fn cseq(mut self, n: u32) -> Self {
        self.0.cseq = n;
        self
    }

    /// The From and To tags.
    pub fn tags(mut self, from: &str, to: Option<&str>) -> Self {
        self.0.from_tag = Some(from.into());
        self.0.to_tag = to.map(Into::into);
        self
    }

    /// An SDP body with these media descriptions.
    pub fn sdp(mut self, media: Vec<MediaSeen>) -> Self {
        self.0.has_sdp = true;
        self.0.sdp = Some(Box::new(SdpSeen {
            session_addr: None,
            media,
        }));
        self
    }

    /// Credentials (`Authorization`, scheme Digest) of `user` with this algorithm and qop.
    pub fn digest(mut self, user: &str, algorithm: Option<&str>, qop: Option<&str>) -> Self {
        self.0.auth = Some(Box::new(AuthSeen {
            proxy: false,
            scheme: "Digest".into(),
            username: Some(user.into()),
            realm: Some("lab".into()),
            algorithm: algorithm.map(Into::into),
            qop: qop.map(Into::into),
            nonce: None,
        }));
        self
    }

    /// The `nonce` of the credentials set by [`Self::digest`] (no effect without them).
    pub fn nonce(mut self, nonce: &str) -> Self {
        if let Some(a) = self.0.auth.as_mut() {
            a.nonce = Some(nonce.into());
        }
        self
    }

    /// The Request-URI user (the dialled number).
    pub fn ruri(mut self, user: &str) -> Self {
        self.0.ruri_user = Some(user.into());
        self
    }

    /// The first Contact's address.
    pub fn contact(mut self, addr: &str) -> Self {
        self.0.contact_addr = addr.parse().ok();
        self
    }

    /// The From user.
    pub fn from(mut self, user: &str) -> Self {
        self.0.from_user = Some(user.into());
        self
    }

    /// The To user.
    pub fn to(mut self, user: &str) -> Self {
        self.0.to_user = Some(user.into());
        self
    }

    /// The top Via's branch (the transaction).
    pub fn branch(mut self, b: &str) -> Self {
        self.0.branch = Some(b.into());
        self
    }

    /// The summary.
    pub fn seen(self) -> SipSeen {
        self.0
    }

    /// The event payload.
    pub fn payload(self) -> Payload {
        Payload::Sip(Box::new(self.0))
    }
}

/// An audio `m=` line of `proto` on `port`: `RTP/AVP` plain, `RTP/SAVP` secure, `UDP/TLS/RTP/SAVP` DTLS.
pub fn media(proto: &str, port: u16) -> MediaSeen {
    let secure = proto.to_ascii_uppercase().contains("SAVP");
    MediaSeen {
        kind: "audio".into(),
        port,
        proto: proto.into(),
        secure_profile: secure,
        dtls_profile: proto.to_ascii_uppercase().starts_with("UDP/TLS/"),
        direction: "sendrecv",
        ..MediaSeen::default()
    }
}

/// `m` with `a=crypto` lines of these suites, carrying inline keys.
pub fn with_crypto(mut m: MediaSeen, suites: &[&str]) -> MediaSeen {
    m.crypto_suites = suites.iter().map(|s| (*s).into()).collect();
    m.crypto_count = u16::try_from(suites.len()).unwrap_or(u16::MAX);
    m.inline_keys = !suites.is_empty();
    m
}
