//! IANA registry values of TLS: protocol versions, cipher suites, extension types, and GREASE (RFC 8701).
//!
//! Every value is a newtype over its wire number, never a lossy enum: an unknown suite stays a number, with
//! `name()` returning `None`. The properties of versions and suites (key exchange, cipher, MAC, strength) come
//! from the tables in `data/` (`tls-versions.csv`, `tls-cipher-suites.csv`), turned into code by `build.rs`.

use std::fmt;

/// How strong a cipher suite is, judged from its parts (see `data/tls-cipher-suites.csv` for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strength {
    /// No encryption, anonymous key exchange, export grade, RC4, RC2, single DES, keys under 112 bits, or an
    /// MD5 MAC.
    Insecure,
    /// 3DES or IDEA, no forward secrecy, or not AEAD (CBC with a MAC).
    Weak,
    /// Forward secrecy and AEAD (and every TLS 1.3 suite).
    Secure,
    /// A signalling value in the suite list (`TLS_EMPTY_RENEGOTIATION_INFO_SCSV`, `TLS_FALLBACK_SCSV`).
    NotASuite,
}

impl Strength {
    /// Lower-case name, for JSON.
    pub fn name(self) -> &'static str {
        match self {
            Strength::Insecure => "insecure",
            Strength::Weak => "weak",
            Strength::Secure => "secure",
            Strength::NotASuite => "none",
        }
    }
}

#[derive(Debug)]
struct SuiteRow {
    value: u16,
    name: &'static str,
    kx: &'static str,
    auth: &'static str,
    cipher: &'static str,
    mode: &'static str,
    bits: u16,
    mac: &'static str,
    export: bool,
    strength: Strength,
}

#[derive(Debug)]
struct VersionRow {
    value: u16,
    name: &'static str,
    dtls: bool,
    rank: u8,
}

include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// A GREASE value (RFC 8701 §2): `0x?a?a` with both bytes equal. Clients put them in suite, extension, group
/// and version lists to keep servers tolerant; fingerprints leave them out.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A TLS or DTLS protocol version as on the wire (`0x0303` is TLS 1.2, `0xfefd` DTLS 1.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    /// SSL 3.0 (RFC 6101).
    pub const SSL3: TlsVersion = TlsVersion(0x0300);
    /// TLS 1.0 (RFC 2246).
    pub const TLS10: TlsVersion = TlsVersion(0x0301);
    /// TLS 1.1 (RFC 4346).
    pub const TLS11: TlsVersion = TlsVersion(0x0302);
    /// TLS 1.2 (RFC 5246).
    pub const TLS12: TlsVersion = TlsVersion(0x0303);
    /// TLS 1.3 (RFC 8446).
    pub const TLS13: TlsVersion = TlsVersion(0x0304);
    /// DTLS 1.0 (RFC 4347).
    pub const DTLS10: TlsVersion = TlsVersion(0xfeff);
    /// DTLS 1.2 (RFC 6347).
    pub const DTLS12: TlsVersion = TlsVersion(0xfefd);
    /// DTLS 1.3 (RFC 9147).
    pub const DTLS13: TlsVersion = TlsVersion(0xfefc);

    fn row(self) -> Option<&'static VersionRow> {
        VERSIONS
            .binary_search_by_key(&self.0, |r| r.value)
            .ok()
            .and_then(|i| VERSIONS.get(i))
    }

    /// A draft of TLS 1.3 (`0x7fNN`, draft NN).
    pub fn is_tls13_draft(self) -> bool {
        self.0 >> 8 == 0x7f
    }

    /// The name (`TLS 1.2`, `DTLS 1.2`, `TLS 1.3 (draft 28)` is named `TLS 1.3 draft`); `None` when unknown.
    pub fn name(self) -> Option<&'static str> {
        if self.is_tls13_draft() {
            return Some("TLS 1.3 draft");
        }
        self.row().map(|r| r.name)
    }

    /// A DTLS version.
    pub fn is_dtls(self) -> bool {
        self.row().is_some_and(|r| r.dtls)
    }

    /// A rank comparable across TLS and DTLS: 0 SSL 2.0, 1 SSL 3.0, 2 TLS 1.0 and DTLS 1.0, 3 TLS 1.1, 4 TLS
    /// 1.2 and DTLS 1.2, 5 TLS 1.3 (and its drafts) and DTLS 1.3; `None` when unknown.
    pub fn rank(self) -> Option<u8> {
        if self.is_tls13_draft() {
            return Some(5);
        }
        self.row().map(|r| r.rank)
    }

    /// TLS 1.3 or DTLS 1.3 (or a TLS 1.3 draft): the handshake after the ServerHello is encrypted.
    pub fn is_13(self) -> bool {
        self.rank() == Some(5)
    }

    /// Below TLS 1.2 (SSL, TLS 1.0 and 1.1, DTLS 1.0): deprecated by RFC 8996.
    pub fn is_deprecated(self) -> bool {
        self.rank().is_some_and(|r| r < 4)
    }

    /// A GREASE value (RFC 8701) in a supported_versions list.
    pub fn is_grease(self) -> bool {
        is_grease(self.0)
    }
}

impl fmt::Debug for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (0x{:04x})", self.0),
            None => write!(f, "TlsVersion(0x{:04x})", self.0),
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

/// A cipher suite (the IANA "TLS Cipher Suites" registry; DTLS uses the same values).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// `TLS_NULL_WITH_NULL_NULL`: no protection at all (the initial state, RFC 5246 §A.5).
    pub const NULL_WITH_NULL_NULL: CipherSuite = CipherSuite(0x0000);
    /// `TLS_RSA_WITH_RC4_128_SHA`.
    pub const RSA_WITH_RC4_128_SHA: CipherSuite = CipherSuite(0x0005);
    /// `TLS_RSA_WITH_3DES_EDE_CBC_SHA`.
    pub const RSA_WITH_3DES_EDE_CBC_SHA: CipherSuite = CipherSuite(0x000a);
    /// `TLS_RSA_WITH_AES_128_CBC_SHA`, the suite every TLS 1.2 implementation must offer (RFC 5246 §9).
    pub const RSA_WITH_AES_128_CBC_SHA: CipherSuite = CipherSuite(0x002f);
    /// `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` (RFC 5746): a signal, not a suite.
    pub const EMPTY_RENEGOTIATION_INFO_SCSV: CipherSuite = CipherSuite(0x00ff);
    /// `TLS_AES_128_GCM_SHA256` (TLS 1.3).
    pub const AES_128_GCM_SHA256: CipherSuite = CipherSuite(0x1301);
    /// `TLS_AES_256_GCM_SHA384` (TLS 1.3).
    pub const AES_256_GCM_SHA384: CipherSuite = CipherSuite(0x1302);
    /// `TLS_CHACHA20_POLY1305_SHA256` (TLS 1.3).
    pub const CHACHA20_POLY1305_SHA256: CipherSuite = CipherSuite(0x1303);
    /// `TLS_FALLBACK_SCSV` (RFC 7507): a signal, not a suite.
    pub const FALLBACK_SCSV: CipherSuite = CipherSuite(0x5600);
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub const ECDHE_RSA_WITH_AES_128_GCM_SHA256: CipherSuite = CipherSuite(0xc02f);
    /// `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`.
    pub const ECDHE_RSA_WITH_AES_256_GCM_SHA384: CipherSuite = CipherSuite(0xc030);

    fn row(self) -> Option<&'static SuiteRow> {
        SUITES
            .binary_search_by_key(&self.0, |r| r.value)
            .ok()
            .and_then(|i| SUITES.get(i))
    }

    /// The IANA name (`TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`); `None` for a value the table does not hold.
    pub fn name(self) -> Option<&'static str> {
        self.row().map(|r| r.name)
    }

    /// Whether the table knows this value.
    pub fn is_known(self) -> bool {
        self.row().is_some()
    }

    /// Key exchange: `RSA`, `DH`, `DHE`, `ECDH`, `ECDHE`, `PSK`, `DHE_PSK`, `RSA_PSK`, `ECDHE_PSK`, `SRP`,
    /// `KRB5`, `NULL`, ... and `ANY` for TLS 1.3 suites (negotiated apart).
    pub fn key_exchange(self) -> Option<&'static str> {
        self.row().map(|r| r.kx)
    }

    /// Authentication: `RSA`, `DSS`, `ECDSA`, `PSK`, `anon`, `NULL`, ... and `ANY` for TLS 1.3 suites.
    pub fn authentication(self) -> Option<&'static str> {
        self.row().map(|r| r.auth)
    }

    /// Cipher: `AES`, `CHACHA20_POLY1305`, `3DES`, `RC4`, `DES`, `NULL`, ...
    pub fn cipher(self) -> Option<&'static str> {
        self.row().map(|r| r.cipher)
    }

    /// Cipher mode: `GCM`, `CCM`, `CCM_8`, `CBC`, `stream`, `AEAD`, or empty when none applies.
    pub fn mode(self) -> Option<&'static str> {
        self.row().map(|r| r.mode)
    }

    /// Effective cipher key bits (3DES counts 112, export ciphers 40).
    pub fn key_bits(self) -> Option<u16> {
        self.row().map(|r| r.bits)
    }

    /// MAC: `SHA` (HMAC-SHA1), `SHA256`, `SHA384`, `MD5`, `AEAD` (no separate MAC), ...
    pub fn mac(self) -> Option<&'static str> {
        self.row().map(|r| r.mac)
    }

    /// The strength class; `None` for an unknown value.
    pub fn strength(self) -> Option<Strength> {
        self.row().map(|r| r.strength)
    }

    /// No encryption (`NULL` cipher).
    pub fn is_null(self) -> bool {
        self.row()
            .is_some_and(|r| r.cipher == "NULL" && r.strength != Strength::NotASuite)
    }

    /// Export grade (40- or 56-bit keys or 512-bit key exchange).
    pub fn is_export(self) -> bool {
        self.row().is_some_and(|r| r.export)
    }

    /// RC4 (RFC 7465 forbids it).
    pub fn is_rc4(self) -> bool {
        self.cipher() == Some("RC4")
    }

    /// Triple DES (Sweet32).
    pub fn is_3des(self) -> bool {
        self.cipher() == Some("3DES")
    }

    /// Single DES (56 or 40 bits).
    pub fn is_des(self) -> bool {
        self.cipher() == Some("DES")
    }

    /// Anonymous: no authentication of the server (`DH_anon`, `ECDH_anon`, `NULL`).
    pub fn is_anon(self) -> bool {
        self.authentication()
            .is_some_and(|a| a == "anon" || a == "NULL")
    }

    /// Forward secrecy: an ephemeral key exchange (and every TLS 1.3 suite).
    pub fn has_forward_secrecy(self) -> bool {
        self.key_exchange().is_some_and(|k| {
            matches!(
                k,
                "DHE" | "ECDHE" | "DHE_PSK" | "ECDHE_PSK" | "ANY" | "ECCPWD"
            )
        })
    }

    /// AEAD (GCM, CCM, ChaCha20-Poly1305): no separate MAC.
    pub fn is_aead(self) -> bool {
        self.mac() == Some("AEAD")
    }

    /// A TLS 1.3 suite (`TLS_AES_128_GCM_SHA256` and its family), usable only with TLS 1.3.
    pub fn is_tls13(self) -> bool {
        self.key_exchange() == Some("ANY")
    }

    /// A signalling value, not a suite (SCSV).
    pub fn is_scsv(self) -> bool {
        self.strength() == Some(Strength::NotASuite)
    }

    /// A GREASE value (RFC 8701).
    pub fn is_grease(self) -> bool {
        is_grease(self.0)
    }
}

impl fmt::Debug for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} (0x{:04x})", self.0),
            None => write!(f, "CipherSuite(0x{:04x})", self.0),
        }
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

/// A TLS extension type (the IANA "TLS ExtensionType Values" registry).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ExtensionType(pub u16);

impl ExtensionType {
    /// server_name (RFC 6066 §3).
    pub const SERVER_NAME: ExtensionType = ExtensionType(0);
    /// status_request (RFC 6066 §8).
    pub const STATUS_REQUEST: ExtensionType = ExtensionType(5);
    /// supported_groups, formerly elliptic_curves (RFC 8422 §5.1.1, RFC 8446 §4.2.7).
    pub const SUPPORTED_GROUPS: ExtensionType = ExtensionType(10);
    /// ec_point_formats (RFC 8422 §5.1.2).
    pub const EC_POINT_FORMATS: ExtensionType = ExtensionType(11);
    /// signature_algorithms (RFC 8446 §4.2.3).
    pub const SIGNATURE_ALGORITHMS: ExtensionType = ExtensionType(13);
    /// use_srtp (RFC 5764 §4.1.1).
    pub const USE_SRTP: ExtensionType = ExtensionType(14);
    /// application_layer_protocol_negotiation (RFC 7301).
    pub const ALPN: ExtensionType = ExtensionType(16);
    /// extended_master_secret (RFC 7627).
    pub const EXTENDED_MASTER_SECRET: ExtensionType = ExtensionType(23);
    /// session_ticket (RFC 5077).
    pub const SESSION_TICKET: ExtensionType = ExtensionType(35);
    /// supported_versions (RFC 8446 §4.2.1).
    pub const SUPPORTED_VERSIONS: ExtensionType = ExtensionType(43);
    /// key_share (RFC 8446 §4.2.8).
    pub const KEY_SHARE: ExtensionType = ExtensionType(51);
    /// renegotiation_info (RFC 5746).
    pub const RENEGOTIATION_INFO: ExtensionType = ExtensionType(0xff01);

    /// The registry name; `None` for values this table does not hold.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "server_name",
            1 => "max_fragment_length",
            2 => "client_certificate_url",
            3 => "trusted_ca_keys",
            4 => "truncated_hmac",
            5 => "status_request",
            6 => "user_mapping",
            7 => "client_authz",
            8 => "server_authz",
            9 => "cert_type",
            10 => "supported_groups",
            11 => "ec_point_formats",
            12 => "srp",
            13 => "signature_algorithms",
            14 => "use_srtp",
            15 => "heartbeat",
            16 => "application_layer_protocol_negotiation",
            17 => "status_request_v2",
            18 => "signed_certificate_timestamp",
            19 => "client_certificate_type",
            20 => "server_certificate_type",
            21 => "padding",
            22 => "encrypt_then_mac",
            23 => "extended_master_secret",
            24 => "token_binding",
            25 => "cached_info",
            27 => "compress_certificate",
            28 => "record_size_limit",
            35 => "session_ticket",
            41 => "pre_shared_key",
            42 => "early_data",
            43 => "supported_versions",
            44 => "cookie",
            45 => "psk_key_exchange_modes",
            47 => "certificate_authorities",
            48 => "oid_filters",
            49 => "post_handshake_auth",
            50 => "signature_algorithms_cert",
            51 => "key_share",
            57 => "quic_transport_parameters",
            0xfe0d => "encrypted_client_hello",
            0xff01 => "renegotiation_info",
            _ => return None,
        })
    }
}

impl fmt::Debug for ExtensionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "ExtensionType({})", self.0),
        }
    }
}

/// The name of an SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
pub fn srtp_profile_name(p: u16) -> Option<&'static str> {
    Some(match p {
        0x0001 => "SRTP_AES128_CM_HMAC_SHA1_80",
        0x0002 => "SRTP_AES128_CM_HMAC_SHA1_32",
        0x0005 => "SRTP_NULL_HMAC_SHA1_80",
        0x0006 => "SRTP_NULL_HMAC_SHA1_32",
        0x0007 => "SRTP_AEAD_AES_128_GCM",
        0x0008 => "SRTP_AEAD_AES_256_GCM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_sorted_and_unique() {
        assert!(SUITES.windows(2).all(|w| w[0].value < w[1].value));
        assert!(VERSIONS.windows(2).all(|w| w[0].value < w[1].value));
        assert!(SUITES.len() > 300);
    }

    #[test]
    fn suites_carry_their_properties_from_the_table() {
        let s = CipherSuite::ECDHE_RSA_WITH_AES_256_GCM_SHA384;
        assert_eq!(s.name(), Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
        assert_eq!(s.key_exchange(), Some("ECDHE"));
        assert_eq!(s.authentication(), Some("RSA"));
        assert_eq!(
            (s.cipher(), s.mode(), s.key_bits()),
            (Some("AES"), Some("GCM"), Some(256))
        );
        assert!(s.is_aead() && s.has_forward_secrecy());
        assert_eq!(s.strength(), Some(Strength::Secure));
        assert_eq!(
            format!("{s:?}"),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (0xc030)"
        );

        assert!(CipherSuite::RSA_WITH_RC4_128_SHA.is_rc4());
        assert_eq!(
            CipherSuite::RSA_WITH_RC4_128_SHA.strength(),
            Some(Strength::Insecure)
        );
        assert!(CipherSuite::RSA_WITH_3DES_EDE_CBC_SHA.is_3des());
        assert_eq!(
            CipherSuite::RSA_WITH_3DES_EDE_CBC_SHA.strength(),
            Some(Strength::Weak)
        );
        assert!(CipherSuite(0x0003).is_export() && CipherSuite(0x0003).is_rc4());
        assert!(
            CipherSuite(0x0018).is_anon(),
            "TLS_DH_anon_WITH_RC4_128_MD5"
        );
        assert!(
            CipherSuite(0xc018).is_anon(),
            "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"
        );
        assert!(CipherSuite(0x0002).is_null(), "TLS_RSA_WITH_NULL_SHA");
        assert!(CipherSuite::NULL_WITH_NULL_NULL.is_null());
        assert!(CipherSuite(0x0009).is_des());
        assert!(!CipherSuite::RSA_WITH_AES_128_CBC_SHA.has_forward_secrecy());
        assert_eq!(
            CipherSuite::RSA_WITH_AES_128_CBC_SHA.strength(),
            Some(Strength::Weak)
        );
        assert!(CipherSuite::AES_128_GCM_SHA256.is_tls13());
        assert_eq!(
            CipherSuite::CHACHA20_POLY1305_SHA256.strength(),
            Some(Strength::Secure)
        );
        assert!(CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV.is_scsv());
        assert!(!CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV.is_null());
        assert!(CipherSuite::FALLBACK_SCSV.is_scsv());
    }

    #[test]
    fn every_null_export_rc4_des_and_anon_suite_is_insecure() {
        for r in &SUITES {
            let s = CipherSuite(r.value);
            if s.is_null() || s.is_export() || s.is_rc4() || s.is_des() || s.is_anon() {
                assert_eq!(s.strength(), Some(Strength::Insecure), "{s:?}");
            }
            if s.is_3des() {
                assert_ne!(s.strength(), Some(Strength::Secure), "{s:?}");
            }
        }
    }

    #[test]
    fn unknown_values_stay_numbers() {
        let s = CipherSuite(0x1a1a);
        assert!(s.is_grease() && s.name().is_none() && s.strength().is_none());
        assert_eq!(format!("{s:?}"), "CipherSuite(0x1a1a)");
        assert_eq!(s.to_string(), "0x1a1a");
        assert_eq!(TlsVersion(0x1234).name(), None);
    }

    #[test]
    fn versions_rank_across_tls_and_dtls() {
        assert_eq!(TlsVersion::TLS12.name(), Some("TLS 1.2"));
        assert_eq!(TlsVersion::DTLS12.name(), Some("DTLS 1.2"));
        assert_eq!(TlsVersion::DTLS12.rank(), TlsVersion::TLS12.rank());
        assert!(TlsVersion::DTLS10.is_deprecated() && TlsVersion::TLS11.is_deprecated());
        assert!(!TlsVersion::TLS12.is_deprecated());
        assert!(TlsVersion::TLS13.is_13() && TlsVersion(0x7f1c).is_13());
        assert!(TlsVersion::DTLS12.is_dtls() && !TlsVersion::TLS12.is_dtls());
    }

    #[test]
    fn grease_is_recognised() {
        for v in [0x0a0a, 0x1a1a, 0xfafa] {
            assert!(is_grease(v));
        }
        for v in [0x0a1a, 0x0000, 0x1301, 0xaaab] {
            assert!(!is_grease(v));
        }
    }
}
