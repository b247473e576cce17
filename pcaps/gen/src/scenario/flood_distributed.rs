//! `flood-distributed.pcap`: a REGISTER flood spread over many sources and source ports, each source far
//! under a per-source flood threshold, their sum far over a per-target one.
//!
//! - [`REGISTRAR`] 10.0.6.1 (MAC 02:00:00:00:00:01) on UDP 5060; off-subnet traffic comes through
//!   [`GATEWAY`] 10.0.6.254 (MAC 02:00:00:00:00:fe). The registrar resolves the gateway by ARP at 0 s.
//! - Flood: from [`FLOOD_START_SECS`] to [`FLOOD_END_SECS`] s, each of [`SOURCES`] addresses
//!   (198.51.100.1 upwards) sends [`RATE_PER_SOURCE`] REGISTERs a second for a random user 2000-2999, each
//!   from a new random source port 1024-65535 (a new socket per request, as `sipp -t un` does), evenly
//!   spaced with 0-50 ms jitter; the registrar answers each 401 (digest challenge) 1-3 ms later. That is
//!   [`SOURCES`]` * `[`RATE_PER_SOURCE`] requests a second at the registrar.
//! - Benign: the phone [`PHONE`] 10.0.6.11 sends an OPTIONS keepalive to the registrar every second from 0 s
//!   to [`DURATION_SECS`], each answered 200 OK: the flood's end is followed by 10 quiet seconds.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::common::arp_exchange;
use super::{Host, MS, SEC, START_NANOS, at_secs, sorted};
use crate::packet::udp_frame;
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::{self, Message};

/// The registrar, 10.0.6.1.
pub const REGISTRAR: Host = Host::v4(10, 0, 6, 1);
/// The router, 10.0.6.254, MAC 02:00:00:00:00:fe.
pub const GATEWAY: Host = Host::v4(10, 0, 6, 254);
/// The phone sending keepalives.
pub const PHONE: Host = Host::v4(10, 0, 6, 11);
/// Flooding addresses: 198.51.100.1 to 198.51.100.SOURCES.
pub const SOURCES: u64 = 60;
/// REGISTERs a second from each source.
pub const RATE_PER_SOURCE: u64 = 4;
/// The flood starts (seconds).
pub const FLOOD_START_SECS: u64 = 5;
/// The flood ends (seconds).
pub const FLOOD_END_SECS: u64 = 11;
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 21;

/// One request from `client` (an address, and the MAC its frames carry) and the registrar's answer.
fn exchange(
    out: &mut Vec<Frame>,
    t: u64,
    (client, client_mac): (SocketAddr, crate::packet::Mac),
    method: &str,
    user: &str,
    answer: (u16, &str),
    rng: &mut Rng,
) {
    let server = REGISTRAR.sock(5060);
    let host: IpAddr = client.ip();
    let via = format!(
        "SIP/2.0/UDP {};branch={};rport",
        sip::hostport(host, client.port()),
        sip::branch(rng)
    );
    let tag = rng.hex(10);
    let call_id = format!("{}@{}", rng.hex(20), host);
    let aor = format!("<sip:{user}@{}>", REGISTRAR.ip);
    let req = Message::request(method, &format!("sip:{}", REGISTRAR.ip))
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header("From", format!("{aor};tag={tag}"))
        .header("To", aor.clone())
        .header("Call-ID", call_id.clone())
        .header("CSeq", format!("1 {method}"))
        .header(
            "Contact",
            format!("<sip:{user}@{}>", sip::hostport(host, client.port())),
        )
        .header("User-Agent", "Grandstream GXP2170 1.0.11.23")
        .into_bytes();
    out.push(Frame::new(
        t,
        udp_frame(client_mac, REGISTRAR.mac, client, server, &req),
    ));
    let mut resp = Message::response(answer.0, answer.1)
        .header("Via", format!("{via};received={host}"))
        .header("From", format!("{aor};tag={tag}"))
        .header("To", format!("{aor};tag={}", rng.hex(8)))
        .header("Call-ID", call_id)
        .header("CSeq", format!("1 {method}"));
    if answer.0 == 401 {
        resp = resp.header(
            "WWW-Authenticate",
            format!(
                "Digest realm=\"{}\", nonce=\"{}\", qop=\"auth\"",
                REGISTRAR.ip,
                rng.hex(32)
            ),
        );
    }
    let resp = resp.header("Server", sip::SERVER).into_bytes();
    let ts = t + rng.range(MS, 3 * MS);
    out.push(Frame::new(
        ts,
        udp_frame(REGISTRAR.mac, client_mac, server, client, &resp),
    ));
}

/// The capture, sorted by time.
pub fn flood_distributed(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0x3001_d157);
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
    let step = SEC / RATE_PER_SOURCE;
    for k in 0..SOURCES {
        let mut src_rng = rng.fork(k);
        let ip = Ipv4Addr::new(198, 51, 100, u8::try_from(k + 1).unwrap_or(1));
        let offset = src_rng.range(0, step);
        let mut t = at_secs(FLOOD_START_SECS) + offset;
        while t < at_secs(FLOOD_END_SECS) {
            let port = src_rng.range_u16(1024, 65535);
            let user = format!("{}", 2000 + src_rng.below(1000));
            let at = t + src_rng.range(0, 50 * MS);
            let client = SocketAddr::new(ip.into(), port);
            let challenge = (401, "Unauthorized");
            exchange(
                &mut frames,
                at,
                (client, GATEWAY.mac),
                "REGISTER",
                &user,
                challenge,
                &mut src_rng,
            );
            t += step;
        }
    }
    for s in 0..DURATION_SECS {
        let t = at_secs(s) + 500 * MS + rng.range(0, 20 * MS);
        exchange(
            &mut frames,
            t,
            (PHONE.sock(5060), PHONE.mac),
            "OPTIONS",
            "1001",
            (200, "OK"),
            &mut rng,
        );
    }
    sorted(frames)
}
