//! No input can panic the sensor: random and mutated frames go through decoding, fragment and stream
//! reassembly, and the engine.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

use callguard::worker::Worker;
use callguard_parsers::link::LinkType;
use callguard_rules::config::Config;
use callguard_rules::engine::Engine;
use callguard_rules::time::PacketTime;
use proptest::prelude::*;

const LINKS: [LinkType; 7] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::RAW,
    LinkType::IPV6,
    LinkType::NULL,
    LinkType(9999),
];

/// Valid frames of every kind the decoder handles, to mutate (made once).
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(make_seeds)
}

fn make_seeds() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for f in callguard_gen::calls_udp(1).into_iter().take(200) {
        v.push(f.data);
    }
    for f in callguard_gen::syn_flood(1).into_iter().take(200) {
        v.push(f.data);
    }
    for f in callguard_gen::arp_spoof(1).into_iter().take(100) {
        v.push(f.data);
    }
    let l = callguard_gen::linktypes(1);
    v.extend(l.vlan.into_iter().chain(l.qinq).map(|f| f.data));
    // Remote-mirror tunnels (ERSPAN II and III, VXLAN): mutations reach the tunnel headers and the frames inside.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
    for name in ["lab-erspan.pcap", "lab-erspan3.pcap", "lab-vxlan.pcap"] {
        let mut src = callguard::capture::open(&dir.join(name)).unwrap();
        let mut n = 0;
        src.for_each(&mut |p| {
            v.push(p.data.to_vec());
            n += 1;
            if n < 60 {
                std::ops::ControlFlow::Continue(())
            } else {
                std::ops::ControlFlow::Break(())
            }
        })
        .unwrap();
    }
    v
}

/// The TLS handshakes of `lab-tls-sdes.pcap` (its first 40 frames, in order) and the DTLS frames of
/// `lab-baresip-media.pcap`: real handshakes to mutate in place, so reassembly sees whole streams.
fn handshakes() -> &'static [Vec<u8>] {
    static FRAMES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    FRAMES.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
        let mut v = Vec::new();
        for (name, from, to) in [
            ("lab-tls-sdes.pcap", 0, 40),
            ("lab-baresip-media.pcap", 699, 708),
        ] {
            let mut src = callguard::capture::open(&dir.join(name)).unwrap();
            let mut i = 0;
            src.for_each(&mut |p| {
                if (from..to).contains(&i) {
                    v.push(p.data.to_vec());
                }
                i += 1;
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        }
        v
    })
}

fn feed(frames: &[(u8, Vec<u8>)]) {
    let mut w = Worker::new();
    let mut e = Engine::new(&Config::default());
    let mut events = Vec::new();
    for (i, (link, f)) in frames.iter().enumerate() {
        let ts = PacketTime::from_secs(1_700_000_000 + i as u64 / 10);
        let link = LINKS[usize::from(*link) % LINKS.len()];
        w.packet(i as u64, ts, link, f, &mut events);
        w.tick(ts, i as u64, &mut events);
        for ev in events.drain(..) {
            e.on_event(&ev);
        }
    }
    w.finish(&mut events);
    for ev in events.drain(..) {
        e.on_event(&ev);
    }
    e.finish();
    let _ = e.drain_alerts().count();
    let _ = w.counters();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_frames_never_panic(frames in prop::collection::vec((any::<u8>(), prop::collection::vec(any::<u8>(), 0..1600)), 1..64)) {
        feed(&frames);
    }

    #[test]
    fn mutated_frames_never_panic(
        picks in prop::collection::vec((any::<prop::sample::Index>(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8), any::<prop::sample::Index>()), 1..64)
    ) {
        let seeds = seeds();
        let frames: Vec<(u8, Vec<u8>)> = picks
            .iter()
            .map(|(which, flips, cut)| {
                let mut f = which.get(seeds).clone();
                for (at, byte) in flips {
                    if !f.is_empty() {
                        let i = at.index(f.len());
                        f[i] ^= byte;
                    }
                }
                let keep = cut.index(f.len() + 1);
                f.truncate(keep.max(f.len() / 2));
                (0, f)
            })
            .collect();
        feed(&frames);
    }

    #[test]
    fn mutated_tls_and_dtls_handshakes_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut frames: Vec<(u8, Vec<u8>)> = handshakes().iter().map(|f| (0, f.clone())).collect();
        for (which, at, byte) in flips {
            let f = &mut which.get_mut(&mut frames).1;
            // Past the Ethernet, IP and TCP/UDP headers most of the time: the TLS bytes.
            let i = at.index(f.len());
            f[i] ^= byte;
        }
        let n = frames.len();
        let (_, f) = &mut cut.get_mut(&mut frames[..n]);
        let keep = f.len() * 3 / 4;
        f.truncate(keep);
        feed(&frames);
    }
}
