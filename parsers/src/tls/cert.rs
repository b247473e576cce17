//! X.509 certificates (RFC 5280), summarised: the fingerprints an SDP `a=fingerprint` names (RFC 8122 §5:
//! a hash of the DER certificate), subject, issuer, serial, validity, subjectAltName, key and signature
//! algorithm, and whether it signs itself.
//!
//! DER decoding is x509-parser's (rusticata); its types stay inside this module. The summary is owned (it
//! outlives the packet) and bounded: every text is cut to [`MAX_TEXT`] bytes and the SAN list to
//! [`MAX_SAN`] names.

use std::fmt::Write as _;
use std::net::IpAddr;

use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2sn};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use super::LAYER;
use crate::error::{ErrorKind, ParseError};

/// Longest text kept of one field (subject, issuer, a SAN name, an algorithm name).
pub const MAX_TEXT: usize = 256;
/// subjectAltName entries kept (DNS names and IP addresses, in order).
pub const MAX_SAN: usize = 16;

/// A certificate, summarised. Owned, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// SHA-256 of the DER certificate.
    pub sha256: [u8; 32],
    /// SHA-1 of the DER certificate.
    pub sha1: [u8; 20],
    /// SHA-256 of the DER subjectPublicKeyInfo: the key itself, whatever certificate carries it (HPKP's
    /// pin form, RFC 7469).
    pub spki_sha256: [u8; 32],
    /// Subject distinguished name, one line in the certificate's order (`C=FR, O=Example, CN=host`), as
    /// OpenSSL's one-line form without spaces around `=`.
    pub subject: String,
    /// Issuer distinguished name, in the same form.
    pub issuer: String,
    /// Serial number in lower-case hex, without the sign byte DER adds to a positive number whose top bit
    /// is set (OpenSSL's `-serial`, lower-cased).
    pub serial: String,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// DNS names and IP addresses of subjectAltName, in order (at most [`MAX_SAN`]).
    pub san: Vec<String>,
    /// Public key algorithm: `rsa`, `ec`, `ed25519`, `ed448`, `dsa`, or the algorithm's OID.
    pub key_type: String,
    /// Public key size in bits: the RSA modulus, the EC curve's field, 256 for Ed25519, 456 for Ed448; 0
    /// when unknown.
    pub key_bits: u32,
    /// Signature algorithm, by its short name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`) or OID.
    pub signature_algorithm: String,
    /// Self-issued (subject and issuer are the same name) and not signed by another key as far as the
    /// certificate says: when both the authority and subject key identifiers are present, they are equal.
    /// The signature itself is not verified.
    pub self_signed: bool,
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The SHA-256 of `der`.
pub fn sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The SHA-1 of `der`.
pub fn sha1(der: &[u8]) -> [u8; 20] {
    Sha1::digest(der).into()
}

/// A digest as RFC 8122 writes it in `a=fingerprint`: upper-case hex pairs joined by colons.
pub fn colon_hex(d: &[u8]) -> String {
    let mut s = String::with_capacity(d.len() * 3);
    for (i, b) in d.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

/// Bits of a big-endian unsigned integer (leading zero bytes and bits not counted).
fn int_bits(b: &[u8]) -> u32 {
    let b = match b.iter().position(|x| *x != 0) {
        Some(i) => b.get(i..).unwrap_or_default(),
        None => return 0,
    };
    let first = b.first().copied().unwrap_or(0);
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    len.saturating_sub(1)
        .saturating_mul(8)
        .saturating_add(8 - first.leading_zeros())
}

fn curve_bits(oid: &str) -> u32 {
    match oid {
        "1.2.840.10045.3.1.7" => 256,   // prime256v1 / secp256r1
        "1.3.132.0.34" => 384,          // secp384r1
        "1.3.132.0.35" => 521,          // secp521r1
        "1.3.132.0.10" => 256,          // secp256k1
        "1.2.840.10045.3.1.1" => 192,   // prime192v1
        "1.3.132.0.33" => 224,          // secp224r1
        "1.3.36.3.3.2.8.1.1.7" => 256,  // brainpoolP256r1
        "1.3.36.3.3.2.8.1.1.11" => 384, // brainpoolP384r1
        "1.3.36.3.3.2.8.1.1.13" => 512, // brainpoolP512r1
        _ => 0,
    }
}

/// The key's type and size.
fn key(cert: &X509Certificate<'_>) -> (String, u32) {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => return ("ed25519".into(), 256),
        "1.3.101.113" => return ("ed448".into(), 456),
        "1.3.101.110" => return ("x25519".into(), 256),
        "1.3.101.111" => return ("x448".into(), 448),
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => ("rsa".into(), int_bits(k.modulus)),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            ("ec".into(), curve_bits(&curve))
        }
        Ok(PublicKey::DSA(y)) => ("dsa".into(), int_bits(y)),
        _ => (cut(alg), 0),
    }
}

/// Summarises a DER certificate. [`ErrorKind::Invalid`] when it does not decode as X.509 (the caller may
/// still hash the bytes: [`sha256`]).
pub fn summarise(der: &[u8]) -> Result<Summary, ParseError> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|_| ParseError::new(ErrorKind::Invalid, LAYER, 0))?;
    let tbs = &cert.tbs_certificate;
    let mut san = Vec::new();
    let mut ski: Option<&[u8]> = None;
    let mut aki: Option<&[u8]> = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(s) => {
                for n in &s.general_names {
                    if san.len() >= MAX_SAN {
                        break;
                    }
                    match n {
                        GeneralName::DNSName(d) => san.push(cut((*d).to_owned())),
                        GeneralName::IPAddress(b) => {
                            let ip = match b.len() {
                                4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                                16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                                _ => None,
                            };
                            if let Some(ip) = ip {
                                san.push(ip.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0);
            }
            _ => {}
        }
    }
    let serial = tbs.raw_serial();
    let serial = match serial.iter().position(|b| *b != 0) {
        Some(i) => serial.get(i..).unwrap_or_default(),
        None => serial
            .get(serial.len().saturating_sub(1)..)
            .unwrap_or_default(),
    };
    let mut serial_hex = String::with_capacity(serial.len() * 2);
    for b in serial.iter().take(MAX_TEXT / 2) {
        let _ = write!(serial_hex, "{b:02x}");
    }
    let sig_oid = &cert.signature_algorithm.algorithm;
    let signature_algorithm = oid2sn(sig_oid, oid_registry())
        .map(str::to_owned)
        .unwrap_or_else(|_| sig_oid.to_id_string());
    let (key_type, key_bits) = key(&cert);
    let same_name = tbs.subject.as_raw() == tbs.issuer.as_raw();
    let same_key = match (aki, ski) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    };
    Ok(Summary {
        sha256: sha256(der),
        sha1: sha1(der),
        spki_sha256: sha256(tbs.subject_pki.raw),
        subject: cut(tbs.subject.to_string()),
        issuer: cut(tbs.issuer.to_string()),
        serial: serial_hex,
        not_before: tbs.validity.not_before.timestamp(),
        not_after: tbs.validity.not_after.timestamp(),
        san,
        key_type,
        key_bits,
        signature_algorithm: cut(signature_algorithm),
        self_signed: same_name && same_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_bits_ignore_leading_zeros() {
        assert_eq!(int_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(int_bits(&[0x01, 0xff]), 9);
        assert_eq!(int_bits(&[0, 0]), 0);
        assert_eq!(int_bits(&[]), 0);
    }

    #[test]
    fn fingerprints_are_written_as_rfc8122_does() {
        assert_eq!(colon_hex(&[0x4f, 0x26, 0x02]), "4F:26:02");
        assert_eq!(
            colon_hex(&sha256(b"abc")).replace(':', "").to_lowercase(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            colon_hex(&sha1(b"abc")).replace(':', "").to_lowercase(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(
            summarise(&[0x30, 0x03, 1, 2, 3]).unwrap_err().kind,
            ErrorKind::Invalid
        );
        assert!(summarise(&[]).is_err());
    }
}
