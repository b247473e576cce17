//! Client and server fingerprints of a handshake: JA3 and JA3S (Salesforce, BSD-3-Clause) and JA4, the TLS
//! client fingerprint of FoxIO's JA4 suite (the BSD-3-Clause part; the JA4+ fingerprints under the FoxIO
//! licence are not implemented). Written from the published descriptions.
//!
//! These build strings and so allocate; they run once per handshake, not per packet.
//!
//! - **JA3**: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats` with the ClientHello's
//!   `legacy_version` and each list's values in decimal joined by `-`, in wire order, GREASE (RFC 8701) left
//!   out; the fingerprint is the MD5 of that string in lower-case hex.
//! - **JA3S**: `SSLVersion,Cipher,Extensions` of the ServerHello, MD5 likewise.
//! - **JA4**: `{t|d}{version}{d|i}{ciphers:02}{extensions:02}{alpn}_{b}_{c}`: the protocol (`t` TLS over
//!   TCP, `d` DTLS), the highest version offered (supported_versions without GREASE, else `legacy_version`)
//!   as `13`, `12`, `11`, `10`, `s3`, `s2`, `d1`, `d2`, `d3` or `00`, `d` when an SNI is present else `i`,
//!   the counts of suites and extensions without GREASE (at most 99), the first and last characters of the
//!   first ALPN value (`00` without one; when either is not ASCII alphanumeric, the first hex digit of the
//!   first byte and the last hex digit of the last byte); `b` is the first 12 hex digits of the SHA-256 of
//!   the sorted suites (4-digit lower-case hex, comma-joined); `c` likewise of the sorted extensions without
//!   SNI (0) and ALPN (16), then `_` and the signature algorithms in wire order (no `_` when there are none).
//!   An empty list hashes to `000000000000`.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use sha2::Sha256;

use super::handshake::{ClientHello, ServerHello, without_grease};
use super::registry::{ExtensionType, TlsVersion};

/// The transport a ClientHello came on, for JA4's first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS over TCP (`t`).
    Tcp,
    /// DTLS over UDP (`d`).
    Dtls,
    /// QUIC (`q`).
    Quic,
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn dash_join(it: impl Iterator<Item = u16>) -> String {
    let mut s = String::new();
    for (i, v) in it.enumerate() {
        if i > 0 {
            s.push('-');
        }
        let _ = write!(s, "{v}");
    }
    s
}

/// The JA3 string of a ClientHello (before hashing).
pub fn ja3_string(ch: &ClientHello<'_>) -> String {
    let suites = dash_join(without_grease(ch.cipher_suites().map(|c| c.0)));
    let exts = dash_join(without_grease(ch.extensions().map(|e| e.ext_type.0)));
    let groups = dash_join(without_grease(ch.supported_groups()));
    let formats = dash_join(ch.ec_point_formats().iter().map(|b| u16::from(*b)));
    format!("{},{suites},{exts},{groups},{formats}", ch.version.0)
}

/// The JA3 fingerprint: MD5 of [`ja3_string`], lower-case hex.
pub fn ja3(ch: &ClientHello<'_>) -> String {
    hex(&Md5::digest(ja3_string(ch).as_bytes()))
}

/// The JA3S string of a ServerHello (before hashing).
pub fn ja3s_string(sh: &ServerHello<'_>) -> String {
    let exts = dash_join(without_grease(sh.extensions().map(|e| e.ext_type.0)));
    format!("{},{},{exts}", sh.version.0, sh.cipher_suite.0)
}

/// The JA3S fingerprint: MD5 of [`ja3s_string`], lower-case hex.
pub fn ja3s(sh: &ServerHello<'_>) -> String {
    hex(&Md5::digest(ja3s_string(sh).as_bytes()))
}

fn ja4_version(v: TlsVersion) -> &'static str {
    match v.0 {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn ja4_alpn(first: Option<&[u8]>) -> [char; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let Some((&a, &z)) = first.and_then(|v| Some((v.first()?, v.last()?))) else {
        return ['0', '0'];
    };
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        [char::from(a), char::from(z)]
    } else {
        let digit = |n: u8| char::from(HEX.get(usize::from(n & 0xf)).copied().unwrap_or(b'0'));
        [digit(a >> 4), digit(z)]
    }
}

fn hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".to_owned();
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

fn comma_hex(vals: &[u16]) -> String {
    let mut s = String::with_capacity(vals.len() * 5);
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v:04x}");
    }
    s
}

/// The JA4 fingerprint of a ClientHello (`t13d1516h2_8daaf6152771_e5627efa2ab1`).
pub fn ja4(ch: &ClientHello<'_>, transport: Transport) -> String {
    let mut suites: Vec<u16> = without_grease(ch.cipher_suites().map(|c| c.0)).collect();
    let exts: Vec<u16> = without_grease(ch.extensions().map(|e| e.ext_type.0)).collect();
    let version = ch
        .supported_versions()
        .filter(|v| !v.is_grease())
        .map(|v| v.0)
        .max()
        .map_or(ch.version, TlsVersion);
    let sni = exts.contains(&ExtensionType::SERVER_NAME.0);
    let alpn = ja4_alpn(ch.alpn().next());
    let mut a = String::with_capacity(10);
    a.push(match transport {
        Transport::Tcp => 't',
        Transport::Dtls => 'd',
        Transport::Quic => 'q',
    });
    a.push_str(ja4_version(version));
    a.push(if sni { 'd' } else { 'i' });
    let _ = write!(a, "{:02}{:02}", suites.len().min(99), exts.len().min(99));
    a.extend(alpn);
    suites.sort_unstable();
    let mut sorted_exts: Vec<u16> = exts
        .into_iter()
        .filter(|e| *e != ExtensionType::SERVER_NAME.0 && *e != ExtensionType::ALPN.0)
        .collect();
    sorted_exts.sort_unstable();
    let sigs: Vec<u16> = ch.signature_algorithms().collect();
    let mut c = comma_hex(&sorted_exts);
    if !c.is_empty() && !sigs.is_empty() {
        c.push('_');
        c.push_str(&comma_hex(&sigs));
    }
    format!("{a}_{}_{}", hash12(&comma_hex(&suites)), hash12(&c))
}

#[cfg(test)]
mod tests {
    use super::super::handshake::tests::{alpn_ext, client_hello, sni_ext, u16_list_ext};
    use super::*;

    /// The example ClientHello of the JA4 specification: its suites and extensions in wire order and its
    /// signature algorithms, published with `JA4 = t13d1516h2_8daaf6152771_e5627efa2ab1`.
    fn ja4_spec_example() -> Vec<u8> {
        let suites = [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let order = [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let exts: Vec<(u16, Vec<u8>)> = order
            .iter()
            .map(|&t| match t {
                0x0000 => sni_ext("example.com"),
                0x0010 => alpn_ext(&[b"h2", b"http/1.1"]),
                0x000d => u16_list_ext(
                    13,
                    &[
                        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
                    ],
                    true,
                ),
                0x002b => u16_list_ext(43, &[0x0304, 0x0303], false),
                t => (t, vec![]),
            })
            .collect();
        let mut with_grease = vec![(0x3a3a, vec![])];
        with_grease.extend(exts);
        client_hello(
            0x0303,
            &[&[0x5a5a][..], &suites].concat(),
            &with_grease,
            None,
        )
    }

    #[test]
    fn ja4_matches_the_specification_example() {
        let body = ja4_spec_example();
        let ch = ClientHello::parse(&body, false).unwrap();
        assert_eq!(
            ja4(&ch, Transport::Tcp),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        assert_eq!(
            ja4(&ch, Transport::Dtls),
            "d13d1516h2_8daaf6152771_e5627efa2ab1"
        );
    }

    #[test]
    fn ja4_parts_hash_as_published() {
        // The specification's sorted lists and their published truncated hashes.
        assert_eq!(
            hash12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"),
            "8daaf6152771"
        );
        assert_eq!(
            hash12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"),
            "6d807ffa2a79"
        );
        assert_eq!(hash12(""), "000000000000");
    }

    #[test]
    fn ja4_alpn_follows_the_specification_examples() {
        let cases: [(&[u8], &str); 7] = [
            (b"h2", "h2"),
            (b"http/1.1", "h1"),
            (b"q", "qq"),
            (&[0xab], "ab"),
            (&[0xab, 0xcd], "ad"),
            (&[0x30, 0xab], "3b"),
            (&[0x30, 0xab, 0xcd, 0x31], "01"),
        ];
        for (v, want) in cases {
            assert_eq!(
                ja4_alpn(Some(v)).iter().collect::<String>(),
                want,
                "{v:02x?}"
            );
        }
        assert_eq!(ja4_alpn(Some(b"")).iter().collect::<String>(), "00");
        assert_eq!(ja4_alpn(None).iter().collect::<String>(), "00");
    }

    #[test]
    fn ja3_leaves_grease_out_and_hashes_with_md5() {
        let body = client_hello(
            0x0303,
            &[0x0a0a, 0xc02f, 0x0035],
            &[
                (0x1a1a, vec![]),
                sni_ext("a"),
                u16_list_ext(10, &[0x2a2a, 29, 23], true),
                (11, vec![1, 0]),
            ],
            None,
        );
        let ch = ClientHello::parse(&body, false).unwrap();
        assert_eq!(ja3_string(&ch), "771,49199-53,0-10-11,29-23,0");
        // MD5 of the string (RFC 1321 as computed by `md5sum`).
        assert_eq!(ja3(&ch), hex(&Md5::digest(b"771,49199-53,0-10-11,29-23,0")));
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn a_published_ja3_string_hashes_to_its_published_fingerprint() {
        // A browser's JA3 string and fingerprint as a fingerprinting service reported them.
        let s = "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0";
        assert_eq!(
            hex(&Md5::digest(s.as_bytes())),
            "98487aa16281980e7d1120d399efb6a4"
        );
    }
}
