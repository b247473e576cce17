//! `arp-spoof.pcap`: arpspoof-style ARP poisoning of a phone and its PBX, with the call's RTP relayed by
//! the attacker, followed by a gratuitous-ARP storm from another host.
//!
//! - Hosts: [`GATEWAY`] 10.0.2.1 (G), [`VICTIM`] phone 10.0.2.11 (V), [`PBX`] 10.0.2.5 (P), [`ATTACKER`]
//!   10.0.2.66 (M, 02:00:00:00:00:42), and [`STORM`] 10.0.2.77 (02:00:00:00:00:77); MAC
//!   `02:00:00:00:00:NN` with NN the last octet.
//! - 0-60 s, ordinary ARP: from 0 s (first frame exactly at the start) V, P and M resolve G (M as itself, sender 10.0.2.66/M), V and P
//!   resolve each other, G resolves V, P and M, 10.0.2.77 resolves G at 1.5 s; unicast re-validation every
//!   25-35 s for the G pairs; V and P each re-resolve the other at ~30 s.
//! - A call V (user 1011, RTP port 20000) to P (user 2000, RTP port 30000): INVITE at [`CALL_START_MILLIS`],
//!   200 OK 600 ms later, then [`CALL_TALK_SECS`] s of PCMU RTP both ways (50 packets/s each), BYE from V.
//! - At 58.9 s and 59.0 s M resolves V and P (as arpspoof does first). Poisoning from
//!   [`POISON_START_SECS`] every [`POISON_INTERVAL_SECS`] s, last at 118 s (30 rounds): an ARP reply
//!   "10.0.2.5 is-at M" to V (Ethernet src M, dst V, target 10.0.2.11/V) and, 1 ms later, "10.0.2.11
//!   is-at M" to P. At 120, 121 and 122 s arpspoof's cleanup re-sends the true bindings (Ethernet source =
//!   the true MAC, as arpspoof forges it).
//! - Real owners keep talking, so each binding flip-flops: V broadcasts "who has 10.0.2.5" at 55 s + 10k s
//!   (+0-500 ms) until 135 s and P replies with MAC P; P broadcasts "who has 10.0.2.11" at 60 s + 10k s +
//!   5 s and V replies.
//! - While V's entry for P is poisoned (from a spoofed reply to V until P's next ARP that V receives),
//!   V's IPv4 frames to P go to MAC M, and M re-sends each one 90 µs later with Ethernet source M and
//!   destination P, the IP datagram unchanged; likewise for P to V.
//! - Storm: from [`STORM_START_SECS`] for [`STORM_DURATION_SECS`] s, 10.0.2.77's MAC sends
//!   [`STORM_RATE`] gratuitous ARPs per second (broadcast requests, sender IP = target IP) cycling over
//!   10.0.2.200-219 ([`STORM_IPS`]), 250 frames; none of those IPs appears before.
//! - Background: V and P query DNS at G every 8-15 s. Capture ends at [`DURATION_SECS`].

use std::net::Ipv4Addr;

use super::common::{
    CallSpec, PoisonLog, arp_exchange, arp_reply, arp_request, call_frames, dns_exchange,
    gratuitous_request, route_through_attacker,
};
use super::{Host, MS, SEC, US, at_millis, at_secs, sorted};
use crate::packet::{ARP_REPLY, BROADCAST, arp_frame};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::Codec;

/// Gateway 10.0.2.1, MAC 02:00:00:00:00:01.
pub const GATEWAY: Host = Host::v4(10, 0, 2, 1);
/// Victim phone 10.0.2.11, MAC 02:00:00:00:00:0b.
pub const VICTIM: Host = Host::v4(10, 0, 2, 11);
/// PBX 10.0.2.5, MAC 02:00:00:00:00:05.
pub const PBX: Host = Host::v4(10, 0, 2, 5);
/// Attacker 10.0.2.66, MAC 02:00:00:00:00:42.
pub const ATTACKER: Host = Host::v4(10, 0, 2, 66);
/// Storm source 10.0.2.77, MAC 02:00:00:00:00:77.
pub const STORM: Host = Host::new(crate::packet::host_mac(0x77), Ipv4Addr::new(10, 0, 2, 77));
/// INVITE time of the victim's call (ms after start).
pub const CALL_START_MILLIS: u64 = 49_000;
/// RTP duration of the victim's call.
pub const CALL_TALK_SECS: u64 = 50;
/// First spoofed reply (seconds).
pub const POISON_START_SECS: u64 = 60;
/// End of poisoning (seconds); the last spoofed round is 2 s before.
pub const POISON_END_SECS: u64 = 120;
/// Seconds between spoofed rounds.
pub const POISON_INTERVAL_SECS: u64 = 2;
/// Start of the gratuitous-ARP storm (seconds).
pub const STORM_START_SECS: u64 = 150;
/// Storm length (seconds).
pub const STORM_DURATION_SECS: u64 = 5;
/// Gratuitous ARPs per second in the storm.
pub const STORM_RATE: u64 = 50;
/// The addresses claimed in the storm: 10.0.2.200 to 10.0.2.219.
pub const STORM_IPS: (Ipv4Addr, Ipv4Addr) =
    (Ipv4Addr::new(10, 0, 2, 200), Ipv4Addr::new(10, 0, 2, 219));
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 160;

/// The poisoning scenario, sorted by time.
pub fn arp_spoof(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0xa4b5_0003);
    let mut out = Vec::new();
    let (g, v, p, m) = (GATEWAY, VICTIM, PBX, ATTACKER);

    // Ordinary resolution at start.
    let initial = [
        (v, g),
        (p, g),
        (m, g),
        (v, p),
        (p, v),
        (g, v),
        (g, p),
        (g, m),
    ];
    for (k, (asker, owner)) in (0u64..).zip(initial) {
        arp_exchange(&mut out, at_millis(150 * k), asker, owner, false, &mut rng);
    }
    arp_exchange(&mut out, at_millis(1500), STORM, g, false, &mut rng);
    for (asker, owner) in [(v, g), (p, g), (m, g), (g, v), (g, p), (g, m)] {
        let mut t = at_secs(25) + rng.range(0, 10 * SEC);
        while t < at_secs(DURATION_SECS) {
            arp_exchange(&mut out, t, asker, owner, true, &mut rng);
            t += rng.range(25 * SEC, 35 * SEC);
        }
    }
    arp_exchange(
        &mut out,
        at_secs(30) + rng.range(0, SEC),
        v,
        p,
        true,
        &mut rng,
    );
    arp_exchange(
        &mut out,
        at_secs(31) + rng.range(0, SEC),
        p,
        v,
        true,
        &mut rng,
    );

    // The attacker learns both MACs, then poisons.
    arp_exchange(&mut out, at_millis(58_900), m, v, false, &mut rng);
    arp_exchange(&mut out, at_millis(59_000), m, p, false, &mut rng);
    let mut v_log = PoisonLog::default(); // V's entry for P
    let mut p_log = PoisonLog::default(); // P's entry for V
    let mut t = at_secs(POISON_START_SECS);
    while t < at_secs(POISON_END_SECS) {
        out.push(Frame::new(
            t,
            arp_frame(m.mac, v.mac, ARP_REPLY, m.mac, p.ip, v.mac, v.ip),
        ));
        v_log.set(t, true);
        let t2 = t + MS;
        out.push(Frame::new(
            t2,
            arp_frame(m.mac, p.mac, ARP_REPLY, m.mac, v.ip, p.mac, p.ip),
        ));
        p_log.set(t2, true);
        t += POISON_INTERVAL_SECS * SEC;
    }
    for k in 0..3 {
        let t = at_secs(POISON_END_SECS + k);
        arp_reply(&mut out, t, p, v);
        v_log.set(t, false);
        arp_reply(&mut out, t + MS, v, p);
        p_log.set(t + MS, false);
    }

    // The true owners keep answering: every ARP from P that V receives restores V's entry, and back.
    let mut t = at_secs(55);
    while t < at_secs(136) {
        let ask = t + rng.range(0, 500 * MS);
        arp_request(&mut out, ask, v, p.ip, BROADCAST);
        p_log.set(ask, false);
        let answer = ask + rng.range(80 * US, 300 * US);
        arp_reply(&mut out, answer, p, v);
        v_log.set(answer, false);
        let ask = t + 5 * SEC + rng.range(0, 500 * MS);
        if ask > at_secs(60) {
            arp_request(&mut out, ask, p, v.ip, BROADCAST);
            v_log.set(ask, false);
            let answer = ask + rng.range(80 * US, 300 * US);
            arp_reply(&mut out, answer, v, p);
            p_log.set(answer, false);
        }
        t += 10 * SEC;
    }

    // The call, relayed by M while poisoned.
    let call = CallSpec {
        caller: v,
        callee: p,
        caller_user: "1011".to_owned(),
        callee_user: "2000".to_owned(),
        caller_rtp_port: 20000,
        callee_rtp_port: 30000,
        codec: Codec::Pcmu,
        start: at_millis(CALL_START_MILLIS),
        ring: 600 * MS,
        talk: CALL_TALK_SECS * SEC,
        invite_ip_len: None,
        caller_hangs_up: true,
        user_agent: "Yealink SIP-T46S 66.86.0.15",
    };
    let mut media = call_frames(call, rng.fork(7));
    for host in [v, p] {
        let mut t = at_secs(3) + rng.range(0, 5 * SEC);
        while t < at_secs(DURATION_SECS - 1) {
            dns_exchange(&mut media, t, host, g, &mut rng);
            t += rng.range(8 * SEC, 15 * SEC);
        }
    }
    out.extend(route_through_attacker(media, v, &v_log, p, &p_log, m.mac));

    // The gratuitous-ARP storm.
    let [a, b, c, first] = STORM_IPS.0.octets();
    for k in 0..STORM_RATE * STORM_DURATION_SECS {
        let ts = at_secs(STORM_START_SECS) + k * (SEC / STORM_RATE) + rng.range(0, 2 * MS);
        let last = u8::try_from(u64::from(first) + k % 20).unwrap_or(first);
        gratuitous_request(
            &mut out,
            ts,
            Host::new(STORM.mac, Ipv4Addr::new(a, b, c, last)),
        );
    }
    sorted(out)
}
