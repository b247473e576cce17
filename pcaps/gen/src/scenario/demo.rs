//! `demo.pcap`: thirty seconds that show a bit of everything on 10.0.4.0/24: two calls, ordinary ARP, one
//! ARP-spoofing episode with flip-flop and relayed RTP, one spoofed SYN-flood burst, and background noise.
//!
//! - Hosts (MAC `02:00:00:00:00:NN`): [`GATEWAY`] .1, [`PBX`] .5, phones [`PHONE_A`] .11 and [`PHONE_B`]
//!   .12, [`ATTACKER`] .66, workstations .20-.23.
//! - Calls: A (user 1011, RTP 20000) to the PBX (user 2001, RTP 30000), INVITE at 1 s, 200 OK at 2.2 s,
//!   [`CALL_A_TALK_SECS`] s of PCMU RTP; B (user 1012, RTP 20002) to the PBX (user 2002, RTP 30002),
//!   INVITE at 3 s, 200 OK at 4.5 s, [`CALL_B_TALK_SECS`] s of G.729 RTP, hung up by the PBX.
//! - ARP: everyone resolves the gateway and the phones resolve the PBX in the first second; unicast
//!   re-validation every 8-15 s.
//! - Spoofing: the attacker resolves A and the PBX at 9.5 s, then from [`POISON_START_SECS`] to
//!   [`POISON_END_SECS`] every 2 s sends "10.0.4.5 is-at M" to A and "10.0.4.11 is-at M" to the PBX (4
//!   rounds), and arpspoof's three cleanup rounds follow at 17-19 s. A broadcasts "who has 10.0.4.5" at
//!   11 s and 15 s (the PBX answers), the PBX asks for 10.0.4.11 at 13 s (A answers), so the bindings
//!   flip-flop; while poisoned, call A's frames go through M (re-sent 90 µs later with source MAC M).
//! - SYN flood: [`FLOOD_START_SECS`]-[`FLOOD_END_SECS`] s, [`FLOOD_RATE`] spoofed SYN/s to 10.0.4.5:5060
//!   through the gateway's MAC, each answered by SYN-ACK.
//! - Noise: DNS to the gateway every 0.3-1.5 s, NTP once per workstation, pings to the gateway and to
//!   198.51.100.7 (through the gateway; a fifth of them unanswered), two SIP REGISTERs over TCP.

use std::net::Ipv4Addr;

use super::common::{
    CallSpec, PoisonLog, TcpSpec, arp_exchange, arp_reply, arp_request, call_frames, dns_exchange,
    ntp_exchange, ping, register_over_tcp, route_through_attacker, tcp_session,
};
use super::syn_flood::spoofed_syn_flood;
use super::{Host, MS, SEC, US, at_millis, at_secs, sorted};
use crate::packet::{ARP_REPLY, BROADCAST, arp_frame};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::Codec;

/// Gateway 10.0.4.1.
pub const GATEWAY: Host = Host::v4(10, 0, 4, 1);
/// PBX 10.0.4.5.
pub const PBX: Host = Host::v4(10, 0, 4, 5);
/// Phone A 10.0.4.11 (the spoofing victim).
pub const PHONE_A: Host = Host::v4(10, 0, 4, 11);
/// Phone B 10.0.4.12.
pub const PHONE_B: Host = Host::v4(10, 0, 4, 12);
/// Attacker 10.0.4.66.
pub const ATTACKER: Host = Host::v4(10, 0, 4, 66);
/// RTP duration of call A.
pub const CALL_A_TALK_SECS: u64 = 16;
/// RTP duration of call B.
pub const CALL_B_TALK_SECS: u64 = 10;
/// First spoofed round (seconds).
pub const POISON_START_SECS: u64 = 10;
/// Poisoning ends (seconds, exclusive): rounds at 10, 12, 14 and 16 s, cleanup rounds at 17, 18 and 19 s.
pub const POISON_END_SECS: u64 = 17;
/// SYN flood start (seconds).
pub const FLOOD_START_SECS: u64 = 22;
/// SYN flood end (seconds).
pub const FLOOD_END_SECS: u64 = 27;
/// SYN flood rate (SYN/s).
pub const FLOOD_RATE: u64 = 1000;
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 30;

/// The demo capture, sorted by time.
pub fn demo(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0xde30_0006);
    let mut out = Vec::new();
    let (g, p, a, b, m) = (GATEWAY, PBX, PHONE_A, PHONE_B, ATTACKER);
    let workstations: Vec<Host> = (20..=23).map(|n| Host::v4(10, 0, 4, n)).collect();

    // Ordinary ARP.
    let mut askers = vec![p, a, b, m];
    askers.extend(&workstations);
    for (k, &h) in (0u64..).zip(&askers) {
        arp_exchange(&mut out, at_millis(60 * k), h, g, false, &mut rng);
    }
    arp_exchange(&mut out, at_millis(600), a, p, false, &mut rng);
    arp_exchange(&mut out, at_millis(700), b, p, false, &mut rng);
    arp_exchange(&mut out, at_millis(800), p, a, false, &mut rng);
    arp_exchange(&mut out, at_millis(850), p, b, false, &mut rng);
    for &h in &askers {
        let mut t = at_secs(8) + rng.range(0, 7 * SEC);
        while t < at_secs(DURATION_SECS) {
            arp_exchange(&mut out, t, h, g, true, &mut rng);
            t += rng.range(8 * SEC, 15 * SEC);
        }
    }

    // Calls.
    let call_a = CallSpec {
        caller: a,
        callee: p,
        caller_user: "1011".to_owned(),
        callee_user: "2001".to_owned(),
        caller_rtp_port: 20000,
        callee_rtp_port: 30000,
        codec: Codec::Pcmu,
        start: at_secs(1),
        ring: 1200 * MS,
        talk: CALL_A_TALK_SECS * SEC,
        invite_ip_len: None,
        caller_hangs_up: true,
        user_agent: "Yealink SIP-T46S 66.86.0.15",
    };
    let call_b = CallSpec {
        caller: b,
        callee: p,
        caller_user: "1012".to_owned(),
        callee_user: "2002".to_owned(),
        caller_rtp_port: 20002,
        callee_rtp_port: 30002,
        codec: Codec::G729,
        start: at_secs(3),
        ring: 1500 * MS,
        talk: CALL_B_TALK_SECS * SEC,
        invite_ip_len: None,
        caller_hangs_up: false,
        user_agent: "Grandstream GXP2170 1.0.11.23",
    };
    let mut relayable = call_frames(call_a, rng.fork(1));
    out.extend(call_frames(call_b, rng.fork(2)));

    // Spoofing episode with flip-flop.
    arp_exchange(&mut out, at_millis(9500), m, a, false, &mut rng);
    arp_exchange(&mut out, at_millis(9600), m, p, false, &mut rng);
    let (mut a_log, mut p_log) = (PoisonLog::default(), PoisonLog::default());
    let mut t = at_secs(POISON_START_SECS);
    while t < at_secs(POISON_END_SECS) {
        out.push(Frame::new(
            t,
            arp_frame(m.mac, a.mac, ARP_REPLY, m.mac, p.ip, a.mac, a.ip),
        ));
        a_log.set(t, true);
        out.push(Frame::new(
            t + MS,
            arp_frame(m.mac, p.mac, ARP_REPLY, m.mac, a.ip, p.mac, p.ip),
        ));
        p_log.set(t + MS, true);
        t += 2 * SEC;
    }
    for k in 0..3 {
        let t = at_secs(POISON_END_SECS + k);
        arp_reply(&mut out, t, p, a);
        a_log.set(t, false);
        arp_reply(&mut out, t + MS, a, p);
        p_log.set(t + MS, false);
    }
    for secs in [11, 15] {
        let ask = at_secs(secs) + rng.range(0, 100 * MS);
        arp_request(&mut out, ask, a, p.ip, BROADCAST);
        p_log.set(ask, false);
        let answer = ask + rng.range(80 * US, 300 * US);
        arp_reply(&mut out, answer, p, a);
        a_log.set(answer, false);
    }
    let ask = at_secs(13) + rng.range(0, 100 * MS);
    arp_request(&mut out, ask, p, a.ip, BROADCAST);
    a_log.set(ask, false);
    let answer = ask + rng.range(80 * US, 300 * US);
    arp_reply(&mut out, answer, a, p);
    p_log.set(answer, false);

    // Noise.
    let mut clients = workstations.clone();
    clients.extend([a, b]);
    let mut t = at_millis(300);
    while t < at_secs(DURATION_SECS) {
        let Some(&c) = rng.pick(&clients) else { break };
        dns_exchange(&mut relayable, t, c, g, &mut rng);
        t += rng.range(300 * MS, 1500 * MS);
    }
    for &w in &workstations {
        ntp_exchange(
            &mut out,
            at_secs(2) + rng.range(0, 20 * SEC),
            w,
            g,
            &mut rng,
        );
    }
    let remote = Host::new(g.mac, Ipv4Addr::new(198, 51, 100, 7));
    let mut t = at_millis(1500);
    while t < at_secs(DURATION_SECS) {
        let Some(&c) = rng.pick(&workstations) else {
            break;
        };
        let target = if rng.percent(50) { g } else { remote };
        let answered = rng.percent(80);
        ping(&mut out, t, c, target, answered, &mut rng);
        t += rng.range(SEC, 3 * SEC);
    }
    for (k, (c, secs)) in [(b, 5u64), (workstations.first().copied().unwrap_or(b), 19)]
        .into_iter()
        .enumerate()
    {
        let port = 45000 + u16::try_from(k).unwrap_or(0);
        let ex = register_over_tcp(
            c,
            port,
            p,
            &format!("1{:03}", c.ip.octets()[3]),
            "Linphone/5.2.5",
            &mut rng,
        );
        let spec = TcpSpec {
            client: c,
            client_port: port,
            server: p,
            server_port: 5060,
            start: at_secs(secs),
            exchanges: vec![ex],
            max_pieces: 2,
            out_of_order: false,
            retransmit: false,
        };
        tcp_session(&spec, &mut rng, &mut out);
    }

    // SYN flood burst.
    let flood = (
        at_secs(FLOOD_START_SECS),
        at_secs(FLOOD_END_SECS),
        FLOOD_RATE,
    );
    spoofed_syn_flood(&mut out, flood, p, 5060, g, &mut rng.fork(3));

    out.extend(route_through_attacker(
        relayable, a, &a_log, p, &p_log, m.mac,
    ));
    sorted(out)
}
