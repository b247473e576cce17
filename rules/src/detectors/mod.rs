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

        /// The detectors for `new`, reusing from `current` (built from `old`) every detector whose settings
        /// did not change, so it keeps its state (windows, episodes, what it already reported); the others
        /// are built afresh. A certificate store (`tls-cert-changed`) moves into the rebuilt detector. Returns
        /// the detectors and what changed, by slug.
        pub fn rebuild(
            old: &DetectorsConfig,
            new: &DetectorsConfig,
            mut current: Vec<Box<dyn Detector>>,
        ) -> (Vec<Box<dyn Detector>>, Vec<(&'static str, Change)>) {
            let mut v: Vec<Box<dyn Detector>> = Vec::new();
            let mut changes = Vec::new();
            $(
                let slug = $module::META.slug;
                let running = current.iter().position(|d| d.meta().slug == slug).map(|i| current.swap_remove(i));
                // Settings are plain data: their Debug form is a faithful fingerprint.
                let same = format!("{:?}", old.$module) == format!("{:?}", new.$module);
                match (new.$module.enabled, running) {
                    (true, Some(d)) if same => v.push(d),
                    (true, running) => {
                        let mut d: Box<dyn Detector> = Box::new($module::$ty::new(&new.$module));
                        if let Some(store) = running.as_ref().and_then(|r| r.export_cert_store()) {
                            let _ = d.import_cert_store(&store);
                        }
                        changes.push((slug, if running.is_some() { Change::Reconfigured } else { Change::Enabled }));
                        v.push(d);
                    }
                    (false, Some(_)) => changes.push((slug, Change::Disabled)),
                    (false, None) => {}
                }
            )*
            (v, changes)
        }

        /// What [`rebuild`] would change going from `old` to `new`, by slug, without building anything.
        pub fn changes(old: &DetectorsConfig, new: &DetectorsConfig) -> Vec<(&'static str, Change)> {
            let mut changes = Vec::new();
            $(
                let same = format!("{:?}", old.$module) == format!("{:?}", new.$module);
                match (old.$module.enabled, new.$module.enabled) {
                    (true, true) if !same => changes.push(($module::META.slug, Change::Reconfigured)),
                    (false, true) => changes.push(($module::META.slug, Change::Enabled)),
                    (true, false) => changes.push(($module::META.slug, Change::Disabled)),
                    _ => {}
                }
            )*
            changes
        }

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

/// What a reload did to one detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It was off and now runs.
    Enabled,
    /// It runs with new settings, from a fresh state.
    Reconfigured,
    /// It no longer runs.
    Disabled,
}

impl Change {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Change::Enabled => "enabled",
            Change::Reconfigured => "reconfigured",
            Change::Disabled => "disabled",
        }
    }
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

    #[test]
    fn a_reload_keeps_unchanged_detectors_and_rebuilds_changed_ones() {
        let old = DetectorsConfig::default();
        let current = all(&old);
        let addr = |v: &[Box<dyn Detector>], slug: &str| {
            v.iter()
                .find(|d| d.meta().slug == slug)
                .map(|d| std::ptr::from_ref::<dyn Detector>(d.as_ref()).cast::<u8>() as usize)
        };
        let before_flood = addr(&current, "sip-flood");
        let before_scan = addr(&current, "sip-scan");
        let mut new = old.clone();
        new.sip_flood.min_rate += 1;
        new.scanner_user_agent.enabled = false;
        let (v, changes) = rebuild(&old, &new, current);
        assert_eq!(v.len(), METAS.len() - 1);
        // The same object, with its state: sip-scan did not change.
        assert_eq!(addr(&v, "sip-scan"), before_scan);
        assert_ne!(addr(&v, "sip-flood"), before_flood);
        assert!(addr(&v, "scanner-user-agent").is_none());
        assert_eq!(
            changes,
            [
                ("sip-flood", Change::Reconfigured),
                ("scanner-user-agent", Change::Disabled)
            ]
        );
        assert_eq!(super::changes(&old, &new), changes);
        // Order stays the catalogue's.
        let order: Vec<_> = v.iter().map(|d| d.meta().slug).collect();
        let want: Vec<_> = METAS
            .iter()
            .map(|m| m.slug)
            .filter(|s| *s != "scanner-user-agent")
            .collect();
        assert_eq!(order, want);
        // Back on: built afresh.
        let (v2, changes) = rebuild(&new, &old, v);
        assert_eq!(v2.len(), METAS.len());
        assert!(changes.contains(&("scanner-user-agent", Change::Enabled)));
    }
}
