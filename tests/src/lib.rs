//! Helpers shared by the end-to-end tests: running a capture through the sensor library, validating EVE lines
//! against the schema, and checking expectation files.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every capture shipped in `pcaps/`, sorted by name.
pub fn shipped_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
