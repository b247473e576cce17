//! Whole-scenario checks: determinism, well-formed frames, and the numbers the module docs promise.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use etherparse::{NetSlice, SlicedPacket, TransportSlice, defrag::IpDefragPool};

use super::*;
use crate::pcap::{LINKTYPE_ETHERNET, PcapNgWriter, PcapWriter};
use crate::{
    arp_benign, arp_spoof, bench, bruteforce_distributed, busy_trunk, calls_udp, demo,
    flood_distributed, linktypes, packet, syn_flood, tcp_benign,
};

fn pcap_bytes(frames: &[Frame]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), LINKTYPE_ETHERNET, false).unwrap();
    for f in frames {
        w.write(f).unwrap();
    }
    w.into_inner().unwrap()
}

fn all_ethernet(seed: u64) -> Vec<(&'static str, Vec<Frame>)> {
    vec![
        ("calls_udp", calls_udp(seed)),
        ("arp_benign", arp_benign(seed)),
        ("arp_spoof", arp_spoof(seed)),
        ("syn_flood", syn_flood(seed)),
        ("tcp_benign", tcp_benign(seed)),
        ("bruteforce_distributed", bruteforce_distributed(seed)),
        ("flood_distributed", flood_distributed(seed)),
        ("demo", demo(seed)),
        ("linktypes_base", linktypes::base_frames(seed)),
        ("busy_trunk", busy_trunk(seed)),
    ]
}

/// Checks one Ethernet frame: it parses, and every checksum etherparse can verify is right.
fn check_frame(name: &str, f: &Frame) {
    let p = SlicedPacket::from_ethernet(&f.data)
        .unwrap_or_else(|e| panic!("{name}: frame at {} does not parse: {e:?}", f.ts_nanos));
    assert!(f.data.len() >= packet::MIN_FRAME_LEN, "{name}: runt frame");
    match &p.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            assert_eq!(
                h.header_checksum(),
                h.to_header().calc_header_checksum(),
                "{name}: IPv4 checksum"
            );
            if p.is_ip_payload_fragmented() {
                return;
            }
            match &p.transport {
                Some(TransportSlice::Udp(u)) => {
                    let want = u
                        .to_header()
                        .calc_checksum_ipv4_raw(h.source(), h.destination(), u.payload())
                        .unwrap();
                    assert_eq!(u.checksum(), want, "{name}: UDP checksum");
                }
                Some(TransportSlice::Tcp(t)) => {
                    let want = t.calc_checksum_ipv4(h.source(), h.destination()).unwrap();
                    assert_eq!(t.checksum(), want, "{name}: TCP checksum");
                }
                _ => {}
            }
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            if let Some(TransportSlice::Udp(u)) = &p.transport
                && !p.is_ip_payload_fragmented()
            {
                let want = u
                    .to_header()
                    .calc_checksum_ipv6_raw(h.source(), h.destination(), u.payload())
                    .unwrap();
                assert_eq!(u.checksum(), want, "{name}: UDPv6 checksum");
            }
        }
        Some(NetSlice::Arp(_)) => {}
        other => panic!("{name}: unexpected network layer {other:?}"),
    }
}

fn udp(f: &Frame) -> Option<(Ipv4Addr, u16, Ipv4Addr, u16, Vec<u8>)> {
    let p = SlicedPacket::from_ethernet(&f.data).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        return None;
    };
    let Some(TransportSlice::Udp(u)) = &p.transport else {
        return None;
    };
    let h = ip.header();
    Some((
        h.source_addr(),
        u.source_port(),
        h.destination_addr(),
        u.destination_port(),
        u.payload().to_vec(),
    ))
}

struct Tcp {
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    seq: u32,
    flags: u8,
    payload: Vec<u8>,
    eth_src: packet::Mac,
}

fn tcp(f: &Frame) -> Option<Tcp> {
    let p = SlicedPacket::from_ethernet(&f.data).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &p.net else {
        return None;
    };
    let Some(TransportSlice::Tcp(t)) = &p.transport else {
        return None;
    };
    let h = ip.header();
    let flags = u8::from(t.fin())
        | u8::from(t.syn()) << 1
        | u8::from(t.rst()) << 2
        | u8::from(t.psh()) << 3
        | u8::from(t.ack()) << 4;
    Some(Tcp {
        src: (h.source_addr(), t.source_port()),
        dst: (h.destination_addr(), t.destination_port()),
        seq: t.sequence_number(),
        flags,
        payload: t.payload().to_vec(),
        eth_src: packet::macs(&f.data).unwrap().0,
    })
}

struct Arp {
    eth_src: packet::Mac,
    eth_dst: packet::Mac,
    op: u16,
    sender_mac: packet::Mac,
    sender_ip: Ipv4Addr,
    target_ip: Ipv4Addr,
}

fn arp(f: &Frame) -> Option<Arp> {
    let p = SlicedPacket::from_ethernet(&f.data).ok()?;
    let Some(NetSlice::Arp(a)) = &p.net else {
        return None;
    };
    let (eth_src, eth_dst) = packet::macs(&f.data)?;
    Some(Arp {
        eth_src,
        eth_dst,
        op: a.operation().0,
        sender_mac: a.sender_hw_addr().try_into().ok()?,
        sender_ip: <[u8; 4]>::try_from(a.sender_protocol_addr()).ok()?.into(),
        target_ip: <[u8; 4]>::try_from(a.target_protocol_addr()).ok()?.into(),
    })
}

/// Splits a SIP message into (start line, headers, body) and checks CRLF and Content-Length.
fn check_sip(msg: &[u8]) -> (String, Vec<(String, String)>) {
    let text = std::str::from_utf8(msg).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("blank line");
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            assert!(!l.contains('\n'), "bare LF in {l:?}");
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let cl: usize = headers
        .iter()
        .find(|h| h.0 == "Content-Length")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(cl, body.len(), "Content-Length of {start}");
    for required in ["Via", "From", "To", "Call-ID", "CSeq"] {
        assert!(
            headers.iter().any(|h| h.0 == required),
            "{start} lacks {required}"
        );
    }
    (start, headers)
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    for ((name, a), (_, b)) in all_ethernet(1).into_iter().zip(all_ethernet(1)) {
        assert_eq!(
            pcap_bytes(&a),
            pcap_bytes(&b),
            "{name} is not deterministic"
        );
    }
    for ((name, a), (_, b)) in all_ethernet(1).into_iter().zip(all_ethernet(2)) {
        assert_ne!(pcap_bytes(&a), pcap_bytes(&b), "{name} ignores its seed");
    }
    let a: Vec<Frame> = bench(5, 3000).collect();
    let b: Vec<Frame> = bench(5, 3000).collect();
    assert_eq!(a, b);
}

#[test]
fn every_frame_parses_with_valid_checksums_and_scenarios_are_sorted_from_the_start() {
    for (name, frames) in all_ethernet(1) {
        assert!(
            frames.windows(2).all(|w| w[0].ts_nanos <= w[1].ts_nanos),
            "{name} not sorted"
        );
        assert_eq!(
            frames.first().unwrap().ts_nanos,
            START_NANOS,
            "{name} does not start at START"
        );
        for f in &frames {
            check_frame(name, f);
        }
    }
}

#[test]
fn every_unfragmented_sip_message_has_crlf_and_a_correct_content_length() {
    for (name, frames) in all_ethernet(1) {
        for f in &frames {
            if let Some((_, sp, _, dp, payload)) = udp(f)
                && (sp == 5060 || dp == 5060)
                && payload.first().is_some_and(u8::is_ascii_uppercase)
            {
                let _ = check_sip(&payload);
            }
            let _ = name;
        }
    }
}

#[test]
fn calls_udp_has_five_calls_with_rtp_and_one_fragmented_invite() {
    use calls_udp::*;
    let frames = calls_udp(1);
    let mut invites = 0;
    let mut rtp: BTreeMap<(Ipv4Addr, u16, Ipv4Addr, u16), Vec<Vec<u8>>> = BTreeMap::new();
    let mut fragments = Vec::new();
    let mut pool: IpDefragPool<(), ()> = IpDefragPool::new();
    let mut big = None;
    for f in &frames {
        let p = SlicedPacket::from_ethernet(&f.data).unwrap();
        if p.is_ip_payload_fragmented() {
            fragments.push(f.data.len());
            if let Some(done) = pool.process_sliced_packet(&p, (), ()).unwrap() {
                big = Some(done.payload);
            }
            continue;
        }
        let Some((s, sp, d, dp, payload)) = udp(f) else {
            continue;
        };
        if sp == 5060 {
            if payload.starts_with(b"INVITE ") {
                invites += 1;
            }
        } else {
            rtp.entry((s, sp, d, dp)).or_default().push(payload);
        }
    }
    assert_eq!(invites, CALLS - 1, "four INVITEs unfragmented");
    assert_eq!(fragments, vec![1514, 1514, 60]);
    let big = big.expect("fragmented INVITE reassembles");
    let (start, headers) = check_sip(&big[8..]);
    assert!(start.starts_with("INVITE sip:2003@10.0.0.1 "));
    assert!(
        headers
            .iter()
            .any(|h| h.0 == "Content-Type" && h.1 == "application/sdp")
    );
    let ip_len = 20 + big.len();
    assert!(
        (BIG_INVITE_IP_LEN..BIG_INVITE_IP_LEN + 100).contains(&ip_len),
        "{ip_len}"
    );
    assert_eq!(rtp.len(), 2 * CALLS);
    for (i, phone) in PHONES.iter().enumerate() {
        let port = PHONE_RTP_BASE + 2 * u16::try_from(i).unwrap();
        let pbx_port = PBX_RTP_BASE + 2 * u16::try_from(i).unwrap();
        let up = &rtp[&(phone.ip, port, PBX.ip, pbx_port)];
        let down = &rtp[&(PBX.ip, pbx_port, phone.ip, port)];
        for stream in [up, down] {
            assert_eq!(stream.len() as u64, RTP_PACKETS_PER_DIRECTION);
            assert!(
                stream
                    .iter()
                    .all(|p| p.len() == 172 && p[0] == 0x80 && p[1] & 0x7f == 0)
            );
            assert_eq!(stream[0][1] & 0x80, 0x80, "marker on the first packet");
            assert!(stream[1..].iter().all(|p| p[1] & 0x80 == 0));
            let seqs: Vec<u16> = stream
                .iter()
                .map(|p| u16::from_be_bytes([p[2], p[3]]))
                .collect();
            assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
        }
    }
    // Calls overlap: call 1's INVITE comes before call 0's BYE.
    let last = frames.last().unwrap().ts_nanos;
    assert!(last < START_NANOS + 16 * SEC);
}

#[test]
fn arp_benign_readdresses_once_and_fails_over_without_an_attack_pattern() {
    use arp_benign::*;
    let frames = arp_benign(1);
    let arps: Vec<(u64, Arp)> = frames
        .iter()
        .filter_map(|f| Some((f.ts_nanos, arp(f)?)))
        .collect();
    // MAC A is never heard after 180 s.
    let last_a = frames
        .iter()
        .filter(|f| packet::macs(&f.data).unwrap().0 == MAC_A)
        .map(|f| f.ts_nanos)
        .max()
        .unwrap();
    assert!(last_a < at_secs(MAC_A_LAST_SECS + 1));
    // RFC 5227: three probes from MAC B with sender IP 0.0.0.0, then two announcements.
    let probes: Vec<&(u64, Arp)> = arps
        .iter()
        .filter(|(_, a)| a.sender_mac == MAC_B && a.sender_ip.is_unspecified())
        .collect();
    assert_eq!(probes.len(), 3);
    assert!(
        probes
            .iter()
            .all(|(t, a)| *t >= at_secs(PROBE_SECS) && a.target_ip == READDRESSED_IP)
    );
    let announcements = arps
        .iter()
        .filter(|(_, a)| {
            a.sender_mac == MAC_B && a.sender_ip == READDRESSED_IP && a.target_ip == READDRESSED_IP
        })
        .count();
    assert_eq!(announcements, 2);
    // VRRP: the virtual IP only ever maps to the virtual MAC; one gratuitous ARP at failover.
    assert!(
        arps.iter()
            .filter(|(_, a)| a.sender_ip == VIRTUAL_IP)
            .all(|(_, a)| a.sender_mac == VIRTUAL_MAC)
    );
    let vgarp: Vec<u64> = arps
        .iter()
        .filter(|(_, a)| a.sender_ip == VIRTUAL_IP && a.target_ip == VIRTUAL_IP)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(vgarp, vec![at_millis(VRRP_FAILOVER_MILLIS)]);
    // 10.0.1.253: P1 before the takeover, P2 after, exactly one gratuitous ARP.
    for (t, a) in arps.iter().filter(|(_, a)| a.sender_ip == CLUSTER_IP) {
        let want = if *t < at_secs(CLUSTER_TAKEOVER_SECS) {
            CLUSTER_MAC_1
        } else {
            CLUSTER_MAC_2
        };
        assert_eq!(a.sender_mac, want);
    }
    let cluster_garps = arps
        .iter()
        .filter(|(_, a)| a.sender_ip == CLUSTER_IP && a.target_ip == CLUSTER_IP)
        .count();
    assert_eq!(cluster_garps, 1);
    // Boot gratuitous ARPs: one each.
    for (n, secs) in BOOT_HOSTS {
        let ip = Ipv4Addr::new(10, 0, 1, n);
        let garps: Vec<u64> = arps
            .iter()
            .filter(|(_, a)| a.sender_ip == ip && a.target_ip == ip)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(garps, vec![at_secs(secs)]);
        let first = arps.iter().find(|(_, a)| a.sender_ip == ip).unwrap().0;
        assert_eq!(first, at_secs(secs), "host {n} is silent before boot");
    }
    // Outside the MAC changes above, every sender IP keeps one MAC, and Ethernet source = ARP sender.
    let mut seen: BTreeMap<Ipv4Addr, BTreeSet<packet::Mac>> = BTreeMap::new();
    for (_, a) in &arps {
        assert_eq!(a.eth_src, a.sender_mac);
        seen.entry(a.sender_ip).or_default().insert(a.sender_mac);
    }
    for (ip, macs) in seen {
        let expected = if ip == READDRESSED_IP || ip == CLUSTER_IP {
            2
        } else {
            1
        };
        assert_eq!(macs.len(), expected, "{ip}");
    }
    assert!(frames.last().unwrap().ts_nanos < at_secs(DURATION_SECS));
    assert!(frames.iter().any(|f| udp(f).is_some_and(|u| u.3 == 53)));
}

#[test]
fn arp_spoof_poisons_every_two_seconds_flip_flops_and_storms() {
    use arp_spoof::*;
    let frames = arp_spoof(1);
    let arps: Vec<(u64, Arp)> = frames
        .iter()
        .filter_map(|f| Some((f.ts_nanos, arp(f)?)))
        .collect();
    let spoofs_to_victim: Vec<u64> = arps
        .iter()
        .filter(|(_, a)| a.op == 2 && a.sender_mac == ATTACKER.mac && a.sender_ip == PBX.ip)
        .map(|(t, a)| {
            assert_eq!(
                (a.eth_src, a.eth_dst, a.target_ip),
                (ATTACKER.mac, VICTIM.mac, VICTIM.ip)
            );
            *t
        })
        .collect();
    let expected: Vec<u64> = (0..30)
        .map(|k| at_secs(POISON_START_SECS + 2 * k))
        .collect();
    assert_eq!(spoofs_to_victim, expected);
    let spoofs_to_pbx = arps
        .iter()
        .filter(|(_, a)| a.op == 2 && a.sender_mac == ATTACKER.mac && a.sender_ip == VICTIM.ip)
        .count();
    assert_eq!(spoofs_to_pbx, 30);
    // The attacker also ARPs as itself, before the attack.
    assert!(arps.iter().any(|(t, a)| a.sender_ip == ATTACKER.ip
        && a.sender_mac == ATTACKER.mac
        && *t < at_secs(1)));
    // The PBX keeps re-announcing its true MAC to the victim during the attack.
    let true_replies = arps
        .iter()
        .filter(|(t, a)| {
            a.op == 2
                && a.sender_ip == PBX.ip
                && a.sender_mac == PBX.mac
                && a.eth_dst == VICTIM.mac
                && (at_secs(POISON_START_SECS)..at_secs(POISON_END_SECS)).contains(t)
        })
        .count();
    assert!((5..=7).contains(&true_replies), "{true_replies}");
    // RTP relayed by the attacker: frames from M carrying the victim's or the PBX's datagrams.
    let relayed = frames
        .iter()
        .filter(|f| {
            packet::macs(&f.data).unwrap().0 == ATTACKER.mac
                && udp(f).is_some_and(|u| u.1 == 20000 || u.1 == 30000)
        })
        .count();
    assert!(relayed > 2000, "{relayed}");
    let direct_during_attack = frames
        .iter()
        .filter(|f| {
            (at_secs(70)..at_secs(95)).contains(&f.ts_nanos)
                && packet::macs(&f.data).unwrap() == (VICTIM.mac, PBX.mac)
                && udp(f).is_some()
        })
        .count();
    assert!(
        direct_during_attack > 0,
        "the binding flip-flops back to the true MAC"
    );
    // The storm: 250 gratuitous ARPs in [150 s, 155 s) over 20 never-seen IPs.
    let storm: Vec<&(u64, Arp)> = arps
        .iter()
        .filter(|(_, a)| a.sender_mac == STORM.mac && a.sender_ip != STORM.ip)
        .collect();
    assert_eq!(storm.len() as u64, STORM_RATE * STORM_DURATION_SECS);
    assert!(storm.iter().all(|(t, a)| {
        (at_secs(STORM_START_SECS)..at_secs(STORM_START_SECS + STORM_DURATION_SECS)).contains(t)
            && a.sender_ip == a.target_ip
            && (STORM_IPS.0..=STORM_IPS.1).contains(&a.sender_ip)
    }));
    let ips: BTreeSet<Ipv4Addr> = storm.iter().map(|(_, a)| a.sender_ip).collect();
    assert_eq!(ips.len(), 20);
    let earlier: BTreeSet<Ipv4Addr> = arps
        .iter()
        .filter(|(t, _)| *t < at_secs(STORM_START_SECS))
        .flat_map(|(_, a)| [a.sender_ip, a.target_ip])
        .collect();
    assert!(ips.is_disjoint(&earlier));
    assert_eq!(
        arps.iter().filter(|(_, a)| a.sender_ip == STORM.ip).count(),
        1
    );
}

#[test]
fn bruteforce_distributed_spreads_a_few_wrong_guesses_over_200_sources() {
    use bruteforce_distributed::*;
    let frames = bruteforce_distributed(1);
    let mut per_source: BTreeMap<Ipv4Addr, u64> = BTreeMap::new();
    let (mut forbidden, mut ok) = (0, 0);
    let (mut first, mut last) = (u64::MAX, 0);
    for f in &frames {
        let Some((src, _, dst, _, payload)) = udp(f) else {
            continue;
        };
        let (start, headers) = check_sip(&payload);
        let header = |n: &str| headers.iter().find(|h| h.0 == n).map(|h| h.1.clone());
        if start.starts_with("REGISTER") && header("Authorization").is_some() {
            assert_eq!(dst, REGISTRAR.ip);
            if src != PHONE.ip {
                *per_source.entry(src).or_default() += 1;
                first = first.min(f.ts_nanos);
                last = last.max(f.ts_nanos);
                assert!(
                    header("Authorization")
                        .unwrap()
                        .contains("username=\"1001\"")
                );
            }
        }
        forbidden += u64::from(start == "SIP/2.0 403 Forbidden");
        ok += u64::from(start == "SIP/2.0 200 OK");
    }
    assert_eq!(per_source.len() as u64, SOURCES);
    assert!(
        per_source
            .values()
            .all(|n| (1..=MAX_GUESSES_PER_SOURCE).contains(n))
    );
    let guesses: u64 = per_source.values().sum();
    assert_eq!(forbidden, guesses);
    assert_eq!(ok, 1, "the phone's registration");
    assert!((60 * SEC..DURATION_SECS * SEC).contains(&(last - first)));
    assert!(frames.last().unwrap().ts_nanos < START_NANOS + DURATION_SECS * SEC);
}

#[test]
fn flood_distributed_is_under_the_per_source_rate_and_over_the_per_target_rate() {
    use flood_distributed::*;
    let frames = flood_distributed(1);
    let mut per_second: BTreeMap<u64, u64> = BTreeMap::new();
    let mut per_source_second: BTreeMap<(Ipv4Addr, u64), u64> = BTreeMap::new();
    let mut tuples = BTreeSet::new();
    let (mut registers, mut challenges) = (0, 0);
    for f in &frames {
        let Some((src, sport, dst, _, payload)) = udp(f) else {
            continue;
        };
        let (start, _) = check_sip(&payload);
        if start.starts_with("REGISTER") {
            assert_eq!(dst, REGISTRAR.ip);
            let sec = (f.ts_nanos - START_NANOS) / SEC;
            assert!((FLOOD_START_SECS..FLOOD_END_SECS + 1).contains(&sec));
            *per_second.entry(sec).or_default() += 1;
            *per_source_second.entry((src, sec)).or_default() += 1;
            tuples.insert((src, sport));
            registers += 1;
        }
        challenges += u64::from(start == "SIP/2.0 401 Unauthorized");
    }
    assert_eq!(
        registers,
        SOURCES * RATE_PER_SOURCE * (FLOOD_END_SECS - FLOOD_START_SECS)
    );
    assert_eq!(challenges, registers);
    assert!(
        per_source_second
            .values()
            .all(|n| *n <= RATE_PER_SOURCE + 1)
    );
    let full: Vec<u64> = (FLOOD_START_SECS + 1..FLOOD_END_SECS)
        .map(|s| per_second[&s])
        .collect();
    assert!(full.iter().all(|n| *n >= 200), "{full:?}");
    assert!(
        tuples.len() as u64 > registers * 9 / 10,
        "a new port per request"
    );
    assert!(frames.last().unwrap().ts_nanos < START_NANOS + DURATION_SECS * SEC);
}

#[test]
fn syn_flood_rates_and_answers_match_the_docs() {
    use syn_flood::*;
    let frames = syn_flood(1);
    let segs: Vec<(u64, Tcp)> = frames
        .iter()
        .filter_map(|f| Some((f.ts_nanos, tcp(f)?)))
        .collect();
    let syn = |t: &Tcp| t.flags == packet::SYN;
    let flood1: Vec<&(u64, Tcp)> = segs
        .iter()
        .filter(|(_, t)| syn(t) && t.dst == (PBX.ip, 5060) && t.src.0.octets()[0] != 10)
        .collect();
    assert_eq!(
        flood1.len() as u64,
        FLOOD1_RATE * (FLOOD1_END_SECS - FLOOD1_START_SECS)
    );
    assert!(flood1.iter().all(|(ts, t)| {
        (at_secs(FLOOD1_START_SECS)..at_secs(FLOOD1_END_SECS)).contains(ts)
            && t.eth_src == GATEWAY.mac
    }));
    let sources: BTreeSet<Ipv4Addr> = flood1.iter().map(|(_, t)| t.src.0).collect();
    assert!(sources.len() > 14_000);
    let synacks = segs
        .iter()
        .filter(|(_, t)| t.flags == packet::SYN | packet::ACK && t.src == (PBX.ip, 5060))
        .count();
    let benign_syns = segs
        .iter()
        .filter(|(_, t)| syn(t) && t.src.0.octets()[0] == 10)
        .count() as u64;
    assert_eq!(benign_syns, BENIGN_PER_CLIENT * 10);
    assert_eq!(synacks as u64, flood1.len() as u64 + benign_syns);
    let flood2: Vec<&(u64, Tcp)> = segs
        .iter()
        .filter(|(_, t)| syn(t) && t.src.0 == FLOOD2_SOURCE)
        .collect();
    assert_eq!(
        flood2.len() as u64,
        FLOOD2_RATE * (FLOOD2_END_SECS - FLOOD2_START_SECS)
    );
    assert!(
        flood2
            .iter()
            .enumerate()
            .all(|(i, (_, t))| t.dst == (PBX.ip, FLOOD2_PORT)
                && t.src.1 == FLOOD2_FIRST_PORT + u16::try_from(i).unwrap())
    );
    let rsts = segs
        .iter()
        .filter(|(_, t)| t.flags == packet::RST | packet::ACK && t.src == (PBX.ip, FLOOD2_PORT))
        .count();
    assert_eq!(rsts, flood2.len());
    let registers = segs
        .iter()
        .filter(|(_, t)| t.payload.starts_with(b"REGISTER "))
        .count() as u64;
    assert_eq!(registers, BENIGN_PER_CLIENT * 10);
    let size = pcap_bytes(&frames).len();
    assert!(size < 3_000_000, "{size}");
}

/// Reassembles the client-to-server byte stream of every connection from sequence numbers.
fn client_streams(
    segs: &[(u64, Tcp)],
    server: (Ipv4Addr, u16),
) -> BTreeMap<(Ipv4Addr, u16), Vec<u8>> {
    let mut isn: BTreeMap<(Ipv4Addr, u16), u32> = BTreeMap::new();
    let mut data: BTreeMap<(Ipv4Addr, u16), BTreeMap<u32, Vec<u8>>> = BTreeMap::new();
    for (_, t) in segs.iter().filter(|(_, t)| t.dst == server) {
        if t.flags & packet::SYN != 0 {
            isn.insert(t.src, t.seq);
        } else if !t.payload.is_empty() {
            let off = t.seq.wrapping_sub(isn[&t.src]).wrapping_sub(1);
            data.entry(t.src)
                .or_default()
                .insert(off, t.payload.clone());
        }
    }
    data.into_iter()
        .map(|(k, pieces)| {
            let mut stream = Vec::new();
            for (off, p) in pieces {
                assert_eq!(off as usize, stream.len(), "gap in {k:?}");
                stream.extend(p);
            }
            (k, stream)
        })
        .collect()
}

#[test]
fn tcp_benign_connections_are_complete_and_reassemble_to_sip() {
    use tcp_benign::*;
    let frames = tcp_benign(1);
    let segs: Vec<(u64, Tcp)> = frames
        .iter()
        .filter_map(|f| Some((f.ts_nanos, tcp(f)?)))
        .collect();
    let syns = segs.iter().filter(|(_, t)| t.flags == packet::SYN).count() as u64;
    let synacks = segs
        .iter()
        .filter(|(_, t)| t.flags == packet::SYN | packet::ACK)
        .count() as u64;
    let fins = segs
        .iter()
        .filter(|(_, t)| t.flags & packet::FIN != 0)
        .count() as u64;
    assert_eq!(
        (syns, synacks, fins),
        (CONNECTIONS, CONNECTIONS, 2 * CONNECTIONS)
    );
    assert!(segs.iter().all(|(_, t)| t.flags & packet::RST == 0));
    let streams = client_streams(&segs, (PBX.ip, 5060));
    assert_eq!(streams.len() as u64, CONNECTIONS);
    let mut messages = 0;
    for stream in streams.values() {
        let mut rest: &[u8] = stream;
        while !rest.is_empty() {
            let text = std::str::from_utf8(rest).unwrap();
            let head_end = text.find("\r\n\r\n").unwrap() + 4;
            let cl: usize = text[..head_end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            check_sip(&rest[..head_end + cl]);
            rest = &rest[head_end + cl..];
            messages += 1;
        }
    }
    assert!(messages > usize::try_from(CONNECTIONS).unwrap());
    // The special connection: a segment that arrives after a later one, and one retransmitted segment.
    let port = FIRST_CLIENT_PORT + u16::try_from(SPECIAL_CONNECTION).unwrap();
    let client: Vec<&Tcp> = segs
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.src.1 == port && !t.payload.is_empty())
        .collect();
    assert!(
        client.windows(2).any(|w| w[1].seq < w[0].seq),
        "out-of-order segment"
    );
    let server: Vec<(u32, usize)> = segs
        .iter()
        .map(|(_, t)| t)
        .filter(|t| t.dst.1 == port && !t.payload.is_empty())
        .map(|t| (t.seq, t.payload.len()))
        .collect();
    let unique: BTreeSet<(u32, usize)> = server.iter().copied().collect();
    assert_eq!(server.len(), unique.len() + 1, "exactly one retransmission");
    assert!(
        segs.iter()
            .filter(|(_, t)| t.src.1 != port && t.dst.1 != port)
            .all(|(_, t)| t.src.1 == 5060 || t.dst.1 == 5060)
    );
}

#[test]
fn demo_mixes_everything_and_stays_small() {
    use demo::*;
    let frames = demo(1);
    assert!(pcap_bytes(&frames).len() < 2_000_000);
    assert!(frames.last().unwrap().ts_nanos < at_secs(DURATION_SECS));
    let arps: Vec<Arp> = frames.iter().filter_map(arp).collect();
    let spoofs = arps
        .iter()
        .filter(|a| a.sender_mac == ATTACKER.mac && a.sender_ip == PBX.ip)
        .count();
    assert_eq!(spoofs, 4);
    let syns = frames
        .iter()
        .filter_map(tcp)
        .filter(|t| t.flags == packet::SYN && t.eth_src == GATEWAY.mac)
        .count() as u64;
    assert_eq!(syns, FLOOD_RATE * (FLOOD_END_SECS - FLOOD_START_SECS));
    let invites = frames
        .iter()
        .filter_map(udp)
        .filter(|u| u.4.starts_with(b"INVITE "))
        .count();
    assert_eq!(invites, 2);
    assert!(
        frames
            .iter()
            .any(|f| packet::macs(&f.data).unwrap().0 == ATTACKER.mac
                && udp(f).is_some_and(|u| u.1 == 20000))
    );
    let icmp = frames
        .iter()
        .filter(|f| {
            matches!(
                SlicedPacket::from_ethernet(&f.data).unwrap().transport,
                Some(TransportSlice::Icmpv4(_))
            )
        })
        .count();
    assert!(icmp > 5);
    assert!(frames.iter().filter_map(udp).any(|u| u.3 == 123));
}

#[test]
fn bench_streams_the_requested_count_in_order_with_a_realistic_mix() {
    let n = 60_000;
    let mut count = 0usize;
    let mut bytes = 0usize;
    let mut prev = 0u64;
    let (mut arp_n, mut tcp_n, mut rtp_n, mut sip_n) = (0, 0, 0, 0);
    for f in bench(1, n) {
        assert!(f.ts_nanos >= prev);
        prev = f.ts_nanos;
        count += 1;
        bytes += f.data.len();
        let p = SlicedPacket::from_ethernet(&f.data).unwrap();
        match (&p.net, &p.transport) {
            (Some(NetSlice::Arp(_)), _) => arp_n += 1,
            (_, Some(TransportSlice::Tcp(_))) => tcp_n += 1,
            (_, Some(TransportSlice::Udp(u)))
                if u.source_port() == 5060 || u.destination_port() == 5060 =>
            {
                sip_n += 1
            }
            (_, Some(TransportSlice::Udp(u))) if u.payload().first() == Some(&0x80) => rtp_n += 1,
            _ => {}
        }
    }
    assert_eq!(count, n);
    let avg = bytes / n;
    assert!((170..=240).contains(&avg), "average frame {avg}");
    assert!(rtp_n > n * 3 / 4, "rtp {rtp_n}");
    assert!(arp_n > 0 && tcp_n > 0 && sip_n > 0);
}

#[test]
fn linktype_variants_carry_the_same_packets() {
    let base = linktypes::base_frames(1);
    assert_eq!(base.len(), linktypes::PACKETS);
    let lt = linktypes(1);
    for (variant, ids) in [
        (&lt.vlan, vec![linktypes::VLAN_ID]),
        (&lt.qinq, vec![linktypes::OUTER_VLAN_ID, linktypes::VLAN_ID]),
    ] {
        assert_eq!(variant.len(), 20);
        for (v, b) in variant.iter().zip(&base) {
            let p = SlicedPacket::from_ethernet(&v.data).unwrap();
            assert_eq!(
                p.vlan_ids().iter().map(|i| i.value()).collect::<Vec<_>>(),
                ids
            );
            assert_eq!(v.ts_nanos, b.ts_nanos);
        }
    }
    for f in &lt.sll {
        let p = SlicedPacket::from_linux_sll(&f.data).unwrap();
        assert!(p.net.is_some());
    }
    for (f, b) in lt.sll2.iter().zip(&base) {
        assert_eq!(&f.data[20..], &b.data[14..]);
        assert_eq!(&f.data[0..2], &b.data[12..14]);
    }
    assert_eq!(lt.raw.len(), 18);
    let mut pool: IpDefragPool<(), ()> = IpDefragPool::new();
    let mut reassembled = 0;
    for f in &lt.raw {
        let p = SlicedPacket::from_ip(&f.data).unwrap();
        if p.is_ip_payload_fragmented() && pool.process_sliced_packet(&p, (), ()).unwrap().is_some()
        {
            reassembled += 1;
        }
    }
    assert_eq!(reassembled, 2, "one IPv4 and one IPv6 fragmented datagram");
    let hbh = lt
        .raw
        .iter()
        .filter(|f| f.data[0] >> 4 == 6 && f.data[6] == packet::IPPROTO_HOPOPTS)
        .count();
    assert_eq!(hbh, 1);
    assert_eq!(lt.multi.iter().filter(|(i, _)| *i == 0).count(), 10);
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.add_interface(LINKTYPE_ETHERNET, 6).unwrap();
    w.add_interface(crate::pcap::LINKTYPE_LINUX_SLL, 9).unwrap();
    for (i, f) in &lt.multi {
        w.write(*i, f).unwrap();
    }
    assert!(!w.into_inner().unwrap().is_empty());
}

#[test]
fn committed_captures_match_the_generator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tmp = std::env::temp_dir().join(format!("callguard-gen-check-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for name in crate::CAPTURES {
        let file = crate::file_name(name);
        let committed = std::fs::read(dir.join(&file))
            .unwrap_or_else(|e| panic!("pcaps/{file} is missing ({e}); run `cargo run -p callguard-gen --release -- all --out pcaps`"));
        crate::write_capture(name, crate::DEFAULT_SEED, &tmp.join(&file)).unwrap();
        let fresh = std::fs::read(tmp.join(&file)).unwrap();
        assert!(
            committed == fresh,
            "pcaps/{file} differs from the generator's output; run `cargo run -p callguard-gen --release -- all --out pcaps` and commit"
        );
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|h| h.0 == name).map(|h| h.1.as_str())
}

#[test]
fn busy_trunk_is_a_busy_trunk_at_the_documented_rates_with_challenges_rebinding_and_retransmissions()
 {
    use busy_trunk::*;
    let frames = busy_trunk(1);
    let sec_of = |ts: u64| (ts - START_NANOS) / SEC;
    let mut carrier_per_sec: BTreeMap<u64, u64> = BTreeMap::new();
    let mut invite_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut invite_retransmissions = 0;
    let mut dids = BTreeSet::new();
    let mut pbx_attempts = 0;
    let (mut reg_plain, mut reg_cred, mut challenges_401, mut reg_ok) = (0u64, 0u64, 0u64, 0u64);
    let mut reg_branches = BTreeSet::new();
    let mut ports_of_user: BTreeMap<String, BTreeSet<(Ipv4Addr, u16)>> = BTreeMap::new();
    let mut proxy_challenged_calls = BTreeSet::new();
    let mut credential_retries = BTreeSet::new();
    for f in &frames {
        let Some((src, sport, _dst, _dport, payload)) = udp(f) else {
            panic!("busy-trunk carries only SIP over UDP");
        };
        let (start, headers) = check_sip(&payload);
        let branch = header(&headers, "Via")
            .unwrap()
            .split("branch=")
            .nth(1)
            .unwrap();
        let branch = branch.split(';').next().unwrap().to_owned();
        let call_id = header(&headers, "Call-ID").unwrap().to_owned();
        let cseq = header(&headers, "CSeq").unwrap();
        assert!(
            !start.contains(" 404 ") && !start.contains(" 403 "),
            "{start}"
        );
        if start.starts_with("INVITE ") {
            if let Some(&first) = invite_seen.get(&branch) {
                // Timer A: the copy goes T1 after the original, never a third time.
                assert_eq!(f.ts_nanos - first, 500 * MS, "retransmission of {branch}");
                invite_retransmissions += 1;
                continue;
            }
            invite_seen.insert(branch, f.ts_nanos);
            if src == CARRIER.ip {
                *carrier_per_sec.entry(sec_of(f.ts_nanos)).or_default() += 1;
                let user = start.split(['+', '@']).nth(1).unwrap();
                let did: u64 = user.parse().unwrap();
                assert!((DID_FIRST..=DID_LAST).contains(&did), "{start}");
                dids.insert(did);
            } else if header(&headers, "Proxy-Authorization").is_some() {
                credential_retries.insert(call_id);
            } else {
                pbx_attempts += 1;
            }
        } else if start.starts_with("REGISTER ") {
            let user = header(&headers, "To")
                .unwrap()
                .split([':', '@'])
                .nth(1)
                .unwrap();
            ports_of_user
                .entry(user.to_owned())
                .or_default()
                .insert((src, sport));
            if !reg_branches.insert(branch) {
                continue;
            }
            if header(&headers, "Authorization").is_some() {
                reg_cred += 1;
            } else {
                reg_plain += 1;
            }
        } else if start.starts_with("SIP/2.0 401") {
            challenges_401 += 1;
        } else if start.starts_with("SIP/2.0 407") {
            proxy_challenged_calls.insert(call_id);
        } else if start.starts_with("SIP/2.0 200") && cseq.ends_with("REGISTER") {
            reg_ok += 1;
        }
    }
    // The carrier's attempts follow the documented profile second by second: a real trunk's peak, not a flood.
    for s in 0..DURATION_SECS {
        assert_eq!(
            carrier_per_sec.get(&s).copied().unwrap_or(0),
            carrier_rate(s),
            "second {s}"
        );
    }
    assert_eq!(carrier_per_sec.values().max(), Some(&CARRIER_PEAK_RATE));
    let carrier_attempts: u64 = carrier_per_sec.values().sum();
    assert!(
        carrier_attempts + pbx_attempts > 2000,
        "{carrier_attempts} + {pbx_attempts}"
    );
    assert!(dids.len() > 1000, "{} distinct DIDs", dids.len());
    // Every PBX INVITE is challenged and sent again with credentials in the same Call-ID (but the last
    // attempts, whose answers fall after the end of the capture).
    let challenged = proxy_challenged_calls.len() as u64;
    assert!(challenged <= pbx_attempts && pbx_attempts - challenged <= 2);
    assert!(credential_retries.is_subset(&proxy_challenged_calls));
    assert!(challenged - credential_retries.len() as u64 <= 2);
    // Every registration: challenge, then success; a few REGISTERs and INVITEs are retransmitted.
    assert_eq!(reg_plain, reg_cred);
    assert_eq!(challenges_401, reg_plain);
    assert_eq!(reg_ok, reg_cred);
    assert!(reg_plain >= 2 * PHONES, "{reg_plain} registrations");
    assert!(invite_retransmissions > 10, "{invite_retransmissions}");
    // NAT: 50 phones per public address, and some re-register from a new public port.
    assert_eq!(ports_of_user.len() as u64, PHONES);
    for nat in NATS {
        let users = ports_of_user
            .values()
            .filter(|ports| ports.iter().all(|p| p.0 == nat.ip))
            .count();
        assert_eq!(users, 50, "{}", nat.ip);
    }
    let rebound = ports_of_user.values().filter(|p| p.len() > 1).count();
    assert!(rebound > 10 && rebound < 100, "{rebound} phones rebound");
}
