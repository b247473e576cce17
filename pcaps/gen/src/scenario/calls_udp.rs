//! `calls-udp.pcap`: five overlapping SIP calls over UDP 5060 between phones and a PBX, each with about
//! five seconds of bidirectional G.711 mu-law RTP; the third call's INVITE is ~3000 bytes and travels as
//! three IPv4 fragments.
//!
//! At `START + 10i ms` phone `i` resolves the PBX by ARP (broadcast request, reply). Per call `i` (0..5): phone [`PHONES`]`[i]` (user `1001+i`) calls `200{i+1}` at the [`PBX`]; INVITE at
//! `START + 1 s + i * 1.5 s` (+0-200 ms), 100 Trying, 180 Ringing, 200 OK with SDP after 1.0-2.0 s, ACK,
//! then [`RTP_PACKETS_PER_DIRECTION`] RTP packets each way (20 ms, 160-byte PCMU, marker on the first),
//! phone port [`PHONE_RTP_BASE`]` + 2i`, PBX port [`PBX_RTP_BASE`]` + 2i`, then BYE (calls 0, 2, 4 from
//! the phone, 1 and 3 from the PBX) and 200 OK. Everything ends before `START + 16 s`.

use super::common::{CallSpec, arp_exchange, call_frames};
use super::{Host, MS, SEC, START_NANOS, sorted};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::{Codec, USER_AGENTS};

/// The PBX, 10.0.0.1, MAC 02:00:00:00:00:01.
pub const PBX: Host = Host::v4(10, 0, 0, 1);
/// The phones 10.0.0.11-15, MACs 02:00:00:00:00:0b-0f.
pub const PHONES: [Host; 5] = [
    Host::v4(10, 0, 0, 11),
    Host::v4(10, 0, 0, 12),
    Host::v4(10, 0, 0, 13),
    Host::v4(10, 0, 0, 14),
    Host::v4(10, 0, 0, 15),
];
/// Number of calls.
pub const CALLS: usize = 5;
/// The call (index into [`PHONES`]) whose INVITE is fragmented.
pub const FRAGMENTED_CALL: usize = 2;
/// Size of the fragmented INVITE's IP datagram (at least this, below this + 100).
pub const BIG_INVITE_IP_LEN: usize = 3000;
/// RTP port of phone `i` is this plus `2 * i`.
pub const PHONE_RTP_BASE: u16 = 20000;
/// RTP port of the PBX for call `i` is this plus `2 * i`.
pub const PBX_RTP_BASE: u16 = 30000;
/// RTP packets sent by each side of each call (5 s at 20 ms).
pub const RTP_PACKETS_PER_DIRECTION: u64 = 250;

/// The spec of call `i`.
fn spec(i: usize, rng: &mut Rng) -> Option<CallSpec> {
    let phone = *PHONES.get(i)?;
    let n = u64::try_from(i).ok()?;
    let port_offset = u16::try_from(2 * i).ok()?;
    Some(CallSpec {
        caller: phone,
        callee: PBX,
        caller_user: format!("{}", 1001 + n),
        callee_user: format!("{}", 2001 + n),
        caller_rtp_port: PHONE_RTP_BASE + port_offset,
        callee_rtp_port: PBX_RTP_BASE + port_offset,
        codec: Codec::Pcmu,
        start: START_NANOS + SEC + n * 1500 * MS + rng.range(0, 200 * MS),
        ring: rng.range(SEC, 2 * SEC),
        talk: RTP_PACKETS_PER_DIRECTION * 20 * MS,
        invite_ip_len: (i == FRAGMENTED_CALL).then_some(BIG_INVITE_IP_LEN),
        caller_hangs_up: i.is_multiple_of(2),
        user_agent: USER_AGENTS
            .get(i % USER_AGENTS.len())
            .copied()
            .unwrap_or("Yealink SIP-T46S"),
    })
}

/// The five calls, sorted by time.
pub fn calls_udp(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0xca11_0001);
    let mut frames = Vec::new();
    for (k, &phone) in (0u64..).zip(&PHONES) {
        arp_exchange(
            &mut frames,
            START_NANOS + k * 10 * MS,
            phone,
            PBX,
            false,
            &mut rng,
        );
    }
    for i in 0..CALLS {
        let call_rng = rng.fork(i as u64);
        if let Some(s) = spec(i, &mut rng) {
            frames.extend(call_frames(s, call_rng));
        }
    }
    sorted(frames)
}
