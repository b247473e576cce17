//! `tcp-benign.pcap`: busy but ordinary SIP over TCP, for proving the SYN-flood detector stays silent and
//! that stream reassembly works.
//!
//! - [`PBX`] 10.0.3.1:5060; [`CLIENTS`] 10.0.3.10-39 (30 clients, MAC `02:00:00:00:00:NN`).
//! - [`CONNECTIONS`] = 300 connections over 60 s: connection `k` is opened by client `10 + k % 30` at
//!   `0.1 s + k * 0.198 s` (+0-150 ms) from port `41000 + k`; client `10 + j` ARPs for the PBX at
//!   `j * 10 ms`, before its first connection.
//! - Each connection: full handshake, then either (10 %) a REGISTER and an OPTIONS pipelined back to back
//!   with one segment spanning the two messages and both responses back to back, or (90 %) one exchange:
//!   REGISTER (60 %), OPTIONS (25 %) or MESSAGE with a text body (15 %); requests are cut into 1-4
//!   segments at random byte positions (mid-line included), responses into 1-2; the client closes with
//!   FIN, the PBX answers FIN/ACK, the client ACKs.
//! - Connection [`SPECIAL_CONNECTION`] (client 10.0.3.10, port 41150) has its request cut in at least
//!   three segments sent 1, 3, 2 (out of order, with the receiver's duplicate ACK), and the first segment
//!   of its response retransmitted once 210 ms later.

use super::common::{
    Exchange, TcpSpec, arp_exchange, message_over_tcp, options_over_tcp, pipelined,
    register_over_tcp, tcp_session,
};
use super::{Host, MS, START_NANOS, sorted};
use crate::pcap::Frame;
use crate::rng::Rng;
use crate::sip::USER_AGENTS;

/// The PBX, 10.0.3.1.
pub const PBX: Host = Host::v4(10, 0, 3, 1);
/// Clients: 10.0.3.10 to 10.0.3.39.
pub const CLIENTS: (u8, u8) = (10, 39);
/// Number of connections.
pub const CONNECTIONS: u64 = 300;
/// The connection with an out-of-order segment and a retransmission.
pub const SPECIAL_CONNECTION: u64 = 150;
/// Client port of connection `k` is this plus `k`.
pub const FIRST_CLIENT_PORT: u16 = 41000;
/// Capture length in seconds.
pub const DURATION_SECS: u64 = 60;

/// The busy benign TCP scenario, sorted by time.
pub fn tcp_benign(seed: u64) -> Vec<Frame> {
    let mut rng = Rng::new(seed ^ 0x7cb0_0005);
    let mut out = Vec::new();
    let n_clients = u64::from(CLIENTS.1 - CLIENTS.0 + 1);
    let spacing = DURATION_SECS * 1000 * MS / (CONNECTIONS + 3);
    for (k, n) in (0u64..).zip(CLIENTS.0..=CLIENTS.1) {
        arp_exchange(
            &mut out,
            START_NANOS + k * 10 * MS,
            Host::v4(10, 0, 3, n),
            PBX,
            false,
            &mut rng,
        );
    }
    for k in 0..CONNECTIONS {
        let mut crng = rng.fork(k);
        let n = u8::try_from(u64::from(CLIENTS.0) + k % n_clients).unwrap_or(CLIENTS.0);
        let client = Host::v4(10, 0, 3, n);
        let start = START_NANOS + 100 * MS + k * spacing + crng.range(0, 150 * MS);
        let port = FIRST_CLIENT_PORT + u16::try_from(k).unwrap_or(0);
        let ua = crng.pick(USER_AGENTS).copied().unwrap_or("");
        let user = format!("3{n:03}");
        let special = k == SPECIAL_CONNECTION;
        let roll = crng.below(100);
        let ex: Exchange = if special {
            register_over_tcp(client, port, PBX, &user, ua, &mut crng)
        } else if roll < 10 {
            let a = register_over_tcp(client, port, PBX, &user, ua, &mut crng);
            let b = options_over_tcp(client, port, PBX, &user, ua, &mut crng);
            pipelined(a, b)
        } else if roll < 64 {
            register_over_tcp(client, port, PBX, &user, ua, &mut crng)
        } else if roll < 87 {
            options_over_tcp(client, port, PBX, &user, ua, &mut crng)
        } else {
            message_over_tcp(client, port, PBX, &user, ua, &mut crng)
        };
        let spec = TcpSpec {
            client,
            client_port: port,
            server: PBX,
            server_port: 5060,
            start,
            exchanges: vec![ex],
            max_pieces: 4,
            out_of_order: special,
            retransmit: special,
        };
        tcp_session(&spec, &mut crng, &mut out);
    }
    sorted(out)
}
