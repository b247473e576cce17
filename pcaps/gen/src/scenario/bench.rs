//! The benchmark capture: a stream of any length with a realistic mix, generated on the fly so millions of
//! frames never sit in memory.
//!
//! - Network 10.10.0.0/16: PBXes [`PBX_COUNT`] at 10.10.0.1-4 (MAC 02:00:00:00:0a:0N), gateway and DNS
//!   10.10.0.254 (MAC 02:00:00:00:0a:fe), [`PHONE_COUNT`] phones 10.10.H.L (H 1-20, L 1-250, MAC
//!   02:00:0a:0a:H:L).
//! - [`CONCURRENT_CALLS`] calls at all times (a call that ends is replaced 0-2 s later): UDP SIP
//!   (INVITE/100/180/200/ACK ... BYE/200), ring 0.5-4 s, talk 10-60 s, RTP every 20 ms each way with
//!   codec PCMU 80 %, G.729 10 %, Opus 10 %. RTP is most of the packets.
//! - Every 50-250 ms a SIP REGISTER over TCP (full handshake and FIN close); every 20-80 ms an ARP
//!   exchange; every 5-30 ms a noise exchange: DNS (40 %), SIP OPTIONS keep-alive over UDP from a PBX
//!   (30 %), NTP (15 %), ICMP echo (15 %).
//! - The average frame is about 190 bytes (191 over 10^6 frames with seed 1); 10^6 frames take about
//!   0.5 s and 3 MB of memory to generate.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

use super::common::{
    Call, CallSpec, SIP_PORT, TcpSpec, arp_exchange, dns_exchange, ntp_exchange, ping,
    register_over_tcp, send_udp, tcp_session,
};
use super::{Host, MS, SEC, START_NANOS, US};
use crate::packet::host_mac2;
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::{self, Codec, Message, USER_AGENTS};

/// Number of PBXes.
pub const PBX_COUNT: u8 = 4;
/// Number of phones.
pub const PHONE_COUNT: u32 = 5000;
/// Calls in progress at any time.
pub const CONCURRENT_CALLS: usize = 120;
/// Gateway and DNS server.
pub const GATEWAY: Host = Host::new(host_mac2(0x0a, 0xfe), Ipv4Addr::new(10, 10, 0, 254));

/// PBX `i` (0-based).
fn pbx(i: u8) -> Host {
    Host::new(host_mac2(0x0a, i + 1), Ipv4Addr::new(10, 10, 0, i + 1))
}

/// Phone `i` (0-based, below [`PHONE_COUNT`]).
fn phone(i: u32) -> Host {
    let h = u8::try_from(1 + i / 250).unwrap_or(1);
    let l = u8::try_from(1 + i % 250).unwrap_or(1);
    Host::new([0x02, 0x00, 0x0a, 0x0a, h, l], Ipv4Addr::new(10, 10, h, l))
}

/// A frame waiting in time order; `seq` keeps frames with equal stamps in the order they were made.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    ts: u64,
    seq: u64,
    data: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Call,
    Tcp,
    Arp,
    Noise,
}

#[derive(Debug)]
enum Actor {
    Call(Box<Call>),
    Tcp,
    Arp,
    Noise,
}

/// Iterator over the benchmark frames, in time order. Made by [`bench()`].
#[derive(Debug)]
pub struct Bench {
    rng: Rng,
    remaining: usize,
    actors: Vec<Actor>,
    wake: BinaryHeap<Reverse<(u64, usize)>>,
    outbox: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    scratch: Vec<Frame>,
    pbx_ports: [u16; PBX_COUNT as usize],
    tcp_port: u16,
}

/// `packets` frames of the benchmark mix, streamed.
pub fn bench(seed: u64, packets: usize) -> Bench {
    let mut b = Bench {
        rng: Rng::new(seed ^ 0xbe7c_0007),
        remaining: packets,
        actors: Vec::with_capacity(CONCURRENT_CALLS + 3),
        wake: BinaryHeap::new(),
        outbox: BinaryHeap::new(),
        seq: 0,
        scratch: Vec::new(),
        pbx_ports: [10000; PBX_COUNT as usize],
        tcp_port: 32768,
    };
    for _ in 0..CONCURRENT_CALLS {
        let start = START_NANOS + b.rng.range(0, 5 * SEC);
        let talk = b.rng.range(SEC, 60 * SEC);
        let call = b.new_call(start, talk);
        b.schedule(Actor::Call(Box::new(call)));
    }
    b.schedule_at(START_NANOS + 10 * MS, Actor::Tcp);
    b.schedule_at(START_NANOS + 5 * MS, Actor::Arp);
    b.schedule_at(START_NANOS + MS, Actor::Noise);
    b
}

impl Bench {
    fn new_call(&mut self, start: u64, talk: u64) -> Call {
        let rng = &mut self.rng;
        let idx = u32::try_from(rng.below(u64::from(PHONE_COUNT))).unwrap_or(0);
        let p = u8::try_from(idx % u32::from(PBX_COUNT)).unwrap_or(0);
        let port = self
            .pbx_ports
            .get_mut(usize::from(p))
            .map_or(10000, |next| {
                let port = *next;
                *next = if port >= 59_998 { 10000 } else { port + 2 };
                port
            });
        let codec = match rng.below(10) {
            0 => Codec::G729,
            1 => Codec::Opus,
            _ => Codec::Pcmu,
        };
        let spec = CallSpec {
            caller: phone(idx),
            callee: pbx(p),
            caller_user: format!("{}", 10_000 + idx),
            callee_user: format!("{}", rng.range(2000, 9999)),
            caller_rtp_port: 16384 + 2 * rng.range_u16(0, 8000),
            callee_rtp_port: port,
            codec,
            start,
            ring: rng.range(500 * MS, 4 * SEC),
            talk,
            invite_ip_len: None,
            caller_hangs_up: rng.percent(50),
            user_agent: rng.pick(USER_AGENTS).copied().unwrap_or(""),
        };
        Call::new(spec, rng.fork(u64::from(idx)))
    }

    fn schedule(&mut self, actor: Actor) {
        if let Actor::Call(c) = &actor
            && let Some(t) = c.wakeup()
        {
            self.schedule_at(t, actor);
        }
    }

    fn schedule_at(&mut self, t: u64, actor: Actor) {
        let idx = self.actors.len();
        self.actors.push(actor);
        self.wake.push(Reverse((t, idx)));
    }

    /// Steps the call in slot `idx`; when it has ended, puts a new call in its place.
    fn step_call(&mut self, t: u64, idx: usize, out: &mut Vec<Frame>) -> Option<u64> {
        let Some(Actor::Call(call)) = self.actors.get_mut(idx) else {
            return None;
        };
        call.step(out);
        if let Some(w) = call.wakeup() {
            return Some(w);
        }
        let start = t + self.rng.range(0, 2 * SEC);
        let talk = self.rng.range(10 * SEC, 60 * SEC);
        let fresh = self.new_call(start, talk);
        let w = fresh.wakeup();
        if let Some(slot) = self.actors.get_mut(idx) {
            *slot = Actor::Call(Box::new(fresh));
        }
        w
    }

    fn random_phone(&mut self) -> Host {
        phone(u32::try_from(self.rng.below(u64::from(PHONE_COUNT))).unwrap_or(0))
    }

    /// Runs actor `idx`, due at `t`, and reschedules it.
    fn run(&mut self, t: u64, idx: usize) {
        let mut out = std::mem::take(&mut self.scratch);
        let kind = self.actors.get(idx).map(|a| match a {
            Actor::Call(_) => Kind::Call,
            Actor::Tcp => Kind::Tcp,
            Actor::Arp => Kind::Arp,
            Actor::Noise => Kind::Noise,
        });
        let next = match kind {
            Some(Kind::Call) => self.step_call(t, idx, &mut out),
            Some(Kind::Tcp) => {
                let client = self.random_phone();
                let server = pbx(u8::try_from(self.rng.below(u64::from(PBX_COUNT))).unwrap_or(0));
                self.tcp_port = if self.tcp_port >= 60_999 {
                    32768
                } else {
                    self.tcp_port + 1
                };
                let ua = self.rng.pick(USER_AGENTS).copied().unwrap_or("");
                let user = format!("{}", 10_000 + u32::from(client.ip.octets()[2]) * 250);
                let ex = register_over_tcp(client, self.tcp_port, server, &user, ua, &mut self.rng);
                let spec = TcpSpec {
                    client,
                    client_port: self.tcp_port,
                    server,
                    server_port: SIP_PORT,
                    start: t,
                    exchanges: vec![ex],
                    max_pieces: 2,
                    out_of_order: false,
                    retransmit: false,
                };
                tcp_session(&spec, &mut self.rng, &mut out);
                Some(t + self.rng.range(50 * MS, 250 * MS))
            }
            Some(Kind::Arp) => {
                let me = self.random_phone();
                let other = if self.rng.percent(50) {
                    GATEWAY
                } else {
                    pbx(u8::try_from(self.rng.below(u64::from(PBX_COUNT))).unwrap_or(0))
                };
                let unicast = self.rng.percent(70);
                arp_exchange(&mut out, t, me, other, unicast, &mut self.rng);
                Some(t + self.rng.range(20 * MS, 80 * MS))
            }
            Some(Kind::Noise) => {
                let me = self.random_phone();
                match self.rng.below(100) {
                    0..40 => dns_exchange(&mut out, t, me, GATEWAY, &mut self.rng),
                    40..70 => {
                        let server =
                            pbx(u8::try_from(self.rng.below(u64::from(PBX_COUNT))).unwrap_or(0));
                        options_keepalive(&mut out, t, server, me, &mut self.rng);
                    }
                    70..85 => ntp_exchange(&mut out, t, me, GATEWAY, &mut self.rng),
                    _ => ping(&mut out, t, me, GATEWAY, true, &mut self.rng),
                }
                Some(t + self.rng.range(5 * MS, 30 * MS))
            }
            None => None,
        };
        for f in out.drain(..) {
            self.seq += 1;
            self.outbox.push(Reverse(Pending {
                ts: f.ts_nanos,
                seq: self.seq,
                data: f.data,
            }));
        }
        self.scratch = out;
        if let Some(w) = next {
            self.wake.push(Reverse((w.max(t), idx)));
        }
    }
}

/// A PBX's OPTIONS keep-alive to a phone over UDP and the phone's 200 OK.
fn options_keepalive(out: &mut Vec<Frame>, t: u64, server: Host, phone: Host, rng: &mut Rng) {
    let branch = sip::branch(rng);
    let tag = rng.hex(8);
    let call_id = format!("{}@{}:{SIP_PORT}", rng.hex(16), server.ip);
    let via = format!("SIP/2.0/UDP {}:{SIP_PORT};branch={branch};rport", server.ip);
    let req = Message::request("OPTIONS", &format!("sip:{}:{SIP_PORT}", phone.ip))
        .header("Via", via.clone())
        .header("Max-Forwards", "70")
        .header(
            "From",
            format!("\"asterisk\" <sip:asterisk@{}>;tag=as{tag}", server.ip),
        )
        .header("To", format!("<sip:{}:{SIP_PORT}>", phone.ip))
        .header(
            "Contact",
            format!("<sip:asterisk@{}:{SIP_PORT}>", server.ip),
        )
        .header("Call-ID", call_id.clone())
        .header("CSeq", "102 OPTIONS")
        .header("User-Agent", sip::SERVER)
        .into_bytes();
    let resp = Message::response(200, "OK")
        .header("Via", format!("{via}={SIP_PORT};received={}", server.ip))
        .header(
            "From",
            format!("\"asterisk\" <sip:asterisk@{}>;tag=as{tag}", server.ip),
        )
        .header(
            "To",
            format!("<sip:{}:{SIP_PORT}>;tag={}", phone.ip, rng.hex(10)),
        )
        .header("Call-ID", call_id)
        .header("CSeq", "102 OPTIONS")
        .header("Allow", sip::ALLOW)
        .into_bytes();
    send_udp(out, t, (server, SIP_PORT), (phone, SIP_PORT), &req, rng);
    let back = t + rng.range(500 * US, 5 * MS);
    send_udp(out, back, (phone, SIP_PORT), (server, SIP_PORT), &resp, rng);
}

impl Iterator for Bench {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        loop {
            if self.remaining == 0 {
                return None;
            }
            let next_wake = self.wake.peek().map(|Reverse((t, _))| *t);
            let ready = match (self.outbox.peek(), next_wake) {
                (Some(Reverse(p)), Some(w)) => p.ts <= w,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if ready && let Some(Reverse(p)) = self.outbox.pop() {
                self.remaining -= 1;
                return Some(Frame::new(p.ts, p.data));
            }
            let Reverse((t, idx)) = self.wake.pop()?;
            self.run(t, idx);
        }
    }
}
