//! `--hep`: every SIP message goes to a HEP version 3 collector, with its addresses, transport and packet time,
//! its credentials and keys masked. Checked against a plain UDP listener (chunk by chunk) and against a real
//! collector, sngrep, which writes what it received to a pcap.
#![cfg(test)] // clippy.toml lets tests unwrap; this makes the helpers count as test code too.

mod common;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{lab_or_skip, root};

/// One datagram's chunks: (type, value).
type Chunks = Vec<(u16, Vec<u8>)>;

/// One received datagram's chunks.
fn chunks(d: &[u8]) -> Chunks {
    assert_eq!(&d[..4], b"HEP3", "{d:?}");
    assert_eq!(usize::from(u16::from_be_bytes([d[4], d[5]])), d.len());
    let mut out = Vec::new();
    let mut i = 6;
    while i < d.len() {
        let kind = u16::from_be_bytes([d[i + 2], d[i + 3]]);
        let len = usize::from(u16::from_be_bytes([d[i + 4], d[i + 5]]));
        out.push((kind, d[i + 6..i + len].to_vec()));
        i += len;
    }
    out
}

fn get(c: &[(u16, Vec<u8>)], kind: u16) -> Vec<u8> {
    c.iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no chunk {kind}"))
}

/// Runs `callguard analyze CAPTURE --hep` towards a listener of its own; returns every datagram's chunks and
/// the run's standard error.
fn analyze_to_listener(capture: &str, extra: &[&str]) -> (Vec<Chunks>, String) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let target = format!("udp://{}", sock.local_addr().unwrap());
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 70_000];
        // Until half a second passes without a datagram after the run (the run itself is far shorter).
        let start = std::time::Instant::now();
        loop {
            match sock.recv(&mut buf) {
                Ok(n) => got.push(buf[..n].to_vec()),
                Err(_) if !got.is_empty() || start.elapsed() > Duration::from_secs(30) => break,
                Err(_) => {}
            }
        }
        got
    });
    let out = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["analyze", "--output", "/dev/null", "--hep", &target])
        .args(extra)
        .arg(root().join("pcaps").join(capture))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let got = reader.join().unwrap();
    (got.iter().map(|d| chunks(d)).collect(), err)
}

#[test]
fn every_sip_message_of_a_capture_goes_out_with_its_addresses_and_time() {
    let (msgs, err) = analyze_to_listener("lab-calls.pcap", &["--hep-id", "2001"]);
    // lab-calls: 43 SIP messages over UDP (tshark -Y sip), from 10.77.0.x:5060.
    assert_eq!(msgs.len(), 43, "{err}");
    assert!(
        err.contains("43 SIP messages sent, 0 dropped, 0 too big, 0 errors"),
        "{err}"
    );
    // Workers send in their own order; a collector orders by the time chunks.
    let time = |c: &Chunks| {
        (
            u32::from_be_bytes(get(c, 9).try_into().unwrap()),
            u32::from_be_bytes(get(c, 10).try_into().unwrap()),
        )
    };
    let first = msgs.iter().min_by_key(|c| time(c)).unwrap();
    assert_eq!(get(first, 1), [2]);
    assert_eq!(get(first, 2), [17]);
    assert_eq!(get(first, 3), [10, 77, 0, 12]);
    assert_eq!(get(first, 4), [10, 77, 0, 1]);
    assert_eq!(get(first, 7), 5060u16.to_be_bytes());
    assert_eq!(get(first, 11), [1]);
    assert_eq!(get(first, 12), 2001u32.to_be_bytes());
    let text = String::from_utf8(get(first, 15)).unwrap();
    assert!(
        text.starts_with("REGISTER sip:10.77.0.1 SIP/2.0\r\n"),
        "{text}"
    );
    // Packet time, not the wall clock: the capture was recorded on 2026-11-29 (1795916567 s).
    let secs = u32::from_be_bytes(get(first, 9).try_into().unwrap());
    assert_eq!(secs, 1_795_916_567);
    // The registration's digest credentials went out masked, everything around them as it was.
    let reg: Vec<String> = msgs
        .iter()
        .map(|c| String::from_utf8(get(c, 15)).unwrap())
        .filter(|t| t.contains("\nAuthorization:"))
        .collect();
    assert_eq!(reg.len(), 1);
    let line = reg[0]
        .lines()
        .find(|l| l.starts_with("Authorization:"))
        .unwrap();
    assert!(line.trim_end().ends_with('*'), "{line}");
    assert!(
        !line.contains("response") && !line.contains("1002"),
        "{line}"
    );
    assert!(reg[0].contains("\r\nCSeq: 2 REGISTER\r\n"));
}

#[test]
fn sdes_keys_and_tcp_transport_go_as_the_collector_expects() {
    // lab-sdes-cleartext: SDES keys (a=crypto inline:) in SIP over UDP.
    let (msgs, _) = analyze_to_listener("lab-sdes-cleartext.pcap", &[]);
    let with_crypto: Vec<String> = msgs
        .iter()
        .map(|c| String::from_utf8(get(c, 15)).unwrap())
        .filter(|t| t.contains("a=crypto:"))
        .collect();
    assert!(!with_crypto.is_empty());
    for t in &with_crypto {
        for l in t.lines().filter(|l| l.starts_with("a=crypto:")) {
            let key = l.split("inline:").nth(1).unwrap();
            let key = key.split(['|', ';', ' ']).next().unwrap();
            assert!(!key.is_empty() && key.bytes().all(|b| b == b'*'), "{l}");
        }
    }
    // tcp-benign: SIP over TCP, IP protocol 6.
    let (msgs, _) = analyze_to_listener("tcp-benign.pcap", &["--workers", "2"]);
    assert!(msgs.len() > 100, "{}", msgs.len());
    assert!(msgs.iter().all(|c| get(c, 2) == [6]));
}

#[test]
fn sngrep_receives_the_calls_as_sip_over_hep() {
    if !lab_or_skip(
        "sngrep_receives_the_calls_as_sip_over_hep",
        &["sngrep"],
        false,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("sngrep.pcap");
    // A free port for sngrep's HEP listener.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sngrep = Command::new("sngrep")
        .args(["-N", "-q", "-L", &format!("udp:127.0.0.1:{port}"), "-O"])
        .arg(&pcap)
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // sngrep's listener is up once its socket is bound (it prints nothing with -q): poll for it.
    let start = std::time::Instant::now();
    while !String::from_utf8_lossy(&Command::new("ss").args(["-lun"]).output().unwrap().stdout)
        .contains(&format!("127.0.0.1:{port}"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "sngrep never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["analyze", "--quiet", "--output", "/dev/null", "--hep"])
        .arg(format!("127.0.0.1:{port}"))
        .arg(root().join("pcaps/lab-calls.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-INT", &sngrep.id().to_string()])
        .status();
    let _ = sngrep.wait();
    // What sngrep decoded from the HEP datagrams and saved: the 43 SIP messages as packets.
    let mut src = callguard::capture::open(&pcap).unwrap();
    let (mut n, mut sip) = (0, 0);
    src.for_each(&mut |p| {
        n += 1;
        if p.data
            .windows(8)
            .any(|w| w == b"SIP/2.0 " || w == b" SIP/2.0")
        {
            sip += 1;
        }
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!((n, sip), (43, 43));
}
