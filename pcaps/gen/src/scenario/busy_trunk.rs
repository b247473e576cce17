//! `busy-trunk.pcap`: two minutes of an ordinary, busy SIP trunk at an SBC, with no attack in it: the benign
//! baseline that the flood, scan, enumeration and brute-force detectors must stay quiet on.
//!
//! Every SIP message goes to or from the SBC [`SBC`] (10.20.0.5:5060), over UDP, without media (the SDP offers
//! and answers are there, the RTP is not: it would make the file ten times larger and adds nothing here).
//! - **Carrier** [`CARRIER`] (192.0.2.10:5060, trusted by address, no authentication) sends inbound calls to
//!   the DID block [`DID_FIRST`]..=[`DID_LAST`] (+15550100000..+15550102999, contiguous, picked at random),
//!   from random NANP callers. The attempts per second of packet time follow [`carrier_rate`]: 6/s, a ramp to
//!   the peak [`CARRIER_PEAK_RATE`] (40/s) held from 35 s to 55 s, a ramp down, 6/s again; the attempts of one
//!   second are spread at random over it.
//! - **PBXs** [`PBX_A`] (10.20.1.21) and [`PBX_B`] (10.20.2.22) send outbound calls to the SBC,
//!   [`PBX_CALLS_PER_SEC`] per second each on average, to random NANP numbers (a few international). The SBC
//!   challenges every INVITE with 407 (ACKed); the PBX resends it with `Proxy-Authorization` (same Call-ID,
//!   CSeq + 1, new branch) and the call proceeds.
//! - **Call outcomes** (per attempt, both directions): answered ([`ANSWERED_PERCENT`]: 100, 180, 200 with SDP
//!   after 1-8 s of ringing, ACK, then a BYE from either side after a hold time of 3-100 s if that falls
//!   inside the capture, and its 200); busy (486, ACK); cancelled by the caller while ringing (CANCEL, its
//!   200, 487, ACK); not answered (480 after 20 s, ACK).
//! - **Retransmissions**: [`INVITE_RETRANSMIT_PERCENT`] of the INVITEs are sent twice with the same branch,
//!   500 ms apart (timer A; the 100 Trying follows the copy), [`OK_RETRANSMIT_PERCENT`] of the 200 OKs twice
//!   500 ms apart (timer G, the first ACK lost), [`REGISTER_RETRANSMIT_PERCENT`] of the first REGISTERs twice
//!   500 ms apart (timer E).
//! - **Registrations**: [`PHONES`] phones (users 3000..3149, private addresses 192.168.x.y) behind the three
//!   NAT addresses [`NATS`] (203.0.113.31-33, 50 phones each) register every [`REGISTER_INTERVAL_SECS`]
//!   seconds (Expires 60), first at a random second of the first minute: REGISTER without credentials, 401
//!   with a fresh nonce, REGISTER with `Authorization` (CSeq + 1), 200. At each re-registration the NAT
//!   rebinds the phone to a new public port with probability [`NAT_REBIND_PERCENT`] %.
//! - **Keepalives**: the SBC qualifies every registered phone with OPTIONS at its current public address
//!   and port 20-40 s after each registration (200 from the phone); the SBC and each peer (carrier, PBXs)
//!   exchange OPTIONS both ways every [`PEER_OPTIONS_SECS`] seconds (200). The first frame, at `START`, is the
//!   SBC's OPTIONS to the carrier.
//!
//! Nothing is sent after [`DURATION_SECS`]: calls still up then simply have no BYE in the capture.

use std::net::Ipv4Addr;

use super::common::send_udp;
use super::{Host, MS, SEC, START_NANOS, sorted};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::{self, Codec, Message};

/// The SBC every message goes to or comes from, 10.20.0.5:5060.
pub const SBC: Host = Host::v4(10, 20, 0, 5);
/// The carrier's SBC, 192.0.2.10:5060.
pub const CARRIER: Host = Host::v4(192, 0, 2, 10);
/// The first PBX, 10.20.1.21:5060.
pub const PBX_A: Host = Host::v4(10, 20, 1, 21);
/// The second PBX, 10.20.2.22:5060.
pub const PBX_B: Host = Host::v4(10, 20, 2, 22);
/// The NAT addresses the phones register from.
pub const NATS: [Host; 3] = [
    Host::v4(203, 0, 113, 31),
    Host::v4(203, 0, 113, 32),
    Host::v4(203, 0, 113, 33),
];
/// Number of phones (users 3000.. ; phone `i` is behind `NATS[i % 3]`).
pub const PHONES: u64 = 150;
/// First user of the phones.
pub const FIRST_PHONE_USER: u64 = 3000;
/// The first DID of the block the carrier calls.
pub const DID_FIRST: u64 = 15_550_100_000;
/// The last DID of the block.
pub const DID_LAST: u64 = 15_550_102_999;
/// Packet time covered, seconds.
pub const DURATION_SECS: u64 = 120;
/// The carrier's peak rate of call attempts, per second.
pub const CARRIER_PEAK_RATE: u64 = 40;
/// Mean outbound call attempts per second from each PBX.
pub const PBX_CALLS_PER_SEC: u64 = 2;
/// Share of attempts answered, percent (then 8 % busy, 9 % cancelled, the rest not answered).
pub const ANSWERED_PERCENT: u64 = 76;
/// Share of INVITEs retransmitted once (timer A), percent.
pub const INVITE_RETRANSMIT_PERCENT: u64 = 3;
/// Share of 200 OKs to INVITE retransmitted once (timer G), percent.
pub const OK_RETRANSMIT_PERCENT: u64 = 2;
/// Share of first REGISTERs retransmitted once (timer E), percent.
pub const REGISTER_RETRANSMIT_PERCENT: u64 = 4;
/// Seconds between a phone's registrations.
pub const REGISTER_INTERVAL_SECS: u64 = 60;
/// Chance, percent, that a re-registration comes from a new NAT port.
pub const NAT_REBIND_PERCENT: u64 = 25;
/// Seconds between OPTIONS keepalives of the SBC and each peer, each way.
pub const PEER_OPTIONS_SECS: u64 = 30;
/// SIP port of the SBC and the peers.
pub const SIP_PORT: u16 = 5060;
/// Realm of the SBC's digest challenges.
pub const REALM: &str = "sbc.example.net";

/// Timer T1 (RFC 3261): the first retransmission interval.
const T1: u64 = 500 * MS;
/// What the SBC writes in `Server` and `User-Agent`.
const SBC_AGENT: &str = "SBC-Edge 9.2.1";
/// What the carrier writes.
const CARRIER_AGENT: &str = "Carrier-SBC 4.1";
/// What the PBXs write.
const PBX_AGENT: &str = "Asterisk PBX 20.5.2";

/// The carrier's call attempts in second `s` of the capture.
pub fn carrier_rate(s: u64) -> u64 {
    carrier_rate_with_peak(s, CARRIER_PEAK_RATE)
}

/// The carrier's call attempts in second `s` of a capture whose peak is `peak` (at least 6) per second.
pub fn carrier_rate_with_peak(s: u64, peak: u64) -> u64 {
    const BASE: u64 = 6;
    let peak = peak.max(BASE);
    match s {
        0..15 => BASE,
        15..35 => BASE + (peak - BASE) * (s - 15) / 20,
        35..55 => peak,
        55..75 => peak - (peak - BASE) * (s - 55) / 20,
        _ => BASE,
    }
}

/// A SIP endpoint as seen on the wire: host and port.
type Ep = (Host, u16);

fn end() -> u64 {
    START_NANOS + DURATION_SECS * SEC
}

/// The frames being made, and the RNG for fragment ids (never used: every message fits in one frame).
struct Out {
    frames: Vec<Frame>,
    rng: Rng,
}

impl Out {
    /// Sends `msg` from `from` to `to` at `ts`, unless `ts` is past the end of the capture.
    fn send(&mut self, ts: u64, from: Ep, to: Ep, msg: &Message) {
        if ts < end() {
            send_udp(
                &mut self.frames,
                ts,
                from,
                to,
                msg.render().as_bytes(),
                &mut self.rng,
            );
        }
    }
}

/// One dialog's fixed parts, from the UAC's side.
struct Dialog {
    uac: Ep,
    uas: Ep,
    /// The host:port the UAC writes in Via and Contact (a private address behind NAT).
    uac_local: (Ipv4Addr, u16),
    ruri: String,
    from: String,
    to: String,
    to_tag: String,
    call_id: String,
    contact: String,
    agent: &'static str,
    uas_agent: &'static str,
}

impl Dialog {
    fn via(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/UDP {}:{};branch={branch};rport",
            self.uac_local.0, self.uac_local.1
        )
    }

    /// The Via as the server echoes it: with `received` and `rport` filled in.
    fn via_back(&self, branch: &str) -> String {
        format!(
            "SIP/2.0/UDP {}:{};branch={branch};received={};rport={}",
            self.uac_local.0, self.uac_local.1, self.uac.0.ip, self.uac.1
        )
    }

    fn request(&self, method: &str, cseq: u32, branch: &str, to_tag: bool) -> Message {
        let to = if to_tag {
            format!("{};tag={}", self.to, self.to_tag)
        } else {
            self.to.clone()
        };
        Message::request(method, &self.ruri)
            .header("Via", self.via(branch))
            .header("Max-Forwards", "70")
            .header("From", self.from.clone())
            .header("To", to)
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{cseq} {method}"))
    }

    fn response(&self, code: u16, reason: &str, method: &str, cseq: u32, branch: &str) -> Message {
        let to = if code > 100 {
            format!("{};tag={}", self.to, self.to_tag)
        } else {
            self.to.clone()
        };
        Message::response(code, reason)
            .header("Via", self.via_back(branch))
            .header("From", self.from.clone())
            .header("To", to)
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{cseq} {method}"))
            .header("Server", self.uas_agent)
    }

    /// An in-dialog request from the UAS to the UAC (the callee's BYE): From and To swap.
    fn reverse_request(&self, method: &str, cseq: u32, branch: &str, uas_contact: &str) -> Message {
        let (ip, port) = (self.uas.0.ip, self.uas.1);
        Message::request(method, &self.contact.replace(['<', '>'], ""))
            .header(
                "Via",
                format!("SIP/2.0/UDP {ip}:{port};branch={branch};rport"),
            )
            .header("Max-Forwards", "70")
            .header("From", format!("{};tag={}", self.to, self.to_tag))
            .header("To", self.from.clone())
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{cseq} {method}"))
            .header("Contact", uas_contact.to_owned())
            .header("User-Agent", self.uas_agent)
    }

    fn reverse_response(&self, cseq: u32, method: &str, branch: &str) -> Message {
        let (ip, port) = (self.uas.0.ip, self.uas.1);
        Message::response(200, "OK")
            .header(
                "Via",
                format!("SIP/2.0/UDP {ip}:{port};branch={branch};rport={port}"),
            )
            .header("From", format!("{};tag={}", self.to, self.to_tag))
            .header("To", self.from.clone())
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{cseq} {method}"))
            .header("User-Agent", self.agent)
    }
}

/// A digest `response=` value: 32 hex digits (the sensor never reads it; the test network has no passwords).
fn digest(rng: &mut Rng, header_user: &str, uri: &str, nonce: &str) -> String {
    format!(
        "Digest username=\"{header_user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{}\", algorithm=MD5",
        rng.hex(32)
    )
}

/// How an attempt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Busy,
    Cancelled,
    NoAnswer,
}

fn outcome(rng: &mut Rng) -> Outcome {
    match rng.below(100) {
        n if n < ANSWERED_PERCENT => Outcome::Answered,
        n if n < ANSWERED_PERCENT + 8 => Outcome::Busy,
        n if n < ANSWERED_PERCENT + 17 => Outcome::Cancelled,
        _ => Outcome::NoAnswer,
    }
}

/// A random NANP number, +1 NXX NXX XXXX, outside the 555 exchange of the DIDs.
fn nanp(rng: &mut Rng) -> String {
    let area = rng.range(201, 990);
    let mut exchange = rng.range(201, 1000);
    if exchange == 555 {
        exchange = 556;
    }
    format!("+1{area}{exchange}{:04}", rng.below(10_000))
}

/// The INVITE transaction and, if answered, the rest of the dialog. With `proxy_auth` the SBC challenges the
/// first INVITE with 407 and the UAC sends it again with credentials (PBX calls).
fn call(out: &mut Out, d: &Dialog, start: u64, proxy_auth: bool, rng: &mut Rng) {
    let mut t = start;
    let mut cseq = u32::try_from(rng.range(1, 200)).unwrap_or(1);
    let session = rng.range(100_000, 999_999);
    let offer = sip::sdp(
        "-",
        session,
        d.uac.0.ip.into(),
        rng.range_u16(5000, 30000) & !1,
        Codec::Pcmu,
        &[],
    );
    let uas_contact = format!("<sip:{}:{}>", d.uas.0.ip, d.uas.1);
    let invite = |branch: &str, cseq: u32, auth: Option<String>| {
        let mut m = d
            .request("INVITE", cseq, branch, false)
            .header("Contact", d.contact.clone())
            .header("Allow", sip::ALLOW)
            .header("User-Agent", d.agent);
        if let Some(a) = auth {
            m = m.header("Proxy-Authorization", a);
        }
        m.body("application/sdp", offer.clone())
    };
    if proxy_auth {
        let branch = sip::branch(rng);
        out.send(t, d.uac, d.uas, &invite(&branch, cseq, None));
        let nonce = rng.hex(24);
        t += rng.range(2 * MS, 8 * MS);
        let challenge = d
            .response(
                407,
                "Proxy Authentication Required",
                "INVITE",
                cseq,
                &branch,
            )
            .header(
                "Proxy-Authenticate",
                format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\""),
            );
        out.send(t, d.uas, d.uac, &challenge);
        t += rng.range(MS, 3 * MS);
        out.send(t, d.uac, d.uas, &d.request("ACK", cseq, &branch, true));
        t += rng.range(MS, 4 * MS);
        cseq += 1;
        let user = d.from.split(['<', ':', '@']).nth(2).unwrap_or("trunk");
        let cred = format!(
            "{}, qop=auth, cnonce=\"{}\", nc=00000001",
            digest(rng, user, &d.ruri, &nonce),
            rng.hex(8)
        );
        let branch = sip::branch(rng);
        out.send(t, d.uac, d.uas, &invite(&branch, cseq, Some(cred)));
        transaction(out, d, t, cseq, &branch, &uas_contact, rng);
    } else {
        let branch = sip::branch(rng);
        let inv = invite(&branch, cseq, None);
        out.send(t, d.uac, d.uas, &inv);
        if rng.percent(INVITE_RETRANSMIT_PERCENT) {
            t += T1;
            out.send(t, d.uac, d.uas, &inv);
        }
        transaction(out, d, t, cseq, &branch, &uas_contact, rng);
    }
}

/// From the (last) INVITE at `t` on: the answers, the ACK, and the end of the call.
fn transaction(
    out: &mut Out,
    d: &Dialog,
    t: u64,
    cseq: u32,
    branch: &str,
    uas_contact: &str,
    rng: &mut Rng,
) {
    let resp = |code: u16, reason: &str| {
        let m = d.response(code, reason, "INVITE", cseq, branch);
        if code > 100 {
            m.header("Contact", uas_contact.to_owned())
        } else {
            m
        }
    };
    let trying = t + rng.range(2 * MS, 6 * MS);
    out.send(trying, d.uas, d.uac, &resp(100, "Trying"));
    let ringing = t + rng.range(60 * MS, 400 * MS);
    let ack_non2xx = |out: &mut Out, at: u64| {
        out.send(at, d.uac, d.uas, &d.request("ACK", cseq, branch, true));
    };
    match outcome(rng) {
        Outcome::Busy => {
            let at = t + rng.range(30 * MS, 300 * MS);
            out.send(at, d.uas, d.uac, &resp(486, "Busy Here"));
            ack_non2xx(out, at + rng.range(MS, 3 * MS));
        }
        Outcome::NoAnswer => {
            out.send(ringing, d.uas, d.uac, &resp(180, "Ringing"));
            let at = t + 20 * SEC + rng.range(0, 50 * MS);
            out.send(at, d.uas, d.uac, &resp(480, "Temporarily Unavailable"));
            ack_non2xx(out, at + rng.range(MS, 3 * MS));
        }
        Outcome::Cancelled => {
            out.send(ringing, d.uas, d.uac, &resp(180, "Ringing"));
            let at = ringing + rng.range(2 * SEC, 15 * SEC);
            let cancel = d
                .request("CANCEL", cseq, branch, false)
                .header("User-Agent", d.agent);
            out.send(at, d.uac, d.uas, &cancel);
            let ok = at + rng.range(2 * MS, 6 * MS);
            // The 200 to CANCEL: SBCs send it without a To tag.
            let ok_cancel = Message::response(200, "OK")
                .header("Via", d.via_back(branch))
                .header("From", d.from.clone())
                .header("To", d.to.clone())
                .header("Call-ID", d.call_id.clone())
                .header("CSeq", format!("{cseq} CANCEL"))
                .header("Server", d.uas_agent);
            out.send(ok, d.uas, d.uac, &ok_cancel);
            let term = ok + rng.range(MS, 4 * MS);
            out.send(term, d.uas, d.uac, &resp(487, "Request Terminated"));
            ack_non2xx(out, term + rng.range(MS, 3 * MS));
        }
        Outcome::Answered => {
            out.send(ringing, d.uas, d.uac, &resp(180, "Ringing"));
            let at = ringing + rng.range(SEC, 8 * SEC);
            let answer = sip::sdp(
                "-",
                rng.range(100_000, 999_999),
                d.uas.0.ip.into(),
                rng.range_u16(10000, 60000) & !1,
                Codec::Pcmu,
                &[],
            );
            let ok = resp(200, "OK").body("application/sdp", answer);
            out.send(at, d.uas, d.uac, &ok);
            let mut ack_at = at + rng.range(MS, 4 * MS);
            if rng.percent(OK_RETRANSMIT_PERCENT) {
                // The first ACK was lost on the way: the UAS resends the 200 after T1, the UAC ACKs again.
                ack_at = at + T1;
                out.send(ack_at, d.uas, d.uac, &ok);
                ack_at += rng.range(MS, 4 * MS);
            }
            let ack_branch = sip::branch(rng);
            let ack = d
                .request("ACK", cseq, &ack_branch, true)
                .header("User-Agent", d.agent);
            out.send(ack_at, d.uac, d.uas, &ack);
            let bye_at = ack_at + rng.range(3 * SEC, 100 * SEC);
            let bye_branch = sip::branch(rng);
            let back = bye_at + rng.range(2 * MS, 20 * MS);
            if rng.percent(50) {
                let bye = d
                    .request("BYE", cseq + 1, &bye_branch, true)
                    .header("User-Agent", d.agent);
                out.send(bye_at, d.uac, d.uas, &bye);
                let ok = d.response(200, "OK", "BYE", cseq + 1, &bye_branch);
                out.send(back, d.uas, d.uac, &ok);
            } else {
                let bye_cseq = u32::try_from(rng.range(1, 200)).unwrap_or(1);
                let bye = d.reverse_request("BYE", bye_cseq, &bye_branch, uas_contact);
                out.send(bye_at, d.uas, d.uac, &bye);
                out.send(
                    back,
                    d.uac,
                    d.uas,
                    &d.reverse_response(bye_cseq, "BYE", &bye_branch),
                );
            }
        }
    }
}

/// One inbound call from the carrier to a DID at `start`.
fn carrier_call(out: &mut Out, start: u64, rng: &mut Rng) {
    let did = rng.range(DID_FIRST, DID_LAST + 1);
    let caller = nanp(rng);
    let c = CARRIER.ip;
    let s = SBC.ip;
    let d = Dialog {
        uac: (CARRIER, SIP_PORT),
        uas: (SBC, SIP_PORT),
        uac_local: (c, SIP_PORT),
        ruri: format!("sip:+{did}@{s};user=phone"),
        from: format!("<sip:{caller}@{c};user=phone>;tag={}", rng.hex(10)),
        to: format!("<sip:+{did}@{s};user=phone>"),
        to_tag: format!("sb{}", rng.hex(8)),
        call_id: format!("{}@{c}", rng.hex(24)),
        contact: format!("<sip:{caller}@{c}:{SIP_PORT}>"),
        agent: CARRIER_AGENT,
        uas_agent: SBC_AGENT,
    };
    call(out, &d, start, false, rng);
}

/// One outbound call from `pbx` (trunk account `account`) at `start`.
fn pbx_call(out: &mut Out, pbx: Host, account: &str, start: u64, rng: &mut Rng) {
    let number = if rng.percent(2) {
        let intl = ["+442079460", "+493012345", "+331402000"];
        format!(
            "{}{}",
            rng.pick(&intl).copied().unwrap_or("+442079460"),
            rng.range(100, 1000)
        )
    } else {
        nanp(rng)
    };
    let ext = rng.range(200, 300);
    let p = pbx.ip;
    let s = SBC.ip;
    let d = Dialog {
        uac: (pbx, SIP_PORT),
        uas: (SBC, SIP_PORT),
        uac_local: (p, SIP_PORT),
        ruri: format!("sip:{number}@{s}"),
        from: format!("\"Ext {ext}\" <sip:{account}@{p}>;tag={}", rng.hex(10)),
        to: format!("<sip:{number}@{s}>"),
        to_tag: format!("sb{}", rng.hex(8)),
        call_id: format!("{}@{p}", rng.hex(24)),
        contact: format!("<sip:{account}@{p}:{SIP_PORT}>"),
        agent: PBX_AGENT,
        uas_agent: SBC_AGENT,
    };
    call(out, &d, start, true, rng);
}

/// A phone's registration from `public` (its NAT binding) at `t`; returns when the 200 came.
fn register(
    out: &mut Out,
    user: u64,
    local: (Ipv4Addr, u16),
    public: Ep,
    t: u64,
    rng: &mut Rng,
) -> u64 {
    let agent = rng
        .pick(sip::USER_AGENTS)
        .copied()
        .unwrap_or("Yealink SIP-T46S");
    let d = Dialog {
        uac: public,
        uas: (SBC, SIP_PORT),
        uac_local: local,
        ruri: format!("sip:{REALM}"),
        from: format!("<sip:{user}@{REALM}>;tag={}", rng.hex(10)),
        to: format!("<sip:{user}@{REALM}>"),
        to_tag: format!("sb{}", rng.hex(8)),
        call_id: format!("{}@{}", rng.hex(20), local.0),
        contact: format!("<sip:{user}@{}:{}>", local.0, local.1),
        agent,
        uas_agent: SBC_AGENT,
    };
    let mut cseq = u32::try_from(rng.range(1, 60)).unwrap_or(1);
    let reg = |branch: &str, cseq: u32, auth: Option<String>| {
        let mut m = d
            .request("REGISTER", cseq, branch, false)
            .header("Contact", format!("{};expires=60", d.contact))
            .header("Expires", "60")
            .header("User-Agent", agent);
        if let Some(a) = auth {
            m = m.header("Authorization", a);
        }
        m
    };
    let branch = sip::branch(rng);
    let first = reg(&branch, cseq, None);
    let mut t = t;
    out.send(t, d.uac, d.uas, &first);
    if rng.percent(REGISTER_RETRANSMIT_PERCENT) {
        t += T1;
        out.send(t, d.uac, d.uas, &first);
    }
    t += rng.range(2 * MS, 10 * MS);
    let nonce = rng.hex(24);
    let challenge = d
        .response(401, "Unauthorized", "REGISTER", cseq, &branch)
        .header(
            "WWW-Authenticate",
            format!("Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\""),
        );
    out.send(t, d.uas, d.uac, &challenge);
    t += rng.range(5 * MS, 30 * MS);
    cseq += 1;
    let cred = format!(
        "{}, qop=auth, cnonce=\"{}\", nc=00000001",
        digest(rng, &user.to_string(), &d.ruri, &nonce),
        rng.hex(8)
    );
    let branch = sip::branch(rng);
    out.send(t, d.uac, d.uas, &reg(&branch, cseq, Some(cred)));
    t += rng.range(2 * MS, 10 * MS);
    let ok = d
        .response(200, "OK", "REGISTER", cseq, &branch)
        .header("Contact", format!("{};expires=60", d.contact));
    out.send(t, d.uas, d.uac, &ok);
    t
}

/// An OPTIONS from `from` to `to` at `t` and its 200. `user` names the target in the URI (a phone), if any.
fn options(
    out: &mut Out,
    from: Ep,
    to: Ep,
    to_local: Option<(Ipv4Addr, u16)>,
    user: Option<u64>,
    t: u64,
    rng: &mut Rng,
) {
    let (fip, fport) = (from.0.ip, from.1);
    let target = match (user, to_local) {
        (Some(u), Some((ip, port))) => format!("sip:{u}@{ip}:{port}"),
        _ => format!("sip:{}:{}", to.0.ip, to.1),
    };
    let branch = sip::branch(rng);
    let via = format!("SIP/2.0/UDP {fip}:{fport};branch={branch};rport");
    let tag = rng.hex(10);
    let call_id = format!("{}@{fip}", rng.hex(20));
    let agent = if from.0 == SBC {
        SBC_AGENT
    } else if from.0 == CARRIER {
        CARRIER_AGENT
    } else {
        PBX_AGENT
    };
    let req = Message::request("OPTIONS", &target)
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header("From", format!("<sip:ping@{fip}>;tag={tag}"))
        .header("To", format!("<{target}>"))
        .header("Call-ID", call_id.clone())
        .header("CSeq", "102 OPTIONS")
        .header("User-Agent", agent);
    out.send(t, from, to, &req);
    let resp = Message::response(200, "OK")
        .header("Via", format!("{via}={fport}"))
        .header("From", format!("<sip:ping@{fip}>;tag={tag}"))
        .header("To", format!("<{target}>;tag={}", rng.hex(8)))
        .header("Call-ID", call_id)
        .header("CSeq", "102 OPTIONS")
        .header("Allow", sip::ALLOW)
        .header("Accept", "application/sdp");
    out.send(t + rng.range(MS, 15 * MS), to, from, &resp);
}

/// The whole capture, sorted by time.
pub fn busy_trunk(seed: u64) -> Vec<Frame> {
    busy_trunk_with_peak(seed, CARRIER_PEAK_RATE)
}

/// The same capture with the carrier peaking at `peak` call attempts per second instead of
/// [`CARRIER_PEAK_RATE`] (a busier trunk, for the tests of `sip-flood`'s trunk judgement; not shipped).
pub fn busy_trunk_with_peak(seed: u64, peak: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0xb059_7a0c);
    let mut out = Out {
        frames: Vec::new(),
        rng: rng.fork(0),
    };
    // Peer keepalives: the SBC's OPTIONS to the carrier opens the capture at START.
    let peers = [CARRIER, PBX_A, PBX_B];
    let mut ka = rng.fork(1);
    for (k, &peer) in (0u64..).zip(&peers) {
        let mut t = START_NANOS + k * 700 * MS;
        while t < end() {
            options(
                &mut out,
                (SBC, SIP_PORT),
                (peer, SIP_PORT),
                None,
                None,
                t,
                &mut ka,
            );
            let back = t + 10 * SEC + ka.range(0, SEC);
            options(
                &mut out,
                (peer, SIP_PORT),
                (SBC, SIP_PORT),
                None,
                None,
                back,
                &mut ka,
            );
            t += PEER_OPTIONS_SECS * SEC;
        }
    }
    // Carrier calls.
    let mut cr = rng.fork(2);
    for s in 0..DURATION_SECS {
        for _ in 0..carrier_rate_with_peak(s, peak) {
            let start = START_NANOS + s * SEC + 1 + cr.below(SEC - 1);
            let mut c = cr.fork(s);
            carrier_call(&mut out, start, &mut c);
        }
    }
    // PBX calls: 1..3 per second each (2 on average).
    let mut pr = rng.fork(3);
    for (pbx, account) in [(PBX_A, "trunk-a"), (PBX_B, "trunk-b")] {
        for s in 0..DURATION_SECS {
            for _ in 0..pr.range(PBX_CALLS_PER_SEC - 1, PBX_CALLS_PER_SEC + 2) {
                let start = START_NANOS + s * SEC + 1 + pr.below(SEC - 1);
                let mut c = pr.fork(s);
                pbx_call(&mut out, pbx, account, start, &mut c);
            }
        }
    }
    // Phones behind NAT: register every minute, the SBC qualifies them in between.
    let mut ph = rng.fork(4);
    for (i, &nat) in (0..PHONES).zip(NATS.iter().cycle()) {
        let user = FIRST_PHONE_USER + i;
        let local = (
            Ipv4Addr::new(
                192,
                168,
                u8::try_from(1 + i % 3).unwrap_or(1),
                u8::try_from(10 + i / 3).unwrap_or(10),
            ),
            SIP_PORT,
        );
        let mut public = (nat, ph.range_u16(1024, 65000));
        let mut t = START_NANOS + SEC + ph.below(59 * SEC);
        let mut first = true;
        while t < end() {
            if !first && ph.percent(NAT_REBIND_PERCENT) {
                public.1 = ph.range_u16(1024, 65000);
            }
            first = false;
            let done = register(&mut out, user, local, public, t, &mut ph);
            let q = done + ph.range(20 * SEC, 40 * SEC);
            options(
                &mut out,
                (SBC, SIP_PORT),
                public,
                Some(local),
                Some(user),
                q,
                &mut ph,
            );
            t += REGISTER_INTERVAL_SECS * SEC + ph.range(0, 200 * MS);
        }
    }
    sorted(out.frames)
}
