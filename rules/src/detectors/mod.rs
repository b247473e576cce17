//! The detectors, one file each. Adding a detector is adding its file and one line to the list below.

use serde::Deserialize;

use crate::alert::Meta;
use crate::detector::Detector;

/// Declares the detector modules, the [`DetectorsConfig`] table (one field per detector, named by its slug),
/// [`all`] and [`METAS`], from one list.
macro_rules! detectors {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// `[detectors.<slug>]` tables of the rules file.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
        pub struct DetectorsConfig {
            $(
                #[doc = concat!("Settings of `", stringify!($module), "`.")]
                pub $module: $module::Config,
            )*
        }

        /// The catalogue entries of every detector, in list order.
        pub const METAS: &[&Meta] = &[$(&$module::META),*];

        /// Every enabled detector, built from its settings.
        pub fn all(cfg: &DetectorsConfig) -> Vec<Box<dyn Detector>> {
            let mut v: Vec<Box<dyn Detector>> = Vec::new();
            $(
                if cfg.$module.enabled {
                    v.push(Box::new($module::$ty::new(&cfg.$module)));
                }
            )*
            v
        }
    };
}

detectors![
    cleartext_sip::CleartextSip,
    cleartext_rtp::CleartextRtp,
    sdes_key_exposed::SdesKeyExposed,
    srtp_downgrade::SrtpDowngrade,
    weak_auth::WeakAuth,
    weak_tls::WeakTls,
    tls_cert_changed::TlsCertChanged,
    tls_cert_untrusted::TlsCertUntrusted,
    dtls_fingerprint_mismatch::DtlsFingerprintMismatch,
    arp_spoof::ArpSpoof,
    rtp_injection::RtpInjection,
    third_party_teardown::ThirdPartyTeardown,
    media_redirect::MediaRedirect,
    syn_flood::SynFlood,
    sip_flood::SipFlood,
    rtp_flood::RtpFlood,
    malformed_sip::MalformedSip,
    scanner_user_agent::ScannerUserAgent,
    sip_bruteforce::SipBruteforce,
    bruteforce_success::BruteforceSuccess,
    registration_hijack::RegistrationHijack,
    toll_fraud::TollFraud,
    extension_enumeration::ExtensionEnumeration,
    sip_scan::SipScan,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Category;
    use std::collections::HashSet;

    #[test]
    fn sids_and_slugs_are_unique_and_in_their_category_range() {
        let mut sids = HashSet::new();
        let mut slugs = HashSet::new();
        for m in METAS {
            assert!(sids.insert(m.sid), "duplicate sid {}", m.sid);
            assert!(slugs.insert(m.slug), "duplicate slug {}", m.slug);
            // DESIGN's catalogue numbers weak-auth among the encryption checks (1006: it judges the same
            // cleartext messages) but files it under credentials; sids never change once released.
            let catalogue_exception = m.sid == 1006 && m.category == Category::Credentials;
            assert!(
                m.category.sid_range().contains(&m.sid) || catalogue_exception,
                "{} outside its category",
                m.slug
            );
            assert!(
                m.slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{} not kebab-case",
                m.slug
            );
        }
    }

    #[test]
    fn config_field_names_are_the_slugs() {
        let mut text = String::new();
        for m in METAS {
            text.push_str(&format!("[detectors.{}]\nenabled = false\n", m.slug));
        }
        let c = crate::config::Config::from_toml(&text, "t").unwrap();
        assert!(all(&c.detectors).is_empty());
        assert_eq!(all(&DetectorsConfig::default()).len(), METAS.len());
    }
}
