//! The rules file: detector thresholds and engine settings, in TOML.
//!
//! ```toml
//! [engine]
//! suppress_secs = 3600          # one alert per (detector, key) per hour
//!
//! [detectors.syn-flood]
//! min_syns = 200
//! ports = [5080]
//! ```
//!
//! Every table rejects unknown keys, and the error names the key path, so a typo never silently leaves a
//! default in force. Absent keys keep their documented defaults.

use serde::Deserialize;

pub use crate::detectors::DetectorsConfig;

/// The whole rules file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Engine settings.
    pub engine: EngineConfig,
    /// One table per detector, named by its slug.
    pub detectors: DetectorsConfig,
}

/// Engine settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// At most one alert per (sid, key) in this many seconds of packet time.
    pub suppress_secs: u64,
    /// Cap on the suppression table.
    pub max_suppressions: usize,
}

/// Default suppression window: an hour, as DESIGN.md's "once per endpoint pair per hour".
pub const SUPPRESS_SECS: u64 = 3600;
/// Default cap on remembered (sid, key) pairs: 100k keys cost a few MB.
pub const MAX_SUPPRESSIONS: usize = 100_000;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            suppress_secs: SUPPRESS_SECS,
            max_suppressions: MAX_SUPPRESSIONS,
        }
    }
}

/// A rules file that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {path}: {message}")]
pub struct ConfigError {
    /// Where the text came from (a file name).
    pub origin: String,
    /// The key path that failed, e.g. `detectors.syn-flood.min_synz` (`.` for the whole file).
    pub path: String,
    /// What serde or the TOML parser said.
    pub message: String,
}

impl Config {
    /// Parses a rules file. `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let err = |path: String, message: String| ConfigError {
            origin: origin.to_owned(),
            path,
            message,
        };
        let de = toml::Deserializer::parse(text).map_err(|e| err(".".into(), e.to_string()))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            err(path, e.into_inner().to_string().trim().to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::from_toml("", "x.toml").unwrap();
        assert_eq!(c.engine.suppress_secs, SUPPRESS_SECS);
        assert!(c.detectors.syn_flood.enabled);
    }

    #[test]
    fn unknown_key_is_rejected_with_its_path() {
        let e =
            Config::from_toml("[detectors.syn-flood]\nmin_synz = 3\n", "rules.toml").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("rules.toml: detectors.syn-flood"), "{s}");
        assert!(s.contains("min_synz"), "{s}");
    }

    #[test]
    fn unknown_detector_is_rejected() {
        let e = Config::from_toml("[detectors.no-such]\n", "r").unwrap_err();
        assert!(e.to_string().contains("no-such"), "{e}");
    }

    #[test]
    fn values_override_defaults() {
        let c = Config::from_toml(
            "[engine]\nsuppress_secs = 5\n[detectors.syn-flood]\nmin_syns = 7\n",
            "r",
        )
        .unwrap();
        assert_eq!(c.engine.suppress_secs, 5);
        assert_eq!(c.detectors.syn_flood.min_syns, 7);
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let e = Config::from_toml("[engine\n", "bad.toml").unwrap_err();
        assert!(e.to_string().starts_with("bad.toml"), "{e}");
    }
}
