//! `bruteforce-distributed.pcap`: a password-guessing botnet against one account: [`SOURCES`] public
//! addresses each make 1 to 3 wrong guesses for extension [`TARGET_USER`] at one registrar, none of them
//! enough for a brute force of its own.
//!
//! - [`REGISTRAR`] 10.0.5.1 (MAC 02:00:00:00:00:01) on UDP 5060; everything off-subnet comes through
//!   [`GATEWAY`] 10.0.5.254 (MAC 02:00:00:00:00:fe), so the attackers' frames carry the gateway's MAC
//!   and the registrar's answers go to it. The registrar resolves the gateway by ARP at 0 s.
//! - Source `k` (0..[`SOURCES`]) is [`source`]`(k)`: 198.51.100.1-100 then 203.0.113.1-100, port 5060.
//!   It starts at `START + 1 s + k * `[`SOURCE_SPACING_MS`]` ms` (+0-300 ms) and makes `1 + r` guesses
//!   (`r` uniform in 0..3), [`GUESS_SPACING_MS`] ms apart (+0-500 ms). A guess, with its own Call-ID:
//!   REGISTER without credentials; 401 with a fresh `nonce` (qop=auth) 1-3 ms later; REGISTER (CSeq 2)
//!   with digest credentials for [`TARGET_USER`] answering that nonce, 20-60 ms later; 403 Forbidden
//!   1-3 ms later. User-Agent: a common phone's (no scanner signature).
//! - Benign: [`PHONE`] 10.0.5.12 registers [`PHONE_USER`] at [`PHONE_REGISTER_SECS`] s (401, then
//!   credentials, 200 OK), another account on the same registrar.
//! - Everything ends before `START + `[`DURATION_SECS`]` s` (about two minutes of guessing).

use std::net::{Ipv4Addr, SocketAddr};

use super::common::arp_exchange;
use super::{Host, MS, SEC, START_NANOS, at_secs, sorted};
use crate::packet::udp_frame;
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::{self, Message};

/// The registrar, 10.0.5.1.
pub const REGISTRAR: Host = Host::v4(10, 0, 5, 1);
/// The router, 10.0.5.254, MAC 02:00:00:00:00:fe.
pub const GATEWAY: Host = Host::v4(10, 0, 5, 254);
/// A phone on the LAN registering its own account.
pub const PHONE: Host = Host::v4(10, 0, 5, 12);
/// The account under attack.
pub const TARGET_USER: &str = "1001";
/// The phone's account.
pub const PHONE_USER: &str = "1002";
/// When the phone registers (seconds).
pub const PHONE_REGISTER_SECS: u64 = 60;
/// Number of attacking addresses.
pub const SOURCES: u64 = 200;
/// Milliseconds between the starts of two sources.
pub const SOURCE_SPACING_MS: u64 = 600;
/// Milliseconds between two guesses of one source (plus up to 500).
pub const GUESS_SPACING_MS: u64 = 2_000;
/// The most guesses one source makes.
pub const MAX_GUESSES_PER_SOURCE: u64 = 3;
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 130;

/// The address of source `k`: 198.51.100.1-100 for `k` < 100, then 203.0.113.1-100.
pub fn source(k: u64) -> Ipv4Addr {
    let host = u8::try_from(k % 100 + 1).unwrap_or(1);
    if k < 100 {
        Ipv4Addr::new(198, 51, 100, host)
    } else {
        Ipv4Addr::new(203, 0, 113, host)
    }
}

/// One REGISTER transaction pair as the registrar sees it: challenge, credentials, final answer `status`.
struct Guess<'a> {
    client: SocketAddr,
    client_mac: crate::packet::Mac,
    server: Host,
    user: &'a str,
    ua: &'a str,
    status: (u16, &'a str),
}

impl Guess<'_> {
    fn frames(&self, out: &mut Vec<Frame>, start: u64, rng: &mut Rng) {
        let server = REGISTRAR.sock(5060);
        let host = self.client.ip();
        let tag = rng.hex(10);
        let call_id = format!("{}@{}", rng.hex(20), host);
        let aor = format!("<sip:{}@{}>", self.user, self.server.ip);
        let contact = format!(
            "<sip:{}@{}>",
            self.user,
            sip::hostport(host, self.client.port())
        );
        let nonce = rng.hex(32);
        let realm = self.server.ip.to_string();
        let mut t = start;
        for cseq in [1u32, 2] {
            let via = format!(
                "SIP/2.0/UDP {};branch={};rport",
                sip::hostport(host, self.client.port()),
                sip::branch(rng)
            );
            let mut req = Message::request("REGISTER", &format!("sip:{}", self.server.ip))
                .header("Via", via.clone())
                .header("Max-Forwards", "70")
                .header("From", format!("{aor};tag={tag}"))
                .header("To", aor.clone())
                .header("Call-ID", call_id.clone())
                .header("CSeq", format!("{cseq} REGISTER"))
                .header("Contact", contact.clone())
                .header("Expires", "3600");
            if cseq == 2 {
                req = req.header(
                    "Authorization",
                    format!(
                        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"sip:{}\", response=\"{}\", algorithm=MD5, cnonce=\"{}\", qop=auth, nc=00000001",
                        self.user,
                        self.server.ip,
                        rng.hex(32),
                        rng.hex(8)
                    ),
                );
            }
            let req = req.header("User-Agent", self.ua.to_owned()).into_bytes();
            out.push(Frame::new(
                t,
                udp_frame(self.client_mac, self.server.mac, self.client, server, &req),
            ));
            t += rng.range(MS, 3 * MS);
            let (code, reason) = if cseq == 1 {
                (401, "Unauthorized")
            } else {
                self.status
            };
            let mut resp = Message::response(code, reason)
                .header("Via", format!("{via};received={host}"))
                .header("From", format!("{aor};tag={tag}"))
                .header("To", format!("{aor};tag={}", rng.hex(8)))
                .header("Call-ID", call_id.clone())
                .header("CSeq", format!("{cseq} REGISTER"));
            if cseq == 1 {
                resp = resp.header(
                    "WWW-Authenticate",
                    format!(
                        "Digest realm=\"{realm}\", nonce=\"{nonce}\", qop=\"auth\", algorithm=MD5"
                    ),
                );
            } else if code == 200 {
                resp = resp.header("Contact", format!("{contact};expires=3600"));
            }
            let resp = resp.header("Server", sip::SERVER).into_bytes();
            out.push(Frame::new(
                t,
                udp_frame(self.server.mac, self.client_mac, server, self.client, &resp),
            ));
            t += rng.range(20 * MS, 60 * MS);
        }
    }
}

/// The capture, sorted by time.
pub fn bruteforce_distributed(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0x5001_d157);
    let mut frames = Vec::new();
    arp_exchange(
        &mut frames,
        START_NANOS,
        REGISTRAR,
        GATEWAY,
        false,
        &mut rng,
    );
    arp_exchange(
        &mut frames,
        START_NANOS + 10 * MS,
        PHONE,
        REGISTRAR,
        false,
        &mut rng,
    );
    for k in 0..SOURCES {
        let mut src_rng = rng.fork(k);
        let ua = sip::USER_AGENTS
            .get(usize::try_from(k).unwrap_or(0) % sip::USER_AGENTS.len())
            .copied()
            .unwrap_or("Yealink SIP-T46S");
        let guess = Guess {
            client: SocketAddr::new(source(k).into(), 5060),
            client_mac: GATEWAY.mac,
            server: REGISTRAR,
            user: TARGET_USER,
            ua,
            status: (403, "Forbidden"),
        };
        let mut t = START_NANOS + SEC + k * SOURCE_SPACING_MS * MS + src_rng.range(0, 300 * MS);
        for _ in 0..1 + src_rng.below(MAX_GUESSES_PER_SOURCE) {
            guess.frames(&mut frames, t, &mut src_rng);
            t += GUESS_SPACING_MS * MS + src_rng.range(0, 500 * MS);
        }
    }
    let phone = Guess {
        client: PHONE.sock(5060),
        client_mac: PHONE.mac,
        server: REGISTRAR,
        user: PHONE_USER,
        ua: "Yealink SIP-T46S 66.86.0.15",
        status: (200, "OK"),
    };
    phone.frames(&mut frames, at_secs(PHONE_REGISTER_SECS), &mut rng);
    sorted(frames)
}
