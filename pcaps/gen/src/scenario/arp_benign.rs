//! `arp-benign.pcap`: ten minutes of ordinary ARP on 10.0.1.0/24 with every benign event that looks a bit
//! like spoofing. Nothing here is an attack; a detector that fires on it has a false positive.
//!
//! - [`GATEWAY`] 10.0.1.1 and hosts 10.0.1.10-30 (MAC `02:00:00:00:00:NN`, NN = last octet). Each host
//!   resolves its gateway (broadcast) when it starts, then re-validates every 30-60 s (unicast to the
//!   cached MAC 70 % of the time, broadcast otherwise); the gateway re-validates hosts 10-25 the same way.
//!   Hosts 11-16 also resolve the file server 10.0.1.10 every 60-120 s. Every request is answered.
//! - Boot: hosts [`BOOT_HOSTS`] are silent until their boot time, then send exactly one gratuitous ARP
//!   (kernel style: request, sender IP = target IP, target MAC zero, Ethernet broadcast).
//! - DHCP re-address: [`READDRESSED_IP`] 10.0.1.25 at [`MAC_A`] is last heard at [`MAC_A_LAST_SECS`]; the
//!   gateway asks for it three times, unanswered, at 230-232 s; at [`PROBE_SECS`] it appears at [`MAC_B`]
//!   with three RFC 5227 probes (sender IP 0.0.0.0) 1.5 s apart, then two announcements 2 s apart, then
//!   ordinary traffic. `MAC_A` never comes back.
//! - VRRP (RFC 3768): [`VIRTUAL_IP`] 10.0.1.254 at [`VIRTUAL_MAC`] 00:00:5e:00:01:01, VRID 1; master
//!   [`ROUTER_1`] 10.0.1.2 advertises every second at `s + 250 ms` (Ethernet source = virtual MAC, destination
//!   01:00:5e:00:00:12, IP 224.0.0.18, TTL 255) until 299.25 s; backup
//!   [`ROUTER_2`] 10.0.1.3 takes over at [`VRRP_FAILOVER_MILLIS`] with one gratuitous ARP (request, target
//!   MAC ff:ff:ff:ff:ff:ff) for the virtual IP from the same virtual MAC, then advertises. Hosts 26-30 use
//!   the virtual router: they resolve 10.0.1.254 (answered from the virtual MAC) and send NTP through it.
//! - NIC replaced once: [`CLUSTER_IP`] 10.0.1.253 is answered by [`CLUSTER_MAC_1`] (P1) for hosts 20-24
//!   until [`CLUSTER_TAKEOVER_SECS`]; then [`CLUSTER_MAC_2`] (P2) sends one gratuitous ARP reply (op 2,
//!   target MAC = its own, broadcast, as `arping -A` does) and answers from then on. P1 is never heard
//!   again.
//! - Background IPv4 UDP: DNS to 10.0.1.1 every 5-30 s and NTP every 64 s per host.

use std::net::Ipv4Addr;

use super::common::{arp_exchange, arp_request, dns_exchange, gratuitous_request, ntp_exchange};
use super::{Host, MS, SEC, START_NANOS, US, at_millis, at_secs, sorted};
use crate::packet::{
    ARP_REPLY, ARP_REQUEST, BROADCAST, IPPROTO_VRRP, Mac, ZERO_MAC, arp_frame, host_mac, host_mac2,
    internet_checksum, ip_frame, ipv4_packet,
};
use crate::pcap::Frame;
use crate::rng::Rng;

/// The default gateway, 10.0.1.1, MAC 02:00:00:00:00:01.
pub const GATEWAY: Host = Host::v4(10, 0, 1, 1);
/// First and last host number (10.0.1.10 to 10.0.1.30).
pub const HOST_RANGE: (u8, u8) = (10, 30);
/// Hosts that boot during the capture, with their boot time in seconds (one gratuitous ARP each).
pub const BOOT_HOSTS: [(u8, u64); 3] = [(12, 20), (17, 45), (22, 70)];
/// The address that changes MAC through DHCP.
pub const READDRESSED_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 25);
/// 10.0.1.25's MAC before (02:00:00:00:00:19).
pub const MAC_A: Mac = host_mac(0x19);
/// 10.0.1.25's MAC after (02:00:00:00:01:19).
pub const MAC_B: Mac = host_mac2(0x01, 0x19);
/// Last second in which MAC A sends anything.
pub const MAC_A_LAST_SECS: u64 = 180;
/// Time of MAC B's first RFC 5227 probe (seconds); probes at +0, +1.5, +3 s, announcements at +5, +7 s.
pub const PROBE_SECS: u64 = 500;
/// VRRP virtual router IP.
pub const VIRTUAL_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 254);
/// VRRP virtual MAC for VRID 1.
pub const VIRTUAL_MAC: Mac = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x01];
/// VRRP master (physical address).
pub const ROUTER_1: Host = Host::v4(10, 0, 1, 2);
/// VRRP backup (physical address).
pub const ROUTER_2: Host = Host::v4(10, 0, 1, 3);
/// Last advertisement of the master (seconds).
pub const MASTER_LAST_ADVERT_SECS: u64 = 299;
/// When the backup takes over and sends its gratuitous ARP: the master's last advertisement (299.25 s) plus
/// Master_Down_Interval (3 * 1 s + (256 - 100) / 256 s = 3.61 s). Its adverts follow every second.
pub const VRRP_FAILOVER_MILLIS: u64 = 302_860;
/// The failover-pair address announced from physical MACs.
pub const CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 253);
/// P1, 02:00:00:00:00:fd.
pub const CLUSTER_MAC_1: Mac = host_mac(0xfd);
/// P2, 02:00:00:00:01:fd.
pub const CLUSTER_MAC_2: Mac = host_mac2(0x01, 0xfd);
/// When P2 takes over 10.0.1.253 (seconds).
pub const CLUSTER_TAKEOVER_SECS: u64 = 360;
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 600;

/// The remote NTP server hosts 26-30 reach through the virtual router.
const REMOTE_NTP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 123);

/// Active periods of host `n`: (from, to, MAC).
fn periods(n: u8) -> Vec<(u64, u64, Mac)> {
    let end = at_secs(DURATION_SECS);
    if n == 25 {
        return vec![
            (START_NANOS, at_secs(MAC_A_LAST_SECS), MAC_A),
            (at_secs(PROBE_SECS + 7) + 500 * MS, end, MAC_B),
        ];
    }
    let boot = BOOT_HOSTS
        .iter()
        .find(|b| b.0 == n)
        .map_or(START_NANOS, |b| at_secs(b.1) + 400 * MS);
    vec![(boot, end, host_mac(n))]
}

/// The VRRP virtual router as seen from the LAN.
fn virtual_router() -> Host {
    Host::new(VIRTUAL_MAC, VIRTUAL_IP)
}

/// A VRRPv2 advertisement from `router` (priority `prio`) for VRID 1.
fn vrrp_advert(ts: u64, router: Host, prio: u8) -> Frame {
    let ip = VIRTUAL_IP.octets();
    let mut msg = vec![
        0x21, 1, prio, 1, 0, 1, 0, 0, ip[0], ip[1], ip[2], ip[3], 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let c = internet_checksum(&msg).to_be_bytes();
    if let Some(sum) = msg.get_mut(6..8) {
        sum.copy_from_slice(&c);
    }
    let pkt = ipv4_packet(
        router.ip,
        Ipv4Addr::new(224, 0, 0, 18),
        IPPROTO_VRRP,
        255,
        &msg,
    );
    Frame::new(
        ts,
        ip_frame(VIRTUAL_MAC, [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12], &pkt),
    )
}

/// Ten minutes of benign ARP, sorted by time.
pub fn arp_benign(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0xa4b0_0002);
    let mut out = Vec::new();
    let end = at_secs(DURATION_SECS);

    // Routers ARP as themselves once, then VRRP adverts.
    arp_exchange(&mut out, START_NANOS, ROUTER_1, GATEWAY, false, &mut rng);
    arp_exchange(&mut out, at_millis(200), ROUTER_2, GATEWAY, false, &mut rng);
    for s in 0..=MASTER_LAST_ADVERT_SECS {
        out.push(vrrp_advert(
            at_secs(s) + 250 * MS + rng.range(0, 2 * MS),
            ROUTER_1,
            200,
        ));
    }
    let failover = at_millis(VRRP_FAILOVER_MILLIS);
    out.push(Frame::new(
        failover,
        arp_frame(
            VIRTUAL_MAC,
            BROADCAST,
            ARP_REQUEST,
            VIRTUAL_MAC,
            VIRTUAL_IP,
            BROADCAST,
            VIRTUAL_IP,
        ),
    ));
    let mut t = failover + 50 * US;
    while t < end {
        out.push(vrrp_advert(t, ROUTER_2, 100));
        t += SEC + rng.range(0, 2 * MS);
    }

    // Boot-time gratuitous ARPs, one each.
    for &(n, secs) in &BOOT_HOSTS {
        gratuitous_request(&mut out, at_secs(secs), Host::v4(10, 0, 1, n));
    }

    // 10.0.1.25 moves from MAC A to MAC B: the gateway's unanswered retries, then RFC 5227.
    for k in 0..3 {
        arp_request(
            &mut out,
            at_secs(230 + k),
            GATEWAY,
            READDRESSED_IP,
            BROADCAST,
        );
    }
    for k in 0..3 {
        let ts = at_secs(PROBE_SECS) + k * 1500 * MS;
        let probe = arp_frame(
            MAC_B,
            BROADCAST,
            ARP_REQUEST,
            MAC_B,
            Ipv4Addr::UNSPECIFIED,
            ZERO_MAC,
            READDRESSED_IP,
        );
        out.push(Frame::new(ts, probe));
    }
    for k in 0..2 {
        gratuitous_request(
            &mut out,
            at_secs(PROBE_SECS + 5 + 2 * k),
            Host::new(MAC_B, READDRESSED_IP),
        );
    }

    // P2 takes over 10.0.1.253 with one gratuitous reply.
    out.push(Frame::new(
        at_secs(CLUSTER_TAKEOVER_SECS),
        arp_frame(
            CLUSTER_MAC_2,
            BROADCAST,
            ARP_REPLY,
            CLUSTER_MAC_2,
            CLUSTER_IP,
            CLUSTER_MAC_2,
            CLUSTER_IP,
        ),
    ));
    let cluster = |ts: u64| {
        let mac = if ts < at_secs(CLUSTER_TAKEOVER_SECS) {
            CLUSTER_MAC_1
        } else {
            CLUSTER_MAC_2
        };
        Host::new(mac, CLUSTER_IP)
    };

    for n in HOST_RANGE.0..=HOST_RANGE.1 {
        let mut hrng = rng.fork(u64::from(n));
        for (from, to, mac) in periods(n) {
            let me = Host::new(mac, Ipv4Addr::new(10, 0, 1, n));
            let uses_vrrp = n >= 26;
            let router = if uses_vrrp { virtual_router() } else { GATEWAY };
            // Resolve the router at start, then re-validate every 30-60 s.
            let mut t = from + hrng.range(100 * MS, 3 * SEC);
            let mut first = true;
            while t < to {
                let unicast = !first && hrng.percent(70);
                arp_exchange(&mut out, t, me, router, unicast, &mut hrng);
                first = false;
                t += hrng.range(30 * SEC, 60 * SEC);
            }
            // The gateway re-validates the hosts it talks to (not during 10.0.1.25's silence).
            if !uses_vrrp {
                let mut t = from + hrng.range(5 * SEC, 40 * SEC);
                while t < to {
                    arp_exchange(&mut out, t, GATEWAY, me, true, &mut hrng);
                    t += hrng.range(30 * SEC, 60 * SEC);
                }
            }
            if (11..=16).contains(&n) {
                let server = Host::v4(10, 0, 1, 10);
                let mut t = from + hrng.range(10 * SEC, 60 * SEC);
                while t < to {
                    arp_exchange(&mut out, t, me, server, false, &mut hrng);
                    t += hrng.range(60 * SEC, 120 * SEC);
                }
            }
            if (20..=24).contains(&n) {
                let mut t = from + hrng.range(5 * SEC, 40 * SEC);
                while t < to {
                    arp_exchange(&mut out, t, me, cluster(t), false, &mut hrng);
                    t += hrng.range(40 * SEC, 80 * SEC);
                }
            }
            // Background UDP: DNS to the gateway, NTP (through the virtual router for hosts 26-30).
            let mut t = from + hrng.range(SEC, 10 * SEC);
            while t + 5 * MS < to {
                dns_exchange(&mut out, t, me, GATEWAY, &mut hrng);
                t += hrng.range(5 * SEC, 30 * SEC);
            }
            let ntp_server = if uses_vrrp {
                Host::new(VIRTUAL_MAC, REMOTE_NTP)
            } else {
                GATEWAY
            };
            let mut t = from + hrng.range(2 * SEC, 20 * SEC);
            while t + 5 * MS < to {
                ntp_exchange(&mut out, t, me, ntp_server, &mut hrng);
                t += 64 * SEC + hrng.range(0, 200 * MS);
            }
        }
    }
    sorted(out)
}
